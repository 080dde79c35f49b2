//! What the rules decide on ([`Facts`], plain data the flow fills in from its devices' evidence) and what they
//! answer ([`Verdict`]).

use std::fmt;

use khil_mrtd::mrz::CivilDate;
use serde::Deserialize;

/// Which way the traveller crosses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
// Rule files name the variants in kebab-case (`diplomatic-passport`, `immediate`).
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Entry,
    Exit,
}

/// Everything a decision rests on, as the flow established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub direction: Direction,
    pub traveller: Traveller,
    pub document: Document,
    /// The visa or residence permit found for the traveller (from the visa register or the e-visa system).
    pub visa: Option<Visa>,
    /// On exit: the matching entry record. `None` on entry, or when no entry record was found.
    pub stay: Option<Stay>,
    /// Ban-list entries found for the person or the document, in either direction.
    pub bans: Vec<Ban>,
    /// The 1:N watchlist search; `None` when it could not be made.
    pub watchlist: Option<WatchlistSearch>,
    pub biometric: Biometric,
    /// The gate's device classes as the flow found them (only those it has).
    pub devices: Vec<DeviceStatus>,
}

/// The person. `Debug` shows no nationality or date of birth.
#[derive(Clone, PartialEq, Eq)]
pub struct Traveller {
    /// A citizen of the country whose border this is (the national registry says so).
    pub citizen: bool,
    /// As the MRZ writes it (`MNG`, `D`, `CHN`).
    pub nationality: String,
    /// `None` when the document does not give it (an MRZ may write `<<` for an unknown day or month).
    pub date_of_birth: Option<CivilDate>,
    /// Who the traveller crosses with, as the officer or the flow recorded it (matters for minors).
    pub companion: Companion,
    /// Whether the destination (on exit) or address (on entry) is known and plausible.
    pub destination_known: bool,
}

impl fmt::Debug for Traveller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Traveller")
            .field("citizen", &self.citizen)
            .field("companion", &self.companion)
            .field("destination_known", &self.destination_known)
            .finish_non_exhaustive()
    }
}

/// Who accompanies the traveller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Companion {
    /// Nobody.
    None,
    /// A parent; `same_surname` whether the parent's name matches the child's, `birth_certificate` whether one was
    /// shown (needed when the names differ).
    Parent { same_surname: bool, birth_certificate: bool },
    /// A legal guardian; `decree` whether the guardianship decree was shown.
    Guardian { decree: bool },
    /// Another adult; `power_of_attorney` whether a notarised power of attorney from a parent was shown.
    OtherAdult { power_of_attorney: bool },
}

/// The travel document presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub kind: DocumentKind,
    pub expiry: CivilDate,
    pub examination: Examination,
    pub chip: Chip,
}

/// Kinds of travel document (from the MRZ's document code and the issuer's model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
// Rule files name the variants in kebab-case (`diplomatic-passport`, `immediate`).
#[serde(rename_all = "kebab-case")]
pub enum DocumentKind {
    Passport,
    DiplomaticPassport,
    ServicePassport,
    IdCard,
    EmergencyTravelDocument,
    Other,
}

impl DocumentKind {
    pub const ALL: [DocumentKind; 6] = [
        DocumentKind::Passport,
        DocumentKind::DiplomaticPassport,
        DocumentKind::ServicePassport,
        DocumentKind::IdCard,
        DocumentKind::EmergencyTravelDocument,
        DocumentKind::Other,
    ];

    /// The name rule files use.
    pub fn name(self) -> &'static str {
        match self {
            DocumentKind::Passport => "passport",
            DocumentKind::DiplomaticPassport => "diplomatic-passport",
            DocumentKind::ServicePassport => "service-passport",
            DocumentKind::IdCard => "id-card",
            DocumentKind::EmergencyTravelDocument => "emergency-travel-document",
            DocumentKind::Other => "other",
        }
    }
}

/// The document examiner's overall decision (khil-examine's, mapped by the flow; lost or stolen comes from the
/// watchlist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Examination {
    Genuine,
    ForgedOrAltered,
    UnableToExamine,
    /// The examination was not made (the reader is down, or the gate has none).
    NotExamined,
}

/// The chip's authentication as the inspection system reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chip {
    /// Passive authentication (and active or chip authentication where the chip has it) passed.
    Authenticated,
    /// The chip opened but its data or its key did not verify.
    Failed,
    /// The chip answered but did not open with the keys of the printed MRZ.
    NotOpened,
    /// The document has no chip.
    NoChip,
    /// The chip was not read (the reader is down, or the chip did not answer).
    NotRead,
}

/// A visa or residence permit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visa {
    pub kind: VisaKind,
    pub valid_from: CivilDate,
    pub valid_to: CivilDate,
    /// Entries already made on it.
    pub entries_used: u32,
}

/// Kinds of visa. The e-visas' entries, validity and stay come from the rules; a consular visa states its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisaKind {
    EVisa,
    TransitEVisa,
    /// `entries`: `None` for multiple entries.
    Consular {
        entries: Option<u32>,
        stay_days: u32,
    },
    /// Stay is permitted until the permit's end.
    ResidencePermit,
}

/// The stay that is ending, on exit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stay {
    pub entry_date: CivilDate,
    /// Registered with the Immigration Agency.
    pub registered: bool,
}

/// A ban-list entry that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ban {
    pub direction: Direction,
    pub matched_by: BanMatch,
}

/// What the ban list matched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanMatch {
    /// The person (national id or registry identity).
    Person,
    /// The document's number.
    Document,
}

/// The 1:N watchlist search and its hits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchlistSearch {
    /// The version of the watchlist searched, stamped in the verdict.
    pub list_version: String,
    pub hits: Vec<HitClass>,
}

/// Watchlist hit classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitClass {
    Wanted,
    TraffickingSuspect,
    LostStolenDocument,
}

/// The 1:1 biometric verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Biometric {
    Match,
    /// No match after `attempts` captures.
    NoMatch {
        attempts: u32,
    },
    /// Capture is not possible (no usable finger, a disability) or there is no reference to verify against.
    NotPossible,
    /// Not attempted (the scanner is down).
    NotPerformed,
}

/// A device class of the gate and whether it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceStatus {
    pub class: DeviceClass,
    pub up: bool,
    /// The gate's configuration has another device of this class to fall back to.
    pub fallback_available: bool,
}

/// Device classes whose loss the rules know how to handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceClass {
    DocumentReader,
    ChipReader,
    FingerprintScanner,
    /// The link to the central watchlist service (the fallback is the border point's local copy).
    CentralLink,
}

impl DeviceClass {
    pub const ALL: [DeviceClass; 4] = [
        DeviceClass::DocumentReader,
        DeviceClass::ChipReader,
        DeviceClass::FingerprintScanner,
        DeviceClass::CentralLink,
    ];

    /// The name rule files use (`[degraded.<name>]`).
    pub fn name(self) -> &'static str {
        match self {
            DeviceClass::DocumentReader => "document_reader",
            DeviceClass::ChipReader => "chip_reader",
            DeviceClass::FingerprintScanner => "fingerprint_scanner",
            DeviceClass::CentralLink => "central_link",
        }
    }
}

/// The officer's desk queue order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
// Rule files name the variants in kebab-case (`diplomatic-passport`, `immediate`).
#[serde(rename_all = "kebab-case")]
pub enum Priority {
    Routine,
    Urgent,
    Immediate,
}

/// What a rule does when it fires, in rising severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
// Rule files name the variants in kebab-case (`diplomatic-passport`, `immediate`).
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    /// Nothing (the rule is recorded but switched off).
    Release,
    /// Send to an officer, who decides.
    Refer,
    /// The crossing is not permitted; an officer confirms and tells the traveller.
    Refuse,
    /// Hold the traveller for the officers (and security).
    Detain,
}

/// A rule's configured consequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Action {
    pub kind: ActionKind,
    /// Meaningless for `Release`.
    pub priority: Priority,
    /// The officer keeps the document.
    pub seize_document: bool,
}

/// What the rules decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: Outcome,
    pub seize_document: bool,
    /// Every rule that applied, passed or fired, in the order the rules were evaluated.
    pub reasons: Vec<Reason>,
    /// The rule file's `version`.
    pub rules_version: String,
    /// The watchlist version searched, when a search was made.
    pub watchlist_version: Option<String>,
}

impl Verdict {
    /// The reasons that fired.
    pub fn fired(&self) -> impl Iterator<Item = &Reason> {
        self.reasons.iter().filter(|r| r.fired.is_some())
    }
}

/// The verdict's outcome: the most severe action of the rules that fired, at the highest priority among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Release,
    Refer { priority: Priority },
    Refuse { priority: Priority },
    Detain { priority: Priority },
}

/// One rule's finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The rule's id: its key path in the rule file (`document.expired`, `minors.alone`).
    pub rule: String,
    /// The line of the rule in the rule file (1-based).
    pub line: u32,
    /// `None` when the rule passed; the action taken when it fired.
    pub fired: Option<Action>,
    /// Why, in words, without personal data (counts and rule values, never names, numbers or dates of the
    /// person).
    pub text: String,
}
