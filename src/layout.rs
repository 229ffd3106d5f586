//! Print layout shared by every workbook zwyun writes: the A4 page setup,
//! text measured in column units (a Chinese character is two), and row
//! heights that fit wrapped text — spreadsheet programs do not grow rows
//! for merged cells on their own, and LibreOffice not for any row of an
//! .xlsx written without cached heights.

use std::collections::BTreeMap;

use rust_xlsxwriter::{Format, Worksheet, XlsxError};

/// 宋体, by the name every Windows and WPS knows it by; LibreOffice
/// substitutes Noto Serif CJK SC for it (for the name 宋体 it would fall
/// to a sans-serif Japanese face).
pub const SONG: &str = "SimSun";
/// The font size of body cells, in points (五号).
pub const BODY_PT: f64 = 10.5;
/// GB2312, so that viewers without 宋体 substitute a Simplified Chinese font.
pub const CHARSET_GB2312: u8 = 134;

/// A format in 宋体 at `size` points, marked as Simplified Chinese.
pub fn song(size: f64) -> Format {
    Format::new()
        .set_font_name(SONG)
        .set_font_charset(CHARSET_GB2312)
        .set_font_size(size)
}

/// Width of `text` in column units: a character of a CJK script or a
/// full-width form is two, anything else a little over one.
pub fn units(text: &str) -> f64 {
    text.chars().map(char_units).sum()
}

fn char_units(c: char) -> f64 {
    match c {
        c if c.is_ascii_uppercase() || c == '%' || c == 'm' || c == 'w' => 1.35,
        c if c.is_ascii() => 1.05,
        '\u{2010}'..='\u{2027}' => 1.2,
        _ => 2.0,
    }
}

/// Lines `text` takes in a column `width` units wide; explicit line breaks
/// count, and a character never straddles the edge.
pub fn lines(text: &str, width: f64) -> u32 {
    let usable = (width - 1.2).max(2.0);
    text.split('\n')
        .map(|line| {
            let mut n = 1;
            let mut used = 0.0;
            for c in line.chars() {
                let w = char_units(c);
                if used + w > usable && used > 0.0 {
                    n += 1;
                    used = 0.0;
                }
                used += w;
            }
            n
        })
        .sum()
}

/// Row height in points for `lines` lines of `size`-point text; CJK fonts
/// (Noto CJK, 宋体) need about 1.45 times their size per line.
pub fn height(lines: u32, size: f64) -> f64 {
    (f64::from(lines.max(1)) * size * 1.45 + 5.0).ceil()
}

/// Joins `parts` with `sep`, starting a new line instead of the separator
/// where the next part would not fit in `width` units, so that a line
/// breaks between items and never inside one (`政务外网`, not `政/务外网`).
pub fn wrap_parts(parts: &[&str], sep: &str, width: f64) -> String {
    let usable = width - 1.2;
    let mut out = String::new();
    let mut used = 0.0;
    for (i, part) in parts.iter().enumerate() {
        let w = units(part);
        if i > 0 {
            if used + units(sep) + w > usable {
                out.push_str(sep);
                out.push('\n');
                used = 0.0;
            } else {
                out.push_str(sep);
                used += units(sep);
            }
        }
        out.push_str(part);
        used += w;
    }
    out
}

/// Row heights collected while cells are written, set once at the end.
#[derive(Debug, Default)]
pub struct Heights {
    rows: BTreeMap<u32, f64>,
    spans: Vec<(u32, u32, f64)>,
}

impl Heights {
    /// Room for `text` in `width` units on rows `first..=last` at `size` pt.
    pub fn fit(&mut self, first: u32, last: u32, text: &str, width: f64, size: f64) {
        let need = height(lines(text, width), size);
        if first == last {
            self.at_least(first, need);
        } else {
            self.spans.push((first, last, need));
        }
    }

    pub fn at_least(&mut self, row: u32, points: f64) {
        let h = self.rows.entry(row).or_insert(0.0);
        *h = h.max(points);
    }

    /// Sets every row measured: single rows first, then rows spanned by a
    /// merged cell grown evenly until the merged text fits.
    pub fn apply(mut self, ws: &mut Worksheet) -> Result<(), XlsxError> {
        self.settle();
        for (row, h) in self.rows {
            ws.set_row_height(row, h)?;
        }
        Ok(())
    }

    /// Grows the rows under merged cells as [`Heights::apply`] does.
    fn settle(&mut self) {
        for (first, last, need) in std::mem::take(&mut self.spans) {
            let n = f64::from(last - first + 1);
            let have: f64 = (first..=last).map(|r| self.get(r)).sum();
            if have < need {
                let extra = ((need - have) / n).ceil();
                for r in first..=last {
                    let h = self.get(r) + extra;
                    self.rows.insert(r, h);
                }
            }
        }
    }

    /// Points rows `first..=last` take when printed, merged cells measured
    /// so far included.
    pub fn total(&self, first: u32, last: u32) -> f64 {
        let mut settled = Heights {
            rows: self.rows.clone(),
            spans: self.spans.clone(),
        };
        settled.settle();
        (first..=last).map(|r| settled.get(r)).sum()
    }

    fn get(&self, row: u32) -> f64 {
        self.rows
            .get(&row)
            .copied()
            .unwrap_or_else(|| height(1, BODY_PT))
    }
}

/// Millimetres in points.
pub fn mm(mm: f64) -> f64 {
    mm / 25.4 * 72.0
}

/// Pixels (at 96 dpi) a column unit takes at most when printed: Excel
/// measures columns in digits of Calibri (7 pixels); LibreOffice on a
/// machine without Calibri or Carlito measures them in DejaVu Sans, whose
/// digits are a third wider, and shrinks the sheet that much more.
const COLUMN_UNIT_PX: f64 = 9.6;

/// The smallest scale a sheet with columns `widths` prints at when fitted
/// to the width of an A4 page with [`a4`]'s margins (1 when it fits as it
/// is); see [`COLUMN_UNIT_PX`].
pub fn fit_scale(widths: &[f64], landscape: bool) -> f64 {
    let paper = if landscape { 11.69 } else { 8.27 };
    let printable = (paper - 0.6 - 0.6) * 72.0;
    let sheet: f64 = widths
        .iter()
        .map(|w| (w * COLUMN_UNIT_PX + 5.0) * 0.75)
        .sum();
    (printable / sheet).min(1.0)
}

/// Printable height of an A4 portrait page with [`a4`]'s margins, in points.
pub const PORTRAIT_HEIGHT_PT: f64 = (11.69 - 0.75 - 0.75) * 72.0;

/// How a sheet is printed.
pub struct Page {
    pub landscape: bool,
    /// Rows repeated at the top of every printed page (a table header).
    pub repeat_rows: Option<(u32, u32)>,
}

/// A4, the orientation, one page wide, margins, page numbers in the
/// footer, and the header rows on every page. (Not centred horizontally:
/// LibreOffice then shifts some sheets past the left edge of the paper.)
pub fn a4(ws: &mut Worksheet, page: &Page) -> Result<(), XlsxError> {
    ws.set_paper_size(9);
    if page.landscape {
        ws.set_landscape();
    } else {
        ws.set_portrait();
    }
    ws.set_print_fit_to_pages(1, 0);
    ws.set_margins(0.6, 0.6, 0.75, 0.75, 0.3, 0.3);
    ws.set_footer("&C第 &P 页 共 &N 页");
    if let Some((first, last)) = page.repeat_rows {
        ws.set_repeat_rows(first, last)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_counts_double() {
        assert_eq!(units("政务外网"), 8.0);
        assert_eq!(lines("政务外网", 10.0), 1);
        assert_eq!(lines("政务外网政务外网", 10.0), 2);
        assert_eq!(lines("a\nb", 10.0), 2);
    }

    #[test]
    fn parts_break_between_items() {
        let s = wrap_parts(
            &["系统盘100GB", "数据盘500GB", "麒麟V10", "政务外网"],
            "、",
            24.0,
        );
        assert!(!s.contains("政\n"), "{s}");
        assert!(s.lines().all(|l| units(l) <= 24.0), "{s}");
        assert!(s.contains('\n'), "{s}");
    }
}
