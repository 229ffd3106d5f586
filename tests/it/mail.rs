//! E-mail intake and replies against real servers on 127.0.0.1: Debian's
//! dovecot (IMAP, unprivileged, from a temp dir) and aiosmtpd (SMTP,
//! writing into a Maildir), with a test CA and a leaf certificate.

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use mailparse::{MailHeaderMap, ParsedMail};

use crate::common::*;

const PASSWORD: &str = "s3cret-密码";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (bounded) until something listens on `port`.
fn wait_listening(port: u16, why: &dyn Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "server on port {port} did not start: {}",
            why()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn sh(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA and a leaf certificate for localhost / 127.0.0.1 signed by it
/// (rustls refuses a self-signed CA certificate as a server certificate).
struct Certs {
    ca: PathBuf,
    leaf: PathBuf,
    key: PathBuf,
}

fn certs(dir: &Path) -> Certs {
    let p = |n: &str| dir.join(n);
    sh(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=zwyun test CA"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
        .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        .arg("-keyout")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.pem")));
    sh(Command::new("openssl")
        .args([
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(p("leaf.key"))
        .arg("-out")
        .arg(p("leaf.csr")));
    std::fs::write(
        p("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    sh(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(p("leaf.csr"))
        .arg("-CA")
        .arg(p("ca.pem"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("leaf.pem"))
        .arg("-extfile")
        .arg(p("ext.cnf")));
    Certs {
        ca: p("ca.pem"),
        leaf: p("leaf.pem"),
        key: p("leaf.key"),
    }
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn id_of(user: &str, flag: &str) -> String {
    let mut cmd = Command::new("id");
    cmd.arg(flag);
    if !user.is_empty() {
        cmd.arg(user);
    }
    let out = cmd.output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Dovecot serving one user's Maildir over IMAPS (implicit TLS) and IMAP
/// with STARTTLS, started in the foreground and stopped on drop.
struct Dovecot {
    child: Child,
    imaps: u16,
    imap: u16,
    maildir: PathBuf,
}

impl Dovecot {
    fn start(dir: &Path, certs: &Certs) -> Dovecot {
        let root = dir.join("dovecot");
        std::fs::create_dir_all(&root).unwrap();
        chmod(dir, 0o755);
        chmod(&root, 0o755);
        let maildir = root.join("mail");
        for sub in ["", "cur", "new", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
            chmod(&maildir.join(sub), 0o777);
        }
        let home = root.join("home");
        std::fs::create_dir_all(&home).unwrap();
        chmod(&home, 0o777);
        // Dovecot never runs its login processes as root: as root, the
        // Debian package's unprivileged users serve; otherwise ourselves.
        let me = id_of("", "-un");
        let root_user = me == "root";
        let (login, internal) = if root_user {
            ("dovenull".to_string(), "dovecot".to_string())
        } else {
            (me.clone(), me.clone())
        };
        let uid = id_of(&internal, "-u");
        let gid = id_of(&internal, "-g");
        let group = id_of(&internal, "-gn");
        let (imaps, imap) = (free_port(), free_port());
        let r = root.display();
        std::fs::write(
            root.join("passwd"),
            format!(
                "clerk:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{}\n",
                home.display()
            ),
        )
        .unwrap();
        let conf = format!(
            "base_dir = {r}/run\nstate_dir = {r}/state\nlog_path = {r}/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\n\
             default_login_user = {login}\ndefault_internal_user = {internal}\ndefault_internal_group = {group}\n\
             first_valid_uid = 1\n\
             ssl = required\nssl_cert = <{}\nssl_key = <{}\n\
             auth_mechanisms = plain login\nmail_location = maildir:{}\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN {r}/passwd\n}}\n\
             userdb {{\n  driver = static\n  args = uid={uid} gid={gid} home={}\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    port = {imap}\n  }}\n  inet_listener imaps {{\n    port = {imaps}\n    ssl = yes\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\nservice stats {{\n  chroot =\n}}\n",
            certs.leaf.display(),
            certs.key.display(),
            maildir.display(),
            home.display()
        );
        std::fs::write(root.join("dovecot.conf"), conf).unwrap();
        let child = Command::new("/usr/sbin/dovecot")
            .arg("-F")
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(root.join("stderr.txt")).unwrap())
            .spawn()
            .expect(
                "dovecot missing: run bash scripts/test.sh, which installs what the tests need",
            );
        let why = || {
            let read = |n: &str| std::fs::read_to_string(root.join(n)).unwrap_or_default();
            format!("dovecot: {}{}", read("stderr.txt"), read("dovecot.log"))
        };
        wait_listening(imaps, &why);
        wait_listening(imap, &why);
        Dovecot {
            child,
            imaps,
            imap,
            maildir,
        }
    }

    /// Puts a message into INBOX as a mail client's delivery would.
    fn deliver(&self, name: &str, raw: &[u8]) {
        let tmp = self.maildir.join("tmp").join(name);
        std::fs::write(&tmp, raw).unwrap();
        chmod(&tmp, 0o666);
        std::fs::rename(&tmp, self.maildir.join("new").join(name)).unwrap();
    }

    fn tree(&self) -> String {
        let out = Command::new("find").arg(&self.maildir).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn count(&self, folder: &str) -> usize {
        let base = if folder == "INBOX" {
            self.maildir.clone()
        } else {
            self.maildir.join(format!(".{folder}"))
        };
        ["cur", "new"]
            .iter()
            .map(|d| {
                std::fs::read_dir(base.join(d))
                    .map(|r| r.count())
                    .unwrap_or(0)
            })
            .sum()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SAFETY: signalling our own child by its pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let _ = self.child.wait();
    }
}

/// `已处理` as an IMAP (modified UTF-7) folder name on disk.
const DONE: &str = "&XfJZBHQG-";

/// aiosmtpd accepting mail (STARTTLS or implicit TLS, with login) into a Maildir.
struct Smtpd {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Smtpd {
    fn start(dir: &Path, certs: &Certs, tls: &str, refuse_first: u32) -> Smtpd {
        Smtpd::start_refusing(dir, certs, tls, refuse_first, &[])
    }

    /// As `start`, answering RCPT TO of each of `refuse_rcpt` with 550.
    fn start_refusing(
        dir: &Path,
        certs: &Certs,
        tls: &str,
        refuse_first: u32,
        refuse_rcpt: &[&str],
    ) -> Smtpd {
        let port = free_port();
        let maildir = dir.join(format!("smtp-{port}"));
        let mut cmd = Command::new("/usr/bin/python3");
        cmd.arg(repo().join("tests/it/mail/smtpd.py"))
            .arg(port.to_string())
            .arg(&maildir)
            .arg(&certs.leaf)
            .arg(&certs.key)
            .arg(tls)
            .arg("--refuse-first")
            .arg(refuse_first.to_string())
            .arg("--auth")
            .arg(format!("clerk:{PASSWORD}"));
        for a in refuse_rcpt {
            cmd.arg("--refuse-rcpt").arg(a);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 with aiosmtpd missing: run bash scripts/test.sh, which installs what the tests need");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "READY", "aiosmtpd did not start");
        wait_listening(port, &|| "aiosmtpd".to_string());
        Smtpd {
            child,
            port,
            maildir,
        }
    }

    /// The messages delivered so far, raw.
    fn delivered(&self) -> Vec<Vec<u8>> {
        let mut files: Vec<_> = ["new", "cur"]
            .iter()
            .flat_map(|d| {
                std::fs::read_dir(self.maildir.join(d))
                    .into_iter()
                    .flatten()
            })
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        files.iter().map(|f| std::fs::read(f).unwrap()).collect()
    }

    fn envelopes(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.maildir.join("envelopes.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Servers, certificates and a drop folder in one temp dir.
struct World {
    env: Env,
    certs: Certs,
    imap: Dovecot,
    smtp: Smtpd,
}

impl World {
    fn new(smtp_tls: &str, refuse_first: u32) -> World {
        World::refusing(smtp_tls, refuse_first, &[])
    }

    /// A world whose SMTP server refuses RCPT TO of `refuse_rcpt` (550).
    fn refusing(smtp_tls: &str, refuse_first: u32, refuse_rcpt: &[&str]) -> World {
        let env = Env::new();
        std::fs::create_dir_all(env.path("inbox")).unwrap();
        let certs = certs(env.dir.path());
        let imap = Dovecot::start(env.dir.path(), &certs);
        let smtp =
            Smtpd::start_refusing(env.dir.path(), &certs, smtp_tls, refuse_first, refuse_rcpt);
        World {
            env,
            certs,
            imap,
            smtp,
        }
    }

    /// Writes `mail.yaml`; `extra` adds or overrides top-level keys.
    fn config(&self, imap_tls: &str, smtp_tls: &str, extra: &str) -> PathBuf {
        let imap_port = if imap_tls == "implicit" {
            self.imap.imaps
        } else {
            self.imap.imap
        };
        let yaml = format!(
            "imap: {{host: localhost, port: {imap_port}, tls: {imap_tls}, user: clerk, password_env: ZWYUN_TEST_IMAP_PASSWORD, folder: INBOX, done_folder: 已处理}}\n\
             smtp: {{host: localhost, port: {}, tls: {smtp_tls}, user: clerk, password_file: smtp-password.txt, from: \"松江区科创服务中心 <clerk@example.cn>\"}}\n\
             ca_file: {}\n{extra}",
            self.smtp.port,
            self.certs.ca.display()
        );
        std::fs::write(self.env.path("smtp-password.txt"), format!("{PASSWORD}\n")).unwrap();
        let path = self.env.path("mail.yaml");
        std::fs::write(&path, yaml).unwrap();
        path
    }

    fn zwyun(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .current_dir(self.env.dir.path())
            .env("ZWYUN_SCHEMAS", repo().join("schemas"))
            .env("ZWYUN_TEMPLATES", repo().join("templates"))
            .env("ZWYUN_TEST_IMAP_PASSWORD", PASSWORD)
            .env_remove("ZWYUN_LEDGER")
            .env_remove("ZWYUN_MAIL");
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    fn process(&self, vars: &[(&str, &str)]) -> Output {
        self.zwyun(
            &[
                "process",
                "inbox",
                "--out",
                "out",
                "--mail",
                "mail.yaml",
                "--stable",
                "0.2",
            ],
            vars,
        )
    }

    fn ledger(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.env.path("zwyun.db")).unwrap()
    }

    fn count(&self, sql: &str) -> i64 {
        self.ledger().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn workbook(unit: &str, code: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.xlsx");
    let mut f = annex1();
    f.set("B3", unit).set("B4", code);
    f.write(&path);
    std::fs::read(path).unwrap()
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn workbook_with_email(unit: &str, code: &str, email: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.xlsx");
    let mut f = annex1();
    f.set("B3", unit).set("B4", code).set("H6", email);
    f.write(&path);
    std::fs::read(path).unwrap()
}

fn invalid_workbook(code: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.xlsx");
    let mut f = annex1();
    f.set("B4", code).clear("B9");
    f.write(&path);
    std::fs::read(path).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    let s = base64::engine::general_purpose::STANDARD.encode(bytes);
    s.as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n")
}

fn gbk(s: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(s).0.into_owned()
}

/// As Foxmail sends it: GB2312 subject and body, the attachment name as
/// raw 8-bit GBK bytes.
fn foxmail(id: &str, name: &str, attachment: &[u8]) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(
        format!(
            "From: =?gb2312?B?{}?= <unit@songjiang.gov.cn>\r\nTo: clerk@example.cn\r\nSubject: =?gb2312?B?{}?=\r\nDate: Fri, 27 Nov 2026 09:30:00 +0800\r\nMessage-ID: <{id}>\r\nX-Mailer: Foxmail 7.2.25.228[cn]\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"----=_NextPart_001\"\r\n\r\n------=_NextPart_001\r\nContent-Type: text/plain; charset=\"gb2312\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\r\n------=_NextPart_001\r\nContent-Type: application/octet-stream; name=\"",
            b64(&gbk("张三")),
            b64(&gbk("政务云资源申请")),
            b64(&gbk("您好,附件是我单位的申请表,请审核。"))
        )
        .as_bytes(),
    );
    m.extend(gbk(name));
    m.extend_from_slice(
        b"\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"",
    );
    m.extend(gbk(name));
    m.extend_from_slice(
        format!(
            "\"\r\n\r\n{}\r\n\r\n------=_NextPart_001--\r\n",
            b64(attachment)
        )
        .as_bytes(),
    );
    m
}

fn pct(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

/// As a webmail sends it: UTF-8, the file name in RFC 2231 form.
fn webmail(
    id: &str,
    from: &str,
    subject: &str,
    attachments: &[(&str, &[u8])],
    extra: &str,
) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: clerk@example.cn\r\nSubject: =?UTF-8?B?{}?=\r\nDate: Sat, 28 Nov 2026 10:00:00 +0800\r\nMessage-ID: <{id}>\r\n{extra}MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n请查收。\r\n",
        b64(subject.as_bytes())
    );
    for (name, bytes) in attachments {
        m.push_str(&format!(
            "--b1\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename*=UTF-8''{}\r\n\r\n{}\r\n",
            pct(name),
            b64(bytes)
        ));
    }
    m.push_str("--b1--\r\n");
    m.into_bytes()
}

/// A forward: the original message attached whole (message/rfc822).
fn forwarded(id: &str, inner: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "From: office@songjiang.gov.cn\r\nTo: clerk@example.cn\r\nSubject: =?UTF-8?B?{}?=\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"fw\"\r\n\r\n--fw\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nForwarded.\r\n--fw\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment\r\n\r\n",
        b64("转发:变更申请".as_bytes())
    )
    .into_bytes();
    m.extend_from_slice(inner);
    m.extend_from_slice(b"\r\n--fw--\r\n");
    m
}

fn plain(id: &str, from: &str, subject: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: clerk@example.cn\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n"
    )
    .into_bytes()
}

/// A delivered reply, parsed.
struct Reply {
    raw: Vec<u8>,
}

impl Reply {
    fn mail(&self) -> ParsedMail<'_> {
        mailparse::parse_mail(&self.raw).unwrap()
    }

    fn header(&self, name: &str) -> String {
        self.mail()
            .headers
            .get_first_value(name)
            .unwrap_or_default()
    }

    fn body(&self) -> String {
        let m = self.mail();
        m.subparts
            .first()
            .map(|p| p.get_body().unwrap())
            .unwrap_or_default()
    }

    /// (filename from Content-Disposition, name from Content-Type, raw headers).
    fn attachments(&self) -> Vec<(String, String, String)> {
        let m = self.mail();
        m.subparts
            .iter()
            .skip(1)
            .map(|p| {
                let d = p.get_content_disposition();
                let raw = String::from_utf8_lossy(p.get_headers().get_raw_bytes()).into_owned();
                (
                    d.params.get("filename").cloned().unwrap_or_default(),
                    p.ctype.params.get("name").cloned().unwrap_or_default(),
                    raw,
                )
            })
            .collect()
    }
}

fn replies(smtp: &Smtpd) -> Vec<Reply> {
    smtp.delivered()
        .into_iter()
        .map(|raw| Reply { raw })
        .collect()
}

fn reply_to<'a>(all: &'a [Reply], in_reply_to: &str) -> &'a Reply {
    all.iter()
        .find(|r| r.header("In-Reply-To").contains(in_reply_to))
        .unwrap_or_else(|| panic!("no reply to {in_reply_to}"))
}

#[test]
fn mail_round_trip_one_process_pass() {
    let w = World::new("starttls", 0);
    w.config("implicit", "starttls", "");
    let fox = workbook("上海市松江区某某局", "SJ-2026-101");
    w.imap.deliver(
        "1.fox",
        &foxmail("fox-1@songjiang.gov.cn", "附件1-政务云申请表.xlsx", &fox),
    );
    let web = workbook("上海市松江区网信办", "SJ-2026-102");
    w.imap.deliver(
        "2.web",
        &webmail(
            "web-2@example.cn",
            "wang@example.cn",
            "资源申请(网信办)",
            &[("附件1-网信办.xlsx", &web)],
            "",
        ),
    );
    let inner = webmail(
        "orig-3@example.cn",
        "li@example.cn",
        "原始申请",
        &[(
            "附件1-转发.xlsx",
            &workbook("上海市松江区转发局", "SJ-2026-103"),
        )],
        "",
    );
    w.imap
        .deliver("3.fwd", &forwarded("fwd-3@songjiang.gov.cn", &inner));
    w.imap.deliver(
        "4.none",
        &plain("none-4@example.cn", "zhao@example.cn", "question", ""),
    );
    w.imap.deliver(
        "5.pdf",
        &webmail(
            "pdf-5@example.cn",
            "qian@example.cn",
            "扫描件",
            &[("申请表扫描件.pdf", b"%PDF-1.4 x")],
            "",
        ),
    );
    w.imap.deliver(
        "6.auto",
        &plain(
            "auto-6@example.cn",
            "sun@example.cn",
            "Out of office",
            "Auto-Submitted: auto-replied\r\n",
        ),
    );

    let out = w.process(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("收取 6 封"), "{}", text(&out));

    // Every message moved to 已处理, created on the way.
    assert_eq!(w.imap.count("INBOX"), 0);
    assert_eq!(w.imap.count(DONE), 6, "{}", w.imap.tree());

    // Submissions processed under their decoded names, origins recorded.
    let status = String::from_utf8(w.zwyun(&["status"], &[]).stdout).unwrap();
    for name in [
        "附件1-政务云申请表.xlsx",
        "附件1-网信办.xlsx",
        "附件1-转发.xlsx",
    ] {
        assert!(status.contains(name), "{name} missing in status:\n{status}");
    }
    assert_eq!(
        w.count("SELECT COUNT(*) FROM submissions WHERE status = 'valid'"),
        3
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mail_messages WHERE sender = 'unit@songjiang.gov.cn' AND message_id = '<fox-1@songjiang.gov.cn>' AND subject = '政务云资源申请'"),
        1
    );

    // Five replies; the auto-reply is never answered.
    let all = replies(&w.smtp);
    assert_eq!(all.len(), 5, "{}", text(&out));
    assert!(all
        .iter()
        .all(|r| !r.header("In-Reply-To").contains("auto-6")));

    let fox_reply = reply_to(&all, "<fox-1@songjiang.gov.cn>");
    assert_eq!(fox_reply.header("Subject"), "回复:政务云资源申请");
    assert!(fox_reply
        .header("References")
        .contains("<fox-1@songjiang.gov.cn>"));
    assert_eq!(fox_reply.header("To"), "unit@songjiang.gov.cn");
    assert_eq!(fox_reply.header("Auto-Submitted"), "auto-replied");
    assert!(
        fox_reply.body().contains("受理回执"),
        "{}",
        fox_reply.body()
    );
    let atts = fox_reply.attachments();
    let names: Vec<&str> = atts.iter().map(|a| a.0.as_str()).collect();
    assert!(
        names.contains(&"受理回执-附件1-政务云申请表.txt"),
        "each receipt named after its workbook: {names:?}"
    );
    assert!(names.iter().any(|n| n.ends_with(".docx")), "{names:?}");
    for (filename, name, raw) in &atts {
        assert_eq!(filename, name, "RFC 2231 filename and RFC 2047 name agree");
        assert!(raw.contains("filename*0*=utf-8''"), "RFC 2231 form: {raw}");
        assert!(raw.contains("name=\"=?UTF-8?B?"), "RFC 2047 name=: {raw}");
    }
    // The form's 电子邮箱 is copied.
    assert!(fox_reply.header("Cc").contains("zhangsan@example.gov.cn"));
    let envelopes = w.smtp.envelopes();
    assert!(envelopes.iter().any(|e| e["to"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == "zhangsan@example.gov.cn")));

    let fwd = reply_to(&all, "<fwd-3@songjiang.gov.cn>");
    assert!(fwd.body().contains("附件1-转发.xlsx"), "{}", fwd.body());
    assert_eq!(fwd.header("Subject"), "回复:转发:变更申请");

    let none = reply_to(&all, "<none-4@example.cn>");
    assert!(
        none.body().contains("没有找到 Excel 工作簿"),
        "{}",
        none.body()
    );
    let pdf = reply_to(&all, "<pdf-5@example.cn>");
    assert!(pdf.body().contains("申请表扫描件.pdf"), "{}", pdf.body());

    // A second pass takes nothing twice and sends nothing twice.
    let again = w.process(&[]);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(replies(&w.smtp).len(), 5);
    assert_eq!(w.count("SELECT COUNT(*) FROM mail_messages"), 6);
}

#[test]
fn mail_invalid_form_gets_problem_list_over_implicit_tls() {
    let w = World::new("implicit", 0);
    w.config("starttls", "implicit", "");
    let dir = tempfile::tempdir().unwrap();
    let mut f = annex1();
    f.clear("B9");
    f.write(&dir.path().join("bad.xlsx"));
    let bad = std::fs::read(dir.path().join("bad.xlsx")).unwrap();
    w.imap.deliver(
        "1",
        &webmail(
            "bad-1@example.cn",
            "unit@example.cn",
            "申请",
            &[("附件1-有误.xlsx", &bad)],
            "",
        ),
    );
    let out = w.process(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let all = replies(&w.smtp);
    assert_eq!(all.len(), 1);
    let r = &all[0];
    assert!(r.body().contains("未通过校验"), "{}", r.body());
    let atts = r.attachments();
    assert_eq!(atts.len(), 1, "{atts:?}");
    assert!(atts[0].0.ends_with("问题清单.xlsx"), "{atts:?}");
}

#[test]
fn mail_smtp_refusing_first_attempt_is_retried_with_same_message_id() {
    let w = World::new("starttls", 1);
    w.config("implicit", "starttls", "");
    w.imap.deliver(
        "1",
        &webmail(
            "r-1@example.cn",
            "unit@example.cn",
            "申请",
            &[("a.xlsx", &workbook("上海市松江区某某局", "SJ-2026-201"))],
            "",
        ),
    );
    let out = w.process(&[]);
    assert!(out.status.success(), "{}", text(&out));
    let all = replies(&w.smtp);
    assert_eq!(all.len(), 1);
    let (id, attempts, state): (String, i64, String) = w
        .ledger()
        .query_row(
            "SELECT message_id, attempts, state FROM mail_replies",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((attempts, state.as_str()), (2, "sent"));
    assert_eq!(all[0].header("Message-ID"), id);
}

#[test]
fn mail_failed_send_waits_in_status_and_mail_send_delivers() {
    let mut w = World::new("starttls", 100);
    w.config("implicit", "starttls", "");
    w.imap.deliver(
        "1",
        &webmail(
            "f-1@example.cn",
            "unit@example.cn",
            "申请",
            &[("a.xlsx", &workbook("上海市松江区某某局", "SJ-2026-301"))],
            "",
        ),
    );
    let out = w.process(&[]);
    // An outage, not a configuration error: exit code 3.
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("未能发送"), "{}", text(&out));
    assert!(text(&out).contains("服务器暂时拒绝"), "{}", text(&out));
    assert!(!text(&out).contains("transient error"), "{}", text(&out));
    // The retry schedule: 1 minute after the first pass, then 2.
    let wait = || -> f64 {
        w.ledger()
            .query_row(
                "SELECT (julianday(next_attempt) - julianday('now', 'localtime')) * 1440 FROM mail_replies",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    assert!((0.5..=1.05).contains(&wait()), "first wait {} min", wait());
    let status = text(&w.zwyun(&["status"], &[]));
    assert!(status.contains("待发送 1"), "{status}");
    assert!(status.contains("已尝试 3 次"), "{status}");
    assert!(status.contains("后重试"), "{status}");
    // Not due yet: another pass does not hammer the server.
    w.process(&[]);
    assert_eq!(w.count("SELECT attempts FROM mail_replies"), 3);
    let again = w.zwyun(&["mail", "send", "--mail", "mail.yaml"], &[]);
    assert_eq!(again.status.code(), Some(3), "{}", text(&again));
    assert!((1.5..=2.05).contains(&wait()), "second wait {} min", wait());

    // The server recovers: `mail send` delivers what waits.
    w.smtp = Smtpd::start(w.env.dir.path(), &w.certs, "starttls", 0);
    w.config("implicit", "starttls", "");
    let sent = w.zwyun(&["mail", "send", "--mail", "mail.yaml"], &[]);
    assert!(sent.status.success(), "{}", text(&sent));
    let all = replies(&w.smtp);
    assert_eq!(all.len(), 1);
    let id: String = w
        .ledger()
        .query_row("SELECT message_id FROM mail_replies", [], |r| r.get(0))
        .unwrap();
    assert_eq!(all[0].header("Message-ID"), id);
    assert!(text(&w.zwyun(&["status"], &[])).contains("已发送 1"));
}

/// A crash (SIGABRT, as abrupt as kill -9) at each point of a pass loses
/// nothing and takes nothing twice; one after sending repeats the reply
/// with the same Message-ID.
#[test]
fn mail_crash_at_any_point_loses_nothing_takes_nothing_twice() {
    for point in ["saved", "recorded", "before-send", "after-send"] {
        let w = World::new("starttls", 0);
        w.config("implicit", "starttls", "");
        for i in 0..3 {
            w.imap.deliver(
                &format!("{i}"),
                &webmail(
                    &format!("k-{i}@example.cn"),
                    &format!("unit{i}@example.cn"),
                    "申请",
                    &[(
                        &format!("附件1-{i}.xlsx"),
                        &workbook(&format!("上海市松江区第{i}局"), &format!("SJ-2026-4{i:02}")),
                    )],
                    "",
                ),
            );
        }
        let crashed = w.process(&[("ZWYUN_TEST_MAIL_CRASH", point)]);
        assert!(!crashed.status.success(), "{point}: did not crash");
        let out = w.process(&[]);
        assert!(out.status.success(), "{point}: {}", text(&out));
        assert_eq!(w.count("SELECT COUNT(*) FROM mail_messages"), 3, "{point}");
        assert_eq!(
            w.count("SELECT COUNT(DISTINCT sha256) FROM mail_attachments"),
            3,
            "{point}"
        );
        assert_eq!(
            w.count("SELECT COUNT(*) FROM submissions WHERE status = 'valid'"),
            3,
            "{point}"
        );
        assert_eq!(
            w.count("SELECT COUNT(*) FROM mail_replies WHERE state = 'sent'"),
            3,
            "{point}"
        );
        assert_eq!(w.imap.count("INBOX"), 0, "{point}");
        assert_eq!(w.imap.count(DONE), 3, "{point}");
        let all = replies(&w.smtp);
        let mut ids: Vec<String> = all.iter().map(|r| r.header("Message-ID")).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 3, "{point}: every reply sent, none lost");
        let expected = if point == "after-send" { 4 } else { 3 };
        assert_eq!(all.len(), expected, "{point}");
    }
}

#[test]
fn mail_hold_writes_eml_and_mail_send_releases_it() {
    let w = World::new("starttls", 0);
    w.config("implicit", "starttls", "reply: hold\n");
    w.imap.deliver(
        "1",
        &webmail(
            "h-1@example.cn",
            "unit@example.cn",
            "申请",
            &[("a.xlsx", &workbook("上海市松江区某某局", "SJ-2026-501"))],
            "",
        ),
    );
    let out = w.process(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(replies(&w.smtp).is_empty());
    let held: Vec<_> = std::fs::read_dir(w.env.path("out/待发送邮件"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(held.len(), 1);
    assert!(held[0].file_name().to_string_lossy().ends_with(".eml"));
    assert!(text(&w.zwyun(&["status"], &[])).contains("暂存待审 1"));
    let sent = w.zwyun(&["mail", "send", "--mail", "mail.yaml"], &[]);
    assert!(sent.status.success(), "{}", text(&sent));
    assert_eq!(replies(&w.smtp).len(), 1);
    assert_eq!(
        std::fs::read_dir(w.env.path("out/已发送邮件"))
            .unwrap()
            .count(),
        1
    );
}

#[test]
fn mail_allow_list_rate_limit_and_size_limit() {
    let w = World::new("starttls", 0);
    w.config(
        "implicit",
        "starttls",
        "allow_domains: [songjiang.gov.cn]\nreplies_per_hour: 1\nmax_message_mb: 1\n",
    );
    let wb = workbook("上海市松江区某某局", "SJ-2026-601");
    w.imap.deliver(
        "1",
        &webmail(
            "a-1@x",
            "unit@songjiang.gov.cn",
            "一",
            &[("a.xlsx", &wb)],
            "",
        ),
    );
    w.imap
        .deliver("2", &plain("a-2@x", "unit@songjiang.gov.cn", "two", ""));
    w.imap
        .deliver("3", &plain("a-3@x", "stranger@elsewhere.com", "three", ""));
    let big = vec![b'x'; 1_200_000];
    w.imap.deliver(
        "4",
        &webmail(
            "a-4@x",
            "other@songjiang.gov.cn",
            "大",
            &[("big.xlsx", &big)],
            "",
        ),
    );
    let out = w.process(&[]);
    assert!(out.status.success(), "{}", text(&out));
    let all = replies(&w.smtp);
    // unit@: one sent, one held over the hourly limit; stranger: none;
    // the oversize message: a note and a reply saying so.
    assert_eq!(all.len(), 2, "{}", text(&out));
    assert!(all
        .iter()
        .all(|r| r.header("To") != "stranger@elsewhere.com"));
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mail_replies WHERE state = 'held'"),
        1
    );
    let big_reply = reply_to(&all, "<a-4@x>");
    assert!(
        big_reply.body().contains("超过受理上限"),
        "{}",
        big_reply.body()
    );
    let notes: Vec<_> = std::fs::read_dir(w.env.path("rejected"))
        .unwrap()
        .flatten()
        .collect();
    assert!(notes
        .iter()
        .any(|n| n.file_name().to_string_lossy().contains("超限")));
    assert_eq!(w.imap.count(DONE), 4);
}

#[test]
fn mail_check_says_what_works_and_what_does_not() {
    let w = World::new("starttls", 0);
    w.config("implicit", "starttls", "");
    let ok = w.zwyun(&["mail", "check", "--mail", "mail.yaml"], &[]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).contains("连接与登录成功"), "{}", text(&ok));
    assert!(
        text(&ok).contains("首次处理邮件时将自动创建"),
        "{}",
        text(&ok)
    );

    let wrong = w.zwyun(
        &["mail", "check", "--mail", "mail.yaml"],
        &[("ZWYUN_TEST_IMAP_PASSWORD", "wrong")],
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(text(&wrong).contains("登录被拒绝"), "{}", text(&wrong));
    assert!(
        !text(&wrong).contains("wrong"),
        "a password never appears in output"
    );

    // No ca_file: the test CA is not trusted, by either server.
    let yaml = std::fs::read_to_string(w.env.path("mail.yaml")).unwrap();
    let untrusted: String = yaml
        .lines()
        .filter(|l| !l.starts_with("ca_file"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(w.env.path("mail.yaml"), untrusted).unwrap();
    let out = w.zwyun(&["mail", "check", "--mail", "mail.yaml"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out).matches("证书不受信任").count(),
        2,
        "{}",
        text(&out)
    );

    std::fs::write(
        w.env.path("mail.yaml"),
        yaml.replace("folder: INBOX", "folder: 不存在"),
    )
    .unwrap();
    let out = w.zwyun(&["mail", "check", "--mail", "mail.yaml"], &[]);
    assert!(
        text(&out).contains("文件夹“不存在”不存在"),
        "{}",
        text(&out)
    );

    std::fs::write(
        w.env.path("mail.yaml"),
        yaml.replace(
            "password_env: ZWYUN_TEST_IMAP_PASSWORD",
            "password: hunter2",
        ),
    )
    .unwrap();
    let out = w.zwyun(&["mail", "check", "--mail", "mail.yaml"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("不允许把密码写在配置文件中"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("hunter2"));
}

#[test]
fn mail_watch_polls_the_mailbox_alongside_the_folder() {
    let w = World::new("starttls", 0);
    w.config("implicit", "starttls", "");
    w.imap.deliver(
        "1",
        &webmail(
            "w-1@example.cn",
            "unit@example.cn",
            "申请",
            &[("a.xlsx", &workbook("上海市松江区某某局", "SJ-2026-701"))],
            "",
        ),
    );
    let mut child = Command::new(bin())
        .args([
            "watch",
            "inbox",
            "--out",
            "out",
            "--stable",
            "0.2",
            "--mail-poll",
            "1",
        ])
        .current_dir(w.env.dir.path())
        .env("ZWYUN_SCHEMAS", repo().join("schemas"))
        .env("ZWYUN_TEMPLATES", repo().join("templates"))
        .env("ZWYUN_TEST_IMAP_PASSWORD", PASSWORD)
        .env("ZWYUN_MAIL", "mail.yaml")
        .env_remove("ZWYUN_LEDGER")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while replies(&w.smtp).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = child.kill();
    let _ = child.wait();
    let all = replies(&w.smtp);
    assert_eq!(all.len(), 1);
    assert!(all[0].header("In-Reply-To").contains("w-1@example.cn"));
    assert_eq!(w.imap.count(DONE), 1);
}

#[test]
fn mail_deleting_a_held_eml_withdraws_the_reply() {
    let w = World::new("starttls", 0);
    w.config("implicit", "starttls", "reply: hold\n");
    w.imap.deliver(
        "1",
        &plain("d-1@example.cn", "unit@example.cn", "hello", ""),
    );
    let out = w.process(&[]);
    assert!(out.status.success(), "{}", text(&out));
    for e in std::fs::read_dir(w.env.path("out/待发送邮件"))
        .unwrap()
        .flatten()
    {
        std::fs::remove_file(e.path()).unwrap();
    }
    w.zwyun(&["mail", "send", "--mail", "mail.yaml"], &[]);
    assert!(replies(&w.smtp).is_empty());
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mail_replies WHERE state = 'withdrawn'"),
        1
    );
    // A withdrawn reply stays withdrawn.
    w.zwyun(&["mail", "send", "--mail", "mail.yaml"], &[]);
    assert!(replies(&w.smtp).is_empty());
}

/// Where the 已处理 folder cannot be created (here its name is longer than
/// the server's file system allows), taken messages stay in the inbox
/// marked seen and flagged, and a second pass neither takes them again nor
/// replies twice.
#[test]
fn mail_unmovable_messages_are_flagged_and_taken_once() {
    let w = World::new("starttls", 0);
    let config = w.config("starttls", "starttls", "");
    let long = "已处理".repeat(40);
    let yaml = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        yaml.replace("done_folder: 已处理", &format!("done_folder: {long}")),
    )
    .unwrap();
    let book = workbook("上海市松江区某某局", "SJ-2026-111");
    w.imap.deliver(
        "1",
        &webmail(
            "flag-1@example.cn",
            "unit@example.cn",
            "申请",
            &[("附件1.xlsx", &book)],
            "",
        ),
    );
    for pass in 1..=2 {
        let out = w.process(&[]);
        assert_eq!(out.status.code(), Some(0), "pass {pass}: {}", text(&out));
        assert_eq!(replies(&w.smtp).len(), 1, "pass {pass}");
        assert_eq!(
            w.count("SELECT COUNT(*) FROM submissions"),
            1,
            "pass {pass}"
        );
        assert_eq!(w.imap.count("INBOX"), 1, "pass {pass}: {}", w.imap.tree());
    }
    let tree = w.imap.tree();
    let message = tree
        .lines()
        .find(|l| l.contains("/cur/"))
        .unwrap_or_else(|| panic!("no message in cur: {tree}"));
    let flags = message.rsplit(":2,").next().unwrap();
    assert!(flags.contains('F') && flags.contains('S'), "{message}");
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mail_messages WHERE state = 'flagged'"),
        1
    );
}

/// The form's 电子邮箱 refused by the server (550): the sender still gets
/// the reply, the refusal is recorded, shown by `status` and in the pass's
/// output, and nothing is retried or stuck.
#[test]
fn mail_refused_cc_still_reaches_the_sender_and_is_reported() {
    let w = World::refusing("starttls", 0, &["nobody@example.gov.cn"]);
    w.config("implicit", "starttls", "");
    w.imap.deliver(
        "1",
        &webmail(
            "cc-1@example.cn",
            "unit@example.cn",
            "申请",
            &[(
                "附件1.xlsx",
                &workbook_with_email("上海市松江区某某局", "SJ-2026-801", "nobody@example.gov.cn"),
            )],
            "",
        ),
    );
    let out = w.process(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("收件人被拒收:nobody@example.gov.cn"),
        "{}",
        text(&out)
    );
    let all = replies(&w.smtp);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].header("To"), "unit@example.cn");
    let envelopes = w.smtp.envelopes();
    assert_eq!(envelopes.len(), 1, "{envelopes:?}");
    assert_eq!(envelopes[0]["to"], serde_json::json!(["unit@example.cn"]));
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mail_replies WHERE state = 'sent'"),
        1
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mail_reply_recipients WHERE outcome = 'refused' AND address = 'nobody@example.gov.cn' AND detail LIKE '%550%'"),
        1
    );
    let status = text(&w.zwyun(&["status"], &[]));
    assert!(status.contains("被拒收的收件人"), "{status}");
    assert!(status.contains("nobody@example.gov.cn"), "{status}");
    // Nothing left to send, nothing sent again.
    let again = w.zwyun(&["mail", "send", "--mail", "mail.yaml"], &[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    w.process(&[]);
    assert_eq!(replies(&w.smtp).len(), 1);
}

/// Our own output coming back is never taken and never answered: our
/// reply forwarded as an attachment, our generated workbooks forwarded
/// inline, our reply itself, a message from our own address with our
/// headers stripped. A unit's answer to our reply with a corrected form
/// is processed and answered.
#[test]
fn mail_own_output_is_never_taken_nor_answered() {
    let w = World::new("starttls", 0);
    w.config("implicit", "starttls", "");
    w.imap.deliver(
        "1",
        &webmail(
            "own-1@example.cn",
            "unit@example.cn",
            "申请",
            &[("附件1-有误.xlsx", &invalid_workbook("SJ-2026-811"))],
            "",
        ),
    );
    w.imap.deliver(
        "2",
        &webmail(
            "own-2@example.cn",
            "unit@example.cn",
            "申请二",
            &[(
                "附件1-二.xlsx",
                &workbook("上海市松江区二局", "SJ-2026-812"),
            )],
            "",
        ),
    );
    let out = w.process(&[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let first = replies(&w.smtp);
    assert_eq!(first.len(), 2);
    let problems = reply_to(&first, "<own-1@example.cn>");
    let valid = reply_to(&first, "<own-2@example.cn>");
    let attached = |r: &Reply, ends: &str| -> (String, Vec<u8>) {
        let m = r.mail();
        m.subparts
            .iter()
            .skip(1)
            .find_map(|p| {
                let name = p
                    .get_content_disposition()
                    .params
                    .get("filename")
                    .cloned()?;
                name.ends_with(ends)
                    .then(|| (name, p.get_body_raw().unwrap()))
            })
            .unwrap_or_else(|| panic!("no {ends} attached"))
    };
    let (list_name, list) = attached(problems, "问题清单.xlsx");
    let (table_name, table) = attached(valid, "开通情况表(草稿).xlsx");
    let ours = problems.header("Message-ID");

    // A unit's rule forwards our reply back, as an attachment.
    w.imap
        .deliver("3", &forwarded("fwd-own@songjiang.gov.cn", &problems.raw));
    // An inline forward: our generated workbooks, our headers gone.
    w.imap.deliver(
        "4",
        &webmail(
            "inline-own@example.cn",
            "unit@example.cn",
            "转发:回复:申请",
            &[(&list_name, &list), (&table_name, &table)],
            "",
        ),
    );
    // Our reply itself, delivered back (a redirect keeps its Message-ID).
    let mut back = problems.raw.clone();
    let cut = back
        .windows(14)
        .position(|w| w == b"X-Zwyun-Reply:")
        .unwrap();
    back.splice(cut..cut + 2, b"X-Old".iter().copied());
    let cut = back
        .windows(15)
        .position(|w| w == b"Auto-Submitted:")
        .unwrap();
    back.splice(cut..cut + 4, b"X-Old".iter().copied());
    w.imap.deliver("5", &back);
    // From our own address, our headers stripped, with a real form.
    w.imap.deliver(
        "6",
        &webmail(
            "self@example.cn",
            "松江区科创服务中心 <CLERK@example.cn>",
            "申请",
            &[(
                "附件1-三.xlsx",
                &workbook("上海市松江区三局", "SJ-2026-813"),
            )],
            "",
        ),
    );
    // The unit answers our problem list with the corrected form.
    w.imap.deliver(
        "7",
        &webmail(
            "fix-1@example.cn",
            "unit@example.cn",
            "回复:申请",
            &[(
                "附件1-已改.xlsx",
                &workbook("上海市松江区某某局", "SJ-2026-811"),
            )],
            &format!("In-Reply-To: {ours}\r\nReferences: <own-1@example.cn> {ours}\r\n"),
        ),
    );
    let out = w.process(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("本系统发出的邮件 4 封"),
        "{}",
        text(&out)
    );
    let all = replies(&w.smtp);
    assert_eq!(all.len(), 3, "only the corrected form is answered");
    let fixed = reply_to(&all, "<fix-1@example.cn>");
    assert!(fixed.body().contains("受理回执"), "{}", fixed.body());
    assert_eq!(fixed.header("Subject"), "回复:申请");
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mail_messages WHERE kind = 'own' AND reply = 'none'"),
        4
    );
    assert_eq!(w.count("SELECT COUNT(*) FROM submissions"), 3);
    assert_eq!(w.imap.count(DONE), 7);
}

/// Mailing lists and bulk mail are never answered.
#[test]
fn mail_lists_and_bulk_mail_are_never_answered() {
    let w = World::new("starttls", 0);
    w.config("implicit", "starttls", "");
    let book = workbook("上海市松江区某某局", "SJ-2026-821");
    for (i, extra) in [
        "List-Id: <notice.lists.example.cn>\r\n",
        "List-Unsubscribe: <mailto:leave@lists.example.cn>\r\n",
        "Precedence: bulk\r\n",
    ]
    .iter()
    .enumerate()
    {
        w.imap.deliver(
            &format!("{i}"),
            &webmail(
                &format!("list-{i}@example.cn"),
                "news@lists.example.cn",
                "通知",
                &[("附件1.xlsx", &book)],
                extra,
            ),
        );
    }
    let out = w.process(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(replies(&w.smtp).is_empty());
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mail_messages WHERE kind = 'automatic' AND reply = 'none'"),
        3
    );
    assert_eq!(w.imap.count(DONE), 3);
}

/// One reply per Message-ID: the same message twice in one pass, again in
/// a later pass, and again after the IMAP port changed between an
/// interrupted run and its rerun.
#[test]
fn mail_one_reply_per_message_id() {
    let w = World::new("starttls", 0);
    w.config("implicit", "starttls", "");
    let msg = webmail(
        "same-1@example.cn",
        "unit@example.cn",
        "申请",
        &[("附件1.xlsx", &workbook("上海市松江区某某局", "SJ-2026-831"))],
        "",
    );
    w.imap.deliver("1a", &msg);
    w.imap.deliver("1b", &msg);
    let out = w.process(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("重复收到 1 封"), "{}", text(&out));
    assert_eq!(replies(&w.smtp).len(), 1);
    w.imap.deliver("1c", &msg);
    let out = w.process(&[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(replies(&w.smtp).len(), 1);

    // Interrupted after recording, before moving; rerun on the other port.
    let other = webmail(
        "port-2@example.cn",
        "unit2@example.cn",
        "申请",
        &[(
            "附件1-二.xlsx",
            &workbook("上海市松江区二局", "SJ-2026-832"),
        )],
        "",
    );
    w.imap.deliver("2", &other);
    let crashed = w.process(&[("ZWYUN_TEST_MAIL_CRASH", "recorded")]);
    assert!(!crashed.status.success());
    w.config("starttls", "starttls", "");
    let out = w.process(&[]);
    assert!(out.status.success(), "{}", text(&out));
    let all = replies(&w.smtp);
    assert_eq!(all.len(), 2, "{}", text(&out));
    assert_eq!(
        all.iter()
            .filter(|r| r.header("In-Reply-To").contains("port-2@example.cn"))
            .count(),
        1
    );
    assert_eq!(w.imap.count("INBOX"), 0);
    assert_eq!(w.count("SELECT COUNT(*) FROM submissions"), 2);
}

/// allow_domains also decides whether the form's 电子邮箱 is copied.
#[test]
fn mail_allow_domains_applies_to_the_copied_address() {
    let w = World::new("starttls", 0);
    w.config("implicit", "starttls", "allow_domains: [example.cn]\n");
    w.imap.deliver(
        "1",
        &webmail(
            "allow-1@example.cn",
            "unit@example.cn",
            "申请",
            &[(
                "附件1.xlsx",
                &workbook_with_email("上海市松江区某某局", "SJ-2026-841", "someone@elsewhere.com"),
            )],
            "",
        ),
    );
    let out = w.process(&[]);
    assert!(out.status.success(), "{}", text(&out));
    let all = replies(&w.smtp);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].header("Cc"), "");
    assert_eq!(
        w.smtp.envelopes()[0]["to"],
        serde_json::json!(["unit@example.cn"])
    );
}

/// Held replies as the clerk edits them: the recipients come from the
/// edited To:, a UTF-8 BOM and bare LF line ends are tolerated, and an
/// edit that is no longer a mail is refused in Chinese and never sent.
#[test]
fn mail_held_replies_are_sent_as_edited_or_refused() {
    let w = World::new("starttls", 0);
    w.config("implicit", "starttls", "reply: hold\n");
    for i in 0..3 {
        w.imap.deliver(
            &format!("{i}"),
            &plain(
                &format!("held-{i}@example.cn"),
                &format!("unit{i}@example.cn"),
                &format!("question{i}"),
                "",
            ),
        );
    }
    let out = w.process(&[]);
    assert!(out.status.success(), "{}", text(&out));
    let dir = w.env.path("out/待发送邮件");
    let find = |i: usize| -> PathBuf {
        std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                String::from_utf8_lossy(&std::fs::read(p).unwrap())
                    .contains(&format!("held-{i}@example.cn"))
            })
            .unwrap()
    };
    // 0: To: edited, saved with LF line ends.
    let p0 = find(0);
    let eml = String::from_utf8(std::fs::read(&p0).unwrap()).unwrap();
    let edited = eml
        .replace("To: unit0@example.cn", "To: office@songjiang.gov.cn")
        .replace("\r\n", "\n");
    std::fs::write(&p0, edited).unwrap();
    // 1: saved by an editor that adds a UTF-8 BOM (CRLF kept).
    let p1 = find(1);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(std::fs::read(&p1).unwrap());
    std::fs::write(&p1, bom).unwrap();
    // 2: its headers replaced by free text.
    let p2 = find(2);
    std::fs::write(&p2, "请转给王科长\n\n正文").unwrap();

    let sent = w.zwyun(&["mail", "send", "--mail", "mail.yaml"], &[]);
    assert_eq!(sent.status.code(), Some(1), "{}", text(&sent));
    assert!(text(&sent).contains("未发送"), "{}", text(&sent));
    assert!(text(&sent).contains("邮件头"), "{}", text(&sent));
    let all = replies(&w.smtp);
    assert_eq!(all.len(), 2);
    let to_office = reply_to(&all, "<held-0@example.cn>");
    assert_eq!(to_office.header("To"), "office@songjiang.gov.cn");
    assert!(to_office.header("Subject").contains("question0"));
    let bommed = reply_to(&all, "<held-1@example.cn>");
    assert_eq!(bommed.header("To"), "unit1@example.cn");
    assert!(
        bommed.body().contains("没有找到 Excel"),
        "{}",
        bommed.body()
    );
    let envelopes: Vec<serde_json::Value> =
        w.smtp.envelopes().iter().map(|e| e["to"].clone()).collect();
    assert!(envelopes.contains(&serde_json::json!(["office@songjiang.gov.cn"])));
    assert!(!envelopes.contains(&serde_json::json!(["unit0@example.cn"])));
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mail_replies WHERE state = 'held'"),
        1
    );
    let status = text(&w.zwyun(&["status"], &[]));
    assert!(status.contains("暂存待审 1"), "{status}");
    assert!(status.contains("未发送"), "{status}");
    assert!(p2.exists(), "the broken edit stays for the clerk");
}

/// The smaller points: a GBK name split mid-character across encoded
/// words, the same workbook attached twice, a full path as the name,
/// distinct receipt names, `回复:` not piled up, a message without a
/// subject, and operator notes kept out of the reply (told to the clerk).
#[test]
fn mail_reply_shows_the_units_names_in_plain_chinese() {
    let w = World::new("starttls", 0);
    w.config("implicit", "starttls", "");
    // GBK name split inside a character, as some clients fold it.
    let name = gbk("石湖荡镇-附件1.xlsx");
    let (a, b) = name.split_at(3);
    let split = format!(
        "=?GBK?B?{}?= =?GBK?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(a),
        base64::engine::general_purpose::STANDARD.encode(b)
    );
    let book = workbook("上海市松江区石湖荡镇", "SJ-2026-851");
    let gbk_mail = format!(
        "From: unit@example.cn\r\nTo: clerk@example.cn\r\nMessage-ID: <gbk-1@example.cn>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"g\"\r\n\r\n--g\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n--g\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment;\r\n filename=\"{split}\"\r\n\r\n{}\r\n--g\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment;\r\n filename=\"{split}\"\r\n\r\n{}\r\n--g--\r\n",
        b64(&book),
        b64(&book)
    );
    w.imap.deliver("1", gbk_mail.as_bytes());
    // Three forms in one message, the names full paths, the subject piled.
    let books: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| {
            (
                format!("C:\\Users\\张三\\Desktop\\附件1-{i}.xlsx"),
                workbook(&format!("上海市松江区第{i}局"), &format!("SJ-2026-86{i}")),
            )
        })
        .collect();
    let attached: Vec<(&str, &[u8])> = books
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    w.imap.deliver(
        "2",
        &webmail(
            "many-2@example.cn",
            "office@example.cn",
            "回复:回复:Re: 资源申请",
            &attached,
            "",
        ),
    );
    let out = w.process(&[]);
    assert!(out.status.success(), "{}", text(&out));
    // The clerk is told what the units are not.
    assert!(text(&out).contains("给工作人员的提示"), "{}", text(&out));
    assert!(text(&out).contains("parties.yaml"), "{}", text(&out));
    // The clerk's copy in the output folder keeps the note.
    let receipts: Vec<String> = walk(&w.env.path("out"))
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "受理回执.txt"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(receipts.len(), 4);
    assert!(receipts.iter().all(|r| r.contains("parties.yaml")));
    let all = replies(&w.smtp);
    assert_eq!(all.len(), 2);

    let one = reply_to(&all, "<gbk-1@example.cn>");
    assert_eq!(one.header("Subject"), "回复:(无主题)");
    let body = one.body();
    assert!(body.contains("来信(无主题)所附的 1 份表格"), "{body}");
    assert!(body.contains("—— 附件 1:石湖荡镇-附件1.xlsx ——"), "{body}");
    assert!(
        !body.contains("附件 2:"),
        "the same workbook listed once: {body}"
    );
    assert_eq!(
        w.count("SELECT COUNT(*) FROM mail_attachments a JOIN mail_messages m ON m.id = a.message WHERE m.message_id = '<gbk-1@example.cn>'"),
        1
    );

    let many = reply_to(&all, "<many-2@example.cn>");
    assert_eq!(many.header("Subject"), "回复:资源申请");
    let body = many.body();
    for i in 0..3 {
        assert!(
            body.contains(&format!("附件 {}:附件1-{i}.xlsx", i + 1)),
            "{body}"
        );
    }
    assert!(!body.contains("C__Users"), "{body}");
    assert!(!body.contains("Users"), "{body}");
    assert!(!body.contains("parties.yaml"), "{body}");
    assert!(!body.contains("示例数据"), "{body}");
    assert!(!body.contains("同一文件夹"), "{body}");
    assert!(body.contains("草稿见本邮件附件"), "{body}");
    assert!(
        !body.contains('\u{feff}'),
        "no byte-order mark inside the text: {body:?}"
    );
    let names: Vec<String> = many.attachments().into_iter().map(|a| a.0).collect();
    let mut distinct = names.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), names.len(), "{names:?}");
    for i in 0..3 {
        assert!(
            names.contains(&format!("受理回执-附件1-{i}.txt")),
            "{names:?}"
        );
    }
    for n in &names {
        assert!(!n.contains("Users"), "{names:?}");
    }
    // The attached receipt is the unit's copy too.
    let m = many.mail();
    for p in m.subparts.iter().skip(1) {
        let body = p.get_body().unwrap_or_default();
        assert!(!body.contains("parties.yaml"));
        assert!(!body.contains("同一文件夹"));
    }
}

/// An SMTP server that does not answer at all is an outage: the reply
/// waits, the exit code is 3, and the clerk reads why in Chinese.
#[test]
fn mail_smtp_down_is_an_outage_said_in_chinese() {
    let w = World::new("starttls", 0);
    w.config("implicit", "starttls", "");
    let closed = free_port();
    let yaml = std::fs::read_to_string(w.env.path("mail.yaml")).unwrap();
    std::fs::write(
        w.env.path("mail.yaml"),
        yaml.replace(
            &format!("port: {}", w.smtp.port),
            &format!("port: {closed}"),
        ),
    )
    .unwrap();
    w.imap.deliver(
        "1",
        &plain("down-1@example.cn", "unit@example.cn", "hello", ""),
    );
    let out = w.process(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("连接被拒绝"), "{}", text(&out));
    assert!(!text(&out).contains("os error"), "{}", text(&out));
    assert!(!text(&out).contains("Connection"), "{}", text(&out));
    let status = text(&w.zwyun(&["status"], &[]));
    assert!(status.contains("待发送 1"), "{status}");
    let send = w.zwyun(&["mail", "send", "--mail", "mail.yaml"], &[]);
    assert_eq!(send.status.code(), Some(3), "{}", text(&send));
    // IMAP out of reach too.
    std::fs::write(
        w.env.path("mail.yaml"),
        yaml.replace(
            &format!("port: {}", w.imap.imaps),
            &format!("port: {closed}"),
        )
        .replace(
            &format!("port: {}", w.smtp.port),
            &format!("port: {closed}"),
        ),
    )
    .unwrap();
    let out = w.process(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("IMAP"), "{}", text(&out));
    assert!(!text(&out).contains("os error"), "{}", text(&out));
    // A refused login is a configuration error, not an outage.
    std::fs::write(w.env.path("mail.yaml"), &yaml).unwrap();
    let out = w.process(&[("ZWYUN_TEST_IMAP_PASSWORD", "wrong")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("登录被拒绝"), "{}", text(&out));
}
