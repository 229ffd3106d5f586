//! Writing results to standard output. A reader that goes away early
//! (`zwyun validate … | head -1`) does not stop the command: it finishes
//! its work (files, ledger, `--report`) and exits with the code it would
//! have had, only what it prints is dropped; `println!` would panic on the
//! closed pipe.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once stdout's reader has gone away; later output is dropped.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to stdout; on a closed pipe, quietly drops it (and all
/// later output).
pub fn print(text: &str) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            CLOSED.store(true, Ordering::Relaxed);
            return;
        }
        eprintln!("zwyun: 无法写出到标准输出:{}", super::io_reason(&e));
        std::process::exit(i32::from(super::EXIT_ERROR));
    }
}

/// `print!` to stdout, quiet on a closed pipe.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::command::out::print(&format!($($arg)*))
    };
}

/// `println!` to stdout, quiet on a closed pipe.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::command::out::print("\n")
    };
    ($($arg:tt)*) => {
        $crate::command::out::print(&format!("{}\n", format!($($arg)*)))
    };
}
