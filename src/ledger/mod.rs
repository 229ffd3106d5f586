//! The ledger (SQLite): approved projects and their quotas, the resource
//! configurations in force over time, signed agreements, and the journal
//! of submissions processed from the drop folder.

pub mod events;
pub mod facts;
pub mod migrate;
pub mod records;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Local, NaiveDate};
use rusqlite::{params, Connection, OptionalExtension};

use crate::model::{Application, Config, ProjectKey};
pub use events::{Event, NewEvent, Recording};
pub use records::Records;

pub mod check;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{}", sql_reason(.0))]
    Sql(#[from] rusqlite::Error),
    #[error("账本数据损坏:{0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Refused(String),
}

pub type Result<T> = std::result::Result<T, LedgerError>;

/// A database error in Chinese: the conditions a clerk can act on by
/// name, anything else (a fault of zwyun) with SQLite's own text.
fn sql_reason(e: &rusqlite::Error) -> String {
    use rusqlite::ErrorCode::*;
    let code = match e {
        rusqlite::Error::SqliteFailure(f, _) => f.code,
        other => return format!("账本数据库错误:{other}"),
    };
    match code {
        NotADatabase => "这不是 zwyun 账本文件(SQLite 数据库),或文件已损坏".into(),
        DatabaseCorrupt => "账本文件已损坏".into(),
        CannotOpen => "无法打开账本文件(请检查路径与访问权限)".into(),
        PermissionDenied => "没有访问账本文件的权限".into(),
        ReadOnly => "账本文件只读,无法写入".into(),
        DiskFull => "磁盘已满,账本无法写入".into(),
        DatabaseBusy | DatabaseLocked => "账本正被其他 zwyun 进程占用,请稍后再试".into(),
        SystemIoFailure => "读写账本文件失败".into(),
        _ => format!("账本数据库错误:{e}"),
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS projects (
    id INTEGER PRIMARY KEY,
    code TEXT UNIQUE,
    unit TEXT NOT NULL,
    name TEXT NOT NULL,
    provider TEXT NOT NULL,
    application_json TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    UNIQUE (unit, name)
);
CREATE TABLE IF NOT EXISTS configs (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    effective TEXT,
    source TEXT NOT NULL,
    config_json TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agreements (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    kind TEXT NOT NULL CHECK (kind IN ('test', 'formal')),
    signed TEXT NOT NULL,
    months INTEGER,
    ends TEXT,
    recorded_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    sha256 TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    form TEXT,
    unit TEXT,
    project TEXT,
    status TEXT NOT NULL,
    claimed_by TEXT,
    out_dir TEXT,
    outputs TEXT NOT NULL DEFAULT '[]',
    duplicates INTEGER NOT NULL DEFAULT 0,
    received_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX IF NOT EXISTS submissions_received ON submissions (received_at);
";

/// Indexes for reading one project's rows (a ledger of any version gets
/// them once migrated; they change no data, so older zwyun reads on).
const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS configs_project ON configs (project_id);
CREATE INDEX IF NOT EXISTS agreements_project ON agreements (project_id);
CREATE INDEX IF NOT EXISTS facts_project ON facts (project_id);
CREATE INDEX IF NOT EXISTS submissions_project ON submissions (project);
CREATE INDEX IF NOT EXISTS events_action ON events (action);
";

/// A project as the ledger knows it.
#[derive(Debug, Clone)]
pub struct Project {
    pub id: i64,
    pub code: Option<String>,
    pub unit: String,
    pub name: String,
    pub provider: String,
    pub application: Application,
    /// The date of approval (recorded day for ledgers from before it was kept).
    pub approved_on: Option<NaiveDate>,
    /// The event that recorded the approval.
    pub event_id: Option<i64>,
    /// The event that revoked the approval: the project is 已撤销.
    pub revoked_by: Option<i64>,
    /// The approved quota (the 附件1 as approved, or its latest revision).
    pub quota: Config,
    /// The configuration in force now (after approved changes).
    pub current: Config,
    /// Its agreements in force, in order of signing.
    pub agreements: Vec<Agreement>,
}

impl Project {
    pub fn label(&self) -> String {
        label(self.code.as_deref(), &self.unit, &self.name)
    }
}

/// A project's row, before its application is parsed and its records
/// read: enough to find it by code or name.
#[derive(Debug, Clone)]
pub struct Head {
    pub id: i64,
    pub code: Option<String>,
    pub unit: String,
    pub name: String,
    pub revoked_by: Option<i64>,
    provider: String,
    application_json: String,
    approved_on: Option<NaiveDate>,
    event_id: Option<i64>,
}

impl Head {
    pub fn label(&self) -> String {
        label(self.code.as_deref(), &self.unit, &self.name)
    }

    fn into_project(self, r: &Records) -> Result<Project> {
        Ok(Project {
            application: serde_json::from_str(&self.application_json)?,
            id: self.id,
            code: self.code,
            unit: self.unit,
            name: self.name,
            provider: self.provider,
            approved_on: self.approved_on,
            event_id: self.event_id,
            revoked_by: self.revoked_by,
            // The latest quota: the 120% of a change is measured on it.
            quota: r
                .quotas
                .last()
                .map(|v| v.config.clone())
                .unwrap_or_default(),
            current: r
                .configs
                .last()
                .map(|v| v.config.clone())
                .unwrap_or_default(),
            agreements: r.agreements.clone(),
        })
    }
}

/// A project's name in lists: its 项目编号, else 申请单位-项目名称.
fn label(code: Option<&str>, unit: &str, name: &str) -> String {
    code.map_or_else(|| format!("{unit}-{name}"), str::to_string)
}

/// A configuration and the date from which it is in force (None: from the
/// start of the formal agreement).
#[derive(Debug, Clone)]
pub struct ConfigVersion {
    pub effective: Option<NaiveDate>,
    pub source: String,
    pub config: Config,
    pub recorded_at: String,
    pub event_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgreementKind {
    Test,
    Formal,
}

impl AgreementKind {
    fn as_str(self) -> &'static str {
        match self {
            AgreementKind::Test => "test",
            AgreementKind::Formal => "formal",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Agreement {
    pub event_id: Option<i64>,
    pub kind: AgreementKind,
    pub signed: NaiveDate,
    pub months: Option<u32>,
    /// Last day of a test period.
    pub ends: Option<NaiveDate>,
}

/// All projects, read once, for validating many files without a
/// connection per file.
#[derive(Debug, Default, Clone)]
pub struct Projects {
    by_code: HashMap<String, usize>,
    by_name: HashMap<(String, String), usize>,
    list: Vec<Project>,
    /// Projects whose approval was revoked (已撤销): kept for the register.
    revoked: Vec<Project>,
    /// What is recorded of each, by project id.
    records: HashMap<i64, Records>,
}

impl Projects {
    /// The project of a form: by 项目编号 when the form has one; else, or
    /// when no project has it, by 申请单位 + 项目名称 — but never a
    /// project that has another 编号 (same name, two codes: two projects).
    /// Revoked approvals are not found.
    pub fn find(&self, key: &ProjectKey) -> Option<&Project> {
        let by_code = key.code.as_ref().and_then(|c| self.by_code.get(c));
        by_code
            .or_else(|| {
                self.by_name
                    .get(&(key.unit.clone(), key.name.clone()))
                    .filter(|&&i| key.code.is_none() || self.list[i].code.is_none())
            })
            .map(|&i| &self.list[i])
    }

    /// The projects whose approval stands.
    pub fn all(&self) -> &[Project] {
        &self.list
    }

    /// The projects whose approval was revoked.
    pub fn revoked(&self) -> &[Project] {
        &self.revoked
    }

    /// Every project (standing, then revoked) with what is recorded of it.
    pub fn into_records(mut self) -> impl Iterator<Item = (Project, Records)> {
        self.list.into_iter().chain(self.revoked).map(move |p| {
            let r = self.records.remove(&p.id).unwrap_or_default();
            (p, r)
        })
    }
}

/// A value read from the ledger, kept while the ledger does not change
/// (for a long-running process: the desk, the watch loop). Every change
/// of the ledger appends an event in the same transaction, and the log is
/// append-only, so the last event — its number and time — names the
/// state the value was read in; a ledger replaced by another (a backup
/// put back) has another last event.
pub struct Kept<T>(Mutex<Option<(Stamp, Arc<T>)>>);

/// The number and time of the ledger's last event (None: no event yet).
pub type Stamp = Option<(i64, String)>;

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Kept(Mutex::new(None))
    }
}

impl<T> Kept<T> {
    /// The value as the ledger holds it now: kept, or read by `read`.
    pub fn get<E: From<LedgerError>>(
        &self,
        ledger: &Ledger,
        read: impl FnOnce(&Ledger) -> std::result::Result<T, E>,
    ) -> std::result::Result<Arc<T>, E> {
        let stamp = ledger.last_event()?;
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, value)) = kept.as_ref() {
            if *at == stamp {
                return Ok(value.clone());
            }
        }
        // Read after the stamp, so at least as new as it: a change made
        // in between only makes the next call read again.
        let value = Arc::new(read(ledger)?);
        *kept = Some((stamp, value.clone()));
        Ok(value)
    }
}

pub struct Ledger {
    conn: Connection,
    recording: Recording,
    /// The schema version the ledger had when it was migrated on opening.
    pub migrated_from: Option<i64>,
}

pub fn now() -> String {
    Local::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

impl Ledger {
    pub fn open(path: &Path) -> Result<Ledger> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        // Switching to WAL takes an exclusive lock without waiting on the
        // busy handler: two processes creating the ledger at once retry.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let init = conn
                .pragma_update(None, "journal_mode", "WAL")
                .and_then(|()| conn.pragma_update(None, "synchronous", "FULL"))
                .and_then(|()| conn.execute_batch(SCHEMA));
            match init {
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
                other => {
                    other?;
                    add_column(&conn, "submissions", "ledger_state", "TEXT")?;
                    let migrated_from = migrate::migrate(&conn)?;
                    conn.execute_batch(INDEXES)?;
                    return Ok(Ledger {
                        conn,
                        recording: Recording::new(None, "zwyun"),
                        migrated_from,
                    });
                }
            }
        }
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Who records what follows, with which command, from which file.
    pub fn set_recording(&mut self, recording: Recording) {
        self.recording = recording;
    }

    pub fn recording(&self) -> &Recording {
        &self.recording
    }

    /// Appends an event under this ledger's recording context.
    pub fn log(&self, e: &NewEvent) -> Result<i64> {
        events::append(&self.conn, &self.recording, e)
    }

    pub fn events(&self, project: Option<i64>) -> Result<Vec<Event>> {
        events::list(&self.conn, project)
    }

    /// The number and time of the last event: what changes with every
    /// change of the ledger.
    pub fn last_event(&self) -> Result<Stamp> {
        Ok(self
            .conn
            .prepare_cached("SELECT id, at FROM events ORDER BY id DESC LIMIT 1")?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    /// The events of these actions (e.g. every `settled`), oldest first.
    pub fn events_of(&self, actions: &[&str]) -> Result<Vec<Event>> {
        events::of_actions(&self.conn, actions)
    }

    pub fn projects(&self) -> Result<Projects> {
        let mut records = self.records(None)?;
        let mut projects = Projects::default();
        for head in self.heads()? {
            let r = records.remove(&head.id).unwrap_or_default();
            let project = head.into_project(&r)?;
            projects.records.insert(project.id, r);
            if project.revoked_by.is_some() {
                projects.revoked.push(project);
                continue;
            }
            let i = projects.list.len();
            if let Some(c) = &project.code {
                projects.by_code.insert(c.clone(), i);
            }
            projects
                .by_name
                .insert((project.unit.clone(), project.name.clone()), i);
            projects.list.push(project);
        }
        Ok(projects)
    }

    /// The rows of the projects, without their records.
    pub fn heads(&self) -> Result<Vec<Head>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, code, unit, name, provider, application_json, approved_on, event_id, revoked_by
             FROM projects ORDER BY id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Head {
                id: r.get(0)?,
                code: r.get(1)?,
                unit: r.get(2)?,
                name: r.get(3)?,
                provider: r.get(4)?,
                application_json: r.get(5)?,
                approved_on: r.get(6)?,
                event_id: r.get(7)?,
                revoked_by: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One project whole, from its row.
    pub fn project(&self, head: Head) -> Result<Project> {
        let records = self.records_of(head.id)?;
        head.into_project(&records)
    }

    pub fn find(&self, key: &ProjectKey) -> Result<Option<Project>> {
        Ok(self.projects()?.find(key).cloned())
    }

    /// Finds a project by 项目编号 (or "申请单位-项目名称" as printed by `status`).
    pub fn find_by_code(&self, code: &str) -> Result<Project> {
        let projects = self.projects()?;
        projects
            .all()
            .iter()
            .find(|p| p.code.as_deref() == Some(code) || p.label() == code)
            .cloned()
            .ok_or_else(|| {
                LedgerError::Refused(format!(
                    "账本中没有项目“{code}”;请先用 zwyun approve 登记其申请表"
                ))
            })
    }

    /// Records a valid 附件1 as its project's approved quota, approved today.
    pub fn approve_application(&self, app: &Application, replace: bool) -> Result<i64> {
        self.approve_application_on(app, replace, Local::now().date_naive())
    }

    /// Records a valid 附件1 as its project's approved quota, approved on
    /// `date`. Replacing revokes the earlier approval (nothing is deleted).
    pub fn approve_application_on(
        &self,
        app: &Application,
        replace: bool,
        date: NaiveDate,
    ) -> Result<i64> {
        let key = app.header.project_key();
        // Replacing is one transaction: a failure keeps the old quota.
        let tx = self.conn.unchecked_transaction()?;
        if let Some(existing) = self.find(&key)? {
            if !replace {
                return Err(LedgerError::Refused(format!(
                    "项目“{}”已有批准的配额;如需以本申请表替换,请加 --replace",
                    existing.label()
                )));
            }
            if !self.agreements(existing.id)?.is_empty() {
                return Err(LedgerError::Refused(format!(
                    "项目“{}”已签订协议,配额不能替换;新的附件1 按配额调整登记(zwyun approve 该表,--effective 指定生效日期)",
                    existing.label()
                )));
            }
            let revoke = self.log(&NewEvent {
                action: "revoke",
                project_id: Some(existing.id),
                target: existing.event_id,
                reason: Some("以新的附件1 替换配额(--replace)"),
                ..Default::default()
            })?;
            tx.execute(
                "UPDATE projects SET revoked_by = ?1 WHERE id = ?2",
                params![revoke, existing.id],
            )?;
            tx.execute(
                "UPDATE configs SET revoked_by = ?1 WHERE project_id = ?2 AND revoked_by IS NULL",
                params![revoke, existing.id],
            )?;
        }
        tx.execute(
            "INSERT INTO projects (code, unit, name, provider, application_json, approved_at, approved_on)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                key.code,
                key.unit,
                key.name,
                app.header.provider,
                serde_json::to_string(app)?,
                now(),
                date
            ],
        )?;
        let id = tx.last_insert_rowid();
        let event = self.log(&NewEvent {
            action: "approve_quota",
            project_id: Some(id),
            date: Some(date),
            detail: key.label(),
            ..Default::default()
        })?;
        tx.execute(
            "UPDATE projects SET event_id = ?1 WHERE id = ?2",
            params![event, id],
        )?;
        insert_config(&tx, id, None, "annex1", &app.config, event)?;
        tx.commit()?;
        Ok(id)
    }

    /// Records an approved change: `config` is in force from `effective`.
    pub fn approve_change(
        &self,
        project_id: i64,
        effective: NaiveDate,
        source: &str,
        config: &Config,
    ) -> Result<()> {
        let tx = self.conn.unchecked_transaction()?;
        let event = self.log(&NewEvent {
            action: "approve_change",
            project_id: Some(project_id),
            date: Some(effective),
            detail: source.to_string(),
            ..Default::default()
        })?;
        insert_config(&tx, project_id, Some(effective), source, config, event)?;
        tx.commit()?;
        Ok(())
    }

    /// The configurations of a project, oldest first: the first
    /// configuration (no effective date: from the formal agreement; the
    /// last such row when the quota was revised before it), then the
    /// approved changes by their effective dates.
    pub fn configs(&self, project_id: i64) -> Result<Vec<ConfigVersion>> {
        Ok(self.records_of(project_id)?.configs)
    }

    /// The quotas of a project, oldest first: the approved 附件1 (no
    /// date: from its approval), then each revision from its date.
    pub fn quotas(&self, project_id: i64) -> Result<Vec<ConfigVersion>> {
        Ok(self.records_of(project_id)?.quotas)
    }

    /// Records a 附件1 for a project that has an agreement as its quota
    /// from `date` (配额调整, 细则 五(三)、五(四)); before the formal
    /// agreement it is also the configuration the formal agreement starts
    /// with. The earlier quota stays in history.
    pub fn revise_quota(
        &self,
        project_id: i64,
        date: NaiveDate,
        source: &str,
        config: &Config,
        before_formal: bool,
    ) -> Result<i64> {
        let tx = self.conn.unchecked_transaction()?;
        let event = self.log(&NewEvent {
            action: "revise_quota",
            project_id: Some(project_id),
            date: Some(date),
            detail: source.to_string(),
            ..Default::default()
        })?;
        insert_config(&tx, project_id, Some(date), source, config, event)?;
        let role = if before_formal {
            "quota_config"
        } else {
            "quota"
        };
        tx.execute(
            "UPDATE configs SET role = ?1 WHERE event_id = ?2",
            params![role, event],
        )?;
        tx.commit()?;
        Ok(event)
    }

    pub fn record_agreement(&self, project_id: i64, a: &Agreement) -> Result<i64> {
        let tx = self.conn.unchecked_transaction()?;
        let (action, detail) = match a.kind {
            AgreementKind::Test => (
                "test_signed",
                a.months.map(|m| format!("{m} 个月")).unwrap_or_default(),
            ),
            AgreementKind::Formal => ("formal_signed", String::new()),
        };
        let event = self.log(&NewEvent {
            action,
            project_id: Some(project_id),
            date: Some(a.signed),
            detail,
            ..Default::default()
        })?;
        tx.execute(
            "INSERT INTO agreements (project_id, kind, signed, months, ends, recorded_at, event_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                project_id,
                a.kind.as_str(),
                a.signed,
                a.months,
                a.ends,
                now(),
                event
            ],
        )?;
        tx.commit()?;
        Ok(event)
    }

    /// Agreements of a project, in order of signing.
    pub fn agreements(&self, project_id: i64) -> Result<Vec<Agreement>> {
        Ok(self.records_of(project_id)?.agreements)
    }

    pub fn agreement(&self, project_id: i64, kind: AgreementKind) -> Result<Option<Agreement>> {
        Ok(self
            .agreements(project_id)?
            .into_iter()
            .rev()
            .find(|a| a.kind == kind))
    }
}

/// Adds a column that ledgers made by earlier versions lack. The check and
/// the change are one write transaction: two processes opening an old
/// ledger at once must not both add it.
pub(crate) fn add_column(conn: &Connection, table: &str, column: &str, ty: &str) -> Result<()> {
    let has = |conn: &Connection| -> Result<bool> {
        let sql = format!("SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1");
        Ok(conn.prepare(&sql)?.exists([column])?)
    };
    if has(conn)? {
        return Ok(());
    }
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    if !has(&tx)? {
        tx.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {ty}"))?;
    }
    tx.commit()?;
    Ok(())
}

fn insert_config(
    conn: &Connection,
    project_id: i64,
    effective: Option<NaiveDate>,
    source: &str,
    config: &Config,
    event: i64,
) -> Result<()> {
    conn.execute(
        "INSERT INTO configs (project_id, effective, source, config_json, recorded_at, event_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            project_id,
            effective,
            source,
            serde_json::to_string(config)?,
            now(),
            event
        ],
    )?;
    Ok(())
}
