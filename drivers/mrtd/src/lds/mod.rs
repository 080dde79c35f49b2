//! The Logical Data Structure (ICAO Doc 9303-10): the chip's elementary files, their identifiers and typed
//! parse / encode of each.
//!
//! BER-TLV framing (file tags, DG2/DG3 templates) goes through [`crate::tlv`]; the ASN.1 inside (SecurityInfos,
//! SubjectPublicKeyInfo, the CMS SignedData of EF.SOD) goes through `der`, `spki`, `x509-cert` and `cms`. Every
//! parser returns an [`LdsError`] naming the file, the place (a byte offset or an ASN.1 path) and the problem.

mod biometric;
mod com;
mod dg1;
mod face;
mod finger;
mod security_infos;
mod sod;

use std::fmt;

pub use biometric::{BiometricGroup, BiometricHeader, BiometricInstance};
pub use com::EfCom;
pub use dg1::Dg1;
pub use face::{FaceImage, FaceRecord};
pub use finger::{FingerImage, FingerRecord};
pub use security_infos::{Dg14, Dg15, EfCardAccess, ID_AA, ID_CA, ID_PACE, ID_PK, SecurityInfo, SecurityInfos};
pub use sod::{
    DataGroupHash, ID_LDS_SECURITY_OBJECT, ID_SIGNED_DATA, LdsSecurityObject, LdsVersionInfo, Sod,
    raw_signed_attributes,
};

use crate::tlv::{TlvError, TlvProblem};

/// An elementary file of the eMRTD application (plus EF.CardAccess in the master file).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum FileId {
    /// EF.COM, 011E: LDS version and the list of data groups present.
    Com,
    /// EF.SOD, 011D: the Document Security Object.
    Sod,
    /// EF.CardAccess, 011C, in the master file: PACE parameters (SecurityInfos, no wrapping tag).
    CardAccess,
    /// DG1..DG16, 0101..0110.
    Dg(u8),
}

impl FileId {
    /// Every file of an LDS 1.7 application and the master file, in file-id order.
    pub fn all() -> impl Iterator<Item = FileId> {
        (1..=16).map(FileId::Dg).chain([FileId::CardAccess, FileId::Sod, FileId::Com])
    }

    /// The two-byte file identifier for SELECT.
    pub fn fid(self) -> u16 {
        match self {
            FileId::Com => 0x011E,
            FileId::Sod => 0x011D,
            FileId::CardAccess => 0x011C,
            FileId::Dg(n) => 0x0100 | u16::from(n),
        }
    }

    /// The short file identifier (READ BINARY with P1 = 0x80 | SFI).
    pub fn sfi(self) -> u8 {
        (self.fid() & 0x1F) as u8
    }

    /// The file for a two-byte identifier, if it is one of the LDS's.
    pub fn from_fid(fid: u16) -> Option<FileId> {
        match fid {
            0x011E => Some(FileId::Com),
            0x011D => Some(FileId::Sod),
            0x011C => Some(FileId::CardAccess),
            0x0101..=0x0110 => Some(FileId::Dg((fid & 0xFF) as u8)),
            _ => None,
        }
    }

    /// The file's outer BER-TLV tag (EF.CardAccess has none: it is a bare SET).
    pub fn tag(self) -> Option<u8> {
        Some(match self {
            FileId::Com => 0x60,
            FileId::Sod => 0x77,
            FileId::CardAccess => return None,
            FileId::Dg(n) => match n {
                1 => 0x61,
                2 => 0x75,
                3 => 0x63,
                4 => 0x76,
                5 => 0x65,
                6 => 0x66,
                7 => 0x67,
                8 => 0x68,
                9 => 0x69,
                10 => 0x6A,
                11 => 0x6B,
                12 => 0x6C,
                13 => 0x6D,
                14 => 0x6E,
                15 => 0x6F,
                16 => 0x70,
                _ => return None,
            },
        })
    }

    /// The data group whose outer tag this is (EF.COM's tag list names data groups by tag).
    pub fn dg_from_tag(tag: u8) -> Option<u8> {
        (1..=16).find(|&n| FileId::Dg(n).tag() == Some(tag))
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileId::Com => f.write_str("EF.COM"),
            FileId::Sod => f.write_str("EF.SOD"),
            FileId::CardAccess => f.write_str("EF.CardAccess"),
            FileId::Dg(n) => write!(f, "DG{n}"),
        }
    }
}

/// Where in a file a problem is.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Place {
    /// A byte offset from the start of the file.
    Offset(usize),
    /// A path through the ASN.1 structure (`SignedData.encapContentInfo.eContent`), with the byte offset inside
    /// that part when `der` reports one.
    Path(String),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Offset(o) => write!(f, "byte {o}"),
            Place::Path(p) => f.write_str(p),
        }
    }
}

/// What is wrong at that place.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum LdsProblem {
    /// The BER-TLV framing is malformed.
    Tlv(TlvProblem),
    /// The DER inside is malformed (the `der` crate's words).
    Der(String),
    /// A field holds a value the standard does not allow.
    Value { field: &'static str, expected: String, found: String },
}

impl fmt::Display for LdsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LdsProblem::Tlv(p) => write!(f, "{p}"),
            LdsProblem::Der(e) => write!(f, "DER: {e}"),
            LdsProblem::Value { field, expected, found } => write!(f, "{field}: expected {expected}, found {found}"),
        }
    }
}

/// A file that could not be parsed or encoded: which file, where, and what was expected.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{file} at {place}: {problem}")]
pub struct LdsError {
    pub file: FileId,
    pub place: Place,
    pub problem: LdsProblem,
}

impl LdsError {
    pub(crate) fn tlv(file: FileId, e: TlvError) -> LdsError {
        LdsError { file, place: Place::Offset(e.offset), problem: LdsProblem::Tlv(e.problem) }
    }

    pub(crate) fn der(file: FileId, path: &str, e: &der::Error) -> LdsError {
        let place = match e.position() {
            Some(p) => Place::Path(format!("{path} (byte {} of it)", u32::from(p))),
            None => Place::Path(path.to_owned()),
        };
        LdsError { file, place, problem: LdsProblem::Der(e.kind().to_string()) }
    }

    pub(crate) fn value(
        file: FileId,
        place: Place,
        field: &'static str,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> LdsError {
        LdsError { file, place, problem: LdsProblem::Value { field, expected: expected.into(), found: found.into() } }
    }
}

/// Parses the outer tag of a data group or EF.COM / EF.SOD file.
pub(crate) fn outer(file: FileId, bytes: &[u8]) -> Result<crate::tlv::Tlv<'_>, LdsError> {
    let tag = file.tag().map_or(0x31, u32::from);
    crate::tlv::parse_expecting(bytes, crate::tlv::Tag(tag)).map_err(|e| LdsError::tlv(file, e))
}

/// Wraps a file's content in its outer tag.
pub(crate) fn wrap(file: FileId, content: &[u8]) -> Vec<u8> {
    match file.tag() {
        Some(t) => crate::tlv::encode(crate::tlv::Tag(u32::from(t)), content),
        None => content.to_vec(),
    }
}

/// Hex of at most the first 16 bytes, for error messages about structure (never about personal data).
pub(crate) fn hex_prefix(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for b in bytes.iter().take(16) {
        let _ = write!(s, "{b:02X}");
    }
    if bytes.len() > 16 {
        s.push_str("...");
    }
    s
}
