//! A tokio-util [`Decoder`]/[`Encoder`] for OSDP packets over [`crate::frame`].
//!
//! The decoder drops garbage and resynchronises on the next `53` (or `FF` mark); what it dropped is counted in
//! [`OsdpCodec::skipped`] (no logging here), never reported as an error, so one bad byte on the line does not end
//! a `FramedRead`. It never panics, whatever the input. Mark bytes are not garbage: a run of them (an idle line
//! that idles high) is collapsed to one without being counted.
//!
//! Each frame comes with its raw packet bytes ([`DecodedFrame::raw`]), so that the secure channel can check the
//! MAC over exactly what was received ([`DecodedFrame::mac_input`]).
//!
//! A header whose LEN was corrupted upwards (but stays within the limit) makes the decoder wait for up to
//! [`frame::MAX_LEN`] bytes before the CRC exposes it; the frames behind it then come out late. A driver's reply
//! timeout covers that case; at end of stream [`Decoder::decode_eof`] recovers them.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::frame::{self, Decoded, FrameError, MARK, OsdpFrame};

/// Garbage the decoder dropped so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkipStats {
    /// Bytes dropped.
    pub bytes: u64,
    /// Separate drops (one per reason reported by [`frame::decode`], plus a truncated frame at end of stream).
    pub events: u64,
    /// The reason for the latest drop.
    pub last: Option<FrameError>,
}

/// An encoding error or an I/O error from the underlying stream.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The frame cannot be encoded.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// The stream failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

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

/// The OSDP packet codec.
#[derive(Debug, Clone)]
pub struct OsdpCodec {
    skipped: SkipStats,
    mark: bool,
    max_len: u16,
}

impl Default for OsdpCodec {
    fn default() -> Self {
        OsdpCodec::new()
    }
}

impl OsdpCodec {
    /// A codec that sends a mark before each packet and accepts LEN up to [`frame::MAX_LEN`].
    pub fn new() -> OsdpCodec {
        OsdpCodec { skipped: SkipStats::default(), mark: true, max_len: frame::MAX_LEN }
    }

    /// Whether to send the `FF` mark before each packet (the spec wants it; some peers choke on it).
    #[must_use]
    pub fn with_mark(mut self, mark: bool) -> OsdpCodec {
        self.mark = mark;
        self
    }

    /// The largest LEN accepted when decoding (longer frames are garbage).
    #[must_use]
    pub fn with_max_len(mut self, max_len: u16) -> OsdpCodec {
        self.max_len = max_len;
        self
    }

    /// Garbage dropped so far.
    pub fn skipped(&self) -> &SkipStats {
        &self.skipped
    }

    /// Returns the garbage statistics and resets them.
    pub fn take_skipped(&mut self) -> SkipStats {
        std::mem::take(&mut self.skipped)
    }

    fn record(&mut self, count: usize, reason: FrameError) {
        self.skipped.bytes += count as u64;
        self.skipped.events += 1;
        self.skipped.last = Some(reason);
    }
}

impl Decoder for OsdpCodec {
    type Item = DecodedFrame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<DecodedFrame>, CodecError> {
        loop {
            match frame::decode_with_max(src, self.max_len) {
                Decoded::Frame { frame, consumed, packet } => {
                    let mut bytes = src.split_to(consumed.min(src.len())).freeze();
                    let raw = bytes.split_off(packet.start.min(bytes.len()));
                    return Ok(Some(DecodedFrame { frame, raw, marked: packet.start > 0 }));
                }
                Decoded::NeedMore => {
                    let marks = src.iter().take_while(|&&b| b == MARK).count();
                    if marks > 1 {
                        src.advance(marks - 1);
                    }
                    if let Some(total) = frame::frame_len_hint(src) {
                        src.reserve(total.saturating_sub(src.len()));
                    }
                    return Ok(None);
                }
                Decoded::Skipped { count, reason } => {
                    src.advance(count.min(src.len()));
                    self.record(count, reason);
                }
            }
        }
    }

    /// At end of stream a partial frame is garbage, but a LEN corrupted upwards may have hidden complete frames
    /// behind it: drop one byte at a time and keep looking. The bytes dropped this way count as one `Truncated`
    /// skip (whose `found` is the number of bytes left when the stream ended); trailing marks are dropped silently.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<DecodedFrame>, CodecError> {
        let mut truncated = None;
        let mut dropped = 0;
        let found = loop {
            if let Some(frame) = self.decode(src)? {
                break Some(frame);
            }
            if src.iter().all(|&b| b == MARK) {
                src.clear();
                break None;
            }
            truncated.get_or_insert_with(|| FrameError::Truncated {
                expected: frame::frame_len_hint(src).unwrap_or(frame::HEADER_LEN + 2),
                found: src.len(),
            });
            src.advance(1);
            dropped += 1;
        };
        if let Some(reason) = truncated {
            self.record(dropped, reason);
        }
        Ok(found)
    }
}

impl Encoder<&OsdpFrame> for OsdpCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &OsdpFrame, dst: &mut BytesMut) -> Result<(), CodecError> {
        let bytes = item.try_encode(self.mark)?;
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
