//! The web desk (`zwyun serve`): one process runs the drop-folder loop
//! (and the mail loop) exactly as `watch` does, and serves server-rendered
//! pages and a JSON twin for the clerks, plus an optional page where units
//! upload a form and see its report at once. A face above the command
//! layer, as `command/` is above the stages: every business action is a
//! call into the functions the CLI uses (the intake pass, `approve`'s
//! `record_approval`, `crate::ops` for the register, the agenda and the
//! facts of a project's life); no rule lives in a handler or a template.

pub mod bench;
pub mod cli;
mod desk;
mod guard;
mod pages;
pub mod store;
mod tls;
mod upload;
mod view;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::routing::{get, post};
use axum::Router;

use crate::command::intake::{IntakeOptions, Setup};
use crate::command::Globals;
use crate::ledger::{Kept, Ledger};
use crate::schema::Schemas;

/// The largest workbook an upload may carry (the reader's own limit).
pub const MAX_UPLOAD: u64 = crate::read::MAX_FILE_BYTES;
/// The largest request body: one workbook plus the form around it.
pub const MAX_BODY: u64 = MAX_UPLOAD + 1024 * 1024;

/// What `zwyun serve` was asked for.
pub struct Options {
    pub listen: SocketAddr,
    pub inbox: PathBuf,
    pub out: PathBuf,
    /// Whether inbox and out are the defaults (then created when missing).
    pub default_folders: bool,
    pub intake: IntakeOptions,
    pub poll: Option<f64>,
    pub public_upload: bool,
    /// Uploads per address and hour on the public page.
    pub public_rate: u32,
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Mark cookies Secure though zwyun itself speaks plain HTTP (behind
    /// a reverse proxy that terminates TLS).
    pub secure_cookies: bool,
}

/// What every request handler shares.
pub struct App {
    pub ledger_path: PathBuf,
    pub schemas: Schemas,
    pub setup: Setup,
    /// The web desk's own intake worker, used by one upload at a time.
    pub intake: Mutex<upload::Intake>,
    pub public_upload: bool,
    pub rate: guard::RateLimit,
    pub secure_cookies: bool,
    pub views: view::Views,
    /// The projects' lives for the agenda and the register, and the
    /// projects for checking forms, read again only when the ledger changed.
    pub lives: Kept<Vec<crate::ops::view::Life>>,
    pub projects: Kept<crate::ledger::Projects>,
}

pub type Shared = Arc<App>;

impl App {
    /// A connection for one request (SQLite serialises the writers).
    pub fn open_ledger(&self) -> Result<Ledger, String> {
        Ledger::open(&self.ledger_path).map_err(|e| e.to_string())
    }
}

/// Runs the desk until the process is stopped.
pub fn serve(o: Options, schemas: Schemas, g: &Globals) -> Result<u8, String> {
    if o.default_folders {
        for dir in [&o.inbox, &o.out] {
            std::fs::create_dir_all(dir).map_err(|e| crate::command::io_error(dir, &e))?;
        }
    }
    let setup =
        crate::command::intake::setup(o.inbox.clone(), o.out.clone(), &o.intake, &schemas, g)?;
    let ledger = Ledger::open(&g.ledger).map_err(|e| e.to_string())?;
    store::ensure(ledger.conn()).map_err(|e| e.to_string())?;
    crate::mail::queue::ensure(ledger.conn()).map_err(|e| e.to_string())?;
    drop(ledger);
    let intake = upload::Intake::start(&setup.opts.inbox)?;
    let tls = o
        .tls
        .as_ref()
        .map(|(cert, key)| tls::config(cert, key))
        .transpose()?;
    let app = Arc::new(App {
        ledger_path: g.ledger.clone(),
        schemas,
        setup,
        intake: Mutex::new(intake),
        public_upload: o.public_upload,
        rate: guard::RateLimit::new(o.public_rate),
        secure_cookies: o.secure_cookies || tls.is_some(),
        views: view::Views::load()?,
        lives: Kept::default(),
        projects: Kept::default(),
    });
    // The first page and upload need not pay for reading every project.
    if let Ok(ledger) = app.open_ledger() {
        let _ = app.projects.get(&ledger, Ledger::projects);
        let _ = app.lives.get(&ledger, crate::ops::view::lives);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("无法启动网页服务:{e}"))?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(o.listen))
        .map_err(|e| format!("无法监听 {}:{}", o.listen, crate::oserror::reason(&e)))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    start_intake_loop(&o, g);
    let scheme = if tls.is_some() { "https" } else { "http" };
    eprintln!("收件台已启动:{scheme}://{addr}/(Ctrl-C 停止)");
    let router = router(app);
    runtime.block_on(async move {
        match tls {
            Some(config) => {
                let listener = tls::Listener::new(listener, config);
                axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<tls::Peer>(),
                )
                .await
            }
            None => {
                axum::serve(
                    listener,
                    router.into_make_service_with_connect_info::<tls::Peer>(),
                )
                .await
            }
        }
        .map_err(|e| format!("网页服务出错:{e}"))
    })?;
    Ok(crate::command::EXIT_OK)
}

/// The drop-folder (and mail) loop of `watch`, in its own thread; if it
/// ends (it only ends on a failure to start), the whole service ends, so a
/// service manager restarts it rather than leaving a desk without intake.
fn start_intake_loop(o: &Options, g: &Globals) {
    let (inbox, out, intake, poll) = (o.inbox.clone(), o.out.clone(), o.intake.clone(), o.poll);
    let g = Globals {
        ledger: g.ledger.clone(),
        ledger_given: g.ledger_given,
        schemas: g.schemas.clone(),
        templates: g.templates.clone(),
    };
    std::thread::spawn(move || {
        let result = Schemas::load(g.schemas.as_deref())
            .map_err(|e| format!("校验规则有误:{e}"))
            .and_then(|schemas| {
                crate::command::intake::process(inbox, out, &intake, Some(poll), &schemas, &g)
            });
        if let Err(e) = result {
            eprintln!("zwyun: 收件目录处理已停止:{e}");
        }
        std::process::exit(i32::from(crate::command::EXIT_ERROR));
    });
}

fn router(app: Shared) -> Router {
    let api = Router::new()
        .route(
            "/api/v1/submissions",
            get(pages::api_list).post(pages::api_submit),
        )
        .route("/api/v1/submissions/{sha}", get(pages::api_one))
        .route("/api/v1/agenda", get(desk::api_agenda))
        .route("/api/v1/projects", get(desk::api_projects))
        .route("/api/v1/projects/{key}", get(desk::api_project));
    let desk = Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_page).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/submissions", get(pages::submissions))
        .route("/submissions/{sha}", get(pages::submission))
        .route(
            "/submissions/{sha}/files/{index}",
            get(pages::submission_file),
        )
        .route(
            "/submissions/{sha}/approve",
            get(pages::approve_page).post(pages::approve),
        )
        .route("/agenda", get(desk::agenda_page))
        .route("/projects", get(desk::projects_page))
        .route("/projects/{key}", get(desk::project_page))
        .route("/projects/{key}/documents/{doc}", get(desk::document))
        .route("/projects/{key}/{action}", post(desk::record_fact))
        .route("/upload", get(pages::upload_page).post(pages::upload))
        .route("/u", get(pages::public_page).post(pages::public_upload))
        .route("/r/{token}", get(pages::public_report))
        .route("/r/{token}/files/{index}", get(pages::public_file))
        .route("/static/desk.css", get(pages::css))
        .merge(api)
        .fallback(pages::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY as usize))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            guard::checks,
        ))
        .with_state(app);
    guard::with_headers(desk)
}
