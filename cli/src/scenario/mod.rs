//! `khil scenario run` and `khil demo`: a border point's day from a scenario file, with a progress bar, a
//! summary table, outcomes.json, the point's SQLite store and report.html.

use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use khil_mrtd::mrz::CivilDate;

/// The shipped rule file, in the binary (`khil demo` needs nothing but the binary).
pub(crate) const SHIPPED_RULES: &str = include_str!("../../../scenarios/rules/mongolia.toml");

/// Today by the system clock: the simulators' test PKI issues its certificates around it.
pub(crate) fn today() -> Result<CivilDate, String> {
    let now =
        der::DateTime::from_system_time(std::time::SystemTime::now()).map_err(|e| format!("the system clock: {e}"))?;
    CivilDate::new(now.year(), now.month(), now.day()).ok_or_else(|| "the system clock: not a date".to_owned())
}

/// A progress bar of travellers on stderr (hidden when stderr is not a terminal).
#[derive(Debug, Clone)]
pub(crate) struct Bar(ProgressBar);

pub(crate) fn bar(total: usize) -> Bar {
    let bar = ProgressBar::new(total as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{elapsed_precise:.dim} [{bar:30}] {pos}/{len} travellers {wide_msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    Bar(bar)
}

impl Bar {
    /// The runner's progress callback: it learns the exact total from the runner.
    pub(crate) fn callback(&self) -> Box<dyn Fn(usize, usize) + Send + Sync> {
        let bar = Arc::new(self.0.clone());
        Box::new(move |done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
    }

    pub(crate) fn finish(&self) {
        self.0.finish_and_clear();
    }
}

mod run;

use std::process::ExitCode;

use clap::{Args, Subcommand};

pub(crate) use run::DemoArgs;

#[derive(Debug, Args)]
#[command(
    about = "Scenarios at a simulated border point",
    after_help = "Example:\n  khil scenario run scenarios/fraud-classes.toml --out runs/fraud"
)]
pub(crate) struct ScenarioArgs {
    #[command(subcommand)]
    what: ScenarioWhat,
}

#[derive(Debug, Subcommand)]
enum ScenarioWhat {
    Run(run::ScenarioRunArgs),
}

/// Exit status 0 (every expectation held), 1 (one failed), 2 (the scenario could not run: refused file, device
/// that would not start).
pub(crate) fn main(args: &ScenarioArgs) -> ExitCode {
    let ScenarioWhat::Run(run_args) = &args.what;
    exit(run::scenario_run(run_args))
}

/// `khil demo`, with `khil scenario run`'s exit status.
pub(crate) fn demo(args: &DemoArgs) -> ExitCode {
    exit(run::demo(args))
}

fn exit(outcome: Result<bool, String>) -> ExitCode {
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("khil: {e}");
            ExitCode::from(2)
        }
    }
}
