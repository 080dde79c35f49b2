//! `khil sim osdp-pd`: OSDP peripheral devices (PDs) that real control panels drive: an e-gate I/O board (flap
//! relays, alarm, presence and flap-closed inputs, tamper, a reader's LEDs, buzzer and text), a card reader and
//! a fingerprint reader. Every profile takes files by FILETRANSFER.
//!
//! - [`pd`]: the PD state machine: one decoded command in, one reply frame out (pure): sequence numbers (a
//!   repeated SQN gets the cached reply, never a second execution), NAK codes, the secure channel;
//! - [`profile`]: what each kind of PD has;
//! - [`bio`]: the fingerprint reader's sensor: synthetic fingers, ANSI/INCITS 378 templates, match scores;
//! - [`file`]: FILETRANSFER fragments in, FTSTAT out, the received file kept;
//! - [`faults`]: slow, lost, BUSY and corrupted replies, a forgotten secure session;
//! - [`state`]: the address and key kept over a power cycle (`--state FILE`);
//! - [`serve`]: the wire: link -> codec -> PD -> codec -> link, answering only its own address;
//! - [`sim`]: the one configuration of `khil sim osdp-pd` and `sim:osdp-pd?...`, and the console.

pub mod bio;
pub mod faults;
pub mod file;
pub mod pd;
pub mod profile;
pub mod serve;
pub mod sim;
pub mod state;

pub use bio::BioReader;
pub use faults::PdFault;
pub use file::ReceivedFile;
pub use pd::{MatchDecision, Pd, PdConfig, PdEvent, PdQuirk};
pub use profile::PdProfile;
pub use serve::{Multidrop, OsdpPd};
pub use sim::SIMULATOR;
pub use state::{PdStateFile, Persisted};
