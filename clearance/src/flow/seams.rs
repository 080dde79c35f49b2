//! What the flow needs from outside and does not own: the decision ([`Decide`]; the rules engine is wired in
//! behind it), the record store ([`RecordSink`]), reference templates for 1:1 verification
//! ([`ReferenceSource`]) and the 1:N watchlist search ([`Watchlist`]).

use std::future::Future;
use std::pin::Pin;

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

/// The 1:N search of a probe against the watchlists ([`crate::watchlist`] has the searchers).
pub trait Watchlist: Send + Sync {
    /// Hits at or above the list's threshold, best first; `Err` says why this probe cannot be searched (the
    /// rules' `watchlist.not_searched` decides what follows, never an empty hit list).
    fn search(&self, probe: &Minutiae) -> Result<Vec<WatchlistHit>, String>;

    /// The search and the version of the list that made it (`None`: a list without a version), taken together so
    /// that a list replaced meanwhile cannot give one's hits under the other's version.
    fn search_versioned(&self, probe: &Minutiae) -> (Option<String>, Result<Vec<WatchlistHit>, String>) {
        (self.version().map(str::to_owned), self.search(probe))
    }

    /// The list's version (`None`: a list without one). A list that can be replaced between the two calls
    /// overrides [`Watchlist::search_versioned`] instead.
    fn version(&self) -> Option<&str> {
        None
    }
}
