//! The controller on the wire: a tokio task between a [`GateController`] and the gate's I/O board, reached through
//! khil's OSDP control panel ([`BusHandle`]). Bus events become controller inputs; the controller's [`Signals`]
//! become OUT, LED, BUZ and TEXT commands, sent only when they change (and all again after the board was
//! offline, since a restarted board has forgotten them). Time is tokio's, so tests run on the paused clock.

use std::time::Duration;

use khil_osdp::command::{
    Buzzer, Command, LedControl, LedPermanent, LedTemporary, OutputControl, Text, colour, output_control,
};
use khil_osdp::cp::{BusEvent, BusHandle, EventKind};
use khil_osdp::reply::Reply;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::controller::{
    Buzz, ControllerConfig, Decision, GateController, GateState, Input, Light, Sensors, Signals, Transition,
};

/// Relay numbers on the `gate-io` board.
pub use khil_osdp::gate_io::output as relay;

/// How the runner reaches its gate.
#[derive(Debug, Clone)]
pub struct GateSetup {
    /// The I/O board's address on the bus.
    pub io_address: u8,
    /// The reader position (LEDs, buzzer, display) on the board.
    pub reader: u8,
    /// How often time-driven transitions are checked.
    pub tick: Duration,
    pub controller: ControllerConfig,
}

impl GateSetup {
    pub fn new(io_address: u8) -> GateSetup {
        GateSetup { io_address, reader: 0, tick: Duration::from_millis(100), controller: ControllerConfig::default() }
    }
}

#[derive(Debug)]
enum Operator {
    Decide(Decision),
    Reset,
}

/// A running gate controller. Dropping it stops the task.
#[derive(Debug)]
pub struct Gate {
    operator: mpsc::Sender<Operator>,
    state: watch::Receiver<GateState>,
    transitions: broadcast::Sender<Transition>,
    task: JoinHandle<()>,
}

/// The runner stopped.
#[derive(Debug, thiserror::Error)]
#[error("gate controller stopped")]
pub struct GateStopped;

impl Gate {
    /// Starts the controller for the I/O board at `setup.io_address` on a running bus. `events` is the bus's
    /// event stream ([`khil_osdp::cp::OsdpBus::take_events`]); events of other PDs are ignored.
    pub fn spawn(bus: BusHandle, events: mpsc::Receiver<BusEvent>, setup: GateSetup) -> Gate {
        let (operator, requests) = mpsc::channel(16);
        let (state_tx, state) = watch::channel(GateState::OutOfService);
        let (transitions, _) = broadcast::channel(256);
        let runner = Runner {
            controller: GateController::new(setup.controller.clone()),
            bus,
            setup,
            start: Instant::now(),
            sent: None,
            state: state_tx,
            transitions: transitions.clone(),
        };
        let task = tokio::spawn(runner.run(events, requests));
        Gate { operator, state, transitions, task }
    }

    /// The clearance decision for the traveller in the mantrap.
    pub async fn decide(&self, decision: Decision) -> Result<(), GateStopped> {
        self.operator.send(Operator::Decide(decision)).await.map_err(|_| GateStopped)
    }

    /// The officer clears an alarm.
    pub async fn reset(&self) -> Result<(), GateStopped> {
        self.operator.send(Operator::Reset).await.map_err(|_| GateStopped)
    }

    pub fn state(&self) -> GateState {
        *self.state.borrow()
    }

    /// Waits until the state satisfies `ready` (no time limit: wrap it in a timeout).
    pub async fn wait_for(&self, ready: impl Fn(GateState) -> bool) -> Result<GateState, GateStopped> {
        let mut rx = self.state.clone();
        let s = rx.wait_for(|s| ready(*s)).await.map_err(|_| GateStopped)?;
        Ok(*s)
    }

    /// Every transition from now on.
    pub fn transitions(&self) -> broadcast::Receiver<Transition> {
        self.transitions.subscribe()
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Runner {
    controller: GateController,
    bus: BusHandle,
    setup: GateSetup,
    start: Instant,
    /// What the board was last told; `None`: unknown (everything is sent again).
    sent: Option<Signals>,
    state: watch::Sender<GateState>,
    transitions: broadcast::Sender<Transition>,
}

impl Runner {
    async fn run(mut self, mut events: mpsc::Receiver<BusEvent>, mut requests: mpsc::Receiver<Operator>) {
        let address = self.setup.io_address;
        if self.bus.status(address).is_some_and(|s| s.online) {
            self.online().await;
        }
        let mut tick = tokio::time::interval(self.setup.tick);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = events.recv() => {
                    let Some(event) = event else { return };
                    if event.address != address {
                        continue;
                    }
                    self.event(event.kind).await;
                }
                request = requests.recv() => {
                    let Some(request) = request else { return };
                    let input = match request {
                        Operator::Decide(d) => Input::Decision(d),
                        Operator::Reset => Input::OperatorReset,
                    };
                    self.input(input).await;
                }
                _ = tick.tick() => self.input(Input::Tick).await,
            }
        }
    }

    async fn event(&mut self, kind: EventKind) {
        match kind {
            EventKind::Online { .. } => self.online().await,
            EventKind::Offline | EventKind::SecureChannelFailed { .. } => {
                self.sent = None;
                self.input(Input::Offline).await;
            }
            EventKind::Inputs(image) => self.image(&image).await,
            EventKind::Local { tamper, .. } => self.input(Input::Tamper(tamper != 0)).await,
            _ => {}
        }
    }

    /// The board is (back) online: read its inputs and tamper contact, then tell it everything.
    async fn online(&mut self) {
        self.sent = None;
        self.input(Input::Online).await;
        let address = self.setup.io_address;
        match self.bus.command(address, Command::LStat).await {
            Ok(Reply::LStatR { tamper, .. }) => self.input(Input::Tamper(tamper != 0)).await,
            Ok(other) => tracing::warn!(address, reply = other.name(), "LSTAT: unexpected reply"),
            Err(e) => tracing::warn!(error = %e, "LSTAT failed"),
        }
        match self.bus.command(address, Command::IStat).await {
            Ok(Reply::IStatR(image)) => self.image(&image).await,
            Ok(other) => tracing::warn!(address, reply = other.name(), "ISTAT: unexpected reply"),
            Err(e) => tracing::warn!(error = %e, "ISTAT failed"),
        }
    }

    async fn image(&mut self, image: &[u8]) {
        if let Some(s) = Sensors::from_image(image) {
            self.input(Input::Sensors(s)).await;
        } else {
            tracing::warn!(
                inputs = image.len(),
                needed = Sensors::INPUTS,
                "I/O board reports fewer inputs than a gate has: image ignored"
            );
        }
    }

    async fn input(&mut self, input: Input) {
        let now = self.start.elapsed();
        let outcome = self.controller.handle(now, input);
        if outcome.ignored_decision {
            tracing::warn!("clearance decision with nobody being processed: ignored");
        }
        for t in outcome.transitions {
            let _ = self.transitions.send(t);
        }
        self.state.send_if_modified(|s| {
            let new = self.controller.state();
            let changed = *s != new;
            *s = new;
            changed
        });
        if self.controller.state() != GateState::OutOfService {
            self.apply().await;
        }
    }

    /// Sends what changed since the board was last told.
    async fn apply(&mut self) {
        let want = self.controller.signals();
        let had = self.sent;
        if had == Some(want) {
            return;
        }
        let address = self.setup.io_address;
        let reader = self.setup.reader;
        let level = |on: bool| {
            if on { output_control::PERMANENT_ON_ABORT_TIMED } else { output_control::PERMANENT_OFF_ABORT_TIMED }
        };
        let mut outs: Vec<OutputControl> = [
            (relay::ENTRY_FLAP, had.map(|h| h.entry_open), want.entry_open),
            (relay::EXIT_FLAP, had.map(|h| h.exit_open), want.exit_open),
            (relay::ALARM, had.map(|h| h.alarm), want.alarm),
        ]
        .into_iter()
        .filter(|&(_, was, now)| was != Some(now))
        .map(|(output, _, now)| OutputControl { output, control: level(now), timer: 0 })
        .collect();
        // Closing before opening: a flap asked to close goes first in the record list.
        outs.sort_by_key(|o| o.control != output_control::PERMANENT_OFF_ABORT_TIMED);
        let mut commands = Vec::new();
        if !outs.is_empty() {
            commands.push(Command::Out(outs));
        }
        if had.is_none_or(|h| h.light != want.light) {
            commands.push(Command::Led(vec![led(reader, want.light)]));
        }
        if had.is_none_or(|h| h.buzzer != want.buzzer) {
            commands.push(Command::Buz(buzzer(reader, want.buzzer)));
        }
        if had.is_none_or(|h| h.text != want.text) {
            commands.push(Command::Text(Text {
                reader,
                control: 1,
                temp_time: 0,
                row: 1,
                column: 1,
                text: want.text.as_bytes().to_vec(),
            }));
        }
        for command in commands {
            let name = command.name();
            if let Err(e) = self.bus.command(address, command).await {
                // Offline or lost: the bus reports it as an event; everything is sent again when it is back.
                tracing::warn!(error = %e, command = name, "gate I/O board did not take a command");
                self.sent = None;
                return;
            }
        }
        self.sent = Some(want);
    }
}

fn led(reader: u8, light: Light) -> LedControl {
    let (on_colour, off_colour, on_time, off_time) = match light {
        Light::Off => (colour::BLACK, colour::BLACK, 0, 0),
        Light::Green => (colour::GREEN, colour::GREEN, 1, 0),
        Light::Amber => (colour::AMBER, colour::AMBER, 1, 0),
        Light::Red => (colour::RED, colour::RED, 1, 0),
        // 500 ms on, 500 ms off.
        Light::RedFlashing => (colour::RED, colour::BLACK, 5, 5),
    };
    LedControl {
        reader,
        led: 0,
        temporary: LedTemporary { control: 1, on_time: 0, off_time: 0, on_colour: 0, off_colour: 0, timer: 0 },
        permanent: LedPermanent { control: 1, on_time, off_time, on_colour, off_colour },
    }
}

fn buzzer(reader: u8, buzz: Buzz) -> Buzzer {
    match buzz {
        Buzz::Silent => Buzzer { reader, tone: 1, on_time: 0, off_time: 0, count: 0 },
        // 300 ms once.
        Buzz::Short => Buzzer { reader, tone: 2, on_time: 3, off_time: 0, count: 1 },
        // 500 ms on, 500 ms off, until silenced.
        Buzz::Alarm => Buzzer { reader, tone: 2, on_time: 5, off_time: 5, count: 0 },
    }
}
