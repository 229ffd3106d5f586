//! Field checks from the schema: one located cell + its spec → a typed
//! value (as canonical text) or a diagnostic at that cell.

use regex::Regex;
use rust_decimal::Decimal;
use std::sync::LazyLock;

use crate::diag::{a1, Diagnostic};
use crate::read::locate::Spot;
use crate::read::text::{
    clean_text, date_from_serial, decimal_from_f64, fold, is_tick, label_key, parse_choice,
    parse_date, parse_number,
};
use crate::read::Value;
use crate::schema::{FieldSpec, FieldType};

static MOBILE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^1[3-9]\d{9}$").unwrap());
static LANDLINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$").unwrap());
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$").unwrap()
});

/// Where diagnostics go, and the sheet they name.
pub struct Sink<'a> {
    pub sheet: &'a str,
    pub diags: Vec<Diagnostic>,
}

impl Sink<'_> {
    pub fn push(&mut self, d: Diagnostic, pos: Option<(u32, u32)>, field: &str) {
        let d = d.at(self.sheet, pos.map(|(r, c)| a1(r, c))).field(field);
        self.diags.push(d);
    }
}

/// Reads a field; `None` when it is empty or wrong (and then reported).
/// `spot` is None when the form has no such label at all.
pub fn read_field(spec: &FieldSpec, spot: Option<Spot<'_>>, sink: &mut Sink) -> Option<String> {
    let name = spec.name();
    let Some(spot) = spot else {
        if spec.required {
            let d = Diagnostic::error("form.label_missing", format!("表格中找不到“{name}”一栏"))
                .hint("请使用下发的表格模板,不要删除或改写表格上印好的标签");
            sink.push(d, None, name);
        }
        return None;
    };
    let pos = Some(spot.pos);
    let Some(value) = spot.value else {
        if spec.required {
            let d = Diagnostic::error("field.required", format!("“{name}”未填写"))
                .hint(required_hint(spec));
            sink.push(d, pos, name);
        }
        return None;
    };
    if spec.district {
        let d = Diagnostic::warning(
            "field.district_only",
            format!("“{name}”由区科创服务中心填写,申请单位应留空;所填内容不予采用"),
        )
        .hint("请删除该栏内容");
        sink.push(d, pos, name);
        return None;
    }
    match convert(spec, value) {
        Ok(v) => check_constraints(spec, v, pos, sink),
        Err(d) => {
            sink.push(d, pos, name);
            None
        }
    }
}

fn required_hint(spec: &FieldSpec) -> String {
    match spec.ty {
        FieldType::Choice => format!("请填写以下之一:{}", spec.choices.join("、")),
        FieldType::Date => "请填写日期,例如 2026-11-20".into(),
        FieldType::Phone => "请填写手机号(11 位)或座机号(如 021-57700000)".into(),
        _ => "此栏为必填项,请补充后重新提交".into(),
    }
}

fn check_constraints(
    spec: &FieldSpec,
    v: String,
    pos: Option<(u32, u32)>,
    sink: &mut Sink,
) -> Option<String> {
    let name = spec.name();
    if let Some(max) = spec.max_len {
        if v.chars().count() > max {
            let d = Diagnostic::error("field.too_long", format!("“{name}”超过 {max} 个字"))
                .hint("请精简内容");
            sink.push(d, pos, name);
            return None;
        }
    }
    if let Some(re) = &spec.regex {
        if !re.is_match(&v) {
            let hint = spec.pattern_hint.clone().unwrap_or_else(|| "请检查格式".into());
            let d = Diagnostic::error("field.pattern", format!("“{name}”格式不正确:{v}")).hint(hint);
            sink.push(d, pos, name);
            return None;
        }
    }
    Some(v)
}

/// The value converted to the field's type, as canonical text.
pub fn convert(spec: &FieldSpec, value: &Value) -> Result<String, Diagnostic> {
    let name = spec.name();
    match value {
        Value::UncachedFormula(f) => return Err(uncached(name, f)),
        Value::Error(e) => {
            return Err(Diagnostic::error("field.error_value", format!("“{name}”显示错误值 {e}"))
                .hint("请检查该单元格的公式,改为直接填写数值"))
        }
        _ => {}
    }
    match spec.ty {
        FieldType::Text => Ok(clean_text(value.as_text().trim())),
        FieldType::Integer | FieldType::Decimal => number(spec, value).map(|d| d.to_string()),
        FieldType::Date => date(name, value),
        FieldType::Choice => choice(spec, value),
        FieldType::Phone => phone(name, value),
        FieldType::Email => email(name, value),
    }
}

pub fn uncached(name: &str, formula: &str) -> Diagnostic {
    Diagnostic::error(
        "field.formula_uncached",
        format!("“{name}”是公式(={formula}),但文件中没有保存计算结果"),
    )
    .hint("请在 Excel/WPS 中打开文件,按 F9 重新计算后保存,或直接填写数值")
}

/// A number cell or a number typed as text (units, full-width digits).
pub fn number(spec: &FieldSpec, value: &Value) -> Result<Decimal, Diagnostic> {
    let name = spec.name();
    let parsed = match value {
        Value::Number(f) => decimal_from_f64(*f),
        other => parse_number(&other.as_text()),
    };
    let Some(d) = parsed else {
        return Err(Diagnostic::error("field.type", format!("“{name}”应为数字,实际为“{}”", value.as_text()))
            .hint("请只填写数字,例如 16"));
    };
    if spec.ty == FieldType::Integer && !d.fract().is_zero() {
        return Err(Diagnostic::error("field.type", format!("“{name}”应为整数,实际为 {d}"))
            .hint("请填写整数"));
    }
    let below = spec.min.is_some_and(|m| d < m);
    let above = spec.max.is_some_and(|m| d > m);
    if below || above {
        return Err(Diagnostic::error("field.range", format!("“{name}”为 {d},{}", range_text(spec)))
            .hint("请检查数值是否填写正确"));
    }
    Ok(d)
}

fn range_text(spec: &FieldSpec) -> String {
    match (spec.min, spec.max) {
        (Some(lo), Some(hi)) => format!("应在 {lo} 到 {hi} 之间"),
        (Some(lo), None) => format!("应不小于 {lo}"),
        (None, Some(hi)) => format!("应不大于 {hi}"),
        (None, None) => String::new(),
    }
}

fn date(name: &str, value: &Value) -> Result<String, Diagnostic> {
    let parsed = match value {
        Value::Date(serial) | Value::Number(serial) => date_from_serial(*serial),
        other => parse_date(&other.as_text()),
    };
    parsed.map(|d| d.to_string()).ok_or_else(|| {
        Diagnostic::error("field.date", format!("“{name}”不是有效日期:“{}”", value.as_text()))
            .hint("请填写日期,例如 2026-11-20 或 2026年11月20日")
    })
}

fn choice(spec: &FieldSpec, value: &Value) -> Result<String, Diagnostic> {
    let text = value.as_text();
    let key = label_key(&text);
    if let Some((_, canonical)) = spec.aliases.iter().find(|(a, _)| label_key(a) == key) {
        return Ok(canonical.clone());
    }
    parse_choice(&text, &spec.choices)
        .map(str::to_string)
        .ok_or_else(|| {
            Diagnostic::error(
                "field.choice",
                format!("“{}”的值“{}”不在可选范围内", spec.name(), text.trim()),
            )
            .hint(format!("请从下拉列表中选择,或只勾选一项:{}", spec.choices.join("、")))
        })
}

fn phone(name: &str, value: &Value) -> Result<String, Diagnostic> {
    let text: String = fold(&value.as_text())
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let digits: String = text.chars().filter(|c| *c != '-').collect();
    if MOBILE.is_match(&digits) || LANDLINE.is_match(&text) {
        Ok(text)
    } else {
        Err(Diagnostic::error("field.phone", format!("“{name}”不是有效的电话号码:“{text}”"))
            .hint("请填写 11 位手机号(如 13800000000)或带区号的座机号(如 021-57700000)"))
    }
}

fn email(name: &str, value: &Value) -> Result<String, Diagnostic> {
    let text = fold(&value.as_text());
    if EMAIL.is_match(&text) {
        Ok(text)
    } else {
        Err(Diagnostic::error("field.email", format!("“{name}”不是有效的电子邮箱:“{text}”"))
            .hint("请填写完整的邮箱地址,例如 zhangsan@example.gov.cn"))
    }
}

/// A service quantity: a number ≥ 0, or a tick meaning 1; None when empty.
pub fn quantity(name: &str, value: &Value) -> Result<Decimal, Diagnostic> {
    if let Value::UncachedFormula(f) = value {
        return Err(uncached(name, f));
    }
    if let Value::Text(t) = value {
        if is_tick(t) {
            return Ok(Decimal::ONE);
        }
    }
    let parsed = match value {
        Value::Number(f) => decimal_from_f64(*f),
        other => parse_number(&other.as_text()),
    };
    match parsed {
        Some(d) if d >= Decimal::ZERO => Ok(d),
        _ => Err(Diagnostic::error(
            "service.quantity",
            format!("“{name}”的数量应为不小于 0 的数字,实际为“{}”", value.as_text()),
        )
        .hint("请填写数量(按该项的计量单位);无计量单位的服务填 1 或 √ 表示申请,不申请请留空")),
    }
}
