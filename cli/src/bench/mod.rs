//! `khil bench <what>`: performance figures, each against a reference measured in the same run.

mod fingerprint;
mod link;
mod matching;
mod osdp;

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
    Fingerprint(fingerprint::FingerprintBenchArgs),
    Osdp(osdp::OsdpBenchArgs),
}

pub(crate) async fn run(args: BenchArgs) -> Result<(), String> {
    match args.what {
        BenchWhat::Link(a) => link::run(a).await,
        // CPU-bound and single-threaded by design (timings are per core): off the async runtime.
        BenchWhat::Match(a) => {
            tokio::task::spawn_blocking(move || matching::run(&a)).await.map_err(|e| e.to_string())?
        }
        // Runs its own multi-threaded runtime: sensors and drivers share the cores, as in `khil sim`.
        BenchWhat::Osdp(a) => tokio::task::spawn_blocking(move || osdp::run(&a)).await.map_err(|e| e.to_string())?,
        BenchWhat::Fingerprint(a) => {
            tokio::task::spawn_blocking(move || fingerprint::run(&a)).await.map_err(|e| e.to_string())?
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
