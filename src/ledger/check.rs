//! The ledger's health check at open: SQLite's `quick_check`, so that a
//! ledger with a damaged page is refused before anything is written to it.

use rusqlite::{Connection, OpenFlags};

use super::{LedgerError, Result};

/// Checks an existing ledger file before it is opened for writing.
pub fn check_file(path: &std::path::Path) -> Result<()> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let checked = Connection::open_with_flags(path, flags).and_then(|conn| {
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        let mut stmt = conn.prepare("PRAGMA quick_check")?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<String>>>();
        lines
    });
    match checked {
        Ok(lines) if lines.len() == 1 && lines[0] == "ok" => Ok(()),
        Ok(lines) => Err(damaged(&lines.join(";"))),
        Err(rusqlite::Error::SqliteFailure(f, _))
            if f.code == rusqlite::ErrorCode::DatabaseCorrupt =>
        {
            Err(damaged("数据库页面损坏"))
        }
        Err(e) => Err(e.into()),
    }
}

fn damaged(detail: &str) -> LedgerError {
    let detail: String = detail.chars().take(200).collect();
    LedgerError::Refused(format!(
        "账本文件已损坏(SQLite 完整性检查未通过:{detail})。zwyun 不读写已损坏的账本;\
         请停止所有 zwyun 进程,用最近的备份替换账本文件后再运行,并把损坏的文件交给系统维护人员"
    ))
}
