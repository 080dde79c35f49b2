//! The purpose catalogues (`conformance/catalogue/<class>.toml`): what each purpose checks, in words, as data.
//!
//! A catalogue is the suite's test specification, readable without Rust; the code holds only each purpose's
//! applicability and body ([`Body`]). [`Catalogue::assemble`] joins the two by id, in the catalogue's order, and
//! refuses an entry without a body or a body without an entry, so the two cannot drift apart unnoticed.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::purpose::{Body, Purpose, PurposeMeta};

/// One catalogue entry, as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub id: String,
    pub group: String,
    pub title: String,
    pub clause: String,
    pub condition: String,
    pub expected: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    purpose: Vec<Entry>,
}

/// The purposes of one class, in run order.
#[derive(Debug)]
pub struct Catalogue {
    /// The file it was read from (for messages).
    pub file: &'static str,
    pub entries: Vec<Entry>,
}

/// Why a catalogue and the code's bodies do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("{file}: {message}")]
    Syntax { file: &'static str, message: String },
    #[error("{file}: purpose {id} is listed twice")]
    DuplicateEntry { file: &'static str, id: String },
    #[error("{file}: purpose {id} has no body in the code")]
    NoBody { file: &'static str, id: String },
    #[error("the code has a body for {id}, which {file} does not list")]
    NoEntry { file: &'static str, id: &'static str },
    #[error("the code has two bodies for {id}")]
    DuplicateBody { id: &'static str },
}

impl Catalogue {
    /// Reads a catalogue's text.
    pub fn parse(file: &'static str, text: &str) -> Result<Catalogue, CatalogueError> {
        let parsed: File = toml::from_str(text).map_err(|e| CatalogueError::Syntax { file, message: e.to_string() })?;
        let mut seen = std::collections::BTreeSet::new();
        for e in &parsed.purpose {
            if !seen.insert(e.id.as_str()) {
                return Err(CatalogueError::DuplicateEntry { file, id: e.id.clone() });
            }
        }
        Ok(Catalogue { file, entries: parsed.purpose })
    }

    /// The purposes: each entry with its body, in the catalogue's order.
    pub fn assemble<D>(&'static self, bodies: Vec<Body<D>>) -> Result<Vec<Purpose<D>>, CatalogueError> {
        let file = self.file;
        let mut by_id = BTreeMap::new();
        for body in bodies {
            let id = body.id;
            if by_id.insert(id, body).is_some() {
                return Err(CatalogueError::DuplicateBody { id });
            }
        }
        let mut purposes = Vec::with_capacity(self.entries.len());
        for e in &self.entries {
            let body = by_id.remove(e.id.as_str()).ok_or_else(|| CatalogueError::NoBody { file, id: e.id.clone() })?;
            let meta = PurposeMeta {
                id: &e.id,
                title: &e.title,
                clause: &e.clause,
                group: &e.group,
                condition: &e.condition,
                expected: &e.expected,
            };
            purposes.push(Purpose { meta, applies: body.applies, run: body.run });
        }
        match by_id.into_keys().next() {
            Some(id) => Err(CatalogueError::NoEntry { file, id }),
            None => Ok(purposes),
        }
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.title)
    }
}

/// Reads a catalogue compiled into khil. Its text is part of the build, so an error is a defect of khil, caught by
/// the suites' tests (every suite assembles its purposes in a unit test).
fn builtin(file: &'static str, text: &str) -> Catalogue {
    Catalogue::parse(file, text).unwrap_or_else(|e| panic!("built-in catalogue: {e}"))
}

/// `conformance/catalogue/zfm.toml`.
pub static ZFM: LazyLock<Catalogue> =
    LazyLock::new(|| builtin("conformance/catalogue/zfm.toml", include_str!("../catalogue/zfm.toml")));

/// `conformance/catalogue/osdp-pd.toml`.
pub static OSDP_PD: LazyLock<Catalogue> =
    LazyLock::new(|| builtin("conformance/catalogue/osdp-pd.toml", include_str!("../catalogue/osdp-pd.toml")));

#[cfg(test)]
mod tests {
    use super::*;
    use crate::purpose::{Applicability, BodyFuture, Ctx};

    fn body(id: &'static str) -> Body<()> {
        fn run<'a>(_: &'a mut (), _: &'a mut Ctx) -> BodyFuture<'a> {
            Box::pin(async { Ok(()) })
        }
        Body { id, applies: |_| Applicability::Applies, run }
    }

    fn catalogue(text: &str) -> &'static Catalogue {
        Box::leak(Box::new(Catalogue::parse("test.toml", text).unwrap()))
    }

    const TWO: &str = r#"
        [[purpose]]
        id = "X-A-001"
        group = "a"
        title = "first"
        clause = "c"
        condition = "always"
        expected = "e"
        [[purpose]]
        id = "X-A-002"
        group = "a"
        title = "second"
        clause = "c"
        condition = "always"
        expected = "e"
    "#;

    #[test]
    fn assembles_in_catalogue_order_whatever_the_order_of_bodies() {
        let purposes = catalogue(TWO).assemble(vec![body("X-A-002"), body("X-A-001")]).unwrap();
        let ids: Vec<_> = purposes.iter().map(|p| (p.meta.id, p.meta.title)).collect();
        assert_eq!(ids, [("X-A-001", "first"), ("X-A-002", "second")]);
    }

    #[test]
    fn an_entry_without_a_body_and_a_body_without_an_entry_are_refused() {
        let err = catalogue(TWO).assemble(vec![body("X-A-001")]).unwrap_err();
        assert_eq!(err.to_string(), "test.toml: purpose X-A-002 has no body in the code");
        let err = catalogue(TWO).assemble(vec![body("X-A-001"), body("X-A-002"), body("X-A-003")]).unwrap_err();
        assert_eq!(err.to_string(), "the code has a body for X-A-003, which test.toml does not list");
        let err = catalogue(TWO).assemble(vec![body("X-A-001"), body("X-A-001")]).unwrap_err();
        assert_eq!(err, CatalogueError::DuplicateBody { id: "X-A-001" });
    }

    #[test]
    fn a_catalogue_with_a_repeated_id_or_an_unknown_field_is_refused() {
        let twice = TWO.replace("X-A-002", "X-A-001");
        assert!(matches!(Catalogue::parse("t", &twice), Err(CatalogueError::DuplicateEntry { .. })));
        let unknown = TWO.replace("clause = \"c\"", "clause = \"c\"\nseverity = 1");
        let err = Catalogue::parse("t", &unknown).unwrap_err().to_string();
        assert!(err.contains("severity"), "{err}");
    }

    #[test]
    fn the_built_in_catalogues_parse() {
        assert_eq!(ZFM.entries.len(), 53);
        assert_eq!(OSDP_PD.entries.len(), 31);
    }
}
