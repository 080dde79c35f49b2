//! The gate itself, pure: no clock, no I/O. Time only moves when [`GateModel::step`] is called.
//!
//! Geometry: one lane, a coordinate `x` in metres along the walking direction. `x = 0` is where the entry zone
//! begins; then the entry zone ([`GateConfig::entry_zone_m`]), the entry flap's doorway
//! ([`GateConfig::doorway_m`]), the mantrap ([`GateConfig::mantrap_m`]), the exit flap's doorway and the exit
//! zone ([`GateConfig::exit_zone_m`]). A traveller is a point at their body's centre. Travellers queueing
//! behind the entry zone (`x < 0`) are not seen by any sensor.
//!
//! Flaps: a position from 0.0 (closed) to 1.0 (open), moving at `1 / flap_open_s` or `1 / flap_close_s` per
//! second toward what is wanted of them: the controller's relay when the gate is in service and powered, the
//! fail mode's state otherwise. A flap that would close on something in its doorway (a traveller, or luggage:
//! [`GateModel::obstruct`]) stops and reopens ([`Event::ObstructionPrevented`]) and stays open until the
//! doorway is clear; without power it cannot reopen, but it never moves into a person either (it stops).
//!
//! Travellers walk at [`GateConfig::walk_speed`] (half that when [`Behaviour::Slow`]), keep
//! [`GateConfig::spacing_m`] behind whoever walks ahead of them, and step into a doorway only when its flap is
//! at least [`GateConfig::pass_open`] open; otherwise they wait [`WAIT_M`] before the flap line. Once in a
//! doorway they always carry on (the flap cannot close on them). Everyone but a [`Behaviour::Tailgater`] waits
//! before the entry flap until nobody else is between the flaps (the mantrap and both doorways).
//!
//! The gate's lamp ([`GateModel::set_red_lamp`]): nobody but a tailgater steps through the entry flap while it is
//! red, and a traveller in the mantrap who sees it red with the entry flap open and the exit flap shut turns
//! round and walks back out (a refused traveller, or everyone inside after an officer's reset).

use std::collections::VecDeque;
use std::time::Duration;

use khil_osdp::gate_io::{input, output};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How far before a flap line a traveller stops when the flap is not open enough.
pub const WAIT_M: f64 = 0.05;
/// How far into the mantrap a [`Behaviour::TurnBack`] traveller walks before turning round.
pub const TURN_AFTER_M: f64 = 0.5;
/// Internal time step: longer `step`s are cut into pieces this long at most.
pub const MAX_SUBSTEP: Duration = Duration::from_millis(10);

/// What the gate does when it loses power or its controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailMode {
    /// Flaps open: people can leave (evacuation).
    Safe,
    /// Flaps closed: nobody passes.
    Secure,
}

impl FailMode {
    const fn open(self) -> bool {
        matches!(self, FailMode::Safe)
    }
}

/// How the gate is built and behaves.
#[derive(Debug, Clone)]
pub struct GateConfig {
    /// Seconds for a flap to go from closed to fully open.
    pub flap_open_s: f64,
    /// Seconds for a flap to go from fully open to closed.
    pub flap_close_s: f64,
    /// The flaps' state on power loss and when the controller link is lost.
    pub fail_mode: FailMode,
    /// Seconds without controller activity before the gate goes out of service (`f64::INFINITY`: never).
    pub link_timeout_s: f64,
    /// How open (0..1) a flap must be for a traveller to step into its doorway.
    pub pass_open: f64,
    /// Lengths of the zones, metres.
    pub entry_zone_m: f64,
    pub doorway_m: f64,
    pub mantrap_m: f64,
    pub exit_zone_m: f64,
    /// Walking speed, m/s.
    pub walk_speed: f64,
    /// Speed factor of a [`Behaviour::Slow`] traveller.
    pub slow_factor: f64,
    /// Distance kept behind the traveller ahead (and the gap between queueing travellers), metres.
    pub spacing_m: f64,
    /// Each traveller's speed is multiplied by `1 ± speed_jitter` (uniform, from `seed`). 0: all walk alike.
    pub speed_jitter: f64,
    pub seed: u64,
}

impl Default for GateConfig {
    fn default() -> GateConfig {
        GateConfig {
            flap_open_s: 0.8,
            flap_close_s: 0.8,
            fail_mode: FailMode::Safe,
            link_timeout_s: 2.0,
            pass_open: 0.9,
            entry_zone_m: 1.5,
            doorway_m: 0.4,
            mantrap_m: 2.0,
            exit_zone_m: 1.5,
            walk_speed: 1.0,
            slow_factor: 0.5,
            spacing_m: 0.5,
            speed_jitter: 0.0,
            seed: 0,
        }
    }
}

/// One of the two flaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flap {
    Entry,
    Exit,
}

impl Flap {
    /// The relay that opens this flap.
    const fn index(self) -> usize {
        match self {
            Flap::Entry => output::ENTRY_FLAP as usize,
            Flap::Exit => output::EXIT_FLAP as usize,
        }
    }
}

/// Where a traveller is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Zone {
    /// Queueing behind the entry zone, or walking away from it after turning back: no sensor sees them.
    Approach,
    EntryZone,
    EntryDoorway,
    Mantrap,
    ExitDoorway,
    ExitZone,
}

/// How a traveller behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Behaviour {
    /// Waits for the gate to be free, walks through when the flaps open.
    Normal,
    /// Follows the traveller ahead at [`GateConfig::spacing_m`], through the entry flap while the other is
    /// still between the flaps: two people in the mantrap.
    Tailgater,
    /// Enters the mantrap, turns round and walks back out through the entry flap (waiting for it to open).
    TurnBack,
    /// Walks at [`GateConfig::slow_factor`] of the normal speed.
    Slow,
    /// Stops in the middle of `flap`'s doorway for `dwell` (a traveller fumbling with luggage), then walks on.
    Obstructs { flap: Flap, dwell: Duration },
}

/// A traveller's number, in the order they were added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TravellerId(pub u32);

/// Something that happened at the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A traveller stepped out of the entry doorway into the mantrap.
    TravellerEntered {
        id: TravellerId,
    },
    /// A traveller stepped out of the exit doorway into the exit zone: through the gate.
    TravellerExited {
        id: TravellerId,
    },
    /// A traveller walked back out of the entry doorway into the entry zone.
    TurnedBack {
        id: TravellerId,
    },
    /// The mantrap's people counter went up to `count` (2 or more).
    Tailgating {
        count: usize,
    },
    /// `flap` was closing onto something in its doorway: it stopped and reopened.
    ObstructionPrevented {
        flap: Flap,
    },
    /// No controller activity for the link timeout: the flaps went to the fail mode's state.
    OutOfService,
    /// The controller is back: the flaps follow the relays again.
    BackInService,
    PowerLost,
    PowerRestored,
}

/// An [`Event`] and when it happened (model time since the model was made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub at: Duration,
    pub event: Event,
}

/// What the gate is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateStatus {
    InService,
    /// Controller link lost: flaps in the fail mode's state.
    OutOfService,
    /// No power: flaps in the fail mode's state (whatever the controller says).
    Unpowered,
}

/// A traveller as seen from outside.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TravellerView {
    pub id: TravellerId,
    pub behaviour: Behaviour,
    /// Metres from the start of the entry zone.
    pub x: f64,
    pub zone: Zone,
    /// Walking back toward the entry side.
    pub turned: bool,
}

#[derive(Debug, Clone, Copy)]
struct FlapState {
    position: f64,
    /// Latched by the safety logic: open until the doorway is clear.
    reopening: bool,
    /// Luggage in the doorway.
    obstructed: bool,
}

#[derive(Debug, Clone)]
struct Traveller {
    id: TravellerId,
    behaviour: Behaviour,
    x: f64,
    speed: f64,
    turned: bool,
    /// Remaining dwell of [`Behaviour::Obstructs`] once started; `None` before, zero after.
    dwell: Option<Duration>,
}

/// The gate: two flaps, the travellers, the sensors, the safety logic and the controller-link watchdog.
#[derive(Debug)]
pub struct GateModel {
    config: GateConfig,
    rng: ChaCha8Rng,
    now: Duration,
    flaps: [FlapState; 2],
    /// Relays as last set: entry flap open, exit flap open, alarm.
    outputs: [bool; output::NAMES.len()],
    powered: bool,
    in_service: bool,
    since_seen: Duration,
    travellers: Vec<Traveller>,
    next_id: u32,
    /// The people counter's last value, for the tailgating event.
    counted: usize,
    /// The gate's lamp shows red.
    red_lamp: bool,
    events: VecDeque<Logged>,
}

impl GateModel {
    /// A powered gate in service, flaps closed, nobody about; the watchdog starts now.
    pub fn new(config: GateConfig) -> GateModel {
        let closed = FlapState { position: 0.0, reopening: false, obstructed: false };
        GateModel {
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x6b68_696c_6761_7465),
            config,
            now: Duration::ZERO,
            flaps: [closed; 2],
            outputs: [false; output::NAMES.len()],
            powered: true,
            in_service: true,
            since_seen: Duration::ZERO,
            travellers: Vec::new(),
            next_id: 0,
            counted: 0,
            red_lamp: false,
            events: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &GateConfig {
        &self.config
    }

    // --- Geometry ---------------------------------------------------------------------------------------------

    /// The flap line of the entry flap: where its doorway begins.
    fn entry_line(&self) -> f64 {
        self.config.entry_zone_m
    }

    fn mantrap_start(&self) -> f64 {
        self.entry_line() + self.config.doorway_m
    }

    fn exit_line(&self) -> f64 {
        self.mantrap_start() + self.config.mantrap_m
    }

    fn exit_zone_start(&self) -> f64 {
        self.exit_line() + self.config.doorway_m
    }

    fn end(&self) -> f64 {
        self.exit_zone_start() + self.config.exit_zone_m
    }

    /// The zone at `x`.
    pub fn zone_at(&self, x: f64) -> Zone {
        if x < 0.0 {
            Zone::Approach
        } else if x < self.entry_line() {
            Zone::EntryZone
        } else if x < self.mantrap_start() {
            Zone::EntryDoorway
        } else if x < self.exit_line() {
            Zone::Mantrap
        } else if x < self.exit_zone_start() {
            Zone::ExitDoorway
        } else {
            Zone::ExitZone
        }
    }

    fn doorway(flap: Flap) -> Zone {
        match flap {
            Flap::Entry => Zone::EntryDoorway,
            Flap::Exit => Zone::ExitDoorway,
        }
    }

    // --- Travellers --------------------------------------------------------------------------------------------

    /// A traveller arrives at the start of the entry zone, or queues [`GateConfig::spacing_m`] behind the last
    /// one still there. A [`Behaviour::Tailgater`] arrives right behind the previous traveller, wherever they
    /// are.
    pub fn add_traveller(&mut self, behaviour: Behaviour) -> TravellerId {
        let id = TravellerId(self.next_id);
        self.next_id += 1;
        let spacing = self.config.spacing_m;
        let x = if behaviour == Behaviour::Tailgater {
            self.travellers.iter().rfind(|t| !t.turned).map_or(0.0, |t| t.x - spacing)
        } else {
            // Behind the last of those still near the start of the entry zone.
            let near_start = self.travellers.iter().filter(|t| !t.turned && t.x < spacing).map(|t| t.x);
            near_start.min_by(f64::total_cmp).map_or(0.0, |last| (last - spacing).min(0.0))
        };
        let factor = if behaviour == Behaviour::Slow { self.config.slow_factor } else { 1.0 };
        let jitter = if self.config.speed_jitter > 0.0 {
            1.0 + self.config.speed_jitter * self.rng.random_range(-1.0..=1.0)
        } else {
            1.0
        };
        let speed = self.config.walk_speed * factor * jitter;
        tracing::debug!(id = id.0, ?behaviour, x, speed, "traveller arrives");
        self.travellers.push(Traveller { id, behaviour, x, speed, turned: false, dwell: None });
        id
    }

    /// Everyone at the gate, in the order they arrived.
    pub fn travellers(&self) -> Vec<TravellerView> {
        self.travellers
            .iter()
            .map(|t| TravellerView {
                id: t.id,
                behaviour: t.behaviour,
                x: t.x,
                zone: self.zone_at(t.x),
                turned: t.turned,
            })
            .collect()
    }

    /// Where traveller `id` is; `None` once they have left the gate (either end).
    pub fn traveller(&self, id: TravellerId) -> Option<TravellerView> {
        self.travellers().into_iter().find(|t| t.id == id)
    }

    /// The overhead people counter: travellers in the mantrap proper (between the two doorways).
    pub fn mantrap_count(&self) -> usize {
        self.count_in(Zone::Mantrap)
    }

    fn count_in(&self, zone: Zone) -> usize {
        self.travellers.iter().filter(|t| self.zone_at(t.x) == zone).count()
    }

    fn doorway_occupied(&self, flap: Flap) -> bool {
        self.flaps[flap.index()].obstructed || self.count_in(GateModel::doorway(flap)) > 0
    }

    // --- Flaps, faults, power, controller ----------------------------------------------------------------------

    /// Luggage left in `flap`'s doorway: the flap cannot close until [`GateModel::clear_obstruction`].
    pub fn obstruct(&mut self, flap: Flap) {
        self.flaps[flap.index()].obstructed = true;
    }

    pub fn clear_obstruction(&mut self, flap: Flap) {
        self.flaps[flap.index()].obstructed = false;
    }

    /// 0.0 closed .. 1.0 open.
    pub fn flap_position(&self, flap: Flap) -> f64 {
        self.flaps[flap.index()].position
    }

    /// The flap's closed contact: fully closed.
    pub fn flap_closed(&self, flap: Flap) -> bool {
        self.flaps[flap.index()].position <= 0.0
    }

    /// Power on or off. Off: the flaps go to the fail mode's state and ignore the relays.
    pub fn power(&mut self, on: bool) {
        if on == self.powered {
            return;
        }
        self.powered = on;
        if on {
            // The gate's watchdog restarts with it.
            self.since_seen = Duration::ZERO;
            self.log(Event::PowerRestored);
        } else {
            for f in &mut self.flaps {
                f.reopening = false;
            }
            self.log(Event::PowerLost);
        }
    }

    /// The controller did something (a command reached the gate's I/O board): resets the link watchdog, and
    /// brings an out-of-service gate back.
    pub fn controller_seen(&mut self) {
        self.since_seen = Duration::ZERO;
        if !self.in_service {
            self.in_service = true;
            tracing::info!("controller back: gate in service");
            self.log(Event::BackInService);
        }
    }

    pub fn status(&self) -> GateStatus {
        if !self.powered {
            GateStatus::Unpowered
        } else if self.in_service {
            GateStatus::InService
        } else {
            GateStatus::OutOfService
        }
    }

    /// Sets the relays, by output number ([`khil_osdp::gate_io::output`]). Missing
    /// entries leave their relay as it was; extra ones are ignored.
    pub fn set_outputs(&mut self, outputs: &[bool]) {
        for (slot, &on) in self.outputs.iter_mut().zip(outputs) {
            *slot = on;
        }
    }

    pub fn outputs(&self) -> [bool; output::NAMES.len()] {
        self.outputs
    }

    /// The gate's lamp: red (stop, go back) or not.
    pub fn set_red_lamp(&mut self, red: bool) {
        self.red_lamp = red;
    }

    /// The alarm relay.
    pub fn alarm(&self) -> bool {
        self.outputs[output::ALARM as usize]
    }

    /// The sensors, by input number ([`khil_osdp::gate_io::input`]).
    pub fn inputs(&self) -> [bool; input::NAMES.len()] {
        let mut inputs = [false; input::NAMES.len()];
        for (n, on) in [
            (input::ENTRY_PRESENCE, self.count_in(Zone::EntryZone) > 0),
            (input::MANTRAP_OCCUPIED, self.mantrap_count() > 0),
            (input::EXIT_PRESENCE, self.count_in(Zone::ExitZone) > 0),
            (input::ENTRY_FLAP_CLOSED, self.flap_closed(Flap::Entry)),
            (input::EXIT_FLAP_CLOSED, self.flap_closed(Flap::Exit)),
            (input::MANTRAP_MULTIPLE, self.mantrap_count() > 1),
        ] {
            inputs[usize::from(n)] = on;
        }
        inputs
    }

    // --- Events ------------------------------------------------------------------------------------------------

    fn log(&mut self, event: Event) {
        tracing::debug!(at = ?self.now, ?event, "gate");
        self.events.push_back(Logged { at: self.now, event });
    }

    /// Everything that happened since the last call, oldest first.
    pub fn drain_events(&mut self) -> Vec<Logged> {
        self.events.drain(..).collect()
    }

    // --- Time --------------------------------------------------------------------------------------------------

    /// Lets `dt` pass (in pieces of at most [`MAX_SUBSTEP`]).
    pub fn step(&mut self, dt: Duration) {
        let mut left = dt;
        while !left.is_zero() {
            let d = left.min(MAX_SUBSTEP);
            left -= d;
            self.substep(d);
        }
    }

    fn substep(&mut self, d: Duration) {
        self.now += d;
        let dt = d.as_secs_f64();
        self.watchdog(d);
        self.move_flaps(dt);
        self.move_travellers(d);
        let count = self.mantrap_count();
        if count >= 2 && count > self.counted {
            tracing::info!(count, "tailgating: more than one person in the mantrap");
            self.log(Event::Tailgating { count });
        }
        self.counted = count;
    }

    fn watchdog(&mut self, d: Duration) {
        self.since_seen = self.since_seen.saturating_add(d);
        if self.in_service && self.since_seen.as_secs_f64() >= self.config.link_timeout_s {
            self.in_service = false;
            tracing::warn!(fail_mode = ?self.config.fail_mode, "no controller activity: gate out of service");
            self.log(Event::OutOfService);
        }
    }

    /// What each flap is asked to do: the relay in service, the fail mode's state otherwise.
    fn wanted_open(&self, flap: Flap) -> bool {
        if self.powered && self.in_service { self.outputs[flap.index()] } else { self.config.fail_mode.open() }
    }

    fn move_flaps(&mut self, dt: f64) {
        for flap in [Flap::Entry, Flap::Exit] {
            let want_open = self.wanted_open(flap);
            let blocked = self.doorway_occupied(flap);
            let powered = self.powered;
            let open_rate = 1.0 / self.config.flap_open_s.max(f64::MIN_POSITIVE);
            let close_rate = 1.0 / self.config.flap_close_s.max(f64::MIN_POSITIVE);
            let mut prevented = false;
            let f = &mut self.flaps[flap.index()];
            if f.reopening && !blocked {
                f.reopening = false;
            }
            let closing = !(want_open || f.reopening) && f.position > 0.0;
            if closing && blocked {
                if !powered {
                    // No drive to reverse it, but it does not move into whatever is in the doorway.
                    continue;
                }
                f.reopening = true;
                prevented = true;
            }
            if want_open || f.reopening {
                f.position = (f.position + open_rate * dt).min(1.0);
                if f.position > 1.0 - 1e-9 {
                    f.position = 1.0;
                }
            } else {
                f.position = (f.position - close_rate * dt).max(0.0);
                if f.position < 1e-9 {
                    f.position = 0.0;
                }
            }
            if prevented {
                tracing::info!(?flap, "flap closing onto an obstruction: reopened");
                self.log(Event::ObstructionPrevented { flap });
            }
        }
    }

    /// Where a traveller walking from `t.x` toward `nx` stops at a flap line: WAIT_M before it (or where they
    /// are, if already closer) unless they may pass. The entry flap: open enough, and (unless tailgating) nobody
    /// else between the flaps and the lamp not red. The exit flap: open enough.
    fn hold_at_flaps(&self, t: &Traveller, mut nx: f64, entry_open: bool, exit_open: bool) -> f64 {
        let x = t.x;
        let entry_line = self.entry_line();
        let exit_line = self.exit_line();
        if x < entry_line && nx > entry_line - WAIT_M {
            let exit_zone_start = self.exit_zone_start();
            let others_inside =
                self.travellers.iter().any(|o| o.id != t.id && o.x >= entry_line && o.x < exit_zone_start);
            let may = entry_open && (t.behaviour == Behaviour::Tailgater || (!others_inside && !self.red_lamp));
            if !may {
                nx = nx.min((entry_line - WAIT_M).max(x));
            }
        }
        if x < exit_line && nx > exit_line - WAIT_M && !exit_open {
            nx = nx.min((exit_line - WAIT_M).max(x));
        }
        nx
    }

    fn move_travellers(&mut self, d: Duration) {
        let dt = d.as_secs_f64();
        let entry_line = self.entry_line();
        let mantrap_start = self.mantrap_start();
        let exit_line = self.exit_line();
        let exit_zone_start = self.exit_zone_start();
        let end = self.end();
        let pass = self.config.pass_open;
        let entry_open = self.flaps[0].position >= pass;
        let exit_open = self.flaps[1].position >= pass;
        let spacing = self.config.spacing_m;
        let half_door = self.config.doorway_m / 2.0;
        let red = self.red_lamp;
        // The way on is shut: the exit flap is not open enough and not opening.
        let exit_shut = !exit_open && !self.wanted_open(Flap::Exit);

        // Front first, so that each follower sees where the one ahead has got to.
        let mut order: Vec<usize> = (0..self.travellers.len()).collect();
        order.sort_by(|&a, &b| self.travellers[b].x.total_cmp(&self.travellers[a].x));
        let mut events = Vec::new();
        for &i in &order {
            let t = &self.travellers[i];
            let x = t.x;
            // Sent back: red lamp, the way back open, the way on closed.
            if !t.turned && red && entry_open && exit_shut && (mantrap_start..exit_line).contains(&x) {
                self.travellers[i].turned = true;
            }
            let t = &self.travellers[i];
            if t.turned {
                let mut nx = x - t.speed * dt;
                if x >= mantrap_start && nx < mantrap_start + WAIT_M && !entry_open {
                    nx = nx.max((mantrap_start + WAIT_M).min(x));
                }
                if x >= entry_line && nx < entry_line {
                    events.push(Event::TurnedBack { id: t.id });
                }
                self.travellers[i].x = nx;
                continue;
            }
            // A traveller stopped in a doorway.
            if let Behaviour::Obstructs { flap, dwell } = t.behaviour {
                let middle = match flap {
                    Flap::Entry => entry_line + half_door,
                    Flap::Exit => exit_line + half_door,
                };
                match t.dwell {
                    None if x >= middle => {
                        self.travellers[i].dwell = Some(dwell);
                        continue;
                    }
                    Some(left) if !left.is_zero() => {
                        self.travellers[i].dwell = Some(left.saturating_sub(d));
                        continue;
                    }
                    _ => {}
                }
            }
            let mut nx = x + t.speed * dt;
            if let Behaviour::Obstructs { flap, .. } = t.behaviour
                && t.dwell.is_none()
            {
                let middle = match flap {
                    Flap::Entry => entry_line + half_door,
                    Flap::Exit => exit_line + half_door,
                };
                if x < middle {
                    nx = nx.min(middle);
                }
            }
            // Keep behind whoever walks ahead.
            let ahead = self
                .travellers
                .iter()
                .filter(|o| !o.turned && o.id != t.id && o.x > x)
                .map(|o| o.x)
                .min_by(f64::total_cmp);
            if let Some(a) = ahead {
                nx = nx.min(a - spacing);
            }
            let nx = self.hold_at_flaps(t, nx, entry_open, exit_open).max(x);
            if x < mantrap_start && nx >= mantrap_start {
                events.push(Event::TravellerEntered { id: t.id });
            }
            if x < exit_zone_start && nx >= exit_zone_start {
                events.push(Event::TravellerExited { id: t.id });
            }
            let turn = t.behaviour == Behaviour::TurnBack && nx >= mantrap_start + TURN_AFTER_M;
            let tr = &mut self.travellers[i];
            tr.x = nx;
            if turn {
                tr.turned = true;
            }
        }
        for e in events {
            self.log(e);
        }
        self.travellers.retain(|t| if t.turned { t.x >= 0.0 } else { t.x < end });
    }
}
