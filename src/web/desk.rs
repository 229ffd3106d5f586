//! The clerk's pages over the projects' lives: 待办 (the agenda), 项目 (the
//! register), one project whole with its documents, and the forms that
//! record facts on it. Each handler calls the function the CLI calls
//! (`crate::ops`, `command::render::document`) and presents what it
//! returns; the JSON twins return what `--format json` prints.

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::pages::{api_clerk, attachment, blocking, clerk, content_type, with_ledger, Page};
use super::store::{self, User};
use super::{App, Shared};
use crate::command::render::Doc;
use crate::ledger::{Event, Ledger, Project, Recording};
use crate::ops::agenda::{self, Item, Rules};
use crate::ops::record::{self, Desk, DELIVERY_KINDS, ENTRY_KINDS};
use crate::ops::view::{self, kind_name, Life, ProjectView, RegisterRow};
use crate::ops::{OpError, OpResult, Recorded, State as Phase, STATES};

/// Days ahead the agenda lists by default (as `zwyun agenda`).
const AGENDA_DAYS: u32 = 14;
/// Rows on one page of the agenda and the register.
const PAGE_ROWS: usize = 200;

/// The page of a project: its register label, percent-encoded.
pub fn project_href(label: &str) -> String {
    format!("/projects/{}", super::pages::urlencode(label))
}

/// The query of the views, as typed: `on` (default today), `days`, `q`
/// (search) and `state`, the options of `zwyun agenda` / `projects`.
#[derive(Deserialize, Serialize, Default, Clone)]
pub struct ViewQuery {
    #[serde(default)]
    on: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    months: String,
    /// Agenda: one kind of item only.
    #[serde(default)]
    kind: String,
    /// Which page of a long list (from 1).
    #[serde(default)]
    page: String,
    /// Documents: `pdf` for a PDF made by LibreOffice.
    #[serde(default)]
    format: String,
}

/// The query checked: what the CLI's options would hold.
struct Asked {
    on: NaiveDate,
    days: u32,
    search: Option<String>,
    state: Option<Phase>,
}

impl ViewQuery {
    /// The link to `path` with this query (empty fields left out).
    fn href(&self, path: &str) -> String {
        let pairs: Vec<(&str, &str)> = [
            ("on", &self.on),
            ("days", &self.days),
            ("q", &self.q),
            ("state", &self.state),
            ("kind", &self.kind),
            ("page", &self.page),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k, v.as_str()))
        .collect();
        match serde_urlencoded::to_string(pairs) {
            Ok(query) if !query.is_empty() => format!("{path}?{query}"),
            _ => path.to_string(),
        }
    }

    fn asked(&self) -> Result<Asked, String> {
        let on = match self.on.trim() {
            "" => crate::command::today(),
            t => date(t)?,
        };
        let days = match self.days.trim() {
            "" => AGENDA_DAYS,
            t => t
                .parse()
                .map_err(|_| format!("天数“{t}”应为不小于 0 的整数"))?,
        };
        let state = match self.state.trim() {
            "" => None,
            t => Some(Phase::parse(t).ok_or_else(|| format!("没有“{t}”这个项目状态"))?),
        };
        let search = Some(self.q.trim().to_string()).filter(|s| !s.is_empty());
        Ok(Asked {
            on,
            days,
            search,
            state,
        })
    }
}

/// Where a page of a long list stands, with links to its neighbours
/// (the same query, another page).
#[derive(Serialize)]
struct Pager {
    total: usize,
    first: usize,
    last: usize,
    page: usize,
    pages: usize,
    prev: Option<String>,
    next: Option<String>,
}

impl Pager {
    /// The page the query asks for (the last one when beyond it), and
    /// the rows it shows.
    fn of(total: usize, q: &ViewQuery, path: &str) -> (Pager, std::ops::Range<usize>) {
        let pages = total.div_ceil(PAGE_ROWS).max(1);
        let page = q.page.trim().parse::<usize>().unwrap_or(1).clamp(1, pages);
        let rows = (page - 1) * PAGE_ROWS..(page * PAGE_ROWS).min(total);
        let link = |page: usize| {
            ViewQuery {
                page: page.to_string(),
                ..q.clone()
            }
            .href(path)
        };
        let pager = Pager {
            total,
            first: rows.start + 1,
            last: rows.end,
            page,
            pages,
            prev: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        };
        (pager, rows)
    }
}

fn date(text: &str) -> Result<NaiveDate, String> {
    crate::command::parse_date(text).map_err(|e| format!("日期“{}”无法识别:{e}", text.trim()))
}

fn rules(app: &App) -> Rules<'_> {
    Rules {
        policy: &app.schemas.policy,
        calendar: &app.setup.calendar,
    }
}

fn agenda_of(app: &App, a: &Asked) -> Result<OpResult<Vec<Item>>, String> {
    let ledger = app.open_ledger()?;
    Ok(app
        .lives
        .get(&ledger, view::lives)
        .and_then(|lives| agenda::agenda(&ledger, &lives, &rules(app), a.on, i64::from(a.days))))
}

fn register_of(app: &App, a: &Asked) -> Result<OpResult<Vec<RegisterRow>>, String> {
    let ledger = app.open_ledger()?;
    Ok(app
        .lives
        .get(&ledger, view::lives)
        .map(|lives| crate::ops::register(&lives, &rules(app), a.on, a.search.as_deref(), a.state)))
}

/// One project whole on `on`, revoked ones too (as `zwyun project`).
fn project_of(ledger: &Ledger, key: &str, on: NaiveDate) -> OpResult<(ProjectView, Life)> {
    let project = crate::ops::find_any_project(ledger, key)?;
    let life = Life::load(ledger, &project)?;
    Ok((view::project_view(ledger, &life, on)?, life))
}

/// A refusal or error of an operation as a page.
fn op_error_page(app: &App, user: &User, e: OpError, back: &str) -> Response {
    let (status, title, text) = match e {
        OpError::Refused {
            reason,
            conflicts,
            overridable,
        } => {
            let mut text = format!("未登记:{reason}");
            match (conflicts, overridable) {
                (Some(d), true) => text.push_str(&format!(
                    "\n冲突日期:{d}。如确属例外,可在表单的“例外登记原因”中写明原因后重新提交,审计记录会保留原因。"
                )),
                (Some(d), false) => text.push_str(&format!("\n冲突日期:{d}。")),
                _ => {}
            }
            (StatusCode::CONFLICT, "未登记", text)
        }
        OpError::Invalid(e) => (StatusCode::BAD_REQUEST, "无法办理", e),
        OpError::Failed(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "出错了",
            format!("操作未能完成:{e}"),
        ),
    };
    app.views
        .message_for(status, title, &text, Some(user), Some(back))
}

fn bad_request(app: &App, user: &User, text: &str, back: &str) -> Response {
    app.views.message_for(
        StatusCode::BAD_REQUEST,
        "填写有误",
        text,
        Some(user),
        Some(back),
    )
}

/// An agenda item as the page shows it.
#[derive(Serialize)]
struct ItemView {
    kind: &'static str,
    project: String,
    href: Option<String>,
    due: String,
    overdue: bool,
    provisional: bool,
    detail: String,
}

impl ItemView {
    fn of(i: &Item) -> ItemView {
        ItemView {
            kind: agenda::kind_label(i.kind),
            project: i.project.clone(),
            // A pending approval's project is not in the register yet:
            // its link is the submission, where it is approved.
            href: match &i.submission {
                Some(sha) => Some(format!("/submissions/{sha}")),
                None => (!i.project.is_empty()).then(|| project_href(&i.project)),
            },
            due: i.due.to_string(),
            overdue: i.overdue,
            provisional: i.provisional,
            detail: i.detail.clone(),
        }
    }
}

/// How many items of one kind the agenda holds, and the link to them.
#[derive(Serialize)]
struct KindCount {
    label: &'static str,
    count: usize,
    overdue: usize,
    href: String,
    chosen: bool,
}

impl KindCount {
    fn of(items: &[Item], q: &ViewQuery) -> Vec<KindCount> {
        let mut kinds: Vec<KindCount> = Vec::new();
        for i in items {
            let label = agenda::kind_label(i.kind);
            let k = match kinds.iter().position(|k| k.label == label) {
                Some(at) => &mut kinds[at],
                None => {
                    let href = ViewQuery {
                        kind: i.kind.to_string(),
                        page: String::new(),
                        ..q.clone()
                    }
                    .href("/agenda");
                    kinds.push(KindCount {
                        label,
                        count: 0,
                        overdue: 0,
                        href,
                        chosen: q.kind == i.kind,
                    });
                    kinds.last_mut().expect("just pushed")
                }
            };
            k.count += 1;
            k.overdue += usize::from(i.overdue);
        }
        kinds
    }
}

/// Handles the GET /agenda route: 待办, overdue first.
pub async fn agenda_page(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<ViewQuery>,
) -> Page {
    let user = clerk(&app, &headers, false).await?;
    blocking(&app, move |app| {
        let asked = match q.asked() {
            Ok(a) => a,
            Err(e) => return Ok(bad_request(app, &user, &e, "/agenda")),
        };
        let items = match agenda_of(app, &asked)? {
            Ok(items) => items,
            Err(e) => return Ok(op_error_page(app, &user, e, "/agenda")),
        };
        let kinds = KindCount::of(&items, &q);
        let shown: Vec<&Item> = items
            .iter()
            .filter(|i| q.kind.is_empty() || i.kind == q.kind)
            .collect();
        let (pager, rows) = Pager::of(shown.len(), &q, "/agenda");
        let mut ctx = app.views.context("待办", Some(&user));
        ctx.insert("nav", "agenda");
        ctx.insert("on", &asked.on.to_string());
        ctx.insert("days", &asked.days);
        ctx.insert("total", &items.len());
        ctx.insert("overdue", &items.iter().filter(|i| i.overdue).count());
        ctx.insert("kinds", &kinds);
        let chosen = (!q.kind.is_empty()).then(|| agenda::kind_label(&q.kind));
        ctx.insert("kind", &chosen.unwrap_or(""));
        ctx.insert("q_kind", &q.kind);
        let all = ViewQuery {
            kind: String::new(),
            page: String::new(),
            ..q.clone()
        };
        ctx.insert("all_href", &all.href("/agenda"));
        ctx.insert("pager", &pager);
        let views: Vec<ItemView> = shown[rows].iter().map(|i| ItemView::of(i)).collect();
        ctx.insert("items", &views);
        Ok(app.views.render(StatusCode::OK, "agenda.html", &ctx))
    })
    .await
}

/// A register row as the page shows it.
#[derive(Serialize)]
struct RowView<'a> {
    #[serde(flatten)]
    row: &'a RegisterRow,
    href: String,
    next_kind_label: &'static str,
}

/// Handles the GET /projects route: the register, with search and state.
pub async fn projects_page(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<ViewQuery>,
) -> Page {
    let user = clerk(&app, &headers, false).await?;
    blocking(&app, move |app| {
        let asked = match q.asked() {
            Ok(a) => a,
            Err(e) => return Ok(bad_request(app, &user, &e, "/projects")),
        };
        let rows = match register_of(app, &asked)? {
            Ok(rows) => rows,
            Err(e) => return Ok(op_error_page(app, &user, e, "/projects")),
        };
        let (pager, shown) = Pager::of(rows.len(), &q, "/projects");
        let views: Vec<RowView> = rows[shown]
            .iter()
            .map(|r| RowView {
                row: r,
                href: project_href(&r.project),
                next_kind_label: r.next_kind.as_deref().map(agenda::kind_label).unwrap_or(""),
            })
            .collect();
        let mut ctx = app.views.context("项目", Some(&user));
        ctx.insert("nav", "projects");
        ctx.insert("rows", &views);
        ctx.insert("pager", &pager);
        ctx.insert("q", &q);
        ctx.insert("on", &asked.on.to_string());
        let states: Vec<_> = STATES
            .iter()
            .map(|s| json!({"key": s.label(), "label": s.label()}))
            .collect();
        ctx.insert("states", &states);
        ctx.insert("state", &asked.state.map(|s| s.label()).unwrap_or(""));
        Ok(app.views.render(StatusCode::OK, "projects.html", &ctx))
    })
    .await
}

/// An audit event as the project page shows it.
#[derive(Serialize)]
struct EventView<'a> {
    #[serde(flatten)]
    event: &'a Event,
    action_name: &'static str,
}

#[derive(Serialize)]
struct Choice {
    key: &'static str,
    label: String,
}

fn choices(kinds: &[&'static str], suffix: &str) -> Vec<Choice> {
    kinds
        .iter()
        .map(|k| Choice {
            key: k,
            label: format!("{}{suffix}", kind_name(k)),
        })
        .collect()
}

/// Handles the GET /projects/{key} route: one project whole, its
/// documents and the forms that record facts on it.
pub async fn project_page(
    State(app): State<Shared>,
    headers: HeaderMap,
    UrlPath(key): UrlPath<String>,
    Query(q): Query<ViewQuery>,
) -> Page {
    let user = clerk(&app, &headers, false).await?;
    blocking(&app, move |app| {
        let asked = match q.asked() {
            Ok(a) => a,
            Err(e) => return Ok(bad_request(app, &user, &e, "/projects")),
        };
        let ledger = app.open_ledger()?;
        let (v, life) = match project_of(&ledger, &key, asked.on) {
            Ok(found) => found,
            Err(OpError::Invalid(e)) => {
                return Ok(app.views.message_for(
                    StatusCode::NOT_FOUND,
                    "找不到项目",
                    &e,
                    Some(&user),
                    Some("/projects"),
                ))
            }
            Err(e) => return Ok(op_error_page(app, &user, e, "/projects")),
        };
        let mut ctx = app.views.context(&v.project, Some(&user));
        ctx.insert("nav", "projects");
        ctx.insert("href", &project_href(&v.project));
        ctx.insert("today", &crate::command::today().to_string());
        ctx.insert("once", &store::random_token());
        ctx.insert("pdf", &crate::render::pdf::soffice().is_some());
        ctx.insert("revoked", &(v.state == Phase::Revoked));
        let history: Vec<EventView> = v
            .history
            .iter()
            .map(|e| EventView {
                event: e,
                action_name: e.action_name(),
            })
            .collect();
        ctx.insert("history", &history);
        let submissions: Vec<_> = v
            .submissions
            .iter()
            .map(|s| {
                json!({
                    "sub": s,
                    "status_label": crate::command::intake::status_label(&s.status),
                })
            })
            .collect();
        ctx.insert("submissions", &submissions);
        ctx.insert("delivery_kinds", &choices(&DELIVERY_KINDS, "资源"));
        ctx.insert("entry_kinds", &choices(&ENTRY_KINDS, ""));
        let range = &app.schemas.policy.test_months;
        ctx.insert("months", &(range.min..=range.max).collect::<Vec<_>>());
        let months = life.test().and_then(|t| t.months).unwrap_or(range.default);
        ctx.insert("test_months", &months);
        let mut sections = Vec::new();
        if !v.scheduled.is_empty() {
            sections.push(
                json!({"title": "已排定(尚未生效)", "id": "scheduled", "items": v.scheduled}),
            );
        }
        for (title, id, items) in [
            ("协议", "agreements", &v.agreements),
            ("变更", "changes", &v.changes),
            ("资源发放", "deliveries", &v.deliveries),
            ("录入市级政务云管理平台", "entries", &v.entries),
        ] {
            sections.push(json!({"title": title, "id": id, "items": items}));
        }
        ctx.insert("sections", &sections);
        ctx.insert("v", &v);
        Ok(app.views.render(StatusCode::OK, "project.html", &ctx))
    })
    .await
}

/// What a form of the project page asks for; which fields count depends
/// on the action (as the options of `zwyun ledger ACTION`).
#[derive(Deserialize, Default)]
pub struct RecordForm {
    #[serde(default)]
    date: String,
    #[serde(default)]
    months: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    event: String,
    #[serde(default, rename = "override")]
    override_reason: String,
    /// The token of the page the form was on (see `claim_form`).
    #[serde(default)]
    once: String,
}

impl RecordForm {
    /// What makes a sending of this form the same as another: the page it
    /// came from, the project, the action and every field.
    fn sent_key(&self, project: &str, action: &str) -> Option<String> {
        let once = self.once.trim();
        (!once.is_empty()).then(|| {
            let fields = [
                once,
                project,
                action,
                &self.date,
                &self.months,
                &self.kind,
                &self.reason,
                &self.code,
                &self.event,
                &self.override_reason,
            ];
            crate::intake::journal::sha256_hex(fields.join("\n").as_bytes())
        })
    }
}

/// A form's request, checked: one `zwyun ledger` command.
enum Action {
    TestSigned {
        date: NaiveDate,
        months: u32,
    },
    FormalSigned {
        date: NaiveDate,
    },
    Delivered {
        kind: &'static str,
        date: NaiveDate,
    },
    Entered {
        kind: &'static str,
        date: NaiveDate,
    },
    Terminate {
        date: NaiveDate,
        reason: String,
    },
    SetCode {
        code: String,
    },
    Revoke {
        event: i64,
        reason: String,
    },
    Correct {
        event: i64,
        date: NaiveDate,
        reason: String,
    },
}

fn kind_of(kinds: &[&'static str], text: &str) -> Result<&'static str, String> {
    kinds
        .iter()
        .find(|k| **k == text.trim())
        .copied()
        .ok_or_else(|| format!("请选择类别(“{}”无法识别)", text.trim()))
}

fn reason_of(text: &str) -> Result<String, String> {
    match text.trim() {
        "" => Err("请填写原因(写入审计记录)".to_string()),
        t => Ok(t.to_string()),
    }
}

fn event_of(text: &str) -> Result<i64, String> {
    text.trim()
        .trim_start_matches('#')
        .parse()
        .map_err(|_| format!("请选择记录(“{}”不是记录号)", text.trim()))
}

impl Action {
    fn parse(action: &str, f: &RecordForm) -> Result<Option<Action>, String> {
        let day = || date(&f.date);
        Ok(Some(match action {
            "test-signed" => Action::TestSigned {
                date: day()?,
                months: f
                    .months
                    .trim()
                    .parse()
                    .map_err(|_| format!("测试期限“{}”应为月数", f.months.trim()))?,
            },
            "formal-signed" => Action::FormalSigned { date: day()? },
            "delivered" => Action::Delivered {
                kind: kind_of(&DELIVERY_KINDS, &f.kind)?,
                date: day()?,
            },
            "entered" => Action::Entered {
                kind: kind_of(&ENTRY_KINDS, &f.kind)?,
                date: day()?,
            },
            "terminate" => Action::Terminate {
                date: day()?,
                reason: reason_of(&f.reason)?,
            },
            "set-code" => Action::SetCode {
                code: f.code.trim().to_string(),
            },
            "revoke" => Action::Revoke {
                event: event_of(&f.event)?,
                reason: reason_of(&f.reason)?,
            },
            "correct" => Action::Correct {
                event: event_of(&f.event)?,
                date: day()?,
                reason: reason_of(&f.reason)?,
            },
            _ => return Ok(None),
        }))
    }

    /// The command the audit log names (`web ` + the CLI's command).
    fn command(&self) -> &'static str {
        match self {
            Action::TestSigned { .. } => "web ledger test-signed",
            Action::FormalSigned { .. } => "web ledger formal-signed",
            Action::Delivered { .. } => "web ledger delivered",
            Action::Entered { .. } => "web ledger entered",
            Action::Terminate { .. } => "web ledger terminate",
            Action::SetCode { .. } => "web ledger set-code",
            Action::Revoke { .. } => "web ledger revoke",
            Action::Correct { .. } => "web ledger correct",
        }
    }
}

/// Runs `action` on the project `key` as `zwyun ledger` would, recorded
/// under the clerk's name.
fn record(
    app: &App,
    user: &User,
    key: &str,
    action: Action,
    override_reason: &str,
) -> Result<OpResult<Recorded>, String> {
    let mut ledger = app.open_ledger()?;
    let mut rec = Recording::new(Some(user.name.clone()), action.command());
    rec.override_reason = Some(override_reason.trim().to_string()).filter(|r| !r.is_empty());
    ledger.set_recording(rec);
    let desk = Desk {
        ledger: &ledger,
        policy: &app.schemas.policy,
        calendar: &app.setup.calendar,
        today: crate::command::today(),
    };
    let on_project = |op: &dyn Fn(&Project) -> OpResult<Recorded>| {
        crate::ops::find_project(&ledger, key).and_then(|p| op(&p))
    };
    Ok(match action {
        Action::TestSigned { date, months } => {
            on_project(&|p| record::test_signed(&desk, p, date, months))
        }
        Action::FormalSigned { date } => on_project(&|p| record::formal_signed(&desk, p, date)),
        Action::Delivered { kind, date } => {
            on_project(&|p| record::delivered(&desk, p, kind, date))
        }
        Action::Entered { kind, date } => on_project(&|p| record::entered(&desk, p, kind, date)),
        Action::Terminate { date, reason } => {
            on_project(&|p| record::terminate(&desk, p, date, &reason))
        }
        Action::SetCode { code } => on_project(&|p| record::set_code(&desk, p, &code)),
        Action::Revoke { event, reason } => record::revoke(&desk, event, &reason),
        Action::Correct {
            event,
            date,
            reason,
        } => record::correct(&desk, event, date, &reason),
    })
}

/// Handles the POST /projects/{key}/{action} routes: the forms of the
/// project page, each the `zwyun ledger ACTION` of the same name.
pub async fn record_fact(
    State(app): State<Shared>,
    headers: HeaderMap,
    UrlPath((key, action)): UrlPath<(String, String)>,
    Form(f): Form<RecordForm>,
) -> Page {
    let user = clerk(&app, &headers, true).await?;
    blocking(&app, move |app| {
        let back = project_href(&key);
        let parsed = match Action::parse(&action, &f) {
            Ok(Some(a)) => a,
            Ok(None) => {
                return Ok(app.views.message_for(
                    StatusCode::NOT_FOUND,
                    "找不到页面",
                    "没有这个登记操作。",
                    Some(&user),
                    Some(&back),
                ))
            }
            Err(e) => return Ok(bad_request(app, &user, &e, &back)),
        };
        // A double click or a browser retry sends the same form again:
        // the first is recorded, the repeat is said.
        let sent = f.sent_key(&key, &action);
        if let Some(sent) = &sent {
            if !with_ledger(app, |c| store::claim_form(c, sent, &user.name))? {
                return Ok(app.views.message_for(
                    StatusCode::CONFLICT,
                    "已提交过",
                    "这份表单刚才已经提交过(同一页面、同样内容的表单只登记一次),这次没有重复登记。请回到项目页查看登记结果。",
                    Some(&user),
                    Some(&back),
                ));
            }
        }
        tracing::info!("{} {} {key}", user.name, parsed.command());
        let result = record(app, &user, &key, parsed, &f.override_reason);
        if let (Some(sent), Err(_) | Ok(Err(_))) = (&sent, &result) {
            with_ledger(app, |c| store::release_form(c, sent))?;
        }
        Ok(match result? {
            Ok(r) => recorded_page(app, &user, &r),
            Err(e) => op_error_page(app, &user, e, &back),
        })
    })
    .await
}

fn recorded_page(app: &App, user: &User, r: &Recorded) -> Response {
    let mut ctx = app.views.context("已登记", Some(user));
    ctx.insert("nav", "projects");
    ctx.insert("r", r);
    ctx.insert(
        "transition",
        &r.transition
            .as_ref()
            .map(|t| t.sentence())
            .unwrap_or_default(),
    );
    ctx.insert("back", &project_href(&r.project));
    app.views.render(StatusCode::OK, "recorded.html", &ctx)
}

/// Handles the GET /projects/{key}/documents/{doc} route: the 附件2, 附件3
/// or 开通情况表 of the project's current resources, as
/// `zwyun render … --project` writes it.
pub async fn document(
    State(app): State<Shared>,
    headers: HeaderMap,
    UrlPath((key, doc)): UrlPath<(String, String)>,
    Query(q): Query<ViewQuery>,
) -> Page {
    let user = clerk(&app, &headers, false).await?;
    blocking(&app, move |app| {
        let back = project_href(&key);
        let range = &app.schemas.policy.test_months;
        let months = match q.months.trim() {
            "" => Ok(range.default),
            t => t
                .parse::<u32>()
                .map_err(|_| format!("测试期限“{t}”应为月数"))
                .and_then(|m| range.check(m)),
        };
        let doc = match (doc.as_str(), months) {
            ("test-agreement", Ok(m)) => Doc::TestAgreement { months: Some(m) },
            ("test-agreement", Err(e)) => return Ok(bad_request(app, &user, &e, &back)),
            ("formal-agreement", _) => Doc::FormalAgreement,
            ("opening-table", _) => Doc::OpeningTable,
            _ => {
                return Ok(app.views.message_for(
                    StatusCode::NOT_FOUND,
                    "找不到文件",
                    "没有这种文件。",
                    Some(&user),
                    Some(&back),
                ))
            }
        };
        let project = match crate::ops::find_project(&app.open_ledger()?, &key) {
            Ok(p) => p,
            Err(e) => return Ok(op_error_page(app, &user, e, &back)),
        };
        let rendered = crate::command::render::document(
            doc,
            &project.application,
            &project.current,
            &app.schemas,
            || Ok(&app.setup.renderer),
        );
        let rendered = match rendered {
            Ok(file) if q.format == "pdf" => match as_pdf(file) {
                Ok(pdf) => Ok(pdf),
                Err(e) => {
                    return Ok(app.views.message_for(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "未生成 PDF",
                        &e,
                        Some(&user),
                        Some(&back),
                    ))
                }
            },
            other => other,
        };
        Ok(match rendered {
            Ok((bytes, name)) => (
                [
                    (header::CONTENT_TYPE, content_type(&name).to_string()),
                    (header::CONTENT_DISPOSITION, attachment(&name)),
                ],
                bytes,
            )
                .into_response(),
            Err(e) => app.views.message_for(
                if e.is_submission_problem() {
                    StatusCode::CONFLICT
                } else {
                    StatusCode::INTERNAL_SERVER_ERROR
                },
                "未生成",
                &e.to_string(),
                Some(&user),
                Some(&back),
            ),
        })
    })
    .await
}

/// A document converted to PDF by LibreOffice, as `render --pdf` does.
fn as_pdf((bytes, name): (Vec<u8>, String)) -> Result<(Vec<u8>, String), String> {
    if crate::render::pdf::soffice().is_none() {
        return Err("本机未安装 LibreOffice,无法生成 PDF;请下载 .docx/.xlsx 文件,或请系统维护人员安装 LibreOffice".into());
    }
    let dir = tempfile::tempdir().map_err(|e| crate::oserror::reason(&e))?;
    let file = dir.path().join(&name);
    std::fs::write(&file, bytes).map_err(|e| crate::oserror::at(&file, &e))?;
    let pdf = crate::render::pdf::to_pdf(&file, dir.path())?;
    let bytes = std::fs::read(&pdf).map_err(|e| crate::oserror::at(&pdf, &e))?;
    let name = pdf
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "文件.pdf".into());
    Ok((bytes, name))
}

fn api_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn api_op_error(e: OpError) -> Response {
    match e {
        OpError::Refused { reason, .. } => api_error(StatusCode::CONFLICT, &reason),
        OpError::Invalid(e) => api_error(StatusCode::NOT_FOUND, &e),
        OpError::Failed(e) => api_error(StatusCode::INTERNAL_SERVER_ERROR, &e),
    }
}

/// Handles the GET /api/v1/agenda route: the items `zwyun agenda --format
/// json` prints, one list.
pub async fn api_agenda(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<ViewQuery>,
) -> Page {
    api_clerk(&app, &headers, false).await?;
    let asked = q
        .asked()
        .map_err(|e| api_error(StatusCode::BAD_REQUEST, &e))?;
    let (on, days) = (asked.on, asked.days);
    let items = blocking(&app, move |app| agenda_of(app, &asked))
        .await?
        .map_err(api_op_error)?;
    Ok(Json(json!({"on": on, "days": days, "agenda": items})).into_response())
}

/// Handles the GET /api/v1/projects route: the rows `zwyun projects
/// --format json` prints, one list.
pub async fn api_projects(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<ViewQuery>,
) -> Page {
    api_clerk(&app, &headers, false).await?;
    let asked = q
        .asked()
        .map_err(|e| api_error(StatusCode::BAD_REQUEST, &e))?;
    let on = asked.on;
    let rows = blocking(&app, move |app| register_of(app, &asked))
        .await?
        .map_err(api_op_error)?;
    Ok(Json(json!({"on": on, "projects": rows})).into_response())
}

/// Handles the GET /api/v1/projects/{code} route: what `zwyun project P
/// --format json` prints.
pub async fn api_project(
    State(app): State<Shared>,
    headers: HeaderMap,
    UrlPath(key): UrlPath<String>,
    Query(q): Query<ViewQuery>,
) -> Page {
    api_clerk(&app, &headers, false).await?;
    let asked = q
        .asked()
        .map_err(|e| api_error(StatusCode::BAD_REQUEST, &e))?;
    let view = blocking(&app, move |app| {
        let ledger = app.open_ledger()?;
        Ok(project_of(&ledger, &key, asked.on).map(|(v, _)| v))
    })
    .await?
    .map_err(api_op_error)?;
    Ok(Json(view).into_response())
}
