//! Verdicts and the evidence behind them.
//!
//! ISO/IEC 9646 order: none < pass < inconclusive < fail, and a purpose's verdict only ever gets worse. Besides
//! a verdict a purpose can end as `not applicable` (its ICS condition is false: said, never skipped silently) or
//! `error` (the test itself could not go on: the device vanished, the link broke), which stops it.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// The verdict of one purpose, worst of all its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    None,
    Pass,
    Inconclusive,
    Fail,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::None => "none",
            Verdict::Pass => "pass",
            Verdict::Inconclusive => "inconclusive",
            Verdict::Fail => "fail",
        })
    }
}

/// How a purpose ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// It ran; the verdict is the worst of its checks (`none` if it checked nothing).
    Verdict { verdict: Verdict },
    /// Its ICS condition is false for this device.
    NotApplicable { reason: String },
    /// It could not run to the end.
    Error { message: String },
}

impl Outcome {
    /// The short word reports show.
    pub fn label(&self) -> String {
        match self {
            Outcome::Verdict { verdict } => verdict.to_string(),
            Outcome::NotApplicable { .. } => "not applicable".into(),
            Outcome::Error { .. } => "error".into(),
        }
    }

    /// A run fails when any purpose failed or errored.
    pub fn is_failure(&self) -> bool {
        matches!(self, Outcome::Verdict { verdict: Verdict::Fail } | Outcome::Error { .. })
    }
}

/// One comparison of expected and observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub what: String,
    pub expected: String,
    pub observed: String,
    pub verdict: Verdict,
}

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Host (the test) to device.
    Out,
    /// Device to host.
    In,
}

/// One frame on the wire, as the evidence keeps it. Payloads that carry biometric data, passwords or keys are
/// redacted by the suite before they get here (lengths stay).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameRecord {
    /// Milliseconds since the purpose started.
    pub at_ms: f64,
    pub dir: Direction,
    /// The frame in hex, redacted where it has to be.
    pub hex: String,
    /// What it is, in words (`ack to Store (06): 00 OK`).
    pub summary: String,
}

/// Everything a purpose saw: checks, frames, notes and timings.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Evidence {
    pub checks: Vec<Check>,
    pub frames: Vec<FrameRecord>,
    pub notes: Vec<String>,
    /// Named durations (reply times, transfer times), milliseconds.
    pub timings: Vec<(String, f64)>,
}

/// Frames kept per purpose; a purpose that moves a whole library keeps its first frames and a count.
pub const MAX_FRAMES: usize = 400;

impl Evidence {
    /// Nothing recorded at all.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty() && self.frames.is_empty() && self.notes.is_empty() && self.timings.is_empty()
    }

    pub fn duration_ms(d: Duration) -> f64 {
        (d.as_secs_f64() * 1e6).round() / 1e3
    }
}

/// Bytes as evidence keeps them: upper-case hex pairs separated by spaces (`EF 01 FF`).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 3), |mut s, b| {
        if !s.is_empty() {
            s.push(' ');
        }
        let _ = write!(s, "{b:02X}");
        s
    })
}
