//! Every scenario shipped in `scenarios/` parses, says what it exercises, and is sized to run quickly.

mod common;

use common::scenarios_dir;
use khil_clearance::rules::Direction;
use khil_clearance::traffic::{self, ArrivalProfile};
use khil_scenario::Scenario;

fn shipped() -> Vec<(String, Scenario)> {
    let mut files: Vec<_> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let scenario = khil_scenario::file::load(&path).unwrap_or_else(|e| panic!("{e}"));
            (path.file_name().unwrap().to_string_lossy().into_owned(), scenario)
        })
        .collect()
}

/// How many generated travellers the scenario's window, share and limit give with its seed: the arrival process
/// the runner draws from (its own seed stream may differ; the count is what matters).
fn generated(s: &Scenario) -> usize {
    let direction = match s.point.direction {
        Direction::Entry => traffic::Direction::Entry,
        Direction::Exit => traffic::Direction::Exit,
    };
    let day = ArrivalProfile::of(s.arrivals.profile, s.arrivals.surge).day(Some(direction), s.arrivals.share, s.seed);
    let n = day.iter().filter(|t| (s.arrivals.from..s.arrivals.until).contains(*t)).count();
    s.arrivals.limit.map_or(n, |limit| n.min(limit))
}

#[test]
fn every_shipped_scenario_parses_and_says_what_it_exercises() {
    let all = shipped();
    let names: Vec<&str> = all.iter().map(|(f, _)| f.as_str()).collect();
    for wanted in [
        "zamiin-uud-day.toml",
        "airport-day.toml",
        "altanbulag-day.toml",
        "demo.toml",
        "demo-bio-reader.toml",
        "fraud-classes.toml",
        "watchlist-hits.toml",
        "child-alone.toml",
        "overstay-exit.toml",
        "scanner-disconnect.toml",
        "scanner-fallback.toml",
        "reader-fallback.toml",
        "osdp-link-loss.toml",
        "tailgating.toml",
        "chip-not-opening.toml",
        "power-cut.toml",
        "central-down.toml",
    ] {
        assert!(names.contains(&wanted), "{wanted} is not shipped: {names:?}");
    }
    for (file, s) in &all {
        let text = std::fs::read_to_string(scenarios_dir().join(file)).unwrap();
        assert!(text.starts_with("# "), "{file} does not start with a comment saying what it exercises");
        assert_eq!(format!("{}.toml", s.name), *file, "a scenario is named after its file");
        assert!(!s.description.is_empty(), "{file}: no description");
        let checks = s.crafted.iter().filter(|t| t.expect.is_some()).count()
            + [
                s.expect.released,
                s.expect.fraud_referred,
                s.expect.genuine_referred,
                s.expect.queue_p95_minutes,
                s.expect.transaction_p50_seconds,
            ]
            .iter()
            .flatten()
            .count();
        assert!(checks > 0, "{file} expects nothing of a traveller or a figure");
        let n = generated(s) + s.crafted.len();
        assert!(n <= 300, "{file}: {n} travellers, more than a scenario should run in a test's time");
        eprintln!("{file}: {n} travellers ({} crafted), {} gates", s.crafted.len(), s.gates.len());
    }
}

#[test]
fn the_demo_is_a_short_run_at_zamiin_uud_on_four_gates() {
    let all = shipped();
    let (_, demo) = all.iter().find(|(f, _)| f == "demo.toml").unwrap();
    assert_eq!((demo.point.name.as_str(), demo.gates.len()), ("zamiin-uud", 4));
    let n = generated(demo) + demo.crafted.len();
    assert!((60..=100).contains(&n), "the demo has {n} travellers");
}

#[test]
fn the_day_scenarios_run_a_full_window_at_each_point() {
    let all = shipped();
    for (file, point) in
        [("zamiin-uud-day.toml", "zamiin-uud"), ("airport-day.toml", "airport"), ("altanbulag-day.toml", "altanbulag")]
    {
        let (_, s) = all.iter().find(|(f, _)| f == file).unwrap();
        assert_eq!((s.point.name.as_str(), s.arrivals.profile.name()), (point, point), "{file}");
        let n = generated(s);
        assert!((150..=300).contains(&n), "{file}: {n} generated travellers");
        assert!(s.expect.queue_p95_minutes.is_some() && s.expect.records_verify, "{file}");
    }
}

#[test]
fn fraud_classes_has_one_specimen_of_each_class_expected_referred() {
    use khil_scenario::{DecisionWord, Papers};
    use khil_sim_docreader::FraudClass;
    let all = shipped();
    let (_, s) = all.iter().find(|(f, _)| f == "fraud-classes.toml").unwrap();
    for class in FraudClass::ALL.into_iter().filter(|c| *c != FraudClass::Genuine) {
        let t = s
            .crafted
            .iter()
            .find(|t| matches!(t.papers, Papers::Specimen { class: c, .. } if c == class))
            .unwrap_or_else(|| panic!("no specimen of {}", class.name()));
        let expect = t.expect.as_ref().unwrap_or_else(|| panic!("{}: nothing expected", t.label));
        assert_eq!(expect.decision, DecisionWord::Refer, "{}", t.label);
        assert!(!expect.reasons.is_empty(), "{}: no reason expected", t.label);
    }
}

/// The crafted-case scenarios run end to end (every device simulated) and every expectation holds: each fraud
/// class referred for its own reason, a mute chip not taken for a forgery, a child leaving alone, an overstayer,
/// a tailgater, listed travellers found through the index among 5,000 other listed people. (The day scenarios are minutes each: they are run by hand and their figures are in the README.)
#[test]
fn the_crafted_case_scenarios_meet_their_expectations() {
    let today = common::today();
    let dir = khil_test_support::temp_dir("shipped-runs");
    for name in [
        "fraud-classes",
        "chip-not-opening",
        "child-alone",
        "overstay-exit",
        "tailgating",
        "scanner-fallback",
        "reader-fallback",
        "watchlist-hits",
    ] {
        let scenario = khil_scenario::file::load(&scenarios_dir().join(format!("{name}.toml"))).unwrap();
        let options =
            khil_scenario::run::RunOptions { out: dir.path().join(name), today, progress: None, central: None };
        let (mut result, _) = khil_scenario::run::run_blocking(&scenario, &options).unwrap();
        khil_scenario::expect::check(&scenario, &mut result);
        let failures = khil_scenario::expect::failures(&result);
        assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n"));
        assert!(!result.expectations.is_empty(), "{name}: nothing was checked");
    }
}
