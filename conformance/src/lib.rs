//! Conformance testing: test purposes (data plus a body), the ICS that says which apply, verdicts with evidence,
//! a runner that knows no device class, and reports (JSON, JUnit XML, self-contained HTML).
//!
//! A device class is a [`Suite`]; the first is [`suites::zfm`] (ZFM fingerprint modules). One purpose body runs
//! unchanged against a simulator or a vendor's device: only the device URL differs.

/// khil's version and the git commit it was built from (`0.1.0 (commit 1a2b3c4d5e6f)`), as reports and
/// `khil --version` state it.
pub const KHIL_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("KHIL_GIT_COMMIT"), ")");

pub mod catalogue;
pub mod ics;
pub mod operator;
pub mod purpose;
pub mod report;
pub mod runner;
pub mod suite;
pub mod suites;
pub mod verdict;

pub use ics::Ics;
pub use purpose::{Applicability, Ctx, Purpose, PurposeMeta, Stop};
pub use runner::{NotRun, Progress, Quiet, RunOptions, RunReport, RunVerdict, SignOff, run};
pub use suite::{Connector, Identity, Preflight, SetupError, Suite, check_declared};
pub use verdict::{Outcome, Verdict};
