//! The runner at a small border point: two gates, a handful of generated travellers and crafted cases, every
//! device simulated over its protocol, the shipped rules and a real record store.

mod common;

use std::path::Path;

use common::today;

use khil_clearance::rules::Direction;
use khil_clearance::traffic;
use khil_scenario::run::{RunOptions, run_blocking};
use khil_scenario::{
    ArrivalSpec, CraftedTraveller, DecisionWord, DeskSpec, Expectations, Finger, FingerReference, GateSpec, Needs,
    Papers, PointSpec, PopulationSpec, Scenario, SensorKind, TravellerExpectation,
};
use khil_sim_docreader::{FraudClass, ParameterSpace};
use khil_sim_gate::Behaviour;

fn crafted(
    label: &str,
    at: f64,
    papers: Papers,
    finger: Finger,
    expect: DecisionWord,
    reasons: &[&str],
) -> CraftedTraveller {
    CraftedTraveller {
        label: label.into(),
        at,
        papers,
        finger,
        behaviour: Behaviour::Normal,
        chip_faults: Vec::new(),
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
        point: PointSpec {
            name: "zamiin-uud".into(),
            direction: Direction::Exit,
            upload_every_minutes: 5.0,
            finger_reference: FingerReference::Dg3,
        },
        gates: vec![
            GateSpec { name: "gate-1".into(), ..GateSpec::default() },
            GateSpec { name: "gate-2".into(), ..GateSpec::default() },
        ],
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
            watchlist_others: 0,
            impostors: 0.0,
            foreigners: 0.0,
            first_entry: 0.0,
            visa_required: 0.0,
        },
        crafted: vec![
            crafted(
                "counterfeit",
                from + 60.0,
                Papers::Specimen {
                    class: FraudClass::CounterfeitOfficePaper,
                    index: 0,
                    space: ParameterSpace::Development,
                },
                Finger::Other(900_001),
                DecisionWord::Refer,
                &["document.forged_or_altered"],
            ),
            crafted(
                "child-alone",
                from + 90.0,
                Papers::First(Needs::ChildCitizen),
                Finger::Own,
                DecisionWord::Refer,
                &["minors."],
            ),
        ],
        incidents: vec![],
        expect: Expectations::default(),
    }
}

fn options(dir: &Path) -> RunOptions {
    RunOptions { out: dir.to_path_buf(), today: today(), progress: None, central: None }
}

/// Gate 1 has the ZFM scanner, gate 2 a biometric reader on its OSDP line: both clear travellers alike.
fn mixed_sensors() -> Scenario {
    let mut scenario = small_point();
    scenario.gates[1].sensors = vec![SensorKind::OSDP_BIO];
    scenario
}

#[test]
fn a_small_point_releases_genuine_citizens_and_refers_the_crafted_cases_the_same_every_run() {
    let dir = khil_test_support::temp_dir("scenario-run");
    let (result, timing) = run_blocking(&mixed_sensors(), &options(&dir.path().join("a"))).unwrap();
    let t = &result.travellers;
    assert_eq!(t.len(), 6, "4 generated and 2 crafted");
    assert!(t.windows(2).all(|w| w[0].arrived <= w[1].arrived), "in order of arrival");
    for traveller in t {
        let who = format!("traveller {} ({:?})", traveller.number, traveller.label);
        assert!(traveller.gate.is_some() && traveller.record.is_some(), "{who}: processed and recorded");
        match traveller.label.as_deref() {
            None => {
                assert_eq!(traveller.truth, "genuine");
                assert_eq!(traveller.decision, DecisionWord::Release, "{who}: {:?}", traveller.reasons);
                let took = traveller.transaction.unwrap();
                assert!((10.0..20.0).contains(&took), "{who}: transaction {took} s");
            }
            Some("counterfeit") => {
                assert_eq!(traveller.decision, DecisionWord::Refer);
                assert!(
                    traveller.reasons.iter().any(|r| r.starts_with("document.forged_or_altered")),
                    "{who}: {:?}",
                    traveller.reasons
                );
            }
            Some("child-alone") => {
                assert_eq!(traveller.decision, DecisionWord::Refer);
                assert!(
                    traveller.reasons.iter().any(|r| r.starts_with("minors.alone")),
                    "{who}: {:?}",
                    traveller.reasons
                );
            }
            Some(other) => panic!("unexpected traveller {other}"),
        }
        if traveller.decision == DecisionWord::Refer {
            let (left, seen) = (traveller.left_gate.unwrap(), traveller.desk_done.expect("the desk saw them"));
            assert!(seen > left, "{who}: seen at the desk at {seen}, after leaving the gate at {left}");
        }
    }
    // Both gates worked, the scanner's and the bio reader's; the queue and the desk emptied.
    assert!(result.gates.iter().all(|g| g.travellers > 0), "{:?}", result.gates);
    assert_eq!(result.queue.last().map(|s| s.length), Some(0));
    assert_eq!(result.desk_queue.last().map(|s| s.length), Some(0));
    assert_eq!((result.records.committed, result.records.verified), (6, Some(true)), "{:?}", result.records);
    assert_eq!(timing.decision_cpu_ms.len(), 6);
    assert!(timing.decision_cpu_ms.iter().all(|ms| *ms > 0.0));

    // Same seed, same outcomes, byte for byte.
    let (again, _) = run_blocking(&mixed_sensors(), &options(&dir.path().join("b"))).unwrap();
    assert_eq!(serde_json::to_string(&result).unwrap(), serde_json::to_string(&again).unwrap());
}

/// A gate whose OSDP line to its I/O board is cut goes out of service; the travellers it could not take are
/// sent to the officers with the reason, and the other gate takes the rest. A scanner unplugged mid-flow makes a
/// degraded referral. Nobody is lost, every record verifies.
#[test]
fn a_gate_that_loses_its_osdp_line_goes_out_of_service_and_the_point_goes_on() {
    let mut scenario = small_point();
    scenario.arrivals.limit = Some(0);
    let from = scenario.arrivals.from;
    // About a minute of polls (20 a second, MACed replies) before the board's line drops.
    scenario.gates[1].gate_io_faults = vec!["close:at=20000,dir=tx".into()];
    scenario.crafted = (0..5)
        .map(|i| {
            crafted(
                &format!("citizen-{i}"),
                from + 5.0 + 20.0 * f64::from(i),
                Papers::First(Needs::AdultCitizen),
                Finger::Own,
                DecisionWord::Release,
                &[],
            )
        })
        .collect();
    let dir = khil_test_support::temp_dir("scenario-faults");
    let (result, _) = run_blocking(&scenario, &options(dir.path())).unwrap();
    let summary = |name: &str| result.gates.iter().find(|g| g.name == name).unwrap().clone();
    assert!(summary("gate-2").faults.iter().any(|f| f.contains("out of service")), "{:?}", result.gates);
    assert!(result.incidents.iter().any(|i| i.what == "gate gate-2 out of service"), "{:?}", result.incidents);
    assert_eq!(result.travellers.len(), 5);
    let not_processed: Vec<_> = result.travellers.iter().filter(|t| t.decision == DecisionWord::NotProcessed).collect();
    assert_eq!(not_processed.len(), 1, "only the traveller at the dead gate: {:#?}", result.travellers);
    assert_eq!(not_processed[0].gate.as_deref(), Some("gate-2"));
    assert!(not_processed[0].desk_done.is_some(), "sent to the officers");
    assert!(not_processed[0].reasons[0].starts_with("not processed:"), "{:?}", not_processed[0].reasons);
    let mut later = result.travellers.iter().filter(|t| t.started > not_processed[0].started);
    assert!(later.clone().count() > 0 && later.clone().all(|t| t.gate.as_deref() == Some("gate-1")));
    assert!(later.all(|t| t.decision == DecisionWord::Release));
    assert_eq!(result.records.verified, Some(true));
    assert_eq!(result.records.committed, 4);
}

/// A traveller with someone on their heels: two people in the mantrap is an alarm; an officer resets the gate,
/// the traveller goes to the desk with the reason, and the gate takes the next traveller.
#[test]
fn tailgating_is_an_alarm_an_officer_resets_and_the_gate_goes_on() {
    let mut scenario = small_point();
    scenario.arrivals.limit = Some(0);
    scenario.gates.truncate(1);
    let from = scenario.arrivals.from;
    let mut tailgated = crafted(
        "tailgated",
        from + 5.0,
        Papers::First(Needs::AdultCitizen),
        Finger::Own,
        DecisionWord::NotProcessed,
        &[],
    );
    tailgated.behaviour = Behaviour::Tailgater;
    let next =
        crafted("next", from + 10.0, Papers::First(Needs::AdultCitizen), Finger::Own, DecisionWord::Release, &[]);
    scenario.crafted = vec![tailgated, next];
    let dir = khil_test_support::temp_dir("scenario-tailgate");
    let (result, _) = run_blocking(&scenario, &options(dir.path())).unwrap();
    let t = &result.travellers;
    assert_eq!(t[0].decision, DecisionWord::NotProcessed, "{:#?}", t[0]);
    assert!(t[0].reasons.iter().any(|r| r.contains("tailgating")), "{:?}", t[0].reasons);
    assert!(t[0].reasons.iter().any(|r| r.starts_with("an officer reset the gate")), "{:?}", t[0].reasons);
    assert!(t[0].desk_done.is_some());
    assert_eq!(t[1].decision, DecisionWord::Release, "the gate is back in service: {:#?}", t[1]);
    assert!(result.gates[0].faults.is_empty(), "{:?}", result.gates);
}

/// The gates lose power for two minutes while travellers come: nobody is lost (each has an outcome and the
/// released ones a record), the gate comes back and takes the travellers after the cut.
#[test]
fn a_power_cut_at_the_gates_loses_nobody_and_the_gate_comes_back() {
    let mut scenario = small_point();
    scenario.arrivals.limit = Some(0);
    scenario.gates.truncate(1);
    let from = scenario.arrivals.from;
    scenario.crafted = [5.0, 25.0, 200.0]
        .iter()
        .enumerate()
        .map(|(i, at)| {
            crafted(
                &format!("citizen-{i}"),
                from + at,
                Papers::First(Needs::AdultCitizen),
                Finger::Own,
                DecisionWord::Release,
                &[],
            )
        })
        .collect();
    scenario.incidents = vec![khil_scenario::Incident::PowerCut { at: from + 30.0, seconds: 120.0 }];
    let dir = khil_test_support::temp_dir("scenario-power");
    let (result, _) = run_blocking(&scenario, &options(dir.path())).unwrap();
    for t in &result.travellers {
        println!(
            "{} {:?} {:?} {:?}",
            t.number,
            t.decision,
            t.reasons,
            t.timeline.iter().map(|s| &s.outcome).collect::<Vec<_>>()
        );
    }
    println!("{:?}", result.incidents);
    let t = &result.travellers;
    assert_eq!(t.len(), 3);
    assert_eq!(t[0].decision, DecisionWord::Release, "before the cut");
    assert_ne!(t[1].decision, DecisionWord::Release, "caught by the cut: {:#?}", t[1]);
    assert!(t[1].desk_done.is_some(), "sent to the officers");
    assert_eq!(t[2].decision, DecisionWord::Release, "after the power is back: {:#?}", t[2]);
    assert!(result.incidents.iter().any(|i| i.what.starts_with("power cut")));
    assert_eq!(result.records.verified, Some(true));
    let released_with_records = t.iter().filter(|t| t.decision == DecisionWord::Release && t.record.is_some()).count();
    assert_eq!(released_with_records, 2);
}

/// Foreigners among the generated travellers, at an entry point that reads no DG3: visa-exempt ones enrolled at
/// an earlier entry are verified against that enrolment and released; those crossing for the first time have
/// none, and go to the desk (verification not possible) to be enrolled; visa nationals hold an e-visa the point's
/// systems know and are verified against their visa enrolment. Citizens go on being verified against the
/// registry. Leaving (no first entries), every one of them is released: their stay is known and inside the rules.
#[test]
fn foreigners_are_verified_against_their_entry_or_visa_enrolment_and_first_timers_go_to_the_desk() {
    let mut scenario = small_point();
    scenario.point.finger_reference = FingerReference::Registry;
    scenario.point.direction = Direction::Entry;
    scenario.population.foreigners = 0.7;
    scenario.population.first_entry = 0.4;
    scenario.population.visa_required = 0.4;
    scenario.arrivals.limit = Some(12);
    scenario.crafted.clear();
    let dir = khil_test_support::temp_dir("scenario-foreigners");
    let finger = |t: &khil_scenario::TravellerOutcome| {
        t.timeline.iter().find(|s| s.step == "finger").map(|s| s.outcome.clone()).unwrap_or_default()
    };
    let (result, _) = run_blocking(&scenario, &options(&dir.path().join("entry"))).unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for t in &result.travellers {
        let who = format!("traveller {} ({}, {}): {:?} {}", t.number, t.nationality, t.truth, t.reasons, finger(t));
        let (decision, register) = match (t.nationality.as_str(), t.truth.as_str()) {
            ("MNG", "genuine") => (DecisionWord::Release, Some("national registry")),
            ("CHN" | "KOR", "genuine") => (DecisionWord::Release, Some("visa enrolment")),
            (_, "genuine") => (DecisionWord::Release, Some("entry enrolment")),
            (_, "first-entry") => (DecisionWord::Refer, None),
            _ => panic!("unexpected {who}"),
        };
        *seen.entry(register).or_insert(0) += 1;
        assert_eq!(t.decision, decision, "{who}");
        match register {
            Some(register) => assert!(finger(t).contains(register), "{who}"),
            None => assert!(t.reasons.iter().any(|r| r.starts_with("biometric.not_possible")), "{who}"),
        }
    }
    assert_eq!(seen.len(), 4, "citizens, visa nationals, enrolled foreigners and first entries: {seen:?}");

    scenario.point.direction = Direction::Exit;
    scenario.population.first_entry = 0.0;
    let (result, _) = run_blocking(&scenario, &options(&dir.path().join("exit"))).unwrap();
    assert!(result.travellers.iter().any(|t| t.nationality != "MNG"), "{:?}", result.travellers);
    for t in &result.travellers {
        assert_eq!(
            t.decision,
            DecisionWord::Release,
            "leaving: traveller {} ({}): {:?}",
            t.number,
            t.nationality,
            t.reasons
        );
    }
}

/// A point that reads no DG3 verifies citizens against the national registry's enrolment: a citizen with their
/// own finger is released (the finger step says which reference), an impostor is referred for the mismatch, a
/// foreigner (no enrolment in the registry, DG3 unread) is referred, verification not possible; and the chip read,
/// without DG3's 70-odd kB, is shorter than at a point that reads DG3.
#[test]
fn with_the_registry_as_reference_citizens_are_verified_without_dg3() {
    let mut scenario = small_point();
    scenario.point.finger_reference = FingerReference::Registry;
    scenario.arrivals.limit = Some(0);
    let from = scenario.arrivals.from;
    scenario.crafted = vec![
        crafted("citizen", from + 5.0, Papers::First(Needs::AdultCitizen), Finger::Own, DecisionWord::Release, &[]),
        crafted(
            "impostor",
            from + 40.0,
            Papers::First(Needs::AdultCitizen),
            Finger::Other(900_002),
            DecisionWord::Refer,
            &["biometric.no_match"],
        ),
        crafted(
            "foreigner",
            from + 80.0,
            Papers::First(Needs::AdultForeigner),
            Finger::Own,
            DecisionWord::Refer,
            &["biometric.not_possible"],
        ),
    ];
    scenario.gates.truncate(1);
    let dir = khil_test_support::temp_dir("scenario-registry");
    let (result, _) = run_blocking(&scenario, &options(&dir.path().join("registry"))).unwrap();
    let by = |label: &str| result.travellers.iter().find(|t| t.label.as_deref() == Some(label)).unwrap().clone();
    let step = |t: &khil_scenario::TravellerOutcome, name: &str| {
        t.timeline.iter().find(|s| s.step == name).unwrap_or_else(|| panic!("no {name} step: {:?}", t.timeline)).clone()
    };
    let citizen = by("citizen");
    assert_eq!(citizen.decision, DecisionWord::Release, "{:?}", citizen.reasons);
    assert!(step(&citizen, "finger").outcome.contains("national registry"), "{:?}", step(&citizen, "finger"));
    let impostor = by("impostor");
    assert_eq!(impostor.decision, DecisionWord::Refer);
    assert!(impostor.reasons.iter().any(|r| r.starts_with("biometric.no_match")), "{:?}", impostor.reasons);
    let foreigner = by("foreigner");
    assert_eq!(foreigner.decision, DecisionWord::Refer);
    assert!(foreigner.reasons.iter().any(|r| r.starts_with("biometric.not_possible")), "{:?}", foreigner.reasons);

    // The same citizen at a point that reads DG3: verified against DG3, and the chip read takes longer.
    scenario.point.finger_reference = FingerReference::Dg3;
    scenario.crafted.truncate(1);
    let (dg3, _) = run_blocking(&scenario, &options(&dir.path().join("dg3"))).unwrap();
    let with_dg3 = dg3.travellers[0].clone();
    assert_eq!(with_dg3.decision, DecisionWord::Release, "{:?}", with_dg3.reasons);
    assert!(step(&with_dg3, "finger").outcome.contains("Dg3"), "{:?}", step(&with_dg3, "finger"));
    let (short, long) = (step(&citizen, "chip").took, step(&with_dg3, "chip").took);
    assert!(short + 2.0 < long, "chip read {short} s without DG3, {long} s with it");
}
