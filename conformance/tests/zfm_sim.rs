//! The ZFM suite against the simulator in-process: the good simulator passes everything that applies.

use std::sync::Arc;
use std::time::Duration;

use khil_conformance::suites::zfm::ZfmSuite;
use khil_conformance::{Connector, Outcome, Quiet, RunOptions, Suite, Verdict, run};
use khil_link::{BoxLink, DeviceUrl};
use khil_sim_fingerprint::{Profile, SensorConfig, ZfmSensor};
use khil_sim_host::{Line, in_process};

/// `sim:fingerprint?profile=..&finger=..&fault=..` in-process, for these tests (the khil binary has the full
/// registry; this one reads only what the tests use).
struct TestSims;

impl Connector for TestSims {
    fn connect<'a>(&'a self, url: &'a DeviceUrl) -> std::pin::Pin<Box<dyn Future<Output = Result<BoxLink, String>> + Send + 'a>> {
        Box::pin(async move {
            let DeviceUrl::Sim(s) = url else { return Err(format!("{url}: not a sim: URL")) };
            let p = |k: &str| s.params.get(k).cloned();
            let profile = Profile::by_name(&p("profile").unwrap_or_else(|| "r307".into())).ok_or("profile")?;
            let mut config = SensorConfig::new(profile);
            if let Some(f) = p("finger") {
                config.presence = f.parse().map_err(|e| format!("{e}"))?;
            }
            let mut line = Line::default();
            if let Some(f) = p("fault") {
                match f.parse::<khil_link::Fault>() {
                    Ok(lf) => line.faults.push(lf),
                    Err(_) => config.faults.push(f.parse().map_err(|e| format!("{e}"))?),
                }
            }
            let sensor = ZfmSensor::standalone(config).map_err(|e| e.to_string())?;
            sensor.prepare();
            Ok(in_process(Arc::new(sensor), &line))
        })
    }
}

pub async fn run_against(url: &str) -> khil_conformance::RunReport {
    let suite = ZfmSuite::new();
    let url: DeviceUrl = url.parse().unwrap();
    let opts = RunOptions { ics: suite.default_ics(&url), url, only: Vec::new(), purpose_timeout: Duration::from_secs(60) };
    run(&suite, &TestSims, &opts, &mut Quiet).await.unwrap()
}

fn failures(report: &khil_conformance::RunReport) -> Vec<String> {
    report
        .results
        .iter()
        .filter(|r| r.outcome.is_failure() || r.outcome == (Outcome::Verdict { verdict: Verdict::Inconclusive }))
        .map(|r| format!("{} {}: {:?}", r.id, r.outcome.label(), r.evidence.checks.iter().filter(|c| c.verdict != Verdict::Pass).collect::<Vec<_>>()))
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
