//! The desk in a real browser: Debian's Chromium driven through
//! chromedriver's WebDriver protocol (plain JSON over HTTP). Skipped, with
//! the reason printed, where chromium or chromedriver is not installed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{add_user, failing_form, wait_for, workbook, Server};
use crate::common::{annex1, Env};

const CHROMIUM: &str = "/usr/bin/chromium";
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

struct Driver {
    child: Child,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One WebDriver request. chromedriver answers `Connection: close` but
/// keeps the connection open, so the answer is read by its Content-Length.
fn call(port: u16, method: &str, path: &str, body: Option<Value>) -> Value {
    try_call(port, method, path, body).unwrap_or_else(|e| panic!("{e}"))
}

fn try_call(port: u16, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        bytes.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&bytes).unwrap();
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: {status_line:?}"));
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap();
            }
        }
    }
    let mut answer = vec![0; length];
    reader.read_exact(&mut answer).unwrap();
    let v: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
    if status >= 300 {
        return Err(format!(
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(&answer)
        ));
    }
    Ok(v["value"].clone())
}

impl Driver {
    fn start(downloads: &Path) -> Option<Driver> {
        let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
            .into_iter()
            .map(PathBuf::from)
            .find(|p| p.is_file());
        let (true, Some(driver)) = (Path::new(CHROMIUM).is_file(), driver) else {
            eprintln!("skipped: chromium and chromium-driver are not installed");
            return None;
        };
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--window-size=1366,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                },
            },
        }}});
        let mut d = Driver {
            child,
            port,
            session: String::new(),
            _profile: profile,
        };
        let v = call(port, "POST", "/session", Some(caps));
        d.session = v["sessionId"].as_str().unwrap().to_string();
        Some(d)
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        call(
            self.port,
            method,
            &format!("/session/{}{path}", self.session),
            body,
        )
    }

    fn go(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    fn find(&self, css: &str) -> String {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string()
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.cmd("POST", &format!("/element/{e}/click"), Some(json!({})));
    }

    /// The text of `css`, or `None` while the page has no such element.
    fn try_text(&self, css: &str) -> Option<String> {
        let session = format!("/session/{}", self.session);
        let found = json!({"using": "css selector", "value": css});
        let e = try_call(
            self.port,
            "POST",
            &format!("{session}/element"),
            Some(found),
        )
        .ok()?;
        let id = e[ELEMENT].as_str()?;
        let text = try_call(
            self.port,
            "GET",
            &format!("{session}/element/{id}/text"),
            None,
        );
        text.ok()?.as_str().map(String::from)
    }

    /// Waits until the page has `css` with `text`.
    fn wait_text(&self, css: &str, text: &str) {
        wait_for(text, || self.try_text(css).as_deref() == Some(text));
    }

    fn text(&self, css: &str) -> String {
        let e = self.find(css);
        self.cmd("GET", &format!("/element/{e}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// With `ZWYUN_SCREENSHOTS=DIR`, saves the page as DIR/NAME.png (how
    /// the README's pictures are made).
    fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("ZWYUN_SCREENSHOTS") else {
            return;
        };
        use base64::Engine;
        let png = self.cmd("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap())
            .unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), bytes).unwrap();
    }

    /// The same with the window `height` px tall (a long page whole).
    fn screenshot_tall(&self, name: &str, height: u32) {
        if std::env::var_os("ZWYUN_SCREENSHOTS").is_none() {
            return;
        }
        let rect = |h: u32| json!({"width": 1366, "height": h});
        self.cmd("POST", "/window/rect", Some(rect(height)));
        self.screenshot(name);
        self.cmd("POST", "/window/rect", Some(rect(900)));
    }

    fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap().to_string()
    }

    /// Waits until the page's address satisfies `f` (a click may return
    /// before the page it leads to is there).
    fn wait_url(&self, f: impl Fn(&str) -> bool) -> String {
        let mut url = String::new();
        wait_for("the next page", || {
            url = self.url();
            f(&url)
        });
        url
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let session = format!("/session/{}", self.session);
            let port = self.port;
            // Ends the browser; a failure here must not hide the test's own.
            let _ = std::panic::catch_unwind(|| call(port, "DELETE", &session, None));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for the finished file named `*.ext` in `dir` (Chromium writes to
/// a hidden or `.crdownload` name first).
fn downloaded(dir: &Path, ext: &str) -> PathBuf {
    let mut got = None;
    wait_for("the download", || {
        got = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == ext));
        got.is_some()
    });
    got.unwrap()
}

#[test]
fn web_browser_upload_fix_approve_record_download() {
    let started = Instant::now();
    let downloads = tempfile::tempdir().unwrap();
    let Some(browser) = Driver::start(downloads.path()) else {
        return;
    };
    let env = Env::new();
    add_user(&env, "王芳", "经办", "correct horse battery");
    let server = Server::start_in(env, &["--public-upload"]);
    let base = format!("http://127.0.0.1:{}", server.port);
    browser.go(&format!("{base}/"));
    assert!(browser.url().ends_with("/login"), "{}", browser.url());
    browser.type_into("#name", "王芳");
    browser.type_into("#password", "correct horse battery");
    browser.click("#login");
    browser.wait_url(|u| u.ends_with("/agenda"));
    // A failing form: the problems are on the page.
    let (bad, _) = workbook(&failing_form(), &server.env, "申请表-初稿.xlsx");
    browser.go(&format!("{base}/upload"));
    browser.type_into("#file", bad.to_str().unwrap());
    browser.click("#send");
    browser.wait_url(|u| u.contains("/submissions/"));
    assert_eq!(browser.text("#verdict"), "未通过");
    let problems = browser.text("#problems");
    assert!(
        problems.contains("B3") && problems.contains("申请单位"),
        "{problems}"
    );
    browser.screenshot("web-report");
    // The fixed form passes and is approved (today, the date offered).
    let (good, _) = workbook(&annex1(), &server.env, "申请表-修改后.xlsx");
    browser.go(&format!("{base}/upload"));
    browser.type_into("#file", good.to_str().unwrap());
    browser.click("#send");
    browser.wait_url(|u| u.contains("/submissions/"));
    assert_eq!(browser.text("#verdict"), "通过");
    browser.click("#approve");
    browser.wait_url(|u| u.ends_with("/approve"));
    browser.screenshot("web-approve");
    browser.click("#confirm");
    browser.wait_text("h1", "已批准");
    let said = browser.text("main");
    assert!(said.contains("已登记项目“SJ-2026-017”的批准配额"), "{said}");
    // The agenda has the quota's platform entry, no delivery yet.
    browser.go(&format!("{base}/agenda"));
    let agenda = browser.text("#agenda");
    assert!(agenda.contains("录入市级平台"), "{agenda}");
    assert!(!agenda.contains("测试资源发放"), "{agenda}");
    // From the agenda to the project; the test agreement signed today.
    browser.click("#agenda a[href='/projects/SJ-2026-017']");
    browser.wait_url(|u| u.ends_with("/projects/SJ-2026-017"));
    assert_eq!(browser.text("#state"), "已批准配额");
    browser.click("#record-test-signed");
    browser.wait_text("h1", "已登记");
    let said = browser.text("#recorded");
    assert!(
        said.contains("已登记项目 SJ-2026-017 的测试协议") && said.contains("登记人 王芳"),
        "{said}"
    );
    // The provider's delivery is now on the agenda.
    browser.go(&format!("{base}/agenda"));
    let agenda = browser.text("#agenda");
    assert!(agenda.contains("测试资源发放"), "{agenda}");
    browser.screenshot("web-agenda");
    browser.go(&format!("{base}/projects"));
    assert!(browser.text("#projects").contains("测试中"));
    browser.screenshot("web-projects");
    browser.go(&format!("{base}/projects/SJ-2026-017"));
    assert_eq!(browser.text("#state"), "测试中");
    assert!(browser.text("#history").contains("测试协议"));
    browser.screenshot_tall("web-project", 2000);
    // Download the agreement and open it.
    browser.click("#doc-test-agreement");
    let path = downloaded(downloads.path(), "docx");
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"PK"), "{}", path.display());
    assert!(
        path.to_string_lossy().contains("测试资源服务使用意向协议"),
        "{}",
        path.display()
    );
    let text = crate::render::docx_text(&bytes);
    assert!(
        text.contains("松江区企业服务综合平台"),
        "the agreement names the project"
    );
    // A unit on the public page sees its problems at once.
    browser.go(&format!("{base}/u"));
    browser.type_into("#file", bad.to_str().unwrap());
    browser.click("#send");
    browser.wait_url(|u| u.contains("/r/"));
    assert_eq!(browser.text("#verdict"), "未通过");
    assert!(browser.text("#files").contains("问题清单.xlsx"));
    browser.screenshot("web-public");
    eprintln!("browser test: {:.1} s", started.elapsed().as_secs_f64());
}
