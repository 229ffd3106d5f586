//! Sending over SMTP with lettre (rustls): STARTTLS or implicit TLS,
//! login when configured, the stored bytes sent as they are.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, SmtpTransport, Transport};

use super::config::{self, MailConfig};
use super::tls::{describe_certificate_error, extra_roots};

/// Why a send failed.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The server refused this recipient (or this message) for good.
    Refused,
    /// Login, certificate or another setting to fix: no use retrying.
    Config,
    /// The server answered "not now" (4xx): retried later.
    Busy,
    /// No connection, a timeout, a broken handshake: retried later.
    Down,
}

impl SendError {
    /// Whether trying again later may help.
    pub fn transient(&self) -> bool {
        matches!(self.kind, Kind::Busy | Kind::Down)
    }
}

pub fn transport(cfg: &MailConfig) -> Result<SmtpTransport, String> {
    let server = &cfg.smtp;
    let port = server.port_or_default(465, 587);
    let mut params = TlsParameters::builder(server.host.clone());
    for der in extra_roots(cfg)? {
        let cert = Certificate::from_der(der.to_vec())
            .map_err(|_| "ca_file 中的证书无法使用".to_string())?;
        params = params.add_root_certificate(cert);
    }
    let params = params
        .build_rustls()
        .map_err(|_| "SMTP TLS 配置错误(请检查 ca_file 中的证书)".to_string())?;
    let tls = match server.tls {
        config::Tls::Implicit => Tls::Wrapper(params),
        config::Tls::Starttls => Tls::Required(params),
    };
    let mut builder = SmtpTransport::builder_dangerous(server.host.clone())
        .port(port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(60)));
    if let Some((user, password)) = server.credentials("SMTP")? {
        builder = builder.credentials(Credentials::new(user, password));
    }
    Ok(builder.build())
}

/// The sender's bare address from `smtp.from`.
pub fn from_address(cfg: &MailConfig) -> Result<Address, String> {
    let from = cfg.smtp.from.as_deref().unwrap_or_default();
    from.parse::<lettre::message::Mailbox>()
        .map(|m| m.email)
        .map_err(|_| format!("smtp.from“{from}”不是有效的发件人地址"))
}

/// Sends `raw` to `recipients` in one transaction.
pub fn send(
    transport: &SmtpTransport,
    from: &Address,
    recipients: &[String],
    raw: &[u8],
) -> Result<(), SendError> {
    let to: Vec<Address> = recipients.iter().filter_map(|r| r.parse().ok()).collect();
    let envelope = Envelope::new(Some(from.clone()), to).map_err(|_| SendError {
        message: format!("收件人地址无效:{}", recipients.join("、")),
        kind: Kind::Refused,
    })?;
    transport
        .send_raw(&envelope, raw)
        .map(|_| ())
        .map_err(|e| SendError {
            kind: kind_of(&e),
            message: describe(&e),
        })
}

fn is_login_code(code: &str) -> bool {
    ["530", "534", "535", "538"]
        .iter()
        .any(|c| code.starts_with(c))
}

fn kind_of(e: &lettre::transport::smtp::Error) -> Kind {
    let code = e.status().map(|c| c.to_string()).unwrap_or_default();
    if rustls_cause(e).is_some() || (e.is_permanent() && is_login_code(&code)) {
        Kind::Config
    } else if e.is_permanent() {
        Kind::Refused
    } else if e.is_transient() {
        Kind::Busy
    } else if e.is_client() {
        Kind::Config
    } else {
        Kind::Down
    }
}

/// The server's own words after its code (its language, quoted as such).
fn server_words(e: &lettre::transport::smtp::Error) -> String {
    use std::error::Error as _;
    let code = e.status().map(|c| c.to_string()).unwrap_or_default();
    let text = e.source().map(|s| s.to_string()).unwrap_or_default();
    format!("服务器答复 {code} {}", text.trim())
        .trim()
        .to_string()
}

/// An SMTP failure in words a clerk can act on (never the library's English).
pub fn describe(e: &lettre::transport::smtp::Error) -> String {
    let place = "SMTP";
    if let Some(c) = rustls_cause(e) {
        return format!("{place}:{c}");
    }
    if e.is_permanent() {
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        if is_login_code(&code) {
            return format!("{place}:登录被拒绝,用户名或密码错误({})。", server_words(e));
        }
        return format!("{place}:服务器拒收({})。", server_words(e));
    }
    if e.is_transient() {
        return format!("{place}:服务器暂时拒绝,稍后重试({})。", server_words(e));
    }
    let cause = io_cause(e)
        .map(super::net_reason)
        .unwrap_or_else(|| "连接失败".to_string());
    if e.is_timeout() {
        return format!("{place}:连接超时,服务器无响应。");
    }
    if e.is_tls() {
        return format!("{place}:TLS 握手失败({cause})。");
    }
    if e.is_client() {
        return format!("{place}:邮件无法按 SMTP 协议发出(请检查收件人与发件人地址)。");
    }
    format!("{place}:无法连接服务器:{cause}。")
}

fn io_cause<'e>(e: &'e (dyn std::error::Error + 'static)) -> Option<&'e std::io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cur = err.source();
    }
    None
}

fn rustls_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    use tokio_rustls::rustls;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(rustls::Error::InvalidCertificate(c)) = err.downcast_ref::<rustls::Error>() {
            return Some(describe_certificate_error(c));
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(rustls::Error::InvalidCertificate(c)) =
                io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
            {
                return Some(describe_certificate_error(c));
            }
        }
        cur = err.source();
    }
    None
}
