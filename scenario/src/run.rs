//! The border point at work: N gates, each a simulated world (`khil-sim-point`) with the clearance flow over its
//! drivers, one record store and watchlist shared by all, one queue in front of the gates and an officers' desk
//! behind them. Travellers arrive at the scenario's times; whoever is first in the queue steps up to the first
//! free gate. Everything runs on tokio's paused clock in one thread: the day passes as fast as the devices'
//! bytes and the flow's computing allow.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use khil_clearance::flow::{
    DeviceLinks, DeviceSetup, Devices, FlowConfig, FlowError, GateFlow, Outcome, PointContext, SensorLink, Services,
    StoreSink,
};
use khil_clearance::gate::GateState;
use khil_clearance::records::{self, RecordStore};
use khil_clearance::rules::{self, Rules, Stay, Visa, VisaKind};
use khil_clearance::traffic::{self, ArrivalProfile};
use khil_clearance::watchlist::{WatchlistEntry, WatchlistFile};
use khil_examine::StopList;
use khil_fingerprint::driver::Options as ZfmOptions;
use khil_mrtd::mrz::CivilDate;
use khil_osdp::cp::CpConfig;
use khil_sim_docreader::{Catalogue, FraudClass};
use khil_sim_gate::Behaviour;
use khil_sim_host::account::accounted;
use khil_sim_point::{Point, PointConfig, SensorKind, SensorLinks, Traveller, WalkEnd};
use khil_sim_population::documents::{Documents, Kind, State, TravelDocument};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::central::CentralLink;
use crate::model::FingerReference;
use crate::model::{
    CentralSummary, CraftedTraveller, DecisionWord, Finger, GateSummary, Incident, IncidentLog, Needs, Papers,
    QueueSample, RecordsSummary, RunResult, RunTiming, Scenario, StepOutcome, TravellerOutcome,
};
use crate::registry::{self, NationalRegistry, WATCHLIST_IMPRESSION};
use crate::updates::InForce;

/// How a run is done.
pub struct RunOptions {
    /// Where the point's SQLite store is written (`point.sqlite`); created if missing.
    pub out: PathBuf,
    /// The day travellers cross on. The simulators' test PKI issues certificates around the current quarter,
    /// so this is today unless a test says otherwise.
    pub today: CivilDate,
    /// Called each time a traveller has left the gates: (done, total).
    pub progress: Option<Box<dyn Fn(usize, usize) + Send + Sync>>,
    /// The central database (a PostgreSQL URL) the point uploads its records to during the day; `None`: no
    /// centre, every record waits at the point.
    pub central: Option<String>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions").field("out", &self.out).field("today", &self.today).finish_non_exhaustive()
    }
}

/// A run that could not be done (a scenario's failed expectation is not one of these: it is in the results).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Rules(#[from] rules::RulesError),
    #[error("record store {path}: {error}")]
    Store { path: String, error: String },
    #[error("gate {gate}: {error}")]
    Gate { gate: String, error: String },
    #[error("scenario {scenario}: {problem}")]
    Scenario { scenario: String, problem: String },
    #[error("the runtime: {0}")]
    Runtime(String),
    #[error("{0}")]
    Central(String),
}

/// Where the point's records are kept in the run's folder.
pub const STORE_FILE: &str = "point.sqlite";

/// Runs `scenario` on a fresh single-threaded tokio runtime with the clock paused (a day takes what the devices
/// and the flow cost, not a day).
pub fn run_blocking(scenario: &Scenario, options: &RunOptions) -> Result<(RunResult, RunTiming), RunError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .map_err(|e| RunError::Runtime(e.to_string()))?;
    runtime.block_on(run(scenario, options))
}

/// One traveller as planned before the day starts.
#[derive(Debug, Clone)]
struct Planned {
    label: Option<String>,
    truth: String,
    papers: String,
    nationality: String,
    arrived: f64,
    traveller: Traveller,
    /// A generated foreigner's register of enrolment ([`registry::ENTRY_ENROLMENT`], [`registry::VISA_ENROLMENT`]),
    /// visa and stay, as the point's systems know them.
    foreigner: Option<ForeignerKnown>,
}

/// What the border systems know of a generated foreigner.
#[derive(Debug, Clone)]
struct ForeignerKnown {
    register: Option<&'static str>,
    visa: Option<Visa>,
    stay: Option<Stay>,
}

/// What the point's systems know beyond the gates: the visas foreigners hold, the stays of travellers leaving.
#[derive(Debug, Default)]
struct Known {
    visas: HashMap<(String, String), Visa>,
    stays: HashMap<(String, String), Stay>,
}

impl PointContext for Known {
    fn visa(&self, issuing_state: &str, document_number: &str) -> Option<Visa> {
        self.visas.get(&(issuing_state.to_owned(), document_number.to_owned())).cloned()
    }

    fn stay(&self, issuing_state: &str, document_number: &str) -> Option<Stay> {
        self.stays.get(&(issuing_state.to_owned(), document_number.to_owned())).cloned()
    }
}

/// Runs `scenario` inside the caller's runtime, which must be a current-thread runtime with the clock paused
/// ([`run_blocking`] makes one).
pub async fn run(scenario: &Scenario, options: &RunOptions) -> Result<(RunResult, RunTiming), RunError> {
    let wall = std::time::Instant::now();
    let rules = Rules::load(&scenario.rules)?;
    let rules_version = rules.version().to_owned();
    let watchlist_version = format!("{}-watchlist-{}", scenario.name, scenario.seed);
    let Plan { travellers: planned, documents, enrolled, watch, later, known } = plan(scenario, options.today)?;
    let total = planned.len();

    // The point's shared services.
    std::fs::create_dir_all(&options.out).map_err(|e| RunError::Store {
        path: options.out.display().to_string(),
        error: format!("cannot create the folder: {e}"),
    })?;
    let db = options.out.join(STORE_FILE);
    let store_error =
        |e: &dyn std::fmt::Display| RunError::Store { path: db.display().to_string(), error: e.to_string() };
    let store = Arc::new(Mutex::new(RecordStore::open(&db, &scenario.point.name).map_err(|e| store_error(&e))?));
    let central =
        options.central.as_deref().map(|url| CentralLink::start(url, &db)).transpose().map_err(RunError::Central)?;
    let direction = match scenario.point.direction {
        rules::Direction::Entry => records::Direction::Entry,
        rules::Direction::Exit => records::Direction::Exit,
    };
    let midnight_ms = options.today.days_since_epoch() * 86_400_000;
    let epoch_ms = midnight_ms + (scenario.arrivals.from * 1000.0) as i64;
    let fingers = khil_sim_population::Fingers::shared(scenario.seed, finger_quality(scenario)?);
    let list = watchlist(&fingers, &watch, scenario.population.watchlist_others, scenario.seed, &watchlist_version);
    let in_force = InForce::new(rules, scenario.point.direction, list, known, later, Arc::clone(&fingers));
    let services = Services {
        decide: Arc::clone(&in_force.decision) as Arc<dyn khil_clearance::flow::Decide>,
        records: Arc::new(StoreSink::new(Arc::clone(&store), direction, epoch_ms)),
        references: Arc::new(references(scenario, &documents, &enrolled)?),
        watchlist: Arc::clone(&in_force.watchlist) as Arc<dyn khil_clearance::flow::Watchlist>,
    };
    let gates = stand_up_all(scenario, options.today, &planned, &services).await?;

    // The day: it starts once the gates are up (that took model time).
    let shared = Arc::new(Shared {
        day: Day { t0: Instant::now(), from: scenario.arrivals.from },
        midnight_ms,
        in_force,
        planned,
        queue: Mutex::new(Vec::new()),
        desk_queue: Mutex::new(Vec::new()),
        waiting: AtomicUsize::new(0),
        desk_waiting: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        outcomes: Mutex::new(vec![None; total]),
        incidents: Mutex::new(Vec::new()),
        compute: Mutex::new(vec![None; total]),
        central: central.map(|link| {
            let summary = CentralSummary { url: link.url().to_owned(), ..CentralSummary::default() };
            (link, Mutex::new(summary))
        }),
    });
    let summaries = the_day(scenario, gates, &shared, &fingers, options.progress.as_deref()).await;
    let central = last_upload(&shared);
    let shared = Arc::try_unwrap(shared).map_err(|_| RunError::Runtime("the day's tasks outlived it".into()))?;
    // The upload thread ends, closing its connection to the store, before the store is verified.
    drop(shared.central);
    let travellers: Vec<TravellerOutcome> = into_inner(shared.outcomes)
        .into_iter()
        .enumerate()
        .map(|(i, o)| {
            o.unwrap_or_else(|| not_processed(&shared.planned[i], i + 1, "the point closed before their turn"))
        })
        .collect();

    // The store after the day.
    drop(services);
    let committed = into_inner_ref(&store).count().map_err(|e| store_error(&e))?;
    drop(store);
    let mut records = summarise(&db, committed);
    if let Some(c) = central {
        records.pending_upload = c.backlog.last().map_or(committed, |b| b.length as u64);
        records.central = Some(c);
    }
    let decision_cpu_ms =
        into_inner(shared.compute).into_iter().flatten().map(|d: Duration| d.as_secs_f64() * 1000.0).collect();
    let result = RunResult {
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        seed: scenario.seed,
        point: scenario.point.name.clone(),
        direction: match scenario.point.direction {
            rules::Direction::Entry => "entry".into(),
            rules::Direction::Exit => "exit".into(),
        },
        day: options.today.to_string(),
        rules_version,
        watchlist_version,
        from: scenario.arrivals.from,
        until: scenario.arrivals.until,
        gates: summaries,
        travellers,
        queue: into_inner(shared.queue),
        desk_queue: into_inner(shared.desk_queue),
        incidents: into_inner(shared.incidents),
        records,
        expectations: Vec::new(),
    };
    Ok((result, RunTiming { wall_seconds: wall.elapsed().as_secs_f64(), decision_cpu_ms }))
}

/// The day's last upload round, and what the centre then holds (no centre: `None`).
fn last_upload(shared: &Shared) -> Option<CentralSummary> {
    shared.upload_round();
    let (link, summary) = shared.central.as_ref()?;
    let mut summary = into_inner_ref(summary).clone();
    match khil_sim_host::account::measure("central upload", || link.centre()) {
        Ok(state) => {
            summary.centre_count = Some(state.count);
            summary.centre_last_seq = Some(state.last_seq);
        }
        Err(e) => summary.centre_error = Some(e),
    }
    Some(summary)
}

/// The store as `khil records verify` finds it, every record still waiting for upload (the caller puts in what a
/// centre took).
fn summarise(db: &Path, committed: u64) -> RecordsSummary {
    let (verified, verify_detail) = match records::verify(db) {
        Ok(report) => (report.records == committed, format!("{} records, chain intact", report.records)),
        Err(e) => (false, e.to_string()),
    };
    RecordsSummary { committed, verified: Some(verified), verify_detail, pending_upload: committed, central: None }
}

fn into_inner<T>(m: Mutex<T>) -> T {
    m.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn into_inner_ref<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The day's travellers, planned before it starts (same seed, same day), with the watchlist entries and stays
/// they bring.
struct Plan {
    travellers: Vec<Planned>,
    /// The population documents carried (genuine ones): the national registry knows their citizens.
    documents: Vec<TravelDocument>,
    /// The generated foreigners' among them, by the register they are enrolled in.
    enrolled: HashMap<&'static str, Vec<TravelDocument>>,
    /// Population ids of fingers on the watchlist at the start, and the class of each.
    watch: Vec<(u64, String)>,
    /// Fingers a watchlist update lists later: crafted travellers' labels -> (finger id, class).
    later: HashMap<String, (u64, String)>,
    known: Known,
}

fn plan(scenario: &Scenario, today: CivilDate) -> Result<Plan, RunError> {
    let fail = |problem: String| RunError::Scenario { scenario: scenario.name.clone(), problem };
    let mut population = PopulationCursor::new(scenario.seed, today);
    let mut plan = Plan {
        travellers: Vec::new(),
        documents: Vec::new(),
        enrolled: HashMap::new(),
        watch: Vec::new(),
        later: HashMap::new(),
        known: Known::default(),
    };
    let listed_later: HashSet<&str> = scenario
        .incidents
        .iter()
        .flat_map(|i| match i {
            Incident::WatchlistUpdate { add, .. } => add.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        })
        .collect();
    for (planned, listed) in generated(scenario, &mut population)? {
        if let (Some(class), Some(id)) = (listed, planned.traveller.finger) {
            plan.watch.push((id, class));
        }
        plan.travellers.push(planned);
    }
    for case in &scenario.crafted {
        let (planned, finger, stay) = crafted(case, &mut population, today).map_err(fail)?;
        if let (Some(class), Some(id)) = (&case.watchlisted, finger) {
            if listed_later.contains(case.label.as_str()) {
                plan.later.insert(case.label.clone(), (id, class.clone()));
            } else {
                plan.watch.push((id, class.clone()));
            }
        }
        if let Some((key, s)) = stay {
            plan.known.stays.insert(key, s);
        }
        plan.travellers.push(planned);
    }
    plan.travellers.sort_by(|a, b| a.arrived.total_cmp(&b.arrived));
    let carried = |p: &Planned| match p.traveller.papers {
        khil_sim_point::Papers::Population(id) => Some(population.documents.document(id)),
        khil_sim_point::Papers::Specimen { .. } => None,
    };
    plan.documents = plan.travellers.iter().filter_map(carried).collect();
    for p in &plan.travellers {
        let (Some(known), Some(doc)) = (&p.foreigner, carried(p)) else { continue };
        let key = (doc.issuing_state.code().to_owned(), doc.document_number.clone());
        if let Some(visa) = &known.visa {
            plan.known.visas.insert(key.clone(), visa.clone());
        }
        if let Some(stay) = &known.stay {
            plan.known.stays.insert(key, stay.clone());
        }
        if let Some(register) = known.register {
            plan.enrolled.entry(register).or_default().push(doc);
        }
    }
    Ok(plan)
}

/// The registers the gates verify fingers against when DG3 is not read: the national registry knows the citizens
/// among the day's documents, the border system the generated foreigners it enrolled.
fn references(
    scenario: &Scenario,
    documents: &[TravelDocument],
    enrolled: &HashMap<&'static str, Vec<TravelDocument>>,
) -> Result<NationalRegistry, RunError> {
    let mut registry = NationalRegistry::new(scenario.seed, finger_quality(scenario)?, documents);
    for (register, documents) in enrolled {
        registry = registry.with_enrolments(register, documents);
    }
    Ok(registry)
}

/// Keeps the listed others' fingers apart from the population's ("listed" in ASCII).
const LISTED_SEED: u64 = 0x6c69_7374_6564;

/// The point's watchlist: each listed finger enrolled from an impression the gates never see
/// ([`WATCHLIST_IMPRESSION`]; a gate's captures are 0 to 2); then `others` people who never come, fingers of the
/// synthetic minutiae model (rendering thousands of fingers would take minutes; they are only ever impostors
/// here, and the model's impostor scores are measured against rendered ones: `khil bench identify --calibrate`).
fn watchlist(
    fingers: &khil_sim_population::Fingers,
    watch: &[(u64, String)],
    others: usize,
    seed: u64,
    version: &str,
) -> WatchlistFile {
    let mut entries: Vec<WatchlistEntry> = watch
        .iter()
        .enumerate()
        .map(|(n, (id, class))| WatchlistEntry {
            id: format!("{class}-{n}"),
            class: class.clone(),
            template: registry::template(fingers, *id, WATCHLIST_IMPRESSION),
        })
        .collect();
    entries.extend((0..others as u64).map(|n| {
        let class = if n % 2 == 0 { "wanted" } else { "trafficking-suspect" };
        // Impression 0 of model finger n, of a seed of its own: under the scenario's seed finger n would share
        // the population's finger n's design (area, orientation field).
        let template = khil_biometrics::identify::model::ModelFinger::generate(seed ^ LISTED_SEED, n).impression(0);
        WatchlistEntry { id: format!("listed-{n}"), class: class.into(), template }
    }));
    WatchlistFile { version: version.to_owned(), entries }
}

fn finger_quality(scenario: &Scenario) -> Result<khil_biometrics::synth::Quality, RunError> {
    khil_sim_population::quality_named(&scenario.population.finger_quality).ok_or_else(|| RunError::Scenario {
        scenario: scenario.name.clone(),
        problem: format!("finger quality {:?}: expected good or mixed", scenario.population.finger_quality),
    })
}

/// The lost/stolen list: the numbers of the stolen blanks among the day's specimens.
fn stop_list(seed: u64, planned: &[Planned]) -> StopList {
    let mut list = StopList::new();
    let (y, m, d) = khil_sim_docreader::sim::REFERENCE_DAY;
    let Some(day) = CivilDate::new(y, m, d) else { return list };
    for p in planned {
        if let khil_sim_point::Papers::Specimen { class: FraudClass::StolenBlank, index, space } = p.traveller.papers
            && let Some((state, number)) =
                Catalogue::new(seed, day, space).specimen(FraudClass::StolenBlank, index).listed
        {
            list.insert(&state, &number);
        }
    }
    list
}

/// Every gate stood up, trusting the test PKI and knowing the day's lost/stolen list.
async fn stand_up_all(
    scenario: &Scenario,
    today: CivilDate,
    planned: &[Planned],
    services: &Services,
) -> Result<Vec<Gate>, RunError> {
    let stop_list = stop_list(scenario.seed, planned);
    let pki = khil_sim_mrtd::sim::test_pki(scenario.seed)
        .map_err(|problem| RunError::Scenario { scenario: scenario.name.clone(), problem })?;
    let mut gates = Vec::new();
    for (i, spec) in scenario.gates.iter().enumerate() {
        let mut config = FlowConfig::new(spec.name.clone(), today, pki.trust_store());
        // Without terminal certificates the chip keeps DG3 to itself (EAC): the registry is the reference.
        config.terminal = match scenario.point.finger_reference {
            FingerReference::Dg3 => Some(pki.eac.terminal.clone()),
            FingerReference::Registry => None,
        };
        config.stop_list = stop_list.clone();
        config.seed = scenario.seed ^ ((i as u64) << 32);
        gates.push(stand_up(scenario, i, config, services.clone()).await?);
    }
    Ok(gates)
}

/// Gate `i`'s world stood up, its devices connected through their drivers and the gate in service.
async fn stand_up(scenario: &Scenario, i: usize, config: FlowConfig, services: Services) -> Result<Gate, RunError> {
    let spec = &scenario.gates[i];
    let point = PointConfig {
        seed: scenario.seed,
        finger_quality: static_quality(&scenario.population.finger_quality),
        reader_faults: spec.reader_faults.clone(),
        fallback_reader: spec.fallback_reader,
        scanner_faults: spec.scanner_faults.clone(),
        gate_io_faults: spec.gate_io_faults.clone(),
        sensors: spec.sensors.clone(),
        gate_address: 1,
        gate_key: gate_key(i),
        // A tailgater stays close enough to be in the doorway when the entry flap would close (at arm's length
        // the flap stops them, and they are admitted on their own).
        gate: khil_sim_gate::GateConfig { spacing_m: 0.3, ..khil_sim_gate::GateConfig::default() },
        ..PointConfig::default()
    };
    let gate_error = |error: String| RunError::Gate { gate: spec.name.clone(), error };
    let (point, links) = Point::start(point).await.map_err(gate_error)?;
    let mut setup = DeviceSetup::new(links.gate_address, Some(links.gate_key));
    setup.cp = CpConfig { seed: Some(scenario.seed ^ i as u64), ..CpConfig::default() };
    if let Some(scan) =
        spec.sensors.iter().filter_map(|s| if let SensorKind::OsdpBio { scan } = s { Some(*scan) } else { None }).max()
    {
        // The bio reader answers BUSY while it scans: the CP sends the same BIOREAD again every `busy_delay` for
        // as long as a scan takes, and a little more.
        let busy = setup.cp.busy_delay.as_millis().max(1);
        setup.cp.busy_retries = u32::try_from(2 * scan.as_millis() / busy + 10).unwrap_or(u32::MAX);
    }
    // The scanner is an R307: no ReadProdInfo, so its geometry is configured.
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
    let devices = Devices::connect(links, setup).await.map_err(gate_error)?;
    tokio::time::timeout(Duration::from_secs(30), devices.gate.wait_for(|s| s == GateState::Idle))
        .await
        .map_err(|_| gate_error("not in service within 30 s".into()))?
        .map_err(|_| gate_error("the gate controller stopped".into()))?;
    let flow = GateFlow::new(devices, config, services).map_err(gate_error)?;
    let sensors = spec.sensors.iter().map(|s| s.name().to_owned()).collect();
    Ok(Gate { name: spec.name.clone(), sensors, point, flow })
}

/// How many travellers ahead of the arrivals their fingers are grown: enough to keep the other core busy, few
/// enough for the population's cache of 64 masters (each traveller takes one or two).
const GROW_AHEAD: usize = 8;

/// The day itself: arrivals into the queue, the gates taking travellers from it, the officers taking referrals,
/// incidents at their times. Returns each gate's summary once the queue is empty and everyone has left.
async fn the_day(
    scenario: &Scenario,
    gates: Vec<Gate>,
    shared: &Arc<Shared>,
    fingers: &khil_sim_population::Fingers,
    progress: Option<&(dyn Fn(usize, usize) + Send + Sync)>,
) -> Vec<GateSummary> {
    let total = shared.planned.len();
    let (to_gates, from_queue) = mpsc::unbounded_channel::<usize>();
    let from_queue = tokio::sync::Mutex::new(from_queue);
    let (to_desk, from_gates) = mpsc::unbounded_channel::<usize>();
    let from_gates = tokio::sync::Mutex::new(from_gates);

    let arrivals = async move {
        // The next travellers' fingers grow on the other core while this one is served (the same masters either
        // way): their holder's, for the chip's DG3, and whoever's goes on the scanner.
        let ahead = |p: &Planned| {
            if let khil_sim_point::Papers::Population(id) = p.traveller.papers {
                fingers.grow_ahead(id);
            }
            if let Some(id) = p.traveller.finger {
                fingers.grow_ahead(id);
            }
        };
        shared.planned.iter().take(GROW_AHEAD).for_each(ahead);
        for (n, p) in shared.planned.iter().enumerate() {
            if let Some(later) = shared.planned.get(n + GROW_AHEAD) {
                ahead(later);
            }
            tokio::time::sleep_until(shared.day.at(p.arrived)).await;
            let len = shared.waiting.fetch_add(1, Ordering::SeqCst) + 1;
            shared.sample(&shared.queue, len);
            if to_gates.send(n).is_err() {
                break;
            }
        }
    };
    let powered: Vec<khil_sim_gate::GateHandle> = gates.iter().map(|g| g.point.gate().clone()).collect();
    let incidents = incidents(scenario, shared, powered);
    let gate_runs: Vec<_> = gates
        .into_iter()
        .map(|gate| {
            let to_desk = to_desk.clone();
            let from_queue = &from_queue;
            async move { gate.serve(shared, from_queue, &to_desk, progress, total).await }
        })
        .collect();
    // The desk's line closes when the last gate is done.
    drop(to_desk);
    let desk = &scenario.desk;
    let desk_runs: Vec<_> = (0..desk.officers.max(1))
        .map(|officer| {
            let seed = scenario.seed ^ 0x6465_736b ^ officer as u64;
            let from_gates = &from_gates;
            async move { officer_serves(shared, from_gates, desk, seed).await }
        })
        .collect();
    let day = async { tokio::join!(arrivals, join_all(gate_runs), join_all(desk_runs), incidents) };
    let ((), summaries, _, ()) = tokio::select! {
        biased;
        out = day => out,
        never = uploads(scenario, shared) => match never {},
    };
    summaries
}

/// Upload rounds to the central database every `point.upload_every_minutes` of the day, until the day's end
/// drops this (no centre: it only waits).
async fn uploads(scenario: &Scenario, shared: &Shared) -> std::convert::Infallible {
    if shared.central.is_none() {
        return std::future::pending().await;
    }
    let every = Duration::from_secs_f64(scenario.point.upload_every_minutes * 60.0);
    let mut next = Instant::now() + every;
    loop {
        tokio::time::sleep_until(next).await;
        shared.upload_round();
        next += every;
    }
}

/// The scenario's incidents, each at its time.
async fn incidents(scenario: &Scenario, shared: &Shared, powered: Vec<khil_sim_gate::GateHandle>) {
    let mut list = scenario.incidents.clone();
    list.sort_by(|a, b| incident_at(a).total_cmp(&incident_at(b)));
    // Each incident plays out on its own (an outage of hours does not hold back a power cut within it).
    join_all(list.into_iter().map(|incident| play(incident, shared, &powered)).collect()).await;
}

async fn play(incident: Incident, shared: &Shared, powered: &[khil_sim_gate::GateHandle]) {
    tokio::time::sleep_until(shared.day.at(incident_at(&incident))).await;
    match incident {
        Incident::PowerCut { seconds, .. } => {
            // The gates lose power (their flaps go to their fail mode); the point's server, the devices' own
            // supplies and the record store are on the UPS.
            shared.incident(format!("power cut to the gates for {seconds} s"));
            for gate in powered {
                gate.power(false);
            }
            tokio::time::sleep(Duration::from_secs_f64(seconds.max(0.0))).await;
            for gate in powered {
                gate.power(true);
            }
            shared.incident("power back at the gates".into());
        }
        Incident::RulesUpdate { rules, .. } => {
            shared.incident(shared.in_force.publish_rules(shared.central.as_ref().map(|(link, _)| link), &rules));
        }
        Incident::WatchlistUpdate { add, .. } => {
            shared.incident(shared.in_force.publish_watchlist(shared.central.as_ref().map(|(link, _)| link), &add));
        }
        Incident::CentralDown { until, .. } => {
            // The gates never wait for the centre: records queue at the point and go up once it is back.
            if shared.central_link(false) {
                shared.incident(format!("link to the central database down until {}", clock_time(until)));
                tokio::time::sleep_until(shared.day.at(until)).await;
                shared.central_link(true);
                shared.incident("link to the central database back".into());
            } else {
                shared.incident(format!(
                    "link to the central database down until {} (no central database in this run: every \
                     record waits at the point anyway)",
                    clock_time(until)
                ));
            }
        }
    }
}

/// Runs futures side by side on this task: the gates share one thread and one clock, and borrow what the day
/// shares (a spawned task could not).
async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pending: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = Vec::new();
    out.resize_with(pending.len(), || None);
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (f, slot) in pending.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all { std::task::Poll::Ready(()) } else { std::task::Poll::Pending }
    })
    .await;
    out.into_iter().flatten().collect()
}

fn incident_at(incident: &Incident) -> f64 {
    match incident {
        Incident::PowerCut { at, .. } | Incident::RulesUpdate { at, .. } | Incident::WatchlistUpdate { at, .. } => *at,
        Incident::CentralDown { from, .. } => *from,
    }
}

/// `HH:MM` of seconds since midnight.
fn clock_time(seconds: f64) -> String {
    let minutes = (seconds / 60.0).round() as i64;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The day's clock: tokio's paused clock against seconds since midnight.
#[derive(Debug, Clone, Copy)]
struct Day {
    t0: Instant,
    from: f64,
}

impl Day {
    fn now(&self) -> f64 {
        self.from + self.t0.elapsed().as_secs_f64()
    }

    fn at(&self, seconds: f64) -> Instant {
        self.t0 + Duration::from_secs_f64((seconds - self.from).max(0.0))
    }
}

/// What the gates, the desk and the arrivals share.
struct Shared {
    day: Day,
    /// The day's midnight, ms since the epoch (what the store's times count from).
    midnight_ms: i64,
    /// The rules the gates decide by, replaced when the centre's update arrives.
    in_force: InForce<Known>,
    planned: Vec<Planned>,
    queue: Mutex<Vec<QueueSample>>,
    desk_queue: Mutex<Vec<QueueSample>>,
    waiting: AtomicUsize,
    desk_waiting: AtomicUsize,
    done: AtomicUsize,
    outcomes: Mutex<Vec<Option<TravellerOutcome>>>,
    incidents: Mutex<Vec<IncidentLog>>,
    compute: Mutex<Vec<Option<Duration>>>,
    /// The link to the central database and what its uploads did, when the run has one.
    central: Option<(CentralLink, Mutex<CentralSummary>)>,
}

impl Shared {
    /// One upload round to the central database, if there is one. This thread (the whole day) waits for it: it
    /// takes no modelled time (see [`crate::central`]).
    fn upload_round(&self) {
        let Some((link, summary)) = &self.central else { return };
        let at_ms = self.midnight_ms + (self.day.now() * 1000.0) as i64;
        let round = khil_sim_host::account::measure("central upload", || link.round(at_ms));
        for version in &round.pulled {
            let said = self.in_force.pulled(version);
            self.incident(said);
        }
        let mut s = summary.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        s.rounds += 1;
        s.uploaded += round.inserted;
        if let Some(e) = round.error {
            s.failed_rounds += 1;
            s.last_error = Some(e);
        }
        let backlog = round.committed.saturating_sub(round.acked) as usize;
        s.backlog.push(QueueSample { at: self.day.now(), length: backlog });
    }

    /// Takes the central link down or brings it back (an incident).
    fn central_link(&self, up: bool) -> bool {
        match &self.central {
            Some((link, _)) => {
                link.set_up(up);
                true
            }
            None => false,
        }
    }

    fn sample(&self, samples: &Mutex<Vec<QueueSample>>, length: usize) {
        let at = self.day.now();
        samples.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(QueueSample { at, length });
    }

    fn outcome(&self, index: usize, outcome: TravellerOutcome) {
        self.outcomes.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[index] = Some(outcome);
    }

    fn incident(&self, what: String) {
        let at = self.day.now();
        self.incidents.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(IncidentLog { at, what });
    }
}

/// One gate: its world and its flow.
struct Gate {
    name: String,
    sensors: Vec<String>,
    point: Point,
    flow: GateFlow,
}

/// The longest a traveller may take at a gate before the gate is taken out of service (model time).
const STUCK: Duration = Duration::from_mins(10);

/// How long a gate out of service is waited for before it is given up for the day.
const COME_BACK: Duration = Duration::from_mins(30);

/// From a gate's alarm to an officer resetting it (assumed: the desk is beside the gates).
const OFFICER_RESPONSE: Duration = Duration::from_mins(1);

impl Gate {
    /// Takes travellers from the queue until it is empty and closed, or the gate goes out of service.
    async fn serve(
        mut self,
        shared: &Shared,
        queue: &tokio::sync::Mutex<mpsc::UnboundedReceiver<usize>>,
        desk: &mpsc::UnboundedSender<usize>,
        progress: Option<&(dyn Fn(usize, usize) + Send + Sync)>,
        total: usize,
    ) -> GateSummary {
        let mut summary = GateSummary {
            name: self.name.clone(),
            travellers: 0,
            released: 0,
            referred: 0,
            busy_seconds: 0.0,
            faults: Vec::new(),
            sensors: self.sensors.clone(),
        };
        loop {
            let next = queue.lock().await.recv().await;
            let Some(index) = next else { break };
            let len = shared.waiting.fetch_sub(1, Ordering::SeqCst) - 1;
            shared.sample(&shared.queue, len);
            let planned = &shared.planned[index];
            let started = shared.day.now();
            summary.travellers += 1;
            let (outcome, in_service, compute) = self.pass(planned, index + 1, started).await;
            summary.busy_seconds += outcome.left_gate.unwrap_or(started) - started;
            match outcome.decision {
                DecisionWord::Release => summary.released += 1,
                DecisionWord::Refer => summary.referred += 1,
                DecisionWord::NotProcessed => {}
            }
            for step in &outcome.timeline {
                if step.outcome.starts_with("degraded") {
                    summary.faults.push(step.outcome.clone());
                }
            }
            let refer = outcome.decision != DecisionWord::Release;
            if compute.is_some() {
                shared.compute.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[index] = compute;
            }
            shared.outcome(index, outcome);
            if refer {
                let len = shared.desk_waiting.fetch_add(1, Ordering::SeqCst) + 1;
                shared.sample(&shared.desk_queue, len);
                let _ = desk.send(index);
            }
            let done = shared.done.fetch_add(1, Ordering::SeqCst) + 1;
            if let Some(progress) = progress {
                progress(done, total);
            }
            if !in_service {
                let why = format!("gate {} out of service", self.name);
                summary.faults.push(why.clone());
                shared.incident(why);
                // Power back, a cable replugged: the controller brings the gate back by itself (it keeps probing
                // its board). Until then the other gates take the queue.
                let back = tokio::time::timeout(COME_BACK, self.flow.devices.gate.wait_for(|s| s == GateState::Idle))
                    .await
                    .is_ok_and(|r| r.is_ok());
                if !back {
                    break;
                }
                shared.incident(format!("gate {} back in service", self.name));
            }
        }
        summary
    }

    /// One traveller through this gate: their outcome, whether the gate can take another, and the flow's
    /// computing time for them.
    async fn pass(
        &mut self,
        planned: &Planned,
        number: usize,
        started: f64,
    ) -> (TravellerOutcome, bool, Option<Duration>) {
        // A traveller marked as tailgated walks in normally with someone on their heels.
        let tailgated = planned.traveller.behaviour == Behaviour::Tailgater;
        let mut traveller = planned.traveller.clone();
        if tailgated {
            traveller.behaviour = Behaviour::Normal;
        }
        let pass_started = tokio::time::Instant::now();
        // The walk and the flow end before the gate is touched again.
        let (walked, flowed) = {
            // Counted apart for `khil bench border-day` (the devices' own tasks count themselves).
            let walk = accounted("traveller world", self.point.walk(&traveller));
            // Someone on their heels: added once the traveller is at the gate (the walk adds them when first polled).
            let heels = tokio::time::sleep(Duration::from_millis(100));
            tokio::pin!(heels);
            let mut followed = !tailgated;
            let flow = accounted("clearance flow", self.flow.next_traveller());
            tokio::pin!(walk, flow);
            let mut walked = None;
            let mut flowed = None;
            let deadline = tokio::time::sleep(STUCK);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    w = &mut walk, if walked.is_none() => {
                        let not_in = !matches!(&w, Ok(w) if w.end != WalkEnd::NotAdmitted);
                        walked = Some(w);
                        // Never admitted: the flow will not see them.
                        if not_in && flowed.is_none() { break; }
                    }
                    o = &mut flow, if flowed.is_none() => {
                        // The flow gave up on this traveller (an alarm, the gate out of service): so does the world.
                        let failed = o.is_err();
                        flowed = Some(o);
                        if failed { break; }
                    }
                    () = &mut heels, if !followed => {
                        followed = true;
                        self.point.add_bystander(Behaviour::Tailgater);
                    }
                    () = &mut deadline => break,
                }
                if walked.is_some() && flowed.is_some() {
                    break;
                }
            }
            (walked, flowed)
        };
        let left = planned_left(started, walked.as_ref());
        let mut out = TravellerOutcome {
            gate: Some(self.name.clone()),
            waited: started - planned.arrived,
            started: Some(started),
            left_gate: left,
            reasons: Vec::new(),
            ..not_processed(planned, number, "")
        };
        let mut compute = None;
        let in_service = match flowed {
            Some(Ok(outcome)) => {
                compute = Some(outcome.evidence().compute);
                record_outcome(&mut out, outcome);
                true
            }
            Some(Err(FlowError::NotAdmitted { state: GateState::Alarm(cause), .. })) => {
                // An officer walks over, sees the people in the gate out and resets it.
                out.reasons.push(format!("not processed: gate alarm: {}", cause.in_words()));
                tokio::time::sleep(OFFICER_RESPONSE).await;
                let back = self.flow.devices.gate.reset().await.is_ok()
                    && tokio::time::timeout(STUCK, self.flow.devices.gate.wait_for(|s| s == GateState::Idle))
                        .await
                        .is_ok_and(|r| r.is_ok());
                out.reasons.push(format!(
                    "an officer reset the gate {} s after the alarm{}",
                    OFFICER_RESPONSE.as_secs(),
                    if back { "" } else { "; it did not come back into service" }
                ));
                out.left_gate = Some(started + (tokio::time::Instant::now() - pass_started).as_secs_f64());
                back
            }
            Some(Err(e)) => {
                out.reasons.push(format!("not processed: {e}"));
                !matches!(e, FlowError::GateStopped)
                    && !matches!(e, FlowError::NotAdmitted { state: GateState::OutOfService, .. })
            }
            None => {
                let why = match &walked {
                    Some(Err(e)) => format!("not processed: {e}"),
                    Some(Ok(w)) if w.end == WalkEnd::NotAdmitted => "not processed: never admitted to the gate".into(),
                    _ => format!("not processed: the gate did not finish within {} min", STUCK.as_secs() / 60),
                };
                out.reasons.push(why);
                false
            }
        };
        (out, in_service, compute)
    }
}

/// What the flow did with a traveller, into their outcome.
fn record_outcome(out: &mut TravellerOutcome, outcome: Outcome) {
    let evidence = outcome.evidence();
    out.transaction = Some(evidence.transaction_time().as_secs_f64());
    out.timeline = evidence
        .timeline
        .iter()
        .map(|s| StepOutcome {
            step: s.step.name().to_owned(),
            started: s.started.as_secs_f64(),
            took: s.took.as_secs_f64(),
            outcome: s.outcome.clone(),
        })
        .collect();
    out.timeline.extend(evidence.faults.iter().map(|f| StepOutcome {
        step: f.step.name().to_owned(),
        started: 0.0,
        took: 0.0,
        outcome: format!(
            "degraded: {} failed: {}{}",
            f.device.name(),
            f.error,
            if f.fallback { " (the gate's fallback stood in)" } else { "" }
        ),
    }));
    match outcome {
        Outcome::Released { verdict, record, .. } => {
            out.decision = DecisionWord::Release;
            out.reasons = verdict.reasons;
            out.record = Some(record);
        }
        Outcome::Referred(referral) => {
            out.decision = DecisionWord::Refer;
            out.reasons = referral.reasons;
            out.record = referral.record;
            out.degraded = referral.degraded;
        }
    }
}

fn planned_left(started: f64, walk: Option<&Result<khil_sim_point::Walk, String>>) -> Option<f64> {
    match walk {
        Some(Ok(w)) => Some(started + w.gone.as_secs_f64()),
        _ => None,
    }
}

fn not_processed(p: &Planned, number: usize, why: &str) -> TravellerOutcome {
    TravellerOutcome {
        number,
        label: p.label.clone(),
        truth: p.truth.clone(),
        papers: p.papers.clone(),
        nationality: p.nationality.clone(),
        arrived: p.arrived,
        gate: None,
        waited: 0.0,
        started: None,
        left_gate: None,
        transaction: None,
        decision: DecisionWord::NotProcessed,
        reasons: vec![format!("not processed: {why}")],
        record: None,
        degraded: false,
        desk_done: None,
        timeline: Vec::new(),
        as_expected: None,
    }
}

/// An officer at the desk: takes referrals in the order they came and spends a log-normal time with each.
async fn officer_serves(
    shared: &Shared,
    referrals: &tokio::sync::Mutex<mpsc::UnboundedReceiver<usize>>,
    desk: &crate::model::DeskSpec,
    seed: u64,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    loop {
        let next = referrals.lock().await.recv().await;
        let Some(index) = next else { break };
        let minutes = lognormal(&mut rng, desk.median_minutes, desk.p90_minutes);
        tokio::time::sleep(Duration::from_secs_f64(minutes * 60.0)).await;
        let len = shared.desk_waiting.fetch_sub(1, Ordering::SeqCst) - 1;
        shared.sample(&shared.desk_queue, len);
        let now = shared.day.now();
        if let Some(Some(o)) = shared.outcomes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_mut(index)
        {
            o.desk_done = Some(now);
        }
    }
}

/// A log-normal draw with this median and 90th percentile (which is exp(mu + 1.2816 sigma)).
fn lognormal(rng: &mut ChaCha8Rng, median: f64, p90: f64) -> f64 {
    let median = median.max(1e-3);
    let sigma = (p90.max(median) / median).ln() / 1.2816;
    (median.ln() + sigma * normal(rng)).exp()
}

/// A traveller's handling time: log-normal, at most a minute (after that they would be helped).
fn handling(rng: &mut ChaCha8Rng, median: f64, p90: f64) -> Duration {
    Duration::from_secs_f64(lognormal(rng, median, p90).min(60.0))
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// The secure-channel key of gate `i`'s I/O board (each board its own).
fn gate_key(i: usize) -> [u8; 16] {
    let mut key = *b"khil-point-gate0";
    key[15] = b'0' + (i % 10) as u8;
    key[14] = b'0' + ((i / 10) % 10) as u8;
    key
}

fn static_quality(name: &str) -> &'static str {
    if name == "mixed" { "mixed" } else { "good" }
}

/// Walks the population in order, handing out documents that fit, each once.
struct PopulationCursor {
    documents: Documents,
    today: CivilDate,
    /// Where each kind of document's search got to.
    next: HashMap<Needs, u64>,
    used: HashSet<u64>,
}

impl PopulationCursor {
    fn new(seed: u64, today: CivilDate) -> PopulationCursor {
        let (y, m, d) = khil_sim_mrtd::sim::REFERENCE_DAY;
        let documents = Documents::new(seed, CivilDate::new(y, m, d).expect("the reference day"));
        PopulationCursor { documents, today, next: HashMap::new(), used: HashSet::new() }
    }

    /// The next unused document that fits `needs` (searched from the start for crafted cases, from where the
    /// generated travellers got to for theirs).
    fn take(&mut self, needs: Needs, from_start: bool) -> Option<TravelDocument> {
        let start = if from_start { 0 } else { self.next.get(&needs).copied().unwrap_or(0) };
        for id in start..start + 200_000 {
            if self.used.contains(&id) {
                continue;
            }
            let doc = self.documents.document(id);
            if fits(&doc, needs, self.today) {
                self.used.insert(id);
                if !from_start {
                    self.next.insert(needs, id + 1);
                }
                return Some(doc);
            }
        }
        None
    }
}

fn fits(doc: &TravelDocument, needs: Needs, today: CivilDate) -> bool {
    let adult = today.add_years(-18).is_some_and(|d| doc.birth_date <= d);
    // Entry wants six months of validity left; a gate's generated travellers have it either way.
    let valid = today.add_days(200).is_some_and(|d| !doc.expired_on(d));
    doc.kind == Kind::Passport
        && valid
        && match needs {
            Needs::AdultCitizen => doc.issuing_state == State::Mongolia && adult,
            Needs::ChildCitizen => doc.issuing_state == State::Mongolia && !adult,
            Needs::AdultForeigner => {
                matches!(doc.nationality, State::Russia | State::Kazakhstan | State::Germany) && adult
            }
            Needs::AdultVisaNational => matches!(doc.nationality, State::China | State::Korea) && adult,
        }
}

fn describe(doc: &TravelDocument) -> (String, String) {
    (format!("population {} ({} passport)", doc.id, doc.issuing_state.code()), doc.nationality.code().to_owned())
}

/// The generated travellers: arrivals of the profile in the window, each drawn genuine or one of the mix's
/// classes. The e-gates serve Mongolian e-passport holders (as the airport's have since 2023); a scenario may
/// send foreigners through them too (`population.foreigners`: adults of visa-exempt states, enrolled at an
/// earlier entry unless drawn `first_entry`, and by `visa_required` of states that need a visa, holding a valid
/// e-visa and enrolled when they applied for it; leaving, they entered five days ago).
#[allow(clippy::type_complexity)]
fn generated(
    scenario: &Scenario,
    population: &mut PopulationCursor,
) -> Result<Vec<(Planned, Option<String>)>, RunError> {
    let spec = &scenario.arrivals;
    let direction = match scenario.point.direction {
        rules::Direction::Entry => traffic::Direction::Entry,
        rules::Direction::Exit => traffic::Direction::Exit,
    };
    let profile = ArrivalProfile::of(spec.profile, spec.surge);
    // A share above 1 is a day busier than the average (a benchmark's): that many average days' worth of
    // independent Poisson arrivals, merged.
    let days = spec.share.ceil().max(1.0) as u64;
    let mut times: Vec<f64> = (0..days)
        .flat_map(|k| profile.day(Some(direction), spec.share / days as f64, scenario.seed.wrapping_add(k)))
        .collect();
    times.sort_by(f64::total_cmp);
    let times: Vec<f64> = times
        .into_iter()
        .filter(|t| (spec.from..spec.until).contains(t))
        .take(spec.limit.unwrap_or(usize::MAX))
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(scenario.seed ^ 0x706f_7075_6c61);
    // Foreigners are drawn from a stream of their own, so that a scenario without them draws what it always drew.
    let mut foreign_rng = ChaCha8Rng::seed_from_u64(scenario.seed ^ 0x0066_6f72_6569_676e);
    let mix = &scenario.population;
    let mut specimen_index: HashMap<FraudClass, u64> = HashMap::new();
    let mut out = Vec::with_capacity(times.len());
    for (n, t) in times.into_iter().enumerate() {
        let foreign = mix.foreigners > 0.0 && foreign_rng.random::<f64>() < mix.foreigners;
        let visa_national = foreign && foreign_rng.random::<f64>() < mix.visa_required;
        let first_entry = foreign && !visa_national && foreign_rng.random::<f64>() < mix.first_entry;
        let needs = match (foreign, visa_national) {
            (false, _) => Needs::AdultCitizen,
            (true, false) => Needs::AdultForeigner,
            (true, true) => Needs::AdultVisaNational,
        };
        let doc = population.take(needs, false).ok_or_else(|| RunError::Scenario {
            scenario: scenario.name.clone(),
            problem: format!("the population ran out of documents for {needs:?}"),
        })?;
        let (papers, nationality) = describe(&doc);
        let mut planned = Planned {
            label: None,
            truth: "genuine".into(),
            papers,
            nationality,
            arrived: t,
            traveller: Traveller::holder(doc.id),
            foreigner: foreign.then(|| foreigner_known(scenario, population.today, visa_national, first_entry)),
        };
        if first_entry {
            "first-entry".clone_into(&mut planned.truth);
        }
        // How long they take to lay the document down and to give the finger: log-normal, medians 1.5 s and 1 s,
        // 90th percentiles 4 s and 3 s (assumed: no published figure was found; travellers with documents in hand
        // as the gate's signs ask, and some who search their pockets).
        planned.traveller.document_after = handling(&mut rng, 1.5, 4.0);
        planned.traveller.finger_after = handling(&mut rng, 1.0, 3.0);
        let mut listed = None;
        let mut draw: f64 = rng.random();
        // A foreigner carries their own genuine papers and finger (the mix is the citizens').
        let mut chosen = foreign;
        for &(class, share) in &mix.fraud {
            if !chosen && draw < share {
                let index = specimen_index.entry(class).or_insert(0);
                planned.traveller = planned
                    .traveller
                    .clone()
                    .with_papers(khil_sim_point::Papers::Specimen { class, index: *index, space: mix.fraud_space })
                    .with_finger(Some(2_000_000 + n as u64));
                class.name().clone_into(&mut planned.truth);
                planned.papers = format!("specimen {} {}", class.name(), index);
                *index += 1;
                chosen = true;
            }
            draw -= share;
        }
        for (class, share) in &mix.watchlist {
            if !chosen && draw < *share {
                planned.truth = format!("watchlist:{class}");
                listed = Some(class.clone());
                chosen = true;
            }
            draw -= share;
        }
        if !chosen && draw < mix.impostors {
            planned.traveller = planned.traveller.clone().with_finger(Some(3_000_000 + n as u64));
            planned.truth = "impostor".into();
        }
        out.push((planned, listed));
    }
    Ok(out)
}

/// A generated foreigner as the border systems know them: enrolled when they applied for their visa, or at an
/// earlier entry (unless this is their first); a visa-national holds an e-visa valid a month either side of
/// `today`; leaving, they entered five days ago (inside any exemption's and e-visa's stay).
fn foreigner_known(scenario: &Scenario, today: CivilDate, visa_national: bool, first_entry: bool) -> ForeignerKnown {
    let leaving = scenario.point.direction == rules::Direction::Exit;
    let day = |days: i64| today.add_days(days).unwrap_or(today);
    ForeignerKnown {
        register: match (visa_national, first_entry) {
            (true, _) => Some(registry::VISA_ENROLMENT),
            (false, false) => Some(registry::ENTRY_ENROLMENT),
            (false, true) => None,
        },
        visa: visa_national.then(|| Visa {
            kind: VisaKind::EVisa,
            valid_from: day(-30),
            valid_to: day(30),
            entries_used: u32::from(leaving),
        }),
        stay: leaving.then(|| Stay { entry_date: day(-5), registered: false }),
    }
}

/// A crafted traveller, the population id of their finger (for a watchlist entry) and their stay (leaving).
#[allow(clippy::type_complexity)]
fn crafted(
    case: &CraftedTraveller,
    population: &mut PopulationCursor,
    today: CivilDate,
) -> Result<(Planned, Option<u64>, Option<((String, String), Stay)>), String> {
    let (papers, holder, doc) = match case.papers {
        Papers::Population(id) => {
            let doc = population.documents.document(id);
            population.used.insert(id);
            (khil_sim_point::Papers::Population(id), id, Some(doc))
        }
        Papers::First(needs) => {
            let doc = population
                .take(needs, true)
                .ok_or_else(|| format!("traveller {:?}: no population document is {needs:?}", case.label))?;
            (khil_sim_point::Papers::Population(doc.id), doc.id, Some(doc))
        }
        Papers::Specimen { class, index, space } => {
            (khil_sim_point::Papers::Specimen { class, index, space }, 4_000_000 + index, None)
        }
    };
    let finger = match case.finger {
        Finger::Own => Some(holder),
        Finger::Other(id) => Some(id),
        Finger::None => None,
    };
    let mut traveller = Traveller::holder(holder).with_papers(papers).with_finger(finger);
    traveller.behaviour = case.behaviour;
    traveller.chip_faults.clone_from(&case.chip_faults);
    let (described, nationality) = match (&doc, case.papers) {
        (Some(doc), _) => describe(doc),
        (None, Papers::Specimen { class, index, .. }) => (format!("specimen {} {index}", class.name()), "?".into()),
        (None, _) => ("?".into(), "?".into()),
    };
    let truth = match (case.papers, &case.watchlisted) {
        (Papers::Specimen { class, .. }, _) => class.name().to_owned(),
        (_, Some(class)) => format!("watchlist:{class}"),
        _ if matches!(case.finger, Finger::Other(_)) => "impostor".into(),
        _ => "genuine".into(),
    };
    let stay = match (case.entered_days_ago, &doc) {
        (Some(days), Some(doc)) => {
            let entry_date = today
                .add_days(-i64::from(days))
                .ok_or_else(|| format!("traveller {:?}: entered {days} days ago is not a date", case.label))?;
            Some((
                (doc.issuing_state.code().to_owned(), doc.document_number.clone()),
                Stay { entry_date, registered: false },
            ))
        }
        _ => None,
    };
    let planned = Planned {
        label: Some(case.label.clone()),
        truth,
        papers: described,
        nationality,
        arrived: case.at,
        traveller,
        foreigner: None,
    };
    Ok((planned, finger, stay))
}

/// The folder a scenario's rule file is resolved against.
pub fn folder_of(file: &Path) -> PathBuf {
    file.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
