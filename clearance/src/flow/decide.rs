//! The rules engine behind the flow's [`Decide`]: the flow's [`Evidence`] becomes the rules' [`Facts`], and the
//! rules' verdict the flow's. What a gate cannot learn from its devices (visas, the stay of a traveller leaving,
//! bans, who a minor travels with) comes from the border point's systems through [`PointContext`]; what it does
//! not know stays unknown and the rules treat it as such (a foreigner with no visa found needs one).

use khil_examine::{Authentication, CheckId, CheckState, Decision};
use khil_mrtd::mrz::{CivilDate, Mrz};

use super::evidence::{Device, Evidence, Verdict};
use super::seams::Decide;
use crate::rules::{
    Ban, Biometric, Chip, Companion, DeviceClass, DeviceStatus, Direction, Document, DocumentKind, Examination, Facts,
    HitClass, Outcome, Rules, Stay, Traveller, Visa, WatchlistSearch,
};

/// What the border point's systems know about a traveller, looked up by the document the gate read.
pub trait PointContext: Send + Sync {
    fn visa(&self, _issuing_state: &str, _document_number: &str) -> Option<Visa> {
        None
    }
    /// For a traveller leaving: when they entered (the point's own records).
    fn stay(&self, _issuing_state: &str, _document_number: &str) -> Option<Stay> {
        None
    }
    fn bans(&self, _issuing_state: &str, _document_number: &str) -> Vec<Ban> {
        Vec::new()
    }
}

/// A point that knows nothing beyond what its devices read.
#[derive(Debug, Clone, Copy, Default)]
pub struct NothingKnown;

impl PointContext for NothingKnown {}

/// One context shared by the decisions of several rule versions.
impl<C: PointContext + ?Sized> PointContext for std::sync::Arc<C> {
    fn visa(&self, issuing_state: &str, document_number: &str) -> Option<Visa> {
        (**self).visa(issuing_state, document_number)
    }
    fn stay(&self, issuing_state: &str, document_number: &str) -> Option<Stay> {
        (**self).stay(issuing_state, document_number)
    }
    fn bans(&self, issuing_state: &str, document_number: &str) -> Vec<Ban> {
        (**self).bans(issuing_state, document_number)
    }
}

/// The decision step in force at a point, replaced while the gates use it (rules pulled from the centre): each
/// decision is made whole by the step in force when it starts, never by half of two.
pub struct DecisionInForce {
    current: std::sync::RwLock<std::sync::Arc<dyn Decide>>,
}

impl std::fmt::Debug for DecisionInForce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionInForce").finish_non_exhaustive()
    }
}

impl DecisionInForce {
    pub fn new(first: std::sync::Arc<dyn Decide>) -> DecisionInForce {
        DecisionInForce { current: std::sync::RwLock::new(first) }
    }

    /// Puts `next` in force for every decision that starts from now on.
    pub fn replace(&self, next: std::sync::Arc<dyn Decide>) {
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = next;
    }
}

impl Decide for DecisionInForce {
    fn decide(&self, evidence: &Evidence, today: CivilDate) -> Verdict {
        let current = std::sync::Arc::clone(&self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner));
        current.decide(evidence, today)
    }
}

/// [`Rules::decide`] as the flow's decision step at one gate.
pub struct RulesDecision<C = NothingKnown> {
    pub rules: Rules,
    pub direction: Direction,
    /// The state whose border this is: its nationals are citizens (`MNG`).
    pub state: String,
    /// The version of the watchlists the flow searches.
    pub watchlist_version: String,
    pub context: C,
}

impl<C> std::fmt::Debug for RulesDecision<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RulesDecision")
            .field("rules", &self.rules.version())
            .field("direction", &self.direction)
            .field("watchlist_version", &self.watchlist_version)
            .finish_non_exhaustive()
    }
}

impl<C: PointContext> Decide for RulesDecision<C> {
    fn decide(&self, evidence: &Evidence, today: CivilDate) -> Verdict {
        let verdict = self.rules.decide(&self.facts(evidence, today), today);
        // A hit in a list whose class the rules do not name is still a hit: an officer looks at it.
        let unknown: Vec<&str> = evidence
            .watchlist
            .iter()
            .flatten()
            .filter(|h| hit_class(&h.class).is_none())
            .map(|h| h.class.as_str())
            .collect();
        let release = verdict.outcome == Outcome::Release && unknown.is_empty();
        // A release lists what passed; a referral what fired (the rest is in the record).
        let mut reasons: Vec<String> = verdict
            .reasons
            .iter()
            .filter(|r| release || r.fired.is_some())
            .map(|r| format!("{} (line {}): {}", r.rule, r.line, r.text))
            .collect();
        reasons.extend(unknown.iter().map(|c| format!("watchlist hit of class {c:?}, which the rules do not name")));
        Verdict {
            release,
            reasons,
            rules_version: verdict.rules_version,
            watchlist_version: verdict.watchlist_version.unwrap_or_default(),
        }
    }
}

impl<C: PointContext> RulesDecision<C> {
    /// The facts the evidence gives. A document whose MRZ does not read is `Other`, expired today, with the
    /// examiner's outcome: the rules refer it whatever else holds.
    pub fn facts(&self, evidence: &Evidence, today: CivilDate) -> Facts {
        let read = evidence.document.as_ref();
        let mrz = read.and_then(|d| Mrz::read_lines(&d.document.mrz_lines).ok()).map(|r| r.mrz);
        let (issuing_state, number) = mrz
            .as_ref()
            .map_or((String::new(), String::new()), |m| (m.issuing_state.clone(), m.document_number.clone()));
        let examination = match read.map(|d| &d.report.decision) {
            None => Examination::NotExamined,
            // Not valid (expired) is the document rules' own finding: the page itself is genuine.
            Some(Decision::Genuine | Decision::NotValid { .. }) => Examination::Genuine,
            Some(Decision::ForgedOrAltered { .. }) => Examination::ForgedOrAltered,
            Some(Decision::UnableToExamine { .. }) => Examination::UnableToExamine,
        };
        let chip = match read.map(|d| d.document.chip.as_ref().map(|c| c.authentication)) {
            None | Some(None) => {
                if evidence.faults.iter().any(|f| f.device == Device::Chip) {
                    Chip::NotRead
                } else {
                    Chip::NoChip
                }
            }
            Some(Some(Authentication::Passed)) => Chip::Authenticated,
            Some(Some(Authentication::Failed)) => Chip::Failed,
            Some(Some(Authentication::NotOpened)) => Chip::NotOpened,
            Some(Some(Authentication::NotPerformed)) => Chip::NotRead,
        };
        let document = Document {
            kind: mrz.as_ref().map_or(DocumentKind::Other, |m| kind(&m.document_code)),
            expiry: mrz
                .as_ref()
                .and_then(|m| m.expiry_date.year_near(today.year()).and_then(|y| m.expiry_date.in_year(y)))
                .unwrap_or(today),
            examination,
            chip,
        };
        let nationality = mrz.as_ref().map_or_else(String::new, |m| m.nationality.clone());
        let traveller = Traveller {
            citizen: nationality == self.state,
            date_of_birth: mrz
                .as_ref()
                .and_then(|m| m.birth_date.year_not_after(today.year()).and_then(|y| m.birth_date.in_year(y))),
            nationality,
            // An e-gate sees one person: who they travel with is the officer's to learn.
            companion: Companion::None,
            destination_known: true,
        };
        let biometric = match &evidence.finger {
            None => Biometric::NotPerformed,
            Some(f) => match f.verified {
                Some(true) => Biometric::Match,
                Some(false) => Biometric::NoMatch { attempts: f.attempts.len() as u32 },
                None => Biometric::NotPossible,
            },
        };
        // The version of the list the flow searched; a list without one is the configured list's.
        let list_version = evidence.watchlist_version.as_ref().unwrap_or(&self.watchlist_version);
        let mut watchlist = evidence.watchlist.as_ref().map(|hits| WatchlistSearch {
            list_version: list_version.clone(),
            hits: hits.iter().filter_map(|h| hit_class(&h.class)).collect(),
        });
        // The examiner's lost/stolen check is a search of the lost and stolen documents list by number: its hit is
        // that list's hit, whatever the finger search found (a stolen blank is "not valid", not forged, to the
        // examiner, and would otherwise pass as a genuine page).
        let stolen =
            read.and_then(|d| d.report.check(CheckId::LostStolen)).is_some_and(|c| c.state == CheckState::Fail);
        if stolen {
            let search = watchlist
                .get_or_insert_with(|| WatchlistSearch { list_version: list_version.clone(), hits: Vec::new() });
            search.hits.push(HitClass::LostStolenDocument);
        }
        let devices = evidence
            .faults
            .iter()
            .filter_map(|f| {
                let class = match f.device {
                    Device::DocumentReader => DeviceClass::DocumentReader,
                    Device::Chip => DeviceClass::ChipReader,
                    Device::FingerprintScanner => DeviceClass::FingerprintScanner,
                    Device::Gate | Device::RecordStore => return None,
                };
                Some(DeviceStatus { class, up: false, fallback_available: f.fallback })
            })
            .collect();
        let known = mrz.is_some();
        Facts {
            direction: self.direction,
            traveller,
            document,
            visa: known.then(|| self.context.visa(&issuing_state, &number)).flatten(),
            stay: known.then(|| self.context.stay(&issuing_state, &number)).flatten(),
            bans: if known { self.context.bans(&issuing_state, &number) } else { Vec::new() },
            watchlist,
            biometric,
            devices,
        }
    }
}

/// The document code's kind (ICAO 9303-4/5: the second character is the issuer's; `PD` and `PS` are the usual
/// diplomatic and service codes).
fn kind(code: &str) -> DocumentKind {
    match code {
        "PD" => DocumentKind::DiplomaticPassport,
        "PS" | "PO" => DocumentKind::ServicePassport,
        c if c.starts_with('P') => DocumentKind::Passport,
        c if c.starts_with('I') || c.starts_with('A') || c.starts_with('C') => DocumentKind::IdCard,
        _ => DocumentKind::Other,
    }
}

/// A watchlist's class name as the rules know it; an unknown class is no hit class the rules act on.
fn hit_class(class: &str) -> Option<HitClass> {
    match class {
        "wanted" => Some(HitClass::Wanted),
        "trafficking-suspect" => Some(HitClass::TraffickingSuspect),
        "lost-stolen-document" => Some(HitClass::LostStolenDocument),
        _ => None,
    }
}
