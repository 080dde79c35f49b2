//! DG1 (9303-10 4.7.1): `61` > `5F1F` the MRZ as printed, lines concatenated. The MRZ is kept as bytes here;
//! the MRZ module parses it.

use std::fmt;

use super::{FileId, LdsError, Place, outer, wrap};
use crate::tlv::{Tag, encode};

/// DG1: the MRZ data element (88 characters for TD3, 72 TD2, 90 TD1), uninterpreted.
#[derive(Clone, PartialEq, Eq)]
pub struct Dg1 {
    pub mrz: Vec<u8>,
}

impl fmt::Debug for Dg1 {
    // Personal data: the length only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dg1({} MRZ bytes)", self.mrz.len())
    }
}

const FILE: FileId = FileId::Dg(1);

impl Dg1 {
    pub fn parse(bytes: &[u8]) -> Result<Dg1, LdsError> {
        let dg = outer(FILE, bytes)?;
        let mrz = dg.child(Tag(0x5F1F)).map_err(|e| LdsError::tlv(FILE, e))?;
        if !matches!(mrz.value.len(), 72 | 88 | 90) {
            return Err(LdsError::value(
                FILE,
                Place::Offset(mrz.value_offset),
                "MRZ (5F1F) length",
                "72 (TD2/MRV-B), 88 (TD3/MRV-A) or 90 (TD1)",
                mrz.value.len().to_string(),
            ));
        }
        Ok(Dg1 { mrz: mrz.value.to_vec() })
    }

    /// The MRZ as text, if it is ASCII (it always is on a conforming document).
    pub fn mrz_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.mrz).ok().filter(|s| s.is_ascii())
    }

    pub fn encode(&self) -> Vec<u8> {
        wrap(FILE, &encode(Tag(0x5F1F), &self.mrz))
    }
}
