//! Cell text as people type it: full-width digits, tick marks, units,
//! stray spaces, dates in several forms.

use chrono::NaiveDate;
use rust_decimal::Decimal;

/// Characters units use to tick a box or a choice.
pub const TICKS: [char; 8] = ['√', '☑', '■', '✓', '✔', '✅', CROSSED_BOX, '▣'];
/// A box with a cross: a tick in Word and WPS, a "no" to some people, so
/// read as a tick with a warning.
pub const CROSSED_BOX: char = '☒';
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
/// tick before or after, no colon or asterisk after, lower case.
pub fn label_key(s: &str) -> String {
    let folded = fold(s);
    let is_mark = |c: char| TICKS.contains(&c) || BOXES.contains(&c) || c.is_whitespace();
    let trimmed = folded
        .trim_start_matches(is_mark)
        .trim_end_matches(is_mark)
        .trim_end_matches([':', '：', '*', ' ']);
    trimmed
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// A label with a unit in brackets after it (`数据盘(TB)`, `☑SSD（T）`):
/// the label's key without the unit, and the unit as written.
pub fn split_label_unit(s: &str) -> Option<(String, String)> {
    let is_mark = |c: char| TICKS.contains(&c) || BOXES.contains(&c) || c.is_whitespace();
    let folded = fold(s);
    let inner = folded
        .trim_matches(is_mark)
        .trim_end_matches([':', '*'])
        .strip_suffix(')')?;
    let (label, unit) = inner.rsplit_once('(')?;
    let unit: String = unit.chars().filter(|c| !c.is_whitespace()).collect();
    (!unit.is_empty() && !label.trim().is_empty()).then(|| (label_key(label), unit))
}

/// Is this text a tick alone (a box marked as requested)?
pub fn is_tick(s: &str) -> bool {
    let t = fold(s);
    !t.is_empty() && t.chars().all(|c| TICKS.contains(&c))
}

/// Does this text carry a tick before or after it (`☑态势感知服务`,
/// `堡垒机服务√`)?
pub fn has_tick(s: &str) -> bool {
    let t = fold(s);
    let first = t.chars().next();
    let last = t.chars().next_back();
    [first, last]
        .into_iter()
        .flatten()
        .any(|c| TICKS.contains(&c))
}

/// What people write in a cell to say "nothing here": `无`, `暂无`, `-`, `/`.
pub const NOTHING: [&str; 9] = ["无", "暂无", "-", "/", "—", "--", "\\", "没有", "n/a"];

/// Is this text only a "nothing" mark?
pub fn is_nothing(s: &str) -> bool {
    let key = label_key(s);
    NOTHING.contains(&key.as_str())
}

/// Options printed with empty boxes, none ticked (`□云主机 □物理机`), as
/// the blank form prints them in a row the unit has not filled.
pub fn is_unticked_options(s: &str) -> bool {
    let t = fold(s);
    t.starts_with(BOXES) && !t.contains(TICKS)
}

/// A number as typed, split from the unit written after it: `16核` →
/// (16, "核"), `500 GB` → (500, "GB"), `１６` → (16, ""), `1,000` → (1000, "").
/// The unit is folded, in its case (`Gb` is not `GB`), without spaces or
/// brackets.
pub fn split_number(s: &str) -> Option<(Decimal, String)> {
    if has_separate_numbers(s) {
        return None;
    }
    let t: String = fold(s)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ',' && *c != '，')
        .collect();
    let digits = t
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && c == '-')))
        .map(|(i, _)| i)
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    if number.is_empty() || number == "-" {
        return None;
    }
    let (value, unit) = match exponent(unit) {
        // `1e28` typed as text: a number, however large (checked later).
        Some(len) => (
            Decimal::from_scientific(&t[..digits + len]).ok()?,
            &unit[len..],
        ),
        None => (number.parse::<Decimal>().ok()?, unit),
    };
    let unit = unit
        .trim_matches(['(', ')', '[', ']', '【', '】'])
        .to_string();
    Some((value.normalize(), unit))
}

/// Two numbers separated by spaces (`8 16`): never one number.
pub fn has_separate_numbers(s: &str) -> bool {
    let folded = fold(s);
    let mut chars = folded.chars().peekable();
    let mut after_digit = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            after_digit = true;
        } else if c.is_whitespace() && after_digit {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            if chars.peek().is_some_and(|c| c.is_ascii_digit()) {
                return true;
            }
            after_digit = false;
        } else if c != '.' && c != ',' {
            after_digit = false;
        }
    }
    false
}

/// The length of an exponent (`e28`, `e-3`) at the start of `s`.
fn exponent(s: &str) -> Option<usize> {
    let rest = s.strip_prefix(['e', 'E'])?;
    let sign = usize::from(rest.starts_with(['+', '-']));
    let digits = rest[sign..]
        .chars()
        .take_while(char::is_ascii_digit)
        .count();
    (digits > 0).then_some(1 + sign + digits)
}

/// A plain number as typed, full-width digits and thousands separators
/// allowed, no unit.
pub fn parse_number(s: &str) -> Option<Decimal> {
    match split_number(s)? {
        (d, unit) if unit.is_empty() => Some(d),
        _ => None,
    }
}

/// A float from a numeric cell, without binary noise (0.1 stays 0.1).
pub fn decimal_from_f64(f: f64) -> Option<Decimal> {
    if !f.is_finite() {
        return None;
    }
    format!("{f}")
        .parse::<Decimal>()
        .ok()
        .map(|d| d.normalize())
}

/// Why a cell does not denote exactly one option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChoiceError {
    /// Options printed with boxes, none of them ticked.
    NoneTicked,
    /// More than one option ticked.
    Several(Vec<String>),
    /// Text that is no option, or ticks whose option cannot be told.
    Unclear,
}

/// A piece of a choice cell: an option or a mark (ticked or not).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Piece<'a> {
    Option(&'a str),
    Mark(bool),
}

/// The choice a cell denotes: the value itself (`市级`), or the ticked one
/// among printed options, the tick before or after its option
/// (`√市级 □区级`, `市级√ 区级□`, `(√)市级 ( )区级`, `【√】市级`, `区级 ■`).
/// `options` are (written form, canonical value) pairs.
pub fn parse_choice<'a>(s: &str, options: &[(&str, &'a str)]) -> Result<&'a str, ChoiceError> {
    let key = label_key(s);
    let keyed: Vec<(String, &'a str)> = options.iter().map(|(o, c)| (label_key(o), *c)).collect();
    if let Some((_, canonical)) = keyed.iter().find(|(o, _)| *o == key) {
        return Ok(canonical);
    }
    let pieces = choice_pieces(&key_with_marks(s), &keyed);
    let ticked = ticked_options(&pieces)?;
    match ticked.as_slice() {
        [one] => Ok(one),
        [] => Err(ChoiceError::NoneTicked),
        several => Err(ChoiceError::Several(
            several.iter().map(|s| s.to_string()).collect(),
        )),
    }
}

/// Folded, lower case, no whitespace; marks kept.
fn key_with_marks(s: &str) -> String {
    fold(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Splits a choice cell into options (longest match first) and marks; an
/// empty pair of brackets is an unticked box, other text is skipped.
fn choice_pieces<'a>(text: &str, options: &[(String, &'a str)]) -> Vec<Piece<'a>> {
    const EMPTY_BOXES: [&str; 4] = ["()", "[]", "【】", "〔〕"];
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(b) = EMPTY_BOXES.iter().find(|b| rest.starts_with(**b)) {
            pieces.push(Piece::Mark(false));
            rest = &rest[b.len()..];
            continue;
        }
        let longest = options
            .iter()
            .filter(|(o, _)| !o.is_empty() && rest.starts_with(o.as_str()))
            .max_by_key(|(o, _)| o.len());
        if let Some((o, canonical)) = longest {
            pieces.push(Piece::Option(canonical));
            rest = &rest[o.len()..];
            continue;
        }
        if TICKS.contains(&c) {
            pieces.push(Piece::Mark(true));
        } else if BOXES.contains(&c) {
            pieces.push(Piece::Mark(false));
        }
        rest = &rest[c.len_utf8()..];
    }
    pieces
}

/// The options whose mark is a tick. Marks sit before their options when
/// the cell starts with a mark, after them when it ends with one.
fn ticked_options<'a>(pieces: &[Piece<'a>]) -> Result<Vec<&'a str>, ChoiceError> {
    let options = pieces.iter().filter(|p| matches!(p, Piece::Option(_)));
    if options.count() == 0 || !pieces.iter().any(|p| matches!(p, Piece::Mark(_))) {
        return Err(ChoiceError::Unclear);
    }
    let marks_before = matches!(pieces.first(), Some(Piece::Mark(_)));
    let marks_after = matches!(pieces.last(), Some(Piece::Mark(_)));
    let ordered: Vec<Piece<'a>> = match (marks_before, marks_after) {
        (true, _) => pieces.to_vec(),
        (false, true) => pieces.iter().rev().copied().collect(),
        (false, false) => return Err(ChoiceError::Unclear),
    };
    let mut ticked: Vec<&'a str> = Vec::new();
    let mut tick = false;
    for piece in ordered {
        match piece {
            Piece::Mark(t) => tick |= t,
            Piece::Option(o) => {
                if tick && !ticked.contains(&o) {
                    ticked.push(o);
                }
                tick = false;
            }
        }
    }
    if tick {
        // A tick left over after the last option belongs to none.
        return Err(ChoiceError::Unclear);
    }
    if !marks_before {
        ticked.reverse();
    }
    Ok(ticked)
}

/// Dates as units type them: `2026-11-20`, `2026/11/20`, `2026.11.20`,
/// `2026年11月20日`, `20261120`. Any real calendar date; whether it is a
/// plausible one is the validator's question.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let t = fold(s);
    let t = t.trim_end_matches('日');
    let parts: Vec<&str> = t
        .split(['-', '/', '.', '年', '月'])
        .map(str::trim)
        .collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 => {
            NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
        }
        [compact] if compact.len() == 8 && compact.chars().all(|c| c.is_ascii_digit()) => {
            NaiveDate::parse_from_str(compact, "%Y%m%d").ok()
        }
        _ => None,
    }
}

/// An Excel serial day number (1900 system) as a date.
pub fn date_from_serial(serial: f64) -> Option<NaiveDate> {
    if !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    base.checked_add_days(chrono::Days::new(serial.trunc() as u64))
}

/// An Excel date/time cell as a person reads it: `14:30` for a time of
/// day, `2026-11-20` for a date, `2026-11-20 14:30` for both.
pub fn serial_text(serial: f64) -> String {
    let seconds = ((serial.fract() * 86_400.0).round() as u32).min(86_399);
    let time = chrono::NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0)
        .map(|t| {
            if t.format("%S").to_string() == "00" {
                t.format("%H:%M").to_string()
            } else {
                t.format("%H:%M:%S").to_string()
            }
        })
        .unwrap_or_default();
    match date_from_serial(serial) {
        None if (0.0..1.0).contains(&serial) => time,
        None => String::new(),
        Some(d) if seconds == 0 => d.to_string(),
        Some(d) => format!("{d} {time}"),
    }
}

/// Characters that print nothing: zero-width space and joiners, the word
/// joiner, a byte-order mark, a soft hyphen.
const INVISIBLE: [char; 6] = [
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}',
];

/// Text without the characters that print nothing (copied from web pages
/// and chat programs), so `5000\u{200B}` is 5000.
pub fn strip_invisible(s: &str) -> String {
    if s.contains(INVISIBLE) {
        s.chars().filter(|c| !INVISIBLE.contains(c)).collect()
    } else {
        s.to_string()
    }
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

    #[test]
    fn labels_with_units() {
        let s = |t: &str| split_label_unit(t);
        assert_eq!(s("数据盘(TB)"), Some(("数据盘".into(), "TB".into())));
        assert_eq!(s("□SSD（ T ）√"), Some(("ssd".into(), "T".into())));
        assert_eq!(s("数据盘"), None);
        assert_eq!(s("(TB)"), None);
        assert_eq!(s("数据盘()"), None);
    }

    #[test]
    fn numbers_as_typed() {
        let d = |s: &str| split_number(s).map(|(d, u)| format!("{d}{u}"));
        assert_eq!(d("16核").as_deref(), Some("16核"));
        assert_eq!(d("32G").as_deref(), Some("32G"));
        assert_eq!(d("500 Gb").as_deref(), Some("500Gb"));
        assert_eq!(d("１６").as_deref(), Some("16"));
        assert_eq!(d("0.5T").as_deref(), Some("0.5T"));
        assert_eq!(d("1,000").as_deref(), Some("1000"));
        assert_eq!(d("2.50").as_deref(), Some("2.5"));
        assert_eq!(d("10(平米)").as_deref(), Some("10平米"));
        assert_eq!(d("1e3GB").as_deref(), Some("1000GB"));
        assert_eq!(d("1E3").as_deref(), Some("1000"));
        assert_eq!(d("1e40"), None);
        assert_eq!(d("abc"), None);
        assert_eq!(d(""), None);
        assert_eq!(d("GB"), None);
        assert_eq!(d("8 16"), None);
        assert_eq!(d("８　１６"), None);
        assert_eq!(d("500 GB").as_deref(), Some("500GB"));
        assert!(!has_separate_numbers(" 2 "));
        assert_eq!(strip_invisible("50\u{AD}00\u{200B}"), "5000");
        assert_eq!(strip_invisible("某某局"), "某某局");
        assert_eq!(parse_number("16核"), None);
        assert_eq!(
            parse_number(" 2 ").map(|d| d.to_string()).as_deref(),
            Some("2")
        );
    }

    fn opts<'a>(v: &[&'a str]) -> Vec<(&'a str, &'a str)> {
        v.iter().map(|s| (*s, *s)).collect()
    }

    #[test]
    fn printed_options_untouched_are_nothing_chosen() {
        assert!(is_unticked_options("□政务外网 □互联网区 □政务专网 □管理区"));
        assert!(is_unticked_options(" □云主机 □物理机"));
        assert!(!is_unticked_options("☑云主机 □物理机"));
        assert!(!is_unticked_options("□云主机 √物理机"));
        assert!(!is_unticked_options("云主机"));
    }

    #[test]
    fn ticks_before_or_after_their_option() {
        let c = opts(&["市级", "区级", "自费"]);
        for (cell, want) in [
            ("市级", "市级"),
            ("√市级 □区级 □自费", "市级"),
            ("市级√ 区级□ 自费□", "市级"),
            ("□市级 ☑区级 □自费", "区级"),
            ("☑ 区级", "区级"),
            ("区级 ■", "区级"),
            ("(√)市级 ( )区级 ( )自费", "市级"),
            ("【√】市级【 】区级", "市级"),
            ("■自费", "自费"),
            ("□市级 ✓ 区级", "区级"),
            ("市级□ 区级□ 自费√", "自费"),
        ] {
            assert_eq!(parse_choice(cell, &c), Ok(want), "{cell}");
        }
        let yes_no = opts(&["否", "是"]);
        assert_eq!(parse_choice("是√ 否□", &yes_no), Ok("是"));
        assert_eq!(parse_choice("否√ 是□", &yes_no), Ok("否"));
        assert_eq!(parse_choice("□是 √否", &yes_no), Ok("否"));
    }

    #[test]
    fn unclear_ticks_are_not_guessed() {
        let c = opts(&["市级", "区级", "自费"]);
        assert!(matches!(
            parse_choice("√市级 √区级", &c),
            Err(ChoiceError::Several(_))
        ));
        assert_eq!(
            parse_choice("□市级 □区级 □自费", &c),
            Err(ChoiceError::NoneTicked)
        );
        assert_eq!(parse_choice("市级√区级", &c), Err(ChoiceError::Unclear));
        assert_eq!(parse_choice("省级", &c), Err(ChoiceError::Unclear));
        let a = [("X86", "X86"), ("XC", "XC"), ("信创", "XC")];
        assert_eq!(parse_choice("□X86 ✔XC", &a), Ok("XC"));
        assert_eq!(parse_choice("x86", &a), Ok("X86"));
        assert_eq!(parse_choice("X86□ 信创√", &a), Ok("XC"));
        let levels = [
            ("第三级", "第三级"),
            ("第二级", "第二级"),
            ("三级", "第三级"),
        ];
        assert_eq!(parse_choice("□第二级 √第三级", &levels), Ok("第三级"));
    }

    #[test]
    fn dates_as_typed() {
        let want = NaiveDate::from_ymd_opt(2026, 11, 20);
        for s in [
            "2026-11-20",
            "2026/11/20",
            "2026年11月20日",
            "2026.11.20",
            "20261120",
            "２０２６-１１-２０",
        ] {
            assert_eq!(parse_date(s), want, "{s}");
        }
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("2026.11"), None);
        assert_eq!(serial_text(0.375), "09:00");
        assert_eq!(serial_text(46346.0), "2026-11-20");
        assert_eq!(serial_text(46346.5), "2026-11-20 12:00");
        assert_eq!(parse_date("明天"), None);
        assert_eq!(date_from_serial(46346.0), want);
    }

    #[test]
    fn labels_fold() {
        assert_eq!(label_key("□ IPv6地址（个）"), "ipv6地址(个)");
        assert_eq!(label_key("申请单位："), "申请单位");
        assert_eq!(label_key("态势感知服务 √"), "态势感知服务");
        assert_eq!(label_key(" CPU (核) "), "cpu(核)");
    }
}
