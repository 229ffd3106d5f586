//! `zwyun render`: documents compared by their extracted text with golden
//! files (`UPDATE_GOLDEN=1 cargo test` rewrites them), every XML part parsed,
//! templates edited the way Word edits them, and PDF conversion.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use calamine::{Reader, Xlsx};
use quick_xml::events::Event;

use crate::common::*;

const DOCS: [(&str, &str); 3] = [
    (
        "test-agreement",
        "SJ-2026-017-测试资源服务使用意向协议.docx",
    ),
    ("formal-agreement", "SJ-2026-017-资源服务使用正式协议.docx"),
    ("opening-table", "SJ-2026-017-政务云资源开通情况表.xlsx"),
];

fn zip_entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("output is a zip archive");
    (0..archive.len())
        .map(|i| {
            let mut e = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (e.name().unwrap().to_string(), data)
        })
        .collect()
}

/// Parses every XML part of an Office file to the end; panics on the first error.
fn assert_xml_parts_parse(bytes: &[u8]) -> usize {
    let mut parsed = 0;
    for (name, data) in zip_entries(bytes) {
        if !(name.ends_with(".xml") || name.ends_with(".rels")) {
            continue;
        }
        let text = String::from_utf8(data).unwrap_or_else(|_| panic!("{name} is not UTF-8"));
        let mut reader = quick_xml::Reader::from_str(&text);
        reader.config_mut().check_end_names = true;
        loop {
            match reader.read_event() {
                Ok(Event::Eof) => break,
                Ok(_) => {}
                Err(e) => panic!("{name}: XML error at {}: {e}", reader.buffer_position()),
            }
        }
        parsed += 1;
    }
    parsed
}

/// The text of a .docx: one line per paragraph, `<w:br/>` as a line break.
pub fn docx_text(bytes: &[u8]) -> String {
    let xml = zip_entries(bytes)
        .into_iter()
        .find(|(n, _)| n == "word/document.xml")
        .map(|(_, d)| String::from_utf8(d).unwrap())
        .expect("word/document.xml");
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut out, mut in_text, mut cells) = (String::new(), false, 0);
    loop {
        match reader.read_event().unwrap() {
            Event::Eof => break,
            Event::Start(e) if e.name().as_ref() == "w:t" => in_text = true,
            Event::End(e) if e.name().as_ref() == "w:t" => in_text = false,
            Event::Start(e) if e.name().as_ref() == "w:tc" => cells += 1,
            Event::End(e) if e.name().as_ref() == "w:p" && cells == 0 => out.push('\n'),
            Event::End(e) if e.name().as_ref() == "w:tc" => {
                cells -= 1;
                out.push('|');
            }
            Event::End(e) if e.name().as_ref() == "w:tr" => out.push('\n'),
            Event::Empty(e) if e.name().as_ref() == "w:br" => out.push('\n'),
            Event::Text(t) if in_text => {
                out.push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0))
            }
            Event::GeneralRef(r) if in_text => out.push_str(&resolve(&r)),
            _ => {}
        }
    }
    out
}

fn resolve(r: &quick_xml::events::BytesRef) -> String {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return c.to_string();
    }
    let name = r.xml_content(quick_xml::XmlVersion::Implicit1_0);
    quick_xml::escape::resolve_predefined_entity(&name)
        .unwrap_or_else(|| panic!("unknown entity {name}"))
        .to_string()
}

/// The cells of the first sheet, one line per row, cells joined by `|`.
fn xlsx_text(bytes: &[u8]) -> String {
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec())).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn text_of(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    assert!(assert_xml_parts_parse(&bytes) > 0);
    if path.extension().is_some_and(|e| e == "xlsx") {
        xlsx_text(&bytes)
    } else {
        docx_text(&bytes)
    }
}

fn golden(name: &str, actual: &str) {
    let path = repo().join("tests/golden").join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing; run UPDATE_GOLDEN=1 cargo test", path.display()));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from golden at line {}:\n  golden: {:?}\n  actual: {:?}\n(UPDATE_GOLDEN=1 cargo test updates it)",
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

/// Renders `doc` of `file` into `out`; returns the process output.
fn render(env: &Env, doc: &str, file: &Path, extra: &[&str]) -> std::process::Output {
    let out = env.path("out");
    let mut args = vec![
        "render",
        doc,
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    if doc == "test-agreement" && !extra.contains(&"--months") {
        args.extend(["--months", "2"]);
    }
    args.extend(extra);
    env.run(&args)
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_ok(o: &std::process::Output) {
    assert!(
        o.status.success(),
        "failed ({}): {}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

#[test]
fn documents_match_golden_text() {
    let env = Env::new();
    for (doc, name) in DOCS {
        assert_ok(&render(&env, doc, &sample("annex1-example.xlsx"), &[]));
        let text = text_of(&env.path("out").join(name));
        golden(&format!("{doc}.txt"), &text);
    }
}

#[test]
fn documents_reflect_the_submission() {
    let env = Env::new();
    assert_ok(&render(
        &env,
        "test-agreement",
        &sample("annex1-example.xlsx"),
        &["--months", "3"],
    ));
    let text = text_of(&env.path("out").join(DOCS[0].1));
    for expected in [
        "甲方\u{ff1a}上海市松江区某某局",
        "乙方\u{ff1a}示例政务云服务商",
        "☑市级 □区级 □自费",
        "☑X86 □XC",
        "☑SSD(GB)|300|",
        "□高效云盘(GB)||",
        "☑负载均衡SLB(个)|1|",
        "系统盘100GB、数据盘2000GB、麒麟V10、政务外网",
        "自协议签订之日起3个月",
        "签约日期\u{ff1a}      年    月    日",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    assert!(
        !text.contains("{{") && !text.contains("{%"),
        "tags left in:\n{text}"
    );
}

/// parties.yaml with sample data: `render` and the drop-folder receipt
/// say so; with real data they do not.
#[test]
fn sample_parties_are_warned_about() {
    let env = Env::new();
    let out = render(&env, "test-agreement", &sample("annex1-example.xlsx"), &[]);
    assert_ok(&out);
    assert!(
        stderr(&out).contains("警告") && stderr(&out).contains("仍是示例数据"),
        "{}",
        stderr(&out)
    );
    std::fs::create_dir_all(env.path("inbox")).unwrap();
    std::fs::copy(sample("annex1-example.xlsx"), env.path("inbox/a.xlsx")).unwrap();
    env.run_ok(&["process", "inbox", "--out", "done", "--stable", "0"]);
    let receipt = find_file(&env.path("done"), "受理回执.txt").expect("receipt written");
    let text = std::fs::read_to_string(receipt).unwrap();
    assert!(text.contains("仍是示例数据"), "{text}");

    let templates = copy_templates(&env);
    let parties = templates.join("parties.yaml");
    let real = std::fs::read_to_string(&parties)
        .unwrap()
        .replace(
            "上海市示例区示例路100号（示例数据）",
            "上海市松江区荣乐东路1号",
        )
        .replace("李四（示例）", "李四")
        .replace("示例银行上海示例支行（示例数据）", "某银行松江支行")
        .replace("0000 0000 0000 0000", "6222 0000 1234 5678")
        .replace("示例政务云服务商", "某政务云服务商");
    std::fs::write(&parties, real).unwrap();
    let input = env.path("b.xlsx");
    annex1().set("G4", "某政务云服务商").write(&input);
    let out = env.run(&[
        "--templates",
        templates.to_str().unwrap(),
        "render",
        "test-agreement",
        input.to_str().unwrap(),
        "--months",
        "2",
        "--out",
        "out",
    ]);
    assert_ok(&out);
    assert!(!stderr(&out).contains("示例数据"), "{}", stderr(&out));
}

/// Issue 20: every receipt said the agreement could not be signed while
/// parties.yaml still listed the sample provider, even for a project with
/// a real one. The warning is about the provider the agreement names.
#[test]
fn sample_warning_only_for_a_sample_provider() {
    let env = Env::new();
    let templates = copy_templates(&env);
    let parties = templates.join("parties.yaml");
    let real = "  - name: 某政务云服务商\n    address: 上海市松江区荣乐东路1号\n    contact: 李四\n    phone: 021-57700001\n    email: service@cloud.example.cn\n    bank: 某银行松江支行\n    account: \"6222 0000 1234 5678\"\n";
    let text = std::fs::read_to_string(&parties).unwrap() + real;
    std::fs::write(&parties, text).unwrap();
    let t = templates.to_str().unwrap();
    for (provider, warned) in [("某政务云服务商", false), ("示例政务云服务商", true)]
    {
        let dir = if warned { "sample" } else { "real" };
        let input = env.path(&format!("{dir}.xlsx"));
        annex1().set("G4", provider).write(&input);
        let out = env.run(&[
            "--templates",
            t,
            "render",
            "formal-agreement",
            input.to_str().unwrap(),
            "--out",
            dir,
        ]);
        assert_ok(&out);
        assert_eq!(
            stderr(&out).contains("仍是示例数据"),
            warned,
            "{}",
            stderr(&out)
        );
        let inbox = env.path(&format!("inbox-{dir}"));
        std::fs::create_dir_all(&inbox).unwrap();
        std::fs::copy(&input, inbox.join("a.xlsx")).unwrap();
        let done = format!("done-{dir}");
        env.run_ok(&[
            "--templates",
            t,
            "process",
            inbox.to_str().unwrap(),
            "--out",
            &done,
            "--stable",
            "0",
        ]);
        let receipt = find_file(&env.path(&done), "受理回执.txt").expect("receipt written");
        let text = std::fs::read_to_string(receipt).unwrap();
        assert_eq!(text.contains("示例数据"), warned, "{provider}: {text}");
        assert!(text.contains(provider), "{text}");
    }
}

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() {
            if let Some(found) = find_file(&p, name) {
                return Some(found);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

#[test]
fn every_document_converts_to_pdf() {
    let env = Env::new();
    for (doc, name) in DOCS {
        assert_ok(&render(
            &env,
            doc,
            &sample("annex1-example.xlsx"),
            &["--pdf"],
        ));
        let pdf = env.path("out").join(Path::new(name).with_extension("pdf"));
        let bytes = std::fs::read(&pdf).unwrap_or_else(|_| panic!("{} not written", pdf.display()));
        assert!(bytes.starts_with(b"%PDF"), "{} is not a PDF", pdf.display());
    }
}

#[test]
fn submitted_text_comes_out_literally() {
    let env = Env::new();
    let file = env.path("special.xlsx");
    annex1()
        .set("B3", "松江区<某某>局 & \"办公室\" 'A'")
        .set("B7", "示例路1号\n2号楼 {{ 7*7 }} {% if x %}")
        .set("B6", "张三{# 注释 #}")
        .set("D17", "麒麟V10\tSP1\u{1}")
        .write(&file);
    assert_eq!(env.validate_json(&file)["status"], "valid");
    let unit = "松江区<某某>局 & \"办公室\" 'A'";
    let address = "示例路1号\n2号楼 {{ 7*7 }} {% if x %}";
    let cases = [
        (DOCS[0], vec![unit]),
        (DOCS[1], vec![unit, address, "张三{# 注释 #}"]),
    ];
    for ((doc, name), wanted) in cases {
        assert_ok(&render(&env, doc, &file, &[]));
        let text = text_of(&env.path("out").join(name));
        for expected in wanted {
            assert!(
                text.contains(expected),
                "{doc}: {expected:?} not in:\n{text}"
            );
        }
        assert!(!text.contains("\u{1}"), "control character kept");
    }
}

/// Copies the repository's templates into the temp folder for editing.
fn copy_templates(env: &Env) -> PathBuf {
    let dir = env.path("templates");
    std::fs::create_dir_all(&dir).unwrap();
    for f in [
        "test-agreement.docx",
        "formal-agreement.docx",
        "parties.yaml",
    ] {
        std::fs::copy(repo().join("templates").join(f), dir.join(f)).unwrap();
    }
    dir
}

/// Rewrites `word/document.xml` of a .docx with `edit`.
fn edit_document(path: &Path, edit: impl Fn(&str) -> String) {
    let bytes = std::fs::read(path).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in zip_entries(&bytes) {
        let data = if name == "word/document.xml" {
            let before = String::from_utf8(data).unwrap();
            let after = edit(&before);
            assert_ne!(before, after, "edit changed nothing");
            after.into_bytes()
        } else {
            data
        };
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&data).unwrap();
    }
    std::fs::write(path, out.finish().unwrap().into_inner()).unwrap();
}

fn render_with(env: &Env, templates: &Path, doc: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["--templates", templates.to_str().unwrap()];
    args.extend(extra);
    render(env, doc, &sample("annex1-example.xlsx"), &args)
}

#[test]
fn tags_split_across_runs_still_render() {
    let env = Env::new();
    let templates = copy_templates(&env);
    edit_document(&templates.join("test-agreement.docx"), |xml| {
        xml.replacen(
            "{{ unit.name }}",
            "{{ unit</w:t></w:r><w:proofErr w:type=\"spellStart\"/><w:r><w:t>.na</w:t></w:r>\
             <w:r><w:rPr><w:b/></w:rPr><w:t xml:space=\"preserve\">me }}",
            1,
        )
        .replacen(
            "{%tr for h in hosts %}",
            "{%tr for h</w:t></w:r><w:r><w:t xml:space=\"preserve\"> in hosts %}",
            1,
        )
        .replacen(
            "{{ h.cpu }}",
            "{</w:t></w:r><w:r><w:t>{ h.cpu }</w:t></w:r><w:r><w:t>}",
            1,
        )
    });
    assert_ok(&render_with(&env, &templates, "test-agreement", &[]));
    let text = text_of(&env.path("out").join(DOCS[0].1));
    assert!(text.contains("甲方\u{ff1a}上海市松江区某某局"), "{text}");
    assert!(text.contains("8核") && text.contains("16核"), "{text}");
}

#[test]
fn word_quotes_inside_tags_are_plain_quotes() {
    let env = Env::new();
    let templates = copy_templates(&env);
    edit_document(&templates.join("test-agreement.docx"), |xml| {
        xml.replacen("{{ unit.name }}", "{{ unit.name ~ “(使用单位)” }}", 1)
    });
    assert_ok(&render_with(&env, &templates, "test-agreement", &[]));
    let text = text_of(&env.path("out").join(DOCS[0].1));
    assert!(
        text.contains("甲方\u{ff1a}上海市松江区某某局(使用单位)"),
        "{text}"
    );
}

fn broken(edit: impl Fn(&str) -> String) -> String {
    let env = Env::new();
    let templates = copy_templates(&env);
    edit_document(&templates.join("test-agreement.docx"), edit);
    let out = render_with(&env, &templates, "test-agreement", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        !env.path("out").exists() || std::fs::read_dir(env.path("out")).unwrap().next().is_none()
    );
    let err = stderr(&out);
    assert!(err.contains("test-agreement.docx"), "no file in: {err}");
    err
}

#[test]
fn unknown_variable_is_located_by_paragraph() {
    let err = broken(|x| x.replacen("{{ unit.name }}", "{{ unit.nmae }}", 1));
    assert!(err.contains("段落“甲方\u{ff1a}{{ unit.nmae }}”"), "{err}");
    assert!(err.contains("变量不存在"), "{err}");
}

#[test]
fn unclosed_tag_is_located_by_paragraph() {
    let err = broken(|x| x.replacen("{{ provider.name }}", "{{ provider.name", 1));
    assert!(err.contains("乙方\u{ff1a}{{ provider.name"), "{err}");
    assert!(err.contains("没有结束符"), "{err}");
}

#[test]
fn unclosed_loop_is_located_by_table_row() {
    let err = broken(|x| x.replacen("{%tr endfor %}", "", 1));
    assert!(err.contains("表格行“{%tr for h in hosts %}"), "{err}");
    assert!(err.contains("{% endfor %}"), "{err}");
}

#[test]
fn syntax_error_is_located_by_paragraph() {
    let err = broken(|x| x.replacen("{{ months }}", "{{ months + }}", 1));
    assert!(err.contains("服务时间"), "{err}");
}

#[test]
fn unknown_provider_lists_known_ones() {
    let env = Env::new();
    let file = env.path("p.xlsx");
    annex1().set("G4", "某某云计算有限公司").write(&file);
    let out = render(&env, "formal-agreement", &file, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("某某云计算有限公司") && err.contains("“示例政务云服务商”"),
        "{err}"
    );
}

#[test]
fn test_months_outside_range_are_refused() {
    let env = Env::new();
    for months in ["0", "4"] {
        let out = render(
            &env,
            "test-agreement",
            &sample("annex1-example.xlsx"),
            &["--months", months],
        );
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("1~3"), "{}", stderr(&out));
    }
    assert!(!env.path("out").exists());
}

#[test]
fn invalid_submission_is_refused_with_its_report() {
    let env = Env::new();
    let file = env.path("bad.xlsx");
    annex1().set("G12", "是").clear("B6").write(&file);
    let out = render(&env, "formal-agreement", &file, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("未生成") && err.contains("B6"), "{err}");
    assert!(!env.path("out").exists());
}

#[test]
fn output_names_cannot_escape_the_folder() {
    let env = Env::new();
    let file = env.path("n.xlsx");
    annex1()
        .clear("B4")
        .set("B3", "../../etc/x:单位\\a")
        .write(&file);
    assert_ok(&render(&env, "opening-table", &file, &[]));
    let names: Vec<String> = std::fs::read_dir(env.path("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    let name = &names[0];
    assert!(name.ends_with("-政务云资源开通情况表.xlsx"), "{name}");
    assert!(
        !name.contains(['/', '\\', ':']) && !name.starts_with('.'),
        "{name}"
    );
    assert!(!env.dir.path().join("etc").exists());
    assert_ok(&render(&env, "test-agreement", &file, &[]));
    let text = text_of(
        &env.path("out")
            .join(name.replace("政务云资源开通情况表.xlsx", "测试资源服务使用意向协议.docx")),
    );
    assert!(
        !text.contains("项目编号"),
        "conditional paragraph kept without a code:\n{text}"
    );
}

#[test]
fn pdf_without_libreoffice_is_a_clear_error() {
    let env = Env::new();
    let out = zwyun()
        .args([
            "render",
            "opening-table",
            sample("annex1-example.xlsx").to_str().unwrap(),
            "--out",
            "o",
            "--pdf",
        ])
        .current_dir(env.dir.path())
        .env("PATH", env.dir.path())
        .env("ZWYUN_SCHEMAS", repo().join("schemas"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("未找到 LibreOffice"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn project_renders_the_current_resources() {
    let env = Env::new();
    env.approve_example();
    env.formal_signed("2026-09-01");
    let change = env.path("a4.xlsx");
    annex4().write(&change);
    env.run_ok(&[
        "approve",
        change.to_str().unwrap(),
        "--effective",
        "2026-10-01",
    ]);
    let out = env.path("out");
    env.run_ok(&[
        "render",
        "formal-agreement",
        "--project",
        "SJ-2026-017",
        "--out",
        out.to_str().unwrap(),
    ]);
    let text = text_of(&out.join(DOCS[1].1));
    assert!(text.contains("数据盘2400GB"), "{text}");
    assert!(text.contains("☑互联网带宽(GB)|12|"), "{text}");
}

#[test]
fn unknown_project_is_an_error() {
    let env = Env::new();
    env.approve_example();
    let out = env.run(&[
        "render",
        "opening-table",
        "--project",
        "SJ-0000-000",
        "--out",
        "o",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("SJ-0000-000"));
}

#[test]
fn library_renderer_renders_many_submissions() {
    let schemas = zwyun::schema::Schemas::load(Some(&repo().join("schemas"))).unwrap();
    let renderer =
        zwyun::render::Renderer::load(Some(&repo().join("templates")), &schemas).unwrap();
    let env = Env::new();
    let file = env.path("a.xlsx");
    let mut texts = Vec::new();
    for unit in ["甲单位", "乙单位"] {
        annex1().set("B3", unit).write(&file);
        let projects = Default::default();
        let ctx = zwyun::validate::Context {
            schemas: &schemas,
            projects: &projects,
            parties: Some(renderer.parties()),
        };
        let outcome = zwyun::validate::check_path(&file, &ctx);
        let app = outcome.application().expect("valid");
        let doc = renderer.test_agreement(app, 1).unwrap();
        texts.push(docx_text(&doc));
        let table = zwyun::render::opening_table(app, &app.config, &schemas).unwrap();
        assert!(xlsx_text(&table).contains(unit));
        assert_eq!(
            zwyun::render::output_name(app, "测试资源服务使用意向协议", "docx"),
            "SJ-2026-017-测试资源服务使用意向协议.docx"
        );
    }
    assert!(texts[0].contains("甲方\u{ff1a}甲单位") && texts[1].contains("甲方\u{ff1a}乙单位"));
}

#[test]
fn built_in_templates_work_outside_the_repository() {
    let env = Env::new();
    let out = zwyun()
        .args([
            "render",
            "test-agreement",
            sample("annex1-example.xlsx").to_str().unwrap(),
        ])
        .args(["--months", "1", "--out", "o"])
        .current_dir(env.dir.path())
        .env_remove("ZWYUN_TEMPLATES")
        .env_remove("ZWYUN_SCHEMAS")
        .output()
        .unwrap();
    assert_ok(&out);
    let text = text_of(&env.path("o").join(DOCS[0].1));
    assert!(text.contains("自协议签订之日起1个月"), "{text}");
}
