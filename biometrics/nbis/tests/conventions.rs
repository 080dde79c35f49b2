//! Conventions on synthetic input (no data needed): which way NBIS's angles point, how khil minutiae and ISO
//! records map onto NBIS's, and the inputs nbis-rs would crash on.

use std::f32::consts::TAU;

use khil_biometrics::minutia::angle_diff;
use khil_biometrics::{GrayImage, Minutia, MinutiaKind, Minutiae};
use khil_nbis::{MAX_LOADABLE_MINUTIAE, NbisError, NbisTemplate, compare, extract};

const SIZE: usize = 320;
const CENTRE: f32 = 160.0;

/// A `SIZE` x `SIZE` print of straight ridges (period 10 px) running at ISO angle `phi_deg`, with one minutia at
/// the centre made by a phase singularity: gray = 128 - 100 cos(psi), psi = 2 pi v / 10 + atan2(v, u), where u is
/// the position along the ridges (unit vector (cos phi, -sin phi) in image coordinates, y down) and v across.
///
/// On the ray v = 0, u > 0, psi = 0: ridge (dark); on v = 0, u < 0, psi = pi: valley. So a ridge comes in from +u
/// and stops at the centre, a ridge ending whose ISO angle (pointing back along its ridge) is `phi`.
/// `inverted` swaps ridges and valleys: a valley comes in from +u and stops between two ridges that merge into
/// one on the -u side, a bifurcation whose ISO angle (along the ending valley, away from the stem) is `phi` too.
fn minutia_print(phi_deg: f32, inverted: bool) -> GrayImage {
    let phi = phi_deg.to_radians();
    let (along, across) = ((phi.cos(), -phi.sin()), (phi.sin(), phi.cos()));
    let mut img = GrayImage::new(SIZE, SIZE, 0);
    for y in 0..SIZE {
        for x in 0..SIZE {
            let (dx, dy) = (x as f32 - CENTRE, y as f32 - CENTRE);
            let u = dx * along.0 + dy * along.1;
            let v = dx * across.0 + dy * across.1;
            let c = (TAU * v / 10.0 + v.atan2(u)).cos();
            img.set(x, y, (128.0 - 100.0 * if inverted { -c } else { c }) as u8);
        }
    }
    img
}

#[test]
fn nbis_angles_follow_iso_for_endings_and_bifurcations() {
    // Angles off the axes and in every quadrant: a y flip (phi -> -phi) or a half turn would show.
    for phi in [30.0f32, 75.0, 120.0, 210.0, 255.0, 300.0] {
        for (inverted, kind) in [(false, MinutiaKind::Ending), (true, MinutiaKind::Bifurcation)] {
            let t = extract(&minutia_print(phi, inverted), 500).unwrap();
            let m = t.to_minutiae(t.width(), t.height());
            let found = m
                .points
                .iter()
                .find(|p| (p.x - CENTRE).hypot(p.y - CENTRE) <= 4.0)
                .unwrap_or_else(|| panic!("phi {phi}, {kind:?}: no minutia at the centre of {t:?}"));
            assert_eq!(found.kind, kind, "phi {phi}");
            // NBIS works in 11.25-degree steps and estimates within one step.
            let off = angle_diff(found.angle, phi.to_radians()).to_degrees();
            assert!(off <= 11.25, "phi {phi}, {kind:?}: NBIS angle {:.2} deg", found.angle.to_degrees());
        }
    }
}

fn minutia(x: f32, y: f32, deg: f32, kind: MinutiaKind, quality: u8) -> Minutia {
    Minutia::new(x, y, deg.to_radians(), kind, quality)
}

fn set(points: Vec<Minutia>) -> Minutiae {
    Minutiae { width: 300, height: 400, dpi: 500, quality: 0, points }
}

#[test]
fn khil_minutiae_snap_to_nbis_directions_and_keep_their_positions() {
    let input = set(vec![
        minutia(10.0, 20.0, 0.0, MinutiaKind::Ending, 90),
        minutia(30.4, 40.6, 95.0, MinutiaKind::Bifurcation, 80),
        minutia(50.0, 60.0, 200.0, MinutiaKind::Other, 70),
        minutia(70.0, 80.0, 359.0, MinutiaKind::Ending, 0),
        minutia(90.0, 100.0, 33.0, MinutiaKind::Ending, 100),
    ]);
    let t = NbisTemplate::from_minutiae(&input).unwrap();
    assert_eq!((t.width(), t.height(), t.dpi(), t.len()), (300, 400, 500, 5));
    let out = t.to_minutiae(300, 400);
    // BOZORTH3's order: quality (reliability) descending.
    let expected = [
        (90.0, 100.0, 33.75, MinutiaKind::Ending, 100),
        (10.0, 20.0, 0.0, MinutiaKind::Ending, 90),
        (30.0, 41.0, 90.0, MinutiaKind::Bifurcation, 80),
        (50.0, 60.0, 202.5, MinutiaKind::Ending, 70), // NBIS has no "other"
        (70.0, 80.0, 0.0, MinutiaKind::Ending, 0),
    ];
    for (got, (x, y, deg, kind, q)) in out.points.iter().zip(expected) {
        assert_eq!((got.x, got.y, got.kind, got.quality), (x, y, kind, q));
        assert!(angle_diff(got.angle, f32::to_radians(deg)) < 1e-4, "{got:?}: expected {deg} deg");
    }
    // Already on NBIS's grid: a second pass changes nothing.
    assert_eq!(NbisTemplate::from_minutiae(&out).unwrap().to_minutiae(300, 400), out);
}

#[test]
fn iso_records_carry_khil_angles_in_iso_units() {
    // Distinct qualities fix the record order (reliability descending).
    let t = NbisTemplate::from_minutiae(&set(vec![
        minutia(1.0, 2.0, 0.0, MinutiaKind::Ending, 100),
        minutia(300.0, 5.0, 90.0, MinutiaKind::Bifurcation, 80),
        minutia(7.0, 399.0, 180.0, MinutiaKind::Ending, 60),
        minutia(4095.0, 16383.0, 270.0, MinutiaKind::Bifurcation, 40),
    ]))
    .unwrap();
    let iso = t.to_iso().unwrap();
    assert_eq!(iso.len(), 28 + 4 * 6 + 2);
    assert_eq!(&iso[14..18], &[1, 44, 1, 144], "300x400");
    let m: Vec<&[u8]> = iso[28..52].chunks_exact(6).collect();
    // Type 01 ending / 10 bifurcation + 14-bit x, 14-bit y, angle in 360/256 deg counter-clockwise on the image
    // (90 deg = up = 64), quality floor(63 * q / 100).
    assert_eq!(m[0], &[0x40, 1, 0, 2, 0, 63]);
    assert_eq!(m[1], &[0x81, 44, 0, 5, 64, 50]);
    assert_eq!(m[2], &[0x40, 7, 1, 143, 128, 37]);
    assert_eq!(m[3], &[0x8f, 0xff, 0x3f, 0xff, 192, 25]);

    let back = NbisTemplate::from_iso(&iso).unwrap().to_minutiae(300, 400);
    for (got, deg) in back.points.iter().zip([0.0f32, 90.0, 180.0, 270.0]) {
        assert!(angle_diff(got.angle, deg.to_radians()) < 1e-4, "{got:?}: expected {deg} deg");
    }
}

#[test]
fn inputs_nbis_rs_would_crash_on_are_refused() {
    // MINDTCT segfaults below 12 px and reads out of bounds at 16x16.
    for (w, h) in [(16, 16), (500, 11), (11, 500), (0, 0), (5000, 100)] {
        assert!(matches!(extract(&GrayImage::new(w, h, 128), 500), Err(NbisError::ImageSize { .. })), "{w}x{h}");
    }
    let mut short = GrayImage::new(100, 100, 128);
    short.pixels.pop();
    assert!(matches!(extract(&short, 500), Err(NbisError::PixelCount { .. })));
    assert!(matches!(extract(&GrayImage::new(100, 100, 128), 0), Err(NbisError::Dpi(0))));

    // nbis-rs's ISO reader panics on 128..=255 minutiae (signed count).
    let many = set((0..=MAX_LOADABLE_MINUTIAE).map(|i| minutia(i as f32, 1.0, 0.0, MinutiaKind::Ending, 50)).collect());
    assert!(matches!(NbisTemplate::from_minutiae(&many), Err(NbisError::TooManyMinutiae { count: 128, .. })));
    let mut record = NbisTemplate::from_minutiae(&set(vec![])).unwrap().to_iso().unwrap();
    record[27] = 200;
    assert!(matches!(NbisTemplate::from_iso(&record), Err(NbisError::TooManyMinutiae { count: 200, .. })));

    assert!(matches!(NbisTemplate::from_iso(b"FMR\0 20\0"), Err(NbisError::Iso(_))));
    assert!(matches!(NbisTemplate::from_iso(&[]), Err(NbisError::Iso(_))));
    let nan = set(vec![minutia(f32::NAN, 1.0, 0.0, MinutiaKind::Ending, 50)]);
    assert!(matches!(NbisTemplate::from_minutiae(&nan), Err(NbisError::InvalidMinutia { index: 0, .. })));
    let far =
        set(vec![minutia(1.0, 1.0, 0.0, MinutiaKind::Ending, 0), minutia(16384.0, 1.0, 0.0, MinutiaKind::Ending, 0)]);
    assert!(matches!(NbisTemplate::from_minutiae(&far), Err(NbisError::InvalidMinutia { index: 1, .. })));
}

#[test]
fn a_blank_image_has_no_minutiae_and_scores_zero() {
    let t = extract(&GrayImage::new(256, 256, 200), 500).unwrap();
    assert!(t.is_empty());
    assert_eq!(compare(&t, &t), 0);
    let iso = t.to_iso().unwrap();
    assert_eq!(iso.len(), 30);
    assert!(NbisTemplate::from_iso(&iso).unwrap().is_empty());
    assert_eq!(format!("{t:?}"), "NbisTemplate(256x256 @500dpi, 0 minutiae)");
}
