//! The gate controller end to end, on tokio's paused clock: khil's OSDP control panel drives a simulated `gate-io`
//! board (secure channel on) wired to the physical gate model, travellers walk through, and what the travellers
//! and the flaps did is read off the model. The controller only ever sees the wire.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use khil_clearance::gate::{AlarmCause, ControllerConfig, Decision, Gate, GateSetup, GateState, Transition};
use khil_link::BoxLink;
use khil_osdp::command::colour;
use khil_osdp::cp::{CpConfig, OsdpBus, PdSetup};
use khil_sim_gate::{
    Behaviour, DEFAULT_TICK, Event, FailMode, Flap, GateBridge, GateConfig, GateHandle, GateModel, GateStatus,
    TravellerId,
};
use khil_sim_host::{Line, in_process};
use khil_sim_osdp::{OsdpPd, PdConfig, PdEvent, PdFault, PdProfile};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio::time::{sleep, timeout};

const KEY: [u8; 16] = [0x4B, 0x48, 0x49, 0x4C, 0x2D, 0x67, 0x61, 0x74, 0x65, 0x2D, 0x31, 0, 0, 0, 0, 1];

/// A controller, its bus, the I/O board and the gate.
struct Rig {
    gate: Gate,
    world: GateHandle,
    pd: Arc<OsdpPd>,
    transitions: broadcast::Receiver<Transition>,
    log: Vec<Transition>,
    bus: JoinHandle<()>,
    /// Cuts the cable between the controller and the board.
    cut: Arc<AtomicBool>,
    _bridge: GateBridge,
}

/// A cable that can be cut: bytes in either direction are dropped while `cut` is set.
fn cable(link: BoxLink, cut: Arc<AtomicBool>) -> BoxLink {
    let (cp_end, mine) = tokio::io::duplex(1 << 16);
    let (mut from_cp, mut to_cp) = tokio::io::split(mine);
    let (mut from_pd, mut to_pd) = tokio::io::split(link);
    let c = Arc::clone(&cut);
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok(n @ 1..) = from_cp.read(&mut buf).await {
            if !c.load(Ordering::SeqCst) && to_pd.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    });
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok(n @ 1..) = from_pd.read(&mut buf).await {
            if !cut.load(Ordering::SeqCst) && to_cp.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    });
    Box::new(cp_end)
}

fn fast() -> ControllerConfig {
    ControllerConfig { processing_timeout: Duration::from_secs(8), ..ControllerConfig::default() }
}

impl Rig {
    async fn new(model: GateConfig, controller: ControllerConfig, faults: Vec<PdFault>) -> Rig {
        let pd =
            Arc::new(OsdpPd::with_faults(PdConfig { scbk: Some(KEY), ..PdConfig::new(PdProfile::GATE_IO, 1) }, faults));
        let bridge = GateBridge::spawn(GateModel::new(model), Arc::clone(&pd), DEFAULT_TICK);
        let world = bridge.handle();
        let cut = Arc::new(AtomicBool::new(false));
        let (gate, bus) = Rig::controller(&pd, &cut, controller);
        let transitions = gate.transitions();
        let mut rig = Rig { gate, world, pd, transitions, log: Vec::new(), bus, cut, _bridge: bridge };
        timeout(Duration::from_secs(10), rig.gate.wait_for(|s| s == GateState::Idle))
            .await
            .expect("the gate comes into service")
            .unwrap();
        rig.collect();
        assert_eq!(rig.names(), ["idle"]);
        rig.log.clear();
        rig
    }

    fn controller(pd: &Arc<OsdpPd>, cut: &Arc<AtomicBool>, config: ControllerConfig) -> (Gate, JoinHandle<()>) {
        let link = cable(in_process(Arc::clone(pd), &Line::default()), Arc::clone(cut));
        let mut bus = OsdpBus::new(link, CpConfig { seed: Some(7), ..CpConfig::default() });
        bus.add_pd(PdSetup::secure(1, KEY)).unwrap();
        let events = bus.take_events().unwrap();
        let setup = GateSetup { controller: config, ..GateSetup::new(1) };
        let gate = Gate::spawn(bus.handle(), events, setup);
        let task = tokio::spawn(async move {
            let _ = bus.run().await;
        });
        (gate, task)
    }

    async fn wait(&mut self, secs: u64, what: &str, ready: impl Fn(GateState) -> bool) -> GateState {
        let s = timeout(Duration::from_secs(secs), self.gate.wait_for(ready))
            .await
            .unwrap_or_else(|_| panic!("{what}: still {} after {secs} s; {:?}", self.gate.state(), self.names()))
            .unwrap();
        self.collect();
        s
    }

    /// Waits for model time to pass, ticking the world.
    async fn run(&mut self, secs: f64) {
        sleep(Duration::from_secs_f64(secs)).await;
        self.collect();
    }

    async fn until_gone(&mut self, id: TravellerId, secs: u64) {
        for _ in 0..secs * 10 {
            if self.world.model().traveller(id).is_none() {
                self.collect();
                return;
            }
            sleep(Duration::from_millis(100)).await;
        }
        panic!("traveller {id:?} still at the gate after {secs} s: {:?}", self.world.model().traveller(id));
    }

    fn collect(&mut self) {
        while let Ok(t) = self.transitions.try_recv() {
            self.log.push(t);
        }
    }

    /// The states gone through, as names (`admitting`, `admitting:closing`...).
    fn names(&self) -> Vec<String> {
        self.log
            .iter()
            .map(|t| match t.to {
                GateState::Admitting { closing: true }
                | GateState::Releasing { closing: true }
                | GateState::Rejecting { closing: true } => format!("{}:closing", t.to.name()),
                other => other.to_string(),
            })
            .collect()
    }

    fn events(&self) -> Vec<Event> {
        self.world.drain_events().into_iter().map(|l| l.event).collect()
    }

    fn lamp(&self) -> Option<(u8, u8)> {
        let pd = self.pd.pd();
        pd.indicators().leds.first().copied().flatten().map(|l| (l.permanent.on_colour, l.permanent.off_colour))
    }

    fn text(&self) -> Option<String> {
        self.pd.pd().indicators().text.clone()
    }
}

fn count(events: &[Event], pred: impl Fn(&Event) -> bool) -> usize {
    events.iter().filter(|e| pred(e)).count()
}

#[tokio::test(start_paused = true)]
async fn an_accepted_traveller_is_let_in_processed_and_let_out() {
    let mut rig = Rig::new(GateConfig::default(), fast(), Vec::new()).await;
    assert_eq!(rig.lamp(), Some((colour::GREEN, colour::GREEN)));
    assert_eq!(rig.text().as_deref(), Some("WELCOME"));
    let id = rig.world.add_traveller(Behaviour::Normal);
    rig.wait(10, "processing", |s| s == GateState::Processing).await;
    // In the mantrap, both flaps closed, told to wait.
    assert_eq!(rig.pd.pd().outputs(), [false, false, false]);
    assert!(rig.world.model().flap_closed(Flap::Entry) && rig.world.model().flap_closed(Flap::Exit));
    assert_eq!(rig.world.model().mantrap_count(), 1);
    assert_eq!(rig.lamp(), Some((colour::AMBER, colour::AMBER)));
    assert_eq!(rig.text().as_deref(), Some("PLEASE WAIT"));

    rig.gate.decide(Decision::Accept).await.unwrap();
    rig.until_gone(id, 15).await;
    rig.wait(10, "idle again", |s| s == GateState::Idle).await;
    assert_eq!(rig.names(), ["admitting", "admitting:closing", "processing", "releasing", "releasing:closing", "idle"]);
    let events = rig.events();
    assert_eq!(events, [Event::TravellerEntered { id }, Event::TravellerExited { id }], "never closed on anyone");
    rig.run(2.0).await;
    assert_eq!(rig.pd.pd().outputs(), [false, false, false]);
    assert!(rig.world.model().flap_closed(Flap::Exit));
    assert_eq!(rig.text().as_deref(), Some("WELCOME"));
}

#[tokio::test(start_paused = true)]
async fn a_refused_traveller_walks_back_out_and_the_next_one_waits_for_green() {
    let mut rig = Rig::new(GateConfig::default(), fast(), Vec::new()).await;
    let refused = rig.world.add_traveller(Behaviour::Normal);
    let next = rig.world.add_traveller(Behaviour::Normal);
    rig.wait(10, "processing", |s| s == GateState::Processing).await;
    rig.gate.decide(Decision::Reject).await.unwrap();
    rig.wait(2, "rejecting", |s| matches!(s, GateState::Rejecting { .. })).await;
    assert_eq!(rig.lamp(), Some((colour::RED, colour::RED)));
    assert_eq!(rig.text().as_deref(), Some("PLEASE GO BACK"));
    assert_eq!(rig.pd.pd().indicators().buzzer.map(|b| b.count), Some(1), "one short tone");
    rig.until_gone(refused, 15).await;
    // The next traveller is admitted only once the refused one is out and the flap has closed behind them.
    rig.wait(15, "the next one processed", |s| s == GateState::Processing).await;
    assert_eq!(
        rig.names(),
        [
            "admitting",
            "admitting:closing",
            "processing",
            "rejecting",
            "rejecting:closing",
            "idle",
            "admitting",
            "admitting:closing",
            "processing"
        ]
    );
    let events = rig.events();
    assert!(events.contains(&Event::TurnedBack { id: refused }));
    assert!(!events.contains(&Event::TravellerExited { id: refused }));
    assert_eq!(count(&events, |e| matches!(e, Event::ObstructionPrevented { .. })), 0, "{events:?}");
    assert_eq!(rig.world.model().traveller(next).map(|t| t.zone), Some(khil_sim_gate::Zone::Mantrap));
    rig.gate.decide(Decision::Accept).await.unwrap();
    rig.until_gone(next, 15).await;
    assert!(rig.events().contains(&Event::TravellerExited { id: next }));
}

#[tokio::test(start_paused = true)]
async fn a_tailgater_at_arms_length_is_stopped_by_the_closing_flap() {
    let mut rig = Rig::new(GateConfig::default(), fast(), Vec::new()).await;
    let first = rig.world.add_traveller(Behaviour::Normal);
    let tailgater = rig.world.add_traveller(Behaviour::Tailgater);
    rig.wait(10, "processing", |s| s == GateState::Processing).await;
    // Half a metre behind: the flap starts closing as soon as the first is in, and is below passing height
    // before the tailgater reaches it.
    assert_eq!(rig.world.model().traveller(first).map(|t| t.zone), Some(khil_sim_gate::Zone::Mantrap));
    assert_eq!(rig.world.model().traveller(tailgater).map(|t| t.zone), Some(khil_sim_gate::Zone::EntryZone));
    rig.gate.decide(Decision::Accept).await.unwrap();
    rig.until_gone(first, 15).await;
    // The tailgater is then admitted on their own.
    rig.wait(10, "processing", |s| s == GateState::Processing).await;
    assert_eq!(rig.world.model().mantrap_count(), 1);
    assert!(!rig.events().iter().any(|e| matches!(e, Event::Tailgating { .. })));
}

#[tokio::test(start_paused = true)]
async fn a_tailgater_raises_the_alarm_and_after_the_reset_both_walk_back_out() {
    // Close behind: already in the doorway when the flap would close, so the flap reopens and lets them in.
    let mut rig = Rig::new(GateConfig { spacing_m: 0.3, ..GateConfig::default() }, fast(), Vec::new()).await;
    let first = rig.world.add_traveller(Behaviour::Normal);
    let tailgater = rig.world.add_traveller(Behaviour::Tailgater);
    let s = rig.wait(10, "alarm", |s| matches!(s, GateState::Alarm(_))).await;
    assert_eq!(s, GateState::Alarm(AlarmCause::Tailgating));
    rig.run(1.0).await;
    assert_eq!(rig.pd.pd().outputs(), [false, false, true], "flaps closed, alarm relay on");
    assert!(rig.world.model().alarm());
    assert_eq!(rig.lamp(), Some((colour::RED, colour::BLACK)), "flashing red");
    assert_eq!(rig.text().as_deref(), Some("WAIT FOR OFFICER"));
    assert!(rig.events().contains(&Event::Tailgating { count: 2 }));
    // Nobody leaves without the officer; a decision changes nothing.
    rig.gate.decide(Decision::Accept).await.unwrap();
    rig.run(5.0).await;
    assert_eq!(rig.gate.state(), GateState::Alarm(AlarmCause::Tailgating));
    assert_eq!(rig.world.model().mantrap_count(), 2);

    rig.gate.reset().await.unwrap();
    rig.wait(2, "rejecting", |s| matches!(s, GateState::Rejecting { .. })).await;
    rig.until_gone(first, 20).await;
    rig.until_gone(tailgater, 20).await;
    rig.wait(10, "idle", |s| s == GateState::Idle).await;
    let events = rig.events();
    assert!(events.contains(&Event::TurnedBack { id: first }));
    assert!(events.contains(&Event::TurnedBack { id: tailgater }));
    assert_eq!(count(&events, |e| matches!(e, Event::TravellerExited { .. })), 0, "{events:?}");
    assert!(!rig.world.model().alarm());
}

#[tokio::test(start_paused = true)]
async fn a_traveller_who_turns_back_gets_no_decision_and_is_let_back_out() {
    let mut rig = Rig::new(GateConfig::default(), fast(), Vec::new()).await;
    let id = rig.world.add_traveller(Behaviour::TurnBack);
    rig.wait(10, "processing", |s| s == GateState::Processing).await;
    // No documents, no decision: after the processing timeout the way back opens.
    rig.wait(10, "rejecting", |s| matches!(s, GateState::Rejecting { .. })).await;
    assert_eq!(rig.log.last().map(|t| t.why), Some("no clearance decision in time"));
    rig.until_gone(id, 15).await;
    rig.wait(10, "idle", |s| s == GateState::Idle).await;
    let events = rig.events();
    assert!(events.contains(&Event::TurnedBack { id }));
    assert!(!events.contains(&Event::TravellerExited { id }));
    assert_eq!(count(&events, |e| matches!(e, Event::ObstructionPrevented { .. })), 0, "{events:?}");
}

#[tokio::test(start_paused = true)]
async fn luggage_in_the_entry_doorway_raises_the_alarm_instead_of_forcing_the_flap() {
    let mut rig = Rig::new(GateConfig::default(), fast(), Vec::new()).await;
    let id = rig.world.add_traveller(Behaviour::Normal);
    rig.wait(10, "admitting", |s| s == GateState::Admitting { closing: false }).await;
    // The traveller walks in and leaves a bag in the doorway behind them.
    rig.world.obstruct(Flap::Entry);
    let s = rig.wait(15, "alarm", |s| matches!(s, GateState::Alarm(_))).await;
    assert_eq!(s, GateState::Alarm(AlarmCause::EntryFlapBlocked));
    let events = rig.events();
    assert!(count(&events, |e| e == &Event::ObstructionPrevented { flap: Flap::Entry }) >= 1, "{events:?}");
    assert!(!rig.world.model().flap_closed(Flap::Entry), "held open by the bag");
    // The officer takes the bag away and resets: the traveller is sent back out.
    rig.world.clear_obstruction(Flap::Entry);
    rig.gate.reset().await.unwrap();
    rig.until_gone(id, 20).await;
    rig.wait(10, "idle", |s| s == GateState::Idle).await;
    assert!(rig.events().contains(&Event::TurnedBack { id }));
}

#[tokio::test(start_paused = true)]
async fn a_queue_of_five_goes_through_one_at_a_time_without_a_flap_closing_on_anyone() {
    let mut rig = Rig::new(GateConfig::default(), fast(), Vec::new()).await;
    let ids: Vec<TravellerId> = (0..5).map(|_| rig.world.add_traveller(Behaviour::Normal)).collect();
    let started = tokio::time::Instant::now();
    for _ in &ids {
        rig.wait(20, "processing", |s| s == GateState::Processing).await;
        assert_eq!(rig.world.model().mantrap_count(), 1);
        rig.gate.decide(Decision::Accept).await.unwrap();
        rig.wait(5, "releasing", |s| matches!(s, GateState::Releasing { .. })).await;
    }
    for &id in &ids {
        rig.until_gone(id, 20).await;
    }
    let took = started.elapsed().as_secs_f64();
    let events = rig.events();
    assert_eq!(count(&events, |e| matches!(e, Event::TravellerExited { .. })), 5);
    assert_eq!(count(&events, |e| matches!(e, Event::ObstructionPrevented { .. } | Event::Tailgating { .. })), 0);
    // Each passage: walk in, two flap movements per flap, walk out. Not a performance assertion: a gate that
    // admitted them in parallel or stalled would land far outside this.
    assert!((15.0..60.0).contains(&took), "5 travellers in {took:.1} s");
}

#[tokio::test(start_paused = true)]
async fn the_flow_survives_a_faulty_board_and_each_relay_command_runs_once() {
    let faults = ["no-reply:p=0.05", "busy:p=0.05", "bad-crc:p=0.03", "sc-drop:every=40"]
        .iter()
        .map(|f| f.parse().unwrap())
        .collect();
    let mut rig = Rig::new(GateConfig::default(), fast(), faults).await;
    let ids: Vec<TravellerId> = (0..3).map(|_| rig.world.add_traveller(Behaviour::Normal)).collect();
    for _ in &ids {
        rig.wait(30, "processing", |s| s == GateState::Processing).await;
        rig.gate.decide(Decision::Accept).await.unwrap();
        rig.wait(10, "releasing", |s| matches!(s, GateState::Releasing { .. })).await;
    }
    for &id in &ids {
        rig.until_gone(id, 30).await;
    }
    let events = rig.events();
    assert_eq!(count(&events, |e| matches!(e, Event::TravellerExited { .. })), 3, "{events:?}");
    assert_eq!(count(&events, |e| matches!(e, Event::OutOfService)), 0, "{events:?}");
    assert!(!rig.names().iter().any(|n| n.starts_with("alarm")), "{:?}", rig.names());
}

#[tokio::test(start_paused = true)]
async fn a_cut_cable_takes_the_gate_out_of_service_fail_safe_and_back() {
    let mut rig = Rig::new(GateConfig { fail_mode: FailMode::Safe, ..GateConfig::default() }, fast(), Vec::new()).await;
    rig.cut.store(true, Ordering::SeqCst);
    rig.wait(10, "controller out of service", |s| s == GateState::OutOfService).await;
    rig.run(3.0).await;
    // The gate's own watchdog: out of service, flaps open for evacuation.
    assert_eq!(rig.world.model().status(), GateStatus::OutOfService);
    assert!(rig.world.model().flap_position(Flap::Entry) >= 1.0);
    assert!(rig.world.model().flap_position(Flap::Exit) >= 1.0);
    assert!(rig.events().contains(&Event::OutOfService));
    // Mended: the controller finds the board again (after its back-off) and closes the flaps.
    rig.cut.store(false, Ordering::SeqCst);
    rig.wait(90, "idle again", |s| s == GateState::Idle).await;
    rig.run(2.0).await;
    assert_eq!(rig.world.model().status(), GateStatus::InService);
    assert!(rig.world.model().flap_closed(Flap::Entry) && rig.world.model().flap_closed(Flap::Exit));
    assert!(rig.events().contains(&Event::BackInService));
    assert_eq!(rig.text().as_deref(), Some("WELCOME"));
}

#[tokio::test(start_paused = true)]
async fn a_stopped_controller_leaves_a_fail_secure_gate_closed() {
    let rig = Rig::new(GateConfig { fail_mode: FailMode::Secure, ..GateConfig::default() }, fast(), Vec::new()).await;
    let id = rig.world.add_traveller(Behaviour::Normal);
    sleep(Duration::from_millis(300)).await;
    // The controller dies while the entry flap is opening for the traveller.
    rig.bus.abort();
    rig.gate.stop();
    sleep(Duration::from_secs(5)).await;
    {
        let model = rig.world.model();
        assert_eq!(model.status(), GateStatus::OutOfService);
        assert!(model.flap_closed(Flap::Entry) && model.flap_closed(Flap::Exit));
        // Fail-secure closes the flaps, but never on the traveller: either they got through the entry flap
        // before it closed, or they wait in front of it.
        let t = model.traveller(id).expect("still at the gate");
        assert!(matches!(t.zone, khil_sim_gate::Zone::EntryZone | khil_sim_gate::Zone::Mantrap), "{t:?}");
    }
    assert!(rig.world.drain_events().iter().any(|l| l.event == Event::OutOfService));
}

#[tokio::test(start_paused = true)]
async fn a_tamper_alarm_holds_until_the_contact_is_closed_and_the_officer_resets() {
    let mut rig = Rig::new(GateConfig::default(), fast(), Vec::new()).await;
    rig.pd.push(PdEvent::Tamper(true));
    let s = rig.wait(5, "alarm", |s| matches!(s, GateState::Alarm(_))).await;
    assert_eq!(s, GateState::Alarm(AlarmCause::Tamper));
    rig.gate.reset().await.unwrap();
    rig.run(2.0).await;
    assert_eq!(rig.gate.state(), GateState::Alarm(AlarmCause::Tamper), "the contact is still open");
    rig.pd.push(PdEvent::Tamper(false));
    rig.run(1.0).await;
    rig.gate.reset().await.unwrap();
    rig.wait(2, "idle", |s| s == GateState::Idle).await;
}

#[tokio::test(start_paused = true)]
async fn a_traveller_who_stops_in_the_entry_doorway_is_not_closed_on() {
    let mut rig = Rig::new(GateConfig::default(), fast(), Vec::new()).await;
    // Stops in the middle of the entry doorway for longer than the admit timeout (10 s), then walks on.
    let id = rig.world.add_traveller(Behaviour::Obstructs { flap: Flap::Entry, dwell: Duration::from_secs(14) });
    rig.wait(30, "processing", |s| s == GateState::Processing).await;
    rig.gate.decide(Decision::Accept).await.unwrap();
    rig.until_gone(id, 20).await;
    let events = rig.events();
    assert!(events.contains(&Event::TravellerExited { id }), "{events:?}");
    assert_eq!(count(&events, |e| matches!(e, Event::ObstructionPrevented { .. })), 0, "{events:?}; {:?}", rig.names());
}

#[tokio::test(start_paused = true)]
async fn a_traveller_who_stops_in_the_exit_doorway_is_not_closed_on() {
    let mut rig = Rig::new(GateConfig::default(), fast(), Vec::new()).await;
    let id = rig.world.add_traveller(Behaviour::Obstructs { flap: Flap::Exit, dwell: Duration::from_secs(12) });
    rig.wait(10, "processing", |s| s == GateState::Processing).await;
    rig.gate.decide(Decision::Accept).await.unwrap();
    rig.until_gone(id, 30).await;
    rig.wait(10, "idle", |s| s == GateState::Idle).await;
    let events = rig.events();
    assert!(events.contains(&Event::TravellerExited { id }), "{events:?}");
    assert_eq!(count(&events, |e| matches!(e, Event::ObstructionPrevented { .. })), 0, "{events:?}; {:?}", rig.names());
}
