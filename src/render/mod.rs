//! Form model → template context → documents: 附件2 (test agreement) and
//! 附件3 (formal agreement) from .docx templates a clerk edits in Word, and
//! the 政务云资源开通情况表 as a workbook.
//!
//! Templates are parsed once into a [`Renderer`]; each render only fills
//! them, so the drop-folder processor can render many submissions per run.

pub mod context;
mod engine;
mod fit;
pub mod grid;
pub mod parties;
pub mod pdf;
pub mod probe;
mod xlsx;
mod xml;

use std::path::Path;

use tera::Tera;

use crate::model::{Application, Config};
use crate::schema::{ConfigError, Schemas};
use context::DocContext;
pub use engine::escape_value;
use engine::DocxTemplate;
use parties::Parties;
pub use xlsx::opening_table;

pub const TEST_AGREEMENT: &str = "test-agreement.docx";
pub const FORMAL_AGREEMENT: &str = "formal-agreement.docx";
pub const PARTIES: &str = "parties.yaml";

/// Document names used in output file names.
pub const TEST_AGREEMENT_DOC: &str = "测试资源服务使用意向协议";
pub const FORMAL_AGREEMENT_DOC: &str = "资源服务使用正式协议";
pub const OPENING_TABLE_DOC: &str = "政务云资源开通情况表";

/// The templates compiled into the binary, used when no folder is given and
/// `./templates` does not exist.

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The template file cannot be used at all.
    #[error("模板 {file} 无法使用:{message}")]
    Template { file: String, message: String },
    /// A problem at a place in a template.
    #[error("模板 {file} 的{place}有误:{message}")]
    Located {
        file: String,
        place: String,
        message: String,
    },
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("申请表中的服务商“{name}”不在 parties.yaml 中;已登记的服务商:{known}。请核对服务商名称,或由区科创服务中心在 parties.yaml 中补充该服务商")]
    UnknownProvider { name: String, known: String },
    #[error("{0}")]
    Months(String),
    #[error("无法生成文件:{0}")]
    Output(String),
    /// A template that failed when filled with the example (its own message).
    #[error("{0}")]
    Probe(String),
}

impl RenderError {
    /// True when the submission (not the templates or the command) is at fault.
    pub fn is_submission_problem(&self) -> bool {
        matches!(self, RenderError::UnknownProvider { .. })
    }
}

/// The parsed templates and parties; build once, render many times.
pub struct Renderer {
    tera: Tera,
    test: DocxTemplate,
    formal: DocxTemplate,
    parties: Parties,
    schemas: Schemas,
}

impl Renderer {
    /// Loads from `templates_dir` when given, else `./templates` when
    /// present, else the templates compiled into the binary.
    pub fn load(templates_dir: Option<&Path>, schemas: &Schemas) -> Result<Renderer, RenderError> {
        let src = crate::datafiles::Folder::templates(templates_dir);
        let mut tera = Tera::new();
        tera.autoescape_on(vec![".xml"]);
        tera.set_escape_fn(escape_value);
        let test = DocxTemplate::parse(
            &src.label(TEST_AGREEMENT),
            src.bytes(TEST_AGREEMENT)?,
            &mut tera,
        )?;
        let formal = DocxTemplate::parse(
            &src.label(FORMAL_AGREEMENT),
            src.bytes(FORMAL_AGREEMENT)?,
            &mut tera,
        )?;
        let parties = Renderer::load_parties(templates_dir)?;
        Ok(Renderer {
            tera,
            test,
            formal,
            parties,
            schemas: schemas.clone(),
        })
    }

    /// Only the parties (parties.yaml), from where `load` takes them.
    pub fn load_parties(templates_dir: Option<&Path>) -> Result<Parties, RenderError> {
        let src = crate::datafiles::Folder::templates(templates_dir);
        Ok(Parties::parse(&src.label(PARTIES), &src.text(PARTIES)?)?)
    }

    pub fn parties(&self) -> &Parties {
        &self.parties
    }

    /// 附件2 松江区市政务云测试资源服务使用意向协议, for `months` of testing.
    pub fn test_agreement(&self, app: &Application, months: u32) -> Result<Vec<u8>, RenderError> {
        let months = self
            .schemas
            .policy
            .test_months
            .check(months)
            .map_err(RenderError::Months)?;
        self.render(&self.test, app, &app.config, months)
    }

    /// 附件3 松江区市政务云资源服务使用正式协议, with `config` in its
    /// attached 开通情况表.
    pub fn formal_agreement(
        &self,
        app: &Application,
        config: &Config,
    ) -> Result<Vec<u8>, RenderError> {
        self.render(&self.formal, app, config, 0)
    }

    /// Fills every template once with `app` (its provider replaced by a
    /// known one when unknown), calling `before` with each template's name.
    pub fn fill_each(
        &self,
        app: &Application,
        months: u32,
        mut before: impl FnMut(&str),
    ) -> Result<(), RenderError> {
        let mut app = app.clone();
        if self.parties.provider(&app.header.provider).is_err() {
            if let Some(p) = self.parties.providers.first() {
                app.header.provider = p.name.clone();
            }
        }
        before(&self.test.file);
        self.render(&self.test, &app, &app.config, months)?;
        before(&self.formal.file);
        self.render(&self.formal, &app, &app.config, 0)?;
        Ok(())
    }

    fn render(
        &self,
        tpl: &DocxTemplate,
        app: &Application,
        config: &Config,
        months: u32,
    ) -> Result<Vec<u8>, RenderError> {
        let provider = self.parties.provider(&app.header.provider)?;
        let doc = DocContext {
            unit: context::unit(app),
            project: context::project(app, &self.schemas),
            form: context::Form {
                fields: &app.fields,
            },
            district: &self.parties.district,
            provider,
            hosts: &config.hosts,
            services: context::services(config, &self.schemas),
            other_services: context::other_services(config, &self.schemas),
            months,
        };
        let ctx =
            tera::Context::from_serialize(&doc).map_err(|e| RenderError::Output(e.to_string()))?;
        tpl.render(&self.tera, &ctx)
    }
}

/// The output file name: project code (else unit and project name), the
/// document, the extension; safe on Windows and Linux. A long unit or
/// project name is shortened, never the document's name.
pub fn output_name(app: &Application, doc: &str, ext: &str) -> String {
    let label = app.header.project_key().label();
    crate::names::file_name_keeping(&label, &format!("-{doc}"), ext)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Header;

    fn app(unit: &str, code: Option<&str>) -> Application {
        Application {
            header: Header {
                unit: unit.into(),
                project_name: "平台".into(),
                project_code: code.map(String::from),
                ..Header::default()
            },
            ..Application::default()
        }
    }

    #[test]
    fn output_names_use_the_code_else_a_safe_unit_name() {
        let name = output_name(
            &app("某局", Some("SJ-2026-017")),
            TEST_AGREEMENT_DOC,
            "docx",
        );
        assert_eq!(name, "SJ-2026-017-测试资源服务使用意向协议.docx");
        let name = output_name(&app("../../a/b:c\\d", None), OPENING_TABLE_DOC, "../x");
        assert!(
            !name.contains(['/', '\\', ':']) && !name.starts_with('.'),
            "{name}"
        );
        assert!(name.ends_with("-政务云资源开通情况表.x"), "{name}");
    }

    #[test]
    fn long_names_keep_the_document_type() {
        let unit = "上海市松江区人力资源和社会保障局松江区永丰街道社区事务受理服务中心";
        let mut a = app(unit, None);
        a.header.project_name = "就业创业一网通办服务平台（二期）建设项目".repeat(2);
        for doc in [TEST_AGREEMENT_DOC, FORMAL_AGREEMENT_DOC, OPENING_TABLE_DOC] {
            let name = output_name(&a, doc, "docx");
            assert!(name.ends_with(&format!("-{doc}.docx")), "{name}");
            assert!(name.starts_with("上海市松江区"), "{name}");
            assert!(
                name.chars().count() <= crate::names::MAX_NAME_CHARS,
                "{name}"
            );
        }
        let other = output_name(&app(&format!("{unit}乙"), None), OPENING_TABLE_DOC, "xlsx");
        assert_ne!(
            other,
            output_name(&app(unit, None), OPENING_TABLE_DOC, "xlsx")
        );
    }
}
