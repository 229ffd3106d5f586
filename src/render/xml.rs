//! One WordprocessingML part → one Tera template source: tags split across
//! runs are merged, `{%tr %}` / `{%p %}` replace their row / paragraph, and
//! a source map ties every byte of the source back to a paragraph.

use std::ops::Range;

use quick_xml::events::Event;
use quick_xml::Reader;

/// A piece of the part, in document order.
#[derive(Debug)]
enum Node {
    /// Verbatim XML.
    Raw(String),
    /// The unescaped content of a `<w:t>`, belonging to paragraph `para`.
    Text {
        para: usize,
        text: String,
    },
    ParaStart(usize, String),
    ParaEnd(usize, String),
    RowStart(usize, String),
    RowEnd(usize, String),
}

/// A paragraph: its text after merging, and the table row it sits in.
#[derive(Debug, Default)]
struct Para {
    text: String,
    row: Option<usize>,
}

/// Where a place in the document is, for error messages.
#[derive(Debug, Clone)]
pub struct Place {
    pub range: Range<usize>,
    pub label: String,
}

/// The Tera source of a part and the places of its paragraphs and rows.
#[derive(Debug)]
pub struct Converted {
    pub source: String,
    pub places: Vec<Place>,
    /// Every tag of the part, with the label of its place (for balance checks).
    pub tags: Vec<(String, String)>,
    pub has_tags: bool,
}

/// A problem found while converting, with the place it is in.
#[derive(Debug)]
pub struct ConvertError {
    pub place: String,
    pub message: String,
}

pub fn convert(xml: &str) -> Result<Converted, ConvertError> {
    let (mut nodes, mut paras, rows) = tokenize(xml).map_err(|message| ConvertError {
        place: "文档结构".into(),
        message,
    })?;
    merge_split_tags(&mut nodes, &mut paras)?;
    Ok(Emitter::new(&paras, rows).emit(&nodes))
}

fn is_w(name: &str, tag: &str) -> bool {
    name.strip_prefix("w:") == Some(tag)
}

/// Splits the part into raw XML, text nodes and paragraph / row bounds.
fn tokenize(xml: &str) -> Result<(Vec<Node>, Vec<Para>, usize), String> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut nodes = Vec::new();
    let mut paras: Vec<Para> = Vec::new();
    let (mut para_stack, mut row_stack) = (Vec::new(), Vec::new());
    let mut rows = 0;
    let mut text_start: Option<usize> = None;
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| format!("XML 无法解析:{e}"))?;
        let after = reader.buffer_position() as usize;
        let raw = &xml[before..after];
        match event {
            Event::Eof => break,
            Event::Start(e) if is_w(e.name().as_ref(), "t") => {
                push_raw(&mut nodes, raw);
                text_start = Some(after);
            }
            Event::End(e) if is_w(e.name().as_ref(), "t") => {
                let start = text_start.take().unwrap_or(before);
                let text = quick_xml::escape::unescape(&xml[start..before])
                    .map_err(|e| format!("文本无法解析:{e}"))?;
                let para = para_stack.last().copied().unwrap_or(usize::MAX);
                nodes.push(Node::Text {
                    para,
                    text: text.into_owned(),
                });
                push_raw(&mut nodes, raw);
            }
            _ if text_start.is_some() => {}
            Event::Start(e) if is_w(e.name().as_ref(), "p") => {
                let id = paras.len();
                paras.push(Para {
                    row: row_stack.last().copied(),
                    ..Para::default()
                });
                para_stack.push(id);
                nodes.push(Node::ParaStart(id, raw.to_string()));
            }
            Event::End(e) if is_w(e.name().as_ref(), "p") => {
                let id = para_stack.pop().unwrap_or(usize::MAX);
                nodes.push(Node::ParaEnd(id, raw.to_string()));
            }
            Event::Start(e) if is_w(e.name().as_ref(), "tr") => {
                row_stack.push(rows);
                nodes.push(Node::RowStart(rows, raw.to_string()));
                rows += 1;
            }
            Event::End(e) if is_w(e.name().as_ref(), "tr") => {
                let id = row_stack.pop().unwrap_or(usize::MAX);
                nodes.push(Node::RowEnd(id, raw.to_string()));
            }
            _ => push_raw(&mut nodes, raw),
        }
    }
    Ok((nodes, paras, rows))
}

fn push_raw(nodes: &mut Vec<Node>, raw: &str) {
    if let Some(Node::Raw(s)) = nodes.last_mut() {
        s.push_str(raw);
    } else {
        nodes.push(Node::Raw(raw.to_string()));
    }
}

/// The byte ranges of the tags (`{{ }}`, `{% %}`, `{# #}`) in `text`; an
/// opener without its closer is an error.
pub fn find_tags(text: &str) -> Result<Vec<Range<usize>>, String> {
    let mut tags = Vec::new();
    let mut at = 0;
    while let Some(off) = text[at..].find('{') {
        let start = at + off;
        let closer = match text.as_bytes().get(start + 1) {
            Some(b'{') => "}}",
            Some(b'%') => "%}",
            Some(b'#') => "#}",
            _ => {
                at = start + 1;
                continue;
            }
        };
        let Some(len) = text[start + 2..].find(closer) else {
            let shown: String = text[start..].chars().take(30).collect();
            return Err(format!("标签“{shown}”没有结束符 {closer}"));
        };
        let end = start + 2 + len + 2;
        tags.push(start..end);
        at = end;
    }
    Ok(tags)
}

/// Moves every tag wholly into the text node where it starts, so that a
/// tag Word split across runs (spell-check, edits) reads as one.
fn merge_split_tags(nodes: &mut [Node], paras: &mut [Para]) -> Result<(), ConvertError> {
    let mut by_para: Vec<Vec<usize>> = vec![Vec::new(); paras.len()];
    for (i, n) in nodes.iter().enumerate() {
        if let Node::Text { para, .. } = n {
            if let Some(list) = by_para.get_mut(*para) {
                list.push(i);
            }
        }
    }
    for (p, idx) in by_para.iter().enumerate() {
        let texts: Vec<&str> = idx.iter().map(|&i| node_text(&nodes[i])).collect();
        let joined = texts.concat();
        let tags = find_tags(&joined).map_err(|message| ConvertError {
            place: para_label(&joined),
            message,
        })?;
        let merged = redistribute(&texts, &tags);
        for (&i, text) in idx.iter().zip(merged) {
            if let Node::Text { text: t, .. } = &mut nodes[i] {
                *t = normalise_tags(&text);
            }
        }
        paras[p].text = joined;
    }
    Ok(())
}

fn node_text(n: &Node) -> &str {
    match n {
        Node::Text { text, .. } => text,
        _ => "",
    }
}

/// Reassigns each byte to the node owning it: a tag's bytes belong to the
/// node where the tag starts.
fn redistribute(texts: &[&str], tags: &[Range<usize>]) -> Vec<String> {
    let mut out = vec![String::new(); texts.len()];
    let mut owner_of_byte = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        owner_of_byte.extend(std::iter::repeat_n(i, t.len()));
    }
    for tag in tags {
        let owner = owner_of_byte[tag.start];
        owner_of_byte[tag.clone()].fill(owner);
    }
    let joined = texts.concat();
    let mut start = 0;
    while start < joined.len() {
        let owner = owner_of_byte[start];
        let mut end = start;
        while end < joined.len() && owner_of_byte[end] == owner {
            end += 1;
        }
        out[owner].push_str(&joined[start..end]);
        start = end;
    }
    out
}

/// Word's typographic quotes inside tags become plain ones.
fn normalise_tags(text: &str) -> String {
    let Ok(tags) = find_tags(text) else {
        return text.to_string();
    };
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for tag in tags {
        out.push_str(&text[at..tag.start]);
        for c in text[tag.clone()].chars() {
            out.push(match c {
                '“' | '”' | '„' => '"',
                '‘' | '’' => '\'',
                '\u{a0}' => ' ',
                c => c,
            });
        }
        at = tag.end;
    }
    out.push_str(&text[at..]);
    out
}

/// A short, readable label for a paragraph.
pub fn para_label(text: &str) -> String {
    let text = text.trim();
    let short: String = text.chars().take(40).collect();
    let more = if text.chars().count() > 40 { "…" } else { "" };
    format!("段落“{short}{more}”")
}

fn row_label(text: &str) -> String {
    let short: String = text.trim().chars().take(40).collect();
    format!("表格行“{short}”")
}

/// The structural tag a paragraph carries, with the Tera tag it becomes.
fn structural(text: &str, marker: &str) -> Vec<String> {
    let Ok(tags) = find_tags(text) else {
        return Vec::new();
    };
    tags.into_iter()
        .filter_map(|r| {
            let inner = text[r].strip_prefix("{%")?.strip_suffix("%}")?;
            let inner = inner.strip_prefix('-').unwrap_or(inner);
            let rest = inner.strip_prefix(marker)?;
            rest.starts_with(char::is_whitespace)
                .then(|| format!("{{%{rest}%}}"))
        })
        .collect()
}

struct Emitter<'a> {
    paras: &'a [Para],
    para_repl: Vec<Vec<String>>,
    row_repl: Vec<Vec<String>>,
    row_text: Vec<String>,
    out: Converted,
}

impl<'a> Emitter<'a> {
    fn new(paras: &'a [Para], rows: usize) -> Self {
        let mut row_repl = vec![Vec::new(); rows];
        let mut row_text = vec![String::new(); rows];
        let mut para_repl = Vec::with_capacity(paras.len());
        for p in paras {
            let norm = normalise_tags(&p.text);
            if let Some(r) = p.row.filter(|&r| r < rows) {
                row_repl[r].extend(structural(&norm, "tr"));
                row_text[r].push_str(p.text.trim());
                row_text[r].push(' ');
            }
            para_repl.push(structural(&norm, "p"));
        }
        Emitter {
            paras,
            para_repl,
            row_repl,
            row_text,
            out: Converted {
                source: String::with_capacity(64 * 1024),
                places: Vec::new(),
                tags: Vec::new(),
                has_tags: false,
            },
        }
    }

    fn emit(mut self, nodes: &[Node]) -> Converted {
        let mut skip_until: Option<&Node> = None;
        let mut open: Vec<(usize, String)> = Vec::new();
        for node in nodes {
            if let Some(end) = skip_until {
                if same_end(node, end) {
                    skip_until = None;
                }
                continue;
            }
            match node {
                Node::RowStart(r, _) if !self.row_repl[*r].is_empty() => {
                    let label = row_label(&self.row_text[*r]);
                    self.structural_tags(&self.row_repl[*r].clone(), &label);
                    skip_until = Some(node);
                }
                Node::ParaStart(p, _) if !self.para_repl[*p].is_empty() => {
                    let label = para_label(&self.paras[*p].text);
                    self.structural_tags(&self.para_repl[*p].clone(), &label);
                    skip_until = Some(node);
                }
                Node::ParaStart(p, raw) => {
                    open.push((self.out.source.len(), para_label(&self.paras[*p].text)));
                    self.raw(raw);
                }
                Node::ParaEnd(_, raw) => {
                    self.raw(raw);
                    if let Some((start, label)) = open.pop() {
                        self.place(start, label);
                    }
                }
                Node::RowStart(_, raw) | Node::RowEnd(_, raw) | Node::Raw(raw) => self.raw(raw),
                Node::Text { para, text } => self.text(*para, text),
            }
        }
        self.out
    }

    fn place(&mut self, start: usize, label: String) {
        let range = start..self.out.source.len();
        self.out.places.push(Place { range, label });
    }

    fn structural_tags(&mut self, tags: &[String], label: &str) {
        let start = self.out.source.len();
        for t in tags {
            self.out.source.push_str(t);
            self.out.tags.push((t.clone(), label.to_string()));
        }
        self.out.has_tags = true;
        self.place(start, label.to_string());
    }

    /// Verbatim XML; guarded when it happens to contain Tera delimiters.
    fn raw(&mut self, raw: &str) {
        if ["{{", "{%", "{#"].iter().any(|d| raw.contains(d)) {
            self.out.source.push_str("{% raw %}");
            self.out.source.push_str(raw);
            self.out.source.push_str("{% endraw %}");
        } else {
            self.out.source.push_str(raw);
        }
    }

    fn text(&mut self, para: usize, text: &str) {
        let Ok(tags) = find_tags(text) else {
            self.out.source.push_str(&escape_xml(text));
            return;
        };
        let label = self
            .paras
            .get(para)
            .map(|p| para_label(&p.text))
            .unwrap_or_default();
        let mut at = 0;
        for tag in tags {
            self.out.source.push_str(&escape_xml(&text[at..tag.start]));
            self.out.source.push_str(&text[tag.clone()]);
            self.out
                .tags
                .push((text[tag.clone()].to_string(), label.clone()));
            self.out.has_tags = true;
            at = tag.end;
        }
        self.out.source.push_str(&escape_xml(&text[at..]));
    }
}

fn same_end(node: &Node, start: &Node) -> bool {
    match (node, start) {
        (Node::RowEnd(a, _), Node::RowStart(b, _)) => a == b,
        (Node::ParaEnd(a, _), Node::ParaStart(b, _)) => a == b,
        _ => false,
    }
}

/// Escapes text for an XML text node.
pub fn escape_xml(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPLIT: &str = r#"<w:document xmlns:w="x"><w:body><w:p><w:r><w:t>甲方:{{ unit</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>.name }}</w:t></w:r><w:r><w:t xml:space="preserve"> &amp; 乙方</w:t></w:r></w:p></w:body></w:document>"#;

    #[test]
    fn split_tag_is_merged_into_first_run() {
        let c = convert(SPLIT).unwrap();
        assert!(
            c.source.contains("<w:t>甲方:{{ unit.name }}</w:t>"),
            "{}",
            c.source
        );
        assert!(c.source.contains("<w:t></w:t>"));
        assert!(c.source.contains(" &amp; 乙方"));
    }

    #[test]
    fn row_and_paragraph_tags_replace_their_element() {
        let xml = r#"<w:tbl><w:tr><w:tc><w:p><w:r><w:t>{%tr for h in hosts %}</w:t></w:r></w:p></w:tc></w:tr><w:tr><w:tc><w:p><w:r><w:t>{{ h.cpu }}</w:t></w:r></w:p></w:tc></w:tr><w:tr><w:tc><w:p><w:r><w:t>{%tr endfor %}</w:t></w:r></w:p></w:tc></w:tr></w:tbl><w:p><w:r><w:t>{%p if x %}</w:t></w:r></w:p>"#;
        let c = convert(xml).unwrap();
        assert_eq!(
            c.source,
            "<w:tbl>{% for h in hosts %}<w:tr><w:tc><w:p><w:r><w:t>{{ h.cpu }}</w:t></w:r></w:p></w:tc></w:tr>{% endfor %}</w:tbl>{% if x %}"
        );
    }

    #[test]
    fn unclosed_tag_names_its_paragraph() {
        let xml = r#"<w:p><w:r><w:t>甲方:{{ unit.name</w:t></w:r></w:p>"#;
        let e = convert(xml).unwrap_err();
        assert!(e.place.contains("甲方:{{ unit.name"), "{e:?}");
    }
}
