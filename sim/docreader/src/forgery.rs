//! The forgery catalogue: genuine, counterfeit and altered specimens of the population's documents, each with
//! what its chip holds, what its data page shows, the conditions it is captured under and the ground truth.
//!
//! The fraud classes follow 9303-2 §2 and A.4 (/work/shared/reference/document-examination.md). **The mix of
//! classes, and every range below, is an assumption of this simulator**: no published split of fraud types or
//! measured ink responses was found. A catalogue has two [`ParameterSpace`]s: the examiner's thresholds are set
//! on [`ParameterSpace::Development`] only, and [`ParameterSpace::HeldOut`] uses other wear and lighting ranges,
//! other "printer models" (counterfeit paper and ink responses) and other alteration styles, so that a benchmark
//! can tell how the examiner does on forgeries it was not tuned on.
//!
//! The examiner's chip input is kept to what an inspection yields: the DG1 MRZ, the DG2 portrait and whether
//! passive authentication passed. No chip is issued here (khil-sim-mrtd does that for the reader simulator).
//! A stolen blank's chip: the blank left the issuer unpersonalised, the fraudsters wrote their own DG1/DG2,
//! which they cannot sign with the issuer's document signer key, so passive authentication fails (the
//! behaviour chosen here; a blank stolen after personalisation would carry the victim's data instead).

use khil_biometrics::image::GrayImage;
use khil_mrtd::mrz::{CivilDate, Format, Mrz, Name};
use khil_sim_population::documents::{Documents, Kind, TravelDocument};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::page::{Conditions, Design, PageContent, portrait_grey};

/// What a specimen is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FraudClass {
    Genuine,
    CounterfeitOfficePaper,
    IrTransparentMrz,
    AlteredBiodata,
    AlteredMrzCheckDigit,
    AlteredMrzRecomputed,
    PhotoSubstitution,
    Fantasy,
    StolenBlank,
    Expired,
}

impl FraudClass {
    pub const ALL: [FraudClass; 10] = [
        FraudClass::Genuine,
        FraudClass::CounterfeitOfficePaper,
        FraudClass::IrTransparentMrz,
        FraudClass::AlteredBiodata,
        FraudClass::AlteredMrzCheckDigit,
        FraudClass::AlteredMrzRecomputed,
        FraudClass::PhotoSubstitution,
        FraudClass::Fantasy,
        FraudClass::StolenBlank,
        FraudClass::Expired,
    ];

    /// A stable kebab-case name (reports, JSON, command lines).
    pub fn name(self) -> &'static str {
        match self {
            FraudClass::Genuine => "genuine",
            FraudClass::CounterfeitOfficePaper => "counterfeit-office-paper",
            FraudClass::IrTransparentMrz => "ir-transparent-mrz",
            FraudClass::AlteredBiodata => "altered-biodata",
            FraudClass::AlteredMrzCheckDigit => "altered-mrz-check-digit",
            FraudClass::AlteredMrzRecomputed => "altered-mrz-recomputed",
            FraudClass::PhotoSubstitution => "photo-substitution",
            FraudClass::Fantasy => "fantasy",
            FraudClass::StolenBlank => "stolen-blank",
            FraudClass::Expired => "expired",
        }
    }

    pub fn from_name(name: &str) -> Option<FraudClass> {
        FraudClass::ALL.into_iter().find(|c| c.name() == name)
    }

    /// One line for an officer or a report.
    pub fn description(self) -> &'static str {
        match self {
            FraudClass::Genuine => "a genuine, valid document",
            FraudClass::CounterfeitOfficePaper => {
                "counterfeit printed on office paper with a laser printer: UV-bright substrate, no (or a weak fake) \
                 fluorescent feature, toner that absorbs infrared"
            }
            FraudClass::IrTransparentMrz => "the MRZ reprinted in dye ink that vanishes at 900 nm (fails B900)",
            FraudClass::AlteredBiodata => "a VIZ field altered: the page's visual zone no longer matches its MRZ",
            FraudClass::AlteredMrzCheckDigit => "MRZ and VIZ altered, the MRZ check digits left as they were",
            FraudClass::AlteredMrzRecomputed => {
                "MRZ and VIZ altered with recomputed check digits: consistent on the page, different from the chip"
            }
            FraudClass::PhotoSubstitution => "the page portrait replaced: it differs from the chip's DG2 portrait",
            FraudClass::Fantasy => "a fantasy document of an issuer that does not exist, in a layout of its own",
            FraudClass::StolenBlank => {
                "a stolen blank personalised by fraudsters: genuine features, number on the lost/stolen list, chip \
                 written without the issuer's signing key"
            }
            FraudClass::Expired => "a genuine document past its date of expiry",
        }
    }
}

/// Which part of the catalogue's parameter space a specimen is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParameterSpace {
    /// The examiner's thresholds are set on this space.
    Development,
    /// Other wear, lighting, printer models and alteration styles: never used for tuning.
    HeldOut,
}

impl ParameterSpace {
    pub fn name(self) -> &'static str {
        match self {
            ParameterSpace::Development => "development",
            ParameterSpace::HeldOut => "held-out",
        }
    }

    fn tag(self) -> u64 {
        match self {
            ParameterSpace::Development => 0,
            ParameterSpace::HeldOut => 0x48_454C_444F_5554,
        }
    }
}

/// What a chip yields an inspection system: DG1's MRZ, DG2's portrait (decoded to grey) and the outcome of
/// passive authentication.
#[derive(Clone, PartialEq)]
pub struct ChipContent {
    pub dg1_mrz: Vec<String>,
    pub dg2_portrait: GrayImage,
    pub passive_authentication_passed: bool,
}

impl std::fmt::Debug for ChipContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChipContent")
            .field("dg1_lines", &self.dg1_mrz.len())
            .field("dg2_portrait", &self.dg2_portrait)
            .field("passive_authentication_passed", &self.passive_authentication_passed)
            .finish()
    }
}

/// One document put on the reader: its chip, its page, how it is captured, and what it really is.
#[derive(Clone)]
pub struct Specimen {
    /// Ground truth.
    pub class: FraudClass,
    pub space: ParameterSpace,
    /// The population document the specimen is made from (what the issuer's records hold).
    pub document: TravelDocument,
    /// `None` for documents without a chip (visas, fantasy documents).
    pub chip: Option<ChipContent>,
    /// What the page shows.
    pub page: PageContent,
    /// What the page is printed with.
    pub design: Design,
    pub conditions: Conditions,
    /// Seeds the capture's noise, scratches and dirt.
    pub capture_seed: u64,
    /// (issuing state, document number) that the specimen puts on the lost/stolen list (stolen blanks).
    pub listed: Option<(String, String)>,
}

impl std::fmt::Debug for Specimen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Specimen")
            .field("class", &self.class)
            .field("space", &self.space)
            .field("document", &self.document)
            .field("chip", &self.chip)
            .field("page", &self.page)
            .finish_non_exhaustive()
    }
}

/// Issuers that do not exist, one set per space (codes no population state uses).
const FANTASY_DEVELOPMENT: [(&str, &str); 2] = [("WKR", "WEST KARIA"), ("QZL", "QUAZILAND")];
const FANTASY_HELD_OUT: [(&str, &str); 2] = [("NRB", "NORTH RABONIA"), ("TVX", "TAVAXIA")];

/// Generates specimens: one catalogue per population seed, reference day and parameter space.
#[derive(Debug, Clone, Copy)]
pub struct Catalogue {
    population_seed: u64,
    today: CivilDate,
    space: ParameterSpace,
}

impl Catalogue {
    pub fn new(population_seed: u64, today: CivilDate, space: ParameterSpace) -> Catalogue {
        Catalogue { population_seed, today, space }
    }

    pub fn space(&self) -> ParameterSpace {
        self.space
    }

    /// Specimen `index` of `class`: the same arguments give the same specimen.
    pub fn specimen(&self, class: FraudClass, index: u64) -> Specimen {
        let key = self.population_seed ^ self.space.tag();
        let mut rng = rng_for(key, class as u64, index);
        let documents = Documents::new(key, self.today);
        // Classes that compare the page with the chip need a document with one; every class but Expired needs
        // one valid today.
        let needs_chip =
            matches!(class, FraudClass::AlteredMrzRecomputed | FraudClass::PhotoSubstitution | FraudClass::StolenBlank);
        let base = ((class as u64) << 40) | (index << 8);
        let document = (0..256)
            .map(|j| documents.document(base + j))
            .find(|d| !d.expired_on(self.today) && (!needs_chip || d.kind != Kind::Visa))
            .unwrap_or_else(|| documents.document(base));
        let conditions = self.conditions(&mut rng);
        let design = self.genuine_design(&mut rng);
        // One portrait for the chip and the page (the generator is a costly part of a specimen).
        let portrait = portrait_grey(document.id);
        let mut s = Specimen {
            class,
            space: self.space,
            chip: chip_of(&document, &portrait),
            page: PageContent::with_portrait(&document, portrait),
            document,
            design,
            conditions,
            capture_seed: rng.random(),
            listed: None,
        };
        match class {
            FraudClass::Genuine => {}
            FraudClass::CounterfeitOfficePaper => self.office_paper(&mut s, &mut rng),
            FraudClass::IrTransparentMrz => {
                // Dye inkjet inks: development 0-0.10 absorbance at 900 nm, held-out 0.10-0.30 (a partly
                // absorbing ink, closer to genuine).
                s.design.mrz.infrared = match self.space {
                    ParameterSpace::Development => rng.random_range(0.0..0.10),
                    ParameterSpace::HeldOut => rng.random_range(0.10..0.30),
                };
            }
            FraudClass::AlteredBiodata => self.alter_viz(&mut s, &mut rng, &documents),
            FraudClass::AlteredMrzCheckDigit => self.alter_mrz_digit(&mut s, &mut rng),
            FraudClass::AlteredMrzRecomputed => self.alter_mrz_recomputed(&mut s, &mut rng, &documents),
            FraudClass::PhotoSubstitution => self.substitute_photo(&mut s, &mut rng),
            FraudClass::Fantasy => self.fantasy(&mut s, &mut rng),
            FraudClass::StolenBlank => {
                let number = s.document.document_number.clone();
                s.listed = Some((s.document.issuing_state.code().to_owned(), number));
                // The fraudsters' own chip: their data, their portrait, no valid signature.
                if let Some(chip) = &mut s.chip {
                    chip.passive_authentication_passed = false;
                }
            }
            FraudClass::Expired => {
                let days_ago = rng.random_range(1..2000);
                let expiry = self.today.add_days(-days_ago).unwrap_or(self.today);
                s.document.expiry_date = expiry;
                s.document.issue_date = expiry.add_years(-10).unwrap_or(expiry);
                let portrait = s.page.portrait.clone();
                s.chip = chip_of(&s.document, &portrait);
                s.page = PageContent::with_portrait(&s.document, portrait);
            }
        }
        s
    }

    /// Capture conditions. Development: wear and dirt 0-0.5, gain 0.8-1.2, black level ±15, unevenness 0-0.25.
    /// Held-out: wear and dirt 0.3-0.8, gain 0.65-1.35, black level -25..30, unevenness 0.15-0.4 (older
    /// documents, other lamps). Placement is the same in both (±2 mm, ±3°: the reader's corner guide).
    fn conditions(&self, rng: &mut ChaCha8Rng) -> Conditions {
        let (wear, gain, offset, uneven) = match self.space {
            ParameterSpace::Development => ((0.0, 0.5), (0.8, 1.2), (-15.0, 15.0), (0.0, 0.25)),
            ParameterSpace::HeldOut => ((0.3, 0.8), (0.65, 1.35), (-25.0, 30.0), (0.15, 0.4)),
        };
        Conditions {
            wear: rng.random_range(wear.0..wear.1),
            dirt: rng.random_range(wear.0..wear.1),
            gain: rng.random_range(gain.0..gain.1),
            offset: rng.random_range(offset.0..offset.1),
            unevenness: rng.random_range(uneven.0..uneven.1),
            shift_mm: (rng.random_range(-2.0..2.0), rng.random_range(-2.0..2.0)),
            rotation_deg: rng.random_range(-3.0..3.0),
        }
    }

    /// A genuine print run: the issuer's materials vary a little from batch to batch, more in the held-out space.
    fn genuine_design(&self, rng: &mut ChaCha8Rng) -> Design {
        let spread = match self.space {
            ParameterSpace::Development => 1.0,
            ParameterSpace::HeldOut => 1.6,
        };
        let mut d = Design::genuine();
        let mut vary = |v: f32, by: f32| (v + rng.random_range(-by..by) * spread).clamp(0.0, 1.0);
        d.substrate.ultraviolet = vary(d.substrate.ultraviolet, 0.03);
        d.fluorescent.ultraviolet = vary(d.fluorescent.ultraviolet, 0.08);
        d.mrz.infrared = vary(d.mrz.infrared, 0.04);
        d.fields.infrared = vary(d.fields.infrared, 0.02);
        d
    }

    /// Printer models. Development: brightened office paper (UV 0.55-0.85), laser toner absorbing 0.7-0.9 in IR,
    /// no fluorescent feature. Held-out: low-brightener paper (UV 0.25-0.5), toner 0.45-0.85, and in half of
    /// them a fake emblem in a weakly fluorescent ink (0.1-0.3).
    fn office_paper(&self, s: &mut Specimen, rng: &mut ChaCha8Rng) {
        let mut d = Design::counterfeit_office_paper();
        let (paper, toner) = match self.space {
            ParameterSpace::Development => ((0.55, 0.85), (0.7, 0.9)),
            ParameterSpace::HeldOut => ((0.25, 0.5), (0.45, 0.85)),
        };
        d.substrate.ultraviolet = rng.random_range(paper.0..paper.1);
        d.fields.infrared = rng.random_range(toner.0..toner.1);
        d.preprint.infrared = d.fields.infrared * 0.85;
        d.background.infrared = d.fields.infrared * 0.5;
        if self.space == ParameterSpace::HeldOut && rng.random_bool(0.5) {
            d.fluorescent.ultraviolet = rng.random_range(0.1..0.3);
        }
        s.design = d;
        // A counterfeit has no genuine chip: the counterfeiters cloned the DG1/DG2 of a genuine document of
        // the data they copied onto a chip they cannot sign.
        if let Some(chip) = &mut s.chip {
            chip.passive_authentication_passed = false;
        }
    }

    /// One VIZ field changed, the MRZ and the chip left alone. Development: the surname or the date of birth;
    /// held-out: the given names, the date of expiry or a digit of the document number.
    fn alter_viz(&self, s: &mut Specimen, rng: &mut ChaCha8Rng, documents: &Documents) {
        let other = documents.document(rng.random::<u64>() >> 8);
        match (self.space, rng.random_bool(0.5)) {
            (ParameterSpace::Development, true) => {
                let surname = different(&s.document.surname, &other.surname, "SMITH");
                s.page.set_viz("surname", surname);
            }
            (ParameterSpace::Development, false) => {
                let birth = shifted_date(s.document.birth_date, rng.random_range(1..4000), rng);
                s.page.set_viz("birth_date", iso(birth));
            }
            (ParameterSpace::HeldOut, true) => {
                let given = different(&s.document.given_names, &other.given_names, "ALEX");
                s.page.set_viz("given_names", given);
            }
            (ParameterSpace::HeldOut, false) => {
                if rng.random_bool(0.5) {
                    let expiry =
                        s.document.expiry_date.add_years(rng.random_range(1..6)).unwrap_or(s.document.expiry_date);
                    s.page.set_viz("expiry_date", iso(expiry));
                } else {
                    let number = change_one_digit(&s.document.document_number, rng);
                    s.page.set_viz("document_number", number);
                }
            }
        }
    }

    /// A date digit changed in the MRZ (and the VIZ to match), the check digits left as printed. Development:
    /// the date of birth; held-out: the date of expiry or the document number.
    fn alter_mrz_digit(&self, s: &mut Specimen, rng: &mut ChaCha8Rng) {
        let original = s.document.mrz().lines;
        let checks = check_positions(s.document.format);
        // A changed field can keep its check digit (one in ten), and a visa has no composite to catch it: try
        // again until a printed check digit is wrong, which is what this class is.
        for _ in 0..32 {
            let mut altered = s.document.clone();
            let field = match self.space {
                ParameterSpace::Development => "birth_date",
                ParameterSpace::HeldOut if rng.random_bool(0.5) => "expiry_date",
                ParameterSpace::HeldOut => "document_number",
            };
            match field {
                "birth_date" => altered.birth_date = shifted_date(altered.birth_date, rng.random_range(1..3000), rng),
                "expiry_date" => {
                    altered.expiry_date =
                        altered.expiry_date.add_years(rng.random_range(1..8)).unwrap_or(altered.expiry_date);
                }
                _ => altered.document_number = change_one_digit(&altered.document_number, rng),
            }
            // The altered lines with the original check digits: every check-digit position from the original.
            let lines: Vec<String> = altered
                .mrz()
                .lines
                .iter()
                .zip(&original)
                .enumerate()
                .map(|(i, (new, old))| {
                    new.chars()
                        .zip(old.chars())
                        .enumerate()
                        .map(|(j, (n, o))| if checks.contains(&(i, j)) { o } else { n })
                        .collect()
                })
                .collect();
            if Mrz::read_lines(&lines).is_ok_and(|r| !r.all_ok()) {
                let portrait = s.page.portrait.clone();
                s.page = PageContent::with_portrait(&altered, portrait);
                s.page.mrz_lines = lines;
                return;
            }
        }
    }

    /// MRZ and VIZ altered consistently, check digits recomputed; the chip keeps the original. Development: the
    /// date of birth; held-out: the date of expiry extended or the surname replaced.
    fn alter_mrz_recomputed(&self, s: &mut Specimen, rng: &mut ChaCha8Rng, documents: &Documents) {
        let mut altered = s.document.clone();
        match (self.space, rng.random_bool(0.5)) {
            (ParameterSpace::Development, _) => {
                altered.birth_date = shifted_date(altered.birth_date, rng.random_range(1..5000), rng);
            }
            (ParameterSpace::HeldOut, true) => {
                altered.expiry_date =
                    altered.expiry_date.add_years(rng.random_range(1..8)).unwrap_or(altered.expiry_date);
            }
            (ParameterSpace::HeldOut, false) => {
                let other = documents.document(rng.random::<u64>() >> 8);
                altered.surname = different(&altered.surname, &other.surname, "SMITH");
            }
        }
        if Name::new(&altered.surname, &altered.given_names).is_err() || altered.mrz_fields().generate().is_err() {
            altered = s.document.clone();
            altered.birth_date = shifted_date(altered.birth_date, 400, rng);
        }
        let portrait = s.page.portrait.clone();
        s.page = PageContent::with_portrait(&altered, portrait);
    }

    /// Another person's picture on the page. Development: a portrait as the issuer prints them; held-out: a
    /// photo glued in with other brightness and contrast (another printer, another photo paper).
    fn substitute_photo(&self, s: &mut Specimen, rng: &mut ChaCha8Rng) {
        let mut seed: u64 = rng.random();
        if seed == s.document.id {
            seed ^= 1;
        }
        let mut portrait = portrait_grey(seed);
        if self.space == ParameterSpace::HeldOut {
            let (gain, lift) = (rng.random_range(0.75..1.15f32), rng.random_range(-20.0..25.0f32));
            for p in &mut portrait.pixels {
                *p = (f32::from(*p) * gain + lift).clamp(0.0, 255.0) as u8;
            }
        }
        s.page.portrait = portrait;
    }

    /// An issuer that does not exist: its own header, pattern and layout (portrait on the right), no chip. The
    /// MRZ is well formed, check digits included.
    fn fantasy(&self, s: &mut Specimen, rng: &mut ChaCha8Rng) {
        let issuers = match self.space {
            ParameterSpace::Development => FANTASY_DEVELOPMENT,
            ParameterSpace::HeldOut => FANTASY_HELD_OUT,
        };
        let (code, name) = issuers[rng.random_range(0..issuers.len())];
        let mut fields = s.document.mrz_fields();
        code.clone_into(&mut fields.issuing_state);
        code.clone_into(&mut fields.nationality);
        let lines = fields.generate().map_or_else(|_| s.page.mrz_lines.clone(), |g| g.lines);
        let mut page = s.page.clone();
        name.clone_into(&mut page.state_name);
        code.clone_into(&mut page.emblem_code);
        page.pattern_seed = rng.random();
        page.set_viz("issuing_state", code.to_owned());
        page.set_viz("nationality", code.to_owned());
        page.mrz_lines = lines;
        // Mirror the layout: the portrait to the right, the fields and the emblem to the left.
        let l = &mut page.layout;
        let width = l.width_mm;
        l.portrait.x = width - l.portrait.x - l.portrait.w;
        l.viz.x = width - l.viz.x - l.viz.w;
        l.uv_emblem.x = width - l.uv_emblem.x - l.uv_emblem.w;
        s.page = page;
        s.chip = None;
    }
}

/// A genuine chip's content for `document`: its MRZ, its portrait, a valid signature. Visas have no chip.
/// The chip of `document`, issued with `portrait` (its DG2, [`portrait_grey`] of the document's id).
fn chip_of(document: &TravelDocument, portrait: &GrayImage) -> Option<ChipContent> {
    (document.kind != Kind::Visa).then(|| ChipContent {
        dg1_mrz: document.mrz().lines,
        dg2_portrait: portrait.clone(),
        passive_authentication_passed: true,
    })
}

fn rng_for(key: u64, class: u64, index: u64) -> ChaCha8Rng {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&key.to_le_bytes());
    seed[8..16].copy_from_slice(&class.to_le_bytes());
    seed[16..24].copy_from_slice(&index.to_le_bytes());
    seed[24..32].copy_from_slice(b"forgery!");
    ChaCha8Rng::from_seed(seed)
}

fn iso(d: CivilDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// `d` moved by `days` (either way), never onto itself.
fn shifted_date(d: CivilDate, days: i64, rng: &mut ChaCha8Rng) -> CivilDate {
    let days = if rng.random_bool(0.5) { days.max(1) } else { -days.max(1) };
    d.add_days(days).or_else(|| d.add_days(-days)).unwrap_or(d)
}

fn different(current: &str, candidate: &str, fallback: &str) -> String {
    if candidate != current && !candidate.is_empty() {
        candidate.to_owned()
    } else {
        format!("{fallback}{}", current.len())
    }
}

/// `number` with one digit replaced by another (or, without digits, its last character).
fn change_one_digit(number: &str, rng: &mut ChaCha8Rng) -> String {
    let mut chars: Vec<char> = number.chars().collect();
    let digits: Vec<usize> = chars.iter().enumerate().filter(|(_, c)| c.is_ascii_digit()).map(|(i, _)| i).collect();
    let at = if digits.is_empty() { chars.len().saturating_sub(1) } else { digits[rng.random_range(0..digits.len())] };
    if let Some(c) = chars.get_mut(at) {
        let old = c.to_digit(10).unwrap_or(0);
        let new = (old + rng.random_range(1..10)) % 10;
        *c = char::from_digit(new, 10).unwrap_or('0');
    }
    chars.into_iter().collect()
}

/// (line, column) of every check digit of a format (9303-4, -5, -6, -7), 0-based.
fn check_positions(format: Format) -> Vec<(usize, usize)> {
    match format {
        Format::Td1 => vec![(0, 14), (1, 6), (1, 14), (1, 29)],
        Format::Td2 => vec![(1, 9), (1, 19), (1, 27), (1, 35)],
        Format::Td3 => vec![(1, 9), (1, 19), (1, 27), (1, 42), (1, 43)],
        Format::MrvA | Format::MrvB => vec![(1, 9), (1, 19), (1, 27)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> CivilDate {
        CivilDate::new(2026, 12, 6).unwrap()
    }

    #[test]
    fn names_are_stable_and_round_trip() {
        for c in FraudClass::ALL {
            assert_eq!(FraudClass::from_name(c.name()), Some(c));
            assert!(!c.description().is_empty());
        }
        assert_eq!(FraudClass::from_name("forged"), None);
    }

    #[test]
    fn specimens_are_deterministic_and_spaces_differ() {
        let dev = Catalogue::new(5, today(), ParameterSpace::Development);
        let a = dev.specimen(FraudClass::Genuine, 3);
        let b = dev.specimen(FraudClass::Genuine, 3);
        assert_eq!(a.page, b.page);
        assert_eq!(a.conditions, b.conditions);
        let held = Catalogue::new(5, today(), ParameterSpace::HeldOut).specimen(FraudClass::Genuine, 3);
        assert_ne!(a.page.mrz_lines, held.page.mrz_lines);
    }

    #[test]
    fn each_class_changes_what_it_says() {
        let cat = Catalogue::new(9, today(), ParameterSpace::Development);
        for i in 0..30 {
            let d = cat.specimen(FraudClass::AlteredMrzCheckDigit, i);
            assert!(!Mrz::read_lines(&d.page.mrz_lines).unwrap().all_ok(), "specimen {i}: check digits still right");
        }
        for i in 0..6 {
            let g = cat.specimen(FraudClass::Genuine, i);
            assert_eq!(Some(&g.page.mrz_lines), g.chip.as_ref().map(|c| &c.dg1_mrz).or(Some(&g.page.mrz_lines)));
            assert!(Mrz::read_lines(&g.page.mrz_lines).unwrap().all_ok());
            let d = cat.specimen(FraudClass::AlteredMrzCheckDigit, i);
            assert!(!Mrz::read_lines(&d.page.mrz_lines).unwrap().all_ok(), "check digit left stale");
            let r = cat.specimen(FraudClass::AlteredMrzRecomputed, i);
            assert!(Mrz::read_lines(&r.page.mrz_lines).unwrap().all_ok());
            assert_ne!(Some(&r.page.mrz_lines), r.chip.as_ref().map(|c| &c.dg1_mrz));
            let p = cat.specimen(FraudClass::PhotoSubstitution, i);
            assert_ne!(Some(&p.page.portrait), p.chip.as_ref().map(|c| &c.dg2_portrait));
            let e = cat.specimen(FraudClass::Expired, i);
            assert!(e.document.expired_on(today()));
            let s = cat.specimen(FraudClass::StolenBlank, i);
            assert!(s.listed.is_some() && !s.chip.unwrap().passive_authentication_passed);
            let b = cat.specimen(FraudClass::AlteredBiodata, i);
            assert_ne!(b.page.viz, PageContent::of(&b.document).viz);
        }
    }
}
