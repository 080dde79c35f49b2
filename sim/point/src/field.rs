//! The chip reader's RF field. The in-memory reader answers at memory speed; a real contactless exchange takes
//! air time (ISO 14443 at 424 kbit/s here) and the chip's own time, which is what the flow's timeline models.
//!
//! **The timings are assumptions** (no measurement of a real chip was available): a fixed turnaround per APDU
//! and a cost per public-key operation, in the range published for eMRTD chips (PACE and chip authentication
//! take a few hundred milliseconds; a data group of ~15 kB a second or two).

use std::time::Duration;

use khil_apdu::{ApduFuture, ApduTransport, Card, CardSlot, MemoryReader, memory_pair};

/// How long the chip and the air take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChipTiming {
    /// Bits per second over the air.
    pub air_bps: u32,
    /// Per APDU: frame delays, the reader's and the chip's turnaround, secure messaging.
    pub per_apdu: Duration,
    /// GENERAL AUTHENTICATE (PACE steps, chip authentication) and MSE:Set KAT: an elliptic-curve operation.
    pub key_agreement: Duration,
    /// INTERNAL AUTHENTICATE (active authentication): a signature.
    pub signature: Duration,
    /// PSO:Verify Certificate and EXTERNAL AUTHENTICATE (terminal authentication): a signature verification.
    pub verification: Duration,
}

impl Default for ChipTiming {
    fn default() -> ChipTiming {
        ChipTiming {
            air_bps: 424_000,
            per_apdu: Duration::from_millis(8),
            key_agreement: Duration::from_millis(120),
            signature: Duration::from_millis(150),
            verification: Duration::from_millis(100),
        }
    }
}

impl ChipTiming {
    /// What one exchange of `command` (bytes) answered with `answer` (bytes) takes.
    pub fn exchange(&self, command: &[u8], answer: usize) -> Duration {
        let bits = (command.len() + answer) as u64 * 8;
        let air = Duration::from_secs_f64(bits as f64 / f64::from(self.air_bps.max(1)));
        let work = match command.get(1) {
            Some(0x86 | 0x22) => self.key_agreement,
            Some(0x88) => self.signature,
            Some(0x2A | 0x82) => self.verification,
            _ => Duration::ZERO,
        };
        air + self.per_apdu + work
    }
}

/// The reader's transport with the field's timing: each exchange takes [`ChipTiming::exchange`] on tokio's clock.
pub struct TimedReader {
    inner: MemoryReader,
    timing: ChipTiming,
}

impl std::fmt::Debug for TimedReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimedReader").field("timing", &self.timing).finish_non_exhaustive()
    }
}

impl ApduTransport for TimedReader {
    fn transmit_raw<'a>(&'a mut self, apdu: &'a [u8]) -> ApduFuture<'a, Vec<u8>> {
        Box::pin(async move {
            let answer = khil_sim_host::account::accounted("e-passport chip", self.inner.transmit_raw(apdu)).await?;
            tokio::time::sleep(self.timing.exchange(apdu, answer.len())).await;
            Ok(answer)
        })
    }

    fn card_present(&mut self) -> ApduFuture<'_, bool> {
        self.inner.card_present()
    }

    fn reset(&mut self) -> ApduFuture<'_, Vec<u8>> {
        Box::pin(async move {
            let atr = self.inner.reset().await?;
            // Activation: field on, ATS, PPS.
            tokio::time::sleep(self.timing.per_apdu * 2).await;
            Ok(atr)
        })
    }
}

/// The field, seen from the world: chips laid in and taken out.
#[derive(Clone)]
pub struct Field {
    slot: CardSlot,
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Field").finish_non_exhaustive()
    }
}

impl Field {
    /// An empty field and the reader's transport on it.
    pub fn new(timing: ChipTiming) -> (Field, TimedReader) {
        let (reader, slot) = memory_pair(NoCard);
        slot.remove();
        (Field { slot }, TimedReader { inner: reader, timing })
    }

    /// Lays a chip in the field (it powers up at the reader's next exchange).
    pub fn present(&self, card: Box<dyn Card>) {
        self.slot.insert(card);
    }

    pub fn take_away(&self) {
        self.slot.remove();
    }
}

/// The placeholder `memory_pair` needs before the first chip; taken out at once, never answers.
struct NoCard;

impl Card for NoCard {
    fn atr(&self) -> Vec<u8> {
        Vec::new()
    }
    fn reset(&mut self) {}
    fn answer(&mut self, _: &khil_apdu::Command) -> khil_apdu::Response {
        khil_apdu::Response::status(khil_apdu::StatusWord(0x6F00))
    }
}
