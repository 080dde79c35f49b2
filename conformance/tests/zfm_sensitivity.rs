//! The suite's sensitivity ("mutation score"): every catalogued faulty module fails, and with the purposes
//! expected to catch it. A suite that passes broken modules is worth nothing.
//!
//! Each variant is the r503 simulator (the profile with every optional instruction) with one device fault or
//! one quirk (a deliberate mis-implementation, `khil_sim_fingerprint::quirks`). The table the test prints is
//! what README.md reports.

mod common;

use common::{debug_forms, run_against, run_zfm_with, zfm_ics};
use khil_conformance::{Outcome, Suite};

/// `(variant, URL parameter, purposes that must fail)`.
const CATALOGUE: &[(&str, &str, &[&str])] = &[
    ("wrong checksum on a reply", "fault=checksum:at=25", &["ZFM-SYS-011", "ZFM-LIB-010"]),
    ("one slow reply (1.5 s)", "fault=busy:at=8,ms=1500", &["ZFM-TIM-001"]),
    ("lost data packets", "fault=drop-packet:every=40", &["ZFM-CAP-005", "ZFM-CAP-006"]),
    ("a command never answered", "fault=hang:at=25", &["ZFM-SYS-011", "ZFM-LIB-010"]),
    ("broken sensor", "fault=sensor-error:every=1", &["ZFM-CAP-001", "ZFM-CAP-005"]),
    ("off-by-one page range", "quirk=page-off-by-one", &["ZFM-LIB-002", "ZFM-LIB-008"]),
    ("error acks without padding", "quirk=short-errors", &["ZFM-FRM-007"]),
    ("library lost on reset", "quirk=forget-on-reset", &["ZFM-LIB-011"]),
    ("executes corrupted commands", "quirk=no-checksum-check", &["ZFM-FRM-002"]),
    ("replies from the wrong address", "quirk=wrong-reply-address", &["ZFM-ICS-001", "ZFM-FRM-001"]),
    ("index bits in the wrong order", "quirk=index-msb-first", &["ZFM-LIB-005"]),
    ("search reports the wrong page", "quirk=search-page-plus-one", &["ZFM-LIB-006"]),
    ("password never enforced", "quirk=no-password", &["ZFM-SYS-002"]),
    ("uploads without end-data", "quirk=no-end-data", &["ZFM-CAP-005", "ZFM-SYS-012"]),
    ("constant random numbers", "quirk=constant-random", &["ZFM-SYS-005"]),
    ("notepad writes lost", "quirk=notepad-noop", &["ZFM-SYS-006"]),
    ("DeleteChar deletes nothing", "quirk=delete-noop", &["ZFM-LIB-004"]),
    ("LED accepts invalid codes", "quirk=led-accepts-anything", &["ZFM-SYS-011"]),
    ("security level not applied", "quirk=security-level-noop", &["ZFM-SYS-004"]),
    ("accepts any password", "quirk=any-password", &["ZFM-SYS-001"]),
    ("misreports its capacity", "quirk=misreports-capacity", &["ZFM-ICS-001", "ZFM-ICS-002"]),
    ("TemplateNum off by one", "quirk=template-num-off", &["ZFM-SYS-007"]),
    ("loads empty pages", "quirk=load-empty-ok", &["ZFM-LIB-003"]),
    ("accepts unknown registers", "quirk=accepts-bad-register", &["ZFM-SYS-003"]),
    ("ignores unknown instructions", "quirk=silent-unknown", &["ZFM-FRM-008"]),
    ("empty version strings", "quirk=empty-versions", &["ZFM-SYS-010", "ZFM-ID-001"]),
    ("no 0x55 after SoftRst", "quirk=no-handshake-byte", &["ZFM-SYS-008"]),
    ("executes commands for any address", "quirk=any-address", &["ZFM-FRM-006"]),
    ("acknowledges short parameters", "quirk=acks-short-params", &["ZFM-FRM-003"]),
    ("cannot reassemble fragments", "quirk=no-fragments", &["ZFM-FRM-005"]),
    ("never drops an incomplete packet", "quirk=no-idle-timeout", &["ZFM-FRM-009"]),
    ("acknowledges stray data packets", "quirk=acks-stray-data", &["ZFM-ROB-002"]),
    ("swallows commands during a download", "quirk=download-swallows-commands", &["ZFM-ROB-003"]),
    ("deaf after line noise", "quirk=noise-deafens", &["ZFM-FRM-004"]),
    ("hangs on an invalid PID", "quirk=bad-pid-hangs", &["ZFM-ROB-001"]),
    ("reports a finger when nobody is there", "finger=none&quirk=phantom-finger", &["ZFM-CAP-002"]),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_faulty_variant_is_caught_by_its_purposes() {
    // Variants spend most of their time waiting for replies that do not come: run them side by side.
    let runs: Vec<_> = CATALOGUE
        .iter()
        .map(|(_, param, _)| {
            let url = format!("sim:fingerprint?profile=r503&{param}");
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                (run_zfm_with(&url, Some(zfm_ics(&url))).await, started.elapsed())
            })
        })
        .collect();
    let mut table = Vec::new();
    let mut missed = Vec::new();
    let mut caught = std::collections::BTreeSet::new();
    let mut debug = Vec::new();
    for ((name, param, expected), run) in CATALOGUE.iter().zip(runs) {
        let (report, took) = run.await.unwrap();
        debug.extend(debug_forms(&report));
        let failed: Vec<&str> =
            report.results.iter().filter(|r| r.outcome.is_failure()).map(|r| r.id.as_str()).collect();
        if !param.contains("wrong-reply-address") {
            caught.extend(failed.iter().map(|id| (*id).to_owned()));
        }
        for id in *expected {
            if !failed.contains(id) {
                missed.push(format!("{name} ({param}): {id} did not fail; failed: {failed:?}"));
            }
        }
        table.push(format!(
            "| {name} | `{param}` | {} | {} | {:.0} s |",
            failed.len(),
            failed.join(", "),
            took.as_secs_f64()
        ));
    }
    println!("| variant | simulator parameter | purposes failed | ids | run |\n|---|---|---|---|---|");
    for row in &table {
        println!("{row}");
    }
    println!("caught: {} of {} variants", CATALOGUE.len() - missed.len(), CATALOGUE.len());
    assert!(missed.is_empty(), "{missed:#?}");
    // What a failure says is read by people (junit.xml, report.json): words and decoded frames, never Rust's
    // debug forms.
    assert!(debug.is_empty(), "evidence in Rust debug forms: {debug:#?}");
    // Every purpose is shown failing against some faulty module, and not only against the one that breaks
    // everything (replies from the wrong address), which counts only for the purpose about addresses.
    let all: Vec<&str> = khil_conformance::suites::zfm::ZfmSuite::new().purposes().iter().map(|p| p.meta.id).collect();
    let untested: Vec<&&str> =
        all.iter().filter(|id| !caught.contains(**id as &str) && **id != "ZFM-FRM-001").collect();
    assert!(untested.is_empty(), "purposes no targeted faulty module fails: {untested:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_module_fails_nothing() {
    let report = run_against("sim:fingerprint?profile=r503").await;
    let bad: Vec<String> = report
        .results
        .iter()
        .filter(|r| {
            r.outcome.is_failure()
                || matches!(r.outcome, Outcome::Verdict { verdict: khil_conformance::Verdict::Inconclusive })
        })
        .map(|r| format!("{} {}", r.id, r.outcome.label()))
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
}
