//! The mail configuration (`--mail FILE`, env `ZWYUN_MAIL`): servers,
//! where passwords come from, and the reply policy.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    /// TLS from the first byte (IMAP 993, SMTP 465).
    Implicit,
    /// Plain connection upgraded by STARTTLS (IMAP 143, SMTP 587).
    Starttls,
}

impl Tls {
    pub fn label(self) -> &'static str {
        match self {
            Tls::Implicit => "TLS",
            Tls::Starttls => "STARTTLS",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyMode {
    /// Replies are sent as soon as they are composed.
    #[default]
    Auto,
    /// Replies are written as .eml into the outbox; `zwyun mail send` releases them.
    Hold,
}

/// Login settings shared by both servers. The password itself is never in
/// the file: only where to find it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub host: String,
    pub port: Option<u16>,
    pub tls: Tls,
    pub user: Option<String>,
    pub password_env: Option<String>,
    pub password_file: Option<PathBuf>,
    /// Only to give a clear refusal: a password written in the file.
    #[serde(default)]
    password: Option<serde::de::IgnoredAny>,
    #[serde(default = "inbox")]
    pub folder: String,
    #[serde(default = "done_folder")]
    pub done_folder: String,
    /// SMTP only: the sender of replies, e.g. `松江区科创服务中心 <clerk@example.cn>`.
    pub from: Option<String>,
}

fn inbox() -> String {
    "INBOX".into()
}

fn done_folder() -> String {
    "已处理".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub imap: Server,
    pub smtp: Server,
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub reply: ReplyMode,
    /// When not empty, only senders of these domains (or their subdomains) get replies.
    #[serde(default)]
    pub allow_domains: Vec<String>,
    /// Larger messages are not taken: moved aside with a note.
    #[serde(default = "max_message_mb")]
    pub max_message_mb: u64,
    /// Replies to one sender per hour; more are held for the clerk.
    #[serde(default = "replies_per_hour")]
    pub replies_per_hour: u32,
}

fn max_message_mb() -> u64 {
    25
}

fn replies_per_hour() -> u32 {
    10
}

impl MailConfig {
    /// Reads and checks the YAML file; errors name the file (and line:column).
    pub fn load(path: &Path) -> Result<MailConfig, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("无法读取邮件配置:{}", crate::oserror::at(path, &e)))?;
        let config: MailConfig = crate::datafiles::parse_yaml(&path.display().to_string(), &text)
            .map_err(|e| format!("邮件配置有误:{e}"))?;
        for (name, server) in [("imap", &config.imap), ("smtp", &config.smtp)] {
            if server.password.is_some() {
                return Err(format!(
                    "邮件配置 {}:{name}.password 不允许把密码写在配置文件中,请改用 password_env(环境变量名)或 password_file(密码文件路径)。",
                    path.display()
                ));
            }
        }
        if config.smtp.from.is_none() {
            return Err(format!(
                "邮件配置 {}:缺少 smtp.from(回复邮件的发件人,例如 \"松江区科创服务中心 <clerk@example.cn>\")。",
                path.display()
            ));
        }
        Ok(config)
    }

    pub fn max_bytes(&self) -> u64 {
        self.max_message_mb.saturating_mul(1024 * 1024)
    }
}

impl Server {
    pub fn port_or_default(&self, implicit: u16, starttls: u16) -> u16 {
        self.port.unwrap_or(match self.tls {
            Tls::Implicit => implicit,
            Tls::Starttls => starttls,
        })
    }

    /// The login, if any: user and the password from the environment or a file.
    pub fn credentials(&self, what: &str) -> Result<Option<(String, String)>, String> {
        let Some(user) = &self.user else {
            return Ok(None);
        };
        let password = match (&self.password_env, &self.password_file) {
            (Some(var), _) => std::env::var(var).map_err(|_| {
                format!("{what} 密码:环境变量 {var} 未设置(配置项 password_env)。")
            })?,
            (None, Some(file)) => std::fs::read_to_string(file)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| {
                    format!("{what} 密码:无法读取密码文件:{}", crate::oserror::at(file, &e))
                })?,
            (None, None) => {
                return Err(format!(
                    "{what} 配置了用户名 {user},但没有给出密码来源:请设置 password_env 或 password_file。"
                ))
            }
        };
        Ok(Some((user.clone(), password)))
    }
}
