//! The docreader suite against khil's simulated reader (`sim:docreader`) in this process: as it is, it passes every
//! purpose; with each reader fault exactly the purposes in [`TABLE`] fail, and every purpose is in some row, so
//! each is shown able to fail. The simulator is opened as the `khil` binary opens it
//! (`khil_sim_docreader::sim::in_process`), its desk laying the documents an operator would.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use khil_conformance::suites::docreader::{DocReaderSuite, ReaderDesk, SimReader, SimReaders, Specimen};
use khil_conformance::{Connector, Outcome, Quiet, RunOptions, RunReport, RunVerdict, Verdict, run};
use khil_link::{BoxLink, DeviceUrl};

struct Sims;

impl SimReaders for Sims {
    fn open<'a>(&'a self, url: &'a DeviceUrl) -> Pin<Box<dyn Future<Output = Result<SimReader, String>> + Send + 'a>> {
        Box::pin(async move {
            let DeviceUrl::Sim(sim) = url else { return Err(format!("{url}: not a sim: URL")) };
            let (khil, rte, desk) = khil_sim_docreader::sim::in_process(sim.params.clone()).await?;
            Ok(SimReader { khil, rte, desk: Arc::new(Desk(desk)) })
        })
    }
}

struct Desk(Arc<khil_sim_docreader::sim::Desk>);

impl ReaderDesk for Desk {
    fn place(&self, specimen: Specimen) -> Result<(), String> {
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

/// The suite reaches its simulator itself: no links.
struct NoLinks;

impl Connector for NoLinks {
    fn connect<'a>(&'a self, url: &'a DeviceUrl) -> Pin<Box<dyn Future<Output = Result<BoxLink, String>> + Send + 'a>> {
        Box::pin(async move { Err(format!("{url}: no byte links here")) })
    }
}

/// khil's declaration with short event and reply timeouts: a reader that stays silent costs 0.6 s, not five.
fn quick_ics() -> khil_conformance::Ics {
    let mut ics =
        khil_conformance::Ics::builtin(khil_conformance::suites::docreader::ICS_KHIL, "built-in KR-1, quick").unwrap();
    ics.ixit.insert("event_timeout_ms".into(), 600.into());
    ics.ixit.insert("reply_timeout_ms".into(), 5000.into());
    ics
}

async fn run_reader(faults: &[&str]) -> RunReport {
    let suite = DocReaderSuite::with_sim_readers(Arc::new(Sims));
    let query: Vec<String> = faults.iter().map(|f| format!("fault={f}")).collect();
    let url = if query.is_empty() { "sim:docreader".to_owned() } else { format!("sim:docreader?{}", query.join("&")) };
    let opts = RunOptions::new(url.parse().unwrap(), Some(quick_ics()));
    run(&suite, &NoLinks, &opts, &mut Quiet).await.unwrap()
}

/// Each reader fault and exactly the purposes it fails.
const TABLE: &[(&str, &[&str])] = &[
    ("rte-unpadded", &["DOCR-RTE-002"]),
    ("rte-bad-bcc", &["DOCR-RTE-001", "DOCR-RTE-002"]),
    ("rte-bad-length", &["DOCR-RTE-001", "DOCR-RTE-002"]),
    ("rte-line-order", &["DOCR-RTE-001"]),
    ("no-present", &["DOCR-EVT-001", "DOCR-EVT-002"]),
    ("no-removed", &["DOCR-EVT-002"]),
    ("wrong-size", &["DOCR-GEO-001"]),
    ("wrong-dpi", &["DOCR-GEO-001"]),
    ("wrong-light", &["DOCR-LIGHT-001"]),
    ("refuse-light:light=ir", &["DOCR-LIGHT-001"]),
    ("image-when-empty", &["DOCR-EMPTY-001"]),
    ("silent-unknown", &["DOCR-ROB-001"]),
];

fn failed(report: &RunReport) -> BTreeSet<String> {
    report.results.iter().filter(|r| r.outcome.is_failure()).map(|r| r.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_genuine_reader_passes_every_purpose() {
    let report = run_reader(&[]).await;
    assert_eq!(failed(&report), BTreeSet::new());
    let not_passed: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.outcome != Outcome::Verdict { verdict: Verdict::Pass })
        .map(|r| format!("{}: {}", r.id, r.outcome.label()))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:?}");
    assert_eq!(report.verdict, RunVerdict::Passed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_fails_exactly_its_purposes() {
    let mut covered = BTreeSet::new();
    for (fault, expected) in TABLE {
        let report = run_reader(&[fault]).await;
        let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(failed(&report), expected, "fault {fault}");
        assert_eq!(report.verdict, RunVerdict::Failed, "fault {fault}");
        covered.extend(expected);
    }
    // wrong-seq fails every purpose that gets an answer: each checks its answers' sequence numbers.
    let report = run_reader(&["wrong-seq"]).await;
    for id in ["DOCR-ID-001", "DOCR-LIGHT-002", "DOCR-ROB-001", "DOCR-ROB-002", "DOCR-ROB-003", "DOCR-ROB-004"] {
        assert!(failed(&report).contains(id), "wrong-seq: {id} passed");
        covered.insert(id.to_owned());
    }
    let all: BTreeSet<String> =
        khil_conformance::suites::docreader::CATALOGUE.entries.iter().map(|e| e.id.clone()).collect();
    assert_eq!(covered, all, "every purpose is shown failing against some fault");
}
