//! Pseudo-terminal pairs: the simulator holds the master, a client opens the slave path like a serial port.
//!
//! Facts this module is built on (Linux, checked with a probe script; see ARCHITECTURE.md):
//! - before any client opens the slave, reads on the master block and writes are buffered for the client;
//! - when the last client closes the slave, master reads fail with EIO and poll reports POLLHUP, but writes
//!   still succeed and are delivered as stale bytes to the next client;
//! - termios settings of the slave survive client close/reopen while the master is open;
//! - when the master closes, slave reads return EOF and slave writes fail with EIO.
//!
//! Written on nix rather than with `serialport::TTYPort::pair()`: that keeps a slave descriptor open inside
//! the pair, so the master would never see a client leave, and a device that lives longer than one client
//! session needs exactly that signal.

use std::future::Future;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use nix::fcntl::{OFlag, open};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::stat::Mode;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::unix::pipe;

use crate::url::DeviceUrl;

/// What the master side does when the client closes the slave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientClose {
    /// Like a device on a real wire, which cannot tell whether the host has its port open: reads wait for
    /// the next client, and bytes written while no client is there are lost, as on a line nobody listens to.
    /// Simulators use this so that one process serves many client sessions.
    Wire,
    /// The link ends: reads return EOF and writes fail with `BrokenPipe`.
    Eof,
}

/// The master side of a pty pair in raw mode. Implements `AsyncRead + AsyncWrite`.
///
/// The master descriptor is registered with tokio twice (a duplicate for each direction) through tokio's
/// pipe types, whose `from_owned_fd_unchecked` accept any non-blocking descriptor: that gives readiness-driven
/// I/O without `unsafe` (`AsyncFd::register` is unsafe, and this workspace forbids unsafe code).
#[derive(Debug)]
pub struct PtyDevice {
    rx: pipe::Receiver,
    tx: pipe::Sender,
    slave_path: String,
    on_close: ClientClose,
    /// A client has written at least once since the slave was last seen closed.
    seen_client: bool,
    retry: Option<Pin<Box<tokio::time::Sleep>>>,
}

/// How often a device with no client re-checks whether one has opened the slave.
const CLIENT_RECHECK: std::time::Duration = std::time::Duration::from_millis(10);

impl PtyDevice {
    /// Makes a new pty pair with the slave in raw mode (no echo, no CR/LF translation, all 256 byte values
    /// pass). Returns the master; clients open [`PtyDevice::slave_path`]. Must run inside a tokio runtime.
    pub fn open(on_close: ClientClose) -> io::Result<Self> {
        let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
        grantpt(&master)?;
        unlockpt(&master)?;
        let slave_path = ptsname_r(&master)?;
        // Raw mode is a property of the slave tty and outlives this descriptor while the master is open.
        // Clients that open the path without setting raw mode themselves still get a transparent line.
        {
            let slave = open(slave_path.as_str(), OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC, Mode::empty())?;
            let mut t = tcgetattr(&slave)?;
            cfmakeraw(&mut t);
            tcsetattr(&slave, SetArg::TCSANOW, &t)?;
        }
        let master = OwnedFd::from(master);
        let reader = master.try_clone()?;
        Ok(Self {
            rx: pipe::Receiver::from_owned_fd_unchecked(reader)?,
            tx: pipe::Sender::from_owned_fd_unchecked(master)?,
            slave_path,
            on_close,
            seen_client: false,
            retry: None,
        })
    }

    /// The path a client opens, e.g. `/dev/pts/3`.
    pub fn slave_path(&self) -> &str {
        &self.slave_path
    }

    /// The URL a client uses: `serial:///dev/pts/N`.
    pub fn client_url(&self) -> DeviceUrl {
        DeviceUrl::serial(self.slave_path.clone())
    }

    /// True while no client has the slave open.
    fn no_client(&self) -> bool {
        let mut fds = [PollFd::new(self.tx.as_fd(), PollFlags::empty())];
        matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
            && fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLHUP))
    }
}

impl AsyncRead for PtyDevice {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            let before = buf.filled().len();
            match ready!(Pin::new(&mut self.rx).poll_read(cx, buf)) {
                Ok(()) => {
                    if buf.filled().len() > before {
                        self.seen_client = true;
                    }
                    self.retry = None;
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.raw_os_error() == Some(nix::libc::EIO) => {
                    // No client has the slave open.
                    if self.on_close == ClientClose::Eof && self.seen_client {
                        return Poll::Ready(Ok(()));
                    }
                    // Wire mode, or the raw-mode setup's close before the first client: wait for a client.
                    // Opening the slave does not wake the master, so re-check on a short timer. (An EIO
                    // leaves tokio's readiness set, so the next poll_read really calls read(2) again.)
                    self.seen_client = false;
                    let retry = self.retry.get_or_insert_with(|| Box::pin(tokio::time::sleep(CLIENT_RECHECK)));
                    ready!(retry.as_mut().poll(cx));
                    self.retry = None;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for PtyDevice {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.no_client() {
            match self.on_close {
                ClientClose::Wire => return Poll::Ready(Ok(buf.len())),
                ClientClose::Eof if self.seen_client => return Poll::Ready(Err(crate::error::peer_closed())),
                // Not yet connected: buffer for the client that is about to open the slave.
                ClientClose::Eof => {}
            }
        }
        Pin::new(&mut self.tx).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
