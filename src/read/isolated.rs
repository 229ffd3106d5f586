//! .xls files are parsed in a child process with capped memory and CPU
//! time (`setrlimit` on Unix, a Job Object on Windows). calamine's BIFF reader trusts sizes written inside the file, and a
//! failed allocation aborts a process instead of unwinding, so a damaged
//! or hostile .xls must not be parsed in the process that runs the batch.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{corrupt, encrypted, Sheet, Value, Workbook};
use crate::diag::Diagnostic;

/// The hidden first argument that makes `zwyun` the parsing child.
pub const CHILD_ARG: &str = "__read-xls";
const MEMORY_LIMIT: u64 = 256 * 1024 * 1024;
const TIME_LIMIT: Duration = Duration::from_secs(10);

#[derive(Serialize, Deserialize)]
struct SheetData {
    name: String,
    cells: Vec<((u32, u32), Value)>,
    merges: Vec<((u32, u32), (u32, u32))>,
    hidden: bool,
}

#[derive(Serialize, Deserialize)]
enum Reply {
    Sheets(Vec<SheetData>),
    Encrypted,
    Corrupt(String),
}

/// Parent side: the workbook as the child read it, or why not.
pub fn read_xls(bytes: &[u8]) -> Result<Workbook, Diagnostic> {
    let exe = std::env::current_exe().map_err(|e| corrupt(format!("无法启动读取进程:{e}")))?;
    let mut cmd = Command::new(exe);
    cmd.arg(CHILD_ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    limit_child(&mut cmd);
    let mut child = cmd
        .spawn()
        .map_err(|e| corrupt(format!("无法启动读取进程:{e}")))?;
    // The child reads all of stdin before parsing, so limits attached now,
    // before the first byte is written, cover the whole parse.
    let _job = match limit_spawned(&child) {
        Ok(job) => job,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(corrupt(format!("无法限制读取进程:{e}")));
        }
    };
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| corrupt("无法启动读取进程"))?;
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| corrupt("无法启动读取进程"))?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).map(|_| out)
    });
    let deadline = Instant::now() + TIME_LIMIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    let _ = writer.join();
    let out = reader.join().ok().and_then(Result::ok).unwrap_or_default();
    // Killed at a limit, or no reply: the file is damaged, or a cell far
    // out (row 65536) makes the reader lay out the whole sheet.
    let refused = || {
        Diagnostic::error(
            "file.too_large",
            format!(
                "此 .xls 文件无法在限定的内存({} MB)和时间({} 秒)内读取:文件可能已损坏,或工作表远处(如第 65536 行)有内容或格式",
                MEMORY_LIMIT / 1024 / 1024,
                TIME_LIMIT.as_secs()
            ),
        )
        .hint("请删除表格以外多余的行列,或在 Excel/WPS 中另存为 .xlsx 格式后重新提交")
    };
    match status {
        Some(s) if s.success() => {}
        _ => return Err(refused()),
    }
    match serde_json::from_slice::<Reply>(&out).map_err(|_| refused())? {
        Reply::Sheets(sheets) => Ok(Workbook {
            sheets: sheets.into_iter().map(into_sheet).collect(),
            saved: None,
        }),
        Reply::Encrypted => Err(encrypted()),
        Reply::Corrupt(detail) => Err(corrupt(detail)),
    }
}

fn into_sheet(s: SheetData) -> Sheet {
    let cells: BTreeMap<(u32, u32), Value> = s.cells.into_iter().collect();
    let merges = s
        .merges
        .into_iter()
        .map(|(a, b)| calamine::Dimensions::new(a, b))
        .collect();
    let mut sheet = Sheet::new(s.name, cells, merges);
    sheet.hidden = s.hidden;
    sheet
}

fn limit_child(cmd: &mut Command) {
    limit_child_to(cmd, MEMORY_LIMIT, TIME_LIMIT);
}

fn limit_spawned(child: &std::process::Child) -> std::io::Result<Limits> {
    limit_spawned_to(child, MEMORY_LIMIT, TIME_LIMIT)
}

/// Caps the memory and CPU time of the child `cmd` will start (Unix: set
/// before exec; Windows: see `limit_spawned_to`).
#[cfg(unix)]
pub(crate) fn limit_child_to(cmd: &mut Command, memory: u64, time: Duration) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls (setrlimit) run between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let memory = libc::rlimit {
                rlim_cur: memory as libc::rlim_t,
                rlim_max: memory as libc::rlim_t,
            };
            let cpu = libc::rlimit {
                rlim_cur: time.as_secs() as libc::rlim_t,
                rlim_max: time.as_secs() as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &memory) != 0
                || libc::setrlimit(libc::RLIMIT_CPU, &cpu) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(unix))]
pub(crate) fn limit_child_to(_cmd: &mut Command, _memory: u64, _time: Duration) {}

/// Unix limits are set before exec (`limit_child_to`): nothing to hold.
#[cfg(not(windows))]
pub(crate) struct Limits;

#[cfg(not(windows))]
pub(crate) fn limit_spawned_to(
    _child: &std::process::Child,
    _memory: u64,
    _time: Duration,
) -> std::io::Result<Limits> {
    Ok(Limits)
}

#[cfg(windows)]
pub(crate) type Limits = job::Job;

/// Windows: the child joins a Job Object capping its committed memory and
/// CPU time; closing the job (when the parent is done or dies) kills it.
#[cfg(windows)]
pub(crate) fn limit_spawned_to(
    child: &std::process::Child,
    memory: u64,
    time: Duration,
) -> std::io::Result<Limits> {
    use std::os::windows::io::AsRawHandle;
    let job = job::Job::new(memory as usize, time)?;
    job.assign(child.as_raw_handle())?;
    Ok(job)
}

#[cfg(windows)]
pub(crate) mod job {
    use std::io::{Error, Result};
    use std::time::Duration;

    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::System::JobObjects::{
        AssignProcessToJobObject, CreateJobObjectW, JobObjectExtendedLimitInformation,
        SetInformationJobObject, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
        JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
        JOB_OBJECT_LIMIT_PROCESS_MEMORY, JOB_OBJECT_LIMIT_PROCESS_TIME,
    };

    /// An owned Job Object handle, closed on drop.
    pub struct Job(HANDLE);

    impl Job {
        pub fn new(memory: usize, cpu: Duration) -> Result<Job> {
            // SAFETY: no security attributes, no name; the handle is checked.
            let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
            if handle.is_null() {
                return Err(Error::last_os_error());
            }
            let job = Job(handle);
            let mut info = JOBOBJECT_EXTENDED_LIMIT_INFORMATION::default();
            let basic = &mut info.BasicLimitInformation;
            basic.LimitFlags = JOB_OBJECT_LIMIT_PROCESS_MEMORY
                | JOB_OBJECT_LIMIT_PROCESS_TIME
                | JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
                | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;
            // User time in 100-nanosecond ticks.
            basic.PerProcessUserTimeLimit = (cpu.as_nanos() / 100) as i64;
            info.ProcessMemoryLimit = memory;
            // SAFETY: `info` is the structure this information class names,
            // with its exact size; it outlives the call.
            let ok = unsafe {
                SetInformationJobObject(
                    job.0,
                    JobObjectExtendedLimitInformation,
                    (&raw const info).cast(),
                    size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
                )
            };
            if ok == 0 {
                return Err(Error::last_os_error());
            }
            Ok(job)
        }

        pub fn assign(&self, process: std::os::windows::io::RawHandle) -> Result<()> {
            // SAFETY: both handles are open for the duration of the call.
            if unsafe { AssignProcessToJobObject(self.0, process) } == 0 {
                return Err(Error::last_os_error());
            }
            Ok(())
        }
    }

    impl Drop for Job {
        fn drop(&mut self) {
            // SAFETY: the handle is ours and closed once.
            unsafe { CloseHandle(self.0) };
        }
    }
}

/// Child side (`zwyun __read-xls`): .xls bytes on stdin, the sheets as
/// JSON on stdout.
pub fn child_main() -> u8 {
    let mut bytes = Vec::new();
    if std::io::stdin().read_to_end(&mut bytes).is_err() {
        return 2;
    }
    let reply = match super::read_xls_in_process(&bytes) {
        Ok(wb) => Reply::Sheets(
            wb.sheets
                .into_iter()
                .map(|s| SheetData {
                    name: s.name,
                    cells: s.cells.into_iter().collect(),
                    merges: s.merges.iter().map(|m| (m.start, m.end)).collect(),
                    hidden: s.hidden,
                })
                .collect(),
        ),
        Err(d) if d.code == "file.encrypted" => Reply::Encrypted,
        Err(d) => Reply::Corrupt(d.message),
    };
    match serde_json::to_writer(std::io::stdout().lock(), &reply) {
        Ok(()) => 0,
        Err(_) => 2,
    }
}
