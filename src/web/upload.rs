//! An upload enters as any drop-folder submission does: its bytes are
//! put into the inbox under the name the unit gave, and the intake pass
//! (`intake::process_once`, with the desk's own worker) takes it, checks
//! it exactly once by content and writes its outputs; the journal then
//! says what became of it. The same bytes uploaded again are a duplicate
//! of the one submission, as in the drop folder.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use super::App;
use crate::intake;

/// The desk's own intake worker (its work folder beside the loop's).
pub struct Intake {
    worker: intake::Worker,
    stability: intake::Stability,
}

impl Intake {
    pub fn start(inbox: &Path) -> Result<Intake, String> {
        Ok(Intake {
            worker: intake::Worker::start(inbox)
                .map_err(|e| crate::command::io_error(inbox, &e))?,
            stability: Default::default(),
        })
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    crate::intake::journal::sha256_hex(bytes)
}

/// The name an upload keeps: the last part of what the browser sent,
/// made safe for any file system.
pub fn upload_name(sent: &str) -> String {
    let last = sent.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if last.is_empty() || last.chars().all(|c| c == '.') {
        return "网页上传.xlsx".into();
    }
    crate::names::safe_file_name(last)
}

/// How long an upload waits for its verdict (the loop's worker may have
/// taken the file first; it then finishes it).
const WAIT: Duration = Duration::from_secs(120);

/// Puts `bytes` into the inbox and runs intake passes until the journal
/// has finished the submission; returns its SHA-256.
pub fn submit(app: &App, name: &str, bytes: &[u8]) -> Result<String, String> {
    let sha = sha256(bytes);
    let opts = &app.setup.opts;
    let mut intake = app.intake.lock().unwrap_or_else(|e| e.into_inner());
    place(&opts.inbox, &upload_name(name), bytes, opts.quiet)?;
    let env = intake::Env {
        schemas: &app.schemas,
        renderer: &app.setup.renderer,
        calendar: &app.setup.calendar,
        ledger: &app.ledger_path,
        projects: &app.projects,
    };
    let started = Instant::now();
    loop {
        let Intake { worker, stability } = &mut *intake;
        intake::process_once(opts, &env, worker, stability, false).map_err(|e| e.to_string())?;
        if finished(app, &sha)? {
            return Ok(sha);
        }
        if started.elapsed() > WAIT {
            return Err("上传的文件已放入收件目录,但尚未处理完毕;请稍后在收件列表中查看".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn finished(app: &App, sha: &str) -> Result<bool, String> {
    let ledger = app.open_ledger()?;
    let status: Option<String> = rusqlite::OptionalExtension::optional(ledger.conn().query_row(
        "SELECT status FROM submissions WHERE sha256 = ?1",
        [sha],
        |r| r.get(0),
    ))
    .map_err(|e| e.to_string())?;
    Ok(status.is_some_and(|s| s != "claimed"))
}

/// Writes the upload under a hidden temporary name (never a candidate),
/// dates it as already quiet (it is complete), then renames it into the
/// inbox under a free name.
fn place(inbox: &Path, name: &str, bytes: &[u8], quiet: Duration) -> Result<(), String> {
    let tmp = inbox.join(format!(".upload-{}.part", super::store::random_token()));
    let result = (|| {
        std::fs::write(&tmp, bytes)?;
        let file = std::fs::File::options().write(true).open(&tmp)?;
        let quiet_since = SystemTime::now()
            .checked_sub(quiet + Duration::from_secs(1))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        file.set_modified(quiet_since)?;
        file.sync_all()?;
        drop(file);
        let target = free_name(inbox, name);
        std::fs::rename(&tmp, target)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        crate::command::io_error(inbox, &e)
    })
}

fn free_name(dir: &Path, name: &str) -> std::path::PathBuf {
    let candidate = dir.join(name);
    if !candidate.exists() {
        return candidate;
    }
    (2..)
        .map(|i| dir.join(format!("{i}-{name}")))
        .find(|p| !p.exists())
        .unwrap_or(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_lose_their_folders() {
        assert_eq!(upload_name("../../etc/passwd"), "passwd");
        assert_eq!(upload_name("C:\\Users\\a\\申请表.xlsx"), "申请表.xlsx");
        assert_eq!(upload_name(".."), "网页上传.xlsx");
        assert_eq!(upload_name(""), "网页上传.xlsx");
        assert!(!upload_name("a<b>.xlsx").contains('<'));
    }
}
