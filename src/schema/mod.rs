//! The YAML schemas (forms, host columns, service catalogue, policy
//! parameters), loaded once per run. Staff edit them; a broken file is
//! reported with file, line and column.

mod catalogue;
mod units;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use regex::Regex;
use rust_decimal::Decimal;
use serde::Deserialize;

pub use catalogue::{Catalogue, CatalogueItem, Lookup, UNITLESS};
pub use units::{Measure, Typed, UnitDef, Units};

use crate::datafiles::Folder;
pub use crate::datafiles::{parse_yaml, ConfigError};
use crate::model::FormKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    Text,
    Integer,
    Decimal,
    Date,
    Choice,
    Phone,
    Email,
}

/// Where a field's value sits relative to its label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValuePlace {
    /// The first filled cell to the right, before the next label.
    #[default]
    Right,
    /// The cell under the label (under its merged range).
    Below,
}

/// One label or several ways of printing it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Labels {
    One(String),
    Many(Vec<String>),
}

impl Labels {
    pub fn all(&self) -> &[String] {
        match self {
            Labels::One(s) => std::slice::from_ref(s),
            Labels::Many(v) => v,
        }
    }

    pub fn first(&self) -> &str {
        self.all().first().map(String::as_str).unwrap_or("")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub key: String,
    #[serde(alias = "header")]
    pub label: Labels,
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// Where the value sits: `right` (default) or `below` the label.
    #[serde(default)]
    pub value: ValuePlace,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub choices: Vec<String>,
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
    pub max_len: Option<usize>,
    pub pattern: Option<String>,
    pub pattern_hint: Option<String>,
    #[serde(default)]
    pub district: bool,
    /// The unit of a numeric field (a name from `units` in catalogue.yaml).
    pub unit: Option<String>,
    /// Entries that mean "left empty" for this field (`无`, `暂无`, `-`, `/`).
    #[serde(default)]
    pub empty_words: Vec<String>,
    /// An informational figure: `约5000人` reads as 5000 (with a warning).
    #[serde(default)]
    pub approximate: bool,
    #[serde(skip)]
    pub regex: Option<Regex>,
    #[serde(skip)]
    pub measure: Option<Measure>,
}

impl FieldSpec {
    /// This field with a bare number read in `unit` (its header's).
    pub fn assuming(&self, unit: &String) -> FieldSpec {
        FieldSpec {
            measure: self.measure.as_ref().map(|m| m.assuming(Some(unit))),
            ..self.clone()
        }
    }
}

impl FieldSpec {
    pub fn name(&self) -> &str {
        self.label.first()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSpec {
    pub key: String,
    pub section: String,
    #[serde(default)]
    pub min_rows: usize,
    pub max_rows: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicesSpec {
    /// A label found only in the header row of the service grid.
    pub header: String,
    /// Header of the columns holding service names.
    pub item: Labels,
    /// Header of the quantity column after each name column.
    pub quantity: Labels,
    /// Other headers printed in that row (they hold no data to read).
    #[serde(default)]
    pub other: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtherServicesSpec {
    pub section: String,
    pub name: Labels,
    pub before: Labels,
    pub after: Labels,
    pub note: Labels,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormSchema {
    pub form: FormKind,
    pub title: String,
    pub sheet: Option<String>,
    pub fields: Vec<FieldSpec>,
    #[serde(default)]
    pub tables: Vec<TableSpec>,
    pub services: Option<ServicesSpec>,
    pub other_services: Option<OtherServicesSpec>,
    /// Other text printed on the form (section titles without a table of
    /// their own): read as part of the form, never reported.
    #[serde(default)]
    pub printed: Vec<String>,
}

impl FormSchema {
    pub fn field(&self, key: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.key == key)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostColumns {
    pub columns: Vec<FieldSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthRange {
    pub min: u32,
    pub max: u32,
    pub default: u32,
}

impl MonthRange {
    /// `months` when it is an allowed test period (细则 五(二)), else why not.
    pub fn check(&self, months: u32) -> Result<u32, String> {
        if (self.min..=self.max).contains(&months) {
            Ok(months)
        } else {
            Err(format!(
                "测试期限 {months} 个月不在允许范围({lo}~{hi} 个月)内:细则 五(二) 规定测试期限为 {lo} 至 {hi} 个月",
                lo = self.min,
                hi = self.max
            ))
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub allowed_levels: Vec<String>,
    pub classified_value: String,
    pub quota_cap_percent: Decimal,
    pub test_months: MonthRange,
    pub delivery_working_days: u32,
    /// 上云项目归属 values whose costs the district does not pay (细则 二:
    /// 非区级预算单位自行承担相关费用); absent in older policy files.
    #[serde(default = "default_self_paid")]
    pub self_paid_ownership: Vec<String>,
}

fn default_self_paid() -> Vec<String> {
    vec!["自费".to_string()]
}

impl Policy {
    /// Whether a project of this 归属 is paid by its unit, not the district.
    pub fn self_paid(&self, ownership: &str) -> bool {
        self.self_paid_ownership
            .iter()
            .any(|o| o.trim() == ownership.trim())
    }
}

/// Everything the reader and validator are configured by.
#[derive(Debug, Clone)]
pub struct Schemas {
    pub annex1: FormSchema,
    pub annex4: FormSchema,
    pub hosts: Vec<FieldSpec>,
    pub catalogue: Catalogue,
    pub policy: Policy,
    /// Label keys of the 附件1 and 附件4 titles (how a form sheet is
    /// recognised), computed once.
    pub title_keys: [String; 2],
}

impl Schemas {
    /// Loads from `dir` when given, else `./schemas` when present, else the
    /// copies compiled into the binary.
    pub fn load(dir: Option<&Path>) -> Result<Schemas, ConfigError> {
        let src = Folder::schemas(dir);
        let mut annex1: FormSchema = src.yaml("annex1.yaml")?;
        let mut annex4: FormSchema = src.yaml("annex4.yaml")?;
        let mut hosts: HostColumns = src.yaml("hosts.yaml")?;
        let mut catalogue: Catalogue = src.yaml("catalogue.yaml")?;
        let policy: Policy = src.yaml("policy.yaml")?;
        catalogue.prepare(&src.label("catalogue.yaml"))?;
        let units = Arc::new(catalogue.units.clone());
        compile_fields(&src.label("annex1.yaml"), &mut annex1.fields, &units)?;
        compile_fields(&src.label("annex4.yaml"), &mut annex4.fields, &units)?;
        compile_fields(&src.label("hosts.yaml"), &mut hosts.columns, &units)?;
        check_form(&src.label("annex1.yaml"), &annex1, FormKind::Annex1)?;
        check_form(&src.label("annex4.yaml"), &annex4, FormKind::Annex4)?;
        let title_keys = [&annex1.title, &annex4.title].map(|t| crate::read::text::label_key(t));
        Ok(Schemas {
            title_keys,
            annex1,
            annex4,
            hosts: hosts.columns,
            catalogue,
            policy,
        })
    }

    pub fn form(&self, kind: FormKind) -> &FormSchema {
        match kind {
            FormKind::Annex1 => &self.annex1,
            FormKind::Annex4 => &self.annex4,
        }
    }

    pub fn title_key(&self, kind: FormKind) -> &str {
        match kind {
            FormKind::Annex1 => &self.title_keys[0],
            FormKind::Annex4 => &self.title_keys[1],
        }
    }
}

fn compile_fields(
    file: &str,
    fields: &mut [FieldSpec],
    units: &Arc<Units>,
) -> Result<(), ConfigError> {
    for f in fields.iter_mut() {
        attach_measure(file, f, units)?;
        if let Some(p) = &f.pattern {
            let re = Regex::new(p).map_err(|e| {
                ConfigError::new(
                    file,
                    format!("字段 {} 的 pattern 不是有效的正则表达式:{e}", f.key),
                )
            })?;
            f.regex = Some(re);
        }
        if f.ty == FieldType::Choice && f.choices.is_empty() {
            return Err(ConfigError::new(
                file,
                format!("字段 {} 的类型为 choice,但没有列出 choices", f.key),
            ));
        }
    }
    Ok(())
}

/// Every numeric field declares its unit and a maximum (a quantity
/// without a bound could overflow the arithmetic downstream).
fn attach_measure(file: &str, f: &mut FieldSpec, units: &Arc<Units>) -> Result<(), ConfigError> {
    let numeric = matches!(f.ty, FieldType::Integer | FieldType::Decimal);
    if !numeric {
        return Ok(());
    }
    let (Some(unit), Some(_)) = (&f.unit, f.max) else {
        return Err(ConfigError::new(
            file,
            format!("数值字段 {} 须声明 unit(单位)与 max(上限)", f.key),
        ));
    };
    units.check(file, &format!("字段 {}", f.key), unit)?;
    f.measure = Some(Measure::new(unit.clone(), units));
    Ok(())
}

/// Keys the program relies on; a schema without them cannot be used.
const REQUIRED_KEYS: [&str; 9] = [
    "date",
    "unit",
    "project_name",
    "project_code",
    "provider",
    "ownership",
    "arch",
    "contact",
    "phone",
];

fn check_form(file: &str, schema: &FormSchema, kind: FormKind) -> Result<(), ConfigError> {
    if schema.form != kind {
        return Err(ConfigError::new(
            file,
            format!(
                "form 应为 {},实际为 {}",
                kind.as_str(),
                schema.form.as_str()
            ),
        ));
    }
    for key in REQUIRED_KEYS {
        if schema.field(key).is_none() {
            return Err(ConfigError::new(
                file,
                format!("缺少程序必需的字段 key: {key}"),
            ));
        }
    }
    Ok(())
}
