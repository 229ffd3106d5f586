//! The docx template engine, in the way of docxtpl: the template's text
//! parts become Tera templates once; each render fills them and copies
//! every other part of the archive byte for byte.

use std::collections::HashMap;
use std::io::{Cursor, Read, Write};

use tera::{ErrorKind, Tera};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::xml::{self, Converted, Place};
use super::RenderError;

/// A parsed .docx template: the archive bytes, and which parts are
/// templates (registered in the shared Tera under `name/part`).
pub struct DocxTemplate {
    pub file: String,
    bytes: Vec<u8>,
    parts: HashMap<String, PartInfo>,
}

struct PartInfo {
    tera_name: String,
    places: Vec<Place>,
}

/// Block tags that need a matching end tag.
const BLOCKS: [&str; 5] = ["for", "if", "macro", "filter", "set"];

fn is_text_part(name: &str) -> bool {
    name == "word/document.xml"
        || (name.starts_with("word/header") || name.starts_with("word/footer"))
            && name.ends_with(".xml")
}

/// Why a .docx could not be opened as a zip archive, in Chinese.
fn zip_reason(e: &zip::result::ZipError) -> String {
    crate::oserror::in_chain(e)
        .unwrap_or_else(|| "压缩包已损坏、不完整或不是 Word 保存的 .docx".to_string())
}

impl DocxTemplate {
    /// Reads the archive and registers its templated parts in `tera`.
    pub fn parse(file: &str, bytes: Vec<u8>, tera: &mut Tera) -> Result<DocxTemplate, RenderError> {
        let broken = |message: String| RenderError::Template {
            file: file.to_string(),
            message,
        };
        let mut archive = ZipArchive::new(Cursor::new(&bytes))
            .map_err(|e| broken(format!("不是有效的 .docx 文件:{}", zip_reason(&e))))?;
        let mut parts = HashMap::new();
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).map_err(|e| {
                broken(format!(
                    "文件中的第 {} 个部件无法读取:{}",
                    i + 1,
                    zip_reason(&e)
                ))
            })?;
            let name = entry
                .name()
                .map_err(|e| broken(format!("部件名称无效:{}", zip_reason(&e))))?
                .into_owned();
            if !is_text_part(&name) {
                continue;
            }
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|e| broken(format!("{name} 无法读取:{}", crate::oserror::reason(&e))))?;
            let converted = xml::convert(&text).map_err(|e| RenderError::Located {
                file: file.to_string(),
                place: e.place,
                message: e.message,
            })?;
            if !converted.has_tags {
                continue;
            }
            check_blocks(file, &converted)?;
            let tera_name = format!("{file}/{name}.xml");
            tera.add_raw_template(&tera_name, &converted.source)
                .map_err(|e| located(file, &converted.places, &e))?;
            let places = converted.places;
            parts.insert(name, PartInfo { tera_name, places });
        }
        if !parts.contains_key("word/document.xml") {
            return Err(broken(
                "缺少 word/document.xml 或其中没有任何 {{ }} 标签".into(),
            ));
        }
        Ok(DocxTemplate {
            file: file.to_string(),
            bytes,
            parts,
        })
    }

    /// Fills the template: the templated parts rendered, all others copied raw.
    pub fn render(&self, tera: &Tera, ctx: &tera::Context) -> Result<Vec<u8>, RenderError> {
        let zip_err = |e: zip::result::ZipError| RenderError::Output(e.to_string());
        let mut archive = ZipArchive::new(Cursor::new(&self.bytes)).map_err(zip_err)?;
        let mut out = ZipWriter::new(Cursor::new(Vec::with_capacity(
            self.bytes.len() + 16 * 1024,
        )));
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1));
        for i in 0..archive.len() {
            let entry = archive.by_index_raw(i).map_err(zip_err)?;
            let name = entry.name().map_err(zip_err)?.into_owned();
            let Some(part) = self.parts.get(&name) else {
                out.raw_copy_file(entry).map_err(zip_err)?;
                continue;
            };
            drop(entry);
            let mut text = tera
                .render(&part.tera_name, ctx)
                .map_err(|e| located(&self.file, &part.places, &e))?;
            if name == "word/document.xml" {
                text = super::fit::fit_columns(&text);
            }
            out.start_file(name, options).map_err(zip_err)?;
            out.write_all(text.as_bytes())
                .map_err(|e| RenderError::Output(e.to_string()))?;
        }
        Ok(out.finish().map_err(zip_err)?.into_inner())
    }
}

/// The keyword of a block tag: `{%- for x in y -%}` → `for`.
fn keyword(tag: &str) -> Option<&str> {
    let inner = tag.strip_prefix("{%")?.strip_suffix("%}")?;
    let inner = inner.trim_matches('-').trim();
    inner.split_whitespace().next()
}

/// Checks that every block tag is closed, naming where the open one is.
fn check_blocks(file: &str, c: &Converted) -> Result<(), RenderError> {
    let mut stack: Vec<(&str, &str, &str)> = Vec::new();
    let err = |place: &str, message: String| RenderError::Located {
        file: file.to_string(),
        place: place.to_string(),
        message,
    };
    for (tag, label) in &c.tags {
        let Some(word) = keyword(tag) else { continue };
        if ["include", "extends", "import"].contains(&word) {
            return Err(err(
                label,
                format!("{tag}:模板不能引用其他模板(include、extends、import),每个 .docx 模板须自成一体;请把要引用的内容直接写进本模板"),
            ));
        }
        if word == "set" && tag.contains('=') {
            continue;
        }
        if BLOCKS.contains(&word) {
            stack.push((word, tag, label));
        } else if let Some(closed) = word.strip_prefix("end") {
            match stack.pop() {
                Some((open, _, _)) if open == closed => {}
                Some((open, open_tag, open_label)) => {
                    return Err(err(
                        label,
                        format!(
                            "{tag} 与{open_label}中的 {open_tag} 不配对(应为 {{% end{open} %}})"
                        ),
                    ))
                }
                None => return Err(err(label, format!("{tag} 前面没有对应的开始标签"))),
            }
        }
    }
    match stack.pop() {
        Some((open, tag, label)) => Err(err(label, format!("{tag} 没有对应的 {{% end{open} %}}"))),
        None => Ok(()),
    }
}

/// A Tera error, located in the document by the span it carries.
fn located(file: &str, places: &[Place], e: &tera::Error) -> RenderError {
    let (message, offset) = match e.kind() {
        ErrorKind::SyntaxError(r) => (
            format!("模板语法错误:{}", r.message()),
            Some(r.span().range.start),
        ),
        ErrorKind::RenderingError(r) => (translate(r.message()), Some(r.span().range.start)),
        other => (format!("模板有误:{other}"), None),
    };
    let place = offset
        .and_then(|o| innermost(places, o))
        .map(|p| p.label.clone())
        .unwrap_or_else(|| "(位置不明)".to_string());
    RenderError::Located {
        file: file.to_string(),
        place,
        message: shortened(&message),
    }
}

/// A message cut to a readable length: a template part is one long line
/// of XML, which some messages quote whole.
fn shortened(message: &str) -> String {
    const MAX: usize = 300;
    if message.chars().count() <= MAX {
        return message.to_string();
    }
    let cut: String = message.chars().take(MAX).collect();
    format!("{cut}…")
}

fn innermost(places: &[Place], offset: usize) -> Option<&Place> {
    places
        .iter()
        .filter(|p| p.range.contains(&offset))
        .min_by_key(|p| p.range.len())
}

/// Tera's messages in Chinese where the common ones are recognised.
fn translate(message: &str) -> String {
    let unknown = ["not defined", "not found", "undefined"];
    if unknown.iter().any(|u| message.contains(u)) {
        format!("变量不存在或没有值({message});可用的变量见 README.md“可用的变量”一节")
    } else {
        format!("无法填写:{message}")
    }
}

/// Escapes a value for a `<w:t>`: XML special characters, line breaks as
/// `<w:br/>`, tabs as `<w:tab/>`, control characters dropped.
pub fn escape_value(input: &str, out: &mut dyn Write) -> std::io::Result<()> {
    const BREAK: &[u8] = b"</w:t><w:br/><w:t xml:space=\"preserve\">";
    const TAB: &[u8] = b"</w:t><w:tab/><w:t xml:space=\"preserve\">";
    let mut chars = input.chars().peekable();
    let mut buf = [0u8; 4];
    while let Some(c) = chars.next() {
        match c {
            '&' => out.write_all(b"&amp;")?,
            '<' => out.write_all(b"&lt;")?,
            '>' => out.write_all(b"&gt;")?,
            '"' => out.write_all(b"&quot;")?,
            '\'' => out.write_all(b"&apos;")?,
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' | '\u{2028}' | '\u{2029}' => out.write_all(BREAK)?,
            '\t' => out.write_all(TAB)?,
            c if c.is_control() || matches!(c, '\u{fffe}' | '\u{ffff}') => {}
            c => out.write_all(c.encode_utf8(&mut buf).as_bytes())?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut v = Vec::new();
        escape_value(s, &mut v).unwrap();
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn values_are_escaped_for_xml() {
        assert_eq!(escaped("a&b<c>\"'"), "a&amp;b&lt;c&gt;&quot;&apos;");
        assert_eq!(
            escaped("x\r\ny\u{1}"),
            "x</w:t><w:br/><w:t xml:space=\"preserve\">y"
        );
    }

    #[test]
    fn block_keywords() {
        assert_eq!(keyword("{%- for h in hosts -%}"), Some("for"));
        assert_eq!(keyword("{% endif %}"), Some("endif"));
    }
}
