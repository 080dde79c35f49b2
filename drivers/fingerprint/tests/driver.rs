//! The async driver against a scripted fake module over an in-memory link, with `FaultLink` faults on the driver's
//! side. Timeouts run on tokio's paused clock.

mod common;

use std::time::Duration;

use common::fake::{self, Action, Hook, Shared, State, test_image};
use khil_fingerprint::command::opcode;
use khil_fingerprint::{
    Command, CommandId, ConfirmationCode, EnrolOptions, Event, LedColour, LedMode, Options, PacketKind, PacketSize,
    Reply, SearchHit, Zfm, ZfmError, ZfmFrame, geometry, is_repeatable,
};
use khil_link::{Fault, FaultLink, FaultLog, LinkError};
use tokio::io::DuplexStream;

type Driver = Zfm<FaultLink<DuplexStream>>;

/// Bytes the driver reads during connect: VfyPwd ack (12), ReadSysPara ack (28), ReadProdInfo ack (58; the
/// fake pads error acks to the full length, so with or without product info).
const CONNECT_RX: u64 = 12 + 28 + 58;
/// Bytes the driver writes during connect: VfyPwd (16), ReadSysPara (12), ReadProdInfo (12).
const CONNECT_TX: u64 = 16 + 12 + 12;

fn faults(specs: &[String]) -> Vec<Fault> {
    specs.iter().map(|s| s.parse().unwrap_or_else(|e| panic!("{e}"))).collect()
}

async fn try_start(
    state: State,
    specs: &[String],
    hook: Option<Hook>,
    opts: Options,
) -> (Result<Driver, ZfmError>, Shared, FaultLog) {
    let (host, device) = khil_link::memory_pair();
    let shared = fake::spawn(device, state, hook);
    let link = FaultLink::new(host, &faults(specs), 7);
    let log = link.log();
    (Zfm::connect(link, opts).await, shared, log)
}

async fn start(state: State, specs: &[String]) -> (Driver, Shared, FaultLog) {
    let (zfm, shared, log) = try_start(state, specs, None, Options::default()).await;
    (zfm.expect("connect"), shared, log)
}

async fn start_hooked(state: State, specs: &[String], hook: Hook) -> (Driver, Shared) {
    let (zfm, shared, _) = try_start(state, specs, Some(hook), Options::default()).await;
    (zfm.expect("connect"), shared)
}

fn count(shared: &Shared, code: u8) -> usize {
    shared.lock().unwrap().count(code)
}

fn with_library(pages: &[u16]) -> State {
    let mut s = State::default();
    for &p in pages {
        s.library.insert(p, vec![p as u8; 512]);
    }
    s
}

#[tokio::test(start_paused = true)]
async fn connect_verifies_password_and_reads_parameters_and_product() {
    let (zfm, shared, _) = start(State::default(), &[]).await;
    let received = shared.lock().unwrap().received.clone();
    assert_eq!(received, vec![Command::VfyPwd(0), Command::ReadSysPara, Command::ReadProdInfo]);
    assert_eq!(zfm.params().library_size, 200);
    assert_eq!(zfm.params().packet_size, PacketSize::Bytes128);
    assert_eq!(zfm.image_geometry(), Some(geometry::R503), "geometry from ReadProdInfo");
    assert_eq!(zfm.image_bytes(), Some(192 * 192 / 2));
    assert_eq!(zfm.stats().retries, 0);
    assert_eq!(zfm.stats().timeouts, 0);
}

#[tokio::test(start_paused = true)]
async fn module_without_product_info_has_no_geometry_unless_told() {
    let state = State { product: None, ..State::default() };
    let (zfm, _, _) = start(state.clone(), &[]).await;
    assert!(zfm.product().is_none());
    assert_eq!(zfm.image_geometry(), None, "never a guessed 256 x 288");

    let opts = Options { geometry: Some(geometry::R30X), ..Options::default() };
    let (zfm, _, _) = try_start(state, &[], None, opts).await;
    assert_eq!(zfm.unwrap().image_geometry(), Some((256, 288)));
}

#[tokio::test(start_paused = true)]
async fn silent_product_info_is_unsupported_not_an_error() {
    let hook: Hook = Box::new(|cmd, _| matches!(cmd, Command::ReadProdInfo).then(Vec::new));
    let (zfm, shared) = start_hooked(State::default(), &[], hook).await;
    assert!(zfm.product().is_none());
    assert_eq!(count(&shared, opcode::READ_PROD_INFO), 1, "silence on a clean line is not retried");
}

#[tokio::test(start_paused = true)]
async fn wrong_password_is_device_said_with_the_code() {
    let state = State { password: 0x1234_5678, ..State::default() };
    let (zfm, shared, _) = try_start(state, &[], None, Options::default()).await;
    let err = zfm.unwrap_err();
    assert!(matches!(err, ZfmError::DeviceSaid { code: ConfirmationCode::WrongPassword, .. }), "{err:?}");
    assert_eq!(err.to_string(), "VfyPwd (13): device said 13 wrong password");
    assert_eq!(count(&shared, opcode::VFY_PWD), 1, "a definite answer is not retried");

    let opts = Options { password: 0x1234_5678, ..Options::default() };
    let state = State { password: 0x1234_5678, ..State::default() };
    assert!(try_start(state, &[], None, opts).await.0.is_ok());
}

#[tokio::test(start_paused = true)]
async fn silent_module_times_out_with_a_hint() {
    let (host, device) = khil_link::memory_pair();
    let hook: Hook = Box::new(|_, _| Some(Vec::new()));
    let shared = fake::spawn(device, State::default(), Some(hook));
    let start = tokio::time::Instant::now();
    let err = Zfm::connect(host, Options::default()).await.unwrap_err();
    match &err {
        ZfmError::Timeout { command, attempts, outcome_unknown, .. } => {
            assert_eq!(command.opcode, opcode::VFY_PWD);
            assert_eq!(*attempts, 1, "the resync probes after the first timeout got no answer either");
            assert!(!*outcome_unknown);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(err.to_string().contains("looks dead"), "{err}");
    assert_eq!(count(&shared, opcode::VFY_PWD), 1);
    assert_eq!(count(&shared, opcode::READ_SYS_PARA), 3, "three resync probes");
    assert!(start.elapsed() < Duration::from_secs(30), "bounded: {:?}", start.elapsed());
}

#[tokio::test(start_paused = true)]
async fn peer_gone_is_a_line_error_not_a_hang() {
    let (host, device) = khil_link::memory_pair();
    drop(device);
    let err = Zfm::connect(host, Options::default()).await.unwrap_err();
    assert!(matches!(err, ZfmError::Line { source: LinkError::PeerClosed, .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn line_closing_mid_session_is_a_line_error() {
    let (mut zfm, _, _) = start(with_library(&[1, 2]), &[format!("close:at={},dir=rx", CONNECT_RX + 5)]).await;
    let err = zfm.template_count().await.unwrap_err();
    assert!(err.is_line(), "{err:?}");
    assert!(err.to_string().starts_with("TemplateNum (1D): the line broke"), "{err}");
    let again = zfm.template_count().await.unwrap_err();
    assert!(again.is_line(), "stays broken: {again:?}");
}

#[tokio::test(start_paused = true)]
async fn line_closing_mid_upload_is_a_line_error() {
    let (mut zfm, _, _) = start(State::default(), &[format!("close:at={},dir=rx", CONNECT_RX + 12 + 139 * 20)]).await;
    let err = zfm.upload_image().await.unwrap_err();
    assert!(matches!(err, ZfmError::Line { command: CommandId { opcode: opcode::UP_IMAGE, .. }, .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn corrupted_reply_to_a_safe_command_is_retried() {
    // Byte 10 of the TemplateNum ack is the count's high byte: the checksum no longer adds up.
    let (mut zfm, shared, log) =
        start(with_library(&[1, 2, 3]), &[format!("flip:at={},dir=rx", CONNECT_RX + 10)]).await;
    assert_eq!(zfm.template_count().await.unwrap(), 3);
    assert_eq!(log.events().len(), 1, "the fault fired");
    assert_eq!(count(&shared, opcode::TEMPLATE_NUM), 2);
    let stats = zfm.stats().clone();
    assert_eq!((stats.retries, stats.timeouts, stats.resyncs), (1, 1, 1), "{stats:?}");
    assert!(stats.garbage_bytes > 0, "{stats:?}");
    let events = zfm.take_events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Retry { command, attempt: 2, .. } if command.opcode == opcode::TEMPLATE_NUM))
    );
    assert!(events.iter().any(|e| matches!(e, Event::Resynced { .. })));
}

#[tokio::test(start_paused = true)]
async fn packet_receive_error_is_retried_only_for_safe_commands() {
    let hook: Hook = Box::new(|cmd, s| {
        let first = s.count(cmd.opcode()) == 1;
        (first && matches!(cmd, Command::TemplateNum | Command::Store { .. }))
            .then(|| vec![Action::Reply(Reply::error(cmd.opcode(), ConfirmationCode::PacketReceiveError))])
    });
    let (mut zfm, shared) = start_hooked(with_library(&[4]), &[], hook).await;
    assert_eq!(zfm.template_count().await.unwrap(), 1);
    assert_eq!(count(&shared, opcode::TEMPLATE_NUM), 2);
    let err = zfm.store(1, 9).await.unwrap_err();
    assert_eq!(err.device_code(), Some(ConfirmationCode::PacketReceiveError));
    assert_eq!(count(&shared, opcode::STORE), 1);
}

#[tokio::test(start_paused = true)]
async fn store_is_never_resent_when_its_ack_is_lost() {
    // The Store ack loses its last byte: the driver waits out the flash timeout with a partial frame.
    let (mut zfm, shared, _) = start(State::default(), &[format!("drop:at={},dir=rx", CONNECT_RX + 11)]).await;
    let err = zfm.store(1, 5).await.unwrap_err();
    match err {
        ZfmError::StoreUnconfirmed { page: 5, slot_used: Some(true), waited } => {
            assert_eq!(waited, Duration::from_secs(3));
        }
        ref other => panic!("expected StoreUnconfirmed, got {other:?}"),
    }
    assert!(err.to_string().contains("not re-sent; the index table now shows the page used"), "{err}");
    assert_eq!(count(&shared, opcode::STORE), 1, "Store reached the module exactly once");
    assert_eq!(count(&shared, opcode::READ_INDEX_TABLE), 1, "the outcome was checked");
    assert!(shared.lock().unwrap().library.contains_key(&5));
    assert_eq!(zfm.stats().unconfirmed, 1);
    assert!(zfm.take_events().contains(&Event::StoreChecked { page: 5, slot_used: Some(true) }));
}

#[tokio::test(start_paused = true)]
async fn store_lost_on_the_way_reports_the_slot_empty() {
    // A byte of the Store command itself is lost: the module never executes it.
    let (mut zfm, shared, _) = start(State::default(), &[format!("drop:at={},dir=tx", CONNECT_TX + 10)]).await;
    let err = zfm.store(1, 6).await.unwrap_err();
    assert!(matches!(err, ZfmError::StoreUnconfirmed { page: 6, slot_used: Some(false), .. }), "{err:?}");
    assert_eq!(count(&shared, opcode::STORE), 0, "not re-sent (a second Store would have arrived intact)");
    assert!(!shared.lock().unwrap().library.contains_key(&6));
}

#[tokio::test(start_paused = true)]
async fn unacknowledged_mutating_command_is_not_resent() {
    let hook: Hook = Box::new(|cmd, _| matches!(cmd, Command::DeleteChar { .. }).then(Vec::new));
    let (mut zfm, shared) = start_hooked(with_library(&[1]), &[], hook).await;
    let err = zfm.delete(1, 1).await.unwrap_err();
    assert!(matches!(err, ZfmError::Timeout { attempts: 1, outcome_unknown: true, .. }), "{err:?}");
    assert!(err.to_string().contains("not re-sent because it changes the module"), "{err}");
    assert_eq!(count(&shared, opcode::DELETE_CHAR), 1);
    // The driver carries on afterwards.
    assert_eq!(zfm.template_count().await.unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn late_reply_is_not_taken_as_the_answer_to_the_next_command() {
    // The module answers WriteNotepad with a one-byte error (18), but the line holds it for 5 s: longer than the
    // flash timeout. The next command, LED, also gets a one-byte status ack; the late 18 must not become its
    // answer.
    let hook: Hook = Box::new(|cmd, _| {
        matches!(cmd, Command::WriteNotepad { .. })
            .then(|| vec![Action::Reply(Reply::Status(ConfirmationCode::FlashWriteError))])
    });
    let (mut zfm, shared) =
        start_hooked(State::default(), &[format!("stall:at={CONNECT_RX},ms=5000,dir=rx")], hook).await;
    let err = zfm.write_notepad(3, &[0xAA; 32]).await.unwrap_err();
    assert!(matches!(err, ZfmError::Timeout { outcome_unknown: true, .. }), "{err:?}");
    zfm.led(LedMode::Breathe, 0x80, LedColour::Blue, 0).await.expect("LED gets its own ack");
    assert_eq!(count(&shared, opcode::AURA_LED_CONFIG), 1);
    let events = zfm.take_events();
    assert!(
        events.iter().any(|e| matches!(e, Event::Stale { kind: PacketKind::Ack, len: 1, .. })),
        "the late ack was seen and discarded: {events:?}"
    );
    assert!(zfm.stats().stale_frames >= 1);
}

#[tokio::test(start_paused = true)]
async fn late_reply_to_a_safe_command_is_retried_and_resynced() {
    let (mut zfm, shared, _) = start(with_library(&[0, 9]), &[format!("stall:at={CONNECT_RX},ms=2500,dir=rx")]).await;
    assert_eq!(zfm.read_index(0).await.unwrap(), vec![0, 9]);
    assert!(count(&shared, opcode::READ_INDEX_TABLE) >= 2);
    // Whatever was still in flight was drained or rejected: the next answers are right.
    assert_eq!(zfm.template_count().await.unwrap(), 2);
    assert_eq!(zfm.random_code().await.unwrap(), 0x1234_5678);
}

#[tokio::test(start_paused = true)]
async fn stalled_transmit_line_times_out_instead_of_hanging() {
    let (mut zfm, _, _) = start(State::default(), &[format!("stall:at={CONNECT_TX},dir=tx")]).await;
    let err = zfm.template_count().await.unwrap_err();
    assert!(matches!(err, ZfmError::Timeout { .. }), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn upload_image_at_every_packet_size_with_a_short_last_packet() {
    for (size, code) in
        [(32, PacketSize::Bytes32), (64, PacketSize::Bytes64), (128, PacketSize::Bytes128), (256, PacketSize::Bytes256)]
    {
        let mut state = State::default();
        let product = state.product.as_mut().unwrap();
        (product.width, product.height) = (100, 30);
        state.image = test_image(1500);
        assert_ne!(1500 % size, 0, "the last packet is short");
        let (mut zfm, shared, _) = start(state, &[]).await;
        zfm.set_packet_size(code).await.unwrap();
        assert_eq!(zfm.packet_bytes(), size);
        assert_eq!(shared.lock().unwrap().params.packet_size, code);
        assert_eq!(zfm.upload_image().await.unwrap(), test_image(1500), "packet size {size}");
        assert_eq!(zfm.stats().transfer_restarts, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn upload_r503_image_as_pixels() {
    let (mut zfm, _, _) = start(State::default(), &[]).await;
    let pixels = zfm.upload_image_pixels().await.unwrap();
    assert_eq!(pixels.len(), 192 * 192);
    assert_eq!(khil_fingerprint::image::pack(&pixels), test_image(192 * 192 / 2));
}

#[tokio::test(start_paused = true)]
async fn lost_data_packet_restarts_the_whole_upload() {
    // Ack (12) then 128-byte packets (139 bytes a frame): lose a byte inside the sixth packet.
    let (mut zfm, shared, _) =
        start(State::default(), &[format!("drop:at={},dir=rx", CONNECT_RX + 12 + 139 * 5 + 50)]).await;
    assert_eq!(zfm.upload_image().await.unwrap(), test_image(192 * 192 / 2));
    assert_eq!(count(&shared, opcode::UP_IMAGE), 2);
    assert_eq!(zfm.stats().transfer_restarts, 1);
    let events = zfm.take_events();
    assert!(events.iter().any(|e| matches!(e, Event::TransferAborted { attempt: 1, detail, .. } if detail.contains("expected 18432 bytes"))), "{events:?}");
}

#[tokio::test(start_paused = true)]
async fn lost_end_packet_times_out_and_restarts_the_upload() {
    let last = CONNECT_RX + 12 + 139 * 143;
    let (mut zfm, shared, _) = start(State::default(), &[format!("drop:at={},dir=rx", last + 3)]).await;
    assert_eq!(zfm.upload_image().await.unwrap(), test_image(192 * 192 / 2));
    assert_eq!(count(&shared, opcode::UP_IMAGE), 2);
    let events = zfm.take_events();
    assert!(
        events.iter().any(|e| matches!(e, Event::TransferAborted { detail, .. } if detail.contains("found silence"))),
        "{events:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn upload_that_loses_data_every_time_fails_as_a_transfer_error() {
    // The module always sends one packet too few.
    let hook: Hook = Box::new(|cmd, s| {
        matches!(cmd, Command::UpImage).then(|| {
            let mut image = s.image.clone();
            image.truncate(image.len() - 128);
            vec![Action::Reply(Reply::Status(ConfirmationCode::Ok)), Action::Data(image)]
        })
    });
    let (mut zfm, shared) = start_hooked(State::default(), &[], hook).await;
    let err = zfm.upload_image().await.unwrap_err();
    assert!(matches!(err, ZfmError::Transfer { attempts: 3, .. }), "{err:?}");
    assert!(err.to_string().contains("expected 18432 bytes, found 18304"), "{err}");
    assert_eq!(count(&shared, opcode::UP_IMAGE), 3);
}

#[tokio::test(start_paused = true)]
async fn template_round_trip_at_32_byte_packets() {
    let (mut zfm, shared, _) = start(State::default(), &[]).await;
    zfm.set_packet_size(PacketSize::Bytes32).await.unwrap();
    let template: Vec<u8> = (0..512).map(|i| (i * 7 % 256) as u8).collect();
    zfm.download_template(2, &template).await.unwrap();
    // The module does not ack data packets; the next exchange shows they were taken in.
    assert_eq!(zfm.template_count().await.unwrap(), 0);
    {
        let s = shared.lock().unwrap();
        assert_eq!(s.downloads, vec![(opcode::DOWN_CHAR, vec![32; 16])]);
        assert_eq!(s.buffers[1], template);
    }
    assert_eq!(zfm.upload_template(2).await.unwrap(), template);
    // The size is learned: a template of another size is refused before anything is sent.
    let err = zfm.download_template(1, &[0; 100]).await.unwrap_err();
    assert!(matches!(err, ZfmError::InvalidArgument { .. }), "{err:?}");
    assert_eq!(count(&shared, opcode::DOWN_CHAR), 1);
}

#[tokio::test(start_paused = true)]
async fn image_download_uses_the_current_packet_size() {
    let (mut zfm, shared, _) = start(State::default(), &[]).await;
    zfm.set_packet_size(PacketSize::Bytes256).await.unwrap();
    let image = test_image(192 * 192 / 2).into_iter().rev().collect::<Vec<_>>();
    zfm.download_image(&image).await.unwrap();
    zfm.check_sensor().await.unwrap();
    {
        let s = shared.lock().unwrap();
        assert_eq!(s.downloads, vec![(opcode::DOWN_IMAGE, vec![256; 72])]);
        assert_eq!(s.image, image);
    }
    let err = zfm.download_image(&image[1..]).await.unwrap_err();
    assert!(err.to_string().contains("expected 18432 packed bytes"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn info_page_is_read_as_data_packets() {
    let (mut zfm, _, _) = start(State::default(), &[]).await;
    let page = zfm.read_info_page().await.unwrap();
    assert_eq!(page.len(), 512);
    assert_eq!(page[300], 44);
}

#[tokio::test(start_paused = true)]
async fn device_said_errors_carry_the_code_and_name_the_command() {
    let mut state = with_library(&[3]);
    state.match_score = None;
    let (mut zfm, _, _) = start(state, &[]).await;
    let err = zfm.store(1, 500).await.unwrap_err();
    assert!(matches!(err, ZfmError::DeviceSaid { code: ConfirmationCode::PageOutOfRange, .. }), "{err:?}");
    assert_eq!(err.to_string(), "Store (06): device said 0B page number out of range");
    let err = zfm.load(1, 77).await.unwrap_err();
    assert_eq!(err.device_code(), Some(ConfirmationCode::InvalidTemplate));
    let err = zfm.read_notepad(16).await.unwrap_err();
    assert_eq!(err.to_string(), "ReadNotepad (19): device said 1C wrong notepad page number");
    // Codes that are answers, not failures.
    assert_eq!(zfm.compare_buffers().await.unwrap(), None);
    assert_eq!(zfm.search(1, 0, 200).await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn search_finds_a_loaded_template() {
    let (mut zfm, _, _) = start(with_library(&[3, 42]), &[]).await;
    zfm.load(1, 42).await.unwrap();
    assert_eq!(zfm.search_library(1).await.unwrap(), Some(SearchHit { page: 42, score: 120 }));
    assert_eq!(zfm.hi_speed_search(1, 0, 10).await.unwrap(), None, "outside the range");
    assert_eq!(zfm.compare_buffers().await.unwrap(), Some(150));
}

#[tokio::test(start_paused = true)]
async fn index_and_library_management() {
    let (mut zfm, _, _) = start(with_library(&[0, 7, 199]), &[]).await;
    assert_eq!(zfm.used_slots().await.unwrap(), vec![0, 7, 199]);
    assert_eq!(zfm.first_free_slot().await.unwrap(), Some(1));
    zfm.delete(7, 1).await.unwrap();
    assert!(!zfm.slot_used(7).await.unwrap());
    zfm.empty().await.unwrap();
    assert_eq!(zfm.template_count().await.unwrap(), 0);
    assert!(matches!(zfm.read_index(4).await, Err(ZfmError::InvalidArgument { .. })));
}

#[tokio::test(start_paused = true)]
async fn enrol_captures_waits_for_lift_merges_and_stores() {
    let state = State {
        // No finger, finger (capture 1), still there, lifted, finger (capture 2, rejected as poor), lifted, finger.
        fingers: [false, true, true, false, true, false, true].into(),
        finger_default: false,
        extract: [ConfirmationCode::Ok, ConfirmationCode::TooFewFeaturePoints].into(),
        ..State::default()
    };
    let (mut zfm, shared, _) = start(state, &[]).await;
    zfm.enrol(7, &EnrolOptions::default()).await.unwrap();
    let s = shared.lock().unwrap();
    assert_eq!(s.count(opcode::GEN_IMG), 7);
    let img2tz: Vec<_> = s.received.iter().filter(|c| c.opcode() == opcode::IMG2TZ).cloned().collect();
    assert_eq!(
        img2tz,
        vec![Command::Img2Tz { buffer: 1 }, Command::Img2Tz { buffer: 2 }, Command::Img2Tz { buffer: 2 }]
    );
    assert_eq!((s.count(opcode::REG_MODEL), s.count(opcode::STORE)), (1, 1));
    assert_eq!(s.received.last(), Some(&Command::Store { buffer: 1, page: 7 }));
    assert!(s.library.contains_key(&7));
}

#[tokio::test(start_paused = true)]
async fn enrol_gives_up_when_no_finger_comes() {
    let state = State { finger_default: false, ..State::default() };
    let (mut zfm, shared, _) = start(state, &[]).await;
    let how = EnrolOptions { finger_deadline: Duration::from_secs(2), ..EnrolOptions::default() };
    let err = zfm.enrol(1, &how).await.unwrap_err();
    assert!(matches!(err, ZfmError::NoFinger { .. }), "{err:?}");
    assert_eq!(count(&shared, opcode::STORE), 0);
    let bad = EnrolOptions { captures: 3, ..EnrolOptions::default() };
    assert!(matches!(zfm.enrol(1, &bad).await, Err(ZfmError::InvalidArgument { .. })), "R30x has two buffers");
}

#[tokio::test(start_paused = true)]
async fn soft_reset_survives_the_trailing_0x55() {
    let (mut zfm, shared, _) = start(with_library(&[1]), &[]).await;
    zfm.soft_reset().await.unwrap();
    assert_eq!(zfm.template_count().await.unwrap(), 1);
    assert_eq!(zfm.stats().stale_frames, 0);
    assert!(zfm.stats().drained_bytes >= 1, "the 0x55 was drained: {:?}", zfm.stats());
    assert_eq!(count(&shared, opcode::VFY_PWD), 2, "password verified again after the reset");
}

#[tokio::test(start_paused = true)]
async fn configuration_commands_update_the_driver() {
    let (mut zfm, shared, _) = start(State::default(), &[]).await;
    zfm.set_security_level(5).await.unwrap();
    zfm.set_baud(12).await.unwrap();
    assert_eq!(zfm.params().security_level, 5);
    assert_eq!(zfm.params().baud_multiplier, 12);
    assert!(zfm.set_baud(13).await.is_err());
    zfm.set_password(0xCAFE).await.unwrap();
    assert_eq!(zfm.options().password, 0xCAFE);
    zfm.set_address(0x0102_0304).await.unwrap();
    assert_eq!(zfm.address(), 0x0102_0304);
    assert_eq!(zfm.template_count().await.unwrap(), 0, "the module answers at its new address");
    zfm.soft_reset().await.unwrap();
    assert_eq!(shared.lock().unwrap().received.iter().filter(|c| **c == Command::VfyPwd(0xCAFE)).count(), 1);
    assert!(format!("{:?}", zfm.options()).contains("<redacted>"));
}

#[tokio::test(start_paused = true)]
async fn small_commands() {
    let (mut zfm, _, _) = start(State::default(), &[]).await;
    assert!(zfm.check_sensor().await.unwrap());
    assert_eq!(zfm.firmware_version().await.unwrap(), "V1.2.3");
    assert_eq!(zfm.algorithm_version().await.unwrap(), "V1.2.3");
    zfm.write_notepad(2, &[9; 32]).await.unwrap();
    assert_eq!(zfm.read_notepad(2).await.unwrap(), [9; 32]);
    assert!(zfm.capture().await.unwrap());
    let reply = zfm.execute(&Command::Unknown { code: 0x40, params: vec![] }).await.unwrap();
    assert_eq!(reply.cc(), ConfirmationCode::Unsupported, "execute returns the reply whatever its code");
    assert!(matches!(zfm.execute(&Command::UpImage).await, Err(ZfmError::InvalidArgument { .. })));
}

#[tokio::test(start_paused = true)]
async fn commands_survive_periodic_garbage() {
    let (mut zfm, _, _) = start(with_library(&[5, 6]), &["garbage:every=97,len=3,dir=rx".to_owned()]).await;
    for _ in 0..10 {
        assert_eq!(zfm.template_count().await.unwrap(), 2);
        assert_eq!(zfm.read_index(0).await.unwrap(), vec![5, 6]);
        assert_eq!(zfm.random_code().await.unwrap(), 0x1234_5678);
        assert_eq!(zfm.firmware_version().await.unwrap(), "V1.2.3");
    }
    assert!(zfm.stats().garbage_bytes > 0);
    assert!(zfm.stats().retries > 0, "some replies were hit: {:?}", zfm.stats());
}

#[tokio::test(start_paused = true)]
async fn template_upload_survives_random_bit_flips() {
    let (mut zfm, _, _) = start(State::default(), &["flip:p=0.0005".to_owned()]).await;
    zfm.image_to_template(1).await.unwrap();
    let mut first = None;
    for _ in 0..20 {
        let t = zfm.upload_template(1).await.unwrap();
        assert_eq!(t.len(), 512);
        assert_eq!(*first.get_or_insert_with(|| t.clone()), t);
        assert_eq!(zfm.template_count().await.unwrap(), 0);
    }
    assert!(zfm.stats().retries + zfm.stats().transfer_restarts > 0, "faults fired: {:?}", zfm.stats());
}

#[tokio::test(start_paused = true)]
async fn random_replies_never_panic_the_driver() {
    // A module that answers every command with a pseudo-random frame (kind, address, length, bytes).
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let hook: Hook = Box::new(move |cmd, _| {
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let kinds = [PacketKind::Ack, PacketKind::Data, PacketKind::EndData, PacketKind::Command];
        let kind = if matches!(cmd, Command::VfyPwd(_) | Command::ReadSysPara | Command::ReadProdInfo) {
            None
        } else {
            Some(kinds[(next() % 4) as usize])
        };
        kind.map(|kind| {
            let len = (next() % 60) as usize;
            let payload: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let address = if next() % 5 == 0 { next() as u32 } else { 0xFFFF_FFFF };
            vec![
                Action::Frame(ZfmFrame { address, kind, payload }),
                Action::Raw(vec![next() as u8; (next() % 4) as usize]),
            ]
        })
    });
    let (mut zfm, _) = start_hooked(State::default(), &[], hook).await;
    for _ in 0..40 {
        let _ = zfm.template_count().await;
        let _ = zfm.search(1, 0, 10).await;
        let _ = zfm.upload_template(1).await;
        let _ = zfm.read_index(1).await;
        let _ = zfm.store(1, 3).await;
        let _ = zfm.compare_buffers().await;
    }
    assert!(zfm.stats().commands > 240);
}

#[test]
fn retry_policy_table() {
    let repeatable: Vec<u8> =
        common::every_command().iter().filter(|c| is_repeatable(c)).map(Command::opcode).collect();
    for never in [
        opcode::STORE,
        opcode::DELETE_CHAR,
        opcode::EMPTY,
        opcode::SET_PWD,
        opcode::SET_ADDR,
        opcode::SET_SYS_PARA,
        opcode::WRITE_NOTEPAD,
        opcode::DOWN_CHAR,
        opcode::DOWN_IMAGE,
        opcode::REG_MODEL,
        opcode::SOFT_RST,
    ] {
        assert!(!repeatable.contains(&never), "{never:02X} must never be repeated");
    }
    for safe in [opcode::READ_SYS_PARA, opcode::TEMPLATE_NUM, opcode::UP_IMAGE, opcode::SEARCH, opcode::GEN_IMG] {
        assert!(repeatable.contains(&safe));
    }
}

/// Every kind of fault the fault link injects, in both directions, over a workload whose every answer is
/// checked for content: a misattributed reply (a late notepad page, another template) would fail an assertion.
#[tokio::test(start_paused = true)]
async fn workload_survives_every_fault_kind_with_correct_answers() {
    for seed in [1, 2, 3] {
        let mut state = with_library(&[2, 11, 40]);
        for (i, page) in state.notepad.iter_mut().enumerate() {
            *page = [i as u8 * 3 + 1; 32];
        }
        let specs = [
            "flip:p=0.0001",
            "drop:p=0.0001",
            "dup:p=0.0001",
            "garbage:p=0.0001,len=4",
            "delay:p=0.0001,ms=1500",
            "stall:p=0.00005,ms=2500",
        ];
        let (host, device) = khil_link::memory_pair();
        let shared = fake::spawn(device, state, None);
        let link = FaultLink::new(host, &faults(&specs.map(str::to_owned)), seed);
        let log = link.log();
        let opts = Options { retries: 5, ..Options::default() };
        let mut zfm = Zfm::connect(link, opts).await.expect("connect");
        for i in 0..60u16 {
            let page = [2, 11, 40][usize::from(i % 3)];
            let note = (i % 16) as u8;
            assert_eq!(zfm.read_notepad(note).await.unwrap(), [note * 3 + 1; 32], "seed {seed} round {i}");
            assert_eq!(zfm.template_count().await.unwrap(), 3);
            assert_eq!(zfm.read_index(0).await.unwrap(), vec![2, 11, 40]);
            zfm.load(1, page).await.unwrap();
            assert_eq!(zfm.upload_template(1).await.unwrap(), vec![page as u8; 512], "seed {seed} round {i}");
            assert_eq!(zfm.search(1, 0, 200).await.unwrap().map(|h| h.page), Some(page));
        }
        let stats = zfm.stats().clone();
        assert!(log.events().len() > 10, "faults fired: {}", log.events().len());
        assert!(stats.retries > 0 && stats.resyncs > 0 && stats.transfer_restarts > 0, "{stats:?}");
        assert_eq!(shared.lock().unwrap().count(opcode::STORE), 0);
    }
}

#[tokio::test(start_paused = true)]
async fn endless_upload_is_cut_off() {
    let hook: Hook = Box::new(|cmd, _| {
        matches!(cmd, Command::UpChar { .. })
            .then(|| vec![Action::Reply(Reply::Status(ConfirmationCode::Ok)), Action::Data(vec![7; 300 * 1024])])
    });
    let (mut zfm, _) = start_hooked(State::default(), &[], hook).await;
    let err = zfm.upload_template(1).await.unwrap_err();
    assert!(matches!(err, ZfmError::Transfer { .. }), "{err:?}");
    assert!(err.to_string().contains("expected at most 262144 bytes"), "{err}");
    assert_eq!(zfm.template_count().await.unwrap(), 0, "the line recovers after the flood");
}

#[test]
fn driver_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let (host, _device) = khil_link::memory_pair();
    let connect = Zfm::connect(host, Options::default());
    assert_send(&connect);
    drop(connect);
    let _ = |zfm: &mut Zfm<DuplexStream>| {
        assert_send(&zfm.upload_image());
        assert_send(&zfm.enrol(1, &EnrolOptions::default()));
        assert_send(&zfm.store(1, 1));
    };
}
