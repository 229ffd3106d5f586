//! The back half of the 细则 (五(二)(三), 六, 七, 八, 附件5): working-day
//! delivery deadlines, provider assessment, service-year metering and the
//! settlement workbook.

pub mod assess;
pub mod calendar;
pub mod meter;
pub mod prices;
pub mod settlement;
pub mod workbook;

use chrono::{Months, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

/// The test period ends on the corresponding day `months` later, or the
/// month's last day when there is none (民法典 第二百零一、二百零三条:
/// the day of signing is not counted).
pub fn test_period_end(signed: NaiveDate, months: u32) -> Option<NaiveDate> {
    signed.checked_add_months(Months::new(months))
}

/// Yuan to the fen, half up (0.005 → 0.01): the one rounding rule of the
/// settlement.
pub fn fen(amount: Decimal) -> Decimal {
    let mut rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(2);
    rounded
}

/// Sums amounts already to the fen (so an empty sum reads "0.00").
/// `settlement::settle` refuses a year whose grand total cannot be
/// computed, so saturation is never reached; it only rules out a panic.
pub fn sum_fen(amounts: impl Iterator<Item = Decimal>) -> Decimal {
    amounts.fold(Decimal::new(0, 2), |a, b| a.saturating_add(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fen_rounds_half_up() {
        assert_eq!(fen(Decimal::new(12345, 3)).to_string(), "12.35");
        assert_eq!(fen(Decimal::new(12344, 3)).to_string(), "12.34");
        assert_eq!(fen(Decimal::new(5, 0)).to_string(), "5.00");
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn test_period_ends_on_the_corresponding_day_or_month_end() {
        assert_eq!(test_period_end(d("2026-06-15"), 2), Some(d("2026-08-15")));
        assert_eq!(test_period_end(d("2026-01-31"), 1), Some(d("2026-02-28")));
        assert_eq!(test_period_end(d("2026-11-30"), 3), Some(d("2027-02-28")));
    }
}
