//! The score model on synthetic prints: what `--quality` does to genuine scores, and that impostors stay low.
//! Scores are in decades (the model's unit); the ZFM module reports 25 a decade and its security level L needs
//! L + 1 decades, so "below 4 decades" is "rejected at the default level 3".

use khil_biometrics::extract::extract;
use khil_biometrics::matcher::MatchTemplate;
use khil_biometrics::synth::{Quality, SensorProfile};
use khil_sim_population::{Fingers, score};

/// Genuine scores (every impression of a finger against every later one) and impostor scores (the first
/// impression of each finger against the first of every other), in decades.
struct Scores {
    genuine: Vec<f32>,
    impostor: Vec<f32>,
}

fn scores(seed: u64, quality: Quality, sensor: SensorProfile, fingers: u64, impressions: u32) -> Scores {
    let population = Fingers::new(seed, quality);
    let templates: Vec<Vec<MatchTemplate>> = (0..fingers)
        .map(|id| {
            (0..impressions)
                .map(|index| MatchTemplate::new(&extract(&population.impression(id, index, sensor).image, 500)))
                .collect()
        })
        .collect();
    let mut genuine = Vec::new();
    for finger in &templates {
        for (i, a) in finger.iter().enumerate() {
            genuine.extend(finger[i + 1..].iter().map(|b| score::compare(a, b)));
        }
    }
    let mut impostor = Vec::new();
    for (i, a) in templates.iter().enumerate() {
        impostor.extend(templates[i + 1..].iter().map(|b| score::compare(&a[0], &b[0])));
    }
    genuine.sort_by(f32::total_cmp);
    impostor.sort_by(f32::total_cmp);
    Scores { genuine, impostor }
}

/// The `p`-quantile of sorted scores (nearest rank below).
fn quantile(sorted: &[f32], p: f32) -> f32 {
    sorted[((sorted.len() - 1) as f32 * p) as usize]
}

fn share_below(sorted: &[f32], limit: f32) -> f32 {
    sorted.iter().filter(|&&s| s < limit).count() as f32 / sorted.len() as f32
}

#[test]
fn mixed_impressions_lower_the_genuine_scores() {
    let good = scores(3, Quality::Good, SensorProfile::R307, 6, 3);
    let mixed = scores(3, Quality::Mixed, SensorProfile::R307, 6, 3);
    let (good_median, mixed_median) = (quantile(&good.genuine, 0.5), quantile(&mixed.genuine, 0.5));
    assert!(
        good_median - mixed_median >= 1.0,
        "medians: good {good_median:.2}, mixed {mixed_median:.2} decades ({:?} / {:?})",
        good.genuine,
        mixed.genuine
    );
    // Level 5 (6 decades) turns some mixed genuine captures away, and no good one: a host's re-capture runs.
    assert!(good.genuine[0] >= 6.0, "good: {:?}", good.genuine);
    assert!(mixed.genuine[0] < 6.0, "mixed: {:?}", mixed.genuine);
}

#[test]
fn genuine_scores_spread_and_impostors_stay_low() {
    let good = scores(3, Quality::Good, SensorProfile::R503, 6, 3);
    let (low, high) = (good.genuine[0], good.genuine[good.genuine.len() - 1]);
    assert!(high - low >= 1.0, "good genuine scores from {low:.2} to {high:.2} decades: no spread");
    assert!(high < khil_biometrics::matcher::MAX_SCORE, "a genuine pair of two captures at the top: {high}");
    let worst_impostor = good.impostor[good.impostor.len() - 1];
    assert!(worst_impostor < 4.0, "an impostor passes level 3: {:?}", good.impostor);
    assert!(worst_impostor < low, "impostor {worst_impostor:.2} above genuine {low:.2}");
}

/// The figures in `score.rs`'s documentation. Slow (a minute in a debug build): run with
/// `cargo test --release -p khil-sim-population --test scores -- --ignored --nocapture`.
#[test]
#[ignore = "a survey for the documentation, not a check"]
fn survey() {
    const ZFM_PER_DECADE: f32 = 25.0;
    let rows = [
        ("good", Quality::Good, SensorProfile::R307),
        ("good", Quality::Good, SensorProfile::R503),
        ("mixed", Quality::Mixed, SensorProfile::R307),
        ("mixed", Quality::Mixed, SensorProfile::R503),
    ];
    let results: Vec<Scores> = std::thread::scope(|s| {
        let handles: Vec<_> =
            rows.iter().map(|&(_, quality, sensor)| s.spawn(move || scores(1, quality, sensor, 50, 4))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    println!(
        "| quality | sensor | genuine p5 / p25 / p50 / p75 / p95 | genuine under 100 / 125 / 150 | impostor p50 / max |"
    );
    println!("|---|---|---|---|---|");
    for ((name, _, sensor), r) in rows.iter().zip(&results) {
        let z = |d: f32| (d * ZFM_PER_DECADE).round();
        let g = &r.genuine;
        println!(
            "| {name} | {} | {} / {} / {} / {} / {} | {:.1} % / {:.1} % / {:.1} % | {} / {} |",
            sensor.name,
            z(quantile(g, 0.05)),
            z(quantile(g, 0.25)),
            z(quantile(g, 0.5)),
            z(quantile(g, 0.75)),
            z(quantile(g, 0.95)),
            100.0 * share_below(g, 4.0),
            100.0 * share_below(g, 5.0),
            100.0 * share_below(g, 6.0),
            z(quantile(&r.impostor, 0.5)),
            z(r.impostor[r.impostor.len() - 1]),
        );
    }
}
