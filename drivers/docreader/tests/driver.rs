//! Both drivers against hand-written scripted readers over in-memory links: what a reader sends (byte by byte,
//! with garbage and corrupt blocks between), what the driver gives the caller, and what it does with stale
//! answers, errors, unknown messages and silence (tokio's paused clock: timeouts cost no wall time).

use std::time::Duration;

use khil_docreader::frame::{self, Frame};
use khil_docreader::message::{
    Capture, DeviceInfo, DocumentPresent, ErrorCode, Light, LightSource, Message, VizField, VizFields,
};
use khil_docreader::rte::{RteError, RteFormat, RteFrame};
use khil_docreader::{DocReader, DocReaderError, Event, RteReader};
use khil_link::memory_pair;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

const TD3: [&str; 2] = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"];
const SECOND: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn rte_reads_come_out_of_garbage_split_writes_and_corrupt_blocks() {
    let (host, mut reader) = memory_pair();
    let mut rte = RteReader::new(host, RteFormat::default());
    let format = RteFormat::default();
    let good = format.encode(&RteFrame::from_mrz(b'0', &TD3).unwrap()).unwrap();
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x5A;
    let mut stream = b"\r\nnoise".to_vec();
    stream.extend_from_slice(&bad);
    stream.extend_from_slice(&good);
    // The peer task returns its end so that the link stays open until the test ends.
    let _peer = tokio::spawn(async move {
        // A byte at a time, as a UART delivers them.
        for b in stream {
            reader.write_all(&[b]).await.unwrap();
        }
        reader
    });
    let read = rte.next_read(SECOND).await.unwrap().expect("the good block");
    assert_eq!(read.lines, TD3);
    assert_eq!(read.flag, b'0');
    assert!(read.reading().unwrap().all_ok());
    let skipped = rte.take_skipped();
    assert_eq!(skipped.bytes, 7 + 100);
    assert!(matches!(skipped.last, Some(RteError::BadBcc { offset: 99, .. })), "{:?}", skipped.last);
    assert_eq!(rte.next_read(SECOND).await.unwrap(), None, "silence is no read");
    assert!(!format!("{read:?}").contains("ERIKSSON"));
}

fn info() -> DeviceInfo {
    DeviceInfo {
        model: "khil scripted reader".into(),
        serial: "0001".into(),
        firmware: "1.0".into(),
        dpi: 400,
        page_width: 1984,
        page_height: 1400,
        lights: vec![
            LightSource { light: Light::White, wavelength_nm: 0 },
            LightSource { light: Light::Infrared, wavelength_nm: 900 },
            LightSource { light: Light::Ultraviolet, wavelength_nm: 365 },
        ],
    }
}

/// The scripted reader's side: reads one request frame.
async fn request(link: &mut DuplexStream) -> Frame {
    let mut buf = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        link.read_exact(&mut byte).await.unwrap();
        buf.push(byte[0]);
        if let frame::Decoded::Frame { frame, .. } = frame::decode(&buf) {
            return frame;
        }
    }
}

async fn send(link: &mut DuplexStream, m: &Message, seq: u16) {
    link.write_all(&m.to_frame(seq).unwrap().encode().unwrap()).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn khil_channel_hello_events_captures_viz_and_errors() {
    let (host, mut reader) = memory_pair();
    let mut dr = DocReader::new(host);
    let peer = tokio::spawn(async move {
        // Hello: garbage first, then the answer.
        let hello = request(&mut reader).await;
        assert_eq!((hello.version, hello.kind, hello.seq, hello.payload.len()), (1, 0x01, 1, 0));
        reader.write_all(b"\x00\xFFKX").await.unwrap();
        send(&mut reader, &Message::DeviceInfo(info()), 1).await;

        // A document is placed and then a capture asked for: the event comes between request and answer.
        send(
            &mut reader,
            &Message::DocumentPresent(DocumentPresent { document: 7, mrz: TD3.map(String::from).to_vec() }),
            0,
        )
        .await;
        let req = request(&mut reader).await;
        assert_eq!(Message::from_frame(&req).unwrap(), Message::CaptureRequest { light: Light::Infrared });
        // A frame of a newer version and an unknown type first: ignored.
        let newer = Frame { version: 2, kind: 0x95, seq: 0, payload: vec![1, 2, 3] };
        reader.write_all(&newer.encode().unwrap()).await.unwrap();
        let pixels: Vec<u8> = (0..=255).collect();
        let capture = Capture { document: 7, light: Light::Infrared, width: 16, height: 16, dpi: 400, pixels };
        send(&mut reader, &Message::Capture(capture), req.seq).await;

        // VIZ: answered with an error.
        let req = request(&mut reader).await;
        assert_eq!(req.kind, 0x03);
        send(&mut reader, &Message::Error { code: ErrorCode::VizUnavailable, text: "no VIZ model".into() }, req.seq)
            .await;

        // The next capture is not answered in time; its answer comes late, then the one after is answered.
        let late = request(&mut reader).await;
        let again = request(&mut reader).await;
        let ultraviolet =
            Capture { document: 7, light: Light::Ultraviolet, width: 1, height: 1, dpi: 400, pixels: vec![9] };
        send(&mut reader, &Message::Capture(ultraviolet.clone()), late.seq).await;
        let viz = VizFields {
            document: 7,
            fields: vec![VizField { name: "surname".into(), value: "ЭРИКССОН".into() }],
        };
        send(&mut reader, &Message::VizFields(viz), again.seq).await;
        send(&mut reader, &Message::DocumentRemoved { document: 7 }, 0).await;
        reader
    });

    let got = dr.hello(SECOND).await.unwrap();
    assert_eq!(got, info());
    assert_eq!(dr.take_skipped().bytes, 4);

    let capture = dr.capture(Light::Infrared, SECOND).await.unwrap();
    assert_eq!((capture.width, capture.height, capture.pixels[255]), (16, 16, 255));
    assert_eq!(dr.stats().unknown, 1);
    assert_eq!(
        dr.next_event(SECOND).await.unwrap(),
        Some(Event::DocumentPlaced { document: 7, mrz: TD3.map(String::from).to_vec() })
    );

    let err = dr.viz(SECOND).await.unwrap_err();
    assert!(
        matches!(&err, DocReaderError::DeviceSaid { request: "VizRequest", code: ErrorCode::VizUnavailable, .. }),
        "{err}"
    );

    let timeout = dr.capture(Light::Ultraviolet, Duration::ZERO).await.unwrap_err();
    assert!(matches!(timeout, DocReaderError::Timeout { waiting_for: "Capture", .. }), "{timeout}");
    let viz = dr.viz(SECOND).await.unwrap();
    assert_eq!(viz.fields[0].value, "ЭРИКССОН");
    assert_eq!(dr.stats().stale, 1, "the late capture was not taken for the VIZ answer");
    assert_eq!(dr.next_event(SECOND).await.unwrap(), Some(Event::DocumentRemoved { document: 7 }));
    assert_eq!(dr.next_event(SECOND).await.unwrap(), None);
    peer.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_reader_that_closes_the_link_is_a_line_error() {
    let (host, reader) = memory_pair();
    let mut dr = DocReader::new(host);
    drop(reader);
    let err = dr.hello(SECOND).await.unwrap_err();
    assert!(matches!(err, DocReaderError::Line(khil_link::LinkError::PeerClosed)), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_wrong_answer_type_is_named() {
    let (host, mut reader) = memory_pair();
    let mut dr = DocReader::new(host);
    let _peer = tokio::spawn(async move {
        let req = request(&mut reader).await;
        send(&mut reader, &Message::DocumentRemoved { document: 1 }, req.seq).await;
        reader
    });
    let err = dr.hello(SECOND).await.unwrap_err();
    assert_eq!(err.to_string(), "the reader answered Hello with DocumentRemoved: expected DeviceInfo");
}
