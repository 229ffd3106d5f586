//! The clerk's pages over the projects' lives (待办, 项目, one project) and
//! their JSON twins, against the real server; and one scenario run through
//! both faces — the CLI on one ledger, the web forms on another — with the
//! registers, agendas, project views and audit logs compared.

use serde_json::Value;

use super::{add_user, base64_of, raw, workbook, Client, Server};
use crate::common::{annex1, sample, Env};

const PW: &str = "correct horse battery";
const P: &str = "SJ-2026-017";

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// The hrefs on a page that start with `prefix`, as written.
fn hrefs(page: &str, prefix: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|h| h.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

/// The record number a recorded page names.
fn event_on(page: &str) -> i64 {
    let after = page
        .split("第 ")
        .find_map(|s| s.split_once(" 号记录,登记人"))
        .unwrap_or_else(|| panic!("no record number: {page}"))
        .0;
    after.trim().parse().unwrap()
}

/// Uploads a workbook as a clerk and approves it on `on`; the page said.
fn web_approve(c: &Client, name: &str, bytes: &[u8], on: &str) -> String {
    let r = c.post_file("/upload", name, bytes);
    assert_eq!(r.status, 303, "{}", r.text());
    let detail = r.header("location").unwrap().to_string();
    let done = c.post_form(&format!("{detail}/approve"), &[("on", on)]);
    assert_eq!(done.status, 200, "{}", done.text());
    done.text()
}

#[test]
fn web_desk_agenda_register_and_project_pages() {
    let env = Env::new();
    add_user(&env, "王芳", "经办", PW);
    add_user(&env, "审计", "只读", PW);
    // A project without a code: its label is unit-name, which here holds
    // markup and characters a URL must encode.
    let mut form = annex1();
    form.clear("B4");
    form.set("B3", "<script>x</script>某某局");
    form.set("G3", "平台/一期 & 二期?");
    let (path, _) = workbook(&form, &env, "申请表.xlsx");
    env.run_ok(&["approve", path.to_str().unwrap(), "--on", "2026-06-01"]);
    let label = "<script>x</script>某某局-平台/一期 & 二期?";
    let server = Server::start_in(env, &[]);
    let mut c = server.client();
    assert_eq!(c.get("/agenda").status, 303, "login first");
    c.login("王芳", PW);

    // 待办: the quota's platform entry, linking to the project.
    let agenda = c.get("/agenda?on=2026-06-10");
    assert_eq!(agenda.status, 200);
    let page = agenda.text();
    assert!(!page.contains("<script"), "{page}");
    assert!(page.contains("&lt;script&gt;"), "{page}");
    assert!(
        page.contains("逾期") && page.contains("2026-06-08"),
        "{page}"
    );
    assert!(
        page.contains("2026-06-10 起 14 天内"),
        "14 days by default: {page}"
    );
    let links = hrefs(&page, "/projects/");
    assert_eq!(links.len(), 1, "{page}");
    let href = links[0].clone();
    assert!(!href.contains('<') && !href.contains(' ') && href.contains("%2F"));
    // 项目: the register, searched and filtered by state.
    let register = c.get("/projects?q=%E4%B8%80%E6%9C%9F").text();
    assert_eq!(hrefs(&register, "/projects/"), vec![href.clone()]);
    assert!(register.contains("已批准配额") && !register.contains("<script"));
    let none = c
        .get("/projects?state=%E6%AD%A3%E5%BC%8F%E6%9C%8D%E5%8A%A1")
        .text();
    assert!(none.contains("没有符合条件的项目"), "{none}");
    assert_eq!(c.get("/projects?state=nonsense").status, 400);
    assert_eq!(c.get("/agenda?on=not-a-date").status, 400);

    // The project page, from the agenda's link.
    let project = c.get(&href);
    assert_eq!(project.status, 200, "{}", project.text());
    let page = project.text();
    assert!(page.contains("已批准配额") && page.contains("批准配额(附件1)"));
    assert!(!page.contains("<script"), "escaped: {page}");
    assert!(page.contains("form-test-signed") && page.contains("form-revoke"));
    assert_eq!(c.get("/projects/no-such-project").status, 404);

    // A form records the test agreement under the clerk's name.
    let done = c.post_form(
        &format!("{href}/test-signed"),
        &[("date", "2026-06-18"), ("months", "2")],
    );
    assert_eq!(done.status, 200, "{}", done.text());
    let said = done.text();
    assert!(said.contains("测试期 2 个月,至 2026-08-18 届满"), "{said}");
    assert!(said.contains("登记人 王芳"), "{said}");
    assert!(said.contains("状态:已批准配额 →"), "{said}");
    assert!(!said.contains("<script"));
    let event = event_on(&said);
    // Again: refused as by the CLI, with the date it conflicts with.
    let again = c.post_form(
        &format!("{href}/test-signed"),
        &[("date", "2026-06-19"), ("months", "2")],
    );
    assert_eq!(again.status, 409, "{}", again.text());
    assert!(
        again.text().contains("已登记测试协议") && again.text().contains("冲突日期:2026-06-18")
    );
    // A form's wrong input is a 400 with what to fix.
    let bad = c.post_form(&format!("{href}/terminate"), &[("date", "2026-07-01")]);
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("请填写原因"));
    let bad = c.post_form(
        &format!("{href}/delivered"),
        &[("kind", "everything"), ("date", "2026-06-20")],
    );
    assert_eq!(bad.status, 400);
    // The audit log has it under 王芳, from the web face.
    let log = json_lines(&server.env.run_ok(&["ledger", "log", "--format", "json"]));
    let e = log.iter().find(|e| e["id"] == event).unwrap();
    assert_eq!(e["by"], "王芳");
    assert_eq!(e["command"], "web ledger test-signed");
    assert_eq!(e["date"], "2026-06-18");
    let page = c.get(&format!("{href}?on=2026-06-20")).text();
    assert!(page.contains("测试中") && page.contains(&format!("#{event}")));

    // Documents through the render code: 附件2 with its months, 开通情况表.
    let doc = c.get(&format!("{href}/documents/test-agreement?months=2"));
    assert_eq!(doc.status, 200, "{}", doc.text());
    assert!(doc.body.starts_with(b"PK"));
    let disposition = doc.header("content-disposition").unwrap();
    assert!(
        disposition.contains(&super::urlencode("测试资源服务使用意向协议.docx")),
        "{disposition}"
    );
    let formal = c.get(&format!("{href}/documents/formal-agreement"));
    assert_eq!(formal.status, 200, "{}", formal.text());
    assert!(formal.body.starts_with(b"PK"));
    let table = c.get(&format!("{href}/documents/opening-table"));
    assert_eq!(table.status, 200);
    assert!(table.body.starts_with(b"PK"));
    assert_eq!(
        c.get(&format!("{href}/documents/test-agreement?months=9"))
            .status,
        400
    );
    assert_eq!(
        c.get(&format!("{href}/documents/..%2fzwyun.db")).status,
        404
    );

    // 只读 sees everything and records nothing.
    let mut auditor = server.client();
    auditor.login("审计", PW);
    let page = auditor.get(&format!("{href}?on=2026-06-20")).text();
    assert!(page.contains("测试中"), "{page}");
    assert!(!page.contains("form-test-signed"), "no forms for 只读");
    let r = auditor.post_form(
        &format!("{href}/delivered"),
        &[("kind", "test"), ("date", "2026-06-20")],
    );
    assert_eq!(r.status, 403);
    let r = auditor.post_form(
        &format!("{href}/revoke"),
        &[("event", &event.to_string()), ("reason", "x")],
    );
    assert_eq!(r.status, 403);
    // A cross-site form post is refused before it reaches the handler.
    let origin = "http://evil.example";
    let cookie = c.cookie.clone().unwrap();
    let r = raw(
        server.port,
        "POST",
        &format!("{href}/revoke"),
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Origin", origin),
            ("Cookie", &cookie),
        ],
        format!("event={event}&reason=x").as_bytes(),
    );
    assert_eq!(r.status, 403);
    let log = server.env.run_ok(&["ledger", "log"]);
    assert!(!log.contains("撤销"), "{log}");

    // The JSON twins, for the same project (by its label).
    let basic = format!("Basic {}", base64_of(&format!("审计:{PW}")));
    let api = |path: &str| raw(server.port, "GET", path, &[("Authorization", &basic)], b"");
    let one = api(&format!("/api/v1{href}?on=2026-06-20"));
    assert_eq!(one.status, 200, "{}", one.text());
    assert_eq!(one.json()["project"], label);
    assert_eq!(one.json()["state"], "testing");
    assert_eq!(api("/api/v1/projects/no-such").status, 404);
    let list = api("/api/v1/projects").json();
    assert_eq!(list["projects"][0]["project"], label);
    let agenda = api("/api/v1/agenda?on=2026-06-29&days=0").json();
    assert!(agenda["agenda"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["overdue"] == true));
    assert_eq!(
        raw(server.port, "GET", "/api/v1/agenda", &[], b"").status,
        401
    );
    // The project gets its code: from then on the code names it.
    let done = c.post_form(&format!("{href}/set-code"), &[("code", "SJ-2026-099")]);
    assert_eq!(done.status, 200, "{}", done.text());
    assert!(
        done.text().contains("登记项目编号“SJ-2026-099”"),
        "{}",
        done.text()
    );
    assert_eq!(
        hrefs(&done.text(), "/projects/"),
        vec!["/projects/SJ-2026-099"]
    );
    assert_eq!(c.get("/projects/SJ-2026-099").status, 200);
}

/// One step of the scenario: the `zwyun ledger` arguments after the
/// project, and the same as form fields. `{N}` in a value is the record
/// number step N recorded (each face its own).
struct Step {
    action: &'static str,
    fields: &'static [(&'static str, &'static str)],
    recorded: bool,
}

const fn step(
    action: &'static str,
    fields: &'static [(&'static str, &'static str)],
    recorded: bool,
) -> Step {
    Step {
        action,
        fields,
        recorded,
    }
}

const SCENARIO: &[Step] = &[
    step(
        "entered",
        &[("kind", "quota"), ("date", "2026-06-03")],
        true,
    ),
    // A typo, corrected below.
    step(
        "test-signed",
        &[("date", "2026-06-08"), ("months", "2")],
        true,
    ),
    step(
        "correct",
        &[("event", "{1}"), ("date", "2026-06-18"), ("reason", "笔误")],
        true,
    ),
    step(
        "delivered",
        &[("kind", "test"), ("date", "2026-06-29")],
        true,
    ),
    step("entered", &[("kind", "test"), ("date", "2026-06-30")], true),
    // In the test period: refused by both faces, then recorded as an exception.
    step("formal-signed", &[("date", "2026-08-10")], false),
    step(
        "formal-signed",
        &[
            ("date", "2026-08-10"),
            ("override", "单位书面申请提前结束测试"),
        ],
        true,
    ),
    step(
        "delivered",
        &[("kind", "formal"), ("date", "2026-08-12")],
        true,
    ),
    step(
        "entered",
        &[("kind", "formal"), ("date", "2026-08-13")],
        true,
    ),
    step(
        "revoke",
        &[("event", "{8}"), ("reason", "录入日期有误")],
        true,
    ),
    step(
        "entered",
        &[("kind", "formal"), ("date", "2026-08-14")],
        true,
    ),
    step(
        "terminate",
        &[("date", "2027-03-31"), ("reason", "系统下线")],
        true,
    ),
];

fn value(v: &str, events: &[i64]) -> String {
    match v.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        Some(n) => events[n.parse::<usize>().unwrap()].to_string(),
        None => v.to_string(),
    }
}

/// The step through the CLI: its record number, or `None` when refused.
fn cli_step(env: &Env, s: &Step, events: &[i64]) -> Option<i64> {
    let mut args: Vec<String> = vec!["ledger".into(), s.action.into()];
    for (k, v) in s.fields {
        let v = value(v, events);
        match *k {
            "event" => args.push(v),
            "kind" => args.extend(["--kind".into(), v]),
            k => args.extend([format!("--{k}"), v]),
        }
    }
    if !matches!(s.action, "revoke" | "correct") {
        args.extend(["--project".into(), P.into()]);
    }
    args.extend(["--format".into(), "json".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = env.run(&args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    match out.status.code() {
        Some(0) => Some(
            serde_json::from_str::<Value>(text.trim()).unwrap()["event"]
                .as_i64()
                .unwrap(),
        ),
        Some(1) => None,
        other => panic!(
            "zwyun {args:?}: {other:?} {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The same step through the project page's form.
fn web_step(c: &Client, s: &Step, events: &[i64]) -> Option<i64> {
    let values: Vec<(&str, String)> = s
        .fields
        .iter()
        .map(|(k, v)| (*k, value(v, events)))
        .collect();
    let fields: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = c.post_form(&format!("/projects/{P}/{}", s.action), &fields);
    match r.status {
        200 => Some(event_on(&r.text())),
        409 => None,
        other => panic!("{}: {other} {}", s.action, r.text()),
    }
}

/// A log entry without who, when and through which face.
fn what(mut e: Value) -> Value {
    for key in ["at", "by", "command", "source"] {
        e.as_object_mut().unwrap().remove(key);
    }
    e
}

/// A project view without its history's who/when and its submissions
/// (the web face's approval came through an upload).
fn view_what(mut v: Value) -> Value {
    let history: Vec<Value> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .map(what)
        .collect();
    v["history"] = history.into();
    v.as_object_mut().unwrap().remove("submissions");
    v
}

#[test]
fn web_desk_and_cli_record_one_scenario_alike() {
    let cli = Env::new();
    cli.run_ok(&[
        "approve",
        sample("annex1-example.xlsx").to_str().unwrap(),
        "--on",
        "2026-06-01",
    ]);
    let env = Env::new();
    add_user(&env, "王芳", "经办", PW);
    let server = Server::start_in(env, &[]);
    let mut c = server.client();
    c.login("王芳", PW);
    let a1 = std::fs::read(sample("annex1-example.xlsx")).unwrap();
    let said = web_approve(&c, "annex1-example.xlsx", &a1, "2026-06-01");
    assert!(said.contains("已登记项目“SJ-2026-017”的批准配额"), "{said}");

    let (mut by_cli, mut by_web) = (Vec::new(), Vec::new());
    for (i, s) in SCENARIO.iter().enumerate() {
        let a = cli_step(&cli, s, &by_cli);
        let b = web_step(&c, s, &by_web);
        assert_eq!(
            a.is_some(),
            s.recorded,
            "step {i} ({}) by the CLI",
            s.action
        );
        assert_eq!(
            b.is_some(),
            s.recorded,
            "step {i} ({}) on the web",
            s.action
        );
        by_cli.push(a.unwrap_or_default());
        by_web.push(b.unwrap_or_default());
    }

    let basic = format!("Basic {}", base64_of(&format!("王芳:{PW}")));
    let api = |path: &str| {
        let r = raw(server.port, "GET", path, &[("Authorization", &basic)], b"");
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        r.json()
    };
    for on in [
        "2026-06-02",
        "2026-06-29",
        "2026-08-11",
        "2026-08-20",
        "2027-04-01",
    ] {
        let register = json_lines(&cli.run_ok(&["projects", "--on", on, "--format", "json"]));
        assert_eq!(
            Value::from(register),
            api(&format!("/api/v1/projects?on={on}"))["projects"],
            "register on {on}"
        );
        let agenda =
            json_lines(&cli.run_ok(&["agenda", "--on", on, "--days", "30", "--format", "json"]));
        assert_eq!(
            Value::from(agenda),
            api(&format!("/api/v1/agenda?on={on}&days=30"))["agenda"],
            "agenda on {on}"
        );
        let view: Value =
            serde_json::from_str(&cli.run_ok(&["project", P, "--on", on, "--format", "json"]))
                .unwrap();
        assert_eq!(
            view_what(view),
            view_what(api(&format!("/api/v1/projects/{P}?on={on}"))),
            "project on {on}"
        );
    }
    let log_of = |env: &Env| -> Vec<Value> {
        json_lines(&env.run_ok(&["ledger", "log", "--format", "json"]))
            .into_iter()
            .map(what)
            .collect()
    };
    let (a, b) = (log_of(&cli), log_of(&server.env));
    assert_eq!(a, b);
    let recorded = SCENARIO.iter().filter(|s| s.recorded).count();
    assert_eq!(
        a.len(),
        1 + recorded,
        "the approval and each recorded step: {a:?}"
    );
    // The web's events carry the clerk's name and say they came from the web.
    let web_log = json_lines(&server.env.run_ok(&["ledger", "log", "--format", "json"]));
    assert!(web_log
        .iter()
        .all(|e| e["by"] == "王芳" && e["command"].as_str().unwrap().starts_with("web ")));
    let overridden = web_log
        .iter()
        .find(|e| e["action"] == "formal_signed")
        .unwrap();
    assert_eq!(overridden["reason"], "单位书面申请提前结束测试");
    // The register page shows the state the JSON has.
    let page = c.get("/projects?on=2027-04-01").text();
    assert!(page.contains("已终止"), "{page}");
    let page = c.get(&format!("/projects/{P}?on=2027-04-01")).text();
    assert!(page.contains("系统下线") && page.contains("录入日期有误"));
}

/// The page token the project page's recording forms carry.
fn once_on(page: &str) -> String {
    page.split("name=\"once\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("no form token: {page}"))
        .to_string()
}

#[test]
fn web_desk_forms_record_once_and_documents_come_as_pdf() {
    let env = Env::new();
    add_user(&env, "王芳", "经办", PW);
    env.approve_example();
    let server = Server::start_in(env, &[]);
    let mut c = server.client();
    c.login("王芳", PW);
    let href = format!("/projects/{P}");
    let page = c.get(&href).text();
    let once = once_on(&page);
    assert_eq!(once.len(), 64);

    // A double click sends the same form twice: one record, and the
    // repeat says so.
    let test = [
        ("date", "2026-06-18"),
        ("months", "2"),
        ("once", once.as_str()),
    ];
    let first = c.post_form(&format!("{href}/test-signed"), &test);
    assert_eq!(first.status, 200, "{}", first.text());
    let second = c.post_form(&format!("{href}/test-signed"), &test);
    assert_eq!(second.status, 409, "{}", second.text());
    assert!(second.text().contains("已提交过"), "{}", second.text());
    // Another form from the same page is a new request; repeated, it too
    // is recorded once.
    let delivered = [
        ("kind", "test"),
        ("date", "2026-06-20"),
        ("once", once.as_str()),
    ];
    for status in [200, 409] {
        let r = c.post_form(&format!("{href}/delivered"), &delivered);
        assert_eq!(r.status, status, "{}", r.text());
    }
    let view: Value =
        serde_json::from_str(&server.env.run_ok(&["project", P, "--format", "json"])).unwrap();
    assert_eq!(view["agreements"].as_array().unwrap().len(), 1, "{view}");
    assert_eq!(view["deliveries"].as_array().unwrap().len(), 1, "{view}");
    // A refused form is not kept as sent: sending it again is refused
    // for its reason again, not taken for a repeat.
    let early = [("date", "2026-06-19"), ("once", once.as_str())];
    for _ in 0..2 {
        let r = c.post_form(&format!("{href}/formal-signed"), &early);
        assert_eq!(r.status, 409, "{}", r.text());
        assert!(r.text().contains("未登记"), "{}", r.text());
    }
    // A new page gives a new token.
    let fresh = once_on(&c.get(&href).text());
    assert_ne!(fresh, once);

    // Documents as PDF, converted by LibreOffice, with the same text as
    // the .docx.
    assert!(page.contains("doc-formal-agreement-pdf"), "{page}");
    let pdf = c.get(&format!("{href}/documents/formal-agreement?format=pdf"));
    assert_eq!(pdf.status, 200, "{}", pdf.text());
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf
        .header("content-disposition")
        .is_some_and(|d| d.contains(".pdf")));
    assert!(pdf.body.starts_with(b"%PDF"));
    let file = server.env.path("formal.pdf");
    std::fs::write(&file, &pdf.body).unwrap();
    let text = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext missing: run bash scripts/test.sh");
    let text = String::from_utf8_lossy(&text.stdout).replace(char::is_whitespace, "");
    assert!(text.contains("正式协议"), "{text}");
    let table = c.get(&format!("{href}/documents/opening-table?format=pdf"));
    assert_eq!(table.status, 200);
    assert!(table.body.starts_with(b"%PDF"));
}

#[test]
fn web_desk_long_lists_come_in_pages() {
    let env = Env::new();
    add_user(&env, "王芳", "经办", PW);
    std::fs::create_dir_all(env.path("inbox")).unwrap();
    for i in 0..205 {
        let mut form = annex1();
        form.set("B4", format!("SJ-2026-{:03}", 300 + i).as_str());
        form.set("G3", format!("分页测试项目{i}").as_str());
        form.write(&env.path(&format!("inbox/申请-{i:03}.xlsx")));
    }
    env.run_ok(&["process", "inbox", "--out", "out"]);
    let server = Server::start_in(env, &[]);
    let mut c = server.client();
    c.login("王芳", PW);
    let rows = |page: &str| page.matches("<tr class=\"").count();

    // 205 approvals pending: the first page holds 200, the next the rest.
    let first = c.get("/agenda").text();
    assert!(first.contains("共 205 项"), "{first}");
    assert!(first.contains("本页第 1–200 项"), "{first}");
    assert_eq!(rows(&first), 200);
    // A pending approval links to its submission (where it is approved),
    // not to a project the register does not have yet.
    assert_eq!(hrefs(&first, "/submissions/").len(), 200, "{first}");
    assert!(hrefs(&first, "/projects/").is_empty(), "{first}");
    let next = hrefs(&first, "/agenda?page=2");
    assert_eq!(next.len(), 1, "{first}");
    let second = c.get(&next[0]).text();
    assert!(second.contains("本页第 201–205 项"), "{second}");
    assert_eq!(rows(&second), 5);
    assert!(second.contains("第 2 页,共 2 页"), "{second}");
    // Each kind of item has its count and its own list.
    let kind = hrefs(&first, "/agenda?kind=approval_pending");
    assert_eq!(kind.len(), 1, "{first}");
    assert!(first.contains("待批准</a>(205)"), "{first}");
    let only = c.get(&kind[0]).text();
    assert!(only.contains("只列“待批准”:205 项"), "{only}");
    assert_eq!(rows(&c.get("/agenda?kind=settlement").text()), 0);
}
