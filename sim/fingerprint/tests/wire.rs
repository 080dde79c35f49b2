//! The simulator on the wire: every instruction's reply, the module's own error codes for bad commands,
//! persistence across "power cycles", and the device faults.

mod common;

use common::{Host, sensor, temp_file};
use khil_fingerprint::command::opcode;
use khil_fingerprint::{Command, ConfirmationCode as Cc, PacketKind, Reply, ZfmFrame};
use khil_sim_fingerprint::{Presence, Profile, SensorConfig, ZfmSensor};
use tokio::io::AsyncReadExt;

/// One command of every instruction, with valid parameters.
fn every_instruction() -> Vec<Command> {
    vec![
        Command::VfyPwd(0),
        Command::GenImg,
        Command::Img2Tz { buffer: 1 },
        Command::Match,
        Command::Search { buffer: 1, start: 0, count: 100 },
        Command::RegModel,
        Command::Store { buffer: 1, page: 3 },
        Command::LoadChar { buffer: 2, page: 3 },
        Command::DeleteChar { page: 3, count: 1 },
        Command::Empty,
        Command::SetSysPara { param: 5, value: 3 },
        Command::ReadSysPara,
        Command::SetPwd(0),
        Command::SetAddr(0xFFFF_FFFF),
        Command::GetRandomCode,
        Command::WriteNotepad { page: 2, data: [9; 32] },
        Command::ReadNotepad { page: 2 },
        Command::HiSpeedSearch { buffer: 1, start: 0, count: 100 },
        Command::TemplateNum,
        Command::ReadIndexTable { page: 0 },
        Command::GetImageEx,
        Command::AuraLedConfig { ctrl: 1, speed: 100, colour: 2, count: 0 },
        Command::CheckSensor,
        Command::GetAlgVer,
        Command::GetFwVer,
        Command::ReadProdInfo,
    ]
}

#[tokio::test(start_paused = true)]
async fn every_ack_has_the_full_length_of_its_instruction() {
    for profile in Profile::ALL {
        let mut host = Host::on(sensor(profile, Presence::Placed(3)));
        for cmd in every_instruction() {
            host.send(&cmd).await;
            let ack = host.frame().await.unwrap_or_else(|| panic!("{}: no ack to {}", profile.name, cmd.name()));
            assert_eq!(ack.kind, PacketKind::Ack);
            assert_eq!(ack.address, 0xFFFF_FFFF);
            let expected = Reply::payload_len(cmd.opcode()).unwrap();
            // Fixed-length readers (adafruit) need error acks padded too.
            assert_eq!(ack.payload.len(), expected, "{}: {} ack {:02X?}", profile.name, cmd.name(), ack.payload);
            let supported = profile.supports(cmd.opcode());
            assert_eq!(ack.payload[0] != Cc::Unsupported.code(), supported, "{}: {}", profile.name, cmd.name());
        }
    }
}

async fn cc(host: &mut Host, cmd: Command) -> u8 {
    host.call(&cmd).await.cc().code()
}

#[tokio::test(start_paused = true)]
async fn bad_commands_get_the_modules_own_codes() {
    let mut h = Host::on(sensor(Profile::R307, Presence::Lifted));
    assert_eq!(cc(&mut h, Command::GenImg).await, 0x02, "no finger");
    assert_eq!(cc(&mut h, Command::Img2Tz { buffer: 1 }).await, 0x15, "nothing captured yet");
    assert_eq!(cc(&mut h, Command::Img2Tz { buffer: 3 }).await, 0x01, "R307 has two buffers");
    assert_eq!(cc(&mut h, Command::Match).await, 0x08, "empty buffers never match");
    assert_eq!(cc(&mut h, Command::Search { buffer: 1, start: 0, count: 1000 }).await, 0x09);
    assert_eq!(cc(&mut h, Command::Search { buffer: 1, start: 1000, count: 1 }).await, 0x0B);
    assert_eq!(cc(&mut h, Command::RegModel).await, 0x0A, "nothing to merge");
    assert_eq!(cc(&mut h, Command::Store { buffer: 1, page: 1000 }).await, 0x0B);
    assert_eq!(cc(&mut h, Command::LoadChar { buffer: 1, page: 7 }).await, 0x0C, "empty slot");
    assert_eq!(cc(&mut h, Command::LoadChar { buffer: 1, page: 1000 }).await, 0x0B);
    assert_eq!(cc(&mut h, Command::DeleteChar { page: 999, count: 2 }).await, 0x10);
    assert_eq!(cc(&mut h, Command::DeleteChar { page: 1000, count: 1 }).await, 0x0B);
    assert_eq!(cc(&mut h, Command::SetSysPara { param: 9, value: 1 }).await, 0x1A);
    assert_eq!(cc(&mut h, Command::SetSysPara { param: 5, value: 6 }).await, 0x1B);
    assert_eq!(cc(&mut h, Command::SetSysPara { param: 6, value: 4 }).await, 0x1B);
    assert_eq!(cc(&mut h, Command::SetSysPara { param: 4, value: 13 }).await, 0x1B);
    assert_eq!(cc(&mut h, Command::ReadNotepad { page: 16 }).await, 0x1C);
    assert_eq!(cc(&mut h, Command::ReadIndexTable { page: 4 }).await, 0x0B);
    assert_eq!(cc(&mut h, Command::AuraLedConfig { ctrl: 1, speed: 1, colour: 1, count: 1 }).await, 0xFC);
    assert_eq!(cc(&mut h, Command::SoftRst).await, 0xFC, "R307 has no SoftRst");
    assert_eq!(cc(&mut h, Command::Unknown { code: 0x77, params: vec![1, 2] }).await, 0xFC);
    assert_eq!(cc(&mut h, Command::VfyPwd(1)).await, 0x13);

    // Parameters of the wrong length: 01.
    h.send_raw(&ZfmFrame::new(PacketKind::Command, vec![opcode::STORE, 1]).encode()).await;
    assert_eq!(h.frame().await.unwrap().payload, [0x01]);
    // A command whose checksum is wrong: 01.
    let mut bad = ZfmFrame::new(PacketKind::Command, vec![opcode::TEMPLATE_NUM]).encode();
    *bad.last_mut().unwrap() ^= 0xFF;
    h.send_raw(&bad).await;
    assert_eq!(h.frame().await.unwrap().payload, [0x01, 0, 0], "01, padded to TemplateNum's length");
    // Another address: 20 from the module's own.
    h.address = 0x1234_5678;
    h.send(&Command::TemplateNum).await;
    let ack = h.frame().await.unwrap();
    assert_eq!((ack.address, ack.payload[0]), (0xFFFF_FFFF, 0x20));
    h.address = 0xFFFF_FFFF;
    // After all that the module still works.
    assert_eq!(h.call(&Command::TemplateNum).await, Reply::TemplateNum { cc: Cc::Ok, count: 0 });

    let mut r503 = Host::on(sensor(Profile::R503, Presence::Lifted));
    assert_eq!(cc(&mut r503, Command::Img2Tz { buffer: 6 }).await, 0x15, "R503 has six buffers");
    assert_eq!(cc(&mut r503, Command::Img2Tz { buffer: 7 }).await, 0x01);
    assert_eq!(cc(&mut r503, Command::AuraLedConfig { ctrl: 7, speed: 1, colour: 1, count: 1 }).await, 0x01);
    assert_eq!(cc(&mut r503, Command::SetSysPara { param: 4, value: 3 }).await, 0x1B, "R503: 1/2/4/6/12 only");
    assert_eq!(cc(&mut r503, Command::SetSysPara { param: 4, value: 12 }).await, 0x00);
}

#[tokio::test(start_paused = true)]
async fn a_password_takes_effect_at_the_next_power_up() {
    let mut h = Host::on(sensor(Profile::R503, Presence::Lifted));
    assert_eq!(cc(&mut h, Command::SetPwd(0x00C0_FFEE)).await, 0);
    assert_eq!(cc(&mut h, Command::TemplateNum).await, 0, "still this power cycle");
    h.send(&Command::SoftRst).await;
    assert_eq!(h.frame().await.unwrap().payload, [0]);
    assert_eq!(cc(&mut h, Command::TemplateNum).await, 0x21, "now the password must be verified");
    assert_eq!(cc(&mut h, Command::VfyPwd(0)).await, 0x13);
    assert_eq!(cc(&mut h, Command::TemplateNum).await, 0x21);
    assert_eq!(cc(&mut h, Command::VfyPwd(0x00C0_FFEE)).await, 0);
    let Reply::SystemParameters { params, .. } = h.call(&Command::ReadSysPara).await else { panic!() };
    assert!(params.password_verified());
}

#[tokio::test(start_paused = true)]
async fn soft_reset_on_the_r503_sends_the_handshake_byte() {
    let sensor = sensor(Profile::R503, Presence::Lifted);
    let mut link = khil_sim_host::in_process(std::sync::Arc::new(sensor), &khil_sim_host::Line::default());
    use tokio::io::AsyncWriteExt;
    link.write_all(&ZfmFrame::new(PacketKind::Command, vec![opcode::SOFT_RST]).encode()).await.unwrap();
    let mut got = [0u8; 13];
    link.read_exact(&mut got).await.unwrap();
    assert_eq!(got, [0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00, 0x03, 0x00, 0x00, 0x0A, 0x55]);
}

#[tokio::test(start_paused = true)]
async fn enrolment_matches_the_same_finger_and_not_another() {
    let s = sensor(Profile::R307, Presence::Auto(7));
    let finger = s.finger();
    let mut h = Host::on(s);
    h.enrol(42).await;
    h.capture_into(1).await;
    let Reply::Search { cc, page, score } = h.call(&Command::Search { buffer: 1, start: 0, count: 1000 }).await else {
        panic!()
    };
    assert_eq!((cc, page), (Cc::Ok, 42));
    assert!(score >= khil_sim_fingerprint::module::threshold(3), "{score}");
    finger.lock().unwrap().set(Presence::Placed(8));
    h.capture_into(2).await;
    assert_eq!(h.call(&Command::Search { buffer: 2, start: 0, count: 1000 }).await.cc(), Cc::NotFound);
    assert_eq!(h.call(&Command::Match).await.cc(), Cc::NoMatch, "finger 7 against finger 8");
    assert_eq!(h.call(&Command::LoadChar { buffer: 2, page: 42 }).await.cc(), Cc::Ok);
    let Reply::Match { cc, score } = h.call(&Command::Match).await else { panic!() };
    assert_eq!(cc, Cc::Ok, "fresh capture of 7 against the stored model of 7: {score}");
    let Reply::IndexTable { bitmap, .. } = h.call(&Command::ReadIndexTable { page: 0 }).await else { panic!() };
    assert_eq!(bitmap.slots(0), [42]);
}

#[tokio::test(start_paused = true)]
async fn the_library_survives_a_restart_through_the_state_file() {
    let (_dir, state) = temp_file("restart");
    let config =
        SensorConfig { state: Some(state.clone()), presence: Presence::Auto(5), ..SensorConfig::new(Profile::R503) };
    let mut first = Host::on(ZfmSensor::standalone(config.clone()).unwrap());
    first.enrol(17).await;
    assert_eq!(cc(&mut first, Command::SetSysPara { param: 6, value: 3 }).await, 0);
    assert_eq!(cc(&mut first, Command::WriteNotepad { page: 4, data: [0xAB; 32] }).await, 0);
    drop(first);

    let mut second = Host::on(ZfmSensor::standalone(config).unwrap());
    assert_eq!(second.call(&Command::TemplateNum).await, Reply::TemplateNum { cc: Cc::Ok, count: 1 });
    second.capture_into(1).await;
    let Reply::Search { cc, page, .. } = second.call(&Command::Search { buffer: 1, start: 0, count: 200 }).await else {
        panic!()
    };
    assert_eq!((cc, page), (Cc::Ok, 17));
    let Reply::SystemParameters { params, .. } = second.call(&Command::ReadSysPara).await else { panic!() };
    assert_eq!(params.packet_size.bytes(), Some(256));
    assert_eq!(second.call(&Command::ReadNotepad { page: 4 }).await, Reply::Notepad { cc: Cc::Ok, data: [0xAB; 32] });
}

#[tokio::test(start_paused = true)]
async fn a_state_file_that_cannot_be_written_loses_nothing() {
    let (_dir, state) = temp_file("readonly");
    let config =
        SensorConfig { state: Some(state.clone()), presence: Presence::Auto(5), ..SensorConfig::new(Profile::R503) };
    let mut h = Host::on(ZfmSensor::standalone(config).unwrap());
    h.enrol(1).await;
    // The directory goes away: the next write fails, the module says so and keeps what it had.
    std::fs::remove_dir_all(state.parent().unwrap()).unwrap();
    assert_eq!(cc(&mut h, Command::Store { buffer: 1, page: 2 }).await, 0x18, "flash write error");
    assert_eq!(cc(&mut h, Command::Empty).await, 0x11, "clear failed");
    let Reply::IndexTable { bitmap, .. } = h.call(&Command::ReadIndexTable { page: 0 }).await else { panic!() };
    assert_eq!(bitmap.slots(0), [1], "slot 1 kept, slot 2 not claimed");
}

#[tokio::test(start_paused = true)]
async fn uploads_follow_the_packet_size_and_downloads_land() {
    let mut h = Host::on(sensor(Profile::R307, Presence::Placed(2)));
    assert_eq!(cc(&mut h, Command::GenImg).await, 0);
    let mut images = Vec::new();
    for code in 0..4u8 {
        assert_eq!(cc(&mut h, Command::SetSysPara { param: 6, value: code }).await, 0);
        h.send(&Command::UpImage).await;
        assert_eq!(h.frame().await.unwrap().payload, [0]);
        let frames = h.upload_frames().await;
        let size = 32usize << code;
        assert!(frames.iter().all(|f| f.payload.len() == size), "packets of {size}");
        assert_eq!(frames.len(), 36_864 / size);
        images.push(khil_fingerprint::image::join(&frames).unwrap());
    }
    assert!(images.windows(2).all(|w| w[0] == w[1]), "one image buffer, whatever the packet size");
    let distinct: std::collections::BTreeSet<u8> = images[0].iter().copied().collect();
    assert!(distinct.len() > 8, "a print has grey levels, not a flat image");

    // Characteristics go up and come back down unchanged; a download into buffer 2 then matches buffer 1.
    assert_eq!(cc(&mut h, Command::Img2Tz { buffer: 1 }).await, 0);
    h.send(&Command::UpChar { buffer: 1 }).await;
    assert_eq!(h.frame().await.unwrap().payload, [0]);
    let chars = h.upload().await;
    assert_eq!(chars.len(), 512);
    assert_eq!(&chars[..2], b"KZ");
    h.send(&Command::DownChar { buffer: 2 }).await;
    assert_eq!(h.frame().await.unwrap().payload, [0]);
    for f in khil_fingerprint::image::split(&chars, 32) {
        h.send_raw(&f.encode()).await;
    }
    let Reply::Match { cc: code, score } = h.call(&Command::Match).await else { panic!() };
    assert_eq!((code, score), (Cc::Ok, 300), "identical characteristics score the top of the scale");

    // A downloaded image is what Img2Tz then works on: a blank one has no features.
    h.send(&Command::DownImage).await;
    assert_eq!(h.frame().await.unwrap().payload, [0]);
    for f in khil_fingerprint::image::split(&vec![0xFF; 36_864], 128) {
        h.send_raw(&f.encode()).await;
    }
    let code = cc(&mut h, Command::Img2Tz { buffer: 1 }).await;
    assert!(code == 0x06 || code == 0x07, "blank image: {code:02X}");
}

#[tokio::test(start_paused = true)]
async fn device_faults_do_what_they_say() {
    let faulty = |spec: &str| {
        ZfmSensor::standalone(SensorConfig {
            presence: Presence::Placed(1),
            faults: vec![spec.parse().unwrap()],
            ..SensorConfig::new(Profile::R307)
        })
        .unwrap()
    };
    // hang: the second command is never answered; the third is.
    let mut h = Host::on(faulty("hang:at=1"));
    assert_eq!(cc(&mut h, Command::TemplateNum).await, 0);
    h.send(&Command::TemplateNum).await;
    assert!(h.frame().await.is_none());
    assert_eq!(cc(&mut h, Command::TemplateNum).await, 0);

    // sensor-error: captures and CheckSensor say 29.
    let mut h = Host::on(faulty("sensor-error:every=1"));
    assert_eq!(cc(&mut h, Command::GenImg).await, 0x29);
    assert_eq!(cc(&mut h, Command::TemplateNum).await, 0);

    // busy: the ack comes late.
    let mut h = Host::on(faulty("busy:at=0,ms=700"));
    let start = tokio::time::Instant::now();
    assert_eq!(cc(&mut h, Command::TemplateNum).await, 0);
    assert!(start.elapsed() >= std::time::Duration::from_millis(700));

    // drop-packet: the upload has a hole (one packet fewer, still ends with end-data).
    let mut h = Host::on(faulty("drop-packet:at=5"));
    assert_eq!(cc(&mut h, Command::GenImg).await, 0);
    h.send(&Command::UpImage).await;
    assert_eq!(h.frame().await.unwrap().payload, [0]);
    assert_eq!(h.upload().await.len(), 36_864 - 128);

    // checksum: the ack arrives with a bad checksum (the host's codec drops it).
    let s = faulty("checksum:at=0");
    let mut link = khil_sim_host::in_process(std::sync::Arc::new(s), &khil_sim_host::Line::default());
    use tokio::io::AsyncWriteExt;
    link.write_all(&ZfmFrame::new(PacketKind::Command, vec![opcode::TEMPLATE_NUM]).encode()).await.unwrap();
    let mut got = [0u8; 14];
    link.read_exact(&mut got).await.unwrap();
    let good = ZfmFrame::new(PacketKind::Ack, vec![0, 0, 0]).encode();
    assert_eq!(&got[..12], &good[..12]);
    assert_ne!(&got[12..], &good[12..]);
    assert!(matches!(khil_fingerprint::decode(&got), khil_fingerprint::Decoded::Skipped { .. }));

    // power-on: a raw 0x55 as the session starts.
    let s = faulty("power-on");
    let mut link = khil_sim_host::in_process(std::sync::Arc::new(s), &khil_sim_host::Line::default());
    let mut first = [0u8; 1];
    link.read_exact(&mut first).await.unwrap();
    assert_eq!(first, [0x55]);
}

mod never_dies {
    use super::*;
    use proptest::prelude::*;

    /// Pieces of a hostile byte stream: noise, well-framed commands with any code and any parameters, and
    /// stray data packets.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        let command = (
            prop_oneof![proptest::sample::select(opcode::KNOWN.to_vec()), any::<u8>()],
            proptest::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(|(code, params)| {
                let mut p: Vec<u8> = vec![code];
                p.extend(params);
                ZfmFrame::new(PacketKind::Command, p).encode()
            });
        let data = (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64))
            .prop_map(|(end, p)| ZfmFrame::new(if end { PacketKind::EndData } else { PacketKind::Data }, p).encode());
        // A frame cut short, as when the line drops bytes: the module must not wait for its end forever.
        let cut =
            (command.clone(), any::<proptest::sample::Index>()).prop_map(|(f, at)| f[..at.index(f.len())].to_vec());
        prop_oneof![proptest::collection::vec(any::<u8>(), 0..80), command, data, cut]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        /// Whatever arrives, the module keeps answering: afterwards a ReadSysPara gets a full-length ack
        /// (parameters, or a padded error such as 20 wrong address or 21 password after a SetAddr or SetPwd
        /// and SoftRst in the stream).
        #[test]
        fn module_answers_after_any_input(pieces in proptest::collection::vec(piece(), 1..12), r503: bool) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
            rt.block_on(async {
                let profile = if r503 { Profile::R503 } else { Profile::R307 };
                let mut h = Host::on(sensor(profile, Presence::Lifted));
                for p in &pieces {
                    h.send_raw(p).await;
                }
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                while h.frame().await.is_some() {}
                h.send(&Command::ReadSysPara).await;
                let ack = loop {
                    let f = h.frame().await.expect("the module stopped answering");
                    if f.kind == PacketKind::Ack {
                        break f;
                    }
                };
                prop_assert_eq!(ack.payload.len(), 17, "{:02X?}", ack.payload);
                Ok(())
            })?;
        }
    }
}
