//! Line-rate pacing: a link wrapper that moves bytes no faster than a UART at a given baud and framing.
//!
//! A pty or an in-memory link moves bytes at memory speed whatever baud the client set; a real module at
//! 57600 baud 8N1 takes 10/57600 s per byte. A simulator wraps its link in [`Paced`] so that, say, an image
//! upload takes as long as on the real line. Time comes from tokio's clock, so tests on the paused clock
//! are exact and take no wall time.
//!
//! Each direction is its own line (UARTs are full duplex). A chunk of bytes is handed on only once its last
//! stop bit would have arrived; chunks are at most about a millisecond of line time, like a UART FIFO.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::url::Framing;

/// Baud rate and character framing of an asynchronous serial line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRate {
    pub baud: u32,
    pub framing: Framing,
}

impl LineRate {
    /// 8N1 at `baud`.
    pub fn new(baud: u32) -> Self {
        assert!(baud > 0, "a line rate needs a positive baud rate");
        Self { baud, framing: Framing::EIGHT_N_ONE }
    }

    /// Time the line needs for `chars` characters, rounded up to the nanosecond.
    pub fn time_for(self, chars: u64) -> Duration {
        let bits = u128::from(chars) * u128::from(self.framing.bits_per_char());
        let ns = (bits * 1_000_000_000).div_ceil(u128::from(self.baud));
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// Characters per second the line carries at most.
    pub fn chars_per_second(self) -> f64 {
        f64::from(self.baud) / f64::from(self.framing.bits_per_char())
    }

    /// Largest chunk handed on at once: about one millisecond of line time, at least one character.
    fn chunk(self) -> usize {
        ((self.chars_per_second() / 1000.0) as usize).clamp(1, 64)
    }
}

/// tokio's timer wheel has millisecond resolution: a sleep ends up to this much after its deadline.
const TIMER_SLACK: Duration = Duration::from_millis(2);

/// How far a writer that never stopped may fall behind the line's schedule and still catch up. A module
/// streaming an image keeps its UART busy back to back; when the host's scheduler wakes the pacing late, the
/// bytes it owes go out at once rather than being lost to the line (a re-anchor would add every late wake-up to
/// the transfer time). Bytes never arrive before their line time measured from the start of the busy period.
const MAX_CATCH_UP: Duration = Duration::from_millis(100);

/// One direction of the line: when the line falls idle and the characters scheduled since.
#[derive(Debug)]
struct LineClock {
    rate: LineRate,
    /// Start of the current busy period; `chars` characters have been scheduled since.
    anchor: Instant,
    chars: u64,
    /// A chunk of `usize` characters waiting for its last bit.
    armed: Option<(usize, Pin<Box<Sleep>>)>,
    /// Characters whose line time has passed but which are not yet handed on.
    credit: usize,
    /// When the credit last ran out: a chunk asked for right after comes from a writer with more to send.
    spent_at: Option<Instant>,
}

impl LineClock {
    fn new(rate: LineRate) -> Self {
        Self { rate, anchor: Instant::now(), chars: 0, armed: None, credit: 0, spent_at: None }
    }

    /// Waits until up to `available` characters may pass; returns how many (always >= 1 when available > 0).
    fn poll_budget(&mut self, cx: &mut Context<'_>, available: usize) -> Poll<usize> {
        if available == 0 {
            return Poll::Ready(0);
        }
        loop {
            if self.credit > 0 {
                return Poll::Ready(self.credit.min(available));
            }
            if let Some((k, sleep)) = &mut self.armed {
                ready!(sleep.as_mut().poll(cx));
                self.credit = *k;
                self.armed = None;
                continue;
            }
            let now = Instant::now();
            let schedule = self.anchor + self.rate.time_for(self.chars);
            let writer_kept_on = self.spent_at.is_some_and(|t| now.saturating_duration_since(t) <= TIMER_SLACK);
            let behind = now.saturating_duration_since(schedule);
            if behind > TIMER_SLACK && !(writer_kept_on && behind <= MAX_CATCH_UP) {
                // The line fell idle: a new busy period starts now.
                self.anchor = now;
                self.chars = 0;
            }
            let k = available.min(self.rate.chunk());
            self.chars += k as u64;
            let due = self.anchor + self.rate.time_for(self.chars);
            self.armed = Some((k, Box::pin(tokio::time::sleep_until(due))));
        }
    }

    fn spend(&mut self, n: usize) {
        self.credit -= n;
        if self.credit == 0 {
            self.spent_at = Some(Instant::now());
        }
    }
}

/// Wraps a link so that each paced direction carries bytes no faster than its [`LineRate`].
#[derive(Debug)]
pub struct Paced<L> {
    inner: L,
    tx: Option<LineClock>,
    rx: Option<LineClock>,
    /// Bytes read from `inner` that the receive line has not yet delivered.
    rx_buf: Vec<u8>,
    rx_pos: usize,
}

impl<L> Paced<L> {
    /// Paces what this side writes (a simulator's replies).
    pub fn tx(inner: L, rate: LineRate) -> Self {
        Self { inner, tx: Some(LineClock::new(rate)), rx: None, rx_buf: Vec::new(), rx_pos: 0 }
    }

    /// Paces both directions: writes leave, and reads arrive, at line rate.
    pub fn both(inner: L, rate: LineRate) -> Self {
        Self { rx: Some(LineClock::new(rate)), ..Self::tx(inner, rate) }
    }

    pub fn into_inner(self) -> L {
        self.inner
    }
}

impl<L: AsyncWrite + Unpin> AsyncWrite for Paced<L> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let Some(clock) = &mut this.tx else { return Pin::new(&mut this.inner).poll_write(cx, buf) };
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let k = ready!(clock.poll_budget(cx, buf.len()));
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..k]))?;
        clock.spend(n);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<L: AsyncRead + Unpin> AsyncRead for Paced<L> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let Some(clock) = &mut this.rx else { return Pin::new(&mut this.inner).poll_read(cx, buf) };
        if this.rx_pos == this.rx_buf.len() {
            // Nothing waiting on the line: take what the other end has sent so far.
            this.rx_buf.resize(4096, 0);
            this.rx_pos = 0;
            let mut fill = ReadBuf::new(&mut this.rx_buf);
            let r = Pin::new(&mut this.inner).poll_read(cx, &mut fill);
            let got = fill.filled().len();
            this.rx_buf.truncate(got);
            ready!(r)?;
            if got == 0 {
                return Poll::Ready(Ok(())); // EOF
            }
        }
        let waiting = this.rx_buf.len() - this.rx_pos;
        let k = ready!(clock.poll_budget(cx, waiting.min(buf.remaining())));
        buf.put_slice(&this.rx_buf[this.rx_pos..this.rx_pos + k]);
        this.rx_pos += k;
        clock.spend(k);
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_time_is_exact() {
        let r = LineRate::new(9600);
        assert_eq!(r.time_for(1), Duration::from_nanos(1_041_667));
        assert_eq!(r.time_for(9600), Duration::from_secs(10));
        assert_eq!(LineRate::new(115_200).time_for(11_520), Duration::from_secs(1));
        let r = LineRate { baud: 57600, framing: "8E1".parse().unwrap() };
        assert_eq!(r.time_for(57600), Duration::from_secs(11));
        assert_eq!(LineRate::new(9600).chunk(), 1);
        assert_eq!(LineRate::new(115_200).chunk(), 11);
        assert_eq!(LineRate::new(4_000_000).chunk(), 64);
    }
}
