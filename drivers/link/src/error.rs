//! One error type for every link, and the normalisation of "the other end went away".

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::url::UrlError;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// The other end closed the link. Every platform spelling of that (EOF, EIO on a pty, EPIPE,
    /// ECONNRESET) ends up here.
    #[error("the other end closed the link")]
    PeerClosed,
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error("cannot open {url}: {source}")]
    Open { url: String, source: io::Error },
    #[error("{url}: {why}")]
    Unsupported { url: String, why: String },
    #[error("I/O error on the link: {0}")]
    Io(io::Error),
}

impl From<io::Error> for LinkError {
    fn from(e: io::Error) -> Self {
        if is_peer_closed(&e) { LinkError::PeerClosed } else { LinkError::Io(e) }
    }
}

/// True when `e` means the peer is gone, whatever the platform and link type reported.
pub fn is_peer_closed(e: &io::Error) -> bool {
    use io::ErrorKind as K;
    matches!(e.kind(), K::BrokenPipe | K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::NotConnected)
        || e.raw_os_error() == Some(nix::libc::EIO)
}

/// Wraps a link so that peer close always looks the same: reads end with EOF (`Ok(0)`), writes fail with
/// `ErrorKind::BrokenPipe`. A pty reports EIO, tokio-serial a raw EIO, TCP ECONNRESET or EPIPE, an in-memory
/// duplex BrokenPipe; code above this wrapper sees one thing.
#[derive(Debug)]
pub struct Normalized<L> {
    inner: L,
}

impl<L> Normalized<L> {
    pub fn new(inner: L) -> Self {
        Self { inner }
    }

    pub fn get_ref(&self) -> &L {
        &self.inner
    }

    pub fn into_inner(self) -> L {
        self.inner
    }
}

pub(crate) fn peer_closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the other end closed the link")
}

fn on_write<T>(r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
    match r {
        Poll::Ready(Err(e)) if is_peer_closed(&e) => Poll::Ready(Err(peer_closed())),
        other => other,
    }
}

impl<L: AsyncRead + Unpin> AsyncRead for Normalized<L> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Err(e)) if is_peer_closed(&e) => Poll::Ready(Ok(())),
            other => other,
        }
    }
}

impl<L: AsyncWrite + Unpin> AsyncWrite for Normalized<L> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        on_write(Pin::new(&mut self.inner).poll_write(cx, buf))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        on_write(Pin::new(&mut self.inner).poll_flush(cx))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.inner).poll_shutdown(cx) {
            // Shutting down a link whose peer already left is not an error.
            Poll::Ready(Err(e)) if is_peer_closed(&e) => Poll::Ready(Ok(())),
            other => other,
        }
    }
}
