//! `check` on hand-built runs: each expectation holds on a run that meets it and fails, with a message naming
//! what was expected and what came out, on one that does not.

mod common;

use common::{outcome, run, scenarios_dir};
use khil_scenario::DecisionWord::{NotProcessed, Refer, Release};
use khil_scenario::expect::{check, failures};
use khil_scenario::{RunResult, Scenario};

const SCENARIO: &str = r#"name = "expect"
rules = "rules/mongolia.toml"
gates = 2
[point]
name = "zamiin-uud"
direction = "entry"
[arrivals]
from = "09:00"
until = "10:00"
[[traveller]]
label = "forged"
at = "09:10"
specimen = "photo-substitution"
expect = "refer"
reasons = ["document.forged_or_altered"]
[[traveller]]
label = "citizen"
at = "09:11"
expect = "release"
[expect]
released = { min = 0.5, max = 0.9 }
fraud_referred = { min = 1.0 }
genuine_referred = { max = 0.25 }
queue_p95_minutes = { max = 1 }
transaction_p50_seconds = { min = 10, max = 14 }
records_verify = true
"#;

fn scenario() -> Scenario {
    khil_scenario::file::parse("expect.toml", &scenarios_dir(), SCENARIO).unwrap_or_else(|e| panic!("{e}"))
}

/// Generated: 3 genuine released, 1 genuine referred, 1 forgery referred; crafted: both as expected.
fn good() -> RunResult {
    run(vec![
        outcome(1, None, "genuine", Release, &[]),
        outcome(2, None, "genuine", Release, &[]),
        outcome(3, Some("forged"), "photo-substitution", Refer, &["document.forged_or_altered", "biometric.no_match"]),
        outcome(4, None, "genuine", Release, &[]),
        outcome(5, None, "counterfeit-office-paper", Refer, &["document.forged_or_altered"]),
        outcome(6, None, "genuine", Refer, &["biometric.no_match"]),
        outcome(7, Some("citizen"), "genuine", Release, &[]),
    ])
}

fn checked(mut result: RunResult) -> RunResult {
    check(&scenario(), &mut result);
    result
}

fn passed(result: &RunResult, what: &str) -> bool {
    result.expectations.iter().find(|e| e.what.starts_with(what)).unwrap_or_else(|| panic!("no {what}")).passed
}

#[test]
fn a_run_that_meets_every_expectation_passes() {
    let r = checked(good());
    assert!(failures(&r).is_empty(), "{:#?}", failures(&r));
    let whats: Vec<&str> = r.expectations.iter().map(|e| e.what.as_str()).collect();
    assert_eq!(
        whats,
        [
            "released",
            "fraud_referred",
            "genuine_referred",
            "queue_p95_minutes",
            "transaction_p50_seconds",
            "records_verify",
            "traveller 3 (forged)",
            "traveller 7 (citizen)",
        ]
    );
    // Shares are over generated travellers only: 3 of 5 released.
    assert!(r.expectations[0].actual.starts_with("0.6 (3 of 5"), "{:?}", r.expectations[0]);
    assert_eq!(r.travellers[2].as_expected, Some(true));
    assert_eq!(r.travellers[6].as_expected, Some(true));
    assert_eq!(r.travellers[0].as_expected, None, "generated travellers expect nothing");
}

#[test]
fn each_statistical_bound_can_fail() {
    // released above max: every generated traveller released.
    let mut all_released = good();
    for t in &mut all_released.travellers {
        if t.label.is_none() {
            t.decision = Release;
        }
    }
    let r = checked(all_released);
    assert!(!passed(&r, "released") && !passed(&r, "fraud_referred"));
    assert!(passed(&r, "genuine_referred"));

    // genuine_referred above max.
    let mut false_referrals = good();
    false_referrals.travellers[0].decision = Refer;
    let r = checked(false_referrals);
    assert!(!passed(&r, "genuine_referred"), "{:?}", r.expectations[2]);

    // queue p95 over a minute.
    let mut queued = good();
    for t in &mut queued.travellers {
        t.waited = 600.0;
    }
    let r = checked(queued);
    assert!(!passed(&r, "queue_p95_minutes"));
    assert!(r.expectations[3].actual.starts_with("10 minutes"), "{:?}", r.expectations[3]);

    // Median transaction of released travellers out of 10-14 s; referred ones do not count.
    let mut slow = good();
    for t in &mut slow.travellers {
        t.transaction = Some(if t.decision == Release { 30.0 } else { 12.0 });
    }
    assert!(!passed(&checked(slow), "transaction_p50_seconds"));

    // records: verification failed, or never run.
    let mut broken = good();
    broken.records.verified = Some(false);
    broken.records.verify_detail = "record 2: hash chain broken".to_owned();
    let r = checked(broken);
    assert!(!passed(&r, "records_verify"));
    assert!(failures(&r)[0].contains("hash chain broken"), "{:?}", failures(&r));
    let mut unchecked = good();
    unchecked.records.verified = None;
    assert!(!passed(&checked(unchecked), "records_verify"));
}

#[test]
fn nothing_to_measure_is_a_failure_not_a_pass() {
    let r =
        checked(run(vec![outcome(1, Some("forged"), "photo-substitution", Refer, &["document.forged_or_altered"])]));
    assert!(!passed(&r, "released"));
    assert!(r.expectations[0].actual.contains("nothing to measure"), "{:?}", r.expectations[0]);
    let missing = r.expectations.iter().find(|e| e.what == "traveller (citizen)").expect("the missing traveller");
    assert!(!missing.passed && missing.actual.contains("not in the run"), "{missing:?}");
}

#[test]
fn a_failed_traveller_names_the_traveller_and_both_decisions_with_reasons() {
    // Wrong decision.
    let mut released = good();
    released.travellers[2].decision = Release;
    released.travellers[2].reasons.clear();
    let r = checked(released);
    assert_eq!(r.travellers[2].as_expected, Some(false));
    let f = failures(&r);
    assert_eq!(
        f,
        [
            "traveller 3 (forged): expected refer (reasons starting with: document.forged_or_altered); got release (no reasons)"
        ]
    );

    // Right decision, wrong reason: a reason is a prefix of the verdict's rule, not merely any referral.
    let mut other_reason = good();
    other_reason.travellers[2].reasons = vec!["document.expired".to_owned()];
    let r = checked(other_reason);
    assert_eq!(
        failures(&r),
        ["traveller 3 (forged): expected refer (reasons starting with: document.forged_or_altered); got refer \
         (reasons: document.expired)"]
    );

    // Not processed at all.
    let mut lost = good();
    lost.travellers[6].decision = NotProcessed;
    let r = checked(lost);
    assert_eq!(failures(&r), ["traveller 7 (citizen): expected release; got not-processed (no reasons)"]);
}

#[test]
fn every_incident_must_have_been_played() {
    let text = SCENARIO.replace(
        "[expect]",
        "[[incident]]\nkind = \"power-cut\"\nat = \"09:20\"\nseconds = 90\n\n[[incident]]\nkind = \"central-down\"\n\
         from = \"09:30\"\nuntil = \"12:00\"\n\n[expect]",
    );
    let scenario =
        khil_scenario::file::parse("incidents.toml", &scenarios_dir(), &text).unwrap_or_else(|e| panic!("{e}"));
    let mut ignored = good();
    check(&scenario, &mut ignored);
    let failed = failures(&ignored);
    assert_eq!(
        failed,
        [
            "power cut at 09:20:00: expected played: power off for 90 s; got no incident logged at that time",
            "central link down at 09:30:00: expected played: the central link down until 12:00:00; got no incident logged at \
         that time",
        ]
    );
    let mut played = good();
    played.incidents = vec![
        khil_scenario::IncidentLog { at: 9.0 * 3600.0 + 20.0 * 60.0, what: "power cut".to_owned() },
        khil_scenario::IncidentLog { at: 9.5 * 3600.0 + 0.5, what: "central link down".to_owned() },
    ];
    check(&scenario, &mut played);
    assert!(failures(&played).is_empty(), "{:?}", failures(&played));
}
