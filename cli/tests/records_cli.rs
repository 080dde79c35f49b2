//! `khil records verify`: OK with counts on a sound store, exit 1 naming the first broken entry, exit 2 naming a
//! file that is not a record store.

use std::process::Command;

use khil_clearance::records::{
    CrossingRecord, DecisionRecord, Direction, DocumentRecord, Outcome, RecordStore, TravellerRecord,
};
use khil_test_support::temp_file;

fn record(i: i64) -> CrossingRecord {
    CrossingRecord {
        point: "ALT".into(),
        gate: "G01".into(),
        at_ms: 1_790_000_000_000 + i,
        direction: Direction::Exit,
        document: DocumentRecord {
            issuing_state: "RUS".into(),
            number: format!("72{i:07}"),
            kind: "P".into(),
            expiry: "2030-01-01".into(),
        },
        traveller: TravellerRecord {
            nationality: "RUS".into(),
            surname: "IVANOVA".into(),
            given_names: "OLGA".into(),
            birth_date: "1985-06-01".into(),
        },
        decision: DecisionRecord {
            outcome: Outcome::Released,
            reasons: Vec::new(),
            rules_version: "r1".into(),
            watchlist_version: "w1".into(),
        },
        biometric: None,
    }
}

fn verify(path: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_khil")).args(["records", "verify"]).arg(path).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn verify_says_ok_then_names_the_broken_entry() {
    let (dir, path) = temp_file("records-cli", "alt.db");
    let mut store = RecordStore::open(&path, "ALT").unwrap();
    for i in 1..=3 {
        store.commit(&record(i)).unwrap();
    }
    drop(store);
    let (code, out, err) = verify(&path);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("border point ALT: 3 records (0 referrals), 4 audit entries") && out.ends_with("OK\n"),
        "{out}"
    );

    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TRIGGER audit_no_update; UPDATE audit SET subject = 'x' || subject WHERE seq = 3;")
        .unwrap();
    drop(conn);
    let (code, _, err) = verify(&path);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("BROKEN") && err.contains("alt.db: audit entry 3: its hash does not match"), "{err}");

    let text = dir.join("readme.txt");
    std::fs::write(&text, "not a database at all, just some text that is long enough to have a header\n").unwrap();
    let (code, _, err) = verify(&text);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("readme.txt") && err.contains("not a khil record store"), "{err}");
}

/// `khil records upload` against ci/test's private PostgreSQL, in a database of its own.
#[test]
fn upload_sends_the_records_once_and_says_so() {
    let Ok(admin) = std::env::var("KHIL_CENTRAL_URL") else {
        khil_test_support::missing::<()>("no KHIL_CENTRAL_URL: run ci/test (it starts a private PostgreSQL)");
        return;
    };
    let name = format!("khil_cli_{}", std::process::id());
    let url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let psql = |sql: String| {
        let admin = admin.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(conn);
                client.batch_execute(&sql).await.unwrap();
            });
        })
        .join()
        .unwrap();
    };
    psql(format!("CREATE DATABASE {name}"));
    struct Drop_<F: Fn()>(F);
    impl<F: Fn()> Drop for Drop_<F> {
        fn drop(&mut self) {
            (self.0)();
        }
    }
    let _drop_db = Drop_(|| psql(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")));

    let (_dir, path) = temp_file("records-cli", "alt.db");
    let mut store = RecordStore::open(&path, "ALT").unwrap();
    for i in 1..=4 {
        store.commit(&record(i)).unwrap();
    }
    drop(store);
    let upload = || {
        let out = Command::new(env!("CARGO_BIN_EXE_khil"))
            .args(["records", "upload", "--db"])
            .arg(&path)
            .args(["--central", &url, "--batch", "3"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = upload();
    assert!(first.contains("4 new records uploaded (0 already there), acknowledged up to 4"), "{first}");
    let second = upload();
    assert!(second.contains("up to date, acknowledged up to 4"), "{second}");

    let out = Command::new(env!("CARGO_BIN_EXE_khil"))
        .args(["records", "upload", "--db", "/nonexistent/point.db", "--central", &url])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("/nonexistent/point.db") && err.contains("no such file"), "{err}");
}
