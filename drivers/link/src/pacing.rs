//! Line-rate pacing: a link wrapper that moves bytes no faster than a UART at a given baud and framing.
//!
//! A pty or an in-memory link moves bytes at memory speed whatever baud the client set; a real module at
//! 57600 baud 8N1 takes 10/57600 s per byte. A simulator wraps its link in [`Paced`] so that, say, an image
//! upload takes as long as on the real line. Time comes from tokio's clock, so tests on the paused clock
//! are exact and take no wall time.
//!
//! Each direction is its own line (UARTs are full duplex) with an exact schedule in nanoseconds: byte i of a
//! busy period is due when its stop bit would have arrived, `start + (i + 1) x character time`. Whenever the
//! wrapper is polled it hands on every byte already due, however many; when none is, it sleeps until the next
//! one is. tokio's timer wakes on whole milliseconds, so a sleep ends up to a millisecond after its byte was
//! due: the simulated line runs that much behind the wall clock. That lateness is carried, not added: a write
//! made soon after a release (the peer answering what it was just handed, or a writer going on with its
//! stream) is scheduled from when the released byte was due plus the time the writer took, so its first bytes
//! may already be due and go at once. A request/answer exchange then costs its line time, not whole
//! milliseconds per packet, and no byte ever reaches the other end before its line time counted from the
//! start of the exchange. A line idle for longer than a timer tick starts afresh at the time of the write.
//!
//! Received bytes are on the line from when the wrapper reads them from the link below, and keep that schedule
//! while the device is busy elsewhere (a UART's receive FIFO fills while its transmitter works); bytes a writer
//! has not offered yet are not on the line.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
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
        let ns = (bits * 1_000_000_000).div_ceil(u128::from(self.baud.max(1)));
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// Whole characters the line carries in `time`: the largest `n` with `time_for(n) <= time`.
    pub fn chars_within(self, time: Duration) -> u64 {
        let bits = time.as_nanos() * u128::from(self.baud);
        let per_char = u128::from(self.framing.bits_per_char().max(1)) * 1_000_000_000;
        u64::try_from(bits / per_char).unwrap_or(u64::MAX)
    }

    /// Characters per second the line carries at most.
    pub fn chars_per_second(self) -> f64 {
        f64::from(self.baud) / f64::from(self.framing.bits_per_char())
    }
}

/// How late after its last release a write still counts as caused by it: a timer tick (tokio's wheel has
/// millisecond resolution) and the scheduler's wake-up. A write later than that starts from its own time.
const TIMER_SLACK: Duration = Duration::from_millis(2);

/// The most lateness carried into the next write. A module streaming an image keeps its UART busy back to back;
/// when the host's scheduler wakes the pacing late, the bytes it owes go out at once rather than being lost to
/// the line, up to this much of them.
const MAX_CATCH_UP: Duration = Duration::from_millis(100);

/// The last release of bytes on either direction: when, and how long after its last byte was due.
#[derive(Debug, Clone, Copy)]
struct Release {
    at: Instant,
    late: Duration,
}

impl Release {
    /// When a write made `now` would have been made on a line without the timer's lateness.
    fn line_time_of(last: Option<Release>, now: Instant) -> Instant {
        match last {
            Some(r) if now.saturating_duration_since(r.at) <= TIMER_SLACK => {
                now.checked_sub(r.late.min(MAX_CATCH_UP)).unwrap_or(now)
            }
            _ => now,
        }
    }
}

/// One direction of the line.
#[derive(Debug)]
struct Lane {
    rate: LineRate,
    /// When the last released character's stop bit was due: the line is busy until then.
    busy_until: Option<Instant>,
    /// Start of the characters on the line now (the first is due one character time after it), fixed when they
    /// were first offered; `sent` of them have been handed on since.
    start: Option<Instant>,
    sent: u64,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl Lane {
    fn new(rate: LineRate) -> Self {
        Self { rate, busy_until: None, start: None, sent: 0, sleep: None }
    }

    /// Waits until at least one of `available` characters is due; returns how many are (at most `available`).
    fn poll_due(&mut self, cx: &mut Context<'_>, last: Option<Release>, available: usize) -> Poll<usize> {
        if available == 0 {
            return Poll::Ready(0);
        }
        loop {
            let now = Instant::now();
            let start = *self.start.get_or_insert_with(|| {
                let written = Release::line_time_of(last, now);
                self.busy_until.map_or(written, |busy| busy.max(written))
            });
            let due = self.rate.chars_within(now.saturating_duration_since(start)).saturating_sub(self.sent);
            if due > 0 {
                return Poll::Ready(usize::try_from(due).unwrap_or(usize::MAX).min(available));
            }
            let next = start + self.rate.time_for(self.sent + 1);
            let sleep = match &mut self.sleep {
                Some(s) => {
                    if s.deadline() != next {
                        s.as_mut().reset(next);
                    }
                    s
                }
                None => self.sleep.insert(Box::pin(tokio::time::sleep_until(next))),
            };
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
    }

    /// `n` of the characters on offer were handed on. `more`: the rest are already on the line (received bytes
    /// waiting to be read keep their schedule); otherwise what comes next is scheduled when it is offered.
    fn release(&mut self, n: usize, more: bool, last: &mut Option<Release>) {
        let Some(start) = self.start else { return };
        self.sent += n as u64;
        let due = start + self.rate.time_for(self.sent);
        self.busy_until = Some(due);
        if !more {
            self.start = None;
            self.sent = 0;
        }
        let now = Instant::now();
        *last = Some(Release { at: now, late: now.saturating_duration_since(due) });
    }
}

/// Wraps a link so that each paced direction carries bytes no faster than its [`LineRate`].
#[derive(Debug)]
pub struct Paced<L> {
    inner: L,
    tx: Option<Lane>,
    rx: Option<Lane>,
    last: Option<Release>,
    /// Bytes read from `inner` that the receive line has not yet delivered.
    rx_buf: Vec<u8>,
    rx_pos: usize,
}

impl<L> Paced<L> {
    /// Paces what this side writes (a simulator's replies).
    pub fn tx(inner: L, rate: LineRate) -> Self {
        Self { inner, tx: Some(Lane::new(rate)), rx: None, last: None, rx_buf: Vec::new(), rx_pos: 0 }
    }

    /// Paces both directions: writes leave, and reads arrive, at line rate.
    pub fn both(inner: L, rate: LineRate) -> Self {
        Self { rx: Some(Lane::new(rate)), ..Self::tx(inner, rate) }
    }

    pub fn into_inner(self) -> L {
        self.inner
    }
}

impl<L: AsyncWrite + Unpin> AsyncWrite for Paced<L> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let Some(lane) = &mut this.tx else { return Pin::new(&mut this.inner).poll_write(cx, buf) };
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let due = std::task::ready!(lane.poll_due(cx, this.last, buf.len()));
        let n = std::task::ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..due]))?;
        // A writer's next bytes are not on the line until it offers them.
        lane.release(n, false, &mut this.last);
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
        let Some(lane) = &mut this.rx else { return Pin::new(&mut this.inner).poll_read(cx, buf) };
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        if this.rx_pos == this.rx_buf.len() {
            // Nothing waiting on the line: take what the other end has sent so far.
            this.rx_buf.resize(4096, 0);
            this.rx_pos = 0;
            let mut fill = ReadBuf::new(&mut this.rx_buf);
            let r = Pin::new(&mut this.inner).poll_read(cx, &mut fill);
            let got = fill.filled().len();
            this.rx_buf.truncate(got);
            std::task::ready!(r)?;
            if got == 0 {
                return Poll::Ready(Ok(())); // EOF
            }
        }
        let waiting = this.rx_buf.len() - this.rx_pos;
        let k = std::task::ready!(lane.poll_due(cx, this.last, waiting.min(buf.remaining())));
        buf.put_slice(&this.rx_buf[this.rx_pos..this.rx_pos + k]);
        this.rx_pos += k;
        lane.release(k, this.rx_pos < this.rx_buf.len(), &mut this.last);
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
    }

    #[test]
    fn chars_within_inverts_time_for() {
        for rate in
            [LineRate::new(9600), LineRate::new(115_200), LineRate { baud: 57600, framing: "7E2".parse().unwrap() }]
        {
            for n in [0u64, 1, 2, 11, 12, 1000, 123_457] {
                let t = rate.time_for(n);
                assert_eq!(rate.chars_within(t), n, "{rate:?} {n}");
                if n > 0 {
                    assert_eq!(rate.chars_within(t.saturating_sub(Duration::from_nanos(1))), n - 1, "{rate:?} {n}");
                }
            }
        }
    }
}
