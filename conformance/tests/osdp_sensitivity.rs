//! The `osdp-pd` suite: the correct simulated PD passes (every profile, with its own key and in install mode, a
//! fingerprint reader with and without a finger, and with the ICS files shipped in `conformance/ics`), and every
//! catalogued faulty PD fails the purposes expected to catch it.

mod common;

use common::{debug_forms, run_osdp, run_osdp_with};
use khil_conformance::{RunReport, Suite};

const KEYED: &str = "sim:osdp-pd?profile=gate-io&scbk=000102030405060708090a0b0c0d0e0f";
/// A fingerprint reader with finger 7 presented (put back after every scan).
const BIO: &str = "sim:osdp-pd?profile=bio-reader&finger=auto:7&scbk=000102030405060708090a0b0c0d0e0f";
/// A fingerprint reader nobody touches.
const BIO_NO_FINGER: &str = "sim:osdp-pd?profile=bio-reader&scbk=000102030405060708090a0b0c0d0e0f";

/// `(variant, PD, URL parameter, purposes that must fail)`.
const CATALOGUE: &[(&str, &str, &str, &[&str])] = &[
    (
        "executes retransmissions again (as libosdp does)",
        KEYED,
        "quirk=reexecute-retransmission",
        &["OSDP-SEQ-001", "OSDP-FT-003"],
    ),
    ("accepts any sequence number", KEYED, "quirk=no-sequence-check", &["OSDP-SEQ-002"]),
    ("executes plain commands despite its key", KEYED, "quirk=plain-allowed", &["OSDP-SC-004"]),
    ("executes commands with a wrong MAC", KEYED, "quirk=ignore-mac", &["OSDP-SC-003"]),
    ("acknowledges unknown commands", KEYED, "quirk=ack-unknown", &["OSDP-NAK-001", "OSDP-NAK-002", "OSDP-BIO-008"]),
    ("replies without the reply bit", KEYED, "quirk=no-reply-bit", &["OSDP-FRM-001"]),
    ("every fifth reply 300 ms late", KEYED, "fault=slow:every=5,ms=300", &["OSDP-TIM-001"]),
    ("a reply with a corrupted CRC", KEYED, "fault=bad-crc:at=4", &["OSDP-FRM-001"]),
    ("forgets the secure session", KEYED, "fault=sc-drop:at=5", &["OSDP-CMD-001"]),
    ("ignores packets without the mark", KEYED, "quirk=needs-mark", &["OSDP-FRM-002"]),
    ("answers packets with a bad CRC", KEYED, "quirk=answers-bad-crc", &["OSDP-FRM-003"]),
    ("answers other PDs' packets", KEYED, "quirk=answers-any-address", &["OSDP-FRM-004"]),
    ("answers a broadcast from its own address", KEYED, "quirk=broadcast-own-address", &["OSDP-FRM-005"]),
    ("a wrong client cryptogram", KEYED, "quirk=wrong-cryptogram", &["OSDP-SC-001"]),
    ("appends file fragments whatever their offset", KEYED, "quirk=file-ignores-offset", &["OSDP-FT-002"]),
    ("takes files of one fragment only", KEYED, "quirk=file-one-fragment", &["OSDP-FT-001", "OSDP-FT-003"]),
    ("PDCAP leaves out its biometrics", BIO, "quirk=pdcap-no-biometrics", &["OSDP-ICS-001"]),
    (
        "BIOREADR data without the ANSI/INCITS 378 header",
        BIO,
        "quirk=bio-garbage-template",
        &["OSDP-BIO-001", "OSDP-BIO-003", "OSDP-BIO-004"],
    ),
    (
        "BIOMATCH reports a match whatever the template",
        BIO,
        "quirk=bio-always-match",
        &["OSDP-BIO-004", "OSDP-BIO-005"],
    ),
    (
        "unsupported biometric type or format answered with NAK 3",
        BIO,
        "quirk=bio-wrong-nak",
        &["OSDP-BIO-006", "OSDP-BIO-007"],
    ),
    ("BIOREAD without a finger reports success", BIO_NO_FINGER, "quirk=bio-no-timeout", &["OSDP-BIO-002"]),
    ("PDID reports another model than the PD is", KEYED, "quirk=misreports-model", &["OSDP-ID-001"]),
    (
        "silent to a secure block outside a session (khil's PD before it answered OSDP.Net)",
        KEYED,
        "quirk=silent-secure-block",
        &["OSDP-SC-005"],
    ),
];

/// `(PD, purposes passed, purposes not applicable)` of the correct simulator with the URL's default ICS.
const CORRECT: &[(&str, usize, usize)] = &[
    (KEYED, 24, 7),
    ("sim:osdp-pd?profile=gate-io", 23, 8),
    ("sim:osdp-pd?profile=card-reader", 21, 10),
    (BIO, 27, 4),
    ("sim:osdp-pd?profile=bio-reader", 24, 7),
];

/// The purposes that failed or errored, with their checks that did not pass.
fn failures(report: &RunReport) -> Vec<String> {
    report
        .results
        .iter()
        .filter(|r| r.outcome.is_failure())
        .map(|r| {
            format!(
                "{} {}: {:?}",
                r.id,
                r.outcome.label(),
                r.evidence.checks.iter().filter(|c| c.verdict != khil_conformance::Verdict::Pass).collect::<Vec<_>>()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_pd_passes_keyed_and_in_install_mode() {
    for &(url, pass, not_applicable) in CORRECT {
        let report = run_osdp(url).await;
        let bad = failures(&report);
        assert!(bad.is_empty(), "{url}: {bad:#?}");
        let s = &report.summary;
        assert_eq!((s.pass, s.not_applicable), (pass, not_applicable), "{url}: {s:?}");
    }
}

/// The ICS files describe the simulator started as their comments say.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_ics_files_pass_against_the_simulator() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ics");
    for (file, url, pass, not_applicable) in [
        ("osdp-gate-io.toml", KEYED, 24, 7),
        (
            "osdp-bio-reader.toml",
            "sim:osdp-pd?profile=bio-reader&address=2&finger=auto:7&scbk=000102030405060708090a0b0c0d0e0f",
            27,
            4,
        ),
    ] {
        let ics = khil_conformance::Ics::load(&dir.join(file)).unwrap();
        let report = run_osdp_with(url, Some(ics)).await;
        let bad = failures(&report);
        assert!(bad.is_empty(), "{file}: {bad:#?}");
        let s = &report.summary;
        assert_eq!((s.pass, s.not_applicable), (pass, not_applicable), "{file}: {s:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_faulty_pd_is_caught_by_its_purposes() {
    let mut missed = Vec::new();
    let mut caught: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut debug = Vec::new();
    println!("| faulty PD | simulator parameter | purposes failed |\n|---|---|---|");
    for (name, pd, param, expected) in CATALOGUE {
        let report = run_osdp(&format!("{pd}&{param}")).await;
        debug.extend(debug_forms(&report));
        let failed: Vec<&str> =
            report.results.iter().filter(|r| r.outcome.is_failure()).map(|r| r.id.as_str()).collect();
        if !param.contains("no-reply-bit") {
            caught.extend(failed.iter().map(|id| (*id).to_owned()));
        }
        for id in *expected {
            if !failed.contains(id) {
                missed.push(format!("{name} ({param}): {id} did not fail; failed: {failed:?}"));
            }
        }
        println!("| {name} | `{param}` | {} |", failed.join(", "));
    }
    assert!(missed.is_empty(), "{missed:#?}");
    // Words and decoded frames for people, never Rust's debug forms.
    assert!(debug.is_empty(), "evidence in Rust debug forms: {debug:#?}");
    // Every purpose fails against some faulty PD other than the catch-all (no reply bit), which counts only for
    // the purpose about reply framing.
    let all: Vec<&str> =
        khil_conformance::suites::osdp::OsdpSuite::new().purposes().iter().map(|p| p.meta.id).collect();
    let untested: Vec<&&str> =
        all.iter().filter(|id| !caught.contains(**id as &str) && **id != "OSDP-FRM-001").collect();
    assert!(untested.is_empty(), "purposes no targeted faulty PD fails: {untested:?}");
}
