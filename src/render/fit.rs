//! Table columns of a rendered document widened to their widest figure:
//! a number (`10240`, `1048576GB`) is never broken over two lines in a
//! narrow 数量 or 台数 column. The room is taken from the column with the
//! most to spare, so that the table keeps its width on the page. Text is
//! measured as `layout.rs` measures it for the workbooks.

use std::collections::BTreeMap;
use std::ops::Range;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Word's cell margin (left or right) when a table sets none, in twips.
const DEFAULT_MARGIN: u32 = 108;
/// A column is never made narrower than this (two characters and margins).
const MIN_COLUMN: u32 = 500;
/// Added to every measured figure: fonts differ a little from the estimate.
const SAFETY_EM: f64 = 0.4;

/// One table cell: where it sits in the grid and what its text needs.
#[derive(Debug, Default, Clone)]
struct Cell {
    col: usize,
    span: usize,
    /// Widest run of text that cannot be broken (a figure, a Latin word).
    word: u32,
    /// Widest paragraph on one line.
    line: u32,
}

#[derive(Debug, Default)]
struct Table {
    /// Byte ranges of the `<w:gridCol>` elements and their widths.
    grid: Vec<(Range<usize>, u32)>,
    /// Byte ranges of `<w:tcW>` elements in dxa, with their cell's columns.
    cell_widths: Vec<(Range<usize>, usize, usize)>,
    cells: Vec<Cell>,
    margins: (u32, u32),
    col: usize,
}

/// Reading state: tables open (innermost last), the cell being read.
#[derive(Default)]
struct Scan {
    open: Vec<Table>,
    done: Vec<Table>,
    /// For each open table, its open cell and that cell's current line.
    cells: Vec<Option<(Cell, u32)>>,
    run_size: Option<f64>,
    text_start: Option<usize>,
}

/// `document.xml` with the columns of every table wide enough for its
/// figures; returned unchanged when nothing needs to change (or the XML
/// cannot be read: the document is then written as it is).
pub fn fit_columns(xml: &str) -> String {
    let Some(tables) = scan(xml) else {
        return xml.to_string();
    };
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    for group in groups(&tables) {
        let old: Vec<u32> = tables[group[0]].grid.iter().map(|g| g.1).collect();
        let cells: Vec<&Cell> = group.iter().flat_map(|&t| &tables[t].cells).collect();
        let margins = group
            .iter()
            .map(|&t| tables[t].margins.0 + tables[t].margins.1)
            .max()
            .unwrap_or(2 * DEFAULT_MARGIN);
        let Some(new) = widen(&old, &cells, margins) else {
            continue;
        };
        for &t in &group {
            edits.extend(rewrite(&tables[t], &new));
        }
    }
    if edits.is_empty() {
        return xml.to_string();
    }
    edits.sort_by_key(|e| e.0.start);
    let mut out = String::with_capacity(xml.len() + 256);
    let mut at = 0;
    for (range, text) in edits {
        out.push_str(&xml[at..range.start]);
        out.push_str(&text);
        at = range.end;
    }
    out.push_str(&xml[at..]);
    out
}

/// Tables sharing one grid (the host table and the service table of an
/// agreement) are widened together, so that their columns stay aligned.
fn groups(tables: &[Table]) -> Vec<Vec<usize>> {
    let mut by_grid: BTreeMap<Vec<u32>, Vec<usize>> = BTreeMap::new();
    for (i, t) in tables.iter().enumerate() {
        if t.grid.len() > 1 {
            by_grid
                .entry(t.grid.iter().map(|g| g.1).collect())
                .or_default()
                .push(i);
        }
    }
    by_grid.into_values().collect()
}

/// New column widths when a figure does not fit its column, else None.
fn widen(old: &[u32], cells: &[&Cell], margins: u32) -> Option<Vec<u32>> {
    let n = old.len();
    let single = |c: &&&Cell| c.span == 1 && c.col < n;
    let mut need = vec![0u32; n];
    let mut line = vec![0u32; n];
    for c in cells.iter().filter(single) {
        need[c.col] = need[c.col].max(c.word + margins);
        line[c.col] = line[c.col].max(c.line + margins);
    }
    let mut new = old.to_vec();
    let mut missing: u32 = 0;
    for i in 0..n {
        if need[i] > new[i] {
            missing += need[i] - new[i];
            new[i] = need[i];
        }
    }
    if missing == 0 {
        return None;
    }
    // Give from the columns with most to spare beyond their longest line.
    let floor: Vec<u32> = (0..n)
        .map(|i| {
            need[i]
                .max(MIN_COLUMN)
                .max(spanned_floor(i, &new, cells, margins))
        })
        .collect();
    while missing > 0 {
        // With nothing to give, the table grows past its width rather
        // than break a figure.
        let Some(donor) = (0..n)
            .filter(|&i| new[i] > floor[i] && old[i] >= new[i])
            .max_by_key(|&i| new[i].saturating_sub(line[i].max(floor[i])))
        else {
            break;
        };
        let give = (new[donor] - floor[donor]).min(missing);
        new[donor] -= give;
        missing -= give;
    }
    Some(new)
}

/// The least width column `i` may keep so that every merged cell over it
/// still holds its widest unbreakable text.
fn spanned_floor(i: usize, widths: &[u32], cells: &[&Cell], margins: u32) -> u32 {
    cells
        .iter()
        .filter(|c| c.span > 1 && (c.col..c.col + c.span).contains(&i))
        .map(|c| {
            let others: u32 = (c.col..(c.col + c.span).min(widths.len()))
                .filter(|&j| j != i)
                .map(|j| widths[j])
                .sum();
            (c.word + margins).saturating_sub(others)
        })
        .max()
        .unwrap_or(0)
}

/// The edits that give table `t` the widths `new`.
fn rewrite(t: &Table, new: &[u32]) -> Vec<(Range<usize>, String)> {
    let mut edits: Vec<(Range<usize>, String)> = t
        .grid
        .iter()
        .zip(new)
        .map(|((range, _), w)| (range.clone(), format!("<w:gridCol w:w=\"{w}\"/>")))
        .collect();
    for (range, col, span) in &t.cell_widths {
        let w: u32 = new.iter().skip(*col).take(*span).sum();
        edits.push((
            range.clone(),
            format!("<w:tcW w:w=\"{w}\" w:type=\"dxa\"/>"),
        ));
    }
    edits
}

fn local(name: &str) -> &str {
    name.strip_prefix("w:").unwrap_or(name)
}

fn attr(e: &BytesStart, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| local(a.key.as_ref()) == key)
        .map(|a| a.value.to_string())
}

fn twips(e: &BytesStart) -> Option<u32> {
    attr(e, "w").and_then(|v| v.parse().ok())
}

/// Width of `text` at `size` points, in twips: a CJK character is one em,
/// a digit about half of one (`layout::units` counts in half ems).
fn measure(text: &str, size: f64) -> u32 {
    (crate::layout::units(text) / 2.0 * size * 20.0).ceil() as u32
}

/// The widest piece of `text` a line cannot be broken in: a run of
/// characters other than spaces and CJK (each of which may end a line).
fn widest_word(text: &str, size: f64) -> u32 {
    text.split(|c: char| c.is_whitespace() || crate::layout::units(&c.to_string()) >= 2.0)
        .filter(|w| !w.is_empty())
        .map(|w| measure(w, size) + (SAFETY_EM * size * 20.0) as u32)
        .max()
        .unwrap_or(0)
}

fn scan(xml: &str) -> Option<Vec<Table>> {
    let mut reader = Reader::from_str(xml);
    let mut s = Scan::default();
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().ok()?;
        let after = reader.buffer_position() as usize;
        match event {
            Event::Eof => break,
            Event::Start(e) if local(e.name().as_ref()) == "t" => s.text_start = Some(after),
            Event::End(e) if local(e.name().as_ref()) == "t" => {
                let start = s.text_start.take().unwrap_or(before);
                let text = quick_xml::escape::unescape(&xml[start..before]).ok()?;
                s.text(&text);
            }
            Event::Start(e) => s.start(&e, before..after, false),
            Event::Empty(e) => s.start(&e, before..after, true),
            Event::End(e) => s.end(local(e.name().as_ref())),
            _ => {}
        }
    }
    Some(s.done)
}

impl Scan {
    fn start(&mut self, e: &BytesStart, range: Range<usize>, empty: bool) {
        let name = e.name();
        match local(name.as_ref()) {
            "tbl" if !empty => {
                self.open.push(Table {
                    margins: (DEFAULT_MARGIN, DEFAULT_MARGIN),
                    ..Table::default()
                });
                self.cells.push(None);
            }
            "gridCol" => {
                if let (Some(t), Some(w)) = (self.open.last_mut(), twips(e)) {
                    t.grid.push((range, w));
                }
            }
            "left" | "start" | "right" | "end" if self.in_table_props() => {
                if let (Some(t), Some(w)) = (self.open.last_mut(), twips(e)) {
                    match local(name.as_ref()) {
                        "left" | "start" => t.margins.0 = w,
                        _ => t.margins.1 = w,
                    }
                }
            }
            "tr" if !empty => {
                if let Some(t) = self.open.last_mut() {
                    t.col = 0;
                }
            }
            "gridBefore" => {
                let n = attr(e, "val").and_then(|v| v.parse::<usize>().ok());
                if let (Some(t), Some(n)) = (self.open.last_mut(), n) {
                    t.col += n;
                }
            }
            "tc" if !empty => {
                let col = self.open.last().map(|t| t.col).unwrap_or(0);
                if let Some(slot) = self.cells.last_mut() {
                    *slot = Some((
                        Cell {
                            col,
                            span: 1,
                            ..Cell::default()
                        },
                        0,
                    ));
                }
            }
            "gridSpan" => {
                let n = attr(e, "val").and_then(|v| v.parse::<usize>().ok());
                if let (Some(Some((cell, _))), Some(n)) = (self.cells.last_mut(), n) {
                    cell.span = n.max(1);
                }
            }
            "tcW" if attr(e, "type").as_deref() == Some("dxa") => {
                if let (Some(t), Some(Some((cell, _)))) = (self.open.last_mut(), self.cells.last())
                {
                    t.cell_widths.push((range, cell.col, cell.span));
                }
            }
            "r" if !empty => self.run_size = None,
            "sz" => {
                let half_points = attr(e, "val").and_then(|v| v.parse::<f64>().ok());
                if let Some(h) = half_points {
                    self.run_size = Some(h / 2.0);
                }
            }
            "br" | "cr" => self.line_break(),
            _ => {}
        }
    }

    /// Margins are read from `<w:tblCellMar>` in the table's properties,
    /// before its first row.
    fn in_table_props(&self) -> bool {
        self.open.last().is_some_and(|t| t.grid.is_empty())
            && matches!(self.cells.last(), Some(None))
    }

    fn text(&mut self, text: &str) {
        // Runs without a size of their own: Word's default body size.
        let size = self.run_size.unwrap_or(12.0);
        if let Some(Some((cell, line))) = self.cells.last_mut() {
            cell.word = cell.word.max(widest_word(text, size));
            *line += measure(text, size);
            cell.line = cell.line.max(*line);
        }
    }

    fn line_break(&mut self) {
        if let Some(Some((_, line))) = self.cells.last_mut() {
            *line = 0;
        }
    }

    fn end(&mut self, name: &str) {
        match name {
            "p" => self.line_break(),
            "tc" => {
                let cell = self.cells.last_mut().and_then(Option::take);
                if let (Some(t), Some((cell, _))) = (self.open.last_mut(), cell) {
                    t.col = cell.col + cell.span;
                    t.cells.push(cell);
                }
            }
            "tbl" => {
                self.cells.pop();
                if let Some(t) = self.open.pop() {
                    self.done.push(t);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(qty: &str) -> String {
        format!(
            concat!(
                r#"<w:tbl><w:tblPr><w:tblCellMar><w:left w:w="80" w:type="dxa"/>"#,
                r#"<w:right w:w="80" w:type="dxa"/></w:tblCellMar></w:tblPr>"#,
                r#"<w:tblGrid><w:gridCol w:w="2000"/><w:gridCol w:w="600"/><w:gridCol w:w="3000"/></w:tblGrid>"#,
                r#"<w:tr><w:tc><w:tcPr><w:tcW w:w="2000" w:type="dxa"/></w:tcPr><w:p><w:r><w:rPr><w:sz w:val="21"/></w:rPr><w:t>☑SSD(GB)</w:t></w:r></w:p></w:tc>"#,
                r#"<w:tc><w:tcPr><w:tcW w:w="600" w:type="dxa"/></w:tcPr><w:p><w:r><w:rPr><w:sz w:val="21"/></w:rPr><w:t>{}</w:t></w:r></w:p></w:tc>"#,
                r#"<w:tc><w:tcPr><w:tcW w:w="3000" w:type="dxa"/></w:tcPr><w:p><w:r><w:t>说明</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"#
            ),
            qty
        )
    }

    fn grid(xml: &str) -> Vec<u32> {
        xml.split("<w:gridCol w:w=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap().parse().unwrap())
            .collect()
    }

    #[test]
    fn short_figures_change_nothing() {
        let xml = table("300");
        assert_eq!(fit_columns(&xml), xml);
    }

    #[test]
    fn a_long_figure_widens_its_column_from_the_roomiest() {
        let fitted = fit_columns(&table("1048576"));
        let w = grid(&fitted);
        assert_eq!(w.iter().sum::<u32>(), 5600, "{w:?}");
        assert!(w[1] >= measure("1048576", 10.5) + 160, "{w:?}");
        assert_eq!(w[0], 2000, "{w:?}");
        assert!(w[2] < 3000, "{w:?}");
        assert!(fitted.contains(&format!("<w:tcW w:w=\"{}\" w:type=\"dxa\"/>", w[1])));
    }

    #[test]
    fn chinese_text_may_wrap_figures_may_not() {
        assert_eq!(widest_word("政务外网", 10.0), 0);
        assert!(widest_word("数据盘12000GB、麒麟", 10.0) > measure("12000GB", 10.0));
    }
}
