//! Cell text as people type it: full-width digits, tick marks, units,
//! stray spaces, dates in several forms.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

/// Characters units use to tick a box or a choice.
pub const TICKS: [char; 8] = ['√', '☑', '■', '✓', '✔', '✅', '☒', '▣'];
/// Characters of an empty box, printed before an option.
const BOXES: [char; 3] = ['□', '☐', '▢'];

/// Full-width ASCII to ASCII, ideographic space to space, trimmed.
pub fn fold(s: &str) -> String {
    let folded: String = s
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' | '\u{00A0}' => ' ',
            _ => c,
        })
        .collect();
    folded.trim().to_string()
}

/// The form of a label used for matching: folded, no whitespace, no box or
/// tick in front, no colon or asterisk after, lower case.
pub fn label_key(s: &str) -> String {
    let folded = fold(s);
    let trimmed = folded
        .trim_start_matches(|c: char| TICKS.contains(&c) || BOXES.contains(&c) || c.is_whitespace())
        .trim_end_matches([':', '：', '*', ' ']);
    trimmed
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Is this text a tick alone (a box marked as requested)?
pub fn is_tick(s: &str) -> bool {
    let t = fold(s);
    !t.is_empty() && t.chars().all(|c| TICKS.contains(&c))
}

/// Units people append to figures; stripped before parsing.
const UNITS: [&str; 16] = [
    "平方米", "核心", "vcpu", "cpu", "核", "gb", "g", "tb", "t", "台", "个", "套", "m2", "㎡", "c",
    "v",
];

/// A number as typed: `16核`, `32G`, `500 GB`, `１６`, ` 2 `, `1,000`.
pub fn parse_number(s: &str) -> Option<Decimal> {
    let mut t: String = fold(s)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ',' && *c != '，')
        .flat_map(char::to_lowercase)
        .collect();
    for unit in UNITS {
        if let Some(stripped) = t.strip_suffix(unit) {
            t = stripped.to_string();
            break;
        }
    }
    if t.is_empty() || t.starts_with('+') {
        return None;
    }
    t.parse::<Decimal>().ok().map(|d| d.normalize())
}

/// A float from a numeric cell, without binary noise (0.1 stays 0.1).
pub fn decimal_from_f64(f: f64) -> Option<Decimal> {
    if !f.is_finite() {
        return None;
    }
    format!("{f}").parse::<Decimal>().ok().map(|d| d.normalize())
}

/// The choice a cell denotes: the value itself (`市级`), or the ticked one
/// among printed options (`√市级 □区级 □自费`, `☑区级`).
pub fn parse_choice<'a>(s: &str, choices: &'a [String]) -> Option<&'a str> {
    let key = label_key(s);
    if let Some(c) = choices.iter().find(|c| label_key(c) == key) {
        return Some(c);
    }
    let folded: String = fold(s).chars().filter(|c| !c.is_whitespace()).collect();
    let ticked: Vec<&str> = choices
        .iter()
        .filter(|c| {
            folded
                .match_indices(c.as_str())
                .any(|(i, _)| folded[..i].chars().next_back().is_some_and(|p| TICKS.contains(&p)))
        })
        .map(String::as_str)
        .collect();
    match ticked.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// Dates as units type them: `2026-11-20`, `2026/11/20`, `2026.11.20`,
/// `2026年11月20日`, `20261120`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let t = fold(s);
    let t = t.trim_end_matches('日');
    let parts: Vec<&str> = t
        .split(['-', '/', '.', '年', '月'])
        .map(str::trim)
        .collect();
    let date = match parts.as_slice() {
        [y, m, d] => NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?),
        [compact] if compact.len() == 8 && compact.chars().all(|c| c.is_ascii_digit()) => {
            NaiveDate::parse_from_str(compact, "%Y%m%d").ok()
        }
        _ => None,
    }?;
    (1990..=2100).contains(&date.year()).then_some(date)
}

/// An Excel serial day number (1900 system) as a date.
pub fn date_from_serial(serial: f64) -> Option<NaiveDate> {
    if !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    base.checked_add_days(chrono::Days::new(serial.trunc() as u64))
}

/// Drops control characters (except line breaks and tabs) that no
/// document can hold.
pub fn clean_text(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect::<String>()
        .replace("\r\n", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choices(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn numbers_as_typed() {
        let d = |s: &str| parse_number(s).map(|d| d.to_string());
        assert_eq!(d("16核").as_deref(), Some("16"));
        assert_eq!(d("32G").as_deref(), Some("32"));
        assert_eq!(d("500 GB").as_deref(), Some("500"));
        assert_eq!(d("１６").as_deref(), Some("16"));
        assert_eq!(d(" 2 ").as_deref(), Some("2"));
        assert_eq!(d("1台").as_deref(), Some("1"));
        assert_eq!(d("1,000").as_deref(), Some("1000"));
        assert_eq!(d("2.50").as_deref(), Some("2.5"));
        assert_eq!(d("abc"), None);
        assert_eq!(d(""), None);
        assert_eq!(d("GB"), None);
    }

    #[test]
    fn ticked_choices() {
        let c = choices(&["市级", "区级", "自费"]);
        assert_eq!(parse_choice("市级", &c), Some("市级"));
        assert_eq!(parse_choice("√市级 □区级 □自费", &c), Some("市级"));
        assert_eq!(parse_choice("□市级 ☑区级 □自费", &c), Some("区级"));
        assert_eq!(parse_choice("■自费", &c), Some("自费"));
        assert_eq!(parse_choice("□市级 ✓ 区级", &c), Some("区级"));
        assert_eq!(parse_choice("√市级 √区级", &c), None);
        assert_eq!(parse_choice("□市级 □区级 □自费", &c), None);
        let a = choices(&["X86", "XC"]);
        assert_eq!(parse_choice("□X86 ✔XC", &a), Some("XC"));
        assert_eq!(parse_choice("x86", &a), Some("X86"));
    }

    #[test]
    fn dates_as_typed() {
        let want = NaiveDate::from_ymd_opt(2026, 11, 20);
        for s in ["2026-11-20", "2026/11/20", "2026年11月20日", "2026.11.20", "20261120", "２０２６-１１-２０"] {
            assert_eq!(parse_date(s), want, "{s}");
        }
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("明天"), None);
        assert_eq!(date_from_serial(46346.0), want);
    }

    #[test]
    fn labels_fold() {
        assert_eq!(label_key("□ IPv6地址（个）"), "ipv6地址(个)");
        assert_eq!(label_key("申请单位："), "申请单位");
        assert_eq!(label_key(" CPU (核) "), "cpu(核)");
    }
}
