//! `junit.xml`: one `<testsuite>` per purpose group, one `<testcase>` per purpose.
//!
//! Mapping (JUnit knows pass, failure, error and skipped only):
//!
//! | outcome        | JUnit                                                             |
//! |----------------|-------------------------------------------------------------------|
//! | pass           | success                                                           |
//! | fail           | `<failure type="fail">`: the failed checks, expected vs observed  |
//! | error          | `<error type="error">`: why the purpose could not go on           |
//! | not applicable | `<skipped type="not-applicable">`: the ICS reason                 |
//! | inconclusive   | `<skipped type="inconclusive" message="inconclusive: ...">`       |
//! | none           | `<skipped type="none" message="no verdict: ...">`                 |
//! | not run        | `<skipped type="not-run">` in the testsuite `...not-run`: why     |
//!
//! Inconclusive is not a failure of the device, but it is not a pass either (the run is INCOMPLETE): `skipped`
//! keeps it visible in CI dashboards without turning them red, and the `verdict` property says which of the
//! skipped kinds it is. The run's verdict (PASSED, FAILED, INCOMPLETE) is the testsuites' `verdict` property. Every testcase carries the properties `purpose_id`, `clause`,
//! `condition` and `verdict` (the report's word: `pass`, `fail`, `inconclusive`, `none`, `not applicable`,
//! `error`); its system-out holds the evidence as text. Every testsuite carries the run's properties (device
//! URL, ICS, declared and reported identity, khil version).

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::runner::{PurposeResult, RunReport};
use crate::verdict::{Check, Direction, Outcome, Verdict};

/// The report as JUnit XML.
pub fn junit(report: &RunReport) -> Result<String, String> {
    let mut junit = Report::new(format!("khil conformance {}", report.class));
    junit.set_time(ms(report.duration_ms));
    let timestamp = super::rfc3339(report.started_unix);
    let run_properties = run_properties(report);
    for (group, results) in super::groups(report) {
        let classname = format!("khil.conformance.{}.{group}", report.class);
        let mut suite = TestSuite::new(classname.clone());
        suite.extra.insert("timestamp".into(), timestamp.clone().into());
        suite.set_time(ms(results.iter().map(|r| r.duration_ms).sum()));
        suite.add_properties(run_properties.iter().cloned());
        for result in results {
            suite.add_test_case(test_case(result, &classname));
        }
        junit.add_test_suite(suite);
    }
    if !report.not_run.is_empty() {
        let classname = format!("khil.conformance.{}.not-run", report.class);
        let mut suite = TestSuite::new(classname.clone());
        suite.extra.insert("timestamp".into(), timestamp.clone().into());
        suite.add_properties(run_properties.iter().cloned());
        for n in &report.not_run {
            let mut status = TestCaseStatus::skipped();
            status.set_type("not-run").set_message(format!("not run: {}", n.reason));
            let mut case = TestCase::new(format!("{} {}", n.id, n.title), status);
            case.set_classname(classname.clone());
            case.add_property(Property::new("purpose_id", n.id.as_str()));
            case.add_property(Property::new("verdict", "not run"));
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    junit.to_string().map_err(|e| format!("cannot write JUnit XML: {e}"))
}

fn ms(ms: f64) -> Duration {
    Duration::from_secs_f64((ms / 1000.0).max(0.0))
}

fn run_properties(report: &RunReport) -> Vec<Property> {
    let mut props = vec![
        Property::new("verdict", report.verdict.word()),
        Property::new("not_run", report.not_run.len().to_string()),
        Property::new("title", report.title.as_str()),
        Property::new("class", report.class.as_str()),
        Property::new("device_url", report.device_url.as_str()),
        Property::new("ics", report.ics.as_str()),
        Property::new("declared.vendor", report.declared.vendor.as_str()),
        Property::new("declared.model", report.declared.model.as_str()),
        Property::new("declared.firmware", report.declared.firmware.as_str()),
    ];
    props.extend(report.identity.fields.iter().map(|(k, v)| Property::new(format!("identity.{k}"), v.as_str())));
    props.push(Property::new("started_utc", super::utc_datetime(report.started_unix)));
    props.push(Property::new("khil_version", report.khil_version.as_str()));
    if let Some(digest) = &report.ics_sha256 {
        props.push(Property::new("ics_sha256", digest.as_str()));
    }
    for (name, value) in [("tester", &report.sign.tester), ("site", &report.sign.site)] {
        if !value.is_empty() {
            props.push(Property::new(name, value.as_str()));
        }
    }
    props.extend(report.sign.notes.iter().map(|n| Property::new("note", n.as_str())));
    props
}

fn test_case(result: &PurposeResult, classname: &str) -> TestCase {
    let status = match &result.outcome {
        Outcome::Verdict { verdict: Verdict::Pass } => TestCaseStatus::success(),
        Outcome::Verdict { verdict: Verdict::Fail } => {
            let failed: Vec<&Check> = result.evidence.checks.iter().filter(|c| c.verdict == Verdict::Fail).collect();
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let first = failed.first().map_or_else(String::new, |c| format!(": {}", one_line(c)));
            status
                .set_type("fail")
                .set_message(format!("{} of {} checks failed{first}", failed.len(), result.evidence.checks.len()))
                .set_description(checks_text(&failed));
            status
        }
        Outcome::Verdict { verdict: Verdict::Inconclusive } => {
            let first = result.evidence.checks.iter().find(|c| c.verdict == Verdict::Inconclusive);
            let mut status = TestCaseStatus::skipped();
            status
                .set_type("inconclusive")
                .set_message(format!("inconclusive: {}", first.map_or_else(|| "no reason recorded".into(), one_line)));
            status
        }
        Outcome::Verdict { verdict: Verdict::None } => {
            let mut status = TestCaseStatus::skipped();
            status.set_type("none").set_message("no verdict: the purpose ran but recorded no check");
            status
        }
        Outcome::NotApplicable { reason } => {
            let mut status = TestCaseStatus::skipped();
            status.set_type("not-applicable").set_message(format!("not applicable: {reason}"));
            status
        }
        Outcome::Error { message } => {
            let failed: Vec<&Check> = result.evidence.checks.iter().filter(|c| c.verdict == Verdict::Fail).collect();
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_type("error").set_message(message.as_str());
            if !failed.is_empty() {
                status.set_description(checks_text(&failed));
            }
            status
        }
    };
    let mut case = TestCase::new(format!("{} {}", result.id, result.title), status);
    case.set_classname(classname)
        .set_time(ms(result.duration_ms))
        .set_assertions(result.evidence.checks.len())
        .add_properties([
            ("purpose_id", result.id.as_str()),
            ("clause", result.clause.as_str()),
            ("condition", result.condition.as_str()),
            ("verdict", result.outcome.label().as_str()),
        ]);
    let evidence = evidence_text(result);
    if !evidence.is_empty() {
        case.set_system_out(evidence);
    }
    case
}

fn one_line(c: &Check) -> String {
    format!("{}: expected {}, observed {}", c.what, c.expected, c.observed)
}

fn checks_text(checks: &[&Check]) -> String {
    checks.iter().map(|c| one_line(c) + "\n").collect()
}

/// The evidence as plain text, for `<system-out>`.
fn evidence_text(result: &PurposeResult) -> String {
    let ev = &result.evidence;
    let mut out = String::new();
    if !result.expected.is_empty() {
        let _ = writeln!(out, "expected result: {}", result.expected);
    }
    for c in &ev.checks {
        let _ = writeln!(out, "check [{}] {}", c.verdict, one_line(c));
    }
    for n in &ev.notes {
        let _ = writeln!(out, "note: {n}");
    }
    for (name, t) in &ev.timings {
        let _ = writeln!(out, "timing: {name} = {t} ms");
    }
    for f in &ev.frames {
        let arrow = match f.dir {
            Direction::Out => "->",
            Direction::In => "<-",
        };
        let _ = writeln!(out, "frame {:>10.3} ms {arrow} {}  {}", f.at_ms, f.hex, f.summary);
    }
    out
}
