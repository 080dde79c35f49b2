//! A tokio-util [`Decoder`]/[`Encoder`] for ZFM frames over [`crate::frame`].
//!
//! The decoder drops garbage and resynchronises on the next `EF 01`; what it dropped is counted in
//! [`ZfmCodec::skipped`] (no logging here), never reported as an error, so one bad byte on the line does not end a
//! `FramedRead`. It never panics, whatever the input.
//!
//! A header whose LEN was corrupted upwards (but stays within 2..=258) makes the decoder wait for up to 258 more
//! bytes before the checksum exposes it; frames behind it then come out late. A driver's per-reply timeout covers
//! that case; at end of stream `tokio_util::codec::Decoder::decode_eof` recovers them.

use bytes::BytesMut;
use khil_link::framed::{Found, FrameCodec, FrameFormat};
use tokio_util::codec::Encoder;

use crate::frame::{self, Decoded, FrameError, ZfmFrame};

/// Garbage the decoder dropped so far.
pub type SkipStats = khil_link::SkipStats<FrameError>;

/// How ZFM frames are found in a byte stream ([`frame::decode`]); the framing mechanics are `khil-link`'s.
#[derive(Debug, Clone, Copy, Default)]
pub struct ZfmFormat;

impl FrameFormat for ZfmFormat {
    type Frame = ZfmFrame;
    type Reason = FrameError;

    fn find(&self, buf: &[u8]) -> Found<ZfmFrame, FrameError> {
        match frame::decode(buf) {
            Decoded::Frame { frame, consumed } => Found::Frame { frame, consumed },
            Decoded::NeedMore => Found::NeedMore,
            Decoded::Skipped { count, reason } => Found::Skipped { count, reason },
        }
    }

    fn len_hint(&self, buf: &[u8]) -> Option<usize> {
        frame::frame_len_hint(buf)
    }

    fn truncated(&self, expected: usize, found: usize) -> FrameError {
        FrameError::Truncated { expected: expected.max(frame::HEADER_LEN + frame::CHECKSUM_LEN), found }
    }
}

/// An encoding error or an I/O error from the underlying stream.
pub type CodecError = khil_link::CodecError<FrameError>;

/// The ZFM frame codec: `khil-link`'s frame codec over [`ZfmFormat`], plus the encoder.
pub type ZfmCodec = FrameCodec<ZfmFormat>;

impl Encoder<&ZfmFrame> for ZfmCodec {
    type Error = CodecError;

    fn encode(&mut self, item: &ZfmFrame, dst: &mut BytesMut) -> Result<(), CodecError> {
        let mut bytes = Vec::with_capacity(item.encoded_len());
        item.encode_into(&mut bytes).map_err(CodecError::Frame)?;
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
