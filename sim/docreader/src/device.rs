//! The reader's state machine, pure (no I/O, no clock): a frame in, the frames to answer it with out; a
//! document placed or taken away, the unsolicited frames and the RTE block to send. `docs/docreader-protocol.md`
//! is what it answers to, clause by clause:
//!
//! - an intact frame of another version: Error `0001` naming the versions spoken; an unknown type (or a type only
//!   a reader sends): `0002`; a payload that does not parse: `0003`; every answer carries the request's sequence
//!   number. A frame whose CRC fails never reaches here (the codec drops it: silence, as the document says).
//! - Hello: DeviceInfo. CaptureRequest: a light not offered `0005`, nothing on the glass `0004`, a capture that
//!   fails `0007`, else a Capture exactly the size of the declared scanning window at the declared dpi.
//!   VizRequest: `0004`, `0008` when the document's VIZ cannot be read, else VizFields.
//! - placing a document: DocumentPresent (sequence number 0) with the MRZ lines read, and one RTE native block
//!   (padded with `_`, BCC as configured); taking it away: DocumentRemoved. Placing one on top of another takes
//!   the first away first.
//!
//! [`ReaderFaults`] make it get one of these wrong on purpose.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use khil_docreader::frame::{Frame, VERSION};
use khil_docreader::message::{Capture, DeviceInfo, DocumentPresent, ErrorCode, MessageError, VizFields};
use khil_docreader::{Light, LightSource, Message, RteFormat, RteFrame};

use crate::document::PlacedDocument;
use crate::faults::{ReaderFaultKind, ReaderFaults, Unit};
use crate::page::{Dpi, Layout, READER_MARGIN_MM};

/// What the reader says it is and offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderConfig {
    pub info: DeviceInfo,
    /// The RTE channel's block format (BCC or none).
    pub rte: RteFormat,
    /// The RTE block's flag byte (its meaning is not public; sent as configured).
    pub rte_flag: u8,
}

/// The grey level of the reader's lid around the page (the renderer draws the same dark lid).
const LID: u8 = 26;

impl ReaderConfig {
    /// khil's simulated full-page reader `KR-1` at `dpi`: white, infrared (900 nm) and ultraviolet (365 nm); a
    /// window that holds the largest data page (TD3, 125 x 88 mm) with the renderer's margin all round.
    pub fn kr1(dpi: Dpi, serial: &str) -> ReaderConfig {
        let td3 = Layout::of(khil_mrtd::mrz::Format::Td3);
        let k = dpi.px_per_mm();
        let px = |mm: f32| ((mm + 2.0 * READER_MARGIN_MM) * k).round() as u16;
        ReaderConfig {
            info: DeviceInfo {
                model: "KR-1".into(),
                serial: serial.into(),
                firmware: env!("CARGO_PKG_VERSION").into(),
                dpi: dpi.value(),
                page_width: px(td3.width_mm),
                page_height: px(td3.height_mm),
                lights: vec![
                    LightSource { light: Light::White, wavelength_nm: 0 },
                    LightSource { light: Light::Infrared, wavelength_nm: 900 },
                    LightSource { light: Light::Ultraviolet, wavelength_nm: 365 },
                ],
            },
            rte: RteFormat::default(),
            rte_flag: b'0',
        }
    }
}

/// What a change on the glass sends: frames for khil's channel (sequence number 0) and the RTE block.
#[derive(Default)]
pub struct Happened {
    pub frames: Vec<Frame>,
    pub rte: Option<Vec<u8>>,
}

impl fmt::Debug for Happened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Happened({:?}, RTE {:?} bytes)", self.frames, self.rte.as_ref().map(Vec::len))
    }
}

/// The document on the glass: the reader's number for it and the window-sized images captured so far.
struct Placement {
    number: u32,
    document: Arc<dyn PlacedDocument>,
    captures: HashMap<u8, Arc<Vec<u8>>>,
}

/// A document reader.
pub struct Reader {
    config: ReaderConfig,
    faults: ReaderFaults,
    tray: Option<Placement>,
    placements: u32,
}

impl fmt::Debug for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("model", &self.config.info.model)
            .field("document", &self.tray.as_ref().map(|p| p.number))
            .finish_non_exhaustive()
    }
}

impl Reader {
    pub fn new(config: ReaderConfig, faults: ReaderFaults) -> Reader {
        Reader { config, faults, tray: None, placements: 0 }
    }

    pub fn config(&self) -> &ReaderConfig {
        &self.config
    }

    /// The reader's number for the document on the glass.
    pub fn on_glass(&self) -> Option<u32> {
        self.tray.as_ref().map(|p| p.number)
    }

    /// A document comes to rest on the glass (the one there is taken away first).
    pub fn place(&mut self, document: Arc<dyn PlacedDocument>) -> Happened {
        let mut out = self.remove();
        self.placements = self.placements.wrapping_add(1);
        let number = self.placements;
        let faults = self.faults.next(Unit::TrayChange);
        let mrz = document.mrz_lines();
        let read = self.faults.next(Unit::Read);
        if !faults.contains(&ReaderFaultKind::NoPresent) {
            // DocumentPresent carries at most three lines; a document with more is read as none.
            let lines = if mrz.len() <= 3 { mrz.clone() } else { Vec::new() };
            out.frames.extend(frame(&Message::DocumentPresent(DocumentPresent { document: number, mrz: lines }), 0));
        }
        out.rte = self.rte_block(&mrz, &read);
        self.tray = Some(Placement { number, document, captures: HashMap::new() });
        out
    }

    /// The document is taken away (nothing happens when the glass is empty).
    pub fn remove(&mut self) -> Happened {
        let mut out = Happened::default();
        let Some(placed) = self.tray.take() else { return out };
        let faults = self.faults.next(Unit::TrayChange);
        if !faults.contains(&ReaderFaultKind::NoRemoved) {
            out.frames.extend(frame(&Message::DocumentRemoved { document: placed.number }, 0));
        }
        out
    }

    /// The RTE native block for one read: the lines padded as the manual says, then the faults.
    fn rte_block(&self, mrz: &[String], faults: &[ReaderFaultKind]) -> Option<Vec<u8>> {
        let mut lines = mrz.to_vec();
        if faults.contains(&ReaderFaultKind::RteLineOrder) {
            lines.reverse();
        }
        let mut block = match RteFrame::from_mrz(self.config.rte_flag, &lines) {
            Ok(block) => block,
            Err(e) => {
                tracing::warn!(error = %e, "no RTE block for this read");
                return None;
            }
        };
        if faults.contains(&ReaderFaultKind::RteUnpadded) {
            for line in &mut block.lines {
                line.truncate(line.trim_end_matches('_').len());
            }
        }
        let mut bytes = match self.config.rte.encode(&block) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::warn!(error = %e, "no RTE block for this read");
                return None;
            }
        };
        if faults.contains(&ReaderFaultKind::RteBadLength) {
            let wrong = khil_docreader::rte::length_field(bytes.len() + 1).to_le_bytes();
            bytes[1..3].copy_from_slice(&wrong);
            if self.config.rte.with_bcc {
                let last = bytes.len() - 1;
                bytes[last] = khil_docreader::rte::bcc(&bytes[1..last]);
            }
        }
        if faults.contains(&ReaderFaultKind::RteBadBcc) {
            let last = bytes.len() - 1;
            bytes[last] ^= 0x5A;
        }
        Some(bytes)
    }

    /// The answers to one intact frame from the host (none: the reader stays silent).
    pub fn answer(&mut self, request: &Frame) -> Vec<Frame> {
        let faults = self.faults.next(Unit::Request);
        let seq = if faults.contains(&ReaderFaultKind::WrongSeq) {
            request.seq.checked_add(1).unwrap_or(1).max(1)
        } else {
            request.seq
        };
        let error = |code: ErrorCode, text: &str| frame(&Message::Error { code, text: text.into() }, seq);
        let message = match Message::from_frame(request) {
            Ok(m) => m,
            Err(MessageError::UnsupportedVersion { .. }) => {
                return error(ErrorCode::UnsupportedVersion, &format!("speaks {VERSION}"));
            }
            Err(MessageError::UnknownType { kind }) => {
                if faults.contains(&ReaderFaultKind::SilentUnknown) {
                    return Vec::new();
                }
                return error(ErrorCode::UnknownMessage, &format!("unknown message type {kind:02X}"));
            }
            // The error names the message, field and offset: no payload bytes.
            Err(e) => return error(ErrorCode::Malformed, &e.to_string()),
        };
        match message {
            Message::Hello => frame(&Message::DeviceInfo(self.config.info.clone()), seq),
            Message::CaptureRequest { light } => match self.capture(light, &faults) {
                Ok(capture) => frame(&Message::Capture(capture), seq),
                Err((code, text)) => error(code, text),
            },
            Message::VizRequest => match &self.tray {
                None => error(ErrorCode::NoDocument, "no document on the glass"),
                Some(placed) => match placed.document.viz_fields() {
                    None => error(ErrorCode::VizUnavailable, "cannot read this document's VIZ"),
                    Some(mut fields) => {
                        fields.truncate(usize::from(u8::MAX));
                        frame(&Message::VizFields(VizFields { document: placed.number, fields }), seq)
                    }
                },
            },
            // A reader's own messages sent to it: not requests it knows.
            other => error(ErrorCode::UnknownMessage, &format!("{} is not a request", Message::name_of(other.kind()))),
        }
    }

    /// A capture of the glass under `light`, exactly the declared window (or the fault's wrong one).
    fn capture(&mut self, light: Light, faults: &[ReaderFaultKind]) -> Result<Capture, (ErrorCode, &'static str)> {
        let info = &self.config.info;
        let offered = info.lights.iter().any(|l| l.light == light);
        if !offered || faults.contains(&ReaderFaultKind::RefuseLight(light)) {
            return Err((ErrorCode::LightNotOffered, "light not offered"));
        }
        let (width, height) = (info.page_width, info.page_height);
        let (number, pixels) = match &mut self.tray {
            None if faults.contains(&ReaderFaultKind::ImageWhenEmpty) => {
                (0, Arc::new(vec![LID; usize::from(width) * usize::from(height)]))
            }
            None => return Err((ErrorCode::NoDocument, "no document on the glass")),
            Some(placed) => {
                let pixels = if let Some(p) = placed.captures.get(&light.code()) {
                    Arc::clone(p)
                } else {
                    let shot = placed.document.capture(light).map_err(|e| {
                        tracing::warn!(error = %e, "capture failed");
                        (ErrorCode::CaptureFailed, "capture failed")
                    })?;
                    let p = Arc::new(fit(&shot.image, usize::from(width), usize::from(height)));
                    placed.captures.insert(light.code(), Arc::clone(&p));
                    p
                };
                (placed.number, pixels)
            }
        };
        let mut capture =
            Capture { document: number, light, width, height, dpi: info.dpi, pixels: pixels.as_ref().clone() };
        if faults.contains(&ReaderFaultKind::WrongSize) {
            // The image as a cheaper sensor would take it: a tenth cut off the right and the bottom.
            let (w, h) = (usize::from(width) * 9 / 10, usize::from(height) * 9 / 10);
            capture.pixels = (0..h).flat_map(|y| pixels[y * usize::from(width)..][..w].iter().copied()).collect();
            (capture.width, capture.height) = (w as u16, h as u16);
        }
        if faults.contains(&ReaderFaultKind::WrongDpi) {
            capture.dpi = if info.dpi == 300 { 400 } else { 300 };
        }
        if faults.contains(&ReaderFaultKind::WrongLight) {
            capture.light = match light {
                Light::White => Light::Infrared,
                Light::Infrared => Light::Ultraviolet,
                _ => Light::White,
            };
        }
        Ok(capture)
    }
}

/// `image` centred in a `width` x `height` window, the lid around it (cut at the window's edges if larger).
fn fit(image: &khil_biometrics::image::GrayImage, width: usize, height: usize) -> Vec<u8> {
    let mut out = vec![LID; width * height];
    let (dx, sx) = offsets(image.width, width);
    let (dy, sy) = offsets(image.height, height);
    let w = image.width.min(width);
    for y in 0..image.height.min(height) {
        let src = &image.pixels[(y + sy) * image.width + sx..][..w];
        out[(y + dy) * width + dx..][..w].copy_from_slice(src);
    }
    out
}

/// Where a line of `inner` pixels goes in `outer`: (offset in the window, offset in the image).
fn offsets(inner: usize, outer: usize) -> (usize, usize) {
    if inner <= outer { ((outer - inner) / 2, 0) } else { (0, (inner - outer) / 2) }
}

/// The frame carrying `message`, as the one frame of a Vec (none if it cannot be encoded, which a reader's own
/// messages always can: logged).
fn frame(message: &Message, seq: u16) -> Vec<Frame> {
    match message.to_frame(seq) {
        Ok(f) => vec![f],
        Err(e) => {
            tracing::warn!(error = %e, "reader message cannot be encoded");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::ReaderFault;
    use crate::page::{Capture as Shot, RenderError};
    use khil_biometrics::image::GrayImage;
    use khil_docreader::message::kind;
    use khil_docreader::rte::Decoded;
    use khil_docreader::{RteFrame, VizField};

    const TD3: [&str; 2] =
        ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"];

    const TD2: [&str; 2] = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"];

    /// A document with `mrz` whose every capture is a 100 x 60 image of value 200.
    struct Plain(&'static [&'static str]);

    impl PlacedDocument for Plain {
        fn mrz_lines(&self) -> Vec<String> {
            self.0.iter().map(|s| (*s).to_owned()).collect()
        }
        fn viz_fields(&self) -> Option<Vec<VizField>> {
            Some(vec![VizField { name: "surname".into(), value: "ERIKSSON".into() }])
        }
        fn capture(&self, light: Light) -> Result<Shot, RenderError> {
            match light {
                Light::Ultraviolet => Err(RenderError::UnsupportedLight(3)),
                _ => Ok(Shot { light, dpi: 300, image: GrayImage::new(100, 60, 200) }),
            }
        }
    }

    fn reader(faults: &[&str]) -> Reader {
        let faults = faults.iter().map(|f| f.parse::<ReaderFault>().unwrap()).collect();
        Reader::new(ReaderConfig::kr1(Dpi::D300, "0042"), ReaderFaults::new(faults, 1))
    }

    fn ask(r: &mut Reader, m: &Message, seq: u16) -> Vec<(u16, Message)> {
        r.answer(&m.to_frame(seq).unwrap()).iter().map(|f| (f.seq, Message::from_frame(f).unwrap())).collect()
    }

    fn error_code(answers: &[(u16, Message)]) -> Option<(u16, u16)> {
        match answers {
            [(seq, Message::Error { code, .. })] => Some((*seq, code.code())),
            _ => None,
        }
    }

    #[test]
    fn hello_declares_the_window_and_lights() {
        let mut r = reader(&[]);
        let answers = ask(&mut r, &Message::Hello, 1);
        let [(1, Message::DeviceInfo(info))] = answers.as_slice() else { panic!("{answers:?}") };
        assert_eq!((info.model.as_str(), info.dpi), ("KR-1", 300));
        // 137 x 100 mm at 300 dpi.
        assert_eq!((info.page_width, info.page_height), (1618, 1181));
        assert_eq!(info.lights.len(), 3);
    }

    #[test]
    fn an_empty_glass_answers_0004_and_a_placed_document_a_window_sized_capture() {
        let mut r = reader(&[]);
        let req = Message::CaptureRequest { light: Light::White };
        assert_eq!(error_code(&ask(&mut r, &req, 2)), Some((2, 4)));
        assert_eq!(error_code(&ask(&mut r, &Message::VizRequest, 3)), Some((3, 4)));
        let happened = r.place(Arc::new(Plain(&TD3)));
        let [present] = happened.frames.as_slice() else { panic!("{happened:?}") };
        assert_eq!((present.seq, present.kind), (0, kind::DOCUMENT_PRESENT));
        let answers = ask(&mut r, &req, 4);
        let [(4, Message::Capture(c))] = answers.as_slice() else { panic!("{answers:?}") };
        assert_eq!((c.document, c.light, c.width, c.height, c.dpi), (1, Light::White, 1618, 1181, 300));
        // The image is centred on the lid.
        assert_eq!(c.pixels[0], LID);
        assert_eq!(c.pixels[1181 / 2 * 1618 + 1618 / 2], 200);
        assert_eq!(c.pixels.iter().filter(|&&p| p > LID).count(), 6000, "the 100 x 60 card, nothing more");
        // A failed capture is 0007.
        assert_eq!(error_code(&ask(&mut r, &Message::CaptureRequest { light: Light::Ultraviolet }, 5)), Some((5, 7)));
        assert_eq!(error_code(&ask(&mut r, &Message::CaptureRequest { light: Light::Other(9) }, 6)), Some((6, 5)));
        let answers = ask(&mut r, &Message::VizRequest, 7);
        let [(7, Message::VizFields(v))] = answers.as_slice() else { panic!("{answers:?}") };
        assert_eq!((v.document, v.fields.len()), (1, 1));
        let removed = r.remove();
        assert_eq!(Message::from_frame(&removed.frames[0]).unwrap(), Message::DocumentRemoved { document: 1 });
        assert!(r.remove().frames.is_empty(), "nothing more to take away");
    }

    #[test]
    fn the_rte_block_is_padded_and_checked() {
        let mut r = reader(&[]);
        let bytes = r.place(Arc::new(Plain(&TD3))).rte.unwrap();
        let Decoded::Frame { frame, consumed } = RteFormat::default().decode(&bytes) else { panic!() };
        assert_eq!(consumed, bytes.len());
        assert_eq!(frame, RteFrame::from_mrz(b'0', &TD3).unwrap());
        assert!(frame.lines[1].len() == 44 && frame.lines[0].is_empty());
    }

    #[test]
    fn protocol_errors_and_their_sequence_numbers() {
        let mut r = reader(&[]);
        let mut f = Message::Hello.to_frame(9).unwrap();
        f.version = 2;
        assert!(matches!(r.answer(&f).as_slice(), [a] if a.seq == 9 && a.version == 1));
        assert_eq!(error_code(&[(9, Message::from_frame(&r.answer(&f)[0]).unwrap())]), Some((9, 1)));
        let unknown = Frame { version: 1, kind: 0x7A, seq: 10, payload: vec![] };
        assert_eq!(Message::from_frame(&r.answer(&unknown)[0]).unwrap().kind(), kind::ERROR);
        let bad = Frame { version: 1, kind: kind::HELLO, seq: 11, payload: vec![1] };
        let answer = Message::from_frame(&r.answer(&bad)[0]).unwrap();
        assert!(matches!(answer, Message::Error { code: ErrorCode::Malformed, .. }), "{answer:?}");
        let theirs = Message::DocumentRemoved { document: 1 }.to_frame(12).unwrap();
        assert!(matches!(
            Message::from_frame(&r.answer(&theirs)[0]).unwrap(),
            Message::Error { code: ErrorCode::UnknownMessage, .. }
        ));
    }

    #[test]
    fn each_fault_changes_what_it_says() {
        let req = Message::CaptureRequest { light: Light::White };
        let mut r = reader(&["wrong-seq", "silent-unknown"]);
        assert_eq!(ask(&mut r, &Message::Hello, 5)[0].0, 6);
        assert!(r.answer(&Frame { version: 1, kind: 0x7A, seq: 6, payload: vec![] }).is_empty());
        let mut r = reader(&["image-when-empty"]);
        assert!(matches!(ask(&mut r, &req, 1).as_slice(), [(1, Message::Capture(_))]));
        let mut r = reader(&["refuse-light:light=white", "no-present"]);
        assert!(r.place(Arc::new(Plain(&TD3))).frames.is_empty());
        assert_eq!(error_code(&ask(&mut r, &req, 1)), Some((1, 5)));
        let mut r = reader(&["wrong-size", "wrong-dpi", "wrong-light", "no-removed"]);
        r.place(Arc::new(Plain(&TD3)));
        let answers = ask(&mut r, &req, 1);
        let [(1, Message::Capture(c))] = answers.as_slice() else { panic!("{answers:?}") };
        assert_eq!((c.width, c.height, c.dpi, c.light), (1456, 1062, 400, Light::Infrared));
        assert!(r.remove().frames.is_empty());
        for (fault, check) in
            [("rte-unpadded", 0usize), ("rte-line-order", 1), ("rte-bad-bcc", 2), ("rte-bad-length", 3)]
        {
            let bytes = reader(&[fault]).place(Arc::new(Plain(&TD2))).rte.unwrap();
            let decoded = RteFormat::default().decode(&bytes);
            match (check, decoded) {
                (0, Decoded::Frame { frame, .. }) => assert_eq!(frame.lines[2], TD2[1], "{fault}"),
                (1, Decoded::Frame { frame, .. }) => assert_eq!(frame.mrz_lines(), [TD2[1], TD2[0]]),
                (2, Decoded::Skipped { reason, .. }) => {
                    assert!(matches!(reason, khil_docreader::RteError::BadBcc { .. }), "{reason}");
                }
                (3, Decoded::NeedMore | Decoded::Skipped { .. }) => {}
                (_, other) => panic!("{fault}: {other:?}"),
            }
        }
    }
}
