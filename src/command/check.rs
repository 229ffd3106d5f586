//! `zwyun validate` and `zwyun approve`.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use super::{
    load_projects, open_existing, open_or_create, Format, Globals, EXIT_OK, EXIT_PROBLEMS,
};
use crate::ledger::{ConfigVersion, LedgerError, Recording};
use crate::model::{Config, Form};
use crate::ops::record::{self, Desk};
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
    match &outcome.model {
        Some(Form::Annex1(app)) => {
            if let Err(e) = ledger.approve_application_on(app, replace, clerk.today) {
                return refused(e);
            }
            let label = app.header.project_key().label();
            crate::outln!(
                "已登记项目“{label}”的批准配额({} 类主机,{} 项服务)。",
                app.config.hosts.len(),
                app.config.services.len()
            );
        }
        Some(Form::Annex4(change)) => {
            let crate::identity::Identity::Found(project) =
                crate::identity::identify(&projects, &change.header.project_key())
            else {
                eprintln!("zwyun: 未登记:该项目尚未登记批准配额;请先登记其附件1(zwyun approve)");
                return Ok(EXIT_PROBLEMS);
            };
            let date = effective.unwrap_or(clerk.today);
            let desk = Desk {
                ledger: &ledger,
                policy: &schemas.policy,
                calendar: &calendar,
                today: clerk.today,
            };
            let warnings = match record::check_change(&desk, project, date) {
                Ok(w) => w,
                Err(e) => return super::life::refusal(e),
            };
            for w in warnings {
                eprintln!("zwyun: 警告:{w}");
            }
            let config = change.proposed_config(&project.current);
            let source = change_source(file)?;
            let versions = ledger.configs(project.id).map_err(|e| e.to_string())?;
            if let Some(earlier) = repeated(&versions, &source, date, &config) {
                eprintln!(
                    "zwyun: 未登记:项目“{}”的这份变更已于 {} 登记过({},自 {} 起生效);同一变更不重复登记",
                    project.label(),
                    earlier.recorded_at,
                    earlier.source,
                    earlier.effective.map(|d| d.to_string()).unwrap_or_default()
                );
                return Ok(EXIT_PROBLEMS);
            }
            ledger
                .approve_change(project.id, date, &source, &config)
                .map_err(|e| e.to_string())?;
            crate::out!("{}", report::change_table(&outcome.changes));
            crate::outln!(
                "已登记项目“{}”的资源变更,自 {date} 起生效。",
                project.label()
            );
        }
        None => unreachable!("a valid outcome always has a model"),
    }
    Ok(EXIT_OK)
}

/// A refusal by the ledger is a problem with the request (exit 1); any
/// other ledger failure is an error (exit 2).
fn refused(e: LedgerError) -> Result<u8, String> {
    match e {
        LedgerError::Refused(why) => {
            eprintln!("zwyun: 未登记:{why}");
            Ok(EXIT_PROBLEMS)
        }
        other => Err(other.to_string()),
    }
}

/// How an approved 附件4 is named in the ledger: its path and the start
/// of its SHA-256, so the same file is recognised under any name.
fn change_source(file: &Path) -> Result<String, String> {
    let bytes = std::fs::read(file).map_err(|e| super::io_error(file, &e))?;
    let sha: String = Sha256::digest(&bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(format!("annex4:{} sha256:{sha}", file.display()))
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
