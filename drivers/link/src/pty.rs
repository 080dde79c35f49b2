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
/// While a client has the slave open, the master is registered with tokio twice (a duplicate for each
/// direction) through tokio's pipe types, whose `from_owned_fd_unchecked` accept any non-blocking descriptor:
/// that gives readiness-driven I/O without `unsafe` (`AsyncFd::register` is unsafe, and this workspace forbids
/// unsafe code). While no client has it open, the master is not registered at all, and a short timer looks for
/// the next client: a master without a client reports POLLHUP, which tokio records as "read closed" for the life
/// of a registration and never clears, so a registration that ever saw a hang-up makes every later read that
/// finds no data try again at once instead of waiting (a busy loop of EAGAIN reads, one core per waiting
/// device). Each client session therefore gets a registration of its own.
#[derive(Debug)]
pub struct PtyDevice {
    master: OwnedFd,
    /// The registrations of the current client session; `None` while no client is there.
    io: Option<Registered>,
    slave_path: String,
    on_close: ClientClose,
    /// A client has had the slave open since this device was made (`Eof` mode ends when it leaves).
    seen_client: bool,
    retry: Option<Pin<Box<tokio::time::Sleep>>>,
}

#[derive(Debug)]
struct Registered {
    rx: pipe::Receiver,
    tx: pipe::Sender,
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
        Ok(Self { master: OwnedFd::from(master), io: None, slave_path, on_close, seen_client: false, retry: None })
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
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::empty())];
        matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
            && fds[0].revents().is_some_and(|r| r.contains(PollFlags::POLLHUP))
    }

    /// The registrations for a client that is there now, made afresh for each session; `None` without a client.
    fn session(&mut self) -> io::Result<Option<&mut Registered>> {
        if self.no_client() {
            self.io = None;
            return Ok(None);
        }
        self.seen_client = true;
        if self.io.is_none() {
            self.io = Some(Registered {
                rx: pipe::Receiver::from_owned_fd_unchecked(self.master.try_clone()?)?,
                tx: pipe::Sender::from_owned_fd_unchecked(self.master.try_clone()?)?,
            });
        }
        Ok(self.io.as_mut())
    }

    /// Waits `CLIENT_RECHECK` (opening the slave does not wake the master).
    fn poll_recheck(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let retry = self.retry.get_or_insert_with(|| Box::pin(tokio::time::sleep(CLIENT_RECHECK)));
        ready!(retry.as_mut().poll(cx));
        self.retry = None;
        Poll::Ready(())
    }
}

impl AsyncRead for PtyDevice {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        loop {
            let this = &mut *self;
            if this.io.is_none() && this.session()?.is_none() {
                if this.on_close == ClientClose::Eof && this.seen_client {
                    return Poll::Ready(Ok(()));
                }
                // Wire mode, or no client yet: wait for one.
                ready!(this.poll_recheck(cx));
                continue;
            }
            let Some(io) = &mut this.io else { continue };
            match ready!(Pin::new(&mut io.rx).poll_read(cx, buf)) {
                Ok(()) => return Poll::Ready(Ok(())),
                // The client closed the slave: this session's registrations go; the next client gets new ones.
                Err(e) if e.raw_os_error() == Some(nix::libc::EIO) => this.io = None,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for PtyDevice {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // Checked before every write, not taken from the reader's view: a client may have left a moment ago, and
        // what is written then must not wait in the pty for the next one.
        if this.session()?.is_none() {
            return match this.on_close {
                ClientClose::Wire => Poll::Ready(Ok(buf.len())),
                ClientClose::Eof if this.seen_client => Poll::Ready(Err(crate::error::peer_closed())),
                // Not yet connected: buffer in the pty for the client that is about to open the slave.
                ClientClose::Eof => match nix::unistd::write(&this.master, buf) {
                    Ok(n) => Poll::Ready(Ok(n)),
                    Err(nix::errno::Errno::EAGAIN) => {
                        ready!(this.poll_recheck(cx));
                        cx.waker().wake_by_ref();
                        Poll::Pending
                    }
                    Err(e) => Poll::Ready(Err(e.into())),
                },
            };
        }
        match &mut this.io {
            Some(io) => Pin::new(&mut io.tx).poll_write(cx, buf),
            None => Poll::Ready(Ok(buf.len())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
