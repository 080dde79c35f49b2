//! A rule file's errors: file, line, column, field and what was expected.

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// What is wrong with a rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read.
    Unreadable,
    /// Not TOML.
    Syntax,
    UnknownField,
    MissingField,
    /// A value of the wrong TOML type (a string where a number belongs).
    WrongType,
    /// A value of the right type that is not one the field allows.
    InvalidValue,
    /// A count (days, months, attempts, money) below zero.
    Negative,
    UnknownNationality,
    /// A nationality in two visa lists (or twice in one).
    DuplicateNationality,
}

/// A rule file refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RulesError {
    pub file: String,
    /// 1-based; 0 when the file could not be read.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    /// The key path (`visa.exempt[1].days`); `(document)` for the file as a whole.
    pub field: String,
    pub kind: ErrorKind,
    /// What is wrong and what was expected.
    pub problem: String,
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.problem)
        } else {
            write!(f, "{}:{}:{}: `{}`: {}", self.file, self.line, self.column, self.field, self.problem)
        }
    }
}

/// The text being loaded, to turn byte offsets into lines and errors.
pub(crate) struct Source<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
}

impl Source<'_> {
    /// 1-based line and column of a byte offset.
    pub(crate) fn position(&self, offset: usize) -> (u32, u32) {
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

    pub(crate) fn line(&self, span: &Range<usize>) -> u32 {
        self.position(span.start).0
    }

    pub(crate) fn error(
        &self,
        span: &Range<usize>,
        field: impl Into<String>,
        kind: ErrorKind,
        problem: impl Into<String>,
    ) -> RulesError {
        let (line, column) = self.position(span.start);
        RulesError { file: self.file.to_owned(), line, column, field: field.into(), kind, problem: problem.into() }
    }

    /// A TOML or serde error, with the key path found from its span.
    pub(crate) fn toml_error(&self, error: &toml::de::Error) -> RulesError {
        // serde names Rust types; a rule file's author knows TOML's.
        let message = error.message().trim().replace("expected i64", "expected an integer");
        let span = error.span().unwrap_or(0..0);
        let Ok(document) = DeTable::parse(self.text) else {
            return self.error(&span, "(document)", ErrorKind::Syntax, format!("not TOML: {message}"));
        };
        let mut path = Vec::new();
        find_path(document.get_ref(), span.start, &mut path);
        let (kind, named) = classify(&message);
        // A missing field's error spans the table it is missing from; the field is the one named.
        if let Some(name) = named.filter(|_| kind == ErrorKind::MissingField) {
            path.push(name);
        }
        let field = if path.is_empty() { "(document)".to_owned() } else { join(&path) };
        self.error(&span, field, kind, message)
    }
}

fn classify(message: &str) -> (ErrorKind, Option<String>) {
    let named = message.split('`').nth(1).map(str::to_owned);
    let kind = if message.starts_with("unknown field") {
        ErrorKind::UnknownField
    } else if message.starts_with("missing field") {
        ErrorKind::MissingField
    } else if message.starts_with("invalid type") {
        ErrorKind::WrongType
    } else {
        ErrorKind::InvalidValue
    };
    (kind, named)
}

fn join(path: &[String]) -> String {
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
