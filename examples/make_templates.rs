//! Builds `templates/test-agreement.docx` (附件2) and
//! `templates/formal-agreement.docx` (附件3 with its 开通情况表) with
//! docx-rs. Run once after changing the wording:
//! `cargo run --example make_templates`; clerks then edit the .docx in Word.

use std::path::Path;

use docx_rs::{
    AlignmentType, BorderType, BreakType, Docx, Footer, LineSpacing, LineSpacingType, PageMargin,
    PageNum, Paragraph, Run, RunFonts, SpecialIndentType, Table, TableBorder, TableBorderPosition,
    TableBorders, TableCell, TableCellContent, TableCellMargins, TableLayoutType, TableRow,
    VAlignType, VMergeType, WidthType,
};
use zwyun::render::grid;
use zwyun::schema::Schemas;

/// 宋体 and 黑体 by the names Word and WPS know them by on every Windows;
/// LibreOffice substitutes Noto Serif / Sans CJK SC for them (a name it does
/// not know, like 宋体 itself, would fall to a sans-serif Japanese face).
const SONG: &str = "SimSun";
const HEI: &str = "SimHei";
const LATIN: &str = "Times New Roman";
/// A4 in twips, margins 2.54 cm.
const PAGE: (u32, u32) = (11906, 16838);
const MARGIN_TB: i32 = 1440;
const MARGIN_LR: i32 = 1440;
/// Column widths (twips) for Chinese text at 10.5 pt (210 twips a
/// character, 80 of cell margin each side): 服务类型 4 characters, 服务分项
/// 6, a service with its tick box 9, 数量, 说明 two lines of host
/// configuration (two grid columns, so that 系统架构 fits above it), 台数; 9026 in all, the text width of the page.
const COLS: [usize; 7] = [1060, 1500, 2080, 900, 1100, 1786, 600];
const CELL_MARGIN: usize = 80;
/// Marks a header row until [`with_print_setup`] turns the mark into
/// `<w:tblHeader/>` (docx-rs has no setter): an otherwise unused height.
const HEADER_MARK: f32 = 1.0;
const HEADER_MARK_XML: &str = "<w:trHeight w:val=\"1\" w:hRule=\"atLeast\" />";
/// The Chinese fonts with their Chinese names, GB2312 charset and classes,
/// so that a program without them picks a Simplified Chinese font of the
/// same class.
const FONT_TABLE: &str = concat!(
    r#"<w:font w:name="SimSun"><w:altName w:val="宋体" /><w:panose1 w:val="02010600030101010101" />"#,
    r#"<w:charset w:val="86" /><w:family w:val="roman" /><w:pitch w:val="variable" /></w:font>"#,
    r#"<w:font w:name="SimHei"><w:altName w:val="黑体" /><w:panose1 w:val="02010609060101010101" />"#,
    r#"<w:charset w:val="86" /><w:family w:val="modern" /><w:pitch w:val="fixed" /></w:font>"#,
);
/// A blank to write on: ideographic spaces, underlined.
const BLANK: &str = "\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}\u{3000}";
const BODY: usize = 24;
const SMALL: usize = 21;

/// Article text: `h` heading, `s` sub-heading, `p` body, `l` plain line,
/// `f` a field with an underlined value.
type Block = (&'static str, &'static str);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let schemas = Schemas::load(Some(Path::new("schemas")))?;
    let out = Path::new("templates");
    save(test_agreement(&schemas), &out.join("test-agreement.docx"))?;
    save(
        formal_agreement(&schemas),
        &out.join("formal-agreement.docx"),
    )?;
    println!("已生成 templates/test-agreement.docx 与 templates/formal-agreement.docx");
    Ok(())
}

fn save(doc: Docx, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut packed = std::io::Cursor::new(Vec::new());
    doc.build().pack(&mut packed)?;
    std::fs::write(path, with_print_setup(&packed.into_inner())?)?;
    Ok(())
}

/// What docx-rs has no setter for: East Asian text marked as Simplified
/// Chinese in the default run properties (so that Word and LibreOffice pick
/// Chinese fonts and glyph forms, Noto CJK SC rather than JP), and the
/// header rows of tables repeated on every page.
fn with_print_setup(docx: &[u8]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    use std::io::{Read, Write};
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(docx))?;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i)?;
        let name = entry.name()?.into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        if name == "word/styles.xml" {
            let text = String::from_utf8(bytes)?.replacen(
                "<w:rPrDefault><w:rPr>",
                "<w:rPrDefault><w:rPr><w:lang w:val=\"en-US\" w:eastAsia=\"zh-CN\" />",
                1,
            );
            bytes = text.into_bytes();
        }
        if name == "word/fontTable.xml" {
            let text =
                String::from_utf8(bytes)?.replace("</w:fonts>", &format!("{FONT_TABLE}</w:fonts>"));
            bytes = text.into_bytes();
        }
        if name == "word/document.xml" {
            let text = String::from_utf8(bytes)?.replace(HEADER_MARK_XML, "<w:tblHeader />");
            bytes = text.into_bytes();
        }
        if entry.is_dir() {
            out.add_directory(name, options)?;
        } else {
            out.start_file(name, options)?;
            out.write_all(&bytes)?;
        }
    }
    Ok(out.finish()?.into_inner())
}

/// Half-width punctuation of the extracted seed back to the full-width
/// forms of a Chinese document; tags `{{ }}` / `{% %}` are left alone.
fn cn(text: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    let mut prev = ' ';
    for c in text.chars() {
        if prev == '{' && (c == '{' || c == '%') {
            depth += 1;
        }
        if (prev == '}' || prev == '%') && c == '}' && depth > 0 {
            depth -= 1;
        }
        prev = c;
        out.push(match c {
            ',' if depth == 0 => '\u{ff0c}',
            ':' if depth == 0 => '\u{ff1a}',
            ';' if depth == 0 => '\u{ff1b}',
            '(' if depth == 0 => '\u{ff08}',
            ')' if depth == 0 => '\u{ff09}',
            c => c,
        });
    }
    out
}

fn fonts(east_asia: &str) -> RunFonts {
    RunFonts::new()
        .east_asia(east_asia)
        .ascii(LATIN)
        .hi_ansi(LATIN)
}

fn run(text: &str) -> Run {
    Run::new().add_text(cn(text))
}

fn spacing(before: u32, after: u32) -> LineSpacing {
    LineSpacing::new()
        .line_rule(LineSpacingType::Auto)
        .line(360)
        .before(before)
        .after(after)
}

fn title(text: &str) -> Paragraph {
    Paragraph::new()
        .add_run(run(text).bold().size(36).fonts(fonts(SONG)))
        .align(AlignmentType::Center)
        .line_spacing(spacing(240, 240))
}

fn heading(text: &str) -> Paragraph {
    Paragraph::new()
        .add_run(run(text).bold().size(BODY).fonts(fonts(HEI)))
        .line_spacing(spacing(200, 60))
        .keep_next(true)
}

fn sub_heading(text: &str) -> Paragraph {
    Paragraph::new()
        .add_run(run(text).bold().size(BODY))
        .indent(None, Some(SpecialIndentType::FirstLine(480)), None, None)
        .line_spacing(spacing(60, 0))
        .keep_next(true)
}

fn body(text: &str) -> Paragraph {
    Paragraph::new()
        .add_run(run(text).size(BODY))
        .indent(None, Some(SpecialIndentType::FirstLine(480)), None, None)
        .line_spacing(spacing(0, 0))
        .align(AlignmentType::Both)
}

fn line(text: &str) -> Paragraph {
    Paragraph::new()
        .add_run(run(text).size(BODY))
        .line_spacing(spacing(0, 0))
}

/// `label` and an underlined value to fill in: the variable `var` when
/// given and not empty, else a blank line to write on by hand.
fn field(label: &str, var: Option<&str>) -> Paragraph {
    let value = match var {
        Some(v) => format!("{{% if {v} %}}{{{{ {v} }}}}{{% else %}}{BLANK}{{% endif %}}"),
        None => BLANK.to_string(),
    };
    Paragraph::new()
        .add_run(run(label).size(BODY))
        .add_run(Run::new().add_text(value).size(BODY).underline("single"))
        .line_spacing(spacing(0, 0))
}

fn blocks(mut doc: Docx, list: &[Block]) -> Docx {
    for (kind, text) in list {
        doc = doc.add_paragraph(block(kind, text));
    }
    doc
}

fn block(kind: &str, text: &str) -> Paragraph {
    match kind {
        "h" => heading(text),
        "s" => sub_heading(text),
        "l" => line(text),
        // `f`: "label:{{ var }}" or "label:" with an underlined blank.
        "f" => match text.split_once("{{") {
            Some((label, var)) => field(label, Some(var.trim_end_matches("}}").trim())),
            None => field(text, None),
        },
        _ => body(text),
    }
}

/// Like [`blocks`], the last `keep` paragraphs held on the page of what
/// follows (the signature block never starts a page alone). A heading is
/// printed in one paragraph with the paragraph it heads, after a line
/// break, so that widow and orphan control keep it off the foot of a page:
/// LibreOffice does not always move a heading kept with the next paragraph
/// when that paragraph goes to the next page.
fn blocks_kept(mut doc: Docx, list: &[Block], keep: usize) -> Docx {
    let from = list.len().saturating_sub(keep);
    let mut headings: Vec<&Block> = Vec::new();
    for (i, b) in list.iter().enumerate() {
        let (kind, text) = b;
        if matches!(*kind, "h" | "s") {
            headings.push(b);
            continue;
        }
        let p = if headings.is_empty() {
            block(kind, text)
        } else {
            headed(&std::mem::take(&mut headings), text)
        };
        doc = doc.add_paragraph(p.keep_next(i >= from));
    }
    doc
}

/// `headings` and the body paragraph `text` as one paragraph, each heading
/// on a line of its own; kept whole when it holds more than one heading.
fn headed(headings: &[&Block], text: &str) -> Paragraph {
    const INDENT: &str = "\u{3000}\u{3000}";
    let before = if headings[0].0 == "h" { 200 } else { 60 };
    let mut p = Paragraph::new()
        .line_spacing(spacing(before, 0))
        .widow_control(true)
        .keep_lines(headings.len() > 1);
    for (kind, heading) in headings {
        let indent = if *kind == "s" { INDENT } else { "" };
        let mut r = run(&format!("{indent}{heading}")).bold().size(BODY);
        if *kind == "h" {
            r = r.fonts(fonts(HEI));
        }
        p = p.add_run(r.add_break(BreakType::TextWrapping));
    }
    p.add_run(run(&format!("{INDENT}{text}")).size(BODY))
}

fn footer() -> Footer {
    Footer::new().add_paragraph(
        Paragraph::new()
            .add_run(Run::new().add_text("第 ").size(SMALL))
            .add_page_num(PageNum::new())
            .add_run(Run::new().add_text(" 页").size(SMALL))
            .align(AlignmentType::Center),
    )
}

fn page() -> Docx {
    Docx::new()
        .page_size(PAGE.0, PAGE.1)
        .page_margin(
            PageMargin::new()
                .top(MARGIN_TB)
                .bottom(MARGIN_TB)
                .left(MARGIN_LR)
                .right(MARGIN_LR)
                .header(851)
                .footer(851),
        )
        .default_fonts(fonts(SONG))
        .default_size(BODY)
        .footer(footer())
}

// ---- the resource table (附件2, and the 开通情况表 of 附件3) ----

fn cell_para(text: &str, align: AlignmentType) -> Paragraph {
    Paragraph::new()
        .add_run(Run::new().add_text(text).size(SMALL))
        .align(align)
}

/// A header row, repeated at the top of each page the table runs onto.
fn header_row(cells: Vec<TableCell>) -> TableRow {
    TableRow::new(cells).cant_split().row_height(HEADER_MARK)
}

/// A body row, never split across two pages; `keep` holds it on the page
/// of the next row (the rows of one host, of one table that fits a page).
fn body_row(cells: Vec<TableCell>, keep: bool) -> TableRow {
    let cells = cells
        .into_iter()
        .map(|c| if keep { kept(c) } else { c })
        .collect();
    TableRow::new(cells).cant_split()
}

fn kept(mut c: TableCell) -> TableCell {
    for child in c.children.iter_mut() {
        if let TableCellContent::Paragraph(p) = child {
            **p = (**p).clone().keep_next(true);
        }
    }
    c
}

fn with_para(p: Paragraph, span: usize) -> TableCell {
    TableCell::new()
        .add_paragraph(p)
        .grid_span(span)
        .vertical_align(VAlignType::Center)
}

fn cell(text: &str, span: usize) -> TableCell {
    with_para(cell_para(text, AlignmentType::Left), span)
}

fn centred(text: &str, span: usize) -> TableCell {
    with_para(cell_para(text, AlignmentType::Center), span)
}

fn head(text: &str, span: usize) -> TableCell {
    with_para(
        Paragraph::new()
            .add_run(Run::new().add_text(cn(text)).size(SMALL).bold())
            .align(AlignmentType::Center),
        span,
    )
}

fn merged(c: TableCell, first: bool) -> TableCell {
    c.vertical_merge(if first {
        VMergeType::Restart
    } else {
        VMergeType::Continue
    })
}

/// A row holding only a structural tag (`{%tr for … %}`), across the table.
fn tag_row(tag: &str) -> TableRow {
    TableRow::new(vec![cell(tag, COLS.len())])
}

/// The hosts: 上云项目归属 and the column header repeated on each page,
/// each host's CPU and 内存 rows kept together.
fn host_rows() -> Vec<TableRow> {
    let describe = TableCell::new()
        .add_paragraph(cell_para(
            "系统盘{{ h.system_disk_gb }}GB、数据盘{{ h.data_disk_gb }}GB、",
            AlignmentType::Left,
        ))
        .add_paragraph(cell_para("{{ h.os }}、{{ h.zone }}", AlignmentType::Left))
        .grid_span(2)
        .vertical_align(VAlignType::Center);
    vec![
        header_row(vec![
            head("上云项目归属", 2),
            centred("{{ project.ownership_ticks }}", 2),
            head("系统架构", 1),
            centred("{{ project.arch_ticks }}", 2),
        ]),
        header_row(vec![
            head("服务类型", 2),
            head("服务项目", 1),
            head("数量", 1),
            head("说明(系统盘、数据盘、操作系统、网络区域)", 2),
            head("台数", 1),
        ]),
        tag_row("{%tr for h in hosts %}"),
        body_row(
            vec![
                merged(head("计算资源", 1), true),
                merged(centred("{{ h.kind }}", 1), true),
                centred("CPU", 1),
                centred("{{ h.cpu }}核", 1),
                merged(describe, true),
                merged(centred("{{ h.count }}", 1), true),
            ],
            true,
        ),
        body_row(
            vec![
                merged(head("", 1), false),
                merged(centred("", 1), false),
                centred("内存", 1),
                centred("{{ h.memory_gb }}GB", 1),
                merged(cell("", 2), false),
                merged(centred("", 1), false),
            ],
            false,
        ),
        tag_row("{%tr endfor %}"),
    ]
}

fn item(schemas: &Schemas, key: Option<&str>) -> (String, String) {
    match key.and_then(|k| schemas.catalogue.get(k)) {
        Some(i) => (
            format!("{{{{ services.{}.tick }}}}{}", i.key, i.name),
            format!("{{{{ services.{}.qty }}}}", i.key),
        ),
        None => (String::new(), String::new()),
    }
}

/// The service grid, kept on one page with its header (so that no
/// category's rows are separated from their label); `last` says whether
/// the grid ends the table.
fn grid_rows(schemas: &Schemas, last: bool) -> Vec<TableRow> {
    let mut rows = vec![header_row(vec![
        head("服务类型", 2),
        head("服务项目", 1),
        head("数量", 1),
        head("服务项目", 2),
        head("数量", 1),
    ])];
    let grid: Vec<&grid::GridRow> = grid::rows().collect();
    for (i, g) in grid.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| grid[p]);
        let new_category = prev.is_none_or(|p| p.category != g.category);
        let new_group = new_category || prev.is_none_or(|p| p.group != g.group);
        let (left, left_qty) = item(schemas, Some(g.left));
        let (right, right_qty) = item(schemas, g.right);
        let category = if new_category { g.category } else { "" };
        let group = if new_group { g.group } else { "" };
        let keep = !(last && i + 1 == grid.len());
        rows.push(body_row(
            vec![
                merged(head(category, 1), new_category),
                merged(centred(group, 1), new_group),
                cell(&left, 1),
                centred(&left_qty, 1),
                cell(&right, 2),
                centred(&right_qty, 1),
            ],
            keep,
        ));
    }
    rows
}

fn other_rows() -> Vec<TableRow> {
    vec![
        body_row(
            vec![
                merged(head("其他服务项", 2), true),
                head("服务项名称", 1),
                head("数量", 1),
                head("备注", 3),
            ],
            true,
        ),
        tag_row("{%tr for o in other_services %}"),
        body_row(
            vec![
                merged(head("", 2), false),
                cell("{{ o.name }}", 1),
                centred("{{ o.qty }}", 1),
                cell("{{ o.note }}", 3),
            ],
            true,
        ),
        tag_row("{%tr endfor %}"),
    ]
}

fn table(rows: Vec<TableRow>) -> Table {
    Table::new(rows)
        .set_grid(COLS.to_vec())
        .width(COLS.iter().sum(), WidthType::Dxa)
        .layout(TableLayoutType::Fixed)
        .margins(TableCellMargins::new().margin(30, CELL_MARGIN, 30, CELL_MARGIN))
}

/// The resources: the hosts, then the services (and 其他服务项) as a
/// second table with its own repeated header, a small gap between.
fn resource_tables(mut doc: Docx, schemas: &Schemas, with_others: bool) -> Docx {
    doc = doc.add_table(table(host_rows()));
    doc = doc.add_paragraph(
        Paragraph::new().add_run(Run::new().size(8)).line_spacing(
            LineSpacing::new()
                .line_rule(LineSpacingType::Exact)
                .line(120),
        ),
    );
    let mut rows = grid_rows(schemas, !with_others);
    if with_others {
        rows.extend(other_rows());
    }
    doc.add_table(table(rows))
}

/// Signature blocks side by side, without borders, lines left blank.
fn signatures(parties: &[&str]) -> Table {
    let width = COLS.iter().sum::<usize>() / parties.len();
    let cells = parties
        .iter()
        .map(|p| {
            TableCell::new()
                .width(width, WidthType::Dxa)
                .add_paragraph(line(&format!("{p}:(盖章)")).line_spacing(spacing(240, 480)))
                .add_paragraph(line("签约日期:      年    月    日"))
        })
        .collect();
    let none = |pos| TableBorder::new(pos).border_type(BorderType::None);
    let borders = TableBorders::new()
        .set(none(TableBorderPosition::Top))
        .set(none(TableBorderPosition::Bottom))
        .set(none(TableBorderPosition::Left))
        .set(none(TableBorderPosition::Right))
        .set(none(TableBorderPosition::InsideH))
        .set(none(TableBorderPosition::InsideV));
    Table::new(vec![TableRow::new(cells).cant_split()])
        .set_grid(vec![width; parties.len()])
        .width(width * parties.len(), WidthType::Dxa)
        .set_borders(borders)
}

/// Signature blocks one below the other (three do not fit side by side).
fn stacked_signatures(mut doc: Docx, parties: &[&str]) -> Docx {
    for (i, p) in parties.iter().enumerate() {
        let last = i + 1 == parties.len();
        doc = doc
            .add_paragraph(
                line(&format!("{p}:(盖章)"))
                    .line_spacing(spacing(360, 240))
                    .keep_next(true),
            )
            .add_paragraph(
                field("法定代表人(授权代表):", None)
                    .line_spacing(spacing(0, 240))
                    .keep_next(true),
            )
            .add_paragraph(line("签约日期:      年    月    日").keep_next(!last));
    }
    doc
}

fn project_lines() -> [Block; 3] {
    [
        ("l", "项目名称:{{ project.name }}"),
        ("l", "{%p if project.code %}"),
        ("l", "项目编号:{{ project.code }}"),
    ]
}

fn test_agreement(schemas: &Schemas) -> Docx {
    let mut doc = page().add_paragraph(title("松江区市政务云测试资源服务使用意向协议"));
    doc = blocks(
        doc,
        &[
            ("l", "甲方:{{ unit.name }}"),
            ("l", "乙方:{{ provider.name }}"),
        ],
    );
    doc = blocks(doc, &project_lines());
    doc = blocks(
        doc,
        &[
            ("l", "{%p endif %}"),
            ("p", "甲乙双方遵循平等、自愿、公平和诚实信用原则,就使用乙方上海市级政务云基础设施服务测试资源事宜,经协商签订本意向协议。"),
            ("p", "乙方为甲方提供如下政务云测试资源:"),
        ],
    );
    doc = resource_tables(doc, schemas, false);
    // Clear of the table's bottom border.
    doc = doc.add_paragraph(
        body("乙方所提供的政务云资源应当符合协议同时期上海市级政务云的相关标准与要求。")
            .line_spacing(spacing(160, 0)),
    );
    doc = blocks_kept(
        doc,
        &[
            ("p", "服务时间:自协议签订之日起{{ months }}个月。"),
            ("p", "服务地点:上海市松江区范围,由甲方指定。"),
        ],
        1,
    );
    doc.add_table(signatures(&["甲方", "乙方"]))
}

const PARTIES: &[Block] = &[
    ("l", "甲方(采购方):{{ district.name }}"),
    ("f", "地址:{{ district.address }}"),
    ("f", "联系人:{{ district.contact }}"),
    ("f", "电话:{{ district.phone }}"),
    ("f", "邮箱:{{ district.email }}"),
    ("l", ""),
    ("l", "乙方(服务提供方):{{ provider.name }}"),
    ("f", "地址:{{ provider.address }}"),
    ("f", "联系人:{{ provider.contact }}"),
    ("f", "电话:{{ provider.phone }}"),
    ("f", "邮箱:{{ provider.email }}"),
    ("f", "开户银行:{{ provider.bank }}"),
    ("f", "帐号:{{ provider.account }}"),
    ("l", ""),
    ("l", "丙方(服务使用方):{{ unit.name }}"),
    ("f", "地址:{{ unit.address }}"),
    ("f", "联系人:{{ unit.contact }}"),
    ("f", "电话:{{ unit.phone }}"),
    ("f", "邮箱:{{ unit.email }}"),
    ("f", "开户银行:"),
    ("f", "帐号:"),
    ("l", ""),
];

const ARTICLES: &[Block] = &[
    ("p", "甲乙丙三方遵循平等、自愿、公平和诚实信用原则,就使用乙方上海市级政务云基础设施服务事宜,经协商签订本意向协议。"),
    ("h", "第一条 项目基本情况"),
    ("p", "甲方向乙方购买政务云基础设施服务提供给丙方使用,乙方所提供的服务其来源应符协议时期上海市级政务云的相关标准与要求。"),
    ("h", "第二条 服务时间及服务地点"),
    ("p", "1. 服务时间:自协议签订之日起至乙方与市大数据中心市级政务云基础设施服务合同止。甲方可以要求乙方随时停止服务。"),
    ("p", "2. 服务地点:上海市松江区范围,由丙方指定。"),
    ("h", "第三条 协议文件的组成和解释顺序"),
    ("p", "1. 本协议执行中三方共同签署的补充与修正文件及三方书面确认的明确三方权利、义务的会谈纪要;"),
    ("p", "2. 松江区市政务云资源变更申请表;"),
    ("p", "3. 本协议;"),
    ("p", "上述文件互相补充和解释,如有不明确或不一致之处,按照上述文件次序在先者为准。同一层次协议文件有矛盾的,以时间较后的为准。"),
    ("h", "第四条 服务内容与质量标准"),
    ("s", "1. 云计算服务"),
    ("p", "(1)提供满足上海市政务云专用的云计算服务基础设施要求的政务云服务,包括但不限于基础设施服务、软件支撑服务和安全技术服务。"),
    ("p", "(2)乙方应配合丙方进行部署前的测试及部署后的调试。"),
    ("p", "(3)乙方须按照甲方、丙方要求,采取资源审查、回收、优化等相应措施提高政务云服务资源总体利用率。"),
    ("p", "(4)甲方采购乙方的云资源应统一纳入市大数据中心的市级政务云云管平台管理。"),
    ("s", "2. 运行维护服务"),
    ("p", "(1)乙方须建立为甲方丙方服务的专职的运行维护团队,提供满足本市市级政务云统一管理标准的运维服务。包括但不限于为上海市政务云提供的业务培训、基础运维、业务迁移咨询等必要的运维服务。"),
    ("p", "(2)乙方须执行与市大数据中心签订的服务水平协议,确保政务云安全、稳定、可靠运行。"),
    ("s", "3. 安全服务"),
    ("p", "(1)乙方须配置专职安全技术团队保障政务云安全。"),
    ("p", "(2)乙方提供的政务云基础设施服务应满足网络安全等级保护基本要求第三级,满足《信息安全技术网络安全等级保护基本要求》(GB/T 22239-2019)第三级安全测评通用要求和云计算安全扩展要求、《信息安全技术 云计算服务安全能力要求》(GB/T 31168-2014)增强级。服务期内应通过中央网信办组织的云计算服务安全审查。"),
    ("s", "4. 质量标准"),
    ("p", "乙方所提供的服务的质量标准按照国家标准、行业标准或制造厂家企业标准确定,上述标准不一致的,以严格的标准为准。没有国家标准、行业标准和企业标准的,按地方标准、相关管理办法执行。若上述均无,按照通常标准或者符合协议目的的特定标准确定。"),
    ("s", "5. 资源起租"),
    ("p", "(1)甲乙丙三方应当书面形式确认各类型资源起租时间和资源终止时间。"),
    ("p", "(2)乙方提供的服务及提供服务所需的软硬件设备应符合国家、地方及相关政府管理部门和行业与本项目有关的各项服务标准、规范、规章要求和管理办法,并满足甲方、丙方实际需求。标准、规范等不一致的,以要求高的为准。"),
    ("s", "6. 服务考核"),
    ("p", "在服务期内,甲方、丙方有权依据管理要求每年对乙方进行服务考核,考核内容应包含但不限于政务云平台服务能力评定、政务云平台服务质量评价和政务云平台服务使用满意度评价、协议执行考核等。"),
    ("p", "考核结果与年度费用结算挂钩,具体规则如下:"),
    ("p", "当年运营考核总体得分低于90分,扣除当年结算金额的5%;"),
    ("p", "当年运营考核总体得分低于80分,扣除当年结算金额的10%;"),
    ("p", "当年运营考核总体得分低于70分,扣除当年结算金额的15%。"),
    ("h", "第五条 服务费用及支付方式"),
    ("s", "1. 服务费用"),
    ("p", "按《政务云资源开通情况表》与经甲乙丙三方确认的《松江区市政务云资源变更申请表》中的服务内容、数量、服务时间以及采购服务的单价(参照同周期乙方与市大数据中心签订的市级政务云基础设施服务价格清单)。服务价格中已包含本项目所需的材料、人工、机械、运输、包装、培训、利润、税金等一切费用。在服务价格清单以外的定制服务,甲乙丙三方另签补充协议。"),
    ("s", "2. 服务费支付方式"),
    ("p", "政务云基础设施服务费用按照先用后付、按实结算的原则进行结算。甲方有权委托第三方对乙方本年度以丙方申请甲方审核提供的政务云服务实际使用数量进行核对,按照对应的服务单价进行结算,具体结算由甲乙方另行签订合同约定。"),
    ("h", "第六条 知识产权"),
    ("p", "1. 乙方应保证所提供的服务或其任何一部分均不会侵犯任何第三方的专利权、商标权或著作权或其他知识产权、商业秘密等权利。若有,乙方应负责与第三方解决纠纷,若因此导致甲方损失的,甲方有权要求乙方赔偿甲方因此遭受的全部损失,包括但不限于直接损失、间接损失、诉讼费、律师费等。"),
    ("p", "2. 乙方为履行本协议所形成的资料、数据、软件开发等成果及其他任何附加成果(包括但不限于工作中所取得的中间数据、资料等)的知识产权和使用权均属甲方所有,乙方负有保密义务。"),
    ("p", "3. 乙方向甲方交付使用的系统、设备已享有知识产权的,甲方可在协议文件明确的范围内自主使用。"),
    ("p", "4. 三方确定,甲方丙方有权利用乙方按照本协议约定提供的开发成果,进行后续改进。由此产生的具有实质性或创造性技术进步特征的新的技术成果及其权属,由甲方丙方享有。"),
    ("h", "第七条 无产权瑕疵条款"),
    ("p", "乙方保证所提供的服务的所有权和知识产权完全属于乙方且无任何抵押、查封等产权瑕疵。如有产权瑕疵的,视为乙方违约。乙方应负担由此而产生的一切损失。"),
    ("h", "第八条 甲方的权利和义务"),
    ("p", "甲方有权对协议规定范围内乙方的服务行为进行监督和检查,拥有监管权。甲方对乙方不符合本协议要求的部分有权下达整改通知书,并要求乙方限期整改。乙方整改后仍不能满足本协议要求的,甲方有权利终止本协议。"),
    ("h", "第九条 乙方的权利和义务"),
    ("p", "1. 乙方应当履行本协议规定的委托服务范围内的服务义务,履行对本项目的管理责任。"),
    ("p", "2. 乙方接受甲方的监督,及时向甲方通告本项目服务范围内有关服务的重大事项,及时配合处理投诉。"),
    ("p", "3. 乙方应当按照《关于加强党政部门云计算服务网络安全管理的意见》和《信息安全技术 云计算服务安全能力要求》标准对承载甲方及甲方最终用户的数据和应用的政务云平台进行管理,提供安全的云计算服务,并与甲方一起,接受行业管理部门及政府有关部门的管理、审查和检查。"),
    ("p", "4. 乙方有权根据本协议的规定向甲方收取相关服务费用。"),
    ("p", "5. 如果乙方确实需要第三方合作才能完成协议规定的服务内容,达到协议规定的服务质量的,应事先征得甲方书面同意,并由乙方承担第三方提供服务的费用,且乙方应当确保第三方遵守不低于本协议下乙方应当遵守的保密义务,由第三方完成的部分,乙方与第三方承担连带责任。"),
    ("p", "6. 乙方应协助甲方建立健全配套制度标准,包括:运行维护制度、应急预案、安全保障制度、运行监管办法等。"),
    ("p", "7. 在乙方提供运行维护服务期间,乙方应负责政务云平台的具体管理、运行监控、安全防护等工作,按甲方需求定期向甲方提供书面报告。"),
    ("p", "8. 在服务期满后,如乙方不再提供云计算服务,乙方应无条件配合甲方完成相关数据和应用的迁移和切换工作,切换期最长不超过1个月。"),
    ("p", "9. 在重大活动期间,乙方应配合甲方制定预案并提供政务云平台的现场值守等服务。"),
    ("p", "10. 乙方应承诺其不会向甲方员工提供任何会导致其违反中国的法律和法规、中国共产党党内法规以及国家和上海市有关规定的礼品、招待或其他利益。"),
    ("p", "11. 未经甲方书面同意,乙方不得将本协议项下的任何权利义务转让于任何第三方。"),
    ("p", "12. 乙方应承担同服务周期乙方与市大数据中心签订的合同、服务水平协议以及参与投标时在投标文件中承诺应该达成的服务质量和其他相关义务。"),
    ("h", "第十条 丙方的权利和义务"),
    ("p", "丙方最终用户的数据和业务部署到乙方的政务云平台后,丙方有权对乙方提供的云计算服务的功能、性能和安全情况进行测试,并要求乙方配合完成。"),
    ("h", "第十一条 安全"),
    ("p", "1. 安全能力要求。乙方应保证安全能力达到《信息安全技术 云计算服务安全能力》要求并通过第三方安全测评。"),
    ("p", "2. 安全责任划分。乙方向甲方丙方提供电子政务云服务,乙方安全责任边界为乙方平台底座。"),
    ("p", "3. 保密与所有权。"),
    ("p", "(1)甲方丙方提供给乙方的数据、设备等资源,以及政务云平台上甲方业务系统运行过程中收集、产生、存储的数据和文档等都属甲方丙方所有。乙方应保证甲方丙方对这些资源的访问、利用、支配等权利。"),
    ("p", "(2)甲方丙方提供给乙方的各种文档资料,及三方共同完成的涉及甲方丙方的相关资料都归甲方丙方所有,乙方应在协议终止时归还给甲方丙方。甲方丙方对所拥有的文件和资料具有不受限的权利。"),
    ("p", "(3)乙方应将甲方丙方的数据、政务云平台上系统运行过程中收集、产生、存储的数据和文档等作为保密内容对待,未经甲方丙方许可(书面授权),乙方不得访问、修改、披露、利用、转移、转让、销毁甲方丙方的数据。在服务协议终止时,应按甲方丙方要求做好数据、文档等资源的移交和清除工作。"),
    ("p", "(4)乙方应确定甲方丙方及其用户数据和业务运行、存放或备份所涉及的所有数据中心,且保证以上数据中心驻留在中华人民共和国境内,不得依据外国的法律和司法要求,将甲方丙方及其用户数据在境外传输、处理、存储。"),
    ("p", "(5)乙方及其相关方为履行本协议在甲方丙方指定场所工作期间需按照甲方丙方的保密管理要求开展工作,具体要求甲方丙方在乙方及其相关方进入指定场所前将书面告知。无论本协议以何种事由终止或者解除,乙方及其相关方的保密义务自获得保密信息之日起持续有效。"),
    ("p", "4. 应急响应。一旦发生信息安全事件,乙方应立即按照预先制定的《应急响应方案》执行应急响应措施。乙方应每年对《应急响应方案》进行风险评估,并根据评估结果更新《应急响应方案》。乙方应按照《应急响应方案》开展应急响应演练活动。"),
    ("p", "5. 灾难事件发生后,乙方应立即按照预先制定的《灾难恢复方案》执行灾难恢复措施。乙方应每年对《灾难恢复》进行风险评估,并根据评估结果更新《灾难恢复方案》。"),
    ("p", "6. 乙方不得在控制或操作系统、组成部分、设备中设置、安装、植入、运行具有使用限制、修改、监控、信息收集或传递、远程控制等影响、妨碍正常使用功能及搜集信息的程序、代码、软件、密码、装置,设置、后门及影响正常使用的其他软件、硬件装置。"),
    ("h", "第十二条 违约责任"),
    ("p", "1. 甲乙丙三方必须遵守本协议并执行协议中的各项规定,保证本协议的正常履行。"),
    ("p", "2. 如因乙方工作人员在履行职务过程中的疏忽、失职、过错等故意或者过失原因给甲方造成损失或侵害,乙方对此承担相应赔偿责任。"),
    ("p", "3. 政务云服务运营采用闭环管理,乙方在实际运行过程中服务承诺标准不能满足或出现问题的,乙方对此承担相应补偿责任。"),
    ("h", "第十三条 不可抗力事件处理"),
    ("p", "1. 在协议有效期内,任何一方因不可抗力事件导致不能履行协议,则协议履行期可延长,其延长期与不可抗力影响期相同。"),
    ("p", "2. 不可抗力事件发生后,应立即书面通知对方,并寄送有关权威机构出具的证明。"),
    ("p", "3. 不可抗力事件延续30天以上,三方应通过友好协商,确定是否继续履行协议。"),
    ("p", "4. 受不可抗力影响的一方,应当尽可能地采取必要的行为和适当的措施减轻不可抗力对本协议的履行所造成的影响,若因没有采取适当措施致使另一方损失扩大的,该方不得就扩大损失的部分要求免责或赔偿。"),
    ("p", "5. 一方在迟延履行本协议时,发生了不可抗力的情况,迟延方的协议义务不能免除。"),
    ("h", "第十四条 解决协议纠纷的方式"),
    ("p", "1. 在执行本协议中发生的或与本协议有关的争端,三方应通过友好协商解决,经协商在30天内不能达成协议时,任何一方均可以向甲方所在地有管辖权的法院起诉。"),
    ("p", "2. 在诉讼期间,除争议事项外,三方应继续行使其在本协议项下的其它权利,履行其在本协议项下的其它义务。"),
    ("h", "第十五条 其他"),
    ("p", "1. 本协议一式三份,以中文书写,签字各方各执一份。"),
    ("p", "2. 本协议中三方的地址、电话、邮箱等联系方式为各自文书、信息送达地址,同时也作为三方争议发生时的各自法律文书送达地址(包括原审、二审、再审、执行及仲裁等),变更须提前书面通知对方。"),
    ("l", ""),
    ("l", "附件:政务云资源开通情况表"),
];

fn formal_agreement(schemas: &Schemas) -> Docx {
    let mut doc = page().add_paragraph(title("松江区市政务云资源服务使用正式协议"));
    doc = blocks(doc, PARTIES);
    // The last clause and the attachment line stay with the signatures.
    doc = blocks_kept(doc, ARTICLES, 3);
    doc = stacked_signatures(doc, &["甲方", "乙方", "丙方"]);
    doc = doc.add_paragraph(title("政务云资源开通情况表").page_break_before(true));
    doc = blocks(doc, &project_lines());
    doc = blocks(doc, &[("l", "{%p endif %}")]);
    resource_tables(doc, schemas, true)
}
