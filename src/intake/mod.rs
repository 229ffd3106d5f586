//! The drop folder: every submission that enters is processed exactly
//! once, or kept with a reason. `watch` is a loop around `process_once`.

pub mod demo;
mod folders;
pub mod journal;
mod outputs;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Local;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

pub use folders::Worker;
use folders::{Readiness, Stability, WorkItem};
use journal::Claim;

use crate::ledger::{Ledger, Projects};
use crate::names::safe_component;
use crate::render::Renderer;
use crate::schema::Schemas;
use crate::validate::{self, Context, Outcome, Status};

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("{path}:{err}")]
    Io { path: PathBuf, err: std::io::Error },
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> IntakeError + '_ {
    move |err| IntakeError::Io {
        path: path.to_path_buf(),
        err,
    }
}

/// Where things go, and how long a file must be quiet before it is taken.
pub struct Options {
    pub inbox: PathBuf,
    pub outbox: PathBuf,
    pub archive: PathBuf,
    pub rejected: PathBuf,
    pub quiet: Duration,
    /// In `process`, how long to wait for files still being written.
    pub wait_for_pending: Duration,
    pub months: u32,
    pub progress: bool,
}

impl Options {
    /// Archive and rejected folders default to siblings of the outbox.
    pub fn new(inbox: PathBuf, outbox: PathBuf, archive: Option<PathBuf>) -> Options {
        let parent = outbox.parent().map(Path::to_path_buf).unwrap_or_default();
        Options {
            archive: archive.unwrap_or_else(|| parent.join("archive")),
            rejected: parent.join("rejected"),
            inbox,
            outbox,
            quiet: Duration::from_secs(2),
            wait_for_pending: Duration::from_secs(60),
            months: 3,
            progress: false,
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub valid: usize,
    pub invalid: usize,
    pub unreadable: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub pending: usize,
    pub elapsed: Duration,
}

impl Summary {
    pub fn total(&self) -> usize {
        self.valid + self.invalid + self.unreadable + self.duplicates + self.rejected
    }

    pub fn line(&self) -> String {
        let mut s = format!(
            "共处理 {} 份:通过 {},未通过 {},无法读取 {},重复提交 {},非工作簿退回 {};用时 {:.2} 秒",
            self.total(),
            self.valid,
            self.invalid,
            self.unreadable,
            self.duplicates,
            self.rejected,
            self.elapsed.as_secs_f64()
        );
        if self.pending > 0 {
            s.push_str(&format!(";{} 份仍在写入,留待下次处理", self.pending));
        }
        s
    }

    /// Exit code of `process`: 0 all valid, 1 any rejected.
    pub fn all_valid(&self) -> bool {
        self.invalid + self.unreadable + self.rejected == 0
    }
}

/// Everything a pass needs, loaded once.
pub struct Env<'a> {
    pub schemas: &'a Schemas,
    pub renderer: &'a Renderer,
    pub calendar: &'a crate::settle::calendar::Calendar,
    pub ledger: &'a Path,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Result1 {
    Valid,
    Invalid,
    Unreadable,
    Duplicate,
    Rejected,
}

/// One pass over the inbox: adopt leftovers, take every quiet file,
/// process them in parallel, archive the originals.
pub fn process_once(
    opts: &Options,
    env: &Env,
    worker: &mut Worker,
    stability: &mut Stability,
    wait: bool,
) -> Result<Summary, IntakeError> {
    let started = Instant::now();
    for dir in [&opts.outbox, &opts.archive] {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    // The ledger first: if it cannot be opened, nothing is claimed.
    let ledger = Ledger::open(env.ledger)?;
    let projects = ledger.projects()?;
    let mut items = worker.adopt().map_err(io_err(&worker.dir))?;
    let (ready, pending) = ready_files(opts, stability, wait)?;
    for path in ready {
        if let Some(item) = worker.claim(&path).map_err(io_err(&path))? {
            items.push(item);
        }
    }
    let journal = Mutex::new(ledger);
    let bar = progress_bar(opts.progress, items.len());
    let results: Vec<Result1> = items
        .par_iter()
        .map(|item| {
            let r = handle(item, opts, env, &projects, &journal, &worker.id);
            bar.inc(1);
            r.unwrap_or_else(|e| {
                warn!("{}:{e}", item.name);
                Result1::Unreadable
            })
        })
        .collect();
    bar.finish_and_clear();
    let count = |k: Result1| results.iter().filter(|r| **r == k).count();
    Ok(Summary {
        valid: count(Result1::Valid),
        invalid: count(Result1::Invalid),
        unreadable: count(Result1::Unreadable),
        duplicates: count(Result1::Duplicate),
        rejected: count(Result1::Rejected),
        pending,
        elapsed: started.elapsed(),
    })
}

fn progress_bar(show: bool, len: usize) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    let style = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} 份 {elapsed}")
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}

/// Inbox files that have been quiet long enough; with `wait`, waits (up
/// to a bound) for files still being written.
fn ready_files(
    opts: &Options,
    stability: &mut Stability,
    wait: bool,
) -> Result<(Vec<PathBuf>, usize), IntakeError> {
    let deadline = Instant::now() + opts.wait_for_pending;
    let mut ready = Vec::new();
    loop {
        let mut pending = 0;
        for path in folders::scan(&opts.inbox).map_err(io_err(&opts.inbox))? {
            if ready.contains(&path) {
                continue;
            }
            match stability.check(&path, opts.quiet) {
                Ok(Readiness::Ready) => ready.push(path),
                Ok(Readiness::Pending) => pending += 1,
                Err(_) => {} // vanished: another worker took it
            }
        }
        if pending == 0 || !wait || Instant::now() >= deadline {
            return Ok((ready, pending));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Reads a work file, bounded, and hashes it whole.
fn read_item(path: &Path) -> std::io::Result<(Vec<u8>, String)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if bytes.len() as u64 <= crate::read::MAX_FILE_BYTES {
            bytes.extend_from_slice(&buf[..n]);
        }
    }
    let sha: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((bytes, sha))
}

fn handle(
    item: &WorkItem,
    opts: &Options,
    env: &Env,
    projects: &Projects,
    journal: &Mutex<Ledger>,
    me: &str,
) -> Result<Result1, IntakeError> {
    let (bytes, sha) = read_item(&item.path).map_err(io_err(&item.path))?;
    let short = &sha[..12];
    let date = Local::now().format("%Y%m%d").to_string();
    let ctx = Context {
        schemas: env.schemas,
        projects,
    };
    let outcome = validate::check_bytes(&item.name, &bytes, &ctx);
    let out_dir = output_dir(opts, &outcome, &date, short);
    let claim = {
        let ledger = journal.lock().unwrap_or_else(|p| p.into_inner());
        journal::claim(
            ledger.conn(),
            &sha,
            &item.name,
            me,
            &out_dir.display().to_string(),
            item.adopted,
        )?
    };
    let out_dir = match claim {
        Claim::New(dir) | Claim::Unfinished(dir) => dir,
        Claim::Done { status, out_dir } => {
            return finish_seen(item, opts, journal, &sha, &status, out_dir)
        }
    };
    info!("处理 {}({short})", item.name);
    if is_not_workbook(&outcome) {
        let note = reject(item, opts, &outcome, &date, short)?;
        record(journal, &sha, &outcome, "rejected", &[note])?;
        return Ok(Result1::Rejected);
    }
    let files = outputs::write(
        &outcome,
        &out_dir,
        env,
        opts.months,
        projects,
        &item.name,
        &sha,
    )
    .map_err(|e| IntakeError::Io {
        path: out_dir.clone(),
        err: std::io::Error::other(e),
    })?;
    let status = outcome.status;
    record(journal, &sha, &outcome, status_str(status), &files)?;
    archive(item, opts, &date, short)?;
    Ok(match status {
        Status::Valid => Result1::Valid,
        Status::Invalid => Result1::Invalid,
        Status::Unreadable => Result1::Unreadable,
    })
}

fn status_str(s: Status) -> &'static str {
    match s {
        Status::Valid => "valid",
        Status::Invalid => "invalid",
        Status::Unreadable => "unreadable",
    }
}

fn is_not_workbook(outcome: &Outcome) -> bool {
    outcome.status == Status::Unreadable
        && outcome
            .diags
            .iter()
            .any(|d| d.code == "file.not_workbook" || d.code == "file.empty")
}

/// The content was seen before: after a crash, only the original's move
/// was left; otherwise this is a resubmission of identical bytes.
fn finish_seen(
    item: &WorkItem,
    opts: &Options,
    journal: &Mutex<Ledger>,
    sha: &str,
    status: &str,
    out_dir: Option<PathBuf>,
) -> Result<Result1, IntakeError> {
    let short = &sha[..12];
    let date = Local::now().format("%Y%m%d").to_string();
    if item.adopted && status != "claimed" {
        archive(item, opts, &date, short)?;
        return Ok(match status {
            "valid" => Result1::Valid,
            "invalid" => Result1::Invalid,
            "rejected" => Result1::Rejected,
            _ => Result1::Unreadable,
        });
    }
    {
        let ledger = journal.lock().unwrap_or_else(|p| p.into_inner());
        journal::count_duplicate(ledger.conn(), sha)?;
    }
    let dir = opts.archive.join("重复提交");
    let target = folders::free_name(
        &dir,
        &format!("{date}-{short}-{}", safe_component(&item.name)),
    );
    folders::move_file(&item.path, &target).map_err(io_err(&target))?;
    let earlier = out_dir.map(|d| d.display().to_string()).unwrap_or_default();
    let note = format!(
        "文件“{}”与此前收到的文件内容完全相同(SHA-256 {sha}),未重复处理。\n此前的处理结果:{earlier}\n",
        item.name
    );
    let note_path = target.with_file_name(format!("{}.说明.txt", file_name(&target)));
    crate::names::write_atomic(&note_path, note.as_bytes()).map_err(io_err(&note_path))?;
    info!("重复提交:{}", item.name);
    Ok(Result1::Duplicate)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn record(
    journal: &Mutex<Ledger>,
    sha: &str,
    outcome: &Outcome,
    status: &str,
    files: &[PathBuf],
) -> Result<(), IntakeError> {
    let header = outcome.model.as_ref().map(|m| m.header());
    let project = header.map(|h| h.project_key().label());
    let ledger = journal.lock().unwrap_or_else(|p| p.into_inner());
    journal::finish(
        ledger.conn(),
        sha,
        &journal::Finished {
            form: outcome.form.map(|f| f.as_str()),
            unit: header.map(|h| h.unit.as_str()).filter(|u| !u.is_empty()),
            project: project.as_deref(),
            status,
            outputs: files,
        },
    )?;
    Ok(())
}

/// `OUTBOX/<申请单位>/<项目>/<date>-<hash>/`, names made safe.
fn output_dir(opts: &Options, outcome: &Outcome, date: &str, short: &str) -> PathBuf {
    let (unit, project) = match outcome.model.as_ref().map(|m| m.header()) {
        Some(h) if !h.unit.is_empty() => (
            h.unit.clone(),
            h.project_code
                .clone()
                .unwrap_or_else(|| h.project_name.clone()),
        ),
        _ => (
            "未识别单位".to_string(),
            Path::new(&outcome.file)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    };
    opts.outbox
        .join(safe_component(&unit))
        .join(safe_component(&project))
        .join(format!("{date}-{short}"))
}

fn archive(item: &WorkItem, opts: &Options, date: &str, short: &str) -> Result<(), IntakeError> {
    let dir = opts.archive.join(&date[..6]);
    let target = folders::free_name(
        &dir,
        &format!("{date}-{short}-{}", safe_component(&item.name)),
    );
    folders::move_file(&item.path, &target).map_err(io_err(&target))
}

/// Not a workbook: kept in `rejected/` with a note, never deleted.
fn reject(
    item: &WorkItem,
    opts: &Options,
    outcome: &Outcome,
    date: &str,
    short: &str,
) -> Result<PathBuf, IntakeError> {
    let target = folders::free_name(
        &opts.rejected,
        &format!("{date}-{short}-{}", safe_component(&item.name)),
    );
    folders::move_file(&item.path, &target).map_err(io_err(&target))?;
    let reason = outcome
        .diags
        .first()
        .map(|d| format!("{}\n{}", d.message, d.hint))
        .unwrap_or_default();
    let note = format!(
        "文件“{}”不是 Excel 工作簿,未处理。\n原因:{reason}\n原文件保存在:{}\n",
        item.name,
        target.display()
    );
    let note_path = target.with_file_name(format!("{}.说明.txt", file_name(&target)));
    crate::names::write_atomic(&note_path, note.as_bytes()).map_err(io_err(&note_path))?;
    Ok(note_path)
}

/// `watch`: the same pass, again whenever the inbox changes (or every
/// `poll` for network shares where file events do not arrive).
pub fn watch(
    opts: &Options,
    env: &Env,
    poll: Option<Duration>,
    mut report: impl FnMut(&Summary),
) -> Result<(), IntakeError> {
    let mut worker = Worker::start(&opts.inbox).map_err(io_err(&opts.inbox))?;
    let mut stability = Stability::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let _watcher = match poll {
        Some(_) => None,
        None => Some(start_watcher(&opts.inbox, tx)?),
    };
    let tick = poll.unwrap_or(opts.quiet).max(Duration::from_millis(200));
    loop {
        let summary = process_once(opts, env, &mut worker, &mut stability, false)?;
        if summary.total() > 0 {
            report(&summary);
        }
        // Wake on an event, or after `tick` to re-check files still being written.
        let _ = rx.recv_timeout(if summary.pending > 0 {
            opts.quiet.min(tick)
        } else {
            tick
        });
        while rx.try_recv().is_ok() {}
    }
}

fn start_watcher(
    inbox: &Path,
    tx: std::sync::mpsc::Sender<()>,
) -> Result<notify_debouncer_mini::Debouncer<notify::RecommendedWatcher>, IntakeError> {
    let mut debouncer =
        notify_debouncer_mini::new_debouncer(Duration::from_millis(500), move |_res| {
            let _ = tx.send(());
        })
        .map_err(|e| IntakeError::Io {
            path: inbox.to_path_buf(),
            err: std::io::Error::other(e),
        })?;
    debouncer
        .watcher()
        .watch(inbox, notify::RecursiveMode::NonRecursive)
        .map_err(|e| IntakeError::Io {
            path: inbox.to_path_buf(),
            err: std::io::Error::other(e),
        })?;
    Ok(debouncer)
}
