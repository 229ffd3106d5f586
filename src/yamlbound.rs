//! Rule and configuration files are bounded before the YAML reader sees
//! them: a size limit and a nesting-depth limit, judged by a linear scan,
//! so that a huge or deeply nested file is refused at once, with its line,
//! instead of tying the reader up for tens of seconds.

/// Largest YAML file read (the shipped rule files are under 40 KB).
pub const MAX_BYTES: usize = 1024 * 1024;
/// Deepest nesting allowed (the shipped rule files use under 8 levels).
pub const MAX_DEPTH: usize = 64;

/// Why `text` is refused, and on which line (1-based), if it is.
pub fn check(text: &str) -> Option<(Option<usize>, String)> {
    if text.len() > MAX_BYTES {
        return Some((
            None,
            format!(
                "文件过大({} KB,上限 {} KB);规则文件不应这么大,请检查是否误放了其他内容",
                text.len() / 1024,
                MAX_BYTES / 1024
            ),
        ));
    }
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    for (i, line) in text.lines().enumerate() {
        let body = line.trim_start_matches(' ');
        if flow == 0 && (body.is_empty() || body.starts_with('#')) {
            continue;
        }
        if flow == 0 {
            let indent = line.len() - body.len();
            while indents.last().is_some_and(|&top| top >= indent) {
                indents.pop();
            }
            indents.push(indent);
        }
        let dashes = leading_dashes(body);
        let deepest = flow + flow_depth(body, &mut flow);
        if indents.len() + dashes + deepest > MAX_DEPTH {
            return Some((
                Some(i + 1),
                format!("嵌套层数超过 {MAX_DEPTH} 层;规则文件不需要这么深的嵌套,请检查缩进和括号"),
            ));
        }
    }
    None
}

/// Compact sequence items opened on one line: `- - - x` is three.
fn leading_dashes(body: &str) -> usize {
    let mut n = 0;
    let mut rest = body;
    while let Some(r) = rest
        .strip_prefix("- ")
        .or_else(|| (rest == "-").then_some(""))
    {
        n += 1;
        rest = r.trim_start_matches(' ');
    }
    n
}

/// Updates the open `[`/`{` count over one line (quotes and comments
/// skipped); returns how much deeper than at its start the line went.
fn flow_depth(body: &str, flow: &mut usize) -> usize {
    let start = *flow;
    let mut deepest = 0;
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for c in body.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '#' if prev == ' ' => break,
                '[' | '{' => {
                    *flow += 1;
                    deepest = deepest.max(flow.saturating_sub(start));
                }
                ']' | '}' => *flow = flow.saturating_sub(1),
                _ => {}
            },
        }
        prev = c;
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_files_pass() {
        let text = "a:\n  b: [1, {c: 2}]\n  d:\n    - e: 1\n    - - f\n# [[[[\nx: '[[['\n";
        assert_eq!(check(text), None);
    }

    #[test]
    fn deep_block_nesting_is_refused_with_its_line() {
        let text: String = (0..100)
            .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
            .collect();
        let (line, message) = check(&text).unwrap();
        assert_eq!(line, Some(MAX_DEPTH + 1));
        assert!(message.contains("嵌套层数"), "{message}");
    }

    #[test]
    fn deep_flow_nesting_is_refused() {
        let text = format!("a: {}{}\n", "[".repeat(70), "]".repeat(70));
        assert_eq!(check(&text).unwrap().0, Some(1));
        let dashes = format!("{}x\n", "- ".repeat(70));
        assert_eq!(check(&dashes).unwrap().0, Some(1));
    }

    #[test]
    fn size_is_bounded() {
        let text = "# x\n".repeat(MAX_BYTES / 4 + 1);
        assert_eq!(check(&text).unwrap().0, None);
    }
}
