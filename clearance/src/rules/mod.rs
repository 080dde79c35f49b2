//! Clearance decision rules: a TOML rule file ([`Rules::load`], refused whole with file, line, column and field
//! when anything in it is wrong) evaluated on a traveller's [`Facts`] ([`Rules::decide`]) into a [`Verdict`]
//! whose every finding, passed or fired, names its rule and the rule's line.
//!
//! Pure: no I/O but reading the file, no clock (the day is passed in). The flow maps its devices' evidence onto
//! [`Facts`]; nothing here knows a driver. The shipped defaults are `scenarios/rules/mongolia.toml`.
//!
//! - `model.rs`: facts and verdicts.
//! - `config.rs`: a validated rule file.
//! - `file.rs`: the TOML format and its validation; `error.rs`: errors and line numbers.
//! - `decide.rs`: evaluation.
//! - `nationality.rs`: the nationality codes MRZs use.

mod config;
mod decide;
mod error;
mod file;
mod model;
mod nationality;

pub use config::{Rule, Rules};
pub use error::{ErrorKind, RulesError};
pub use model::{
    Action, ActionKind, Ban, BanMatch, Biometric, Chip, Companion, DeviceClass, DeviceStatus, Direction, Document,
    DocumentKind, Examination, Facts, HitClass, Outcome, Priority, Reason, Stay, Traveller, Verdict, Visa, VisaKind,
    WatchlistSearch,
};
