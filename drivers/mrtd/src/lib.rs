//! Travel documents, inspection-system side (ICAO Doc 9303): everything here is pure logic (no I/O, no clocks);
//! the card is reached through `khil-apdu`, and the chip simulator (`sim/mrtd`) reuses the same codecs.
//!
//! - [`files`]: SELECT and READ BINARY as typed commands (short EF identifiers, odd INS beyond offset 32767),
//!   encoded by the inspection system and decoded by the chip;
//! - [`tlv`]: BER-TLV as ISO 7816-4 and the LDS use it (multi-byte tags, definite lengths), parse and encode.

pub mod files;
pub mod tlv;
