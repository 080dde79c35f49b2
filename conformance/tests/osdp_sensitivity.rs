//! The `osdp-pd` suite: the correct simulated PD passes (with its own key and in install mode), and every
//! catalogued faulty PD fails the purposes expected to catch it.

mod common;

use common::run_osdp;
use khil_conformance::Suite;

const KEYED: &str = "sim:osdp-pd?profile=gate-io&scbk=000102030405060708090a0b0c0d0e0f";

/// `(variant, URL parameter, purposes that must fail)`.
const CATALOGUE: &[(&str, &str, &[&str])] = &[
    ("executes retransmissions again (as libosdp does)", "quirk=reexecute-retransmission", &["OSDP-SEQ-001"]),
    ("accepts any sequence number", "quirk=no-sequence-check", &["OSDP-SEQ-002"]),
    ("executes plain commands despite its key", "quirk=plain-allowed", &["OSDP-SC-004"]),
    ("executes commands with a wrong MAC", "quirk=ignore-mac", &["OSDP-SC-003"]),
    ("acknowledges unknown commands", "quirk=ack-unknown", &["OSDP-NAK-001", "OSDP-NAK-002"]),
    ("replies without the reply bit", "quirk=no-reply-bit", &["OSDP-FRM-001"]),
    ("every fifth reply 300 ms late", "fault=slow:every=5,ms=300", &["OSDP-TIM-001"]),
    ("a reply with a corrupted CRC", "fault=bad-crc:at=4", &["OSDP-FRM-001"]),
    ("forgets the secure session", "fault=sc-drop:at=5", &["OSDP-CMD-001"]),
    ("ignores packets without the mark", "quirk=needs-mark", &["OSDP-FRM-002"]),
    ("answers packets with a bad CRC", "quirk=answers-bad-crc", &["OSDP-FRM-003"]),
    ("answers other PDs' packets", "quirk=answers-any-address", &["OSDP-FRM-004"]),
    ("answers a broadcast from its own address", "quirk=broadcast-own-address", &["OSDP-FRM-005"]),
    ("a wrong client cryptogram", "quirk=wrong-cryptogram", &["OSDP-SC-001"]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_pd_passes_keyed_and_in_install_mode() {
    for url in [KEYED, "sim:osdp-pd?profile=gate-io", "sim:osdp-pd?profile=card-reader"] {
        let report = run_osdp(url).await;
        let bad: Vec<String> = report
            .results
            .iter()
            .filter(|r| r.outcome.is_failure())
            .map(|r| {
                format!(
                    "{} {}: {:?}",
                    r.id,
                    r.outcome.label(),
                    r.evidence
                        .checks
                        .iter()
                        .filter(|c| c.verdict != khil_conformance::Verdict::Pass)
                        .collect::<Vec<_>>()
                )
            })
            .collect();
        assert!(bad.is_empty(), "{url}: {bad:#?}");
        assert!(report.summary.pass >= 15, "{url}: {:?}", report.summary);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_faulty_pd_is_caught_by_its_purposes() {
    let mut missed = Vec::new();
    let mut caught: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    println!("| faulty PD | simulator parameter | purposes failed |\n|---|---|---|");
    for (name, param, expected) in CATALOGUE {
        let report = run_osdp(&format!("{KEYED}&{param}")).await;
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
    // Every purpose fails against some faulty PD other than the catch-all (no reply bit), which counts only for
    // the purpose about reply framing.
    let all: Vec<&str> =
        khil_conformance::suites::osdp::OsdpSuite::new().purposes().iter().map(|p| p.meta.id).collect();
    let untested: Vec<&&str> =
        all.iter().filter(|id| !caught.contains(**id as &str) && **id != "OSDP-FRM-001").collect();
    assert!(untested.is_empty(), "purposes no targeted faulty PD fails: {untested:?}");
}
