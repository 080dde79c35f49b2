//! A PD's non-volatile memory: a KEYSET (and a COMSET) is stored before it is acknowledged, a PD started from the
//! stored state opens the secure channel with the new key, and a store that fails turns the ACK into NAK 9 and
//! leaves the PD as it was. Through khil's control panel, in-process, on the paused clock.

use std::sync::Arc;
use std::time::Duration;

use khil_osdp::command::Command;
use khil_osdp::cp::{BusHandle, CpConfig, CpError, OsdpBus, PdSetup};
use khil_osdp::reply::{NakCode, Reply};
use khil_sim_host::{Line, in_process};
use khil_sim_osdp::state::{PdStore, StateError};
use khil_sim_osdp::{OsdpPd, PdConfig, PdProfile, PdStateFile, Persisted};
use tokio::time::timeout;

const NEW_KEY: [u8; 16] = *b"khil-gate-key-01";

fn bus(pd: &Arc<OsdpPd>, setup: PdSetup) -> BusHandle {
    let mut bus = OsdpBus::new(in_process(Arc::clone(pd), &Line::default()), CpConfig::default());
    bus.add_pd(setup).unwrap();
    let handle = bus.handle();
    tokio::spawn(async move { bus.run().await });
    handle
}

async fn secure(handle: &BusHandle, address: u8) {
    timeout(Duration::from_secs(30), handle.wait_for(address, |s| s.secure)).await.expect("secure channel").unwrap();
}

/// A state file path in a fresh directory, removed when the returned guard drops.
fn temp_file(name: &str) -> (khil_test_support::TempDir, std::path::PathBuf) {
    let dir = khil_test_support::temp_dir(&format!("pd-state-{name}"));
    let path = dir.join("pd.json");
    (dir, path)
}

#[tokio::test(start_paused = true)]
async fn a_key_set_by_keyset_survives_a_restart() {
    let (_dir, path) = temp_file("keyset");
    let file = PdStateFile::new(&path);
    let pd = Arc::new(OsdpPd::new(PdConfig::new(PdProfile::GATE_IO, 1)));
    pd.pd().set_store(Box::new(file.clone()));
    let handle = bus(&pd, PdSetup::install(1));
    secure(&handle, 1).await;
    handle.keyset(1, NEW_KEY).await.unwrap();
    assert_eq!(file.load("gate-io").unwrap(), Some(Persisted { address: 1, scbk: Some(NEW_KEY) }));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("6b68696c2d676174652d6b65792d3031"), "the key, in hex: {text}");

    // Power cycle: a new PD from the stored state takes the new key, and only that.
    let stored = file.load("gate-io").unwrap().unwrap();
    let config = PdConfig { scbk: stored.scbk, ..PdConfig::new(PdProfile::GATE_IO, stored.address) };
    let pd = Arc::new(OsdpPd::new(config));
    let handle = bus(&pd, PdSetup::secure(1, NEW_KEY));
    secure(&handle, 1).await;
    assert_eq!(
        handle.command(1, Command::LStat).await.ok().map(|r| r.code()),
        Some(Reply::LStatR { tamper: 0, power: 0 }.code())
    );
    let old = Arc::new(OsdpPd::new(PdConfig { scbk: stored.scbk, ..PdConfig::new(PdProfile::GATE_IO, 1) }));
    let refused = bus(&old, PdSetup::install(1));
    let status = timeout(Duration::from_secs(5), refused.wait_for(1, |s| s.secure)).await;
    assert!(status.is_err(), "SCBK-D no longer opens it");
}

#[tokio::test(start_paused = true)]
async fn comset_stores_the_new_address() {
    let (_dir, path) = temp_file("comset");
    let file = PdStateFile::new(path);
    let pd = Arc::new(OsdpPd::new(PdConfig::new(PdProfile::CARD_READER, 5)));
    pd.pd().set_store(Box::new(file.clone()));
    let handle = bus(&pd, PdSetup::plain(5));
    timeout(Duration::from_secs(10), handle.wait_online(5)).await.unwrap().unwrap();
    let reply = handle.command(5, Command::ComSet { address: 9, baud: 115_200 }).await.unwrap();
    assert_eq!(reply, Reply::Com { address: 9, baud: 115_200 });
    assert_eq!(file.load("card-reader").unwrap(), Some(Persisted { address: 9, scbk: None }));
    assert_eq!(pd.pd().address(), 9);
    // The CP moved it too: commands go to the new address, and the old one is gone from the bus.
    assert!(matches!(handle.command(9, Command::LStat).await, Ok(Reply::LStatR { .. })));
    assert!(handle.status(5).is_none());
}

/// Non-volatile memory that is full.
#[derive(Debug)]
struct Full;

impl PdStore for Full {
    fn save(&mut self, _: &str, _: &Persisted) -> Result<(), StateError> {
        Err(StateError::Io { path: "/nvram".into(), source: std::io::Error::other("no space left") })
    }
}

#[tokio::test(start_paused = true)]
async fn a_key_that_cannot_be_stored_is_refused_and_the_old_one_stays() {
    let pd = Arc::new(OsdpPd::new(PdConfig::new(PdProfile::GATE_IO, 1)));
    pd.pd().set_store(Box::new(Full));
    let handle = bus(&pd, PdSetup::install(1));
    secure(&handle, 1).await;
    match handle.keyset(1, NEW_KEY).await {
        Err(CpError::Nak { code: NakCode::CannotProcess, .. }) => {}
        other => panic!("expected NAK 9, got {other:?}"),
    }
    assert_eq!(pd.pd().scbk(), None, "still in install mode");
    // And the session carries on with the key it had.
    assert!(matches!(handle.command(1, Command::LStat).await, Ok(Reply::LStatR { .. })));
}
