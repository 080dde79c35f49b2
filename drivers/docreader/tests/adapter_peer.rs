//! A document-reader adapter written in Python from `docs/docreader-protocol.md` alone (standard library only:
//! `zlib.crc32`, `struct`; `tests/peers/khil_reader.py`), behind a TCP port as a vendor's adapter would be: the
//! driver identifies it, gets the document event, captures under every light, reads the VIZ, and gets the
//! protocol's errors for a light not offered, an unknown message type and a version it does not speak.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use khil_docreader::frame::{self, Frame};
use khil_docreader::message::{ErrorCode, Light, Message};
use khil_docreader::{DocReader, DocReaderError, Event};
use khil_link::{DeviceUrl, NoSimulators};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(5);

struct Adapter(Child);

impl Drop for Adapter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(python: &std::path::Path) -> (Adapter, u16) {
    let mut child = Command::new(python)
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/khil_reader.py"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let port = line.trim().strip_prefix("port ").unwrap_or_else(|| panic!("adapter said {line:?}")).parse().unwrap();
    (Adapter(child), port)
}

/// One raw frame off `tcp` (before the driver takes the stream).
async fn raw_answer(tcp: &mut (impl AsyncRead + Unpin)) -> Frame {
    let mut buf = Vec::new();
    loop {
        let mut chunk = [0u8; 256];
        let n = tcp.read(&mut chunk).await.unwrap();
        assert!(n > 0, "adapter closed");
        buf.extend_from_slice(&chunk[..n]);
        if let frame::Decoded::Frame { frame, .. } = frame::decode(&buf) {
            return frame;
        }
    }
}

#[tokio::test]
async fn a_python_adapter_written_from_the_document_works_with_the_driver() {
    let Some(python) = khil_test_support::python() else { return };
    let (_adapter, port) = start(&python);
    let url: DeviceUrl = format!("tcp://127.0.0.1:{port}").parse().unwrap();
    // The driver's own URL connection, then the link taken back for raw frames the driver never sends.
    let mut tcp = DocReader::connect(&url, &NoSimulators).await.unwrap().into_inner();

    // Before the driver: a version-2 frame and a corrupt one (dropped unanswered), raw.
    let newer = Frame { version: 2, kind: 0x01, seq: 900, payload: Vec::new() }.encode().unwrap();
    let mut corrupt = Frame { version: 1, kind: 0x01, seq: 901, payload: Vec::new() }.encode().unwrap();
    corrupt[17] ^= 1;
    tcp.write_all(&[corrupt, newer].concat()).await.unwrap();
    let answer = raw_answer(&mut tcp).await;
    assert_eq!(answer.seq, 900, "the corrupt frame got no answer");
    assert_eq!(
        Message::from_frame(&answer).unwrap(),
        Message::Error { code: ErrorCode::UnsupportedVersion, text: "speaks 1".into() }
    );

    let mut dr = DocReader::new(tcp);
    let info = dr.hello(WAIT).await.unwrap();
    assert_eq!((info.model.as_str(), info.dpi, info.lights.len()), ("khil python adapter", 400, 3));
    assert_eq!(info.lights[1].wavelength_nm, 900);
    let Some(Event::DocumentPlaced { document: 42, mrz }) = dr.next_event(WAIT).await.unwrap() else {
        panic!("no DocumentPresent")
    };
    assert!(khil_mrtd::mrz::Mrz::read_lines(&mrz).unwrap().all_ok());

    for (light, level) in [(Light::White, 200u8), (Light::Infrared, 90), (Light::Ultraviolet, 30)] {
        let c = dr.capture(light, WAIT).await.unwrap();
        assert_eq!((c.document, c.light, c.width, c.height, c.dpi), (42, light, 32, 8, 400));
        assert_eq!((c.pixels[0], c.pixels[31 + 32]), (level, level.wrapping_add(31)));
    }
    let err = dr.capture(Light::Other(0x09), WAIT).await.unwrap_err();
    assert!(matches!(&err, DocReaderError::DeviceSaid { code: ErrorCode::LightNotOffered, .. }), "{err}");

    let viz = dr.viz(WAIT).await.unwrap();
    assert_eq!(viz.fields[0].value, "ЭРИКССОН");
    assert_eq!(viz.fields[2].value, "1974-08-12");

    // An unknown message type, raw through the same stream.
    let mut tcp = dr.into_inner();
    tcp.write_all(&Frame { version: 1, kind: 0x7E, seq: 77, payload: Vec::new() }.encode().unwrap()).await.unwrap();
    let answer = raw_answer(&mut tcp).await;
    assert_eq!(answer.seq, 77);
    let Message::Error { code: ErrorCode::UnknownMessage, .. } = Message::from_frame(&answer).unwrap() else {
        panic!("expected Error 0002")
    };
    tcp.shutdown().await.unwrap();
    let mut dr = DocReader::new(tcp);
    assert_eq!(dr.next_event(WAIT).await.unwrap(), Some(Event::DocumentRemoved { document: 42 }));
}
