//! Units of measure: each numeric column and service names one; a unit of
//! the same dimension converts by the factor declared in `catalogue.yaml`.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Deserialize;

use super::ConfigError;
use crate::read::text::fold;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitDef {
    /// How columns and services refer to the unit, when two units are
    /// printed alike (`带宽GB` is printed `GB` but measures bandwidth).
    #[serde(default)]
    pub id: Option<String>,
    /// How the unit is printed (`GB`, `TB`, `核`).
    pub name: String,
    /// What it measures (`容量`, `核数`); units of one dimension convert.
    pub dimension: String,
    /// How many base units of the dimension one of this unit is.
    pub factor: Decimal,
    /// Other ways of writing it (`T`, `TB`, `TiB`).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Said with every error about this unit (why nothing converts to it).
    #[serde(default)]
    pub note: Option<String>,
    /// The name and aliases as `written` compares them.
    #[serde(skip)]
    keys: Vec<String>,
}

impl UnitDef {
    pub fn id(&self) -> &str {
        self.id.as_deref().unwrap_or(&self.name)
    }

    /// Whether `typed` is one of the unit's spellings: exactly (`Gb` is not
    /// `GB`: a lower-case b is a bit), or ignoring case.
    fn is_written(&self, typed: &str, exact: bool) -> bool {
        self.keys.iter().any(|k| {
            if exact {
                k == typed
            } else {
                k.to_lowercase() == typed.to_lowercase()
            }
        })
    }
}

/// A unit as `is_written` compares it: folded, no whitespace.
fn squash(s: &str) -> String {
    fold(s).chars().filter(|c| !c.is_whitespace()).collect()
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
    /// Units the schema knows, of other dimensions (`M` is both MB and
    /// Mbps).
    OtherDimension(Vec<&'a UnitDef>),
    /// A unit the schema does not know.
    Unknown,
}

impl Units {
    pub(super) fn prepare(&mut self, file: &str) -> Result<(), ConfigError> {
        let mut ids = std::collections::BTreeSet::new();
        for u in &mut self.0 {
            if !ids.insert(u.id().to_string()) {
                return Err(ConfigError::new(
                    file,
                    format!("单位 {} 重复;印法相同的单位请用 id 区分", u.id()),
                ));
            }
            if u.factor <= Decimal::ZERO {
                return Err(ConfigError::new(
                    file,
                    format!("单位 {} 的 factor 应大于 0", u.name),
                ));
            }
            u.keys = std::iter::once(&u.name)
                .chain(&u.aliases)
                .map(|a| squash(a))
                .collect();
        }
        Ok(())
    }

    /// The unit a column or service refers to by `id`.
    pub fn get(&self, id: &str) -> Option<&UnitDef> {
        self.0.iter().find(|u| u.id() == id)
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
    /// measured in unit `id`. Exact spellings are tried before spellings
    /// that differ in case, and the column's own dimension before others,
    /// so `M` is MB in a storage column and `Mb` is never a GB.
    pub fn classify(&self, id: &str, typed: &str) -> Typed<'_> {
        let typed = squash(typed);
        let Some(own) = self.get(id) else {
            return Typed::Unknown;
        };
        if typed.is_empty() {
            return Typed::Same;
        }
        for exact in [true, false] {
            if own.is_written(&typed, exact) {
                return Typed::Same;
            }
            let written = |u: &&UnitDef| u.is_written(&typed, exact);
            let same_dimension = self
                .0
                .iter()
                .filter(|u| u.dimension == own.dimension)
                .find(written);
            if let Some(from) = same_dimension {
                return Typed::Converted {
                    from,
                    factor: from.factor / own.factor,
                };
            }
            let others: Vec<&UnitDef> = self.0.iter().filter(written).collect();
            if !others.is_empty() {
                return Typed::OtherDimension(others);
            }
        }
        Typed::Unknown
    }
}

/// A column's unit together with the table it is looked up in.
#[derive(Debug, Clone)]
pub struct Measure {
    /// The unit's id.
    pub unit: String,
    pub units: Arc<Units>,
    /// The unit a header printed instead (`数据盘(TB)`): what a bare number
    /// in that column means.
    pub assumed: Option<String>,
}

impl Measure {
    pub fn new(unit: String, units: &Arc<Units>) -> Self {
        Measure {
            unit,
            units: Arc::clone(units),
            assumed: None,
        }
    }

    /// This measure with a bare number read in `unit` (a header's).
    pub fn assuming(&self, unit: Option<&String>) -> Measure {
        Measure {
            assumed: unit.cloned(),
            ..self.clone()
        }
    }

    pub fn classify(&self, typed: &str) -> Typed<'_> {
        self.units.classify(&self.unit, typed)
    }

    pub fn def(&self) -> Option<&UnitDef> {
        self.units.get(&self.unit)
    }

    /// The unit as printed (`GB` for `带宽GB`).
    pub fn label(&self) -> &str {
        self.def().map_or(self.unit.as_str(), |u| u.name.as_str())
    }
}
