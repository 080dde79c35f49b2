//! khil's control panel (`OsdpBus`) drives the fingerprint reader PD over an in-memory link with the secure
//! channel up: BIOREAD, BIOMATCH (genuine and impostor), and a multi-fragment FILETRANSFER through
//! `BusHandle::file_transfer`, on the real clock so that the reply times are the ones a CP would see (the CP
//! retransmits after 200 ms; a late reply shows up as a retransmission).

use std::sync::Arc;
use std::time::{Duration, Instant};

use khil_biometrics::synth::Quality;
use khil_biometrics::template::decode_ansi;
use khil_osdp::command::{BioMatch, BioRead, Command};
use khil_osdp::cp::{BusHandle, CpConfig, OsdpBus, PdSetup};
use khil_osdp::reply::{BioReadR, Reply};
use khil_sim_host::{Line, in_process};
use khil_sim_osdp::file::ft_status;
use khil_sim_osdp::{BioReader, OsdpPd, PdConfig, PdProfile};
use khil_sim_population::{Fingers, Presence};

const KEY: [u8; 16] = [0x5C; 16];

/// A bio reader at address 3 with finger `id` presented (auto), prepared, and a running bus with the secure
/// channel up.
async fn online(fingers: &Arc<Fingers>, id: u64) -> (Arc<OsdpPd>, BusHandle) {
    let bio = Arc::new(BioReader::new(Arc::clone(fingers), Presence::Auto(id), 0.0, 0, 1));
    let config = PdConfig { scbk: Some(KEY), bio: Some(bio), ..PdConfig::new(PdProfile::BIO_READER, 3) };
    let pd = Arc::new(OsdpPd::new(config));
    pd.prepare();
    let link = in_process(Arc::clone(&pd), &Line::default());
    let mut bus = OsdpBus::new(link, CpConfig { seed: Some(9), ..CpConfig::default() });
    bus.add_pd(PdSetup::secure(3, KEY)).unwrap();
    let handle = bus.handle();
    tokio::spawn(async move { bus.run().await });
    let status = tokio::time::timeout(Duration::from_secs(5), handle.wait_online(3)).await.unwrap().unwrap();
    assert!(status.secure, "the secure channel is up");
    (pd, handle)
}

async fn timed(handle: &BusHandle, command: Command) -> (Reply, Duration) {
    let start = Instant::now();
    let reply = handle.command(3, command).await.unwrap();
    (reply, start.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bioread_biomatch_and_a_file_through_the_cp_driver() {
    let fingers = Arc::new(Fingers::new(21, Quality::Good));
    let (pd, handle) = online(&fingers, 7).await;
    let read = Command::BioRead(BioRead { reader: 0, kind: 7, format: 2, quality: 0 });
    let (reply, t_read) = timed(&handle, read.clone()).await;
    let Reply::BioReadR(BioReadR { status: 0, kind: 7, data: enrolled, .. }) = reply else { panic!("{reply:?}") };
    let record = decode_ansi(&enrolled).expect("an ANSI/INCITS 378 record");
    assert_eq!(record.views[0].finger_position, 7, "left index finger");

    // Another traveller's enrolment, taken on a second reader.
    let (_, other) = online(&fingers, 8).await;
    let Reply::BioReadR(BioReadR { data: impostor, .. }) = other.command(3, read.clone()).await.unwrap() else {
        panic!("no BIOREADR")
    };

    let threshold = 66; // EES: 0.05 % false matches
    let matching =
        |template: Vec<u8>| Command::BioMatch(BioMatch { reader: 0, kind: 7, format: 2, quality: threshold, template });
    let (genuine, t_match) = timed(&handle, matching(enrolled.clone())).await;
    let Reply::BioMatchR { status: 0, score, .. } = genuine else { panic!("{genuine:?}") };
    assert!(score >= threshold, "genuine {score}");
    let (wrong, _) = timed(&handle, matching(impostor)).await;
    let Reply::BioMatchR { status: 0, score, .. } = wrong else { panic!("{wrong:?}") };
    assert!(score < threshold, "impostor {score}");
    assert!(!pd.pd().last_match().unwrap().matched);

    // More scans, for the timing figures.
    let mut reads = vec![t_read];
    let mut matches = vec![t_match];
    for _ in 0..8 {
        reads.push(timed(&handle, read.clone()).await.1);
        matches.push(timed(&handle, matching(enrolled.clone())).await.1);
    }
    let ms = |v: &[Duration]| {
        let mut v: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        v.sort_by(f64::total_cmp);
        format!("median {:.1} ms, max {:.1} ms", v[v.len() / 2], v[v.len() - 1])
    };
    eprintln!("BIOREAD round trip (CP command to reply): {}", ms(&reads));
    eprintln!("BIOMATCH round trip (CP command to reply): {}", ms(&matches));
    let status = handle.status(3).unwrap();
    assert_eq!(status.retransmissions, 0, "no reply was late (the CP resends after 200 ms)");
    assert_eq!(status.sessions, 1, "one secure session throughout");

    // A 5000-byte file in 700-byte fragments, each encrypted.
    let file: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let last = handle.file_transfer(3, 1, &file, 700).await.unwrap();
    assert_eq!(last.status, ft_status::PROCESSED, "the PD processed the file");
    let received = pd.pd().last_file().cloned().expect("a file");
    assert_eq!((received.kind, received.data == file), (1, true));
    assert_eq!(pd.pd().files_received(), 1);
    // A fragment size larger than a packet holds is cut down to fit (1412 bytes: 11 + 1412 + the 0x80 byte are
    // 1424 encrypted bytes, and 14 more make LEN 1438 of at most 1440).
    assert_eq!(khil_osdp::cp::MAX_FILE_FRAGMENT, 1412);
    handle.file_transfer(3, 200, &file, 4096).await.unwrap();
    assert_eq!(pd.pd().last_file().map(|f| (f.kind, f.data.len())), Some((200, 5000)));
    // A type the PD does not recognise: the error carries the status.
    let e = handle.file_transfer(3, 7, &file[..10], 100).await.unwrap_err();
    assert!(e.to_string().contains("status -2"), "{e}");
    assert_eq!(handle.status(3).unwrap().retransmissions, 0);
}

/// A reader whose scan takes 0.8 s (tokio's paused clock) answers BIOREAD with BUSY until the scan is done, and
/// the CP's same packet then gets the template: the reply comes 0.8 s after the first BIOREAD, never sooner, and
/// every later scan takes its 0.8 s again. A CP that tolerates fewer BUSY replies than the scan needs gives up
/// with the error that says so.
#[tokio::test(start_paused = true)]
async fn a_scan_that_takes_time_is_busy_until_done() {
    let scan = Duration::from_millis(800);
    let fingers = Arc::new(Fingers::new(21, Quality::Good));
    let bus_with = |busy_retries: u32| {
        let bio = BioReader::new(Arc::clone(&fingers), Presence::Auto(7), 0.0, 0, 1).with_scan_time(scan);
        let config = PdConfig { scbk: Some(KEY), bio: Some(Arc::new(bio)), ..PdConfig::new(PdProfile::BIO_READER, 3) };
        let link = in_process(Arc::new(OsdpPd::new(config)), &Line::default());
        let mut bus = OsdpBus::new(link, CpConfig { seed: Some(9), busy_retries, ..CpConfig::default() });
        bus.add_pd(PdSetup::secure(3, KEY)).unwrap();
        let handle = bus.handle();
        tokio::spawn(async move { bus.run().await });
        handle
    };
    let read = Command::BioRead(BioRead { reader: 0, kind: 0, format: 2, quality: 0 });

    let patient = bus_with(40);
    patient.wait_online(3).await.unwrap();
    for _ in 0..2 {
        let start = tokio::time::Instant::now();
        let reply = patient.command(3, read.clone()).await.unwrap();
        let took = start.elapsed();
        assert!(matches!(reply, Reply::BioReadR(BioReadR { status: 0, .. })), "{reply:?}");
        assert!((scan..scan + Duration::from_millis(200)).contains(&took), "{took:?}");
        tokio::time::sleep(Duration::from_secs(3)).await;
    }

    let hasty = bus_with(5);
    hasty.wait_online(3).await.unwrap();
    let error = hasty.command(3, read).await.unwrap_err();
    assert!(error.to_string().contains("still BUSY after 6 attempts of BIOREAD"), "{error}");
}
