//! Impressions: one touch of a master print on a sensor.
//!
//! Geometry, from master to image (the truth goes this way, pixels are rendered by inverting it):
//!
//! 1. plastic distortion (Cappelli, Maio, Maltoni 2001): inside the *rigid* region (the contact ellipse shrunk
//!    by [`Distortion::rigid`]) the skin does not move; beyond a transition band of [`Distortion::band`] px the
//!    skin moves rigidly by the distortion's rotation and shift; in the band the move fades in smoothly;
//! 2. rotation by [`ImpressionParams::rotation`] about the pad centre, and the pad centre placed at the image
//!    centre plus ([`ImpressionParams::dx`], [`ImpressionParams::dy`]).
//!
//! Pixels: the contact region is a rough ellipse ([`ContactArea`]) in master coordinates; outside it, and
//! outside the finger area, the sensor sees background. Inside, ridge ink comes from the master's smooth
//! ridge field thresholded at a level set by skin moisture (dry skin: higher threshold, thin and broken
//! ridges; wet skin: lower, thick ridges and closed valleys), varied by a fine skin-texture noise. Contrast
//! fades near the contact border and varies slowly; then background shading, smudges, blur and pixel noise.

use std::f32::consts::PI;

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::noise::{ValueNoise, normal_clamped, smoothstep};
use super::{AREA_MARGIN, Finger, MASTER_HEIGHT, MASTER_WIDTH, Quality, SensorProfile};
use crate::image::GrayImage;
use crate::minutia::Minutia;

/// Ground-truth minutiae of an impression are kept only this far (px) inside the image and the contact region.
pub const TRUTH_MARGIN: f32 = 10.0;

/// The part of the finger touching the sensor: an ellipse in master coordinates, relative to the pad centre,
/// with a wavy border.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContactArea {
    /// Centre offset from the pad centre, px.
    pub dx: f32,
    pub dy: f32,
    /// Semi-axes, px.
    pub rx: f32,
    pub ry: f32,
    /// Relative waviness of the border, 0 (an ellipse) to ~0.15.
    pub roughness: f32,
}

/// Plastic distortion (Cappelli 2001), in master coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Distortion {
    /// Rotation of the outer skin about the contact centre, radians, ISO sense.
    pub rotation: f32,
    /// Shift of the outer skin, px.
    pub dx: f32,
    pub dy: f32,
    /// Size of the rigid region as a fraction of the contact ellipse (0-1).
    pub rigid: f32,
    /// Width of the transition band, px.
    pub band: f32,
}

impl Distortion {
    pub const NONE: Self = Self { rotation: 0.0, dx: 0.0, dy: 0.0, rigid: 0.5, band: 60.0 };
}

/// Everything that makes one impression differ from another.
#[derive(Debug, Clone, PartialEq)]
pub struct ImpressionParams {
    /// Rotation of the finger on the sensor, radians, counter-clockwise as seen on the image (ISO sense):
    /// truth angles grow by this much.
    pub rotation: f32,
    /// Where the pad centre lands relative to the image centre, px.
    pub dx: f32,
    pub dy: f32,
    pub contact: ContactArea,
    pub distortion: Distortion,
    /// Skin moisture, -1 (wet: thick ridges) to 1 (dry: thin, broken ridges); 0 is normal.
    pub dryness: f32,
    /// Amplitude of the fine skin texture that breaks dry ridges and merges wet ones (0-0.5).
    pub texture: f32,
    /// Ridge contrast, 0-1.
    pub contrast: f32,
    /// Background gray level.
    pub background: u8,
    /// Gray level of a full-pressure ridge.
    pub ridge_level: u8,
    /// Number of smudges (latent residue, dark soft blobs).
    pub smudges: u32,
    /// Blur: number of 3x3 binomial passes (fractional part mixes in one more).
    pub blur: f32,
    /// Standard deviation of pixel noise, gray levels.
    pub noise: f32,
    /// Seed of the pixel-level randomness (texture, shading, smudges, noise).
    pub seed: u64,
}

impl ImpressionParams {
    /// No movement, no distortion, full contact, normal skin, full contrast on white, no blur or noise: the
    /// master as the sensor window sees it.
    pub fn identity() -> Self {
        Self {
            rotation: 0.0,
            dx: 0.0,
            dy: 0.0,
            contact: ContactArea { dx: 0.0, dy: 0.0, rx: 1e4, ry: 1e4, roughness: 0.0 },
            distortion: Distortion::NONE,
            dryness: 0.0,
            texture: 0.0,
            contrast: 1.0,
            background: 255,
            ridge_level: 0,
            smudges: 0,
            blur: 0.0,
            noise: 0.0,
            seed: 0,
        }
    }

    /// Random parameters for the quality level.
    pub fn random<R: Rng + ?Sized>(rng: &mut R, quality: Quality) -> Self {
        let good = quality == Quality::Good;
        let deg = PI / 180.0;
        let rotation =
            if good { normal_clamped(rng, 5.0 * deg, 12.0 * deg) } else { normal_clamped(rng, 12.0 * deg, 30.0 * deg) };
        let shift = if good { 14.0 } else { 40.0 };
        let (dx, dy) = (rng.random_range(-shift..shift), rng.random_range(-shift..shift));
        let contact = if good {
            ContactArea {
                dx: rng.random_range(-10.0..10.0),
                dy: rng.random_range(-10.0..15.0),
                rx: rng.random_range(150.0..185.0),
                ry: rng.random_range(200.0..250.0),
                roughness: rng.random_range(0.0..0.06),
            }
        } else {
            ContactArea {
                dx: rng.random_range(-40.0..40.0),
                dy: rng.random_range(-40.0..50.0),
                rx: rng.random_range(105.0..180.0),
                ry: rng.random_range(135.0..240.0),
                roughness: rng.random_range(0.0..0.14),
            }
        };
        let (d_rot, d_shift) = if good { (1.5 * deg, 3.0) } else { (5.0 * deg, 10.0) };
        let distortion = Distortion {
            rotation: rng.random_range(-d_rot..d_rot),
            dx: rng.random_range(-d_shift..d_shift),
            dy: rng.random_range(-d_shift..d_shift),
            rigid: rng.random_range(0.35..0.6),
            band: rng.random_range(60.0..100.0),
        };
        let (dryness, texture) = if good {
            (rng.random_range(-0.15..0.15), rng.random_range(0.0..0.12))
        } else {
            let u: f32 = rng.random();
            let d = if u < 0.2 {
                rng.random_range(0.3..0.7)
            } else if u < 0.4 {
                rng.random_range(-0.7..-0.3)
            } else {
                rng.random_range(-0.25..0.25)
            };
            (d, rng.random_range(0.05..0.4))
        };
        Self {
            rotation,
            dx,
            dy,
            contact,
            distortion,
            dryness,
            texture,
            contrast: if good { rng.random_range(0.8..1.0) } else { rng.random_range(0.4..1.0) },
            background: if good { rng.random_range(215..245) } else { rng.random_range(185..245) },
            ridge_level: rng.random_range(10..60),
            smudges: if good { 0 } else { rng.random_range(0..4) },
            blur: if good { rng.random_range(0.2..0.8) } else { rng.random_range(0.2..1.8) },
            noise: if good { rng.random_range(2.0..6.0) } else { rng.random_range(3.0..16.0) },
            seed: rng.random(),
        }
    }
}

/// One impression: the image and its ground truth.
#[derive(Clone)]
pub struct Impression {
    /// 8-bit grayscale, ridges dark, 500 dpi.
    pub image: GrayImage,
    /// The master's minutiae mapped into the image, quality 100.
    pub truth: Vec<Minutia>,
    pub params: ImpressionParams,
}

impl std::fmt::Debug for Impression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Impression({:?}, {} true minutiae)", self.image, self.truth.len())
    }
}

/// The geometry of one impression.
struct Geometry {
    /// Pad centre in the master, image centre plus shift in the image.
    master_centre: (f32, f32),
    image_centre: (f32, f32),
    cos: f32,
    sin: f32,
    contact: ContactArea,
    /// Harmonics of the contact border: (order, amplitude, phase).
    waves: [(f32, f32, f32); 3],
    distortion: Distortion,
    d_cos: f32,
    d_sin: f32,
}

/// Rotation in the ISO sense (counter-clockwise as seen, y down).
fn rotate(x: f32, y: f32, cos: f32, sin: f32) -> (f32, f32) {
    (x * cos + y * sin, -x * sin + y * cos)
}

impl Geometry {
    fn new<R: Rng + ?Sized>(
        rng: &mut R,
        master_centre: (f32, f32),
        p: &ImpressionParams,
        sensor: SensorProfile,
    ) -> Self {
        let mut waves = [(0.0, 0.0, 0.0); 3];
        for (k, w) in waves.iter_mut().enumerate() {
            *w = (k as f32 + 2.0, p.contact.roughness * rng.random_range(0.3f32..1.0), rng.random_range(0.0..2.0 * PI));
        }
        Self {
            master_centre,
            image_centre: (sensor.width as f32 / 2.0 + p.dx, sensor.height as f32 / 2.0 + p.dy),
            cos: p.rotation.cos(),
            sin: p.rotation.sin(),
            contact: p.contact,
            waves,
            distortion: p.distortion,
            d_cos: p.distortion.rotation.cos(),
            d_sin: p.distortion.rotation.sin(),
        }
    }

    /// Normalised elliptic radius of (x, y) (relative to the pad centre) in the contact ellipse scaled by `s`,
    /// border waves included: < 1 inside.
    fn contact_norm(&self, x: f32, y: f32, scale: f32) -> f32 {
        let c = &self.contact;
        let (ex, ey) = ((x - c.dx) / (c.rx * scale), (y - c.dy) / (c.ry * scale));
        let angle = ey.atan2(ex);
        let wave: f32 = self.waves.iter().map(|&(k, amp, ph)| amp * (k * angle + ph).cos()).sum();
        ex.hypot(ey) / (1.0 + wave)
    }

    /// Approximate distance (px) inside the contact border of (x, y) relative to the pad centre; negative outside.
    fn contact_depth(&self, x: f32, y: f32) -> f32 {
        (1.0 - self.contact_norm(x, y, 1.0)) * self.contact.rx.min(self.contact.ry)
    }

    /// Distortion displacement at (x, y) relative to the pad centre.
    fn displacement(&self, x: f32, y: f32) -> (f32, f32) {
        let d = &self.distortion;
        if d.rotation == 0.0 && d.dx == 0.0 && d.dy == 0.0 {
            return (0.0, 0.0);
        }
        let rigid_r = self.contact.rx.min(self.contact.ry) * d.rigid;
        let outside = (self.contact_norm(x, y, d.rigid) - 1.0) * rigid_r;
        let s = smoothstep(0.0, d.band, outside);
        if s == 0.0 {
            return (0.0, 0.0);
        }
        let (cx, cy) = (self.contact.dx, self.contact.dy);
        let (rx, ry) = rotate(x - cx, y - cy, self.d_cos, self.d_sin);
        (s * (rx + cx + d.dx - x), s * (ry + cy + d.dy - y))
    }

    /// Master canvas point to image point.
    fn to_image(&self, x: f32, y: f32) -> (f32, f32) {
        let (px, py) = (x - self.master_centre.0, y - self.master_centre.1);
        let (dx, dy) = self.displacement(px, py);
        let (rx, ry) = rotate(px + dx, py + dy, self.cos, self.sin);
        (rx + self.image_centre.0, ry + self.image_centre.1)
    }

    /// Image point to master point relative to the pad centre, inverting the distortion by Newton's method
    /// (the displacement is smooth and its gradient well below 1, so the map is one-to-one).
    fn to_master_rel(&self, x: f32, y: f32) -> (f32, f32) {
        let (ux, uy) = rotate(x - self.image_centre.0, y - self.image_centre.1, self.cos, -self.sin);
        let (mut px, mut py) = (ux, uy);
        for _ in 0..6 {
            let (dx, dy) = self.displacement(px, py);
            let (fx, fy) = (px + dx - ux, py + dy - uy);
            if fx.abs() < 1e-3 && fy.abs() < 1e-3 {
                break;
            }
            // Jacobian of p + d(p) by central differences.
            let h = 0.5;
            let (ax, ay) = self.displacement(px + h, py);
            let (bx, by) = self.displacement(px - h, py);
            let (cx, cy) = self.displacement(px, py + h);
            let (ex, ey) = self.displacement(px, py - h);
            let (j11, j21) = (1.0 + (ax - bx) / (2.0 * h), (ay - by) / (2.0 * h));
            let (j12, j22) = ((cx - ex) / (2.0 * h), 1.0 + (cy - ey) / (2.0 * h));
            let det = j11 * j22 - j12 * j21;
            if det.abs() < 1e-3 {
                (px, py) = (ux - dx, uy - dy);
                continue;
            }
            px -= (j22 * fx - j12 * fy) / det;
            py -= (-j21 * fx + j11 * fy) / det;
        }
        (px, py)
    }
}

/// A soft dark blob in image coordinates.
struct Smudge {
    x: f32,
    y: f32,
    rx: f32,
    ry: f32,
    cos: f32,
    sin: f32,
    strength: f32,
}

/// Spacing (px) of the grid on which the smooth per-pixel quantities (master position, contact depth,
/// shading, pressure) are computed exactly; pixels interpolate bilinearly between grid nodes.
const GRID: usize = 8;

/// Smooth per-pixel quantities on a coarse grid over the image.
struct SmoothFields {
    gw: usize,
    /// Per node: master x, master y, contact depth, background level, contrast.
    nodes: Vec<[f32; 5]>,
}

impl SmoothFields {
    fn at(&self, x: usize, y: usize) -> [f32; 5] {
        let (tx, ty) = ((x % GRID) as f32 / GRID as f32, (y % GRID) as f32 / GRID as f32);
        let node = (y / GRID) * self.gw + x / GRID;
        let (nw, ne) = (&self.nodes[node], &self.nodes[node + 1]);
        let (sw, se) = (&self.nodes[node + self.gw], &self.nodes[node + self.gw + 1]);
        let mut out = [0f32; 5];
        for (k, v) in out.iter_mut().enumerate() {
            let top = nw[k] + (ne[k] - nw[k]) * tx;
            let bottom = sw[k] + (se[k] - sw[k]) * tx;
            *v = top + (bottom - top) * ty;
        }
        out
    }
}

pub(crate) fn render(finger: &Finger, params: &ImpressionParams, sensor: SensorProfile) -> Impression {
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let (width, height) = (sensor.width, sensor.height);
    let geo = Geometry::new(&mut rng, finger.pattern().centre(), params, sensor);
    let skin = ValueNoise::new(&mut rng, MASTER_WIDTH, MASTER_HEIGHT, 4.0);
    let shading = ValueNoise::new(&mut rng, width, height, 80.0);
    let pressure = ValueNoise::new(&mut rng, width, height, 60.0);
    let smudges: Vec<Smudge> = (0..params.smudges)
        .map(|_| {
            let a: f32 = rng.random_range(0.0..PI);
            Smudge {
                x: rng.random_range(0.0..width as f32),
                y: rng.random_range(0.0..height as f32),
                rx: rng.random_range(15.0..60.0),
                ry: rng.random_range(10.0..40.0),
                cos: a.cos(),
                sin: a.sin(),
                strength: rng.random_range(10.0..45.0),
            }
        })
        .collect();

    let (mc_x, mc_y) = geo.master_centre;
    let (gw, gh) = (width / GRID + 2, height / GRID + 2);
    let mut nodes = Vec::with_capacity(gw * gh);
    for gy in 0..gh {
        for gx in 0..gw {
            let (qx, qy) = ((gx * GRID) as f32, (gy * GRID) as f32);
            let (rx, ry) = geo.to_master_rel(qx, qy);
            let depth = geo.contact_depth(rx, ry);
            let bg = f32::from(params.background) + 10.0 * shading.at(qx, qy);
            let contrast = (params.contrast * (1.0 + 0.3 * pressure.at(qx, qy))).clamp(0.0, 1.0);
            nodes.push([rx + mc_x, ry + mc_y, depth, bg, contrast]);
        }
    }
    let fields = SmoothFields { gw, nodes };

    let threshold = 1.1 * params.dryness;
    let softness = 0.3;
    let ridge_level = f32::from(params.ridge_level);
    let mut out = vec![0f32; width * height];
    for y in 0..height {
        for x in 0..width {
            let [mx, my, contact, bg, contrast] = fields.at(x, y);
            let mut value = bg;
            let depth = contact.min(finger.area_dist_at(mx, my));
            if depth > 0.0 {
                let r = finger.ridge_at(mx, my);
                let t = threshold + params.texture * skin.at(mx, my);
                let ink = smoothstep(t - softness, t + softness, r);
                let ink_contrast = contrast * smoothstep(0.0, 14.0, depth);
                value = bg - ink_contrast * ink * (bg - ridge_level);
            }
            out[y * width + x] = value;
        }
    }
    for smudge in &smudges {
        // exp(-e) is below 2% beyond e = 4, i.e. two semi-axes out.
        let reach = 2.0 * smudge.rx.max(smudge.ry);
        let (x0, x1) = ((smudge.x - reach).max(0.0) as usize, ((smudge.x + reach).max(0.0) as usize).min(width));
        let (y0, y1) = ((smudge.y - reach).max(0.0) as usize, ((smudge.y + reach).max(0.0) as usize).min(height));
        for y in y0..y1 {
            for x in x0..x1 {
                let (dx, dy) = rotate(x as f32 - smudge.x, y as f32 - smudge.y, smudge.cos, smudge.sin);
                let e = (dx / smudge.rx).powi(2) + (dy / smudge.ry).powi(2);
                if e < 4.0 {
                    out[y * width + x] -= smudge.strength * (-e).exp();
                }
            }
        }
    }
    blur(&mut out, width, height, params.blur);
    let mut pixels = Vec::with_capacity(width * height);
    for &v in &out {
        let noise = if params.noise > 0.0 { approx_gaussian(rng.next_u32()) * params.noise } else { 0.0 };
        pixels.push((v + noise).round().clamp(0.0, 255.0) as u8);
    }
    let truth = map_truth(finger, &geo, width, height);
    Impression { image: GrayImage { width, height, pixels }, truth, params: params.clone() }
}

/// A cheap standard-normal-like draw from 32 random bits: the sum of four uniform bytes (Irwin–Hall), scaled to
/// unit variance. Plenty for sensor noise, one generator call per pixel.
fn approx_gaussian(bits: u32) -> f32 {
    let s: u32 = bits.to_le_bytes().iter().map(|&b| u32::from(b)).sum();
    (s as f32 - 510.0) / 147.8
}

/// The master's minutiae through the impression geometry, inside the contact region and the image.
fn map_truth(finger: &Finger, geo: &Geometry, w: usize, h: usize) -> Vec<Minutia> {
    let (mc_x, mc_y) = geo.master_centre;
    let mut out = Vec::new();
    for m in finger.minutiae() {
        if geo.contact_depth(m.x - mc_x, m.y - mc_y) < TRUTH_MARGIN || finger.area_dist_at(m.x, m.y) < AREA_MARGIN {
            continue;
        }
        let (x, y) = geo.to_image(m.x, m.y);
        if x < TRUTH_MARGIN
            || y < TRUTH_MARGIN
            || x > w as f32 - 1.0 - TRUTH_MARGIN
            || y > h as f32 - 1.0 - TRUTH_MARGIN
        {
            continue;
        }
        let (dx, dy) = m.direction();
        let (x2, y2) = geo.to_image(m.x + 4.0 * dx, m.y + 4.0 * dy);
        out.push(Minutia::new(x, y, Minutia::angle_of(x2 - x, y2 - y), m.kind, m.quality));
    }
    out
}

/// `passes` passes of the 3x3 binomial filter (the fractional part mixes in one more), edges clamped.
fn blur(img: &mut [f32], width: usize, height: usize, passes: f32) {
    let full = passes.floor() as usize;
    let frac = passes - full as f32;
    let mut tmp = vec![0f32; width * height];
    for pass in 0..=full {
        let mix = if pass < full { 1.0 } else { frac };
        if mix <= 0.0 {
            break;
        }
        for (src, dst) in img.chunks_exact(width).zip(tmp.chunks_exact_mut(width)) {
            for x in 0..width {
                let (left, right) = (src[x.saturating_sub(1)], src[(x + 1).min(width - 1)]);
                dst[x] = 0.25 * left + 0.5 * src[x] + 0.25 * right;
            }
        }
        for y in 0..height {
            let (up, down) = (y.saturating_sub(1), (y + 1).min(height - 1));
            for x in 0..width {
                let blurred = 0.25 * tmp[up * width + x] + 0.5 * tmp[y * width + x] + 0.25 * tmp[down * width + x];
                let at = y * width + x;
                img[at] += mix * (blurred - img[at]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_and_truth_use_the_same_geometry() {
        // The renderer inverts the master-to-image map that the truth uses: the round trip is the identity,
        // even for the strongest distortions the Mixed level draws.
        for seed in 0..20u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut params = ImpressionParams::random(&mut rng, Quality::Mixed);
            params.distortion.rotation = params.distortion.rotation.signum() * 5f32.to_radians();
            params.distortion.dx = params.distortion.dx.signum() * 10.0;
            params.distortion.band = 60.0;
            let geo = Geometry::new(&mut rng, (200.0, 240.0), &params, SensorProfile::FLAT);
            for y in (0..400).step_by(23) {
                for x in (0..300).step_by(17) {
                    let (mx, my) = geo.to_master_rel(x as f32, y as f32);
                    let (qx, qy) = geo.to_image(mx + 200.0, my + 240.0);
                    assert!((qx - x as f32).hypot(qy - y as f32) < 0.02, "seed {seed}: ({x},{y}) -> ({qx},{qy})");
                }
            }
        }
    }

    #[test]
    fn rigid_region_does_not_move() {
        let params = ImpressionParams {
            distortion: Distortion { rotation: 0.1, dx: 12.0, dy: -9.0, rigid: 0.5, band: 60.0 },
            contact: ContactArea { dx: 10.0, dy: 20.0, rx: 150.0, ry: 200.0, roughness: 0.0 },
            ..ImpressionParams::identity()
        };
        let geo = Geometry::new(&mut ChaCha8Rng::seed_from_u64(1), (0.0, 0.0), &params, SensorProfile::custom(0, 0));
        // Inside the rigid ellipse (semi-axes 75 x 100 around the contact centre): no displacement.
        assert_eq!(geo.displacement(10.0 + 60.0, 20.0), (0.0, 0.0));
        assert_eq!(geo.displacement(10.0, 20.0 - 90.0), (0.0, 0.0));
        // Beyond the band: the full rigid move of the outer skin.
        let (x, y) = (10.0 + 150.0 + 70.0, 20.0);
        let (dx, dy) = geo.displacement(x, y);
        let (rx, ry) = rotate(x - 10.0, y - 20.0, 0.1f32.cos(), 0.1f32.sin());
        assert!((dx - (rx + 10.0 + 12.0 - x)).abs() < 1e-3 && (dy - (ry + 20.0 - 9.0 - y)).abs() < 1e-3);
    }
}
