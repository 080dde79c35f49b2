//! `khil sim fingerprint`: a ZFM-protocol fingerprint module (Grow R307, R503) that client libraries cannot
//! tell from the real one.
//!
//! - [`profile`]: the models (geometry, capacity, buffers, optional instructions);
//! - [`module`]: the state machine, one typed command in, one typed reply out (pure, no I/O);
//! - [`flash`]: library, password, address and parameters, persisted with `--state FILE`;
//! - [`charfile`]: the documented 512-byte character file (khil minutiae in ISO 19794-2 records);
//! - [`faults`]: checksum errors, lost data packets, hangs, busy, sensor errors, the power-on byte;
//! - [`quirks`]: mis-implementations (off-by-one pages, unpadded errors...) that the conformance suite must catch;
//! - [`serve`]: link -> codec -> module -> codec -> link;
//! - [`sim`]: the one configuration of `khil sim fingerprint` and `sim:fingerprint?...`, and the console.

pub mod charfile;
pub mod faults;
pub mod flash;
pub mod module;
pub mod profile;
pub mod quirks;
pub mod serve;
pub mod sim;

pub use faults::DeviceFault;
pub use khil_sim_population::{Fingers, Presence};
pub use profile::Profile;
pub use quirks::Quirk;
pub use serve::{SensorConfig, ZfmSensor};
pub use sim::SIMULATOR;
