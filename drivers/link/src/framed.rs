//! Frames over a link, for every protocol. A protocol says how to find one frame at the start of a buffer
//! ([`FrameFormat`], pure); everything else is written once here: the tokio-util [`Decoder`] ([`FrameCodec`]) that
//! drops garbage and counts it ([`SkipStats`]) instead of failing, the recovery at end of stream, and
//! [`FramedLink`], the framed read with a deadline that drivers, simulators and conformance DUTs share. A DUT
//! that must see every piece of garbage and why it is garbage gets it from [`FramedLink::next`] — nobody decodes
//! beside the codec to learn the reason.

use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_util::codec::Decoder;

use crate::{Link, LinkError};

/// Bytes asked of the link per read.
const READ_CHUNK: usize = 4096;

/// What a frame format found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found<F, R> {
    /// A complete, valid frame in the first `consumed` bytes.
    Frame { frame: F, consumed: usize },
    /// The buffer is empty or holds the start of what may be a frame: more bytes are needed.
    NeedMore,
    /// The first `count` bytes (at least one) are not a frame, for `reason`.
    Skipped { count: usize, reason: R },
    /// The first `count` bytes are an idle line's fill (OSDP's marks), neither a frame nor garbage: dropped
    /// without being counted, so that a line idling high does not fill the buffer.
    Filler { count: usize },
}

/// How one protocol finds its frames. Pure: no I/O, no clocks, never panics on any input.
pub trait FrameFormat {
    type Frame;
    /// Why bytes were not a frame.
    type Reason: Clone + std::fmt::Debug + std::fmt::Display;

    /// The frame (or garbage) at the start of `buf`.
    fn find(&self, buf: &[u8]) -> Found<Self::Frame, Self::Reason>;

    /// The whole length of the frame whose header starts `buf`, once the header says it.
    fn len_hint(&self, buf: &[u8]) -> Option<usize>;

    /// The reason for the bytes left when the stream ended inside a frame of `expected` bytes.
    fn truncated(&self, expected: usize, found: usize) -> Self::Reason;

    /// Whether bytes left at end of stream are only an idle line's fill (dropped silently then).
    fn is_filler(&self, _buf: &[u8]) -> bool {
        false
    }
}

/// A codec's error: a frame that cannot be encoded (the format's error `E`), or the stream under it failed.
#[derive(Debug, thiserror::Error)]
pub enum CodecError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Frame(E),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Garbage dropped so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipStats<R> {
    /// Bytes dropped.
    pub bytes: u64,
    /// Separate drops (one per reason the format gave, plus a truncated frame at end of stream).
    pub events: u64,
    /// The reason for the latest drop.
    pub last: Option<R>,
}

impl<R> Default for SkipStats<R> {
    fn default() -> Self {
        SkipStats { bytes: 0, events: 0, last: None }
    }
}

impl<R> SkipStats<R> {
    fn record(&mut self, count: usize, reason: R) {
        self.bytes += count as u64;
        self.events += 1;
        self.last = Some(reason);
    }
}

/// One thing read off the line: a frame with its bytes, or bytes that are not a frame with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received<F, R> {
    Frame { frame: F, raw: Bytes },
    Skipped { raw: Bytes, reason: R },
}

/// A tokio-util codec over a [`FrameFormat`]: garbage is dropped and counted, never an error, so one bad byte
/// does not end a `FramedRead`. At end of stream a partial frame is garbage, but a length field corrupted upwards
/// may have hidden whole frames behind it: the decoder then drops one byte at a time and keeps looking.
#[derive(Debug, Clone, Default)]
pub struct FrameCodec<P: FrameFormat> {
    format: P,
    skipped: SkipStats<P::Reason>,
}

impl<P: FrameFormat + Default> FrameCodec<P> {
    pub fn new() -> Self {
        FrameCodec { format: P::default(), skipped: SkipStats::default() }
    }
}

impl<P: FrameFormat> FrameCodec<P> {
    pub fn with_format(format: P) -> Self {
        FrameCodec { format, skipped: SkipStats::default() }
    }

    pub fn format(&self) -> &P {
        &self.format
    }

    /// Garbage dropped so far.
    pub fn skipped(&self) -> &SkipStats<P::Reason> {
        &self.skipped
    }

    /// Returns the garbage statistics and resets them.
    pub fn take_skipped(&mut self) -> SkipStats<P::Reason> {
        std::mem::take(&mut self.skipped)
    }

    /// The next frame or piece of garbage in `src` (consumed from it), `None` when more bytes are needed.
    fn next(&mut self, src: &mut BytesMut) -> Option<Received<P::Frame, P::Reason>> {
        match self.format.find(src) {
            Found::Frame { frame, consumed } => Some(Received::Frame { frame, raw: src.split_to(consumed).freeze() }),
            Found::NeedMore => {
                if let Some(total) = self.format.len_hint(src) {
                    src.reserve(total.saturating_sub(src.len()));
                }
                None
            }
            Found::Filler { count } => {
                src.advance(count.max(1).min(src.len()));
                self.next(src)
            }
            Found::Skipped { count, reason } => {
                // At least one byte, so that a format's mistake cannot stall the line; at most what is there.
                let raw = src.split_to(count.max(1).min(src.len())).freeze();
                self.skipped.record(raw.len(), reason.clone());
                Some(Received::Skipped { raw, reason })
            }
        }
    }

    /// At end of stream: the next frame hidden in what is left, dropping one byte at a time; what is dropped
    /// this way is one skip of a truncated frame.
    fn next_at_eof(&mut self, src: &mut BytesMut) -> Option<Received<P::Frame, P::Reason>> {
        if let item @ Some(_) = self.next(src) {
            return item;
        }
        if src.is_empty() || self.format.is_filler(src) {
            src.clear();
            return None;
        }
        let expected = self.format.len_hint(src).unwrap_or(src.len() + 1);
        let reason = self.format.truncated(expected, src.len());
        // The truncated frame's first byte goes, then everything up to the next place a whole frame starts. Where
        // the format says bytes cannot start a frame (skipped, filler) they go in one step: trying every single
        // position would cost the length of what is left each time, quadratic in a truncated 300 kB page.
        let mut dropped = BytesMut::new();
        dropped.extend_from_slice(&src.split_to(1));
        while !src.is_empty() {
            let step = match self.format.find(src) {
                Found::Frame { .. } => break,
                Found::Skipped { count, .. } | Found::Filler { count } => count.max(1),
                Found::NeedMore => 1,
            };
            dropped.extend_from_slice(&src.split_to(step.min(src.len())));
        }
        self.skipped.record(dropped.len(), reason.clone());
        Some(Received::Skipped { raw: dropped.freeze(), reason })
    }
}

impl<P: FrameFormat> Decoder for FrameCodec<P> {
    type Item = P::Frame;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<P::Frame>, std::io::Error> {
        while let Some(item) = self.next(src) {
            if let Received::Frame { frame, .. } = item {
                return Ok(Some(frame));
            }
        }
        Ok(None)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<P::Frame>, std::io::Error> {
        while let Some(item) = self.next_at_eof(src) {
            if let Received::Frame { frame, .. } = item {
                return Ok(Some(frame));
            }
        }
        Ok(None)
    }
}

/// Frames over a link with deadlines: the one framed read of drivers, simulators and DUTs.
#[derive(Debug)]
pub struct FramedLink<L, P: FrameFormat> {
    link: L,
    rx: BytesMut,
    codec: FrameCodec<P>,
    /// The link reported end of stream; reads are not retried.
    eof: bool,
}

impl<L: Link, P: FrameFormat> FramedLink<L, P> {
    pub fn new(link: L, format: P) -> Self {
        FramedLink { link, rx: BytesMut::with_capacity(READ_CHUNK), codec: FrameCodec::with_format(format), eof: false }
    }

    pub fn into_inner(self) -> L {
        self.link
    }

    pub fn codec(&self) -> &FrameCodec<P> {
        &self.codec
    }

    /// Garbage the format dropped since the last call.
    pub fn take_skipped(&mut self) -> SkipStats<P::Reason> {
        self.codec.take_skipped()
    }

    /// Bytes read but not decoded yet.
    pub fn buffered(&self) -> &[u8] {
        &self.rx
    }

    /// Drops up to `n` buffered bytes (a DUT that knows the rest of a corrupt frame goes with it).
    pub fn discard(&mut self, n: usize) {
        self.rx.advance(n.min(self.rx.len()));
    }

    /// Writes `bytes` and flushes. `Ok(false)`: the deadline passed first (the line stalled).
    pub async fn send(&mut self, bytes: &[u8], deadline: Instant) -> Result<bool, LinkError> {
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

    /// The next frame or piece of garbage (with its bytes and why), `None` if the deadline passes first. After
    /// end of stream, what is buffered still comes out; then `PeerClosed`.
    pub async fn next(&mut self, deadline: Instant) -> Result<Option<Received<P::Frame, P::Reason>>, LinkError> {
        loop {
            if self.eof {
                return self.codec.next_at_eof(&mut self.rx).map(Some).ok_or(LinkError::PeerClosed);
            }
            if let Some(item) = self.codec.next(&mut self.rx) {
                return Ok(Some(item));
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

    /// The next frame or piece of garbage, read the way a device's UART receiver reads: while a frame is
    /// incomplete each read waits at most `idle` for more bytes (a client may write a byte at a time); when the line
    /// stays quiet that long inside a frame, the frame's first byte is dropped and `Ok(None)` says so (the search
    /// goes on at the next call). With nothing buffered it waits as long as it takes; `idle: None` never drops.
    pub async fn next_idle(
        &mut self,
        idle: Option<Duration>,
    ) -> Result<Option<Received<P::Frame, P::Reason>>, LinkError> {
        loop {
            if self.eof {
                return self.codec.next_at_eof(&mut self.rx).map(Some).ok_or(LinkError::PeerClosed);
            }
            if let Some(item) = self.codec.next(&mut self.rx) {
                return Ok(Some(item));
            }
            let partial = !self.rx.is_empty();
            self.rx.reserve(READ_CHUNK);
            let read = self.link.read_buf(&mut self.rx);
            let read = match idle.filter(|_| partial) {
                Some(idle) => timeout(idle, read).await,
                None => Ok(read.await),
            };
            match read {
                Err(_) => {
                    self.rx.advance(1);
                    return Ok(None);
                }
                Ok(Ok(0)) => self.eof = true,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(LinkError::from(e)),
            }
        }
    }

    /// The next valid frame, or `None` if the deadline passes first. Garbage is skipped and counted.
    pub async fn recv(&mut self, deadline: Instant) -> Result<Option<P::Frame>, LinkError> {
        loop {
            match self.next(deadline).await? {
                Some(Received::Frame { frame, .. }) => return Ok(Some(frame)),
                Some(Received::Skipped { .. }) => {}
                None => return Ok(None),
            }
        }
    }

    /// Discards buffered bytes and everything that arrives until the line has been silent for `quiet` (or
    /// `limit` has passed). Returns the bytes discarded (all of them; the caller decides how many to show).
    pub async fn drain(&mut self, quiet: Duration, limit: Duration) -> Result<Vec<u8>, LinkError> {
        let mut dropped = self.rx.split().to_vec();
        if self.eof {
            return Err(LinkError::PeerClosed);
        }
        let end = Instant::now().checked_add(limit).unwrap_or_else(|| Instant::now() + Duration::from_hours(24));
        let mut scratch = [0u8; READ_CHUNK];
        while Instant::now() < end {
            match timeout(quiet, self.link.read(&mut scratch)).await {
                Err(_) => break,
                Ok(Ok(0)) => {
                    self.eof = true;
                    return Err(LinkError::PeerClosed);
                }
                Ok(Ok(n)) => dropped.extend_from_slice(&scratch[..n]),
                Ok(Err(e)) => return Err(LinkError::from(e)),
            }
        }
        Ok(dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy format: frames are `[0xAA, len, payload...]`; any other first byte is one byte of garbage.
    #[derive(Debug, Default, Clone)]
    struct Toy;

    impl FrameFormat for Toy {
        type Frame = Vec<u8>;
        type Reason = String;

        fn find(&self, buf: &[u8]) -> Found<Vec<u8>, String> {
            match buf {
                [0xAA, len, rest @ ..] if rest.len() >= usize::from(*len) => {
                    Found::Frame { frame: rest[..usize::from(*len)].to_vec(), consumed: 2 + usize::from(*len) }
                }
                [] | [0xAA, ..] => Found::NeedMore,
                [b, ..] => Found::Skipped { count: 1, reason: format!("{b:02X} is not a start byte") },
            }
        }

        fn len_hint(&self, buf: &[u8]) -> Option<usize> {
            match buf {
                [0xAA, len, ..] => Some(2 + usize::from(*len)),
                _ => None,
            }
        }

        fn truncated(&self, expected: usize, found: usize) -> String {
            format!("truncated: {found} of {expected} bytes")
        }
    }

    #[tokio::test(start_paused = true)]
    async fn frames_garbage_deadlines_and_end_of_stream() {
        let (a, mut b) = crate::memory_pair();
        let mut framed = FramedLink::new(a, Toy);
        b.write_all(&[0x01, 0xAA, 2, 7, 8, 0xAA, 9, 1]).await.unwrap();
        let deadline = Instant::now() + Duration::from_millis(50);
        let skip = framed.next(deadline).await.unwrap().unwrap();
        assert_eq!(
            skip,
            Received::Skipped { raw: Bytes::from_static(&[0x01]), reason: "01 is not a start byte".into() }
        );
        assert_eq!(framed.recv(deadline).await.unwrap(), Some(vec![7, 8]));
        assert_eq!(framed.recv(deadline).await.unwrap(), None, "a frame still short of its length waits");
        assert_eq!(framed.take_skipped().events, 1);
        // The length 9 was a corrupted one: at end of stream the frame behind it comes out.
        b.write_all(&[0xAA, 1, 5]).await.unwrap();
        drop(b);
        let later = Instant::now() + Duration::from_millis(50);
        let Some(Received::Skipped { raw, reason }) = framed.next(later).await.unwrap() else { panic!() };
        assert_eq!((raw.as_ref(), reason.as_str()), (&[0xAA, 9, 1][..], "truncated: 6 of 11 bytes"));
        assert_eq!(framed.recv(later).await.unwrap(), Some(vec![5]));
        assert!(matches!(framed.recv(later).await, Err(LinkError::PeerClosed)));
    }
}
