//! Finds a form in a workbook by its title and printed labels, never by
//! fixed addresses: inserted rows, empty rows, merged cells and moved
//! sheets all still read. Every non-empty cell of the form sheet is either
//! consumed by a field or a table, or reported.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use super::text::{is_nothing, is_unticked_options, label_key, split_label_unit};
use super::{Sheet, Value, Workbook};
use crate::diag::{a1, Diagnostic};
use crate::model::FormKind;
use crate::schema::{FormSchema, Schemas, ServicesSpec, ValuePlace};

/// A value cell: where it is, and what it holds (None when empty).
#[derive(Debug, Clone, Copy)]
pub struct Spot<'a> {
    pub pos: (u32, u32),
    pub value: Option<&'a Value>,
}

/// One data row of a table, by column key.
#[derive(Debug, Clone)]
pub struct Row<'a> {
    pub row: u32,
    pub cells: BTreeMap<String, Spot<'a>>,
    /// Units the header printed instead of the column's (`数据盘(TB)`),
    /// by column key.
    pub units: BTreeMap<String, String>,
}

/// A service quantity read from the service grid.
#[derive(Debug, Clone)]
pub struct ServiceSpot<'a> {
    /// Catalogue key, or None when the printed name is unknown.
    pub key: Option<String>,
    pub name_pos: (u32, u32),
    pub name: String,
    /// A unit the name printed instead of the item's (`SSD(TB)`).
    pub unit: Option<String>,
    pub qty: Spot<'a>,
}

#[derive(Debug)]
pub struct Located<'a> {
    pub kind: FormKind,
    pub sheet: &'a Sheet,
    /// Field key → its value cell, or None when the label is not on the form.
    pub fields: BTreeMap<String, Option<Spot<'a>>>,
    /// Table key → rows, or None when the section is not on the form.
    pub tables: BTreeMap<String, Option<Vec<Row<'a>>>>,
    pub services: Vec<ServiceSpot<'a>>,
    pub other_services: Option<Vec<Row<'a>>>,
    /// What locating found wrong with the layout (unknown headers, cells
    /// that belong to nothing), placed at their cells.
    pub diags: Vec<Diagnostic>,
}

/// The form sheet of a workbook, and what was wrong with the choice.
pub struct Identified<'a> {
    pub kind: FormKind,
    pub sheet: &'a Sheet,
    pub diags: Vec<Diagnostic>,
}

/// Which form a workbook holds, and on which sheet: the sheet whose cells
/// include a form's title. One file holds one form: two form sheets are an
/// error naming them; a hidden form sheet is not read when a visible one
/// exists (warning).
pub fn identify<'a>(wb: &'a Workbook, schemas: &Schemas) -> Option<Identified<'a>> {
    let mut found = Vec::new();
    for sheet in &wb.sheets {
        for kind in [FormKind::Annex1, FormKind::Annex4] {
            let title = schemas.title_key(kind);
            if sheet.keys.values().take(200).any(|k| *k == title) {
                found.push((kind, sheet));
            }
        }
    }
    let any_visible = found.iter().any(|(_, s)| !s.hidden);
    let mut diags = Vec::new();
    let (read, skipped): (Vec<_>, Vec<_>) = found
        .into_iter()
        .partition(|(_, s)| !s.hidden || !any_visible);
    for (kind, sheet) in &skipped {
        diags.push(
            Diagnostic::warning(
                "form.hidden_sheet",
                format!(
                    "隐藏的工作表“{}”也是一份{},未读取;读取的是可见的表格",
                    sheet.name,
                    kind_name(*kind)
                ),
            )
            .hint("请删除不用的旧表格,只保留要提交的一份")
            .at(&sheet.name, None),
        );
    }
    let preferred = |(kind, sheet): &(FormKind, &Sheet)| {
        schemas.form(*kind).sheet.as_deref() != Some(sheet.name.as_str())
    };
    let chosen = *read.iter().min_by_key(|c| preferred(c))?;
    if read.len() > 1 {
        let list: Vec<String> = read
            .iter()
            .map(|(k, s)| format!("“{}”({})", s.name, kind_name(*k)))
            .collect();
        diags.push(
            Diagnostic::error(
                "form.multiple",
                format!(
                    "一个文件中有多份表格:工作表{};一个文件只能提交一份表格",
                    list.join("、")
                ),
            )
            .hint("请每个文件只提交一份申请表;附件1 与附件4 分别提交,删除多余的副本")
            .at(&chosen.1.name, None),
        );
    }
    Some(Identified {
        kind: chosen.0,
        sheet: chosen.1,
        diags,
    })
}

fn kind_name(kind: FormKind) -> &'static str {
    match kind {
        FormKind::Annex1 => "附件1",
        FormKind::Annex4 => "附件4",
    }
}

/// A table column: its key, the header texts that name it, and whether
/// the table cannot be read without it.
struct Column {
    key: String,
    labels: Vec<String>,
    required: bool,
    /// Label keys without their unit (`数据盘`), for a numeric column whose
    /// header may print another unit.
    bases: Vec<String>,
}

pub fn locate<'a>(sheet: &'a Sheet, kind: FormKind, schemas: &Schemas) -> Located<'a> {
    let schema = schemas.form(kind);
    let finder = Finder::new(sheet, schema, schemas);
    let fields = schema
        .fields
        .iter()
        .map(|f| (f.key.clone(), finder.field(f.label.all(), f.value)))
        .collect();
    let host_columns = finder.host_columns();
    let mut tables: BTreeMap<String, Option<Vec<Row<'a>>>> = schema
        .tables
        .iter()
        .map(|t| (t.key.clone(), finder.table(&t.section, &host_columns)))
        .collect();
    let services = schema
        .services
        .as_ref()
        .map(|s| finder.services(s))
        .unwrap_or_default();
    let other_services = schema.other_services.as_ref().and_then(|o| {
        let col = |k: &str, l: &crate::schema::Labels, required: bool| Column {
            key: k.to_string(),
            labels: l.all().to_vec(),
            required,
            bases: Vec::new(),
        };
        let cols = [
            col("name", &o.name, true),
            col("before", &o.before, true),
            col("after", &o.after, true),
            col("note", &o.note, false),
        ];
        finder.table(&o.section, &cols)
    });
    finder.continued_tables(schema, &host_columns, &mut tables);
    finder.report_unread(schemas.title_key(kind));
    Located {
        kind,
        sheet,
        fields,
        tables,
        services,
        other_services,
        diags: finder.diags.into_inner(),
    }
}

struct Finder<'a, 's> {
    sheet: &'a Sheet,
    schemas: &'s Schemas,
    /// Label keys of everything printed on the form: a value never is one.
    labels: BTreeSet<String>,
    /// Section titles and table header labels: rows that end a table.
    stops: Vec<String>,
    /// Cells read as a label, a value or a table cell.
    consumed: RefCell<BTreeSet<(u32, u32)>>,
    diags: RefCell<Vec<Diagnostic>>,
}

impl<'a, 's> Finder<'a, 's> {
    fn new(sheet: &'a Sheet, schema: &FormSchema, schemas: &'s Schemas) -> Self {
        let mut labels: BTreeSet<String> = schema
            .fields
            .iter()
            .flat_map(|f| f.label.all().iter().map(|l| label_key(l)))
            .collect();
        let mut stops: Vec<String> = schema
            .tables
            .iter()
            .map(|t| label_key(&t.section))
            .collect();
        if let Some(s) = &schema.services {
            stops.push(label_key(&s.header));
        }
        if let Some(o) = &schema.other_services {
            stops.push(label_key(&o.section));
            labels.extend(o.name.all().iter().map(|l| label_key(l)));
        }
        stops.push(label_key(schemas.hosts[0].label.first()));
        labels.extend(stops.iter().cloned());
        labels.extend(schema.printed.iter().map(|p| label_key(p)));
        Finder {
            sheet,
            schemas,
            labels,
            stops,
            consumed: RefCell::new(BTreeSet::new()),
            diags: RefCell::new(Vec::new()),
        }
    }

    fn consume(&self, pos: (u32, u32)) {
        self.consumed.borrow_mut().insert(pos);
    }

    fn report(&self, d: Diagnostic, pos: (u32, u32)) {
        let d = d.at(&self.sheet.name, Some(a1(pos.0, pos.1)));
        self.diags.borrow_mut().push(d);
    }

    /// First cell whose text is one of `labels`.
    fn find(&self, labels: &[String]) -> Option<(u32, u32)> {
        let keys: Vec<String> = labels.iter().map(|l| label_key(l)).collect();
        self.sheet
            .keys
            .iter()
            .find(|(_, k)| keys.contains(k))
            .map(|(&pos, _)| pos)
    }

    /// The first cell at or after row `from` starting with `prefix`.
    fn find_starting(&self, prefix: &str, from: u32) -> Option<(u32, u32)> {
        let key = label_key(prefix);
        self.sheet
            .keys
            .range((from, 0)..)
            .find(|(_, k)| k.starts_with(&key))
            .map(|(&pos, _)| pos)
    }

    /// The value of a label: the first filled cell to its right before the
    /// next label; the cell right of it when all are empty.
    fn field(&self, labels: &[String], place: ValuePlace) -> Option<Spot<'a>> {
        let (row, col) = self.find(labels)?;
        self.consume((row, col));
        let spot = self.field_value(row, col, place);
        if spot.value.is_some() {
            self.consume(spot.pos);
        }
        Some(spot)
    }

    fn field_value(&self, row: u32, col: u32, place: ValuePlace) -> Spot<'a> {
        if place == ValuePlace::Below {
            let below = self.sheet.merge_bottom(row, col) + 1;
            return Spot {
                pos: (below, col),
                value: self
                    .sheet
                    .get(below, col)
                    .filter(|_| !self.labels.contains(self.sheet.key(below, col))),
            };
        }
        let first = self.sheet.merge_end(row, col) + 1;
        let filled = self
            .sheet
            .row(row)
            .find(|(c, _)| *c >= first)
            .filter(|(c, _)| !self.labels.contains(self.sheet.key(row, *c)));
        match filled {
            Some((c, v)) => Spot {
                pos: (row, c),
                value: Some(v),
            },
            None => Spot {
                pos: (row, first),
                value: None,
            },
        }
    }

    fn is_stop_row(&self, row: u32) -> bool {
        self.sheet.row_keys(row).any(|(_, k)| {
            !k.is_empty()
                && (self.labels.contains(k) || self.stops.iter().any(|s| k.starts_with(s.as_str())))
        })
    }

    fn host_columns(&self) -> Vec<Column> {
        self.schemas
            .hosts
            .iter()
            .map(|c| Column {
                key: c.key.clone(),
                labels: c.label.all().to_vec(),
                required: c.required,
                bases: match c.measure {
                    Some(_) => c
                        .label
                        .all()
                        .iter()
                        .map(|l| split_label_unit(l).map_or_else(|| label_key(l), |(b, _)| b))
                        .collect(),
                    None => Vec::new(),
                },
            })
            .collect()
    }

    /// Rows under the header that follows `section`, up to the next section,
    /// header or label; None when the section or its header is missing.
    fn table(&self, section: &str, cols: &[Column]) -> Option<Vec<Row<'a>>> {
        let start = self.find_starting(section, 0)?;
        self.consume(start);
        let header = self.header_row(start.0, cols)?;
        Some(self.rows_under(header, cols, section))
    }

    /// The header row of a table: within a few rows of its section title,
    /// a row naming the table's first column.
    fn header_row(&self, start: u32, cols: &[Column]) -> Option<u32> {
        let first: Vec<String> = cols[0].labels.iter().map(|l| label_key(l)).collect();
        (start..=start + 5).find(|&r| {
            self.sheet
                .row_keys(r)
                .any(|(_, k)| first.iter().any(|h| h == k))
        })
    }

    fn rows_under(&self, header: u32, cols: &[Column], section: &str) -> Vec<Row<'a>> {
        let (columns, units) = self.header_columns(header, cols, section);
        let mut rows = Vec::new();
        let mut total_reported = false;
        for r in header + 1..=self.sheet.last_row() {
            if self.is_stop_row(r) {
                break;
            }
            let own: Vec<(u32, &Value)> = columns
                .iter()
                .filter_map(|(_, c)| self.sheet.get(r, *c).map(|v| (*c, v)))
                .collect();
            if own.is_empty() {
                continue;
            }
            own.iter().for_each(|(c, _)| self.consume((r, *c)));
            if self.is_total_row(r) {
                self.sheet.row(r).for_each(|(c, _)| self.consume((r, c)));
                if !total_reported {
                    total_reported = true;
                    let d = Diagnostic::warning(
                        "table.total_row",
                        format!("“{section}”中的合计行不是主机配置,未读取;合计由程序按各行计算"),
                    )
                    .hint("可删除合计行;各行的配置均按“台数”相乘后计入合计");
                    self.report(d, (r, own[0].0));
                }
                continue;
            }
            // A row of a blank form left as printed: empty.
            let untouched = |t: &str| is_nothing(t) || is_unticked_options(t);
            if own.iter().all(|(_, v)| untouched(&v.as_text())) {
                continue;
            }
            let cells = columns
                .iter()
                .map(|(key, c)| (key.clone(), self.spot_through_merge(r, *c)))
                .collect();
            rows.push(Row {
                row: r,
                cells,
                units: units.clone(),
            });
        }
        rows
    }

    /// A cell's value, or the value of a merged range that covers it from
    /// above (a unit merged 操作系统 over two host rows).
    fn spot_through_merge(&self, r: u32, c: u32) -> Spot<'a> {
        if let Some(v) = self.sheet.get(r, c) {
            return Spot {
                pos: (r, c),
                value: Some(v),
            };
        }
        let origin = self.sheet.merges.iter().find(|m| {
            m.start.1 == c && m.start.0 < r && (m.start.0..=m.end.0).contains(&r) && m.end.1 >= c
        });
        match origin.and_then(|m| self.sheet.get(m.start.0, m.start.1).map(|v| (m.start, v))) {
            Some((pos, v)) => Spot {
                pos,
                value: Some(v),
            },
            None => Spot {
                pos: (r, c),
                value: None,
            },
        }
    }

    fn is_total_row(&self, r: u32) -> bool {
        const TOTALS: [&str; 4] = ["合计", "小计", "总计", "共计"];
        self.sheet
            .row_keys(r)
            .any(|(_, k)| TOTALS.iter().any(|t| k.starts_with(t)))
    }

    /// Column of each table column in the header row, and the units
    /// headers printed instead of their column's (`数据盘(TB)`: the values
    /// are read as TB). A header cell that names no column is an error at
    /// its cell, and so is a required column that no header names.
    fn header_columns(
        &self,
        header: u32,
        cols: &[Column],
        section: &str,
    ) -> (Vec<(String, u32)>, BTreeMap<String, String>) {
        let mut found: Vec<(String, u32)> = Vec::new();
        let mut units = BTreeMap::new();
        for (c, k) in self.sheet.row_keys(header) {
            self.consume((header, c));
            let free = |col: &&Column| !found.iter().any(|(key, _)| *key == col.key);
            let named = cols
                .iter()
                .filter(free)
                .find(|col| col.labels.iter().any(|l| label_key(l) == k));
            let with_unit = || {
                let (base, unit) = split_label_unit(&self.sheet.text(header, c))?;
                let col = cols
                    .iter()
                    .filter(free)
                    .find(|col| col.bases.contains(&base))?;
                Some((col, unit))
            };
            match named
                .map(|col| (col, None))
                .or_else(|| with_unit().map(|(col, u)| (col, Some(u))))
            {
                Some((col, unit)) => {
                    found.push((col.key.clone(), c));
                    if let Some(unit) = unit {
                        units.insert(col.key.clone(), unit);
                    }
                }
                None if !k.is_empty() => self.unknown_header(header, c, section, cols),
                None => {}
            }
        }
        for col in cols.iter().filter(|col| col.required) {
            if !found.iter().any(|(key, _)| *key == col.key) {
                let d = Diagnostic::error(
                    "form.column_missing",
                    format!("“{section}”的表头中找不到“{}”一列", col.labels[0]),
                )
                .hint(format!(
                    "请使用下发表格的表头,该列可写作:{}",
                    col.labels.join("、")
                ));
                self.report(d, (header, 0));
            }
        }
        (found, units)
    }

    fn unknown_header(&self, r: u32, c: u32, section: &str, cols: &[Column]) {
        let names: Vec<&str> = cols.iter().map(|c| c.labels[0].as_str()).collect();
        let d = Diagnostic::error(
            "form.header_unknown",
            format!(
                "“{section}”的表头“{}”无法识别,该列内容未读取",
                self.sheet.text(r, c).trim()
            ),
        )
        .hint(format!("请使用下发表格的表头:{}", names.join("、")));
        self.report(d, (r, c));
    }

    /// The service grid: each 服务项目 column paired with the 数量 column
    /// after it; the 服务分项 of a row disambiguates repeated names.
    fn services(&self, spec: &ServicesSpec) -> Vec<ServiceSpot<'a>> {
        let Some((header, group_col)) = self.find(std::slice::from_ref(&spec.header)) else {
            let d = Diagnostic::error(
                "form.section_missing",
                "表格中找不到服务项目表格(表头“服务分项”)",
            )
            .hint("请使用下发的表格模板,不要删除服务项目表格的表头");
            self.report(d, (0, 0));
            return Vec::new();
        };
        let keys = |l: &crate::schema::Labels| -> Vec<String> {
            l.all().iter().map(|x| label_key(x)).collect()
        };
        let (items, quantities) = (keys(&spec.item), keys(&spec.quantity));
        let other: Vec<String> = spec.other.iter().map(|o| label_key(o)).collect();
        let mut item_cols = Vec::new();
        let mut qty_cols = Vec::new();
        let mut other_cols = vec![group_col];
        for (c, k) in self.sheet.row_keys(header) {
            self.consume((header, c));
            if items.iter().any(|i| i == k) {
                item_cols.push(c);
            } else if quantities.iter().any(|q| q == k) {
                qty_cols.push(c);
            } else if other.iter().any(|o| o == k) || c == group_col {
                other_cols.push(c);
            } else if !k.is_empty() {
                let d = Diagnostic::error(
                    "form.header_unknown",
                    format!(
                        "服务项目表格的表头“{}”无法识别,该列内容未读取",
                        self.sheet.text(header, c).trim()
                    ),
                )
                .hint(format!(
                    "“服务项目”列可写作:{};“数量”列可写作:{}",
                    spec.item.all().join("、"),
                    spec.quantity.all().join("、")
                ));
                self.report(d, (header, c));
            }
        }
        let pairs: Vec<(u32, u32)> = item_cols
            .iter()
            .enumerate()
            .filter_map(|(i, &item)| {
                let next_item = item_cols.get(i + 1).copied().unwrap_or(u32::MAX);
                qty_cols
                    .iter()
                    .find(|&&q| q > item && q < next_item)
                    .map(|&q| (item, q))
            })
            .collect();
        if pairs.len() < item_cols.len() || item_cols.is_empty() {
            let d = Diagnostic::error(
                "form.column_missing",
                "服务项目表格的表头中,“服务项目”列右侧找不到“数量”列",
            )
            .hint(format!("“数量”列可写作:{}", spec.quantity.all().join("、")));
            self.report(d, (header, group_col));
        }
        let mut group = String::new();
        let mut out = Vec::new();
        for r in header + 1..=self.sheet.last_row() {
            if self.is_stop_row(r) {
                break;
            }
            for &c in &other_cols {
                self.consume((r, c));
            }
            let g = self.sheet.text(r, group_col);
            if !g.trim().is_empty() {
                group = g;
            }
            for &(item_col, qty_col) in &pairs {
                let name = self.sheet.text(r, item_col);
                if name.trim().is_empty() {
                    continue;
                }
                self.consume((r, item_col));
                self.consume((r, qty_col));
                let catalogue = &self.schemas.catalogue;
                let printed = catalogue
                    .in_group(&group, &name)
                    .or_else(|| match catalogue.lookup(&name) {
                        crate::schema::Lookup::Found(i) => Some(i),
                        _ => None,
                    })
                    .map(|i| (i, None));
                let (key, unit) = printed
                    .or_else(|| {
                        catalogue
                            .with_unit(Some(&group), &name)
                            .map(|(i, u)| (i, Some(u)))
                    })
                    .map_or((None, None), |(i, u)| (Some(i.key.clone()), u));
                out.push(ServiceSpot {
                    key,
                    name_pos: (r, item_col),
                    unit,
                    name,
                    qty: Spot {
                        pos: (r, qty_col),
                        value: self.sheet.get(r, qty_col),
                    },
                });
            }
        }
        out
    }

    /// A host table header found again below the form (a `计算资源(续)`
    /// block): its rows are read into the table its title names, or the
    /// last host table, with a warning saying so.
    fn continued_tables(
        &self,
        schema: &FormSchema,
        cols: &[Column],
        tables: &mut BTreeMap<String, Option<Vec<Row<'a>>>>,
    ) {
        let Some(last) = schema.tables.last() else {
            return;
        };
        let first: Vec<String> = cols[0].labels.iter().map(|l| label_key(l)).collect();
        let headers: Vec<u32> = self
            .sheet
            .keys
            .iter()
            .filter(|(pos, k)| !self.consumed.borrow().contains(pos) && first.contains(k))
            .map(|(&(r, _), _)| r)
            .filter(|&r| self.host_header_matches(r, cols) >= 3)
            .collect();
        for header in headers {
            let titled = (header.saturating_sub(2)..header).rev().find_map(|r| {
                schema.tables.iter().find_map(|t| {
                    self.find_starting(&t.section, r)
                        .filter(|p| p.0 == r)
                        .map(|p| (t, p))
                })
            });
            let spec = titled.map(|(t, _)| t).unwrap_or(last);
            if let Some((_, pos)) = titled {
                self.consume(pos);
            }
            let rows = self.rows_under(header, cols, &spec.section);
            let d = Diagnostic::warning(
                "table.continued",
                format!(
                    "第 {} 行起的续表已作为“{}”的一部分读取",
                    header + 1,
                    spec.section
                ),
            )
            .hint("如续表不是该部分的内容,请删除或移入相应表格");
            self.report(d, (header, 0));
            tables
                .entry(spec.key.clone())
                .or_insert(None)
                .get_or_insert_with(Vec::new)
                .extend(rows);
        }
    }

    fn host_header_matches(&self, r: u32, cols: &[Column]) -> usize {
        self.sheet
            .row_keys(r)
            .filter(|(_, k)| {
                cols.iter()
                    .any(|c| c.labels.iter().any(|l| label_key(l) == *k))
            })
            .count()
    }

    /// Cells no field or table read: reported, one warning per row.
    fn report_unread(&self, title: &str) {
        let consumed = self.consumed.borrow();
        let mut by_row: BTreeMap<u32, Vec<(u32, String)>> = BTreeMap::new();
        for (&(r, c), v) in &self.sheet.cells {
            let key = self.sheet.key(r, c);
            if consumed.contains(&(r, c)) || key == title || self.labels.contains(key) {
                continue;
            }
            by_row.entry(r).or_default().push((c, v.as_text()));
        }
        drop(consumed);
        for (r, cells) in by_row {
            let shown: Vec<String> = cells
                .iter()
                .take(3)
                .map(|(c, t)| format!("{}“{}”", a1(r, *c), short(t)))
                .collect();
            let more = if cells.len() > 3 { " 等" } else { "" };
            let d = Diagnostic::warning(
                "form.cell_unread",
                format!("{}{more}不属于表格中的任何一栏,未被读取", shown.join("、")),
            )
            .hint("请把内容填写在相应栏目中(说明性文字请写在“申请单位说明”),或删除");
            self.report(d, (r, cells[0].0));
        }
    }
}

fn short(t: &str) -> String {
    let t = t.trim();
    if t.chars().count() > 20 {
        format!("{}…", t.chars().take(20).collect::<String>())
    } else {
        t.to_string()
    }
}
