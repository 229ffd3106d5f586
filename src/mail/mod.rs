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
    /// Our own output come back, not taken.
    pub own: usize,
    /// Messages whose Message-ID was taken before.
    pub duplicates: usize,
    pub errors: Vec<String>,
    /// How many of `errors` are a server out of reach or refusing for now.
    pub outages: usize,
    /// Recipients the server refused (the rest of the reply went out).
    pub refused: Vec<String>,
    /// Notes for the clerk kept out of the replies to units.
    pub notes: Vec<String>,
}

/// A mail failure, and whether it is a server out of reach or refusing
/// for now (an outage: tried again later) rather than a configuration error.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub outage: bool,
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure {
            message,
            outage: false,
        }
    }
}

impl Summary {
    pub fn line(&self) -> String {
        let mut s = format!(
            "邮件:收取 {} 封(工作簿 {} 份,无工作簿 {} 封,自动邮件不回复 {} 封,本系统发出的邮件 {} 封,重复收到 {} 封,超限 {} 封);回复:新生成 {},暂存待审 {},已发送 {},发送失败 {}",
            self.taken,
            self.workbooks,
            self.without_workbook,
            self.automatic,
            self.own,
            self.duplicates,
            self.oversize,
            self.replies_queued,
            self.replies_held,
            self.sent,
            self.failed
        );
        for r in &self.refused {
            let _ = write!(s, "\n收件人被拒收:{r}");
        }
        for n in &self.notes {
            let _ = write!(s, "\n给工作人员的提示(未发给单位):{n}");
        }
        for e in &self.errors {
            let _ = write!(s, "\n邮件错误:{e}");
        }
        s
    }

    pub fn fail(&mut self, f: Failure) {
        if f.outage {
            self.outages += 1;
        }
        self.errors.push(f.message);
    }

    /// Every error was an outage (the servers will be tried again): the
    /// exit code says so, apart from configuration errors.
    pub fn only_outages(&self) -> bool {
        !self.errors.is_empty() && self.outages == self.errors.len()
    }
}

/// A network error in Chinese (the OS's English never shown).
pub(crate) fn net_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        ConnectionRefused => "连接被拒绝(服务器未运行,或端口不对)".into(),
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
            "连接被服务器中断".into()
        }
        HostUnreachable | NetworkUnreachable | NetworkDown => "网络不通,无法到达服务器".into(),
        AddrNotAvailable => "地址不可用".into(),
        TimedOut | WouldBlock => "连接超时".into(),
        NotConnected => "未连接".into(),
        _ if e.raw_os_error().is_none() && e.to_string().contains("lookup") => {
            "主机名无法解析(请核对 host,或检查网络与 DNS)".into()
        }
        _ => crate::oserror::reason(e),
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
) -> Result<(), Failure> {
    let ledger = Ledger::open(ledger_path).map_err(|e| e.to_string())?;
    queue::ensure(ledger.conn()).map_err(|e| e.to_string())?;
    let projects = ledger.projects().map_err(|e| e.to_string())?;
    // Read here only for the form's 电子邮箱; the intake checks it whole.
    let ctx = Context {
        schemas,
        projects: &projects,
        parties: None,
    };
    let imap = &cfg.imap;
    let mut mailbox = imap::Mailbox::open(cfg, &imap.folder)?;
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
    for uid in mailbox.uids()? {
        let state = queue::seen(ledger.conn(), &key, validity, uid).map_err(|e| e.to_string())?;
        match state.as_deref() {
            Some("flagged") => continue,
            Some(_) => {}
            None => {
                let fetched = mailbox.fetch(uid, cfg.max_bytes())?;
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
                    mailbox.flag(uid)?;
                    "flagged"
                }
            }
        } else {
            mailbox.flag(uid)?;
            "flagged"
        };
        queue::set_state(ledger.conn(), &key, validity, uid, done).map_err(|e| e.to_string())?;
    }
    mailbox.logout();
    Ok(())
}

/// Why a message is our own output come back, if it is: from our own
/// address, or itself one of our replies (our Message-ID). A unit's reply
/// to ours (In-Reply-To/References naming it) is not: it may bring a
/// corrected form.
fn own_output(
    cfg: &MailConfig,
    ledger: &Ledger,
    m: &parse::Incoming,
) -> Result<Option<String>, String> {
    let ours = smtp::from_address(cfg).ok().map(|a| a.to_string());
    if let (Some(ours), Some(sender)) = (&ours, &m.sender) {
        if ours.eq_ignore_ascii_case(sender) {
            return Ok(Some(format!("本系统发件地址 {sender} 发出的邮件")));
        }
    }
    if let Some(id) = &m.message_id {
        if parse::is_our_message_id(id)
            || queue::is_our_reply(ledger.conn(), id).map_err(|e| e.to_string())?
        {
            return Ok(Some(format!("本系统发出的回复(Message-ID {id})")));
        }
    }
    Ok(None)
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
    let m = incoming.as_ref().ok();
    let earlier = match m.and_then(|m| m.message_id.as_deref()) {
        Some(id) => queue::by_message_id(ledger.conn(), id).map_err(|e| e.to_string())?,
        None => None,
    };
    let own = match m {
        Some(m) => own_output(cfg, ledger, m)?,
        None => None,
    };
    let (kind, note, reply) = match &incoming {
        Err(e) => (
            queue::kind::UNPARSEABLE,
            Some(e.clone()),
            queue::reply::NONE,
        ),
        Ok(_) if earlier.is_some() => {
            summary.duplicates += 1;
            let note = format!(
                "与此前收取的邮件(UID {})Message-ID 相同,不再收取",
                earlier.unwrap_or_default()
            );
            (queue::kind::DUPLICATE, Some(note), queue::reply::NONE)
        }
        Ok(_) if own.is_some() => {
            summary.own += 1;
            (queue::kind::OWN, own.clone(), queue::reply::NONE)
        }
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
            let mut seen = std::collections::HashSet::new();
            let mut generated = 0;
            for a in workbooks {
                if crate::generated::is_generated(&a.bytes) {
                    info!(
                        "邮件 UID {uid} 的附件“{}”是本系统生成的文件,不作为申请表处理",
                        a.name
                    );
                    generated += 1;
                } else if seen.insert(sha256(&a.bytes)) {
                    saved.push(save(folders, a, m.timestamp, ctx)?);
                }
            }
            let others: Vec<&str> = others.iter().map(|a| a.name.as_str()).collect();
            let note = (!others.is_empty()).then(|| others.join("、"));
            if saved.is_empty() && (generated > 0 || m.carries_ours) {
                summary.own += 1;
                let note = "只附带本系统发出的回复或生成的文件(问题清单、开通情况表等)".to_string();
                (queue::kind::OWN, Some(note), queue::reply::NONE)
            } else if saved.is_empty() {
                summary.without_workbook += 1;
                (queue::kind::NO_WORKBOOK, note, queue::reply::WAITING)
            } else {
                summary.workbooks += saved.len();
                (queue::kind::SUBMISSION, note, queue::reply::WAITING)
            }
        }
    };
    crash_point("saved");
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
        queue::insert_attachment(&tx, id, &s.sha, &s.name, &s.shown, s.email.as_deref())
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

use crate::intake::journal::sha256_hex as sha256;

struct Saved {
    sha: String,
    /// The name stored in the inbox (made safe).
    name: String,
    /// The name as the unit attached it.
    shown: String,
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
    let sha = sha256(&a.bytes);
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
        shown: a.name.clone(),
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
        if let Err(e) = answer_one(cfg, folders, &ledger, &msg, &subs, summary) {
            // One message that cannot be answered never holds up the others.
            queue::set_reply(ledger.conn(), msg.id, queue::reply::NONE)
                .map_err(|e| e.to_string())?;
            summary.fail(Failure::from(format!(
                "来自 {} 的邮件“{}”无法回复:{e}",
                msg.reply_to, msg.subject
            )));
        }
    }
    Ok(())
}

/// The addresses copied: each form's 电子邮箱, if allowed and not already
/// a recipient (nor our own address).
fn copies(cfg: &MailConfig, msg: &queue::Message, subs: &[queue::Submission]) -> Vec<String> {
    let ours = smtp::from_address(cfg).ok().map(|a| a.to_string());
    let mut cc: Vec<String> = Vec::new();
    for email in subs.iter().filter_map(|s| s.email.as_deref()) {
        let taken = email.eq_ignore_ascii_case(&msg.reply_to)
            || ours
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(email))
            || cc.iter().any(|c| c.eq_ignore_ascii_case(email));
        if taken {
            continue;
        }
        if !allowed(cfg, email) {
            info!("表中填写的电子邮箱 {email} 不在 allow_domains 中,不抄送");
            continue;
        }
        cc.push(email.to_string());
    }
    cc
}

fn answer_one(
    cfg: &MailConfig,
    folders: &Folders,
    ledger: &Ledger,
    msg: &queue::Message,
    subs: &[queue::Submission],
    summary: &mut Summary,
) -> Result<(), String> {
    let from = cfg.smtp.from.clone().unwrap_or_default();
    let content = reply_content(msg, subs);
    for note in content.notes {
        if !summary.notes.contains(&note) {
            warn!("{note}");
            summary.notes.push(note);
        }
    }
    let cc = copies(cfg, msg, subs);
    let thread = compose::Thread {
        message_id: msg.message_id.as_deref(),
        references: msg.refs.as_deref(),
        subject: &msg.subject,
    };
    let draft = compose::reply(
        &from,
        &msg.reply_to,
        &cc,
        &thread,
        &content.body,
        &content.files,
    )?;
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
        crate::names::write_atomic(&path, &draft.raw).map_err(|e| crate::oserror::at(&path, &e))?;
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

/// What a reply says and carries, and the notes meant for the clerk only.
struct Content {
    body: String,
    files: Vec<compose::File>,
    notes: Vec<String>,
}

/// How the original message is named in the reply.
fn letter(subject: &str) -> String {
    if subject.trim().is_empty() {
        "来信(无主题)".to_string()
    } else {
        format!("来信“{subject}”")
    }
}

/// `name` without its extension.
fn stem(name: &str) -> &str {
    name.rsplit_once('.').map_or(name, |(s, _)| s)
}

/// A generated text (receipt, summary) as a unit reads it, by mail or on
/// the upload page: the operator notes (lines about parties.yaml,
/// instructions to run zwyun) taken out and returned apart, and the drafts
/// said to be where the unit finds them (`place`).
pub fn text_for_unit(text: &str, place: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut notes = Vec::new();
    // The files start with a BOM for Notepad; not inside a mail body.
    for line in text.trim_start_matches('\u{feff}').lines() {
        if line.contains("parties.yaml") || line.contains("用 zwyun") {
            let note = line.trim();
            let note = note
                .strip_prefix("注意")
                .map_or(note, |n| n.trim_start_matches([':', '\u{ff1a}']));
            notes.push(note.to_string());
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    (out.replace("草稿见同一文件夹", place), notes)
}

/// A generated text as the unit should read it: the unit's own file name,
/// drafts said to be attached, and operator notes (lines about
/// parties.yaml, instructions to run zwyun) moved out to `notes`.
fn for_unit(
    text: &str,
    sub: &queue::Submission,
    drafts_attached: bool,
    notes: &mut Vec<String>,
) -> String {
    let place = if drafts_attached {
        "草稿见本邮件附件"
    } else {
        "草稿由区科创服务中心另行提供"
    };
    let (out, clerk) = text_for_unit(text, place);
    notes.extend(clerk);
    // The file line names the workbook as stored in the inbox.
    out.lines()
        .map(|l| {
            if l.starts_with("文件") {
                l.replace(&sub.name, &sub.shown)
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_string()
}

/// Whether an output of a submission goes back to the unit: for a form
/// that passed, everything but the JSON; otherwise the problem list.
pub fn output_for_unit(valid: bool, output: &str) -> bool {
    if valid {
        !output.ends_with(".json")
    } else {
        output.ends_with(".xlsx")
    }
}

/// The body and the files of a reply: per workbook its receipt or its
/// summary of problems; attached, the receipt and drafts of a valid form,
/// the problem list of one with errors; each under a name of its own.
fn reply_content(msg: &queue::Message, subs: &[queue::Submission]) -> Content {
    let mut body = String::from("您好!\n\n");
    let mut files: Vec<compose::File> = Vec::new();
    let mut notes = Vec::new();
    let letter = letter(&msg.subject);
    match msg.kind.as_str() {
        queue::kind::SUBMISSION => {
            let _ = writeln!(
                body,
                "{letter}所附的 {} 份表格已处理,结果如下。\n",
                subs.len()
            );
            for (i, s) in subs.iter().enumerate() {
                let _ = writeln!(body, "—— 附件 {}:{} ——", i + 1, s.shown);
                let valid = s.status.as_deref() == Some("valid");
                let exists = |o: &&String| Path::new(o.as_str()).is_file();
                let drafts_attached = valid
                    && s.outputs
                        .iter()
                        .filter(exists)
                        .any(|o| o.ends_with(".docx"));
                for out in s.outputs.iter().filter(exists) {
                    let path = Path::new(out);
                    let file_name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if out.ends_with(".txt") {
                        let Ok(text) = std::fs::read_to_string(path) else {
                            continue;
                        };
                        if file_name.starts_with("协议草稿未生成") {
                            notes.push(format!("{}:{}", s.shown, text.trim().replace('\n', " ")));
                            continue;
                        }
                        let text = for_unit(&text, s, drafts_attached, &mut notes);
                        body.push_str(&text);
                        body.push_str("\n\n");
                        if valid {
                            let name = format!("{}-{}.txt", stem(&file_name), stem(&s.shown));
                            files.push(compose::File {
                                name,
                                bytes: format!("\u{feff}{text}\n").into_bytes(),
                            });
                        }
                        continue;
                    }
                    if !output_for_unit(valid, out) {
                        continue;
                    }
                    if let Ok(bytes) = std::fs::read(path) {
                        let name = match file_name.strip_prefix(stem(&s.name)) {
                            Some(rest) if !rest.is_empty() => format!("{}{rest}", stem(&s.shown)),
                            _ => file_name.clone(),
                        };
                        files.push(compose::File { name, bytes });
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
                "{letter}{}\n请将填写好的附件1《松江区市政务云资源申请表》或附件4《松江区市政务云资源变更申请表》(Excel 工作簿)单独发送,不要附带其他大文件。",
                msg.note.as_deref().unwrap_or_default()
            );
        }
        _ => {
            let _ = writeln!(body, "{letter}中没有找到 Excel 工作簿附件,因此未能受理。");
            if let Some(others) = &msg.note {
                let _ = writeln!(body, "来信所附的文件({others})不是 Excel 工作簿。");
            }
            body.push_str("请将填写好的附件1《松江区市政务云资源申请表》或附件4《松江区市政务云资源变更申请表》(.xlsx)作为附件回复本邮件。空白表格可向区科创服务中心索取。\n");
        }
    }
    body.push_str(SIGNATURE);
    distinct_names(&mut files);
    Content { body, files, notes }
}

/// Attachment names made distinct (`-2`, `-3` before the extension), as
/// mail clients save attachments of one name over each other.
fn distinct_names(files: &mut [compose::File]) {
    let mut taken: Vec<String> = Vec::new();
    for f in files.iter_mut() {
        let mut name = f.name.clone();
        let (st, ext) = match f.name.rsplit_once('.') {
            Some((s, e)) => (s.to_string(), format!(".{e}")),
            None => (f.name.clone(), String::new()),
        };
        let mut i = 2;
        while taken.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
            name = format!("{st}-{i}{ext}");
            i += 1;
        }
        taken.push(name.clone());
        f.name = name;
    }
}

/// How long to wait after `rounds` passes that could not deliver a
/// reply: 1, 2, 4 … minutes, at most an hour.
fn backoff(rounds: u32) -> Duration {
    Duration::from_secs(60u64.saturating_mul(1 << rounds.min(6)).min(3600))
}

/// Tries within one pass before leaving a reply to the backoff schedule.
const QUICK_TRIES: u32 = 3;

/// A held .eml as the clerk left it: a UTF-8 BOM dropped, line ends made
/// CRLF, and the recipients read from its To and Cc. An edit that is no
/// longer a mail (no headers, no recipient) is refused with why.
pub fn held_edit(bytes: &[u8]) -> Result<(Vec<u8>, Vec<String>), String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut raw = Vec::with_capacity(bytes.len() + bytes.len() / 40);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                raw.extend_from_slice(b"\r\n");
                i += 1;
            }
            b'\r' | b'\n' => raw.extend_from_slice(b"\r\n"),
            c => raw.push(c),
        }
        i += 1;
    }
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Err("文件中找不到邮件头与正文之间的空行,已不是一封完整的邮件".into());
    };
    let (headers, _) =
        mailparse::parse_headers(&raw[..end + 4]).map_err(|_| "邮件头无法解析".to_string())?;
    if let Some(h) = headers.iter().find(|h| {
        let key = h.get_key();
        key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic() && b != b':')
    }) {
        return Err(format!("邮件头“{}”不是有效的邮件头", h.get_key().trim()));
    }
    use mailparse::MailHeaderMap as _;
    if headers.get_first_header("From").is_none() {
        return Err("缺少发件人(From:)".into());
    }
    let mut recipients: Vec<String> = Vec::new();
    for name in ["To", "Cc"] {
        for h in headers.get_all_headers(name) {
            let text = parse::header_text(h);
            let list = mailparse::addrparse(&text)
                .map_err(|_| format!("{name}: 中的地址“{}”无法识别", text.trim()))?;
            for a in list.iter() {
                let addrs: Vec<&mailparse::SingleInfo> = match a {
                    mailparse::MailAddr::Single(s) => vec![s],
                    mailparse::MailAddr::Group(g) => g.addrs.iter().collect(),
                };
                for s in addrs {
                    let addr = s.addr.trim().to_string();
                    if addr.parse::<lettre::Address>().is_err() {
                        return Err(format!("{name}: 中的“{addr}”不是有效的邮箱地址"));
                    }
                    if !recipients.iter().any(|r| r.eq_ignore_ascii_case(&addr)) {
                        recipients.push(addr);
                    }
                }
            }
        }
    }
    if recipients.is_empty() {
        return Err("没有收件人(To: 为空)".into());
    }
    Ok((raw, recipients))
}

/// Sends the replies that are due (`all`: also held and failed ones, for
/// `zwyun mail send`). Each recipient is sent to on its own: one the server
/// refuses is recorded and the others still get the reply. A reply is
/// marked sent only once the server accepted it for every recipient it
/// did not refuse.
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
        if let Some(eml) = reply.eml.clone().filter(|_| reply.state == "held") {
            // The clerk's reviewed copy is what goes out; a deleted copy is withdrawn.
            let edited = match std::fs::read(&eml) {
                Ok(bytes) => held_edit(&bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    queue::withdraw(ledger.conn(), reply.id).map_err(|e| e.to_string())?;
                    continue;
                }
                Err(e) => Err(crate::oserror::reason(&e)),
            };
            match edited {
                Ok((raw, recipients)) => {
                    reply.raw = raw;
                    reply.recipients = recipients;
                }
                Err(why) => {
                    let why = format!(
                        "暂存的回复 {eml} 未发送:{why};请改正或删除该文件后再运行 zwyun mail send"
                    );
                    queue::refuse_edit(ledger.conn(), reply.id, &why).map_err(|e| e.to_string())?;
                    summary.failed += 1;
                    summary.fail(Failure::from(why));
                    continue;
                }
            }
        }
        send_one(&ledger, &transport, &from, &reply, summary)?;
    }
    Ok(())
}

/// One reply to each of its recipients not yet served, with up to
/// `QUICK_TRIES` tries in this pass.
fn send_one(
    ledger: &Ledger,
    transport: &lettre::SmtpTransport,
    from: &lettre::Address,
    reply: &queue::Reply,
    summary: &mut Summary,
) -> Result<(), String> {
    let conn = ledger.conn();
    let settled = queue::settled_recipients(conn, reply.id).map_err(|e| e.to_string())?;
    let is_settled = |a: &str| settled.iter().any(|(s, _)| s.eq_ignore_ascii_case(a));
    let mut pending: Vec<String> = reply
        .recipients
        .iter()
        .filter(|r| !is_settled(r))
        .cloned()
        .collect();
    let mut delivered = settled.iter().any(|(_, o)| o == queue::outcome::SENT);
    if pending.is_empty() && !delivered {
        return Ok(()); // every recipient refused before: reported then
    }
    crash_point("before-send");
    let mut tries = 0;
    let mut stop: Option<smtp::SendError> = None;
    for attempt in 0..QUICK_TRIES {
        if pending.is_empty() {
            break; // served before an interruption; only the state is left
        }
        if attempt > 0 {
            std::thread::sleep(Duration::from_secs(attempt as u64));
        }
        tries += 1;
        stop = None;
        if pending.len() > 1 {
            // All together first (one copy through the relay); one by one
            // only when the server refuses someone.
            match smtp::send(transport, from, &pending, &reply.raw) {
                Ok(()) => {
                    crash_point("after-send");
                    for addr in &pending {
                        queue::record_recipient(conn, reply.id, addr, queue::outcome::SENT, None)
                            .map_err(|e| e.to_string())?;
                    }
                    pending.clear();
                    delivered = true;
                    break;
                }
                Err(e) if e.kind == smtp::Kind::Refused => {}
                Err(e) => {
                    warn!(
                        "回复“{}”发送失败(第 {} 次):{}",
                        reply.subject,
                        attempt + 1,
                        e.message
                    );
                    let retry = e.transient();
                    stop = Some(e);
                    if retry {
                        continue;
                    }
                    break;
                }
            }
        }
        let mut left = Vec::new();
        for (i, addr) in pending.iter().enumerate() {
            match smtp::send(transport, from, std::slice::from_ref(addr), &reply.raw) {
                Ok(()) => {
                    crash_point("after-send");
                    queue::record_recipient(conn, reply.id, addr, queue::outcome::SENT, None)
                        .map_err(|e| e.to_string())?;
                    delivered = true;
                }
                Err(e) if e.kind == smtp::Kind::Refused => {
                    queue::record_recipient(
                        conn,
                        reply.id,
                        addr,
                        queue::outcome::REFUSED,
                        Some(&e.message),
                    )
                    .map_err(|e| e.to_string())?;
                    warn!(
                        "回复“{}”的收件人 {addr} 被拒收:{}",
                        reply.subject, e.message
                    );
                    summary
                        .refused
                        .push(format!("{addr}(回复“{}”):{}", reply.subject, e.message));
                }
                Err(e) => {
                    warn!(
                        "回复“{}”发送失败(第 {} 次):{}",
                        reply.subject,
                        attempt + 1,
                        e.message
                    );
                    left.push(addr.clone());
                    if e.kind != smtp::Kind::Busy {
                        // The server is out of reach (or a setting is wrong):
                        // the other recipients wait too.
                        left.extend(pending[i + 1..].iter().cloned());
                        stop = Some(e);
                        break;
                    }
                    stop = Some(e);
                }
            }
        }
        pending = left;
        let retry = stop.as_ref().is_some_and(smtp::SendError::transient);
        if pending.is_empty() || !retry {
            break;
        }
    }
    if pending.is_empty() {
        if delivered {
            queue::mark_sent(conn, reply.id, tries).map_err(|e| e.to_string())?;
            if let Some(eml) = &reply.eml {
                move_sent(Path::new(eml));
            }
            summary.sent += 1;
        } else {
            let why = "所有收件人均被拒收".to_string();
            queue::mark_failed(conn, reply.id, tries, &why, None).map_err(|e| e.to_string())?;
            summary.failed += 1;
            summary.fail(Failure::from(format!(
                "回复“{}”未能发送:{why}",
                reply.subject
            )));
        }
        return Ok(());
    }
    let e = stop.unwrap_or(smtp::SendError {
        message: "SMTP:发送未完成".into(),
        kind: smtp::Kind::Down,
    });
    let next = e.transient().then(|| {
        (chrono::Local::now()
            + chrono::Duration::from_std(backoff(reply.rounds)).unwrap_or_default())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
    });
    queue::mark_failed(conn, reply.id, tries, &e.message, next.as_deref())
        .map_err(|e| e.to_string())?;
    summary.failed += 1;
    summary.fail(Failure {
        message: format!("回复“{}”未能发送:{}", reply.subject, e.message),
        outage: e.transient(),
    });
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
            summary.fail(e);
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
    let refusals = queue::refusals(conn).map_err(|e| e.to_string())?;
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
    if !refusals.is_empty() {
        s.push_str("被拒收的收件人(回复已发给其余收件人):\n");
        for r in &refusals {
            let _ = writeln!(s, "  {}  回复“{}”:{}", r.address, r.subject, r.detail);
        }
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
            self.summary.fail(e);
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

#[cfg(test)]
mod tests {
    use super::held_edit;

    #[test]
    fn held_edit_reads_recipients_and_refuses_broken_files() {
        let ok = "\u{feff}From: a@example.cn\nTo: b@example.cn, \"王\" <c@example.cn>\nCc: d@example.cn\nSubject: x\n\nbody\n";
        let (raw, to) = held_edit(ok.as_bytes()).unwrap();
        assert_eq!(to, ["b@example.cn", "c@example.cn", "d@example.cn"]);
        assert!(raw.starts_with(b"From: a@example.cn\r\nTo:"));
        assert!(!raw.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'));
        let refused = |text: &str| held_edit(text.as_bytes()).unwrap_err();
        assert!(refused("To: b@example.cn\n\nbody").contains("发件人"));
        assert!(refused("From: a@example.cn\nSubject: x\n\nbody").contains("收件人"));
        assert!(refused("From: a@example.cn\nTo: 不是地址\n\nbody").contains("To:"));
        assert!(refused("只是一段文字").contains("空行"));
        assert!(refused("请转给王科长\n\n正文").contains("邮件头"));
    }
}
