//! The ridge-frequency (density) map: the local ridge period in px at 500 dpi.
//!
//! A per-finger base period (8.6-9.8 px) varies smoothly across the print (value noise ~110 px across) and
//! grows by up to ~0.7 px above the northern-most core and below the southern-most delta, where real prints have
//! sparser ridges. The result is clamped to [7.5, 11.5] px.

use rand::{Rng, RngExt};

use super::noise::{ValueNoise, smoothstep};
use super::orientation::OrientationModel;

pub(crate) const MIN_PERIOD: f32 = 7.5;
pub(crate) const MAX_PERIOD: f32 = 11.5;

#[derive(Clone)]
pub(crate) struct DensityMap {
    base: f32,
    amplitude: f32,
    noise: ValueNoise,
    /// y of the northern-most core (or the arch centre) and of the southern-most delta.
    top: f32,
    bottom: Option<f32>,
}

impl DensityMap {
    pub(crate) fn random<R: Rng + ?Sized>(
        rng: &mut R,
        width: usize,
        height: usize,
        field: &OrientationModel,
        cy: f32,
    ) -> Self {
        let top = field.cores.iter().map(|c| c.y).fold(cy - 30.0, f32::min);
        let bottom = field.deltas.iter().map(|d| d.y).reduce(f32::max);
        Self {
            base: rng.random_range(8.6..9.8),
            amplitude: rng.random_range(0.4..0.8),
            noise: ValueNoise::new(rng, width, height, 110.0),
            top,
            bottom,
        }
    }

    pub(crate) fn period(&self, x: f32, y: f32) -> f32 {
        let mut p = self.base + self.amplitude * self.noise.at(x, y);
        p += 0.7 * smoothstep(0.0, 120.0, self.top - y);
        if let Some(b) = self.bottom {
            p += 0.5 * smoothstep(0.0, 100.0, y - b);
        }
        p.clamp(MIN_PERIOD, MAX_PERIOD)
    }
}
