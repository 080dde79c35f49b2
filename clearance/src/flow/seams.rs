//! What the flow needs from outside and does not own: the decision ([`Decide`]; the rules engine is wired in
//! behind it), the record store ([`RecordSink`]), reference templates for 1:1 verification
//! ([`ReferenceSource`]) and the 1:N watchlist search ([`Watchlist`], with [`BruteForceWatchlist`]).

use std::future::Future;
use std::pin::Pin;

use khil_biometrics::matcher::{self, MatchTemplate};
use khil_biometrics::minutia::Minutiae;
use khil_mrtd::mrz::CivilDate;

use super::evidence::{Evidence, Verdict, WatchlistHit};

/// The decision step: release or refer, with reasons.
pub trait Decide: Send + Sync {
    fn decide(&self, evidence: &Evidence, today: CivilDate) -> Verdict;
}

/// What [`RecordSink::record`] returns: the record's id, or why it could not be written.
pub type RecordFuture<'a> = Pin<Box<dyn Future<Output = Result<String, String>> + Send + 'a>>;

/// The record store. The flow awaits `record` before it opens a flap: a crossing whose record did not commit is
/// a referral, never a release.
pub trait RecordSink: Send + Sync {
    fn record<'a>(&'a self, evidence: &'a Evidence, verdict: &'a Verdict) -> RecordFuture<'a>;
}

/// Who the document says the traveller is, for looking up an enrolment (from the reader's MRZ). `Debug` shows
/// the issuing state only: a document number is personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct DocumentIdentity {
    pub issuing_state: String,
    pub document_number: String,
    pub nationality: String,
}

impl std::fmt::Debug for DocumentIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentIdentity").field("issuing_state", &self.issuing_state).finish_non_exhaustive()
    }
}

/// Reference templates for 1:1 verification when the chip gives none (national registry enrolment for citizens;
/// visa or first-entry enrolment for foreigners).
pub trait ReferenceSource: Send + Sync {
    /// The source's name, for logs ("national registry and entry enrolments").
    fn name(&self) -> &str;
    fn reference(&self, who: &DocumentIdentity) -> Option<Enrolment>;
}

/// An enrolment found for a traveller: which register it came from (for the evidence: "national registry",
/// "entry enrolment") and its template.
#[derive(Clone)]
pub struct Enrolment {
    pub source: String,
    pub minutiae: Minutiae,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the template.
        f.debug_struct("Enrolment").field("source", &self.source).finish_non_exhaustive()
    }
}

/// No enrolments anywhere: DG3 or nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEnrolments;

impl ReferenceSource for NoEnrolments {
    fn name(&self) -> &'static str {
        "none"
    }
    fn reference(&self, _: &DocumentIdentity) -> Option<Enrolment> {
        None
    }
}

/// The 1:N search of a probe against the watchlists.
pub trait Watchlist: Send + Sync {
    fn search(&self, probe: &MatchTemplate) -> Vec<WatchlistHit>;

    /// The search and the version of the list that made it (`None`: a list without a version), taken together so
    /// that a list replaced meanwhile cannot give one's hits under the other's version.
    fn search_versioned(&self, probe: &MatchTemplate) -> (Option<String>, Vec<WatchlistHit>) {
        (None, self.search(probe))
    }
}

/// Every entry compared with the probe (khil's matcher); hits at or above the threshold, best first. Fine for the
/// watchlists of a border point (thousands); an indexed search replaces it for millions.
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
}

impl Watchlist for BruteForceWatchlist {
    fn search(&self, probe: &MatchTemplate) -> Vec<WatchlistHit> {
        let mut hits: Vec<WatchlistHit> = self
            .entries
            .iter()
            .filter_map(|(id, class, t)| {
                let score = matcher::score(probe, t);
                (score >= self.threshold).then(|| WatchlistHit { entry: id.clone(), class: class.clone(), score })
            })
            .collect();
        hits.sort_by(|a, b| b.score.total_cmp(&a.score));
        hits
    }

    fn search_versioned(&self, probe: &MatchTemplate) -> (Option<String>, Vec<WatchlistHit>) {
        (self.version.clone(), self.search(probe))
    }
}
