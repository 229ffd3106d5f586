//! The mailbox over IMAP (async-imap on a small tokio runtime): TLS from
//! the start or by STARTTLS, login, and the few commands intake needs.

use std::sync::Arc;

use async_imap::{Client, Session};
use futures::TryStreamExt;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

use super::config::{MailConfig, Server, Tls};
use super::tls::{describe_tls_error, ClientConfigs};

type Stream = TlsStream<TcpStream>;

/// How long any single network step may take.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A failure, told in Chinese for the clerk.
#[derive(Debug)]
pub struct ImapError(pub String, pub bool);

impl From<ImapError> for super::Failure {
    fn from(e: ImapError) -> super::Failure {
        super::Failure {
            message: e.0,
            outage: e.1,
        }
    }
}

/// A library error in Chinese, and whether it means the server is out of
/// reach (an outage) rather than refusing a command.
trait Cause {
    fn reason(&self) -> (String, bool);
}

impl Cause for std::io::Error {
    fn reason(&self) -> (String, bool) {
        (super::net_reason(self), true)
    }
}

impl Cause for async_imap::error::Error {
    fn reason(&self) -> (String, bool) {
        use async_imap::error::Error as E;
        match self {
            E::Io(io) => io.reason(),
            E::ConnectionLost => ("连接被服务器中断".into(), true),
            E::No(m) | E::Bad(m) => (format!("服务器拒绝:{}", m.trim()), false),
            _ => ("服务器的答复无法识别".into(), false),
        }
    }
}

impl std::fmt::Display for ImapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A logged-in session with the folder selected.
pub struct Mailbox {
    rt: tokio::runtime::Runtime,
    session: Session<Stream>,
    pub uid_validity: u32,
    pub exists: u32,
    can_move: bool,
    uidplus: bool,
}

/// One message as fetched: its UID, size, and (unless too large) its bytes.
pub struct Fetched {
    pub uid: u32,
    pub size: u64,
    pub raw: Option<Vec<u8>>,
}

fn rt() -> Result<tokio::runtime::Runtime, ImapError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|_| ImapError("无法启动网络运行时".into(), false))
}

async fn timed<T, E: Cause>(
    what: &str,
    fut: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(TIMEOUT, fut).await {
        Ok(r) => r.map_err(|e| {
            let (reason, outage) = e.reason();
            ImapError(format!("{what}:{reason}"), outage)
        }),
        Err(_) => Err(ImapError(
            format!("{what}:超时({} 秒无响应)", TIMEOUT.as_secs()),
            true,
        )),
    }
}

impl Mailbox {
    /// Connects, logs in and selects `folder`; each failure says what to fix.
    pub fn open(config: &MailConfig, folder: &str) -> Result<Mailbox, ImapError> {
        let rt = rt()?;
        let tls = ClientConfigs::load(config).map_err(|m| ImapError(m, false))?;
        let server = &config.imap;
        let session = rt.block_on(login(server, tls.config()))?;
        let mut mailbox = Mailbox {
            rt,
            session,
            uid_validity: 0,
            exists: 0,
            can_move: false,
            uidplus: false,
        };
        mailbox.select(folder)?;
        Ok(mailbox)
    }

    fn select(&mut self, folder: &str) -> Result<(), ImapError> {
        let name = mutf7(folder);
        let (caps, selected) = self.rt.block_on(async {
            let caps = timed("IMAP CAPABILITY", self.session.capabilities()).await?;
            let selected = tokio::time::timeout(TIMEOUT, self.session.select(&name)).await;
            Ok::<_, ImapError>((caps, selected))
        })?;
        self.can_move = caps.has_str("MOVE");
        self.uidplus = caps.has_str("UIDPLUS");
        let mailbox = match selected {
            Ok(Ok(m)) => m,
            Ok(Err(async_imap::error::Error::No(_))) => {
                return Err(ImapError(
                    format!("IMAP 文件夹“{folder}”不存在(或无权访问):请核对配置项 imap.folder。"),
                    false,
                ))
            }
            Ok(Err(e)) => {
                let (reason, outage) = e.reason();
                return Err(ImapError(
                    format!("IMAP 无法打开文件夹“{folder}”:{reason}"),
                    outage,
                ));
            }
            Err(_) => return Err(ImapError("IMAP 打开文件夹超时。".into(), true)),
        };
        self.uid_validity = mailbox.uid_validity.unwrap_or(0);
        self.exists = mailbox.exists;
        Ok(())
    }

    /// UIDs of every message in the selected folder, ascending.
    pub fn uids(&mut self) -> Result<Vec<u32>, ImapError> {
        let set = self
            .rt
            .block_on(timed("IMAP UID SEARCH", self.session.uid_search("ALL")))?;
        let mut uids: Vec<u32> = set.into_iter().collect();
        uids.sort_unstable();
        Ok(uids)
    }

    /// Size first; the body only when within `max` (never marks it read).
    pub fn fetch(&mut self, uid: u32, max: u64) -> Result<Fetched, ImapError> {
        let size = self.rt.block_on(async {
            let stream = timed(
                "IMAP FETCH",
                self.session.uid_fetch(uid.to_string(), "RFC822.SIZE"),
            )
            .await?;
            let items: Vec<_> = timed("IMAP FETCH", stream.try_collect::<Vec<_>>()).await?;
            Ok::<_, ImapError>(items.iter().find_map(|f| f.size).unwrap_or(0))
        })? as u64;
        let query = if size > max {
            "BODY.PEEK[HEADER]"
        } else {
            "BODY.PEEK[]"
        };
        let raw = self.rt.block_on(async {
            let stream =
                timed("IMAP FETCH", self.session.uid_fetch(uid.to_string(), query)).await?;
            let items: Vec<_> = timed("IMAP FETCH", stream.try_collect::<Vec<_>>()).await?;
            Ok::<_, ImapError>(
                items
                    .iter()
                    .find_map(|f| f.body().or_else(|| f.header()).map(<[u8]>::to_vec)),
            )
        })?;
        Ok(Fetched { uid, size, raw })
    }

    /// Creates `folder` unless it exists.
    pub fn ensure_folder(&mut self, folder: &str) -> Result<(), ImapError> {
        let name = mutf7(folder);
        let exists = self.folder_exists(folder)?;
        if !exists {
            self.rt
                .block_on(timed("IMAP CREATE", self.session.create(&name)))
                .map_err(|e| ImapError(format!("无法创建 IMAP 文件夹“{folder}”:{e}"), e.1))?;
        }
        Ok(())
    }

    pub fn folder_exists(&mut self, folder: &str) -> Result<bool, ImapError> {
        let name = mutf7(folder);
        self.rt.block_on(async {
            let stream = timed("IMAP LIST", self.session.list(Some(""), Some(&name))).await?;
            let names: Vec<_> = timed("IMAP LIST", stream.try_collect::<Vec<_>>()).await?;
            Ok(!names.is_empty())
        })
    }

    /// Moves the message into `folder` (MOVE, else COPY + delete).
    pub fn move_to(&mut self, uid: u32, folder: &str) -> Result<(), ImapError> {
        let name = mutf7(folder);
        let uid = uid.to_string();
        let can_move = self.can_move;
        let uidplus = self.uidplus;
        self.rt.block_on(async {
            if can_move {
                return timed("IMAP MOVE", self.session.uid_mv(&uid, &name)).await;
            }
            timed("IMAP COPY", self.session.uid_copy(&uid, &name)).await?;
            timed("IMAP STORE", async {
                let s = self
                    .session
                    .uid_store(&uid, "+FLAGS.SILENT (\\Deleted)")
                    .await?;
                s.try_collect::<Vec<_>>().await
            })
            .await?;
            if uidplus {
                timed("IMAP EXPUNGE", async {
                    let s = self.session.uid_expunge(&uid).await?;
                    s.try_collect::<Vec<_>>().await
                })
                .await?;
            }
            Ok(())
        })
    }

    /// Where moving is impossible: marked seen and flagged as taken.
    pub fn flag(&mut self, uid: u32) -> Result<(), ImapError> {
        self.rt.block_on(timed("IMAP STORE", async {
            let s = self
                .session
                .uid_store(uid.to_string(), "+FLAGS.SILENT (\\Seen \\Flagged)")
                .await?;
            s.try_collect::<Vec<_>>().await
        }))?;
        Ok(())
    }

    pub fn logout(mut self) {
        let _ = self
            .rt
            .block_on(async { tokio::time::timeout(TIMEOUT, self.session.logout()).await });
    }
}

async fn login(
    server: &Server,
    tls: Arc<rustls::ClientConfig>,
) -> Result<Session<Stream>, ImapError> {
    let port = server.port_or_default(993, 143);
    let place = format!("IMAP 服务器 {}:{port}", server.host);
    let tcp = timed(&place, TcpStream::connect((server.host.as_str(), port)))
        .await
        .map_err(|e| ImapError(format!("无法连接 {}", e.0), true))?;
    let tcp = match server.tls {
        Tls::Implicit => tcp,
        Tls::Starttls => {
            let mut plain = Client::new(tcp);
            timed(&place, async {
                plain
                    .read_response()
                    .await?
                    .ok_or_else(|| std::io::Error::other("服务器没有问候"))
            })
            .await?;
            timed(&place, plain.run_command_and_check_ok("STARTTLS", None))
                .await
                .map_err(|e| ImapError(format!("{}(服务器不支持 STARTTLS?)", e.0), e.1))?;
            plain.into_inner()
        }
    };
    let name = rustls::pki_types::ServerName::try_from(server.host.clone())
        .map_err(|_| ImapError(format!("{place}:主机名无效"), false))?;
    let stream = tokio::time::timeout(
        TIMEOUT,
        tokio_rustls::TlsConnector::from(tls).connect(name, tcp),
    )
    .await
    .map_err(|_| ImapError(format!("{place}:TLS 握手超时"), true))?
    .map_err(|e| ImapError(format!("{place}:{}", describe_tls_error(&e)), false))?;
    let mut client = Client::new(stream);
    if server.tls == Tls::Implicit {
        timed(&place, async {
            client
                .read_response()
                .await?
                .ok_or_else(|| std::io::Error::other("服务器没有问候"))
        })
        .await?;
    }
    let Some((user, password)) = server
        .credentials("IMAP")
        .map_err(|m| ImapError(m, false))?
    else {
        return Err(ImapError(
            format!("{place}:IMAP 必须登录,请配置 imap.user 与 password_env/password_file。"),
            false,
        ));
    };
    match tokio::time::timeout(TIMEOUT, client.login(&user, &password)).await {
        Ok(Ok(session)) => Ok(session),
        Ok(Err((async_imap::error::Error::No(msg), _))) => Err(ImapError(
            format!(
                "{place}:登录被拒绝(用户 {user}):用户名或密码错误。服务器答复:{}",
                msg.trim()
            ),
            false,
        )),
        Ok(Err((e, _))) => {
            let (reason, outage) = e.reason();
            Err(ImapError(format!("{place}:登录失败:{reason}"), outage))
        }
        Err(_) => Err(ImapError(format!("{place}:登录超时"), true)),
    }
}

/// IMAP folder names are modified UTF-7 (RFC 3501 5.1.3): `已处理` is
/// `&XfJZBHQG-`. Too small and too fixed to take a crate for.
pub fn mutf7(name: &str) -> String {
    use base64::Engine as _;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::IMAP_MUTF7,
        base64::engine::general_purpose::NO_PAD,
    );
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if !pending.is_empty() {
            let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
            out.push('&');
            out.push_str(&engine.encode(bytes));
            out.push('-');
            pending.clear();
        }
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn modified_utf7() {
        assert_eq!(super::mutf7("已处理"), "&XfJZBHQG-");
        assert_eq!(super::mutf7("INBOX"), "INBOX");
        assert_eq!(super::mutf7("A&B"), "A&-B");
        assert_eq!(super::mutf7("Sent/已处理x"), "Sent/&XfJZBHQG-x");
    }
}
