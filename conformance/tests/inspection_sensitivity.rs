//! The inspection-system suite against khil's own terminal (`sim:inspection-system`): as it is, it passes every
//! purpose; with each terminal fault exactly the purposes in [`TABLE`] fail, and every purpose is in some row, so
//! each is shown able to fail. The lower tester is the passport simulator's (`khil_sim_mrtd::sim::specimen`), as
//! the `khil` binary passes it in.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use khil_conformance::suites::inspection::{ICS_KHIL, InspectionSuite, LowerTester, Specimen};
use khil_conformance::{Connector, Ics, Outcome, Quiet, RunOptions, RunReport, RunVerdict, Verdict, run};
use khil_link::{BoxLink, DeviceUrl};
use khil_sim_mrtd::pki::TestPki;

/// The passport simulator's specimens, under the test PKI of seed 0. `swap` replaces a chip fault by another (a
/// lower tester that presents something else than it says: the terminal then fails the wrong check).
struct Passports {
    pki: TestPki,
    swap: Option<(&'static str, &'static str)>,
}

impl LowerTester for Passports {
    fn chip(&self, specimen: &Specimen) -> Result<Box<dyn khil_apdu::Card>, String> {
        let faults: Vec<&str> = specimen
            .faults
            .iter()
            .map(|f| match self.swap {
                Some((from, to)) if f == from => to,
                _ => f.as_str(),
            })
            .collect();
        khil_sim_mrtd::sim::specimen(&self.pki, 0, specimen.document, specimen.pace.name(), &faults)
    }

    fn mrz(&self, document: u64) -> Result<String, String> {
        Ok(khil_sim_mrtd::sim::population_mrz(0, document))
    }

    fn trust(&self) -> Result<khil_mrtd::pa::TrustStore, String> {
        Ok(self.pki.trust_store())
    }
}

/// The suite reaches its terminal itself: no links.
struct NoLinks;

impl Connector for NoLinks {
    fn connect<'a>(&'a self, url: &'a DeviceUrl) -> Pin<Box<dyn Future<Output = Result<BoxLink, String>> + Send + 'a>> {
        Box::pin(async move { Err(format!("{url}: no byte links here")) })
    }
}

/// khil's declaration with a short reader timeout: the slow and mute specimens cost 0.2 s instead of 1.
fn quick_ics() -> Ics {
    let mut ics = Ics::builtin(ICS_KHIL, "built-in inspection-system, 200 ms reader").unwrap();
    ics.ixit.insert("reader_timeout_ms".into(), 200.into());
    ics
}

async fn run_terminal(faults: &str, swap: Option<(&'static str, &'static str)>) -> RunReport {
    let pki = khil_sim_mrtd::sim::test_pki(0).unwrap();
    let suite = InspectionSuite::with_lower_tester(Arc::new(Passports { pki, swap }));
    let url = if faults.is_empty() {
        "sim:inspection-system".to_owned()
    } else {
        format!("sim:inspection-system?fault={faults}")
    };
    let opts = RunOptions::new(url.parse().unwrap(), Some(quick_ics()));
    run(&suite, &NoLinks, &opts, &mut Quiet).await.unwrap()
}

/// Each terminal fault (comma-separated when several) and exactly the purposes it fails. `no-signature-check`
/// fails none: the passport simulator has no fault that breaks EF.SOD's signature alone. `no-chip-auth` and
/// `no-active-auth` fail none alone: a clone fails both, and either catches it.
const TABLE: &[(&str, &[&str])] = &[
    ("rejects-all", &["INSP-GEN-001", "INSP-GEN-002", "INSP-GEN-003"]),
    ("accepts-unread", &["INSP-TIME-001", "INSP-TIME-002"]),
    ("no-sm-check", &["INSP-SM-001", "INSP-SM-002"]),
    ("no-eof-check", &["INSP-EOF-001", "INSP-EOF-002"]),
    ("no-hash-check", &["INSP-PA-001"]),
    ("no-signature-check", &[]),
    ("no-chain-check", &["INSP-PA-002"]),
    ("no-validity-check", &["INSP-PA-003"]),
    ("no-crl-check", &["INSP-PA-004"]),
    ("no-chip-auth", &[]),
    ("no-active-auth", &[]),
    ("no-chip-auth,no-active-auth", &["INSP-CA-001"]),
];

fn failed(report: &RunReport) -> BTreeSet<String> {
    report.results.iter().filter(|r| r.outcome.is_failure()).map(|r| r.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn khils_terminal_passes_every_purpose() {
    let report = run_terminal("", None).await;
    let not_passed: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.outcome != Outcome::Verdict { verdict: Verdict::Pass })
        .map(|r| format!("{}: {:?} {:?}", r.id, r.outcome, r.evidence))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert_eq!(report.verdict, RunVerdict::Passed);
    assert_eq!(report.results.len(), 14);
    // No MRZ (document 3's number, its holder's name) and no reasons in the words of the terminal in any report.
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("E0957417") && !json.contains("GANKHUYAG"), "an MRZ reached the report");
    assert!(!json.contains("send sequence counter 0000"), "a terminal's reason reached the report");
    // The evidence names the failed check and what it was about.
    let sm = report.results.iter().find(|r| r.id == "INSP-SM-001").unwrap();
    let named = sm.evidence.checks.iter().find(|c| c.what == "the check the terminal names as failed").unwrap();
    assert!(named.observed.contains("(secure messaging)"), "{named:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_terminal_fault_fails_exactly_its_purposes_and_every_purpose_fails_under_one() {
    let mut runs = Vec::new();
    for (faults, expected) in TABLE {
        let run = tokio::spawn(async move { run_terminal(faults, None).await });
        runs.push((*faults, *expected, run));
    }
    let mut wrong = Vec::new();
    let mut caught = BTreeSet::new();
    for (faults, expected, run) in runs {
        let report = run.await.unwrap();
        let got = failed(&report);
        let want: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        if got != want {
            wrong.push(format!("terminal fault {faults}: failed {got:?}, expected {want:?}"));
        }
        assert_eq!(report.verdict, if want.is_empty() { RunVerdict::Passed } else { RunVerdict::Failed }, "{faults}");
        // A failed purpose failed on the terminal's verdict, not on an error of the test.
        for r in report.results.iter().filter(|r| r.outcome.is_failure()) {
            assert_eq!(r.outcome, Outcome::Verdict { verdict: Verdict::Fail }, "{faults}: {}", r.id);
        }
        caught.extend(got);
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    let never: Vec<&str> = khil_conformance::Suite::purposes(&InspectionSuite::new())
        .iter()
        .map(|p| p.meta.id)
        .filter(|id| !caught.contains(*id))
        .collect();
    assert!(never.is_empty(), "purposes no terminal fault fails: {never:?}");
}

/// A terminal that refuses a document for another reason than the fault it carries fails the purpose too, when
/// it names its checks: here the specimen said to have a wrong MAC goes mute instead, and khil's terminal
/// rightly refuses it, for no answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failed_check_must_be_the_one_the_fault_is_about() {
    let report = run_terminal("", Some(("wrong-mac:at=3", "mute:at=3"))).await;
    assert_eq!(failed(&report), BTreeSet::from(["INSP-SM-001".to_owned()]));
    let sm = report.results.iter().find(|r| r.id == "INSP-SM-001").unwrap();
    let verdict = &sm.evidence.checks[0];
    assert_eq!(verdict.verdict, Verdict::Pass, "the terminal did not accept it: {verdict:?}");
    let named = sm.evidence.checks.iter().find(|c| c.what == "the check the terminal names as failed").unwrap();
    assert_eq!(named.verdict, Verdict::Fail);
    assert!(named.observed.contains("no answer from the chip"), "{named:?}");
}

#[tokio::test]
async fn unknown_terminal_faults_and_other_devices_cannot_start() {
    let pki = khil_sim_mrtd::sim::test_pki(0).unwrap();
    let suite = InspectionSuite::with_lower_tester(Arc::new(Passports { pki, swap: None }));
    for (url, needles) in [
        ("sim:inspection-system?fault=no-mac-check", &["fault", "\"no-mac-check\"", "no-hash-check"][..]),
        ("sim:passport", &["sim:passport is not an inspection system"][..]),
        ("pcsc://Virtual%20PCD%2000%2000", &["--ics", "[ixit] command"][..]),
    ] {
        let opts = RunOptions::new(url.parse().unwrap(), None);
        let e = run(&suite, &NoLinks, &opts, &mut Quiet).await.unwrap_err();
        for n in needles {
            assert!(e.contains(n), "{url}: {e}");
        }
    }
    // An external terminal whose reader is not the vpcd slot the specimens go into.
    let mut ics = quick_ics();
    ics.ixit.insert("command".into(), "inspect --mrz {mrz}".into());
    ics.ixit.insert("vpcd".into(), "127.0.0.1:35964".into());
    let opts = RunOptions::new("pcsc://Virtual%20PCD%2000%2000".parse().unwrap(), Some(ics));
    let e = run(&suite, &NoLinks, &opts, &mut Quiet).await.unwrap_err();
    assert!(e.contains("Virtual PCD 00 01") && e.contains("[ixit] vpcd"), "{e}");
}
