//! The command layer: what every `zwyun` command shares (exit codes,
//! output format, the global paths, opening the ledger, finding a project)
//! and one file per group of commands. `cli.rs` parses the arguments and
//! calls in here; the stages below (read, validate, render, ledger,
//! intake, settle) never import from this module.

pub mod calendar;
pub mod check;
pub mod intake;
pub mod life;
pub mod mail;
pub mod out;
pub mod render;
pub mod settle;
pub mod usage;

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::ledger::{Ledger, Project, Projects};

pub const EXIT_OK: u8 = 0;
pub const EXIT_PROBLEMS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;
/// A mail server out of reach or refusing for now: the work is kept and
/// tried again later (`--mail`, `zwyun mail send`).
pub const EXIT_OUTAGE: u8 = 3;

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// The global options the commands need, once clap is done.
pub struct Globals {
    pub ledger: PathBuf,
    /// Whether `--ledger` or `ZWYUN_LEDGER` named the ledger.
    pub ledger_given: bool,
    pub schemas: Option<PathBuf>,
    pub templates: Option<PathBuf>,
}

/// The district's providers for checking forms; when parties.yaml cannot
/// be read the clerk is told and forms are checked without it.
pub fn load_parties(g: &Globals) -> Option<crate::render::parties::Parties> {
    crate::render::Renderer::load_parties(g.templates.as_deref())
        .map_err(|e| eprintln!("zwyun: 警告:{e};本次未核对申请表中的服务商"))
        .ok()
}

/// Prints a usage or configuration error; exit 2.
pub fn fail(message: String) -> u8 {
    eprintln!("zwyun: {message}");
    EXIT_ERROR
}

/// Opens the ledger and reads its projects; a missing ledger file is
/// simply empty (for checking a form before anything is approved).
pub fn load_projects(path: &Path) -> Result<Projects, String> {
    if !path.exists() {
        return Ok(Default::default());
    }
    open_existing(path)?
        .projects()
        .map_err(|e| format!("{}:{e}", path.display()))
}

/// A ledger path that exists but is no regular file (a folder, a device
/// such as /dev/null, a pipe).
fn not_a_file(path: &Path) -> Result<(), String> {
    let what = match path.metadata() {
        Ok(m) if m.is_dir() => "这是一个目录",
        Ok(m) if !m.is_file() => "这是设备、管道或套接字,不是普通文件",
        _ => return Ok(()),
    };
    Err(format!(
        "账本应是一个文件,{what}:{};请检查 --ledger 或 ZWYUN_LEDGER",
        path.display()
    ))
}

/// Opens a ledger that must exist (commands that only read it, or need a
/// project in it): a mistyped path is an error, not an empty ledger.
pub fn open_existing(path: &Path) -> Result<Ledger, String> {
    not_a_file(path)?;
    if !path.is_file() {
        return Err(format!(
            "账本文件不存在:{};请检查 --ledger 或 ZWYUN_LEDGER,或先用 zwyun approve 登记项目",
            path.display()
        ));
    }
    // zwyun writes its tables as it creates a ledger: an empty file is
    // another file (a typo that `touch` or an editor made), not a ledger.
    if path.metadata().is_ok_and(|m| m.len() == 0) {
        return Err(format!(
            "账本文件是空文件(0 字节),不是 zwyun 的账本:{};请检查 --ledger 或 ZWYUN_LEDGER",
            path.display()
        ));
    }
    open_ledger(path)
}

/// Opens the ledger file, saying in Chinese why it cannot be: the OS's
/// reason when the file cannot be opened at all, else SQLite's.
fn open_ledger(path: &Path) -> Result<Ledger, String> {
    let probe = if path.exists() {
        std::fs::File::open(path)
    } else {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
    };
    probe.map_err(|e| format!("无法打开账本:{}", io_error(path, &e)))?;
    if path.metadata().is_ok_and(|m| m.len() > 0) {
        crate::ledger::check::check_file(path).map_err(|e| format!("{}:{e}", path.display()))?;
    }
    let ledger = Ledger::open(path).map_err(|e| format!("{}:{e}", path.display()))?;
    if let Some(from) = ledger.migrated_from {
        eprintln!(
            "已将账本 {} 由第 {from} 版升级为第 {} 版(审计记录、配额调整),原有项目与提交全部保留。",
            path.display(),
            crate::ledger::migrate::VERSION
        );
    }
    Ok(ledger)
}

/// Opens the ledger a command writes to, creating it (and saying so once)
/// when it does not exist yet.
pub fn open_or_create(path: &Path) -> Result<Ledger, String> {
    not_a_file(path)?;
    let new = !path.exists();
    let ledger = open_ledger(path)?;
    if new {
        eprintln!("已新建账本:{}", path.display());
    }
    Ok(ledger)
}

/// Finds a project by 项目编号, by `申请单位/项目名称` (or the
/// `申请单位-项目名称` label), or by 项目名称 alone when only one project
/// has it (`ops::find_project`).
pub fn find_project(ledger: &Ledger, query: &str) -> Result<Project, String> {
    crate::ops::find_project(ledger, query).map_err(|e| match e {
        crate::ops::OpError::Refused { reason, .. } => reason,
        crate::ops::OpError::Invalid(e) | crate::ops::OpError::Failed(e) => e,
    })
}

/// Parses a command-line date the way the forms accept dates:
/// `2026-09-30`, `2026/09/30`, `2026.09.30`, `2026年9月30日`, `20260930`.
pub fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    crate::read::text::parse_date(s.trim())
        .ok_or_else(|| "应为日期,如 2026-09-30、2026/09/30 或 2026年9月30日".to_string())
}

/// A service year as written on the command line: four digits (2027).
pub fn parse_year(s: &str) -> Result<i32, String> {
    let t = s.trim().trim_end_matches("年度").trim_end_matches('年');
    match t.parse::<i32>() {
        Ok(y) if t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()) && y >= 1000 => Ok(y),
        _ => Err(format!(
            "服务年度应写四位数字,如 2027(即 2026-07-01 至 2027-06-30),而不是“{s}”"
        )),
    }
}

/// Today's date on this computer (commands take `--on` to say another day).
pub fn today() -> chrono::NaiveDate {
    chrono::Local::now().date_naive()
}

pub use crate::oserror::{at as io_error, reason as io_reason};
