//! The border point's record store: one SQLite file per point holding its crossing records, its audit log and
//! (for the centre link) the versions it was sent and what the centre acknowledged.
//!
//! Durability: WAL with `synchronous=FULL`. In WAL mode `NORMAL` syncs only at checkpoints, so a committed
//! transaction survives the process being killed (the OS still has the pages) but not a power cut, which at a
//! remote land crossing is an expected event, not an accident. `FULL` fsyncs the WAL at every commit, so when
//! [`RecordStore::commit`] returns the record is on the disk and the flow may open the exit flap.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::audit::{self, AuditKind};
use super::canon::hex;
use super::record::{CrossingRecord, Outcome, StoredRecord};

/// `PRAGMA application_id`: "khil" in ASCII. Tells a khil record store from any other SQLite file.
pub const APPLICATION_ID: i32 = 0x6b68_696c;
/// `PRAGMA user_version`: the schema below.
pub const SCHEMA_VERSION: i32 = 1;

const SCHEMA: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
CREATE TABLE crossings (
    seq INTEGER PRIMARY KEY,
    point TEXT NOT NULL,
    gate TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('released', 'referred')),
    body TEXT NOT NULL,
    sha256 BLOB NOT NULL CHECK (length(sha256) = 32)
) STRICT;
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    kind TEXT NOT NULL,
    record_seq INTEGER UNIQUE,
    subject TEXT NOT NULL,
    prev_hash BLOB NOT NULL,
    hash BLOB NOT NULL
) STRICT;
-- Append-only: records and audit entries are never changed or removed through SQL. (Someone with the file can
-- still drop these triggers; the hash chain is what catches that, `khil records verify`.)
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER crossings_no_update BEFORE UPDATE ON crossings BEGIN SELECT RAISE(ABORT, 'crossing records are append-only'); END;
CREATE TRIGGER crossings_no_delete BEFORE DELETE ON crossings BEGIN SELECT RAISE(ABORT, 'crossing records are append-only'); END;
-- Rule-file and watchlist versions pulled from the centre; the newest of each kind is the one in force.
CREATE TABLE versions (
    kind TEXT NOT NULL CHECK (kind IN ('rules', 'watchlist')),
    version TEXT NOT NULL,
    body BLOB NOT NULL,
    sha256 BLOB NOT NULL,
    stored_ms INTEGER NOT NULL,
    PRIMARY KEY (kind, version)
) STRICT;
-- What each central database acknowledged (after its COMMIT): uploads resume after acked_seq.
CREATE TABLE uploads (central TEXT PRIMARY KEY, acked_seq INTEGER NOT NULL) STRICT;
";

/// A record store could not be opened or written; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("record store {}: {source}", path.display())]
    Sql { path: PathBuf, source: rusqlite::Error },
    #[error("record store {}: not a khil record store ({why})", path.display())]
    NotAStore { path: PathBuf, why: String },
    #[error("record store {}: schema version {found}, this khil knows {SCHEMA_VERSION}", path.display())]
    Version { path: PathBuf, found: i32 },
    #[error("record store {}: the integrity check failed: {report}", path.display())]
    Corrupt { path: PathBuf, report: String },
    #[error("record store {}: journal mode {mode}, not WAL (is it on a network file system?)", path.display())]
    Journal { path: PathBuf, mode: String },
    #[error("record store {}: it belongs to border point {store}, not {asked}", path.display())]
    OtherPoint { path: PathBuf, store: String, asked: String },
    #[error("record store {}: record {seq}: {why}", path.display())]
    BadRecord { path: PathBuf, seq: u64, why: String },
}

/// The record store of one border point.
#[derive(Debug)]
pub struct RecordStore {
    conn: Connection,
    path: PathBuf,
    point: String,
}

impl RecordStore {
    /// Opens the store of border point `point` at `path`, creating it when the file does not exist (or is empty).
    /// Refuses a file that is not a khil record store, a store of another point, and a store that fails
    /// SQLite's integrity check.
    pub fn open(path: &Path, point: &str) -> Result<RecordStore, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut store = Self::connect(path, flags)?;
        if store.is_blank()? {
            store.create(point)?;
        }
        store.check_schema()?;
        if store.point != point {
            return Err(StoreError::OtherPoint { path: store.path, store: store.point, asked: point.to_owned() });
        }
        Ok(store)
    }

    /// Opens an existing store (for verifying or uploading): a missing file is an error, never created.
    pub fn open_existing(path: &Path) -> Result<RecordStore, StoreError> {
        if !path.is_file() {
            return Err(StoreError::NotAStore { path: path.to_owned(), why: "no such file".into() });
        }
        let mut store = Self::connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        if store.is_blank()? {
            return Err(StoreError::NotAStore { path: path.to_owned(), why: "an empty database".into() });
        }
        store.check_schema()?;
        Ok(store)
    }

    fn connect(path: &Path, flags: OpenFlags) -> Result<RecordStore, StoreError> {
        let sql = |source| StoreError::Sql { path: path.to_owned(), source };
        let conn = Connection::open_with_flags(path, flags).map_err(sql)?;
        // The first read is where SQLite finds a file that is not a database at all.
        let application_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(|e| {
            if e.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
                StoreError::NotAStore { path: path.to_owned(), why: "not an SQLite database".into() }
            } else {
                sql(e)
            }
        })?;
        let store = RecordStore { conn, path: path.to_owned(), point: String::new() };
        if application_id != 0 && application_id != APPLICATION_ID {
            return Err(store.not_a_store(format!("SQLite application id {application_id:#x}")));
        }
        let journal: String =
            store.conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(sql)?;
        if !journal.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Journal { path: path.to_owned(), mode: journal });
        }
        store.conn.pragma_update(None, "synchronous", "FULL").map_err(sql)?;
        store.conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(sql)?;
        let report: Vec<String> = {
            let mut st = store.conn.prepare("PRAGMA integrity_check").map_err(sql)?;
            st.query_map([], |r| r.get(0)).map_err(sql)?.collect::<Result<_, _>>().map_err(sql)?
        };
        if report != ["ok"] {
            return Err(StoreError::Corrupt { path: path.to_owned(), report: report.join("; ") });
        }
        Ok(store)
    }

    fn not_a_store(&self, why: String) -> StoreError {
        StoreError::NotAStore { path: self.path.clone(), why }
    }

    pub(crate) fn sql(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sql { path: self.path.clone(), source }
    }

    fn is_blank(&self) -> Result<bool, StoreError> {
        let objects: i64 =
            self.conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0)).map_err(|e| self.sql(e))?;
        Ok(objects == 0)
    }

    fn create(&mut self, point: &str) -> Result<(), StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)
            .map_err(|source| StoreError::Sql { path: path.clone(), source })?;
        let created = (|| {
            tx.execute_batch(SCHEMA)?;
            tx.execute("INSERT INTO meta (key, value) VALUES ('point', ?1)", [point])?;
            // No clock here: the creation entry's time is 0; the first record carries the flow's time.
            audit::append(&tx, 0, AuditKind::Created, None, point)?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()
        })();
        created.map_err(|source| StoreError::Sql { path, source })
    }

    fn check_schema(&mut self) -> Result<(), StoreError> {
        let sql = |source| StoreError::Sql { path: self.path.clone(), source };
        let id: i32 = self.conn.pragma_query_value(None, "application_id", |r| r.get(0)).map_err(sql)?;
        if id != APPLICATION_ID {
            return Err(self.not_a_store("it has tables but no khil application id".into()));
        }
        let version: i32 = self.conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(sql)?;
        if version != SCHEMA_VERSION {
            return Err(StoreError::Version { path: self.path.clone(), found: version });
        }
        let point: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'point'", [], |r| r.get(0))
            .optional()
            .map_err(|e| self.sql(e))?;
        self.point = point.ok_or_else(|| self.not_a_store("no border point in its meta table".into()))?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The border point this store belongs to.
    pub fn point(&self) -> &str {
        &self.point
    }

    pub(crate) fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub(crate) fn conn_ref(&self) -> &Connection {
        &self.conn
    }

    /// Writes `record` and its audit entry in one transaction and returns its sequence number once the
    /// transaction is durable (fsynced). Refuses a record of another border point.
    pub fn commit(&mut self, record: &CrossingRecord) -> Result<u64, StoreError> {
        if record.point != self.point {
            return Err(StoreError::OtherPoint {
                path: self.path.clone(),
                store: self.point.clone(),
                asked: record.point.clone(),
            });
        }
        let path = self.path.clone();
        let sql = |source| StoreError::Sql { path: path.clone(), source };
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
        let last: i64 = tx.query_row("SELECT coalesce(max(seq), 0) FROM crossings", [], |r| r.get(0)).map_err(sql)?;
        let seq = last as u64 + 1;
        let hash = record.canonical_hash(seq);
        let outcome = record.decision.outcome;
        tx.execute(
            "INSERT INTO crossings (seq, point, gate, at_ms, outcome, body, sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![seq as i64, record.point, record.gate, record.at_ms, outcome.name(), record.to_json(), hash.as_slice()],
        )
        .map_err(sql)?;
        let kind = match outcome {
            Outcome::Released => AuditKind::Crossing,
            Outcome::Referred => AuditKind::Referral,
        };
        audit::append(&tx, record.at_ms, kind, Some(seq), &hex(&hash)).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(seq)
    }

    /// Number of records.
    pub fn count(&self) -> Result<u64, StoreError> {
        let n: i64 =
            self.conn.query_row("SELECT count(*) FROM crossings", [], |r| r.get(0)).map_err(|e| self.sql(e))?;
        Ok(n as u64)
    }

    /// The records with `seq > after`, in order, at most `limit`.
    pub fn records_after(&self, after: u64, limit: usize) -> Result<Vec<StoredRecord>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT seq, body, sha256 FROM crossings WHERE seq > ?1 ORDER BY seq LIMIT ?2")
            .map_err(|e| self.sql(e))?;
        let rows = st
            .query_map(params![after as i64, limit as i64], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?))
            })
            .map_err(|e| self.sql(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, body, sha) = row.map_err(|e| self.sql(e))?;
            let seq = seq as u64;
            let bad = |why: String| StoreError::BadRecord { path: self.path.clone(), seq, why };
            let record = CrossingRecord::from_json(&body).map_err(|e| bad(format!("unreadable body: {e}")))?;
            let sha256: [u8; 32] = sha.try_into().map_err(|_| bad("its hash is not 32 bytes".into()))?;
            out.push(StoredRecord { seq, record, sha256 });
        }
        Ok(out)
    }
}
