//! EF.COM (9303-10 4.6.1): `60` > `5F01` LDS version "aabb", `5F36` Unicode version "aabbcc", `5C` tag list.

use super::{FileId, LdsError, Place, outer, wrap};
use crate::tlv::{Tag, encode};

/// EF.COM: versions as the ASCII digits stored on the chip, and the data groups present (by number).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EfCom {
    /// Four digits, `"0107"` for LDS 1.7.
    pub lds_version: String,
    /// Six digits, `"040000"` for Unicode 4.0.0.
    pub unicode_version: String,
    /// Data group numbers in the order of the tag list.
    pub data_groups: Vec<u8>,
}

const FILE: FileId = FileId::Com;

fn digits(tlv: &crate::tlv::Tlv<'_>, field: &'static str, n: usize) -> Result<String, LdsError> {
    if tlv.value.len() != n || !tlv.value.iter().all(u8::is_ascii_digit) {
        return Err(LdsError::value(
            FILE,
            Place::Offset(tlv.value_offset),
            field,
            format!("{n} ASCII digits"),
            super::hex_prefix(tlv.value),
        ));
    }
    Ok(String::from_utf8_lossy(tlv.value).into_owned())
}

impl EfCom {
    pub fn parse(bytes: &[u8]) -> Result<EfCom, LdsError> {
        let com = outer(FILE, bytes)?;
        let child = |t: u32| com.child(Tag(t)).map_err(|e| LdsError::tlv(FILE, e));
        let lds_version = digits(&child(0x5F01)?, "LDS version (5F01)", 4)?;
        let unicode_version = digits(&child(0x5F36)?, "Unicode version (5F36)", 6)?;
        let list = child(0x5C)?;
        let mut data_groups = Vec::with_capacity(list.value.len());
        for (i, &t) in list.value.iter().enumerate() {
            let dg = FileId::dg_from_tag(t).ok_or_else(|| {
                LdsError::value(
                    FILE,
                    Place::Offset(list.value_offset + i),
                    "tag list (5C)",
                    "a data group tag (61..70, 75, 76)",
                    format!("{t:02X}"),
                )
            })?;
            data_groups.push(dg);
        }
        Ok(EfCom { lds_version, unicode_version, data_groups })
    }

    /// Encodes the file; a data group number outside 1..=16 or versions of the wrong length are refused.
    pub fn encode(&self) -> Result<Vec<u8>, LdsError> {
        let at = Place::Path("EfCom".into());
        if self.lds_version.len() != 4 || !self.lds_version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LdsError::value(FILE, at, "lds_version", "4 ASCII digits", self.lds_version.clone()));
        }
        if self.unicode_version.len() != 6 || !self.unicode_version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(LdsError::value(FILE, at, "unicode_version", "6 ASCII digits", self.unicode_version.clone()));
        }
        let mut tags = Vec::with_capacity(self.data_groups.len());
        for &dg in &self.data_groups {
            tags.push(
                FileId::Dg(dg)
                    .tag()
                    .ok_or_else(|| LdsError::value(FILE, at.clone(), "data_groups", "1..=16", dg.to_string()))?,
            );
        }
        let content = [
            encode(Tag(0x5F01), self.lds_version.as_bytes()),
            encode(Tag(0x5F36), self.unicode_version.as_bytes()),
            encode(Tag(0x5C), &tags),
        ]
        .concat();
        Ok(wrap(FILE, &content))
    }
}
