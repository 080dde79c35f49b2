//! A run's results held against the scenario's expectations: ranges for the statistical figures (over the
//! generated travellers), an exact decision and reasons for each crafted traveller that has one.
//!
//! Pure: the figures come from the [`RunResult`], nothing is measured here.

use std::fmt::Write as _;

use khil_clearance::traffic::quantile;

use crate::file::clock;
use crate::model::{
    Bounds, DecisionWord, ExpectationResult, Expectations, Incident, RecordsSummary, RunResult, Scenario,
    TravellerOutcome,
};

/// Fills `result.expectations` (statistical ones first, in the file's order, then one per incident: it was played,
/// then one per crafted traveller with an expectation) and each crafted traveller's `as_expected`. Crafted
/// travellers are matched by label; an incident by the run's log of it within a second of its start.
pub fn check(scenario: &Scenario, result: &mut RunResult) {
    let mut checked = Vec::new();
    let generated: Vec<&TravellerOutcome> = result.travellers.iter().filter(|t| t.label.is_none()).collect();
    let e = &scenario.expect;

    let released = generated.iter().filter(|t| t.decision == DecisionWord::Release).count();
    push_share(&mut checked, "released", e.released, released, generated.len(), "generated travellers");
    let fraudulent: Vec<&TravellerOutcome> = generated.iter().copied().filter(|t| t.truth != "genuine").collect();
    let fraud_referred = referred(&fraudulent);
    push_share(
        &mut checked,
        "fraud_referred",
        e.fraud_referred,
        fraud_referred,
        fraudulent.len(),
        "generated fraudulent travellers",
    );
    let genuine: Vec<&TravellerOutcome> = generated.iter().copied().filter(|t| t.truth == "genuine").collect();
    let genuine_referred = referred(&genuine);
    push_share(
        &mut checked,
        "genuine_referred",
        e.genuine_referred,
        genuine_referred,
        genuine.len(),
        "generated genuine travellers",
    );
    if let Some(bounds) = e.queue_p95_minutes {
        let waits: Vec<f64> = result.travellers.iter().map(|t| t.waited / 60.0).collect();
        push_figure(&mut checked, "queue_p95_minutes", bounds, &waits, 0.95, "minutes", "travellers");
    }
    if let Some(bounds) = e.transaction_p50_seconds {
        let times: Vec<f64> = result
            .travellers
            .iter()
            .filter(|t| t.decision == DecisionWord::Release)
            .filter_map(|t| t.transaction)
            .collect();
        push_figure(&mut checked, "transaction_p50_seconds", bounds, &times, 0.5, "s", "released travellers");
    }
    records(e, &result.records, &mut checked);

    // Every incident of the scenario must have been played: the run logs one at its start.
    for incident in &scenario.incidents {
        let (what, expected, at) = match *incident {
            Incident::PowerCut { at, seconds } => {
                (format!("power cut at {}", clock(at)), format!("played: power off for {seconds} s"), at)
            }
            Incident::CentralDown { from, until } => (
                format!("central link down at {}", clock(from)),
                format!("played: the central link down until {}", clock(until)),
                from,
            ),
            Incident::RulesUpdate { at, ref rules } => (
                format!("rules update at {}", clock(at)),
                format!("played: {} published at the centre", rules.display()),
                at,
            ),
            Incident::WatchlistUpdate { at, ref add } => (
                format!("watchlist update at {}", clock(at)),
                format!("played: a watchlist listing {} published at the centre", add.join(", ")),
                at,
            ),
        };
        let logged: Vec<&str> =
            result.incidents.iter().filter(|i| (i.at - at).abs() <= 1.0).map(|i| i.what.as_str()).collect();
        let (actual, passed) = if logged.is_empty() {
            ("no incident logged at that time".to_owned(), false)
        } else {
            (format!("logged: {}", logged.join("; ")), true)
        };
        checked.push(ExpectationResult { what, expected, actual, passed });
    }

    for crafted in &scenario.crafted {
        let Some(want) = &crafted.expect else { continue };
        let expected = describe(want.decision, &want.reasons, "reasons starting with");
        let Some(outcome) = result.travellers.iter_mut().find(|t| t.label.as_deref() == Some(&crafted.label)) else {
            checked.push(ExpectationResult {
                what: format!("traveller ({})", crafted.label),
                expected,
                actual: "not in the run's outcomes".to_owned(),
                passed: false,
            });
            continue;
        };
        let passed = outcome.decision == want.decision
            && want.reasons.iter().all(|prefix| outcome.reasons.iter().any(|r| r.starts_with(prefix.as_str())));
        outcome.as_expected = Some(passed);
        checked.push(ExpectationResult {
            what: format!("traveller {} ({})", outcome.number, crafted.label),
            expected,
            actual: describe(outcome.decision, &outcome.reasons, "reasons"),
            passed,
        });
    }
    result.expectations = checked;
}

/// `records_verify` and `central_uploaded`, when expected.
fn records(e: &Expectations, records: &RecordsSummary, checked: &mut Vec<ExpectationResult>) {
    if e.records_verify {
        let (actual, passed) = match records.verified {
            Some(true) => (format!("{} records, audit chain verified", records.committed), true),
            Some(false) => (format!("verification failed: {}", records.verify_detail), false),
            None => ("not verified (the run did not check the store)".to_owned(), false),
        };
        checked.push(ExpectationResult {
            what: "records_verify".to_owned(),
            expected: "every record stored, audit chain verified".to_owned(),
            actual,
            passed,
        });
    }

    if e.central_uploaded {
        let (actual, passed) = central_uploaded(records);
        checked.push(ExpectationResult {
            what: "central_uploaded".to_owned(),
            expected: "every committed record at the central database once, nothing waiting".to_owned(),
            actual,
            passed,
        });
    }
}

/// Whether the centre holds exactly the point's records (as many, up to the same last seq: the centre takes a
/// point's records only in order and refuses a seq twice) and none waits.
fn central_uploaded(records: &RecordsSummary) -> (String, bool) {
    let Some(c) = &records.central else {
        return ("not shown: the run had no central database (khil scenario run --central URL)".to_owned(), false);
    };
    let (Some(count), Some(last)) = (c.centre_count, c.centre_last_seq) else {
        let why = c.centre_error.as_deref().unwrap_or("not asked");
        return (format!("the centre could not be asked what it holds: {why}"), false);
    };
    let n = records.committed;
    let passed = count == n && last == n && records.pending_upload == 0;
    let mut actual = format!(
        "the centre holds {count} records (last seq {last}) of the point's {n}; {} waiting; {} of {} upload rounds failed",
        records.pending_upload, c.failed_rounds, c.rounds
    );
    if let Some(e) = c.last_error.as_deref().filter(|_| !passed) {
        let _ = write!(actual, "; last error: {e}");
    }
    (actual, passed)
}

fn referred(travellers: &[&TravellerOutcome]) -> usize {
    travellers.iter().filter(|t| t.decision == DecisionWord::Refer).count()
}

/// One line per failed expectation, for the terminal: what, expected, actual (a traveller's with the decision's
/// reasons).
pub fn failures(result: &RunResult) -> Vec<String> {
    result
        .expectations
        .iter()
        .filter(|e| !e.passed)
        .map(|e| format!("{}: expected {}; got {}", e.what, e.expected, e.actual))
        .collect()
}

/// `refer (reasons: document.expired, biometric.no_match)`, `release (no reasons)`.
fn describe(decision: DecisionWord, reasons: &[String], label: &str) -> String {
    if reasons.is_empty() {
        let none = if label == "reasons" { " (no reasons)" } else { "" };
        format!("{}{none}", decision.name())
    } else {
        format!("{} ({label}: {})", decision.name(), reasons.join(", "))
    }
}

fn push_share(
    out: &mut Vec<ExpectationResult>,
    what: &str,
    bounds: Option<Bounds>,
    count: usize,
    of: usize,
    whom: &str,
) {
    let Some(bounds) = bounds else { return };
    let (actual, passed) = if of == 0 {
        (format!("nothing to measure: no {whom}"), false)
    } else {
        let share = count as f64 / of as f64;
        (format!("{} ({count} of {of} {whom})", round(share)), bounds.holds(share))
    };
    out.push(ExpectationResult { what: what.to_owned(), expected: bounds.to_string(), actual, passed });
}

fn push_figure(
    out: &mut Vec<ExpectationResult>,
    what: &str,
    bounds: Bounds,
    values: &[f64],
    q: f64,
    unit: &str,
    whom: &str,
) {
    let (actual, passed) = if values.is_empty() {
        (format!("nothing to measure: no {whom}"), false)
    } else {
        let value = quantile(values, q);
        (format!("{} {unit} (over {} {whom})", round(value), values.len()), bounds.holds(value))
    };
    out.push(ExpectationResult { what: what.to_owned(), expected: bounds.to_string(), actual, passed });
}

/// Four significant decimals are plenty in a message; the check itself uses the exact value.
fn round(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}
