//! Examination of travel documents as a full-page reader returns them (issue #14): the page's captures under
//! white, infrared and ultraviolet light, the MRZ and VIZ as read, and optionally the chip's DG1, DG2 and
//! authentication outcome.
//!
//! The examination follows ICAO 9303-2 Appendix C: per document model (country, type, number, year) a template
//! of check routines (light, property, location) with regions ([`model`]); the model-independent routines
//! (UV,BR,FU) and (IR,AB,MR) run for every document, also when the model is unknown. The page is located in the
//! capture first (shift, rotation, margins). Data checks: MRZ structure and check digits (khil_mrtd::mrz), MRZ
//! against VIZ, MRZ against the chip's DG1, the page portrait against DG2 (image similarity, **not** face
//! recognition), chip authentication, the lost/stolen list and the validity dates. Every check reports
//! pass / fail / unable (9303-2 C.33) with its measured value, threshold and region ([`report`]).
//!
//! Pure logic: no I/O, no clock (the day is passed in); never panics on any input.
//!
//! - [`input`]: the document as read ([`Document`], [`Captures`], [`ChipData`]), the [`StopList`].
//! - [`model`]: document models and routines.
//! - [`report`]: checks, states, regions, the [`Decision`].
//! - [`thresholds`]: every threshold and where it came from.

mod examine;
pub mod input;
mod locate;
pub mod model;
pub mod report;
pub mod thresholds;

pub use examine::Examiner;
pub use input::{Authentication, Capture, Captures, ChipData, Document, StopList};
pub use model::{DocumentModel, Location, ModelKey, Models, Property, RectMm, Routine, RoutineLight};
pub use report::{Check, CheckId, CheckState, Decision, Placement, Region, Relation, Report, Threshold};
