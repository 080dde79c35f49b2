//! The e-gate controller: the gate's own state machine ([`controller`], pure) and the task that runs it against
//! the gate's OSDP I/O board through khil's control panel ([`runner`]).

pub mod controller;
pub mod runner;

pub use controller::{
    AlarmCause, Buzz, ControllerConfig, Decision, GateController, GateState, Input, Light, Outcome, Sensors, Signals,
    Transition,
};
pub use runner::{Gate, GateSetup, GateStopped};
