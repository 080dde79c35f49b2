//! The physical e-gate: two flaps that take time to move, travellers walking through its zones, the sensors that
//! see them, and the gate's own safety logic (a flap never closes on a person; without power or without its
//! controller the gate goes to its fail-safe or fail-secure state).
//!
//! - [`model`]: the gate, pure and stepped by hand (no clock);
//! - [`bridge`]: the gate behind a simulated OSDP `gate-io` board ([`khil_sim_osdp::OsdpPd`]): relays in,
//!   sensor changes out as PD input events, on tokio's clock.

pub mod bridge;
pub mod model;
pub mod sim;

pub use bridge::{DEFAULT_TICK, GateBridge, GateHandle};
pub use model::{
    Behaviour, Event, FailMode, Flap, GateConfig, GateModel, GateStatus, Logged, TravellerId, TravellerView, Zone,
};
pub use sim::{SIMULATOR, SimGate};
