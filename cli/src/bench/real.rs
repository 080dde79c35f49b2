//! `khil bench match --dataset DIR`: the FVC protocol on a user's own scans, khil and NBIS on the same images in
//! the same run. Genuine: every impression against every later one of the same finger. Impostors two ways: FVC's
//! (first impression of each finger against the first of every other) and all cross-finger pairs, which on a
//! small set (10 fingers x 8: 45 FVC impostors, 2,880 all-pairs) is the only figure with any resolution.

use std::path::Path;

use khil_biometrics::GrayImage;
use khil_biometrics::eval::{self, ErrorRates};
use serde::Serialize;

use super::dataset::{self, FingerScans};
use super::matching::{CalibrationCheck, Khil, MatchBenchArgs, Measured, NBIS_NAME, Pairs, run_nbis, run_system};

/// The targets of issue #16, printed beside the measured ratios.
const TARGET_EER_RATIO: f64 = 1.0 / 3.0;
const TARGET_EXTRACTION_SPEEDUP: f64 = 3.0;
const TARGET_COMPARISON_SPEEDUP: f64 = 20.0;

#[derive(Debug, Serialize)]
struct Row {
    system: &'static str,
    /// EER with every cross-finger pair as an impostor comparison.
    eer: f64,
    /// EER with FVC's impostors only (first impressions).
    eer_fvc: f64,
    fmr100: f64,
    fmr1000: f64,
    zero_fmr: f64,
    extraction_ms_per_image: f64,
    comparison_ms: f64,
    minutiae_per_image: f64,
}

#[derive(Debug, Serialize)]
struct Ratios {
    eer_khil_over_nbis: f64,
    eer_fvc_khil_over_nbis: f64,
    extraction_speedup: f64,
    comparison_speedup: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    dataset: String,
    dpi: u16,
    fingers: usize,
    images: usize,
    image_sizes: Vec<(usize, usize)>,
    genuine_comparisons: usize,
    impostor_comparisons_fvc: usize,
    impostor_comparisons_all_pairs: usize,
    systems: Vec<Row>,
    ratios: Option<Ratios>,
    /// khil's calibrated thresholds for 10 %, 1 % and 0.1 % FMR on these scans' all-pairs impostors: the scale
    /// is measured on synthetic impostors, and this says whether it holds on the user's own.
    khil_calibration: Vec<CalibrationCheck>,
}

/// Genuine pairs, then all cross-finger impostor pairs with FVC's (first impression against first) at the
/// front, so that `impostor[..fvc]` is FVC's set. `sizes[f]` = impressions of finger f, laid out in order.
pub(super) fn pairs(sizes: &[usize]) -> (Pairs, Pairs, usize) {
    let starts: Vec<usize> = sizes.iter().scan(0, |s, &n| Some(std::mem::replace(s, *s + n))).collect();
    let mut genuine = Vec::new();
    for (f, &n) in sizes.iter().enumerate() {
        for i in 0..n {
            for j in i + 1..n {
                genuine.push((starts[f] + i, starts[f] + j));
            }
        }
    }
    let mut impostor = Vec::new();
    for f in 0..sizes.len() {
        for g in f + 1..sizes.len() {
            impostor.push((starts[f], starts[g]));
        }
    }
    let fvc = impostor.len();
    for f in 0..sizes.len() {
        for g in f + 1..sizes.len() {
            for i in 0..sizes[f] {
                for j in 0..sizes[g] {
                    if i > 0 || j > 0 {
                        impostor.push((starts[f] + i, starts[g] + j));
                    }
                }
            }
        }
    }
    (genuine, impostor, fvc)
}

fn row(system: &'static str, m: &Measured, fvc: usize) -> Row {
    let fvc_rates: ErrorRates = eval::error_rates(&m.genuine, &m.impostor[..fvc]);
    Row {
        system,
        eer: m.rates.eer,
        eer_fvc: fvc_rates.eer,
        fmr100: m.rates.fmr100,
        fmr1000: m.rates.fmr1000,
        zero_fmr: m.rates.zero_fmr,
        extraction_ms_per_image: m.extraction.as_secs_f64() * 1e3,
        comparison_ms: m.comparison.as_secs_f64() * 1e3,
        minutiae_per_image: m.minutiae,
    }
}

pub(super) fn run(dir: &Path, args: &MatchBenchArgs) -> Result<(), String> {
    let set: Vec<FingerScans> = dataset::load(dir)?;
    let images: Vec<&GrayImage> = set.iter().flat_map(|f| f.impressions.iter().map(|(_, i)| i)).collect();
    let sizes: Vec<usize> = set.iter().map(|f| f.impressions.len()).collect();
    let (genuine, impostor, fvc) = pairs(&sizes);
    let mut image_sizes: Vec<(usize, usize)> = images.iter().map(|i| (i.width, i.height)).collect();
    image_sizes.sort_unstable();
    image_sizes.dedup();
    let pairs = (genuine, impostor);
    eprintln!("{}: {} fingers, {} images; khil: extracting and comparing ...", dir.display(), set.len(), images.len());
    let khil = run_system(&Khil(args.dpi), &images, &[], &pairs)?;
    let nbis = if args.no_nbis { None } else { run_nbis(&images, &[], &pairs, args.dpi)? };

    let mut systems = vec![row("khil", &khil, fvc)];
    let mut ratios = None;
    if let Some(n) = &nbis {
        let nbis_row = row(NBIS_NAME, n, fvc);
        ratios = Some(Ratios {
            eer_khil_over_nbis: systems[0].eer / nbis_row.eer.max(1e-12),
            eer_fvc_khil_over_nbis: systems[0].eer_fvc / nbis_row.eer_fvc.max(1e-12),
            extraction_speedup: nbis_row.extraction_ms_per_image / systems[0].extraction_ms_per_image.max(1e-12),
            comparison_speedup: nbis_row.comparison_ms / systems[0].comparison_ms.max(1e-12),
        });
        systems.push(nbis_row);
    }
    let report = Report {
        bench: "match --dataset",
        dataset: dir.display().to_string(),
        dpi: args.dpi,
        fingers: set.len(),
        images: images.len(),
        image_sizes,
        genuine_comparisons: pairs.0.len(),
        impostor_comparisons_fvc: fvc,
        impostor_comparisons_all_pairs: pairs.1.len(),
        systems,
        ratios,
        khil_calibration: CalibrationCheck::measure(&khil, &[0.1, 0.01, 0.001]),
    };
    print_report(&report);
    if let Some(out) = &args.out {
        write_outputs(out, &report, &khil, nbis.as_ref())?;
    }
    if let Some(path) = &args.json {
        super::write_json(path, &report)?;
    }
    Ok(())
}

fn write_outputs(dir: &Path, report: &Report, khil: &Measured, nbis: Option<&Measured>) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    let mut curves = vec![("khil", eval::det_curve(&khil.genuine, &khil.impostor))];
    if let Some(n) = nbis {
        curves.push(("NBIS", eval::det_curve(&n.genuine, &n.impostor)));
    }
    let refs: Vec<(&str, &[eval::DetPoint])> = curves.iter().map(|(n, c)| (*n, c.as_slice())).collect();
    let title = format!("DET, {} ({} fingers, all cross-finger impostors)", report.dataset, report.fingers);
    write("det.svg", eval::det_svg(&title, &refs))?;
    write("scores-khil.svg", eval::histogram_svg("khil raw similarity", &khil.genuine, &khil.impostor, 50))?;
    if let Some(n) = nbis {
        write("scores-nbis.svg", eval::histogram_svg("NBIS bozorth3 scores", &n.genuine, &n.impostor, 50))?;
    }
    super::write_json(&dir.join("report.json"), report)
}

fn print_report(r: &Report) {
    println!(
        "khil bench match --dataset {}: {} fingers, {} images at {} dpi; {} genuine, {} impostor (all pairs; FVC: {})",
        r.dataset,
        r.fingers,
        r.images,
        r.dpi,
        r.genuine_comparisons,
        r.impostor_comparisons_all_pairs,
        r.impostor_comparisons_fvc
    );
    println!(
        "{:<26} {:>7} {:>9} {:>8} {:>8} {:>9} {:>12} {:>11} {:>9}",
        "system", "EER %", "EER FVC%", "FMR100 %", "FMR1000%", "ZeroFMR%", "extract ms", "compare ms", "minutiae"
    );
    for s in &r.systems {
        println!(
            "{:<26} {:>7.2} {:>9.2} {:>8.2} {:>8.2} {:>9.2} {:>12.2} {:>11.4} {:>9.1}",
            s.system,
            s.eer * 100.0,
            s.eer_fvc * 100.0,
            s.fmr100 * 100.0,
            s.fmr1000 * 100.0,
            s.zero_fmr * 100.0,
            s.extraction_ms_per_image,
            s.comparison_ms,
            s.minutiae_per_image
        );
    }
    CalibrationCheck::print(&r.khil_calibration);
    if let Some(x) = &r.ratios {
        println!(
            "khil vs NBIS: EER ratio {:.3} (target <= {:.3}), extraction {:.1}x faster (target >= {}), \
             comparison {:.1}x faster (target >= {})",
            x.eer_khil_over_nbis,
            TARGET_EER_RATIO,
            x.extraction_speedup,
            TARGET_EXTRACTION_SPEEDUP,
            x.comparison_speedup,
            TARGET_COMPARISON_SPEEDUP
        );
    }
}

#[cfg(test)]
mod tests {
    use super::pairs;

    #[test]
    fn ten_by_eight_gives_the_issue_counts_and_fvc_impostors_first() {
        let (g, i, fvc) = pairs(&[8; 10]);
        assert_eq!((g.len(), fvc, i.len()), (280, 45, 80 * 72 / 2));
        // The first 45 are first impression against first impression.
        assert!(i[..fvc].iter().all(|&(a, b)| a % 8 == 0 && b % 8 == 0 && a < b));
        let mut all = i.clone();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), i.len(), "no impostor pair twice");
        assert!(i.iter().all(|&(a, b)| a / 8 != b / 8));
    }

    #[test]
    fn uneven_fingers_are_laid_out_in_order() {
        let (g, i, fvc) = pairs(&[2, 3]);
        assert_eq!(g, vec![(0, 1), (2, 3), (2, 4), (3, 4)]);
        assert_eq!((fvc, i.len()), (1, 6));
        assert_eq!(i[0], (0, 2));
    }
}
