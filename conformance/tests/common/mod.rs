//! An in-process `sim:fingerprint` connector for these tests (the khil binary has the full registry; this one
//! reads only the parameters the tests use), and a helper that runs the ZFM suite against a URL.

#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use khil_biometrics::synth::Quality;
use khil_conformance::suites::zfm::ZfmSuite;
use khil_conformance::{Connector, Quiet, RunOptions, RunReport, Suite, run};
use khil_link::{BoxLink, DeviceUrl};
use khil_sim_fingerprint::{Fingers, Profile, SensorConfig, ZfmSensor};
use khil_sim_host::{Line, in_process};

pub struct TestSims;

fn fingers() -> Arc<Fingers> {
    static FINGERS: OnceLock<Arc<Fingers>> = OnceLock::new();
    Arc::clone(FINGERS.get_or_init(|| Arc::new(Fingers::new(0, Quality::Good))))
}

impl Connector for TestSims {
    fn connect<'a>(
        &'a self,
        url: &'a DeviceUrl,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<BoxLink, String>> + Send + 'a>> {
        Box::pin(async move {
            let DeviceUrl::Sim(s) = url else { return Err(format!("{url}: not a sim: URL")) };
            let p = |k: &str| s.params.get(k).cloned();
            if s.device == "osdp-pd" {
                return osdp_pd(&p);
            }
            let profile = Profile::by_name(&p("profile").unwrap_or_else(|| "r307".into())).ok_or("profile")?;
            let mut config = SensorConfig::new(profile);
            if let Some(f) = p("finger") {
                config.presence = f.parse().map_err(|e| format!("{e}"))?;
            }
            if let Some(q) = p("quirk") {
                config.quirks.push(q.parse().map_err(|e| format!("{e}"))?);
            }
            let mut line = Line::default();
            if let Some(f) = p("fault") {
                match f.parse::<khil_link::Fault>() {
                    Ok(lf) => line.faults.push(lf),
                    Err(_) => config.faults.push(f.parse().map_err(|e| format!("{e}"))?),
                }
            }
            let sensor = ZfmSensor::new(config, fingers()).map_err(|e| e.to_string())?;
            sensor.prepare();
            Ok(in_process(Arc::new(sensor), &line))
        })
    }
}

fn osdp_pd(p: &dyn Fn(&str) -> Option<String>) -> Result<BoxLink, String> {
    use khil_sim_osdp::{OsdpPd, PdConfig, PdProfile};
    let profile = PdProfile::by_name(&p("profile").unwrap_or_else(|| "gate-io".into())).ok_or("profile")?;
    let address = p("address").map_or(Ok(1), |a| a.parse::<u8>().map_err(|e| format!("address: {e}")))?;
    let mut config = PdConfig::new(profile, address);
    if let Some(k) = p("scbk") {
        let bytes: Vec<u8> = (0..32).step_by(2).filter_map(|i| u8::from_str_radix(k.get(i..i + 2)?, 16).ok()).collect();
        config.scbk = Some(bytes.try_into().map_err(|_| "scbk")?);
    }
    if let Some(q) = p("quirk") {
        config.quirks.push(q.parse()?);
    }
    let faults = match p("fault") {
        Some(f) => vec![f.parse::<khil_sim_osdp::PdFault>().map_err(|e| e.to_string())?],
        None => Vec::new(),
    };
    // A fingerprint reader gets the tests' shared population (seed 0, as `khil sim` without --seed) and the URL's
    // finger (`auto:<id>`, `place:<id>`; none by default), its impressions extracted before the first command.
    if profile.biometrics {
        let presence = match p("finger") {
            Some(f) => f.parse().map_err(|e| format!("{e}"))?,
            None => khil_sim_fingerprint::Presence::Lifted,
        };
        config.bio = Some(Arc::new(khil_sim_osdp::BioReader::new(fingers(), presence, 0.0, 0, 0)));
    } else if p("finger").is_some() {
        return Err(format!("finger: profile {:?} has no fingerprint sensor", profile.name));
    }
    let pd = Arc::new(OsdpPd::with_faults(config, faults));
    pd.prepare();
    Ok(in_process(pd, &Line::default()))
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
