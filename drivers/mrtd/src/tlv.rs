//! BER-TLV as ISO/IEC 7816-4 and the LDS (ICAO 9303-10) use it: tags of one to three bytes (`5F1F`, `7F61`),
//! definite lengths in one to four length bytes. Indefinite lengths never occur on an eMRTD and are refused.
//!
//! Written by hand because the `der` crate refuses what BER-TLV allows (non-minimal lengths a card may send, tags
//! of any class without a schema), and secure-messaging data objects need no more than this. Every error names the
//! byte offset (from the start of the parsed input) and what was expected there.

use std::fmt;

/// A BER-TLV tag as its bytes read big-endian (`0x5F1F`, `0x7F61`, `0x87`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u32);

impl Tag {
    /// The tag's bytes as they appear on the wire.
    pub fn bytes(self) -> Vec<u8> {
        let b = self.0.to_be_bytes();
        let first = b.iter().position(|&x| x != 0).unwrap_or(3);
        b[first..].to_vec()
    }

    /// A constructed tag holds TLVs in its value (bit 6 of the first byte).
    pub fn is_constructed(self) -> bool {
        self.bytes()[0] & 0x20 != 0
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({self})")
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.bytes() {
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// One data object: its tag, its value and where it was in the parsed input.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: Tag,
    pub value: &'a [u8],
    /// Offset of the tag's first byte in the input given to [`parse`] / [`parse_all`] (plus their `base`).
    pub offset: usize,
    /// Offset of the value's first byte, same reference.
    pub value_offset: usize,
}

impl fmt::Debug for Tlv<'_> {
    // Values may be MRZs, keys or biometric data: lengths only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tlv({} at {}, {} value bytes)", self.tag, self.offset, self.value.len())
    }
}

impl<'a> Tlv<'a> {
    /// The data objects inside a constructed object.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, TlvError> {
        parse_all_at(self.value, self.value_offset)
    }

    /// The first child with `tag`, or an error naming this object and the missing tag.
    pub fn child(&self, tag: Tag) -> Result<Tlv<'a>, TlvError> {
        self.children()?
            .into_iter()
            .find(|t| t.tag == tag)
            .ok_or(TlvError { offset: self.offset, problem: TlvProblem::Missing { parent: Some(self.tag), tag } })
    }

    /// The whole object (tag, length, value) re-encoded.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self.tag, self.value)
    }
}

/// Where a TLV stream is malformed and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("BER-TLV at byte {offset}: {problem}")]
pub struct TlvError {
    pub offset: usize,
    pub problem: TlvProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlvProblem {
    /// The input ended inside a tag, a length or a value.
    Truncated { needed: usize, available: usize, part: &'static str },
    /// A tag of more than three bytes (the LDS and ISO 7816-4 use at most three).
    TagTooLong,
    /// `80` (indefinite) or a length of more than four bytes.
    BadLength(u8),
    /// A constructed object or file does not hold the tag it must.
    Missing { parent: Option<Tag>, tag: Tag },
    /// The top-level object is not the one expected.
    Unexpected { expected: Tag, found: Tag },
}

impl fmt::Display for TlvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlvProblem::Truncated { needed, available, part } => {
                write!(f, "the {part} needs {needed} bytes, only {available} left")
            }
            TlvProblem::TagTooLong => f.write_str("a tag of more than three bytes"),
            TlvProblem::BadLength(b) => write!(f, "length byte {b:02X} (expected 00-7F or 81-84)"),
            TlvProblem::Missing { parent: Some(p), tag } => write!(f, "no tag {tag} inside {p}"),
            TlvProblem::Missing { parent: None, tag } => write!(f, "no tag {tag}"),
            TlvProblem::Unexpected { expected, found } => write!(f, "expected tag {expected}, found {found}"),
        }
    }
}

/// Parses one data object at the start of `input`; returns it and the bytes after it. `base` is added to every
/// offset (the position of `input` in a larger buffer, for error messages).
pub fn parse_at(input: &[u8], base: usize) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let (tag, at, len) = header_at(input, base)?;
    let value = input.get(at..).filter(|v| v.len() >= len).ok_or_else(|| TlvError {
        offset: base + at,
        problem: TlvProblem::Truncated { needed: len, available: input.len() - at, part: "value" },
    })?;
    let tlv = Tlv { tag, value: &value[..len], offset: base, value_offset: base + at };
    Ok((tlv, &input[at + len..]))
}

/// The tag and length at the start of `input` without its value: the tag, where the value starts and its length.
/// For a file read piece by piece, whose first bytes say how long it is.
pub fn header_at(input: &[u8], base: usize) -> Result<(Tag, usize, usize), TlvError> {
    let err = |at: usize, problem| TlvError { offset: base + at, problem };
    let truncated = |at: usize, needed, part| {
        err(at, TlvProblem::Truncated { needed, available: input.len().saturating_sub(at), part })
    };
    let first = *input.first().ok_or_else(|| truncated(0, 1, "tag"))?;
    let mut tag = u32::from(first);
    let mut at = 1;
    if first & 0x1F == 0x1F {
        loop {
            let b = *input.get(at).ok_or_else(|| truncated(at, 1, "tag"))?;
            if at == 3 {
                return Err(err(0, TlvProblem::TagTooLong));
            }
            tag = (tag << 8) | u32::from(b);
            at += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let len_at = at;
    let l0 = *input.get(at).ok_or_else(|| truncated(at, 1, "length"))?;
    at += 1;
    let len = match l0 {
        0x00..=0x7F => usize::from(l0),
        0x81..=0x84 => {
            let n = usize::from(l0 & 0x7F);
            let bytes = input.get(at..at + n).ok_or_else(|| truncated(at, n, "length"))?;
            at += n;
            bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        }
        _ => return Err(err(len_at, TlvProblem::BadLength(l0))),
    };
    Ok((Tag(tag), at, len))
}

/// [`parse_at`] with offsets counted from the start of `input`.
pub fn parse(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    parse_at(input, 0)
}

/// Parses `input` as exactly one object with tag `expected` (an LDS file: `60` EF.COM, `61` DG1, ...). Bytes
/// after it are ignored, as files are read in whole blocks.
pub fn parse_expecting(input: &[u8], expected: Tag) -> Result<Tlv<'_>, TlvError> {
    let (tlv, _) = parse(input)?;
    if tlv.tag != expected {
        return Err(TlvError { offset: 0, problem: TlvProblem::Unexpected { expected, found: tlv.tag } });
    }
    Ok(tlv)
}

fn parse_all_at(mut input: &[u8], base: usize) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    let mut offset = base;
    while !input.is_empty() {
        let (tlv, rest) = parse_at(input, offset)?;
        offset += input.len() - rest.len();
        out.push(tlv);
        input = rest;
    }
    Ok(out)
}

/// Parses a sequence of data objects filling all of `input`.
pub fn parse_all(input: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    parse_all_at(input, 0)
}

/// The definite length field for `len` (shortest form).
pub fn encode_len(len: usize) -> Vec<u8> {
    match len {
        0..=0x7F => vec![len as u8],
        0x80..=0xFF => vec![0x81, len as u8],
        0x100..=0xFFFF => vec![0x82, (len >> 8) as u8, len as u8],
        0x1_0000..=0xFF_FFFF => vec![0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8],
        _ => {
            let b = (len as u32).to_be_bytes();
            vec![0x84, b[0], b[1], b[2], b[3]]
        }
    }
}

/// Tag, shortest length, value.
pub fn encode(tag: Tag, value: &[u8]) -> Vec<u8> {
    let mut out = tag.bytes();
    out.extend(encode_len(value.len()));
    out.extend_from_slice(value);
    out
}

/// A constructed object from already encoded children.
pub fn encode_constructed(tag: Tag, children: &[Vec<u8>]) -> Vec<u8> {
    encode(tag, &children.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ef_com_of_the_icao_worked_example() {
        // 9303-11 Appendix D: EF.COM, LDS 1.7, Unicode 4.0.0, DG1 and DG2 present.
        let ef_com = [
            0x60, 0x14, 0x5F, 0x01, 0x04, 0x30, 0x31, 0x30, 0x36, 0x5F, 0x36, 0x06, 0x30, 0x34, 0x30, 0x30, 0x30, 0x30,
            0x5C, 0x02, 0x61, 0x75,
        ];
        let com = parse_expecting(&ef_com, Tag(0x60)).unwrap();
        let kids = com.children().unwrap();
        assert_eq!(kids.iter().map(|t| t.tag).collect::<Vec<_>>(), [Tag(0x5F01), Tag(0x5F36), Tag(0x5C)]);
        assert_eq!(com.child(Tag(0x5C)).unwrap().value, [0x61, 0x75]);
        assert_eq!(kids[1].offset, 9);
        assert_eq!(kids[1].value_offset, 12);
        assert_eq!(com.to_bytes(), ef_com);
        let missing = com.child(Tag(0x5F1F)).unwrap_err();
        assert_eq!(missing.to_string(), "BER-TLV at byte 0: no tag 5F1F inside 60");
    }

    #[test]
    fn long_lengths_and_errors_name_the_place() {
        let value = vec![0xAB; 300];
        let bytes = encode(Tag(0x7F61), &value);
        assert_eq!(&bytes[..5], &[0x7F, 0x61, 0x82, 0x01, 0x2C]);
        assert_eq!(parse(&bytes).unwrap().0.value.len(), 300);
        let e = parse(&bytes[..100]).unwrap_err();
        assert_eq!(e.to_string(), "BER-TLV at byte 5: the value needs 300 bytes, only 95 left");
        let e = parse(&[0x61, 0x80, 0x00]).unwrap_err();
        assert_eq!(e.to_string(), "BER-TLV at byte 1: length byte 80 (expected 00-7F or 81-84)");
        let e = parse(&[0x5F, 0x81, 0x82, 0x01, 0x00]).unwrap_err();
        assert_eq!(e.problem, TlvProblem::TagTooLong);
        let e = parse_expecting(&[0x61, 0x00], Tag(0x60)).unwrap_err();
        assert_eq!(e.to_string(), "BER-TLV at byte 0: expected tag 60, found 61");
        // A non-minimal length (81 05) is BER and accepted.
        assert_eq!(parse(&[0x87, 0x81, 0x01, 0x01]).unwrap().0.value, [0x01]);
    }

    fn tag() -> impl Strategy<Value = Tag> {
        prop_oneof![
            (0u8..=0xFE).prop_filter("one-byte tag", |b| b & 0x1F != 0x1F).prop_map(|b| Tag(u32::from(b))),
            (0u8..=7, 0u8..=0x7F).prop_map(|(c, b)| Tag((u32::from(0x1F | (c << 5)) << 8) | u32::from(b))),
            (0u8..=7, 0x80u8..=0xFF, 0u8..=0x7F)
                .prop_map(|(c, b, d)| Tag((u32::from(0x1F | (c << 5)) << 16) | (u32::from(b) << 8) | u32::from(d))),
        ]
    }

    proptest! {
        #[test]
        fn encode_then_parse_round_trips(objs in proptest::collection::vec((tag(), proptest::collection::vec(any::<u8>(), 0..400)), 0..5)) {
            let bytes: Vec<u8> = objs.iter().flat_map(|(t, v)| encode(*t, v)).collect();
            let parsed = parse_all(&bytes).unwrap();
            prop_assert_eq!(parsed.len(), objs.len());
            for (p, (t, v)) in parsed.iter().zip(&objs) {
                prop_assert_eq!(p.tag, *t);
                prop_assert_eq!(p.value, &v[..]);
            }
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(all) = parse_all(&bytes) {
                for t in all {
                    prop_assert!(t.value_offset + t.value.len() <= bytes.len());
                    let _ = t.children();
                }
            }
        }
    }
}
