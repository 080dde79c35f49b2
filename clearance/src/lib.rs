//! khil's clearance side: today the e-gate controller ([`gate`]); the clearance flow, decision rules, crossing
//! records and scenario runner come next (see the crate's README).

pub mod central;
pub mod gate;
pub mod records;
