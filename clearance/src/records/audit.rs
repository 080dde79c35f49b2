//! The audit log: an append-only hash chain in the record store, written in the same transaction as what it
//! records, holding ids and hashes only (no MRZ, names or biometrics).
//!
//! Entry `n` has `hash = SHA-256(prev_hash ‖ canonical(n))` where `prev_hash` is entry `n-1`'s hash (32 zero bytes
//! for entry 1) and `canonical(n)` is the `canon` encoding of: the tag `khil-audit-v1`, seq (u64), at_ms (i64),
//! kind (string), record seq (optional u64), subject (string). Changing, removing or reordering any entry
//! changes every later hash.

use rusqlite::{OptionalExtension, Transaction, params};

use super::canon::Canon;

/// The hash entry 1 chains from.
pub const GENESIS: [u8; 32] = [0; 32];

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    /// A store was created for a border point (subject: the point id).
    Created,
    /// A released traveller's record (subject: the record's SHA-256, hex).
    Crossing,
    /// A referral's record (subject: the record's SHA-256, hex).
    Referral,
    /// A rule file or watchlist version was stored (subject: `<what> <version> sha256=<hex>`).
    Version,
}

impl AuditKind {
    pub fn name(self) -> &'static str {
        match self {
            AuditKind::Created => "created",
            AuditKind::Crossing => "crossing",
            AuditKind::Referral => "referral",
            AuditKind::Version => "version",
        }
    }

    pub fn parse(s: &str) -> Option<AuditKind> {
        [AuditKind::Created, AuditKind::Crossing, AuditKind::Referral, AuditKind::Version]
            .into_iter()
            .find(|k| k.name() == s)
    }
}

/// One audit entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub seq: u64,
    pub at_ms: i64,
    pub kind: String,
    pub record_seq: Option<u64>,
    pub subject: String,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

impl AuditEntry {
    /// The hash this entry should have after `prev_hash`.
    pub fn expected_hash(&self, prev_hash: &[u8]) -> [u8; 32] {
        entry_hash(prev_hash, self.seq, self.at_ms, &self.kind, self.record_seq, &self.subject)
    }
}

pub(crate) fn entry_hash(
    prev_hash: &[u8],
    seq: u64,
    at_ms: i64,
    kind: &str,
    record_seq: Option<u64>,
    subject: &str,
) -> [u8; 32] {
    let mut c = Canon::default();
    c.raw(prev_hash).str("khil-audit-v1").u64(seq).i64(at_ms).str(kind).present(record_seq.is_some());
    if let Some(r) = record_seq {
        c.u64(r);
    }
    c.str(subject);
    c.sha256()
}

/// Appends an entry inside `tx`; returns its seq.
pub(crate) fn append(
    tx: &Transaction<'_>,
    at_ms: i64,
    kind: AuditKind,
    record_seq: Option<u64>,
    subject: &str,
) -> rusqlite::Result<u64> {
    let last: Option<(i64, Vec<u8>)> = tx
        .query_row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev) = match last {
        Some((s, h)) => (s as u64 + 1, h),
        None => (1, GENESIS.to_vec()),
    };
    let hash = entry_hash(&prev, seq, at_ms, kind.name(), record_seq, subject);
    tx.execute(
        "INSERT INTO audit (seq, at_ms, kind, record_seq, subject, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![seq as i64, at_ms, kind.name(), record_seq.map(|s| s as i64), subject, prev, hash.as_slice()],
    )?;
    Ok(seq)
}
