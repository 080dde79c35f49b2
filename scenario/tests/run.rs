//! The runner at a small border point: two gates, a handful of generated travellers and crafted cases, every
//! device simulated over its protocol, the shipped rules and a real record store.

use std::path::Path;

use khil_clearance::rules::Direction;
use khil_clearance::traffic;
use khil_scenario::run::{RunOptions, run_blocking};
use khil_scenario::{
    ArrivalSpec, CraftedTraveller, DecisionWord, DeskSpec, Expectations, Finger, GateSpec, Needs, Papers,
    PointSpec, PopulationSpec, Scenario, TravellerExpectation,
};
use khil_sim_docreader::{FraudClass, ParameterSpace};
use khil_sim_gate::Behaviour;

fn today() -> khil_mrtd::mrz::CivilDate {
    let now = der::DateTime::from_system_time(std::time::SystemTime::now()).unwrap();
    khil_mrtd::mrz::CivilDate::new(now.year(), now.month(), now.day()).unwrap()
}

fn crafted(label: &str, at: f64, papers: Papers, finger: Finger, expect: DecisionWord, reasons: &[&str]) -> CraftedTraveller {
    CraftedTraveller {
        label: label.into(),
        at,
        papers,
        finger,
        behaviour: Behaviour::Normal,
        watchlisted: None,
        entered_days_ago: None,
        expect: Some(TravellerExpectation {
            decision: expect,
            reasons: reasons.iter().map(|r| (*r).to_owned()).collect(),
        }),
    }
}

fn small_point() -> Scenario {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/rules/mongolia.toml");
    let from = 8.0 * 3600.0;
    Scenario {
        name: "small".into(),
        description: "two gates, a few travellers".into(),
        file: "(test)".into(),
        seed: 3,
        rules,
        point: PointSpec { name: "zamiin-uud".into(), direction: Direction::Exit },
        gates: vec![GateSpec { name: "gate-1".into(), ..GateSpec::default() }, GateSpec { name: "gate-2".into(), ..GateSpec::default() }],
        desk: DeskSpec { officers: 1, median_minutes: 4.0, p90_minutes: 10.0 },
        arrivals: ArrivalSpec {
            profile: traffic::Point::ZamiinUud,
            surge: traffic::Surge::None,
            share: 0.5,
            from,
            until: 12.0 * 3600.0,
            limit: Some(4),
        },
        population: PopulationSpec {
            finger_quality: "good".into(),
            fraud: vec![],
            fraud_space: ParameterSpace::Development,
            watchlist: vec![],
            impostors: 0.0,
        },
        crafted: vec![
            crafted(
                "counterfeit",
                from + 60.0,
                Papers::Specimen { class: FraudClass::CounterfeitOfficePaper, index: 0, space: ParameterSpace::Development },
                Finger::Other(900_001),
                DecisionWord::Refer,
                &["document.forged_or_altered"],
            ),
            crafted("child-alone", from + 90.0, Papers::First(Needs::ChildCitizen), Finger::Own, DecisionWord::Refer, &["minors."]),
        ],
        incidents: vec![],
        expect: Expectations::default(),
    }
}

#[test]
fn a_small_point_releases_genuine_citizens_and_refers_the_crafted_cases() {
    let dir = khil_test_support::temp_dir("scenario-run");
    let options = RunOptions { out: dir.path().to_path_buf(), today: today(), progress: None };
    let started = std::time::Instant::now();
    let (result, timing) = run_blocking(&small_point(), &options).unwrap();
    println!("{:.1} s wall; {}", started.elapsed().as_secs_f64(), serde_json::to_string_pretty(&result).unwrap());
    println!("{timing:?}");
    assert_eq!(result.travellers.len(), 6);
}
