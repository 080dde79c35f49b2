//! `khil conformance` as its users run it: listing purposes, runs that cannot start (and say why), and a run
//! against the in-process simulator that writes the three reports.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::khil;
use khil_conformance::suites::CLASSES;
use khil_test_support::TempDir;

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh, empty scratch directory for one test.
fn scratch(name: &str) -> TempDir {
    khil_test_support::temp_dir(&format!("conformance-cli-{name}"))
}

/// Runs `khil conformance <args>` and checks it could not start: exit status 2, every needle on stderr.
fn cannot_start(args: &[&str], needles: &[&str]) -> String {
    let out = khil().arg("conformance").args(args).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    for needle in needles {
        assert!(err.contains(needle), "{args:?}: {needle:?} not in: {err}");
    }
    err
}

/// `run --class zfm --device sim:fingerprint <extra> --out <out>`.
fn zfm_sim_run<'a>(extra: &[&'a str], out: &'a Path) -> Vec<&'a str> {
    let out = out.to_str().unwrap();
    [&["run", "--class", "zfm", "--device", "sim:fingerprint"][..], extra, &["--out", out]].concat()
}

/// Runs `khil conformance run --class <class> --device <device> --ics <ics> --out <out>`.
fn run_with_ics(class: &str, device: &str, ics: &Path, out: &Path) -> Output {
    khil()
        .args(["conformance", "run", "--class", class, "--device", device, "--ics"])
        .arg(ics)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// The ICS file the project ships as `conformance/ics/<name>`.
fn shipped_ics(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance/ics").join(name)
}

fn report_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

#[test]
fn list_prints_a_table_of_a_class() {
    let out = khil().args(["conformance", "list", "--class", "zfm"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    let title = lines.next().unwrap();
    assert!(title.starts_with("zfm: ") && title.contains("test purpose"), "{text}");
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["ID", "GROUP", "TITLE", "CONDITION"], "{text}");
    let rows: Vec<&str> = lines.collect();
    for row in &rows {
        assert!(row.starts_with("ZFM-"), "{row:?} in\n{text}");
    }
    // `zfm: <title>, N test purposes`, and N rows.
    let count = title.rsplit_once(", ").and_then(|(_, n)| n.split_whitespace().next()?.parse::<usize>().ok());
    assert!(count == Some(rows.len()) && !rows.is_empty(), "{text}");
}

#[test]
fn list_without_a_class_lists_every_class() {
    let out = khil().args(["conformance", "list"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for (name, title) in CLASSES {
        assert!(text.lines().any(|l| l.starts_with(&format!("{name}: {title}"))), "{name} missing:\n{text}");
    }
}

#[test]
fn an_unknown_class_is_named_with_the_known_ones() {
    let known: Vec<&str> = CLASSES.iter().map(|(n, _)| *n).collect();
    let mut needles = vec!["unknown class \"nope\""];
    needles.extend(&known);
    cannot_start(&["list", "--class", "nope"], &needles);
    let out = scratch("unknown-class");
    cannot_start(&["run", "--class", "nope", "--device", "sim:fingerprint", "--out", out.to_str().unwrap()], &needles);
}

#[test]
fn a_missing_ics_file_is_named() {
    let dir = scratch("missing-ics");
    let ics = dir.join("vendor-r503.toml");
    let out = dir.join("out");
    cannot_start(&zfm_sim_run(&["--ics", ics.to_str().unwrap()], &out), &["--ics", "vendor-r503.toml"]);
    assert!(!out.exists(), "nothing is written when the run cannot start");
}

#[test]
fn an_invalid_ics_names_file_and_key() {
    let dir = scratch("invalid-ics");
    let ics = dir.join("vendor.toml");
    std::fs::write(&ics, "[device]\nvendor = \"Acme\"\ncolour = \"red\"\n").unwrap();
    let out = dir.join("out");
    cannot_start(&zfm_sim_run(&["--ics", ics.to_str().unwrap()], &out), &["vendor.toml", "colour"]);
}

#[test]
fn a_bad_device_url_is_named() {
    let out = scratch("bad-url");
    cannot_start(
        &["run", "--class", "zfm", "--device", "nope://x", "--out", out.to_str().unwrap()],
        &["--device", "nope://x"],
    );
}

#[test]
fn an_unreachable_device_is_named() {
    // Port 1 on the loopback: nothing listens there.
    let out = scratch("unreachable");
    cannot_start(
        &["run", "--class", "zfm", "--device", "tcp://127.0.0.1:1", "--out", out.to_str().unwrap()],
        &["tcp://127.0.0.1:1"],
    );
}

#[test]
fn a_selection_that_matches_nothing_says_so() {
    let out = scratch("only-nothing");
    cannot_start(
        &zfm_sim_run(&["--only", "NOPE-"], &out),
        &["no zfm test purpose matches", "NOPE-", "khil conformance list --class zfm"],
    );
    cannot_start(&zfm_sim_run(&["--purpose-timeout", "0"], &out), &["--purpose-timeout"]);
}

fn assert_reports(dir: &Path) {
    for name in ["report.json", "junit.xml", "report.html"] {
        let len = std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
        assert!(len > 100, "{name}: {len} bytes");
    }
}

/// Every purpose stopped by the time limit: the run happened, the device did not pass, exit status 1.
#[test]
fn purposes_that_error_make_exit_status_1() {
    let scratch = scratch("errors");
    let dir = scratch.join("out");
    let out = khil()
        .args(["conformance", "run", "--class", "zfm", "--device", "sim:fingerprint?profile=r307"])
        .args(["--only", "ZFM-SYS-001", "ZFM-SYS-003", "--purpose-timeout", "0.000001", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(text.contains("FAILED") && text.contains("2 error"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("error") && l.contains("ZFM-SYS-001")), "{text}");
    assert_reports(&dir);
    assert_eq!(report_json(&dir)["summary"]["error"], 2);
    // Without a terminal, one progress line a purpose on stderr.
    assert!(stderr(&out).contains("[2/2] ZFM-SYS-003 error"), "{}", stderr(&out));
}

#[test]
fn a_run_against_the_simulator_writes_the_three_reports() {
    let scratch = scratch("sim-run");
    let dir = scratch.join("out");
    let out = khil()
        .args(["conformance", "run", "--class", "zfm", "--device", "sim:fingerprint?profile=r307", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("zfm sim:fingerprint?profile=r307: PASSED"), "{text}");
    assert!(text.contains(&format!("report: {}", dir.join("report.html").display())), "{text}");
    assert_reports(&dir);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("ZFM-SYS-001") && html.contains(">PASSED<"));
}

/// `(id, outcome)` of every purpose in a report.json.
fn verdicts(dir: &Path) -> Vec<(String, String)> {
    report_json(dir)["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["outcome"]["kind"].as_str().unwrap().to_owned()
                    + " "
                    + r["outcome"]["verdict"].as_str().unwrap_or(""),
            )
        })
        .collect()
}

/// The same suite, the same ICS: a simulator on a pty (a serial device to khil) and the in-process one give the
/// same verdict for every purpose, and an R503 passes with its ICS.
#[test]
fn a_pty_device_gets_the_verdicts_of_the_in_process_simulator() {
    let ics = shipped_ics("r307.toml");
    let base = scratch("pty-vs-sim");
    let run = |device: &str, out: &Path, ics: &Path| run_with_ics("zfm", device, ics, out);
    let sim = common::start_sim(&["fingerprint", "--pty", "--profile", "r307", "--finger", "auto:1"]);
    let over_pty = run(&sim.url, &base.join("pty"), &ics);
    assert_eq!(over_pty.status.code(), Some(0), "{}{}", stdout(&over_pty), stderr(&over_pty));
    drop(sim);
    let in_process = run("sim:fingerprint?profile=r307", &base.join("sim"), &ics);
    assert_eq!(in_process.status.code(), Some(0), "{}{}", stdout(&in_process), stderr(&in_process));
    let (a, b) = (verdicts(&base.join("pty")), verdicts(&base.join("sim")));
    assert!(a.len() >= 40, "{a:?}");
    assert_eq!(a, b, "pty run vs in-process run");

    let r503 = shipped_ics("r503.toml");
    let out = run("sim:fingerprint?profile=r503", &base.join("r503"), &r503);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let v = verdicts(&base.join("r503"));
    let passed = v.iter().filter(|(_, o)| o == "verdict pass").count();
    assert!(passed >= 50, "r503 with its ICS: {passed} passed: {v:?}");
}

/// The `osdp-pd` class against `khil sim osdp-pd` on a pty (a serial device to khil), with the gate I/O board's
/// ICS: every purpose passes, over a real tty, with the secure channel.
#[test]
fn the_osdp_pd_suite_passes_against_a_simulated_pd_on_a_pty() {
    let ics = shipped_ics("osdp-gate-io.toml");
    let out_dir = scratch("osdp-pty");
    let sim = common::start_sim(&[
        "osdp-pd",
        "--pty",
        "--profile",
        "gate-io",
        "--address",
        "1",
        "--scbk",
        "000102030405060708090a0b0c0d0e0f",
    ]);
    let out = run_with_ics("osdp-pd", &sim.url, &ics, &out_dir);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let v = verdicts(&out_dir);
    // 31 purposes: 24 pass; the 7 for fingerprint readers (OSDP-BIO-001..007) do not apply to an I/O board.
    let pass = v.iter().filter(|(_, o)| o == "verdict pass").count();
    let not_applicable: Vec<&str> =
        v.iter().filter(|(_, o)| o == "not_applicable ").map(|(id, _)| id.as_str()).collect();
    assert!(v.len() == 31 && pass == 24, "{v:?}");
    assert!(not_applicable.len() == 7 && not_applicable.iter().all(|id| id.starts_with("OSDP-BIO-00")), "{v:?}");
}

/// Runs `khil conformance run --class <class> --device <device> [extra] --out <out>`.
fn run_class(class: &str, device: &str, extra: &[&str], out: &Path) -> Output {
    khil()
        .args(["conformance", "run", "--class", class, "--device", device])
        .args(extra)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// An ICS file in `dir`: `base` (a shipped one) with `replace` applied, line by line.
fn edited_ics(dir: &Path, base: &str, replace: &[(&str, &str)]) -> PathBuf {
    let mut text = std::fs::read_to_string(shipped_ics(base)).unwrap();
    for (from, to) in replace {
        assert!(text.contains(from), "{base} has no {from:?}");
        text = text.replace(from, to);
    }
    let path = dir.join(base);
    std::fs::write(&path, text).unwrap();
    path
}

/// `--only` runs a part of the suite: INCOMPLETE (exit 3) in every report, with what did not run listed.
#[test]
fn a_partial_run_is_incomplete_and_lists_what_did_not_run() {
    let scratch = scratch("partial");
    let dir = scratch.join("out");
    let out = run_class("zfm", "sim:fingerprint?profile=r503", &["--only", "ZFM-ICS", "ZFM-SYS-010"], &dir);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}{}", stderr(&out));
    assert!(text.contains("INCOMPLETE") && text.contains("48 not run"), "{text}");
    let json = report_json(&dir);
    assert_eq!(json["verdict"], "INCOMPLETE");
    let not_run = json["not_run"].as_array().unwrap();
    assert_eq!(not_run.len(), 48, "53 purposes, 5 selected");
    assert!(not_run.iter().any(|n| n["id"] == "ZFM-CAP-001" && n["reason"].as_str().unwrap().contains("--only")));
    let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(junit.contains(r#"<property name="verdict" value="INCOMPLETE"/>"#), "{junit}");
    assert!(junit.contains(r#"type="not-run""#), "{junit}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains(">INCOMPLETE<") && html.contains("48 of 53 purposes not run") && !html.contains(">PASSED<"));
    assert!(html.contains("Not run (48)") && html.contains("ZFM-CAP-001"));
}

/// The vendor's declared model and firmware are compared with what the module reports: a mismatch fails, with
/// both values in the evidence, and the report is titled from what the device said.
#[test]
fn a_mismatched_identity_fails_with_both_values() {
    let scratch = scratch("identity");
    let ics = edited_ics(
        &scratch,
        "r503.toml",
        &[("model = \"R503\"", "model = \"AB-503\""), ("firmware = \"khil-sim r503\"", "firmware = \"v9.9\"")],
    );
    let dir = scratch.join("out");
    let out = run_class("zfm", "sim:fingerprint?profile=r503", &["--ics", ics.to_str().unwrap()], &dir);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let json = report_json(&dir);
    let id = json["results"].as_array().unwrap().iter().find(|r| r["id"] == "ZFM-ID-001").unwrap();
    assert_eq!(id["outcome"]["verdict"], "fail", "{id}");
    let checks: Vec<(String, String)> = id["evidence"]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["expected"].as_str().unwrap().to_owned(), c["observed"].as_str().unwrap().to_owned()))
        .collect();
    assert!(checks.contains(&("AB-503".into(), "R503".into())), "{checks:?}");
    assert!(checks.contains(&("v9.9".into(), "khil-sim r503".into())), "{checks:?}");
    assert!(json["title"].as_str().unwrap().starts_with("R503 (firmware khil-sim r503"), "{}", json["title"]);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<h1>R503 (firmware khil-sim r503"), "the report is titled from the device");
}

/// Setup mistakes stop the run before any verdict, exit status 2, naming the setting to fix; nothing is judged.
#[test]
fn setup_mistakes_stop_before_any_verdict() {
    let scratch = scratch("setup");
    let out_dir = scratch.join("out");
    let out = out_dir.to_str().unwrap();
    // A reader at address 3, the ICS says 1.
    let ics = edited_ics(&scratch, "osdp-card-reader.toml", &[("address = 1", "address = 1")]);
    let err = cannot_start(
        &["run", "--class", "osdp-pd", "--device", "sim:osdp-pd?profile=card-reader&address=3"]
            .into_iter()
            .chain(["--ics", ics.to_str().unwrap(), "--out", out])
            .collect::<Vec<_>>(),
        &["answers at address 3", "[ixit] address 1"],
    );
    assert!(!err.contains("FAILED"), "{err}");
    // The ICS's key is not the PD's.
    let wrong = edited_ics(
        &scratch,
        "osdp-gate-io.toml",
        &[("000102030405060708090a0b0c0d0e0f\"", "0f0e0d0c0b0a09080706050403020100\"")],
    );
    let pd = "sim:osdp-pd?profile=gate-io&scbk=000102030405060708090a0b0c0d0e0f";
    cannot_start(
        &["run", "--class", "osdp-pd", "--device", pd, "--ics", wrong.to_str().unwrap(), "--out", out],
        &["[ixit] scbk does not open the PD's secure channel"],
    );
    // A keyed PD and no ICS: the key cannot be discovered.
    cannot_start(&["run", "--class", "osdp-pd", "--device", pd, "--out", out], &["a key of its own", "[ixit] scbk"]);
    // A module that identifies as nothing khil declares, and no ICS.
    cannot_start(
        &["run", "--class", "zfm", "--device", "sim:fingerprint?profile=r503&quirk=empty-versions", "--out", out],
        &["which no built-in ICS describes", "--ics", "khil conformance ics --class zfm --from-device"],
    );
    assert!(!out_dir.join("report.json").exists(), "no verdicts were written");
}

/// Without --ics, the built-in declaration is the one of the model the device identifies as (an R503 is run as an
/// R503, not as the R307), and an OSDP PD is found at its address.
#[test]
fn without_an_ics_the_device_s_own_model_is_declared() {
    let scratch = scratch("builtin");
    let dir = scratch.join("r503");
    let out = run_class("zfm", "sim:fingerprint?profile=r503", &["--only", "ZFM-ID", "ZFM-ICS"], &dir);
    assert_eq!(out.status.code(), Some(3), "{}{}", stdout(&out), stderr(&out));
    let json = report_json(&dir);
    assert_eq!(json["ics"], "built-in r503");
    assert_eq!(json["summary"]["fail"], 0, "{}", json["summary"]);
    let dir = scratch.join("reader");
    let out = run_class("osdp-pd", "sim:osdp-pd?profile=card-reader&address=3", &[], &dir);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let json = report_json(&dir);
    assert_eq!(json["ics"], "built-in card-reader");
    assert_eq!(json["identity"]["fields"][0], serde_json::json!(["address", "3"]));
}

/// Ctrl-C during a run: the purpose running is abandoned, and the reports on disk are a valid INCOMPLETE run
/// that lists what did not run.
#[test]
fn an_interrupted_run_leaves_a_valid_incomplete_report() {
    let scratch = scratch("interrupted");
    let dir = scratch.join("out");
    let child = khil()
        .args(["conformance", "run", "--class", "zfm", "--device", "sim:fingerprint?profile=r503", "--out"])
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until a few purposes are done (the reports are rewritten after each).
    let started = std::time::Instant::now();
    loop {
        let done = std::fs::read_to_string(dir.join("report.json"))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .map_or(0, |j| j["results"].as_array().map_or(0, Vec::len));
        if done >= 3 {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_mins(1), "no progress in report.json");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Ctrl-C, as a terminal sends it.
    let sent = std::process::Command::new("kill").args(["-s", "INT", &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    let json = report_json(&dir);
    assert_eq!((json["verdict"].as_str(), json["interrupted"].as_bool()), (Some("INCOMPLETE"), Some(true)));
    let ran = json["results"].as_array().unwrap().len();
    let not_run = json["not_run"].as_array().unwrap();
    assert_eq!(ran + not_run.len(), 53, "every purpose is either a result or listed as not run");
    assert!(not_run.iter().all(|n| n["reason"] == "the run was interrupted"), "{not_run:?}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains(">INCOMPLETE<") && html.trim_end().ends_with("</html>"));
}

/// `khil conformance ics` writes every key of a class's ICS; from a device, what it reports is filled in and the
/// result is an ICS a run accepts.
#[test]
fn an_ics_template_is_written_and_filled_from_a_device() {
    for (class, _) in CLASSES {
        let out = khil().args(["conformance", "ics", "--class", class]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("[device]") && text.contains("[capabilities]") && text.contains("[ixit]"), "{text}");
    }
    let scratch = scratch("ics-template");
    let out = khil()
        .args([
            "conformance",
            "ics",
            "--class",
            "osdp-pd",
            "--from-device",
            "sim:osdp-pd?profile=card-reader&address=5",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for line in ["vendor = \"4B484C\"", "model = \"2\"", "firmware = \"0.1.0\"", "address = 5", "#   serial: 4B48494C"]
    {
        assert!(text.lines().any(|l| l == line), "{line:?} not in:\n{text}");
    }
    let ics = scratch.join("reader.toml");
    std::fs::write(&ics, &text).unwrap();
    let dir = scratch.join("out");
    let out = run_class(
        "osdp-pd",
        "sim:osdp-pd?profile=card-reader&address=5",
        &["--ics", ics.to_str().unwrap(), "--only", "OSDP-ID"],
        &dir,
    );
    assert_eq!(out.status.code(), Some(3), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(report_json(&dir)["summary"]["pass"], 1, "the filled-in identity is the device's");

    let out = khil()
        .args(["conformance", "ics", "--class", "zfm", "--from-device", "sim:fingerprint?profile=r503"])
        .output()
        .unwrap();
    let text = stdout(&out);
    for line in ["model = \"R503\"", "firmware = \"khil-sim r503\"", "library_size = 200", "address = 0xFFFFFFFF"] {
        assert!(text.lines().any(|l| l == line), "{line:?} not in:\n{text}");
    }
    cannot_start(&["ics", "--class", "zfm", "--from-device", "tcp://127.0.0.1:1"], &["tcp://127.0.0.1:1"]);
}

/// `khil conformance run --class <class> --device <the simulator's URL> --operator --out <dir>` against `khil sim
/// <sim>`, whose console plays the person at the sensor: each prompt for a finger becomes `place 4` or `lift` on
/// the console, then Enter on khil's terminal. Returns khil's output and what was asked.
fn operator_run(class: &str, sim: &[&str], dir: &Path) -> (Output, Vec<String>) {
    use std::io::{BufRead, BufReader, Write};
    let args: Vec<&str> = ["sim"].iter().chain(sim).copied().collect();
    let mut sim = common::start_khil(&args, std::process::Stdio::piped(), std::process::Stdio::piped());
    let mut console = sim.child.stdin.take().unwrap();
    let mut answers = BufReader::new(sim.child.stderr.take().unwrap());
    let mut run = khil()
        .args(["conformance", "run", "--class", class, "--device", &sim.url, "--operator", "--out"])
        .arg(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut keyboard = run.stdin.take().unwrap();
    let mut asked = Vec::new();
    for line in BufReader::new(run.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        let Some(prompt) = line.strip_prefix("operator (") else { continue };
        let command = if prompt.contains("place a finger") {
            "place 4"
        } else if prompt.contains("lift every finger") {
            "lift"
        } else {
            panic!("an action the console cannot play: {line}")
        };
        writeln!(console, "{command}").unwrap();
        // The console's answer (log lines may come between), so the finger has moved before khil goes on.
        let said = loop {
            let mut said = String::new();
            assert!(answers.read_line(&mut said).unwrap() > 0, "the simulator ended");
            if said.starts_with("finger") {
                break said;
            }
        };
        asked.push(format!("{command} -> {}", said.trim()));
        writeln!(keyboard).unwrap();
    }
    (run.wait_with_output().unwrap(), asked)
}

/// `--operator` against a module nobody touches (`--finger none`), with the simulator's console playing the person
/// at the sensor: the capture and library purposes run (none is "not applicable") and pass.
#[test]
fn an_operator_run_places_and_lifts_fingers_through_the_console() {
    let scratch = scratch("operator");
    let dir = scratch.join("out");
    let (out, asked) = operator_run("zfm", &["fingerprint", "--pty", "--profile", "r503", "--finger", "none"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}\nasked: {asked:#?}", stdout(&out));
    assert!((2..=12).contains(&asked.len()), "a held finger is asked for once until it is lifted: {asked:#?}");
    let v = verdicts(&dir);
    for id in ["ZFM-CAP-001", "ZFM-CAP-002", "ZFM-CAP-005", "ZFM-CAP-008", "ZFM-LIB-001", "ZFM-LIB-006", "ZFM-TIM-002"]
    {
        assert!(v.iter().any(|(i, o)| i == id && o == "verdict pass"), "{id}: {v:?}");
    }
    let not_applicable: Vec<&String> =
        v.iter().filter(|(_, o)| o.starts_with("not_applicable")).map(|(i, _)| i).collect();
    // Only what the IXIT forbids on a device that is not in-process: emptying and filling the library.
    assert_eq!(not_applicable, ["ZFM-LIB-009", "ZFM-LIB-010"], "{v:?}");

    // An OSDP fingerprint reader in install mode, nobody at it: every biometric purpose runs, with and without a
    // finger.
    let dir = scratch.join("osdp");
    let (out, asked) =
        operator_run("osdp-pd", &["osdp-pd", "--pty", "--profile", "bio-reader", "--finger", "none"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}\nasked: {asked:#?}", stdout(&out));
    let v = verdicts(&dir);
    for id in ["OSDP-BIO-001", "OSDP-BIO-002", "OSDP-BIO-003", "OSDP-BIO-004"] {
        assert!(v.iter().any(|(i, o)| i == id && o == "verdict pass"), "{id}: {v:?}");
    }
}

/// An operator who cannot do what is asked makes the purpose inconclusive and the run INCOMPLETE, not FAILED.
#[test]
fn an_operator_who_cannot_makes_the_purpose_inconclusive() {
    use std::io::Write;
    let scratch = scratch("operator-cannot");
    let dir = scratch.join("out");
    let mut run = khil()
        .args(["conformance", "run", "--class", "zfm", "--device", "sim:fingerprint?profile=r503&finger=none"])
        .args(["--operator", "--only", "ZFM-CAP-001", "--out"])
        .arg(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(run.stdin.take().unwrap(), "n the sensor is cracked").unwrap();
    let out = run.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("operator (ZFM-CAP-001): place a finger"), "{}", stderr(&out));
    let json = report_json(&dir);
    let r = &json["results"][0];
    assert_eq!(r["outcome"]["verdict"], "inconclusive", "{r}");
    assert_eq!(r["evidence"]["checks"][0]["observed"], "could not do it: the sensor is cracked");
}

/// `--pdf` prints the report through Chromium, and the PDF says what the page says: read back by poppler's
/// `pdftotext` (an independent PDF reader), it has the verdict, the device, the ICS digest, the tester, site and
/// notes, and the lines to sign, on A4 pages. Skipped (reason printed) without Chromium or poppler-utils, except
/// under `CI=true`, where ci/test installs both and a missing one fails the test.
#[test]
fn the_report_prints_to_pdf_with_the_sign_off() {
    let Some(browser) = khil_test_support::browser::chromium() else {
        return;
    };
    let (Some(pdftotext), Some(pdfinfo)) =
        (khil_test_support::program("pdftotext"), khil_test_support::program("pdfinfo"))
    else {
        return;
    };
    let scratch = scratch("pdf");
    let dir = scratch.join("signed report");
    let out = khil()
        .env("KHIL_CHROMIUM", &browser)
        .args(["conformance", "run", "--class", "zfm", "--device", "sim:fingerprint?profile=r503"])
        .args(["--only", "ZFM-ID", "ZFM-ICS", "--tester", "B. Bat-Erdene", "--site", "Zamiin-Uud lane 3"])
        .args(["--note", "unit 4 of lot 12", "--pdf", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}{}", stdout(&out), stderr(&out));
    let pdf = dir.join("report.pdf");
    assert!(stdout(&out).contains(&format!("report: {}", pdf.display())), "{}", stdout(&out));
    let text = std::process::Command::new(pdftotext).arg(&pdf).arg("-").output().unwrap();
    assert!(text.status.success(), "{}", String::from_utf8_lossy(&text.stderr));
    let text = String::from_utf8_lossy(&text.stdout);
    let digest = report_json(&dir)["ics_sha256"].as_str().unwrap().to_owned();
    // Table cells wrap, so words are compared with the line breaks folded into single spaces.
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in
        ["INCOMPLETE", "R503", "B. Bat-Erdene", "Zamiin-Uud lane 3", "unit 4 of lot 12", "Reviewed and accepted by"]
    {
        assert!(words.contains(needle), "the PDF has no {needle:?}:\n{text}");
    }
    // The digest may be broken over two lines on the page.
    let flat: String = text.split_whitespace().collect();
    assert!(flat.contains(&digest), "the PDF has no ICS SHA-256 {digest}:\n{text}");
    let info = std::process::Command::new(pdfinfo).arg(&pdf).output().unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("(A4)"), "{info}");
    let pages: u32 = info.lines().find_map(|l| l.strip_prefix("Pages:")).and_then(|n| n.trim().parse().ok()).unwrap();
    assert!(pages >= 2, "{info}");
    // No browser: stopped before any purpose, naming the setting.
    let none = scratch.join("no-browser");
    let out = khil()
        .env("KHIL_CHROMIUM", scratch.join("no-such-browser"))
        .args(["conformance", "run", "--class", "zfm", "--device", "sim:fingerprint?profile=r503", "--pdf", "--out"])
        .arg(&none)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("KHIL_CHROMIUM"), "{}", stderr(&out));
    assert!(!none.join("report.json").exists(), "a run started without the browser it needs");
}

/// The eMRTD chip class against khil's simulated passport (its built-in ICS): PASSED, and the MRZ that opens the
/// chip appears in no report, only as "(set; not shown)".
#[test]
fn emrtd_chip_runs_against_the_simulated_passport() {
    let out = khil().args(["conformance", "list", "--class", "emrtd-chip"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("EMRTD-BAC-002") && stdout(&out).contains("EMRTD-PA-002"), "{}", stdout(&out));

    let scratch = scratch("emrtd-run");
    let dir = scratch.join("out");
    let out = khil()
        .args(["conformance", "run", "--class", "emrtd-chip", "--device", "sim:passport?document=3", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(text.contains("emrtd-chip sim:passport?document=3: PASSED"), "{text}");
    assert_reports(&dir);
    assert_eq!(report_json(&dir)["summary"]["pass"], 21);
    for name in ["report.json", "junit.xml", "report.html"] {
        let report = std::fs::read_to_string(dir.join(name)).unwrap();
        assert!(!report.contains("E0957417") && !report.contains("GANKHUYAG"), "{name} shows the MRZ");
    }
    assert!(std::fs::read_to_string(dir.join("report.json")).unwrap().contains("(set; not shown)"));
}

/// An MRZ that does not open the chip is a mistake in the setup: exit status 2, naming the IXIT key.
#[test]
fn emrtd_chip_with_a_wrong_mrz_cannot_start() {
    let scratch = scratch("emrtd-wrong-mrz");
    let ics = scratch.join("wrong.toml");
    let text = std::fs::read_to_string(shipped_ics("passport.toml")).unwrap();
    let line = text.lines().find(|l| l.starts_with("mrz = ")).unwrap();
    let specimen =
        "mrz = \"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\\nL898902C36UTO7408122F1204159ZE184226B<<<<<10\"";
    std::fs::write(&ics, text.replace(line, specimen)).unwrap();
    let out = run_with_ics("emrtd-chip", "sim:passport?document=3", &ics, &scratch.join("out"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{}{err}", stdout(&out));
    assert!(err.contains("[ixit] mrz does not open the chip") && err.contains("6300"), "{err}");
    assert!(!err.contains("L898902C3"), "{err}");
}
