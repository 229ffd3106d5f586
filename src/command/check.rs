//! `zwyun validate` and `zwyun approve`.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use super::{
    load_projects, open_existing, open_or_create, Format, Globals, EXIT_OK, EXIT_PROBLEMS,
};
use crate::ledger::{ConfigVersion, Ledger, Recording};
use crate::model::{Config, Form};
use crate::ops::record::{self, Desk};
use crate::ops::{OpError, OpResult, State, Transition};
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
    let parties = super::load_parties(globals);
    let ctx = Context {
        schemas,
        projects: &projects,
        parties: parties.as_ref(),
    };
    let mut all_valid = true;
    for file in files {
        let outcome = validate::check_path(file, &ctx);
        all_valid &= outcome.status == Status::Valid;
        each(file, &outcome)?;
    }
    Ok(if all_valid { EXIT_OK } else { EXIT_PROBLEMS })
}

#[allow(clippy::too_many_arguments)]
pub fn approve(
    file: &Path,
    archive: Option<&Path>,
    replace: bool,
    effective: Option<NaiveDate>,
    clerk: &super::life::Clerk,
    schemas: &Schemas,
    globals: &Globals,
    dir: Option<&Path>,
) -> Result<u8, String> {
    let mut ledger = open_or_create(&globals.ledger)?;
    let archived;
    let file = if file.exists() {
        file
    } else {
        archived = submission_file(&ledger, file, archive)?;
        eprintln!("批准的原件:{}", archived.display());
        archived.as_path()
    };
    let mut rec = Recording::new(clerk.by.clone(), "approve");
    rec.override_reason = clerk.override_reason.clone();
    rec.source = Some((file.display().to_string(), file_sha256(file)?));
    ledger.set_recording(rec);
    let calendar = crate::settle::calendar::Calendar::load(dir).map_err(|e| e.to_string())?;
    let projects = ledger.projects().map_err(|e| e.to_string())?;
    let parties = super::load_parties(globals);
    let ctx = Context {
        schemas,
        projects: &projects,
        parties: parties.as_ref(),
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
        source(file)
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

/// The archived original of the submission `id` (as `status` prints it).
fn submission_file(ledger: &Ledger, id: &Path, archive: Option<&Path>) -> Result<PathBuf, String> {
    let text = id.to_string_lossy();
    let not_file =
        || format!("找不到文件“{text}”,账本中也没有这个编号的提交(zwyun status 列出提交及其编号)");
    let found = crate::intake::journal::by_id(ledger.conn(), &text).map_err(|e| e.to_string())?;
    let entry = match found.as_slice() {
        [] => return Err(not_file()),
        [one] => one,
        many => {
            return Err(format!(
                "编号“{text}”对应 {} 份提交,请写出更多位:{}",
                many.len(),
                many.iter()
                    .map(|e| format!("{}({})", &e.sha256[..16], e.file))
                    .collect::<Vec<_>>()
                    .join("、")
            ))
        }
    };
    let root = archive.unwrap_or(Path::new("archive"));
    match crate::intake::archive::find_original(root, &entry.sha256) {
        Ok(Some((path, _))) => Ok(path),
        Ok(None) | Err(_) => Err(format!(
            "提交 {}(“{}”)的原件不在归档目录 {} 中;请用 --archive 指定 process 使用的归档目录,或直接给出原文件",
            &entry.sha256[..12],
            entry.file,
            root.display()
        )),
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
    /// A 附件1 for a project with an agreement: its quota from `date`
    /// (配额调整); before the formal agreement also the configuration the
    /// formal agreement starts with.
    Revision {
        label: String,
        date: NaiveDate,
        before_formal: bool,
        from: String,
        to: String,
        transition: Transition,
        warnings: Vec<String>,
    },
    /// A 附件4 as an approved change from `date`; `table` is the change
    /// table as text.
    Change {
        label: String,
        date: NaiveDate,
        table: String,
        /// Everything is given back: the project ends on `date`.
        ends: bool,
        transition: Transition,
        /// Warnings about the change's date (e.g. far after today).
        warnings: Vec<String>,
    },
}

impl Approved {
    /// What the clerk should know before relying on the record.
    pub fn warnings(&self) -> &[String] {
        match self {
            Approved::Quota { .. } => &[],
            Approved::Revision { warnings, .. } | Approved::Change { warnings, .. } => warnings,
        }
    }

    /// What the clerk is told (the last line of `zwyun approve`).
    pub fn text(&self) -> String {
        match self {
            Approved::Quota {
                label,
                hosts,
                services,
            } => format!(
                "已登记项目“{label}”的批准配额({hosts} 类主机,{services} 项服务)。\n项目 {label} 状态:{}\n",
                State::Approved.label()
            ),
            Approved::Revision {
                label,
                date,
                before_formal,
                from,
                to,
                transition,
                ..
            } => {
                let formal = if *before_formal {
                    "尚未签订正式协议:新配额同时作为正式协议(附件3)及开通情况表的资源配置(细则 五(三))。"
                } else {
                    "在用资源配置不变;如需按新配额调整资源,请提交附件4 变更申请。"
                };
                format!(
                    "已登记项目“{label}”的配额调整(附件1),自 {date} 起生效:\n  原配额:{from}\n  新配额:{to}\n原配额保留在历史中;此后的附件4 按新配额的上限核对。{formal}\n项目 {label} {}\n",
                    transition.sentence()
                )
            }
            Approved::Change {
                label,
                date,
                table,
                ends,
                transition,
                ..
            } => {
                let mut s = format!("{table}已登记项目“{label}”的资源变更,自 {date} 起生效。\n");
                if *ends {
                    s += &format!(
                        "全部资源回收:项目自 {date} 起终止,资源计量至 {}。\n",
                        date.pred_opt().unwrap_or(*date)
                    );
                }
                s + &format!("项目 {label} {}\n", transition.sentence())
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
            let key = app.header.project_key();
            if let crate::identity::Identity::Found(project) =
                crate::identity::identify(projects, &key)
            {
                if !project.agreements.is_empty() {
                    if replace {
                        return Err(OpError::refused(format!(
                            "项目“{}”已签订协议,配额不能替换;新的附件1 按配额调整登记:去掉 --replace,用 --effective 指定生效日期",
                            project.label()
                        )));
                    }
                    let source = format!("annex1:{}", source()?);
                    return revise(desk, project, app, effective, source);
                }
            }
            desk.ledger
                .approve_application_on(app, replace, desk.today)?;
            Ok(Approved::Quota {
                label: key.label(),
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
            let mut warnings = record::check_change(desk, project, date)?;
            warnings.extend(code_offer(project, &change.header.project_key()));
            let config = change.proposed_config(&project.current);
            let source = format!("annex4:{}", source()?);
            let on = desk.today.max(date);
            let before = record::state_on(desk.ledger, project, on)?;
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
            let (_, transition) = record::transition(desk, project, before, on)?;
            Ok(Approved::Change {
                label: project.label(),
                date,
                table: report::change_table(&outcome.changes),
                ends: config.is_empty(),
                transition,
                warnings,
            })
        }
        None => Err(OpError::refused(
            "申请表未通过校验,请先修正问题".to_string(),
        )),
    }
}

/// A form that names a 项目编号 for a project the ledger has without
/// one: the code is offered to the clerk, never taken on its own.
fn code_offer(project: &crate::ledger::Project, key: &crate::model::ProjectKey) -> Option<String> {
    let code = key.code.as_deref().filter(|_| project.code.is_none())?;
    Some(format!(
        "本表填写了项目编号“{code}”,账本中项目“{}”尚无编号;核对无误后请登记:zwyun ledger set-code --project \"{}\" --code \"{code}\"",
        project.label(),
        project.label()
    ))
}

/// A 附件1 of a project with an agreement, recorded as its quota from
/// `effective` (default today) after the checks of `record::check_revision`.
fn revise(
    desk: &Desk,
    project: &crate::ledger::Project,
    app: &crate::model::Application,
    effective: Option<NaiveDate>,
    source: String,
) -> OpResult<Approved> {
    let date = effective.unwrap_or(desk.today);
    let (mut warnings, before_formal) =
        record::check_revision(desk, project, &app.header.provider, date)?;
    warnings.extend(code_offer(project, &app.header.project_key()));
    if app.config == project.quota {
        return Err(OpError::refused(format!(
            "项目“{}”已签订协议,本附件1 的资源与现行配额相同,无需配额调整",
            project.label()
        )));
    }
    let on = desk.today.max(date);
    let before = record::state_on(desk.ledger, project, on)?;
    desk.ledger
        .revise_quota(project.id, date, &source, &app.config, before_formal)?;
    let (_, transition) = record::transition(desk, project, before, on)?;
    Ok(Approved::Revision {
        label: project.label(),
        date,
        before_formal,
        from: crate::ops::view::config_summary(&project.quota),
        to: crate::ops::view::config_summary(&app.config),
        transition,
        warnings,
    })
}

/// How an approved form is named in the ledger (after its kind): its path
/// and the start of its SHA-256, so the same file is recognised under any
/// name.
fn source(file: &Path) -> Result<String, String> {
    let bytes = std::fs::read(file).map_err(|e| super::io_error(file, &e))?;
    Ok(source_of(file, &bytes))
}

/// `source` of bytes already read from `file`.
pub fn source_of(file: &Path, bytes: &[u8]) -> String {
    let sha: String = Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{} sha256:{sha}", file.display())
}

/// The SHA-256 of a file, in hex.
fn file_sha256(file: &Path) -> Result<String, String> {
    let bytes = std::fs::read(file).map_err(|e| super::io_error(file, &e))?;
    Ok(crate::intake::journal::sha256_hex(&bytes))
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
