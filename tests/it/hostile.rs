//! Broken and hostile files: each refused with a clear code, never a panic.

use crate::common::*;

fn fixture(name: &str) -> std::path::PathBuf {
    repo().join("tests/fixtures").join(name)
}

fn status_and_code(env: &Env, path: &std::path::Path) -> (String, String) {
    let v = env.validate_json(path);
    (
        v["status"].as_str().unwrap().to_string(),
        codes(&v)[0].clone(),
    )
}

#[test]
fn text_file_renamed_xlsx() {
    let env = Env::new();
    let path = env.path("申请表.xlsx");
    std::fs::write(&path, "单位,项目\n某某局,平台\n").unwrap();
    assert_eq!(
        status_and_code(&env, &path),
        ("unreadable".into(), "file.not_workbook".into())
    );
}

#[test]
fn empty_file() {
    let env = Env::new();
    let path = env.path("empty.xlsx");
    std::fs::write(&path, "").unwrap();
    assert_eq!(
        status_and_code(&env, &path),
        ("unreadable".into(), "file.empty".into())
    );
}

#[test]
fn truncated_workbook() {
    let env = Env::new();
    let bytes = std::fs::read(sample("annex1-example.xlsx")).unwrap();
    let path = env.path("truncated.xlsx");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(
        status_and_code(&env, &path),
        ("unreadable".into(), "file.corrupt".into())
    );
}

#[test]
fn password_protected_workbook() {
    let env = Env::new();
    let v = env.validate_json(&fixture("annex1-encrypted.xlsx"));
    assert_eq!(v["status"], "unreadable");
    let e = error(&v, "file.encrypted");
    assert!(e["message"].as_str().unwrap().contains("文件已加密"));
}

#[test]
fn zip_bomb_refused() {
    let env = Env::new();
    let (status, code) = status_and_code(&env, &fixture("zip-bomb.xlsx"));
    assert_eq!(
        (status.as_str(), code.as_str()),
        ("unreadable", "file.too_large")
    );
}

#[test]
fn a_zip_that_is_not_a_workbook() {
    let env = Env::new();
    let path = env.path("document.xlsx");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    zip.start_file(
        "word/document.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    std::io::Write::write_all(&mut zip, b"<w:document/>").unwrap();
    zip.finish().unwrap();
    assert_eq!(
        status_and_code(&env, &path),
        ("unreadable".into(), "file.not_workbook".into())
    );
}

#[test]
fn sheet_with_hundreds_of_thousands_of_cells() {
    let env = Env::new();
    let path = env.path("huge.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "松江区市政务云资源申请表").unwrap();
    for r in 1..30_000u32 {
        for c in 0..10u16 {
            ws.write_number(r, c, 1.0).unwrap();
        }
    }
    wb.save(&path).unwrap();
    assert_eq!(
        status_and_code(&env, &path),
        ("unreadable".into(), "file.too_large".into())
    );
}

#[test]
fn one_stray_far_cell_does_not_allocate_a_grid() {
    let env = Env::new();
    let mut f = annex1();
    f.set("XFD1048576", "x");
    let path = env.path("far.xlsx");
    f.write(&path);
    assert_eq!(env.validate_json(&path)["status"], "valid");
}

/// An .xls with one cell at IV65536 (saved by LibreOffice): the reader
/// would lay out all 16 million cells, so the limited child process dies and
/// the file is refused with advice, while the batch goes on.
#[test]
fn xls_with_a_far_cell_is_refused_by_the_limited_reader() {
    if other_build().is_some() {
        // Wine creates the Job Object but does not enforce its memory
        // limit; qemu-user ignores RLIMIT_AS (it would limit the emulator
        // itself): there the child lays the sheet out and the file reads.
        eprintln!("skipped under Wine and qemu-user: the child's memory limit is not enforced");
        return;
    }
    let env = Env::new();
    let far = repo().join("tests/fixtures/annex1-far-cell.xls");
    let good = sample("annex1-example.xls");
    let out = env.run(&[
        "validate",
        "--format",
        "json",
        far.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["status"], "unreadable");
    let e = &lines[0]["errors"][0];
    assert_eq!(e["code"], "file.too_large");
    assert!(e["hint"].as_str().unwrap().contains(".xlsx"), "{e}");
    assert_eq!(lines[1]["status"], "valid");
}

#[test]
fn xls_saved_by_libreoffice() {
    let env = Env::new();
    let v = env.validate_json(&sample("annex1-example.xls"));
    assert_eq!(v["status"], "valid", "{v:#}");
    assert_eq!(v["form"], "annex1");
}

#[test]
fn xlsx_saved_by_libreoffice() {
    let env = Env::new();
    let v = env.validate_json(&repo().join("tests/fixtures/annex1-libreoffice.xlsx"));
    assert_eq!(v["status"], "valid", "{v:#}");
}

/// Damaged copies of a real workbook (bytes overwritten at pseudo-random
/// places, deterministic): each gets a verdict, none crashes zwyun.
#[test]
fn damaged_workbooks_never_crash() {
    let env = Env::new();
    let original = std::fs::read(sample("annex1-example.xlsx")).unwrap();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let mut paths = Vec::new();
    for i in 0..40 {
        let mut bytes = original.clone();
        for _ in 0..1 + i % 8 {
            let at = next() % bytes.len();
            bytes[at] = next() as u8;
        }
        let path = env.path(&format!("damaged-{i}.xlsx"));
        std::fs::write(&path, bytes).unwrap();
        paths.push(path.to_str().unwrap().to_string());
    }
    let mut args = vec!["validate", "--format", "json"];
    args.extend(paths.iter().map(String::as_str));
    let out = env.run(&args);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = String::from_utf8(out.stdout).unwrap();
    assert_eq!(lines.lines().count(), 40, "one verdict per file");
}
