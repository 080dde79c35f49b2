//! `sim:` URLs resolve through the registry to working in-process simulators, and their parameters are read by
//! the same code as `khil sim`'s flags (the flags' side is pinned in `cli/tests/sim_cli.rs`).

use khil_fingerprint::driver::{EnrolOptions, Options, Zfm};
use khil_link::{DeviceUrl, SimConnector, url::SimUrl};
use khil_sim_registry::Simulators;

fn url(text: &str) -> SimUrl {
    match text.parse::<DeviceUrl>().unwrap() {
        DeviceUrl::Sim(s) => s,
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

/// A quirk in a URL reaches the PD: `sim:osdp-pd?quirk=ack-unknown` acknowledges an unknown command, the correct
/// PD refuses it with NAK 3 (the same quirk on `khil sim osdp-pd --quirk` is checked in `cli/tests/sim_cli.rs`).
/// Repeated `quirk=` and `fault=` keys are all applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quirks_and_faults_in_urls_take_effect() {
    use khil_osdp::command::Command;
    use khil_osdp::cp::{CpConfig, CpError, OsdpBus, PdSetup};
    use khil_osdp::reply::Reply;
    async fn unknown_command(text: &str) -> Result<Reply, CpError> {
        let link = Simulators.connect_sim(&url(text)).unwrap();
        let mut bus = OsdpBus::new(link, CpConfig::default());
        bus.add_pd(PdSetup::plain(1)).unwrap();
        let handle = bus.handle();
        tokio::spawn(async move { bus.run().await });
        handle.wait_online(1).await.unwrap();
        handle.command(1, Command::Unknown { code: 0x7E, data: Vec::new() }).await
    }
    let correct = unknown_command("sim:osdp-pd").await;
    assert!(matches!(correct, Err(CpError::Nak { .. })), "a correct PD NAKs an unknown command: {correct:?}");
    for text in ["sim:osdp-pd?quirk=ack-unknown", "sim:osdp-pd?quirk=needs-mark&quirk=ack-unknown"] {
        let quirky = unknown_command(text).await;
        assert!(matches!(quirky, Ok(Reply::Ack)), "{text}: the quirk must take effect: {quirky:?}");
    }
}

#[test]
fn sim_url_errors_name_the_parameter() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let _guard = rt.enter();
    for (text, needle) in [
        ("sim:fingerprint?profile=r999", "profile \"r999\": expected one of r307, r503"),
        ("sim:fingerprint?finger=auto:x", "finger \"auto:x\": expected auto:<id>"),
        ("sim:fingerprint?fault=smoke:p=1", "unknown kind \"smoke\""),
        ("sim:fingerprint?colour=red", "colour: device \"fingerprint\" takes no such parameter"),
        ("sim:echo?profile=r307", "profile: device \"echo\" takes no such parameter; expected one of seed, pace"),
        ("sim:osdp-pd?finger=auto:7", "finger: profile \"gate-io\" has no fingerprint sensor"),
        ("sim:osdp-pd?profile=bio-reader&finger=thumb", "expected auto:<id>"),
        ("sim:osdp-pd?profile=bio-reader&no-finger=3", "no-finger \"3\": expected a probability"),
        ("sim:osdp-pd?colour=red", "expected one of seed, pace, framing, fault, address, scbk, scbk-file, profile"),
        ("sim:scanner", "no simulator \"scanner\""),
        ("sim:echo?pace=0", "pace \"0\": expected a baud rate"),
        ("sim:fingerprint?impressions=x", "impressions \"x\": expected 0-1000000"),
        ("sim:osdp-pd?address=127", "address \"127\": expected 0-126"),
        ("sim:osdp-pd?fault=hang:at=1", "or a osdp-pd fault (slow, no-reply"),
        ("sim:gate?scbk=00", "scbk: expected 32 hex digits (16 bytes), got 2 characters"),
        ("sim:gate?seed=x", "seed \"x\": expected an integer"),
        ("sim:gate?profile=gate-io", "profile: device \"gate\" takes no such parameter"),
        ("sim:gate?fail-mode=open", "fail-mode \"open\": expected one of safe, secure"),
        ("sim:fingerprint?profile=r307&profile=r503", "profile \"r503\": given twice"),
        ("sim:echo?framing=7E2", "framing: expected together with pace"),
    ] {
        let Err(e) = Simulators.connect_sim(&url(text)) else { panic!("{text} was accepted") };
        assert!(e.to_string().contains(needle), "{text}: {e}");
    }
}

/// Every simulator builds with its defaults alone, and its parameter names are unique (the CLI makes flags of
/// them, where a clash would be a start-up panic of clap's).
#[tokio::test]
async fn every_simulator_builds_with_defaults() {
    use khil_sim_host::config::LINE_PARAMS;
    for sim in khil_sim_registry::SIMULATORS {
        let mut names: Vec<&str> = LINE_PARAMS.iter().chain(sim.params).map(|p| p.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "{}: a parameter name twice", sim.name);
        let u = url(&format!("sim:{}", sim.name));
        match sim.build {
            khil_sim_host::Build::Stream(_) => {
                Simulators.connect_sim(&u).unwrap();
                // A byte-stream device is no card, and says so.
                let e = khil_apdu::SimCardConnector::connect_sim_card(&Simulators, &u).err().unwrap();
                assert!(e.to_string().contains("is not a smart card"), "{e}");
            }
            khil_sim_host::Build::Card(_) => {
                let mut reader = khil_apdu::SimCardConnector::connect_sim_card(&Simulators, &u).unwrap();
                assert!(!reader.reset().await.unwrap().is_empty(), "{}: no ATR", sim.name);
                let e = Simulators.connect_sim(&u).err().unwrap();
                assert!(e.to_string().contains("is a smart card"), "{e}");
            }
        }
    }
}
