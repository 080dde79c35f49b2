//! Watchlists as the centre publishes them and a border point searches them: a TOML file of entries, each an id,
//! a hit class and a finger template (an ISO/IEC 19794-2:2005 record in hex: the interchange format border
//! systems exchange minutiae in), refused whole with file, line, column and field when anything in it is wrong;
//! the searchers ([`BruteForceWatchlist`] for short lists, [`IndexedWatchlist`] for long ones, chosen by
//! [`WatchlistFile::searchable`]); and [`WatchlistInForce`], the list a point's gates search, replaced while they
//! search.
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

use khil_biometrics::identify::{Gallery, SearchParams};
use khil_biometrics::matcher::{self, MatchTemplate};
use khil_biometrics::minutia::Minutiae;
use khil_biometrics::template::{iso_from_minutiae, minutiae_from_iso};
use serde::Deserialize;
use toml::Spanned;

use crate::flow::{Watchlist, WatchlistHit};
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

    /// The list's entries, searched at calibrated `threshold`: by brute force up to [`INDEXED_FROM`] entries, through
    /// the index above (the same threshold on the same matcher scores either way).
    pub fn searchable(&self, threshold: f32) -> Arc<dyn Watchlist> {
        if self.entries.len() < INDEXED_FROM {
            Arc::new(self.brute_force(threshold))
        } else {
            Arc::new(self.indexed(threshold))
        }
    }

    /// Every entry compared with every probe.
    pub fn brute_force(&self, threshold: f32) -> BruteForceWatchlist {
        let mut list = BruteForceWatchlist::new(threshold).with_version(&self.version);
        for e in &self.entries {
            list.add(e.id.clone(), e.class.clone(), &e.template);
        }
        list
    }

    /// The entries in an identification gallery. An entry the gallery cannot hold (fewer than 4 minutiae, or
    /// positions beyond 10 cm) stays searchable by brute force beside it, so no entry is ever left out.
    pub fn indexed(&self, threshold: f32) -> IndexedWatchlist {
        let mut list = IndexedWatchlist::new(threshold).with_version(&self.version);
        for e in &self.entries {
            list.add(e.id.clone(), e.class.clone(), &e.template);
        }
        list
    }
}

/// Lists this long or longer are searched through the index. Brute force costs one comparison an entry, ~25 us on
/// this project's machine (`khil bench identify`, brute force at 10k: 238 ms a search), so 1,000 entries take
/// about half the 50 ms a decision may compute (issue #15); the index searches 10,000 in ~10 ms at p95.
pub const INDEXED_FROM: usize = 1_000;

/// Every entry compared with the probe (khil's matcher); hits at or above the threshold, best first. Finds every
/// mate the matcher scores high enough, at a cost linear in the list: for the short lists of a border point.
pub struct BruteForceWatchlist {
    entries: Vec<(String, String, MatchTemplate)>,
    threshold: f32,
    version: Option<String>,
}

impl std::fmt::Debug for BruteForceWatchlist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BruteForceWatchlist")
            .field("entries", &self.entries.len())
            .field("threshold", &self.threshold)
            .field("version", &self.version)
            .finish()
    }
}

impl BruteForceWatchlist {
    /// A list hitting at calibrated score `threshold` ([`matcher::threshold_for`] of the false match rate wanted
    /// per comparison).
    pub fn new(threshold: f32) -> BruteForceWatchlist {
        BruteForceWatchlist { entries: Vec::new(), threshold, version: None }
    }

    /// The list's version, as searches report it.
    #[must_use]
    pub fn with_version(mut self, version: impl Into<String>) -> BruteForceWatchlist {
        self.version = Some(version.into());
        self
    }

    /// Adds entry `id` of `class` ("wanted", "trafficking-suspect", ...).
    pub fn add(&mut self, id: impl Into<String>, class: impl Into<String>, minutiae: &Minutiae) {
        self.entries.push((id.into(), class.into(), MatchTemplate::new(minutiae)));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn hits(&self, probe: &MatchTemplate) -> Vec<WatchlistHit> {
        let mut hits: Vec<WatchlistHit> = self
            .entries
            .iter()
            .filter_map(|(id, class, t)| {
                let score = matcher::score(probe, t);
                (score >= self.threshold).then(|| WatchlistHit { entry: id.clone(), class: class.clone(), score })
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.entry.cmp(&b.entry)));
        hits
    }
}

impl Watchlist for BruteForceWatchlist {
    fn search(&self, probe: &Minutiae) -> Result<Vec<WatchlistHit>, String> {
        Ok(self.hits(&MatchTemplate::new(probe)))
    }

    fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
}

/// A long list searched in two stages ([`khil_biometrics::identify`]): the index shortlists entries, khil's matcher
/// scores the shortlist, and the hits are those at or above the threshold, as brute force would give them. The
/// index trades a little recall for time: a mate it does not shortlist is missed (its FNIR is measured by
/// `khil bench identify`), which is why short lists stay brute force ([`INDEXED_FROM`]).
pub struct IndexedWatchlist {
    gallery: Gallery,
    /// Gallery id -> (entry id, class).
    entries: Vec<(String, String)>,
    /// Entries the gallery cannot hold, compared with every probe.
    unindexed: BruteForceWatchlist,
    threshold: f32,
    version: Option<String>,
}

impl std::fmt::Debug for IndexedWatchlist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Counts only: entry ids and templates stay out of logs.
        f.debug_struct("IndexedWatchlist")
            .field("gallery", &self.gallery)
            .field("entries", &self.entries.len())
            .field("unindexed", &self.unindexed)
            .field("threshold", &self.threshold)
            .field("version", &self.version)
            .finish()
    }
}

impl IndexedWatchlist {
    /// Matcher shortlist: this share of the list, at least [`IndexedWatchlist::MIN_SHORTLIST`] entries, picked by
    /// the gallery's geometric pre-score from a pool of 1 % (at least 100) the index's votes choose. On the model's
    /// 10k gallery a pool of 100 held 99 % of the mates and the pre-score put them in its top 4 (`khil bench
    /// identify`); twice that is kept for the matcher, at ~0.5 ms a candidate.
    pub const PENETRATION: f64 = 0.0002;
    pub const MIN_SHORTLIST: usize = 8;

    pub fn new(threshold: f32) -> IndexedWatchlist {
        IndexedWatchlist {
            // One shard: the search runs on the gate's own thread, and a point's list is small enough that a
            // single shard votes in milliseconds.
            gallery: Gallery::with_shards(1),
            entries: Vec::new(),
            unindexed: BruteForceWatchlist::new(threshold),
            threshold,
            version: None,
        }
    }

    #[must_use]
    pub fn with_version(mut self, version: impl Into<String>) -> IndexedWatchlist {
        self.version = Some(version.into());
        self
    }

    /// Adds entry `id` of `class`.
    pub fn add(&mut self, id: impl Into<String>, class: impl Into<String>, minutiae: &Minutiae) {
        let (id, class) = (id.into(), class.into());
        let key = self.entries.len() as u64;
        match self.gallery.enrol(key, minutiae) {
            Ok(()) => self.entries.push((id, class)),
            // Only a template the gallery cannot quantise is refused here (ids are fresh): it is still searched.
            Err(_) => self.unindexed.add(id, class, minutiae),
        }
    }

    /// Entries in the index and entries beside it.
    pub fn len(&self) -> usize {
        self.gallery.len() + self.unindexed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Watchlist for IndexedWatchlist {
    fn search(&self, probe: &Minutiae) -> Result<Vec<WatchlistHit>, String> {
        let params = SearchParams::for_gallery(self.gallery.len(), Self::PENETRATION, Self::MIN_SHORTLIST, 1);
        let found = self
            .gallery
            .search(probe, params)
            .map_err(|e| format!("the probe cannot be searched in the watchlist's index: {e}"))?;
        let mut hits = self.unindexed.search(probe)?;
        hits.extend(found.candidates.iter().filter(|c| c.score >= self.threshold).filter_map(|c| {
            let (entry, class) = self.entries.get(usize::try_from(c.id).ok()?)?;
            Some(WatchlistHit { entry: entry.clone(), class: class.clone(), score: c.score })
        }));
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.entry.cmp(&b.entry)));
        Ok(hits)
    }

    fn version(&self) -> Option<&str> {
        self.version.as_deref()
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
    fn search(&self, probe: &Minutiae) -> Result<Vec<WatchlistHit>, String> {
        self.now().search(probe)
    }

    fn search_versioned(&self, probe: &Minutiae) -> (Option<String>, Result<Vec<WatchlistHit>, String>) {
        self.now().search_versioned(probe)
    }
}
