//! `khil bench osdp`: khil's control panel and simulated PDs.
//!
//! - Handshake: secure channel set up and a first encrypted command, unpaced, in-process (target < 5 ms).
//! - Bus: `--pds` gate I/O boards on one multidrop line paced at `--baud`, one CP polling them as fast as the line
//!   allows; polls per second against the line's limit for a secure POLL/ACK exchange.
//! - Gates: `--gates` gates in this process, each its own paced line with a CP and a gate I/O board, polling at
//!   the CP's normal rate; polls per second achieved per gate and an OUT command's round trip.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use khil_link::LineRate;
use khil_osdp::command::{Command, OutputControl};
use khil_osdp::cp::{CpConfig, OsdpBus, PdSetup};
use khil_sim_host::Line;
use khil_sim_osdp::{Multidrop, OsdpPd, PdConfig, PdProfile};
use serde::Serialize;

const KEY: [u8; 16] = [0x4B, 0x48, 0x49, 0x4C, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

#[derive(Debug, Args)]
#[command(
    about = "OSDP control panel and simulated PDs: handshake time, polls per second on a paced bus, gates per process",
    after_help = "Example:\n  khil bench osdp --pds 126 --gates 64 --json osdp.json"
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
    /// Gates in this process (each a CP and a gate I/O board on its own paced line)
    #[arg(long, default_value_t = 64)]
    gates: usize,
    /// Handshakes timed
    #[arg(long, default_value_t = 50)]
    handshakes: usize,
    /// Also write the results as JSON to FILE
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    handshake_ms_median: f64,
    handshake_ms_max: f64,
    bus_pds: u8,
    baud: u32,
    bus_polls_per_s: f64,
    /// A secure POLL and its ACK: 15 bytes each way with the mark, 10 bits a byte.
    bus_line_limit_polls_per_s: f64,
    bus_ratio_to_limit: f64,
    gates: usize,
    gates_online: usize,
    gate_polls_per_s_median: f64,
    gate_out_round_trip_ms_median: f64,
    gate_out_round_trip_ms_max: f64,
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len().saturating_sub(1)) as f64 * q).round() as usize).copied().unwrap_or(f64::NAN)
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

pub(crate) fn run(args: &OsdpBenchArgs) -> Result<(), String> {
    if args.baud == 0 || args.seconds == 0 || args.gates == 0 || args.handshakes == 0 {
        return Err("--baud, --seconds, --gates and --handshakes must be at least 1".into());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(async {
        let mut handshakes = Vec::new();
        for _ in 0..args.handshakes {
            handshakes.push(handshake_ms().await?);
        }
        let (bus_polls, limit) = bus(args).await?;
        let (online, mut polls, mut rtts) = gates(args).await?;
        let report = Report {
            bench: "osdp",
            handshake_ms_median: round(quantile(&mut handshakes, 0.5), 3),
            handshake_ms_max: round(quantile(&mut handshakes, 1.0), 3),
            bus_pds: args.pds,
            baud: args.baud,
            bus_polls_per_s: round(bus_polls, 1),
            bus_line_limit_polls_per_s: round(limit, 1),
            bus_ratio_to_limit: round(bus_polls / limit, 3),
            gates: args.gates,
            gates_online: online,
            gate_polls_per_s_median: round(quantile(&mut polls, 0.5), 1),
            gate_out_round_trip_ms_median: round(quantile(&mut rtts, 0.5), 2),
            gate_out_round_trip_ms_max: round(quantile(&mut rtts, 1.0), 2),
        };
        println!("secure channel handshake + first encrypted command, unpaced, in-process:");
        println!(
            "  median {:.3} ms, max {:.3} ms over {} runs",
            report.handshake_ms_median, report.handshake_ms_max, args.handshakes
        );
        println!(
            "{} gate I/O boards on one line at {} baud 8N1, secure channel, one CP polling as fast as it can:",
            args.pds, args.baud
        );
        println!(
            "  {:.1} polls/s; line limit {:.1} polls/s (30 bytes a secure POLL+ACK); ratio {:.3}",
            report.bus_polls_per_s, report.bus_line_limit_polls_per_s, report.bus_ratio_to_limit
        );
        println!("{} gates in one process, each a CP + gate I/O board on its own {}-baud line:", args.gates, args.baud);
        println!(
            "  {} online; median {:.1} polls/s a gate; OUT round trip median {:.2} ms, max {:.2} ms",
            report.gates_online,
            report.gate_polls_per_s_median,
            report.gate_out_round_trip_ms_median,
            report.gate_out_round_trip_ms_max
        );
        match &args.json {
            Some(path) => super::write_json(path, &report),
            None => Ok(()),
        }
    })
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
async fn bus(args: &OsdpBenchArgs) -> Result<(f64, f64), String> {
    let pds: Vec<Arc<OsdpPd>> = (1..=args.pds).map(|a| Arc::new(OsdpPd::new(gate_pd(a)))).collect();
    let line = Line { pace: Some(LineRate::new(args.baud)), ..Line::default() };
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

/// `--gates` gates, each on its own paced line; returns how many came online, polls/s per gate, OUT round trips.
async fn gates(args: &OsdpBenchArgs) -> Result<(usize, Vec<f64>, Vec<f64>), String> {
    let line = Line { pace: Some(LineRate::new(args.baud)), ..Line::default() };
    let mut gates = Vec::new();
    for _ in 0..args.gates {
        let pd = Arc::new(OsdpPd::new(gate_pd(1)));
        let link = khil_sim_host::in_process(Arc::clone(&pd), &line);
        let mut bus = OsdpBus::new(link, CpConfig::default());
        bus.add_pd(PdSetup::secure(1, KEY)).map_err(|e| e.to_string())?;
        let handle = bus.handle();
        let task = tokio::spawn(async move {
            let _ = bus.run().await;
        });
        gates.push((pd, handle, task));
    }
    let mut online = 0;
    for (_, handle, _) in &gates {
        if tokio::time::timeout(Duration::from_secs(30), handle.wait_for(1, |s| s.secure))
            .await
            .is_ok_and(|r| r.is_ok())
        {
            online += 1;
        }
    }
    let before: Vec<u64> = gates.iter().map(|(pd, _, _)| pd.pd().executed).collect();
    let start = Instant::now();
    let mut rtts = Vec::new();
    let deadline = start + Duration::from_secs(args.seconds);
    let mut on = true;
    while Instant::now() < deadline {
        let mut round = tokio::task::JoinSet::new();
        for (_, handle, _) in &gates {
            let handle = handle.clone();
            let out = Command::Out(vec![OutputControl { output: 0, control: if on { 2 } else { 1 }, timer: 0 }]);
            round.spawn(async move {
                let t = Instant::now();
                handle.command(1, out).await.map(|_| t.elapsed().as_secs_f64() * 1e3)
            });
        }
        while let Some(r) = round.join_next().await {
            if let Ok(Ok(ms)) = r {
                rtts.push(ms);
            }
        }
        on = !on;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let polls: Vec<f64> =
        gates.iter().zip(before).map(|((pd, _, _), b)| (pd.pd().executed - b) as f64 / secs).collect();
    for (_, _, task) in gates {
        task.abort();
    }
    Ok((online, polls, rtts))
}
