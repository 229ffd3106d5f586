//! The year's 松江区电子政务云资源结算项目: every project's bill, grouped
//! by provider, less each provider's assessment deduction.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::assess::Assessment;
use super::meter::{meter_until, Line, ServiceYear};
use super::prices::PriceList;
use super::{fen, sum_fen};
use crate::ledger::{AgreementKind, Ledger};
use crate::schema::Catalogue;

/// One project's metered year.
#[derive(Debug, Clone)]
pub struct ProjectBill {
    pub label: String,
    pub unit: String,
    pub name: String,
    pub provider: String,
    /// 上云项目归属 as approved.
    pub ownership: String,
    /// Paid by the unit itself (细则 二), outside the district's totals.
    pub self_paid: bool,
    /// Signing date of the formal agreement: 起租.
    pub formal_signed: NaiveDate,
    pub lines: Vec<Line>,
}

impl ProjectBill {
    /// Summed from the rounded lines.
    pub fn total(&self) -> Decimal {
        sum_fen(self.lines.iter().map(|l| l.amount))
    }
}

#[derive(Debug, Clone)]
pub struct ProviderTotal {
    pub provider: String,
    pub projects: usize,
    pub gross: Decimal,
    pub assessment: Option<Assessment>,
    pub deduction_rate: Decimal,
    pub deduction: Decimal,
    pub net: Decimal,
}

impl ProviderTotal {
    fn new(
        provider: &str,
        bills: &[&ProjectBill],
        assessment: Option<&Assessment>,
    ) -> ProviderTotal {
        let gross = sum_fen(bills.iter().map(|b| b.total()));
        let rate = assessment
            .map(|a| a.deduction_rate)
            .unwrap_or(Decimal::new(0, 2));
        let deduction = fen(gross.saturating_mul(rate));
        ProviderTotal {
            provider: provider.to_string(),
            projects: bills.len(),
            gross,
            assessment: assessment.cloned(),
            deduction_rate: rate,
            deduction,
            net: gross.saturating_sub(deduction),
        }
    }

    /// What the summary says about the assessment.
    pub fn remark(&self) -> String {
        match &self.assessment {
            Some(a) => format!(
                "考核得分 {},扣除结算金额的 {}",
                a.score,
                super::assess::percent(a.deduction_rate)
            ),
            None => "未提供考核结果,暂不扣减".to_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settlement {
    pub year: ServiceYear,
    /// The service year had not ended on the day of settling: every
    /// amount is an estimate (预估).
    pub provisional: bool,
    pub today: NaiveDate,
    pub bills: Vec<ProjectBill>,
    /// Totals of the district-paid bills only.
    pub providers: Vec<ProviderTotal>,
    /// Projects not metered and assessments not used, said to the reader.
    pub notes: Vec<String>,
    pub price_notice: String,
}

impl Settlement {
    pub fn gross(&self) -> Decimal {
        sum_fen(self.providers.iter().map(|p| p.gross))
    }

    pub fn deduction(&self) -> Decimal {
        sum_fen(self.providers.iter().map(|p| p.deduction))
    }

    pub fn net(&self) -> Decimal {
        sum_fen(self.providers.iter().map(|p| p.net))
    }

    /// Bills paid by the district (counted in the totals).
    pub fn district_bills(&self) -> impl Iterator<Item = &ProjectBill> {
        self.bills.iter().filter(|b| !b.self_paid)
    }

    /// Bills the units pay themselves (由使用单位自行承担).
    pub fn self_paid_bills(&self) -> impl Iterator<Item = &ProjectBill> {
        self.bills.iter().filter(|b| b.self_paid)
    }

    pub fn self_paid_total(&self) -> Decimal {
        sum_fen(self.self_paid_bills().map(|b| b.total()))
    }

    /// The sentence that marks an estimate, when the year has not ended.
    pub fn provisional_note(&self) -> Option<String> {
        self.provisional.then(|| {
            format!(
                "预估:服务年度 {} 至 {} 截至 {} 尚未结束,以下金额按账本中已登记的资源计至年度末,为预估数,不能作为结算依据。",
                self.year.start, self.year.end, self.today
            )
        })
    }
}

/// Assessments naming a provider the ledger does not know: an error
/// naming the closest known providers.
pub fn unknown_providers(known: &[String], assessments: &[Assessment]) -> Option<String> {
    let key = crate::names::name_key;
    let mut known: Vec<&String> = known.iter().collect();
    known.sort();
    known.dedup();
    let bad: Vec<String> = assessments
        .iter()
        .filter(|a| !known.iter().any(|k| key(k) == key(&a.provider)))
        .map(|a| {
            let mut near: Vec<(f64, &String)> = known
                .iter()
                .map(|k| {
                    (
                        strsim::normalized_levenshtein(&key(k), &key(&a.provider)),
                        *k,
                    )
                })
                .collect();
            near.sort_by(|x, y| y.0.total_cmp(&x.0).then_with(|| x.1.cmp(y.1)));
            let names: Vec<String> = near.iter().take(3).map(|(_, k)| format!("“{k}”")).collect();
            if names.is_empty() {
                format!(
                    "考核结果中的服务商“{}”不在账本中(账本中还没有任何项目)",
                    a.provider
                )
            } else {
                format!(
                    "考核结果中的服务商“{}”不在账本中;最接近的是:{}",
                    a.provider,
                    names.join("、")
                )
            }
        })
        .collect();
    (!bad.is_empty()).then(|| bad.join("\n"))
}

/// What a settlement is computed from besides the ledger.
pub struct SettleInput<'a> {
    pub year: ServiceYear,
    /// The day of settling: the year is provisional until it has ended.
    pub today: NaiveDate,
    pub prices: &'a PriceList,
    pub catalogue: &'a Catalogue,
    pub assessments: &'a [Assessment],
    pub self_paid: &'a dyn Fn(&str) -> bool,
}

/// Meters every project of the ledger for `year`.
pub fn settle(ledger: &Ledger, input: &SettleInput) -> Result<Settlement, String> {
    let SettleInput {
        year,
        today,
        prices,
        catalogue,
        assessments,
        self_paid,
    } = *input;
    let mut bills = Vec::new();
    let mut notes = Vec::new();
    let projects = ledger.projects().map_err(|e| e.to_string())?;
    for p in projects.all() {
        let Some(formal) = ledger
            .agreement(p.id, AgreementKind::Formal)
            .map_err(|e| e.to_string())?
        else {
            notes.push(format!(
                "项目 {} 未登记正式协议,不计量(测试资源不纳入计量)",
                p.label()
            ));
            continue;
        };
        if formal.signed > year.end {
            notes.push(format!(
                "项目 {} 的正式协议签订于 {},不在本服务年度内",
                p.label(),
                formal.signed
            ));
            continue;
        }
        let life = crate::ops::view::Life::load(ledger, p).map_err(|e| format!("{e:?}"))?;
        let terminated = life.terminated();
        if let Some(t) = terminated.filter(|t| *t <= formal.signed.max(year.start)) {
            notes.push(format!("项目 {} 已于 {t} 终止,本服务年度不计量", p.label()));
            continue;
        }
        let until = terminated.and_then(|t| t.pred_opt());
        if let Some(t) = terminated.filter(|t| *t <= year.end) {
            notes.push(format!(
                "项目 {} 于 {t} 终止,资源计量至 {}",
                p.label(),
                t.pred_opt().unwrap_or(t)
            ));
        }
        let metered = meter_until(
            &life.configs,
            formal.signed,
            until,
            &year,
            prices,
            catalogue,
        )
        .map_err(|e| format!("项目 {}:{e}", p.label()))?;
        notes.extend(
            metered
                .warnings
                .iter()
                .map(|w| format!("项目 {}:{w}", p.label())),
        );
        bills.push(ProjectBill {
            label: p.label(),
            unit: p.unit.clone(),
            name: p.name.clone(),
            provider: p.provider.clone(),
            ownership: p.application.header.ownership.clone(),
            self_paid: self_paid(&p.application.header.ownership),
            formal_signed: formal.signed,
            lines: metered.lines,
        });
    }
    // Every sum of the settlement is at most the sum of all lines (amounts
    // are never negative): if that one can be computed, so can the others.
    bills
        .iter()
        .flat_map(|b| &b.lines)
        .try_fold(Decimal::ZERO, |a, l| a.checked_add(l.amount))
        .ok_or("本服务年度的结算金额合计过大,无法计算;请核对账本中各项目的数量与价格表")?;
    let district: Vec<ProjectBill> = bills.iter().filter(|b| !b.self_paid).cloned().collect();
    let providers = provider_totals(&district, assessments, &mut notes);
    Ok(Settlement {
        year,
        provisional: today <= year.end,
        today,
        bills,
        providers,
        notes,
        price_notice: prices.notice(),
    })
}

fn provider_totals(
    bills: &[ProjectBill],
    assessments: &[Assessment],
    notes: &mut Vec<String>,
) -> Vec<ProviderTotal> {
    let mut by_provider: BTreeMap<&str, Vec<&ProjectBill>> = BTreeMap::new();
    for b in bills {
        by_provider.entry(&b.provider).or_default().push(b);
    }
    for a in assessments {
        if !by_provider.contains_key(a.provider.as_str()) {
            notes.push(format!(
                "考核结果中的服务商“{}”在本服务年度没有计量的项目,未使用",
                a.provider
            ));
        }
    }
    by_provider
        .iter()
        .map(|(provider, list)| {
            let assessment = assessments.iter().find(|a| a.provider == *provider);
            if assessment.is_none() {
                notes.push(format!(
                    "服务商“{provider}”未提供考核结果:扣减比例按 0 计,暂不扣减"
                ));
            }
            ProviderTotal::new(provider, list, assessment)
        })
        .collect()
}
