//! Metamorphic suite (issue 9): from each valid sample, hundreds of
//! rewrites. A meaning-preserving rewrite (ticks in other places and
//! glyphs, full-width digits, same-dimension units, merges, inserted rows,
//! header aliases) must `read` to the same data with the same errors; a
//! meaning-changing edit (another option, a unit of another dimension, an
//! unknown header, cells after the form, duplicate rows, absurd numbers)
//! must change the data or raise a diagnostic: never the original data in
//! silence.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::common::*;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Meaning {
    Preserved,
    Changed,
}

struct Variant {
    name: String,
    form: Form,
    meaning: Meaning,
}

struct Variants {
    list: Vec<Variant>,
    base: Form,
}

impl Variants {
    fn new(base: Form) -> Variants {
        Variants {
            list: Vec::new(),
            base,
        }
    }

    fn add(&mut self, meaning: Meaning, name: String, edit: impl FnOnce(&mut Form)) {
        let mut form = self.base.clone();
        edit(&mut form);
        self.list.push(Variant {
            name,
            form,
            meaning,
        });
    }

    fn set(&mut self, meaning: Meaning, cell: &str, value: impl Into<Cell>) {
        let value = value.into();
        let name = format!("{cell}={value:?}");
        self.add(meaning, name, |f| {
            f.set(cell, value);
        });
    }
}

const GLYPHS: [&str; 5] = ["√", "☑", "■", "✓", "✔"];

/// Ways of writing "option `pick` ticked among `all`".
fn tick_styles(pick: &str, all: &[&str], glyph: &str) -> Vec<String> {
    let join = |f: &dyn Fn(&str, bool) -> String| {
        all.iter()
            .map(|o| f(o, *o == pick))
            .collect::<Vec<_>>()
            .join(" ")
    };
    vec![
        join(&|o, t| format!("{}{o}", if t { glyph } else { "□" })),
        join(&|o, t| format!("{o}{}", if t { glyph } else { "□" })),
        join(&|o, t| format!("({}){o}", if t { glyph } else { " " })),
        join(&|o, t| format!("【{}】{o}", if t { glyph } else { " " })),
        join(&|o, t| format!("{} {o}", if t { glyph } else { "☐" })),
        format!("{glyph}{pick}"),
        format!("{pick} {glyph}"),
    ]
}

/// Choice cells of a form: (cell, its value, every option).
fn choice_cells(kind: &str) -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    let ownership = vec!["市级", "区级", "自费"];
    let arch = vec!["X86", "XC"];
    let kinds = vec!["云主机", "物理机"];
    let zones = vec!["政务外网", "互联网区", "政务专网", "管理区"];
    match kind {
        "annex1" => vec![
            ("B5", "市级", ownership),
            ("G5", "X86", arch),
            ("B12", "第三级", vec!["第一级", "第二级", "第三级"]),
            ("G12", "否", vec!["是", "否"]),
            ("A17", "云主机", kinds),
            ("G18", "政务外网", zones),
        ],
        _ => vec![
            ("B5", "市级", ownership),
            ("G5", "X86", arch),
            ("A10", "云主机", kinds.clone()),
            ("A15", "云主机", kinds),
            ("G14", "政务外网", zones),
        ],
    }
}

fn choices(v: &mut Variants, kind: &str) {
    use Meaning::*;
    for (cell, value, all) in choice_cells(kind) {
        for glyph in GLYPHS {
            for style in tick_styles(value, &all, glyph) {
                v.set(Preserved, cell, style.as_str());
            }
        }
        for other in all.iter().filter(|o| **o != value) {
            for style in tick_styles(other, &all, "√").into_iter().take(2) {
                v.set(Changed, cell, style.as_str());
            }
        }
        let two = format!("√{} √{}", all[0], all[1]);
        v.set(Changed, cell, two.as_str());
        let none: Vec<String> = all.iter().map(|o| format!("□{o}")).collect();
        v.set(Changed, cell, none.join(" ").as_str());
    }
}

/// Numeric cells: (cell, value, same value with units, another dimension).
fn numeric_cells(kind: &str) -> Vec<(&'static str, f64, Vec<&'static str>, &'static str)> {
    match kind {
        "annex1" => vec![
            ("B17", 8.0, vec!["8核", "8 vCPU", "8核心"], "8GB"),
            (
                "C17",
                16.0,
                vec!["16G", "16GB", "16384MB", "16 GiB"],
                "16台",
            ),
            ("E17", 100.0, vec!["100GB", "100 G"], "100平米"),
            (
                "F17",
                500.0,
                vec!["500GB", "0.48828125TB", "500 G"],
                "500核",
            ),
            ("F18", 2000.0, vec!["2000GB", "1.953125T"], "2000人"),
            ("H17", 2.0, vec!["2台", "2 台", "2套"], "2GB"),
            (
                "G10",
                5000.0,
                vec!["5000人", "5000 人", "5,000", "5000名"],
                "5000GB",
            ),
            ("E22", 300.0, vec!["300GB", "300G"], "300个"),
            (
                "E23",
                3000.0,
                vec!["3000GB", "2.9296875TB", "3,000"],
                "3000平方米",
            ),
            ("E25", 2.0, vec!["2TB", "2048GB", "2 T"], "2核"),
            ("E28", 10.0, vec!["10GB", "10G"], "10人"),
            ("H27", 1.0, vec!["1个"], "1GB"),
        ],
        _ => vec![
            ("B9", 8.0, vec!["8核", "8 vCPU"], "8GB"),
            ("C10", 64.0, vec!["64G", "65536MB"], "64核"),
            ("F15", 2400.0, vec!["2400GB", "2.34375TB"], "2400台"),
            ("H14", 2.0, vec!["2台"], "2GB"),
            ("D19", 10.0, vec!["10GB", "10G"], "10平米"),
            ("E19", 12.0, vec!["12GB", "12 G"], "12个"),
        ],
    }
}

fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect()
}

fn numbers(v: &mut Variants, kind: &str) {
    use Meaning::*;
    for (cell, value, same, other) in numeric_cells(kind) {
        let plain = format!("{value}");
        v.set(Preserved, cell, plain.as_str());
        v.set(Preserved, cell, full_width(&plain).as_str());
        v.set(Preserved, cell, format!(" {plain} ").as_str());
        for s in same {
            v.set(Preserved, cell, s);
            v.set(Preserved, cell, full_width(s).as_str());
        }
        v.set(Changed, cell, other);
        v.set(Changed, cell, format!("{plain}箱").as_str());
        v.set(Changed, cell, value + 1.0);
        v.set(Changed, cell, 1e28);
        v.set(Changed, cell, -1.0);
        v.set(Changed, cell, "很多");
    }
}

/// Units printed in a header or a service name instead of the form's:
/// the column read in that unit, and typed units that look alike but
/// measure something else (`Gb`, `M` for bandwidth).
fn unit_headers(v: &mut Variants, kind: &str) {
    use Meaning::*;
    type Cells = Vec<(&'static str, Cell)>;
    let (preserved, changed): (Vec<Cells>, Vec<Cells>) = match kind {
        "annex1" => (
            vec![
                vec![
                    ("F16", "数据盘(TB)".into()),
                    ("F17", 0.48828125.into()),
                    ("F18", 1.953125.into()),
                ],
                vec![("F16", "数据盘(GiB)".into())],
                vec![
                    ("C16", "内存(MB)".into()),
                    ("C17", 16384.0.into()),
                    ("C18", 65536.0.into()),
                ],
                vec![("C23", "□SSD(TB)".into()), ("E23", 2.9296875.into())],
                vec![("C24", "□OSS(GB)".into())],
            ],
            vec![
                vec![("F16", "数据盘(TB)".into())],
                vec![("C16", "内存(核)".into())],
                vec![("C23", "□SSD(TB)".into())],
                vec![("C28", "□互联网带宽(M)".into())],
                vec![("E28", "10M".into())],
                vec![("E28", "10Mbps".into())],
                vec![("E28", "10TB".into())],
                vec![("F17", "500Gb".into())],
                vec![("C17", "16Gb".into())],
            ],
        ),
        _ => (
            vec![vec![
                ("F13", "数据盘(TB)".into()),
                ("F14", 0.48828125.into()),
                ("F15", 2.34375.into()),
            ]],
            vec![
                vec![("A19", "互联网带宽(Mbps)".into())],
                vec![("E19", "12M".into())],
                vec![("F15", "2400Gb".into())],
            ],
        ),
    };
    for (meaning, list) in [(Preserved, preserved), (Changed, changed)] {
        for cells in list {
            let name = format!("{cells:?}");
            v.add(meaning, name, |f| {
                for (cell, value) in cells {
                    f.set(cell, value);
                }
            });
        }
    }
}

fn inserted_rows(v: &mut Variants, last_row: u32) {
    for at in 2..=last_row {
        for n in [1, 3] {
            v.add(
                Meaning::Preserved,
                format!("insert {n} rows at {at}"),
                |f| {
                    f.insert_rows(at, n);
                },
            );
        }
    }
}

fn headers(v: &mut Variants, kind: &str) {
    use Meaning::*;
    type Edits = Vec<(&'static str, &'static str)>;
    let (preserved, changed): (Edits, Edits) = match kind {
        "annex1" => (
            vec![
                ("B16", "CPU"),
                ("C16", "内存"),
                ("D16", "操作系统"),
                ("E16", "系统盘"),
                ("F16", "数据盘"),
                ("I16", "备注"),
                ("E21", "申请数量"),
                ("H21", "数量(单位)"),
                ("C21", "服务名称"),
                ("A3", "申请单位:"),
                ("F3", "项目名称："),
            ],
            vec![
                ("B16", "处理器"),
                ("E21", "份数"),
                ("I21", "其它"),
                ("A16", "类型"),
                ("H16", "数目"),
            ],
        ),
        _ => (
            vec![
                ("E18", "变更后"),
                ("D18", "变更前数量"),
                ("A18", "服务项"),
                ("B13", "CPU"),
                ("H8", "台数 "),
            ],
            vec![
                ("E18", "以后"),
                ("D18", "原有"),
                ("F13", "硬盘"),
                ("B8", "核"),
            ],
        ),
    };
    for (cell, text) in preserved {
        v.set(Preserved, cell, text);
    }
    for (cell, text) in changed {
        v.set(Changed, cell, text);
    }
}

fn layout(v: &mut Variants, kind: &str) {
    use Meaning::*;
    v.add(Preserved, "instructions sheet first".into(), |f| {
        f.sheets_before = vec!["填表说明".into()];
    });
    if kind == "annex1" {
        for (top, bottom) in [
            ("D17", "D18"),
            ("G17", "G18"),
            ("A17", "A18"),
            ("E17", "E18"),
        ] {
            v.add(Preserved, format!("merge {top}:{bottom}"), |f| {
                f.clear(bottom);
                f.merges.push(format!("{top}:{bottom}"));
            });
        }
        v.add(Preserved, "blank row between hosts".into(), |f| {
            f.insert_rows(18, 1);
        });
        v.add(Changed, "duplicate host row".into(), |f| {
            for col in ["A", "B", "C", "D", "E", "F", "G", "H", "I"] {
                if let Some(c) = f.get(&format!("{col}18")).cloned() {
                    f.set(&format!("{col}19"), c);
                }
            }
        });
        v.set(Changed, "F30", "☑态势感知服务");
        v.set(Changed, "C27", "☑IPv6地址(个)");
        v.set(Changed, "E23", "√");
    } else {
        v.add(Changed, "duplicate service row".into(), |f| {
            for col in ["A", "D", "E", "F"] {
                if let Some(c) = f.get(&format!("{col}19")).cloned() {
                    f.set(&format!("{col}20"), c);
                }
            }
        });
    }
    for cell in ["L17", "A60", "K3", "M40"] {
        v.set(Changed, cell, "另需说明的内容");
    }
}

/// Every variant read in one run; file name → JSON line.
fn read_all(env: &Env, variants: &[Variant], prefix: &str) -> BTreeMap<String, Value> {
    let mut paths = Vec::new();
    for (i, var) in variants.iter().enumerate() {
        let path = env.path(&format!("{prefix}-{i:04}.xlsx"));
        var.form.write(&path);
        paths.push(path.to_str().unwrap().to_string());
    }
    let mut args = vec!["read", "--format", "json"];
    args.extend(paths.iter().map(String::as_str));
    let out = env.run(&args);
    let text = String::from_utf8(out.stdout).unwrap();
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["file"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

fn error_codes(v: &Value) -> Vec<String> {
    let mut codes: Vec<String> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["severity"] == "error")
        .map(|e| e["code"].as_str().unwrap().to_string())
        .collect();
    codes.sort();
    codes
}

fn all_codes(v: &Value) -> Vec<String> {
    let mut c = codes(v);
    c.sort();
    c
}

/// Checks every variant of `base` against the base's own reading;
/// returns (preserving, changing) counts.
fn check(env: &Env, kind: &str, base: Form, last_row: u32) -> (usize, usize) {
    let mut v = Variants::new(base.clone());
    choices(&mut v, kind);
    numbers(&mut v, kind);
    inserted_rows(&mut v, last_row);
    headers(&mut v, kind);
    unit_headers(&mut v, kind);
    layout(&mut v, kind);
    let base_path = env.path(&format!("{kind}-base.xlsx"));
    base.write(&base_path);
    let base_read = read_all(
        env,
        &[Variant {
            name: "base".into(),
            form: base,
            meaning: Meaning::Preserved,
        }],
        &format!("{kind}-b"),
    );
    let base_read = base_read.values().next().unwrap().clone();
    assert!(base_read["data"].is_object(), "{base_read:#}");
    let results = read_all(env, &v.list, kind);
    assert_eq!(results.len(), v.list.len());
    let mut failures = Vec::new();
    for (i, var) in v.list.iter().enumerate() {
        let file = env.path(&format!("{kind}-{i:04}.xlsx"));
        let got = &results[file.to_str().unwrap()];
        let same_data = got["data"] == base_read["data"];
        let ok = match var.meaning {
            Meaning::Preserved => same_data && error_codes(got) == error_codes(&base_read),
            Meaning::Changed => !same_data || all_codes(got) != all_codes(&base_read),
        };
        if !ok {
            failures.push(format!(
                "{kind} {:?} {}: {}",
                var.meaning,
                var.name,
                serde_json::to_string(&got["errors"]).unwrap()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let preserved = v
        .list
        .iter()
        .filter(|x| x.meaning == Meaning::Preserved)
        .count();
    (preserved, v.list.len() - preserved)
}

#[test]
fn metamorphic_variants_read_as_meant() {
    let env = Env::new();
    let (p1, c1) = check(&env, "annex1", annex1(), 44);
    let (p4, c4) = check(&env, "annex4", annex4(), 29);
    let total = p1 + c1 + p4 + c4;
    println!(
        "metamorphic: checked {total} variants ({} meaning-preserving, {} meaning-changing)",
        p1 + p4,
        c1 + c4
    );
    assert!(total >= 500, "only {total} variants");
}
