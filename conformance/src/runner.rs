//! Runs a suite against one device: the suite's preflight first (setup mistakes stop the run before any verdict),
//! applicability from the ICS, a fresh transport per purpose (the suite opens the kind its class needs through the
//! `Connector`), a time limit per purpose, and the results in order, with the verdict of the run: PASSED only when
//! every purpose ran and every applicable one passed. Knows nothing about any device class.

use std::time::{Duration, Instant, SystemTime};

use khil_link::DeviceUrl;
use serde::Serialize;

use crate::ics::{DeviceDecl, Ics, ShownTable};
use crate::operator::Desk;
use crate::purpose::{Applicability, Ctx, PurposeMeta, Stop};
use crate::suite::{Connector, Identity, Preflight, Suite};
use crate::verdict::{Evidence, Outcome, Verdict};

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub url: DeviceUrl,
    /// The vendor's ICS; `None`: the built-in declaration of the model the device identifies as, if khil has one.
    pub ics: Option<Ics>,
    /// Run only purposes whose id starts with one of these (empty: all). A run with a selection is INCOMPLETE.
    pub only: Vec<String>,
    /// A purpose still running after this is stopped with `error`.
    pub purpose_timeout: Duration,
    /// Set to `true` to stop the run (Ctrl-C): the purpose running is abandoned, the rest are listed as not run and
    /// the report is INCOMPLETE.
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
    /// Somebody at the device: purposes that need a person ask them (the IXIT says which actions an operator
    /// does; with `operator_mode` the suite is told that every such action has one).
    pub operator: Option<Desk>,
    /// An operator does what the IXIT would otherwise leave to nobody (`khil conformance run --operator`): the
    /// suite adjusts the ICS it runs with ([`Suite::with_operator`]).
    pub operator_mode: bool,
    /// Who ran it, where, and what they noted (the report's sign-off block).
    pub sign: SignOff,
}

/// The people's part of a report: who tested, where, and their notes (`--tester`, `--site`, `--note`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SignOff {
    pub tester: String,
    pub site: String,
    pub notes: Vec<String>,
}

impl RunOptions {
    /// Every purpose against `url`, a minute each at most.
    pub fn new(url: DeviceUrl, ics: Option<Ics>) -> RunOptions {
        RunOptions {
            url,
            ics,
            only: Vec::new(),
            purpose_timeout: Duration::from_mins(1),
            cancel: None,
            operator: None,
            operator_mode: false,
            sign: SignOff::default(),
        }
    }
}

/// The verdict of a whole run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RunVerdict {
    /// Every purpose ran; each applicable one passed.
    Passed,
    /// A purpose failed or stopped with an error.
    Failed,
    /// Nothing failed, but not everything was shown: purposes not run (`--only`, an interrupted run), or
    /// inconclusive or without a verdict.
    Incomplete,
}

impl RunVerdict {
    /// `PASSED`, `FAILED`, `INCOMPLETE`.
    pub fn word(self) -> &'static str {
        match self {
            RunVerdict::Passed => "PASSED",
            RunVerdict::Failed => "FAILED",
            RunVerdict::Incomplete => "INCOMPLETE",
        }
    }
}

/// A purpose of the suite that did not run, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotRun {
    pub id: String,
    pub title: String,
    /// `not selected (--only ...)`, `the run was interrupted`.
    pub reason: String,
}

/// One purpose's result.
#[derive(Debug, Clone, Serialize)]
pub struct PurposeResult {
    pub id: String,
    pub title: String,
    pub clause: String,
    pub group: String,
    pub condition: String,
    pub expected: String,
    pub outcome: Outcome,
    pub duration_ms: f64,
    pub evidence: Evidence,
}

/// Counts per outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub inconclusive: usize,
    pub none: usize,
    pub not_applicable: usize,
    pub error: usize,
}

impl Summary {
    fn add(&mut self, outcome: &Outcome) {
        self.total += 1;
        match outcome {
            Outcome::Verdict { verdict: Verdict::Pass } => self.pass += 1,
            Outcome::Verdict { verdict: Verdict::Fail } => self.fail += 1,
            Outcome::Verdict { verdict: Verdict::Inconclusive } => self.inconclusive += 1,
            Outcome::Verdict { verdict: Verdict::None } => self.none += 1,
            Outcome::NotApplicable { .. } => self.not_applicable += 1,
            Outcome::Error { .. } => self.error += 1,
        }
    }

    /// Nothing failed and nothing errored.
    pub fn passed(&self) -> bool {
        self.fail == 0 && self.error == 0
    }

    /// The run's verdict, given the purposes that did not run.
    pub fn verdict(&self, not_run: usize) -> RunVerdict {
        if !self.passed() {
            RunVerdict::Failed
        } else if not_run > 0 || self.inconclusive > 0 || self.none > 0 {
            RunVerdict::Incomplete
        } else {
            RunVerdict::Passed
        }
    }
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub class: String,
    pub suite: String,
    /// PASSED, FAILED or INCOMPLETE.
    pub verdict: RunVerdict,
    /// What the device is, in its own words ([`Identity::title`]), or the declared model when it reports none.
    pub title: String,
    pub device_url: String,
    /// Where the ICS came from (a file, or the built-in declaration of a khil simulator's model).
    pub ics: String,
    /// SHA-256 of the ICS file as read (of the built-in text for a built-in one); `None` for one made in code.
    pub ics_sha256: Option<String>,
    /// The declaration the run was judged against, every table and key, secrets hidden ([`Ics::shown`]). After
    /// `--operator`, the IXIT as the run used it.
    pub ics_tables: Vec<ShownTable>,
    pub declared: DeviceDecl,
    pub identity: Identity,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix: u64,
    pub duration_ms: f64,
    /// khil's version and the commit it was built from ([`crate::KHIL_VERSION`]).
    pub khil_version: String,
    /// Tester, site and notes.
    pub sign: SignOff,
    pub summary: Summary,
    pub results: Vec<PurposeResult>,
    /// The suite's purposes that did not run, in catalogue order.
    pub not_run: Vec<NotRun>,
    /// Stopped before the end (Ctrl-C).
    pub interrupted: bool,
}

/// Hears about the run as it goes (the CLI's progress bar and report files; nothing in tests).
pub trait Progress: Send {
    fn started(&mut self, _total: usize) {}
    fn purpose_started(&mut self, _meta: &PurposeMeta) {}
    /// A purpose still running, about once a second after its first second.
    fn purpose_running(&mut self, _meta: &PurposeMeta, _elapsed: Duration) {}
    fn purpose_done(&mut self, _result: &PurposeResult) {}
    /// The report as it stands: before the first purpose and after each (what has not run yet is listed as not
    /// run, and the verdict is INCOMPLETE until the end), so an interrupted run leaves a valid report.
    fn checkpoint(&mut self, _report: &RunReport) {}
    fn finished(&mut self) {}
}

/// No progress output.
#[derive(Debug, Default)]
pub struct Quiet;

impl Progress for Quiet {}

/// The purposes of `suite` that `only` selects.
pub fn selected<'s, S: Suite>(suite: &'s S, only: &[String]) -> Vec<&'s crate::purpose::Purpose<S::Dut>> {
    suite
        .purposes()
        .iter()
        .filter(|p| only.is_empty() || only.iter().any(|o| p.meta.id.starts_with(o.as_str())))
        .collect()
}

/// Runs `suite` against `opts.url`. `Err`: the run could not start (nothing selected, the ICS is invalid, the
/// preflight found a setup mistake); the message names what to fix.
pub async fn run<S: Suite>(
    suite: &S,
    connector: &dyn Connector,
    opts: &RunOptions,
    progress: &mut dyn Progress,
) -> Result<RunReport, String> {
    if let Some(ics) = &opts.ics {
        suite.validate_ics(ics)?;
    }
    let started = Instant::now();
    let started_unix = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let purposes = selected(suite, &opts.only);
    if purposes.is_empty() {
        return Err(format!(
            "no {} test purpose matches {:?}: see `khil conformance list --class {}`",
            suite.class(),
            opts.only,
            suite.class()
        ));
    }
    // Setup first: a device that cannot be reached, a wrong key or no ICS is one clear error, not N failures.
    let url = suite.device_url(&opts.url);
    let Preflight { identity, ics } =
        suite.preflight(connector, &url, opts.ics.as_ref()).await.map_err(|e| format!("{}: {e}", opts.url))?;
    let ics = if opts.operator_mode { suite.with_operator(ics) } else { ics };
    suite.validate_ics(&ics)?;
    let opts = &RunOptions { ics: Some(ics.clone()), ..opts.clone() };
    let mut report = fresh_report(suite, opts, identity, &ics, started_unix, purposes.len());
    let unselected: Vec<NotRun> = suite
        .purposes()
        .iter()
        .filter(|p| !purposes.iter().any(|s| s.meta.id == p.meta.id))
        .map(|p| not_run(&p.meta, &format!("not selected (--only {})", opts.only.join(" "))))
        .collect();
    let pending = |done: usize, why: &str| -> Vec<NotRun> {
        let mut all = unselected.clone();
        all.extend(purposes[done..].iter().map(|p| not_run(&p.meta, why)));
        all.sort_by_key(|n| suite.purposes().iter().position(|p| p.meta.id == n.id));
        all
    };
    report.not_run = pending(0, "not run yet");
    progress.checkpoint(&report);

    progress.started(purposes.len());
    let mut cancel = opts.cancel.clone();
    for (done, purpose) in purposes.iter().enumerate() {
        if cancel.as_ref().is_some_and(|c| *c.borrow()) {
            report.interrupted = true;
            break;
        }
        progress.purpose_started(&purpose.meta);
        let began = Instant::now();
        let (outcome, evidence) = match (purpose.applies)(&ics) {
            Applicability::NotApplicable(reason) => (Outcome::NotApplicable { reason }, Evidence::default()),
            Applicability::Applies => {
                let ran = watched(run_one(suite, connector, opts, purpose), &purpose.meta, progress);
                match cancel.as_mut() {
                    None => ran.await,
                    Some(c) => {
                        tokio::select! {
                            r = ran => r,
                            _ = c.wait_for(|stop| *stop) => {
                                report.interrupted = true;
                                break;
                            }
                        }
                    }
                }
            }
        };
        let result = result_of(&purpose.meta, outcome, began.elapsed(), evidence);
        tracing::info!(id = %result.id, outcome = %result.outcome.label(), "test purpose done");
        report.summary.add(&result.outcome);
        progress.purpose_done(&result);
        report.results.push(result);
        report.not_run = pending(done + 1, "not run yet");
        report.duration_ms = Evidence::duration_ms(started.elapsed());
        progress.checkpoint(&report);
    }
    let done = report.results.len();
    report.not_run = pending(done, "the run was interrupted");
    report.verdict = report.summary.verdict(report.not_run.len());
    report.duration_ms = Evidence::duration_ms(started.elapsed());
    progress.checkpoint(&report);
    progress.finished();
    Ok(report)
}

/// The report before any purpose ran: who and what is tested, against which declaration, by whom.
fn fresh_report<S: Suite>(
    suite: &S,
    opts: &RunOptions,
    identity: Identity,
    ics: &Ics,
    started_unix: u64,
    selected: usize,
) -> RunReport {
    let title = identity.title().unwrap_or_else(|| {
        let d = &ics.device;
        format!("{} {} (as declared: the device reports no model)", d.vendor, d.model).trim().to_owned()
    });
    RunReport {
        class: suite.class().to_owned(),
        suite: suite.title().to_owned(),
        verdict: RunVerdict::Incomplete,
        title,
        device_url: opts.url.to_string(),
        ics: ics.name(),
        ics_sha256: ics.sha256.clone(),
        ics_tables: ics.shown(),
        declared: ics.device.clone(),
        identity,
        started_unix,
        duration_ms: 0.0,
        khil_version: crate::KHIL_VERSION.to_owned(),
        sign: opts.sign.clone(),
        summary: Summary::default(),
        results: Vec::with_capacity(selected),
        not_run: Vec::new(),
        interrupted: false,
    }
}

fn not_run(meta: &PurposeMeta, reason: &str) -> NotRun {
    NotRun { id: meta.id.to_owned(), title: meta.title.to_owned(), reason: reason.to_owned() }
}

fn result_of(m: &PurposeMeta, outcome: Outcome, took: Duration, evidence: Evidence) -> PurposeResult {
    PurposeResult {
        id: m.id.to_owned(),
        title: m.title.to_owned(),
        clause: m.clause.to_owned(),
        group: m.group.to_owned(),
        condition: m.condition.to_owned(),
        expected: m.expected.to_owned(),
        outcome,
        duration_ms: Evidence::duration_ms(took),
        evidence,
    }
}

/// Runs `body`, telling `progress` about once a second that the purpose is still running.
async fn watched<T>(body: impl Future<Output = T>, meta: &PurposeMeta, progress: &mut dyn Progress) -> T {
    let began = Instant::now();
    let mut body = std::pin::pin!(body);
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + Duration::from_secs(1), Duration::from_secs(1));
    loop {
        tokio::select! {
            out = &mut body => return out,
            _ = tick.tick() => progress.purpose_running(meta, began.elapsed()),
        }
    }
}

async fn run_one<S: Suite>(
    suite: &S,
    connector: &dyn Connector,
    opts: &RunOptions,
    purpose: &crate::purpose::Purpose<S::Dut>,
) -> (Outcome, Evidence) {
    let ics = opts.ics.clone().unwrap_or_default();
    let mut ctx = Ctx::for_purpose(ics.clone(), purpose.meta.id, opts.operator.clone());
    let body = async {
        let url = suite.device_url(&opts.url);
        let mut dut = suite.open(connector, &url, &ics).await?;
        (purpose.run)(&mut dut, &mut ctx).await
    };
    let ended = tokio::time::timeout(opts.purpose_timeout, body).await;
    let (verdict, evidence) = ctx.finish();
    let outcome = match ended {
        Ok(Ok(()) | Err(Stop::Failed | Stop::Undecided)) => Outcome::Verdict { verdict },
        Ok(Err(Stop::Error(message))) => Outcome::Error { message },
        Err(_) => Outcome::Error {
            message: format!(
                "still running after {}: stopped",
                crate::report::human_ms(opts.purpose_timeout.as_secs_f64() * 1000.0)
            ),
        },
    };
    (outcome, evidence)
}
