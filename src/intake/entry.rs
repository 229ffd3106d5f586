//! Opening an inbox entry once, safely: a link is never followed, a FIFO
//! never blocks, and the type is checked on the open handle (a regular
//! file, one link, on the inbox's file system). Reading, hashing and
//! archiving then work from that handle, never from the name again.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek};
use std::path::Path;
use std::time::SystemTime;

use sha2::{Digest, Sha256};

/// Which file an open handle or a name is: device and inode on Unix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ident {
    dev: u64,
    ino: u64,
}

impl Ident {
    #[cfg(unix)]
    pub fn of(meta: &Metadata) -> Ident {
        use std::os::unix::fs::MetadataExt;
        Ident {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// Windows: std offers no stable file index, and creation times are
    /// not reliable everywhere (Wine): every existing file is alike, so
    /// only a file's disappearance is noticed.
    #[cfg(not(unix))]
    pub fn of(_meta: &Metadata) -> Ident {
        Ident { dev: 0, ino: 0 }
    }

    /// The identity of the file or folder at `path`, without following a link.
    pub fn at(path: &Path) -> io::Result<Ident> {
        std::fs::symlink_metadata(path).map(|m| Ident::of(&m))
    }

    pub fn device(&self) -> u64 {
        self.dev
    }
}

/// Size and modification time: what "the file changed" is judged by.
pub type Stamp = (u64, Option<SystemTime>);

pub fn stamp(meta: &Metadata) -> Stamp {
    (meta.len(), meta.modified().ok())
}

/// Why an inbox entry is not taken as a submission, in Chinese.
pub fn refusal(meta: &Metadata, inbox_dev: Option<u64>) -> Option<String> {
    let ft = meta.file_type();
    if ft.is_symlink() {
        return Some("这是一个链接(快捷方式),zwyun 不跟随链接读取;请放入文件本身".into());
    }
    if ft.is_dir() {
        return Some(
            "这是一个文件夹,zwyun 只处理收件目录中的文件;请把其中的表格直接放入收件目录".into(),
        );
    }
    if !ft.is_file() {
        return Some("这不是普通文件(管道、设备或套接字),不予读取".into());
    }
    hard_link_or_other_fs(meta, inbox_dev)
}

#[cfg(unix)]
fn hard_link_or_other_fs(meta: &Metadata, inbox_dev: Option<u64>) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    if meta.nlink() > 1 {
        return Some(format!(
            "这个文件另有 {} 个硬链接(与收件目录外的文件共用内容),不予读取;请复制一份文件放入",
            meta.nlink() - 1
        ));
    }
    if inbox_dev.is_some_and(|dev| dev != meta.dev()) {
        return Some("这个文件不在收件目录所在的文件系统上(挂载点),不予读取".into());
    }
    None
}

#[cfg(not(unix))]
fn hard_link_or_other_fs(_meta: &Metadata, _inbox_dev: Option<u64>) -> Option<String> {
    None
}

/// An entry opened for processing, with what it looked like when opened.
#[derive(Debug)]
pub struct Opened {
    pub file: File,
    pub ident: Ident,
    pub stamp: Stamp,
}

/// What opening an entry came to.
pub enum Open {
    Ok(Opened),
    /// Not a file zwyun takes: why.
    Refused(String),
}

/// Opens `path` without following a link and without blocking, then
/// checks what it is on the handle.
pub fn open(path: &Path, inbox_dev: Option<u64>) -> io::Result<Open> {
    let file = match open_options().open(path) {
        Ok(f) => f,
        Err(e) if is_link_refusal(&e) => {
            return Ok(Open::Refused(
                "这是一个链接(快捷方式)或特殊文件,zwyun 不跟随链接读取;请放入文件本身".into(),
            ))
        }
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if let Some(why) = refusal(&meta, inbox_dev) {
        return Ok(Open::Refused(why));
    }
    Ok(Open::Ok(Opened {
        ident: Ident::of(&meta),
        stamp: stamp(&meta),
        file,
    }))
}

#[cfg(unix)]
fn open_options() -> std::fs::OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = std::fs::OpenOptions::new();
    o.read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY);
    o
}

/// Windows: open the link itself (a reparse point), never its target.
#[cfg(windows)]
fn open_options() -> std::fs::OpenOptions {
    use std::os::windows::fs::OpenOptionsExt;
    const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
    let mut o = std::fs::OpenOptions::new();
    o.read(true).custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
    o
}

#[cfg(not(any(unix, windows)))]
fn open_options() -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    o.read(true);
    o
}

/// A symlink opened with O_NOFOLLOW (ELOOP) or a socket (ENXIO).
fn is_link_refusal(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        matches!(e.raw_os_error(), Some(libc::ELOOP | libc::ENXIO))
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// The content key of a file: the SHA-256 of its bytes; for a file over
/// the size limit (`oversize`), of its size and first MiB only, so that a
/// huge (or sparse) file is never read whole.
pub struct Content {
    pub sha: String,
    /// The bytes, when within the limit.
    pub bytes: Vec<u8>,
    pub oversize: bool,
}

const OVERSIZE_PREFIX: u64 = 1024 * 1024;

/// Reads and hashes from the handle, from its start. The size limit is
/// judged from the handle's metadata before any byte is read.
pub fn read(file: &mut File, len: u64, keep: bool) -> io::Result<Content> {
    file.rewind()?;
    let oversize = len > crate::read::MAX_FILE_BYTES;
    let mut hasher = Sha256::new();
    if oversize {
        hasher.update(format!("zwyun-oversize:{len}:").as_bytes());
    }
    let limit = if oversize {
        OVERSIZE_PREFIX
    } else {
        crate::read::MAX_FILE_BYTES + 1
    };
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut reader = (&*file).take(limit);
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        if keep && !oversize {
            bytes.extend_from_slice(&buf[..n]);
        }
    }
    Ok(Content {
        sha: hex(&hasher.finalize()),
        bytes,
        oversize,
    })
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
