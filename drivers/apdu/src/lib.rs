//! APDU transports: how khil talks to devices that exchange ISO 7816-4 APDUs (e-passport chips, smart cards)
//! rather than bytes on a stream.
//!
//! - [`apdu`]: `Command` and `Response`, pure (parse and encode, short and extended lengths); [`status`]: named
//!   status words;
//! - [`ApduTransport`]: the host side (transmit, card present, reset -> ATR), opened from a URL by [`connect`]:
//!   `pcsc://<reader>` through PC/SC (feature `pcsc`, module `pcsc`), `sim:` through the binary's registry;
//! - [`Card`]: the card side a simulator implements (answer a command, reset, ATR); the reader owns the loop;
//! - [`memory_pair`]: an in-memory reader with a card in it; [`vpcd::VpcdEndpoint`]: a card plugged into pcscd
//!   through vsmartcard's vpcd, so every PC/SC client can reach it.

pub mod apdu;
pub mod card;
pub mod memory;
#[cfg(feature = "pcsc")]
pub mod pcsc;
pub mod status;
pub mod transport;
pub mod vpcd;

pub use apdu::{ApduError, Command, Response};
pub use card::{Card, answer_bytes, atr_t1};
pub use memory::{CardSlot, MemoryReader, memory_pair};
pub use status::StatusWord;
pub use transport::{
    ApduFuture, ApduTransport, BoxApdu, NoSimCards, PCSC_FEATURE_HINT, SimCardConnector, TransportError, connect,
};
