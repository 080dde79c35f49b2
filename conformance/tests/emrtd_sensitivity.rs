//! The eMRTD chip suite against khil's simulated passport: the correct chip passes every applicable purpose, and
//! each faulty variant is failed by the purposes named for it, so that every purpose is shown failing. The
//! variants are the simulator's chip faults (`sim:passport?fault=...`) and, for what those do not cover, a
//! lower tester in this file that changes the chip's answers on the way back (a wrong status word, a constant
//! challenge).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use khil_apdu::{ApduFuture, ApduTransport, BoxApdu};
use khil_conformance::suites::emrtd::EmrtdSuite;
use khil_conformance::{Connector, Ics, Outcome, Quiet, RunOptions, RunReport, RunVerdict, Verdict, run};
use khil_link::{BoxLink, DeviceUrl};

/// How a lower tester changes the chip's answers: `(command APDU, response bytes) -> response bytes`.
type Mutation = fn(&[u8], Vec<u8>) -> Vec<u8>;

/// In-process cards; from the third transport on (the preflight opens two) each answer goes through `mutation`.
struct Cards {
    mutation: Option<Mutation>,
    opened: Arc<AtomicUsize>,
}

struct Mutant {
    inner: BoxApdu,
    mutation: Mutation,
}

impl ApduTransport for Mutant {
    fn transmit_raw<'a>(&'a mut self, apdu: &'a [u8]) -> ApduFuture<'a, Vec<u8>> {
        Box::pin(async move {
            let answer = self.inner.transmit_raw(apdu).await?;
            Ok((self.mutation)(apdu, answer))
        })
    }

    fn card_present(&mut self) -> ApduFuture<'_, bool> {
        self.inner.card_present()
    }

    fn reset(&mut self) -> ApduFuture<'_, Vec<u8>> {
        self.inner.reset()
    }
}

impl Connector for Cards {
    fn connect<'a>(&'a self, url: &'a DeviceUrl) -> Pin<Box<dyn Future<Output = Result<BoxLink, String>> + Send + 'a>> {
        Box::pin(async move { Err(format!("{url}: no byte links here")) })
    }

    fn connect_apdu<'a>(
        &'a self,
        url: &'a DeviceUrl,
    ) -> Pin<Box<dyn Future<Output = Result<BoxApdu, String>> + Send + 'a>> {
        Box::pin(async move {
            let inner = khil_apdu::connect(url, &khil_sim_registry::Simulators).await.map_err(|e| e.to_string())?;
            let n = self.opened.fetch_add(1, Ordering::SeqCst);
            Ok(match self.mutation {
                Some(mutation) if n >= 2 => Box::new(Mutant { inner, mutation }) as BoxApdu,
                _ => inner,
            })
        })
    }
}

fn test_pki(seed: u64) -> Result<khil_mrtd::pa::TrustStore, String> {
    Ok(khil_sim_mrtd::sim::test_pki(seed)?.trust_store())
}

type Terminals = (khil_mrtd::ta::TerminalCredentials, khil_mrtd::ta::TerminalCredentials);

fn test_terminals(seed: u64) -> Result<Terminals, String> {
    let eac = khil_sim_mrtd::sim::test_pki(seed)?.eac;
    Ok((eac.terminal, eac.expired_terminal))
}

/// The MRZ of population document 3 (seed 0), as `sim:passport?document=3` issues it.
fn document_3_mrz() -> String {
    let (y, m, d) = khil_sim_mrtd::sim::REFERENCE_DAY;
    let day = khil_mrtd::mrz::CivilDate::new(y, m, d).unwrap();
    khil_sim_population::documents::Documents::new(0, day).document(3).mrz().lines.join("\n")
}

async fn run_chip(url: &str, mutation: Option<Mutation>) -> RunReport {
    let suite = EmrtdSuite::with_test_pki(test_pki).with_test_terminals(test_terminals);
    let cards = Cards { mutation, opened: Arc::new(AtomicUsize::new(0)) };
    let opts = RunOptions::new(url.parse().unwrap(), None);
    run(&suite, &cards, &opts, &mut Quiet).await.unwrap()
}

/// Replaces the status word of an answer to a command with instruction `ins` whose status is `from`.
fn status(answer: &mut Vec<u8>, from: u16, to: u16) {
    let n = answer.len();
    if n >= 2 && u16::from_be_bytes([answer[n - 2], answer[n - 1]]) == from {
        answer.truncate(n - 2);
        answer.extend_from_slice(&to.to_be_bytes());
    }
}

fn ins(apdu: &[u8]) -> u8 {
    apdu.get(1).copied().unwrap_or(0)
}

/// A lower tester's variant: its name, what it does to the chip's answers, and the purposes that must fail.
const MUTANTS: &[(&str, Mutation, &[&str])] = &[
    (
        "the eMRTD application cannot be selected",
        |c, mut a| {
            if ins(c) == 0xA4 && c.get(2) == Some(&0x04) {
                status(&mut a, 0x9000, 0x6A82);
            }
            a
        },
        &["EMRTD-ISO-001"],
    ),
    (
        "any AID selects",
        |c, mut a| {
            if ins(c) == 0xA4 && c.get(2) == Some(&0x04) {
                status(&mut a, 0x6A82, 0x9000);
            }
            a
        },
        &["EMRTD-ISO-002"],
    ),
    (
        "unknown instructions get 6E00",
        |_, mut a| {
            status(&mut a, 0x6D00, 0x6E00);
            a
        },
        &["EMRTD-ISO-003"],
    ),
    (
        "reads before access control get 6A82",
        |_, mut a| {
            status(&mut a, 0x6982, 0x6A82);
            a
        },
        &["EMRTD-ISO-004"],
    ),
    (
        "constant challenge",
        |c, mut a| {
            if ins(c) == 0x84 && a.len() == 10 {
                a[..8].copy_from_slice(&[0x11; 8]);
            }
            a
        },
        &["EMRTD-BAC-001"],
    ),
    (
        "a wrong MRZ gets 6982",
        |_, mut a| {
            status(&mut a, 0x6300, 0x6982);
            a
        },
        &["EMRTD-BAC-002"],
    ),
    (
        "EIC || MIC with a bit wrong",
        |c, mut a| {
            if ins(c) == 0x82 && a.len() == 42 {
                a[39] ^= 1;
            }
            a
        },
        &["EMRTD-BAC-003"],
    ),
    (
        "a wrong MAC gets 6982",
        |_, mut a| {
            status(&mut a, 0x6988, 0x6982);
            a
        },
        &["EMRTD-SM-002"],
    ),
    (
        "PACE refused",
        |c, mut a| {
            if ins(c) == 0x86 {
                status(&mut a, 0x9000, 0x6985);
            }
            a
        },
        &["EMRTD-PACE-001"],
    ),
];

/// The simulator's chip faults and the purposes each must fail.
const FAULTS: &[(&str, &[&str])] = &[
    ("wrong-mac:every=1", &["EMRTD-SM-001", "EMRTD-SM-003"]),
    ("bad-ssc:every=1", &["EMRTD-SM-001", "EMRTD-SM-003"]),
    ("eof-9000:every=1", &["EMRTD-ISO-005"]),
    ("eof-6b00:every=1", &["EMRTD-ISO-005", "EMRTD-LDS-001"]),
    ("mute:at=3", &["EMRTD-LDS-001"]),
    ("clone", &["EMRTD-CA-001", "EMRTD-AA-001"]),
    ("corrupt-dg:dg=1", &["EMRTD-LDS-002", "EMRTD-PA-001"]),
    ("corrupt-dg:dg=2", &["EMRTD-PA-001"]),
    ("unknown-ds", &["EMRTD-PA-002"]),
    ("expired-ds", &["EMRTD-PA-002"]),
    ("revoked-ds", &["EMRTD-PA-002"]),
    ("eac-open", &["EMRTD-TA-001"]),
    ("corrupt-dg:dg=3", &["EMRTD-TA-002", "EMRTD-PA-001"]),
    ("ta-no-expiry", &["EMRTD-TA-003"]),
];

fn failed(report: &RunReport) -> Vec<String> {
    // A fail verdict, not an error: the purpose judged the chip wrong, rather than could not go on.
    report
        .results
        .iter()
        .filter(|r| r.outcome == Outcome::Verdict { verdict: Verdict::Fail })
        .map(|r| r.id.clone())
        .collect()
}

#[test]
fn the_built_in_passport_ics_holds_document_3s_mrz() {
    let ics = Ics::parse(khil_conformance::suites::emrtd::ICS_PASSPORT, "passport").unwrap();
    let declared = ics.ixit.get("mrz").and_then(|v| v.as_str()).unwrap();
    assert!(declared == document_3_mrz(), "passport.toml's [ixit] mrz is not document 3's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correct_chip_passes_every_purpose() {
    let report = run_chip("sim:passport?document=3", None).await;
    let not_passed: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.outcome != Outcome::Verdict { verdict: Verdict::Pass })
        .map(|r| format!("{}: {:?}", r.id, r.outcome))
        .collect();
    assert!(not_passed.is_empty(), "{not_passed:#?}");
    assert_eq!(report.verdict, RunVerdict::Passed);
    // The MRZ is in no report text.
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("E0957417") && !json.contains("GANKHUYAG"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_faulty_variant_is_caught_by_its_purposes_and_every_purpose_catches_one() {
    // A mute chip keeps the reader waiting at each read: run the variants side by side.
    let mut runs = Vec::new();
    for (fault, expected) in FAULTS {
        let url = format!("sim:passport?document=3&fault={fault}");
        runs.push((format!("fault {fault}"), *expected, tokio::spawn(async move { run_chip(&url, None).await })));
    }
    for (name, mutation, expected) in MUTANTS {
        let mutation = *mutation;
        let run = tokio::spawn(async move { run_chip("sim:passport?document=3", Some(mutation)).await });
        runs.push(((*name).to_owned(), *expected, run));
    }
    let mut missed = Vec::new();
    let mut caught = std::collections::BTreeSet::new();
    for (name, expected, run) in runs {
        let failed = failed(&run.await.unwrap());
        for id in expected {
            if !failed.iter().any(|f| f == id) {
                missed.push(format!("{name}: {id} did not fail (failed: {failed:?})"));
            }
        }
        caught.extend(failed);
    }
    assert!(missed.is_empty(), "{missed:#?}");
    let suite = EmrtdSuite::new();
    let never: Vec<&str> = khil_conformance::Suite::purposes(&suite)
        .iter()
        .map(|p| p.meta.id)
        .filter(|id| !caught.contains(*id))
        .collect();
    assert!(never.is_empty(), "purposes no variant fails: {never:?}");
}
