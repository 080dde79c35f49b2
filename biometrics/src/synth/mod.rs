//! SFinGe-style synthetic fingerprints with ground truth (after Cappelli, Maio and Maltoni).
//!
//! A [`Finger`] is a *master print*: a noise-free binary-like ridge pattern on a 500 dpi canvas, made in the
//! SFinGe order:
//!
//! 1. fingerprint area: an ellipse on top (the fingertip), a squarer superellipse below, clipped to the canvas;
//! 2. orientation field: Sherlock–Monro zero-pole model of cores and deltas for loops, whorls and tented arches
//!    (with a Vizcaya–Gerhardt style correction), a smooth singularity-free field for plain arches;
//!    classes drawn with the natural frequencies (Wilson et al.: arch 3.7%, tented arch 2.9%, left loop 33.8%,
//!    right loop 31.7%, whorl 27.9%) (module `orientation`);
//! 3. ridge-frequency map: period 8.6-9.8 px varying smoothly, clamped to [7.5, 11.5] (module `density`);
//! 4. ridge pattern: iterative space-variant Gabor filtering grown from random seeds (module `gabor`).
//!
//! **Ground truth** is read off the clean master: its ridges (the positive part of the last Gabor response)
//! are thinned with [`crate::skeleton::thin`], minutiae found by crossing number and directed by tracing the
//! skeleton, and those within 10 px of the area border dropped. The angle is then snapped to the exact
//! orientation field when the two agree within 30 degrees.
//!
//! An [`Impression`] is one touch of the finger on a sensor ([`Finger::impression`], see [`impression`]):
//! plastic distortion, rotation and translation, partial contact, ridge thickness (dry/wet), contrast, blur,
//! smudges and noise, rendered at any [`SensorProfile`] size. Its ground truth is the master's minutiae mapped
//! through the same geometry, keeping those inside the contact region and the image (10 px margins).
//!
//! Everything is seeded: the same `(seed, finger_id)` gives the same master, and the same impression index the
//! same image, bytes for bytes, on every thread count ([`dataset`]).
//!
//! ```
//! use khil_biometrics::synth::{Finger, Quality, SensorProfile};
//!
//! let finger = Finger::generate(2024, 17);
//! let imp = finger.impression(0, SensorProfile::R503, Quality::Good);
//! assert_eq!((imp.image.width, imp.image.height), (192, 192));
//! // Ground truth in image coordinates, inside the contact area and 10 px inside the image.
//! assert!(imp.truth.iter().all(|m| m.x >= 10.0 && m.x <= 181.0));
//! ```

pub(crate) mod density;
pub(crate) mod gabor;
pub mod impression;
pub(crate) mod noise;
pub(crate) mod orientation;

use std::f32::consts::PI;

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::image::GrayImage;
use crate::minutia::{Minutia, angle_diff, normalize_angle};
use crate::skeleton::{self, BinaryImage};
use density::DensityMap;
use noise::{normal_clamped, smoothstep};
use orientation::OrientationModel;

pub use impression::{ContactArea, Distortion, Impression, ImpressionParams};

/// Master canvas size (px at 500 dpi): larger than every sensor so that moved and rotated impressions are
/// filled with finger.
pub const MASTER_WIDTH: usize = 400;
pub const MASTER_HEIGHT: usize = 520;

/// Ground-truth minutiae closer than this to the edge of the finger area are dropped.
pub const AREA_MARGIN: f32 = 10.0;

/// Henry class of a fingerprint's ridge pattern, as seen on the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternClass {
    /// Ridges cross the finger with a bump; no core, no delta.
    Arch,
    /// One core with a delta just below it.
    TentedArch,
    /// Ridges enter and leave on the left; the delta is on the right.
    LeftLoop,
    /// Ridges enter and leave on the right; the delta is on the left.
    RightLoop,
    /// Two cores (a circle or spiral) and two deltas.
    Whorl,
}

impl PatternClass {
    pub const ALL: [PatternClass; 5] = [Self::Arch, Self::TentedArch, Self::LeftLoop, Self::RightLoop, Self::Whorl];

    /// Natural frequency of the class (Wilson, Candela and Watson 1994).
    pub fn frequency(self) -> f32 {
        match self {
            Self::Arch => 0.037,
            Self::TentedArch => 0.029,
            Self::LeftLoop => 0.338,
            Self::RightLoop => 0.317,
            Self::Whorl => 0.279,
        }
    }

    /// Number of cores (Poincaré index +1/2) of the class.
    pub fn cores(self) -> usize {
        match self {
            Self::Arch => 0,
            Self::TentedArch | Self::LeftLoop | Self::RightLoop => 1,
            Self::Whorl => 2,
        }
    }

    /// Number of deltas (Poincaré index -1/2) of the class.
    pub fn deltas(self) -> usize {
        self.cores()
    }

    fn sample<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let mut u: f32 = rng.random();
        for c in Self::ALL {
            u -= c.frequency();
            if u < 0.0 {
                return c;
            }
        }
        Self::Whorl
    }
}

/// The image an impression is rendered to (500 dpi).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SensorProfile {
    pub name: &'static str,
    pub width: usize,
    pub height: usize,
}

impl SensorProfile {
    /// ZFM R307 optical module: 256 x 288.
    pub const R307: Self = Self { name: "R307", width: 256, height: 288 };
    /// ZFM R503 capacitive module: 192 x 192.
    pub const R503: Self = Self { name: "R503", width: 192, height: 192 };
    /// A flat scanner, 300 x 400: the benchmark default.
    pub const FLAT: Self = Self { name: "FLAT", width: 300, height: 400 };

    /// Any other size.
    pub fn custom(width: usize, height: usize) -> Self {
        Self { name: "custom", width, height }
    }
}

impl Default for SensorProfile {
    fn default() -> Self {
        Self::FLAT
    }
}

/// How hard impressions are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Quality {
    /// Large contact, mild rotation, distortion and noise, normal skin: for measuring extraction against truth.
    Good,
    /// An FVC-like mix: rotation up to ±30 deg, partial and off-centre contact, strong distortion, dry and wet
    /// fingers, low contrast, blur, smudges and heavy noise in some impressions.
    #[default]
    Mixed,
}

/// Domain tags that keep the random streams of masters and impressions apart.
const TAG_FINGER: u64 = 0x6b68_696c_6669_6e67; // "khilfing"
const TAG_IMPRESSION: u64 = 0x6b68_696c_696d_7072; // "khilimpr"

/// The ChaCha8 stream of (seed, finger, purpose, index).
pub(crate) fn rng_for(seed: u64, finger_id: u64, tag: u64, index: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&finger_id.to_le_bytes());
    key[16..24].copy_from_slice(&tag.to_le_bytes());
    key[24..].copy_from_slice(&index.to_le_bytes());
    ChaCha8Rng::from_seed(key)
}

/// The fingerprint area: an ellipse above the pad centre, a superellipse below, inside the canvas.
#[derive(Debug, Clone, Copy)]
struct Shape {
    cx: f32,
    cy: f32,
    half_width: f32,
    top: f32,
    bottom: f32,
    power: f32,
}

impl Shape {
    fn random<R: Rng + ?Sized>(rng: &mut R) -> Self {
        let top = rng.random_range(185.0..225.0);
        Self {
            cx: MASTER_WIDTH as f32 / 2.0 + normal_clamped(rng, 4.0, 10.0),
            cy: rng.random_range(12.0..30.0) + top,
            half_width: rng.random_range(158.0..186.0),
            top,
            bottom: rng.random_range(270.0..340.0),
            power: rng.random_range(2.4..3.6),
        }
    }

    fn contains(&self, x: f32, y: f32) -> bool {
        const EDGE: f32 = 6.0;
        if x < EDGE || y < EDGE || x > MASTER_WIDTH as f32 - 1.0 - EDGE || y > MASTER_HEIGHT as f32 - 1.0 - EDGE {
            return false;
        }
        let dx = ((x - self.cx) / self.half_width).abs();
        if y < self.cy {
            let dy = (y - self.cy) / self.top;
            dx * dx + dy * dy <= 1.0
        } else {
            let dy = (y - self.cy) / self.bottom;
            dx.powf(self.power) + dy.abs().powf(self.power) <= 1.0
        }
    }
}

/// The design of a master print: class, finger area, orientation field and ridge-period map — everything but
/// the ridges. Cheap to make; [`Finger::generate`] grows the ridges on it.
#[derive(Clone)]
pub struct FingerPattern {
    seed: u64,
    finger_id: u64,
    class: PatternClass,
    shape: Shape,
    field: OrientationModel,
    density: DensityMap,
}

impl std::fmt::Debug for FingerPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FingerPattern(seed {}, id {}, {:?})", self.seed, self.finger_id, self.class)
    }
}

impl FingerPattern {
    /// The pattern of finger `finger_id` of population `seed` (the one [`Finger::generate`] uses).
    pub fn generate(seed: u64, finger_id: u64) -> Self {
        let mut rng = rng_for(seed, finger_id, TAG_FINGER, 0);
        let class = PatternClass::sample(&mut rng);
        let shape = Shape::random(&mut rng);
        let field = OrientationModel::random(&mut rng, class, shape.cx, shape.cy);
        let density = DensityMap::random(&mut rng, MASTER_WIDTH, MASTER_HEIGHT, &field, shape.cy);
        Self { seed, finger_id, class, shape, field, density }
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn finger_id(&self) -> u64 {
        self.finger_id
    }

    pub fn class(&self) -> PatternClass {
        self.class
    }

    /// Cores (x, y) in master canvas coordinates.
    pub fn cores(&self) -> Vec<(f32, f32)> {
        self.field.cores.iter().map(|s| (s.x, s.y)).collect()
    }

    /// Deltas (x, y) in master canvas coordinates (possibly outside the finger area).
    pub fn deltas(&self) -> Vec<(f32, f32)> {
        self.field.deltas.iter().map(|s| (s.x, s.y)).collect()
    }

    /// The pad centre in master canvas coordinates: impressions centre it on the sensor (before their shift).
    pub fn centre(&self) -> (f32, f32) {
        (self.shape.cx, self.shape.cy)
    }

    /// The ridge orientation at (x, y) of the master canvas, radians in [0, pi), counter-clockwise as seen on
    /// the image (the ISO sense of [`Minutia::angle`]).
    pub fn orientation_at(&self, x: f32, y: f32) -> f32 {
        (PI - self.field.angle(x, y)).rem_euclid(PI)
    }

    /// The ridge period (px) at (x, y) of the master canvas.
    pub fn ridge_period_at(&self, x: f32, y: f32) -> f32 {
        self.density.period(x, y)
    }

    /// Whether (x, y) of the master canvas is inside the finger area.
    pub fn in_area(&self, x: f32, y: f32) -> bool {
        self.shape.contains(x, y)
    }
}

/// A master print: one synthetic finger, its clean ridge pattern and its minutiae.
#[derive(Clone)]
pub struct Finger {
    pattern: FingerPattern,
    /// Last Gabor response: ridge where positive. `MASTER_WIDTH * MASTER_HEIGHT`, 0 outside the area.
    ridges: Vec<f32>,
    /// Distance to the edge of the finger area (0 outside).
    area_dist: Vec<f32>,
    minutiae: Vec<Minutia>,
}

impl std::fmt::Debug for Finger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No biometric data in logs: identity, class and counts only.
        write!(f, "Finger({:?}, {} minutiae)", self.pattern, self.minutiae.len())
    }
}

/// Gabor iterations: enough for the ridges grown from seeds ~48 px apart to meet and settle.
const ITERATIONS: usize = 12;
/// Mean spacing of the growth seeds.
const SEED_SPACING: f32 = 48.0;
/// No finger pixel is farther than this from a seed.
const MAX_SEED_DISTANCE: f32 = 44.0;

impl Finger {
    /// Generates finger `finger_id` of the population `seed`. Deterministic.
    pub fn generate(seed: u64, finger_id: u64) -> Self {
        Self::grow(FingerPattern::generate(seed, finger_id))
    }

    /// Grows the ridges of a pattern and reads off its minutiae.
    pub fn grow(pattern: FingerPattern) -> Self {
        let mut rng = rng_for(pattern.seed, pattern.finger_id, TAG_FINGER, 1);
        let (width, height) = (MASTER_WIDTH, MASTER_HEIGHT);
        let (shape, field, density) = (&pattern.shape, &pattern.field, &pattern.density);
        let area = BinaryImage::from_fn(width, height, |x, y| shape.contains(x as f32, y as f32));
        let mut kernels = vec![0u16; width * height];
        for y in 0..height {
            for x in 0..width {
                if area.get(x, y) {
                    let (fx, fy) = (x as f32, y as f32);
                    kernels[y * width + x] = gabor::kernel_index(field.angle(fx, fy), density.period(fx, fy));
                }
            }
        }
        // Seeds on a jittered grid, each a spike of random sign.
        let mut seeds = Vec::new();
        let n_x = (width as f32 / SEED_SPACING).ceil() as usize;
        let n_y = (height as f32 / SEED_SPACING).ceil() as usize;
        for gy in 0..n_y {
            for gx in 0..n_x {
                let spike = if rng.random::<bool>() { 30.0 } else { -30.0 };
                // Cells cut by the area border try a few places, so that the border gets ridges too.
                for _ in 0..8 {
                    let x = (gx as f32 + rng.random_range(0.1..0.9)) * SEED_SPACING;
                    let y = (gy as f32 + rng.random_range(0.1..0.9)) * SEED_SPACING;
                    let (xi, yi) = (x as usize, y as usize);
                    if xi < width && yi < height && area.get(xi, yi) {
                        seeds.push((yi * width + xi, spike));
                        break;
                    }
                }
            }
        }
        // Then wherever the grid left a gap (along the area border), another seed: every finger pixel must be
        // within reach of the growth (about 6 px per iteration).
        for y in (0..height).step_by(8) {
            for x in (0..width).step_by(8) {
                let far = seeds.iter().all(|&(i, _)| {
                    let (sx, sy) = ((i % width) as f32, (i / width) as f32);
                    (sx - x as f32).hypot(sy - y as f32) > MAX_SEED_DISTANCE
                });
                if far && area.get(x, y) {
                    seeds.push((y * width + x, if rng.random::<bool>() { 30.0 } else { -30.0 }));
                }
            }
        }
        let mut ridges = gabor::grow(width, height, &area.pixels, &kernels, &seeds, ITERATIONS);
        let area_dist = skeleton::distance_to_background(&area);

        // The clean binary master: drop specks and fill pores, and make the field agree so that impressions
        // show exactly what the ground truth was read from.
        let mut binary = BinaryImage::from_fn(width, height, |x, y| ridges[y * width + x] > 0.0);
        let before = binary.clone();
        skeleton::remove_small_components(&mut binary, true, 30);
        skeleton::remove_small_components(&mut binary, false, 30);
        for (i, (&b, &a)) in binary.pixels.iter().zip(&before.pixels).enumerate() {
            if b != a && area.pixels[i] {
                ridges[i] = if b { 0.3 } else { -0.3 };
            }
        }
        let minutiae = master_minutiae(&binary, &area, field);
        Self { pattern, ridges, area_dist, minutiae }
    }

    /// The design this master was grown on (class, singular points, orientation and period maps).
    pub fn pattern(&self) -> &FingerPattern {
        &self.pattern
    }

    pub fn class(&self) -> PatternClass {
        self.pattern.class
    }

    /// Ground-truth minutiae in master canvas coordinates ([`MASTER_WIDTH`] x [`MASTER_HEIGHT`]), quality 100.
    pub fn minutiae(&self) -> &[Minutia] {
        &self.minutiae
    }

    /// The binary master: ridge pixels set (what the ground truth is read from).
    pub fn master_ridges(&self) -> BinaryImage {
        BinaryImage {
            width: MASTER_WIDTH,
            height: MASTER_HEIGHT,
            pixels: self.ridges.iter().map(|&r| r > 0.0).collect(),
        }
    }

    /// The clean master print as a grayscale image: ridges black, valleys and background white, edges
    /// anti-aliased.
    pub fn master_image(&self) -> GrayImage {
        let pixels = self
            .ridges
            .iter()
            .zip(&self.area_dist)
            .map(|(&r, &d)| if d > 0.0 { (255.0 * (1.0 - smoothstep(-0.3, 0.3, r))).round() as u8 } else { 255 })
            .collect();
        GrayImage { width: MASTER_WIDTH, height: MASTER_HEIGHT, pixels }
    }

    /// The impression parameters of impression `index` (drawn from the finger's seed, id and `index`).
    pub fn impression_params(&self, index: u32, quality: Quality) -> ImpressionParams {
        let mut rng = rng_for(self.pattern.seed, self.pattern.finger_id, TAG_IMPRESSION, u64::from(index));
        ImpressionParams::random(&mut rng, quality)
    }

    /// Impression `index` of this finger on `sensor`. Deterministic in (seed, finger id, index, sensor, quality).
    pub fn impression(&self, index: u32, sensor: SensorProfile, quality: Quality) -> Impression {
        self.impression_with(&self.impression_params(index, quality), sensor)
    }

    /// An impression with explicit parameters.
    pub fn impression_with(&self, params: &ImpressionParams, sensor: SensorProfile) -> Impression {
        impression::render(self, params, sensor)
    }

    /// The ridge field sampled bilinearly at master coordinates (0 outside the canvas).
    fn ridge_at(&self, x: f32, y: f32) -> f32 {
        bilinear(&self.ridges, MASTER_WIDTH, MASTER_HEIGHT, x, y)
    }

    /// Distance to the edge of the finger area, sampled bilinearly (0 outside).
    fn area_dist_at(&self, x: f32, y: f32) -> f32 {
        bilinear(&self.area_dist, MASTER_WIDTH, MASTER_HEIGHT, x, y)
    }
}

fn bilinear(field: &[f32], width: usize, height: usize, x: f32, y: f32) -> f32 {
    if !(x >= 0.0 && y >= 0.0 && x < (width - 1) as f32 && y < (height - 1) as f32) {
        return 0.0;
    }
    let (ix, iy) = (x as usize, y as usize);
    let (tx, ty) = (x - ix as f32, y - iy as f32);
    let at = iy * width + ix;
    let top = field[at] + (field[at + 1] - field[at]) * tx;
    let bottom = field[at + width] + (field[at + width + 1] - field[at + width]) * tx;
    top + (bottom - top) * ty
}

/// Crossing-number minutiae of the clean binary master, away from the area border, angles snapped to the field.
fn master_minutiae(binary: &BinaryImage, area: &BinaryImage, field: &OrientationModel) -> Vec<Minutia> {
    let mut skel = skeleton::thin(binary);
    skeleton::remove_spurs(&mut skel, 4);
    let mut minutiae = skeleton::detect_minutiae(&skel, 10.0);
    skeleton::remove_near_border(&mut minutiae, area, AREA_MARGIN);
    for m in &mut minutiae {
        let o = normalize_angle(PI - field.angle(m.x, m.y));
        let snapped = if angle_diff(o, m.angle) <= angle_diff(o + PI, m.angle) { o } else { o + PI };
        if angle_diff(snapped, m.angle) < 30f32.to_radians() {
            m.angle = normalize_angle(snapped);
        }
        m.quality = 100;
    }
    minutiae
}

/// `impressions` impressions of each of `fingers` fingers (ids 0..fingers) of population `seed`:
/// `result[f][i]` is impression `i` of finger `f`. Uses every core (scoped threads, one finger at a time per
/// thread); the result does not depend on the thread count.
pub fn dataset(
    seed: u64,
    fingers: usize,
    impressions: u32,
    sensor: SensorProfile,
    quality: Quality,
) -> Vec<Vec<Impression>> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get).min(fingers.max(1));
    dataset_with_threads(seed, fingers, impressions, sensor, quality, threads)
}

/// [`dataset`] on exactly `threads` threads.
pub fn dataset_with_threads(
    seed: u64,
    fingers: usize,
    impressions: u32,
    sensor: SensorProfile,
    quality: Quality,
    threads: usize,
) -> Vec<Vec<Impression>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut out: Vec<Vec<Impression>> = (0..fingers).map(|_| Vec::new()).collect();
    let done: Vec<Vec<(usize, Vec<Impression>)>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let f = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if f >= fingers {
                            break mine;
                        }
                        let finger = Finger::generate(seed, f as u64);
                        let imps = (0..impressions).map(|i| finger.impression(i, sensor, quality)).collect();
                        mine.push((f, imps));
                    }
                })
            })
            .collect();
        workers.into_iter().map(|h| h.join().expect("dataset worker panicked")).collect()
    });
    for (f, imps) in done.into_iter().flatten() {
        out[f] = imps;
    }
    out
}
