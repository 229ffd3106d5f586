//! The mailbox as part of the pipeline: submissions in over IMAP (into
//! the drop folder's normal path), replies out over SMTP from a queue in
//! the ledger. A pass is: `fetch` → the folder pass → `answer` → `send_due`.

mod compose;
pub mod config;
mod imap;
mod parse;
pub mod queue;
mod smtp;
mod tls;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};
use tracing::{info, warn};

pub use config::{MailConfig, ReplyMode};

use crate::ledger::Ledger;
use crate::names::safe_component;
use crate::schema::Schemas;
use crate::validate::{self, Context};

/// The folders a mail pass reads and writes.
#[derive(Debug, Clone)]
pub struct Folders {
    pub inbox: PathBuf,
    pub outbox: PathBuf,
    pub rejected: PathBuf,
}

impl Folders {
    /// Held replies, as .eml files for the clerk to look at.
    pub fn held(&self) -> PathBuf {
        self.outbox.join("待发送邮件")
    }
}

/// What one mail pass did.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub taken: usize,
    pub workbooks: usize,
    pub without_workbook: usize,
    pub automatic: usize,
    pub oversize: usize,
    pub replies_queued: usize,
    pub replies_held: usize,
    pub sent: usize,
    pub failed: usize,
    pub errors: Vec<String>,
}

impl Summary {
    pub fn line(&self) -> String {
        let mut s = format!(
            "邮件:收取 {} 封(工作簿 {} 份,无工作簿 {} 封,自动邮件不回复 {} 封,超限 {} 封);回复:新生成 {},暂存待审 {},已发送 {},发送失败 {}",
            self.taken,
            self.workbooks,
            self.without_workbook,
            self.automatic,
            self.oversize,
            self.replies_queued,
            self.replies_held,
            self.sent,
            self.failed
        );
        for e in &self.errors {
            let _ = write!(s, "\n邮件错误:{e}");
        }
        s
    }
}

/// Test hook: aborts the process (as a kill -9 would) at a named point.
fn crash_point(name: &str) {
    if std::env::var("ZWYUN_TEST_MAIL_CRASH").is_ok_and(|v| v == name) {
        std::process::abort();
    }
}

/// Takes every new message of the mailbox: workbooks into the inbox,
/// the message recorded in the ledger, then moved to the done folder
/// (or flagged where it cannot be moved).
pub fn fetch(
    cfg: &MailConfig,
    folders: &Folders,
    ledger_path: &Path,
    schemas: &Schemas,
    summary: &mut Summary,
) -> Result<(), String> {
    let ledger = Ledger::open(ledger_path).map_err(|e| e.to_string())?;
    queue::ensure(ledger.conn()).map_err(|e| e.to_string())?;
    let projects = ledger.projects().map_err(|e| e.to_string())?;
    let ctx = Context {
        schemas,
        projects: &projects,
    };
    let imap = &cfg.imap;
    let mut mailbox = imap::Mailbox::open(cfg, &imap.folder).map_err(|e| e.0)?;
    let key = format!(
        "{}@{}:{}/{}",
        imap.user.as_deref().unwrap_or(""),
        imap.host,
        imap.port_or_default(993, 143),
        imap.folder
    );
    let can_move = match mailbox.ensure_folder(&imap.done_folder) {
        Ok(()) => true,
        Err(e) => {
            warn!("{e};已处理的邮件将改为加标记");
            false
        }
    };
    let validity = mailbox.uid_validity;
    for uid in mailbox.uids().map_err(|e| e.0)? {
        let state = queue::seen(ledger.conn(), &key, validity, uid).map_err(|e| e.to_string())?;
        match state.as_deref() {
            Some("flagged") => continue,
            Some(_) => {}
            None => {
                let fetched = mailbox.fetch(uid, cfg.max_bytes()).map_err(|e| e.0)?;
                take(
                    cfg, folders, &ledger, &ctx, &key, validity, &fetched, summary,
                )?;
            }
        }
        crash_point("recorded");
        let done = if can_move {
            match mailbox.move_to(uid, &imap.done_folder) {
                Ok(()) => "moved",
                Err(e) => {
                    warn!("邮件 UID {uid} 无法移动:{e};改为加标记");
                    mailbox.flag(uid).map_err(|e| e.0)?;
                    "flagged"
                }
            }
        } else {
            mailbox.flag(uid).map_err(|e| e.0)?;
            "flagged"
        };
        queue::set_state(ledger.conn(), &key, validity, uid, done).map_err(|e| e.to_string())?;
    }
    mailbox.logout();
    Ok(())
}

/// One new message: its workbooks saved into the inbox, then the message
/// and its submissions recorded in one transaction.
#[allow(clippy::too_many_arguments)]
fn take(
    cfg: &MailConfig,
    folders: &Folders,
    ledger: &Ledger,
    ctx: &Context,
    key: &str,
    validity: u32,
    fetched: &imap::Fetched,
    summary: &mut Summary,
) -> Result<(), String> {
    let raw = fetched.raw.as_deref().unwrap_or_default();
    let uid = fetched.uid;
    let incoming = parse::parse(raw);
    let mut saved = Vec::new();
    let (kind, note, reply) = match &incoming {
        Err(e) => (
            queue::kind::UNPARSEABLE,
            Some(e.clone()),
            queue::reply::NONE,
        ),
        Ok(_) if fetched.size > cfg.max_bytes() => {
            summary.oversize += 1;
            let note = format!(
                "邮件大小 {:.1} MB,超过受理上限 {} MB(配置项 max_message_mb),未收取附件。",
                fetched.size as f64 / 1048576.0,
                cfg.max_message_mb
            );
            (queue::kind::OVERSIZE, Some(note), queue::reply::WAITING)
        }
        Ok(m) if m.automatic.is_some() => {
            summary.automatic += 1;
            (
                queue::kind::AUTOMATIC,
                m.automatic.clone(),
                queue::reply::NONE,
            )
        }
        Ok(m) => {
            let (workbooks, others): (Vec<_>, Vec<_>) =
                m.attachments.iter().partition(|a| a.is_workbook());
            for a in workbooks {
                saved.push(save(folders, a, m.timestamp, ctx)?);
            }
            let others: Vec<&str> = others.iter().map(|a| a.name.as_str()).collect();
            let note = (!others.is_empty()).then(|| others.join("、"));
            if saved.is_empty() {
                summary.without_workbook += 1;
                (queue::kind::NO_WORKBOOK, note, queue::reply::WAITING)
            } else {
                summary.workbooks += saved.len();
                (queue::kind::SUBMISSION, note, queue::reply::WAITING)
            }
        }
    };
    crash_point("saved");
    let m = incoming.as_ref().ok();
    let sender = m.and_then(|m| m.sender.clone()).unwrap_or_default();
    let reply_to = m.and_then(|m| m.reply_to.clone()).unwrap_or_default();
    let reply = if reply_to.is_empty() {
        queue::reply::NONE
    } else {
        reply
    };
    if kind == queue::kind::OVERSIZE {
        let path = folders.rejected.join(format!("邮件-{}-超限.说明.txt", uid));
        let text = format!(
            "来自 {sender} 的邮件“{}”{}\n原邮件已移入邮箱文件夹“{}”。\n",
            m.map(|m| m.subject.as_str()).unwrap_or_default(),
            note.as_deref().unwrap_or_default(),
            cfg.imap.done_folder
        );
        crate::names::write_atomic(&path, text.as_bytes())
            .map_err(|e| crate::oserror::at(&path, &e))?;
    }
    let tx = ledger
        .conn()
        .unchecked_transaction()
        .map_err(|e| e.to_string())?;
    let id = queue::insert_message(
        &tx,
        &queue::NewMessage {
            mailbox: key,
            uidvalidity: validity,
            uid,
            message_id: m.and_then(|m| m.message_id.as_deref()),
            refs: m.and_then(|m| m.references.as_deref()),
            sender: &sender,
            reply_to: &reply_to,
            subject: m.map(|m| m.subject.as_str()).unwrap_or_default(),
            date: m.and_then(|m| m.date.as_deref()),
            kind,
            note: note.as_deref(),
            reply,
        },
    )
    .map_err(|e| e.to_string())?;
    for s in &saved {
        queue::insert_attachment(&tx, id, &s.sha, &s.name, s.email.as_deref())
            .map_err(|e| e.to_string())?;
    }
    tx.commit().map_err(|e| e.to_string())?;
    summary.taken += 1;
    info!(
        "收取邮件 UID {uid}:{sender}“{}”",
        m.map(|m| m.subject.as_str()).unwrap_or_default()
    );
    Ok(())
}

struct Saved {
    sha: String,
    name: String,
    email: Option<String>,
}

/// Writes one workbook into the inbox under its own (safe) name, complete
/// and dated in the past so the folder pass takes it at once.
fn save(
    folders: &Folders,
    a: &parse::Attachment,
    timestamp: Option<i64>,
    ctx: &Context,
) -> Result<Saved, String> {
    let sha: String = Sha256::digest(&a.bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let name = safe_component(&a.name);
    std::fs::create_dir_all(&folders.inbox).map_err(|e| crate::oserror::at(&folders.inbox, &e))?;
    let mut path = folders.inbox.join(&name);
    let same = std::fs::read(&path).is_ok_and(|b| b == a.bytes);
    if !same {
        if path.exists() {
            path = free_name(&folders.inbox, &name);
        }
        crate::names::write_atomic(&path, &a.bytes).map_err(|e| crate::oserror::at(&path, &e))?;
        let when = timestamp
            .and_then(|t| u64::try_from(t).ok())
            .map(|t| SystemTime::UNIX_EPOCH + Duration::from_secs(t))
            .filter(|t| *t < SystemTime::now() - Duration::from_secs(60))
            .unwrap_or_else(|| SystemTime::now() - Duration::from_secs(3600));
        if let Ok(f) = std::fs::File::options().write(true).open(&path) {
            let _ = f.set_modified(when);
        }
    }
    let outcome = validate::check_bytes(&a.name, &a.bytes, ctx);
    let email = outcome
        .model
        .as_ref()
        .map(|m| m.header().email.trim().to_string())
        .filter(|e| e.contains('@'));
    Ok(Saved {
        sha,
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(name),
        email,
    })
}

fn free_name(dir: &Path, name: &str) -> PathBuf {
    (2..)
        .map(|i| dir.join(format!("{i}-{name}")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.join(name))
}

/// Composes the reply of every message whose submissions are all processed.
pub fn answer(
    cfg: &MailConfig,
    folders: &Folders,
    ledger_path: &Path,
    summary: &mut Summary,
) -> Result<(), String> {
    let ledger = Ledger::open(ledger_path).map_err(|e| e.to_string())?;
    queue::ensure(ledger.conn()).map_err(|e| e.to_string())?;
    let from = cfg.smtp.from.clone().unwrap_or_default();
    for msg in queue::waiting(ledger.conn()).map_err(|e| e.to_string())? {
        let subs = queue::submissions(ledger.conn(), msg.id).map_err(|e| e.to_string())?;
        if subs
            .iter()
            .any(|s| s.status.as_deref().is_none_or(|st| st == "claimed"))
        {
            continue; // still in the drop folder
        }
        if !allowed(cfg, &msg.reply_to) {
            info!("{} 不在 allow_domains 中,不回复", msg.reply_to);
            queue::set_reply(ledger.conn(), msg.id, queue::reply::NONE)
                .map_err(|e| e.to_string())?;
            continue;
        }
        let (body, files) = reply_content(&msg, &subs);
        let cc: Vec<String> = subs.iter().filter_map(|s| s.email.clone()).collect();
        let files: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        let thread = compose::Thread {
            message_id: msg.message_id.as_deref(),
            references: msg.refs.as_deref(),
            subject: &msg.subject,
        };
        let draft = compose::reply(&from, &msg.reply_to, &cc, &thread, &body, &files)?;
        let over_limit = queue::replies_last_hour(ledger.conn(), &msg.reply_to)
            .map_err(|e| e.to_string())?
            >= cfg.replies_per_hour;
        let hold = cfg.reply == ReplyMode::Hold || over_limit;
        let eml = if hold {
            let dir = folders.held();
            let name = format!(
                "{}-{}.eml",
                chrono::Local::now().format("%Y%m%d%H%M%S"),
                safe_component(&draft.subject)
            );
            let path = free_name_or(&dir, &name);
            crate::names::write_atomic(&path, &draft.raw)
                .map_err(|e| crate::oserror::at(&path, &e))?;
            Some(path.display().to_string())
        } else {
            None
        };
        let note = over_limit.then(|| {
            format!(
                "发往 {} 的回复一小时内已达 {} 封(replies_per_hour),暂存待人工发送",
                msg.reply_to, cfg.replies_per_hour
            )
        });
        let tx = ledger
            .conn()
            .unchecked_transaction()
            .map_err(|e| e.to_string())?;
        queue::insert_reply(
            &tx,
            &queue::NewReply {
                message: msg.id,
                message_id: &draft.message_id,
                recipients: &draft.recipients,
                subject: &draft.subject,
                raw: &draft.raw,
                state: if hold { "held" } else { "queued" },
                eml: eml.as_deref(),
                note: note.as_deref(),
            },
        )
        .map_err(|e| e.to_string())?;
        queue::set_reply(&tx, msg.id, queue::reply::QUEUED).map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())?;
        if hold {
            summary.replies_held += 1;
        } else {
            summary.replies_queued += 1;
        }
    }
    Ok(())
}

fn free_name_or(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    if p.exists() {
        free_name(dir, name)
    } else {
        p
    }
}

/// With `allow_domains`, only those domains (and their subdomains) get replies.
fn allowed(cfg: &MailConfig, addr: &str) -> bool {
    if cfg.allow_domains.is_empty() {
        return true;
    }
    let domain = addr.rsplit('@').next().unwrap_or_default().to_lowercase();
    cfg.allow_domains.iter().any(|d| {
        let d = d.trim().trim_start_matches('@').to_lowercase();
        domain == d || domain.ends_with(&format!(".{d}"))
    })
}

const SIGNATURE: &str = "\n此邮件由松江区政务云申请受理系统自动发送。如有疑问,请直接回复本邮件或联系区科创服务中心。\n\n上海市松江区科技创新服务中心\n";

/// The body and the files of a reply: per workbook its receipt or its
/// summary of problems; attached, the receipt and drafts of a valid form,
/// the problem list of one with errors.
/// Whether an output of a submission goes back to the unit: for a form
/// that passed, everything but the JSON; otherwise the problem list.
pub fn for_unit(valid: bool, output: &str) -> bool {
    if valid {
        !output.ends_with(".json")
    } else {
        output.ends_with(".xlsx")
    }
}

fn reply_content(msg: &queue::Message, subs: &[queue::Submission]) -> (String, Vec<PathBuf>) {
    let mut body = String::from("您好!\n\n");
    let mut files = Vec::new();
    match msg.kind.as_str() {
        queue::kind::SUBMISSION => {
            let _ = writeln!(
                body,
                "来信“{}”所附的 {} 份表格已处理,结果如下。\n",
                msg.subject,
                subs.len()
            );
            for (i, s) in subs.iter().enumerate() {
                let _ = writeln!(body, "—— 附件 {}:{} ——", i + 1, s.name);
                for out in s.outputs.iter().filter(|o| o.ends_with(".txt")) {
                    if let Ok(text) = std::fs::read_to_string(out) {
                        body.push_str(text.trim_end());
                        body.push_str("\n\n");
                    }
                }
                let valid = s.status.as_deref() == Some("valid");
                for out in &s.outputs {
                    if for_unit(valid, out) && Path::new(out).is_file() {
                        files.push(PathBuf::from(out));
                    }
                }
            }
            if let Some(others) = &msg.note {
                let _ = writeln!(
                    body,
                    "来信中的其他附件({others})不是 Excel 工作簿,未作处理。"
                );
            }
        }
        queue::kind::OVERSIZE => {
            let _ = writeln!(
                body,
                "来信“{}”{}\n请将填写好的附件1《松江区市政务云资源申请表》或附件4《松江区市政务云资源变更申请表》(Excel 工作簿)单独发送,不要附带其他大文件。",
                msg.subject,
                msg.note.as_deref().unwrap_or_default()
            );
        }
        _ => {
            let _ = writeln!(
                body,
                "来信“{}”中没有找到 Excel 工作簿附件,因此未能受理。",
                msg.subject
            );
            if let Some(others) = &msg.note {
                let _ = writeln!(body, "来信所附的文件({others})不是 Excel 工作簿。");
            }
            body.push_str("请将填写好的附件1《松江区市政务云资源申请表》或附件4《松江区市政务云资源变更申请表》(.xlsx)作为附件回复本邮件。空白表格可向区科创服务中心索取。\n");
        }
    }
    body.push_str(SIGNATURE);
    (body, files)
}

/// How long to wait before the next attempt after `attempts` failures.
fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(60u64.saturating_mul(1 << attempts.min(6)).min(3600))
}

/// Tries within one pass before leaving a reply to the backoff schedule.
const QUICK_TRIES: u32 = 3;

/// Sends the replies that are due (`all`: also held and failed ones, for
/// `zwyun mail send`). A reply is marked sent only once the server accepted it.
pub fn send_due(
    cfg: &MailConfig,
    ledger_path: &Path,
    all: bool,
    summary: &mut Summary,
) -> Result<(), String> {
    let ledger = Ledger::open(ledger_path).map_err(|e| e.to_string())?;
    queue::ensure(ledger.conn()).map_err(|e| e.to_string())?;
    let due = queue::due(ledger.conn(), all).map_err(|e| e.to_string())?;
    if due.is_empty() {
        return Ok(());
    }
    let transport = smtp::transport(cfg)?;
    let from = smtp::from_address(cfg)?;
    for mut reply in due {
        if let Some(eml) = reply.eml.as_deref().filter(|_| reply.state == "held") {
            // The clerk's reviewed copy is what goes out; a deleted copy is withdrawn.
            match std::fs::read(eml) {
                Ok(bytes) => reply.raw = bytes,
                Err(_) => {
                    queue::withdraw(ledger.conn(), reply.id).map_err(|e| e.to_string())?;
                    continue;
                }
            }
        }
        crash_point("before-send");
        let mut result = Err(smtp::SendError {
            message: String::new(),
            transient: true,
        });
        let mut tries = 0;
        for attempt in 0..QUICK_TRIES {
            tries += 1;
            if attempt > 0 {
                std::thread::sleep(Duration::from_secs(attempt as u64));
            }
            result = smtp::send(&transport, &from, &reply.recipients, &reply.raw);
            match &result {
                Err(e) if e.transient => warn!(
                    "回复“{}”发送失败(第 {} 次):{}",
                    reply.subject,
                    attempt + 1,
                    e.message
                ),
                _ => break,
            }
        }
        crash_point("after-send");
        match result {
            Ok(()) => {
                queue::mark_sent(ledger.conn(), reply.id, tries).map_err(|e| e.to_string())?;
                if let Some(eml) = &reply.eml {
                    move_sent(Path::new(eml));
                }
                summary.sent += 1;
            }
            Err(e) => {
                let next = e.transient.then(|| {
                    (chrono::Local::now()
                        + chrono::Duration::from_std(backoff(reply.attempts + tries))
                            .unwrap_or_default())
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
                });
                queue::mark_failed(ledger.conn(), reply.id, tries, &e.message, next.as_deref())
                    .map_err(|e| e.to_string())?;
                summary.failed += 1;
                summary
                    .errors
                    .push(format!("回复“{}”未能发送:{}", reply.subject, e.message));
            }
        }
    }
    Ok(())
}

/// A sent .eml leaves the review folder for `已发送邮件` beside it.
fn move_sent(eml: &Path) {
    let Some(dir) = eml.parent().and_then(Path::parent) else {
        return;
    };
    let sent = dir.join("已发送邮件");
    if std::fs::create_dir_all(&sent).is_ok() {
        if let Some(name) = eml.file_name() {
            let _ = std::fs::rename(eml, sent.join(name));
        }
    }
}

/// One full mail pass around the folder pass `folder_pass`: fetch, process,
/// answer, send. Mail failures are collected, the folder pass runs regardless.
pub fn around<T>(
    cfg: &MailConfig,
    folders: &Folders,
    ledger: &Path,
    schemas: &Schemas,
    fetch_now: bool,
    folder_pass: impl FnOnce() -> T,
) -> (T, Summary) {
    let mut summary = Summary::default();
    if fetch_now {
        if let Err(e) = fetch(cfg, folders, ledger, schemas, &mut summary) {
            summary.errors.push(e);
        }
    }
    let result = folder_pass();
    if let Err(e) = answer(cfg, folders, ledger, &mut summary) {
        summary.errors.push(e);
    }
    if let Err(e) = send_due(cfg, ledger, false, &mut summary) {
        summary.errors.push(e);
    }
    (result, summary)
}

/// `zwyun mail check`: both servers, in words the clerk can act on.
pub fn check(cfg: &MailConfig) -> (bool, String) {
    let mut ok = true;
    let mut out = String::new();
    let imap = &cfg.imap;
    let place = format!(
        "IMAP 服务器 {}:{}({})",
        imap.host,
        imap.port_or_default(993, 143),
        imap.tls.label()
    );
    match imap::Mailbox::open(cfg, &imap.folder) {
        Ok(mut mb) => {
            let _ = writeln!(
                out,
                "✓ {place}:连接与登录成功;文件夹“{}”中有 {} 封邮件。",
                imap.folder, mb.exists
            );
            match mb.folder_exists(&imap.done_folder) {
                Ok(true) => {
                    let _ = writeln!(out, "✓ 完成文件夹“{}”已存在。", imap.done_folder);
                }
                Ok(false) => {
                    let _ = writeln!(
                        out,
                        "✓ 完成文件夹“{}”尚不存在,首次处理邮件时将自动创建。",
                        imap.done_folder
                    );
                }
                Err(e) => {
                    ok = false;
                    let _ = writeln!(out, "✗ 无法查询完成文件夹“{}”:{e}", imap.done_folder);
                }
            }
            mb.logout();
        }
        Err(e) => {
            ok = false;
            let _ = writeln!(out, "✗ {}", e.0);
        }
    }
    let smtp = &cfg.smtp;
    let place = format!(
        "SMTP 服务器 {}:{}({})",
        smtp.host,
        smtp.port_or_default(465, 587),
        smtp.tls.label()
    );
    let tested = smtp::transport(cfg).and_then(|t| {
        t.test_connection()
            .map_err(|e| smtp::describe(&e))
            .and_then(|alive| {
                alive
                    .then_some(())
                    .ok_or_else(|| "连接后无响应".to_string())
            })
    });
    match tested {
        Ok(()) => {
            let login = if smtp.user.is_some() {
                "与登录"
            } else {
                "(未配置登录)"
            };
            let _ = writeln!(out, "✓ {place}:连接{login}成功。");
        }
        Err(e) => {
            ok = false;
            let _ = writeln!(out, "✗ {place}:{e}");
        }
    }
    (ok, out)
}

/// Lines for `zwyun status`: replies not yet sent and why.
pub fn status_text(conn: &rusqlite::Connection) -> Result<Option<String>, String> {
    if !queue::present(conn).map_err(|e| e.to_string())? {
        return Ok(None);
    }
    let counts = queue::counts(conn).map_err(|e| e.to_string())?;
    if counts.is_empty() {
        return Ok(None);
    }
    let label = |s: &str| {
        match s {
            "sent" => "已发送",
            "queued" => "待发送",
            "held" => "暂存待审",
            "failed" => "发送失败",
            other => other,
        }
        .to_string()
    };
    let parts: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{} {n}", label(s)))
        .collect();
    let mut s = format!("邮件回复:{}\n", parts.join(","));
    for r in queue::unsent(conn).map_err(|e| e.to_string())? {
        let _ = write!(
            s,
            "  {}  {}  致 {}",
            label(&r.state),
            r.subject,
            r.recipients.join("、")
        );
        if r.attempts > 0 {
            let _ = write!(s, ",已尝试 {} 次", r.attempts);
        }
        if r.state == "queued" && r.attempts > 0 {
            let _ = write!(s, ",将于 {} 后重试", r.next_attempt);
        }
        if let Some(e) = &r.last_error {
            let _ = write!(s, ";{e}");
        }
        if let Some(eml) = &r.eml {
            let _ = write!(s, "\n    {eml}");
        }
        s.push('\n');
    }
    Ok(Some(s))
}

/// The mailbox as a `watch` source: fetched every `every`, answered and
/// sent after each folder pass. Failures are reported and retried, never fatal.
pub struct Poller<'a> {
    pub cfg: MailConfig,
    pub folders: Folders,
    pub ledger: PathBuf,
    pub schemas: &'a Schemas,
    pub every: Duration,
    /// Prints a round's summary line (the command layer's stdout).
    pub print: fn(&str),
    last: Option<std::time::Instant>,
    summary: Summary,
}

impl<'a> Poller<'a> {
    pub fn new(
        cfg: MailConfig,
        folders: Folders,
        ledger: PathBuf,
        schemas: &'a Schemas,
        every: Duration,
        print: fn(&str),
    ) -> Poller<'a> {
        Poller {
            cfg,
            folders,
            ledger,
            schemas,
            every,
            print,
            last: None,
            summary: Summary::default(),
        }
    }
}

impl crate::intake::Source for Poller<'_> {
    fn before(&mut self) {
        if self.last.is_some_and(|t| t.elapsed() < self.every) {
            return;
        }
        self.last = Some(std::time::Instant::now());
        if let Err(e) = fetch(
            &self.cfg,
            &self.folders,
            &self.ledger,
            self.schemas,
            &mut self.summary,
        ) {
            self.summary.errors.push(e);
        }
    }

    fn after(&mut self) {
        let s = &mut self.summary;
        if let Err(e) = answer(&self.cfg, &self.folders, &self.ledger, s) {
            s.errors.push(e);
        }
        if let Err(e) = send_due(&self.cfg, &self.ledger, false, s) {
            s.errors.push(e);
        }
        let busy = s.taken + s.replies_queued + s.replies_held + s.sent + s.failed > 0;
        if busy || !s.errors.is_empty() {
            (self.print)(&s.line());
        }
        self.summary = Summary::default();
    }

    fn every(&self) -> Duration {
        self.every
    }
}
