//! The lower tester: every fault of [`khil_sim_mrtd::faults`] injected into khil's chip (or its document), read by
//! khil's inspection system in the in-memory reader, must come out as a failed check that names the step and says
//! what happened; the same chip without faults passes. The reader's clock is tokio's paused one, so a chip that
//! answers late or never costs the reader's 4949 ms wait in virtual time only.
//!
//! | fault                 | the check that catches it                                 | its reason, in words                                                      |
//! |-----------------------|-----------------------------------------------------------|---------------------------------------------------------------------------|
//! | `wrong-mac:at=40`     | `reading DG2`                                             | secure messaging: the response MAC (DO8E) does not verify under the session's MAC key at SSC n, nor at the next 3 |
//! | `bad-ssc:at=40`       | `reading DG2`                                             | secure messaging: the response is protected under SSC n+1 instead of n: the chip's counter skipped 1 |
//! | `eof-9000:at=0`       | `EF.COM` (its last piece)                                 | the chip answered 9000 with 15 of the 16 bytes asked: a short answer must be 6282 |
//! | `eof-6b00:at=1`       | `reading EF.SOD` (its last piece)                         | reading EF.SOD at offset 900, inside the file (its TLV says 1101 bytes): the chip answered 6B00 |
//! | `slow:at=40` (6000 ms)| `reading DG2`                                             | no answer from the chip: the card did not answer within 4949 ms           |
//! | `mute:at=30`          | `reading DG2`                                             | no answer from the chip: the card did not answer within 4949 ms           |
//! | `mute:every=1`        | `EF.CardAccess`, then `EF.COM` (mute again after the reset) | no answer from the chip                                                 |
//! | `slow:every=1`        | `EF.CardAccess`, then `eMRTD application`                 | no answer from the chip                                                   |
//! | `clone`               | `chip authentication`, `active authentication`            | the chip does not hold the private key of DG14's public key; the signature does not verify |
//! | `corrupt-dg:dg=2`     | `passive authentication: DG2 hash`                        | the SHA-256 of DG2 as read differs from the one in EF.SOD                 |
//! | `unknown-ds`          | `passive authentication: Document Signer certificate issued by a trusted CSCA` | no CSCA in the trust store is named ...  |
//! | `expired-ds`          | `passive authentication: Document Signer certificate validity` | expired on <date>: valid until <date>                                |
//! | `revoked-ds`          | `passive authentication: Document Signer not revoked`     | serial ... revoked on <date> by the CRL of ...                            |
//!
//! After a fault that ends secure messaging the inspection stops reading; chip and active authentication open the
//! chip again (a power cycle, then BAC or PACE) when their data groups were read, so a cloned chip fails both on
//! their own merits. A chip slower than usual but within the reader's wait (`slow:every=1,ms=100`) is no fault.
//!
//! The secure messaging faults are also shown with PACE (AES secure messaging) beside BAC (3DES).

use std::time::Duration;

use der::DateTime;
use khil_apdu::memory_pair;
use khil_mrtd::inspect::{InspectOptions, Inspection, inspect};
use khil_mrtd::pa::{Outcome, Status};
use khil_sim_mrtd::chip::{ChipContent, PassportChip};
use khil_sim_mrtd::faults::FaultList;
use khil_sim_mrtd::issue::{DocumentSpec, PaceOffer, issue};
use khil_sim_mrtd::pki::{Signer, State, TestPki};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

const SEED: u64 = 77;
const MRZ: &str = "P<MNGERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36MNG7408122F1204159ZE184226B<<<<<10";
const MRZ_INFORMATION: &str = "L898902C3674081221204159";

fn reference() -> DateTime {
    DateTime::new(2026, 6, 1, 12, 0, 0).unwrap()
}

/// Inspects the document issued with `specs` (document faults at issue, chip faults in the chip); also returns the
/// reader's time it took (virtual).
fn inspect_faulty(pki: &TestPki, specs: &[&str], pace: Vec<PaceOffer>) -> (Inspection, Duration) {
    let faults = FaultList::parse(specs).unwrap();
    let spec = DocumentSpec { state: State::Mongolia, mrz: MRZ, seed: SEED, finger: None, pace };
    let mut document = issue(pki, &spec, Signer::Valid).unwrap();
    faults.apply_to_document(&mut document, pki, State::Mongolia).unwrap();
    let content = ChipContent { document, mrz_information: MRZ_INFORMATION.into(), can: None };
    let (mut reader, _slot) = memory_pair(PassportChip::with_faults(content, 5, &faults));
    let options = InspectOptions {
        mrz: MRZ.into(),
        trust: pki.trust_store(),
        date: reference(),
        pace: true,
        can: None,
        read_size: khil_mrtd::files::SM_SHORT_READ,
        terminal: Some(pki.eac.terminal.clone()),
    };
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    rt.block_on(async {
        let start = tokio::time::Instant::now();
        let r = inspect(&mut reader, &options, &mut rng).await.unwrap();
        (r, start.elapsed())
    })
}

fn list(inspection: &Inspection) -> String {
    inspection.checks.iter().map(|c| format!("\n  {c}")).collect::<Vec<_>>().concat()
}

/// The failed checks: name and reason.
fn failures(inspection: &Inspection) -> Vec<(&str, &str)> {
    inspection
        .checks
        .iter()
        .filter_map(|c| match &c.status {
            Status::Failed(why) => Some((c.name.as_str(), why.as_str())),
            _ => None,
        })
        .collect()
}

/// Exactly the checks `names` failed, each reason containing its `phrase`.
#[track_caller]
fn assert_caught(r: &Inspection, fault: &str, expected: &[(&str, &str)]) {
    let got = failures(r);
    let names: Vec<&str> = got.iter().map(|(n, _)| *n).collect();
    let want: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, want, "{fault}: {}", list(r));
    for ((name, why), (_, phrase)) in got.iter().zip(expected) {
        assert!(why.contains(phrase), "{fault}: {name}: {why:?} does not say {phrase:?}");
    }
    assert_eq!(r.outcome(), Outcome::Failed, "{fault}");
}

#[test]
fn the_correct_chip_passes() {
    let pki = TestPki::new(SEED, reference()).unwrap();
    for pace in [Vec::new(), vec![PaceOffer::GM_AES128_P256]] {
        let (r, took) = inspect_faulty(&pki, &[], pace);
        assert_eq!(failures(&r), [], "{}", list(&r));
        assert_eq!(r.outcome(), Outcome::Passed, "{}", list(&r));
        assert_eq!(took, Duration::ZERO, "a chip without faults answers at once");
    }
}

#[test]
fn secure_messaging_faults() {
    let pki = TestPki::new(SEED, reference()).unwrap();
    for pace in [Vec::new(), vec![PaceOffer::GM_AES128_BRAINPOOL_P256R1]] {
        let (r, _) = inspect_faulty(&pki, &["wrong-mac:at=40"], pace.clone());
        assert_caught(&r, "wrong-mac", &[("reading DG2", "secure messaging: the response MAC (DO8E) does not verify")]);
        let (r, _) = inspect_faulty(&pki, &["bad-ssc:at=40"], pace);
        assert_caught(&r, "bad-ssc", &[("reading DG2", "the chip's counter skipped 1")]);
    }
}

#[test]
fn end_of_file_status_words() {
    let pki = TestPki::new(SEED, reference()).unwrap();
    let (r, _) = inspect_faulty(&pki, &["eof-9000:at=0"], Vec::new());
    assert_caught(&r, "eof-9000", &[("EF.COM", "answered 9000 with")]);
    let (r, _) = inspect_faulty(&pki, &["eof-6b00:at=1"], Vec::new());
    assert_caught(&r, "eof-6b00", &[("reading EF.SOD", "inside the file")]);
}

#[test]
fn slow_and_mute_chips() {
    let pki = TestPki::new(SEED, reference()).unwrap();
    let (r, took) = inspect_faulty(&pki, &["slow:at=40"], Vec::new());
    assert_caught(&r, "slow", &[("reading DG2", "no answer from the chip")]);
    assert!(r.checks.iter().any(|c| matches!(&c.status, Status::Failed(w) if w.contains("within 4949 ms"))));
    assert!(took >= Duration::from_millis(4949), "the reader waited its timeout: {took:?}");
    let (r, _) = inspect_faulty(&pki, &["mute:at=30"], Vec::new());
    assert_caught(&r, "mute", &[("reading DG2", "did not answer within 4949 ms")]);
    // A chip slower than usual but within the reader's wait is no fault: every answer just comes later.
    let (r, took) = inspect_faulty(&pki, &["slow:every=1,ms=100"], Vec::new());
    assert_eq!(r.outcome(), Outcome::Passed, "{}", list(&r));
    assert!(took >= Duration::from_secs(2), "100 ms per command: {took:?}");
}

/// A chip that is slow or mute for everything: the inspection names the first step that got no answer, and
/// finishes (each exchange waits the reader's 4949 ms at most).
#[test]
fn chips_that_never_answer_in_time() {
    let pki = TestPki::new(SEED, reference()).unwrap();
    // Every READ BINARY silences the chip until the next power cycle: EF.CardAccess first (a reset follows),
    // then EF.COM after BAC.
    let (r, _) = inspect_faulty(&pki, &["mute:every=1"], Vec::new());
    assert_caught(&r, "mute", &[("EF.CardAccess", "no answer"), ("EF.COM", "no answer")]);
    let (r, took) = inspect_faulty(&pki, &["slow:every=1"], Vec::new());
    assert_caught(&r, "slow", &[("EF.CardAccess", "no answer"), ("eMRTD application", "no answer")]);
    assert_eq!(took, 2 * khil_apdu::card::LONGEST_WAIT);
}

#[test]
fn a_cloned_chip() {
    let pki = TestPki::new(SEED, reference()).unwrap();
    let (r, _) = inspect_faulty(&pki, &["clone"], Vec::new());
    assert_caught(
        &r,
        "clone",
        &[("chip authentication", "does not hold the private key"), ("active authentication", "does not verify")],
    );
}

#[test]
fn document_faults() {
    let pki = TestPki::new(SEED, reference()).unwrap();
    for (spec, check, why) in [
        ("corrupt-dg:dg=2", "passive authentication: DG2 hash", "differs from the one in EF.SOD"),
        (
            "unknown-ds",
            "passive authentication: Document Signer certificate issued by a trusted CSCA",
            "no CSCA in the trust store",
        ),
        ("expired-ds", "passive authentication: Document Signer certificate validity", "expired on"),
        ("revoked-ds", "passive authentication: Document Signer not revoked", "revoked on"),
    ] {
        let (r, _) = inspect_faulty(&pki, &[spec], Vec::new());
        assert_caught(&r, spec, &[(check, why)]);
    }
}

#[test]
fn a_document_fault_on_a_missing_data_group_is_refused() {
    let pki = TestPki::new(SEED, reference()).unwrap();
    let spec = DocumentSpec { state: State::Mongolia, mrz: MRZ, seed: SEED, finger: None, pace: Vec::new() };
    let mut document = issue(&pki, &spec, Signer::Valid).unwrap();
    let e = FaultList::parse(&["corrupt-dg:dg=5"]).unwrap().apply_to_document(&mut document, &pki, State::Mongolia);
    assert_eq!(e.unwrap_err().to_string(), "corrupt-dg:dg=5: the document has no DG5 to corrupt");
}
