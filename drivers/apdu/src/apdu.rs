//! ISO/IEC 7816-4 command and response APDUs (clause 5.1): pure types, parse and encode. No I/O.
//!
//! A command is a 4-byte header `CLA INS P1 P2`, then optionally `Lc` and `Nc` data bytes, then optionally `Le`
//! (the most response bytes wanted, `Ne`). Short fields are one byte (`Nc` 1-255, `Ne` 1-256 with `00` meaning
//! 256); extended fields start with a `00` byte and carry two (`Nc` 1-65535, `Ne` 1-65536 with `0000` meaning
//! 65536). The four cases:
//!
//! ```text
//! case 1   CLA INS P1 P2
//! case 2S  CLA INS P1 P2 Le                 case 2E  CLA INS P1 P2 00 Le1 Le2
//! case 3S  CLA INS P1 P2 Lc data            case 3E  CLA INS P1 P2 00 Lc1 Lc2 data
//! case 4S  CLA INS P1 P2 Lc data Le         case 4E  CLA INS P1 P2 00 Lc1 Lc2 data Le1 Le2
//! ```
//!
//! A response is `Nr` data bytes (at most 65536) and the status word `SW1 SW2`.
//!
//! `Debug` of both prints lengths and the status word, never data: APDUs carry keys, challenges and document data.

use std::fmt;

use crate::status::StatusWord;

/// The most data bytes a command carries (`Nc`, extended `Lc`).
pub const MAX_NC: usize = 65_535;
/// The most response bytes a command can ask for (`Ne`, extended `Le` `0000`).
pub const MAX_NE: usize = 65_536;
/// Above these a command needs extended length fields.
pub const MAX_SHORT_NC: usize = 255;
pub const MAX_SHORT_NE: usize = 256;

/// What was wrong with APDU bytes or values: which APDU, how long it was, the byte offset, what was expected there.
/// Never contains data bytes, so it can be logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} APDU of {len} bytes: at byte {offset}: {expected}")]
pub struct ApduError {
    /// `command` or `response`.
    pub kind: &'static str,
    /// The length of the APDU (for values built in code: the length it would have).
    pub len: usize,
    pub offset: usize,
    pub expected: String,
}

/// A command APDU.
#[derive(Clone)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    data: Vec<u8>,
    ne: Option<usize>,
    /// Encode with extended length fields even where short ones would do (a card may be tested on both forms).
    force_extended: bool,
}

impl Command {
    /// A case 1 command: the header alone.
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Command {
        Command { cla, ins, p1, p2, data: Vec::new(), ne: None, force_extended: false }
    }

    /// Sets the data field (`Nc` 0-65535; empty means no `Lc` field).
    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Result<Command, ApduError> {
        let data = data.into();
        if data.len() > MAX_NC {
            return Err(self.value_error(4, format!("expected at most {MAX_NC} data bytes (Nc), got {}", data.len())));
        }
        self.data = data;
        Ok(self)
    }

    /// Sets `Ne`, the most response data bytes wanted (1-65536; 256 is short `Le` `00`, 65536 extended `0000`).
    pub fn with_ne(mut self, ne: usize) -> Result<Command, ApduError> {
        if !(1..=MAX_NE).contains(&ne) {
            return Err(self.value_error(self.le_offset(), format!("expected Ne from 1 to {MAX_NE}, got {ne}")));
        }
        self.ne = Some(ne);
        Ok(self)
    }

    /// Encodes with extended length fields even where short ones would do. No effect on a case 1 command, which has
    /// no length fields.
    #[must_use]
    pub fn extended(mut self) -> Command {
        self.force_extended = true;
        self
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// `Nc`: the number of data bytes.
    pub fn nc(&self) -> usize {
        self.data.len()
    }

    /// `Ne`: the most response data bytes wanted, `None` when the command has no `Le` field.
    pub fn ne(&self) -> Option<usize> {
        self.ne
    }

    /// Whether the encoding uses extended length fields (forced, or needed for `Nc` > 255 or `Ne` > 256).
    pub fn is_extended(&self) -> bool {
        let has_lengths = !self.data.is_empty() || self.ne.is_some();
        (self.force_extended && has_lengths)
            || self.data.len() > MAX_SHORT_NC
            || self.ne.is_some_and(|n| n > MAX_SHORT_NE)
    }

    /// Where the `Le` field starts (for case 2E, its 00 marker).
    fn le_offset(&self) -> usize {
        let lc = match (self.data.is_empty(), self.is_extended()) {
            (true, _) => 0,
            (false, true) => 3,
            (false, false) => 1,
        };
        4 + lc + self.data.len()
    }

    fn encoded_len(&self) -> usize {
        let le = match self.ne {
            None => 0,
            // Case 2E carries the extended marker byte in front of Le.
            Some(_) if self.is_extended() && self.data.is_empty() => 3,
            Some(_) if self.is_extended() => 2,
            Some(_) => 1,
        };
        self.le_offset() + le
    }

    fn value_error(&self, offset: usize, expected: String) -> ApduError {
        ApduError { kind: "command", len: self.encoded_len(), offset, expected }
    }

    /// The command's bytes: short length fields where they suffice, extended ones otherwise (or when forced).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        let ext = self.is_extended();
        if !self.data.is_empty() {
            if ext {
                out.push(0);
                out.extend_from_slice(&(self.data.len() as u16).to_be_bytes());
            } else {
                out.push(self.data.len() as u8);
            }
            out.extend_from_slice(&self.data);
        }
        if let Some(ne) = self.ne {
            if ext {
                if self.data.is_empty() {
                    out.push(0);
                }
                // 65536 is written 0000.
                out.extend_from_slice(&((ne % 65_536) as u16).to_be_bytes());
            } else {
                // 256 is written 00.
                out.push((ne % 256) as u8);
            }
        }
        out
    }

    /// Parses a command APDU. Errors name the byte offset and what the length fields made us expect there.
    pub fn parse(bytes: &[u8]) -> Result<Command, ApduError> {
        let len = bytes.len();
        let err = |offset: usize, expected: String| ApduError { kind: "command", len, offset, expected };
        let [cla, ins, p1, p2, body @ ..] = bytes else {
            return Err(err(len, format!("expected a 4-byte header CLA INS P1 P2, the APDU ends after {len}")));
        };
        let mut command = Command::new(*cla, *ins, *p1, *p2);
        let short_ne = |b: u8| if b == 0 { MAX_SHORT_NE } else { usize::from(b) };
        let long = |hi: u8, lo: u8| usize::from(u16::from_be_bytes([hi, lo]));
        match body {
            [] => {}
            [le] => command.ne = Some(short_ne(*le)),
            [0, rest @ ..] => {
                // Extended length fields.
                match rest {
                    // `[]` cannot occur: a lone 00 after the header is case 2S, matched above.
                    [] | [_] => {
                        return Err(err(
                            len,
                            "expected 2 extended length bytes after the 00 at byte 4, found 1 (the APDU ends)".into(),
                        ));
                    }
                    [hi, lo] => command.ne = Some(if *hi == 0 && *lo == 0 { MAX_NE } else { long(*hi, *lo) }),
                    [hi, lo, data @ ..] => {
                        let nc = long(*hi, *lo);
                        if nc == 0 {
                            return Err(err(
                                5,
                                format!(
                                    "expected an extended Lc from 0001 to FFFF: Lc 0000 cannot be followed by {} bytes",
                                    data.len()
                                ),
                            ));
                        }
                        if data.len() == nc {
                            command.data = data.to_vec();
                        } else if data.len() == nc + 2 {
                            command.data = data[..nc].to_vec();
                            let (hi, lo) = (data[nc], data[nc + 1]);
                            command.ne = Some(if hi == 0 && lo == 0 { MAX_NE } else { long(hi, lo) });
                        } else {
                            return Err(err(
                                5,
                                format!(
                                    "extended Lc {nc} says {nc} data bytes, optionally followed by a 2-byte Le \
                                     ({nc} or {} bytes after byte 6), but {} bytes follow",
                                    nc + 2,
                                    data.len()
                                ),
                            ));
                        }
                    }
                }
                // Extended fields on a command short ones would carry: keep the form, so bytes round-trip.
                command.force_extended = true;
            }
            [lc, data @ ..] => {
                let nc = usize::from(*lc);
                if data.len() == nc {
                    command.data = data.to_vec();
                } else if data.len() == nc + 1 {
                    command.data = data[..nc].to_vec();
                    command.ne = Some(short_ne(data[nc]));
                } else {
                    return Err(err(
                        4,
                        format!(
                            "Lc {nc} says {nc} data bytes, optionally followed by a 1-byte Le ({nc} or {} bytes \
                             after byte 4), but {} bytes follow",
                            nc + 1,
                            data.len()
                        ),
                    ));
                }
            }
        }
        Ok(command)
    }
}

impl PartialEq for Command {
    /// Equal when they encode to the same bytes.
    fn eq(&self, other: &Command) -> bool {
        (self.cla, self.ins, self.p1, self.p2, self.ne, self.is_extended())
            == (other.cla, other.ins, other.p1, other.p2, other.ne, other.is_extended())
            && self.data == other.data
    }
}

impl Eq for Command {}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Command({:02X} {:02X} {:02X} {:02X}, Nc {}", self.cla, self.ins, self.p1, self.p2, self.data.len())?;
        if let Some(ne) = self.ne {
            write!(f, ", Ne {ne}")?;
        }
        if self.is_extended() {
            f.write_str(", extended")?;
        }
        f.write_str(")")
    }
}

/// A response APDU: data and the status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    data: Vec<u8>,
    pub sw: StatusWord,
}

impl Response {
    /// A response with data. More than 65536 data bytes is refused (`Ne` cannot ask for more).
    pub fn new(data: impl Into<Vec<u8>>, sw: StatusWord) -> Result<Response, ApduError> {
        let data = data.into();
        if data.len() > MAX_NE {
            let len = data.len() + 2;
            return Err(ApduError {
                kind: "response",
                len,
                offset: MAX_NE,
                expected: format!("expected at most {MAX_NE} data bytes before SW1 SW2, got {}", data.len()),
            });
        }
        Ok(Response { data, sw })
    }

    /// A status word alone, as most errors are answered.
    pub fn status(sw: StatusWord) -> Response {
        Response { data: Vec::new(), sw }
    }

    /// `data` with 9000.
    pub fn ok(data: impl Into<Vec<u8>>) -> Result<Response, ApduError> {
        Response::new(data, StatusWord::SUCCESS)
    }

    pub fn data(&self) -> &[u8] {
        &self.data
    }

    pub fn into_data(self) -> Vec<u8> {
        self.data
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.sw.0.to_be_bytes());
        out
    }

    /// Parses a response APDU: the last two bytes are SW1 SW2, the rest data.
    pub fn parse(bytes: &[u8]) -> Result<Response, ApduError> {
        let len = bytes.len();
        let err = |offset: usize, expected: String| ApduError { kind: "response", len, offset, expected };
        let Some(split) = len.checked_sub(2) else {
            return Err(err(len, format!("expected the status word SW1 SW2 (2 bytes), the response has {len}")));
        };
        if split > MAX_NE {
            return Err(err(MAX_NE, format!("expected at most {MAX_NE} data bytes before SW1 SW2, got {split}")));
        }
        let sw = StatusWord(u16::from_be_bytes([bytes[split], bytes[split + 1]]));
        Ok(Response { data: bytes[..split].to_vec(), sw })
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Response({} data bytes, {})", self.data.len(), self.sw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// The eMRTD reference's APDUs (9303 Part 11 worked example) parse to what they are and encode back.
    #[test]
    fn reference_apdus() {
        let select = Command::parse(&hex("00A4040C07A0000002471001")).unwrap();
        assert_eq!((select.cla, select.ins, select.p1, select.p2), (0x00, 0xA4, 0x04, 0x0C));
        assert_eq!(select.data(), hex("A0000002471001"));
        assert_eq!(select.ne(), None);
        let challenge = Command::parse(&hex("0084000008")).unwrap();
        assert_eq!((challenge.nc(), challenge.ne()), (0, Some(8)));
        let read = Command::parse(&hex("0CB000000D9701048E08ED6705417E96BA5500")).unwrap();
        assert_eq!((read.nc(), read.ne(), read.is_extended()), (13, Some(256), false));
        for text in ["00A4040C07A0000002471001", "0084000008", "0CB000000D9701048E08ED6705417E96BA5500"] {
            assert_eq!(Command::parse(&hex(text)).unwrap().encode(), hex(text), "{text}");
        }
    }

    #[test]
    fn every_case_both_forms() {
        let c = |b: &str| Command::parse(&hex(b)).unwrap();
        assert_eq!(c("00B00000"), Command::new(0, 0xB0, 0, 0));
        assert_eq!(c("00B0000000").ne(), Some(256));
        assert_eq!(c("00B00000000000").ne(), Some(65_536));
        assert_eq!(c("00B00000000100").ne(), Some(256));
        assert!(c("00B00000000100").is_extended());
        assert_eq!(c("00B0000000FFFF").ne(), Some(65_535));
        let e4 = c("00B100000000035402010000");
        assert_eq!((e4.data(), e4.ne(), e4.is_extended()), (&hex("540201")[..], Some(65_536), true));
        let e3 = c("00D60000000002AABB");
        assert_eq!((e3.data(), e3.ne()), (&hex("AABB")[..], None));
        // Built in code: the short form unless the values need the long one.
        let big = Command::new(0, 0xD6, 0, 0).with_data(vec![7u8; 300]).unwrap();
        assert_eq!(&big.encode()[..7], &hex("00D6000000012C")[..]);
        let cmd = Command::new(0, 0xB0, 0, 0).with_ne(256).unwrap();
        assert_eq!(cmd.encode(), hex("00B0000000"));
        assert_eq!(cmd.clone().extended().encode(), hex("00B00000000100"));
        assert_eq!(Command::new(0, 0xB0, 0, 0).with_ne(65_536).unwrap().encode(), hex("00B00000000000"));
        // A case 1 command has no length fields to extend.
        assert_eq!(Command::new(0, 0x70, 0, 0).extended().encode(), hex("00700000"));
    }

    /// Errors say where and what was expected, and never echo data bytes.
    #[test]
    fn errors_name_offset_and_expectation() {
        for (bytes, offset, expected) in [
            ("", 0, "4-byte header"),
            ("00A404", 3, "4-byte header"),
            ("00A4040C05A000", 4, "Lc 5 says 5 data bytes"),
            ("00A4040C01AABBCC", 4, "but 3 bytes follow"),
            ("00B0000000FF", 6, "2 extended length bytes"),
            ("00D60000000000AA", 5, "Lc 0000"),
            ("00D60000000003AABB", 5, "extended Lc 3"),
            ("00D60000000001AABBCCDD", 5, "but 4 bytes follow"),
        ] {
            let e = Command::parse(&hex(bytes)).expect_err(bytes);
            assert_eq!((e.kind, e.len, e.offset), ("command", bytes.len() / 2, offset), "{bytes}: {e}");
            assert!(e.expected.contains(expected), "{bytes}: {e}");
            assert!(!e.to_string().contains("AABB"), "{e}");
        }
        let e = Response::parse(&[0x90]).unwrap_err();
        assert_eq!((e.kind, e.offset), ("response", 1));
        assert!(e.to_string().contains("status word"), "{e}");
        let e = Response::parse(&vec![0; MAX_NE + 3]).unwrap_err();
        assert!(e.expected.contains("at most 65536"), "{e}");
        assert!(Command::new(0, 0, 0, 0).with_ne(0).unwrap_err().expected.contains("Ne from 1 to 65536"));
        assert!(Command::new(0, 0, 0, 0).with_ne(65_537).is_err());
        assert!(Command::new(0, 0, 0, 0).with_data(vec![0; MAX_NC + 1]).unwrap_err().expected.contains("65535"));
        assert!(Response::new(vec![0; MAX_NE + 1], StatusWord::SUCCESS).is_err());
    }

    #[test]
    fn debug_prints_no_data() {
        let c = Command::new(0, 0x82, 0, 0).with_data(hex("DEADBEEF")).unwrap().with_ne(40).unwrap();
        let r = Response::ok(hex("CAFEF00D")).unwrap();
        let text = format!("{c:?} {r:?}");
        assert_eq!(text, "Command(00 82 00 00, Nc 4, Ne 40) Response(4 data bytes, 9000 (success))");
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn command() -> impl Strategy<Value = Command> {
            (
                any::<[u8; 4]>(),
                prop_oneof![
                    3 => proptest::collection::vec(any::<u8>(), 0..=300),
                    1 => proptest::collection::vec(any::<u8>(), 65_530..=MAX_NC),
                ],
                proptest::option::of(prop_oneof![1usize..=300, 65_000usize..=MAX_NE]),
                any::<bool>(),
            )
                .prop_map(|([cla, ins, p1, p2], data, ne, ext)| {
                    let mut c = Command::new(cla, ins, p1, p2).with_data(data).unwrap();
                    if let Some(ne) = ne {
                        c = c.with_ne(ne).unwrap();
                    }
                    if ext { c.extended() } else { c }
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
                let _ = Command::parse(&bytes);
                let _ = Response::parse(&bytes);
            }

            /// Headers followed by length-shaped bytes: the interesting part of the grammar.
            #[test]
            fn near_valid_bytes_round_trip(
                header in any::<[u8; 4]>(),
                marker in prop_oneof![Just(vec![]), Just(vec![0u8]), (0u8..=255).prop_map(|b| vec![b])],
                lens in proptest::collection::vec(prop_oneof![Just(0u8), Just(1), Just(2), any::<u8>()], 0..3),
                tail in proptest::collection::vec(any::<u8>(), 0..12),
            ) {
                let bytes: Vec<u8> = header.iter().chain(&marker).chain(&lens).chain(&tail).copied().collect();
                if let Ok(c) = Command::parse(&bytes) {
                    // Whatever parses encodes back to exactly the same bytes.
                    prop_assert_eq!(c.encode(), bytes);
                }
            }

            #[test]
            fn commands_round_trip(c in command()) {
                let bytes = c.encode();
                prop_assert_eq!(bytes.len(), c.encoded_len());
                let back = Command::parse(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(back.encode(), bytes);
                prop_assert_eq!(back, c);
            }

            #[test]
            fn responses_round_trip(data in proptest::collection::vec(any::<u8>(), 0..300), sw in any::<u16>()) {
                let r = Response::new(data, StatusWord(sw)).unwrap();
                prop_assert_eq!(Response::parse(&r.encode()).unwrap(), r);
            }
        }
    }
}
