//! Extraction and matching on synthetic prints, end to end, as regression guards for the figures
//! `khil bench match` reports at full size.

use khil_biometrics::eval::{Accuracy, extraction_accuracy};
use khil_biometrics::matcher::{MatchTemplate, score, threshold_for};
use khil_biometrics::synth::{Quality, SensorProfile, dataset};
use khil_biometrics::{Minutiae, extract};

#[test]
fn good_impressions_recall_and_precision() {
    let set = dataset(11, 4, 2, SensorProfile::FLAT, Quality::Good);
    let mut acc = Accuracy::default();
    for imp in set.iter().flatten() {
        let m = extract::extract(&imp.image, 500);
        assert_eq!((m.width, m.height, m.dpi), (300, 400, 500));
        assert!(m.quality > 30, "image quality {}", m.quality);
        assert!(m.points.iter().all(|p| (1..=100).contains(&p.quality)));
        acc.add(extraction_accuracy(&imp.truth, &m.points, 12.0, 22.5f32.to_radians()));
    }
    // The full benchmark measures ~0.90 / ~0.98 on 50 impressions; eight are enough to catch a regression.
    assert!(
        acc.recall() >= 0.85 && acc.precision() >= 0.90,
        "{acc:?}: recall {}, precision {}",
        acc.recall(),
        acc.precision()
    );
}

#[test]
fn synthetic_genuine_pairs_pass_and_impostors_fail_at_fmr_0_05_percent() {
    let set = dataset(12, 4, 3, SensorProfile::FLAT, Quality::Mixed);
    let templates: Vec<Vec<MatchTemplate>> =
        set.iter().map(|f| f.iter().map(|i| MatchTemplate::new(&extract::extract(&i.image, 500))).collect()).collect();
    let threshold = threshold_for(0.0005);
    for (f, finger) in templates.iter().enumerate() {
        for i in 0..finger.len() {
            for j in i + 1..finger.len() {
                let s = score(&finger[i], &finger[j]);
                assert!(s >= threshold, "finger {f} impressions {i}/{j}: genuine score {s} < {threshold}");
            }
        }
        for (g, other) in templates.iter().enumerate().skip(f + 1) {
            let s = score(&finger[0], &other[0]);
            assert!(s < threshold, "fingers {f}/{g}: impostor score {s} >= {threshold}");
        }
    }
}

#[test]
fn blank_and_tiny_images_give_no_minutiae_and_no_panic() {
    for (w, h, v) in
        [(300, 400, 255u8), (300, 400, 0), (1, 1, 128), (7, 300, 90), (300, 7, 90), (0, 300, 9), (300, 0, 9), (0, 0, 9)]
    {
        let img = khil_biometrics::GrayImage::new(w, h, v);
        let m: Minutiae = extract::extract(&img, 500);
        assert!(m.points.is_empty(), "{w}x{h} flat {v}: {} minutiae", m.points.len());
    }
    // Pixels that do not fill the stated size are refused quietly too, never indexed out of bounds.
    let broken = khil_biometrics::GrayImage { width: 300, height: 400, pixels: vec![0; 10] };
    assert!(extract::extract(&broken, 500).points.is_empty());
}
