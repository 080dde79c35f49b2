//! The simulated border point's physical world at one gate (issue #15): the e-gate (`khil-sim-gate` behind its
//! OSDP `gate-io` board), the document reader (`khil-sim-docreader`), the reader's RF field with e-passport chips
//! (`khil-sim-mrtd`) and the ZFM fingerprint scanner (`khil-sim-fingerprint`), all in this process and seeded.
//! It hands the driver-side ends to whoever runs the gate ([`PointLinks`]) and plays travellers ([`Traveller`]):
//! one walks in, lays the document on the reader (the chip in the field with it), puts a finger on the scanner,
//! and walks out through the exit or back to the officer.
//!
//! The clearance flow never sees this crate: it gets links and transports, as it would from real hardware.
//!
//! - [`world`]: [`Point`], the devices stood up, and [`Point::walk`];
//! - [`traveller`]: who walks in and what they carry;
//! - [`field`]: the chip reader's RF field: chips laid in and taken out, and the air and chip time each APDU
//!   takes (the in-memory reader answers at once).

pub mod field;
pub mod traveller;
pub mod world;

pub use field::{ChipTiming, Field, TimedReader};
pub use traveller::{Papers, Traveller};
pub use world::{Point, PointConfig, PointLinks, SensorKind, SensorLinks, Walk, WalkEnd};
