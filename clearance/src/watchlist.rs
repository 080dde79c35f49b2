//! Watchlists as the centre publishes them and a border point searches them: a TOML file of entries, each an id,
//! a hit class and a finger template (an ISO/IEC 19794-2:2005 record in hex: the interchange format border
//! systems exchange minutiae in), refused whole with file, line, column and field when anything in it is wrong;
//! and [`WatchlistInForce`], the list a point's gates search, replaced while they search.
//!
//! ```toml
//! version = "zamiin-uud-2026-12-07-2"
//! [[entry]]
//! id = "wanted-17"
//! class = "wanted"                # wanted, trafficking-suspect or lost-stolen-document
//! template = "464d520020323000..." # ISO/IEC 19794-2:2005 finger minutiae record, hex
//! ```
//!
//! The file holds templates, never images; [`std::fmt::Debug`] of its types shows ids and counts only.

use std::sync::{Arc, PoisonError, RwLock};

use khil_biometrics::matcher::MatchTemplate;
use khil_biometrics::minutia::Minutiae;
use khil_biometrics::template::{iso_from_minutiae, minutiae_from_iso};
use serde::Deserialize;
use toml::Spanned;

use crate::flow::{BruteForceWatchlist, Watchlist, WatchlistHit};
use crate::records::canon::{hex, unhex};
use crate::tomlfile::{Source, TomlErrorKind};

/// The hit classes a list entry may have (the rules' watchlist classes).
pub const CLASSES: [&str; 3] = ["wanted", "trafficking-suspect", "lost-stolen-document"];

/// A watchlist file, validated.
#[derive(Clone, PartialEq)]
pub struct WatchlistFile {
    pub version: String,
    pub entries: Vec<WatchlistEntry>,
}

/// One listed person's finger.
#[derive(Clone, PartialEq)]
pub struct WatchlistEntry {
    pub id: String,
    pub class: String,
    pub template: Minutiae,
}

impl std::fmt::Debug for WatchlistFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WatchlistFile({}, {} entries)", self.version, self.entries.len())
    }
}

impl std::fmt::Debug for WatchlistEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WatchlistEntry({}, {}, {} minutiae)", self.id, self.class, self.template.points.len())
    }
}

/// A watchlist file refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: `{field}`: {problem}")]
pub struct WatchlistError {
    pub file: String,
    pub line: u32,
    pub column: u32,
    /// The key path (`entry[3].template`); `(document)` for the file as a whole.
    pub field: String,
    pub problem: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    version: Spanned<String>,
    #[serde(default)]
    entry: Vec<RawEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: Spanned<String>,
    class: Spanned<String>,
    template: Spanned<String>,
}

impl WatchlistFile {
    /// Validates a watchlist file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<WatchlistFile, WatchlistError> {
        let source = Source { file, text };
        let at = |span: &std::ops::Range<usize>, field: String, problem: String| {
            let (line, column) = source.position(span.start);
            WatchlistError { file: file.to_owned(), line, column, field, problem }
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let p = source.toml_error(&e);
            let problem =
                if p.kind == TomlErrorKind::Syntax { p.message } else { format!("{:?}: {}", p.kind, p.message) };
            WatchlistError { file: file.to_owned(), line: p.line, column: p.column, field: p.field, problem }
        })?;
        if raw.version.get_ref().trim().is_empty() {
            return Err(at(&raw.version.span(), "version".into(), "a non-empty version".into()));
        }
        let mut ids = std::collections::HashSet::new();
        let mut entries = Vec::with_capacity(raw.entry.len());
        for (i, e) in raw.entry.iter().enumerate() {
            let field = |key: &str| format!("entry[{i}].{key}");
            let id = e.id.get_ref().trim();
            if id.is_empty() || !ids.insert(id.to_owned()) {
                return Err(at(&e.id.span(), field("id"), format!("a non-empty id no other entry has; got `{id}`")));
            }
            let class = e.class.get_ref().as_str();
            if !CLASSES.contains(&class) {
                let expected = CLASSES.join(", ");
                return Err(at(&e.class.span(), field("class"), format!("one of {expected}; got `{class}`")));
            }
            let bytes = unhex(e.template.get_ref().trim())
                .ok_or_else(|| at(&e.template.span(), field("template"), "an even number of hex digits".into()))?;
            let template = minutiae_from_iso(&bytes).map_err(|err| {
                at(&e.template.span(), field("template"), format!("an ISO/IEC 19794-2:2005 minutiae record: {err}"))
            })?;
            entries.push(WatchlistEntry { id: id.to_owned(), class: class.to_owned(), template });
        }
        Ok(WatchlistFile { version: raw.version.get_ref().trim().to_owned(), entries })
    }

    /// The file's text (what [`WatchlistFile::parse`] reads back to the same list, templates quantised as
    /// ISO/IEC 19794-2 stores them).
    pub fn to_toml(&self) -> String {
        use std::fmt::Write as _;
        let mut out = format!("version = {}\n", toml::Value::String(self.version.clone()));
        for e in &self.entries {
            // Writing to a String cannot fail.
            let _ = write!(
                out,
                "\n[[entry]]\nid = {}\nclass = {}\ntemplate = \"{}\"\n",
                toml::Value::String(e.id.clone()),
                toml::Value::String(e.class.clone()),
                hex(&iso_from_minutiae(&e.template, 0))
            );
        }
        out
    }

    /// The list's entries, searched by brute force at calibrated `threshold`.
    pub fn searchable(&self, threshold: f32) -> BruteForceWatchlist {
        let mut list = BruteForceWatchlist::new(threshold).with_version(&self.version);
        for e in &self.entries {
            list.add(e.id.clone(), e.class.clone(), &e.template);
        }
        list
    }
}

/// The watchlist a point's gates search, replaced while they search (a version pulled from the centre): each
/// search is made whole by one list, and says which.
pub struct WatchlistInForce {
    current: RwLock<Arc<dyn Watchlist>>,
}

impl std::fmt::Debug for WatchlistInForce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchlistInForce").finish_non_exhaustive()
    }
}

impl WatchlistInForce {
    pub fn new(first: Arc<dyn Watchlist>) -> WatchlistInForce {
        WatchlistInForce { current: RwLock::new(first) }
    }

    /// Puts `next` in force for every search that starts from now on.
    pub fn replace(&self, next: Arc<dyn Watchlist>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = next;
    }

    fn now(&self) -> Arc<dyn Watchlist> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Watchlist for WatchlistInForce {
    fn search(&self, probe: &MatchTemplate) -> Vec<WatchlistHit> {
        self.now().search(probe)
    }

    fn search_versioned(&self, probe: &MatchTemplate) -> (Option<String>, Vec<WatchlistHit>) {
        self.now().search_versioned(probe)
    }
}
