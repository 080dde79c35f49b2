//! What the scenario tests share: the shipped scenarios' folder and a valid scenario to break.

#![allow(dead_code, reason = "each test binary uses part of it")]

use std::path::PathBuf;

/// `scenarios/` of the workspace, where the shipped rule file is.
pub(crate) fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// The day the runs are judged on: today (the simulators' test PKI follows the current quarter).
pub(crate) fn today() -> khil_mrtd::mrz::CivilDate {
    let now = der::DateTime::from_system_time(std::time::SystemTime::now()).unwrap();
    khil_mrtd::mrz::CivilDate::new(now.year(), now.month(), now.day()).unwrap()
}

/// A scenario using every part of the format; tests replace one piece of it.
pub(crate) const VALID: &str = r#"name = "test"
description = "every part of the format"
seed = 7
rules = "rules/mongolia.toml"
gates = 2

[point]
name = "zamiin-uud"
direction = "entry"

[arrivals]
profile = "zamiin-uud"
share = 0.1
from = "09:00"
until = "10:00"
limit = 20

[desk]
officers = 3

[population]
finger_quality = "mixed"
fraud = { photo-substitution = 0.02, expired = 0.01 }
watchlist = { wanted = 0.01 }
impostors = 0.01

[[traveller]]
label = "forged"
at = "09:30"
specimen = "photo-substitution"
specimen_index = 3
expect = "refer"
reasons = ["document.forged_or_altered"]

[[traveller]]
label = "child"
at = 09:40:00
papers = "child-citizen"
finger = 12
behaviour = "slow"
watchlisted = "trafficking-suspect"

[expect]
released = { min = 0.5 }
queue_p95_minutes = { max = 5 }
records_verify = true
"#;

use khil_scenario::{DecisionWord, QueueSample, RecordsSummary, RunResult, StepOutcome, TravellerOutcome};

/// A traveller's outcome: through a gate at `arrived + 30 s`, 12 s of transaction.
pub(crate) fn outcome(
    number: usize,
    label: Option<&str>,
    truth: &str,
    decision: DecisionWord,
    reasons: &[&str],
) -> TravellerOutcome {
    let arrived = 9.0 * 3600.0 + number as f64 * 20.0;
    let processed = decision != DecisionWord::NotProcessed;
    TravellerOutcome {
        number,
        label: label.map(str::to_owned),
        truth: truth.to_owned(),
        papers: format!("population {number} (MNG passport)"),
        nationality: "MNG".to_owned(),
        arrived,
        gate: processed.then(|| format!("gate-{}", number % 2 + 1)),
        waited: 30.0,
        started: processed.then_some(arrived + 30.0),
        left_gate: processed.then_some(arrived + 42.0),
        transaction: processed.then_some(12.0),
        decision,
        reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
        record: processed.then(|| format!("rec-{number}")),
        degraded: false,
        desk_done: (decision == DecisionWord::Refer).then_some(arrived + 400.0),
        timeline: vec![StepOutcome {
            step: "document".to_owned(),
            started: 1.5,
            took: 3.2,
            outcome: "read, genuine".to_owned(),
        }],
        as_expected: None,
    }
}

/// A run of `travellers` at zamiin-uud, 09:00-10:00, two gates.
pub(crate) fn run(travellers: Vec<TravellerOutcome>) -> RunResult {
    let queue = travellers.iter().enumerate().map(|(i, t)| QueueSample { at: t.arrived, length: i % 3 }).collect();
    RunResult {
        scenario: "test".to_owned(),
        description: "a hand-built run".to_owned(),
        seed: 7,
        point: "zamiin-uud".to_owned(),
        direction: "entry".to_owned(),
        day: "2026-12-07".to_owned(),
        rules_version: "mongolia-2026.12-1".to_owned(),
        watchlist_version: "w-1".to_owned(),
        from: 9.0 * 3600.0,
        until: 10.0 * 3600.0,
        gates: vec![],
        travellers,
        queue,
        desk_queue: vec![QueueSample { at: 9.0 * 3600.0, length: 0 }, QueueSample { at: 9.5 * 3600.0, length: 1 }],
        incidents: vec![],
        records: RecordsSummary {
            committed: 3,
            verified: Some(true),
            verify_detail: String::new(),
            pending_upload: 3,
            central: None,
        },
        expectations: vec![],
    }
}
