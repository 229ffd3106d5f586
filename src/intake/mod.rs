//! The drop folder: every submission that enters is processed exactly
//! once, or kept with a reason. `watch` is a loop around `process_once`.

pub mod archive;
pub mod demo;
mod entry;
mod folders;
pub mod journal;
mod outputs;
mod starts;
pub mod survey;
mod watched;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Local;
use rayon::prelude::*;
use tracing::{info, warn};

use entry::{Content, Ident, Open, Opened};
use folders::{Readiness, WorkItem};
pub use folders::{Stability, Worker};
use journal::Claim;
pub use survey::Refused;

use crate::ledger::{Ledger, Projects};
use crate::names::safe_component;
use crate::render::Renderer;
use crate::schema::Schemas;
use crate::validate::{self, Context, Outcome, Status};

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("{}", crate::oserror::at(.path, .err))]
    Io { path: PathBuf, err: std::io::Error },
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    /// `watch` cannot go on safely (the ledger vanished or was replaced).
    #[error("{0}")]
    Stop(String),
    /// An output could not be made from this submission (not an I/O fault).
    #[error("{0}")]
    Output(String),
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
    /// Submissions zwyun failed on internally, each with a note; never retried
    /// by itself.
    pub failed: PathBuf,
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
            failed: parent.join("failed"),
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
    /// Set aside after an internal failure.
    pub failed: usize,
    pub pending: usize,
    /// Inbox entries not taken, each with its reason.
    pub refused: Vec<Refused>,
    pub elapsed: Duration,
}

impl Summary {
    pub fn total(&self) -> usize {
        self.valid + self.invalid + self.unreadable + self.duplicates + self.rejected + self.failed
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
        if self.failed > 0 {
            s.push_str(&format!(
                ";{} 份处理时发生内部错误,已移至 failed 文件夹(附说明),不再自动重试",
                self.failed
            ));
        }
        if self.pending > 0 {
            s.push_str(&format!(";{} 份仍在写入,留待下次处理", self.pending));
        }
        if !self.refused.is_empty() {
            s.push_str(&format!(
                "\n收件目录中有 {} 项不予处理(留在原处):",
                self.refused.len()
            ));
            for r in &self.refused {
                s.push_str(&format!("\n  {}:{}", r.name, r.reason));
            }
        }
        s
    }

    /// Exit code of `process`: 0 all valid, 1 any rejected (or any inbox
    /// entry refused: it needs the clerk's attention).
    pub fn all_valid(&self) -> bool {
        self.invalid + self.unreadable + self.rejected + self.failed == 0 && self.refused.is_empty()
    }
}

/// Everything a pass needs, loaded once.
pub struct Env<'a> {
    pub schemas: &'a Schemas,
    pub renderer: &'a Renderer,
    pub calendar: &'a crate::settle::calendar::Calendar,
    pub ledger: &'a Path,
    /// The projects, kept between passes while the ledger is unchanged.
    pub projects: &'a crate::ledger::Kept<crate::ledger::Projects>,
}

/// What became of one submission in a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Valid,
    Invalid,
    Unreadable,
    Duplicate,
    Rejected,
    /// zwyun failed internally on it: set aside with a note.
    Failed,
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
    let own = survey::Own::new(opts, env.ledger);
    let mut items = worker.adopt().map_err(io_err(&worker.dir))?;
    let (ready, pending, mut refused) = ready_files(opts, &own, stability, wait)?;
    test_hook_pause("claim");
    for (path, seen) in ready {
        if let Some(item) = worker.claim(&path, seen).map_err(io_err(&path))? {
            items.push(item);
        }
    }
    // The projects only when there is something to judge: an idle watch
    // wakes every few seconds.
    let projects = if items.is_empty() {
        Default::default()
    } else {
        env.projects.get(&ledger, Ledger::projects)?
    };
    let bar = progress_bar(opts.progress, items.len());
    let batch = Batch {
        opts,
        env,
        projects: &projects,
        me: &worker.id,
        date: Local::now().format("%Y%m%d").to_string(),
        inbox_dev: Ident::at(&opts.inbox).ok().map(|i| i.device()),
        refused: Mutex::new(Vec::new()),
        changed: AtomicUsize::new(0),
    };
    let mut results = Vec::with_capacity(items.len());
    // Files whose processing was started before and never finished (zwyun
    // was killed, perhaps by one of them) go one at a time, so that only
    // the file that kills zwyun runs out of starts.
    let (suspects, fresh) = batch.partition(items, &ledger)?;
    for item in suspects {
        results.extend(batch.run(std::slice::from_ref(&item), &ledger, true)?);
        bar.inc(1);
    }
    for chunk in fresh.chunks(BATCH) {
        results.extend(batch.run(chunk, &ledger, false)?);
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    refused.extend(batch.refused.into_inner().unwrap_or_default());
    refused.sort();
    refused.dedup_by(|a, b| a.name == b.name);
    survey::record::replace(ledger.conn(), &refused)?;
    let count = |k: Verdict| results.iter().filter(|r| **r == k).count();
    Ok(Summary {
        valid: count(Verdict::Valid),
        invalid: count(Verdict::Invalid),
        unreadable: count(Verdict::Unreadable),
        duplicates: count(Verdict::Duplicate),
        rejected: count(Verdict::Rejected),
        failed: count(Verdict::Failed),
        pending: pending + batch.changed.into_inner(),
        refused,
        elapsed: started.elapsed(),
    })
}

/// A claimed file that cannot be read now stays in the work folder: said,
/// and taken up by the next pass.
fn left_for_later<T>(item: &WorkItem, e: &std::io::Error) -> Option<T> {
    warn!(
        "{}:无法读取,留待下次处理:{}",
        item.name,
        crate::oserror::reason(e)
    );
    None
}

/// A work file opened once and read from that handle.
struct Loaded {
    item: WorkItem,
    opened: Opened,
    content: Content,
}

/// Submissions per journal transaction (32 kept the 200-file benchmark
/// under 30 MB; 64 used 35 MB for no measurable gain).
const BATCH: usize = 32;

/// One pass's fixed inputs.
struct Batch<'a> {
    opts: &'a Options,
    env: &'a Env<'a>,
    projects: &'a Projects,
    me: &'a str,
    date: String,
    /// The inbox's file system: a file on another one is not taken.
    inbox_dev: Option<u64>,
    /// Entries found not to be files after they were taken, put back.
    refused: Mutex<Vec<Refused>>,
    /// Files that changed while being read, put back for the next pass.
    changed: AtomicUsize,
}

/// A work file read, hashed and checked.
struct Prepared {
    item: WorkItem,
    opened: Opened,
    sha: String,
    outcome: Outcome,
    /// What failed inside zwyun while checking it (a panic), if anything.
    failure: Option<String>,
    /// The ledger state the verdict depends on, if it does.
    ledger_state: Option<String>,
}

/// What a submission came to, and where its original goes once the
/// journal has recorded it.
struct Handled {
    result: Verdict,
    finish: Option<Finish>,
    duplicate_of: Option<String>,
    from: PathBuf,
    to: PathBuf,
}

struct Finish {
    sha: String,
    form: Option<&'static str>,
    unit: Option<String>,
    project: Option<String>,
    status: &'static str,
    outputs: Vec<PathBuf>,
    ledger_state: Option<String>,
}

impl Batch<'_> {
    /// Work items split into those started before and never finished
    /// (adopted, with an unfinished start in the journal) and the others.
    fn partition(
        &self,
        items: Vec<WorkItem>,
        ledger: &Ledger,
    ) -> Result<(Vec<WorkItem>, Vec<WorkItem>), IntakeError> {
        let (adopted, mut fresh): (Vec<WorkItem>, Vec<WorkItem>) =
            items.into_iter().partition(|i| i.adopted);
        let hashed: Vec<Loaded> = adopted
            .into_par_iter()
            .filter_map(|item| self.load(item, false))
            .collect();
        let mut suspects = Vec::new();
        for l in hashed {
            if starts::unfinished(ledger.conn(), &l.content.sha)? {
                suspects.push(l.item);
            } else {
                fresh.push(l.item);
            }
        }
        Ok((suspects, fresh))
    }

    /// Opens a work file once (no link followed, no blocking), checks what
    /// it is, reads and hashes it from the handle, and checks that it did
    /// not change meanwhile. What is not a plain file, or changed, goes
    /// back to the inbox; what cannot be read now waits in the work folder.
    fn load(&self, item: WorkItem, keep: bool) -> Option<Loaded> {
        let mut opened = match entry::open(&item.path, self.inbox_dev) {
            Ok(Open::Ok(o)) => o,
            Ok(Open::Refused(reason)) => return self.refuse(&item, reason),
            Err(e) => return left_for_later(&item, &e),
        };
        let content = match entry::read(&mut opened.file, opened.stamp.0, keep) {
            Ok(c) => c,
            Err(e) => return left_for_later(&item, &e),
        };
        test_hook_pause("read");
        let now = opened.file.metadata().map(|m| entry::stamp(&m)).ok();
        let moved = item.seen.is_some_and(|seen| seen != opened.stamp);
        if now != Some(opened.stamp) || moved {
            return self.changed(&item);
        }
        Some(Loaded {
            item,
            opened,
            content,
        })
    }

    /// An entry taken that turned out not to be a plain file (swapped in
    /// after the scan): back to the inbox, said, never read.
    fn refuse<T>(&self, item: &WorkItem, reason: String) -> Option<T> {
        warn!("{}:不予处理:{reason}", item.name);
        if let Err(e) = survey::put_back(&item.path, &self.opts.inbox, &item.name) {
            warn!(
                "{}:无法放回收件目录:{}",
                item.name,
                crate::oserror::reason(&e)
            );
        }
        if let Ok(mut list) = self.refused.lock() {
            list.push(Refused {
                name: item.name.clone(),
                reason,
            });
        }
        None
    }

    /// A file that changed while it was read is still being written: back
    /// to the inbox, for the next pass to take once it is quiet.
    fn changed<T>(&self, item: &WorkItem) -> Option<T> {
        info!(
            "{}:读取期间文件有变化(仍在写入),放回收件目录,下一轮处理",
            item.name
        );
        match survey::put_back(&item.path, &self.opts.inbox, &item.name) {
            Ok(_) => {
                self.changed.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => warn!(
                "{}:无法放回收件目录:{}",
                item.name,
                crate::oserror::reason(&e)
            ),
        }
        None
    }

    /// Read and check in parallel; claim all in one transaction; write the
    /// outputs in parallel; record all in one transaction; only then move
    /// the originals away. A crash anywhere leaves each original either in
    /// the work folder (done again, into the same folder) or archived with
    /// its outputs complete and recorded.
    /// A `suspect` (one file started before and never finished) that has
    /// used up its starts is set aside without being checked again. A fault
    /// of the environment (a full disk, a folder that cannot be written)
    /// fails the pass and leaves the files queued, their starts not counted.
    fn run(
        &self,
        chunk: &[WorkItem],
        ledger: &Ledger,
        suspect: bool,
    ) -> Result<Vec<Verdict>, IntakeError> {
        let loaded: Vec<Loaded> = chunk
            .par_iter()
            .filter_map(|item| self.load(item.clone(), true))
            .collect();
        if loaded.is_empty() {
            return Ok(Vec::new());
        }
        let shas: Vec<String> = loaded.iter().map(|l| l.content.sha.clone()).collect();
        let refs: Vec<&str> = shas.iter().map(String::as_str).collect();
        let starts = starts::begin(ledger.conn(), &refs)?;
        let give_up = suspect && starts.iter().any(|&n| n > starts::MAX_STARTS);
        let prepared: Vec<Prepared> = loaded
            .into_par_iter()
            .map(|l| {
                if give_up {
                    self.given_up(l)
                } else {
                    self.prepare(l)
                }
            })
            .collect();
        self.finish(&prepared, ledger).inspect_err(|_| {
            // Not the submissions' fault: their starts do not count.
            for sha in &refs {
                let _ = starts::end(ledger.conn(), sha);
            }
        })
    }

    fn finish(&self, prepared: &[Prepared], ledger: &Ledger) -> Result<Vec<Verdict>, IntakeError> {
        let claims = self.claim_all(prepared, ledger)?;
        let handled: Vec<Handled> = prepared
            .par_iter()
            .zip(claims)
            .map(|(p, claim)| self.handle_isolated(p, claim))
            .collect::<Result<_, _>>()?;
        // Outputs reach the disk before the journal says they are done.
        let written: Vec<PathBuf> = handled
            .iter()
            .flat_map(|h| h.finish.iter().flat_map(|f| f.outputs.iter().cloned()))
            .collect();
        crate::names::sync_to_disk(&written).map_err(io_err(&self.opts.outbox))?;
        let shas: Vec<&str> = prepared.iter().map(|p| p.sha.as_str()).collect();
        record_all(&handled, &shas, ledger)?;
        for (h, p) in handled.iter().zip(prepared) {
            self.put_away(h, p)?;
        }
        Ok(handled.iter().map(|h| h.result).collect())
    }

    /// Moves the original to where its verdict sends it, from its handle;
    /// one that changed after it was read goes back to the inbox instead.
    fn put_away(&self, h: &Handled, p: &Prepared) -> Result<(), IntakeError> {
        let now = p.opened.file.metadata().map(|m| entry::stamp(&m)).ok();
        if now != Some(p.opened.stamp) {
            warn!(
                "{}:处理后原件又被改动,未归档,放回收件目录,下一轮按新内容处理",
                p.item.name
            );
            survey::put_back(&h.from, &self.opts.inbox, &p.item.name)
                .map_err(io_err(&self.opts.inbox))?;
            return Ok(());
        }
        archive::store(&h.from, &p.opened, &h.to, &p.sha).map_err(io_err(&h.to))?;
        if h.result == Verdict::Failed {
            warn!("{}:内部错误,已移至 {}", p.item.name, h.to.display());
        }
        Ok(())
    }

    /// A file whose processing was started `MAX_STARTS` times and never
    /// finished: not read again, set aside.
    fn given_up(&self, l: Loaded) -> Prepared {
        Prepared {
            outcome: Outcome {
                file: l.item.name.clone(),
                form: None,
                status: Status::Unreadable,
                diags: Vec::new(),
                model: None,
                changes: Vec::new(),
            },
            item: l.item,
            opened: l.opened,
            sha: l.content.sha,
            failure: Some(format!(
                "此前已 {} 次开始处理都未能完成(zwyun 进程意外终止),不再尝试",
                starts::MAX_STARTS
            )),
            ledger_state: None,
        }
    }

    /// Reads and checks one file; a panic inside is caught and kept as the
    /// file's failure, so one submission cannot stop the batch.
    fn prepare(&self, l: Loaded) -> Prepared {
        let Loaded {
            item,
            opened,
            content,
        } = l;
        let bytes = &content.bytes;
        let ctx = Context {
            schemas: self.env.schemas,
            projects: self.projects,
            parties: Some(self.env.renderer.parties()),
        };
        let checked = isolate(|| {
            test_hook_fail_on(TestStage::Read, &item.name);
            if content.oversize {
                return Outcome {
                    file: item.name.clone(),
                    form: None,
                    status: Status::Unreadable,
                    diags: vec![crate::read::too_large_file(opened.stamp.0)],
                    model: None,
                    changes: Vec::new(),
                };
            }
            validate::check_bytes(&item.name, bytes, &ctx)
        });
        let (outcome, failure) = match checked {
            Ok(outcome) => (outcome, None),
            Err(what) => (
                Outcome {
                    file: item.name.clone(),
                    form: None,
                    status: Status::Unreadable,
                    diags: Vec::new(),
                    model: None,
                    changes: Vec::new(),
                },
                Some(format!("读取与校验时出错:{what}")),
            ),
        };
        Prepared {
            item,
            opened,
            sha: content.sha,
            ledger_state: journal::ledger_state(&outcome, self.projects),
            outcome,
            failure,
        }
    }

    fn claim_all(&self, prepared: &[Prepared], ledger: &Ledger) -> Result<Vec<Claim>, IntakeError> {
        let tx = ledger
            .conn()
            .unchecked_transaction()
            .map_err(crate::ledger::LedgerError::from)?;
        let claims = prepared
            .iter()
            .map(|p| {
                let dir = output_dir(self.opts, &p.outcome, &self.date, &p.sha[..12]);
                let submission = journal::Submission {
                    sha: &p.sha,
                    file: &p.item.name,
                    ledger_state: p.ledger_state.as_deref(),
                };
                journal::claim(
                    &tx,
                    &submission,
                    self.me,
                    &dir.display().to_string(),
                    p.item.adopted,
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit().map_err(crate::ledger::LedgerError::from)?;
        Ok(claims)
    }

    /// `handle`, with anything that fails inside it for this one
    /// submission (a panic, an output that cannot be written) turned into
    /// setting the file aside; only a failure to set it aside stops the batch.
    fn handle_isolated(&self, p: &Prepared, claim: Claim) -> Result<Handled, IntakeError> {
        let name = self.kept_name(p);
        if let Some(what) = &p.failure {
            return self.set_aside(p, what, &name);
        }
        let seen_before = matches!(claim, Claim::Done { .. });
        match isolate(|| self.handle(p, claim, &name)) {
            Ok(Ok(h)) => Ok(h),
            Ok(Err(IntakeError::Output(what))) if !seen_before => {
                self.set_aside(p, &format!("生成处理结果时出错:{what}"), &name)
            }
            // A folder that cannot be written, a full disk: the
            // environment's fault, not the submission's. The pass fails
            // and the file stays queued.
            Ok(Err(e)) => Err(e),
            Err(what) => self.set_aside(p, &format!("生成处理结果时出错:{what}"), &name),
        }
    }

    /// The name the original keeps once archived or set aside.
    fn kept_name(&self, p: &Prepared) -> String {
        let short = &p.sha[..12];
        crate::names::safe_file_name(&format!("{}-{short}-{}", self.date, p.item.name))
    }

    /// Moves the original to `failed/` with a note saying what failed; the
    /// journal records it as failed, so no pass takes it up again.
    fn set_aside(&self, p: &Prepared, what: &str, name: &str) -> Result<Handled, IntakeError> {
        warn!("{}:内部错误:{what}", p.item.name);
        let to = archive::target(&self.opts.failed, name, &p.sha);
        let note = format!(
            "处理文件“{}”时 zwyun 发生内部错误,未能完成处理。\n\
             错误:{what}\n\
             内容校验码(SHA-256):{}\n\
             原文件保存在:{}\n\
             该文件不会再被自动处理。请将原文件和本说明发给系统维护人员;问题修复后,可将原文件重新放入收件目录。\n",
            p.item.name,
            p.sha,
            to.display()
        );
        let note_path = note_path(&to);
        crate::names::write_atomic(&note_path, note.as_bytes()).map_err(io_err(&note_path))?;
        let header = p.outcome.model.as_ref().map(|m| m.header());
        Ok(Handled {
            result: Verdict::Failed,
            finish: Some(Finish {
                sha: p.sha.clone(),
                form: p.outcome.form.map(|f| f.as_str()),
                unit: header.map(|h| h.unit.clone()).filter(|u| !u.is_empty()),
                project: header.map(|h| h.project_key().label()),
                status: "failed",
                outputs: vec![note_path],
                ledger_state: None,
            }),
            duplicate_of: None,
            from: p.item.path.clone(),
            to,
        })
    }

    fn handle(&self, p: &Prepared, claim: Claim, name: &str) -> Result<Handled, IntakeError> {
        let short = &p.sha[..12];
        let out_dir = match claim {
            Claim::New(dir) | Claim::Unfinished(dir) => dir,
            Claim::Recheck(dir) => {
                info!("{}:账本已变化,重新校验", p.item.name);
                dir
            }
            Claim::Done { status, out_dir } => return self.seen(p, &status, out_dir, name),
        };
        test_hook_fail_on(TestStage::Write, &p.item.name);
        info!("处理 {}({short})", p.item.name);
        let header = p.outcome.model.as_ref().map(|m| m.header());
        let mut finish = Finish {
            sha: p.sha.clone(),
            form: p.outcome.form.map(|f| f.as_str()),
            unit: header.map(|h| h.unit.clone()).filter(|u| !u.is_empty()),
            project: header.map(|h| h.project_key().label()),
            status: status_str(p.outcome.status),
            outputs: Vec::new(),
            ledger_state: p.ledger_state.clone(),
        };
        let (result, to) = if is_not_workbook(&p.outcome) {
            let to = archive::target(&self.opts.rejected, name, &p.sha);
            finish.outputs.push(reject_note(p, &to)?);
            finish.status = "rejected";
            (Verdict::Rejected, to)
        } else {
            finish.outputs = outputs::write(
                &p.outcome,
                &out_dir,
                self.env,
                self.opts.months,
                self.projects,
                &p.item.name,
                &p.sha,
            )
            .map_err(|e| match e {
                outputs::OutError::Io(path, err) => IntakeError::Io { path, err },
                outputs::OutError::Other(what) => IntakeError::Output(what),
            })?;
            (result_of(p.outcome.status), self.archive_path(name, &p.sha))
        };
        Ok(Handled {
            result,
            finish: Some(finish),
            duplicate_of: None,
            from: p.item.path.clone(),
            to,
        })
    }

    fn archive_path(&self, name: &str, sha: &str) -> PathBuf {
        archive::target(&self.opts.archive.join(&self.date[..6]), name, sha)
    }

    /// The content was seen before: after a crash only the original's move
    /// was left; otherwise this is a resubmission of identical bytes.
    fn seen(
        &self,
        p: &Prepared,
        status: &str,
        out_dir: Option<PathBuf>,
        name: &str,
    ) -> Result<Handled, IntakeError> {
        let from = p.item.path.clone();
        if p.item.adopted && status != "claimed" {
            let result = match status {
                "valid" => Verdict::Valid,
                "invalid" => Verdict::Invalid,
                "rejected" => Verdict::Rejected,
                "failed" => Verdict::Failed,
                _ => Verdict::Unreadable,
            };
            return Ok(Handled {
                result,
                finish: None,
                duplicate_of: None,
                from,
                to: self.archive_path(name, &p.sha),
            });
        }
        let to = archive::target(&self.opts.archive.join("重复提交"), name, &p.sha);
        let earlier = out_dir.map(|d| d.display().to_string()).unwrap_or_default();
        let note = format!(
            "文件“{}”与此前收到的文件内容完全相同(SHA-256 {}),未重复处理。\n此前的处理结果:{earlier}\n",
            p.item.name, p.sha
        );
        let note_path = note_path(&to);
        crate::names::write_atomic(&note_path, note.as_bytes()).map_err(io_err(&note_path))?;
        info!("重复提交:{}", p.item.name);
        Ok(Handled {
            result: Verdict::Duplicate,
            finish: None,
            duplicate_of: Some(p.sha.clone()),
            from,
            to,
        })
    }
}

/// The journal learns of a whole batch in one transaction.
fn record_all(handled: &[Handled], shas: &[&str], ledger: &Ledger) -> Result<(), IntakeError> {
    let tx = ledger
        .conn()
        .unchecked_transaction()
        .map_err(crate::ledger::LedgerError::from)?;
    for sha in shas {
        starts::end(&tx, sha)?;
    }
    for h in handled {
        if let Some(f) = &h.finish {
            let finished = journal::Finished {
                form: f.form,
                unit: f.unit.as_deref(),
                project: f.project.as_deref(),
                status: f.status,
                outputs: &f.outputs,
                ledger_state: f.ledger_state.as_deref(),
            };
            journal::finish(&tx, &f.sha, &finished)?;
        }
        if let Some(sha) = &h.duplicate_of {
            journal::count_duplicate(&tx, sha)?;
        }
    }
    tx.commit().map_err(crate::ledger::LedgerError::from)?;
    Ok(())
}

/// Runs `f`, turning a panic into its message: one submission's internal
/// failure must not take the batch (or `watch`) down with it.
fn isolate<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "未知的内部错误".into())
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TestStage {
    Read,
    Write,
}

/// TEST HOOK — not a feature, never set in production. No real input may
/// make zwyun panic, so to prove that an internal failure is isolated the
/// tests set `ZWYUN_TEST_FAIL_ON=<file name>` (panic while reading that
/// inbox file), `ZWYUN_TEST_FAIL_ON=write:<file name>` (panic while
/// writing its outputs) or `ZWYUN_TEST_FAIL_ON=abort:<file name>` (abort
/// the whole process while reading it, as the out-of-memory killer would).
fn test_hook_fail_on(stage: TestStage, name: &str) {
    let Some(target) = std::env::var_os("ZWYUN_TEST_FAIL_ON") else {
        return;
    };
    let target = target.to_string_lossy();
    if let Some(file) = target.strip_prefix("abort:") {
        if stage == TestStage::Read && file == name {
            eprintln!("测试钩子 ZWYUN_TEST_FAIL_ON 使处理“{name}”时进程中止");
            std::process::abort();
        }
        return;
    }
    let hit = match target.strip_prefix("write:") {
        Some(file) => stage == TestStage::Write && file == name,
        None => stage == TestStage::Read && target == name,
    };
    if hit {
        panic!("测试钩子 ZWYUN_TEST_FAIL_ON 使处理“{name}”时故意失败");
    }
}

/// TEST HOOK — not a feature, never set in production. To make races
/// deterministic, `ZWYUN_TEST_PAUSE=<stage>:<gate file>` makes zwyun, on
/// reaching `<stage>` (`claim`: after the inbox scan, before taking files;
/// `read`: after reading a file, before checking it did not change),
/// create `<gate file>.reached` and wait until `<gate file>` is removed
/// (at most 120 seconds).
fn test_hook_pause(stage: &str) {
    let Some(spec) = std::env::var_os("ZWYUN_TEST_PAUSE") else {
        return;
    };
    let spec = spec.to_string_lossy();
    let Some((at, gate)) = spec.split_once(':') else {
        return;
    };
    if at != stage {
        return;
    }
    let gate = Path::new(gate);
    if !gate.exists() {
        return;
    }
    let _ = std::fs::write(format!("{}.reached", gate.display()), b"");
    let deadline = Instant::now() + Duration::from_secs(120);
    while gate.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// TEST HOOK (see `test_hook_fail_on`): `ZWYUN_TEST_FAIL_ON=abort-archived:<name>`
/// aborts the process once the archive copy of a work file whose name ends
/// with `<name>` has its final name but the work file is not yet removed.
fn test_hook_abort_archived(work_file: &Path) {
    let Some(target) = std::env::var_os("ZWYUN_TEST_FAIL_ON") else {
        return;
    };
    let target = target.to_string_lossy();
    if let Some(name) = target.strip_prefix("abort-archived:") {
        if work_file.to_string_lossy().ends_with(name) {
            eprintln!("测试钩子 ZWYUN_TEST_FAIL_ON 使归档“{name}”后进程中止");
            std::process::abort();
        }
    }
}

fn result_of(status: Status) -> Verdict {
    match status {
        Status::Valid => Verdict::Valid,
        Status::Invalid => Verdict::Invalid,
        Status::Unreadable => Verdict::Unreadable,
    }
}

fn note_path(target: &Path) -> PathBuf {
    target.with_file_name(format!("{}.说明.txt", file_name(target)))
}

/// Not a workbook: the original goes to `rejected/` (after the journal
/// records it) with this note beside it, never deleted.
fn reject_note(p: &Prepared, target: &Path) -> Result<PathBuf, IntakeError> {
    let reason = p
        .outcome
        .diags
        .first()
        .map(|d| format!("{}\n{}", d.message, d.hint))
        .unwrap_or_default();
    let note = format!(
        "文件“{}”不是 Excel 工作簿,未处理。\n原因:{reason}\n原文件保存在:{}\n",
        p.item.name,
        target.display()
    );
    let path = note_path(target);
    crate::names::write_atomic(&path, note.as_bytes()).map_err(io_err(&path))?;
    Ok(path)
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

/// Inbox files that have been quiet long enough (with how they looked
/// then), how many are still being written, and the entries refused;
/// with `wait`, waits (up to a bound) for files still being written.
type Ready = (Vec<(PathBuf, entry::Stamp)>, usize, Vec<Refused>);

fn ready_files(
    opts: &Options,
    own: &survey::Own,
    stability: &mut Stability,
    wait: bool,
) -> Result<Ready, IntakeError> {
    let deadline = Instant::now() + opts.wait_for_pending;
    let mut ready: Vec<(PathBuf, entry::Stamp)> = Vec::new();
    loop {
        let mut pending = 0;
        let (files, refused) = survey::survey(&opts.inbox, own).map_err(io_err(&opts.inbox))?;
        for path in files {
            if ready.iter().any(|(p, _)| *p == path) {
                continue;
            }
            match stability.check(&path, opts.quiet) {
                Ok(Readiness::Ready(seen)) => ready.push((path, seen)),
                Ok(Readiness::Pending) => pending += 1,
                Err(_) => {} // vanished: another worker took it
            }
        }
        if pending == 0 || !wait || Instant::now() >= deadline {
            return Ok((ready, pending, refused));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
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

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
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

/// Another source of submissions around each `watch` pass (the mailbox):
/// `before` may add files to the inbox, `after` acts on what was recorded.
pub trait Source {
    fn before(&mut self);
    fn after(&mut self);
    /// The longest `watch` may sleep before calling `before` again.
    fn every(&self) -> Duration;
}

/// How long `watch` waits after a failed pass, doubling up to the longest.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_LONGEST: Duration = Duration::from_secs(300);

/// `watch`: the same pass, again whenever the inbox changes (or every
/// `poll` for network shares where file events do not arrive).
pub fn watch(
    opts: &Options,
    env: &Env,
    poll: Option<Duration>,
    mut source: Option<&mut dyn Source>,
    mut report: impl FnMut(&Summary),
) -> Result<(), IntakeError> {
    let mut watched = watched::Watched::new(opts, env.ledger)?;
    let mut worker = Worker::start(&opts.inbox).map_err(io_err(&opts.inbox))?;
    let mut stability = Stability::default();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut _watcher = match poll {
        Some(_) => None,
        None => Some(start_watcher(&opts.inbox, tx.clone())?),
    };
    let mut tick = poll.unwrap_or(opts.quiet).max(Duration::from_millis(200));
    if let Some(every) = source.as_ref().map(|s| s.every()) {
        tick = tick.min(every);
    }
    let mut failures = 0u32;
    let mut refused_said = Vec::new();
    loop {
        // A ledger that vanished or was replaced stops the service: a new
        // empty one would process resubmitted files as new.
        watched.check_ledger(env.ledger)?;
        if let Some(s) = source.as_mut() {
            s.before();
        }
        // A pass that fails as a whole (the out folder or the ledger cannot
        // be opened, a full disk) is said and retried, waiting longer each
        // time, so a share that comes back or a ledger another program held
        // is picked up without a restart.
        let pass = watched
            .follow_inbox(opts, &mut worker, &mut stability, || {
                poll.is_none()
                    .then(|| start_watcher(&opts.inbox, tx.clone()))
                    .transpose()
            })
            .and_then(|new_watcher| {
                if let Some(w) = new_watcher {
                    _watcher = w;
                }
                process_once(opts, env, &mut worker, &mut stability, false)
            });
        let summary = match pass {
            Ok(summary) => {
                if failures > 0 {
                    eprintln!("zwyun: 已恢复正常处理(此前连续 {failures} 轮失败)");
                }
                failures = 0;
                watched.note_replaced_outputs(opts);
                summary
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let wait = RETRY_FIRST
                    .saturating_mul(1 << failures.min(9).saturating_sub(1))
                    .min(RETRY_LONGEST);
                tracing::error!("watch pass failed: {e}");
                eprintln!(
                    "zwyun: 本轮处理失败({e}),{} 秒后重试;收件目录中的文件未被处理,也不会丢失",
                    wait.as_secs()
                );
                std::thread::sleep(wait);
                continue;
            }
        };
        if let Some(s) = source.as_mut() {
            s.after();
        }
        let refusals_changed = summary.refused != refused_said;
        if summary.total() > 0 || refusals_changed {
            report(&summary);
            refused_said = summary.refused.clone();
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

/// A file-watching failure as an I/O error the clerk can read.
fn watch_error(e: notify::Error) -> std::io::Error {
    match e.kind {
        notify::ErrorKind::Io(io) => io,
        notify::ErrorKind::PathNotFound => std::io::ErrorKind::NotFound.into(),
        notify::ErrorKind::MaxFilesWatch => {
            std::io::Error::other("已达到系统可监视的文件数上限,请改用 --poll 轮询")
        }
        _ => std::io::Error::other("无法监视该目录的文件事件,请改用 --poll 轮询"),
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
            err: watch_error(e),
        })?;
    debouncer
        .watcher()
        .watch(inbox, notify::RecursiveMode::NonRecursive)
        .map_err(|e| IntakeError::Io {
            path: inbox.to_path_buf(),
            err: watch_error(e),
        })?;
    Ok(debouncer)
}
