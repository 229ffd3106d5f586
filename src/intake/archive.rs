//! Moving an original out of the work folder (to the archive, `rejected/`
//! or `failed/`) from its open handle: a rename on one file system; across
//! file systems a copy to a temporary name, synced, its hash checked
//! against the recorded one, then renamed. A rerun after a crash finds the
//! finished copy and only removes the original: never a second copy.

use std::fs::{self, File};
use std::io::{self, Seek};
use std::path::{Path, PathBuf};

use super::entry::{self, Ident, Opened};

/// `dir/name` when it already holds these bytes (a move finished before a
/// crash), else a free name in `dir`.
pub fn target(dir: &Path, name: &str, sha: &str) -> PathBuf {
    let candidate = dir.join(name);
    if same_content(&candidate, sha) {
        return candidate;
    }
    super::folders::free_name(dir, name)
}

fn same_content(path: &Path, sha: &str) -> bool {
    let Ok(entry::Open::Ok(mut o)) = entry::open(path, None) else {
        return false;
    };
    entry::read(&mut o.file, o.stamp.0, false).is_ok_and(|c| c.sha == sha)
}

/// Moves the work file `from` (open as `opened`, content key `sha`) to `to`.
pub fn store(from: &Path, opened: &Opened, to: &Path, sha: &str) -> io::Result<()> {
    if let Some(dir) = to.parent() {
        fs::create_dir_all(dir)?;
    }
    // The name must still be the file that was read; else it was swapped.
    if Ident::at(from)? != opened.ident {
        return Err(io::Error::other("工作目录中的文件在处理期间被替换"));
    }
    if same_content(to, sha) {
        return fs::remove_file(from);
    }
    if fs::rename(from, to).is_ok() {
        return Ok(());
    }
    copy_verified(&opened.file, to, sha)?;
    super::test_hook_abort_archived(from);
    fs::remove_file(from)
}

/// Copies from the handle to a temporary name beside `to`, syncs it,
/// checks its hash, then gives it its name. A failure (a full disk)
/// removes the temporary: a partial copy never bears the real name.
fn copy_verified(file: &File, to: &Path, sha: &str) -> io::Result<()> {
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = to.with_file_name(format!(".tmp-zwyun-{}-{name}", std::process::id()));
    let result = copy_to(file, &tmp, sha).and_then(|()| fs::rename(&tmp, to));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(to)
}

/// Makes the new name durable (the data was synced before the rename).
#[cfg(unix)]
fn sync_dir(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn sync_dir(_path: &Path) -> io::Result<()> {
    Ok(())
}

fn copy_to(mut file: &File, tmp: &Path, sha: &str) -> io::Result<()> {
    file.rewind()?;
    let mut out = File::options().write(true).create_new(true).open(tmp)?;
    io::copy(&mut file, &mut out)?;
    out.sync_all()?;
    drop(out);
    let mut check = File::open(tmp)?;
    let len = check.metadata()?.len();
    if entry::read(&mut check, len, false)?.sha != sha {
        return Err(io::Error::other(
            "归档副本的校验码与记录的不符(原件在处理后被改动)",
        ));
    }
    Ok(())
}

/// The archived original of the submission with content `sha`: archived
/// names carry the first 12 hex digits of it (`…-83596584d644-…`), and the
/// content is checked, so a renamed or altered file is never taken.
pub fn find_original(root: &Path, sha: &str) -> io::Result<Option<(PathBuf, Vec<u8>)>> {
    let short = format!("-{}-", &sha[..sha.len().min(12)]);
    for month in fs::read_dir(root)?.flatten() {
        let Ok(files) = fs::read_dir(month.path()) else {
            continue;
        };
        for file in files.flatten() {
            if !file.file_name().to_string_lossy().contains(&short) {
                continue;
            }
            if let Ok(bytes) = fs::read(file.path()) {
                if super::journal::sha256_hex(&bytes) == sha {
                    return Ok(Some((file.path(), bytes)));
                }
            }
        }
    }
    Ok(None)
}
