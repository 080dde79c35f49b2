//! Travel documents, inspection-system side (ICAO Doc 9303): everything here is pure logic (no I/O, no clocks);
//! the card is reached through `khil-apdu`, and the chip simulator (`sim/mrtd`) reuses the same codecs.
//!
//! - [`tlv`]: BER-TLV as ISO 7816-4 and the LDS use it (multi-byte tags, definite lengths), parse and encode.
//! - [`lds`]: the LDS files (EF.COM, DG1, DG2/DG3 with their ISO 19794 records, DG14, DG15, EF.CardAccess,
//!   EF.SOD), file ids and SFIs, typed parse and encode.
//! - [`pa`]: passive authentication (9303-11 5.1) against a CSCA trust store and CRLs, each check named; CSCA
//!   master lists.

pub mod lds;
pub mod pa;
pub mod tlv;
