//! What is in the inbox: the entries that may be submissions, zwyun's own
//! files (never candidates), and the entries refused with a reason (links,
//! folders, pipes, hard links, unreadable files) — said, never skipped
//! without a word.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::entry::{self, Ident, Open};
use super::folders::is_candidate_name;
use super::Options;

/// An inbox entry not taken, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Refused {
    pub name: String,
    pub reason: String,
}

/// zwyun's own files and folders, wherever they are: never submissions.
pub struct Own {
    /// By identity on Unix (links cannot disguise them).
    idents: Vec<Ident>,
    /// By resolved path elsewhere.
    paths: Vec<PathBuf>,
    /// The ledger's name and its companions, when the ledger sits in the inbox.
    ledger_names: Vec<OsString>,
}

const COMPANIONS: [&str; 4] = ["", "-wal", "-shm", "-journal"];

impl Own {
    pub fn new(opts: &Options, ledger: &Path) -> Own {
        let mut paths: Vec<PathBuf> = vec![
            opts.outbox.clone(),
            opts.archive.clone(),
            opts.rejected.clone(),
            opts.failed.clone(),
        ];
        let mut ledger_names = Vec::new();
        for suffix in COMPANIONS {
            let mut name = ledger.as_os_str().to_owned();
            name.push(suffix);
            paths.push(PathBuf::from(name));
        }
        if ledger_in(ledger, &opts.inbox) {
            if let Some(file) = ledger.file_name() {
                for suffix in COMPANIONS {
                    let mut name = file.to_owned();
                    name.push(suffix);
                    ledger_names.push(name);
                }
            }
        }
        Own {
            idents: paths.iter().filter_map(|p| Ident::at(p).ok()).collect(),
            paths: paths.iter().filter_map(|p| p.canonicalize().ok()).collect(),
            ledger_names,
        }
    }

    fn contains(&self, name: &OsString, path: &Path, ident: Ident) -> bool {
        if self.ledger_names.contains(name) {
            return true;
        }
        if cfg!(unix) {
            self.idents.contains(&ident)
        } else {
            path.canonicalize().is_ok_and(|p| self.paths.contains(&p))
        }
    }
}

/// Whether `ledger` lies inside `inbox` (compared as resolved paths).
pub fn ledger_in(ledger: &Path, inbox: &Path) -> bool {
    let (Ok(inbox), Some(parent)) = (inbox.canonicalize(), ledger.parent()) else {
        return false;
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    parent
        .canonicalize()
        .is_ok_and(|p| p == inbox || p.starts_with(&inbox))
}

/// The inbox's regular files that may be submissions (sorted), and the
/// entries refused. A candidate is opened once here, without following
/// links or blocking, to refuse what cannot be read before it is taken.
pub fn survey(inbox: &Path, own: &Own) -> std::io::Result<(Vec<PathBuf>, Vec<Refused>)> {
    let inbox_dev = Ident::at(inbox)?.device();
    let (mut files, mut refused) = (Vec::new(), Vec::new());
    for e in std::fs::read_dir(inbox)? {
        let e = e?;
        let name = e.file_name();
        let shown = name.to_string_lossy().into_owned();
        if !is_candidate_name(&shown) {
            continue;
        }
        let path = e.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue; // gone meanwhile
        };
        if own.contains(&name, &path, Ident::of(&meta)) {
            continue;
        }
        let why = match entry::refusal(&meta, Some(inbox_dev)) {
            Some(why) => Some(why),
            None => match entry::open(&path, Some(inbox_dev)) {
                Ok(Open::Ok(_)) => None,
                Ok(Open::Refused(why)) => Some(why),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                // Windows: still being copied or saved; taken on a later pass.
                Err(e) if super::folders::in_use(&e) => continue,
                Err(e) => Some(format!(
                    "无法读取:{};请检查文件的访问权限",
                    crate::oserror::reason(&e)
                )),
            },
        };
        match why {
            Some(reason) => refused.push(Refused {
                name: shown,
                reason,
            }),
            None => files.push(path),
        }
    }
    files.sort();
    refused.sort();
    Ok((files, refused))
}

/// Puts a claimed entry back into the inbox under a free name (same file
/// system: a rename, never a copy), to be looked at again by the next pass.
pub fn put_back(from: &Path, inbox: &Path, name: &str) -> std::io::Result<PathBuf> {
    let to = super::folders::free_name(inbox, name);
    std::fs::rename(from, &to)?;
    Ok(to)
}

/// The inbox's refusals, kept in the ledger for `status` (replaced as a
/// whole by each pass that sees a different set).
pub mod record {
    use rusqlite::{params, Connection};

    use super::Refused;
    use crate::ledger::Result;

    fn ensure_table(conn: &Connection) -> Result<()> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS intake_refused (
                 name TEXT PRIMARY KEY,
                 reason TEXT NOT NULL,
                 seen_at TEXT NOT NULL
             );",
        )?;
        Ok(())
    }

    pub fn replace(conn: &Connection, refused: &[Refused]) -> Result<()> {
        ensure_table(conn)?;
        if list(conn)?
            .iter()
            .map(|(n, r, _)| (n, r))
            .eq(refused.iter().map(|r| (&r.name, &r.reason)))
        {
            return Ok(());
        }
        let tx = conn.unchecked_transaction()?;
        tx.execute("DELETE FROM intake_refused", [])?;
        for r in refused {
            tx.execute(
                "INSERT OR REPLACE INTO intake_refused (name, reason, seen_at) VALUES (?1, ?2, ?3)",
                params![r.name, r.reason, crate::ledger::now()],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Name, reason and when first seen, by name.
    pub fn list(conn: &Connection) -> Result<Vec<(String, String, String)>> {
        ensure_table(conn)?;
        let mut stmt =
            conn.prepare("SELECT name, reason, seen_at FROM intake_refused ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
