//! China's official working-day calendar (holidays and make-up working days
//! 调休) from `schemas/calendar.yaml`, and deadlines counted in working days.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

use crate::schema::{parse_yaml, ConfigError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum DayKind {
    Holiday,
    Workday,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecialDay {
    date: NaiveDate,
    kind: DayKind,
    #[serde(default)]
    #[allow(dead_code)]
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarFile {
    years: Vec<i32>,
    days: Vec<SpecialDay>,
}

/// A date the calendar cannot answer for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("工作日历({file})没有 {year} 年的节假日安排,无法计算 {date} 的工作日;请在日历文件中加入 {year} 年国务院办公厅公布的放假和调休日期,并把 {year} 加入 years")]
pub struct UncoveredYear {
    pub file: String,
    pub year: i32,
    pub date: NaiveDate,
}

impl UncoveredYear {
    /// Says that a deadline was counted from weekends alone, and how to
    /// make it exact.
    pub fn provisional_note(&self) -> String {
        format!(
            "工作日历({})没有 {year} 年的节假日安排,期限暂按周六、周日休息计算(暂定,未计 {year} 年的法定节假日与调休);待国务院办公厅公布 {year} 年放假安排后,请用 zwyun calendar --export 导出日历,在 calendar.yaml 中加入 {year} 年的放假和调休日期并把 {year} 加入 years",
            self.file,
            year = self.year
        )
    }
}

/// A deadline; `missing` is set when the calendar did not cover every day
/// counted, so the date was counted from weekends alone (provisional).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub date: NaiveDate,
    pub missing: Option<UncoveredYear>,
}

#[derive(Debug, Clone)]
pub struct Calendar {
    file: String,
    years: BTreeSet<i32>,
    special: BTreeMap<NaiveDate, DayKind>,
}

impl Calendar {
    /// Loads `calendar.yaml` from `dir` (or `./schemas`), else the built-in copy.
    pub fn load(dir: Option<&Path>) -> Result<Calendar, ConfigError> {
        let src = crate::datafiles::Folder::schemas(dir);
        Calendar::parse(&src.label("calendar.yaml"), &src.text("calendar.yaml")?)
    }

    pub fn parse(file: &str, text: &str) -> Result<Calendar, ConfigError> {
        let raw: CalendarFile = parse_yaml(file, text)?;
        let years: BTreeSet<i32> = raw.years.into_iter().collect();
        let mut special = BTreeMap::new();
        for day in raw.days {
            check_day(file, &years, &day)?;
            if special.insert(day.date, day.kind).is_some() {
                return Err(ConfigError::new(file, format!("{} 重复出现", day.date)));
            }
        }
        Ok(Calendar {
            file: file.to_string(),
            years,
            special,
        })
    }

    /// How messages name the calendar file.
    pub fn file(&self) -> &str {
        &self.file
    }

    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// Whether `date` is a working day: Monday–Friday unless a holiday,
    /// weekends only when a make-up working day.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, UncoveredYear> {
        self.covered(date)?;
        Ok(match self.special.get(&date) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !is_weekend(date),
        })
    }

    /// The `n`th working day after `signed` (the day of signing is not counted).
    pub fn add_working_days(&self, signed: NaiveDate, n: u32) -> Result<NaiveDate, UncoveredYear> {
        self.covered(signed)?;
        let mut date = signed;
        let mut left = n;
        while left > 0 {
            date = date.succ_opt().ok_or(UncoveredYear {
                file: self.file.clone(),
                year: date.year() + 1,
                date,
            })?;
            if self.is_working_day(date)? {
                left -= 1;
            }
        }
        Ok(date)
    }

    /// The `n`th working day after `signed`; days of years the calendar
    /// does not cover count as working days unless they fall on a weekend.
    pub fn deadline(&self, signed: NaiveDate, n: u32) -> Deadline {
        let mut missing = None;
        let mut date = signed;
        let mut left = n;
        while left > 0 {
            let Some(next) = date.succ_opt() else { break };
            date = next;
            let working = self.is_working_day(date).unwrap_or_else(|e| {
                missing.get_or_insert(e);
                !is_weekend(date)
            });
            if working {
                left -= 1;
            }
        }
        Deadline { date, missing }
    }

    fn covered(&self, date: NaiveDate) -> Result<(), UncoveredYear> {
        if self.years.contains(&date.year()) {
            Ok(())
        } else {
            Err(UncoveredYear {
                file: self.file.clone(),
                year: date.year(),
                date,
            })
        }
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A make-up working day is always a weekend day, and every listed day
/// belongs to a covered year: catches typos in dates.
fn check_day(file: &str, years: &BTreeSet<i32>, day: &SpecialDay) -> Result<(), ConfigError> {
    if !years.contains(&day.date.year()) {
        return Err(ConfigError::new(
            file,
            format!(
                "{} 所在的 {} 年不在 years 中;请把该年加入 years",
                day.date,
                day.date.year()
            ),
        ));
    }
    if day.kind == DayKind::Workday && !is_weekend(day.date) {
        return Err(ConfigError::new(
            file,
            format!(
                "{} 不是周六或周日,不能作为调休上班日(workday);请核对日期",
                day.date
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn builtin() -> Calendar {
        Calendar::parse("calendar.yaml", include_str!("../../schemas/calendar.yaml")).unwrap()
    }

    #[test]
    fn national_day_2026() {
        assert_eq!(
            builtin().add_working_days(d("2026-09-30"), 5).unwrap(),
            d("2026-10-13")
        );
    }

    #[test]
    fn make_up_saturday_is_working() {
        let cal = builtin();
        assert!(cal.is_working_day(d("2026-10-10")).unwrap());
        assert!(!cal.is_working_day(d("2026-10-05")).unwrap());
        assert!(!cal.is_working_day(d("2026-10-11")).unwrap());
    }

    #[test]
    fn each_year_has_the_statutory_holidays() {
        // At least the 11 statutory holidays (13 from 2025) in every covered
        // year: a year added to `years` without its days is caught here.
        let cal = builtin();
        for year in 2022..=2026 {
            let holidays = cal
                .special
                .iter()
                .filter(|(date, k)| date.year() == year && **k == DayKind::Holiday)
                .count();
            assert!(holidays >= 11, "{year}: {holidays}");
        }
    }

    #[test]
    fn weekday_make_up_day_is_rejected() {
        let text = "years: [2026]\ndays:\n  - {date: 2026-10-09, kind: workday}\n";
        let err = Calendar::parse("c.yaml", text).unwrap_err().to_string();
        assert!(err.contains("2026-10-09"), "{err}");
    }

    #[test]
    fn uncovered_year_gives_a_provisional_deadline() {
        let due = builtin().deadline(d("2026-12-29"), 5);
        // 12-30, 12-31, then 2027: 01-01 (Fri), 01-04, 01-05 by weekends alone.
        assert_eq!(due.date, d("2027-01-05"));
        assert_eq!(due.missing.map(|m| m.year), Some(2027));
        let exact = builtin().deadline(d("2026-09-30"), 5);
        assert_eq!((exact.date, exact.missing), (d("2026-10-13"), None));
    }

    #[test]
    fn uncovered_year_is_an_error() {
        let err = builtin().add_working_days(d("2026-12-29"), 5).unwrap_err();
        assert_eq!(err.year, 2027);
    }
}

#[cfg(test)]
mod yaml_tests {
    use super::*;

    #[test]
    fn yaml_errors_carry_line_and_column() {
        let text = "years: [2026]\ndays:\n  - {date: 2026-13-01, kind: holiday}\n";
        let err = Calendar::parse("calendar.yaml", text).unwrap_err();
        assert_eq!(err.location.map(|(l, _)| l), Some(3), "{err}");
    }
}
