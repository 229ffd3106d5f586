//! The web path of `zwyun bench`: a ledger with 5·N projects (half of them
//! with a test agreement) and 50·N submissions, a real `zwyun serve` on
//! 127.0.0.1, then upload → report latency through the JSON API and the
//! times of the 待办, 项目, project and 收件 pages, as a clerk's browser
//! asks for them.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Duration as Days;

use crate::intake::journal::{self, Finished, Submission};
use crate::ledger::{Ledger, Recording};
use crate::model::FormKind;
use crate::ops::record::{self, Desk};
use crate::oserror::at;
use crate::schema::Schemas;
use crate::settle::calendar::Calendar;

const CLERK: &str = "bench";
const PASSWORD: &str = "bench password";
/// Uploads timed, and requests per page.
const UPLOADS: usize = 30;
const PAGE_RUNS: usize = 21;
/// Clerks asking for pages at the same time.
const CLERKS: usize = 4;

/// Runs the web path; returns the rows of the report (Markdown).
pub fn run(
    exe: &Path,
    dir: &Path,
    n: usize,
    schemas_dir: Option<&Path>,
    schemas: &Schemas,
) -> Result<String, String> {
    let (projects, submissions) = (5 * n, 50 * n);
    let web = dir.join("web");
    for sub in ["inbox", "out"] {
        let d = web.join(sub);
        std::fs::create_dir_all(&d).map_err(|e| at(&d, &e))?;
    }
    let ledger_path = web.join("web.db");
    let filled = Instant::now();
    fill(&ledger_path, projects, submissions, schemas_dir, schemas)?;
    let fill_time = filled.elapsed();
    let uploads: Vec<Vec<u8>> = (0..UPLOADS)
        .map(|k| {
            crate::blank::workbook(
                FormKind::Annex1,
                schemas,
                Some(&crate::bench::application(projects + k)),
            )
            .map_err(|e| e.to_string())
        })
        .collect::<Result<_, _>>()?;
    let mut server = Server::start(exe, &ledger_path, &web, schemas_dir)?;
    let result = measure(&server, &uploads, projects, submissions);
    server.stop();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| 网页:账本中 {projects} 个项目、{submissions} 份提交(准备用时 {:.1} 秒,不计入) | |",
        fill_time.as_secs_f64()
    );
    out.push_str(&result?);
    Ok(out)
}

/// The ledger: projects approved 60 days ago (every other one with a test
/// agreement signed 30 days ago), and submissions written through the
/// intake's journal.
fn fill(
    path: &Path,
    projects: usize,
    submissions: usize,
    schemas_dir: Option<&Path>,
    schemas: &Schemas,
) -> Result<(), String> {
    let _ = std::fs::remove_file(path);
    let mut ledger = Ledger::open(path).map_err(|e| e.to_string())?;
    super::store::ensure(ledger.conn()).map_err(|e| e.to_string())?;
    super::store::add_user(ledger.conn(), CLERK, super::store::Role::Clerk, PASSWORD)
        .map_err(|e| e.to_string())?;
    ledger.set_recording(Recording::new(Some(CLERK.into()), "bench"));
    let calendar = Calendar::load(schemas_dir).map_err(|e| e.to_string())?;
    let today = crate::command::today();
    let desk = Desk {
        ledger: &ledger,
        policy: &schemas.policy,
        calendar: &calendar,
        today,
    };
    for i in 0..projects {
        let app = application(i);
        ledger
            .approve_application_on(&app, false, today - Days::days(60))
            .map_err(|e| e.to_string())?;
        if i % 2 == 0 {
            let project = crate::ops::find_project(&ledger, &app.header.project_key().label())
                .map_err(|e| format!("{e:?}"))?;
            record::test_signed(&desk, &project, today - Days::days(30), 3)
                .map_err(|e| format!("{e:?}"))?;
        }
    }
    // The ledger's own writes are one transaction each; the journal rows,
    // one for all.
    let conn = ledger.conn();
    conn.execute_batch("BEGIN").map_err(|e| e.to_string())?;
    for i in 0..submissions {
        let sha = format!("{:064x}", i + 1);
        let file = format!("申请-{i:05}.xlsx");
        let sub = Submission {
            sha: &sha,
            file: &file,
            ledger_state: None,
        };
        journal::claim(conn, &sub, CLERK, "out", false).map_err(|e| e.to_string())?;
        let app = application(i % projects.max(1));
        let label = app.header.project_key().label();
        let unit = &app.header.unit;
        journal::finish(
            conn,
            &sha,
            &Finished {
                form: Some("annex1"),
                unit: Some(unit),
                project: Some(&label),
                status: if i % 5 == 4 { "invalid" } else { "valid" },
                outputs: &[],
                ledger_state: None,
            },
        )
        .map_err(|e| e.to_string())?;
    }
    conn.execute_batch("COMMIT").map_err(|e| e.to_string())
}

/// Application `i` of the benchmark with its header filled from its fields
/// (as reading its workbook would).
fn application(i: usize) -> crate::model::Application {
    let mut app = crate::bench::application(i);
    let field = |k: &str| app.fields.get(k).cloned().unwrap_or_default();
    app.header = crate::model::Header {
        date: None,
        unit: field("unit"),
        project_name: field("project_name"),
        project_code: Some(field("project_code")),
        provider: field("provider"),
        ownership: field("ownership"),
        arch: field("arch"),
        contact: field("contact"),
        phone: field("phone"),
        email: field("email"),
        address: field("address"),
    };
    app
}

/// A `zwyun serve` child on a port the system picks.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(
        exe: &Path,
        ledger: &Path,
        web: &Path,
        schemas: Option<&Path>,
    ) -> Result<Server, String> {
        let mut cmd = Command::new(exe);
        cmd.arg("--ledger").arg(ledger);
        if let Some(dir) = schemas {
            cmd.arg("--schemas").arg(dir);
        }
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0", "--inbox"])
            .arg(web.join("inbox"))
            .arg("--out")
            .arg(web.join("out"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| at(exe, &e))?;
        let stderr = child.stderr.take().ok_or("无法读取收件台的输出")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(rest) = line.split("http://127.0.0.1:").nth(1) {
                    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(port.parse::<u16>().unwrap_or(0));
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(port) if port > 0 => Ok(Server { child, port }),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                Err("收件台未能启动".into())
            }
        }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One HTTP/1.1 request on a fresh connection: status, headers, body.
fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, String, Vec<u8>), String> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|e| crate::oserror::reason(&e))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .map_err(|e| crate::oserror::reason(&e))?;
    let mut bytes = Vec::new();
    stream
        .read_to_end(&mut bytes)
        .map_err(|e| crate::oserror::reason(&e))?;
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("收件台的回答不完整")?;
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, head, bytes[split + 4..].to_vec()))
}

/// Median and 95th percentile, in milliseconds.
fn spread(mut times: Vec<Duration>) -> String {
    times.sort();
    let at = |q: f64| {
        let i = ((times.len() as f64 - 1.0) * q).round() as usize;
        times[i].as_secs_f64() * 1000.0
    };
    format!("中位数 {:.1} 毫秒,p95 {:.1} 毫秒", at(0.5), at(0.95))
}

fn measure(
    server: &Server,
    uploads: &[Vec<u8>],
    projects: usize,
    submissions: usize,
) -> Result<String, String> {
    let port = server.port;
    let form = format!("name={CLERK}&password={}", PASSWORD.replace(' ', "+"));
    let (_, head, _) = request(
        port,
        "POST",
        "/login",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    )?;
    let cookie = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("set-cookie")
                .then(|| v.trim().split(';').next().unwrap_or("").to_string())
        })
        .ok_or("收件台登录失败")?;
    let auth = [("Cookie", cookie.as_str())];
    let mut out = String::new();
    let mut times = Vec::new();
    for (k, bytes) in uploads.iter().enumerate() {
        let path = format!("/api/v1/submissions?name=bench-{k}.xlsx");
        let start = Instant::now();
        let (status, _, body) = request(port, "POST", &path, &auth, bytes)?;
        times.push(start.elapsed());
        let verdict: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if status != 200 || verdict["status"].is_null() {
            return Err(format!("上传未得到校验结果:{status}"));
        }
    }
    let _ = writeln!(
        out,
        "| 网页:上传附件1 → 校验结果(POST /api/v1/submissions,{UPLOADS} 份) | {} |",
        spread(times)
    );
    let code = application(0).header.project_key().label();
    let pages = vec![
        (
            format!("待办页(/agenda,{projects} 个项目,第 1 页)"),
            "/agenda".to_string(),
        ),
        (
            format!("项目页(/projects,{projects} 个项目,第 1 页)"),
            "/projects".to_string(),
        ),
        (
            format!("单个项目页(/projects/{code})"),
            format!("/projects/{code}"),
        ),
        (
            format!("收件页(/submissions,{submissions} 份中最近 500 份)"),
            "/submissions".to_string(),
        ),
    ];
    for (label, path) in &pages {
        let mut times = Vec::new();
        for _ in 0..PAGE_RUNS {
            let start = Instant::now();
            let (status, _, _) = request(port, "GET", path, &auth, b"")?;
            times.push(start.elapsed());
            if status != 200 {
                return Err(format!("{path}:{status}"));
            }
        }
        let _ = writeln!(out, "| 网页:{label},{PAGE_RUNS} 次 | {} |", spread(times));
    }
    // Several clerks at once: each asks for the four pages in turn.
    let paths: Vec<String> = pages.iter().map(|(_, p)| p.clone()).collect();
    let started = Instant::now();
    let threads: Vec<_> = (0..CLERKS)
        .map(|_| {
            let (paths, cookie) = (paths.clone(), cookie.clone());
            std::thread::spawn(move || -> Result<Vec<Duration>, String> {
                let mut times = Vec::new();
                for path in paths.iter().cycle().take(PAGE_RUNS * paths.len()) {
                    let start = Instant::now();
                    let (status, _, _) = request(port, "GET", path, &[("Cookie", &cookie)], b"")?;
                    times.push(start.elapsed());
                    if status != 200 {
                        return Err(format!("{path}:{status}"));
                    }
                }
                Ok(times)
            })
        })
        .collect();
    let mut times = Vec::new();
    for t in threads {
        times.extend(t.join().map_err(|_| "并发请求线程出错")??);
    }
    let rate = times.len() as f64 / started.elapsed().as_secs_f64();
    let _ = writeln!(
        out,
        "| 网页:{CLERKS} 个经办人同时轮流打开以上四页,共 {} 次 | {},每秒 {rate:.0} 页 |",
        times.len(),
        spread(times)
    );
    Ok(out)
}
