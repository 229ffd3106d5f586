//! A project's life as the ledger records it: its state on a date, the
//! register of all projects, and one project whole.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde::Serialize;

use super::{OpResult, State};
use crate::ledger::facts::Fact;
use crate::ledger::{Agreement, AgreementKind, ConfigVersion, Event, Ledger, Project, Records};
use crate::model::Config;

/// Everything recorded about one project (facts in force: revoked ones
/// left out, corrected dates applied).
#[derive(Debug, Clone)]
pub struct Life {
    pub project: Project,
    pub agreements: Vec<Agreement>,
    pub configs: Vec<ConfigVersion>,
    /// The approved quota and its revisions, oldest first.
    pub quotas: Vec<ConfigVersion>,
    pub facts: Vec<Fact>,
}

impl Life {
    pub fn load(ledger: &Ledger, project: &Project) -> OpResult<Life> {
        Ok(Life::of(project.clone(), ledger.records_of(project.id)?))
    }

    fn of(project: Project, r: Records) -> Life {
        Life {
            project,
            agreements: r.agreements,
            configs: r.configs,
            quotas: r.quotas,
            facts: r.facts,
        }
    }

    pub fn test(&self) -> Option<&Agreement> {
        self.agreements
            .iter()
            .rev()
            .find(|a| a.kind == AgreementKind::Test)
    }

    pub fn formal(&self) -> Option<&Agreement> {
        self.agreements
            .iter()
            .rev()
            .find(|a| a.kind == AgreementKind::Formal)
    }

    /// The date the project ended (resources metered to the day before):
    /// a termination, or an approved 附件4 that gives everything back
    /// (from its effective date).
    pub fn terminated(&self) -> Option<NaiveDate> {
        let reclaimed = self
            .configs
            .iter()
            .filter(|v| v.config.is_empty())
            .filter_map(|v| v.effective);
        self.facts
            .iter()
            .filter(|f| f.kind == "terminated")
            .map(|f| f.date)
            .chain(reclaimed)
            .min()
    }

    pub fn facts_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Fact> + 'a {
        self.facts.iter().filter(move |f| f.kind == kind)
    }

    /// The state on `on`.
    pub fn state(&self, on: NaiveDate) -> State {
        if self.project.revoked_by.is_some() {
            return State::Revoked;
        }
        if self.terminated().is_some_and(|d| d <= on) {
            return State::Terminated;
        }
        if self.formal().is_some_and(|f| f.signed <= on) {
            return State::InService;
        }
        match self.test().filter(|t| t.signed <= on) {
            Some(t) if t.ends.is_some_and(|e| on > e) => State::TestExpired,
            Some(_) => State::Testing,
            None => State::Approved,
        }
    }

    /// The state once every fact recorded is in force (whatever its date):
    /// what a command that just recorded one has made of the project.
    pub fn state_now(&self) -> State {
        let latest = self
            .agreements
            .iter()
            .map(|a| a.signed)
            .chain(self.facts.iter().map(|f| f.date))
            .max();
        self.state(latest.unwrap_or(NaiveDate::MIN))
    }

    /// The configuration in force on `on` (the quota before any change),
    /// and the changes scheduled after it.
    pub fn config_on(&self, on: NaiveDate) -> (&Config, Vec<&ConfigVersion>) {
        // The first configuration is the last undated one (a quota revised
        // before the formal agreement replaces the 附件1's).
        let mut current = self.configs.iter().rfind(|v| v.effective.is_none());
        let mut scheduled = Vec::new();
        for v in &self.configs {
            match v.effective {
                None => {}
                Some(d) if d <= on => current = Some(v),
                Some(_) => scheduled.push(v),
            }
        }
        static EMPTY: std::sync::OnceLock<Config> = std::sync::OnceLock::new();
        let config = current
            .map(|v| &v.config)
            .unwrap_or_else(|| EMPTY.get_or_init(Config::default));
        (config, scheduled)
    }
}

impl Life {
    /// The quota in force on `on` (the 附件1's until a revision's date),
    /// and the revisions scheduled after it.
    pub fn quota_on(&self, on: NaiveDate) -> (Option<&ConfigVersion>, Vec<&ConfigVersion>) {
        let mut current = self.quotas.first();
        let mut scheduled = Vec::new();
        for v in self.quotas.iter().skip(1) {
            match v.effective {
                Some(d) if d > on => scheduled.push(v),
                _ => current = Some(v),
            }
        }
        (current, scheduled)
    }
}

/// One line of the register.
#[derive(Debug, Clone, Serialize)]
pub struct RegisterRow {
    pub project: String,
    pub code: Option<String>,
    pub unit: String,
    pub name: String,
    pub provider: String,
    pub ownership: String,
    pub state: State,
    pub state_label: &'static str,
    /// The earliest thing due for it (from the agenda), if any.
    pub next_due: Option<NaiveDate>,
    pub next_kind: Option<String>,
}

/// Every project (revoked ones too) with its lives.
pub fn lives(ledger: &Ledger) -> OpResult<Vec<Life>> {
    Ok(ledger
        .projects()?
        .into_records()
        .map(|(p, r)| Life::of(p, r))
        .collect())
}

/// A configuration in a few words: hosts and services.
pub fn config_summary(c: &Config) -> String {
    let hosts: u32 = c.hosts.iter().map(|h| h.count).sum();
    let cpu: u64 = c.hosts.iter().map(|h| h.cpu as u64 * h.count as u64).sum();
    let mem: u64 = c
        .hosts
        .iter()
        .map(|h| h.memory_gb as u64 * h.count as u64)
        .sum();
    format!(
        "{} 台主机(CPU {cpu} 核,内存 {mem} GB),{} 项服务",
        hosts,
        c.services.len()
    )
}

/// One project whole, as of `on`.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectView {
    pub project: String,
    pub code: Option<String>,
    pub unit: String,
    pub name: String,
    pub provider: String,
    pub ownership: String,
    pub on: NaiveDate,
    pub state: State,
    pub state_label: &'static str,
    pub approved_on: Option<NaiveDate>,
    /// The quota in force on `on`, and from when (None: the 附件1's).
    pub quota: String,
    pub quota_from: Option<NaiveDate>,
    /// Every quota: the 附件1's, then each revision (配额调整) with its date.
    pub quotas: Vec<Dated>,
    pub in_force: String,
    pub in_force_from: Option<NaiveDate>,
    pub scheduled: Vec<Dated>,
    pub agreements: Vec<Dated>,
    pub changes: Vec<Dated>,
    pub deliveries: Vec<Dated>,
    pub entries: Vec<Dated>,
    pub terminated: Option<NaiveDate>,
    pub submissions: Vec<SubmissionRow>,
    pub history: Vec<Event>,
}

/// A dated item of a project view.
#[derive(Debug, Clone, Serialize)]
pub struct Dated {
    pub date: Option<NaiveDate>,
    pub what: String,
    pub event: Option<i64>,
}

/// A submission of the project, from the intake journal.
#[derive(Debug, Clone, Serialize)]
pub struct SubmissionRow {
    pub id: String,
    pub file: String,
    pub form: Option<String>,
    pub status: String,
    pub received_at: String,
    pub outputs: Vec<String>,
    /// The approval event that recorded it, if approved.
    pub approved: Option<Approval>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub event: i64,
    pub by: String,
    /// When it was recorded.
    pub at: String,
    /// The approval's date (of the quota, or the change's effective date).
    pub date: Option<NaiveDate>,
}

/// The submissions whose 项目 is one of this project's labels (its code,
/// its unit and name), with the approvals among `events`.
pub fn submissions_of(
    ledger: &Ledger,
    labels: &[String],
    events: &[Event],
) -> OpResult<Vec<SubmissionRow>> {
    let marks = vec!["?"; labels.len()].join(", ");
    let mut stmt = ledger
        .conn()
        .prepare(&format!(
            "SELECT sha256, file, form, status, received_at, outputs FROM submissions
             WHERE project IN ({marks}) ORDER BY received_at, rowid"
        ))
        .map_err(|e| e.to_string())?;
    let approved = approvals_in(events);
    let rows = stmt
        .query_map(rusqlite::params_from_iter(labels), |r| {
            let sha: String = r.get(0)?;
            Ok(SubmissionRow {
                id: sha.chars().take(12).collect(),
                approved: approved.get(&sha).cloned(),
                file: r.get(1)?,
                form: r.get(2)?,
                status: r.get(3)?,
                received_at: r.get(4)?,
                outputs: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
            })
        })
        .and_then(|rows| rows.collect())
        .map_err(|e| e.to_string())?;
    Ok(rows)
}

/// Every standing approval, by the SHA-256 of the file it recorded (the
/// first one where a file was approved twice); read once for a list.
pub fn approvals(ledger: &Ledger) -> OpResult<HashMap<String, Approval>> {
    let mut actions = APPROVALS.to_vec();
    actions.push("revoke");
    Ok(approvals_in(&ledger.events_of(&actions)?))
}

/// The events that approve a submitted file.
const APPROVALS: [&str; 3] = ["approve_quota", "revise_quota", "approve_change"];

/// The standing approvals among `events` (which hold their revocations:
/// all events, or a project's).
fn approvals_in(events: &[Event]) -> HashMap<String, Approval> {
    let revoked: HashSet<i64> = events
        .iter()
        .filter(|e| e.action == "revoke")
        .filter_map(|e| e.target)
        .collect();
    let mut out = HashMap::new();
    for e in events
        .iter()
        .filter(|e| APPROVALS.contains(&e.action.as_str()) && !revoked.contains(&e.id))
    {
        if let Some(sha) = &e.sha256 {
            out.entry(sha.clone()).or_insert_with(|| Approval {
                event: e.id,
                by: e.by.clone(),
                at: e.at.clone(),
                date: e.date,
            });
        }
    }
    out
}

/// One project whole, as of `on`.
pub fn project_view(ledger: &Ledger, life: &Life, on: NaiveDate) -> OpResult<ProjectView> {
    let p = &life.project;
    let (config, scheduled) = life.config_on(on);
    let (quota, _) = life.quota_on(on);
    let in_force_from = life
        .configs
        .iter()
        .filter(|v| v.effective.is_some_and(|d| d <= on))
        .filter_map(|v| v.effective)
        .max();
    let agreements = life
        .agreements
        .iter()
        .map(|a| Dated {
            date: Some(a.signed),
            what: match a.kind {
                AgreementKind::Test => format!(
                    "测试协议(附件2)签订,测试期 {} 个月,至 {} 届满",
                    a.months.unwrap_or_default(),
                    a.ends.map(|d| d.to_string()).unwrap_or_default()
                ),
                AgreementKind::Formal => "正式协议(附件3)签订,起租".to_string(),
            },
            event: a.event_id,
        })
        .collect();
    let changes = life
        .configs
        .iter()
        .filter(|v| v.effective.is_some())
        .map(|v| Dated {
            date: v.effective,
            what: format!("变更生效:{}({})", config_summary(&v.config), v.source),
            event: v.event_id,
        })
        .collect();
    let dated = |kind: &str, name: fn(&str) -> String| -> Vec<Dated> {
        life.facts_of(kind)
            .map(|f| Dated {
                date: Some(f.date),
                what: format!("{}{}", name(&f.subkind), suffix(&f.detail)),
                event: Some(f.event_id),
            })
            .collect()
    };
    let mut labels = vec![p.label()];
    labels.extend(p.code.clone());
    labels.push(
        crate::model::ProjectKey {
            code: None,
            unit: p.unit.clone(),
            name: p.name.clone(),
        }
        .label(),
    );
    let state = life.state(on);
    let history = ledger.events(Some(p.id))?;
    Ok(ProjectView {
        project: p.label(),
        code: p.code.clone(),
        unit: p.unit.clone(),
        name: p.name.clone(),
        provider: p.provider.clone(),
        ownership: p.application.header.ownership.clone(),
        on,
        state,
        state_label: state.label(),
        approved_on: p.approved_on,
        quota: config_summary(quota.map(|v| &v.config).unwrap_or(&p.quota)),
        quota_from: quota.and_then(|v| v.effective),
        quotas: life
            .quotas
            .iter()
            .map(|v| Dated {
                date: v.effective.or(p.approved_on),
                what: match v.effective {
                    None => format!("批准配额(附件1):{}", config_summary(&v.config)),
                    Some(_) => format!(
                        "配额调整(附件1):{}({})",
                        config_summary(&v.config),
                        v.source
                    ),
                },
                event: v.event_id,
            })
            .collect(),
        in_force: config_summary(config),
        in_force_from,
        scheduled: scheduled
            .iter()
            .map(|v| Dated {
                date: v.effective,
                what: format!("已排定:{}", config_summary(&v.config)),
                event: v.event_id,
            })
            .collect(),
        agreements,
        changes,
        deliveries: dated("delivered", |s| format!("{}资源发放", kind_name(s))),
        entries: dated("entered", |s| {
            format!("{}录入市级政务云管理平台", kind_name(s))
        }),
        terminated: life.terminated(),
        submissions: submissions_of(ledger, &labels, &history)?,
        history,
    })
}

fn suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!("({detail})")
    }
}

/// test / formal / change / quota in Chinese.
pub fn kind_name(kind: &str) -> &'static str {
    match kind {
        "test" => "测试",
        "formal" => "正式",
        "change" => "变更",
        "quota" => "配额",
        _ => "",
    }
}
