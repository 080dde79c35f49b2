//! The card side: what a simulated chip implements. The host (a reader: the in-memory one, or the vpcd dial-out)
//! owns the loop and the bytes; a card only answers parsed commands and starts afresh when reset.

use std::time::Duration;

use crate::apdu::{Command, Response};
use crate::status::StatusWord;

/// The longest a contactless reader waits for a chip's answer: ISO 14443-4's longest frame waiting time (FWI 14:
/// 2^14 * 256 * 16 / 13.56 MHz = 4949 ms). A chip that has not answered by then is mute to the reader.
pub const LONGEST_WAIT: Duration = Duration::from_millis(4949);

/// When and whether a card's answer reaches the reader. Cards answer at once; a lower tester's chip may answer
/// late (a slow chip) or never (a mute one). The reader owns the clock: it waits, up to its own timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<T = Response> {
    Now(T),
    /// The answer, after the card took this long.
    After(Duration, T),
    /// No answer at all: the reader sees nothing and gives up after its timeout.
    Mute,
}

impl<T> Reply<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Reply<U> {
        match self {
            Reply::Now(t) => Reply::Now(f(t)),
            Reply::After(d, t) => Reply::After(d, f(t)),
            Reply::Mute => Reply::Mute,
        }
    }
}

/// A smart card (an e-passport chip, a test card) as a reader sees it.
pub trait Card: Send {
    /// The Answer To Reset. Asked at any time (pcscd asks often, also while the card is powered), so it must not
    /// change the card's state.
    fn atr(&self) -> Vec<u8>;

    /// Power-up or reset: the chip starts afresh. Everything volatile (selected file, challenges, secure messaging
    /// keys) is gone; what a real chip keeps in EEPROM stays.
    fn reset(&mut self);

    /// The answer to one well-formed command.
    fn answer(&mut self, command: &Command) -> Response;

    /// The answer to one well-formed command and when it comes: what readers call. By default [`Card::answer`],
    /// at once; a card that models its timing (a slow or mute chip) overrides this.
    fn reply(&mut self, command: &Command) -> Reply {
        Reply::Now(self.answer(command))
    }
}

/// A boxed card is a card: the simulators hand out `Box<dyn Card>` and readers take `impl Card`. Every method
/// forwards, `reply` too (a card's timing, late or mute, is in its reply, not its answer).
impl<C: Card + ?Sized> Card for Box<C> {
    fn atr(&self) -> Vec<u8> {
        (**self).atr()
    }
    fn reset(&mut self) {
        (**self).reset();
    }
    fn answer(&mut self, command: &Command) -> Response {
        (**self).answer(command)
    }
    fn reply(&mut self, command: &Command) -> Reply {
        (**self).reply(command)
    }
}

/// Answers one command APDU's bytes: the one place where a reader turns bytes into a card's answer
/// ([`Card::reply`], so with the card's timing).
///
/// Bytes that are not a command APDU (shorter than the header, or length fields that disagree with the length)
/// get 6700 "wrong length", as a card answers them, instead of reaching the card.
pub fn reply_bytes(card: &mut dyn Card, apdu: &[u8]) -> Reply<Vec<u8>> {
    match Command::parse(apdu) {
        Ok(command) => card.reply(&command).map(|r| r.encode()),
        Err(e) => {
            // The error names offsets and lengths only, never data bytes.
            tracing::debug!(error = %e, "malformed command APDU answered 6700");
            Reply::Now(Response::status(StatusWord::WRONG_LENGTH).encode())
        }
    }
}

/// [`reply_bytes`] for callers that do not model time: a late answer is taken as it comes, a mute card's is empty.
pub fn answer_bytes(card: &mut dyn Card, apdu: &[u8]) -> Vec<u8> {
    match reply_bytes(card, apdu) {
        Reply::Now(bytes) | Reply::After(_, bytes) => bytes,
        Reply::Mute => Vec::new(),
    }
}

/// An ATR offering T=1 only, with the given historical bytes (at most 15) and its check byte TCK, as ISO 7816-3
/// requires when a protocol other than T=0 is offered: `3B 8K 01 <historical bytes> TCK`.
pub fn atr_t1(historical: &[u8]) -> Result<Vec<u8>, String> {
    if historical.len() > 15 {
        return Err(format!("an ATR holds at most 15 historical bytes, got {}", historical.len()));
    }
    // TS 3B (direct convention); T0 = TD1 present + K; TD1 = T=1, nothing further.
    let mut atr = vec![0x3B, 0x80 | historical.len() as u8, 0x01];
    atr.extend_from_slice(historical);
    // TCK: the XOR of every byte from T0 to the last historical byte is 0 with TCK included.
    let tck = atr[1..].iter().fold(0, |x, b| x ^ b);
    atr.push(tck);
    Ok(atr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atr_check_byte() {
        let atr = atr_t1(b"khil").unwrap();
        assert_eq!(&atr[..3], &[0x3B, 0x84, 0x01]);
        assert_eq!(&atr[3..7], b"khil");
        assert_eq!(atr[1..].iter().fold(0, |x, b| x ^ b), 0, "T0..TCK XOR to 0");
        assert_eq!(atr_t1(&[]).unwrap(), vec![0x3B, 0x80, 0x01, 0x81]);
        assert!(atr_t1(&[0; 16]).unwrap_err().contains("at most 15"));
    }

    struct Echo;
    impl Card for Echo {
        fn atr(&self) -> Vec<u8> {
            atr_t1(&[]).unwrap()
        }
        fn reset(&mut self) {}
        fn answer(&mut self, command: &Command) -> Response {
            Response::ok(command.data()).unwrap()
        }
    }

    #[test]
    fn malformed_bytes_get_wrong_length() {
        assert_eq!(answer_bytes(&mut Echo, &[0x00, 0xA4, 0x04]), vec![0x67, 0x00]);
        assert_eq!(answer_bytes(&mut Echo, &[0x00, 0xA4, 0x04, 0x0C, 0x05, 0xA0]), vec![0x67, 0x00]);
        assert_eq!(answer_bytes(&mut Echo, &[0x00, 0xA4, 0x04, 0x0C, 0x01, 0xA0]), vec![0xA0, 0x90, 0x00]);
    }
}
