//! The gate behind its simulated OSDP I/O board, on tokio's paused clock: relays set by commands at the PD move
//! the model's flaps, the model's sensor changes come out as queued PD events, and commands keep the link
//! watchdog fed.

use std::sync::Arc;
use std::time::Duration;

use khil_osdp::command::{Command, OutputControl, opcode};
use khil_osdp::frame::{self, Decoded, OsdpFrame};
use khil_osdp::reply::Reply;
use khil_sim_gate::{Behaviour, DEFAULT_TICK, Event, Flap, GateBridge, GateConfig, GateModel, GateStatus};
use khil_sim_host::Line;
use khil_sim_osdp::{OsdpPd, PdConfig, PdProfile};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::sleep;

/// A control panel talking to the PD's state machine directly, with the right sequence numbers.
struct Cp {
    pd: Arc<OsdpPd>,
    sqn: u8,
}

impl Cp {
    fn new(pd: &Arc<OsdpPd>) -> Cp {
        Cp { pd: Arc::clone(pd), sqn: 0 }
    }

    fn next_sqn(&mut self) -> u8 {
        let s = self.sqn;
        self.sqn = if s == 3 { 1 } else { s + 1 };
        s
    }

    fn send(&mut self, command: &Command) -> Reply {
        let sqn = self.next_sqn();
        let f = OsdpFrame::command(1, sqn, command.code(), command.to_data());
        let bytes = f.encode(true);
        let Decoded::Frame { frame, packet, .. } = frame::decode(&bytes) else { panic!("test frame") };
        let out = self.pd.pd().handle(&frame, &bytes[packet]).expect("a reply");
        let Decoded::Frame { frame, .. } = frame::decode(&out) else { panic!("reply does not decode") };
        Reply::parse(frame.code, &frame.data).unwrap()
    }

    fn out(&mut self, output: u8, on: bool) {
        let c = Command::Out(vec![OutputControl { output, control: if on { 2 } else { 1 }, timer: 0 }]);
        assert_eq!(self.send(&c), Reply::Ack);
    }

    /// POLLs until the PD has nothing more: the input images it reported, one per queued input event.
    fn drain(&mut self) -> Vec<Vec<u8>> {
        let mut images = Vec::new();
        loop {
            match self.send(&Command::Poll) {
                Reply::Ack => return images,
                Reply::IStatR(image) => images.push(image),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

fn gate_io() -> Arc<OsdpPd> {
    Arc::new(OsdpPd::new(PdConfig::new(PdProfile::GATE_IO, 1)))
}

#[tokio::test(start_paused = true)]
async fn output_0_at_the_pd_opens_the_entry_flap_and_the_closed_contact_change_is_queued() {
    let pd = gate_io();
    let bridge = GateBridge::spawn(GateModel::new(GateConfig::default()), Arc::clone(&pd), DEFAULT_TICK);
    let gate = bridge.handle();
    let mut cp = Cp::new(&pd);
    sleep(Duration::from_millis(100)).await;
    // The flaps start closed: both closed contacts were pushed (two events; a POLL reports the current image),
    // nothing else.
    assert_eq!(pd.pd().inputs(), [false, false, false, true, true, false]);
    assert_eq!(cp.drain(), [vec![0, 0, 0, 1, 1, 0], vec![0, 0, 0, 1, 1, 0]]);

    cp.out(0, true);
    assert!(gate.model().flap_closed(Flap::Entry), "nothing moves until the bridge's next tick");
    sleep(DEFAULT_TICK + Duration::from_millis(10)).await;
    let p = gate.model().flap_position(Flap::Entry);
    assert!(p > 0.0 && p < 0.2, "the flap is on its way: {p}");
    assert!(gate.model().flap_closed(Flap::Exit));
    assert!(!pd.pd().inputs()[3]);
    assert_eq!(cp.drain(), [vec![0, 0, 0, 0, 1, 0]], "one change: entry flap no longer closed");

    sleep(Duration::from_secs(1)).await;
    assert!((gate.model().flap_position(Flap::Entry) - 1.0).abs() < 1e-9);
    assert!(cp.drain().is_empty(), "an open flap is not a change");

    // Off again: the contact closes when the flap is home, 0.8 s later, not before.
    cp.out(0, false);
    sleep(Duration::from_millis(600)).await;
    assert!(!pd.pd().inputs()[3]);
    sleep(Duration::from_millis(400)).await;
    assert!(pd.pd().inputs()[3]);
    assert_eq!(cp.drain(), [vec![0, 0, 0, 1, 1, 0]]);
    bridge.stop();
}

#[tokio::test(start_paused = true)]
async fn a_silent_controller_takes_the_gate_out_of_service_and_a_command_brings_it_back() {
    let pd = gate_io();
    let bridge = GateBridge::spawn(GateModel::new(GateConfig::default()), Arc::clone(&pd), DEFAULT_TICK);
    let gate = bridge.handle();
    let mut cp = Cp::new(&pd);
    // A controller polling every 0.5 s keeps it in service.
    for _ in 0..10 {
        cp.drain();
        sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(gate.model().status(), GateStatus::InService);
    assert!(gate.drain_events().is_empty());
    // Silence.
    sleep(Duration::from_millis(2100)).await;
    assert_eq!(gate.model().status(), GateStatus::OutOfService);
    sleep(Duration::from_secs(1)).await;
    // Fail-safe (the default): both flaps open, and the board reports it.
    assert_eq!(pd.pd().inputs(), [false, false, false, false, false, false]);
    cp.drain();
    sleep(DEFAULT_TICK * 2).await;
    assert_eq!(gate.model().status(), GateStatus::InService);
    let events: Vec<Event> = gate.drain_events().into_iter().map(|l| l.event).collect();
    assert_eq!(events, [Event::OutOfService, Event::BackInService]);
    bridge.stop();
}

#[tokio::test(start_paused = true)]
async fn a_retransmitted_command_is_not_controller_activity() {
    // The PD answers a repeated SQN from its cache without executing it: a stuck controller resending one
    // packet is not a live controller.
    let pd = gate_io();
    let bridge = GateBridge::spawn(GateModel::new(GateConfig::default()), Arc::clone(&pd), DEFAULT_TICK);
    let gate = bridge.handle();
    let mut cp = Cp::new(&pd);
    cp.drain();
    let executed = pd.pd().executed;
    let poll = OsdpFrame::command(1, cp.next_sqn(), opcode::POLL, vec![]);
    let bytes = poll.encode(true);
    let Decoded::Frame { frame, packet, .. } = frame::decode(&bytes) else { panic!() };
    for _ in 0..30 {
        pd.pd().handle(&frame, &bytes[packet.clone()]).unwrap();
        sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pd.pd().executed, executed + 1, "run once, then answered from the cache");
    assert_eq!(gate.model().status(), GateStatus::OutOfService);
    bridge.stop();
}

/// A minimal controller over the wire: polls, opens the entry flap for a traveller at the entry, closes it and
/// opens the exit once they are in the mantrap, closes the exit once the exit zone is clear again.
#[tokio::test(start_paused = true)]
async fn a_traveller_walks_through_under_a_controller_on_the_wire() {
    let pd = gate_io();
    let bridge = GateBridge::spawn(GateModel::new(GateConfig::default()), Arc::clone(&pd), DEFAULT_TICK);
    let gate = bridge.handle();
    let mut link = khil_sim_host::in_process(Arc::clone(&pd), &Line::default());
    let mut sqn = 0u8;
    let mut rx = Vec::new();
    let mut exchange = async |command: Command| -> Reply {
        let f = OsdpFrame::command(1, sqn, command.code(), command.to_data());
        sqn = if sqn == 3 { 1 } else { sqn + 1 };
        link.write_all(&f.encode(true)).await.unwrap();
        loop {
            if let Decoded::Frame { frame, consumed, .. } = frame::decode(&rx) {
                rx.drain(..consumed);
                return Reply::parse(frame.code, &frame.data).unwrap();
            }
            let mut buf = [0u8; 256];
            let n = link.read(&mut buf).await.unwrap();
            assert!(n > 0, "the PD hung up");
            rx.extend_from_slice(&buf[..n]);
        }
    };
    let out =
        |n: u8, on: bool| Command::Out(vec![OutputControl { output: n, control: if on { 2 } else { 1 }, timer: 0 }]);

    let id = gate.add_traveller(Behaviour::Normal);
    let mut inputs = [false; 6];
    let mut phase = 0;
    for _ in 0..200 {
        if let Reply::IStatR(image) = exchange(Command::Poll).await {
            for (slot, b) in inputs.iter_mut().zip(image) {
                *slot = b != 0;
            }
        }
        let [entry, mantrap, exit, entry_closed, _, _] = inputs;
        match phase {
            0 if entry => {
                assert_eq!(exchange(out(0, true)).await, Reply::Ack);
                phase = 1;
            }
            1 if mantrap && !entry => {
                assert_eq!(exchange(out(0, false)).await, Reply::Ack);
                phase = 2;
            }
            2 if entry_closed => {
                assert_eq!(exchange(out(1, true)).await, Reply::Ack);
                phase = 3;
            }
            3 if exit => phase = 4,
            4 if !exit => {
                assert_eq!(exchange(out(1, false)).await, Reply::Ack);
                phase = 5;
            }
            _ => {}
        }
        if phase == 5 {
            break;
        }
        sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(phase, 5, "the controller saw the traveller through: {inputs:?}");
    let events: Vec<Event> = gate.drain_events().into_iter().map(|l| l.event).collect();
    assert_eq!(events, [Event::TravellerEntered { id }, Event::TravellerExited { id }]);
    assert!(gate.model().traveller(id).is_none());
    sleep(Duration::from_secs(1)).await;
    assert_eq!(pd.pd().inputs(), [false, false, false, true, true, false]);
    assert_eq!(gate.model().status(), GateStatus::InService);
    bridge.stop();
}
