//! [`Point`]: one gate's devices stood up in this process, and travellers walking through it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use khil_apdu::Card;
use khil_link::BoxLink;
use khil_mrtd::mrz::CivilDate;
use khil_sim_docreader::Catalogue;
use khil_sim_docreader::sim::{Desk, REFERENCE_DAY};
use khil_sim_gate::{Behaviour, DEFAULT_TICK, Event, Flap, GateBridge, GateConfig, GateHandle, GateModel, Logged};
use khil_sim_gate::{TravellerId, Zone};
use khil_sim_host::config::{Params, Surface};
use khil_sim_host::{Build, Console, Line};
use khil_sim_osdp::{OsdpPd, PdConfig, PdProfile};
use khil_sim_population::Presence;
use tokio::io::AsyncReadExt;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};

use crate::field::{ChipTiming, Field, TimedReader};
use crate::traveller::{Papers, Traveller};

/// How the gate's devices are built. Every device takes the same seed, so that population document N on the
/// reader, on the chip and under the scanner are the same person.
#[derive(Debug, Clone)]
pub struct PointConfig {
    pub seed: u64,
    /// The reader's capture resolution: 300 or 400.
    pub dpi: u16,
    /// The reader's line (`None`: memory speed). Page readers sit on USB or Ethernet: ~100 Mbit/s.
    pub reader_baud: Option<u32>,
    /// The reader's own faults (`khil sim docreader --fault`); the fallback reader has none.
    pub reader_faults: Vec<String>,
    /// A second document reader the gate can fall back to.
    pub fallback_reader: bool,
    /// The scanner's UART (an R307 runs at 57600 by default, up to 115200) (`None`: memory speed).
    pub scanner_baud: Option<u32>,
    /// Line and module faults of the scanner in `khil sim fingerprint --fault` grammar (`close:at=20000,dir=tx`:
    /// unplugged during the first image upload).
    pub scanner_faults: Vec<String>,
    /// Impression quality of the population's fingers: `good` or `mixed`.
    pub finger_quality: &'static str,
    /// Faults of the gate I/O board's OSDP line (khil-link's grammar: `close:at=5000,dir=rx` cuts the cable
    /// 5,000 bytes into what the board sends).
    pub gate_io_faults: Vec<String>,
    pub gate: GateConfig,
    pub gate_address: u8,
    pub gate_key: [u8; 16],
    pub chip: ChipTiming,
    /// The gate's fingerprint sensors: the one in use first, then its fallbacks (at most one of each kind).
    pub sensors: Vec<SensorKind>,
}

/// Which fingerprint sensor the gate has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SensorKind {
    /// A ZFM module (an R307) on its own UART: the host uploads the image and extracts.
    #[default]
    Zfm,
    /// A biometric reader PD on the gate I/O board's OSDP line (multidrop, address `gate_address + 1`, its own
    /// secure-channel key) that images, extracts and sends ANSI/INCITS 378 templates; a scan takes `scan`.
    OsdpBio { scan: Duration },
}

impl SensorKind {
    /// The name a scenario file gives it.
    pub fn name(self) -> &'static str {
        match self {
            SensorKind::Zfm => "zfm",
            SensorKind::OsdpBio { .. } => "osdp-bio",
        }
    }

    /// An OSDP bio reader with the scan time assumed for one: imaging and on-board extraction. Vendors of
    /// single-finger OSDP readers quote roughly half a second to a second per capture (*unverified*: no
    /// measured figure here); 0.8 s is taken.
    pub const OSDP_BIO: SensorKind = SensorKind::OsdpBio { scan: Duration::from_millis(800) };
}

/// The bio reader's secure-channel key (each PD on a line has its own).
const BIO_KEY: [u8; 16] = *b"khil-point-bio01";

impl Default for PointConfig {
    fn default() -> PointConfig {
        PointConfig {
            seed: 0,
            dpi: 300,
            reader_baud: Some(100_000_000),
            reader_faults: Vec::new(),
            fallback_reader: false,
            scanner_baud: Some(115_200),
            scanner_faults: Vec::new(),
            finger_quality: "good",
            gate_io_faults: Vec::new(),
            gate: GateConfig::default(),
            gate_address: 1,
            gate_key: *b"khil-point-gate1",
            chip: ChipTiming::default(),
            sensors: vec![SensorKind::Zfm],
        }
    }
}

/// The driver-side ends of the gate's devices.
pub struct PointLinks {
    /// The gate I/O board's OSDP line, its address and secure-channel key.
    pub gate_io: BoxLink,
    pub gate_address: u8,
    pub gate_key: [u8; 16],
    /// The document reader's khil channel.
    /// The document readers' khil channels: the gate's reader, then its fallback if it has one.
    pub readers: Vec<BoxLink>,
    /// The reader's RF chip reader.
    pub chip: TimedReader,
    /// The fingerprint sensors, in [`PointConfig::sensors`]' order.
    pub sensors: Vec<SensorLinks>,
}

/// How the driver reaches the fingerprint sensor.
pub enum SensorLinks {
    /// The ZFM scanner's serial line (an R307: 256 x 288 pixels, no ReadProdInfo).
    Zfm(BoxLink),
    /// The bio reader on the gate I/O line: its address and key.
    OsdpBio { address: u8, key: [u8; 16] },
}

impl std::fmt::Debug for SensorLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SensorLinks::Zfm(_) => f.write_str("SensorLinks::Zfm"),
            SensorLinks::OsdpBio { address, .. } => write!(f, "SensorLinks::OsdpBio {{ address: {address} }}"),
        }
    }
}

impl std::fmt::Debug for PointLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PointLinks").field("gate_address", &self.gate_address).finish_non_exhaustive()
    }
}

/// How a traveller's walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkEnd {
    /// Out through the exit flap.
    Exited,
    /// Back out through the entry (referred to the officer).
    TurnedBack,
    /// Never reached the mantrap.
    NotAdmitted,
}

/// One traveller's walk, on tokio's clock from the moment they stepped up to the gate.
#[derive(Debug, Clone, PartialEq)]
pub struct Walk {
    pub id: TravellerId,
    /// Standing in the mantrap, the entry flap closed behind them.
    pub in_mantrap: Option<Duration>,
    /// Out of the gate's zones.
    pub gone: Duration,
    pub end: WalkEnd,
}

/// One gate's physical world.
pub struct Point {
    config: PointConfig,
    gate: GateHandle,
    _bridge: GateBridge,
    /// Each reader's glass, in [`PointLinks::readers`]' order.
    desks: Vec<Arc<Desk>>,
    field: Field,
    sensors: Vec<SensorConsole>,
    events: Mutex<Vec<Logged>>,
    rte: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Point").field("seed", &self.config.seed).finish_non_exhaustive()
    }
}

impl Drop for Point {
    fn drop(&mut self) {
        for rte in &self.rte {
            rte.abort();
        }
    }
}

/// Where fingers are put on and taken off the gate's sensor.
enum SensorConsole {
    Zfm(Arc<dyn Console>),
    OsdpBio(Arc<khil_sim_osdp::BioReader>),
}

impl SensorConsole {
    /// `auto <id>`, `lift`: the console line either simulator takes.
    fn command(&self, line: &str) -> Result<String, String> {
        match self {
            SensorConsole::Zfm(console) => console.command(line),
            SensorConsole::OsdpBio(bio) => khil_sim_population::move_finger(&bio.finger(), line),
        }
    }
}

/// The gate's ZFM scanner as `sim:fingerprint?...` builds it: the driver's line and the finger console.
fn zfm(config: &PointConfig, seed: &str) -> Result<(BoxLink, Arc<dyn Console>), String> {
    let sim = &khil_sim_fingerprint::SIMULATOR;
    let mut pairs =
        vec![("profile", "r307".to_owned()), ("seed", seed.to_owned()), ("quality", config.finger_quality.to_owned())];
    if let Some(baud) = config.scanner_baud {
        pairs.push(("pace", baud.to_string()));
    }
    pairs.extend(config.scanner_faults.iter().map(|f| ("fault", f.clone())));
    let Build::Stream(build) = sim.build else { return Err("fingerprint: not a stream simulator".into()) };
    let built = build(&params(sim, &pairs)?).map_err(|e| format!("fingerprint: {e}"))?;
    let console = built.console.clone().ok_or("fingerprint: no console")?;
    Ok((built.in_process(), console))
}

/// Builds simulator `sim` from `pairs`, as `sim:<name>?<pairs>` would.
fn params(sim: &khil_sim_host::Simulator, pairs: &[(&str, String)]) -> Result<Params, String> {
    let pairs = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    Params::new(Surface::Url, sim.name, sim.params, pairs).map_err(|e| format!("{}: {e}", sim.name))
}

impl Point {
    /// Stands the gate's devices up (inside a tokio runtime) and returns the world and the drivers' ends.
    pub async fn start(config: PointConfig) -> Result<(Point, PointLinks), String> {
        let seed = config.seed.to_string();

        // The gate: its I/O board on an OSDP line, the physical model behind it.
        let pd = Arc::new(OsdpPd::new(PdConfig {
            scbk: Some(config.gate_key),
            seed: config.seed,
            ..PdConfig::new(PdProfile::GATE_IO, config.gate_address)
        }));
        let model = GateModel::new(GateConfig { seed: config.seed, ..config.gate.clone() });
        let bridge = GateBridge::spawn(model, Arc::clone(&pd), DEFAULT_TICK);
        let faults = config
            .gate_io_faults
            .iter()
            .map(|f| f.parse().map_err(|e| format!("gate I/O line fault {f:?}: {e}")))
            .collect::<Result<Vec<_>, String>>()?;
        let line = Line { faults, seed: config.seed, ..Line::default() };

        // The readers, as `sim:docreader?...` builds them (the faults are the first one's).
        let (mut readers, mut rtes, mut desks) = (Vec::new(), Vec::new(), Vec::new());
        for n in 0..if config.fallback_reader { 2 } else { 1 } {
            let mut pairs = vec![("dpi".to_owned(), config.dpi.to_string()), ("seed".to_owned(), seed.clone())];
            if let Some(baud) = config.reader_baud {
                pairs.push(("pace".into(), baud.to_string()));
            }
            if n == 0 {
                pairs.extend(config.reader_faults.iter().map(|f| ("fault".to_owned(), f.clone())));
            }
            let (reader, rte, desk) = khil_sim_docreader::sim::in_process(pairs).await?;
            // Nobody here listens to the RTE channel: read it away so that it never fills.
            rtes.push(tokio::spawn(async move {
                let mut rte = rte;
                let mut buf = [0u8; 512];
                while let Ok(1..) = rte.read(&mut buf).await {}
            }));
            readers.push(reader);
            desks.push(desk);
        }

        // The fingerprint sensors: a ZFM module as `sim:fingerprint?...` builds it, a bio reader PD on the gate's
        // line.
        let mut pds = vec![pd];
        let (mut sensor_links, mut sensors) = (Vec::new(), Vec::new());
        for kind in &config.sensors {
            let (link, console) = match *kind {
                SensorKind::Zfm => {
                    let (line, console) = zfm(&config, &seed)?;
                    (SensorLinks::Zfm(line), SensorConsole::Zfm(console))
                }
                SensorKind::OsdpBio { scan } => {
                    let quality = khil_sim_population::quality_named(config.finger_quality)
                        .ok_or_else(|| format!("finger quality {:?}: good or mixed", config.finger_quality))?;
                    let fingers = khil_sim_population::Fingers::shared(config.seed, quality);
                    let bio = khil_sim_osdp::BioReader::new(fingers, Presence::Lifted, 0.0, 0, config.seed);
                    let bio = Arc::new(bio.with_scan_time(scan));
                    let address = config.gate_address + u8::try_from(pds.len()).map_err(|_| "too many PDs")?;
                    pds.push(Arc::new(OsdpPd::new(PdConfig {
                        scbk: Some(BIO_KEY),
                        seed: config.seed,
                        bio: Some(Arc::clone(&bio)),
                        ..PdConfig::new(PdProfile::BIO_READER, address)
                    })));
                    (SensorLinks::OsdpBio { address, key: BIO_KEY }, SensorConsole::OsdpBio(bio))
                }
            };
            sensor_links.push(link);
            sensors.push(console);
        }
        let gate_io = match <[_; 1]>::try_from(pds) {
            Ok([pd]) => khil_sim_host::in_process(pd, &line),
            Err(pds) => khil_sim_host::in_process(Arc::new(khil_sim_osdp::Multidrop { pds }), &line),
        };

        let (field, chip) = Field::new(config.chip);
        let links = PointLinks {
            gate_io,
            gate_address: config.gate_address,
            gate_key: config.gate_key,
            readers,
            chip,
            sensors: sensor_links,
        };
        let point = Point {
            gate: bridge.handle(),
            _bridge: bridge,
            desks,
            field,
            sensors,
            events: Mutex::new(Vec::new()),
            rte: rtes,
            config,
        };
        Ok((point, links))
    }

    /// The gate, for watching its flaps and travellers.
    pub fn gate(&self) -> &GateHandle {
        &self.gate
    }

    /// Everything that happened at the gate so far.
    pub fn gate_events(&self) -> Vec<Logged> {
        let mut log = self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        log.extend(self.gate.drain_events());
        log.clone()
    }

    /// The chip of population document `id` as `sim:passport?document=<id>` issues it (`None`: a visa, no chip).
    fn chip(&self, id: u64, faults: &[String]) -> Result<Option<Box<dyn Card>>, String> {
        let sim = &khil_sim_mrtd::SIMULATOR;
        let Build::Card(build) = sim.build else { return Err("passport: not a card simulator".into()) };
        let mut pairs = vec![("document", id.to_string()), ("seed", self.config.seed.to_string())];
        pairs.extend(faults.iter().map(|f| ("fault", f.clone())));
        match build(&params(sim, &pairs)?) {
            Ok(built) => Ok(Some((built.card)())),
            Err(e) if e.to_string().contains("visa") => Ok(None),
            Err(e) => Err(format!("passport: {e}")),
        }
    }

    /// The reader's console line that lays `papers` on the glass, and the chip that goes in the field with it.
    fn papers(&self, papers: Papers, faults: &[String]) -> Result<(String, Option<Box<dyn Card>>), String> {
        match papers {
            Papers::Population(id) => Ok((format!("place {id}"), self.chip(id, faults)?)),
            Papers::Specimen { class, index, space } => {
                let (y, m, d) = REFERENCE_DAY;
                let day = CivilDate::new(y, m, d).ok_or("the reference day")?;
                let specimen = Catalogue::new(self.config.seed, day, space).specimen(class, index);
                let chip = if specimen.chip.is_some() { self.chip(specimen.document.id, faults)? } else { None };
                Ok((format!("place {index} fraud={} space={}", class.name(), space.name()), chip))
            }
        }
    }

    /// Plays `traveller` through the gate: steps up, waits to be let into the mantrap, lays the document on the
    /// reader (its chip in the field), puts the finger on the scanner, and walks out whichever way the gate
    /// opens, taking the document back. Returns once they are out of the gate's zones.
    pub async fn walk(&self, traveller: &Traveller) -> Result<Walk, String> {
        let (place, chip) = self.papers(traveller.papers, &traveller.chip_faults)?;
        // The finger is synthesised when the scanner first images it (GenImg), as the module's own work: the clock
        // is tokio's, so that costs no modelled time, and captures the flow never asks for are never made.
        let id = self.gate.add_traveller(traveller.behaviour);
        let t0 = Instant::now();
        let in_mantrap = self
            .until(Duration::from_mins(2), |g| {
                let model = g.model();
                match model.traveller(id) {
                    None => Some(false),
                    Some(v) => (v.zone == Zone::Mantrap && model.flap_closed(Flap::Entry)).then_some(true),
                }
            })
            .await
            .ok_or_else(|| format!("traveller {id:?} not in the mantrap within 2 min"))?;
        if !in_mantrap {
            return Ok(Walk { id, in_mantrap: None, gone: t0.elapsed(), end: WalkEnd::NotAdmitted });
        }
        let in_mantrap = t0.elapsed();
        sleep(traveller.document_after).await;
        // On the gate's reader; a gate with a fallback shows the traveller whichever it reads with.
        for desk in &self.desks {
            desk.command(&place).map_err(|e| format!("reader desk: {place}: {e}"))?;
        }
        if let Some(chip) = chip {
            self.field.present(chip);
        }
        if let Some(finger) = traveller.finger {
            sleep(traveller.finger_after).await;
            // Whichever sensor the gate asks for: the finger goes on each (a fallback is there for when it asks).
            for sensor in &self.sensors {
                sensor.command(&format!("auto {finger}")).map_err(|e| format!("fingerprint sensor: {e}"))?;
            }
        }
        // Out of the mantrap, whichever way: the document and the finger go with them.
        self.until(Duration::from_mins(5), |g| {
            g.model().traveller(id).is_none_or(|v| v.zone != Zone::Mantrap).then_some(())
        })
        .await
        .ok_or_else(|| format!("traveller {id:?} still in the mantrap after 5 min"))?;
        for desk in &self.desks {
            let _ = desk.command("remove");
        }
        self.field.take_away();
        for sensor in &self.sensors {
            let _ = sensor.command("lift");
        }
        self.until(Duration::from_mins(2), |g| g.model().traveller(id).is_none().then_some(()))
            .await
            .ok_or_else(|| format!("traveller {id:?} still at the gate after 2 min"))?;
        let gone = t0.elapsed();
        let events = self.gate_events();
        let end = if events.iter().any(|l| l.event == Event::TravellerExited { id }) {
            WalkEnd::Exited
        } else {
            WalkEnd::TurnedBack
        };
        Ok(Walk { id, in_mantrap: Some(in_mantrap), gone, end })
    }

    /// Polls the gate every 50 ms (model time) until `ready` says something, for at most `limit`.
    async fn until<T>(&self, limit: Duration, ready: impl Fn(&GateHandle) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(t) = ready(&self.gate) {
                return Some(t);
            }
            if Instant::now() >= deadline {
                return None;
            }
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// A traveller who walks in behind someone else (for tailgating scenarios).
    pub fn add_bystander(&self, behaviour: Behaviour) -> TravellerId {
        self.gate.add_traveller(behaviour)
    }
}
