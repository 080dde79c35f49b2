//! The tests' connector (`sim:` URLs through the simulator registry, exactly as `khil conformance run` resolves
//! them), and helpers that run a suite against a URL.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use khil_conformance::suites::zfm::ZfmSuite;
use khil_conformance::{Connector, Quiet, RunOptions, RunReport, Suite, run};
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

/// Runs the whole OSDP PD suite against `url` with the URL's default ICS.
pub async fn run_osdp(url: &str) -> RunReport {
    let suite = khil_conformance::suites::osdp::OsdpSuite::new();
    let parsed: DeviceUrl = url.parse().unwrap();
    run_osdp_with(url, suite.default_ics(&parsed)).await
}

/// Runs the whole OSDP PD suite against `url` with `ics`.
pub async fn run_osdp_with(url: &str, ics: khil_conformance::Ics) -> RunReport {
    let suite = khil_conformance::suites::osdp::OsdpSuite::new();
    let url: DeviceUrl = url.parse().unwrap();
    let opts = RunOptions { ics, url, only: Vec::new(), purpose_timeout: Duration::from_mins(1) };
    run(&suite, &TestSims, &opts, &mut Quiet).await.unwrap()
}

/// Runs the whole ZFM suite against `url` with the URL's default ICS.
pub async fn run_against(url: &str) -> RunReport {
    let suite = ZfmSuite::new();
    let url: DeviceUrl = url.parse().unwrap();
    let opts =
        RunOptions { ics: suite.default_ics(&url), url, only: Vec::new(), purpose_timeout: Duration::from_mins(1) };
    run(&suite, &TestSims, &opts, &mut Quiet).await.unwrap()
}
