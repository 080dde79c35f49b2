//! Frame vectors from the reference and captured traffic, the mark byte, resynchronisation, split frames, and every
//! command and reply through parse/to_data.

use bytes::BytesMut;
use khil_osdp::command::opcode as cmd;
use khil_osdp::frame::{self, MAX_LEN, checksum, crc16, packet_mac};
use khil_osdp::reply::{function, opcode as rep};
use khil_osdp::{
    BioMatch, BioRead, BioReadR, Buzzer, Capability, Command, Decoded, Expected, FileTransfer, FrameError, FtStat,
    Integrity, KeySet, LedControl, LedPermanent, LedTemporary, NakCode, OsdpCodec, OsdpFrame, OutputControl,
    PayloadError, PdId, RawCard, Reply, Scb, Text, decode, mac_input,
};
use tokio_util::codec::{Decoder, Encoder};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect()
}

fn expect_frame(buf: &[u8]) -> (OsdpFrame, usize, std::ops::Range<usize>) {
    match decode(buf) {
        Decoded::Frame { frame, consumed, packet } => (frame, consumed, packet),
        other => panic!("expected a frame in {buf:02X?}, got {other:?}"),
    }
}

#[test]
fn crc_catalog_entry_is_aug_ccitt() {
    assert_eq!(crc16(b"123456789"), 0xE5CC);
}

#[test]
fn crc_vectors() {
    assert_eq!(crc16(&hex("53 00 09 00 04 61 00")).to_le_bytes(), [0xC0, 0x66]);
    assert_eq!(crc16(&hex("53 7F 0D 00 04 6E 00 80 25 00 00")).to_le_bytes(), [0x6E, 0x38]);
}

#[test]
fn checksum_vector() {
    assert_eq!(checksum(&hex("53 00 08 00 00 61 00")), 0x44);
    let bytes = hex("53 00 08 00 00 61 00 44");
    let (f, consumed, _) = expect_frame(&bytes);
    assert_eq!(consumed, 8);
    assert_eq!(f.integrity, Integrity::Checksum);
    assert_eq!((f.code, f.data.as_slice()), (0x61, &[0u8][..]));
    assert_eq!(f.encode(false), bytes);
}

#[test]
fn reference_vectors_encode() {
    assert_eq!(OsdpFrame::command(0, 0, cmd::ID, [0]).encode(false), hex("53 00 09 00 04 61 00 C0 66"));
    let comset = Command::ComSet { address: 0, baud: 9600 };
    assert_eq!(
        OsdpFrame::command(0x7F, 0, comset.code(), comset.to_data()).encode(false),
        hex("53 7F 0D 00 04 6E 00 80 25 00 00 6E 38")
    );
}

#[test]
fn captured_id_to_address_101() {
    let bytes = hex("ff 53 65 09 00 04 61 00 d9 7a");
    let (f, consumed, packet) = expect_frame(&bytes);
    assert_eq!((consumed, packet.clone()), (10, 1..10));
    assert_eq!(f, OsdpFrame::command(101, 0, cmd::ID, [0]));
    assert_eq!(Command::parse(f.code, &f.data), Ok(Command::Id { kind: 0 }));
    assert_eq!(f.encode(true), bytes);
    assert_eq!(mac_input(&bytes[packet]), None);
}

#[test]
fn captured_secure_poll() {
    let bytes = hex("ff 53 65 0e 00 0d 02 15 60 c6 04 96 42 58 fc");
    let (f, consumed, packet) = expect_frame(&bytes);
    assert_eq!(consumed, bytes.len());
    assert_eq!(f.address, 101);
    assert!(!f.reply);
    assert_eq!(f.sqn, 1);
    assert_eq!(f.integrity, Integrity::Crc16);
    assert_eq!(f.scb, Some(Scb::new(0x15, [])));
    assert_eq!(f.code, cmd::POLL);
    assert!(f.data.is_empty());
    assert_eq!(f.mac, Some([0xc6, 0x04, 0x96, 0x42]));
    assert_eq!(f.encode(true), bytes);
    // The MAC covers SOM through the code; a caller gets the same bytes from the raw packet and from the frame.
    let raw = &bytes[packet];
    assert_eq!(mac_input(raw), Some(&hex("53 65 0e 00 0d 02 15 60")[..]));
    assert_eq!(packet_mac(raw), Some([0xc6, 0x04, 0x96, 0x42]));
    assert_eq!(f.mac_input().unwrap(), hex("53 65 0e 00 0d 02 15 60"));
}

#[test]
fn seal_computes_the_mac_over_its_own_bytes() {
    let mut f = OsdpFrame::command(101, 1, cmd::POLL, []);
    f.scb = Some(Scb::new(0x15, []));
    assert!(matches!(f.checked_len(), Err(FrameError::MacMismatch { .. })));
    let mut seen = Vec::new();
    f.seal(|bytes| {
        seen = bytes.to_vec();
        [0xc6, 0x04, 0x96, 0x42]
    })
    .unwrap();
    assert_eq!(seen, hex("53 65 0e 00 0d 02 15 60"));
    assert_eq!(f.encode(true), hex("ff 53 65 0e 00 0d 02 15 60 c6 04 96 42 58 fc"));
    // Sealing needs an SCB that calls for a MAC.
    let mut plain = OsdpFrame::command(1, 1, cmd::POLL, []);
    assert!(plain.seal(|_| [0; 4]).is_err());
    plain.mac = Some([0; 4]);
    assert!(matches!(plain.try_encode(false), Err(FrameError::MacMismatch { .. })));
}

#[test]
fn handshake_scb_has_no_mac() {
    let mut f = OsdpFrame::command(3, 1, cmd::CHLNG, [0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7]);
    f.scb = Some(Scb::new(0x11, [0x00]));
    let bytes = f.encode(true);
    assert_eq!(&bytes[6..9], &[0x03, 0x11, 0x00]);
    let (g, _, packet) = expect_frame(&bytes);
    assert_eq!(g, f);
    assert_eq!(mac_input(&bytes[packet]), None);
}

#[test]
fn reply_bit_and_broadcast() {
    let f = OsdpFrame::reply(0x7F, 2, rep::ACK, []);
    let bytes = f.encode(false);
    assert_eq!(bytes[1], 0xFF);
    let (g, _, _) = expect_frame(&bytes);
    assert_eq!((g.address, g.reply), (0x7F, true));
    assert_eq!(g, f);
}

#[test]
fn encode_rejects_out_of_range_fields() {
    let too_far = OsdpFrame::command(0x80, 0, cmd::POLL, []);
    assert!(matches!(too_far.try_encode(true), Err(FrameError::FieldOutOfRange { field: "address", .. })));
    let bad_sqn = OsdpFrame::command(1, 4, cmd::POLL, []);
    assert!(matches!(bad_sqn.try_encode(true), Err(FrameError::FieldOutOfRange { field: "sqn", .. })));
    let mut big_scb = OsdpFrame::command(1, 1, cmd::POLL, []);
    big_scb.scb = Some(Scb::new(0x11, vec![0; 254]));
    assert!(big_scb.try_encode(true).is_err());
    let long = OsdpFrame::command(1, 1, cmd::MFG, vec![0; usize::from(MAX_LEN)]);
    assert!(matches!(long.try_encode(true), Err(FrameError::TooLong { .. })));
    let longest = OsdpFrame::command(1, 1, cmd::MFG, vec![0; usize::from(MAX_LEN) - 8]);
    assert_eq!(longest.checked_len(), Ok(usize::from(MAX_LEN)));
    let bytes = longest.encode(false);
    assert_eq!(expect_frame(&bytes).0, longest);
}

#[test]
fn mark_is_optional_and_may_repeat() {
    let f = OsdpFrame::command(5, 3, cmd::LSTAT, []);
    let plain = f.encode(false);
    for marks in 0..5 {
        let mut bytes = vec![0xFF; marks];
        bytes.extend_from_slice(&plain);
        let (g, consumed, packet) = expect_frame(&bytes);
        assert_eq!(g, f);
        assert_eq!(consumed, bytes.len());
        assert_eq!(packet, marks..bytes.len());
    }
    assert_eq!(decode(&[0xFF, 0xFF, 0xFF]), Decoded::NeedMore);
    assert_eq!(decode(&[]), Decoded::NeedMore);
}

#[test]
fn resync_after_garbage() {
    let f = OsdpFrame::command(5, 1, cmd::POLL, []);
    let mut bytes = hex("00 12 34");
    bytes.extend_from_slice(&f.encode(true));
    match decode(&bytes) {
        Decoded::Skipped { count, reason } => {
            assert_eq!(count, 3);
            assert_eq!(reason, FrameError::BadStart { offset: 0, found: 0 });
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(expect_frame(&bytes[3..]).0, f);
}

#[test]
fn bad_header_fields_skip_to_the_next_start() {
    // LEN 3: shorter than any frame.
    let mut bytes = hex("53 01 03 00 04 00");
    bytes.extend_from_slice(&OsdpFrame::command(1, 1, cmd::POLL, []).encode(false));
    match decode(&bytes) {
        Decoded::Skipped { count, reason: FrameError::BadLength { offset: 2, min: 8, max: MAX_LEN, found: 3 } } => {
            assert_eq!(count, 6);
        }
        other => panic!("{other:?}"),
    }
    // LEN above the limit.
    let huge = hex("53 01 FF FF 04 60 00 00");
    assert!(matches!(decode(&huge), Decoded::Skipped { reason: FrameError::BadLength { found: 0xFFFF, .. }, .. }));
    // Reserved CTRL bits.
    let ctrl = hex("53 01 08 00 84 60 00 00");
    assert!(matches!(decode(&ctrl), Decoded::Skipped { reason: FrameError::BadControl { found: 0x84, .. }, .. }));
    // SCB length below 2.
    let scb = hex("53 01 0C 00 0C 01 15 60 00 00 00 00");
    assert!(matches!(decode(&scb), Decoded::Skipped { reason: FrameError::BadScbLength { found: 1, .. }, .. }));
    // An SCB too long for LEN.
    let short = hex("53 01 0A 00 0C 05 15 60 00 00");
    assert!(matches!(decode(&short), Decoded::Skipped { reason: FrameError::BadLength { min: 13, .. }, .. }));
}

/// OSDP.Net-derived panels open with a POLL that carries SCB `[02 15]` but no MAC (they add the SCB whenever the PD
/// is set up for the secure channel, the MAC only once a session is up). It is a packet, with a MAC missing: it
/// decodes (so that a PD can answer NAK 6) instead of being dropped as garbage, which left such panels facing a
/// silent PD.
#[test]
fn a_secure_block_without_room_for_a_mac_decodes_without_one() {
    let osdp_net_poll = hex("FF 53 01 0A 00 0C 02 15 60 39 6D");
    let Decoded::Frame { frame, consumed, packet } = decode(&osdp_net_poll) else {
        panic!("not decoded: {:?}", decode(&osdp_net_poll))
    };
    assert_eq!((consumed, packet.clone()), (11, 1..11));
    assert_eq!(
        (frame.address, frame.sqn, frame.code, frame.scb, frame.mac),
        (1, 0, cmd::POLL, Some(Scb::new(0x15, [])), None)
    );
    assert!(frame.data.is_empty());
    assert_eq!(mac_input(&osdp_net_poll[packet]), None, "no MAC to check");
    // The same with a data byte (an ID): still no room for a MAC.
    let mut id = hex("53 01 0B 00 0D 02 15 61 00");
    let crc = frame::crc16(&id);
    id.extend_from_slice(&crc.to_le_bytes());
    let Decoded::Frame { frame, .. } = decode(&id) else { panic!("ID not decoded") };
    assert_eq!((frame.sqn, frame.data.as_slice(), frame.mac), (1, &[0][..], None));
    // Room for a MAC: the last 4 bytes before the check are the MAC.
    let mut poll = OsdpFrame::command(1, 1, cmd::POLL, []);
    poll.scb = Some(Scb::new(0x15, []));
    poll.mac = Some([1, 2, 3, 4]);
    let Decoded::Frame { frame, .. } = decode(&poll.encode(true)) else { panic!("sealed POLL not decoded") };
    assert_eq!(frame.mac, Some([1, 2, 3, 4]));
}

#[test]
fn bad_crc_drops_through_the_som() {
    let good = OsdpFrame::command(1, 1, cmd::POLL, []).encode(true);
    let mut bad = good.clone();
    *bad.last_mut().unwrap() ^= 1;
    match decode(&bad) {
        Decoded::Skipped { count, reason: FrameError::BadCrc { offset, .. } } => {
            assert_eq!(count, 2, "the mark and the SOM");
            assert_eq!(offset, 6);
        }
        other => panic!("{other:?}"),
    }
    let mut bad_sum =
        OsdpFrame { integrity: Integrity::Checksum, ..OsdpFrame::command(1, 1, cmd::POLL, []) }.encode(false);
    *bad_sum.last_mut().unwrap() ^= 1;
    assert!(matches!(decode(&bad_sum), Decoded::Skipped { count: 1, reason: FrameError::BadChecksum { .. } }));
}

#[test]
fn a_frame_hidden_inside_a_bad_one_is_found() {
    // A corrupted LEN swallows the next frame; the CRC mismatch drops one SOM and the codec finds it.
    let inner = OsdpFrame::reply(1, 1, rep::ACK, []).encode(true);
    let mut bytes = hex("53 01 14 00 04 60");
    bytes.extend_from_slice(&inner);
    bytes.extend_from_slice(&[0; 8]);
    let mut codec = OsdpCodec::new();
    let mut buf = BytesMut::from(&bytes[..]);
    let got = codec.decode(&mut buf).unwrap().expect("the inner frame");
    assert_eq!(got.frame, OsdpFrame::reply(1, 1, rep::ACK, []));
    assert!(codec.skipped().events >= 1);
}

#[test]
fn split_at_every_boundary() {
    let mut f = OsdpFrame::command(
        101,
        2,
        cmd::OUT,
        Command::Out(vec![OutputControl { output: 0, control: 5, timer: 30 }]).to_data(),
    );
    f.scb = Some(Scb::new(0x17, []));
    f.mac = Some([1, 2, 3, 4]);
    let bytes = f.encode(true);
    for cut in 0..bytes.len() {
        let mut codec = OsdpCodec::new();
        let mut buf = BytesMut::from(&bytes[..cut]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None, "cut at {cut}");
        buf.extend_from_slice(&bytes[cut..]);
        let got = codec.decode(&mut buf).unwrap().expect("complete");
        assert_eq!(got.frame, f);
        assert_eq!(&got.raw[..], &bytes[1..]);
        assert_eq!(got.mac_input(), Some(&bytes[1..bytes.len() - 6]));
        assert!(buf.is_empty());
        assert_eq!(codec.skipped().events, 0, "cut at {cut}");
    }
}

#[test]
fn codec_counts_garbage_and_collapses_marks() {
    let f1 = OsdpFrame::command(1, 1, cmd::POLL, []);
    let f2 = OsdpFrame::reply(1, 1, rep::ACK, []);
    let mut bytes = hex("01 02 03");
    bytes.extend_from_slice(&f1.encode(false));
    bytes.extend_from_slice(&[0xFF; 10]);
    bytes.extend_from_slice(&f2.encode(true));
    bytes.extend_from_slice(&[0xFF; 3]);
    let mut codec = OsdpCodec::new();
    let mut buf = BytesMut::from(&bytes[..]);
    let a = codec.decode(&mut buf).unwrap().unwrap();
    assert!(!a.marked);
    assert_eq!(a.frame, f1);
    let b = codec.decode(&mut buf).unwrap().unwrap();
    assert!(b.marked);
    assert_eq!(b.frame, f2);
    assert_eq!(codec.decode(&mut buf).unwrap(), None);
    assert_eq!(buf.len(), 1, "marks collapse to one");
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    assert!(buf.is_empty());
    let stats = codec.take_skipped();
    assert_eq!((stats.bytes, stats.events), (3, 1));
}

#[test]
fn codec_eof_reports_truncation() {
    let bytes = OsdpFrame::command(1, 1, cmd::POLL, []).encode(true);
    let mut codec = OsdpCodec::new();
    let mut buf = BytesMut::from(&bytes[..bytes.len() - 1]);
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), None);
    assert!(buf.is_empty());
    assert!(matches!(codec.skipped().last, Some(FrameError::Truncated { expected: 9, found: 8 })));
}

#[test]
fn codec_encodes_with_and_without_mark() {
    let f = OsdpFrame::command(0, 0, cmd::ID, [0]);
    let mut dst = BytesMut::new();
    OsdpCodec::new().encode(&f, &mut dst).unwrap();
    assert_eq!(&dst[..], &hex("FF 53 00 09 00 04 61 00 C0 66")[..]);
    let mut dst = BytesMut::new();
    OsdpCodec::with_format(khil_osdp::codec::OsdpFormat::new().with_mark(false)).encode(f, &mut dst).unwrap();
    assert_eq!(&dst[..], &hex("53 00 09 00 04 61 00 C0 66")[..]);
    let bad = OsdpFrame::command(0x80, 0, cmd::ID, [0]);
    assert!(OsdpCodec::new().encode(bad, &mut dst).is_err());
}

fn led() -> LedControl {
    LedControl {
        reader: 0,
        led: 1,
        temporary: LedTemporary { control: 2, on_time: 5, off_time: 5, on_colour: 1, off_colour: 0, timer: 300 },
        permanent: LedPermanent { control: 1, on_time: 1, off_time: 0, on_colour: 2, off_colour: 0 },
    }
}

fn every_command() -> Vec<Command> {
    vec![
        Command::Poll,
        Command::Id { kind: 0 },
        Command::Cap { kind: 0 },
        Command::LStat,
        Command::IStat,
        Command::OStat,
        Command::RStat,
        Command::Out(vec![
            OutputControl { output: 0, control: 5, timer: 50 },
            OutputControl { output: 1, control: 1, timer: 0 },
        ]),
        Command::Out(vec![]),
        Command::Led(vec![led(), led()]),
        Command::Buz(Buzzer { reader: 0, tone: 2, on_time: 2, off_time: 1, count: 3 }),
        Command::Text(Text { reader: 0, control: 1, temp_time: 0, row: 1, column: 1, text: b"GATE OPEN".to_vec() }),
        Command::ComSet { address: 5, baud: 115_200 },
        Command::BioRead(BioRead { reader: 0, kind: 0, format: 2, quality: 50 }),
        Command::BioMatch(BioMatch { reader: 0, kind: 7, format: 2, quality: 80, template: vec![0xAB; 300] }),
        Command::KeySet(KeySet { key_type: 1, key: (0x30..0x40).collect() }),
        Command::Chlng { rnd_a: [0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7] },
        Command::Scrypt { cryptogram: [0x26; 16] },
        Command::AcuRxSize { size: 1024 },
        Command::FileTransfer(FileTransfer { kind: 1, total: 100_000, offset: 512, fragment: vec![9; 128] }),
        Command::Mfg { oui: [0x0A, 0x00, 0x17], data: vec![1, 2, 3] },
        Command::Abort,
        Command::KeepActive { time_ms: 5000 },
        Command::Unknown { code: 0x63, data: vec![0] },
    ]
}

#[test]
fn every_command_round_trips() {
    let mut codes: Vec<u8> = every_command().iter().map(Command::code).collect();
    codes.sort_unstable();
    codes.dedup();
    for code in cmd::KNOWN {
        assert!(codes.contains(&code), "no example for {code:02X}");
    }
    for c in every_command() {
        let data = c.to_data();
        assert_eq!(Command::parse(c.code(), &data), Ok(c.clone()), "{c:?}");
        // And through a frame.
        let bytes = OsdpFrame::command(1, 1, c.code(), data).encode(true);
        let (f, _, _) = expect_frame(&bytes);
        assert_eq!(Command::parse(f.code, &f.data), Ok(c));
    }
}

#[test]
fn command_layouts() {
    assert_eq!(Command::Out(vec![OutputControl { output: 1, control: 5, timer: 0x0102 }]).to_data(), [1, 5, 2, 1]);
    assert_eq!(Command::Led(vec![led()]).to_data(), [0, 1, 2, 5, 5, 1, 0, 0x2C, 0x01, 1, 1, 0, 2, 0]);
    assert_eq!(Command::ComSet { address: 0, baud: 9600 }.to_data(), [0, 0x80, 0x25, 0, 0]);
    let keyset = Command::KeySet(KeySet { key_type: 1, key: vec![0x42; 16] }).to_data();
    assert_eq!(&keyset[..2], &[1, 16]);
    let ft = Command::FileTransfer(FileTransfer { kind: 1, total: 0x0403_0201, offset: 5, fragment: vec![7; 2] });
    assert_eq!(ft.to_data(), [1, 1, 2, 3, 4, 5, 0, 0, 0, 2, 0, 7, 7]);
}

#[test]
fn command_errors_name_command_expected_and_found() {
    assert_eq!(
        Command::parse(cmd::LED, &[0; 13]),
        Err(PayloadError::WrongLength { name: "LED", code: 0x69, expected: Expected::MultipleOf(14), found: 13 })
    );
    assert_eq!(
        Command::parse(cmd::KEYSET, &[1, 16, 0, 0]),
        Err(PayloadError::WrongLength { name: "KEYSET", code: 0x75, expected: Expected::Exactly(18), found: 4 })
    );
    let e = Command::parse(cmd::CHLNG, &[0; 7]).unwrap_err();
    assert_eq!(e.to_string(), "CHLNG (76) data: expected 8 bytes, found 7 bytes");
    assert!(Command::parse(cmd::POLL, &[0]).is_err());
    let too_long = Command::KeySet(KeySet { key_type: 1, key: vec![0; 256] });
    assert!(matches!(too_long.try_to_data(), Err(PayloadError::TooLong { field: "key", max: 255, .. })));
}

#[test]
fn debug_hides_keys_and_biometrics() {
    let key = Command::KeySet(KeySet { key_type: 1, key: vec![0x5A; 16] });
    let text = format!("{key:?}");
    assert!(text.contains("16 bytes") && !text.contains("90"), "{text}");
    let template = Command::BioMatch(BioMatch { reader: 0, kind: 0, format: 0, quality: 0, template: vec![0x5A; 4] });
    assert!(!format!("{template:?}").contains("90"));
    let sample = Reply::BioReadR(BioReadR { reader: 0, status: 0, kind: 0, quality: 0, data: vec![0x5A; 4] });
    assert!(!format!("{sample:?}").contains("90"));
    let frame = OsdpFrame::command(1, 1, cmd::KEYSET, key.to_data());
    let text = format!("{frame:?}");
    assert!(text.contains("<18 bytes>") && !text.contains("5A"), "{text}");
}

fn every_reply() -> Vec<Reply> {
    vec![
        Reply::Ack,
        Reply::nak(NakCode::BadSequence),
        Reply::Nak { code: NakCode::Other(0x20), detail: vec![1] },
        Reply::PdId(PdId { oui: [0x0A, 0x00, 0x17], model: 1, version: 2, serial: 0x1234_5678, firmware: [3, 1, 7] }),
        Reply::PdCap(vec![
            Capability { function: function::CONTACT_STATUS, compliance: 1, count: 4 },
            Capability { function: function::CHECK_CHARACTER, compliance: 1, count: 0 },
            Capability { function: function::COMMUNICATION_SECURITY, compliance: 1, count: 1 },
        ]),
        Reply::LStatR { tamper: 1, power: 0 },
        Reply::IStatR(vec![0, 1, 0, 0]),
        Reply::OStatR(vec![1, 0]),
        Reply::RStatR(vec![0]),
        Reply::Raw(RawCard { reader: 0, format: 1, bits: 26, data: vec![0x12, 0x34, 0x56, 0xC0] }),
        Reply::Keypad { reader: 0, digits: b"1234#".to_vec() },
        Reply::Com { address: 5, baud: 38_400 },
        Reply::BioReadR(BioReadR { reader: 0, status: 0, kind: 7, quality: 60, data: vec![0xEE; 400] }),
        Reply::BioMatchR { reader: 0, status: 0, score: 97 },
        Reply::CCrypt { cuid: [1; 8], rnd_b: [0xA0; 8], cryptogram: [0xFD; 16] },
        Reply::RMacI { mac: [0xB2; 16] },
        Reply::Busy,
        Reply::FtStat(FtStat { action: 1, delay: 100, status: -2, update_max: 256 }),
        Reply::MfgRep { oui: [0x0A, 0x00, 0x17], data: vec![] },
        Reply::Unknown { code: 0x47, data: vec![1, 2] },
    ]
}

#[test]
fn every_reply_round_trips() {
    let codes: Vec<u8> = every_reply().iter().map(Reply::code).collect();
    for code in rep::KNOWN {
        assert!(codes.contains(&code), "no example for {code:02X}");
    }
    for r in every_reply() {
        let data = r.to_data();
        assert_eq!(Reply::parse(r.code(), &data), Ok(r.clone()), "{r:?}");
        let bytes = OsdpFrame::reply(1, 1, r.code(), data).encode(false);
        let (f, _, _) = expect_frame(&bytes);
        assert!(f.reply);
        assert_eq!(Reply::parse(f.code, &f.data), Ok(r));
    }
}

#[test]
fn reply_layouts() {
    let id = Reply::PdId(PdId { oui: [1, 2, 3], model: 4, version: 5, serial: 0x0908_0706, firmware: [10, 11, 12] });
    assert_eq!(id.to_data(), (1..=12).collect::<Vec<u8>>());
    let ft = Reply::FtStat(FtStat { action: 1, delay: 2, status: -1, update_max: 3 });
    assert_eq!(ft.to_data(), [1, 2, 0, 0xFF, 0xFF, 3, 0]);
    assert_eq!(Reply::Keypad { reader: 1, digits: vec![0x31] }.to_data(), [1, 1, 0x31]);
}

#[test]
fn reply_errors() {
    assert_eq!(
        Reply::parse(rep::CCRYPT, &[0; 31]),
        Err(PayloadError::WrongLength { name: "CCRYPT", code: 0x76, expected: Expected::Exactly(32), found: 31 })
    );
    assert!(Reply::parse(rep::NAK, &[]).is_err());
    assert!(Reply::parse(rep::PDCAP, &[1, 1]).is_err());
    assert!(Reply::parse(rep::BIOREADR, &[0, 0, 0, 0, 5, 0, 1]).is_err());
}

#[test]
fn nak_codes() {
    let listed: Vec<u8> = NakCode::LISTED.iter().map(|c| c.code()).collect();
    assert_eq!(listed, (1..=9).collect::<Vec<u8>>());
    for code in 0..=255u8 {
        let nak = NakCode::from_code(code);
        assert_eq!(nak.code(), code);
        assert_eq!(matches!(nak, NakCode::Other(_)), !(1..=9).contains(&code));
        assert_eq!(Reply::parse(rep::NAK, &[code]), Ok(Reply::nak(nak)));
    }
    assert_eq!(NakCode::from(1), NakCode::BadCheck);
    assert_eq!(NakCode::from(6), NakCode::ScConditions);
    assert_eq!(NakCode::ScUnsupported.to_string(), "05 secure channel not supported");
}

#[test]
fn frame_module_constants() {
    assert!(frame::scb_has_mac(0x15) && frame::scb_has_mac(0x18));
    assert!(!frame::scb_has_mac(0x14) && !frame::scb_has_mac(0x19));
}

#[test]
fn frame_debug_is_readable() {
    let bytes = hex("ff 53 65 0e 00 0d 02 15 60 c6 04 96 42 58 fc");
    let text = format!("{:?}", expect_frame(&bytes).0);
    assert_eq!(
        text,
        "OsdpFrame { address: 65, reply: false, sqn: 1, integrity: Crc16, scb: Some(Scb(15 [])), code: 60, \
         data: <0 bytes>, mac: Some([C6, 04, 96, 42]) }"
    );
}

/// Evidence and errors say what a reply says in words: never a Debug form, never a sample or a card's bits.
#[test]
fn replies_are_described_in_words() {
    let cases = [
        (Reply::Ack, "ACK"),
        (Reply::nak(NakCode::Other(0x41)), "NAK 41 unlisted NAK code"),
        (
            Reply::Nak { code: NakCode::BadSequence, detail: vec![1, 2] },
            "NAK 04 unexpected sequence number, and 2 more bytes",
        ),
        (Reply::IStatR(vec![]), "ISTATR: 0 inputs ()"),
        (Reply::OStatR(vec![1, 0, 0]), "OSTATR: 3 outputs (1 0 0)"),
        (Reply::LStatR { tamper: 1, power: 0 }, "LSTATR: tamper 1, power 0"),
        (
            Reply::BioReadR(BioReadR { reader: 0, status: 0, kind: 1, quality: 80, data: vec![7; 300] }),
            "BIOREADR: reader 0, status 0, type 1, quality 80, 300 data bytes",
        ),
        (
            Reply::Raw(RawCard { reader: 0, format: 1, bits: 26, data: vec![0xAB; 4] }),
            "RAW: reader 0, format 1, 26 bits",
        ),
        (
            Reply::FtStat(FtStat { action: 1, delay: 10, status: -2, update_max: 0 }),
            "FTSTAT: status -2 (unrecognised file), delay 10 ms, update max 0, action 01",
        ),
        (
            Reply::PdCap(vec![Capability { function: 2, compliance: 1, count: 4 }]),
            "PDCAP: 1 functions: 2 x4 (compliance 1)",
        ),
        (Reply::Unknown { code: 0x5F, data: vec![0; 3] }, "reply code 5F (not in the reference), 3 data bytes"),
    ];
    for (reply, words) in cases {
        assert_eq!(reply.describe(), words);
    }
}
