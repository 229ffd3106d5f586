//! Finds a form in a workbook by its title and printed labels, never by
//! fixed addresses: inserted rows, empty rows, merged cells and moved
//! sheets all still read.

use std::collections::{BTreeMap, BTreeSet};

use super::text::label_key;
use super::{Sheet, Value, Workbook};
use crate::model::FormKind;
use crate::schema::{FormSchema, Schemas, ValuePlace};

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
}

/// A service quantity read from the service grid.
#[derive(Debug, Clone)]
pub struct ServiceSpot<'a> {
    /// Catalogue key, or None when the printed name is unknown.
    pub key: Option<String>,
    pub name_pos: (u32, u32),
    pub name: String,
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
}

/// Which form a workbook holds, and on which sheet: the sheet whose cells
/// include the form's title; the schema's sheet name breaks ties.
pub fn identify<'a>(wb: &'a Workbook, schemas: &Schemas) -> Option<(FormKind, &'a Sheet)> {
    let mut found = Vec::new();
    for kind in [FormKind::Annex1, FormKind::Annex4] {
        let schema = schemas.form(kind);
        let title = schemas.title_key(kind);
        for sheet in &wb.sheets {
            let has_title = sheet.keys.values().take(200).any(|k| *k == title);
            if has_title {
                let preferred = schema.sheet.as_deref() == Some(sheet.name.as_str());
                found.push((!preferred, kind, sheet));
            }
        }
    }
    found.sort_by_key(|(not_preferred, _, _)| *not_preferred);
    found.into_iter().next().map(|(_, k, s)| (k, s))
}

pub fn locate<'a>(sheet: &'a Sheet, kind: FormKind, schemas: &Schemas) -> Located<'a> {
    let schema = schemas.form(kind);
    let finder = Finder::new(sheet, schema, schemas);
    let fields = schema
        .fields
        .iter()
        .map(|f| (f.key.clone(), finder.field(f.label.all(), f.value)))
        .collect();
    let tables = schema
        .tables
        .iter()
        .map(|t| (t.key.clone(), finder.host_table(&t.section)))
        .collect();
    let services = schema
        .services
        .as_ref()
        .map(|s| finder.services(&s.header))
        .unwrap_or_default();
    let other_services = schema.other_services.as_ref().and_then(|o| {
        let cols = [
            ("name", &o.name),
            ("before", &o.before),
            ("after", &o.after),
            ("note", &o.note),
        ]
        .map(|(k, l)| (k.to_string(), vec![l.clone()]));
        finder.table(&o.section, &cols)
    });
    Located {
        kind,
        sheet,
        fields,
        tables,
        services,
        other_services,
    }
}

struct Finder<'a, 's> {
    sheet: &'a Sheet,
    schemas: &'s Schemas,
    /// Label keys of everything printed on the form: a value never is one.
    labels: BTreeSet<String>,
    /// Section titles and table header labels: rows that end a table.
    stops: Vec<String>,
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
            stops.push(label_key(&o.name));
        }
        stops.push(label_key(schemas.hosts[0].label.first()));
        labels.extend(stops.iter().cloned());
        Finder {
            sheet,
            schemas,
            labels,
            stops,
        }
    }

    fn key_at(&self, row: u32, col: u32) -> &'a str {
        self.sheet.key(row, col)
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

    /// The first row at or after `from` with a cell starting with `prefix`.
    fn find_row_starting(&self, prefix: &str, from: u32) -> Option<u32> {
        let key = label_key(prefix);
        self.sheet
            .keys
            .range((from, 0)..)
            .find(|(_, k)| k.starts_with(&key))
            .map(|(&(r, _), _)| r)
    }

    /// The value of a label: the first filled cell to its right before the
    /// next label; the cell right of it when all are empty.
    fn field(&self, labels: &[String], place: ValuePlace) -> Option<Spot<'a>> {
        let (row, col) = self.find(labels)?;
        if place == ValuePlace::Below {
            let below = self.sheet.merge_bottom(row, col) + 1;
            return Some(Spot {
                pos: (below, col),
                value: self
                    .sheet
                    .get(below, col)
                    .filter(|_| !self.labels.contains(self.sheet.key(below, col))),
            });
        }
        let first = self.sheet.merge_end(row, col) + 1;
        let filled = self
            .sheet
            .row(row)
            .find(|(c, _)| *c >= first)
            .filter(|(c, _)| !self.labels.contains(self.sheet.key(row, *c)));
        Some(match filled {
            Some((c, v)) => Spot {
                pos: (row, c),
                value: Some(v),
            },
            None => Spot {
                pos: (row, first),
                value: None,
            },
        })
    }

    fn is_stop_row(&self, row: u32) -> bool {
        self.sheet.row_keys(row).any(|(_, k)| {
            !k.is_empty()
                && (self.labels.contains(k) || self.stops.iter().any(|s| k.starts_with(s.as_str())))
        })
    }

    fn host_table(&self, section: &str) -> Option<Vec<Row<'a>>> {
        let cols: Vec<(String, Vec<String>)> = self
            .schemas
            .hosts
            .iter()
            .map(|c| (c.key.clone(), c.label.all().to_vec()))
            .collect();
        self.table(section, &cols)
    }

    /// Rows under the header that follows `section`, up to the next section,
    /// header or label; empty rows skipped.
    fn table(&self, section: &str, cols: &[(String, Vec<String>)]) -> Option<Vec<Row<'a>>> {
        let start = self.find_row_starting(section, 0)?;
        let first_header: Vec<String> = cols[0].1.iter().map(|l| label_key(l)).collect();
        let header = (start..=start + 5).find(|&r| {
            self.sheet
                .row(r)
                .any(|(c, _)| first_header.iter().any(|h| h == self.key_at(r, c)))
        })?;
        let columns = self.header_columns(header, cols);
        let mut rows = Vec::new();
        for r in header + 1..=self.sheet.last_row() {
            if self.is_stop_row(r) {
                break;
            }
            let cells: BTreeMap<String, Spot<'a>> = columns
                .iter()
                .map(|(key, c)| {
                    let spot = Spot {
                        pos: (r, *c),
                        value: self.sheet.get(r, *c),
                    };
                    (key.clone(), spot)
                })
                .collect();
            if cells.values().any(|s| s.value.is_some()) {
                rows.push(Row { row: r, cells });
            }
        }
        Some(rows)
    }

    fn header_columns(&self, header: u32, cols: &[(String, Vec<String>)]) -> Vec<(String, u32)> {
        cols.iter()
            .filter_map(|(key, labels)| {
                let keys: Vec<String> = labels.iter().map(|l| label_key(l)).collect();
                self.sheet
                    .row(header)
                    .find(|(c, _)| keys.iter().any(|k| k == self.key_at(header, *c)))
                    .map(|(c, _)| (key.clone(), c))
            })
            .collect()
    }

    /// The service grid: each 服务项目 column paired with the 数量 column
    /// after it; the 服务分项 of a row disambiguates repeated names.
    fn services(&self, header_label: &str) -> Vec<ServiceSpot<'a>> {
        let Some((header, group_col)) = self.find(&[header_label.to_string()]) else {
            return Vec::new();
        };
        let header_cells: Vec<(u32, &str)> = self.sheet.row_keys(header).collect();
        let pairs: Vec<(u32, u32)> = header_cells
            .iter()
            .filter(|(_, k)| *k == "服务项目")
            .filter_map(|(item_col, _)| {
                header_cells
                    .iter()
                    .find(|(c, k)| c > item_col && *k == "数量")
                    .map(|(qty_col, _)| (*item_col, *qty_col))
            })
            .collect();
        let mut group = String::new();
        let mut out = Vec::new();
        for r in header + 1..=self.sheet.last_row() {
            if self.is_stop_row(r) {
                break;
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
                let key = self
                    .schemas
                    .catalogue
                    .in_group(&group, &name)
                    .or_else(|| match self.schemas.catalogue.lookup(&name) {
                        crate::schema::Lookup::Found(i) => Some(i),
                        _ => None,
                    })
                    .map(|i| i.key.clone());
                out.push(ServiceSpot {
                    key,
                    name_pos: (r, item_col),
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
}
