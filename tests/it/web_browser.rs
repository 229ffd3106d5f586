//! The desk in a real browser: Debian's Chromium driven through
//! chromedriver's WebDriver protocol (plain JSON over HTTP). Skipped, with
//! the reason printed, where chromium or chromedriver is not installed.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{add_user, failing_form, raw, wait_for, workbook, Server};
use crate::common::{annex1, Env};

const CHROMIUM: &str = "/usr/bin/chromium";
const ELEMENT: &str = "element-6066-11e4-a6c3-4e24df1e4a8e";

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

fn call(port: u16, method: &str, path: &str, body: Option<Value>) -> Value {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let headers: &[(&str, &str)] = if bytes.is_empty() {
        &[]
    } else {
        &[("Content-Type", "application/json")]
    };
    let r = raw(port, method, path, headers, &bytes);
    let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.text());
    v["value"].clone()
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
                    "--headless", "--no-sandbox", "--disable-gpu",
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

    fn url(&self) -> String {
        self.cmd("GET", "/url", None).as_str().unwrap().to_string()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = raw(
                self.port,
                "DELETE",
                &format!("/session/{}", self.session),
                &[],
                b"",
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "unfinished: an element lookup fails in chromedriver (see the session report); run with --ignored"]
fn web_browser_upload_fix_approve_download() {
    let downloads = tempfile::tempdir().unwrap();
    let Some(browser) = Driver::start(downloads.path()) else {
        return;
    };
    let env = Env::new();
    add_user(&env, "王芳", "经办", "correct horse battery");
    let server = Server::start_in(env, &["--public-upload"]);
    let base = format!("http://127.0.0.1:{}", server.port);
    browser.go(&format!("{base}/"));
    assert!(browser.url().ends_with("/login"));
    browser.type_into("#name", "王芳");
    browser.type_into("#password", "correct horse battery");
    browser.click("#login");
    assert!(browser.url().ends_with("/submissions"), "{}", browser.url());
    // A failing form: the problems are on the page.
    let (bad, _) = workbook(&failing_form(), &server.env, "申请表-初稿.xlsx");
    browser.go(&format!("{base}/upload"));
    browser.type_into("#file", bad.to_str().unwrap());
    browser.click("#send");
    assert_eq!(browser.text("#verdict"), "未通过");
    let problems = browser.text("#problems");
    assert!(
        problems.contains("B3") && problems.contains("申请单位"),
        "{problems}"
    );
    browser.screenshot("web-report");
    // The fixed form passes and is approved.
    let (good, _) = workbook(&annex1(), &server.env, "申请表-修改后.xlsx");
    browser.go(&format!("{base}/upload"));
    browser.type_into("#file", good.to_str().unwrap());
    browser.click("#send");
    assert_eq!(browser.text("#verdict"), "通过");
    let files = browser.text("#files");
    assert!(files.contains("开通情况表"), "{files}");
    browser.click("#approve");
    browser.screenshot("web-approve");
    browser.click("#confirm");
    let said = browser.text("main");
    assert!(said.contains("已登记项目“SJ-2026-017”的批准配额"), "{said}");
    // Download a generated file through the browser.
    browser.go(&format!("{base}/submissions"));
    browser.screenshot("web-submissions");
    browser.click("tr.valid td a");
    let link = browser.find("#files li a[href$='/files/2']");
    browser.cmd("POST", &format!("/element/{link}/click"), Some(json!({})));
    let mut got = None;
    wait_for("the download", || {
        got = std::fs::read_dir(downloads.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                let n = p.to_string_lossy();
                !n.ends_with(".crdownload") && !n.ends_with(".tmp")
            });
        got.is_some()
    });
    let path = got.unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"PK"), "{}", path.display());
    assert!(
        path.to_string_lossy().contains("SJ-2026-017") || path.to_string_lossy().contains("松江"),
        "{}",
        path.display()
    );
    // A unit on the public page sees its problems at once.
    browser.go(&format!("{base}/u"));
    browser.type_into("#file", bad.to_str().unwrap());
    browser.click("#send");
    assert!(browser.url().contains("/r/"));
    assert_eq!(browser.text("#verdict"), "未通过");
    assert!(browser.text("#files").contains("问题清单.xlsx"));
    browser.screenshot("web-public");
}
