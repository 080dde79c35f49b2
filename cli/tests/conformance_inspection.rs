//! `khil conformance run --class inspection-system` as its users run it: against khil's own terminal in process
//! (PASSED; FAILED with a terminal fault; a fault it does not know cannot start), and against an external
//! terminal run as a command, here khil's own `khil document read` reading the specimens through the real pcscd
//! and vpcd (in nextest's `vpcd` group; skipped without pcscd and vpcd or without PC/SC in this build, failed
//! instead under `CI=true` when pcscd is missing).

mod common;

use std::path::Path;
use std::process::Output;

use common::khil;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run(device: &str, ics: Option<&Path>, out: &Path) -> Output {
    let mut command = khil();
    command.args(["conformance", "run", "--class", "inspection-system", "--device", device, "--out"]).arg(out);
    if let Some(ics) = ics {
        command.arg("--ics").arg(ics);
    }
    command.output().unwrap()
}

fn report_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// No MRZ of the specimens (population document 3: its number, its holder's name) in any report.
fn no_mrz_in(dir: &Path) {
    for file in ["report.json", "report.html", "junit.xml"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        assert!(!text.contains("E0957417") && !text.contains("GANKHUYAG"), "an MRZ reached {file}");
    }
}

#[test]
fn khils_own_terminal_passes_and_a_faulty_one_fails() {
    let scratch = khil_test_support::temp_dir("conformance-inspection-sim");
    let out = run("sim:inspection-system", None, scratch.path());
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("inspection-system sim:inspection-system: PASSED: 14 test purposes"));
    let report = report_json(scratch.path());
    assert_eq!(report["ics"], "built-in inspection-system");
    no_mrz_in(scratch.path());

    let out = run("sim:inspection-system?fault=rejects-all", None, scratch.path());
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let said = text(&out.stdout);
    let failed: Vec<&str> = said.lines().filter(|l| l.starts_with("fail ")).collect();
    assert_eq!(failed.len(), 3, "{said}");
    assert!(failed.iter().all(|l| l.contains("INSP-GEN-")), "{said}");
}

#[test]
fn an_unknown_terminal_fault_cannot_start() {
    let scratch = khil_test_support::temp_dir("conformance-inspection-bad-fault");
    let out = run("sim:inspection-system?fault=no-mac-check", None, scratch.path());
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for needle in ["parameter fault", "\"no-mac-check\"", "no-hash-check", "rejects-all"] {
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
}

#[test]
fn a_command_as_the_device_is_pointed_to_the_ics() {
    let scratch = khil_test_support::temp_dir("conformance-inspection-exec-url");
    let out = run("exec:inspect --mrz {mrz}", None, scratch.path());
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("pcsc://READER") && err.contains("[ixit] command"), "{err}");
}

/// The external-terminal path end to end: khil plugs each specimen into pcscd through vpcd and runs
/// `khil document read --device {device} --mrz-file {mrz}` on it; khil's reader, as a vendor's would, passes
/// every purpose, and names the right failed check for each faulty specimen.
#[test]
fn an_external_terminal_reads_the_specimens_through_pcscd() {
    if !cfg!(feature = "pcsc") {
        eprintln!("skipped: this khil is built without PC/SC (--features pcsc)");
        return;
    }
    if !khil_test_support::pcscd_with_vpcd(35963) {
        return;
    }
    let scratch = khil_test_support::temp_dir("conformance-inspection-exec");
    let ics = scratch.path().join("terminal.toml");
    let terminal = env!("CARGO_BIN_EXE_khil");
    std::fs::write(
        &ics,
        format!(
            "[device]\nvendor = \"khil\"\nmodel = \"khil document read, through pcscd\"\n\n\
             [capabilities]\npace = true\nchip_authentication = true\nactive_authentication = true\n\
             names_checks = true\n\n\
             [ixit]\ncommand = \"'{terminal}' document read --device {{device}} --mrz-file {{mrz}}\"\n\
             command_timeout_s = 60\nvpcd = \"127.0.0.1:35963\"\nreader_timeout_ms = 4949\ndocument = 3\n"
        ),
    )
    .unwrap();
    let out_dir = scratch.path().join("out");
    let out = run("pcsc://Virtual%20PCD%2000%2000", Some(&ics), &out_dir);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let report = report_json(&out_dir);
    assert_eq!(report["verdict"], "PASSED");
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 14);
    // khil's document-read JSON was read: the access and the named failed check are in the evidence.
    let bac_only = results.iter().find(|r| r["id"] == "INSP-GEN-003").unwrap();
    let access = bac_only["evidence"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["what"] == "how the terminal opened the chip");
    assert_eq!(access.unwrap()["observed"], "BAC");
    let revoked = results.iter().find(|r| r["id"] == "INSP-PA-004").unwrap();
    let named = revoked["evidence"]["checks"][1]["observed"].as_str().unwrap();
    assert!(named.contains("passive authentication: Document Signer not revoked"), "{named}");
    no_mrz_in(&out_dir);
}
