//! Travel documents, inspection-system side (ICAO Doc 9303): everything here is pure logic (no I/O, no clocks);
//! the card is reached through `khil-apdu`, and the chip simulator (`sim/mrtd`) reuses the same codecs.
//!
//! - [`mrz`]: machine readable zones (TD1, TD2, TD3, MRV-A, MRV-B): read with every check digit reported,
//!   generate from typed fields, the MRZ information BAC and PACE derive their keys from.
//! - [`tlv`]: BER-TLV as ISO 7816-4 and the LDS use it (multi-byte tags, definite lengths), parse and encode.

pub mod mrz;
pub mod tlv;
