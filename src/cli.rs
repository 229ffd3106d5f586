//! Command line: clap definitions, and one function per command that maps
//! its outcome to an exit code (0 ok, 1 problems found, 2 usage or
//! configuration error).

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::ledger::Ledger;
use crate::model::FormKind;
use crate::schema::Schemas;
use crate::validate::{self, Context, Status};
use crate::{blank, report};

pub const EXIT_OK: u8 = 0;
pub const EXIT_PROBLEMS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

#[derive(Debug, Parser)]
#[command(name = "zwyun", version, about = "松江区市级政务云:申请表校验、协议生成、收件处理与年度结算")]
pub struct Args {
    /// 账本(SQLite)文件
    #[arg(long, global = true, env = "ZWYUN_LEDGER", default_value = "zwyun.db")]
    pub ledger: PathBuf,
    /// 校验规则目录(默认 ./schemas,不存在时用内置规则)
    #[arg(long, global = true, env = "ZWYUN_SCHEMAS")]
    pub schemas: Option<PathBuf>,
    /// 协议模板目录(默认 ./templates,不存在时用内置模板)
    #[arg(long, global = true, env = "ZWYUN_TEMPLATES")]
    pub templates: Option<PathBuf>,
    /// 输出详细日志(-v 信息,-vv 调试)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BlankForm {
    Annex1,
    Annex4,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// 校验提交的附件1/附件4 工作簿,逐单元格报告问题
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// 另为每个文件写出给单位的问题清单(.xlsx 与 .json)
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// 将校验通过的附件1 登记为项目的批准配额,或将附件4 登记为已批准的变更
    Approve {
        file: PathBuf,
        /// 以本申请表替换项目已有的配额(尚未签订协议时)
        #[arg(long)]
        replace: bool,
        /// 附件4 变更的生效日期(默认今天)
        #[arg(long)]
        effective: Option<chrono::NaiveDate>,
    },
    /// 由校验通过的附件1(或账本中的项目)生成协议文件
    Render {
        #[command(subcommand)]
        doc: crate::render::cmd::RenderDoc,
    },
    /// 生成空白表格(带下拉选项)
    Blank {
        #[arg(value_enum)]
        form: BlankForm,
        #[arg(short, long)]
        output: PathBuf,
    },
}

pub fn run(args: Args) -> u8 {
    init_tracing(args.verbose);
    let schemas = match Schemas::load(args.schemas.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(format!("校验规则有误:{e}")),
    };
    let result = match args.command {
        Command::Validate { files, format, report } => {
            cmd_validate(&files, format, report.as_deref(), &schemas, &args.ledger)
        }
        Command::Approve { file, replace, effective } => {
            cmd_approve(&file, replace, effective, &schemas, &args.ledger)
        }
        Command::Render { doc } => {
            crate::render::cmd::run(doc, args.templates.as_deref(), &schemas, &args.ledger)
        }
        Command::Blank { form, output } => {
            let kind = match form {
                BlankForm::Annex1 => FormKind::Annex1,
                BlankForm::Annex4 => FormKind::Annex4,
            };
            blank::write(kind, &schemas, &output)
                .map(|()| {
                    println!("已生成空白表格:{}", output.display());
                    EXIT_OK
                })
                .map_err(|e| e.to_string())
        }
    };
    result.unwrap_or_else(fail)
}

pub fn fail(message: String) -> u8 {
    eprintln!("zwyun: {message}");
    EXIT_ERROR
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ZWYUN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("zwyun={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Opens the ledger and reads its projects; a missing ledger file is
/// simply empty.
pub fn load_projects(path: &Path) -> Result<crate::ledger::Projects, String> {
    if !path.exists() {
        return Ok(Default::default());
    }
    Ledger::open(path)
        .and_then(|l| l.projects())
        .map_err(|e| format!("{}:{e}", path.display()))
}

fn cmd_validate(
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
            Format::Text => print!("{}", report::text(&outcome, schemas)),
        }
        if let Some(dir) = report_dir {
            report::write_files(&outcome, schemas, dir).map_err(|e| e.to_string())?;
        }
    }
    Ok(if all_valid { EXIT_OK } else { EXIT_PROBLEMS })
}

fn cmd_approve(
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
        eprint!("{}", report::text(&outcome, schemas));
        eprintln!("未登记:申请表未通过校验,请先修正上述问题。");
        return Ok(EXIT_PROBLEMS);
    }
    match &outcome.model {
        Some(crate::model::Form::Annex1(app)) => {
            ledger.approve_application(app, replace).map_err(|e| e.to_string())?;
            let label = app.header.project_key().label();
            println!("已登记项目“{label}”的批准配额({} 类主机,{} 项服务)。", app.config.hosts.len(), app.config.services.len());
        }
        Some(crate::model::Form::Annex4(change)) => {
            let project = projects
                .find(&change.header.project_key())
                .ok_or("账本中没有该项目")?;
            let date = effective.unwrap_or_else(|| chrono::Local::now().date_naive());
            let config = change.proposed_config(&project.current);
            let source = format!("annex4:{}", file.display());
            ledger
                .approve_change(project.id, date, &source, &config)
                .map_err(|e| e.to_string())?;
            print!("{}", report::change_table(&outcome.changes));
            println!("已登记项目“{}”的资源变更,自 {date} 起生效。", project.label());
        }
        None => unreachable!("a valid outcome always has a model"),
    }
    Ok(EXIT_OK)
}
