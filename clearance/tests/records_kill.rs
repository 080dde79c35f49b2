//! `kill -9` at any moment loses no committed record and leaves nothing half-written.
//!
//! The child is this test binary re-executed (`std::env::current_exe`) running its one ignored test with
//! `KHIL_RECORDS_CHILD` naming the store: it commits records in a loop and prints `committed <seq>` after each
//! `commit` returns. The parent SIGKILLs it at seeded random moments, many times over the same store, then checks
//! that the store verifies, that every printed seq is there with the content the child wrote, and that nothing
//! beyond the last commit is there half-way. (SIGKILL leaves the OS's page cache intact, so this is the
//! process-crash case; a power cut is what `synchronous=FULL` is for, and no test here can cut the power.)

#[path = "records_support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use khil_clearance::records::{RecordStore, verify};
use khil_test_support::temp_file;
use rand::{RngExt, SeedableRng};
use support::{POINT, sample};

const CHILD_ENV: &str = "KHIL_RECORDS_CHILD";

/// The child: commits forever (until killed) into the store named by `KHIL_RECORDS_CHILD`. Ignored, so that it
/// runs only when the parent asks for it by name.
#[test]
#[ignore = "the child process of kill_9_loses_no_committed_record"]
fn records_kill_child() {
    let Some(path) = std::env::var_os(CHILD_ENV) else { return };
    let mut store = RecordStore::open(&PathBuf::from(path), POINT).unwrap();
    let mut next = store.count().unwrap() + 1;
    use std::io::Write;
    // libtest has printed `test records_kill_child ... ` without a newline: end that line first.
    println!();
    loop {
        let seq = store.commit(&sample(next)).unwrap();
        assert_eq!(seq, next);
        // Flushed per line, so the parent sees each line as soon as the commit returned.
        let mut out = std::io::stdout().lock();
        writeln!(out, "committed {seq}").unwrap();
        out.flush().unwrap();
        next += 1;
    }
}

#[test]
fn kill_9_loses_no_committed_record() {
    let (_dir, path) = temp_file("records-kill", "point.db");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let started = Instant::now();
    let mut printed: Vec<u64> = Vec::new();
    // The store exists before the first kill, so every round checks a store (creation is one transaction too,
    // and a blank file left by a kill during it is created again by the next open).
    drop(RecordStore::open(&path, POINT).unwrap());
    let kills = 30;
    let mut rounds_with_commits = 0;
    let mut stored_before = 0u64;
    for round in 0..kills {
        let (mut child, seen) =
            khil_test_support::rerun_child("records_kill_child", &[(CHILD_ENV, path.as_os_str())], "committed");
        // Start-up (exec, libtest, open) takes some milliseconds; the kill lands before, during or between
        // commits, anywhere in a transaction.
        std::thread::sleep(Duration::from_micros(rng.random_range(5_000..80_000)));
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(!status.success(), "round {round}: the child exited by itself ({status})");
        let seen: Vec<u64> = seen.iter().collect();
        let seen_any = !seen.is_empty();
        let seen_last = seen.last().copied();
        // Each round resumes after the last record actually in the store, so the seqs it prints continue.
        if let (Some(&last), Some(&first)) = (printed.last(), seen.first()) {
            assert!(first > last, "round {round}: seq {first} printed again after {last}");
        }
        printed.extend(seen);

        let report = verify(&path).unwrap_or_else(|e| panic!("round {round}: after kill -9: {e}"));
        let store = RecordStore::open_existing(&path).unwrap();
        let stored = store.records_after(0, usize::MAX >> 1).unwrap();
        assert_eq!(report.records, stored.len() as u64);
        // Every printed seq is present with the content written; whatever is stored beyond the last printed one
        // (committed, killed before printing) is whole too, as verify said.
        for &seq in &printed {
            let r = stored.get(seq as usize - 1).unwrap_or_else(|| panic!("round {round}: record {seq} lost"));
            assert_eq!((r.seq, &r.record), (seq, &sample(seq)), "round {round}");
        }
        assert!(stored.iter().enumerate().all(|(i, r)| r.seq == i as u64 + 1 && r.record == sample(r.seq)));
        // At most one commit per round can have returned without being printed: the one the kill came after.
        let bound = seen_last.map_or(stored_before, |last| last) + 1;
        assert!(stored.len() as u64 <= bound, "round {round}: {} stored, at most {bound} possible", stored.len());
        stored_before = stored.len() as u64;
        if seen_any {
            rounds_with_commits += 1;
        }
    }
    let elapsed = started.elapsed();
    eprintln!(
        "{kills} kills ({rounds_with_commits} after commits began), {} commits printed, {} stored, {elapsed:.2?}",
        printed.len(),
        { RecordStore::open_existing(&path).unwrap().count().unwrap() }
    );
    assert!(rounds_with_commits >= kills / 2, "only {rounds_with_commits} of {kills} kills came after a commit");
}
