//! What a scenario says (as [`crate::file`] validated it from `scenarios/*.toml`) and what a run of it gave
//! ([`RunResult`], written as outcomes.json and drawn in report.html). Times are seconds of the simulated day
//! since its midnight, on tokio's paused clock.

use std::path::PathBuf;

use khil_clearance::rules::Direction;
use khil_clearance::traffic;
use khil_sim_docreader::{FraudClass, ParameterSpace};
use khil_sim_gate::Behaviour;
pub use khil_sim_point::SensorKind;
use serde::Serialize;

/// A validated scenario: everything the runner needs, nothing left to check.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The file it came from, for messages.
    pub file: String,
    /// Seeds the population, every device and the arrivals: same seed, same bytes.
    pub seed: u64,
    /// The rule file, resolved against the scenario's folder.
    pub rules: PathBuf,
    pub point: PointSpec,
    /// One entry per gate, in order.
    pub gates: Vec<GateSpec>,
    pub desk: DeskSpec,
    pub arrivals: ArrivalSpec,
    pub population: PopulationSpec,
    /// Travellers written out one by one (crafted cases), on top of the generated ones.
    pub crafted: Vec<CraftedTraveller>,
    pub incidents: Vec<Incident>,
    pub expect: Expectations,
}

/// The border point.
#[derive(Debug, Clone)]
pub struct PointSpec {
    /// The point's name in records (`zamiin-uud`).
    pub name: String,
    /// Which way the gates take travellers.
    pub direction: Direction,
    /// Minutes between uploads to the central database, when the run has one.
    pub upload_every_minutes: f64,
    /// What a citizen's finger is verified against.
    pub finger_reference: FingerReference,
}

/// What the gates verify a citizen's finger against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FingerReference {
    /// DG3 of the chip (the gates hold EAC terminal certificates), the national registry's enrolment when the
    /// chip does not give it.
    #[default]
    Dg3,
    /// The national registry's enrolment; DG3 is not read (no terminal certificates, a shorter chip read).
    Registry,
}

impl FingerReference {
    pub fn name(self) -> &'static str {
        match self {
            FingerReference::Dg3 => "dg3",
            FingerReference::Registry => "registry",
        }
    }
}

/// One e-gate and its devices' faults (simulated devices; the fault grammars are the simulators' own).
#[derive(Debug, Clone)]
pub struct GateSpec {
    pub name: String,
    /// The gate's fingerprint sensors, the one in use first (`fingerprint = "zfm" | "osdp-bio"`, default a ZFM
    /// scanner), then its fallback (`fingerprint_fallback`).
    pub sensors: Vec<SensorKind>,
    /// `khil sim docreader --fault` specs (the gate's reader's; a fallback reader has none).
    pub reader_faults: Vec<String>,
    /// A second document reader the gate falls back to (`reader_fallback = true`).
    pub fallback_reader: bool,
    /// `khil sim fingerprint --fault` specs (line and module faults).
    pub scanner_faults: Vec<String>,
    /// Link faults on the gate I/O board's OSDP line (khil-link fault grammar: `close:at=N,dir=rx`).
    pub gate_io_faults: Vec<String>,
}

impl Default for GateSpec {
    fn default() -> GateSpec {
        GateSpec {
            name: String::new(),
            sensors: vec![SensorKind::Zfm],
            reader_faults: Vec::new(),
            fallback_reader: false,
            scanner_faults: Vec::new(),
            gate_io_faults: Vec::new(),
        }
    }
}

/// The officers' referral desk.
#[derive(Debug, Clone)]
pub struct DeskSpec {
    pub officers: usize,
    /// Minutes an officer takes with a referral: log-normal with this median and 90th percentile.
    pub median_minutes: f64,
    pub p90_minutes: f64,
}

/// Who arrives when.
#[derive(Debug, Clone)]
pub struct ArrivalSpec {
    /// The day's traffic of which point (the three modelled ones).
    pub profile: traffic::Point,
    pub surge: traffic::Surge,
    /// Share of the point's crossings (in the scenario's direction) that use these gates; the rest go to staffed
    /// desks and are not simulated. Above 1 (benchmarks only): a day that many times busier than the average.
    pub share: f64,
    /// The simulated window of the day, seconds since midnight: `from <= t < until`.
    pub from: f64,
    pub until: f64,
    /// At most this many generated travellers (the first ones of the window); `None`: all.
    pub limit: Option<usize>,
}

/// The generated travellers' mix. Shares are of generated travellers; the rest are genuine documents of the
/// population with their holder's own finger.
#[derive(Debug, Clone)]
pub struct PopulationSpec {
    /// Impression quality of fingers: `good` or `mixed`.
    pub finger_quality: String,
    /// Share presenting a forgery of each class.
    pub fraud: Vec<(FraudClass, f64)>,
    /// The catalogue's parameter space the forgeries are drawn from.
    pub fraud_space: ParameterSpace,
    /// Share whose finger is on a watchlist, per hit class (`wanted`, `trafficking-suspect`).
    pub watchlist: Vec<(String, f64)>,
    /// People on the point's watchlist who do not come that day, besides the listed travellers: a real point's list
    /// holds thousands, and a list of 1,000 or more is searched through the index
    /// ([`khil_clearance::watchlist::INDEXED_FROM`]).
    pub watchlist_others: usize,
    /// Share who put someone else's finger on the scanner.
    pub impostors: f64,
    /// Share of generated travellers who are foreigners (adult passport holders of visa-exempt states), drawn
    /// apart from the mix above: they carry genuine papers and their own finger.
    pub foreigners: f64,
    /// Share of those foreigners crossing for the first time: no enrolment to verify them against, so the gate
    /// refers them for enrolment at the desk. The others were enrolled at an earlier entry.
    pub first_entry: f64,
    /// Share of the foreigners whose nationality needs a visa (Chinese, Korean): they hold a valid e-visa, and
    /// their fingers were enrolled when they applied for it (so a first entry does not apply to them).
    pub visa_required: f64,
}

/// A traveller written out in the scenario.
#[derive(Debug, Clone)]
pub struct CraftedTraveller {
    /// What the case is (`child-alone`), in outcomes and failures.
    pub label: String,
    /// Arrival time, seconds since midnight.
    pub at: f64,
    pub papers: Papers,
    pub finger: Finger,
    pub behaviour: Behaviour,
    /// Faults of their document's chip (`khil sim mrtd --fault` grammar, `mute:at=0`: a chip that will not open).
    pub chip_faults: Vec<String>,
    /// Their finger is on a watchlist with this hit class.
    pub watchlisted: Option<String>,
    /// For a traveller leaving: the day they entered, days before the scenario's day (the point's systems know).
    pub entered_days_ago: Option<u32>,
    /// What must happen to them.
    pub expect: Option<TravellerExpectation>,
}

/// A crafted traveller's document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Papers {
    /// Population document `id`: `Some`, that one; `None`: the first of the population that fits `Needs`.
    Population(u64),
    /// The first population document that fits.
    First(Needs),
    /// Specimen `index` of a forgery class.
    Specimen { class: FraudClass, index: u64, space: ParameterSpace },
}

/// What a crafted traveller's population document must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Needs {
    /// An adult Mongolian with a passport valid on the scenario's day.
    AdultCitizen,
    /// A Mongolian under 18 with a valid passport.
    ChildCitizen,
    /// An adult foreign passport holder whose nationality needs no visa under the shipped rules.
    AdultForeigner,
    /// An adult foreign passport holder whose nationality needs a visa under the shipped rules.
    AdultVisaNational,
}

/// Whose finger goes on the scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finger {
    /// The document holder's.
    Own,
    /// Someone else's (population id).
    Other(u64),
    /// Nobody puts a finger down.
    None,
}

/// What must happen to one crafted traveller.
#[derive(Debug, Clone, PartialEq)]
pub struct TravellerExpectation {
    pub decision: DecisionWord,
    /// Each must prefix one of the verdict's reasons (a rule name such as `document.forged_or_altered`).
    pub reasons: Vec<String>,
}

/// What the point did with a traveller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DecisionWord {
    /// Out through the exit flap.
    Release,
    /// Sent to the officer's desk.
    Refer,
    /// Never processed by a gate (the gate was out of service, the point closed).
    NotProcessed,
}

impl DecisionWord {
    pub fn name(self) -> &'static str {
        match self {
            DecisionWord::Release => "release",
            DecisionWord::Refer => "refer",
            DecisionWord::NotProcessed => "not-processed",
        }
    }
}

/// Something that happens to the point during the run.
#[derive(Debug, Clone, PartialEq)]
pub enum Incident {
    /// Power to every gate is cut at `at` for `seconds`: the devices and flows restart, the record store is
    /// reopened from disk.
    PowerCut { at: f64, seconds: f64 },
    /// The link to the central database is down from `from` to `until` (uploads queue at the point).
    CentralDown { from: f64, until: f64 },
    /// At `at` the centre publishes the rule file `rules` (a new version); the point pulls it with its next upload
    /// round and decides by it from then on (the run needs a central database: `--central`).
    RulesUpdate { at: f64, rules: PathBuf },
    /// At `at` the centre publishes a new version of the point's watchlist with the fingers of the crafted
    /// travellers `add` (labels; each has `watchlisted`, its class, and is on no list before); the point pulls it
    /// with its next upload round and searches it from then on (needs `--central`).
    WatchlistUpdate { at: f64, add: Vec<String> },
}

/// Figures the run must land within.
#[derive(Debug, Clone, Default)]
pub struct Expectations {
    /// Share of generated travellers released.
    pub released: Option<Bounds>,
    /// Share of generated fraudulent travellers (forgery, watchlist, impostor) referred.
    pub fraud_referred: Option<Bounds>,
    /// Share of generated genuine travellers referred (false referrals).
    pub genuine_referred: Option<Bounds>,
    /// 95th percentile of queueing before a gate, minutes.
    pub queue_p95_minutes: Option<Bounds>,
    /// Median transaction time at a gate of released travellers, seconds.
    pub transaction_p50_seconds: Option<Bounds>,
    /// Every committed record is in the store and its audit chain verifies.
    pub records_verify: bool,
    /// After the day every committed record is at the central database, once (the run needs one: `--central`).
    pub central_uploaded: bool,
}

/// An inclusive range; a missing end is open.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Bounds {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl Bounds {
    pub fn holds(&self, value: f64) -> bool {
        self.min.is_none_or(|m| value >= m) && self.max.is_none_or(|m| value <= m)
    }
}

impl std::fmt::Display for Bounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.min, self.max) {
            (Some(a), Some(b)) => write!(f, "{a} to {b}"),
            (Some(a), None) => write!(f, "at least {a}"),
            (None, Some(b)) => write!(f, "at most {b}"),
            (None, None) => write!(f, "anything"),
        }
    }
}

/// What a run gave: outcomes.json. Deterministic for a seed (no wall-clock figures in it: those are in
/// [`RunTiming`]).
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    pub scenario: String,
    pub description: String,
    pub seed: u64,
    pub point: String,
    pub direction: String,
    /// The day the run was judged on (ISO 8601).
    pub day: String,
    pub rules_version: String,
    pub watchlist_version: String,
    /// The simulated window, seconds since midnight.
    pub from: f64,
    pub until: f64,
    pub gates: Vec<GateSummary>,
    pub travellers: Vec<TravellerOutcome>,
    /// Travellers waiting for a gate, sampled at every change.
    pub queue: Vec<QueueSample>,
    /// Travellers waiting at or being seen by the officers' desk, at every change.
    pub desk_queue: Vec<QueueSample>,
    pub incidents: Vec<IncidentLog>,
    /// The record store after the run.
    pub records: RecordsSummary,
    /// Each expectation with what was measured; empty until checked.
    pub expectations: Vec<ExpectationResult>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GateSummary {
    pub name: String,
    pub travellers: usize,
    pub released: usize,
    pub referred: usize,
    /// Seconds the gate had a traveller in it.
    pub busy_seconds: f64,
    /// Device faults seen at this gate (device: error), in order.
    pub faults: Vec<String>,
    /// Its fingerprint sensors, the one in use first (`zfm`, `osdp-bio`).
    pub sensors: Vec<String>,
}

/// One traveller's passage. No MRZ, name or biometric data: ids, classes and decisions.
#[derive(Debug, Clone, Serialize)]
pub struct TravellerOutcome {
    /// Order of arrival, from 1.
    pub number: usize,
    /// The crafted case's label; `None` for a generated traveller.
    pub label: Option<String>,
    /// What they really are: `genuine`, a fraud class name, `watchlist:<class>`, `impostor`.
    pub truth: String,
    /// The document: `population 123 (MNG passport)`, `specimen counterfeit-office-paper 3`.
    pub papers: String,
    pub nationality: String,
    pub arrived: f64,
    pub gate: Option<String>,
    /// Seconds in the queue before stepping up to a gate.
    pub waited: f64,
    /// Stepped up to the gate.
    pub started: Option<f64>,
    /// Out of the gate (either way).
    pub left_gate: Option<f64>,
    /// The flow's transaction time (admission to the gate idle again), seconds.
    pub transaction: Option<f64>,
    pub decision: DecisionWord,
    pub reasons: Vec<String>,
    /// The record store's id of the crossing or referral.
    pub record: Option<String>,
    /// A device was down or failed.
    pub degraded: bool,
    /// For a referral: when an officer finished with them.
    pub desk_done: Option<f64>,
    pub timeline: Vec<StepOutcome>,
    /// The crafted case's expectation held (`None`: nothing expected).
    pub as_expected: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepOutcome {
    pub step: String,
    /// Seconds since the traveller's admission.
    pub started: f64,
    pub took: f64,
    pub outcome: String,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct QueueSample {
    pub at: f64,
    pub length: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncidentLog {
    pub at: f64,
    pub what: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RecordsSummary {
    pub committed: u64,
    /// `khil records verify` on the store: `None` when not run.
    pub verified: Option<bool>,
    pub verify_detail: String,
    /// Records still waiting for the central database (no central in the run: all of them).
    pub pending_upload: u64,
    /// The uploads to the central database, when the run had one.
    pub central: Option<CentralSummary>,
}

/// The point's uploads to the central database over the day.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CentralSummary {
    /// The database's URL, without a password.
    pub url: String,
    /// Upload rounds, and how many of them failed (the link down, the centre refusing).
    pub rounds: usize,
    pub failed_rounds: usize,
    /// Records the rounds inserted at the centre.
    pub uploaded: u64,
    /// Records committed at the point and not yet acknowledged by the centre, after each round.
    pub backlog: Vec<QueueSample>,
    /// The last failed round's error.
    pub last_error: Option<String>,
    /// Records the centre holds for this point after the day, and the last of their seqs; `None` with the
    /// reason in `centre_error` when the centre could not be asked.
    pub centre_count: Option<u64>,
    pub centre_last_seq: Option<u64>,
    pub centre_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExpectationResult {
    /// `released`, `traveller 3 (child-alone)`, ...
    pub what: String,
    pub expected: String,
    pub actual: String,
    pub passed: bool,
}

/// Wall-clock and CPU figures of a run: not part of outcomes.json (they differ every run).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunTiming {
    pub wall_seconds: f64,
    /// CPU time of the flow's own computing per traveller (examination, matching, watchlist, rules, record),
    /// milliseconds, in arrival order.
    pub decision_cpu_ms: Vec<f64>,
}
