//! `zwyun bench`: generates N 附件1 submissions (about one in five with
//! errors, 1–4 host classes each), runs the real `process` on them in a
//! child process, and reports throughput, time per submission, peak
//! memory, the wall time of a one-file `validate`, hostile inputs, and the
//! web desk's upload → report latency and page times (`web::bench`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use rust_decimal::Decimal;

use crate::blank;
use crate::model::{Application, Config, FormKind, Header, Host};
use crate::oserror::at;
use crate::schema::Schemas;

/// Peak resident memory of this process (VmHWM), in KiB, where /proc has it.
pub fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Set by the benchmark on its children: they print their peak memory.
pub const PEAK_ENV: &str = "ZWYUN_REPORT_PEAK_MEMORY";

pub fn report_peak_if_asked() {
    if std::env::var_os(PEAK_ENV).is_some() {
        if let Some(kib) = peak_memory_kib() {
            eprintln!("peak_memory_kib={kib}");
        }
    }
}

/// A plausible application, number `i`; every fifth one has errors.
pub fn application(i: usize) -> Application {
    let host = |k: usize| Host {
        kind: if k % 3 == 2 { "物理机" } else { "云主机" }.into(),
        cpu: [4, 8, 16, 32][k % 4],
        memory_gb: [8, 16, 64, 128][k % 4],
        os: "麒麟V10".into(),
        system_disk_gb: 100,
        data_disk_gb: 500 * (k as u32 + 1),
        zone: ["政务外网", "互联网区", "政务专网", "管理区"][k % 4].into(),
        count: 1 + (i + k) as u32 % 3,
        note: format!("第{}类主机", k + 1),
    };
    let hosts: Vec<Host> = (0..1 + i % 4).map(host).collect();
    let mut services = BTreeMap::new();
    services.insert(
        "system_disk_ssd".to_string(),
        Decimal::from(100 * (1 + i % 5)),
    );
    services.insert("bandwidth".to_string(), Decimal::from(10));
    services.insert("cloud_firewall".to_string(), Decimal::ONE);
    let mut fields: BTreeMap<String, String> = [
        ("date", "2026-11-20".to_string()),
        ("unit", format!("上海市松江区第{}号单位", i + 1)),
        ("project_name", format!("业务系统{}", i + 1)),
        ("project_code", format!("SJ-2026-{:04}", i + 1)),
        ("provider", "示例政务云服务商".into()),
        ("ownership", "区级".into()),
        ("arch", "X86".into()),
        ("contact", "张三".into()),
        ("phone", "021-57700000".into()),
        ("email", "zhangsan@example.gov.cn".into()),
        ("address", "上海市松江区示例路1号".into()),
        ("business", "政务服务受理".into()),
        ("audience", "辖区企业与群众".into()),
        ("user_count", (1000 + i).to_string()),
        ("concurrency", "百级".into()),
        ("peak", "工作日 9:00-11:00".into()),
        ("level", "第二级".into()),
        ("classified", "否".into()),
        ("backup", "每日增量备份".into()),
        ("dr", "同城数据级容灾".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if i % 5 == 4 {
        fields.remove("backup");
        fields.insert("phone".into(), "12345".into());
    }
    Application {
        header: Header::default(),
        fields,
        config: Config { hosts, services },
    }
}

pub struct Options {
    pub n: usize,
    pub dir: PathBuf,
    pub fixtures: Option<PathBuf>,
    /// The rule files the runs use (`--schemas`), passed on to them.
    pub schemas: Option<PathBuf>,
}

/// Runs the benchmark; returns the report (Markdown).
pub fn run(opts: &Options, schemas: &Schemas) -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| crate::oserror::reason(&e))?;
    let dir = &opts.dir;
    let _ = std::fs::remove_dir_all(dir);
    let inbox = dir.join("inbox");
    std::fs::create_dir_all(&inbox).map_err(|e| at(&inbox, &e))?;
    let gen_start = Instant::now();
    let past = SystemTime::now() - Duration::from_secs(60);
    for i in 0..opts.n {
        let bytes = blank::workbook(FormKind::Annex1, schemas, Some(&application(i)))
            .map_err(|e| e.to_string())?;
        let path = inbox.join(format!("申请-{i:04}.xlsx"));
        std::fs::write(&path, bytes).map_err(|e| at(&path, &e))?;
        let f = std::fs::File::options()
            .write(true)
            .open(&path)
            .map_err(|e| at(&path, &e))?;
        f.set_modified(past).map_err(|e| at(&path, &e))?;
    }
    let generated = gen_start.elapsed();
    let one = inbox.join("申请-0000.xlsx");
    let one_copy = dir.join("one.xlsx");
    std::fs::copy(&one, &one_copy).map_err(|e| at(&one_copy, &e))?;
    let ledger = dir.join("bench.db");
    let (wall, peak, stdout) = timed(
        &exe,
        &ledger,
        opts.schemas.as_deref(),
        &["process", path(&inbox), "--out", path(&dir.join("out"))],
    )?;
    let mut out = String::new();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let _ = writeln!(
        out,
        "机器:{cores} 核;生成 {} 份附件1 用时 {:.2} 秒(不计入)",
        opts.n,
        generated.as_secs_f64()
    );
    let _ = writeln!(out, "\n| 项目 | 结果 |\n|---|---|");
    let rate = opts.n as f64 / wall.as_secs_f64();
    let _ = writeln!(out, "| process {} 份(校验、回执或问题清单、测试协议 .docx、开通情况表 .xlsx、账本记录) | {:.2} 秒 |", opts.n, wall.as_secs_f64());
    let _ = writeln!(out, "| 吞吐量 | {rate:.0} 份/秒 |");
    let _ = writeln!(
        out,
        "| 每份用时 | {:.2} 毫秒 |",
        wall.as_secs_f64() * 1000.0 / opts.n as f64
    );
    let _ = writeln!(out, "| process 峰值内存 | {} |", mib(peak));
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("共处理"))
        .unwrap_or("")
        .to_string();
    let _ = writeln!(out, "| process 输出 | {summary} |");
    let mut validate_times = Vec::new();
    for _ in 0..21 {
        let (t, _, _) = timed(
            &exe,
            &ledger,
            opts.schemas.as_deref(),
            &["validate", path(&one_copy)],
        )?;
        validate_times.push(t);
    }
    validate_times.sort();
    let _ = writeln!(
        out,
        "| validate 单个文件(含启动,21 次中位数) | {:.1} 毫秒 |",
        validate_times[10].as_secs_f64() * 1000.0
    );
    for (label, file) in hostile_inputs(dir, opts.fixtures.as_deref())? {
        let (t, peak, stdout) = timed(
            &exe,
            &ledger,
            opts.schemas.as_deref(),
            &["validate", "--format", "json", path(&file)],
        )?;
        let code = serde_json::from_str::<serde_json::Value>(stdout.trim())
            .ok()
            .and_then(|v| v["errors"][0]["code"].as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {label} | {:.2} 秒,峰值内存 {},结果 {code} |",
            t.as_secs_f64(),
            mib(peak)
        );
    }
    out.push_str(&crate::web::bench::run(
        &exe,
        dir,
        opts.n,
        opts.schemas.as_deref(),
        schemas,
    )?);
    Ok(out)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1} MB", k as f64 / 1024.0))
        .unwrap_or_else(|| "未知".into())
}

/// Runs zwyun as a child; wall time, its peak memory, its stdout.
fn timed(
    exe: &Path,
    ledger: &Path,
    schemas: Option<&Path>,
    args: &[&str],
) -> Result<(Duration, Option<u64>, String), String> {
    let mut child = Command::new(exe);
    child.arg("--ledger").arg(ledger);
    if let Some(dir) = schemas {
        child.arg("--schemas").arg(dir);
    }
    let start = Instant::now();
    let out = child
        .args(args)
        .env(PEAK_ENV, "1")
        .output()
        .map_err(|e| at(exe, &e))?;
    let wall = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_memory_kib="))
        .and_then(|v| v.trim().parse().ok());
    Ok((
        wall,
        peak,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}

/// A sheet of 300,000 cells (generated), and the zip bomb fixture when
/// the repository's is at hand.
fn hostile_inputs(dir: &Path, fixtures: Option<&Path>) -> Result<Vec<(String, PathBuf)>, String> {
    let huge = dir.join("huge.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "松江区市政务云资源申请表")
        .map_err(|e| e.to_string())?;
    for r in 1..30_001u32 {
        for c in 0..10u16 {
            ws.write_number(r, c, f64::from(r))
                .map_err(|e| e.to_string())?;
        }
    }
    wb.save(&huge)
        .map_err(|e| crate::oserror::describe(&huge, &e, "无法写出"))?;
    let mut inputs = vec![("恶意输入:300,000 个单元格的工作表".to_string(), huge)];
    if let Some(bomb) = fixtures
        .map(|f| f.join("zip-bomb.xlsx"))
        .filter(|p| p.exists())
    {
        inputs.push(("恶意输入:解压后 1.5 GB 的压缩炸弹".to_string(), bomb));
    }
    Ok(inputs)
}
