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
/// of all of the index's +-90 degrees costs a third of the time and found the same mates on 10k and 100k
/// model galleries.
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
    let c = pos as usize;
    let other = if pos - c as f32 >= 0.5 { (c + 1).min(T_CELLS - 1) } else { c.saturating_sub(1) };
    Some([c, other])
}

/// Where `p` lands under rotation `rot` (256ths) and translation `t`. ISO sense, y down: rotating by an
/// angle maps (x, y) to (x c + y s, -x s + y c).
fn apply(p: Point, rot: i32, tx: f32, ty: f32) -> (f32, f32) {
    let (s, c) = sin_cos()[rot.rem_euclid(TURN) as usize];
    (p.x * c + p.y * s + tx, -p.x * s + p.y * c + ty)
}

/// Reusable scratch (the accumulator is reset sparsely).
pub(crate) struct Aligner {
    acc: Vec<u16>,
    touched: Vec<u32>,
    /// Every proposal: rotation (256ths), translation.
    proposals: Vec<(i32, f32, f32)>,
    close: Vec<(f32, u8, u8)>,
    used: Vec<u64>,
    candidate: Vec<Point>,
}

impl Default for Aligner {
    fn default() -> Self {
        Self {
            acc: vec![0; ROT_CELLS * T_CELLS * T_CELLS],
            touched: Vec::new(),
            proposals: Vec::new(),
            close: Vec::new(),
            used: Vec::new(),
            candidate: Vec::new(),
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
        self.candidate.clear();
        self.candidate.extend(points(candidate));
        self.proposals.clear();
        let mut best = (0u16, 0usize);
        for &p in &probe.points {
            for g in &self.candidate {
                let rot = signed(g.a, p.a);
                let off = i32::from((rot - centre) as i8);
                if off.abs() > ROT_WINDOW {
                    continue;
                }
                let (x, y) = apply(p, rot, 0.0, 0.0);
                let (tx, ty) = (g.x - x, g.y - y);
                let (Some(cx), Some(cy)) = (cells(tx), cells(ty)) else {
                    continue;
                };
                self.proposals.push((rot, tx, ty));
                // Each proposal counts in its rotation cell and the nearer neighbour, as for translations.
                let pos = off + ROT_WINDOW;
                let r = (pos / ROT_STEP) as usize;
                let r2 = if pos % ROT_STEP >= ROT_STEP / 2 { (r + 1).min(ROT_CELLS - 1) } else { r.saturating_sub(1) };
                for ri in [r, r2] {
                    for xi in cx {
                        for yi in cy {
                            let cell = (ri * T_CELLS + xi) * T_CELLS + yi;
                            let v = &mut self.acc[cell];
                            if *v == 0 {
                                self.touched.push(cell as u32);
                            }
                            *v += 1;
                            if *v > best.0 {
                                best = (*v, cell);
                            }
                        }
                    }
                }
            }
        }
        for &c in &self.touched {
            self.acc[c as usize] = 0;
        }
        self.touched.clear();
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
        self.count_pairs(probe, rot, tx, ty)
    }

    /// Pairs minutiae under one alignment, closest first, each minutia at most once.
    fn count_pairs(&mut self, probe: &Probe, rot: i32, tx: f32, ty: f32) -> usize {
        self.close.clear();
        for (i, &p) in probe.points.iter().enumerate() {
            let (x, y) = apply(p, rot, tx, ty);
            let a = p.a.wrapping_add(rot.rem_euclid(TURN) as u8);
            for (j, g) in self.candidate.iter().enumerate() {
                let (dx, dy) = (g.x - x, g.y - y);
                if dx.abs() <= PAIR_DISTANCE && dy.abs() <= PAIR_DISTANCE && signed(g.a, a).abs() <= PAIR_ANGLE {
                    let d = dx.hypot(dy);
                    if d <= PAIR_DISTANCE {
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
