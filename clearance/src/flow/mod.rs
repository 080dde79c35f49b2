//! The clearance flow at one gate (issue #15, item 1): a state machine over the devices' drivers only (OSDP gate,
//! document reader, chip over an APDU transport, ZFM scanner or OSDP bio reader), never a simulator's state.
//!
//! ```text
//!  admit (OSDP gate: entry flap, presence) -> [ page -> chip -> examine ]  ||  [ finger captures, quality ]
//!    -> 1:1 verification (DG3, or an enrolment) -> 1:N watchlist -> decide -> record (awaited)
//!    -> release (exit flap)  |  refer (entry flap, back to the officer's desk; the evidence goes with them)
//! ```
//!
//! - [`page`], [`chip`]: reading a page and turning an inspection into the examiner's chip data (shared with
//!   `khil document examine`);
//! - [`sensor`]: the fingerprint sensor, a ZFM module or a biometric reader PD on the gate's OSDP bus;
//! - [`finger`]: captures, quality check, retries, 1:1 verification;
//! - [`decide`]: [`RulesDecision`], the rules engine (`crate::rules`) behind [`Decide`];
//! - [`record`]: [`StoreSink`], the border point's record store (`crate::records`) behind [`RecordSink`];
//! - [`seams`]: what the flow calls and does not own: [`Decide`] (the rules engine), [`RecordSink`] (the record
//!   store), [`ReferenceSource`] (enrolments), [`Watchlist`];
//! - [`evidence`]: [`Evidence`], the timeline, [`Outcome`];
//! - [`devices`]: the drivers, connected on links the caller gives; [`run`]: [`GateFlow`].
//!
//! Invariants: no flap opens for a traveller before [`RecordSink::record`] returned; a crossing whose record
//! failed is a referral; a referral carries the traveller's whole [`Evidence`]; every step is timed on tokio's
//! clock, so on the paused clock the timeline is modelled device and walking time.

pub mod chip;
mod compute;
pub mod decide;
pub mod devices;
pub mod evidence;
pub mod finger;
pub mod page;
pub mod record;
pub mod run;
pub mod seams;
pub mod sensor;

pub use decide::{DecisionInForce, NothingKnown, PointContext, RulesDecision};
pub use devices::{DeviceLinks, DeviceSetup, Devices, SensorLink};
pub use evidence::{
    Device, DeviceFault, DocumentEvidence, Evidence, FingerAttempt, FingerEvidence, Outcome, ReferenceKind, Referral,
    Step, StepTime, Verdict, WatchlistHit,
};
pub use finger::FingerConfig;
pub use record::StoreSink;
pub use run::{FlowConfig, FlowError, GateFlow, Services};
pub use seams::{
    Decide, DocumentIdentity, Enrolment, NoEnrolments, RecordFuture, RecordSink, ReferenceSource, Watchlist,
};
// The searchers live with the watchlist file they are made from; the flow's users know them from here too.
pub use crate::watchlist::{BruteForceWatchlist, IndexedWatchlist};
pub use sensor::{FingerSensor, OsdpBioReader};
