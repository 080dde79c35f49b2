//! `khil sim osdp-pd --state FILE` as users run it: a PD in install mode is given its own key by KEYSET over a
//! pty, the simulator is stopped, and started again from the same file it opens the secure channel with the new
//! key only.

mod common;

use std::process::Stdio;
use std::time::Duration;

use khil_link::NoSimulators;
use khil_osdp::cp::{BusHandle, CpConfig, OsdpBus, PdSetup};

const NEW_KEY: [u8; 16] = *b"zamiin-uud-gate1";

fn start(state: &std::path::Path) -> common::Sim {
    let state = state.to_str().unwrap();
    let args = ["sim", "osdp-pd", "--pty", "--profile", "gate-io", "--address", "4", "--state", state];
    common::start_khil(&args, Stdio::null(), Stdio::piped())
}

async fn bus(url: &str, setup: PdSetup) -> BusHandle {
    let url: khil_link::DeviceUrl = url.parse().unwrap();
    let link = khil_link::connect(&url, Some(115_200), &NoSimulators).await.unwrap();
    let mut bus = OsdpBus::new(link, CpConfig::default());
    bus.add_pd(setup).unwrap();
    let handle = bus.handle();
    tokio::spawn(async move { bus.run().await });
    handle
}

fn stop(sim: common::Sim) -> String {
    let (status, log) = common::stop_sim(sim, Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
    log
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_given_by_keyset_is_there_after_a_restart() {
    let dir = khil_test_support::temp_dir("osdp-state-cli");
    let state = dir.join("pd4.json");

    let sim = start(&state);
    let handle = bus(&sim.url, PdSetup::install(4)).await;
    tokio::time::timeout(Duration::from_secs(10), handle.wait_for(4, |s| s.secure)).await.unwrap().unwrap();
    handle.keyset(4, NEW_KEY).await.unwrap();
    let stored = std::fs::read_to_string(&state).unwrap();
    assert!(stored.contains("\"address\": 4"), "{stored}");
    let log = stop(sim);
    assert!(!log.contains("7a616d69696e"), "the key never reaches the log: {log}");

    let sim = start(&state);
    let handle = bus(&sim.url, PdSetup::secure(4, NEW_KEY)).await;
    let status = tokio::time::timeout(Duration::from_secs(10), handle.wait_for(4, |s| s.secure)).await;
    let status = status.expect("the restarted PD opens the secure channel with the stored key").unwrap();
    assert!(!status.default_key);
    let log = stop(sim);
    assert!(
        log.contains("address and key as stored in the state file") && log.contains("key=\"its own key\""),
        "{log}"
    );
}
