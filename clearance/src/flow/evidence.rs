//! What the flow learns about one traveller ([`Evidence`]), the timeline of its steps, and how the traveller
//! left the gate ([`Outcome`]). `Debug` never shows document data, images or templates: sizes, counts, check names
//! and device errors only.

use std::fmt;
use std::time::Duration;

use khil_biometrics::minutia::Minutiae;
use khil_examine::{Document, Report};
use khil_mrtd::inspect::InspectCheck;

/// A step of the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// From the entry flap opening to the traveller standing in the mantrap with both flaps closed.
    Admit,
    /// The page on the reader: captures under each light and the VIZ.
    Page,
    /// The chip: access (PACE/BAC), passive, chip/active and terminal authentication, data groups.
    Chip,
    /// Document examination (khil-examine) over the page and the chip's data.
    Examine,
    /// Finger captures with their quality check, and the 1:1 comparison with the reference.
    Finger,
    /// The 1:N watchlist search.
    Watchlist,
    Decide,
    /// The crossing or referral written to the record store (before any flap opens).
    Record,
    /// Exit flap open until the traveller is through and the gate is idle again.
    Release,
    /// Entry flap open for the traveller to walk back to the officer's desk.
    Refer,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Step::Admit => "admit",
            Step::Page => "page",
            Step::Chip => "chip",
            Step::Examine => "examine",
            Step::Finger => "finger",
            Step::Watchlist => "watchlist",
            Step::Decide => "decide",
            Step::Record => "record",
            Step::Release => "release",
            Step::Refer => "refer",
        }
    }
}

/// One step on the traveller's timeline, on tokio's clock (the paused clock in tests and scenarios).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepTime {
    pub step: Step,
    /// From the start of the traveller's transaction (the entry flap opening for them).
    pub started: Duration,
    pub took: Duration,
    /// What came of it, in words without personal data ("genuine", "3 captures, matched", "scanner: line broke").
    pub outcome: String,
}

/// A device of the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Device {
    Gate,
    DocumentReader,
    Chip,
    FingerprintScanner,
    RecordStore,
}

impl Device {
    pub fn name(self) -> &'static str {
        match self {
            Device::Gate => "gate",
            Device::DocumentReader => "document reader",
            Device::Chip => "chip reader",
            Device::FingerprintScanner => "fingerprint scanner",
            Device::RecordStore => "record store",
        }
    }
}

/// A device that failed during a step: the flow went on without what it would have given (degraded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceFault {
    pub device: Device,
    pub step: Step,
    /// The driver's error (drivers never put document or biometric data in errors).
    pub error: String,
    /// The flow went on with the gate's other device of the class (a fallback sensor).
    pub fallback: bool,
}

/// The document: what the reader and the chip gave, and the examiner's report.
pub struct DocumentEvidence {
    /// The reader's number for the document.
    pub reader_number: u32,
    /// Captures, the reader's MRZ, VIZ and the chip's data as the examiner saw them (kept for the officer).
    pub document: Document,
    pub report: Report,
    /// How the chip was opened ("PACE ...", "BAC"); `None`: not opened or not read.
    pub chip_access: Option<String>,
    /// The inspection's checks (passive, chip, active, terminal authentication, MRZ against DG1...).
    pub chip_checks: Vec<InspectCheck>,
    /// Why something is missing (a light not offered, no VIZ, no chip).
    pub notes: Vec<String>,
}

impl fmt::Debug for DocumentEvidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentEvidence")
            .field("reader_number", &self.reader_number)
            .field("document", &self.document)
            .field("decision", &self.report.decision.name())
            .field("checks", &self.report.checks.len())
            .field("chip_access", &self.chip_access)
            .field("chip_checks", &self.chip_checks.len())
            .field("notes", &self.notes.len())
            .finish()
    }
}

/// Where the 1:1 reference came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceKind {
    /// The chip's DG3 (read after terminal authentication).
    Dg3,
    /// An enrolment from a [`super::ReferenceSource`] (national registry, visa, first-entry enrolment), by name.
    Enrolment(String),
    /// None was available: 1:1 verification was not possible.
    None,
}

/// One capture attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct FingerAttempt {
    /// The extractor's finger quality, 0-100.
    pub quality: u8,
    pub minutiae: usize,
    /// Passed the quality check.
    pub usable: bool,
    /// The calibrated 1:1 score against the reference (when there was one and the capture was usable).
    pub score: Option<f32>,
}

/// The finger: every attempt, the reference and the verdict of 1:1 verification.
#[derive(Clone, PartialEq)]
pub struct FingerEvidence {
    pub attempts: Vec<FingerAttempt>,
    pub reference: ReferenceKind,
    /// `Some(true)`: a usable capture scored at or above the threshold; `Some(false)`: none did; `None`: nothing
    /// to compare (no usable capture or no reference).
    pub verified: Option<bool>,
    pub threshold: f32,
    /// The best usable capture's minutiae (for the watchlist search and the officer).
    pub probe: Option<Minutiae>,
}

impl fmt::Debug for FingerEvidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FingerEvidence")
            .field("attempts", &self.attempts)
            .field("reference", &self.reference)
            .field("verified", &self.verified)
            .field("threshold", &self.threshold)
            .field("probe", &self.probe.as_ref().map(|m| m.points.len()))
            .finish()
    }
}

impl FingerEvidence {
    pub fn best_score(&self) -> Option<f32> {
        self.attempts.iter().filter_map(|a| a.score).reduce(f32::max)
    }
}

/// A watchlist entry the probe matched.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchlistHit {
    /// The entry's id in its list (no names).
    pub entry: String,
    /// Its class as the list names it ("wanted", "trafficking-suspect"...).
    pub class: String,
    pub score: f32,
}

/// Everything the flow learnt about one traveller. A referral carries it whole to the officer's desk.
#[derive(Debug, Default)]
pub struct Evidence {
    /// The flow's number for the traveller at this gate, from 1.
    pub traveller: u64,
    pub gate: String,
    pub document: Option<DocumentEvidence>,
    pub finger: Option<FingerEvidence>,
    /// `None`: the search did not run (no usable capture).
    pub watchlist: Option<Vec<WatchlistHit>>,
    /// The version of the list searched, when the list has one (the decision is stamped with it).
    pub watchlist_version: Option<String>,
    pub faults: Vec<DeviceFault>,
    pub timeline: Vec<StepTime>,
    /// Wall time of the flow's own computing on its thread: extraction, 1:1 and 1:N matching, examination,
    /// the decision and the record's commit (not the chip's cryptography: the terminal's half of it runs
    /// interleaved with the device's answers). Not tokio's clock: this is real time spent, not modelled time.
    pub compute: Duration,
}

impl Evidence {
    /// A device failed on the way: some evidence is missing because of it.
    pub fn degraded(&self) -> bool {
        !self.faults.is_empty()
    }

    pub fn step(&self, step: Step) -> Option<&StepTime> {
        self.timeline.iter().find(|s| s.step == step)
    }

    /// From the entry flap opening to the end of the last step on the timeline.
    pub fn transaction_time(&self) -> Duration {
        self.timeline.iter().map(|s| s.started + s.took).max().unwrap_or_default()
    }
}

/// What the decision step says, with its reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub release: bool,
    /// Every reason that led to it (for a release too: what was checked).
    pub reasons: Vec<String>,
    /// The versions of the rule file and the watchlists the decision used (stamped in the record; empty when
    /// the decision step has none).
    pub rules_version: String,
    pub watchlist_version: String,
}

/// How the traveller left the gate.
#[derive(Debug)]
pub enum Outcome {
    /// Through the exit flap, after the crossing was recorded.
    Released { evidence: Evidence, verdict: Verdict, record: String },
    /// Back through the entry to the officer's desk, with everything the flow learnt.
    Referred(Referral),
}

impl Outcome {
    pub fn evidence(&self) -> &Evidence {
        match self {
            Outcome::Released { evidence, .. } => evidence,
            Outcome::Referred(r) => &r.evidence,
        }
    }
}

/// A traveller sent to the officer: the evidence is kept whole, with why.
#[derive(Debug)]
pub struct Referral {
    pub evidence: Evidence,
    /// The decision's reasons, and the flow's own (a record that could not be written).
    pub reasons: Vec<String>,
    /// The referral's record, when the store took it.
    pub record: Option<String>,
    /// A device failed on the way ([`Evidence::degraded`]).
    pub degraded: bool,
}
