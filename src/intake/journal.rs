//! The submissions journal in the ledger: one row per distinct file
//! content (SHA-256), its status and outputs. It is what makes processing
//! exactly-once across crashes and processes. A verdict that depended on
//! the ledger (an 附件4 checked against its project) also records the
//! ledger state it saw; the same bytes are checked again once that state
//! has changed (e.g. the project has since been approved).

use std::path::PathBuf;

use rusqlite::{params, Connection};
use serde::Serialize;

use sha2::{Digest, Sha256};

use crate::ledger::{now, Projects, Result};
use crate::model::Form;
use crate::validate::Outcome;

/// What the journal says about a file's content when it is claimed.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// Never seen: process it into this folder.
    New(PathBuf),
    /// Claimed before but never finished (a crash): process it again into
    /// the same folder.
    Unfinished(PathBuf),
    /// Processed before against a ledger state that has changed since:
    /// check it again, into this new folder.
    Recheck(PathBuf),
    /// Already processed (or being processed by another live worker).
    Done {
        status: String,
        out_dir: Option<PathBuf>,
    },
}

/// What a claim is about: the content, its file name, and the ledger
/// state its verdict depends on (None when it does not depend on it).
pub struct Submission<'a> {
    pub sha: &'a str,
    pub file: &'a str,
    pub ledger_state: Option<&'a str>,
}

/// Claims a submission for worker `me`, or says why not.
pub fn claim(
    conn: &Connection,
    sub: &Submission,
    me: &str,
    out_dir: &str,
    adopted: bool,
) -> Result<Claim> {
    let (sha, file) = (sub.sha, sub.file);
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO submissions (sha256, file, status, claimed_by, out_dir, received_at)
         VALUES (?1, ?2, 'claimed', ?3, ?4, ?5)",
        params![sha, file, me, out_dir, now()],
    )?;
    if inserted == 1 {
        return Ok(Claim::New(out_dir.into()));
    }
    let (status, dir, seen_state): (String, Option<String>, Option<String>) = conn.query_row(
        "SELECT status, out_dir, ledger_state FROM submissions WHERE sha256 = ?1",
        [sha],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    if status != "claimed"
        && !adopted
        && seen_state.is_some()
        && seen_state.as_deref() != sub.ledger_state
    {
        let fresh = if dir.as_deref() == Some(out_dir) {
            format!("{out_dir}-{}", chrono::Local::now().format("%H%M%S"))
        } else {
            out_dir.to_string()
        };
        conn.execute(
            "UPDATE submissions SET status = 'claimed', claimed_by = ?2, out_dir = ?3, file = ?4,
             received_at = ?5, finished_at = NULL WHERE sha256 = ?1",
            params![sha, me, fresh, file, now()],
        )?;
        return Ok(Claim::Recheck(fresh.into()));
    }
    let dir = dir.map(PathBuf::from);
    // An unfinished row is resumed by the worker that adopted the file
    // after a crash; a fresh copy of the same bytes (even one in flight in
    // this very batch) is a duplicate.
    // A file set aside after an internal failure is never retried by
    // itself, but the clerk may drop it in again once zwyun is fixed.
    if (status == "claimed" && adopted) || status == "failed" {
        conn.execute(
            "UPDATE submissions SET claimed_by = ?2, status = 'claimed' WHERE sha256 = ?1",
            params![sha, me],
        )?;
        return Ok(Claim::Unfinished(dir.unwrap_or_else(|| out_dir.into())));
    }
    Ok(Claim::Done {
        status,
        out_dir: dir,
    })
}

pub struct Finished<'a> {
    pub form: Option<&'a str>,
    pub unit: Option<&'a str>,
    pub project: Option<&'a str>,
    pub status: &'a str,
    pub outputs: &'a [PathBuf],
    pub ledger_state: Option<&'a str>,
}

pub fn finish(conn: &Connection, sha: &str, f: &Finished) -> Result<()> {
    let outputs: Vec<String> = f.outputs.iter().map(|p| p.display().to_string()).collect();
    conn.execute(
        "UPDATE submissions SET form = ?2, unit = ?3, project = ?4, status = ?5, outputs = ?6, finished_at = ?7,
         ledger_state = ?8 WHERE sha256 = ?1",
        params![sha, f.form, f.unit, f.project, f.status, serde_json::to_string(&outputs)?, now(), f.ledger_state],
    )?;
    Ok(())
}

pub fn count_duplicate(conn: &Connection, sha: &str) -> Result<()> {
    conn.execute(
        "UPDATE submissions SET duplicates = duplicates + 1 WHERE sha256 = ?1",
        [sha],
    )?;
    Ok(())
}

/// The ledger state an outcome's verdict depended on: for an 附件4, its
/// project (absent, or its id and current and approved resources).
pub fn ledger_state(outcome: &Outcome, projects: &Projects) -> Option<String> {
    let Some(Form::Annex4(change)) = &outcome.model else {
        return None;
    };
    let Some(project) = projects.find(&change.header.project_key()) else {
        return Some("project:absent".into());
    };
    let resources = serde_json::to_string(&(&project.quota, &project.current)).ok()?;
    let digest = Sha256::digest(resources.as_bytes());
    let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Some(format!("project:{}:{short}", project.id))
}

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub sha256: String,
    pub file: String,
    pub form: Option<String>,
    pub unit: Option<String>,
    pub project: Option<String>,
    pub status: String,
    pub outputs: Vec<String>,
    pub duplicates: u32,
    pub received_at: String,
    pub finished_at: Option<String>,
}

/// The SHA-256 of content, in hex: the key of a submission.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The submissions whose key starts with `id` (the 12 digits `status`
/// prints, or more).
pub fn by_id(conn: &Connection, id: &str) -> Result<Vec<Entry>> {
    let id = id.trim().to_ascii_lowercase();
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare(&format!("{ENTRY_SELECT} WHERE substr(sha256, 1, ?1) = ?2"))?;
    let rows = stmt.query_map(params![id.len() as i64, id], entry)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const ENTRY_SELECT: &str = "SELECT sha256, file, form, unit, project, status, outputs, duplicates, received_at, finished_at FROM submissions";

/// An `Entry` from the columns of `ENTRY_SELECT`, in its order.
pub fn entry(r: &rusqlite::Row) -> rusqlite::Result<Entry> {
    let outputs: String = r.get(6)?;
    Ok(Entry {
        sha256: r.get(0)?,
        file: r.get(1)?,
        form: r.get(2)?,
        unit: r.get(3)?,
        project: r.get(4)?,
        status: r.get(5)?,
        outputs: serde_json::from_str(&outputs).unwrap_or_default(),
        duplicates: r.get(7)?,
        received_at: r.get(8)?,
        finished_at: r.get(9)?,
    })
}

/// The most recent submissions, newest first.
pub fn recent(conn: &Connection, limit: usize) -> Result<Vec<Entry>> {
    let mut stmt = conn.prepare(&format!(
        "{ENTRY_SELECT} ORDER BY received_at DESC, rowid DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit as i64], entry)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
