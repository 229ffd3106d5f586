//! What an .xlsx shows besides its cell values, read beside calamine
//! (which reads values only): strikethrough (a cell's font, or runs of a
//! rich-text string), number formats that print text or scale the value,
//! hidden rows and columns, cell notes, the workbook's date system and
//! recalculation flag, and the date it was saved.
//!
//! A small reader of the parts themselves (`workbook.xml`, `styles.xml`,
//! `sharedStrings.xml`, the sheet XML, comments parts, `docProps/core.xml`)
//! with the zip and quick-xml crates: every part is inflated through the
//! same cap as `check_zip`, and only what matters (struck strings,
//! formats that print something, hidden rows holding values, notes) is
//! kept, so a hostile file costs no more memory than its values do.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Cursor, Read};

use chrono::NaiveDate;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::MAX_PART_BYTES;

/// Longest note text kept (the rest is cut with `…`).
const MAX_NOTE_CHARS: usize = 300;
/// Column ranges kept from a sheet's `<cols>`.
const MAX_COL_RANGES: usize = 1_000;
/// Notes kept per sheet.
const MAX_NOTES: usize = 1_000;

/// Settings of the workbook as a whole.
#[derive(Debug, Clone, Default)]
pub struct BookSettings {
    /// Dates count from 1904-01-01 (Mac Excel), not 1900.
    pub date1904: bool,
    /// `fullCalcOnLoad`: the application is asked to recalculate on opening.
    pub full_calc: bool,
    /// The workbook's own "last saved" date (`dcterms:modified`).
    pub saved: Option<NaiveDate>,
}

/// What a strikethrough removed from a cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Struck {
    /// The whole value is struck out.
    Whole,
    /// Parts of a rich-text string: the struck text, and the rest (read).
    Runs { struck: String, kept: String },
}

/// Per sheet: what the sheet shows besides values, by zero-based position.
#[derive(Debug, Clone, Default)]
pub struct Marks {
    pub struck: BTreeMap<(u32, u32), Struck>,
    /// Number format codes of value cells whose format prints text or a
    /// percentage, or scales the value.
    pub formats: BTreeMap<(u32, u32), String>,
    /// Notes (comments) by cell: author and text.
    pub notes: BTreeMap<(u32, u32), String>,
    /// Hidden rows that hold a value.
    pub hidden_rows: BTreeSet<u32>,
    /// Hidden column ranges (inclusive, zero-based).
    pub hidden_cols: Vec<(u32, u32)>,
}

impl Marks {
    pub fn is_hidden(&self, (row, col): (u32, u32)) -> bool {
        self.hidden_rows.contains(&row)
            || self
                .hidden_cols
                .iter()
                .any(|&(a, b)| (a..=b).contains(&col))
    }
}

/// A cell style's font strike and number format.
#[derive(Debug, Clone, Default)]
struct Xf {
    strike: bool,
    /// Only formats that print something (see `format_matters`).
    format: Option<String>,
}

/// A rich string: runs of text, each with its own strike (None: no run
/// properties, the cell's font applies).
type Runs = Vec<(String, Option<bool>)>;

/// The parts of an .xlsx this reader uses, opened once per workbook.
pub struct Side<'b> {
    zip: zip::ZipArchive<Cursor<&'b [u8]>>,
    pub settings: BookSettings,
    /// Sheet name → path of its XML part.
    sheets: BTreeMap<String, String>,
    xfs: Option<Vec<Xf>>,
    /// Shared strings with run properties, by index.
    rich: Option<BTreeMap<usize, Runs>>,
}

impl<'b> Side<'b> {
    /// Opens the parts; `None` when the package cannot be read this way
    /// (calamine has read it, so the values stand without marks).
    pub fn open(bytes: &'b [u8]) -> Option<Side<'b>> {
        let zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
        let mut side = Side {
            zip,
            settings: BookSettings::default(),
            sheets: BTreeMap::new(),
            xfs: None,
            rich: None,
        };
        let workbook = side.part("xl/workbook.xml")?;
        let rels = side.part("xl/_rels/workbook.xml.rels").unwrap_or_default();
        let targets = relationships(&rels, "xl");
        let mut reader = Reader::from_str(&workbook);
        loop {
            match reader.read_event() {
                Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                    "workbookPr" => side.settings.date1904 = flag(&e, "date1904"),
                    "calcPr" => side.settings.full_calc = flag(&e, "fullCalcOnLoad"),
                    "sheet" => {
                        let name = attr(&e, "name");
                        let id = attr(&e, "id");
                        if let (Some(name), Some(target)) = (
                            name,
                            id.and_then(|id| targets.get(&id).map(|(_, t)| t.clone())),
                        ) {
                            side.sheets.insert(name, target);
                        }
                    }
                    _ => {}
                },
                Ok(Event::Eof) | Err(_) => break,
                _ => {}
            }
        }
        side.settings.saved = side.part("docProps/core.xml").and_then(|c| saved_date(&c));
        Some(side)
    }

    /// A part as text, inflated through the cap; None when absent or over it.
    fn part(&mut self, name: &str) -> Option<String> {
        let entry = self.zip.by_name(name).ok()?;
        let mut text = String::new();
        entry
            .take(MAX_PART_BYTES + 1)
            .read_to_string(&mut text)
            .ok()?;
        (text.len() as u64 <= MAX_PART_BYTES).then_some(text)
    }

    fn xfs(&mut self) -> &[Xf] {
        if self.xfs.is_none() {
            let styles = self.part("xl/styles.xml").unwrap_or_default();
            self.xfs = Some(read_styles(&styles));
        }
        self.xfs.as_deref().unwrap_or_default()
    }

    fn rich(&mut self) -> &BTreeMap<usize, Runs> {
        if self.rich.is_none() {
            let strings = self.part("xl/sharedStrings.xml").unwrap_or_default();
            self.rich = Some(read_rich_strings(&strings));
        }
        self.rich.get_or_insert_with(BTreeMap::new)
    }

    /// The marks of one sheet (by its name in the workbook).
    pub fn marks(&mut self, sheet: &str) -> Marks {
        let Some(path) = self.sheets.get(sheet).cloned() else {
            return Marks::default();
        };
        let Some(xml) = self.part(&path) else {
            return Marks::default();
        };
        self.xfs();
        self.rich();
        let xfs = self.xfs.take().unwrap_or_default();
        let rich = self.rich.take().unwrap_or_default();
        // No style that strikes or prints, no struck run, nothing hidden
        // and no inline string: the sheet's cells carry no mark.
        let styled = xfs.iter().any(|x| x.strike || x.format.is_some());
        let mut marks =
            if styled || !rich.is_empty() || xml.contains("hidden=\"") || xml.contains("<is>") {
                read_sheet(&xml, &xfs, &rich)
            } else {
                Marks::default()
            };
        self.xfs = Some(xfs);
        self.rich = Some(rich);
        drop(xml);
        let (dir, file) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        let rels = self
            .part(&format!("{dir}/_rels/{file}.rels"))
            .unwrap_or_default();
        for (kind, target) in relationships(&rels, dir).into_values() {
            if kind.ends_with("/comments") {
                if let Some(xml) = self.part(&target) {
                    marks.notes.extend(read_comments(&xml));
                }
            }
        }
        marks
    }
}

fn attr(e: &BytesStart, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

/// An OOXML boolean attribute (`1`/`true`), false when absent.
fn flag(e: &BytesStart, name: &str) -> bool {
    matches!(attr(e, name).as_deref(), Some("1" | "true"))
}

/// A boolean element such as `<strike/>` or `<strike val="0"/>`.
fn on(e: &BytesStart) -> bool {
    !matches!(attr(e, "val").as_deref(), Some("0" | "false"))
}

/// Relationship id → (type, part path resolved against `dir`).
fn relationships(xml: &str, dir: &str) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e))
                if e.local_name().as_ref() == "Relationship" =>
            {
                if let (Some(id), Some(target)) = (attr(&e, "Id"), attr(&e, "Target")) {
                    let kind = attr(&e, "Type").unwrap_or_default();
                    out.insert(id, (kind, resolve(dir, &target)));
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

/// `../comments1.xml` from `xl/worksheets` → `xl/comments1.xml`; an
/// absolute target (`/xl/...`) is taken from the package root.
fn resolve(dir: &str, target: &str) -> String {
    if let Some(abs) = target.strip_prefix('/') {
        return abs.to_string();
    }
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for piece in target.split('/') {
        match piece {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn saved_date(xml: &str) -> Option<NaiveDate> {
    let mut reader = Reader::from_str(xml);
    let mut inside = false;
    let mut created = None;
    let mut which = "";
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                which = match e.local_name().as_ref() {
                    "modified" => "modified",
                    "created" => "created",
                    _ => "",
                };
                inside = !which.is_empty();
            }
            Ok(Event::Text(t)) if inside => {
                let text = t.xml10_content();
                let date = text
                    .get(..10)
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
                if which == "modified" {
                    return date;
                }
                created = date;
            }
            Ok(Event::End(_)) => inside = false,
            Ok(Event::Eof) | Err(_) => return created,
            _ => {}
        }
    }
}

/// Built-in number formats that print something other than the number.
fn builtin_format(id: u32) -> Option<&'static str> {
    match id {
        9 => Some("0%"),
        10 => Some("0.00%"),
        _ => None,
    }
}

/// The cell styles (`cellXfs`) with their font's strike and the number
/// format, when it is one that matters.
fn read_styles(xml: &str) -> Vec<Xf> {
    let mut formats: BTreeMap<u32, String> = BTreeMap::new();
    let mut fonts: Vec<bool> = Vec::new();
    let mut xfs = Vec::new();
    let mut reader = Reader::from_str(xml);
    let mut section = "";
    let mut in_font = false;
    loop {
        let event = reader.read_event();
        let (e, empty) = match &event {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::End(e)) => {
                match e.local_name().as_ref() {
                    "fonts" | "cellXfs" => section = "",
                    "font" => in_font = false,
                    _ => {}
                }
                continue;
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => continue,
        };
        match e.local_name().as_ref() {
            "numFmt" => {
                let id = attr(e, "numFmtId").and_then(|i| i.parse().ok());
                if let (Some(id), Some(code)) = (id, attr(e, "formatCode")) {
                    if format_matters(&code) && formats.len() < 10_000 {
                        formats.insert(id, code);
                    }
                }
            }
            "fonts" => section = "fonts",
            "cellXfs" => section = "cellXfs",
            "cellStyleXfs" => section = "other",
            "font" if section == "fonts" => {
                fonts.push(false);
                in_font = !empty;
            }
            "strike" if in_font => {
                if let Some(last) = fonts.last_mut() {
                    *last = on(e);
                }
            }
            "xf" if section == "cellXfs" => {
                let font: Option<usize> = attr(e, "fontId").and_then(|i| i.parse().ok());
                let fmt: Option<u32> = attr(e, "numFmtId").and_then(|i| i.parse().ok());
                xfs.push(Xf {
                    strike: font.and_then(|f| fonts.get(f).copied()).unwrap_or(false),
                    format: fmt.and_then(|id| {
                        formats
                            .get(&id)
                            .cloned()
                            .or_else(|| builtin_format(id).map(str::to_string))
                    }),
                });
            }
            _ => {}
        }
    }
    xfs
}

/// Shared strings made of runs where some run has its own properties.
fn read_rich_strings(xml: &str) -> BTreeMap<usize, Runs> {
    let mut out = BTreeMap::new();
    // Most workbooks have no struck run: nothing to parse.
    if !xml.contains("<rPr") {
        return out;
    }
    let mut reader = Reader::from_str(xml);
    let mut index = 0usize;
    let mut runs: Runs = Vec::new();
    let mut run: Option<(String, Option<bool>)> = None;
    let mut in_text = false;
    let mut in_phonetic = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                "si" => runs.clear(),
                "r" if !in_phonetic => run = Some((String::new(), None)),
                "rPr" => {
                    if let Some(r) = run.as_mut() {
                        r.1 = Some(false);
                    }
                }
                "strike" => {
                    if let Some(r) = run.as_mut() {
                        r.1 = Some(on(&e));
                    }
                }
                "t" => in_text = !in_phonetic,
                "rPh" => in_phonetic = true,
                _ => {}
            },
            Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                "strike" => {
                    if let Some(r) = run.as_mut() {
                        r.1 = Some(on(&e));
                    }
                }
                "rPr" => {
                    if let Some(r) = run.as_mut() {
                        r.1 = Some(false);
                    }
                }
                "si" => index += 1,
                _ => {}
            },
            Ok(Event::Text(t)) if in_text => {
                let text = t.xml10_content();
                match run.as_mut() {
                    Some(r) => r.0.push_str(&text),
                    None => runs.push((text.into_owned(), None)),
                }
            }
            Ok(Event::GeneralRef(r)) if in_text => {
                let c = resolve_ref(&r);
                match run.as_mut() {
                    Some(run) => run.0.push_str(&c),
                    None => runs.push((c, None)),
                }
            }
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                "t" => in_text = false,
                "rPh" => in_phonetic = false,
                "r" => {
                    if let Some(r) = run.take() {
                        runs.push(r);
                    }
                }
                "si" => {
                    if runs.iter().any(|(_, s)| s.is_some()) {
                        out.insert(index, std::mem::take(&mut runs));
                    }
                    index += 1;
                }
                _ => {}
            },
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

fn resolve_ref(r: &quick_xml::events::BytesRef) -> String {
    match r.resolve_char_ref() {
        Ok(Some(c)) => c.to_string(),
        _ => quick_xml::escape::resolve_predefined_entity(r)
            .unwrap_or_default()
            .to_string(),
    }
}

/// Zero-based (row, column) of an A1 reference.
pub fn parse_ref(r: &str) -> Option<(u32, u32)> {
    let letters = r.bytes().take_while(u8::is_ascii_alphabetic).count();
    if letters == 0 || letters > 3 {
        return None;
    }
    let col = r[..letters].bytes().fold(0u32, |acc, b| {
        acc * 26 + u32::from(b.to_ascii_uppercase() - b'A' + 1)
    });
    let row: u32 = r[letters..].parse().ok()?;
    (row >= 1 && col >= 1).then(|| (row - 1, col - 1))
}

/// One pass over a sheet's XML: struck and formatted value cells, hidden
/// rows holding values, hidden columns.
fn read_sheet(xml: &str, xfs: &[Xf], rich: &BTreeMap<usize, Runs>) -> Marks {
    let mut marks = Marks::default();
    let mut reader = Reader::from_str(xml);
    let mut row: u32 = 0;
    let mut row_hidden = false;
    let mut next_col: u32 = 0;
    // The open cell: position, style, type; its value and inline runs.
    let mut cell: Option<((u32, u32), usize, String)> = None;
    let mut value = String::new();
    let mut has_value = false;
    let mut inline: Runs = Vec::new();
    let mut run: Option<(String, Option<bool>)> = None;
    let mut in_v = false;
    let mut in_t = false;
    loop {
        let event = reader.read_event();
        match event {
            Ok(Event::Start(ref e)) | Ok(Event::Empty(ref e)) => {
                let empty = matches!(event, Ok(Event::Empty(_)));
                match e.local_name().as_ref() {
                    "row" => {
                        row = attr(e, "r")
                            .and_then(|r| r.parse::<u32>().ok())
                            .map(|r| r.saturating_sub(1))
                            .unwrap_or(row + u32::from(next_col > 0));
                        row_hidden = flag(e, "hidden");
                        next_col = 0;
                    }
                    "col" if marks.hidden_cols.len() < MAX_COL_RANGES && flag(e, "hidden") => {
                        let n = |k| attr(e, k).and_then(|v| v.parse::<u32>().ok());
                        if let (Some(a), Some(b)) = (n("min"), n("max")) {
                            if a >= 1 && b >= a {
                                marks.hidden_cols.push((a - 1, b - 1));
                            }
                        }
                    }
                    "c" => {
                        let pos = attr(e, "r")
                            .and_then(|r| parse_ref(&r))
                            .unwrap_or((row, next_col));
                        next_col = pos.1 + 1;
                        let style = attr(e, "s").and_then(|s| s.parse().ok()).unwrap_or(0);
                        let kind = attr(e, "t").unwrap_or_default();
                        value.clear();
                        inline.clear();
                        has_value = false;
                        if !empty {
                            cell = Some((pos, style, kind));
                        }
                    }
                    "v" if cell.is_some() => in_v = !empty,
                    "is" if cell.is_some() => has_value = true,
                    "r" if cell.is_some() => run = Some((String::new(), None)),
                    "rPr" => {
                        if let Some(r) = run.as_mut() {
                            r.1 = Some(false);
                        }
                    }
                    "strike" => {
                        if let Some(r) = run.as_mut() {
                            r.1 = Some(on(e));
                        }
                    }
                    "t" if cell.is_some() => in_t = !empty,
                    _ => {}
                }
            }
            Ok(Event::Text(t)) if in_v || in_t => {
                let text = t.xml10_content();
                if in_v {
                    value.push_str(&text);
                    has_value = true;
                } else if let Some(r) = run.as_mut() {
                    r.0.push_str(&text);
                } else {
                    inline.push((text.into_owned(), None));
                }
            }
            Ok(Event::GeneralRef(r)) if in_t => {
                let c = resolve_ref(&r);
                match run.as_mut() {
                    Some(run) => run.0.push_str(&c),
                    None => inline.push((c, None)),
                }
            }
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                "v" => in_v = false,
                "t" => in_t = false,
                "r" => {
                    if let Some(r) = run.take() {
                        inline.push(r);
                    }
                }
                "c" => {
                    if let Some((pos, style, kind)) = cell.take() {
                        if has_value {
                            mark_cell(&mut marks, pos, style, &kind, &value, &inline, xfs, rich);
                            if row_hidden {
                                marks.hidden_rows.insert(pos.0);
                            }
                        }
                    }
                }
                _ => {}
            },
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    marks
}

#[allow(clippy::too_many_arguments)]
fn mark_cell(
    marks: &mut Marks,
    pos: (u32, u32),
    style: usize,
    kind: &str,
    value: &str,
    inline: &Runs,
    xfs: &[Xf],
    rich: &BTreeMap<usize, Runs>,
) {
    let xf = xfs.get(style);
    let cell_strike = xf.is_some_and(|x| x.strike);
    let runs = match kind {
        "s" => value
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|i| rich.get(&i)),
        "inlineStr" if inline.iter().any(|(_, s)| s.is_some()) => Some(inline),
        _ => None,
    };
    let struck = match runs {
        Some(runs) => struck_runs(runs, cell_strike),
        None => cell_strike.then_some(Struck::Whole),
    };
    if let Some(s) = struck {
        marks.struck.insert(pos, s);
    }
    if matches!(kind, "" | "n") {
        if let Some(code) = xf.and_then(|x| x.format.clone()) {
            marks.formats.insert(pos, code);
        }
    }
}

/// What a strikethrough in these runs removed, if anything.
fn struck_runs(runs: &Runs, cell_strike: bool) -> Option<Struck> {
    let (mut struck, mut kept) = (String::new(), String::new());
    for (text, strike) in runs {
        if strike.unwrap_or(cell_strike) {
            struck.push_str(text);
        } else {
            kept.push_str(text);
        }
    }
    if struck.trim().is_empty() {
        None
    } else if kept.trim().is_empty() {
        Some(Struck::Whole)
    } else {
        Some(Struck::Runs { struck, kept })
    }
}

fn read_comments(xml: &str) -> BTreeMap<(u32, u32), String> {
    let mut out = BTreeMap::new();
    let mut reader = Reader::from_str(xml);
    let mut authors: Vec<String> = Vec::new();
    let mut in_author = false;
    let mut current: Option<((u32, u32), usize)> = None;
    let mut text = String::new();
    let mut in_t = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => match e.local_name().as_ref() {
                "author" => {
                    in_author = true;
                    authors.push(String::new());
                }
                "comment" => {
                    text.clear();
                    let author = attr(&e, "authorId")
                        .and_then(|a| a.parse().ok())
                        .unwrap_or(usize::MAX);
                    current = attr(&e, "ref")
                        .and_then(|r| parse_ref(&r))
                        .map(|p| (p, author));
                }
                "t" => in_t = current.is_some(),
                _ => {}
            },
            Ok(Event::Text(t)) if in_author || in_t => {
                let piece = t.xml10_content();
                if in_author {
                    if let Some(a) = authors.last_mut() {
                        push_capped(a, &piece);
                    }
                } else {
                    push_capped(&mut text, &piece);
                }
            }
            Ok(Event::GeneralRef(r)) if in_t => push_capped(&mut text, &resolve_ref(&r)),
            Ok(Event::End(e)) => match e.local_name().as_ref() {
                "author" => in_author = false,
                "t" => in_t = false,
                "comment" => {
                    if let Some((pos, author)) = current.take() {
                        let author = authors.get(author).map(|a| a.trim()).unwrap_or("");
                        let mut body = text.trim().to_string();
                        // Excel starts a note with "Author:" on its own line.
                        if !author.is_empty() {
                            if let Some(rest) = body.strip_prefix(&format!("{author}:")) {
                                body = rest.trim().to_string();
                            }
                        }
                        if !body.is_empty() && out.len() < MAX_NOTES {
                            out.insert(pos, body);
                        }
                    }
                }
                _ => {}
            },
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    out
}

fn push_capped(s: &mut String, piece: &str) {
    let have = s.chars().count();
    if have >= MAX_NOTE_CHARS {
        return;
    }
    let room = MAX_NOTE_CHARS - have;
    s.extend(piece.chars().take(room));
    if piece.chars().count() > room {
        s.push('…');
    }
}

/// What a number format does to a number, besides the number itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Display {
    /// Text the format prints before and after the number.
    pub prefix: String,
    pub suffix: String,
    /// Shown ×100 with `%`.
    pub percent: bool,
    /// Shown ÷1000 per trailing comma (`0,`).
    pub thousands: u32,
    /// The number is shown at all (a section of only text, `"无"`, is not).
    pub number: bool,
}

impl Display {
    /// The value as the cell shows it (rounding left aside).
    pub fn show(&self, value: f64) -> String {
        let mut v = value;
        if self.percent {
            v *= 100.0;
        }
        for _ in 0..self.thousands {
            v /= 1000.0;
        }
        let number = super::text::decimal_from_f64(v)
            .map(|d| d.round_dp(10).normalize().to_string())
            .unwrap_or_else(|| v.to_string());
        let percent = if self.percent { "%" } else { "" };
        if !self.number {
            return format!("{}{}", self.prefix, self.suffix);
        }
        format!("{}{number}{percent}{}", self.prefix, self.suffix)
    }

    /// Prints only the number (with digits or separators) as it is.
    pub fn is_plain(&self) -> bool {
        self.number
            && !self.percent
            && self.thousands == 0
            && self.prefix.is_empty()
            && self.suffix.is_empty()
    }
}

/// Whether a format code prints something besides the number: text, a
/// percentage, or a scaled value (date formats are calamine's).
fn format_matters(code: &str) -> bool {
    (0..3).any(|i| display(code, i).is_some_and(|d| !d.is_plain()))
}

/// The section of a format code that applies to `value`.
pub fn display_for(code: &str, value: f64) -> Option<Display> {
    let sections = split_sections(code).len();
    let index = match (value, sections) {
        (v, n) if v < 0.0 && n >= 2 => 1,
        (v, n) if v == 0.0 && n >= 3 => 2,
        _ => 0,
    };
    display(code, index)
}

fn split_sections(code: &str) -> Vec<String> {
    let mut sections = vec![String::new()];
    let mut quoted = false;
    let mut escaped = false;
    for c in code.chars() {
        let last = sections.last_mut().expect("one section");
        if escaped {
            last.push(c);
            escaped = false;
            continue;
        }
        match c {
            '"' => {
                quoted = !quoted;
                last.push(c);
            }
            '\\' if !quoted => {
                escaped = true;
                last.push(c);
            }
            ';' if !quoted => sections.push(String::new()),
            _ => last.push(c),
        }
    }
    sections
}

/// What section `index` of a format prints; None for date/time and text
/// (`@`) sections, and for sections that are absent.
fn display(code: &str, index: usize) -> Option<Display> {
    let sections = split_sections(code);
    let section = sections.get(index)?;
    let mut d = Display {
        prefix: String::new(),
        suffix: String::new(),
        percent: false,
        thousands: 0,
        number: false,
    };
    let mut seen_digit = false;
    let mut trailing_commas = 0u32;
    let mut chars = section.chars().peekable();
    let push = |d: &mut Display, seen: bool, s: &str| {
        if seen {
            d.suffix.push_str(s);
        } else {
            d.prefix.push_str(s);
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut lit = String::new();
                for q in chars.by_ref() {
                    if q == '"' {
                        break;
                    }
                    lit.push(q);
                }
                push(&mut d, seen_digit, &lit);
                trailing_commas = 0;
            }
            '\\' => {
                if let Some(q) = chars.next() {
                    push(&mut d, seen_digit, &q.to_string());
                }
                trailing_commas = 0;
            }
            '[' => {
                // Colour, condition or locale: `[Red]`, `[>100]`, `[$-804]`;
                // a currency symbol in `[$¥-804]` is printed.
                let mut inner = String::new();
                for q in chars.by_ref() {
                    if q == ']' {
                        break;
                    }
                    inner.push(q);
                }
                if let Some(sym) = inner.strip_prefix('$') {
                    let sym = sym.split('-').next().unwrap_or("");
                    push(&mut d, seen_digit, sym);
                }
            }
            '_' | '*' => {
                chars.next();
            }
            '0' | '#' | '?' => {
                seen_digit = true;
                trailing_commas = 0;
            }
            '.' => {}
            ',' => {
                if seen_digit {
                    trailing_commas += 1;
                }
            }
            '%' => {
                d.percent = true;
                trailing_commas = 0;
            }
            '@' => return None,
            'y' | 'Y' | 'm' | 'M' | 'd' | 'D' | 'h' | 'H' | 's' | 'S' => return None,
            'e' | 'E' => {
                // Scientific: `0.00E+00`.
                if matches!(chars.peek(), Some('+' | '-')) {
                    chars.next();
                } else {
                    push(&mut d, seen_digit, &c.to_string());
                }
            }
            'G' | 'g' if section[..].to_ascii_lowercase().contains("general") => {
                // `General`: skip the word.
                for _ in 0..6 {
                    chars.next();
                }
                seen_digit = true;
            }
            ' ' | '(' | ')' | '-' | '+' | ':' | '$' => {
                // Printed as is, but carry no meaning for a quantity.
                trailing_commas = 0;
            }
            other => {
                push(&mut d, seen_digit, &other.to_string());
                trailing_commas = 0;
            }
        }
    }
    d.thousands = trailing_commas;
    d.number = seen_digit;
    d.prefix = d.prefix.trim().to_string();
    d.suffix = d.suffix.trim().to_string();
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(code: &str, v: f64) -> Option<String> {
        display_for(code, v)
            .filter(|d| !d.is_plain())
            .map(|d| d.show(v))
    }

    #[test]
    fn formats_that_print_something() {
        assert_eq!(shown("0\"TB\"", 2.0).as_deref(), Some("2TB"));
        assert_eq!(shown("0 \"TB\"", 2.0).as_deref(), Some("2TB"));
        assert_eq!(shown("#,##0\"台\"", 3.0).as_deref(), Some("3台"));
        assert_eq!(shown("0\\T\\B", 2.0).as_deref(), Some("2TB"));
        assert_eq!(shown("0%", 0.5).as_deref(), Some("50%"));
        assert_eq!(shown("0.00%", 0.125).as_deref(), Some("12.5%"));
        assert_eq!(shown("0,", 2000.0).as_deref(), Some("2"));
        assert_eq!(shown("[$¥-804]#,##0", 5.0).as_deref(), Some("¥5"));
        assert_eq!(shown("0;-0;\"无\"", 0.0).as_deref(), Some("无"));
        assert_eq!(shown("0;-0;\"无\"", 4.0), None);
        for plain in [
            "0",
            "#,##0",
            "0.00",
            "General",
            "0_ ",
            "#,##0_);(#,##0)",
            "[Red]0",
        ] {
            assert_eq!(shown(plain, 12.0), None, "{plain}");
        }
        assert!(display_for("yyyy-mm-dd", 45000.0).is_none());
        assert!(display_for("@", 1.0).is_none());
        assert!(format_matters("0\"GB\""));
        assert!(!format_matters("0.00"));
    }

    #[test]
    fn references_and_paths() {
        assert_eq!(parse_ref("A1"), Some((0, 0)));
        assert_eq!(parse_ref("AB12"), Some((11, 27)));
        assert_eq!(parse_ref("A0"), None);
        assert_eq!(
            resolve("xl/worksheets", "../comments1.xml"),
            "xl/comments1.xml"
        );
        assert_eq!(
            resolve("xl", "worksheets/sheet1.xml"),
            "xl/worksheets/sheet1.xml"
        );
        assert_eq!(
            resolve("xl", "/xl/worksheets/sheet2.xml"),
            "xl/worksheets/sheet2.xml"
        );
    }

    #[test]
    fn struck_runs_of_one_cell() {
        let runs: Runs = vec![("8".into(), Some(true)), ("16".into(), Some(false))];
        assert_eq!(
            struck_runs(&runs, false),
            Some(Struck::Runs {
                struck: "8".into(),
                kept: "16".into()
            })
        );
        let runs: Runs = vec![("8".into(), Some(true)), (" ".into(), None)];
        assert_eq!(struck_runs(&runs, false), Some(Struck::Whole));
        let runs: Runs = vec![("8".into(), Some(false))];
        assert_eq!(struck_runs(&runs, false), None);
        let runs: Runs = vec![("8".into(), None), ("16".into(), Some(false))];
        assert_eq!(
            struck_runs(&runs, true),
            Some(Struck::Runs {
                struck: "8".into(),
                kept: "16".into()
            })
        );
    }

    #[test]
    fn sheet_marks() {
        let styles = r#"<styleSheet><numFmts count="1"><numFmt numFmtId="164" formatCode="0&quot;TB&quot;"/></numFmts>
<fonts count="2"><font><sz val="11"/></font><font><strike/><sz val="11"/></font></fonts>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="1"/></cellStyleXfs>
<cellXfs count="3"><xf numFmtId="0" fontId="0"/><xf numFmtId="0" fontId="1"/><xf numFmtId="164" fontId="0"/></cellXfs></styleSheet>"#;
        let xfs = read_styles(styles);
        assert_eq!(xfs.len(), 3);
        assert!(!xfs[0].strike && xfs[1].strike);
        assert_eq!(xfs[2].format.as_deref(), Some("0\"TB\""));
        let strings = r#"<sst><si><t>plain</t></si><si><r><rPr><strike/></rPr><t>8</t></r><r><rPr><sz val="11"/></rPr><t>16</t></r></si></sst>"#;
        let rich = read_rich_strings(strings);
        assert_eq!(rich.len(), 1);
        assert!(rich.contains_key(&1));
        let sheet = r#"<worksheet><cols><col min="3" max="4" hidden="1" width="0"/></cols><sheetData>
<row r="1"><c r="A1" s="1"><v>8</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" s="2"><v>2</v></c></row>
<row r="2" hidden="1"><c r="A2"><v>5</v></c></row><row r="3" hidden="1"><c r="A3" s="1"/></row></sheetData></worksheet>"#;
        let marks = read_sheet(sheet, &xfs, &rich);
        assert_eq!(marks.struck.get(&(0, 0)), Some(&Struck::Whole));
        assert!(matches!(
            marks.struck.get(&(0, 1)),
            Some(Struck::Runs { .. })
        ));
        assert_eq!(
            marks.formats.get(&(0, 2)).map(String::as_str),
            Some("0\"TB\"")
        );
        assert_eq!(
            marks.hidden_rows.iter().copied().collect::<Vec<_>>(),
            vec![1]
        );
        assert_eq!(marks.hidden_cols, vec![(2, 3)]);
        assert!(marks.is_hidden((0, 3)) && !marks.is_hidden((0, 4)));
        let comments = r#"<comments><authors><author>张三</author></authors><commentList><comment ref="B2" authorId="0"><text><r><t>张三:</t></r><r><t xml:space="preserve">
此行作废</t></r></text></comment></commentList></comments>"#;
        let notes = read_comments(comments);
        assert_eq!(notes.get(&(1, 1)).map(String::as_str), Some("此行作废"));
    }
}
