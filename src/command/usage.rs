//! Parsing the command line with clap, in Chinese: help text headings and
//! usage errors are translated here (clap itself speaks English).

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::Parser;

use super::EXIT_ERROR;

/// English fragments of clap's help output and their Chinese wording.
const HELP_WORDS: &[(&str, &str)] = &[
    ("Usage:", "用法:"),
    ("\nArguments:\n", "\n参数:\n"),
    ("\nOptions:\n", "\n选项:\n"),
    ("\nCommands:\n", "\n命令:\n"),
    (
        "Print this message or the help of the given subcommand(s)",
        "显示本帮助或某一命令的帮助",
    ),
    ("Print help (see more with '--help')", "显示帮助"),
    ("Print help (see a summary with '-h')", "显示帮助"),
    ("Print help", "显示帮助"),
    ("Print version", "显示版本"),
    ("[default: ", "[默认:"),
    ("[possible values: ", "[可选值:"),
    ("[env: ", "[环境变量:"),
    ("[OPTIONS]", "[选项]"),
    ("<COMMAND>", "<命令>"),
    ("[COMMAND]", "[命令]"),
];

/// Translates clap's rendered help (or usage) text.
pub fn help_zh(text: &str) -> String {
    HELP_WORDS
        .iter()
        .fold(text.to_string(), |t, (en, zh)| t.replace(en, zh))
}

/// Parses the process arguments; help and version are printed and end the
/// process (exit 0), usage errors are printed in Chinese (exit 2).
pub fn parse<T: Parser>() -> Result<T, u8> {
    T::try_parse().map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            super::out::print(&help_zh(&e.render().to_string()));
            super::EXIT_OK
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprint!("{}", help_zh(&e.render().to_string()));
            EXIT_ERROR
        }
        _ => {
            eprintln!("{}", error_zh(&e));
            EXIT_ERROR
        }
    })
}

fn context(e: &clap::Error, kind: ContextKind) -> String {
    match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        Some(ContextValue::Strings(v)) => v.join("、"),
        Some(ContextValue::StyledStr(s)) => s.to_string(),
        Some(ContextValue::StyledStrs(v)) => v
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("、"),
        Some(ContextValue::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// A usage error in Chinese, with the usage line and where to get help.
pub fn error_zh(e: &clap::Error) -> String {
    let arg = context(e, ContextKind::InvalidArg);
    let value = context(e, ContextKind::InvalidValue);
    let mut msg = match e.kind() {
        ErrorKind::MissingRequiredArgument => format!("缺少必需的参数:{arg}"),
        ErrorKind::MissingSubcommand => "缺少命令".to_string(),
        ErrorKind::InvalidValue if value.is_empty() => format!("参数 {arg} 缺少取值"),
        ErrorKind::InvalidValue => format!("参数 {arg} 的取值“{value}”无效"),
        ErrorKind::ValueValidation => {
            let why = std::error::Error::source(e)
                .map(|s| format!(":{s}"))
                .unwrap_or_default();
            format!("参数 {arg} 的取值“{value}”无效{why}")
        }
        ErrorKind::UnknownArgument => format!("无法识别的参数:{arg}"),
        ErrorKind::InvalidSubcommand => format!(
            "无法识别的命令:{}",
            context(e, ContextKind::InvalidSubcommand)
        ),
        ErrorKind::ArgumentConflict => format!(
            "参数 {arg} 不能与 {} 同时使用",
            context(e, ContextKind::PriorArg)
        ),
        ErrorKind::TooManyValues | ErrorKind::WrongNumberOfValues | ErrorKind::TooFewValues => {
            format!("参数 {arg} 的取值个数不对")
        }
        ErrorKind::NoEquals => format!("参数 {arg} 须写成 {arg}=取值"),
        ErrorKind::InvalidUtf8 => "参数不是有效的 UTF-8 文本".to_string(),
        _ => format!("命令行参数有误:{arg}"),
    };
    let valid = context(e, ContextKind::ValidValue);
    if !valid.is_empty() {
        msg += &format!("(可选值:{valid})");
    }
    let suggested = [
        ContextKind::SuggestedArg,
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedValue,
    ]
    .into_iter()
    .map(|k| context(e, k))
    .find(|s| !s.is_empty());
    if let Some(s) = suggested {
        msg += &format!(";是否想用 {s}?");
    }
    let usage = help_zh(&context(e, ContextKind::Usage));
    let usage = usage.trim();
    if usage.is_empty() {
        format!("zwyun: 错误:{msg}\n查看帮助:zwyun --help")
    } else {
        format!("zwyun: 错误:{msg}\n\n{usage}\n\n查看帮助:zwyun --help")
    }
}
