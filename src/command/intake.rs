//! The drop-folder commands: `process`, `watch`, `demo`, `status`.

use std::path::{Path, PathBuf};

use super::{open_existing, open_or_create, Format, Globals, EXIT_OK, EXIT_PROBLEMS};
use crate::intake;
use crate::schema::Schemas;
use crate::validate::{self, Context};

/// The intake options `process`, `watch` and `demo` share.
#[derive(Debug, Clone)]
pub struct IntakeOptions {
    /// Where originals are archived (default: `archive/` beside the output).
    pub archive: Option<PathBuf>,
    /// Seconds a file's size and mtime must stay unchanged.
    pub stable: f64,
    /// Test period of drafted test agreements (default: policy.yaml).
    pub months: Option<u32>,
    /// The mail configuration (`--mail`): the mailbox feeds the inbox.
    pub mail: Option<PathBuf>,
    /// `watch`: seconds between mailbox fetches.
    pub mail_poll: f64,
}

fn secs(s: f64) -> Result<std::time::Duration, String> {
    std::time::Duration::try_from_secs_f64(s).map_err(|_| format!("时间参数无效:{s}"))
}

/// What an intake pass needs besides the rules: the folders and options,
/// the agreement templates and the working-day calendar.
pub struct Setup {
    pub opts: intake::Options,
    pub renderer: crate::render::Renderer,
    pub calendar: crate::settle::calendar::Calendar,
}

/// Checks the inbox and the options, loads templates and calendar, and
/// opens (or creates) the ledger once: what `process`, `watch` and the
/// web desk's uploads share.
pub fn setup(
    inbox: PathBuf,
    out: PathBuf,
    a: &IntakeOptions,
    schemas: &Schemas,
    args: &Globals,
) -> Result<Setup, String> {
    if !inbox.is_dir() {
        return Err(format!("收件目录不存在:{}", inbox.display()));
    }
    let range = &schemas.policy.test_months;
    let months = range.check(a.months.unwrap_or(range.default))?;
    let renderer = crate::render::Renderer::load(args.templates.as_deref(), schemas)
        .map_err(|e| e.to_string())?;
    // A template that fails or exceeds its limits is the configuration's
    // fault: said once, before any submission is taken.
    crate::render::probe::probe(args.templates.as_deref(), args.schemas.as_deref())
        .map_err(|e| format!("{e}\n收件目录中的文件未被处理;改正模板后再次运行即可"))?;
    drop(open_or_create(&args.ledger)?);
    if intake::survey::ledger_in(&args.ledger, &inbox) {
        eprintln!(
            "zwyun: 警告:账本 {} 位于收件目录中。zwyun 不会把账本及其 -wal、-shm 文件当作提交处理,\
             但建议把账本放在收件目录之外(如 --ledger /srv/zwyun/zwyun.db)",
            args.ledger.display()
        );
    }
    let mut opts = intake::Options::new(inbox, out, a.archive.clone());
    opts.quiet = secs(a.stable)?;
    opts.months = months;
    opts.progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let calendar = crate::settle::calendar::Calendar::load(args.schemas.as_deref())
        .map_err(|e| e.to_string())?;
    Ok(Setup {
        opts,
        renderer,
        calendar,
    })
}

/// `process` (one pass, `watch` = None) or `watch` (loop, poll interval).
pub fn process(
    inbox: PathBuf,
    out: PathBuf,
    a: &IntakeOptions,
    watch: Option<Option<f64>>,
    schemas: &Schemas,
    args: &Globals,
) -> Result<u8, String> {
    let Setup {
        opts,
        renderer,
        calendar,
    } = setup(inbox, out, a, schemas, args)?;
    let projects = Default::default();
    let env = intake::Env {
        schemas,
        renderer: &renderer,
        calendar: &calendar,
        ledger: &args.ledger,
        projects: &projects,
    };
    let mail = super::mail::load(a.mail.as_deref(), &opts)?;
    if let Some(poll) = watch {
        let poll = poll.map(secs).transpose()?;
        let mut poller = mail
            .map(|(cfg, folders)| {
                secs(a.mail_poll).map(|every| {
                    crate::mail::Poller::new(
                        cfg,
                        folders,
                        args.ledger.clone(),
                        schemas,
                        every,
                        |line| crate::outln!("{line}"),
                    )
                })
            })
            .transpose()?;
        eprintln!("正在监视 {}(Ctrl-C 停止)……", opts.inbox.display());
        let source = poller.as_mut().map(|p| p as &mut dyn intake::Source);
        intake::watch(&opts, &env, poll, source, |s| crate::outln!("{}", s.line()))
            .map_err(|e| e.to_string())?;
        return Ok(EXIT_OK);
    }
    let mut worker =
        intake::Worker::start(&opts.inbox).map_err(|e| super::io_error(&opts.inbox, &e))?;
    let mut stability = Default::default();
    let mut pass = || intake::process_once(&opts, &env, &mut worker, &mut stability, true);
    let (summary, mail_summary) = match &mail {
        Some((cfg, folders)) => {
            let (s, m) = crate::mail::around(cfg, folders, &args.ledger, schemas, true, pass);
            (s, Some(m))
        }
        None => (pass(), None),
    };
    let summary = summary.map_err(|e| {
        format!(
            "{e}\n本次处理未完成:收件目录中的文件留在原处(已取走的留在 {} 中),没有文件被移入 failed;\
             原因消除后再次运行即接着处理,不会重复",
            opts.inbox.join(".zwyun").join("work").display()
        )
    })?;
    crate::outln!("{}", summary.line());
    if let Some(m) = &mail_summary {
        crate::outln!("{}", m.line());
        if m.only_outages() {
            return Ok(super::EXIT_OUTAGE);
        }
        if !m.errors.is_empty() {
            return Ok(super::EXIT_ERROR);
        }
    }
    crate::outln!("输出目录:{}", opts.outbox.display());
    Ok(if summary.all_valid() {
        EXIT_OK
    } else {
        EXIT_PROBLEMS
    })
}

pub fn demo(dir: &Path, schemas: &Schemas, args: &Globals) -> Result<u8, String> {
    let inbox = dir.join("inbox");
    intake::demo::fill_inbox(&inbox).map_err(|e| super::io_error(&inbox, &e))?;
    let mut ledger = open_or_create(&args.ledger)?;
    let projects = ledger.projects().map_err(|e| e.to_string())?;
    let parties = super::load_parties(args);
    let ctx = Context {
        schemas,
        projects: &projects,
        parties: parties.as_ref(),
    };
    let example =
        validate::check_bytes("annex1-example.xlsx", intake::demo::APPROVED_EXAMPLE, &ctx);
    if let Some(app) = example.application() {
        if projects.find(&app.header.project_key()).is_none() {
            // Recorded with its file's hash: `status` shows the example
            // submission as approved.
            let mut rec = crate::ledger::Recording::new(None, "demo");
            rec.source = Some((
                "annex1-example.xlsx".into(),
                crate::intake::journal::sha256_hex(intake::demo::APPROVED_EXAMPLE),
            ));
            ledger.set_recording(rec);
            ledger
                .approve_application(app, false)
                .map_err(|e| e.to_string())?;
            crate::outln!(
                "演示:已将示例项目 SJ-2026-017 的附件1 登记为批准配额(账本 {})。",
                args.ledger.display()
            );
        }
    }
    drop(ledger);
    let intake = IntakeOptions {
        archive: Some(dir.join("archive")),
        stable: 2.0,
        months: None,
        mail: None,
        mail_poll: 60.0,
    };
    crate::outln!(
        "演示:已将 {} 份样例放入 {}。",
        intake::demo::SAMPLES.len(),
        inbox.display()
    );
    process(inbox, dir.join("out"), &intake, None, schemas, args)?;
    crate::outln!(
        "原件归档在 {},非工作簿退回在 {}。",
        dir.join("archive").display(),
        dir.join("rejected").display()
    );
    crate::outln!("查看处理记录:zwyun status");
    Ok(EXIT_OK)
}

pub fn status(limit: usize, format: Format, ledger: &Path) -> Result<u8, String> {
    let ledger = open_existing(ledger)?;
    let entries = intake::journal::recent(ledger.conn(), limit).map_err(|e| e.to_string())?;
    if format == Format::Text {
        if let Some(mail) = crate::mail::status_text(ledger.conn())? {
            crate::out!("{mail}");
        }
    }
    if format == Format::Text {
        let refused = intake::survey::record::list(ledger.conn()).map_err(|e| e.to_string())?;
        if !refused.is_empty() {
            crate::outln!("收件目录中不予处理的项目(留在原处,最近一轮处理时所见):");
            for (name, reason, since) in &refused {
                crate::outln!("  {name}:{reason}(自 {since})");
            }
        }
    }
    if entries.is_empty() && format == Format::Text {
        crate::outln!("账本中尚无处理记录。");
    }
    let approvals = crate::ops::view::approvals(&ledger).map_err(|e| format!("{e:?}"))?;
    for e in &entries {
        let id = &e.sha256[..e.sha256.len().min(12)];
        let approved = approvals.get(&e.sha256);
        match format {
            Format::Json => {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                v["id"] = id.into();
                v["approved"] = serde_json::to_value(approved).unwrap_or_default();
                crate::outln!("{v}");
            }
            Format::Text => {
                let dup = if e.duplicates > 0 {
                    format!("(重复提交 {} 次)", e.duplicates)
                } else {
                    String::new()
                };
                let approval = match (&approved, e.status.as_str()) {
                    (Some(a), _) => {
                        format!(
                            "\n    已批准:{} 于 {} 登记{}(第 {} 号记录)",
                            a.by,
                            a.at,
                            a.date.map(|d| format!(",批准日期 {d}")).unwrap_or_default(),
                            a.event
                        )
                    }
                    (None, "valid") => format!("\n    待批准:zwyun approve {id}"),
                    _ => String::new(),
                };
                crate::outln!(
                    "{id}  {}  {}  {}  {}  {}{dup}{approval}\n    {}",
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

pub fn status_label(s: &str) -> &str {
    match s {
        "valid" => "通过",
        "invalid" => "未通过",
        "unreadable" => "无法读取",
        "rejected" => "非工作簿",
        "failed" => "内部错误,已移至 failed",
        "claimed" => "处理中",
        other => other,
    }
}
