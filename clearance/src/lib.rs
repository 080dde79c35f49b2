//! khil's clearance side: the e-gate controller ([`gate`]), the clearance flow at a gate over the devices'
//! drivers ([`flow`]), the decision rules ([`rules`]) and the border point's traffic and gate planning
//! ([`traffic`]).

pub mod flow;
pub mod gate;
pub mod rules;
pub mod traffic;
