//! Print checks: every kind of document zwyun writes, made with 1, 4 and 12
//! host classes where hosts appear, converted with LibreOffice in one batch
//! as a clerk would print it, and read back word by word
//! (`pdftotext -bbox-layout`): no word printed over another, none outside
//! the page, one-page forms on one page, every 附件5 criterion printed
//! whole, East Asian fonts resolved to the Simplified Chinese Noto CJK; the
//! .docx tables repeat their header rows and never split a row.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::Command;

use quick_xml::events::Event;

use crate::common::*;

const HOST_COUNTS: [usize; 3] = [1, 4, 12];

/// A word of a PDF page with its box, in points from the top left.
#[derive(Debug, Clone)]
struct Word {
    page: usize,
    /// The text block (pdftotext's `<block>`) the word is in, and where
    /// its line starts.
    block: usize,
    line_x: f64,
    x0: f64,
    y0: f64,
    x1: f64,
    y1: f64,
    text: String,
}

#[derive(Debug, Default)]
struct Pdf {
    /// (width, height) of each page.
    pages: Vec<(f64, f64)>,
    words: Vec<Word>,
}

impl Pdf {
    fn page_text(&self, page: usize) -> String {
        self.words
            .iter()
            .filter(|w| w.page == page)
            .map(|w| w.text.as_str())
            .collect()
    }
}

fn attr(e: &quick_xml::events::BytesStart, name: &str) -> f64 {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name)
        .map(|a| a.value.to_string())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no attribute {name}"))
}

/// Word boxes of `pdf` from `pdftotext -bbox-layout`.
fn read_pdf(pdf: &Path) -> Pdf {
    let out = Command::new("pdftotext")
        .arg("-bbox-layout")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext missing: run bash scripts/test.sh, which installs what the tests need");
    assert!(out.status.success(), "pdftotext {}", pdf.display());
    let html = String::from_utf8(out.stdout).unwrap();
    let mut reader = quick_xml::Reader::from_str(&html);
    let mut doc = Pdf::default();
    let mut current: Option<Word> = None;
    let mut blocks = 0;
    let mut line_x = 0.0;
    loop {
        match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) if e.name().as_ref() == "page" => {
                doc.pages.push((attr(&e, "width"), attr(&e, "height")));
            }
            Ok(Event::Start(e)) if e.name().as_ref() == "block" => blocks += 1,
            Ok(Event::Start(e)) if e.name().as_ref() == "line" => line_x = attr(&e, "xMin"),
            Ok(Event::Start(e)) if e.name().as_ref() == "word" => {
                current = Some(Word {
                    page: doc.pages.len() - 1,
                    block: blocks,
                    line_x,
                    x0: attr(&e, "xMin"),
                    y0: attr(&e, "yMin"),
                    x1: attr(&e, "xMax"),
                    y1: attr(&e, "yMax"),
                    text: String::new(),
                });
            }
            Ok(Event::Text(t)) => {
                if let Some(w) = current.as_mut() {
                    w.text
                        .push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0));
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if let Some(w) = current.as_mut() {
                    let name = r.xml_content(quick_xml::XmlVersion::Implicit1_0);
                    let c = quick_xml::escape::resolve_predefined_entity(&name).unwrap_or("?");
                    w.text.push_str(c);
                }
            }
            Ok(Event::End(e)) if e.name().as_ref() == "word" => {
                doc.words.extend(current.take());
            }
            Ok(_) => {}
            Err(e) => panic!("pdftotext output of {}: {e}", pdf.display()),
        }
    }
    doc
}

/// Words printed over one another: boxes sharing more than a fifth of the
/// smaller one (neighbours on a line or in adjacent lines only touch).
fn overlaps(pdf: &Pdf) -> Vec<String> {
    let mut found = Vec::new();
    for (i, a) in pdf.words.iter().enumerate() {
        for b in &pdf.words[i + 1..] {
            if a.page != b.page {
                continue;
            }
            let w = a.x1.min(b.x1) - a.x0.max(b.x0);
            let h = a.y1.min(b.y1) - a.y0.max(b.y0);
            if w <= 0.0 || h <= 0.0 {
                continue;
            }
            let smaller = ((a.x1 - a.x0) * (a.y1 - a.y0)).min((b.x1 - b.x0) * (b.y1 - b.y0));
            if w * h > 0.2 * smaller {
                found.push(format!(
                    "page {}: “{}” over “{}” at ({:.0}, {:.0})",
                    a.page + 1,
                    a.text,
                    b.text,
                    a.x0,
                    a.y0
                ));
            }
        }
    }
    found
}

/// Words not wholly inside their page.
fn outside(pdf: &Pdf) -> Vec<String> {
    pdf.words
        .iter()
        .filter(|w| {
            let (width, height) = pdf.pages[w.page];
            w.x0 < 0.0 || w.y0 < 0.0 || w.x1 > width + 0.5 || w.y1 > height + 0.5
        })
        .map(|w| {
            format!(
                "page {}: “{}” at ({:.0}, {:.0})",
                w.page + 1,
                w.text,
                w.x0,
                w.y0
            )
        })
        .collect()
}

/// The fonts a PDF embeds (`pdffonts`), one name per line.
fn fonts(pdf: &Path) -> Vec<String> {
    let out = Command::new("pdffonts").arg(pdf).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect()
}

/// Converts every file with one LibreOffice run and a private profile (so
/// that test binaries running at the same time do not share one).
fn convert(files: &[PathBuf], out: &Path) {
    let profile = tempfile::tempdir().unwrap();
    let status = Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.path().display()
        ))
        .args(["--headless", "--convert-to", "pdf", "--outdir"])
        .arg(out)
        .args(files)
        .output()
        .expect("LibreOffice (soffice) missing: run bash scripts/test.sh, which installs what the tests need");
    assert!(
        status.status.success(),
        "soffice: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

fn zip_part(file: &Path, part: &str) -> String {
    let bytes = std::fs::read(file).unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    archive
        .by_name(part)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

/// 附件1 with `n` host classes, each with its own OS, zone and purpose.
fn annex1_with_hosts(n: usize) -> Form {
    let mut form = annex1();
    if n > 4 {
        form.insert_rows(21, n as u32 - 4);
    }
    let zones = ["政务外网", "互联网区", "政务专网", "管理区"];
    let systems = [
        "麒麟V10",
        "统信UOS V20",
        "Windows Server 2019",
        "CentOS 7.9",
    ];
    for i in 0..n.max(2) {
        let r = 17 + i;
        if i >= n {
            for c in ["A", "B", "C", "D", "E", "F", "G", "H", "I"] {
                form.clear(&format!("{c}{r}"));
            }
            continue;
        }
        form.set(
            &format!("A{r}"),
            if i % 5 == 4 { "物理机" } else { "云主机" },
        )
        .set(&format!("B{r}"), (4 << (i % 4)) as f64)
        .set(&format!("C{r}"), (8 << (i % 5)) as f64)
        .set(&format!("D{r}"), systems[i % 4])
        .set(&format!("E{r}"), 100.0)
        .set(&format!("F{r}"), [500.0, 2000.0, 12000.0][i % 3])
        .set(&format!("G{r}"), zones[i % 4])
        .set(&format!("H{r}"), (1 + i % 3) as f64)
        .set(
            &format!("I{r}"),
            format!("第{}类主机,应用与数据库", i + 1).as_str(),
        );
    }
    form
}

/// Documents to print: (file, what it is, host classes or 0).
struct Batch {
    env: Env,
    docs: Vec<(PathBuf, String, usize)>,
}

impl Batch {
    fn out(&self) -> PathBuf {
        self.env.path("out")
    }

    fn add_all_in(&mut self, dir: &Path, kind: &str, hosts: usize) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "docx" || e == "xlsx"))
            .collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let to = self.out().join(format!("{hosts:02}-{kind}-{name}"));
            std::fs::rename(&f, &to).unwrap();
            self.docs.push((to, kind.to_string(), hosts));
        }
    }
}

/// Every document kind, rendered into one folder.
fn documents() -> Batch {
    let env = Env::new();
    std::fs::create_dir_all(env.path("out")).unwrap();
    let mut batch = Batch {
        env,
        docs: Vec::new(),
    };
    for n in HOST_COUNTS {
        let env = &batch.env;
        let input = env.path(&format!("annex1-{n}.xlsx"));
        annex1_with_hosts(n).write(&input);
        let dir = env.path(&format!("r{n}"));
        let (i, d) = (input.to_str().unwrap(), dir.to_str().unwrap());
        env.run_ok(&["render", "test-agreement", i, "--months", "3", "--out", d]);
        env.run_ok(&["render", "formal-agreement", i, "--out", d]);
        env.run_ok(&["render", "opening-table", i, "--out", d]);
        batch.add_all_in(&dir, "render", n);
    }
    let env = &batch.env;
    // The ledger for 附件4, 附件5 and settlement: the 12-host project.
    let input = env.path("annex1-12.xlsx");
    env.run_ok(&["approve", input.to_str().unwrap(), "--on", "2026-05-01"]);
    env.formal_signed("2026-09-01");
    let reports = env.path("reports");
    let mut bad = annex1();
    bad.set("E6", "5770000").set("B12", "第四级");
    let bad_path = env.path("bad.xlsx");
    bad.write(&bad_path);
    let a4 = env.path("annex4.xlsx");
    annex4().write(&a4);
    // Without the provider's opinion: its problem list carries the
    // 资源变更 sheet too.
    let a4_over = env.path("annex4-no-opinion.xlsx");
    annex4().clear("B26").write(&a4_over);
    let out = env.run(&[
        "validate",
        "--report",
        reports.to_str().unwrap(),
        bad_path.to_str().unwrap(),
        a4_over.to_str().unwrap(),
    ]);
    assert!(out.status.code() == Some(1), "{out:?}");
    batch.add_all_in(&reports, "report", 0);
    let env = &batch.env;
    let inbox = env.path("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::copy(&a4, inbox.join("annex4.xlsx")).unwrap();
    let processed = env.path("processed");
    env.run(&[
        "process",
        inbox.to_str().unwrap(),
        "--out",
        processed.to_str().unwrap(),
        "--stable",
        "0",
    ]);
    let change = find(&processed, "变更核对.xlsx");
    let assess = env.path("附件5.xlsx");
    env.run_ok(&[
        "assess",
        sample("assessment-2027.yaml").to_str().unwrap(),
        "--out",
        assess.to_str().unwrap(),
    ]);
    let settle = env.path("结算.xlsx");
    env.run_ok(&[
        "settle",
        "--year",
        "2027",
        "--on",
        "2027-07-15",
        "--out",
        settle.to_str().unwrap(),
    ]);
    let blank1 = env.path("blank-annex1.xlsx");
    let blank4 = env.path("blank-annex4.xlsx");
    env.run_ok(&["blank", "annex1", "-o", blank1.to_str().unwrap()]);
    env.run_ok(&["blank", "annex4", "-o", blank4.to_str().unwrap()]);
    for (from, kind) in [
        (change.expect("变更核对.xlsx written"), "change"),
        (assess, "assess"),
        (settle, "settle"),
        (blank1, "blank"),
        (blank4, "blank"),
    ] {
        let to = batch.out().join(format!(
            "{kind}-{}",
            from.file_name().unwrap().to_string_lossy()
        ));
        std::fs::rename(&from, &to).unwrap();
        batch.docs.push((to, kind.to_string(), 0));
    }
    batch
}

fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(found) = find(&p, name) {
                return Some(found);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

/// Pages a document may take at most, when it is a one-page form.
fn page_limit(name: &str, kind: &str, hosts: usize) -> Option<usize> {
    match kind {
        "render" if name.ends_with("开通情况表.xlsx") && hosts <= 4 => Some(1),
        "assess" | "change" => Some(1),
        "report" => Some(1),
        _ => None,
    }
}

#[test]
fn every_document_prints_on_a4() {
    if cfg!(windows) {
        return;
    }
    let batch = documents();
    let files: Vec<PathBuf> = batch.docs.iter().map(|d| d.0.clone()).collect();
    convert(&files, &batch.out());
    if let Some(dir) = std::env::var_os("ZWYUN_PRINT_KEEP") {
        let _ = std::fs::create_dir_all(&dir);
        for e in std::fs::read_dir(batch.out()).unwrap().flatten() {
            let _ = std::fs::copy(e.path(), Path::new(&dir).join(e.file_name()));
        }
    }
    let mut problems: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut checked = 0;
    for (file, kind, hosts) in &batch.docs {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let pdf_path = file.with_extension("pdf");
        assert!(pdf_path.is_file(), "{name} was not converted");
        let pdf = read_pdf(&pdf_path);
        let mut list = overlaps(&pdf);
        list.extend(outside(&pdf));
        assert!(!pdf.words.is_empty(), "{name}: no text printed");
        let (w, h) = pdf.pages[0];
        if (w - 595.0).abs() > 2.0 && (h - 595.0).abs() > 2.0 {
            list.push(format!("not A4: {w}×{h} pt"));
        }
        if let Some(limit) = page_limit(&name, kind, *hosts) {
            let (printed, limit) = (pdf.pages.len(), limit * sheets(file));
            if printed > limit {
                list.push(format!("{printed} pages, should be {limit} (one a sheet)"));
            }
        }
        list.extend(font_problems(&fonts(&pdf_path), &name));
        if kind == "change" || kind == "report" {
            let text = pdf.page_text(0);
            if !(text.contains("项目名称") && text.contains("文件")) {
                list.push("no project or file named on the sheet".into());
            }
        }
        if kind == "change" {
            list.extend(change_figures_are_numbers(file));
            list.extend(no_problems_below_header(&pdf));
        }
        if name.ends_with(".xlsx") {
            list.extend(figures_stored_as_text(file));
        }
        if kind == "assess" {
            list.extend(criteria_whole(&pdf));
        }
        if name.ends_with(".docx") {
            list.extend(docx_tables(file));
        }
        if !list.is_empty() {
            problems.insert(name, list);
        }
        checked += 1;
    }
    assert!(
        problems.is_empty(),
        "print problems:\n{}",
        problems
            .iter()
            .map(|(f, l)| format!("{f}:\n  {}", l.join("\n  ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(checked, 16, "documents checked");
}

/// Chinese text is printed in Noto CJK; in documents, 宋体 (written as
/// SimSun, which LibreOffice substitutes with Noto Serif CJK SC; the name
/// 宋体 itself fell to the sans face) in Noto Serif CJK. Calc prints the
/// East Asian text of a workbook in its default CJK font whatever the
/// cell's font, so only "a Noto CJK font" is checked there. (pdffonts names every face
/// of the Noto CJK collection `…CJKjp`: their outlines are shared, the
/// region only selects glyphs, so the name cannot tell SC from JP.)
fn font_problems(fonts: &[String], name: &str) -> Vec<String> {
    let mut list = Vec::new();
    if !fonts.iter().any(|f| f.contains("CJK")) {
        list.push(format!(
            "Chinese text not printed in a Noto CJK font: {fonts:?}"
        ));
    }
    if name.ends_with(".docx") && !fonts.iter().any(|f| f.contains("NotoSerifCJK")) {
        list.push(format!("宋体 not printed in Noto Serif CJK: {fonts:?}"));
    }
    list
}

/// 变更核对: 现状, 变更后, 批准配额 and 占配额 are numbers (the last a
/// percentage), so that they can be summed and sorted.
fn change_figures_are_numbers(file: &Path) -> Vec<String> {
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = calamine::open_workbook(file).unwrap();
    let range = wb.worksheet_range("资源变更").unwrap();
    let header = range
        .rows()
        .position(|r| matches!(r.first(), Some(Data::String(s)) if s == "资源"))
        .expect("header row");
    let mut problems = Vec::new();
    for row in range.rows().skip(header + 1) {
        for c in [1, 2, 4, 5] {
            let quota_less = c == 5 && matches!(row.get(c), Some(Data::String(s)) if s == "无配额");
            if !quota_less && !matches!(row.get(c), Some(Data::Float(_) | Data::Int(_))) {
                problems.push(format!(
                    "{:?} in column {} is not a number",
                    row.get(c),
                    c + 1
                ));
            }
        }
    }
    if range.rows().count() <= header + 1 {
        problems.push("no rows of changes".into());
    }
    problems
}

/// Issue 20: cells holding a figure as text (`10240`, `5%`, `16核`,
/// `64GB`) in any sheet: figures are stored as numbers, with their unit or
/// percent sign in the number format, so that they can be summed.
fn figures_stored_as_text(file: &Path) -> Vec<String> {
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = calamine::open_workbook(file).unwrap();
    let mut problems = Vec::new();
    for sheet in wb.sheet_names() {
        let range = wb.worksheet_range(&sheet).unwrap();
        for (r, c, v) in range.used_cells() {
            let Data::String(text) = v else { continue };
            let t = text.trim();
            let figure = t
                .strip_suffix(['%', '核'])
                .or_else(|| t.strip_suffix("GB"))
                .or_else(|| t.strip_suffix("TB"))
                .unwrap_or(t);
            if !figure.is_empty() && figure.parse::<f64>().is_ok() {
                problems.push(format!(
                    "{sheet} row {} col {}: “{t}” stored as text",
                    r + 1,
                    c + 1
                ));
            }
        }
    }
    problems
}

/// Issue 20: 变更核对 of a passing 附件4 printed “未发现问题。” over the
/// header row of its 问题清单: when printed, it is below it.
fn no_problems_below_header(pdf: &Pdf) -> Vec<String> {
    let header = pdf.words.iter().find(|w| w.page == 0 && w.text == "序号");
    let line = pdf
        .words
        .iter()
        .find(|w| w.page == 0 && w.text.starts_with("未发现问题"));
    match (header, line) {
        (_, None) => Vec::new(),
        (Some(h), Some(l)) if l.y0 >= h.y1 => Vec::new(),
        (h, l) => vec![format!(
            "“未发现问题。” not below the header: {:?} / {:?}",
            h.map(|w| (w.y0, w.y1)),
            l.map(|w| (w.text.clone(), w.y0, w.y1))
        )],
    }
}

/// Issue 20 (12): the 变更核对 of an 附件4 without any problem says
/// “未发现问题。” below its header row, on one page.
#[test]
fn a_clean_change_check_prints_its_verdict_below_the_header_pdf() {
    if cfg!(windows) {
        return;
    }
    let env = Env::new();
    env.approve_example();
    env.formal_signed("2026-07-01");
    let inbox = env.path("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    annex4().write(&inbox.join("annex4.xlsx"));
    env.run_ok(&["process", "inbox", "--out", "out", "--stable", "0"]);
    let check = find(&env.path("out"), "变更核对.xlsx").expect("变更核对.xlsx written");
    let dir = env.path("pdf");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&check, dir.join("变更核对.xlsx")).unwrap();
    let printed = convert_all_in(&dir);
    let (_, pdf) = &printed[0];
    assert!(
        pdf.words.iter().any(|w| w.text.starts_with("未发现问题")),
        "the verdict is printed"
    );
    assert_eq!(no_problems_below_header(pdf), Vec::<String>::new());
    assert_eq!(overlaps(pdf), Vec::<String>::new());
    // One page for each sheet (资源变更, 问题清单).
    assert_eq!(pdf.pages.len(), sheets(&check));
}

/// Sheets of a workbook (each prints on its own pages); 1 for a .docx.
fn sheets(file: &Path) -> usize {
    if file.extension().is_some_and(|e| e == "xlsx") {
        zip_part(file, "xl/workbook.xml").matches("<sheet ").count()
    } else {
        1
    }
}

/// Every criterion sentence of 附件5 is printed whole in one text block
/// (its cell), however it wraps: the lines of a block that start where its
/// first line starts (pdftotext puts a neighbouring cell's line of the
/// same height into the block too).
fn criteria_whole(pdf: &Pdf) -> Vec<String> {
    let criteria = zwyun::settle::assess::INDICATORS.iter().map(|i| i.rule);
    let mut starts: BTreeMap<usize, f64> = BTreeMap::new();
    for w in &pdf.words {
        let x = starts.entry(w.block).or_insert(w.line_x);
        *x = x.min(w.line_x);
    }
    let mut texts: BTreeMap<usize, String> = BTreeMap::new();
    for w in pdf
        .words
        .iter()
        .filter(|w| (w.line_x - starts[&w.block]).abs() < 2.0)
    {
        texts.entry(w.block).or_default().push_str(&w.text);
    }
    let pages: Vec<String> = texts.into_values().collect();
    criteria
        .filter(|rule| {
            let wanted: String = rule.chars().filter(|c| !c.is_whitespace()).collect();
            !pages.iter().any(|p| p.contains(&wanted))
        })
        .map(|rule| format!("criterion not printed whole: {rule}"))
        .collect()
}

/// Header rows of every table repeat on each page; body rows never split.
fn docx_tables(file: &Path) -> Vec<String> {
    let xml = zip_part(file, "word/document.xml");
    let mut problems = Vec::new();
    for (t, table) in xml.split("<w:tbl>").skip(1).enumerate() {
        let table = table.split("</w:tbl>").next().unwrap_or_default();
        let rows: Vec<&str> = table.split("<w:tr>").skip(1).collect();
        let borderless = table.contains("w:val=\"none\"") || table.contains("w:val=\"nil\"");
        if rows.len() < 3 || borderless {
            continue;
        }
        if !rows[0].contains("<w:tblHeader") {
            problems.push(format!(
                "table {}: first row is not a repeated header",
                t + 1
            ));
        }
        for (r, row) in rows.iter().enumerate().skip(1) {
            if !row.contains("<w:cantSplit") {
                problems.push(format!(
                    "table {} row {}: may split across pages",
                    t + 1,
                    r + 1
                ));
            }
        }
    }
    problems
}

// ------------------------------------------------------------ issue 20

/// Renders `docs` (`test-agreement`, `formal-agreement`, `opening-table`)
/// of the 附件1 `form` into `dir`, converts them, and returns each file
/// with its PDF read back.
fn render_and_read(env: &Env, form: &Form, docs: &[&str], dir: &str) -> Vec<(PathBuf, Pdf)> {
    let input = env.path(&format!("{dir}.xlsx"));
    form.write(&input);
    let out = env.path(dir);
    for doc in docs {
        let mut args = vec!["render", doc, input.to_str().unwrap()];
        if *doc == "test-agreement" {
            args.extend(["--months", "3"]);
        }
        args.extend(["--out", out.to_str().unwrap()]);
        env.run_ok(&args);
    }
    convert_all_in(&out)
}

fn convert_all_in(dir: &Path) -> Vec<(PathBuf, Pdf)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "docx" || e == "xlsx"))
        .collect();
    files.sort();
    convert(&files, dir);
    if let Some(keep) = std::env::var_os("ZWYUN_PRINT_KEEP") {
        let _ = std::fs::create_dir_all(&keep);
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let _ = std::fs::copy(e.path(), Path::new(&keep).join(e.file_name()));
        }
    }
    files
        .into_iter()
        .map(|f| {
            let pdf = read_pdf(&f.with_extension("pdf"));
            (f, pdf)
        })
        .collect()
}

fn file_name(f: &Path) -> String {
    f.file_name().unwrap().to_string_lossy().into_owned()
}

/// 附件1 asking for 5- to 7-digit quantities: a host with 65536GB memory
/// and 321 of it, 1048576GB of SSD on the left of the service grid and of
/// 高效云盘 on its right, 12345 IPv6 addresses, 10000 load balancers,
/// 10240GB of bandwidth.
fn annex1_with_big_figures() -> Form {
    let mut form = annex1();
    form.set("C17", 65536.0)
        .set("F17", 1000000.0)
        .set("H17", 321.0)
        .set("E22", 1048576.0)
        .set("H22", 1048576.0)
        .set("E27", 12345.0)
        .set("H27", 10000.0)
        .set("E28", 10240.0);
    form
}

/// Issue 20: `10240` printed as `1024` / `0` in a narrow 数量 column.
/// Every figure of 5 to 7 digits is one word in every document, in the
/// agreements and in the workbook; nothing overlaps or leaves the page.
#[test]
fn big_quantities_print_unbroken_pdf() {
    if cfg!(windows) {
        return;
    }
    let env = Env::new();
    let docs = ["test-agreement", "formal-agreement", "opening-table"];
    let printed = render_and_read(&env, &annex1_with_big_figures(), &docs, "big");
    assert_eq!(printed.len(), 3);
    let mut problems = Vec::new();
    for (file, pdf) in &printed {
        let name = file_name(file);
        let words: Vec<&str> = pdf.words.iter().map(|w| w.text.as_str()).collect();
        for figure in ["65536GB", "1048576", "12345", "10000", "10240", "321"] {
            let whole = words.iter().filter(|w| w.contains(figure)).count();
            // 1048576 twice (SSD and 高效云盘), the others once.
            let wanted = if figure == "1048576" { 2 } else { 1 };
            if whole < wanted {
                problems.push(format!(
                    "{name}: “{figure}” printed whole {whole} times, wanted {wanted}"
                ));
            }
        }
        problems.extend(overlaps(pdf).into_iter().map(|p| format!("{name}: {p}")));
        problems.extend(outside(pdf).into_iter().map(|p| format!("{name}: {p}")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Host rows on each page: (page, CPU lines, 内存 lines, 台数 headers).
fn host_rows_by_page(pdf: &Pdf) -> Vec<(usize, usize, usize, usize)> {
    (0..pdf.pages.len())
        .map(|p| {
            let on = |t: &str| {
                pdf.words
                    .iter()
                    .filter(|w| w.page == p && w.text == t)
                    .count()
            };
            (p + 1, on("CPU"), on("内存"), on("台数"))
        })
        .filter(|(_, cpu, mem, _)| cpu + mem > 0)
        .collect()
}

/// Issue 20: beyond about 13 host classes the 开通情况表 split a host
/// over two pages, with no header on the next one. With 20 classes every
/// page of hosts starts with the column header, and holds the CPU and 内存
/// lines of the same hosts, in the workbook and in 附件3's attachment.
#[test]
fn twenty_host_classes_keep_rows_whole_pdf() {
    if cfg!(windows) {
        return;
    }
    let env = Env::new();
    let docs = ["formal-agreement", "opening-table"];
    let printed = render_and_read(&env, &annex1_with_hosts(20), &docs, "hosts20");
    let mut problems = Vec::new();
    for (file, pdf) in &printed {
        let name = file_name(file);
        let pages = host_rows_by_page(pdf);
        let (cpus, mems): (usize, usize) = pages.iter().fold((0, 0), |a, p| (a.0 + p.1, a.1 + p.2));
        if cpus != 20 || mems != 20 {
            problems.push(format!(
                "{name}: {cpus} CPU and {mems} 内存 lines, wanted 20"
            ));
        }
        if pages.len() < 2 {
            problems.push(format!("{name}: 20 hosts on {} page(s)", pages.len()));
        }
        for (page, cpu, mem, header) in &pages {
            if cpu != mem {
                problems.push(format!(
                    "{name} page {page}: {cpu} CPU but {mem} 内存 lines"
                ));
            }
            if *header == 0 {
                problems.push(format!("{name} page {page}: hosts without the header"));
            }
        }
        problems.extend(overlaps(pdf).into_iter().map(|p| format!("{name}: {p}")));
        problems.extend(outside(pdf).into_iter().map(|p| format!("{name}: {p}")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The clause headings of 附件3: 第一条 … 第十五条 and the numbered
/// sub-headings of 第四条 and 第五条.
const HEADINGS: [&str; 8] = [
    "1.云计算服务",
    "2.运行维护服务",
    "3.安全服务",
    "4.质量标准",
    "5.资源起租",
    "6.服务考核",
    "1.服务费用",
    "2.服务费支付方式",
];

fn is_heading(line: &str) -> bool {
    let line = line.trim();
    let clause = line.starts_with('第')
        && line.contains('条')
        && line.chars().count() <= 16
        && line.find('条').is_some_and(|i| i <= "第十五".len());
    clause || HEADINGS.contains(&line)
}

/// The last line of text above the footer of each page.
fn last_lines(pdf: &Pdf) -> Vec<(usize, String)> {
    (0..pdf.pages.len())
        .filter_map(|p| {
            let height = pdf.pages[p].1;
            // The footer (page number) sits in the bottom margin.
            let body: Vec<&Word> = pdf
                .words
                .iter()
                .filter(|w| w.page == p && w.y1 < height - 60.0)
                .collect();
            let bottom = body.iter().map(|w| w.y0).fold(f64::MIN, f64::max);
            let mut line: Vec<&&Word> = body
                .iter()
                .filter(|w| (w.y0 - bottom).abs() < 3.0)
                .collect();
            line.sort_by(|a, b| a.x0.total_cmp(&b.x0));
            let text: String = line.iter().map(|w| w.text.as_str()).collect();
            (!text.is_empty()).then_some((p + 1, text))
        })
        .collect()
}

/// Issue 20: clause headings were left alone at the foot of a page. The
/// formal agreement is printed with unit addresses of 0 to 11 extra lines,
/// so that the page ends fall on every line of the clauses in turn: no page
/// ends with a heading.
#[test]
fn clause_headings_never_end_a_page_pdf() {
    if cfg!(windows) {
        return;
    }
    let env = Env::new();
    let out = env.path("headings");
    for extra in 0..12 {
        let input = env.path(&format!("address-{extra}.xlsx"));
        let address = format!("上海市松江区示例路1号{}", "\n附楼".repeat(extra));
        annex1()
            .set("B4", format!("SJ-2026-{extra:03}").as_str())
            .set("B7", address.as_str())
            .write(&input);
        env.run_ok(&[
            "render",
            "formal-agreement",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
    }
    let printed = convert_all_in(&out);
    assert_eq!(printed.len(), 12);
    assert!(is_heading("第十二条违约责任") && is_heading("1.云计算服务"));
    let mut problems = Vec::new();
    let mut pages = 0;
    for (file, pdf) in &printed {
        for (page, line) in last_lines(pdf) {
            pages += 1;
            if is_heading(&line) {
                problems.push(format!(
                    "{} page {page} ends with “{line}”",
                    file_name(file)
                ));
            }
        }
    }
    assert!(pages > 24, "{pages} pages read");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Issue 20: blank forms printed without the options and with rows about
/// 4 mm tall. The printed blanks show every choice with its box, rows a
/// unit writes in are at least 8 mm apart, and the 填表说明 page has its
/// heading; the workbook still has its dropdowns.
#[test]
fn blank_forms_print_options_and_writing_rows_pdf() {
    if cfg!(windows) {
        return;
    }
    let env = Env::new();
    let dir = env.path("blanks");
    std::fs::create_dir_all(&dir).unwrap();
    for form in ["annex1", "annex4"] {
        let path = dir.join(format!("{form}.xlsx"));
        env.run_ok(&["blank", form, "-o", path.to_str().unwrap()]);
        // Dropdowns that warn about, but keep, a typed tick (☑市级).
        let sheet = zip_part(&path, "xl/worksheets/sheet1.xml");
        assert!(
            sheet.contains("<dataValidation ") && sheet.contains("errorStyle=\"warning\""),
            "{form}: no dropdowns"
        );
    }
    let printed = convert_all_in(&dir);
    let eight_mm = 8.0 / 25.4 * 72.0;
    let mut problems = Vec::new();
    for (file, pdf) in &printed {
        let name = file_name(file);
        let words: Vec<&str> = pdf.words.iter().map(|w| w.text.as_str()).collect();
        let mut options = vec![
            "□市级",
            "□区级",
            "□自费",
            "□X86",
            "□XC",
            "□云主机",
            "□物理机",
        ];
        options.extend(["□政务外网", "□互联网区", "□政务专网", "□管理区"]);
        if name.starts_with("annex1") {
            options.extend(["□第一级", "□第三级", "□否", "□是"]);
        }
        for o in options {
            if !words.contains(&o) {
                problems.push(format!("{name}: option “{o}” not printed"));
            }
        }
        // One “□云主机” a host row: the rows a unit writes hosts in.
        let mut rows: Vec<(usize, f64)> = pdf
            .words
            .iter()
            .filter(|w| w.text == "□云主机")
            .map(|w| (w.page, w.y0))
            .collect();
        rows.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let expected = if name.starts_with("annex1") { 4 } else { 6 };
        if rows.len() != expected {
            problems.push(format!(
                "{name}: {} host rows, wanted {expected}",
                rows.len()
            ));
        }
        for pair in rows.windows(2) {
            let gap = pair[1].1 - pair[0].1;
            if pair[0].0 == pair[1].0 && gap > 0.0 && gap < eight_mm {
                problems.push(format!("{name}: host rows {gap:.1} pt apart, under 8 mm"));
            }
        }
        // The header fields: 申请单位 and 项目编号 are on consecutive rows.
        let y = |t: &str| pdf.words.iter().find(|w| w.text == t).map(|w| w.y0);
        match (y("申请单位"), y("项目编号")) {
            (Some(a), Some(b)) if b - a >= eight_mm => {}
            other => problems.push(format!("{name}: field rows {other:?}, under 8 mm apart")),
        }
        let last = pdf.page_text(pdf.pages.len() - 1);
        if !last.starts_with("松江区市政务云资源") || !last.contains("填表说明") {
            problems.push(format!("{name}: 填表说明 page without its heading: {last}"));
        }
        problems.extend(overlaps(pdf).into_iter().map(|p| format!("{name}: {p}")));
        problems.extend(outside(pdf).into_iter().map(|p| format!("{name}: {p}")));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
