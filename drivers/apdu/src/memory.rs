//! An in-memory reader: a transport and the slot a card is put into, for tests and `sim:` cards.
//!
//! Commands go through the same bytes as on a real reader (encoded, then parsed by [`answer_bytes`]), so a driver
//! tested in memory meets the same malformed-APDU answers it meets through pcscd.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::card::{Card, Reply, reply_bytes};
use crate::transport::{ApduFuture, ApduTransport, TransportError};

const READER: &str = "in-memory reader";

/// How long the in-memory reader waits for an answer by default: as long as a contactless reader does.
pub const DEFAULT_TIMEOUT: Duration = crate::card::LONGEST_WAIT;

#[derive(Default)]
struct Slot {
    card: Option<Box<dyn Card>>,
    /// A card is powered (and reset) by the first exchange after it was inserted, as PC/SC does on connect.
    powered: bool,
}

fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    // A card that panicked mid-answer leaves the slot as it was; keep serving.
    slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The host end: an [`ApduTransport`].
pub struct MemoryReader {
    slot: Arc<Mutex<Slot>>,
    /// The longest the reader waits for a card's answer (a late or mute card is a transport error after it).
    timeout: Duration,
}

/// The card end: insert and remove cards while the reader is in use.
#[derive(Clone)]
pub struct CardSlot {
    slot: Arc<Mutex<Slot>>,
}

/// A reader with `card` in it, and the slot to change cards.
pub fn memory_pair(card: impl Card + 'static) -> (MemoryReader, CardSlot) {
    let slot = Arc::new(Mutex::new(Slot { card: Some(Box::new(card)), powered: false }));
    (MemoryReader { slot: Arc::clone(&slot), timeout: DEFAULT_TIMEOUT }, CardSlot { slot })
}

impl CardSlot {
    /// Puts a card in (replacing any); it is powered at the next exchange.
    pub fn insert(&self, card: impl Card + 'static) {
        let mut slot = lock(&self.slot);
        slot.card = Some(Box::new(card));
        slot.powered = false;
    }

    /// Takes the card out; the reader reports no card until one is inserted.
    pub fn remove(&self) -> Option<Box<dyn Card>> {
        let mut slot = lock(&self.slot);
        slot.powered = false;
        slot.card.take()
    }
}

impl MemoryReader {
    /// Waits at most `timeout` for each answer (default [`DEFAULT_TIMEOUT`]).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    fn with_card<T>(&self, f: impl FnOnce(&mut dyn Card, bool) -> T) -> Result<T, TransportError> {
        let mut slot = lock(&self.slot);
        let powered = std::mem::replace(&mut slot.powered, true);
        if let Some(card) = slot.card.as_deref_mut() {
            return Ok(f(card, powered));
        }
        slot.powered = false;
        Err(TransportError::NoCard { reader: READER.into() })
    }
}

impl ApduTransport for MemoryReader {
    fn transmit_raw<'a>(&'a mut self, apdu: &'a [u8]) -> ApduFuture<'a, Vec<u8>> {
        let reply = self.with_card(|card, powered| {
            if !powered {
                card.reset();
            }
            reply_bytes(card, apdu)
        });
        let timeout = self.timeout;
        Box::pin(async move {
            // The card's timing on tokio's clock (a paused clock in tests costs no real time).
            match reply? {
                Reply::Now(bytes) => Ok(bytes),
                Reply::After(late, bytes) if late <= timeout => {
                    tokio::time::sleep(late).await;
                    Ok(bytes)
                }
                Reply::After(..) | Reply::Mute => {
                    tokio::time::sleep(timeout).await;
                    Err(TransportError::Reader {
                        reader: READER.into(),
                        what: "transmitting",
                        why: format!("the card did not answer within {} ms", timeout.as_millis()),
                    })
                }
            }
        })
    }

    fn card_present(&mut self) -> ApduFuture<'_, bool> {
        let present = lock(&self.slot).card.is_some();
        Box::pin(async move { Ok(present) })
    }

    fn reset(&mut self) -> ApduFuture<'_, Vec<u8>> {
        let atr = self.with_card(|card, _| {
            card.reset();
            card.atr()
        });
        Box::pin(async move { atr })
    }
}

impl fmt::Debug for MemoryReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = lock(&self.slot);
        f.debug_struct("MemoryReader")
            .field("card", &slot.card.is_some())
            .field("powered", &slot.powered)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl fmt::Debug for CardSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardSlot").field("card", &lock(&self.slot).card.is_some()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apdu::{Command, Response};
    use crate::card::atr_t1;

    /// Answers 9000 after `late`, or never.
    struct Timed(Option<Duration>);
    impl Card for Timed {
        fn atr(&self) -> Vec<u8> {
            atr_t1(&[]).unwrap()
        }
        fn reset(&mut self) {}
        fn answer(&mut self, _: &Command) -> Response {
            Response::status(crate::StatusWord::SUCCESS)
        }
        fn reply(&mut self, command: &Command) -> Reply {
            self.0.map_or(Reply::Mute, |late| Reply::After(late, self.answer(command)))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_reader_waits_up_to_its_timeout() {
        let apdu = [0x00, 0x84, 0x00, 0x00, 0x08];
        let (mut reader, _slot) = memory_pair(Timed(Some(Duration::from_millis(300))));
        let start = tokio::time::Instant::now();
        assert_eq!(reader.transmit_raw(&apdu).await.unwrap(), [0x90, 0x00]);
        assert_eq!(start.elapsed(), Duration::from_millis(300));
        reader.set_timeout(Duration::from_millis(200));
        let err = reader.transmit_raw(&apdu).await.unwrap_err().to_string();
        assert!(err.contains("did not answer within 200 ms"), "{err}");
        let (mut reader, _slot) = memory_pair(Timed(None));
        let start = tokio::time::Instant::now();
        let err = reader.transmit_raw(&apdu).await.unwrap_err().to_string();
        assert!(err.contains("within 4949 ms"), "{err}");
        assert_eq!(start.elapsed(), DEFAULT_TIMEOUT);
    }
}
