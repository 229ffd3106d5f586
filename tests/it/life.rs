//! A project's life over a service year on fixed dates: states, the
//! register, the agenda (due dates counted by hand across 调休), the
//! audit log with revocations and corrections, termination, and a ledger
//! written by an earlier zwyun migrated with its data.

use std::process::Output;

use calamine::{open_workbook, Data, Reader, Xlsx};

use crate::common::{repo, sample, Env};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `agenda --on DATE --days N --format json`, as (kind, project, due, overdue).
fn agenda(env: &Env, on: &str, days: &str) -> Vec<(String, String, String, bool)> {
    let out = env.run_ok(&["agenda", "--on", on, "--days", days, "--format", "json"]);
    json_lines(&out)
        .iter()
        .map(|v| {
            assert!(v["detail"].is_string(), "{v}");
            (
                v["kind"].as_str().unwrap().to_string(),
                v["project"].as_str().unwrap().to_string(),
                v["due"].as_str().unwrap().to_string(),
                v["overdue"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn item(kind: &str, project: &str, due: &str, overdue: bool) -> (String, String, String, bool) {
    (kind.into(), project.into(), due.into(), overdue)
}

/// The state of a project on a date, from `project --format json`.
fn state(env: &Env, project: &str, on: &str) -> String {
    let out = env.run_ok(&["project", project, "--on", on, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    v["state_label"].as_str().unwrap().to_string()
}

fn record(env: &Env, args: &[&str]) -> (String, i64) {
    let mut all = args.to_vec();
    all.extend(["--by", "王五"]);
    let out = env.run_ok(&all);
    let event = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("(第 ")
                .and_then(|r| r.strip_suffix(" 号记录)"))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or_else(|| panic!("no event number in {out}"));
    (out, event)
}

const P: &str = "SJ-2026-017";

#[test]
fn a_project_lives_through_a_service_year() {
    let env = Env::new();
    let a1 = sample("annex1-example.xlsx");
    let out = env.run_ok(&[
        "approve",
        a1.to_str().unwrap(),
        "--on",
        "2026-06-01",
        "--by",
        "张三",
    ]);
    assert!(out.contains("已登记项目“SJ-2026-017”的批准配额"), "{out}");
    assert_eq!(state(&env, P, "2026-06-01"), "已批准配额");

    // The quota is to be entered into the platform: 5 working days after
    // 06-01 (Mon): 06-02 1, 03 2, 04 3, 05 4, 08 5.
    assert_eq!(
        agenda(&env, "2026-06-01", "14"),
        vec![item("platform_entry", P, "2026-06-08", false)]
    );
    let text = env.run_ok(&["agenda", "--on", "2026-06-01"]);
    assert_eq!(
        text.trim(),
        "2026-06-08  录入市级平台  SJ-2026-017  配额(2026-06-01 批准)待申请单位录入市级政务云管理平台(按 5 个工作日计)"
    );

    // A typo: the test agreement recorded as 06-08 instead of 06-18.
    let (out, typo) = record(
        &env,
        &[
            "ledger",
            "test-signed",
            "--project",
            P,
            "--date",
            "2026-06-08",
            "--months",
            "2",
            "--on",
            "2026-06-18",
        ],
    );
    assert!(out.contains("状态:已批准配额 → 测试中"), "{out}");
    let (out, _) = record(
        &env,
        &[
            "ledger",
            "correct",
            &typo.to_string(),
            "--date",
            "2026-06-18",
            "--reason",
            "笔误",
            "--on",
            "2026-06-18",
        ],
    );
    assert!(out.contains("2026-06-08 → 2026-06-18"), "{out}");
    assert!(out.contains("测试期相应改为至 2026-08-18 届满"), "{out}");

    // On 06-29: the quota entry is overdue; test resources were due 5
    // working days after 06-18 (Thu): 06-19..21 端午 off, 06-22 Mon 1, 23 2,
    // 24 3, 25 4, 26 5 — overdue too, as is the test work order's entry.
    assert_eq!(
        agenda(&env, "2026-06-29", "14"),
        vec![
            item("platform_entry", P, "2026-06-08", true),
            item("delivery_test", P, "2026-06-26", true),
            item("platform_entry", P, "2026-06-26", true),
        ]
    );
    // Delivered on 06-29 (Mon): one working day after 06-26 (Fri).
    let (out, _) = record(
        &env,
        &[
            "ledger",
            "delivered",
            "--project",
            P,
            "--kind",
            "test",
            "--date",
            "2026-06-29",
            "--on",
            "2026-06-29",
        ],
    );
    assert!(
        out.contains(
            "已登记项目 SJ-2026-017 的测试资源发放:2026-06-29,逾期 1 个工作日(最迟 2026-06-26)。"
        ),
        "{out}"
    );
    let text = env.run_ok(&["agenda", "--on", "2026-06-30"]);
    assert!(!text.contains("测试资源发放"), "{text}");
    for kind in ["quota", "test"] {
        record(
            &env,
            &[
                "ledger",
                "entered",
                "--project",
                P,
                "--kind",
                kind,
                "--date",
                "2026-06-29",
                "--on",
                "2026-06-29",
            ],
        );
    }
    assert!(agenda(&env, "2026-06-29", "14").is_empty());

    // The test period ends 08-18: within 14 days of 08-10, then expired.
    assert_eq!(
        agenda(&env, "2026-08-10", "14"),
        vec![item("test_ending", P, "2026-08-18", false)]
    );
    assert_eq!(agenda(&env, "2026-08-10", "7"), vec![]);
    assert_eq!(state(&env, P, "2026-08-18"), "测试中");
    assert_eq!(state(&env, P, "2026-08-19"), "测试期满");
    assert_eq!(
        agenda(&env, "2026-08-20", "14"),
        vec![item("test_expired", P, "2026-08-18", true)]
    );

    // A formal agreement inside the test period is refused with the date.
    let out = env.run(&[
        "ledger",
        "formal-signed",
        "--project",
        P,
        "--date",
        "2026-08-10",
        "--on",
        "2026-08-10",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("冲突日期:2026-08-18"),
        "{}",
        stderr(&out)
    );

    // Formal 09-17 (Thu): 09-18 Fri 1, 09-20 Sun (调休上班) 2, 21 3, 22 4, 23 5.
    let (out, formal) = record(
        &env,
        &[
            "ledger",
            "formal-signed",
            "--project",
            P,
            "--date",
            "2026-09-17",
            "--on",
            "2026-09-17",
        ],
    );
    assert!(out.contains("状态:测试期满 → 正式服务"), "{out}");
    assert!(out.contains("最迟应于 2026-09-23"), "{out}");
    assert_eq!(
        agenda(&env, "2026-09-24", "14"),
        vec![
            item("delivery_formal", P, "2026-09-23", true),
            item("platform_entry", P, "2026-09-23", true),
        ]
    );
    record(
        &env,
        &[
            "ledger",
            "delivered",
            "--project",
            P,
            "--kind",
            "formal",
            "--date",
            "2026-09-23",
            "--on",
            "2026-09-23",
        ],
    );
    record(
        &env,
        &[
            "ledger",
            "entered",
            "--project",
            P,
            "--kind",
            "formal",
            "--date",
            "2026-09-23",
            "--on",
            "2026-09-23",
        ],
    );

    // A change from 12-01 (Tue): 12-02 1, 03 2, 04 3, 07 4, 08 5.
    let a4 = sample("annex4-example.xlsx");
    env.run_ok(&[
        "approve",
        a4.to_str().unwrap(),
        "--effective",
        "2026-12-01",
        "--on",
        "2026-11-20",
    ]);
    let view = env.run_ok(&["project", P, "--on", "2026-11-30"]);
    assert!(view.contains("已排定"), "{view}");
    assert_eq!(
        agenda(&env, "2026-12-01", "14"),
        vec![item("delivery_change", P, "2026-12-08", false)]
    );
    // It was approved by mistake: revoked, it leaves the agenda and the
    // configuration; the log keeps it.
    let log = env.run_ok(&["ledger", "log", "--project", P, "--format", "json"]);
    let change_event = json_lines(&log)
        .iter()
        .find(|v| v["action"] == "approve_change")
        .map(|v| v["id"].as_i64().unwrap())
        .unwrap();
    let (out, _) = record(
        &env,
        &[
            "ledger",
            "revoke",
            &change_event.to_string(),
            "--reason",
            "批错项目",
            "--on",
            "2026-12-02",
        ],
    );
    assert!(out.contains("状态仍为:正式服务"), "{out}");
    assert!(agenda(&env, "2026-12-01", "14").is_empty());
    // Revoking twice is refused.
    let out = env.run(&[
        "ledger",
        "revoke",
        &change_event.to_string(),
        "--reason",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("已于"), "{}", stderr(&out));

    // The centre reclaims everything from 2027-03-01.
    let (out, _) = record(
        &env,
        &[
            "ledger",
            "terminate",
            "--project",
            P,
            "--date",
            "2027-03-01",
            "--reason",
            "闲置回收",
            "--on",
            "2027-03-01",
        ],
    );
    assert!(out.contains("资源计量至 2027-02-28"), "{out}");
    assert!(out.contains("状态:正式服务 → 已终止"), "{out}");
    assert_eq!(state(&env, P, "2027-02-28"), "正式服务");
    assert_eq!(state(&env, P, "2027-03-01"), "已终止");

    // The settlement meters 2026-09-17 (the corrected formal date) to
    // 2027-02-28: 14 + 31 + 30 + 31 + 31 + 28 = 165 days, CPU 32 × 60 ×
    // 165 × 12 ÷ 365 = 10415.342… → 10415.34; the change was revoked.
    let path = env.path("s.xlsx");
    let out = env.run_ok(&[
        "settle",
        "--year",
        "2027",
        "--on",
        "2027-07-15",
        "--out",
        path.to_str().unwrap(),
    ]);
    assert!(
        out.contains("于 2027-03-01 终止,资源计量至 2027-02-28"),
        "{out}"
    );
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    let ws = wb.worksheet_range(P).unwrap();
    let cell = |r: u32, c: u32| ws.get_value((r, c)).map(|d| d.to_string()).unwrap();
    assert_eq!(cell(5, 0), "主机CPU(核)");
    assert!(matches!(ws.get_value((5, 1)), Some(Data::Float(f)) if *f == 32.0));
    assert_eq!(cell(5, 3), "2026-09-17");
    assert_eq!(cell(5, 4), "2027-02-28");
    assert!(matches!(ws.get_value((5, 5)), Some(Data::Float(f)) if *f == 165.0));
    assert!(matches!(ws.get_value((5, 8)), Some(Data::Float(f)) if (*f - 10415.34).abs() < 1e-6));
    // Settled: the agenda's settlement item for 2027 is gone; 2026 had
    // no formal resources of any project.
    assert!(agenda(&env, "2027-07-16", "14").is_empty());

    // History keeps the original date, the correction and who made it.
    let log = env.run_ok(&["ledger", "log", "--project", P]);
    assert!(log.contains("日期 2026-06-08"), "{log}");
    assert!(
        log.contains("更正日期") && log.contains("原因:笔误"),
        "{log}"
    );
    assert!(log.contains("王五") && log.contains("张三"), "{log}");
    assert!(
        log.contains("撤销") && log.contains("原因:批错项目"),
        "{log}"
    );
    let view = env.run_ok(&["project", P, "--on", "2027-01-01", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(view.trim()).unwrap();
    assert_eq!(v["agreements"][1]["date"], "2026-09-17");
    assert_eq!(v["agreements"][1]["event"], formal);
    assert_eq!(v["changes"].as_array().unwrap().len(), 0);
    assert_eq!(v["terminated"], "2027-03-01");
}

#[test]
fn the_register_lists_states_and_next_dues() {
    let env = Env::new();
    env.approve_example();
    let other = env.path("b.xlsx");
    crate::common::annex1()
        .set("B4", "SJ-2026-018")
        .set("G3", "另一个系统")
        .write(&other);
    env.run_ok(&["approve", other.to_str().unwrap(), "--on", "2026-05-06"]);
    env.run_ok(&[
        "ledger",
        "test-signed",
        "--project",
        "SJ-2026-018",
        "--date",
        "2026-05-11",
        "--months",
        "1",
        "--on",
        "2026-05-11",
    ]);
    let rows = json_lines(&env.run_ok(&["projects", "--on", "2026-05-12", "--format", "json"]));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["project"], "SJ-2026-017");
    assert_eq!(rows[0]["state"], "approved");
    assert_eq!(rows[0]["ownership"], "市级");
    // Approved 05-01 (劳动节): 05-06 Wed 1, 07 2, 08 3, 09 Sat (调休) 4, 11 5.
    assert_eq!(rows[0]["next_due"], "2026-05-11");
    assert_eq!(rows[1]["state_label"], "测试中");
    let text = env.run_ok(&["projects", "--on", "2026-05-12", "--state", "测试中"]);
    assert!(
        text.contains("SJ-2026-018") && !text.contains("SJ-2026-017"),
        "{text}"
    );
    let text = env.run_ok(&["projects", "--on", "2026-05-12", "--search", "另一个"]);
    assert!(
        text.contains("SJ-2026-018") && !text.contains("SJ-2026-017"),
        "{text}"
    );
    let out = env.run(&["projects", "--state", "进行中"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("已批准配额"), "{}", stderr(&out));

    // A revoked approval: 已撤销, kept in the register, not found for work.
    let log = json_lines(&env.run_ok(&["ledger", "log", "--format", "json"]));
    let quota = log
        .iter()
        .find(|v| v["action"] == "approve_quota" && v["project"] == "SJ-2026-017")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let out = env.run_ok(&[
        "ledger",
        "revoke",
        &quota.to_string(),
        "--reason",
        "重复立项",
        "--on",
        "2026-05-12",
    ]);
    assert!(out.contains("状态:已批准配额 → 已撤销"), "{out}");
    let text = env.run_ok(&["projects", "--on", "2026-05-12", "--state", "已撤销"]);
    assert!(text.contains("SJ-2026-017"), "{text}");
    let out = env.run(&[
        "ledger",
        "formal-signed",
        "--project",
        "SJ-2026-017",
        "--date",
        "2026-06-01",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("已撤销"), "{}", stderr(&out));
    // An approval with agreements cannot be revoked before them.
    let quota18 = log
        .iter()
        .find(|v| v["action"] == "approve_quota" && v["project"] == "SJ-2026-018")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let out = env.run(&["ledger", "revoke", &quota18.to_string(), "--reason", "x"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("请先撤销协议"), "{}", stderr(&out));
}

#[test]
fn dates_and_order_are_checked_and_overridable() {
    let env = Env::new();
    env.approve_example(); // approved 2026-05-01
                           // A test agreement before the approval: refused, with the date.
    let out = env.run(&[
        "ledger",
        "test-signed",
        "--project",
        P,
        "--date",
        "2026-04-01",
        "--months",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("早于项目 SJ-2026-017 配额的批准日 2026-05-01"),
        "{err}"
    );
    assert!(err.contains("冲突日期:2026-05-01"), "{err}");
    // An 附件4 without a formal agreement: refused.
    let a4 = sample("annex4-example.xlsx");
    let out = env.run(&["approve", a4.to_str().unwrap(), "--effective", "2026-09-01"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("尚未登记正式协议"),
        "{}",
        stderr(&out)
    );
    // A formal agreement before the approval: refused; with --override, recorded and logged.
    let out = env.run(&[
        "ledger",
        "formal-signed",
        "--project",
        P,
        "--date",
        "2026-04-20",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("冲突日期:2026-05-01。如确属例外,可加 --override 原因 登记"),
        "{}",
        stderr(&out)
    );
    let out = env.run(&[
        "ledger",
        "formal-signed",
        "--project",
        P,
        "--date",
        "2026-04-20",
        "--override",
        "补录:纸质协议早于系统立项",
        "--on",
        "2026-05-02",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("例外登记"), "{}", stderr(&out));
    let log = env.run_ok(&["ledger", "log"]);
    assert!(log.contains("原因:补录:纸质协议早于系统立项"), "{log}");
    // An effective date before the formal agreement: refused.
    let out = env.run(&["approve", a4.to_str().unwrap(), "--effective", "2026-04-01"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("冲突日期:2026-04-20"),
        "{}",
        stderr(&out)
    );
    // A date more than 30 days after today: recorded, with a warning.
    let out = env.run(&[
        "ledger",
        "delivered",
        "--project",
        P,
        "--kind",
        "formal",
        "--date",
        "2026-07-01",
        "--on",
        "2026-05-02",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("晚 60 天"), "{}", stderr(&out));
    let out = env.run(&[
        "ledger",
        "entered",
        "--project",
        P,
        "--kind",
        "formal",
        "--date",
        "2026-06-01",
        "--on",
        "2026-05-02",
    ]);
    assert!(!stderr(&out).contains("请核对日期"), "{}", stderr(&out));
    // Entered twice: refused with the first date.
    let out = env.run(&[
        "ledger",
        "entered",
        "--project",
        P,
        "--kind",
        "formal",
        "--date",
        "2026-06-02",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("冲突日期:2026-06-01"),
        "{}",
        stderr(&out)
    );
    // An unknown event number: refused.
    let out = env.run(&[
        "ledger",
        "correct",
        "999",
        "--date",
        "2026-06-01",
        "--reason",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("没有第 999 号记录"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_ledger_written_by_an_earlier_zwyun_is_migrated_once_with_its_data() {
    let env = Env::new();
    // Written by zwyun b58e24d: SJ-2026-017 (test 06-15, formal 09-01,
    // 附件4 from 2027-01-01), an uncoded street project, five submissions.
    std::fs::copy(
        repo().join("tests/fixtures/ledgers/b58e24d.db"),
        env.path("zwyun.db"),
    )
    .unwrap();
    let out = env.run(&["projects", "--on", "2026-12-02", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("由第 0 版升级为第 2 版"),
        "{}",
        stderr(&out)
    );
    let rows = json_lines(&stdout(&out));
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["project"], "SJ-2026-017");
    assert_eq!(rows[0]["state_label"], "正式服务");
    assert_eq!(
        rows[1]["project"],
        "上海市松江区某某街道办事处-街道网格化治理平台"
    );
    assert_eq!(rows[1]["state_label"], "已批准配额");
    // Opened again: not migrated again, the same log.
    let log = env.run(&["ledger", "log", "--format", "json"]);
    assert!(!stderr(&log).contains("升级"), "{}", stderr(&log));
    let events = json_lines(&stdout(&log));
    // Two approvals, two agreements, one change: one event each.
    assert_eq!(events.len(), 5, "{events:?}");
    assert!(events.iter().all(|e| e["command"] == "migrate"));
    let status = env.run_ok(&["status", "--format", "json"]);
    assert_eq!(status.lines().count(), 5, "{status}");
    let v: serde_json::Value = serde_json::from_str(
        env.run_ok(&[
            "project",
            "SJ-2026-017",
            "--on",
            "2027-01-02",
            "--format",
            "json",
        ])
        .trim(),
    )
    .unwrap();
    assert_eq!(v["in_force_from"], "2027-01-01");
    assert_eq!(v["agreements"][0]["date"], "2026-06-15");
    assert_eq!(v["agreements"][1]["date"], "2026-09-01");
    // The migrated facts can be corrected like new ones.
    let formal = events
        .iter()
        .find(|e| e["action"] == "formal_signed")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    env.run_ok(&[
        "ledger",
        "correct",
        &formal.to_string(),
        "--date",
        "2026-09-02",
        "--reason",
        "核对纸质协议",
    ]);
    assert_eq!(state(&env, "SJ-2026-017", "2026-09-01"), "测试期满");
}
