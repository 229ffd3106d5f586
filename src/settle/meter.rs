//! Metering a service year: the formal resources in force each day, from
//! the formal agreement's signing (起租) on, one line per resource and
//! quantity, day-prorated and priced.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::fen;
use super::prices::{Period, PriceList};
use crate::ledger::ConfigVersion;
use crate::model::HOST_RESOURCES;
use crate::schema::Catalogue;

/// 服务年度 `year`: 1 July `year` to 30 June `year + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceYear {
    pub year: i32,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl ServiceYear {
    /// The service year named by the year it ends in (细则: 上一年7月1日
    /// 至当年度6月30日): 2026年度 is 2025-07-01 to 2026-06-30.
    pub fn new(year: i32) -> Option<ServiceYear> {
        Some(ServiceYear {
            year,
            start: NaiveDate::from_ymd_opt(year.checked_sub(1)?, 7, 1)?,
            end: NaiveDate::from_ymd_opt(year, 6, 30)?,
        })
    }

    pub fn days(&self) -> i64 {
        days(self.start, self.end)
    }

    pub fn label(&self) -> String {
        format!("{}年度({} 至 {})", self.year, self.start, self.end)
    }
}

/// One metered line of a project's bill.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub key: String,
    pub name: String,
    pub quantity: Decimal,
    pub unit: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub days: i64,
    pub price: Decimal,
    pub period: Period,
    /// Rounded to the fen.
    pub amount: Decimal,
}

/// A span of days with one configuration in force.
struct Segment {
    start: NaiveDate,
    end: NaiveDate,
    totals: BTreeMap<String, Decimal>,
}

/// Inclusive day count.
pub fn days(start: NaiveDate, end: NaiveDate) -> i64 {
    (end - start).num_days() + 1
}

/// The amount of a line: month prices × days × 12 ÷ days of the service
/// year, year prices × days ÷ days of the service year; then to the fen.
/// None when the figures are too large to compute (absurd quantities).
pub fn amount(
    quantity: Decimal,
    price: Decimal,
    period: Period,
    days: i64,
    year_days: i64,
) -> Option<Decimal> {
    let months = match period {
        Period::Month => Decimal::from(12),
        Period::Year => Decimal::ONE,
    };
    let yearly = quantity.checked_mul(price)?.checked_mul(months)?;
    // Dividing first keeps the product in range; the exact quotient is
    // rounded only at the end.
    let share = Decimal::from(days).checked_div(Decimal::from(year_days))?;
    let exact = yearly
        .checked_mul(Decimal::from(days))
        .and_then(|x| x.checked_div(Decimal::from(year_days)))
        .or_else(|| yearly.checked_mul(share))?;
    Some(fen(exact))
}

/// A project's metered year.
#[derive(Debug, Clone, Default)]
pub struct Metered {
    pub lines: Vec<Line>,
    /// Things the reader should check (host disks not covered by catalogue items).
    pub warnings: Vec<String>,
}

/// The lines of one project in `year`; `formal` is the signing date of its
/// formal agreement (resources before it are test resources, not metered).
pub fn meter(
    versions: &[ConfigVersion],
    formal: NaiveDate,
    year: &ServiceYear,
    prices: &PriceList,
    catalogue: &Catalogue,
) -> Result<Metered, String> {
    meter_until(versions, formal, None, year, prices, catalogue)
}

/// The same, for a project whose resources end after `until` (the day
/// before its termination).
pub fn meter_until(
    versions: &[ConfigVersion],
    formal: NaiveDate,
    until: Option<NaiveDate>,
    year: &ServiceYear,
    prices: &PriceList,
    catalogue: &Catalogue,
) -> Result<Metered, String> {
    let mut segments = segments(versions, formal, year, catalogue)?;
    if let Some(until) = until {
        segments.retain(|s| s.start <= until);
        for s in &mut segments {
            s.end = s.end.min(until);
        }
    }
    let mut lines = Vec::new();
    for key in resource_keys(&segments, catalogue) {
        if prices.included.contains_key(&key) {
            continue;
        }
        for (start, end, quantity) in runs(&segments, &key) {
            lines.extend(priced(&key, quantity, start, end, year, prices, catalogue)?);
        }
    }
    let warnings = uncovered_disks(&segments, prices, catalogue);
    Ok(Metered { lines, warnings })
}

/// Host disk capacity beyond the catalogue items that bill it.
fn uncovered_disks(segments: &[Segment], prices: &PriceList, catalogue: &Catalogue) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in segments {
        for (host_key, items) in &prices.included {
            let host = s.totals.get(host_key).copied().unwrap_or_default();
            let billed = items
                .iter()
                .filter_map(|k| s.totals.get(k))
                .try_fold(Decimal::ZERO, |a, b| a.checked_add(*b))
                .unwrap_or(Decimal::MAX);
            if host > billed {
                let w = format!(
                    "{} 至 {}:{}合计 {},多于服务目录中按类型计费的 {},差额 {} 未计费,请核对",
                    s.start,
                    s.end,
                    catalogue.resource_name(host_key),
                    host.normalize(),
                    billed.normalize(),
                    (host - billed).normalize()
                );
                out.push(w);
            }
        }
    }
    out
}

/// Each version is in force from its `effective` date (the first from the
/// formal signing) until the next one starts, clipped to the year.
fn segments(
    versions: &[ConfigVersion],
    formal: NaiveDate,
    year: &ServiceYear,
    catalogue: &Catalogue,
) -> Result<Vec<Segment>, String> {
    let starts: Vec<NaiveDate> = versions
        .iter()
        .map(|v| v.effective.unwrap_or(formal).max(formal))
        .collect();
    let mut out = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let next = starts.get(i + 1).and_then(|d| d.pred_opt());
        let start = starts[i].max(year.start);
        let end = next.unwrap_or(year.end).min(year.end);
        if start <= end {
            let totals = v.config.totals().map_err(|e| {
                format!(
                    "{} 起的资源配置中“{}”总量过大,无法计量;请核对账本中该项目的申请表与变更",
                    start,
                    catalogue.resource_name(&e.key)
                )
            })?;
            out.push(Segment { start, end, totals });
        }
    }
    Ok(out)
}

/// Host resources first, then services in catalogue order, then any other.
fn resource_keys(segments: &[Segment], catalogue: &Catalogue) -> Vec<String> {
    let mut keys: Vec<String> = HOST_RESOURCES.iter().map(|(k, _)| k.to_string()).collect();
    keys.extend(catalogue.items.iter().map(|i| i.key.clone()));
    for s in segments {
        for k in s.totals.keys() {
            if !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    keys.retain(|k| {
        segments
            .iter()
            .any(|s| s.totals.get(k).is_some_and(|q| !q.is_zero()))
    });
    keys
}

/// Spans of constant, non-zero quantity of `key`.
fn runs(segments: &[Segment], key: &str) -> Vec<(NaiveDate, NaiveDate, Decimal)> {
    let mut out: Vec<(NaiveDate, NaiveDate, Decimal)> = Vec::new();
    for s in segments {
        let q = s.totals.get(key).copied().unwrap_or(Decimal::ZERO);
        match out.last_mut() {
            Some(last) if last.2 == q && last.1.succ_opt() == Some(s.start) => last.1 = s.end,
            _ => out.push((s.start, s.end, q)),
        }
    }
    out.retain(|r| !r.2.is_zero());
    out
}

/// One line per price in force during the span.
fn priced(
    key: &str,
    quantity: Decimal,
    start: NaiveDate,
    end: NaiveDate,
    year: &ServiceYear,
    prices: &PriceList,
    catalogue: &Catalogue,
) -> Result<Vec<Line>, String> {
    let mut cuts = vec![start];
    cuts.extend(prices.changes(key, start, end));
    let mut lines = Vec::new();
    for (i, &from) in cuts.iter().enumerate() {
        let to = cuts.get(i + 1).and_then(|d| d.pred_opt()).unwrap_or(end);
        let price = prices.on(key, from).ok_or_else(|| {
            format!(
                "价格表 {} 中没有“{}”({key})自 {from} 适用的单价;请在价格表中补充",
                prices.file,
                catalogue.resource_name(key)
            )
        })?;
        let n = days(from, to);
        let amount =
            amount(quantity, price.price, price.period, n, year.days()).ok_or_else(|| {
                format!(
                    "“{}”数量 {} × 单价 {} 的金额过大,无法计算;请核对账本中的数量与价格表",
                    catalogue.resource_name(key),
                    quantity.normalize(),
                    price.price
                )
            })?;
        lines.push(Line {
            key: key.to_string(),
            name: catalogue.resource_name(key),
            quantity: quantity.normalize(),
            unit: price.unit.clone(),
            start: from,
            end: to,
            days: n,
            price: price.price,
            period: price.period,
            amount,
        });
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_year_2026() {
        let y = ServiceYear::new(2026).unwrap();
        assert_eq!(y.start.to_string(), "2025-07-01");
        assert_eq!(y.end.to_string(), "2026-06-30");
        assert_eq!(y.days(), 365);
        assert_eq!(y.label(), "2026年度(2025-07-01 至 2026-06-30)");
        assert_eq!(ServiceYear::new(2028).unwrap().days(), 366);
    }

    #[test]
    fn amounts_prorate_by_day() {
        let full = amount(
            Decimal::from(16),
            Decimal::from(60),
            Period::Month,
            365,
            365,
        )
        .unwrap();
        assert_eq!(full.to_string(), "11520.00");
        // 1 × 12000 × 184 / 365 = 6049.3150… → 6049.32
        let part = amount(Decimal::ONE, Decimal::from(12000), Period::Year, 184, 365).unwrap();
        assert_eq!(part.to_string(), "6049.32");
        let huge = Decimal::from_str_exact("79000000000000000000000000000").unwrap();
        assert_eq!(
            amount(huge, Decimal::from(60), Period::Month, 365, 365),
            None
        );
    }
}
