//! Smooth random fields and small numeric helpers shared by the generator.

use rand::{Rng, RngExt};

/// Value noise: random values on a square lattice, interpolated with a smooth (C1) blend. Samples lie in
/// [-1, 1]; features are about `cell` px across. Points outside the lattice take the nearest lattice values.
#[derive(Clone)]
pub(crate) struct ValueNoise {
    cell: f32,
    gw: usize,
    gh: usize,
    vals: Vec<f32>,
}

impl ValueNoise {
    /// A field covering `width` x `height` px with lattice spacing `cell`.
    pub(crate) fn new<R: Rng + ?Sized>(rng: &mut R, width: usize, height: usize, cell: f32) -> Self {
        let gw = (width as f32 / cell).ceil() as usize + 2;
        let gh = (height as f32 / cell).ceil() as usize + 2;
        let vals = (0..gw * gh).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        Self { cell, gw, gh, vals }
    }

    pub(crate) fn at(&self, x: f32, y: f32) -> f32 {
        let fx = (x / self.cell).clamp(0.0, (self.gw - 1) as f32 - 1e-3);
        let fy = (y / self.cell).clamp(0.0, (self.gh - 1) as f32 - 1e-3);
        let (ix, iy) = (fx as usize, fy as usize);
        let (tx, ty) = (smooth(fx - ix as f32), smooth(fy - iy as f32));
        let v = |i: usize, j: usize| self.vals[j * self.gw + i];
        let top = v(ix, iy) + (v(ix + 1, iy) - v(ix, iy)) * tx;
        let bottom = v(ix, iy + 1) + (v(ix + 1, iy + 1) - v(ix, iy + 1)) * tx;
        top + (bottom - top) * ty
    }
}

/// Cubic smoothstep of t in [0, 1].
pub(crate) fn smooth(t: f32) -> f32 {
    t * t * (3.0 - 2.0 * t)
}

/// 0 below `a`, 1 above `b`, a smooth ramp between.
pub(crate) fn smoothstep(a: f32, b: f32, x: f32) -> f32 {
    smooth(((x - a) / (b - a)).clamp(0.0, 1.0))
}

/// A standard normal draw (Box–Muller).
pub(crate) fn gaussian<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// A normal draw with the given spread, clamped to ±`limit`.
pub(crate) fn normal_clamped<R: Rng + ?Sized>(rng: &mut R, sigma: f32, limit: f32) -> f32 {
    (gaussian(rng) * sigma).clamp(-limit, limit)
}
