//! What is due, from the 细则's rules and the recorded facts: deliveries
//! within 5 working days (五(二)(三)), test periods ending or over,
//! platform entries, approvals pending, service years to settle.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::view::Life;
use super::{OpResult, State};
use crate::ledger::Ledger;
use crate::schema::Policy;
use crate::settle::calendar::Calendar;
use crate::settle::meter::ServiceYear;

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub kind: &'static str,
    pub project: String,
    pub due: NaiveDate,
    pub overdue: bool,
    pub detail: String,
    /// The due date was counted past the calendar's years (weekends only).
    pub provisional: bool,
    /// The submission a pending approval is (its SHA-256).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission: Option<String>,
}

pub struct Rules<'a> {
    pub policy: &'a Policy,
    pub calendar: &'a Calendar,
}

impl Rules<'_> {
    /// `n` working days after `date` (the policy's delivery term), and
    /// whether the calendar did not cover it.
    fn due(&self, date: NaiveDate) -> (NaiveDate, bool) {
        let d = self
            .calendar
            .deadline(date, self.policy.delivery_working_days);
        (d.date, d.missing.is_some())
    }
}

/// The items of one project (all of them, whatever their date).
pub fn project_items(life: &Life, rules: &Rules, on: NaiveDate, days: i64) -> Vec<Item> {
    let p = &life.project;
    let label = p.label();
    let state = life.state(on);
    let mut items = Vec::new();
    if matches!(state, State::Revoked | State::Terminated) {
        return items;
    }
    let n = rules.policy.delivery_working_days;
    let mut push = |kind: &'static str, (due, provisional): (NaiveDate, bool), detail: String| {
        items.push(Item {
            kind,
            project: label.clone(),
            due,
            overdue: due < on,
            detail,
            provisional,
            submission: None,
        });
    };
    let delivered = |sub: &str, from: NaiveDate| {
        life.facts_of("delivered")
            .any(|f| f.subkind == sub && f.date >= from)
    };
    let entered = |sub: &str| life.facts_of("entered").any(|f| f.subkind == sub);
    if let Some(approved) = p.approved_on {
        if !entered("quota") {
            push(
                "platform_entry",
                rules.due(approved),
                format!("配额({approved} 批准)待申请单位录入市级政务云管理平台(按 {n} 个工作日计)"),
            );
        }
    }
    let test = life.test().filter(|t| t.signed <= on);
    let formal = life.formal().filter(|f| f.signed <= on);
    if let Some(t) = test {
        if !delivered("test", t.signed) {
            push(
                "delivery_test",
                rules.due(t.signed),
                format!(
                    "测试资源应在测试协议签订({})后 {n} 个工作日内发放,尚未登记发放",
                    t.signed
                ),
            );
        }
        if !entered("test") {
            push(
                "platform_entry",
                rules.due(t.signed),
                format!("测试工单({} 签订)待中心录入市级政务云管理平台", t.signed),
            );
        }
        if let (Some(ends), None) = (t.ends, formal) {
            if on > ends {
                push(
                    "test_expired",
                    (ends, false),
                    format!("测试期已于 {ends} 届满,尚未签订正式协议"),
                );
            } else if (ends - on).num_days() <= days {
                push(
                    "test_ending",
                    (ends, false),
                    format!("测试期至 {ends} 届满,届满后签订正式协议"),
                );
            }
        }
    }
    if let Some(f) = formal {
        if !delivered("formal", f.signed) {
            push(
                "delivery_formal",
                rules.due(f.signed),
                format!(
                    "正式资源应在正式协议签订({})后 {n} 个工作日内发放或调整,尚未登记发放",
                    f.signed
                ),
            );
        }
        if !entered("formal") {
            push(
                "platform_entry",
                rules.due(f.signed),
                format!("正式工单({} 签订)待中心录入市级政务云管理平台", f.signed),
            );
        }
    }
    for v in &life.configs {
        let Some(effective) = v.effective.filter(|d| *d <= on) else {
            continue;
        };
        if !delivered("change", effective) {
            push(
                "delivery_change",
                rules.due(effective),
                format!("变更自 {effective} 生效,应在 {n} 个工作日内完成,尚未登记发放"),
            );
        }
    }
    items
}

/// The agenda on `on`: overdue items and those due within `days` days,
/// overdue first, then by date.
pub fn agenda(
    ledger: &Ledger,
    lives: &[Life],
    rules: &Rules,
    on: NaiveDate,
    days: i64,
) -> OpResult<Vec<Item>> {
    let mut items: Vec<Item> = lives
        .iter()
        .flat_map(|l| project_items(l, rules, on, days))
        .collect();
    items.extend(pending_approvals(ledger, on)?);
    items.extend(settlements(ledger, lives, on)?);
    let horizon = chrono::Duration::try_days(days)
        .and_then(|d| on.checked_add_signed(d))
        .unwrap_or(NaiveDate::MAX);
    items.retain(|i| i.overdue || i.due <= horizon);
    sort(&mut items);
    Ok(items)
}

pub fn sort(items: &mut [Item]) {
    items.sort_by(|a, b| {
        b.overdue
            .cmp(&a.overdue)
            .then(a.due.cmp(&b.due))
            .then(a.project.cmp(&b.project))
            .then(a.kind.cmp(b.kind))
    });
}

/// sha256, file, form, project, received_at.
type SubmissionRow = (String, String, Option<String>, Option<String>, String);

/// Passed submissions not approved: due the day they were received.
fn pending_approvals(ledger: &Ledger, on: NaiveDate) -> OpResult<Vec<Item>> {
    let conn = ledger.conn();
    let mut stmt = conn
        .prepare(
            "SELECT sha256, file, form, project, received_at FROM submissions
             WHERE status = 'valid' ORDER BY received_at, rowid",
        )
        .map_err(|e| e.to_string())?;
    let rows: Vec<SubmissionRow> = stmt
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
    let approved = super::view::approvals(ledger)?;
    let mut out = Vec::new();
    for (sha, file, form, project, received) in rows {
        if approved.contains_key(&sha) {
            continue;
        }
        let due = received
            .get(..10)
            .and_then(|d| d.parse::<NaiveDate>().ok())
            .unwrap_or(on);
        let form = match form.as_deref() {
            Some("annex1") => "附件1",
            Some("annex4") => "附件4",
            _ => "提交",
        };
        let id: String = sha.chars().take(12).collect();
        out.push(Item {
            kind: "approval_pending",
            project: project.unwrap_or_default(),
            due,
            overdue: due < on,
            detail: format!("{form} {file} 已通过校验,尚未批准登记(zwyun approve {id})"),
            provisional: false,
            submission: Some(sha),
        });
    }
    Ok(out)
}

/// Service years ended with formal resources in them and not settled.
fn settlements(ledger: &Ledger, lives: &[Life], on: NaiveDate) -> OpResult<Vec<Item>> {
    let Some(first) = lives
        .iter()
        .filter(|l| l.project.revoked_by.is_none())
        .filter_map(|l| l.formal().map(|f| f.signed))
        .min()
    else {
        return Ok(Vec::new());
    };
    let settled: Vec<i32> = ledger
        .events_of(&["settled"])?
        .iter()
        .filter_map(|e| e.detail.parse().ok())
        .collect();
    let first_year = if first.month() >= 7 {
        first.year() + 1
    } else {
        first.year()
    };
    let mut out = Vec::new();
    for year in first_year..=on.year() {
        let Some(y) = ServiceYear::new(year) else {
            continue;
        };
        if y.end >= on || settled.contains(&year) {
            continue;
        }
        let due = y.end.succ_opt().unwrap_or(y.end);
        out.push(Item {
            kind: "settlement",
            project: String::new(),
            due,
            overdue: due < on,
            detail: format!("{} 已结束,尚未结算(zwyun settle --year {year})", y.label()),
            provisional: false,
            submission: None,
        });
    }
    Ok(out)
}

/// The earliest item of a project due, for the register.
pub fn next_due(life: &Life, rules: &Rules, on: NaiveDate) -> Option<Item> {
    let mut items = project_items(life, rules, on, 36500);
    sort(&mut items);
    items.into_iter().next()
}

/// An agenda kind in the clerk's words.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "delivery_test" => "测试资源发放",
        "delivery_formal" => "正式资源发放",
        "delivery_change" => "变更资源发放",
        "test_ending" => "测试期将满",
        "test_expired" => "测试期已满未签正式协议",
        "platform_entry" => "录入市级平台",
        "approval_pending" => "待批准",
        "settlement" => "年度结算",
        _ => "其他",
    }
}
