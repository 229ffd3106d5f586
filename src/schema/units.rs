//! Units of measure: each numeric column and service names one; a unit of
//! the same dimension converts by the factor declared in `catalogue.yaml`.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::ConfigError;
use crate::read::text::label_key;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitDef {
    /// How the unit is printed (`GB`, `TB`, `核`).
    pub name: String,
    /// What it measures (`容量`, `核数`); units of one dimension convert.
    pub dimension: String,
    /// How many base units of the dimension one of this unit is.
    pub factor: Decimal,
    /// Other ways of writing it (`T`, `TB`, `TiB`).
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(skip)]
    keys: Vec<String>,
}

impl UnitDef {
    fn is_written(&self, key: &str) -> bool {
        self.keys.iter().any(|k| k == key)
    }
}

/// All the units the schema knows.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Units(Vec<UnitDef>);

/// What a unit typed after a number turned out to be, for a column of `unit`.
#[derive(Debug, Clone)]
pub enum Typed<'a> {
    /// No unit, or the column's own unit: the number as it is.
    Same,
    /// Another unit of the same dimension: multiply by `factor`.
    Converted { from: &'a UnitDef, factor: Decimal },
    /// A unit the schema knows, of another dimension.
    OtherDimension(&'a UnitDef),
    /// A unit the schema does not know.
    Unknown,
}

impl Units {
    pub(super) fn prepare(&mut self, file: &str) -> Result<(), ConfigError> {
        for u in &mut self.0 {
            if u.factor <= Decimal::ZERO {
                return Err(ConfigError::new(
                    file,
                    format!("单位 {} 的 factor 应大于 0", u.name),
                ));
            }
            u.keys = std::iter::once(&u.name)
                .chain(&u.aliases)
                .map(|a| label_key(a))
                .collect();
        }
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&UnitDef> {
        self.0.iter().find(|u| u.name == name)
    }

    /// Checks that a column's declared unit exists.
    pub(super) fn check(&self, file: &str, owner: &str, unit: &str) -> Result<(), ConfigError> {
        match self.get(unit) {
            Some(_) => Ok(()),
            None => Err(ConfigError::new(
                file,
                format!("{owner} 的单位 {unit} 未在 catalogue.yaml 的 units 中定义"),
            )),
        }
    }

    /// What `typed` (as `split_number` returns it) means for a column
    /// measured in `unit`. The column's own dimension is searched first, so
    /// one word may serve several dimensions (`个`).
    pub fn classify(&self, unit: &str, typed: &str) -> Typed<'_> {
        let key = label_key(typed);
        let Some(own) = self.get(unit) else {
            return Typed::Unknown;
        };
        if key.is_empty() || own.is_written(&key) {
            return Typed::Same;
        }
        let same_dimension = self
            .0
            .iter()
            .find(|u| u.dimension == own.dimension && u.is_written(&key));
        if let Some(from) = same_dimension {
            return Typed::Converted {
                from,
                factor: from.factor / own.factor,
            };
        }
        match self.0.iter().find(|u| u.is_written(&key)) {
            Some(other) => Typed::OtherDimension(other),
            None => Typed::Unknown,
        }
    }
}

/// A column's unit together with the table it is looked up in.
#[derive(Debug, Clone)]
pub struct Measure {
    pub unit: String,
    pub units: Arc<Units>,
}

impl Measure {
    pub fn classify(&self, typed: &str) -> Typed<'_> {
        self.units.classify(&self.unit, typed)
    }

    pub fn def(&self) -> Option<&UnitDef> {
        self.units.get(&self.unit)
    }
}
