//! The drop folder: exactly once across kills and concurrent workers,
//! files still being written left alone, nothing ever lost.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// `n` distinct 附件1 submissions, one in five with errors.
fn fill_inbox(inbox: &Path, n: usize) {
    std::fs::create_dir_all(inbox).unwrap();
    let staging = inbox.parent().unwrap().join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    for i in 0..n {
        let mut f = annex1();
        f.set("B3", format!("松江区第{i}号单位").as_str())
            .set("B4", format!("SJ-2026-{i:03}").as_str());
        if i % 5 == 4 {
            f.clear("B9");
        }
        let path = staging.join(format!("申请-{i:03}.xlsx"));
        f.write(&path);
        // Arrive complete and old enough to be taken at once.
        std::fs::rename(&path, inbox.join(format!("申请-{i:03}.xlsx"))).unwrap();
    }
    age_all(inbox);
}

/// Sets every inbox file's mtime well in the past (arrived long ago).
pub fn age_all(dir: &Path) {
    let past = std::time::SystemTime::now() - Duration::from_secs(60);
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_file() {
            let f = std::fs::File::options().write(true).open(e.path()).unwrap();
            f.set_modified(past).unwrap();
        }
    }
}

fn spawn_process(env: &Env, args: &[&str]) -> Child {
    zwyun()
        .args(["process", "inbox", "--out", "out"])
        .args(args)
        .current_dir(env.dir.path())
        .env("ZWYUN_SCHEMAS", repo().join("schemas"))
        .env("ZWYUN_TEMPLATES", repo().join("templates"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        // Symbolic links are listed, not followed.
        if e.file_type().unwrap().is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn journal(env: &Env) -> Vec<serde_json::Value> {
    let out = env.run_ok(&["status", "--limit", "100000", "--format", "json"]);
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Each input accounted for exactly once, finished, with complete outputs;
/// inbox and work folders empty; every original archived once.
fn assert_all_accounted(env: &Env, n: usize) {
    let entries = journal(env);
    assert_eq!(entries.len(), n, "one journal row per distinct input");
    for e in &entries {
        let status = e["status"].as_str().unwrap();
        assert!(["valid", "invalid"].contains(&status), "{e}");
        assert_eq!(e["duplicates"], 0, "{e}");
        let outputs: Vec<&str> = e["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap())
            .collect();
        let expected = 3;
        assert_eq!(outputs.len(), expected, "{e}");
        for o in outputs {
            // The Windows build writes `out\…`.
            let o = &o.replace('\\', "/");
            let path = env.dir.path().join(o);
            let p = if Path::new(o).is_absolute() {
                PathBuf::from(o)
            } else {
                path
            };
            assert!(
                std::fs::metadata(&p).map(|m| m.len() > 0).unwrap_or(false),
                "missing output {o}"
            );
        }
    }
    let names: BTreeSet<String> = entries
        .iter()
        .map(|e| e["file"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names.len(), n);
    let archived = files_under(&env.path("archive"));
    assert_eq!(archived.len(), n, "each original archived once");
    let left: Vec<_> = files_under(&env.path("inbox"))
        .into_iter()
        .filter(|p| !p.ends_with(".lock"))
        .collect();
    assert!(left.is_empty(), "left in inbox/work: {left:?}");
    let temporaries: Vec<_> = files_under(&env.path("out"))
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(temporaries.is_empty(), "{temporaries:?}");
}

#[test]
fn killed_mid_batch_then_restarted_processes_each_exactly_once() {
    let env = Env::new();
    let n = 120;
    fill_inbox(&env.path("inbox"), n);
    let mut child = spawn_process(&env, &[]);
    // Kill -9 once some, but not all, originals are archived.
    let started = Instant::now();
    let archived_at_kill = loop {
        let archived = files_under(&env.path("archive")).len();
        if archived >= 5
            || child.try_wait().unwrap().is_some()
            || started.elapsed() > Duration::from_secs(60)
        {
            break archived;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        archived_at_kill < n,
        "the process finished before it could be killed"
    );
    let out = env.run(&["process", "inbox", "--out", "out"]);
    assert!(
        out.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_all_accounted(&env, n);
}

#[test]
fn two_processes_on_one_inbox_never_share_a_file() {
    let env = Env::new();
    let n = 100;
    fill_inbox(&env.path("inbox"), n);
    let a = spawn_process(&env, &[]);
    let b = spawn_process(&env, &[]);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for o in [&a, &b] {
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert_all_accounted(&env, n);
    let total = |o: &std::process::Output| -> usize {
        let text = String::from_utf8_lossy(&o.stdout).to_string();
        let line = text
            .lines()
            .find(|l| l.starts_with("共处理"))
            .unwrap_or("共处理 0 份")
            .to_string();
        line.trim_start_matches("共处理 ")
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(total(&a) + total(&b), n);
}

#[test]
fn a_file_written_slowly_is_taken_only_when_complete() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("inbox")).unwrap();
    let bytes = std::fs::read(sample("annex1-example.xlsx")).unwrap();
    let target = env.path("inbox/slow.xlsx");
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let mut f = std::fs::File::create(&target).unwrap();
        for chunk in bytes.chunks(bytes.len() / 6 + 1) {
            f.write_all(chunk).unwrap();
            f.flush().unwrap();
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    std::thread::sleep(Duration::from_millis(100));
    let out = env.run(&["process", "inbox", "--out", "out", "--stable", "1"]);
    writer.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let entries = journal(&env);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["status"], "valid");
}

#[test]
fn lock_temp_and_hidden_files_are_left_alone() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("inbox")).unwrap();
    for name in ["~$申请表.xlsx", "下载中.tmp", ".hidden.xlsx"] {
        std::fs::write(env.path("inbox").join(name), "x").unwrap();
    }
    age_all(&env.path("inbox"));
    let out = env.run(&["process", "inbox", "--out", "out"]);
    assert_eq!(out.status.code(), Some(0));
    for name in ["~$申请表.xlsx", "下载中.tmp", ".hidden.xlsx"] {
        assert!(env.path("inbox").join(name).exists(), "{name}");
    }
}

#[test]
fn non_workbook_goes_to_rejected_with_a_note() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("inbox")).unwrap();
    std::fs::write(env.path("inbox/请查收.txt"), "申请表见附件").unwrap();
    age_all(&env.path("inbox"));
    let out = env.run(&["process", "inbox", "--out", "out"]);
    assert_eq!(out.status.code(), Some(1));
    let rejected = files_under(&env.path("rejected"));
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    let original = rejected
        .iter()
        .find(|p| !p.to_string_lossy().ends_with(".说明.txt"))
        .unwrap();
    assert_eq!(std::fs::read_to_string(original).unwrap(), "申请表见附件");
    let note = rejected
        .iter()
        .find(|p| p.to_string_lossy().ends_with(".说明.txt"))
        .unwrap();
    assert!(std::fs::read_to_string(note)
        .unwrap()
        .contains("不是 Excel 工作簿"));
}

#[test]
fn identical_bytes_resubmitted_is_a_duplicate() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("inbox")).unwrap();
    std::fs::copy(sample("annex1-example.xlsx"), env.path("inbox/第一次.xlsx")).unwrap();
    age_all(&env.path("inbox"));
    env.run_ok(&["process", "inbox", "--out", "out"]);
    std::fs::copy(
        sample("annex1-example.xlsx"),
        env.path("inbox/再次提交.xlsx"),
    )
    .unwrap();
    age_all(&env.path("inbox"));
    let out = env.run_ok(&["process", "inbox", "--out", "out"]);
    assert!(out.contains("重复提交 1"), "{out}");
    let entries = journal(&env);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["duplicates"], 1);
    let dups = files_under(&env.path("archive/重复提交"));
    assert_eq!(dups.len(), 2, "original and note kept: {dups:?}");
    // Two copies arriving together: one processed, the other a duplicate.
    let mut f = annex1();
    f.set("B4", "SJ-2026-099");
    f.write(&env.path("inbox/甲.xlsx"));
    std::fs::copy(env.path("inbox/甲.xlsx"), env.path("inbox/乙.xlsx")).unwrap();
    age_all(&env.path("inbox"));
    let out = env.run_ok(&["process", "inbox", "--out", "out"]);
    assert!(
        out.contains("通过 1,") && out.contains("重复提交 1"),
        "{out}"
    );
}

#[test]
fn outputs_per_kind_of_submission() {
    let env = Env::new();
    env.approve_example();
    std::fs::create_dir_all(env.path("inbox")).unwrap();
    for e in std::fs::read_dir(repo().join("samples/inbox"))
        .unwrap()
        .flatten()
    {
        std::fs::copy(e.path(), env.path("inbox").join(e.file_name())).unwrap();
    }
    age_all(&env.path("inbox"));
    let out = env.run(&["process", "inbox", "--out", "out"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("通过 3,未通过 1,无法读取 0,重复提交 0,非工作簿退回 1"),
        "{stdout}"
    );
    let valid = env.path("out/上海市松江区某某局/SJ-2026-017");
    let files: Vec<String> = files_under(&valid)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "受理回执.txt",
        "SJ-2026-017-测试资源服务使用意向协议(草稿).docx",
        "SJ-2026-017-政务云资源开通情况表(草稿).xlsx",
        "变更核对摘要.txt",
        "变更核对.xlsx",
        "SJ-2026-017-政务云资源开通情况表(变更后草稿).xlsx",
    ] {
        assert!(files.iter().any(|f| f == want), "{want} not in {files:?}");
    }
    let invalid = files_under(&env.path("out/上海市松江区某某中心"));
    let reply = invalid
        .iter()
        .find(|p| p.ends_with("回复摘要.txt"))
        .unwrap();
    let text = std::fs::read_to_string(reply).unwrap();
    assert!(
        text.contains("未通过校验") && text.contains("问题清单"),
        "{text}"
    );
    let receipt = std::fs::read_to_string(
        files_under(&valid)
            .into_iter()
            .find(|p| p.ends_with("受理回执.txt"))
            .unwrap(),
    )
    .unwrap();
    assert!(
        receipt.contains("5 个工作日") && receipt.contains("主机CPU（核）：32"),
        "{receipt}"
    );
}

/// `watch` (file events, or `--poll` for network shares) processes files
/// dropped while it runs.
#[test]
fn watch_processes_files_as_they_arrive() {
    for extra in [&[][..], &["--poll", "0.5"][..]] {
        let env = Env::new();
        std::fs::create_dir_all(env.path("inbox")).unwrap();
        let mut child = zwyun()
            .args(["watch", "inbox", "--out", "out", "--stable", "0.5"])
            .args(extra)
            .current_dir(env.dir.path())
            .env("ZWYUN_SCHEMAS", repo().join("schemas"))
            .env("ZWYUN_TEMPLATES", repo().join("templates"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        std::fs::copy(sample("annex1-example.xlsx"), env.path("inbox/新提交.xlsx")).unwrap();
        let archived = archived_within(&env, Duration::from_secs(30));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(archived, 1, "watch {extra:?} did not process the file");
        assert_eq!(journal(&env)[0]["status"], "valid");
    }
}

/// How many originals are archived once one is, or when `limit` is up.
fn archived_within(env: &Env, limit: Duration) -> usize {
    let started = Instant::now();
    loop {
        let n = files_under(&env.path("archive")).len();
        if n > 0 || started.elapsed() > limit {
            return n;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `watch` pass that fails as a whole (here the out folder is a file) is
/// said on stderr and retried; once the cause is gone, waiting files are
/// processed without a restart, and the recovery is said.
#[test]
fn watch_survives_a_failed_pass_and_retries() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("inbox")).unwrap();
    std::fs::write(env.path("out"), "not a folder").unwrap();
    std::fs::copy(sample("annex1-example.xlsx"), env.path("inbox/新提交.xlsx")).unwrap();
    let mut child = zwyun()
        .args([
            "watch", "inbox", "--out", "out", "--stable", "0.2", "--poll", "0.2",
        ])
        .current_dir(env.dir.path())
        .env("ZWYUN_SCHEMAS", repo().join("schemas"))
        .env("ZWYUN_TEMPLATES", repo().join("templates"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let said = std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(30)).ok())
        .find(|line| line.contains("本轮处理失败"))
        .unwrap_or_default();
    assert!(said.contains("重试"), "{said}");
    assert!(
        env.path("inbox/新提交.xlsx").exists(),
        "nothing is taken in a failed pass"
    );
    std::fs::remove_file(env.path("out")).unwrap();
    let recovered = std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(30)).ok())
        .find(|line| line.contains("已恢复正常处理"));
    assert!(recovered.is_some(), "watch says when it recovers");
    let archived = archived_within(&env, Duration::from_secs(30));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        archived, 1,
        "the file waiting in the inbox was not processed"
    );
    assert_eq!(journal(&env)[0]["status"], "valid");
}

/// Several processes creating the same ledger at once: each one opens it
/// (schema, WAL, columns added for older ledgers) without tripping over the
/// others. Before the column check and change were one transaction, about
/// one round in three failed with "duplicate column name".
#[test]
fn processes_creating_one_ledger_at_once_all_open_it() {
    for round in 0..10 {
        let env = Env::new();
        std::fs::create_dir_all(env.path("inbox")).unwrap();
        let children: Vec<_> = (0..6)
            .map(|_| {
                zwyun()
                    .args(["process", "inbox", "--out", "out"])
                    .current_dir(env.dir.path())
                    .env("ZWYUN_SCHEMAS", repo().join("schemas"))
                    .env("ZWYUN_TEMPLATES", repo().join("templates"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}
