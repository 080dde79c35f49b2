//! `khil mrz check` as users run it: the JSON for ICAO's TD3 specimen pinned whole, the table, several MRZs
//! separated by blank lines, and the exit status 0 (all right), 1 (a check digit failed), 2 (unreadable).

mod common;

use std::io::Write;
use std::process::{Output, Stdio};

use common::khil;

const TD3: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10\n";
const LONG_TD1: &str =
    "I<UTOD23145890<7349<<<<<<<<<<<\n3407127M9507122UTO<<<<<<<<<<<2\nSTEVENSON<<PETER<JOHN<<<<<<<<<\n";

fn check(args: &[&str], input: &str) -> Output {
    let mut child = khil()
        .args(["mrz", "check"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn the_td3_specimen_reads_with_every_check_right() {
    let out = check(&[], &TD3.replace('\n', "\r\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let expected = r#"{"checks":[{"check":"document_number","column":10,"computed":"6","found":"6","line":2,"ok":true},{"check":"birth_date","column":20,"computed":"2","found":"2","line":2,"ok":true},{"check":"expiry_date","column":28,"computed":"9","found":"9","line":2,"ok":true},{"check":"personal_number","column":43,"computed":"1","found":"1","line":2,"ok":true},{"check":"composite","column":44,"computed":"0","found":"0","line":2,"ok":true}],"fields":[{"column":1,"field":"document_code","line":1,"text":"P<","value":"P"},{"column":3,"field":"issuing_state","line":1,"text":"UTO","value":"UTO"},{"column":6,"field":"name","line":1,"text":"ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<","value":"ERIKSSON, ANNA MARIA"},{"column":1,"field":"document_number","line":2,"text":"L898902C3","value":"L898902C3"},{"column":11,"field":"nationality","line":2,"text":"UTO","value":"UTO"},{"column":14,"field":"birth_date","line":2,"text":"740812","value":"740812"},{"column":21,"field":"sex","line":2,"text":"F","value":"F"},{"column":22,"field":"expiry_date","line":2,"text":"120415","value":"120415"},{"column":29,"field":"personal_number","line":2,"text":"ZE184226B<<<<<","value":"ZE184226B"}],"format":"TD3","mrz":1,"name_truncated":false,"ok":true}"#;
    assert_eq!(text(&out.stdout), format!("{expected}\n"));
    assert!(out.stderr.is_empty());
}

#[test]
fn several_mrzs_and_the_table() {
    let out = check(&["--table"], &format!("{TD3}\n\n{LONG_TD1}"));
    assert_eq!(out.status.code(), Some(0));
    let table = text(&out.stdout);
    assert!(table.starts_with("MRZ 1: TD3, all check digits right\n"), "{table}");
    assert!(table.contains("MRZ 2: TD1, all check digits right\n"), "{table}");
    // The long number's two places, both meaning the whole number, and its check digit after the rest.
    assert!(table.contains("  document number             1      6  D23145890"), "{table}");
    assert!(table.contains("  document number             1     16  7349"), "{table}");
    assert!(table.contains("  document number             1     19  9     9        ok\n"), "{table}");
}

#[test]
fn a_failed_check_digit_exits_1_and_names_the_check() {
    let bad = TD3.replace("L898902C36", "L898902C37");
    let out = check(&[], &bad);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(text(&out.stdout).trim()).unwrap();
    assert_eq!(v["ok"], false);
    let failed: Vec<(String, String, String)> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| (c["check"].to_string(), c["found"].to_string(), c["computed"].to_string()))
        .collect();
    let s = |x: &str| format!("\"{x}\"");
    assert_eq!(failed, [(s("document_number"), s("7"), s("6")), (s("composite"), s("0"), s("7"))]);
    let table = text(&check(&["--table"], &bad).stdout);
    assert!(table.contains("MRZ 1: TD3, CHECK DIGIT FAILED"), "{table}");
    assert!(table.contains("  document number             2     10  7     6        FAILED"), "{table}");
}

#[test]
fn unreadable_input_exits_2_naming_line_and_column() {
    let lower = format!("{TD3}\n{}", LONG_TD1.replace("PETER", "PETeR"));
    let out = check(&[], &lower);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "khil mrz check: MRZ 2 (input line 4): MRZ line 3, column 15: 'e' is not an MRZ character (expected A-Z, \
         0-9 or <)\n"
    );
    // The readable MRZ is still reported, the unreadable one as an error object.
    let lines: Vec<serde_json::Value> = text(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[1]["input_line"], 4);

    let short = check(&[], "P<UTOERIKSSON<<ANNA\nL898902C36UTO\n");
    assert_eq!(short.status.code(), Some(2));
    assert_eq!(
        text(&short.stderr),
        "khil mrz check: MRZ 1 (input line 1): MRZ: expected 3 lines of 30 characters (TD1), 2 of 36 (TD2, MRV-B) \
         or 2 of 44 (TD3, MRV-A); got 2 lines of 19, 13 characters\n"
    );
    let empty = check(&[], "\n\n");
    assert_eq!(empty.status.code(), Some(2));
    assert_eq!(text(&empty.stderr), "khil mrz check: no MRZ on stdin (expected 2 or 3 lines)\n");
    let date = check(&[], &TD3.replace("7408122", "7413122"));
    assert_eq!(
        text(&date.stderr),
        "khil mrz check: MRZ 1 (input line 1): MRZ TD3 date of birth (line 2, column 16): expected a date YYMMDD: \
         the month (MM) is not 01-12\n"
    );
}

#[test]
fn help_documents_input_output_and_exit_status() {
    let out = khil().args(["mrz", "check", "--help"]).output().unwrap();
    let help = text(&out.stdout);
    for needle in ["separate them by a blank line", "JSON Lines", "Exit status: 0", "Example:"] {
        assert!(help.contains(needle), "{needle} not in {help}");
    }
}
