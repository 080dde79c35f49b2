//! The matcher on minutiae sets with known geometry: invariance, tolerance, symmetry, self-score.

use khil_biometrics::matcher::{MatchTemplate, compare};
use khil_biometrics::minutia::{Minutia, MinutiaKind, Minutiae};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_finger(rng: &mut ChaCha8Rng, n: usize) -> Vec<Minutia> {
    (0..n)
        .map(|_| {
            let kind = if rng.random::<bool>() { MinutiaKind::Ending } else { MinutiaKind::Bifurcation };
            Minutia::new(
                rng.random_range(20.0..280.0),
                rng.random_range(20.0..380.0),
                rng.random_range(0.0..std::f32::consts::TAU),
                kind,
                60,
            )
        })
        .collect()
}

fn set(points: Vec<Minutia>) -> Minutiae {
    Minutiae { width: 300, height: 400, dpi: 500, quality: 60, points }
}

/// Another impression of the same minutiae: rotated about the centre, shifted, jittered, some lost, some
/// spurious ones added.
fn impression(rng: &mut ChaCha8Rng, finger: &[Minutia], rot_deg: f32, shift: (f32, f32)) -> Vec<Minutia> {
    let (s, c) = rot_deg.to_radians().sin_cos();
    let kept: Vec<Minutia> = finger.iter().copied().filter(|_| rng.random::<f32>() > 0.15).collect();
    let mut out: Vec<Minutia> = kept
        .iter()
        .map(|m| {
            let (x, y) = (m.x - 150.0, m.y - 200.0);
            // Counter-clockwise on screen (y down) by rot: x' = x cos + y sin, y' = -x sin + y cos.
            let (xr, yr) = (x * c + y * s, -x * s + y * c);
            Minutia::new(
                xr + 150.0 + shift.0 + rng.random_range(-2.0..2.0),
                yr + 200.0 + shift.1 + rng.random_range(-2.0..2.0),
                m.angle + rot_deg.to_radians() + rng.random_range(-0.1..0.1),
                m.kind,
                m.quality,
            )
        })
        .collect();
    out.extend(random_finger(rng, finger.len() / 10));
    out
}

#[test]
fn genuine_scores_high_impostor_low() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let f = random_finger(&mut rng, 40);
        let rot = rng.random_range(-30.0..30.0);
        let shift = (rng.random_range(-20.0..20.0), rng.random_range(-20.0..20.0));
        let g = impression(&mut rng, &f, rot, shift);
        let other = random_finger(&mut rng, 40);
        let (tf, tg, to) = (MatchTemplate::new(&set(f)), MatchTemplate::new(&set(g)), MatchTemplate::new(&set(other)));
        genuine.push(compare(&tf, &tg));
        impostor.push(compare(&tf, &to));
    }
    let min_gen = genuine.iter().copied().fold(f32::INFINITY, f32::min);
    let max_imp = impostor.iter().copied().fold(0.0, f32::max);
    assert!(min_gen > max_imp, "genuine {genuine:?}\nimpostor {impostor:?}");
    assert!(min_gen > 0.3, "{genuine:?}");
}

#[test]
fn self_score_is_top_of_scale() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for n in [12, 40, 80] {
        let t = MatchTemplate::new(&set(random_finger(&mut rng, n)));
        let s = compare(&t, &t);
        assert!(s > 0.99, "{n} minutiae: self score {s}");
    }
}

#[test]
fn empty_and_tiny_templates_score_zero() {
    let empty = MatchTemplate::new(&set(Vec::new()));
    let one = MatchTemplate::new(&set(vec![Minutia::new(10.0, 10.0, 0.0, MinutiaKind::Ending, 0)]));
    assert!(compare(&empty, &empty).abs() < f32::EPSILON);
    assert!(compare(&one, &one).abs() < f32::EPSILON);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn symmetric_within_tolerance(seed in any::<u64>(), rot in -30.0f32..30.0) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let f = random_finger(&mut rng, 35);
        let g = impression(&mut rng, &f, rot, (5.0, -8.0));
        let (a, b) = (MatchTemplate::new(&set(f)), MatchTemplate::new(&set(g)));
        let (ab, ba) = (compare(&a, &b), compare(&b, &a));
        prop_assert!((ab - ba).abs() < 0.02, "{} vs {}", ab, ba);
        prop_assert!((0.0..=1.0).contains(&ab));
    }

    #[test]
    fn never_panics_on_odd_minutiae(points in proptest::collection::vec((-1e4f32..1e4, -1e4f32..1e4, -10f32..10.0), 0..60)) {
        let m: Vec<Minutia> = points.into_iter().map(|(x, y, a)| Minutia::new(x, y, a, MinutiaKind::Other, 0)).collect();
        let t = MatchTemplate::new(&set(m));
        let s = compare(&t, &t);
        prop_assert!((0.0..=1.0).contains(&s));
    }
}

#[test]
fn calibrated_scale_is_monotone_and_anchored() {
    use khil_biometrics::matcher::{MAX_SCORE, calibrated, threshold_for};
    assert!(calibrated(0.0).abs() < f32::EPSILON);
    let mut last = 0.0;
    for i in 0..=1000 {
        let s = calibrated(i as f32 / 1000.0);
        assert!(s >= last, "not monotone at {i}");
        last = s;
    }
    assert!((calibrated(1.0) - MAX_SCORE).abs() < f32::EPSILON);
    assert!((threshold_for(0.0005) - 3.30103).abs() < 1e-4);
    assert!((threshold_for(0.0001) - 4.0).abs() < 1e-6);
    assert!((threshold_for(0.00001) - 5.0).abs() < 1e-6);
}

#[test]
fn self_score_is_the_top_of_the_calibrated_scale() {
    use khil_biometrics::matcher::{MAX_SCORE, score};
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let t = MatchTemplate::new(&set(random_finger(&mut rng, 40)));
    assert!((score(&t, &t) - MAX_SCORE).abs() < f32::EPSILON);
}
