//! `khil sim <device>`: a simulator on a pty or TCP, announced by one `ready <url>` line on stdout.

use std::io::Write;
use std::sync::Arc;

use clap::Args;
use khil_biometrics::synth::Quality;
use khil_link::{BoxLink, Endpoint, Fault, Framing, LineRate, LinkError, SimConnector, url::SimUrl};
use khil_sim_fingerprint::{DeviceFault, Fingers, Presence, Profile, SensorConfig, ZfmSensor};
use khil_sim_host::{Device, Line, echo::Echo};

/// Simulators this binary carries.
pub(crate) const DEVICES: &[&str] = &["echo", "fingerprint", "osdp-pd", "gate"];

#[derive(Debug, Args)]
#[command(
    about = "Run a device simulator on a virtual serial port (pty) or TCP",
    after_help = "Prints exactly one line `ready <url>` on stdout once clients can connect, then serves until \
SIGINT or SIGTERM.\n\nExamples:\n  khil sim echo --pty\n  khil sim echo --tcp 127.0.0.1:4001 --pace 57600\n  \
khil sim fingerprint --pty --profile r307 --finger auto:7 --state lib.json\n  \
khil sim fingerprint --pty --profile r503 --pace 57600 --fault checksum:p=0.01 --fault flip:p=0.0001\n  \
khil sim osdp-pd --pty --profile gate-io --address 1 --scbk 000102030405060708090a0b0c0d0e0f\n  \
khil sim osdp-pd --pty --profile bio-reader --address 2 --finger auto:7 --scbk 000102030405060708090a0b0c0d0e0f\n  \
khil sim gate --pty --address 1 --scbk 000102030405060708090a0b0c0d0e0f --fail-mode secure\n\n\
osdp-pd: type `input <n> on|off`, `tamper on|off` or `card <hex>` on stdin to make events for the next POLL; \
the bio-reader profile also takes `place <id>`, `lift` and `auto <id>` (BIOREAD/BIOMATCH scan that finger). \
Every osdp-pd profile takes files by FILETRANSFER (type 1 or 128-255).\n\
gate: a whole e-gate behind its gate-io board (drive it with `khil gate`); type `traveller normal|tailgater|turnback|slow`, \
`obstruct entry|exit`, `clear entry|exit`, `power on|off` or `status` on stdin; what happens at the gate goes to stderr.\n\
Fingerprint: type `place <id>`, `lift` or `auto <id>` on stdin to move fingers while it runs.\n\
Line faults (any device): drop, flip, dup, garbage, delay, stall, close, e.g. flip:p=0.001,dir=tx.\n\
Fingerprint device faults: checksum, drop-packet, hang, busy, sensor-error (e.g. hang:at=3, busy:every=5,ms=300) \
and power-on (a raw 0x55 when a client connects)."
)]
pub(crate) struct SimArgs {
    /// Device to simulate: echo, fingerprint, osdp-pd, gate
    device: String,
    /// Serve on a new pseudo-terminal; clients open the serial:///dev/pts/N the ready line names (default)
    #[arg(long, conflicts_with_all = ["tcp", "vpcd"])]
    pty: bool,
    /// Serve on TCP at ADDR (host:port; port 0 picks a free one), one client at a time like a serial line
    #[arg(long, value_name = "ADDR", conflicts_with = "vpcd")]
    tcp: Option<String>,
    /// Plug into a vpcd virtual smart-card reader at HOST:PORT (smart-card devices only)
    #[arg(long, value_name = "HOST:PORT")]
    vpcd: Option<String>,
    /// Device profile (model). fingerprint: r307 (default), r503. osdp-pd: gate-io (default), card-reader,
    /// bio-reader
    #[arg(long)]
    profile: Option<String>,
    /// Seed for everything random in the device and on the line (fingers, faults, random numbers)
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// File that keeps the device's persistent state between runs (fingerprint: the flash library; osdp-pd: the
    /// address and key that COMSET and KEYSET set)
    #[arg(long, value_name = "FILE")]
    state: Option<std::path::PathBuf>,
    /// Line or device fault, repeatable (see the list below)
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<String>,
    /// Pace the device's line at this baud rate, both directions, like a real UART
    #[arg(long, value_name = "BAUD", value_parser = clap::value_parser!(u32).range(1..))]
    pace: Option<u32>,
    /// Character framing for --pace
    #[arg(long, default_value = "8N1", requires = "pace")]
    framing: Framing,
    /// fingerprint, osdp-pd bio-reader: who is on the sensor at start: auto:<id> (placed, captured, lifted,
    /// placed again...), place:<id> (stays on) or none
    #[arg(long, value_name = "SPEC", default_value = "none")]
    finger: String,
    /// fingerprint, osdp-pd bio-reader: chance that a capture finds no finger although one is due (people
    /// hesitate; a bio-reader scan makes two attempts)
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    no_finger: f64,
    /// fingerprint: impressions per finger before they repeat (0: every capture is a new impression).
    /// osdp-pd bio-reader: impressions per finger, all synthesised before a scan needs them (0: 4)
    #[arg(long, value_name = "N", default_value_t = 0)]
    impressions: u32,
    /// fingerprint, osdp-pd bio-reader: impression quality, good or mixed (FVC-like: rotation, partial contact,
    /// dry/wet skin)
    #[arg(long, default_value = "good")]
    quality: String,
    /// fingerprint: a deliberate mis-implementation, to check that a conformance suite catches it (repeatable;
    /// see `khil_sim_fingerprint::quirks`), e.g. page-off-by-one, short-errors, forget-on-reset
    #[arg(long = "quirk", value_name = "NAME")]
    quirks: Vec<String>,
    /// osdp-pd: bus address 0-126
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=126))]
    address: u8,
    /// osdp-pd, gate: secure channel base key, 32 hex digits (without it: install mode, SCBK-D accepted)
    #[arg(long, value_name = "HEX")]
    scbk: Option<String>,
    /// gate: what the flaps do without power or controller: safe (open, for evacuation) or secure (closed)
    #[arg(long, value_name = "MODE", default_value = "safe")]
    fail_mode: String,
}

/// A `--fault` value: a bad line, or a misbehaving device.
#[derive(Debug, Clone)]
enum SimFault {
    Line(Fault),
    Device(DeviceFault),
    Pd(khil_sim_osdp::PdFault),
}

/// A `--fault` (or `fault=`) spec of `device`: a line fault, else the device's own kind of fault.
fn parse_fault(device: &str, spec: &str) -> Result<SimFault, String> {
    let line_err = match spec.parse::<Fault>() {
        Ok(f) => return Ok(SimFault::Line(f)),
        Err(e) => e,
    };
    let kind = spec.split_once(':').map_or(spec, |(k, _)| k);
    let line_kinds = ["drop", "flip", "dup", "garbage", "delay", "stall", "close"];
    let unknown_kind = |own: &str| {
        format!("--fault {spec:?}: unknown kind {kind:?}: expected a line fault ({}) or {own}", line_kinds.join(", "))
    };
    if line_kinds.contains(&kind) {
        return Err(format!("--fault: {line_err}"));
    }
    match device {
        "osdp-pd" | "gate" => match spec.parse::<khil_sim_osdp::PdFault>() {
            Ok(f) => Ok(SimFault::Pd(f)),
            Err(e) if e.part == "kind" => Err(unknown_kind(&format!("a PD fault ({})", khil_sim_osdp::faults::KINDS))),
            Err(e) => Err(format!("--fault: {e}")),
        },
        "fingerprint" => match spec.parse::<DeviceFault>() {
            Ok(f) => Ok(SimFault::Device(f)),
            Err(e) if e.part == "kind" => Err(unknown_kind(&format!(
                "a device fault ({}) (example: --fault checksum:p=0.05)",
                khil_sim_fingerprint::faults::KINDS
            ))),
            Err(e) => Err(format!("--fault: {e}")),
        },
        _ => Err(format!("--fault: {line_err}")),
    }
}

fn line(args: &SimArgs, faults: Vec<Fault>) -> Line {
    Line { pace: args.pace.map(|baud| LineRate { baud, framing: args.framing }), faults, seed: args.seed }
}

fn parse_quality(text: &str) -> Result<Quality, String> {
    match text {
        "good" => Ok(Quality::Good),
        "mixed" => Ok(Quality::Mixed),
        _ => Err(format!("--quality {text:?}: expected good or mixed")),
    }
}

fn fingerprint_config(args: &SimArgs, device_faults: Vec<DeviceFault>) -> Result<SensorConfig, String> {
    let profile = match &args.profile {
        None => Profile::R307,
        Some(p) => Profile::by_name(p).ok_or_else(|| {
            format!("--profile {p:?}: expected one of {} (example: --profile r503)", Profile::names())
        })?,
    };
    if !(0.0..=1.0).contains(&args.no_finger) {
        return Err(format!("--no-finger {}: expected a probability from 0 to 1", args.no_finger));
    }
    Ok(SensorConfig {
        profile,
        state: args.state.clone(),
        presence: args.finger.parse().map_err(|e| format!("--finger: {e}"))?,
        no_finger: args.no_finger,
        distinct_impressions: (args.impressions > 0).then_some(args.impressions),
        faults: device_faults,
        quirks: args.quirks.iter().map(|q| q.parse().map_err(|e| format!("--quirk: {e}"))).collect::<Result<_, _>>()?,
        seed: args.seed,
    })
}

pub(crate) async fn run(args: SimArgs) -> Result<(), String> {
    if !DEVICES.contains(&args.device.as_str()) {
        return Err(format!(
            "unknown device {:?}: expected one of {} (example: khil sim fingerprint --pty)",
            args.device,
            DEVICES.join(", ")
        ));
    }
    if args.vpcd.is_some() {
        return Err(format!("--vpcd: device {:?} is not a smart card; use --pty or --tcp", args.device));
    }
    let (mut line_faults, mut device_faults, mut pd_faults) = (Vec::new(), Vec::new(), Vec::new());
    for spec in &args.faults {
        match parse_fault(&args.device, spec)? {
            SimFault::Line(f) => line_faults.push(f),
            SimFault::Device(f) => device_faults.push(f),
            SimFault::Pd(f) => pd_faults.push(f),
        }
    }
    let line = line(&args, line_faults);
    if args.device == "echo" {
        if let Some(p) = &args.profile {
            return Err(format!("--profile {p:?}: device \"echo\" has no profiles"));
        }
        if let Some(s) = &args.state {
            return Err(format!("--state {}: device \"echo\" keeps no state", s.display()));
        }
        if args.finger != "none" {
            return Err(format!("--finger {:?}: device \"echo\" has no sensor", args.finger));
        }
        if let Some(q) = args.quirks.first() {
            return Err(format!("--quirk {q:?}: device \"echo\" has no quirks"));
        }
        return host(Arc::new(Echo), &args, line).await;
    }
    if args.device == "osdp-pd" {
        return osdp_pd(&args, line, pd_faults).await;
    }
    if args.device == "gate" {
        return gate(&args, line, pd_faults).await;
    }
    let config = fingerprint_config(&args, device_faults)?;
    let fingers = Arc::new(Fingers::new(args.seed, parse_quality(&args.quality)?));
    let sensor = Arc::new(ZfmSensor::new(config, fingers).map_err(|e| e.to_string())?);
    // Before the ready line: a client's first capture should not wait for a finger to be synthesised.
    sensor.prepare();
    spawn_finger_console(&sensor);
    host(sensor, &args, line).await
}

/// `khil sim gate`: the gate-io board with the physical gate behind it.
async fn gate(args: &SimArgs, line: Line, faults: Vec<khil_sim_osdp::PdFault>) -> Result<(), String> {
    use khil_sim_osdp::{PdConfig, PdProfile};
    if let Some(p) = args.profile.as_deref().filter(|p| *p != "gate-io") {
        return Err(format!("--profile {p:?}: a gate's board is gate-io (leave --profile out)"));
    }
    if let Some(s) = &args.state {
        return Err(format!("--state {}: device \"gate\" keeps no state", s.display()));
    }
    if args.finger != "none" {
        return Err(format!(
            "--finger {:?}: device \"gate\" has no sensor (the fingers are at a bio-reader PD)",
            args.finger
        ));
    }
    let fail_mode = crate::sim_gate::parse_fail_mode(&args.fail_mode)?;
    let scbk = args.scbk.as_deref().map(parse_key).transpose()?;
    let config = PdConfig { scbk, seed: args.seed, ..PdConfig::new(PdProfile::GATE_IO, args.address) };
    let gate = Arc::new(crate::sim_gate::SimGate::start(config, faults, fail_mode));
    crate::sim_gate::spawn_console(gate.handle());
    host(gate, args, line).await
}

pub(crate) fn parse_key(text: &str) -> Result<[u8; 16], String> {
    khil_osdp::sc::key_from_hex(text)
        .ok_or_else(|| format!("--scbk {} characters: expected 32 hex digits (16 bytes)", text.len()))
}

/// The fingerprint sensor of a bio-reader PD, or an error naming a finger option given to a PD without one.
fn bio_reader(
    profile: khil_sim_osdp::PdProfile,
    presence: Presence,
    no_finger: f64,
    impressions: u32,
    fingers: impl FnOnce() -> Result<Arc<Fingers>, String>,
    seed: u64,
) -> Result<Option<Arc<khil_sim_osdp::BioReader>>, String> {
    if !profile.biometrics {
        if presence != Presence::Lifted {
            return Err(format!(
                "--finger {presence}: profile {:?} has no fingerprint sensor (example: --profile bio-reader --finger \
                 auto:7)",
                profile.name
            ));
        }
        return Ok(None);
    }
    if !(0.0..=1.0).contains(&no_finger) {
        return Err(format!("--no-finger {no_finger}: expected a probability from 0 to 1"));
    }
    Ok(Some(Arc::new(khil_sim_osdp::BioReader::new(fingers()?, presence, no_finger, impressions, seed))))
}

async fn osdp_pd(args: &SimArgs, line: Line, faults: Vec<khil_sim_osdp::PdFault>) -> Result<(), String> {
    use khil_sim_osdp::{OsdpPd, PdConfig, PdProfile};
    let profile = match &args.profile {
        None => PdProfile::GATE_IO,
        Some(p) => PdProfile::by_name(p).ok_or_else(|| {
            format!("--profile {p:?}: expected one of {} (example: --profile gate-io)", PdProfile::names())
        })?,
    };
    let mut scbk = args.scbk.as_deref().map(parse_key).transpose()?;
    let mut address = args.address;
    // The PD's non-volatile memory: what a KEYSET or COMSET stored there wins over the command line, as on a
    // device that was given a key once and keeps it.
    let store = args.state.as_ref().map(khil_sim_osdp::PdStateFile::new);
    if let Some(file) = &store
        && let Some(stored) = file.load(profile.name).map_err(|e| format!("--state: {e}"))?
    {
        if stored.scbk != scbk || stored.address != address {
            eprintln!(
                "state file {}: address {} and {} as stored there (by an earlier COMSET or KEYSET)",
                file.path().display(),
                stored.address,
                if stored.scbk.is_some() { "its own key" } else { "install mode" }
            );
        }
        scbk = stored.scbk;
        address = stored.address;
    }
    let presence: Presence = args.finger.parse().map_err(|e| format!("--finger: {e}"))?;
    let fingers = || Ok(Arc::new(Fingers::new(args.seed, parse_quality(&args.quality)?)));
    let bio = bio_reader(profile, presence, args.no_finger, args.impressions, fingers, args.seed)?;
    let config = PdConfig { scbk, seed: args.seed, bio, ..PdConfig::new(profile, address) };
    let pd = Arc::new(OsdpPd::with_faults(config, faults));
    if let Some(file) = store {
        pd.pd().set_store(Box::new(file));
    }
    // Before the ready line: a CP's first BIOREAD must not wait for a finger to be synthesised.
    pd.prepare();
    spawn_pd_console(&pd);
    host(pd, args, line).await
}

/// Reads `input <n> on|off`, `tamper on|off` and `card <hex>` from stdin, and on a bio reader `place <id>`,
/// `lift` and `auto <id>`; answers on stderr.
fn spawn_pd_console(pd: &Arc<khil_sim_osdp::OsdpPd>) {
    use khil_sim_osdp::PdEvent;
    let pd = Arc::clone(pd);
    let bio = pd.bio();
    let mut lines = stdin_lines();
    tokio::spawn(async move {
        while let Some(text) = lines.recv().await {
            let words: Vec<&str> = text.split_whitespace().collect();
            let on = |w: &str| match w {
                "on" | "1" => Some(true),
                "off" | "0" => Some(false),
                _ => None,
            };
            if let (Some(bio), ["place" | "auto" | "lift" | "none", ..]) = (&bio, words.as_slice()) {
                match text.parse::<Presence>() {
                    Ok(p) => {
                        if let Presence::Auto(id) | Presence::Placed(id) = p {
                            // Synthesised off the runtime before the finger is presented: no scan waits for it.
                            let b = Arc::clone(bio);
                            let _ = tokio::task::spawn_blocking(move || b.prepare_finger(id)).await;
                        }
                        bio.finger().lock().unwrap_or_else(std::sync::PoisonError::into_inner).set(p);
                        eprintln!("finger: {p}");
                    }
                    Err(e) => eprintln!("{e}"),
                }
                continue;
            }
            let event = match words.as_slice() {
                [] => continue,
                ["input", n, state] => n.parse().ok().zip(on(state)).map(|(n, on)| PdEvent::Input { n, on }),
                ["tamper", state] => on(state).map(PdEvent::Tamper),
                ["card", hex] if hex.len() % 2 == 0 && !hex.is_empty() => (0..hex.len())
                    .step_by(2)
                    .map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
                    .collect::<Option<Vec<u8>>>()
                    .map(|data| PdEvent::Card { bits: (data.len() * 8) as u16, data }),
                _ => None,
            };
            match event {
                Some(e) => {
                    eprintln!("event queued: {e:?}");
                    pd.push(e);
                }
                None if bio.is_some() => eprintln!(
                    "{text:?}: expected `input <n> on|off`, `tamper on|off`, `card <hex>`, `place <id>`, `lift` or \
                     `auto <id>`"
                ),
                None => eprintln!("{text:?}: expected `input <n> on|off`, `tamper on|off` or `card <hex>`"),
            }
        }
    });
}

/// Lines typed on stdin, read on a thread of their own: a read blocked on a terminal that stays open must not
/// hold the runtime at shutdown (tokio's stdin reads on its blocking pool, which the runtime waits for, so a
/// simulator with an open console would not end on SIGTERM).
pub(crate) fn stdin_lines() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    use std::io::BufRead;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Reads `place <id>`, `lift` and `auto <id>` lines from stdin and moves the finger. Answers go to stderr so
/// stdout stays the ready line only.
fn spawn_finger_console(sensor: &ZfmSensor) {
    let finger = sensor.finger();
    let mut lines = stdin_lines();
    tokio::spawn(async move {
        while let Some(text) = lines.recv().await {
            if text.trim().is_empty() {
                continue;
            }
            match text.parse::<Presence>() {
                Ok(p) => {
                    finger.lock().unwrap_or_else(std::sync::PoisonError::into_inner).set(p);
                    eprintln!("finger: {p}");
                }
                Err(e) => eprintln!("{e}"),
            }
        }
    });
}

async fn host<D: Device>(device: Arc<D>, args: &SimArgs, line: Line) -> Result<(), String> {
    let endpoint = match &args.tcp {
        Some(addr) => Endpoint::tcp(addr).await,
        None => Endpoint::pty(),
    }
    .map_err(|e| e.to_string())?;
    let url = endpoint.client_url();
    // Handlers go in before the ready line: a supervisor may signal as soon as it has read it.
    let shutdown = shutdown_signal().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready {url}").and_then(|()| out.flush()).map_err(|e| format!("cannot write to stdout: {e}"))?;
    }
    tracing::info!(device = %args.device, %url, "simulator ready");
    let shutdown = async {
        let name = shutdown.await;
        tracing::info!(signal = name, "shutting down");
    };
    // On a worker thread, not the one in `block_on`: a device that calls `block_in_place` there (a scan on the
    // fingerprint reader PD) left the signal unheard until its client closed the port.
    tokio::spawn(khil_sim_host::serve(device, endpoint, line, shutdown))
        .await
        .map_err(|e| format!("simulator task: {e}"))?
        .map_err(|e| e.to_string())
}

/// Installs SIGINT and SIGTERM handlers now; the future resolves with the name of the first that arrives.
pub(crate) fn shutdown_signal() -> std::io::Result<impl Future<Output = &'static str>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    })
}

/// `LinkError::Unsupported` for a `sim:` URL, naming the whole URL.
fn unsupported(url: &SimUrl, why: String) -> LinkError {
    LinkError::Unsupported { url: khil_link::DeviceUrl::Sim(url.clone()).to_string(), why }
}

/// One `key=value` of a `sim:` URL, read as the type its key needs; a bad value is named with its key.
struct Param<'a> {
    url: &'a SimUrl,
    key: &'a str,
    value: &'a str,
}

fn params(url: &SimUrl) -> impl Iterator<Item = Param<'_>> {
    url.params.iter().map(move |(key, value)| Param { url, key, value })
}

impl Param<'_> {
    fn fail(&self, why: String) -> LinkError {
        unsupported(self.url, why)
    }

    fn bad(&self, expected: &str) -> LinkError {
        self.fail(format!("{}: expected {expected}, got {:?}", self.key, self.value))
    }

    fn unknown(&self, known: &str) -> LinkError {
        self.fail(format!("unknown parameter {:?}: expected {known}", self.key))
    }

    /// A value with its own parser (finger, quirk), whose error says what was expected.
    fn parsed<T: std::str::FromStr<Err: std::fmt::Display>>(&self) -> Result<T, LinkError> {
        self.value.parse().map_err(|e: T::Err| self.fail(e.to_string()))
    }

    fn seed(&self) -> Result<u64, LinkError> {
        self.value.parse().map_err(|_| self.bad("an integer"))
    }

    fn baud(&self) -> Result<u32, LinkError> {
        self.value.parse().ok().filter(|b| *b > 0).ok_or_else(|| self.bad("a baud rate"))
    }

    fn address(&self) -> Result<u8, LinkError> {
        self.value.parse().ok().filter(|a| *a < 0x7F).ok_or_else(|| self.bad("0-126"))
    }

    fn scbk(&self) -> Result<[u8; 16], LinkError> {
        parse_key(self.value).map_err(|e| self.fail(e))
    }

    fn probability(&self) -> Result<f64, LinkError> {
        self.value.parse().ok().filter(|p| (0.0..=1.0).contains(p)).ok_or_else(|| self.bad("a probability"))
    }

    fn count(&self) -> Result<u32, LinkError> {
        self.value.parse().ok().filter(|n| *n > 0).ok_or_else(|| self.bad("a count of at least 1"))
    }

    fn fault(&self) -> Result<SimFault, LinkError> {
        parse_fault(&self.url.device, self.value).map_err(|e| self.fail(e))
    }
}

/// What `sim:osdp-pd` and `sim:gate` share: a PD's configuration, its line and its faults.
struct PdParams {
    config: khil_sim_osdp::PdConfig,
    line: Line,
    faults: Vec<khil_sim_osdp::PdFault>,
}

impl PdParams {
    fn new() -> PdParams {
        let config = khil_sim_osdp::PdConfig::new(khil_sim_osdp::PdProfile::GATE_IO, 1);
        PdParams { config, line: Line::default(), faults: Vec::new() }
    }

    /// Takes `address`, `scbk`, `seed` and `fault`; `Ok(false)` for any other key.
    fn take(&mut self, p: &Param<'_>) -> Result<bool, LinkError> {
        match p.key {
            "address" => self.config.address = p.address()?,
            "scbk" => self.config.scbk = Some(p.scbk()?),
            "seed" => {
                self.config.seed = p.seed()?;
                self.line.seed = self.config.seed;
            }
            "fault" => match p.fault()? {
                SimFault::Line(f) => self.line.faults.push(f),
                SimFault::Pd(f) => self.faults.push(f),
                SimFault::Device(_) => return Err(p.bad("a line or PD fault")),
            },
            _ => return Ok(false),
        }
        Ok(true)
    }
}

/// `sim:osdp-pd?profile=..&address=..&scbk=..&fault=..&quirk=..&seed=..` in-process; a bio-reader also takes
/// `finger`, `no-finger` and `impressions` (its fingers come from the process's shared population).
fn connect_osdp_pd(url: &SimUrl) -> Result<BoxLink, LinkError> {
    use khil_sim_osdp::{OsdpPd, PdProfile};
    let mut pd = PdParams::new();
    let (mut presence, mut no_finger, mut impressions) = (Presence::Lifted, 0.0, 0);
    for p in params(url) {
        if pd.take(&p)? {
            continue;
        }
        match p.key {
            "profile" => {
                pd.config.profile =
                    PdProfile::by_name(p.value).ok_or_else(|| p.bad(&format!("one of {}", PdProfile::names())))?;
            }
            "quirk" => pd.config.quirks.push(p.parsed()?),
            "finger" => presence = p.parsed()?,
            "no-finger" => no_finger = p.probability()?,
            "impressions" => impressions = p.count()?,
            _ => return Err(p.unknown("profile, address, scbk, seed, quirk, fault, finger, no-finger or impressions")),
        }
    }
    let PdParams { mut config, line, faults } = pd;
    let seed = config.seed;
    config.bio = bio_reader(config.profile, presence, no_finger, impressions, || Ok(population(seed)), seed)
        .map_err(|e| unsupported(url, e.replacen("--finger", "finger", 1)))?;
    let pd = Arc::new(OsdpPd::with_faults(config, faults));
    pd.prepare();
    Ok(khil_sim_host::in_process(pd, &line))
}

/// `sim:gate?address=..&scbk=..&seed=..&fail-mode=safe|secure&fault=..` in-process: a gate-io board with the
/// physical gate behind it, for as long as the link is open. Travellers are added from a `khil sim gate` console
/// only; in-process, the gate stands empty (for controller and conformance runs).
fn connect_gate(url: &SimUrl) -> Result<BoxLink, LinkError> {
    let mut pd = PdParams::new();
    let mut fail_mode = khil_sim_gate::FailMode::Safe;
    for p in params(url) {
        if pd.take(&p)? {
            continue;
        }
        match p.key {
            "fail-mode" => {
                fail_mode = crate::sim_gate::parse_fail_mode(p.value).map_err(|_| p.bad("safe or secure"))?;
            }
            _ => return Err(p.unknown("address, scbk, seed, fail-mode or fault")),
        }
    }
    let gate = Arc::new(crate::sim_gate::SimGate::start(pd.config, pd.faults, fail_mode));
    Ok(khil_sim_host::in_process(gate, &pd.line))
}

/// `sim:fingerprint?...` (and `sim:echo?...`, which takes `seed`, `pace` and `fault` only).
fn connect_fingerprint_or_echo(url: &SimUrl) -> Result<BoxLink, LinkError> {
    let fingerprint = url.device == "fingerprint";
    let mut line = Line::default();
    let mut config = SensorConfig::new(Profile::R307);
    for p in params(url) {
        match p.key {
            "seed" => {
                line.seed = p.seed()?;
                config.seed = line.seed;
            }
            "pace" => line.pace = Some(LineRate::new(p.baud()?)),
            "fault" => match p.fault()? {
                SimFault::Line(f) => line.faults.push(f),
                SimFault::Device(f) => config.faults.push(f),
                SimFault::Pd(_) => return Err(p.fail("PD faults need `khil sim osdp-pd`".into())),
            },
            "profile" if fingerprint => {
                config.profile =
                    Profile::by_name(p.value).ok_or_else(|| p.bad(&format!("one of {}", Profile::names())))?;
            }
            "finger" if fingerprint => config.presence = p.parsed()?,
            "state" if fingerprint => config.state = Some(p.value.into()),
            "no-finger" if fingerprint => config.no_finger = p.probability()?,
            "quirk" if fingerprint => config.quirks.push(p.parsed()?),
            "impressions" if fingerprint => config.distinct_impressions = Some(p.count()?),
            _ if fingerprint => {
                return Err(p.unknown("seed, pace, fault, profile, finger, state, no-finger, impressions or quirk"));
            }
            _ => return Err(p.unknown("seed, pace or fault")),
        }
    }
    if !fingerprint {
        return Ok(khil_sim_host::in_process(Arc::new(Echo), &line));
    }
    let fingers = population(config.seed);
    let sensor = ZfmSensor::new(config, fingers).map_err(|e| unsupported(url, e.to_string()))?;
    sensor.prepare();
    Ok(khil_sim_host::in_process(Arc::new(sensor), &line))
}

/// The synthetic population of `seed`, shared by every in-process sensor of this process: a conformance run
/// opens a fresh simulator per test purpose, and a finger is synthesised once, not once per purpose.
fn population(seed: u64) -> Arc<Fingers> {
    static POPULATIONS: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<u64, Arc<Fingers>>>> =
        std::sync::OnceLock::new();
    let map = POPULATIONS.get_or_init(Default::default);
    let mut map = map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    Arc::clone(map.entry(seed).or_insert_with(|| Arc::new(Fingers::new(seed, Quality::Good))))
}

/// `sim:<device>?...` URLs: the simulators of this binary, in-process. Each parameter at most once. Every
/// device takes `seed` and `fault` (a line fault, or the device's own); `echo` and `fingerprint` also `pace`;
/// the fingerprint `profile`, `finger`, `state`, `no-finger`, `impressions` and `quirk`; `osdp-pd` and `gate`
/// `address` and `scbk`, `osdp-pd` `profile`, `quirk` and, on a bio-reader, `finger`, `no-finger` and
/// `impressions`; `gate` `fail-mode`.
#[derive(Debug, Default)]
pub(crate) struct Simulators;

impl SimConnector for Simulators {
    fn connect_sim(&self, url: &SimUrl) -> Result<BoxLink, LinkError> {
        match url.device.as_str() {
            "osdp-pd" => connect_osdp_pd(url),
            "gate" => connect_gate(url),
            "fingerprint" | "echo" => connect_fingerprint_or_echo(url),
            other => Err(unsupported(url, format!("no simulator {other:?}: expected one of {}", DEVICES.join(", ")))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use khil_fingerprint::driver::{EnrolOptions, Options, Zfm};

    fn url(text: &str) -> SimUrl {
        match text.parse::<khil_link::DeviceUrl>().unwrap() {
            khil_link::DeviceUrl::Sim(s) => s,
            other => panic!("{other}"),
        }
    }

    /// `sim:fingerprint?...` gives a working in-process module: khil's driver enrols and identifies on it.
    #[tokio::test(start_paused = true)]
    async fn sim_url_serves_a_fingerprint_module() {
        let link = Simulators.connect_sim(&url("sim:fingerprint?profile=r503&finger=auto:4&seed=3")).unwrap();
        let mut zfm = Zfm::connect(link, Options { char_buffers: 6, ..Options::default() }).await.unwrap();
        assert_eq!(zfm.library_size(), 200, "the r503 profile");
        let quick = EnrolOptions { poll: std::time::Duration::from_millis(10), ..EnrolOptions::default() };
        zfm.enrol(9, &quick).await.unwrap();
        zfm.wait_for_lift(quick.poll, quick.finger_deadline).await.unwrap();
        zfm.wait_for_finger(quick.poll, quick.finger_deadline).await.unwrap();
        zfm.image_to_template(1).await.unwrap();
        assert_eq!(zfm.search_library(1).await.unwrap().map(|h| h.page), Some(9));
    }

    /// `sim:osdp-pd?profile=bio-reader&finger=auto:7`: khil's CP reads an ANSI/INCITS 378 template from the
    /// in-process fingerprint reader and matches it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sim_url_serves_a_bio_reader() {
        use khil_osdp::command::{BioMatch, BioRead, Command};
        use khil_osdp::cp::{CpConfig, OsdpBus, PdSetup};
        use khil_osdp::reply::Reply;
        let link = Simulators.connect_sim(&url("sim:osdp-pd?profile=bio-reader&finger=auto:7&address=4")).unwrap();
        let mut bus = OsdpBus::new(link, CpConfig::default());
        bus.add_pd(PdSetup::install(4)).unwrap();
        let handle = bus.handle();
        tokio::spawn(async move { bus.run().await });
        handle.wait_online(4).await.unwrap();
        let read = Command::BioRead(BioRead { reader: 0, kind: 0, format: 2, quality: 0 });
        let Reply::BioReadR(r) = handle.command(4, read).await.unwrap() else { panic!("no BIOREADR") };
        assert_eq!(r.status, 0);
        khil_biometrics::template::decode_ansi(&r.data).unwrap();
        let verify = Command::BioMatch(BioMatch { reader: 0, kind: 0, format: 2, quality: 80, template: r.data });
        let Reply::BioMatchR { status: 0, score, .. } = handle.command(4, verify).await.unwrap() else { panic!() };
        assert!(score >= 80, "{score}");
    }

    #[test]
    fn sim_url_errors_name_the_parameter() {
        for (text, needle) in [
            ("sim:fingerprint?profile=r999", "profile: expected one of r307, r503"),
            ("sim:fingerprint?finger=auto:x", "expected auto:<id>"),
            ("sim:fingerprint?fault=smoke:p=1", "unknown kind \"smoke\""),
            ("sim:fingerprint?colour=red", "unknown parameter \"colour\""),
            ("sim:echo?profile=r307", "expected seed, pace or fault"),
            ("sim:osdp-pd?finger=auto:7", "finger auto:7: profile \"gate-io\" has no fingerprint sensor"),
            ("sim:osdp-pd?profile=bio-reader&finger=thumb", "expected auto:<id>"),
            ("sim:osdp-pd?profile=bio-reader&no-finger=3", "no-finger: expected a probability"),
            ("sim:osdp-pd?colour=red", "expected profile, address, scbk, seed, quirk, fault, finger"),
            ("sim:scanner", "no simulator \"scanner\""),
            ("sim:echo?pace=0", "pace: expected a baud rate, got \"0\""),
            ("sim:fingerprint?impressions=0", "impressions: expected a count of at least 1"),
            ("sim:osdp-pd?address=127", "address: expected 0-126, got \"127\""),
            ("sim:osdp-pd?fault=hang:at=1", "or a PD fault (slow, no-reply"),
            ("sim:gate?scbk=00", "--scbk 2 characters: expected 32 hex digits"),
            ("sim:gate?seed=x", "seed: expected an integer"),
            ("sim:gate?profile=gate-io", "expected address, scbk, seed, fail-mode or fault"),
        ] {
            let Err(e) = Simulators.connect_sim(&url(text)) else { panic!("{text} was accepted") };
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }
}
