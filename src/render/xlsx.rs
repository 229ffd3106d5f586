//! The 政务云资源开通情况表 as a workbook: the seed's layout (host rows
//! with CPU and 内存 lines, the service grid, 其他服务项), merged header
//! cells, borders, widths for Chinese text, A4 fit-to-width printing.

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use std::collections::BTreeMap;

use super::context::{self, OtherService, Service};
use super::{grid, RenderError, OPENING_TABLE_DOC};
use crate::layout::{self, Heights, Page, BODY_PT};
use crate::model::{Application, Config, Host};
use crate::schema::Schemas;

/// Column widths for Chinese text: 服务类型 (4 characters), 服务分项 (6),
/// 服务项目 (9 with its tick box), 数量, 说明, 台数; 92 units print one A4
/// page wide without shrinking. The 数量 and 台数 columns widen to their
/// widest figure, taken from 说明 (see [`widths`]).
const WIDTHS: [f64; 6] = [10.0, 14.0, 20.0, 9.0, 32.0, 7.0];
/// 说明 is never made narrower than this (two items of a host a line).
const MIN_DESCRIPTION: f64 = 22.0;
const TITLE_PT: f64 = 16.0;
/// Up to this many host classes the table prints on one page (shrunk a
/// little when needed); more are laid out page by page: a host never split,
/// the column header again at the top of each page of hosts, the service
/// grid on a page of its own when it would not fit below the hosts.
const ONE_PAGE_HOSTS: usize = 4;
/// Room kept free at the foot of each page, in points: LibreOffice and
/// Excel round row heights a little differently.
const PAGE_SLACK_PT: f64 = 24.0;
const HOST_HEADER: [(u16, u16, &str); 5] = [
    (0, 1, "服务类型"),
    (2, 2, "服务项目"),
    (3, 3, "数量"),
    // Broken where a clerk would break it, not before its `）`.
    (4, 4, "说明\n（系统盘、数据盘、操作系统、网络区域）"),
    (5, 5, "台数"),
];

struct Formats {
    title: Format,
    info: Format,
    head: Format,
    cell: Format,
    centre: Format,
    cores: Format,
    gigabytes: Format,
}

impl Formats {
    fn new() -> Formats {
        let base = layout::song(BODY_PT)
            .set_text_wrap()
            .set_align(FormatAlign::VerticalCenter);
        let cell = base.clone().set_border(FormatBorder::Thin);
        let centre = cell.clone().set_align(FormatAlign::Center);
        Formats {
            title: base
                .clone()
                .set_bold()
                .set_font_size(TITLE_PT)
                .set_align(FormatAlign::Center),
            info: base,
            head: cell
                .clone()
                .set_bold()
                .set_align(FormatAlign::Center)
                .set_background_color(0xF2F2F2),
            cores: centre.clone().set_num_format("0\"核\""),
            gigabytes: centre.clone().set_num_format("0\"GB\""),
            centre,
            cell,
        }
    }
}

/// What a cell holds: text, or a figure shown as `shown` (with its unit).
enum Value {
    Text(String),
    Number { value: f64, shown: String },
}

impl Value {
    fn text(&self) -> &str {
        match self {
            Value::Text(t) => t,
            Value::Number { shown, .. } => shown,
        }
    }
}

/// A quantity as a number, or an empty cell when there is none.
fn quantity(qty: &str) -> Value {
    match qty.parse::<f64>() {
        Ok(value) => Value::Number {
            value,
            shown: qty.to_string(),
        },
        Err(_) => Value::Text(qty.to_string()),
    }
}

/// The column widths for `config`: the 数量 and 台数 columns as wide as
/// their widest figure (measured as [`layout::units`] does), the extra
/// taken from 说明 first; the sheet is wider (and printed a little smaller)
/// only when 说明 cannot give enough.
fn widths(
    config: &Config,
    services: &BTreeMap<String, Service>,
    others: &[OtherService],
) -> [f64; 6] {
    let mut qty: Vec<String> = vec!["数量".into()];
    let mut count: Vec<String> = vec!["台数".into()];
    for h in &config.hosts {
        qty.push(format!("{}核", h.cpu));
        qty.push(format!("{}GB", h.memory_gb));
        count.push(h.count.to_string());
    }
    for row in grid::rows() {
        let get = |k: &str| services.get(k).map(|s| s.qty.clone()).unwrap_or_default();
        qty.push(get(row.left));
        count.extend(row.right.map(get));
    }
    qty.extend(others.iter().map(|o| o.qty.clone()));
    let fit = |texts: &[String], min: f64| {
        texts
            .iter()
            .map(|t| layout::units(t) + 2.0)
            .fold(min, f64::max)
    };
    let mut w = WIDTHS;
    w[3] = fit(&qty, WIDTHS[3]);
    w[5] = fit(&count, WIDTHS[5]);
    let extra = w[3] - WIDTHS[3] + w[5] - WIDTHS[5];
    w[4] = (WIDTHS[4] - extra).max(MIN_DESCRIPTION);
    w
}

/// A cell to write: rows and columns it spans, its value and format.
type PlacedCell = ((u32, u32), (u16, u16), Value, Format);

/// Writes a cell, or a merged range when it spans more than one.
struct Sheet<'a> {
    ws: &'a mut Worksheet,
    f: Formats,
    widths: [f64; 6],
    row: u32,
    heights: Heights,
    page_breaks: Vec<u32>,
    /// Rows of the page being filled: from here to `row`.
    page_top: u32,
}

impl Sheet<'_> {
    fn width(&self, cols: (u16, u16)) -> f64 {
        self.widths[cols.0 as usize..=cols.1 as usize].iter().sum()
    }

    fn put(
        &mut self,
        rows: (u32, u32),
        cols: (u16, u16),
        text: &str,
        format: &Format,
    ) -> Result<(), XlsxError> {
        self.put_value(rows, cols, &Value::Text(text.to_string()), format)
    }

    fn put_value(
        &mut self,
        rows: (u32, u32),
        cols: (u16, u16),
        value: &Value,
        format: &Format,
    ) -> Result<(), XlsxError> {
        let width = self.width(cols);
        self.heights
            .fit(rows.0, rows.1, value.text(), width, BODY_PT);
        let single = rows.0 == rows.1 && cols.0 == cols.1;
        match value {
            Value::Text(text) if single => {
                self.ws
                    .write_string_with_format(rows.0, cols.0, text, format)?;
            }
            Value::Text(text) => {
                self.ws
                    .merge_range(rows.0, cols.0, rows.1, cols.1, text, format)?;
            }
            Value::Number { value, .. } => {
                if !single {
                    self.ws
                        .merge_range(rows.0, cols.0, rows.1, cols.1, "", format)?;
                }
                self.ws
                    .write_number_with_format(rows.0, cols.0, *value, format)?;
            }
        }
        Ok(())
    }

    fn title(&mut self, app: &Application) -> Result<(), XlsxError> {
        let f = self.f.title.clone();
        self.put((0, 0), (0, 5), OPENING_TABLE_DOC, &f)?;
        self.heights.at_least(0, 30.0);
        let h = &app.header;
        let code = h
            .project_code
            .as_deref()
            .map(|c| format!("  项目编号：{c}"))
            .unwrap_or_default();
        let info = format!("使用单位：{}  项目名称：{}{code}", h.unit, h.project_name);
        let f = self.f.info.clone();
        self.put((1, 1), (0, 5), &info, &f)?;
        self.row = 2;
        self.page_top = 2;
        Ok(())
    }

    fn ownership(&mut self, app: &Application, schemas: &Schemas) -> Result<(), XlsxError> {
        let p = context::project(app, schemas);
        let (r, head, cell) = (self.row, self.f.head.clone(), self.f.cell.clone());
        self.put((r, r), (0, 1), "上云项目归属", &head)?;
        self.put((r, r), (2, 2), &p.ownership_ticks, &cell)?;
        self.put((r, r), (3, 3), "系统架构", &head)?;
        self.put((r, r), (4, 5), &p.arch_ticks, &cell)?;
        self.row += 1;
        Ok(())
    }

    /// Points a page holds below the title rows repeated on it.
    fn page_room(&self) -> f64 {
        layout::PORTRAIT_HEIGHT_PT - self.heights.total(0, 1) - PAGE_SLACK_PT
    }

    /// Points used on the page being filled.
    fn page_used(&self) -> f64 {
        if self.row == self.page_top {
            return 0.0;
        }
        self.heights.total(self.page_top, self.row - 1)
    }

    fn new_page(&mut self) {
        self.page_breaks.push(self.row);
        self.page_top = self.row;
    }

    fn host_header(&mut self) -> Result<(), XlsxError> {
        let (r, head) = (self.row, self.f.head.clone());
        for (c1, c2, t) in HOST_HEADER {
            self.put((r, r), (c1, c2), t, &head)?;
        }
        self.row += 1;
        Ok(())
    }

    /// The host rows, page by page when there are many: a host (its CPU
    /// and 内存 rows) never split, the column header at the top of each
    /// page, 计算资源 labelling the hosts of each page.
    fn hosts(&mut self, hosts: &[Host]) -> Result<(), XlsxError> {
        self.host_header()?;
        let blank = [Host {
            kind: "云主机/物理机".into(),
            ..blank_host()
        }];
        let filled = !hosts.is_empty();
        let list = if filled { hosts } else { &blank[..] };
        let paged = hosts.len() > ONE_PAGE_HOSTS;
        let mut first = self.row;
        for h in list {
            let cells = self.host_cells(h, filled);
            if paged && self.row > first {
                let mut probe = Heights::default();
                for (rows, cols, value, _) in &cells {
                    probe.fit(rows.0, rows.1, value.text(), self.width(*cols), BODY_PT);
                }
                if self.page_used() + probe.total(0, 1) > self.page_room() {
                    self.label_hosts(first)?;
                    self.new_page();
                    self.host_header()?;
                    first = self.row;
                }
            }
            let r = self.row;
            for (rows, cols, value, format) in cells {
                self.put_value((r + rows.0, r + rows.1), cols, &value, &format)?;
            }
            self.row += 2;
        }
        self.label_hosts(first)
    }

    fn label_hosts(&mut self, first: u32) -> Result<(), XlsxError> {
        let head = self.f.head.clone();
        self.put((first, self.row - 1), (0, 0), "计算资源", &head)
    }

    /// The cells of one host, rows counted from its first row.
    fn host_cells(&self, h: &Host, filled: bool) -> Vec<PlacedCell> {
        let f = &self.f;
        let figure = |value: u32, unit: &str| {
            if filled {
                Value::Number {
                    value: f64::from(value),
                    shown: format!("{value}{unit}"),
                }
            } else {
                Value::Text(String::new())
            }
        };
        let desc = if filled {
            describe(h, self.widths[4])
        } else {
            String::new()
        };
        vec![
            (
                (0, 1),
                (1, 1),
                Value::Text(h.kind.clone()),
                f.centre.clone(),
            ),
            ((0, 0), (2, 2), Value::Text("CPU".into()), f.centre.clone()),
            ((1, 1), (2, 2), Value::Text("内存".into()), f.centre.clone()),
            ((0, 0), (3, 3), figure(h.cpu, "核"), f.cores.clone()),
            (
                (1, 1),
                (3, 3),
                figure(h.memory_gb, "GB"),
                f.gigabytes.clone(),
            ),
            ((0, 1), (4, 4), Value::Text(desc), f.cell.clone()),
            ((0, 1), (5, 5), figure(h.count, ""), f.centre.clone()),
        ]
    }

    fn services(&mut self, services: &BTreeMap<String, Service>) -> Result<(), XlsxError> {
        let (head, cell, centre) = (
            self.f.head.clone(),
            self.f.cell.clone(),
            self.f.centre.clone(),
        );
        let r = self.row;
        self.put((r, r), (0, 1), "服务类型", &head)?;
        for (c, t) in [(2, "服务项目"), (3, "数量"), (4, "服务项目"), (5, "数量")] {
            self.put((r, r), (c, c), t, &head)?;
        }
        let first = r + 1;
        let rows: Vec<&grid::GridRow> = grid::rows().collect();
        for (i, g) in rows.iter().enumerate() {
            let r = first + i as u32;
            for (col, key) in [(2u16, Some(g.left)), (4, g.right)] {
                let (label, qty) = key
                    .and_then(|k| services.get(k))
                    .map(|s| (format!("{}{}", s.tick, s.name), s.qty.clone()))
                    .unwrap_or_default();
                self.put((r, r), (col, col), &label, &cell)?;
                self.put_value((r, r), (col + 1, col + 1), &quantity(&qty), &centre)?;
            }
        }
        for (span, text) in runs(&rows, |g| g.category) {
            self.put((first + span.0, first + span.1), (0, 0), text, &head)?;
        }
        for (span, text) in runs(&rows, |g| g.group) {
            self.put((first + span.0, first + span.1), (1, 1), text, &centre)?;
        }
        self.row = first + rows.len() as u32;
        Ok(())
    }

    fn others(&mut self, others: &[OtherService]) -> Result<(), XlsxError> {
        let (head, cell, centre) = (
            self.f.head.clone(),
            self.f.cell.clone(),
            self.f.centre.clone(),
        );
        let r = self.row;
        self.put((r, r + others.len() as u32), (0, 1), "其他服务项", &head)?;
        self.put((r, r), (2, 2), "服务项名称", &head)?;
        self.put((r, r), (3, 3), "数量", &head)?;
        self.put((r, r), (4, 5), "备注", &head)?;
        for (i, o) in others.iter().enumerate() {
            let r = r + 1 + i as u32;
            self.put((r, r), (2, 2), &o.name, &cell)?;
            self.put_value((r, r), (3, 3), &quantity(&o.qty), &centre)?;
            self.put((r, r), (4, 5), &o.note, &cell)?;
        }
        self.row = r + 1 + others.len() as u32;
        Ok(())
    }
}

fn blank_host() -> Host {
    Host {
        kind: String::new(),
        cpu: 0,
        memory_gb: 0,
        os: String::new(),
        system_disk_gb: 0,
        data_disk_gb: 0,
        zone: String::new(),
        count: 0,
        note: String::new(),
    }
}

/// 说明 of a host (系统盘、数据盘、操作系统、网络区域), with line breaks
/// between its items where the column is too narrow.
fn describe(h: &Host, width: f64) -> String {
    let system = format!("系统盘{}GB", h.system_disk_gb);
    let data = format!("数据盘{}GB", h.data_disk_gb);
    let parts: Vec<&str> = [
        system.as_str(),
        data.as_str(),
        h.os.as_str(),
        h.zone.as_str(),
    ]
    .into_iter()
    .filter(|p| !p.is_empty())
    .collect();
    layout::wrap_parts(&parts, "、", width)
}

/// Consecutive rows sharing a label, as (first, last) index spans.
fn runs(
    rows: &[&grid::GridRow],
    label: impl Fn(&grid::GridRow) -> &'static str,
) -> Vec<((u32, u32), &'static str)> {
    let mut out: Vec<((u32, u32), &'static str)> = Vec::new();
    for (i, g) in rows.iter().enumerate() {
        let text = label(g);
        match out.last_mut() {
            Some((span, t)) if *t == text => span.1 = i as u32,
            _ => out.push(((i as u32, i as u32), text)),
        }
    }
    out
}

fn setup(ws: &mut Worksheet, widths: &[f64; 6]) -> Result<(), XlsxError> {
    ws.set_name("开通情况表")?;
    for (c, w) in widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    layout::a4(
        ws,
        &Page {
            landscape: false,
            repeat_rows: Some((0, 1)),
        },
    )
}

fn build(app: &Application, config: &Config, schemas: &Schemas) -> Result<Vec<u8>, XlsxError> {
    let services = context::services(config, schemas);
    let others = context::other_services(config, schemas);
    let widths = widths(config, &services, &others);
    let mut wb = Workbook::new();
    wb.set_properties(&crate::generated::properties("政务云资源开通情况表"));
    let ws = wb.add_worksheet();
    setup(ws, &widths)?;
    let mut sheet = Sheet {
        ws,
        f: Formats::new(),
        widths,
        row: 0,
        heights: Heights::default(),
        page_breaks: Vec::new(),
        page_top: 0,
    };
    sheet.title(app)?;
    sheet.ownership(app, schemas)?;
    sheet.hosts(&config.hosts)?;
    let services_top = sheet.row;
    sheet.services(&services)?;
    sheet.others(&others)?;
    let one_page = config.hosts.len() <= ONE_PAGE_HOSTS;
    // The services and 其他服务项 on a page of their own when they do not
    // fit below the hosts: a category's merged label must not straddle two
    // pages.
    let below = sheet.heights.total(services_top, sheet.row - 1);
    let above = sheet.heights.total(sheet.page_top, services_top - 1);
    if !one_page && above + below > sheet.page_room() {
        sheet.page_breaks.push(services_top);
    }
    let Sheet {
        ws,
        heights,
        page_breaks,
        ..
    } = sheet;
    heights.apply(ws)?;
    if one_page {
        // The form is one page: shrink a little rather than spill a row.
        ws.set_print_fit_to_pages(1, 1);
    } else if !page_breaks.is_empty() {
        ws.set_page_breaks(&page_breaks)?;
    }
    wb.save_to_buffer()
}

/// The 开通情况表 of `config` for the project of `app`, as .xlsx bytes.
pub fn opening_table(
    app: &Application,
    config: &Config,
    schemas: &Schemas,
) -> Result<Vec<u8>, RenderError> {
    build(app, config, schemas).map_err(|e| RenderError::Output(format!("开通情况表:{e}")))
}
