//! Another build against this one: the same commands on the same inputs give
//! the same documents (byte for byte apart from timestamps), the same JSON
//! (apart from paths) and the same text. Run by `.ci/windows` (`wine64
//! …/zwyun.exe`) and `.ci/xinchuang` (the ARM64 build under qemu-user), which
//! set `ZWYUN_TEST_EXE`; "this build" is the binary cargo built for the tests.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use crate::common::*;

/// Everything a scenario left behind: relative path → bytes, plus what the
/// commands printed (keyed by command).
struct Run {
    root: tempfile::TempDir,
    files: BTreeMap<String, Vec<u8>>,
    printed: BTreeMap<String, String>,
}

/// validate (.xlsx and the isolated .xls reader), read, the drop folder
/// (`demo` also approves SJ-2026-017), render, assess and settle, all in
/// one fresh folder.
fn scenario(make: &dyn Fn() -> Command) -> Run {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let mut printed = BTreeMap::new();
    let commands: Vec<Vec<String>> = vec![
        args(&["demo"]),
        args(&["validate", "--format", "json"])
            .into_iter()
            .chain(
                [
                    "annex1-example.xlsx",
                    "annex1-example.xls",
                    "annex4-example.xlsx",
                ]
                .map(|n| sample(n).display().to_string()),
            )
            .collect(),
        args(&["read", "--format", "json"])
            .into_iter()
            .chain(
                ["annex1-example.xlsx", "annex4-example.xlsx"]
                    .map(|n| sample(n).display().to_string()),
            )
            .collect(),
        args(&[
            "ledger",
            "formal-signed",
            "--project",
            "SJ-2026-017",
            "--date",
            "2026-09-01",
        ]),
        args(&[
            "render",
            "formal-agreement",
            &sample("annex1-example.xlsx").display().to_string(),
            "--out",
            "文书",
        ]),
        args(&[
            "assess",
            &sample("assessment-2027.yaml").display().to_string(),
            "--out",
            "附件5.xlsx",
        ]),
        args(&[
            "settle",
            "--year",
            "2026",
            "--assessments",
            &sample("assessment-2027.yaml").display().to_string(),
            "--out",
            "结算.xlsx",
        ]),
    ];
    for a in commands {
        let out = make()
            .args(&a)
            .current_dir(dir)
            .env("ZWYUN_SCHEMAS", repo().join("schemas"))
            .env("ZWYUN_TEMPLATES", repo().join("templates"))
            .env_remove("ZWYUN_LEDGER")
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{a:?}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Timings differ from run to run.
        let stdout: String = stdout
            .lines()
            .filter(|l| !l.contains("用时"))
            .map(|l| format!("{l}\n"))
            .collect();
        printed.insert(a.join(" "), normalise_text(&stdout, dir));
    }
    let mut files = BTreeMap::new();
    collect(dir, dir, &mut files);
    Run {
        root,
        files,
        printed,
    }
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Files under `dir`, keyed by their path relative to `root` with `/`;
/// the ledger and the drop folder's own bookkeeping are left out.
fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name == ".zwyun" || name.starts_with("zwyun.db") {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).unwrap();
            let key = rel.to_string_lossy().replace('\\', "/");
            files.insert(key, std::fs::read(&path).unwrap());
        }
    }
}

/// Paths printed by either build, in either spelling (`/tmp/x/a`,
/// `Z:\tmp\x\a`, `a\b`), reduced to `<root>/…` with `/`; times of day
/// (when a file was received) blanked.
fn normalise_text(text: &str, root: &Path) -> String {
    let unix = root.display().to_string();
    let windows = format!("Z:{}", unix.replace('/', "\\"));
    let time = regex::Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").unwrap();
    let text = text
        .replace(&windows, "<root>")
        .replace(&unix, "<root>")
        .replace('\\', "/");
    time.replace_all(&text, "<time>").into_owned()
}

/// JSON with every string that holds a path cut to its last component.
fn normalise_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) if s.contains('/') || s.contains('\\') => {
            *s = s.rsplit(['/', '\\']).next().unwrap_or_default().to_string();
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(normalise_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(normalise_json),
        _ => {}
    }
}

/// The parts of an Office file, with the creation and modification
/// times (docProps/core.xml) blanked.
fn zip_parts(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let stamp = regex::Regex::new(r"<dcterms:(created|modified)[^>]*>[^<]*<").unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut parts = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        if name == "docProps/core.xml" {
            let text = String::from_utf8(data).unwrap();
            data = stamp
                .replace_all(&text, "<dcterms:$1><")
                .into_owned()
                .into();
        }
        parts.insert(name, data);
    }
    parts
}

fn assert_same_file(name: &str, this: &[u8], other: &[u8], this_root: &Path, other_root: &Path) {
    let ext = name.rsplit('.').next().unwrap_or_default();
    match ext {
        "docx" | "xlsx" => {
            let (l, w) = (zip_parts(this), zip_parts(other));
            assert_eq!(
                l.keys().collect::<Vec<_>>(),
                w.keys().collect::<Vec<_>>(),
                "{name}: parts differ"
            );
            for (part, bytes) in &l {
                assert!(&w[part] == bytes, "{name}: {part} differs");
            }
        }
        "json" => {
            let parse = |b: &[u8]| {
                let mut v: serde_json::Value = serde_json::from_slice(b).unwrap();
                normalise_json(&mut v);
                v
            };
            assert_eq!(parse(this), parse(other), "{name}");
        }
        "txt" => {
            let l = normalise_text(&String::from_utf8_lossy(this), this_root);
            let w = normalise_text(&String::from_utf8_lossy(other), other_root);
            assert_eq!(l, w, "{name}");
        }
        _ => assert!(this == other, "{name} differs"),
    }
}

/// The same scenario in two fresh folders, once with this build and once
/// with the other: the same files with the same contents, the same output.
#[test]
#[ignore = "needs another build: run by .ci/windows and .ci/xinchuang (ZWYUN_TEST_EXE)"]
fn other_build_gives_the_same_outputs() {
    assert!(other_build().is_some(), "set ZWYUN_TEST_EXE");
    let this = scenario(&|| Command::new(bin()));
    let other = scenario(&zwyun);
    assert_eq!(
        this.files.keys().collect::<Vec<_>>(),
        other.files.keys().collect::<Vec<_>>(),
        "the same files"
    );
    let documents = this
        .files
        .keys()
        .filter(|k| k.ends_with(".docx") || k.ends_with(".xlsx"))
        .count();
    assert!(documents >= 8, "{:?}", this.files.keys());
    for (name, bytes) in &this.files {
        assert_same_file(
            name,
            bytes,
            &other.files[name],
            this.root.path(),
            other.root.path(),
        );
    }
    for (command, text) in &this.printed {
        let w = &other.printed[command];
        if command.contains("--format json") {
            let parse = |t: &str| -> Vec<serde_json::Value> {
                t.lines()
                    .map(|l| {
                        let mut v = serde_json::from_str(l).unwrap();
                        normalise_json(&mut v);
                        v
                    })
                    .collect()
            };
            assert_eq!(parse(text), parse(w), "{command}");
        } else {
            assert_eq!(text, w, "{command}");
        }
    }
}
