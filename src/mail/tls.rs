//! Which certificates zwyun trusts: the system's, plus the optional
//! `ca_file` of an intranet mail server; and how a TLS failure is told.

use std::sync::Arc;

use tokio_rustls::rustls::{self, pki_types::pem::PemObject, pki_types::CertificateDer};

use super::config::MailConfig;

pub struct ClientConfigs {
    config: Arc<rustls::ClientConfig>,
}

impl ClientConfigs {
    pub fn load(mail: &MailConfig) -> Result<ClientConfigs, String> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        for cert in extra_roots(mail)? {
            roots
                .add(cert)
                .map_err(|e| format!("ca_file 中的证书无法使用:{e}"))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS 配置错误:{e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(ClientConfigs {
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> Arc<rustls::ClientConfig> {
        self.config.clone()
    }
}

/// The PEM certificates of `ca_file`, if configured.
pub fn extra_roots(mail: &MailConfig) -> Result<Vec<CertificateDer<'static>>, String> {
    let Some(path) = &mail.ca_file else {
        return Ok(Vec::new());
    };
    let pem = std::fs::read(path)
        .map_err(|e| format!("无法读取 ca_file:{}", crate::oserror::at(path, &e)))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("ca_file {} 不是有效的 PEM 证书:{e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("ca_file {} 中没有证书", path.display()));
    }
    Ok(certs)
}

/// A TLS handshake failure in words a clerk can act on.
pub fn describe_tls_error(e: &std::io::Error) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(c)) => describe_certificate_error(c),
        Some(_) => "TLS 握手失败(服务器的加密设置与本程序不兼容,或端口与 tls 设置不符)".into(),
        None => format!("TLS 握手失败:{}", super::net_reason(e)),
    }
}

pub fn describe_certificate_error(c: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match c {
        C::UnknownIssuer => "服务器证书不受信任(签发机构未知):若为内网邮件服务器,请在配置项 ca_file 中给出其 CA 证书。".into(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "服务器证书与主机名不符:请核对配置中的 host 是否为证书上的域名。".into()
        }
        C::Expired | C::ExpiredContext { .. } => "服务器证书已过期。".into(),
        _ => "服务器证书不受信任(证书无效或已被吊销)。".into(),
    }
}
