//! `khil sim osdp-pd --profile bio-reader` as users run it, over a pty, driven by khil's control panel with the
//! secure channel: BIOREAD and BIOMATCH while fingers move on the console (`place`, `lift`), a FILETRANSFER, and
//! the reply times a CP sees (printed; a reply later than the CP's 200 ms would show as a retransmission).

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use khil_link::NoSimulators;
use khil_osdp::command::{BioMatch, BioRead, Command};
use khil_osdp::cp::{BusHandle, CpConfig, OsdpBus, PdSetup};
use khil_osdp::reply::{BioReadR, Reply};

const KEY: &str = "000102030405060708090a0b0c0d0e0f";
const KEY_BYTES: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

async fn timed(handle: &BusHandle, command: Command) -> (Reply, Duration) {
    let start = Instant::now();
    let reply = handle.command(2, command).await.unwrap();
    (reply, start.elapsed())
}

fn summary(v: &[Duration]) -> String {
    let mut ms: Vec<f64> = v.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    format!("median {:.1} ms, max {:.1} ms over {}", ms[ms.len() / 2], ms[ms.len() - 1], ms.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bio_reader_over_a_pty_with_the_console_moving_fingers() {
    let args = ["sim", "osdp-pd", "--pty", "--profile", "bio-reader", "--address", "2", "--finger", "auto:7"];
    let mut sim =
        common::start_khil(&[&args[..], &["--scbk", KEY, "--seed", "4"]].concat(), Stdio::piped(), Stdio::inherit());
    let url: khil_link::DeviceUrl = sim.url.parse().unwrap();
    let link = khil_link::connect(&url, Some(115_200), &NoSimulators).await.unwrap();
    let mut bus = OsdpBus::new(link, CpConfig::default());
    bus.add_pd(PdSetup::secure(2, KEY_BYTES)).unwrap();
    let handle = bus.handle();
    tokio::spawn(async move { bus.run().await });
    let status = tokio::time::timeout(Duration::from_secs(10), handle.wait_online(2)).await.unwrap().unwrap();
    assert!(status.secure);
    assert!(status.capabilities.iter().any(|c| c.function == 14 && c.compliance == 1), "biometrics in PDCAP");

    let read = Command::BioRead(BioRead { reader: 0, kind: 2, format: 2, quality: 0 });
    let (reply, first_read) = timed(&handle, read.clone()).await;
    let Reply::BioReadR(BioReadR { status: 0, data: enrolled, .. }) = reply else { panic!("{reply:?}") };
    khil_biometrics::template::decode_ansi(&enrolled).expect("an ANSI/INCITS 378 record");
    let matching = |threshold| {
        Command::BioMatch(BioMatch { reader: 0, kind: 2, format: 2, quality: threshold, template: enrolled.clone() })
    };
    let (mut reads, mut matches) = (vec![first_read], Vec::new());
    for _ in 0..10 {
        let (r, t) = timed(&handle, read.clone()).await;
        assert!(matches!(r, Reply::BioReadR(BioReadR { status: 0, .. })), "{r:?}");
        reads.push(t);
        let (r, t) = timed(&handle, matching(66)).await;
        let Reply::BioMatchR { status: 0, score, .. } = r else { panic!("{r:?}") };
        assert!(score >= 66, "genuine score {score}");
        matches.push(t);
    }
    eprintln!("BIOREAD round trip over the pty: {}", summary(&reads));
    eprintln!("BIOMATCH round trip over the pty: {}", summary(&matches));

    // The console: another finger is placed (synthesised first), then lifted.
    let stdin = sim.child.stdin.as_mut().expect("stdin");
    stdin.write_all(b"place 12\n").unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (r, _) = timed(&handle, matching(66)).await;
        let Reply::BioMatchR { score, .. } = r else { panic!("{r:?}") };
        if score < 66 {
            break;
        }
        assert!(Instant::now() < deadline, "finger 12 never replaced finger 7");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stdin.write_all(b"lift\n").unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (r, _) = timed(&handle, read.clone()).await;
        if matches!(r, Reply::BioReadR(BioReadR { status: 1, .. })) {
            break;
        }
        assert!(Instant::now() < deadline, "the lifted finger is still seen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let file: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let last = handle.file_transfer(2, 1, &file, 500).await.unwrap();
    assert_eq!(last.status, 1, "file contents processed");
    let status = handle.status(2).unwrap();
    assert_eq!(status.retransmissions, 0, "every reply within the CP's 200 ms");
    assert_eq!(status.sessions, 1);
    // SIGTERM ends the simulator, console open or not, right after scans.
    let exit = common::terminate_sim(&mut sim, Duration::from_secs(5));
    assert!(exit.success(), "{exit:?}");
}
