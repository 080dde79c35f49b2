//! The canonical byte encoding that record and audit hashes are computed over.
//!
//! Chosen over JSON because JSON has no single byte form (key order, number and escape spellings vary by
//! serialiser), and a hash must be recomputable by anyone, from any language, years later. The rules are few:
//! a domain tag first (`khil-record-v1`, `khil-audit-v1`), then each field in a fixed order as
//! - a string: its UTF-8 length as u32 big-endian, then its bytes;
//! - an integer: 8 bytes big-endian (two's complement for signed);
//! - a float: its IEEE 754 binary64 bits, 8 bytes big-endian;
//! - an optional value: byte 0 (absent) or byte 1 followed by the value;
//! - a list: its length as u32 big-endian, then each element.
//!
//! Lengths prefix every variable field, so no two different field sequences encode to the same bytes.

use sha2::{Digest, Sha256};

/// Accumulates a canonical encoding.
#[derive(Debug, Default)]
pub(crate) struct Canon {
    bytes: Vec<u8>,
}

impl Canon {
    pub(crate) fn new(tag: &str) -> Canon {
        let mut c = Canon::default();
        c.str(tag);
        c
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Self {
        self.len(s.len());
        self.bytes.extend_from_slice(s.as_bytes());
        self
    }

    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn i64(&mut self, v: i64) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub(crate) fn f64(&mut self, v: f64) -> &mut Self {
        self.u64(v.to_bits())
    }

    pub(crate) fn present(&mut self, present: bool) -> &mut Self {
        self.bytes.push(u8::from(present));
        self
    }

    pub(crate) fn len(&mut self, n: usize) -> &mut Self {
        // Records are kilobytes; a field of 4 GiB cannot come from a crossing.
        self.bytes.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
        self
    }

    pub(crate) fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(b);
        self
    }

    pub(crate) fn sha256(&self) -> [u8; 32] {
        Sha256::digest(&self.bytes).into()
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Bytes from hex (either case); `None` on odd length or a non-hex digit.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixes_separate_fields() {
        let a = Canon::new("t").str("ab").str("c").sha256();
        let b = Canon::new("t").str("a").str("bc").sha256();
        assert_ne!(a, b);
    }

    #[test]
    fn hex_round_trips_and_refuses_bad_digits() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
        assert_eq!(unhex("00AB10"), Some(vec![0, 0xab, 0x10]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }
}
