//! `khil train`: officer training in document examination. `khil train documents` serves a local page on which a
//! trainee examines simulated documents under white, infrared and ultraviolet light, reads the chip and database
//! result, and decides genuine or forged, naming the defect; the session is scored per fraud class and kept in a
//! SQLite file that `khil train report` prints for the trainer.
//!
//! - `case`: the seam to whatever makes documents ([`case::CaseSource`]), and a small source of five classes made
//!   from the renderer's designs.
//! - `catalogue`: the source of every fraud class, from `khil-sim-docreader`'s forgery catalogue (the default).
//! - `score`: scoring, a pure function.
//! - `store`: the SQLite file.
//! - `server`: the HTTP server and its page (`page.html`).

mod case;
mod catalogue;
mod score;
mod server;
mod store;

use std::fmt::Write as _;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use khil_mrtd::mrz::CivilDate;
use khil_sim_docreader::{Dpi, FontPaths, Fonts, ParameterSpace, Renderer};

use case::{CaseSource, SimCases};
use catalogue::CatalogueCases;
use store::{NewSession, Report, Store};

#[derive(Debug, Args)]
#[command(about = "Officer training: examine simulated documents, decide genuine or forged, get scored")]
pub(crate) struct TrainArgs {
    #[command(subcommand)]
    command: TrainCommand,
}

#[derive(Debug, Subcommand)]
enum TrainCommand {
    Documents(DocumentsArgs),
    Report(ReportArgs),
}

#[derive(Debug, Args)]
#[command(
    about = "Serve a training session on a local web page: simulated documents under white, IR and UV light, the \
             chip result, a genuine/forged decision with the defect, and a score per fraud class at the end",
    after_help = "Prints exactly one line `ready http://ADDR:PORT/` on stdout once the page can be opened, then serves \
until SIGINT or SIGTERM. Every answer is committed to --db before the next case is served.\n\n\
Examples:\n  khil train documents --trainee 'B. Bat-Erdene' --cases 20\n  \
khil train documents --db class-2026-12.db --seed 7 --addr 127.0.0.1:8080"
)]
struct DocumentsArgs {
    /// Where to serve the page; localhost by default (the page is for the trainee at this machine).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// The trainer's SQLite file (created if missing; sessions accumulate in it).
    #[arg(long, value_name = "FILE", default_value = "khil-train.db")]
    db: PathBuf,
    /// Seed of the session's documents (default: from the clock); the same seed gives the same cases.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// How many documents the trainee examines.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    cases: u32,
    /// The trainee's name, kept in the report.
    #[arg(long, value_name = "NAME", default_value = "trainee")]
    trainee: String,
    /// The day of the examination, YYYY-MM-DD (default: today, UTC): what "expired" is measured against.
    #[arg(long, value_name = "DATE")]
    date: Option<String>,
    /// Where the documents come from.
    #[arg(long, value_enum, default_value_t = Source::Catalogue)]
    source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Source {
    /// The forgery catalogue, every fraud class (its development parameter space).
    Catalogue,
    /// The forgery catalogue's held-out parameter space (other wear, lighting, printers, alteration styles).
    CatalogueHeldOut,
    /// Five classes from the page designs alone (genuine, office paper, IR-transparent MRZ, stolen blank, expired).
    Designs,
}

#[derive(Debug, Args)]
#[command(
    about = "Print the trainer's report of a training session: score per fraud class, overall, time per case",
    after_help = "Output: a table, or with --json {\"session\", \"classes\": [{\"class\", \"label\", \"shown\", \
\"answered\", \"decision_correct\", \"defect_correct\", \"mean_seconds\"}], \"overall\", \"cases\": [...]}.\n\n\
Example:\n  khil train report --db khil-train.db --session 3 --json"
)]
struct ReportArgs {
    /// The training database `khil train documents --db` wrote.
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// The session (default: the newest).
    #[arg(long, value_name = "ID")]
    session: Option<i64>,
    /// JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: TrainArgs) -> Result<(), String> {
    match args.command {
        TrainCommand::Documents(args) => documents(args).await,
        TrainCommand::Report(args) => report(&args),
    }
}

async fn documents(args: DocumentsArgs) -> Result<(), String> {
    let day = match &args.date {
        Some(text) => parse_date(text).ok_or_else(|| format!("--date {text:?}: expected YYYY-MM-DD"))?,
        None => today(),
    };
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
    });
    let fonts = Fonts::load(&FontPaths::from_env()).map_err(|e| e.to_string())?;
    // 300 dpi: a page set renders in about 0.3 s, and the trainee zooms in on the browser's side.
    let renderer = Renderer::new(fonts, Dpi::D300);
    let source: Arc<dyn CaseSource> = match args.source {
        Source::Catalogue => Arc::new(CatalogueCases::new(renderer, ParameterSpace::Development)),
        Source::CatalogueHeldOut => Arc::new(CatalogueCases::new(renderer, ParameterSpace::HeldOut)),
        Source::Designs => Arc::new(SimCases::new(renderer)),
    };
    let mut store = Store::open(&args.db).map_err(|e| e.to_string())?;
    let classes = source.classes();
    let new = NewSession {
        trainee: &args.trainee,
        source: source.name(),
        seed,
        cases: args.cases,
        date: day.to_string(),
        classes: &classes,
    };
    let id = store.create_session(&new, now_ms()).map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(args.addr).await.map_err(|e| format!("--addr {}: {e}", args.addr))?;
    let local = listener.local_addr().map_err(|e| format!("--addr {}: {e}", args.addr))?;
    if !local.ip().is_loopback() {
        tracing::warn!(%local, "the training page is reachable from other machines");
    }
    let shutdown = crate::sim::shutdown_signal().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready http://{local}/").and_then(|()| out.flush()).map_err(|e| format!("stdout: {e}"))?;
    }
    tracing::info!(session = id, seed, cases = args.cases, db = %args.db.display(), "training session ready");
    let session = server::Session { id, trainee: args.trainee, seed, cases: args.cases, day, classes };
    let shutdown = async move {
        let signal = shutdown.await;
        tracing::info!(signal, "shutting down");
    };
    server::serve(listener, source, store, session, shutdown).await.map_err(|e| format!("serving the page: {e}"))
}

fn report(args: &ReportArgs) -> Result<(), String> {
    if !args.db.is_file() {
        return Err(format!("--db {}: no such file", args.db.display()));
    }
    let store = Store::open(&args.db).map_err(|e| e.to_string())?;
    let id = match args.session {
        Some(id) => id,
        None => store.latest_session().map_err(|e| format!("--db {}: {e}", args.db.display()))?,
    };
    let report = store.report(id).map_err(|e| e.to_string())?;
    if args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

/// The report for people.
fn table(report: &Report) -> String {
    let s = &report.session;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Training session {} of {} on {} (seed {}, {})",
        s.id, s.trainee, s.session_date, s.seed, s.source
    );
    let _ = writeln!(
        out,
        "Started {}, {}",
        s.started,
        s.finished.as_ref().map_or("not finished".into(), |f| format!("finished {f}"))
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<26} {:>5} {:>8} {:>14} {:>14} {:>10}",
        "class", "shown", "answered", "decision right", "defect right", "mean time"
    );
    let pct = |n: u32, d: u32| {
        if d == 0 { "-".to_owned() } else { format!("{n} ({:.0}%)", f64::from(n) * 100.0 / f64::from(d)) }
    };
    let secs = |s: Option<f64>| s.map_or("-".to_owned(), |s| format!("{s:.1} s"));
    let mut row = |name: &str, t: &score::Tally| {
        let _ = writeln!(
            out,
            "{name:<26} {:>5} {:>8} {:>14} {:>14} {:>10}",
            t.shown,
            t.answered,
            pct(t.decision_correct, t.shown),
            pct(t.defect_correct, t.shown),
            secs(t.mean_seconds)
        );
    };
    for c in &report.score.classes {
        row(&c.class, &c.tally);
    }
    row("overall", &report.score.overall);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:>4}  {:<26} {:<8} {:<26} {:<5} {:>8}",
        "case", "truth", "verdict", "defect named", "light", "time"
    );
    for c in &report.score.cases {
        let mark = if c.defect_correct {
            "right"
        } else if c.decision_correct {
            "defect wrong"
        } else {
            "wrong"
        };
        let _ = writeln!(
            out,
            "{:>4}  {:<26} {:<8} {:<26} {:<5} {:>8}  {mark}",
            c.index,
            c.truth,
            c.verdict.map_or("-", score::Verdict::name),
            c.defect.as_deref().unwrap_or("-"),
            lights(&c.lights_viewed),
            secs(c.seconds)
        );
    }
    out
}

/// Lights used as initials in the order first used: `WIU`, `W`, `-`.
fn lights(viewed: &[String]) -> String {
    let initials: String = viewed.iter().filter_map(|l| l.chars().next()).map(|c| c.to_ascii_uppercase()).collect();
    if initials.is_empty() { "-".to_owned() } else { initials }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn today() -> CivilDate {
    let days = now_ms().div_euclid(86_400_000);
    CivilDate::from_days_since_epoch(days).unwrap_or_else(|| CivilDate::new(2026, 1, 1).expect("a day"))
}

fn parse_date(text: &str) -> Option<CivilDate> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    CivilDate::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(parse_date("2026-12-06"), CivilDate::new(2026, 12, 6));
        for bad in ["2026-12-6", "2026-13-01", "2026-02-30", "26-12-06", "2026-12-06-1", "", "2026/12/06"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }
}
