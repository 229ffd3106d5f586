//! Validation outcomes for people and programs: the text report (like a
//! compiler's diagnostics), one JSON line per file, and the report workbook
//! sent back to the unit.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, XlsxError};
use serde_json::json;

use crate::layout::{self, Heights, Page, BODY_PT};

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

/// The unit, project and file a report is about, for the top of its sheets.
fn subject(outcome: &Outcome) -> String {
    let mut s = String::new();
    if let Some(h) = outcome.model.as_ref().map(|m| m.header()) {
        if !h.unit.is_empty() {
            let _ = write!(s, "申请单位:{}  ", h.unit);
        }
        if !h.project_name.is_empty() {
            let _ = write!(s, "项目名称:{}  ", h.project_name);
        }
        if let Some(code) = h.project_code.as_deref().filter(|c| !c.is_empty()) {
            let _ = write!(s, "项目编号:{code}  ");
        }
    }
    let _ = write!(s, "文件:{}", outcome.file);
    zh_punct(&s)
}

struct Styles {
    title: Format,
    info: Format,
    head: Format,
    cell: Format,
    error: Format,
    number: Format,
    percent: Format,
}

impl Styles {
    fn new() -> Styles {
        let base = layout::song(BODY_PT).set_align(FormatAlign::VerticalCenter);
        let cell = base.clone().set_text_wrap().set_border(FormatBorder::Thin);
        Styles {
            title: layout::song(14.0)
                .set_bold()
                .set_align(FormatAlign::VerticalCenter),
            info: base.clone().set_text_wrap(),
            head: cell
                .clone()
                .set_bold()
                .set_background_color("D9E1F2")
                .set_align(FormatAlign::Center),
            error: cell.clone().set_font_color("C00000"),
            number: cell
                .clone()
                .set_align(FormatAlign::Center)
                .set_num_format("0.##"),
            percent: cell
                .clone()
                .set_align(FormatAlign::Center)
                .set_num_format("0.##%"),
            cell,
        }
    }
}

/// Title, subject and summary across `columns`, from row 0; returns the
/// next row.
fn sheet_top(
    ws: &mut rust_xlsxwriter::Worksheet,
    st: &Styles,
    heights: &mut Heights,
    title: &str,
    lines: &[String],
    widths: &[f64],
) -> Result<u32, XlsxError> {
    let last = widths.len() as u16 - 1;
    let total: f64 = widths.iter().sum();
    ws.merge_range(0, 0, 0, last, title, &st.title)?;
    heights.at_least(0, 24.0);
    for (i, line) in lines.iter().enumerate() {
        let r = 1 + i as u32;
        ws.merge_range(r, 0, r, last, line, &st.info)?;
        heights.fit(r, r, line, total, BODY_PT);
    }
    Ok(1 + lines.len() as u32)
}

/// The report workbook: 序号, 级别, 工作表, 单元格, 字段, 问题, 修改建议, 代码;
/// printed landscape, one page wide, the header row on every page.
pub fn workbook_bytes(outcome: &Outcome) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    wb.set_properties(&crate::generated::properties("校验结果"));
    let st = Styles::new();
    let ws = wb.add_worksheet();
    ws.set_name("问题清单")?;
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
    let widths = [6.0, 6.0, 12.0, 8.0, 14.0, 42.0, 42.0, 18.0];
    let mut heights = Heights::default();
    let title = zh_punct(&format!("申请表校验结果:{}", outcome.status.label()));
    let lines = [subject(outcome), zh_punct(&summary(outcome))];
    let head_row = sheet_top(ws, &st, &mut heights, &title, &lines, &widths)? + 1;
    for (c, (h, w)) in headers.iter().zip(widths).enumerate() {
        ws.write_string_with_format(head_row, c as u16, *h, &st.head)?;
        ws.set_column_width(c as u16, w)?;
    }
    for (i, d) in outcome.diags.iter().enumerate() {
        let r = head_row + 1 + i as u32;
        let fmt = if d.severity == Severity::Error {
            &st.error
        } else {
            &st.cell
        };
        ws.write_number_with_format(r, 0, (i + 1) as f64, &st.number)?;
        ws.write_string_with_format(r, 1, d.severity.label(), fmt)?;
        let message = zh_punct(&d.message);
        let hint = zh_punct(&d.hint);
        let cols = [
            d.sheet.as_deref().unwrap_or(""),
            d.cell.as_deref().unwrap_or(""),
            d.field.as_deref().unwrap_or(""),
            &message,
            &hint,
            d.code,
        ];
        for (c, v) in cols.iter().enumerate() {
            ws.write_string_with_format(r, 2 + c as u16, *v, &st.cell)?;
            heights.fit(r, r, v, widths[2 + c], BODY_PT);
        }
    }
    if outcome.diags.is_empty() {
        // Across the table: in the narrow 序号 cell the text would wrap
        // and be printed up over the header row.
        let (r, last) = (head_row + 1, widths.len() as u16 - 1);
        ws.merge_range(r, 0, r, last, "未发现问题。", &st.info)?;
        heights.fit(r, r, "未发现问题。", widths.iter().sum(), BODY_PT);
    }
    ws.set_freeze_panes(head_row + 1, 0)?;
    layout::a4(
        ws,
        &Page {
            landscape: true,
            repeat_rows: Some((head_row, head_row)),
        },
    )?;
    heights.apply(ws)?;
    if !outcome.changes.is_empty() {
        write_changes(&mut wb, outcome, &st)?;
    }
    wb.save_to_buffer()
}

/// 资源变更: figures as numbers, the share of the quota as a percentage.
fn write_changes(wb: &mut Workbook, outcome: &Outcome, st: &Styles) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name("资源变更")?;
    let headers = [
        "资源",
        "现状",
        "变更后",
        "变化",
        "批准配额",
        "占配额",
        "是否在上限内",
    ];
    let widths = [24.0, 11.0, 11.0, 8.0, 11.0, 10.0, 16.0];
    let mut heights = Heights::default();
    let lines = [subject(outcome)];
    let title = "资源变更核对(现状 → 变更后,占批准配额)";
    let head_row = sheet_top(ws, st, &mut heights, &zh_punct(title), &lines, &widths)? + 1;
    for (c, (h, w)) in headers.iter().zip(widths).enumerate() {
        ws.write_string_with_format(head_row, c as u16, *h, &st.head)?;
        ws.set_column_width(c as u16, w)?;
    }
    for (i, c) in outcome.changes.iter().enumerate() {
        let r = head_row + 1 + i as u32;
        ws.write_string_with_format(r, 0, &c.name, &st.cell)?;
        heights.fit(r, r, &c.name, widths[0], BODY_PT);
        for (col, v) in [(1, c.current), (2, c.proposed), (4, c.quota)] {
            ws.write_number_with_format(r, col, v.to_f64().unwrap_or_default(), &st.number)?;
        }
        ws.write_string_with_format(r, 3, c.direction(), &st.cell)?;
        match c.percent_of_quota {
            Some(p) => ws.write_number_with_format(
                r,
                5,
                (p / Decimal::ONE_HUNDRED).to_f64().unwrap_or_default(),
                &st.percent,
            )?,
            None => ws.write_string_with_format(r, 5, "无配额", &st.cell)?,
        };
        let cap = if c.within_cap {
            "是"
        } else {
            "否(超过上限)"
        };
        ws.write_string_with_format(r, 6, zh_punct(cap), &st.cell)?;
    }
    layout::a4(
        ws,
        &Page {
            landscape: false,
            repeat_rows: Some((head_row, head_row)),
        },
    )?;
    heights.apply(ws)
}

/// Chinese punctuation in Chinese sentences: ASCII `,:;!?()` next to a
/// Chinese character (or a bracket already made full-width) become their
/// full-width forms, a bracket pair together; punctuation between Latin
/// letters or digits (`9:00`, `SSD(GB)`, `a,b`, `1,000`) is left alone.
pub fn zh_punct(text: &str) -> String {
    let is_cjk = |c: Option<&char>| {
        c.is_some_and(|c| matches!(*c as u32, 0x3000..=0x303F | 0x3400..=0x9FFF | 0xFF00..=0xFFEF | 0x201C | 0x201D))
    };
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<char> = chars.clone();
    let mut open: Vec<(usize, bool)> = Vec::new();
    for i in 0..chars.len() {
        // What precedes as already converted, so `（核）:` counts as Chinese.
        let before = i.checked_sub(1).and_then(|j| out.get(j)).copied();
        let (before, after) = (before.as_ref(), chars.get(i + 1));
        let near = is_cjk(before) || is_cjk(after);
        match chars[i] {
            '(' => open.push((i, near)),
            ')' => {
                if let Some((j, cjk)) = open.pop() {
                    if cjk || is_cjk(before) {
                        out[j] = '（';
                        out[i] = '）';
                    }
                }
            }
            c @ (',' | ':' | ';' | '!' | '?') if near => {
                out[i] = match c {
                    ',' => '，',
                    ':' => '：',
                    ';' => '；',
                    '!' => '！',
                    _ => '？',
                };
            }
            _ => {}
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::zh_punct;

    #[test]
    fn chinese_sentences_get_full_width_punctuation() {
        assert_eq!(
            zh_punct("您好!贵单位提交的表格(文件“a.xlsx”)未通过:共 2 处,请修改;谢谢"),
            "您好！贵单位提交的表格（文件“a.xlsx”）未通过：共 2 处，请修改；谢谢"
        );
        assert_eq!(zh_punct("工作日 9:00-11:00"), "工作日 9:00-11:00");
        assert_eq!(zh_punct("SSD(GB)、a,b"), "SSD(GB)、a,b");
        assert_eq!(zh_punct("内存(GB)"), "内存（GB）");
        assert_eq!(
            zh_punct("主机CPU(核):32 8核/16GB,系统盘 100GB 共 1,000 元"),
            "主机CPU（核）：32 8核/16GB，系统盘 100GB 共 1,000 元"
        );
        assert_eq!(zh_punct("校验码(SHA-256):ab12"), "校验码（SHA-256）：ab12");
    }
}
