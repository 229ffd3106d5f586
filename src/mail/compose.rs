//! Replies as the unit's mail client should show them: threaded under the
//! original (In-Reply-To, References, `回复:` subject), a Chinese
//! plain-text body, and attachments whose Chinese names display in
//! Outlook and QQ Mail too (RFC 2231 `filename*=` and RFC 2047 `name=`).

use lettre::message::header::{ContentDisposition, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;
use sha2::{Digest, Sha256};

/// A composed reply: its bytes are what is sent, on every attempt.
pub struct Draft {
    pub message_id: String,
    pub recipients: Vec<String>,
    pub subject: String,
    pub raw: Vec<u8>,
}

pub struct Thread<'a> {
    pub message_id: Option<&'a str>,
    pub references: Option<&'a str>,
    pub subject: &'a str,
}

/// A file attached to a reply, under the name the unit sees.
pub struct File {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// The reply's subject: `回复:` once, however many the original carried;
/// a message without a subject is answered as `(无主题)`.
pub fn reply_subject(original: &str) -> String {
    let mut rest = original.trim();
    loop {
        let lower = rest.to_lowercase();
        let prefix = ["回复", "答复", "re", "aw", "回覆"].iter().find_map(|p| {
            let after = lower.strip_prefix(p)?;
            let after = after.trim_start();
            let colon = after
                .strip_prefix(':')
                .or_else(|| after.strip_prefix(':'))?;
            Some(lower.len() - colon.len())
        });
        match prefix {
            // `lower` and `rest` have the same byte length for these prefixes.
            Some(n) if rest.is_char_boundary(n) => rest = rest[n..].trim_start(),
            _ => break,
        }
    }
    if rest.is_empty() {
        "回复:(无主题)".to_string()
    } else {
        format!("回复:{rest}")
    }
}

/// The reply `from` → `to` (+ `cc`) with `body` and the files attached.
pub fn reply(
    from: &str,
    to: &str,
    cc: &[String],
    thread: &Thread,
    body: &str,
    files: &[File],
) -> Result<Draft, String> {
    let from: Mailbox = from
        .parse()
        .map_err(|_| format!("smtp.from“{from}”不是有效的发件人地址"))?;
    let to_box: Mailbox = to
        .parse()
        .map_err(|_| format!("收件人“{to}”不是有效的邮箱地址"))?;
    let message_id = new_message_id(&from, thread.message_id.unwrap_or(to));
    let subject = reply_subject(thread.subject);
    let mut builder = Message::builder()
        .from(from)
        .to(to_box)
        .subject(subject.clone())
        .message_id(Some(message_id.clone()))
        .date_now()
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("Auto-Submitted"),
            "auto-replied".into(),
        ))
        .raw_header(HeaderValue::new(
            HeaderName::new_from_ascii_str("X-Zwyun-Reply"),
            "1".into(),
        ));
    let mut recipients = vec![to.to_string()];
    for addr in cc {
        if recipients.iter().any(|r| r.eq_ignore_ascii_case(addr)) {
            continue;
        }
        if let Ok(mb) = addr.parse::<Mailbox>() {
            builder = builder.cc(mb);
            recipients.push(addr.clone());
        }
    }
    if let Some(id) = thread.message_id {
        builder = builder.in_reply_to(id.to_string());
        let refs = match thread.references {
            Some(r) if !r.trim().is_empty() => format!("{} {id}", r.trim()),
            _ => id.to_string(),
        };
        builder = builder.references(refs);
    }
    let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(body.to_string()));
    for file in files {
        parts = parts.singlepart(attachment(file)?);
    }
    let message = builder
        .multipart(parts)
        .map_err(|_| "回复邮件无法生成(收件人或发件人地址有误)".to_string())?;
    Ok(Draft {
        message_id,
        recipients,
        subject,
        raw: message.formatted(),
    })
}

/// `<time.hash@domain>`: unique, and stored with the reply so a retry
/// carries the same one.
fn new_message_id(from: &Mailbox, seed: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let hash = Sha256::digest(format!("{nanos}{}{seed}", std::process::id()));
    let hex: String = hash[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("<zwyun.{nanos}.{hex}@{}>", from.email.domain())
}

fn attachment(file: &File) -> Result<SinglePart, String> {
    let name = &file.name;
    let ctype = ContentType::parse(&format!("{}; name=\"{}\"", mime_of(name), rfc2047(name)))
        .map_err(|_| format!("附件名无法编码:{name}"))?;
    Ok(SinglePart::builder()
        .header(ctype)
        .header(ContentDisposition::attachment(name))
        .body(file.bytes.clone()))
}

fn mime_of(name: &str) -> &'static str {
    let lower = name.to_lowercase();
    if lower.ends_with(".xlsx") {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    } else if lower.ends_with(".docx") {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    } else if lower.ends_with(".txt") {
        "text/plain; charset=utf-8"
    } else if lower.ends_with(".pdf") {
        "application/pdf"
    } else {
        "application/octet-stream"
    }
}

/// RFC 2047 encoded words (UTF-8, base64), split on character boundaries
/// so that each word stays within 75 characters.
pub fn rfc2047(text: &str) -> String {
    use base64::Engine as _;
    if text.is_ascii() && !text.contains(['"', '=', '?']) {
        return text.to_string();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn reply_prefixes_do_not_pile_up() {
        use super::reply_subject;
        assert_eq!(reply_subject("申请"), "回复:申请");
        assert_eq!(reply_subject("回复:回复: Re: RE:申请"), "回复:申请");
        assert_eq!(reply_subject("答复:re :申请"), "回复:申请");
        assert_eq!(reply_subject(""), "回复:(无主题)");
        assert_eq!(reply_subject("回复:"), "回复:(无主题)");
        assert_eq!(reply_subject("Report"), "回复:Report");
    }

    #[test]
    fn encoded_words_round_trip() {
        let name = "松江区某某局-智慧城市运行管理平台-问题清单.xlsx";
        let encoded = super::rfc2047(name);
        assert!(encoded.split(' ').all(|w| w.len() <= 75), "{encoded}");
        let line = format!("X: {encoded}");
        let (h, _) = mailparse::parse_header(line.as_bytes()).unwrap();
        assert_eq!(h.get_value(), name);
    }
}
