//! The clearance flow at one gate, end to end on tokio's paused clock: `khil-sim-point` stands up the gate, the
//! document reader, the chip's field and the fingerprint scanner in this process and plays the traveller; the
//! flow reaches every device through its driver and wire protocol only (OSDP with the secure channel, khil's
//! document-reader channel, APDUs, ZFM frames on a paced UART).
//!
//! The decision here is a stand-in ([`TestDecide`]): the rules engine is wired in behind `Decide` elsewhere.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use khil_clearance::flow::{
    BruteForceWatchlist, Decide, Device, DeviceLinks, DeviceSetup, Devices, Evidence, FingerSensor, FlowConfig,
    GateFlow, NoEnrolments, NothingKnown, Outcome, RecordFuture, RecordSink, ReferenceKind, RulesDecision, SensorLink,
    Services, Step, StoreSink, Verdict, Watchlist, WatchlistHit,
};
use khil_clearance::gate::GateState;
use khil_clearance::records::{self, RecordStore};
use khil_examine::Decision;
use khil_fingerprint::driver::Options as ZfmOptions;
use khil_mrtd::mrz::CivilDate;
use khil_osdp::cp::CpConfig;
use khil_sim_docreader::{FraudClass, ParameterSpace};
use khil_sim_gate::{Flap, GateHandle};
use khil_sim_point::{Papers, Point, PointConfig, SensorKind, SensorLinks, Traveller, Walk, WalkEnd};
use khil_sim_population::documents::{Documents, Kind, State};

const SEED: u64 = 0;

/// Release only a genuine document whose holder's finger verified, with no watchlist hit and no device down.
struct TestDecide;

impl Decide for TestDecide {
    fn decide(&self, e: &Evidence, _today: CivilDate) -> Verdict {
        let mut reasons = Vec::new();
        match &e.document {
            None => reasons.push("no document was read".to_owned()),
            Some(d) => match &d.report.decision {
                Decision::Genuine => {}
                Decision::ForgedOrAltered { failed } | Decision::NotValid { failed } => reasons.push(format!(
                    "document {}: {}",
                    d.report.decision.name(),
                    failed.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
                )),
                Decision::UnableToExamine { reason } => reasons.push(format!("document unable-to-examine: {reason}")),
            },
        }
        match e.finger.as_ref().and_then(|f| f.verified) {
            Some(true) => {}
            Some(false) => reasons.push("finger not verified".into()),
            None => reasons.push("finger not verified: nothing to compare".into()),
        }
        for hit in e.watchlist.iter().flatten() {
            reasons.push(format!("watchlist {}: {}", hit.class, hit.entry));
        }
        for fault in &e.faults {
            reasons.push(format!("degraded: {} failed: {}", fault.device.name(), fault.error));
        }
        if reasons.is_empty() {
            Verdict {
                release: true,
                reasons: vec!["document genuine, finger verified, no watchlist hit".into()],
                rules_version: String::new(),
                watchlist_version: String::new(),
            }
        } else {
            Verdict { release: false, reasons, rules_version: String::new(), watchlist_version: String::new() }
        }
    }
}

/// What the record sink saw when it was called.
#[derive(Debug, Clone)]
struct Recorded {
    traveller: u64,
    release: bool,
    /// The exit flap's position (0 closed) and relay at the moment of recording.
    exit_position: f64,
    exit_relay: bool,
    at: tokio::time::Instant,
}

/// Keeps records in memory and notes the gate's exit flap when each was written; `fail`: refuses every record.
struct TestSink {
    gate: GateHandle,
    records: Mutex<Vec<Recorded>>,
    fail: bool,
    /// The point's real store, written first when there is one.
    store: Option<StoreSink>,
}

impl RecordSink for TestSink {
    fn record<'a>(&'a self, evidence: &'a Evidence, verdict: &'a Verdict) -> RecordFuture<'a> {
        Box::pin(async move {
            // A write that takes a little time, so that a flow not awaiting it would open the flap first.
            tokio::time::sleep(Duration::from_millis(30)).await;
            if self.fail {
                return Err("disk full".to_owned());
            }
            let id = match &self.store {
                Some(store) => Some(store.record(evidence, verdict).await?),
                None => None,
            };
            let model = self.gate.model();
            let r = Recorded {
                traveller: evidence.traveller,
                release: verdict.release,
                exit_position: model.flap_position(Flap::Exit),
                exit_relay: model.outputs()[usize::from(khil_osdp::gate_io::output::EXIT_FLAP)],
                at: tokio::time::Instant::now(),
            };
            drop(model);
            let mut records = self.records.lock().unwrap();
            records.push(r);
            Ok(id.unwrap_or_else(|| format!("crossing-{}", records.len())))
        })
    }
}

struct Rig {
    point: Point,
    flow: GateFlow,
    sink: Arc<TestSink>,
}

/// Today as the simulators' test PKI sees it (its certificates follow the current quarter).
fn today() -> CivilDate {
    let now = der::DateTime::from_system_time(std::time::SystemTime::now()).unwrap();
    CivilDate::new(now.year(), now.month(), now.day()).unwrap()
}

/// The first adult Mongolian passport holder of the population whose passport is valid today (the shipped rules
/// refer a minor leaving alone, as an e-gate cannot see who they travel with).
fn adult_citizen() -> u64 {
    let (y, m, d) = khil_sim_mrtd::sim::REFERENCE_DAY;
    let docs = Documents::new(SEED, CivilDate::new(y, m, d).unwrap());
    let eighteen_years_ago = today().add_years(-18).unwrap();
    (0..500)
        .map(|id| docs.document(id))
        .find(|d| {
            d.kind == Kind::Passport
                && d.issuing_state == State::Mongolia
                && !d.expired_on(today())
                && d.birth_date <= eighteen_years_ago
        })
        .expect("a valid adult Mongolian passport among the first 500")
        .id
}

/// The first Mongolian passport of the population that is valid today.
fn citizen() -> u64 {
    let (y, m, d) = khil_sim_mrtd::sim::REFERENCE_DAY;
    let docs = Documents::new(SEED, CivilDate::new(y, m, d).unwrap());
    (0..500)
        .map(|id| docs.document(id))
        .find(|d| d.kind == Kind::Passport && d.issuing_state == State::Mongolia && !d.expired_on(today()))
        .expect("a valid Mongolian passport among the first 500")
        .id
}

async fn rig(point: PointConfig, fail_records: bool) -> Rig {
    rig_deciding(point, fail_records, Arc::new(TestDecide), None).await
}

async fn rig_deciding(
    point: PointConfig,
    fail_records: bool,
    decide: Arc<dyn Decide>,
    store: Option<StoreSink>,
) -> Rig {
    let watchlist = Arc::new(BruteForceWatchlist::new(khil_biometrics::matcher::threshold_for(1e-6)));
    rig_searching(point, fail_records, decide, store, watchlist).await
}

async fn rig_searching(
    point: PointConfig,
    fail_records: bool,
    decide: Arc<dyn Decide>,
    store: Option<StoreSink>,
    watchlist: Arc<dyn Watchlist>,
) -> Rig {
    let (point, links) = Point::start(point).await.unwrap();
    let mut setup = DeviceSetup::new(links.gate_address, Some(links.gate_key));
    // A bio reader answers BUSY for as long as a scan takes (0.8 s): the CP keeps asking, every 50 ms.
    setup.cp = CpConfig { seed: Some(7), busy_retries: 40, ..CpConfig::default() };
    // An R307: no ReadProdInfo, so its geometry is configured.
    setup.scanner = ZfmOptions { geometry: Some((256, 288)), read_product_info: false, ..ZfmOptions::default() };
    let links = DeviceLinks {
        gate_io: links.gate_io,
        readers: links.readers,
        chip: Box::new(links.chip),
        sensors: links
            .sensors
            .into_iter()
            .map(|link| match link {
                SensorLinks::Zfm(line) => SensorLink::Zfm(line),
                SensorLinks::OsdpBio { address, key } => SensorLink::OsdpBio { address, key: Some(key) },
            })
            .collect(),
    };
    let devices = Devices::connect(links, setup).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), devices.gate.wait_for(|s| s == GateState::Idle))
        .await
        .expect("the gate comes into service")
        .unwrap();
    let pki = khil_sim_mrtd::sim::test_pki(SEED).unwrap();
    let mut config = FlowConfig::new("gate-1", today(), pki.trust_store());
    config.terminal = Some(pki.eac.terminal.clone());
    let sink =
        Arc::new(TestSink { gate: point.gate().clone(), records: Mutex::new(Vec::new()), fail: fail_records, store });
    let services = Services {
        decide,
        records: Arc::clone(&sink) as Arc<dyn RecordSink>,
        references: Arc::new(NoEnrolments),
        watchlist,
    };
    let flow = GateFlow::new(devices, config, services).unwrap();
    Rig { point, flow, sink }
}

impl Rig {
    /// One traveller through the gate: the world walks them, the flow processes them.
    async fn pass(&mut self, traveller: &Traveller) -> (Walk, Outcome) {
        let (walk, outcome) = tokio::join!(self.point.walk(traveller), self.flow.next_traveller());
        (walk.unwrap(), outcome.unwrap())
    }
}

/// The shipped Mongolian rules behind the flow, at an exit point that knows nothing beyond its devices.
fn shipped_rules() -> RulesDecision {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/rules/mongolia.toml");
    RulesDecision {
        rules: khil_clearance::rules::Rules::load(&path).unwrap(),
        direction: khil_clearance::rules::Direction::Exit,
        state: "MNG".into(),
        watchlist_version: "test-list-1".into(),
        context: NothingKnown,
    }
}

fn timeline(e: &Evidence) -> String {
    e.timeline
        .iter()
        .map(|s| {
            format!(
                "  {:<9} +{:>6.2} s  {:>6.2} s  {}",
                s.step.name(),
                s.started.as_secs_f64(),
                s.took.as_secs_f64(),
                s.outcome
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(start_paused = true)]
async fn a_genuine_citizen_passes_end_to_end() {
    let mut rig = rig(PointConfig::default(), false).await;
    let id = citizen();
    let (walk, outcome) = rig.pass(&Traveller::holder(id)).await;
    let Outcome::Released { evidence, verdict, record } = outcome else { panic!("not released: {outcome:#?}") };
    println!("traveller {id}: transaction {:.2} s\n{}", evidence.transaction_time().as_secs_f64(), timeline(&evidence));
    assert_eq!(walk.end, WalkEnd::Exited, "through the exit");
    assert!(verdict.release);
    assert_eq!(record, "crossing-1");

    // The record was written with the exit flap shut and its relay off, before the traveller left.
    let records = rig.sink.records.lock().unwrap().clone();
    assert_eq!(records.len(), 1);
    assert!(records[0].release && records[0].traveller == 1);
    assert_eq!((records[0].exit_position, records[0].exit_relay), (0.0, false), "exit closed while recording");

    // Evidence complete.
    let doc = evidence.document.as_ref().expect("the document was read");
    assert_eq!(doc.report.decision, Decision::Genuine, "{:#?}", doc.report.checks);
    assert!(doc.chip_access.as_deref().is_some_and(|a| a.starts_with("PACE")), "{:?}", doc.chip_access);
    assert!(doc.chip_checks.iter().all(|c| c.status.passed()), "{:?}", doc.chip_checks);
    assert!(doc.document.captures.white.is_some() && doc.document.captures.ultraviolet.is_some());
    let finger = evidence.finger.as_ref().unwrap();
    assert_eq!(finger.reference, ReferenceKind::Dg3, "DG3 read after terminal authentication");
    assert_eq!(finger.verified, Some(true), "{:?}", finger.attempts);
    assert!(finger.best_score().unwrap() >= finger.threshold);
    assert_eq!(evidence.watchlist.as_deref(), Some(&[][..]));
    assert!(evidence.faults.is_empty(), "{:?}", evidence.faults);

    // A plausible timeline: every step, in order, adding up to a gate transaction of seconds.
    let steps: Vec<Step> = evidence.timeline.iter().map(|s| s.step).collect();
    for step in [
        Step::Admit,
        Step::Page,
        Step::Chip,
        Step::Examine,
        Step::Finger,
        Step::Watchlist,
        Step::Decide,
        Step::Record,
        Step::Release,
    ] {
        assert!(steps.contains(&step), "{step:?} missing: {steps:?}");
    }
    let at = |s| evidence.step(s).unwrap();
    assert!(
        at(Step::Chip).started >= at(Step::Page).started + at(Step::Page).took,
        "the chip opens with the page's MRZ"
    );
    assert!(at(Step::Record).started + at(Step::Record).took <= at(Step::Release).started, "recorded before release");
    assert!(at(Step::Chip).took >= Duration::from_millis(500), "PACE, CA, AA and DG reads take air and chip time");
    let total = evidence.transaction_time();
    assert!((Duration::from_secs(5)..Duration::from_secs(30)).contains(&total), "{total:?}");
    assert!(records[0].at <= tokio::time::Instant::now() - at(Step::Release).took, "record before the release step");
}

/// The same citizen with a biometric reader on the gate's OSDP line instead of the ZFM scanner: BIOREAD brings the
/// reader's ANSI/INCITS 378 template over the secure channel (BUSY while it scans), the host verifies it against
/// DG3 as before; someone else's finger is tried three times and not verified.
#[tokio::test(start_paused = true)]
async fn an_osdp_bio_reader_takes_the_finger_instead_of_the_scanner() {
    let mut rig = rig(PointConfig { sensors: vec![SensorKind::OSDP_BIO], ..PointConfig::default() }, false).await;
    let (walk, outcome) = rig.pass(&Traveller::holder(citizen())).await;
    let Outcome::Released { evidence, .. } = outcome else { panic!("not released: {outcome:#?}") };
    println!("{}", timeline(&evidence));
    assert_eq!(walk.end, WalkEnd::Exited);
    let finger = evidence.finger.as_ref().unwrap();
    assert_eq!((finger.reference.clone(), finger.verified), (ReferenceKind::Dg3, Some(true)), "{:?}", finger.attempts);
    assert!(finger.attempts[0].minutiae >= 12, "{:?}", finger.attempts);
    assert!(evidence.faults.is_empty(), "{:?}", evidence.faults);
    let SensorKind::OsdpBio { scan } = SensorKind::OSDP_BIO else { unreachable!() };
    assert!(evidence.step(Step::Finger).unwrap().took >= scan, "a scan takes the reader's time");

    let (walk, outcome) = rig.pass(&Traveller::holder(citizen()).with_finger(Some(900_002))).await;
    let Outcome::Referred(referral) = outcome else { panic!("released: {outcome:#?}") };
    assert_eq!(walk.end, WalkEnd::TurnedBack);
    let finger = referral.evidence.finger.as_ref().unwrap();
    assert_eq!((finger.verified, finger.attempts.len()), (Some(false), 3), "{:?}", finger.attempts);
    assert!(referral.reasons.iter().any(|r| r == "finger not verified"), "{:?}", referral.reasons);
}

/// The shipped Mongolian rules behind the flow: a citizen with a genuine passport and their own finger leaves with
/// the rules that passed as reasons; a counterfeit page after them is referred by the forged-document rule, with
/// the rules' version in what the officer sees.
#[tokio::test(start_paused = true)]
async fn the_shipped_rules_release_a_genuine_citizen_and_refer_a_counterfeit_page() {
    let decide = shipped_rules();
    let dir = khil_test_support::temp_dir("flow-records");
    let db = dir.path().join("point.sqlite");
    let store = RecordStore::open(&db, "zamiin-uud").unwrap();
    let sink = StoreSink::new(Arc::new(Mutex::new(store)), records::Direction::Exit, 1_800_000_000_000);
    let mut rig = rig_deciding(PointConfig::default(), false, Arc::new(decide), Some(sink)).await;
    let (walk, outcome) = rig.pass(&Traveller::holder(adult_citizen())).await;
    let Outcome::Released { verdict, record, .. } = outcome else { panic!("not released: {outcome:#?}") };
    assert_eq!(record, "zamiin-uud/1");
    assert_eq!(verdict.rules_version, "mongolia-2026.12-1");
    assert_eq!(walk.end, WalkEnd::Exited);
    for passed in ["document.forged_or_altered", "document.expired", "biometric.", "watchlist."] {
        assert!(verdict.reasons.iter().any(|r| r.starts_with(passed)), "{passed} not among {:#?}", verdict.reasons);
    }

    let papers =
        Papers::Specimen { class: FraudClass::CounterfeitOfficePaper, index: 0, space: ParameterSpace::Development };
    let (walk, outcome) = rig.pass(&Traveller::holder(0).with_papers(papers).with_finger(Some(900_001))).await;
    let Outcome::Referred(referral) = outcome else { panic!("released: {outcome:#?}") };
    assert_eq!(walk.end, WalkEnd::TurnedBack);
    assert!(
        referral.reasons.iter().any(|r| r.starts_with("document.forged_or_altered (line ")),
        "{:#?}",
        referral.reasons
    );
    let records = rig.sink.records.lock().unwrap().clone();
    assert_eq!(records.iter().map(|r| r.release).collect::<Vec<_>>(), vec![true, false]);
    assert_eq!(referral.record.as_deref(), Some("zamiin-uud/2"));

    // Both are in the point's store, chained, with the rules that decided them; the page's MRZ is the record's.
    let store = RecordStore::open_existing(&db).unwrap();
    let stored = store.records_after(0, 10).unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].record.decision.outcome, records::Outcome::Released);
    assert_eq!(stored[1].record.decision.outcome, records::Outcome::Referred);
    assert!(stored[1].record.decision.reasons.iter().any(|r| r.rule == "document.forged_or_altered"));
    assert!(stored.iter().all(|s| s.record.decision.rules_version == "mongolia-2026.12-1"));
    assert!(stored[0].record.biometric.as_ref().is_some_and(|b| b.verdict == "match" && b.template_sha256.len() == 64));
    assert_eq!(stored[0].record.document.issuing_state, "MNG");
    drop(store);
    let report = records::verify(&db).unwrap();
    assert_eq!(report.records, 2, "{report:?}");
}

/// A watchlist whose search cannot be made (an index that refuses the probe, a list service down).
struct Unsearchable;

impl Watchlist for Unsearchable {
    fn search(&self, _: &khil_biometrics::minutia::Minutiae) -> Result<Vec<WatchlistHit>, String> {
        Err("the list's index is being rebuilt".into())
    }
}

#[tokio::test(start_paused = true)]
async fn a_search_that_cannot_be_made_is_the_rules_not_searched_never_an_empty_hit_list() {
    let mut rig =
        rig_searching(PointConfig::default(), false, Arc::new(shipped_rules()), None, Arc::new(Unsearchable)).await;
    let (walk, outcome) = rig.pass(&Traveller::holder(adult_citizen())).await;
    let Outcome::Referred(referral) = outcome else { panic!("released: {outcome:#?}") };
    assert_eq!(walk.end, WalkEnd::TurnedBack);
    assert!(referral.reasons.iter().any(|r| r.starts_with("watchlist.not_searched")), "{:#?}", referral.reasons);
    let evidence = &referral.evidence;
    assert!(evidence.watchlist.is_none());
    let step = evidence.timeline.iter().find(|s| s.step == Step::Watchlist).expect("a watchlist step");
    assert_eq!(step.outcome, "not searched: the list's index is being rebuilt", "{}", timeline(evidence));
}

#[tokio::test(start_paused = true)]
async fn a_forged_page_is_referred_with_the_examiners_reason() {
    let mut rig = rig(PointConfig::default(), false).await;
    let papers =
        Papers::Specimen { class: FraudClass::CounterfeitOfficePaper, index: 0, space: ParameterSpace::Development };
    // The counterfeiter carries the victim's chip (and their own finger).
    let (walk, outcome) = rig.pass(&Traveller::holder(0).with_papers(papers).with_finger(Some(900_001))).await;
    let Outcome::Referred(referral) = outcome else { panic!("released: {outcome:#?}") };
    println!("{}\n{:#?}", timeline(&referral.evidence), referral.reasons);
    assert_eq!(walk.end, WalkEnd::TurnedBack, "back to the officer");
    let doc = referral.evidence.document.as_ref().expect("the page's evidence is kept");
    let Decision::ForgedOrAltered { failed } = &doc.report.decision else { panic!("{:?}", doc.report.decision) };
    let named = failed.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ");
    assert!(
        referral.reasons.iter().any(|r| r.contains("forged-or-altered") && r.contains(&named)),
        "{:?}",
        referral.reasons
    );
    assert!(!referral.degraded);
    let records = rig.sink.records.lock().unwrap().clone();
    assert_eq!(records.len(), 1, "a referral is recorded too");
    assert!(!records[0].release);
}

#[tokio::test(start_paused = true)]
async fn a_finger_that_does_not_match_is_retried_then_referred() {
    let mut rig = rig(PointConfig::default(), false).await;
    let id = citizen();
    let (walk, outcome) = rig.pass(&Traveller::holder(id).with_finger(Some(id + 1_000))).await;
    let Outcome::Referred(referral) = outcome else { panic!("released: {outcome:#?}") };
    println!("{}\n{:#?}", timeline(&referral.evidence), referral.evidence.finger);
    assert_eq!(walk.end, WalkEnd::TurnedBack);
    let finger = referral.evidence.finger.as_ref().unwrap();
    assert_eq!(finger.reference, ReferenceKind::Dg3);
    assert_eq!(finger.attempts.len(), 3, "every attempt used: {:?}", finger.attempts);
    assert!(finger.attempts.iter().all(|a| a.score.is_some_and(|s| s < finger.threshold)), "{:?}", finger.attempts);
    assert_eq!(finger.verified, Some(false));
    assert_eq!(referral.reasons, ["finger not verified"]);
    assert_eq!(referral.evidence.document.as_ref().unwrap().report.decision, Decision::Genuine);
}

#[tokio::test(start_paused = true)]
async fn a_scanner_unplugged_mid_flow_is_a_degraded_referral_with_the_evidence_kept() {
    // The line drops 20,000 bytes into what the scanner sends: during the first image upload.
    let config = PointConfig { scanner_faults: vec!["close:at=20000,dir=tx".into()], ..PointConfig::default() };
    let mut rig = rig(config, false).await;
    let id = citizen();
    let (walk, outcome) = rig.pass(&Traveller::holder(id)).await;
    let Outcome::Referred(referral) = outcome else { panic!("released: {outcome:#?}") };
    println!("{}\n{:#?}", timeline(&referral.evidence), referral.reasons);
    assert_eq!(walk.end, WalkEnd::TurnedBack);
    assert!(referral.degraded);
    let fault = &referral.evidence.faults[0];
    assert_eq!((fault.device, fault.step), (Device::FingerprintScanner, Step::Finger), "{fault:?}");
    assert!(
        referral.reasons.iter().any(|r| r.starts_with("degraded: fingerprint scanner failed")),
        "{:?}",
        referral.reasons
    );
    // What was learnt before the scanner went stays with the traveller.
    let doc = referral.evidence.document.as_ref().expect("document evidence kept");
    assert_eq!(doc.report.decision, Decision::Genuine);
    assert!(doc.document.captures.white.is_some());
    assert_eq!(referral.record.as_deref(), Some("crossing-1"));
    assert!(rig.flow.devices.sensors.is_empty(), "the flow stops using a scanner whose line broke");
}

/// A document reader whose line breaks in the middle of the first page at a gate with a second reader: the page
/// is read off the second (the document is shown to it), the traveller released under the shipped rules with the
/// fault marked as one the fallback stood in for, and the next traveller's page read off the second straight away.
#[tokio::test(start_paused = true)]
async fn a_gate_falls_back_to_its_second_document_reader_when_the_first_breaks() {
    let decide = shipped_rules();
    // 300,000 bytes into what the reader sends: inside the first (white) capture of the first page.
    let config = PointConfig {
        fallback_reader: true,
        reader_faults: vec!["close:at=300000,dir=tx".into()],
        ..PointConfig::default()
    };
    let mut rig = rig_deciding(config, false, Arc::new(decide), None).await;
    assert_eq!(rig.flow.devices.readers.len(), 2);
    let (walk, outcome) = rig.pass(&Traveller::holder(adult_citizen())).await;
    let Outcome::Released { evidence, verdict, .. } = outcome else { panic!("not released: {outcome:#?}") };
    println!("{}\n{:#?}", timeline(&evidence), verdict.reasons);
    assert_eq!(walk.end, WalkEnd::Exited);
    let [fault] = evidence.faults.as_slice() else { panic!("{:?}", evidence.faults) };
    assert_eq!((fault.device, fault.step, fault.fallback), (Device::DocumentReader, Step::Page, true), "{fault:?}");
    assert_eq!(evidence.document.as_ref().unwrap().report.decision, Decision::Genuine);
    assert!(
        verdict.reasons.iter().any(|r| r.starts_with("degraded.document_reader") && r.contains("falls back")),
        "{:#?}",
        verdict.reasons
    );
    assert_eq!(rig.flow.devices.readers.len(), 1, "the broken reader is out of use");

    let (_, outcome) = rig.pass(&Traveller::holder(adult_citizen())).await;
    let Outcome::Released { evidence, .. } = outcome else { panic!("not released: {outcome:#?}") };
    assert!(evidence.faults.is_empty(), "{:?}", evidence.faults);
}

/// The same unplugged scanner at a gate that also has a bio reader on its OSDP line: the capture goes on on the
/// reader, the traveller is verified and released under the shipped rules (which allow a fallback), the fault
/// stays in the evidence marked as one the fallback stood in for, and the next traveller goes straight to the
/// reader.
#[tokio::test(start_paused = true)]
async fn a_gate_falls_back_to_its_bio_reader_when_the_scanner_is_unplugged() {
    let decide = shipped_rules();
    let config = PointConfig {
        sensors: vec![SensorKind::Zfm, SensorKind::OSDP_BIO],
        scanner_faults: vec!["close:at=20000,dir=tx".into()],
        ..PointConfig::default()
    };
    let mut rig = rig_deciding(config, false, Arc::new(decide), None).await;
    let (walk, outcome) = rig.pass(&Traveller::holder(adult_citizen())).await;
    let Outcome::Released { evidence, verdict, .. } = outcome else { panic!("not released: {outcome:#?}") };
    println!("{}\n{:#?}", timeline(&evidence), verdict.reasons);
    assert_eq!(walk.end, WalkEnd::Exited);
    let [fault] = evidence.faults.as_slice() else { panic!("{:?}", evidence.faults) };
    assert_eq!((fault.device, fault.fallback), (Device::FingerprintScanner, true), "{fault:?}");
    assert!(fault.error.contains("line broke"), "{fault:?}");
    let finger = evidence.finger.as_ref().unwrap();
    assert_eq!(finger.verified, Some(true), "{:?}", finger.attempts);
    assert!(
        verdict.reasons.iter().any(|r| r.starts_with("degraded.fingerprint_scanner") && r.contains("falls back")),
        "{:#?}",
        verdict.reasons
    );
    assert!(matches!(rig.flow.devices.sensors.as_slice(), [FingerSensor::Osdp(_)]), "{:?}", rig.flow.devices);

    let (_, outcome) = rig.pass(&Traveller::holder(adult_citizen())).await;
    let Outcome::Released { evidence, .. } = outcome else { panic!("not released: {outcome:#?}") };
    assert!(evidence.faults.is_empty(), "the reader is now the gate's sensor: {:?}", evidence.faults);
}

#[tokio::test(start_paused = true)]
async fn a_crossing_that_cannot_be_recorded_is_referred_and_the_exit_never_opens() {
    let mut rig = rig(PointConfig::default(), true).await;
    let (walk, outcome) = rig.pass(&Traveller::holder(citizen())).await;
    let Outcome::Referred(referral) = outcome else { panic!("released without a record: {outcome:#?}") };
    assert_eq!(walk.end, WalkEnd::TurnedBack);
    assert!(referral.reasons.iter().any(|r| r.contains("could not be recorded: disk full")), "{:?}", referral.reasons);
    assert_eq!(referral.record, None);
    assert_eq!(referral.evidence.finger.as_ref().unwrap().verified, Some(true), "everything else passed");
    let opened =
        rig.point.gate_events().iter().any(|l| matches!(l.event, khil_sim_gate::Event::TravellerExited { .. }));
    assert!(!opened, "nobody went through the exit");
}
