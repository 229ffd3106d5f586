//! Validation outcomes for people and programs: the text report (like a
//! compiler's diagnostics), one JSON line per file, and the report workbook
//! sent back to the unit.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};
use serde_json::json;

use crate::diag::Severity;
use crate::model::FormKind;
use crate::validate::{Outcome, ResourceChange};

pub fn form_name(kind: Option<FormKind>) -> &'static str {
    match kind {
        Some(FormKind::Annex1) => "附件1 资源申请表",
        Some(FormKind::Annex4) => "附件4 资源变更申请表",
        None => "未识别的表格",
    }
}

fn counts(outcome: &Outcome) -> (usize, usize) {
    let errors = outcome.diags.iter().filter(|d| d.is_error()).count();
    (errors, outcome.diags.len() - errors)
}

/// The summary line of one file: status and counts.
pub fn summary(outcome: &Outcome) -> String {
    let (errors, warnings) = counts(outcome);
    format!(
        "{}({}):{},{errors} 个错误,{warnings} 个警告",
        outcome.file,
        form_name(outcome.form),
        outcome.status.label()
    )
}

pub fn text(outcome: &Outcome) -> String {
    let mut out = format!("== {}\n", summary(outcome));
    for d in &outcome.diags {
        let place = match (&d.sheet, &d.cell) {
            (Some(s), Some(c)) => format!("{s}!{c}"),
            (Some(s), None) => s.clone(),
            _ => "文件".to_string(),
        };
        let _ = writeln!(
            out,
            "{place}: {}[{}] {}",
            d.severity.label(),
            d.code,
            d.message
        );
        if !d.hint.is_empty() {
            let _ = writeln!(out, "    修改建议:{}", d.hint);
        }
    }
    if !outcome.changes.is_empty() {
        out.push_str(&change_table(&outcome.changes));
    }
    out
}

/// 现状 → 变更后 per resource, with the share of the approved quota.
pub fn change_table(changes: &[ResourceChange]) -> String {
    let mut out = String::from("  资源变更(现状 → 变更后,占批准配额):\n");
    for c in changes {
        let pct = c
            .percent_of_quota
            .map(|p| format!("{p}%"))
            .unwrap_or_else(|| "无配额".into());
        let flag = if c.within_cap {
            ""
        } else {
            "  ← 超过上限"
        };
        let _ = writeln!(
            out,
            "    {}:{} → {}({},配额 {},{pct}){flag}",
            c.name,
            c.current,
            c.proposed,
            c.direction(),
            c.quota
        );
    }
    out
}

/// The JSON contract of `validate --format json`: exactly these keys.
pub fn json_value(outcome: &Outcome) -> serde_json::Value {
    json!({
        "file": outcome.file,
        "form": outcome.form.map(FormKind::as_str),
        "status": outcome.status,
        "errors": outcome.diags,
    })
}

pub fn json_line(outcome: &Outcome) -> String {
    json_value(outcome).to_string()
}

/// The report file's JSON: the validate contract plus the change table.
pub fn json_report(outcome: &Outcome) -> String {
    let mut value = json_value(outcome);
    value["changes"] = serde_json::to_value(&outcome.changes).unwrap_or_default();
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// Base name for report files: the submission's own name without extension.
fn stem(outcome: &Outcome) -> String {
    let name = Path::new(&outcome.file)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "submission".into());
    crate::names::safe_component(&name)
}

/// Writes `<name>-问题清单.xlsx` and `<name>-问题清单.json` into `dir`.
pub fn write_files(outcome: &Outcome, dir: &Path) -> Result<Vec<PathBuf>, XlsxError> {
    let mut paths = Vec::new();
    for (name, bytes) in files(outcome)? {
        let path = dir.join(name);
        crate::names::write_atomic(&path, &bytes)?;
        paths.push(path);
    }
    Ok(paths)
}

/// The report for the unit: (file name, content) of the workbook and the JSON.
pub fn files(outcome: &Outcome) -> Result<[(String, Vec<u8>); 2], XlsxError> {
    let base = stem(outcome);
    Ok([
        (format!("{base}-问题清单.xlsx"), workbook_bytes(outcome)?),
        (
            format!("{base}-问题清单.json"),
            json_report(outcome).into_bytes(),
        ),
    ])
}

/// The report workbook: 序号, 工作表, 单元格, 字段, 问题, 修改建议.
pub fn workbook_bytes(outcome: &Outcome) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let title = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_font_name("宋体");
    let head = Format::new()
        .set_bold()
        .set_font_name("宋体")
        .set_background_color("D9E1F2")
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Center);
    let cell = Format::new()
        .set_font_name("宋体")
        .set_text_wrap()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Top);
    let error = cell.clone().set_font_color("C00000");
    let ws = wb.add_worksheet();
    ws.set_name("问题清单")?;
    ws.write_string_with_format(
        0,
        0,
        format!("申请表校验结果:{}", outcome.status.label()),
        &title,
    )?;
    ws.write_string(1, 0, summary(outcome))?;
    let headers = [
        "序号",
        "级别",
        "工作表",
        "单元格",
        "字段",
        "问题",
        "修改建议",
        "代码",
    ];
    let widths = [5.0, 6.0, 12.0, 8.0, 14.0, 44.0, 44.0, 20.0];
    for (c, (h, w)) in headers.iter().zip(widths).enumerate() {
        ws.write_string_with_format(3, c as u16, *h, &head)?;
        ws.set_column_width(c as u16, w)?;
    }
    for (i, d) in outcome.diags.iter().enumerate() {
        let r = 4 + i as u32;
        let fmt = if d.severity == Severity::Error {
            &error
        } else {
            &cell
        };
        ws.write_number_with_format(r, 0, (i + 1) as f64, &cell)?;
        ws.write_string_with_format(r, 1, d.severity.label(), fmt)?;
        let cols = [
            d.sheet.as_deref().unwrap_or(""),
            d.cell.as_deref().unwrap_or(""),
            d.field.as_deref().unwrap_or(""),
            &d.message,
            &d.hint,
            d.code,
        ];
        for (c, v) in cols.iter().enumerate() {
            ws.write_string_with_format(r, 2 + c as u16, *v, &cell)?;
        }
        // Spreadsheet programs do not grow rows for wrapped text on their
        // own when printing: size each row for its longest cell.
        let lines = cols
            .iter()
            .zip(&widths[2..])
            .map(|(v, w)| wrapped_lines(v, *w))
            .max()
            .unwrap_or(1);
        ws.set_row_height(r, 15.0 * lines as f64 + 2.0)?;
    }
    if outcome.diags.is_empty() {
        ws.write_string(4, 0, "未发现问题。")?;
    }
    ws.set_freeze_panes(4, 0)?;
    ws.set_landscape()
        .set_paper_size(9)
        .set_print_fit_to_pages(1, 0);
    if !outcome.changes.is_empty() {
        write_changes(&mut wb, &outcome.changes, &head, &cell)?;
    }
    wb.save_to_buffer()
}

fn write_changes(
    wb: &mut Workbook,
    changes: &[ResourceChange],
    head: &Format,
    cell: &Format,
) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name("资源变更")?;
    ws.set_landscape()
        .set_paper_size(9)
        .set_print_fit_to_pages(1, 0);
    let headers = [
        "资源",
        "现状",
        "变更后",
        "变化",
        "批准配额",
        "占配额",
        "是否在上限内",
    ];
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, head)?;
        ws.set_column_width(c as u16, if c == 0 { 24.0 } else { 12.0 })?;
    }
    for (i, c) in changes.iter().enumerate() {
        let r = 1 + i as u32;
        let pct = c
            .percent_of_quota
            .map(|p| format!("{p}%"))
            .unwrap_or_else(|| "无配额".into());
        let row = [
            c.name.clone(),
            c.current.to_string(),
            c.proposed.to_string(),
            c.direction().to_string(),
            c.quota.to_string(),
            pct,
            if c.within_cap {
                "是"
            } else {
                "否(超过上限)"
            }
            .to_string(),
        ];
        for (col, v) in row.iter().enumerate() {
            ws.write_string_with_format(r, col as u16, v, cell)?;
        }
    }
    Ok(())
}

/// Lines `text` takes in a column `width` characters wide (a CJK character
/// is two).
fn wrapped_lines(text: &str, width: f64) -> u32 {
    let units: f64 = text
        .chars()
        .map(|c| if c.is_ascii() { 1.1 } else { 2.0 })
        .sum();
    ((units / (width - 1.0).max(1.0)).ceil() as u32).max(1)
}
