//! Compact templates: a finger's minutiae in 4 bytes each, what the gallery keeps in memory and on disk.
//!
//! One `u32` per minutia: x (11 bits) and y (11 bits) in whole pixels at 500 dpi, the angle in 256ths of a
//! turn (8 bits, 1.4 degrees) and the kind (2 bits). The matcher tolerates displacements of several pixels and
//! directions within tens of degrees (its cylinders' cells are 11.7 px, its angular sections 60 degrees), so this
//! rounding moves scores by far less than a second impression does; quality is not kept (the matcher does not
//! read it).

use std::f32::consts::TAU;

use crate::minutia::{Minutia, MinutiaKind, Minutiae};

/// Coordinates must fit 11 bits: 2,047 px at 500 dpi is 10 cm, more than any finger.
pub const MAX_COORDINATE: f32 = 2047.0;
/// Fewer minutiae than this cannot be indexed or matched meaningfully.
pub const MIN_MINUTIAE: usize = 4;
/// More than this is no finger (extractors report 20-100).
pub const MAX_MINUTIAE: usize = 255;

/// Why minutiae cannot become a gallery template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("{0} minutiae: a gallery template needs at least {MIN_MINUTIAE}")]
    TooFew(usize),
    #[error("{0} minutiae: a gallery template holds at most {MAX_MINUTIAE}")]
    TooMany(usize),
    #[error("a minutia lies outside 0-2047 px at 500 dpi (or is not a number)")]
    OutOfRange,
}

/// A finger's minutiae, quantised: see the module documentation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CompactTemplate(Box<[u32]>);

impl std::fmt::Debug for CompactTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Count only: minutiae are biometric data.
        write!(f, "CompactTemplate({} minutiae)", self.0.len())
    }
}

fn kind_bits(kind: MinutiaKind) -> u32 {
    match kind {
        MinutiaKind::Other => 0,
        MinutiaKind::Ending => 1,
        MinutiaKind::Bifurcation => 2,
    }
}

impl CompactTemplate {
    /// Quantises minutiae (rescaled to 500 dpi).
    pub fn new(minutiae: &Minutiae) -> Result<Self, TemplateError> {
        let n = minutiae.points.len();
        if n < MIN_MINUTIAE {
            return Err(TemplateError::TooFew(n));
        }
        if n > MAX_MINUTIAE {
            return Err(TemplateError::TooMany(n));
        }
        let scale = if minutiae.dpi == 0 { 1.0 } else { 500.0 / f32::from(minutiae.dpi) };
        let mut words = Vec::with_capacity(n);
        for m in &minutiae.points {
            let (x, y) = ((m.x * scale).round(), (m.y * scale).round());
            // `!(0..=MAX).contains` is also true for NaN.
            if !(0.0..=MAX_COORDINATE).contains(&x) || !(0.0..=MAX_COORDINATE).contains(&y) || !m.angle.is_finite() {
                return Err(TemplateError::OutOfRange);
            }
            let angle = ((m.angle.rem_euclid(TAU) / TAU * 256.0).round() as u32) & 0xFF;
            words.push((x as u32) << 21 | (y as u32) << 10 | angle << 2 | kind_bits(m.kind));
        }
        Ok(Self(words.into_boxed_slice()))
    }

    /// Rebuilds from stored words; `None` if a word is not one [`CompactTemplate::new`] can make.
    pub(crate) fn from_words(words: Vec<u32>) -> Option<Self> {
        let ok = (MIN_MINUTIAE..=MAX_MINUTIAE).contains(&words.len()) && words.iter().all(|w| w & 3 != 3);
        ok.then(|| Self(words.into_boxed_slice()))
    }

    pub(crate) fn words(&self) -> &[u32] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Heap bytes held (the words; the box itself lives in its owner).
    pub fn heap_bytes(&self) -> usize {
        self.0.len() * 4
    }

    /// Points as (x, y, angle) at 500 dpi, the index's input.
    pub(crate) fn points(&self) -> impl Iterator<Item = (f32, f32, f32)> + '_ {
        self.0.iter().map(|&w| ((w >> 21) as f32, ((w >> 10) & 0x7FF) as f32, ((w >> 2) & 0xFF) as f32 * TAU / 256.0))
    }

    /// The minutiae again, at 500 dpi, for the matcher.
    pub fn minutiae(&self) -> Minutiae {
        let points: Vec<Minutia> = self
            .0
            .iter()
            .zip(self.points())
            .map(|(&w, (x, y, a))| {
                let kind = match w & 3 {
                    1 => MinutiaKind::Ending,
                    2 => MinutiaKind::Bifurcation,
                    _ => MinutiaKind::Other,
                };
                Minutia::new(x, y, a, kind, 0)
            })
            .collect();
        let width = points.iter().map(|p| p.x as u16 + 1).max().unwrap_or(0);
        let height = points.iter().map(|p| p.y as u16 + 1).max().unwrap_or(0);
        Minutiae { width, height, dpi: 500, quality: 0, points }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identify::model::ModelFinger;
    use crate::matcher::{self, MatchTemplate};

    #[test]
    fn rounding_keeps_scores() {
        for f in 0..8 {
            let finger = ModelFinger::generate(11, f);
            let (a, b) = (finger.impression(0), finger.impression(1));
            let c = CompactTemplate::new(&a).unwrap().minutiae();
            assert_eq!(c.points.len(), a.points.len());
            for (p, q) in a.points.iter().zip(&c.points) {
                assert!((p.x - q.x).abs() <= 0.5 && (p.y - q.y).abs() <= 0.5);
                assert!(crate::minutia::angle_diff(p.angle, q.angle) <= TAU / 512.0 + 1e-5);
                assert_eq!(p.kind, q.kind);
            }
            let (exact, rounded) = (MatchTemplate::new(&a), MatchTemplate::new(&c));
            let probe = MatchTemplate::new(&b);
            let (s1, s2) = (matcher::compare(&exact, &probe), matcher::compare(&rounded, &probe));
            assert!((s1 - s2).abs() <= 0.01 + 0.1 * s1, "raw {s1} vs {s2}");
        }
    }

    #[test]
    fn bad_minutiae_refused() {
        let mut m = ModelFinger::generate(1, 1).impression(0);
        m.points.truncate(3);
        assert_eq!(CompactTemplate::new(&m), Err(TemplateError::TooFew(3)));
        let mut m = ModelFinger::generate(1, 1).impression(0);
        m.points[0].x = f32::NAN;
        assert_eq!(CompactTemplate::new(&m), Err(TemplateError::OutOfRange));
        m.points[0].x = 3000.0;
        assert_eq!(CompactTemplate::new(&m), Err(TemplateError::OutOfRange));
    }
}
