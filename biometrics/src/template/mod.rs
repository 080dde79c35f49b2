//! ISO/IEC 19794-2:2005 and ANSI INCITS 378-2004 finger minutiae records.
//!
//! Both follow the same plan (ISO clause 7, the record format): a header (`FMR\0`, ` 20\0`, record length,
//! capture equipment, image size, resolution in px/cm, view count), then per finger view a 4-byte header, 6-byte
//! minutiae (2 type bits + 14-bit x, 2 reserved bits + 14-bit y, angle, quality) and an extended data block.
//! They differ in the header (ISO: 4-byte length, 24 bytes; ANSI: 2-byte length or `0000` + 4 bytes past 65535,
//! then the CBEFF product identifier, 26 or 30 bytes) and in the angle unit: ISO 360/256 degrees (1.40625), ANSI
//! 2 degrees (0-179). Both measure angles counter-clockwise from the x axis as seen on the image, the crate's
//! convention. Multi-byte fields are big-endian.
//!
//! Quantisation from [`Minutiae`](crate::Minutiae): coordinates round to whole pixels (within 0.5 px), angles to
//! the nearest unit (within 0.703 degrees ISO, 1 degree ANSI), dpi to px/cm (500 dpi = 197 px/cm, back to 500).
//!
//! Decoding is strict about structure (lengths, counts, reserved bits and bytes, type bits 11) and keeps every
//! value a field can hold, so any decoded record encodes back to its bytes; [`FingerMinutiaeRecord::check`] lists
//! values the standards forbid. Not supported: the ISO compact and normal card formats, the 2009/2011 editions
//! (version `030`), interpreting extended data (ridge counts, cores and deltas, zonal quality stay raw bytes).

mod ansi;
mod iso;
mod record;

pub use ansi::{ansi_from_minutiae, decode_ansi, minutiae_from_ansi};
pub use iso::{decode_iso, iso_from_minutiae, minutiae_from_iso};
pub use record::{
    CaptureEquipment, ExtendedData, FingerMinutiaeRecord, FingerView, Format, ProductId, RecordMinutia, TemplateError,
};

/// Encodes a record in its own format, with the shortest length field the format allows.
pub fn encode(record: &FingerMinutiaeRecord) -> Result<Vec<u8>, TemplateError> {
    match record.format {
        Format::Iso2005 => iso::encode_iso(record),
        Format::Ansi2004 => ansi::encode_ansi(record),
    }
}

/// Which format `bytes` holds, judged from the header alone; `bytes` should be exactly one record.
///
/// Both formats start `FMR\0 20\0`. ISO when the 4-byte field at byte 8 equals the input length; ANSI when the
/// 2-byte field at byte 8 does, or it is 0 and the 4-byte field at byte 10 does. The two never both hold: with
/// bytes 8-9 zero, bytes 10-11 are the whole length for ISO but the high half of it for ANSI; with them non-zero,
/// they are ISO's high half, never the whole length. When neither holds (truncated or padded input) the
/// header's shape decides, so the decoder can name the mismatch: bytes 8-9 at least 26 is ANSI, 1-25 is ISO, 0
/// with bytes 10-11 at least 24 is ISO, else ANSI.
pub fn detect(bytes: &[u8]) -> Result<Format, TemplateError> {
    record::read_magic(&mut record::Reader::new(bytes))?;
    let be16 = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let be32 = |at: usize| bytes.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    let len = bytes.len() as u64;
    if be32(8).is_some_and(|v| u64::from(v) == len) {
        return Ok(Format::Iso2005);
    }
    let short = be16(8);
    if short.is_some_and(|v| v != 0 && u64::from(v) == len)
        || (short == Some(0) && be32(10).is_some_and(|v| u64::from(v) == len))
    {
        return Ok(Format::Ansi2004);
    }
    Ok(match (short, be16(10)) {
        (Some(v), _) if v >= 26 => Format::Ansi2004,
        (Some(0), Some(w)) if w < 24 => Format::Ansi2004,
        // 1-25, or too short to tell: the ISO decoder reports the length.
        _ => Format::Iso2005,
    })
}

/// Decodes either format, choosing by [`detect`].
pub fn decode_any(bytes: &[u8]) -> Result<FingerMinutiaeRecord, TemplateError> {
    match detect(bytes)? {
        Format::Iso2005 => decode_iso(bytes),
        Format::Ansi2004 => decode_ansi(bytes),
    }
}
