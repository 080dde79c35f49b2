//! Travel documents, inspection-system side (ICAO Doc 9303): everything here is pure logic (no I/O, no clocks);
//! the card is reached through `khil-apdu`, and the chip simulator (`sim/mrtd`) reuses the same codecs.
//!
//! - [`crypto`]: 3DES and AES (CBC, retail MAC, CMAC), ISO 9797-1 padding, the 9303 key derivation;
//! - [`tlv`]: BER-TLV as ISO 7816-4 and the LDS use it (multi-byte tags, definite lengths), parse and encode.

pub mod crypto;
pub mod tlv;
