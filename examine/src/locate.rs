//! Finding the page in a capture: the reader's lid is dark, the page bright in white light. The page is the
//! region above an Otsu threshold; each row's span from its first to its last bright pixel fills the dark print
//! inside the page (a rotated rectangle is convex); the filled region's moments give the centre, the rotation
//! and the side lengths (a uniform rectangle's variance along a side of length L is L²/12).

use khil_biometrics::image::GrayImage;

use crate::model::RectMm;
use crate::model::RoutineLight;
use crate::report::{Placement, Region};

/// Why the page could not be located.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum LocateError {
    Empty,
    NoPage,
    Truncated,
}

impl LocateError {
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            LocateError::Empty => "the white capture is empty or its pixel count does not match its size",
            LocateError::NoPage => "no page found in the white capture (nothing brighter than the reader's lid)",
            LocateError::Truncated => {
                "the page extends beyond the white capture (truncated capture or page off the glass)"
            }
        }
    }
}

/// The page's pose in the captures: maps page millimetres to capture pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Frame {
    pub(crate) cx: f32,
    pub(crate) cy: f32,
    pub(crate) cos: f32,
    pub(crate) sin: f32,
    /// Pixels per millimetre.
    pub(crate) k: f32,
    /// The page size the mapping is centred on (the model's when known, else the measured one).
    pub(crate) w_mm: f32,
    pub(crate) h_mm: f32,
    pub(crate) measured_w_mm: f32,
    pub(crate) measured_h_mm: f32,
}

impl Frame {
    pub(crate) fn to_px(self, x_mm: f32, y_mm: f32) -> (f32, f32) {
        let (u, v) = ((x_mm - self.w_mm / 2.0) * self.k, (y_mm - self.h_mm / 2.0) * self.k);
        (self.cx + u * self.cos - v * self.sin, self.cy + u * self.sin + v * self.cos)
    }

    /// Page millimetres of a capture pixel position.
    pub(crate) fn to_mm(self, x: f32, y: f32) -> (f32, f32) {
        let (dx, dy) = (x - self.cx, y - self.cy);
        let (u, v) = (dx * self.cos + dy * self.sin, -dx * self.sin + dy * self.cos);
        (u / self.k + self.w_mm / 2.0, v / self.k + self.h_mm / 2.0)
    }

    pub(crate) fn with_size(mut self, w_mm: f32, h_mm: f32) -> Frame {
        self.w_mm = w_mm;
        self.h_mm = h_mm;
        self
    }

    pub(crate) fn region(&self, light: RoutineLight, r: RectMm) -> Region {
        let c = |x, y| {
            let (px, py) = self.to_px(x, y);
            [px, py]
        };
        Region { light, corners: [c(r.x, r.y), c(r.x + r.w, r.y), c(r.x + r.w, r.y + r.h), c(r.x, r.y + r.h)] }
    }

    pub(crate) fn placement(&self) -> Placement {
        Placement {
            centre: [self.cx, self.cy],
            rotation_deg: self.sin.atan2(self.cos).to_degrees(),
            width_mm: self.measured_w_mm,
            height_mm: self.measured_h_mm,
        }
    }
}

/// Bilinear sample at capture coordinates (pixel centres at +0.5); `None` outside the image.
pub(crate) fn sample(img: &GrayImage, x: f32, y: f32) -> Option<f32> {
    let (fx, fy) = (x - 0.5, y - 0.5);
    if !(fx >= 0.0 && fy >= 0.0) || fx > (img.width as f32 - 1.0) || fy > (img.height as f32 - 1.0) {
        return None;
    }
    let (x0, y0) = (fx as usize, fy as usize);
    let (x1, y1) = ((x0 + 1).min(img.width - 1), (y0 + 1).min(img.height - 1));
    let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
    let p = |x: usize, y: usize| f32::from(img.pixels[y * img.width + x]);
    let top = p(x0, y0) * (1.0 - tx) + p(x1, y0) * tx;
    let bottom = p(x0, y1) * (1.0 - tx) + p(x1, y1) * tx;
    Some(top * (1.0 - ty) + bottom * ty)
}

pub(crate) fn image_ok(img: &GrayImage) -> bool {
    img.width >= 16 && img.height >= 16 && img.pixels.len() == img.width * img.height
}

/// Otsu's threshold of an 8-bit image.
fn otsu(img: &GrayImage) -> u8 {
    let mut hist = [0u64; 256];
    for &p in &img.pixels {
        hist[usize::from(p)] += 1;
    }
    let total = img.pixels.len() as f64;
    let sum: f64 = hist.iter().enumerate().map(|(i, &h)| i as f64 * h as f64).sum();
    let (mut w0, mut sum0, mut best, mut best_t) = (0.0, 0.0, -1.0, 128u8);
    for (t, &h) in hist.iter().enumerate() {
        w0 += h as f64;
        sum0 += t as f64 * h as f64;
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let (m0, m1) = (sum0 / w0, (sum - sum0) / w1);
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

/// Locates the page in the white capture.
pub(crate) fn locate(img: &GrayImage, dpi: u16) -> Result<Frame, LocateError> {
    if !image_ok(img) || dpi == 0 {
        return Err(LocateError::Empty);
    }
    let t = otsu(img);
    let (w, h) = (img.width, img.height);
    // Two bright pixels in a row: single noise spikes on the lid are not the page.
    let bright = |row: &[u8], x: usize| row[x] > t && row.get(x + 1).is_some_and(|&v| v > t);
    let (mut m00, mut m10, mut m01, mut m20, mut m02, mut m11) = (0f64, 0f64, 0f64, 0f64, 0f64, 0f64);
    let mut touches = false;
    let (mut first_row, mut last_row) = (usize::MAX, 0usize);
    let s2 = |m: f64| m * (m + 1.0) * (2.0 * m + 1.0) / 6.0;
    for y in 0..h {
        let row = &img.pixels[y * w..(y + 1) * w];
        let Some(a) = (0..w - 1).find(|&x| bright(row, x)) else { continue };
        let b = (1..w).rev().find(|&x| row[x] > t && row[x - 1] > t).unwrap_or(a);
        if b < a + 4 {
            continue;
        }
        if a == 0 || b >= w - 1 {
            touches = true;
        }
        first_row = first_row.min(y);
        last_row = y;
        let (a, b) = (a as f64, b as f64);
        let n = b - a + 1.0;
        // Pixel centres at +0.5.
        let sx = n * (a + b) / 2.0 + n * 0.5;
        let sxx = s2(b) - s2(a - 1.0) + (n * (a + b) / 2.0) + n * 0.25;
        let yc = y as f64 + 0.5;
        m00 += n;
        m10 += sx;
        m01 += n * yc;
        m20 += sxx;
        m02 += n * yc * yc;
        m11 += sx * yc;
    }
    if m00 < (w * h) as f64 * 0.05 {
        return Err(LocateError::NoPage);
    }
    if touches || first_row == 0 || last_row >= h - 1 {
        return Err(LocateError::Truncated);
    }
    let (cx, cy) = (m10 / m00, m01 / m00);
    let mu20 = m20 / m00 - cx * cx;
    let mu02 = m02 / m00 - cy * cy;
    let mu11 = m11 / m00 - cx * cy;
    let angle = 0.5 * (2.0 * mu11).atan2(mu20 - mu02);
    let half = f64::midpoint(mu20, mu02);
    let root = (((mu20 - mu02) / 2.0).powi(2) + mu11 * mu11).sqrt();
    let (l1, l2) = (half + root, (half - root).max(0.0));
    let k = f32::from(dpi) / 25.4;
    let (wm, hm) = ((12.0 * l1).sqrt() as f32 / k, (12.0 * l2).sqrt() as f32 / k);
    Ok(Frame {
        cx: cx as f32,
        cy: cy as f32,
        cos: angle.cos() as f32,
        sin: angle.sin() as f32,
        k,
        w_mm: wm,
        h_mm: hm,
        measured_w_mm: wm,
        measured_h_mm: hm,
    })
}

/// The reader lid's grey level in a capture: the median of a frame of points along the capture's border that
/// lie well outside the page. `None` when the page leaves no lid in view.
pub(crate) fn lid_level(img: &GrayImage, frame: &Frame) -> Option<f32> {
    if !image_ok(img) {
        return None;
    }
    let inset = frame.k * 1.0;
    let (w, h) = (img.width as f32, img.height as f32);
    let step = frame.k * 1.0;
    let mut values = Vec::new();
    let mut visit = |x: f32, y: f32| {
        let (u, v) = frame.to_mm(x, y);
        let outside = u < -1.0 || v < -1.0 || u > frame.w_mm + 1.0 || v > frame.h_mm + 1.0;
        if outside && let Some(s) = sample(img, x, y) {
            values.push(s);
        }
    };
    let mut x = inset;
    while x < w - inset {
        visit(x, inset);
        visit(x, h - inset);
        x += step;
    }
    let mut y = inset;
    while y < h - inset {
        visit(inset, y);
        visit(w - inset, y);
        y += step;
    }
    if values.len() < 8 {
        return None;
    }
    Some(median(&mut values))
}

pub(crate) fn median(v: &mut [f32]) -> f32 {
    percentile(v, 0.5)
}

/// The `q` quantile (nearest rank) of `v`, which it reorders; NaN when empty.
pub(crate) fn percentile(v: &mut [f32], q: f32) -> f32 {
    if v.is_empty() {
        return f32::NAN;
    }
    let i = ((v.len() - 1) as f32 * q).round() as usize;
    let (_, x, _) = v.select_nth_unstable_by(i, f32::total_cmp);
    *x
}
