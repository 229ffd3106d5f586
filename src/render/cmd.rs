//! `zwyun render …`: pick the data (a validated 附件1, or a project's
//! current resources in the ledger), render one document, write it, and
//! optionally convert it to PDF with LibreOffice.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{output_name, Renderer, FORMAL_AGREEMENT_DOC, OPENING_TABLE_DOC, TEST_AGREEMENT_DOC};
use crate::cli::{load_projects, EXIT_OK, EXIT_PROBLEMS};
use crate::ledger::Ledger;
use crate::model::{Application, Config};
use crate::names::write_atomic;
use crate::report;
use crate::schema::Schemas;
use crate::validate::{self, Context, Status};

/// Where a document's data comes from and where it goes.
#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// 校验通过的附件1 申请表(.xlsx/.xls)
    #[arg(required_unless_present = "project", conflicts_with = "project")]
    pub file: Option<PathBuf>,
    /// 按账本中该项目(项目编号)当前的资源生成,而不读申请表
    #[arg(long)]
    pub project: Option<String>,
    /// 输出目录
    #[arg(long)]
    pub out: PathBuf,
    /// 另用 LibreOffice 转换为 PDF
    #[arg(long)]
    pub pdf: bool,
}

#[derive(Debug, clap::Subcommand)]
pub enum RenderDoc {
    /// 附件2 松江区市政务云测试资源服务使用意向协议(.docx)
    TestAgreement {
        #[command(flatten)]
        args: RenderArgs,
        /// 测试期限(月),1~3
        #[arg(long)]
        months: u32,
    },
    /// 附件3 松江区市政务云资源服务使用正式协议(.docx,附开通情况表)
    FormalAgreement {
        #[command(flatten)]
        args: RenderArgs,
    },
    /// 政务云资源开通情况表(.xlsx)
    OpeningTable {
        #[command(flatten)]
        args: RenderArgs,
    },
}

/// The submission to render and the resources to put in it.
struct Data {
    app: Application,
    config: Config,
}

pub fn run(
    doc: RenderDoc,
    templates: Option<&Path>,
    schemas: &Schemas,
    ledger: &Path,
) -> Result<u8, String> {
    let (args, months) = match &doc {
        RenderDoc::TestAgreement { args, months } => (args, Some(*months)),
        RenderDoc::FormalAgreement { args } | RenderDoc::OpeningTable { args } => (args, None),
    };
    if args.pdf && soffice().is_none() {
        return Err(NO_SOFFICE.to_string());
    }
    let Some(data) = load(args, schemas, ledger)? else {
        return Ok(EXIT_PROBLEMS);
    };
    let rendered = match &doc {
        RenderDoc::TestAgreement { .. } => Renderer::load(templates, schemas)
            .and_then(|r| r.test_agreement(&with_config(&data), months.unwrap_or_default()))
            .map(|b| (b, TEST_AGREEMENT_DOC, "docx")),
        RenderDoc::FormalAgreement { .. } => Renderer::load(templates, schemas)
            .and_then(|r| r.formal_agreement(&data.app, &data.config))
            .map(|b| (b, FORMAL_AGREEMENT_DOC, "docx")),
        RenderDoc::OpeningTable { .. } => super::opening_table(&data.app, &data.config, schemas)
            .map(|b| (b, OPENING_TABLE_DOC, "xlsx")),
    };
    let (bytes, name, ext) = match rendered {
        Ok(r) => r,
        Err(e) if e.is_submission_problem() => {
            eprintln!("zwyun: {e}");
            return Ok(EXIT_PROBLEMS);
        }
        Err(e) => return Err(e.to_string()),
    };
    let path = args.out.join(output_name(&data.app, name, ext));
    write_atomic(&path, &bytes).map_err(|e| format!("无法写入 {}:{e}", path.display()))?;
    println!("已生成:{}", path.display());
    if ext == "docx" {
        warn_sample_parties(templates, schemas);
    }
    if args.pdf {
        let pdf = to_pdf(&path, &args.out)?;
        println!("已生成:{}", pdf.display());
    }
    Ok(EXIT_OK)
}

/// Says on the command line when the agreement carries sample provider data.
fn warn_sample_parties(templates: Option<&Path>, schemas: &Schemas) {
    let warning = Renderer::load(templates, schemas)
        .ok()
        .and_then(|r| r.parties().sample_warning());
    if let Some(w) = warning {
        eprintln!("警告:{w}");
    }
}

/// The application with the resources to agree on (the ledger's current
/// ones under `--project`).
fn with_config(data: &Data) -> Application {
    Application {
        config: data.config.clone(),
        ..data.app.clone()
    }
}

/// Reads the data; `None` when the submission was refused (report printed).
fn load(args: &RenderArgs, schemas: &Schemas, ledger: &Path) -> Result<Option<Data>, String> {
    if let Some(code) = &args.project {
        if !ledger.exists() {
            return Err(format!(
                "账本 {} 不存在;请先用 zwyun approve 登记项目",
                ledger.display()
            ));
        }
        let project = Ledger::open(ledger)
            .and_then(|l| l.find_by_code(code))
            .map_err(|e| e.to_string())?;
        return Ok(Some(Data {
            app: project.application,
            config: project.current,
        }));
    }
    let file = args
        .file
        .as_deref()
        .ok_or("请给出申请表文件,或用 --project 指定项目")?;
    let projects = load_projects(ledger)?;
    let outcome = validate::check_path(
        file,
        &Context {
            schemas,
            projects: &projects,
        },
    );
    match outcome.application() {
        Some(app) if outcome.status == Status::Valid => Ok(Some(Data {
            app: app.clone(),
            config: app.config.clone(),
        })),
        _ => {
            eprint!("{}", report::text(&outcome));
            eprintln!(
                "未生成:{} 不是校验通过的附件1 申请表,请先修正上述问题。",
                file.display()
            );
            Ok(None)
        }
    }
}

const NO_SOFFICE: &str = "未找到 LibreOffice(soffice),无法转换为 PDF;请安装 LibreOffice(如 apt-get install --no-install-recommends libreoffice-writer libreoffice-calc fonts-noto-cjk),或去掉 --pdf";

/// The LibreOffice program on PATH, if any.
pub fn soffice() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["soffice", "libreoffice", "soffice.exe"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// The system's fontconfig plus the Windows Chinese font names of the
/// templates mapped to the Noto CJK fonts, so that a machine without 宋体
/// still prints serif text rather than whatever comes first.
const FONT_ALIASES: &str = r#"<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <alias binding="same"><family>宋体</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <alias binding="same"><family>仿宋</family><prefer><family>Noto Serif CJK SC</family></prefer></alias>
  <alias binding="same"><family>黑体</family><prefer><family>Noto Sans CJK SC</family></prefer></alias>
</fontconfig>
"#;

/// Converts `file` to PDF in `out_dir` with a private LibreOffice profile
/// (so parallel conversions do not lock each other out).
pub fn to_pdf(file: &Path, out_dir: &Path) -> Result<PathBuf, String> {
    let program = soffice().ok_or(NO_SOFFICE)?;
    let profile = tempfile::tempdir().map_err(|e| format!("无法创建临时目录:{e}"))?;
    let profile_url = format!("-env:UserInstallation=file://{}", profile.path().display());
    let fonts = profile.path().join("fonts.conf");
    std::fs::write(&fonts, FONT_ALIASES)
        .map_err(|e| format!("无法写入 {}:{e}", fonts.display()))?;
    let output = Command::new(&program)
        .env("FONTCONFIG_FILE", &fonts)
        .arg(profile_url)
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(out_dir)
        .arg(file)
        .output()
        .map_err(|e| format!("无法运行 {}:{e}", program.display()))?;
    let pdf = out_dir.join(file.with_extension("pdf").file_name().unwrap_or_default());
    if !output.status.success() || !pdf.is_file() {
        return Err(format!(
            "LibreOffice 未能将 {} 转换为 PDF:{}",
            file.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(pdf)
}
