//! khil's clearance side: the e-gate controller ([`gate`]) and the clearance flow at a gate ([`flow`]); decision
//! rules, crossing records and the scenario runner come next.

pub mod flow;
pub mod gate;
