//! `zwyun validate` and `zwyun approve`.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use super::{
    load_projects, open_existing, open_or_create, Format, Globals, EXIT_OK, EXIT_PROBLEMS,
};
use crate::ledger::{ConfigVersion, LedgerError};
use crate::model::{Config, Form};
use crate::report;
use crate::schema::Schemas;
use crate::validate::{self, Context, Status};

/// `zwyun validate`; the ledger (for 附件4) may be missing unless it was
/// named explicitly.
pub fn validate(
    files: &[PathBuf],
    format: Format,
    report_dir: Option<&Path>,
    schemas: &Schemas,
    globals: &Globals,
) -> Result<u8, String> {
    if let Some(dir) = report_dir {
        std::fs::create_dir_all(dir).map_err(|e| super::io_error(dir, &e))?;
    }
    check_each(files, schemas, globals, |file, outcome| {
        match format {
            Format::Json => crate::outln!("{}", report::json_line(outcome)),
            Format::Text => crate::out!("{}", report::text(outcome)),
        }
        match report_dir {
            Some(_) if outcome.status == Status::Valid => {
                eprintln!("{}:校验通过,不写问题清单。", file.display());
            }
            Some(dir) => {
                report::write_files(outcome, dir)
                    .map_err(|e| crate::oserror::describe(dir, &e, "无法写出问题清单"))?;
            }
            None => {}
        }
        Ok(())
    })
}

/// `zwyun read`: what was understood from each file, with its problems.
pub fn read(
    files: &[PathBuf],
    format: Format,
    schemas: &Schemas,
    globals: &Globals,
) -> Result<u8, String> {
    check_each(files, schemas, globals, |_, outcome| {
        match format {
            Format::Json => crate::outln!("{}", crate::readout::json_value(outcome, schemas)),
            Format::Text => crate::out!("{}", crate::readout::text(outcome, schemas)),
        }
        Ok(())
    })
}

/// Checks each file against the approved projects (none when no ledger
/// exists yet, unless the clerk named a ledger file that is missing) and
/// hands the outcome to `each`; exit 0 when every file passed.
fn check_each(
    files: &[PathBuf],
    schemas: &Schemas,
    globals: &Globals,
    mut each: impl FnMut(&Path, &validate::Outcome) -> Result<(), String>,
) -> Result<u8, String> {
    let ledger = &globals.ledger;
    if globals.ledger_given && !ledger.exists() {
        open_existing(ledger)?;
    }
    let projects = load_projects(ledger)?;
    let ctx = Context {
        schemas,
        projects: &projects,
    };
    let mut all_valid = true;
    for file in files {
        let outcome = validate::check_path(file, &ctx);
        all_valid &= outcome.status == Status::Valid;
        each(file, &outcome)?;
    }
    Ok(if all_valid { EXIT_OK } else { EXIT_PROBLEMS })
}

pub fn approve(
    file: &Path,
    replace: bool,
    effective: Option<NaiveDate>,
    schemas: &Schemas,
    ledger_path: &Path,
) -> Result<u8, String> {
    let ledger = open_or_create(ledger_path)?;
    let projects = ledger.projects().map_err(|e| e.to_string())?;
    let ctx = Context {
        schemas,
        projects: &projects,
    };
    let outcome = validate::check_path(file, &ctx);
    if outcome.status != Status::Valid {
        eprint!("{}", report::text(&outcome));
        eprintln!("未登记:申请表未通过校验,请先修正上述问题。");
        return Ok(EXIT_PROBLEMS);
    }
    if !outcome.diags.is_empty() {
        // The warnings `validate` shows (e.g. policy.current_mismatch).
        eprint!("{}", report::text(&outcome));
    }
    let recorded = record_approval(&outcome, replace, effective, &ledger, &projects, || {
        change_source(file)
    })?;
    match recorded {
        Err(why) => {
            eprintln!("zwyun: 未登记:{why}");
            Ok(EXIT_PROBLEMS)
        }
        Ok(approved) => {
            crate::out!("{}", approved.text());
            Ok(EXIT_OK)
        }
    }
}

/// What `approve` recorded in the ledger.
#[derive(Debug, Clone)]
pub enum Approved {
    /// A 附件1 as the project's approved quota.
    Quota {
        label: String,
        hosts: usize,
        services: usize,
    },
    /// A 附件4 as an approved change from `date`; `table` is the change
    /// table as text.
    Change {
        label: String,
        date: NaiveDate,
        table: String,
    },
}

impl Approved {
    /// What the clerk is told (the last line of `zwyun approve`).
    pub fn text(&self) -> String {
        match self {
            Approved::Quota {
                label,
                hosts,
                services,
            } => format!("已登记项目“{label}”的批准配额({hosts} 类主机,{services} 项服务)。\n"),
            Approved::Change { label, date, table } => {
                format!("{table}已登记项目“{label}”的资源变更,自 {date} 起生效。\n")
            }
        }
    }
}

/// Records a form that passed its check (`outcome` of the same bytes,
/// against `projects` as read from `ledger`): the quota of a 附件1, or the
/// change of a 附件4 from `effective` (default today), named by `source`.
/// Ok(Err(reason)) when the ledger refuses it (a problem with the request);
/// Err for a failure of the ledger itself. Shared by `zwyun approve` and
/// the web desk's 批准.
pub fn record_approval(
    outcome: &validate::Outcome,
    replace: bool,
    effective: Option<NaiveDate>,
    ledger: &crate::ledger::Ledger,
    projects: &crate::ledger::Projects,
    source: impl FnOnce() -> Result<String, String>,
) -> Result<Result<Approved, String>, String> {
    match &outcome.model {
        Some(Form::Annex1(app)) if outcome.status == Status::Valid => {
            if let Err(e) = ledger.approve_application(app, replace) {
                return refused(e);
            }
            Ok(Ok(Approved::Quota {
                label: app.header.project_key().label(),
                hosts: app.config.hosts.len(),
                services: app.config.services.len(),
            }))
        }
        Some(Form::Annex4(change)) if outcome.status == Status::Valid => {
            let crate::identity::Identity::Found(project) =
                crate::identity::identify(projects, &change.header.project_key())
            else {
                return Ok(Err(
                    "该项目尚未登记批准配额;请先登记其附件1(zwyun approve)".into()
                ));
            };
            let date = effective.unwrap_or_else(|| chrono::Local::now().date_naive());
            let config = change.proposed_config(&project.current);
            let source = source()?;
            let versions = ledger.configs(project.id).map_err(|e| e.to_string())?;
            if let Some(earlier) = repeated(&versions, &source, date, &config) {
                return Ok(Err(format!(
                    "项目“{}”的这份变更已于 {} 登记过({},自 {} 起生效);同一变更不重复登记",
                    project.label(),
                    earlier.recorded_at,
                    earlier.source,
                    earlier.effective.map(|d| d.to_string()).unwrap_or_default()
                )));
            }
            ledger
                .approve_change(project.id, date, &source, &config)
                .map_err(|e| e.to_string())?;
            Ok(Ok(Approved::Change {
                label: project.label(),
                date,
                table: report::change_table(&outcome.changes),
            }))
        }
        _ => Ok(Err("申请表未通过校验,请先修正问题".into())),
    }
}

/// A refusal by the ledger is a problem with the request (exit 1); any
/// other ledger failure is an error (exit 2).
fn refused(e: LedgerError) -> Result<Result<Approved, String>, String> {
    match e {
        LedgerError::Refused(why) => Ok(Err(why)),
        other => Err(other.to_string()),
    }
}

/// How an approved 附件4 is named in the ledger: its path and the start
/// of its SHA-256, so the same file is recognised under any name.
fn change_source(file: &Path) -> Result<String, String> {
    let bytes = std::fs::read(file).map_err(|e| super::io_error(file, &e))?;
    Ok(change_source_of(file, &bytes))
}

/// `change_source` of bytes already read from `file`.
pub fn change_source_of(file: &Path, bytes: &[u8]) -> String {
    let sha: String = Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("annex4:{} sha256:{sha}", file.display())
}

/// An earlier approval of the same change: the same file content, or the
/// same resources from the same effective date.
fn repeated<'v>(
    versions: &'v [ConfigVersion],
    source: &str,
    date: NaiveDate,
    config: &Config,
) -> Option<&'v ConfigVersion> {
    let sha = source.rsplit(' ').next();
    versions.iter().find(|v| {
        let same_file = sha.is_some_and(|s| v.source.ends_with(&format!(" {s}")));
        same_file || (v.effective == Some(date) && &v.config == config)
    })
}
