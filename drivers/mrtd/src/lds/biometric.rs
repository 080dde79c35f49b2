//! DG2 (face, tag 75) and DG3 (fingers, tag 63): the biometric information group template of 9303-10 4.7.2,
//! `7F61` > `02` instance count > `7F60` per instance > `A1` biometric header template + `5F2E` (or `7F2E`)
//! biometric data block. The data block is an ISO/IEC 19794 record ([`super::FaceRecord`],
//! [`super::FingerRecord`]).

use std::fmt;

use super::{FileId, LdsError, Place, outer, wrap};
use crate::tlv::{Tag, Tlv, encode};

/// The biometric header template (`A1`): CBEFF fields. Format owner `0101` is ISO/IEC JTC 1/SC 37; format type
/// `0008` is a 19794-5 face image, `0007` a 19794-4 finger image.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BiometricHeader {
    /// `80`: ICAO header version (`0101`), optional.
    pub version: Option<Vec<u8>>,
    /// `81`: biometric type (`02` face, `08` finger), optional.
    pub biometric_type: Option<Vec<u8>>,
    /// `82`: biometric subtype, optional.
    pub subtype: Option<Vec<u8>>,
    /// Other optional elements (`83` creation date, `85` validity, `86` creator, ...) in order.
    pub other: Vec<(Tag, Vec<u8>)>,
    /// `87`: format owner.
    pub format_owner: u16,
    /// `88`: format type.
    pub format_type: u16,
}

/// One biometric: its header and the data block.
#[derive(Clone, PartialEq, Eq)]
pub struct BiometricInstance {
    pub header: BiometricHeader,
    /// The data block came (and is written) as `7F2E` (enciphered / extended) instead of `5F2E`.
    pub extended_data_tag: bool,
    pub data: Vec<u8>,
}

impl fmt::Debug for BiometricInstance {
    // Biometric data: lengths only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BiometricInstance(format {:04X}/{:04X}, {} data bytes)",
            self.header.format_owner,
            self.header.format_type,
            self.data.len()
        )
    }
}

/// DG2 or DG3: the biometric instances in file order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BiometricGroup {
    pub instances: Vec<BiometricInstance>,
}

fn two_bytes(file: FileId, tlv: &Tlv<'_>, field: &'static str) -> Result<u16, LdsError> {
    match tlv.value {
        [a, b] => Ok(u16::from_be_bytes([*a, *b])),
        v => {
            Err(LdsError::value(file, Place::Offset(tlv.value_offset), field, "2 bytes", format!("{} bytes", v.len())))
        }
    }
}

impl BiometricHeader {
    fn parse(file: FileId, bht: &Tlv<'_>) -> Result<BiometricHeader, LdsError> {
        let mut h = BiometricHeader {
            version: None,
            biometric_type: None,
            subtype: None,
            other: Vec::new(),
            format_owner: 0,
            format_type: 0,
        };
        let (mut owner, mut kind) = (None, None);
        for el in bht.children().map_err(|e| LdsError::tlv(file, e))? {
            match el.tag.0 {
                0x80 => h.version = Some(el.value.to_vec()),
                0x81 => h.biometric_type = Some(el.value.to_vec()),
                0x82 => h.subtype = Some(el.value.to_vec()),
                0x87 => owner = Some(two_bytes(file, &el, "format owner (87)")?),
                0x88 => kind = Some(two_bytes(file, &el, "format type (88)")?),
                _ => h.other.push((el.tag, el.value.to_vec())),
            }
        }
        let missing = |t| {
            LdsError::tlv(
                file,
                crate::tlv::TlvError {
                    offset: bht.offset,
                    problem: crate::tlv::TlvProblem::Missing { parent: Some(bht.tag), tag: Tag(t) },
                },
            )
        };
        h.format_owner = owner.ok_or_else(|| missing(0x87))?;
        h.format_type = kind.ok_or_else(|| missing(0x88))?;
        Ok(h)
    }

    fn encode(&self) -> Vec<u8> {
        let mut parts = Vec::new();
        for (t, v) in [(0x80, &self.version), (0x81, &self.biometric_type), (0x82, &self.subtype)] {
            if let Some(v) = v {
                parts.push(encode(Tag(t), v));
            }
        }
        for (t, v) in &self.other {
            parts.push(encode(*t, v));
        }
        parts.push(encode(Tag(0x87), &self.format_owner.to_be_bytes()));
        parts.push(encode(Tag(0x88), &self.format_type.to_be_bytes()));
        encode(Tag(0xA1), &parts.concat())
    }
}

impl BiometricGroup {
    /// Parses DG2 (`file` = `FileId::Dg(2)`), DG3 or DG4 (the same template under another outer tag).
    pub fn parse(file: FileId, bytes: &[u8]) -> Result<BiometricGroup, LdsError> {
        let dg = outer(file, bytes)?;
        let group = dg.child(Tag(0x7F61)).map_err(|e| LdsError::tlv(file, e))?;
        let children = group.children().map_err(|e| LdsError::tlv(file, e))?;
        let count_tlv = children.iter().find(|t| t.tag == Tag(0x02)).ok_or_else(|| {
            LdsError::tlv(
                file,
                crate::tlv::TlvError {
                    offset: group.offset,
                    problem: crate::tlv::TlvProblem::Missing { parent: Some(group.tag), tag: Tag(0x02) },
                },
            )
        })?;
        let count = match count_tlv.value {
            [n] => usize::from(*n),
            v => {
                return Err(LdsError::value(
                    file,
                    Place::Offset(count_tlv.value_offset),
                    "instance count (02)",
                    "1 byte",
                    format!("{} bytes", v.len()),
                ));
            }
        };
        let mut instances = Vec::new();
        for bit in children.iter().filter(|t| t.tag == Tag(0x7F60)) {
            let mut header = None;
            let mut data = None;
            for el in bit.children().map_err(|e| LdsError::tlv(file, e))? {
                match el.tag.0 {
                    0xA1 => header = Some(BiometricHeader::parse(file, &el)?),
                    0x5F2E => data = Some((false, el.value.to_vec())),
                    0x7F2E => data = Some((true, el.value.to_vec())),
                    _ => {}
                }
            }
            let missing = |t| {
                LdsError::tlv(
                    file,
                    crate::tlv::TlvError {
                        offset: bit.offset,
                        problem: crate::tlv::TlvProblem::Missing { parent: Some(bit.tag), tag: Tag(t) },
                    },
                )
            };
            let header = header.ok_or_else(|| missing(0xA1))?;
            let (extended_data_tag, data) = data.ok_or_else(|| missing(0x5F2E))?;
            instances.push(BiometricInstance { header, extended_data_tag, data });
        }
        if instances.len() != count {
            return Err(LdsError::value(
                file,
                Place::Offset(count_tlv.value_offset),
                "instance count (02)",
                format!("the number of 7F60 templates ({})", instances.len()),
                count.to_string(),
            ));
        }
        Ok(BiometricGroup { instances })
    }

    /// Encodes the group as `file` (DG2, DG3 or DG4). At most 255 instances (the count is one byte).
    pub fn encode(&self, file: FileId) -> Result<Vec<u8>, LdsError> {
        let count = u8::try_from(self.instances.len()).map_err(|_| {
            LdsError::value(
                file,
                Place::Path("7F61.02".into()),
                "instances",
                "at most 255",
                self.instances.len().to_string(),
            )
        })?;
        let mut parts = vec![encode(Tag(0x02), &[count])];
        for i in &self.instances {
            let data_tag = if i.extended_data_tag { Tag(0x7F2E) } else { Tag(0x5F2E) };
            parts.push(encode(Tag(0x7F60), &[i.header.encode(), encode(data_tag, &i.data)].concat()));
        }
        Ok(wrap(file, &encode(Tag(0x7F61), &parts.concat())))
    }
}
