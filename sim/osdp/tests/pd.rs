//! The PD state machine on its own: sequence numbers (a relay command runs once however often it is resent),
//! NAK codes, and the secure channel driven by a CP built from khil's own secure-channel primitives.

use khil_osdp::command::{Command, OutputControl, opcode};
use khil_osdp::frame::{self, Decoded, OsdpFrame, Scb};
use khil_osdp::reply::{NakCode, Reply};
use khil_osdp::sc::{self, ScSession, SessionKeys};
use khil_sim_osdp::{Pd, PdConfig, PdEvent, PdProfile};

/// Sends one frame through the PD and decodes the reply.
fn exchange(pd: &mut Pd, f: &OsdpFrame) -> Option<(OsdpFrame, Vec<u8>)> {
    let bytes = f.encode(true);
    let Decoded::Frame { frame, packet, .. } = frame::decode(&bytes) else { panic!("test frame does not decode") };
    let out = pd.handle(&frame, &bytes[packet])?;
    let Decoded::Frame { frame, packet, .. } = frame::decode(&out) else { panic!("reply does not decode: {out:02X?}") };
    Some((frame, out[packet].to_vec()))
}

fn reply_of(f: &OsdpFrame) -> Reply {
    Reply::parse(f.code, &f.data).unwrap()
}

fn out(sqn: u8, output: u8, control: u8) -> OsdpFrame {
    let c = Command::Out(vec![OutputControl { output, control, timer: 0 }]);
    OsdpFrame::command(1, sqn, c.code(), c.to_data())
}

#[test]
fn a_retransmitted_out_runs_once_and_gets_the_same_bytes() {
    let mut pd = Pd::new(PdConfig::new(PdProfile::GATE_IO, 1));
    let poll = OsdpFrame::command(1, 0, opcode::POLL, vec![]);
    assert_eq!(reply_of(&exchange(&mut pd, &poll).unwrap().0), Reply::Ack);
    let first = exchange(&mut pd, &out(1, 0, 2)).unwrap();
    assert!(pd.outputs()[0]);
    let executed = pd.executed;
    // The CP did not hear the ACK and sends the same packet again: same reply, no second execution.
    let again = exchange(&mut pd, &out(1, 0, 2)).unwrap();
    assert_eq!(again.1, first.1);
    assert_eq!(pd.executed, executed);
    // A retransmission carries the old command: even with other content it is not executed.
    let stale = exchange(&mut pd, &out(1, 0, 1)).unwrap();
    assert_eq!(stale.1, first.1);
    assert!(pd.outputs()[0], "the resent reply is the old one; the flap stays open");
    // The next SQN runs.
    exchange(&mut pd, &out(2, 0, 1)).unwrap();
    assert!(!pd.outputs()[0]);
}

#[test]
fn nak_codes_for_sequence_length_and_unknown_commands() {
    let mut pd = Pd::new(PdConfig::new(PdProfile::GATE_IO, 1));
    exchange(&mut pd, &OsdpFrame::command(1, 0, opcode::POLL, vec![])).unwrap();
    let skip = exchange(&mut pd, &OsdpFrame::command(1, 3, opcode::POLL, vec![])).unwrap();
    assert_eq!(reply_of(&skip.0), Reply::nak(NakCode::BadSequence), "SQN 3 after 0");
    let short = exchange(&mut pd, &OsdpFrame::command(1, 1, opcode::OUT, vec![0, 2])).unwrap();
    assert_eq!(reply_of(&short.0), Reply::nak(NakCode::BadLength));
    let unknown = exchange(&mut pd, &OsdpFrame::command(1, 2, 0x5F, vec![])).unwrap();
    assert_eq!(reply_of(&unknown.0), Reply::nak(NakCode::UnknownCommand));
    let bad_output = exchange(&mut pd, &out(3, 7, 2)).unwrap();
    assert_eq!(reply_of(&bad_output.0), Reply::nak(NakCode::CannotProcess), "there is no output 7");
}

#[test]
fn events_come_with_polls_in_order() {
    let mut pd = Pd::new(PdConfig::new(PdProfile::GATE_IO, 1));
    pd.push(PdEvent::Input { n: 1, on: true });
    pd.push(PdEvent::Card { data: vec![0xAB, 0xCD], bits: 16 });
    pd.push(PdEvent::Input { n: 1, on: true }); // no change: no event
    let replies: Vec<Reply> = (0..3u8)
        .map(|i| reply_of(&exchange(&mut pd, &OsdpFrame::command(1, i, opcode::POLL, vec![])).unwrap().0))
        .collect();
    assert_eq!(replies[0], Reply::IStatR(vec![0, 1, 0, 0, 0, 0]));
    assert!(matches!(&replies[1], Reply::Raw(r) if r.data == [0xAB, 0xCD] && r.bits == 16));
    assert_eq!(replies[2], Reply::Ack);
}

/// A CP side of the handshake, from khil's secure-channel primitives.
fn handshake(pd: &mut Pd, key: &[u8; 16], sqn: u8) -> ScSession {
    let rnd_a = [0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7];
    let mut chlng = OsdpFrame::command(1, sqn, opcode::CHLNG, rnd_a.to_vec());
    chlng.scb = Some(Scb::new(0x11, vec![1]));
    let (ccrypt, _) = exchange(pd, &chlng).unwrap();
    let Reply::CCrypt { rnd_b, cryptogram, .. } = reply_of(&ccrypt) else { panic!("{ccrypt:?}") };
    let keys = SessionKeys::derive(key, &rnd_a);
    assert_eq!(cryptogram, sc::client_cryptogram(&keys, &rnd_a, &rnd_b), "the PD's client cryptogram");
    let server = sc::server_cryptogram(&keys, &rnd_a, &rnd_b);
    let mut scrypt = OsdpFrame::command(1, sqn % 3 + 1, opcode::SCRYPT, server.to_vec());
    scrypt.scb = Some(Scb::new(0x13, vec![1]));
    let (rmac, _) = exchange(pd, &scrypt).unwrap();
    let Reply::RMacI { mac } = reply_of(&rmac) else { panic!("{rmac:?}") };
    assert_eq!(mac, sc::initial_rmac(&keys, &server));
    ScSession::from_handshake(key, &rnd_a, &rnd_b)
}

#[test]
fn secure_channel_commands_and_a_bad_mac() {
    let key = [7u8; 16];
    let mut pd = Pd::new(PdConfig { scbk: Some(key), ..PdConfig::new(PdProfile::GATE_IO, 1) });
    exchange(&mut pd, &OsdpFrame::command(1, 0, opcode::ID, vec![0])).unwrap();
    let plain = exchange(&mut pd, &out(1, 0, 2)).unwrap();
    assert_eq!(reply_of(&plain.0), Reply::nak(NakCode::ScConditions), "a keyed PD wants the secure channel");
    assert!(!pd.outputs()[0]);
    let mut session = handshake(&mut pd, &key, 2);
    assert!(pd.secure());
    // OUT with encrypted data: the PD decrypts, runs it and answers with a MAC the CP verifies.
    let mut f = out(1, 0, 2);
    f.data = session.encrypt_command_data(&f.data);
    f.scb = Some(Scb::new(0x17, vec![]));
    f.seal(|input| session.cp_mac_command(input)).unwrap();
    let (reply, raw) = exchange(&mut pd, &f).unwrap();
    session.cp_verify_reply(frame::mac_input(&raw).unwrap(), &reply.mac.unwrap()).unwrap();
    assert_eq!(reply.code, 0x40, "ACK");
    assert!(pd.outputs()[0], "the entry flap relay is on");
    // A tampered MAC: plain NAK 6 and the session is gone.
    let mut bad = OsdpFrame::command(1, 2, opcode::POLL, vec![]);
    bad.scb = Some(Scb::new(0x15, vec![]));
    bad.seal(|input| {
        let mut m = session.cp_mac_command(input);
        m[0] ^= 1;
        m
    })
    .unwrap();
    let (nak, _) = exchange(&mut pd, &bad).unwrap();
    assert_eq!(reply_of(&nak), Reply::nak(NakCode::ScConditions));
    assert!(nak.scb.is_none(), "sent in plain text");
    assert!(!pd.secure());
}

/// A lost reply: the OUT ran, the CP resends it with the same SQN and gets the cached reply; BUSY runs nothing
/// and the CP's retry with the same SQN does.
#[test]
fn lost_replies_and_busy_keep_the_relay_exact() {
    use khil_sim_osdp::faults::Mishaps;
    let mut pd = Pd::new(PdConfig::new(PdProfile::GATE_IO, 1));
    exchange(&mut pd, &OsdpFrame::command(1, 0, opcode::POLL, vec![])).unwrap();
    let open = out(1, 0, 2).encode(true);
    let Decoded::Frame { frame: f, packet, .. } = frame::decode(&open) else { panic!() };
    let lost = Mishaps { no_reply: true, ..Mishaps::default() };
    assert_eq!(pd.handle_with(&f, &open[packet.clone()], lost), None);
    assert!(pd.outputs()[0]);
    let executed = pd.executed;
    let resent = pd.handle(&f, &open[packet.clone()]).unwrap();
    assert_eq!(pd.executed, executed, "the retransmission is answered from the cache");
    let Decoded::Frame { frame: ack, .. } = frame::decode(&resent) else { panic!() };
    assert_eq!((ack.code, ack.sqn), (0x40, 1));

    let close = out(2, 0, 1).encode(true);
    let Decoded::Frame { frame: f, packet, .. } = frame::decode(&close) else { panic!() };
    let busy = Mishaps { busy: true, ..Mishaps::default() };
    let reply = pd.handle_with(&f, &close[packet.clone()], busy).unwrap();
    let Decoded::Frame { frame: b, .. } = frame::decode(&reply) else { panic!() };
    assert_eq!((b.code, b.sqn), (0x79, 0), "BUSY with SQN 0");
    assert!(pd.outputs()[0], "BUSY executed nothing");
    pd.handle(&f, &close[packet]).unwrap();
    assert!(!pd.outputs()[0], "the retry with the same SQN runs");
}
