//! `khil bench identify`: 1:N identification on galleries of synthetic fingers (the minutiae model), indexed
//! search beside brute force on the same gallery, and the model checked against rendered impressions.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use khil_biometrics::identify::model::ModelFinger;
use khil_biometrics::identify::{CompactTemplate, Gallery, SearchParams, file};
use khil_biometrics::matcher::{self, MatchTemplate};
use khil_biometrics::synth::{Finger, Quality, SensorProfile};
use khil_biometrics::{Minutiae, extract};
use serde::Serialize;

#[derive(Debug, Args)]
#[command(
    about = "1:N identification benchmark: indexed gallery vs brute force, 10k to 1M synthetic fingers",
    after_help = "Example:\n  khil bench identify --sizes 10000,100000,1000000 --out bench-identify/"
)]
pub(crate) struct IdentifyBenchArgs {
    /// Gallery sizes, comma-separated
    #[arg(long, value_delimiter = ',', default_value = "10000,100000,1000000")]
    sizes: Vec<usize>,
    /// Mated searches per size (a second impression of an enrolled finger)
    #[arg(long, default_value_t = 300)]
    searches: usize,
    /// Non-mated searches per size (fingers never enrolled): FPIR 0.1 % needs at least 1,000
    #[arg(long, default_value_t = 2000)]
    non_mated: usize,
    /// Population seed
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Shortlist as a share of the gallery (the matcher's penetration rate). 0.005 %: the pre-score ranked
    /// 1M mates within its top 50, and a longer shortlist only hands the matcher more look-alike impostors
    /// (0.02 % raised the 1M FPIR 0.1 % threshold from 3.55 to 3.68 and cost two mates)
    #[arg(long, default_value_t = 0.00005)]
    penetration: f64,
    /// Smallest shortlist (the pre-score ranks a 10k gallery's mates within its top 4)
    #[arg(long, default_value_t = 4)]
    shortlist_min: usize,
    /// Pool as a share of the gallery: the index's best templates by votes that the geometric pre-score
    /// picks the shortlist from (a pool no larger than the shortlist skips the pre-score)
    #[arg(long, default_value_t = khil_biometrics::identify::POOL_SHARE)]
    pool_share: f64,
    /// Smallest pool
    #[arg(long, default_value_t = khil_biometrics::identify::POOL_MIN)]
    pool_min: usize,
    /// Threads for building and for each search's re-ranking
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Brute-force searches per size (half mated, half not): every gallery template through the matcher
    #[arg(long, default_value_t = 20)]
    brute_searches: usize,
    /// Largest gallery searched by brute force; above it, its latency is extrapolated from the largest size run
    #[arg(long, default_value_t = 100_000)]
    brute_max: usize,
    /// Fingers rendered (images, extracted) and modelled to compare the model with the image path; 0 skips
    #[arg(long, default_value_t = 200)]
    calibrate: u64,
    /// Directory for report.json and the gallery files
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    seed: u64,
    threads: usize,
    calibration: Option<Calibration>,
    sizes: Vec<SizeRow>,
}

#[derive(Debug, Serialize, Clone)]
struct Quantiles {
    p5: f32,
    p25: f32,
    p50: f32,
    p75: f32,
    p95: f32,
    p99: f32,
}

fn quantiles(v: &mut [f32]) -> Quantiles {
    v.sort_by(f32::total_cmp);
    let q = |p: f64| v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1))).copied().unwrap_or(0.0);
    Quantiles { p5: q(0.05), p25: q(0.25), p50: q(0.5), p75: q(0.75), p95: q(0.95), p99: q(0.99) }
}

#[derive(Debug, Serialize)]
struct Distribution {
    minutiae_per_impression: f64,
    genuine_raw: Quantiles,
    impostor_raw: Quantiles,
    /// Shares at the calibrated thresholds for FMR 1e-3 and 1e-4.
    genuine_below_fmr_1e3: f64,
    genuine_below_fmr_1e4: f64,
    impostor_at_or_above_fmr_1e3: f64,
    impostor_at_or_above_fmr_1e4: f64,
}

#[derive(Debug, Serialize)]
struct Calibration {
    fingers: u64,
    rendered: Distribution,
    model: Distribution,
}

#[derive(Debug, Serialize, Default)]
struct SizeRow {
    gallery: usize,
    generate_seconds: f64,
    build_seconds: f64,
    postings: usize,
    bytes_per_template: f64,
    gallery_bytes: usize,
    process_rss_bytes: u64,
    file_bytes: u64,
    save_seconds: f64,
    load_seconds: Option<f64>,
    /// Templates the index passes to the pre-score.
    pool: usize,
    shortlist: usize,
    penetration_rate: f64,
    mated_searches: usize,
    non_mated_searches: usize,
    /// Share of mated searches whose mate made the index's pool (the index's own miss rate is 1 minus this;
    /// measured by a separate stage-1-only query, outside the timed search).
    mate_in_pool: f64,
    /// Share of mated searches whose mate made the shortlist the matcher scored.
    mate_in_shortlist: f64,
    rank1: f64,
    /// Chosen from the non-mated searches: the lowest score that at most 0.1 % of them reach.
    threshold_fpir_0_1_percent: f32,
    fpir_at_threshold: f64,
    fnir_at_fpir_0_1_percent: f64,
    /// The per-comparison threshold that would give FPIR 0.1 % if the shortlist's impostors were independent
    /// (matcher::threshold_for(0.001 / shortlist)), with what was measured at it.
    bonferroni_threshold: f32,
    fpir_at_bonferroni: f64,
    fnir_at_bonferroni: f64,
    latency_ms_p50: f64,
    latency_ms_p95: f64,
    latency_ms_max: f64,
    brute: Option<BruteRow>,
}

#[derive(Debug, Serialize, Default)]
struct BruteRow {
    /// false: measured on this gallery; true: latency scaled from the largest gallery measured.
    extrapolated: bool,
    searches: usize,
    /// Building every template's matcher form (what a brute-force gallery holds in memory).
    prepare_seconds: f64,
    bytes_per_template_estimate: f64,
    latency_ms_p50: f64,
    latency_ms_p95: f64,
    /// Brute force's rank-1 on its mated searches, and how often the indexed search agreed with it.
    rank1: Option<f64>,
    indexed_agrees: Option<f64>,
}

/// One finger's probe or enrolment minutiae: impression 0 is enrolled, impression 1 searched.
fn impression(seed: u64, finger: u64, index: u32) -> Minutiae {
    ModelFinger::generate(seed, finger).impression(index)
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Runs `f(i)` for i in 0..n on `threads` threads, results in order.
fn parallel<T: Send>(n: usize, threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let chunk = n.div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|start| s.spawn(move || (start..(start + chunk).min(n)).map(f).collect::<Vec<T>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("worker does not panic")).collect()
    })
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1))).copied().unwrap_or(0.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn run(args: &IdentifyBenchArgs) -> Result<(), String> {
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let calibration = (args.calibrate > 0).then(|| calibrate(args.calibrate, args.threads));
    if let Some(c) = &calibration {
        print_calibration(c);
    }
    let mut sizes: Vec<SizeRow> = Vec::new();
    for &n in &args.sizes {
        let mut row = run_size(args, n)?;
        if row.brute.is_none()
            && let Some(base) = sizes.iter().rev().find(|r| r.brute.as_ref().is_some_and(|b| !b.extrapolated))
        {
            let b = base.brute.as_ref().expect("found above");
            let scale = n as f64 / base.gallery as f64;
            row.brute = Some(BruteRow {
                extrapolated: true,
                searches: 0,
                prepare_seconds: b.prepare_seconds * scale,
                bytes_per_template_estimate: b.bytes_per_template_estimate,
                latency_ms_p50: b.latency_ms_p50 * scale,
                latency_ms_p95: b.latency_ms_p95 * scale,
                rank1: None,
                indexed_agrees: None,
            });
        }
        print_row(&row);
        sizes.push(row);
    }
    let report = Report { bench: "identify", seed: args.seed, threads: args.threads, calibration, sizes };
    print_table(&report.sizes);
    if let Some(dir) = &args.out {
        super::write_json(&dir.join("report.json"), &report)?;
        eprintln!("wrote {}", dir.join("report.json").display());
    }
    Ok(())
}

fn run_size(args: &IdentifyBenchArgs, n: usize) -> Result<SizeRow, String> {
    let (seed, threads) = (args.seed, args.threads.max(1));
    eprintln!("gallery of {n}: generating ...");
    let t = Instant::now();
    let templates: Vec<CompactTemplate> = parallel(n, threads, |f| {
        CompactTemplate::new(&impression(seed, f as u64, 0)).expect("model impressions have 20-60 minutiae")
    });
    let generate_seconds = t.elapsed().as_secs_f64();
    eprintln!("gallery of {n}: building ...");
    let gallery = Gallery::new();
    let t = Instant::now();
    // In id order, so that every run builds the same gallery (enrolling from several threads at once made the
    // thresholds differ from run to run).
    gallery
        .enrol_many(templates.into_iter().enumerate().map(|(f, t)| (f as u64, t)).collect(), threads)
        .map_err(|e| e.to_string())?;
    gallery.shrink();
    let build_seconds = t.elapsed().as_secs_f64();
    let memory = gallery.memory();
    let mut row = SizeRow {
        gallery: n,
        generate_seconds,
        build_seconds,
        postings: memory.postings,
        bytes_per_template: memory.per_template(),
        gallery_bytes: memory.total(),
        process_rss_bytes: rss_bytes(),
        ..SizeRow::default()
    };
    if let Some(dir) = &args.out {
        let path = dir.join(format!("gallery-{n}.khg"));
        let t = Instant::now();
        file::save(&gallery, &path).map_err(|e| e.to_string())?;
        row.save_seconds = t.elapsed().as_secs_f64();
        row.file_bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
        if n <= args.brute_max {
            let t = Instant::now();
            let back = file::load(&path).map_err(|e| e.to_string())?;
            row.load_seconds = Some(t.elapsed().as_secs_f64());
            if back.len() != gallery.len() {
                return Err(format!("{}: reloaded {} of {n} templates", path.display(), back.len()));
            }
        }
    }
    let params = SearchParams::for_gallery(n, args.penetration, args.shortlist_min, threads).with_pool(
        n,
        args.pool_share,
        args.pool_min,
    );
    row.pool = params.pool.max(params.shortlist).min(n);
    row.shortlist = params.shortlist.min(n);
    row.penetration_rate = row.shortlist as f64 / n as f64;
    searches(args, &gallery, params, &mut row)?;
    if n <= args.brute_max && args.brute_searches > 0 {
        row.brute = Some(brute(args, &gallery, params)?);
    }
    Ok(row)
}

/// Mated probes spread evenly over the gallery; non-mated probes are fingers after the last enrolled one.
fn mated_fingers(n: usize, count: usize) -> Vec<u64> {
    (0..count.min(n)).map(|i| (i * n / count.min(n).max(1)) as u64).collect()
}

fn searches(
    args: &IdentifyBenchArgs,
    gallery: &Gallery,
    params: SearchParams,
    row: &mut SizeRow,
) -> Result<(), String> {
    let n = gallery.len();
    let mated = mated_fingers(n, args.searches);
    eprintln!("gallery of {n}: {} mated and {} non-mated searches ...", mated.len(), args.non_mated);
    let mut latencies = Vec::new();
    // Per mated search: the mate's score if shortlisted, and whether it came first.
    let mut mate_scores: Vec<Option<f32>> = Vec::new();
    let mut rank1 = 0usize;
    let mut in_pool = 0usize;
    for &f in &mated {
        let probe = impression(args.seed, f, 1);
        let t = Instant::now();
        let r = gallery.search(&probe, params).map_err(|e| e.to_string())?;
        latencies.push(ms(t.elapsed()));
        let pool = gallery.prefilter(&probe, params.pool.max(params.shortlist)).map_err(|e| e.to_string())?;
        in_pool += usize::from(pool.iter().any(|&(id, _)| id == f));
        rank1 += usize::from(r.candidates.first().is_some_and(|c| c.id == f));
        mate_scores.push(r.candidates.iter().find(|c| c.id == f).map(|c| c.score));
    }
    let mut non_mated_top = Vec::new();
    for j in 0..args.non_mated {
        let probe = impression(args.seed, (n + j) as u64, 1);
        let t = Instant::now();
        let r = gallery.search(&probe, params).map_err(|e| e.to_string())?;
        latencies.push(ms(t.elapsed()));
        non_mated_top.push(r.candidates.first().map_or(0.0, |c| c.score));
    }
    row.mated_searches = mated.len();
    row.non_mated_searches = args.non_mated;
    let m = mated.len().max(1) as f64;
    row.mate_in_pool = in_pool as f64 / m;
    row.mate_in_shortlist = mate_scores.iter().filter(|s| s.is_some()).count() as f64 / m;
    row.rank1 = rank1 as f64 / m;
    // The threshold: above the (k+1)-th highest non-mated top score, k = 0.1 % of the non-mated searches.
    non_mated_top.sort_by(|a, b| b.total_cmp(a));
    let allowed = (args.non_mated as f64 * 0.001).floor() as usize;
    let threshold = non_mated_top.get(allowed).map_or(0.0, |s| s.next_up());
    let fpir = |t: f32| non_mated_top.iter().filter(|&&s| s >= t).count() as f64 / args.non_mated.max(1) as f64;
    let fnir = |t: f32| mate_scores.iter().filter(|s| s.is_none_or(|s| s < t)).count() as f64 / m;
    row.threshold_fpir_0_1_percent = threshold;
    row.fpir_at_threshold = fpir(threshold);
    row.fnir_at_fpir_0_1_percent = fnir(threshold);
    row.bonferroni_threshold = matcher::threshold_for(0.001 / params.shortlist as f64);
    row.fpir_at_bonferroni = fpir(row.bonferroni_threshold);
    row.fnir_at_bonferroni = fnir(row.bonferroni_threshold);
    row.latency_ms_p50 = percentile(&mut latencies, 0.5);
    row.latency_ms_p95 = percentile(&mut latencies, 0.95);
    row.latency_ms_max = latencies.last().copied().unwrap_or(0.0);
    Ok(())
}

/// Brute force: every gallery template in its matcher form (built once, as a brute-force gallery would keep
/// them), each search compared with all of them on `threads` threads. Templates are prepared a slice at a time
/// so a 100k gallery's matcher forms (~30 kB each) never all sit in memory; each search's latency is the sum
/// of its comparison times over the slices.
fn brute(args: &IdentifyBenchArgs, gallery: &Gallery, params: SearchParams) -> Result<BruteRow, String> {
    let n = gallery.len();
    let half = args.brute_searches.div_ceil(2);
    let mated = mated_fingers(n, half);
    let probes: Vec<(Option<u64>, MatchTemplate)> = mated
        .iter()
        .map(|&f| (Some(f), impression(args.seed, f, 1)))
        .chain((0..half).map(|j| (None, impression(args.seed, (n + j) as u64, 1))))
        .map(|(f, m)| (f, MatchTemplate::new(&CompactTemplate::new(&m).expect("model minutiae").minutiae())))
        .collect();
    eprintln!("gallery of {n}: brute force, {} searches ...", probes.len());
    let all = gallery.templates();
    let threads = params.threads;
    let (mut prepare, mut elapsed) = (Duration::ZERO, vec![Duration::ZERO; probes.len()]);
    let mut best: Vec<(f32, u64)> = vec![(f32::MIN, u64::MAX); probes.len()];
    let mut cylinders = 0usize;
    let mut minutiae = 0usize;
    for slice in all.chunks(10_000) {
        let t = Instant::now();
        let prepared: Vec<(u64, MatchTemplate)> =
            parallel(slice.len(), threads, |i| (slice[i].0, MatchTemplate::new(&slice[i].1.minutiae())));
        prepare += t.elapsed();
        cylinders += prepared.iter().map(|p| p.1.cylinder_count()).sum::<usize>();
        minutiae += slice.iter().map(|s| s.1.len()).sum::<usize>();
        for (k, (_, probe)) in probes.iter().enumerate() {
            let t = Instant::now();
            let scores = parallel(prepared.len(), threads, |i| (matcher::score(probe, &prepared[i].1), prepared[i].0));
            elapsed[k] += t.elapsed();
            for (s, id) in scores {
                if s.total_cmp(&best[k].0).then_with(|| best[k].1.cmp(&id)).is_gt() {
                    best[k] = (s, id);
                }
            }
        }
    }
    let mut agree = 0usize;
    let mut brute_rank1 = 0usize;
    for (k, (f, _)) in probes.iter().enumerate() {
        let Some(f) = f else { continue };
        brute_rank1 += usize::from(best[k].1 == *f);
        let r = gallery.search(&impression(args.seed, *f, 1), params).map_err(|e| e.to_string())?;
        agree += usize::from(r.candidates.first().map(|c| c.id) == Some(best[k].1));
    }
    let mut lat: Vec<f64> = elapsed.into_iter().map(ms).collect();
    // The matcher form's size, from its layout: per cylinder two 14-word bit sets and bookkeeping (~240 bytes),
    // per minutia a point (12 bytes), and the n x n distance and angle tables (8 bytes a pair).
    let (nf, mf) = (n.max(1) as f64, minutiae as f64 / n.max(1) as f64);
    let bytes = cylinders as f64 / nf * 240.0 + mf * 12.0 + mf * mf * 8.0 + 96.0;
    Ok(BruteRow {
        extrapolated: false,
        searches: probes.len(),
        prepare_seconds: prepare.as_secs_f64(),
        bytes_per_template_estimate: bytes,
        latency_ms_p50: percentile(&mut lat, 0.5),
        latency_ms_p95: percentile(&mut lat, 0.95),
        rank1: Some(brute_rank1 as f64 / mated.len().max(1) as f64),
        indexed_agrees: Some(agree as f64 / mated.len().max(1) as f64),
    })
}

fn distribution(pairs: &[[MatchTemplate; 2]], minutiae: f64) -> Distribution {
    let mut genuine: Vec<f32> = pairs.iter().map(|p| matcher::compare(&p[0], &p[1])).collect();
    let mut impostor = Vec::new();
    for (a, pa) in pairs.iter().enumerate() {
        for (b, pb) in pairs.iter().enumerate() {
            if a != b {
                impostor.push(matcher::compare(&pa[0], &pb[1]));
            }
        }
    }
    let share = |v: &[f32], f: &dyn Fn(f32) -> bool| {
        v.iter().filter(|&&s| f(matcher::calibrated(s))).count() as f64 / v.len().max(1) as f64
    };
    let (t3, t4) = (matcher::threshold_for(1e-3), matcher::threshold_for(1e-4));
    Distribution {
        minutiae_per_impression: minutiae,
        genuine_below_fmr_1e3: share(&genuine, &|s| s < t3),
        genuine_below_fmr_1e4: share(&genuine, &|s| s < t4),
        impostor_at_or_above_fmr_1e3: share(&impostor, &|s| s >= t3),
        impostor_at_or_above_fmr_1e4: share(&impostor, &|s| s >= t4),
        genuine_raw: quantiles(&mut genuine),
        impostor_raw: quantiles(&mut impostor),
    }
}

/// The same finger ids rendered (image, khil's extractor; `Quality::Mixed` on the FLAT sensor) and modelled.
/// Rendered and model fingers are different fingers (the model has no ridges), so the comparison is between
/// score distributions, not pair by pair.
fn calibrate(fingers: u64, threads: usize) -> Calibration {
    const SEED: u64 = 9_101;
    eprintln!("calibration: rendering {fingers} fingers x 2 impressions ...");
    let rendered: Vec<([MatchTemplate; 2], usize)> = parallel(fingers as usize, threads, |f| {
        let finger = Finger::generate(SEED, f as u64);
        let m: Vec<Minutiae> = (0..2)
            .map(|i| extract::extract(&finger.impression(i, SensorProfile::FLAT, Quality::Mixed).image, 500))
            .collect();
        ([MatchTemplate::new(&m[0]), MatchTemplate::new(&m[1])], m[0].points.len() + m[1].points.len())
    });
    let model: Vec<([MatchTemplate; 2], usize)> = parallel(fingers as usize, threads, |f| {
        let m = [impression(SEED, f as u64, 0), impression(SEED, f as u64, 1)];
        ([MatchTemplate::new(&m[0]), MatchTemplate::new(&m[1])], m[0].points.len() + m[1].points.len())
    });
    let dist = |v: &[([MatchTemplate; 2], usize)]| {
        let count = v.iter().map(|x| x.1).sum::<usize>() as f64 / (2 * v.len().max(1)) as f64;
        let pairs: Vec<[MatchTemplate; 2]> = v.iter().map(|x| x.0.clone()).collect();
        distribution(&pairs, count)
    };
    Calibration { fingers, rendered: dist(&rendered), model: dist(&model) }
}

fn print_calibration(c: &Calibration) {
    println!("model vs rendered ({} fingers x 2 impressions each; raw matcher similarity):", c.fingers);
    println!(
        "| set | minutiae | genuine p5 / p50 / p95 | impostor p50 / p99 | genuine < FMR 1e-4 thr | impostor >= FMR 1e-3 thr |"
    );
    println!("|---|---|---|---|---|---|");
    for (name, d) in [("rendered", &c.rendered), ("model", &c.model)] {
        println!(
            "| {name} | {:.1} | {:.3} / {:.3} / {:.3} | {:.4} / {:.4} | {:.1} % | {:.2} % |",
            d.minutiae_per_impression,
            d.genuine_raw.p5,
            d.genuine_raw.p50,
            d.genuine_raw.p95,
            d.impostor_raw.p50,
            d.impostor_raw.p99,
            100.0 * d.genuine_below_fmr_1e4,
            100.0 * d.impostor_at_or_above_fmr_1e3
        );
    }
}

fn print_row(r: &SizeRow) {
    eprintln!(
        "gallery of {}: build {:.1} s, {:.0} B/template, FNIR {:.2} % at FPIR 0.1 %, rank-1 {:.2} %, p95 {:.1} ms",
        r.gallery,
        r.build_seconds,
        r.bytes_per_template,
        100.0 * r.fnir_at_fpir_0_1_percent,
        100.0 * r.rank1,
        r.latency_ms_p95
    );
}

fn print_table(rows: &[SizeRow]) {
    println!(
        "| gallery | build s | B / template | memory MiB (RSS) | pool / shortlist (penetration) | mate in pool / shortlisted | FNIR @ FPIR 0.1 % (threshold) | rank-1 | p50 / p95 ms | brute p50 / p95 ms | brute rank-1 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let brute = r.brute.as_ref().map_or("-".to_string(), |b| {
            format!(
                "{:.0} / {:.0}{}",
                b.latency_ms_p50,
                b.latency_ms_p95,
                if b.extrapolated { " (extrapolated)" } else { "" }
            )
        });
        let brute_rank1 =
            r.brute.as_ref().and_then(|b| b.rank1).map_or("-".to_string(), |x| format!("{:.1} %", 100.0 * x));
        println!(
            "| {} | {:.1} | {:.0} | {:.0} ({:.0}) | {} / {} ({:.4} %) | {:.2} % / {:.2} % | {:.2} % ({:.2}) | {:.2} % | {:.1} / {:.1} | {} | {} |",
            r.gallery,
            r.build_seconds,
            r.bytes_per_template,
            r.gallery_bytes as f64 / 1_048_576.0,
            r.process_rss_bytes as f64 / 1_048_576.0,
            r.pool,
            r.shortlist,
            100.0 * r.penetration_rate,
            100.0 * r.mate_in_pool,
            100.0 * r.mate_in_shortlist,
            100.0 * r.fnir_at_fpir_0_1_percent,
            r.threshold_fpir_0_1_percent,
            100.0 * r.rank1,
            r.latency_ms_p50,
            r.latency_ms_p95,
            brute,
            brute_rank1
        );
    }
}
