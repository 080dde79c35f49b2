//! A fault-injecting link wrapper: a seeded, reproducible bad line between a driver and a device.
//!
//! A fault spec is `<kind>[:<key>=<value>,...]`, for example `flip:p=0.001`, `drop:at=17,dir=rx`,
//! `garbage:every=100,len=4`, `stall:at=64,ms=500`, `close:at=1000`. Kinds:
//!
//! | kind      | effect on a triggered byte                                                  |
//! |-----------|-----------------------------------------------------------------------------|
//! | `drop`    | the byte is lost                                                            |
//! | `flip`    | one random bit of the byte is inverted                                      |
//! | `dup`     | the byte arrives twice                                                      |
//! | `garbage` | `len` random bytes (default 1) arrive before it                             |
//! | `delay`   | it and everything after it arrive `ms` later (default 50)                   |
//! | `stall`   | the line goes silent for `ms`, or for good when `ms` is not given           |
//! | `close`   | the line drops just before it: reads end, writes fail, the peer sees a close |
//!
//! Triggers (exactly one): `p=<probability per byte>`, `at=<byte offset>` (once), `every=<n>` (each n-th
//! byte, offsets n-1, 2n-1, ...). `dir=rx|tx|both` (default both) picks the bytes this side reads (rx) or
//! writes (tx). Offsets count the bytes that entered the wrapper in that direction, before any fault.
//!
//! Each direction draws from its own ChaCha stream of the seed, one draw per byte per probabilistic fault,
//! so the same seed and the same byte streams give the same faults however the bytes were chunked.
//!
//! The grammar and the triggers are shared with the simulators' device faults ([`FaultSpec`], [`Trigger`]):
//! one parser, one way of firing, one error type, whatever a family of faults counts.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

use crate::error::peer_closed;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultKind {
    Drop,
    Flip,
    Duplicate,
    Garbage {
        len: usize,
    },
    Delay {
        ms: u64,
    },
    /// `None`: for good.
    Stall {
        ms: Option<u64>,
    },
    Close,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Bytes this side reads.
    Rx,
    /// Bytes this side writes.
    Tx,
    Both,
}

/// One fault of a spec.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    pub kind: FaultKind,
    pub trigger: Trigger,
    pub dir: Direction,
}

/// When a fault fires: the trigger grammar every kind of fault shares (line faults here, device faults in the
/// simulators). What is counted is the user's: bytes of a direction here, acks or commands in a simulator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// `p=<probability>`: each counted unit independently, from 0 to 1.
    Probability(f64),
    /// `at=<n>`: the unit numbered n, counting from 0, once.
    At(u64),
    /// `every=<n>`: units n-1, 2n-1, ... (each n-th).
    Every(u64),
}

impl Trigger {
    /// The random stream probabilistic triggers of `seed` draw from. Each user of a seed takes its own
    /// `stream`, so a line and the device behind it never draw the same numbers.
    pub fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        rng
    }

    /// Whether the trigger fires on unit `n` (counted from 0). A probabilistic trigger draws exactly one number
    /// from `rng`, hit or not, so the stream stays aligned with the units whatever else fires; the draw is a
    /// uniform f64 below `p`, which never panics (an out-of-range `p` acts as 0 or 1).
    pub fn fires(self, n: u64, rng: &mut impl Rng) -> bool {
        match self {
            Trigger::Probability(p) => rng.random::<f64>() < p,
            Trigger::At(at) => n == at,
            Trigger::Every(every) => every > 0 && (n + 1).is_multiple_of(every),
        }
    }

    /// Parses one trigger argument; `Ok(None)` when `key` is not a trigger's. `unit` is what the user counts
    /// (`byte`, `command`), for the error text.
    fn parse_arg(key: &str, value: &str, unit: &str) -> Result<Option<Trigger>, String> {
        Ok(Some(match key {
            "p" => Trigger::Probability(
                value
                    .parse()
                    .ok()
                    .filter(|p: &f64| (0.0..=1.0).contains(p))
                    .ok_or_else(|| format!("expected a probability from 0 to 1, got {value:?}"))?,
            ),
            "at" => Trigger::At(
                value.parse().map_err(|_| format!("expected an offset in {unit}s (counting from 0), got {value:?}"))?,
            ),
            "every" => Trigger::Every(
                value
                    .parse()
                    .ok()
                    .filter(|n: &u64| *n > 0)
                    .ok_or_else(|| format!("expected a number of {unit}s, at least 1, got {value:?}"))?,
            ),
            _ => return Ok(None),
        }))
    }
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::Probability(p) => write!(f, "p={p}"),
            Trigger::At(n) => write!(f, "at={n}"),
            Trigger::Every(n) => write!(f, "every={n}"),
        }
    }
}

impl FromStr for Trigger {
    type Err = FaultSpecError;

    /// One trigger on its own, as [`Display`](fmt::Display) writes it: `p=0.01`, `at=3`, `every=10`.
    fn from_str(text: &str) -> Result<Trigger, FaultSpecError> {
        FaultSpec::parse(text, text, &[], "every=10")?.required_trigger("unit")
    }
}

/// What was wrong with a fault spec (a line fault or a simulator's device fault): the spec, the part, what was
/// expected, and an example.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault spec {spec:?}: {part}: {expected} (example: {example})")]
pub struct FaultSpecError {
    pub spec: String,
    pub part: String,
    pub expected: String,
    pub example: &'static str,
}

const TRIGGER_KEYS: [&str; 3] = ["p", "at", "every"];

/// A fault spec split up: `<kind>[:<key>=<value>,...]`, the grammar of every kind of fault. The trigger keys
/// (`p`, `at`, `every`; at most one) are common; each family of faults names the other keys it takes, and
/// reads them and the trigger through this type, so every family's errors read the same.
#[derive(Debug, Clone)]
pub struct FaultSpec<'a> {
    spec: &'a str,
    /// The kind's name: the text before the first `:`.
    pub kind: &'a str,
    args: Vec<(&'a str, &'a str)>,
    example: &'static str,
}

impl<'a> FaultSpec<'a> {
    /// Splits `spec`. `keys` are the keys besides the trigger's this family takes; `example` goes into errors.
    /// Refuses an argument that is not `key=value`, an unknown key, a key given twice and a second trigger.
    pub fn new(spec: &'a str, keys: &[&str], example: &'static str) -> Result<Self, FaultSpecError> {
        let (kind, args) = spec.split_once(':').unwrap_or((spec, ""));
        Self::parse(spec, args, keys, example).map(|s| FaultSpec { kind, ..s })
    }

    fn parse(spec: &'a str, args: &'a str, keys: &[&str], example: &'static str) -> Result<Self, FaultSpecError> {
        let mut this = FaultSpec { spec, kind: "", args: Vec::new(), example };
        for arg in args.split(',').filter(|a| !a.is_empty()) {
            let Some((key, value)) = arg.split_once('=') else {
                return Err(this.error(arg, "expected key=value"));
            };
            if !TRIGGER_KEYS.contains(&key) && !keys.contains(&key) {
                let all: Vec<&str> = TRIGGER_KEYS.iter().chain(keys).copied().collect();
                return Err(this.error(key, format!("expected one of {}", all.join(", "))));
            }
            if this.args.iter().any(|(k, _)| *k == key) {
                return Err(this.error(key, "expected each key once"));
            }
            if TRIGGER_KEYS.contains(&key) && this.args.iter().any(|(k, _)| TRIGGER_KEYS.contains(k)) {
                return Err(this.error(key, "expected exactly one trigger of p, at and every"));
            }
            this.args.push((key, value));
        }
        Ok(this)
    }

    /// An error about `part` of this spec.
    pub fn error(&self, part: &str, expected: impl Into<String>) -> FaultSpecError {
        FaultSpecError {
            spec: self.spec.to_owned(),
            part: part.to_owned(),
            expected: expected.into(),
            example: self.example,
        }
    }

    /// The raw value of `key`, if given.
    pub fn value(&self, key: &str) -> Option<&'a str> {
        self.args.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// The value of `key` as a whole number, if given; `what` says what it is (`milliseconds`).
    pub fn number(&self, key: &str, what: &str) -> Result<Option<u64>, FaultSpecError> {
        self.value(key)
            .map(|v| v.parse().map_err(|_| self.error(key, format!("expected {what}, got {v:?}"))))
            .transpose()
    }

    /// Refuses `key` when given to a kind that does not take it: `only <takers> take(s) <key>`.
    pub fn only(&self, key: &str, allowed: bool, takers: &str) -> Result<(), FaultSpecError> {
        if !allowed && self.value(key).is_some() {
            let verb = if takers.contains(" and ") { "take" } else { "takes" };
            return Err(self.error(key, format!("only {takers} {verb} {key}")));
        }
        Ok(())
    }

    /// The trigger, `None` when the spec has none. `unit` is what the family counts, for errors (`byte`).
    pub fn trigger(&self, unit: &str) -> Result<Option<Trigger>, FaultSpecError> {
        for (key, value) in &self.args {
            if let Some(t) = Trigger::parse_arg(key, value, unit).map_err(|e| self.error(key, e))? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// The trigger, which this kind needs.
    pub fn required_trigger(&self, unit: &str) -> Result<Trigger, FaultSpecError> {
        self.trigger(unit)?.ok_or_else(|| self.error("trigger", "expected one of p=<probability>, at=<n>, every=<n>"))
    }
}

const KINDS: &str = "drop, flip, dup, garbage, delay, stall or close";

impl FromStr for Fault {
    type Err = FaultSpecError;

    fn from_str(text: &str) -> Result<Self, FaultSpecError> {
        let spec = FaultSpec::new(text, &["dir", "len", "ms"], "flip:p=0.001,dir=rx")?;
        let dir = match spec.value("dir") {
            None | Some("both") => Direction::Both,
            Some("rx") => Direction::Rx,
            Some("tx") => Direction::Tx,
            Some(other) => return Err(spec.error("dir", format!("expected rx, tx or both, got {other:?}"))),
        };
        let len = spec.number("len", "a byte count")?;
        let ms = spec.number("ms", "milliseconds")?;
        let kind = match spec.kind {
            "drop" => FaultKind::Drop,
            "flip" => FaultKind::Flip,
            "dup" => FaultKind::Duplicate,
            "garbage" => FaultKind::Garbage { len: len.unwrap_or(1).clamp(1, 4096) as usize },
            "delay" => FaultKind::Delay { ms: ms.unwrap_or(50) },
            "stall" => FaultKind::Stall { ms },
            "close" => FaultKind::Close,
            other => return Err(spec.error("kind", format!("expected {KINDS}, got {other:?}"))),
        };
        spec.only("len", matches!(kind, FaultKind::Garbage { .. }), "garbage")?;
        spec.only("ms", matches!(kind, FaultKind::Delay { .. } | FaultKind::Stall { .. }), "delay and stall")?;
        Ok(Fault { kind, trigger: spec.required_trigger("byte")?, dir })
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.kind {
            FaultKind::Drop => "drop",
            FaultKind::Flip => "flip",
            FaultKind::Duplicate => "dup",
            FaultKind::Garbage { .. } => "garbage",
            FaultKind::Delay { .. } => "delay",
            FaultKind::Stall { .. } => "stall",
            FaultKind::Close => "close",
        };
        write!(f, "{name}:{}", self.trigger)?;
        match self.kind {
            FaultKind::Garbage { len } => write!(f, ",len={len}")?,
            FaultKind::Delay { ms } | FaultKind::Stall { ms: Some(ms) } => write!(f, ",ms={ms}")?,
            _ => {}
        }
        match self.dir {
            Direction::Rx => write!(f, ",dir=rx"),
            Direction::Tx => write!(f, ",dir=tx"),
            Direction::Both => Ok(()),
        }
    }
}
/// A fault that was injected: where, and which. Never the data itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultEvent {
    pub dir: Direction,
    /// Offset of the byte in its direction, counted before faults.
    pub offset: u64,
    pub fault: String,
}

/// Shared record of what a [`FaultLink`] did, for tests and conformance evidence.
#[derive(Debug, Clone, Default)]
pub struct FaultLog(Arc<Mutex<Vec<FaultEvent>>>);

impl FaultLog {
    pub fn events(&self) -> Vec<FaultEvent> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn push(&self, e: FaultEvent) {
        tracing::debug!(dir = ?e.dir, offset = e.offset, fault = %e.fault, "fault injected");
        if let Ok(mut v) = self.0.lock() {
            v.push(e);
        }
    }
}

/// What happens before a segment's bytes are delivered.
#[derive(Debug)]
enum Hold {
    None,
    For(Duration),
    Forever,
    Armed(Pin<Box<Sleep>>),
}

/// Bytes in order, each run possibly held back first, possibly ending in a line drop.
#[derive(Debug)]
struct Segment {
    hold: Hold,
    bytes: VecDeque<u8>,
    close_after: bool,
}

impl Segment {
    fn new(hold: Hold) -> Self {
        Self { hold, bytes: VecDeque::new(), close_after: false }
    }
}

/// The [`Trigger::rng`] streams of a line's two directions (the simulators' device faults take 3 and up).
const STREAM_RX: u64 = 1;
const STREAM_TX: u64 = 2;

/// One direction: its faults, its random stream, its byte count and what waits to be delivered.
#[derive(Debug)]
struct Lane {
    dir: Direction,
    faults: Vec<Fault>,
    rng: ChaCha8Rng,
    offset: u64,
    queue: VecDeque<Segment>,
    /// A close was scheduled: bytes after it are never delivered.
    closing: bool,
}

impl Lane {
    fn new(dir: Direction, faults: &[Fault], seed: u64) -> Self {
        Self {
            dir,
            faults: faults.iter().filter(|f| f.dir == dir || f.dir == Direction::Both).copied().collect(),
            rng: Trigger::rng(seed, if dir == Direction::Rx { STREAM_RX } else { STREAM_TX }),
            offset: 0,
            queue: VecDeque::new(),
            closing: false,
        }
    }

    fn push_byte(&mut self, b: u8) {
        if self.queue.back().is_none() {
            self.queue.push_back(Segment::new(Hold::None));
        }
        if let Some(seg) = self.queue.back_mut() {
            seg.bytes.push_back(b);
        }
    }

    /// Runs bytes through the faults into the queue.
    fn process(&mut self, bytes: &[u8], log: &FaultLog) {
        for &byte in bytes {
            if self.closing {
                return;
            }
            let offset = self.offset;
            self.offset += 1;
            let mut byte = Some(byte);
            let mut copies = 1;
            for i in 0..self.faults.len() {
                let fault = self.faults[i];
                let hit = fault.trigger.fires(offset, &mut self.rng);
                if !hit || byte.is_none() {
                    continue;
                }
                log.push(FaultEvent { dir: self.dir, offset, fault: fault.to_string() });
                match fault.kind {
                    FaultKind::Drop => byte = None,
                    FaultKind::Flip => byte = byte.map(|b| b ^ (1 << self.rng.random_range(0..8u32))),
                    FaultKind::Duplicate => copies = 2,
                    FaultKind::Garbage { len } => {
                        for _ in 0..len {
                            let g = self.rng.random::<u8>();
                            self.push_byte(g);
                        }
                    }
                    FaultKind::Delay { ms } => self.queue.push_back(Segment::new(Hold::For(Duration::from_millis(ms)))),
                    FaultKind::Stall { ms: Some(ms) } => {
                        self.queue.push_back(Segment::new(Hold::For(Duration::from_millis(ms))));
                    }
                    FaultKind::Stall { ms: None } => self.queue.push_back(Segment::new(Hold::Forever)),
                    FaultKind::Close => {
                        if self.queue.back().is_none() {
                            self.queue.push_back(Segment::new(Hold::None));
                        }
                        if let Some(seg) = self.queue.back_mut() {
                            seg.close_after = true;
                        }
                        self.closing = true;
                        return;
                    }
                }
            }
            if let Some(b) = byte {
                for _ in 0..copies {
                    self.push_byte(b);
                }
            }
        }
    }

    /// Waits until the front segment may deliver. `Ready(true)`: bytes or a close are at the front;
    /// `Ready(false)`: the queue is empty.
    fn poll_front(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        loop {
            let Some(front) = self.queue.front_mut() else { return Poll::Ready(false) };
            match &mut front.hold {
                Hold::None => {}
                Hold::For(d) => front.hold = Hold::Armed(Box::pin(tokio::time::sleep(*d))),
                // Never woken: a stalled line stays silent.
                Hold::Forever => return Poll::Pending,
                Hold::Armed(s) => {
                    ready!(s.as_mut().poll(cx));
                    front.hold = Hold::None;
                }
            }
            if matches!(front.hold, Hold::Armed(_)) {
                continue;
            }
            if front.bytes.is_empty() && !front.close_after {
                self.queue.pop_front();
                continue;
            }
            return Poll::Ready(true);
        }
    }
}

/// A link with a bad line in it. See the module docs for the spec.
#[derive(Debug)]
pub struct FaultLink<L> {
    /// `None` once the line dropped: the inner link is closed so the peer sees it too.
    inner: Option<L>,
    rx: Lane,
    tx: Lane,
    log: FaultLog,
}

impl<L> FaultLink<L> {
    pub fn new(inner: L, faults: &[Fault], seed: u64) -> Self {
        Self {
            inner: Some(inner),
            rx: Lane::new(Direction::Rx, faults, seed),
            tx: Lane::new(Direction::Tx, faults, seed),
            log: FaultLog::default(),
        }
    }

    /// The record of injected faults; clones share it.
    pub fn log(&self) -> FaultLog {
        self.log.clone()
    }
}

impl<L: AsyncWrite + Unpin> FaultLink<L> {
    /// Delivers queued outgoing bytes. `Ready(Ok)` once the queue is empty.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if !ready!(self.tx.poll_front(cx)) {
                return Poll::Ready(Ok(()));
            }
            let Some(inner) = &mut self.inner else { return Poll::Ready(Err(peer_closed())) };
            let Some(front) = self.tx.queue.front_mut() else { continue };
            if front.bytes.is_empty() {
                // close_after: the line drops here.
                self.inner = None;
                return Poll::Ready(Err(peer_closed()));
            }
            let (a, _) = front.bytes.as_slices();
            let n = ready!(Pin::new(&mut *inner).poll_write(cx, a))?;
            front.bytes.drain(..n);
        }
    }
}

impl<L: AsyncWrite + Unpin> AsyncWrite for FaultLink<L> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.inner.is_none() {
            return Poll::Ready(Err(peer_closed()));
        }
        ready!(this.poll_drain(cx))?;
        let n = buf.len().min(4096);
        this.tx.process(&buf[..n], &this.log);
        // Start delivery now; what cannot go yet goes on the next write or flush.
        if let Poll::Ready(Err(e)) = this.poll_drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_drain(cx))?;
        match &mut this.inner {
            Some(inner) => Pin::new(inner).poll_flush(cx),
            None => Poll::Ready(Err(peer_closed())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // A stalled line cannot be drained; shut down regardless once what can go has gone.
        if let Poll::Ready(Err(_)) = this.poll_drain(cx) {
            return Poll::Ready(Ok(()));
        }
        match &mut this.inner {
            Some(inner) => Pin::new(inner).poll_shutdown(cx),
            None => Poll::Ready(Ok(())),
        }
    }
}

impl<L: AsyncRead + Unpin> AsyncRead for FaultLink<L> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            if ready!(this.rx.poll_front(cx)) {
                let Some(front) = this.rx.queue.front_mut() else { continue };
                if front.bytes.is_empty() {
                    // close_after: the line drops here; the peer sees our side close.
                    this.rx.queue.clear();
                    this.inner = None;
                    return Poll::Ready(Ok(()));
                }
                let n = front.bytes.len().min(buf.remaining());
                let (a, b) = front.bytes.as_slices();
                let from_a = n.min(a.len());
                buf.put_slice(&a[..from_a]);
                buf.put_slice(&b[..n - from_a]);
                front.bytes.drain(..n);
                return Poll::Ready(Ok(()));
            }
            let Some(inner) = &mut this.inner else { return Poll::Ready(Ok(())) };
            if this.rx.closing {
                return Poll::Ready(Ok(()));
            }
            let mut tmp = [0u8; 4096];
            let want = buf.remaining().min(tmp.len());
            let mut fill = ReadBuf::new(&mut tmp[..want]);
            ready!(Pin::new(inner).poll_read(cx, &mut fill))?;
            if fill.filled().is_empty() {
                return Poll::Ready(Ok(())); // EOF
            }
            let got = fill.filled().to_vec();
            this.rx.process(&got, &this.log);
        }
    }
}
