//! Travellers arriving at a border point and queueing for its gates: the arrival process of a day
//! ([`arrivals`]), a first-come-first-served queue in front of N identical gates ([`queue`]), and the sizing
//! question `khil plan gates` answers ([`plan`]): how many gates keep 95 % of travellers' queueing under five
//! minutes (the Frontex ABC guidelines' rule, citing IATA ADRM).
//!
//! Pure: times are seconds since the day's midnight (f64), randomness is a seeded ChaCha8, nothing reads a clock.

pub mod arrivals;
pub mod plan;
pub mod queue;

pub use arrivals::{ArrivalProfile, Component, Direction, Point, Surge};
pub use plan::{GatePlan, PlanRow, SizingRule, plan_gates};
pub use queue::{QueueRun, ServiceTimes, quantile, simulate};
