//! The ledger's append-only event log: every change of the ledger is one
//! row here — when, who, which command, from which file (and its hash),
//! why. Facts (projects, configurations, agreements, deliveries, entries,
//! terminations) point to the event that recorded them; a revocation or a
//! date correction is itself an event, and the fact rows carry the result
//! (`revoked_by`, the corrected date) while the log keeps the original.

use chrono::NaiveDate;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;

use super::{now, LedgerError, Result};

/// Who records, with which command, from what: set once per command.
#[derive(Debug, Clone, Default)]
pub struct Recording {
    pub by: String,
    pub command: String,
    /// The file a change comes from, and its SHA-256 (hex).
    pub source: Option<(String, String)>,
    /// Why a refused date or order was recorded anyway (`--override`).
    pub override_reason: Option<String>,
}

impl Recording {
    pub fn new(by: Option<String>, command: &str) -> Recording {
        Recording {
            by: by.filter(|b| !b.trim().is_empty()).unwrap_or_else(os_user),
            command: command.to_string(),
            source: None,
            override_reason: None,
        }
    }
}

/// The OS user's name, or "(未知用户)".
pub fn os_user() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "(未知用户)".to_string())
}

/// One row of the log.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: i64,
    pub at: String,
    pub by: String,
    pub command: String,
    pub action: String,
    pub project_id: Option<i64>,
    pub date: Option<NaiveDate>,
    pub source: Option<String>,
    pub sha256: Option<String>,
    pub reason: Option<String>,
    /// The event a `revoke` or `correct` concerns.
    pub target: Option<i64>,
    pub detail: String,
}

impl Event {
    /// The action in the clerk's words.
    pub fn action_name(&self) -> &'static str {
        action_name(&self.action)
    }
}

pub fn action_name(action: &str) -> &'static str {
    match action {
        "approve_quota" => "批准配额(附件1)",
        "revise_quota" => "配额调整(附件1)",
        "approve_change" => "批准变更(附件4)",
        "test_signed" => "签订测试协议(附件2)",
        "formal_signed" => "签订正式协议(附件3)",
        "delivered" => "资源发放",
        "entered" => "录入市级平台",
        "terminated" => "终止",
        "set_code" => "登记项目编号",
        "revoke" => "撤销",
        "correct" => "更正日期",
        "settled" => "年度结算",
        _ => "其他",
    }
}

/// What an event records besides its context.
#[derive(Debug, Clone, Default)]
pub struct NewEvent<'a> {
    pub action: &'a str,
    pub project_id: Option<i64>,
    pub date: Option<NaiveDate>,
    pub reason: Option<&'a str>,
    pub target: Option<i64>,
    pub detail: String,
}

/// Appends an event; returns its id.
pub fn append(conn: &Connection, rec: &Recording, e: &NewEvent) -> Result<i64> {
    let (source, sha) = match &rec.source {
        Some((s, h)) => (Some(s.as_str()), Some(h.as_str())),
        None => (None, None),
    };
    // An override's reason is the event's reason when it has none of its own.
    let reason = e.reason.or(rec.override_reason.as_deref());
    let detail = match (&rec.override_reason, e.reason) {
        (Some(why), Some(_)) => format!("{}(例外登记:{why})", e.detail),
        (Some(_), None) if !e.detail.is_empty() => format!("{}(例外登记)", e.detail),
        (Some(_), None) => "例外登记".to_string(),
        _ => e.detail.clone(),
    };
    conn.execute(
        "INSERT INTO events (at, by, command, action, project_id, date, source, sha256, reason, target, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            now(),
            rec.by,
            rec.command,
            e.action,
            e.project_id,
            e.date,
            source,
            sha,
            reason,
            e.target,
            detail
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

const COLUMNS: &str =
    "id, at, by, command, action, project_id, date, source, sha256, reason, target, detail";

fn event(r: &Row) -> rusqlite::Result<Event> {
    Ok(Event {
        id: r.get(0)?,
        at: r.get(1)?,
        by: r.get(2)?,
        command: r.get(3)?,
        action: r.get(4)?,
        project_id: r.get(5)?,
        date: r.get(6)?,
        source: r.get(7)?,
        sha256: r.get(8)?,
        reason: r.get(9)?,
        target: r.get(10)?,
        detail: r.get(11)?,
    })
}

/// The log, oldest first; of one project when given.
pub fn list(conn: &Connection, project: Option<i64>) -> Result<Vec<Event>> {
    let filter = match project {
        Some(_) => "project_id = ?1",
        None => "?1 IS NULL",
    };
    let sql = format!("SELECT {COLUMNS} FROM events WHERE {filter} ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([project], event)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The events of these actions, oldest first.
pub fn of_actions(conn: &Connection, actions: &[&str]) -> Result<Vec<Event>> {
    let marks = vec!["?"; actions.len()].join(", ");
    let sql = format!("SELECT {COLUMNS} FROM events WHERE action IN ({marks}) ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(actions), event)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get(conn: &Connection, id: i64) -> Result<Event> {
    let sql = format!("SELECT {COLUMNS} FROM events WHERE id = ?1");
    conn.query_row(&sql, [id], event)
        .optional()?
        .ok_or_else(|| {
            LedgerError::Refused(format!(
                "账本中没有第 {id} 号记录;用 zwyun ledger log 查看记录编号"
            ))
        })
}

/// The event that revoked `id`, if any.
pub fn revoked_by(conn: &Connection, id: i64) -> Result<Option<Event>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM events WHERE action = 'revoke' AND target = ?1 ORDER BY id LIMIT 1"
    );
    Ok(conn.query_row(&sql, [id], event).optional()?)
}
