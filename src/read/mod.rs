//! Workbook bytes → sheets of cells (calamine), with the guards that keep a
//! hostile file within bounded memory and time.

pub mod fields;
pub mod form;
pub(crate) mod isolated;
pub mod locate;
mod marks;
mod shown;
pub mod side;
pub mod text;

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::Path;

use calamine::{Data, DataRef, Dimensions, Reader, Xls, Xlsx};

use crate::diag::Diagnostic;

pub use isolated::{child_main as xls_child_main, CHILD_ARG as XLS_CHILD_ARG};

/// Largest submission accepted, in bytes (a filled form is ~20 KB).
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;
/// Largest inflated size of one part of an .xlsx, and of all parts together.
pub(crate) const MAX_PART_BYTES: u64 = 64 * 1024 * 1024;
const MAX_TOTAL_BYTES: u64 = 128 * 1024 * 1024;
const MAX_PARTS: usize = 2_000;
/// Non-empty cells per sheet; a form has a few hundred.
pub const MAX_CELLS: usize = 50_000;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Value {
    Text(String),
    Number(f64),
    /// An Excel date cell, as its serial number.
    Date(f64),
    Bool(bool),
    Error(String),
    /// A formula whose result was never saved (a program wrote the file).
    UncachedFormula(String),
}

impl Value {
    /// The value as text, the way a person would read it in the cell.
    pub fn as_text(&self) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Number(f) => text::decimal_from_f64(*f)
                .map(|d| d.to_string())
                .unwrap_or_else(|| f.to_string()),
            Value::Date(f) => text::serial_text(*f),
            Value::Bool(b) => if *b { "是" } else { "否" }.to_string(),
            Value::Error(e) => e.clone(),
            Value::UncachedFormula(f) => format!("={f}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Sheet {
    pub name: String,
    /// Non-empty cells by zero-based (row, column), in reading order.
    pub cells: BTreeMap<(u32, u32), Value>,
    /// The label key (`text::label_key`) of every text cell, computed once.
    pub keys: BTreeMap<(u32, u32), String>,
    pub merges: Vec<Dimensions>,
    /// Hidden in the workbook (a form copy the unit hid is not read when a
    /// visible one exists).
    pub hidden: bool,
    /// What the sheet shows besides values (.xlsx form sheets only).
    pub marks: Option<Box<side::Marks>>,
    /// What reading as shown changed (struck values, number formats),
    /// placed at their cells.
    pub diags: Vec<Diagnostic>,
}

impl Sheet {
    pub fn new(name: String, cells: BTreeMap<(u32, u32), Value>, merges: Vec<Dimensions>) -> Sheet {
        let keys = cells
            .iter()
            .filter_map(|(&pos, v)| match v {
                Value::Text(t) => Some((pos, text::label_key(t))),
                _ => None,
            })
            .collect();
        Sheet {
            name,
            cells,
            keys,
            merges,
            hidden: false,
            marks: None,
            diags: Vec::new(),
        }
    }

    /// The label key of a cell ("" when it holds no text).
    pub fn key(&self, row: u32, col: u32) -> &str {
        self.keys.get(&(row, col)).map(String::as_str).unwrap_or("")
    }

    /// Label keys of one row, left to right.
    pub fn row_keys(&self, row: u32) -> impl Iterator<Item = (u32, &str)> {
        self.keys
            .range((row, 0)..=(row, u32::MAX))
            .map(|(&(_, c), k)| (c, k.as_str()))
    }

    pub fn get(&self, row: u32, col: u32) -> Option<&Value> {
        self.cells.get(&(row, col))
    }

    /// The text of a cell, empty when there is none.
    pub fn text(&self, row: u32, col: u32) -> String {
        self.get(row, col).map(Value::as_text).unwrap_or_default()
    }

    /// The last column covered by the cell at (row, col), through a merge.
    pub fn merge_end(&self, row: u32, col: u32) -> u32 {
        self.merges
            .iter()
            .find(|m| m.start == (row, col))
            .map(|m| m.end.1)
            .unwrap_or(col)
    }

    /// The last row covered by the cell at (row, col), through a merge.
    pub fn merge_bottom(&self, row: u32, col: u32) -> u32 {
        self.merges
            .iter()
            .find(|m| m.start == (row, col))
            .map(|m| m.end.0)
            .unwrap_or(row)
    }

    /// Cells of one row, left to right.
    pub fn row(&self, row: u32) -> impl Iterator<Item = (u32, &Value)> {
        self.cells
            .range((row, 0)..=(row, u32::MAX))
            .map(|(&(_, c), v)| (c, v))
    }

    pub fn last_row(&self) -> u32 {
        self.cells.keys().next_back().map(|k| k.0).unwrap_or(0)
    }
}

#[derive(Debug, Clone)]
pub struct Workbook {
    pub sheets: Vec<Sheet>,
    /// The date the workbook says it was last saved (.xlsx `docProps/core.xml`).
    pub saved: Option<chrono::NaiveDate>,
}

/// Reads a submission from disk, refusing what is not a sane workbook.
pub fn open(path: &Path, titles: &[String]) -> Result<Workbook, Diagnostic> {
    let size = std::fs::metadata(path)
        .map_err(|e| {
            Diagnostic::error(
                "file.io",
                format!("无法读取文件:{}", crate::oserror::reason(&e)),
            )
        })?
        .len();
    if size > MAX_FILE_BYTES {
        return Err(too_large(format!(
            "文件大小 {} MB,超过上限 {} MB",
            size / 1024 / 1024,
            MAX_FILE_BYTES / 1024 / 1024
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| {
        Diagnostic::error(
            "file.io",
            format!("无法读取文件:{}", crate::oserror::reason(&e)),
        )
    })?;
    parse(&bytes, titles)
}

/// Reads a workbook from its bytes (.xlsx or .xls, told by content).
/// `titles` are the label keys of the form titles: merged ranges are read
/// only for sheets that carry one.
pub fn parse(bytes: &[u8], titles: &[String]) -> Result<Workbook, Diagnostic> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(format!(
            "文件超过 {} MB",
            MAX_FILE_BYTES / 1024 / 1024
        )));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        let recalc = check_zip(bytes)?;
        guarded(|| read_xlsx(bytes, recalc, titles))
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        if is_encrypted_ole(bytes) {
            return Err(encrypted());
        }
        isolated::read_xls(bytes)
    } else if bytes.is_empty() {
        Err(Diagnostic::error("file.empty", "文件为空(0 字节)").hint("请重新保存表格后再提交"))
    } else {
        Err(not_workbook())
    }
}

thread_local! {
    /// Set while a third-party parser runs on submitted bytes.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs a parser on untrusted bytes: a panic inside it (a malformed file
/// can trip one) becomes `file.corrupt` for that file instead of ending
/// the run.
fn guarded<T>(parse: impl FnOnce() -> Result<T, Diagnostic>) -> Result<T, Diagnostic> {
    GUARDED.set(true);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse));
    GUARDED.set(false);
    result.unwrap_or_else(|payload| {
        let detail = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(corrupt(format!("读取器无法解析:{detail}")))
    })
}

/// Keeps the default panic report for real bugs, but stays quiet about
/// panics caught by `guarded` (they are reported as diagnostics).
pub fn install_panic_hook() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !GUARDED.get() {
            default(info);
        }
    }));
}

fn not_workbook() -> Diagnostic {
    Diagnostic::error("file.not_workbook", "文件不是 Excel 工作簿(.xlsx / .xls)")
        .hint("请用 Excel、WPS 或 LibreOffice 打开申请表,另存为 .xlsx 格式后重新提交")
}

fn encrypted() -> Diagnostic {
    Diagnostic::error("file.encrypted", "文件已加密(设置了打开密码),无法读取").hint(
        "请在 Excel/WPS 中取消文件密码(文件 → 信息 → 保护工作簿 → 用密码加密,清空密码)后重新提交",
    )
}

/// A damaged file; the reader library's own (English) words go to the
/// log (`-v`), only our Chinese detail reaches the unit.
fn corrupt(detail: impl std::fmt::Display) -> Diagnostic {
    let detail = detail.to_string();
    tracing::info!("file.corrupt: {detail}");
    let message = if detail.chars().any(|c| c.is_ascii_alphabetic()) {
        "文件已损坏或不完整,无法读取".to_string()
    } else {
        format!("文件已损坏或不完整,无法读取({detail})")
    };
    Diagnostic::error("file.corrupt", message).hint("文件可能在传输中被截断;请重新保存并重新发送")
}

/// A file of `size` bytes, over the limit, refused without being read.
pub fn too_large_file(size: u64) -> Diagnostic {
    too_large(format!(
        "文件大小 {} MB,超过上限 {} MB",
        size / 1024 / 1024,
        MAX_FILE_BYTES / 1024 / 1024
    ))
}

fn too_large(message: String) -> Diagnostic {
    Diagnostic::error("file.too_large", message)
        .hint("申请表只需填写表格本身;请删除多余内容,或使用下发的空白表格重新填写")
}

/// An Office file encrypted with a password is an OLE container holding an
/// `EncryptionInfo` stream, whatever its extension.
fn is_encrypted_ole(bytes: &[u8]) -> bool {
    let needle: Vec<u8> = "EncryptionInfo"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    bytes.windows(needle.len()).any(|w| w == needle.as_slice())
}

/// Inflates every part with a cap, so a zip bomb is refused after reading
/// at most the cap, whatever sizes its headers claim. Returns whether the
/// workbook asks for a full recalculation on load: then the values saved
/// with its formulas were never computed (programs write 0 or nothing).
fn check_zip(bytes: &[u8]) -> Result<bool, Diagnostic> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;
    if zip.len() > MAX_PARTS {
        return Err(too_large(format!("工作簿包含 {} 个部件,过多", zip.len())));
    }
    if zip.index_for_name("xl/workbook.xml").is_none() {
        return Err(not_workbook());
    }
    let mut total = 0u64;
    let mut sink = std::io::sink();
    let mut recalc = false;
    for i in 0..zip.len() {
        let entry = zip.by_index(i).map_err(|e| match e {
            zip::result::ZipError::UnsupportedArchive(m) if m.contains("encrypt") => encrypted(),
            other => corrupt(other),
        })?;
        let name = entry.name().map(|n| n.to_string()).unwrap_or_default();
        let mut limited = entry.take(MAX_PART_BYTES + 1);
        let inflated = if name == "xl/workbook.xml" {
            let mut xml = Vec::new();
            limited
                .read_to_end(&mut xml)
                .map_err(|e| corrupt(format!("{name}: {e}")))?;
            const FULL_CALC: &[u8] = b"fullCalcOnLoad=\"1\"";
            recalc = xml.windows(FULL_CALC.len()).any(|w| w == FULL_CALC);
            xml.len() as u64
        } else if name == "xl/sharedStrings.xml" {
            let mut head = [0u8; 1024];
            let n =
                read_up_to(&mut limited, &mut head).map_err(|e| corrupt(format!("{name}: {e}")))?;
            let rest = std::io::copy(&mut limited, &mut sink)
                .map_err(|e| corrupt(format!("{name}: {e}")))?;
            check_string_count(&head[..n], n as u64 + rest)?;
            n as u64 + rest
        } else {
            std::io::copy(&mut limited, &mut sink).map_err(|e| corrupt(format!("{name}: {e}")))?
        };
        total += inflated;
        if inflated > MAX_PART_BYTES || total > MAX_TOTAL_BYTES {
            return Err(too_large(format!(
                "工作簿解压后超过 {} MB(部件 {name}),疑似压缩炸弹,已拒收",
                MAX_TOTAL_BYTES / 1024 / 1024
            )));
        }
    }
    Ok(recalc)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// The reader reserves room for the `uniqueCount` the file declares; a
/// count its content cannot hold (each string takes at least `<si><t/></si>`)
/// is a damaged or hostile file.
fn check_string_count(head: &[u8], size: u64) -> Result<(), Diagnostic> {
    let text = String::from_utf8_lossy(head);
    const ATTR: &str = "uniqueCount=\"";
    let declared = text.find(ATTR).and_then(|i| {
        let rest = &text[i + ATTR.len()..];
        rest.split('"').next()?.parse::<u64>().ok()
    });
    match declared {
        Some(n) if n > size / 12 + 1 => Err(corrupt(format!("共享字符串表声明 {n} 项,与内容不符"))),
        _ => Ok(()),
    }
}

fn read_xlsx(bytes: &[u8], recalc: bool, titles: &[String]) -> Result<Workbook, Diagnostic> {
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(corrupt)?;
    let epoch = Epoch(wb.has_1904_epoch());
    // Opened at the first form sheet: other workbooks need none of it.
    let mut side: Option<Option<side::Side>> = None;
    let hidden = hidden_sheets(wb.sheets_metadata());
    let names = wb.sheet_names();
    let mut sheets = Vec::with_capacity(names.len());
    for name in names {
        let mut cells = BTreeMap::new();
        let mut reader = wb.worksheet_cells_reader(&name).map_err(corrupt)?;
        while let Some(cell) = reader.next_cell_with_formula().map_err(corrupt)? {
            let value = match cell.formula {
                // A workbook asking for recalculation on load: a formula's
                // saved value is trusted unless it is the 0 (or nothing)
                // programs write without computing.
                Some(f) if recalc && !f.is_empty() && is_placeholder(&cell.value) => {
                    Some(Value::UncachedFormula(f))
                }
                formula => value_of(cell.value, formula, epoch),
            };
            if let Some(v) = value {
                cells.insert(cell.pos, v);
                if cells.len() > MAX_CELLS {
                    return Err(too_large(format!(
                        "工作表“{name}”的非空单元格超过 {MAX_CELLS} 个,不是一份申请表"
                    )));
                }
            }
        }
        drop(reader);
        // Styles, notes and hidden rows, and merged ranges, need more
        // passes over the sheet's XML: only for sheets that carry a form
        // title.
        let mut sheet = Sheet::new(name, cells, Vec::new());
        sheet.hidden = hidden.contains(&sheet.name);
        let is_form = sheet.keys.values().any(|k| titles.contains(k));
        let opened = match is_form {
            true => side.get_or_insert_with(|| side::Side::open(bytes)).as_mut(),
            false => None,
        };
        if let Some(side) = opened {
            let marks = side.marks(&sheet.name);
            if !marks.struck.is_empty() || !marks.formats.is_empty() {
                let mut cells = std::mem::take(&mut sheet.cells);
                let diags = shown::apply(&sheet.name, &mut cells, &marks);
                let hidden = sheet.hidden;
                sheet = Sheet::new(std::mem::take(&mut sheet.name), cells, Vec::new());
                sheet.hidden = hidden;
                sheet.diags = diags;
            }
            sheet.marks = Some(Box::new(marks));
        }
        if is_form {
            sheet.merges = wb
                .merge_cells_by_sheet_name(&sheet.name)
                .unwrap_or_default();
        }
        sheets.push(sheet);
    }
    let saved = side.flatten().and_then(|s| s.settings.saved);
    Ok(Workbook { sheets, saved })
}

/// The workbook's date system: Mac Excel's 1904 system counts days from
/// 1904-01-01, four years and a day after the 1900 system's origin.
#[derive(Debug, Clone, Copy)]
struct Epoch(bool);

impl Epoch {
    /// A date serial in the 1900 system (times of day stay as they are).
    fn serial(self, serial: f64) -> f64 {
        if self.0 && serial >= 1.0 {
            serial + 1462.0
        } else {
            serial
        }
    }
}

/// The value programs save with a formula they did not compute.
fn is_placeholder(v: &DataRef<'_>) -> bool {
    match v {
        DataRef::Empty => true,
        DataRef::Int(i) => *i == 0,
        DataRef::Float(f) => *f == 0.0,
        DataRef::String(s) => s.trim().is_empty() || s.trim() == "0",
        DataRef::SharedString(s) => s.trim().is_empty() || s.trim() == "0",
        _ => false,
    }
}

fn value_of(v: DataRef<'_>, formula: Option<String>, epoch: Epoch) -> Option<Value> {
    let value = match v {
        DataRef::Empty => {
            return formula
                .filter(|f| !f.is_empty())
                .map(Value::UncachedFormula)
        }
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => {
            Value::Text(text::strip_invisible(&s))
        }
        DataRef::SharedString(s) => Value::Text(text::strip_invisible(s)),
        DataRef::Int(i) => Value::Number(i as f64),
        // A formula's saved result carries binary noise (`=E10*1.1` saved
        // as 110.00000000000001, shown as 110): the integer it shows.
        DataRef::Float(f) if formula.as_ref().is_some_and(|f| !f.is_empty()) => {
            let round = f.round();
            Value::Number(if (f - round).abs() < 1e-9 { round } else { f })
        }
        DataRef::Float(f) => Value::Number(f),
        DataRef::Bool(b) => Value::Bool(b),
        DataRef::DateTime(d) => Value::Date(epoch.serial(d.as_f64())),
        DataRef::Error(e) => Value::Error(e.to_string()),
    };
    match (&value, formula) {
        (Value::Text(s), Some(f)) if s.trim().is_empty() && !f.is_empty() => {
            Some(Value::UncachedFormula(f))
        }
        (Value::Text(s), _) if s.trim().is_empty() => None,
        _ => Some(value),
    }
}

/// Parses an .xls in this process: only ever called in the isolated child
/// (`isolated::child_main`).
/// Names of the sheets the unit hid (hidden or very hidden).
fn hidden_sheets(sheets: &[calamine::Sheet]) -> Vec<String> {
    sheets
        .iter()
        .filter(|s| s.visible != calamine::SheetVisible::Visible)
        .map(|s| s.name.clone())
        .collect()
}

fn read_xls_in_process(bytes: &[u8]) -> Result<Workbook, Diagnostic> {
    let mut wb: Xls<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).map_err(|e| match e {
            calamine::XlsError::Password => encrypted(),
            other => corrupt(other),
        })?;
    let hidden = hidden_sheets(wb.sheets_metadata());
    let epoch = Epoch(wb.has_1904_epoch());
    let mut sheets = Vec::new();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).map_err(corrupt)?;
        let formulas = wb.worksheet_formula(&name).ok();
        let merges = wb.merge_cells_by_sheet_name(&name).unwrap_or_default();
        let mut cells = BTreeMap::new();
        for (r, c, d) in range.used_cells() {
            let (row, col) = (
                r as u32 + range.start().map_or(0, |s| s.0),
                c as u32 + range.start().map_or(0, |s| s.1),
            );
            let formula = formulas
                .as_ref()
                .and_then(|f| f.get_value((row, col)).cloned());
            if let Some(v) = value_of(data_ref(d), formula, epoch) {
                cells.insert((row, col), v);
                if cells.len() > MAX_CELLS {
                    return Err(too_large(format!(
                        "工作表“{name}”的非空单元格超过 {MAX_CELLS} 个"
                    )));
                }
            }
        }
        let mut sheet = Sheet::new(name, cells, merges);
        sheet.hidden = hidden.contains(&sheet.name);
        sheets.push(sheet);
    }
    Ok(Workbook {
        sheets,
        saved: None,
    })
}

fn data_ref(d: &Data) -> DataRef<'_> {
    match d {
        Data::Int(i) => DataRef::Int(*i),
        Data::Float(f) => DataRef::Float(*f),
        Data::String(s) => DataRef::SharedString(s),
        Data::Bool(b) => DataRef::Bool(*b),
        Data::DateTime(d) => DataRef::DateTime(*d),
        Data::DateTimeIso(s) => DataRef::DateTimeIso(s.clone()),
        Data::DurationIso(s) => DataRef::DurationIso(s.clone()),
        Data::Error(e) => DataRef::Error(e.clone()),
        Data::Empty => DataRef::Empty,
    }
}
