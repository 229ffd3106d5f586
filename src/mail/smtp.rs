//! Sending over SMTP with lettre (rustls): STARTTLS or implicit TLS,
//! login when configured, the stored bytes sent as they are.

use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, SmtpTransport, Transport};

use super::config::{self, MailConfig};
use super::tls::{describe_certificate_error, extra_roots};

/// Why a send failed, and whether trying again later may help.
#[derive(Debug)]
pub struct SendError {
    pub message: String,
    pub transient: bool,
}

pub fn transport(cfg: &MailConfig) -> Result<SmtpTransport, String> {
    let server = &cfg.smtp;
    let port = server.port_or_default(465, 587);
    let mut params = TlsParameters::builder(server.host.clone());
    for der in extra_roots(cfg)? {
        let cert = Certificate::from_der(der.to_vec()).map_err(|e| format!("ca_file:{e}"))?;
        params = params.add_root_certificate(cert);
    }
    let params = params
        .build_rustls()
        .map_err(|e| format!("SMTP TLS 配置错误:{e}"))?;
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
        .map_err(|e| format!("smtp.from“{from}”不是有效的发件人:{e}"))
}

pub fn send(
    transport: &SmtpTransport,
    from: &Address,
    recipients: &[String],
    raw: &[u8],
) -> Result<(), SendError> {
    let to: Vec<Address> = recipients.iter().filter_map(|r| r.parse().ok()).collect();
    let envelope = Envelope::new(Some(from.clone()), to).map_err(|e| SendError {
        message: format!("收件人无效:{e}"),
        transient: false,
    })?;
    transport
        .send_raw(&envelope, raw)
        .map(|_| ())
        .map_err(|e| SendError {
            transient: !e.is_permanent(),
            message: describe(&e),
        })
}

/// An SMTP failure in words a clerk can act on.
pub fn describe(e: &lettre::transport::smtp::Error) -> String {
    let place = "SMTP";
    if let Some(c) = rustls_cause(e) {
        return format!("{place}:{c}");
    }
    if e.is_permanent() {
        let code = e.status().map(|c| c.to_string()).unwrap_or_default();
        if code.starts_with("535") || code.starts_with("534") || code.starts_with("530") {
            return format!("{place}:登录被拒绝,用户名或密码错误(服务器答复 {e})。");
        }
        return format!("{place}:服务器拒绝(永久错误):{e}");
    }
    if e.is_transient() {
        return format!("{place}:服务器暂时拒绝,稍后重试:{e}");
    }
    if e.is_tls() {
        return format!("{place}:TLS 握手失败:{e}");
    }
    if e.is_timeout() {
        return format!("{place}:连接超时:{e}");
    }
    format!("{place}:{e}")
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
