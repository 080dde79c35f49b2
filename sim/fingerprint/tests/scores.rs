//! Match scores on the wire: genuine searches spread instead of all reporting the top of the scale, `--quality
//! mixed` lowers them, and the security level turns poor captures away (the score model is
//! `khil_sim_population::score`).

mod common;

use std::sync::Arc;

use common::Host;
use khil_biometrics::synth::Quality;
use khil_fingerprint::{Command, ConfirmationCode as Cc, Reply};
use khil_sim_fingerprint::module::threshold;
use khil_sim_fingerprint::{Fingers, Presence, Profile, SensorConfig, ZfmSensor};

/// A module of `quality` with finger 7 enrolled at page 0 (at level 1, so that enrolment never fails), then set
/// to security `level`.
async fn enrolled(quality: Quality, level: u8) -> Host {
    let config = SensorConfig { presence: Presence::Placed(7), seed: 21, ..SensorConfig::new(Profile::R307) };
    let sensor = ZfmSensor::new(config, Arc::new(Fingers::new(21, quality))).unwrap();
    let mut host = Host::on(sensor);
    assert!(host.call(&Command::SetSysPara { param: 5, value: 1 }).await.cc().is_ok());
    host.enrol(0).await;
    assert!(host.call(&Command::SetSysPara { param: 5, value: level }).await.cc().is_ok());
    host
}

/// `n` fresh captures of finger 7 searched in the library: the score of each one found, `None` for each not.
async fn searches(host: &mut Host, n: usize) -> Vec<Option<u16>> {
    let mut out = Vec::new();
    for _ in 0..n {
        host.capture_into(1).await;
        match host.call(&Command::Search { buffer: 1, start: 0, count: 1000 }).await {
            Reply::Search { cc: Cc::Ok, page: 0, score } => out.push(Some(score)),
            Reply::Search { cc: Cc::NotFound, page: 0, score: 0 } => out.push(None),
            other => panic!("Search: {other:?}"),
        }
    }
    out
}

fn median(scores: &[u16]) -> u16 {
    let mut sorted = scores.to_vec();
    sorted.sort_unstable();
    sorted[sorted.len() / 2]
}

#[tokio::test(start_paused = true)]
async fn genuine_scores_spread_and_mixed_quality_lowers_them() {
    let mut good = enrolled(Quality::Good, 1).await;
    let mut mixed = enrolled(Quality::Mixed, 1).await;
    let good: Vec<u16> = searches(&mut good, 8).await.into_iter().map(|s| s.expect("level 1 finds it")).collect();
    // Level 5 turns away about a fifth of mixed captures (17 of 80 with this seed): 30 make a capture under it
    // all but certain, where 12 held none once the extractor improved on poor prints.
    let mixed: Vec<u16> = searches(&mut mixed, 30).await.into_iter().map(|s| s.expect("level 1 finds it")).collect();
    let spread = |s: &[u16]| s.iter().max().unwrap() - s.iter().min().unwrap();
    assert!(spread(&good) >= 20, "good captures all score alike: {good:?}");
    assert!(spread(&mixed) >= 25, "mixed captures all score alike: {mixed:?}");
    assert!(good.iter().all(|&s| s >= threshold(5) && s < 300), "good: {good:?}");
    assert!(median(&good) >= median(&mixed) + 25, "good {good:?}, mixed {mixed:?}");
    assert!(mixed.iter().any(|&s| s < threshold(5)), "no mixed capture under level 5: {mixed:?}");
}

#[tokio::test(start_paused = true)]
async fn level_5_turns_some_mixed_captures_away_and_reports_only_passing_scores() {
    let mut host = enrolled(Quality::Mixed, 5).await;
    let results = searches(&mut host, 30).await;
    let found: Vec<u16> = results.iter().flatten().copied().collect();
    assert!(found.len() < results.len(), "every mixed capture passed level 5: {results:?}");
    assert!(!found.is_empty(), "no mixed capture passed level 5: {results:?}");
    assert!(found.iter().all(|&s| s >= threshold(5)), "a score under the level was reported found: {found:?}");
}
