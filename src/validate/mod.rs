//! Judging a submission: the form model `read::form` built (with its
//! reading diagnostics), against the district's rules (细则), the ledger
//! and the parties. Nothing here reads cells.

mod omitted;
mod policy;

use std::path::Path;

use serde::Serialize;

pub use crate::read::fields::Sink;
pub use crate::read::form::field_cell;
pub use policy::ResourceChange;

use crate::diag::Diagnostic;
use crate::ledger::Projects;
use crate::model::{Application, Form, FormKind};
use crate::read::{self, form, Workbook};
use crate::schema::Schemas;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Valid,
    Invalid,
    Unreadable,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Valid => "通过",
            Status::Invalid => "未通过",
            Status::Unreadable => "无法读取",
        }
    }
}

/// What checking one submission found.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub file: String,
    pub form: Option<FormKind>,
    pub status: Status,
    pub diags: Vec<Diagnostic>,
    /// The form model, present when the form was recognised (even if invalid).
    pub model: Option<Form>,
    /// 附件4: each resource 现状 → 变更后 against the approved quota.
    pub changes: Vec<ResourceChange>,
}

impl Outcome {
    fn unreadable(file: &str, diag: Diagnostic) -> Outcome {
        Outcome {
            file: file.to_string(),
            form: None,
            status: Status::Unreadable,
            diags: vec![diag],
            model: None,
            changes: Vec::new(),
        }
    }

    /// The valid 附件1, if this is one.
    pub fn application(&self) -> Option<&Application> {
        match (&self.model, self.status) {
            (Some(Form::Annex1(a)), Status::Valid) => Some(a),
            _ => None,
        }
    }
}

/// Everything validation needs, loaded once per run.
pub struct Context<'a> {
    pub schemas: &'a Schemas,
    pub projects: &'a Projects,
    /// The district's providers (parties.yaml); None when it cannot be
    /// read: a fault of the district's configuration is not the unit's,
    /// so the provider is then not checked.
    pub parties: Option<&'a crate::render::parties::Parties>,
}

pub fn check_path(path: &Path, ctx: &Context) -> Outcome {
    let name = path.display().to_string();
    match read::open(path, &ctx.schemas.title_keys) {
        Ok(wb) => check_workbook(&name, &wb, ctx),
        Err(d) => Outcome::unreadable(&name, d),
    }
}

pub fn check_bytes(name: &str, bytes: &[u8], ctx: &Context) -> Outcome {
    match read::parse(bytes, &ctx.schemas.title_keys) {
        Ok(wb) => check_workbook(name, &wb, ctx),
        Err(d) => Outcome::unreadable(name, d),
    }
}

pub fn check_workbook(name: &str, wb: &Workbook, ctx: &Context) -> Outcome {
    let Some(read) = form::read_form(wb, ctx.schemas) else {
        let names: Vec<&str> = wb.sheets.iter().map(|s| s.name.as_str()).collect();
        let d = Diagnostic::error(
            "form.unknown",
            format!("工作簿中找不到附件1 或附件4 的表格标题(工作表:{})", names.join("、")),
        )
        .hint("请使用区科创服务中心下发的《松江区市政务云资源申请表》或《松江区市政务云资源变更申请表》填写,不要修改表格标题");
        return Outcome {
            status: Status::Invalid,
            ..Outcome::unreadable(name, d)
        };
    };
    // Reading is done: the model and what reading found. Judging follows.
    let form::ReadForm {
        located,
        model,
        host_rows,
        diags,
    } = read;
    let kind = located.kind;
    let mut sink = Sink {
        sheet: located.sheet.name.as_str(),
        diags,
    };
    let changes = match &model {
        Form::Annex1(app) => {
            policy::check_application(app, &located, ctx, &mut sink);
            Vec::new()
        }
        Form::Annex4(change) => {
            omitted::check(change, &host_rows, &located, &mut sink);
            policy::check_change(change, &located, ctx, &mut sink)
        }
    };
    let mut diags = sink.diags;
    // File-level problems first, then in the order of the sheet (row by
    // row), so the list reads like the form.
    diags.sort_by_key(|d| (cell_order(d.cell.as_deref()), d.severity));
    let status = if diags.iter().any(Diagnostic::is_error) {
        Status::Invalid
    } else {
        Status::Valid
    };
    Outcome {
        file: name.to_string(),
        form: Some(kind),
        status,
        diags,
        model: Some(model),
        changes,
    }
}

/// Sort key of a cell address like `B12`: (row, column width, column);
/// no cell sorts first.
fn cell_order(cell: Option<&str>) -> Option<(u32, usize, String)> {
    let cell = cell?;
    let letters: String = cell
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let row: String = cell[letters.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some((row.parse().unwrap_or(u32::MAX), letters.len(), letters))
}
