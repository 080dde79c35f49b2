//! The tests' connector (`sim:` URLs through the simulator registry, exactly as `khil conformance run` resolves
//! them), and helpers that run a suite against a URL.

#![allow(dead_code, unreachable_pub)]

use khil_conformance::suites::zfm::ZfmSuite;
use khil_conformance::{Connector, Quiet, RunOptions, RunReport, run};
use khil_link::{BoxLink, DeviceUrl};

pub struct TestSims;

impl Connector for TestSims {
    fn connect<'a>(
        &'a self,
        url: &'a DeviceUrl,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<BoxLink, String>> + Send + 'a>> {
        Box::pin(async move {
            khil_link::connect(url, None, &khil_sim_registry::Simulators).await.map_err(|e| e.to_string())
        })
    }
}

/// The ICS a tester would write for the simulated PD this test starts with `url` (the key and finger it was
/// started with), or `None` when the PD is in install mode with nobody at a sensor: then the suite's built-in
/// declaration of the model the PD identifies as must be right.
pub fn osdp_ics(url: &str) -> Option<khil_conformance::Ics> {
    let DeviceUrl::Sim(s) = url.parse::<DeviceUrl>().unwrap() else { return None };
    let finger = s.get("finger").is_some_and(|f| f.starts_with("auto") || f.starts_with("place"));
    if s.get("scbk").is_none() && !finger {
        return None;
    }
    let text = match s.get("profile").unwrap_or("gate-io") {
        "bio-reader" => khil_conformance::suites::osdp::ICS_BIO_READER,
        "card-reader" => khil_conformance::suites::osdp::ICS_CARD_READER,
        _ => khil_conformance::suites::osdp::ICS_GATE_IO,
    };
    let mut ics = khil_conformance::Ics::parse(text, "test fixture").unwrap();
    let address: i64 = s.get("address").unwrap_or("1").parse().unwrap();
    ics.ixit.insert("address".into(), address.into());
    match s.get("scbk") {
        Some(key) => ics.ixit.insert("scbk".into(), key.into()),
        None => ics.ixit.remove("scbk"),
    };
    ics.ixit.insert("finger".into(), finger.into());
    Some(ics)
}

/// Runs the whole OSDP PD suite against `url` with [`osdp_ics`].
pub async fn run_osdp(url: &str) -> RunReport {
    run_osdp_with(url, osdp_ics(url)).await
}

/// Runs the whole OSDP PD suite against `url` with `ics` (`None`: the built-in declaration).
pub async fn run_osdp_with(url: &str, ics: Option<khil_conformance::Ics>) -> RunReport {
    let suite = khil_conformance::suites::osdp::OsdpSuite::new();
    let opts = RunOptions::new(url.parse().unwrap(), ics);
    run(&suite, &TestSims, &opts, &mut Quiet).await.unwrap()
}

/// The ICS a tester would write for the simulated module this test starts with `url`: its profile's declaration,
/// with nobody at the sensor when the URL says `finger=none` (a faulty module may misreport itself, so the
/// built-in choice by identity is no way to run one).
pub fn zfm_ics(url: &str) -> khil_conformance::Ics {
    let DeviceUrl::Sim(s) = url.parse::<DeviceUrl>().unwrap() else { panic!("{url}: not a simulator") };
    let r503 = s.get("profile").is_some_and(|p| p.eq_ignore_ascii_case("r503"));
    let text = if r503 { khil_conformance::suites::zfm::ICS_R503 } else { khil_conformance::suites::zfm::ICS_R307 };
    let mut ics = khil_conformance::Ics::parse(text, "test fixture").unwrap();
    if s.get("finger") == Some("none") {
        ics.ixit.insert("finger".into(), "none".into());
    }
    ics
}

/// Runs the whole ZFM suite against `url` with `ics` (`None`: the built-in declaration of the model the module
/// identifies as).
pub async fn run_zfm_with(url: &str, ics: Option<khil_conformance::Ics>) -> RunReport {
    let suite = ZfmSuite::new();
    let opts = RunOptions::new(url.parse().unwrap(), ics);
    run(&suite, &TestSims, &opts, &mut Quiet).await.unwrap()
}

/// Runs the whole ZFM suite against `url` with the built-in declaration of the model the module identifies as.
pub async fn run_against(url: &str) -> RunReport {
    run_zfm_with(url, None).await
}

/// Texts of `report` (check descriptions, expected and observed values, notes, frame meanings, error and
/// not-applicable reasons) that show a Rust debug form instead of words: `Search { cc: .. }`, `Status(NotFound)`,
/// `Some(128)`, `Cc::Ok`. People read these in junit.xml and report.json.
pub fn debug_forms(report: &RunReport) -> Vec<String> {
    let mut found = Vec::new();
    for r in &report.results {
        let ev = &r.evidence;
        let mut texts: Vec<&str> = Vec::new();
        for c in &ev.checks {
            texts.extend([c.what.as_str(), c.expected.as_str(), c.observed.as_str()]);
        }
        texts.extend(ev.notes.iter().map(String::as_str));
        texts.extend(ev.frames.iter().map(|f| f.summary.as_str()));
        let reason = match &r.outcome {
            khil_conformance::Outcome::Error { message } => message.as_str(),
            khil_conformance::Outcome::NotApplicable { reason } => reason.as_str(),
            khil_conformance::Outcome::Verdict { .. } => "",
        };
        texts.push(reason);
        found.extend(texts.into_iter().filter(|t| looks_like_debug(t)).map(|t| format!("{}: {t}", r.id)));
    }
    found
}

/// A `CamelCase {` struct, a `CamelCase(` or `Some(`/`Ok(` tuple, or a `::` path.
fn looks_like_debug(text: &str) -> bool {
    if text.contains("::") {
        return true;
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !bytes[i - 1].is_ascii_alphanumeric();
        if starts_word && bytes[i].is_ascii_uppercase() {
            let end = (i..bytes.len())
                .find(|&j| !bytes[j].is_ascii_alphanumeric() && bytes[j] != b'_')
                .unwrap_or(bytes.len());
            let word = &text[i..end];
            let camel = word.len() > 1 && word.bytes().any(|b| b.is_ascii_lowercase());
            let rest = &text[end..];
            if camel && (rest.starts_with('(') || rest.starts_with(" { ")) {
                return true;
            }
            i = end;
        } else {
            i += 1;
        }
    }
    false
}

#[test]
fn debug_forms_are_recognised() {
    for debug in ["Search { cc: NotFound, page: 0, score: 0 }", "Status(NotFound)", "Some(128)", "Cc::Ok"] {
        assert!(looks_like_debug(debug), "{debug}");
    }
    for words in
        ["09 no matching template found, page 0, score 0", "GenImg (01)", "one of 32 and 128 bytes", "NAK (41)"]
    {
        assert!(!looks_like_debug(words), "{words}");
    }
}
