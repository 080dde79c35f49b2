//! The seam between the training page and whatever makes documents: a [`CaseSource`] hands out [`TrainingCase`]s
//! (images per light, what the chip and the databases say, the MRZ the reader's OCR gives) with their ground truth.
//! The training module knows nothing else about documents, so a richer catalogue (every fraud class of issue 14)
//! plugs in by implementing the trait; [`SimCases`] is the one built from the data-page renderer today.
//!
//! Contract for implementations:
//! - `case(seed, index, day)` is deterministic: the trainer's database keeps `(source name, seed, index, key)`
//!   instead of images or MRZs, and the same arguments must give the same case again.
//! - Every `TrainingCase::class` is the `name` of one of `classes()`; the class named [`GENUINE`] is the genuine
//!   document, every other one a defect the trainee can name.
//! - Nothing in a case's `Debug` output shows the MRZ, names or pixels (sizes and counts only).

use std::fmt;

use khil_docreader::Light;
use khil_mrtd::mrz::{CivilDate, Format};
use khil_sim_docreader::{Conditions, Design, Renderer};
use khil_sim_population::documents::{Documents, Kind, TravelDocument};
use serde::Serialize;

/// The class name of genuine, valid documents.
pub(crate) const GENUINE: &str = "genuine";

/// The lights a case is shown under, in the order of the page's buttons (keys 1, 2, 3).
pub(crate) const LIGHTS: [Light; 3] = [Light::White, Light::Infrared, Light::Ultraviolet];

/// A light's name in URLs and JSON.
pub(crate) fn light_name(light: Light) -> &'static str {
    match light {
        Light::White => "white",
        Light::Infrared => "infrared",
        Light::Ultraviolet => "ultraviolet",
        Light::Other(_) => "other",
    }
}

/// The light of a URL or JSON name.
pub(crate) fn light_from_name(name: &str) -> Option<Light> {
    LIGHTS.into_iter().find(|l| light_name(*l) == name)
}

/// A ground-truth class: `name` (kebab-case) is what is stored and scored, `label` what people read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ClassInfo {
    pub(crate) name: String,
    pub(crate) label: String,
}

impl ClassInfo {
    pub(crate) fn new(name: &str, label: &str) -> ClassInfo {
        ClassInfo { name: name.to_owned(), label: label.to_owned() }
    }
}

/// How a line of the chip and database panel reads: a plain fact, a check that passed, or an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum LineStatus {
    Info,
    Pass,
    Alert,
}

/// One line of the chip and database panel (`Chip access: PACE established`).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ChipLine {
    pub(crate) label: String,
    pub(crate) value: String,
    pub(crate) status: LineStatus,
}

impl fmt::Debug for ChipLine {
    // Values can hold the MRZ (DG1).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChipLine").field("label", &self.label).field("status", &self.status).finish_non_exhaustive()
    }
}

/// A capture of the data page under one light, as PNG.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct LightImage {
    pub(crate) light: Light,
    pub(crate) png: Vec<u8>,
}

impl fmt::Debug for LightImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LightImage({}, {} bytes)", light_name(self.light), self.png.len())
    }
}

/// One document put before the trainee.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct TrainingCase {
    /// Ground truth: the `name` of one of the source's classes.
    pub(crate) class: String,
    /// What identifies the case within its source beyond `(seed, index)`, stored so that a trainer can regenerate
    /// it (`document=17;design=genuine`); no personal data.
    pub(crate) key: String,
    /// What the trainee is told about the document before looking (`passport (TD3) of MNG`).
    pub(crate) summary: String,
    /// The data page under each light the source simulates (usually [`LIGHTS`]).
    pub(crate) images: Vec<LightImage>,
    /// What the chip and the database checks returned.
    pub(crate) chip: Vec<ChipLine>,
    /// The MRZ as the reader's OCR delivers it off the data page.
    pub(crate) mrz: Vec<String>,
    /// The chip's DG2 portrait as PNG, shown beside the chip panel (to compare with the page's); `None` when the
    /// source has none to show.
    pub(crate) chip_portrait: Option<Vec<u8>>,
}

impl fmt::Debug for TrainingCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrainingCase")
            .field("class", &self.class)
            .field("key", &self.key)
            .field("images", &self.images)
            .field("chip_lines", &self.chip.len())
            .field("mrz_lines", &self.mrz.len())
            .field("chip_portrait_bytes", &self.chip_portrait.as_ref().map(Vec::len))
            .finish_non_exhaustive()
    }
}

/// Why a case could not be made.
#[derive(Debug, thiserror::Error)]
#[error("case {index} of seed {seed}: {why}")]
pub(crate) struct CaseError {
    pub(crate) seed: u64,
    pub(crate) index: u32,
    pub(crate) why: String,
}

/// Where training cases come from. See the module documentation for the contract.
pub(crate) trait CaseSource: Send + Sync {
    /// Names the source and its version in the trainer's database (`khil-sim-docreader/designs-1`), so that a case
    /// is regenerated by the source that made it.
    fn name(&self) -> &str;
    /// Every class cases are drawn from, [`GENUINE`] first; the trainee names a defect from the others.
    fn classes(&self) -> Vec<ClassInfo>;
    /// Case `index` of the session seeded `seed`, examined on `day` (what "expired" is measured against).
    fn case(&self, seed: u64, index: u32, day: CivilDate) -> Result<TrainingCase, CaseError>;
}

/// The classes [`SimCases`] makes: the three page designs of the renderer, and two that need no change to the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SimClass {
    Genuine,
    CounterfeitOfficePaper,
    IrTransparentMrz,
    StolenBlank,
    Expired,
}

impl SimClass {
    const ALL: [SimClass; 5] = [
        SimClass::Genuine,
        SimClass::CounterfeitOfficePaper,
        SimClass::IrTransparentMrz,
        SimClass::StolenBlank,
        SimClass::Expired,
    ];

    /// Names as the forgery catalogue spells its `FraudClass` variants in kebab case.
    fn info(self) -> ClassInfo {
        match self {
            SimClass::Genuine => ClassInfo::new(GENUINE, "Genuine and valid"),
            SimClass::CounterfeitOfficePaper => {
                ClassInfo::new("counterfeit-office-paper", "Counterfeit on ordinary paper (UV-bright, no UV feature)")
            }
            SimClass::IrTransparentMrz => ClassInfo::new("ir-transparent-mrz", "MRZ printed in IR-transparent ink"),
            SimClass::StolenBlank => ClassInfo::new("stolen-blank", "Stolen blank (number on the lost/stolen list)"),
            SimClass::Expired => ClassInfo::new("expired", "Expired"),
        }
    }

    fn design(self) -> Design {
        match self {
            SimClass::CounterfeitOfficePaper => Design::counterfeit_office_paper(),
            SimClass::IrTransparentMrz => Design::counterfeit_ir_transparent_mrz(),
            SimClass::Genuine | SimClass::StolenBlank | SimClass::Expired => Design::genuine(),
        }
    }
}

/// How worn and badly placed the simulated pages are: a used document laid on the glass by hand.
const SEVERITY: f32 = 0.25;

/// Documents tried per case to find one of the kind the class needs (passport or identity card, expired or not);
/// about one population document in six is expired, so 64 tries practically never run out.
const TRIES: u64 = 64;

/// Cases from `khil-sim-docreader`'s renderer and `khil-sim-population`'s documents (population seed = session
/// seed). Each run of five cases holds each class once, in a seeded order.
#[derive(Debug)]
pub(crate) struct SimCases {
    renderer: Renderer,
}

impl SimCases {
    pub(crate) fn new(renderer: Renderer) -> SimCases {
        SimCases { renderer }
    }

    /// The class of case `index`.
    fn class_of(seed: u64, index: u32) -> SimClass {
        seeded_order(&SimClass::ALL, seed, index)
    }

    /// The first document at or after `index * TRIES` that the class can be shown on.
    fn document_for(documents: &Documents, class: SimClass, index: u32, day: CivilDate) -> Option<TravelDocument> {
        let first = u64::from(index) * TRIES;
        (first..first + TRIES).map(|id| documents.document(id)).find(|d| {
            // Visas carry no chip: the chip panel is part of every case.
            d.kind != Kind::Visa && d.expired_on(day) == (class == SimClass::Expired)
        })
    }
}

/// Item `index` of a seeded order of `items`: run `index / items.len()` is a permutation of them, so every run
/// holds each item once.
pub(crate) fn seeded_order<T: Copy>(items: &[T], seed: u64, index: u32) -> T {
    let n = items.len();
    let run = u64::from(index) / n as u64;
    let mut order: Vec<T> = items.to_vec();
    // Fisher-Yates with splitmix64 of (seed, run): no RNG state to keep between cases.
    let mut state = seed ^ run.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for i in (1..n).rev() {
        state = splitmix64(state);
        order.swap(i, (state % (i as u64 + 1)) as usize);
    }
    order[index as usize % n]
}

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl CaseSource for SimCases {
    fn name(&self) -> &'static str {
        "khil-sim-docreader/designs-1"
    }

    fn classes(&self) -> Vec<ClassInfo> {
        SimClass::ALL.iter().map(|c| c.info()).collect()
    }

    fn case(&self, seed: u64, index: u32, day: CivilDate) -> Result<TrainingCase, CaseError> {
        let class = SimCases::class_of(seed, index);
        let error = |why: String| CaseError { seed, index, why };
        let documents = Documents::new(seed, day);
        let document = SimCases::document_for(&documents, class, index, day).ok_or_else(|| {
            error(format!("no population document fits class {} in {TRIES} tries", class.info().name))
        })?;
        let conditions = Conditions::random(document.id ^ seed.rotate_left(17), SEVERITY);
        let design = class.design();
        let images = LIGHTS
            .into_iter()
            .map(|light| {
                let capture = self
                    .renderer
                    .render_with(&document, &design, light, &conditions, document.id ^ seed)
                    .map_err(|e| error(e.to_string()))?;
                Ok(LightImage { light, png: capture.image.to_png() })
            })
            .collect::<Result<Vec<_>, CaseError>>()?;
        let mrz = document.mrz().lines;
        let kind = match document.kind {
            Kind::Passport => "passport",
            Kind::IdentityCard => "identity card",
            Kind::Visa => "visa",
        };
        let format = match document.format {
            Format::Td1 => "TD1",
            Format::Td2 => "TD2",
            Format::Td3 => "TD3",
            Format::MrvA => "MRV-A",
            Format::MrvB => "MRV-B",
        };
        let summary = format!("{kind} ({format}) issued by {}", document.issuing_state.code());
        Ok(TrainingCase {
            class: class.info().name,
            key: format!("document={};design={}", document.id, class.info().name),
            summary,
            images,
            chip: chip_lines(&document, class, &mrz),
            mrz,
            chip_portrait: None,
        })
    }
}

/// The chip and database panel. The chip of every simulated class reads and verifies (a counterfeit here carries a
/// cloned chip, a stolen blank a genuine one); what differs is the lost/stolen database.
fn chip_lines(document: &TravelDocument, class: SimClass, mrz: &[String]) -> Vec<ChipLine> {
    let line = |label: &str, value: String, status| ChipLine { label: label.to_owned(), value, status };
    let access = if document.kind == Kind::IdentityCard { "PACE with the CAN" } else { "PACE with the MRZ" };
    let database = if class == SimClass::StolenBlank {
        line(
            "Lost/stolen database",
            format!("HIT: document number reported stolen as a blank by {}", document.issuing_state.code()),
            LineStatus::Alert,
        )
    } else {
        line("Lost/stolen database", "no record".to_owned(), LineStatus::Pass)
    };
    vec![
        line("Chip access", format!("{access}: established"), LineStatus::Pass),
        line("Passive authentication", "SOD signature and data group hashes valid".to_owned(), LineStatus::Pass),
        line("DG1 (chip MRZ)", mrz.join("\n"), LineStatus::Info),
        line("DG2 portrait", "present".to_owned(), LineStatus::Info),
        database,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_run_of_five_cases_holds_each_class_once_in_a_seeded_order() {
        for seed in [0, 1, 99] {
            for run in 0..3u32 {
                let mut seen: Vec<SimClass> = (run * 5..run * 5 + 5).map(|i| SimCases::class_of(seed, i)).collect();
                seen.sort_by_key(|c| c.info().name);
                let mut all = SimClass::ALL.to_vec();
                all.sort_by_key(|c| c.info().name);
                assert_eq!(seen, all, "seed {seed} run {run}");
            }
        }
        let order = |seed| (0..5).map(|i| SimCases::class_of(seed, i)).collect::<Vec<_>>();
        assert!((0..8).any(|s| order(s) != order(0)), "the order depends on the seed");
    }

    #[test]
    fn documents_fit_their_class() {
        let day = CivilDate::new(2026, 12, 6).unwrap();
        let documents = Documents::new(3, day);
        for index in 0..20 {
            for class in SimClass::ALL {
                let d = SimCases::document_for(&documents, class, index, day).expect("found");
                assert_ne!(d.kind, Kind::Visa);
                assert_eq!(d.expired_on(day), class == SimClass::Expired, "{class:?} {index}");
            }
        }
    }

    #[test]
    fn lights_round_trip_through_their_names() {
        for light in LIGHTS {
            assert_eq!(light_from_name(light_name(light)), Some(light));
        }
        assert_eq!(light_from_name("x-ray"), None);
    }
}
