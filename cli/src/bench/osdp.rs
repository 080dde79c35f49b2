//! `khil bench osdp`: khil's control panel and simulated PDs.
//!
//! - Handshake: secure channel set up and a first encrypted command, unpaced, in-process (target < 5 ms).
//! - Bus: `--pds` gate I/O boards on one multidrop line paced at `--baud`, one CP polling them as fast as the line
//!   allows; polls per second against the line's limit for a secure POLL/ACK exchange.
//! - Gates: `--gates` gates in this process, each its own paced line with a CP, a gate I/O board and a biometric
//!   reader, khil's gate controller and the physical gate model; travellers walk through for `--gate-seconds`,
//!   each matched by BIOMATCH and let out. Travellers through, passage times, BIOMATCH round trips, commands per
//!   second per gate and the process's CPU use.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use khil_biometrics::synth::Quality;
use khil_clearance::gate::{Decision, Gate, GateSetup, GateState};
use khil_link::LineRate;
use khil_osdp::command::{BioMatch, BioRead, Command, OutputControl};
use khil_osdp::cp::{BusHandle, CpConfig, OsdpBus, PdSetup};
use khil_osdp::reply::Reply;
use khil_sim_fingerprint::{Fingers, Presence};
use khil_sim_gate::{Behaviour, DEFAULT_TICK, GateBridge, GateConfig, GateHandle, GateModel};
use khil_sim_host::Line;
use khil_sim_osdp::{BioReader, Multidrop, OsdpPd, PdConfig, PdProfile};
use serde::Serialize;

use super::{quantile, round};

const KEY: [u8; 16] = [0x4B, 0x48, 0x49, 0x4C, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

#[derive(Debug, Args)]
#[command(
    about = "OSDP control panel and simulated PDs: handshake time, polls per second on a paced bus, gates per process",
    after_help = "Examples:\n  khil bench osdp --pds 126 --gates 64 --gate-seconds 30 --json osdp.json\n  khil bench osdp --only bus"
)]
pub(crate) struct OsdpBenchArgs {
    /// PDs on the one multidrop line
    #[arg(long, default_value_t = 126, value_parser = clap::value_parser!(u8).range(1..=126))]
    pds: u8,
    /// Baud rate of the paced lines (8N1)
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// Seconds of polling measured on the bus and on the gates
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Gates in this process (each a CP, a gate I/O board and a bio reader on its own paced line, with khil's
    /// gate controller and the gate model)
    #[arg(long, default_value_t = 64)]
    gates: usize,
    /// Seconds travellers walk through the gates
    #[arg(long, default_value_t = 30)]
    gate_seconds: u64,
    /// Handshakes timed
    #[arg(long, default_value_t = 50)]
    handshakes: usize,
    /// Run only these parts (default: all of them)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "PART")]
    only: Vec<Part>,
    /// Also write the results as JSON to FILE
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// The parts of the bench, for `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    Handshake,
    Bus,
    Gates,
}

impl OsdpBenchArgs {
    fn runs(&self, part: Part) -> bool {
        self.only.is_empty() || self.only.contains(&part)
    }
}

/// What ran; a part left out with `--only` is `null` in the JSON.
#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    baud: u32,
    handshake: Option<HandshakeReport>,
    bus: Option<BusReport>,
    gates: Option<GatesReport>,
}

#[derive(Debug, Serialize)]
struct HandshakeReport {
    runs: usize,
    ms_median: f64,
    ms_max: f64,
}

#[derive(Debug, Serialize)]
struct BusReport {
    pds: u8,
    polls_per_s: f64,
    /// A secure POLL and its ACK: 15 bytes each way with the mark, 10 bits a byte.
    line_limit_polls_per_s: f64,
    ratio_to_limit: f64,
    /// The same bus without pacing: what the CP and PDs manage when the line costs nothing.
    unpaced_polls_per_s: f64,
}

#[derive(Debug, Serialize)]
struct GatesReport {
    gates: usize,
    online: usize,
    seconds: u64,
    /// POLLs and commands the two PDs of a gate executed per second.
    commands_per_s_median: f64,
    travellers_through: usize,
    travellers_per_gate_min: usize,
    passage_s_median: f64,
    passage_s_max: f64,
    biomatch_round_trip_ms_median: f64,
    biomatch_round_trip_ms_max: f64,
    /// Process CPU time / wall time while the gates ran (1.0 = one core).
    cpu_cores_used: f64,
}

pub(crate) async fn run(args: &OsdpBenchArgs) -> Result<(), String> {
    if args.baud == 0 || args.seconds == 0 || args.gates == 0 || args.handshakes == 0 || args.gate_seconds == 0 {
        return Err("--baud, --seconds, --gates, --gate-seconds and --handshakes must be at least 1".into());
    }
    let mut report = Report { bench: "osdp", baud: args.baud, handshake: None, bus: None, gates: None };
    if args.runs(Part::Handshake) {
        let mut handshakes = Vec::new();
        for _ in 0..args.handshakes {
            handshakes.push(handshake_ms().await?);
        }
        let h = HandshakeReport {
            runs: args.handshakes,
            ms_median: round(quantile(&mut handshakes, 0.5), 3),
            ms_max: round(quantile(&mut handshakes, 1.0), 3),
        };
        println!("secure channel handshake + first encrypted command, unpaced, in-process:");
        println!("  median {:.3} ms, max {:.3} ms over {} runs", h.ms_median, h.ms_max, h.runs);
        report.handshake = Some(h);
    }
    if args.runs(Part::Bus) {
        let (polls, limit) = bus(args, true).await?;
        let (unpaced, _) = bus(args, false).await?;
        let b = BusReport {
            pds: args.pds,
            polls_per_s: round(polls, 1),
            line_limit_polls_per_s: round(limit, 1),
            ratio_to_limit: round(polls / limit, 3),
            unpaced_polls_per_s: round(unpaced, 1),
        };
        println!(
            "{} gate I/O boards on one line at {} baud 8N1, secure channel, one CP polling as fast as it can:",
            b.pds, args.baud
        );
        println!(
            "  {:.1} polls/s; line limit {:.1} polls/s (30 bytes a secure POLL+ACK); ratio {:.3}",
            b.polls_per_s, b.line_limit_polls_per_s, b.ratio_to_limit
        );
        println!("  the same bus unpaced: {:.1} polls/s", b.unpaced_polls_per_s);
        report.bus = Some(b);
    }
    if args.runs(Part::Gates) {
        let mut g = gates(args).await?;
        let r = GatesReport {
            gates: args.gates,
            online: g.online,
            seconds: args.gate_seconds,
            commands_per_s_median: round(quantile(&mut g.commands_per_s, 0.5), 1),
            travellers_through: g.through.iter().sum(),
            travellers_per_gate_min: g.through.iter().copied().min().unwrap_or(0),
            passage_s_median: round(quantile(&mut g.passage_s, 0.5), 2),
            passage_s_max: round(quantile(&mut g.passage_s, 1.0), 2),
            biomatch_round_trip_ms_median: round(quantile(&mut g.biomatch_ms, 0.5), 2),
            biomatch_round_trip_ms_max: round(quantile(&mut g.biomatch_ms, 1.0), 2),
            cpu_cores_used: round(g.cores, 2),
        };
        println!(
            "{} gates in one process, each a CP + gate I/O board + bio reader on its own {}-baud line, khil's gate \
             controller, the gate model and travellers, for {} s:",
            r.gates, args.baud, r.seconds
        );
        println!(
            "  {} online; {} travellers through (at least {} a gate); passage median {:.2} s, max {:.2} s",
            r.online, r.travellers_through, r.travellers_per_gate_min, r.passage_s_median, r.passage_s_max
        );
        println!(
            "  BIOMATCH round trip median {:.2} ms, max {:.2} ms; {:.1} commands/s a gate; CPU {:.2} cores",
            r.biomatch_round_trip_ms_median, r.biomatch_round_trip_ms_max, r.commands_per_s_median, r.cpu_cores_used
        );
        report.gates = Some(r);
    }
    match &args.json {
        Some(path) => super::write_json(path, &report),
        None => Ok(()),
    }
}

fn gate_pd(address: u8) -> PdConfig {
    PdConfig { scbk: Some(KEY), ..PdConfig::new(PdProfile::GATE_IO, address) }
}

async fn handshake_ms() -> Result<f64, String> {
    let pd = Arc::new(OsdpPd::new(gate_pd(1)));
    let link = khil_sim_host::in_process(pd, &Line::default());
    let start = Instant::now();
    let mut bus = OsdpBus::new(link, CpConfig::default());
    bus.add_pd(PdSetup::secure(1, KEY)).map_err(|e| e.to_string())?;
    let handle = bus.handle();
    let task = tokio::spawn(async move {
        let _ = bus.run().await;
    });
    handle.wait_for(1, |s| s.secure).await.map_err(|e| e.to_string())?;
    let out = Command::Out(vec![OutputControl { output: 0, control: 2, timer: 0 }]);
    handle.command(1, out).await.map_err(|e| e.to_string())?;
    let ms = start.elapsed().as_secs_f64() * 1e3;
    task.abort();
    Ok(ms)
}

/// Polls per second on one paced multidrop line, and the line's limit.
async fn bus(args: &OsdpBenchArgs, paced: bool) -> Result<(f64, f64), String> {
    let pds: Vec<Arc<OsdpPd>> = (1..=args.pds).map(|a| Arc::new(OsdpPd::new(gate_pd(a)))).collect();
    let line = Line { pace: paced.then(|| LineRate::new(args.baud)), ..Line::default() };
    let link = khil_sim_host::in_process(Arc::new(Multidrop { pds: pds.clone() }), &line);
    let mut bus = OsdpBus::new(link, CpConfig { poll_interval: Duration::ZERO, ..CpConfig::default() });
    for a in 1..=args.pds {
        bus.add_pd(PdSetup::secure(a, KEY)).map_err(|e| e.to_string())?;
    }
    let handle = bus.handle();
    let task = tokio::spawn(async move {
        let _ = bus.run().await;
    });
    for a in 1..=args.pds {
        tokio::time::timeout(Duration::from_mins(1), handle.wait_for(a, |s| s.secure))
            .await
            .map_err(|_| format!("PD {a} had no secure channel within 60 s"))?
            .map_err(|e| e.to_string())?;
    }
    let executed = || pds.iter().map(|p| p.pd().executed).sum::<u64>();
    let before = executed();
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let polls = (executed() - before) as f64 / start.elapsed().as_secs_f64();
    task.abort();
    let limit = f64::from(args.baud) / 10.0 / 30.0;
    Ok((polls, limit))
}

/// What the gates did in the measured window.
struct GateRun {
    /// Gates whose two PDs came online with the secure channel.
    online: usize,
    /// POLLs and commands executed per second per gate (both PDs).
    commands_per_s: Vec<f64>,
    /// BIOMATCH round trips, ms.
    biomatch_ms: Vec<f64>,
    /// Arrival to exit, s, per traveller through.
    passage_s: Vec<f64>,
    /// Travellers through, per gate.
    through: Vec<usize>,
    /// Process CPU time over wall time in the window (1.0 = one core busy).
    cores: f64,
}

/// Process CPU time (user + system) from `/proc/self/stat`, in clock ticks of 1/100 s (USER_HZ on Linux).
fn cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at the state, field 3; utime and stime are 14, 15.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// One gate of the bench: its bus (gate-io board at 1, bio reader at 2 on one paced line), the gate model, and
/// khil's controller.
struct BenchGate {
    pds: [Arc<OsdpPd>; 2],
    bus: BusHandle,
    gate: Gate,
    world: GateHandle,
    _bridge: GateBridge,
    task: tokio::task::JoinHandle<()>,
}

fn bench_gate(n: usize, fingers: &Arc<Fingers>, line: &Line) -> Result<BenchGate, String> {
    let io = Arc::new(OsdpPd::new(gate_pd(1)));
    let reader = BioReader::new(Arc::clone(fingers), Presence::Placed(n as u64), 0.0, 2, n as u64);
    let bio = Arc::new(OsdpPd::new(PdConfig {
        scbk: Some(KEY),
        bio: Some(Arc::new(reader)),
        ..PdConfig::new(PdProfile::BIO_READER, 2)
    }));
    bio.prepare();
    let bridge = GateBridge::spawn(GateModel::new(GateConfig::default()), Arc::clone(&io), DEFAULT_TICK);
    let link = khil_sim_host::in_process(Arc::new(Multidrop { pds: vec![Arc::clone(&io), Arc::clone(&bio)] }), line);
    let mut bus = OsdpBus::new(link, CpConfig::default());
    bus.add_pd(PdSetup::secure(1, KEY)).map_err(|e| e.to_string())?;
    bus.add_pd(PdSetup::secure(2, KEY)).map_err(|e| e.to_string())?;
    let events = bus.take_events().ok_or("events taken")?;
    let handle = bus.handle();
    let gate = Gate::spawn(handle.clone(), events, GateSetup::new(1));
    let task = tokio::spawn(async move {
        let _ = bus.run().await;
    });
    Ok(BenchGate { pds: [io, bio], bus: handle, gate, world: bridge.handle(), _bridge: bridge, task })
}

/// Travellers through one gate until `until`: each is matched at the bio reader against the template enrolled
/// from it (BIOMATCH, threshold FMR 0.05 %) and let out on a match. Returns BIOMATCH round trips, passage times.
async fn gate_flow(g: &BenchGate, reference: Vec<u8>, until: Instant) -> (Vec<f64>, Vec<f64>) {
    let (mut rtts, mut passages) = (Vec::new(), Vec::new());
    let mut queue = std::collections::VecDeque::new();
    queue.push_back((g.world.add_traveller(Behaviour::Normal), Instant::now()));
    while Instant::now() < until {
        let left = until.saturating_duration_since(Instant::now());
        let processing = tokio::time::timeout(left, g.gate.wait_for(|s| s == GateState::Processing)).await;
        if !matches!(processing, Ok(Ok(_))) {
            break;
        }
        let matching = Command::BioMatch(BioMatch {
            reader: 0,
            kind: 7,
            format: 2,
            quality: khil_sim_osdp::bio::osdp_score(3.3),
            template: reference.clone(),
        });
        let t = Instant::now();
        let decision = match g.bus.command(2, matching).await {
            Ok(Reply::BioMatchR { status: 0, score, .. }) if score >= khil_sim_osdp::bio::osdp_score(3.3) => {
                Decision::Accept
            }
            _ => Decision::Reject,
        };
        rtts.push(t.elapsed().as_secs_f64() * 1e3);
        // The next traveller steps up while this one is let out.
        queue.push_back((g.world.add_traveller(Behaviour::Normal), Instant::now()));
        if g.gate.decide(decision).await.is_err() {
            break;
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), g.gate.wait_for(|s| s != GateState::Processing)).await;
        while let Some(&(id, arrived)) = queue.front() {
            if g.world.model().traveller(id).is_some() {
                break;
            }
            passages.push(arrived.elapsed().as_secs_f64());
            queue.pop_front();
        }
    }
    (rtts, passages)
}

/// `--gates` gates in this process, each a CP + gate I/O board + bio reader on its own paced line, with khil's
/// gate controller and travellers walking through for `--gate-seconds`.
async fn gates(args: &OsdpBenchArgs) -> Result<GateRun, String> {
    let line = Line { pace: Some(LineRate::new(args.baud)), ..Line::default() };
    let fingers = Arc::new(Fingers::new(1, Quality::Good));
    let mut gates = Vec::new();
    for n in 0..args.gates {
        gates.push(Arc::new(bench_gate(n, &fingers, &line)?));
    }
    let mut online = 0;
    let mut references = Vec::new();
    for g in &gates {
        let both = async {
            g.bus.wait_for(1, |s| s.secure).await?;
            g.bus.wait_for(2, |s| s.secure).await
        };
        let up = tokio::time::timeout(Duration::from_secs(30), both).await.is_ok_and(|r| r.is_ok())
            && tokio::time::timeout(Duration::from_secs(30), g.gate.wait_for(|s| s == GateState::Idle)).await.is_ok();
        online += usize::from(up);
        // The traveller's enrolled template (in the full flow it comes from the passport chip).
        let read = Command::BioRead(BioRead { reader: 0, kind: 7, format: 2, quality: 0 });
        references.push(match g.bus.command(2, read).await {
            Ok(Reply::BioReadR(r)) if r.status == 0 => r.data,
            _ => Vec::new(),
        });
    }
    let before: Vec<u64> = gates.iter().map(|g| g.pds.iter().map(|p| p.pd().executed).sum()).collect();
    let cpu_before = cpu_ticks();
    let start = Instant::now();
    let until = start + Duration::from_secs(args.gate_seconds);
    let mut flows = tokio::task::JoinSet::new();
    for (g, reference) in gates.iter().zip(references) {
        let g = Arc::clone(g);
        flows.spawn(async move { gate_flow(&g, reference, until).await });
    }
    let results = flows.join_all().await;
    let secs = start.elapsed().as_secs_f64();
    let cores = match (cpu_before, cpu_ticks()) {
        (Some(a), Some(b)) => (b - a) as f64 / 100.0 / secs,
        _ => f64::NAN,
    };
    let commands_per_s = gates
        .iter()
        .zip(before)
        .map(|(g, b)| (g.pds.iter().map(|p| p.pd().executed).sum::<u64>() - b) as f64 / secs)
        .collect();
    let mut run =
        GateRun { online, commands_per_s, biomatch_ms: Vec::new(), passage_s: Vec::new(), through: Vec::new(), cores };
    for (rtts, passages) in results {
        run.through.push(passages.len());
        run.biomatch_ms.extend(rtts);
        run.passage_s.extend(passages);
    }
    for g in &gates {
        g.task.abort();
    }
    Ok(run)
}
