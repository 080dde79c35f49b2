//! `khil bench document`: an inspection (access control, every readable data group, passive, chip and active
//! authentication) of a simulated passport, in memory and through pcscd + vpcd, and the time the same exchanges
//! take on a contactless reader's air interface.
//!
//! References measured in the same run: through pcscd, a bare GET CHALLENGE loop on the same chip and reader
//! (the floor any PC/SC inspection pays per APDU); on the air, the bytes the in-memory run exchanged.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::Args;
use khil_apdu::{ApduFuture, ApduTransport, SimCardConnector};
use khil_link::url::SimUrl;
use khil_mrtd::files::SM_SHORT_READ;
use khil_mrtd::inspect::{InspectOptions, inspect};
use khil_mrtd::pa::Outcome;
use serde_json::json;

use super::{quantile, round, write_json};

#[derive(Debug, Args)]
#[command(
    about = "Travel documents: inspect a simulated passport in memory and through pcscd; the air time at 424 kbit/s",
    after_help = "Example:\n  khil bench document --documents 20 --json document.json\n\nThe pcscd rows need a khil \
built with --features pcsc and pcscd running with vsmartcard-vpcd (ci/test starts it); --vpcd names its port."
)]
pub(crate) struct DocumentBenchArgs {
    /// Inspections per configuration.
    #[arg(long, default_value_t = 20)]
    documents: usize,
    /// vpcd's HOST:PORT for the pcscd rows ("none" to skip them).
    #[arg(long, default_value = "127.0.0.1:35963")]
    vpcd: String,
    /// Also write the figures as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// Bytes and exchanges through a transport (what the air interface would carry).
#[derive(Debug, Default, Clone, Copy)]
struct Traffic {
    exchanges: usize,
    command_bytes: usize,
    response_bytes: usize,
}

struct Counting<'t> {
    inner: &'t mut dyn ApduTransport,
    traffic: Arc<Mutex<Traffic>>,
}

impl ApduTransport for Counting<'_> {
    fn transmit_raw<'a>(&'a mut self, apdu: &'a [u8]) -> ApduFuture<'a, Vec<u8>> {
        Box::pin(async move {
            let answer = self.inner.transmit_raw(apdu).await?;
            let mut t = self.traffic.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            t.exchanges += 1;
            t.command_bytes += apdu.len();
            t.response_bytes += answer.len();
            Ok(answer)
        })
    }
    fn card_present(&mut self) -> ApduFuture<'_, bool> {
        self.inner.card_present()
    }
    fn reset(&mut self) -> ApduFuture<'_, Vec<u8>> {
        self.inner.reset()
    }
}

/// ISO/IEC 14443-4 on a type A air interface at 424 kbit/s: each APDU travels in one I-block (PCB, INF, CRC_A:
/// 3 bytes more; SM reads stay within a 256-byte frame), each byte as 8 data bits and a parity bit, a start and
/// an end bit per frame, and the frame delay time between the reader's frame and the card's answer (about 91 us
/// at this rate, ISO/IEC 14443-3: 1236/fc). Chip computation is not in it: a real chip adds its own time for
/// 3DES, AES and ECC, often the larger share.
fn air_seconds(t: &Traffic) -> f64 {
    const RATE: f64 = 423_750.0; // fc / 32
    const FDT: f64 = 1236.0 / 13_560_000.0;
    let frames = 2.0 * t.exchanges as f64;
    let bits = 9.0 * (t.command_bytes + t.response_bytes) as f64 + frames * (3.0 * 9.0 + 2.0);
    bits / RATE + t.exchanges as f64 * FDT
}

fn sim_url(query: &str) -> Result<SimUrl, String> {
    match format!("sim:passport?{query}").parse::<khil_link::DeviceUrl>() {
        Ok(khil_link::DeviceUrl::Sim(s)) => Ok(s),
        Ok(other) => Err(format!("not a sim URL: {other}")),
        Err(e) => Err(e.to_string()),
    }
}

fn options(pace: bool) -> Result<InspectOptions, String> {
    let (y, m, d) = khil_sim_mrtd::sim::REFERENCE_DAY;
    let day = khil_mrtd::mrz::CivilDate::new(y, m, d).ok_or("the reference day")?;
    let mrz = khil_sim_population::documents::Documents::new(0, day).document(3).mrz().lines.join("\n");
    let pki = khil_sim_mrtd::sim::test_pki(0)?;
    Ok(InspectOptions {
        mrz,
        trust: pki.trust_store(),
        date: der::DateTime::from_system_time(std::time::SystemTime::now()).map_err(|e| e.to_string())?,
        pace,
        can: None,
        read_size: SM_SHORT_READ,
        terminal: Some(pki.eac.terminal),
    })
}

/// Inspects `n` times on `transport`; milliseconds per inspection (median, p90) and the traffic of one.
async fn inspect_n(transport: &mut dyn ApduTransport, pace: bool, n: usize) -> Result<(f64, f64, Traffic), String> {
    let options = options(pace)?;
    let traffic = Arc::new(Mutex::new(Traffic::default()));
    let mut rng = crate::document::system_rng()?;
    let mut ms = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        let result = inspect(transport, &options, &mut rng).await.map_err(|e| e.to_string())?;
        ms.push(start.elapsed().as_secs_f64() * 1e3);
        if result.outcome() == Outcome::Failed {
            let failed: Vec<String> =
                result.checks.iter().filter(|c| c.status.failed()).map(ToString::to_string).collect();
            return Err(format!("inspection {i} failed: {}", failed.join("; ")));
        }
    }
    // One more through a counting transport for the bytes.
    let mut counting = Counting { inner: transport, traffic: Arc::clone(&traffic) };
    inspect(&mut counting, &options, &mut rng).await.map_err(|e| e.to_string())?;
    let t = *traffic.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    Ok((quantile(&mut ms.clone(), 0.5), quantile(&mut ms, 0.9), t))
}

pub(crate) async fn run(args: &DocumentBenchArgs) -> Result<(), String> {
    let n = args.documents.max(1);
    let mut rows = Vec::new();
    println!("{:<44} {:>10} {:>10} {:>9} {:>12}", "configuration", "median ms", "p90 ms", "APDUs", "air ms @424k");
    for (name, query, pace) in [
        ("in memory, BAC (3DES SM)", "document=3&pace-curve=none", false),
        ("in memory, PACE brainpoolP256r1 (AES SM)", "document=3", true),
        ("in memory, PACE P-256 (AES SM)", "document=3&pace-curve=p256", true),
    ] {
        let mut transport =
            khil_sim_registry::Simulators.connect_sim_card(&sim_url(query)?).map_err(|e| e.to_string())?;
        let (p50, p90, t) = inspect_n(transport.as_mut(), pace, n).await?;
        let air = air_seconds(&t) * 1e3;
        println!("{name:<44} {p50:>10.2} {p90:>10.2} {:>9} {air:>12.1}", t.exchanges);
        rows.push(json!({"configuration": name, "median_ms": round(p50, 3), "p90_ms": round(p90, 3),
            "apdus": t.exchanges, "command_bytes": t.command_bytes, "response_bytes": t.response_bytes,
            "air_ms_424k": round(air, 1)}));
    }
    if args.vpcd != "none" {
        match pcscd_rows(args, n).await {
            Ok(more) => rows.extend(more),
            Err(why) => println!("pcscd rows skipped: {why}"),
        }
    }
    if let Some(path) = &args.json {
        write_json(path, &json!({"documents": n, "rows": rows}))?;
    }
    Ok(())
}

#[cfg(feature = "pcsc")]
async fn pcscd_rows(args: &DocumentBenchArgs, n: usize) -> Result<Vec<serde_json::Value>, String> {
    use khil_apdu::vpcd::VpcdEndpoint;
    let endpoint = VpcdEndpoint::new(&args.vpcd)?;
    let sim = khil_sim_registry::find("passport").ok_or("no passport simulator")?;
    let khil_sim_host::Build::Card(build) = sim.build else { return Err("passport is not a card".into()) };
    let params = khil_sim_host::config::Params::new(
        khil_sim_host::config::Surface::Url,
        sim.name,
        sim.params,
        vec![("document".into(), "3".into())],
    )
    .map_err(|e| e.to_string())?;
    let built = build(&params).map_err(|e| e.to_string())?;
    let url = endpoint.client_url();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let mut card = (built.card)();
        endpoint
            .serve(card.as_mut(), async {
                let _ = stopped.await;
            })
            .await
    });
    let result = async {
        // pcscd notices a card arriving (and powers it up) on its own schedule: ready once a command gets through.
        let challenge = khil_mrtd::bac::get_challenge();
        let mut transport = None;
        for _ in 0..50 {
            if let Ok(mut t) = khil_apdu::connect(&url, &khil_apdu::NoSimCards).await
                && t.transmit(&challenge).await.is_ok()
            {
                transport = Some(t);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let mut transport = transport.ok_or("the card did not appear in pcscd's reader within 10 s")?;
        // The floor: GET CHALLENGE round trips on the same chip and reader.
        let mut floor = Vec::with_capacity(200);
        for _ in 0..200 {
            let start = Instant::now();
            transport.transmit(&challenge).await.map_err(|e| e.to_string())?;
            floor.push(start.elapsed().as_secs_f64() * 1e3);
        }
        let floor = quantile(&mut floor, 0.5);
        let runs = n.min(5);
        let (p50, p90, t) = inspect_n(transport.as_mut(), true, runs).await?;
        let ratio = p50 / (floor * t.exchanges as f64);
        println!("{:<44} {p50:>10.2} {p90:>10.2} {:>9}", "through pcscd + vpcd, PACE brainpoolP256r1", t.exchanges);
        println!(
            "  GET CHALLENGE round trip through pcscd: {floor:.3} ms; the inspection costs {ratio:.2}x its {} \
             APDUs at that floor",
            t.exchanges
        );
        Ok::<_, String>(vec![json!({"configuration": "through pcscd + vpcd, PACE brainpoolP256r1",
            "inspections": runs, "median_ms": round(p50, 2), "p90_ms": round(p90, 2), "apdus": t.exchanges,
            "get_challenge_round_trip_ms": round(floor, 3), "ratio_to_floor": round(ratio, 2)})])
    }
    .await;
    let _ = stop.send(());
    let _ = server.await;
    result
}

#[cfg(not(feature = "pcsc"))]
#[allow(clippy::unused_async)] // async like the pcsc build's version, so the caller is the same in both builds
async fn pcscd_rows(_: &DocumentBenchArgs, _: usize) -> Result<Vec<serde_json::Value>, String> {
    Err(khil_apdu::PCSC_FEATURE_HINT.into())
}
