//! `kill -9` of a running `khil scenario run`, again and again: every crossing the run had committed is in the
//! point's store, the store verifies (its hash chain intact, nothing half-written), and the next run goes on.
//!
//! The run logs each commit by id (`-v`: `crossing committed ... seq=N`, no personal data), after SQLite's
//! transaction returned. The test kills the process at a seeded moment after a seeded number of such lines, then
//! opens the store as `khil records verify` does. (SIGKILL leaves the OS's page cache: this is the process crash;
//! the power cut is what the store's `synchronous=FULL` is for, which no test here can cut.)

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use khil_clearance::records::{RecordStore, verify};
use rand::{RngExt, SeedableRng};

fn scenario(rules: &Path) -> String {
    format!(
        r#"
name = "kill"
seed = 5
rules = "{}"
gates = 2

[point]
name = "zamiin-uud"
direction = "exit"

[arrivals]
profile = "zamiin-uud"
share = 0.5
from = "07:00"
until = "12:00"
limit = 30
"#,
        rules.display()
    )
}

/// The seq of a `crossing committed` log line.
fn committed(line: &str) -> Option<u64> {
    if !line.contains("crossing committed") {
        return None;
    }
    let rest = &line[line.find("seq=")? + 4..];
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

#[test]
fn kill_9_of_a_running_scenario_loses_no_committed_crossing() {
    let dir = khil_test_support::temp_dir("scenario-kill");
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/rules/mongolia.toml");
    let file = dir.path().join("kill.toml");
    std::fs::write(&file, scenario(&rules.canonicalize().unwrap())).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(15);
    for round in 0..3 {
        let out = dir.path().join(format!("run-{round}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_khil"))
            .args(["-v", "scenario", "run"])
            .arg(&file)
            .arg("--out")
            .arg(&out)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(seq) = committed(&line) {
                    let _ = tx.send(seq);
                }
            }
        });
        // After 1 to 3 commits, at any moment of the next traveller's passage (a gate takes seconds of wall time in
        // a debug build; the kill lands in reading, examining, matching or committing).
        let wanted = rng.random_range(1..=3);
        let mut logged = Vec::new();
        while logged.len() < wanted {
            match rx.recv_timeout(Duration::from_mins(3)) {
                Ok(seq) => logged.push(seq),
                Err(e) => panic!("round {round}: no commit logged ({e}); the run exited: {:?}", child.try_wait()),
            }
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..1500)));
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        logged.extend(rx.try_iter());

        let db = out.join("point.sqlite");
        let report = verify(&db).unwrap_or_else(|e| panic!("round {round}: the store after kill -9: {e}"));
        let last = *logged.iter().max().unwrap();
        assert!(
            report.records >= last,
            "round {round}: {} records in the store, seq {last} was committed",
            report.records
        );
        let store = RecordStore::open_existing(&db).unwrap();
        let stored: Vec<u64> = store.records_after(0, 1000).unwrap().iter().map(|r| r.seq).collect();
        for seq in &logged {
            assert!(stored.contains(seq), "round {round}: committed crossing {seq} lost; the store has {stored:?}");
        }
        println!(
            "round {round}: killed after {} logged commits; {} records, chain verified",
            logged.len(),
            report.records
        );
    }
}
