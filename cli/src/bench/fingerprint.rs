//! `khil bench fingerprint`: the ZFM simulator and driver over real ptys.
//!
//! - Upload: an image upload through a pty paced at the module's baud rate, against the line's physical limit
//!   (the image's bytes at baud / 10 bytes per second, 8N1): how close the simulated module gets to a real one.
//! - Concurrency: `--sensors` simulated sensors in this one process, each on its own pty, each driven by khil's
//!   driver through enrol + identify rounds at once; the same rounds with one sensor alone are the reference.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use khil_biometrics::synth::Quality;
use khil_fingerprint::PacketSize;
use khil_fingerprint::driver::{EnrolOptions, Options, Zfm};
use khil_link::{BoxLink, Endpoint, LineRate, NoSimulators};
use khil_sim_fingerprint::{Fingers, Presence, Profile, SensorConfig, ZfmSensor};
use khil_sim_host::Line;
use serde::Serialize;

use super::{quantile, round};

#[derive(Debug, Args)]
#[command(
    about = "ZFM fingerprint simulator + driver: paced image upload vs the line limit, N sensors at once vs one",
    after_help = "Examples:\n  khil bench fingerprint --sensors 64 --json fp.json\n  khil bench fingerprint --only rounds"
)]
pub(crate) struct FingerprintBenchArgs {
    /// Baud rate of the paced upload
    #[arg(long, default_value_t = 57_600)]
    baud: u32,
    /// Packet sizes of the paced upload (32, 64, 128, 256)
    #[arg(long, value_delimiter = ',', default_value = "32,128,256")]
    packet_sizes: Vec<usize>,
    /// Sensors served at once by this process
    #[arg(long, default_value_t = 64)]
    sensors: usize,
    /// Timed enrol + identify rounds per sensor (after one untimed warm-up round)
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Run only these parts (default: both)
    #[arg(long, value_enum, value_delimiter = ',', value_name = "PART")]
    only: Vec<Part>,
    /// Also write the results as JSON to FILE
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// The parts of the bench, for `--only`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Part {
    /// The paced image upload against the line's limit.
    Upload,
    /// Enrol + identify rounds, one sensor and all of them, over ptys and in memory.
    Rounds,
}

#[derive(Debug, Serialize)]
struct UploadRow {
    packet_size: usize,
    payload_bytes: usize,
    wire_bytes: usize,
    seconds: f64,
    /// payload bytes at the line's byte rate, in seconds (the physical limit)
    limit_seconds: f64,
    /// limit_seconds / seconds
    ratio_to_limit: f64,
}

#[derive(Debug, Serialize)]
struct Latency {
    transport: Transport,
    sensors: usize,
    rounds: usize,
    /// Synthesising every sensor's finger and three impressions, and extracting them, on every core.
    prepare_ms: f64,
    /// The warm-up round (the driver's first uploads, the matcher's first templates).
    first_round_ms_median: f64,
    ms_median: f64,
    ms_p95: f64,
    ms_max: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    bench: &'static str,
    profile: &'static str,
    baud: u32,
    upload: Vec<UploadRow>,
    /// For each transport: one sensor alone (the reference), then all sensors at once.
    round_trips: Vec<Latency>,
}

pub(crate) async fn run(args: &FingerprintBenchArgs) -> Result<(), String> {
    if let Some(bad) = args.packet_sizes.iter().find(|s| PacketSize::from_bytes(**s).is_none()) {
        return Err(format!("--packet-sizes: {bad} is not a ZFM packet size; expected 32, 64, 128 or 256"));
    }
    if args.sensors == 0 || args.rounds == 0 || args.baud == 0 {
        return Err("--sensors, --rounds and --baud must be at least 1".into());
    }
    let profile = Profile::R307;
    let runs = |part| args.only.is_empty() || args.only.contains(&part);
    let mut upload = Vec::new();
    if runs(Part::Upload) {
        for &size in &args.packet_sizes {
            upload.push(paced_upload(profile, args.baud, size).await?);
        }
    }
    let mut round_trips = Vec::new();
    if runs(Part::Rounds) {
        for transport in [Transport::Pty, Transport::Memory] {
            round_trips.push(concurrent_rounds(profile, 1, args.rounds, transport).await?);
            round_trips.push(concurrent_rounds(profile, args.sensors, args.rounds, transport).await?);
        }
    }
    let report = Report { bench: "fingerprint", profile: profile.name, baud: args.baud, upload, round_trips };
    print(&report);
    match &args.json {
        Some(path) => super::write_json(path, &report),
        None => Ok(()),
    }
}

fn print(r: &Report) {
    if !r.upload.is_empty() {
        println!(
            "paced image upload, {} at {} baud 8N1 (limit: payload bytes / {} B/s)",
            r.profile,
            r.baud,
            r.baud / 10
        );
        println!("{:>11} {:>9} {:>9} {:>9} {:>9} {:>8}", "packet", "payload", "wire", "seconds", "limit s", "ratio");
        for u in &r.upload {
            println!(
                "{:>11} {:>9} {:>9} {:>9.3} {:>9.3} {:>8.3}",
                u.packet_size, u.payload_bytes, u.wire_bytes, u.seconds, u.limit_seconds, u.ratio_to_limit
            );
        }
    }
    if r.round_trips.is_empty() {
        return;
    }
    println!("\nenrol + identify round trip, unpaced, sensors and drivers in this process");
    println!(
        "{:>9} {:>8} {:>7} {:>11} {:>11} {:>9} {:>8} {:>8} {:>7}",
        "transport", "sensors", "rounds", "synth (ms)", "first (ms)", "median", "p95", "max", "ratio"
    );
    for pair in r.round_trips.chunks(2) {
        let alone = pair[0].ms_median;
        for l in pair {
            println!(
                "{:>9} {:>8} {:>7} {:>11.0} {:>11.1} {:>9.2} {:>8.2} {:>8.2} {:>7.2}",
                format!("{:?}", l.transport).to_lowercase(),
                l.sensors,
                l.rounds,
                l.prepare_ms,
                l.first_round_ms_median,
                l.ms_median,
                l.ms_p95,
                l.ms_max,
                l.ms_median / alone
            );
        }
    }
}

/// A sensor on a fresh pty, served until [`Served::stop`].
struct Served {
    url: khil_link::DeviceUrl,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), khil_link::LinkError>>,
}

impl Served {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

fn serve_on_pty(sensor: ZfmSensor, line: Line) -> Result<Served, String> {
    let endpoint = Endpoint::pty().map_err(|e| e.to_string())?;
    let url = endpoint.client_url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(khil_sim_host::serve(Arc::new(sensor), endpoint, line, async {
        let _ = stopped.await;
    }));
    Ok(Served { url, stop, task })
}

async fn driver(url: &khil_link::DeviceUrl) -> Result<Zfm<BoxLink>, String> {
    let link = khil_link::connect(url, Some(57_600), &NoSimulators).await.map_err(|e| e.to_string())?;
    Zfm::connect(link, Options::default()).await.map_err(|e| e.to_string())
}

async fn paced_upload(profile: Profile, baud: u32, packet_size: usize) -> Result<UploadRow, String> {
    let sensor = ZfmSensor::standalone(SensorConfig { presence: Presence::Placed(1), ..SensorConfig::new(profile) })
        .map_err(|e| e.to_string())?;
    sensor.prepare();
    let served = serve_on_pty(sensor, Line { pace: Some(LineRate::new(baud)), ..Line::default() })?;
    let mut zfm = driver(&served.url).await?;
    let size = PacketSize::from_bytes(packet_size).unwrap_or(PacketSize::Bytes128);
    zfm.set_packet_size(size).await.map_err(|e| e.to_string())?;
    zfm.wait_for_finger(Duration::from_millis(10), Duration::from_secs(10)).await.map_err(|e| e.to_string())?;
    let start = Instant::now();
    let image = zfm.upload_image().await.map_err(|e| e.to_string())?;
    let seconds = start.elapsed().as_secs_f64();
    drop(zfm);
    served.stop().await;
    let payload = image.len();
    let packets = payload.div_ceil(packet_size);
    // Command (12 bytes) and ack (12) plus 11 bytes of framing per data packet.
    let wire = 12 + 12 + payload + packets * 11;
    let limit = payload as f64 / (f64::from(baud) / 10.0);
    Ok(UploadRow {
        packet_size,
        payload_bytes: payload,
        wire_bytes: wire,
        seconds: round(seconds, 3),
        limit_seconds: round(limit, 3),
        ratio_to_limit: round(limit / seconds, 3),
    })
}

/// One enrol (two captures, merge, store) and one identify (capture, convert, search), timed.
async fn enrol_identify(zfm: &mut Zfm<BoxLink>, page: u16) -> Result<f64, String> {
    let quick = EnrolOptions { poll: Duration::from_millis(1), ..EnrolOptions::default() };
    let start = Instant::now();
    zfm.enrol(page, &quick).await.map_err(|e| e.to_string())?;
    zfm.wait_for_lift(Duration::from_millis(1), Duration::from_secs(10)).await.map_err(|e| e.to_string())?;
    zfm.wait_for_finger(Duration::from_millis(1), Duration::from_secs(10)).await.map_err(|e| e.to_string())?;
    zfm.image_to_template(1).await.map_err(|e| e.to_string())?;
    let hit = zfm.search_library(1).await.map_err(|e| e.to_string())?;
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    match hit {
        // Every slot so far holds this sensor's one finger.
        Some(h) if h.page <= page => Ok(ms),
        other => Err(format!("identify after enrolling at {page} found {other:?}")),
    }
}

/// How the drivers reach the sensors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Transport {
    /// Each sensor on its own pseudo-terminal, as `khil sim fingerprint --pty` serves it.
    Pty,
    /// In-memory links, as `sim:fingerprint` URLs give (what the conformance suite uses in CI).
    Memory,
}

enum Client {
    Url(khil_link::DeviceUrl),
    Link(BoxLink),
}

async fn concurrent_rounds(
    profile: Profile,
    sensors: usize,
    rounds: usize,
    transport: Transport,
) -> Result<Latency, String> {
    // One population for the process, as `khil sim` has; three impressions per finger, cycled, so that rounds
    // after the first measure the protocol, the module and the matcher rather than image synthesis.
    let fingers = Arc::new(Fingers::new(1, Quality::Good));
    let mut sensor_set = Vec::new();
    for i in 0..sensors {
        let config = SensorConfig {
            presence: Presence::Auto(i as u64),
            distinct_impressions: Some(3),
            ..SensorConfig::new(profile)
        };
        sensor_set.push(ZfmSensor::new(config, Arc::clone(&fingers)).map_err(|e| e.to_string())?);
    }
    // Synthesis first, on every core, as `khil sim` does before its ready line.
    let started = Instant::now();
    let sensor_set = tokio::task::spawn_blocking(move || {
        let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            let (next, sensor_set) = (&next, &sensor_set);
            for _ in 0..workers {
                s.spawn(move || {
                    while let Some(sensor) = sensor_set.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                        sensor.prepare();
                    }
                });
            }
        });
        sensor_set
    })
    .await
    .map_err(|e| e.to_string())?;
    let prepare_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut served = Vec::new();
    let mut links = Vec::new();
    for sensor in sensor_set {
        match transport {
            Transport::Pty => served.push(serve_on_pty(sensor, Line::default())?),
            Transport::Memory => links.push(khil_sim_host::in_process(Arc::new(sensor), &Line::default())),
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    let clients: Vec<Client> =
        served.iter().map(|s| Client::Url(s.url.clone())).chain(links.into_iter().map(Client::Link)).collect();
    for client in clients {
        tasks.spawn(async move {
            let mut zfm = match client {
                Client::Url(url) => driver(&url).await?,
                Client::Link(link) => Zfm::connect(link, Options::default()).await.map_err(|e| e.to_string())?,
            };
            let first = enrol_identify(&mut zfm, 0).await?;
            let mut times = Vec::with_capacity(rounds);
            for r in 0..rounds {
                times.push(enrol_identify(&mut zfm, 1 + r as u16).await?);
            }
            Ok::<(f64, Vec<f64>), String>((first, times))
        });
    }
    let mut firsts = Vec::new();
    let mut times = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (first, mut t) = joined.map_err(|e| e.to_string())??;
        firsts.push(first);
        times.append(&mut t);
    }
    for s in served {
        s.stop().await;
    }
    Ok(Latency {
        transport,
        sensors,
        rounds,
        prepare_ms: round(prepare_ms, 0),
        first_round_ms_median: round(quantile(&mut firsts, 0.5), 1),
        ms_median: round(quantile(&mut times, 0.5), 2),
        ms_p95: round(quantile(&mut times, 0.95), 2),
        ms_max: round(quantile(&mut times, 1.0), 2),
    })
}
