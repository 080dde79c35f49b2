//! khil's control panel and a simulated PD across every fault of the fault link, on tokio's paused clock: the bus
//! keeps going (or, when the line drops, ends with an error the handle reports), the CP notices each fault as a
//! retransmission, a lost session or an offline PD, and once the line is good again the relay is where the last
//! acknowledged OUT put it, at the PD and in the PD's own OSTAT.

use std::sync::Arc;
use std::time::Duration;

use khil_link::Fault;
use khil_osdp::command::{Command, OutputControl};
use khil_osdp::cp::{BusEvent, CpConfig, CpError, EventKind, OsdpBus, PdSetup};
use khil_osdp::reply::Reply;
use khil_sim_host::{Line, in_process};
use khil_sim_osdp::{OsdpPd, PdConfig, PdProfile};
use tokio::time::{sleep, timeout};

const KEY: [u8; 16] = [0x11; 16];

fn out(on: bool) -> Command {
    Command::Out(vec![OutputControl { output: 0, control: if on { 2 } else { 1 }, timer: 0 }])
}

/// What the CP saw while `spec` was on the line for 200 OUT toggles.
struct Outcome {
    acked: usize,
    failed: usize,
    retransmissions: u64,
    offline: usize,
    sessions_lost: usize,
    closed: bool,
}

async fn run(spec: &str, seed: u64) -> Outcome {
    let fault: Fault = spec.parse().unwrap();
    let pd = Arc::new(OsdpPd::new(PdConfig { scbk: Some(KEY), ..PdConfig::new(PdProfile::GATE_IO, 1) }));
    // The faults are on from the first byte: coming online is part of the test.
    let link = in_process(Arc::clone(&pd), &Line { faults: vec![fault], seed, ..Line::default() });
    let mut bus = OsdpBus::new(link, CpConfig { seed: Some(seed), ..CpConfig::default() });
    bus.add_pd(PdSetup::secure(1, KEY)).unwrap();
    let mut events = bus.take_events().unwrap();
    let handle = bus.handle();
    let task = tokio::spawn(async move { bus.run().await });
    timeout(Duration::from_mins(5), handle.wait_for(1, |s| s.secure))
        .await
        .unwrap_or_else(|_| panic!("{spec}: never online"))
        .unwrap();

    let (mut acked, mut failed, mut closed) = (0, 0, false);
    let mut last_acked = None;
    for i in 0..200 {
        let on = i % 2 == 0;
        match handle.command(1, out(on)).await {
            Ok(Reply::Ack) => {
                acked += 1;
                last_acked = Some(on);
            }
            Ok(other) => panic!("{spec}: OUT answered {other:?}"),
            Err(CpError::Closed | CpError::Link(_)) => {
                closed = true;
                break;
            }
            Err(_) => failed += 1,
        }
        sleep(Duration::from_millis(20)).await;
    }
    let mut outcome = Outcome { acked, failed, retransmissions: 0, offline: 0, sessions_lost: 0, closed };
    if closed {
        let ended = timeout(Duration::from_secs(5), task).await.expect("the bus task ends when the line drops");
        assert!(ended.unwrap().is_err(), "{spec}: the bus reports the dropped line");
    } else {
        // The line is still faulty: ask until an OUT and an OSTAT both get through, then compare.
        let mut settled = None;
        for _ in 0..50 {
            if handle.wait_for(1, |s| s.secure).await.is_err() {
                break;
            }
            if let Ok(Reply::Ack) = handle.command(1, out(true)).await {
                last_acked = Some(true);
                if let Ok(Reply::OStatR(image)) = handle.command(1, Command::OStat).await {
                    settled = Some(image);
                    break;
                }
            }
        }
        let image = settled.unwrap_or_else(|| panic!("{spec}: no OUT and OSTAT got through in 50 tries"));
        assert_eq!(pd.pd().outputs()[0], last_acked.unwrap(), "{spec}: the relay is where the last ACKed OUT put it");
        assert_eq!(image[0], 1, "{spec}: the PD's own OSTAT agrees");
        outcome.retransmissions = handle.status(1).unwrap().retransmissions;
        task.abort();
    }
    while let Ok(BusEvent { kind, .. }) = events.try_recv() {
        match kind {
            EventKind::Offline => outcome.offline += 1,
            EventKind::SessionLost => outcome.sessions_lost += 1,
            _ => {}
        }
    }
    outcome
}

#[tokio::test(start_paused = true)]
async fn the_bus_survives_every_fault_of_the_line_and_notices_it() {
    let specs = [
        "flip:p=0.002",
        "drop:p=0.002",
        "dup:p=0.002",
        "garbage:p=0.002,len=3",
        "delay:every=1500,ms=300",
        "stall:at=4000,ms=3000",
        "flip:p=0.0005,dir=rx",
        "drop:p=0.001,dir=tx",
    ];
    for (n, spec) in specs.iter().enumerate() {
        let o = run(spec, n as u64 + 1).await;
        assert!(!o.closed, "{spec}: the line never closes");
        let noticed = o.retransmissions + (o.offline + o.sessions_lost) as u64;
        assert!(noticed > 0, "{spec}: the CP noticed nothing");
        assert!(o.acked > 100, "{spec}: only {} of 200 OUTs acknowledged ({} failed)", o.acked, o.failed);
        eprintln!(
            "{spec}: {} acked, {} failed, {} retransmissions, {} offline, {} sessions lost",
            o.acked, o.failed, o.retransmissions, o.offline, o.sessions_lost
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_line_that_drops_ends_the_bus_with_an_error() {
    let o = run("close:at=3000", 9).await;
    assert!(o.closed, "the CP's handle reports the closed bus");
    assert!(o.acked > 0, "commands went through before the line dropped");
}
