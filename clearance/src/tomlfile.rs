//! Where in a hand-written TOML file something is wrong: byte offsets turned into line and column, and a TOML or
//! serde error turned into the key path it is about (`visa.exempt[1].days`) and what kind of mistake it is. Every
//! TOML file a person writes for khil (rule files, scenario files) reports its errors through this module, each
//! with its own error type on top.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The field named when an error is about the file as a whole.
pub const DOCUMENT: &str = "(document)";

/// The text being loaded, to turn byte offsets into lines and errors.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The file's name, as errors show it.
    pub file: &'a str,
    pub text: &'a str,
}

/// What kind of mistake a TOML or serde error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TomlErrorKind {
    /// Not TOML.
    Syntax,
    UnknownField,
    MissingField,
    /// A value of the wrong TOML type (a string where a number belongs).
    WrongType,
    /// A value of the right type that is not one the field allows.
    InvalidValue,
}

/// A TOML or serde error, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TomlProblem {
    /// 1-based line and column (in characters).
    pub line: u32,
    pub column: u32,
    /// The key path (`visa.exempt[1].days`), [`DOCUMENT`] for the file as a whole.
    pub field: String,
    pub kind: TomlErrorKind,
    /// What is wrong and what was expected, in TOML's words.
    pub message: String,
}

impl Source<'_> {
    /// 1-based line and column of a byte offset.
    pub fn position(&self, offset: usize) -> (u32, u32) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (u32::try_from(line).unwrap_or(u32::MAX), u32::try_from(column).unwrap_or(u32::MAX))
    }

    /// The 1-based line a span starts on.
    pub fn line(&self, span: &Range<usize>) -> u32 {
        self.position(span.start).0
    }

    /// A TOML or serde error, with the key path found from its span.
    pub fn toml_error(&self, error: &toml::de::Error) -> TomlProblem {
        // serde names Rust types; a file's author knows TOML's.
        let message = error.message().trim().replace("expected i64", "expected an integer");
        let span = error.span().unwrap_or(0..0);
        let (line, column) = self.position(span.start);
        let Ok(document) = DeTable::parse(self.text) else {
            return TomlProblem {
                line,
                column,
                field: DOCUMENT.to_owned(),
                kind: TomlErrorKind::Syntax,
                message: format!("not TOML: {message}"),
            };
        };
        let mut path = Vec::new();
        find_path(document.get_ref(), span.start, &mut path);
        let (kind, named) = classify(&message);
        // A missing field's error spans the table it is missing from; the field is the one named.
        if let Some(name) = named.filter(|_| kind == TomlErrorKind::MissingField) {
            path.push(name);
        }
        let field = if path.is_empty() { DOCUMENT.to_owned() } else { join(&path) };
        TomlProblem { line, column, field, kind, message }
    }
}

fn classify(message: &str) -> (TomlErrorKind, Option<String>) {
    let named = message.split('`').nth(1).map(str::to_owned);
    let kind = if message.starts_with("unknown field") {
        TomlErrorKind::UnknownField
    } else if message.starts_with("missing field") {
        TomlErrorKind::MissingField
    } else if message.starts_with("invalid type") {
        TomlErrorKind::WrongType
    } else {
        TomlErrorKind::InvalidValue
    };
    (kind, named)
}

/// A key path as written in messages: `a.b[2].c`.
pub fn join(path: &[String]) -> String {
    let mut out = String::new();
    for part in path {
        if !part.starts_with('[') && !out.is_empty() {
            out.push('.');
        }
        out.push_str(part);
    }
    out
}

/// The key path to the deepest key or value containing `offset`.
fn find_path(table: &DeTable<'_>, offset: usize, path: &mut Vec<String>) -> bool {
    for (key, value) in table {
        if contains(&key.span(), offset) {
            path.push(key.get_ref().to_string());
            return true;
        }
        path.push(key.get_ref().to_string());
        if descend(value, offset, path) {
            return true;
        }
        path.pop();
    }
    false
}

fn descend(value: &Spanned<DeValue<'_>>, offset: usize, path: &mut Vec<String>) -> bool {
    let inside = contains(&value.span(), offset);
    match value.get_ref() {
        DeValue::Table(table) => find_path(table, offset, path) || inside,
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(format!("[{i}]"));
                if descend(item, offset, path) {
                    return true;
                }
                path.pop();
            }
            inside
        }
        _ => inside,
    }
}

fn contains(span: &Range<usize>, offset: usize) -> bool {
    span.start <= offset && offset < span.end.max(span.start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        a: Inner,
    }

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        list: Vec<Item>,
    }

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        n: i64,
    }

    fn problem(text: &str) -> TomlProblem {
        let error = toml::from_str::<Doc>(text).err().expect("an error");
        Source { file: "t.toml", text }.toml_error(&error)
    }

    #[test]
    fn errors_name_the_key_path_line_and_column() {
        let p = problem("[a]\nlist = [{ n = 1 }, { n = \"x\" }]\n");
        assert_eq!((p.line, p.field.as_str(), p.kind), (2, "a.list[1].n", TomlErrorKind::WrongType), "{p:?}");
        assert_eq!(p.column, 26, "{p:?}");
        let p = problem("[a]\nlist = [{ m = 1 }]\n");
        assert_eq!((p.field.as_str(), p.kind), ("a.list[0].m", TomlErrorKind::UnknownField), "{p:?}");
        let p = problem("[a]\nlist = [{}]\n");
        assert_eq!((p.field.as_str(), p.kind), ("a.list[0].n", TomlErrorKind::MissingField), "{p:?}");
        let p = problem("[a\n");
        assert_eq!((p.field.as_str(), p.kind, p.line), (DOCUMENT, TomlErrorKind::Syntax, 1), "{p:?}");
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let source = Source { file: "t", text: "ä = 1\nöö = x" };
        assert_eq!(source.position(source.text.find('x').unwrap()), (2, 6));
        assert_eq!(source.position(1), (1, 1), "inside a character: its start");
        assert_eq!(source.position(1000), (2, 7), "past the end: the end");
    }
}
