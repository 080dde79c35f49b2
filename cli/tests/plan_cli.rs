//! `khil plan gates` as a planner runs it: the answer is the first row that meets the rule, the JSON says the
//! same as the table, measured times are read from a file, and bad input is refused naming it.

mod common;

use std::process::Output;

use common::khil;
use khil_test_support::temp_dir;

fn plan(args: &[&str]) -> Output {
    khil().args(["plan", "gates"]).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn the_answer_is_the_first_gate_count_that_meets_the_rule_in_the_table_and_the_json() {
    let dir = temp_dir("plan");
    let json = dir.path().join("plan.json");
    let out = plan(&["--point", "altanbulag", "--days", "2", "--json", json.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("ASSUMED"), "the default transaction time is said to be assumed:\n{stdout}");
    let value: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let rows = value["rows"].as_array().unwrap();
    let first = rows.iter().find(|r| r["meets"] == true).expect("a row meets the rule");
    assert_eq!(value["needed"], first["gates"]);
    assert!(rows.iter().take_while(|r| r["meets"] == false).all(|r| r["share_within"].as_f64().unwrap() < 0.95));
    let needed = value["needed"].as_u64().unwrap();
    assert!(stdout.contains(&format!("needed: {needed} gate")), "{stdout}");
}

#[test]
fn longer_measured_transactions_need_more_gates_than_shorter_ones() {
    let dir = temp_dir("plan");
    let needed = |times: &str| {
        let file = dir.path().join("times.txt");
        std::fs::write(&file, times).unwrap();
        let json = dir.path().join("plan.json");
        let out = plan(&[
            "--point",
            "zamiin-uud",
            "--days",
            "1",
            "--times",
            file.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("measured times from"));
        let value: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        value["needed"].as_u64().unwrap()
    };
    let quick = needed("# seconds\n10\n11\n12\n");
    let slow = needed("[40, 45, 50]");
    assert!(slow > quick, "40-50 s transactions need {slow} gates, 10-12 s ones {quick}");
}

#[test]
fn bad_input_is_refused_naming_it() {
    let dir = temp_dir("plan");
    let file = dir.path().join("times.txt");
    std::fs::write(&file, "12\ntwelve\n").unwrap();
    let out = plan(&["--point", "airport", "--times", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("times.txt line 2") && stderr.contains("\"twelve\""), "{stderr}");
    let out = plan(&["--point", "airport", "--share", "1.5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--share 1.5"), "{}", text(&out.stderr));
    let out = plan(&["--point", "airport", "--service-median", "12", "--service-p90", "5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--service-p90 5"), "{}", text(&out.stderr));
    // Nobody can be served in time by transactions of a day: no gate count meets the rule, exit 1.
    std::fs::write(&file, "86400\n").unwrap();
    let out = plan(&["--point", "altanbulag", "--days", "1", "--max-gates", "3", "--times", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("more than 3 gates"));
}
