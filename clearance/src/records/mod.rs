//! Crossing records at the border point: every crossing and referral is committed to the point's SQLite store
//! (WAL, fsynced at each commit) before the exit flap opens, together with an entry in an append-only,
//! hash-chained audit log in the same transaction; [`verify`] checks both.
//!
//! - [`record`]: what a record holds (no raw biometrics; Debug shows no names or document numbers);
//! - [`canon`]: the canonical byte encoding that record and audit hashes are computed over;
//! - [`audit`]: the audit chain;
//! - [`store`]: [`RecordStore`], opening (integrity check, schema version) and committing;
//! - [`sync`]: what the centre acknowledged, and the rule and watchlist versions pulled from it;
//! - [`verify`](mod@verify): walking the chain and the records.

pub mod audit;
pub mod canon;
pub mod record;
pub mod store;
pub mod sync;
pub mod verify;

pub use audit::{AuditEntry, AuditKind};
pub use record::{
    BiometricRecord, CrossingRecord, DecisionRecord, Direction, DocumentRecord, Outcome, ReasonRecord, StoredRecord,
    TravellerRecord,
};
pub use store::{RecordStore, StoreError};
pub use sync::{Version, VersionKind};
pub use verify::{Place, VerifyError, VerifyReport, verify};
