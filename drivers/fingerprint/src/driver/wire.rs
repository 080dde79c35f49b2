//! Frames over a link with deadlines: the only place the driver touches I/O.

use std::time::Duration;

use bytes::{Buf, BytesMut};
use khil_link::{Link, LinkError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_util::codec::Decoder;

use crate::codec::{CodecError, SkipStats, ZfmCodec};
use crate::frame::ZfmFrame;

/// Bytes asked of the link per read; a full 256-byte data packet frame is 267.
const READ_CHUNK: usize = 4096;

fn codec_error(e: CodecError) -> LinkError {
    match e {
        CodecError::Io(e) => LinkError::from(e),
        // The decoder only fails on I/O; an encoding error cannot reach here.
        CodecError::Frame(e) => LinkError::Io(std::io::Error::other(e)),
    }
}

#[derive(Debug)]
pub(crate) struct Wire<L> {
    link: L,
    rx: BytesMut,
    codec: ZfmCodec,
    /// The link reported end of stream; reads will not be retried.
    eof: bool,
}

impl<L: Link> Wire<L> {
    pub(crate) fn new(link: L) -> Self {
        Wire { link, rx: BytesMut::with_capacity(READ_CHUNK), codec: ZfmCodec::new(), eof: false }
    }

    pub(crate) fn into_inner(self) -> L {
        self.link
    }

    /// Garbage the decoder dropped since the last call.
    pub(crate) fn take_skipped(&mut self) -> SkipStats {
        self.codec.take_skipped()
    }

    /// Writes `bytes` and flushes. `Ok(false)`: the deadline passed first (the line stalled).
    pub(crate) async fn send(&mut self, bytes: &[u8], deadline: Instant) -> Result<bool, LinkError> {
        if self.eof {
            return Err(LinkError::PeerClosed);
        }
        let link = &mut self.link;
        let write = async move {
            link.write_all(bytes).await?;
            link.flush().await
        };
        match timeout_at(deadline, write).await {
            Ok(Ok(())) => Ok(true),
            Ok(Err(e)) => Err(LinkError::from(e)),
            Err(_) => Ok(false),
        }
    }

    /// The next valid frame, or `None` if the deadline passes first. Garbage is skipped (and counted by the codec).
    pub(crate) async fn recv(&mut self, deadline: Instant) -> Result<Option<ZfmFrame>, LinkError> {
        loop {
            if let Some(frame) = self.codec.decode(&mut self.rx).map_err(codec_error)? {
                return Ok(Some(frame));
            }
            if self.eof {
                // Frames hidden behind a LEN corrupted upwards come out here; after them, the line is gone.
                return match self.codec.decode_eof(&mut self.rx).map_err(codec_error)? {
                    Some(frame) => Ok(Some(frame)),
                    None => Err(LinkError::PeerClosed),
                };
            }
            self.rx.reserve(READ_CHUNK);
            match timeout_at(deadline, self.link.read_buf(&mut self.rx)).await {
                Err(_) => return Ok(None),
                Ok(Ok(0)) => self.eof = true,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(LinkError::from(e)),
            }
        }
    }

    /// Discards buffered bytes and everything that arrives until the line has been silent for `quiet` (or
    /// `limit` has passed). Returns the bytes discarded.
    pub(crate) async fn drain(&mut self, quiet: Duration, limit: Duration) -> Result<usize, LinkError> {
        let mut dropped = self.rx.len();
        self.rx.clear();
        if self.eof {
            return Err(LinkError::PeerClosed);
        }
        let end = Instant::now() + limit;
        let mut scratch = [0u8; READ_CHUNK];
        while Instant::now() < end {
            match timeout(quiet, self.link.read(&mut scratch)).await {
                Err(_) => return Ok(dropped),
                Ok(Ok(0)) => {
                    self.eof = true;
                    return Err(LinkError::PeerClosed);
                }
                Ok(Ok(n)) => dropped += n,
                Ok(Err(e)) => return Err(LinkError::from(e)),
            }
        }
        Ok(dropped)
    }

    /// Bytes already read but not yet decoded.
    pub(crate) fn buffered(&self) -> usize {
        self.rx.remaining()
    }
}
