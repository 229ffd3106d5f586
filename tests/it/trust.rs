//! Issue 9 (part B): nothing a unit types panics or lands on another
//! unit's project, messages say what is so, and the drop folder survives an
//! internal failure. Each test is named for the example it pins down.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn check(env: &Env, name: &str, form: &Form) -> serde_json::Value {
    let path = env.path(name);
    form.write(&path);
    env.validate_json(&path)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn no_panic(out: &Output) {
    let err = stderr(out);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn names(files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Writes forms into `inbox` under their names, aged so they are taken at once.
fn drop_forms(env: &Env, forms: &[(&str, Form)]) {
    let inbox = env.path("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let past = std::time::SystemTime::now() - Duration::from_secs(60);
    for (name, form) in forms {
        let path = inbox.join(name);
        form.write(&path);
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(past).unwrap();
    }
}

fn unit_form(i: usize) -> Form {
    let mut f = annex1();
    f.set("B3", format!("松江区第{i}号单位").as_str())
        .set("B4", format!("SJ-2026-{i:03}").as_str());
    f
}

/// `process` with the test hook `ZWYUN_TEST_FAIL_ON` set to `fail_on`.
fn process_failing_on(env: &Env, fail_on: &str) -> Output {
    Command::new(bin())
        .args(["process", "inbox", "--out", "out"])
        .current_dir(env.dir.path())
        .env("ZWYUN_SCHEMAS", repo().join("schemas"))
        .env("ZWYUN_TEMPLATES", repo().join("templates"))
        .env("ZWYUN_TEST_FAIL_ON", fail_on)
        .env_remove("ZWYUN_LEDGER")
        .output()
        .unwrap()
}

fn journal(env: &Env) -> Vec<serde_json::Value> {
    let out = env.run_ok(&["status", "--limit", "1000", "--format", "json"]);
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// After a pass in which `bad` failed internally: set aside with a note,
/// the others done, nothing left in the work folders, `status` lists it.
fn assert_set_aside(env: &Env, bad: &str, stage: &str) {
    let failed = files_under(&env.path("failed"));
    assert_eq!(failed.len(), 2, "original and note: {failed:?}");
    let original = failed
        .iter()
        .find(|p| !p.to_string_lossy().ends_with(".说明.txt"));
    assert!(
        original.unwrap().to_string_lossy().ends_with(bad),
        "{failed:?}"
    );
    let note = failed
        .iter()
        .find(|p| p.to_string_lossy().ends_with(".说明.txt"));
    let note = std::fs::read_to_string(note.unwrap()).unwrap();
    assert!(note.contains(bad) && note.contains(stage), "{note}");
    assert!(note.contains("ZWYUN_TEST_FAIL_ON"), "what failed: {note}");
    assert!(note.contains("不会再被自动处理"), "{note}");
    let work = files_under(&env.path("inbox/.zwyun/work"));
    assert!(
        work.iter().all(|p| p.ends_with(".lock")),
        "work folders empty: {work:?}"
    );
    let entries = journal(env);
    let failed: Vec<_> = entries.iter().filter(|e| e["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{entries:#?}");
    assert_eq!(failed[0]["file"], bad);
    assert_eq!(
        entries.iter().filter(|e| e["status"] == "valid").count(),
        2,
        "{entries:#?}"
    );
    let text = env.run_ok(&["status"]);
    assert!(text.contains("内部错误"), "{text}");
}

#[test]
fn internal_failure_while_reading_is_set_aside_and_the_batch_completes() {
    let env = Env::new();
    let forms: Vec<(String, Form)> = (0..3)
        .map(|i| (format!("申请-{i}.xlsx"), unit_form(i)))
        .collect();
    let forms: Vec<(&str, Form)> = forms.iter().map(|(n, f)| (n.as_str(), f.clone())).collect();
    drop_forms(&env, &forms);
    let out = process_failing_on(&env, "申请-1.xlsx");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 份处理时发生内部错误"), "{stdout}");
    assert_set_aside(&env, "申请-1.xlsx", "读取与校验时出错");
    let drafts = names(&files_under(&env.path("out")));
    assert_eq!(
        drafts.iter().filter(|n| n.ends_with(".docx")).count(),
        2,
        "the rest of the batch completed: {drafts:?}"
    );
    // Not retried: the next pass (without the hook) has nothing to do.
    let again = env.run_ok(&["process", "inbox", "--out", "out"]);
    assert!(again.contains("共处理 0 份"), "{again}");
    assert_eq!(journal(&env).len(), 3);
}

#[test]
fn internal_failure_while_writing_outputs_is_set_aside() {
    let env = Env::new();
    drop_forms(
        &env,
        &[
            ("a.xlsx", unit_form(1)),
            ("b.xlsx", unit_form(2)),
            ("c.xlsx", unit_form(3)),
        ],
    );
    let out = process_failing_on(&env, "write:b.xlsx");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_set_aside(&env, "b.xlsx", "生成处理结果时出错");
}

#[test]
fn a_set_aside_file_dropped_in_again_is_processed() {
    let env = Env::new();
    drop_forms(&env, &[("a.xlsx", unit_form(1))]);
    process_failing_on(&env, "a.xlsx");
    let original = files_under(&env.path("failed"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "xlsx"))
        .unwrap();
    std::fs::rename(&original, env.path("inbox/a.xlsx")).unwrap();
    let out = env.run_ok(&["process", "inbox", "--out", "out", "--stable", "0"]);
    assert!(out.contains("通过 1"), "{out}");
    assert_eq!(journal(&env)[0]["status"], "valid");
}

#[test]
fn watch_does_not_loop_on_a_file_that_fails_internally() {
    let env = Env::new();
    drop_forms(
        &env,
        &[("bad.xlsx", unit_form(1)), ("good.xlsx", unit_form(2))],
    );
    let mut child = Command::new(bin())
        .args([
            "watch", "inbox", "--out", "out", "--poll", "0.2", "--stable", "0",
        ])
        .current_dir(env.dir.path())
        .env("ZWYUN_SCHEMAS", repo().join("schemas"))
        .env("ZWYUN_TEMPLATES", repo().join("templates"))
        .env("ZWYUN_TEST_FAIL_ON", "bad.xlsx")
        .env_remove("ZWYUN_LEDGER")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while files_under(&env.path("failed")).len() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Several more polls: a looping watch would take the file up again.
    std::thread::sleep(Duration::from_secs(2));
    let alive = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(alive, "watch kept running: {}", stderr(&out));
    let stderr = stderr(&out);
    assert_eq!(
        stderr.matches("panicked").count(),
        1,
        "failed once, not again: {stderr}"
    );
    assert_set_aside_once(&env);
}

fn assert_set_aside_once(env: &Env) {
    assert_eq!(files_under(&env.path("failed")).len(), 2);
    let entries = journal(env);
    assert_eq!(entries.len(), 2, "{entries:#?}");
    assert!(entries.iter().any(|e| e["status"] == "failed"));
    assert!(entries.iter().any(|e| e["status"] == "valid"));
}

// ------------------------------------------------------ checked arithmetic

#[test]
fn quantity_1e28_in_annex4_is_an_error_not_a_panic() {
    let env = Env::new();
    env.approve_example();
    let mut f = annex4();
    f.set("E19", 1e28);
    let path = env.path("huge.xlsx");
    f.write(&path);
    let out = env.run(&["validate", "--format", "json", path.to_str().unwrap()]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    let at_e19 = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["cell"] == "E19" && e["severity"] == "error");
    assert!(at_e19, "{v:#}");
    // The same file in the drop folder: processed, reported, nothing stuck.
    drop_forms(&env, &[("huge.xlsx", f)]);
    let out = env.run(&["process", "inbox", "--out", "out"]);
    no_panic(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("未通过 1"));
    assert!(files_under(&env.path("inbox/.zwyun/work"))
        .iter()
        .all(|p| p.ends_with(".lock")));
}

#[test]
fn quantity_7_9e28_in_annex1_then_settle_reports_instead_of_panicking() {
    let env = Env::new();
    let path = env.path("huge.xlsx");
    annex1().set("E22", 7.9e28).write(&path);
    let approve = env.run(&["approve", path.to_str().unwrap()]);
    no_panic(&approve);
    if !approve.status.success() {
        // A schema maximum refused it at the cell: nothing reaches settle.
        let v = env.validate_json(&path);
        assert!(
            v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["cell"] == "E22"),
            "{v:#}"
        );
        return;
    }
    env.formal_signed("2026-07-01");
    // The 2027 service year runs 2026-07-01 to 2027-06-30.
    let out = env.run(&["settle", "--year", "2027"]);
    no_panic(&out);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("SJ-2026-017") && err.contains("过大"), "{err}");
}

// ------------------------------------------------------- project identity

#[test]
fn annex4_with_another_units_code_is_an_error_naming_both_units() {
    let env = Env::new();
    env.approve_example();
    let mut f = annex4();
    f.set("B3", "上海市松江区另一局");
    let v = check(&env, "other.xlsx", &f);
    let e = error(&v, "project.unit_mismatch");
    assert_eq!(e["cell"], "B4");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("上海市松江区某某局") && msg.contains("上海市松江区另一局"),
        "{msg}"
    );
    let out = env.run(&["approve", env.path("other.xlsx").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "approve refuses it");
    // The example project is untouched: its own change still checks as before.
    let v = env.validate_json(&sample("annex4-example.xlsx"));
    assert_eq!(v["status"], "valid", "{v:#}");
}

#[test]
fn annex1_with_another_units_code_is_refused_even_with_replace() {
    let env = Env::new();
    env.approve_example();
    let path = env.path("taken.xlsx");
    annex1().set("B3", "上海市松江区另一局").write(&path);
    let out = env.run(&["approve", "--replace", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("上海市松江区某某局"),
        "{}",
        stderr(&out)
    );
    let v = env.validate_json(&sample("annex4-example.xlsx"));
    assert_eq!(
        v["status"], "valid",
        "the quota is still the example's: {v:#}"
    );
}

#[test]
fn unit_typed_with_full_width_brackets_nbsp_and_spaces_is_the_same_unit() {
    let env = Env::new();
    let path = env.path("a1.xlsx");
    annex1().set("B3", "上海市松江区某某中心(筹)").write(&path);
    env.run_ok(&["approve", path.to_str().unwrap()]);
    let mut f = annex4();
    f.set("B3", " 上海市松江区\u{a0}某某中心（筹）　");
    let v = check(&env, "a4.xlsx", &f);
    assert_eq!(v["status"], "valid", "{v:#}");
    // Without a code the unit and the project name are compared the same way.
    f.clear("B4").set("G3", "松江区企业服务综合平台 ");
    let v = check(&env, "a4-nocode.xlsx", &f);
    assert_eq!(v["status"], "valid", "{v:#}");
}

#[test]
fn near_miss_unit_with_the_right_code_gets_the_ledgers_spelling() {
    let env = Env::new();
    env.approve_example();
    let mut f = annex4();
    f.set("B3", "上海市松江区某某居");
    let v = check(&env, "typo.xlsx", &f);
    let e = error(&v, "project.unit_mismatch");
    assert!(
        e["hint"].as_str().unwrap().contains("“上海市松江区某某局”"),
        "{e}"
    );
}

#[test]
fn project_unknown_without_code_points_at_the_project_name_and_suggests_the_ledgers() {
    let env = Env::new();
    env.approve_example();
    let mut f = annex4();
    f.clear("B4").set("G3", "松江区企业服务综合平台系统");
    let v = check(&env, "nocode.xlsx", &f);
    let e = error(&v, "policy.project_unknown");
    assert_eq!(e["cell"], "G3", "{e}");
    let hint = e["hint"].as_str().unwrap();
    assert!(
        hint.contains("松江区企业服务综合平台") && hint.contains("SJ-2026-017"),
        "{hint}"
    );
}

// --------------------------------------------------------------- messages

#[test]
fn new_service_without_quota_is_worded_as_such() {
    let env = Env::new();
    env.approve_example();
    let mut f = annex4();
    f.set("A20", "互联网EIP(个)")
        .set("D20", 0.0)
        .set("E20", 2.0);
    let v = check(&env, "new.xlsx", &f);
    let e = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == "policy.quota" && e["cell"] == "E20")
        .unwrap_or_else(|| panic!("{v:#}"));
    let msg = e["message"].as_str().unwrap();
    assert!(msg.contains("批准配额中没有该项"), "{msg}");
    assert!(!msg.contains("无配额") && !msg.contains("配额 0"), "{msg}");
}

#[test]
fn duplicate_service_rows_in_annex4_are_reported_at_both_cells() {
    let env = Env::new();
    env.approve_example();
    let mut f = annex4();
    f.set("A20", "互联网带宽(GB)")
        .set("D20", 10.0)
        .set("E20", 11.0);
    let v = check(&env, "dup.xlsx", &f);
    let cells = cells_of(&v, "service.duplicate");
    assert_eq!(cells, ["A19", "A20"], "{v:#}");
}

// ------------------------------------------------------------ output names

const LONG_UNIT: &str = "上海市松江区人力资源和社会保障局";
const LONG_PROJECT: &str =
    "上海市松江区人力资源和社会保障局就业创业一网通办服务平台（二期）建设项目";

#[test]
fn long_unit_and_project_without_code_keep_every_output_and_extension() {
    let env = Env::new();
    let mut f = annex1();
    f.set("B3", LONG_UNIT).set("G3", LONG_PROJECT).clear("B4");
    drop_forms(&env, &[("申请.xlsx", f)]);
    let out = env.run_ok(&["process", "inbox", "--out", "out"]);
    assert!(out.contains("通过 1"), "{out}");
    let files = files_under(&env.path("out"));
    let names = names(&files);
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(names.iter().any(|n| n == "受理回执.txt"), "{names:?}");
    for ext in [".docx", ".xlsx"] {
        let n = names.iter().find(|n| n.ends_with(ext));
        assert!(n.is_some(), "a {ext} draft: {names:?}");
    }
    for (n, p) in names.iter().zip(&files) {
        assert!(n.chars().count() <= 60 && n.len() <= 180, "{n}");
        assert!(p.to_string_lossy().len() < 400, "{}", p.display());
    }
}

#[test]
fn long_file_names_of_rejected_forms_keep_their_extension_and_the_reply_names_the_list() {
    let env = Env::new();
    let mut f = annex1();
    f.clear("B9");
    let long = format!("{LONG_PROJECT}{LONG_PROJECT}-\u{202e}xslx.exe-申请表.xlsx");
    drop_forms(&env, &[(long.as_str(), f)]);
    let out = env.run(&["process", "inbox", "--out", "out"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let files = files_under(&env.path("out"));
    let names = names(&files);
    let list = names
        .iter()
        .find(|n| n.ends_with(".xlsx"))
        .unwrap_or_else(|| panic!("{names:?}"));
    assert!(names.iter().any(|n| n.ends_with(".json")), "{names:?}");
    for n in &names {
        assert!(n.chars().count() <= 60, "{n}");
        assert!(!n.contains('\u{202e}'), "bidi control neutralised: {n}");
    }
    let reply = files.iter().find(|p| p.ends_with("回复摘要.txt")).unwrap();
    let reply = std::fs::read_to_string(reply).unwrap();
    assert!(reply.contains(&format!("《{list}》")), "{reply}");
    let archived = names_of_archive(&env);
    assert!(
        archived
            .iter()
            .all(|n| n.ends_with(".xlsx") && n.chars().count() <= 60),
        "{archived:?}"
    );
}

fn names_of_archive(env: &Env) -> Vec<String> {
    names(&files_under(&env.path("archive")))
}

#[test]
fn a_file_that_kills_zwyun_outright_is_set_aside_after_three_starts() {
    let env = Env::new();
    drop_forms(
        &env,
        &[
            ("a.xlsx", unit_form(1)),
            ("killer.xlsx", unit_form(2)),
            ("z.xlsx", unit_form(3)),
        ],
    );
    let mut aborted = 0;
    for _ in 0..6 {
        let out = process_failing_on(&env, "abort:killer.xlsx");
        if out.status.success() || out.status.code() == Some(1) {
            break;
        }
        aborted += 1;
    }
    // Three starts, each killed; the fourth pass sets it aside unread.
    assert_eq!(aborted, 3);
    let failed = files_under(&env.path("failed"));
    assert_eq!(failed.len(), 2, "{failed:?}");
    let note = failed
        .iter()
        .find(|p| p.to_string_lossy().ends_with(".说明.txt"));
    let note = std::fs::read_to_string(note.unwrap()).unwrap();
    assert!(
        note.contains("killer.xlsx") && note.contains("3 次"),
        "{note}"
    );
    let entries = journal(&env);
    assert_eq!(entries.len(), 3, "{entries:#?}");
    assert_eq!(
        entries.iter().filter(|e| e["status"] == "valid").count(),
        2,
        "the innocent files of its batch are processed: {entries:#?}"
    );
    let work = files_under(&env.path("inbox/.zwyun/work"));
    assert!(work.iter().all(|p| p.ends_with(".lock")), "{work:?}");
}
