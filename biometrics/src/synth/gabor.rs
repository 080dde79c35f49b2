//! Ridge growth by iterative space-variant Gabor filtering (the SFinGe master-print step).
//!
//! An image holding a few random spikes is filtered again and again; each pixel uses the even Gabor kernel tuned
//! to the local ridge orientation and period, and the result is amplified and clipped to [-1, 1] between
//! iterations. Each spike grows into a patch of ridges that spreads about a kernel radius per iteration;
//! where patches of different phase meet, and where the field makes ridges diverge or converge, ridges end
//! and fork. Those minutiae emerge; none is planted.
//!
//! Kernels are precomputed once (shared by every finger) for [`ANGLES`] orientations and periods from
//! [`MIN_PERIOD`] to [`MAX_PERIOD`] in half-pixel steps, each 13 x 13 with a circular support.

use std::f32::consts::{PI, TAU};
use std::sync::OnceLock;

use super::density::{MAX_PERIOD, MIN_PERIOD};

/// Kernel radius and side.
const R: usize = 6;
const SIDE: usize = 2 * R + 1;
const TAPS: usize = SIDE * SIDE;
/// Orientations over [0, pi).
pub(crate) const ANGLES: usize = 32;
const PERIOD_STEP: f32 = 0.5;
/// Envelope width as a fraction of the period.
const SIGMA_PER_PERIOD: f32 = 0.4;
/// Gain applied before clipping between iterations.
const GAIN: f32 = 3.0;

fn period_levels() -> usize {
    ((MAX_PERIOD - MIN_PERIOD) / PERIOD_STEP).round() as usize + 1
}

struct Bank {
    kernels: Vec<[[f32; SIDE]; SIDE]>,
}

/// One kernel row against one image row, written out: fast with and without optimisation (debug-mode tests
/// grow whole masters).
#[inline]
fn dot(a: &[f32; SIDE], b: &[f32; SIDE]) -> f32 {
    (a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3])
        + (a[4] * b[4] + a[5] * b[5] + a[6] * b[6] + a[7] * b[7])
        + (a[8] * b[8] + a[9] * b[9] + a[10] * b[10] + a[11] * b[11])
        + a[12] * b[12]
}

/// The even Gabor kernel across ridges of direction `theta` (image angle) with period `period`: zero mean,
/// scaled so that a unit-amplitude ridge pattern of that orientation and period gives a response of 1 on its
/// ridge lines.
fn kernel(theta: f32, period: f32) -> [f32; TAPS] {
    let sigma = SIGMA_PER_PERIOD * period;
    let (nx, ny) = (-theta.sin(), theta.cos());
    let mut env = [0f32; TAPS];
    let mut wave = [0f32; TAPS];
    for j in 0..SIDE {
        for i in 0..SIDE {
            let (x, y) = (i as f32 - R as f32, j as f32 - R as f32);
            let r2 = x * x + y * y;
            if r2 <= (R as f32 + 0.5).powi(2) {
                env[j * SIDE + i] = (-r2 / (2.0 * sigma * sigma)).exp();
            }
            wave[j * SIDE + i] = (TAU * (x * nx + y * ny) / period).cos();
        }
    }
    let env_sum: f32 = env.iter().sum();
    let dc: f32 = env.iter().zip(&wave).map(|(e, w)| e * w).sum::<f32>() / env_sum;
    let mut k = [0f32; TAPS];
    for t in 0..TAPS {
        k[t] = env[t] * (wave[t] - dc);
    }
    let gain: f32 = k.iter().zip(&wave).map(|(k, w)| k * w).sum();
    for v in &mut k {
        *v /= gain;
    }
    k
}

fn bank() -> &'static Bank {
    static BANK: OnceLock<Bank> = OnceLock::new();
    BANK.get_or_init(|| {
        let mut kernels = Vec::with_capacity(period_levels() * ANGLES);
        for p in 0..period_levels() {
            for a in 0..ANGLES {
                let k = kernel(a as f32 * PI / ANGLES as f32, MIN_PERIOD + p as f32 * PERIOD_STEP);
                let mut rows = [[0f32; SIDE]; SIDE];
                for (j, row) in rows.iter_mut().enumerate() {
                    row.copy_from_slice(&k[j * SIDE..(j + 1) * SIDE]);
                }
                kernels.push(rows);
            }
        }
        Bank { kernels }
    })
}

/// The bank index of the kernel for ridge angle `theta` (image angle, any range) and period `period`.
pub(crate) fn kernel_index(theta: f32, period: f32) -> u16 {
    let a = ((theta.rem_euclid(PI) / PI * ANGLES as f32).round() as usize) % ANGLES;
    let p = ((period.clamp(MIN_PERIOD, MAX_PERIOD) - MIN_PERIOD) / PERIOD_STEP).round() as usize;
    (p * ANGLES + a) as u16
}

/// Side of the blocks whose changes are tracked: a pixel is filtered again only when some input within its
/// kernel (its block or the eight around it, as `R < BLOCK`) changed in the last iteration. Skipping the others
/// gives exactly the same result: their inputs, hence their responses, are bit-for-bit the same.
const BLOCK: usize = 8;

/// Grows ridges on a `width` x `height` canvas. `kernels[i]` is the kernel index of pixel i and `area[i]` says
/// whether the pixel is part of the finger; `seeds` are (pixel index, value). Returns the last filter response
/// (before gain and clipping): ridges where it is positive, close to a sinusoid of amplitude ~1.3 across ridges.
pub(crate) fn grow(
    width: usize,
    height: usize,
    area: &[bool],
    kernels: &[u16],
    seeds: &[(usize, f32)],
    iterations: usize,
) -> Vec<f32> {
    let bank = bank();
    let pw = width + 2 * R;
    let mut img = vec![0f32; pw * (height + 2 * R)];
    let (bw, bh) = (width.div_ceil(BLOCK), height.div_ceil(BLOCK));
    let mut dirty = vec![false; bw * bh];
    for &(i, v) in seeds {
        let (x, y) = (i % width, i / width);
        img[(y + R) * pw + x + R] = v;
        dirty[(y / BLOCK) * bw + x / BLOCK] = true;
    }
    let mut response = vec![0f32; width * height];
    // Per canvas row, the span of finger pixels: the background is never filtered.
    let spans: Vec<(usize, usize)> = (0..height)
        .map(|y| {
            let row = &area[y * width..(y + 1) * width];
            match row.iter().position(|&a| a) {
                Some(x0) => (x0, width - row.iter().rev().position(|&a| a).unwrap_or(0)),
                None => (0, 0),
            }
        })
        .collect();
    let mut todo = vec![false; bw * bh];
    for _ in 0..iterations {
        for by in 0..bh {
            for bx in 0..bw {
                let (y0, y1) = (by.saturating_sub(1), (by + 2).min(bh));
                let (x0, x1) = (bx.saturating_sub(1), (bx + 2).min(bw));
                todo[by * bw + bx] = (y0..y1).any(|y| (x0..x1).any(|x| dirty[y * bw + x]));
            }
        }
        // Filter every pixel of the blocks to do, then update the image (all responses see the same input).
        for_each_pixel(&todo, bw, width, height, &spans, |x, y| {
            let i = y * width + x;
            if !area[i] {
                return;
            }
            let k = &bank.kernels[kernels[i] as usize];
            let mut acc = 0f32;
            for (j, krow) in k.iter().enumerate() {
                let start = (y + j) * pw + x;
                acc += dot(img[start..start + SIDE].try_into().expect("kernel row"), krow);
            }
            response[i] = acc;
        });
        dirty.fill(false);
        for_each_pixel(&todo, bw, width, height, &spans, |x, y| {
            let v = (GAIN * response[y * width + x]).clamp(-1.0, 1.0);
            let d = &mut img[(y + R) * pw + x + R];
            // Exact comparison on purpose: only a bit-identical input lets a pixel be skipped.
            if d.to_bits() != v.to_bits() {
                *d = v;
                dirty[(y / BLOCK) * bw + x / BLOCK] = true;
            }
        });
    }
    response
}

/// Calls `f(x, y)` for every pixel inside the row spans of the blocks marked in `todo`.
fn for_each_pixel(
    todo: &[bool],
    bw: usize,
    width: usize,
    height: usize,
    spans: &[(usize, usize)],
    mut f: impl FnMut(usize, usize),
) {
    for (b, _) in todo.iter().enumerate().filter(|(_, t)| **t) {
        let (bx, by) = (b % bw, b / bw);
        let y0 = by * BLOCK;
        for (y, &(s0, s1)) in spans.iter().enumerate().take(((by + 1) * BLOCK).min(height)).skip(y0) {
            for x in (bx * BLOCK).max(s0)..((bx + 1) * BLOCK).min(width).min(s1) {
                f(x, y);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernels_are_zero_mean_and_unit_gain() {
        for &(theta, period) in &[(0.0, 9.0), (1.0, 7.5), (2.5, 11.5)] {
            let k = kernel(theta, period);
            assert!(k.iter().sum::<f32>().abs() < 1e-4);
            // A ridge pattern of the kernel's own orientation and period gives 1; across it, about 0.
            let resp = |t: f32| -> f32 {
                let (nx, ny) = (-t.sin(), t.cos());
                (0..TAPS)
                    .map(|i| {
                        let (x, y) = ((i % SIDE) as f32 - R as f32, (i / SIDE) as f32 - R as f32);
                        k[i] * (TAU * (x * nx + y * ny) / period).cos()
                    })
                    .sum()
            };
            assert!((resp(theta) - 1.0).abs() < 1e-4);
            assert!(resp(theta + PI / 2.0).abs() < 0.2);
        }
    }

    #[test]
    fn kernel_index_wraps_orientation() {
        assert_eq!(kernel_index(0.0, 7.5), 0);
        assert_eq!(kernel_index(PI - 0.01, 7.5), 0);
        assert_eq!(kernel_index(PI / 2.0, 7.5), (ANGLES / 2) as u16);
        assert_eq!(kernel_index(0.0, 100.0), ((period_levels() - 1) * ANGLES) as u16);
    }
}
