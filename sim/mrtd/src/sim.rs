//! `khil sim passport` and `sim:passport?...`: an e-passport chip with a document of the synthetic population on
//! it, issued under khil's test PKI, for any PC/SC inspection system (through pcscd's vpcd) or in memory. The
//! traveller lays the passport on the reader and takes it away from the console.

use std::sync::{Arc, Mutex};

use khil_biometrics::synth::{Quality, SensorProfile};
use khil_mrtd::mrz::{CivilDate, Mrz};
use khil_sim_host::config::{ParamError, ParamSpec, Params};
use khil_sim_host::{Build, BuiltCard, Console, Simulator};
use khil_sim_population::Fingers;
use khil_sim_population::documents::{Documents, Kind};

use crate::chip::{ChipContent, PassportChip};
use crate::faults::FaultList;
use crate::issue::{DocumentSpec, GreyFinger, PaceOffer, issue};
use crate::pki::{Signer, State, TestPki};

/// The day the simulated population's documents are issued around (issue and expiry dates): fixed, so that a
/// simulator and an inspection system started on different days with the same seed agree on every document.
pub const REFERENCE_DAY: (u16, u8, u8) = (2026, 6, 1);

/// The test PKI of `seed` that `khil sim passport` issues under and `khil document read` trusts by default. Its
/// keys depend on the seed only; its dates on the quarter we are in (reference: the quarter's first day), so
/// that its CRLs (90 days, as real ones) are current whenever it is used, and a simulator and a reader running
/// in the same quarter hold the very same certificates. Across quarters only validity dates differ: the same
/// CSCA keys still verify every Document Signer.
pub fn test_pki(seed: u64) -> Result<TestPki, String> {
    let now = der::DateTime::from_system_time(std::time::SystemTime::now()).map_err(|e| e.to_string())?;
    let quarter_month = (now.month() - 1) / 3 * 3 + 1;
    let reference = der::DateTime::new(now.year(), quarter_month, 1, 0, 0, 0).map_err(|e| e.to_string())?;
    TestPki::new(seed, reference).map_err(|e| format!("the test PKI: {e}"))
}

pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::new(
        "document",
        "ID|FILE",
        "Which document is on the chip: a population document id (passports and identity cards; visas have no \
         chip), or a file holding the MRZ lines of one",
    )
    .default("0"),
    ParamSpec::new(
        "pace-curve",
        "CURVE",
        "PACE offered in EF.CardAccess (ECDH generic mapping, AES-128): brainpool (brainpoolP256r1), p256, or none \
         (a BAC-only document)",
    )
    .default("brainpool"),
    ParamSpec::new("can", "DIGITS", "The card access number printed on the page, for PACE with the CAN (6 digits)"),
    ParamSpec::new(
        "absent",
        "BOOL",
        "Start with the reader empty (true); `present` on the console lays the document on it",
    )
    .default("false"),
];

pub const CONSOLE: &str = "`remove` (take the document off the reader), `present` (lay it on again: the chip \
powers up afresh), `status`";

pub const SIMULATOR: Simulator = Simulator {
    name: "passport",
    about: "An e-passport chip (ICAO 9303: BAC, PACE, secure messaging, CA, AA) for PC/SC inspection systems",
    help: "Plugs into pcscd's virtual reader (Debian vsmartcard-vpcd) and prints `ready pcsc://<reader>`; any PC/SC \
           inspection system then reads it as a chip on a real reader. The document comes from the synthetic \
           population (or an MRZ file) and is issued under khil's test PKI of the same seed (`khil document read` \
           trusts that PKI by default).\n\nExamples:\n  khil sim passport --vpcd 127.0.0.1:35963 --document 3\n  \
           khil document read --device 'pcsc://Virtual PCD 00 00' --document 3\n  \
           khil document read --device 'sim:passport?document=3' --document 3\n\nConsole (stdin): `remove`, `present`, \
           `status`.\n\nFaults for a lower tester (--fault, repeatable, with the line's trigger grammar: at=N, every=N, \
           p=P): wrong-mac, bad-ssc, eof-9000, eof-6b00, slow[:ms=N], mute, clone, corrupt-dg[:dg=N], unknown-ds, \
           expired-ds, revoked-ds; `khil document read` names each in a failed check. The chip's own EAC defects, \
           eac-open (DG3 without terminal authentication) and ta-no-expiry (expired terminal certificates \
           accepted), are what `khil conformance run --class emrtd-chip` catches.",
    params: PARAMS,
    build: Build::Card(build),
};

/// The chip's document: its MRZ and issuing state, from a population id or an MRZ file, and the seed of its
/// keys and portrait: a population document's id (so that its data page on `sim:docreader`, which prints
/// `khil_sim_docreader::portrait_grey(id)`, shows the portrait DG2 holds), or the simulator's seed.
fn document_mrz(params: &Params, seed: u64) -> Result<(String, State, Option<GreyFinger>, u64), ParamError> {
    let value = params.value("document");
    let (y, m, d) = REFERENCE_DAY;
    let reference = CivilDate::new(y, m, d).expect("a real day");
    let (mrz, state_code, finger_id, document_seed) = if let Ok(id) = value.value.parse::<u64>() {
        let doc = Documents::new(seed, reference).document(id);
        if doc.kind == Kind::Visa {
            return Err(value.bad(format!(
                "document {id} is a visa ({}), which has no chip: pick a passport or an identity card",
                doc.format
            )));
        }
        (doc.mrz().lines.join("\n"), doc.issuing_state.code().to_owned(), Some(id), doc.id)
    } else {
        let text = std::fs::read_to_string(value.value)
            .map_err(|e| value.bad(format!("a population id (a number) or a readable MRZ file: {e}")))?;
        let mrz = Mrz::parse(text.trim()).map_err(|e| value.bad(format!("an MRZ in the file: {e}")))?;
        let lines = mrz.generate().map_err(|e| value.bad(e.to_string()))?.lines.join("\n");
        (lines, mrz.issuing_state.clone(), None, seed)
    };
    let state = State::from_code(&state_code).ok_or_else(|| {
        value.bad(format!("an issuing state of the test PKI (MNG, CHN, RUS, KOR, KAZ, D, UTO), not {state_code:?}"))
    })?;
    // DG3: the traveller's own synthetic finger (right index), as the population's sensors see it.
    let finger = finger_id
        .map(|id| {
            let impression = Fingers::shared(seed, Quality::Good).impression(id, 0, SensorProfile::R307);
            GreyFinger::from_image(&impression.image, 2).map_err(|e| value.bad(e.to_string()))
        })
        .transpose()?;
    Ok((mrz, state, finger, document_seed))
}

fn build(params: &Params) -> Result<BuiltCard, ParamError> {
    for line_only in ["pace", "framing"] {
        if params.given(line_only) {
            return Err(params.error(line_only, "not for a smart card, which has no serial line"));
        }
    }
    let specs: Vec<&str> = params.all("fault").map(|p| p.value).collect();
    let faults = FaultList::parse(&specs).map_err(|e| params.error("fault", e.to_string()))?;
    let seed = params.get("seed").map_or(Ok(0), |p| p.u64())?;
    let pace = params.value("pace-curve").one_of("brainpool, p256, none", |c| match c {
        "brainpool" => Some(vec![PaceOffer::GM_AES128_BRAINPOOL_P256R1]),
        "p256" => Some(vec![PaceOffer::GM_AES128_P256]),
        "none" => Some(Vec::new()),
        _ => None,
    })?;
    let can = params.get("can").map(|p| {
        if p.value.len() == 6 && p.value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(p.value.to_owned())
        } else {
            Err(p.bad("6 digits"))
        }
    });
    let can = can.transpose()?;
    let absent: bool = params.value("absent").parsed()?;
    let (mrz, state, finger, document_seed) = document_mrz(params, seed)?;
    let pki = test_pki(seed).map_err(|e| params.error("seed", e))?;
    let spec = DocumentSpec { state, mrz: &mrz, seed: document_seed, finger, pace };
    let mut document = issue(&pki, &spec, Signer::Valid).map_err(|e| params.error("document", e.to_string()))?;
    faults.apply_to_document(&mut document, &pki, state).map_err(|e| params.error("fault", e.to_string()))?;
    let mrz_information = Mrz::parse(&mrz)
        .and_then(|m| m.mrz_information())
        .map_err(|e| params.error("document", e.to_string()))?
        .as_str()
        .to_owned();
    let content = Arc::new(ChipContentTemplate { document, mrz_information, can });
    let powered = Arc::new(Mutex::new(0u64));
    let (tx, rx) = tokio::sync::watch::channel(!absent);
    let counter = Arc::clone(&powered);
    let card = Arc::new(move || {
        // Each presentation is a new power-up; the chip's randomness continues from the seed.
        let n = {
            let mut c = counter.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            *c += 1;
            *c
        };
        // The chip's own stream of the seed ("khilchip" mixed in), so that a terminal seeded with a small number
        // never draws the chip's keys (PACE refuses equal keys on both sides, as 9303 says it must).
        let chip_seed = seed ^ 0x6b68_696c_6368_6970 ^ n.rotate_left(32);
        let chip = PassportChip::with_faults(content.content(), chip_seed, &faults);
        Box::new(chip) as Box<dyn khil_apdu::Card>
    });
    Ok(BuiltCard { card, presented: rx, console: Some(Arc::new(PassportConsole { presented: tx })) })
}

/// The MRZ printed on the data page of population document `document` of `seed` (issued around
/// [`REFERENCE_DAY`]), as `sim:passport?document=ID` puts it on the chip.
pub fn population_mrz(seed: u64, document: u64) -> String {
    let (y, m, d) = REFERENCE_DAY;
    let reference = CivilDate::new(y, m, d).expect("a real day");
    Documents::new(seed, reference).document(document).mrz().lines.join("\n")
}

/// A lower tester's specimen (the `inspection-system` conformance class presents these to a terminal under
/// test): population document `document` of `seed` issued under `pki`, its chip offering `pace` (`brainpool`,
/// `p256` or `none`) and running `faults` (this crate's fault specs). It has no DG3: nothing on it is
/// EAC-protected, so a terminal without terminal authentication can read and check all of it.
pub fn specimen(
    pki: &TestPki,
    seed: u64,
    document: u64,
    pace: &str,
    faults: &[&str],
) -> Result<Box<dyn khil_apdu::Card>, String> {
    let faults = FaultList::parse(faults).map_err(|e| e.to_string())?;
    let pace = match pace {
        "brainpool" => vec![PaceOffer::GM_AES128_BRAINPOOL_P256R1],
        "p256" => vec![PaceOffer::GM_AES128_P256],
        "none" => Vec::new(),
        other => return Err(format!("pace curve {other:?}: expected brainpool, p256 or none")),
    };
    let (y, m, d) = REFERENCE_DAY;
    let doc = Documents::new(seed, CivilDate::new(y, m, d).expect("a real day")).document(document);
    if doc.kind == Kind::Visa {
        return Err(format!("document {document} is a visa, which has no chip"));
    }
    // The population's states are the test PKI's.
    let state = doc.issuing_state;
    let mrz = doc.mrz().lines.join("\n");
    let spec = DocumentSpec { state, mrz: &mrz, seed, finger: None, pace };
    let mut files = issue(pki, &spec, Signer::Valid).map_err(|e| e.to_string())?;
    faults.apply_to_document(&mut files, pki, state).map_err(|e| e.to_string())?;
    let mrz_information = Mrz::parse(&mrz).and_then(|m| m.mrz_information()).map_err(|e| e.to_string())?;
    let content = ChipContent { document: files, mrz_information: mrz_information.as_str().to_owned(), can: None };
    // The chip's own stream of the seed, as `build` makes it for a first presentation.
    let chip_seed = seed ^ 0x6b68_696c_6368_6970 ^ 1u64.rotate_left(32);
    Ok(Box::new(PassportChip::with_faults(content, chip_seed, &faults)))
}

/// What every presentation of the chip starts from.
struct ChipContentTemplate {
    document: crate::issue::DocumentFiles,
    mrz_information: String,
    can: Option<String>,
}

impl ChipContentTemplate {
    fn content(&self) -> ChipContent {
        ChipContent {
            document: self.document.clone(),
            mrz_information: self.mrz_information.clone(),
            can: self.can.clone(),
        }
    }
}

struct PassportConsole {
    presented: tokio::sync::watch::Sender<bool>,
}

impl Console for PassportConsole {
    fn command(&self, line: &str) -> Result<String, String> {
        match line {
            "remove" => {
                self.presented.send_replace(false);
                Ok("the document is off the reader".into())
            }
            "present" => {
                self.presented.send_replace(true);
                Ok("the document is on the reader".into())
            }
            "status" => Ok(if *self.presented.borrow() {
                "the document is on the reader".into()
            } else {
                "the reader is empty".into()
            }),
            other => Err(format!("{other:?}: expected {CONSOLE}")),
        }
    }
}
