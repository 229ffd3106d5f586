//! How often processing of a submission was started without finishing. A
//! file that kills zwyun outright (an abort, the out-of-memory killer), so
//! that no `catch_unwind` can set it aside, is taken up again after each
//! restart; after `MAX_STARTS` it is set aside instead of stalling the
//! drop folder forever.

use rusqlite::{params, Connection};

use crate::ledger::Result;

/// Starts allowed before a submission is given up.
pub const MAX_STARTS: u32 = 3;

fn ensure_table(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS intake_starts (
             sha256 TEXT PRIMARY KEY,
             starts INTEGER NOT NULL
         );",
    )?;
    Ok(())
}

/// Whether processing of `sha` was started before and never finished.
pub fn unfinished(conn: &Connection, sha: &str) -> Result<bool> {
    ensure_table(conn)?;
    let n: u32 = conn.query_row(
        "SELECT COUNT(*) FROM intake_starts WHERE sha256 = ?1",
        [sha],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Records one more start of each of `shas` (one transaction) and returns
/// their counts of starts.
pub fn begin(conn: &Connection, shas: &[&str]) -> Result<Vec<u32>> {
    ensure_table(conn)?;
    let tx = conn.unchecked_transaction()?;
    let mut counts = Vec::with_capacity(shas.len());
    for sha in shas {
        tx.execute(
            "INSERT INTO intake_starts (sha256, starts) VALUES (?1, 1)
             ON CONFLICT (sha256) DO UPDATE SET starts = starts + 1",
            [sha],
        )?;
        counts.push(tx.query_row(
            "SELECT starts FROM intake_starts WHERE sha256 = ?1",
            [sha],
            |r| r.get(0),
        )?);
    }
    tx.commit()?;
    Ok(counts)
}

/// Processing of `sha` finished (whatever the verdict).
pub fn end(conn: &Connection, sha: &str) -> Result<()> {
    conn.execute("DELETE FROM intake_starts WHERE sha256 = ?1", params![sha])?;
    Ok(())
}
