//! `zwyun serve`: the real server on 127.0.0.1 (a port the system picks),
//! spoken to over plain HTTP/1.1 by a small client here (it sends paths
//! exactly as written, which traversal attempts need), and the browser
//! flow in a real Chromium driven through chromedriver. Not run under Wine.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{self, annex1, repo, sample, Env};

/// A running `zwyun serve` in a temp folder; stopped when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    pub env: Env,
    log: Arc<Mutex<String>>,
}

fn zwyun_in(env: &Env) -> Command {
    let mut cmd = Command::new(common::bin());
    cmd.current_dir(env.dir.path())
        .env("ZWYUN_SCHEMAS", repo().join("schemas"))
        .env("ZWYUN_TEMPLATES", repo().join("templates"))
        .env_remove("ZWYUN_LEDGER")
        .env_remove("ZWYUN_MAIL");
    cmd
}

/// Runs `zwyun args…` with `input` on standard input.
pub fn run_with_input(env: &Env, args: &[&str], input: &str) -> std::process::Output {
    let mut child = zwyun_in(env)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Adds a clerk with the password from standard input.
pub fn add_user(env: &Env, name: &str, role: &str, password: &str) {
    let out = run_with_input(
        env,
        &["user", "add", name, "--role", role],
        &format!("{password}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Server {
    pub fn start(extra: &[&str]) -> Server {
        Server::start_in(Env::new(), extra)
    }

    pub fn start_in(env: Env, extra: &[&str]) -> Server {
        let mut child = zwyun_in(&env)
            .args(["serve", "--listen", "127.0.0.1:0", "--stable", "0.2"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(rest) = line
                        .split("http://127.0.0.1:")
                        .nth(1)
                        .or_else(|| line.split("https://127.0.0.1:").nth(1))
                    {
                        let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
                        let _ = tx.send(port.parse::<u16>().unwrap_or(0));
                    }
                    log.lock().unwrap().push_str(&(line + "\n"));
                }
            });
        }
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut BufReader::new(stdout), &mut std::io::sink());
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("serve did not start: {}", log.lock().unwrap()));
        Server {
            child,
            port,
            env,
            log,
        }
    }

    pub fn client(&self) -> Client {
        Client {
            port: self.port,
            cookie: None,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// One HTTP/1.1 request on a fresh connection, the path sent as written.
pub fn raw(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before the whole body is sent.
    let _ = stream.write_all(body);
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    parse_response(&bytes)
}

fn parse_response(bytes: &[u8]) -> Resp {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Resp {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// A browser-like client: keeps the session cookie, says it is same-origin.
pub struct Client {
    pub port: u16,
    pub cookie: Option<String>,
}

pub const BOUNDARY: &str = "zwyunTestBoundary7MA4YWxkTrZu0gW";

pub fn multipart(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

impl Client {
    fn with_cookie<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut h: Vec<(&str, &str)> = extra.to_vec();
        if let Some(c) = &self.cookie {
            h.push(("Cookie", c.as_str()));
        }
        h
    }

    pub fn get(&self, path: &str) -> Resp {
        raw(self.port, "GET", path, &self.with_cookie(&[]), b"")
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
            .collect();
        let origin = self.origin();
        let headers = self.with_cookie(&[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", &origin),
            ("Sec-Fetch-Site", "same-origin"),
        ]);
        raw(self.port, "POST", path, &headers, body.join("&").as_bytes())
    }

    pub fn post_file(&self, path: &str, name: &str, bytes: &[u8]) -> Resp {
        let origin = self.origin();
        let ct = format!("multipart/form-data; boundary={BOUNDARY}");
        let headers = self.with_cookie(&[
            ("Content-Type", &ct),
            ("Origin", &origin),
            ("Sec-Fetch-Site", "same-origin"),
        ]);
        raw(self.port, "POST", path, &headers, &multipart(name, bytes))
    }

    /// Logs in; panics unless the server set a session cookie.
    pub fn login(&mut self, name: &str, password: &str) -> Resp {
        let r = self.post_form("/login", &[("name", name), ("password", password)]);
        if let Some(set) = r.header("set-cookie") {
            let pair = set.split(';').next().unwrap().to_string();
            self.cookie = Some(pair);
        }
        r
    }
}

pub fn workbook(form: &common::Form, env: &Env, name: &str) -> (PathBuf, Vec<u8>) {
    let path = env.path(name);
    form.write(&path);
    let bytes = std::fs::read(&path).unwrap();
    (path, bytes)
}

/// A 附件1 with its unit left empty: fails with field errors.
pub fn failing_form() -> common::Form {
    let mut f = annex1();
    f.clear("B3");
    f
}

fn codes_of(v: &serde_json::Value) -> Vec<String> {
    common::codes(v)
}

fn sha_in(location: &str) -> String {
    location.rsplit('/').next().unwrap().to_string()
}

#[test]
fn web_login_logout_and_lockout() {
    let env = Env::new();
    add_user(&env, "王芳", "经办", "correct horse battery");
    let list = env.run_ok(&["user", "list"]);
    assert!(list.contains("王芳  经办  正常"), "{list}");
    // A password is never an argument.
    let out = env.run(&["user", "add", "李四", "secret-password"]);
    assert!(!out.status.success());
    let short = run_with_input(&env, &["user", "add", "李四"], "short\n");
    assert!(String::from_utf8_lossy(&short.stderr).contains("密码至少 8 个字符"));
    let server = Server::start_in(env, &[]);
    let mut c = server.client();
    let r = c.get("/submissions");
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/login"));
    let r = c.login("王芳", "wrong password");
    assert_eq!(r.status, 401);
    assert!(r.text().contains("用户名或密码不正确"));
    assert!(c.cookie.is_none());
    let r = c.login("王芳", "correct horse battery");
    assert_eq!(r.status, 303, "{}", r.text());
    let cookie = r.header("set-cookie").unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    assert!(cookie.contains("Max-Age=36000"), "ten hours: {cookie}");
    let r = c.get("/submissions");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("王芳(经办)"));
    let r = c.post_form("/logout", &[]);
    assert_eq!(r.status, 303);
    // The old cookie is dead on the server, not just in the browser.
    let r = c.get("/submissions");
    assert_eq!(r.status, 303);
    c.cookie = None;
    for _ in 0..4 {
        assert_eq!(c.login("王芳", "wrong").status, 401);
    }
    let r = c.login("王芳", "wrong");
    assert!(r.text().contains("账户已锁定"), "{}", r.text());
    let r = c.login("王芳", "correct horse battery");
    assert_eq!(r.status, 401);
    assert!(r.text().contains("账户已锁定"));
    assert!(server.env.run_ok(&["user", "list"]).contains("锁定至"));
    let out = run_with_input(
        &server.env,
        &["user", "passwd", "王芳"],
        "a new passphrase\n",
    );
    assert!(out.status.success());
    assert_eq!(c.login("王芳", "a new passphrase").status, 303);
    assert_eq!(c.get("/submissions").status, 200);
    server.env.run_ok(&["user", "disable", "王芳"]);
    assert_eq!(
        c.get("/submissions").status,
        303,
        "disabling ends the session"
    );
    let r = c.login("王芳", "a new passphrase");
    assert!(r.text().contains("已停用"));
    assert!(server
        .env
        .run_ok(&["user", "list"])
        .contains("王芳  经办  已停用"));
    // A new password brings a disabled account back.
    let out = run_with_input(
        &server.env,
        &["user", "passwd", "王芳"],
        "third passphrase\n",
    );
    assert!(out.status.success());
    assert_eq!(c.login("王芳", "third passphrase").status, 303);
}

#[test]
fn web_lockout_lasts_fifteen_minutes_and_counts_api_failures() {
    let env = Env::new();
    add_user(&env, "王芳", "经办", "correct horse battery");
    let server = Server::start_in(env, &["--secure-cookies"]);
    let wrong = format!("Basic {}", base64_of("王芳:wrong"));
    for _ in 0..5 {
        let r = raw(
            server.port,
            "GET",
            "/api/v1/submissions",
            &[("Authorization", &wrong)],
            b"",
        );
        assert_eq!(r.status, 401);
    }
    let mut c = server.client();
    let r = c.login("王芳", "correct horse battery");
    let text = r.text();
    let until = text.split("账户已锁定至 ").nth(1).expect(&text)[..19].to_string();
    let until = chrono::NaiveDateTime::parse_from_str(&until, "%Y-%m-%d %H:%M:%S").unwrap();
    let minutes = (until - chrono::Local::now().naive_local()).num_minutes();
    assert!((13..=15).contains(&minutes), "{minutes}");
    run_with_input(
        &server.env,
        &["user", "passwd", "王芳"],
        "a new passphrase\n",
    );
    let r = c.login("王芳", "a new passphrase");
    assert!(
        r.header("set-cookie").unwrap().contains("; Secure"),
        "--secure-cookies"
    );
}

#[test]
fn web_serve_stops_when_its_intake_cannot_run() {
    let env = Env::new();
    let out = env.run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--inbox",
        "missing",
        "--out",
        "out",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("收件目录不存在"));
    let out = env.run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--mail",
        "no-such-mail.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("收件目录处理已停止"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        env.path("inbox").is_dir() && env.path("out").is_dir(),
        "default folders made"
    );
}

#[test]
fn web_read_only_accounts_see_but_cannot_post() {
    let env = Env::new();
    add_user(&env, "审计", "只读", "read only please");
    add_user(&env, "经办人", "经办", "clerk password");
    let server = Server::start_in(env, &[]);
    let mut c = server.client();
    assert_eq!(c.login("审计", "read only please").status, 303);
    assert_eq!(c.get("/submissions").status, 200);
    let (_, bytes) = workbook(&annex1(), &server.env, "a1.xlsx");
    let r = c.post_file("/upload", "a1.xlsx", &bytes);
    assert_eq!(r.status, 403);
    assert!(r.text().contains("只读账户"));
    assert_eq!(c.get("/upload").status, 403);
    let basic = format!("Basic {}", base64_of("审计:read only please"));
    let r = raw(
        server.port,
        "POST",
        "/api/v1/submissions?name=a1.xlsx",
        &[("Authorization", &basic)],
        &bytes,
    );
    assert_eq!(r.status, 403);
    let r = raw(
        server.port,
        "GET",
        "/api/v1/submissions",
        &[("Authorization", &basic)],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["submissions"].as_array().unwrap().len(),
        0,
        "nothing was taken"
    );
    assert!(std::fs::read_dir(server.env.path("inbox"))
        .unwrap()
        .flatten()
        .all(|e| e.file_name().to_string_lossy().starts_with('.')));
    let wrong = format!("Basic {}", base64_of("经办人:nope"));
    let r = raw(
        server.port,
        "GET",
        "/api/v1/submissions",
        &[("Authorization", &wrong)],
        b"",
    );
    assert_eq!(r.status, 401);
}

pub fn base64_of(s: &str) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for chunk in b.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &x)| acc | (x as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn web_cross_site_posts_are_refused() {
    let env = Env::new();
    add_user(&env, "王芳", "经办", "correct horse battery");
    let server = Server::start_in(env, &[]);
    let mut c = server.client();
    assert_eq!(c.login("王芳", "correct horse battery").status, 303);
    let (_, bytes) = workbook(&annex1(), &server.env, "a1.xlsx");
    let cookie = c.cookie.clone().unwrap();
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let body = multipart("a1.xlsx", &bytes);
    for headers in [
        vec![
            ("Origin", "http://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
        ],
        vec![("Origin", "http://evil.example")],
        vec![("Sec-Fetch-Site", "same-site")],
    ] {
        let mut h = headers.clone();
        h.push(("Cookie", &cookie));
        h.push(("Content-Type", &ct));
        let r = raw(server.port, "POST", "/upload", &h, &body);
        assert_eq!(r.status, 403, "{headers:?}");
        assert!(r.text().contains("跨站请求"));
    }
    // Logging in from another site is refused too (login CSRF).
    let r = raw(
        server.port,
        "POST",
        "/login",
        &[
            ("Origin", "http://evil.example"),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        b"name=x&password=y",
    );
    assert_eq!(r.status, 403);
    let r = c.get("/api/v1/submissions");
    assert_eq!(r.json()["submissions"].as_array().unwrap().len(), 0);
}

#[test]
fn web_upload_size_limits() {
    let env = Env::new();
    add_user(&env, "王芳", "经办", "correct horse battery");
    let server = Server::start_in(env, &[]);
    let mut c = server.client();
    c.login("王芳", "correct horse battery");
    let big = vec![b'x'; 25 * 1000 * 1000];
    let r = c.post_file("/upload", "big.xlsx", &big);
    assert_eq!(r.status, 413);
    assert!(r.text().contains("文件过大"), "{}", r.text());
    assert!(r.text().contains("20 MB"));
    // 20 MB is taken (and, not being a workbook, said so).
    let twenty = vec![b'x'; 20 * 1000 * 1000];
    let r = c.post_file("/upload", "twenty.xlsx", &twenty);
    assert_eq!(r.status, 303, "{}", r.text());
    let page = c.get(r.header("location").unwrap());
    assert!(page.text().contains("非工作簿"), "{}", page.text());
}

#[test]
fn web_paths_never_reach_the_file_system_and_names_are_text() {
    let env = Env::new();
    add_user(&env, "王芳", "经办", "correct horse battery");
    let server = Server::start_in(env, &["--public-upload"]);
    let mut c = server.client();
    c.login("王芳", "correct horse battery");
    let mut form = failing_form();
    form.set("B3", "<script>alert(1)</script>");
    form.set("G3", "<b>项目</b>");
    let (_, bytes) = workbook(&form, &server.env, "<img src=x>.xlsx");
    let r = c.post_file("/upload", "<img src=x>.xlsx", &bytes);
    assert_eq!(r.status, 303);
    let location = r.header("location").unwrap().to_string();
    let list = c.get("/submissions").text();
    assert!(
        list.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;")
            || list.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{list}"
    );
    assert!(!list.contains("<script>") && !list.contains("<img") && !list.contains("<b>项目"));
    let detail = c.get(&location).text();
    assert!(!detail.contains("<script>") && !detail.contains("<img"));
    for path in [
        "/submissions/../../../../etc/passwd",
        "/submissions/..%2f..%2f..%2fetc%2fpasswd",
        &format!("{location}/files/..%2f..%2fzwyun.db"),
        &format!("{location}/files/-1"),
        &format!("{location}/files/99"),
        "/static/../zwyun.db",
        "/static/..%2fzwyun.db",
        "/zwyun.db",
        "/inbox/",
        "/r/..%2f..%2fzwyun.db",
        "/r/../zwyun.db/files/0",
        "//etc/passwd",
        "/submissions/%2e%2e/%2e%2e/zwyun.db",
    ] {
        let r = c.get(path);
        assert!(matches!(r.status, 303 | 400 | 404), "{path}: {}", r.status);
        assert!(
            !r.body.starts_with(b"SQLite format") && !r.text().contains("root:"),
            "{path}"
        );
    }
    // Every response carries the security headers.
    let r = c.get("/submissions");
    let csp = r.header("content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("default-src 'none'"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    for page in ["/submissions", "/upload", "/u", "/login", &location] {
        assert!(
            !c.get(page).text().contains("<script"),
            "no script on {page}"
        );
    }
    let css = c.get("/static/desk.css").text();
    assert!(
        css.contains("@media print") && css.contains("nav"),
        "printing hides the navigation"
    );
}

#[test]
fn web_json_api_matches_validate_and_a_double_post_is_one_submission() {
    let env = Env::new();
    add_user(&env, "王芳", "经办", "correct horse battery");
    let server = Server::start_in(env, &[]);
    let (path, bytes) = workbook(&failing_form(), &server.env, "填错的申请表.xlsx");
    let expected = server.env.validate_json(&path);
    assert_eq!(expected["status"], "invalid");
    let basic = format!("Basic {}", base64_of("王芳:correct horse battery"));
    let name = format!(
        "/api/v1/submissions?name={}",
        urlencode("填错的申请表.xlsx")
    );
    let r = raw(
        server.port,
        "POST",
        &name,
        &[("Authorization", &basic)],
        &bytes,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let got = r.json();
    assert_eq!(got["status"], expected["status"]);
    assert_eq!(got["form"], expected["form"]);
    assert_eq!(got["errors"], expected["errors"]);
    assert_eq!(codes_of(&got), codes_of(&expected));
    assert_eq!(
        got.as_object().unwrap().len(),
        expected.as_object().unwrap().len()
    );
    let location = r.header("location").unwrap().to_string();
    // The same bytes again, as multipart: the same answer, no new submission.
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let r = raw(
        server.port,
        "POST",
        "/api/v1/submissions",
        &[("Authorization", &basic), ("Content-Type", &ct)],
        &multipart("again.xlsx", &bytes),
    );
    assert_eq!(r.json()["errors"], expected["errors"]);
    let mut c = server.client();
    c.login("王芳", "correct horse battery");
    let r = c.post_file("/upload", "填错的申请表.xlsx", &bytes);
    assert_eq!(r.status, 303);
    let list = c.get("/api/v1/submissions").json();
    let rows = list["submissions"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{list}");
    assert_eq!(rows[0]["status"], "invalid");
    assert_eq!(rows[0]["source"], "web");
    assert_eq!(rows[0]["duplicates"], 2);
    let sha = sha_in(&location);
    assert_eq!(rows[0]["sha256"], sha.as_str());
    let one = c.get(&format!("/api/v1/submissions/{sha}")).json();
    assert_eq!(one["file"], "填错的申请表.xlsx");
    assert_eq!(c.get("/api/v1/submissions/0000").status, 404);
    // The page shows the same problems, and the report file is downloadable.
    let page = c.get(&format!("/submissions/{sha}")).text();
    for e in expected["errors"].as_array().unwrap() {
        let message = e["message"].as_str().unwrap();
        assert!(page.contains(&message.replace('"', "&quot;")), "{message}");
    }
    assert!(page.contains("未通过"));
    let href = page
        .split("href=\"")
        .map(|s| s.split('"').next().unwrap())
        .find(|h| h.contains("/files/"))
        .unwrap()
        .to_string();
    let file = c.get(&href);
    assert_eq!(file.status, 200);
    assert!(file
        .header("content-disposition")
        .unwrap()
        .contains("filename*=UTF-8''"));
    // Filters: by status and source, and by text.
    assert!(c
        .get("/submissions?status=valid")
        .text()
        .contains("没有符合条件的提交"));
    assert!(c
        .get("/submissions?source=web&q=%E5%A1%AB%E9%94%99")
        .text()
        .contains("填错的申请表.xlsx"));
    // Unauthenticated API calls are refused.
    assert_eq!(
        raw(server.port, "GET", "/api/v1/submissions", &[], b"").status,
        401
    );
}

#[test]
fn web_public_upload_gives_a_private_report_link() {
    let server = Server::start(&["--public-upload", "--public-rate", "2"]);
    let c = server.client();
    let page = c.get("/u");
    assert_eq!(page.status, 200);
    assert!(page.text().contains("提交政务云资源申请表"));
    assert!(
        !page.text().contains("/submissions"),
        "a unit never sees the desk"
    );
    let (_, bytes) = workbook(&failing_form(), &server.env, "unit.xlsx");
    let r = c.post_file("/u", "unit.xlsx", &bytes);
    assert_eq!(r.status, 303, "{}", r.text());
    let link = r.header("location").unwrap().to_string();
    let token = link.strip_prefix("/r/").unwrap();
    assert_eq!(token.len(), 64);
    let report = c.get(&link);
    assert_eq!(report.status, 200);
    let text = report.text();
    assert!(
        text.contains("未通过") && text.contains("问题清单"),
        "{text}"
    );
    assert!(!text.contains("/submissions"));
    let hrefs: Vec<String> = text
        .split("href=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .filter(|h| h.contains("/files/"))
        .collect();
    assert!(!hrefs.is_empty());
    for h in &hrefs {
        assert!(h.starts_with(&link));
        let f = c.get(h);
        assert_eq!(f.status, 200);
        assert!(f.body.starts_with(b"PK"), "the problem list workbook");
    }
    // The JSON report is the desk's, not the unit's.
    let hidden = (0..4)
        .map(|i| format!("{link}/files/{i}"))
        .filter(|h| !hrefs.contains(h))
        .map(|h| c.get(&h).status)
        .collect::<Vec<_>>();
    assert!(hidden.iter().all(|s| *s == 404), "{hidden:?}");
    let guessed = format!("/r/{}", "0".repeat(64));
    assert_eq!(c.get(&guessed).status, 404);
    // The same file again: the same link.
    let again = c.post_file("/u", "unit.xlsx", &bytes);
    assert_eq!(again.header("location"), Some(link.as_str()));
    let third = c.post_file("/u", "unit.xlsx", &bytes);
    assert_eq!(third.status, 429);
    assert!(third.text().contains("每小时最多上传 2 次"));
    drop(server);
    let closed = Server::start(&[]);
    let r = closed.client().get("/u");
    assert_eq!(r.status, 404);
    assert!(r.text().contains("未开放单位上传"));
}

#[test]
fn web_public_report_keeps_clerk_notes_from_the_unit() {
    let server = Server::start(&["--public-upload"]);
    let c = server.client();
    // The sample provider is sample data in parties.yaml: the receipt on
    // disk carries a note for the clerk.
    let (_, bytes) = workbook(&common::annex1(), &server.env, "unit.xlsx");
    let r = c.post_file("/u", "unit.xlsx", &bytes);
    let link = r.header("location").unwrap().to_string();
    let text = c.get(&link).text();
    assert!(text.contains("通过"), "{text}");
    assert!(text.contains("草稿可在本页下载"), "{text}");
    assert!(!text.contains("parties.yaml"), "{text}");
    let receipt = text
        .split("href=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .filter(|h| h.contains("/files/"))
        .map(|h| c.get(&h))
        .find(|f| {
            f.header("content-disposition")
                .is_some_and(|d| d.contains("txt"))
        })
        .expect("the receipt is downloadable");
    let body = receipt.text();
    assert!(body.contains("受理回执"), "{body}");
    assert!(!body.contains("parties.yaml"), "{body}");
}

#[test]
fn web_approve_records_quota_and_change_as_the_cli_does() {
    let env = Env::new();
    add_user(&env, "王芳", "经办", "correct horse battery");
    let server = Server::start_in(env, &[]);
    let mut c = server.client();
    c.login("王芳", "correct horse battery");
    let a1 = std::fs::read(sample("annex1-example.xlsx")).unwrap();
    let r = c.post_file("/upload", "annex1-example.xlsx", &a1);
    let detail = r.header("location").unwrap().to_string();
    let page = c.get(&detail).text();
    assert!(page.contains("通过") && page.contains("批准"), "{page}");
    let confirm = c.get(&format!("{detail}/approve")).text();
    assert!(
        confirm.contains("将登记项目“SJ-2026-017”的批准配额"),
        "{confirm}"
    );
    let done = c.post_form(&format!("{detail}/approve"), &[]);
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(
        done.text().contains("已登记项目“SJ-2026-017”的批准配额"),
        "{}",
        done.text()
    );
    // The CLI sees the same ledger: approving the same form again is refused.
    let again = server
        .env
        .run(&["approve", sample("annex1-example.xlsx").to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(1));
    let refused = c.post_form(&format!("{detail}/approve"), &[]);
    assert_eq!(refused.status, 409, "{}", refused.text());
    let replaced = c.post_form(&format!("{detail}/approve"), &[("replace", "1")]);
    assert_eq!(replaced.status, 200, "{}", replaced.text());
    // A change needs a formal agreement (细则 五(四)). The desk approved
    // today, so agreements dated earlier are recorded as an exception.
    for step in [
        &["test-signed", "--date", "2026-06-01", "--months", "3"][..],
        &["formal-signed", "--date", "2026-09-01"],
    ] {
        let mut args = vec!["ledger"];
        args.extend_from_slice(step);
        args.extend([
            "--project",
            "SJ-2026-017",
            "--override",
            "协议早于网页批准日",
        ]);
        let out = server.env.run(&args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let a4 = std::fs::read(sample("annex4-example.xlsx")).unwrap();
    let r = c.post_file("/upload", "annex4-example.xlsx", &a4);
    let detail = r.header("location").unwrap().to_string();
    let confirm = c.get(&format!("{detail}/approve")).text();
    assert!(confirm.contains("变更生效日期"), "{confirm}");
    let done = c.post_form(&format!("{detail}/approve"), &[("effective", "2026-09-30")]);
    assert!(
        done.text().contains("自 2026-09-30 起生效"),
        "{}",
        done.text()
    );
    // The same change a second time is refused, as by the CLI.
    // Approved, the change now differs from the ledger: the warning comes first.
    let confirm = c.get(&format!("{detail}/approve")).text();
    assert!(
        confirm.contains("请先看警告") && confirm.contains("policy.current_mismatch"),
        "{confirm}"
    );
    let twice = c.post_form(&format!("{detail}/approve"), &[("effective", "2026-09-30")]);
    assert_eq!(twice.status, 409);
    assert!(twice.text().contains("同一变更不重复登记"));
    let bad = c.post_form(&format!("{detail}/approve"), &[("effective", "明天")]);
    assert_eq!(bad.status, 400);
}

#[test]
fn web_serves_https_with_secure_cookies() {
    let Ok(curl) = which("curl") else {
        eprintln!("skipped: curl not installed");
        return;
    };
    let env = Env::new();
    let (cert, key) = (env.path("cert.pem"), env.path("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    if !made.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: openssl could not make a certificate");
        return;
    }
    add_user(&env, "王芳", "经办", "correct horse battery");
    let server = Server::start_in(
        env,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let url = format!("https://127.0.0.1:{}/login", server.port);
    let out = Command::new(&curl)
        .args([
            "-k",
            "-s",
            "-i",
            "-H",
            &format!("Origin: https://127.0.0.1:{}", server.port),
        ])
        .args([
            "--data-urlencode",
            "name=王芳",
            "--data-urlencode",
            "password=correct horse battery",
        ])
        .arg(&url)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 303"), "{text}\n{}", server.log());
    let cookie = text
        .lines()
        .find(|l| l.to_lowercase().starts_with("set-cookie"))
        .unwrap();
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    // Plain HTTP on the TLS port gets nothing useful.
    let plain = TcpStream::connect(("127.0.0.1", server.port)).and_then(|mut s| {
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n")?;
        let mut b = Vec::new();
        let _ = s.read_to_end(&mut b);
        Ok(b)
    });
    assert!(!plain.unwrap_or_default().starts_with(b"HTTP/1.1 200"));
}

fn which(name: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
        .ok_or(())
}

#[path = "web_browser.rs"]
mod browser;

#[path = "web_desk.rs"]
mod desk;

pub fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
