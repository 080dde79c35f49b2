//! The synthetic minutiae model: master minutiae per finger and mated impressions of them, without images.
//!
//! Rendering and extracting an image costs ~0.15 s a finger, so a million-finger gallery cannot be made that way.
//! This model makes the *extractor's output* directly, reproducing what the image path does to a finger:
//!
//! - master: the finger design of [`FingerPattern`] (area, orientation field: cheap, no ridges grown), with
//!   minutiae spread over the area at least [`MIN_SPACING`] apart, each pointing along the local ridge
//!   orientation (either way), as many as the rendered masters have (60-80);
//! - impression: the geometry of the rendered impressions with their parameter distributions
//!   ([`ImpressionParams::random`], `Quality::Mixed`): plastic distortion (rigid core, smooth transition band,
//!   displaced outer skin), rotation, translation, a partial contact ellipse and the sensor window (FLAT,
//!   300 x 400, 10 px margins);
//! - extraction: missed minutiae, spurious ones (on ridges: along the local orientation), position and angle
//!   noise, ending/bifurcation swaps.
//!
//! The extraction rates are set so that khil's matcher scores model pairs as it scores rendered pairs
//! (`khil bench identify --calibrate` measures both). Deterministic in (seed, finger, impression).

use std::f32::consts::{PI, TAU};

use rand::{Rng, RngExt};

use crate::minutia::{Minutia, MinutiaKind, Minutiae};
use crate::synth::impression::{ContactArea, Distortion, ImpressionParams};
// The synthetic prints' seeded streams (`rng_for`), with tags of this model's own.
use crate::synth::{FingerPattern, MASTER_HEIGHT, MASTER_WIDTH, Quality, SensorProfile, rng_for};

/// Closest two master minutiae may be (px): about one ridge period.
pub const MIN_SPACING: f32 = 10.0;
/// Impressions keep minutiae this far inside the contact border and the image (as rendered truth does).
const MARGIN: f32 = 10.0;

/// How the model's "extractor" errs. [`ExtractionNoise::CALIBRATED`] matches the rendered path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExtractionNoise {
    /// Probability that a true minutia is not found.
    pub miss: f32,
    /// Spurious minutiae, as a fraction of the true ones in an impression of typical noise (scaled by the
    /// impression's noise and contrast).
    pub spurious: f32,
    /// Position noise, px (standard deviation per axis).
    pub position: f32,
    /// Angle noise, radians (standard deviation).
    pub angle: f32,
    /// Probability that an ending is read as a bifurcation or the reverse.
    pub kind_swap: f32,
    /// Fraction of the spurious minutiae that lie along the contact border (within 10 px of it).
    pub border: f32,
    /// Probability that a spurious minutia comes with a partner facing it across a ridge break.
    pub breaks: f32,
}

impl ExtractionNoise {
    /// Set by comparing score distributions with rendered impressions (see the module documentation).
    ///
    /// Position and angle noise are small because most of an extractor's error is the same in every
    /// impression of a finger (it reads the same ridges the same way); only the part that changes between
    /// impressions lowers mated scores. Measured (60-100 fingers, raw matcher similarity): see the README.
    pub const CALIBRATED: Self =
        Self { miss: 0.06, spurious: 0.10, position: 0.5, angle: 0.03, kind_swap: 0.1, border: 0.3, breaks: 0.5 };
}

/// One synthetic finger of the model: its design and master minutiae.
#[derive(Clone)]
pub struct ModelFinger {
    pattern: FingerPattern,
    points: Vec<Minutia>,
    seed: u64,
    finger_id: u64,
}

impl std::fmt::Debug for ModelFinger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No biometric data in logs: identity and count only.
        write!(f, "ModelFinger({}/{}, {} minutiae)", self.seed, self.finger_id, self.points.len())
    }
}

/// Domain tags keeping this model's random streams apart from each other and from `synth`'s.
const TAG_MASTER: u64 = 0x6b68_696c_6d6f_646d; // "khilmodm"
const TAG_IMPRESSION: u64 = 0x6b68_696c_6d6f_6469; // "khilmodi"

/// Standard normal (Box-Muller): one function is not worth a distributions crate.
fn normal<R: Rng + ?Sized>(rng: &mut R) -> f32 {
    let u: f32 = rng.random_range(f32::EPSILON..1.0);
    let v: f32 = rng.random();
    (-2.0 * u.ln()).sqrt() * (TAU * v).cos()
}

fn swap_kind(kind: MinutiaKind) -> MinutiaKind {
    match kind {
        MinutiaKind::Ending => MinutiaKind::Bifurcation,
        MinutiaKind::Bifurcation => MinutiaKind::Ending,
        MinutiaKind::Other => MinutiaKind::Other,
    }
}

impl ModelFinger {
    /// Finger `finger_id` of population `seed`. Deterministic.
    pub fn generate(seed: u64, finger_id: u64) -> Self {
        let pattern = FingerPattern::generate(seed, finger_id);
        let mut rng = rng_for(seed, finger_id, TAG_MASTER, 0);
        let target = rng.random_range(60..=80);
        let inside = |x: f32, y: f32| {
            [(0.0, 0.0), (MARGIN, 0.0), (-MARGIN, 0.0), (0.0, MARGIN), (0.0, -MARGIN)]
                .iter()
                .all(|(dx, dy)| pattern.in_area(x + dx, y + dy))
        };
        let mut points: Vec<Minutia> = Vec::with_capacity(target);
        // Dart throwing: uniform over the area with a minimum spacing; bounded, so a small area ends early.
        for _ in 0..4000 {
            if points.len() == target {
                break;
            }
            let (x, y) = (rng.random_range(0.0..MASTER_WIDTH as f32), rng.random_range(0.0..MASTER_HEIGHT as f32));
            if !inside(x, y) || points.iter().any(|p| (p.x - x).hypot(p.y - y) < MIN_SPACING) {
                continue;
            }
            let along = pattern.orientation_at(x, y) + if rng.random::<bool>() { PI } else { 0.0 };
            let kind = if rng.random::<bool>() { MinutiaKind::Ending } else { MinutiaKind::Bifurcation };
            points.push(Minutia::new(x, y, along, kind, 100));
        }
        Self { pattern, points, seed, finger_id }
    }

    /// Master minutiae, master canvas coordinates.
    pub fn minutiae(&self) -> &[Minutia] {
        &self.points
    }

    /// Impression `index` as khil's extractor would report it, with the calibrated extraction noise.
    pub fn impression(&self, index: u32) -> Minutiae {
        self.impression_with(index, ExtractionNoise::CALIBRATED)
    }

    /// Impression `index` with explicit extraction noise. Deterministic in (seed, finger, index).
    pub fn impression_with(&self, index: u32, noise: ExtractionNoise) -> Minutiae {
        let mut rng = rng_for(self.seed, self.finger_id, TAG_IMPRESSION, u64::from(index));
        let params = ImpressionParams::random(&mut rng, Quality::Mixed);
        let sensor = SensorProfile::FLAT;
        let geo = Geometry::new(&params, self.pattern.centre(), sensor);
        let mut out = Vec::with_capacity(self.points.len());
        let mut kept = 0usize;
        for m in &self.points {
            let Some(mut p) = geo.map(m) else { continue };
            kept += 1;
            if rng.random::<f32>() < noise.miss {
                continue;
            }
            p.x += noise.position * normal(&mut rng);
            p.y += noise.position * normal(&mut rng);
            p.angle = crate::minutia::normalize_angle(p.angle + noise.angle * normal(&mut rng));
            if rng.random::<f32>() < noise.kind_swap {
                p.kind = swap_kind(p.kind);
            }
            out.push(p);
        }
        // Spurious minutiae: on the finger under the contact, along its ridges, as extractor artefacts are.
        // Noisy, low-contrast impressions give the extractor more to invent: the rate scales with the image noise
        // the rendered impression would have had (3-16 grey levels, 8 typical).
        let rate = noise.spurious * (params.noise / 8.0).powi(2) / params.contrast.max(0.4);
        let spurious = (kept as f32 * rate + rng.random::<f32>()) as usize;
        let mut made = 0;
        for _ in 0..400 {
            if made >= spurious {
                break;
            }
            let (x, y) = (rng.random_range(0.0..MASTER_WIDTH as f32), rng.random_range(0.0..MASTER_HEIGHT as f32));
            // Part of them where the contact ends: ridges cut off by the border read as endings there.
            let depth = geo.depth(x, y);
            let at_border = (made as f32) < spurious as f32 * noise.border;
            if !self.pattern.in_area(x, y)
                || depth < 0.0
                || (at_border && depth > MARGIN)
                || (!at_border && depth < MARGIN)
            {
                continue;
            }
            let along = self.pattern.orientation_at(x, y) + if rng.random::<bool>() { PI } else { 0.0 };
            let kind = if rng.random::<bool>() { MinutiaKind::Ending } else { MinutiaKind::Bifurcation };
            if let Some(p) = geo.map_anywhere(&Minutia::new(x, y, along, kind, 100)) {
                out.push(p);
                made += 1;
                // A ridge break: two endings facing each other a few pixels apart.
                if rng.random::<f32>() < noise.breaks {
                    let gap = rng.random_range(6.0..12.0);
                    let (dx, dy) = Minutia::new(x, y, along, kind, 100).direction();
                    let q = Minutia::new(x - gap * dx, y - gap * dy, along + PI, MinutiaKind::Ending, 100);
                    if let Some(q) = geo.map_anywhere(&q) {
                        out.push(q);
                        made += 1;
                    }
                }
            }
        }
        let quality = 60 + (rng.random::<u8>() % 35);
        Minutiae { width: sensor.width as u16, height: sensor.height as u16, dpi: 500, quality, points: out }
    }
}

/// Master-to-image geometry of one impression: the rendered path's model (contact ellipse, Cappelli-style
/// plastic distortion, rotation, translation, sensor window), without the contact border's waves.
struct Geometry {
    centre: (f32, f32),
    image_centre: (f32, f32),
    rotation: (f32, f32),
    contact: ContactArea,
    distortion: Distortion,
    d_rotation: (f32, f32),
    size: (f32, f32),
}

/// Rotation in the ISO sense (counter-clockwise as seen, y down).
fn rotate(x: f32, y: f32, (cos, sin): (f32, f32)) -> (f32, f32) {
    (x * cos + y * sin, -x * sin + y * cos)
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

impl Geometry {
    fn new(p: &ImpressionParams, centre: (f32, f32), sensor: SensorProfile) -> Self {
        Self {
            centre,
            image_centre: (sensor.width as f32 / 2.0 + p.dx, sensor.height as f32 / 2.0 + p.dy),
            rotation: (p.rotation.cos(), p.rotation.sin()),
            contact: p.contact,
            distortion: p.distortion,
            d_rotation: (p.distortion.rotation.cos(), p.distortion.rotation.sin()),
            size: (sensor.width as f32, sensor.height as f32),
        }
    }

    /// Elliptic radius of (x, y) (relative to the pad centre) in the contact ellipse scaled by `scale`.
    fn contact_norm(&self, x: f32, y: f32, scale: f32) -> f32 {
        let c = &self.contact;
        ((x - c.dx) / (c.rx * scale)).hypot((y - c.dy) / (c.ry * scale))
    }

    /// The skin outside the rigid core is displaced, fading in over the transition band.
    fn displacement(&self, x: f32, y: f32) -> (f32, f32) {
        let d = &self.distortion;
        let rigid_r = self.contact.rx.min(self.contact.ry) * d.rigid;
        let s = smoothstep(0.0, d.band, (self.contact_norm(x, y, d.rigid) - 1.0) * rigid_r);
        let (cx, cy) = (self.contact.dx, self.contact.dy);
        let (rx, ry) = rotate(x - cx, y - cy, self.d_rotation);
        (s * (rx + cx + d.dx - x), s * (ry + cy + d.dy - y))
    }

    fn to_image(&self, x: f32, y: f32) -> (f32, f32) {
        let (px, py) = (x - self.centre.0, y - self.centre.1);
        let (dx, dy) = self.displacement(px, py);
        let (rx, ry) = rotate(px + dx, py + dy, self.rotation);
        (rx + self.image_centre.0, ry + self.image_centre.1)
    }

    /// A master minutia in the image, or `None` when it is off the contact or the sensor.
    fn map(&self, m: &Minutia) -> Option<Minutia> {
        if self.depth(m.x, m.y) < MARGIN {
            return None;
        }
        self.map_anywhere(m)
    }

    /// Distance (px, approximately) of a master point inside the contact border; negative outside.
    fn depth(&self, x: f32, y: f32) -> f32 {
        (1.0 - self.contact_norm(x - self.centre.0, y - self.centre.1, 1.0)) * self.contact.rx.min(self.contact.ry)
    }

    /// A master minutia in the image wherever it is on the finger, `None` when off the sensor.
    fn map_anywhere(&self, m: &Minutia) -> Option<Minutia> {
        let (x, y) = self.to_image(m.x, m.y);
        if x < MARGIN || y < MARGIN || x > self.size.0 - 1.0 - MARGIN || y > self.size.1 - 1.0 - MARGIN {
            return None;
        }
        let (dx, dy) = m.direction();
        let (x2, y2) = self.to_image(m.x + 4.0 * dx, m.y + 4.0 * dy);
        Some(Minutia::new(x, y, Minutia::angle_of(x2 - x, y2 - y), m.kind, m.quality))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matcher::{self, MatchTemplate};

    #[test]
    fn deterministic_and_distinct() {
        let a = ModelFinger::generate(3, 10);
        assert_eq!(a.impression(1), ModelFinger::generate(3, 10).impression(1));
        assert_ne!(a.impression(1), a.impression(2));
        assert!((60..=80).contains(&a.minutiae().len()), "{a:?}");
    }

    #[test]
    fn mates_outscore_impostors() {
        let fingers: Vec<ModelFinger> = (0..12).map(|f| ModelFinger::generate(5, f)).collect();
        let t: Vec<[MatchTemplate; 2]> = fingers
            .iter()
            .map(|f| [MatchTemplate::new(&f.impression(0)), MatchTemplate::new(&f.impression(1))])
            .collect();
        let threshold = matcher::threshold_for(1e-4);
        let genuine = t.iter().filter(|p| matcher::score(&p[0], &p[1]) >= threshold).count();
        let mut impostor = 0;
        for a in 0..t.len() {
            for b in 0..t.len() {
                if a != b && matcher::score(&t[a][0], &t[b][1]) >= threshold {
                    impostor += 1;
                }
            }
        }
        assert!(genuine >= 10, "{genuine} of 12 mated pairs reach the 0.01 % threshold");
        assert_eq!(impostor, 0, "132 impostor pairs");
    }
}
