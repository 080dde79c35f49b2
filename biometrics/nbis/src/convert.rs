//! Conversions between NBIS's minutia representation and khil's, and the ISO record nbis-rs reads.
//!
//! # Angle conventions
//!
//! **NBIS (MINDTCT/LFS native)**, what nbis-rs keeps in its `Minutia::direction`: an integer 0..=31 in units of
//! 11.25 degrees (180 degrees / 16 directions). 0 points *up* on the image (north, towards -y) and the value
//! grows *clockwise* as seen on the image (8 = east, 16 = south, 24 = west). Like ISO, it points from the minutia
//! back along its ridge (ending) or along the valley between the two branches (bifurcation): NBIS's own
//! `lfs2m1_minutia_XYT` (xytreps.c) turns it into ANSI INCITS 378 degrees as `90 - 11.25 * dir` with no
//! 180-degree turn, and `nbis::Minutia::angle()` returns the same `90 - 11.25 * dir`. Checked on images by the
//! synthetic test `tests/conventions.rs`.
//!
//! **NIST internal XYT**, what nbis-rs hands to BOZORTH3 on every comparison (never seen here): origin bottom-left
//! (`y' = height - y`), degrees counter-clockwise from east, `t = 270 - 11.25 * dir`, i.e. pointing *away* from
//! the ridge. nbis-rs converts on its own; BOZORTH3 only looks at relative geometry.
//!
//! **khil** ([`khil_biometrics::Minutia::angle`]): radians in [0, 2*pi), counter-clockwise as seen on the image
//! from +x (image y points down), pointing back along the ridge / along the ending valley (ISO/IEC 19794-2).
//!
//! So `khil degrees = (90 - 11.25 * dir) mod 360` and `dir = round((90 - khil degrees) / 11.25) mod 32`. Both
//! sides use pixel column/row coordinates with the origin top-left, so x and y pass through unchanged.
//!
//! # Reliability and quality
//!
//! NBIS reliability is 0.0..=1.0; khil quality is ISO's 0..=100 with 0 = unknown. `quality = round(100 * r)`
//! clamped to 1..=100 (0 only for r = 0), `r = quality / 100`. nbis-rs's ISO writer stores `floor(63 * r)` and its
//! reader `byte / 63`. Every one of these maps is monotone, which is what keeps comparison scores exact through
//! them (see [`Point`]).

use khil_biometrics::{Minutia, MinutiaKind};

/// Degrees per NBIS direction unit.
const DEG_PER_DIR: f64 = 11.25;
/// NBIS directions in a full turn.
const DIRECTIONS: f64 = 32.0;

/// One minutia as the template keeps it.
///
/// A template's points are always in BOZORTH3's order: reliability descending, ties in the order NBIS produced
/// them (nbis-rs stable-sorts by reliability before every comparison). Because every reliability/quality map in
/// this crate and in nbis-rs is monotone, a sequence in this order stays in this order through any of them, so
/// BOZORTH3 sees the same minutiae in the same order and gives the same score.
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct Point {
    pub(crate) x: i32,
    pub(crate) y: i32,
    /// NBIS direction units 0..=31 (see the module doc).
    pub(crate) dir: u8,
    pub(crate) reliability: f64,
    pub(crate) bifurcation: bool,
}

/// khil angle (radians) of an NBIS direction.
pub(crate) fn dir_to_angle(dir: u8) -> f32 {
    (90.0 - DEG_PER_DIR * f64::from(dir)).rem_euclid(360.0).to_radians() as f32
}

/// Nearest NBIS direction of a khil angle (radians).
pub(crate) fn angle_to_dir(angle: f32) -> u8 {
    ((90.0 - f64::from(angle).to_degrees()) / DEG_PER_DIR).round().rem_euclid(DIRECTIONS) as u8
}

/// NBIS direction of `nbis::Minutia::angle()` (degrees, `90 - 11.25 * dir` wrapped into [0, 360)).
pub(crate) fn nbis_degrees_to_dir(degrees: f64) -> u8 {
    ((90.0 - degrees) / DEG_PER_DIR).round().rem_euclid(DIRECTIONS) as u8
}

/// ISO 0..=100 quality (0 = unknown) of an NBIS reliability.
pub(crate) fn reliability_to_quality(r: f64) -> u8 {
    if r <= 0.0 { 0 } else { (r * 100.0).round().clamp(1.0, 100.0) as u8 }
}

pub(crate) fn quality_to_reliability(q: u8) -> f64 {
    f64::from(q) / 100.0
}

impl Point {
    pub(crate) fn from_nbis(m: &nbis::Minutia) -> Self {
        Self {
            x: m.x(),
            y: m.y(),
            dir: nbis_degrees_to_dir(m.angle()),
            reliability: m.reliability(),
            bifurcation: m.kind() == nbis::MinutiaKind::Bifurcation,
        }
    }

    pub(crate) fn to_minutia(self) -> Minutia {
        let kind = if self.bifurcation { MinutiaKind::Bifurcation } else { MinutiaKind::Ending };
        Minutia::new(
            self.x as f32,
            self.y as f32,
            dir_to_angle(self.dir),
            kind,
            reliability_to_quality(self.reliability),
        )
    }
}

/// Reads an nbis-rs minutiae set into BOZORTH3's order.
pub(crate) fn points_of(m: &nbis::Minutiae) -> Vec<Point> {
    let mut points: Vec<Point> = m.get().iter().map(|m| Point::from_nbis(m)).collect();
    sort_for_bozorth(&mut points);
    points
}

/// Reliability descending, stable (the order nbis-rs gives BOZORTH3).
pub(crate) fn sort_for_bozorth(points: &mut [Point]) {
    points.sort_by(|a, b| b.reliability.total_cmp(&a.reliability));
}

/// An ISO/IEC 19794-2:2005 record of `points` laid out as nbis-rs 0.1.0 writes and reads it: one view, minutia
/// quality `floor(63 * reliability)`, no extended data. The caller keeps `points.len()` <= 127 and coordinates in
/// 0..16384.
pub(crate) fn iso_record(points: &[Point], width: u16, height: u16, dpi: u16) -> Vec<u8> {
    let total = 28 + 6 * points.len() + 2;
    // px/cm, as ISO stores resolution (nbis-rs's reader ignores it).
    let res = (f64::from(dpi) / 2.54).round() as u16;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"FMR\0 20\0");
    out.extend_from_slice(&(total as u32).to_be_bytes());
    out.extend_from_slice(&[0, 0]); // compliance bits + device id
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&res.to_be_bytes());
    out.extend_from_slice(&res.to_be_bytes());
    out.extend_from_slice(&[1, 0]); // one view, reserved
    // View header: finger position unknown, view 0 / live-scan plain, finger quality 100 (as nbis-rs writes).
    out.extend_from_slice(&[0, 0, 100, points.len() as u8]);
    for p in points {
        let kind: u16 = if p.bifurcation { 0b10 } else { 0b01 };
        out.extend_from_slice(&((kind << 14) | (p.x as u16 & 0x3fff)).to_be_bytes());
        out.extend_from_slice(&(p.y as u16 & 0x3fff).to_be_bytes());
        // ISO angle unit 360/256 degrees: 90 - 11.25 * dir degrees is exactly 64 - 8 * dir units.
        out.push((64 - 8 * i32::from(p.dir)).rem_euclid(256) as u8);
        out.push((p.reliability * 63.0).min(63.0) as u8);
    }
    out.extend_from_slice(&[0, 0]); // extended data length
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::{FRAC_PI_2, PI};

    #[test]
    fn nbis_direction_zero_points_up_and_turns_clockwise_on_the_image() {
        // dir 0 = north = up on the image = 90 degrees counter-clockwise from east in khil's convention.
        assert!((dir_to_angle(0) - FRAC_PI_2).abs() < 1e-6);
        // dir 8 = east = 0, dir 16 = south = 270 degrees, dir 24 = west = 180 degrees.
        assert!(dir_to_angle(8).abs() < 1e-6);
        assert!((dir_to_angle(16) - 1.5 * PI).abs() < 1e-5);
        assert!((dir_to_angle(24) - PI).abs() < 1e-6);
        // One step clockwise on the image (dir 1) is 78.75 degrees counter-clockwise.
        assert!((dir_to_angle(1).to_degrees() - 78.75).abs() < 1e-4);
        let (dx, dy) = Minutia::new(0.0, 0.0, dir_to_angle(4), MinutiaKind::Ending, 0).direction();
        assert!(dx > 0.7 && dy < -0.7, "dir 4 is north-east: right and up on the image, got ({dx}, {dy})");
    }

    #[test]
    fn directions_round_trip_and_angles_snap_to_the_nearest_direction() {
        for dir in 0..32 {
            assert_eq!(angle_to_dir(dir_to_angle(dir)), dir);
            assert_eq!(nbis_degrees_to_dir(f64::from(dir_to_angle(dir)).to_degrees()), dir);
        }
        assert_eq!(angle_to_dir(85f32.to_radians()), 0);
        assert_eq!(angle_to_dir(96f32.to_radians()), 31);
        assert_eq!(angle_to_dir(2f32.to_radians()), 8);
        assert_eq!(angle_to_dir(359f32.to_radians()), 8);
    }

    #[test]
    fn quality_maps_are_monotone_and_round_trip() {
        for q in 0..=100u8 {
            assert_eq!(reliability_to_quality(quality_to_reliability(q)), q);
        }
        assert_eq!(reliability_to_quality(0.001), 1);
        assert_eq!(reliability_to_quality(1.5), 100);
        let mut last = 0;
        for i in 0..=1000 {
            let q = reliability_to_quality(f64::from(i) / 1000.0);
            assert!(q >= last);
            last = q;
        }
    }

    #[test]
    fn iso_record_layout() {
        let p = Point { x: 0x123, y: 0x2345, dir: 0, reliability: 0.5, bifurcation: true };
        let rec = iso_record(&[p], 400, 500, 500);
        assert_eq!(rec.len(), 36);
        assert_eq!(&rec[..8], b"FMR\0 20\0");
        assert_eq!(u32::from_be_bytes([rec[8], rec[9], rec[10], rec[11]]), 36);
        assert_eq!(&rec[14..20], &[1, 144, 1, 244, 0, 197]);
        assert_eq!(rec[27], 1);
        assert_eq!(&rec[28..34], &[0x81, 0x23, 0x23, 0x45, 64, 31]);
    }
}
