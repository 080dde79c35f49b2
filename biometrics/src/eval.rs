//! Evaluation in the FVC style: error rates from genuine and impostor score lists, DET curves and score
//! histograms as SVG, and extraction accuracy against ground-truth minutiae.

use std::fmt::Write;

use crate::minutia::{Minutia, angle_diff};

/// Error rates of one system on one set of comparisons. Rates are fractions (0.01 = 1 %).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRates {
    pub genuine: usize,
    pub impostor: usize,
    /// Equal error rate: where FMR and FNMR cross (mean of the two at the closest threshold).
    pub eer: f64,
    /// Lowest FNMR with FMR <= 1 %.
    pub fmr100: f64,
    /// Lowest FNMR with FMR <= 0.1 %.
    pub fmr1000: f64,
    /// Lowest FNMR with no false match at all.
    pub zero_fmr: f64,
    /// Lowest FNMR with FMR <= 0.05 % (the EU Entry/Exit System operating point).
    pub fnmr_at_fmr_0_05: f64,
}

/// One point of a DET curve: a threshold and the two error rates it gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetPoint {
    pub threshold: f64,
    pub fmr: f64,
    pub fnmr: f64,
}

/// FMR and FNMR at every distinct threshold, for scores where higher means more similar. A comparison
/// matches when its score is >= the threshold.
pub fn det_curve(genuine: &[f64], impostor: &[f64]) -> Vec<DetPoint> {
    let mut g: Vec<f64> = genuine.to_vec();
    let mut i: Vec<f64> = impostor.to_vec();
    g.sort_by(f64::total_cmp);
    i.sort_by(f64::total_cmp);
    let mut thresholds: Vec<f64> = g.iter().chain(&i).copied().collect();
    thresholds.sort_by(f64::total_cmp);
    thresholds.dedup();
    thresholds.push(f64::INFINITY);
    let (ng, ni) = (g.len().max(1) as f64, i.len().max(1) as f64);
    thresholds
        .into_iter()
        .map(|t| {
            // Genuine below t are false non-matches; impostors at or above t are false matches.
            let fnm = g.partition_point(|&s| s < t);
            let fm = i.len() - i.partition_point(|&s| s < t);
            DetPoint { threshold: t, fmr: fm as f64 / ni, fnmr: fnm as f64 / ng }
        })
        .collect()
}

/// Lowest FNMR among thresholds whose FMR is at most `fmr`.
pub fn fnmr_at(curve: &[DetPoint], fmr: f64) -> f64 {
    curve.iter().filter(|p| p.fmr <= fmr).map(|p| p.fnmr).fold(1.0, f64::min)
}

pub fn error_rates(genuine: &[f64], impostor: &[f64]) -> ErrorRates {
    let curve = det_curve(genuine, impostor);
    let eer = curve
        .iter()
        .min_by(|a, b| (a.fmr - a.fnmr).abs().total_cmp(&(b.fmr - b.fnmr).abs()))
        .map_or(1.0, |p| f64::midpoint(p.fmr, p.fnmr));
    ErrorRates {
        genuine: genuine.len(),
        impostor: impostor.len(),
        eer,
        fmr100: fnmr_at(&curve, 0.01),
        fmr1000: fnmr_at(&curve, 0.001),
        zero_fmr: fnmr_at(&curve, 0.0),
        fnmr_at_fmr_0_05: fnmr_at(&curve, 0.0005),
    }
}

/// Recall and precision of extracted minutiae against ground truth: a detection counts when it lies within
/// `max_distance` pixels and `max_angle` radians of a true minutia not already claimed (greedy, nearest first).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Accuracy {
    pub truth: usize,
    pub detected: usize,
    pub paired: usize,
}

impl Accuracy {
    pub fn recall(&self) -> f64 {
        if self.truth == 0 { 1.0 } else { self.paired as f64 / self.truth as f64 }
    }

    pub fn precision(&self) -> f64 {
        if self.detected == 0 { 1.0 } else { self.paired as f64 / self.detected as f64 }
    }

    pub fn add(&mut self, other: Accuracy) {
        self.truth += other.truth;
        self.detected += other.detected;
        self.paired += other.paired;
    }
}

pub fn extraction_accuracy(truth: &[Minutia], detected: &[Minutia], max_distance: f32, max_angle: f32) -> Accuracy {
    let mut candidates: Vec<(f32, usize, usize)> = Vec::new();
    for (ti, t) in truth.iter().enumerate() {
        for (di, d) in detected.iter().enumerate() {
            let dist = (t.x - d.x).hypot(t.y - d.y);
            if dist <= max_distance && angle_diff(t.angle, d.angle) <= max_angle {
                candidates.push((dist, ti, di));
            }
        }
    }
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (mut t_used, mut d_used) = (vec![false; truth.len()], vec![false; detected.len()]);
    let mut paired = 0;
    for (_, ti, di) in candidates {
        if !t_used[ti] && !d_used[di] {
            t_used[ti] = true;
            d_used[di] = true;
            paired += 1;
        }
    }
    Accuracy { truth: truth.len(), detected: detected.len(), paired }
}

/// Normal quantile (probit) for the DET axes; Acklam's rational approximation (relative error < 1.2e-9).
/// Written by hand: one function, no statistics crate needed for it.
#[allow(clippy::unreadable_literal, clippy::excessive_precision)] // the published coefficients, digit for digit
pub fn probit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] =
        [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
    let low = 0.02425;
    if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -probit(1.0 - p)
    }
}

/// A DET plot (FNMR against FMR on normal-deviate axes) of several systems, as a self-contained SVG.
pub fn det_svg(title: &str, systems: &[(&str, &[DetPoint])]) -> String {
    let (w, h, m) = (560.0, 480.0, 60.0);
    let ticks = [0.0001, 0.001, 0.01, 0.05, 0.2, 0.5];
    let (lo, hi) = (probit(0.00005), probit(0.6));
    let sx = |p: f64| m + (probit(p) - lo) / (hi - lo) * (w - 1.5 * m);
    let sy = |p: f64| h - m - (probit(p) - lo) / (hi - lo) * (h - 1.5 * m);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="white"/><text x="{}" y="18" text-anchor="middle" font-size="14">{}</text>"##,
        w / 2.0,
        xml(title)
    );
    for t in ticks {
        let (x, y) = (sx(t), sy(t));
        let _ = write!(
            s,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#ddd"/><line x1="{m}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            m * 0.5,
            h - m,
            w - 0.5 * m,
            h - m + 16.0,
            pct(t),
            m - 4.0,
            y + 4.0,
            pct(t)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle">false match rate</text><text transform="translate(14 {:.1}) rotate(-90)" text-anchor="middle">false non-match rate</text>"##,
        w / 2.0,
        h - 18.0,
        h / 2.0
    );
    let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
    for (k, (name, curve)) in systems.iter().enumerate() {
        let colour = colours[k % colours.len()];
        let mut path = String::new();
        for p in curve.iter().filter(|p| p.fmr > 0.0 && p.fnmr > 0.0) {
            let _ = write!(path, "{}{:.1},{:.1}", if path.is_empty() { "M" } else { " L" }, sx(p.fmr), sy(p.fnmr));
        }
        let _ = write!(
            s,
            r##"<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"/><text x="{:.1}" y="{:.1}" fill="{colour}">{}</text>"##,
            w - 1.5 * m,
            40.0 + 16.0 * k as f64,
            xml(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// Genuine and impostor score histograms of one system, as a self-contained SVG.
pub fn histogram_svg(title: &str, genuine: &[f64], impostor: &[f64], bins: usize) -> String {
    let (w, h, m) = (560.0, 300.0, 40.0);
    let max = genuine.iter().chain(impostor).copied().fold(f64::MIN, f64::max).max(1e-9);
    let min = genuine.iter().chain(impostor).copied().fold(f64::MAX, f64::min).min(max);
    let bins = bins.max(1);
    let count = |v: &[f64]| {
        let mut c = vec![0usize; bins];
        for &x in v {
            let b = (((x - min) / (max - min + 1e-12)) * bins as f64) as usize;
            c[b.min(bins - 1)] += 1;
        }
        let n = v.len().max(1) as f64;
        c.into_iter().map(|k| k as f64 / n).collect::<Vec<f64>>()
    };
    let (g, i) = (count(genuine), count(impostor));
    let top = g.iter().chain(&i).copied().fold(0.0, f64::max).max(1e-9);
    let bw = (w - 2.0 * m) / bins as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11"><rect width="100%" height="100%" fill="white"/><text x="{}" y="18" text-anchor="middle" font-size="14">{}</text>"##,
        w / 2.0,
        xml(title)
    );
    for (k, (series, colour)) in [(&i, "#d62728"), (&g, "#1f77b4")].into_iter().enumerate() {
        for (b, &v) in series.iter().enumerate() {
            let bh = v / top * (h - 2.0 * m);
            let _ = write!(
                s,
                r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="{colour}" fill-opacity="0.55"/>"##,
                m + b as f64 * bw,
                h - m - bh,
                bw.max(1.0)
            );
        }
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="{:.1}" fill="{colour}">{}</text>"##,
            w - 140.0,
            36.0 + 14.0 * k as f64,
            if k == 0 { "impostor" } else { "genuine" }
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{m}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="black"/><text x="{m}" y="{:.1}">{min:.3}</text><text x="{:.1}" y="{:.1}" text-anchor="end">{max:.3}</text><text x="{:.1}" y="{:.1}" text-anchor="middle">score</text></svg>"##,
        h - m,
        w - m,
        h - m,
        h - m + 14.0,
        w - m,
        h - m + 14.0,
        w / 2.0,
        h - 8.0
    );
    s.push('\n');
    s
}

fn pct(p: f64) -> String {
    let v = p * 100.0;
    if v >= 1.0 { format!("{v:.0}%") } else { format!("{v}%") }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minutia::MinutiaKind;

    #[test]
    fn separable_scores_have_zero_error() {
        let r = error_rates(&[0.8, 0.9, 0.7], &[0.1, 0.2, 0.3, 0.1]);
        assert_eq!((r.eer, r.fmr100, r.zero_fmr), (0.0, 0.0, 0.0));
    }

    #[test]
    fn overlapping_scores() {
        // Genuine 0.5..0.9, impostors 0.0..0.6: at threshold 0.55 one genuine (0.5) is lost and one impostor
        // (0.6) passes.
        let g = [0.5, 0.6, 0.7, 0.8, 0.9];
        let i = [0.0, 0.1, 0.2, 0.3, 0.6];
        let curve = det_curve(&g, &i);
        let at = |t: f64| curve.iter().find(|p| (p.threshold - t).abs() < 1e-12).copied().unwrap();
        assert_eq!(at(0.6), DetPoint { threshold: 0.6, fmr: 0.2, fnmr: 0.2 });
        let r = error_rates(&g, &i);
        assert!((r.eer - 0.2).abs() < 1e-12, "{r:?}");
        assert!((r.zero_fmr - 0.4).abs() < 1e-12, "{r:?}");
    }

    #[test]
    fn probit_known_values() {
        assert!(probit(0.5).abs() < 1e-9);
        assert!((probit(0.975) - 1.959_963_985).abs() < 1e-6);
        assert!((probit(0.001) + 3.090_232_306).abs() < 1e-6);
    }

    #[test]
    fn accuracy_pairs_each_minutia_once() {
        let m = |x: f32, a: f32| Minutia::new(x, 0.0, a, MinutiaKind::Ending, 0);
        let truth = [m(0.0, 0.0), m(30.0, 0.0)];
        let detected = [m(3.0, 0.1), m(5.0, 0.0), m(30.0, 1.5), m(100.0, 0.0)];
        let a = extraction_accuracy(&truth, &detected, 12.0, 22.5f32.to_radians());
        assert_eq!(a, Accuracy { truth: 2, detected: 4, paired: 1 });
        assert!((a.recall() - 0.5).abs() < 1e-12 && (a.precision() - 0.25).abs() < 1e-12);
    }

    #[test]
    fn svgs_are_well_formed_enough() {
        let curve = det_curve(&[0.5, 0.6, 0.9], &[0.1, 0.55]);
        let svg = det_svg("a <b>", &[("khil", &curve)]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>") && svg.contains("a &lt;b&gt;"));
        let h = histogram_svg("h", &[0.5, 0.6], &[0.1], 10);
        assert!(h.starts_with("<svg") && h.trim_end().ends_with("</svg>"));
    }
}
