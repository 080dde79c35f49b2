//! `khil document read` as users run it, against an in-process simulated passport (`sim:passport?...`): the
//! JSON, the table, and the exit status 0 / 1 / 3 / 2; the same run through the real pcscd is in
//! `passport_pcscd.rs`.

mod common;

use std::process::Output;

use common::khil;
use serde_json::Value;

fn read(args: &[&str]) -> Output {
    khil().args(["document", "read"]).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)))
}

fn status<'a>(v: &'a Value, check: &str) -> &'a str {
    v["checks"].as_array().unwrap().iter().find(|c| c["check"] == check).unwrap_or_else(|| panic!("no {check}: {v}"))
        ["status"]
        .as_str()
        .unwrap()
}

#[test]
fn a_simulated_passport_reads_and_verifies_fingerprints_included() {
    let out = read(&["--device", "sim:passport?document=3", "--document", "3"]);
    // 0: every check passed, DG3 read after terminal authentication with the test PKI's terminal certificates.
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(v["outcome"], "passed");
    assert!(v["access"].as_str().unwrap().starts_with("PACE id-PACE-ECDH-GM-AES-CBC-CMAC-128 on Brainpool"), "{v}");
    for check in [
        "access control: PACE",
        "EF.COM",
        "passive authentication: EF.SOD signature by the Document Signer",
        "passive authentication: Document Signer not revoked",
        "chip authentication",
        "terminal authentication",
        "passive authentication: DG3 hash",
        "active authentication",
        "MRZ on the page = DG1",
    ] {
        assert_eq!(status(&v, check), "passed", "{check}: {v}");
    }
    let files: Vec<&str> = v["files_read"].as_array().unwrap().iter().map(|f| f["file"].as_str().unwrap()).collect();
    // DG3 last: the chip refuses it until chip and terminal authentication.
    assert_eq!(files, ["EF.CardAccess", "EF.COM", "EF.SOD", "DG1", "DG2", "DG14", "DG15", "DG3"]);
    // No document data in the output: the MRZ's document number does not appear.
    let mrz = khil_sim_population::documents::Documents::new(0, khil_mrtd::mrz::CivilDate::new(2026, 6, 1).unwrap())
        .document(3)
        .document_number;
    assert!(!text(&out.stdout).contains(&mrz), "the output shows the document number");
}

#[test]
fn bac_only_documents_and_the_table() {
    let out = read(&["--device", "sim:passport?document=3&pace-curve=none", "--document", "3", "--table"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    assert!(t.contains("access:  BAC"), "{t}");
    assert!(t.contains("outcome: PASSED"), "{t}");
    assert!(t.lines().any(|l| l.contains("terminal authentication") && l.contains("passed")), "{t}");
    assert!(t.lines().any(|l| l.contains("chip authentication") && l.contains("passed")), "{t}");
}

#[test]
fn the_wrong_page_opens_nothing_and_fails() {
    // Document 4's MRZ against document 3's chip: neither PACE nor BAC opens it.
    let out = read(&["--device", "sim:passport?document=3", "--document", "4"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(v["outcome"], "failed");
    assert_eq!(status(&v, "access control: PACE"), "failed");
    assert_eq!(status(&v, "access control: BAC"), "failed");
    assert!(v["access"].is_null());
}

#[test]
fn what_cannot_run_exits_2_naming_it() {
    let dir = khil_test_support::temp_dir("document-cli");
    let not_a_cert = dir.path().join("page.txt");
    std::fs::write(&not_a_cert, "P<UTO").unwrap();
    let not_a_cert = not_a_cert.to_str().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (&["--device", "sim:passport?document=11", "--document", "11"], "document 11 is a visa"),
        (&["--device", "serial:///dev/null", "--document", "1"], "a byte-stream device, not an APDU one"),
        (&["--device", "sim:fingerprint", "--document", "1"], "fingerprint is not a smart card"),
        (&["--device", "sim:passport", "--mrz-file", "/nonexistent/page.txt"], "--mrz-file /nonexistent/page.txt"),
        (
            &[
                "--device",
                "sim:passport",
                "--document",
                "3",
                "--terminal-cert",
                not_a_cert,
                "--terminal-key",
                not_a_cert,
            ],
            "not a CV certificate",
        ),
        (&["--device", "sim:passport", "--document", "3", "--terminal-cert", not_a_cert], "--terminal-key"),
        (
            &["--device", "sim:passport", "--document", "3", "--terminal-key", "/nonexistent/is.pkcs8"],
            "--terminal-cert",
        ),
    ];
    for (args, needle) in cases {
        let out = read(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(needle), "{args:?}: {needle:?} not in {}", text(&out.stderr));
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_card_simulator_takes_no_serial_line_flags() {
    for (flag, value) in [("--pty", None), ("--tcp", Some("127.0.0.1:0")), ("--pace", Some("9600"))] {
        let out = khil().args(["sim", "passport", "--vpcd", "127.0.0.1:35963", flag]).args(value).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(text(&out.stderr).contains(&format!("unexpected argument '{flag}'")), "{}", text(&out.stderr));
    }
    let out = khil().args(["sim", "passport"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--vpcd <HOST:PORT>"), "{}", text(&out.stderr));
}

#[test]
fn a_faulty_chip_is_named_and_an_unknown_fault_refused() {
    let out = read(&["--device", "sim:passport?document=3&fault=revoked-ds&fault=wrong-mac:at=40", "--document", "3"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(status(&v, "passive authentication: Document Signer not revoked"), "failed", "{v}");
    let failed: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "failed")
        .map(|c| c["why"].as_str().unwrap())
        .collect();
    assert!(failed.iter().any(|why| why.contains("the response MAC (DO8E) does not verify")), "{failed:?}");
    let out = read(&["--device", "sim:passport?fault=nope", "--document", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("expected one of wrong-mac, bad-ssc"), "{}", text(&out.stderr));
}

#[test]
fn pace_with_the_card_access_number() {
    let out = read(&["--device", "sim:passport?document=3&can=123456", "--document", "3", "--can", "123456"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json(&out);
    assert!(v["access"].as_str().unwrap().ends_with("with the CAN"), "{v}");
    // A wrong CAN: PACE fails and says so; BAC with the MRZ still opens the chip, but the run is not PASSED.
    let out = read(&["--device", "sim:passport?document=3&can=123456", "--document", "3", "--can", "654321"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v = json(&out);
    assert_eq!(status(&v, "access control: PACE"), "failed", "{v}");
    assert_eq!(v["access"], "BAC", "{v}");
}
