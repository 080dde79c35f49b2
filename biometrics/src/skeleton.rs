//! Binary ridge images, thinning to a one-pixel skeleton and crossing-number minutiae.
//!
//! The pipeline an extractor runs on a binarised print (ridge pixels set):
//!
//! 1. [`remove_small_components`] on the ridges and on the valleys (specks and pores),
//! 2. [`thin`] to a one-pixel wide, 8-connected skeleton with no redundant pixels,
//! 3. [`remove_spurs`] (short side branches and short fragments),
//! 4. [`detect_minutiae`]: crossing number 1 is a ridge ending, 3 a bifurcation; the direction is traced along
//!    the skeleton and follows the ISO convention of [`Minutia::angle`],
//! 5. [`remove_close_forks`] and [`remove_near_border`].
//!
//! Neighbours are numbered clockwise from north, as in Zhang–Suen and Guo–Hall:
//! bit 0 = N, 1 = NE, 2 = E, 3 = SE, 4 = S, 5 = SW, 6 = W, 7 = NW (image coordinates, y down).
//! Pixels outside the image count as unset.

use crate::image::GrayImage;
use crate::minutia::{Minutia, MinutiaKind};

/// Neighbour offsets in bit order: N, NE, E, SE, S, SW, W, NW.
const RING: [(isize, isize); 8] = [(0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1)];

/// A binary image, row-major; `true` is a set (ridge or foreground) pixel.
#[derive(Clone, PartialEq, Eq)]
pub struct BinaryImage {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<bool>,
}

impl std::fmt::Debug for BinaryImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Like GrayImage: no biometric pixels in logs.
        write!(f, "BinaryImage({}x{}, {} set)", self.width, self.height, self.count())
    }
}

impl BinaryImage {
    /// A `width` x `height` image with every pixel unset.
    pub fn new(width: usize, height: usize) -> Self {
        Self { width, height, pixels: vec![false; width * height] }
    }

    /// An image whose pixel (x, y) is `f(x, y)`.
    pub fn from_fn(width: usize, height: usize, mut f: impl FnMut(usize, usize) -> bool) -> Self {
        let mut pixels = Vec::with_capacity(width * height);
        for y in 0..height {
            for x in 0..width {
                pixels.push(f(x, y));
            }
        }
        Self { width, height, pixels }
    }

    /// Ridges of a grayscale print: pixels darker than `threshold` are set.
    pub fn from_gray(img: &GrayImage, threshold: u8) -> Self {
        Self { width: img.width, height: img.height, pixels: img.pixels.iter().map(|&p| p < threshold).collect() }
    }

    /// Set pixels black (0), unset white (255): ridges dark, as a scanner shows them.
    pub fn to_gray(&self) -> GrayImage {
        GrayImage {
            width: self.width,
            height: self.height,
            pixels: self.pixels.iter().map(|&p| if p { 0 } else { 255 }).collect(),
        }
    }

    pub fn get(&self, x: usize, y: usize) -> bool {
        self.pixels[y * self.width + x]
    }

    pub fn set(&mut self, x: usize, y: usize, v: bool) {
        self.pixels[y * self.width + x] = v;
    }

    /// Like [`get`](Self::get), but pixels outside the image are unset.
    pub fn at(&self, x: isize, y: isize) -> bool {
        x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height && self.get(x as usize, y as usize)
    }

    /// The set pixels as (x, y), in raster order. Row by row over slices: most pixels of a skeleton are unset,
    /// and skipping them should cost no bounds checks.
    pub fn set_pixels(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.pixels
            .chunks_exact(self.width.max(1))
            .enumerate()
            .flat_map(|(y, row)| row.iter().enumerate().filter(|&(_, &p)| p).map(move |(x, _)| (x, y)))
    }

    /// Number of set pixels.
    pub fn count(&self) -> usize {
        self.pixels.iter().filter(|&&p| p).count()
    }

    /// The complement (ridges become valleys).
    #[must_use]
    pub fn inverted(&self) -> Self {
        Self { width: self.width, height: self.height, pixels: self.pixels.iter().map(|&p| !p).collect() }
    }

    /// The 8-neighbourhood code of (x, y): bit i set when neighbour i (see the module doc) is set.
    pub fn neighbours(&self, x: usize, y: usize) -> u8 {
        let w = self.width;
        if x > 0 && y > 0 && x + 1 < w && y + 1 < self.height {
            // Interior: eight direct loads (the hot path of spur removal and minutia detection).
            let (p, i) = (&self.pixels, y * w + x);
            return u8::from(p[i - w])
                | u8::from(p[i - w + 1]) << 1
                | u8::from(p[i + 1]) << 2
                | u8::from(p[i + w + 1]) << 3
                | u8::from(p[i + w]) << 4
                | u8::from(p[i + w - 1]) << 5
                | u8::from(p[i - 1]) << 6
                | u8::from(p[i - w - 1]) << 7;
        }
        let (x, y) = (x.cast_signed(), y.cast_signed());
        let mut code = 0u8;
        for (i, (dx, dy)) in RING.iter().enumerate() {
            if self.at(x + dx, y + dy) {
                code |= 1 << i;
            }
        }
        code
    }
}

/// Crossing number of a neighbourhood code: half the number of set/unset changes around the ring.
/// 0 isolated, 1 ridge ending, 2 ridge continuation, 3 bifurcation, 4 crossing.
pub fn crossing_number_of(code: u8) -> u8 {
    let changes = code ^ code.rotate_right(1);
    (changes.count_ones() / 2) as u8
}

/// Crossing number of pixel (x, y) of a skeleton (see [`crossing_number_of`]).
pub fn crossing_number(skel: &BinaryImage, x: usize, y: usize) -> u8 {
    crossing_number_of(skel.neighbours(x, y))
}

fn bit(code: u8, i: usize) -> bool {
    code & (1 << i) != 0
}

/// Yokoi's 8-connectivity number: 1 when deleting the centre pixel changes no connectivity (a simple point).
fn connectivity8(code: u8) -> u8 {
    let u = |i: usize| u8::from(!bit(code, i % 8));
    [0, 2, 4, 6].iter().map(|&k| u(k) - u(k) * u(k + 1) * u(k + 2)).sum()
}

/// Guo–Hall deletion tables for the two sub-iterations, indexed by neighbourhood code.
fn guo_hall_tables() -> [[bool; 256]; 2] {
    let mut tables = [[false; 256]; 2];
    for code in 0..=255u8 {
        let px = |i: usize| u8::from(bit(code, i));
        let (p2, p3, p4, p5, p6, p7, p8, p9) = (px(0), px(1), px(2), px(3), px(4), px(5), px(6), px(7));
        let components =
            ((1 - p2) & (p3 | p4)) + ((1 - p4) & (p5 | p6)) + ((1 - p6) & (p7 | p8)) + ((1 - p8) & (p9 | p2));
        let n1 = (p9 | p2) + (p3 | p4) + (p5 | p6) + (p7 | p8);
        let n2 = (p2 | p3) + (p4 | p5) + (p6 | p7) + (p8 | p9);
        let neighbours = n1.min(n2);
        let corner = [(p6 | p7 | (1 - p9)) & p8, (p2 | p3 | (1 - p5)) & p4];
        for (sub, &m) in corner.iter().enumerate() {
            tables[sub][code as usize] = components == 1 && (2..=3).contains(&neighbours) && m == 0;
        }
    }
    tables
}

/// A zero-padded byte copy of the image: neighbour codes without bounds checks.
struct Padded {
    w: usize,
    data: Vec<u8>,
}

impl Padded {
    /// Only the tests build one straight from an image (thinning goes through [`BitPlane::padded`]).
    #[cfg(test)]
    fn new(img: &BinaryImage) -> Self {
        let w = img.width + 2;
        let mut data = vec![0u8; w * (img.height + 2)];
        for (y, src) in img.pixels.chunks_exact(img.width.max(1)).enumerate().take(img.height) {
            let row = (y + 1) * w + 1;
            for (d, &v) in data[row..row + img.width].iter_mut().zip(src) {
                *d = u8::from(v);
            }
        }
        Self { w, data }
    }

    /// Neighbour code of padded index `i`. Three 3-byte row slices: three bounds checks instead of eight on the
    /// hottest line of thinning.
    fn code(&self, i: usize) -> u8 {
        let w = self.w;
        let up = &self.data[i - w - 1..i - w + 2];
        let mid = &self.data[i - 1..i + 2];
        let down = &self.data[i + w - 1..i + w + 2];
        up[1] | up[2] << 1 | mid[2] << 2 | down[2] << 3 | down[1] << 4 | down[0] << 5 | mid[0] << 6 | up[0] << 7
    }
}

/// Thins set regions to a one-pixel wide, 8-connected skeleton: Guo–Hall parallel thinning, then removal of the
/// redundant corner pixels of staircases, so that a ridge pixel has crossing number 2 and the crossing number
/// marks ends (1) and forks (3) reliably. 8-connected components are preserved (tested) and ridge ends are kept.
pub fn thin(img: &BinaryImage) -> BinaryImage {
    let tables = guo_hall_tables();
    let (w, h) = (img.width, img.height);
    // The first Guo–Hall run peels whole ridges, a few pixels deep, over the whole print: it runs on bit planes,
    // 64 pixels a word (the same parallel rule as the tables, so the same result; tested). What is left is a
    // skeleton, a small fraction of the pixels, which the pixel list below handles.
    let mut bits = BitPlane::new(img);
    bits.guo_hall();
    // Only pixels still set and on a border can change; keep a list of set pixels (in raster order) and shrink
    // it as we go.
    let (mut p, mut live) = bits.padded();
    // Pruning can expose pixels Guo-Hall would still remove: repeat both until neither changes anything, so
    // that thinning a skeleton gives the same skeleton.
    loop {
        let pruned = prune_redundant(&mut p, &live);
        live.retain(|&i| p.data[i] != 0);
        let thinned = guo_hall(&mut p, &mut live, &tables);
        if !pruned && !thinned {
            break;
        }
    }
    let mut out = BinaryImage::new(w, h);
    for y in 0..h {
        for x in 0..w {
            out.pixels[y * w + x] = p.data[(y + 1) * p.w + x + 1] != 0;
        }
    }
    out
}

/// A binary image as rows of 64-pixel words (bit `x % 64` of word `x / 64`); bits past the width stay unset.
struct BitPlane {
    width: usize,
    height: usize,
    words: usize,
    data: Vec<u64>,
}

/// At least two of four bit sets, bitwise.
fn at_least_two(a: u64, b: u64, c: u64, d: u64) -> u64 {
    (a & b) | (c & d) | ((a | b) & (c | d))
}

impl BitPlane {
    fn new(img: &BinaryImage) -> Self {
        let words = img.width.div_ceil(64).max(1);
        let mut data = vec![0u64; words * img.height];
        for (y, src) in img.pixels.chunks_exact(img.width.max(1)).enumerate().take(img.height) {
            for (word, bits) in data[y * words..][..words].iter_mut().zip(src.chunks(64)) {
                // Eight pixels at a time: their 0/1 bytes as one integer, gathered into one byte by a multiply
                // (each byte's bit lands in its own bit of the top byte, with no carries between them).
                *word = bits.chunks(8).enumerate().fold(0, |acc, (i, eight)| {
                    let bytes = eight.iter().enumerate().fold(0u64, |b, (j, &v)| b | u64::from(v) << (8 * j));
                    acc | (bytes.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * i)
                });
            }
        }
        Self { width: img.width, height: img.height, words, data }
    }

    /// The zero-padded byte image of the same pixels, and the padded indices of its set pixels in raster order
    /// (visited by set bit: after the first thinning run most pixels are unset).
    fn padded(&self) -> (Padded, Vec<usize>) {
        let pw = self.width + 2;
        let mut data = vec![0u8; pw * (self.height + 2)];
        let mut live = Vec::new();
        for (y, row) in self.data.chunks_exact(self.words).enumerate() {
            for (k, &word) in row.iter().enumerate() {
                let mut rest = word;
                while rest != 0 {
                    let i = (y + 1) * pw + 1 + k * 64 + rest.trailing_zeros() as usize;
                    data[i] = 1;
                    live.push(i);
                    rest &= rest - 1;
                }
            }
        }
        (Padded { w: pw, data }, live)
    }

    /// Guo–Hall sub-iterations until nothing changes: the rule of [`guo_hall_tables`] written as bitwise logic
    /// on the eight neighbour planes, every pixel decided on the state before the sub-iteration.
    fn guo_hall(&mut self) {
        let (nw, h) = (self.words, self.height);
        let mut doomed = vec![0u64; self.data.len()];
        let zero = vec![0u64; nw];
        loop {
            let mut changed = false;
            for sub in 0..2 {
                for y in 0..h {
                    let row = &self.data[y * nw..][..nw];
                    let up = if y > 0 { &self.data[(y - 1) * nw..][..nw] } else { &zero[..] };
                    let down = if y + 1 < h { &self.data[(y + 1) * nw..][..nw] } else { &zero[..] };
                    for k in 0..nw {
                        let c = row[k];
                        if c == 0 {
                            doomed[y * nw + k] = 0;
                            continue;
                        }
                        // Neighbour x - 1 (west) and x + 1 (east) of each bit, carrying across words.
                        let west = |r: &[u64]| (r[k] << 1) | if k > 0 { r[k - 1] >> 63 } else { 0 };
                        let east = |r: &[u64]| (r[k] >> 1) | if k + 1 < nw { r[k + 1] << 63 } else { 0 };
                        let (p2, p3, p4, p5) = (up[k], east(up), east(row), east(down));
                        let (p6, p7, p8, p9) = (down[k], west(down), west(row), west(up));
                        let (t1, t2, t3, t4) = (!p2 & (p3 | p4), !p4 & (p5 | p6), !p6 & (p7 | p8), !p8 & (p9 | p2));
                        let one_component = (t1 | t2 | t3 | t4) & !at_least_two(t1, t2, t3, t4);
                        let (a1, b1, c1, d1) = (p9 | p2, p3 | p4, p5 | p6, p7 | p8);
                        let (a2, b2, c2, d2) = (p2 | p3, p4 | p5, p6 | p7, p8 | p9);
                        // min(N1, N2) in 2..=3: both at least two, and not both four.
                        let neighbours = at_least_two(a1, b1, c1, d1)
                            & at_least_two(a2, b2, c2, d2)
                            & !(a1 & b1 & c1 & d1 & a2 & b2 & c2 & d2);
                        let corner = if sub == 0 { (p6 | p7 | !p9) & p8 } else { (p2 | p3 | !p5) & p4 };
                        doomed[y * nw + k] = c & one_component & neighbours & !corner;
                    }
                }
                let mut any = 0u64;
                for (d, &x) in self.data.iter_mut().zip(&doomed) {
                    *d &= !x;
                    any |= x;
                }
                changed |= any != 0;
            }
            if !changed {
                return;
            }
        }
    }
}

/// Guo–Hall passes until nothing changes; `live` (the set pixels) shrinks as pixels go. Returns whether any
/// pixel was removed.
fn guo_hall(p: &mut Padded, live: &mut Vec<usize>, tables: &[[bool; 256]; 2]) -> bool {
    let mut doomed = Vec::new();
    let mut any = false;
    loop {
        let mut changed = false;
        for table in tables {
            doomed.clear();
            for &i in live.iter() {
                if p.data[i] != 0 && table[p.code(i) as usize] {
                    doomed.push(i);
                }
            }
            for &i in &doomed {
                p.data[i] = 0;
            }
            changed |= !doomed.is_empty();
        }
        live.retain(|&i| p.data[i] != 0);
        if !changed {
            return any;
        }
        any = true;
    }
}

/// A staircase corner: two orthogonal 4-neighbours set (N&E, E&S, S&W or W&N) and the pixel simple, so it can go
/// without changing the topology.
fn redundant_corner(code: u8) -> bool {
    let corner = (code & 0b0000_0101 == 0b0000_0101)
        || (code & 0b0001_0100 == 0b0001_0100)
        || (code & 0b0101_0000 == 0b0101_0000)
        || (code & 0b0100_0001 == 0b0100_0001);
    corner && code.count_ones() >= 2 && connectivity8(code) == 1
}

/// Sequentially removes simple pixels that are the corner of a staircase (two orthogonal 4-neighbours set).
fn prune_redundant(p: &mut Padded, live: &[usize]) -> bool {
    let mut any = false;
    for &i in live {
        if p.data[i] == 0 {
            continue;
        }
        if redundant_corner(p.code(i)) {
            p.data[i] = 0;
            any = true;
        }
    }
    // Guo–Hall can leave a 2 x 2 square where strokes meet (each pixel of it protects the others); remove a
    // simple pixel of each such square, which keeps the topology and leaves a one-pixel skeleton.
    loop {
        let mut changed = false;
        for &i in live {
            let square = [i, i + 1, i + p.w, i + p.w + 1];
            if square.iter().any(|&j| p.data[j] == 0) {
                continue;
            }
            if let Some(&j) = square.iter().find(|&&j| connectivity8(p.code(j)) == 1) {
                p.data[j] = 0;
                changed = true;
            }
        }
        if !changed {
            break;
        }
        any = true;
    }
    any
}

/// 8-connected components of set pixels (`foreground == true`) or of unset pixels: returns the label of each
/// pixel (`u32::MAX` for pixels of the other kind) and the size of each component.
fn components(img: &BinaryImage, foreground: bool) -> (Vec<u32>, Vec<usize>) {
    let (width, height) = (img.width, img.height);
    let mut label = vec![u32::MAX; width * height];
    let mut sizes = Vec::new();
    let mut stack = Vec::new();
    for start in 0..width * height {
        if img.pixels[start] != foreground || label[start] != u32::MAX {
            continue;
        }
        let id = sizes.len() as u32;
        let mut size = 0;
        label[start] = id;
        stack.push(start);
        while let Some(at) = stack.pop() {
            size += 1;
            let (x, y) = (at % width, at / width);
            for (dx, dy) in RING {
                let (Some(nx), Some(ny)) = (x.checked_add_signed(dx), y.checked_add_signed(dy)) else { continue };
                if nx >= width || ny >= height {
                    continue;
                }
                let next = ny * width + nx;
                if img.pixels[next] == foreground && label[next] == u32::MAX {
                    label[next] = id;
                    stack.push(next);
                }
            }
        }
        sizes.push(size);
    }
    (label, sizes)
}

/// Number of 8-connected components of set pixels.
pub fn count_components(img: &BinaryImage) -> usize {
    components(img, true).1.len()
}

/// Flips every 8-connected component of pixels equal to `value` with fewer than `min_pixels` pixels
/// (`value == true`: removes specks of ridge; `false`: fills holes such as pores). Returns how many
/// components were flipped.
pub fn remove_small_components(img: &mut BinaryImage, value: bool, min_pixels: usize) -> usize {
    let (label, sizes) = components(img, value);
    for (px, &l) in img.pixels.iter_mut().zip(&label) {
        if l != u32::MAX && sizes[l as usize] < min_pixels {
            *px = !value;
        }
    }
    sizes.iter().filter(|&&s| s < min_pixels).count()
}

/// Why a walk along the skeleton stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Reached the requested distance or step count.
    Length,
    /// The last pixel has no way on: a ridge ending.
    End,
    /// The last pixel has two or more ways on: a junction.
    Junction,
}

/// A walk along the skeleton from a minutia.
struct Trace {
    /// Pixels visited, starting with the first step (the minutia itself excluded).
    path: Vec<(isize, isize)>,
    stop: Stop,
}

/// Walks from `start` through `first` along the skeleton until `max_dist` px (Euclidean) from `start`, a pixel
/// with no or several ways on, or `max_steps` steps. `blocked` pixels (and `start`) are never entered.
fn trace(
    skel: &BinaryImage,
    start: (isize, isize),
    first: (isize, isize),
    max_dist: f32,
    max_steps: usize,
    blocked: &[(isize, isize)],
) -> Trace {
    // Sized for the usual walk up front (a few side pixels a step): growing them push by push took a fifth of
    // this function's time (perf, FVC2000 DB1_B).
    let steps = max_steps.min(64);
    let mut visited: Vec<(isize, isize)> = Vec::with_capacity(blocked.len() + 2 + 3 * steps);
    visited.extend_from_slice(blocked);
    visited.push(start);
    visited.push(first);
    let mut path = Vec::with_capacity(steps + 1);
    path.push(first);
    let mut cur = first;
    let dist2 = |p: (isize, isize)| ((p.0 - start.0).pow(2) + (p.1 - start.1).pow(2)) as f32;
    loop {
        if dist2(cur) >= max_dist * max_dist || path.len() >= max_steps {
            return Trace { path, stop: Stop::Length };
        }
        // The ways on: unvisited set neighbours, grouped into runs around the ring.
        let mut code = 0u8;
        for (i, (dx, dy)) in RING.iter().enumerate() {
            let n = (cur.0 + dx, cur.1 + dy);
            if skel.at(n.0, n.1) && !visited.contains(&n) {
                code |= 1 << i;
            }
        }
        match crossing_number_of(code) {
            0 => return Trace { path, stop: Stop::End },
            1 => {}
            _ => return Trace { path, stop: Stop::Junction },
        }
        // Continue to the candidate farthest from the start; the others are side pixels of a staircase and are
        // marked visited so that the walk never doubles back.
        let mut best = cur;
        for (i, (dx, dy)) in RING.iter().enumerate() {
            if bit(code, i) {
                let n = (cur.0 + dx, cur.1 + dy);
                visited.push(n);
                if best == cur || dist2(n) > dist2(best) {
                    best = n;
                }
            }
        }
        path.push(best);
        cur = best;
    }
}

/// The runs of consecutive set neighbours around the ring of `code` (each run is a branch leaving the pixel).
fn branches(code: u8) -> Vec<Vec<usize>> {
    if code == 0xff || code == 0 {
        return Vec::new();
    }
    // Start just after an unset neighbour so that no run wraps.
    let s = (0..8).find(|&i| !bit(code, i)).unwrap_or(0);
    let mut runs: Vec<Vec<usize>> = Vec::new();
    let mut in_run = false;
    for k in 1..=8 {
        let i = (s + k) % 8;
        if bit(code, i) {
            if !in_run {
                runs.push(Vec::new());
                in_run = true;
            }
            runs.last_mut().expect("run started").push(i);
        } else {
            in_run = false;
        }
    }
    runs
}

/// Unit direction of a walk leaving `start`: from the mean of the path's first half to the mean of its second
/// half, which ignores where exactly the end pixel of a thinned ridge sits (thinning often bends the last pixel
/// or two of a ridge end sideways). Short walks use start to last pixel.
fn path_direction(start: (isize, isize), path: &[(isize, isize)]) -> Option<(f32, f32)> {
    let mean = |s: &[(isize, isize)]| {
        let n = s.len() as f32;
        (s.iter().map(|p| p.0 as f32).sum::<f32>() / n, s.iter().map(|p| p.1 as f32).sum::<f32>() / n)
    };
    let (a, b) = if path.len() >= 4 {
        let (h1, h2) = path.split_at(path.len() / 2);
        (mean(h1), mean(h2))
    } else {
        let last = *path.last()?;
        ((start.0 as f32, start.1 as f32), (last.0 as f32, last.1 as f32))
    };
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let n = dx.hypot(dy);
    (n > 0.0).then(|| (dx / n, dy / n))
}

/// Traces the branches leaving skeleton pixel (x, y) up to `trace_len` px each: one unit direction per branch
/// (image coordinates, y down), in ring order. A branch made of two ring neighbours is traced from both and the
/// longer walk kept.
pub fn branch_directions(skel: &BinaryImage, x: usize, y: usize, trace_len: f32) -> Vec<(f32, f32)> {
    let code = skel.neighbours(x, y);
    let centre = (x.cast_signed(), y.cast_signed());
    let step = |i: usize| (centre.0 + RING[i].0, centre.1 + RING[i].1);
    let ring: Vec<(isize, isize)> = (0..8).filter(|&i| bit(code, i)).map(step).collect();
    let reach = |walk: &Trace| {
        let end = *walk.path.last().expect("non-empty path");
        (end.0 - centre.0).pow(2) + (end.1 - centre.1).pow(2)
    };
    let mut dirs = Vec::new();
    for run in branches(code) {
        let mut best: Option<Trace> = None;
        for &i in &run {
            let first = step(i);
            let blocked: Vec<_> = ring.iter().copied().filter(|&q| q != first).collect();
            let walk = trace(skel, centre, first, trace_len, (2.0 * trace_len) as usize + 2, &blocked);
            if best.as_ref().is_none_or(|other| reach(&walk) > reach(other)) {
                best = Some(walk);
            }
        }
        if let Some(dir) = best.and_then(|walk| path_direction(centre, &walk.path)) {
            dirs.push(dir);
        }
    }
    dirs
}

/// Crossing-number minutiae of a thin skeleton (from [`thin`]): CN 1 = ridge ending, CN 3 = bifurcation.
/// Directions are traced `trace_len` px (10-12 at 500 dpi) along the skeleton and follow the ISO convention of
/// [`Minutia::angle`]: an ending points back along its ridge, a bifurcation points between its two branches,
/// away from the stem. The stem is the branch that makes the widest angles with the other two. Bifurcation
/// pixels closer than 3 px to one another (a junction smeared over two pixels) are merged. Quality is 0
/// (unknown); isolated pixels (CN 0) and crossings (CN 4) are skipped.
pub fn detect_minutiae(skel: &BinaryImage, trace_len: f32) -> Vec<Minutia> {
    let mut out: Vec<Minutia> = Vec::new();
    for (x, y) in skel.set_pixels() {
        let cn = crossing_number(skel, x, y);
        if cn != 1 && cn != 3 {
            continue;
        }
        let dirs = branch_directions(skel, x, y, trace_len);
        let (fx, fy) = (x as f32, y as f32);
        if cn == 1 {
            if let [d] = dirs[..] {
                out.push(Minutia::new(fx, fy, Minutia::angle_of(d.0, d.1), MinutiaKind::Ending, 0));
            }
            continue;
        }
        if dirs.len() != 3 {
            continue;
        }
        if out.iter().any(|m| m.kind == MinutiaKind::Bifurcation && (m.x - fx).hypot(m.y - fy) < 3.0) {
            continue;
        }
        out.push(Minutia::new(fx, fy, bifurcation_angle(&dirs), MinutiaKind::Bifurcation, 0));
    }
    out
}

/// ISO angle of a bifurcation from its three branch directions: the two branches closest in direction are the
/// forks, the third is the stem; the result points between the forks and away from the stem.
fn bifurcation_angle(dirs: &[(f32, f32)]) -> f32 {
    let dot = |a: (f32, f32), b: (f32, f32)| a.0 * b.0 + a.1 * b.1;
    let stem = (0..3).max_by(|&i, &j| {
        let pair = |k: usize| dot(dirs[(k + 1) % 3], dirs[(k + 2) % 3]);
        pair(i).total_cmp(&pair(j))
    });
    let s = stem.unwrap_or(0);
    let (a, b, st) = (dirs[(s + 1) % 3], dirs[(s + 2) % 3], dirs[s]);
    let v = (a.0 + b.0 - st.0, a.1 + b.1 - st.1);
    Minutia::angle_of(v.0, v.1)
}

/// Removes spurs: skeleton branches that run from a ridge ending to a junction in fewer than `max_len` pixels,
/// and whole fragments shorter than `max_len` (ending to ending). Repeats until nothing changes (at most four
/// rounds), pruning the redundant pixels the cuts leave. Returns the number of ends cut (a fragment counts twice).
pub fn remove_spurs(skel: &mut BinaryImage, max_len: usize) -> usize {
    let mut removed = 0;
    // Only skeleton pixels matter; scanning their list instead of the image each round is most of the speed.
    let mut live: Vec<(usize, usize)> = skel.set_pixels().collect();
    for _ in 0..4 {
        let mut cut: Vec<(isize, isize)> = Vec::new();
        let mut pieces = 0;
        for &(x, y) in &live {
            if !skel.get(x, y) {
                continue;
            }
            let code = skel.neighbours(x, y);
            let cn = crossing_number_of(code);
            let p = (x.cast_signed(), y.cast_signed());
            if cn == 0 && max_len > 1 {
                cut.push(p);
                pieces += 1;
                continue;
            }
            if cn != 1 {
                continue;
            }
            let Some(i) = (0..8).find(|&i| bit(code, i)) else { continue };
            let first = (p.0 + RING[i].0, p.1 + RING[i].1);
            // Walk by steps, not distance: spurs are measured in pixels along the skeleton.
            let t = trace(skel, p, first, f32::INFINITY, max_len, &[]);
            if t.stop != Stop::Length {
                cut.push(p);
                if t.stop == Stop::Junction {
                    // A spur: keep the junction pixel itself.
                    cut.extend_from_slice(&t.path[..t.path.len() - 1]);
                } else {
                    cut.extend_from_slice(&t.path);
                }
                pieces += 1;
            }
        }
        if cut.is_empty() {
            break;
        }
        for &(x, y) in &cut {
            skel.set(x as usize, y as usize, false);
        }
        removed += pieces;
        prune_around(skel, &cut);
        live.retain(|&(x, y)| skel.get(x, y));
    }
    removed
}

/// Removes staircase corner pixels (see `prune_redundant`) next to the given pixels: after a cut only the
/// junctions it touched can have become redundant.
fn prune_around(skel: &mut BinaryImage, cut: &[(isize, isize)]) {
    for &(cx, cy) in cut {
        for (dx, dy) in RING {
            let (x, y) = (cx + dx, cy + dy);
            if !skel.at(x, y) {
                continue;
            }
            let (x, y) = (x as usize, y as usize);
            if redundant_corner(skel.neighbours(x, y)) {
                skel.set(x, y, false);
            }
        }
    }
}

/// Removes every pair of minutiae closer than `min_dist` px of which at least one is a bifurcation (both of a
/// pair go: a bridge's two forks, a spur's fork and end, a little loop's two forks). Two close endings are both
/// kept: they are as often the ends of neighbouring ridges as the two sides of a gap, and on FVC2000 DB1-3_B
/// dropping them (the rule for every close pair that this replaced) cost more genuine matches than it saved.
pub fn remove_close_forks(minutiae: &mut Vec<Minutia>, min_dist: f32) {
    let n = minutiae.len();
    let mut drop = vec![false; n];
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (&minutiae[i], &minutiae[j]);
            let fork = a.kind == MinutiaKind::Bifurcation || b.kind == MinutiaKind::Bifurcation;
            if fork && (a.x - b.x).hypot(a.y - b.y) < min_dist {
                drop[i] = true;
                drop[j] = true;
            }
        }
    }
    let mut k = 0;
    minutiae.retain(|_| {
        k += 1;
        !drop[k - 1]
    });
}

/// Distance (px) from each pixel to the nearest unset pixel or the image border (chamfer 1/√2, within 8% of
/// Euclidean). Unset pixels are 0; a set pixel on the image edge is 1.
pub fn distance_to_background(mask: &BinaryImage) -> Vec<f32> {
    let (width, height) = (mask.width, mask.height);
    // Padded with a ring of background, so that the image border counts as background.
    let pw = width + 2;
    let far = (width + height) as f32 * 2.0;
    let mut dist = vec![0f32; pw * (height + 2)];
    for y in 0..height {
        for x in 0..width {
            if mask.get(x, y) {
                dist[(y + 1) * pw + x + 1] = far;
            }
        }
    }
    let diag = std::f32::consts::SQRT_2;
    for y in 1..=height {
        for i in y * pw + 1..=y * pw + width {
            if dist[i] > 0.0 {
                let v = (dist[i - 1] + 1.0)
                    .min(dist[i - pw] + 1.0)
                    .min(dist[i - pw - 1] + diag)
                    .min(dist[i - pw + 1] + diag);
                dist[i] = dist[i].min(v);
            }
        }
    }
    for y in (1..=height).rev() {
        for i in (y * pw + 1..=y * pw + width).rev() {
            if dist[i] > 0.0 {
                let v = (dist[i + 1] + 1.0)
                    .min(dist[i + pw] + 1.0)
                    .min(dist[i + pw + 1] + diag)
                    .min(dist[i + pw - 1] + diag);
                dist[i] = dist[i].min(v);
            }
        }
    }
    (0..height).flat_map(|y| dist[(y + 1) * pw + 1..(y + 1) * pw + 1 + width].to_vec()).collect()
}

/// Removes minutiae closer than `margin` px to an unset pixel of `mask` (the segmentation mask of the print) or
/// to the image border.
pub fn remove_near_border(minutiae: &mut Vec<Minutia>, mask: &BinaryImage, margin: f32) {
    let d = distance_to_background(mask);
    minutiae.retain(|m| {
        let (x, y) = (m.x.round(), m.y.round());
        x >= 0.0
            && y >= 0.0
            && (x as usize) < mask.width
            && (y as usize) < mask.height
            && d[y as usize * mask.width + x as usize] >= margin
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minutia::angle_diff;
    use proptest::prelude::*;

    /// Draws a thick segment (all pixels within `r` of the segment from a to b).
    fn segment(img: &mut BinaryImage, a: (f32, f32), b: (f32, f32), r: f32) {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        for y in 0..img.height {
            for x in 0..img.width {
                let (px, py) = (x as f32 - a.0, y as f32 - a.1);
                let t = ((px * dx + py * dy) / len2).clamp(0.0, 1.0);
                if (px - t * dx).hypot(py - t * dy) <= r {
                    img.set(x, y, true);
                }
            }
        }
    }

    fn full_mask(img: &BinaryImage) -> BinaryImage {
        BinaryImage::from_fn(img.width, img.height, |_, _| true)
    }

    /// No 2 x 2 square of set pixels has a pixel that could go without changing the topology. (Where strokes
    /// cross, a square can be necessary: each of its pixels is then the only link of some stroke.)
    fn no_2x2_blocks(s: &BinaryImage) -> bool {
        (0..s.height - 1).all(|y| {
            (0..s.width - 1).all(|x| {
                let square = [(x, y), (x + 1, y), (x, y + 1), (x + 1, y + 1)];
                !square.iter().all(|&(a, b)| s.get(a, b))
                    || square.iter().all(|&(a, b)| connectivity8(s.neighbours(a, b)) != 1)
            })
        })
    }

    fn minutiae_inside(img: &BinaryImage) -> Vec<Minutia> {
        let skel = thin(img);
        let mut m = detect_minutiae(&skel, 10.0);
        remove_near_border(&mut m, &full_mask(img), 4.0);
        m
    }

    #[test]
    fn crossing_numbers() {
        assert_eq!(crossing_number_of(0), 0);
        assert_eq!(crossing_number_of(0b0000_0001), 1); // N only: an end
        assert_eq!(crossing_number_of(0b0000_0011), 1); // N and NE: still an end
        assert_eq!(crossing_number_of(0b0001_0001), 2); // N and S: a line
        assert_eq!(crossing_number_of(0b0101_0001), 3); // N, S, W: a fork
        assert_eq!(crossing_number_of(0b0101_0101), 4);
    }

    #[test]
    fn horizontal_ridge_ending_points_back_along_the_ridge() {
        // A 5 px thick ridge from x = 12 to the right edge: one ending at its left end, pointing right (0 deg).
        let mut img = BinaryImage::new(60, 40);
        segment(&mut img, (12.0, 20.0), (70.0, 20.0), 2.5);
        let skel = thin(&img);
        assert!(no_2x2_blocks(&skel));
        let m = minutiae_inside(&img);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].kind, MinutiaKind::Ending);
        assert!((m[0].x - 13.0).abs() <= 3.0 && (m[0].y - 20.0).abs() <= 1.0, "{m:?}");
        assert!(angle_diff(m[0].angle, 0.0) < 5f32.to_radians(), "{m:?}");
    }

    #[test]
    fn ending_angle_is_counter_clockwise_with_y_down() {
        // A ridge running up from its end at the bottom: it points up, 90 deg. Diagonal up-left: 135 deg.
        let mut img = BinaryImage::new(50, 60);
        segment(&mut img, (25.0, 45.0), (25.0, -10.0), 2.0);
        let m = minutiae_inside(&img);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!((m[0].y - 45.0).abs() <= 3.0, "{m:?}");
        assert!(angle_diff(m[0].angle, 90f32.to_radians()) < 5f32.to_radians(), "{m:?}");

        let mut img = BinaryImage::new(60, 60);
        segment(&mut img, (40.0, 40.0), (-10.0, -10.0), 2.0);
        let m = minutiae_inside(&img);
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(angle_diff(m[0].angle, 135f32.to_radians()) < 8f32.to_radians(), "{m:?}");
    }

    #[test]
    fn y_fork_points_between_the_branches_away_from_the_stem() {
        // Stem from the bottom edge up to (30, 32); branches up-left and up-right to the top edge.
        let mut img = BinaryImage::new(60, 64);
        segment(&mut img, (30.0, 70.0), (30.0, 32.0), 2.0);
        segment(&mut img, (30.0, 32.0), (8.0, -5.0), 2.0);
        segment(&mut img, (30.0, 32.0), (52.0, -5.0), 2.0);
        let m = minutiae_inside(&img);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].kind, MinutiaKind::Bifurcation);
        assert!((m[0].x - 30.0).abs() <= 3.0 && (m[0].y - 32.0).abs() <= 4.0, "{m:?}");
        assert!(angle_diff(m[0].angle, 90f32.to_radians()) < 8f32.to_radians(), "{m:?}");
    }

    #[test]
    fn fingerprint_like_fork_with_a_straight_through_branch() {
        // Stem from the left, one branch straight on to the right, the other leaving at ~25 deg upwards.
        // The valley that ends at the fork lies between the branches: angle ~12 deg (between 0 and 25).
        let mut img = BinaryImage::new(80, 50);
        segment(&mut img, (-10.0, 30.0), (90.0, 30.0), 2.0);
        segment(&mut img, (35.0, 30.0), (90.0, 30.0 - 55.0 * 25f32.to_radians().tan()), 2.0);
        let m = minutiae_inside(&img);
        let forks: Vec<_> = m.iter().filter(|m| m.kind == MinutiaKind::Bifurcation).collect();
        assert_eq!(forks.len(), 1, "{m:?}");
        let a = forks[0].angle.to_degrees();
        assert!((0.0..30.0).contains(&a), "{m:?}");
        // The ridges part where the two 5 px wide lines stop touching, at x ~ 44.
        assert!((35.0..48.0).contains(&forks[0].x), "{m:?}");
    }

    #[test]
    fn fork_and_ending_are_duals() {
        // Ridge/valley duality: the valley image of a fork has an ending with the same angle.
        let mut img = BinaryImage::new(60, 64);
        segment(&mut img, (30.0, 70.0), (30.0, 32.0), 2.0);
        segment(&mut img, (30.0, 32.0), (8.0, -5.0), 2.0);
        segment(&mut img, (30.0, 32.0), (52.0, -5.0), 2.0);
        let fork = minutiae_inside(&img);
        // The valley between the branches: everything above the fork between them and not ridge.
        let valley = BinaryImage::from_fn(60, 64, |x, y| {
            let (fx, fy) = (x as f32 - 30.0, y as f32 - 32.0);
            !img.get(x, y) && fy < 0.0 && fx.abs() < -fy * 0.6
        });
        let end: Vec<_> = minutiae_inside(&valley).into_iter().filter(|m| m.y > 10.0).collect();
        assert_eq!(end.len(), 1, "{end:?}");
        assert_eq!(end[0].kind, MinutiaKind::Ending);
        assert!(angle_diff(end[0].angle, fork[0].angle) < 10f32.to_radians(), "{end:?} vs {fork:?}");
    }

    #[test]
    fn spurs_and_fragments_are_removed() {
        let mut img = BinaryImage::new(80, 40);
        segment(&mut img, (-5.0, 20.0), (90.0, 20.0), 1.5);
        segment(&mut img, (40.0, 20.0), (44.0, 14.0), 1.0); // short spur
        segment(&mut img, (10.0, 33.0), (14.0, 33.0), 0.8); // short fragment
        let mut skel = thin(&img);
        let before = detect_minutiae(&skel, 10.0);
        assert!(before.len() >= 3, "{before:?}");
        assert!(remove_spurs(&mut skel, 10) >= 2);
        let mut after = detect_minutiae(&skel, 10.0);
        remove_near_border(&mut after, &full_mask(&img), 3.0);
        assert!(after.is_empty(), "{after:?}");
        assert!(no_2x2_blocks(&skel));
        // The main ridge survives in one piece.
        assert_eq!(count_components(&skel), 1);
        assert!(skel.count() >= 75);
    }

    #[test]
    fn close_pairs_and_border_minutiae_go() {
        let m = |x, y| Minutia::new(x, y, 0.0, MinutiaKind::Ending, 0);
        let mut v = vec![m(40.0, 40.0), m(3.0, 40.0)];
        let mask = BinaryImage::from_fn(60, 60, |x, _| x < 50);
        remove_near_border(&mut v, &mask, 5.0);
        assert_eq!(v, vec![m(40.0, 40.0)]);
        let d = distance_to_background(&mask);
        assert!((d[30 * 60 + 45] - 5.0).abs() < 0.01);
        assert!((d[30 * 60] - 1.0).abs() < 0.01);
        // Forks go with whatever is close to them; two close endings stay.
        let f = |x, y| Minutia::new(x, y, 0.0, MinutiaKind::Bifurcation, 0);
        let mut w = vec![m(10.0, 10.0), m(14.0, 10.0), f(30.0, 30.0), m(33.0, 30.0), f(50.0, 50.0), f(52.0, 52.0)];
        remove_close_forks(&mut w, 5.0);
        assert_eq!(w, vec![m(10.0, 10.0), m(14.0, 10.0)]);
    }

    #[test]
    fn small_components_and_holes() {
        let mut img = BinaryImage::new(30, 30);
        segment(&mut img, (5.0, 15.0), (25.0, 15.0), 3.0);
        img.set(15, 15, false); // a pore
        img.set(2, 2, true); // a speck
        assert_eq!(remove_small_components(&mut img, true, 5), 1);
        assert_eq!(remove_small_components(&mut img, false, 5), 1);
        assert!(img.get(15, 15) && !img.get(2, 2));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn thinning_preserves_components_and_is_thin(
            segs in proptest::collection::vec((0f32..40.0, 0f32..40.0, 0f32..40.0, 0f32..40.0, 0.5f32..3.5), 1..5)
        ) {
            let mut img = BinaryImage::new(40, 40);
            for (ax, ay, bx, by, r) in segs {
                segment(&mut img, (ax, ay), (bx + 0.01, by), r);
            }
            let skel = thin(&img);
            prop_assert!(skel.pixels.iter().zip(&img.pixels).all(|(&s, &i)| !s || i));
            prop_assert_eq!(count_components(&skel), count_components(&img));
            prop_assert!(no_2x2_blocks(&skel));
            // Thinning is idempotent.
            prop_assert_eq!(thin(&skel), skel);
        }

        #[test]
        fn bit_plane_guo_hall_matches_the_tables(
            width in 1usize..140, height in 1usize..12, seed in any::<u64>(), density in 0.2f64..0.9
        ) {
            // Random blobs across word boundaries (widths past 64 and 128), against the per-pixel tables.
            let mut state = seed | 1;
            let img = BinaryImage::from_fn(width, height, |_, _| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % 1000) as f64 / 1000.0 < density
            });
            let mut reference = Padded::new(&img);
            // Packing into words and back is the identity.
            prop_assert_eq!(&BitPlane::new(&img).padded().0.data, &reference.data);
            let mut live: Vec<usize> = (0..reference.data.len()).filter(|&i| reference.data[i] != 0).collect();
            guo_hall(&mut reference, &mut live, &guo_hall_tables());
            let mut bits = BitPlane::new(&img);
            bits.guo_hall();
            let (padded, set) = bits.padded();
            prop_assert_eq!(padded.data, reference.data);
            prop_assert_eq!(set, live);
        }
    }
}
