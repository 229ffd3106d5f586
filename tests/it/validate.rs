//! `zwyun validate` on real workbooks: every variation of FORMS.md "What
//! real submissions look like", every rule, the JSON contract, exit codes.

use std::path::Path;

use crate::common::*;

/// Writes `form` as `name` in the env and validates it.
fn check(env: &Env, name: &str, form: &Form) -> serde_json::Value {
    let path = env.path(name);
    form.write(&path);
    env.validate_json(&path)
}

fn assert_valid(v: &serde_json::Value) {
    assert_eq!(v["status"], "valid", "{v:#}");
}

#[test]
fn shared_examples_are_valid() {
    let env = Env::new();
    let v = env.validate_json(&sample("annex1-example.xlsx"));
    assert_valid(&v);
    assert_eq!(v["form"], "annex1");
    assert_eq!(v["errors"], serde_json::json!([]));
}

#[test]
fn json_contract_has_exactly_the_documented_keys() {
    let env = Env::new();
    let mut f = annex1();
    f.clear("B3");
    let v = check(&env, "a.xlsx", &f);
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["errors", "file", "form", "status"]);
    let e = error(&v, "field.required");
    let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["cell", "code", "field", "hint", "message", "severity", "sheet"]
    );
    assert_eq!(e["cell"], "B3");
    assert_eq!(e["sheet"], "资源申请表");
    assert_eq!(e["severity"], "error");
    assert_eq!(e["field"], "申请单位");
}

#[test]
fn one_json_line_per_file_and_exit_codes() {
    let env = Env::new();
    let good = sample("annex1-example.xlsx");
    let bad = env.path("bad.xlsx");
    std::fs::write(&bad, "not a workbook").unwrap();
    let out = env.run(&[
        "validate",
        "--format",
        "json",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["status"], "valid");
    assert_eq!(lines[1]["status"], "unreadable");
    assert_eq!(lines[1]["form"], serde_json::Value::Null);
    let ok = env.run(&["validate", good.to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0));
    let usage = env.run(&["validate", "--format", "yaml", good.to_str().unwrap()]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn text_report_names_cells_in_chinese() {
    let env = Env::new();
    let mut f = annex1();
    f.set("E6", "12345");
    let path = env.path("a.xlsx");
    f.write(&path);
    let out = env.run(&["validate", path.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("资源申请表!E6: 错误[field.phone]"), "{text}");
    assert!(text.contains("修改建议"), "{text}");
    assert!(text.contains("未通过"), "{text}");
}

#[test]
fn tick_marks_select_choices() {
    let env = Env::new();
    for (ownership, arch) in [
        ("√市级 □区级 □自费", "☑X86 □XC"),
        ("□市级 ☑区级 □自费", "□X86 ■XC"),
        ("■自费", "✓X86"),
        ("□市级 ✔区级", "x86"),
    ] {
        let mut f = annex1();
        f.set("B5", ownership).set("G5", arch);
        assert_valid(&check(&env, "a.xlsx", &f));
    }
    let mut f = annex1();
    f.set("B5", "√市级 √区级 □自费");
    let v = check(&env, "a.xlsx", &f);
    assert_eq!(error(&v, "field.choice")["cell"], "B5");
}

#[test]
fn tick_in_service_quantity_means_one() {
    let env = Env::new();
    let mut f = annex1();
    f.set("H30", "√").set("H31", "✓");
    assert_valid(&check(&env, "a.xlsx", &f));
    f.set("H32", "要");
    let v = check(&env, "a.xlsx", &f);
    assert_eq!(error(&v, "service.quantity")["cell"], "H32");
}

#[test]
fn numbers_typed_with_units_full_width_digits_and_spaces() {
    let env = Env::new();
    let mut f = annex1();
    f.set("B17", "16核")
        .set("C17", "32G")
        .set("F17", "500 GB")
        .set("H17", "１６")
        .set("E17", " 2 ")
        .set("H18", "1台");
    f.set("E22", "300GB").set("G10", "5,000");
    assert_valid(&check(&env, "a.xlsx", &f));
    f.set("C18", "很多");
    let v = check(&env, "a.xlsx", &f);
    assert_eq!(error(&v, "field.type")["cell"], "C18");
}

#[test]
fn dates_as_serials_and_text() {
    let env = Env::new();
    for date in [
        Cell::Num(46346.0),
        "2026/11/20".into(),
        "2026年11月20日".into(),
        "2026.11.20".into(),
    ] {
        let mut f = annex1();
        f.set("I2", date);
        assert_valid(&check(&env, "a.xlsx", &f));
    }
    let mut f = annex1();
    f.set("I2", "下周一");
    let v = check(&env, "a.xlsx", &f);
    assert_eq!(error(&v, "field.date")["cell"], "I2");
}

#[test]
fn formulas_read_by_cached_value_or_reported() {
    let env = Env::new();
    let mut f = annex1();
    f.set("B17", Cell::FormulaWithValue("=2*4".into(), 8.0));
    assert_valid(&check(&env, "a.xlsx", &f));
    // Written by a program: no computed value saved (the workbook asks
    // for a recalculation on load), never read as a silent 0.
    let mut f = annex1();
    f.set("C17", Cell::Formula("=2*8".into()));
    let v = check(&env, "a.xlsx", &f);
    let e = error(&v, "field.formula_uncached");
    assert_eq!(e["cell"], "C17");
    assert!(e["hint"].as_str().unwrap().contains("重新计算"));
}

#[test]
fn inserted_and_empty_rows_shift_cells() {
    let env = Env::new();
    let mut f = annex1();
    // Two rows inserted above the host table, one empty row between hosts.
    f.insert_rows(9, 2).insert_rows(20, 1);
    f.set("A22", "物理机")
        .set("B22", 32.0)
        .set("C22", 128.0)
        .set("D22", "统信UOS")
        .set("G22", "管理区")
        .set("H22", 1.0);
    let v = check(&env, "a.xlsx", &f);
    assert_valid(&v);
    // A problem below the inserted rows is reported at its shifted address.
    f.clear("H22");
    let v = check(&env, "a.xlsx", &f);
    let e = error(&v, "field.required");
    assert_eq!(e["cell"], "H22");
    assert_eq!(e["field"], "台数");
}

#[test]
fn merged_value_cells_and_values_typed_further_right() {
    let env = Env::new();
    let mut f = annex1();
    f.merges.push("B9:J9".into());
    // The unit typed 申请单位 into C3 instead of the (unmerged) B3.
    f.clear("B3").set("C3", "上海市松江区某某局");
    f.merges.retain(|m| m != "B3:E3");
    assert_valid(&check(&env, "a.xlsx", &f));
}

#[test]
fn sheet_order_does_not_matter() {
    let env = Env::new();
    let mut f = annex1();
    f.sheets_before = vec!["填表说明".into(), "Sheet3".into()];
    assert_valid(&check(&env, "a.xlsx", &f));
    f.sheet = "申请表(已填)".into();
    assert_valid(&check(&env, "a.xlsx", &f));
}

#[test]
fn text_with_markup_characters_is_kept() {
    let env = Env::new();
    let mut f = annex1();
    f.set("B9", "A&B <系统> \"引号\" '单引号'\n第二行 {{ 7*7 }}");
    assert_valid(&check(&env, "a.xlsx", &f));
}

#[test]
fn workbook_that_is_neither_form() {
    let env = Env::new();
    let mut f = annex1();
    f.set("A1", "某某统计表");
    let v = check(&env, "a.xlsx", &f);
    assert_eq!(v["status"], "invalid");
    assert_eq!(v["form"], serde_json::Value::Null);
    assert!(codes(&v)[0].contains("form"));
}

#[test]
fn required_fields_and_types() {
    let env = Env::new();
    let mut f = annex1();
    f.clear("B9")
        .clear("B13")
        .clear("B14")
        .set("H6", "zhangsan@")
        .set("G10", "-3")
        .set("E6", "1380000");
    let v = check(&env, "a.xlsx", &f);
    let c = codes(&v);
    for (code, cell) in [
        ("field.email", "H6"),
        ("field.range", "G10"),
        ("field.phone", "E6"),
    ] {
        assert_eq!(error(&v, code)["cell"], cell);
    }
    let required: Vec<_> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == "field.required")
        .map(|e| e["cell"].as_str().unwrap())
        .collect();
    assert_eq!(required, ["B9", "B13", "B14"], "{c:?}");
}

#[test]
fn phones_mobile_and_landline() {
    let env = Env::new();
    for phone in [
        "13800000000",
        "021-57700000",
        "02157700000",
        "021-5770 0000",
        "１３８００００００００",
    ] {
        let mut f = annex1();
        f.set("E6", phone);
        assert_valid(&check(&env, "a.xlsx", &f));
    }
    let mut f = annex1();
    f.set("E6", Cell::Num(13800000000.0));
    assert_valid(&check(&env, "a.xlsx", &f));
}

#[test]
fn scope_rules_level_and_classified() {
    let env = Env::new();
    let mut f = annex1();
    f.set("B12", "第四级").set("G12", "是");
    let v = check(&env, "a.xlsx", &f);
    assert_eq!(error(&v, "policy.level")["cell"], "B12");
    assert_eq!(error(&v, "policy.classified")["cell"], "G12");
    f.set("B12", "二级").set("G12", "否");
    assert_valid(&check(&env, "a.xlsx", &f));
}

#[test]
fn at_least_one_host_row() {
    let env = Env::new();
    let mut f = annex1();
    f.cells
        .retain(|(a, _)| !(a.ends_with("17") || a.ends_with("18")) || a.len() > 3);
    let v = check(&env, "a.xlsx", &f);
    assert_eq!(error(&v, "policy.no_hosts")["cell"], "A15");
}

#[test]
fn host_row_rules() {
    let env = Env::new();
    let mut f = annex1();
    f.set("A17", "虚拟机").set("G18", "外星网").set("D17", "");
    f.clear("D17");
    let v = check(&env, "a.xlsx", &f);
    let choice_cells: Vec<_> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == "field.choice")
        .map(|e| e["cell"].as_str().unwrap())
        .collect();
    assert_eq!(choice_cells, ["A17", "G18"]);
    assert_eq!(error(&v, "field.required")["cell"], "D17");
}

#[test]
fn district_opinion_filled_by_unit_is_a_warning() {
    let env = Env::new();
    let mut f = annex1();
    f.set("B42", "同意");
    let v = check(&env, "a.xlsx", &f);
    assert_valid(&v);
    let e = error(&v, "field.district_only");
    assert_eq!(e["severity"], "warning");
    assert_eq!(e["cell"], "B42");
}

#[test]
fn unknown_service_item_in_grid() {
    let env = Env::new();
    let mut f = annex1();
    f.set("C24", "□量子存储(TB)");
    let v = check(&env, "a.xlsx", &f);
    assert_eq!(error(&v, "service.unknown")["cell"], "C24");
}

#[test]
fn report_workbook_for_the_unit() {
    let env = Env::new();
    let mut f = annex1();
    f.clear("B3");
    let path = env.path("某单位申请.xlsx");
    f.write(&path);
    let out = env.run(&["validate", path.to_str().unwrap(), "--report", "reports"]);
    assert_eq!(out.status.code(), Some(1));
    let xlsx = env.path("reports/某单位申请-问题清单.xlsx");
    let json = env.path("reports/某单位申请-问题清单.json");
    use calamine::{open_workbook, Reader, Xlsx};
    let mut wb: Xlsx<_> = open_workbook(&xlsx).unwrap();
    let range = wb.worksheet_range("问题清单").unwrap();
    // Title, unit and file lines come first; the table starts at 序号.
    let top = (0..range.height() as u32)
        .find(|&r| range.get_value((r, 0)).is_some_and(|v| *v == "序号"))
        .expect("header row");
    let header: Vec<String> = (0..7)
        .map(|c| range.get_value((top, c)).unwrap().to_string())
        .collect();
    assert_eq!(
        header,
        [
            "序号",
            "级别",
            "工作表",
            "单元格",
            "字段",
            "问题",
            "修改建议"
        ]
    );
    assert_eq!(range.get_value((top + 1, 3)).unwrap().to_string(), "B3");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(error(&v, "field.required")["cell"], "B3");
}

#[test]
fn schema_edit_changes_behaviour_without_rebuild() {
    let env = Env::new();
    let schemas = copy_schemas(&env);
    let mut f = annex1();
    f.set("G17", "灾备区");
    let path = env.path("a.xlsx");
    f.write(&path);
    let args = [
        "--schemas",
        schemas.to_str().unwrap(),
        "validate",
        "--format",
        "json",
        path.to_str().unwrap(),
    ];
    assert_eq!(env.run(&args).status.code(), Some(1));
    let hosts = std::fs::read_to_string(schemas.join("hosts.yaml")).unwrap();
    std::fs::write(
        schemas.join("hosts.yaml"),
        hosts.replace("管理区]", "管理区, 灾备区]"),
    )
    .unwrap();
    assert_eq!(env.run(&args).status.code(), Some(0));
}

#[test]
fn broken_schema_reported_with_line_and_column() {
    let env = Env::new();
    let schemas = copy_schemas(&env);
    let text = std::fs::read_to_string(schemas.join("annex1.yaml")).unwrap();
    std::fs::write(
        schemas.join("annex1.yaml"),
        text.replace("type: date", "type: datum"),
    )
    .unwrap();
    let out = env.run(&[
        "--schemas",
        schemas.to_str().unwrap(),
        "validate",
        sample("annex1-example.xlsx").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("annex1.yaml:"), "{err}");
    let line_of_date = text.lines().position(|l| l.contains("type: date")).unwrap() + 1;
    assert!(
        err.contains(&format!("annex1.yaml:{line_of_date}:")),
        "{err}"
    );
}

#[test]
fn blank_forms_filled_validate() {
    let env = Env::new();
    env.run_ok(&["blank", "annex1", "-o", "blank1.xlsx"]);
    env.run_ok(&["blank", "annex4", "-o", "blank4.xlsx"]);
    let v = env.validate_json(&env.path("blank1.xlsx"));
    assert_eq!(v["form"], "annex1");
    assert_eq!(error(&v, "field.required")["cell"], "I2");
    // The options the blank prints, untouched: nothing chosen.
    let untouched = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["cell"] == "B5")
        .unwrap_or_else(|| panic!("{v:#}"));
    assert!(
        untouched["message"]
            .as_str()
            .unwrap()
            .contains("没有勾选任何一项"),
        "{untouched}"
    );
    let v = env.validate_json(&env.path("blank4.xlsx"));
    assert_eq!(v["form"], "annex4");
    // Fill the generated blank 附件1 the way a unit would: by its labels.
    let filled = fill_blank(&env.path("blank1.xlsx"));
    let path = env.path("filled.xlsx");
    filled.write(&path);
    assert_valid(&env.validate_json(&path));
}

/// The generated blank with the example's values typed into it: every
/// cell of the blank kept, the example's values added where it has none
/// or where it prints the options of a choice (`□市级 □区级 □自费`, which
/// a unit replaces by picking from the dropdown).
fn fill_blank(blank: &std::path::Path) -> Form {
    use calamine::{open_workbook, Reader, Xlsx};
    let mut wb: Xlsx<_> = open_workbook(blank).unwrap();
    let range = wb.worksheet_range("资源申请表").unwrap();
    let mut form = annex1();
    form.cells.clear();
    form.merges.clear();
    for (r, c, v) in range.used_cells() {
        let addr = format!("{}{}", (b'A' + c as u8) as char, r + 1);
        form.set(&addr, v.to_string().as_str());
    }
    for (addr, cell) in annex1().cells {
        let printed_options = form
            .get(&addr)
            .is_some_and(|c| matches!(c, Cell::Text(t) if t.starts_with('□')));
        if form.get(&addr).is_none() || printed_options {
            form.set(&addr, cell);
        }
    }
    form
}

/// A copy of the repository's rule files, for a test to edit.
fn copy_schemas(env: &Env) -> std::path::PathBuf {
    let schemas = env.path("schemas");
    std::fs::create_dir(&schemas).unwrap();
    for entry in std::fs::read_dir(repo().join("schemas")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), schemas.join(entry.file_name())).unwrap();
    }
    schemas
}

fn edit(path: &std::path::Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    std::fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn catalogue_item_added_in_yaml_is_recognised() {
    let env = Env::new();
    env.approve_example();
    let mut f = annex4();
    f.set("A20", "GPU算力(卡)").set("D20", 0.0).set("E20", 0.0);
    let path = env.path("change.xlsx");
    f.write(&path);
    assert!(codes(&env.validate_json(&path)).contains(&"service.unknown".to_string()));
    let schemas = copy_schemas(&env);
    edit(
        &schemas.join("catalogue.yaml"),
        "items:\n",
        "items:\n  - {key: gpu, name: GPU算力(卡), group: 计算服务, category: 其他服务, unit: 卡, max: 100}\n",
    );
    edit(
        &schemas.join("catalogue.yaml"),
        "units:\n",
        "units:\n  - {name: 卡, dimension: 卡数, factor: 1, aliases: [张]}\n",
    );
    let v = env.validate_json_with(&["--schemas", schemas.to_str().unwrap()], &path);
    assert_eq!(v["status"], "valid", "{v:#}");
    // A unit's other spelling, declared in `units`, is read as that unit.
    f.set("E20", "2张");
    f.write(&path);
    let v = env.validate_json_with(&["--schemas", schemas.to_str().unwrap()], &path);
    assert!(!codes(&v).iter().any(|c| c.starts_with("unit.")), "{v:#}");
    f.set("E20", "2块");
    f.write(&path);
    let v = env.validate_json_with(&["--schemas", schemas.to_str().unwrap()], &path);
    assert!(codes(&v).contains(&"unit.unknown".to_string()), "{v:#}");
}

#[test]
fn value_below_its_label() {
    let env = Env::new();
    let mut f = annex1();
    // 备份方案 written on the row under its label instead of beside it.
    f.insert_rows(14, 1).clear("B13").set("A14", "每日增量备份");
    let path = env.path("a.xlsx");
    f.write(&path);
    assert_eq!(
        error(&env.validate_json(&path), "field.required")["cell"],
        "B13"
    );
    let schemas = copy_schemas(&env);
    edit(
        &schemas.join("annex1.yaml"),
        "{key: backup, label: 备份方案, type: text, required: true}",
        "{key: backup, label: 备份方案, type: text, required: true, value: below}",
    );
    let v = env.validate_json_with(&["--schemas", schemas.to_str().unwrap()], &path);
    assert_eq!(v["status"], "valid", "{v:#}");
}

/// Codes are a public interface: every code the program can report is in
/// the README's table, so a unit's system can look it up.
#[test]
fn every_diagnostic_code_is_documented_in_the_readme() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let code = regex::Regex::new(
        r#"(?:Diagnostic::(?:error|warning)\(\s*|code:\s*(?:if [^{]*\{\s*)?)"([a-z_0-9]+\.[a-z_0-9]+)""#,
    )
    .unwrap();
    let mut found = std::collections::BTreeSet::new();
    let mut dirs = vec![root.join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                found.extend(code.captures_iter(&text).map(|c| c[1].to_string()));
            }
        }
    }
    assert!(
        found.len() > 40,
        "only {} codes found: {found:?}",
        found.len()
    );
    let missing: Vec<&String> = found
        .iter()
        .filter(|c| !readme.contains(&format!("| `{c}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "codes not in the README table: {missing:?}"
    );
}
