//! The e-passport chip side for khil (ICAO Doc 9303): what an issuing state puts on the chip.
//!
//! - [`pki`]: a deterministic test PKI: CSCAs per state, Document Signers (valid, expired, revoked, from an
//!   unknown CSCA), CRLs, a CSCA master list; [`eac`]: its extended access control part, a CVCA per state and
//!   the test inspection system's CV certificates.
//! - [`chip`]: the chip itself: an eMRTD application answering APDUs (`khil_apdu::Card`): files, BAC, PACE,
//!   secure messaging, chip and active authentication, each refusal with its status word.
//! - [`sim`]: `khil sim passport` / `sim:passport`: a population document issued under the test PKI on a
//!   chip, presented and removed from the console.
//! - [`issue`]: the LDS files of one document (EF.COM, EF.CardAccess, DG1, DG2, DG3, DG14, DG15, EF.SOD),
//!   with faults for passive authentication tests.
//! - [`faults`]: the lower tester's fault list in khil's one fault grammar: the chip's (wrong MAC, bad SSC, wrong
//!   status word at the end of a file, slow, mute, clone) and the document's (corrupted data group, EF.SOD signed
//!   by an unknown, expired or revoked Document Signer).

pub mod chip;
pub mod eac;
pub mod faults;
pub mod issue;
pub mod pki;
pub mod sim;

pub use sim::SIMULATOR;
