//! Stage 1: minutia-triangle geometric hashing with rotation-consistent voting.
//!
//! Every template is cut into small triangles: each minutia with each two of its [`NEIGHBOURS`] nearest
//! neighbours (deduplicated). A triangle's key is what survives rotation and translation: its three side
//! lengths (sorted, in [`LEN_BIN`] px bins), each vertex's minutia direction relative to the longest side (in
//! 45 degree bins) and its handedness. The gallery stores one posting per triangle under its key: the template's
//! slot and the triangle's absolute orientation (32 bins), packed in a `u32`.
//!
//! A search looks its own triangles up, probing the neighbouring bin of every feature that lies near a bin
//! boundary (so the gallery stores each triangle once, and the tolerance costs only query time). Every hit also
//! says by how much the probe is rotated against that gallery template; votes are counted per template and
//! rotation bin, and a template's score is its best pair of adjacent rotation bins. Chance hits scatter over
//! rotations, a mate's pile up at one: this is what makes the vote count discriminating at a million
//! templates. Rotations beyond [`MAX_ROTATION`] are not counted (flat captures are upright within tens of
//! degrees), which removes over half of the chance hits. A hit weighs less the longer its key's posting list
//! (common shapes, e.g. small triangles of parallel minutiae, say little; dropping them outright lost most
//! mates, so they are down-weighted, not skipped), and the vote score is divided by the square root of the
//! template's triangle count (larger templates draw more chance hits). On 10k model fingers (200 mated
//! probes) the mate's stage-1 rank-1 rate went from 82 % to 90 % with the weighting, 92.5 % with 45 instead of
//! 60 degree direction bins and 93 % with the normalisation; 6 neighbours instead of 4 (unweighted) gave 76 %.

use std::f32::consts::{PI, TAU};
use std::sync::OnceLock;

use crate::minutia::Minutia;

/// Nearest neighbours each minutia makes triangles with: 4 gives 6 triangles a minutia, ~150-250 a template.
pub const NEIGHBOURS: usize = 4;
/// Sides shorter than this are noise-dominated (a few px of jitter is a large fraction): such triangles are
/// skipped, as are triangles with a side longer than the last bin.
const LEN_MIN: f32 = 12.0;
pub const LEN_BIN: f32 = 10.0;
const LEN_BINS: usize = 16;
const ANGLE_BINS: usize = 8;
/// Query-side tolerance: a feature this close to a bin boundary also probes the neighbouring bin.
const LEN_MARGIN: f32 = 3.0;
const ANGLE_MARGIN: f32 = 12.0 * PI / 180.0;
/// Orientation bins stored in a posting (5 bits).
const ORIENT_BITS: u32 = 5;
const ORIENT_BINS: u32 = 1 << ORIENT_BITS;
/// Rotation bins votes are counted in (two orientation bins each: 22.5 degrees).
const ROTATION_BINS: usize = 16;
/// A vote under a key of average frequency weighs about this much (integer counters, so a scale).
const VOTE_SCALE: f32 = 16.0;
/// Largest probe-vs-gallery rotation that is counted.
pub const MAX_ROTATION: f32 = PI / 2.0;
/// Slots are numbered in the 27 bits above the orientation.
pub const MAX_SLOTS: usize = 1 << (32 - ORIENT_BITS);

/// Sorted side-bin triples (b0 >= b1 >= b2), numbered densely.
const LEN_TRIPLES: usize = LEN_BINS * (LEN_BINS + 1) * (LEN_BINS + 2) / 6;
/// Distinct keys: side triples x three relative directions x handedness.
pub const KEYS: usize = LEN_TRIPLES * ANGLE_BINS * ANGLE_BINS * ANGLE_BINS * 2;

fn triple_rank() -> &'static [u32; LEN_BINS * LEN_BINS * LEN_BINS] {
    static RANK: OnceLock<[u32; LEN_BINS * LEN_BINS * LEN_BINS]> = OnceLock::new();
    RANK.get_or_init(|| {
        let mut rank = [u32::MAX; LEN_BINS * LEN_BINS * LEN_BINS];
        let mut next = 0;
        for a in 0..LEN_BINS {
            for b in 0..=a {
                for c in 0..=b {
                    rank[(a * LEN_BINS + b) * LEN_BINS + c] = next;
                    next += 1;
                }
            }
        }
        rank
    })
}

/// A triangle's invariant features and its orientation.
struct Triangle {
    /// Side lengths, longest first; side k is opposite vertex k.
    sides: [f32; 3],
    /// Vertex k's minutia direction relative to the longest side's, [0, 2 pi).
    angles: [f32; 3],
    /// Whether the vertices run counter-clockwise on the image.
    hand: bool,
    /// Direction of the longest side (vertex 1 to vertex 2), ISO sense.
    orientation: f32,
}

fn triangles(points: &[(f32, f32, f32)]) -> Vec<Triangle> {
    let n = points.len();
    let mut triples: Vec<[u8; 3]> = Vec::with_capacity(n * 6);
    let mut near: Vec<(f32, usize)> = Vec::with_capacity(n);
    for (i, p) in points.iter().enumerate() {
        near.clear();
        near.extend(points.iter().enumerate().filter(|&(j, _)| j != i).map(|(j, q)| ((p.0 - q.0).hypot(p.1 - q.1), j)));
        let k = NEIGHBOURS.min(near.len());
        if k < 2 {
            continue;
        }
        near.select_nth_unstable_by(k - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for a in 0..k {
            for b in a + 1..k {
                let mut t = [i as u8, near[a].1 as u8, near[b].1 as u8];
                t.sort_unstable();
                triples.push(t);
            }
        }
    }
    triples.sort_unstable();
    triples.dedup();
    triples.iter().filter_map(|t| triangle(t.map(|i| points[i as usize]))).collect()
}

fn triangle(v: [(f32, f32, f32); 3]) -> Option<Triangle> {
    let side = |a: usize, b: usize| (v[a].0 - v[b].0).hypot(v[a].1 - v[b].1);
    let mut order = [(side(1, 2), 0usize), (side(0, 2), 1), (side(0, 1), 2)];
    // Longest side first; equal sides tie-break on the position so the order is deterministic.
    order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let sides = order.map(|o| o.0);
    if sides[2] < LEN_MIN || sides[0] >= LEN_MIN + LEN_BIN * LEN_BINS as f32 {
        return None;
    }
    let p = order.map(|o| v[o.1]);
    let orientation = Minutia::angle_of(p[2].0 - p[1].0, p[2].1 - p[1].1);
    let cross = (p[1].0 - p[0].0) * (p[2].1 - p[0].1) - (p[1].1 - p[0].1) * (p[2].0 - p[0].0);
    let angles = p.map(|q| (q.2 - orientation).rem_euclid(TAU));
    Some(Triangle { sides, angles, hand: cross > 0.0, orientation })
}

fn len_bin(s: f32) -> usize {
    (((s - LEN_MIN) / LEN_BIN) as usize).min(LEN_BINS - 1)
}

fn angle_bin(a: f32) -> usize {
    ((a / (TAU / ANGLE_BINS as f32)) as usize).min(ANGLE_BINS - 1)
}

fn key(len: [usize; 3], ang: [usize; 3], hand: bool) -> Option<u32> {
    if len[0] < len[1] || len[1] < len[2] {
        return None;
    }
    let rank = triple_rank()[(len[0] * LEN_BINS + len[1]) * LEN_BINS + len[2]];
    let a = (ang[0] * ANGLE_BINS + ang[1]) * ANGLE_BINS + ang[2];
    Some(((rank * (ANGLE_BINS * ANGLE_BINS * ANGLE_BINS) as u32 + a as u32) << 1) | u32::from(hand))
}

fn orientation_bin(a: f32) -> u32 {
    ((a / TAU * ORIENT_BINS as f32).round() as u32) % ORIENT_BINS
}

/// A triangle's (key, orientation bin) as the gallery stores it.
pub(crate) fn enrol_keys(points: &[(f32, f32, f32)]) -> Vec<(u32, u32)> {
    triangles(points)
        .iter()
        .filter_map(|t| {
            let k = key(t.sides.map(len_bin), t.angles.map(angle_bin), t.hand)?;
            Some((k, orientation_bin(t.orientation)))
        })
        .collect()
}

/// The bin of `v` and, when `v` lies within `margin` of a boundary, the neighbouring bin too.
fn bins_near(v: f32, width: f32, base: f32, count: usize, wrap: bool) -> ([usize; 2], usize) {
    let pos = (v - base) / width;
    let b = (pos.max(0.0) as usize).min(count - 1);
    let frac = pos - b as f32;
    let m = if wrap { ANGLE_MARGIN } else { LEN_MARGIN } / width;
    let other = if frac < m {
        if b > 0 {
            Some(b - 1)
        } else if wrap {
            Some(count - 1)
        } else {
            None
        }
    } else if frac > 1.0 - m {
        if b + 1 < count {
            Some(b + 1)
        } else if wrap {
            Some(0)
        } else {
            None
        }
    } else {
        None
    };
    match other {
        Some(o) => ([b, o], 2),
        None => ([b, b], 1),
    }
}

/// The keys a probe looks up: every combination of near-boundary alternatives, each with its orientation bin.
pub(crate) fn probe_keys(points: &[(f32, f32, f32)]) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for t in triangles(points) {
        let l = t.sides.map(|s| bins_near(s, LEN_BIN, LEN_MIN, LEN_BINS, false));
        let a = t.angles.map(|x| bins_near(x, TAU / ANGLE_BINS as f32, 0.0, ANGLE_BINS, true));
        let o = orientation_bin(t.orientation);
        for &l0 in &l[0].0[..l[0].1] {
            for &l1 in &l[1].0[..l[1].1] {
                for &l2 in &l[2].0[..l[2].1] {
                    for &a0 in &a[0].0[..a[0].1] {
                        for &a1 in &a[1].0[..a[1].1] {
                            for &a2 in &a[2].0[..a[2].1] {
                                if let Some(k) = key([l0, l1, l2], [a0, a1, a2], t.hand) {
                                    out.push((k, o));
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

/// Posting lists, one per key: `slot << 5 | orientation bin`.
pub(crate) struct Index {
    buckets: Vec<Vec<u32>>,
    /// Postings of each slot: a template with more triangles draws more chance hits.
    sizes: Vec<u16>,
    postings: usize,
}

impl Index {
    pub(crate) fn new() -> Self {
        Self { buckets: vec![Vec::new(); KEYS], sizes: Vec::new(), postings: 0 }
    }

    pub(crate) fn insert(&mut self, slot: u32, keys: &[(u32, u32)]) {
        for &(k, o) in keys {
            self.buckets[k as usize].push(slot << ORIENT_BITS | o);
        }
        self.postings += keys.len();
        if self.sizes.len() <= slot as usize {
            self.sizes.resize(slot as usize + 1, 0);
        }
        self.sizes[slot as usize] = keys.len().min(usize::from(u16::MAX)) as u16;
    }

    /// Removes every posting of `slot` under `keys` (the keys it was inserted with).
    pub(crate) fn remove(&mut self, slot: u32, keys: &[(u32, u32)]) {
        for &(k, _) in keys {
            let bucket = &mut self.buckets[k as usize];
            let before = bucket.len();
            bucket.retain(|p| p >> ORIENT_BITS != slot);
            self.postings -= before - bucket.len();
        }
        self.sizes[slot as usize] = 0;
    }

    pub(crate) fn postings(&self) -> usize {
        self.postings
    }

    /// Heap bytes: the bucket table and every list's capacity.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Vec<u32>>()
            + self.sizes.capacity() * 2
            + self.buckets.iter().map(|b| b.capacity() * 4).sum::<usize>()
    }

    /// Gives back the lists' spare capacity (after a bulk build).
    pub(crate) fn shrink(&mut self) {
        for b in &mut self.buckets {
            b.shrink_to_fit();
        }
        self.sizes.shrink_to_fit();
    }
}

/// One search's vote counters, reused between searches (sized to the gallery's slots, reset sparsely).
#[derive(Default)]
pub(crate) struct Votes {
    counts: Vec<[u16; ROTATION_BINS]>,
    touched: Vec<u32>,
}

/// Rotation bins counted: within [`MAX_ROTATION`] either way.
fn rotation_allowed(bin: usize) -> bool {
    let centre = (bin as f32 + 0.5) * (TAU / ROTATION_BINS as f32);
    centre.min(TAU - centre) <= MAX_ROTATION + PI / ROTATION_BINS as f32
}

/// The vote weight of each of `probes`' keys: a hit under a common key is weaker evidence than one under a rare
/// key (inverse frequency). Counted over every shard, not each shard's own postings, so that a template's votes
/// do not depend on which shard holds it, nor on how many shards there are (one a core: the answers would
/// differ between machines).
pub(crate) fn vote_weights(shards: &[Index], probes: &[(u32, u32)]) -> Vec<u16> {
    let postings: usize = shards.iter().map(|s| s.postings).sum();
    let mean = (postings as f32 / KEYS as f32).max(1e-3);
    probes
        .iter()
        .map(|&(key, _)| {
            let len: usize = shards.iter().map(|s| s.buckets[key as usize].len()).sum();
            (VOTE_SCALE / (1.0 + len as f32 / mean).sqrt()).round().max(1.0) as u16
        })
        .collect()
}

impl Votes {
    /// Counts the hits of `probes` in `index`, each worth its entry of `weights` ([`vote_weights`]), and returns
    /// the best `k` slots, best first; equal votes in the order of the templates' ids (`id_of` a slot), so that
    /// which of them make the cut does not depend on the slots enrolment happened to give them.
    pub(crate) fn top(
        &mut self,
        index: &Index,
        slots: usize,
        probes: &[(u32, u32)],
        weights: &[u16],
        k: usize,
        id_of: impl Fn(u32) -> u64,
    ) -> Vec<Hit> {
        if self.counts.len() < slots {
            self.counts.resize(slots, [0; ROTATION_BINS]);
        }
        let allowed: [bool; ROTATION_BINS] = std::array::from_fn(rotation_allowed);
        for (&(key, q), &weight) in probes.iter().zip(weights) {
            let bucket = &index.buckets[key as usize];
            for &p in bucket {
                let rot = ((q + ORIENT_BINS - (p & (ORIENT_BINS - 1))) % ORIENT_BINS) as usize >> 1;
                if !allowed[rot] {
                    continue;
                }
                let c = &mut self.counts[(p >> ORIENT_BITS) as usize];
                if c.iter().all(|&v| v == 0) {
                    self.touched.push(p >> ORIENT_BITS);
                }
                c[rot] = c[rot].saturating_add(weight);
            }
        }
        let mut scored: Vec<Hit> = self
            .touched
            .iter()
            .map(|&s| {
                let c = &mut self.counts[s as usize];
                let (best, bin) = (0..ROTATION_BINS)
                    .map(|b| (u32::from(c[b]) + u32::from(c[(b + 1) % ROTATION_BINS]), b))
                    .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
                    .unwrap_or((0, 0));
                *c = [0; ROTATION_BINS];
                let size = f32::from(index.sizes[s as usize].max(1));
                Hit { slot: s, id: 0, votes: (best as f32 * 16.0 / size.sqrt()) as u32, rotation: rotation_of(bin) }
            })
            .collect();
        self.touched.clear();
        if k == 0 {
            return Vec::new();
        }
        // Votes are small integers: many templates tie, so the cut is made in two steps. The selection by votes
        // alone finds the k-th best count; the templates tied at it are then taken by id. Ids are looked up
        // only for those and for the k kept (each lookup is a cache miss into the gallery).
        if scored.len() > k {
            scored.select_nth_unstable_by(k - 1, |a, b| b.votes.cmp(&a.votes));
            let cut = scored[k - 1].votes;
            let mut tied: Vec<Hit> =
                scored.iter().filter(|h| h.votes == cut).map(|h| Hit { id: id_of(h.slot), ..*h }).collect();
            scored.retain(|h| h.votes > cut);
            let room = k - scored.len();
            if tied.len() > room {
                tied.select_nth_unstable_by_key(room, |h| h.id);
                tied.truncate(room);
            }
            scored.extend(tied);
        }
        for h in &mut scored {
            h.id = id_of(h.slot);
        }
        scored.sort_unstable_by(by_votes_then_id);
        scored
    }
}

/// Best first: more votes, then the lower id.
pub(crate) fn by_votes_then_id(a: &Hit, b: &Hit) -> std::cmp::Ordering {
    b.votes.cmp(&a.votes).then(a.id.cmp(&b.id))
}

/// One voted template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub(crate) slot: u32,
    /// The template's id (what ties are broken by).
    pub(crate) id: u64,
    pub(crate) votes: u32,
    /// The probe's rotation against the template that the votes piled up at, in 256ths of a turn (probe
    /// direction minus template direction).
    pub(crate) rotation: u8,
}

/// The middle of the adjacent rotation bins `bin` and `bin + 1` in 256ths of a turn. Orientations are rounded
/// to 32 bins, so bin r holds orientation differences 2r and 2r + 1 (each +-0.5) and the pair holds 2 bin .. 2
/// bin + 3: centre 2 bin + 1.5 orientation bins of 8 256ths.
fn rotation_of(bin: usize) -> u8 {
    ((bin * 16 + 12) % 256) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_rotation_and_translation_invariant() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let pts: Vec<(f32, f32, f32)> = (0..40)
            .map(|_| (rng.random_range(50.0..350.0), rng.random_range(50.0..450.0), rng.random_range(0.0..TAU)))
            .collect();
        let (c, s) = (0.3f32.cos(), 0.3f32.sin());
        // Rotate by 0.3 rad in the ISO sense (counter-clockwise as seen, y down) and shift.
        let moved: Vec<(f32, f32, f32)> =
            pts.iter().map(|&(x, y, a)| (x * c + y * s + 40.0, -x * s + y * c + 90.0, (a + 0.3) % TAU)).collect();
        let stored = enrol_keys(&pts);
        let probed: std::collections::HashSet<u32> = probe_keys(&moved).iter().map(|k| k.0).collect();
        assert!(stored.len() > 50);
        let found = stored.iter().filter(|k| probed.contains(&k.0)).count();
        assert!(found * 10 >= stored.len() * 9, "{found} of {}", stored.len());
    }

    #[test]
    fn votes_name_the_rotation() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let pts: Vec<(f32, f32, f32)> = (0..40)
            .map(|_| (rng.random_range(50.0..350.0), rng.random_range(50.0..450.0), rng.random_range(0.0..TAU)))
            .collect();
        let mut index = Index::new();
        index.insert(0, &enrol_keys(&pts));
        for turns in [-40i32, -12, 0, 25, 50] {
            let r = turns as f32 * TAU / 256.0;
            let (c, s) = (r.cos(), r.sin());
            let moved: Vec<(f32, f32, f32)> = pts
                .iter()
                .map(|&(x, y, a)| (x * c + y * s + 40.0, -x * s + y * c + 90.0, (a + r).rem_euclid(TAU)))
                .collect();
            let keys = probe_keys(&moved);
            let weights = vote_weights(std::slice::from_ref(&index), &keys);
            let hits = Votes::default().top(&index, 1, &keys, &weights, 1, u64::from);
            let off = i32::from(hits[0].rotation.wrapping_sub(turns.rem_euclid(256) as u8) as i8);
            // Two adjacent 22.5 degree bins: the middle is within 16 256ths of the truth.
            assert!(off.abs() <= 16, "rotated {turns}: voted {}", hits[0].rotation);
        }
    }

    #[test]
    fn rotation_window() {
        assert!(rotation_allowed(0) && rotation_allowed(15) && rotation_allowed(3));
        assert!(!rotation_allowed(8) && !rotation_allowed(6));
    }
}
