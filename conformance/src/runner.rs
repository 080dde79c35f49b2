//! Runs a suite against one device: applicability from the ICS, a fresh transport per purpose (the suite opens the
//! kind its class needs through the `Connector`), a time limit per purpose, and the results in order. Knows nothing
//! about any device class.

use std::time::{Duration, Instant, SystemTime};

use khil_link::DeviceUrl;
use serde::Serialize;

use crate::ics::{DeviceDecl, Ics};
use crate::purpose::{Applicability, Ctx, PurposeMeta, Stop};
use crate::suite::{Connector, Identity, Suite};
use crate::verdict::{Evidence, Outcome, Verdict};

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub url: DeviceUrl,
    pub ics: Ics,
    /// Run only purposes whose id starts with one of these (empty: all).
    pub only: Vec<String>,
    /// A purpose still running after this is stopped with `error`.
    pub purpose_timeout: Duration,
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
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub class: String,
    pub suite: String,
    pub device_url: String,
    pub ics: String,
    pub declared: DeviceDecl,
    pub identity: Identity,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix: u64,
    pub duration_ms: f64,
    pub khil_version: String,
    pub summary: Summary,
    pub results: Vec<PurposeResult>,
}

/// Hears about the run as it goes (the CLI's progress bar; nothing in tests).
pub trait Progress: Send {
    fn started(&mut self, _total: usize) {}
    fn purpose_started(&mut self, _meta: &PurposeMeta) {}
    fn purpose_done(&mut self, _result: &PurposeResult) {}
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

/// Runs `suite` against `opts.url`.
pub async fn run<S: Suite>(
    suite: &S,
    connector: &dyn Connector,
    opts: &RunOptions,
    progress: &mut dyn Progress,
) -> Result<RunReport, String> {
    suite.validate_ics(&opts.ics)?;
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
    // Identity first: a device that cannot be reached at all is one clear error, not N purpose errors.
    let url = suite.device_url(&opts.url);
    let mut dut = suite.open(connector, &url, &opts.ics).await.map_err(|e| format!("{}: {e}", opts.url))?;
    let identity = suite.identify(&mut dut).await;
    drop(dut);

    progress.started(purposes.len());
    let mut results = Vec::with_capacity(purposes.len());
    let mut summary = Summary::default();
    for purpose in purposes {
        progress.purpose_started(&purpose.meta);
        let began = Instant::now();
        let (outcome, evidence) = match (purpose.applies)(&opts.ics) {
            Applicability::NotApplicable(reason) => (Outcome::NotApplicable { reason }, Evidence::default()),
            Applicability::Applies => run_one(suite, connector, opts, purpose).await,
        };
        let m = &purpose.meta;
        let result = PurposeResult {
            id: m.id.to_owned(),
            title: m.title.to_owned(),
            clause: m.clause.to_owned(),
            group: m.group.to_owned(),
            condition: m.condition.to_owned(),
            expected: m.expected.to_owned(),
            outcome,
            duration_ms: Evidence::duration_ms(began.elapsed()),
            evidence,
        };
        tracing::info!(id = %result.id, outcome = %result.outcome.label(), "test purpose done");
        summary.add(&result.outcome);
        progress.purpose_done(&result);
        results.push(result);
    }
    progress.finished();
    Ok(RunReport {
        class: suite.class().to_owned(),
        suite: suite.title().to_owned(),
        device_url: opts.url.to_string(),
        ics: opts.ics.name(),
        declared: opts.ics.device.clone(),
        identity,
        started_unix,
        duration_ms: Evidence::duration_ms(started.elapsed()),
        khil_version: env!("CARGO_PKG_VERSION").to_owned(),
        summary,
        results,
    })
}

async fn run_one<S: Suite>(
    suite: &S,
    connector: &dyn Connector,
    opts: &RunOptions,
    purpose: &crate::purpose::Purpose<S::Dut>,
) -> (Outcome, Evidence) {
    let mut ctx = Ctx::new(opts.ics.clone());
    let body = async {
        let url = suite.device_url(&opts.url);
        let mut dut = suite.open(connector, &url, &opts.ics).await?;
        (purpose.run)(&mut dut, &mut ctx).await
    };
    let ended = tokio::time::timeout(opts.purpose_timeout, body).await;
    let (verdict, evidence) = ctx.finish();
    let outcome = match ended {
        Ok(Ok(()) | Err(Stop::Failed)) => Outcome::Verdict { verdict },
        Ok(Err(Stop::Error(message))) => Outcome::Error { message },
        Err(_) => Outcome::Error { message: format!("still running after {:?}: stopped", opts.purpose_timeout) },
    };
    (outcome, evidence)
}
