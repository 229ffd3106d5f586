use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // The isolated .xls reader runs as a child of zwyun itself.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == zwyun::read::XLS_CHILD_ARG)
    {
        return ExitCode::from(zwyun::read::xls_child_main());
    }
    let args = zwyun::cli::Args::parse();
    ExitCode::from(zwyun::cli::run(args))
}
