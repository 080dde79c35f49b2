//! An in-memory reader: a transport and the slot a card is put into, for tests and `sim:` cards.
//!
//! Commands go through the same bytes as on a real reader (encoded, then parsed by [`answer_bytes`]), so a driver
//! tested in memory meets the same malformed-APDU answers it meets through pcscd.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::card::{Card, answer_bytes};
use crate::transport::{ApduFuture, ApduTransport, TransportError};

const READER: &str = "in-memory reader";

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
}

/// The card end: insert and remove cards while the reader is in use.
#[derive(Clone)]
pub struct CardSlot {
    slot: Arc<Mutex<Slot>>,
}

/// A reader with `card` in it, and the slot to change cards.
pub fn memory_pair(card: impl Card + 'static) -> (MemoryReader, CardSlot) {
    let slot = Arc::new(Mutex::new(Slot { card: Some(Box::new(card)), powered: false }));
    (MemoryReader { slot: Arc::clone(&slot) }, CardSlot { slot })
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
        let answer = self.with_card(|card, powered| {
            if !powered {
                card.reset();
            }
            answer_bytes(card, apdu)
        });
        Box::pin(async move { answer })
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
        f.debug_struct("MemoryReader").field("card", &slot.card.is_some()).field("powered", &slot.powered).finish()
    }
}

impl fmt::Debug for CardSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardSlot").field("card", &lock(&self.slot).card.is_some()).finish()
    }
}
