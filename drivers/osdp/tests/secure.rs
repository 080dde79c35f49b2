//! `khil_osdp::secure` (sealing, opening, the handshake steps) and `khil_osdp::transfer` (the FILETRANSFER
//! sender): the Annex E vectors through the CP's and the PD's steps, both directions of a session agreeing on
//! the wire bytes they exchange, every way a packet fails to open, and the sender's fragments, offsets and FTSTAT
//! handling.

use khil_osdp::codec::DecodedFrame;
use khil_osdp::command::{Command, OutputControl};
use khil_osdp::frame::{Decoded, OsdpFrame, decode, scs};
use khil_osdp::reply::{FtStat, Reply, ft_status};
use khil_osdp::sc::{self, ScSession};
use khil_osdp::secure::{CpHandshake, HandshakeError, KeyType, OpenError, PdHandshake, RMAC_I_ACCEPTED};
use khil_osdp::transfer::{FileSender, FileStep, MAX_FILE_FRAGMENT};

const RND_A: [u8; 8] = [0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7];
const RND_B: [u8; 8] = [0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7];
const KEY: [u8; 16] = [0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F];

fn hex16(s: &str) -> [u8; 16] {
    let v: Vec<u8> = (0..32).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect();
    v.try_into().unwrap()
}

/// The bytes on the wire, decoded again as the receiving side sees them.
fn wire(frame: &OsdpFrame) -> DecodedFrame {
    let bytes = frame.encode(true);
    let Decoded::Frame { frame, packet, .. } = decode(&bytes) else { panic!("does not decode: {bytes:02X?}") };
    DecodedFrame { frame, raw: bytes[packet].to_vec().into(), marked: true }
}

/// Both sides of a session set up with the CP's and the PD's handshake steps.
fn sessions(cp_key: [u8; 16], pd_key: [u8; 16]) -> Result<(ScSession, ScSession), HandshakeError> {
    let mut cp = CpHandshake::new(KeyType::Own, cp_key, RND_A);
    let (chlng, scb) = cp.challenge();
    assert_eq!(chlng, Command::Chlng { rnd_a: RND_A });
    assert_eq!((scb.kind, scb.data.as_slice()), (scs::CHLNG, &[1][..]));
    let pd = PdHandshake::new(KeyType::Own, &pd_key, RND_A, RND_B);
    let (Reply::CCrypt { rnd_b, cryptogram, .. }, scb) = pd.ccrypt([0; 8]) else { panic!("not CCRYPT") };
    assert_eq!((scb.kind, scb.data.as_slice()), (scs::CCRYPT, &[1][..]));
    let (scrypt, scb) = cp.on_ccrypt(rnd_b, &cryptogram)?;
    assert_eq!(scb.kind, scs::SCRYPT);
    let Command::Scrypt { cryptogram } = scrypt else { panic!("not SCRYPT") };
    let (pd_session, rmac_i, scb) = pd.on_scrypt(&cryptogram)?;
    assert_eq!((scb.kind, scb.data.as_slice()), (scs::RMAC_I, &[RMAC_I_ACCEPTED][..]));
    let Reply::RMacI { mac } = rmac_i else { panic!("not RMAC_I") };
    Ok((cp.on_rmac_i(&mac, Some(RMAC_I_ACCEPTED))?, pd_session))
}

#[test]
fn the_handshake_steps_reproduce_annex_e() {
    let mut cp = CpHandshake::new(KeyType::Default, sc::SCBK_D, RND_A);
    let pd = PdHandshake::new(KeyType::Default, &sc::SCBK_D, RND_A, RND_B);
    let (Reply::CCrypt { rnd_b, cryptogram, .. }, scb) = pd.ccrypt([0; 8]) else { panic!("not CCRYPT") };
    assert_eq!(scb.data, vec![0], "key type 0: SCBK-D");
    assert_eq!(cryptogram, hex16("fde5d2f428ec16312471ea3c02bd7796"), "client cryptogram");
    let (Command::Scrypt { cryptogram: server }, _) = cp.on_ccrypt(rnd_b, &cryptogram).unwrap() else { panic!() };
    assert_eq!(server, hex16("26d3356e07762d262801fc8e6665a891"), "server cryptogram");
    let (_, Reply::RMacI { mac }, _) = pd.on_scrypt(&server).unwrap() else { panic!() };
    assert_eq!(mac, hex16("b2a30057eb98ba2229ec1f875662b524"), "RMAC_I");
    assert_eq!(cp.expected_rmac_i(), Some(mac));
    cp.on_rmac_i(&mac, Some(0xFF)).expect("0xFF is an accepted status too");
}

#[test]
fn a_wrong_key_stops_the_handshake_on_both_sides() {
    let other = [0x77; 16];
    assert_eq!(sessions(other, KEY).err(), Some(HandshakeError::ClientCryptogram));
    // A CP that sends SCRYPT anyway (its cryptogram computed with its own key) is refused by the PD.
    let pd = PdHandshake::new(KeyType::Own, &KEY, RND_A, RND_B);
    let keys = sc::SessionKeys::derive(&other, &RND_A);
    let server = sc::server_cryptogram(&keys, &RND_A, &RND_B);
    assert_eq!(pd.on_scrypt(&server).err(), Some(HandshakeError::ServerCryptogram));
    assert_eq!(pd.on_scrypt(&[0; 3]).err(), Some(HandshakeError::ServerCryptogram), "short data");
    // RMAC_I: a refused status, a wrong MAC, an RMAC_I before CCRYPT.
    let mut cp = CpHandshake::new(KeyType::Own, KEY, RND_A);
    let (Reply::CCrypt { rnd_b, cryptogram, .. }, _) = pd.ccrypt([0; 8]) else { panic!() };
    cp.on_ccrypt(rnd_b, &cryptogram).unwrap();
    let good = cp.expected_rmac_i().unwrap();
    assert_eq!(cp.clone().on_rmac_i(&good, Some(0x00)).err(), Some(HandshakeError::RmacStatus));
    assert_eq!(cp.clone().on_rmac_i(&good, None).err(), Some(HandshakeError::RmacStatus));
    let mut bad = good;
    bad[15] ^= 1;
    assert_eq!(cp.clone().on_rmac_i(&bad, Some(1)).err(), Some(HandshakeError::RmacI));
    let early = CpHandshake::new(KeyType::Own, KEY, RND_A);
    assert_eq!(early.on_rmac_i(&good, Some(1)).err(), Some(HandshakeError::RmacI));
    // The words name the failure and the key's type, never the key.
    assert!(HandshakeError::ClientCryptogram.to_string().contains("different key"));
    assert!(!format!("{cp:?}{pd:?}").contains("64, 65"), "Debug prints no key bytes");
    assert_eq!((KeyType::Own.name(), KeyType::Default.name()), ("SCBK", "SCBK-D"));
    assert_eq!(
        (KeyType::from_byte(0), KeyType::from_byte(1), KeyType::from_byte(2)),
        (Some(KeyType::Default), Some(KeyType::Own), None)
    );
}

#[test]
fn sealed_commands_and_replies_open_on_the_other_side() {
    let (mut cp, mut pd) = sessions(KEY, KEY).unwrap();
    for (command, encrypt) in [
        (Command::Poll, false),
        (Command::Out(vec![OutputControl { output: 0, control: 2, timer: 0 }]), true),
        (Command::IStat, false),
        (Command::Id { kind: 0 }, true),
    ] {
        let mut f = OsdpFrame::command(1, 1, command.code(), command.to_data());
        cp.seal_command(&mut f).unwrap();
        let expected_scb = if encrypt { scs::CMD_ENC } else { scs::CMD_MAC };
        assert_eq!(f.scb.as_ref().map(|s| s.kind), Some(expected_scb), "{command:?}");
        if encrypt {
            assert!(f.data != command.to_data() && f.data.len().is_multiple_of(16), "{command:?} encrypted");
        } else {
            assert_eq!(f.data, command.to_data(), "{command:?} in clear");
        }
        let got = wire(&f);
        assert_eq!(pd.open_command(&got.frame, &got.raw).unwrap(), command.to_data(), "{command:?}");

        let reply = Reply::IStatR(vec![1, 0, 1]);
        let mut r = OsdpFrame::reply(1, 1, reply.code(), reply.to_data());
        pd.seal_reply(&mut r, encrypt).unwrap();
        let expected_scb = if encrypt { scs::REPLY_ENC } else { scs::REPLY_MAC };
        assert_eq!(r.scb.as_ref().map(|s| s.kind), Some(expected_scb));
        let got = wire(&r);
        assert_eq!(cp.open_reply(&got.frame, &got.raw).unwrap(), reply.to_data());
    }
}

#[test]
fn packets_that_do_not_open_name_why_and_leave_the_chain_as_it_was() {
    let (mut cp, mut pd) = sessions(KEY, KEY).unwrap();
    // Plain: not secured.
    let plain = wire(&OsdpFrame::command(1, 1, 0x60, []));
    let e = pd.open_command(&plain.frame, &plain.raw).unwrap_err();
    assert!(matches!(&e, OpenError::NotSecured { found, .. } if found == "none"), "{e}");
    // A reply's SCB on a command.
    let mut r = OsdpFrame::command(1, 1, 0x60, []);
    r.scb = Some(khil_osdp::Scb::new(scs::REPLY_MAC, []));
    r.mac = Some([0; 4]);
    let as_command = wire(&r);
    assert!(matches!(pd.open_command(&as_command.frame, &as_command.raw), Err(OpenError::NotSecured { .. })));
    // A wrong MAC: refused, and the chain is unchanged (the right packet still opens).
    let mut f = OsdpFrame::command(1, 1, 0x60, []);
    cp.seal_command(&mut f).unwrap();
    let mut tampered = f.clone();
    tampered.mac.as_mut().unwrap()[0] ^= 1;
    let t = wire(&tampered);
    assert_eq!(pd.open_command(&t.frame, &t.raw), Err(OpenError::WrongMac));
    let good = wire(&f);
    assert_eq!(pd.open_command(&good.frame, &good.raw), Ok(vec![]));
    // Encrypted data that is not a multiple of 16 bytes: MAC'd correctly, does not decrypt.
    let (mut cp, mut pd) = sessions(KEY, KEY).unwrap();
    let mut f = OsdpFrame::command(1, 1, 0x68, vec![0; 5]);
    f.scb = Some(khil_osdp::Scb::new(scs::CMD_ENC, []));
    f.seal(|input| cp.cp_mac_command(input)).unwrap();
    let got = wire(&f);
    assert!(matches!(
        pd.open_command(&got.frame, &got.raw),
        Err(OpenError::Decrypt(sc::ScError::BadLength { len: 5 }))
    ));
    // SCS_17 with no data at all (some CPs send it): taken as no data.
    let (mut cp, mut pd) = sessions(KEY, KEY).unwrap();
    let mut f = OsdpFrame::command(1, 1, 0x60, []);
    f.scb = Some(khil_osdp::Scb::new(scs::CMD_ENC, []));
    f.seal(|input| cp.cp_mac_command(input)).unwrap();
    let got = wire(&f);
    assert_eq!(pd.open_command(&got.frame, &got.raw), Ok(vec![]));
    // A reply sealed before any command: no chain to seal it from.
    let (_, mut fresh) = sessions(KEY, KEY).unwrap();
    let mut r = OsdpFrame::reply(1, 1, 0x40, []);
    assert!(fresh.seal_reply(&mut r, false).is_err());
}

fn ftstat(status: i16, delay: u16, update_max: u16) -> FtStat {
    FtStat { action: 0, delay, status, update_max }
}

#[test]
fn the_file_sender_walks_the_file_as_the_pd_asks() {
    let file: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let mut s = FileSender::new(7, &file, 400).unwrap();
    let f = s.fragment();
    assert_eq!((f.kind, f.total, f.offset, f.fragment.len()), (7, 1000, 0, 400));
    // The PD asks for 300-byte fragments and a 20 ms delay.
    assert_eq!(
        s.on_ftstat(&ftstat(ft_status::OK, 20, 300)),
        FileStep::Send { delay: std::time::Duration::from_millis(20) }
    );
    let f = s.fragment();
    assert_eq!((f.offset, f.fragment.as_slice()), (400, &file[400..700]));
    assert_eq!(s.on_ftstat(&ftstat(ft_status::OK, 0, 0)), FileStep::Send { delay: std::time::Duration::ZERO });
    let f = s.fragment();
    assert_eq!((f.offset, f.fragment.as_slice()), (700, &file[700..1000]));
    assert!(!s.finishing());
    // Finishing: idle fragments at the end until the status changes.
    assert!(matches!(s.on_ftstat(&ftstat(ft_status::FINISHING, 0, 0)), FileStep::Send { .. }));
    assert!(s.finishing());
    let f = s.fragment();
    assert_eq!((f.offset, f.fragment.len()), (1000, 0));
    assert!(matches!(s.on_ftstat(&ftstat(ft_status::FINISHING, 0, 0)), FileStep::Send { .. }));
    assert_eq!(s.on_ftstat(&ftstat(ft_status::PROCESSED, 0, 0)), FileStep::Done(ftstat(1, 0, 0)));
}

#[test]
fn the_file_sender_stops_on_refusals_and_endless_finishing() {
    let file = vec![0x5A; 10];
    let mut s = FileSender::new(1, &file, 4).unwrap();
    assert_eq!(s.on_ftstat(&ftstat(ft_status::ABORT, 0, 0)), FileStep::Refused(ftstat(-1, 0, 0)));
    let mut s = FileSender::new(1, &file, 100).unwrap().max_idle(2);
    let finishing = ftstat(ft_status::FINISHING, 0, 0);
    assert!(matches!(s.on_ftstat(&finishing), FileStep::Send { .. }), "idle 1");
    assert!(matches!(s.on_ftstat(&finishing), FileStep::Send { .. }), "idle 2");
    assert_eq!(s.on_ftstat(&finishing), FileStep::StillFinishing(finishing));
    // From an offset; a fragment size clamped to what one packet holds; update_max never below 1 byte.
    let s = FileSender::new(1, &file, 4).unwrap().from_offset(8);
    assert_eq!((s.fragment().offset, s.fragment().fragment.len()), (8, 2));
    let big = vec![0; 5000];
    assert_eq!(FileSender::new(1, &big, 9999).unwrap().fragment().fragment.len(), MAX_FILE_FRAGMENT);
    assert_eq!(FileSender::new(1, &big, 0).unwrap().fragment().fragment.len(), 1);
    assert_eq!(ft_status::describe(ft_status::UNRECOGNISED), "unrecognised file");
}
