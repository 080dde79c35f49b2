//! Stage 1b: a geometric-consistency pre-score on compact templates.
//!
//! The index's votes say that a template shares many small triangles with the probe; they do not say that
//! those triangles sit where they should relative to each other. This check does, on the compact templates,
//! in microseconds (the matcher needs ~0.5 ms a candidate to build its form): every probe minutia paired with
//! every candidate minutia of compatible direction proposes a rigid alignment (the rotation between their
//! directions, then the translation that brings one onto the other); the proposals are counted in a Hough
//! accumulator; the strongest cell's proposals, averaged, give the alignment; the score is the number of
//! minutiae the alignment pairs one-to-one within a distance and direction tolerance.

use std::f32::consts::TAU;
use std::sync::OnceLock;

use super::compact::CompactTemplate;

/// Directions are in 256ths of a turn (the compact template's unit).
const TURN: i32 = 256;
/// Rotations considered: within this many 256ths (39 degrees) of the one the index's votes agreed on. The
/// votes' rotation is known to +-22 degrees (two 22.5 degree bins); a pair of corresponding minutiae differs
/// in direction by the rotation plus extraction noise and distortion. Searching only this window instead
/// of all of the index's +-90 degrees took 60 % of the time and ranked the same mates as well on a 10k model
/// gallery.
const ROT_WINDOW: i32 = 28;
/// Rotation cells of the accumulator, in 256ths (11.25 degrees).
const ROT_STEP: i32 = 8;
const ROT_CELLS: usize = (2 * ROT_WINDOW / ROT_STEP) as usize + 1;
/// Translation cells of the accumulator (px); translations are of centred probe coordinates, so a wrong
/// rotation of a few degrees moves them by a few px, not by the distance from the image corner.
const T_STEP: f32 = 16.0;
const T_CELLS: usize = 64;
const T_MAX: f32 = T_STEP * (T_CELLS / 2) as f32;
/// Pairing tolerance after alignment: distance (px) and direction (256ths: ~25 degrees).
const PAIR_DISTANCE: f32 = 18.0;
const PAIR_ANGLE: i32 = 18;

fn sin_cos() -> &'static [(f32, f32); TURN as usize] {
    static TABLE: OnceLock<[(f32, f32); TURN as usize]> = OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|i| (i as f32 * TAU / TURN as f32).sin_cos()))
}

/// Signed difference `a - b` of two directions in 256ths, in -128..=127.
fn signed(a: u8, b: u8) -> i32 {
    i32::from(a.wrapping_sub(b) as i8)
}

/// A minutia as the pre-score reads it: position (px at 500 dpi) and direction (256ths of a turn).
#[derive(Clone, Copy)]
struct Point {
    x: f32,
    y: f32,
    a: u8,
}

fn points(t: &CompactTemplate) -> impl Iterator<Item = Point> + '_ {
    t.words().iter().map(|&w| Point { x: (w >> 21) as f32, y: ((w >> 10) & 0x7FF) as f32, a: ((w >> 2) & 0xFF) as u8 })
}

/// The probe, centred on its minutiae's mean position.
pub(crate) struct Probe {
    points: Vec<Point>,
}

impl Probe {
    pub(crate) fn new(t: &CompactTemplate) -> Self {
        let mut points: Vec<Point> = points(t).collect();
        let n = points.len().max(1) as f32;
        let (cx, cy) = (points.iter().map(|p| p.x).sum::<f32>() / n, points.iter().map(|p| p.y).sum::<f32>() / n);
        for p in &mut points {
            p.x -= cx;
            p.y -= cy;
        }
        Self { points }
    }
}

/// The cell a coordinate falls in and the neighbouring cell nearer to it (so a proposal near a cell edge
/// counts in both: an alignment that straddles an edge is not split).
fn cells(v: f32) -> Option<[usize; 2]> {
    let pos = (v + T_MAX) / T_STEP;
    if !(0.0..T_CELLS as f32).contains(&pos) {
        return None;
    }
    // The two cells whose centres bracket `pos` (at the edges, the edge cell and its neighbour); computed
    // without a branch on which half of its cell `pos` is in, which mispredicted half the time.
    let lo = ((pos - 0.5).max(0.0) as usize).min(T_CELLS - 2);
    Some([lo, lo + 1])
}

/// Where `p` lands under rotation `rot` (256ths) and translation `t`. ISO sense, y down: rotating by an
/// angle maps (x, y) to (x c + y s, -x s + y c).
fn apply(table: &[(f32, f32); TURN as usize], p: Point, rot: i32, tx: f32, ty: f32) -> (f32, f32) {
    let (s, c) = table[(rot & (TURN - 1)) as usize];
    (p.x * c + p.y * s + tx, -p.x * s + p.y * c + ty)
}

/// Reusable scratch.
pub(crate) struct Aligner {
    /// Hough cells: the generation that last wrote a cell (high 16 bits) and its count (low 16), so starting
    /// a candidate costs no clearing.
    acc: Vec<u32>,
    generation: u16,
    /// Every proposal: rotation (256ths), translation.
    proposals: Vec<(i32, f32, f32)>,
    close: Vec<(f32, u8, u8)>,
    used: Vec<u64>,
    /// The candidate's minutiae, by direction; `start[v]` of them have a direction below `v`.
    candidate: Vec<Point>,
    start: [u16; TURN as usize + 1],
}

impl Default for Aligner {
    fn default() -> Self {
        Self {
            acc: vec![0; ROT_CELLS * T_CELLS * T_CELLS],
            generation: 0,
            proposals: Vec::new(),
            close: Vec::new(),
            used: Vec::new(),
            candidate: Vec::new(),
            start: [0; TURN as usize + 1],
        }
    }
}

impl Aligner {
    /// The number of minutiae of `probe` and `candidate` that one rigid alignment pairs one-to-one, trying
    /// rotations near `voted` (the probe's rotation against the candidate in 256ths of a turn, as the index
    /// voted it).
    pub(crate) fn matched(&mut self, probe: &Probe, candidate: &CompactTemplate, voted: u8) -> usize {
        // The aligner's rotation is candidate minus probe, the votes' probe minus candidate.
        let centre = -i32::from(voted as i8);
        // Looked up once: a lazily built table's readiness check in the inner loop cost a tenth of the time.
        let table = sin_cos();
        self.candidate.clear();
        self.candidate.extend(points(candidate));
        self.sort_by_direction();
        self.proposals.clear();
        // A new generation empties the accumulator: cells stamped with an older one count as zero.
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.acc.fill(0);
            self.generation = 1;
        }
        let generation = u32::from(self.generation) << 16;
        let mut best = (0u32, 0usize);
        for &p in &probe.points {
            let target = p.a.wrapping_add(centre as u8);
            for j in self.with_direction(target, ROT_WINDOW as u8) {
                let g = self.candidate[j];
                let rot = signed(g.a, p.a);
                let off = i32::from((rot - centre) as i8);
                let (x, y) = apply(table, p, rot, 0.0, 0.0);
                let (tx, ty) = (g.x - x, g.y - y);
                let (Some(cx), Some(cy)) = (cells(tx), cells(ty)) else {
                    continue;
                };
                self.proposals.push((rot, tx, ty));
                // Each proposal counts in its rotation cell and the nearer neighbour, as for translations.
                let r = ((off + ROT_WINDOW - ROT_STEP / 2).max(0) / ROT_STEP).min(ROT_CELLS as i32 - 2) as usize;
                for ri in [r, r + 1] {
                    for xi in cx {
                        for yi in cy {
                            let cell = (ri * T_CELLS + xi) * T_CELLS + yi;
                            let v = &mut self.acc[cell];
                            let count = if *v & 0xFFFF_0000 == generation { (*v & 0xFFFF) + 1 } else { 1 };
                            *v = generation | count;
                            if count > best.0 {
                                best = (count, cell);
                            }
                        }
                    }
                }
            }
        }
        if best.0 == 0 {
            return 0;
        }
        // The strongest cell's proposals (those within a cell of its centre), averaged: finer than the cell.
        let (ri, rest) = (best.1 / (T_CELLS * T_CELLS), best.1 % (T_CELLS * T_CELLS));
        let rc = ri as f32 * ROT_STEP as f32 + (ROT_STEP - 1) as f32 / 2.0 - ROT_WINDOW as f32 + centre as f32;
        let t_centre = |i: usize| (i as f32 + 0.5) * T_STEP - T_MAX;
        let (xc, yc) = (t_centre(rest / T_CELLS), t_centre(rest % T_CELLS));
        let (mut n, mut sr, mut sx, mut sy) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        for &(r, x, y) in &self.proposals {
            let r = centre + i32::from((r - centre) as i8);
            if (r as f32 - rc).abs() <= ROT_STEP as f32 && (x - xc).abs() <= T_STEP && (y - yc).abs() <= T_STEP {
                n += 1.0;
                sr += r as f32;
                sx += x;
                sy += y;
            }
        }
        let (rot, tx, ty) = ((sr / n).round() as i32, sx / n, sy / n);
        self.count_pairs(table, probe, rot, tx, ty)
    }

    /// Sorts the candidate's minutiae by direction and counts them per direction, so the pairs within a
    /// direction window are read as one or two runs: testing every pair and skipping three in four cost more
    /// than the pairs that count.
    fn sort_by_direction(&mut self) {
        self.candidate.sort_unstable_by_key(|g| g.a);
        self.start.fill(0);
        for g in &self.candidate {
            self.start[usize::from(g.a) + 1] += 1;
        }
        for v in 1..self.start.len() {
            self.start[v] += self.start[v - 1];
        }
    }

    /// Indices of the candidate's minutiae whose direction is within `width` of `a` (after
    /// [`Aligner::sort_by_direction`]).
    fn with_direction(&self, a: u8, width: u8) -> std::iter::Chain<std::ops::Range<usize>, std::ops::Range<usize>> {
        let (lo, hi) = (a.wrapping_sub(width), a.wrapping_add(width));
        let at = |v: u8| usize::from(self.start[usize::from(v)]);
        let end = |v: u8| usize::from(self.start[usize::from(v) + 1]);
        if lo <= hi { (at(lo)..end(hi)).chain(0..0) } else { (at(lo)..self.candidate.len()).chain(0..end(hi)) }
    }

    /// Pairs minutiae under one alignment, closest first, each minutia at most once.
    fn count_pairs(&mut self, table: &[(f32, f32); TURN as usize], probe: &Probe, rot: i32, tx: f32, ty: f32) -> usize {
        self.close.clear();
        for (i, &p) in probe.points.iter().enumerate() {
            let (x, y) = apply(table, p, rot, tx, ty);
            let a = p.a.wrapping_add(rot.rem_euclid(TURN) as u8);
            for j in self.with_direction(a, PAIR_ANGLE as u8) {
                let g = self.candidate[j];
                let (dx, dy) = (g.x - x, g.y - y);
                if dx.abs() <= PAIR_DISTANCE && dy.abs() <= PAIR_DISTANCE {
                    // Squared distance: the order is the same and hypot is slow.
                    let d = dx * dx + dy * dy;
                    if d <= PAIR_DISTANCE * PAIR_DISTANCE {
                        self.close.push((d, i as u8, j as u8));
                    }
                }
            }
        }
        self.close.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        // One bit a minutia: probe minutiae in words 0..4, candidate minutiae in words 4..8 (255 at most).
        self.used.clear();
        self.used.resize(8, 0);
        let mut n = 0;
        for &(_, i, j) in &self.close {
            let (pi, gi) = (usize::from(i), 256 + usize::from(j));
            let bit = |k: usize| (k / 64, 1u64 << (k % 64));
            let ((pw, pb), (gw, gb)) = (bit(pi), bit(gi));
            if self.used[pw] & pb == 0 && self.used[gw] & gb == 0 {
                self.used[pw] |= pb;
                self.used[gw] |= gb;
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identify::model::ModelFinger;
    use crate::minutia::Minutiae;

    fn template(m: &Minutiae) -> CompactTemplate {
        CompactTemplate::new(m).unwrap()
    }

    /// `m` rotated by `turns` 256ths (ISO sense, y down) about (200, 250) and shifted.
    fn moved(m: &Minutiae, turns: i32, dx: f32, dy: f32) -> Minutiae {
        let mut out = m.clone();
        let (s, c) = (turns as f32 * TAU / 256.0).sin_cos();
        for p in &mut out.points {
            let (x, y) = (p.x - 200.0, p.y - 250.0);
            p.x = x * c + y * s + 200.0 + dx;
            p.y = -x * s + y * c + 250.0 + dy;
            p.angle = (p.angle + turns as f32 * TAU / 256.0).rem_euclid(TAU);
        }
        out
    }

    #[test]
    fn a_moved_copy_pairs_every_minutia() {
        let m = ModelFinger::generate(5, 3).impression(0);
        let (t, mut a) = (template(&m), Aligner::default());
        let n = t.len();
        assert_eq!(a.matched(&Probe::new(&t), &t, 0), n);
        // Probe rotated by 20 256ths (28 degrees) against the gallery template; the votes' rotation is known
        // only to +-22 degrees, so any voted rotation within 16 of the true one must still align.
        let probe = Probe::new(&template(&moved(&m, 20, 130.0, 145.0)));
        for voted in [4u8, 12, 20, 28, 36] {
            assert!(
                a.matched(&probe, &t, voted) * 10 >= n * 9,
                "voted {voted}: {} of {n}",
                a.matched(&probe, &t, voted)
            );
        }
        // Far outside the window nothing aligns: the rotation window is really applied.
        assert!(a.matched(&probe, &t, 20u8.wrapping_add(128)) * 3 < n);
    }

    #[test]
    fn mates_pair_more_minutiae_than_impostors() {
        let mut a = Aligner::default();
        // The votes' rotation is unknown here: the best over every window stands in for it.
        let mut best = |p: &Probe, t: &CompactTemplate| (0..16).map(|k| a.matched(p, t, k * 16)).max().unwrap();
        let mut wins = 0;
        for f in 0..20 {
            let gallery = template(&ModelFinger::generate(5, f).impression(0));
            let mate = Probe::new(&template(&ModelFinger::generate(5, f).impression(1)));
            let impostor = Probe::new(&template(&ModelFinger::generate(5, f + 100).impression(1)));
            wins += usize::from(best(&mate, &gallery) > best(&impostor, &gallery));
        }
        assert!(wins >= 19, "{wins} of 20");
    }
}
