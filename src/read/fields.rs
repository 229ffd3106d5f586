//! Field checks from the schema: one located cell + its spec → a typed
//! value (as canonical text) or a diagnostic at that cell.

use chrono::Datelike;
use regex::Regex;
use rust_decimal::Decimal;
use std::sync::LazyLock;

use crate::diag::{a1, Diagnostic};
use crate::read::locate::Spot;
use crate::read::text::{
    clean_text, date_from_serial, decimal_from_f64, fold, is_nothing, is_tick, label_key,
    parse_choice, parse_date, split_number, ChoiceError, CROSSED_BOX,
};
use crate::read::Value;
use crate::schema::{FieldSpec, FieldType, Measure, Typed};

static MOBILE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^1[3-9]\d{9}$").unwrap());
/// Dates a form can plausibly carry; outside this a date is a warning.
const PLAUSIBLE_YEARS: std::ops::RangeInclusive<i32> = 2000..=2099;
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
    if is_empty_word(spec, value) {
        return None;
    }
    let restated = without_label(spec, value);
    let value = restated.as_ref().unwrap_or(value);
    if is_numeric(spec) && is_nothing(&value.as_text()) {
        let typed = value.as_text();
        let d = if spec.required {
            Diagnostic::error(
                "field.required",
                format!("“{name}”填写为“{}”,此栏必须填写数字", typed.trim()),
            )
            .hint(required_hint(spec))
        } else {
            Diagnostic::warning(
                "field.none_as_empty",
                format!("“{name}”填写为“{}”,按未填写(0)读取", typed.trim()),
            )
            .hint("没有的项可留空或填 0")
        };
        sink.push(d, pos, name);
        return None;
    }
    let approximate = approximate(spec, value);
    let value = match &approximate {
        Some((v, note)) => {
            sink.push(note.clone(), pos, name);
            v
        }
        None => value,
    };
    match convert(spec, value) {
        Ok((v, note)) => {
            if let Some(note) = note {
                sink.push(note, pos, name);
            }
            check_constraints(spec, v, pos, sink)
        }
        Err(d) => {
            sink.push(d, pos, name);
            None
        }
    }
}

fn is_numeric(spec: &FieldSpec) -> bool {
    matches!(spec.ty, FieldType::Integer | FieldType::Decimal)
}

/// A value that restates its label before the answer (`涉密：否` under
/// 是否涉密, `等保级别:第三级`): the answer.
fn without_label(spec: &FieldSpec, value: &Value) -> Option<Value> {
    let Value::Text(t) = value else { return None };
    let folded = fold(t);
    let (before, after) = folded.split_once([':', '：'])?;
    let head = label_key(before);
    let names = spec.label.all().iter().map(|l| label_key(l));
    // `涉密：否` under 是否涉密: the label without its question word.
    let named = names
        .flat_map(|l| {
            let short = l.trim_start_matches("是否").to_string();
            [l, short]
        })
        .any(|l| !l.is_empty() && l == head);
    (named && !after.trim().is_empty()).then(|| Value::Text(after.trim().to_string()))
}

/// An approximate figure in an informational field (`约5000人`,
/// `5000人左右`): the figure, with a warning saying it was read so.
fn approximate(spec: &FieldSpec, value: &Value) -> Option<(Value, Diagnostic)> {
    const BEFORE: [&str; 7] = ["大约", "约为", "约计", "预计", "将近", "约", "近"];
    const AFTER: [&str; 5] = ["左右", "以上", "余", "多", "上下"];
    if !spec.approximate {
        return None;
    }
    let Value::Text(t) = value else { return None };
    let typed = fold(t);
    let mut figure = typed.as_str();
    if let Some(p) = BEFORE.iter().find(|p| figure.starts_with(**p)) {
        figure = &figure[p.len()..];
    }
    if let Some(a) = AFTER.iter().find(|a| figure.ends_with(**a)) {
        figure = &figure[..figure.len() - a.len()];
    }
    let figure = figure.trim();
    if figure == typed || split_number(figure).is_none() {
        return None;
    }
    let name = spec.name();
    let d = Diagnostic::warning(
        "field.approximate",
        format!("“{name}”填写为约数“{typed}”,按 {figure} 读取"),
    )
    .hint("该栏仅供了解系统规模,约数按所写的数字读取");
    Some((Value::Text(figure.to_string()), d))
}

/// `无`, `暂无`, `-`, `/` in a field whose schema lists them as "empty".
fn is_empty_word(spec: &FieldSpec, value: &Value) -> bool {
    let key = label_key(&value.as_text());
    spec.empty_words.iter().any(|w| label_key(w) == key)
}

fn required_hint(spec: &FieldSpec) -> String {
    match spec.ty {
        FieldType::Choice => format!("请填写以下之一:{}", spec.choices.join("、")),
        FieldType::Date => "请填写日期,例如 2026-11-20".into(),
        FieldType::Phone => "请填写手机号(11 位)或座机号(如 021-57700000)".into(),
        FieldType::Email => "请填写电子邮箱,例如 zhangsan@example.gov.cn".into(),
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
            let hint = spec
                .pattern_hint
                .clone()
                .unwrap_or_else(|| "请检查格式".into());
            let d =
                Diagnostic::error("field.pattern", format!("“{name}”格式不正确:{v}")).hint(hint);
            sink.push(d, pos, name);
            return None;
        }
    }
    Some(v)
}

/// The value converted to the field's type, as canonical text, with a
/// warning when reading it took a step the unit should see (a unit
/// converted, a second phone number dropped, an unusual date).
pub fn convert(
    spec: &FieldSpec,
    value: &Value,
) -> Result<(String, Option<Diagnostic>), Diagnostic> {
    let name = spec.name();
    match value {
        Value::UncachedFormula(f) => return Err(uncached(name, f)),
        Value::Error(e) => {
            return Err(
                Diagnostic::error("field.error_value", format!("“{name}”显示错误值 {e}"))
                    .hint("请检查该单元格的公式,改为直接填写数值"),
            )
        }
        _ => {}
    }
    let plain = |r: Result<String, Diagnostic>| r.map(|v| (v, None));
    match spec.ty {
        // A code with a pattern (项目编号): full-width letters and digits
        // and other dashes (`SJ－2026－017`, `SJ–2026`) as typed on a
        // keyboard.
        FieldType::Text if spec.regex.is_some() => Ok((code_text(&value.as_text()), None)),
        FieldType::Text => Ok((clean_text(value.as_text().trim()), None)),
        FieldType::Integer | FieldType::Decimal => {
            number(spec, value).map(|(d, note)| (d.to_string(), note))
        }
        FieldType::Date => date(name, value),
        FieldType::Choice => choice(spec, value).map(|v| (v, crossed_box(name, &value.as_text()))),
        FieldType::Phone => phone(name, value),
        FieldType::Email => plain(email(name, value)),
    }
}

/// A code as typed, folded to ASCII: full-width forms, dashes of every
/// width, no spaces inside.
fn code_text(s: &str) -> String {
    const DASHES: [char; 9] = [
        '\u{2010}', '\u{2011}', '\u{2012}', '\u{2013}', '\u{2014}', '\u{2015}', '\u{2212}',
        '\u{FE63}', '\u{30FC}',
    ];
    fold(&clean_text(s))
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if DASHES.contains(&c) { '-' } else { c })
        .collect()
}

pub fn uncached(name: &str, formula: &str) -> Diagnostic {
    Diagnostic::error(
        "field.formula_uncached",
        format!("“{name}”是公式(={formula}),但文件中没有保存计算结果"),
    )
    .hint("请在 Excel/WPS 中打开文件,按 F9 重新计算后保存,或直接填写数值")
}

/// A number cell or a number typed as text, in the field's unit: a unit
/// typed after it is converted when it measures the same thing (with a
/// warning showing the conversion), refused otherwise.
pub fn number(
    spec: &FieldSpec,
    value: &Value,
) -> Result<(Decimal, Option<Diagnostic>), Diagnostic> {
    let name = spec.name();
    let (d, note) = measured(name, spec.measure.as_ref(), value)?;
    if spec.ty == FieldType::Integer && !d.fract().is_zero() {
        return Err(Diagnostic::error(
            "field.type",
            format!("“{name}”应为整数,实际为 {}", shown(value, d)),
        )
        .hint("请填写整数"));
    }
    let below = spec.min.is_some_and(|m| d < m);
    let above = spec.max.is_some_and(|m| d > m);
    if below || above {
        return Err(Diagnostic::error(
            "field.range",
            format!("“{name}”为 {},{}", shown(value, d), range_text(spec)),
        )
        .hint("请检查数值是否填写正确"));
    }
    Ok((d, note))
}

/// How a value is quoted in a message: as typed, and converted when the
/// unit changed it (`“0.3TB”(即 307.2 GB)`).
fn shown(value: &Value, d: Decimal) -> String {
    let typed = value.as_text();
    match value {
        Value::Number(_) => d.to_string(),
        _ if split_number(&typed).is_some_and(|(n, _)| n == d) => d.to_string(),
        _ => format!("“{}”(即 {d})", typed.trim()),
    }
}

/// The number a cell holds, in `measure`'s unit; a conversion warning when
/// another unit of the same dimension was typed.
pub fn measured(
    name: &str,
    measure: Option<&Measure>,
    value: &Value,
) -> Result<(Decimal, Option<Diagnostic>), Diagnostic> {
    let not_a_number = || {
        let typed = value.as_text();
        if crate::read::text::has_separate_numbers(&typed) {
            return Diagnostic::error(
                "field.type",
                format!(
                    "“{name}”填写了以空格分开的几个数字“{}”,无法判断是哪一个",
                    typed.trim()
                ),
            )
            .hint("请只填写一个数字;改正的旧数值请删除,不要用空格隔开保留");
        }
        Diagnostic::error(
            "field.type",
            format!("“{name}”应为数字,实际为“{}”", typed.trim()),
        )
        .hint("请只填写数字,例如 16")
    };
    let (d, typed) = match value {
        Value::Number(f) => (
            decimal_from_f64(*f).ok_or_else(not_a_number)?,
            String::new(),
        ),
        other => split_number(&other.as_text()).ok_or_else(not_a_number)?,
    };
    let Some(measure) = measure else {
        return if typed.is_empty() {
            Ok((d, None))
        } else {
            Err(not_a_number())
        };
    };
    let unit = measure.label();
    let raw = value.as_text();
    let raw = raw.trim();
    // A bare number under a header that printed another unit is in that
    // unit, and the messages say so.
    let (typed, raw) = match &measure.assumed {
        Some(header) if typed.is_empty() => (header.clone(), format!("{raw}(表头单位 {header})")),
        _ => (typed, raw.to_string()),
    };
    let hint = |h: String| match measure.def().and_then(|u| u.note.as_deref()) {
        Some(note) => format!("{h};{note}"),
        None => h,
    };
    match measure.classify(&typed) {
        Typed::Same => Ok((d, None)),
        Typed::Converted { from, factor } => {
            let converted = d
                .checked_mul(factor)
                .ok_or_else(|| too_big(name, &raw))?
                .normalize();
            // `1 TB = 1024 GB`, `1 GB = 1024 MB`: whole numbers either way.
            let rate = match Decimal::ONE.checked_div(factor) {
                Some(inverse) if factor < Decimal::ONE && inverse.fract().is_zero() => {
                    format!("1 {unit} = {} {}", inverse.normalize(), from.name)
                }
                _ => format!("1 {} = {} {unit}", from.name, factor.normalize()),
            };
            let note = Diagnostic::warning(
                "unit.converted",
                format!("“{name}”填写为“{raw}”,已按 {rate} 换算为 {converted} {unit}"),
            )
            .hint(format!(
                "该栏以 {unit} 为单位;换算有误时请直接填写以 {unit} 计的数字"
            ));
            Ok((converted, Some(note)))
        }
        Typed::OtherDimension(others) => {
            let meanings: Vec<String> = others
                .iter()
                .map(|u| format!("{}单位 {}", u.dimension, u.name))
                .collect();
            let what = match (others.as_slice(), meanings.as_slice()) {
                ([u], _) if u.name == typed => format!("单位“{typed}”计量的是{}", u.dimension),
                (_, [one]) => format!("单位“{typed}”是{one}"),
                (_, several) => format!("单位“{typed}”可指{}", several.join(" 或")),
            };
            Err(Diagnostic::error(
                "unit.mismatch",
                format!("“{name}”填写为“{raw}”:{what},该栏应以 {unit} 计,无法换算"),
            )
            .hint(hint(format!("请填写以 {unit} 计的数字"))))
        }
        Typed::Unknown => Err(Diagnostic::error(
            "unit.unknown",
            format!("“{name}”填写为“{raw}”:无法识别单位“{typed}”"),
        )
        .hint(hint(format!("请填写以 {unit} 计的数字,不带其他文字")))),
    }
}

fn too_big(name: &str, raw: &str) -> Diagnostic {
    Diagnostic::error("field.range", format!("“{name}”填写为“{raw}”,数值过大"))
        .hint("请检查数值是否填写正确")
}

fn range_text(spec: &FieldSpec) -> String {
    match (spec.min, spec.max) {
        (Some(lo), Some(hi)) => format!("应在 {lo} 到 {hi} 之间"),
        (Some(lo), None) => format!("应不小于 {lo}"),
        (None, Some(hi)) => format!("应不大于 {hi}"),
        (None, None) => String::new(),
    }
}

fn date(name: &str, value: &Value) -> Result<(String, Option<Diagnostic>), Diagnostic> {
    let not_a_date = |detail: &str| {
        Diagnostic::error(
            "field.date",
            format!("“{name}”不是有效日期:“{}”{detail}", value.as_text()),
        )
        .hint("请填写日期,例如 2026-11-20 或 2026年11月20日")
    };
    let parsed = match value {
        Value::Date(serial) => date_from_serial(*serial),
        // A number typed in a date cell (`2026.11`, `20261120`): a date
        // only when it is a plausible one.
        Value::Number(n) => number_as_date(*n)
            .ok_or_else(|| not_a_date("(单元格中是数字,不是日期)"))
            .map(Some)?,
        other => parse_date(&other.as_text()),
    };
    let d = parsed.ok_or_else(|| not_a_date(""))?;
    let note = (!PLAUSIBLE_YEARS.contains(&d.year())).then(|| {
        Diagnostic::warning(
            "field.date_unusual",
            format!(
                "“{name}”为 {d},不在通常的年份范围({}~{} 年)内",
                PLAUSIBLE_YEARS.start(),
                PLAUSIBLE_YEARS.end()
            ),
        )
        .hint("请确认日期是否填写正确")
    });
    Ok((d.to_string(), note))
}

/// A plain number in a date cell: an Excel serial or `20261120`, when it
/// gives a plausible date.
fn number_as_date(n: f64) -> Option<chrono::NaiveDate> {
    let candidates = [
        (n.fract() == 0.0).then(|| date_from_serial(n)).flatten(),
        (n.fract() == 0.0)
            .then(|| parse_date(&format!("{n}")))
            .flatten(),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| PLAUSIBLE_YEARS.contains(&d.year()))
}

fn choice(spec: &FieldSpec, value: &Value) -> Result<String, Diagnostic> {
    let text = value.as_text();
    let options: Vec<(&str, &str)> = spec
        .choices
        .iter()
        .map(|c| (c.as_str(), c.as_str()))
        .chain(spec.aliases.iter().filter_map(|(a, c)| {
            spec.choices
                .iter()
                .find(|x| *x == c)
                .map(|c| (a.as_str(), c.as_str()))
        }))
        .collect();
    let hint = format!(
        "请从下拉列表中选择,或只勾选一项(勾放在选项前或后均可):{}",
        spec.choices.join("、")
    );
    let name = spec.name();
    let text = text.trim();
    parse_choice(text, &options)
        .map(str::to_string)
        .map_err(|e| {
            let message = match e {
                ChoiceError::NoneTicked => format!("“{name}”的“{text}”中没有勾选任何一项"),
                ChoiceError::Several(ticked) => format!(
                    "“{name}”的“{text}”勾选了多项({}),只能选一项",
                    ticked.join("、")
                ),
                ChoiceError::Unclear => {
                    format!("“{name}”的值“{text}”不在可选范围内,或无法判断勾选的是哪一项")
                }
            };
            Diagnostic::error("field.choice", message).hint(hint)
        })
}

/// A phone number as people write it: mobile with or without `+86`,
/// landline with `-`, `()`, spaces, an extension (`转 123`); two numbers →
/// the first, with a warning.
fn phone(name: &str, value: &Value) -> Result<(String, Option<Diagnostic>), Diagnostic> {
    let typed = fold(&value.as_text());
    let numbers: Vec<&str> = typed
        .split(['/', '、', ',', ';', '，', '；', '\n'])
        .flat_map(|p| p.split(" 或 "))
        .flat_map(|p| p.split('或'))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let first = numbers.first().copied().unwrap_or("");
    let Some(number) = one_phone(first) else {
        return Err(Diagnostic::error(
            "field.phone",
            format!("“{name}”不是有效的电话号码:“{}”", typed.trim()),
        )
        .hint("请填写 11 位手机号(如 13800000000)或座机号(如 021-57700000、57700000)"));
    };
    let note = (numbers.len() > 1).then(|| {
        Diagnostic::warning(
            "field.phone_multiple",
            format!(
                "“{name}”填写了多个号码(“{}”),采用第一个:{number}",
                typed.trim()
            ),
        )
        .hint("如需以其他号码联系,请只填写该号码")
    });
    Ok((number, note))
}

/// One phone number in a canonical form (`13800000000`, `021-57740000`,
/// `57740000`, `021-57740000转123`); None when it is none.
fn one_phone(s: &str) -> Option<String> {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let compact = compact.to_lowercase();
    let national = ["+86-", "+86", "0086-", "0086", "(+86)", "(86)"]
        .iter()
        .find_map(|p| compact.strip_prefix(p))
        .unwrap_or(&compact);
    let digits: String = national.chars().filter(|c| *c != '-').collect();
    if MOBILE.is_match(&digits) {
        return Some(digits);
    }
    let (number, extension) = split_extension(national);
    let digits: String = number
        .chars()
        .filter(|c| !matches!(c, '-' | '(' | ')'))
        .collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Area codes 01x and 02x have three digits, the others four.
    let area_len = match digits.get(..2) {
        Some("01") | Some("02") => 3,
        Some(p) if p.starts_with('0') => 4,
        _ => 0,
    };
    let (area, local) = digits.split_at(area_len.min(digits.len()));
    let local_ok = (7..=8).contains(&local.len()) && !local.starts_with(['0', '1']);
    // Without an area code only a Shanghai number (8 digits) is complete.
    if !local_ok || (area.is_empty() && local.len() != 8) {
        return None;
    }
    let mut out = if area.is_empty() {
        local.to_string()
    } else {
        format!("{area}-{local}")
    };
    if let Some(ext) = extension {
        out.push('转');
        out.push_str(&ext);
    }
    Some(out)
}

/// `021-57740000转123`, `…ext123`, `…分机123`, `…-123` (a short group
/// after a full number) → the number and its extension.
fn split_extension(s: &str) -> (&str, Option<String>) {
    for sep in ["转", "ext.", "ext", "分机", "x"] {
        if let Some((number, ext)) = s.split_once(sep) {
            if !ext.is_empty() && ext.len() <= 6 && ext.chars().all(|c| c.is_ascii_digit()) {
                return (number, Some(ext.to_string()));
            }
            return (s, None);
        }
    }
    match s.rsplit_once('-') {
        Some((number, ext))
            if (1..=5).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_digit())
                && number.chars().filter(char::is_ascii_digit).count() >= 10 =>
        {
            (number, Some(ext.to_string()))
        }
        _ => (s, None),
    }
}

fn email(name: &str, value: &Value) -> Result<String, Diagnostic> {
    let text = fold(&value.as_text());
    if EMAIL.is_match(&text) {
        Ok(text)
    } else {
        Err(Diagnostic::error(
            "field.email",
            format!("“{name}”不是有效的电子邮箱:“{text}”"),
        )
        .hint("请填写完整的邮箱地址,例如 zhangsan@example.gov.cn"))
    }
}

/// A service quantity in the item's unit: a number ≥ 0 (a unit typed
/// after it converted or refused as for fields), or a tick meaning 1 for a
/// service without a unit. The warning is a unit conversion.
pub fn quantity(
    name: &str,
    measure: Option<&Measure>,
    max: Decimal,
    value: &Value,
) -> Result<(Decimal, Option<Diagnostic>), Diagnostic> {
    if let Value::UncachedFormula(f) = value {
        return Err(uncached(name, f));
    }
    let unitless = measure.is_none_or(|m| m.unit == crate::schema::UNITLESS);
    if let Value::Text(t) = value {
        if is_tick(t) {
            return if unitless {
                Ok((Decimal::ONE, crossed_box(name, t)))
            } else {
                Err(quantity_missing(name, measure))
            };
        }
    }
    let bad = |d: Diagnostic| {
        let typed = value.as_text();
        Diagnostic {
            code: if d.code == "field.type" {
                "service.quantity"
            } else {
                d.code
            },
            message: if d.code == "field.type" {
                format!("“{name}”的数量应为不小于 0 的数字,实际为“{}”", typed.trim())
            } else {
                d.message
            },
            hint: if d.code == "field.type" {
                "请填写数量(按该项的计量单位);无计量单位的服务填 1 或 √ 表示申请,不申请请留空"
                    .into()
            } else {
                d.hint
            },
            ..d
        }
    };
    let (d, note) = measured(name, measure, value).map_err(bad)?;
    if d < Decimal::ZERO {
        return Err(bad(Diagnostic::error("field.type", "")));
    }
    if d > max {
        let unit = measure.map(Measure::label).unwrap_or("");
        return Err(Diagnostic::error(
            "service.range",
            format!("“{name}”的数量为 {d} {unit},超过上限 {max} {unit}"),
        )
        .hint("请检查数量是否填写正确(按该项的计量单位)"));
    }
    Ok((d, note))
}

/// A warning when `text` ticks with ☒: Word and WPS print a checked box so,
/// but some people cross out what they do not choose.
pub fn crossed_box(name: &str, text: &str) -> Option<Diagnostic> {
    text.contains(CROSSED_BOX).then(|| {
        Diagnostic::warning(
            "tick.crossed_box",
            format!("“{name}”中的 {CROSSED_BOX} 已按“选中”理解"),
        )
        .hint(format!(
            "{CROSSED_BOX} 在 Word/WPS 中表示已勾选;如表示“不选”,请改为 □ 或删除,并用 √ 勾选所选项"
        ))
    })
}

/// A measured service ticked without a quantity: how much is not known.
pub fn quantity_missing(name: &str, measure: Option<&Measure>) -> Diagnostic {
    let unit = measure.map(Measure::label).unwrap_or("");
    Diagnostic::error(
        "service.quantity_missing",
        format!("“{name}”已勾选,但没有填写数量"),
    )
    .hint(format!(
        "请在数量栏填写申请的数量(以 {unit} 计);不申请请取消勾选"
    ))
}
