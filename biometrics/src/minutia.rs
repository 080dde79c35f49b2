//! Minutiae: where ridges end or split, and which way they run.
//!
//! Coordinates are image pixels (x right, y down, origin top-left) at the image's resolution. The angle follows
//! ISO/IEC 19794-2: radians in [0, 2*pi), counter-clockwise *as seen on the image* from the x axis, so the unit
//! direction in image coordinates is `(cos a, -sin a)`. See [`Minutia::angle`] for which way it points.

use std::f32::consts::TAU;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MinutiaKind {
    Ending,
    Bifurcation,
    /// ISO "other": type not determined.
    Other,
}

#[derive(Clone, Copy, PartialEq)]
pub struct Minutia {
    pub x: f32,
    pub y: f32,
    /// Radians in [0, 2*pi), counter-clockwise as seen on the image (ISO/IEC 19794-2 convention).
    ///
    /// Ridge ending: from the end point back along its ridge. Bifurcation: from the fork point along the
    /// valley that ends there, i.e. between the two branches, away from the stem. The two rules are one rule
    /// under ridge/valley duality (a ridge bifurcation is a valley ending), so a print whose ridges and valleys
    /// swap (dry/wet skin, inverted ink) keeps its angles while endings and bifurcations trade places.
    pub angle: f32,
    pub kind: MinutiaKind,
    /// 0-100 (ISO), 0 = unknown.
    pub quality: u8,
}

impl std::fmt::Debug for Minutia {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Minutia({:.1},{:.1} {:.0}deg {:?} q{})",
            self.x,
            self.y,
            self.angle.to_degrees(),
            self.kind,
            self.quality
        )
    }
}

impl Minutia {
    pub fn new(x: f32, y: f32, angle: f32, kind: MinutiaKind, quality: u8) -> Self {
        Self { x, y, angle: normalize_angle(angle), kind, quality }
    }

    /// Unit direction in image coordinates (y down).
    pub fn direction(&self) -> (f32, f32) {
        (self.angle.cos(), -self.angle.sin())
    }

    /// Angle of an image-coordinate direction (y down), in the ISO convention.
    pub fn angle_of(dx: f32, dy: f32) -> f32 {
        normalize_angle((-dy).atan2(dx))
    }
}

/// Wraps an angle into [0, 2*pi).
pub fn normalize_angle(a: f32) -> f32 {
    let r = a.rem_euclid(TAU);
    if r >= TAU { 0.0 } else { r }
}

/// Smallest absolute difference of two angles, in [0, pi].
pub fn angle_diff(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(TAU);
    d.min(TAU - d)
}

/// A finger's minutiae with the geometry of the image they came from.
#[derive(Clone, PartialEq)]
pub struct Minutiae {
    pub width: u16,
    pub height: u16,
    /// Pixels per inch (500 for every image khil makes).
    pub dpi: u16,
    /// Overall finger quality 0-100 (ISO view quality).
    pub quality: u8,
    pub points: Vec<Minutia>,
}

impl std::fmt::Debug for Minutiae {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Counts and geometry only: minutiae are biometric data and stay out of logs.
        write!(
            f,
            "Minutiae({}x{} @{}dpi, {} points, q{})",
            self.width,
            self.height,
            self.dpi,
            self.points.len(),
            self.quality
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::PI;

    #[test]
    fn angle_convention_is_counter_clockwise_on_screen() {
        // Pointing up on the image (negative y) is 90 degrees.
        assert!((Minutia::angle_of(0.0, -1.0) - PI / 2.0).abs() < 1e-6);
        let m = Minutia::new(0.0, 0.0, PI / 2.0, MinutiaKind::Ending, 0);
        let (dx, dy) = m.direction();
        assert!(dx.abs() < 1e-6 && (dy + 1.0).abs() < 1e-6);
        assert!((normalize_angle(-0.5) - (TAU - 0.5)).abs() < 1e-6);
        assert!((angle_diff(0.1, TAU - 0.1) - 0.2).abs() < 1e-5);
    }
}
