//! `khil document examine` as users run it: the simulated document reader in process (`sim:docreader?...`, its
//! pages rendered under white, infrared and ultraviolet light) and, for the chip, the simulated passport behind
//! the same inspection system `khil document read` uses. Genuine documents pass with every chip comparison made;
//! forged, altered and invalid ones fail on the check that should catch them; the HTML page outlines what was
//! checked; what cannot run exits 2 naming why. Detection rates over thousands of specimens are
//! `khil bench examine`'s.

mod common;

use std::process::Output;

use common::khil;
use khil_mrtd::mrz::CivilDate;
use khil_sim_docreader::{Catalogue, FraudClass, ParameterSpace};
use serde_json::Value;

fn examine(args: &[&str]) -> Output {
    // The simulators' reference day: population documents are valid then, expired specimens are not.
    let mut command = khil();
    command.args(["document", "examine"]);
    if !args.contains(&"--date") {
        command.args(["--date", "2026-06-01"]);
    }
    if !args.contains(&"--wait") {
        command.args(["--wait", "10"]);
    }
    command.args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)))
}

fn state<'a>(v: &'a Value, check: &str) -> &'a str {
    v["checks"].as_array().unwrap().iter().find(|c| c["check"] == check).unwrap_or_else(|| panic!("no {check}: {v}"))
        ["state"]
        .as_str()
        .unwrap()
}

fn reference_day() -> CivilDate {
    CivilDate::new(2026, 6, 1).unwrap()
}

#[test]
fn a_genuine_passport_passes_with_its_chip_compared() {
    let out = examine(&["--device", "sim:docreader?document=3", "--chip", "sim:passport?document=3"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let v = json(&out);
    assert_eq!(v["decision"], "genuine", "{v}");
    for check in [
        "mrz-validity",
        "document-model",
        "uv-substrate",
        "ir-mrz-absorption",
        "uv-feature",
        "ir-viz-dropout",
        "portrait-vs-chip",
        "mrz-vs-viz",
        "mrz-vs-chip",
        "chip-authentication",
        "validity",
    ] {
        assert_eq!(state(&v, check), "pass", "{check}: {v}");
    }
    assert!(v["chip"]["access"].as_str().unwrap().starts_with("PACE"), "{v}");
    // No document data in the output.
    let number = khil_sim_population::documents::Documents::new(0, reference_day()).document(3).document_number;
    assert!(!text(&out.stdout).contains(&number), "the output shows the document number");
}

#[test]
fn a_chip_that_does_not_belong_to_the_page_is_not_passed_over() {
    // Document 4's chip does not open with document 3's MRZ (BAC/PACE keys come from it): the chip checks cannot
    // pass, and the output says why.
    let out = examine(&["--device", "sim:docreader?document=3", "--chip", "sim:passport?document=4"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let v = json(&out);
    assert_eq!(v["decision"], "forged-or-altered", "{v}");
    assert_eq!(state(&v, "chip-authentication"), "fail", "{v}");
    assert_ne!(state(&v, "mrz-vs-chip"), "pass", "{v}");
    assert_ne!(state(&v, "portrait-vs-chip"), "pass", "{v}");
    assert!(v["notes"].to_string().contains("did not open"), "{v}");
}

#[test]
fn forged_altered_and_invalid_documents_fail_on_their_check() {
    for (fraud, check, decision) in [
        ("ir-transparent-mrz", "ir-mrz-absorption", "forged-or-altered"),
        ("counterfeit-office-paper", "uv-substrate", "forged-or-altered"),
        ("altered-biodata", "mrz-vs-viz", "forged-or-altered"),
        ("altered-mrz-check-digit", "mrz-validity", "forged-or-altered"),
        ("expired", "validity", "not-valid"),
    ] {
        let device = format!("sim:docreader?document=1&fraud={fraud}");
        let out = examine(&["--device", &device]);
        assert_eq!(out.status.code(), Some(1), "{fraud}: {}{}", text(&out.stdout), text(&out.stderr));
        let v = json(&out);
        assert_eq!(v["decision"], decision, "{fraud}: {v}");
        assert_eq!(state(&v, check), "fail", "{fraud}: {v}");
        assert!(v["reason"].as_str().unwrap().contains(check), "{fraud}: {v}");
    }
}

#[test]
fn a_stolen_blank_is_caught_by_the_stop_list_and_the_html_page_outlines_the_checks() {
    let specimen = Catalogue::new(0, reference_day(), ParameterSpace::Development).specimen(FraudClass::StolenBlank, 2);
    let (state_code, number) = specimen.listed.clone().expect("a stolen blank is listed");
    let (dir, list) = khil_test_support::temp_file("examine", "lost.txt");
    std::fs::write(&list, format!("# lost and stolen\n{state_code} {number}\n")).unwrap();
    let html = dir.path().join("page.html");
    let out = examine(&[
        "--device",
        "sim:docreader?document=2&fraud=stolen-blank",
        "--stop-list",
        list.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let v = json(&out);
    assert_eq!(state(&v, "lost-stolen"), "fail", "{v}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("data-decision=\"not-valid\""), "the page's decision");
    // Each light's image, and the regions checked outlined on them.
    for light in ["white", "infrared", "ultraviolet"] {
        assert!(page.contains(&format!("data-light=\"{light}\"")), "no {light} image");
    }
    assert!(page.matches("data:image/png;base64,").count() >= 3, "the images are embedded");
    assert!(page.matches("<polygon class=\"pass\"").count() >= 4, "the checked regions are outlined");
    assert!(page.contains("<tr class=\"fail\" data-check=\"lost-stolen\">"), "the failed check is marked");
    assert!(!page.contains(&number), "the page shows the document number as text");

    // Without the list, nothing says it is stolen: its features are genuine.
    let out = examine(&["--device", "sim:docreader?document=2&fraud=stolen-blank"]);
    assert_eq!(state(&json(&out), "lost-stolen"), "pass");
}

#[test]
fn what_cannot_run_exits_2_naming_it() {
    let cases: [(&[&str], &str); 5] = [
        (&["--device", "sim:docreader", "--wait", "1"], "no document placed within 1 s"),
        (&["--device", "sim:docreader?fraud=expired"], "given with `document`"),
        (&["--device", "nonsense://x"], "--device"),
        (&["--device", "sim:docreader?document=1", "--date", "2026-13-01"], "--date 2026-13-01: expected YYYY-MM-DD"),
        (&["--device", "sim:docreader?document=1", "--stop-list", "/nonexistent/lost.txt"], "--stop-list /nonexistent"),
    ];
    for (args, expected) in cases {
        let out = examine(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(expected), "{args:?}: {}", text(&out.stderr));
    }
    let (_dir, list) = khil_test_support::temp_file("examine", "lost.txt");
    std::fs::write(&list, "MNG 12345678\nnot a line of the list\n").unwrap();
    let out = examine(&["--device", "sim:docreader?document=1", "--stop-list", list.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("line 2: expected `STATE NUMBER`"), "{}", text(&out.stderr));
}
