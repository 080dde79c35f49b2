//! A tokio-util [`Decoder`]/[`Encoder`] for OSDP packets over [`crate::frame`].
//!
//! The decoder drops garbage and resynchronises on the next `53` (or `FF` mark); what it dropped is counted in
//! `OsdpCodec::skipped` (no logging here), never reported as an error, so one bad byte on the line does not end
//! a `FramedRead`. It never panics, whatever the input. Mark bytes are not garbage: a run of them (an idle line
//! that idles high) is collapsed to one without being counted.
//!
//! Each frame comes with its raw packet bytes ([`DecodedFrame::raw`]), so that the secure channel can check the
//! MAC over exactly what was received ([`DecodedFrame::mac_input`]).
//!
//! A header whose LEN was corrupted upwards (but stays within the limit) makes the decoder wait for up to
//! [`frame::MAX_LEN`] bytes before the CRC exposes it; the frames behind it then come out late. A driver's reply
//! timeout covers that case; at end of stream `tokio_util::codec::Decoder::decode_eof` recovers them.

use bytes::{Bytes, BytesMut};
use khil_link::framed::{Found, FrameCodec, FrameFormat};
use tokio_util::codec::Encoder;

use crate::frame::{self, Decoded, FrameError, MARK, OsdpFrame};

/// Garbage the decoder dropped so far.
pub type SkipStats = khil_link::SkipStats<FrameError>;

/// An encoding error or an I/O error from the underlying stream.
pub type CodecError = khil_link::CodecError<FrameError>;

/// A decoded frame and the packet it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedFrame {
    /// The frame.
    pub frame: OsdpFrame,
    /// The packet as received: SOM through the CRC/checksum, marks excluded.
    pub raw: Bytes,
    /// Whether at least one mark preceded it.
    pub marked: bool,
}

impl DecodedFrame {
    /// The bytes the packet's MAC covers (SOM through the last data byte), `None` if it carries no MAC.
    pub fn mac_input(&self) -> Option<&[u8]> {
        frame::mac_input(&self.raw)
    }
}

/// How OSDP packets are found in a byte stream ([`frame::decode_with_max`]), and how they are written; the framing
/// mechanics are `khil-link`'s.
#[derive(Debug, Clone, Copy)]
pub struct OsdpFormat {
    mark: bool,
    max_len: u16,
}

impl Default for OsdpFormat {
    fn default() -> Self {
        OsdpFormat::new()
    }
}

impl OsdpFormat {
    /// A mark before each packet sent, LEN up to [`frame::MAX_LEN`] accepted.
    pub const fn new() -> OsdpFormat {
        OsdpFormat { mark: true, max_len: frame::MAX_LEN }
    }

    /// Whether to send the `FF` mark before each packet (the spec wants it; some peers choke on it).
    #[must_use]
    pub const fn with_mark(self, mark: bool) -> OsdpFormat {
        OsdpFormat { mark, ..self }
    }

    /// The largest LEN accepted when decoding (longer frames are garbage).
    #[must_use]
    pub const fn with_max_len(self, max_len: u16) -> OsdpFormat {
        OsdpFormat { max_len, ..self }
    }
}

impl FrameFormat for OsdpFormat {
    type Frame = DecodedFrame;
    type Reason = FrameError;

    fn find(&self, buf: &[u8]) -> Found<DecodedFrame, FrameError> {
        match frame::decode_with_max(buf, self.max_len) {
            Decoded::Frame { frame, consumed, packet } => {
                let marked = packet.start > 0;
                let raw = Bytes::copy_from_slice(buf.get(packet).unwrap_or_default());
                Found::Frame { frame: DecodedFrame { frame, raw, marked }, consumed }
            }
            Decoded::NeedMore => {
                // A run of marks (a line idling high) keeps one: the packet that follows is still "marked".
                let marks = buf.iter().take_while(|&&b| b == MARK).count();
                if marks > 1 { Found::Filler { count: marks - 1 } } else { Found::NeedMore }
            }
            Decoded::Skipped { count, reason } => Found::Skipped { count, reason },
        }
    }

    fn len_hint(&self, buf: &[u8]) -> Option<usize> {
        frame::frame_len_hint(buf)
    }

    fn truncated(&self, expected: usize, found: usize) -> FrameError {
        FrameError::Truncated { expected: expected.max(frame::HEADER_LEN + 2), found }
    }

    fn is_filler(&self, buf: &[u8]) -> bool {
        buf.iter().all(|&b| b == MARK)
    }
}

/// The OSDP packet codec: `khil-link`'s frame codec over [`OsdpFormat`], plus the encoder. Each frame comes with
/// its raw packet bytes.
pub type OsdpCodec = FrameCodec<OsdpFormat>;

impl Encoder<&OsdpFrame> for OsdpCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &OsdpFrame, dst: &mut BytesMut) -> Result<(), CodecError> {
        let bytes = item.try_encode(self.format().mark).map_err(CodecError::Frame)?;
        dst.extend_from_slice(&bytes);
        Ok(())
    }
}

impl Encoder<OsdpFrame> for OsdpCodec {
    type Error = CodecError;

    fn encode(&mut self, item: OsdpFrame, dst: &mut BytesMut) -> Result<(), CodecError> {
        Encoder::<&OsdpFrame>::encode(self, &item, dst)
    }
}
