//! Schema versions of the ledger. A ledger records its version in SQLite's
//! `user_version`; opening an older ledger brings it up to date in one
//! write transaction, keeping every row it holds.
//!
//! Version 0 (zwyun up to b58e24d): `projects` (UNIQUE code, UNIQUE
//! unit + name), `configs`, `agreements`, `submissions`.
//!
//! Version 1: the event log.
//! - `events`: append-only, one row per change of the ledger (never
//!   updated or deleted).
//! - `projects` rebuilt without its UNIQUE constraints (the 项目编号 is the
//!   identity when present: same unit + name with two codes are two
//!   projects), plus `approved_on` (the approval date; unknown, so NULL,
//!   for projects approved before version 1: `approved_at` is only when
//!   it was typed in, often after the agreements), `event_id` (the
//!   event that recorded it) and `revoked_by` (the event that revoked it).
//! - `configs` and `agreements` gain `event_id` and `revoked_by`.
//! - `facts`: deliveries, platform entries, terminations.
//! - every project, configuration and agreement already there gets an
//!   event of its kind, with command `migrate`, by `(迁移)`, at the time
//!   the row was recorded, so history starts with what the ledger held.
//!
//! Version 2: quota revisions (a new 附件1 for a project with an
//! agreement, 细则 五(三)、五(四)). `configs` gains `role`: NULL for the rows
//! of earlier versions (the 附件1's row is the quota and the first
//! configuration, an 附件4's a configuration from its date); `quota` for a
//! revised quota from its date that leaves the configuration in force
//! alone; `quota_config` for a revision before the formal agreement,
//! which is also the configuration the formal agreement starts with.

use rusqlite::{params, Connection, Transaction, TransactionBehavior};

use super::Result;

pub const VERSION: i64 = 2;

/// Who the migration events are recorded as.
pub const MIGRATION_BY: &str = "(迁移)";

pub fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// Brings the ledger to `VERSION`; returns the version it had when a
/// ledger holding data was migrated (None for an up-to-date or new one).
/// Concurrent openers: the check is repeated inside the write
/// transaction, so only one process migrates.
pub fn migrate(conn: &Connection) -> Result<Option<i64>> {
    if version(conn)? >= VERSION {
        return Ok(None);
    }
    // `projects` is rebuilt while `configs` and `agreements` point to it
    // (SQLite's procedure for changing a table): foreign keys off meanwhile,
    // which can only be switched outside a transaction.
    let fk: bool = conn.pragma_query_value(None, "foreign_keys", |r| r.get(0))?;
    conn.pragma_update(None, "foreign_keys", false)?;
    let result = migrate_in_transaction(conn);
    conn.pragma_update(None, "foreign_keys", fk)?;
    result
}

fn migrate_in_transaction(conn: &Connection) -> Result<Option<i64>> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate)?;
    let from = version(&tx)?;
    if from >= VERSION {
        return Ok(None);
    }
    let rows: i64 = tx.query_row(
        "SELECT (SELECT count(*) FROM projects) + (SELECT count(*) FROM submissions)",
        [],
        |r| r.get(0),
    )?;
    if from < 1 {
        to_1(&tx)?;
    }
    if from < 2 {
        tx.execute_batch("ALTER TABLE configs ADD COLUMN role TEXT")?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    // The rebuilt table must leave no reference dangling.
    let dangling: i64 = tx.query_row("SELECT (SELECT count(*) FROM pragma_foreign_key_check('configs')) + (SELECT count(*) FROM pragma_foreign_key_check('agreements'))", [], |r| {
        r.get(0)
    })?;
    if dangling > 0 {
        return Err(super::LedgerError::Refused(format!(
            "账本升级失败:{dangling} 条记录指向不存在的项目;账本未改动"
        )));
    }
    tx.commit()?;
    Ok((rows > 0).then_some(from))
}

fn to_1(tx: &Transaction) -> Result<()> {
    tx.execute_batch(
        "
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    by TEXT NOT NULL,
    command TEXT NOT NULL,
    action TEXT NOT NULL,
    project_id INTEGER,
    date TEXT,
    source TEXT,
    sha256 TEXT,
    reason TEXT,
    target INTEGER REFERENCES events(id),
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_project ON events (project_id);
CREATE TABLE projects_v1 (
    id INTEGER PRIMARY KEY,
    code TEXT,
    unit TEXT NOT NULL,
    name TEXT NOT NULL,
    provider TEXT NOT NULL,
    application_json TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    approved_on TEXT,
    event_id INTEGER,
    revoked_by INTEGER
);
INSERT INTO projects_v1 (id, code, unit, name, provider, application_json, approved_at)
    SELECT id, code, unit, name, provider, application_json, approved_at FROM projects;
DROP TABLE projects;
ALTER TABLE projects_v1 RENAME TO projects;
ALTER TABLE configs ADD COLUMN event_id INTEGER;
ALTER TABLE configs ADD COLUMN revoked_by INTEGER;
ALTER TABLE agreements ADD COLUMN event_id INTEGER;
ALTER TABLE agreements ADD COLUMN revoked_by INTEGER;
CREATE TABLE facts (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    kind TEXT NOT NULL,
    subkind TEXT NOT NULL DEFAULT '',
    date TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    revoked_by INTEGER,
    detail TEXT NOT NULL DEFAULT ''
);
",
    )?;
    let log = |at: &str, action: &str, project: i64, date: Option<String>, detail: &str| {
        tx.execute(
            "INSERT INTO events (at, by, command, action, project_id, date, detail)
             VALUES (?1, ?2, 'migrate', ?3, ?4, ?5, ?6)",
            params![at, MIGRATION_BY, action, project, date, detail],
        )?;
        Ok::<i64, rusqlite::Error>(tx.last_insert_rowid())
    };
    let projects: Vec<(i64, String, Option<String>)> = tx
        .prepare("SELECT id, approved_at, approved_on FROM projects ORDER BY id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, at, on) in projects {
        let event = log(&at, "approve_quota", id, on, "")?;
        tx.execute(
            "UPDATE projects SET event_id = ?1 WHERE id = ?2",
            params![event, id],
        )?;
    }
    // The first configuration of a project (no effective date) is its
    // quota: its event is the approval's.
    let configs: Vec<(i64, i64, Option<String>, String, String)> = tx
        .prepare("SELECT id, project_id, effective, source, recorded_at FROM configs ORDER BY id")?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, project, effective, source, at) in configs {
        let event = match effective {
            None => tx.query_row(
                "SELECT event_id FROM projects WHERE id = ?1",
                [project],
                |r| r.get::<_, i64>(0),
            )?,
            Some(date) => log(&at, "approve_change", project, Some(date), &source)?,
        };
        tx.execute(
            "UPDATE configs SET event_id = ?1 WHERE id = ?2",
            params![event, id],
        )?;
    }
    let agreements: Vec<(i64, i64, String, String, Option<u32>, String)> = tx
        .prepare(
            "SELECT id, project_id, kind, signed, months, recorded_at FROM agreements ORDER BY id",
        )?
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, project, kind, signed, months, at) in agreements {
        let (action, detail) = if kind == "test" {
            (
                "test_signed",
                months.map(|m| format!("{m} 个月")).unwrap_or_default(),
            )
        } else {
            ("formal_signed", String::new())
        };
        let event = log(&at, action, project, Some(signed), &detail)?;
        tx.execute(
            "UPDATE agreements SET event_id = ?1 WHERE id = ?2",
            params![event, id],
        )?;
    }
    Ok(())
}
