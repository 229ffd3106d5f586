//! `zwyun validate` and `zwyun approve`.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use super::{
    load_projects, open_existing, open_or_create, Format, Globals, EXIT_OK, EXIT_PROBLEMS,
};
use crate::ledger::{ConfigVersion, Recording};
use crate::model::{Config, Form};
use crate::ops::record::{self, Desk};
use crate::ops::{OpError, OpResult};
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
    clerk: &super::life::Clerk,
    schemas: &Schemas,
    ledger_path: &Path,
    dir: Option<&Path>,
) -> Result<u8, String> {
    let mut ledger = open_or_create(ledger_path)?;
    let mut rec = Recording::new(clerk.by.clone(), "approve");
    rec.override_reason = clerk.override_reason.clone();
    rec.source = Some((file.display().to_string(), file_sha256(file)?));
    ledger.set_recording(rec);
    let calendar = crate::settle::calendar::Calendar::load(dir).map_err(|e| e.to_string())?;
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
    let desk = Desk {
        ledger: &ledger,
        policy: &schemas.policy,
        calendar: &calendar,
        today: clerk.today,
    };
    match record_approval(&outcome, replace, effective, &desk, &projects, || {
        change_source(file)
    }) {
        Err(e) => super::life::refusal(e),
        Ok(approved) => {
            for w in approved.warnings() {
                eprintln!("zwyun: 警告:{w}");
            }
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
        /// Warnings about the change's date (e.g. far after today).
        warnings: Vec<String>,
    },
}

impl Approved {
    /// What the clerk should know before relying on the record.
    pub fn warnings(&self) -> &[String] {
        match self {
            Approved::Quota { .. } => &[],
            Approved::Change { warnings, .. } => warnings,
        }
    }

    /// What the clerk is told (the last line of `zwyun approve`).
    pub fn text(&self) -> String {
        match self {
            Approved::Quota {
                label,
                hosts,
                services,
            } => format!("已登记项目“{label}”的批准配额({hosts} 类主机,{services} 项服务)。\n"),
            Approved::Change {
                label, date, table, ..
            } => {
                format!("{table}已登记项目“{label}”的资源变更,自 {date} 起生效。\n")
            }
        }
    }
}

/// Records a form that passed its check (`outcome` of the same bytes,
/// against `projects` as read from the desk's ledger): the quota of a
/// 附件1, or the change of a 附件4 from `effective` (default the desk's
/// today), named by `source`, after the date and order checks. Shared by
/// `zwyun approve` and the web desk's 批准.
pub fn record_approval(
    outcome: &validate::Outcome,
    replace: bool,
    effective: Option<NaiveDate>,
    desk: &Desk,
    projects: &crate::ledger::Projects,
    source: impl FnOnce() -> Result<String, String>,
) -> OpResult<Approved> {
    if outcome.status != Status::Valid {
        return Err(OpError::refused(
            "申请表未通过校验,请先修正问题".to_string(),
        ));
    }
    match &outcome.model {
        Some(Form::Annex1(app)) => {
            desk.ledger
                .approve_application_on(app, replace, desk.today)?;
            Ok(Approved::Quota {
                label: app.header.project_key().label(),
                hosts: app.config.hosts.len(),
                services: app.config.services.len(),
            })
        }
        Some(Form::Annex4(change)) => {
            let crate::identity::Identity::Found(project) =
                crate::identity::identify(projects, &change.header.project_key())
            else {
                return Err(OpError::refused(
                    "该项目尚未登记批准配额;请先登记其附件1(zwyun approve)".to_string(),
                ));
            };
            let date = effective.unwrap_or(desk.today);
            let warnings = record::check_change(desk, project, date)?;
            let config = change.proposed_config(&project.current);
            let source = source()?;
            let versions = desk.ledger.configs(project.id)?;
            if let Some(earlier) = repeated(&versions, &source, date, &config) {
                return Err(OpError::refused(format!(
                    "项目“{}”的这份变更已于 {} 登记过({},自 {} 起生效);同一变更不重复登记",
                    project.label(),
                    earlier.recorded_at,
                    earlier.source,
                    earlier.effective.map(|d| d.to_string()).unwrap_or_default()
                )));
            }
            desk.ledger
                .approve_change(project.id, date, &source, &config)?;
            Ok(Approved::Change {
                label: project.label(),
                date,
                table: report::change_table(&outcome.changes),
                warnings,
            })
        }
        None => Err(OpError::refused(
            "申请表未通过校验,请先修正问题".to_string(),
        )),
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

/// The SHA-256 of a file, in hex.
fn file_sha256(file: &Path) -> Result<String, String> {
    let bytes = std::fs::read(file).map_err(|e| super::io_error(file, &e))?;
    Ok(Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
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
