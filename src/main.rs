use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = zwyun::cli::Args::parse();
    ExitCode::from(zwyun::cli::run(args))
}
