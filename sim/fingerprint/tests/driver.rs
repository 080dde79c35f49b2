//! khil's driver against the simulator: every operation on both profiles, then through every fault a bad line
//! or a misbehaving module can produce. The driver must recover, and say what happened.

use std::sync::Arc;
use std::time::Duration;

use khil_fingerprint::driver::{EnrolOptions, LedColour, LedMode, Options, Zfm};
use khil_fingerprint::{PacketSize, ZfmError};
use khil_link::{BoxLink, Fault};
use khil_sim_fingerprint::{DeviceFault, Presence, Profile, SensorConfig, ZfmSensor};
use khil_sim_host::{Line, in_process};

fn quick() -> EnrolOptions {
    EnrolOptions { poll: Duration::from_millis(20), ..EnrolOptions::default() }
}

fn options(profile: Profile) -> Options {
    Options { char_buffers: profile.char_buffers, ..Options::default() }
}

async fn identify(zfm: &mut Zfm<BoxLink>) -> Result<Option<u16>, ZfmError> {
    zfm.wait_for_finger(Duration::from_millis(20), Duration::from_secs(5)).await?;
    zfm.image_to_template(1).await?;
    Ok(zfm.search_library(1).await?.map(|hit| hit.page))
}

#[tokio::test(start_paused = true)]
async fn every_operation_on_both_profiles() {
    for profile in Profile::ALL {
        let sensor = Arc::new(
            ZfmSensor::standalone(SensorConfig { presence: Presence::Auto(21), ..SensorConfig::new(profile) }).unwrap(),
        );
        let finger = sensor.finger();
        let link = in_process(Arc::clone(&sensor), &Line::default());
        let mut zfm = Zfm::connect(link, options(profile)).await.unwrap();
        let name = profile.name;
        assert_eq!(zfm.library_size(), profile.capacity, "{name}");
        match profile.product {
            Some(_) => assert_eq!(zfm.image_geometry(), Some((profile.width, profile.height)), "{name}"),
            None => assert_eq!(zfm.product(), None, "{name}: the R307 has no ReadProdInfo"),
        }

        zfm.enrol(3, &quick()).await.unwrap();
        assert_eq!(identify(&mut zfm).await.unwrap(), Some(3), "{name}: the enrolled finger is found");
        finger.lock().unwrap().set(Presence::Auto(22));
        assert_eq!(identify(&mut zfm).await.unwrap(), None, "{name}: another finger is not");
        zfm.enrol(4, &quick()).await.unwrap();
        assert_eq!(zfm.used_slots().await.unwrap(), [3, 4]);
        assert_eq!(zfm.template_count().await.unwrap(), 2);

        // Templates up and down: the module's own template, sent back into buffer 2, matches slot 4's.
        let template = zfm.upload_template(1).await.unwrap();
        assert_eq!(template.len(), 512);
        zfm.download_template(2, &template).await.unwrap();
        zfm.load(1, 4).await.unwrap();
        assert!(zfm.compare_buffers().await.unwrap().is_some(), "{name}");
        zfm.load(1, 3).await.unwrap();
        assert_eq!(zfm.compare_buffers().await.unwrap(), None, "{name}: finger 21 against finger 22");

        // Images at every packet size are the same image.
        zfm.wait_for_finger(Duration::from_millis(20), Duration::from_secs(5)).await.unwrap();
        let mut images = Vec::new();
        for size in [PacketSize::Bytes32, PacketSize::Bytes64, PacketSize::Bytes128, PacketSize::Bytes256] {
            zfm.set_packet_size(size).await.unwrap();
            images.push(zfm.upload_image_pixels().await.unwrap());
        }
        assert_eq!(images[0].len(), usize::from(profile.width) * usize::from(profile.height));
        assert!(images.windows(2).all(|w| w[0] == w[1]), "{name}");
        zfm.download_image_pixels(&images[0]).await.unwrap();
        zfm.image_to_template(1).await.unwrap();
        assert!(zfm.search_library(1).await.unwrap().is_some(), "{name}: a downloaded image of finger 22");

        zfm.delete(3, 1).await.unwrap();
        assert_eq!(zfm.used_slots().await.unwrap(), [4]);
        zfm.write_notepad(9, &[0x5A; 32]).await.unwrap();
        assert_eq!(zfm.read_notepad(9).await.unwrap(), [0x5A; 32]);
        assert_ne!(zfm.random_code().await.unwrap(), zfm.random_code().await.unwrap());
        zfm.set_security_level(5).await.unwrap();
        assert_eq!(zfm.refresh_params().await.unwrap().security_level, 5);
        let store_error = zfm.store(1, profile.capacity).await.unwrap_err();
        assert!(store_error.to_string().contains("0B page number out of range"), "{store_error}");
        if profile.name == "r503" {
            zfm.led(LedMode::Breathe, 100, LedColour::Blue, 0).await.unwrap();
            assert_eq!(sensor.with_module(khil_sim_fingerprint::module::Module::led), Some([1, 100, 2, 0]));
            assert!(zfm.check_sensor().await.unwrap());
            zfm.soft_reset().await.unwrap();
            assert!(!zfm.firmware_version().await.unwrap().is_empty());
        }
        zfm.empty().await.unwrap();
        assert_eq!(zfm.template_count().await.unwrap(), 0);
    }
}

/// A workload through a faulty line or module: every call either succeeds with the right answer or fails with
/// a typed error that says what happened, and the session goes on working after it.
/// What a workload run saw: the driver's counters, rounds that went through, and the errors it reported.
struct Run {
    stats: khil_fingerprint::driver::LinkStats,
    ok: usize,
    reported: Vec<String>,
}

async fn workload_survives(line_faults: &[&str], device_faults: &[&str], seed: u64) -> Run {
    let sensor = Arc::new(
        ZfmSensor::standalone(SensorConfig {
            presence: Presence::Auto(31),
            faults: device_faults.iter().map(|s| s.parse::<DeviceFault>().unwrap()).collect(),
            seed,
            ..SensorConfig::new(Profile::R503)
        })
        .unwrap(),
    );
    let line = Line { faults: line_faults.iter().map(|s| s.parse::<Fault>().unwrap()).collect(), seed, pace: None };
    let label = format!("{line_faults:?} {device_faults:?} seed {seed}");
    let mut zfm = None;
    for _ in 0..5 {
        match Zfm::connect(in_process(Arc::clone(&sensor), &line), options(Profile::R503)).await {
            Ok(z) => {
                zfm = Some(z);
                break;
            }
            Err(e) => eprintln!("{label}: connect failed, reconnecting: {e}"),
        }
    }
    let mut zfm = zfm.unwrap_or_else(|| panic!("{label}: no connection in 5 attempts"));
    let mut enrolled = false;
    let mut ok = 0;
    let mut reported = Vec::new();
    for round in 0..12 {
        let outcome = async {
            if enrolled {
                let found = identify(&mut zfm).await?;
                assert_eq!(found, Some(7), "{label}: round {round}: a wrong answer, not an error");
            } else {
                zfm.enrol(7, &quick()).await?;
                enrolled = true;
            }
            let t = zfm.upload_template(1).await?;
            assert_eq!(t.len(), 512, "{label}");
            assert_eq!(&t[..2], b"KZ", "{label}: the upload is the module's template, not noise");
            let pixels = zfm.upload_image_pixels().await?;
            assert_eq!(pixels.len(), 192 * 192, "{label}");
            Ok::<(), ZfmError>(())
        }
        .await;
        match outcome {
            Ok(()) => ok += 1,
            Err(ZfmError::StoreUnconfirmed { page, slot_used, .. }) => {
                assert_eq!(page, 7);
                // The driver read the index table: if it says the slot is used, the template is there.
                enrolled = slot_used == Some(true);
            }
            Err(e @ (ZfmError::Timeout { .. } | ZfmError::Transfer { .. } | ZfmError::DeviceSaid { .. })) => {
                eprintln!("{label}: round {round}: reported: {e}");
                reported.push(e.to_string());
            }
            Err(e) => panic!("{label}: round {round}: unexpected error: {e}"),
        }
    }
    assert!(ok >= 6, "{label}: only {ok} of 12 rounds went through");
    Run { stats: zfm.stats().clone(), ok, reported }
}

#[tokio::test(start_paused = true)]
async fn the_driver_recovers_from_every_line_fault() {
    for (spec, seed) in [
        // About one fault in 50 kB: most image uploads (19 kB on the wire) get through, some need a retry.
        ("flip:p=0.00002", 1),
        ("drop:p=0.00002", 2),
        ("dup:p=0.00002", 3),
        ("garbage:p=0.00002,len=5", 4),
        ("delay:p=0.0005,ms=300", 5),
        ("stall:every=40000,ms=3000", 6),
    ] {
        let Run { stats, .. } = workload_survives(&[spec], &[], seed).await;
        let disturbed = stats.retries + stats.resyncs + stats.transfer_restarts + stats.garbage_events;
        assert!(disturbed > 0 || spec.starts_with("delay"), "{spec}: the fault never reached the driver: {stats:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_driver_recovers_from_every_device_fault() {
    for (spec, seed) in [
        ("checksum:p=0.05", 1),
        ("drop-packet:p=0.002", 2),
        ("hang:p=0.04", 3),
        ("busy:p=0.1,ms=400", 4),
        ("sensor-error:p=0.1", 5),
        ("power-on", 6),
    ] {
        let Run { stats, ok, reported } = workload_survives(&[], &[spec], seed).await;
        eprintln!("{spec}: {stats:?}");
        let kind = spec.split(':').next().unwrap();
        match kind {
            "checksum" | "drop-packet" | "hang" => {
                assert!(stats.retries + stats.transfer_restarts > 0, "{spec}: nothing was retried: {stats:?}");
            }
            // A late answer within the timeout is no error at all.
            "busy" => assert_eq!((ok, stats.timeouts), (12, 0), "{spec}: {stats:?}"),
            "sensor-error" => {
                assert!(reported.iter().any(|e| e.contains("29 sensor hardware error")), "{spec}: {reported:?}");
            }
            "power-on" => assert!(stats.drained_bytes >= 1, "{spec}: the 0x55 was not drained: {stats:?}"),
            _ => unreachable!(),
        }
    }
}

/// The line closes: the driver says so (not a hang, not a timeout), and a new connection works.
#[tokio::test(start_paused = true)]
async fn a_closed_line_is_reported_and_a_new_session_works() {
    let sensor = Arc::new(
        ZfmSensor::standalone(SensorConfig { presence: Presence::Auto(2), ..SensorConfig::new(Profile::R307) })
            .unwrap(),
    );
    let line = Line { faults: vec!["close:at=10000,dir=tx".parse().unwrap()], ..Line::default() };
    let mut zfm = Zfm::connect(in_process(Arc::clone(&sensor), &line), options(Profile::R307)).await.unwrap();
    zfm.wait_for_finger(Duration::from_millis(20), Duration::from_secs(5)).await.unwrap();
    let err = zfm.upload_image().await.unwrap_err();
    assert!(matches!(err, ZfmError::Line { .. }), "{err}");
    let mut again = Zfm::connect(in_process(sensor, &Line::default()), options(Profile::R307)).await.unwrap();
    assert_eq!(again.upload_image().await.unwrap().len(), 36_864, "the image buffer outlived the session");
}
