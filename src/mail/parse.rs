//! An incoming message as zwyun sees it: who sent it, how to thread the
//! reply, whether a machine sent it, and its workbook attachments
//! (including those inside forwarded messages), names decoded from GBK,
//! GB2312 and GB18030 whether RFC 2047, RFC 2231 or raw 8-bit.

use mailparse::{MailHeader, MailHeaderMap, ParsedMail};

/// One attached file.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Attachment {
    /// Excel workbooks by name or declared type; anything else is not a submission.
    pub fn is_workbook(&self) -> bool {
        let lower = self.name.to_lowercase();
        [".xlsx", ".xlsm", ".xls", ".et"]
            .iter()
            .any(|ext| lower.ends_with(ext))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Incoming {
    pub message_id: Option<String>,
    pub references: Option<String>,
    /// Address only (`unit@example.cn`).
    pub sender: Option<String>,
    /// Reply-To, else From.
    pub reply_to: Option<String>,
    pub subject: String,
    pub date: Option<String>,
    pub timestamp: Option<i64>,
    /// Why this message was sent by a machine (never answered), if it was.
    pub automatic: Option<String>,
    pub attachments: Vec<Attachment>,
}

/// Forwarded messages nest; deeper than this is not a real mail.
const MAX_DEPTH: usize = 8;

/// Parses raw message bytes; a message that cannot be parsed is an error
/// string (in Chinese) for the note.
pub fn parse(raw: &[u8]) -> Result<Incoming, String> {
    let mail = mailparse::parse_mail(raw).map_err(|e| format!("邮件格式无法解析:{e}"))?;
    let h = &mail.headers;
    let from = header(h, "From").and_then(|v| first_address(&v));
    let reply_to = header(h, "Reply-To")
        .and_then(|v| first_address(&v))
        .or_else(|| from.clone());
    let date = header(h, "Date");
    let mut incoming = Incoming {
        message_id: header(h, "Message-ID").map(|s| s.trim().to_string()),
        references: header(h, "References"),
        subject: header(h, "Subject").unwrap_or_default().trim().to_string(),
        timestamp: date.as_deref().and_then(|d| mailparse::dateparse(d).ok()),
        date,
        automatic: automatic(&mail, from.as_deref()),
        sender: from,
        reply_to,
        attachments: Vec::new(),
    };
    collect(&mail, 0, &mut incoming.attachments);
    Ok(incoming)
}

/// A header's decoded text: RFC 2047 words decoded; raw 8-bit bytes
/// (Foxmail's GBK file names) read as GB18030, which contains GBK and GB2312.
pub fn header_text(h: &MailHeader) -> String {
    if std::str::from_utf8(h.get_value_raw()).is_ok() {
        return h.get_value();
    }
    let (text, _, _) = encoding_rs::GB18030.decode(h.get_value_raw());
    let line = format!("X: {text}");
    mailparse::parse_header(line.as_bytes())
        .map(|(h, _)| h.get_value())
        .unwrap_or_else(|_| text.into_owned())
}

fn header(headers: &[MailHeader], name: &str) -> Option<String> {
    headers.get_first_header(name).map(|h| header_text(h))
}

fn first_address(value: &str) -> Option<String> {
    let list = mailparse::addrparse(value).ok()?;
    list.iter().find_map(|a| match a {
        mailparse::MailAddr::Single(s) => Some(s.addr.trim().to_string()),
        mailparse::MailAddr::Group(g) => g.addrs.first().map(|s| s.addr.trim().to_string()),
    })
}

/// RFC 3834 and the habits of real servers: auto-replies, bounces, lists,
/// and our own replies are never answered.
fn automatic(mail: &ParsedMail, from: Option<&str>) -> Option<String> {
    let h = &mail.headers;
    let get = |n: &str| header(h, n).map(|v| v.trim().to_lowercase());
    if let Some(v) = get("Auto-Submitted").filter(|v| v != "no") {
        return Some(format!("自动发送的邮件(Auto-Submitted: {v})"));
    }
    if header(h, "X-Zwyun-Reply").is_some() {
        return Some("本系统自己发出的回复".into());
    }
    for name in ["X-Autoreply", "X-Autorespond", "X-Auto-Response"] {
        if header(h, name).is_some() {
            return Some(format!("自动回复({name})"));
        }
    }
    if let Some(v) =
        get("Precedence").filter(|v| ["bulk", "junk", "list", "auto_reply"].contains(&v.as_str()))
    {
        return Some(format!("群发或自动邮件(Precedence: {v})"));
    }
    if get("Return-Path").is_some_and(|v| v == "<>") {
        return Some("退信(空的 Return-Path)".into());
    }
    if mail.ctype.mimetype == "multipart/report" {
        return Some("投递状态报告(退信)".into());
    }
    let local = from
        .and_then(|a| a.split('@').next())
        .unwrap_or_default()
        .to_lowercase();
    if ["mailer-daemon", "postmaster"].contains(&local.as_str()) {
        return Some(format!("退信(发件人 {})", from.unwrap_or_default()));
    }
    None
}

fn collect(part: &ParsedMail, depth: usize, out: &mut Vec<Attachment>) {
    if depth > MAX_DEPTH {
        return;
    }
    if part.ctype.mimetype == "message/rfc822" {
        if let Ok(body) = part.get_body_raw() {
            if let Ok(inner) = mailparse::parse_mail(&body) {
                collect(&inner, depth + 1, out);
            }
        }
        return;
    }
    if !part.subparts.is_empty() {
        for sub in &part.subparts {
            collect(sub, depth + 1, out);
        }
        return;
    }
    if let Some(name) = file_name(part) {
        if let Ok(bytes) = part.get_body_raw() {
            out.push(Attachment { name, bytes });
        }
    }
}

/// The file name from Content-Disposition (`filename`, RFC 2231 or 2047 or
/// raw) or else Content-Type (`name`).
fn file_name(part: &ParsedMail) -> Option<String> {
    let h = &part.headers;
    let from_disposition = h
        .get_first_header("Content-Disposition")
        .map(|d| mailparse::parse_content_disposition(&header_text(d)))
        .and_then(|d| d.params.get("filename").cloned());
    let from_type = || {
        h.get_first_header("Content-Type")
            .map(|t| mailparse::parse_content_type(&header_text(t)))
            .and_then(|t| t.params.get("name").cloned())
    };
    let name = from_disposition.or_else(from_type)?;
    // A name still holding encoded words (some clients quote them in RFC 2231 values).
    let name = if name.contains("=?") {
        let line = format!("X: {name}");
        mailparse::parse_header(line.as_bytes())
            .map(|(h, _)| h.get_value())
            .unwrap_or(name)
    } else {
        name
    };
    let name = name.trim().to_string();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(s: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(s).0.into_owned()
    }

    fn message_with_disposition(disposition: &[u8]) -> Vec<u8> {
        let mut m = b"From: a@b.cn\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; ".to_vec();
        m.extend_from_slice(disposition);
        m.extend_from_slice(b"\r\n\r\nQUJD\r\n--b--\r\n");
        m
    }

    #[test]
    fn raw_gbk_file_name() {
        let mut d = b"filename=\"".to_vec();
        d.extend(gbk("附件1-申请表.xlsx"));
        d.push(b'"');
        let m = parse(&message_with_disposition(&d)).unwrap();
        assert_eq!(m.attachments[0].name, "附件1-申请表.xlsx");
        assert_eq!(m.attachments[0].bytes, b"ABC");
    }

    #[test]
    fn rfc2231_gb18030_file_name() {
        let pct: String = gbk("附件1.xlsx")
            .iter()
            .map(|b| format!("%{b:02X}"))
            .collect();
        let d = format!("filename*=gb18030''{pct}");
        let m = parse(&message_with_disposition(d.as_bytes())).unwrap();
        assert_eq!(m.attachments[0].name, "附件1.xlsx");
    }

    #[test]
    fn rfc2047_gb2312_file_name() {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::STANDARD.encode(gbk("申请表.xlsx"));
        let d = format!("filename=\"=?GB2312?B?{b}?=\"");
        let m = parse(&message_with_disposition(d.as_bytes())).unwrap();
        assert_eq!(m.attachments[0].name, "申请表.xlsx");
    }

    #[test]
    fn auto_submitted_is_automatic() {
        let m =
            parse(b"From: a@b.cn\r\nAuto-Submitted: auto-replied\r\nSubject: x\r\n\r\nhi").unwrap();
        assert!(m.automatic.is_some());
        let m = parse(b"From: MAILER-DAEMON@b.cn\r\nSubject: x\r\n\r\nhi").unwrap();
        assert!(m.automatic.is_some());
        let m = parse(b"From: a@b.cn\r\nSubject: x\r\n\r\nhi").unwrap();
        assert!(m.automatic.is_none());
    }
}
