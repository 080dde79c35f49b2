//! The gate controller's state machine alone: sensor images and decisions in, states and signals out.

use std::time::Duration;

use khil_clearance::gate::{
    AlarmCause, Buzz, ControllerConfig, Decision, GateController, GateState, Input, Light, Sensors,
};
use proptest::prelude::*;

/// A controller with its own clock.
struct Rig {
    c: GateController,
    now: Duration,
    s: Sensors,
}

const CLOSED: Sensors = Sensors {
    entry_presence: false,
    mantrap_occupied: false,
    exit_presence: false,
    entry_closed: true,
    exit_closed: true,
    mantrap_multiple: false,
};

impl Rig {
    /// Online, flaps closed, nobody about: idle.
    fn idle() -> Rig {
        let mut r = Rig { c: GateController::new(ControllerConfig::default()), now: Duration::ZERO, s: CLOSED };
        assert_eq!(r.c.state(), GateState::OutOfService);
        r.input(Input::Online);
        assert_eq!(r.c.state(), GateState::OutOfService, "no sensor image yet");
        r.sense(|_| {});
        assert_eq!(r.c.state(), GateState::Idle);
        r
    }

    fn input(&mut self, input: Input) -> GateState {
        self.c.handle(self.now, input);
        self.c.state()
    }

    fn sense(&mut self, change: impl FnOnce(&mut Sensors)) -> GateState {
        change(&mut self.s);
        self.input(Input::Sensors(self.s))
    }

    fn wait(&mut self, secs: f64) -> GateState {
        self.now += Duration::from_secs_f64(secs);
        self.input(Input::Tick)
    }

    /// A traveller up to the point where the clearance decision is due.
    fn admit(&mut self) {
        assert_eq!(self.sense(|s| s.entry_presence = true), GateState::Admitting { closing: false });
        assert!(self.c.signals().entry_open);
        self.sense(|s| s.entry_closed = false);
        assert_eq!(self.sense(|s| s.entry_presence = false), GateState::Admitting { closing: false });
        assert_eq!(self.sense(|s| s.mantrap_occupied = true), GateState::Admitting { closing: true });
        assert!(!self.c.signals().entry_open, "closing behind the traveller");
        assert_eq!(self.sense(|s| s.entry_closed = true), GateState::Processing);
    }
}

#[test]
fn accepted_traveller_goes_out_through_the_exit_which_closes_only_once_they_are_beyond_it() {
    let mut r = Rig::idle();
    r.admit();
    let sig = r.c.signals();
    assert!(!sig.entry_open && !sig.exit_open && !sig.alarm);
    assert_eq!((sig.light, sig.text), (Light::Amber, "PLEASE WAIT"));
    assert_eq!(r.input(Input::Decision(Decision::Accept)), GateState::Releasing { closing: false });
    assert!(r.c.signals().exit_open);
    r.sense(|s| s.exit_closed = false);
    // Out of the mantrap but not yet seen beyond the exit flap (in its doorway): the flap stays open.
    assert_eq!(r.sense(|s| s.mantrap_occupied = false), GateState::Releasing { closing: false });
    assert_eq!(r.wait(1.0), GateState::Releasing { closing: false });
    assert!(r.c.signals().exit_open);
    assert_eq!(r.sense(|s| s.exit_presence = true), GateState::Releasing { closing: true });
    assert!(!r.c.signals().exit_open);
    assert_eq!(r.sense(|s| s.exit_closed = true), GateState::Idle);
    assert_eq!(r.c.signals().text, "WELCOME");
}

#[test]
fn someone_who_stops_in_the_exit_doorway_keeps_the_exit_open() {
    let mut r = Rig::idle();
    r.admit();
    r.input(Input::Decision(Decision::Accept));
    r.sense(|s| s.exit_closed = false);
    r.sense(|s| s.mantrap_occupied = false);
    assert_eq!(r.wait(29.0), GateState::Releasing { closing: false });
    assert!(r.c.signals().exit_open);
    assert_eq!(r.wait(1.1), GateState::Alarm(AlarmCause::ExitDoorwayHeld));
}

#[test]
fn refused_traveller_walks_back_and_the_entry_closes_after_the_doorway_time() {
    let mut r = Rig::idle();
    r.admit();
    assert_eq!(r.input(Input::Decision(Decision::Reject)), GateState::Rejecting { closing: false });
    let sig = r.c.signals();
    assert!(sig.entry_open && !sig.exit_open);
    assert_eq!((sig.light, sig.buzzer, sig.text), (Light::Red, Buzz::Short, "PLEASE GO BACK"));
    r.sense(|s| s.entry_closed = false);
    assert_eq!(r.sense(|s| s.mantrap_occupied = false), GateState::Rejecting { closing: false });
    r.wait(0.4);
    // Back in the entry zone (nobody queueing): out of the doorway, but the flap waits the doorway time.
    assert_eq!(r.sense(|s| s.entry_presence = true), GateState::Rejecting { closing: false });
    assert_eq!(r.wait(0.6), GateState::Rejecting { closing: false }, "maybe still half in the doorway");
    // Walked on out of the entry zone before the flap moved: it still closes.
    r.sense(|s| s.entry_presence = false);
    assert_eq!(r.wait(0.6), GateState::Rejecting { closing: true });
    assert_eq!(r.sense(|s| s.entry_closed = true), GateState::Idle);
}

#[test]
fn a_refused_traveller_who_stops_in_the_entry_doorway_keeps_it_open() {
    let mut r = Rig::idle();
    r.admit();
    r.input(Input::Decision(Decision::Reject));
    r.sense(|s| s.entry_closed = false);
    r.sense(|s| s.mantrap_occupied = false);
    // Nobody in the entry zone: they are still in the doorway.
    assert_eq!(r.wait(29.0), GateState::Rejecting { closing: false });
    assert!(r.c.signals().entry_open);
    assert_eq!(r.wait(1.1), GateState::Alarm(AlarmCause::EntryDoorwayHeld));
}

#[test]
fn with_a_queue_in_the_entry_zone_the_doorway_time_decides() {
    let mut r = Rig::idle();
    r.admit();
    r.sense(|s| s.entry_presence = true); // the next one waits at the flap
    r.input(Input::Decision(Decision::Reject));
    r.sense(|s| s.entry_closed = false);
    r.sense(|s| s.mantrap_occupied = false);
    assert_eq!(r.wait(1.4), GateState::Rejecting { closing: false });
    assert_eq!(r.wait(0.2), GateState::Rejecting { closing: true });
}

#[test]
fn whoever_walks_in_while_the_refused_traveller_leaves_is_admitted() {
    let mut r = Rig::idle();
    r.admit();
    r.input(Input::Decision(Decision::Reject));
    r.sense(|s| s.entry_closed = false);
    r.sense(|s| s.entry_presence = true); // the next one waits at the flap
    r.sense(|s| s.mantrap_occupied = false);
    r.wait(2.0);
    assert_eq!(r.c.state(), GateState::Rejecting { closing: true });
    assert_eq!(r.sense(|s| s.mantrap_occupied = true), GateState::Admitting { closing: true });
    assert_eq!(r.sense(|s| s.entry_closed = true), GateState::Processing);
}

#[test]
fn two_in_the_mantrap_is_an_alarm_with_flaps_closed_until_the_officer_resets() {
    let mut r = Rig::idle();
    r.sense(|s| s.entry_presence = true);
    r.sense(|s| s.mantrap_occupied = true);
    assert_eq!(r.sense(|s| s.mantrap_multiple = true), GateState::Alarm(AlarmCause::Tailgating));
    let sig = r.c.signals();
    assert!(sig.alarm && !sig.entry_open && !sig.exit_open);
    assert_eq!((sig.light, sig.buzzer), (Light::RedFlashing, Buzz::Alarm));
    assert!(r.c.handle(r.now, Input::Decision(Decision::Accept)).ignored_decision);
    assert_eq!(r.wait(600.0), GateState::Alarm(AlarmCause::Tailgating), "no timeout ends an alarm");
    assert_eq!(r.input(Input::OperatorReset), GateState::Rejecting { closing: false }, "both sent back");
}

#[test]
fn tailgating_seen_late_during_processing_is_an_alarm_too() {
    let mut r = Rig::idle();
    r.admit();
    assert_eq!(r.sense(|s| s.mantrap_multiple = true), GateState::Alarm(AlarmCause::Tailgating));
}

#[test]
fn nobody_entering_closes_the_entry_again() {
    let mut r = Rig::idle();
    r.sense(|s| s.entry_presence = true);
    assert_eq!(r.wait(9.9), GateState::Admitting { closing: false });
    assert_eq!(r.wait(0.2), GateState::Idle);
    assert!(!r.c.signals().entry_open);
    // Still standing there: the flap does not cycle open and shut in front of them...
    assert_eq!(r.wait(30.0), GateState::Idle);
    // ...until they step away and come back.
    assert_eq!(r.sense(|s| s.entry_presence = false), GateState::Idle);
    assert_eq!(r.sense(|s| s.entry_presence = true), GateState::Admitting { closing: false });
}

#[test]
fn someone_between_the_entry_zone_and_the_mantrap_is_never_closed_on() {
    let mut r = Rig::idle();
    r.sense(|s| s.entry_presence = true);
    r.sense(|s| s.entry_closed = false);
    // Out of the entry zone, not in the mantrap: in the doorway, which no sensor sees.
    assert_eq!(r.sense(|s| s.entry_presence = false), GateState::Admitting { closing: false });
    assert_eq!(r.wait(29.0), GateState::Admitting { closing: false }, "past the admit timeout: still open");
    assert!(r.c.signals().entry_open);
    assert_eq!(r.wait(1.1), GateState::Alarm(AlarmCause::EntryDoorwayHeld));
    let mut r = Rig::idle();
    r.sense(|s| s.entry_presence = true);
    r.sense(|s| s.entry_closed = false);
    r.sense(|s| s.entry_presence = false);
    r.wait(20.0);
    // They walk on after all.
    assert_eq!(r.sense(|s| s.mantrap_occupied = true), GateState::Admitting { closing: true });
    assert_eq!(r.sense(|s| s.entry_closed = true), GateState::Processing);
}

#[test]
fn a_traveller_who_steps_back_out_before_the_flap_closes_leaves_the_gate_idle() {
    let mut r = Rig::idle();
    r.sense(|s| s.entry_presence = true);
    r.sense(|s| s.entry_closed = false);
    r.sense(|s| s.mantrap_occupied = true);
    r.sense(|s| s.mantrap_occupied = false);
    r.sense(|s| s.entry_presence = false);
    assert_eq!(r.sense(|s| s.entry_closed = true), GateState::Idle);
    // Back in the entry zone: admitted afresh.
    assert_eq!(r.sense(|s| s.entry_presence = true), GateState::Admitting { closing: false });
}

#[test]
fn a_flap_that_does_not_close_in_time_is_an_alarm() {
    let mut r = Rig::idle();
    r.sense(|s| s.entry_presence = true);
    r.sense(|s| s.entry_closed = false);
    r.sense(|s| s.mantrap_occupied = true);
    assert_eq!(r.wait(4.9), GateState::Admitting { closing: true });
    assert_eq!(r.wait(0.2), GateState::Alarm(AlarmCause::EntryFlapBlocked));

    let mut r = Rig::idle();
    r.admit();
    r.input(Input::Decision(Decision::Accept));
    r.sense(|s| s.exit_closed = false);
    r.sense(|s| s.mantrap_occupied = false);
    r.sense(|s| s.exit_presence = true);
    assert_eq!(r.wait(5.1), GateState::Alarm(AlarmCause::ExitFlapBlocked));
    assert_eq!(r.input(Input::OperatorReset), GateState::Idle, "nobody inside");
}

#[test]
fn no_decision_in_time_turns_the_traveller_back() {
    let mut r = Rig::idle();
    r.admit();
    assert_eq!(r.wait(29.9), GateState::Processing);
    assert_eq!(r.wait(0.2), GateState::Rejecting { closing: false });
}

#[test]
fn a_traveller_who_will_not_leave_calls_the_officer() {
    let mut r = Rig::idle();
    r.admit();
    r.input(Input::Decision(Decision::Accept));
    assert_eq!(r.wait(15.1), GateState::Alarm(AlarmCause::Loitering));
    let mut r = Rig::idle();
    r.admit();
    r.input(Input::Decision(Decision::Reject));
    assert_eq!(r.wait(20.1), GateState::Alarm(AlarmCause::Loitering));
}

#[test]
fn someone_in_the_mantrap_of_an_idle_gate_is_an_intrusion() {
    let mut r = Rig::idle();
    assert_eq!(r.sense(|s| s.mantrap_occupied = true), GateState::Alarm(AlarmCause::Intrusion));
}

#[test]
fn offline_board_is_out_of_service_and_coming_back_needs_a_fresh_image() {
    let mut r = Rig::idle();
    r.admit();
    assert_eq!(r.input(Input::Offline), GateState::OutOfService);
    assert_eq!(r.input(Input::Decision(Decision::Accept)), GateState::OutOfService);
    assert_eq!(r.input(Input::Online), GateState::OutOfService, "the old image does not count");
    // Back, with the traveller still inside: nobody knows who they are any more.
    assert_eq!(r.sense(|_| {}), GateState::Alarm(AlarmCause::Intrusion));
    r.sense(|s| s.mantrap_occupied = false);
    assert_eq!(r.input(Input::OperatorReset), GateState::Idle);
}

#[test]
fn tamper_holds_the_alarm_until_the_contact_closes() {
    let mut r = Rig::idle();
    assert_eq!(r.input(Input::Tamper(true)), GateState::Alarm(AlarmCause::Tamper));
    assert!(r.c.handle(r.now, Input::OperatorReset).ignored_reset);
    assert_eq!(r.c.state(), GateState::Alarm(AlarmCause::Tamper));
    r.input(Input::Tamper(false));
    assert_eq!(r.input(Input::OperatorReset), GateState::Idle);
}

#[test]
fn decisions_and_resets_out_of_turn_are_ignored_and_said_so() {
    let mut r = Rig::idle();
    let out = r.c.handle(r.now, Input::Decision(Decision::Accept));
    assert!(out.ignored_decision && out.transitions.is_empty());
    assert!(!r.c.signals().exit_open);
    assert!(r.c.handle(r.now, Input::OperatorReset).ignored_reset);
}

#[test]
fn istatr_images_map_to_sensors_and_short_ones_are_refused() {
    assert_eq!(Sensors::from_image(&[1, 0, 0, 1, 1, 0]), Some(Sensors { entry_presence: true, ..CLOSED }));
    assert_eq!(Sensors::from_image(&[0, 1, 0, 0, 1, 1]).map(|s| s.mantrap_multiple), Some(true));
    assert_eq!(Sensors::from_image(&[0, 0, 0, 1, 1]), None, "a 5-input board is not a gate");
}

fn any_input() -> impl Strategy<Value = Input> {
    prop_oneof![
        Just(Input::Online),
        Just(Input::Offline),
        Just(Input::Tick),
        Just(Input::OperatorReset),
        any::<bool>().prop_map(Input::Tamper),
        any::<bool>().prop_map(|a| Input::Decision(if a { Decision::Accept } else { Decision::Reject })),
        any::<[bool; 6]>().prop_map(|b| Input::Sensors(Sensors {
            entry_presence: b[0],
            mantrap_occupied: b[1],
            exit_presence: b[2],
            entry_closed: b[3],
            exit_closed: b[4],
            mantrap_multiple: b[5],
        })),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever the sensors say and whenever: never both flaps open, no flap open in an alarm or out of service,
    /// the exit opens only on an accept, and a flap is only asked to close with nobody between it and the
    /// traveller it let through.
    #[test]
    fn safety_holds_for_any_input_sequence(steps in proptest::collection::vec((any_input(), 0u64..3000), 1..200)) {
        let mut c = GateController::new(ControllerConfig::default());
        let mut now = Duration::ZERO;
        for (input, dt) in steps {
            now += Duration::from_millis(dt);
            let before = c.state();
            let was = c.signals();
            let sensors = c.sensors();
            let out = c.handle(now, input);
            let sig = c.signals();
            let state = c.state();
            prop_assert!(!(sig.entry_open && sig.exit_open), "{state:?}");
            if matches!(state, GateState::Alarm(_) | GateState::OutOfService) {
                prop_assert!(!sig.entry_open && !sig.exit_open);
            }
            prop_assert_eq!(sig.alarm, matches!(state, GateState::Alarm(_)));
            if sig.exit_open && !was.exit_open {
                prop_assert_eq!(before, GateState::Processing);
                prop_assert_eq!(input, Input::Decision(Decision::Accept));
            }
            // The exit closes behind a released traveller only once they are seen beyond it.
            if was.exit_open && !sig.exit_open && matches!(state, GateState::Releasing { .. }) {
                let s = c.sensors().unwrap();
                prop_assert!(!s.mantrap_occupied && s.exit_presence, "{s:?}");
            }
            // The entry closes behind an admitted traveller only once they are in the mantrap, or in front of it
            // while they are still in the entry zone; never with both empty (they may be in the doorway).
            // (An alarm or a lost board closes it whatever: the gate's own flap safety is what protects then.)
            let ordinary = !matches!(state, GateState::Alarm(_) | GateState::OutOfService);
            if was.entry_open && !sig.entry_open && matches!(before, GateState::Admitting { .. }) && ordinary {
                let s = c.sensors().unwrap();
                prop_assert!(s.mantrap_occupied || s.entry_presence, "{before:?} -> {state:?}: {s:?}");
            }
            prop_assert!(out.transitions.iter().all(|t| t.at == now.max(t.at)));
            let _ = sensors;
        }
    }
}
