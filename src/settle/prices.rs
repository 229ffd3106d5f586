//! The price catalogue (`schemas/prices.yaml`): unit price per resource
//! key, per month or year, valid from a date.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::model::HOST_RESOURCES;
use crate::schema::{parse_yaml, Catalogue, ConfigError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    Month,
    Year,
}

impl Period {
    pub fn label(self) -> &'static str {
        match self {
            Period::Month => "月",
            Period::Year => "年",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub key: String,
    pub unit: String,
    pub period: Period,
    pub price: Decimal,
    pub valid_from: NaiveDate,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceList {
    /// Sample figures, not the municipal catalogue: said wherever used.
    #[serde(default)]
    pub sample: bool,
    pub title: String,
    /// Host resources billed through catalogue items (host key → items),
    /// never priced on their own.
    #[serde(default)]
    pub included: BTreeMap<String, Vec<String>>,
    pub items: Vec<Price>,
    #[serde(skip)]
    pub file: String,
}

impl PriceList {
    /// Loads `prices.yaml` from `file`, or from `dir` (or `./schemas`), else
    /// the built-in sample.
    pub fn load(
        file: Option<&Path>,
        dir: Option<&Path>,
        catalogue: &Catalogue,
    ) -> Result<PriceList, ConfigError> {
        let (name, text) = match file {
            Some(f) => {
                let name = f.display().to_string();
                let text = std::fs::read_to_string(f).map_err(|e| {
                    ConfigError::new(&name, format!("无法读取:{}", crate::oserror::reason(&e)))
                })?;
                (name, text)
            }
            None => {
                let src = crate::datafiles::Folder::schemas(dir);
                (src.label("prices.yaml"), src.text("prices.yaml")?)
            }
        };
        let mut list: PriceList = parse_yaml(&name, &text)?;
        list.file = name;
        list.check(catalogue)?;
        Ok(list)
    }

    fn check(&self, catalogue: &Catalogue) -> Result<(), ConfigError> {
        let included = self
            .included
            .iter()
            .flat_map(|(k, items)| std::iter::once(k).chain(items));
        for key in included.chain(self.items.iter().map(|p| &p.key)) {
            let known =
                HOST_RESOURCES.iter().any(|(k, _)| k == key) || catalogue.get(key).is_some();
            if !known {
                return Err(ConfigError::new(
                    &self.file,
                    format!("未知的资源 key: {key}(应为 host.cpu 等主机资源或服务目录中的 key)"),
                ));
            }
        }
        for p in &self.items {
            if p.price < Decimal::ZERO {
                return Err(ConfigError::new(
                    &self.file,
                    format!("{} 的单价不能为负数", p.key),
                ));
            }
            let twins = self
                .items
                .iter()
                .filter(|q| q.key == p.key && q.valid_from == p.valid_from)
                .count();
            if twins > 1 {
                return Err(ConfigError::new(
                    &self.file,
                    format!(
                        "{} 自 {} 起有两条单价;同一日期只能有一条",
                        p.key, p.valid_from
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The price of `key` in force on `date`.
    pub fn on(&self, key: &str, date: NaiveDate) -> Option<&Price> {
        self.items
            .iter()
            .filter(|p| p.key == key && p.valid_from <= date)
            .max_by_key(|p| p.valid_from)
    }

    /// Dates in (from, to] on which the price of `key` changes.
    pub fn changes(&self, key: &str, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
        let mut dates: Vec<NaiveDate> = self
            .items
            .iter()
            .filter(|p| p.key == key && p.valid_from > from && p.valid_from <= to)
            .map(|p| p.valid_from)
            .collect();
        dates.sort();
        dates
    }

    /// How to say where the prices come from.
    pub fn notice(&self) -> String {
        if self.sample {
            format!(
                "单价:{}。示例价格仅供演示,正式结算前须按市政务云服务目录替换 {}",
                self.title, self.file
            )
        } else {
            format!("单价:{}({})", self.title, self.file)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_price_wins_from_its_date() {
        let text = "title: t\nitems:\n  - {key: host.cpu, unit: 核, period: month, price: \"60\", valid_from: 2022-07-01}\n  - {key: host.cpu, unit: 核, period: month, price: \"50\", valid_from: 2027-01-01}\n";
        let list: PriceList = parse_yaml("p.yaml", text).unwrap();
        let d = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert_eq!(
            list.on("host.cpu", d("2026-12-31")).unwrap().price,
            Decimal::from(60)
        );
        assert_eq!(
            list.on("host.cpu", d("2027-01-01")).unwrap().price,
            Decimal::from(50)
        );
        assert!(list.on("host.cpu", d("2022-06-30")).is_none());
        assert_eq!(
            list.changes("host.cpu", d("2026-07-01"), d("2027-06-30")),
            vec![d("2027-01-01")]
        );
    }
}
