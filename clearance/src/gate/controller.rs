//! The e-gate controller's state machine, pure: the I/O board's sensors, the clearance decision and the
//! officer's reset go in, with the time; the wanted relays, light, text and buzzer come out ([`Signals`]).
//! No I/O, no clock: the runner ([`super::runner`]) turns signals into OSDP commands.
//!
//! One traveller at a time goes through the mantrap between the two flaps:
//!
//! ```text
//!  OutOfService --online + sensors--> Idle --entry presence--> Admitting --in the mantrap, entry closed--> Processing
//!  Processing --accept--> Releasing --out through the exit, exit closed--> Idle
//!  Processing --reject / no decision in time--> Rejecting --back out through the entry, entry closed--> Idle
//!  any --two people in the mantrap / a flap that will not close / tamper / someone left inside--> Alarm
//!  Alarm --officer's reset--> Rejecting (someone inside) or Idle;   any --PD offline--> OutOfService
//! ```
//!
//! Safety: the controller only asks a flap to close once the traveller it let through is seen beyond it (in the
//! mantrap behind the entry flap, in the exit zone beyond the exit flap), or in front of it (an admitted
//! traveller still in the entry zone after [`ControllerConfig::admit_timeout`]), or, walking back, has been out of
//! the mantrap for [`ControllerConfig::doorway_clear`]. Someone who left the entry zone without reaching the
//! mantrap may be standing in the doorway: the flap stays open. The flaps' own safety (they reopen on an obstruction) is the
//! gate's, not the controller's: a flap that does not report closed in time raises an alarm instead of being
//! forced.

use khil_osdp::gate_io::input;
use std::fmt;
use std::time::Duration;

/// The gate I/O board's contacts, in the `gate-io` input order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[allow(clippy::struct_excessive_bools, reason = "one field per contact of the board")]
pub struct Sensors {
    /// Someone in the entry zone (in front of the entry flap).
    pub entry_presence: bool,
    /// Someone in the mantrap.
    pub mantrap_occupied: bool,
    /// Someone in the exit zone (beyond the exit flap).
    pub exit_presence: bool,
    /// The entry flap is fully closed.
    pub entry_closed: bool,
    /// The exit flap is fully closed.
    pub exit_closed: bool,
    /// The people counter sees more than one person in the mantrap.
    pub mantrap_multiple: bool,
}

impl Sensors {
    /// Inputs the `gate-io` board has.
    pub const INPUTS: usize = input::NAMES.len();

    /// From an ISTATR image (one byte per input, non-zero = active). `None` if the board has fewer inputs than a
    /// gate needs.
    pub fn from_image(image: &[u8]) -> Option<Sensors> {
        let b = |n: u8| image.get(usize::from(n)).map(|&v| v != 0);
        Some(Sensors {
            entry_presence: b(input::ENTRY_PRESENCE)?,
            mantrap_occupied: b(input::MANTRAP_OCCUPIED)?,
            exit_presence: b(input::EXIT_PRESENCE)?,
            entry_closed: b(input::ENTRY_FLAP_CLOSED)?,
            exit_closed: b(input::EXIT_FLAP_CLOSED)?,
            mantrap_multiple: b(input::MANTRAP_MULTIPLE)?,
        })
    }
}

/// The clearance flow's verdict on the traveller in the mantrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Reject,
}

/// What reaches the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// The I/O board answers (its sensors follow).
    Online,
    /// The I/O board stopped answering.
    Offline,
    /// A fresh sensor image.
    Sensors(Sensors),
    /// The board's tamper contact.
    Tamper(bool),
    Decision(Decision),
    /// The officer cleared an alarm.
    OperatorReset,
    /// Time passed (the runner ticks a few times a second so that timeouts fire).
    Tick,
}

/// Why the gate called for an officer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmCause {
    /// Two or more people in the mantrap.
    Tailgating,
    /// The entry flap did not close in time (something in its doorway).
    EntryFlapBlocked,
    /// Admitted, the traveller left the entry zone but never reached the mantrap: standing in the entry doorway
    /// (or gone); the flap stays open.
    EntryDoorwayHeld,
    /// Released, the traveller left the mantrap but was never seen beyond the exit flap: standing in its doorway;
    /// the flap stays open.
    ExitDoorwayHeld,
    /// The exit flap did not close in time.
    ExitFlapBlocked,
    /// Someone in the mantrap with both flaps closed and nobody admitted (forced entry, or found there when the
    /// board came back online).
    Intrusion,
    /// A traveller stayed in the mantrap instead of leaving when told to.
    Loitering,
    /// The board's tamper contact.
    Tamper,
}

impl AlarmCause {
    /// For the officer: what set the alarm off.
    pub const fn in_words(self) -> &'static str {
        match self {
            AlarmCause::Tailgating => "tailgating: two or more people in the mantrap",
            AlarmCause::EntryFlapBlocked => "the entry flap did not close",
            AlarmCause::EntryDoorwayHeld => "someone stands in the entry doorway",
            AlarmCause::ExitDoorwayHeld => "someone stands in the exit doorway",
            AlarmCause::ExitFlapBlocked => "the exit flap did not close",
            AlarmCause::Intrusion => "someone in the mantrap who was not admitted",
            AlarmCause::Loitering => "a traveller stays in the mantrap",
            AlarmCause::Tamper => "the board's tamper contact",
        }
    }
}

/// The gate's state, as the officer's station shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateState {
    /// No I/O board, or no sensor image yet.
    OutOfService,
    /// Flaps closed, waiting for a traveller.
    Idle,
    /// Entry flap open for one traveller (`closing`: they are in, the flap is closing behind them).
    Admitting { closing: bool },
    /// Both flaps closed, the traveller in the mantrap, waiting for the clearance decision.
    Processing,
    /// Exit flap open (`closing`: the traveller is through, the flap is closing).
    Releasing { closing: bool },
    /// Entry flap open for the traveller to walk back out (`closing`: they are out, the flap is closing).
    Rejecting { closing: bool },
    /// An officer is needed.
    Alarm(AlarmCause),
}

impl GateState {
    /// Short name (`admitting`, `alarm`...).
    pub const fn name(self) -> &'static str {
        match self {
            GateState::OutOfService => "out-of-service",
            GateState::Idle => "idle",
            GateState::Admitting { .. } => "admitting",
            GateState::Processing => "processing",
            GateState::Releasing { .. } => "releasing",
            GateState::Rejecting { .. } => "rejecting",
            GateState::Alarm(_) => "alarm",
        }
    }
}

impl fmt::Display for GateState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateState::Alarm(cause) => write!(f, "alarm ({})", cause.in_words()),
            other => f.write_str(other.name()),
        }
    }
}

/// The traffic light on the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Light {
    Off,
    Green,
    Amber,
    Red,
    /// Red, flashing: alarm.
    RedFlashing,
}

/// The buzzer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Buzz {
    Silent,
    /// One short tone (a refusal).
    Short,
    /// Repeating until told otherwise (an alarm).
    Alarm,
}

/// What the gate should show and do in a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signals {
    pub entry_open: bool,
    pub exit_open: bool,
    pub alarm: bool,
    pub light: Light,
    /// For the traveller's display.
    pub text: &'static str,
    pub buzzer: Buzz,
}

/// A change of state and its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// Controller time.
    pub at: Duration,
    pub from: GateState,
    pub to: GateState,
    pub why: &'static str,
}

/// Timeouts of the controller.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// Entry flap open and nobody stepped into the mantrap while someone still stands in the entry zone: close it
    /// again (they are in front of the flap line).
    pub admit_timeout: Duration,
    /// Entry flap open with nobody in the mantrap or the entry zone, or exit flap open with the mantrap empty and
    /// nobody seen beyond it: someone may stand in the doorway, which no sensor sees. Alarm, the flap left open.
    pub doorway_timeout: Duration,
    /// A flap asked to close has not reported closed: alarm (something is in its doorway).
    pub flap_timeout: Duration,
    /// No clearance decision: the traveller is turned back.
    pub processing_timeout: Duration,
    /// Exit flap open and the traveller has not left the mantrap: alarm.
    pub release_timeout: Duration,
    /// Rejected and the traveller has not left the mantrap: alarm.
    pub reject_timeout: Duration,
    /// Walking back: how long after the mantrap empties the entry flap may close (time to cross its doorway;
    /// no sensor watches the doorway itself).
    pub doorway_clear: Duration,
}

impl Default for ControllerConfig {
    fn default() -> ControllerConfig {
        ControllerConfig {
            admit_timeout: Duration::from_secs(10),
            doorway_timeout: Duration::from_secs(30),
            flap_timeout: Duration::from_secs(5),
            processing_timeout: Duration::from_secs(30),
            release_timeout: Duration::from_secs(15),
            reject_timeout: Duration::from_secs(20),
            doorway_clear: Duration::from_millis(1500),
        }
    }
}

/// The state with its timers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    OutOfService,
    Idle,
    Admitting {
        since: Duration,
        closing: Option<Duration>,
    },
    Processing {
        since: Duration,
    },
    Releasing {
        since: Duration,
        empty_since: Option<Duration>,
        closing: Option<Duration>,
    },
    /// `back_seen`: since the mantrap emptied, someone has been in the entry zone (the traveller out of the
    /// doorway, or the queue, which makes the doorway time the only guide).
    Rejecting {
        since: Duration,
        empty_since: Option<Duration>,
        back_seen: bool,
        closing: Option<Duration>,
    },
    Alarm(AlarmCause),
}

impl Phase {
    /// Exit open for the traveller in the mantrap, from `since`.
    fn releasing(since: Duration) -> Phase {
        Phase::Releasing { since, empty_since: None, closing: None }
    }

    /// Entry open for whoever is in the mantrap to walk back out, from `since`.
    fn rejecting(since: Duration) -> Phase {
        Phase::Rejecting { since, empty_since: None, back_seen: false, closing: None }
    }

    fn state(self) -> GateState {
        match self {
            Phase::OutOfService => GateState::OutOfService,
            Phase::Idle => GateState::Idle,
            Phase::Admitting { closing, .. } => GateState::Admitting { closing: closing.is_some() },
            Phase::Processing { .. } => GateState::Processing,
            Phase::Releasing { closing, .. } => GateState::Releasing { closing: closing.is_some() },
            Phase::Rejecting { closing, .. } => GateState::Rejecting { closing: closing.is_some() },
            Phase::Alarm(c) => GateState::Alarm(c),
        }
    }
}

/// A transition to take, and why.
type Step = (Phase, &'static str);

/// What [`GateController::handle`] made of an input.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The state changes it caused, in order.
    pub transitions: Vec<Transition>,
    /// A decision that arrived while no traveller was being processed (it is not applied).
    pub ignored_decision: bool,
    /// A reset that arrived outside an alarm, or while the tamper contact is still open.
    pub ignored_reset: bool,
}

/// The controller. Starts out of service until the board is online and its sensors are known.
#[derive(Debug, Clone)]
pub struct GateController {
    config: ControllerConfig,
    phase: Phase,
    now: Duration,
    online: bool,
    sensors: Option<Sensors>,
    tamper: bool,
    /// Someone stood at the open entry flap and did not come in: the flap opens again only after the entry zone
    /// has been empty (otherwise it would cycle open and shut in front of them).
    entry_must_clear: bool,
}

impl GateController {
    pub fn new(config: ControllerConfig) -> GateController {
        GateController {
            config,
            phase: Phase::OutOfService,
            now: Duration::ZERO,
            online: false,
            sensors: None,
            tamper: false,
            entry_must_clear: false,
        }
    }

    pub fn state(&self) -> GateState {
        self.phase.state()
    }

    /// The last sensor image.
    pub fn sensors(&self) -> Option<Sensors> {
        self.sensors
    }

    /// What the gate should show and do now.
    pub fn signals(&self) -> Signals {
        let s = |entry_open, exit_open, light, text, buzzer| Signals {
            entry_open,
            exit_open,
            alarm: false,
            light,
            text,
            buzzer,
        };
        match self.phase {
            Phase::OutOfService => s(false, false, Light::Red, "GATE CLOSED", Buzz::Silent),
            Phase::Idle => s(false, false, Light::Green, "WELCOME", Buzz::Silent),
            Phase::Admitting { closing, .. } => s(closing.is_none(), false, Light::Green, "PLEASE ENTER", Buzz::Silent),
            Phase::Processing { .. } => s(false, false, Light::Amber, "PLEASE WAIT", Buzz::Silent),
            Phase::Releasing { closing, .. } => {
                s(false, closing.is_none(), Light::Green, "PLEASE PROCEED", Buzz::Silent)
            }
            Phase::Rejecting { closing, .. } => s(closing.is_none(), false, Light::Red, "PLEASE GO BACK", Buzz::Short),
            Phase::Alarm(_) => Signals {
                entry_open: false,
                exit_open: false,
                alarm: true,
                light: Light::RedFlashing,
                text: "WAIT FOR OFFICER",
                buzzer: Buzz::Alarm,
            },
        }
    }

    /// Takes one input at controller time `now` (never earlier than the previous one; an earlier time is taken
    /// as the previous one).
    pub fn handle(&mut self, now: Duration, input: Input) -> Outcome {
        self.now = self.now.max(now);
        let mut out = Outcome::default();
        match input {
            Input::Online => self.online = true,
            Input::Offline => {
                self.online = false;
                // The image is stale once the board is gone; a new one is read when it is back.
                self.sensors = None;
                self.go(&mut out, Phase::OutOfService, "I/O board offline");
            }
            Input::Sensors(s) => self.sensors = Some(s),
            Input::Tamper(on) => {
                self.tamper = on;
                if on && self.phase != Phase::OutOfService {
                    self.go(&mut out, Phase::Alarm(AlarmCause::Tamper), "tamper contact open");
                }
            }
            Input::Decision(d) => {
                if let Phase::Processing { .. } = self.phase {
                    let since = self.now;
                    match d {
                        Decision::Accept => self.go(&mut out, Phase::releasing(since), "clearance accepted"),
                        Decision::Reject => self.go(&mut out, Phase::rejecting(since), "clearance refused"),
                    }
                } else {
                    out.ignored_decision = true;
                }
            }
            Input::OperatorReset => {
                if let Phase::Alarm(_) = self.phase
                    && !self.tamper
                {
                    let occupied = self.sensors.is_some_and(|s| s.mantrap_occupied);
                    if occupied {
                        let since = self.now;
                        self.go(
                            &mut out,
                            Phase::rejecting(since),
                            "reset by the officer: whoever is inside walks back out",
                        );
                    } else {
                        self.go(&mut out, Phase::Idle, "reset by the officer");
                    }
                } else {
                    out.ignored_reset = true;
                }
            }
            Input::Tick => {}
        }
        // Some inputs allow more than one step (a rejected traveller out, the flap closed, the next one in).
        for _ in 0..4 {
            if !self.step(&mut out) {
                break;
            }
        }
        out
    }

    fn go(&mut self, out: &mut Outcome, to: Phase, why: &'static str) {
        let from = self.phase.state();
        self.phase = to;
        let to = to.state();
        if from != to {
            tracing::info!(from = %from, to = %to, why, "gate");
            out.transitions.push(Transition { at: self.now, from, to, why });
        }
    }

    /// One step of the sensor- and time-driven transitions; whether one happened.
    fn step(&mut self, out: &mut Outcome) -> bool {
        let Some(s) = self.sensors else { return false };
        if !self.online {
            return false;
        }
        if !s.entry_presence {
            self.entry_must_clear = false;
        }
        let before = self.phase;
        let next = match self.phase {
            Phase::OutOfService => Some(self.back_in_service(s)),
            Phase::Idle => self.idle(s),
            Phase::Admitting { since, closing } => self.admitting(s, since, closing),
            Phase::Processing { since } => self.processing(s, since),
            Phase::Releasing { since, empty_since, closing } => self.releasing(s, since, empty_since, closing),
            Phase::Rejecting { since, empty_since, back_seen, closing } => {
                self.rejecting(s, since, (empty_since, back_seen), closing)
            }
            Phase::Alarm(_) => None,
        };
        let Some((next, why)) = next else { return false };
        self.go(out, next, why);
        self.phase != before
    }

    fn elapsed(&self, since: Duration) -> Duration {
        self.now.saturating_sub(since)
    }

    fn back_in_service(&self, s: Sensors) -> Step {
        if self.tamper {
            (Phase::Alarm(AlarmCause::Tamper), "back online with the tamper contact open")
        } else if s.mantrap_occupied {
            (Phase::Alarm(AlarmCause::Intrusion), "back online with someone in the mantrap")
        } else {
            (Phase::Idle, "I/O board online")
        }
    }

    fn idle(&self, s: Sensors) -> Option<Step> {
        if s.mantrap_occupied {
            Some((Phase::Alarm(AlarmCause::Intrusion), "someone in the mantrap nobody admitted"))
        } else if s.entry_presence && !self.entry_must_clear && s.entry_closed && s.exit_closed {
            Some((Phase::Admitting { since: self.now, closing: None }, "traveller at the entry"))
        } else {
            None
        }
    }

    fn admitting(&mut self, s: Sensors, since: Duration, closing: Option<Duration>) -> Option<Step> {
        let now = self.now;
        if s.mantrap_multiple {
            return Some((Phase::Alarm(AlarmCause::Tailgating), "more than one person in the mantrap"));
        }
        let Some(closing) = closing else {
            if s.mantrap_occupied {
                return Some((Phase::Admitting { since, closing: Some(now) }, "traveller in the mantrap"));
            }
            let waited = self.elapsed(since);
            if waited >= self.config.admit_timeout && s.entry_presence {
                // Standing in front of the flap line: closing cannot touch them.
                self.entry_must_clear = true;
                return Some((Phase::Idle, "nobody entered"));
            }
            if waited >= self.config.doorway_timeout {
                // Out of the entry zone and not in the mantrap: in the doorway (no sensor there) or gone. The
                // flap is never closed on that guess; an officer looks.
                return Some((Phase::Alarm(AlarmCause::EntryDoorwayHeld), "nobody in the mantrap or the entry zone"));
            }
            return None;
        };
        if s.entry_closed {
            Some(if s.mantrap_occupied {
                (Phase::Processing { since: now }, "entry flap closed behind the traveller")
            } else {
                (Phase::Idle, "traveller turned back before the flap closed")
            })
        } else if self.elapsed(closing) >= self.config.flap_timeout {
            Some((Phase::Alarm(AlarmCause::EntryFlapBlocked), "entry flap did not close"))
        } else {
            None
        }
    }

    fn processing(&self, s: Sensors, since: Duration) -> Option<Step> {
        if s.mantrap_multiple {
            Some((Phase::Alarm(AlarmCause::Tailgating), "more than one person in the mantrap"))
        } else if !s.mantrap_occupied {
            Some((Phase::Idle, "nobody left in the mantrap"))
        } else if self.elapsed(since) >= self.config.processing_timeout {
            let rejecting = Phase::rejecting(self.now);
            Some((rejecting, "no clearance decision in time"))
        } else {
            None
        }
    }

    fn releasing(
        &self,
        s: Sensors,
        since: Duration,
        empty: Option<Duration>,
        closing: Option<Duration>,
    ) -> Option<Step> {
        let now = self.now;
        let c = &self.config;
        if let Some(closing) = closing {
            return if s.exit_closed {
                Some((Phase::Idle, "exit flap closed behind the traveller"))
            } else if self.elapsed(closing) >= c.flap_timeout {
                Some((Phase::Alarm(AlarmCause::ExitFlapBlocked), "exit flap did not close"))
            } else {
                None
            };
        }
        let releasing = |empty_since, closing| Phase::Releasing { since, empty_since, closing };
        if s.mantrap_occupied {
            if self.elapsed(since) >= c.release_timeout {
                Some((Phase::Alarm(AlarmCause::Loitering), "traveller did not leave through the exit"))
            } else {
                empty.map(|_| (releasing(None, None), "back in the mantrap"))
            }
        } else if s.exit_presence {
            Some((releasing(empty, Some(now)), "traveller beyond the exit flap"))
        } else {
            // Out of the mantrap, not yet seen beyond the exit flap: in its doorway (no sensor there). The flap stays
            // open until they are seen in the exit zone; an officer looks if they never are.
            match empty {
                None => Some((releasing(Some(now), None), "mantrap empty")),
                Some(e) if self.elapsed(e) >= c.doorway_timeout => {
                    Some((Phase::Alarm(AlarmCause::ExitDoorwayHeld), "never seen beyond the exit flap"))
                }
                Some(_) => None,
            }
        }
    }

    /// `empty`: when the mantrap emptied, and whether anyone has been in the entry zone since.
    fn rejecting(
        &self,
        s: Sensors,
        since: Duration,
        empty: (Option<Duration>, bool),
        closing: Option<Duration>,
    ) -> Option<Step> {
        let now = self.now;
        let c = &self.config;
        if let Some(closing) = closing {
            return if s.mantrap_occupied {
                // The next traveller walked in through the open flap: they are admitted.
                Some((Phase::Admitting { since: now, closing: Some(now) }, "next traveller walked in"))
            } else if s.entry_closed {
                Some((Phase::Idle, "entry flap closed, the traveller is out"))
            } else if self.elapsed(closing) >= c.flap_timeout {
                Some((Phase::Alarm(AlarmCause::EntryFlapBlocked), "entry flap did not close"))
            } else {
                None
            };
        }
        let rejecting = |empty_since, back_seen, closing| Phase::Rejecting { since, empty_since, back_seen, closing };
        let (empty_since, back_seen) = empty;
        if s.mantrap_occupied {
            return if self.elapsed(since) >= c.reject_timeout {
                Some((Phase::Alarm(AlarmCause::Loitering), "traveller did not walk back out"))
            } else {
                empty_since.map(|_| (rejecting(None, false, None), "back in the mantrap"))
            };
        }
        let Some(e) = empty_since else {
            return Some((rejecting(Some(now), s.entry_presence, None), "mantrap empty"));
        };
        if !back_seen && s.entry_presence {
            return Some((rejecting(empty_since, true, None), "someone in the entry zone"));
        }
        if back_seen && self.elapsed(e) >= c.doorway_clear {
            // Out of the doorway by now (or, with a queue in the entry zone, by the doorway's walking time).
            Some((rejecting(empty_since, true, Some(now)), "entry doorway clear"))
        } else if !back_seen && self.elapsed(e) >= c.doorway_timeout {
            // Out of the mantrap, never back in the entry zone: in the doorway. The flap stays open.
            Some((Phase::Alarm(AlarmCause::EntryDoorwayHeld), "never seen back in the entry zone"))
        } else {
            None
        }
    }
}
