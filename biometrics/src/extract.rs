//! Minutiae extraction from an 8-bit grayscale image at 500 dpi.
//!
//! Pipeline: block statistics -> segmentation mask -> orientation field (gradient structure tensor, smoothed)
//! -> contrast normalisation -> oriented filtering (smoothing along the ridge, a 1-D Gabor across it) ->
//! binarisation -> thinning -> crossing-number minutiae -> false-minutia filters -> quality.
//!
//! The enhancement is two 1-D passes along rotated lines instead of a 2-D Gabor kernel: the same
//! along-ridge low-pass times across-ridge band-pass, at about 20 taps a pixel instead of 169.

use std::f32::consts::PI;

use crate::image::GrayImage;
use crate::minutia::{Minutia, Minutiae};
use crate::skeleton::{BinaryImage, detect_minutiae, remove_close_forks, remove_spurs, thin};

/// Block size of the orientation field and the mask, in pixels.
pub const BLOCK: usize = 8;
/// Orientation bins of the precomputed filter taps.
const ANGLES: usize = 32;

/// Intermediate results, kept for diagnostics and tests.
#[derive(Clone)]
pub struct Analysis {
    pub width: usize,
    pub height: usize,
    /// Foreground per block.
    pub mask: Vec<bool>,
    /// Ridge orientation per block, radians in [0, pi), image coordinates (x right, y down), measured
    /// counter-clockwise as seen on the image like minutia angles.
    pub orientation: Vec<f32>,
    /// Orientation coherence per block, 0-1.
    pub coherence: Vec<f32>,
    /// Ridge pixels (true = ridge) after enhancement.
    pub ridges: Vec<bool>,
    pub blocks_x: usize,
    pub blocks_y: usize,
}

impl std::fmt::Debug for Analysis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Analysis({}x{}, {} blocks)", self.width, self.height, self.mask.len())
    }
}

impl Analysis {
    /// Whether pixel (x, y) lies in a foreground block.
    pub fn in_mask(&self, x: usize, y: usize) -> bool {
        let (bx, by) = ((x / BLOCK).min(self.blocks_x - 1), (y / BLOCK).min(self.blocks_y - 1));
        self.mask[by * self.blocks_x + bx]
    }

    /// Distance in blocks from block (bx, by) to the nearest background block or the image edge (Chebyshev).
    pub fn block_depth(&self, bx: usize, by: usize) -> usize {
        let mut d = 0;
        loop {
            let r = d + 1;
            if bx < r || by < r || bx + r >= self.blocks_x || by + r >= self.blocks_y {
                return d;
            }
            for y in by - r..=by + r {
                for x in bx - r..=bx + r {
                    if !self.mask[y * self.blocks_x + x] {
                        return d;
                    }
                }
            }
            d += 1;
        }
    }

    /// Distance in pixels from (x, y) to the nearest background block or the image edge. Only blocks within
    /// three blocks are looked at, so larger distances come back as at least that far.
    pub fn distance_to_background(&self, x: f32, y: f32) -> f32 {
        let mut best = x.min(y).min(self.width as f32 - 1.0 - x).min(self.height as f32 - 1.0 - y).max(0.0);
        let (bx, by) = ((x.max(0.0) as usize / BLOCK) as isize, (y.max(0.0) as usize / BLOCK) as isize);
        for yy in by - 3..=by + 3 {
            for xx in bx - 3..=bx + 3 {
                if xx < 0 || yy < 0 || xx >= self.blocks_x as isize || yy >= self.blocks_y as isize {
                    continue;
                }
                if self.mask[yy as usize * self.blocks_x + xx as usize] {
                    continue;
                }
                // Distance from the point to the block's rectangle.
                let (x0, y0) = ((xx as usize * BLOCK) as f32, (yy as usize * BLOCK) as f32);
                let (x1, y1) = (x0 + BLOCK as f32, y0 + BLOCK as f32);
                let dx = (x0 - x).max(0.0).max(x - x1);
                let dy = (y0 - y).max(0.0).max(y - y1);
                best = best.min(dx.hypot(dy));
            }
        }
        best
    }
}

/// Gaussian smoothing of a block field (separable, clamped edges).
fn smooth_blocks(field: &[f32], bw: usize, bh: usize, sigma: f32) -> Vec<f32> {
    let r = (2.5 * sigma).ceil() as isize;
    let weights: Vec<f32> = (-r..=r).map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    // Only the taps that fall inside the field (the edges renormalised by their own weight sum), found once per
    // position instead of tested per tap: `weights[lo..hi]` for position `i` of `n`, tap `j` reading `i + j - r`.
    let r = r as usize;
    let range = |i: usize, n: usize| (r.saturating_sub(i), (n - i + r).min(2 * r + 1));
    let mut tmp = vec![0f32; field.len()];
    for y in 0..bh {
        let row = &field[y * bw..][..bw];
        for x in 0..bw {
            let (lo, hi) = range(x, bw);
            let (mut s, mut wsum) = (0f32, 0f32);
            for (w, v) in weights[lo..hi].iter().zip(&row[x + lo - r..]) {
                s += w * v;
                wsum += w;
            }
            tmp[y * bw + x] = s / wsum;
        }
    }
    let mut out = vec![0f32; field.len()];
    for y in 0..bh {
        let (lo, hi) = range(y, bh);
        for x in 0..bw {
            let (mut s, mut wsum) = (0f32, 0f32);
            for (k, w) in weights.iter().enumerate().take(hi).skip(lo) {
                s += w * tmp[(y + k - r) * bw + x];
                wsum += w;
            }
            out[y * bw + x] = s / wsum;
        }
    }
    out
}

/// Per block, the doubled-angle structure tensor of central-difference gradients: (gxx - gyy, 2 gxy, gxx + gyy).
fn structure_tensor(px: &[f32], w: usize, h: usize, bw: usize, bh: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let mut gxx = vec![0f32; bw * bh];
    let mut gyy = vec![0f32; bw * bh];
    let mut gxy = vec![0f32; bw * bh];
    for y in 1..h.saturating_sub(1) {
        let (up, row, down) = (&px[(y - 1) * w..y * w], &px[y * w..(y + 1) * w], &px[(y + 1) * w..(y + 2) * w]);
        let base = (y / BLOCK) * bw;
        let (rxx, ryy, rxy) = (&mut gxx[base..base + bw], &mut gyy[base..base + bw], &mut gxy[base..base + bw]);
        for b in 0..bw {
            let (x0, x1) = ((b * BLOCK).max(1), ((b + 1) * BLOCK).min(w - 1));
            let (mut sxx, mut syy, mut sxy) = (0f32, 0f32, 0f32);
            for x in x0..x1 {
                let gx = row[x + 1] - row[x - 1];
                let gy = down[x] - up[x];
                sxx += gx * gx;
                syy += gy * gy;
                sxy += gx * gy;
            }
            rxx[b] += sxx;
            ryy[b] += syy;
            rxy[b] += sxy;
        }
    }
    let vx = (0..bw * bh).map(|b| gxx[b] - gyy[b]).collect();
    let vy = (0..bw * bh).map(|b| 2.0 * gxy[b]).collect();
    let energy = (0..bw * bh).map(|b| gxx[b] + gyy[b]).collect();
    (vx, vy, energy)
}

/// Separable binomial blur [1 4 6 4 1] / 16 (sigma about 1 px), edges clamped.
fn blur5(src: &[f32], w: usize, h: usize) -> Vec<f32> {
    const K: [f32; 5] = [1.0 / 16.0, 4.0 / 16.0, 6.0 / 16.0, 4.0 / 16.0, 1.0 / 16.0];
    let mut tmp = scratch::zeroed(src.len());
    for y in 0..h {
        let (row, dst) = (&src[y * w..(y + 1) * w], &mut tmp[y * w..(y + 1) * w]);
        // Clamped taps only within two pixels of either end; the interior runs over plain windows.
        let edge =
            |x: usize| K.iter().enumerate().fold(0f32, |s, (k, kw)| s + kw * row[(x + k).saturating_sub(2).min(w - 1)]);
        for x in (0..w.min(2)).chain(w.saturating_sub(2).max(2)..w) {
            dst[x] = edge(x);
        }
        for (d, win) in dst[2..].iter_mut().zip(row.windows(5)) {
            *d = K.iter().zip(win).fold(0f32, |s, (kw, v)| s + kw * v);
        }
    }
    let mut out = scratch::zeroed(src.len());
    for y in 0..h {
        for (k, kw) in K.iter().enumerate() {
            let yy = (y + k).saturating_sub(2).min(h - 1);
            let (src_row, dst) = (&tmp[yy * w..(yy + 1) * w], &mut out[y * w..(y + 1) * w]);
            for (d, s) in dst.iter_mut().zip(src_row) {
                *d += kw * s;
            }
        }
    }
    scratch::recycle(tmp);
    out
}

/// Image-sized `f32` working buffers kept per thread between extractions. Each stage of the analysis needs a
/// few hundred kilobytes; freshly allocated, the allocator hands most of them back to the system after every
/// print and the next print pays a page fault for every 4 KiB it touches again (about a fifth of the
/// extraction time on FVC2000 DB1_B). A thread keeps at most `KEEP` buffers (under 4 MB for a 500 x 500 scan),
/// none larger than `KEEP_LEN` floats, so a thread that once extracted a very large scan does not hold on to it.
mod scratch {
    use std::cell::RefCell;

    const KEEP: usize = 8;
    /// 4 MB a buffer: a 1,000 x 1,000 scan, several times FVC2000's largest (448 x 478) or any sensor khil models.
    pub(super) const KEEP_LEN: usize = 1 << 20;

    thread_local! {
        static POOL: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
    }

    /// A buffer of `len` zeros, reusing a returned one when the thread has any.
    pub(super) fn zeroed(len: usize) -> Vec<f32> {
        match POOL.with(|pool| pool.borrow_mut().pop()) {
            Some(mut v) => {
                v.clear();
                v.resize(len, 0.0);
                v
            }
            None => vec![0.0; len],
        }
    }

    /// Gives a buffer back for the next [`zeroed`] on this thread.
    pub(super) fn recycle(v: Vec<f32>) {
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.len() < KEEP && v.capacity() <= KEEP_LEN {
                pool.push(v);
            }
        });
    }
}

/// Blocks whose band-pass response (RMS amplitude) is below this fraction of the print's median are not print.
const MIN_RESPONSE: f32 = 0.3;

/// Mean square of `band` per block, smoothed over the neighbouring blocks (one block's response depends on how
/// its ridges happen to fall).
fn block_energy(band: &[f32], w: usize, h: usize, bw: usize, bh: usize) -> Vec<f32> {
    let mut energy = vec![0f32; bw * bh];
    for (y, row) in band.chunks_exact(w).enumerate().take(h) {
        let blocks = &mut energy[(y / BLOCK) * bw..][..bw];
        for (e, chunk) in blocks.iter_mut().zip(row.chunks(BLOCK)) {
            for v in chunk {
                *e += v * v;
            }
        }
    }
    smooth_blocks(&energy, bw, bh, 1.0)
}

/// Ridge periods, in pixels at 500 dpi, for which the across-ridge filter is tabulated (one bank per whole
/// pixel). Fingers at 500 dpi have ridge periods of about 7 to 12 px; beyond these bounds an estimate is
/// more likely noise than ridges.
const MIN_PERIOD: usize = 6;
const MAX_PERIOD: usize = 14;
/// The period assumed where none can be measured (the typical adult ridge period at 500 dpi).
const DEFAULT_PERIOD: f32 = 9.0;

/// Along-ridge taps per orientation bin, and across-ridge taps per (period - `MIN_PERIOD`) * `ANGLES` + bin.
struct FilterBank {
    along: Vec<Vec<(isize, isize, f32)>>,
    across: Vec<Vec<(isize, isize, f32)>>,
}

fn filter_bank() -> &'static FilterBank {
    static BANK: std::sync::OnceLock<FilterBank> = std::sync::OnceLock::new();
    BANK.get_or_init(|| {
        let along = Taps::new(DEFAULT_PERIOD).along;
        let across = (MIN_PERIOD..=MAX_PERIOD).flat_map(|p| Taps::new(p as f32).across).collect();
        FilterBank { along, across }
    })
}

/// The ridge period of a grey-level profile taken across the ridges (a "signature"): the lag, between
/// `MIN_PERIOD` and `MAX_PERIOD` samples, of the first strong peak of its autocorrelation, refined to a
/// fraction of a sample by fitting a parabola. `None` when no lag correlates clearly (no regular ridges:
/// background, scars, a core).
pub fn ridge_period(signature: &[f32]) -> Option<f32> {
    let n = signature.len();
    if n < 2 * MAX_PERIOD {
        return None;
    }
    let mean = signature.iter().sum::<f32>() / n as f32;
    // Centred on the stack for a block's signature (every block of every print calls this), else on the heap.
    let (mut stack, mut heap) = ([0f32; 64], Vec::new());
    let s: &mut [f32] = if n <= stack.len() {
        &mut stack[..n]
    } else {
        heap.resize(n, 0.0);
        &mut heap
    };
    for (c, v) in s.iter_mut().zip(signature) {
        *c = v - mean;
    }
    let s = &*s;
    let r0 = s.iter().map(|v| v * v).sum::<f32>() / n as f32;
    if r0 <= 1e-6 {
        return None;
    }
    // Normalised autocorrelation, each lag averaged over its own overlap so long lags are not penalised.
    let r = |lag: usize| s.iter().zip(&s[lag..]).map(|(a, b)| a * b).sum::<f32>() / (n - lag) as f32 / r0;
    let lags: [f32; MAX_PERIOD - MIN_PERIOD + 3] = std::array::from_fn(|k| r(MIN_PERIOD - 1 + k));
    let at = |lag: usize| lags[lag + 1 - MIN_PERIOD];
    let best = (MIN_PERIOD..=MAX_PERIOD).map(at).fold(f32::MIN, f32::max);
    if best < 0.25 {
        return None;
    }
    // The first local maximum close to the best: twice the period correlates as well as the period itself.
    let lag = (MIN_PERIOD..=MAX_PERIOD).find(|&l| at(l) >= 0.8 * best && at(l) >= at(l - 1) && at(l) >= at(l + 1))?;
    let (a, b, c) = (at(lag - 1), at(lag), at(lag + 1));
    let denom = a - 2.0 * b + c;
    let offset = if denom < 0.0 { (0.5 * (a - c) / denom).clamp(-0.5, 0.5) } else { 0.0 };
    Some(lag as f32 + offset)
}

/// Ridge period per block: from a 32-sample signature across the ridges through the block centre (the mean
/// of three parallel lines of the along-ridge smoothed image), then smoothed over neighbouring blocks; blocks
/// with no estimate nearby take the print's median, or `DEFAULT_PERIOD`.
fn block_periods(
    img: &[f32],
    w: usize,
    h: usize,
    orientation: &[f32],
    mask: &[bool],
    bw: usize,
    bh: usize,
) -> Vec<f32> {
    const LEN: isize = 32;
    let mut value = vec![0f32; bw * bh];
    let mut weight = vec![0f32; bw * bh];
    let mut found = Vec::new();
    let mut signature = [0f32; LEN as usize];
    for b in 0..bw * bh {
        if !mask[b] {
            continue;
        }
        let (cx, cy) = (((b % bw) * BLOCK + BLOCK / 2) as f32, ((b / bw) * BLOCK + BLOCK / 2) as f32);
        // Ridge direction (cos, -sin) in image coordinates; the normal is (sin, cos).
        let (sn, cs) = orientation[b].sin_cos();
        // The 96 pixel positions first, then the reads, so no read waits on its own position's conversion.
        // Clamped first, then rounded by adding a half and truncating: the same pixel as rounding then clamping,
        // without a call to `roundf` a sample. (Through i32: non-negative by the clamp, and a conversion to usize
        // costs several instructions more a sample.)
        let mut lines = [[0usize; LEN as usize]; 3];
        for (line, a) in lines.iter_mut().zip([-4.0f32, 0.0, 4.0]) {
            for (at, k) in line.iter_mut().zip(0..LEN) {
                let t = (k - LEN / 2) as f32;
                let x = ((cx + t * sn + a * cs).clamp(0.0, (w - 1) as f32) + 0.5) as i32;
                let y = ((cy + t * cs - a * sn).clamp(0.0, (h - 1) as f32) + 0.5) as i32;
                *at = y.cast_unsigned() as usize * w + x.cast_unsigned() as usize;
            }
        }
        for (k, v) in signature.iter_mut().enumerate() {
            let mut sum = 0.0;
            for line in &lines {
                sum += img[line[k]];
            }
            *v = sum;
        }
        if let Some(p) = ridge_period(&signature) {
            value[b] = p;
            weight[b] = 1.0;
            found.push(p);
        }
    }
    let fallback = median(&mut found).unwrap_or(DEFAULT_PERIOD);
    let sv = smooth_blocks(&value, bw, bh, 2.0);
    let sw = smooth_blocks(&weight, bw, bh, 2.0);
    (0..bw * bh).map(|b| if sw[b] > 0.1 { sv[b] / sw[b] } else { fallback }).collect()
}

/// The upper median (sorts `values`); `None` for none.
fn median(values: &mut [f32]) -> Option<f32> {
    values.sort_by(f32::total_cmp);
    values.get(values.len() / 2).copied()
}

/// Integer tap offsets of a 1-D filter along a direction, per orientation bin.
struct Taps {
    /// Per bin: (offset in pixels as (dx, dy), weight).
    along: Vec<Vec<(isize, isize, f32)>>,
    across: Vec<Vec<(isize, isize, f32)>>,
}

impl Taps {
    fn new(period: f32) -> Self {
        let mut along = Vec::with_capacity(ANGLES);
        let mut across = Vec::with_capacity(ANGLES);
        for b in 0..ANGLES {
            let theta = b as f32 * PI / ANGLES as f32;
            // Ridge direction in image coordinates (y down): (cos, -sin).
            let (dx, dy) = (theta.cos(), -theta.sin());
            let mut a = Vec::new();
            let sigma_along = 4.0;
            // Nine taps over +-7 px: the Gaussian's support at a quarter of the cost of every pixel.
            for k in -4i32..=4 {
                let t = k as f32 * 1.75;
                a.push((
                    (t * dx).round() as isize,
                    (t * dy).round() as isize,
                    (-t * t / (2.0 * sigma_along * sigma_along)).exp(),
                ));
            }
            normalise(&mut a, true);
            let mut c = Vec::new();
            let sigma_across = period * 0.45;
            // Out to about 1.3 sigma each side past the first side lobes: 11 taps at the default period of 9.
            let half = (period * 0.6).round().max(5.0) as i32;
            for t in -half..=half {
                let t = t as f32;
                // Normal to the ridge: (-dy, dx) rotated 90 degrees.
                let w = (2.0 * PI * t / period).cos() * (-t * t / (2.0 * sigma_across * sigma_across)).exp();
                c.push(((-t * dy).round() as isize, (t * dx).round() as isize, w));
            }
            normalise(&mut c, false);
            along.push(a);
            across.push(c);
        }
        Self { along, across }
    }
}

/// Low-pass taps sum to one; band-pass taps to zero (no response to flat areas).
fn normalise(taps: &mut [(isize, isize, f32)], low_pass: bool) {
    if low_pass {
        let s: f32 = taps.iter().map(|t| t.2).sum();
        for t in taps.iter_mut() {
            t.2 /= s;
        }
    } else {
        let mean = taps.iter().map(|t| t.2).sum::<f32>() / taps.len() as f32;
        for t in taps.iter_mut() {
            t.2 -= mean;
        }
    }
}

/// Applies oriented 1-D taps, block by block: within a block every pixel uses its block's orientation bin, so
/// each tap is one multiply-add over a row segment of eight contiguous pixels (which the compiler vectorises).
/// The source is first copied into a frame `reach` pixels wider on every side, repeating the edge pixels: the
/// same as clamping coordinates, without a per-pixel slow path for the blocks along the image border.
fn oriented_pass(src: &[f32], w: usize, h: usize, grid: &BlockGrid, taps: &[Vec<(isize, isize, f32)>]) -> Vec<f32> {
    let reach = taps.iter().flatten().map(|t| t.0.unsigned_abs().max(t.1.unsigned_abs())).max().unwrap_or(0);
    let pw = w + 2 * reach;
    let mut padded = scratch::zeroed(pw * (h + 2 * reach));
    for (py, dst) in padded.chunks_exact_mut(pw).enumerate() {
        let row = &src[(py.saturating_sub(reach)).min(h - 1) * w..][..w];
        let (left, rest) = dst.split_at_mut(reach);
        let (mid, right) = rest.split_at_mut(w);
        left.fill(row[0]);
        mid.copy_from_slice(row);
        right.fill(row[w - 1]);
    }
    let mut out = scratch::zeroed(src.len());
    for by in 0..grid.bh {
        for bx in 0..grid.bw {
            let b = by * grid.bw + bx;
            if !grid.mask[b] {
                continue;
            }
            let bin = &taps[grid.bins[b] as usize];
            let (x0, x1) = (bx * BLOCK, ((bx + 1) * BLOCK).min(w));
            let (y0, y1) = (by * BLOCK, ((by + 1) * BLOCK).min(h));
            for y in y0..y1 {
                let row = &mut out[y * w + x0..y * w + x1];
                let at = |dx: isize, dy: isize| {
                    ((y + reach).cast_signed() + dy) as usize * pw + ((x0 + reach).cast_signed() + dx) as usize
                };
                if let Ok(row) = <&mut [f32; BLOCK]>::try_from(&mut *row) {
                    // A whole block row, summed in a local array: a fixed length in registers that cannot alias
                    // the source, which the compiler turns into vector multiply-adds (in place, it did one pixel
                    // at a time with a store after each).
                    let mut sum = *row;
                    for &(dx, dy, wt) in bin {
                        let src: &[f32; BLOCK] = padded[at(dx, dy)..][..BLOCK].try_into().expect("BLOCK pixels");
                        for (o, v) in sum.iter_mut().zip(src) {
                            *o += wt * v;
                        }
                    }
                    *row = sum;
                } else {
                    for &(dx, dy, wt) in bin {
                        let start = at(dx, dy);
                        for (o, v) in row.iter_mut().zip(&padded[start..start + (x1 - x0)]) {
                            *o += wt * v;
                        }
                    }
                }
            }
        }
    }
    scratch::recycle(padded);
    out
}

/// Per-block orientation bins and foreground mask.
struct BlockGrid<'a> {
    bw: usize,
    bh: usize,
    bins: &'a [u16],
    mask: &'a [bool],
}

/// Segmentation, orientation and enhancement: everything before the skeleton. One long function on purpose:
/// its stages share a dozen block-sized arrays.
#[allow(clippy::too_many_lines)]
pub fn analyse(image: &GrayImage) -> Analysis {
    if image.width < 2 * BLOCK || image.height < 2 * BLOCK || image.pixels.len() != image.width * image.height {
        // Too small to hold a ridge (or inconsistent): everything is background.
        let (bw, bh) = (image.width.div_ceil(BLOCK).max(1), image.height.div_ceil(BLOCK).max(1));
        return Analysis {
            width: image.width,
            height: image.height,
            mask: vec![false; bw * bh],
            orientation: vec![0.0; bw * bh],
            coherence: vec![0.0; bw * bh],
            ridges: vec![false; image.width * image.height],
            blocks_x: bw,
            blocks_y: bh,
        };
    }
    let (w, h) = (image.width, image.height);
    let (bw, bh) = (w.div_ceil(BLOCK).max(1), h.div_ceil(BLOCK).max(1));
    let mut px = scratch::zeroed(w * h);
    for (d, &p) in px.iter_mut().zip(&image.pixels) {
        *d = f32::from(p);
    }

    // Local mean and standard deviation over 24 x 24 windows around each block: the block and its eight
    // neighbours (clipped at the image edge), from per-block sums of the grey levels and their squares
    // (exact in integers; no image-sized summed-area tables to allocate).
    let (mut block_sum, mut block_sum2) = (vec![0u32; bw * bh], vec![0u32; bw * bh]);
    for (y, row) in image.pixels.chunks_exact(w).enumerate() {
        let (sums, sums2) = (&mut block_sum[(y / BLOCK) * bw..][..bw], &mut block_sum2[(y / BLOCK) * bw..][..bw]);
        for (b, chunk) in row.chunks(BLOCK).enumerate() {
            sums[b] += chunk.iter().map(|&p| u32::from(p)).sum::<u32>();
            sums2[b] += chunk.iter().map(|&p| u32::from(p) * u32::from(p)).sum::<u32>();
        }
    }
    let mut mean = vec![0f32; bw * bh];
    let mut std = vec![0f32; bw * bh];
    for by in 0..bh {
        for bx in 0..bw {
            let (cx, cy) = (bx * BLOCK + BLOCK / 2, by * BLOCK + BLOCK / 2);
            let (x0, y0) = (cx.saturating_sub(12), cy.saturating_sub(12));
            let (x1, y1) = ((cx + 12).min(w), (cy + 12).min(h));
            let n = ((x1 - x0) * (y1 - y0)).max(1) as f64;
            let (mut s, mut s2) = (0f64, 0f64);
            for yy in by.saturating_sub(1)..=(by + 1).min(bh - 1) {
                for xx in bx.saturating_sub(1)..=(bx + 1).min(bw - 1) {
                    s += f64::from(block_sum[yy * bw + xx]);
                    s2 += f64::from(block_sum2[yy * bw + xx]);
                }
            }
            let m = s / n;
            mean[by * bw + bx] = m as f32;
            std[by * bw + bx] = ((s2 / n - m * m).max(0.0)).sqrt() as f32;
        }
    }

    // Orientation: structure tensor of central-difference gradients, summed per block, smoothed as
    // doubled-angle vectors. The gradients are taken on a lightly blurred copy: on real scans pores, sweat
    // specks and sensor noise (a pixel or two across) otherwise dominate the pixel gradients and drown the
    // ridge flow's coherence, which the mask relies on.
    let blurred = blur5(&px, w, h);
    let (vx, vy, energy) = structure_tensor(&blurred, w, h, bw, bh);
    scratch::recycle(blurred);
    let svx = smooth_blocks(&vx, bw, bh, 1.5);
    let svy = smooth_blocks(&vy, bw, bh, 1.5);
    let senergy = smooth_blocks(&energy, bw, bh, 1.5);
    let mut orientation = vec![0f32; bw * bh];
    let mut coherence = vec![0f32; bw * bh];
    for b in 0..bw * bh {
        // Gradient direction (image coords, y down) is 0.5 * atan2(vy, vx); ridges run perpendicular to it.
        // Converted to the on-screen counter-clockwise convention by negating the y component.
        let grad = 0.5 * svy[b].atan2(svx[b]);
        let ridge = grad + PI / 2.0;
        orientation[b] = (-ridge).rem_euclid(PI);
        coherence[b] = if senergy[b] > 0.0 { (svx[b].hypot(svy[b]) / senergy[b]).min(1.0) } else { 0.0 };
    }

    // Segmentation: contrast relative to the print's own strong blocks, and a coherent ridge flow.
    let mut sorted = std.clone();
    sorted.sort_by(f32::total_cmp);
    let strong = sorted[(sorted.len() * 9) / 10];
    let mut mask: Vec<bool> =
        (0..bw * bh).map(|b| std[b] > 0.3 * strong && std[b] > 6.0 && coherence[b] > 0.15).collect();
    mask = clean_mask(&mask, bw, bh);

    // Contrast normalisation: zero mean, unit deviation, from block statistics interpolated bilinearly.
    // Filter taps follow the orientation of the pixel's own block (it varies slowly; the along-ridge
    // smoothing absorbs the steps).
    let block_bins: Vec<u16> =
        orientation.iter().map(|&o| ((o / PI * ANGLES as f32).round() as usize % ANGLES) as u16).collect();
    let inv_std: Vec<f32> = std.iter().map(|&s| 1.0 / s.max(4.0)).collect();
    let (cols, col_t): (Vec<(usize, usize)>, Vec<f32>) = (0..w)
        .map(|x| {
            let f = ((x as f32 + 0.5) / BLOCK as f32 - 0.5).clamp(0.0, (bw - 1) as f32);
            let x0 = f.floor() as usize;
            ((x0, (x0 + 1).min(bw - 1)), f - x0 as f32)
        })
        .unzip();
    let mut norm = scratch::zeroed(w * h);
    // Interpolate between block rows once per image row, then only along the row per pixel.
    let (mut row_mean, mut row_inv) = (vec![0f32; bw], vec![0f32; bw]);
    for y in 0..h {
        let f = ((y as f32 + 0.5) / BLOCK as f32 - 0.5).clamp(0.0, (bh - 1) as f32);
        let (y0, ty) = (f.floor() as usize, f - f.floor());
        let y1 = (y0 + 1).min(bh - 1);
        for b in 0..bw {
            row_mean[b] = mean[y0 * bw + b] + ty * (mean[y1 * bw + b] - mean[y0 * bw + b]);
            row_inv[b] = inv_std[y0 * bw + b] + ty * (inv_std[y1 * bw + b] - inv_std[y0 * bw + b]);
        }
        let mask_row = &mask[(y / BLOCK).min(bh - 1) * bw..][..bw];
        let (src, dst) = (&px[y * w..(y + 1) * w], &mut norm[y * w..(y + 1) * w]);
        for x in 0..w {
            if !mask_row[(x / BLOCK).min(bw - 1)] {
                continue;
            }
            let ((x0, x1), tx) = (cols[x], col_t[x]);
            let m = row_mean[x0] + tx * (row_mean[x1] - row_mean[x0]);
            let inv = row_inv[x0] + tx * (row_inv[x1] - row_inv[x0]);
            dst[x] = (src[x] - m) * inv;
        }
    }

    let bank = filter_bank();
    let grid = BlockGrid { bw, bh, bins: &block_bins, mask: &mask };
    let smoothed = oriented_pass(&norm, w, h, &grid, &bank.along);
    scratch::recycle(norm);
    scratch::recycle(px);
    // The across-ridge band-pass is tuned to each block's own ridge period (it varies between fingers, and
    // within a print from the core to the tips): a filter tuned to the wrong period merges ridges that are
    // closer together and splits wide valleys.
    let period = block_periods(&smoothed, w, h, &orientation, &mask, bw, bh);
    let period_bins: Vec<u16> = (0..bw * bh)
        .map(|b| {
            let p = (period[b].round() as usize).clamp(MIN_PERIOD, MAX_PERIOD) - MIN_PERIOD;
            (p * ANGLES) as u16 + block_bins[b]
        })
        .collect();
    let band = oriented_pass(&smoothed, w, h, &BlockGrid { bins: &period_bins, ..grid }, &bank.across);
    // Ridges are dark: the cosine-centred band-pass responds negatively on them.
    // Outside the mask `band` stays 0.0, which is not a ridge.
    let ridges: Vec<bool> = band.iter().map(|&v| v < 0.0).collect();
    // Quality map: where the band-pass barely responds (smudged wet areas, scars, dry patches with no regular
    // ridges), the binarised ridges are noise and their minutiae false. Such blocks leave the mask, so minutiae
    // in or next to them are dropped with the print's border. Measured relative to the print's own median
    // response, as contrast varies between scanners and skins: 0.3 in amplitude left every FVC2000 dev set and
    // the synthetic set as well or better off (0.4 and above began to cut good minutiae on DB2).
    let response = block_energy(&band, w, h, bw, bh);
    scratch::recycle(band);
    scratch::recycle(smoothed);
    let mut foreground: Vec<f32> = (0..bw * bh).filter(|&b| mask[b]).map(|b| response[b]).collect();
    if let Some(typical) = median(&mut foreground) {
        let floor = MIN_RESPONSE * MIN_RESPONSE * typical;
        for (m, r) in mask.iter_mut().zip(&response) {
            *m = *m && *r >= floor;
        }
    }

    Analysis { width: w, height: h, mask, orientation, coherence, ridges, blocks_x: bw, blocks_y: bh }
}

/// Keeps the largest foreground component, fills holes, and smooths the outline.
fn clean_mask(mask: &[bool], bw: usize, bh: usize) -> Vec<bool> {
    // Majority vote in 3 x 3 neighbourhoods, twice.
    let mut m = mask.to_vec();
    for _ in 0..2 {
        let prev = m.clone();
        for y in 0..bh {
            for x in 0..bw {
                let mut n = 0;
                for dy in -1isize..=1 {
                    for dx in -1isize..=1 {
                        let (xx, yy) = (x as isize + dx, y as isize + dy);
                        if xx >= 0
                            && yy >= 0
                            && (xx as usize) < bw
                            && (yy as usize) < bh
                            && prev[yy as usize * bw + xx as usize]
                        {
                            n += 1;
                        }
                    }
                }
                m[y * bw + x] = n >= 5;
            }
        }
    }
    // Largest 4-connected component.
    let mut label = vec![0u32; bw * bh];
    let (mut best, mut best_size, mut next) = (0u32, 0usize, 1u32);
    for start in 0..bw * bh {
        if !m[start] || label[start] != 0 {
            continue;
        }
        let mut stack = vec![start];
        label[start] = next;
        let mut size = 0;
        while let Some(i) = stack.pop() {
            size += 1;
            let (x, y) = (i % bw, i / bw);
            let mut push = |j: usize| {
                if m[j] && label[j] == 0 {
                    label[j] = next;
                    stack.push(j);
                }
            };
            if x > 0 {
                push(i - 1);
            }
            if x + 1 < bw {
                push(i + 1);
            }
            if y > 0 {
                push(i - bw);
            }
            if y + 1 < bh {
                push(i + bw);
            }
        }
        if size > best_size {
            best_size = size;
            best = next;
        }
        next += 1;
    }
    let fg: Vec<bool> = label.iter().map(|&l| l == best && best != 0).collect();
    // Fill holes: background not reachable from the border becomes foreground.
    let mut outside = vec![false; bw * bh];
    let mut stack: Vec<usize> = (0..bw * bh)
        .filter(|&i| {
            let (x, y) = (i % bw, i / bw);
            (x == 0 || y == 0 || x + 1 == bw || y + 1 == bh) && !fg[i]
        })
        .collect();
    for &i in &stack {
        outside[i] = true;
    }
    while let Some(i) = stack.pop() {
        let (x, y) = (i % bw, i / bw);
        for j in
            [(x > 0).then(|| i - 1), (x + 1 < bw).then(|| i + 1), (y > 0).then(|| i - bw), (y + 1 < bh).then(|| i + bw)]
                .into_iter()
                .flatten()
        {
            if !fg[j] && !outside[j] {
                outside[j] = true;
                stack.push(j);
            }
        }
    }
    (0..bw * bh).map(|i| fg[i] || !outside[i]).collect()
}

/// Extraction tuning, in pixels at 500 dpi. Measured together on FVC2000 DB1-3_B and the synthetic set (issue
/// #16): spurs up to 10 px and every pair within 7 px removed gave EER 2.15 / 5.35 / 4.91 % and 0.066 %;
/// spurs up to 7 px and only pairs with a fork within 5 px 1.78 / 3.57 / 3.61 % and 0.038 % (either change
/// alone helped less; two close endings kept at any distance or dropped within 3 px made no difference). At
/// 7 px the close-pair rule took genuine minutiae near one another, about one ridge period apart.
const SPUR: usize = 7;
const TRACE: f32 = 10.0;
const CLOSE_FORK: f32 = 5.0;
const BORDER_MARGIN: f32 = 10.0;

/// Extracts the minutiae of a print scanned at `dpi` (only 500 dpi is tuned; other resolutions are
/// accepted as they are and recorded in the result).
pub fn extract(image: &GrayImage, dpi: u16) -> Minutiae {
    let analysis = analyse(image);
    let (w, h) = (image.width, image.height);
    // Specks and pores need no separate pass: the oriented filter leaves few, spur removal takes the
    // fragments they become and the close-fork rule the little loops (measured: same recall and precision
    // on the synthetic sets, a quarter less work).
    let ridges = BinaryImage { width: w, height: h, pixels: analysis.ridges.clone() };
    let mut skeleton = thin(&ridges);
    remove_spurs(&mut skeleton, SPUR);
    let mut points = detect_minutiae(&skeleton, TRACE);
    remove_close_forks(&mut points, CLOSE_FORK);
    // Minutiae near the edge of the print are where ridges leave the contact area, not where they end.
    points.retain(|m| analysis.distance_to_background(m.x, m.y) >= BORDER_MARGIN);
    for m in &mut points {
        m.quality = minutia_quality(&analysis, m);
    }
    Minutiae {
        width: u16::try_from(w).unwrap_or(u16::MAX),
        height: u16::try_from(h).unwrap_or(u16::MAX),
        dpi,
        quality: image_quality(&analysis),
        points,
    }
}

/// 0-100 from the ridge-flow coherence around the minutia and its depth inside the print.
fn minutia_quality(a: &Analysis, m: &Minutia) -> u8 {
    let (bx, by) = ((m.x as usize / BLOCK).min(a.blocks_x - 1), (m.y as usize / BLOCK).min(a.blocks_y - 1));
    let coherence = a.coherence[by * a.blocks_x + bx];
    let depth = (a.block_depth(bx, by) as f32 / 3.0).min(1.0);
    (100.0 * coherence.clamp(0.0, 1.0).sqrt() * (0.5 + 0.5 * depth)).round().clamp(1.0, 100.0) as u8
}

/// 0-100: how much of the image is print, and how clearly its ridges flow.
pub fn image_quality(a: &Analysis) -> u8 {
    let fg: Vec<f32> = a.mask.iter().zip(&a.coherence).filter(|(m, _)| **m).map(|(_, c)| *c).collect();
    if fg.is_empty() {
        return 0;
    }
    let coherence = fg.iter().sum::<f32>() / fg.len() as f32;
    let area = (fg.len() as f32 / a.mask.len() as f32 / 0.5).min(1.0);
    (100.0 * coherence.sqrt() * area.sqrt()).round().clamp(0.0, 100.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cross-ridge profile: a sinusoid of `period` samples with a little deterministic "noise".
    fn sinusoid(period: f32, len: usize) -> Vec<f32> {
        (0..len).map(|i| (TAU_F * i as f32 / period).cos() * 40.0 + 128.0 + ((i * 7919) % 13) as f32 * 0.5).collect()
    }
    const TAU_F: f32 = 2.0 * PI;

    #[test]
    fn ridge_period_of_a_sinusoid_is_its_period() {
        for period in [6.5f32, 7.0, 8.3, 9.0, 10.5, 12.0, 13.5] {
            let estimate = ridge_period(&sinusoid(period, 32)).expect("a clean sinusoid has a period");
            assert!((estimate - period).abs() < 0.35, "period {period}: estimated {estimate}");
        }
    }

    #[test]
    fn ridge_period_refuses_flat_short_and_out_of_range_profiles() {
        assert_eq!(ridge_period(&[100.0; 32]), None);
        assert_eq!(ridge_period(&sinusoid(9.0, 20)), None);
        // Faster than any ridge at 500 dpi: its harmonics fall in range but correlate too weakly to count,
        // or land on a multiple of the true period, never below `MIN_PERIOD`.
        if let Some(p) = ridge_period(&sinusoid(3.0, 32)) {
            assert!(p >= MIN_PERIOD as f32 - 0.5, "{p}");
        }
    }

    #[test]
    fn block_periods_follow_the_image() {
        // Vertical ridges (orientation pi/2) of period 7 on the left half, 12 on the right.
        let (w, h) = (128usize, 64usize);
        let img: Vec<f32> = (0..w * h)
            .map(|i| {
                let x = (i % w) as f32;
                let period = if x < 64.0 { 7.0 } else { 12.0 };
                (TAU_F * x / period).cos()
            })
            .collect();
        let (bw, bh) = (w / BLOCK, h / BLOCK);
        let orientation = vec![PI / 2.0; bw * bh];
        let mask = vec![true; bw * bh];
        let p = block_periods(&img, w, h, &orientation, &mask, bw, bh);
        let at = |bx: usize| p[(bh / 2) * bw + bx];
        assert!((at(2) - 7.0).abs() < 0.6, "left {}", at(2));
        assert!((at(bw - 3) - 12.0).abs() < 0.8, "right {}", at(bw - 3));
    }

    #[test]
    fn the_buffer_pool_reuses_small_buffers_and_lets_large_ones_go() {
        // Its own thread: the pool is per thread, and other tests' extractions must not interfere.
        std::thread::spawn(|| {
            let small = scratch::zeroed(1000);
            let kept = small.as_ptr();
            scratch::recycle(small);
            let again = scratch::zeroed(500);
            assert_eq!(again.as_ptr(), kept, "a small buffer is handed out again");
            assert!(again.iter().all(|&v| v == 0.0) && again.len() == 500);
            scratch::recycle(vec![1.0; scratch::KEEP_LEN + 1]);
            assert!(scratch::zeroed(10).capacity() <= scratch::KEEP_LEN, "a large buffer was kept");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn filter_bank_taps_are_normalised_for_every_period() {
        let bank = filter_bank();
        assert_eq!(bank.across.len(), (MAX_PERIOD - MIN_PERIOD + 1) * ANGLES);
        for taps in &bank.across {
            assert!(taps.iter().map(|t| t.2).sum::<f32>().abs() < 1e-4);
        }
        for taps in &bank.along {
            assert!((taps.iter().map(|t| t.2).sum::<f32>() - 1.0).abs() < 1e-4);
        }
    }
}
