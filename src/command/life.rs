//! The terminal face of a project's life: recording facts, revoking and
//! correcting them, the log, the register, one project, the agenda. The
//! rules live in `crate::ops`; this module only opens the ledger, calls
//! them and prints what they return (text or JSON).

use std::path::Path;

use chrono::NaiveDate;

use super::{open_existing, Format, EXIT_OK, EXIT_PROBLEMS};
use crate::ledger::{Ledger, Recording};
use crate::ops::agenda::{self, Item, Rules};
use crate::ops::record::{self, Desk};
use crate::ops::view::{self, Life, ProjectView, RegisterRow};
use crate::ops::{OpError, OpResult, Recorded, State};
use crate::schema::Schemas;
use crate::settle::calendar::Calendar;

/// Who records, and how: `--by`, `--override`, `--on`.
pub struct Clerk {
    pub by: Option<String>,
    pub override_reason: Option<String>,
    pub today: NaiveDate,
}

/// A recording command's ledger and rules.
pub struct Session {
    pub ledger: Ledger,
    pub calendar: Calendar,
    pub today: NaiveDate,
}

impl Session {
    pub fn open(
        ledger_path: &Path,
        dir: Option<&Path>,
        clerk: &Clerk,
        command: &str,
    ) -> Result<Session, String> {
        let mut ledger = open_existing(ledger_path)?;
        let mut rec = Recording::new(clerk.by.clone(), command);
        rec.override_reason = clerk
            .override_reason
            .clone()
            .filter(|r| !r.trim().is_empty());
        ledger.set_recording(rec);
        let calendar = Calendar::load(dir).map_err(|e| e.to_string())?;
        Ok(Session {
            ledger,
            calendar,
            today: clerk.today,
        })
    }

    pub fn desk<'a>(&'a self, schemas: &'a Schemas) -> Desk<'a> {
        Desk {
            ledger: &self.ledger,
            policy: &schemas.policy,
            calendar: &self.calendar,
            today: self.today,
        }
    }
}

/// Prints what an operation recorded, or why it did not (exit 1).
pub fn present(result: OpResult<Recorded>, format: Format) -> Result<u8, String> {
    match result {
        Ok(r) => {
            for w in &r.warnings {
                eprintln!("zwyun: 警告:{w}");
            }
            match format {
                Format::Json => crate::outln!("{}", serde_json::to_string(&r).unwrap_or_default()),
                Format::Text => {
                    for line in &r.lines {
                        crate::outln!("{line}");
                    }
                    if let Some(t) = &r.transition {
                        crate::outln!("项目 {} {}", r.project, t.sentence());
                    }
                    crate::outln!("(第 {} 号记录)", r.event);
                }
            }
            Ok(EXIT_OK)
        }
        Err(e) => refusal(e),
    }
}

/// A refusal: exit 1 with the reason and the date it conflicts with.
pub fn refusal(e: OpError) -> Result<u8, String> {
    match e {
        OpError::Refused {
            reason,
            conflicts,
            overridable,
        } => {
            eprintln!("zwyun: 未登记:{reason}");
            match (conflicts, overridable) {
                (Some(d), true) => eprintln!(
                    "冲突日期:{d}。如确属例外,可加 --override 原因 登记,审计记录会保留原因。"
                ),
                (Some(d), false) => eprintln!("冲突日期:{d}。"),
                _ => {}
            }
            Ok(EXIT_PROBLEMS)
        }
        OpError::Invalid(e) | OpError::Failed(e) => Err(e),
    }
}

/// Finds the project named on the command line (exit 1 when unknown).
pub fn with_project(
    session: &Session,
    query: &str,
    f: impl FnOnce(&crate::ledger::Project) -> OpResult<Recorded>,
) -> OpResult<Recorded> {
    let project = crate::ops::find_project(&session.ledger, query)?;
    f(&project)
}

/// `ledger log`.
pub fn log(ledger_path: &Path, project: Option<&str>, format: Format) -> Result<u8, String> {
    let ledger = open_existing(ledger_path)?;
    let id = match project {
        Some(q) => match crate::ops::find_any_project(&ledger, q) {
            Ok(p) => Some(p.id),
            Err(e) => return refusal(e),
        },
        None => None,
    };
    let events = ledger.events(id).map_err(|e| e.to_string())?;
    let labels = project_labels(&ledger)?;
    if events.is_empty() && format == Format::Text {
        crate::outln!("账本中尚无记录。");
    }
    for e in &events {
        let project = e
            .project_id
            .and_then(|id| labels.iter().find(|(i, _)| *i == id))
            .map(|(_, l)| l.clone())
            .unwrap_or_default();
        match format {
            Format::Json => {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                v["project"] = project.into();
                v["action_name"] = e.action_name().into();
                crate::outln!("{v}");
            }
            Format::Text => {
                let line = event_line(e, &project);
                crate::outln!("{line}");
            }
        }
    }
    Ok(EXIT_OK)
}

/// One event as `ledger log` and `project` print it; `project` is its
/// project's label (empty inside one project's history).
fn event_line(e: &crate::ledger::Event, project: &str) -> String {
    let mut line = format!("#{}  {}  {}  {}", e.id, e.at, e.by, e.action_name());
    if !project.is_empty() {
        line += &format!("  {project}");
    }
    if let Some(d) = e.date {
        line += &format!("  日期 {d}");
    }
    if !e.detail.is_empty() {
        line += &format!("  {}", e.detail);
    }
    if let Some(r) = &e.reason {
        line += &format!("  原因:{r}");
    }
    line += &format!("  (命令 {}", e.command);
    if let Some(src) = &e.source {
        line += &format!(",文件 {src}");
    }
    if let Some(sha) = &e.sha256 {
        line += &format!(",SHA-256 {}", &sha[..sha.len().min(16)]);
    }
    line + ")"
}

fn project_labels(ledger: &Ledger) -> Result<Vec<(i64, String)>, String> {
    let projects = ledger.projects().map_err(|e| e.to_string())?;
    Ok(projects
        .all()
        .iter()
        .chain(projects.revoked())
        .map(|p| (p.id, p.label()))
        .collect())
}

/// `projects`.
pub fn projects(
    ledger_path: &Path,
    dir: Option<&Path>,
    schemas: &Schemas,
    on: NaiveDate,
    search: Option<&str>,
    state: Option<State>,
    format: Format,
) -> Result<u8, String> {
    let ledger = open_existing(ledger_path)?;
    let calendar = Calendar::load(dir).map_err(|e| e.to_string())?;
    let rules = Rules {
        policy: &schemas.policy,
        calendar: &calendar,
    };
    let rows = match crate::ops::view::lives(&ledger)
        .map(|lives| crate::ops::register(&lives, &rules, on, search, state))
    {
        Ok(rows) => rows,
        Err(e) => return refusal(e),
    };
    match format {
        Format::Json => {
            for r in &rows {
                crate::outln!("{}", serde_json::to_string(r).unwrap_or_default());
            }
        }
        Format::Text => {
            if rows.is_empty() {
                crate::outln!("没有符合条件的项目。");
            }
            for r in &rows {
                crate::outln!("{}", register_line(r));
            }
        }
    }
    Ok(EXIT_OK)
}

fn register_line(r: &RegisterRow) -> String {
    let due = match (&r.next_due, &r.next_kind) {
        (Some(d), Some(k)) => format!("下一到期 {d}({})", agenda::kind_label(k)),
        _ => "无待办".to_string(),
    };
    format!(
        "{}  {}  {}  {}  {}  {}  {due}",
        r.project, r.unit, r.name, r.provider, r.ownership, r.state_label
    )
}

/// `project P`.
pub fn project(
    ledger_path: &Path,
    query: &str,
    on: NaiveDate,
    format: Format,
) -> Result<u8, String> {
    let ledger = open_existing(ledger_path)?;
    let view = match crate::ops::find_any_project(&ledger, query)
        .and_then(|p| Life::load(&ledger, &p))
        .and_then(|life| view::project_view(&ledger, &life, on))
    {
        Ok(v) => v,
        Err(e) => return refusal(e),
    };
    match format {
        Format::Json => crate::outln!("{}", serde_json::to_string(&view).unwrap_or_default()),
        Format::Text => crate::out!("{}", project_text(&view)),
    }
    Ok(EXIT_OK)
}

fn project_text(v: &ProjectView) -> String {
    let mut s = format!(
        "项目 {}:{} / {}\n服务商:{}  上云项目归属:{}\n{} 的状态:{}\n",
        v.project, v.unit, v.name, v.provider, v.ownership, v.on, v.state_label
    );
    if let Some(d) = v.approved_on {
        s += &format!("配额批准:{d}\n");
    }
    match v.quota_from {
        Some(d) => s += &format!("{} 的配额(配额调整,自 {d} 起):{}\n", v.on, v.quota),
        None => s += &format!("{} 的配额:{}\n", v.on, v.quota),
    }
    match v.in_force_from {
        Some(d) => s += &format!("{} 在用配置(自 {d} 起):{}\n", v.on, v.in_force),
        None => s += &format!("{} 在用配置:{}\n", v.on, v.in_force),
    }
    let section = |s: &mut String, title: &str, items: &[view::Dated]| {
        if items.is_empty() {
            return;
        }
        *s += &format!("{title}:\n");
        for i in items {
            *s += &format!(
                "  {}  {}{}\n",
                i.date.map(|d| d.to_string()).unwrap_or_default(),
                i.what,
                i.event
                    .map(|e| format!("(第 {e} 号记录)"))
                    .unwrap_or_default()
            );
        }
    };
    if v.quotas.len() > 1 {
        section(&mut s, "配额及其调整", &v.quotas);
    }
    section(&mut s, "已排定(尚未生效)", &v.scheduled);
    section(&mut s, "协议", &v.agreements);
    section(&mut s, "变更", &v.changes);
    section(&mut s, "资源发放", &v.deliveries);
    section(&mut s, "平台录入", &v.entries);
    if let Some(d) = v.terminated {
        s += &format!("终止:{d}\n");
    }
    if !v.submissions.is_empty() {
        s += "提交:\n";
        for sub in &v.submissions {
            let approved = match &sub.approved {
                Some(a) => format!("已批准({} 于 {},第 {} 号记录)", a.by, a.at, a.event),
                None => "未批准".to_string(),
            };
            s += &format!(
                "  {}  {}  {}  {}  {approved}\n",
                sub.id,
                sub.received_at,
                super::intake::status_label(&sub.status),
                sub.file
            );
        }
    }
    s += "历史:\n";
    for e in &v.history {
        s += &format!("  {}\n", event_line(e, ""));
    }
    s
}

/// `agenda`.
pub fn agenda(
    ledger_path: &Path,
    dir: Option<&Path>,
    schemas: &Schemas,
    on: NaiveDate,
    days: u32,
    format: Format,
) -> Result<u8, String> {
    let ledger = open_existing(ledger_path)?;
    let calendar = Calendar::load(dir).map_err(|e| e.to_string())?;
    let rules = Rules {
        policy: &schemas.policy,
        calendar: &calendar,
    };
    let items = match crate::ops::view::lives(&ledger)
        .and_then(|lives| agenda::agenda(&ledger, &lives, &rules, on, i64::from(days)))
    {
        Ok(items) => items,
        Err(e) => return refusal(e),
    };
    match format {
        Format::Json => {
            for i in &items {
                crate::outln!("{}", serde_json::to_string(i).unwrap_or_default());
            }
        }
        Format::Text => {
            if items.is_empty() {
                crate::outln!("{on} 起 {days} 天内没有到期事项。");
            }
            for i in &items {
                crate::outln!("{}", agenda_line(i));
            }
        }
    }
    Ok(EXIT_OK)
}

fn agenda_line(i: &Item) -> String {
    let mark = if i.overdue { "【逾期】" } else { "" };
    let provisional = if i.provisional { "(暂定)" } else { "" };
    format!(
        "{mark}{}{provisional}  {}  {}  {}",
        i.due,
        agenda::kind_label(i.kind),
        if i.project.is_empty() {
            "-"
        } else {
            &i.project
        },
        i.detail
    )
}

/// Runs one recording operation on a project, printing its outcome.
pub fn record_on_project(
    session: &Session,
    query: &str,
    format: Format,
    op: impl FnOnce(&crate::ledger::Project) -> OpResult<Recorded>,
) -> Result<u8, String> {
    present(with_project(session, query, op), format)
}

pub use record::{DELIVERY_KINDS, ENTRY_KINDS};
