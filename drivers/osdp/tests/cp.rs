//! khil's control panel against khil's PD simulators, in process, on tokio's paused clock.
//!
//! The PDs sit behind a small multidrop bus written here: every byte the CP sends reaches every PD (each answers
//! only its own address), every PD's replies reach the CP. The bus records the CP's packets with their times and
//! can misbehave on purpose: eat one reply, answer BUSY in a PD's place, corrupt a command's MAC, unplug a PD.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::BytesMut;
use khil_link::BoxLink;
use khil_osdp::command::{Buzzer, Command, LedControl, LedPermanent, LedTemporary, OutputControl, Text, opcode};
use khil_osdp::cp::{BusEvent, BusHandle, CpConfig, CpError, EventKind, OsdpBus, PdSetup};
use khil_osdp::frame::OsdpFrame;
use khil_osdp::reply::{NakCode, Reply};
use khil_osdp::{OsdpCodec, sc};
use khil_sim_host::{Line, in_process};
use khil_sim_osdp::{OsdpPd, PdConfig, PdEvent, PdProfile};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, WriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::Decoder;

const KEY: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
const NEW_KEY: [u8; 16] = [0xA5; 16];

/// What the test bus should do to the traffic.
#[derive(Debug, Default)]
struct Ctl {
    /// Every CP packet: when, raw bytes, address, code.
    sent: Vec<(Instant, Vec<u8>, u8, u8)>,
    /// Eat the reply to the next command with this code.
    drop_reply_to: Option<u8>,
    /// Pending: the reply of this address is to be eaten.
    eat_reply_of: Option<u8>,
    /// Answer BUSY (SQN 0) instead of delivering the next command with this code.
    busy_for: Option<u8>,
    /// Flip a MAC bit in the next command with this code (CRC recomputed, so the PD sees a bad MAC).
    corrupt_mac_of: Option<u8>,
    /// Addresses cut off the bus.
    unplugged: HashSet<u8>,
}

type Shared = Arc<Mutex<Ctl>>;

fn lock(ctl: &Shared) -> std::sync::MutexGuard<'_, Ctl> {
    ctl.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A multidrop bus: the CP's end, and the control over it.
fn bus(pds: Vec<(u8, BoxLink)>) -> (DuplexStream, Shared) {
    let ctl: Shared = Arc::default();
    let (cp_end, hub) = tokio::io::duplex(1 << 16);
    let (mut hub_rd, hub_wr) = tokio::io::split(hub);
    let hub_wr: Arc<tokio::sync::Mutex<WriteHalf<DuplexStream>>> = Arc::new(tokio::sync::Mutex::new(hub_wr));
    let mut writers = Vec::new();
    for (address, link) in pds {
        let (mut rd, wr) = tokio::io::split(link);
        writers.push((address, wr));
        let (ctl, hub_wr) = (Arc::clone(&ctl), Arc::clone(&hub_wr));
        tokio::spawn(async move {
            let mut codec = OsdpCodec::new();
            let mut buf = BytesMut::new();
            loop {
                while let Ok(Some(d)) = codec.decode(&mut buf) {
                    {
                        let mut c = lock(&ctl);
                        if c.unplugged.contains(&address) {
                            continue;
                        }
                        if c.eat_reply_of == Some(address) {
                            c.eat_reply_of = None;
                            continue;
                        }
                    }
                    let _ = hub_wr.lock().await.write_all(&d.raw).await;
                }
                if rd.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                    return;
                }
            }
        });
    }
    let c = Arc::clone(&ctl);
    tokio::spawn(async move {
        let mut codec = OsdpCodec::new();
        let mut buf = BytesMut::new();
        loop {
            while let Ok(Some(d)) = codec.decode(&mut buf) {
                let f = d.frame.clone();
                let mut bytes = d.raw.to_vec();
                let busy = {
                    let mut ctl = lock(&c);
                    ctl.sent.push((Instant::now(), bytes.clone(), f.address, f.code));
                    if ctl.drop_reply_to == Some(f.code) {
                        ctl.drop_reply_to = None;
                        ctl.eat_reply_of = Some(f.address);
                    }
                    if ctl.corrupt_mac_of == Some(f.code)
                        && let Some(mut mac) = f.mac
                    {
                        ctl.corrupt_mac_of = None;
                        mac[0] ^= 1;
                        bytes = OsdpFrame { mac: Some(mac), ..f.clone() }.encode(true);
                    }
                    if ctl.busy_for == Some(f.code) {
                        ctl.busy_for = None;
                        true
                    } else {
                        false
                    }
                };
                if busy {
                    let reply = OsdpFrame::reply(f.address, 0, khil_osdp::reply::opcode::BUSY, vec![]).encode(true);
                    let _ = hub_wr.lock().await.write_all(&reply).await;
                    continue;
                }
                for (address, w) in &mut writers {
                    if !lock(&c).unplugged.contains(address) {
                        let _ = w.write_all(&bytes).await;
                    }
                }
            }
            if hub_rd.read_buf(&mut buf).await.unwrap_or(0) == 0 {
                return;
            }
        }
    });
    (cp_end, ctl)
}

fn pd(profile: PdProfile, address: u8, scbk: Option<[u8; 16]>) -> Arc<OsdpPd> {
    let mut config = PdConfig::new(profile, address);
    config.scbk = scbk;
    config.serial = 1000 + u32::from(address);
    config.seed = u64::from(address);
    Arc::new(OsdpPd::new(config))
}

fn config() -> CpConfig {
    CpConfig { seed: Some(7), ..CpConfig::default() }
}

/// Starts a CP on `link` with `setups`, running in the background (until the test ends or `stop`).
fn start_cp(
    link: DuplexStream,
    setups: &[PdSetup],
) -> (BusHandle, mpsc::Receiver<BusEvent>, tokio::task::JoinHandle<()>) {
    let mut bus = OsdpBus::new(link, config());
    for s in setups {
        bus.add_pd(s.clone()).unwrap();
    }
    let handle = bus.handle();
    let events = bus.take_events().unwrap();
    let task = tokio::spawn(async move {
        let _ = bus.run().await;
    });
    (handle, events, task)
}

fn start(link: DuplexStream, setups: &[PdSetup]) -> (BusHandle, mpsc::Receiver<BusEvent>) {
    let (h, e, _task) = start_cp(link, setups);
    (h, e)
}

async fn wait_event(events: &mut mpsc::Receiver<BusEvent>, what: impl Fn(&BusEvent) -> bool) -> BusEvent {
    tokio::time::timeout(Duration::from_mins(2), async {
        loop {
            let e = events.recv().await.expect("event stream ended");
            if what(&e) {
                return e;
            }
        }
    })
    .await
    .expect("event did not arrive")
}

async fn online(handle: &BusHandle, address: u8) -> khil_osdp::cp::PdStatus {
    tokio::time::timeout(Duration::from_secs(30), handle.wait_online(address)).await.expect("not online").unwrap()
}

fn out(output: u8, control: u8) -> Command {
    Command::Out(vec![OutputControl { output, control, timer: 0 }])
}

fn sent_with_code(ctl: &Shared, address: u8, code: u8) -> Vec<(Instant, Vec<u8>)> {
    lock(ctl).sent.iter().filter(|s| s.2 == address && s.3 == code).map(|s| (s.0, s.1.clone())).collect()
}

#[tokio::test(start_paused = true)]
async fn three_pds_on_one_bus_secure_install_and_plain_commands_and_events() {
    let gate = pd(PdProfile::GATE_IO, 1, Some(KEY));
    let reader = pd(PdProfile::CARD_READER, 2, None);
    let plain = pd(PdProfile::CARD_READER, 3, None);
    let line = Line::default();
    let (link, ctl) = bus(vec![
        (1, in_process(Arc::clone(&gate), &line)),
        (2, in_process(Arc::clone(&reader), &line)),
        (3, in_process(Arc::clone(&plain), &line)),
    ]);
    let (h, mut events) = start(link, &[PdSetup::secure(1, KEY), PdSetup::install(2), PdSetup::plain(3)]);

    let s1 = online(&h, 1).await;
    assert!(s1.secure && !s1.default_key, "{s1:?}");
    assert_eq!(s1.id.map(|i| (i.serial, i.model)), Some((1001, 1)));
    assert!(s1.capabilities.iter().any(|c| c.function == 2 && c.count == 3), "3 outputs: {:?}", s1.capabilities);
    let s2 = online(&h, 2).await;
    assert!(s2.secure && s2.default_key, "install mode runs on SCBK-D: {s2:?}");
    let s3 = online(&h, 3).await;
    assert!(!s3.secure, "{s3:?}");
    assert!(gate.pd().secure() && reader.pd().secure() && !plain.pd().secure());

    // Commands arrive (through the encryption for 1 and 2).
    assert_eq!(h.command(1, out(0, 2)).await.unwrap(), Reply::Ack);
    assert!(gate.pd().outputs()[0], "entry flap open");
    let led = LedControl {
        reader: 0,
        led: 1,
        temporary: LedTemporary { control: 0, on_time: 0, off_time: 0, on_colour: 0, off_colour: 0, timer: 0 },
        permanent: LedPermanent { control: 1, on_time: 1, off_time: 0, on_colour: 2, off_colour: 0 },
    };
    h.command(1, Command::Led(vec![led])).await.unwrap();
    h.command(2, Command::Buz(Buzzer { reader: 0, tone: 2, on_time: 3, off_time: 1, count: 2 })).await.unwrap();
    let text = Text { reader: 0, control: 1, temp_time: 0, row: 1, column: 1, text: b"Welcome".to_vec() };
    h.command(3, Command::Text(text)).await.unwrap();
    assert_eq!(gate.pd().indicators().leds.get(1).copied().flatten(), Some(led));
    assert_eq!(reader.pd().indicators().buzzer.map(|b| b.count), Some(2));
    assert_eq!(plain.pd().indicators().text.as_deref(), Some("Welcome"));
    // The OUT went as SCB 17 (encrypted data), the plain PD's TEXT without SCB.
    let outs = sent_with_code(&ctl, 1, opcode::OUT);
    assert_eq!(outs[0].1[5..7], [0x02, 0x17], "{:02X?}", outs[0].1);
    let texts = sent_with_code(&ctl, 3, opcode::TEXT);
    assert_eq!(texts[0].1[4] & 0x08, 0, "no SCB to the plain PD");

    // A NAK is an error naming the PD, the command and the code.
    let e = h.command(1, out(9, 2)).await.unwrap_err();
    assert!(matches!(e, CpError::Nak { address: 1, command: "OUT", code: NakCode::CannotProcess }), "{e}");
    assert!(matches!(h.command(42, Command::Poll).await, Err(CpError::UnknownPd { address: 42 })));

    // Events reach the CP from each PD.
    gate.push(PdEvent::Input { n: 1, on: true });
    reader.push(PdEvent::Card { data: vec![0x12, 0x34, 0x56, 0x78], bits: 32 });
    plain.push(PdEvent::Tamper(true));
    let e = wait_event(&mut events, |e| matches!(e.kind, EventKind::Inputs(_))).await;
    assert_eq!((e.address, e.kind), (1, EventKind::Inputs(vec![0, 1, 0, 0, 0, 0])));
    let e = wait_event(&mut events, |e| matches!(e.kind, EventKind::Card(_))).await;
    let EventKind::Card(card) = e.kind else { unreachable!() };
    assert_eq!((e.address, card.bits, card.data), (2, 32, vec![0x12, 0x34, 0x56, 0x78]));
    let e = wait_event(&mut events, |e| matches!(e.kind, EventKind::Local { .. })).await;
    assert_eq!((e.address, e.kind), (3, EventKind::Local { tamper: 1, power: 0 }));

    // Sequence numbers: 0 first, then 1, 2, 3, 1, ... per PD.
    let sqns: Vec<u8> = lock(&ctl).sent.iter().filter(|s| s.2 == 1).map(|s| s.1[4] & 3).take(8).collect();
    assert_eq!(sqns, [0, 1, 2, 3, 1, 2, 3, 1]);
}

#[tokio::test(start_paused = true)]
async fn a_lost_reply_gets_the_same_packet_again_and_the_out_runs_once() {
    let gate = pd(PdProfile::GATE_IO, 1, Some(KEY));
    let (link, ctl) = bus(vec![(1, in_process(Arc::clone(&gate), &Line::default()))]);
    let mut bus = OsdpBus::new(link, config());
    bus.add_pd(PdSetup::secure(1, KEY)).unwrap();
    let h = bus.handle();
    // Step by step: tick until online and secure.
    while !bus.status(1).unwrap().online {
        bus.tick().await.unwrap();
    }
    lock(&ctl).drop_reply_to = Some(opcode::OUT);
    let executed = gate.pd().executed;
    let h2 = h.clone();
    let reply = tokio::spawn(async move { h2.command(1, out(0, 2)).await });
    tokio::task::yield_now().await;
    let t0 = Instant::now();
    assert_eq!(bus.tick().await.unwrap(), Some(1));
    assert_eq!(reply.await.unwrap().unwrap(), Reply::Ack);
    assert_eq!(gate.pd().executed, executed + 1, "the PD executed the OUT once and resent its cached reply");
    assert!(gate.pd().outputs()[0]);
    let outs = sent_with_code(&ctl, 1, opcode::OUT);
    assert_eq!(outs.len(), 2, "sent twice");
    assert_eq!(outs[0].1, outs[1].1, "the same bytes: same SQN, same MAC");
    assert_eq!(outs[1].0 - outs[0].0, Duration::from_millis(200), "after the 200 ms reply timeout");
    assert!(Instant::now() - t0 >= Duration::from_millis(200));
    assert_eq!(bus.status(1).unwrap().retransmissions, 1);

    // BUSY: the same packet again after the busy delay; executed once.
    lock(&ctl).busy_for = Some(opcode::OUT);
    let executed = gate.pd().executed;
    let h2 = h.clone();
    let reply = tokio::spawn(async move { h2.command(1, out(1, 2)).await });
    tokio::task::yield_now().await;
    bus.tick().await.unwrap();
    assert_eq!(reply.await.unwrap().unwrap(), Reply::Ack);
    assert_eq!(gate.pd().executed, executed + 1);
    let outs = sent_with_code(&ctl, 1, opcode::OUT);
    assert_eq!(outs.len(), 4);
    assert_eq!(outs[2].1, outs[3].1);
    assert!(gate.pd().outputs()[1]);
    // The session survived all that.
    assert_eq!(bus.status(1).unwrap().sessions, 1);
}

#[tokio::test(start_paused = true)]
async fn a_pd_that_drops_the_session_gets_a_new_handshake_and_the_command_goes_through() {
    let gate = pd(PdProfile::GATE_IO, 1, Some(KEY));
    let (link, ctl) = bus(vec![(1, in_process(Arc::clone(&gate), &Line::default()))]);
    let (h, mut events) = start(link, &[PdSetup::secure(1, KEY)]);
    online(&h, 1).await;
    // The PD sees a bad MAC on the OUT: it drops the session and answers NAK 6 in plain text.
    lock(&ctl).corrupt_mac_of = Some(opcode::OUT);
    assert_eq!(h.command(1, out(2, 2)).await.unwrap(), Reply::Ack, "sent again after the new handshake");
    assert!(gate.pd().outputs()[2]);
    wait_event(&mut events, |e| e.kind == EventKind::SessionLost).await;
    let s = h.status(1).unwrap();
    assert!(s.online && s.secure && s.sessions == 2, "{s:?}");
    // The new session started over at SQN 0 with a CHLNG.
    let chlngs = sent_with_code(&ctl, 1, opcode::CHLNG);
    assert_eq!(chlngs.len(), 2);
    assert_eq!(chlngs[1].1[4] & 3, 0);
}

#[tokio::test(start_paused = true)]
async fn an_unplugged_pd_goes_offline_backs_off_and_comes_back_with_a_new_session() {
    let gate = pd(PdProfile::GATE_IO, 1, Some(KEY));
    let reader = pd(PdProfile::CARD_READER, 2, Some(NEW_KEY));
    let line = Line::default();
    let (link, ctl) = bus(vec![(1, in_process(Arc::clone(&gate), &line)), (2, in_process(Arc::clone(&reader), &line))]);
    let (h, mut events) = start(link, &[PdSetup::secure(1, KEY), PdSetup::secure(2, NEW_KEY)]);
    online(&h, 1).await;
    online(&h, 2).await;

    lock(&ctl).unplugged.insert(2);
    let t0 = Instant::now();
    let e = wait_event(&mut events, |e| e.kind == EventKind::Offline).await;
    assert_eq!(e.address, 2);
    let took = Instant::now() - t0;
    assert!(took <= Duration::from_secs(1), "offline after 4 x 200 ms (+ one poll gap): {took:?}");
    assert!(matches!(h.command(2, Command::Poll).await, Err(CpError::Offline { address: 2, command: "POLL" })));
    // The other PD carries on meanwhile.
    gate.push(PdEvent::Input { n: 4, on: true });
    let e = wait_event(&mut events, |e| matches!(e.kind, EventKind::Inputs(_))).await;
    assert_eq!(e.address, 1);

    // Probes (one ID each, no retransmission) at 1 s, 2 s, 4 s, 8 s.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let probes: Vec<Instant> =
        sent_with_code(&ctl, 2, opcode::ID).into_iter().map(|p| p.0).filter(|&t| t > t0).collect();
    let gaps: Vec<u128> = probes.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect();
    assert_eq!(gaps.len(), 3, "probes at {probes:?}");
    for (gap, expected) in gaps.iter().zip([2000u128, 4000, 8000]) {
        assert!(gap.abs_diff(expected) <= 250, "back-off gaps {gaps:?}");
    }
    assert_eq!(h.status(2).unwrap().backoff, Duration::from_secs(16));

    // Plugged back: ID, CAP, a new session, online again.
    lock(&ctl).unplugged.remove(&2);
    let e = wait_event(&mut events, |e| e.address == 2 && matches!(e.kind, EventKind::Online { .. })).await;
    assert!(matches!(e.kind, EventKind::Online { secure: true, .. }));
    let s = h.status(2).unwrap();
    assert_eq!((s.sessions, s.offline_count, s.backoff), (2, 1, Duration::ZERO));
    h.command(2, Command::Buz(Buzzer { reader: 0, tone: 2, on_time: 1, off_time: 1, count: 1 })).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn keyset_moves_a_pd_from_the_default_key_to_its_own_and_it_reconnects_with_it() {
    let reader = pd(PdProfile::CARD_READER, 5, None);
    let (link, ctl) = bus(vec![(5, in_process(Arc::clone(&reader), &Line::default()))]);
    let (h, mut events, first) = start_cp(link, &[PdSetup::install(5)]);
    let s = online(&h, 5).await;
    assert!(s.secure && s.default_key);
    h.keyset(5, NEW_KEY).await.unwrap();
    assert_eq!(reader.pd().scbk(), Some(NEW_KEY));
    let e = wait_event(&mut events, |e| e.kind == EventKind::SecureChannel { default_key: false }).await;
    assert_eq!(e.address, 5);
    let s = h.status(5).unwrap();
    assert!(s.online && s.secure && !s.default_key && s.sessions == 2, "{s:?}");
    // The KEYSET went encrypted, and the second CHLNG asked for the PD's own key.
    let keysets = sent_with_code(&ctl, 5, opcode::KEYSET);
    assert_eq!(keysets[0].1[5..7], [0x02, 0x17]);
    assert!(!keysets[0].1.windows(16).any(|w| w == NEW_KEY), "the key never crosses the bus in clear");
    let chlngs = sent_with_code(&ctl, 5, opcode::CHLNG);
    assert_eq!(chlngs[0].1[5..8], [0x03, 0x11, 0x00]);
    assert_eq!(chlngs[1].1[5..8], [0x03, 0x11, 0x01]);
    let dbg = format!("{:?} {:?}", PdSetup::secure(5, NEW_KEY), h.status(5));
    assert!(!dbg.contains("165") && !dbg.contains("A5") && !dbg.contains("a5"), "{dbg}");

    // A fresh CP with the new key talks to it; one that still thinks SCBK-D does not get a session.
    first.abort();
    let (link, _ctl) = bus(vec![(5, in_process(Arc::clone(&reader), &Line::default()))]);
    let (h, _events, second) = start_cp(link, &[PdSetup::secure(5, NEW_KEY)]);
    let s = online(&h, 5).await;
    assert!(s.secure && !s.default_key && reader.pd().secure());
    second.abort();
    let (link, _ctl) = bus(vec![(5, in_process(Arc::clone(&reader), &Line::default()))]);
    let (h, mut events) = start(link, &[PdSetup::install(5)]);
    let e = wait_event(&mut events, |e| matches!(e.kind, EventKind::SecureChannelFailed { .. })).await;
    assert_eq!(e.address, 5);
    assert!(!h.status(5).unwrap().online);
    // SCBK-D is the published install-mode key, 0x30..=0x3F (reference, "Secure channel").
    assert_eq!(sc::SCBK_D, std::array::from_fn::<u8, 16, _>(|i| 0x30 + i as u8));
}
