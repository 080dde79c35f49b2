//! What the point keeps of its link to the centre: which records a central database acknowledged (after its
//! COMMIT), and the rule-file and watchlist versions it pulled from there.

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::audit::{self, AuditKind};
use super::canon::hex;
use super::store::{RecordStore, StoreError};

/// What a version is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionKind {
    Rules,
    Watchlist,
}

impl VersionKind {
    pub fn name(self) -> &'static str {
        match self {
            VersionKind::Rules => "rules",
            VersionKind::Watchlist => "watchlist",
        }
    }

    pub const ALL: [VersionKind; 2] = [VersionKind::Rules, VersionKind::Watchlist];
}

/// A rule file or watchlist as published at the centre.
#[derive(Clone, PartialEq, Eq)]
pub struct Version {
    pub kind: VersionKind,
    pub version: String,
    pub body: Vec<u8>,
}

impl std::fmt::Debug for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Watchlists hold names and document numbers: sizes only.
        write!(f, "Version({} {}, {} bytes)", self.kind.name(), self.version, self.body.len())
    }
}

impl RecordStore {
    /// The highest record seq that the central database `central` (its id) acknowledged; 0 if none.
    pub fn acked(&self, central: &str) -> Result<u64, StoreError> {
        let seq: Option<i64> = self
            .conn_ref()
            .query_row("SELECT acked_seq FROM uploads WHERE central = ?1", [central], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql(e))?;
        Ok(seq.map_or(0, |s| s as u64))
    }

    /// Marks records up to `seq` acknowledged by `central`; never moves the mark back.
    pub fn set_acked(&mut self, central: &str, seq: u64) -> Result<(), StoreError> {
        self.conn_ref()
            .execute(
                "INSERT INTO uploads (central, acked_seq) VALUES (?1, ?2)
                 ON CONFLICT (central) DO UPDATE SET acked_seq = max(acked_seq, excluded.acked_seq)",
                params![central, seq as i64],
            )
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Stores a version pulled from the centre (and logs it in the audit chain) unless it is already stored.
    /// Returns whether it was new.
    pub fn store_version(&mut self, v: &Version, at_ms: i64) -> Result<bool, StoreError> {
        let path = self.path().to_owned();
        let sql = |source| StoreError::Sql { path: path.clone(), source };
        let tx = self.conn().transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let sha: [u8; 32] = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&v.body)).into();
        let inserted = tx
            .execute(
                "INSERT OR IGNORE INTO versions (kind, version, body, sha256, stored_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![v.kind.name(), v.version, v.body, sha.as_slice(), at_ms],
            )
            .map_err(sql)?;
        if inserted == 1 {
            let subject = format!("{} {} sha256={}", v.kind.name(), v.version, hex(&sha));
            audit::append(&tx, at_ms, AuditKind::Version, None, &subject).map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        Ok(inserted == 1)
    }

    /// The version of `kind` in force: the last one stored.
    pub fn current_version(&self, kind: VersionKind) -> Result<Option<Version>, StoreError> {
        self.conn_ref()
            .query_row(
                "SELECT version, body FROM versions WHERE kind = ?1 ORDER BY stored_ms DESC, rowid DESC LIMIT 1",
                [kind.name()],
                |r| Ok(Version { kind, version: r.get(0)?, body: r.get(1)? }),
            )
            .optional()
            .map_err(|e| self.sql(e))
    }
}
