//! The 3M RTE "native" MRZ block: a vendor's protocol (3M, later Gemalto/Thales), not khil's.
//!
//! What the one public source says — the *3M RTE6701-OEM Integration Manual* (VC27U V1.03 draft), §9.1 "RTE
//! Native Protocol", pages 25-26 (<https://www.easymanua.ls/3m/rte6701-oem/manual?p=25> and `?p=26`); the full
//! protocol is 3M document 74-0200-31, which is not public:
//!
//! - "RTE Native only has one data message sent after a document read. It does not accept any commands." So
//!   there is no acknowledge or status message to implement: this module has exactly one frame type.
//! - Block: `<SOH>[header information]<STX>[text information]<ETX>[BCC]`, header = `[length word][device
//!   byte][type byte]`; the length word is "a 14 significant bit word in [low byte][high byte] format with a
//!   value equal to the number of bytes (including check ...": the page breaks off there.
//! - Device byte always `O` (optical reader), type byte always `U` (unsolicited data); text =
//!   `[flag][optical data]`, optical data = `[line 1]<CR>[line 2]<CR>[line 3]<CR>`, a missing line's CR always
//!   sent, so the bottom line of the document is always line 3. Three OCR-B lines are padded with `_` to 30
//!   characters, two lines to 44; over-length lines are truncated from the right.
//! - "The [flag] byte is always present but is specific ..." (the page breaks off): its meaning is not public.
//!   It is carried as an opaque byte.
//!
//! The 3M Page Reader SDK's public settings header (`MMMReaderSettings.h`, `MMMSwipeProtocolSettings_RTE`) adds
//! one fact: `UseBCC` "determines whether messages received from the swipe reader include a checksum at the end
//! of the data", so the BCC is a configuration of the reader: [`RteFormat::with_bcc`].
//!
//! UNVERIFIED (no source found; each in one place, so a capture from a real reader fixes it in one line):
//! - the BCC algorithm: [`bcc`] (XOR, see there);
//! - what the length word counts: [`length_field`] (the whole block, SOH to the last byte, see there);
//! - the upper two bits of the length word's high byte: ignored ("14 significant bits").
//!
//! [`decode`] works on whatever has arrived, never panics, and resynchronises on the next SOH.

use std::fmt;

/// Start of heading.
pub const SOH: u8 = 0x01;
/// Start of text.
pub const STX: u8 = 0x02;
/// End of text.
pub const ETX: u8 = 0x03;
/// Line terminator.
pub const CR: u8 = 0x0D;
/// The device byte: "O", optical reader.
pub const DEVICE_OPTICAL: u8 = b'O';
/// The type byte: "U", unsolicited data.
pub const TYPE_UNSOLICITED: u8 = b'U';
/// The reader's padding character.
pub const PAD: u8 = b'_';
/// The longest line the manual allows ("limited to 44 characters per line").
pub const MAX_LINE: usize = 44;
/// Lines of a block.
pub const LINES: usize = 3;
/// SOH, length word, device, type, STX, flag: the bytes before the optical data.
pub const HEADER_LEN: usize = 7;

const DEVICE_AT: usize = 3;
const TYPE_AT: usize = 4;
const STX_AT: usize = 5;
const FLAG_AT: usize = 6;
/// The length word's significant bits.
const LENGTH_MASK: u16 = 0x3FFF;

/// Why bytes are not an RTE block. Offsets count from the block's SOH.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RteError {
    #[error("no block start at offset {offset}: expected SOH (01), found {found:02X}")]
    NotSoh { offset: usize, found: u8 },
    #[error("length word out of range at offset {offset}: expected {min}..={max}, found {found}")]
    BadLength { offset: usize, found: u16, min: u16, max: u16 },
    #[error("bad header byte at offset {offset}: expected {expected:02X} ({what}), found {found:02X}")]
    BadHeader { offset: usize, what: &'static str, expected: u8, found: u8 },
    #[error("no ETX at offset {offset} where the length word puts it: found {found:02X}")]
    NoEtx { offset: usize, found: u8 },
    #[error("ETX at offset {offset}, before offset {expected} where the length word puts it")]
    EarlyEtx { offset: usize, expected: usize },
    #[error("BCC mismatch at offset {offset}: expected {expected:02X} (XOR of bytes 1..=ETX), found {found:02X}")]
    BadBcc { offset: usize, expected: u8, found: u8 },
    #[error("bad optical data at offset {offset}: expected {expected}")]
    BadText { offset: usize, expected: &'static str },
    #[error("character {found:02X} at offset {offset} is not printable ASCII (20..=7E)")]
    BadCharacter { offset: usize, found: u8 },
    #[error("line {line} at offset {offset} is {found} characters: expected at most {MAX_LINE}")]
    LineTooLong { offset: usize, line: usize, found: usize },
    #[error("stream ended inside a block: expected {expected} bytes, found {found}")]
    Truncated { expected: usize, found: usize },
    #[error("too many MRZ lines to encode: expected at most {LINES}, found {found}")]
    TooManyLines { found: usize },
}

/// One RTE native block: the flag byte and the three lines as sent (padding included, CRs removed).
#[derive(Clone, PartialEq, Eq)]
pub struct RteFrame {
    /// Opaque: its meaning is not public (see the module doc).
    pub flag: u8,
    /// Line 1 (top) to line 3 (bottom); a missing line is empty.
    pub lines: [String; LINES],
}

impl fmt::Debug for RteFrame {
    // The lines are an MRZ: personal data. Lengths only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c] = &self.lines;
        write!(f, "RteFrame(flag {:02X}, line lengths {}/{}/{})", self.flag, a.len(), b.len(), c.len())
    }
}

impl RteFrame {
    /// The block a reader sends for an MRZ of `lines` (top first, at most three), padded as the manual says:
    /// three lines to 30, fewer to 44; the bottom line is line 3.
    pub fn from_mrz<S: AsRef<str>>(flag: u8, lines: &[S]) -> Result<RteFrame, RteError> {
        if lines.len() > LINES {
            return Err(RteError::TooManyLines { found: lines.len() });
        }
        let width = if lines.len() == LINES { 30 } else { MAX_LINE };
        let mut out: [String; LINES] = Default::default();
        for (slot, line) in out[LINES - lines.len()..].iter_mut().zip(lines) {
            let line = line.as_ref();
            *slot = format!("{line:_<width$}");
        }
        Ok(RteFrame { flag, lines: out })
    }

    /// The MRZ lines: the non-empty lines, top first, with the reader's `_` padding removed from their ends.
    pub fn mrz_lines(&self) -> Vec<&str> {
        self.lines.iter().map(|l| l.trim_end_matches(char::from(PAD))).filter(|l| !l.is_empty()).collect()
    }

    /// The MRZ read by `khil_mrtd::mrz` (every check digit reported).
    pub fn read_mrz(&self) -> Result<khil_mrtd::mrz::Reading, khil_mrtd::mrz::MrzError> {
        khil_mrtd::mrz::Mrz::read_lines(&self.mrz_lines())
    }
}

/// The block check character: XOR of every byte from the length word's low byte (offset 1) up to and including
/// ETX. UNVERIFIED: no public source gives the algorithm. XOR from after the start character through ETX is the
/// usual BCC of SOH/STX/ETX block protocols (ISO 1745 style); a capture of a real RTE reader decides, and this is
/// the one place to change.
pub fn bcc(after_soh_through_etx: &[u8]) -> u8 {
    after_soh_through_etx.iter().fold(0, |acc, b| acc ^ b)
}

/// The length word for a block of `block_len` bytes. UNVERIFIED: the manual's sentence ("a value equal to the
/// number of bytes (including check ...") breaks off at a page end; khil reads it as the number of bytes of the
/// whole block, SOH through the BCC (through ETX when the reader sends no BCC). The one place to change.
pub fn length_field(block_len: usize) -> u16 {
    block_len as u16
}

/// How a reader is configured: whether its blocks end in a BCC (the SDK's `UseBCC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RteFormat {
    pub with_bcc: bool,
}

impl Default for RteFormat {
    fn default() -> Self {
        RteFormat { with_bcc: true }
    }
}

/// What [`decode`] found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    Frame { frame: RteFrame, consumed: usize },
    NeedMore,
    Skipped { count: usize, reason: RteError },
}

impl RteFormat {
    /// Bytes after ETX.
    pub fn trailer_len(self) -> usize {
        usize::from(self.with_bcc)
    }

    /// The shortest block: header, three bare CRs, ETX, trailer.
    pub fn min_len(self) -> usize {
        HEADER_LEN + LINES + 1 + self.trailer_len()
    }

    /// The longest block: three lines of [`MAX_LINE`].
    pub fn max_len(self) -> usize {
        HEADER_LEN + LINES * (MAX_LINE + 1) + 1 + self.trailer_len()
    }

    /// The bytes on the wire.
    pub fn encode(self, frame: &RteFrame) -> Result<Vec<u8>, RteError> {
        let mut out = vec![SOH, 0, 0, DEVICE_OPTICAL, TYPE_UNSOLICITED, STX, frame.flag];
        for (i, line) in frame.lines.iter().enumerate() {
            if line.len() > MAX_LINE {
                return Err(RteError::LineTooLong { offset: out.len(), line: i + 1, found: line.len() });
            }
            if let Some(j) = line.bytes().position(|b| !is_printable(b)) {
                return Err(RteError::BadCharacter { offset: out.len() + j, found: line.as_bytes()[j] });
            }
            out.extend_from_slice(line.as_bytes());
            out.push(CR);
        }
        out.push(ETX);
        let total = out.len() + self.trailer_len();
        out[1..3].copy_from_slice(&length_field(total).to_le_bytes());
        if self.with_bcc {
            out.push(bcc(&out[1..]));
        }
        Ok(out)
    }

    /// Looks for a block at the start of `buf`. Anything wrong drops the bytes up to the next SOH (a corrupted
    /// length word can hide a real block inside a bad one, so that search starts at offset 1).
    pub fn decode(self, buf: &[u8]) -> Decoded {
        let Some(&first) = buf.first() else { return Decoded::NeedMore };
        if first != SOH {
            return skip(buf, RteError::NotSoh { offset: 0, found: first });
        }
        for (at, what, expected) in [
            (DEVICE_AT, "device byte O, optical reader", DEVICE_OPTICAL),
            (TYPE_AT, "type byte U, unsolicited data", TYPE_UNSOLICITED),
            (STX_AT, "STX", STX),
        ] {
            match buf.get(at) {
                Some(&found) if found != expected => {
                    return skip(buf, RteError::BadHeader { offset: at, what, expected, found });
                }
                _ => {}
            }
        }
        let Some(total) = self.len_hint(buf) else { return Decoded::NeedMore };
        let (min, max) = (self.min_len(), self.max_len());
        if !(min..=max).contains(&total) {
            let found = total as u16;
            return skip(buf, RteError::BadLength { offset: 1, found, min: min as u16, max: max as u16 });
        }
        let etx_at = total - 1 - self.trailer_len();
        // The optical data is text: a byte that cannot be in it shows a bad block as soon as it arrives, so a
        // length corrupted upwards does not hold the line until the next document's bytes fill the gap.
        let seen = buf.get(FLAG_AT + 1..buf.len().min(etx_at)).unwrap_or_default();
        if let Some(i) = seen.iter().position(|&b| b != CR && !is_printable(b)) {
            let offset = FLAG_AT + 1 + i;
            return skip(
                buf,
                match buf[offset] {
                    ETX => RteError::EarlyEtx { offset, expected: etx_at },
                    found => RteError::BadCharacter { offset, found },
                },
            );
        }
        if buf.len() < total {
            return Decoded::NeedMore;
        }
        if buf[etx_at] != ETX {
            return skip(buf, RteError::NoEtx { offset: etx_at, found: buf[etx_at] });
        }
        if self.with_bcc {
            let expected = bcc(&buf[1..=etx_at]);
            if buf[total - 1] != expected {
                return skip(buf, RteError::BadBcc { offset: total - 1, expected, found: buf[total - 1] });
            }
        }
        match lines(buf, FLAG_AT + 1, etx_at) {
            Ok(lines) => Decoded::Frame { frame: RteFrame { flag: buf[FLAG_AT], lines }, consumed: total },
            Err(reason) => skip(buf, reason),
        }
    }

    /// The whole length of the block whose header starts `buf`, once the length word is there.
    pub fn len_hint(self, buf: &[u8]) -> Option<usize> {
        match buf {
            [_, lo, hi, ..] => Some(usize::from(u16::from_le_bytes([*lo, *hi]) & LENGTH_MASK)),
            _ => None,
        }
    }
}

fn is_printable(b: u8) -> bool {
    (0x20..=0x7E).contains(&b)
}

/// The three CR-terminated lines of `buf[start..end]`.
fn lines(buf: &[u8], start: usize, end: usize) -> Result<[String; LINES], RteError> {
    let mut out: [String; LINES] = Default::default();
    let mut at = start;
    for (i, slot) in out.iter_mut().enumerate() {
        let Some(len) = buf[at..end].iter().position(|&b| b == CR) else {
            return Err(RteError::BadText { offset: at, expected: "three lines, each ending in CR (0D)" });
        };
        let line = &buf[at..at + len];
        if len > MAX_LINE {
            return Err(RteError::LineTooLong { offset: at, line: i + 1, found: len });
        }
        if let Some(j) = line.iter().position(|&b| !is_printable(b)) {
            return Err(RteError::BadCharacter { offset: at + j, found: line[j] });
        }
        // Printable ASCII is UTF-8.
        *slot = line.iter().map(|&b| char::from(b)).collect();
        at += len + 1;
    }
    if at != end {
        return Err(RteError::BadText { offset: at, expected: "ETX after the third line's CR" });
    }
    Ok(out)
}

/// Drops everything before the next SOH after offset 0 (all of it if there is none).
fn skip(buf: &[u8], reason: RteError) -> Decoded {
    let count = buf.iter().skip(1).position(|&b| b == SOH).map_or(buf.len(), |i| i + 1);
    Decoded::Skipped { count: count.max(1), reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TD3: [&str; 2] =
        ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"];

    #[test]
    fn a_passport_block_byte_by_byte() {
        let frame = RteFrame::from_mrz(b'0', &TD3).unwrap();
        assert_eq!(frame.lines[0], "");
        let bytes = RteFormat::default().encode(&frame).unwrap();
        // SOH, length 7 + 3 CR + 88 characters + ETX + BCC = 100 = 0x64, O U STX flag.
        assert_eq!(&bytes[..8], &[SOH, 0x64, 0x00, b'O', b'U', STX, b'0', CR]);
        assert_eq!(bytes.len(), 100);
        assert_eq!(&bytes[8..52], TD3[0].as_bytes());
        assert_eq!(bytes[52], CR);
        assert_eq!(bytes[98], ETX);
        assert_eq!(bytes[99], bytes[1..99].iter().fold(0, |a, b| a ^ b));
        let Decoded::Frame { frame: back, consumed: 100 } = RteFormat::default().decode(&bytes) else { panic!() };
        assert_eq!(back.mrz_lines(), TD3);
        assert!(back.read_mrz().unwrap().all_ok());
    }

    #[test]
    fn a_td1_pads_to_30_and_a_td2_to_44() {
        let td1 =
            ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"];
        let frame = RteFrame::from_mrz(0x20, &td1).unwrap();
        assert!(frame.lines.iter().all(|l| l.len() == 30));
        let td2 = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"];
        let frame = RteFrame::from_mrz(0x20, &td2).unwrap();
        assert_eq!(frame.lines[1], format!("{}________", td2[0]));
        assert_eq!(frame.mrz_lines(), td2);
    }

    #[test]
    fn errors_name_the_offset() {
        let f = RteFormat::default();
        let mut bytes = f.encode(&RteFrame::from_mrz(b'0', &TD3).unwrap()).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xFF;
        let Decoded::Skipped { count, reason } = f.decode(&bytes) else { panic!() };
        assert_eq!(count, bytes.len());
        assert!(matches!(reason, RteError::BadBcc { offset: 99, .. }), "{reason}");
        assert_eq!(
            f.decode(&[SOH, 0x64, 0, b'X']),
            Decoded::Skipped {
                count: 4,
                reason: RteError::BadHeader {
                    offset: 3,
                    what: "device byte O, optical reader",
                    expected: b'O',
                    found: b'X'
                }
            }
        );
        assert!(matches!(
            f.decode(&[0x55, 0x66, SOH]),
            Decoded::Skipped { count: 2, reason: RteError::NotSoh { offset: 0, found: 0x55 } }
        ));
        assert!(matches!(
            f.decode(&[SOH, 5, 0, b'O']),
            Decoded::Skipped { reason: RteError::BadLength { offset: 1, found: 5, .. }, .. }
        ));
    }

    #[test]
    fn a_length_corrupted_upwards_shows_at_the_etx() {
        let f = RteFormat::default();
        let mut bytes = f.encode(&RteFrame::from_mrz(b'0', &TD3).unwrap()).unwrap();
        bytes[1] += 20;
        assert_eq!(
            f.decode(&bytes),
            Decoded::Skipped { count: 100, reason: RteError::EarlyEtx { offset: 98, expected: 118 } }
        );
    }

    #[test]
    fn without_bcc() {
        let f = RteFormat { with_bcc: false };
        let bytes = f.encode(&RteFrame::from_mrz(b'0', &TD3).unwrap()).unwrap();
        assert_eq!((bytes.len(), bytes[1], *bytes.last().unwrap()), (99, 99, ETX));
        assert!(matches!(f.decode(&bytes), Decoded::Frame { consumed: 99, .. }));
    }
}
