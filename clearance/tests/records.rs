//! The border point's record store: commits, refusals, and `verify` catching each kind of tampering by name.

#[path = "records_support/mod.rs"]
mod support;

use std::path::Path;

use khil_clearance::records::{
    CrossingRecord, Outcome, Place, RecordStore, StoreError, VerifyError, canon::hex, verify,
};
use khil_test_support::temp_file;
use rusqlite::Connection;
use support::{POINT, sample};

/// A store with `n` records (audit entry 1 is the creation, entry k+1 logs record k).
fn store_with(path: &Path, n: u64) {
    let mut store = RecordStore::open(path, POINT).unwrap();
    for i in 1..=n {
        assert_eq!(store.commit(&sample(i)).unwrap(), i);
    }
}

/// Raw access to the file, as someone with the disk would have, with the append-only triggers dropped.
fn tamper(path: &Path, sql: &str) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;
         DROP TRIGGER crossings_no_update; DROP TRIGGER crossings_no_delete;",
    )
    .unwrap();
    conn.execute_batch(sql).unwrap();
}

fn broken_at(path: &Path) -> (Place, String) {
    match verify(path) {
        Err(VerifyError::Broken { path: p, place, what }) => {
            assert_eq!(p, path);
            (place, what)
        }
        other => panic!("expected a broken store, got {other:?}"),
    }
}

#[test]
fn committed_records_read_back_and_verify() {
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 12);
    let store = RecordStore::open(&path, POINT).unwrap();
    assert_eq!(store.count().unwrap(), 12);
    let back = store.records_after(3, 4).unwrap();
    assert_eq!(back.iter().map(|r| r.seq).collect::<Vec<_>>(), [4, 5, 6, 7]);
    for r in &back {
        assert_eq!(r.record, sample(r.seq));
        assert_eq!(r.sha256, sample(r.seq).canonical_hash(r.seq));
    }
    let report = verify(&path).unwrap();
    assert_eq!((report.records, report.referrals, report.audit_entries), (12, 2, 13));
    assert_eq!(report.point, POINT);
}

/// Scores are f32 matcher scores widened to f64: their shortest decimal spelling in the JSON body must read back
/// to the very bits the hash was computed over (a gate's first real records broke the chain before
/// serde_json's `float_roundtrip`). Proptest-style sweep over many such scores.
#[test]
fn records_with_any_widened_f32_score_verify() {
    let (_dir, path) = temp_file("records", "point.db");
    let mut store = RecordStore::open(&path, POINT).unwrap();
    let mut x: u32 = 0x3ede_9a2b;
    for i in 1..=300u64 {
        // A spread of f32 values in the matcher's range (0 to ~60), every mantissa pattern alike.
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let score = f64::from(f32::from_bits(0x3c00_0000 + (x >> 6)));
        let mut record = sample(i);
        if let Some(b) = record.biometric.as_mut() {
            b.score = score;
        }
        store.commit(&record).unwrap();
    }
    drop(store);
    let report = verify(&path).unwrap();
    assert_eq!(report.records, 300);
}

#[test]
fn sql_cannot_update_or_delete_records_or_audit_entries() {
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 2);
    let conn = Connection::open(&path).unwrap();
    for sql in [
        "UPDATE audit SET subject = 'x' WHERE seq = 2",
        "DELETE FROM audit WHERE seq = 3",
        "UPDATE crossings SET gate = 'G99' WHERE seq = 1",
        "DELETE FROM crossings",
    ] {
        let err = conn.execute_batch(sql).unwrap_err().to_string();
        assert!(err.contains("append-only"), "{sql}: {err}");
    }
    verify(&path).unwrap();
}

#[test]
fn a_changed_record_is_caught_and_named() {
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 5);
    tamper(&path, "UPDATE crossings SET body = replace(body, 'E00001003', 'E00009999') WHERE seq = 3");
    let (place, what) = broken_at(&path);
    assert_eq!(place, Place::Record(3));
    assert!(what.contains("content does not match its hash"), "{what}");
}

#[test]
fn a_changed_record_with_a_recomputed_hash_is_caught_by_its_audit_entry() {
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 5);
    // Record 4 is a referral; the forgery turns it into a clean release and rehashes it.
    let mut forged: CrossingRecord = sample(4);
    assert_eq!(forged.decision.outcome, Outcome::Referred);
    forged.decision.reasons.clear();
    forged.decision.outcome = Outcome::Released;
    let sha = hex(&forged.canonical_hash(4));
    tamper(
        &path,
        &format!(
            "UPDATE crossings SET outcome = 'released', body = '{}', sha256 = x'{sha}' WHERE seq = 4",
            forged.to_json().replace('\'', "''")
        ),
    );
    let (place, what) = broken_at(&path);
    assert_eq!(place, Place::Record(4));
    assert!(what.contains("is not the one its audit entry logged"), "{what}");
}

#[test]
fn a_key_column_that_disagrees_with_the_body_is_caught() {
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 3);
    tamper(&path, "UPDATE crossings SET gate = 'G99' WHERE seq = 2");
    let (place, what) = broken_at(&path);
    assert_eq!(place, Place::Record(2));
    assert!(what.contains("gate column"), "{what}");
}

#[test]
fn a_changed_audit_entry_is_caught_and_named() {
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 5);
    tamper(&path, "UPDATE audit SET at_ms = at_ms + 1 WHERE seq = 4");
    let (place, what) = broken_at(&path);
    assert_eq!(place, Place::Audit(4));
    assert!(what.contains("hash does not match its content"), "{what}");
}

#[test]
fn a_changed_audit_entry_with_a_recomputed_hash_breaks_the_next_link() {
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 5);
    let conn = Connection::open(&path).unwrap();
    let (prev, at_ms, subject): (Vec<u8>, i64, String) = conn
        .query_row("SELECT prev_hash, at_ms, subject FROM audit WHERE seq = 4", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    drop(conn);
    let entry = khil_clearance::records::AuditEntry {
        seq: 4,
        at_ms: at_ms + 1,
        kind: "crossing".into(),
        record_seq: Some(3),
        subject,
        prev_hash: prev.clone(),
        hash: Vec::new(),
    };
    let rehashed = hex(&entry.expected_hash(&prev));
    tamper(&path, &format!("UPDATE audit SET at_ms = at_ms + 1, hash = x'{rehashed}' WHERE seq = 4"));
    let (place, what) = broken_at(&path);
    assert_eq!(place, Place::Audit(5));
    assert!(what.contains("is not entry 4's hash"), "{what}");
}

#[test]
fn a_deleted_record_is_caught_and_named() {
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 5);
    tamper(&path, "DELETE FROM crossings WHERE seq = 2");
    let (place, what) = broken_at(&path);
    assert_eq!(place, Place::Audit(3));
    assert!(what.contains("logs record 2, which is missing"), "{what}");
}

#[test]
fn a_deleted_audit_entry_is_caught_and_named() {
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 5);
    tamper(&path, "DELETE FROM audit WHERE seq = 3");
    let (place, what) = broken_at(&path);
    assert_eq!(place, Place::Audit(3));
    assert!(what.contains("missing: the log goes from entry 2 to entry 4"), "{what}");
}

#[test]
fn a_record_and_its_entry_deleted_together_break_the_chain() {
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 5);
    tamper(
        &path,
        "DELETE FROM crossings WHERE seq = 2; DELETE FROM audit WHERE seq = 3;
         UPDATE audit SET seq = seq - 1 WHERE seq > 3;",
    );
    let (place, what) = broken_at(&path);
    assert_eq!(place, Place::Audit(3));
    assert!(what.contains("is not entry 2's hash"), "{what}");
}

#[test]
fn reordered_audit_entries_are_caught_and_named() {
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 5);
    tamper(
        &path,
        "UPDATE audit SET seq = -1 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = -1;",
    );
    let (place, what) = broken_at(&path);
    assert_eq!(place, Place::Audit(2));
    assert!(what.contains("prev_hash"), "{what}");
}

#[test]
fn reordered_records_are_caught_and_named() {
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 5);
    tamper(
        &path,
        "UPDATE crossings SET seq = -1 WHERE seq = 1; UPDATE crossings SET seq = 1 WHERE seq = 2;
         UPDATE crossings SET seq = 2 WHERE seq = -1;",
    );
    let (place, what) = broken_at(&path);
    assert_eq!(place, Place::Record(1));
    assert!(what.contains("stored hash"), "{what}");
}

#[test]
fn a_record_without_an_audit_entry_is_caught() {
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 3);
    let extra = sample(4);
    let sha = hex(&extra.canonical_hash(4));
    tamper(
        &path,
        &format!(
            "INSERT INTO crossings (seq, point, gate, at_ms, outcome, body, sha256)
             VALUES (4, '{POINT}', '{}', {}, 'released', '{}', x'{sha}')",
            extra.gate,
            extra.at_ms,
            extra.to_json().replace('\'', "''")
        ),
    );
    let (place, what) = broken_at(&path);
    assert_eq!(place, Place::Record(4));
    assert!(what.contains("no audit entry logs it"), "{what}");
}

#[test]
fn files_that_are_not_a_record_store_are_refused_by_name() {
    let (dir, path) = temp_file("records", "notes.txt");
    std::fs::write(&path, "these are not records\n".repeat(300)).unwrap();
    let err = RecordStore::open(&path, POINT).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err:?}");
    assert!(err.to_string().contains("notes.txt") && err.to_string().contains("not an SQLite database"), "{err}");

    let other = dir.join("other.db");
    Connection::open(&other).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
    for err in [RecordStore::open(&other, POINT).unwrap_err(), RecordStore::open_existing(&other).unwrap_err()] {
        assert!(err.to_string().contains("other.db") && err.to_string().contains("not a khil record store"), "{err}");
    }

    let missing = dir.join("missing.db");
    let err = verify(&missing).unwrap_err().to_string();
    assert!(err.contains("missing.db") && err.contains("no such file"), "{err}");
    assert!(!missing.exists(), "verify must not create a store");
}

#[test]
fn a_store_of_another_point_is_refused() {
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 1);
    let err = RecordStore::open(&path, "ALT").unwrap_err().to_string();
    assert!(err.contains("belongs to border point ZMU, not ALT"), "{err}");
    let mut store = RecordStore::open(&path, POINT).unwrap();
    let mut foreign = sample(2);
    foreign.point = "ALT".into();
    assert!(matches!(store.commit(&foreign), Err(StoreError::OtherPoint { .. })));
    assert_eq!(store.count().unwrap(), 1);
}

#[test]
fn debug_output_shows_no_names_or_document_numbers() {
    let shown = format!("{:?}", sample(3));
    for secret in ["BATBAYAR", "TSENDSUREN", "E00001003", "1990-02-14", "2031-04-30"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("ZMU") && shown.contains("G04"), "{shown}");
}

/// Damage anywhere in the file gives an error naming it (or, where SQLite does not look, a store that still
/// verifies), never a panic.
#[test]
fn damaged_files_are_refused_without_panicking() {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
    let (dir, path) = temp_file("records", "point.db");
    store_with(&path, 40);
    // Move everything out of the WAL into the main file, so damage to the file is damage to the records.
    Connection::open(&path).unwrap().pragma_update(None, "wal_checkpoint", "TRUNCATE").unwrap();
    let good = std::fs::read(&path).unwrap();
    let mut refused = 0;
    for round in 0..40 {
        let mut bytes = good.clone();
        let at = rng.random_range(0..bytes.len());
        let len = rng.random_range(1..64).min(bytes.len() - at);
        for b in &mut bytes[at..at + len] {
            *b = rng.random();
        }
        let damaged = dir.join(format!("damaged-{round}.db"));
        std::fs::write(&damaged, &bytes).unwrap();
        match verify(&damaged) {
            Ok(_) => {}
            Err(e) => {
                refused += 1;
                assert!(e.to_string().contains(&format!("damaged-{round}.db")), "{e}");
            }
        }
    }
    assert!(refused > 10, "only {refused} of 40 damaged files were refused");
}

#[test]
fn a_changed_rule_file_version_is_caught() {
    use khil_clearance::records::{Version, VersionKind};
    let (_dir, path) = temp_file("records", "point.db");
    store_with(&path, 2);
    let mut store = RecordStore::open(&path, POINT).unwrap();
    let rules = Version { kind: VersionKind::Rules, version: "r7".into(), body: b"[rules]\n".to_vec() };
    assert!(store.store_version(&rules, 5).unwrap());
    assert!(!store.store_version(&rules, 6).unwrap(), "stored twice");
    drop(store);
    assert_eq!(verify(&path).unwrap().audit_entries, 4);
    tamper(&path, "UPDATE versions SET body = x'00' WHERE version = 'r7'");
    let (place, what) = broken_at(&path);
    assert_eq!(place, Place::Audit(4));
    assert!(what.contains("the stored rules r7 hashes to"), "{what}");
}
