//! `khil bench examine`: the examiner's detection rate per fraud class, its false alarms on genuine documents
//! and its speed, over specimens of the forgery catalogue rendered under white, infrared and ultraviolet light.
//!
//! Both parameter spaces are run by default: the thresholds were set on the development space only
//! (khil-examine's `thresholds`), so the held-out figures say how the examiner does on forgeries, wear, lamps and
//! printers it was not tuned on. The catalogue's fraud mix and ranges are assumptions (see its docs).
//! Timings are per document on one core: each worker thread reads its own CPU clock around its work, so the
//! figures are the compute a document costs, not inflated by other threads or processes sharing the cores.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use clap::{Args, ValueEnum};
use khil_examine::{Authentication, Captures, CheckId, ChipData, Decision, Document, Examiner, StopList};
use khil_mrtd::mrz::CivilDate;
use khil_sim_docreader::{Capture, Catalogue, Dpi, FontPaths, Fonts, FraudClass, ParameterSpace, Renderer, Specimen};
use serde_json::json;

use super::{quantile, round, write_json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Space {
    Development,
    HeldOut,
    Both,
}

#[derive(Debug, Args)]
#[command(
    about = "Document examination: detection per fraud class, false alarms on genuine documents, time per document",
    after_help = "Example:\n  khil bench examine --genuine 200 --per-class 20 --json examine.json"
)]
pub(crate) struct ExamineBenchArgs {
    /// Genuine documents per parameter space.
    #[arg(long, default_value_t = 1000)]
    genuine: u64,
    /// Documents of each fraud class per parameter space.
    #[arg(long, default_value_t = 100)]
    per_class: u64,
    /// Population seed of the catalogue.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Space::Both)]
    space: Space,
    /// Capture resolution: 300 or 400 dpi.
    #[arg(long, default_value_t = 300)]
    dpi: u16,
    /// Worker threads (default: the machine's cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Also write the figures as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// One specimen's outcome.
struct Outcome {
    class: FraudClass,
    decision: &'static str,
    flagged_by: Vec<CheckId>,
    examine_ms: f64,
    render_ms: f64,
    measured: Vec<(CheckId, f64)>,
}

pub(crate) fn run(args: &ExamineBenchArgs) -> Result<(), String> {
    let dpi = match args.dpi {
        300 => Dpi::D300,
        400 => Dpi::D400,
        other => return Err(format!("--dpi {other}: expected 300 or 400")),
    };
    let fonts = Fonts::load(&FontPaths::from_env()).map_err(|e| e.to_string())?;
    let renderer = Renderer::new(fonts, dpi);
    let (y, m, d) = khil_sim_mrtd::sim::REFERENCE_DAY;
    let today = CivilDate::new(y, m, d).ok_or("the reference day")?;
    let spaces = match args.space {
        Space::Development => vec![ParameterSpace::Development],
        Space::HeldOut => vec![ParameterSpace::HeldOut],
        Space::Both => vec![ParameterSpace::Development, ParameterSpace::HeldOut],
    };
    let threads =
        args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get)).max(1);
    let mut reports = Vec::new();
    for space in spaces {
        let outcomes = run_space(args, &renderer, today, space, threads);
        reports.push(report(space, &outcomes));
    }
    if let Some(path) = &args.json {
        write_json(path, &json!({"seed": args.seed, "dpi": args.dpi, "spaces": reports}))?;
    }
    Ok(())
}

fn run_space(
    args: &ExamineBenchArgs,
    renderer: &Renderer,
    today: CivilDate,
    space: ParameterSpace,
    threads: usize,
) -> Vec<Outcome> {
    let catalogue = Catalogue::new(args.seed, today, space);
    let mut jobs: Vec<(FraudClass, u64)> = (0..args.genuine).map(|i| (FraudClass::Genuine, i)).collect();
    for class in FraudClass::ALL.into_iter().filter(|c| *c != FraudClass::Genuine) {
        jobs.extend((0..args.per_class).map(|i| (class, i)));
    }
    // The lost/stolen list holds the stolen blanks' numbers among unrelated entries, as a real list would.
    let mut stop_list = StopList::new();
    for i in 0..500u64 {
        stop_list.insert("MNG", &format!("Z{:08}", i * 7919));
    }
    for &(class, i) in jobs.iter().filter(|(c, _)| *c == FraudClass::StolenBlank) {
        if let Some((state, number)) = catalogue.specimen(class, i).listed {
            stop_list.insert(&state, &number);
        }
    }
    let examiner = Examiner::default();
    let next = AtomicUsize::new(0);
    let outcomes = Mutex::new(Vec::with_capacity(jobs.len()));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(class, index)) = jobs.get(i) else { break };
                    let specimen = catalogue.specimen(class, index);
                    let t0 = thread_cpu_ms();
                    let captures = renderer.render_set(
                        &specimen.page,
                        &specimen.design,
                        &specimen.conditions,
                        specimen.capture_seed,
                    );
                    let render_ms = thread_cpu_ms() - t0;
                    let document = as_read(&specimen, captures);
                    let t1 = thread_cpu_ms();
                    let report = examiner.examine(&document, &stop_list, today);
                    let examine_ms = thread_cpu_ms() - t1;
                    let flagged_by = match &report.decision {
                        Decision::ForgedOrAltered { failed } | Decision::NotValid { failed } => failed.clone(),
                        _ => Vec::new(),
                    };
                    let measured = report.checks.iter().filter_map(|c| c.measured.map(|m| (c.id, m))).collect();
                    let outcome = Outcome {
                        class,
                        decision: report.decision.name(),
                        flagged_by,
                        examine_ms,
                        render_ms,
                        measured,
                    };
                    outcomes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(outcome);
                    let done = i + 1;
                    if done.is_multiple_of(200) {
                        eprintln!(
                            "{}: {done}/{} specimens, {:.0} s",
                            space.name(),
                            jobs.len(),
                            started.elapsed().as_secs_f64()
                        );
                    }
                }
            });
        }
    });
    outcomes.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The calling thread's CPU time in milliseconds (CLOCK_THREAD_CPUTIME_ID): what one core spent on this thread,
/// whatever else runs on the machine.
fn thread_cpu_ms() -> f64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map_or(f64::NAN, |t| t.tv_sec() as f64 * 1e3 + t.tv_nsec() as f64 / 1e6)
}

const DECISIONS: [&str; 4] = ["genuine", "forged-or-altered", "not-valid", "unable-to-examine"];

/// Prints the space's tables and returns its JSON.
fn report(space: ParameterSpace, outcomes: &[Outcome]) -> serde_json::Value {
    println!("\n== parameter space: {} ==", space.name());
    println!(
        "{:<26} {:>6} {:>10} {:>9} {:>9} {:>9} {:>9}  flagged by (most often)",
        "true class", "n", "detected", "genuine", "forged", "invalid", "unable"
    );
    let mut rows = Vec::new();
    for class in FraudClass::ALL {
        let of: Vec<&Outcome> = outcomes.iter().filter(|o| o.class == class).collect();
        if of.is_empty() {
            continue;
        }
        let count = |d: &str| of.iter().filter(|o| o.decision == d).count();
        let counts: Vec<usize> = DECISIONS.iter().map(|d| count(d)).collect();
        let not_genuine = of.len() - counts[0];
        // For genuine documents "detected" is the false-alarm rate.
        let rate = 100.0 * not_genuine as f64 / of.len() as f64;
        let mut by: BTreeMap<&str, usize> = BTreeMap::new();
        for o in &of {
            for id in &o.flagged_by {
                *by.entry(id.name()).or_default() += 1;
            }
        }
        let mut by: Vec<(&str, usize)> = by.into_iter().collect();
        by.sort_by_key(|&(_, count)| std::cmp::Reverse(count));
        let by_text: Vec<String> = by.iter().take(3).map(|(n, c)| format!("{n} {c}")).collect();
        let label = if class == FraudClass::Genuine { "false alarm" } else { "" };
        println!(
            "{:<26} {:>6} {:>9.1}% {:>9} {:>9} {:>9} {:>9}  {}{}",
            class.name(),
            of.len(),
            rate,
            counts[0],
            counts[1],
            counts[2],
            counts[3],
            by_text.join(", "),
            if label.is_empty() { String::new() } else { format!(" ({label})") }
        );
        rows.push(json!({"class": class.name(), "n": of.len(), "not_genuine_percent": round(rate, 2),
            "decisions": DECISIONS.iter().zip(&counts).map(|(d, c)| (d.to_string(), json!(c))).collect::<serde_json::Map<_, _>>(),
            "flagged_by": by.iter().map(|(n, c)| (n.to_string(), json!(c))).collect::<serde_json::Map<_, _>>()}));
    }
    let mut examine: Vec<f64> = outcomes.iter().map(|o| o.examine_ms).collect();
    let mut render: Vec<f64> = outcomes.iter().map(|o| o.render_ms).collect();
    let (e50, e95) = (quantile(&mut examine.clone(), 0.5), quantile(&mut examine, 0.95));
    let (r50, r95) = (quantile(&mut render.clone(), 0.5), quantile(&mut render, 0.95));
    println!(
        "examination per document (all lights, CPU of one core): p50 {e50:.1} ms, p95 {e95:.1} ms (target < 50 ms)"
    );
    println!(
        "rendering per page set (three lights, CPU of one core): p50 {r50:.1} ms, p95 {r95:.1} ms (target < 100 ms)"
    );
    let measured = measured_table(outcomes);
    json!({"space": space.name(), "classes": rows,
        "examine_ms": {"p50": round(e50, 2), "p95": round(e95, 2)},
        "render_set_ms": {"p50": round(r50, 2), "p95": round(r95, 2)},
        "measured": measured})
}

/// The distribution of every optical measurement per class (min, 1 %, median, 99 %, max): what thresholds are
/// set from (on the development space only).
fn measured_table(outcomes: &[Outcome]) -> serde_json::Value {
    let ids = [
        CheckId::UvSubstrate,
        CheckId::UvFeature,
        CheckId::IrMrzAbsorption,
        CheckId::IrVizDropout,
        CheckId::PortraitVsChip,
        CheckId::PageSize,
    ];
    println!("measured values per class: min / 1% / median / 99% / max");
    let mut out = serde_json::Map::new();
    for id in ids {
        println!("  {}", id.name());
        let mut per_class = serde_json::Map::new();
        for class in FraudClass::ALL {
            let mut v: Vec<f64> = outcomes
                .iter()
                .filter(|o| o.class == class)
                .flat_map(|o| o.measured.iter().filter(|(i, _)| *i == id).map(|(_, m)| *m))
                .collect();
            if v.is_empty() {
                continue;
            }
            let q: Vec<f64> = [0.0, 0.01, 0.5, 0.99, 1.0].iter().map(|&p| quantile(&mut v, p)).collect();
            println!(
                "    {:<26} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3}  (n {})",
                class.name(),
                q[0],
                q[1],
                q[2],
                q[3],
                q[4],
                v.len()
            );
            per_class.insert(class.name().into(), json!(q.iter().map(|x| round(*x, 4)).collect::<Vec<_>>()));
        }
        out.insert(id.name().into(), serde_json::Value::Object(per_class));
    }
    serde_json::Value::Object(out)
}

/// What a reader and an inspection system return for `specimen`, given its captures (white, infrared,
/// ultraviolet, as `Renderer::render_set` makes them): the page's MRZ and VIZ as printed (the reader's OCR is
/// taken as perfect here) and the chip's data. Kept out of the simulator, which must not know the examiner.
pub(crate) fn as_read(specimen: &Specimen, captures: [Capture; 3]) -> Document {
    let [white, infrared, ultraviolet] = captures.map(|c| khil_examine::Capture { dpi: c.dpi, image: c.image });
    let mut document = reader_data(specimen);
    document.captures = Captures { white: Some(white), infrared: Some(infrared), ultraviolet: Some(ultraviolet) };
    document
}

/// As [`as_read`] without captures: MRZ, VIZ and chip only.
pub(crate) fn reader_data(specimen: &Specimen) -> Document {
    Document {
        captures: Captures::default(),
        mrz_lines: specimen.page.mrz_lines.clone(),
        viz: specimen.page.viz.iter().cloned().collect(),
        chip: specimen.chip.as_ref().map(|c| ChipData {
            dg1_mrz: c.dg1_mrz.clone(),
            dg2_portrait: Some(c.dg2_portrait.clone()),
            authentication: if c.passive_authentication_passed {
                Authentication::Passed
            } else {
                Authentication::Failed
            },
        }),
    }
}
