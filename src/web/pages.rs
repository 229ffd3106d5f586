//! The request handlers: each reads what the request names (ids the
//! ledger issued, never paths), calls the function the CLI calls, and
//! presents the result as a page or as JSON.

use sha2::Digest;
use std::path::{Path, PathBuf};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Multipart, Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::store::{self, Filter, Role, Row, User};
use super::tls::Peer;
use super::{upload, Shared};
use crate::validate::{self, Context, Status};

const COOKIE: &str = "zwyun_session";
/// The most rows a list shows.
const LIST_LIMIT: usize = 500;

pub(super) type Page = Result<Response, Response>;

/// Runs ledger or file work off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
    app: &Shared,
    f: impl FnOnce(&super::App) -> Result<T, String> + Send + 'static,
) -> Result<T, Response> {
    let shared = app.clone();
    match tokio::task::spawn_blocking(move || f(&shared)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(failure(app, &e)),
        Err(e) => Err(failure(app, &format!("内部错误:{e}"))),
    }
}

fn failure(app: &Shared, message: &str) -> Response {
    tracing::error!("{message}");
    app.views.message(
        StatusCode::INTERNAL_SERVER_ERROR,
        "出错了",
        &format!("操作未能完成:{message}"),
    )
}

/// Runs `f` with a connection to the ledger, opened for this request:
/// what the CLI or the intake wrote a moment ago is seen.
pub(super) fn with_ledger<T>(
    app: &super::App,
    f: impl FnOnce(&rusqlite::Connection) -> crate::ledger::Result<T>,
) -> Result<T, String> {
    let ledger = app.open_ledger()?;
    f(ledger.conn()).map_err(|e| e.to_string())
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_string())
}

/// HTTP Basic credentials (name, password), for tools using the JSON API.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine;
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (name, password) = text.split_once(':')?;
    Some((name.to_string(), password.to_string()))
}

/// Who is asking: the session cookie's clerk, or (for the API) the clerk
/// whose name and password came with the request.
async fn who(
    app: &Shared,
    headers: &HeaderMap,
    allow_basic: bool,
) -> Result<Option<User>, Response> {
    let token = cookie_token(headers);
    let credentials = if allow_basic { basic(headers) } else { None };
    blocking(app, move |app| {
        if let Some(token) = token {
            if let Some(user) = with_ledger(app, |c| store::session_user(c, &token))? {
                return Ok(Some(user));
            }
        }
        match credentials {
            Some((name, password)) => {
                with_ledger(app, |c| store::check_credentials(c, &name, &password))
            }
            None => Ok(None),
        }
    })
    .await
}

/// The logged-in clerk of a page, else a redirect to the login page; with
/// `act`, a 只读 account is refused.
pub(super) async fn clerk(app: &Shared, headers: &HeaderMap, act: bool) -> Result<User, Response> {
    match who(app, headers, false).await? {
        None => Err(Redirect::to("/login").into_response()),
        Some(u) if act && u.role != Role::Clerk => Err(read_only(app, &u)),
        Some(u) => Ok(u),
    }
}

fn read_only(app: &Shared, u: &User) -> Response {
    app.views.message_for(
        StatusCode::FORBIDDEN,
        "无权操作",
        "只读账户可以查看全部内容,但不能上传、批准或登记。",
        Some(u),
        Some("/submissions"),
    )
}

/// The API's caller, else 401/403 as JSON.
pub(super) async fn api_clerk(
    app: &Shared,
    headers: &HeaderMap,
    act: bool,
) -> Result<User, Response> {
    match who(app, headers, true).await? {
        None => Err((
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"zwyun\", charset=\"UTF-8\"")],
            Json(json!({"error": "需要登录:请带上收件台的会话 Cookie,或用经办人的用户名与密码(HTTP Basic)"})),
        )
            .into_response()),
        Some(u) if act && u.role != Role::Clerk => Err((
            StatusCode::FORBIDDEN,
            Json(json!({"error": "只读账户不能提交"})),
        )
            .into_response()),
        Some(u) => Ok(u),
    }
}

pub async fn home(State(app): State<Shared>, headers: HeaderMap) -> Page {
    clerk(&app, &headers, false).await?;
    Ok(Redirect::to("/agenda").into_response())
}

pub async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        super::view::CSS,
    )
        .into_response()
}

pub async fn not_found(State(app): State<Shared>) -> Response {
    app.views
        .message(StatusCode::NOT_FOUND, "找不到页面", "没有这个页面。")
}

fn login_view(app: &Shared, status: StatusCode, error: Option<&str>, name: &str) -> Response {
    let mut ctx = app.views.context("登录", None);
    ctx.insert("error", &error);
    ctx.insert("name", name);
    ctx.insert("max_failures", &store::MAX_FAILURES);
    ctx.insert("lock_minutes", &store::LOCK_MINUTES);
    app.views.render(status, "login.html", &ctx)
}

pub async fn login_page(State(app): State<Shared>, headers: HeaderMap) -> Page {
    if who(&app, &headers, false).await?.is_some() {
        return Ok(Redirect::to("/agenda").into_response());
    }
    Ok(login_view(&app, StatusCode::OK, None, ""))
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

pub async fn login(State(app): State<Shared>, Form(f): Form<LoginForm>) -> Page {
    let name = f.name.trim().to_string();
    let attempt = {
        let name = name.clone();
        blocking(&app, move |app| {
            with_ledger(app, |c| store::login(c, &name, &f.password))
        })
        .await?
    };
    let error = match attempt {
        store::Login::Ok { token, .. } => {
            let mut cookie = format!(
                "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
                store::SESSION_HOURS * 3600
            );
            if app.secure_cookies {
                cookie.push_str("; Secure");
            }
            let mut response = Redirect::to("/agenda").into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, v);
            }
            return Ok(response);
        }
        store::Login::Wrong => "用户名或密码不正确。".to_string(),
        store::Login::Locked(until) => format!(
            "连续 {} 次密码错误,账户已锁定至 {until}。如需立即解锁,请管理员用 zwyun user passwd 重设密码。",
            store::MAX_FAILURES
        ),
        store::Login::Disabled => "该账户已停用,请联系管理员。".to_string(),
    };
    Ok(login_view(
        &app,
        StatusCode::UNAUTHORIZED,
        Some(&error),
        &name,
    ))
}

pub async fn logout(State(app): State<Shared>, headers: HeaderMap) -> Page {
    if let Some(token) = cookie_token(&headers) {
        blocking(&app, move |app| {
            with_ledger(app, |c| store::end_session(c, &token))
        })
        .await?;
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("zwyun_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    Ok(response)
}

pub fn status_label(s: &str) -> &'static str {
    match s {
        "valid" => "通过",
        "invalid" => "未通过",
        "unreadable" => "无法读取",
        "rejected" => "非工作簿",
        "failed" => "内部错误",
        "claimed" => "处理中",
        _ => "未知",
    }
}

const STATUSES: [(&str, &str); 5] = [
    ("valid", "通过"),
    ("invalid", "未通过"),
    ("unreadable", "无法读取"),
    ("rejected", "非工作簿"),
    ("failed", "内部错误"),
];

const SOURCES: [(&str, &str); 3] = [("folder", "收件目录"), ("mail", "邮件"), ("web", "网页")];

fn source_label(s: &str) -> &'static str {
    SOURCES
        .iter()
        .find(|(k, _)| *k == s)
        .map(|(_, v)| *v)
        .unwrap_or("收件目录")
}

fn form_label(form: Option<&str>) -> &'static str {
    match form {
        Some("annex1") => "附件1 申请表",
        Some("annex4") => "附件4 变更申请表",
        _ => "—",
    }
}

/// A submission as the pages show it.
#[derive(Serialize)]
struct RowView {
    sha256: String,
    file: String,
    form_label: &'static str,
    unit: String,
    project: String,
    status: String,
    status_label: &'static str,
    received_at: String,
    duplicates: u32,
    source_label: &'static str,
}

impl RowView {
    fn of(r: &Row) -> RowView {
        RowView {
            sha256: r.sha256.clone(),
            file: r.file.clone(),
            form_label: form_label(r.form.as_deref()),
            unit: r.unit.clone().unwrap_or_default(),
            project: r.project.clone().unwrap_or_default(),
            status: r.status.clone(),
            status_label: status_label(&r.status),
            received_at: r.received_at.clone(),
            duplicates: r.duplicates,
            source_label: source_label(r.source),
        }
    }
}

pub async fn submissions(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(filter): Query<Filter>,
) -> Page {
    let user = clerk(&app, &headers, false).await?;
    let rows = {
        let filter = filter.clone();
        blocking(&app, move |app| {
            with_ledger(app, |c| store::submissions(c, &filter, LIST_LIMIT))
        })
        .await?
    };
    let mut ctx = app.views.context("收件", Some(&user));
    ctx.insert("nav", "submissions");
    ctx.insert("truncated", &(rows.len() >= LIST_LIMIT));
    ctx.insert("rows", &rows.iter().map(RowView::of).collect::<Vec<_>>());
    ctx.insert("filter", &filter);
    let options = |list: &[(&str, &str)]| -> Vec<serde_json::Value> {
        list.iter()
            .map(|(key, label)| json!({"key": key, "label": label}))
            .collect()
    };
    ctx.insert("statuses", &options(&STATUSES));
    ctx.insert("sources", &options(&SOURCES));
    Ok(app.views.render(StatusCode::OK, "submissions.html", &ctx))
}

/// A SHA-256 as the ledger issues them: 64 lowercase hex digits.
fn is_sha(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

async fn find(app: &Shared, sha: String) -> Result<Row, Response> {
    let missing = || {
        app.views
            .message(StatusCode::NOT_FOUND, "找不到提交", "账本中没有这份提交。")
    };
    if !is_sha(&sha) {
        return Err(missing());
    }
    blocking(app, move |app| {
        with_ledger(app, |c| store::submission(c, &sha))
    })
    .await?
    .ok_or_else(missing)
}

/// One problem of a report, as the pages show it.
#[derive(Serialize, Deserialize, Default)]
struct Problem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    cell: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    hint: String,
    #[serde(default)]
    severity_label: String,
}

fn severity_label(s: &str) -> &'static str {
    match s {
        "error" => "错误",
        "warning" => "警告",
        _ => "提示",
    }
}

/// The problems recorded in a submission's report file (its JSON output).
fn problems_of(row: &Row) -> Vec<Problem> {
    let Some(json) = row.outputs.iter().find(|o| o.ends_with(".json")) else {
        return Vec::new();
    };
    let Ok(text) = std::fs::read_to_string(json) else {
        return Vec::new();
    };
    let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let mut list: Vec<Problem> =
        serde_json::from_value(value["errors"].clone()).unwrap_or_default();
    for p in &mut list {
        p.severity_label = severity_label(&p.severity).into();
    }
    list
}

#[derive(Serialize)]
struct Text {
    name: String,
    text: String,
}

#[derive(Serialize)]
struct FileLink {
    name: String,
    href: String,
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "文件".into())
}

/// Who reads a submission's outputs.
#[derive(Clone, Copy)]
enum Audience {
    /// A clerk: every output as written.
    Clerk,
    /// The unit (upload page): what a reply by mail would carry, with the
    /// clerk-only notes taken out of the texts.
    Unit { valid: bool },
}

impl Audience {
    fn of(row: &Row) -> Audience {
        Audience::Unit {
            valid: row.status == "valid",
        }
    }

    fn sees(self, output: &str) -> bool {
        match self {
            Audience::Clerk => true,
            Audience::Unit { valid } => crate::mail::output_for_unit(valid, output),
        }
    }

    /// A text output as this audience reads it.
    fn text(self, text: String) -> String {
        match self {
            Audience::Clerk => text,
            Audience::Unit { .. } => crate::mail::text_for_unit(&text, "草稿可在本页下载").0,
        }
    }
}

/// The report of a submission: its problems, its text outputs, and links
/// to the outputs `audience` sees (by their index in the ledger's list).
fn report_context(ctx: &mut tera::Context, row: &Row, base: &str, audience: Audience) {
    let texts: Vec<Text> = row
        .outputs
        .iter()
        .filter(|o| o.ends_with(".txt"))
        .filter_map(|o| {
            std::fs::read_to_string(o).ok().map(|text| Text {
                name: file_name(o),
                text: audience.text(text),
            })
        })
        .collect();
    let files: Vec<FileLink> = row
        .outputs
        .iter()
        .enumerate()
        .filter(|(_, o)| audience.sees(o) && Path::new(o).is_file())
        .map(|(i, o)| FileLink {
            name: file_name(o),
            href: format!("{base}/files/{i}"),
        })
        .collect();
    ctx.insert("s", &RowView::of(row));
    ctx.insert("problems", &problems_of(row));
    ctx.insert("texts", &texts);
    ctx.insert("files", &files);
}

pub async fn submission(
    State(app): State<Shared>,
    headers: HeaderMap,
    UrlPath(sha): UrlPath<String>,
) -> Page {
    let user = clerk(&app, &headers, false).await?;
    let row = find(&app, sha).await?;
    let page = blocking(&app, move |app| {
        let mut ctx = app.views.context("提交详情", Some(&user));
        ctx.insert("nav", "submissions");
        report_context(
            &mut ctx,
            &row,
            &format!("/submissions/{}", row.sha256),
            Audience::Clerk,
        );
        Ok(app.views.render(StatusCode::OK, "submission.html", &ctx))
    })
    .await?;
    Ok(page)
}

/// Sends output `index` of `row`, if `show` admits it.
async fn send_output(app: &Shared, row: Row, index: usize, audience: Audience) -> Page {
    let missing = app.views.message(
        StatusCode::NOT_FOUND,
        "找不到文件",
        "这份提交没有这个文件。",
    );
    let Some(path) = row.outputs.get(index).filter(|o| audience.sees(o)).cloned() else {
        return Err(missing);
    };
    let bytes = blocking(app, move |_| {
        Ok(std::fs::read(&path).ok().map(|b| (path, b)))
    })
    .await?;
    let Some((path, bytes)) = bytes else {
        return Err(missing);
    };
    let name = file_name(&path);
    let bytes = match audience {
        Audience::Unit { .. } if name.ends_with(".txt") => {
            let text = audience.text(String::from_utf8_lossy(&bytes).into_owned());
            format!("\u{feff}{text}").into_bytes()
        }
        _ => bytes,
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type(&name).to_string()),
            (header::CONTENT_DISPOSITION, attachment(&name)),
        ],
        bytes,
    )
        .into_response())
}

pub(super) fn content_type(name: &str) -> &'static str {
    let ext = name
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "pdf" => "application/pdf",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Percent-encodes all but the unreserved ASCII characters (RFC 3986).
pub(super) fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `attachment` with the UTF-8 name (RFC 6266) and an ASCII fallback.
pub(super) fn attachment(name: &str) -> String {
    let encoded = urlencode(name);
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("bin");
    let ascii_ext: String = ext.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("attachment; filename=\"download.{ascii_ext}\"; filename*=UTF-8''{encoded}")
}

pub async fn submission_file(
    State(app): State<Shared>,
    headers: HeaderMap,
    UrlPath((sha, index)): UrlPath<(String, usize)>,
) -> Page {
    clerk(&app, &headers, false).await?;
    let row = find(&app, sha).await?;
    send_output(&app, row, index, Audience::Clerk).await
}

/// The original of a submission, found in the archive by the short hash
/// its archived name carries and confirmed by its content.
fn original(app: &super::App, row: &Row) -> Result<(PathBuf, Vec<u8>), String> {
    let root = &app.setup.opts.archive;
    let found = crate::intake::archive::find_original(root, &row.sha256)
        .map_err(|e| crate::command::io_error(root, &e))?;
    found.ok_or_else(|| {
        format!(
            "在归档目录 {} 中找不到这份提交的原件;请用 zwyun approve 登记原文件",
            root.display()
        )
    })
}

/// The original checked again against the ledger as it is now (as
/// `zwyun approve` checks the file it is given).
fn recheck(
    app: &super::App,
    row: &Row,
) -> Result<(PathBuf, Vec<u8>, validate::Outcome, crate::ledger::Projects), String> {
    let (path, bytes) = original(app, row)?;
    let projects = app.open_ledger()?.projects().map_err(|e| e.to_string())?;
    let ctx = Context {
        schemas: &app.schemas,
        projects: &projects,
        parties: Some(app.setup.renderer.parties()),
    };
    let outcome = validate::check_bytes(&row.file, &bytes, &ctx);
    Ok((path, bytes, outcome, projects))
}

fn warnings_of(outcome: &validate::Outcome) -> Vec<Problem> {
    outcome
        .diags
        .iter()
        .map(|d| Problem {
            code: d.code.to_string(),
            severity: format!("{:?}", d.severity).to_lowercase(),
            cell: d.cell.clone(),
            message: d.message.clone(),
            hint: d.hint.clone(),
            severity_label: severity_label(&format!("{:?}", d.severity).to_lowercase()).into(),
        })
        .collect()
}

pub async fn approve_page(
    State(app): State<Shared>,
    headers: HeaderMap,
    UrlPath(sha): UrlPath<String>,
) -> Page {
    let user = clerk(&app, &headers, true).await?;
    let row = find(&app, sha).await?;
    blocking(&app, move |app| {
        let (_, _, outcome, _) = recheck(app, &row)?;
        let back = format!("/submissions/{}", row.sha256);
        if outcome.status != Status::Valid {
            return Ok(app.views.message_for(
                StatusCode::CONFLICT,
                "不能批准",
                &format!(
                    "按账本现在的内容重新校验,这份申请表未通过,不能登记:\n{}",
                    crate::report::text(&outcome)
                ),
                Some(&user),
                Some(&back),
            ));
        }
        let annex4 = matches!(outcome.model, Some(crate::model::Form::Annex4(_)));
        let label = outcome
            .model
            .as_ref()
            .map(|m| m.header().project_key().label())
            .unwrap_or_default();
        let what = if annex4 {
            format!("将登记项目“{label}”的资源变更(附件4),自所填日期起生效。")
        } else {
            format!("将登记项目“{label}”的批准配额(附件1)。")
        };
        let mut ctx = app.views.context("批准", Some(&user));
        ctx.insert("nav", "submissions");
        ctx.insert("s", &RowView::of(&row));
        ctx.insert("what", &what);
        ctx.insert("annex4", &annex4);
        ctx.insert("warnings", &warnings_of(&outcome));
        let changes = annex4.then(|| crate::report::change_table(&outcome.changes));
        ctx.insert("changes", &changes);
        ctx.insert("today", &chrono::Local::now().date_naive().to_string());
        Ok(app.views.render(StatusCode::OK, "approve.html", &ctx))
    })
    .await
}

#[derive(Deserialize)]
pub struct ApproveForm {
    #[serde(default)]
    effective: String,
    #[serde(default)]
    replace: String,
    /// The day of the approval (`approve --on`), default today.
    #[serde(default)]
    on: String,
    /// Why a refused date or order is approved anyway (`--override`).
    #[serde(default, rename = "override")]
    override_reason: String,
}

pub async fn approve(
    State(app): State<Shared>,
    headers: HeaderMap,
    UrlPath(sha): UrlPath<String>,
    Form(f): Form<ApproveForm>,
) -> Page {
    let user = clerk(&app, &headers, true).await?;
    let row = find(&app, sha).await?;
    blocking(&app, move |app| {
        let back = format!("/submissions/{}", row.sha256);
        let effective = match f.effective.trim() {
            "" => None,
            text => match crate::command::parse_date(text) {
                Ok(d) => Some(d),
                Err(e) => {
                    return Ok(app.views.message_for(
                        StatusCode::BAD_REQUEST,
                        "日期有误",
                        &format!("生效日期“{text}”无法识别:{e}"),
                        Some(&user),
                        Some(&back),
                    ))
                }
            },
        };
        let today = match f.on.trim() {
            "" => crate::command::today(),
            text => match crate::command::parse_date(text) {
                Ok(d) => d,
                Err(e) => {
                    return Ok(app.views.message_for(
                        StatusCode::BAD_REQUEST,
                        "日期有误",
                        &format!("批准日期“{text}”无法识别:{e}"),
                        Some(&user),
                        Some(&back),
                    ))
                }
            },
        };
        let (path, bytes, outcome, projects) = recheck(app, &row)?;
        if outcome.status != Status::Valid {
            return Ok(app.views.message_for(
                StatusCode::CONFLICT,
                "未登记",
                "按账本现在的内容重新校验,这份申请表未通过,未登记。",
                Some(&user),
                Some(&back),
            ));
        }
        let mut ledger = app.open_ledger()?;
        // Every action of the desk is an audit event under the clerk's name.
        let mut rec = crate::ledger::Recording::new(Some(user.name.clone()), "web approve");
        let digest: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        rec.source = Some((path.display().to_string(), digest));
        rec.override_reason = Some(f.override_reason.trim().to_string()).filter(|r| !r.is_empty());
        ledger.set_recording(rec);
        let desk = crate::ops::record::Desk {
            ledger: &ledger,
            policy: &app.schemas.policy,
            calendar: &app.setup.calendar,
            today,
        };
        let recorded = crate::command::check::record_approval(
            &outcome,
            !f.replace.is_empty(),
            effective,
            &desk,
            &projects,
            || Ok(crate::command::check::source_of(&path, &bytes)),
        );
        drop(ledger);
        tracing::info!("{} approved {}", user.name, row.sha256);
        Ok(match recorded {
            Ok(done) => {
                let mut text = done.text();
                for w in done.warnings() {
                    text.push_str(&format!("警告:{w}\n"));
                }
                app.views
                    .message_for(StatusCode::OK, "已批准", &text, Some(&user), Some(&back))
            }
            Err(crate::ops::OpError::Refused {
                reason, conflicts, ..
            }) => {
                let mut text = format!("未登记:{reason}");
                if let Some(d) = conflicts {
                    text.push_str(&format!("(冲突日期:{d})"));
                }
                app.views.message_for(
                    StatusCode::CONFLICT,
                    "未登记",
                    &text,
                    Some(&user),
                    Some(&back),
                )
            }
            Err(crate::ops::OpError::Invalid(e) | crate::ops::OpError::Failed(e)) => return Err(e),
        })
    })
    .await
}

fn upload_view(app: &Shared, user: Option<&User>, public: bool) -> Response {
    let title = if public { "提交申请表" } else { "上传" };
    let mut ctx = app.views.context(title, user);
    ctx.insert("nav", "upload");
    if public {
        ctx.insert("heading", "提交政务云资源申请表");
        ctx.insert(
            "intro",
            "选择填好的附件1(资源申请表)或附件4(资源变更申请表),上传后立即显示校验结果;未通过时可下载问题清单,修改后重新上传。",
        );
        ctx.insert("action", "/u");
    } else {
        ctx.insert("heading", "代单位上传");
        ctx.insert(
            "intro",
            "上传的申请表与放入收件目录的一样处理:同一文件只处理一次,结果记入收件列表。",
        );
        ctx.insert("action", "/upload");
    }
    app.views.render(StatusCode::OK, "upload.html", &ctx)
}

pub async fn upload_page(State(app): State<Shared>, headers: HeaderMap) -> Page {
    let user = clerk(&app, &headers, true).await?;
    Ok(upload_view(&app, Some(&user), false))
}

/// The workbook of an upload: the multipart field `file`.
async fn workbook_of(app: &Shared, mut form: Multipart) -> Result<(String, Bytes), Response> {
    let bad = |message: &str| {
        app.views
            .message(StatusCode::BAD_REQUEST, "上传有误", message)
    };
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Err(bad("没有收到文件;请选择申请表后再上传。")),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(super::guard::too_large(app))
            }
            Err(_) => return Err(bad("上传未完成或格式有误,请重新上传。")),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_string();
        return match field.bytes().await {
            Ok(bytes) if bytes.is_empty() => Err(bad("上传的文件是空的(0 字节)。")),
            Ok(bytes) => Ok((name, bytes)),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(super::guard::too_large(app))
            }
            Err(_) => Err(bad("上传未完成,请重新上传。")),
        };
    }
}

/// Runs the upload through the intake; returns its SHA-256 and link token.
async fn take(
    app: &Shared,
    name: String,
    bytes: Bytes,
    by: Option<String>,
    peer: Peer,
) -> Result<(String, String), Response> {
    blocking(app, move |app| {
        let sha = upload::sha256(&bytes);
        let address = peer.0.ip().to_string();
        let token = with_ledger(app, |c| {
            store::upload_token(c, &sha, by.as_deref(), &address)
        })?;
        let done = upload::submit(app, &name, &bytes)?;
        Ok((done, token))
    })
    .await
}

pub async fn upload(
    State(app): State<Shared>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    form: Multipart,
) -> Page {
    let user = clerk(&app, &headers, true).await?;
    let (name, bytes) = workbook_of(&app, form).await?;
    let (sha, _) = take(&app, name, bytes, Some(user.name.clone()), peer).await?;
    Ok(Redirect::to(&format!("/submissions/{sha}")).into_response())
}

fn public_off(app: &Shared) -> Response {
    app.views.message(
        StatusCode::NOT_FOUND,
        "未开放",
        "本收件台未开放单位上传。请按区科创服务中心的通知提交申请表。",
    )
}

pub async fn public_page(State(app): State<Shared>) -> Page {
    if !app.public_upload {
        return Err(public_off(&app));
    }
    Ok(upload_view(&app, None, true))
}

pub async fn public_upload(
    State(app): State<Shared>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    form: Multipart,
) -> Page {
    if !app.public_upload {
        return Err(public_off(&app));
    }
    if !app.rate.allow(peer.0.ip()) {
        return Err(app.views.message(
            StatusCode::TOO_MANY_REQUESTS,
            "上传过于频繁",
            &format!(
                "同一地址每小时最多上传 {} 次,请稍后再试。",
                app.rate.per_hour()
            ),
        ));
    }
    let (name, bytes) = workbook_of(&app, form).await?;
    let (_, token) = take(&app, name, bytes, None, peer).await?;
    Ok(Redirect::to(&format!("/r/{token}")).into_response())
}

/// The submission a report link was issued for.
async fn by_token(app: &Shared, token: String) -> Result<Row, Response> {
    let missing = || {
        app.views.message(
            StatusCode::NOT_FOUND,
            "找不到结果",
            "链接无效或已失效。请检查地址是否完整。",
        )
    };
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(missing());
    }
    let sha = blocking(app, move |app| {
        with_ledger(app, |c| store::upload_sha(c, &token))
    })
    .await?
    .ok_or_else(missing)?;
    find(app, sha).await
}

/// What a unit may download of its submission: what a mail reply would
/// attach (its text outputs are shown on the page, as a reply's body).
pub async fn public_report(State(app): State<Shared>, UrlPath(token): UrlPath<String>) -> Page {
    let row = by_token(&app, token.clone()).await?;
    blocking(&app, move |app| {
        let mut ctx = app.views.context("校验结果", None);
        let audience = Audience::of(&row);
        report_context(&mut ctx, &row, &format!("/r/{token}"), audience);
        Ok(app.views.render(StatusCode::OK, "public_report.html", &ctx))
    })
    .await
}

pub async fn public_file(
    State(app): State<Shared>,
    UrlPath((token, index)): UrlPath<(String, usize)>,
) -> Page {
    let row = by_token(&app, token).await?;
    let audience = Audience::of(&row);
    send_output(&app, row, index, audience).await
}

pub async fn api_list(
    State(app): State<Shared>,
    headers: HeaderMap,
    Query(filter): Query<Filter>,
) -> Page {
    api_clerk(&app, &headers, false).await?;
    let rows = blocking(&app, move |app| {
        with_ledger(app, |c| store::submissions(c, &filter, LIST_LIMIT))
    })
    .await?;
    Ok(Json(json!({ "submissions": rows })).into_response())
}

pub async fn api_one(
    State(app): State<Shared>,
    headers: HeaderMap,
    UrlPath(sha): UrlPath<String>,
) -> Page {
    api_clerk(&app, &headers, false).await?;
    match find(&app, sha).await {
        Ok(row) => Ok(Json(row).into_response()),
        Err(_) => Err((
            StatusCode::NOT_FOUND,
            Json(json!({"error": "账本中没有这份提交"})),
        )
            .into_response()),
    }
}

#[derive(Deserialize)]
pub struct NameQuery {
    #[serde(default)]
    name: String,
}

/// `POST /api/v1/submissions`: a workbook (multipart field `file`, or the
/// raw body with `?name=`) enters the intake; the answer is the
/// `validate --format json` object for it.
pub async fn api_submit(
    State(app): State<Shared>,
    ConnectInfo(peer): ConnectInfo<Peer>,
    headers: HeaderMap,
    Query(q): Query<NameQuery>,
    body: Bytes,
) -> Page {
    let user = api_clerk(&app, &headers, true).await?;
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (name, bytes) = if multipart {
        let form = match multipart_of(&headers, body).await {
            Some(form) => form,
            None => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    Json(json!({"error": "multipart 格式有误"})),
                )
                    .into_response())
            }
        };
        workbook_of(&app, form).await?
    } else {
        (q.name.clone(), body)
    };
    if bytes.is_empty() {
        return Err((
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "没有收到文件"})),
        )
            .into_response());
    }
    let name = upload::upload_name(&name);
    let (sha, _) = take(&app, name.clone(), bytes.clone(), Some(user.name), peer).await?;
    let value = blocking(&app, move |app| {
        let ledger = app.open_ledger()?;
        let projects = app
            .projects
            .get(&ledger, crate::ledger::Ledger::projects)
            .map_err(|e| e.to_string())?;
        let ctx = Context {
            schemas: &app.schemas,
            projects: &projects,
            parties: Some(app.setup.renderer.parties()),
        };
        Ok(crate::report::json_value(&validate::check_bytes(
            &name, &bytes, &ctx,
        )))
    })
    .await?;
    let mut response = Json(value).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/submissions/{sha}")) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// Multipart from a body already read (the API takes either form).
async fn multipart_of(headers: &HeaderMap, body: Bytes) -> Option<Multipart> {
    use axum::extract::FromRequest;
    let mut req = axum::http::Request::new(axum::body::Body::from(body));
    *req.headers_mut() = headers.clone();
    Multipart::from_request(req, &()).await.ok()
}
