//! 附件5 松江区云服务商绩效考核表: indicator counts → scores → the
//! settlement deduction rate.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;
use serde_yaml::Value;

/// One indicator of 附件5, in the order of the table.
pub struct Indicator {
    pub code: &'static str,
    pub name: &'static str,
    pub weight: i64,
    /// Points lost per event (counted indicators only).
    pub per_event: i64,
    pub rule: &'static str,
}

/// The rows of 附件5 as the seed prints them.
pub const INDICATORS: [Indicator; 6] = [
    Indicator {
        code: "A3",
        name: "服务任务完成及时性",
        weight: 5,
        per_event: 1,
        rule: "每发生一起因云服务商全部责任或者主要责任未能按计划完成服务任务扣1分,扣完为止。",
    },
    Indicator {
        code: "C1",
        name: "有责投诉",
        weight: 10,
        per_event: 5,
        rule: "每发生一起有责投诉扣5分,扣完为止。",
    },
    Indicator {
        code: "E1",
        name: "故障发生数",
        weight: 10,
        per_event: 3,
        rule: "云服务商每发生一起有责故障扣3分,扣完为止。",
    },
    Indicator {
        code: "E4",
        name: "故障上报准确数",
        weight: 5,
        per_event: 5,
        rule: "每发生一起错报、瞒报事件扣5分,扣完为止。",
    },
    Indicator {
        code: "J2",
        name: "安全责任事故数",
        weight: 20,
        per_event: 5,
        rule: "云服务商每发生一起安全责任事故扣5分,扣完为止。",
    },
    Indicator {
        code: "H1",
        name: "云服务满意率",
        weight: 50,
        per_event: 0,
        rule: "云服务满意度≥90%得满分,每偏差1%扣除权重2%,扣完为止。",
    },
];

/// The settlement tiers, highest first: (score below, deduction rate).
pub const TIERS: [(i64, Decimal); 3] = [
    (70, Decimal::from_parts(15, 0, 0, false, 2)),
    (80, Decimal::from_parts(10, 0, 0, false, 2)),
    (90, Decimal::from_parts(5, 0, 0, false, 2)),
];

pub const RESULT_TEXT: [&str; 4] = [
    "考核结果与年度费用结算挂钩,",
    "当年运营考核总体得分低于90分,扣除当年结算金额的5%;",
    "当年运营考核总体得分低于80分,扣除当年结算金额的10%;",
    "当年运营考核总体得分低于70分,扣除当年结算金额的15%。",
];

/// What the assessment file states.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentInput {
    pub provider: String,
    pub year: i32,
    /// Event counts of A3, C1, E1, E4, J2.
    pub counts: BTreeMap<&'static str, u32>,
    /// H1 satisfaction in percent, 0–100.
    pub satisfaction: Decimal,
}

/// The scored table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    pub provider: String,
    pub year: i32,
    /// Indicator code → score, in table order.
    pub items: Vec<(&'static str, Decimal)>,
    pub score: Decimal,
    pub deduction_rate: Decimal,
}

impl AssessmentInput {
    /// Reads the YAML mapping; every problem names its key.
    pub fn parse(file: &str, text: &str) -> Result<AssessmentInput, String> {
        let value: Value = crate::datafiles::parse_yaml(file, text).map_err(|e| e.to_string())?;
        let map = value
            .as_mapping()
            .ok_or(format!("{file}: 考核表应为“键: 值”的列表"))?;
        check_keys(file, map)?;
        let get = |key: &str| map.get(key).ok_or(format!("{file}: 缺少 {key}"));
        let provider =
            text_value(get("provider")?).ok_or(format!("{file}: provider 应为服务商名称"))?;
        // `year: 2026` and `year: "2026"` name the same year.
        let year_value = get("year")?;
        let year = year_value
            .as_i64()
            .or_else(|| year_value.as_str().and_then(|s| s.trim().parse().ok()))
            .and_then(|y| i32::try_from(y).ok())
            .filter(|y| (2000..=2100).contains(y))
            .ok_or(format!(
                "{file}: year 应为服务年度,如 2026(即 2025-07-01 至 2026-06-30)"
            ))?;
        let mut counts = BTreeMap::new();
        for ind in INDICATORS.iter().filter(|i| i.code != "H1") {
            counts.insert(ind.code, count(file, ind, get(ind.code)?)?);
        }
        let satisfaction = satisfaction(file, get("H1")?)?;
        Ok(AssessmentInput {
            provider,
            year,
            counts,
            satisfaction,
        })
    }

    pub fn score(&self) -> Assessment {
        let items: Vec<(&'static str, Decimal)> = INDICATORS
            .iter()
            .map(|ind| {
                let score = match self.counts.get(ind.code) {
                    Some(&n) => counted_score(ind, n),
                    None => satisfaction_score(ind.weight, self.satisfaction),
                };
                (ind.code, score)
            })
            .collect();
        let score: Decimal = items.iter().map(|(_, s)| *s).sum();
        Assessment {
            provider: self.provider.clone(),
            year: self.year,
            items,
            score: score.normalize(),
            deduction_rate: deduction_rate(score),
        }
    }

    /// The 考核情况 column: what was counted or measured.
    pub fn observed(&self, code: &str) -> String {
        match self.counts.get(code) {
            Some(n) => format!("{n} 起"),
            None => format!("{}%", self.satisfaction.normalize()),
        }
    }
}

/// Weight minus the points per event, not below 0.
fn counted_score(ind: &Indicator, events: u32) -> Decimal {
    let lost = Decimal::from(ind.per_event) * Decimal::from(events);
    (Decimal::from(ind.weight) - lost).max(Decimal::ZERO)
}

/// Full at ≥ 90%; each point below 90 costs 2% of the weight, pro rata.
pub fn satisfaction_score(weight: i64, percent: Decimal) -> Decimal {
    let weight = Decimal::from(weight);
    let shortfall = (Decimal::from(90) - percent).max(Decimal::ZERO);
    let lost = shortfall * weight * Decimal::new(2, 2);
    (weight - lost).max(Decimal::ZERO).normalize()
}

/// The single highest tier that applies.
pub fn deduction_rate(score: Decimal) -> Decimal {
    TIERS
        .iter()
        .find(|(below, _)| score < Decimal::from(*below))
        .map(|(_, rate)| *rate)
        .unwrap_or(Decimal::new(0, 2))
}

fn check_keys(file: &str, map: &serde_yaml::Mapping) -> Result<(), String> {
    let known = ["provider", "year"];
    for key in map.keys() {
        let name = key.as_str().unwrap_or_default();
        if !known.contains(&name) && !INDICATORS.iter().any(|i| i.code == name) {
            return Err(format!(
                "{file}: 未知的键 {}(应为 provider、year、A3、C1、E1、E4、J2、H1)",
                text_value(key).unwrap_or_else(|| format!("{key:?}"))
            ));
        }
    }
    Ok(())
}

fn text_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn count(file: &str, ind: &Indicator, v: &Value) -> Result<u32, String> {
    let bad = || {
        format!(
            "{file}: {}({})应为发生次数,即 0 或正整数,实际为 {}",
            ind.code,
            ind.name,
            show(v)
        )
    };
    match v {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(bad),
        Value::String(s) => s.trim().parse::<u32>().map_err(|_| bad()),
        _ => Err(bad()),
    }
}

fn satisfaction(file: &str, v: &Value) -> Result<Decimal, String> {
    let bad = || {
        format!(
            "{file}: H1(云服务满意率)应为 0 到 100 之间的百分数,如 92.5,实际为 {}",
            show(v)
        )
    };
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().trim_end_matches('%').trim().to_string(),
        _ => return Err(bad()),
    };
    let p: Decimal = text.parse().map_err(|_| bad())?;
    if p < Decimal::ZERO || p > Decimal::from(100) {
        return Err(bad());
    }
    Ok(p)
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "空".to_string(),
        Value::String(s) => format!("“{s}”"),
        Value::Number(n) => n.to_string(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

impl Assessment {
    /// `{"provider","year","items":{"A3":"5",…},"score","deduction_rate"}`.
    pub fn to_json(&self) -> serde_json::Value {
        let items: serde_json::Map<String, serde_json::Value> = self
            .items
            .iter()
            .map(|(code, s)| {
                (
                    code.to_string(),
                    serde_json::Value::String(s.normalize().to_string()),
                )
            })
            .collect();
        serde_json::json!({
            "provider": self.provider,
            "year": self.year,
            "items": items,
            "score": self.score.normalize().to_string(),
            "deduction_rate": self.deduction_rate.to_string(),
        })
    }
}

/// A rate as people write it: 0.10 → "10%".
pub fn percent(rate: Decimal) -> String {
    format!("{}%", (rate * Decimal::from(100)).normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn satisfaction_is_pro_rata() {
        assert_eq!(satisfaction_score(50, dec("90")).to_string(), "50");
        assert_eq!(satisfaction_score(50, dec("87.5")).to_string(), "47.5");
        assert_eq!(satisfaction_score(50, dec("0")).to_string(), "0");
        assert_eq!(satisfaction_score(50, dec("100")).to_string(), "50");
    }

    #[test]
    fn tiers_and_boundaries() {
        assert_eq!(deduction_rate(dec("90")).to_string(), "0.00");
        assert_eq!(deduction_rate(dec("89.5")).to_string(), "0.05");
        assert_eq!(deduction_rate(dec("80")).to_string(), "0.05");
        assert_eq!(deduction_rate(dec("79")).to_string(), "0.10");
        assert_eq!(deduction_rate(dec("70")).to_string(), "0.10");
        assert_eq!(deduction_rate(dec("69.9")).to_string(), "0.15");
    }

    #[test]
    fn negative_count_names_its_key() {
        let text = "provider: P\nyear: 2026\nA3: 0\nC1: -1\nE1: 0\nE4: 0\nJ2: 0\nH1: 95\n";
        let err = AssessmentInput::parse("a.yaml", text).unwrap_err();
        assert!(err.contains("C1"), "{err}");
    }
}
