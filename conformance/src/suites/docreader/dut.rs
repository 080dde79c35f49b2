//! A document reader under test: khil's channel as raw frames (the purposes check sequence numbers, errors and
//! silence themselves, so no driver hides them), the RTE channel's blocks, and whoever lays documents on the glass.
//! Evidence keeps each frame's header and a summary (type, sequence number, payload size): never MRZ lines,
//! VIZ values or pixels.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use khil_docreader::frame::Frame;
use khil_docreader::{KhilFormat, Message, RteFormat, RteFrame};
use khil_link::{BoxLink, FramedLink, Received};
use tokio::time::Instant;

use super::{DocIcs, PLACE_PASSPORT, PLACE_TD2, REMOVE, ReaderDesk, Specimen};
use crate::purpose::{Ctx, Stop};
use crate::verdict::Direction;

pub struct DocDut {
    wire: FramedLink<BoxLink, KhilFormat>,
    rte: Option<FramedLink<BoxLink, RteFormat>>,
    /// An in-process simulator's desk; `None`: the run's operator lays the documents.
    desk: Option<Arc<dyn ReaderDesk>>,
    pub ics: DocIcs,
    seq: u16,
    /// Unsolicited frames (sequence number 0) that came while an answer was awaited.
    events: VecDeque<Frame>,
}

impl std::fmt::Debug for DocDut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocDut").field("seq", &self.seq).field("events", &self.events.len()).finish_non_exhaustive()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
}

/// A frame in words: its type, sequence number and payload size (an Error's code too), nothing personal.
pub(super) fn summary(frame: &Frame) -> String {
    let name = Message::name_of(frame.kind);
    let error = match Message::from_frame(frame) {
        Ok(Message::Error { code, .. }) => format!(" {code}"),
        _ => String::new(),
    };
    format!("{name}{error} v{} seq {} ({} payload bytes)", frame.version, frame.seq, frame.payload.len())
}

impl DocDut {
    pub fn new(khil: BoxLink, rte: Option<BoxLink>, desk: Option<Arc<dyn ReaderDesk>>, ics: DocIcs) -> DocDut {
        let rte = rte.map(|l| FramedLink::new(l, RteFormat { with_bcc: ics.caps.rte_bcc }));
        DocDut { wire: FramedLink::new(khil, KhilFormat), rte, desk, ics, seq: 0, events: VecDeque::new() }
    }

    fn reply_timeout(&self) -> Duration {
        Duration::from_millis(self.ics.ixit.reply_timeout_ms)
    }

    pub fn event_timeout(&self) -> Duration {
        Duration::from_millis(self.ics.ixit.event_timeout_ms)
    }

    /// The next sequence number: 1..=65535, never 0.
    pub fn next_seq(&mut self) -> u16 {
        self.seq = self.seq.checked_add(1).unwrap_or(1);
        self.seq
    }

    /// Sends bytes (a frame, or a frame broken on purpose), recording the first 14 (the header) and `what`.
    pub async fn send_raw(&mut self, ctx: &mut Ctx, bytes: &[u8], what: String) -> Result<(), Stop> {
        ctx.frame(Direction::Out, hex(&bytes[..bytes.len().min(14)]), what);
        let deadline = Instant::now() + self.reply_timeout();
        match self.wire.send(bytes, deadline).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Stop::Error("the reader's line did not take the request".into())),
            Err(e) => Err(Stop::Error(format!("the reader's line: {e}"))),
        }
    }

    /// Sends `frame` as it is.
    pub async fn send(&mut self, ctx: &mut Ctx, frame: &Frame) -> Result<(), Stop> {
        let bytes = frame.encode().map_err(|e| Stop::Error(format!("the request cannot be encoded: {e}")))?;
        self.send_raw(ctx, &bytes, summary(frame)).await
    }

    /// The next frame the reader sends within `limit`, recorded.
    async fn recv(&mut self, ctx: &mut Ctx, limit: Duration) -> Result<Option<Frame>, Stop> {
        let deadline = Instant::now() + limit;
        loop {
            match self.wire.next(deadline).await {
                Ok(Some(Received::Frame { frame, .. })) => {
                    let head = frame.encode().map(|b| hex(&b[..14])).unwrap_or_default();
                    ctx.frame(Direction::In, head, summary(&frame));
                    return Ok(Some(frame));
                }
                Ok(Some(Received::Skipped { raw, reason })) => {
                    ctx.note(format!("{} bytes from the reader dropped: {reason}", raw.len()));
                }
                Ok(None) => return Ok(None),
                Err(e) => return Err(Stop::Error(format!("the reader's line: {e}"))),
            }
        }
    }

    /// The next frame that is not unsolicited (sequence number not 0), within the reply timeout; the unsolicited
    /// ones are kept for [`DocDut::event`].
    pub async fn answer(&mut self, ctx: &mut Ctx) -> Result<Option<Frame>, Stop> {
        let limit = self.reply_timeout();
        self.answer_within(ctx, limit).await
    }

    /// [`DocDut::answer`] within `limit`.
    pub async fn answer_within(&mut self, ctx: &mut Ctx, limit: Duration) -> Result<Option<Frame>, Stop> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(ctx, left).await? {
                Some(f) if f.seq == 0 => self.events.push_back(f),
                other => return Ok(other),
            }
        }
    }

    /// Sends `message` with the next sequence number; that number and the answer (any sequence number but 0).
    pub async fn request(&mut self, ctx: &mut Ctx, message: &Message) -> Result<(u16, Option<Frame>), Stop> {
        let seq = self.next_seq();
        let frame = message.to_frame(seq).map_err(|e| Stop::Error(format!("the request cannot be encoded: {e}")))?;
        self.send(ctx, &frame).await?;
        Ok((seq, self.answer(ctx).await?))
    }

    /// The answer to request `seq`, parsed: a failed check when there is none, its number differs, or it does not
    /// parse.
    pub fn expect_answer(ctx: &mut Ctx, what: &str, seq: u16, answer: Option<Frame>) -> Result<(Frame, Message), Stop> {
        let Some(frame) = answer else {
            return Err(ctx.fail(format!("{what}: an answer"), "an answer within the reply timeout", "none"));
        };
        ctx.check_eq(format!("{what}: the answer's sequence number"), seq, frame.seq)?;
        match Message::from_frame(&frame) {
            Ok(m) => Ok((frame, m)),
            Err(e) => Err(ctx.fail(format!("{what}: the answer"), "a message that parses", e)),
        }
    }

    /// The next unsolicited frame (sequence number 0) within `limit`; answers arriving meanwhile are noted and
    /// dropped (nothing was asked).
    pub async fn event(&mut self, ctx: &mut Ctx, limit: Duration) -> Result<Option<Frame>, Stop> {
        if let Some(f) = self.events.pop_front() {
            return Ok(Some(f));
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(ctx, left).await? {
                Some(f) if f.seq != 0 => ctx.note(format!("an answer nobody asked for: {}", summary(&f))),
                other => return Ok(other),
            }
        }
    }

    /// Forgets events received so far (before an action whose event a purpose waits for).
    pub fn forget_events(&mut self) {
        self.events.clear();
    }

    /// Lays `specimen` on the glass: the simulator's desk, or the operator.
    pub async fn place(&mut self, ctx: &mut Ctx, specimen: Specimen) -> Result<(), Stop> {
        let action = match specimen {
            Specimen::Passport => PLACE_PASSPORT,
            Specimen::Td2 => PLACE_TD2,
        };
        match &self.desk {
            Some(desk) => {
                desk.place(specimen).map_err(|e| Stop::Error(format!("the simulator's desk: {e}")))?;
                ctx.note(format!("desk: {action}: done"));
                Ok(())
            }
            None => ctx.operator(action, false).await,
        }
    }

    /// Takes whatever lies on the glass away (nothing to do on an empty one).
    pub async fn remove(&mut self, ctx: &mut Ctx) -> Result<(), Stop> {
        match &self.desk {
            Some(desk) => {
                desk.remove().map_err(|e| Stop::Error(format!("the simulator's desk: {e}")))?;
                ctx.note(format!("desk: {REMOVE}: done"));
                Ok(())
            }
            None => ctx.operator(REMOVE, true).await,
        }
    }

    /// The next RTE block within `limit`, and the bytes dropped before it (each with why).
    pub async fn rte_block(&mut self, ctx: &mut Ctx, limit: Duration) -> Result<(Option<RteFrame>, u64), Stop> {
        let Some(rte) = self.rte.as_mut() else {
            return Err(Stop::Error("no RTE channel: [capabilities] rte = true needs [ixit] rte_url".into()));
        };
        let deadline = Instant::now() + limit;
        let mut dropped = 0u64;
        loop {
            match rte.next(deadline).await {
                Ok(Some(Received::Frame { frame, raw })) => {
                    ctx.frame(Direction::In, hex(&raw[..7.min(raw.len())]), format!("RTE block ({} bytes)", raw.len()));
                    return Ok((Some(frame), dropped));
                }
                Ok(Some(Received::Skipped { raw, reason })) => {
                    dropped += raw.len() as u64;
                    ctx.note(format!("RTE channel: {} bytes dropped: {reason}", raw.len()));
                }
                Ok(None) => return Ok((None, dropped)),
                Err(e) => return Err(Stop::Error(format!("the RTE line: {e}"))),
            }
        }
    }
}
