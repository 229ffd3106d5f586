//! The service catalogue: every item a unit can request, with its unit.

use serde::Deserialize;

use super::ConfigError;
use crate::read::text::{label_key, split_label_unit};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogueItem {
    pub key: String,
    pub name: String,
    pub group: String,
    pub category: String,
    pub unit: Option<String>,
    /// The largest quantity a unit may request.
    pub max: rust_decimal::Decimal,
    #[serde(default)]
    pub aliases: Vec<String>,
    /// The unit with its conversions (set at load; `项` when none).
    #[serde(skip)]
    pub measure: Option<super::Measure>,
    /// Label keys of the name and aliases, and of the group (set at load).
    #[serde(skip)]
    keys: Vec<String>,
    #[serde(skip)]
    group_key: String,
    /// Label keys of the name and aliases without their unit (`ssd`), for
    /// an item with a unit.
    #[serde(skip)]
    bases: Vec<String>,
}

impl CatalogueItem {
    /// The name with its group, unambiguous across the catalogue.
    pub fn full_name(&self) -> String {
        if self.group == self.category || self.name.contains(&self.group) {
            self.name.clone()
        } else {
            format!("{} {}", self.group, self.name)
        }
    }

    /// The unit as printed, empty for a service without one.
    pub fn unit_label(&self) -> &str {
        match (&self.unit, &self.measure) {
            (Some(_), Some(m)) => m.label(),
            _ => "",
        }
    }

    fn matches(&self, key: &str) -> bool {
        self.keys.iter().any(|n| n == key)
    }

    fn matches_with_group(&self, key: &str) -> bool {
        key.strip_prefix(self.group_key.as_str())
            .is_some_and(|rest| self.matches(rest))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// Units of measure and their conversions (see units.rs).
    pub units: super::Units,
    pub items: Vec<CatalogueItem>,
}

/// The unit counted for a service without one (1 = requested).
pub const UNITLESS: &str = "项";

/// The outcome of looking an item up by the name a unit wrote.
pub enum Lookup<'a> {
    Found(&'a CatalogueItem),
    Ambiguous(Vec<&'a CatalogueItem>),
    Unknown,
}

impl Catalogue {
    pub fn get(&self, key: &str) -> Option<&CatalogueItem> {
        self.items.iter().find(|i| i.key == key)
    }

    /// Display name for a resource key (catalogue key or host total).
    pub fn resource_name(&self, key: &str) -> String {
        if let Some((_, name)) = crate::model::HOST_RESOURCES.iter().find(|(k, _)| *k == key) {
            return format!("主机{name}");
        }
        self.get(key)
            .map(|i| i.full_name())
            .unwrap_or_else(|| key.to_string())
    }

    /// Sort key of a resource: host totals first, then services in
    /// catalogue order.
    pub fn resource_order(&self, key: &str) -> usize {
        let hosts = crate::model::HOST_RESOURCES.len();
        crate::model::HOST_RESOURCES
            .iter()
            .position(|(k, _)| *k == key)
            .or_else(|| {
                self.items
                    .iter()
                    .position(|i| i.key == key)
                    .map(|p| p + hosts)
            })
            .unwrap_or(usize::MAX)
    }

    /// Resource totals in display order, with their names.
    pub fn ordered<'a, V: Copy>(
        &self,
        totals: &'a std::collections::BTreeMap<String, V>,
    ) -> Vec<(&'a str, String, V)> {
        let mut out: Vec<_> = totals
            .iter()
            .map(|(k, v)| (k.as_str(), self.resource_name(k), *v))
            .collect();
        out.sort_by_key(|(k, _, _)| self.resource_order(k));
        out
    }

    /// The item printed as `name` in the row of group `group` (service grid).
    pub fn in_group(&self, group: &str, name: &str) -> Option<&CatalogueItem> {
        let (g, n) = (label_key(group), label_key(name));
        self.items
            .iter()
            .find(|i| i.group_key == g && i.matches(&n))
    }

    /// The item a free-text name denotes: `SSD(GB)` alone is ambiguous,
    /// `数据盘SSD(GB)` is not.
    pub fn lookup(&self, name: &str) -> Lookup<'_> {
        let key = label_key(name);
        let with_group: Vec<_> = self
            .items
            .iter()
            .filter(|i| i.matches_with_group(&key))
            .collect();
        if let [one] = with_group.as_slice() {
            return Lookup::Found(one);
        }
        let by_name: Vec<_> = self.items.iter().filter(|i| i.matches(&key)).collect();
        match by_name.len() {
            0 => Lookup::Unknown,
            1 => Lookup::Found(by_name[0]),
            _ => Lookup::Ambiguous(by_name),
        }
    }

    /// The measured item a name denotes when it prints another unit than
    /// the item's (`SSD(TB)` in group 数据盘, `数据盘SSD(TB)`), with that unit.
    pub fn with_unit(&self, group: Option<&str>, name: &str) -> Option<(&CatalogueItem, String)> {
        let (base, unit) = split_label_unit(name)?;
        let group = group.map(label_key);
        let named = |i: &&CatalogueItem| {
            i.bases.iter().any(|b| {
                *b == base
                    || base
                        .strip_prefix(i.group_key.as_str())
                        .is_some_and(|rest| rest == b)
            })
        };
        let in_group: Vec<_> = self
            .items
            .iter()
            .filter(|i| group.as_ref() == Some(&i.group_key))
            .filter(named)
            .collect();
        let candidates = match in_group.as_slice() {
            [_] => in_group,
            _ => self.items.iter().filter(named).collect(),
        };
        match candidates.as_slice() {
            [one] => Some((*one, unit)),
            _ => None,
        }
    }

    /// Checks keys are unique and computes the matching keys once.
    pub(super) fn prepare(&mut self, file: &str) -> Result<(), ConfigError> {
        self.units.prepare(file)?;
        let units = std::sync::Arc::new(self.units.clone());
        for item in &mut self.items {
            let unit = item.unit.clone().unwrap_or_else(|| UNITLESS.to_string());
            units.check(file, &format!("服务项 {}", item.key), &unit)?;
            item.measure = Some(super::Measure::new(unit, &units));
            item.keys = std::iter::once(&item.name)
                .chain(&item.aliases)
                .map(|n| label_key(n))
                .collect();
            item.group_key = label_key(&item.group);
            if item.unit.is_some() {
                item.bases = std::iter::once(&item.name)
                    .chain(&item.aliases)
                    .map(|n| split_label_unit(n).map_or_else(|| label_key(n), |(b, _)| b))
                    .collect();
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for item in &self.items {
            if !seen.insert(item.key.as_str()) {
                return Err(ConfigError::new(
                    file,
                    format!("服务项 key 重复:{}", item.key),
                ));
            }
        }
        Ok(())
    }
}
