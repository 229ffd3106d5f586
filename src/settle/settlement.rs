//! The year's 松江区电子政务云资源结算项目: every project's bill, grouped
//! by provider, less each provider's assessment deduction.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::assess::Assessment;
use super::meter::{meter, Line, ServiceYear};
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
    pub bills: Vec<ProjectBill>,
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
}

/// Meters every project of the ledger for `year`.
pub fn settle(
    ledger: &Ledger,
    year: ServiceYear,
    prices: &PriceList,
    catalogue: &Catalogue,
    assessments: &[Assessment],
) -> Result<Settlement, String> {
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
        let versions = ledger.configs(p.id).map_err(|e| e.to_string())?;
        let metered = meter(&versions, formal.signed, &year, prices, catalogue)
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
    let providers = provider_totals(&bills, assessments, &mut notes);
    Ok(Settlement {
        year,
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
