//! Reading a located form into its model: cells (and what the sheet
//! shows of them) → fields, hosts and services, each read as meant or
//! with a reading diagnostic at its cell. Nothing here judges the form
//! against the rules or the ledger: that is `validate`.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::fields::{self, Sink};
use super::locate::{self, Located, Row};
use super::{marks, Workbook};
use crate::diag::{a1, Diagnostic};
use crate::model::{Application, Change, Config, Form, FormKind, Header, Host, ServiceChange};
use crate::schema::{Catalogue, Lookup, Schemas};

/// A form read whole: where its parts are, its model, and the
/// diagnostics of reading it.
pub struct ReadForm<'w> {
    pub located: Located<'w>,
    pub model: Form,
    /// 附件4: the sheet rows its 现状 hosts were read from.
    pub host_rows: HostRows,
    pub diags: Vec<Diagnostic>,
}

/// Sheet rows the 现状 hosts were read from, in the order of the change's list.
#[derive(Default)]
pub struct HostRows {
    pub current: Vec<u32>,
}

/// Finds the form in the workbook and reads it; None when the workbook
/// holds neither 附件1 nor 附件4.
pub fn read_form<'w>(wb: &'w Workbook, schemas: &Schemas) -> Option<ReadForm<'w>> {
    let identified = locate::identify(wb, schemas)?;
    let (kind, sheet) = (identified.kind, identified.sheet);
    let located = locate::locate(sheet, kind, schemas);
    let mut sink = Sink {
        sheet: &sheet.name,
        diags: [identified.diags, sheet.diags.clone(), located.diags.clone()].concat(),
    };
    marks::check_marks(&located, &mut sink);
    let (model, host_rows) = match kind {
        FormKind::Annex1 => {
            let app = build_application(&located, schemas, &mut sink);
            marks::check_date(&located, app.header.date, wb.saved, &mut sink);
            (Form::Annex1(app), HostRows::default())
        }
        FormKind::Annex4 => {
            let (change, rows) = build_change(&located, schemas, &mut sink);
            marks::check_date(&located, change.header.date, wb.saved, &mut sink);
            (Form::Annex4(change), rows)
        }
    };
    let diags = sink.diags;
    Some(ReadForm {
        located,
        model,
        host_rows,
        diags,
    })
}

/// Every schema field as canonical text, by key.
fn read_fields(located: &Located, schemas: &Schemas, sink: &mut Sink) -> BTreeMap<String, String> {
    let schema = schemas.form(located.kind);
    schema
        .fields
        .iter()
        .filter_map(|spec| {
            let spot = located.fields.get(&spec.key).copied().flatten();
            fields::read_field(spec, spot, sink).map(|v| (spec.key.clone(), v))
        })
        .collect()
}

fn header(fields: &BTreeMap<String, String>) -> Header {
    let get = |k: &str| fields.get(k).cloned().unwrap_or_default();
    Header {
        date: fields.get("date").and_then(|d| d.parse().ok()),
        unit: get("unit"),
        project_name: get("project_name"),
        project_code: fields.get("project_code").cloned(),
        provider: get("provider"),
        ownership: get("ownership"),
        arch: get("arch"),
        contact: get("contact"),
        phone: get("phone"),
        email: get("email"),
        address: get("address"),
    }
}

fn build_application(located: &Located, schemas: &Schemas, sink: &mut Sink) -> Application {
    let fields = read_fields(located, schemas, sink);
    let hosts = read_hosts(located, "hosts", schemas, sink);
    let services = read_services(located, &schemas.catalogue, sink);
    Application {
        header: header(&fields),
        fields,
        config: Config { hosts, services },
    }
}

/// The change, and the sheet rows its current and proposed hosts were read
/// from.
fn build_change(located: &Located, schemas: &Schemas, sink: &mut Sink) -> (Change, HostRows) {
    let fields = read_fields(located, schemas, sink);
    let (current_rows, current_hosts) = read_hosts_at(located, "current_hosts", schemas, sink)
        .into_iter()
        .unzip();
    let proposed_hosts = read_hosts(located, "proposed_hosts", schemas, sink);
    let change = Change {
        header: header(&fields),
        current_hosts,
        proposed_hosts,
        services: read_other_services(located, &schemas.catalogue, sink),
        fields,
    };
    let rows = HostRows {
        current: current_rows,
    };
    (change, rows)
}

fn read_hosts(located: &Located, table: &str, schemas: &Schemas, sink: &mut Sink) -> Vec<Host> {
    read_hosts_at(located, table, schemas, sink)
        .into_iter()
        .map(|(_, h)| h)
        .collect()
}

/// The hosts of a table, each with the sheet row it was read from.
fn read_hosts_at(
    located: &Located,
    table: &str,
    schemas: &Schemas,
    sink: &mut Sink,
) -> Vec<(u32, Host)> {
    let spec = schemas
        .form(located.kind)
        .tables
        .iter()
        .find(|t| t.key == table);
    let Some(spec) = spec else { return Vec::new() };
    let Some(Some(rows)) = located.tables.get(table) else {
        let d = Diagnostic::error(
            "form.section_missing",
            format!("表格中找不到“{}”部分", spec.section),
        )
        .hint("请使用下发的表格模板,不要删除表格上印好的部分标题和表头");
        sink.push(d, None, &spec.section);
        return Vec::new();
    };
    if rows.len() > spec.max_rows {
        let d = Diagnostic::error(
            "table.too_many_rows",
            format!(
                "“{}”有 {} 行,超过上限 {} 行",
                spec.section,
                rows.len(),
                spec.max_rows
            ),
        )
        .hint("请将相同配置的主机合并为一行,用“台数”表示数量");
        sink.push(d, Some((rows[0].row, 0)), &spec.section);
        return Vec::new();
    }
    rows.iter()
        .filter_map(|row| read_host(row, schemas, sink).map(|h| (row.row, h)))
        .collect()
}

fn read_host(row: &Row, schemas: &Schemas, sink: &mut Sink) -> Option<Host> {
    let mut values = BTreeMap::new();
    let mut ok = true;
    for col in &schemas.hosts {
        // A column missing from the header is reported once, by locate.
        let Some(spot) = row.cells.get(&col.key).copied() else {
            ok &= !col.required;
            continue;
        };
        let assumed;
        let spec = match row.units.get(&col.key) {
            Some(unit) => {
                assumed = col.assuming(unit);
                &assumed
            }
            None => col,
        };
        match fields::read_field(spec, Some(spot), sink) {
            Some(v) => {
                values.insert(col.key.as_str(), v);
            }
            None => ok &= !col.required,
        }
    }
    let text = |k: &str| values.get(k).cloned().unwrap_or_default();
    let int = |k: &str| {
        values
            .get(k)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    };
    ok.then(|| Host {
        kind: text("kind"),
        cpu: int("cpu"),
        memory_gb: int("memory_gb"),
        os: text("os"),
        system_disk_gb: int("system_disk_gb"),
        data_disk_gb: int("data_disk_gb"),
        zone: text("zone"),
        count: int("count"),
        note: text("note"),
    })
}

fn read_services(
    located: &Located,
    catalogue: &Catalogue,
    sink: &mut Sink,
) -> BTreeMap<String, Decimal> {
    let mut services = BTreeMap::new();
    let mut seen: BTreeMap<&str, (u32, u32)> = BTreeMap::new();
    for s in &located.services {
        let Some(item) = s.key.as_deref().and_then(|k| catalogue.get(k)) else {
            let d = Diagnostic::error(
                "service.unknown",
                format!("无法识别的服务项目“{}”", s.name.trim()),
            )
            .hint("请不要改写表格上印好的服务项目名称;如需其他服务,请在“申请单位说明”中写明");
            sink.push(d, Some(s.name_pos), s.name.trim());
            continue;
        };
        let name = item.full_name();
        if let Some(first) = seen.insert(&item.key, s.name_pos) {
            // Which quantity is meant cannot be guessed: both cells.
            let places = format!(
                "{}、{}",
                a1(first.0, first.1),
                a1(s.name_pos.0, s.name_pos.1)
            );
            for cell in [first, s.name_pos] {
                let d = Diagnostic::error(
                    "service.duplicate",
                    format!("“{name}”在服务表格中出现两次({places})"),
                )
                .hint("每个服务项只填写一处数量");
                sink.push(d, Some(cell), &name);
            }
        }
        let Some(value) = s.qty.value else {
            if let Some(q) = ticked_name(s, item, &name, sink) {
                services.insert(item.key.clone(), q);
            }
            continue;
        };
        let measure = item.measure.as_ref().map(|m| m.assuming(s.unit.as_ref()));
        match fields::quantity(&name, measure.as_ref(), item.max, value) {
            Ok((q, note)) => {
                if let Some(note) = note {
                    sink.push(note, Some(s.qty.pos), &name);
                }
                if !q.is_zero() {
                    services.insert(item.key.clone(), q);
                }
            }
            Err(d) => sink.push(d, Some(s.qty.pos), &name),
        }
    }
    services
}

/// A service whose printed □ became a tick but whose 数量 is empty: a
/// request of 1 for a service without a unit (warning), an error for a
/// measured one.
fn ticked_name(
    s: &locate::ServiceSpot,
    item: &crate::schema::CatalogueItem,
    name: &str,
    sink: &mut Sink,
) -> Option<Decimal> {
    if !super::text::has_tick(&s.name) {
        return None;
    }
    if item.unit.is_some() {
        let d = fields::quantity_missing(name, item.measure.as_ref());
        sink.push(d, Some(s.qty.pos), name);
        return None;
    }
    let d = Diagnostic::warning(
        "service.ticked_name",
        format!("“{name}”在服务名称处打了勾,数量栏为空,按申请 1 项处理"),
    )
    .hint("请在数量栏填写 1 或 √ 表示申请;不申请请取消勾选");
    sink.push(d, Some(s.name_pos), name);
    if let Some(d) = fields::crossed_box(name, &s.name) {
        sink.push(d, Some(s.name_pos), name);
    }
    Some(Decimal::ONE)
}

fn read_other_services(
    located: &Located,
    catalogue: &Catalogue,
    sink: &mut Sink,
) -> Vec<ServiceChange> {
    let Some(rows) = &located.other_services else {
        if let Some(spec) = located_spec_other(located) {
            let d = Diagnostic::error(
                "form.section_missing",
                format!("表格中找不到“{}”部分", spec),
            )
            .hint("请使用下发的表格模板,不要删除表格上印好的部分标题和表头");
            sink.push(d, None, &spec);
        }
        return Vec::new();
    };
    let mut out = Vec::new();
    for row in rows {
        let text = |k: &str| {
            row.cells
                .get(k)
                .and_then(|s| s.value)
                .map(|v| v.as_text())
                .unwrap_or_default()
        };
        let pos = |k: &str| row.cells.get(k).map(|s| s.pos).unwrap_or((row.row, 0));
        let name = text("name");
        if name.trim().is_empty() {
            let d = Diagnostic::error("field.required", "“服务项名称”未填写,但该行填了数量")
                .hint("请填写服务项名称,或清空整行");
            sink.push(d, Some(pos("name")), "服务项名称");
            continue;
        }
        // `OSS(GB)`: the item, its quantities read in the unit printed.
        let (lookup, printed_unit) = match catalogue.lookup(&name) {
            Lookup::Unknown => match catalogue.with_unit(None, &name) {
                Some((i, unit)) => (Lookup::Found(i), Some(unit)),
                None => (Lookup::Unknown, None),
            },
            found => (found, None),
        };
        let item = match lookup {
            Lookup::Found(i) => i,
            Lookup::Unknown => {
                let d = Diagnostic::error("service.unknown", format!("“{}”不是服务目录中的服务项", name.trim()))
                    .hint("服务项名称须与附件1 服务目录一致,例如 互联网带宽(GB)、负载均衡SLB(个)、堡垒机服务");
                sink.push(d, Some(pos("name")), name.trim());
                continue;
            }
            Lookup::Ambiguous(items) => {
                let names: Vec<String> = items.iter().map(|i| i.full_name()).collect();
                let d = Diagnostic::error(
                    "service.ambiguous",
                    format!("“{}”对应多个服务项", name.trim()),
                )
                .hint(format!("请写明分项,例如:{}", names.join("、")));
                sink.push(d, Some(pos("name")), name.trim());
                continue;
            }
        };
        let full = item.full_name();
        let mut qty = |k: &str| -> Option<Decimal> {
            let Some(spot) = row.cells.get(k) else {
                return Some(Decimal::ZERO);
            };
            let measure = item
                .measure
                .as_ref()
                .map(|m| m.assuming(printed_unit.as_ref()));
            match spot
                .value
                .map(|v| fields::quantity(&full, measure.as_ref(), item.max, v))
            {
                None => Some(Decimal::ZERO),
                Some(Ok((q, note))) => {
                    if let Some(note) = note {
                        sink.push(note, Some(spot.pos), &full);
                    }
                    Some(q)
                }
                Some(Err(d)) => {
                    sink.push(d, Some(spot.pos), &full);
                    None
                }
            }
        };
        let (Some(before), Some(after)) = (qty("before"), qty("after")) else {
            continue;
        };
        out.push(ServiceChange {
            key: item.key.clone(),
            before,
            after,
            note: text("note"),
        });
    }
    out
}

fn located_spec_other(located: &Located) -> Option<String> {
    (located.kind == FormKind::Annex4).then(|| "其他服务项".to_string())
}

/// The A1 address of a located field's value cell, for policy messages.
pub fn field_cell(located: &Located, key: &str) -> Option<(u32, u32)> {
    located.fields.get(key).copied().flatten().map(|s| s.pos)
}
