//! Property tests: the decoder never panics, frames round-trip in both integrity modes with and without SCB and
//! MAC, a frame behind garbage is found, and command/reply parsing never panics and re-encodes what it parses.

use bytes::BytesMut;
use khil_osdp::frame::{self, MAX_LEN};
use khil_osdp::{Command, Decoded, Integrity, OsdpCodec, OsdpFrame, Reply, Scb, decode};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

fn scb() -> impl Strategy<Value = Option<Scb>> {
    prop_oneof![
        Just(None),
        (0x11u8..=0x18, prop::collection::vec(any::<u8>(), 0..4)).prop_map(|(kind, data)| Some(Scb { kind, data })),
        (any::<u8>(), prop::collection::vec(any::<u8>(), 0..40)).prop_map(|(kind, data)| Some(Scb { kind, data })),
    ]
}

fn osdp_frame() -> impl Strategy<Value = OsdpFrame> {
    (
        0u8..=0x7F,
        any::<bool>(),
        0u8..=3,
        prop_oneof![Just(Integrity::Crc16), Just(Integrity::Checksum)],
        scb(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..300),
        any::<[u8; 4]>(),
    )
        .prop_map(|(address, reply, sqn, integrity, scb, code, data, mac)| {
            let mac = scb.as_ref().is_some_and(Scb::has_mac).then_some(mac);
            OsdpFrame { address, reply, sqn, integrity, scb, code, data, mac }
        })
}

fn command_code() -> impl Strategy<Value = u8> {
    prop_oneof![prop::sample::select(khil_osdp::command::opcode::KNOWN.to_vec()), any::<u8>()]
}

fn reply_code() -> impl Strategy<Value = u8> {
    prop_oneof![prop::sample::select(khil_osdp::reply::opcode::KNOWN.to_vec()), any::<u8>()]
}

/// Data that often has the right shape: arbitrary bytes, or a header whose length field (a byte at `at`, or a
/// u16 at `at`) is fixed up to match what follows.
fn data() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        (
            0usize..12,
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 0..12),
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(at, wide, mut head, tail)| {
                let width = if wide { 2 } else { 1 };
                head.resize(at + width, 0);
                let len = tail.len() as u16;
                if wide {
                    head[at..at + 2].copy_from_slice(&len.to_le_bytes());
                } else {
                    head[at] = len as u8;
                }
                head.extend_from_slice(&tail);
                head
            }),
    ]
}

proptest! {
    /// Base keys written as hex read back the same, in either case; anything but 32 hex digits is refused.
    #[test]
    fn keys_round_trip_through_hex(key in any::<[u8; 16]>(), junk in ".{0,40}") {
        let hex = khil_osdp::sc::key_to_hex(&key);
        prop_assert_eq!(khil_osdp::sc::key_from_hex(&hex), Some(key));
        prop_assert_eq!(khil_osdp::sc::key_from_hex(&hex.to_uppercase()), Some(key));
        let valid = junk.len() == 32 && junk.chars().all(|c| c.is_ascii_hexdigit());
        prop_assert_eq!(khil_osdp::sc::key_from_hex(&junk).is_some(), valid);
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        match decode(&bytes) {
            Decoded::Frame { consumed, packet, .. } => {
                prop_assert!(consumed <= bytes.len());
                prop_assert_eq!(packet.end, consumed);
                let _ = frame::mac_input(&bytes[packet]);
            }
            Decoded::Skipped { count, .. } => prop_assert!(count >= 1 && count <= bytes.len()),
            Decoded::NeedMore => {}
        }
        let mut codec = OsdpCodec::new();
        let mut buf = BytesMut::from(&bytes[..]);
        while let Some(f) = codec.decode(&mut buf).unwrap() {
            let _ = f.mac_input();
        }
        let _ = codec.decode_eof(&mut buf).unwrap();
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn decode_never_panics_on_frame_like_bytes(
        ctrl in any::<u8>(),
        len in 0u16..40,
        rest in prop::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut bytes = vec![0xFF, 0x53, 0x01];
        bytes.extend_from_slice(&len.to_le_bytes());
        bytes.push(ctrl);
        bytes.extend_from_slice(&rest);
        let _ = decode(&bytes);
        let _ = frame::mac_input(&bytes[1..]);
        let _ = frame::packet_mac(&bytes[1..]);
    }

    #[test]
    fn frames_round_trip(f in osdp_frame(), mark in any::<bool>()) {
        let bytes = f.encode(mark);
        prop_assert_eq!(bytes.len(), f.checked_len().unwrap() + usize::from(mark));
        match decode(&bytes) {
            Decoded::Frame { frame, consumed, packet } => {
                prop_assert_eq!(consumed, bytes.len());
                prop_assert_eq!(packet.start, usize::from(mark));
                let raw = &bytes[packet];
                if f.mac.is_some() {
                    let input = f.mac_input().unwrap();
                    prop_assert_eq!(frame::mac_input(raw), Some(&input[..]));
                    prop_assert_eq!(frame::packet_mac(raw), f.mac);
                } else {
                    prop_assert_eq!(frame::mac_input(raw), None);
                }
                prop_assert_eq!(frame.encode(mark), bytes.clone());
                prop_assert_eq!(frame, f);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    #[test]
    fn sealing_matches_the_received_mac_input(f in osdp_frame(), kind in 0x15u8..=0x18) {
        let mut g = OsdpFrame { scb: Some(Scb::new(kind, [])), mac: None, ..f };
        let mut seen = Vec::new();
        g.seal(|bytes| { seen = bytes.to_vec(); [bytes.len() as u8, 1, 2, 3] }).unwrap();
        let bytes = g.encode(false);
        prop_assert_eq!(frame::mac_input(&bytes), Some(&seen[..]));
    }

    #[test]
    fn frame_behind_garbage_is_found(
        garbage in prop::collection::vec(any::<u8>(), 0..100),
        f in osdp_frame(),
    ) {
        let mut bytes = garbage;
        bytes.extend_from_slice(&f.encode(true));
        let mut codec = OsdpCodec::new();
        let mut buf = BytesMut::from(&bytes[..]);
        let mut frames = Vec::new();
        while let Some(d) = codec.decode(&mut buf).unwrap() {
            frames.push(d.frame);
        }
        while let Some(d) = codec.decode_eof(&mut buf).unwrap() {
            frames.push(d.frame);
        }
        // Garbage can hold a frame of its own by chance, or a header whose LEN swallows ours until EOF.
        prop_assert_eq!(frames.last(), Some(&f));
    }

}

proptest! {
    // Cheap cases, and the length-field shapes need many draws to hit every code.
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn command_parse_never_panics_and_round_trips(code in command_code(), data in data()) {
        if let Ok(c) = Command::parse(code, &data) {
            prop_assert_eq!(c.code(), code);
            prop_assert_eq!(c.to_data(), data);
        }
    }

    #[test]
    fn reply_parse_never_panics_and_round_trips(code in reply_code(), data in data()) {
        if let Ok(r) = Reply::parse(code, &data) {
            prop_assert_eq!(r.code(), code);
            prop_assert_eq!(r.to_data(), data);
        }
    }
}

#[test]
fn max_len_is_the_limit() {
    assert_eq!(MAX_LEN, 1440);
}
