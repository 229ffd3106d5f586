//! A project's quota over its life: a new 附件1 after an agreement is a
//! 配额调整 (the 120% cap then measured on it), an 附件4 that gives
//! everything back ends the project, submissions are approved by the id
//! `status` prints, and the checks a 附件1 gets against the ledger and
//! parties.yaml.

use std::process::Output;

use crate::common::{annex1, annex4, cells_of, codes, sample, Env, APPROVED_ON};
use crate::intake::{age_all, files_under};

const P: &str = "SJ-2026-017";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

fn fails_with(out: &Output, code: i32, needle: &str) {
    assert_eq!(out.status.code(), Some(code), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(needle),
        "{needle} not in {}",
        text(&out.stderr)
    );
}

/// `approve FILE` effective and recorded on `date`.
fn approve_from<'a>(file: &'a std::path::Path, date: &'a str) -> [&'a str; 6] {
    let file = file.to_str().unwrap();
    ["approve", file, "--effective", date, "--on", date]
}

fn project_json(env: &Env, on: &str) -> serde_json::Value {
    let out = env.run_ok(&["project", P, "--on", on, "--format", "json"]);
    serde_json::from_str(out.trim()).unwrap()
}

/// The example project, approved on APPROVED_ON and in formal service
/// from 2026-07-01 (no test agreement recorded).
fn in_service() -> Env {
    let env = Env::new();
    env.approve_example();
    env.formal_signed("2026-07-01");
    env
}

/// An 附件4 of the example project raising 互联网带宽 from 10 to `after`.
fn bandwidth_change(env: &Env, name: &str, after: f64) -> std::path::PathBuf {
    let path = env.path(name);
    annex4().set("E19", after).write(&path);
    path
}

#[test]
fn a_new_annex1_in_service_revises_the_quota_and_the_cap_follows_it() {
    let env = in_service();
    // 15 GB is 150% of the approved 10 GB: refused, pointing to a 附件1.
    let change = bandwidth_change(&env, "变更.xlsx", 15.0);
    let v = env.validate_json(&change);
    assert_eq!(v["status"], "invalid", "{v}");
    let hint = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "policy.quota")
        .map(|d| d["hint"].as_str().unwrap().to_string())
        .unwrap();
    assert!(hint.contains("提交新的附件1 申请配额调整"), "{hint}");

    // The unit asks for a 15 GB quota with a new 附件1.
    let revision = env.path("配额调整.xlsx");
    annex1().set("E28", 15.0).write(&revision);
    let v = env.validate_json(&revision);
    assert_eq!(v["status"], "valid", "{v}");
    assert_eq!(codes(&v), ["project.revision"], "{v}");
    assert_eq!(cells_of(&v, "project.revision"), ["B4"]);

    let out = env.run_ok(&[
        "approve",
        revision.to_str().unwrap(),
        "--effective",
        "2026-12-01",
        "--on",
        "2026-12-01",
        "--by",
        "张三",
    ]);
    assert!(
        out.contains("已登记项目“SJ-2026-017”的配额调整(附件1),自 2026-12-01 起生效"),
        "{out}"
    );
    assert!(out.contains("在用资源配置不变"), "{out}");
    assert!(out.contains("项目 SJ-2026-017 状态仍为:正式服务"), "{out}");

    // The change is now measured on the new quota: 15 of 15.
    let v = env.validate_json(&change);
    assert_eq!(v["status"], "valid", "{v}");

    // History: the quota in force by date, both kept.
    let before = project_json(&env, "2026-11-30");
    let after = project_json(&env, "2026-12-01");
    assert!(before["quota_from"].is_null(), "{before}");
    assert_eq!(after["quota_from"], "2026-12-01");
    assert_eq!(after["quotas"].as_array().unwrap().len(), 2, "{after}");
    assert_eq!(before["in_force"], after["in_force"]);
    let text = env.run_ok(&["project", P, "--on", "2026-12-01"]);
    assert!(text.contains("配额及其调整:"), "{text}");
    assert!(text.contains("配额调整(附件1)"), "{text}");
    assert!(text.contains("张三"), "{text}");
    assert!(text.contains("配额调整.xlsx"), "{text}");

    // The same file again (the quota it asks for is in force) is no revision.
    let again = env.run(&approve_from(&revision, "2026-12-01"));
    fails_with(&again, 1, "与现行配额相同,无需配额调整");

    // Revoked, the old quota is back and the change over the cap again.
    let log = env.run_ok(&["ledger", "log", "--project", P, "--format", "json"]);
    let event = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["action"] == "revise_quota")
        .unwrap();
    assert_eq!(event["by"], "张三");
    assert!(event["sha256"].as_str().unwrap().len() == 64, "{event}");
    let id = event["id"].to_string();
    env.run_ok(&[
        "ledger",
        "revoke",
        &id,
        "--reason",
        "误批",
        "--on",
        "2026-12-02",
    ]);
    assert_eq!(env.validate_json(&change)["status"], "invalid");
}

#[test]
fn a_revision_before_the_formal_agreement_is_the_configuration_it_starts_with() {
    let env = Env::new();
    env.approve_example();
    env.run_ok(&[
        "ledger",
        "test-signed",
        "--project",
        P,
        "--date",
        "2026-05-11",
        "--months",
        "1",
    ]);
    // A second test agreement is no date to override: corrected, not forced.
    let again = env.run(&[
        "ledger",
        "test-signed",
        "--project",
        P,
        "--date",
        "2026-05-12",
        "--months",
        "1",
    ]);
    fails_with(&again, 1, "已登记测试协议");
    assert!(
        !text(&again.stderr).contains("--override"),
        "{}",
        text(&again.stderr)
    );
    // The test showed a third application server is needed (五(三)).
    let revision = env.path("测试后调整.xlsx");
    annex1().set("H17", 3.0).write(&revision);
    let out = env.run_ok(&approve_from(&revision, "2026-06-12"));
    assert!(out.contains("新配额同时作为正式协议"), "{out}");
    env.formal_signed("2026-06-15");
    let v = project_json(&env, "2026-06-15");
    assert_eq!(v["state_label"], "正式服务");
    assert!(
        v["in_force"].as_str().unwrap().starts_with("4 台主机"),
        "{v}"
    );
    // A provider other than the project's is no revision.
    let other = env.path("换服务商.xlsx");
    annex1()
        .set("H17", 4.0)
        .set("G4", "另一服务商")
        .write(&other);
    let out = env.run(&["approve", other.to_str().unwrap(), "--on", "2026-06-20"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

/// The example's 附件4 with an empty 变更后 table and every listed
/// service at 0, with `note` as 申请单位说明.
fn reclaim_all(env: &Env, note: &str) -> std::path::PathBuf {
    let mut form = annex4();
    for row in [14, 15] {
        for col in ["A", "B", "C", "D", "E", "F", "G", "H", "I"] {
            form.clear(&format!("{col}{row}"));
        }
    }
    form.set("E19", 0.0).set("B23", note);
    let path = env.path("全部回收.xlsx");
    form.write(&path);
    path
}

#[test]
fn an_annex4_giving_everything_back_ends_the_project_from_its_date() {
    let env = in_service();
    // Without a word of reclaim an empty table is still an error.
    let unclear = reclaim_all(&env, "系统调整。");
    let v = env.validate_json(&unclear);
    assert!(codes(&v).contains(&"policy.no_hosts".to_string()), "{v}");

    let file = reclaim_all(&env, "系统下线,全部资源回收。");
    let v = env.validate_json(&file);
    assert_eq!(v["status"], "valid", "{v}");
    assert!(codes(&v).contains(&"change.reclaim_all".to_string()), "{v}");
    let out = env.run_ok(&approve_from(&file, "2026-10-01"));
    assert!(
        out.contains("全部资源回收:项目自 2026-10-01 起终止,资源计量至 2026-09-30"),
        "{out}"
    );
    assert!(
        out.contains("项目 SJ-2026-017 状态:正式服务 → 已终止"),
        "{out}"
    );
    assert_eq!(project_json(&env, "2026-09-30")["state_label"], "正式服务");
    assert_eq!(project_json(&env, "2026-10-01")["state_label"], "已终止");
    // Nothing is due for an ended project, and no change can follow.
    let agenda = env.run_ok(&["agenda", "--on", "2026-10-02", "--format", "json"]);
    assert!(!agenda.contains("delivery_change"), "{agenda}");
    let later = bandwidth_change(&env, "之后.xlsx", 11.0);
    let out = env.run(&approve_from(&later, "2026-11-01"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // Settlement meters to the day before.
    let out = env.run(&[
        "settle",
        "--year",
        "2027",
        "--on",
        "2027-07-02",
        "--out",
        env.path("结算.xlsx").to_str().unwrap(),
    ]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        all.contains("于 2026-10-01 终止,资源计量至 2026-09-30"),
        "{all}"
    );
}

#[test]
fn approve_takes_the_id_status_prints() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("inbox")).unwrap();
    std::fs::copy(
        sample("annex1-example.xlsx"),
        env.path("inbox/企业服务平台申请表.xlsx"),
    )
    .unwrap();
    age_all(&env.path("inbox"));
    env.run_ok(&["process", "inbox", "--out", "out"]);
    let status = env.run_ok(&["status"]);
    let id = status.split_whitespace().next().unwrap().to_string();
    assert_eq!(id.len(), 12, "{status}");
    assert!(
        status.contains(&format!("待批准:zwyun approve {id}")),
        "{status}"
    );

    let unknown = env.run(&["approve", "0123456789ab", "--on", APPROVED_ON]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("zwyun status 列出提交及其编号"));

    let out = env.run(&["approve", &id, "--on", APPROVED_ON, "--by", "李四"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("批准的原件:"),
        "{}",
        text(&out.stderr)
    );
    let status = env.run_ok(&["status"]);
    assert!(status.contains("已批准:李四 于"), "{status}");
    assert!(
        status.contains(&format!(",批准日期 {APPROVED_ON}(第 1 号记录)")),
        "{status}"
    );
    let json = env.run_ok(&["status", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(v["id"], id.as_str());
    assert_eq!(v["approved"]["by"], "李四");
}

#[test]
fn a_receipt_promises_only_the_documents_written() {
    let env = in_service();
    std::fs::create_dir_all(env.path("inbox")).unwrap();
    annex1()
        .set("E28", 12.0)
        .write(&env.path("inbox/扩容申请.xlsx"));
    age_all(&env.path("inbox"));
    env.run_ok(&["process", "inbox", "--out", "out"]);
    let files = files_under(&env.path("out"));
    let receipt = files
        .iter()
        .find(|p| p.ends_with("受理回执.txt"))
        .unwrap_or_else(|| panic!("{files:?}"));
    let receipt = std::fs::read_to_string(receipt).unwrap();
    assert!(receipt.contains("配额调整申请"), "{receipt}");
    assert!(!receipt.contains("草稿见同一文件夹"), "{receipt}");
    assert!(
        !files.iter().any(|p| p.to_string_lossy().ends_with(".docx")),
        "{files:?}"
    );
}

#[test]
fn an_annex1_is_checked_against_the_providers_and_its_own_storage_lines() {
    let env = Env::new();
    let path = env.path("a.xlsx");
    annex1().set("G4", "某某云计算有限公司").write(&path);
    let v = env.validate_json(&path);
    assert_eq!(v["status"], "invalid");
    assert_eq!(cells_of(&v, "policy.provider_unknown"), ["G4"], "{v}");

    // 2400 GB of database data disk, 3000 + 400 in all, against 3000 GB
    // of 数据盘 SSD.
    annex1().set("F18", 2400.0).write(&path);
    let v = env.validate_json(&path);
    assert_eq!(v["status"], "valid", "{v}");
    assert_eq!(codes(&v), ["config.disk_uncovered"], "{v}");
    let d = &v["errors"][0];
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("主机数据盘合计 3400"),
        "{d}"
    );
    assert_eq!(d["cell"], "F17");
}

#[test]
fn an_unreadable_parties_file_is_not_the_units_fault() {
    let env = Env::new();
    let templates = env.path("templates");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(templates.join("parties.yaml"), "providers: [").unwrap();
    let path = env.path("a.xlsx");
    annex1().set("G4", "某某云计算有限公司").write(&path);
    let out = env.run(&[
        "validate",
        "--format",
        "json",
        "--templates",
        templates.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("本次未核对申请表中的服务商"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_code_first_seen_on_an_annex4_is_offered_never_taken() {
    let env = Env::new();
    let uncoded = env.path("无编号.xlsx");
    annex1().clear("B4").write(&uncoded);
    env.run_ok(&["approve", uncoded.to_str().unwrap(), "--on", APPROVED_ON]);
    let label = "上海市松江区某某局-松江区企业服务综合平台";
    env.run_ok(&[
        "ledger",
        "formal-signed",
        "--project",
        label,
        "--date",
        "2026-07-01",
    ]);
    let change = env.path("变更.xlsx");
    annex4().set("B4", "SJ-2026-099").write(&change);
    let v = env.validate_json(&change);
    assert_eq!(v["status"], "valid", "{v}");
    assert_eq!(cells_of(&v, "project.code_unregistered"), ["B4"], "{v}");
    let out = env.run(&approve_from(&change, "2026-10-01"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains(&format!(
            "zwyun ledger set-code --project \"{label}\" --code \"SJ-2026-099\""
        )),
        "{}",
        text(&out.stderr)
    );
    // Not taken on its own.
    fails_with(
        &env.run(&["project", "SJ-2026-099"]),
        2,
        "账本中没有项目“SJ-2026-099”",
    );
    let out = env.run_ok(&[
        "ledger",
        "set-code",
        "--project",
        label,
        "--code",
        "SJ-2026-099",
        "--by",
        "王五",
    ]);
    assert!(out.contains("已为项目"), "{out}");
    let v: serde_json::Value = serde_json::from_str(
        env.run_ok(&["project", "SJ-2026-099", "--format", "json"])
            .trim(),
    )
    .unwrap();
    assert_eq!(v["code"], "SJ-2026-099");
    assert!(v["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "set_code" && e["by"] == "王五"));
}

#[test]
fn late_deliveries_are_offered_for_a3() {
    let env = in_service();
    // Signed 2026-07-01 (Wed): due 07-08; delivered 07-10, 2 working days late.
    env.run_ok(&[
        "ledger",
        "delivered",
        "--project",
        P,
        "--kind",
        "formal",
        "--date",
        "2026-07-10",
    ]);
    let yaml = env.path("考核.yaml");
    std::fs::write(
        &yaml,
        "provider: 示例政务云服务商\nyear: 2027\nA3: 0\nC1: 0\nE1: 0\nE4: 0\nJ2: 0\nH1: 95\n",
    )
    .unwrap();
    let out = env.run(&["assess", yaml.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("逾期发放资源 1 次"), "{err}");
    assert!(
        err.contains("SJ-2026-017  正式资源发放 2026-07-10,最迟应于 2026-07-08,逾期 2 个工作日"),
        "{err}"
    );
    assert!(err.contains("考核数据中 A3 为 0 起"), "{err}");
}

#[test]
fn the_approved_form_itself_is_neither_a_replacement_nor_a_revision() {
    for formal in [false, true] {
        let env = Env::new();
        env.approve_example();
        if formal {
            env.formal_signed("2026-07-01");
        }
        let v = env.validate_json(&sample("annex1-example.xlsx"));
        assert_eq!(v["status"], "valid", "{v}");
        assert!(codes(&v).is_empty(), "{v}");
    }
    // The demo's example is approved by its file: status says so.
    let env = Env::new();
    env.run_ok(&["demo"]);
    let status = env.run_ok(&["status"]);
    let line = status
        .lines()
        .position(|l| l.contains("松江区企业服务综合平台-资源申请表.xlsx"))
        .unwrap();
    let next = status.lines().nth(line + 1).unwrap();
    assert!(next.contains("已批准:"), "{status}");
}
