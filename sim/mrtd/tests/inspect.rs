//! khil's inspection system reads khil's chip in the in-memory reader: BAC and PACE (both curves), every data
//! group, passive, chip and active authentication, the MRZ against DG1; and each chip fault the lower tester
//! injects is found and named. (The chip side is also read by dmrtd and a pyscard script through pcscd: see the
//! peer tests.)

use der::DateTime;
use khil_apdu::memory_pair;
use khil_mrtd::inspect::{InspectOptions, Inspection, inspect};
use khil_mrtd::lds::FileId;
use khil_mrtd::mrz::{Mrz, MrzDate};
use khil_mrtd::pa::{Outcome, Status};
use khil_mrtd::ta::TerminalCredentials;
use khil_sim_mrtd::chip::{ChipContent, PassportChip};
use khil_sim_mrtd::issue::{DocumentFiles, DocumentSpec, GreyFinger, PaceOffer, issue};
use khil_sim_mrtd::pki::{Signer, State, TestPki};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const SEED: u64 = 77;
const MRZ: &str = "P<MNGERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36MNG7408122F1204159ZE184226B<<<<<10";
/// The MRZ information of [`MRZ`]: document number, birth and expiry with their check digits.
const MRZ_INFORMATION: &str = "L898902C3674081221204159";

fn reference() -> DateTime {
    DateTime::new(2026, 6, 1, 12, 0, 0).unwrap()
}

fn document(pki: &TestPki, pace: Vec<PaceOffer>, signer: Signer) -> DocumentFiles {
    let spec = DocumentSpec { state: State::Mongolia, mrz: MRZ, seed: SEED, finger: None, pace };
    issue(pki, &spec, signer).unwrap()
}

fn read(pki: &TestPki, document: DocumentFiles, page_mrz: &str, pace: bool) -> Inspection {
    read_as(Some(pki.eac.terminal.clone()), pki, document, page_mrz, pace)
}

fn read_as(
    terminal: Option<TerminalCredentials>,
    pki: &TestPki,
    document: DocumentFiles,
    page_mrz: &str,
    pace: bool,
) -> Inspection {
    let content = ChipContent { document, mrz_information: MRZ_INFORMATION.into(), can: None };
    let (mut reader, _slot) = memory_pair(PassportChip::new(content, 5));
    let options = InspectOptions {
        mrz: page_mrz.into(),
        trust: pki.trust_store(),
        date: reference(),
        pace,
        can: None,
        read_size: khil_mrtd::files::SM_SHORT_READ,
        terminal,
    };
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(inspect(&mut reader, &options, &mut rng)).unwrap()
}

fn status_of<'a>(inspection: &'a Inspection, name: &str) -> &'a Status {
    &inspection
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name:?}: {}", list(inspection)))
        .status
}

fn list(inspection: &Inspection) -> String {
    inspection.checks.iter().map(|c| format!("\n  {c}")).collect::<Vec<_>>().concat()
}

fn failed(inspection: &Inspection) -> Vec<&str> {
    inspection.checks.iter().filter(|c| c.status.failed()).map(|c| c.name.as_str()).collect()
}

#[test]
fn bac_reads_and_verifies_everything() {
    let pki = TestPki::new(SEED, reference()).unwrap();
    let doc = document(&pki, Vec::new(), Signer::Valid);
    let r = read(&pki, doc, MRZ, true);
    assert_eq!(r.access.as_deref(), Some("BAC"), "{}", list(&r));
    assert_eq!(failed(&r), Vec::<&str>::new(), "{}", list(&r));
    assert_eq!(r.outcome(), Outcome::Passed, "{}", list(&r));
    for name in [
        "access control: BAC",
        "EF.COM",
        "passive authentication: EF.SOD signature by the Document Signer",
        "passive authentication: DG2 hash",
        "chip authentication",
        "active authentication",
        "MRZ on the page = DG1",
    ] {
        let s = status_of(&r, name);
        assert!(s.passed(), "{name}: {s:?}");
    }
    let read_files: Vec<FileId> = r.files_read.iter().map(|(f, _)| *f).collect();
    assert_eq!(read_files, [FileId::Com, FileId::Sod, FileId::Dg(1), FileId::Dg(2), FileId::Dg(14), FileId::Dg(15)]);
}

#[test]
fn pace_on_both_curves_then_the_same_checks() {
    let pki = TestPki::new(SEED, reference()).unwrap();
    for (offer, curve) in
        [(PaceOffer::GM_AES128_BRAINPOOL_P256R1, "BrainpoolP256r1"), (PaceOffer::GM_AES128_P256, "P256")]
    {
        let doc = document(&pki, vec![offer], Signer::Valid);
        let r = read(&pki, doc, MRZ, true);
        let access = r.access.clone().unwrap_or_default();
        assert!(access.starts_with("PACE") && access.contains(curve), "{access}: {}", list(&r));
        assert_eq!(r.outcome(), Outcome::Passed, "{}", list(&r));
    }
}

#[test]
fn each_chip_fault_is_found_and_named() {
    let pki = TestPki::new(SEED, reference()).unwrap();
    // A data group changed after signing.
    let mut doc = document(&pki, Vec::new(), Signer::Valid);
    assert!(doc.corrupt_data_group(2));
    assert_eq!(failed(&read(&pki, doc, MRZ, true)), ["passive authentication: DG2 hash"]);
    // EF.SOD signed by a Document Signer no trusted CSCA issued, by an expired one, by a revoked one.
    for (signer, check) in [
        (Signer::UnknownCsca, "passive authentication: Document Signer certificate issued by a trusted CSCA"),
        (Signer::Expired, "passive authentication: Document Signer certificate validity"),
        (Signer::Revoked, "passive authentication: Document Signer not revoked"),
    ] {
        let doc = document(&pki, Vec::new(), signer);
        assert_eq!(failed(&read(&pki, doc, MRZ, true)), [check], "{signer:?}");
    }
    // A clone: the data groups copied, but not the chip's private keys.
    let mut clone = document(&pki, Vec::new(), Signer::Valid);
    clone.keys = khil_sim_mrtd::issue::chip_keys(SEED + 1, State::Mongolia);
    let r = read(&pki, clone, MRZ, true);
    assert_eq!(failed(&r), ["chip authentication", "active authentication"], "{}", list(&r));
    // The page's MRZ is not the chip's: another expiry date opens nothing (BAC keys differ).
    let mut m = Mrz::parse(MRZ).unwrap();
    m.expiry_date = MrzDate::new(13, 4, 15).unwrap();
    let other = m.generate().unwrap().lines.join("\n");
    let doc = document(&pki, Vec::new(), Signer::Valid);
    let r = read(&pki, doc, &other, true);
    assert_eq!(failed(&r), ["access control: BAC"], "{}", list(&r));
}

#[test]
fn fingerprints_open_to_terminal_authentication_and_only_to_it() {
    let pki = TestPki::new(SEED, reference()).unwrap();
    let (w, h) = (64u16, 80u16);
    let pixels = (0..u32::from(w) * u32::from(h)).map(|i| (i % 251) as u8).collect();
    let finger = GreyFinger { pixels, width: w, height: h, dpi: 500, position: 2 };
    for pace in [Vec::new(), vec![PaceOffer::GM_AES128_BRAINPOOL_P256R1]] {
        let spec = DocumentSpec { state: State::Mongolia, mrz: MRZ, seed: SEED, finger: Some(finger.clone()), pace };
        let doc = issue(&pki, &spec, Signer::Valid).unwrap();
        // The test inspection system: chain MNKHILCVCA00001 > MNKHILDV00001 > MNKHILIS00001, then DG3, whose hash
        // passive authentication checks (ID_PICC is the document number after BAC, the chip's PACE key after PACE).
        let r = read(&pki, doc.clone(), MRZ, true);
        assert_eq!(r.outcome(), Outcome::Passed, "{}", list(&r));
        let ta = status_of(&r, "terminal authentication");
        assert!(
            matches!(ta, Status::Passed(how) if how.contains("MNKHILCVCA00001 > MNKHILDV00001 > MNKHILIS00001")),
            "{ta:?}"
        );
        assert!(status_of(&r, "passive authentication: DG3 hash").passed(), "{}", list(&r));
        assert_eq!(r.file(FileId::Dg(3)), doc.get(FileId::Dg(3)));
        // No terminal certificates: DG3 stays behind EAC and the result says so; not PASSED.
        let r = read_as(None, &pki, doc.clone(), MRZ, true);
        assert!(matches!(status_of(&r, "reading DG3"), Status::NotChecked(why) if why.contains("EAC")), "{}", list(&r));
        assert!(matches!(status_of(&r, "passive authentication: DG3 hash"), Status::NotChecked(_)), "{}", list(&r));
        assert_eq!(r.outcome(), Outcome::Incomplete);
        // A terminal certificate that expired before the DV certificate took effect: the chip refuses it.
        let r = read_as(Some(pki.eac.expired_terminal.clone()), &pki, doc.clone(), MRZ, true);
        assert_eq!(failed(&r), ["terminal authentication"], "{}", list(&r));
        let Status::Failed(why) = status_of(&r, "terminal authentication") else { unreachable!() };
        assert!(
            why.contains("PSO:Verify Certificate of the terminal certificate MNKHILIS00001") && why.contains("6300"),
            "{why}"
        );
        assert!(matches!(status_of(&r, "reading DG3"), Status::NotChecked(_)), "{}", list(&r));
        // Certificates of another PKI under the same names: the chip's CVCA key does not verify the DV certificate.
        let other = TestPki::new(SEED + 1, reference()).unwrap();
        let r = read_as(Some(other.eac.terminal.clone()), &pki, doc, MRZ, true);
        let Status::Failed(why) = status_of(&r, "terminal authentication") else { panic!("{}", list(&r)) };
        assert!(why.contains("of the DV certificate MNKHILDV00001") && why.contains("6300"), "{why}");
    }
}
