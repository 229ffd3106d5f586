//! `zwyun read` and the reader's principles (issue 9): one test per example
//! of the issue, named for what it shows, on workbooks written cell by cell.

use std::path::Path;

use serde_json::{json, Value};

use crate::common::*;

/// `zwyun read --format json` of one workbook written from `form`.
fn read(env: &Env, form: &Form) -> Value {
    let path = env.path("form.xlsx");
    form.write(&path);
    read_path(env, &path)
}

fn read_path(env: &Env, path: &Path) -> Value {
    let out = env.run(&["read", "--format", "json", path.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("bad json {e}: {text}"))
}

fn warning<'a>(v: &'a Value, code: &str) -> &'a Value {
    error(v, code)
}

fn has(v: &Value, code: &str) -> bool {
    codes(v).iter().any(|c| c == code)
}

fn assert_valid(v: &Value) {
    assert_eq!(v["status"], "valid", "{v:#}");
}

#[test]
fn read_json_is_validate_object_plus_typed_data() {
    let env = Env::new();
    let v = read_path(&env, &sample("annex1-example.xlsx"));
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["data", "errors", "file", "form", "status"]);
    let data = &v["data"];
    assert_eq!(data["fields"]["date"], "2026-11-20");
    assert_eq!(data["fields"]["ownership"], "市级");
    assert_eq!(data["fields"]["user_count"], json!(5000));
    assert_eq!(data["hosts"][0]["cpu"], json!(8));
    assert_eq!(data["hosts"][1]["data_disk_gb"], json!(2000));
    assert_eq!(data["hosts"][0]["zone"], "政务外网");
    assert_eq!(data["services"]["data_disk_ssd"], json!(3000));
    assert_eq!(data["services"]["bastion"], json!(1));
    let host_keys: Vec<&String> = data["hosts"][0].as_object().unwrap().keys().collect();
    assert_eq!(
        host_keys,
        [
            "count",
            "cpu",
            "data_disk_gb",
            "kind",
            "memory_gb",
            "note",
            "os",
            "system_disk_gb",
            "zone"
        ]
    );
}

#[test]
fn read_json_of_a_change_has_current_and_proposed() {
    let env = Env::new();
    let v = read(&env, &annex4());
    let data = &v["data"];
    assert_eq!(data["current"]["hosts"][1]["data_disk_gb"], json!(2000));
    assert_eq!(data["proposed"]["hosts"][1]["data_disk_gb"], json!(2400));
    assert_eq!(data["current"]["services"]["bandwidth"], json!(10));
    assert_eq!(data["proposed"]["services"]["bandwidth"], json!(12));
    assert_eq!(data["fields"]["project_code"], "SJ-2026-017");
}

#[test]
fn read_text_is_a_readable_summary_and_exit_code_follows_validate() {
    let env = Env::new();
    let out = env.run(&["read", sample("annex1-example.xlsx").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("读取的内容"), "{text}");
    assert!(text.contains("填表日期:2026-11-20"), "{text}");
    assert!(text.contains("数据盘 SSD(GB):3000 GB"), "{text}");
    let bad = env.path("bad.xlsx");
    std::fs::write(&bad, "no").unwrap();
    let out = env.run(&["read", "--format", "json", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["data"], Value::Null);
}

#[test]
fn classified_tick_after_yes_is_rejected() {
    let env = Env::new();
    let mut f = annex1();
    f.set("G12", "是√ 否□");
    let v = read(&env, &f);
    assert_eq!(error(&v, "policy.classified")["cell"], "G12");
    f.set("G12", "否√ 是□");
    assert_valid(&read(&env, &f));
}

#[test]
fn classified_written_as_words_reads_as_meant() {
    let env = Env::new();
    let mut f = annex1();
    for typed in ["不涉密", "非涉密", "非涉密系统", "√非涉密 □涉密"] {
        f.set("G12", typed);
        let v = read(&env, &f);
        assert_valid(&v);
        assert_eq!(v["data"]["fields"]["classified"], "否", "{typed}");
    }
    for typed in ["涉密", "□非涉密 ☑涉密"] {
        f.set("G12", typed);
        let v = read(&env, &f);
        assert_eq!(error(&v, "policy.classified")["cell"], "G12", "{typed}");
    }
    f.set("G12", "无");
    assert_eq!(error(&read(&env, &f), "field.choice")["cell"], "G12");
}

#[test]
fn common_names_of_choices_read_as_meant_others_are_asked() {
    let env = Env::new();
    let mut f = annex1();
    let cases = [
        ("B5", "市本级", "ownership", "市级"),
        ("B5", "区本级", "ownership", "区级"),
        ("B5", "单位自费", "ownership", "自费"),
        ("G5", "x86架构", "arch", "X86"),
        ("G5", "X86_64", "arch", "X86"),
        ("G5", "信创架构", "arch", "XC"),
    ];
    for (cell, typed, key, want) in cases {
        let mut g = f.clone();
        g.set(cell, typed);
        let v = read(&env, &g);
        assert_valid(&v);
        assert_eq!(v["data"]["fields"][key], want, "{typed}");
    }
    for (typed, want) in [
        ("电子政务外网", "政务外网"),
        ("互联网", "互联网区"),
        ("电子政务专网", "政务专网"),
    ] {
        f.set("G17", typed);
        let v = read(&env, &f);
        assert_eq!(v["data"]["hosts"][0]["zone"], want, "{typed}");
    }
    // Which one is meant cannot be told: asked at the cell.
    for (cell, typed) in [("G17", "外网"), ("G5", "ARM"), ("B5", "自筹")] {
        let mut g = annex1();
        g.set(cell, typed);
        assert_eq!(
            error(&read(&env, &g), "field.choice")["cell"],
            cell,
            "{typed}"
        );
    }
}

#[test]
fn ownership_tick_after_city_reads_city() {
    let env = Env::new();
    let mut f = annex1();
    f.set("B5", "市级√ 区级□ 自费□");
    let v = read(&env, &f);
    assert_eq!(v["data"]["fields"]["ownership"], "市级");
    for (cell, want) in [
        ("区级 ■", "区级"),
        ("(√)自费 ( )市级", "自费"),
        ("【√】区级【 】市级", "区级"),
        ("☑ 市级", "市级"),
    ] {
        f.set("B5", cell);
        assert_eq!(
            read(&env, &f)["data"]["fields"]["ownership"],
            want,
            "{cell}"
        );
    }
}

#[test]
fn crossed_box_is_a_tick_said_at_its_cell() {
    let env = Env::new();
    let mut f = annex1();
    f.set("B5", "☒区级 □市级 □自费").set("E30", "☒");
    let v = read(&env, &f);
    assert_valid(&v);
    assert_eq!(v["data"]["fields"]["ownership"], "区级");
    assert_eq!(v["data"]["services"]["cloud_firewall"], json!(1));
    assert_eq!(cells_of(&v, "tick.crossed_box"), ["B5", "E30"], "{v:#}");
    // A cross beside a tick is two marks: which one is meant is asked.
    f.set("B5", "√市级 ☒区级");
    assert_eq!(error(&read(&env, &f), "field.choice")["cell"], "B5");
}

#[test]
fn ambiguous_ticks_are_an_error_at_the_cell() {
    let env = Env::new();
    for cell in ["市级√区级", "√市级 √区级", "□市级 □区级 □自费"] {
        let mut f = annex1();
        f.set("B5", cell);
        let v = read(&env, &f);
        assert_eq!(error(&v, "field.choice")["cell"], "B5", "{cell}");
    }
}

#[test]
fn terabytes_in_a_gigabyte_column_are_converted_with_a_warning() {
    let env = Env::new();
    let mut f = annex1();
    f.set("F17", "1TB").set("F18", "2T");
    let v = read(&env, &f);
    assert_valid(&v);
    assert_eq!(v["data"]["hosts"][0]["data_disk_gb"], json!(1024));
    assert_eq!(v["data"]["hosts"][1]["data_disk_gb"], json!(2048));
    let w = warning(&v, "unit.converted");
    assert_eq!(w["severity"], "warning");
    assert_eq!(w["cell"], "F17");
    assert!(
        w["message"].as_str().unwrap().contains("1 TB = 1024 GB"),
        "{w}"
    );
}

#[test]
fn gigabytes_in_a_terabyte_service_are_converted() {
    let env = Env::new();
    let mut f = annex1();
    f.set("E24", "512GB");
    let v = read(&env, &f);
    assert_eq!(v["data"]["services"]["oss"], json!(0.5));
    assert_eq!(warning(&v, "unit.converted")["cell"], "E24");
}

#[test]
fn half_terabyte_keeps_its_unit() {
    let env = Env::new();
    let mut f = annex1();
    f.set("F17", "0.5T");
    let v = read(&env, &f);
    assert_eq!(v["data"]["hosts"][0]["data_disk_gb"], json!(512));
    f.set("F17", "0.3T");
    let v = read(&env, &f);
    let e = error(&v, "field.type");
    assert!(e["message"].as_str().unwrap().contains("0.3T"), "{e}");
}

#[test]
fn annex4_terabytes_are_an_expansion_not_a_reclaim() {
    let env = Env::new();
    let mut f = annex4();
    f.set("F15", "3T");
    let v = read(&env, &f);
    assert_eq!(
        v["data"]["proposed"]["hosts"][1]["data_disk_gb"],
        json!(3072)
    );
}

#[test]
fn unit_of_another_dimension_or_unknown_is_an_error_quoting_it() {
    let env = Env::new();
    let mut f = annex1();
    f.set("F17", "500核").set("C17", "16箱");
    let v = read(&env, &f);
    let e = error(&v, "unit.mismatch");
    assert_eq!(e["cell"], "F17");
    assert!(e["message"].as_str().unwrap().contains("500核"));
    let e = error(&v, "unit.unknown");
    assert_eq!(e["cell"], "C17");
    assert!(e["message"].as_str().unwrap().contains("16箱"));
}

#[test]
fn bandwidth_is_not_storage_a_rate_unit_is_an_error_not_a_conversion() {
    let env = Env::new();
    let mut f = annex1();
    for typed in ["100M", "100Mbps", "1Gbps", "100 兆", "1TB"] {
        f.set("E28", typed);
        let v = read(&env, &f);
        let e = error(&v, "unit.mismatch");
        assert_eq!(e["cell"], "E28", "{typed}: {v:#}");
        assert!(e["message"].as_str().unwrap().contains(typed), "{e}");
        // The hint says why nothing is converted and whom to ask.
        assert!(
            e["hint"].as_str().unwrap().contains("换算关系未确定"),
            "{e}"
        );
        assert!(v["data"]["services"].get("bandwidth").is_none(), "{typed}");
    }
    // `M` is both MB and Mbps: the message names both.
    f.set("E28", "100M");
    let v = read(&env, &f);
    let m = error(&v, "unit.mismatch")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        m.contains("容量单位 MB") && m.contains("速率单位 Mbps"),
        "{m}"
    );
    // The unit printed on the form is accepted as it is.
    for typed in ["20GB", "20G", "20 gb"] {
        f.set("E28", typed);
        let v = read(&env, &f);
        assert_valid(&v);
        assert_eq!(v["data"]["services"]["bandwidth"], json!(20), "{typed}");
        assert!(!has(&v, "unit.converted"), "{typed}");
    }
}

#[test]
fn gigabits_are_never_read_as_gigabytes() {
    let env = Env::new();
    let mut f = annex1();
    f.set("F17", "500Gb");
    let v = read(&env, &f);
    let e = error(&v, "unit.mismatch");
    assert_eq!(e["cell"], "F17");
    assert!(e["message"].as_str().unwrap().contains("500Gb"), "{e}");
    // Lower case throughout is how people type GB, and `M` is MB here.
    f.set("F17", "500gb").set("D17", "16384M");
    let v = read(&env, &f);
    assert_valid(&v);
    assert_eq!(v["data"]["hosts"][0]["data_disk_gb"], json!(500));
    assert_eq!(v["data"]["hosts"][0]["memory_gb"], json!(16));
}

#[test]
fn header_printing_another_unit_reads_the_column_in_that_unit() {
    let env = Env::new();
    let mut f = annex1();
    f.set("F16", "数据盘(TB)").set("F17", 1.0).set("F18", 2.0);
    let v = read(&env, &f);
    assert_valid(&v);
    assert_eq!(v["data"]["hosts"][0]["data_disk_gb"], json!(1024));
    assert_eq!(v["data"]["hosts"][1]["data_disk_gb"], json!(2048));
    let w = warning(&v, "unit.converted");
    assert_eq!(w["cell"], "F17");
    assert!(
        w["message"].as_str().unwrap().contains("表头单位 TB"),
        "{w}"
    );
    // A unit typed in the cell still wins over the header's.
    f.set("F18", "500GB");
    let v = read(&env, &f);
    assert_eq!(v["data"]["hosts"][1]["data_disk_gb"], json!(500));
    // A header unit of another dimension, or unknown: an error at each cell.
    let mut f = annex1();
    f.set("C16", "内存(核)").set("F16", "数据盘(箱)");
    let v = read(&env, &f);
    let mismatch: Vec<&str> = cells_of(&v, "unit.mismatch");
    assert_eq!(mismatch, ["C17", "C18"], "{v:#}");
    assert_eq!(cells_of(&v, "unit.unknown"), ["F17", "F18"]);
    assert!(!has(&v, "form.header_unknown"));
}

#[test]
fn service_name_printing_another_unit_is_read_in_that_unit() {
    let env = Env::new();
    let mut f = annex1();
    f.set("C23", "□SSD(TB)").set("E23", 3.0);
    let v = read(&env, &f);
    assert_valid(&v);
    assert_eq!(v["data"]["services"]["data_disk_ssd"], json!(3072));
    assert_eq!(warning(&v, "unit.converted")["cell"], "E23");
    f.set("C28", "□互联网带宽(M)");
    let v = read(&env, &f);
    assert_eq!(error(&v, "unit.mismatch")["cell"], "E28");
    // In an 附件4 row the same holds for both quantities.
    let mut f = annex4();
    f.set("A19", "互联网带宽(Mbps)");
    let v = read(&env, &f);
    assert_eq!(cells_of(&v, "unit.mismatch"), ["D19", "E19"], "{v:#}");
    f.set("A19", "OSS(GB)").set("D19", 512.0).set("E19", 1024.0);
    let v = read(&env, &f);
    assert_eq!(v["data"]["current"]["services"]["oss"], json!(0.5));
    assert_eq!(v["data"]["proposed"]["services"]["oss"], json!(1));
}

#[test]
fn renamed_quantity_header_still_reads_every_service() {
    let env = Env::new();
    let base = read(&env, &annex1());
    for header in ["申请数量", "数量(单位)"] {
        let mut f = annex1();
        f.set("E21", header).set("H21", header);
        let v = read(&env, &f);
        assert_valid(&v);
        assert_eq!(v["data"]["services"], base["data"]["services"], "{header}");
    }
}

#[test]
fn unknown_quantity_header_is_an_error_never_an_empty_grid() {
    let env = Env::new();
    let mut f = annex1();
    f.set("E21", "份数");
    let v = read(&env, &f);
    assert_eq!(error(&v, "form.header_unknown")["cell"], "E21");
    assert!(has(&v, "form.column_missing"));
}

#[test]
fn annex4_after_header_renamed_or_unknown() {
    let env = Env::new();
    let mut f = annex4();
    f.set("E18", "变更后");
    let v = read(&env, &f);
    assert_eq!(v["data"]["proposed"]["services"]["bandwidth"], json!(12));
    f.set("E18", "以后");
    let v = read(&env, &f);
    assert_eq!(error(&v, "form.header_unknown")["cell"], "E18");
    assert!(has(&v, "form.column_missing"));
}

#[test]
fn ticked_service_name_without_quantity_is_a_request() {
    let env = Env::new();
    let mut f = annex1();
    f.set("F30", "☑态势感知服务");
    let v = read(&env, &f);
    assert_valid(&v);
    assert_eq!(v["data"]["services"]["situation_awareness"], json!(1));
    assert_eq!(warning(&v, "service.ticked_name")["cell"], "F30");
    f.set("C27", "IPv6地址(个)√");
    let v = read(&env, &f);
    assert_eq!(error(&v, "service.quantity_missing")["cell"], "E27");
}

#[test]
fn tick_in_a_measured_quantity_asks_for_the_quantity() {
    let env = Env::new();
    let mut f = annex1();
    f.set("E23", "√");
    let v = read(&env, &f);
    assert_eq!(error(&v, "service.quantity_missing")["cell"], "E23");
}

#[test]
fn continued_host_table_below_the_form_is_read() {
    let env = Env::new();
    let mut f = annex1();
    f.set("A46", "计算资源(续)");
    for (i, h) in HOST_HEADERS[..8].iter().enumerate() {
        f.set(&format!("{}47", (b'A' + i as u8) as char), *h);
    }
    let row: [Cell; 8] = [
        "物理机".into(),
        32.0.into(),
        128.0.into(),
        "麒麟V10".into(),
        200.0.into(),
        4000.0.into(),
        "政务外网".into(),
        1.0.into(),
    ];
    for (i, c) in row.into_iter().enumerate() {
        f.set(&format!("{}48", (b'A' + i as u8) as char), c);
    }
    let v = read(&env, &f);
    assert_valid(&v);
    assert_eq!(v["data"]["hosts"].as_array().unwrap().len(), 3);
    assert_eq!(v["data"]["hosts"][2]["kind"], "物理机");
    assert_eq!(warning(&v, "table.continued")["cell"], "A47");
}

#[test]
fn merged_os_and_zone_apply_to_every_row_they_span() {
    let env = Env::new();
    let mut f = annex1();
    f.clear("D18").clear("G18");
    f.merges.push("D17:D18".into());
    f.merges.push("G17:G18".into());
    let v = read(&env, &f);
    assert_valid(&v);
    assert_eq!(v["data"]["hosts"][1]["os"], "麒麟V10");
    assert_eq!(v["data"]["hosts"][1]["zone"], "政务外网");
}

#[test]
fn cells_outside_every_field_are_reported() {
    let env = Env::new();
    let mut f = annex1();
    f.set("L17", "另需2台备用").set("A50", "附:网络拓扑见附件");
    let v = read(&env, &f);
    let cells = cells_of(&v, "form.cell_unread");
    assert_eq!(cells, ["L17", "A50"]);
}

#[test]
fn time_typed_in_a_text_field_is_its_text() {
    let env = Env::new();
    let path = env.path("time.xlsx");
    write_book(&path, &[(&annex1(), false)], |ws| {
        let fmt = rust_xlsxwriter::Format::new().set_num_format("h:mm");
        ws.write_number_with_format(10, 6, 0.375, &fmt).unwrap();
    });
    let v = read_path(&env, &path);
    assert_eq!(v["data"]["fields"]["peak"], "09:00");
}

#[test]
fn year_month_number_in_date_field_is_an_error() {
    let env = Env::new();
    let mut f = annex1();
    f.set("I2", 2026.11);
    let v = read(&env, &f);
    assert_eq!(error(&v, "field.date")["cell"], "I2");
    f.set("I2", "1999-01-05");
    let v = read(&env, &f);
    assert_eq!(warning(&v, "field.date_unusual")["cell"], "I2");
    f.set("I2", 20261120.0);
    assert_eq!(read(&env, &f)["data"]["fields"]["date"], "2026-11-20");
}

#[test]
fn project_code_none_words_mean_empty() {
    let env = Env::new();
    for word in ["无", "暂无", "未立项", "-", "/"] {
        let mut f = annex1();
        f.set("B4", word);
        let v = read(&env, &f);
        assert_valid(&v);
        assert_eq!(v["data"]["fields"].get("project_code"), None, "{word}");
    }
}

#[test]
fn measure_words_people_and_square_metres() {
    let env = Env::new();
    let mut f = annex1();
    f.set("G10", "5000人")
        .set("E26", "10平米")
        .set("H26", "2个");
    let v = read(&env, &f);
    assert_valid(&v);
    assert_eq!(v["data"]["fields"]["user_count"], json!(5000));
    assert_eq!(v["data"]["services"]["room_space"], json!(10));
    assert_eq!(v["data"]["services"]["rack"], json!(2));
}

#[test]
fn shanghai_phone_forms_and_two_numbers() {
    let env = Env::new();
    for (typed, read_as) in [
        ("57740000", "57740000"),
        ("(021)57740000", "021-57740000"),
        ("021-5774 0000 转 123", "021-57740000转123"),
        ("+86 138 0000 0000", "13800000000"),
        ("02157700000", "021-57700000"),
    ] {
        let mut f = annex1();
        f.set("E6", typed);
        let v = read(&env, &f);
        assert_valid(&v);
        assert_eq!(v["data"]["fields"]["phone"], read_as, "{typed}");
    }
    let mut f = annex1();
    f.set("E6", "13800000000 / 021-57700000");
    let v = read(&env, &f);
    assert_eq!(v["data"]["fields"]["phone"], "13800000000");
    assert_eq!(warning(&v, "field.phone_multiple")["cell"], "E6");
}

#[test]
fn total_row_under_host_table_is_one_message() {
    let env = Env::new();
    let mut f = annex1();
    f.set("A19", "合计")
        .set("B19", 24.0)
        .set("C19", 80.0)
        .set("F19", 2500.0)
        .set("H19", 3.0);
    let v = read(&env, &f);
    assert_valid(&v);
    assert_eq!(codes(&v), ["table.total_row"]);
    assert_eq!(v["data"]["hosts"].as_array().unwrap().len(), 2);
}

#[test]
fn host_row_of_slashes_is_empty() {
    let env = Env::new();
    let mut f = annex1();
    for col in ["A", "B", "C", "D", "E", "F", "G", "H"] {
        f.set(&format!("{col}19"), "/");
    }
    f.set("A20", "无").set("B20", "-");
    let v = read(&env, &f);
    assert_valid(&v);
    assert_eq!(codes(&v), Vec::<String>::new());
}

#[test]
fn workbook_with_both_forms_is_an_error_naming_the_sheets() {
    let env = Env::new();
    let path = env.path("both.xlsx");
    write_book(&path, &[(&annex1(), false), (&annex4(), false)], |_| {});
    let v = read_path(&env, &path);
    let e = error(&v, "form.multiple");
    let m = e["message"].as_str().unwrap();
    assert!(
        m.contains("资源申请表") && m.contains("资源变更申请表"),
        "{m}"
    );
}

#[test]
fn hidden_old_copy_placed_first_is_not_read() {
    let env = Env::new();
    let mut old = annex1();
    old.sheet = "旧表".into();
    old.set("B3", "旧单位");
    let path = env.path("hidden.xlsx");
    write_book(&path, &[(&old, true), (&annex1(), false)], |_| {});
    let v = read_path(&env, &path);
    assert_valid(&v);
    assert_eq!(v["data"]["fields"]["unit"], "上海市松江区某某局");
    assert!(warning(&v, "form.hidden_sheet")["message"]
        .as_str()
        .unwrap()
        .contains("旧表"));
}

/// The same workbook saved as .xls by LibreOffice (the .xls is read in a
/// child process, which passes on which sheets are hidden).
#[test]
fn hidden_old_copy_in_an_xls_is_not_read() {
    let env = Env::new();
    let v = read_path(
        &env,
        &repo().join("tests/fixtures/annex1-hidden-old-copy.xls"),
    );
    assert_valid(&v);
    assert_eq!(v["data"]["fields"]["unit"], "上海市松江区某某局");
    assert!(warning(&v, "form.hidden_sheet")["message"]
        .as_str()
        .unwrap()
        .contains("旧表"));
}

/// Writes several forms as sheets of one workbook (hidden or not); `last`
/// may add cells to the last sheet.
fn write_book(
    path: &Path,
    sheets: &[(&Form, bool)],
    last: impl FnOnce(&mut rust_xlsxwriter::Worksheet),
) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    for (form, hidden) in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(&form.sheet).unwrap();
        for m in &form.merges {
            let (a, b) = m.split_once(':').unwrap();
            let ((r1, c1), (r2, c2)) = (cell_pos(a), cell_pos(b));
            let text = match form.get(a) {
                Some(Cell::Text(t)) => t.clone(),
                _ => String::new(),
            };
            ws.merge_range(r1, c1, r2, c2, &text, &Default::default())
                .unwrap();
        }
        for (addr, v) in &form.cells {
            let (r, c) = cell_pos(addr);
            match v {
                Cell::Text(t) => ws.write_string(r, c, t).map(|_| ()).unwrap(),
                Cell::Num(n) => ws.write_number(r, c, *n).map(|_| ()).unwrap(),
                _ => panic!("formulas not used here"),
            }
        }
        if *hidden {
            ws.set_hidden(true);
        }
    }
    let n = wb.worksheets_mut().len();
    let ws = wb.worksheet_from_index(n - 1).unwrap();
    ws.set_active(true);
    last(ws);
    wb.save(path).unwrap();
}

fn cell_pos(a1: &str) -> (u32, u16) {
    let letters: String = a1.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let row: u32 = a1[letters.len()..].parse().unwrap();
    let col = letters.bytes().fold(0u32, |acc, b| {
        acc * 26 + (b.to_ascii_uppercase() - b'A' + 1) as u32
    });
    (row - 1, (col - 1) as u16)
}

#[test]
fn absurd_service_quantity_is_refused_at_its_cell() {
    let env = Env::new();
    let mut f = annex1();
    f.set("E23", 1e28).set("E24", "1e40");
    let v = read(&env, &f);
    assert_eq!(error(&v, "service.range")["cell"], "E23");
    assert_eq!(error(&v, "service.quantity")["cell"], "E24");
    assert_eq!(v["data"]["services"].get("data_disk_ssd"), None);
}

#[test]
fn same_service_twice_in_a_change_is_reported() {
    let env = Env::new();
    let mut f = annex4();
    f.set("A20", "互联网带宽(GB)")
        .set("D20", 10.0)
        .set("E20", 12.0);
    let v = read(&env, &f);
    let cells = cells_of(&v, "service.duplicate");
    assert_eq!(cells, ["A19", "A20"]);
}

#[test]
fn same_service_twice_in_the_grid_is_reported_at_both_cells() {
    let env = Env::new();
    let mut f = annex1();
    f.set("F29", "□IPv6地址(个)")
        .set("H29", 2.0)
        .set("E27", 1.0);
    let v = read(&env, &f);
    let cells = cells_of(&v, "service.duplicate");
    assert_eq!(cells, ["C27", "F29"]);
}
