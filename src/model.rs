//! The form model: what a submitted 附件1 / 附件4 says, once read and typed.
//!
//! Every later stage (validation policy, rendering, ledger, settlement) works
//! on these types, never on cells.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FormKind {
    Annex1,
    Annex4,
}

impl FormKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FormKind::Annex1 => "annex1",
            FormKind::Annex4 => "annex4",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            FormKind::Annex1 => "松江区市政务云资源申请表",
            FormKind::Annex4 => "松江区市政务云资源变更申请表",
        }
    }
}

/// One host class: all figures are per host, `count` multiplies them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    pub kind: String,
    pub cpu: u32,
    pub memory_gb: u32,
    pub os: String,
    pub system_disk_gb: u32,
    pub data_disk_gb: u32,
    pub zone: String,
    pub count: u32,
    pub note: String,
}

/// A project's resources: host classes plus catalogue services
/// (catalogue key → quantity; absent means not requested).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub hosts: Vec<Host>,
    pub services: BTreeMap<String, Decimal>,
}

/// Resource keys for host totals; service totals use catalogue keys.
pub const HOST_RESOURCES: [(&str, &str); 4] = [
    ("host.cpu", "CPU(核)"),
    ("host.memory", "内存(GB)"),
    ("host.system_disk", "系统盘(GB)"),
    ("host.data_disk", "数据盘(GB)"),
];

/// A resource total too large to compute (only absurd typed quantities
/// get here): the resource it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooLarge {
    pub key: String,
}

impl Config {
    /// Total of each resource (host figures × 台数, services as given),
    /// computed with checked arithmetic.
    /// No host and no service left: everything given back.
    pub fn is_empty(&self) -> bool {
        self.hosts.iter().all(|h| h.count == 0) && self.services.values().all(|q| q.is_zero())
    }

    pub fn totals(&self) -> Result<BTreeMap<String, Decimal>, TooLarge> {
        let mut totals = BTreeMap::new();
        let mut add = |key: &str, v: Option<Decimal>| {
            let total: &mut Decimal = totals.entry(key.to_string()).or_default();
            *total = v
                .and_then(|v| total.checked_add(v))
                .ok_or_else(|| TooLarge { key: key.into() })?;
            Ok(())
        };
        for h in &self.hosts {
            let n = Decimal::from(h.count);
            let per_host = [h.cpu, h.memory_gb, h.system_disk_gb, h.data_disk_gb];
            for ((key, _), v) in HOST_RESOURCES.iter().zip(per_host) {
                add(key, Decimal::from(v).checked_mul(n))?;
            }
        }
        for (key, qty) in &self.services {
            add(key, Some(*qty))?;
        }
        Ok(totals)
    }
}

/// The header shared by both forms (rows 1–7).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub date: Option<NaiveDate>,
    pub unit: String,
    pub project_name: String,
    pub project_code: Option<String>,
    pub provider: String,
    /// 市级 / 区级 / 自费
    pub ownership: String,
    /// X86 / XC
    pub arch: String,
    pub contact: String,
    pub phone: String,
    pub email: String,
    pub address: String,
}

impl Header {
    /// How the ledger identifies the project: 项目编号, else 申请单位 + 项目名称.
    pub fn project_key(&self) -> ProjectKey {
        ProjectKey {
            code: self.project_code.clone(),
            unit: self.unit.clone(),
            name: self.project_name.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectKey {
    pub code: Option<String>,
    pub unit: String,
    pub name: String,
}

impl ProjectKey {
    /// A short label for messages and file names: the code, else unit-name.
    pub fn label(&self) -> String {
        match &self.code {
            Some(code) => code.clone(),
            None => format!("{}-{}", self.unit, self.project_name_or_unit()),
        }
    }

    fn project_name_or_unit(&self) -> &str {
        if self.name.is_empty() {
            &self.unit
        } else {
            &self.name
        }
    }
}

/// 附件1 松江区市政务云资源申请表.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Application {
    pub header: Header,
    /// Every schema field as typed text (dates ISO, numbers plain), by key;
    /// lets templates use fields that staff add to the schema.
    pub fields: BTreeMap<String, String>,
    pub config: Config,
}

/// A catalogue service on 附件4 (其他服务项): before and after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceChange {
    pub key: String,
    pub before: Decimal,
    pub after: Decimal,
    pub note: String,
}

/// 附件4 松江区市政务云资源变更申请表.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub header: Header,
    pub fields: BTreeMap<String, String>,
    pub current_hosts: Vec<Host>,
    pub proposed_hosts: Vec<Host>,
    pub services: Vec<ServiceChange>,
}

impl Change {
    /// The configuration after the change: the proposed hosts, and the
    /// services of `base` with the listed ones replaced.
    pub fn proposed_config(&self, base: &Config) -> Config {
        // No host kept and no service asked for: everything is given back,
        // the services of the quota included (policy: an empty 变更后 table
        // is valid only when the 说明 speaks of a reclaim).
        if self.proposed_hosts.is_empty() && self.services.iter().all(|s| s.after.is_zero()) {
            return Config::default();
        }
        let mut services = base.services.clone();
        for s in &self.services {
            if s.after.is_zero() {
                services.remove(&s.key);
            } else {
                services.insert(s.key.clone(), s.after);
            }
        }
        Config {
            hosts: self.proposed_hosts.clone(),
            services,
        }
    }

    /// The configuration in force as the unit states it (现状).
    pub fn stated_current(&self, base: &Config) -> Config {
        let mut services = base.services.clone();
        for s in &self.services {
            if s.before.is_zero() {
                services.remove(&s.key);
            } else {
                services.insert(s.key.clone(), s.before);
            }
        }
        Config {
            hosts: self.current_hosts.clone(),
            services,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "lowercase")]
pub enum Form {
    Annex1(Application),
    Annex4(Change),
}

impl Form {
    pub fn kind(&self) -> FormKind {
        match self {
            Form::Annex1(_) => FormKind::Annex1,
            Form::Annex4(_) => FormKind::Annex4,
        }
    }

    pub fn header(&self) -> &Header {
        match self {
            Form::Annex1(a) => &a.header,
            Form::Annex4(c) => &c.header,
        }
    }
}
