//! Helpers shared by the `khil train` tests: starting a session on a temporary database, reading the trainer's
//! report, and the answers a scripted trainee gives.

// Each test binary uses some of these helpers, not all.
#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::process::Stdio;

use serde_json::Value;

use crate::common::{Sim, khil, start_khil};

/// The session date every test examines on (what "expired" is measured against).
pub const DATE: &str = "2026-12-06";

/// Starts `khil train documents` on `db`; its ready line gives the page's URL.
pub fn start_train(db: &Path, seed: u64, cases: u32) -> Sim {
    let db = db.to_str().expect("a UTF-8 temp path");
    let (seed, cases) = (seed.to_string(), cases.to_string());
    let args = [
        "train",
        "documents",
        "--db",
        db,
        "--seed",
        &seed,
        "--cases",
        &cases,
        "--trainee",
        "Test Officer",
        "--date",
        DATE,
    ];
    start_khil(&args, Stdio::null(), Stdio::inherit())
}

/// `khil train report --db DB --json` of the newest session, parsed.
pub fn report_json(db: &Path) -> Value {
    let out = khil().args(["train", "report", "--json", "--db"]).arg(db).output().expect("run khil train report");
    assert!(out.status.success(), "khil train report failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the report is JSON")
}

/// The ground truth of case `index`, as the trainer's report has it once the case is shown.
pub fn truth(db: &Path, index: u64) -> String {
    let report = report_json(db);
    let case = report["cases"].as_array().expect("cases").iter().find(|c| c["index"] == index);
    case.and_then(|c| c["truth"].as_str())
        .unwrap_or_else(|| panic!("case {index} is not in the report: {report}"))
        .to_owned()
}
