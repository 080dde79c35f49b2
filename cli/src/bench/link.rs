//! `khil bench link`: throughput and round-trip time of an echo device over each kind of link, through
//! khil's stack (device URL, link opener, peer-close normalisation, simulator host) and through a bare
//! baseline of the same transport wired by hand (tokio duplex, tokio TCP, tokio-serial's pty pair), in the
//! same run. The ratio is what khil's layers cost.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use khil_link::{BoxLink, DeviceUrl, Endpoint, NoSimulators, SimConnector, connect};
use khil_sim_host::{Line, echo::Echo};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::round;

#[derive(Debug, Args)]
#[command(about = "Throughput and round-trip time of memory, pty and TCP links, khil vs bare tokio")]
pub(crate) struct LinkBenchArgs {
    /// Bytes pushed through each link (echoed back)
    #[arg(long, default_value_t = 16 << 20)]
    bytes: usize,
    /// One-byte round trips timed per link
    #[arg(long, default_value_t = 2000)]
    pings: usize,
    /// Also write the results as JSON to FILE
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
struct Row {
    link: &'static str,
    khil_mib_per_s: f64,
    baseline_mib_per_s: f64,
    /// khil throughput / baseline throughput
    throughput_ratio: f64,
    khil_round_trip_us_median: f64,
    baseline_round_trip_us_median: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    bytes: usize,
    pings: usize,
    rows: Vec<Row>,
}

struct Measured {
    mib_per_s: f64,
    rtt_us: f64,
}

pub(crate) async fn run(args: LinkBenchArgs) -> Result<(), String> {
    if args.bytes == 0 || args.pings == 0 {
        return Err("--bytes and --pings must be at least 1".into());
    }
    let mut rows = Vec::new();
    for link in ["memory", "pty", "tcp"] {
        let khil = measure(|| khil_link(link), &args).await?;
        let base = measure(|| baseline_link(link), &args).await?;
        rows.push(Row {
            link,
            khil_mib_per_s: round(khil.mib_per_s, 1),
            baseline_mib_per_s: round(base.mib_per_s, 1),
            throughput_ratio: round(khil.mib_per_s / base.mib_per_s, 3),
            khil_round_trip_us_median: round(khil.rtt_us, 1),
            baseline_round_trip_us_median: round(base.rtt_us, 1),
        });
    }
    println!("khil bench link: {} MiB echoed, {} one-byte round trips per link", args.bytes >> 20, args.pings);
    println!(
        "{:<8} {:>12} {:>14} {:>7} {:>12} {:>14}",
        "link", "khil MiB/s", "baseline MiB/s", "ratio", "khil rtt us", "baseline rtt us"
    );
    for r in &rows {
        println!(
            "{:<8} {:>12.1} {:>14.1} {:>7.3} {:>12.1} {:>14.1}",
            r.link,
            r.khil_mib_per_s,
            r.baseline_mib_per_s,
            r.throughput_ratio,
            r.khil_round_trip_us_median,
            r.baseline_round_trip_us_median
        );
    }
    if let Some(path) = &args.json {
        super::write_json(path, &Report { bench: "link", bytes: args.bytes, pings: args.pings, rows })?;
    }
    Ok(())
}

/// An echo device behind khil's own stack.
async fn khil_link(kind: &str) -> Result<BoxLink, String> {
    let endpoint = match kind {
        "memory" => return khil_sim_registry::Simulators.connect_sim(&sim_echo()).map_err(|e| e.to_string()),
        "pty" => Endpoint::pty(),
        _ => Endpoint::tcp("127.0.0.1:0").await,
    }
    .map_err(|e| e.to_string())?;
    let url = endpoint.client_url();
    tokio::spawn(khil_sim_host::serve(Arc::new(Echo), endpoint, Line::default(), std::future::pending()));
    connect(&url, None, &NoSimulators).await.map_err(|e| e.to_string())
}

fn sim_echo() -> khil_link::url::SimUrl {
    match "sim:echo".parse() {
        Ok(DeviceUrl::Sim(s)) => s,
        _ => unreachable!("sim:echo is a valid sim URL"),
    }
}

/// The same transport with nothing of khil's: tokio's own types and a hand-written copy loop.
async fn baseline_link(kind: &str) -> Result<BoxLink, String> {
    async fn echo<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(mut s: S) {
        let mut buf = vec![0u8; 4096];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    }
    match kind {
        "memory" => {
            let (a, b) = tokio::io::duplex(khil_link::memory::MEMORY_BUFFER);
            tokio::spawn(echo(b));
            Ok(Box::new(a))
        }
        "pty" => {
            let (master, slave) = tokio_serial::SerialStream::pair().map_err(|e| format!("pty pair: {e}"))?;
            tokio::spawn(echo(master));
            Ok(Box::new(slave))
        }
        _ => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            tokio::spawn(async move {
                if let Ok((s, _)) = listener.accept().await {
                    let _ = s.set_nodelay(true);
                    echo(s).await;
                }
            });
            let s = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
            s.set_nodelay(true).map_err(|e| e.to_string())?;
            Ok(Box::new(s))
        }
    }
}

async fn measure<F, Fut>(open: F, args: &LinkBenchArgs) -> Result<Measured, String>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<BoxLink, String>>,
{
    let link = open().await?;
    let (mut rd, mut wr) = tokio::io::split(link);
    // Throughput: a writer pushes `bytes` while this task reads the echo back.
    let total = args.bytes;
    let start = Instant::now();
    let writer = tokio::spawn(async move {
        let chunk = vec![0xA5u8; 4096];
        let mut left = total;
        while left > 0 {
            let n = left.min(chunk.len());
            wr.write_all(&chunk[..n]).await.map_err(|e| e.to_string())?;
            left -= n;
        }
        wr.flush().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(wr)
    });
    let mut buf = vec![0u8; 65536];
    let mut got = 0;
    while got < total {
        let n = tokio::time::timeout(Duration::from_mins(1), rd.read(&mut buf))
            .await
            .map_err(|_| "echo stalled for 60 s".to_string())?
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("echo device closed the link".into());
        }
        got += n;
    }
    let elapsed = start.elapsed();
    let mut wr = writer.await.map_err(|e| e.to_string())??;
    // Round trips: one byte out, one byte back.
    let mut rtts = Vec::with_capacity(args.pings);
    let mut one = [0u8; 1];
    for i in 0..args.pings {
        let t = Instant::now();
        wr.write_all(&[i as u8]).await.map_err(|e| e.to_string())?;
        rd.read_exact(&mut one).await.map_err(|e| e.to_string())?;
        rtts.push(t.elapsed());
    }
    rtts.sort();
    Ok(Measured {
        mib_per_s: total as f64 / f64::from(1 << 20) / elapsed.as_secs_f64(),
        rtt_us: rtts[rtts.len() / 2].as_secs_f64() * 1e6,
    })
}
