//! The ZFM suite against the simulator in-process: the good simulator passes everything that applies.

mod common;

use common::run_against;
use khil_conformance::{Outcome, Verdict};

fn failures(report: &khil_conformance::RunReport) -> Vec<String> {
    report
        .results
        .iter()
        .filter(|r| r.outcome.is_failure() || r.outcome == (Outcome::Verdict { verdict: Verdict::Inconclusive }))
        .map(|r| {
            format!(
                "{} {}: {:?}",
                r.id,
                r.outcome.label(),
                r.evidence.checks.iter().filter(|c| c.verdict != Verdict::Pass).collect::<Vec<_>>()
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_passes_on_both_profiles() {
    for url in ["sim:fingerprint?profile=r307", "sim:fingerprint?profile=r503"] {
        let started = std::time::Instant::now();
        let report = run_against(url).await;
        eprintln!("{url}: {:?} in {:?}", report.summary, started.elapsed());
        assert!(failures(&report).is_empty(), "{url}: {:#?}", failures(&report));
        assert!(report.summary.pass >= 40, "{url}: {:?}", report.summary);
    }
}
