//! Reference vectors, round trips, resynchronisation and fragments.

mod common;

use bytes::BytesMut;
use common::{every_command, every_reply, hex};
use khil_fingerprint::command::opcode;
use khil_fingerprint::image::{self, TransferError};
use khil_fingerprint::{
    Command, ConfirmationCode, Decoded, FrameError, PacketKind, PayloadError, Reply, ZfmCodec, ZfmFrame, decode,
};
use tokio_util::codec::{Decoder, Encoder};

fn decode_all(codec: &mut ZfmCodec, bytes: &[u8]) -> Vec<ZfmFrame> {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(f) = codec.decode(&mut buf).unwrap() {
        out.push(f);
    }
    if let Some(f) = codec.decode_eof(&mut buf).unwrap() {
        out.push(f);
    }
    out
}

#[test]
fn vfy_pwd_reference_vector() {
    let wire = hex("EF01 FFFFFFFF 01 0007 13 00000000 001B");
    let frame = ZfmFrame::new(PacketKind::Command, Command::VfyPwd(0).to_payload());
    assert_eq!(frame.encode(), wire);
    let Decoded::Frame { frame: back, consumed } = decode(&wire) else { panic!("not decoded") };
    assert_eq!(consumed, wire.len());
    assert_eq!(back, frame);
    assert_eq!(Command::from_payload(&back.payload).unwrap(), Command::VfyPwd(0));
}

#[test]
fn ok_ack_reference_vector() {
    let wire = hex("EF01 FFFFFFFF 07 0003 00 000A");
    let reply = Reply::parse(opcode::VFY_PWD, &[0]).unwrap();
    assert_eq!(reply, Reply::Status(ConfirmationCode::Ok));
    assert_eq!(ZfmFrame::new(PacketKind::Ack, reply.to_payload()).encode(), wire);
    let Decoded::Frame { frame, .. } = decode(&wire) else { panic!("not decoded") };
    assert_eq!(frame.kind, PacketKind::Ack);
    assert_eq!(frame.payload, vec![0]);
}

#[test]
fn every_command_round_trips() {
    let commands = every_command();
    let known: std::collections::HashSet<u8> =
        commands.iter().filter(|c| !matches!(c, Command::Unknown { .. })).map(Command::opcode).collect();
    assert_eq!(known.len(), opcode::KNOWN.len(), "a sample for every instruction in the table");
    for c in commands {
        let payload = c.to_payload();
        assert_eq!(payload[0], c.opcode());
        if let Some(n) = Command::param_len(c.opcode()) {
            assert_eq!(payload.len(), 1 + n, "{c:?}");
        }
        assert_eq!(Command::from_payload(&payload).unwrap(), c);
        let frame = ZfmFrame::new(PacketKind::Command, payload);
        let Decoded::Frame { frame: back, .. } = decode(&frame.encode()) else { panic!("{c:?}") };
        assert_eq!(Command::from_payload(&back.payload).unwrap(), c);
    }
}

#[test]
fn command_parameter_vectors() {
    assert_eq!(Command::Search { buffer: 1, start: 0, count: 1000 }.to_payload(), hex("04 01 0000 03E8"));
    assert_eq!(Command::LoadChar { buffer: 1, page: 5 }.to_payload(), hex("07 01 0005"));
    assert_eq!(Command::DeleteChar { page: 0x102, count: 1 }.to_payload(), hex("0C 0102 0001"));
    assert_eq!(Command::SetAddr(0x0102_0304).to_payload(), hex("15 01020304"));
    assert_eq!(Command::AuraLedConfig { ctrl: 2, speed: 3, colour: 4, count: 5 }.to_payload(), hex("35 02030405"));
}

#[test]
fn wrong_parameter_length_names_instruction_and_length() {
    let err = Command::from_payload(&hex("07 01 00")).unwrap_err();
    assert_eq!(
        err,
        PayloadError::WrongLength { instruction: "LoadChar", opcode: 7, what: "parameters", expected: 3, found: 2 }
    );
    let text = err.to_string();
    assert!(text.contains("LoadChar") && text.contains("expected 3") && text.contains("found 2"), "{text}");
    assert!(matches!(Command::from_payload(&hex("01 00")), Err(PayloadError::WrongLength { expected: 0, .. })));
    assert!(matches!(Command::from_payload(&[]), Err(PayloadError::Empty { .. })));
}

#[test]
fn every_reply_round_trips() {
    for (op, reply) in every_reply() {
        let payload = reply.to_payload();
        assert_eq!(Reply::parse(op, &payload).unwrap(), reply, "opcode {op:02X}");
        if let Some(len) = Reply::payload_len(op) {
            assert_eq!(payload.len(), len, "{reply:?}");
        }
    }
}

#[test]
fn error_acks_keep_the_full_length() {
    // adafruit reads fixed frame lengths: 12 plain, 14 for 1D/03, 16 for 04/1B, 28 for 0F, 44 for 1F.
    let cases = [
        (opcode::GEN_IMG, 12),
        (opcode::TEMPLATE_NUM, 14),
        (opcode::MATCH, 14),
        (opcode::SEARCH, 16),
        (opcode::HI_SPEED_SEARCH, 16),
        (opcode::READ_SYS_PARA, 28),
        (opcode::READ_INDEX_TABLE, 44),
        (opcode::READ_PROD_INFO, 58),
    ];
    for (op, wire_len) in cases {
        let reply = Reply::error(op, ConfirmationCode::PacketReceiveError);
        assert_eq!(reply.cc(), ConfirmationCode::PacketReceiveError);
        let payload = reply.to_payload();
        assert_eq!(payload[0], 1);
        assert!(payload[1..].iter().all(|&b| b == 0));
        assert_eq!(ZfmFrame::new(PacketKind::Ack, payload.clone()).encode().len(), wire_len, "opcode {op:02X}");
        assert_eq!(Reply::parse(op, &payload).unwrap(), reply);
    }
    // A short error ack from a real module is accepted and round-trips as Status.
    let short = Reply::parse(opcode::READ_SYS_PARA, &[0x01]).unwrap();
    assert_eq!(short, Reply::Status(ConfirmationCode::PacketReceiveError));
    assert_eq!(short.to_payload(), vec![0x01]);
    // ...but a short OK is an error.
    let err = Reply::parse(opcode::READ_SYS_PARA, &[0x00]).unwrap_err();
    assert!(matches!(err, PayloadError::WrongLength { instruction: "ReadSysPara", expected: 17, found: 1, .. }));
}

#[test]
fn system_parameters_and_index_table() {
    let payload = hex("00 0004 0009 00C8 0003 FFFFFFFF 0002 0006");
    let Reply::SystemParameters { cc, params } = Reply::parse(opcode::READ_SYS_PARA, &payload).unwrap() else {
        panic!()
    };
    assert!(cc.is_ok());
    assert_eq!(params, common::sample_params());
    assert!(params.password_verified() && !params.busy());
    assert_eq!(params.packet_size.bytes(), Some(128));

    let mut bitmap = [0u8; 32];
    bitmap[0] = 0b1000_0001;
    bitmap[31] = 0x80;
    let mut payload = vec![0];
    payload.extend_from_slice(&bitmap);
    let Reply::IndexTable { bitmap, .. } = Reply::parse(opcode::READ_INDEX_TABLE, &payload).unwrap() else { panic!() };
    assert_eq!(bitmap.slots(0), vec![0, 7, 255]);
    assert_eq!(bitmap.slots(2), vec![512, 519, 767]);
}

#[test]
fn confirmation_codes_are_complete_and_described() {
    let listed: Vec<u8> = ConfirmationCode::LISTED.iter().map(|c| c.code()).collect();
    let reference =
        hex("00 01 02 03 06 07 08 09 0A 0B 0C 0D 0E 0F 10 11 13 15 18 19 1A 1B 1C 1D 1F 20 21 22 24 26 27 29 FC FD FE");
    assert_eq!(listed, reference);
    for code in 0..=255u8 {
        let cc = ConfirmationCode::from_code(code);
        assert_eq!(cc.code(), code);
        assert_eq!(matches!(cc, ConfirmationCode::Other(_)), !reference.contains(&code));
    }
    assert_eq!(ConfirmationCode::WrongPassword.to_string(), "13 wrong password");
    assert_eq!(ConfirmationCode::Other(0x77).to_string(), "77 unlisted confirmation code");
}

#[test]
fn decoder_reports_each_kind_of_garbage() {
    let good = ZfmFrame::new(PacketKind::Ack, vec![0]).encode();

    let Decoded::Skipped { count, reason } = decode(&[0x00, 0x11, 0xEF, 0x01, 0xFF]) else { panic!() };
    assert_eq!((count, reason), (2, FrameError::BadHeader { offset: 0, found: vec![0x00] }));

    let Decoded::Skipped { count, reason } = decode(&hex("EF 02 EF")) else { panic!() };
    assert_eq!((count, reason), (2, FrameError::BadHeader { offset: 0, found: vec![0xEF, 0x02] }));

    let mut bad_pid = good.clone();
    bad_pid[6] = 0x05;
    let Decoded::Skipped { count, reason } = decode(&bad_pid) else { panic!() };
    assert_eq!((count, reason), (bad_pid.len(), FrameError::BadPid { offset: 6, found: 5 }));

    for len in [0u16, 1, 259, 0xFFFF] {
        let mut bad_len = good.clone();
        bad_len[7..9].copy_from_slice(&len.to_be_bytes());
        let Decoded::Skipped { reason, .. } = decode(&bad_len) else { panic!() };
        assert_eq!(reason, FrameError::BadLength { offset: 7, found: len });
    }

    let mut bad_sum = good.clone();
    bad_sum[11] ^= 1;
    let Decoded::Skipped { count, reason } = decode(&bad_sum) else { panic!() };
    assert_eq!((count, &reason), (1, &FrameError::BadChecksum { offset: 10, expected: 0x000A, found: 0x000B }));
    assert!(reason.to_string().contains("expected 000A") && reason.to_string().contains("found 000B"));

    assert_eq!(decode(&good[..good.len() - 1]), Decoded::NeedMore);
    assert_eq!(decode(&[0xEF]), Decoded::NeedMore);
    assert_eq!(decode(&[]), Decoded::NeedMore);
}

#[test]
fn codec_resyncs_after_garbage_and_after_a_corrupted_checksum() {
    let a = ZfmFrame::new(PacketKind::Command, Command::GenImg.to_payload());
    let b = ZfmFrame::new(PacketKind::Ack, Reply::Match { cc: ConfirmationCode::Ok, score: 77 }.to_payload());
    let mut corrupted = a.encode();
    let last = corrupted.len() - 1;
    corrupted[last] ^= 0xFF;

    let mut wire = vec![0x55, 0x00, 0xEF, 0xEF, 0x13];
    wire.extend_from_slice(&a.encode());
    wire.extend_from_slice(&corrupted);
    wire.extend_from_slice(&[0xEF, 0x01, 0xFF]);
    wire.extend_from_slice(&b.encode());

    let mut codec = ZfmCodec::new();
    assert_eq!(decode_all(&mut codec, &wire), vec![a.clone(), b.clone()]);
    assert_eq!(codec.skipped().bytes, (5 + corrupted.len() + 3) as u64);
    assert!(codec.skipped().events >= 3);

    let stats = codec.take_skipped();
    assert!(stats.last.is_some());
    assert_eq!(codec.skipped().bytes, 0);
}

#[test]
fn a_frame_in_one_byte_fragments_decodes() {
    let frame = ZfmFrame::new(PacketKind::Command, Command::Search { buffer: 1, start: 0, count: 200 }.to_payload());
    let wire = frame.encode();
    let mut codec = ZfmCodec::new();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for (i, &byte) in wire.iter().chain(wire.iter()).enumerate() {
        buf.extend_from_slice(&[byte]);
        if let Some(f) = codec.decode(&mut buf).unwrap() {
            got.push((i, f));
        }
    }
    assert_eq!(got, vec![(wire.len() - 1, frame.clone()), (2 * wire.len() - 1, frame)]);
    assert_eq!(codec.skipped().bytes, 0);
}

#[test]
fn truncated_frame_at_eof_is_counted_not_an_error() {
    let wire = ZfmFrame::new(PacketKind::Ack, vec![0, 1, 2]).encode();
    let mut codec = ZfmCodec::new();
    assert!(decode_all(&mut codec, &wire[..wire.len() - 2]).is_empty());
    assert_eq!(codec.skipped().bytes, (wire.len() - 2) as u64);
    assert!(matches!(codec.skipped().last, Some(FrameError::Truncated { expected: 14, found: 12 })));
}

#[test]
fn encoder_writes_frames_and_refuses_oversized_payloads() {
    let mut codec = ZfmCodec::new();
    let mut dst = BytesMut::new();
    let ack = ZfmFrame::new(PacketKind::Ack, vec![0]);
    codec.encode(&ack, &mut dst).unwrap();
    codec.encode(ack.clone(), &mut dst).unwrap();
    assert_eq!(&dst[..], [ack.encode(), ack.encode()].concat());
    let big = ZfmFrame::new(PacketKind::Data, vec![0; 257]);
    assert!(codec.encode(&big, &mut BytesMut::new()).is_err());
    assert!(matches!(big.try_encode(), Err(FrameError::PayloadTooLong { found: 257 })));
    assert_eq!(ZfmFrame::new(PacketKind::Data, vec![0; 256]).encode().len(), 267);
}

#[test]
fn image_pack_and_unpack() {
    let pixels: Vec<u8> = (0..256 * 288).map(|i| image::expand((i % 16) as u8)).collect();
    let packed = image::pack(&pixels);
    assert_eq!(packed.len(), 36_864);
    assert_eq!(packed[0], 0x01);
    assert_eq!(image::unpack(&packed), pixels);
    assert_eq!(image::pack(&[0xFF, 0x00, 0x7F]), vec![0xF0, 0x70]);
    assert_eq!(image::unpack(&[0xF0]), vec![0xFF, 0x00]);
}

#[test]
fn data_packet_split_and_join() {
    let data: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
    let frames = image::split(&data, 128);
    let kinds: Vec<_> = frames.iter().map(|f| (f.kind, f.payload.len())).collect();
    assert_eq!(kinds, vec![(PacketKind::Data, 128), (PacketKind::Data, 128), (PacketKind::EndData, 44)]);
    assert_eq!(image::join(&frames).unwrap(), data);
    assert_eq!(image::split(&data[..256], 128).last().unwrap().payload.len(), 128);
    assert_eq!(image::join(&image::split(&[], 32)).unwrap(), Vec::<u8>::new());

    let ack = ZfmFrame::new(PacketKind::Ack, vec![0]);
    assert_eq!(image::join(&frames[..2]), Err(TransferError::NoEnd { found: 2 }));
    assert_eq!(image::join([&frames[0], &ack]), Err(TransferError::NotData { index: 1, found: PacketKind::Ack }));
    assert_eq!(
        image::join([&frames[2], &frames[0]]),
        Err(TransferError::AfterEnd { index: 1, found: PacketKind::Data })
    );
}

#[test]
fn frame_hidden_behind_a_bogus_length_is_found_at_eof() {
    let frame = ZfmFrame::new(PacketKind::Ack, vec![0, 0, 5]);
    let mut wire = hex("EF01 FFFFFFFF 07 0102");
    wire.extend_from_slice(&frame.encode());
    let mut codec = ZfmCodec::new();
    assert_eq!(decode_all(&mut codec, &wire), vec![frame]);
    assert_eq!(codec.skipped().bytes, 9);
    assert!(matches!(codec.skipped().last, Some(FrameError::Truncated { expected: 267, found: 23 })));
}
