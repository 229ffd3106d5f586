//! Writing results to standard output. A reader that goes away early
//! (`zwyun validate … | head -1`) ends the command quietly with exit 0;
//! `println!` would panic on the closed pipe.

use std::io::Write;

/// Writes `text` to stdout; on a closed pipe, exits quietly.
pub fn print(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("zwyun: 无法写出到标准输出:{e}");
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
