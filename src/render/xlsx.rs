//! The 政务云资源开通情况表 as a workbook: the seed's layout (host rows
//! with CPU and 内存 lines, the service grid, 其他服务项), merged header
//! cells, borders, widths for Chinese text, A4 fit-to-width printing.

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError};

use super::context::{self, Service};
use super::{grid, RenderError, OPENING_TABLE_DOC};
use crate::layout::{self, Heights, Page, BODY_PT};
use crate::model::{Application, Config, Host};
use crate::schema::Schemas;

/// Column widths for Chinese text: 服务类型 (4 characters), 服务分项 (6),
/// 服务项目 (9 with its tick box), 数量, 说明, 台数; 92 units print one A4
/// page wide without shrinking.
const WIDTHS: [f64; 6] = [10.0, 14.0, 20.0, 9.0, 32.0, 7.0];
const TITLE_PT: f64 = 16.0;
/// Up to this many host classes the table prints on one page (shrunk a
/// little when needed); more start the service grid on a page of its own
/// when it would not fit below the hosts.
const ONE_PAGE_HOSTS: usize = 4;

struct Formats {
    title: Format,
    info: Format,
    head: Format,
    cell: Format,
    centre: Format,
}

impl Formats {
    fn new() -> Formats {
        let base = layout::song(BODY_PT)
            .set_text_wrap()
            .set_align(FormatAlign::VerticalCenter);
        let cell = base.clone().set_border(FormatBorder::Thin);
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
            centre: cell.clone().set_align(FormatAlign::Center),
            cell,
        }
    }
}

/// Writes a cell, or a merged range when it spans more than one.
struct Sheet<'a> {
    ws: &'a mut Worksheet,
    f: Formats,
    row: u32,
    heights: Heights,
    page_break: Option<u32>,
}

impl Sheet<'_> {
    fn put(
        &mut self,
        rows: (u32, u32),
        cols: (u16, u16),
        text: &str,
        format: &Format,
    ) -> Result<(), XlsxError> {
        let width: f64 = WIDTHS[cols.0 as usize..=cols.1 as usize].iter().sum();
        self.heights.fit(rows.0, rows.1, text, width, BODY_PT);
        if rows.0 == rows.1 && cols.0 == cols.1 {
            self.ws
                .write_string_with_format(rows.0, cols.0, text, format)?;
        } else {
            self.ws
                .merge_range(rows.0, cols.0, rows.1, cols.1, text, format)?;
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

    fn hosts(&mut self, hosts: &[Host]) -> Result<(), XlsxError> {
        let (head, cell, centre) = (
            self.f.head.clone(),
            self.f.cell.clone(),
            self.f.centre.clone(),
        );
        let r = self.row;
        self.put((r, r), (0, 1), "服务类型", &head)?;
        for (c, t) in [
            (2, "服务项目"),
            (3, "数量"),
            // Broken where a clerk would break it, not before its `）`.
            (4, "说明\n（系统盘、数据盘、操作系统、网络区域）"),
            (5, "台数"),
        ] {
            self.put((r, r), (c, c), t, &head)?;
        }
        let first = r + 1;
        let blank = [Host {
            kind: "云主机/物理机".into(),
            ..blank_host()
        }];
        let list = if hosts.is_empty() { &blank[..] } else { hosts };
        for (i, h) in list.iter().enumerate() {
            let r = first + 2 * i as u32;
            let filled = !hosts.is_empty();
            let cpu = if filled {
                format!("{}核", h.cpu)
            } else {
                String::new()
            };
            let mem = if filled {
                format!("{}GB", h.memory_gb)
            } else {
                String::new()
            };
            let desc = if filled {
                describe(h, WIDTHS[4])
            } else {
                String::new()
            };
            self.put((r, r + 1), (1, 1), &h.kind, &centre)?;
            self.put((r, r), (2, 2), "CPU", &centre)?;
            self.put((r + 1, r + 1), (2, 2), "内存", &centre)?;
            self.put((r, r), (3, 3), &cpu, &centre)?;
            self.put((r + 1, r + 1), (3, 3), &mem, &centre)?;
            self.put((r, r + 1), (4, 4), &desc, &cell)?;
            if filled {
                self.ws
                    .merge_range(r, 5, r + 1, 5, "", &centre)?
                    .write_number_with_format(r, 5, f64::from(h.count), &centre)?;
            } else {
                self.put((r, r + 1), (5, 5), "", &centre)?;
            }
        }
        let last = first + 2 * list.len() as u32 - 1;
        self.put((first, last), (0, 0), "计算资源", &head)?;
        self.row = last + 1;
        Ok(())
    }

    fn services(
        &mut self,
        services: &std::collections::BTreeMap<String, Service>,
    ) -> Result<(), XlsxError> {
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
                self.put((r, r), (col + 1, col + 1), &qty, &centre)?;
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

    /// Starts the service grid on a new page when it would not fit below
    /// the hosts: a category's merged label must not straddle two pages.
    fn break_if_services_overflow(&mut self, hosts: usize) {
        if hosts <= ONE_PAGE_HOSTS {
            return;
        }
        let used = self.heights.total(0, self.row.saturating_sub(1));
        let grid_rows = grid::rows().count() + 2 + grid::OTHER_SERVICE_ROWS;
        let needed = grid_rows as f64 * layout::height(1, BODY_PT);
        if used + needed > layout::PORTRAIT_HEIGHT_PT {
            self.page_break = Some(self.row);
        }
    }

    fn others(&mut self, others: &[context::OtherService]) -> Result<(), XlsxError> {
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
            self.put((r, r), (3, 3), &o.qty, &centre)?;
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

fn setup(ws: &mut Worksheet) -> Result<(), XlsxError> {
    ws.set_name("开通情况表")?;
    for (c, w) in WIDTHS.iter().enumerate() {
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
    let mut wb = Workbook::new();
    wb.set_properties(&crate::generated::properties("政务云资源开通情况表"));
    let ws = wb.add_worksheet();
    setup(ws)?;
    let mut sheet = Sheet {
        ws,
        f: Formats::new(),
        row: 0,
        heights: Heights::default(),
        page_break: None,
    };
    sheet.title(app)?;
    sheet.ownership(app, schemas)?;
    sheet.hosts(&config.hosts)?;
    sheet.break_if_services_overflow(config.hosts.len());
    sheet.services(&context::services(config, schemas))?;
    sheet.others(&context::other_services(config, schemas))?;
    let Sheet {
        ws,
        heights,
        page_break,
        ..
    } = sheet;
    heights.apply(ws)?;
    match page_break {
        Some(row) => {
            ws.set_page_breaks(&[row])?;
        }
        // The form is one page: shrink a little rather than spill a row.
        None if config.hosts.len() <= ONE_PAGE_HOSTS => {
            ws.set_print_fit_to_pages(1, 1);
        }
        None => {}
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
