//! A panel derived from OSDP.Net opens with a POLL carrying a secure block but no MAC: `FF 53 01 0A 00 0C 02 15 60
//! 39 6D` (address 1, SQN 0, CRC, SCB `[02 15]`). OSDP.Net's `Command.BuildCommand` (until 2021) adds the SCB
//! whenever the PD is set up for the secure channel, the MAC only once a session is up, and its bus sends a POLL
//! with SQN 0 before anything else. khil's PD used to stay silent (the frame decoder took the packet for garbage:
//! SCB 15 calls for a MAC, LEN had no room for one), so the panel never brought it online. The spec's answer to
//! a security block that cannot be honoured is NAK 6 (security conditions not met), in plain text, which is what
//! libosdp 3.2.9's PD sends (`53 E5 09 00 04 41 06 ..` at address 101, `osdp_phy.c`: "Invalid SCS type"); the
//! panel then runs the handshake. These tests send those exact bytes over the simulator's wire.

use std::sync::Arc;
use std::time::Duration;

use khil_link::BoxLink;
use khil_osdp::command::opcode;
use khil_osdp::frame::{Decoded, OsdpFrame, decode};
use khil_osdp::reply::{NakCode, Reply};
use khil_osdp::secure::{CpHandshake, KeyType};
use khil_sim_host::{Line, in_process};
use khil_sim_osdp::{OsdpPd, PdConfig, PdProfile, PdQuirk};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// OSDP.Net's opening POLL to address 1, byte for byte.
const OSDP_NET_POLL: [u8; 11] = [0xFF, 0x53, 0x01, 0x0A, 0x00, 0x0C, 0x02, 0x15, 0x60, 0x39, 0x6D];
/// NAK 6 from address 1, SQN 0, CRC, in plain text (khil sends the mark byte; libosdp does not).
const NAK_6: [u8; 10] = [0xFF, 0x53, 0x81, 0x09, 0x00, 0x04, 0x41, 0x06, 0x60, 0x91];
const KEY: [u8; 16] = [0x21; 16];

/// Writes `bytes` and returns the first packet that comes back within 300 ms (its bytes and frame), if any.
async fn ask(link: &mut BoxLink, bytes: &[u8]) -> Option<(Vec<u8>, OsdpFrame)> {
    link.write_all(bytes).await.unwrap();
    let mut rx = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
    loop {
        if let Decoded::Frame { frame, consumed, .. } = decode(&rx) {
            return Some((rx[..consumed].to_vec(), frame));
        }
        let mut buf = [0u8; 256];
        match tokio::time::timeout_at(deadline, link.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => rx.extend_from_slice(&buf[..n]),
            _ => return None,
        }
    }
}

fn pd(quirks: Vec<PdQuirk>) -> BoxLink {
    let config = PdConfig { scbk: Some(KEY), quirks, ..PdConfig::new(PdProfile::GATE_IO, 1) };
    in_process(Arc::new(OsdpPd::new(config)), &Line::default())
}

#[tokio::test]
async fn osdp_nets_opening_poll_gets_nak_6_and_the_handshake_then_runs() {
    let mut link = pd(Vec::new());
    let (bytes, nak) = ask(&mut link, &OSDP_NET_POLL).await.expect("an answer, not silence");
    assert_eq!(bytes, NAK_6, "NAK 6 in plain text, SQN 0 echoed, CRC as the command had");
    assert_eq!(Reply::parse(nak.code, &nak.data).unwrap(), Reply::nak(NakCode::ScConditions));

    // What OSDP.Net does next: the handshake with SQN 1, 2, then secured POLLs.
    let mut handshake = CpHandshake::new(KeyType::Own, KEY, [7; 8]);
    let (chlng, scb) = handshake.challenge();
    let mut f = OsdpFrame::command(1, 1, chlng.code(), chlng.to_data());
    f.scb = Some(scb);
    let (_, ccrypt) = ask(&mut link, &f.encode(true)).await.expect("CCRYPT");
    let Reply::CCrypt { rnd_b, cryptogram, .. } = Reply::parse(ccrypt.code, &ccrypt.data).unwrap() else {
        panic!("not CCRYPT: {ccrypt:?}")
    };
    let (scrypt, scb) = handshake.on_ccrypt(rnd_b, &cryptogram).unwrap();
    let mut f = OsdpFrame::command(1, 2, scrypt.code(), scrypt.to_data());
    f.scb = Some(scb);
    let (_, rmac_i) = ask(&mut link, &f.encode(true)).await.expect("RMAC_I");
    let Reply::RMacI { mac } = Reply::parse(rmac_i.code, &rmac_i.data).unwrap() else { panic!("{rmac_i:?}") };
    let status = rmac_i.scb.as_ref().and_then(|s| s.data.first().copied());
    let mut session = handshake.on_rmac_i(&mac, status).unwrap();
    let mut poll = OsdpFrame::command(1, 3, opcode::POLL, vec![]);
    session.seal_command(&mut poll).unwrap();
    let (raw, ack) = ask(&mut link, &poll.encode(true)).await.expect("a reply to the secured POLL");
    let Decoded::Frame { packet, .. } = decode(&raw) else { unreachable!() };
    let data = session.open_reply(&ack, &raw[packet]).unwrap();
    assert_eq!(Reply::parse(ack.code, &data).unwrap(), Reply::Ack);
}

#[tokio::test]
async fn inside_a_session_a_secure_block_without_its_mac_ends_the_session_with_nak_6() {
    let mut link = pd(Vec::new());
    let mut handshake = CpHandshake::new(KeyType::Own, KEY, [9; 8]);
    let (chlng, scb) = handshake.challenge();
    let mut f = OsdpFrame::command(1, 0, chlng.code(), chlng.to_data());
    f.scb = Some(scb);
    let (_, ccrypt) = ask(&mut link, &f.encode(true)).await.unwrap();
    let Reply::CCrypt { rnd_b, cryptogram, .. } = Reply::parse(ccrypt.code, &ccrypt.data).unwrap() else { panic!() };
    let (scrypt, scb) = handshake.on_ccrypt(rnd_b, &cryptogram).unwrap();
    let mut f = OsdpFrame::command(1, 1, scrypt.code(), scrypt.to_data());
    f.scb = Some(scb);
    let (_, rmac_i) = ask(&mut link, &f.encode(true)).await.unwrap();
    assert_eq!(rmac_i.code, khil_osdp::reply::opcode::RMAC_I);
    // OSDP.Net's POLL layout with SQN 2 (CTRL 0E): SCB 15, no MAC.
    let mut bytes = vec![0xFF, 0x53, 0x01, 0x0A, 0x00, 0x0E, 0x02, 0x15, 0x60];
    let crc = khil_osdp::frame::crc16(&bytes[1..]);
    bytes.extend_from_slice(&crc.to_le_bytes());
    let (_, nak) = ask(&mut link, &bytes).await.expect("an answer, not silence");
    assert_eq!((nak.scb.as_ref(), nak.sqn), (None, 2), "in plain text, SQN echoed");
    assert_eq!(Reply::parse(nak.code, &nak.data).unwrap(), Reply::nak(NakCode::ScConditions));
}

#[tokio::test]
async fn the_silent_quirk_is_what_khil_did_before() {
    let mut link = pd(vec![PdQuirk::SilentSecureBlock]);
    assert_eq!(ask(&mut link, &OSDP_NET_POLL).await, None, "silence");
    // The quirk silences nothing else: a plain ID is answered.
    let id = OsdpFrame::command(1, 0, opcode::ID, vec![0]).encode(true);
    assert!(ask(&mut link, &id).await.is_some());
}
