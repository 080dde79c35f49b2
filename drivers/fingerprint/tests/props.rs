//! Property tests: the decoder never panics, frames round-trip, and a frame behind garbage is found.

mod common;

use bytes::BytesMut;
use khil_fingerprint::frame::MAX_PAYLOAD;
use khil_fingerprint::image;
use khil_fingerprint::{Command, Decoded, PacketKind, ZfmCodec, ZfmFrame, decode};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

fn kind() -> impl Strategy<Value = PacketKind> {
    prop::sample::select(PacketKind::ALL.to_vec())
}

fn frame() -> impl Strategy<Value = ZfmFrame> {
    (any::<u32>(), kind(), prop::collection::vec(any::<u8>(), 0..=MAX_PAYLOAD))
        .prop_map(|(address, kind, payload)| ZfmFrame { address, kind, payload })
}

proptest! {
    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        match decode(&bytes) {
            Decoded::Frame { consumed, .. } => prop_assert!(consumed <= bytes.len()),
            Decoded::Skipped { count, .. } => prop_assert!(count >= 1 && count <= bytes.len()),
            Decoded::NeedMore => {}
        }
        let mut codec = ZfmCodec::new();
        let mut buf = BytesMut::from(&bytes[..]);
        while codec.decode(&mut buf).unwrap().is_some() {}
        let _ = codec.decode_eof(&mut buf).unwrap();
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn encode_decode_round_trips(f in frame()) {
        let wire = f.encode();
        prop_assert_eq!(wire.len(), f.encoded_len());
        prop_assert_eq!(decode(&wire), Decoded::Frame { frame: f, consumed: wire.len() });
    }

    #[test]
    fn frame_behind_garbage_is_found(garbage in prop::collection::vec(any::<u8>(), 0..300), f in frame()) {
        let mut wire = garbage;
        wire.extend_from_slice(&f.encode());
        let mut codec = ZfmCodec::new();
        let mut buf = BytesMut::from(&wire[..]);
        let mut frames = Vec::new();
        while let Some(got) = codec.decode(&mut buf).unwrap() {
            frames.push(got);
        }
        if let Some(got) = codec.decode_eof(&mut buf).unwrap() {
            frames.push(got);
        }
        // Garbage may itself contain a valid frame (vanishingly rare); ours must be the last one found.
        prop_assert_eq!(frames.last(), Some(&f));
    }

    #[test]
    fn commands_round_trip(code in any::<u8>(), params in prop::collection::vec(any::<u8>(), 0..40)) {
        let mut payload = vec![code];
        payload.extend_from_slice(&params);
        if let Ok(c) = Command::from_payload(&payload) {
            prop_assert_eq!(c.to_payload(), payload);
        }
    }

    #[test]
    fn image_round_trips_on_nibble_aligned_pixels(levels in prop::collection::vec(0u8..16, 0..1000)) {
        let pixels: Vec<u8> = levels.iter().map(|&n| image::expand(n)).collect();
        let packed = image::pack(&pixels);
        prop_assert_eq!(packed.len(), pixels.len().div_ceil(2));
        let back = image::unpack(&packed);
        prop_assert_eq!(&back[..pixels.len()], &pixels[..]);
    }

    #[test]
    fn packed_bytes_survive_unpack_pack(packed in prop::collection::vec(any::<u8>(), 0..500)) {
        prop_assert_eq!(image::pack(&image::unpack(&packed)), packed);
    }

    #[test]
    fn split_join_round_trips(data in prop::collection::vec(any::<u8>(), 0..2000), size in prop::sample::select(vec![32usize, 64, 128, 256])) {
        let frames = image::split(&data, size);
        prop_assert!(frames.iter().all(|f| f.payload.len() <= size));
        prop_assert_eq!(image::join(&frames).unwrap(), data);
    }
}

#[test]
fn every_sample_reply_round_trips_through_the_wire() {
    for (op, reply) in common::every_reply() {
        let wire = ZfmFrame::new(PacketKind::Ack, reply.to_payload()).encode();
        let Decoded::Frame { frame, .. } = decode(&wire) else { panic!("{reply:?}") };
        assert_eq!(khil_fingerprint::Reply::parse(op, &frame.payload).unwrap(), reply);
    }
}
