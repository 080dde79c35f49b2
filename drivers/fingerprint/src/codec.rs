//! A tokio-util [`Decoder`]/[`Encoder`] for ZFM frames over [`crate::frame`].
//!
//! The decoder drops garbage and resynchronises on the next `EF 01`; what it dropped is counted in
//! [`ZfmCodec::skipped`] (no logging here), never reported as an error, so one bad byte on the line does not end a
//! `FramedRead`. It never panics, whatever the input.
//!
//! A header whose LEN was corrupted upwards (but stays within 2..=258) makes the decoder wait for up to 258 more
//! bytes before the checksum exposes it; frames behind it then come out late. A driver's per-reply timeout covers
//! that case; at end of stream [`Decoder::decode_eof`] recovers them.

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::frame::{self, Decoded, FrameError, ZfmFrame};

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

/// The ZFM frame codec.
#[derive(Debug, Clone, Default)]
pub struct ZfmCodec {
    skipped: SkipStats,
}

impl ZfmCodec {
    /// A codec with nothing skipped yet.
    pub fn new() -> ZfmCodec {
        ZfmCodec::default()
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

impl Decoder for ZfmCodec {
    type Item = ZfmFrame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ZfmFrame>, CodecError> {
        loop {
            match frame::decode(src) {
                Decoded::Frame { frame, consumed } => {
                    src.advance(consumed);
                    return Ok(Some(frame));
                }
                Decoded::NeedMore => {
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
    /// skip (whose `found` is the number of bytes left when the stream ended).
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<ZfmFrame>, CodecError> {
        let mut truncated = None;
        let mut dropped = 0;
        let found = loop {
            if let Some(frame) = self.decode(src)? {
                break Some(frame);
            }
            if src.is_empty() {
                break None;
            }
            truncated.get_or_insert_with(|| FrameError::Truncated {
                expected: frame::frame_len_hint(src).unwrap_or(frame::HEADER_LEN + frame::CHECKSUM_LEN),
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

impl Encoder<&ZfmFrame> for ZfmCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &ZfmFrame, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut bytes = Vec::with_capacity(item.encoded_len());
        item.encode_into(&mut bytes)?;
        dst.extend_from_slice(&bytes);
        Ok(())
    }
}

impl Encoder<ZfmFrame> for ZfmCodec {
    type Error = CodecError;

    fn encode(&mut self, item: ZfmFrame, dst: &mut BytesMut) -> Result<(), CodecError> {
        Encoder::<&ZfmFrame>::encode(self, &item, dst)
    }
}
