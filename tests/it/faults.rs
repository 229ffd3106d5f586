//! The drop folder left unattended, under real faults: full disks, files
//! swapped for pipes and links mid-run, lost or damaged ledgers, replaced
//! folders, hostile templates and rule files. After each: nothing lost,
//! nothing twice, nothing from outside the inbox under OUT/ARCH, every
//! refusal stated. Unix only (FIFOs, links, tmpfs mounts); skipped, with
//! the reason printed, against another build (`ZWYUN_TEST_EXE`).

#![cfg(unix)]

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

const SECRET: &str = "SECRET-OUTSIDE-THE-INBOX-7f3a";

fn skip_other_build(test: &str) -> bool {
    if other_build().is_some() {
        eprintln!("{test}: skipped: unix faults (FIFOs, links, tmpfs) against ZWYUN_TEST_EXE");
        return true;
    }
    false
}

fn cmd(env: &Env, args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args(args)
        .current_dir(env.dir.path())
        .env("ZWYUN_SCHEMAS", repo().join("schemas"))
        .env("ZWYUN_TEMPLATES", repo().join("templates"))
        .env_remove("ZWYUN_LEDGER")
        .env_remove("ZWYUN_TEST_PAUSE")
        .env_remove("ZWYUN_TEST_FAIL_ON");
    c
}

fn process(env: &Env) -> Output {
    cmd(env, &["process", "inbox", "--out", "out"])
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A distinct valid 附件1 in the inbox, arrived long ago.
fn drop_valid(env: &Env, name: &str, i: usize) -> PathBuf {
    std::fs::create_dir_all(env.path("inbox")).unwrap();
    let mut f = annex1();
    f.set("B3", format!("松江区第{i}号单位").as_str())
        .set("B4", format!("SJ-2026-{i:03}").as_str());
    let path = env.path("inbox").join(name);
    f.write(&path);
    age(&path);
    path
}

fn age(path: &Path) {
    let past = std::time::SystemTime::now() - Duration::from_secs(60);
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(past).unwrap();
}

use crate::intake::files_under;

fn journal(env: &Env) -> Vec<serde_json::Value> {
    let out = env.run_ok(&["status", "--limit", "1000", "--format", "json"]);
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Nothing from outside the inbox in OUT, ARCH, rejected/ or failed/, and
/// no link there either.
fn assert_no_secret(env: &Env) {
    for dir in ["out", "archive", "rejected", "failed"] {
        for f in files_under(&env.path(dir)) {
            let meta = std::fs::symlink_metadata(&f).unwrap();
            assert!(meta.file_type().is_file(), "not a plain file: {f:?}");
            let bytes = std::fs::read(&f).unwrap();
            let leaked = bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
            assert!(!leaked, "content from outside the inbox in {f:?}");
        }
    }
}

/// Each archived original once, with the hash the journal recorded.
fn assert_archived_once(env: &Env, n: usize) {
    let entries = journal(env);
    assert_eq!(entries.len(), n, "{entries:?}");
    let archived: Vec<PathBuf> = files_under(&env.path("archive"));
    assert_eq!(
        archived.len(),
        n,
        "each original archived once: {archived:?}"
    );
    let mut hashes: Vec<String> = archived
        .iter()
        .map(|p| sha256(&std::fs::read(p).unwrap()))
        .collect();
    let mut recorded: Vec<String> = entries
        .iter()
        .map(|e| e["sha256"].as_str().unwrap().to_string())
        .collect();
    hashes.sort();
    recorded.sort();
    assert_eq!(hashes, recorded, "archived bytes are the recorded ones");
    assert!(files_under(&env.path("failed")).is_empty());
    let work: Vec<PathBuf> = files_under(&env.path("inbox/.zwyun/work"))
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with(".lock"))
        .collect();
    assert!(work.is_empty(), "left in work folders: {work:?}");
}

fn secret_outside(env: &Env) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = env.path("secret.txt");
    std::fs::write(&path, SECRET).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap().success();
    assert!(ok, "mkfifo {path:?}");
}

/// Waits for a child, failing (and killing it) if it does not end: a hang
/// is the bug these tests look for.
fn finish(mut child: Child, what: &str) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().unwrap();
            panic!("{what}: zwyun hung");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// Runs `process` with the pause hook at `stage`; calls `during` once
/// zwyun waits there, then lets it go on.
fn process_pausing(env: &Env, stage: &str, during: impl FnOnce()) -> Output {
    let gate = env.path("gate");
    std::fs::write(&gate, "").unwrap();
    let child = cmd(
        env,
        &["process", "inbox", "--out", "out", "--stable", "0.5"],
    )
    .env("ZWYUN_TEST_PAUSE", format!("{stage}:{}", gate.display()))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let reached = env.path("gate.reached");
    let started = Instant::now();
    while !reached.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "zwyun never reached {stage}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    during();
    std::fs::remove_file(&gate).unwrap();
    finish(child, stage)
}

/// A FIFO, a link to a private file outside the inbox and a hard link to
/// it, each renamed over an inbox file between the scan and the open:
/// zwyun neither hangs nor reads them; they go back to the inbox, are
/// reported with a reason (summary, `status`), and nothing of the outside
/// file reaches OUT or ARCH. The run after finishes too.
#[test]
fn pipes_and_links_swapped_in_mid_run_are_refused_not_read() {
    if skip_other_build("pipes_and_links_swapped_in_mid_run_are_refused_not_read") {
        return;
    }
    let env = Env::new();
    let secret = secret_outside(&env);
    for (i, name) in ["管道.xlsx", "链接.xlsx", "硬链接.xlsx", "正常.xlsx"]
        .iter()
        .enumerate()
    {
        drop_valid(&env, name, i);
    }
    let inbox = env.path("inbox");
    let out = process_pausing(&env, "claim", || {
        let swap = |name: &str, make: &dyn Fn(&Path)| {
            let tmp = env.path("swap.tmp");
            make(&tmp);
            std::fs::rename(&tmp, inbox.join(name)).unwrap();
        };
        swap("管道.xlsx", &|p| mkfifo(p));
        swap("链接.xlsx", &|p| {
            std::os::unix::fs::symlink(&secret, p).unwrap()
        });
        swap("硬链接.xlsx", &|p| {
            std::fs::hard_link(&secret, p).unwrap()
        });
    });
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("通过 1,"), "{said}");
    for name in ["管道.xlsx", "链接.xlsx", "硬链接.xlsx"] {
        let line = said.lines().find(|l| l.contains(name));
        assert!(line.is_some(), "{name} not reported: {said}");
        let kept = std::fs::symlink_metadata(inbox.join(name)).unwrap();
        assert!(
            !kept.file_type().is_file() || name == "硬链接.xlsx",
            "{name}"
        );
    }
    assert!(
        said.contains("不跟随链接") && said.contains("硬链接"),
        "{said}"
    );
    assert_no_secret(&env);
    assert_archived_once(&env, 1);
    // The next run refuses them again, in the inbox, and does not hang.
    let again = finish(
        cmd(&env, &["process", "inbox", "--out", "out"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        "second run",
    );
    let said = text(&again);
    assert!(said.contains("3 项不予处理"), "{said}");
    assert!(said.contains("管道、设备或套接字"), "{said}");
    let status = env.run_ok(&["status"]);
    assert!(
        status.contains("不予处理") && status.contains("管道.xlsx"),
        "{status}"
    );
    assert_no_secret(&env);
    assert_archived_once(&env, 1);
    assert_eq!(std::fs::read_to_string(&secret).unwrap(), SECRET);
}

/// Folders, links, FIFOs and hard links lying in the inbox are reported
/// with their reason on every run; the ledger's own files and the output
/// folders inside the inbox are not.
#[test]
fn entries_that_are_not_plain_files_are_reported() {
    if skip_other_build("entries_that_are_not_plain_files_are_reported") {
        return;
    }
    let env = Env::new();
    let secret = secret_outside(&env);
    let inbox = env.path("inbox");
    std::fs::create_dir_all(inbox.join("子文件夹")).unwrap();
    std::os::unix::fs::symlink(&secret, inbox.join("快捷方式.xlsx")).unwrap();
    std::fs::hard_link(&secret, inbox.join("硬链接.xlsx")).unwrap();
    mkfifo(&inbox.join("管道.xlsx"));
    drop_valid(&env, "正常.xlsx", 1);
    let out = finish(
        cmd(&env, &["process", "inbox", "--out", "inbox/结果"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
        "process",
    );
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("4 项不予处理"), "{said}");
    for (name, why) in [
        ("子文件夹", "文件夹"),
        ("快捷方式.xlsx", "链接"),
        ("硬链接.xlsx", "硬链接"),
        ("管道.xlsx", "管道"),
    ] {
        let line = said.lines().find(|l| l.contains(name)).unwrap_or_default();
        assert!(line.contains(why), "{name}: {said}");
    }
    assert!(
        !said.contains("结果:"),
        "own output folder reported: {said}"
    );
    assert_eq!(journal(&env).len(), 1);
}

/// `cd inbox && zwyun process . --out ../out`: the ledger `zwyun.db` (and
/// its -wal/-shm) lies in the inbox. It is never taken as a submission, a
/// warning says where it is, and the history survives the next run.
#[test]
fn a_ledger_inside_the_inbox_is_never_a_submission() {
    if skip_other_build("a_ledger_inside_the_inbox_is_never_a_submission") {
        return;
    }
    let env = Env::new();
    let run_in_inbox = || {
        Command::new(bin())
            .args(["process", ".", "--out", "../out"])
            .current_dir(env.path("inbox"))
            .env("ZWYUN_SCHEMAS", repo().join("schemas"))
            .env("ZWYUN_TEMPLATES", repo().join("templates"))
            .env_remove("ZWYUN_LEDGER")
            .output()
            .unwrap()
    };
    drop_valid(&env, "第一份.xlsx", 1);
    let first = run_in_inbox();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert!(text(&first).contains("位于收件目录中"), "{}", text(&first));
    // A -wal and -shm beside it, as while another process has it open.
    std::fs::write(env.path("inbox/zwyun.db-journal"), "").unwrap();
    drop_valid(&env, "第二份.xlsx", 2);
    let second = run_in_inbox();
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert!(text(&second).contains("共处理 1 份"), "{}", text(&second));
    assert!(env.path("inbox/zwyun.db").is_file());
    assert!(!env.path("rejected").exists(), "nothing rejected");
    let status = Command::new(bin())
        .args(["status", "--format", "json"])
        .current_dir(env.path("inbox"))
        .output()
        .unwrap();
    let rows = String::from_utf8_lossy(&status.stdout).lines().count();
    assert_eq!(rows, 2, "history kept across runs");
}

/// A tmpfs of `size` mounted at `dir`, unmounted when dropped; None (with
/// the reason printed) where mounting is not possible.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str, test: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Mount(dir.to_path_buf())),
            Ok(o) => {
                eprintln!(
                    "{test}: skipped: cannot mount a tmpfs: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("{test}: skipped: cannot run mount: {e}");
                None
            }
        }
    }

    fn resize(&self, size: &str) {
        self.remount(&format!("size={size}"));
    }

    fn remount(&self, options: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,{options}")])
            .arg(&self.0)
            .status()
            .unwrap()
            .success();
        assert!(ok, "remount {:?}", self.0);
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// The output folder's disk is full: the submission is not condemned to
/// failed/, the run says so in Chinese and exits 2; once space is freed the
/// next run processes it, once.
#[test]
fn a_full_output_disk_keeps_submissions_queued() {
    let test = "a_full_output_disk_keeps_submissions_queued";
    if skip_other_build(test) {
        return;
    }
    let env = Env::new();
    let Some(mount) = Mount::tmpfs(&env.path("out"), "8k", test) else {
        return;
    };
    drop_valid(&env, "申请.xlsx", 1);
    let out = process(&env);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("磁盘已满"), "{said}");
    assert!(said.contains("原因消除后再次运行"), "{said}");
    assert!(!said.contains("已移至 failed"), "{said}");
    assert!(files_under(&env.path("failed")).is_empty());
    assert!(files_under(&env.path("archive")).is_empty());
    let queued: Vec<PathBuf> = files_under(&env.path("inbox/.zwyun/work"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with("申请.xlsx"))
        .collect();
    assert_eq!(queued.len(), 1, "queued in the work folder");
    // A folder that cannot be written (a read-only file system) likewise.
    mount.remount("ro");
    let out = process(&env);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(said.contains("只读"), "{said}");
    assert!(files_under(&env.path("failed")).is_empty());
    mount.remount("rw");
    mount.resize("20m");
    let again = process(&env);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_archived_once(&env, 1);
    assert_eq!(journal(&env)[0]["status"], "valid");
}

/// The archive on another file system (a tmpfs), first too small for the
/// original: no partial file under the real name; after space is freed
/// the move finishes, once, with the recorded hash.
#[test]
fn archive_on_another_file_system_full_then_freed() {
    let test = "archive_on_another_file_system_full_then_freed";
    if skip_other_build(test) {
        return;
    }
    let env = Env::new();
    let Some(mount) = Mount::tmpfs(&env.path("archive"), "4k", test) else {
        return;
    };
    let original = drop_valid(&env, "申请.xlsx", 1);
    let bytes = std::fs::read(&original).unwrap();
    assert!(bytes.len() > 4096, "the sample must not fit in 4 KB");
    let out = process(&env);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("磁盘已满"), "{}", text(&out));
    let partial = files_under(&env.path("archive"));
    assert!(partial.is_empty(), "nothing under a real name: {partial:?}");
    mount.resize("20m");
    let again = process(&env);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_archived_once(&env, 1);
    let archived = files_under(&env.path("archive"));
    assert_eq!(std::fs::read(&archived[0]).unwrap(), bytes);
}

/// Killed after the cross-file-system copy got its name but before the
/// work file was removed: the rerun finishes the move without a second copy.
#[test]
fn killed_after_a_cross_device_copy_rerun_does_not_copy_twice() {
    let test = "killed_after_a_cross_device_copy_rerun_does_not_copy_twice";
    if skip_other_build(test) {
        return;
    }
    let env = Env::new();
    let Some(_mount) = Mount::tmpfs(&env.path("archive"), "20m", test) else {
        return;
    };
    drop_valid(&env, "申请.xlsx", 1);
    let crashed = cmd(&env, &["process", "inbox", "--out", "out"])
        .env("ZWYUN_TEST_FAIL_ON", "abort-archived:申请.xlsx")
        .output()
        .unwrap();
    assert!(!crashed.status.success(), "{}", text(&crashed));
    assert_eq!(files_under(&env.path("archive")).len(), 1);
    let again = process(&env);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_archived_once(&env, 1);
}

/// A file rewritten after zwyun read it (a writer that paused longer than
/// `--stable`) is put back, not claimed half-written; the next run takes
/// the finished file, and the archive holds it under its own hash.
#[test]
fn a_file_that_changes_while_read_is_put_back() {
    if skip_other_build("a_file_that_changes_while_read_is_put_back") {
        return;
    }
    let env = Env::new();
    std::fs::create_dir_all(env.path("inbox")).unwrap();
    let full = std::fs::read(sample("annex1-example.xlsx")).unwrap();
    let path = env.path("inbox/写入中.xlsx");
    let mut writer = std::fs::File::create(&path).unwrap();
    writer.write_all(&full[..full.len() / 2]).unwrap();
    age(&path);
    let out = process_pausing(&env, "read", || {
        writer.write_all(&full[full.len() / 2..]).unwrap();
        writer.sync_all().unwrap();
    });
    let said = text(&out);
    assert!(said.contains("1 份仍在写入"), "{said}");
    assert!(journal(&env).is_empty(), "nothing recorded half-written");
    assert!(path.is_file(), "back in the inbox");
    let again = cmd(
        &env,
        &["process", "inbox", "--out", "out", "--stable", "0.5"],
    )
    .output()
    .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_archived_once(&env, 1);
    assert_eq!(journal(&env)[0]["sha256"], sha256(&full));
}

/// A 10 GB sparse file is refused from its size on the handle, without
/// being read whole; it is kept (archived) and said.
#[test]
fn a_huge_sparse_file_is_refused_by_its_size() {
    if skip_other_build("a_huge_sparse_file_is_refused_by_its_size") {
        return;
    }
    let env = Env::new();
    std::fs::create_dir_all(env.path("inbox")).unwrap();
    let path = env.path("inbox/巨大.xlsx");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(10 * 1024 * 1024 * 1024).unwrap();
    drop(f);
    age(&path);
    let out = process(&env);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let entries = journal(&env);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["status"], "unreadable");
    let report = files_under(&env.path("out"))
        .into_iter()
        .find(|p| p.ends_with("回复摘要.txt"))
        .unwrap();
    let report = std::fs::read_to_string(report).unwrap();
    assert!(report.contains("超过上限"), "{report}");
    assert_eq!(files_under(&env.path("archive")).len(), 1);
}

/// A copy of the shipped templates whose 附件2 has `bomb` in place of the
/// unit's name.
fn templates_with(env: &Env, bomb: &str) -> PathBuf {
    use std::io::Read;
    let dir = env.path("templates");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["formal-agreement.docx", "parties.yaml"] {
        std::fs::copy(repo().join("templates").join(name), dir.join(name)).unwrap();
    }
    let bytes = std::fs::read(repo().join("templates/test-agreement.docx")).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if name == "word/document.xml" {
            let xml = String::from_utf8(data).unwrap();
            assert!(xml.contains("{{ unit.name }}"));
            data = xml.replacen("{{ unit.name }}", bomb, 1).into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&data).unwrap();
    }
    let bytes = out.finish().unwrap().into_inner();
    std::fs::write(dir.join("test-agreement.docx"), bytes).unwrap();
    dir
}

/// A template whose text doubles without end is a configuration error
/// found once, before any submission is taken: named, in Chinese, exit 2,
/// the submissions left in the inbox (never failed/).
#[test]
fn a_template_bomb_is_a_configuration_error_not_the_submissions_fault() {
    if skip_other_build("a_template_bomb_is_a_configuration_error_not_the_submissions_fault") {
        return;
    }
    let env = Env::new();
    let bomb = "{% set_global s = \"xy\" %}{% for i in range(end=64) %}{% set_global s = s ~ s %}{% endfor %}{{ s }}";
    let templates = templates_with(&env, bomb);
    for i in 0..3 {
        drop_valid(&env, &format!("申请{i}.xlsx"), i);
    }
    for _ in 0..4 {
        let out = cmd(&env, &["process", "inbox", "--out", "out"])
            .env("ZWYUN_TEMPLATES", &templates)
            .output()
            .unwrap();
        let said = text(&out);
        assert_eq!(out.status.code(), Some(2), "{said}");
        assert!(
            said.contains("test-agreement.docx") && said.contains("超出了限制"),
            "{said}"
        );
        assert!(!said.contains("memory allocation"), "{said}");
    }
    assert_eq!(files_under(&env.path("inbox")).len(), 3, "all still queued");
    assert!(files_under(&env.path("failed")).is_empty());
    let fixed = cmd(&env, &["process", "inbox", "--out", "out"])
        .output()
        .unwrap();
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed));
    assert_eq!(journal(&env).len(), 3);
}

/// `{% include %}` in a template is refused at load with its place, in a
/// short message (not the raw XML of the part).
#[test]
fn an_include_in_a_template_is_located() {
    if skip_other_build("an_include_in_a_template_is_located") {
        return;
    }
    let env = Env::new();
    let templates = templates_with(&env, "{% include \"header.xml\" %}");
    drop_valid(&env, "申请.xlsx", 1);
    let out = cmd(&env, &["process", "inbox", "--out", "out"])
        .env("ZWYUN_TEMPLATES", &templates)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("include") && !said.contains("位置不明"),
        "{said}"
    );
    assert!(said.contains("段落"), "a place in the document: {said}");
    assert!(said.len() < 2000, "short: {said}");
    assert!(env.path("inbox/申请.xlsx").exists());
}

/// A 200 KB rule file nested hundreds deep is refused at once, naming the
/// line, before the YAML reader is run on it.
#[test]
fn a_deeply_nested_rule_file_is_refused_with_its_line() {
    if skip_other_build("a_deeply_nested_rule_file_is_refused_with_its_line") {
        return;
    }
    let env = Env::new();
    let schemas = env.path("schemas");
    std::fs::create_dir_all(&schemas).unwrap();
    for e in std::fs::read_dir(repo().join("schemas")).unwrap().flatten() {
        std::fs::copy(e.path(), schemas.join(e.file_name())).unwrap();
    }
    let mut deep = String::from("a: ");
    while deep.len() < 200 * 1024 {
        deep.push('[');
    }
    std::fs::write(schemas.join("policy.yaml"), deep).unwrap();
    let out = cmd(&env, &["validate", "x.xlsx"])
        .env("ZWYUN_SCHEMAS", &schemas)
        .output()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("policy.yaml") && said.contains("嵌套层数"),
        "{said}"
    );
}

/// A ledger with a damaged page (`PRAGMA integrity_check` fails) is
/// refused with a clear Chinese error, and not written to.
#[test]
fn a_ledger_with_a_damaged_page_is_refused() {
    if skip_other_build("a_ledger_with_a_damaged_page_is_refused") {
        return;
    }
    let env = Env::new();
    for i in 0..40 {
        drop_valid(&env, &format!("申请{i:02}.xlsx"), i);
    }
    assert_eq!(process(&env).status.code(), Some(0));
    let ledger = env.path("zwyun.db");
    let (root, page): (i64, i64) = {
        let conn = rusqlite::Connection::open(&ledger).unwrap();
        let root = conn
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = 'submissions'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let page = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        (root, page)
    };
    let mut bytes = std::fs::read(&ledger).unwrap();
    // The submissions table's root page: an invalid b-tree page type.
    let start = ((root - 1) * page) as usize;
    bytes[start] = 0xff;
    std::fs::write(&ledger, &bytes).unwrap();
    let conn = rusqlite::Connection::open(&ledger).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_ne!(check, "ok", "the page damage must be visible to SQLite");
    drop(conn);
    let _ = std::fs::remove_file(env.path("zwyun.db-wal"));
    let _ = std::fs::remove_file(env.path("zwyun.db-shm"));
    drop_valid(&env, "新提交.xlsx", 99);
    let out = process(&env);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("账本文件已损坏") && said.contains("备份"),
        "{said}"
    );
    assert_eq!(std::fs::read(&ledger).unwrap(), bytes, "not written to");
    assert!(env.path("inbox/新提交.xlsx").exists(), "nothing taken");
    let status = env.run(&["status"]);
    assert_eq!(status.status.code(), Some(2));
}

/// Spawns `watch` on the test folder, polling, with stderr readable line by line.
fn spawn_watch(env: &Env) -> (Child, std::sync::mpsc::Receiver<String>) {
    spawn_watch_with(env, &["--poll", "0.2"])
}

fn spawn_watch_with(env: &Env, extra: &[&str]) -> (Child, std::sync::mpsc::Receiver<String>) {
    let mut child = cmd(env, &["watch", "inbox", "--out", "out", "--stable", "0.2"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    (child, rx)
}

fn archived_count_reaches(env: &Env, n: usize) -> usize {
    let started = Instant::now();
    loop {
        let count = files_under(&env.path("archive")).len();
        if count >= n || started.elapsed() > Duration::from_secs(60) {
            return count;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn said_within(rx: &std::sync::mpsc::Receiver<String>, needle: &str) -> String {
    std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(60)).ok())
        .find(|line| line.contains(needle))
        .unwrap_or_default()
}

/// The ledger deleted (or replaced) while `watch` runs: the service stops
/// with an error instead of starting a new empty ledger (which would
/// archive resubmitted files twice). A new ledger is made only at start.
#[test]
fn watch_stops_when_its_ledger_is_deleted_or_replaced() {
    if skip_other_build("watch_stops_when_its_ledger_is_deleted_or_replaced") {
        return;
    }
    let env = Env::new();
    drop_valid(&env, "第一份.xlsx", 1);
    let (child, rx) = spawn_watch(&env);
    assert_eq!(archived_count_reaches(&env, 1), 1);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(env.path(&format!("zwyun.db{suffix}")));
    }
    let said = said_within(&rx, "账本文件");
    let out = finish(child, "watch after the ledger was deleted");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        said.contains("已不存在") && said.contains("已停止"),
        "{said}"
    );
    assert!(!env.path("zwyun.db").exists(), "no new empty ledger");
    // Started again, it makes a new ledger and says so; replaced under it,
    // it stops again.
    let (child, rx) = spawn_watch(&env);
    assert!(said_within(&rx, "已新建账本").contains("zwyun.db"));
    // Once it has processed a file, it is watching that ledger.
    drop_valid(&env, "第二份.xlsx", 2);
    assert_eq!(archived_count_reaches(&env, 2), 2);
    std::fs::copy(env.path("zwyun.db"), env.path("copy.db")).unwrap();
    std::fs::rename(env.path("copy.db"), env.path("zwyun.db")).unwrap();
    let said = said_within(&rx, "账本文件");
    let out = finish(child, "watch after the ledger was replaced");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        said.contains("已被替换") && said.contains("已停止"),
        "{said}"
    );
}

/// The inbox folder replaced while `watch` runs (`mv inbox inbox.old;
/// mkdir inbox`), and the output folder likewise: said, and files dropped
/// into the new inbox are processed without a restart.
#[test]
fn watch_follows_a_replaced_inbox_and_output_folder() {
    if skip_other_build("watch_follows_a_replaced_inbox_and_output_folder") {
        return;
    }
    // Polling (network shares), and file events (a new watcher on the new folder).
    for extra in [&["--poll", "0.2"][..], &[][..]] {
        let env = Env::new();
        drop_valid(&env, "第一份.xlsx", 1);
        let (mut child, rx) = spawn_watch_with(&env, extra);
        assert_eq!(archived_count_reaches(&env, 1), 1);
        std::fs::rename(env.path("inbox"), env.path("inbox.old")).unwrap();
        std::fs::rename(env.path("out"), env.path("out.old")).unwrap();
        std::fs::create_dir(env.path("inbox")).unwrap();
        drop_valid(&env, "第二份.xlsx", 2);
        let said = std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(60)).ok())
            .find(|line| line.contains("收件目录") && line.contains("已被替换"))
            .unwrap_or_default();
        let archived = archived_count_reaches(&env, 2);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(said.contains("已被替换"), "{said}");
        assert_eq!(
            archived, 2,
            "{extra:?}: the file in the new inbox was not processed"
        );
        assert_eq!(journal(&env).len(), 2);
        assert!(
            files_under(&env.path("out"))
                .iter()
                .any(|p| p.ends_with("受理回执.txt")),
            "results written into the new output folder"
        );
    }
}

/// A file zwyun may not read is refused in place with its reason, not
/// moved into the hidden work folder. (Run as an unprivileged user: root
/// reads everything.)
#[test]
fn an_unreadable_file_is_reported_and_left_in_place() {
    use std::os::unix::fs::PermissionsExt;
    let test = "an_unreadable_file_is_reported_and_left_in_place";
    if skip_other_build(test) {
        return;
    }
    let env = Env::new();
    drop_valid(&env, "正常.xlsx", 1);
    let locked = drop_valid(&env, "无权限.xlsx", 2);
    let open = std::fs::Permissions::from_mode(0o777);
    std::fs::set_permissions(env.dir.path(), open.clone()).unwrap();
    std::fs::set_permissions(env.path("inbox"), open).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", bin()])
        .args(["process", "inbox", "--out", "out"])
        .current_dir(env.dir.path())
        .env("ZWYUN_SCHEMAS", repo().join("schemas"))
        .env("ZWYUN_TEMPLATES", repo().join("templates"))
        .env_remove("ZWYUN_LEDGER")
        .output();
    let out = match out {
        Ok(o) if !String::from_utf8_lossy(&o.stderr).contains("setpriv:") => o,
        Ok(o) => {
            eprintln!(
                "{test}: skipped: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return;
        }
        Err(e) => {
            eprintln!("{test}: skipped: cannot run setpriv: {e}");
            return;
        }
    };
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    let line = said
        .lines()
        .find(|l| l.contains("无权限.xlsx"))
        .unwrap_or_default();
    assert!(
        line.contains("无法读取") && line.contains("没有访问权限"),
        "{said}"
    );
    assert!(locked.exists(), "left in place");
    assert!(said.contains("通过 1,"), "{said}");
}
