//! The drop folder on disk: which files are ready, claiming a file by an
//! atomic rename into this worker's own folder, adopting the folders of
//! workers that died, and moving originals away once done.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A file this worker owns, in its work folder.
#[derive(Debug, Clone)]
pub struct WorkItem {
    pub path: PathBuf,
    /// The name it had in the inbox.
    pub name: String,
    /// Taken over from a worker that died (or from an earlier run).
    pub adopted: bool,
    /// Size and modification time when the inbox scan judged it stable.
    pub seen: Option<super::entry::Stamp>,
}

/// One running zwyun on an inbox: its own work folder, and beside it a
/// lock file (`<id>.lock`) held for as long as the process lives, so
/// others know it is alive. The lock sits beside the folder, not inside:
/// Windows refuses to rename a folder while a file in it is open.
pub struct Worker {
    pub id: String,
    pub dir: PathBuf,
    work_root: PathBuf,
    lock_path: PathBuf,
    lock: Option<File>,
    counter: u64,
}

/// Name of the lock inside work folders of earlier versions; never a
/// submission.
const OLD_LOCK: &str = ".lock";
/// Separates the claim counter from the original name in work folders.
const SEP: char = '~';

impl Worker {
    pub fn start(inbox: &Path) -> io::Result<Worker> {
        let work_root = inbox.join(".zwyun").join("work");
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let id = format!("{}-{nanos}", std::process::id());
        fs::create_dir_all(&work_root)?;
        // The lock is held before the folder exists: another worker never
        // sees the folder unlocked and adopts it.
        let lock_path = lock_path(&work_root, &id);
        let lock = File::create(&lock_path)?;
        lock.try_lock().map_err(io::Error::other)?;
        let dir = work_root.join(&id);
        fs::create_dir(&dir)?;
        Ok(Worker {
            id,
            dir,
            work_root,
            lock_path,
            lock: Some(lock),
            counter: 0,
        })
    }

    /// Files left in work folders whose owner is gone (its lock is free),
    /// and in our own folder: moved into ours, to be finished.
    pub fn adopt(&mut self) -> io::Result<Vec<WorkItem>> {
        for entry in fs::read_dir(&self.work_root)? {
            let entry = entry?;
            let dir = entry.path();
            let hidden = file_name(&dir).is_none_or(|n| n.starts_with('.'));
            if dir == self.dir || hidden || !entry.file_type()?.is_dir() {
                continue;
            }
            self.adopt_folder(&dir)?;
        }
        let mut items = Vec::new();
        for f in fs::read_dir(&self.dir)? {
            let path = f?.path();
            let Some(name) = file_name(&path) else {
                continue;
            };
            if name == OLD_LOCK {
                continue;
            }
            let original = name
                .split_once(SEP)
                .map(|(_, n)| n.to_string())
                .unwrap_or(name);
            items.push(WorkItem {
                path,
                name: original,
                adopted: true,
                seen: None,
            });
        }
        Ok(items)
    }

    /// Moves the files of a dead worker's folder into ours; a live
    /// worker's folder (its lock held) is left alone.
    fn adopt_folder(&self, dir: &Path) -> io::Result<()> {
        let Some(id) = file_name(dir) else {
            return Ok(());
        };
        let lock_path = lock_path(&self.work_root, &id);
        let Ok(lock) = File::options()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
        else {
            return Ok(()); // being deleted by another adopter
        };
        if lock.try_lock().is_err() {
            return Ok(()); // a live worker owns it
        }
        if dir.is_dir() {
            for f in fs::read_dir(dir)? {
                let path = f?.path();
                let Some(name) = file_name(&path) else {
                    continue;
                };
                if name == OLD_LOCK || name.starts_with(".tmp") {
                    continue;
                }
                fs::rename(&path, self.dir.join(&name))?;
            }
            let _ = fs::remove_dir_all(dir);
        }
        // Removed while still held, so no other worker takes it meanwhile.
        let _ = fs::remove_file(&lock_path);
        Ok(())
    }

    /// Takes `path` from the inbox; None when another worker took it first,
    /// or when another program still has it open (Windows refuses to move
    /// such a file: it is taken on a later pass).
    pub fn claim(
        &mut self,
        path: &Path,
        seen: super::entry::Stamp,
    ) -> io::Result<Option<WorkItem>> {
        let Some(name) = file_name(path) else {
            return Ok(None);
        };
        self.counter += 1;
        let target = self.dir.join(format!("{}{SEP}{name}", self.counter));
        match fs::rename(path, &target) {
            Ok(()) => Ok(Some(WorkItem {
                path: target,
                name,
                adopted: false,
                seen: Some(seen),
            })),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) if in_use(&e) => {
                tracing::info!("{} 正被其他程序使用,稍后再取", path.display());
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

fn lock_path(work_root: &Path, id: &str) -> PathBuf {
    work_root.join(format!("{id}.lock"))
}

/// Windows: another process holds the file open without sharing delete
/// access (ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION), as Excel or a
/// copy still in progress do.
pub(super) fn in_use(e: &io::Error) -> bool {
    cfg!(windows) && matches!(e.raw_os_error(), Some(32 | 33))
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Only an empty folder goes, then its lock; leftovers wait for
        // adoption by the next run.
        if fs::remove_dir(&self.dir).is_ok() {
            let _ = fs::remove_file(&self.lock_path);
        }
        self.lock.take();
    }
}

fn file_name(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// Files still being written, Office lock files, temporaries and hidden
/// files are never candidates.
pub fn is_candidate_name(name: &str) -> bool {
    !(name.starts_with('.')
        || name.starts_with("~$")
        || name.ends_with(".tmp")
        || name.ends_with(".part")
        || name.ends_with(".crdownload"))
}

/// Remembers what each inbox file looked like, to tell when it stopped
/// changing.
#[derive(Default)]
pub struct Stability {
    seen: HashMap<PathBuf, (u64, SystemTime, SystemTime)>,
}

pub enum Readiness {
    /// Quiet long enough; as it looked when judged so.
    Ready(super::entry::Stamp),
    /// Still changing (or changed too recently): look again later.
    Pending,
}

impl Stability {
    /// Ready when size and mtime have not changed for `quiet`, as observed
    /// by us (a first sighting of an old file counts as stable).
    pub fn check(&mut self, path: &Path, quiet: Duration) -> io::Result<Readiness> {
        let meta = fs::symlink_metadata(path)?;
        let now = SystemTime::now();
        let mtime = meta.modified()?;
        let key = (meta.len(), mtime);
        let entry = self
            .seen
            .entry(path.to_path_buf())
            .or_insert((key.0, key.1, now));
        if (entry.0, entry.1) != key {
            *entry = (key.0, key.1, now);
        }
        let unchanged_for = now.duration_since(entry.2).unwrap_or_default();
        let age = now.duration_since(mtime).unwrap_or_default();
        Ok(if age >= quiet || unchanged_for >= quiet {
            if age >= quiet {
                self.seen.remove(path);
            }
            Readiness::Ready(super::entry::stamp(&meta))
        } else {
            Readiness::Pending
        })
    }
}

/// A path in `dir` named `name` that does not exist yet.
pub fn free_name(dir: &Path, name: &str) -> PathBuf {
    let candidate = dir.join(name);
    if !candidate.exists() {
        return candidate;
    }
    (2..)
        .map(|i| dir.join(format!("{i}-{name}")))
        .find(|p| !p.exists())
        .unwrap_or(candidate)
}
