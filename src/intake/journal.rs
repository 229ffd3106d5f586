//! The submissions journal in the ledger: one row per distinct file
//! content (SHA-256), its status and outputs. It is what makes processing
//! exactly-once across crashes and processes.

use std::path::PathBuf;

use rusqlite::{params, Connection};
use serde::Serialize;

use crate::ledger::{now, Result};

/// What the journal says about a file's content when it is claimed.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// Never seen: process it into this folder.
    New(PathBuf),
    /// Claimed before but never finished (a crash): process it again into
    /// the same folder.
    Unfinished(PathBuf),
    /// Already processed (or being processed by another live worker).
    Done {
        status: String,
        out_dir: Option<PathBuf>,
    },
}

/// Claims `sha` for worker `me`, or says why not.
pub fn claim(
    conn: &Connection,
    sha: &str,
    file: &str,
    me: &str,
    out_dir: &str,
    adopted: bool,
) -> Result<Claim> {
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO submissions (sha256, file, status, claimed_by, out_dir, received_at)
         VALUES (?1, ?2, 'claimed', ?3, ?4, ?5)",
        params![sha, file, me, out_dir, now()],
    )?;
    if inserted == 1 {
        return Ok(Claim::New(out_dir.into()));
    }
    let (status, dir): (String, Option<String>) = conn.query_row(
        "SELECT status, out_dir FROM submissions WHERE sha256 = ?1",
        [sha],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
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
}

pub fn finish(conn: &Connection, sha: &str, f: &Finished) -> Result<()> {
    let outputs: Vec<String> = f.outputs.iter().map(|p| p.display().to_string()).collect();
    conn.execute(
        "UPDATE submissions SET form = ?2, unit = ?3, project = ?4, status = ?5, outputs = ?6, finished_at = ?7
         WHERE sha256 = ?1",
        params![sha, f.form, f.unit, f.project, f.status, serde_json::to_string(&outputs)?, now()],
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

#[derive(Debug, Serialize)]
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

/// The most recent submissions, newest first.
pub fn recent(conn: &Connection, limit: usize) -> Result<Vec<Entry>> {
    let mut stmt = conn.prepare(
        "SELECT sha256, file, form, unit, project, status, outputs, duplicates, received_at, finished_at
         FROM submissions ORDER BY received_at DESC, rowid DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit as i64], |r| {
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
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
