//! The gate model stepped by hand: flap timing, travellers and their behaviours, the safety logic, power loss and
//! the controller-link watchdog, and the sensors that report all of it.

use std::collections::HashMap;
use std::time::Duration;

use khil_sim_gate::{
    Behaviour, Event, FailMode, Flap, GateConfig, GateModel, GateStatus, Logged, TravellerId, TravellerView, Zone,
};

const TICK: Duration = Duration::from_millis(10);

const ENTRY_OPEN: [bool; 3] = [true, false, false];
const EXIT_OPEN: [bool; 3] = [false, true, false];
const BOTH_OPEN: [bool; 3] = [true, true, false];
const CLOSED: [bool; 3] = [false, false, false];

/// A gate, with a record of every zone each traveller has been in and a check, at every step, that nobody ever
/// steps into a doorway whose flap is not open enough.
struct Rig {
    gate: GateModel,
    zones: HashMap<TravellerId, Vec<Zone>>,
    events: Vec<Logged>,
}

impl Rig {
    fn new(config: GateConfig) -> Rig {
        Rig { gate: GateModel::new(config), zones: HashMap::new(), events: Vec::new() }
    }

    fn add(&mut self, behaviour: Behaviour) -> TravellerId {
        let id = self.gate.add_traveller(behaviour);
        self.note();
        id
    }

    fn note(&mut self) {
        let pass = self.gate.config().pass_open;
        for t in self.gate.travellers() {
            let seen = self.zones.entry(t.id).or_default();
            if seen.last() != Some(&t.zone) {
                // Into a doorway from outside it: only through a flap that is open enough.
                let from_outside = seen.last().is_some_and(|z| !matches!(z, Zone::EntryDoorway | Zone::ExitDoorway));
                if from_outside {
                    match t.zone {
                        Zone::EntryDoorway => assert!(self.gate.flap_position(Flap::Entry) >= pass, "{t:?}"),
                        Zone::ExitDoorway => assert!(self.gate.flap_position(Flap::Exit) >= pass, "{t:?}"),
                        _ => {}
                    }
                }
                seen.push(t.zone);
            }
        }
        self.events.extend(self.gate.drain_events());
    }

    /// One tick with a live controller.
    fn tick(&mut self) {
        self.gate.controller_seen();
        self.gate.step(TICK);
        self.note();
    }

    /// `secs` seconds with a live controller.
    fn run(&mut self, secs: f64) {
        for _ in 0..ticks(secs) {
            self.tick();
        }
    }

    /// `secs` seconds with no controller activity.
    fn run_silent(&mut self, secs: f64) {
        for _ in 0..ticks(secs) {
            self.gate.step(TICK);
            self.note();
        }
    }

    /// Ticks (controller alive) until `done`, at most `secs`; returns the seconds it took.
    fn until(&mut self, secs: f64, mut done: impl FnMut(&GateModel) -> bool) -> f64 {
        for n in 1..=ticks(secs) {
            self.tick();
            if done(&self.gate) {
                return f64::from(n) * TICK.as_secs_f64();
            }
        }
        panic!("not done after {secs} s: {:?}", self.gate.travellers());
    }

    fn who(&self, id: TravellerId) -> Option<TravellerView> {
        self.gate.traveller(id)
    }

    fn zone(&self, id: TravellerId) -> Option<Zone> {
        self.who(id).map(|t| t.zone)
    }

    fn has(&self, event: &Event) -> bool {
        self.events.iter().any(|l| &l.event == event)
    }

    fn count(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|l| pred(&l.event)).count()
    }
}

fn ticks(secs: f64) -> u32 {
    (secs / TICK.as_secs_f64()).round() as u32
}

fn near(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn a_normal_traveller_passes_only_when_the_controller_opens_entry_then_exit() {
    let mut rig = Rig::new(GateConfig::default());
    let id = rig.add(Behaviour::Normal);
    // Flaps closed: the traveller walks up to the entry flap and waits there.
    rig.run(4.0);
    let t = rig.who(id).unwrap();
    assert_eq!(t.zone, Zone::EntryZone);
    assert!(near(t.x, 1.5 - 0.05), "waits just before the entry flap line: {t:?}");
    assert_eq!(rig.gate.inputs(), [true, false, false, true, true, false]);

    // Entry opens: 0.8 s for the whole way; at 90 % (0.72 s) the traveller walks the last 5 cm into the doorway.
    rig.gate.set_outputs(&ENTRY_OPEN);
    let took = rig.until(2.0, |g| g.traveller(id).unwrap().zone == Zone::EntryDoorway);
    assert!((0.76..0.79).contains(&took), "stepped into the doorway {took} s after the command");
    assert!(rig.gate.flap_position(Flap::Entry) >= 0.9);

    // Through the doorway into the mantrap, up to the (closed) exit flap.
    rig.run(4.0);
    assert!(rig.has(&Event::TravellerEntered { id }));
    assert_eq!(rig.zone(id), Some(Zone::Mantrap));
    assert_eq!(rig.gate.inputs(), [false, true, false, false, true, false]);
    // The exit flap stays shut: nobody gets through.
    rig.gate.set_outputs(&CLOSED);
    rig.run(10.0);
    assert_eq!(rig.zone(id), Some(Zone::Mantrap));
    assert!(rig.gate.flap_closed(Flap::Entry));
    assert!(!rig.has(&Event::TravellerExited { id }));

    // Exit opens: again not before it is open enough.
    rig.gate.set_outputs(&EXIT_OPEN);
    let took = rig.until(2.0, |g| g.traveller(id).unwrap().zone == Zone::ExitDoorway);
    assert!((0.76..0.79).contains(&took), "into the exit doorway {took} s after the command");
    let took = rig.until(2.0, |g| g.traveller(id).unwrap().zone == Zone::ExitZone);
    assert!(took > 0.35, "0.4 m of doorway at 1 m/s, took {took} s");
    assert!(rig.has(&Event::TravellerExited { id }));
    assert_eq!(rig.gate.inputs(), [false, false, true, true, false, false]);
    rig.run(3.0);
    assert!(rig.who(id).is_none(), "walked off the end of the exit zone");
    assert_eq!(
        rig.zones[&id],
        [Zone::EntryZone, Zone::EntryDoorway, Zone::Mantrap, Zone::ExitDoorway, Zone::ExitZone],
        "every zone in order, none skipped"
    );
    assert_eq!(rig.count(|e| matches!(e, Event::Tailgating { .. } | Event::ObstructionPrevented { .. })), 0);
}

#[test]
fn a_traveller_waits_at_an_entry_flap_that_never_opens_fully() {
    // A controller that pulses the relay too briefly: the flap reaches 50 % and closes again.
    let mut rig = Rig::new(GateConfig::default());
    let id = rig.add(Behaviour::Normal);
    rig.run(2.0);
    rig.gate.set_outputs(&ENTRY_OPEN);
    rig.run(0.4);
    assert!(near(rig.gate.flap_position(Flap::Entry), 0.5));
    rig.gate.set_outputs(&CLOSED);
    rig.run(2.0);
    assert_eq!(rig.zone(id), Some(Zone::EntryZone), "a half-open flap is not open enough to pass");
}

#[test]
fn a_flap_does_not_close_on_a_person_in_its_doorway_and_closes_once_they_are_through() {
    let mut rig = Rig::new(GateConfig::default());
    let dwell = Duration::from_secs(2);
    let id = rig.add(Behaviour::Obstructs { flap: Flap::Entry, dwell });
    rig.gate.set_outputs(&ENTRY_OPEN);
    rig.until(4.0, |g| g.traveller(id).unwrap().zone == Zone::EntryDoorway);
    rig.run(0.5);
    assert_eq!(rig.zone(id), Some(Zone::EntryDoorway), "stands in the doorway");

    // The controller closes the entry flap on them.
    rig.gate.set_outputs(&CLOSED);
    rig.tick();
    assert!(rig.has(&Event::ObstructionPrevented { flap: Flap::Entry }));
    rig.run(1.0);
    assert!(near(rig.gate.flap_position(Flap::Entry), 1.0), "the flap reopened");
    assert!(!rig.gate.inputs()[3]);
    assert_eq!(rig.zone(id), Some(Zone::EntryDoorway));
    // While they stand there, the flap never gets anywhere near them.
    let mut lowest: f64 = 1.0;
    while rig.zone(id) == Some(Zone::EntryDoorway) {
        lowest = lowest.min(rig.gate.flap_position(Flap::Entry));
        rig.tick();
    }
    assert!(lowest > 0.95, "the flap moved to {lowest} with a person in its doorway");
    assert_eq!(rig.count(|e| matches!(e, Event::ObstructionPrevented { .. })), 1, "one attempt, one event");

    // Through: the flap closes as commanded, in its own time.
    assert_eq!(rig.zone(id), Some(Zone::Mantrap));
    rig.run(0.7);
    assert!(!rig.gate.flap_closed(Flap::Entry));
    rig.run(0.2);
    assert!(rig.gate.flap_closed(Flap::Entry));
    assert!(rig.gate.inputs()[3]);
}

#[test]
fn luggage_in_a_doorway_keeps_the_flap_from_closing_until_it_is_cleared() {
    let mut rig = Rig::new(GateConfig::default());
    rig.gate.set_outputs(&EXIT_OPEN);
    rig.run(1.0);
    rig.gate.obstruct(Flap::Exit);
    rig.gate.set_outputs(&CLOSED);
    rig.run(3.0);
    assert!(rig.has(&Event::ObstructionPrevented { flap: Flap::Exit }));
    assert!(near(rig.gate.flap_position(Flap::Exit), 1.0));
    assert!(!rig.gate.inputs()[4], "the exit flap reads open");
    rig.gate.clear_obstruction(Flap::Exit);
    rig.run(1.0);
    assert!(rig.gate.flap_closed(Flap::Exit));
    assert!(rig.gate.inputs()[4]);
}

#[test]
fn a_tailgater_makes_two_in_the_mantrap_and_the_counter_says_so() {
    let mut rig = Rig::new(GateConfig::default());
    let first = rig.add(Behaviour::Normal);
    let tailgater = rig.add(Behaviour::Tailgater);
    rig.gate.set_outputs(&ENTRY_OPEN);
    rig.run(6.0);
    assert_eq!(rig.zone(first), Some(Zone::Mantrap));
    assert_eq!(rig.zone(tailgater), Some(Zone::Mantrap));
    assert_eq!(rig.gate.mantrap_count(), 2);
    assert!(rig.gate.inputs()[1]);
    assert!(rig.gate.inputs()[5], "the people counter's contact says more than one");
    assert_eq!(rig.count(|e| e == &Event::Tailgating { count: 2 }), 1);
    // Both walk out behind each other when the exit opens.
    rig.gate.set_outputs(&EXIT_OPEN);
    rig.run(6.0);
    assert!(rig.has(&Event::TravellerExited { id: first }));
    assert!(rig.has(&Event::TravellerExited { id: tailgater }));
}

#[test]
fn a_normal_traveller_behind_another_waits_for_the_mantrap_to_clear() {
    let mut rig = Rig::new(GateConfig::default());
    let first = rig.add(Behaviour::Normal);
    let second = rig.add(Behaviour::Normal);
    // Entry left open: the second does not follow the first in.
    rig.gate.set_outputs(&ENTRY_OPEN);
    let mut most = 0;
    for _ in 0..ticks(8.0) {
        rig.tick();
        most = most.max(rig.gate.mantrap_count());
    }
    assert_eq!(most, 1);
    assert_eq!(rig.zone(first), Some(Zone::Mantrap));
    assert_eq!(rig.zone(second), Some(Zone::EntryZone));
    assert!(!rig.has(&Event::Tailgating { count: 2 }));
    // The first leaves; now the second goes in.
    rig.gate.set_outputs(&BOTH_OPEN);
    rig.run(8.0);
    assert!(rig.has(&Event::TravellerExited { id: first }));
    assert!(rig.has(&Event::TravellerExited { id: second }));
    assert_eq!(rig.count(|e| matches!(e, Event::Tailgating { .. })), 0);
}

#[test]
fn a_traveller_turning_back_leaves_through_the_entry_side() {
    let mut rig = Rig::new(GateConfig::default());
    let id = rig.add(Behaviour::TurnBack);
    rig.gate.set_outputs(&ENTRY_OPEN);
    rig.until(4.0, |g| g.traveller(id).unwrap().zone == Zone::Mantrap);
    assert!(rig.has(&Event::TravellerEntered { id }));
    // The controller closes the entry behind them; they turn and wait at the closed flap, in the mantrap.
    rig.gate.set_outputs(&CLOSED);
    rig.run(4.0);
    let t = rig.who(id).unwrap();
    assert!(t.turned);
    assert_eq!(t.zone, Zone::Mantrap);
    assert!(near(t.x, 1.9 + 0.05), "waits just inside the entry flap: {t:?}");
    assert!(!rig.has(&Event::TurnedBack { id }));
    // Entry reopens: out the way they came.
    rig.gate.set_outputs(&ENTRY_OPEN);
    rig.until(2.0, |g| g.traveller(id).unwrap().zone == Zone::EntryZone);
    assert!(rig.has(&Event::TurnedBack { id }));
    assert!(rig.gate.inputs()[0], "seen by the entry presence sensor on the way out");
    rig.run(3.0);
    assert!(rig.who(id).is_none(), "gone");
    assert_eq!(
        rig.zones[&id],
        [Zone::EntryZone, Zone::EntryDoorway, Zone::Mantrap, Zone::EntryDoorway, Zone::EntryZone,]
    );
    assert!(!rig.has(&Event::TravellerExited { id }));
}

#[test]
fn power_loss_fail_safe_opens_both_flaps() {
    let mut rig = Rig::new(GateConfig { fail_mode: FailMode::Safe, ..GateConfig::default() });
    rig.run(0.5);
    rig.gate.power(false);
    assert_eq!(rig.gate.status(), GateStatus::Unpowered);
    rig.run(1.0);
    assert!(rig.has(&Event::PowerLost));
    assert!(near(rig.gate.flap_position(Flap::Entry), 1.0));
    assert!(near(rig.gate.flap_position(Flap::Exit), 1.0));
    assert_eq!(rig.gate.inputs(), [false, false, false, false, false, false]);
    // A traveller walks straight through an unpowered fail-safe gate.
    let id = rig.add(Behaviour::Normal);
    rig.run(7.0);
    assert!(rig.has(&Event::TravellerExited { id }));
    // Power back: the flaps follow the relays (closed) again.
    rig.gate.power(true);
    rig.run(1.0);
    assert!(rig.has(&Event::PowerRestored));
    assert_eq!(rig.gate.status(), GateStatus::InService);
    assert!(rig.gate.flap_closed(Flap::Entry) && rig.gate.flap_closed(Flap::Exit));
}

#[test]
fn power_loss_fail_secure_closes_both_flaps_but_not_on_a_person() {
    let mut rig = Rig::new(GateConfig { fail_mode: FailMode::Secure, ..GateConfig::default() });
    rig.gate.set_outputs(&BOTH_OPEN);
    rig.run(1.0);
    assert!(near(rig.gate.flap_position(Flap::Entry), 1.0));
    rig.gate.power(false);
    rig.run(1.0);
    assert!(rig.gate.flap_closed(Flap::Entry) && rig.gate.flap_closed(Flap::Exit));
    assert_eq!(rig.gate.inputs(), [false, false, false, true, true, false]);
    // Relays are ignored without power.
    rig.gate.set_outputs(&BOTH_OPEN);
    rig.run(1.0);
    assert!(rig.gate.flap_closed(Flap::Entry));

    // Power back, someone stands in the exit doorway, power goes again: the exit flap stops short of them.
    rig.gate.power(true);
    let id = rig.add(Behaviour::Obstructs { flap: Flap::Exit, dwell: Duration::from_secs(3) });
    rig.until(8.0, |g| g.traveller(id).unwrap().zone == Zone::ExitDoorway);
    rig.run(0.5);
    rig.gate.power(false);
    rig.run(1.0);
    assert_eq!(rig.zone(id), Some(Zone::ExitDoorway));
    assert!(rig.gate.flap_position(Flap::Exit) >= 0.9, "held where it was");
    assert!(rig.gate.flap_closed(Flap::Entry), "the other flap closes");
    rig.run(3.0);
    assert!(rig.has(&Event::TravellerExited { id }));
    assert!(rig.gate.flap_closed(Flap::Exit), "and closes once they are through");
}

#[test]
fn without_the_controller_the_gate_goes_out_of_service_in_its_fail_mode() {
    for (mode, relays, failed_open) in [(FailMode::Safe, CLOSED, true), (FailMode::Secure, BOTH_OPEN, false)] {
        let mut rig = Rig::new(GateConfig { fail_mode: mode, link_timeout_s: 2.0, ..GateConfig::default() });
        rig.gate.set_outputs(&relays);
        rig.run(10.0);
        assert_eq!(rig.gate.status(), GateStatus::InService, "a live controller keeps it in service");
        rig.run_silent(1.9);
        assert_eq!(rig.gate.status(), GateStatus::InService, "{mode:?}: not yet");
        rig.run_silent(0.2);
        assert_eq!(rig.gate.status(), GateStatus::OutOfService, "{mode:?}");
        let oos = rig.events.iter().find(|l| l.event == Event::OutOfService).unwrap();
        assert!((11.98..12.02).contains(&oos.at.as_secs_f64()), "{mode:?}: at {:?}", oos.at);
        rig.run_silent(1.0);
        for flap in [Flap::Entry, Flap::Exit] {
            let want = if failed_open { 1.0 } else { 0.0 };
            assert!(near(rig.gate.flap_position(flap), want), "{mode:?} {flap:?}");
        }
        // The controller is back: in service, the flaps follow the relays again.
        rig.tick();
        assert!(rig.has(&Event::BackInService));
        assert_eq!(rig.gate.status(), GateStatus::InService);
        rig.run(1.0);
        for flap in [Flap::Entry, Flap::Exit] {
            let want = if failed_open { 0.0 } else { 1.0 };
            assert!(near(rig.gate.flap_position(flap), want), "{mode:?} {flap:?} after");
        }
        assert_eq!(rig.count(|e| e == &Event::OutOfService), 1);
    }
}

#[test]
fn inputs_change_exactly_when_the_model_says() {
    let mut rig = Rig::new(GateConfig::default());
    assert_eq!(rig.gate.inputs(), [false, false, false, true, true, false]);
    // The flap-closed contact opens the moment the flap moves.
    rig.gate.set_outputs(&ENTRY_OPEN);
    rig.tick();
    assert!(rig.gate.flap_position(Flap::Entry) > 0.0);
    assert!(!rig.gate.inputs()[3]);
    assert!(rig.gate.inputs()[4], "the exit flap did not move");
    rig.run(1.0);
    // ... and closes only when the flap is fully home (0.8 s).
    rig.gate.set_outputs(&CLOSED);
    rig.run(0.78);
    assert!(!rig.gate.inputs()[3]);
    rig.run(0.03);
    assert!(rig.gate.inputs()[3]);

    // Presence: a traveller is seen in the entry zone at once, by nobody in the doorways, by the mantrap's
    // sensor in the mantrap, by the exit sensor after the exit flap.
    let id = rig.add(Behaviour::Normal);
    assert_eq!(rig.gate.inputs(), [true, false, false, true, true, false]);
    rig.gate.set_outputs(&ENTRY_OPEN);
    rig.until(4.0, |g| g.traveller(id).unwrap().zone == Zone::EntryDoorway);
    assert_eq!(rig.gate.inputs()[..3], [false, false, false]);
    rig.until(1.0, |g| g.traveller(id).unwrap().zone == Zone::Mantrap);
    assert_eq!(rig.gate.inputs()[..3], [false, true, false]);
    rig.gate.set_outputs(&EXIT_OPEN);
    rig.until(5.0, |g| g.traveller(id).unwrap().zone == Zone::ExitZone);
    assert_eq!(rig.gate.inputs()[..3], [false, false, true]);
    rig.run(2.0);
    assert_eq!(rig.gate.inputs()[..3], [false, false, false]);
}

#[test]
fn slow_travellers_take_twice_as_long_and_speed_jitter_is_seeded() {
    let mut rig = Rig::new(GateConfig::default());
    rig.gate.set_outputs(&BOTH_OPEN);
    rig.run(1.0);
    let slow = rig.add(Behaviour::Slow);
    let took = rig.until(20.0, |g| g.traveller(slow).is_none_or(|t| t.zone == Zone::ExitZone));
    // 1.5 + 0.4 + 2.0 + 0.4 = 4.3 m at 0.5 m/s.
    assert!((8.55..8.65).contains(&took), "{took}");

    let speeds = |seed| {
        let mut g = GateModel::new(GateConfig {
            speed_jitter: 0.2,
            seed,
            link_timeout_s: f64::INFINITY,
            ..GateConfig::default()
        });
        g.set_outputs(&BOTH_OPEN);
        g.step(Duration::from_secs(1));
        let id = g.add_traveller(Behaviour::Normal);
        g.step(Duration::from_secs(1));
        g.traveller(id).unwrap().x
    };
    assert!(near(speeds(7), speeds(7)));
    assert!(!near(speeds(7), speeds(8)));
    let v = speeds(9);
    assert!((0.8..=1.2).contains(&v), "{v}");
}

#[test]
fn a_red_lamp_keeps_the_queue_out_and_sends_whoever_is_inside_back() {
    let mut rig = Rig::new(GateConfig::default());
    let first = rig.add(Behaviour::Normal);
    let second = rig.add(Behaviour::Normal);
    rig.gate.set_outputs(&ENTRY_OPEN);
    rig.until(5.0, |g| g.traveller(first).unwrap().zone == Zone::Mantrap);
    rig.gate.set_outputs(&CLOSED);
    rig.run(2.0);
    // Refused: red, entry open, exit closed. The first turns round and walks out; the second, at the head of
    // the queue, does not step in while the lamp is red.
    rig.gate.set_red_lamp(true);
    rig.gate.set_outputs(&ENTRY_OPEN);
    rig.until(5.0, |g| g.traveller(first).is_none_or(|t| t.zone == Zone::EntryZone));
    assert!(rig.has(&Event::TurnedBack { id: first }));
    rig.run(3.0);
    assert!(rig.who(first).is_none(), "gone back out");
    assert_eq!(rig.zone(second), Some(Zone::EntryZone), "waits at the red lamp");
    assert_eq!(rig.gate.mantrap_count(), 0);
    // Green again: the second walks in.
    rig.gate.set_red_lamp(false);
    rig.until(3.0, |g| g.traveller(second).unwrap().zone == Zone::Mantrap);
    assert!(!rig.has(&Event::TravellerExited { id: first }));
}

#[test]
fn a_red_lamp_does_not_turn_anyone_back_while_the_exit_is_open() {
    let mut rig = Rig::new(GateConfig::default());
    let id = rig.add(Behaviour::Normal);
    rig.gate.set_outputs(&ENTRY_OPEN);
    rig.until(5.0, |g| g.traveller(id).unwrap().zone == Zone::Mantrap);
    rig.gate.set_red_lamp(true);
    rig.gate.set_outputs(&BOTH_OPEN);
    rig.run(6.0);
    assert!(rig.has(&Event::TravellerExited { id }));
    assert!(!rig.has(&Event::TurnedBack { id }));
}
