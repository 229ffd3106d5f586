//! Deadlines, agreements, assessment (附件5) and the year's settlement,
//! with expectations computed by hand in the comments.

use std::path::Path;

use calamine::{open_workbook, Data, Reader, Xlsx};

use crate::common::{annex1, annex4, repo, sample, Env, APPROVED_ON};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn due(env: &Env, signed: &str, days: &str) -> String {
    let out = env.run_ok(&[
        "deadline", "--signed", signed, "--days", days, "--format", "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["signed"], signed);
    v["due"].as_str().unwrap().to_string()
}

// ---------------------------------------------------------------- deadlines

#[test]
fn national_day_2026_with_make_up_saturday() {
    let env = Env::new();
    // 10-01..07 off; 10-08 Thu 1, 10-09 Fri 2, 10-10 Sat (调休) 3, 10-12 Mon 4, 10-13 Tue 5.
    let out = env.run_ok(&["deadline", "--signed", "2026-09-30", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"signed": "2026-09-30", "days": 5, "due": "2026-10-13", "provisional": false})
    );
    // 09-30 Wed 1, then 10-08 2, 10-09 3, 10-10 4, 10-12 5.
    assert_eq!(due(&env, "2026-09-29", "5"), "2026-10-12");
    // Sunday 09-20 is a make-up working day: 09-18 Fri 1, 09-20 Sun 2, 09-21 3, 09-22 4, 09-23 5.
    assert_eq!(due(&env, "2026-09-17", "5"), "2026-09-23");
    // Ten days: 10-08, 09, 10, 12, 13, 14, 15, 16, 19, 20.
    assert_eq!(due(&env, "2026-09-30", "10"), "2026-10-20");
    let text = env.run_ok(&["deadline", "--signed", "2026-09-30"]);
    assert!(text.contains("2026-10-13"), "{text}");
}

#[test]
fn spring_festival_2026_with_make_up_saturdays() {
    let env = Env::new();
    // 02-13 Fri 1, 02-14 Sat (调休) 2, 02-15..23 off, 02-24 3, 02-25 4, 02-26 5.
    assert_eq!(due(&env, "2026-02-12", "5"), "2026-02-26");
    // 02-25 1, 02-26 2, 02-27 3, 02-28 Sat (调休) 4, 03-02 Mon 5.
    assert_eq!(due(&env, "2026-02-24", "5"), "2026-03-02");
    // Signed the Friday before: 02-14 Sat 1, 02-24 2 … 02-27 5.
    assert_eq!(due(&env, "2026-02-13", "5"), "2026-02-27");
}

#[test]
fn other_years_of_the_calendar() {
    let env = Env::new();
    // 2025 National Day 10-01..08, 10-11 Sat works: 10-09 1, 10-10 2, 10-11 3, 10-13 4, 10-14 5.
    assert_eq!(due(&env, "2025-09-30", "5"), "2025-10-14");
    // 2024 Spring Festival 02-10..17, Sunday 02-18 works: 02-09 1, 02-18 2, 02-19 3, 02-20 4, 02-21 5.
    assert_eq!(due(&env, "2024-02-08", "5"), "2024-02-21");
    // 2023 Dragon Boat 06-22..24, Sunday 06-25 works: 06-25 1, 06-26 2 … 06-29 5.
    assert_eq!(due(&env, "2023-06-21", "5"), "2023-06-29");
    // 2022 National Day 10-01..07, 10-08 Sat and 10-09 Sun work: 10-08 1, 10-09 2 … 10-12 5.
    assert_eq!(due(&env, "2022-09-30", "5"), "2022-10-12");
}

#[test]
fn a_date_past_the_calendar_gets_a_provisional_deadline() {
    let env = Env::new();
    // Counting runs into 2027, which the calendar lacks: 12-30 1, 12-31 2,
    // then by weekends alone 2027-01-01 Fri 3, 01-04 Mon 4, 01-05 Tue 5.
    let out = env.run(&["deadline", "--signed", "2026-12-29", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["due"], "2027-01-05");
    assert_eq!(v["provisional"], true);
    let warning = stderr(&out);
    assert!(warning.contains("没有 2027 年"), "{warning}");
    assert!(warning.contains("zwyun calendar --export"), "{warning}");
    let text = env.run_ok(&["deadline", "--signed", "2026/12/31"]);
    assert!(text.contains("2027-01-07(暂定)"), "{text}");
    // Before the calendar, too.
    let out = env.run(&["deadline", "--signed", "2021-12-20", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("没有 2021 年"), "{}", stderr(&out));
}

#[test]
fn calendar_lists_its_years_and_exports_the_rule_files() {
    let env = Env::new();
    let out = env.run_ok(&["calendar"]);
    assert!(out.contains("2022、2023、2024、2025、2026"), "{out}");
    let out = env.run_ok(&["calendar", "--export", "."]);
    assert!(out.contains("已导出"), "{out}");
    for f in [
        "schemas/calendar.yaml",
        "schemas/policy.yaml",
        "schemas/prices.yaml",
        "templates/test-agreement.docx",
    ] {
        assert!(env.path(f).is_file(), "{f}");
    }
    // An exported calendar with 2027 added is used from ./schemas.
    let cal = env.path("schemas/calendar.yaml");
    let text = std::fs::read_to_string(&cal).unwrap();
    let text = text.replacen("years: [", "years: [2027, ", 1);
    std::fs::write(&cal, text).unwrap();
    let out = std::process::Command::new(crate::common::bin())
        .args(["calendar"])
        .current_dir(env.dir.path())
        .env_remove("ZWYUN_SCHEMAS")
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("2027"), "{listed}");
    // A second export keeps the edited file.
    let again = env.run_ok(&["calendar", "--export", "."]);
    assert!(again.contains("已存在,未覆盖"), "{again}");
    assert!(std::fs::read_to_string(&cal).unwrap().contains("2027"));
}

// ---------------------------------------------------------------- agreements

#[test]
fn test_agreement_gives_end_date_and_delivery_deadline() {
    let env = Env::new();
    env.approve_example();
    // Two months from 06-15 end on 08-15. Delivery: 06-16 1, 06-17 2, 06-18 3,
    // 06-19..21 Dragon Boat, 06-22 4, 06-23 5.
    let out = env.run_ok(&[
        "ledger",
        "test-signed",
        "--project",
        "SJ-2026-017",
        "--date",
        "2026-06-15",
        "--months",
        "2",
    ]);
    assert!(out.contains("至 2026-08-15 届满"), "{out}");
    assert!(out.contains("2026-06-23"), "{out}");
    let again = env.run(&[
        "ledger",
        "test-signed",
        "--project",
        "SJ-2026-017",
        "--date",
        "2026-06-20",
        "--months",
        "1",
    ]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "a second test agreement is refused"
    );
}

#[test]
fn test_period_outside_one_to_three_months_is_refused() {
    let env = Env::new();
    env.approve_example();
    for months in ["0", "4"] {
        let out = env.run(&[
            "ledger",
            "test-signed",
            "--project",
            "SJ-2026-017",
            "--date",
            "2026-06-15",
            "--months",
            months,
        ]);
        assert_eq!(out.status.code(), Some(2), "months {months}");
        assert!(stderr(&out).contains("1 至 3 个月"), "{}", stderr(&out));
    }
    let out = env.run(&[
        "ledger",
        "test-signed",
        "--project",
        "SJ-2099-001",
        "--date",
        "2026-06-15",
        "--months",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("SJ-2099-001"), "{}", stderr(&out));
}

#[test]
fn formal_agreement_waits_for_the_end_of_the_test_period() {
    let env = Env::new();
    env.approve_example();
    env.run_ok(&[
        "ledger",
        "test-signed",
        "--project",
        "SJ-2026-017",
        "--date",
        "2026-06-15",
        "--months",
        "2",
    ]);
    let early = env.run(&[
        "ledger",
        "formal-signed",
        "--project",
        "SJ-2026-017",
        "--date",
        "2026-08-15",
    ]);
    assert_eq!(early.status.code(), Some(1));
    assert!(
        stderr(&early).contains("2026-08-15 届满"),
        "{}",
        stderr(&early)
    );
    assert!(
        stderr(&early).contains("最早 2026-08-16"),
        "{}",
        stderr(&early)
    );
    // 08-17 Mon: 08-18 1 … 08-21 4, 08-24 5.
    let out = env.formal_signed("2026-08-17");
    assert!(out.contains("2026-08-24"), "{out}");
    let twice = env.run(&[
        "ledger",
        "formal-signed",
        "--project",
        "SJ-2026-017",
        "--date",
        "2026-09-01",
    ]);
    assert_eq!(twice.status.code(), Some(1));
}

// ---------------------------------------------------------------- assessment

fn assessment(env: &Env, name: &str, body: &str) -> String {
    let path = env.path(name);
    std::fs::write(
        &path,
        format!("provider: 示例政务云服务商\nyear: 2026\n{body}"),
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

fn assess_json(env: &Env, body: &str) -> serde_json::Value {
    let file = assessment(env, "a.yaml", body);
    let out = env.run_ok(&["assess", &file, "--format", "json"]);
    serde_json::from_str(out.trim()).unwrap()
}

fn score_and_rate(env: &Env, body: &str) -> (String, String) {
    let v = assess_json(env, body);
    (
        v["score"].as_str().unwrap().to_string(),
        v["deduction_rate"].as_str().unwrap().to_string(),
    )
}

#[test]
fn assessment_json_has_every_item() {
    let env = Env::new();
    // A3 5−1 = 4, C1 10, E1 10−2×3 = 4, E4 5, J2 20, H1 81% → 50 − 9 = 41; total 84.
    let v = assess_json(&env, "A3: 1\nC1: 0\nE1: 2\nE4: 0\nJ2: 0\nH1: 81\n");
    assert_eq!(
        v,
        serde_json::json!({
            "provider": "示例政务云服务商",
            "year": 2026,
            "items": {"A3": "4", "C1": "10", "E1": "4", "E4": "5", "J2": "20", "H1": "41"},
            "score": "84",
            "deduction_rate": "0.05"
        })
    );
}

#[test]
fn assessment_tiers_and_their_boundaries() {
    let env = Env::new();
    let cases = [
        // C1 2 → 0: 90 exactly, no deduction.
        ("A3: 0\nC1: 2\nE1: 0\nE4: 0\nJ2: 0\nH1: 95\n", "90", "0.00"),
        // and H1 89.5% → 49.5: 89.5.
        (
            "A3: 0\nC1: 2\nE1: 0\nE4: 0\nJ2: 0\nH1: 89.5\n",
            "89.5",
            "0.05",
        ),
        // C1 2 (−10), A3 5 (−5), E4 1 (−5): 80 exactly.
        ("A3: 5\nC1: 2\nE1: 0\nE4: 1\nJ2: 0\nH1: 90\n", "80", "0.05"),
        // and H1 89% (−1): 79.
        ("A3: 5\nC1: 2\nE1: 0\nE4: 1\nJ2: 0\nH1: 89\n", "79", "0.10"),
        // C1 2 (−10), J2 4 (−20): 70 exactly.
        ("A3: 0\nC1: 2\nE1: 0\nE4: 0\nJ2: 4\nH1: 100\n", "70", "0.10"),
        // and H1 89.5% (−0.5): 69.5.
        (
            "A3: 0\nC1: 2\nE1: 0\nE4: 0\nJ2: 4\nH1: 89.5\n",
            "69.5",
            "0.15",
        ),
        // Everything lost, no item below 0.
        ("A3: 9\nC1: 3\nE1: 4\nE4: 2\nJ2: 5\nH1: 0\n", "0", "0.15"),
        // All full.
        (
            "A3: 0\nC1: 0\nE1: 0\nE4: 0\nJ2: 0\nH1: 100\n",
            "100",
            "0.00",
        ),
    ];
    for (body, score, rate) in cases {
        assert_eq!(
            score_and_rate(&env, body),
            (score.to_string(), rate.to_string()),
            "{body}"
        );
    }
}

#[test]
fn satisfaction_at_90_87_5_and_0() {
    let env = Env::new();
    let h1 = |pct: &str| {
        let v = assess_json(
            &env,
            &format!("A3: 0\nC1: 0\nE1: 0\nE4: 0\nJ2: 0\nH1: {pct}\n"),
        );
        v["items"]["H1"].as_str().unwrap().to_string()
    };
    assert_eq!(h1("90"), "50");
    // 2.5 points below 90, 1 point (2% of 50) each: 47.5.
    assert_eq!(h1("87.5"), "47.5");
    assert_eq!(h1("\"87.5%\""), "47.5");
    // 90 points below: 90 > 50, floored at 0.
    assert_eq!(h1("0"), "0");
}

#[test]
fn bad_assessment_input_names_the_key() {
    let env = Env::new();
    let cases = [
        ("A3: 0\nC1: -1\nE1: 0\nE4: 0\nJ2: 0\nH1: 95\n", "C1"),
        ("A3: 0\nC1: 0\nE1: 0\nE4: 0\nJ2: 0\nH1: 100.5\n", "H1"),
        ("A3: 0\nC1: 0\nE1: 0\nJ2: 0\nH1: 95\n", "E4"),
        ("A3: 1.5\nC1: 0\nE1: 0\nE4: 0\nJ2: 0\nH1: 95\n", "A3"),
        ("A3: 0\nC1: 0\nE1: 0\nE4: 0\nJ2: 0\nH1: 95\nJ3: 1\n", "J3"),
    ];
    for (body, key) in cases {
        let file = assessment(&env, "bad.yaml", body);
        let out = env.run(&["assess", &file]);
        assert_eq!(out.status.code(), Some(1), "{body}");
        assert!(stderr(&out).contains(key), "{key}: {}", stderr(&out));
    }
}

#[test]
fn assessment_workbook_is_the_filled_annex5() {
    let env = Env::new();
    let out_path = env.path("附件5.xlsx");
    // The sample: A3 1 → 4, C1 1 → 5, E1 1 → 7, E4 5, J2 20, H1 87.5% → 47.5: 88.5, 5%.
    let out = env.run_ok(&[
        "assess",
        sample("assessment-2027.yaml").to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.contains("总体得分:88.5"), "{out}");
    let mut wb: Xlsx<_> = open_workbook(&out_path).unwrap();
    let ws = wb.worksheet_range("绩效考核表").unwrap();
    assert_eq!(text(&ws, 0, 0), "松江区云服务商绩效考核表");
    assert_eq!(text(&ws, 3, 0), "服务任务完成及时性(A3)");
    assert_eq!(number(&ws, 3, 4), 4.0);
    assert_eq!(text(&ws, 8, 0), "云服务满意率(H1)");
    assert_eq!(number(&ws, 8, 3), 0.875);
    assert_eq!(number(&ws, 8, 4), 47.5);
    assert_eq!(number(&ws, 9, 4), 88.5);
    let all: Vec<String> = ws.rows().flatten().map(|c| c.to_string()).collect();
    assert!(
        all.iter().any(|c| c.contains("扣除当年结算金额的 5%")),
        "{all:?}"
    );
}

fn text(ws: &calamine::Range<Data>, row: u32, col: u32) -> String {
    ws.get_value((row, col))
        .map(|d| d.to_string())
        .unwrap_or_default()
}

fn number(ws: &calamine::Range<Data>, row: u32, col: u32) -> f64 {
    match ws.get_value((row, col)) {
        Some(Data::Float(f)) => *f,
        Some(Data::Int(i)) => *i as f64,
        other => panic!("no number at ({row},{col}): {other:?}"),
    }
}

fn money(ws: &calamine::Range<Data>, row: u32, col: u32) -> String {
    format!("{:.2}", number(ws, row, col))
}

// ---------------------------------------------------------------- settlement

/// Approves a copy of the example 附件1 as another project.
fn approve_copy(env: &Env, code: &str, name: &str, provider: &str) {
    let path = env.path(&format!("{code}.xlsx"));
    annex1()
        .set("B4", code)
        .set("G3", name)
        .set("G4", provider)
        .write(&path);
    let templates = two_providers(env);
    env.run_ok(&[
        "approve",
        path.to_str().unwrap(),
        "--on",
        APPROVED_ON,
        "--templates",
        templates.to_str().unwrap(),
    ]);
}

/// The shipped templates, with parties.yaml listing a second provider.
fn two_providers(env: &Env) -> std::path::PathBuf {
    let dir = env.path("templates");
    if !dir.exists() {
        std::fs::create_dir_all(&dir).unwrap();
        for e in std::fs::read_dir(repo().join("templates"))
            .unwrap()
            .flatten()
        {
            std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
        }
        let mut parties = std::fs::read_to_string(dir.join("parties.yaml")).unwrap();
        parties.push_str("  - name: 另一政务云服务商\n");
        std::fs::write(dir.join("parties.yaml"), parties).unwrap();
    }
    dir
}

/// From 2027-01-01: one application host given back (2 → 1), bandwidth
/// 10 → 5, 堡垒机服务 given back; the database host unchanged.
fn approve_give_back(env: &Env) {
    let path = env.path("annex4-give-back.xlsx");
    annex4()
        .set("H14", 1.0)
        .set("F15", 2000.0)
        .set("I15", "数据库服务器")
        .set("E19", 5.0)
        .set("F19", "访问量下降,回收部分带宽")
        .set("A20", "堡垒机服务")
        .set("D20", 1.0)
        .set("E20", 0.0)
        .set("F20", "停用")
        .set("B23", "应用服务器缩减为1台,回收部分带宽和堡垒机服务。")
        .write(&path);
    env.run_ok(&[
        "approve",
        path.to_str().unwrap(),
        "--effective",
        "2027-01-01",
    ]);
}

fn settled_ledger() -> Env {
    let env = Env::new();
    // SJ-2026-017: test 06-15 for 2 months (to 08-15, partly inside the
    // year, never metered), formal 09-01 (起租 mid-year), changes 2027-01-01.
    env.approve_example();
    env.run_ok(&[
        "ledger",
        "test-signed",
        "--project",
        "SJ-2026-017",
        "--date",
        "2026-06-15",
        "--months",
        "2",
    ]);
    env.formal_signed("2026-09-01");
    approve_give_back(&env);
    // SJ-2026-018: test agreement only — nothing metered.
    approve_copy(
        &env,
        "SJ-2026-018",
        "松江区第二个示例系统",
        "示例政务云服务商",
    );
    env.run_ok(&[
        "ledger",
        "test-signed",
        "--project",
        "SJ-2026-018",
        "--date",
        "2026-10-12",
        "--months",
        "3",
    ]);
    // SJ-2026-019: another provider, formal before the year: the whole year.
    approve_copy(
        &env,
        "SJ-2026-019",
        "松江区第三个示例系统",
        "另一政务云服务商",
    );
    env.run_ok(&[
        "ledger",
        "formal-signed",
        "--project",
        "SJ-2026-019",
        "--date",
        "2026-05-06",
    ]);
    env
}

fn sheet(path: &Path, name: &str) -> calamine::Range<Data> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    wb.worksheet_range(name)
        .unwrap_or_else(|e| panic!("no sheet {name}: {e}"))
}

#[test]
fn settlement_meters_formal_resources_day_by_day() {
    let env = settled_ledger();
    let out_path = env.path("结算.xlsx");
    let assessment = sample("assessment-2027.yaml");
    let out = env.run_ok(&[
        "settle",
        "--year",
        "2027",
        "--on",
        "2027-07-15",
        "--assessments",
        assessment.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.contains("SJ-2026-018 未登记正式协议"), "{out}");
    assert!(out.contains("“另一政务云服务商”未提供考核结果"), "{out}");
    assert!(out.contains("示例价格"), "{out}");

    // Service year 2026-07-01..2027-06-30: 365 days. SJ-2026-017 from
    // 2026-09-01: 122 days to 12-31, then 181 days to 06-30 (303 in all).
    // Month prices: q × p × days × 12 ÷ 365; year prices: q × p × days ÷ 365.
    let detail = sheet(&out_path, "SJ-2026-017");
    let expected = [
        // item, quantity, start, end, days, amount
        (
            "主机CPU(核)",
            32.0,
            "2026-09-01",
            "2026-12-31",
            122.0,
            "7701.04",
        ), // 32×60×122×12/365 = 7701.041
        (
            "主机CPU(核)",
            24.0,
            "2027-01-01",
            "2027-06-30",
            181.0,
            "8568.99",
        ), // 24×60×181×12/365 = 8568.986
        (
            "主机内存(GB)",
            96.0,
            "2026-09-01",
            "2026-12-31",
            122.0,
            "7701.04",
        ), // 96×20×122×12/365
        (
            "主机内存(GB)",
            80.0,
            "2027-01-01",
            "2027-06-30",
            181.0,
            "9521.10",
        ), // 80×20×181×12/365 = 9521.096
        (
            "系统盘 SSD(GB)",
            300.0,
            "2026-09-01",
            "2027-06-30",
            303.0,
            "2390.79",
        ), // 300×0.8×303×12/365 = 2390.795 (…0.7945)
        (
            "数据盘 SSD(GB)",
            3000.0,
            "2026-09-01",
            "2027-06-30",
            303.0,
            "23907.95",
        ), // 23907.945…
        (
            "备份方式 快照(TB)",
            2.0,
            "2026-09-01",
            "2027-06-30",
            303.0,
            "2390.79",
        ),
        (
            "负载均衡SLB(个)",
            1.0,
            "2026-09-01",
            "2027-06-30",
            303.0,
            "1992.33",
        ), // 200×303×12/365 = 1992.329
        (
            "互联网带宽(GB)",
            10.0,
            "2026-09-01",
            "2026-12-31",
            122.0,
            "4010.96",
        ), // 1000×122×12/365 = 4010.959
        (
            "互联网带宽(GB)",
            5.0,
            "2027-01-01",
            "2027-06-30",
            181.0,
            "2975.34",
        ), // 500×181×12/365 = 2975.342
        (
            "访问控制服务 云防火墙服务",
            1.0,
            "2026-09-01",
            "2027-06-30",
            303.0,
            "9961.64",
        ), // 12000×303/365 = 9961.644
        (
            "用户管理服务 堡垒机服务",
            1.0,
            "2026-09-01",
            "2026-12-31",
            122.0,
            "3008.22",
        ), // 9000×122/365 = 3008.219
    ];
    for (i, (item, qty, start, end, days, amount)) in expected.iter().enumerate() {
        let row = 5 + i as u32;
        assert_eq!(text(&detail, row, 0), *item, "row {row}");
        assert_eq!(number(&detail, row, 1), *qty, "row {row}");
        assert_eq!(text(&detail, row, 3), *start, "row {row}");
        assert_eq!(text(&detail, row, 4), *end, "row {row}");
        assert_eq!(number(&detail, row, 5), *days, "row {row}");
        assert_eq!(money(&detail, row, 8), *amount, "row {row}");
    }
    // Host disks are billed through the SSD items, never twice.
    assert_eq!(text(&detail, 17, 0), "小计");
    // Sum of the rounded lines.
    assert_eq!(money(&detail, 17, 8), "84130.19");

    // SJ-2026-019, the whole year at the sample prices: CPU 32×60×12 = 23040,
    // memory 96×20×12 = 23040, system SSD 300×0.8×12 = 2880, data SSD 28800,
    // snapshot 2880, SLB 2400, bandwidth 12000, firewall 12000, bastion 9000.
    let other = sheet(&out_path, "SJ-2026-019");
    assert_eq!(text(&other, 5, 3), "2026-07-01");
    assert_eq!(number(&other, 5, 5), 365.0);
    assert_eq!(money(&other, 14, 8), "116040.00");

    let wb: Xlsx<_> = open_workbook(&out_path).unwrap();
    assert!(
        !wb.sheet_names().iter().any(|n| n.contains("SJ-2026-018")),
        "test resources are not metered"
    );

    // Summary: 另一政务云服务商 sorts first; 示例政务云服务商 scored 88.5 → 5%:
    // 84130.19 × 0.05 = 4206.5095 → 4206.51, net 79923.68.
    let summary = sheet(&out_path, "结算汇总");
    assert_eq!(text(&summary, 7, 0), "另一政务云服务商");
    assert_eq!(money(&summary, 7, 2), "116040.00");
    assert_eq!(text(&summary, 7, 3), "未考核");
    assert_eq!(money(&summary, 7, 5), "0.00");
    assert_eq!(money(&summary, 7, 6), "116040.00");
    assert_eq!(text(&summary, 8, 0), "示例政务云服务商");
    assert_eq!(number(&summary, 8, 1), 1.0);
    assert_eq!(money(&summary, 8, 2), "84130.19");
    assert_eq!(number(&summary, 8, 3), 88.5);
    assert_eq!(number(&summary, 8, 4), 0.05);
    assert_eq!(money(&summary, 8, 5), "4206.51");
    assert_eq!(money(&summary, 8, 6), "79923.68");
    assert_eq!(text(&summary, 9, 0), "合计");
    assert_eq!(money(&summary, 9, 2), "200170.19");
    assert_eq!(money(&summary, 9, 5), "4206.51");
    assert_eq!(money(&summary, 9, 6), "195963.68");
    let all: Vec<String> = summary.rows().flatten().map(|c| c.to_string()).collect();
    assert!(
        all.iter().any(|c| c.contains("四舍五入到分")),
        "rounding stated"
    );
    assert!(
        all.iter().any(|c| c.contains("未提供考核结果")),
        "missing assessment stated"
    );
    assert!(out.contains("应付 195963.68 元"), "{out}");
}

#[test]
fn settlement_without_formal_agreements_meters_nothing() {
    let env = Env::new();
    env.approve_example();
    env.run_ok(&[
        "ledger",
        "test-signed",
        "--project",
        "SJ-2026-017",
        "--date",
        "2026-07-01",
        "--months",
        "3",
    ]);
    let out_path = env.path("s.xlsx");
    let out = env.run_ok(&[
        "settle",
        "--year",
        "2027",
        "--on",
        "2027-07-15",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert!(out.contains("合计:结算金额 0.00 元"), "{out}");
    assert!(out.contains("SJ-2026-017 未登记正式协议"), "{out}");
}

#[test]
fn assessment_of_another_year_is_refused_by_name() {
    let env = settled_ledger();
    let file = env.path("a2025.yaml");
    std::fs::write(
        &file,
        "provider: 示例政务云服务商\nyear: 2025\nA3: 0\nC1: 0\nE1: 0\nE4: 0\nJ2: 0\nH1: 95\n",
    )
    .unwrap();
    let out = env.run(&[
        "settle",
        "--year",
        "2027",
        "--on",
        "2027-07-15",
        "--assessments",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("2025"), "{}", stderr(&out));
    // In a folder it is skipped, and the provider is settled without deduction.
    let out = env.run_ok(&[
        "settle",
        "--year",
        "2027",
        "--on",
        "2027-07-15",
        "--assessments",
        env.dir.path().to_str().unwrap(),
    ]);
    assert!(out.contains("“示例政务云服务商”未提供考核结果"), "{out}");
}

#[test]
fn a_missing_price_is_named() {
    let env = Env::new();
    env.approve_example();
    env.formal_signed("2026-07-01");
    let full = std::fs::read_to_string(crate::common::repo().join("schemas/prices.yaml")).unwrap();
    let without: String = full
        .lines()
        .filter(|l| !l.contains("key: bandwidth"))
        .map(|l| format!("{l}\n"))
        .collect();
    let prices = env.path("prices.yaml");
    std::fs::write(&prices, without).unwrap();
    let out = env.run(&[
        "settle",
        "--year",
        "2027",
        "--on",
        "2027-07-15",
        "--prices",
        prices.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("互联网带宽(GB)"), "{}", stderr(&out));
    assert!(stderr(&out).contains("SJ-2026-017"), "{}", stderr(&out));
}

// ------------------------------------------------- money: who pays, estimates

/// A 自费 project of 示例政务云服务商, formal from 2026-05-06: the whole
/// 2027 year, 116040.00 as SJ-2026-019 (same resources, same prices).
fn approve_self_paid(env: &Env) {
    let path = env.path("SJ-2026-020.xlsx");
    annex1()
        .set("B4", "SJ-2026-020")
        .set("G3", "松江区自费示例系统")
        .set("B5", "自费")
        .write(&path);
    env.run_ok(&["approve", path.to_str().unwrap(), "--on", APPROVED_ON]);
    env.run_ok(&[
        "ledger",
        "formal-signed",
        "--project",
        "SJ-2026-020",
        "--date",
        "2026-05-06",
    ]);
}

#[test]
fn self_paid_projects_are_outside_the_district_totals() {
    let env = settled_ledger();
    approve_self_paid(&env);
    let out_path = env.path("结算.xlsx");
    let assessment = sample("assessment-2027.yaml");
    let out = env.run_ok(&[
        "settle",
        "--year",
        "2027",
        "--on",
        "2027-07-15",
        "--assessments",
        assessment.to_str().unwrap(),
        "--out",
        out_path.to_str().unwrap(),
    ]);
    // The district's totals are those without the 自费 project (see
    // settlement_meters_formal_resources_day_by_day): 示例政务云服务商 still
    // one project, 84130.19, 5% off.
    assert!(out.contains("应付 195963.68 元"), "{out}");
    assert!(
        out.contains("由使用单位自行承担(不计入合计):1 个项目,金额 116040.00 元"),
        "{out}"
    );
    assert!(!out.contains("预估"), "{out}");
    let summary = sheet(&out_path, "结算汇总");
    assert_eq!(text(&summary, 8, 0), "示例政务云服务商");
    assert_eq!(number(&summary, 8, 1), 1.0);
    assert_eq!(money(&summary, 8, 2), "84130.19");
    assert_eq!(text(&summary, 9, 0), "合计");
    assert_eq!(number(&summary, 9, 1), 2.0);
    assert_eq!(money(&summary, 9, 2), "200170.19");
    assert_eq!(money(&summary, 9, 6), "195963.68");
    let own = sheet(&out_path, "由使用单位自行承担");
    assert_eq!(text(&own, 4, 0), "SJ-2026-020");
    assert_eq!(text(&own, 4, 4), "自费");
    assert_eq!(money(&own, 4, 5), "116040.00");
    assert_eq!(text(&own, 5, 0), "合计");
    assert_eq!(money(&own, 5, 5), "116040.00");
    // Its detail sheet is still there, saying who pays.
    let detail = sheet(&out_path, "SJ-2026-020");
    assert!(text(&detail, 1, 0).contains("不计入区级结算合计"));
    assert_eq!(money(&detail, 14, 8), "116040.00");
}

#[test]
fn a_year_not_ended_is_an_estimate_everywhere() {
    let env = settled_ledger();
    approve_self_paid(&env);
    // 2027-06-30 is the year's last day: not ended yet.
    let out = env.run_ok(&["settle", "--year", "2027", "--on", "2027-06-30"]);
    assert!(
        out.contains("预估:服务年度 2026-07-01 至 2027-06-30 截至 2027-06-30 尚未结束"),
        "{out}"
    );
    assert!(
        out.contains("松江区电子政务云资源结算项目-2027年度-预估.xlsx"),
        "{out}"
    );
    let path = env.path("松江区电子政务云资源结算项目-2027年度-预估.xlsx");
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    let names = wb.sheet_names();
    assert_eq!(names.len(), 5, "{names:?}");
    for name in names {
        let ws = wb.worksheet_range(&name).unwrap();
        assert!(
            text(&ws, 0, 0).contains("预估"),
            "{name}: {}",
            text(&ws, 0, 0)
        );
    }
    // A name given is marked too; one that says 预估 already is kept.
    let out = env.run_ok(&[
        "settle",
        "--year",
        "2027",
        "--on",
        "2027-01-01",
        "--out",
        "s.xlsx",
    ]);
    assert!(out.contains("s-预估.xlsx"), "{out}");
    assert!(env.path("s-预估.xlsx").is_file());
    env.run_ok(&[
        "settle",
        "--year",
        "2027",
        "--on",
        "2027-01-01",
        "--out",
        "预估2027.xlsx",
    ]);
    assert!(env.path("预估2027.xlsx").is_file());
    // The day after the year's end: final figures, default name unmarked.
    let out = env.run_ok(&["settle", "--year", "2027", "--on", "2027-07-01"]);
    assert!(!out.contains("预估"), "{out}");
    assert!(env
        .path("松江区电子政务云资源结算项目-2027年度.xlsx")
        .is_file());
}

#[test]
fn a_year_must_have_four_digits() {
    let env = settled_ledger();
    for year in ["27", "0027", "20277", "二〇二七"] {
        let out = env.run(&["settle", "--year", year, "--on", "2027-07-15"]);
        assert_eq!(out.status.code(), Some(2), "{year}");
        assert!(
            stderr(&out).contains("服务年度应写四位数字"),
            "{}",
            stderr(&out)
        );
    }
    let out = env.run(&["settle", "--year", "2027年度", "--on", "2027-07-15"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn an_assessment_of_an_unknown_provider_names_the_closest() {
    let env = settled_ledger();
    let file = env.path("typo.yaml");
    std::fs::write(
        &file,
        "provider: 示例政务云服务\nyear: 2027\nA3: 0\nC1: 0\nE1: 0\nE4: 0\nJ2: 0\nH1: 95\n",
    )
    .unwrap();
    let out = env.run(&[
        "settle",
        "--year",
        "2027",
        "--on",
        "2027-07-15",
        "--assessments",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("考核结果中的服务商“示例政务云服务”不在账本中;最接近的是:“示例政务云服务商”、“另一政务云服务商”"),
        "{err}"
    );
    assert!(!env
        .path("松江区电子政务云资源结算项目-2027年度.xlsx")
        .exists());
}
