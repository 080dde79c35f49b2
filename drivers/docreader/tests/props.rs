//! Property tests of both codecs: no input makes them panic, everything encoded decodes to itself, and frames
//! buried in garbage come out whole (resynchronisation) through `khil-link`'s frame codec.

use bytes::BytesMut;
use khil_docreader::frame::{self, Frame};
use khil_docreader::message::{
    Capture, DeviceInfo, DocumentPresent, ErrorCode, Light, LightSource, Message, VizField, VizFields,
};
use khil_docreader::rte::{self, RteFormat, RteFrame};
use khil_docreader::{KhilCodec, KhilFormat, RteCodec};
use proptest::prelude::*;
use tokio_util::codec::{Decoder, Encoder};

fn rte_format() -> impl Strategy<Value = RteFormat> {
    any::<bool>().prop_map(|with_bcc| RteFormat { with_bcc })
}

fn rte_frame() -> impl Strategy<Value = RteFrame> {
    let line = proptest::collection::vec(0x20u8..=0x7E, 0..=rte::MAX_LINE)
        .prop_map(|b| b.into_iter().map(char::from).collect::<String>());
    (any::<u8>(), line.clone(), line.clone(), line).prop_map(|(flag, a, b, c)| RteFrame { flag, lines: [a, b, c] })
}

fn text() -> impl Strategy<Value = String> {
    // Any Unicode, as VIZ text is (Cyrillic names, ...).
    any::<String>().prop_map(|s| s.chars().take(40).collect())
}

fn light() -> impl Strategy<Value = Light> {
    any::<u8>().prop_map(Light::from_code)
}

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        Just(Message::Hello),
        Just(Message::VizRequest),
        light().prop_map(|light| Message::CaptureRequest { light }),
        (text(), text(), text(), any::<[u16; 3]>(), proptest::collection::vec((light(), any::<u16>()), 0..5)).prop_map(
            |(model, serial, firmware, [dpi, page_width, page_height], lights)| {
                Message::DeviceInfo(DeviceInfo {
                    model,
                    serial,
                    firmware,
                    dpi,
                    page_width,
                    page_height,
                    lights: lights
                        .into_iter()
                        .map(|(light, wavelength_nm)| LightSource { light, wavelength_nm })
                        .collect(),
                })
            }
        ),
        (any::<u32>(), light(), 0u16..40, 0u16..40, any::<u16>(), any::<u64>()).prop_map(
            |(document, light, width, height, dpi, seed)| {
                let pixels = (0..usize::from(width) * usize::from(height))
                    .map(|i| (seed.rotate_left(i as u32 % 64) as u8) ^ i as u8)
                    .collect();
                Message::Capture(Capture { document, light, width, height, dpi, pixels })
            }
        ),
        (any::<u32>(), proptest::collection::vec((text(), text()), 0..6)).prop_map(|(document, fields)| {
            Message::VizFields(VizFields {
                document,
                fields: fields.into_iter().map(|(name, value)| VizField { name, value }).collect(),
            })
        }),
        (any::<u32>(), proptest::collection::vec(text(), 0..=3))
            .prop_map(|(document, mrz)| Message::DocumentPresent(DocumentPresent { document, mrz })),
        any::<u32>().prop_map(|document| Message::DocumentRemoved { document }),
        (any::<u16>(), text()).prop_map(|(code, text)| Message::Error { code: ErrorCode::from_code(code), text }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn rte_decode_never_panics(f in rte_format(), bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = f.decode(&bytes);
        let mut codec = RteCodec::with_format(f);
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
        while let Ok(Some(_)) = codec.decode_eof(&mut buf) {}
    }

    #[test]
    fn rte_decode_never_panics_on_near_blocks(
        f in rte_format(),
        frame in rte_frame(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = f.encode(&frame).unwrap();
        for (at, v) in flips {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        if let rte::Decoded::Skipped { count, .. } = f.decode(&bytes) {
            prop_assert!(count >= 1 && count <= bytes.len());
        }
    }

    #[test]
    fn rte_round_trip(f in rte_format(), frame in rte_frame()) {
        let bytes = f.encode(&frame).unwrap();
        prop_assert_eq!(f.decode(&bytes), rte::Decoded::Frame { frame, consumed: bytes.len() });
    }

    #[test]
    fn rte_resynchronises(
        f in rte_format(),
        frames in proptest::collection::vec(rte_frame(), 1..4),
        garbage in proptest::collection::vec(proptest::collection::vec(any::<u8>().prop_filter("no SOH", |b| *b != rte::SOH), 0..20), 4),
    ) {
        let mut codec = RteCodec::with_format(f);
        let mut buf = BytesMut::new();
        for (frame, junk) in frames.iter().zip(&garbage) {
            buf.extend_from_slice(junk);
            codec.encode(frame, &mut buf).unwrap();
        }
        buf.extend_from_slice(&garbage[3]);
        let mut out = Vec::new();
        while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
            out.push(frame);
        }
        prop_assert_eq!(out, frames);
    }

    #[test]
    fn rte_mrz_lines_survive_the_padding(lines in proptest::collection::vec("[A-Z0-9<]{1,30}", 1..=3)) {
        let frame = RteFrame::from_mrz(b'0', &lines).unwrap();
        prop_assert_eq!(frame.mrz_lines(), lines.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn khil_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = frame::decode(&bytes);
        let mut codec = KhilCodec::with_format(KhilFormat);
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
        while let Ok(Some(_)) = codec.decode_eof(&mut buf) {}
    }

    #[test]
    fn khil_decode_never_panics_on_near_frames(
        m in message(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = m.to_frame(9).unwrap().encode().unwrap();
        for (at, v) in flips {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        match frame::decode(&bytes) {
            frame::Decoded::Skipped { count, .. } => prop_assert!(count >= 1 && count <= bytes.len()),
            frame::Decoded::Frame { frame, .. } => {
                let _ = Message::from_frame(&frame);
            }
            frame::Decoded::NeedMore => {}
        }
        let mut codec = KhilCodec::with_format(KhilFormat);
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = codec.decode_eof(&mut buf) {}
    }

    #[test]
    fn message_parse_never_panics(kind in any::<u8>(), payload in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Message::parse(kind, &payload);
    }

    #[test]
    fn message_round_trip(m in message(), seq in any::<u16>()) {
        let frame = m.to_frame(seq).unwrap();
        let bytes = frame.encode().unwrap();
        let frame::Decoded::Frame { frame: back, consumed } = frame::decode(&bytes) else {
            return Err(TestCaseError::fail("no frame"));
        };
        prop_assert_eq!(consumed, bytes.len());
        prop_assert_eq!(&back, &frame);
        prop_assert_eq!(Message::from_frame(&back).unwrap(), m);
    }

    #[test]
    fn message_truncations_are_errors(m in message(), cut in any::<prop::sample::Index>()) {
        let payload = m.payload().unwrap();
        prop_assume!(!payload.is_empty());
        let short = &payload[..cut.index(payload.len())];
        // A shorter payload is never the same message (a Capture's pixels make their own count wrong).
        prop_assert_ne!(Message::parse(m.kind(), short).ok(), Some(m));
    }

    #[test]
    fn khil_resynchronises(
        messages in proptest::collection::vec(message(), 1..4),
        garbage in proptest::collection::vec(proptest::collection::vec(any::<u8>().prop_filter("no K", |b| *b != b'K'), 0..20), 4),
    ) {
        let mut codec = KhilCodec::with_format(KhilFormat);
        let mut buf = BytesMut::new();
        let frames: Vec<Frame> = messages.iter().enumerate().map(|(i, m)| m.to_frame(i as u16).unwrap()).collect();
        for (frame, junk) in frames.iter().zip(&garbage) {
            buf.extend_from_slice(junk);
            codec.encode(frame, &mut buf).unwrap();
        }
        buf.extend_from_slice(&garbage[3]);
        let mut out = Vec::new();
        while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
            out.push(frame);
        }
        prop_assert_eq!(out, frames);
    }
}
