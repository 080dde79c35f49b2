//! tokio-util codecs for both channels: how each format finds its frames ([`khil_link::FrameFormat`]); the
//! framing mechanics (garbage dropped and counted in [`khil_link::SkipStats`], never an error; recovery at end of
//! stream) are `khil-link`'s, as for every khil protocol.

use bytes::BytesMut;
use khil_link::framed::{Found, FrameCodec, FrameFormat};
use tokio_util::codec::Encoder;

use crate::frame::{self, Frame, FrameError};
use crate::rte::{self, RteError, RteFormat, RteFrame};

impl FrameFormat for RteFormat {
    type Frame = RteFrame;
    type Reason = RteError;

    fn find(&self, buf: &[u8]) -> Found<RteFrame, RteError> {
        match self.decode(buf) {
            rte::Decoded::Frame { frame, consumed } => Found::Frame { frame, consumed },
            rte::Decoded::NeedMore => Found::NeedMore,
            rte::Decoded::Skipped { count, reason } => Found::Skipped { count, reason },
        }
    }

    fn len_hint(&self, buf: &[u8]) -> Option<usize> {
        RteFormat::len_hint(*self, buf).map(|n| n.min(self.max_len()))
    }

    fn truncated(&self, expected: usize, found: usize) -> RteError {
        RteError::Truncated { expected: expected.max(self.min_len()), found }
    }
}

/// The RTE native codec: `khil-link`'s frame codec over [`RteFormat`], plus the encoder (for simulators).
pub type RteCodec = FrameCodec<RteFormat>;

/// An encoding error or an I/O error of the stream under a codec.
pub type CodecError<E> = khil_link::CodecError<E>;

impl Encoder<&RteFrame> for RteCodec {
    type Error = CodecError<RteError>;

    fn encode(&mut self, item: &RteFrame, dst: &mut BytesMut) -> Result<(), Self::Error> {
        let bytes = self.format().encode(item).map_err(CodecError::Frame)?;
        dst.extend_from_slice(&bytes);
        Ok(())
    }
}

/// How khil's channel finds its frames ([`frame::decode`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct KhilFormat;

impl FrameFormat for KhilFormat {
    type Frame = Frame;
    type Reason = FrameError;

    fn find(&self, buf: &[u8]) -> Found<Frame, FrameError> {
        match frame::decode(buf) {
            frame::Decoded::Frame { frame, consumed } => Found::Frame { frame, consumed },
            frame::Decoded::NeedMore => Found::NeedMore,
            frame::Decoded::Skipped { count, reason } => Found::Skipped { count, reason },
        }
    }

    fn len_hint(&self, buf: &[u8]) -> Option<usize> {
        frame::len_hint(buf)
    }

    fn truncated(&self, expected: usize, found: usize) -> FrameError {
        FrameError::Truncated { expected: expected.max(frame::HEADER_LEN + frame::CRC_LEN), found }
    }
}

/// khil's channel codec: `khil-link`'s frame codec over [`KhilFormat`], plus the encoder.
pub type KhilCodec = FrameCodec<KhilFormat>;

impl Encoder<&Frame> for KhilCodec {
    type Error = CodecError<FrameError>;

    fn encode(&mut self, item: &Frame, dst: &mut BytesMut) -> Result<(), Self::Error> {
        let mut bytes = Vec::with_capacity(item.encoded_len());
        item.encode_into(&mut bytes).map_err(CodecError::Frame)?;
        dst.extend_from_slice(&bytes);
        Ok(())
    }
}
