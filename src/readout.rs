//! `zwyun read`: what zwyun understood from a submission, as typed data
//! keyed by the schema keys (a public contract), for people and programs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::{json, Map, Value};

use crate::model::{Form, Host};
use crate::report;
use crate::schema::{FieldSpec, FieldType, Measure, Schemas};
use crate::validate::Outcome;

/// validate's JSON object plus `"data"` (null when no form was recognised).
pub fn json_value(outcome: &Outcome, schemas: &Schemas) -> Value {
    let mut value = report::json_value(outcome);
    value["data"] = outcome
        .model
        .as_ref()
        .map(|m| data(m, schemas))
        .unwrap_or(Value::Null);
    value
}

fn data(form: &Form, schemas: &Schemas) -> Value {
    let specs = &schemas.form(form.kind()).fields;
    match form {
        Form::Annex1(a) => json!({
            "fields": fields(&a.fields, specs),
            "hosts": hosts(&a.config.hosts),
            "services": services(a.config.services.iter().map(|(k, q)| (k, *q))),
        }),
        Form::Annex4(c) => json!({
            "fields": fields(&c.fields, specs),
            "current": {
                "hosts": hosts(&c.current_hosts),
                "services": services(c.services.iter().map(|s| (&s.key, s.before))),
            },
            "proposed": {
                "hosts": hosts(&c.proposed_hosts),
                "services": services(c.services.iter().map(|s| (&s.key, s.after))),
            },
        }),
    }
}

/// Fields by key: numbers as JSON numbers, the rest as canonical text.
fn fields(values: &BTreeMap<String, String>, specs: &[FieldSpec]) -> Value {
    let typed = specs.iter().filter_map(|spec| {
        let v = values.get(&spec.key)?;
        let value = match spec.ty {
            FieldType::Integer | FieldType::Decimal => v
                .parse::<Decimal>()
                .map(number)
                .unwrap_or_else(|_| Value::from(v.as_str())),
            _ => Value::from(v.as_str()),
        };
        Some((spec.key.clone(), value))
    });
    Value::Object(typed.collect::<Map<_, _>>())
}

/// Host rows by host column key (the keys of `schemas/hosts.yaml`).
fn hosts(hosts: &[Host]) -> Value {
    serde_json::to_value(hosts).unwrap_or_default()
}

/// Requested services by catalogue key; a zero quantity is not a request.
fn services<'a>(items: impl Iterator<Item = (&'a String, Decimal)>) -> Value {
    let requested = items
        .filter(|(_, q)| !q.is_zero())
        .map(|(k, q)| (k.clone(), number(q)));
    Value::Object(requested.collect::<Map<_, _>>())
}

/// A decimal as a JSON number: an integer when it is one.
fn number(d: Decimal) -> Value {
    let d = d.normalize();
    if d.fract().is_zero() {
        if let Some(i) = d.to_i64() {
            return Value::from(i);
        }
    }
    d.to_f64().map(Value::from).unwrap_or(Value::Null)
}

/// The readable summary: what was read, then the problems.
pub fn text(outcome: &Outcome, schemas: &Schemas) -> String {
    let mut out = report::text(outcome);
    let Some(form) = &outcome.model else {
        return out;
    };
    let specs = &schemas.form(form.kind()).fields;
    let values = match form {
        Form::Annex1(a) => &a.fields,
        Form::Annex4(c) => &c.fields,
    };
    out.push_str("  读取的内容:\n");
    for spec in specs {
        if let Some(v) = values.get(&spec.key) {
            let unit = spec.measure.as_ref().map(Measure::label).unwrap_or("");
            let _ = writeln!(out, "    {}:{v}{}", spec.name(), spaced(unit));
        }
    }
    match form {
        Form::Annex1(a) => {
            host_lines(&mut out, "计算资源", &a.config.hosts);
            service_lines(
                &mut out,
                "服务",
                a.config.services.iter().map(|(k, q)| (k, *q)),
                schemas,
            );
        }
        Form::Annex4(c) => {
            host_lines(&mut out, "政务云资源现状", &c.current_hosts);
            host_lines(&mut out, "拟变更的政务云资源", &c.proposed_hosts);
            service_lines(
                &mut out,
                "其他服务项(现有)",
                c.services.iter().map(|s| (&s.key, s.before)),
                schemas,
            );
            service_lines(
                &mut out,
                "其他服务项(变更后)",
                c.services.iter().map(|s| (&s.key, s.after)),
                schemas,
            );
        }
    }
    out
}

fn spaced(unit: &str) -> String {
    if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    }
}

fn host_lines(out: &mut String, title: &str, hosts: &[Host]) {
    let _ = writeln!(out, "    {title}:{} 类主机", hosts.len());
    for (i, h) in hosts.iter().enumerate() {
        let _ = writeln!(
            out,
            "      {}. {} {} 核 / {} GB 内存 / {} / 系统盘 {} GB / 数据盘 {} GB / {} × {} 台{}",
            i + 1,
            h.kind,
            h.cpu,
            h.memory_gb,
            h.os,
            h.system_disk_gb,
            h.data_disk_gb,
            h.zone,
            h.count,
            if h.note.is_empty() {
                String::new()
            } else {
                format!("({})", h.note)
            }
        );
    }
}

fn service_lines<'a>(
    out: &mut String,
    title: &str,
    items: impl Iterator<Item = (&'a String, Decimal)>,
    schemas: &Schemas,
) {
    let mut items: Vec<_> = items.filter(|(_, q)| !q.is_zero()).collect();
    items.sort_by_key(|(k, _)| schemas.catalogue.resource_order(k));
    let _ = writeln!(out, "    {title}:{} 项", items.len());
    for (key, q) in items {
        let unit = schemas.catalogue.get(key).map_or("", |i| i.unit_label());
        let _ = writeln!(
            out,
            "      {}:{}{}",
            schemas.catalogue.resource_name(key),
            q.normalize(),
            spaced(unit)
        );
    }
}
