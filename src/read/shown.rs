//! Cells as the sheet shows them: a struck-out value is deleted (the part
//! of a rich-text cell that is struck, or the whole cell), and a number
//! whose format prints text, a percentage or a scaled value reads as
//! displayed. Each change is said at its cell.

use std::collections::BTreeMap;

use super::side::{display_for, Marks, Struck};
use super::Value;
use crate::diag::{a1, Diagnostic};

/// Applies the marks of one sheet to its cells; the warnings saying what
/// was struck and what was read, placed at their cells.
pub fn apply(
    sheet: &str,
    cells: &mut BTreeMap<(u32, u32), Value>,
    marks: &Marks,
) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    let at = |d: Diagnostic, (r, c): (u32, u32)| d.at(sheet, Some(a1(r, c)));
    for (&pos, struck) in &marks.struck {
        let Some(value) = cells.get(&pos) else {
            continue;
        };
        let shown = value.as_text();
        match struck {
            Struck::Whole => {
                cells.remove(&pos);
                let d = Diagnostic::warning(
                    "cell.struck",
                    format!(
                        "“{}”已被划掉(删除线),按删除处理,该单元格按空白读取",
                        short(&shown)
                    ),
                )
                .hint("划掉的内容不会被读取;如仍要申请,请取消删除线,或删除旧内容后重新填写");
                diags.push(at(d, pos));
            }
            Struck::Runs { struck, kept } => {
                let kept = kept.trim().to_string();
                let d = Diagnostic::warning(
                    "cell.struck",
                    format!(
                        "单元格中“{}”已被划掉(删除线),读取的是“{}”",
                        short(struck.trim()),
                        short(&kept)
                    ),
                )
                .hint("请删除划掉的旧内容,只保留要申请的数值");
                diags.push(at(d, pos));
                cells.insert(pos, Value::Text(kept));
            }
        }
    }
    for (&pos, code) in &marks.formats {
        let Some(Value::Number(n)) = cells.get(&pos) else {
            continue;
        };
        let n = *n;
        let Some(display) = display_for(code, n).filter(|d| !d.is_plain()) else {
            continue;
        };
        let shown = display.show(n);
        if shown.trim().is_empty() {
            // A section that shows nothing (`0;-0;`): an empty cell.
            cells.remove(&pos);
            continue;
        }
        let value = Value::Number(n).as_text();
        // A format printing a unit reads as the unit typed; a percentage
        // or a scaled value is a different number from the one stored:
        // said at the cell.
        if display.percent || display.thousands > 0 {
            let d = Diagnostic::warning(
                "cell.number_format",
                format!(
                    "单元格显示为“{shown}”,而其中的数值是 {value}(数字格式 {code});按显示的内容读取"
                ),
            )
            .hint("请把单元格格式改为“常规”或“数值”,直接填写要申请的数字");
            diags.push(at(d, pos));
        }
        cells.insert(pos, Value::Text(shown));
    }
    diags
}

fn short(t: &str) -> String {
    let t = t.trim();
    if t.chars().count() > 30 {
        format!("{}…", t.chars().take(30).collect::<String>())
    } else {
        t.to_string()
    }
}
