//! The command layer: what every `zwyun` command shares (exit codes,
//! output format, the global paths, opening the ledger, finding a project)
//! and one file per group of commands. `cli.rs` parses the arguments and
//! calls in here; the stages below (read, validate, render, ledger,
//! intake, settle) never import from this module.

pub mod check;
pub mod intake;
pub mod render;
pub mod settle;

use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::ledger::{Ledger, Projects};

pub const EXIT_OK: u8 = 0;
pub const EXIT_PROBLEMS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// The global options the commands need, once clap is done.
pub struct Globals {
    pub ledger: PathBuf,
    pub schemas: Option<PathBuf>,
    pub templates: Option<PathBuf>,
}

/// Prints a usage or configuration error; exit 2.
pub fn fail(message: String) -> u8 {
    eprintln!("zwyun: {message}");
    EXIT_ERROR
}

/// Opens the ledger and reads its projects; a missing ledger file is
/// simply empty.
pub fn load_projects(path: &Path) -> Result<Projects, String> {
    if !path.exists() {
        return Ok(Default::default());
    }
    Ledger::open(path)
        .and_then(|l| l.projects())
        .map_err(|e| format!("{}:{e}", path.display()))
}
