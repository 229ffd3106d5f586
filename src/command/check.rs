//! `zwyun validate` and `zwyun approve`.

use std::path::{Path, PathBuf};

use super::{load_projects, Format, EXIT_OK, EXIT_PROBLEMS};
use crate::ledger::Ledger;
use crate::report;
use crate::schema::Schemas;
use crate::validate::{self, Context, Status};

pub fn validate(
    files: &[PathBuf],
    format: Format,
    report_dir: Option<&Path>,
    schemas: &Schemas,
    ledger: &Path,
) -> Result<u8, String> {
    let projects = load_projects(ledger)?;
    let ctx = Context {
        schemas,
        projects: &projects,
    };
    if let Some(dir) = report_dir {
        std::fs::create_dir_all(dir).map_err(|e| format!("无法创建目录 {}:{e}", dir.display()))?;
    }
    let mut all_valid = true;
    for file in files {
        let outcome = validate::check_path(file, &ctx);
        all_valid &= outcome.status == Status::Valid;
        match format {
            Format::Json => println!("{}", report::json_line(&outcome)),
            Format::Text => print!("{}", report::text(&outcome)),
        }
        if let Some(dir) = report_dir {
            report::write_files(&outcome, dir).map_err(|e| e.to_string())?;
        }
    }
    Ok(if all_valid { EXIT_OK } else { EXIT_PROBLEMS })
}

pub fn approve(
    file: &Path,
    replace: bool,
    effective: Option<chrono::NaiveDate>,
    schemas: &Schemas,
    ledger_path: &Path,
) -> Result<u8, String> {
    let ledger = Ledger::open(ledger_path).map_err(|e| e.to_string())?;
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
    match &outcome.model {
        Some(crate::model::Form::Annex1(app)) => {
            ledger
                .approve_application(app, replace)
                .map_err(|e| e.to_string())?;
            let label = app.header.project_key().label();
            println!(
                "已登记项目“{label}”的批准配额({} 类主机,{} 项服务)。",
                app.config.hosts.len(),
                app.config.services.len()
            );
        }
        Some(crate::model::Form::Annex4(change)) => {
            let crate::identity::Identity::Found(project) =
                crate::identity::identify(&projects, &change.header.project_key())
            else {
                return Err("账本中没有该项目".into());
            };
            let date = effective.unwrap_or_else(|| chrono::Local::now().date_naive());
            let config = change.proposed_config(&project.current);
            let source = format!("annex4:{}", file.display());
            ledger
                .approve_change(project.id, date, &source, &config)
                .map_err(|e| e.to_string())?;
            print!("{}", report::change_table(&outcome.changes));
            println!(
                "已登记项目“{}”的资源变更,自 {date} 起生效。",
                project.label()
            );
        }
        None => unreachable!("a valid outcome always has a model"),
    }
    Ok(EXIT_OK)
}
