//! `khil bench <what>`: performance figures, each against a reference measured in the same run.

mod border_day;
mod dataset;
mod document;
mod examine;
mod fingerprint;
mod identify;
mod link;
mod matching;
mod osdp;
mod real;

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
#[command(
    about = "Benchmarks: print a table, write JSON with --json",
    after_help = "Example:\n  khil bench link --json link.json"
)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    what: BenchWhat,
}

#[derive(Debug, Subcommand)]
enum BenchWhat {
    Link(link::LinkBenchArgs),
    Match(matching::MatchBenchArgs),
    Calibrate(matching::CalibrateArgs),
    Identify(identify::IdentifyBenchArgs),
    Fingerprint(fingerprint::FingerprintBenchArgs),
    Osdp(osdp::OsdpBenchArgs),
    Document(document::DocumentBenchArgs),
    Examine(examine::ExamineBenchArgs),
    BorderDay(border_day::BorderDayArgs),
}

pub(crate) async fn run(args: BenchArgs) -> Result<(), String> {
    match args.what {
        BenchWhat::Link(a) => link::run(a).await,
        // CPU-bound and single-threaded by design (timings are per core): off the async runtime.
        BenchWhat::Match(a) => {
            tokio::task::spawn_blocking(move || matching::run(&a)).await.map_err(|e| e.to_string())?
        }
        BenchWhat::Osdp(a) => on_all_cores(move || async move { osdp::run(&a).await }).await,
        BenchWhat::Document(a) => on_all_cores(move || async move { document::run(&a).await }).await,
        BenchWhat::Fingerprint(a) => on_all_cores(move || async move { fingerprint::run(&a).await }).await,
        // CPU-bound: worker threads of its own, off the async runtime.
        BenchWhat::Examine(a) => {
            tokio::task::spawn_blocking(move || examine::run(&a)).await.map_err(|e| e.to_string())?
        }
        // A runtime of its own (one thread, the clock paused), off this one.
        BenchWhat::BorderDay(a) => {
            tokio::task::spawn_blocking(move || border_day::run(&a)).await.map_err(|e| e.to_string())?
        }
        // CPU-bound: worker threads of its own, off the async runtime.
        BenchWhat::Identify(a) => {
            tokio::task::spawn_blocking(move || identify::run(&a)).await.map_err(|e| e.to_string())?
        }
        BenchWhat::Calibrate(a) => {
            tokio::task::spawn_blocking(move || matching::calibrate(&a)).await.map_err(|e| e.to_string())
        }
    }
}

/// Writes a report as pretty JSON, naming the file in any error.
pub(crate) fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| format!("cannot encode the report: {e}"))?;
    std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Runs `bench`'s future on a multi-threaded runtime of its own (off this one-thread runtime): simulated devices
/// and their clients share the cores, as in `khil sim`.
async fn on_all_cores<F>(bench: impl FnOnce() -> F + Send + 'static) -> Result<(), String>
where
    F: Future<Output = Result<(), String>>,
{
    let run = move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        rt.block_on(bench())
    };
    tokio::task::spawn_blocking(run).await.map_err(|e| e.to_string())?
}

/// `x` rounded to `digits` decimal places (for reports).
fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// The `q` quantile (0 to 1, nearest rank) of `v`, which it sorts; NaN when `v` is empty.
fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len().saturating_sub(1)) as f64 * q).round() as usize).copied().unwrap_or(f64::NAN)
}
