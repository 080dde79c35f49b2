//! The fingerprint enrolments a scenario's border point looks up when DG3 is not read (the point reads no DG3, or
//! the chip would not give it): the national registry's, for citizens; the border system's entry enrolments, for
//! foreigners who were enrolled when they first entered (first-entry enrolment, as the EU's Entry/Exit System
//! does it); visa enrolments, for foreigners whose fingers were taken when they applied for a visa (assumed of
//! Mongolia's visa process: not verified). A visa-exempt foreigner crossing for the first time has none: the
//! gate cannot verify them and refers them to the desk, where an officer enrols them.
//!
//! Every register holds one enrolment per person: an impression of their own finger taken at enrolment (index
//! [`ENROLMENT_IMPRESSION`], one the gates' scanners never produce), extracted by khil's extractor as the
//! register's template. It is looked up by the document the gate read (issuing state and number), so a forged
//! page naming another number finds that number's holder, or nobody.

use std::collections::HashMap;
use std::sync::Arc;

use khil_biometrics::minutia::Minutiae;
use khil_biometrics::synth::Quality;
use khil_clearance::flow::{DocumentIdentity, Enrolment, ReferenceSource};
use khil_sim_population::documents::{State, TravelDocument};

/// The impression index of an enrolment (a gate's captures are 0 to 2).
pub const ENROLMENT_IMPRESSION: u32 = 6;
/// The impression index of a watchlist entry.
pub const WATCHLIST_IMPRESSION: u32 = 7;

/// The register of a foreigner enrolled when they first entered.
pub const ENTRY_ENROLMENT: &str = "entry enrolment";
/// The register of a foreigner enrolled when they applied for a visa.
pub const VISA_ENROLMENT: &str = "visa enrolment";

/// The template of finger `id`'s impression `index` on the gates' sensor (an R307), as khil's extractor makes it
/// (kept with the impression: made once). What the registers and the watchlists hold.
pub fn template(fingers: &khil_sim_population::Fingers, id: u64, index: u32) -> Minutiae {
    let sensor = khil_sim_fingerprint::Profile::R307.sensor();
    fingers.impression(id, index, sensor).extracted(|image| khil_biometrics::extract::extract(image, 500))
}

/// Citizens' enrolments in the national registry and foreigners' in the border system's registers, made when
/// first asked for (a real register returns a stored template; making it here is the simulation's cost,
/// accounted as "national registry").
pub struct NationalRegistry {
    fingers: Arc<khil_sim_population::Fingers>,
    /// (issuing state, document number) -> the register and whose finger (population id).
    enrolled: HashMap<(String, String), (&'static str, u64)>,
}

impl std::fmt::Debug for NationalRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NationalRegistry").field("enrolled", &self.enrolled.len()).finish_non_exhaustive()
    }
}

fn key(d: &TravelDocument) -> (String, String) {
    (d.issuing_state.code().to_owned(), d.document_number.clone())
}

impl NationalRegistry {
    /// A registry of the population of `seed` with fingers of `quality`, knowing the citizens among `documents`.
    pub fn new<'a>(
        seed: u64,
        quality: Quality,
        documents: impl IntoIterator<Item = &'a TravelDocument>,
    ) -> NationalRegistry {
        let enrolled = documents
            .into_iter()
            .filter(|d| d.nationality == State::Mongolia)
            .map(|d| (key(d), ("national registry", d.id)))
            .collect();
        NationalRegistry { fingers: khil_sim_population::Fingers::shared(seed, quality), enrolled }
    }

    /// Foreigners enrolled in `register` ([`ENTRY_ENROLMENT`], [`VISA_ENROLMENT`]), by their passports. A
    /// citizen stays the national registry's.
    #[must_use]
    pub fn with_enrolments<'a>(
        mut self,
        register: &'static str,
        documents: impl IntoIterator<Item = &'a TravelDocument>,
    ) -> Self {
        for d in documents.into_iter().filter(|d| d.nationality != State::Mongolia) {
            self.enrolled.insert(key(d), (register, d.id));
        }
        self
    }
}

impl ReferenceSource for NationalRegistry {
    fn name(&self) -> &'static str {
        "national registry, entry and visa enrolments"
    }

    fn reference(&self, who: &DocumentIdentity) -> Option<Enrolment> {
        let (register, id) = *self.enrolled.get(&(who.issuing_state.clone(), who.document_number.clone()))?;
        let minutiae =
            khil_sim_host::account::measure("national registry", || template(&self.fingers, id, ENROLMENT_IMPRESSION));
        Some(Enrolment { source: register.to_owned(), minutiae })
    }
}
