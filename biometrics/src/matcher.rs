//! The 1:1 matcher: Minutia Cylinder-Code (Cappelli, Ferrara, Maltoni, IEEE TPAMI 2010), bit version, with
//! the LSS-R global score (local similarity sort with relaxation).
//!
//! Why MCC: each minutia gets a fixed-length descriptor (a "cylinder") of its neighbourhood, expressed in the
//! minutia's own frame, so it is invariant to translation and rotation by construction; the Gaussian cell
//! contributions and the relaxation step tolerate the few-pixel displacements of plastic distortion. In the
//! bit form a local comparison is a few popcounts over 14 words, so a full comparison costs tens of
//! microseconds, and cylinders are built once per template, not per comparison.
//!
//! Parameters are the paper's (R = 70 px, 6 angular sections, sigma_S = 28/3, sigma_D = 2pi/9, mu_psi = 0.01,
//! min_VC = 0.75, min_M = 2, min_ME = 0.6, n_P from 4 to 12, relaxation 5 iterations with w_R = 0.5, all at
//! 500 dpi) with three changes for speed, each measured on the synthetic sets to leave the error rates as they
//! were: 12 x 12 spatial cells instead of 16 x 16 (864 bits), pairs only between minutiae whose directions
//! differ by at most 60 degrees instead of 90 (impressions rotate by up to 30; the rest is noise), and at most
//! 50 candidate pairs through relaxation (the paper takes all; 28 was as good on synthetic prints, but real
//! prints carry more minutiae, more of them false, and on FVC2000 DB1-3_B 28 cost up to 0.4 points of EER).
//!
//! Scores: [`compare`] returns the raw LSS-R similarity in [0, 1]; [`score`] maps it onto a scale calibrated to
//! the false match rate measured on synthetic impostors: a score of `s` means "impostors reach this with
//! probability about 10^-s". Thresholds for a target FMR are therefore `-log10(fmr)`: see [`threshold_for`].

use std::f32::consts::{PI, TAU};

use crate::minutia::Minutiae;

const RADIUS: f32 = 70.0;
const NS: usize = 12;
const ND: usize = 6;
const SIGMA_S: f32 = 28.0 / 3.0;
const SIGMA_D: f32 = 2.0 * PI / 9.0;
const MU_PSI: f32 = 0.01;
const OMEGA: f32 = 50.0;
const MIN_VC: f32 = 0.75;
const MIN_M: usize = 2;
const MIN_ME: f32 = 0.60;
const DELTA_THETA: f32 = PI / 3.0;
const MIN_NP: usize = 4;
const MAX_NP: usize = 12;
const MU_P: f32 = 20.0;
const TAU_P: f32 = 0.4;
const N_REL: usize = 5;
/// At most this many candidate pairs go through relaxation (the best by local similarity). Measured on FVC2000
/// DB1-3_B and the synthetic set: 28 gave EER 2.59 / 5.35 / 5.35 % and 0.104 %, 40 gave 2.45 / 5.35 / 5.35 %,
/// 50 gives 2.15 / 5.35 / 5.35 % and 0.076 %, all (the paper) 2.15 / 5.44 / 5.35 % at a third more time on DB3.
const MAX_RELAXED: usize = 50;
const W_R: f32 = 0.5;

const CELL: f32 = 2.0 * RADIUS / NS as f32;
const SECTION: f32 = TAU / ND as f32;
const BITS: usize = NS * NS * ND;
const WORDS: usize = BITS.div_ceil(64);

/// One minutia's neighbourhood descriptor: 1,536 bits plus the mask of cells that lie inside the print.
#[derive(Clone)]
struct Cylinder {
    bits: [u64; WORDS],
    valid: [u64; WORDS],
    /// Index of its minutia in the template's point list.
    minutia: u16,
    /// Its minutia's direction, copied here for the cheap pre-check.
    angle: f32,
    /// Every cell within the radius is valid: comparisons between two such cylinders skip the masks.
    full: bool,
    /// Set bits (valid cells only).
    ones: u32,
}

/// A minutia in math orientation (y up), as the geometry below is written.
#[derive(Clone, Copy)]
struct Point {
    x: f32,
    y: f32,
    /// Radians, counter-clockwise, y up: the ISO angle as it is.
    angle: f32,
}

/// A template prepared for matching: minutiae, their cylinders, and the pairwise geometry the relaxation
/// step needs (distances and radial angles), computed once here instead of in every comparison.
#[derive(Clone)]
pub struct MatchTemplate {
    points: Vec<Point>,
    cylinders: Vec<Cylinder>,
    /// Distance between minutiae i and j, at `i * points.len() + j`.
    distance: Vec<f32>,
    /// Angle of minutia i relative to the direction from j to i: `dphi(theta_i, atan2(y_i - y_j, x_i - x_j))`.
    radial: Vec<f32>,
}

impl std::fmt::Debug for MatchTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MatchTemplate({} minutiae, {} cylinders)", self.points.len(), self.cylinders.len())
    }
}

/// Signed angle difference in [-pi, pi).
fn dphi(a: f32, b: f32) -> f32 {
    let d = a - b;
    if d < -PI {
        d + TAU
    } else if d >= PI {
        d - TAU
    } else {
        d
    }
}

/// Abramowitz and Stegun 7.1.26 (|error| < 1.5e-7). The standard library has no erf; this one line of
/// numerics is not worth a dependency.
fn erf(x: f32) -> f32 {
    let sign = x.signum();
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_4 * t - 1.453_152_1) * t) + 1.421_413_8) * t - 0.284_496_74) * t + 0.254_829_6)
            * t
            * (-x * x).exp();
    sign * y
}

fn sigmoid(v: f32, mu: f32, tau: f32) -> f32 {
    1.0 / (1.0 + (-tau * (v - mu)).exp())
}

/// Convex hull (monotone chain), counter-clockwise.
fn convex_hull(points: &[Point]) -> Vec<(f32, f32)> {
    let mut p: Vec<(f32, f32)> = points.iter().map(|m| (m.x, m.y)).collect();
    p.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let cross = |o: (f32, f32), a: (f32, f32), b: (f32, f32)| (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0);
    let mut hull: Vec<(f32, f32)> = Vec::with_capacity(2 * p.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(f32, f32)>> =
            if pass == 0 { Box::new(p.iter()) } else { Box::new(p.iter().rev()) };
        for &q in iter {
            while hull.len() >= start + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], q) <= 0.0 {
                hull.pop();
            }
            hull.push(q);
        }
        hull.pop();
    }
    hull
}

/// Distance from `q` to a convex polygon (0 inside).
fn distance_to_hull(hull: &[(f32, f32)], q: (f32, f32)) -> f32 {
    match hull.len() {
        0 => f32::INFINITY,
        1 => ((q.0 - hull[0].0).powi(2) + (q.1 - hull[0].1).powi(2)).sqrt(),
        _ => {
            let mut inside = hull.len() >= 3;
            let mut best = f32::INFINITY;
            for i in 0..hull.len() {
                let a = hull[i];
                let b = hull[(i + 1) % hull.len()];
                let (ex, ey) = (b.0 - a.0, b.1 - a.1);
                let (wx, wy) = (q.0 - a.0, q.1 - a.1);
                if ex * wy - ey * wx < 0.0 {
                    inside = false;
                }
                let len2 = ex * ex + ey * ey;
                let t = if len2 > 0.0 { ((wx * ex + wy * ey) / len2).clamp(0.0, 1.0) } else { 0.0 };
                let (dx, dy) = (wx - t * ex, wy - t * ey);
                best = best.min((dx * dx + dy * dy).sqrt());
            }
            if inside { 0.0 } else { best }
        }
    }
}

impl MatchTemplate {
    /// Builds the cylinders of every minutia that has enough of its neighbourhood inside the print.
    pub fn new(minutiae: &Minutiae) -> Self {
        // Rescale to 500 dpi, where the parameters hold.
        let scale = if minutiae.dpi == 0 { 1.0 } else { 500.0 / f32::from(minutiae.dpi) };
        let points: Vec<Point> =
            minutiae.points.iter().map(|m| Point { x: m.x * scale, y: -m.y * scale, angle: m.angle }).collect();
        let hull = convex_hull(&points);
        let gs_norm = 1.0 / (SIGMA_S * (TAU).sqrt());
        let sd = SIGMA_D * std::f32::consts::SQRT_2;
        let mut cylinders = Vec::with_capacity(points.len());
        // Cell centre offsets in the minutia's frame, and whether each lies within the radius.
        let half = f32::midpoint(NS as f32, 1.0);
        for (index, m) in points.iter().enumerate() {
            let (s, c) = m.angle.sin_cos();
            // Each neighbour's directional contributions depend on its direction alone, not on the cell: worked
            // out once here (12 erf each) instead of in every cell it reaches (measured: a quarter of
            // extraction time on 100-minutia prints went to erf).
            let neighbours: Vec<(f32, f32, [f32; ND])> = points
                .iter()
                .enumerate()
                .filter(|&(j, t)| j != index && (t.x - m.x).hypot(t.y - m.y) <= RADIUS + 3.0 * SIGMA_S)
                .map(|(_, t)| {
                    let dtheta = dphi(m.angle, t.angle);
                    let mut cd = [0f32; ND];
                    for (k, c) in cd.iter_mut().enumerate() {
                        let phi_k = -PI + (k as f32 + 0.5) * SECTION;
                        let a = dphi(phi_k, dtheta);
                        *c = 0.5 * (erf((a + SECTION / 2.0) / sd) - erf((a - SECTION / 2.0) / sd));
                    }
                    (t.x, t.y, cd)
                })
                .collect();
            if neighbours.len() < MIN_M {
                continue;
            }
            let mut cyl = Cylinder {
                bits: [0; WORDS],
                valid: [0; WORDS],
                minutia: index as u16,
                angle: m.angle,
                full: false,
                ones: 0,
            };
            let (mut in_circle, mut valid_cells) = (0usize, 0usize);
            for i in 0..NS {
                for j in 0..NS {
                    let (u, v) = ((i as f32 + 1.0 - half) * CELL, (j as f32 + 1.0 - half) * CELL);
                    if u.hypot(v) > RADIUS {
                        continue;
                    }
                    in_circle += 1;
                    let (px, py) = (m.x + c * u - s * v, m.y + s * u + c * v);
                    if distance_to_hull(&hull, (px, py)) > OMEGA {
                        continue;
                    }
                    valid_cells += 1;
                    let mut sums = [0f32; ND];
                    for (tx, ty, cd) in &neighbours {
                        let d2 = (tx - px).powi(2) + (ty - py).powi(2);
                        if d2 > 9.0 * SIGMA_S * SIGMA_S {
                            continue;
                        }
                        let cs = gs_norm * (-d2 / (2.0 * SIGMA_S * SIGMA_S)).exp();
                        for (sum, c) in sums.iter_mut().zip(cd) {
                            *sum += cs * c;
                        }
                    }
                    let base = (i * NS + j) * ND;
                    for (k, sum) in sums.iter().enumerate() {
                        let bit = base + k;
                        cyl.valid[bit / 64] |= 1 << (bit % 64);
                        if *sum >= MU_PSI {
                            cyl.bits[bit / 64] |= 1 << (bit % 64);
                        }
                    }
                }
            }
            if valid_cells as f32 >= MIN_VC * in_circle as f32 {
                cyl.full = valid_cells == in_circle;
                cyl.ones = cyl.bits.iter().map(|w| w.count_ones()).sum();
                cylinders.push(cyl);
            }
        }
        let n = points.len();
        let mut distance = vec![0f32; n * n];
        let mut radial = vec![0f32; n * n];
        for (i, a) in points.iter().enumerate() {
            for (j, b) in points.iter().enumerate() {
                distance[i * n + j] = (a.x - b.x).hypot(a.y - b.y);
                radial[i * n + j] = dphi(a.angle, (a.y - b.y).atan2(a.x - b.x));
            }
        }
        Self { points, cylinders, distance, radial }
    }

    /// Number of minutiae with a usable cylinder.
    pub fn cylinder_count(&self) -> usize {
        self.cylinders.len()
    }
}

/// Cells inside the radius, times the angular sections: the denominator of the matchable-cells rule.
fn cells_in_circle() -> u32 {
    let half = f32::midpoint(NS as f32, 1.0);
    let mut n = 0;
    for i in 0..NS {
        for j in 0..NS {
            if ((i as f32 + 1.0 - half) * CELL).hypot((j as f32 + 1.0 - half) * CELL) <= RADIUS {
                n += ND as u32;
            }
        }
    }
    n
}

/// Local similarity of two cylinders (0 when their minutiae point too differently or overlap too little).
fn local_similarity(a: &Cylinder, b: &Cylinder, min_common: u32) -> f32 {
    let (na, nb, nx) = if a.full && b.full {
        // Both masks are the whole disc: one popcount a word.
        let nx: u32 = a.bits.iter().zip(&b.bits).map(|(x, y)| (x ^ y).count_ones()).sum();
        (a.ones, b.ones, nx)
    } else {
        let (mut common, mut na, mut nb, mut nx) = (0u32, 0u32, 0u32, 0u32);
        for ((xa, xb), (va, vb)) in a.bits.iter().zip(&b.bits).zip(a.valid.iter().zip(&b.valid)) {
            let m = va & vb;
            common += m.count_ones();
            let (x, y) = (xa & m, xb & m);
            na += x.count_ones();
            nb += y.count_ones();
            nx += (x ^ y).count_ones();
        }
        if common < min_common {
            return 0.0;
        }
        (na, nb, nx)
    };
    if na + nb == 0 {
        return 0.0;
    }
    1.0 - (nx as f32).sqrt() / ((na as f32).sqrt() + (nb as f32).sqrt())
}

/// The relaxation's sigmoid compatibility terms, tabulated: a comparison evaluates thousands of them.
struct CompatibilityTables {
    distance: [f32; 1024],
    angle: [f32; 1024],
}

/// Distance differences beyond this many pixels are incompatible (the sigmoid is ~1e-8 there).
const LUT_MAX_DISTANCE: f32 = 16.0;

impl CompatibilityTables {
    fn distance(&self, d: f32) -> f32 {
        let i = (d * (1023.0 / LUT_MAX_DISTANCE)) as usize;
        if i < 1024 { self.distance[i] } else { 0.0 }
    }

    /// For angle differences in [0, pi].
    fn angle(&self, d: f32) -> f32 {
        self.angle[((d * (1023.0 / PI)) as usize).min(1023)]
    }
}

fn compatibility_tables() -> &'static CompatibilityTables {
    static TABLES: std::sync::OnceLock<CompatibilityTables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = CompatibilityTables { distance: [0.0; 1024], angle: [0.0; 1024] };
        for i in 0..1024 {
            let x = i as f32 + 0.5;
            t.distance[i] = sigmoid(x * LUT_MAX_DISTANCE / 1023.0, 5.0, -8.0 / 5.0);
            t.angle[i] = sigmoid(x * PI / 1023.0, PI / 12.0, -30.0);
        }
        t
    })
}

/// Raw LSS-R similarity in [0, 1]; 0 when either template has no usable cylinder.
pub fn compare(a: &MatchTemplate, b: &MatchTemplate) -> f32 {
    let (na, nb) = (a.cylinders.len(), b.cylinders.len());
    if na == 0 || nb == 0 {
        return 0.0;
    }
    static MIN_COMMON: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let min_common = *MIN_COMMON.get_or_init(|| (MIN_ME * cells_in_circle() as f32) as u32);
    // Local similarity matrix, kept sparse: only pairs with similar directions and a positive value.
    // Sort keys: similarity bits (non-negative floats order like their bits), then the indices, so one
    // integer sort orders the pairs best first with a deterministic tie-break.
    let mut pairs: Vec<u64> = Vec::with_capacity(na * nb / 2);
    for (i, ca) in a.cylinders.iter().enumerate() {
        for (j, cb) in b.cylinders.iter().enumerate() {
            if dphi(ca.angle, cb.angle).abs() > DELTA_THETA {
                continue;
            }
            let l = local_similarity(ca, cb, min_common);
            if l > 0.0 {
                pairs.push((u64::from(l.to_bits()) << 32) | ((0xFFFF - i as u64) << 16) | (0xFFFF - j as u64));
            }
        }
    }
    if pairs.is_empty() {
        return 0.0;
    }
    // n_R candidate pairs, one-to-one, best first. Only the best few times n_R are sorted (a selection puts
    // them first): the one-to-one pick rarely needs more, and sorting every pair was a sixth of a comparison.
    // When it does need more, the rest is sorted and the pick goes on, so the result is the full sort's.
    let n_r = na.min(nb).min(MAX_RELAXED);
    let best_first = |x: &u64, y: &u64| y.cmp(x);
    let mut sorted = (n_r * 4).min(pairs.len());
    if sorted < pairs.len() {
        pairs.select_nth_unstable_by(sorted, best_first);
    }
    pairs[..sorted].sort_unstable_by(best_first);
    let (mut used_a, mut used_b) = (vec![false; na], vec![false; nb]);
    // (similarity, minutia index in a, minutia index in b)
    let mut chosen: Vec<(f32, usize, usize)> = Vec::with_capacity(n_r);
    let mut next_pair = 0;
    while chosen.len() < n_r {
        if next_pair == sorted {
            if sorted == pairs.len() {
                break;
            }
            pairs[sorted..].sort_unstable_by(best_first);
            sorted = pairs.len();
        }
        let k = pairs[next_pair];
        next_pair += 1;
        let (i, j) = ((0xFFFF - ((k >> 16) & 0xFFFF)) as usize, (0xFFFF - (k & 0xFFFF)) as usize);
        if used_a[i] || used_b[j] {
            continue;
        }
        used_a[i] = true;
        used_b[j] = true;
        chosen.push((
            f32::from_bits((k >> 32) as u32),
            a.cylinders[i].minutia as usize,
            b.cylinders[j].minutia as usize,
        ));
    }
    let n = chosen.len();
    let n_p = MIN_NP + (sigmoid(na.min(nb) as f32, MU_P, TAU_P) * (MAX_NP - MIN_NP) as f32).round() as usize;
    if n < 2 {
        return chosen.first().map_or(0.0, |c| c.0) / n_p as f32;
    }
    // Compatibility of each two chosen pairs: do distances, relative directions and radial angles agree?
    let (pa, pb) = (a.points.len(), b.points.len());
    let lut = compatibility_tables();
    let mut rho = vec![0f32; n * n];
    for t in 0..n {
        let (_, at, bt) = chosen[t];
        for k in (t + 1)..n {
            let (_, ak, bk) = chosen[k];
            let d1 = (a.distance[at * pa + ak] - b.distance[bt * pb + bk]).abs();
            let d2 =
                dphi(dphi(a.points[at].angle, a.points[ak].angle), dphi(b.points[bt].angle, b.points[bk].angle)).abs();
            let d3 = dphi(a.radial[at * pa + ak], b.radial[bt * pb + bk]).abs();
            let r = lut.distance(d1) * lut.angle(d2) * lut.angle(d3);
            rho[t * n + k] = r;
            rho[k * n + t] = r;
        }
    }
    let initial: Vec<f32> = chosen.iter().map(|c| c.0).collect();
    let mut lambda = initial.clone();
    let mut next = vec![0f32; n];
    for _ in 0..N_REL {
        for t in 0..n {
            // rho's diagonal is zero, so the full dot product is the sum over k != t.
            let support: f32 = rho[t * n..(t + 1) * n].iter().zip(&lambda).map(|(r, l)| r * l).sum();
            next[t] = W_R * lambda[t] + (1.0 - W_R) * support / (n - 1) as f32;
        }
        std::mem::swap(&mut lambda, &mut next);
    }
    // The n_P pairs whose similarity held up best under relaxation.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&x, &y| (lambda[y] / initial[y]).total_cmp(&(lambda[x] / initial[x])).then(x.cmp(&y)));
    let take = n_p.min(n);
    let sum: f32 = order[..take].iter().map(|&t| lambda[t]).sum();
    // Fewer pairs than n_P count as zeros: two minutiae in common is weak evidence.
    (sum / n_p as f32).clamp(0.0, 1.0)
}

/// Calibration of the raw score: `(raw, -log10 FMR)`, the raw score that impostors reach with probability
/// 10^-k. Measured with `khil bench calibrate --fingers 400 --seed 9001` (every cross-finger pair of 400
/// synthetic fingers x 2 impressions, extracted by khil; a seed no benchmark uses). Beyond the last point
/// the scale continues along the slope of the last two points.
/// 319,200 impostor comparisons: the 5.0 point rests on three scores, so the scale is least certain there.
/// Re-measured after the real-print changes to the extractor (blurred orientation, per-block ridge period,
/// quality map) and the matcher (50 relaxed pairs). Real impostors score lower on this scale than synthetic
/// ones: of FVC2000 DB1-3_B's 3 x 2,880 all-pairs impostor comparisons, 35 (0.4 %) reach 1.0 and one reaches
/// 2.0 (expected: 10 % and 1 %), so on those scans the synthetic calibration errs on the safe side.
/// Re-run the command and replace the table whenever the extractor or the matcher changes.
const CALIBRATION: &[(f32, f32)] = &[
    (0.0, 0.0),
    (0.0171, 0.5),
    (0.0206, 1.0),
    (0.0240, 1.5),
    (0.0276, 2.0),
    (0.0314, 2.5),
    (0.0357, 3.0),
    (0.0397, 3.5),
    (0.0445, 4.0),
    (0.0503, 4.5),
    (0.0560, 5.0),
];

/// The last point of the calibration `(raw, score)`: the highest score whose false match rate was measured. Above
/// it [`calibrated`] extrapolates.
pub const MEASURED_LIMIT: (f32, f32) = CALIBRATION[CALIBRATION.len() - 1];

/// Top of the calibrated scale.
pub const MAX_SCORE: f32 = 12.0;

/// Maps a raw similarity onto the FMR-calibrated scale: score `s` means impostors score this high with
/// probability about 10^-s.
pub fn calibrated(raw: f32) -> f32 {
    let raw = raw.clamp(0.0, 1.0);
    let points = CALIBRATION;
    let idx = points.partition_point(|p| p.0 <= raw);
    let s = if idx == 0 {
        0.0
    } else if idx < points.len() {
        let (a, b) = (points[idx - 1], points[idx]);
        a.1 + (raw - a.0) / (b.0 - a.0).max(1e-6) * (b.1 - a.1)
    } else if points.len() >= 2 {
        let (a, b) = (points[points.len() - 2], points[points.len() - 1]);
        b.1 + (raw - b.0) * (b.1 - a.1) / (b.0 - a.0).max(1e-6)
    } else {
        0.0
    };
    s.clamp(0.0, MAX_SCORE)
}

/// Calibrated comparison score: see [`calibrated`].
pub fn score(a: &MatchTemplate, b: &MatchTemplate) -> f32 {
    calibrated(compare(a, b))
}

/// The calibrated score threshold for a target false match rate (0.0005 for 0.05 %).
pub fn threshold_for(fmr: f64) -> f32 {
    (-fmr.clamp(1e-12, 1.0).log10()) as f32
}
