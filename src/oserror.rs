//! Operating-system errors in Chinese: what went wrong and on which path.
//! The English text of the OS ("No such file or directory (os error 2)")
//! never reaches the clerk; every layer uses these two functions.

use std::error::Error;
use std::io;
use std::path::Path;

/// What went wrong in an I/O operation, in Chinese.
pub fn reason(e: &io::Error) -> String {
    use io::ErrorKind::*;
    match e.kind() {
        NotFound => "文件不存在".into(),
        PermissionDenied => "没有访问权限".into(),
        AlreadyExists => "文件已存在".into(),
        IsADirectory => "这是一个目录,不是文件".into(),
        NotADirectory => "路径中有一段不是目录".into(),
        DirectoryNotEmpty => "目录不是空的".into(),
        StorageFull => "磁盘已满".into(),
        ReadOnlyFilesystem => "文件系统只读".into(),
        InvalidFilename => "文件名无效或过长".into(),
        CrossesDevices => "不能跨磁盘移动".into(),
        ResourceBusy | ExecutableFileBusy => "文件正被占用".into(),
        FileTooLarge => "文件过大".into(),
        TimedOut => "操作超时".into(),
        Interrupted => "操作被中断".into(),
        UnexpectedEof => "文件意外结束".into(),
        InvalidData => "文件内容无效".into(),
        BrokenPipe => "管道已关闭".into(),
        OutOfMemory => "内存不足".into(),
        _ => match (e.raw_os_error(), e.get_ref()) {
            (Some(code), _) => format!("读写失败(系统错误码 {code})"),
            // Our own messages are Chinese; a library's English one is not shown.
            (None, Some(inner)) if !inner.to_string().is_ascii() => inner.to_string(),
            _ => "读写失败".into(),
        },
    }
}

/// An I/O error in Chinese, naming the path: `文件不存在:a/b.xlsx`.
pub fn at(path: &Path, e: &io::Error) -> String {
    format!("{}:{}", reason(e), path.display())
}

/// The Chinese reason of the first I/O error in `e`'s chain (a library
/// error wrapping one: zip, xlsx writer, YAML reader), if there is one.
pub fn in_chain(e: &(dyn Error + 'static)) -> Option<String> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(io) = as_io(err) {
            return Some(reason(io));
        }
        next = err.source();
    }
    None
}

/// The I/O error `e` is or wraps; the xlsx writer and zip wrap it without
/// returning it as their `source()`.
fn as_io<'e>(e: &'e (dyn Error + 'static)) -> Option<&'e io::Error> {
    if let Some(io) = e.downcast_ref::<io::Error>() {
        return Some(io);
    }
    match e.downcast_ref::<rust_xlsxwriter::XlsxError>() {
        Some(rust_xlsxwriter::XlsxError::IoError(io)) => return Some(io),
        Some(rust_xlsxwriter::XlsxError::TempFileError(_, io)) => return Some(io),
        _ => {}
    }
    match e.downcast_ref::<zip::result::ZipError>() {
        Some(zip::result::ZipError::Io(io)) => Some(io),
        _ => None,
    }
}

/// A library error about `path` in Chinese when it comes from the OS,
/// else `what` (the caller's Chinese wording of the library's failure).
pub fn describe(path: &Path, e: &(dyn Error + 'static), what: &str) -> String {
    let why = in_chain(e).unwrap_or_else(|| what.to_string());
    format!("{why}:{}", path.display())
}
