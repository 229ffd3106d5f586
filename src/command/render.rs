//! `zwyun render …`: pick the data (a validated 附件1, or a project's
//! current resources in the ledger), render one document, write it, and
//! optionally convert it to PDF with LibreOffice.

use std::path::{Path, PathBuf};

use super::{find_project, load_projects, open_existing, EXIT_OK, EXIT_PROBLEMS};
use crate::model::{Application, Config, FormKind};
use crate::names::write_atomic;
use crate::render::pdf::{soffice, to_pdf, NO_SOFFICE};
use crate::render::{
    opening_table, output_name, RenderError, Renderer, FORMAL_AGREEMENT_DOC, OPENING_TABLE_DOC,
    TEST_AGREEMENT_DOC,
};
use crate::report;
use crate::schema::Schemas;
use crate::validate::{self, Context, Status};

/// Which document to render.
#[derive(Debug, Clone, Copy)]
pub enum Doc {
    /// 附件2, with its test period in months (default: policy.yaml).
    TestAgreement {
        months: Option<u32>,
    },
    FormalAgreement,
    OpeningTable,
}

/// Where a document's data comes from and where it goes.
#[derive(Debug)]
pub struct Request {
    pub doc: Doc,
    /// A validated 附件1, or else `project` in the ledger.
    pub file: Option<PathBuf>,
    pub project: Option<String>,
    pub out: PathBuf,
    pub pdf: bool,
}

/// The submission to render and the resources to put in it.
struct Data {
    app: Application,
    config: Config,
}

pub fn run(
    args: &Request,
    templates: Option<&Path>,
    schemas: &Schemas,
    ledger: &Path,
) -> Result<u8, String> {
    let range = &schemas.policy.test_months;
    let doc = match args.doc {
        Doc::TestAgreement { months } => Doc::TestAgreement {
            months: Some(range.check(months.unwrap_or(range.default))?),
        },
        other => other,
    };
    if args.pdf && soffice().is_none() {
        return Err(NO_SOFFICE.to_string());
    }
    let Some(data) = load(args, schemas, ledger)? else {
        return Ok(EXIT_PROBLEMS);
    };
    let rendered = document(doc, &data.app, &data.config, schemas, || {
        Renderer::load(templates, schemas)
    });
    let (bytes, file_name) = match rendered {
        Ok(r) => r,
        Err(e) if e.is_submission_problem() => {
            eprintln!("zwyun: {e}");
            return Ok(EXIT_PROBLEMS);
        }
        Err(e) => return Err(e.to_string()),
    };
    let ext = if file_name.ends_with(".docx") {
        "docx"
    } else {
        "xlsx"
    };
    let path = args.out.join(file_name);
    write_atomic(&path, &bytes).map_err(|e| super::io_error(&path, &e))?;
    crate::outln!("已生成:{}", path.display());
    if ext == "docx" {
        warn_sample_parties(templates, schemas, &data.app.header.provider);
    }
    if args.pdf {
        let pdf = to_pdf(&path, &args.out)?;
        crate::outln!("已生成:{}", pdf.display());
    }
    Ok(EXIT_OK)
}

/// Renders `doc` for the project of `app` with the resources `config`:
/// its bytes and file name. The templates are loaded (by `renderer`) only
/// for the agreements; the web desk passes the ones it loaded at start.
pub fn document<R: std::borrow::Borrow<Renderer>>(
    doc: Doc,
    app: &Application,
    config: &Config,
    schemas: &Schemas,
    renderer: impl FnOnce() -> Result<R, RenderError>,
) -> Result<(Vec<u8>, String), RenderError> {
    let (bytes, name, ext) = match doc {
        Doc::TestAgreement { months } => {
            let with_config = Application {
                config: config.clone(),
                ..app.clone()
            };
            let bytes = renderer()?
                .borrow()
                .test_agreement(&with_config, months.unwrap_or_default())?;
            (bytes, TEST_AGREEMENT_DOC, "docx")
        }
        Doc::FormalAgreement => (
            renderer()?.borrow().formal_agreement(app, config)?,
            FORMAL_AGREEMENT_DOC,
            "docx",
        ),
        Doc::OpeningTable => (
            opening_table(app, config, schemas)?,
            OPENING_TABLE_DOC,
            "xlsx",
        ),
    };
    Ok((bytes, output_name(app, name, ext)))
}

/// Says on the command line when the agreement carries sample provider
/// data (other providers' sample entries do not matter to it).
fn warn_sample_parties(templates: Option<&Path>, schemas: &Schemas, provider: &str) {
    let warning = Renderer::load(templates, schemas)
        .ok()
        .and_then(|r| r.parties().sample_warning_for(provider));
    if let Some(w) = warning {
        eprintln!("警告:{w}");
    }
}

/// Reads the data; `None` when the submission was refused (report printed).
fn load(args: &Request, schemas: &Schemas, ledger: &Path) -> Result<Option<Data>, String> {
    if let Some(code) = &args.project {
        let project = find_project(&open_existing(ledger)?, code)?;
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
            // Rendering names an unknown provider itself (RenderError).
            parties: None,
        },
    );
    match outcome.application() {
        Some(app) if outcome.status == Status::Valid => Ok(Some(Data {
            app: app.clone(),
            config: app.config.clone(),
        })),
        _ if outcome.form == Some(FormKind::Annex4) => {
            eprintln!(
                "未生成:{} 是附件4 变更申请表,协议按附件1 生成;要按变更后的资源生成,请先登记变更(zwyun approve),再用 --project 指定项目",
                file.display()
            );
            Ok(None)
        }
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
