//! `khil bench match`: the FVC protocol on a synthetic set, for khil and for the NIST NBIS reference
//! (MINDTCT + BOZORTH3) on the same images in the same run.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use khil_biometrics::eval::{self, Accuracy, ErrorRates};
use khil_biometrics::matcher::{self, MatchTemplate};
use khil_biometrics::synth::{self, Quality, SensorProfile};
use khil_biometrics::{GrayImage, Minutiae, extract};
use serde::Serialize;

#[derive(Debug, Args)]
#[command(
    about = "FVC-protocol matching benchmark, khil vs NIST NBIS on the same images in the same run: synthetic \
             prints, or your own scans with --dataset",
    after_help = "Examples:\n  khil bench match --out bench-match/   # synthetic, 100 fingers x 8 impressions; JSON and SVGs\n  \
                  khil bench match --dataset scans/ --dpi 500 --out bench-scans/   # scans/101_1.tif ..."
)]
pub(crate) struct MatchBenchArgs {
    /// Fingers in the synthetic set
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(2..=10_000))]
    fingers: u32,
    /// Impressions per finger
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=64))]
    impressions: u32,
    /// Seed of the synthetic set
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Sensor profile: flat (300x400), r307 (256x288) or r503 (192x192)
    #[arg(long, default_value = "flat")]
    sensor: String,
    /// Fingers of the good-quality set on which extraction is scored against ground truth
    #[arg(long, default_value_t = 25)]
    truth_fingers: u32,
    /// Skip the NBIS reference (its figures are then missing from the report)
    #[arg(long)]
    pub(super) no_nbis: bool,
    /// Directory for report.json, det.svg, the score histograms and a few sample impressions (PNG)
    #[arg(long, value_name = "DIR")]
    pub(super) out: Option<PathBuf>,
    /// Also write the JSON report to FILE
    #[arg(long, value_name = "FILE")]
    pub(super) json: Option<PathBuf>,
    /// Your own scans instead of the synthetic set: a folder of <finger>_<impression>.tif|png|bmp, 8-bit grey
    #[arg(long, value_name = "DIR")]
    pub(super) dataset: Option<PathBuf>,
    /// Resolution of the --dataset scans, in dots per inch (both systems are told it)
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(250..=1000))]
    pub(super) dpi: u16,
}

/// One system's figures.
#[derive(Debug, Serialize)]
struct SystemRow {
    system: &'static str,
    eer: f64,
    fmr100: f64,
    fmr1000: f64,
    zero_fmr: f64,
    fnmr_at_fmr_0_05_percent: f64,
    extraction_ms_per_image: f64,
    comparisons_per_second_per_core: f64,
    minutiae_per_image: f64,
    truth_recall: f64,
    truth_precision: f64,
    /// khil only: the FMR measured on this set at the calibrated thresholds for 0.05 %, 0.01 %, 0.001 %.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    calibrated_thresholds: Vec<CalibrationCheck>,
}

#[derive(Debug, Serialize)]
pub(super) struct CalibrationCheck {
    target_fmr: f64,
    score_threshold: f32,
    measured_fmr: f64,
    measured_fnmr: f64,
}

impl CalibrationCheck {
    /// khil's calibrated threshold for each false match rate in `targets`, and the rates it gives on the
    /// measured comparisons (raw similarities): does the scale, measured on synthetic impostors, hold here?
    pub(super) fn measure(khil: &Measured, targets: &[f64]) -> Vec<Self> {
        let share = |scores: &[f64], pass: bool, threshold: f32| {
            let n = scores.iter().filter(|&&s| (matcher::calibrated(s as f32) >= threshold) == pass).count();
            n as f64 / scores.len().max(1) as f64
        };
        targets
            .iter()
            .map(|&fmr| {
                let threshold = matcher::threshold_for(fmr);
                Self {
                    target_fmr: fmr,
                    score_threshold: threshold,
                    measured_fmr: share(&khil.impostor, true, threshold),
                    measured_fnmr: share(&khil.genuine, false, threshold),
                }
            })
            .collect()
    }

    pub(super) fn print(checks: &[Self]) {
        for c in checks {
            println!(
                "khil calibrated threshold for FMR {:.3} %: score {:.2} -> measured FMR {:.3} %, FNMR {:.3} %",
                c.target_fmr * 100.0,
                c.score_threshold,
                c.measured_fmr * 100.0,
                c.measured_fnmr * 100.0
            );
        }
    }
}

#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    seed: u64,
    sensor: &'static str,
    fingers: u32,
    impressions: u32,
    genuine_comparisons: usize,
    impostor_comparisons: usize,
    generation_seconds: f64,
    systems: Vec<SystemRow>,
    /// khil / NBIS ratios (EER: lower is better; speeds: higher is better).
    ratios: Option<Ratios>,
}

#[derive(Debug, Serialize)]
struct Ratios {
    eer_khil_over_nbis: f64,
    extraction_speedup: f64,
    comparison_speedup: f64,
}

/// Indices of two images to compare.
pub(super) type Pairs = Vec<(usize, usize)>;

/// The FVC pairs: genuine = every impression against every later one of the same finger; impostor = the
/// first impression of each finger against the first of every later finger.
fn fvc_pairs(fingers: usize, impressions: usize) -> (Pairs, Pairs) {
    let id = |f: usize, i: usize| f * impressions + i;
    let mut genuine = Vec::new();
    for f in 0..fingers {
        for i in 0..impressions {
            for j in i + 1..impressions {
                genuine.push((id(f, i), id(f, j)));
            }
        }
    }
    let mut impostor = Vec::new();
    for f in 0..fingers {
        for g in f + 1..fingers {
            impostor.push((id(f, 0), id(g, 0)));
        }
    }
    (genuine, impostor)
}

fn sensor(name: &str) -> Result<SensorProfile, String> {
    match name {
        "flat" => Ok(SensorProfile::FLAT),
        "r307" => Ok(SensorProfile::R307),
        "r503" => Ok(SensorProfile::R503),
        _ => Err(format!("--sensor {name:?}: expected flat, r307 or r503")),
    }
}

/// Extraction and comparison for one system, timed on one thread.
pub(super) trait System {
    type Template;
    const NAME: &'static str;
    fn extract(&self, image: &GrayImage) -> Result<(Self::Template, Minutiae), String>;
    fn compare(&self, a: &Self::Template, b: &Self::Template) -> f64;
}

/// khil, told the scans' resolution.
pub(super) struct Khil(pub(super) u16);

impl System for Khil {
    type Template = MatchTemplate;
    const NAME: &'static str = "khil";
    fn extract(&self, image: &GrayImage) -> Result<(MatchTemplate, Minutiae), String> {
        let m = extract::extract(image, self.0);
        Ok((MatchTemplate::new(&m), m))
    }
    /// The raw similarity: error rates are the same on the calibrated scale (a monotone map), but the raw
    /// histogram shows the separation instead of a pile at the top of the scale.
    fn compare(&self, a: &MatchTemplate, b: &MatchTemplate) -> f64 {
        f64::from(matcher::compare(a, b))
    }
}

/// NBIS, told the scans' resolution.
#[cfg(feature = "nbis")]
pub(super) struct Nbis(pub(super) u16);

#[cfg(feature = "nbis")]
impl System for Nbis {
    type Template = khil_nbis::NbisTemplate;
    const NAME: &'static str = NBIS_NAME;
    fn extract(&self, image: &GrayImage) -> Result<(Self::Template, Minutiae), String> {
        let t = khil_nbis::extract(image, self.0).map_err(|e| e.to_string())?;
        let m = t.to_minutiae(image.width as u16, image.height as u16);
        Ok((t, m))
    }
    fn compare(&self, a: &Self::Template, b: &Self::Template) -> f64 {
        f64::from(khil_nbis::compare(a, b))
    }
}

pub(super) const NBIS_NAME: &str = "NBIS (mindtct + bozorth3)";

#[cfg(feature = "nbis")]
pub(super) fn run_nbis(
    images: &[&GrayImage],
    truth_set: &[(&GrayImage, &[khil_biometrics::Minutia])],
    pairs: &(Pairs, Pairs),
    dpi: u16,
) -> Result<Option<Measured>, String> {
    eprintln!("NBIS: extracting and comparing ...");
    run_system(&Nbis(dpi), images, truth_set, pairs).map(Some)
}

#[cfg(not(feature = "nbis"))]
pub(super) fn run_nbis(
    _: &[&GrayImage],
    _: &[(&GrayImage, &[khil_biometrics::Minutia])],
    _: &(Pairs, Pairs),
    _: u16,
) -> Result<Option<Measured>, String> {
    Err("this khil was built without the NBIS reference: rebuild with `--features nbis` \
         (cargo run --release -p khil --features nbis -- bench match), or pass --no-nbis"
        .into())
}

pub(super) struct Measured {
    pub(super) rates: ErrorRates,
    pub(super) genuine: Vec<f64>,
    pub(super) impostor: Vec<f64>,
    pub(super) extraction: Duration,
    pub(super) comparison: Duration,
    pub(super) minutiae: f64,
    accuracy: Accuracy,
}

/// Comparisons made untimed before the timed ones (see the extraction's warm-up in [`run_system`]).
const WARM_UP_COMPARISONS: usize = 200;

pub(super) fn run_system<S: System>(
    system: &S,
    images: &[&GrayImage],
    truth_set: &[(&GrayImage, &[khil_biometrics::Minutia])],
    pairs: &(Pairs, Pairs),
) -> Result<Measured, String> {
    // One untimed pass first: a system's first extractions in a process pay for its lazy tables and for the
    // allocator growing the heap and faulting pages in, and how much depends on what ran before it in the
    // process (measured: NBIS's time on FVC2000 DB1_B moved between 10 and 18 ms an image with the order of
    // the runs). Both systems are measured warm, so the ratio compares the algorithms.
    for (i, image) in images.iter().enumerate() {
        system.extract(image).map_err(|e| format!("{}: image {i}: {e}", S::NAME))?;
    }
    let start = Instant::now();
    let mut templates = Vec::with_capacity(images.len());
    let mut minutiae = 0usize;
    for (i, image) in images.iter().enumerate() {
        let (t, m) = system.extract(image).map_err(|e| format!("{}: image {i}: {e}", S::NAME))?;
        minutiae += m.points.len();
        templates.push(t);
    }
    let extraction = start.elapsed() / images.len().max(1) as u32;
    for &(a, b) in pairs.0.iter().chain(&pairs.1).take(WARM_UP_COMPARISONS) {
        system.compare(&templates[a], &templates[b]);
    }
    let start = Instant::now();
    let genuine: Vec<f64> = pairs.0.iter().map(|&(a, b)| system.compare(&templates[a], &templates[b])).collect();
    let impostor: Vec<f64> = pairs.1.iter().map(|&(a, b)| system.compare(&templates[a], &templates[b])).collect();
    let comparison = start.elapsed() / (genuine.len() + impostor.len()).max(1) as u32;
    let mut accuracy = Accuracy::default();
    for (i, (image, truth)) in truth_set.iter().enumerate() {
        let (_, m) = system.extract(image).map_err(|e| format!("{}: truth image {i}: {e}", S::NAME))?;
        accuracy.add(eval::extraction_accuracy(truth, &m.points, 12.0, 22.5f32.to_radians()));
    }
    Ok(Measured {
        rates: eval::error_rates(&genuine, &impostor),
        genuine,
        impostor,
        extraction,
        comparison,
        minutiae: minutiae as f64 / images.len().max(1) as f64,
        accuracy,
    })
}

fn row(name: &'static str, m: &Measured) -> SystemRow {
    SystemRow {
        system: name,
        eer: m.rates.eer,
        fmr100: m.rates.fmr100,
        fmr1000: m.rates.fmr1000,
        zero_fmr: m.rates.zero_fmr,
        fnmr_at_fmr_0_05_percent: m.rates.fnmr_at_fmr_0_05,
        extraction_ms_per_image: m.extraction.as_secs_f64() * 1e3,
        comparisons_per_second_per_core: 1.0 / m.comparison.as_secs_f64().max(1e-12),
        minutiae_per_image: m.minutiae,
        truth_recall: m.accuracy.recall(),
        truth_precision: m.accuracy.precision(),
        calibrated_thresholds: Vec::new(),
    }
}

pub(crate) fn run(args: &MatchBenchArgs) -> Result<(), String> {
    if let Some(dir) = &args.dataset {
        return super::real::run(dir, args);
    }
    let sensor = sensor(&args.sensor)?;
    let (fingers, impressions) = (args.fingers as usize, args.impressions as usize);
    eprintln!("generating {fingers} fingers x {impressions} impressions ({}, seed {}) ...", sensor.name, args.seed);
    let start = Instant::now();
    let set = synth::dataset(args.seed, fingers, args.impressions, sensor, Quality::Mixed);
    let generation = start.elapsed();
    // The ground-truth set: good impressions of other fingers (a different seed stream).
    let truth = synth::dataset(args.seed ^ 0x7275_7468, args.truth_fingers as usize, 2, sensor, Quality::Good);
    let images: Vec<&GrayImage> = set.iter().flatten().map(|i| &i.image).collect();
    let truth_set: Vec<(&GrayImage, &[khil_biometrics::Minutia])> =
        truth.iter().flatten().map(|i| (&i.image, i.truth.as_slice())).collect();
    let pairs = fvc_pairs(fingers, impressions);

    eprintln!("khil: extracting and comparing ...");
    let khil = run_system(&Khil(500), &images, &truth_set, &pairs)?;
    let mut khil_row = row("khil", &khil);
    let curve = eval::det_curve(&khil.genuine, &khil.impostor);
    khil_row.calibrated_thresholds = CalibrationCheck::measure(&khil, &[0.0005, 0.0001, 0.000_01]);
    let nbis = if args.no_nbis { None } else { run_nbis(&images, &truth_set, &pairs, 500)? };

    let mut systems = vec![khil_row];
    let mut ratios = None;
    if let Some(n) = &nbis {
        systems.push(row(NBIS_NAME, n));
        ratios = Some(Ratios {
            eer_khil_over_nbis: khil.rates.eer / n.rates.eer.max(1e-12),
            extraction_speedup: n.extraction.as_secs_f64() / khil.extraction.as_secs_f64().max(1e-12),
            comparison_speedup: n.comparison.as_secs_f64() / khil.comparison.as_secs_f64().max(1e-12),
        });
    }
    let report = Report {
        bench: "match",
        seed: args.seed,
        sensor: sensor.name,
        fingers: args.fingers,
        impressions: args.impressions,
        genuine_comparisons: pairs.0.len(),
        impostor_comparisons: pairs.1.len(),
        generation_seconds: generation.as_secs_f64(),
        systems,
        ratios,
    };
    print_report(&report);

    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        };
        let mut curves = vec![("khil", curve.clone())];
        if let Some(n) = &nbis {
            curves.push(("NBIS", eval::det_curve(&n.genuine, &n.impostor)));
        }
        let refs: Vec<(&str, &[eval::DetPoint])> = curves.iter().map(|(n, c)| (*n, c.as_slice())).collect();
        write(
            "det.svg",
            eval::det_svg(&format!("DET, {} fingers x {} ({})", fingers, impressions, sensor.name), &refs),
        )?;
        write(
            "scores-khil.svg",
            eval::histogram_svg("khil raw similarity (MCC LSS-R)", &khil.genuine, &khil.impostor, 50),
        )?;
        if let Some(n) = &nbis {
            write("scores-nbis.svg", eval::histogram_svg("NBIS bozorth3 scores", &n.genuine, &n.impostor, 50))?;
        }
        super::write_json(&dir.join("report.json"), &report)?;
        // A few of the synthetic impressions, for people to look at.
        for (f, finger) in set.iter().take(3).enumerate() {
            for (i, impression) in finger.iter().take(2).enumerate() {
                let path = dir.join(format!("finger{f}-impression{i}.png"));
                std::fs::write(&path, impression.image.to_png())
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            }
        }
    }
    if let Some(path) = &args.json {
        super::write_json(path, &report)?;
    }
    Ok(())
}

fn print_report(r: &Report) {
    println!(
        "khil bench match: {} fingers x {} impressions ({}, seed {}), {} genuine / {} impostor comparisons; set made in {:.1} s",
        r.fingers, r.impressions, r.sensor, r.seed, r.genuine_comparisons, r.impostor_comparisons, r.generation_seconds
    );
    println!(
        "{:<26} {:>7} {:>8} {:>8} {:>9} {:>10} {:>9} {:>11} {:>9} {:>7} {:>9}",
        "system",
        "EER %",
        "FMR100 %",
        "FMR1000%",
        "ZeroFMR%",
        "FNMR@.05%",
        "ms/image",
        "compares/s",
        "minutiae",
        "recall",
        "precision"
    );
    for s in &r.systems {
        println!(
            "{:<26} {:>7.3} {:>8.3} {:>8.3} {:>9.3} {:>10.3} {:>9.2} {:>11.0} {:>9.1} {:>7.3} {:>9.3}",
            s.system,
            s.eer * 100.0,
            s.fmr100 * 100.0,
            s.fmr1000 * 100.0,
            s.zero_fmr * 100.0,
            s.fnmr_at_fmr_0_05_percent * 100.0,
            s.extraction_ms_per_image,
            s.comparisons_per_second_per_core,
            s.minutiae_per_image,
            s.truth_recall,
            s.truth_precision
        );
    }
    if let Some(k) = r.systems.first() {
        CalibrationCheck::print(&k.calibrated_thresholds);
    }
    if let Some(x) = &r.ratios {
        println!(
            "khil vs NBIS: EER ratio {:.3} (target <= 0.5), extraction {:.1}x faster (target >= 3), comparison {:.1}x faster (target >= 50)",
            x.eer_khil_over_nbis, x.extraction_speedup, x.comparison_speedup
        );
    }
}

#[cfg(test)]
mod tests {
    use super::fvc_pairs;

    #[test]
    fn fvc_protocol_counts() {
        let (g, i) = fvc_pairs(100, 8);
        assert_eq!((g.len(), i.len()), (2800, 4950));
    }
}

#[derive(Debug, Args)]
#[command(
    about = "Measure the matcher's impostor score distribution and print the calibration table for matcher.rs",
    after_help = "Example:\n  khil bench calibrate --fingers 400 --seed 9001"
)]
pub(crate) struct CalibrateArgs {
    /// Fingers (two impressions each); every cross-finger pair is an impostor comparison
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u32).range(10..=5_000))]
    fingers: u32,
    /// Seed of the calibration set; keep it apart from the benchmark's seeds
    #[arg(long, default_value_t = 9001)]
    seed: u64,
}

pub(crate) fn calibrate(args: &CalibrateArgs) {
    let fingers = args.fingers as usize;
    eprintln!("generating {fingers} fingers x 2 impressions (FLAT, seed {}) ...", args.seed);
    let set = synth::dataset(args.seed, fingers, 2, SensorProfile::FLAT, Quality::Mixed);
    let templates: Vec<(usize, MatchTemplate)> = set
        .iter()
        .enumerate()
        .flat_map(|(f, imps)| imps.iter().map(move |i| (f, MatchTemplate::new(&extract::extract(&i.image, 500)))))
        .collect();
    eprintln!("comparing every cross-finger pair ...");
    let mut impostor: Vec<f32> = Vec::new();
    std::thread::scope(|s| {
        let halves: Vec<_> = (0..2)
            .map(|part| {
                let templates = &templates;
                s.spawn(move || {
                    let mut out = Vec::new();
                    for i in (part..templates.len()).step_by(2) {
                        for j in i + 1..templates.len() {
                            if templates[i].0 != templates[j].0 {
                                out.push(matcher::compare(&templates[i].1, &templates[j].1));
                            }
                        }
                    }
                    out
                })
            })
            .collect();
        for h in halves {
            impostor.extend(h.join().unwrap_or_default());
        }
    });
    impostor.sort_by(|a, b| b.total_cmp(a));
    let n = impostor.len();
    println!("// {n} impostor comparisons, {fingers} fingers x 2 impressions, FLAT, seed {}", args.seed);
    println!("// (raw score, -log10 FMR): FMR = share of impostor scores >= raw");
    for tenths in (5..=50).step_by(5) {
        let level = f64::from(tenths) / 10.0;
        let k = (n as f64 * 10f64.powf(-level)).round() as usize;
        if k == 0 || k > n {
            continue;
        }
        println!("    ({:.4}, {level:.1}),", impostor[k - 1]);
    }
}
