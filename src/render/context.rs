//! The template context: what a template can print, built from the
//! submission, the configuration to agree on, the parties and the catalogue.
//! The variables are listed for clerks in README.md (生成协议文件 → 可用的变量).

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use super::grid;
use super::parties::{District, Provider};
use crate::model::{Application, Config, Host};
use crate::schema::Schemas;

pub const TICKED: &str = "☑";
pub const UNTICKED: &str = "□";

#[derive(Debug, Serialize)]
pub struct Unit<'a> {
    pub name: &'a str,
    pub contact: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub address: &'a str,
}

#[derive(Debug, Serialize)]
pub struct Project<'a> {
    pub name: &'a str,
    pub code: &'a str,
    pub ownership: &'a str,
    pub arch: &'a str,
    pub ownership_ticks: String,
    pub arch_ticks: String,
    pub date: String,
}

/// One catalogue service: ticked with its quantity when requested.
#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub name: String,
    pub unit: String,
    pub requested: bool,
    pub tick: &'static str,
    pub qty: String,
}

/// A row of 其他服务项: a requested service the grid does not print.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OtherService {
    pub name: String,
    pub qty: String,
    pub note: String,
}

#[derive(Debug, Serialize)]
pub struct Form<'a> {
    pub fields: &'a BTreeMap<String, String>,
}

/// Everything a template sees.
#[derive(Debug, Serialize)]
pub struct DocContext<'a> {
    pub unit: Unit<'a>,
    pub project: Project<'a>,
    pub form: Form<'a>,
    pub district: &'a District,
    pub provider: &'a Provider,
    pub hosts: &'a [Host],
    pub services: BTreeMap<String, Service>,
    pub other_services: Vec<OtherService>,
    pub months: u32,
}

/// `☑市级 □区级 □自费` from the field's choices and the chosen value.
pub fn ticks(choices: &[String], chosen: &str) -> String {
    choices
        .iter()
        .map(|c| {
            let mark = if c == chosen { TICKED } else { UNTICKED };
            format!("{mark}{c}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn quantity(q: Decimal) -> String {
    q.normalize().to_string()
}

fn choices<'s>(schemas: &'s Schemas, key: &str) -> &'s [String] {
    schemas
        .annex1
        .field(key)
        .map(|f| f.choices.as_slice())
        .unwrap_or(&[])
}

pub fn project<'a>(app: &'a Application, schemas: &Schemas) -> Project<'a> {
    let h = &app.header;
    Project {
        name: &h.project_name,
        code: h.project_code.as_deref().unwrap_or(""),
        ownership: &h.ownership,
        arch: &h.arch,
        ownership_ticks: ticks(choices(schemas, "ownership"), &h.ownership),
        arch_ticks: ticks(choices(schemas, "arch"), &h.arch),
        date: h
            .date
            .map(|d| d.format("%Y年%-m月%-d日").to_string())
            .unwrap_or_default(),
    }
}

pub fn unit(app: &Application) -> Unit<'_> {
    let h = &app.header;
    Unit {
        name: &h.unit,
        contact: &h.contact,
        phone: &h.phone,
        email: &h.email,
        address: &h.address,
    }
}

/// Every catalogue item by key, ticked when `config` requests it.
pub fn services(config: &Config, schemas: &Schemas) -> BTreeMap<String, Service> {
    schemas
        .catalogue
        .items
        .iter()
        .map(|item| {
            let qty = config.services.get(&item.key).filter(|q| !q.is_zero());
            let service = Service {
                name: item.name.clone(),
                unit: item.unit_label().to_string(),
                requested: qty.is_some(),
                tick: if qty.is_some() { TICKED } else { UNTICKED },
                qty: qty.map(|q| quantity(*q)).unwrap_or_default(),
            };
            (item.key.clone(), service)
        })
        .collect()
}

/// Requested services the grid does not print (items staff added to the
/// catalogue), padded with blank rows to the table's printed length.
pub fn other_services(config: &Config, schemas: &Schemas) -> Vec<OtherService> {
    let in_grid: Vec<&str> = grid::keys().collect();
    let mut rows: Vec<OtherService> = config
        .services
        .iter()
        .filter(|(k, q)| !in_grid.contains(&k.as_str()) && !q.is_zero())
        .map(|(k, q)| OtherService {
            name: schemas.catalogue.resource_name(k),
            qty: quantity(*q),
            note: String::new(),
        })
        .collect();
    while rows.len() < grid::OTHER_SERVICE_ROWS {
        rows.push(OtherService::default());
    }
    rows
}
