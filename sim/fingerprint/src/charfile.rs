//! The simulator's character file: the 512 bytes a character buffer or library slot holds.
//!
//! The vendors' own layout is proprietary, so khil defines one. It is the khil extractor's minutiae, each in
//! the 6-byte minutia record of ISO/IEC 19794-2:2005, behind a small header:
//!
//! | offset | size | field                                                                  |
//! |--------|------|------------------------------------------------------------------------|
//! | 0      | 2    | magic `4B 5A` ("KZ")                                                   |
//! | 2      | 1    | layout version, 1                                                      |
//! | 3      | 1    | flags: bit 0 = a model merged by RegModel                              |
//! | 4      | 2    | image width, pixels, big-endian                                        |
//! | 6      | 2    | image height, pixels                                                   |
//! | 8      | 2    | resolution, pixels per inch (500)                                      |
//! | 10     | 1    | finger quality 0-100                                                   |
//! | 11     | 1    | minutia count n, 0..=83                                                |
//! | 12     | 6n   | minutiae: type (2 bits: 01 ending, 10 bifurcation, 00 other) and x (14 bits); 2 reserved bits and y (14 bits); angle in 1.40625-degree units (256 per turn, counter-clockwise); quality 0-100 |
//! | ...    |      | zeros                                                                  |
//! | 510    | 2    | sum of bytes 0..510, 16 bits, big-endian                               |
//!
//! A buffer that does not parse (zeros after power-up, bytes a host downloaded) is not a template: Match and
//! Search treat it as such (score 0), LoadChar of an empty slot says 0C, as the module would.

use khil_biometrics::matcher::MatchTemplate;
use khil_biometrics::minutia::{Minutia, MinutiaKind, Minutiae};
use std::f32::consts::TAU;
use std::sync::{Arc, OnceLock};

use crate::profile::CHAR_FILE_LEN;

const MAGIC: [u8; 2] = *b"KZ";
const VERSION: u8 = 1;
const HEADER: usize = 12;
const RECORD: usize = 6;
const SUM_AT: usize = CHAR_FILE_LEN - 2;
/// The most minutiae a character file holds.
pub const MAX_MINUTIAE: usize = (SUM_AT - HEADER) / RECORD;

/// One character file.
pub type CharFile = [u8; CHAR_FILE_LEN];

/// A character buffer or library slot: its 512 bytes, and the matcher's template of them, made on first use and
/// kept with the bytes (building one costs milliseconds, comparing two costs tens of microseconds). Clones share
/// the template once it is made. Equal when the bytes are.
#[derive(Clone)]
pub struct CharBuffer {
    file: Box<CharFile>,
    template: OnceLock<Option<Arc<MatchTemplate>>>,
}

impl std::fmt::Debug for CharBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CharBuffer(..)")
    }
}

impl PartialEq for CharBuffer {
    fn eq(&self, other: &CharBuffer) -> bool {
        self.file == other.file
    }
}

impl Eq for CharBuffer {}

impl CharBuffer {
    pub fn new(file: Box<CharFile>) -> CharBuffer {
        CharBuffer { file, template: OnceLock::new() }
    }

    /// Zeros, as after power-up: not a template.
    pub fn zeros() -> CharBuffer {
        CharBuffer::new(Box::new([0; CHAR_FILE_LEN]))
    }

    /// Bytes with a template already made from them (the same minutiae in other bytes).
    pub(crate) fn with_template(file: Box<CharFile>, template: Option<Arc<MatchTemplate>>) -> CharBuffer {
        CharBuffer { file, template: OnceLock::from(template) }
    }

    pub fn bytes(&self) -> &CharFile {
        &self.file
    }

    /// The matcher's template, `None` when the bytes are not a khil character file.
    pub fn template(&self) -> Option<Arc<MatchTemplate>> {
        self.template.get_or_init(|| decode(&self.file).ok().map(|c| Arc::new(MatchTemplate::new(&c.minutiae)))).clone()
    }
}

/// Why 512 bytes are not a khil character file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CharFileError {
    #[error("character file: expected magic 4B 5A at offset 0, found {0:02X?}")]
    Magic([u8; 2]),
    #[error("character file: expected layout version 1 at offset 2, found {0}")]
    Version(u8),
    #[error("character file: expected at most {MAX_MINUTIAE} minutiae at offset 11, found {0}")]
    Count(u8),
    #[error("character file: checksum at offset 510 is {found:04X}, expected {expected:04X}")]
    Checksum { expected: u16, found: u16 },
}

/// A parsed character file.
#[derive(Debug, Clone, PartialEq)]
pub struct Characteristics {
    pub minutiae: Minutiae,
    /// Made by RegModel from two captures.
    pub merged: bool,
}

fn sum(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0u16, |s, &b| s.wrapping_add(u16::from(b)))
}

/// Encodes minutiae (the best [`MAX_MINUTIAE`] by quality if there are more).
pub fn encode(minutiae: &Minutiae, merged: bool) -> CharFile {
    let mut out = [0u8; CHAR_FILE_LEN];
    let mut points: Vec<&Minutia> = minutiae.points.iter().collect();
    if points.len() > MAX_MINUTIAE {
        // Stable: equal qualities keep extraction order, so the same image always gives the same bytes.
        points.sort_by_key(|m| std::cmp::Reverse(m.quality));
        points.truncate(MAX_MINUTIAE);
    }
    out[..2].copy_from_slice(&MAGIC);
    out[2] = VERSION;
    out[3] = u8::from(merged);
    out[4..6].copy_from_slice(&minutiae.width.to_be_bytes());
    out[6..8].copy_from_slice(&minutiae.height.to_be_bytes());
    out[8..10].copy_from_slice(&minutiae.dpi.to_be_bytes());
    out[10] = minutiae.quality.min(100);
    out[11] = points.len() as u8;
    for (i, m) in points.iter().enumerate() {
        let at = HEADER + i * RECORD;
        let kind: u16 = match m.kind {
            MinutiaKind::Ending => 0b01,
            MinutiaKind::Bifurcation => 0b10,
            MinutiaKind::Other => 0b00,
        };
        let x = (m.x.round().clamp(0.0, 16383.0) as u16) | (kind << 14);
        let y = m.y.round().clamp(0.0, 16383.0) as u16;
        out[at..at + 2].copy_from_slice(&x.to_be_bytes());
        out[at + 2..at + 4].copy_from_slice(&y.to_be_bytes());
        out[at + 4] = ((m.angle / TAU * 256.0).round() as u32 % 256) as u8;
        out[at + 5] = m.quality.min(100);
    }
    let s = sum(&out[..SUM_AT]);
    out[SUM_AT..].copy_from_slice(&s.to_be_bytes());
    out
}

/// Parses a character file.
pub fn decode(bytes: &CharFile) -> Result<Characteristics, CharFileError> {
    let magic = [bytes[0], bytes[1]];
    if magic != MAGIC {
        return Err(CharFileError::Magic(magic));
    }
    if bytes[2] != VERSION {
        return Err(CharFileError::Version(bytes[2]));
    }
    let expected = sum(&bytes[..SUM_AT]);
    let found = u16::from_be_bytes([bytes[SUM_AT], bytes[SUM_AT + 1]]);
    if expected != found {
        return Err(CharFileError::Checksum { expected, found });
    }
    let n = bytes[11];
    if usize::from(n) > MAX_MINUTIAE {
        return Err(CharFileError::Count(n));
    }
    let word = |at: usize| u16::from_be_bytes([bytes[at], bytes[at + 1]]);
    let points = (0..usize::from(n))
        .map(|i| {
            let at = HEADER + i * RECORD;
            let xw = word(at);
            let kind = match xw >> 14 {
                0b01 => MinutiaKind::Ending,
                0b10 => MinutiaKind::Bifurcation,
                _ => MinutiaKind::Other,
            };
            let angle = f32::from(bytes[at + 4]) / 256.0 * TAU;
            Minutia::new(f32::from(xw & 0x3FFF), f32::from(word(at + 2) & 0x3FFF), angle, kind, bytes[at + 5])
        })
        .collect();
    Ok(Characteristics {
        minutiae: Minutiae { width: word(4), height: word(6), dpi: word(8), quality: bytes[10], points },
        merged: bytes[3] & 1 != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Minutiae {
        Minutiae {
            width: 256,
            height: 288,
            dpi: 500,
            quality: 77,
            points: vec![
                Minutia::new(10.0, 20.0, 1.0, MinutiaKind::Ending, 90),
                Minutia::new(200.0, 280.0, 5.5, MinutiaKind::Bifurcation, 40),
            ],
        }
    }

    #[test]
    fn layout_is_as_documented() {
        let f = encode(&sample(), true);
        assert_eq!(&f[..12], &[0x4B, 0x5A, 1, 1, 0x01, 0x00, 0x01, 0x20, 0x01, 0xF4, 77, 2]);
        // Ending at (10, 20), 1 rad = 40.74 units -> 41, quality 90.
        assert_eq!(&f[12..18], &[0x40, 10, 0, 20, 41, 90]);
        assert_eq!(&f[18..24], &[0x80, 200, 0x01, 0x18, 224, 40]);
        assert!(f[24..510].iter().all(|&b| b == 0));
        let s = f[..510].iter().map(|&b| u32::from(b)).sum::<u32>() as u16;
        assert_eq!(&f[510..], &s.to_be_bytes());
    }

    #[test]
    fn zeros_and_corruption_are_rejected() {
        assert_eq!(decode(&[0; CHAR_FILE_LEN]), Err(CharFileError::Magic([0, 0])));
        let mut f = encode(&sample(), false);
        f[13] ^= 1;
        assert!(matches!(decode(&f), Err(CharFileError::Checksum { .. })));
    }

    proptest! {
        #[test]
        fn round_trips_to_the_unit(
            pts in proptest::collection::vec((0u16..16384, 0u16..16384, any::<u8>(), 0u8..3, 0u8..=100), 0..MAX_MINUTIAE),
            merged: bool,
        ) {
            let kinds = [MinutiaKind::Other, MinutiaKind::Ending, MinutiaKind::Bifurcation];
            let m = Minutiae {
                width: 192, height: 192, dpi: 500, quality: 50,
                points: pts.iter().map(|&(x, y, a, k, q)| Minutia::new(
                    f32::from(x), f32::from(y), f32::from(a) / 256.0 * TAU, kinds[usize::from(k)], q)).collect(),
            };
            let f = encode(&m, merged);
            let back = decode(&f).unwrap();
            prop_assert_eq!(back.merged, merged);
            prop_assert_eq!(&encode(&back.minutiae, merged)[..], &f[..]);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), CHAR_FILE_LEN)) {
            let f: CharFile = bytes.try_into().unwrap();
            let _ = decode(&f);
        }
    }
}
