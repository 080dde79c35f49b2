//! A rule file's errors: file, line, column, field and what was expected.

use std::fmt;
use std::ops::Range;

use crate::tomlfile::{self, TomlErrorKind, TomlProblem};

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

/// The rule file being loaded: [`tomlfile::Source`]'s positions and key paths, with errors as [`RulesError`].
pub(crate) struct Source<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
}

impl Source<'_> {
    fn toml(&self) -> tomlfile::Source<'_> {
        tomlfile::Source { file: self.file, text: self.text }
    }

    pub(crate) fn line(&self, span: &Range<usize>) -> u32 {
        self.toml().line(span)
    }

    pub(crate) fn error(
        &self,
        span: &Range<usize>,
        field: impl Into<String>,
        kind: ErrorKind,
        problem: impl Into<String>,
    ) -> RulesError {
        let (line, column) = self.toml().position(span.start);
        RulesError { file: self.file.to_owned(), line, column, field: field.into(), kind, problem: problem.into() }
    }

    /// A TOML or serde error, with the key path found from its span.
    pub(crate) fn toml_error(&self, error: &toml::de::Error) -> RulesError {
        let TomlProblem { line, column, field, kind, message } = self.toml().toml_error(error);
        let kind = match kind {
            TomlErrorKind::Syntax => ErrorKind::Syntax,
            TomlErrorKind::UnknownField => ErrorKind::UnknownField,
            TomlErrorKind::MissingField => ErrorKind::MissingField,
            TomlErrorKind::WrongType => ErrorKind::WrongType,
            TomlErrorKind::InvalidValue => ErrorKind::InvalidValue,
        };
        RulesError { file: self.file.to_owned(), line, column, field, kind, problem: message }
    }
}
