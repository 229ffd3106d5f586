//! Blank forms (`zwyun blank`): the published layout of 附件1 / 附件4,
//! labels, dropdowns and the service grid all generated from the schemas,
//! so a form edited in YAML and the form handed out never disagree.

use std::path::Path;

use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, Format, FormatAlign, FormatBorder, Workbook,
    Worksheet, XlsxError,
};

use crate::layout::{self, Heights, Page, BODY_PT};
use crate::model::{Application, FormKind, Host};
use crate::schema::{FieldSpec, FormSchema, Schemas};

struct Sheet<'a> {
    ws: &'a mut Worksheet,
    /// Values to fill in (generated submissions); None for a blank form.
    fill: Option<&'a Application>,
    schema: &'a FormSchema,
    schemas: &'a Schemas,
    label: Format,
    value: Format,
    section: Format,
    heights: Heights,
}

/// Column widths: labels of up to five characters, the service grid's
/// items, 备注 over the last two columns.
const WIDTHS: [f64; 10] = [12.0, 11.0, 11.0, 14.0, 11.0, 12.0, 12.0, 10.0, 12.0, 12.0];
/// Height of a row a unit writes in by hand, on paper.
const HANDWRITING_MM: f64 = 9.0;

/// Row height (points, before the sheet is shrunk to the page width) that
/// prints [`HANDWRITING_MM`] tall.
fn writing_height() -> f64 {
    layout::mm(HANDWRITING_MM) / layout::fit_scale(&WIDTHS, false)
}

/// The choices of a field as the paper form prints them, every box empty
/// (`□市级 □区级 □自费`), a line broken between two options where the
/// cell is `width` units narrow. The reader takes an untouched one for
/// nothing chosen.
fn printed_options(choices: &[String], width: f64) -> String {
    let boxed: Vec<String> = choices
        .iter()
        .map(|c| format!("{}{c}", crate::render::context::UNTICKED))
        .collect();
    let parts: Vec<&str> = boxed.iter().map(String::as_str).collect();
    layout::wrap_parts(&parts, " ", width)
}

/// A dropdown of `choices` that still takes what a unit types instead
/// (`☑市级`, which the reader understands), with a warning.
fn dropdown(choices: &[String]) -> Result<DataValidation, XlsxError> {
    DataValidation::new()
        .allow_list_strings(choices)?
        .set_error_style(DataValidationErrorStyle::Warning)
        .set_error_title("请从下拉列表中选择")?
        .set_error_message("输入的内容不是下拉列表中的选项。请从列表中选择;确要保留(如打勾的写法“☑市级”)请点“是”。")
}

fn span_width(c1: u16, c2: u16) -> f64 {
    WIDTHS[c1 as usize..=c2 as usize].iter().sum()
}

impl Sheet<'_> {
    /// Room for `text` over the cells (r1, c1)..=(r2, c2).
    fn fit(&mut self, r1: u32, c1: u16, r2: u32, c2: u16, text: &str) {
        self.heights.fit(r1, r2, text, span_width(c1, c2), BODY_PT);
    }

    fn spec(&self, key: &str) -> Option<&FieldSpec> {
        self.schema.field(key)
    }

    /// Label at (row, col), value merged over `value_cols`, with a dropdown
    /// when the field is a choice.
    fn field(
        &mut self,
        row: u32,
        col: u16,
        key: &str,
        value_cols: (u16, u16),
    ) -> Result<(), XlsxError> {
        let Some(spec) = self.spec(key).cloned() else {
            return Ok(());
        };
        self.ws
            .write_string_with_format(row, col, spec.name(), &self.label)?;
        self.fit(row, col, row, col, spec.name());
        let width = span_width(value_cols.0, value_cols.1);
        let value = self.value_of(key, &spec.choices, width);
        self.merge(row, value_cols.0, row, value_cols.1, &value)?;
        self.heights.at_least(row, writing_height());
        if !spec.choices.is_empty() {
            self.ws.add_data_validation(
                row,
                value_cols.0,
                row,
                value_cols.0,
                &dropdown(&spec.choices)?,
            )?;
        }
        Ok(())
    }

    /// The filled value, or on a blank form the printed options of a choice.
    fn value_of(&self, key: &str, choices: &[String], width: f64) -> String {
        match self.fill {
            Some(a) => a.fields.get(key).cloned().unwrap_or_default(),
            None if !choices.is_empty() => printed_options(choices, width),
            None => String::new(),
        }
    }

    /// Text, or a number when it reads as one (as a unit's Excel would).
    /// Writes `text` over the range: as a number when it reads as one (as
    /// a unit's Excel would store it), else as text.
    fn merge(&mut self, r1: u32, c1: u16, r2: u32, c2: u16, text: &str) -> Result<(), XlsxError> {
        let number = text.parse::<f64>().ok();
        self.fit(r1, c1, r2, c2, text);
        if (r1, c1) != (r2, c2) {
            let shown = if number.is_some() { "" } else { text };
            self.ws.merge_range(r1, c1, r2, c2, shown, &self.value)?;
        }
        match number {
            Some(n) => self.ws.write_number_with_format(r1, c1, n, &self.value)?,
            None => self
                .ws
                .write_string_with_format(r1, c1, text, &self.value)?,
        };
        Ok(())
    }

    fn section(&mut self, row: u32, text: &str) -> Result<(), XlsxError> {
        self.ws.merge_range(row, 0, row, 9, text, &self.section)?;
        Ok(())
    }

    /// A block label over `rows` rows with a merged free-text area.
    fn text_block(&mut self, row: u32, rows: u32, key: &str) -> Result<(), XlsxError> {
        let name = self
            .spec(key)
            .map(|s| s.name().to_string())
            .unwrap_or_default();
        self.ws
            .merge_range(row, 0, row + rows - 1, 0, &name, &self.label)?;
        self.fit(row, 0, row + rows - 1, 0, &name);
        let value = self.value_of(key, &[], 0.0);
        self.fit(row, 1, row + rows - 1, 9, &value);
        self.ws
            .merge_range(row, 1, row + rows - 1, 9, &value, &self.value)?;
        Ok(())
    }

    /// Header row and `n` host rows (filled from `hosts`) with dropdowns;
    /// returns the next row.
    fn hosts(&mut self, row: u32, n: u32, hosts: &[Host]) -> Result<u32, XlsxError> {
        let columns = self.schemas.hosts.clone();
        for (c, col) in columns.iter().enumerate() {
            let c = c as u16;
            if col.key == "note" {
                self.ws
                    .merge_range(row, c, row, 9, col.name(), &self.label)?;
                self.fit(row, c, row, 9, col.name());
            } else {
                self.ws
                    .write_string_with_format(row, c, col.name(), &self.label)?;
                self.fit(row, c, row, c, col.name());
            }
            for r in row + 1..=row + n {
                let value = match hosts.get((r - row - 1) as usize) {
                    Some(h) => host_value(h, &col.key),
                    None if self.fill.is_none() && !col.choices.is_empty() => {
                        printed_options(&col.choices, WIDTHS[c as usize])
                    }
                    None => String::new(),
                };
                let last = if col.key == "note" { 9 } else { c };
                self.merge(r, c, r, last, &value)?;
            }
            if !col.choices.is_empty() {
                let dv = dropdown(&col.choices)?;
                self.ws.add_data_validation(row + 1, c, row + n, c, &dv)?;
            }
        }
        self.writing_rows(row + 1, row + n);
        Ok(row + n + 1)
    }

    /// Rows `first..=last` tall enough to write in by hand.
    fn writing_rows(&mut self, first: u32, last: u32) {
        for r in first..=last {
            self.heights.at_least(r, writing_height());
        }
    }

    /// Header rows 1–7 common to both forms.
    fn header(&mut self, provider_label_cols: (u16, u16)) -> Result<(), XlsxError> {
        let title = layout::song(16.0)
            .set_bold()
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter);
        self.ws
            .merge_range(0, 0, 0, 9, &self.schema.title, &title)?;
        self.heights.at_least(0, 30.0);
        self.field(1, 7, "date", (8, 9))?;
        self.field(2, 0, "unit", (1, 4))?;
        self.field(2, 5, "project_name", (6, 9))?;
        self.field(3, 0, "project_code", (1, 4))?;
        self.field(3, 5, "provider", provider_label_cols)?;
        self.field(4, 0, "ownership", (1, 4))?;
        self.field(4, 5, "arch", (6, 9))?;
        self.field(5, 0, "contact", (1, 2))?;
        self.field(5, 3, "phone", (4, 5))?;
        self.field(5, 6, "email", (7, 9))?;
        Ok(())
    }
}

fn host_value(h: &Host, key: &str) -> String {
    match key {
        "kind" => h.kind.clone(),
        "cpu" => h.cpu.to_string(),
        "memory_gb" => h.memory_gb.to_string(),
        "os" => h.os.clone(),
        "system_disk_gb" => h.system_disk_gb.to_string(),
        "data_disk_gb" => h.data_disk_gb.to_string(),
        "zone" => h.zone.clone(),
        "count" => h.count.to_string(),
        "note" => h.note.clone(),
        _ => String::new(),
    }
}

fn formats() -> (Format, Format, Format) {
    let base = layout::song(BODY_PT)
        .set_border(FormatBorder::Thin)
        .set_text_wrap()
        .set_align(FormatAlign::VerticalCenter);
    let label = base
        .clone()
        .set_bold()
        .set_align(FormatAlign::Center)
        .set_background_color("F2F2F2");
    let section = base.clone().set_bold().set_background_color("D9E1F2");
    (label, base, section)
}

pub fn write(kind: FormKind, schemas: &Schemas, path: &Path) -> Result<(), XlsxError> {
    let bytes = workbook(kind, schemas, None)?;
    std::fs::write(path, bytes)?;
    Ok(())
}

/// The form as .xlsx bytes, blank or (附件1) filled with `fill`.
pub fn workbook(
    kind: FormKind,
    schemas: &Schemas,
    fill: Option<&Application>,
) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let schema = schemas.form(kind);
    let (label, value, section) = formats();
    let ws = wb.add_worksheet();
    ws.set_name(schema.sheet.as_deref().unwrap_or("Sheet1"))?;
    for (c, w) in WIDTHS.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    layout::a4(
        ws,
        &Page {
            landscape: false,
            repeat_rows: Some((0, 0)),
        },
    )?;
    let mut sheet = Sheet {
        ws,
        fill,
        schema,
        schemas,
        label,
        value,
        section,
        heights: Heights::default(),
    };
    sheet.header((6, 9))?;
    match kind {
        FormKind::Annex1 => annex1(&mut sheet)?,
        FormKind::Annex4 => annex4(&mut sheet)?,
    }
    let Sheet { ws, heights, .. } = sheet;
    heights.apply(ws)?;
    instructions(&mut wb, kind, &schema.title)?;
    wb.save_to_buffer()
}

fn annex1(s: &mut Sheet) -> Result<(), XlsxError> {
    s.field(6, 0, "address", (1, 9))?;
    s.section(7, "项目概况")?;
    s.field(8, 0, "business", (1, 9))?;
    s.field(9, 0, "audience", (1, 4))?;
    s.field(9, 5, "user_count", (6, 9))?;
    s.field(10, 0, "concurrency", (1, 4))?;
    s.field(10, 5, "peak", (6, 9))?;
    s.field(11, 0, "level", (1, 4))?;
    s.field(11, 5, "classified", (6, 9))?;
    s.field(12, 0, "backup", (1, 9))?;
    s.field(13, 0, "dr", (1, 9))?;
    let section = s.schema.tables[0].section.clone();
    s.section(14, &section)?;
    let hosts = s.fill.map(|a| a.config.hosts.clone()).unwrap_or_default();
    let next = s.hosts(15, hosts.len().max(4) as u32, &hosts)?;
    let next = services(s, next)?;
    s.text_block(next, 3, "note")?;
    s.text_block(next + 3, 3, "district_opinion")?;
    Ok(())
}

/// The service grid: two items a row, grouped by 服务分项 and 服务类型.
fn services(s: &mut Sheet, row: u32) -> Result<u32, XlsxError> {
    let head = [
        (0, 0, "服务类型"),
        (1, 1, "服务分项"),
        (2, 3, "服务项目"),
        (4, 4, "数量"),
        (5, 6, "服务项目"),
        (7, 7, "数量"),
        (8, 9, "说明"),
    ];
    for (c1, c2, t) in head {
        if c1 == c2 {
            s.ws.write_string_with_format(row, c1, t, &s.label)?;
        } else {
            s.ws.merge_range(row, c1, row, c2, t, &s.label)?;
        }
    }
    // (category, group, [(printed name, quantity)]), two items a row.
    type Line = (String, String, Vec<(String, String)>);
    let mut lines: Vec<Line> = Vec::new();
    for item in &s.schemas.catalogue.items {
        let qty = s
            .fill
            .and_then(|a| a.config.services.get(&item.key))
            .map(|q| q.to_string())
            .unwrap_or_default();
        let entry = (format!("□{}", item.name), qty);
        match lines.last_mut() {
            Some((cat, group, items))
                if *cat == item.category && *group == item.group && items.len() < 2 =>
            {
                items.push(entry)
            }
            _ => lines.push((item.category.clone(), item.group.clone(), vec![entry])),
        }
    }
    let mut r = row + 1;
    let mut cat_start = r;
    for (i, (cat, group, items)) in lines.iter().enumerate() {
        s.ws.write_string_with_format(r, 1, group, &s.value)?;
        let empty = (String::new(), String::new());
        let (left, right) = (&items[0], items.get(1).unwrap_or(&empty));
        s.merge(r, 2, r, 3, &left.0)?;
        s.merge(r, 4, r, 4, &left.1)?;
        s.merge(r, 5, r, 6, &right.0)?;
        s.merge(r, 7, r, 7, &right.1)?;
        s.merge(r, 8, r, 9, "")?;
        let last_of_cat = lines.get(i + 1).is_none_or(|(c, _, _)| c != cat);
        if last_of_cat {
            s.merge(cat_start, 0, r, 0, cat)?;
            cat_start = r + 1;
        }
        r += 1;
    }
    s.writing_rows(row + 1, r - 1);
    Ok(r)
}

fn annex4(s: &mut Sheet) -> Result<(), XlsxError> {
    let tables = s.schema.tables.clone();
    let section = |key: &str| {
        tables
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.section.clone())
            .unwrap_or_default()
    };
    s.section(6, &section("current_hosts"))?;
    s.hosts(7, 3, &[])?;
    s.section(
        11,
        &format!("{}(填写变更后的全部资源配置)", section("proposed_hosts")),
    )?;
    s.hosts(12, 3, &[])?;
    let other = s.schema.other_services.clone();
    if let Some(o) = other {
        s.section(16, &o.section)?;
        s.ws.merge_range(17, 0, 17, 2, o.name.first(), &s.label)?;
        s.ws.write_string_with_format(17, 3, o.before.first(), &s.label)?;
        s.ws.write_string_with_format(17, 4, o.after.first(), &s.label)?;
        s.ws.merge_range(17, 5, 17, 9, o.note.first(), &s.label)?;
        for r in 18..22 {
            s.merge(r, 0, r, 2, "")?;
            s.ws.write_blank(r, 3, &s.value)?;
            s.ws.write_blank(r, 4, &s.value)?;
            s.merge(r, 5, r, 9, "")?;
        }
        s.writing_rows(18, 21);
    }
    s.text_block(22, 3, "note")?;
    s.text_block(25, 2, "provider_opinion")?;
    s.text_block(27, 2, "district_opinion")?;
    Ok(())
}

fn instructions(wb: &mut Workbook, kind: FormKind, title: &str) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name("填表说明")?;
    ws.set_column_width(0, 90)?;
    layout::a4(
        ws,
        &Page {
            landscape: false,
            repeat_rows: None,
        },
    )?;
    let heading = layout::song(16.0)
        .set_bold()
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    ws.write_string_with_format(0, 0, format!("{title} 填表说明"), &heading)?;
    ws.set_row_height(0, 36)?;
    let common = [
        "1. 请勿修改表格标题、栏目标签和表头;可在主机表格中插入行。",
        "2. 带下拉框的栏目请从下拉列表中选择;数量、CPU、内存等填写数字。",
        "3. 联系电话填写 11 位手机号或带区号的座机号(如 021-57700000)。",
        "4. “区科创中心意见”由区科技创新服务中心填写,申请单位请留空。",
        "5. 填好后请保存为 .xlsx 格式提交,不要设置文件密码。",
    ];
    let specific: &[&str] = match kind {
        FormKind::Annex1 => &[
            "6. 项目概况、备份方案、容灾方案均为必填(细则 五(一))。",
            "7. 计算资源每行一类主机,CPU、内存、磁盘为单台配置,台数为该类主机数量。",
            "8. 服务项目在其右侧“数量”栏填写数量;无计量单位的服务填 1 或 √ 表示申请。",
        ],
        FormKind::Annex4 => &[
            "6. “拟变更的政务云资源”填写变更后的全部资源配置(含不变的主机)。",
            "7. 扩容后各项资源总量不得超过批准配额的 120%(细则 五(四))。",
            "8. 提交前须由政务云服务商在“政务云服务商意见”栏确认。",
        ],
    };
    let wrap = layout::song(BODY_PT).set_text_wrap();
    for (i, line) in common.iter().chain(specific).enumerate() {
        let r = i as u32 + 1;
        ws.write_string_with_format(r, 0, *line, &wrap)?;
        ws.set_row_height(r, layout::height(layout::lines(line, 90.0), BODY_PT))?;
    }
    Ok(())
}
