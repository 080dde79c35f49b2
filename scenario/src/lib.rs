//! Scenarios at a simulated border point (issue #15): a scenario file says which point, gates, devices and faults,
//! who arrives when, and what must come out; the runner plays it on tokio's paused clock with every device
//! simulated over its real protocol; outcomes.json, the point's SQLite store and report.html are what it leaves.
//!
//! - [`model`]: the scenario as validated, and a run's results;
//! - [`file`]: `scenarios/*.toml` read and validated (errors name file, line, column and field);
//! - [`run`]: the border point of N gates and an officers' desk, travellers arriving and queueing;
//! - [`registry`]: the national registry's fingerprint enrolments of citizens (the reference without DG3);
//! - [`registry`] also holds foreigners' entry and visa enrolments;
//! - [`central`]: the point's uploads to the central database during a run, through a link that incidents cut;
//! - [`updates`]: rule files and watchlists the centre publishes during a run, put in force at the point;
//! - [`expect`]: a run's results held against the scenario's expectations;
//! - [`report`]: the self-contained HTML report.
//!
//! This crate ties the clearance flow (`khil-clearance`, which knows drivers only) to the simulated world
//! (`khil-sim-point`): the flow never learns it is simulated.

pub mod central;
pub mod expect;
pub mod file;
pub mod model;
pub mod registry;
pub mod report;
pub mod run;
pub mod updates;

pub use model::*;
