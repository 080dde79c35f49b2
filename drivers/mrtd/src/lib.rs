//! Travel documents, inspection-system side (ICAO Doc 9303): everything here is pure logic (no I/O, no clocks);
//! the card is reached through `khil-apdu`, and the chip simulator (`sim/mrtd`) reuses the same codecs.
//!
//! - [`aa`]: Active Authentication (INTERNAL AUTHENTICATE; RSA ISO 9796-2 scheme 1, ECDSA plain), both sides;
//! - [`bac`]: Basic Access Control, terminal and chip sides, opening a 3DES secure messaging session;
//! - [`ca`]: Chip Authentication with ECDH (3DES via MSE:Set KAT, AES via MSE:Set AT and GENERAL
//!   AUTHENTICATE), both sides, giving the new secure messaging keys;
//! - [`crypto`]: 3DES and AES (CBC, retail MAC, CMAC), ISO 9797-1 padding, the 9303 key derivation;
//! - [`files`]: SELECT and READ BINARY as typed commands (short EF identifiers, odd INS beyond offset 32767),
//!   encoded by the inspection system and decoded by the chip;
//! - [`inspect`]: the inspection system over any `ApduTransport` (the one module that talks to a card): access
//!   control, every data group, passive, chip and active authentication, MRZ against DG1, each check named;
//! - [`lds`]: the LDS files (EF.COM, DG1, DG2/DG3 with their ISO 19794 records, DG14, DG15, EF.CardAccess,
//!   EF.SOD), file ids and SFIs, typed parse and encode;
//! - [`mrz`]: machine readable zones (TD1, TD2, TD3, MRV-A, MRV-B): read with every check digit reported,
//!   generate from typed fields, the MRZ information BAC and PACE derive their keys from;
//! - [`pa`]: passive authentication (9303-11 5.1) against a CSCA trust store and CRLs, each check named; CSCA
//!   master lists;
//! - [`pace`]: PACE v2 (ECDH generic mapping, P-256 and brainpoolP256r1, 3DES and AES), terminal and chip, and
//!   the PACEInfos of EF.CardAccess;
//! - [`sm`]: secure messaging, 3DES and AES, terminal side (protect, unprotect) and chip side;
//! - [`tlv`]: BER-TLV as ISO 7816-4 and the LDS use it (multi-byte tags, definite lengths), parse and encode.

pub mod aa;
pub mod bac;
pub mod ca;
pub mod crypto;
pub mod cvc;
pub mod files;
pub mod inspect;
pub mod lds;
pub mod mrz;
pub mod pa;
pub mod pace;
pub mod sm;
pub mod ta;
pub mod tlv;
