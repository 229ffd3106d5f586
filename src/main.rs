use std::process::ExitCode;

fn main() -> ExitCode {
    // The isolated .xls reader runs as a child of zwyun itself.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == zwyun::read::XLS_CHILD_ARG)
    {
        return ExitCode::from(zwyun::read::xls_child_main());
    }
    // So does the limited trial fill of the templates.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == zwyun::render::probe::CHILD_ARG)
    {
        return ExitCode::from(zwyun::render::probe::child_main());
    }
    match zwyun::command::usage::parse::<zwyun::cli::Args>() {
        Ok(args) => ExitCode::from(zwyun::cli::run(args)),
        Err(code) => ExitCode::from(code),
    }
}
