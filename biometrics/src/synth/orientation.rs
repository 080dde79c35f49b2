//! The orientation field: the direction ridges run at each point.
//!
//! Loops, whorls and tented arches use the zero-pole model of Sherlock and Monro (1993): the ridge angle is
//! `theta_inf + 1/2 * (sum of arg(z - core) - sum of arg(z - delta))`, which puts a singularity of Poincaré index
//! +1/2 at each core and -1/2 at each delta. As Vizcaya and Gerhardt (1996) proposed, each singular point's
//! angular contribution is bent by a smooth monotone function of the angle (here `a + w1 sin(a - p1) +
//! w2 sin(2(a - p2))`), which varies the shape of loops and whorls without moving or adding singularities.
//! Plain arches have no singular point; their field comes from a family of bump-shaped ridge lines.
//!
//! Angles here are image-coordinate angles (`atan2(dy, dx)` with y down) of the ridge direction, in [0, pi).

use std::f32::consts::PI;

use rand::{Rng, RngExt};

use super::PatternClass;
use super::noise::normal_clamped;

/// A core or delta with its Vizcaya–Gerhardt correction.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Singular {
    pub(crate) x: f32,
    pub(crate) y: f32,
    w1: f32,
    p1: f32,
    w2: f32,
    p2: f32,
}

impl Singular {
    fn new<R: Rng + ?Sized>(rng: &mut R, x: f32, y: f32) -> Self {
        // |w1| + 2|w2| < 1 keeps the correction monotone, so the point keeps its index.
        Self {
            x,
            y,
            w1: rng.random_range(-0.3..0.3),
            p1: rng.random_range(-PI..PI),
            w2: rng.random_range(-0.12..0.12),
            p2: rng.random_range(-PI..PI),
        }
    }

    fn arg(&self, x: f32, y: f32) -> f32 {
        let a = (y - self.y).atan2(x - self.x);
        a + self.w1 * (a - self.p1).sin() + self.w2 * (2.0 * (a - self.p2)).sin()
    }
}

/// A plain arch: ridge lines bent upwards by a Gaussian bump whose height fades above and below its centre.
#[derive(Debug, Clone, Copy)]
struct Arch {
    cx: f32,
    cy: f32,
    height: f32,
    sigma: f32,
    fade_up: f32,
    fade_down: f32,
}

impl Arch {
    fn angle(&self, x: f32, y: f32) -> f32 {
        let dx = x - self.cx;
        let fade = if y < self.cy { self.fade_up } else { self.fade_down };
        let h = self.height * (-((y - self.cy) / fade).powi(2)).exp();
        // Ridge line y = y0 - h * exp(-dx^2 / (2 sigma^2)); its slope, y down.
        let slope = h * dx / (self.sigma * self.sigma) * (-dx * dx / (2.0 * self.sigma * self.sigma)).exp();
        slope.atan()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct OrientationModel {
    pub(crate) cores: Vec<Singular>,
    pub(crate) deltas: Vec<Singular>,
    theta_inf: f32,
    arch: Option<Arch>,
}

impl OrientationModel {
    /// A random field of `class` around the pad centre (cx, cy) of a finger about `half_width` px wide.
    pub(crate) fn random<R: Rng + ?Sized>(rng: &mut R, class: PatternClass, cx: f32, cy: f32) -> Self {
        let theta_inf = normal_clamped(rng, 0.06, 0.15);
        let mut cores = Vec::new();
        let mut deltas = Vec::new();
        let mut arch = None;
        match class {
            PatternClass::Arch => {
                arch = Some(Arch {
                    cx: cx + normal_clamped(rng, 15.0, 40.0),
                    cy: cy + normal_clamped(rng, 20.0, 50.0),
                    height: rng.random_range(70.0..140.0),
                    sigma: rng.random_range(60.0..90.0),
                    fade_up: rng.random_range(160.0..260.0),
                    fade_down: rng.random_range(90.0..150.0),
                });
            }
            PatternClass::TentedArch => {
                let (x, y) = (cx + normal_clamped(rng, 12.0, 30.0), cy - 20.0 + normal_clamped(rng, 15.0, 35.0));
                cores.push(Singular::new(rng, x, y));
                let (dx, dy) = (normal_clamped(rng, 10.0, 20.0), rng.random_range(55.0..100.0));
                deltas.push(Singular::new(rng, x + dx, y + dy));
            }
            PatternClass::LeftLoop | PatternClass::RightLoop => {
                // Left loop: ridges enter and leave on the left, the delta is on the right (as seen on the image).
                let side = if class == PatternClass::LeftLoop { 1.0 } else { -1.0 };
                let x = cx - side * rng.random_range(0.0..30.0) + normal_clamped(rng, 10.0, 25.0);
                let y = cy - 35.0 + normal_clamped(rng, 20.0, 45.0);
                cores.push(Singular::new(rng, x, y));
                let (dx, dy) = (side * rng.random_range(60.0..140.0), rng.random_range(85.0..160.0));
                deltas.push(Singular::new(rng, x + dx, y + dy));
            }
            PatternClass::Whorl => {
                let (x, y) = (cx + normal_clamped(rng, 12.0, 30.0), cy - 25.0 + normal_clamped(rng, 15.0, 35.0));
                let d = rng.random_range(14.0..46.0);
                let tilt = rng.random_range(-0.7f32..0.7);
                let (ox, oy) = (0.5 * d * tilt.sin(), 0.5 * d * tilt.cos());
                cores.push(Singular::new(rng, x - ox, y - oy));
                cores.push(Singular::new(rng, x + ox, y + oy));
                for side in [-1.0, 1.0] {
                    let (dx, dy) = (side * rng.random_range(90.0..145.0), rng.random_range(85.0..150.0));
                    deltas.push(Singular::new(rng, x + dx, y + dy));
                }
            }
        }
        Self { cores, deltas, theta_inf, arch }
    }

    /// Ridge direction at (x, y), image-coordinate angle in [0, pi).
    pub(crate) fn angle(&self, x: f32, y: f32) -> f32 {
        let a = if let Some(arch) = &self.arch {
            arch.angle(x, y) + self.theta_inf
        } else {
            let c: f32 = self.cores.iter().map(|s| s.arg(x, y)).sum();
            let d: f32 = self.deltas.iter().map(|s| s.arg(x, y)).sum();
            self.theta_inf + 0.5 * (c - d)
        };
        a.rem_euclid(PI)
    }
}
