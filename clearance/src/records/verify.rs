//! Checking a record store: the audit chain from its first entry, every record against the entry that logged it,
//! and no record without one. What `khil records verify` runs.

use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, params};

use super::audit::{AuditEntry, AuditKind, GENESIS};
use super::canon::hex;
use super::record::{CrossingRecord, Outcome};
use super::store::{RecordStore, StoreError};

/// A store that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub point: String,
    pub records: u64,
    pub referrals: u64,
    pub audit_entries: u64,
    /// The last audit entry's hash: what a centre that has seen the whole log can compare.
    pub head: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The first thing found wrong, in audit order.
    #[error("record store {}: {place}: {what}", path.display())]
    Broken { path: PathBuf, place: Place, what: String },
}

/// Where a store is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Audit(u64),
    Record(u64),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Audit(seq) => write!(f, "audit entry {seq}"),
            Place::Record(seq) => write!(f, "record {seq}"),
        }
    }
}

/// Verifies the store at `path` (which must exist and be a khil record store).
pub fn verify(path: &Path) -> Result<VerifyReport, VerifyError> {
    let mut store = RecordStore::open_existing(path)?;
    verify_store(&mut store)
}

pub fn verify_store(store: &mut RecordStore) -> Result<VerifyReport, VerifyError> {
    let path = store.path().to_owned();
    let point = store.point().to_owned();
    let sql = |source| VerifyError::Store(StoreError::Sql { path: path.clone(), source });
    let broken = |place, what: String| VerifyError::Broken { path: path.clone(), place, what };
    let conn = store.conn();
    // One read transaction: a gate committing meanwhile cannot make the walk see half of it.
    let tx = conn.transaction().map_err(sql)?;
    let entries = load_entries(&tx).map_err(sql)?;
    let mut prev = GENESIS.to_vec();
    let (mut records, mut referrals) = (0u64, 0u64);
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as u64 + 1;
        let at = Place::Audit(expected_seq);
        if e.seq != expected_seq {
            return Err(broken(at, format!("missing: the log goes from entry {} to entry {}", i, e.seq)));
        }
        if e.prev_hash != prev {
            return Err(broken(
                at,
                format!(
                    "prev_hash {} is not entry {}'s hash {} (an entry before it was changed, removed or moved)",
                    hex(&e.prev_hash),
                    i,
                    hex(&prev)
                ),
            ));
        }
        if e.hash != e.expected_hash(&prev) {
            return Err(broken(
                at,
                format!("its hash does not match its content (kind {}, subject {})", e.kind, e.subject),
            ));
        }
        let kind = AuditKind::parse(&e.kind).ok_or_else(|| broken(at, format!("unknown kind {:?}", e.kind)))?;
        match kind {
            AuditKind::Created if e.seq == 1 && e.subject == point => {}
            AuditKind::Created => {
                return Err(broken(at, format!("a creation entry for point {:?} in the store of {point}", e.subject)));
            }
            _ if e.seq == 1 => {
                return Err(broken(at, format!("the log starts with {:?}, not the store's creation", e.kind)));
            }
            AuditKind::Crossing | AuditKind::Referral => {
                let r = e.record_seq.ok_or_else(|| broken(at, "a record entry that names no record".into()))?;
                let outcome = check_record(&tx, r, &e.subject, &point).map_err(|why| match why {
                    RecordFault::Missing => broken(at, format!("it logs record {r}, which is missing")),
                    RecordFault::Bad(what) => broken(Place::Record(r), what),
                    RecordFault::Sql(e) => sql(e),
                })?;
                let expected = if kind == AuditKind::Crossing { Outcome::Released } else { Outcome::Referred };
                if outcome != expected {
                    return Err(broken(
                        Place::Record(r),
                        format!("its outcome is {}, its audit entry {} logged a {}", outcome.name(), e.seq, e.kind),
                    ));
                }
                records += 1;
                referrals += u64::from(outcome == Outcome::Referred);
            }
            AuditKind::Version => {
                check_version(&tx, &e.subject).map_err(|why| match why {
                    RecordFault::Sql(e) => sql(e),
                    RecordFault::Missing => broken(at, format!("it logs {:?}, which is not stored", e.subject)),
                    RecordFault::Bad(what) => broken(at, what),
                })?;
            }
        }
        prev.clone_from(&e.hash);
    }
    let unlogged: Option<i64> = tx
        .query_row(
            "SELECT seq FROM crossings WHERE seq NOT IN (SELECT record_seq FROM audit WHERE record_seq IS NOT NULL)
             ORDER BY seq LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql)?;
    if let Some(seq) = unlogged {
        return Err(broken(Place::Record(seq as u64), "no audit entry logs it".into()));
    }
    if entries.is_empty() {
        return Err(broken(Place::Audit(1), "missing: the audit log is empty".into()));
    }
    Ok(VerifyReport { point, records, referrals, audit_entries: entries.len() as u64, head: prev })
}

enum RecordFault {
    Missing,
    Bad(String),
    Sql(rusqlite::Error),
}

/// Checks record `seq` against the hash its audit entry logged; returns its outcome.
fn check_record(
    tx: &rusqlite::Transaction<'_>,
    seq: u64,
    logged_hex: &str,
    point: &str,
) -> Result<Outcome, RecordFault> {
    let row: Option<(String, String, i64, String, String, Vec<u8>)> = tx
        .query_row(
            "SELECT point, gate, at_ms, outcome, body, sha256 FROM crossings WHERE seq = ?1",
            params![seq as i64],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .optional()
        .map_err(RecordFault::Sql)?;
    let (row_point, gate, at_ms, outcome, body, stored) = row.ok_or(RecordFault::Missing)?;
    let bad = |s: String| Err(RecordFault::Bad(s));
    if hex(&stored) != logged_hex {
        return bad(format!("its stored hash {} is not the one its audit entry logged, {logged_hex}", hex(&stored)));
    }
    let record = match CrossingRecord::from_json(&body) {
        Ok(r) => r,
        Err(e) => return bad(format!("its body is not a crossing record ({e})")),
    };
    let actual = record.canonical_hash(seq);
    if actual.as_slice() != stored.as_slice() {
        return bad(format!(
            "its content does not match its hash (content hashes to {}, logged {logged_hex}): changed or moved",
            hex(&actual)
        ));
    }
    let columns = [
        ("point", row_point == record.point && record.point == point),
        ("gate", gate == record.gate),
        ("at_ms", at_ms == record.at_ms),
        ("outcome", outcome == record.decision.outcome.name()),
    ];
    if let Some((column, _)) = columns.iter().find(|(_, ok)| !ok) {
        return bad(format!("its {column} column disagrees with its body"));
    }
    Ok(record.decision.outcome)
}

/// Checks that the version an entry logged (`<kind> <version> sha256=<hex>`) is stored with that body.
fn check_version(tx: &rusqlite::Transaction<'_>, subject: &str) -> Result<(), RecordFault> {
    let mut parts = subject.splitn(3, ' ');
    let (Some(kind), Some(version), Some(sha)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(RecordFault::Bad(format!("its subject {subject:?} is not `<kind> <version> sha256=<hex>`")));
    };
    let body: Vec<u8> = tx
        .query_row("SELECT body FROM versions WHERE kind = ?1 AND version = ?2", params![kind, version], |r| r.get(0))
        .optional()
        .map_err(RecordFault::Sql)?
        .ok_or(RecordFault::Missing)?;
    let actual = format!("sha256={}", hex(&<sha2::Sha256 as sha2::Digest>::digest(&body)));
    if actual != sha {
        return Err(RecordFault::Bad(format!("the stored {kind} {version} hashes to {actual}, it logged {sha}")));
    }
    Ok(())
}

fn load_entries(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<Vec<AuditEntry>> {
    let mut st = tx.prepare("SELECT seq, at_ms, kind, record_seq, subject, prev_hash, hash FROM audit ORDER BY seq")?;
    st.query_map([], |r| {
        Ok(AuditEntry {
            seq: r.get::<_, i64>(0)? as u64,
            at_ms: r.get(1)?,
            kind: r.get(2)?,
            record_seq: r.get::<_, Option<i64>>(3)?.map(|s| s as u64),
            subject: r.get(4)?,
            prev_hash: r.get(5)?,
            hash: r.get(6)?,
        })
    })?
    .collect()
}
