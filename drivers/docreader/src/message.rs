//! The messages of khil's document-reader channel, version 1: typed, with their payloads field by field
//! (`docs/docreader-protocol.md` is the specification). Pure: no I/O, no clocks, never panics on any payload.
//!
//! Integers are big-endian; a string is a 16-bit byte count and that many bytes of UTF-8 (VIZ text is in the
//! state's script: Cyrillic, Kazakh, ...). A payload holds exactly its fields: trailing bytes are an error
//! (new fields come with a new message type or a new version, never silently).
//!
//! Page images, MRZ lines and VIZ values are personal data: the `Debug` of every type holding them shows sizes
//! and counts only.

use std::fmt;

use crate::frame::{Frame, FrameError, MAX_PAYLOAD, VERSION};

/// Message types (the envelope's type byte). Host to reader below 0x80, reader to host from 0x80.
pub mod kind {
    pub const HELLO: u8 = 0x01;
    pub const CAPTURE_REQUEST: u8 = 0x02;
    pub const VIZ_REQUEST: u8 = 0x03;
    pub const DEVICE_INFO: u8 = 0x81;
    pub const CAPTURE: u8 = 0x82;
    pub const VIZ_FIELDS: u8 = 0x83;
    pub const DOCUMENT_PRESENT: u8 = 0x90;
    pub const DOCUMENT_REMOVED: u8 = 0x91;
    pub const ERROR: u8 = 0xEE;
}

/// A light source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Light {
    /// 01: visible, 400-700 nm (9303-2 App. B).
    White,
    /// 02: near infrared, 850-950 nm (the B900 MRZ check).
    Infrared,
    /// 03: ultraviolet, 365 nm (UV-dull substrate, fluorescent inks and fibres).
    Ultraviolet,
    /// Any other code: kept, so that a reader offering a light khil does not know yet can still be used.
    Other(u8),
}

impl Light {
    pub fn code(self) -> u8 {
        match self {
            Light::White => 0x01,
            Light::Infrared => 0x02,
            Light::Ultraviolet => 0x03,
            Light::Other(c) => c,
        }
    }

    pub fn from_code(code: u8) -> Light {
        match code {
            0x01 => Light::White,
            0x02 => Light::Infrared,
            0x03 => Light::Ultraviolet,
            c => Light::Other(c),
        }
    }
}

impl fmt::Display for Light {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Light::White => write!(f, "white"),
            Light::Infrared => write!(f, "infrared"),
            Light::Ultraviolet => write!(f, "ultraviolet"),
            Light::Other(c) => write!(f, "light {c:02X}"),
        }
    }
}

/// A light the reader offers, with its peak wavelength (0: broadband, as white light is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LightSource {
    pub light: Light,
    pub wavelength_nm: u16,
}

/// What the reader is (the answer to Hello).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub model: String,
    pub serial: String,
    pub firmware: String,
    /// The resolution of full-page captures, dots per inch.
    pub dpi: u16,
    /// The scanning window in pixels at `dpi`.
    pub page_width: u16,
    pub page_height: u16,
    pub lights: Vec<LightSource>,
}

/// One page image: 8-bit grey, row-major, top row first, 0 black, 255 white.
#[derive(Clone, PartialEq, Eq)]
pub struct Capture {
    /// The reader's number for the document on the glass (as in DocumentPresent).
    pub document: u32,
    pub light: Light,
    pub width: u16,
    pub height: u16,
    pub dpi: u16,
    /// `width * height` bytes.
    pub pixels: Vec<u8>,
}

impl fmt::Debug for Capture {
    // A page image is personal data: its geometry only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Capture(document {}, {}, {}x{} at {} dpi, {} pixel bytes)",
            self.document,
            self.light,
            self.width,
            self.height,
            self.dpi,
            self.pixels.len()
        )
    }
}

/// One field of the visual inspection zone, named as the reader names it (`surname`, `given_names`, ...).
#[derive(Clone, PartialEq, Eq)]
pub struct VizField {
    pub name: String,
    pub value: String,
}

impl fmt::Debug for VizField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VizField({}, {} bytes)", self.name, self.value.len())
    }
}

/// The VIZ text the reader read from the document on the glass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VizFields {
    pub document: u32,
    pub fields: Vec<VizField>,
}

/// A document was placed; the MRZ the reader read from it (0 to 3 lines, top first, none if it read none).
#[derive(Clone, PartialEq, Eq)]
pub struct DocumentPresent {
    pub document: u32,
    pub mrz: Vec<String>,
}

impl fmt::Debug for DocumentPresent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentPresent(document {}, {} MRZ lines)", self.document, self.mrz.len())
    }
}

/// Error codes (the Error message). 0x8000 and above are the reader vendor's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 0001: the frame's version is not one the reader speaks.
    UnsupportedVersion,
    /// 0002: the message type is unknown to the reader.
    UnknownMessage,
    /// 0003: the payload does not parse.
    Malformed,
    /// 0004: no document on the glass.
    NoDocument,
    /// 0005: the light asked for is not one the reader offers.
    LightNotOffered,
    /// 0006: the reader is busy (a capture in progress).
    Busy,
    /// 0007: the capture failed (hardware).
    CaptureFailed,
    /// 0008: the reader cannot read the VIZ of this document.
    VizUnavailable,
    Other(u16),
}

impl ErrorCode {
    pub fn code(self) -> u16 {
        match self {
            ErrorCode::UnsupportedVersion => 1,
            ErrorCode::UnknownMessage => 2,
            ErrorCode::Malformed => 3,
            ErrorCode::NoDocument => 4,
            ErrorCode::LightNotOffered => 5,
            ErrorCode::Busy => 6,
            ErrorCode::CaptureFailed => 7,
            ErrorCode::VizUnavailable => 8,
            ErrorCode::Other(c) => c,
        }
    }

    pub fn from_code(code: u16) -> ErrorCode {
        match code {
            1 => ErrorCode::UnsupportedVersion,
            2 => ErrorCode::UnknownMessage,
            3 => ErrorCode::Malformed,
            4 => ErrorCode::NoDocument,
            5 => ErrorCode::LightNotOffered,
            6 => ErrorCode::Busy,
            7 => ErrorCode::CaptureFailed,
            8 => ErrorCode::VizUnavailable,
            c => ErrorCode::Other(c),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            ErrorCode::UnsupportedVersion => "unsupported version",
            ErrorCode::UnknownMessage => "unknown message",
            ErrorCode::Malformed => "malformed message",
            ErrorCode::NoDocument => "no document",
            ErrorCode::LightNotOffered => "light not offered",
            ErrorCode::Busy => "busy",
            ErrorCode::CaptureFailed => "capture failed",
            ErrorCode::VizUnavailable => "VIZ unavailable",
            ErrorCode::Other(_) => "vendor error",
        };
        write!(f, "{name} ({:04X})", self.code())
    }
}

/// Every message of version 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// Host: who are you? Answered by DeviceInfo.
    Hello,
    /// Host: capture the page under `light`. Answered by Capture or Error.
    CaptureRequest {
        light: Light,
    },
    /// Host: read the VIZ. Answered by VizFields or Error.
    VizRequest,
    DeviceInfo(DeviceInfo),
    Capture(Capture),
    VizFields(VizFields),
    /// Unsolicited (sequence number 0).
    DocumentPresent(DocumentPresent),
    /// Unsolicited (sequence number 0).
    DocumentRemoved {
        document: u32,
    },
    /// The answer to a request that failed, or (sequence number 0) to a frame the reader could not take.
    Error {
        code: ErrorCode,
        text: String,
    },
}

/// Why a payload is not the message its type says, or a message cannot be encoded. Offsets count from the first
/// payload byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("version {version} is not spoken here: expected {VERSION}")]
    UnsupportedVersion { version: u8 },
    #[error("unknown message type {kind:02X}")]
    UnknownType { kind: u8 },
    #[error("{message}: payload ends in {field} at offset {offset}: expected {expected} more bytes, found {found}")]
    Truncated { message: &'static str, field: &'static str, offset: usize, expected: usize, found: usize },
    #[error("{message}: {field} at offset {offset} is not UTF-8")]
    NotUtf8 { message: &'static str, field: &'static str, offset: usize },
    #[error("{message}: {count} bytes after the last field at offset {offset}: expected none")]
    Trailing { message: &'static str, offset: usize, count: usize },
    #[error("{message}: {field} holds {found} items: expected at most {max}")]
    TooMany { message: &'static str, field: &'static str, found: usize, max: usize },
    #[error("{message}: {field} is {found} bytes: expected at most {max}")]
    TooLong { message: &'static str, field: &'static str, found: usize, max: usize },
    #[error("Capture: {found} pixel bytes at offset 11: expected width x height = {expected}")]
    PixelCount { expected: usize, found: usize },
    #[error(transparent)]
    Frame(#[from] FrameError),
}

/// The most MRZ lines a DocumentPresent carries.
pub const MAX_MRZ_LINES: usize = 3;

impl Message {
    /// The type byte.
    pub fn kind(&self) -> u8 {
        match self {
            Message::Hello => kind::HELLO,
            Message::CaptureRequest { .. } => kind::CAPTURE_REQUEST,
            Message::VizRequest => kind::VIZ_REQUEST,
            Message::DeviceInfo(_) => kind::DEVICE_INFO,
            Message::Capture(_) => kind::CAPTURE,
            Message::VizFields(_) => kind::VIZ_FIELDS,
            Message::DocumentPresent(_) => kind::DOCUMENT_PRESENT,
            Message::DocumentRemoved { .. } => kind::DOCUMENT_REMOVED,
            Message::Error { .. } => kind::ERROR,
        }
    }

    /// The message's name, as errors and evidence say it.
    pub fn name_of(kind: u8) -> &'static str {
        match kind {
            kind::HELLO => "Hello",
            kind::CAPTURE_REQUEST => "CaptureRequest",
            kind::VIZ_REQUEST => "VizRequest",
            kind::DEVICE_INFO => "DeviceInfo",
            kind::CAPTURE => "Capture",
            kind::VIZ_FIELDS => "VizFields",
            kind::DOCUMENT_PRESENT => "DocumentPresent",
            kind::DOCUMENT_REMOVED => "DocumentRemoved",
            kind::ERROR => "Error",
            _ => "unknown message",
        }
    }

    /// The payload, field by field.
    pub fn payload(&self) -> Result<Vec<u8>, MessageError> {
        let mut w = Writer { out: Vec::new(), message: Message::name_of(self.kind()) };
        match self {
            Message::Hello | Message::VizRequest => {}
            Message::CaptureRequest { light } => w.u8(light.code()),
            Message::DeviceInfo(d) => {
                w.str("model", &d.model)?;
                w.str("serial", &d.serial)?;
                w.str("firmware", &d.firmware)?;
                w.u16(d.dpi);
                w.u16(d.page_width);
                w.u16(d.page_height);
                w.count("lights", d.lights.len(), usize::from(u8::MAX))?;
                for l in &d.lights {
                    w.u8(l.light.code());
                    w.u16(l.wavelength_nm);
                }
            }
            Message::Capture(c) => {
                let expected = usize::from(c.width) * usize::from(c.height);
                if c.pixels.len() != expected {
                    return Err(MessageError::PixelCount { expected, found: c.pixels.len() });
                }
                w.u32(c.document);
                w.u8(c.light.code());
                w.u16(c.width);
                w.u16(c.height);
                w.u16(c.dpi);
                w.out.extend_from_slice(&c.pixels);
            }
            Message::VizFields(v) => {
                w.u32(v.document);
                w.count("fields", v.fields.len(), usize::from(u8::MAX))?;
                for f in &v.fields {
                    w.str("field name", &f.name)?;
                    w.str("field value", &f.value)?;
                }
            }
            Message::DocumentPresent(d) => {
                w.u32(d.document);
                w.count("MRZ lines", d.mrz.len(), MAX_MRZ_LINES)?;
                for l in &d.mrz {
                    w.str("MRZ line", l)?;
                }
            }
            Message::DocumentRemoved { document } => w.u32(*document),
            Message::Error { code, text } => {
                w.u16(code.code());
                w.str("text", text)?;
            }
        }
        if w.out.len() > MAX_PAYLOAD {
            return Err(FrameError::PayloadTooLong { found: w.out.len() }.into());
        }
        Ok(w.out)
    }

    /// The frame (version 1) carrying this message with sequence number `seq`.
    pub fn to_frame(&self, seq: u16) -> Result<Frame, MessageError> {
        Ok(Frame { version: VERSION, kind: self.kind(), seq, payload: self.payload()? })
    }

    /// The message a version 1 frame carries.
    pub fn from_frame(frame: &Frame) -> Result<Message, MessageError> {
        if frame.version != VERSION {
            return Err(MessageError::UnsupportedVersion { version: frame.version });
        }
        Message::parse(frame.kind, &frame.payload)
    }

    /// The message of type `kind` in `payload`.
    pub fn parse(kind: u8, payload: &[u8]) -> Result<Message, MessageError> {
        let mut r = Reader { buf: payload, at: 0, message: Message::name_of(kind) };
        let message = match kind {
            kind::HELLO => Message::Hello,
            kind::VIZ_REQUEST => Message::VizRequest,
            kind::CAPTURE_REQUEST => Message::CaptureRequest { light: Light::from_code(r.u8("light")?) },
            kind::DEVICE_INFO => {
                let model = r.str("model")?;
                let serial = r.str("serial")?;
                let firmware = r.str("firmware")?;
                let dpi = r.u16("dpi")?;
                let page_width = r.u16("page width")?;
                let page_height = r.u16("page height")?;
                let n = r.u8("light count")?;
                let mut lights = Vec::with_capacity(usize::from(n));
                for _ in 0..n {
                    let light = Light::from_code(r.u8("light")?);
                    lights.push(LightSource { light, wavelength_nm: r.u16("wavelength")? });
                }
                Message::DeviceInfo(DeviceInfo { model, serial, firmware, dpi, page_width, page_height, lights })
            }
            kind::CAPTURE => {
                let document = r.u32("document")?;
                let light = Light::from_code(r.u8("light")?);
                let width = r.u16("width")?;
                let height = r.u16("height")?;
                let dpi = r.u16("dpi")?;
                let expected = usize::from(width) * usize::from(height);
                let pixels = r.rest();
                if pixels.len() != expected {
                    return Err(MessageError::PixelCount { expected, found: pixels.len() });
                }
                Message::Capture(Capture { document, light, width, height, dpi, pixels: pixels.to_vec() })
            }
            kind::VIZ_FIELDS => {
                let document = r.u32("document")?;
                let n = r.u8("field count")?;
                let mut fields = Vec::with_capacity(usize::from(n));
                for _ in 0..n {
                    let name = r.str("field name")?;
                    fields.push(VizField { name, value: r.str("field value")? });
                }
                Message::VizFields(VizFields { document, fields })
            }
            kind::DOCUMENT_PRESENT => {
                let document = r.u32("document")?;
                let n = usize::from(r.u8("MRZ line count")?);
                if n > MAX_MRZ_LINES {
                    return Err(MessageError::TooMany {
                        message: r.message,
                        field: "MRZ lines",
                        found: n,
                        max: MAX_MRZ_LINES,
                    });
                }
                let mut mrz = Vec::with_capacity(n);
                for _ in 0..n {
                    mrz.push(r.str("MRZ line")?);
                }
                Message::DocumentPresent(DocumentPresent { document, mrz })
            }
            kind::DOCUMENT_REMOVED => Message::DocumentRemoved { document: r.u32("document")? },
            kind::ERROR => {
                let code = ErrorCode::from_code(r.u16("code")?);
                Message::Error { code, text: r.str("text")? }
            }
            other => return Err(MessageError::UnknownType { kind: other }),
        };
        r.end()?;
        Ok(message)
    }
}

struct Writer {
    out: Vec<u8>,
    message: &'static str,
}

impl Writer {
    fn u8(&mut self, v: u8) {
        self.out.push(v);
    }

    fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_be_bytes());
    }

    fn count(&mut self, field: &'static str, n: usize, max: usize) -> Result<(), MessageError> {
        if n > max {
            return Err(MessageError::TooMany { message: self.message, field, found: n, max });
        }
        self.u8(n as u8);
        Ok(())
    }

    fn str(&mut self, field: &'static str, s: &str) -> Result<(), MessageError> {
        let max = usize::from(u16::MAX);
        if s.len() > max {
            return Err(MessageError::TooLong { message: self.message, field, found: s.len(), max });
        }
        self.u16(s.len() as u16);
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
    message: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], MessageError> {
        let left = self.buf.len() - self.at;
        if left < n {
            return Err(MessageError::Truncated {
                message: self.message,
                field,
                offset: self.at,
                expected: n,
                found: left,
            });
        }
        let bytes = &self.buf[self.at..self.at + n];
        self.at += n;
        Ok(bytes)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, MessageError> {
        Ok(self.take(field, 1)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, MessageError> {
        let b = self.take(field, 2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, MessageError> {
        let b = self.take(field, 4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn str(&mut self, field: &'static str) -> Result<String, MessageError> {
        let n = usize::from(self.u16(field)?);
        let offset = self.at;
        let bytes = self.take(field, n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| MessageError::NotUtf8 { message: self.message, field, offset })
    }

    fn rest(&mut self) -> &'a [u8] {
        let rest = &self.buf[self.at..];
        self.at = self.buf.len();
        rest
    }

    fn end(&self) -> Result<(), MessageError> {
        match self.buf.len() - self.at {
            0 => Ok(()),
            count => Err(MessageError::Trailing { message: self.message, offset: self.at, count }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_info_field_by_field() {
        let info = Message::DeviceInfo(DeviceInfo {
            model: "M".into(),
            serial: "7".into(),
            firmware: "1".into(),
            dpi: 400,
            page_width: 2000,
            page_height: 1400,
            lights: vec![LightSource { light: Light::Ultraviolet, wavelength_nm: 365 }],
        });
        let payload = info.payload().unwrap();
        assert_eq!(
            payload,
            [0, 1, b'M', 0, 1, b'7', 0, 1, b'1', 0x01, 0x90, 0x07, 0xD0, 0x05, 0x78, 1, 0x03, 0x01, 0x6D]
        );
        assert_eq!(Message::parse(kind::DEVICE_INFO, &payload).unwrap(), info);
    }

    #[test]
    fn errors_name_message_field_and_offset() {
        assert_eq!(
            Message::parse(kind::CAPTURE, &[0, 0, 0, 1, 1, 0, 2, 0]).unwrap_err(),
            MessageError::Truncated { message: "Capture", field: "height", offset: 7, expected: 2, found: 1 }
        );
        assert_eq!(
            Message::parse(kind::CAPTURE, &[0, 0, 0, 1, 1, 0, 2, 0, 2, 1, 0x90, 9, 9, 9]).unwrap_err(),
            MessageError::PixelCount { expected: 4, found: 3 }
        );
        assert_eq!(
            Message::parse(kind::DOCUMENT_REMOVED, &[0, 0, 0, 1, 9]).unwrap_err(),
            MessageError::Trailing { message: "DocumentRemoved", offset: 4, count: 1 }
        );
        assert_eq!(
            Message::parse(kind::ERROR, &[0, 4, 0, 1, 0xFF]).unwrap_err(),
            MessageError::NotUtf8 { message: "Error", field: "text", offset: 4 }
        );
        assert_eq!(Message::parse(0x7A, &[]).unwrap_err(), MessageError::UnknownType { kind: 0x7A });
    }

    #[test]
    fn debug_shows_no_personal_data() {
        let c = Capture { document: 1, light: Light::Infrared, width: 2, height: 1, dpi: 400, pixels: vec![7, 7] };
        assert_eq!(format!("{c:?}"), "Capture(document 1, infrared, 2x1 at 400 dpi, 2 pixel bytes)");
        let d = DocumentPresent { document: 3, mrz: vec!["P<UTOERIKSSON".into()] };
        assert!(!format!("{:?}", Message::DocumentPresent(d)).contains("ERIKSSON"));
        let v = VizField { name: "surname".into(), value: "ERIKSSON".into() };
        assert!(!format!("{v:?}").contains("ERIKSSON"));
    }
}
