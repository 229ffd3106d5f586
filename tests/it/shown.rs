//! Issue 18: what the sheet shows is what zwyun reads. Workbooks written
//! with formatting (strikethrough, number formats, hidden rows, notes, the
//! 1904 date system), some saved again by LibreOffice; each example of the
//! issue is a test named for what it shows.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use rust_xlsxwriter::{Color, DocProperties, ExcelDateTime, Format, Formula, Note, Workbook};
use serde_json::Value;

use crate::common::*;

/// A form with formatting: per-cell formats, rich-text cells (runs with
/// strikethrough or not), hidden rows and columns, notes.
#[derive(Clone)]
pub struct Styled {
    pub form: Form,
    pub formats: Vec<(String, Format)>,
    /// Cell → runs (text, struck).
    pub rich: Vec<(String, Vec<(String, bool)>)>,
    /// 1-based rows.
    pub hidden_rows: Vec<u32>,
    /// Zero-based columns.
    pub hidden_cols: Vec<u16>,
    pub notes: Vec<(String, String)>,
    pub widths: Vec<(u16, f64)>,
    /// Ask for a recalculation on load, as programs do (rust_xlsxwriter's
    /// default) even when results are saved.
    pub full_calc: bool,
}

impl Styled {
    pub fn new(form: Form) -> Styled {
        Styled {
            form,
            formats: Vec::new(),
            rich: Vec::new(),
            hidden_rows: Vec::new(),
            hidden_cols: Vec::new(),
            notes: Vec::new(),
            widths: Vec::new(),
            full_calc: false,
        }
    }

    pub fn format(&mut self, addr: &str, f: Format) -> &mut Self {
        self.formats.retain(|(a, _)| a != addr);
        self.formats.push((addr.to_string(), f));
        self
    }

    /// The same format on each cell of a 1-based row that holds a value.
    pub fn format_row(&mut self, row: u32, f: Format) -> &mut Self {
        let addrs: Vec<String> = self
            .form
            .cells
            .iter()
            .map(|(a, _)| a.clone())
            .filter(|a| a.trim_start_matches(|c: char| c.is_ascii_alphabetic()) == row.to_string())
            .collect();
        for a in addrs {
            self.format(&a, f.clone());
        }
        self
    }

    pub fn write(&self, path: &Path) {
        let mut wb = Workbook::new();
        // A fixed saved date, so that no reading depends on today's.
        let date = ExcelDateTime::from_ymd(2026, 11, 20).unwrap();
        wb.set_properties(&DocProperties::new().set_creation_datetime(&date));
        let with_results = self
            .form
            .cells
            .iter()
            .any(|(_, c)| matches!(c, Cell::FormulaWithValue(..)));
        if with_results && !self.full_calc {
            wb.set_calculation_mode(rust_xlsxwriter::CalculationMode::Manual);
        }
        let ws = wb.add_worksheet();
        ws.set_name(&self.form.sheet).unwrap();
        let fmt = |addr: &str| {
            self.formats
                .iter()
                .find(|(a, _)| a == addr)
                .map(|(_, f)| f.clone())
                .unwrap_or_default()
        };
        for m in &self.form.merges {
            let (a, b) = m.split_once(':').unwrap();
            let ((r1, c1), (r2, c2)) = (pos(a), pos(b));
            let text = match self.form.get(a) {
                Some(Cell::Text(t)) => t.clone(),
                _ => String::new(),
            };
            ws.merge_range(r1, c1, r2, c2, &text, &fmt(a)).unwrap();
        }
        for (addr, v) in &self.form.cells {
            let (r, c) = pos(addr);
            let f = fmt(addr);
            match v {
                Cell::Text(t) => ws.write_string_with_format(r, c, t, &f).map(|_| ()),
                Cell::Num(n) => ws.write_number_with_format(r, c, *n, &f).map(|_| ()),
                Cell::Formula(x) => ws
                    .write_formula_with_format(r, c, Formula::new(x), &f)
                    .map(|_| ()),
                Cell::FormulaWithValue(x, v) => ws
                    .write_formula_with_format(r, c, Formula::new(x).set_result(v.to_string()), &f)
                    .map(|_| ()),
            }
            .unwrap();
        }
        let struck = Format::new().set_font_strikethrough();
        let plain = Format::new();
        for (addr, runs) in &self.rich {
            let (r, c) = pos(addr);
            let runs: Vec<(&Format, &str)> = runs
                .iter()
                .map(|(t, s)| (if *s { &struck } else { &plain }, t.as_str()))
                .collect();
            ws.write_rich_string(r, c, &runs).unwrap();
        }
        for &row in &self.hidden_rows {
            ws.set_row_hidden(row - 1).unwrap();
        }
        for &col in &self.hidden_cols {
            ws.set_column_hidden(col).unwrap();
        }
        for (addr, text) in &self.notes {
            let (r, c) = pos(addr);
            ws.insert_note(r, c, &Note::new(text).set_author("张三"))
                .unwrap();
        }
        for &(col, width) in &self.widths {
            ws.set_column_width(col, width).unwrap();
        }
        wb.save(path).unwrap();
    }
}

fn pos(a1: &str) -> (u32, u16) {
    let letters: String = a1.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let row: u32 = a1[letters.len()..].parse().unwrap();
    let col = letters.bytes().fold(0u32, |acc, b| {
        acc * 26 + (b.to_ascii_uppercase() - b'A' + 1) as u32
    });
    (row - 1, (col - 1) as u16)
}

fn read_path(env: &Env, path: &Path) -> Value {
    let out = env.run(&["read", "--format", "json", path.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("bad json {e}: {text}"))
}

pub fn read_styled(env: &Env, name: &str, s: &Styled) -> Value {
    let path = env.path(name);
    s.write(&path);
    read_path(env, &path)
}

fn read_form(env: &Env, form: &Form) -> Value {
    read_styled(env, "form.xlsx", &Styled::new(form.clone()))
}

fn has(v: &Value, code: &str) -> bool {
    codes(v).iter().any(|c| c == code)
}

fn message<'a>(v: &'a Value, code: &str) -> &'a str {
    error(v, code)["message"].as_str().unwrap()
}

fn strike() -> Format {
    Format::new().set_font_strikethrough()
}

/// Converts `file` with LibreOffice (private profile) to `ext` in `out`.
pub fn libreoffice(file: &Path, ext: &str, out: &Path) -> PathBuf {
    let profile = tempfile::tempdir().unwrap();
    let status = Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.path().display()
        ))
        .args(["--headless", "--convert-to", ext, "--outdir"])
        .arg(out)
        .arg(file)
        .output()
        .expect("LibreOffice (soffice) is installed");
    assert!(
        status.status.success(),
        "soffice: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
    let converted = out.join(format!("{stem}.{ext}"));
    assert!(converted.exists(), "{converted:?}");
    converted
}

/// LibreOffice is a Linux test dependency; under Wine the test is skipped.
fn skip_under_wine(test: &str) -> bool {
    if other_build().is_some() {
        eprintln!("{test}: skipped (LibreOffice is not run under Wine)");
        return true;
    }
    false
}

/// Replaces one part of an .xlsx package.
fn patch_part(path: &Path, part: &str, edit: impl Fn(String) -> String) {
    let bytes = std::fs::read(path).unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if name == part {
            data = edit(String::from_utf8(data).unwrap()).into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&data).unwrap();
    }
    std::fs::write(path, out.finish().unwrap().into_inner()).unwrap();
}

fn hosts(v: &Value) -> Vec<(u64, u64)> {
    v["data"]["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["cpu"].as_u64().unwrap(),
                h["data_disk_gb"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// 附件1 whose second host row is struck out and typed again below.
fn struck_row_replaced() -> Styled {
    let mut f = annex1();
    let replacement = [
        ("A19", Cell::from("云主机")),
        ("B19", Cell::from(32.0)),
        ("C19", Cell::from(64.0)),
        ("D19", Cell::from("麒麟V10")),
        ("E19", Cell::from(100.0)),
        ("F19", Cell::from(2000.0)),
        ("G19", Cell::from("政务外网")),
        ("H19", Cell::from(1.0)),
        ("I19", Cell::from("数据库服务器(改)")),
    ];
    for (a, c) in replacement {
        f.set(a, c);
    }
    let mut s = Styled::new(f);
    s.format_row(18, strike());
    s
}

#[test]
fn struck_out_host_row_is_not_a_host_and_its_replacement_is() {
    let env = Env::new();
    let v = read_styled(&env, "a.xlsx", &struck_row_replaced());
    assert_eq!(v["status"], "valid", "{v:#}");
    assert_eq!(hosts(&v), vec![(8, 500), (32, 2000)]);
    let cells = cells_of(&v, "cell.struck");
    assert!(
        cells.contains(&"A18") && cells.contains(&"B18"),
        "{cells:?}"
    );
    assert!(message(&v, "cell.struck").contains("划掉"), "{v:#}");
}

#[test]
fn struck_run_in_one_cell_reads_the_new_value_not_both_joined() {
    let env = Env::new();
    let mut s = Styled::new(annex1());
    s.rich
        .push(("B17".into(), vec![("8".into(), true), ("16".into(), false)]));
    let v = read_styled(&env, "a.xlsx", &s);
    assert_eq!(v["status"], "valid", "{v:#}");
    assert_eq!(hosts(&v)[0].0, 16, "not 816: {v:#}");
    let e = error(&v, "cell.struck");
    assert_eq!(e["cell"], "B17");
    let m = e["message"].as_str().unwrap();
    assert!(m.contains("“8”") && m.contains("“16”"), "{m}");
}

#[test]
fn struck_out_quantity_is_not_requested() {
    let env = Env::new();
    let mut s = Styled::new(annex1());
    s.format("E25", strike());
    let v = read_styled(&env, "a.xlsx", &s);
    assert!(v["data"]["services"].get("snapshot").is_none(), "{v:#}");
    assert_eq!(cells_of(&v, "cell.struck"), ["E25"]);
}

#[test]
fn numbers_separated_by_spaces_are_never_joined() {
    let env = Env::new();
    let mut f = annex1();
    f.set("B17", "8 16");
    let v = read_form(&env, &f);
    let e = error(&v, "field.type");
    assert_eq!(e["cell"], "B17");
    assert!(e["message"].as_str().unwrap().contains("8 16"), "{e}");
    assert_eq!(v["status"], "invalid");
}

#[test]
fn unit_printed_by_the_number_format_is_read_as_shown() {
    let env = Env::new();
    let mut s = Styled::new(annex1());
    // 2 shown as "2TB" in 数据盘(GB): 2048 GB, said as a conversion.
    s.form.set("F17", 2.0);
    s.format("F17", Format::new().set_num_format("0\"TB\""));
    // A unit printed that is the column's own: nothing to say.
    s.format("C17", Format::new().set_num_format("0\"GB\""));
    let v = read_styled(&env, "a.xlsx", &s);
    assert_eq!(v["status"], "valid", "{v:#}");
    assert_eq!(v["data"]["hosts"][0]["data_disk_gb"], 2048);
    assert_eq!(v["data"]["hosts"][0]["memory_gb"], 16);
    let e = error(&v, "unit.converted");
    assert_eq!(e["cell"], "F17");
    assert!(e["message"].as_str().unwrap().contains("2TB"), "{e}");
    assert!(!cells_of(&v, "unit.converted").contains(&"C17"));
}

#[test]
fn percentage_and_scaled_formats_are_flagged_at_the_cell() {
    let env = Env::new();
    let mut s = Styled::new(annex1());
    s.form.set("H17", 0.02);
    s.format("H17", Format::new().set_num_format("0%"));
    s.form.set("F18", 2_000_000.0);
    s.format("F18", Format::new().set_num_format("#,##0,"));
    let v = read_styled(&env, "a.xlsx", &s);
    assert_eq!(v["status"], "invalid");
    let shown = cells_of(&v, "cell.number_format");
    assert_eq!(shown, ["H17", "F18"], "{v:#}");
    assert!(message(&v, "cell.number_format").contains("2%"));
    // The percentage is no count: an error at the cell.
    assert!(codes(&v).iter().any(|c| c.starts_with("unit.")), "{v:#}");
}

#[test]
fn note_on_a_cell_is_shown_there_and_a_void_note_is_an_error() {
    let env = Env::new();
    let mut s = Styled::new(annex1());
    s.notes.push(("C17".into(), "内存按厂商建议配置".into()));
    let v = read_styled(&env, "a.xlsx", &s);
    assert_eq!(v["status"], "valid", "{v:#}");
    let e = error(&v, "cell.note");
    assert_eq!(e["cell"], "C17");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("内存按厂商建议配置"));

    let mut s = struck_row_replaced();
    s.formats.clear();
    s.notes.push(("A18".into(), "此行作废,以第19行为准".into()));
    let v = read_styled(&env, "b.xlsx", &s);
    assert_eq!(v["status"], "invalid");
    let e = error(&v, "cell.note_void");
    assert_eq!(e["cell"], "A18");
    assert!(e["message"].as_str().unwrap().contains("此行作废"));
}

#[test]
fn hidden_row_with_an_old_host_is_an_error_hidden_printed_rows_are_not() {
    let env = Env::new();
    let mut s = struck_row_replaced();
    s.formats.clear();
    s.hidden_rows.push(18);
    let v = read_styled(&env, "a.xlsx", &s);
    assert_eq!(v["status"], "invalid");
    let e = error(&v, "cell.hidden");
    assert_eq!(e["cell"], "A18");
    assert!(e["message"].as_str().unwrap().contains("第 18 行是隐藏行"));

    // Service rows the unit does not need, hidden: only printed names.
    let mut s = Styled::new(annex1());
    s.hidden_rows.extend([36, 37, 38]);
    let v = read_styled(&env, "b.xlsx", &s);
    assert_eq!(v["status"], "valid", "{v:#}");
    assert!(!has(&v, "cell.hidden"));

    // A hidden column with values read.
    let mut s = Styled::new(annex1());
    s.hidden_cols.push(8);
    let v = read_styled(&env, "c.xlsx", &s);
    assert!(cells_of(&v, "cell.hidden").contains(&"I17"), "{v:#}");
}

/// Excel's serial of a date in the 1900 system.
fn serial_1900(y: i32, m: u32, d: u32) -> f64 {
    let base = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap();
    (chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap() - base).num_days() as f64
}

#[test]
fn dates_of_a_1904_workbook_read_right() {
    let env = Env::new();
    let mut s = Styled::new(annex1());
    s.form.set("I2", serial_1900(2026, 11, 20) - 1462.0);
    s.format("I2", Format::new().set_num_format("yyyy-mm-dd"));
    let path = env.path("mac.xlsx");
    s.write(&path);
    patch_part(&path, "xl/workbook.xml", |xml| {
        xml.replacen("<workbookPr", "<workbookPr date1904=\"1\"", 1)
    });
    let v = read_path(&env, &path);
    assert_eq!(v["data"]["fields"]["date"], "2026-11-20", "{v:#}");
    assert_eq!(v["status"], "valid", "{v:#}");
}

#[test]
fn formula_noise_reads_as_the_integer_shown() {
    let env = Env::new();
    let mut f = annex1();
    f.set(
        "F17",
        Cell::FormulaWithValue("=F18/4".into(), 500.00000000000006),
    );
    let v = read_form(&env, &f);
    assert_eq!(v["status"], "valid", "{v:#}");
    assert_eq!(v["data"]["hosts"][0]["data_disk_gb"], 500);
}

#[test]
fn full_calc_on_load_with_saved_results_uses_them() {
    let env = Env::new();
    let mut s = Styled::new(annex1());
    s.form
        .set("B17", Cell::FormulaWithValue("=2*4".into(), 8.0));
    s.full_calc = true;
    let v = read_styled(&env, "a.xlsx", &s);
    assert_eq!(v["status"], "valid", "{v:#}");
    assert_eq!(v["data"]["hosts"][0]["cpu"], 8);
    // The 0 programs save without computing is still not trusted.
    let mut s = Styled::new(annex1());
    s.form.set("B17", Cell::Formula("=2*4".into()));
    s.full_calc = true;
    let v = read_styled(&env, "b.xlsx", &s);
    assert_eq!(cells_of(&v, "field.formula_uncached"), ["B17"]);
}

#[test]
fn form_date_far_from_the_saved_date_is_flagged() {
    let env = Env::new();
    let mut f = annex1();
    f.set("I2", "2062-11-20");
    let v = read_form(&env, &f);
    let e = error(&v, "field.date_far");
    assert_eq!(e["cell"], "I2");
    assert!(e["message"].as_str().unwrap().contains("2026-11-20"), "{e}");
    let mut f = annex1();
    f.set("I2", "2027-01-05");
    assert!(!has(&read_form(&env, &f), "field.date_far"));
}

#[test]
fn change_listing_only_changed_rows_names_each_omitted_row() {
    let env = Env::new();
    env.approve_example();
    // 变更后 lists only the database server (row 15): the application
    // server (现状 row 9) is not listed.
    let mut f = annex4();
    for col in ["A", "B", "C", "D", "E", "F", "G", "H", "I"] {
        let below = f.get(&format!("{col}15")).cloned().unwrap();
        f.set(&format!("{col}14"), below);
        f.clear(&format!("{col}15"));
    }
    let v = read_form(&env, &f);
    assert_eq!(v["status"], "invalid", "{v:#}");
    let e = error(&v, "change.host_unlisted");
    assert_eq!(e["cell"], "A9");
    assert!(
        e["message"].as_str().unwrap().contains("现状第 9 行"),
        "{e}"
    );
    assert!(e["hint"].as_str().unwrap().contains("照抄"), "{e}");
    // The 说明 says the server is given back: a warning.
    f.set("B23", "数据库数据盘扩容400GB,应用服务器回收。");
    let v = read_form(&env, &f);
    let e = error(&v, "change.host_omitted");
    assert_eq!(e["severity"], "warning");
    assert!(e["message"].as_str().unwrap().contains("将视为回收"), "{e}");
    assert!(!has(&v, "change.host_unlisted"));
    // The full configuration listed: nothing to say.
    let v = read_form(&env, &annex4());
    assert!(
        !has(&v, "change.host_omitted") && !has(&v, "change.host_unlisted"),
        "{v:#}"
    );
}

#[test]
fn common_entries_read_with_a_warning_where_not_literal() {
    let env = Env::new();
    let mut f = annex1();
    f.set("G10", "约5000人")
        .set("B12", "3级")
        .set("G12", "涉密：否")
        .set("B3", "上海市松江区\u{200B}某某局\u{FEFF}")
        .set("B4", "SJ－2026\u{2013}017\u{2060}")
        .set("F18", "无");
    let v = read_form(&env, &f);
    assert_eq!(v["status"], "valid", "{v:#}");
    let fields = &v["data"]["fields"];
    assert_eq!(fields["user_count"], 5000);
    assert_eq!(fields["level"], "第三级");
    assert_eq!(fields["classified"], "否");
    assert_eq!(fields["unit"], "上海市松江区某某局");
    assert_eq!(fields["project_code"], "SJ-2026-017");
    assert_eq!(v["data"]["hosts"][1]["data_disk_gb"], 0);
    assert_eq!(cells_of(&v, "field.approximate"), ["G10"]);
    assert_eq!(cells_of(&v, "field.none_as_empty"), ["F18"]);
    // Other ways of writing the same.
    for (cell, typed, key, want) in [
        ("G10", "5000人左右", "user_count", "5000"),
        ("B12", "第3级", "level", "第三级"),
        ("B12", "等保3级", "level", "第三级"),
        ("B12", "等保级别:第三级", "level", "第三级"),
        (
            "B4",
            "SJ\u{2014}2026\u{2014}017",
            "project_code",
            "SJ-2026-017",
        ),
    ] {
        let mut f = annex1();
        f.set(cell, typed);
        let v = read_form(&env, &f);
        assert_eq!(v["status"], "valid", "{typed}: {v:#}");
        assert_eq!(
            v["data"]["fields"][key].to_string().trim_matches('"'),
            want,
            "{typed}"
        );
    }
    let mut f = annex1();
    f.set("F17", "/");
    let v = read_form(&env, &f);
    assert_eq!(v["data"]["hosts"][0]["data_disk_gb"], 0, "{v:#}");
    assert_eq!(cells_of(&v, "field.none_as_empty"), ["F17"]);
    // `无` where a number is required: asked for.
    let mut f = annex1();
    f.set("B17", "无");
    let v = read_form(&env, &f);
    assert_eq!(cells_of(&v, "field.required"), ["B17"]);
    // `约` where the figure is a quantity is no number.
    let mut f = annex1();
    f.set("C17", "约16");
    let v = read_form(&env, &f);
    assert_eq!(v["status"], "invalid", "{v:#}");
}

/// Formatting that carries no meaning never changes the reading; the
/// formatting that does always shows.
#[test]
fn formatting_only_changes_keep_the_reading_meaningful_ones_change_it() {
    let env = Env::new();
    let base = read_styled(&env, "base.xlsx", &Styled::new(annex1()));
    assert_eq!(base["status"], "valid", "{base:#}");
    let same = |v: &Value| v["data"] == base["data"] && codes(v) == codes(&base);
    let bold = Format::new().set_bold();
    let red = Format::new()
        .set_font_color(Color::Red)
        .set_background_color(Color::Yellow);
    let font = Format::new()
        .set_font_name("宋体")
        .set_font_size(9)
        .set_italic();
    let border = Format::new().set_border(rust_xlsxwriter::FormatBorder::Thin);
    let underline = Format::new().set_underline(rust_xlsxwriter::FormatUnderline::Single);
    let plain_number = Format::new().set_num_format("#,##0");
    let decimals = Format::new().set_num_format("0.00");
    let mut preserved: Vec<(String, Styled)> = Vec::new();
    for (name, format) in [
        ("bold", bold),
        ("colours", red),
        ("font", font),
        ("border", border),
        ("underline", underline),
        ("thousands", plain_number),
        ("decimals", decimals),
    ] {
        for row in [3, 10, 12, 17, 18, 22, 25, 30] {
            let mut s = Styled::new(annex1());
            s.format_row(row, format.clone());
            preserved.push((format!("{name} row {row}"), s));
        }
    }
    let mut wide = Styled::new(annex1());
    wide.widths = (0..10).map(|c| (c, 4.0 + c as f64 * 3.0)).collect();
    preserved.push(("widths".into(), wide));
    // A note-free rich string without strikethrough: the text itself.
    let mut rich = Styled::new(annex1());
    rich.rich.push((
        "B3".into(),
        vec![("上海市松江区".into(), false), ("某某局".into(), false)],
    ));
    preserved.push(("rich text".into(), rich));
    // Empty rows hidden (nothing read from them).
    let mut hidden = Styled::new(annex1());
    hidden.hidden_rows.extend([19, 20]);
    preserved.push(("empty rows hidden".into(), hidden));
    for (i, (name, s)) in preserved.iter().enumerate() {
        let v = read_styled(&env, &format!("p{i}.xlsx"), s);
        assert!(same(&v), "{name}: {v:#}");
    }

    let mut changed: Vec<(String, Styled)> = Vec::new();
    for cell in ["B17", "C18", "F17", "H18", "E22", "E28", "G10", "B5"] {
        let mut s = Styled::new(annex1());
        s.format(cell, strike());
        changed.push((format!("{cell} struck"), s));
    }
    for row in [17, 18] {
        let mut s = Styled::new(annex1());
        s.hidden_rows.push(row);
        changed.push((format!("row {row} hidden"), s));
    }
    for (cell, code) in [
        ("F17", "0\"TB\""),
        ("E23", "0\"TB\""),
        ("C17", "0\"T\""),
        ("H17", "0%"),
        ("G10", "0\"万人\""),
        ("B17", "0\"台\""),
    ] {
        let mut s = Styled::new(annex1());
        s.format(cell, Format::new().set_num_format(code));
        changed.push((format!("{cell} format {code}"), s));
    }
    for (cell, runs) in [
        ("B17", vec![("8", true), ("16", false)]),
        ("E23", vec![("3000", true), ("2000", false)]),
        ("B5", vec![("区级", true), ("市级", false)]),
    ] {
        let mut s = Styled::new(annex1());
        let runs = runs.iter().map(|(t, k)| (t.to_string(), *k)).collect();
        s.rich.push((cell.into(), runs));
        changed.push((format!("{cell} rich {cell}"), s));
    }
    let mut note = Styled::new(annex1());
    note.notes.push(("H18".into(), "此行作废".into()));
    changed.push(("void note".into(), note));
    for (i, (name, s)) in changed.iter().enumerate() {
        let v = read_styled(&env, &format!("c{i}.xlsx"), s);
        assert!(!same(&v), "{name} read as the original in silence: {v:#}");
    }
}

/// A LibreOffice round trip keeps the reading (.xlsx and .xls); the
/// strikethrough LibreOffice keeps in .xlsx still shows.
#[test]
fn libreoffice_round_trip_keeps_the_reading() {
    if skip_under_wine("libreoffice_round_trip_keeps_the_reading") {
        return;
    }
    let env = Env::new();
    let mut s = Styled::new(annex1());
    s.format_row(17, Format::new().set_bold().set_font_color(Color::Blue));
    let src = env.path("plain.xlsx");
    s.write(&src);
    let base = read_path(&env, &src);
    assert_eq!(base["status"], "valid", "{base:#}");
    // LibreOffice stamps today as the saved date: the date check is left
    // out of the comparison so that it never depends on today.
    let without_date = |v: &Value| -> Vec<String> {
        codes(v)
            .into_iter()
            .filter(|c| c != "field.date_far")
            .collect()
    };
    let out = env.path("lo");
    std::fs::create_dir_all(&out).unwrap();
    for ext in ["xlsx", "xls"] {
        let converted = libreoffice(&src, ext, &out);
        let v = read_path(&env, &converted);
        assert_eq!(v["data"], base["data"], "{ext}: {v:#}");
        assert_eq!(without_date(&v), codes(&base), "{ext}: {v:#}");
    }
    let struck = env.path("struck.xlsx");
    struck_row_replaced().write(&struck);
    let out = env.path("lo2");
    std::fs::create_dir_all(&out).unwrap();
    let converted = libreoffice(&struck, "xlsx", &out);
    let v = read_path(&env, &converted);
    assert_eq!(hosts(&v), vec![(8, 500), (32, 2000)], "{v:#}");
    assert!(has(&v, "cell.struck"));
    // An .xls keeps no strikethrough the reader can see: the struck row
    // is read as a host (the README says so, and asks for .xlsx).
    let converted = libreoffice(&struck, "xls", &out);
    let v = read_path(&env, &converted);
    assert_eq!(hosts(&v), vec![(8, 500), (16, 2000), (32, 2000)], "{v:#}");
    assert!(!has(&v, "cell.struck"));
}
