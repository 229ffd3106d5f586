//! Shared test setup: run the binary, build workbooks cell by cell.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rust_xlsxwriter::{Formula, Workbook};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_zwyun")
}

/// The zwyun under test: this build's binary, or the command line in
/// `ZWYUN_TEST_EXE` (words separated by spaces): `.ci/windows` sets it to
/// `wine64 …/zwyun.exe` to run the same tests against the Windows build,
/// `.ci/xinchuang` to `qemu-aarch64 …/zwyun` for the ARM64 build.
pub fn zwyun() -> Command {
    match other_build() {
        Some(line) => {
            let mut words = line.split_whitespace();
            let mut cmd = Command::new(words.next().unwrap_or_default());
            cmd.args(words);
            cmd
        }
        None => Command::new(bin()),
    }
}

/// `ZWYUN_TEST_EXE` when set: the tests run against another build.
pub fn other_build() -> Option<String> {
    std::env::var("ZWYUN_TEST_EXE")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample(name: &str) -> PathBuf {
    repo().join("samples").join(name)
}

/// The approval date the tests' example projects get.
pub const APPROVED_ON: &str = "2026-05-01";

/// A temp folder with its own ledger; commands run inside it.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs zwyun with the temp folder as working directory and ledger
    /// `zwyun.db` there; schemas from the repository.
    pub fn run(&self, args: &[&str]) -> Output {
        zwyun()
            .args(args)
            .current_dir(self.dir.path())
            .env("ZWYUN_SCHEMAS", repo().join("schemas"))
            .env("ZWYUN_TEMPLATES", repo().join("templates"))
            .env_remove("ZWYUN_LEDGER")
            .output()
            .unwrap()
    }

    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "zwyun {args:?} failed ({}): {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `validate --format json` of one file, parsed.
    pub fn validate_json(&self, file: &Path) -> serde_json::Value {
        self.validate_json_with(&[], file)
    }

    /// The same, with global options before the command (e.g. `--schemas`).
    pub fn validate_json_with(&self, global: &[&str], file: &Path) -> serde_json::Value {
        let mut args = global.to_vec();
        args.extend(["validate", "--format", "json", file.to_str().unwrap()]);
        let out = self.run(&args);
        let text = String::from_utf8(out.stdout).unwrap();
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("bad json {e}: {text}"))
    }

    /// Records the sample 附件1 as an approved quota, approved on
    /// `APPROVED_ON` (before every agreement date the tests record).
    pub fn approve_example(&self) {
        self.run_ok(&[
            "approve",
            sample("annex1-example.xlsx").to_str().unwrap(),
            "--on",
            APPROVED_ON,
        ]);
    }

    /// Records the example project's formal agreement as signed on `date`.
    pub fn formal_signed(&self, date: &str) -> String {
        self.run_ok(&[
            "ledger",
            "formal-signed",
            "--project",
            "SJ-2026-017",
            "--date",
            date,
        ])
    }
}

/// The cells at which `code` was reported, in order.
pub fn cells_of<'v>(v: &'v serde_json::Value, code: &str) -> Vec<&'v str> {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == code)
        .map(|e| e["cell"].as_str().unwrap())
        .collect()
}

/// Codes of the errors/warnings in a JSON outcome.
pub fn codes(v: &serde_json::Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap().to_string())
        .collect()
}

/// The error with `code`, panicking with the whole outcome when absent.
pub fn error<'a>(v: &'a serde_json::Value, code: &str) -> &'a serde_json::Value {
    v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {v:#}"))
}

#[derive(Clone, Debug)]
pub enum Cell {
    Text(String),
    Num(f64),
    /// A formula without a cached value (as programs write them).
    Formula(String),
    /// A formula with its cached result.
    FormulaWithValue(String, f64),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

impl From<f64> for Cell {
    fn from(n: f64) -> Cell {
        Cell::Num(n)
    }
}

/// A form as (A1 address, value) pairs, editable before writing.
#[derive(Clone, Debug)]
pub struct Form {
    pub sheet: String,
    pub cells: Vec<(String, Cell)>,
    pub merges: Vec<String>,
    /// Other sheets written before the form (e.g. 填表说明 first).
    pub sheets_before: Vec<String>,
}

fn parse_a1(a1: &str) -> (u32, u16) {
    let letters: String = a1.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    let row: u32 = a1[letters.len()..].parse().unwrap();
    let col = letters.bytes().fold(0u32, |acc, b| {
        acc * 26 + (b.to_ascii_uppercase() - b'A' + 1) as u32
    });
    (row - 1, (col - 1) as u16)
}

fn a1(row: u32, col: u16) -> String {
    let mut s = String::new();
    let mut c = col as u32 + 1;
    while c > 0 {
        s.insert(0, (b'A' + ((c - 1) % 26) as u8) as char);
        c = (c - 1) / 26;
    }
    format!("{s}{}", row + 1)
}

impl Form {
    pub fn set(&mut self, addr: &str, v: impl Into<Cell>) -> &mut Self {
        let v = v.into();
        self.cells.retain(|(a, _)| a != addr);
        self.cells.push((addr.to_string(), v));
        self
    }

    pub fn clear(&mut self, addr: &str) -> &mut Self {
        self.cells.retain(|(a, _)| a != addr);
        self
    }

    pub fn get(&self, addr: &str) -> Option<&Cell> {
        self.cells.iter().find(|(a, _)| a == addr).map(|(_, c)| c)
    }

    /// Inserts `n` empty rows before 1-based row `at`, shifting cells and
    /// merges below, as Excel's "insert row" does.
    pub fn insert_rows(&mut self, at: u32, n: u32) -> &mut Self {
        let shift = |addr: &str| {
            let (r, c) = parse_a1(addr);
            if r + 1 >= at {
                a1(r + n, c)
            } else {
                addr.to_string()
            }
        };
        for (addr, _) in self.cells.iter_mut() {
            *addr = shift(addr);
        }
        for m in self.merges.iter_mut() {
            let (a, b) = m.split_once(':').unwrap();
            *m = format!("{}:{}", shift(a), shift(b));
        }
        self
    }

    pub fn write(&self, path: &Path) {
        let mut wb = Workbook::new();
        // A fixed saved date (the reader compares 填表日期 with it), so
        // that no reading depends on today's date.
        let saved = rust_xlsxwriter::ExcelDateTime::from_ymd(2026, 11, 20).unwrap();
        wb.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&saved));
        // Saved values are trusted only when the workbook does not ask for a
        // recalculation on load (as Excel and WPS save).
        if self
            .cells
            .iter()
            .any(|(_, c)| matches!(c, Cell::FormulaWithValue(..)))
        {
            wb.set_calculation_mode(rust_xlsxwriter::CalculationMode::Manual);
        }
        for name in &self.sheets_before {
            wb.add_worksheet().set_name(name).unwrap();
        }
        let ws = wb.add_worksheet();
        ws.set_name(&self.sheet).unwrap();
        let mut merged_starts = std::collections::HashSet::new();
        for m in &self.merges {
            let (a, b) = m.split_once(':').unwrap();
            let (r1, c1) = parse_a1(a);
            let (r2, c2) = parse_a1(b);
            let text = match self.get(a) {
                Some(Cell::Text(t)) => t.clone(),
                _ => String::new(),
            };
            ws.merge_range(r1, c1, r2, c2, &text, &Default::default())
                .unwrap();
            merged_starts.insert(a.to_string());
        }
        for (addr, v) in &self.cells {
            let (r, c) = parse_a1(addr);
            match v {
                Cell::Text(t) => {
                    ws.write_string(r, c, t).unwrap();
                }
                Cell::Num(n) => {
                    ws.write_number(r, c, *n).unwrap();
                }
                Cell::Formula(f) => {
                    ws.write_formula(r, c, Formula::new(f)).unwrap();
                }
                Cell::FormulaWithValue(f, v) => {
                    ws.write_formula(r, c, Formula::new(f).set_result(v.to_string()))
                        .unwrap();
                }
            }
        }
        wb.save(path).unwrap();
    }
}

fn cells(list: &[(&str, Cell)]) -> Vec<(String, Cell)> {
    list.iter()
        .map(|(a, c)| (a.to_string(), c.clone()))
        .collect()
}

/// The filled 附件1 of `../shared/forms/annex1-example.xlsx`, cell by cell.
/// The host table's header, as the form prints it.
pub const HOST_HEADERS: [&str; 9] = [
    "服务类型",
    "CPU(核)",
    "内存(GB)",
    "操作系统(版本)",
    "系统盘(GB)",
    "数据盘(GB)",
    "网络区域",
    "台数",
    "备注(主机用途、数据库版本、中间件版本)",
];

pub fn annex1() -> Form {
    use Cell::*;
    let t = |s: &str| Text(s.to_string());
    let mut list = vec![
        ("A1", t("松江区市政务云资源申请表")),
        ("H2", t("填表日期")),
        ("I2", t("2026-11-20")),
        ("A3", t("申请单位")),
        ("B3", t("上海市松江区某某局")),
        ("F3", t("项目名称")),
        ("G3", t("松江区企业服务综合平台")),
        ("A4", t("项目编号")),
        ("B4", t("SJ-2026-017")),
        ("F4", t("拟合作服务商")),
        ("G4", t("示例政务云服务商")),
        ("A5", t("上云项目归属")),
        ("B5", t("市级")),
        ("F5", t("系统架构")),
        ("G5", t("X86")),
        ("A6", t("联系人")),
        ("B6", t("张三")),
        ("D6", t("联系电话")),
        ("E6", t("021-57700000")),
        ("G6", t("电子邮箱")),
        ("H6", t("zhangsan@example.gov.cn")),
        ("A7", t("单位地址")),
        ("B7", t("上海市松江区示例路1号")),
        ("A8", t("项目概况")),
        ("A9", t("系统业务特征")),
        (
            "B9",
            t("面向辖区企业的政策申报与服务受理,工作日白天访问为主"),
        ),
        ("A10", t("使用对象")),
        ("B10", t("辖区企业、区级部门工作人员")),
        ("F10", t("系统用户数")),
        ("G10", Num(5000.0)),
        ("A11", t("并发数量级")),
        ("B11", t("百级")),
        ("F11", t("业务高峰期时段")),
        ("G11", t("工作日 9:00-11:00")),
        ("A12", t("等保级别")),
        ("B12", t("第三级")),
        ("F12", t("是否涉密")),
        ("G12", t("否")),
        ("A13", t("备份方案")),
        ("B13", t("每日增量、每周全量备份至快照")),
        ("A14", t("容灾方案")),
        ("B14", t("同城异地数据级容灾")),
        ("A15", t("计算资源")),
        ("A16", t("服务类型")),
        ("B16", t("CPU(核)")),
        ("C16", t("内存(GB)")),
        ("D16", t("操作系统(版本)")),
        ("E16", t("系统盘(GB)")),
        ("F16", t("数据盘(GB)")),
        ("G16", t("网络区域")),
        ("H16", t("台数")),
        ("I16", t("备注(主机用途、数据库版本、中间件版本)")),
        ("A17", t("云主机")),
        ("B17", Num(8.0)),
        ("C17", Num(16.0)),
        ("D17", t("麒麟V10")),
        ("E17", Num(100.0)),
        ("F17", Num(500.0)),
        ("G17", t("政务外网")),
        ("H17", Num(2.0)),
        ("I17", t("应用服务器,Nginx 1.24")),
        ("A18", t("云主机")),
        ("B18", Num(16.0)),
        ("C18", Num(64.0)),
        ("D18", t("麒麟V10")),
        ("E18", Num(100.0)),
        ("F18", Num(2000.0)),
        ("G18", t("政务外网")),
        ("H18", Num(1.0)),
        ("I18", t("数据库服务器,达梦DM8")),
        ("A21", t("服务类型")),
        ("B21", t("服务分项")),
        ("C21", t("服务项目")),
        ("E21", t("数量")),
        ("F21", t("服务项目")),
        ("H21", t("数量")),
        ("I21", t("说明")),
        ("A22", t("存储服务")),
        ("B22", t("系统盘")),
        ("C22", t("□SSD(GB)")),
        ("E22", Num(300.0)),
        ("F22", t("□高效云盘(GB)")),
        ("B23", t("数据盘")),
        ("C23", t("□SSD(GB)")),
        ("E23", Num(3000.0)),
        ("F23", t("□高效云盘(GB)")),
        ("B24", t("存储产品")),
        ("C24", t("□OSS(TB)")),
        ("B25", t("备份方式")),
        ("C25", t("□快照(TB)")),
        ("E25", Num(2.0)),
        ("A26", t("空间服务")),
        ("B26", t("机房空间资源")),
        ("C26", t("□机房空间(平方米)")),
        ("F26", t("□机柜空间(个)")),
        ("A27", t("网络资源")),
        ("B27", t("网络资源")),
        ("C27", t("□IPv6地址(个)")),
        ("F27", t("□负载均衡SLB(个)")),
        ("H27", Num(1.0)),
        ("B28", t("网络资源")),
        ("C28", t("□互联网带宽(GB)")),
        ("E28", Num(10.0)),
        ("F28", t("□互联网EIP(个)")),
        ("B29", t("网络资源")),
        ("C29", t("□安全交换网闸(个)")),
        ("A30", t("安全服务")),
        ("B30", t("访问控制服务")),
        ("C30", t("□云防火墙服务")),
        ("E30", Num(1.0)),
        ("F30", t("□态势感知服务")),
        ("B31", t("入侵防御服务")),
        ("C31", t("□IPS+云盾")),
        ("F31", t("□数据库审计服务")),
        ("B32", t("用户管理服务")),
        ("C32", t("□堡垒机服务")),
        ("E32", Num(1.0)),
        ("F32", t("□常规安全漏洞扫描")),
        ("B33", t("身份认证服务")),
        ("C33", t("□SSLVPN")),
        ("F33", t("□系统上线安全扫描")),
        ("B34", t("VPN接入")),
        ("C34", t("□IPsecVPN")),
        ("F34", t("□Web应用防火墙服务")),
        ("B35", t("网络行为审计")),
        ("C35", t("□网络行为安全审计")),
        ("F35", t("□网页防篡改服务")),
        ("B36", t("密码服务")),
        ("C36", t("□虚拟密码机数量")),
        ("F36", t("□密钥管理系统")),
        ("B37", t("密码服务")),
        ("C37", t("□安全认证网关")),
        ("F37", t("□时间戳")),
        ("B38", t("密码服务")),
        ("C38", t("□签名验签")),
        ("F38", t("□电子签章")),
        ("A39", t("申请单位说明")),
        ("B39", t("系统已完成等保三级备案。")),
        ("A42", t("区科创中心意见")),
    ];
    list.shrink_to_fit();
    Form {
        sheet: "资源申请表".into(),
        cells: cells(&list),
        merges: [
            "A1:J1", "B3:E3", "G3:J3", "B39:J41", "A39:A41", "B42:J44", "A42:A44", "C22:D22",
            "F22:G22",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        sheets_before: Vec::new(),
    }
}

/// The filled 附件4 of `../shared/forms/annex4-example.xlsx`.
pub fn annex4() -> Form {
    use Cell::*;
    let t = |s: &str| Text(s.to_string());
    let host_header = |row: u32| -> Vec<(String, Cell)> {
        HOST_HEADERS
            .iter()
            .enumerate()
            .map(|(i, h)| (a1(row - 1, i as u16), t(h)))
            .collect()
    };
    let host =
        |row: u32, cpu: f64, mem: f64, data: f64, n: f64, note: &str| -> Vec<(String, Cell)> {
            let vals = [
                t("云主机"),
                Num(cpu),
                Num(mem),
                t("麒麟V10"),
                Num(100.0),
                Num(data),
                t("政务外网"),
                Num(n),
                t(note),
            ];
            vals.into_iter()
                .enumerate()
                .map(|(i, v)| (a1(row - 1, i as u16), v))
                .collect()
        };
    let mut list = cells(&[
        ("A1", t("松江区市政务云资源变更申请表")),
        ("H2", t("填表日期")),
        ("I2", t("2027-03-02")),
        ("A3", t("申请单位")),
        ("B3", t("上海市松江区某某局")),
        ("F3", t("项目名称")),
        ("G3", t("松江区企业服务综合平台")),
        ("A4", t("项目编号")),
        ("B4", t("SJ-2026-017")),
        ("F4", t("政务云服务商")),
        ("G4", t("示例政务云服务商")),
        ("A5", t("上云项目归属")),
        ("B5", t("市级")),
        ("F5", t("系统架构")),
        ("G5", t("X86")),
        ("A6", t("联系人")),
        ("B6", t("张三")),
        ("D6", t("联系电话")),
        ("E6", t("13800000000")),
        ("G6", t("电子邮箱")),
        ("H6", t("zhangsan@example.gov.cn")),
        ("A7", t("政务云资源现状")),
        ("A12", t("拟变更的政务云资源(填写变更后的全部资源配置)")),
        ("A17", t("其他服务项")),
        ("A18", t("服务项名称")),
        ("D18", t("现有数量")),
        ("E18", t("变更后数量")),
        ("F18", t("备注")),
        ("A19", t("互联网带宽(GB)")),
        ("D19", Num(10.0)),
        ("E19", Num(12.0)),
        ("F19", t("对外服务访问量增长")),
        ("A23", t("申请单位说明")),
        ("B23", t("业务量增长,数据库数据盘扩容400GB。")),
        ("A26", t("政务云服务商意见")),
        ("B26", t("已确认,资源可满足。")),
        ("A28", t("区科创中心意见")),
    ]);
    list.extend(host_header(8));
    list.extend(host(9, 8.0, 16.0, 500.0, 2.0, "应用服务器"));
    list.extend(host(10, 16.0, 64.0, 2000.0, 1.0, "数据库服务器"));
    list.extend(host_header(13));
    list.extend(host(14, 8.0, 16.0, 500.0, 2.0, "应用服务器"));
    list.extend(host(15, 16.0, 64.0, 2400.0, 1.0, "数据库服务器,数据盘扩容"));
    Form {
        sheet: "资源变更申请表".into(),
        cells: list,
        merges: [
            "A1:J1", "A23:A25", "B23:J25", "A26:A27", "B26:J27", "A28:A29", "B28:J29",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
        sheets_before: Vec::new(),
    }
}
