//! `khil scenario run FILE` and `khil demo`: the run, its files and the summary printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::Args;
use khil_scenario::run::{RunOptions, STORE_FILE, run_blocking};
use khil_scenario::{DecisionWord, RunResult, RunTiming, Scenario};

use super::{SHIPPED_RULES, bar, today};

#[derive(Debug, Args)]
#[command(
    about = "Run a scenario at a simulated border point: outcomes.json, the point's SQLite store, report.html",
    after_help = "Example:\n  khil scenario run scenarios/fraud-classes.toml --out runs/fraud\n  \
                  khil scenario run scenarios/zamiin-uud-day.toml --out runs/zu && xdg-open runs/zu/report.html\n  \
                  khil scenario run scenarios/central-down.toml --central postgres://khil@localhost/border"
)]
pub(crate) struct ScenarioRunArgs {
    /// The scenario file (TOML; format in scenarios/README.md).
    file: PathBuf,
    /// Where outcomes.json, point.sqlite and report.html go (created; files of an earlier run are replaced).
    #[arg(long, default_value = "scenario-run")]
    out: PathBuf,
    /// The central database (PostgreSQL URL, no TLS) the point uploads its records to during the day, through a
    /// link the scenario's central-down incidents cut. Never taken from the environment: a scenario's records go
    /// to a centre only when named here.
    #[arg(long, value_name = "URL")]
    central: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    about = "A border point at work: the built-in demo scenario, every device simulated, with a report to open",
    after_help = "Example:\n  khil demo\n  khil demo --out /tmp/demo"
)]
pub(crate) struct DemoArgs {
    /// Where the run's files go.
    #[arg(long, default_value = "khil-demo")]
    out: PathBuf,
}

/// The demo scenario, in the binary.
const DEMO: &str = include_str!("../../../scenarios/demo.toml");

pub(crate) fn scenario_run(args: &ScenarioRunArgs) -> Result<bool, String> {
    // Refused before anything runs: the scenario and its rule file, with file, line and field.
    let scenario = khil_scenario::file::load(&args.file).map_err(|e| e.to_string())?;
    run_and_report(&scenario, &args.out, args.central.clone())
}

pub(crate) fn demo(args: &DemoArgs) -> Result<bool, String> {
    // The shipped rules go next to the results: the run's folder says what it was decided by.
    let rules_dir = args.out.join("rules");
    std::fs::create_dir_all(&rules_dir).map_err(|e| format!("{}: {e}", rules_dir.display()))?;
    let rules = rules_dir.join("mongolia.toml");
    std::fs::write(&rules, SHIPPED_RULES).map_err(|e| format!("{}: {e}", rules.display()))?;
    let scenario = khil_scenario::file::parse("demo.toml (built in)", &args.out, DEMO).map_err(|e| e.to_string())?;
    run_and_report(&scenario, &args.out, None)
}

/// Runs, writes the three files, prints the summary; `Ok(false)` when an expectation failed.
fn run_and_report(scenario: &Scenario, out: &Path, central: Option<String>) -> Result<bool, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("--out {}: {e}", out.display()))?;
    // A store of an earlier run would be appended to: a run's store holds that run only.
    for stale in [STORE_FILE, "point.sqlite-wal", "point.sqlite-shm"] {
        let path = out.join(stale);
        if path.exists() {
            std::fs::remove_file(&path).map_err(|e| format!("{}: cannot remove it: {e}", path.display()))?;
        }
    }
    eprintln!("scenario {}: {}", scenario.name, scenario.description);
    let bar = bar(0);
    let options = RunOptions { out: out.to_path_buf(), today: today()?, progress: Some(bar.callback()), central };
    let ran = run_blocking(scenario, &options);
    bar.finish();
    let (mut result, timing) = ran.map_err(|e| e.to_string())?;
    khil_scenario::expect::check(scenario, &mut result);

    let outcomes = out.join("outcomes.json");
    let json = serde_json::to_string_pretty(&result).map_err(|e| format!("outcomes: {e}"))?;
    std::fs::write(&outcomes, json + "\n").map_err(|e| format!("{}: {e}", outcomes.display()))?;
    let report = out.join("report.html");
    std::fs::write(&report, khil_scenario::report::html(&result, Some(&timing)))
        .map_err(|e| format!("{}: {e}", report.display()))?;

    print_summary(&result, &timing);
    let failures = khil_scenario::expect::failures(&result);
    for failure in &failures {
        println!("FAILED {failure}");
    }
    println!("\nreport:   {}", report.display());
    println!("outcomes: {}", outcomes.display());
    println!(
        "records:  {} (check it: khil records verify {})",
        out.join(STORE_FILE).display(),
        out.join(STORE_FILE).display()
    );
    Ok(failures.is_empty())
}

fn print_summary(result: &RunResult, timing: &RunTiming) {
    let count = |d: DecisionWord| result.travellers.iter().filter(|t| t.decision == d).count();
    println!(
        "\n{} travellers at {} ({}), {} gates: {} released, {} referred, {} not processed  [{:.1} s wall]",
        result.travellers.len(),
        result.point,
        result.direction,
        result.gates.len(),
        count(DecisionWord::Release),
        count(DecisionWord::Refer),
        count(DecisionWord::NotProcessed),
        timing.wall_seconds
    );
    println!("\n{:<12} {:>10} {:>9} {:>9} {:>8}  faults", "gate", "travellers", "released", "referred", "busy");
    let span = (result.until - result.from).max(1.0);
    for g in &result.gates {
        println!(
            "{:<12} {:>10} {:>9} {:>9} {:>7.0}%  {}",
            g.name,
            g.travellers,
            g.released,
            g.referred,
            100.0 * g.busy_seconds / span,
            g.faults.len()
        );
    }
    let mut by_truth: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for t in &result.travellers {
        let e = by_truth.entry(t.truth.as_str()).or_default();
        e.0 += 1;
        e.1 += usize::from(t.decision == DecisionWord::Refer);
    }
    println!("\n{:<28} {:>10} {:>9}", "who they really were", "travellers", "referred");
    for (truth, (n, referred)) in &by_truth {
        println!("{truth:<28} {n:>10} {referred:>9}");
    }
    let mut transactions: Vec<f64> = result
        .travellers
        .iter()
        .filter(|t| t.decision == DecisionWord::Release)
        .filter_map(|t| t.transaction)
        .collect();
    transactions.sort_by(f64::total_cmp);
    let mut waits: Vec<f64> = result.travellers.iter().filter(|t| t.started.is_some()).map(|t| t.waited).collect();
    waits.sort_by(f64::total_cmp);
    let q = khil_clearance::traffic::quantile;
    println!(
        "\ntransaction (released) p50 {:.1} s, p90 {:.1} s; queue before the gates p95 {:.1} min; records {} ({})",
        q(&transactions, 0.5),
        q(&transactions, 0.9),
        q(&waits, 0.95) / 60.0,
        result.records.committed,
        result.records.verify_detail
    );
    if let Some(c) = &result.records.central {
        let longest = c.backlog.iter().max_by_key(|b| b.length);
        println!(
            "central {}: {} records uploaded in {} rounds ({} failed), {} waiting at the end{}",
            c.url,
            c.uploaded,
            c.rounds,
            c.failed_rounds,
            result.records.pending_upload,
            longest.map_or(String::new(), |b| format!("; longest backlog {} records", b.length))
        );
    }
    if !result.expectations.is_empty() {
        println!("\nexpectations (every one in full in report.html and outcomes.json):");
        for e in &result.expectations {
            let line = format!("{}: expected {}; got {}", e.what, e.expected, e.actual);
            println!("  {:<4} {}", if e.passed { "pass" } else { "FAIL" }, shorten(&line, 150));
        }
    }
}

/// `text` cut to `max` characters, marked when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}
