//! The business operations on the ledger: recording facts, revoking and
//! correcting them, and the views derived from them (a project's state,
//! the register, one project whole, the agenda). Plain functions: validated
//! inputs and the ledger in, serialisable data out. The terminal's command
//! layer only presents their results; a web desk can do the same.

pub mod agenda;
pub mod record;
pub mod view;

use chrono::NaiveDate;
use serde::Serialize;

use crate::ledger::LedgerError;

/// Why an operation did not happen.
#[derive(Debug, Clone, Serialize)]
pub enum OpError {
    /// The request conflicts with the ledger or the 细则 (exit 1): the
    /// reason, and the recorded date it conflicts with.
    Refused {
        reason: String,
        conflicts: Option<NaiveDate>,
        /// A check of date or order that `--override REASON` may pass.
        overridable: bool,
    },
    /// The request itself is wrong: an unknown project, a value out of
    /// range (exit 2, as a usage error).
    Invalid(String),
    /// The ledger cannot be read or written (exit 2).
    Failed(String),
}

impl OpError {
    pub fn refused(reason: impl Into<String>) -> OpError {
        OpError::Refused {
            reason: reason.into(),
            conflicts: None,
            overridable: false,
        }
    }

    pub fn conflict(reason: impl Into<String>, date: NaiveDate) -> OpError {
        OpError::Refused {
            reason: reason.into(),
            conflicts: Some(date),
            overridable: false,
        }
    }
}

impl From<LedgerError> for OpError {
    fn from(e: LedgerError) -> OpError {
        match e {
            LedgerError::Refused(why) => OpError::refused(why),
            other => OpError::Failed(other.to_string()),
        }
    }
}

impl From<String> for OpError {
    fn from(e: String) -> OpError {
        OpError::Failed(e)
    }
}

pub type OpResult<T> = Result<T, OpError>;

/// A project's state, derived from its recorded facts on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// 已批准配额: quota approved, no agreement yet.
    Approved,
    /// 测试中: test agreement signed, test period running.
    Testing,
    /// 测试期满: test period over, no formal agreement.
    TestExpired,
    /// 正式服务: formal agreement signed.
    InService,
    /// 已终止: terminated (by the centre, or every resource returned).
    Terminated,
    /// 已撤销: the approval was revoked.
    Revoked,
}

pub const STATES: [State; 6] = [
    State::Approved,
    State::Testing,
    State::TestExpired,
    State::InService,
    State::Terminated,
    State::Revoked,
];

impl State {
    pub fn label(self) -> &'static str {
        match self {
            State::Approved => "已批准配额",
            State::Testing => "测试中",
            State::TestExpired => "测试期满",
            State::InService => "正式服务",
            State::Terminated => "已终止",
            State::Revoked => "已撤销",
        }
    }

    /// A state as the clerk types it: its Chinese label or its JSON name.
    pub fn parse(s: &str) -> Option<State> {
        let t = s.trim();
        STATES.into_iter().find(|st| {
            st.label() == t
                || serde_json::to_value(st)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    == Some(t.to_string())
        })
    }
}

/// A change of state an operation made.
#[derive(Debug, Clone, Serialize)]
pub struct Transition {
    pub from: State,
    pub to: State,
}

impl Transition {
    pub fn sentence(&self) -> String {
        if self.from == self.to {
            format!("状态仍为:{}", self.to.label())
        } else {
            format!("状态:{} → {}", self.from.label(), self.to.label())
        }
    }
}

/// What an operation recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Recorded {
    /// The event that records it (for `ledger revoke` / `ledger correct`).
    pub event: i64,
    pub project: String,
    pub transition: Option<Transition>,
    /// What was recorded, in sentences.
    pub lines: Vec<String>,
    /// What the clerk should look at.
    pub warnings: Vec<String>,
}

/// Days after `today` beyond which a date is warned about.
pub const FUTURE_WARNING_DAYS: i64 = 30;

/// A warning for a date more than 30 days after today.
pub fn future_warning(what: &str, date: NaiveDate, today: NaiveDate) -> Option<String> {
    ((date - today).num_days() > FUTURE_WARNING_DAYS).then(|| {
        format!(
            "{what} {date} 比今天({today})晚 {} 天,请核对日期",
            (date - today).num_days()
        )
    })
}

use crate::ledger::{Head, Ledger, Project};
use crate::names::name_key;

/// Finds a project whose approval stands by 项目编号, by `申请单位/项目名称`
/// (or the `申请单位-项目名称` label), or by 项目名称 alone when only one
/// project has it; names compare by `names::name_key`.
pub fn find_project(ledger: &Ledger, query: &str) -> OpResult<Project> {
    let (standing, revoked) = heads(ledger)?;
    let head = pick(standing, query).map_err(|e| {
        // A revoked project is said as such, not as unknown.
        match pick(revoked, query) {
            Ok(p) => OpError::refused(format!(
                "项目 {} 的配额批准已撤销(第 {} 号记录);如需重新登记,请重新批准其附件1",
                p.label(),
                p.revoked_by.unwrap_or_default()
            )),
            Err(_) => e,
        }
    })?;
    Ok(ledger.project(head)?)
}

/// The same, revoked projects included (for viewing them).
pub fn find_any_project(ledger: &Ledger, query: &str) -> OpResult<Project> {
    let (standing, revoked) = heads(ledger)?;
    let head = pick(standing, query).or_else(|e| pick(revoked, query).map_err(|_| e))?;
    Ok(ledger.project(head)?)
}

/// The projects' rows: those whose approval stands, and the revoked.
fn heads(ledger: &Ledger) -> OpResult<(Vec<Head>, Vec<Head>)> {
    Ok(ledger
        .heads()?
        .into_iter()
        .partition(|h| h.revoked_by.is_none()))
}

fn pick(all: Vec<Head>, query: &str) -> OpResult<Head> {
    let q = name_key(query);
    let exact = |p: &Head| {
        p.code.as_deref().map(name_key) == Some(q.clone())
            || name_key(&format!("{}/{}", p.unit, p.name)) == q
            || name_key(&p.label()) == q
    };
    let (exact, others): (Vec<Head>, Vec<Head>) = all.into_iter().partition(exact);
    if let Some(p) = exact.into_iter().next() {
        return Ok(p);
    }
    let mut named: Vec<Head> = others
        .into_iter()
        .filter(|p| name_key(&p.name) == q)
        .collect();
    match named.as_slice() {
        [_] => Ok(named.remove(0)),
        [] => Err(OpError::Invalid(format!(
            "账本中没有项目“{query}”;请用项目编号、项目名称或“申请单位/项目名称”指定(zwyun projects 列出账本中的项目),新项目请先用 zwyun approve 登记其申请表"
        ))),
        many => Err(OpError::Invalid(format!(
            "项目名称“{query}”对应多个项目,请改用项目编号或“申请单位/项目名称”:{}",
            many.iter()
                .map(|p| match &p.code {
                    Some(code) => format!("{code}({}/{})", p.unit, p.name),
                    None => format!("{}/{}", p.unit, p.name),
                })
                .collect::<Vec<_>>()
                .join(";")
        ))),
    }
}

/// The register on `on`: every project (revoked ones too), filtered by a
/// text found in its code, unit, name or provider, and by state.
pub fn register(
    lives: &[view::Life],
    rules: &agenda::Rules,
    on: NaiveDate,
    search: Option<&str>,
    state: Option<State>,
) -> Vec<view::RegisterRow> {
    let needle = search.map(name_key).filter(|s| !s.is_empty());
    let mut rows = Vec::new();
    for life in lives {
        let p = &life.project;
        let st = life.state(on);
        if state.is_some_and(|s| s != st) {
            continue;
        }
        if let Some(n) = &needle {
            let hay = name_key(&format!(
                "{} {} {} {}",
                p.code.clone().unwrap_or_default(),
                p.unit,
                p.name,
                p.provider
            ));
            if !hay.contains(n.as_str()) {
                continue;
            }
        }
        let next = agenda::next_due(life, rules, on);
        rows.push(view::RegisterRow {
            project: p.label(),
            code: p.code.clone(),
            unit: p.unit.clone(),
            name: p.name.clone(),
            provider: p.provider.clone(),
            ownership: p.application.header.ownership.clone(),
            state: st,
            state_label: st.label(),
            next_due: next.as_ref().map(|i| i.due),
            next_kind: next.map(|i| i.kind.to_string()),
        });
    }
    rows
}
