//! The envelope of khil's own document-reader channel (`docs/docreader-protocol.md` is the specification;
//! this module and [`crate::message`] are its reference implementation).
//!
//! ```text
//! offset  size  field
//! 0       2     magic "KD" (4B 44)
//! 2       1     version (01)
//! 3       1     message type
//! 4       2     sequence number, big-endian
//! 6       4     payload length N, big-endian, at most MAX_PAYLOAD
//! 10      4     header CRC-32 (ISO-HDLC, the zlib/Ethernet one) of bytes 0..10, big-endian
//! 14      N     payload
//! 14+N    4     payload CRC-32 of bytes 14..14+N, big-endian
//! ```
//!
//! The header has its own CRC so that a length corrupted on a serial line is caught at once, before the decoder
//! waits for megabytes that will never come; the frames behind it are found at the next magic.
//!
//! The envelope is the same in every version of the protocol, so a receiver can always find the frames of a
//! version it does not speak and answer them with an error; what a payload means is [`crate::message`]'s.
//! [`decode`] never panics and resynchronises on the next `KD`.

use std::fmt;

use crc::{CRC_32_ISO_HDLC, Crc, Table};

/// The magic, "KD".
pub const MAGIC: [u8; 2] = *b"KD";
/// The version this crate speaks.
pub const VERSION: u8 = 1;
/// Magic, version, type, sequence number, length, header CRC.
pub const HEADER_LEN: usize = 14;
/// The bytes the header CRC covers.
const HEADER_CHECKED: usize = 10;
/// The CRC after the payload.
pub const CRC_LEN: usize = 4;
/// The largest payload: 16 MiB, room for a 600 dpi grey capture of a whole TD3 page (about 6 MB).
pub const MAX_PAYLOAD: usize = 16 << 20;

/// Sixteen tables of 256 (16 KiB) rather than one: the same CRC four to eight times faster a byte, and a page's
/// captures under three lights are hundreds of kilobytes that both ends check (the one-table CRC and the frame
/// copy were ~4 % of a simulated border day's samples).
const CRC32: Crc<u32, Table<16>> = Crc::<u32, Table<16>>::new(&CRC_32_ISO_HDLC);

/// Why bytes are not a frame. Offsets count from the frame's first byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("no frame start at offset {offset}: expected magic 4B 44 (\"KD\"), found {found:02X?}")]
    BadMagic { offset: usize, found: Vec<u8> },
    #[error("header CRC-32 mismatch at offset 10: expected {expected:08X} (of bytes 0..10), found {found:08X}")]
    BadHeaderCrc { expected: u32, found: u32 },
    #[error("payload length out of range at offset 6: expected at most {MAX_PAYLOAD}, found {found}")]
    BadLength { found: u32 },
    #[error("payload CRC-32 mismatch at offset {offset}: expected {expected:08X}, found {found:08X}")]
    BadCrc { offset: usize, expected: u32, found: u32 },
    #[error("stream ended inside a frame: expected {expected} bytes, found {found}")]
    Truncated { expected: usize, found: usize },
    #[error("payload too long to encode: expected at most {MAX_PAYLOAD} bytes, found {found}")]
    PayloadTooLong { found: usize },
}

/// One frame: the envelope's fields and the payload, not yet interpreted.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    pub version: u8,
    pub kind: u8,
    pub seq: u16,
    pub payload: Vec<u8>,
}

impl fmt::Debug for Frame {
    // Payloads hold page images, MRZs and names: length only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Frame(v{}, type {:02X}, seq {}, {} payload bytes)",
            self.version,
            self.kind,
            self.seq,
            self.payload.len()
        )
    }
}

/// What [`decode`] found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    Frame { frame: Frame, consumed: usize },
    NeedMore,
    Skipped { count: usize, reason: FrameError },
}

/// The CRC-32 of the header's first ten bytes, and of the payload.
pub fn crc32(bytes: &[u8]) -> u32 {
    CRC32.checksum(bytes)
}

impl Frame {
    /// Length on the wire.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload.len() + CRC_LEN
    }

    /// Appends the bytes on the wire to `out` (nothing on error).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), FrameError> {
        if self.payload.len() > MAX_PAYLOAD {
            return Err(FrameError::PayloadTooLong { found: self.payload.len() });
        }
        let start = out.len();
        out.reserve(self.encoded_len());
        out.extend_from_slice(&MAGIC);
        out.push(self.version);
        out.push(self.kind);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        let header_crc = crc32(&out[start..]);
        out.extend_from_slice(&header_crc.to_be_bytes());
        out.extend_from_slice(&self.payload);
        out.extend_from_slice(&crc32(&self.payload).to_be_bytes());
        Ok(())
    }

    /// The bytes on the wire.
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out)?;
        Ok(out)
    }
}

/// Looks for a frame at the start of `buf`. Anything wrong drops the bytes up to the next `KD` after offset 0.
pub fn decode(buf: &[u8]) -> Decoded {
    match buf {
        [] | [b'K'] => return Decoded::NeedMore,
        [a, ..] if *a != MAGIC[0] => return skip(buf, FrameError::BadMagic { offset: 0, found: vec![*a] }),
        [a, b, ..] if *b != MAGIC[1] => return skip(buf, FrameError::BadMagic { offset: 0, found: vec![*a, *b] }),
        _ => {}
    }
    if buf.len() < HEADER_LEN {
        return Decoded::NeedMore;
    }
    let expected = crc32(&buf[..HEADER_CHECKED]);
    let found = be32(&buf[HEADER_CHECKED..HEADER_LEN]);
    if expected != found {
        return skip(buf, FrameError::BadHeaderCrc { expected, found });
    }
    let length = be32(&buf[6..HEADER_CHECKED]);
    if length as usize > MAX_PAYLOAD {
        return skip(buf, FrameError::BadLength { found: length });
    }
    let total = HEADER_LEN + length as usize + CRC_LEN;
    if buf.len() < total {
        return Decoded::NeedMore;
    }
    let crc_at = total - CRC_LEN;
    let expected = crc32(&buf[HEADER_LEN..crc_at]);
    let found = be32(&buf[crc_at..total]);
    if expected != found {
        return skip(buf, FrameError::BadCrc { offset: crc_at, expected, found });
    }
    let frame = Frame {
        version: buf[2],
        kind: buf[3],
        seq: u16::from_be_bytes([buf[4], buf[5]]),
        payload: buf[HEADER_LEN..crc_at].to_vec(),
    };
    Decoded::Frame { frame, consumed: total }
}

/// The whole length of the frame whose header starts `buf`, once the header is there and its CRC holds.
pub fn len_hint(buf: &[u8]) -> Option<usize> {
    let header = buf.get(..HEADER_LEN)?;
    if crc32(&header[..HEADER_CHECKED]) != be32(&header[HEADER_CHECKED..]) {
        return None;
    }
    Some(HEADER_LEN + (be32(&header[6..HEADER_CHECKED]) as usize).min(MAX_PAYLOAD + 1) + CRC_LEN)
}

/// A big-endian u32 from exactly four bytes.
fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Drops everything before the next possible `KD` after offset 0 (a trailing `K` counts).
fn skip(buf: &[u8], reason: FrameError) -> Decoded {
    let next = (1..buf.len())
        .find(|&i| buf[i] == MAGIC[0] && buf.get(i + 1).is_none_or(|&b| b == MAGIC[1]))
        .unwrap_or(buf.len());
    Decoded::Skipped { count: next.max(1), reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hello_byte_by_byte() {
        let frame = Frame { version: 1, kind: 0x01, seq: 1, payload: Vec::new() };
        let bytes = frame.encode().unwrap();
        let mut expected = vec![0x4B, 0x44, 0x01, 0x01, 0x00, 0x01, 0, 0, 0, 0];
        expected.extend_from_slice(&crc32(&expected).to_be_bytes());
        // The CRC-32 of nothing is 0.
        expected.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(bytes, expected);
        assert_eq!(decode(&bytes), Decoded::Frame { frame, consumed: 18 });
    }

    #[test]
    fn the_crc_is_the_zlib_one() {
        // The CRC-32 check value of every catalogue: "123456789" -> CBF43926.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn corruption_is_skipped_with_its_offset() {
        let good = Frame { version: 1, kind: 0x83, seq: 7, payload: vec![1, 2, 3] }.encode().unwrap();
        let mut bytes = good.clone();
        bytes[15] ^= 0x10;
        let Decoded::Skipped { count, reason: FrameError::BadCrc { offset: 17, .. } } = decode(&bytes) else {
            panic!("{:?}", decode(&bytes))
        };
        assert_eq!(count, bytes.len());
        assert!(matches!(decode(b"xKD"), Decoded::Skipped { count: 1, reason: FrameError::BadMagic { .. } }));
        // A length corrupted upwards is caught by the header CRC at once, not after 16 MiB.
        let mut bytes = good.clone();
        bytes[7] ^= 0x01;
        assert!(matches!(decode(&bytes), Decoded::Skipped { reason: FrameError::BadHeaderCrc { .. }, .. }));
        let mut huge = vec![0x4B, 0x44, 1, 1, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
        huge.extend_from_slice(&crc32(&huge).to_be_bytes());
        assert!(matches!(decode(&huge), Decoded::Skipped { reason: FrameError::BadLength { .. }, .. }));
    }
}
