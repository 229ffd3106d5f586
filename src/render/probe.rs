//! Templates run under limits: once per run, before any submission is
//! taken, each .docx template is filled with the bundled example 附件1 in a
//! child process with capped memory and CPU time and a wall-clock bound.
//! A template that loops without end or grows without bound is then a
//! configuration error naming the template, not a crash (or a hang) in
//! the middle of the batch that would count against the submissions.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{RenderError, Renderer};
use crate::read::isolated::{limit_child_to, limit_spawned_to};

/// The hidden first argument that makes `zwyun` the probing child.
pub const CHILD_ARG: &str = "__probe-templates";
const MEMORY_LIMIT: u64 = 512 * 1024 * 1024;
const CPU_LIMIT: Duration = Duration::from_secs(10);
/// Generous: a loaded machine (or Wine) starts the child slowly.
const WALL_LIMIT: Duration = Duration::from_secs(60);
const NO_DIR: &str = "-";

/// Fills the templates once in a limited child; a template that fails or
/// exceeds the limits is an error naming it.
pub fn probe(templates: Option<&Path>, schemas: Option<&Path>) -> Result<(), RenderError> {
    let cannot = |e: std::io::Error| {
        RenderError::Output(format!(
            "无法启动模板检查进程:{}",
            crate::oserror::reason(&e)
        ))
    };
    let exe = std::env::current_exe().map_err(cannot)?;
    let arg = |d: Option<&Path>| d.map_or_else(|| NO_DIR.into(), |d| d.as_os_str().to_owned());
    let mut cmd = Command::new(exe);
    cmd.arg(CHILD_ARG)
        .arg(arg(templates))
        .arg(arg(schemas))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    limit_child_to(&mut cmd, MEMORY_LIMIT, CPU_LIMIT);
    let mut child = cmd.spawn().map_err(cannot)?;
    let _limits = match limit_spawned_to(&child, MEMORY_LIMIT, CPU_LIMIT) {
        Ok(l) => l,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(cannot(e));
        }
    };
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| cannot(std::io::ErrorKind::BrokenPipe.into()))?;
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let deadline = Instant::now() + WALL_LIMIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let out = reader.join().unwrap_or_default();
    judge(status.is_some_and(|s| s.success()), &out)
}

/// The child's report: `start <template>` before each, then `ok`, or
/// `error <message>`; silence after a `start` means it was stopped there.
fn judge(success: bool, out: &str) -> Result<(), RenderError> {
    let mut current = String::new();
    for line in out.lines() {
        if let Some(file) = line.strip_prefix("start ") {
            current = file.to_string();
        } else if line == "ok" && success {
            return Ok(());
        } else if let Some(message) = line.strip_prefix("error ") {
            return Err(RenderError::Probe(message.to_string()));
        }
    }
    let file = if current.is_empty() {
        "(协议模板)".to_string()
    } else {
        current
    };
    Err(RenderError::Located {
        file,
        place: "填写过程".into(),
        message: format!(
            "用示例申请表试填时超出了限制(内存 {} MB、CPU 时间 {} 秒),可能有不会结束或成倍增长的循环(如反复把文字加倍的 set、套叠的大范围 for);\
             请改正模板后再运行。收件目录中的文件未被处理",
            MEMORY_LIMIT / 1024 / 1024,
            CPU_LIMIT.as_secs()
        ),
    })
}

/// Child side (`zwyun __probe-templates <templates|-> <schemas|->`).
pub fn child_main() -> u8 {
    let args: Vec<std::path::PathBuf> = std::env::args_os().skip(2).map(Into::into).collect();
    let dir = |i: usize| {
        args.get(i)
            .filter(|d| d.as_os_str() != NO_DIR)
            .map(|d| d.as_path())
    };
    let result = crate::schema::Schemas::load(dir(1))
        .map_err(RenderError::from)
        .and_then(|schemas| Renderer::load(dir(0), &schemas).map(|r| (r, schemas)))
        .and_then(|(renderer, schemas)| {
            let projects = crate::ledger::Projects::default();
            let ctx = crate::validate::Context {
                schemas: &schemas,
                projects: &projects,
                parties: Some(renderer.parties()),
            };
            let example = crate::validate::check_bytes(
                "annex1-example.xlsx",
                crate::intake::demo::APPROVED_EXAMPLE,
                &ctx,
            );
            let Some(app) = example.application() else {
                return Ok(()); // the rule files reject the example: nothing to fill
            };
            let months = schemas.policy.test_months.default;
            renderer.fill_each(app, months, |file| {
                println!("start {file}");
            })
        });
    match result {
        Ok(()) => {
            println!("ok");
            0
        }
        Err(e) => {
            println!("error {}", e.to_string().replace('\n', " "));
            1
        }
    }
}
