//! Files staff edit — rules (`schemas/`) and templates (`templates/`):
//! read from a folder when there is one, else the copies compiled into the
//! binary, so zwyun runs from any directory.

use std::path::{Path, PathBuf};

use regex::Regex;
use serde::de::DeserializeOwned;

/// A configuration file that cannot be used; exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct ConfigError {
    pub file: String,
    pub location: Option<(usize, usize)>,
    pub message: String,
}

impl ConfigError {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.into(),
            location: None,
            message: message.into(),
        }
    }
}

/// Parses YAML, turning a syntax or shape error into file:line:col.
pub fn parse_yaml<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ConfigError> {
    if let Some((line, message)) = crate::yamlbound::check(text) {
        return Err(ConfigError {
            file: file.to_string(),
            location: line.map(|l| (l, 1)),
            message,
        });
    }
    serde_yaml::from_str(text).map_err(|e| ConfigError {
        file: file.to_string(),
        location: e.location().map(|l| (l.line(), l.column())),
        message: format!("格式错误:{}", yaml_message_zh(&e.to_string())),
    })
}

/// serde's and the YAML reader's English messages in Chinese (the place
/// is given separately).
pub fn yaml_message_zh(en: &str) -> String {
    let en = AT_LINE.replace(en, "");
    let rules: [(&Regex, &str); 8] = [
        (&UNKNOWN_VARIANT, "未知的取值“$1”,应为以下之一:$2"),
        (&UNKNOWN_FIELD, "未知的键“$1”,应为以下之一:$2"),
        (&MISSING_FIELD, "缺少键“$1”"),
        (&INVALID_TYPE, "类型不对:实为 $1,应为 $2"),
        (&INVALID_VALUE, "取值不对:实为 $1,应为 $2"),
        (&INVALID_LENGTH, "长度不对:实为 $1,应为 $2"),
        (&DUPLICATE_FIELD, "键“$1”重复出现"),
        (&INPUT_CONTAINS, "日期或取值无效:$1"),
    ];
    for (re, zh) in rules {
        if re.is_match(&en) {
            let zh_text = re.replace(&en, zh).replace('`', "");
            // Only the shape messages name serde's types; key lists stay as written.
            let shape = ["类型不对", "取值不对", "长度不对"]
                .iter()
                .any(|p| zh.starts_with(p));
            return if shape {
                type_words_zh(&zh_text)
            } else {
                zh_text
            };
        }
    }
    syntax_message_zh(&en)
}

/// serde's names of YAML shapes and Rust types, as the clerk knows them.
fn type_words_zh(text: &str) -> String {
    let text = STRUCT_NAME.replace_all(text, "键值表");
    let words: [(&str, &str); 12] = [
        ("a sequence", "列表"),
        ("sequence", "列表"),
        ("a map", "键值表"),
        ("map", "键值表"),
        ("a string", "文本"),
        ("string", "文本"),
        ("a boolean", "true/false"),
        ("boolean", "true/false"),
        ("unit value", "空值"),
        ("integer", "整数"),
        ("floating point", "小数"),
        ("a date", "日期"),
    ];
    words
        .iter()
        .fold(text.into_owned(), |t, (en, zh)| t.replace(en, zh))
}

/// The YAML reader's syntax errors: what to look for at that place.
fn syntax_message_zh(en: &str) -> String {
    let rules: [(&str, &str); 7] = [
        (
            "unexpected end of stream",
            "文件意外结束:括号或引号没有闭合",
        ),
        (
            "mapping values are not allowed",
            "此处不能再写“键: 值”:可能缺少引号、缩进不对或冒号后少了空格",
        ),
        (
            "did not find expected",
            "此处缺少应有的内容:请检查括号、引号、逗号和缩进",
        ),
        (
            "cannot start any token",
            "此处的字符不能作为取值的开头(如 Tab、@、`):请给取值加上引号",
        ),
        ("duplicate key", "键重复出现"),
        (
            "found unknown escape character",
            "引号中的转义字符无效:请改用单引号",
        ),
        ("tab", "缩进中不能使用 Tab,请改用空格"),
    ];
    rules
        .iter()
        .find(|(key, _)| en.contains(key))
        .map(|(_, zh)| zh.to_string())
        .unwrap_or_else(|| "YAML 格式有误:请检查此处的括号、引号、冒号和缩进".to_string())
}

macro_rules! regex {
    ($name:ident, $re:expr) => {
        static $name: std::sync::LazyLock<Regex> =
            std::sync::LazyLock::new(|| Regex::new($re).expect("valid regex"));
    };
}
regex!(AT_LINE, r" at line \d+ column \d+$");
regex!(STRUCT_NAME, r"(?:struct|enum) [A-Za-z]+");
regex!(
    UNKNOWN_VARIANT,
    r"^(?:[^:]*: )?unknown variant `([^`]*)`, expected (?:one of )?(.*)$"
);
regex!(
    UNKNOWN_FIELD,
    r"^(?:[^:]*: )?unknown field `([^`]*)`, expected (?:one of )?(.*)$"
);
regex!(MISSING_FIELD, r"^(?:[^:]*: )?missing field `([^`]*)`$");
regex!(
    INVALID_TYPE,
    r"^(?:[^:]*: )?invalid type: (.*), expected (.*)$"
);
regex!(
    INVALID_VALUE,
    r"^(?:[^:]*: )?invalid value: (.*), expected (.*)$"
);
regex!(
    INVALID_LENGTH,
    r"^(?:[^:]*: )?invalid length (.*), expected (.*)$"
);
regex!(DUPLICATE_FIELD, r"^(?:[^:]*: )?duplicate field `([^`]*)`$");
regex!(
    INPUT_CONTAINS,
    r"^(?:[^:]*: )?(input contains invalid characters|premature end of input|input is out of range|input is not enough for unique date and time|trailing input)$"
);

/// A file name and its built-in content.
pub type Embedded = &'static [(&'static str, &'static [u8])];

/// The rule files, as shipped.
pub const SCHEMAS: Embedded = &[
    ("annex1.yaml", include_bytes!("../schemas/annex1.yaml")),
    ("annex4.yaml", include_bytes!("../schemas/annex4.yaml")),
    ("hosts.yaml", include_bytes!("../schemas/hosts.yaml")),
    (
        "catalogue.yaml",
        include_bytes!("../schemas/catalogue.yaml"),
    ),
    ("policy.yaml", include_bytes!("../schemas/policy.yaml")),
    ("calendar.yaml", include_bytes!("../schemas/calendar.yaml")),
    ("prices.yaml", include_bytes!("../schemas/prices.yaml")),
];

/// The document templates and parties, as shipped.
pub const TEMPLATES: Embedded = &[
    (
        "test-agreement.docx",
        include_bytes!("../templates/test-agreement.docx"),
    ),
    (
        "formal-agreement.docx",
        include_bytes!("../templates/formal-agreement.docx"),
    ),
    ("parties.yaml", include_bytes!("../templates/parties.yaml")),
];

pub struct Folder {
    dir: Option<PathBuf>,
    name: &'static str,
    embedded: Embedded,
}

impl Folder {
    /// `given` when set, else `./<name>` when it exists, else built-in.
    /// A file missing from the folder falls back to its built-in copy
    /// (and is named so in messages).
    pub fn new(given: Option<&Path>, name: &'static str, embedded: Embedded) -> Folder {
        let dir = given
            .map(Path::to_path_buf)
            .or_else(|| Some(PathBuf::from(name)).filter(|d| d.is_dir()));
        Folder {
            dir,
            name,
            embedded,
        }
    }

    pub fn schemas(given: Option<&Path>) -> Folder {
        Folder::new(given, "schemas", SCHEMAS)
    }

    pub fn templates(given: Option<&Path>) -> Folder {
        Folder::new(given, "templates", TEMPLATES)
    }

    fn on_disk(&self, file: &str) -> Option<PathBuf> {
        self.dir
            .as_ref()
            .map(|d| d.join(file))
            .filter(|p| p.is_file())
    }

    /// How messages name the file: its path, or `<folder>/<file>(内置)`.
    pub fn label(&self, file: &str) -> String {
        match self.on_disk(file) {
            Some(p) => p.display().to_string(),
            None => format!("{}/{file}(内置)", self.name),
        }
    }

    pub fn bytes(&self, file: &str) -> Result<Vec<u8>, ConfigError> {
        if let Some(path) = self.on_disk(file) {
            return std::fs::read(&path).map_err(|e| {
                ConfigError::new(
                    path.display().to_string(),
                    format!("无法读取:{}", crate::oserror::reason(&e)),
                )
            });
        }
        self.embedded
            .iter()
            .find(|(n, _)| *n == file)
            .map(|(_, b)| b.to_vec())
            .ok_or_else(|| ConfigError::new(self.label(file), "文件不存在"))
    }

    pub fn text(&self, file: &str) -> Result<String, ConfigError> {
        String::from_utf8(self.bytes(file)?)
            .map_err(|_| ConfigError::new(self.label(file), "不是 UTF-8 编码的文本"))
    }

    /// Parses a YAML file; errors carry file:line:col.
    pub fn yaml<T: DeserializeOwned>(&self, file: &str) -> Result<T, ConfigError> {
        parse_yaml(&self.label(file), &self.text(file)?)
    }
}
