//! What the sheet shows besides values, judged at the cells the form was
//! read from: a note on a cell is shown there (an error when it says the
//! content is void), a value read from a hidden row or column is an error
//! (the person checking the form cannot see it), and a 填表日期 far from
//! the date the workbook was saved is a warning.

use chrono::NaiveDate;

use super::fields::Sink;
use crate::diag::{a1, Diagnostic};
use crate::read::locate::Located;

/// Words in a note that say the cell or row no longer counts.
const VOID_WORDS: [&str; 9] = [
    "作废",
    "删除",
    "无效",
    "撤销",
    "撤回",
    "不算",
    "不申请",
    "不再使用",
    "以第",
];

/// How far (in days) the 填表日期 may be from the saved date unflagged.
const DATE_FAR_DAYS: i64 = 366;

/// Every cell the form was read from (labels excluded): field values,
/// table cells, service quantities and ticked service names.
fn read_cells(located: &Located) -> Vec<(u32, u32)> {
    let mut cells: Vec<(u32, u32)> = Vec::new();
    for spot in located.fields.values().flatten() {
        if spot.value.is_some() {
            cells.push(spot.pos);
        }
    }
    let rows = located
        .tables
        .values()
        .flatten()
        .flatten()
        .chain(located.other_services.iter().flatten());
    for row in rows {
        cells.extend(
            row.cells
                .values()
                .filter(|s| s.value.is_some())
                .map(|s| s.pos),
        );
    }
    for s in &located.services {
        // A printed service name is read only when it carries a tick.
        if crate::read::text::has_tick(&s.name) {
            cells.push(s.name_pos);
        }
        if s.qty.value.is_some() {
            cells.push(s.qty.pos);
        }
    }
    cells.sort();
    cells.dedup();
    cells
}

/// Notes anywhere on the form sheet, and values read from hidden rows or
/// columns.
pub fn check_marks(located: &Located, sink: &mut Sink) {
    let sheet = located.sheet;
    let Some(marks) = sheet.marks.as_deref() else {
        return;
    };
    for (&(r, c), note) in &marks.notes {
        let content = sheet.text(r, c);
        let on = if content.trim().is_empty() {
            String::new()
        } else {
            format!("(单元格内容“{}”)", short(&content))
        };
        let d = if VOID_WORDS.iter().any(|w| note.contains(w)) {
            Diagnostic::error(
                "cell.note_void",
                format!(
                    "单元格批注说明内容作废:“{}”{on};但内容仍在表格中,程序无法按批注修改",
                    short(note)
                ),
            )
            .hint("请按批注的意思直接修改表格(删除作废的行或内容),并删除批注后重新提交")
        } else {
            Diagnostic::warning("cell.note", format!("单元格批注:“{}”{on}", short(note)))
                .hint("批注不作为申请内容读取;需要申请的内容请填写在表格相应栏目中")
        };
        sink.push(d, Some((r, c)), "批注");
    }
    let hidden: Vec<(u32, u32)> = read_cells(located)
        .into_iter()
        .filter(|&p| marks.is_hidden(p))
        .collect();
    let mut rows: std::collections::BTreeMap<u32, Vec<(u32, u32)>> = Default::default();
    for p in hidden {
        rows.entry(p.0).or_default().push(p);
    }
    for (r, cells) in rows {
        let shown: Vec<String> = cells
            .iter()
            .take(3)
            .map(|&(r, c)| format!("{}“{}”", a1(r, c), short(&sheet.text(r, c))))
            .collect();
        let more = if cells.len() > 3 { " 等" } else { "" };
        let what = if marks.hidden_rows.contains(&r) {
            format!("第 {} 行是隐藏行", r + 1)
        } else {
            "所在的列是隐藏列".to_string()
        };
        let d = Diagnostic::error(
            "cell.hidden",
            format!(
                "{what},其中的 {}{more} 会被读取为申请内容,但打开表格时看不到",
                shown.join("、")
            ),
        )
        .hint("请取消隐藏(右键行号或列标 → 取消隐藏):内容有效的保留,旧内容请删除");
        sink.push(d, Some(cells[0]), "隐藏的行或列");
    }
}

/// A 填表日期 more than a year from the date the workbook was last saved
/// (a typo'd year, or last year's form sent again).
pub fn check_date(
    located: &Located,
    date: Option<NaiveDate>,
    saved: Option<NaiveDate>,
    sink: &mut Sink,
) {
    let (Some(date), Some(saved)) = (date, saved) else {
        return;
    };
    let days = (date - saved).num_days();
    if days.abs() <= DATE_FAR_DAYS {
        return;
    }
    let way = if days > 0 { "晚" } else { "早" };
    let d = Diagnostic::warning(
        "field.date_far",
        format!(
            "“填表日期”为 {date},比工作簿的保存日期 {saved} {way} {} 天",
            days.abs()
        ),
    )
    .hint("请确认填表日期(年份)是否填写正确");
    let cell = super::form::field_cell(located, "date");
    sink.push(d, cell, "填表日期");
}

fn short(t: &str) -> String {
    let t = t.trim();
    if t.chars().count() > 40 {
        format!("{}…", t.chars().take(40).collect::<String>())
    } else {
        t.to_string()
    }
}
