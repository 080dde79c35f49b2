//! The gate wired to its I/O board: a [`GateModel`] driven by, and reporting to, a simulated OSDP PD with the
//! `gate-io` profile.
//!
//! A tokio task, every `tick` (tokio's clock, so tests run on the paused clock): reads the PD's relays
//! ([`khil_sim_osdp::Pd::outputs`]) into the model; if the PD has executed a command since the last tick
//! ([`khil_sim_osdp::Pd::executed`]; a retransmission does not count) tells the model the controller was seen;
//! steps the model by the time that really passed; pushes every input that changed into the PD as a
//! [`PdEvent::Input`], which the PD queues for the controller's next POLL. The lamp the travellers see is the
//! PD's LED 0 (red when its permanent colour is red). The model is the truth: an input
//! changed at the PD by someone else is put back at the next tick.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use khil_osdp::command::colour::RED;
use khil_sim_osdp::{OsdpPd, PdEvent};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::model::{Behaviour, Flap, GateModel, Logged, TravellerId};

/// The bridge's default tick.
pub const DEFAULT_TICK: Duration = Duration::from_millis(50);

/// A running bridge. Dropping it stops the task.
#[derive(Debug)]
pub struct GateBridge {
    handle: GateHandle,
    task: JoinHandle<()>,
}

/// Reaches into a running gate: add travellers and faults, look at the model.
#[derive(Debug, Clone)]
pub struct GateHandle {
    model: Arc<Mutex<GateModel>>,
}

impl GateHandle {
    /// The model, locked: do not hold it across an `.await`.
    pub fn model(&self) -> MutexGuard<'_, GateModel> {
        self.model.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn add_traveller(&self, behaviour: Behaviour) -> TravellerId {
        self.model().add_traveller(behaviour)
    }

    pub fn obstruct(&self, flap: Flap) {
        self.model().obstruct(flap);
    }

    pub fn clear_obstruction(&self, flap: Flap) {
        self.model().clear_obstruction(flap);
    }

    pub fn power(&self, on: bool) {
        self.model().power(on);
    }

    pub fn drain_events(&self) -> Vec<Logged> {
        self.model().drain_events()
    }
}

impl GateBridge {
    /// Starts the bridge between `model` and `pd` (which should have the `gate-io` profile). The model's
    /// current inputs are pushed into the PD at once. Must be called inside a tokio runtime.
    pub fn spawn(model: GateModel, pd: Arc<OsdpPd>, tick: Duration) -> GateBridge {
        let handle = GateHandle { model: Arc::new(Mutex::new(model)) };
        let task = tokio::spawn(khil_sim_host::account::accounted("gate model", run(handle.clone(), pd, tick)));
        GateBridge { handle, task }
    }

    pub fn handle(&self) -> GateHandle {
        self.handle.clone()
    }

    /// Stops the task (as dropping the bridge does).
    pub fn stop(self) {
        self.task.abort();
    }
}

impl Drop for GateBridge {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn push_inputs(pd: &OsdpPd, inputs: [bool; khil_osdp::gate_io::input::NAMES.len()]) {
    let mut pd = pd.pd();
    for (n, on) in (0u8..).zip(inputs) {
        // The PD queues an event only for a change.
        pd.push(PdEvent::Input { n, on });
    }
}

async fn run(gate: GateHandle, pd: Arc<OsdpPd>, tick: Duration) {
    let mut seen = pd.pd().executed;
    let inputs = gate.model().inputs();
    push_inputs(&pd, inputs);
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
    interval.tick().await;
    let mut last = Instant::now();
    loop {
        interval.tick().await;
        let now = Instant::now();
        let dt = now - last;
        last = now;
        let (outputs, executed, red) = {
            let pd = pd.pd();
            // The lamp is LED 0 of the reader position; red in its permanent state (steady or flashing).
            let red = pd.indicators().leds.first().copied().flatten().is_some_and(|l| l.permanent.on_colour == RED);
            (pd.outputs().to_vec(), pd.executed, red)
        };
        let inputs = {
            let mut model = gate.model();
            model.set_outputs(&outputs);
            model.set_red_lamp(red);
            if executed != seen {
                seen = executed;
                model.controller_seen();
            }
            model.step(dt);
            model.inputs()
        };
        push_inputs(&pd, inputs);
    }
}
