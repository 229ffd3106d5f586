//! Command line: clap definitions, and one function per command that maps
//! its outcome to an exit code (0 ok, 1 problems found, 2 usage or
//! configuration error).

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::ledger::Ledger;
use crate::model::FormKind;
use crate::schema::Schemas;
use crate::validate::{self, Context, Status};
use crate::{blank, intake, report, settle};

pub const EXIT_OK: u8 = 0;
pub const EXIT_PROBLEMS: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "zwyun",
    version,
    about = "松江区市级政务云:申请表校验、协议生成、收件处理与年度结算"
)]
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
    /// 处理收件箱中的全部提交(一次),输出回执、协议草稿或问题清单
    Process {
        inbox: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        intake: IntakeArgs,
    },
    /// 持续监视收件箱,新文件到达即处理
    Watch {
        inbox: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// 每隔若干秒扫描一次(网络共享目录收不到文件事件时使用)
        #[arg(long, value_name = "SECS")]
        poll: Option<f64>,
        #[command(flatten)]
        intake: IntakeArgs,
    },
    /// 演示:把内置样例放入 DIR/inbox,按 process 的同一流程处理到 DIR/out
    Demo {
        #[arg(long, default_value = "zwyun-demo")]
        dir: PathBuf,
    },
    /// 性能基准:生成 N 份申请表,测量 process 吞吐量、峰值内存、单文件校验用时与恶意输入
    Bench {
        #[arg(long, default_value_t = 200)]
        n: usize,
        #[arg(long, default_value = "zwyun-bench")]
        dir: PathBuf,
        /// 恶意输入样本目录(含 zip-bomb.xlsx;默认 tests/fixtures)
        #[arg(long, default_value = "tests/fixtures")]
        fixtures: PathBuf,
    },
    /// 列出最近处理的提交
    Status {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
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
    /// 计算协议签订后若干个工作日的到期日(按国家法定节假日与调休)
    Deadline {
        /// 签订日期,如 2026-09-30
        #[arg(long)]
        signed: chrono::NaiveDate,
        /// 工作日数(默认取 policy.yaml 的 delivery_working_days,即 5)
        #[arg(long)]
        days: Option<u32>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// 账本:登记测试协议、正式协议
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// 邮件:检查邮件服务器配置,发送暂存的回复
    #[command(subcommand)]
    Mail(MailCommand),
    /// 按附件5 松江区云服务商绩效考核表计算考核得分与结算扣减比例
    Assess {
        /// 考核数据(YAML:provider、year、A3、C1、E1、E4、J2、H1)
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// 另写出填好的附件5 考核表(.xlsx)
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// 计量服务年度(当年7月1日至次年6月30日)的正式资源,生成结算项目工作簿草稿
    Settle {
        /// 服务年度:2026 即 2026-07-01 至 2027-06-30
        #[arg(long)]
        year: i32,
        /// 考核结果:YAML 文件或存放它们的目录(可多个)
        #[arg(long, num_args = 1..)]
        assessments: Vec<PathBuf>,
        /// 价格表(默认 schemas/prices.yaml)
        #[arg(long)]
        prices: Option<PathBuf>,
        /// 输出工作簿(默认 松江区电子政务云资源结算项目-年度.xlsx)
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// 登记已签订的测试协议(附件2),测试期 1~3 个月
    TestSigned {
        /// 项目编号
        #[arg(long)]
        project: String,
        /// 签订日期
        #[arg(long)]
        date: chrono::NaiveDate,
        /// 测试期限(月)
        #[arg(long)]
        months: u32,
    },
    /// 登记已签订的正式协议(附件3),须在测试期满后
    FormalSigned {
        /// 项目编号
        #[arg(long)]
        project: String,
        /// 签订日期(起租日)
        #[arg(long)]
        date: chrono::NaiveDate,
    },
}

#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// 连接 IMAP 与 SMTP 服务器,逐项说明哪些可用、哪些不可用
    Check {
        /// 邮件配置(YAML)
        #[arg(long, env = "ZWYUN_MAIL", value_name = "FILE")]
        mail: PathBuf,
    },
    /// 发送暂存待审(reply: hold)、待重试与发送失败的全部回复
    Send {
        /// 邮件配置(YAML)
        #[arg(long, env = "ZWYUN_MAIL", value_name = "FILE")]
        mail: PathBuf,
    },
}

#[derive(Debug, clap::Args)]
pub struct IntakeArgs {
    /// 原件归档目录(默认与输出目录同级的 archive/)
    #[arg(long)]
    archive: Option<PathBuf>,
    /// 文件大小与修改时间保持不变多少秒后才处理
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    stable: f64,
    /// 测试协议草稿的测试期限(月,1~3;默认按 policy.yaml)
    #[arg(long)]
    months: Option<u32>,
    /// 邮件配置(YAML):从 IMAP 邮箱收取提交,经 SMTP 回复
    #[arg(long, env = "ZWYUN_MAIL", value_name = "FILE")]
    mail: Option<PathBuf>,
    /// watch 时每隔若干秒收取一次邮件
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    mail_poll: f64,
}

/// The global options the commands need, once clap is done.
pub struct Globals {
    pub ledger: PathBuf,
    pub schemas: Option<PathBuf>,
    pub templates: Option<PathBuf>,
}

pub fn run(args: Args) -> u8 {
    init_tracing(args.verbose);
    crate::read::install_panic_hook();
    let args_command = args.command;
    let schemas = match Schemas::load(args.schemas.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(format!("校验规则有误:{e}")),
    };
    let globals = Globals {
        ledger: args.ledger,
        schemas: args.schemas,
        templates: args.templates,
    };
    let args = &globals;
    let result = match args_command {
        Command::Validate {
            files,
            format,
            report,
        } => cmd_validate(&files, format, report.as_deref(), &schemas, &args.ledger),
        Command::Approve {
            file,
            replace,
            effective,
        } => cmd_approve(&file, replace, effective, &schemas, &args.ledger),
        Command::Process { inbox, out, intake } => {
            cmd_process(inbox, out, &intake, None, &schemas, args)
        }
        Command::Watch {
            inbox,
            out,
            poll,
            intake,
        } => cmd_process(inbox, out, &intake, Some(poll), &schemas, args),
        Command::Bench { n, dir, fixtures } => {
            let opts = crate::bench::Options {
                n,
                dir,
                fixtures: Some(fixtures),
            };
            crate::bench::run(&opts, &schemas).map(|report| {
                print!("{report}");
                EXIT_OK
            })
        }
        Command::Demo { dir } => cmd_demo(&dir, &schemas, args),
        Command::Status { limit, format } => cmd_status(limit, format, &args.ledger),
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
        Command::Deadline {
            signed,
            days,
            format,
        } => settle::commands::deadline(signed, days, format, &schemas, args.schemas.as_deref()),
        Command::Ledger(cmd) => run_ledger(cmd, &schemas, &args.ledger, args.schemas.as_deref()),
        Command::Mail(cmd) => crate::mail::cmd::run(cmd, &args.ledger),
        Command::Assess { file, format, out } => {
            settle::commands::assess(&file, format, out.as_deref())
        }
        Command::Settle {
            year,
            assessments,
            prices,
            out,
        } => settle::commands::settle_year(
            year,
            &assessments,
            prices.as_deref(),
            out.as_deref(),
            &schemas,
            &args.ledger,
            args.schemas.as_deref(),
        ),
    };
    let code = result.unwrap_or_else(fail);
    crate::bench::report_peak_if_asked();
    code
}

fn run_ledger(
    cmd: LedgerCommand,
    schemas: &Schemas,
    ledger: &Path,
    dir: Option<&Path>,
) -> Result<u8, String> {
    match cmd {
        LedgerCommand::TestSigned {
            project,
            date,
            months,
        } => settle::commands::test_signed(&project, date, months, schemas, ledger, dir),
        LedgerCommand::FormalSigned { project, date } => {
            settle::commands::formal_signed(&project, date, schemas, ledger, dir)
        }
    }
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
            Format::Text => print!("{}", report::text(&outcome)),
        }
        if let Some(dir) = report_dir {
            report::write_files(&outcome, dir).map_err(|e| e.to_string())?;
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
            println!(
                "已登记项目“{}”的资源变更,自 {date} 起生效。",
                project.label()
            );
        }
        None => unreachable!("a valid outcome always has a model"),
    }
    Ok(EXIT_OK)
}

fn secs(s: f64) -> Result<std::time::Duration, String> {
    std::time::Duration::try_from_secs_f64(s).map_err(|_| format!("时间参数无效:{s}"))
}

/// `process` (one pass, `watch` = None) or `watch` (loop, poll interval).
fn cmd_process(
    inbox: PathBuf,
    out: PathBuf,
    a: &IntakeArgs,
    watch: Option<Option<f64>>,
    schemas: &Schemas,
    args: &Globals,
) -> Result<u8, String> {
    if !inbox.is_dir() {
        return Err(format!("收件目录不存在:{}", inbox.display()));
    }
    let range = &schemas.policy.test_months;
    let months = range.check(a.months.unwrap_or(range.default))?;
    let renderer = crate::render::Renderer::load(args.templates.as_deref(), schemas)
        .map_err(|e| e.to_string())?;
    let mut opts = intake::Options::new(inbox, out, a.archive.clone());
    opts.quiet = secs(a.stable)?;
    opts.months = months;
    opts.progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let calendar = crate::settle::calendar::Calendar::load(args.schemas.as_deref())
        .map_err(|e| e.to_string())?;
    let env = intake::Env {
        schemas,
        renderer: &renderer,
        calendar: &calendar,
        ledger: &args.ledger,
    };
    let mail = crate::mail::cmd::load(a.mail.as_deref(), &opts)?;
    if let Some(poll) = watch {
        let poll = poll.map(secs).transpose()?;
        let mut poller = mail
            .map(|(cfg, folders)| {
                secs(a.mail_poll).map(|every| {
                    crate::mail::Poller::new(cfg, folders, args.ledger.clone(), schemas, every)
                })
            })
            .transpose()?;
        eprintln!("正在监视 {}(Ctrl-C 停止)……", opts.inbox.display());
        let source = poller.as_mut().map(|p| p as &mut dyn intake::Source);
        intake::watch(&opts, &env, poll, source, |s| println!("{}", s.line()))
            .map_err(|e| e.to_string())?;
        return Ok(EXIT_OK);
    }
    let mut worker = intake::Worker::start(&opts.inbox).map_err(|e| e.to_string())?;
    let mut stability = Default::default();
    let mut pass = || intake::process_once(&opts, &env, &mut worker, &mut stability, true);
    let (summary, mail_summary) = match &mail {
        Some((cfg, folders)) => {
            let (s, m) = crate::mail::around(cfg, folders, &args.ledger, schemas, true, pass);
            (s, Some(m))
        }
        None => (pass(), None),
    };
    let summary = summary.map_err(|e| e.to_string())?;
    println!("{}", summary.line());
    if let Some(m) = &mail_summary {
        println!("{}", m.line());
        if !m.errors.is_empty() {
            return Ok(EXIT_ERROR);
        }
    }
    println!("输出目录:{}", opts.outbox.display());
    Ok(if summary.all_valid() {
        EXIT_OK
    } else {
        EXIT_PROBLEMS
    })
}

fn cmd_demo(dir: &Path, schemas: &Schemas, args: &Globals) -> Result<u8, String> {
    let inbox = dir.join("inbox");
    intake::demo::fill_inbox(&inbox).map_err(|e| format!("{}:{e}", inbox.display()))?;
    let ledger = Ledger::open(&args.ledger).map_err(|e| e.to_string())?;
    let projects = ledger.projects().map_err(|e| e.to_string())?;
    let ctx = Context {
        schemas,
        projects: &projects,
    };
    let example =
        validate::check_bytes("annex1-example.xlsx", intake::demo::APPROVED_EXAMPLE, &ctx);
    if let Some(app) = example.application() {
        if projects.find(&app.header.project_key()).is_none() {
            ledger
                .approve_application(app, false)
                .map_err(|e| e.to_string())?;
            println!(
                "演示:已将示例项目 SJ-2026-017 的附件1 登记为批准配额(账本 {})。",
                args.ledger.display()
            );
        }
    }
    drop(ledger);
    let intake = IntakeArgs {
        archive: Some(dir.join("archive")),
        stable: 2.0,
        months: None,
        mail: None,
        mail_poll: 60.0,
    };
    println!(
        "演示:已将 {} 份样例放入 {}。",
        intake::demo::SAMPLES.len(),
        inbox.display()
    );
    cmd_process(inbox, dir.join("out"), &intake, None, schemas, args)?;
    println!(
        "原件归档在 {},非工作簿退回在 {}。",
        dir.join("archive").display(),
        dir.join("rejected").display()
    );
    println!("查看处理记录:zwyun status");
    Ok(EXIT_OK)
}

fn cmd_status(limit: usize, format: Format, ledger: &Path) -> Result<u8, String> {
    if !ledger.exists() {
        println!("账本 {} 中尚无记录。", ledger.display());
        return Ok(EXIT_OK);
    }
    let ledger = Ledger::open(ledger).map_err(|e| e.to_string())?;
    let entries = intake::journal::recent(ledger.conn(), limit).map_err(|e| e.to_string())?;
    if format == Format::Text {
        if let Some(mail) = crate::mail::status_text(ledger.conn())? {
            print!("{mail}");
        }
    }
    for e in &entries {
        match format {
            Format::Json => println!("{}", serde_json::to_string(e).unwrap_or_default()),
            Format::Text => {
                let dup = if e.duplicates > 0 {
                    format!("(重复提交 {} 次)", e.duplicates)
                } else {
                    String::new()
                };
                println!(
                    "{}  {}  {}  {}  {}{dup}\n    {}",
                    e.received_at,
                    status_label(&e.status),
                    e.unit.as_deref().unwrap_or("-"),
                    e.project.as_deref().unwrap_or("-"),
                    e.file,
                    e.outputs.join("\n    ")
                );
            }
        }
    }
    Ok(EXIT_OK)
}

fn status_label(s: &str) -> &str {
    match s {
        "valid" => "通过",
        "invalid" => "未通过",
        "unreadable" => "无法读取",
        "rejected" => "非工作簿",
        "claimed" => "处理中",
        other => other,
    }
}
