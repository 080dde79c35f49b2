//! `khil conformance list|ics|run`: the test purposes of a device class, an ICS to start from, and a run against
//! one device that writes `report.json`, `junit.xml` and `report.html` as it goes.
//!
//! Exit status of `run`: 0 PASSED (every purpose ran, every applicable one passed), 1 FAILED (a purpose failed or
//! stopped with an error), 3 INCOMPLETE (nothing failed, but not everything ran or was decided: `--only`, Ctrl-C,
//! an inconclusive purpose); the reports are written in all three cases. 2 when the run could not start or its
//! reports could not be written (unknown class, bad URL, unreadable or invalid ICS, no purpose selected, and the
//! preflight's setup mistakes: the device does not answer at the declared address or speed, the declared key does
//! not open its secure channel, no ICS given for a device khil has no declaration of): the message names the
//! setting to fix.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use khil_conformance::operator::{Answer, Desk, Operator};
use khil_conformance::purpose::PurposeMeta;
use khil_conformance::report;
use khil_conformance::runner::PurposeResult;
use khil_conformance::suites::CLASSES;
use khil_conformance::{Connector, Ics, Progress, RunOptions, RunReport, RunVerdict, SignOff, Suite};
use khil_link::{BoxLink, DeviceUrl};

/// Exit status when a run could not start or finish (clap's usage errors use it too).
const CANNOT_RUN: u8 = 2;
/// Exit status of an INCOMPLETE run.
const INCOMPLETE: u8 = 3;

/// The one place that maps a class name to its suite: adding a class adds an arm here (and a line in
/// `khil_conformance::suites::CLASSES`). `$body` sees the suite as `$suite` and may `.await`.
macro_rules! with_suite {
    ($class:expr, |$suite:ident| $body:expr) => {
        match $class {
            "zfm" => {
                let $suite = khil_conformance::suites::zfm::ZfmSuite::new();
                Ok($body)
            }
            "osdp-pd" => {
                let $suite = khil_conformance::suites::osdp::OsdpSuite::new();
                Ok($body)
            }
            "emrtd-chip" => {
                let $suite = khil_conformance::suites::emrtd::EmrtdSuite::with_test_pki(test_pki_trust)
                    .with_test_terminals(test_pki_terminals);
                Ok($body)
            }
            "inspection-system" => {
                let $suite = khil_conformance::suites::inspection::InspectionSuite::with_lower_tester(
                    std::sync::Arc::new(Specimens::default()),
                );
                Ok($body)
            }
            "docreader" => {
                let $suite = khil_conformance::suites::docreader::DocReaderSuite::with_sim_readers(
                    std::sync::Arc::new(SimDocReaders),
                );
                Ok($body)
            }
            other => Err(unknown_class(other)),
        }
    };
}

#[derive(Debug, Args)]
#[command(
    about = "Run a conformance suite against a device, or list its test purposes",
    after_help = "Examples:\n  khil conformance list --class zfm\n  \
khil conformance run --class zfm --device sim:fingerprint?profile=r307 --out report/\n  \
khil conformance run --class zfm --device serial:///dev/ttyUSB0?baud=57600 --ics vendor-r503.toml --out r503/\n\n\
`run` writes report.html (for people), junit.xml (for CI) and report.json (everything) into --out; --pdf prints \
report.html to report.pdf.\n\
Exit status: 0 PASSED, 1 FAILED, 3 INCOMPLETE (not everything ran or was decided), 2 the run could not start."
)]
pub(crate) struct ConformanceArgs {
    #[command(subcommand)]
    command: ConformanceCommand,
}

#[derive(Debug, Subcommand)]
enum ConformanceCommand {
    /// List the test purposes of a device class (or of every class): id, group, title, ICS condition
    #[command(after_help = "Example:\n  khil conformance list --class zfm")]
    List {
        /// Device class (default: every class)
        #[arg(long)]
        class: Option<String>,
    },
    /// Write a class's ICS with every key commented, to start a vendor's declaration from
    #[command(after_help = "Examples:\n  khil conformance ics --class zfm > r503.toml\n  \
khil conformance ics --class osdp-pd --from-device serial:///dev/ttyUSB0?baud=115200 > reader.toml\n\n\
With --from-device, [device] (and any key named like a field the device reports) holds what the device reports.")]
    Ics {
        /// Device class (see `khil conformance list`)
        #[arg(long)]
        class: String,
        /// Fill in what this device reports about itself (its identity; for OSDP also the address it answers at)
        #[arg(long, value_name = "URL")]
        from_device: Option<String>,
    },
    /// Run a class's test purposes against a device and write the reports
    #[command(
        after_help = "Examples:\n  khil conformance run --class zfm --device sim:fingerprint?profile=r503 --out report/\n  \
khil conformance run --class zfm --device serial:///dev/ttyUSB0 --ics r503.toml --only ZFM-CAP ZFM-LIB-001 --out out/\n  \
khil conformance run --class osdp-pd --device serial:///dev/ttyUSB1?baud=115200 --ics reader.toml --operator \\\n      \
--tester \"B. Bat-Erdene\" --site Zamiin-Uud --note \"unit 4 of lot 12\" --pdf --out reader/\n  \
khil conformance run --class inspection-system --device sim:inspection-system?fault=no-crl-check --out is/\n  \
khil conformance run --class inspection-system --device pcsc://Virtual%20PCD%2000%2000 --ics terminal.toml --out is/\n\n\
An inspection system (a terminal) is tested with khil as the lower tester: sim:inspection-system is khil's own; \
pcsc://READER is an external one, run by the ICS's [ixit] command once per purpose while khil's specimen is in \
READER through pcscd's vpcd.\n\n\
Before any purpose the device is checked: it answers at the declared address and speed, the declared key opens its \
secure channel, and the ICS is given unless the device identifies as one of khil's simulated models. Reports are \
rewritten after every purpose, so Ctrl-C leaves a valid INCOMPLETE report.\n\n\
Exit status: 0 PASSED, 1 FAILED, 3 INCOMPLETE (reports written in all three), 2 the run could not start."
    )]
    Run(RunArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Device class (see `khil conformance list`)
    #[arg(long)]
    class: String,
    /// Device URL: serial:///dev/ttyUSB0?baud=57600, tcp://host:port, sim:fingerprint?profile=r307
    #[arg(long, value_name = "URL")]
    device: String,
    /// The vendor's ICS file (TOML: [device], [capabilities], [ixit]; `khil conformance ics` writes one to start
    /// from). Without it, only a device that identifies as one of khil's simulated models can be run
    #[arg(long, value_name = "FILE")]
    ics: Option<PathBuf>,
    /// Run only purposes whose id starts with one of these (repeatable, several values allowed)
    #[arg(long, value_name = "ID_PREFIX", num_args = 1..)]
    only: Vec<String>,
    /// A purpose still running after this many seconds is stopped with verdict `error`
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_secs)]
    purpose_timeout: Duration,
    /// A person is at the device: purposes that need one (place a finger, lift it) ask on this terminal (stderr)
    /// and wait for Enter (done) or `n` and Enter (could not: the purpose is inconclusive). The ICS's `[ixit]
    /// finger = "operator"` does the same for a ZFM module
    #[arg(long)]
    operator: bool,
    /// Seconds the operator has for each action before the purpose is inconclusive
    #[arg(long, value_name = "SECS", default_value = "120", value_parser = parse_secs)]
    operator_timeout: Duration,
    /// Directory for report.html, junit.xml and report.json (created if missing)
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Who ran the tests (shown in the report's sign-off block and the JUnit properties)
    #[arg(long, value_name = "NAME")]
    tester: Option<String>,
    /// Where the tests ran (a border point, a lab)
    #[arg(long, value_name = "PLACE")]
    site: Option<String>,
    /// A note for the report (repeatable): the unit's lot, the set-up, anything a reader should know
    #[arg(long = "note", value_name = "TEXT")]
    notes: Vec<String>,
    /// Also print report.html to report.pdf with headless Chromium (KHIL_CHROMIUM, or chromium on PATH)
    #[arg(long)]
    pdf: bool,
}

fn parse_secs(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("expected a number of seconds above 0, got {text:?}"))
}

fn unknown_class(name: &str) -> String {
    let known: Vec<&str> = CLASSES.iter().map(|(n, _)| *n).collect();
    format!("unknown class {name:?}: expected one of {}", known.join(", "))
}

/// Runs `khil conformance ...`.
pub(crate) async fn run(args: ConformanceArgs) -> ExitCode {
    let ended = match args.command {
        ConformanceCommand::List { class } => list(class.as_deref()).map(|()| ExitCode::SUCCESS),
        ConformanceCommand::Ics { class, from_device } => {
            with_suite!(class.as_str(), |suite| ics_template(&suite, from_device.as_deref()).await).and_then(|r| r).map(
                |text| {
                    print!("{text}");
                    ExitCode::SUCCESS
                },
            )
        }
        ConformanceCommand::Run(args) => {
            with_suite!(args.class.as_str(), |suite| run_class(&suite, &args).await).and_then(|r| r)
        }
    };
    ended.unwrap_or_else(|e| {
        eprintln!("khil conformance: {e}");
        ExitCode::from(CANNOT_RUN)
    })
}

fn list(class: Option<&str>) -> Result<(), String> {
    let names: Vec<&str> = match class {
        Some(c) => vec![c],
        None => CLASSES.iter().map(|(n, _)| *n).collect(),
    };
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&with_suite!(*name, |suite| purpose_table(&suite))?);
    }
    print!("{out}");
    Ok(())
}

/// `class: title, N test purposes` and a column-aligned table of the purposes.
fn purpose_table<S: Suite>(suite: &S) -> String {
    let rows: Vec<[&str; 4]> =
        suite.purposes().iter().map(|p| [p.meta.id, p.meta.group, p.meta.title, p.meta.condition]).collect();
    let header = ["ID", "GROUP", "TITLE", "CONDITION"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str; 4]| {
        let text: Vec<String> = cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("{}\n", text.join("  ").trim_end())
    };
    let n = rows.len();
    let mut out =
        format!("{}: {}, {n} test {}\n", suite.class(), suite.title(), if n == 1 { "purpose" } else { "purposes" });
    out.push_str(&line(&header));
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

/// The class's ICS template; with a device, its `[device]` fields (and any key named like a reported field, such
/// as `library_size` or `address`) hold what the device reports, and a header lists everything it reported.
async fn ics_template<S: Suite>(suite: &S, from_device: Option<&str>) -> Result<String, String> {
    let template = suite.ics_template();
    let Some(device) = from_device else { return Ok(template.to_owned()) };
    let url: DeviceUrl = device.parse().map_err(|e| format!("--from-device: {e}"))?;
    let identity =
        suite.identify(&CliConnector, &suite.device_url(&url), None).await.map_err(|e| format!("{url}: {e}"))?;
    Ok(khil_conformance::ics::fill_template(template, &identity, &url.to_string()))
}

/// One run of one class. `Err`: the run could not start, or its reports could not be written.
async fn run_class<S: Suite>(suite: &S, args: &RunArgs) -> Result<ExitCode, String> {
    if args.device.starts_with("exec:") {
        // A terminal run as a command reads at a PC/SC reader: that reader is the device, the command is how the
        // vendor's terminal is run (implementation extra information, in the ICS next to the rest of its setup).
        return Err(format!(
            "--device {}: an external inspection system is --device pcsc://READER (the reader it reads, where khil \
             plugs each specimen in through vpcd) with its command in the ICS's [ixit] command; `khil conformance \
             ics --class inspection-system` writes one to start from",
            args.device
        ));
    }
    let url: DeviceUrl = args.device.parse().map_err(|e| format!("--device: {e}"))?;
    let ics = match &args.ics {
        Some(path) => Some(Ics::load(path).map_err(|e| format!("--ics: {e}"))?),
        None => None,
    };
    // Before a run that may take minutes, not after it.
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("--out {}: cannot create the directory: {e}", args.out.display()))?;
    let browser = if args.pdf { Some(crate::pdf::find_browser()?) } else { None };
    let (stop, cancel) = tokio::sync::watch::channel(false);
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("khil conformance: interrupted: finishing the reports (INCOMPLETE)");
            let _ = stop.send(true);
        }
    });
    // Any purpose that needs a person asks on the terminal (an ICS can name an operator without --operator).
    let desk = Desk::new(std::sync::Arc::new(TerminalOperator::default()), args.operator_timeout);
    let opts = RunOptions {
        only: args.only.clone(),
        // The operator's own time comes on top of the device's.
        purpose_timeout: if args.operator {
            args.purpose_timeout + args.operator_timeout
        } else {
            args.purpose_timeout
        },
        cancel: Some(cancel),
        operator: Some(desk),
        operator_mode: args.operator,
        sign: SignOff {
            tester: args.tester.clone().unwrap_or_default(),
            site: args.site.clone().unwrap_or_default(),
            notes: args.notes.clone(),
        },
        ..RunOptions::new(url, ics)
    };
    // A progress bar would redraw over the operator's prompts.
    let shown: Box<dyn Progress> = if std::io::stderr().is_terminal() && !args.operator {
        Box::new(Bar::default())
    } else {
        Box::new(Lines::default())
    };
    let mut progress = Writing { shown, out: args.out.clone(), failed: None };
    let ran = khil_conformance::run(suite, &CliConnector, &opts, &mut progress).await;
    ctrl_c.abort();
    let report = ran?;
    if let Some(e) = progress.failed {
        return Err(e);
    }
    let files = report::write_all(&report, &args.out)?;
    print!("{}", outcome_text(&report));
    let html = files.iter().find(|f| f.ends_with(report::HTML_FILE)).unwrap_or(&files[0]);
    println!("report: {}", html.display());
    if let Some(browser) = browser {
        let pdf = args.out.join(crate::pdf::PDF_FILE);
        crate::pdf::print(&browser, html, &pdf).await.map_err(|e| format!("{e} (the other reports are written)"))?;
        println!("report: {}", pdf.display());
    }
    Ok(match report.verdict {
        RunVerdict::Passed => ExitCode::SUCCESS,
        RunVerdict::Failed => ExitCode::FAILURE,
        RunVerdict::Incomplete => ExitCode::from(INCOMPLETE),
    })
}

/// The person at the device, on this terminal: prompts on stderr, answers on stdin (read on a thread of its own,
/// started at the first question, so a run nobody attends never touches stdin).
#[derive(Default)]
struct TerminalOperator {
    lines: tokio::sync::Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<String>>>,
}

impl TerminalOperator {
    /// The next line typed; `None` when stdin is closed.
    async fn next_line(&self) -> Option<String> {
        let mut lines = self.lines.lock().await;
        let rx = lines.get_or_insert_with(|| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            std::thread::spawn(move || {
                for line in std::io::stdin().lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
            rx
        });
        rx.recv().await
    }
}

impl Operator for TerminalOperator {
    fn ask<'a>(
        &'a self,
        purpose: &'a str,
        action: &'a str,
        limit: Duration,
    ) -> Pin<Box<dyn Future<Output = Answer> + Send + 'a>> {
        Box::pin(async move {
            eprintln!(
                "operator ({purpose}): {action}. Press Enter when done, or type n and Enter if you cannot ({} s).",
                limit.as_secs()
            );
            match tokio::time::timeout(limit, self.next_line()).await {
                Err(_) => Answer::NoAnswer,
                Ok(None) => Answer::CouldNot("stdin is closed: nobody to answer".into()),
                Ok(Some(line)) => operator_answer(&line),
            }
        })
    }
}

/// A typed answer: `n` or `no` (and why, after it) could not; anything else, an empty line included, done.
fn operator_answer(line: &str) -> Answer {
    let line = line.trim();
    let lower = line.to_ascii_lowercase();
    for no in ["no", "n"] {
        if lower == no || lower.starts_with(&format!("{no} ")) {
            return Answer::CouldNot(line[no.len()..].trim().to_owned());
        }
    }
    Answer::Done
}

/// Shows progress and rewrites the reports at every checkpoint, so that an interrupted run leaves them valid.
struct Writing {
    shown: Box<dyn Progress>,
    out: PathBuf,
    /// The first write that failed (the run goes on; the error is reported at the end).
    failed: Option<String>,
}

impl Progress for Writing {
    fn started(&mut self, total: usize) {
        self.shown.started(total);
    }
    fn purpose_started(&mut self, meta: &PurposeMeta) {
        self.shown.purpose_started(meta);
    }
    fn purpose_running(&mut self, meta: &PurposeMeta, elapsed: Duration) {
        self.shown.purpose_running(meta, elapsed);
    }
    fn purpose_done(&mut self, result: &PurposeResult) {
        self.shown.purpose_done(result);
    }
    fn checkpoint(&mut self, report: &RunReport) {
        if let Err(e) = report::write_all(report, &self.out) {
            self.failed.get_or_insert(e);
        }
    }
    fn finished(&mut self) {
        self.shown.finished();
    }
}

/// The failed and errored purposes, one a line, then the summary line.
fn outcome_text(report: &RunReport) -> String {
    let mut out = String::new();
    for r in report.results.iter().filter(|r| r.outcome.is_failure()) {
        let _ = writeln!(out, "{:<6} {}  {}", r.outcome.label(), r.id, r.title);
    }
    let s = &report.summary;
    let mut counts =
        vec![format!("{} pass", s.pass), format!("{} fail", s.fail), format!("{} inconclusive", s.inconclusive)];
    if s.none > 0 {
        counts.push(format!("{} no verdict", s.none));
    }
    counts.push(format!("{} not applicable", s.not_applicable));
    counts.push(format!("{} error", s.error));
    if !report.not_run.is_empty() {
        counts.push(format!("{} not run", report.not_run.len()));
    }
    let _ = writeln!(
        out,
        "{} {}: {}: {} test purposes: {} ({})",
        report.class,
        report.device_url,
        report.verdict.word(),
        s.total + report.not_run.len(),
        counts.join(", "),
        report::human_ms(report.duration_ms),
    );
    out
}

/// khil's test PKI of `seed`, for an eMRTD ICS that trusts `khil-test-pki:SEED`.
fn test_pki_trust(seed: u64) -> Result<khil_mrtd::pa::TrustStore, String> {
    Ok(khil_sim_mrtd::sim::test_pki(seed)?.trust_store())
}

/// The test inspection system's EAC credentials of khil's test PKI of `seed` (valid, and expired), for an eMRTD ICS
/// whose `[ixit] terminal` is `khil-test-pki:SEED`.
fn test_pki_terminals(
    seed: u64,
) -> Result<(khil_mrtd::ta::TerminalCredentials, khil_mrtd::ta::TerminalCredentials), String> {
    let eac = khil_sim_mrtd::sim::test_pki(seed)?.eac;
    Ok((eac.terminal, eac.expired_terminal))
}

/// `sim:docreader?...` for the docreader class: khil's simulated reader in this process, both channels, its desk
/// doing what an operator would.
struct SimDocReaders;

impl khil_conformance::suites::docreader::SimReaders for SimDocReaders {
    fn open<'a>(
        &'a self,
        url: &'a DeviceUrl,
    ) -> Pin<Box<dyn Future<Output = Result<khil_conformance::suites::docreader::SimReader, String>> + Send + 'a>> {
        Box::pin(async move {
            let DeviceUrl::Sim(sim) = url else { return Err(format!("{url}: not a sim: URL")) };
            if sim.device != khil_sim_docreader::SIMULATOR.name {
                return Err(format!("{url}: the docreader class runs against sim:docreader, not sim:{}", sim.device));
            }
            let (khil, rte, desk) = khil_sim_docreader::sim::in_process(sim.params.clone()).await?;
            Ok(khil_conformance::suites::docreader::SimReader {
                khil,
                rte,
                desk: std::sync::Arc::new(ReaderDesk(desk)),
            })
        })
    }
}

/// The simulated reader's desk as the suite asks for documents.
struct ReaderDesk(std::sync::Arc<khil_sim_docreader::sim::Desk>);

impl khil_conformance::suites::docreader::ReaderDesk for ReaderDesk {
    fn place(&self, specimen: khil_conformance::suites::docreader::Specimen) -> Result<(), String> {
        use khil_conformance::suites::docreader::Specimen;
        let format = match specimen {
            Specimen::Passport => khil_mrtd::mrz::Format::Td3,
            Specimen::Td2 => khil_mrtd::mrz::Format::Td2,
        };
        self.0.place_format(format).map(drop)
    }

    fn remove(&self) -> Result<(), String> {
        self.0.sim().remove();
        Ok(())
    }
}

/// The inspection-system class's lower tester: specimens of the passport simulator (population documents issued
/// under khil's test PKI of seed 0, what `khil document read` trusts by default), the PKI made on first use.
#[derive(Default)]
struct Specimens {
    pki: std::sync::OnceLock<Result<khil_sim_mrtd::pki::TestPki, String>>,
}

impl Specimens {
    /// The seed of the population and test PKI the specimens come from.
    const SEED: u64 = 0;

    fn pki(&self) -> Result<&khil_sim_mrtd::pki::TestPki, String> {
        self.pki.get_or_init(|| khil_sim_mrtd::sim::test_pki(Self::SEED)).as_ref().map_err(Clone::clone)
    }
}

impl khil_conformance::suites::inspection::LowerTester for Specimens {
    fn chip(
        &self,
        specimen: &khil_conformance::suites::inspection::Specimen,
    ) -> Result<Box<dyn khil_apdu::Card>, String> {
        let faults: Vec<&str> = specimen.faults.iter().map(String::as_str).collect();
        khil_sim_mrtd::sim::specimen(self.pki()?, Self::SEED, specimen.document, specimen.pace.name(), &faults)
    }

    fn mrz(&self, document: u64) -> Result<String, String> {
        Ok(khil_sim_mrtd::sim::population_mrz(Self::SEED, document))
    }

    fn trust(&self) -> Result<khil_mrtd::pa::TrustStore, String> {
        Ok(self.pki()?.trust_store())
    }
}

/// Device links for a run: serial, TCP, and this binary's in-process simulators for `sim:` URLs; APDU transports:
/// PC/SC readers and this binary's in-process cards (`sim:passport?...`).
struct CliConnector;

impl Connector for CliConnector {
    fn connect<'a>(&'a self, url: &'a DeviceUrl) -> Pin<Box<dyn Future<Output = Result<BoxLink, String>> + Send + 'a>> {
        Box::pin(async move {
            khil_link::connect(url, None, &khil_sim_registry::Simulators).await.map_err(|e| e.to_string())
        })
    }

    fn connect_apdu<'a>(
        &'a self,
        url: &'a DeviceUrl,
    ) -> Pin<Box<dyn Future<Output = Result<khil_apdu::BoxApdu, String>> + Send + 'a>> {
        Box::pin(
            async move { khil_apdu::connect(url, &khil_sim_registry::Simulators).await.map_err(|e| e.to_string()) },
        )
    }
}

/// A progress bar on a terminal's stderr; failures are printed above it as they happen.
#[derive(Debug, Default)]
struct Bar {
    bar: Option<ProgressBar>,
}

impl Progress for Bar {
    fn started(&mut self, total: usize) {
        let bar = ProgressBar::new(total as u64);
        if let Ok(style) = ProgressStyle::with_template("{elapsed_precise:.dim} [{bar:30}] {pos}/{len} {wide_msg}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    fn purpose_started(&mut self, meta: &PurposeMeta) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{} {}", meta.id, meta.title));
        }
    }

    fn purpose_running(&mut self, meta: &PurposeMeta, elapsed: Duration) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{} {} ({} s)", meta.id, meta.title, elapsed.as_secs()));
        }
    }

    fn purpose_done(&mut self, result: &PurposeResult) {
        if let Some(bar) = &self.bar {
            if result.outcome.is_failure() {
                bar.println(format!("{:<6} {}  {}", result.outcome.label(), result.id, result.title));
            }
            bar.inc(1);
        }
    }

    fn finished(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Without a terminal: one line a purpose on stderr (CI logs).
#[derive(Debug, Default)]
struct Lines {
    done: usize,
    total: usize,
}

impl Progress for Lines {
    fn started(&mut self, total: usize) {
        self.total = total;
    }

    /// At one second, then every ten: enough to see that a long purpose is alive without flooding a CI log.
    fn purpose_running(&mut self, meta: &PurposeMeta, elapsed: Duration) {
        let s = elapsed.as_secs();
        if s == 1 || s.is_multiple_of(10) {
            eprintln!("[{}/{}] {} running ({s} s)", self.done + 1, self.total, meta.id);
        }
    }

    fn purpose_done(&mut self, r: &PurposeResult) {
        self.done += 1;
        eprintln!(
            "[{}/{}] {} {} ({})",
            self.done,
            self.total,
            r.id,
            r.outcome.label(),
            report::human_ms(r.duration_ms)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every class the library lists is runnable from the CLI, and under its own name.
    #[test]
    fn every_class_has_a_suite() {
        for (name, title) in CLASSES {
            let (class, suite_title) = with_suite!(*name, |suite| (suite.class(), suite.title())).unwrap();
            assert_eq!((class, suite_title), (*name, *title));
        }
        let err = with_suite!("nope", |suite| suite.class()).unwrap_err();
        assert!(err.contains("\"nope\"") && err.contains("zfm"), "{err}");
    }

    #[test]
    fn operator_answers() {
        assert_eq!(operator_answer(""), Answer::Done);
        assert_eq!(operator_answer(" done "), Answer::Done);
        assert_eq!(operator_answer("n"), Answer::CouldNot(String::new()));
        assert_eq!(operator_answer("No  sensor is cracked"), Answer::CouldNot("sensor is cracked".into()));
        assert_eq!(operator_answer("never mind"), Answer::Done);
    }

    #[test]
    fn purpose_timeouts_are_positive_seconds() {
        assert_eq!(parse_secs("1.5"), Ok(Duration::from_millis(1500)));
        for bad in ["0", "-3", "soon", "inf", "NaN"] {
            assert!(parse_secs(bad).is_err(), "{bad}");
        }
    }
}
