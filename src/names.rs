//! Safe file names from submitted text, and writes that never leave a
//! half-written file behind.

use std::io::Write;
use std::path::Path;

/// A path component built from submitted text: no separators, no `..`, no
/// characters Windows forbids, no control characters, bounded length.
pub fn safe_component(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let trimmed = cleaned.trim().trim_matches('.').trim();
    let mut out: String = trimmed.chars().take(60).collect();
    if out.is_empty() {
        out = "未命名".into();
    }
    const RESERVED: [&str; 4] = ["CON", "PRN", "AUX", "NUL"];
    if RESERVED.contains(&out.to_ascii_uppercase().as_str()) {
        out.insert(0, '_');
    }
    out
}

/// Writes to a temporary name beside `path` (`.tmp-<name>`, which readers
/// of the folder skip), flushes to disk, then renames: a crash leaves
/// either the old file or the complete new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_replace(path, bytes, true)
}

/// As `write_atomic`, but with `sync` false the data is left to the page
/// cache: the caller makes a whole batch durable with one `sync_to_disk`.
/// (A killed process loses nothing either way; only a power cut does.)
pub fn write_replace(path: &Path, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.is_dir() {
        std::fs::create_dir_all(dir)?;
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".tmp-{name}"));
    let mut file = std::fs::File::create(&tmp)?;
    if is_clerk_text(path) {
        file.write_all(&clerk_text(bytes))?;
    } else {
        file.write_all(bytes)?;
    }
    if sync {
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// Plain-text files (`.txt`) are opened by clerks in Notepad, also when a
/// Linux server writes them to a share: they are written as UTF-8 with a
/// byte-order mark and CRLF line ends, which every Notepad since Windows 7
/// (and WPS, and every Linux editor) reads as Chinese text on separate lines.
fn is_clerk_text(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("txt"))
}

/// `text` with a UTF-8 byte-order mark and CRLF line ends (once each, so
/// text that already has them is unchanged).
pub fn clerk_text(text: &[u8]) -> Vec<u8> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let body = text.strip_prefix(BOM).unwrap_or(text);
    let mut out = Vec::with_capacity(body.len() + body.len() / 16 + 3);
    out.extend_from_slice(BOM);
    let mut previous = 0u8;
    for &b in body {
        if b == b'\n' && previous != b'\r' {
            out.push(b'\r');
        }
        out.push(b);
        previous = b;
    }
    out
}

/// Flushes one file to disk. Windows flushes only through a handle opened
/// for writing (FlushFileBuffers), so the file is opened that way
/// everywhere; it is not truncated.
pub fn flush_file(path: &Path) -> std::io::Result<()> {
    std::fs::File::options().write(true).open(path)?.sync_all()
}

/// Makes files written with `write_replace(.., false)` durable: one
/// `syncfs` of their file system on Linux, else one flush per file.
pub fn sync_to_disk(paths: &[std::path::PathBuf]) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    if let Some(first) = paths.first() {
        use std::os::fd::AsRawFd;
        let file = std::fs::File::open(first)?;
        // SAFETY: syncfs only reads the descriptor, which `file` keeps open.
        if unsafe { libc::syncfs(file.as_raw_fd()) } == 0 {
            return Ok(());
        }
    }
    for p in paths {
        flush_file(p)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{clerk_text, safe_component};

    #[test]
    fn clerk_text_has_bom_and_crlf_once() {
        let once = clerk_text("受理回执\n第二行\r\n".as_bytes());
        assert_eq!(once, "\u{FEFF}受理回执\r\n第二行\r\n".as_bytes());
        assert_eq!(clerk_text(&once), once);
    }

    #[test]
    fn names_cannot_escape() {
        assert_eq!(safe_component("../../etc/passwd"), "_.._etc_passwd");
        assert_eq!(safe_component(".."), "未命名");
        assert_eq!(safe_component("a\\b:c\u{1}"), "a_b_c_");
        assert_eq!(safe_component("CON"), "_CON");
        assert_eq!(safe_component("松江区某某局"), "松江区某某局");
    }
}
