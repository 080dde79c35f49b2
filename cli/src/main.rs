//! `khil`: drivers, simulators and conformance tests for border-control devices.

mod bench;
mod conformance;
mod document;
mod gate;
mod mrz;
mod pdf;
mod plan;
mod records;
mod rules;
mod scenario;
mod sim;
mod train;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "khil",
    version = khil_conformance::KHIL_VERSION,
    about = "Drivers, simulators and conformance tests for border-control devices",
    after_help = "Example:\n  khil sim echo --pty          # a loopback device on a new virtual serial port\n\nLogs go to stderr: -v, -vv, -vvv or RUST_LOG=khil=debug."
)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Sim(sim::SimArgs),
    Bench(bench::BenchArgs),
    Conformance(conformance::ConformanceArgs),
    Gate(gate::GateArgs),
    Mrz(mrz::MrzArgs),
    Document(document::DocumentArgs),
    Train(train::TrainArgs),
    Plan(plan::PlanArgs),
    Rules(rules::RulesArgs),
    Records(records::RecordsArgs),
    Scenario(scenario::ScenarioArgs),
    Demo(scenario::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match cli.command {
        Command::Sim(args) => run(sim::run(args), Runtime::MultiThread),
        // One thread: ping-pong timings then do not depend on which worker each task landed on.
        Command::Bench(args) => run(bench::run(args), Runtime::CurrentThread),
        // Exit status 0, 1 (a purpose failed or errored) or 2 (the run could not start): see conformance.rs.
        Command::Conformance(args) => {
            on_runtime(conformance::run(args), Runtime::MultiThread).unwrap_or(ExitCode::from(2))
        }
        Command::Gate(args) => run(gate::run(args), Runtime::MultiThread),
        // Pure and synchronous: no runtime. Exit status 0, 1 (a check digit failed) or 2 (unreadable): see mrz.rs.
        Command::Mrz(args) => mrz::run(args),
        // Exit status 0 (every check passed), 1 (one failed), 3 (incomplete), 2 (could not run): see document.rs.
        Command::Document(args) => on_runtime(document::run(args), Runtime::MultiThread).unwrap_or(ExitCode::from(2)),
        Command::Train(args) => run(train::run(args), Runtime::MultiThread),
        // Pure and synchronous. Exit status 0 (a gate count meets the rule), 1 (none up to --max-gates), 2 (bad input).
        Command::Plan(args) => plan::run(args),
        // Pure and synchronous: exit 0 valid, 1 refused, 2 unreadable: see rules.rs.
        Command::Rules(args) => rules::run(args),
        Command::Records(args) => records::run(args),
        // Runtimes of their own (one thread, the clock paused). Exit status 0, 1 (an expectation failed), 2.
        Command::Scenario(args) => scenario::main(&args),
        Command::Demo(args) => scenario::demo(&args),
    }
}

#[derive(Clone, Copy)]
enum Runtime {
    MultiThread,
    CurrentThread,
}

/// Runs a command on a tokio runtime; errors are printed once, to stderr, without a backtrace.
fn run(fut: impl Future<Output = Result<(), String>>, runtime: Runtime) -> ExitCode {
    match on_runtime(fut, runtime) {
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(e)) => {
            eprintln!("khil: {e}");
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}

/// Runs a future to completion on a new tokio runtime; `None` (said on stderr) when the runtime cannot start.
fn on_runtime<T>(fut: impl Future<Output = T>, runtime: Runtime) -> Option<T> {
    let mut builder = match runtime {
        Runtime::MultiThread => tokio::runtime::Builder::new_multi_thread(),
        Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread(),
    };
    match builder.enable_all().build() {
        Ok(rt) => Some(rt.block_on(fut)),
        Err(e) => {
            eprintln!("khil: cannot start the async runtime: {e}");
            None
        }
    }
}

fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Colour only on a terminal: a log written to a file or a pipe keeps no escape codes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi).try_init();
}
