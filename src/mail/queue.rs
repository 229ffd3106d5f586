//! The mail tables of the ledger: which messages were taken (by
//! UIDVALIDITY + UID, recorded before the message is moved), which
//! submissions came from them, and the replies waiting to be sent.

use rusqlite::{params, Connection, OptionalExtension};

use crate::ledger::{add_column, now, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS mail_messages (
    id INTEGER PRIMARY KEY,
    mailbox TEXT NOT NULL,
    uidvalidity INTEGER NOT NULL,
    uid INTEGER NOT NULL,
    message_id TEXT,
    refs TEXT,
    sender TEXT NOT NULL,
    reply_to TEXT NOT NULL,
    subject TEXT NOT NULL,
    date TEXT,
    kind TEXT NOT NULL,
    note TEXT,
    state TEXT NOT NULL,
    reply TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (mailbox, uidvalidity, uid)
);
CREATE TABLE IF NOT EXISTS mail_attachments (
    message INTEGER NOT NULL REFERENCES mail_messages(id),
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT,
    shown TEXT
);
CREATE INDEX IF NOT EXISTS mail_attachments_sha ON mail_attachments (sha256);
CREATE TABLE IF NOT EXISTS mail_replies (
    id INTEGER PRIMARY KEY,
    message INTEGER REFERENCES mail_messages(id),
    message_id TEXT NOT NULL UNIQUE,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    raw BLOB NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt TEXT NOT NULL,
    last_error TEXT,
    eml TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT,
    rounds INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS mail_messages_message_id ON mail_messages (message_id);
CREATE TABLE IF NOT EXISTS mail_reply_recipients (
    reply INTEGER NOT NULL REFERENCES mail_replies(id),
    address TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT,
    at TEXT NOT NULL,
    PRIMARY KEY (reply, address)
);
";

pub fn ensure(conn: &Connection) -> Result<()> {
    conn.execute_batch(SCHEMA)?;
    add_column(conn, "mail_attachments", "shown", "TEXT")?;
    add_column(conn, "mail_replies", "rounds", "INTEGER NOT NULL DEFAULT 0")?;
    Ok(())
}

/// What kind of message was taken, which decides the reply.
pub mod kind {
    /// Had workbooks: the reply waits for their processing.
    pub const SUBMISSION: &str = "submission";
    /// No workbook: a polite request for the form.
    pub const NO_WORKBOOK: &str = "no_workbook";
    /// Sent by a machine: never answered.
    pub const AUTOMATIC: &str = "automatic";
    pub const OVERSIZE: &str = "oversize";
    /// A Message-ID already taken (again in the same pass, or fetched anew
    /// after the server's address or port changed): never taken twice.
    pub const DUPLICATE: &str = "duplicate";
    /// Our own output come back (from our address, one of our replies, or
    /// only workbooks zwyun wrote): never taken, never answered.
    pub const OWN: &str = "own";
    pub const UNPARSEABLE: &str = "unparseable";
}

/// The state of a message's reply.
pub mod reply {
    /// Waiting for its submissions to be processed.
    pub const WAITING: &str = "waiting";
    pub const QUEUED: &str = "queued";
    /// Not answered (machine mail, sender not allowed, no sender).
    pub const NONE: &str = "none";
}

pub struct NewMessage<'a> {
    pub mailbox: &'a str,
    pub uidvalidity: u32,
    pub uid: u32,
    pub message_id: Option<&'a str>,
    pub refs: Option<&'a str>,
    pub sender: &'a str,
    pub reply_to: &'a str,
    pub subject: &'a str,
    pub date: Option<&'a str>,
    pub kind: &'a str,
    pub note: Option<&'a str>,
    pub reply: &'a str,
}

/// The state (`taken`, `moved`, `flagged`) of a message already recorded.
pub fn seen(
    conn: &Connection,
    mailbox: &str,
    uidvalidity: u32,
    uid: u32,
) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT state FROM mail_messages WHERE mailbox = ?1 AND uidvalidity = ?2 AND uid = ?3",
            params![mailbox, uidvalidity, uid],
            |r| r.get(0),
        )
        .optional()?)
}

/// The message already taken under this Message-ID (any mailbox), with its UID.
pub fn by_message_id(conn: &Connection, message_id: &str) -> Result<Option<u32>> {
    Ok(conn
        .query_row(
            "SELECT uid FROM mail_messages WHERE message_id = ?1 ORDER BY id LIMIT 1",
            [message_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Whether `message_id` is one of the replies zwyun sent.
pub fn is_our_reply(conn: &Connection, message_id: &str) -> Result<bool> {
    Ok(conn
        .prepare("SELECT 1 FROM mail_replies WHERE message_id = ?1")?
        .exists([message_id])?)
}

pub fn insert_message(conn: &Connection, m: &NewMessage) -> Result<i64> {
    conn.execute(
        "INSERT INTO mail_messages (mailbox, uidvalidity, uid, message_id, refs, sender, reply_to, subject, date, kind, note, state, reply, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'taken', ?12, ?13)",
        params![m.mailbox, m.uidvalidity, m.uid, m.message_id, m.refs, m.sender, m.reply_to, m.subject, m.date, m.kind, m.note, m.reply, now()],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn insert_attachment(
    conn: &Connection,
    message: i64,
    sha: &str,
    name: &str,
    shown: &str,
    email: Option<&str>,
) -> Result<()> {
    conn.execute(
        "INSERT INTO mail_attachments (message, sha256, name, shown, email) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![message, sha, name, shown, email],
    )?;
    Ok(())
}

pub fn set_state(
    conn: &Connection,
    mailbox: &str,
    uidvalidity: u32,
    uid: u32,
    state: &str,
) -> Result<()> {
    conn.execute(
        "UPDATE mail_messages SET state = ?4 WHERE mailbox = ?1 AND uidvalidity = ?2 AND uid = ?3",
        params![mailbox, uidvalidity, uid, state],
    )?;
    Ok(())
}

/// A message as needed to answer it.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: i64,
    pub message_id: Option<String>,
    pub refs: Option<String>,
    pub sender: String,
    pub reply_to: String,
    pub subject: String,
    pub kind: String,
    pub note: Option<String>,
}

/// Messages whose reply is still to be composed.
pub fn waiting(conn: &Connection) -> Result<Vec<Message>> {
    let mut stmt = conn.prepare(
        "SELECT id, message_id, refs, sender, reply_to, subject, kind, note FROM mail_messages
         WHERE reply = 'waiting' ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Message {
            id: r.get(0)?,
            message_id: r.get(1)?,
            refs: r.get(2)?,
            sender: r.get(3)?,
            reply_to: r.get(4)?,
            subject: r.get(5)?,
            kind: r.get(6)?,
            note: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One submission of a message, with the journal's verdict (None while
/// it is not processed yet).
#[derive(Debug, Clone)]
pub struct Submission {
    pub name: String,
    /// The name as the unit attached it.
    pub shown: String,
    pub email: Option<String>,
    pub status: Option<String>,
    pub outputs: Vec<String>,
}

pub fn submissions(conn: &Connection, message: i64) -> Result<Vec<Submission>> {
    let mut stmt = conn.prepare(
        "SELECT a.name, a.email, s.status, s.outputs, a.shown FROM mail_attachments a
         LEFT JOIN submissions s ON s.sha256 = a.sha256 WHERE a.message = ?1 ORDER BY a.rowid",
    )?;
    let rows = stmt.query_map([message], |r| {
        let outputs: Option<String> = r.get(3)?;
        let name: String = r.get(0)?;
        let shown: Option<String> = r.get(4)?;
        Ok(Submission {
            shown: shown.unwrap_or_else(|| name.clone()),
            name,
            email: r.get(1)?,
            status: r.get(2)?,
            outputs: outputs
                .and_then(|o| serde_json::from_str(&o).ok())
                .unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn set_reply(conn: &Connection, message: i64, state: &str) -> Result<()> {
    conn.execute(
        "UPDATE mail_messages SET reply = ?2 WHERE id = ?1",
        params![message, state],
    )?;
    Ok(())
}

/// Replies queued to `to` in the last hour (for the per-sender limit).
pub fn replies_last_hour(conn: &Connection, to: &str) -> Result<u32> {
    let since = (chrono::Local::now() - chrono::Duration::hours(1))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM mail_replies r JOIN mail_messages m ON m.id = r.message
         WHERE m.reply_to = ?1 AND r.created_at >= ?2",
        params![to, since],
        |r| r.get(0),
    )?)
}

pub struct NewReply<'a> {
    pub message: i64,
    pub message_id: &'a str,
    pub recipients: &'a [String],
    pub subject: &'a str,
    pub raw: &'a [u8],
    pub state: &'a str,
    pub eml: Option<&'a str>,
    pub note: Option<&'a str>,
}

pub fn insert_reply(conn: &Connection, r: &NewReply) -> Result<i64> {
    conn.execute(
        "INSERT INTO mail_replies (message, message_id, recipients, subject, raw, state, next_attempt, last_error, eml, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?7)",
        params![r.message, r.message_id, serde_json::to_string(r.recipients)?, r.subject, r.raw, r.state, now(), r.note, r.eml],
    )?;
    Ok(conn.last_insert_rowid())
}

/// A reply as stored: sent with exactly these bytes (same Message-ID) on every attempt.
#[derive(Debug, Clone)]
pub struct Reply {
    pub id: i64,
    pub recipients: Vec<String>,
    pub subject: String,
    pub raw: Vec<u8>,
    pub state: String,
    pub attempts: u32,
    pub next_attempt: String,
    pub last_error: Option<String>,
    pub eml: Option<String>,
    /// Passes that ended without delivering it (the retry schedule).
    pub rounds: u32,
}

/// A reply row selected as `id, recipients, subject, raw, state, attempts,
/// next_attempt, last_error, eml, rounds`.
fn reply_row(r: &rusqlite::Row) -> rusqlite::Result<Reply> {
    let recipients: String = r.get(1)?;
    Ok(Reply {
        id: r.get(0)?,
        recipients: serde_json::from_str(&recipients).unwrap_or_default(),
        subject: r.get(2)?,
        raw: r.get(3)?,
        state: r.get(4)?,
        attempts: r.get(5)?,
        next_attempt: r.get(6)?,
        last_error: r.get(7)?,
        eml: r.get(8)?,
        rounds: r.get(9)?,
    })
}

/// Replies to send now: queued and due; with `all`, also held and failed ones.
pub fn due(conn: &Connection, all: bool) -> Result<Vec<Reply>> {
    const COLUMNS: &str =
        "SELECT id, recipients, subject, raw, state, attempts, next_attempt, last_error, eml, rounds FROM mail_replies";
    let rows = if all {
        conn.prepare(&format!(
            "{COLUMNS} WHERE state IN ('queued', 'held', 'failed') ORDER BY id"
        ))?
        .query_map([], reply_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?
    } else {
        conn.prepare(&format!(
            "{COLUMNS} WHERE state = 'queued' AND next_attempt <= ?1 ORDER BY id"
        ))?
        .query_map([now()], reply_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?
    };
    Ok(rows)
}

/// Unsent replies, for `status` (without their message bytes).
pub fn unsent(conn: &Connection) -> Result<Vec<Reply>> {
    let mut stmt = conn.prepare(
        "SELECT id, recipients, subject, x'', state, attempts, next_attempt, last_error, eml, 0 FROM mail_replies
         WHERE state NOT IN ('sent', 'withdrawn') ORDER BY id",
    )?;
    let rows = stmt.query_map([], reply_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn mark_sent(conn: &Connection, id: i64, tries: u32) -> Result<()> {
    conn.execute(
        "UPDATE mail_replies SET state = 'sent', attempts = attempts + ?3, sent_at = ?2, last_error = NULL WHERE id = ?1",
        params![id, now(), tries],
    )?;
    Ok(())
}

/// A failed attempt: retried at `next` (transient) or kept as failed.
pub fn mark_failed(
    conn: &Connection,
    id: i64,
    tries: u32,
    error: &str,
    next: Option<&str>,
) -> Result<()> {
    match next {
        Some(next) => conn.execute(
            "UPDATE mail_replies SET state = 'queued', attempts = attempts + ?4, rounds = rounds + 1, last_error = ?2, next_attempt = ?3 WHERE id = ?1",
            params![id, error, next, tries],
        )?,
        None => conn.execute(
            "UPDATE mail_replies SET state = 'failed', attempts = attempts + ?3, last_error = ?2 WHERE id = ?1",
            params![id, error, tries],
        )?,
    };
    Ok(())
}

/// A held reply whose edited .eml cannot be sent: it stays held, with why.
pub fn refuse_edit(conn: &Connection, id: i64, why: &str) -> Result<()> {
    conn.execute(
        "UPDATE mail_replies SET last_error = ?2 WHERE id = ?1",
        params![id, why],
    )?;
    Ok(())
}

/// What became of one recipient of a reply.
pub mod outcome {
    pub const SENT: &str = "sent";
    /// Refused for good by the server (e.g. 550 no such user).
    pub const REFUSED: &str = "refused";
}

pub fn record_recipient(
    conn: &Connection,
    reply: i64,
    address: &str,
    outcome: &str,
    detail: Option<&str>,
) -> Result<()> {
    conn.execute(
        "INSERT OR REPLACE INTO mail_reply_recipients (reply, address, outcome, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![reply, address.to_lowercase(), outcome, detail, now()],
    )?;
    Ok(())
}

/// Recipients of `reply` already delivered or refused, lower-cased.
pub fn settled_recipients(conn: &Connection, reply: i64) -> Result<Vec<(String, String)>> {
    let mut stmt =
        conn.prepare("SELECT address, outcome FROM mail_reply_recipients WHERE reply = ?1")?;
    let rows = stmt.query_map([reply], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A recipient the server refused: the reply's subject, the address, why.
pub struct Refusal {
    pub subject: String,
    pub address: String,
    pub detail: String,
}

/// Every refused recipient (none on a ledger from before this table).
pub fn refusals(conn: &Connection) -> Result<Vec<Refusal>> {
    let exists = conn
        .prepare(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'mail_reply_recipients'",
        )?
        .exists([])?;
    if !exists {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(
        "SELECT r.subject, x.address, COALESCE(x.detail, '') FROM mail_reply_recipients x
         JOIN mail_replies r ON r.id = x.reply WHERE x.outcome = 'refused' ORDER BY x.at, x.address",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Refusal {
            subject: r.get(0)?,
            address: r.get(1)?,
            detail: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The clerk deleted the held .eml: never sent.
pub fn withdraw(conn: &Connection, id: i64) -> Result<()> {
    conn.execute(
        "UPDATE mail_replies SET state = 'withdrawn', last_error = '暂存的 .eml 已被删除,不再发送' WHERE id = ?1",
        [id],
    )?;
    Ok(())
}

/// Counts of replies by state.
pub fn counts(conn: &Connection) -> Result<Vec<(String, u32)>> {
    let mut stmt =
        conn.prepare("SELECT state, COUNT(*) FROM mail_replies GROUP BY state ORDER BY state")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether the ledger has mail tables at all (status on a ledger never used with mail).
pub fn present(conn: &Connection) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'mail_replies'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}
