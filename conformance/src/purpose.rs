//! Test purposes: data (id, title, clause, ICS condition; from the class's catalogue) plus a body that runs
//! against any device of its class.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use crate::ics::Ics;
use crate::operator::{Answer, Desk};
use crate::verdict::{Check, Direction, Evidence, FrameRecord, MAX_FRAMES, Verdict};

/// What a body returns: it ran to the end (its checks decide the verdict), or it had to stop.
pub type BodyResult = Result<(), Stop>;

/// A boxed body future borrowing the device and the context.
pub type BodyFuture<'a> = Pin<Box<dyn Future<Output = BodyResult> + Send + 'a>>;

/// Why a body stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// A check failed and nothing after it can be meaningful (the verdict is already `fail`).
    Failed,
    /// The test could not go on: the link broke, the device vanished. The purpose's outcome is `error`.
    Error(String),
    /// Nothing after this can be decided (the operator could not do what was asked): the verdict so far stands,
    /// inconclusive at best.
    Undecided,
}

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stop::Failed => f.write_str("stopped after a failed check"),
            Stop::Error(e) => f.write_str(e),
            Stop::Undecided => f.write_str("stopped: the rest cannot be decided"),
        }
    }
}

/// Whether a purpose applies to the device the ICS describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applicability {
    Applies,
    /// Not applicable, and why (names the ICS or IXIT entry).
    NotApplicable(String),
}

impl Applicability {
    /// Applies when `ok`; otherwise not applicable, because `why`.
    pub fn when(ok: bool, why: &str) -> Applicability {
        if ok { Applicability::Applies } else { Applicability::NotApplicable(why.to_owned()) }
    }

    /// Applies when the class's typed ICS (`None`: it does not parse) passes `test`; otherwise not applicable,
    /// because `why`.
    pub fn when_typed<T>(typed: Option<T>, test: impl FnOnce(&T) -> bool, why: &str) -> Applicability {
        Applicability::when(typed.is_some_and(|t| test(&t)), why)
    }

    /// Applies when both do; otherwise the first reason.
    #[must_use]
    pub fn and(self, other: Applicability) -> Applicability {
        match self {
            Applicability::Applies => other,
            Applicability::NotApplicable(why) => Applicability::NotApplicable(why),
        }
    }
}

/// Applies to every device of the class.
pub(crate) fn always(_: &Ics) -> Applicability {
    Applicability::Applies
}

/// A list in words for evidence: `5, 6 and 199`, `none`.
pub fn listed<T: fmt::Display>(items: &[T]) -> String {
    match items {
        [] => "none".to_owned(),
        [one] => one.to_string(),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(ToString::to_string).collect();
            format!("{} and {last}", rest.join(", "))
        }
    }
}

/// The static description of a test purpose.
#[derive(Debug, Clone, Copy)]
pub struct PurposeMeta {
    /// `ZFM-CAP-001`: class, group, number.
    pub id: &'static str,
    pub title: &'static str,
    /// The clause or source the purpose checks (`R503 manual 2.3 GenImg`, `reference: packet format`).
    pub clause: &'static str,
    /// The group (report section): `framing`, `capture`, `library`, ...
    pub group: &'static str,
    /// The ICS condition in words (`always`, `ics.led`, `ixit.finger = auto`).
    pub condition: &'static str,
    /// What passes, in words.
    pub expected: &'static str,
}

/// The code of a purpose on devices of type `D`: what [`crate::catalogue::Catalogue::assemble`] joins to the
/// catalogue entry of the same id.
pub struct Body<D> {
    pub id: &'static str,
    pub applies: fn(&Ics) -> Applicability,
    pub run: for<'a> fn(&'a mut D, &'a mut Ctx) -> BodyFuture<'a>,
}

impl<D> fmt::Debug for Body<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Body").field("id", &self.id).finish_non_exhaustive()
    }
}

/// A test purpose on devices of type `D`.
pub struct Purpose<D> {
    pub meta: PurposeMeta,
    /// Decides applicability from the ICS (and IXIT).
    pub applies: fn(&Ics) -> Applicability,
    /// The body.
    pub run: for<'a> fn(&'a mut D, &'a mut Ctx) -> BodyFuture<'a>,
}

impl<D> fmt::Debug for Purpose<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Purpose").field("id", &self.meta.id).finish_non_exhaustive()
    }
}

/// What a body works with besides the device: the ICS, and the evidence it builds up.
#[derive(Debug)]
pub struct Ctx {
    pub ics: Ics,
    /// The purpose running (for the operator's prompts).
    purpose: &'static str,
    /// Somebody at the device, when the run has an operator.
    desk: Option<Desk>,
    started: Instant,
    verdict: Verdict,
    evidence: Evidence,
    frames_dropped: usize,
}

impl Ctx {
    pub fn new(ics: Ics) -> Ctx {
        Ctx {
            ics,
            purpose: "",
            desk: None,
            started: Instant::now(),
            verdict: Verdict::None,
            evidence: Evidence::default(),
            frames_dropped: 0,
        }
    }

    /// The context of purpose `id`, with the run's operator if it has one.
    pub fn for_purpose(ics: Ics, id: &'static str, desk: Option<Desk>) -> Ctx {
        Ctx { purpose: id, desk, ..Ctx::new(ics) }
    }

    /// Asks the operator to do `action` (an imperative: "place a finger on the sensor and keep it there";
    /// `standing`: it stays done until another action is asked for). Done: `Ok`. Could not, or no answer in time:
    /// an inconclusive check in the evidence and [`Stop::Undecided`]. A run without an operator cannot get here
    /// (purposes that need one apply only when the IXIT names one): that is an error of the suite.
    pub async fn operator(&mut self, action: &str, standing: bool) -> Result<(), Stop> {
        let Some(desk) = self.desk.clone() else {
            return Err(Stop::Error(format!("this purpose needs an operator to {action}, and the run has none")));
        };
        let answer = desk.ask(self.purpose, action, standing).await;
        match answer {
            Answer::Done => {
                self.note(format!("operator: {action}: done"));
                Ok(())
            }
            Answer::CouldNot(why) => {
                let said =
                    if why.is_empty() { "could not do it".to_owned() } else { format!("could not do it: {why}") };
                self.inconclusive(format!("operator: {action}"), "done", said);
                Err(Stop::Undecided)
            }
            Answer::NoAnswer => {
                self.inconclusive(format!("operator: {action}"), "done", "no answer in time");
                Err(Stop::Undecided)
            }
        }
    }

    /// The verdict so far.
    pub fn verdict(&self) -> Verdict {
        self.verdict
    }

    fn record(&mut self, what: String, expected: String, observed: String, verdict: Verdict) {
        self.verdict = self.verdict.max(verdict);
        self.evidence.checks.push(Check { what, expected, observed, verdict });
    }

    /// Compares and records; `Err(Stop::Failed)` when they differ, so a body can `?` out of a check that
    /// everything after depends on (or ignore the result and keep checking).
    pub fn check(
        &mut self,
        what: impl Into<String>,
        expected: impl fmt::Display,
        observed: impl fmt::Display,
        ok: bool,
    ) -> Result<(), Stop> {
        let verdict = if ok { Verdict::Pass } else { Verdict::Fail };
        self.record(what.into(), expected.to_string(), observed.to_string(), verdict);
        if ok { Ok(()) } else { Err(Stop::Failed) }
    }

    /// Records a failed check and returns the [`Stop`] that ends the body: `return Err(ctx.fail(..))` where the
    /// device's answer leaves nothing to compare.
    pub fn fail(&mut self, what: impl Into<String>, expected: impl fmt::Display, observed: impl fmt::Display) -> Stop {
        self.record(what.into(), expected.to_string(), observed.to_string(), Verdict::Fail);
        Stop::Failed
    }

    /// `check` for values that must be equal, shown in words (their `Display`: reports never show Rust's debug
    /// forms).
    #[allow(clippy::needless_pass_by_value)] // Callers pass temporaries; taking references would only add `&`s.
    pub fn check_eq<T: PartialEq + fmt::Display>(
        &mut self,
        what: impl Into<String>,
        expected: T,
        observed: T,
    ) -> Result<(), Stop> {
        let ok = expected == observed;
        self.check(what, expected.to_string(), observed.to_string(), ok)
    }

    /// Records an inconclusive outcome: the device did something the purpose cannot judge.
    pub fn inconclusive(&mut self, what: impl Into<String>, expected: impl fmt::Display, observed: impl fmt::Display) {
        self.record(what.into(), expected.to_string(), observed.to_string(), Verdict::Inconclusive);
    }

    /// A free-text note in the evidence.
    pub fn note(&mut self, text: impl Into<String>) {
        self.evidence.notes.push(text.into());
    }

    /// A named duration in the evidence.
    pub fn timing(&mut self, name: impl Into<String>, d: std::time::Duration) {
        self.evidence.timings.push((name.into(), Evidence::duration_ms(d)));
    }

    /// Records a frame (already redacted by the caller).
    pub fn frame(&mut self, dir: Direction, hex: String, summary: String) {
        if self.evidence.frames.len() >= MAX_FRAMES {
            self.frames_dropped += 1;
            return;
        }
        let at_ms = Evidence::duration_ms(self.started.elapsed());
        self.evidence.frames.push(FrameRecord { at_ms, dir, hex, summary });
    }

    /// Milliseconds since the purpose started.
    pub fn elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// The evidence, closed (a note says how many frames were left out).
    pub fn finish(mut self) -> (Verdict, Evidence) {
        if self.frames_dropped > 0 {
            let n = self.frames_dropped;
            self.evidence.notes.push(format!("{n} more frames not kept (the first {MAX_FRAMES} are)"));
        }
        (self.verdict, self.evidence)
    }
}

/// Declares one purpose's code on devices of type `$dut_ty`: its id (its words are in the class's catalogue), its
/// applicability and its body (an expression, usually a block, over `dut` and `ctx` that ends in `Ok(())`). Each
/// suite wraps it in its own `purpose!`.
macro_rules! purpose_for {
    ($dut_ty:ty; id: $id:literal, when: $when:path, |$dut:ident, $ctx:ident| $body:expr) => {{
        fn run<'a>($dut: &'a mut $dut_ty, $ctx: &'a mut crate::purpose::Ctx) -> crate::purpose::BodyFuture<'a> {
            Box::pin(async move { $body })
        }
        crate::purpose::Body { id: $id, applies: $when, run }
    }};
}
pub(crate) use purpose_for;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_records_a_failed_check_and_stops() {
        let mut ctx = Ctx::new(Ics::default());
        let _ = ctx.check("first", 1, 1, true);
        assert_eq!(ctx.fail("answer", "PDCAP", "NAK 03"), Stop::Failed);
        assert_eq!(ctx.verdict(), Verdict::Fail);
        let (verdict, evidence) = ctx.finish();
        assert_eq!(verdict, Verdict::Fail);
        let last = evidence.checks.last().unwrap();
        assert_eq!((last.what.as_str(), last.expected.as_str(), last.observed.as_str()), ("answer", "PDCAP", "NAK 03"));
        assert_eq!(last.verdict, Verdict::Fail);
    }

    #[test]
    fn applicability_combines_with_the_first_reason() {
        let na = |why: &str| Applicability::NotApplicable(why.to_owned());
        assert_eq!(Applicability::when(true, "x"), Applicability::Applies);
        assert_eq!(Applicability::when(false, "x"), na("x"));
        assert_eq!(Applicability::Applies.and(Applicability::Applies), Applicability::Applies);
        assert_eq!(Applicability::Applies.and(na("b")), na("b"));
        assert_eq!(na("a").and(Applicability::Applies), na("a"));
        assert_eq!(na("a").and(na("b")), na("a"));
    }
}
