//! The trainer's SQLite file: sessions, the cases shown (ground truth and the source's key to regenerate them;
//! never images or MRZs), the answers with their times, and the scores of finished sessions.
//!
//! WAL with `synchronous=FULL`: an answer is on disk when `record_answer` returns, before the page is sent the next
//! case, so a server that crashes loses no recorded answer. Times are passed in (Unix milliseconds).

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use super::case::ClassInfo;
use super::score::{Answer, Outcome, Score, Verdict, score};

/// Schema version in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    trainee TEXT NOT NULL,
    source TEXT NOT NULL,
    seed INTEGER NOT NULL,
    cases INTEGER NOT NULL,
    session_date TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER
);
CREATE TABLE classes (
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (session_id, name)
);
CREATE TABLE cases (
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    idx INTEGER NOT NULL,
    case_key TEXT NOT NULL,
    truth TEXT NOT NULL,
    shown_ms INTEGER NOT NULL,
    PRIMARY KEY (session_id, idx)
);
CREATE TABLE answers (
    session_id INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('genuine', 'forged')),
    defect TEXT,
    lights_viewed TEXT NOT NULL,
    answered_ms INTEGER NOT NULL,
    PRIMARY KEY (session_id, idx),
    FOREIGN KEY (session_id, idx) REFERENCES cases(session_id, idx)
);
CREATE TABLE scores (
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    class TEXT NOT NULL,
    shown INTEGER NOT NULL,
    answered INTEGER NOT NULL,
    decision_correct INTEGER NOT NULL,
    defect_correct INTEGER NOT NULL,
    mean_seconds REAL,
    PRIMARY KEY (session_id, class)
);
";

#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("training database {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("training database {path}: schema version {found}, this khil knows {SCHEMA_VERSION}")]
    Version { path: String, found: i64 },
    #[error("training database {path}: journal mode {mode}, not WAL (is it on a network file system?)")]
    Journal { path: String, mode: String },
    #[error("training database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("no training session {0} in the database")]
    NoSession(i64),
    #[error("the training database holds no session")]
    Empty,
    #[error("case {0} has not been shown")]
    NotShown(u32),
    #[error("case {0} is already answered")]
    AlreadyAnswered(u32),
}

/// A new session's settings.
#[derive(Debug, Clone)]
pub(crate) struct NewSession<'a> {
    pub(crate) trainee: &'a str,
    pub(crate) source: &'a str,
    pub(crate) seed: u64,
    pub(crate) cases: u32,
    pub(crate) date: String,
    pub(crate) classes: &'a [ClassInfo],
}

/// A session as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SessionRow {
    pub(crate) id: i64,
    pub(crate) trainee: String,
    pub(crate) source: String,
    /// Stored as SQLite's signed integer; the bits are the seed's.
    pub(crate) seed: u64,
    pub(crate) cases: u32,
    pub(crate) session_date: String,
    pub(crate) started: String,
    pub(crate) finished: Option<String>,
}

/// What `khil train report` prints and the page shows at the end.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Report {
    pub(crate) session: SessionRow,
    #[serde(flatten)]
    pub(crate) score: Score,
}

#[derive(Debug)]
pub(crate) struct Store {
    conn: Connection,
}

impl Store {
    pub(crate) fn open(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let open_err = |source| StoreError::Open { path: shown.clone(), source };
        let conn = Connection::open(path).map_err(open_err)?;
        let journal: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).map_err(open_err)?;
        if !journal.eq_ignore_ascii_case("wal") {
            // Answers must survive a crash; a file system without WAL support (some network mounts) is said so.
            return Err(StoreError::Journal { path: shown, mode: journal });
        }
        conn.pragma_update(None, "synchronous", "FULL").map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(open_err)?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(open_err)?;
        match version {
            0 => {
                conn.execute_batch(&format!("BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"))
                    .map_err(open_err)?;
            }
            SCHEMA_VERSION => {}
            found => return Err(StoreError::Version { path: shown, found }),
        }
        Ok(Store { conn })
    }

    pub(crate) fn create_session(&mut self, new: &NewSession<'_>, now_ms: i64) -> Result<i64, StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO sessions (trainee, source, seed, cases, session_date, started_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![new.trainee, new.source, new.seed as i64, new.cases, new.date, now_ms],
        )?;
        let id = tx.last_insert_rowid();
        for (position, class) in new.classes.iter().enumerate() {
            tx.execute(
                "INSERT INTO classes (session_id, position, name, label) VALUES (?1, ?2, ?3, ?4)",
                params![id, position as i64, class.name, class.label],
            )?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// Records that case `index` was shown, once: a second call (a page reload) keeps the first time. Returns the
    /// time it was first shown.
    pub(crate) fn record_shown(
        &mut self,
        session: i64,
        index: u32,
        key: &str,
        truth: &str,
        now_ms: i64,
    ) -> Result<i64, StoreError> {
        self.conn.execute(
            "INSERT OR IGNORE INTO cases (session_id, idx, case_key, truth, shown_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![session, index, key, truth, now_ms],
        )?;
        Ok(self.conn.query_row(
            "SELECT shown_ms FROM cases WHERE session_id = ?1 AND idx = ?2",
            params![session, index],
            |r| r.get(0),
        )?)
    }

    /// Records the answer to a shown case; committed (and synced) on return.
    pub(crate) fn record_answer(
        &mut self,
        session: i64,
        index: u32,
        verdict: Verdict,
        defect: Option<&str>,
        lights_viewed: &[String],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        let shown: Option<i64> = tx
            .query_row("SELECT 1 FROM cases WHERE session_id = ?1 AND idx = ?2", params![session, index], |r| r.get(0))
            .optional()?;
        if shown.is_none() {
            return Err(StoreError::NotShown(index));
        }
        let inserted = tx.execute(
            "INSERT OR IGNORE INTO answers (session_id, idx, verdict, defect, lights_viewed, answered_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![session, index, verdict.name(), defect, lights_viewed.join(","), now_ms],
        )?;
        if inserted == 0 {
            return Err(StoreError::AlreadyAnswered(index));
        }
        tx.commit()?;
        Ok(())
    }

    /// How many cases of `session` are answered.
    pub(crate) fn answered(&self, session: i64) -> Result<u32, StoreError> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM answers WHERE session_id = ?1", [session], |r| r.get(0))?)
    }

    /// Scores the session and keeps the scores with its end time.
    pub(crate) fn finish(&mut self, session: i64, now_ms: i64) -> Result<Report, StoreError> {
        let report = self.report(session)?;
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM scores WHERE session_id = ?1", [session])?;
        for c in &report.score.classes {
            let t = &c.tally;
            tx.execute(
                "INSERT INTO scores (session_id, class, shown, answered, decision_correct, defect_correct, mean_seconds)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![session, c.class, t.shown, t.answered, t.decision_correct, t.defect_correct, t.mean_seconds],
            )?;
        }
        tx.execute(
            "UPDATE sessions SET finished_ms = ?2 WHERE id = ?1 AND finished_ms IS NULL",
            params![session, now_ms],
        )?;
        tx.commit()?;
        self.report(session)
    }

    /// The newest session's id.
    pub(crate) fn latest_session(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT MAX(id) FROM sessions", [], |r| r.get::<_, Option<i64>>(0))?
            .ok_or(StoreError::Empty)
    }

    pub(crate) fn session(&self, id: i64) -> Result<SessionRow, StoreError> {
        self.conn
            .query_row(
                "SELECT id, trainee, source, seed, cases, session_date, started_ms, finished_ms
                 FROM sessions WHERE id = ?1",
                [id],
                |r| {
                    Ok(SessionRow {
                        id: r.get(0)?,
                        trainee: r.get(1)?,
                        source: r.get(2)?,
                        seed: r.get::<_, i64>(3)? as u64,
                        cases: r.get(4)?,
                        session_date: r.get(5)?,
                        started: rfc3339(r.get(6)?),
                        finished: r.get::<_, Option<i64>>(7)?.map(rfc3339),
                    })
                },
            )
            .optional()?
            .ok_or(StoreError::NoSession(id))
    }

    /// The session scored from its stored cases and answers.
    pub(crate) fn report(&self, id: i64) -> Result<Report, StoreError> {
        let session = self.session(id)?;
        let mut stmt = self.conn.prepare("SELECT name, label FROM classes WHERE session_id = ?1 ORDER BY position")?;
        let classes = stmt
            .query_map([id], |r| Ok(ClassInfo { name: r.get(0)?, label: r.get(1)? }))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt = self.conn.prepare(
            "SELECT c.idx, c.truth, c.shown_ms, a.verdict, a.defect, a.answered_ms, a.lights_viewed FROM cases c
             LEFT JOIN answers a ON a.session_id = c.session_id AND a.idx = c.idx
             WHERE c.session_id = ?1 ORDER BY c.idx",
        )?;
        let outcomes = stmt
            .query_map([id], |r| {
                let shown: i64 = r.get(2)?;
                let verdict: Option<String> = r.get(3)?;
                let answer = match (verdict.as_deref().and_then(Verdict::from_name), r.get::<_, Option<i64>>(5)?) {
                    (Some(verdict), Some(at)) => {
                        let lights: String = r.get(6)?;
                        let lights_viewed = lights.split(',').filter(|l| !l.is_empty()).map(str::to_owned).collect();
                        Some(Answer { verdict, defect: r.get(4)?, millis: at - shown, lights_viewed })
                    }
                    _ => None,
                };
                Ok(Outcome { index: r.get(0)?, truth: r.get(1)?, answer })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Report { session, score: score(&classes, &outcomes) })
    }
}

/// Unix milliseconds as `2026-12-06T23:05:38Z`.
pub(crate) fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let date = khil_mrtd::mrz::CivilDate::from_days_since_epoch(days).map_or_else(|| "?".to_owned(), |d| d.to_string());
    format!("{date}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::case::GENUINE;

    fn classes() -> Vec<ClassInfo> {
        vec![ClassInfo::new(GENUINE, "Genuine"), ClassInfo::new("expired", "Expired")]
    }

    fn new_session(classes: &[ClassInfo]) -> NewSession<'_> {
        NewSession {
            trainee: "A. Officer",
            source: "test",
            seed: u64::MAX,
            cases: 3,
            date: "2026-12-06".into(),
            classes,
        }
    }

    #[test]
    fn answers_survive_a_reopen_and_are_scored() {
        let dir = khil_test_support::temp_dir("train-store");
        let path = dir.join("train.db");
        let classes = classes();
        let id = {
            let mut store = Store::open(&path).unwrap();
            let id = store.create_session(&new_session(&classes), 1_000).unwrap();
            assert_eq!(store.record_shown(id, 0, "document=1", GENUINE, 2_000).unwrap(), 2_000);
            // A reload shows the case again: the first time stands.
            assert_eq!(store.record_shown(id, 0, "document=1", GENUINE, 2_500).unwrap(), 2_000);
            let lights = ["white".to_owned(), "ultraviolet".to_owned()];
            store.record_answer(id, 0, Verdict::Genuine, None, &lights, 5_000).unwrap();
            store.record_shown(id, 1, "document=2", "expired", 6_000).unwrap();
            store.record_answer(id, 1, Verdict::Forged, Some("genuine"), &[], 7_000).unwrap();
            store.record_shown(id, 2, "document=3", "expired", 8_000).unwrap();
            id
            // Dropped without finishing, as a crashed server would leave it.
        };
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.latest_session().unwrap(), id);
        assert_eq!(store.answered(id).unwrap(), 2);
        let report = store.report(id).unwrap();
        assert_eq!(report.session.seed, u64::MAX);
        assert_eq!(report.session.started, "1970-01-01T00:00:01Z");
        assert_eq!(report.session.finished, None);
        assert_eq!((report.score.overall.shown, report.score.overall.answered), (3, 2));
        assert_eq!((report.score.overall.decision_correct, report.score.overall.defect_correct), (2, 1));
        assert_eq!(report.score.cases[0].seconds, Some(3.0));
        assert_eq!(report.score.cases[0].lights_viewed, ["white", "ultraviolet"]);
        assert!(report.score.cases[1].lights_viewed.is_empty());
        let finished = store.finish(id, 90_000).unwrap();
        assert_eq!(finished.session.finished.as_deref(), Some("1970-01-01T00:01:30Z"));
        assert_eq!(finished.score, report.score);
        let kept: Vec<(String, u32, u32)> = store
            .conn
            .prepare("SELECT class, shown, defect_correct FROM scores WHERE session_id = ?1 ORDER BY class")
            .unwrap()
            .query_map([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(kept, [("expired".to_owned(), 2, 0), (GENUINE.to_owned(), 1, 1)]);
    }

    #[test]
    fn answers_need_a_shown_case_and_count_once() {
        let dir = khil_test_support::temp_dir("train-store");
        let mut store = Store::open(&dir.join("train.db")).unwrap();
        let classes = classes();
        let id = store.create_session(&new_session(&classes), 0).unwrap();
        assert!(matches!(store.record_answer(id, 0, Verdict::Genuine, None, &[], 1), Err(StoreError::NotShown(0))));
        store.record_shown(id, 0, "k", GENUINE, 1).unwrap();
        store.record_answer(id, 0, Verdict::Genuine, None, &[], 2).unwrap();
        let again = store.record_answer(id, 0, Verdict::Forged, Some("expired"), &[], 3);
        assert!(matches!(again, Err(StoreError::AlreadyAnswered(0))), "{again:?}");
        assert_eq!(store.report(id).unwrap().score.cases[0].verdict, Some(Verdict::Genuine));
        assert!(matches!(store.session(id + 1), Err(StoreError::NoSession(_))));
    }

    #[test]
    fn an_empty_or_foreign_database_is_refused_with_its_name() {
        let dir = khil_test_support::temp_dir("train-store");
        let store = Store::open(&dir.join("empty.db")).unwrap();
        assert!(matches!(store.latest_session(), Err(StoreError::Empty)));
        let other = dir.join("other.db");
        Connection::open(&other).unwrap().execute_batch("PRAGMA user_version = 7;").unwrap();
        let err = Store::open(&other).unwrap_err().to_string();
        assert!(err.contains("other.db") && err.contains("schema version 7"), "{err}");
    }
}
