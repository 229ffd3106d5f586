//! Safe file names from submitted text, the one normalisation of unit and
//! project names used to compare them, and writes that never leave a
//! half-written file behind.

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

/// Longest file or folder name we write, in characters and in UTF-8 bytes.
/// Linux allows 255 bytes per name (a CJK character takes 3) and Windows
/// 255 UTF-16 units per name and 260 for the whole path, so a name stays
/// well below both, leaving room for the folders above it.
pub const MAX_NAME_CHARS: usize = 60;
pub const MAX_NAME_BYTES: usize = 180;
/// Longest extension kept (".docx", ".xlsx", ".txt").
const MAX_EXT_CHARS: usize = 8;

/// A path component built from submitted text: no separators, no `..`, no
/// characters Windows forbids, no control or bidi-override characters, no
/// trailing dots or spaces, not a Windows device name, bounded length.
pub fn safe_component(s: &str) -> String {
    bounded(&clean(s), "")
}

/// A file name `stem.ext` made safe as a whole: the stem is shortened (with
/// a short hash of the full stem, so distinct long names stay distinct) until
/// the whole name fits `MAX_NAME_CHARS` / `MAX_NAME_BYTES`; the extension is
/// always kept.
pub fn file_name(stem: &str, ext: &str) -> String {
    bounded(&clean(stem), &ext_suffix(ext))
}

/// A file name `stem` + `tail` + `.ext` where only `stem` is shortened when
/// the whole is too long: the tail (`-测试资源服务使用意向协议`, what the
/// document is) always stays in the name.
pub fn file_name_keeping(stem: &str, tail: &str, ext: &str) -> String {
    let tail = clean(tail);
    let suffix = format!("{tail}{}", ext_suffix(ext));
    if suffix.chars().count() + 8 > MAX_NAME_CHARS || suffix.len() + 24 > MAX_NAME_BYTES {
        return file_name(&format!("{stem}{tail}"), ext);
    }
    bounded(&clean(stem), &suffix)
}

/// `.ext` with only ASCII letters and digits, bounded; empty for none.
fn ext_suffix(ext: &str) -> String {
    let ext: String = ext
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(MAX_EXT_CHARS)
        .collect();
    if ext.is_empty() {
        String::new()
    } else {
        format!(".{ext}")
    }
}

/// `name` as a safe file name: its extension (after the last dot) kept, the
/// rest made safe and shortened as in `file_name`.
pub fn safe_file_name(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.trim().is_empty()
                && !ext.is_empty()
                && ext.len() <= MAX_EXT_CHARS
                && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            file_name(stem, ext)
        }
        _ => file_name(name, ""),
    }
}

/// Characters no file system should see from submitted text replaced by `_`.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() || is_bidi_control(c) => '_',
            c => c,
        })
        .collect()
}

/// Characters that reorder the text around them: a name using them can
/// display as something else (`…\u{202e}xslx.exe` reads as `…exe.xlsx`).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// The cleaned stem trimmed and shortened so that `stem + suffix` fits,
/// never empty, never a Windows device name.
fn bounded(stem: &str, suffix: &str) -> String {
    let mut stem = trim_name(stem).to_string();
    if stem.is_empty() {
        stem = "未命名".into();
    }
    let fits = |s: &str| {
        s.chars().count() + suffix.chars().count() <= MAX_NAME_CHARS
            && s.len() + suffix.len() <= MAX_NAME_BYTES
    };
    if !fits(&stem) {
        let hash: String = Sha256::digest(stem.as_bytes())
            .iter()
            .take(3)
            .map(|b| format!("{b:02x}"))
            .collect();
        let tag = format!("~{hash}");
        let mut short = String::new();
        for c in stem.chars() {
            let mut next = short.clone();
            next.push(c);
            next.push_str(&tag);
            if !fits(&next) {
                break;
            }
            short.push(c);
        }
        stem = format!("{}{tag}", trim_name(&short));
    }
    if is_windows_device(&stem) {
        stem.insert(0, '_');
    }
    format!("{stem}{suffix}")
}

/// Leading and trailing spaces and dots go (Windows drops trailing ones,
/// leading dots hide a file).
fn trim_name(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '.')
}

/// CON, PRN, AUX, NUL, COM0–9, LPT0–9 (also with superscript digits), with
/// or without an extension: Windows opens the device instead of a file.
fn is_windows_device(stem: &str) -> bool {
    let base = stem.split('.').next().unwrap_or("").trim_end();
    let upper = base.to_ascii_uppercase();
    if matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) {
        return true;
    }
    let mut chars = upper.chars();
    let prefix: String = chars.by_ref().take(3).collect();
    let rest: Vec<char> = chars.collect();
    (prefix == "COM" || prefix == "LPT")
        && rest.len() == 1
        && (rest[0].is_ascii_digit() || matches!(rest[0], '¹' | '²' | '³'))
}

/// A unit or project name as compared: full-width ASCII as half-width,
/// （）as (), every kind of space (NBSP, full-width, zero-width) removed,
/// ASCII letters lower-cased. "上海市松江区 某某局（筹）" and
/// "上海市松江区某某局(筹)" are the same unit.
pub fn name_key(s: &str) -> String {
    s.chars()
        .filter(|c| {
            !c.is_whitespace() && !matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}')
        })
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .map(|c| c.to_ascii_lowercase())
        .collect()
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
    use super::*;

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

    #[test]
    fn windows_device_names_with_any_extension_are_neutralised() {
        for n in [
            "con",
            "PRN.txt",
            "Aux.docx",
            "NUL.tar.gz",
            "COM1",
            "lpt9.xlsx",
            "COM¹",
        ] {
            assert!(safe_component(n).starts_with('_'), "{n}");
        }
        assert_eq!(file_name("com3", "docx"), "_com3.docx");
        assert_eq!(safe_component("CONSOLE"), "CONSOLE");
        assert_eq!(safe_component("COM10"), "COM10");
    }

    #[test]
    fn trailing_dots_spaces_and_bidi_controls_are_neutralised() {
        assert_eq!(safe_component("某局. . "), "某局");
        assert_eq!(file_name("报告\u{202e}xslx", "exe"), "报告_xslx.exe");
        assert_eq!(safe_file_name("a\u{2066}b.docx"), "a_b.docx");
    }

    #[test]
    fn the_whole_name_fits_and_keeps_its_extension() {
        let stem = "上海市松江区人力资源和社会保障局-上海市松江区人力资源和社会保障局就业创业一网通办服务平台（二期）建设项目-测试资源服务使用意向协议(草稿)";
        for ext in ["docx", "xlsx"] {
            let n = file_name(stem, ext);
            assert!(n.ends_with(&format!(".{ext}")), "{n}");
            assert!(
                n.chars().count() <= MAX_NAME_CHARS && n.len() <= MAX_NAME_BYTES,
                "{n}"
            );
        }
        let a = file_name(&format!("{stem}甲"), "docx");
        let b = file_name(&format!("{stem}乙"), "docx");
        assert_ne!(a, b, "distinct long names stay distinct");
        assert_eq!(
            safe_file_name("很长".repeat(80).as_str()).chars().count(),
            MAX_NAME_CHARS
        );
        assert!(safe_file_name(&format!("{}.xlsx", "表".repeat(200))).ends_with(".xlsx"));
    }

    #[test]
    fn names_compare_across_widths_spaces_and_brackets() {
        let key = name_key("上海市松江区某某局（筹）");
        for typed in [
            "上海市松江区\u{a0}某某局(筹)",
            " 上海市松江区　某某局 ( 筹 ) ",
            "上海市松江区某某局（筹）",
        ] {
            assert_eq!(name_key(typed), key, "{typed}");
        }
        assert_eq!(name_key("ＳＪ－２０２６"), name_key("sj-2026"));
        assert_ne!(name_key("上海市松江区某某局"), key);
    }
}
