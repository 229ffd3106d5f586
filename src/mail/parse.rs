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
    /// A forwarded message inside was one of our own replies (its
    /// attachments are not taken).
    pub carries_ours: bool,
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
        carries_ours: false,
        attachments: Vec::new(),
    };
    collect(&mail, 0, &mut incoming);
    Ok(incoming)
}

/// A header's decoded text: RFC 2047 words decoded; raw 8-bit bytes
/// (Foxmail's GBK file names) read as GB18030, which contains GBK and GB2312.
pub fn header_text(h: &MailHeader) -> String {
    let raw = h.get_value_raw();
    let text = match std::str::from_utf8(raw) {
        Ok(s) => std::borrow::Cow::Borrowed(s),
        Err(_) => encoding_rs::GB18030.decode(raw).0,
    };
    decode_words(&unfold(&text))
}

/// A folded header value on one line (RFC 5322 2.2.3).
fn unfold(text: &str) -> String {
    text.replace("\r\n", "\n")
        .split('\n')
        .collect::<Vec<_>>()
        .join("")
}

/// One RFC 2047 encoded word: its charset and the bytes it carries.
fn encoded_word(word: &str) -> Option<(String, Vec<u8>)> {
    use base64::Engine as _;
    let inner = word.strip_prefix("=?")?.strip_suffix("?=")?;
    let mut parts = inner.splitn(3, '?');
    let charset = parts.next()?.split('*').next()?.to_ascii_lowercase();
    let encoding = parts.next()?;
    let text = parts.next()?;
    if text.contains('?') || text.contains(' ') {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => base64::engine::general_purpose::STANDARD
            .decode(text.trim_end_matches('='))
            .or_else(|_| {
                base64::engine::general_purpose::STANDARD_NO_PAD.decode(text.trim_end_matches('='))
            })
            .ok()?,
        "Q" | "q" => quoted_printable_word(text),
        _ => return None,
    };
    Some((charset, bytes))
}

fn quoted_printable_word(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'_' => out.push(b' '),
            b'=' => {
                match (
                    b.get(i + 1).and_then(|&c| hex(c)),
                    b.get(i + 2).and_then(|&c| hex(c)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'='),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// Decodes the RFC 2047 encoded words of `text`. Adjacent words of one
/// charset are joined before decoding: mail clients split a long GBK
/// name between words anywhere, even inside a two-byte character.
pub fn decode_words(text: &str) -> String {
    let mut out = String::new();
    let mut pending: Option<(String, Vec<u8>)> = None;
    let flush = |pending: &mut Option<(String, Vec<u8>)>, out: &mut String| {
        if let Some((charset, bytes)) = pending.take() {
            out.push_str(&decode_charset(&charset, &bytes));
        }
    };
    let mut rest = text;
    while let Some((start, len)) = next_word(rest) {
        let before = &rest[..start];
        let (charset, bytes) = encoded_word(&rest[start..start + len]).unwrap_or_default();
        let only_space = before.chars().all(char::is_whitespace);
        match &mut pending {
            Some((c, b)) if only_space && *c == charset => b.extend_from_slice(&bytes),
            Some(_) if only_space => {
                flush(&mut pending, &mut out);
                pending = Some((charset, bytes));
            }
            _ => {
                flush(&mut pending, &mut out);
                out.push_str(before);
                pending = Some((charset, bytes));
            }
        }
        rest = &rest[start + len..];
    }
    flush(&mut pending, &mut out);
    out.push_str(rest);
    out
}

/// Where the next encoded word of `s` starts, and its length.
fn next_word(s: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    while let Some(i) = s[from..].find("=?") {
        let start = from + i;
        if let Some(len) = word_at(&s[start..]) {
            return Some((start, len));
        }
        from = start + 2;
    }
    None
}

/// The length of the encoded word at the start of `s`, if one is there.
fn word_at(s: &str) -> Option<usize> {
    let body = s.strip_prefix("=?")?;
    let q1 = body.find('?')?;
    let after = &body[q1 + 1..];
    let q2 = after.find('?')?;
    let text = &after[q2 + 1..];
    let end = text.find("?=")?;
    let len = 2 + q1 + 1 + q2 + 1 + end + 2;
    encoded_word(&s[..len]).map(|_| len)
}

/// Bytes in a named charset; the GB family read as GB18030 (a superset).
fn decode_charset(charset: &str, bytes: &[u8]) -> String {
    let label = match charset {
        "gb2312" | "gbk" | "gb18030" | "x-gbk" | "cp936" => "gb18030",
        other => other,
    };
    match encoding_rs::Encoding::for_label(label.as_bytes()) {
        Some(enc) => enc.decode(bytes).0.into_owned(),
        None => String::from_utf8_lossy(bytes).into_owned(),
    }
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
    for name in ["List-Id", "List-Unsubscribe", "List-Post"] {
        if header(h, name).is_some() {
            return Some(format!("邮件列表或群发邮件({name})"));
        }
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

fn collect(part: &ParsedMail, depth: usize, into: &mut Incoming) {
    if depth > MAX_DEPTH {
        return;
    }
    if part.ctype.mimetype == "message/rfc822" {
        if let Ok(body) = part.get_body_raw() {
            if let Ok(inner) = mailparse::parse_mail(&body) {
                if is_our_reply(&inner.headers) {
                    into.carries_ours = true;
                } else {
                    collect(&inner, depth + 1, into);
                }
            }
        }
        return;
    }
    if !part.subparts.is_empty() {
        for sub in &part.subparts {
            collect(sub, depth + 1, into);
        }
        return;
    }
    if let Some(name) = file_name(part) {
        if let Ok(bytes) = part.get_body_raw() {
            into.attachments.push(Attachment { name, bytes });
        }
    }
}

/// A reply zwyun sent: our header, or a Message-ID of the form we give.
fn is_our_reply(h: &[MailHeader]) -> bool {
    header(h, "X-Zwyun-Reply").is_some()
        || header(h, "Message-ID").is_some_and(|id| is_our_message_id(&id))
}

/// Message-IDs zwyun gives its replies: `<zwyun.<time>.<hash>@domain>`.
pub fn is_our_message_id(id: &str) -> bool {
    let id = id.trim();
    id.strip_prefix("<zwyun.").is_some_and(|rest| {
        let mut parts = rest.splitn(3, '.');
        let time = parts.next().unwrap_or_default();
        let hash = parts.next().unwrap_or_default();
        !time.is_empty()
            && time.bytes().all(|b| b.is_ascii_digit())
            && hash.starts_with(|c: char| c.is_ascii_hexdigit())
    })
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
    let name = decode_words(&name);
    // Some clients send the whole path (`C:\Users\张三\Desktop\附件1.xlsx`);
    // the unit sees only the file name.
    let name = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
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

    #[test]
    fn gbk_name_split_mid_character_across_words() {
        use base64::Engine as _;
        let bytes = gbk("石湖荡镇-附件1.xlsx");
        // Split inside the second character's two bytes.
        let (a, b) = bytes.split_at(3);
        let enc = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
        let text = format!("=?GBK?B?{}?=\r\n =?GBK?B?{}?=", enc(a), enc(b));
        assert_eq!(decode_words(&unfold(&text)), "石湖荡镇-附件1.xlsx");
        let d = format!("filename=\"=?GBK?B?{}?= =?GBK?B?{}?=\"", enc(a), enc(b));
        let m = parse(&message_with_disposition(d.as_bytes())).unwrap();
        assert_eq!(m.attachments[0].name, "石湖荡镇-附件1.xlsx");
    }

    #[test]
    fn encoded_words_mixed_with_text_and_charsets() {
        assert_eq!(decode_words("plain"), "plain");
        assert_eq!(decode_words("=?UTF-8?Q?a_b=E4=B8=AD?= x"), "a b中 x");
        assert_eq!(decode_words("=?UTF-8?B?5Lit?= =?GB2312?B?zsQ=?="), "中文");
        assert_eq!(decode_words("a =?bad x"), "a =?bad x");
    }

    #[test]
    fn a_full_path_becomes_the_file_name() {
        let m = parse(&message_with_disposition(
            "filename*=UTF-8''C%3A%5CUsers%5C%E5%BC%A0%5Ca.xlsx".as_bytes(),
        ))
        .unwrap();
        assert_eq!(m.attachments[0].name, "a.xlsx");
    }

    #[test]
    fn lists_are_automatic_and_our_ids_are_known() {
        let m = parse(b"From: a@b.cn\r\nList-Id: <x.lists.b.cn>\r\nSubject: x\r\n\r\nhi").unwrap();
        assert!(m.automatic.is_some());
        let m = parse(b"From: a@b.cn\r\nList-Unsubscribe: <mailto:u@b.cn>\r\n\r\nhi").unwrap();
        assert!(m.automatic.is_some());
        assert!(is_our_message_id(
            "<zwyun.1764000000000.0a1b2c3d@example.cn>"
        ));
        assert!(!is_our_message_id("<zwyun-x@example.cn>"));
    }
}
