//! SecurityInfos (9303-11 9.2; BSI TR-03110-3 A.1.1): `SET OF SecurityInfo`, each `SEQUENCE { protocol OBJECT
//! IDENTIFIER, requiredData ANY, optionalData ANY OPTIONAL }`. EF.CardAccess is the bare SET; DG14 wraps it in
//! `6E`. DG15 (`6F`) holds the Active Authentication public key as a SubjectPublicKeyInfo.
//!
//! PACEInfo keeps its protocol as an OID: mapping it to algorithms is the PACE module's job.

use der::asn1::{Any, ObjectIdentifier};
use der::{Decode, Encode, Sequence};
use spki::SubjectPublicKeyInfoOwned;

use super::{FileId, LdsError, Place, outer, wrap};

/// bsi-de protocols: id-PACE (0.4.0.127.0.7.2.2.4); PACEInfo protocols are one of its grandchildren.
pub const ID_PACE: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4");
/// id-CA (0.4.0.127.0.7.2.2.3); ChipAuthenticationInfo protocols are its grandchildren.
pub const ID_CA: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.3");
/// id-PK (0.4.0.127.0.7.2.2.1); ChipAuthenticationPublicKeyInfo protocols are its children (.1 DH, .2 ECDH).
pub const ID_PK: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.1");
/// id-icao-mrtd-security-aaProtocolObject (2.23.136.1.1.5): ActiveAuthenticationInfo.
pub const ID_AA: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.5");

/// One SecurityInfo, typed where khil uses it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SecurityInfo {
    /// PACEInfo: protocol (id-PACE-*-*), version (2), standardized domain parameter id (12 = P-256, 13 =
    /// brainpoolP256r1 ...).
    Pace { protocol: ObjectIdentifier, version: u32, parameter_id: Option<u32> },
    /// ChipAuthenticationInfo: protocol (id-CA-*-*), version (1 or 2), key id.
    ChipAuthentication { protocol: ObjectIdentifier, version: u32, key_id: Option<u32> },
    /// ChipAuthenticationPublicKeyInfo: protocol (id-PK-DH / id-PK-ECDH), the chip's static public key, key id.
    ChipAuthenticationPublicKey {
        protocol: ObjectIdentifier,
        public_key: SubjectPublicKeyInfoOwned,
        key_id: Option<u32>,
    },
    /// ActiveAuthenticationInfo (protocol id-icao-mrtd-security-aaProtocolObject): version (1) and, for ECDSA,
    /// the signature algorithm (ecdsa-plain-SHA*).
    ActiveAuthentication { version: u32, signature_algorithm: Option<ObjectIdentifier> },
    /// Any other SecurityInfo (Terminal Authentication, domain parameters, ...): its protocol and whole DER.
    Other { protocol: ObjectIdentifier, der: Vec<u8> },
}

#[derive(Sequence)]
struct RawInfo {
    protocol: ObjectIdentifier,
    required: Any,
    optional: Option<Any>,
}

/// A SET OF SecurityInfo in file order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SecurityInfos(pub Vec<SecurityInfo>);

/// DG14: the SecurityInfos for Chip Authentication (and others), inside `6E`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Dg14(pub SecurityInfos);

/// EF.CardAccess: the SecurityInfos for PACE, unwrapped.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct EfCardAccess(pub SecurityInfos);

/// DG15: the Active Authentication public key.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Dg15 {
    pub public_key: SubjectPublicKeyInfoOwned,
}

fn arcs(oid: &ObjectIdentifier) -> usize {
    oid.arcs().count()
}

fn is_under(oid: &ObjectIdentifier, parent: &ObjectIdentifier, depth: usize) -> bool {
    oid.as_bytes().starts_with(parent.as_bytes()) && arcs(oid) == arcs(parent) + depth
}

impl SecurityInfo {
    /// The protocol OID.
    pub fn protocol(&self) -> ObjectIdentifier {
        match self {
            SecurityInfo::Pace { protocol, .. }
            | SecurityInfo::ChipAuthentication { protocol, .. }
            | SecurityInfo::ChipAuthenticationPublicKey { protocol, .. }
            | SecurityInfo::Other { protocol, .. } => *protocol,
            SecurityInfo::ActiveAuthentication { .. } => ID_AA,
        }
    }

    fn parse(file: FileId, path: &str, der_bytes: &[u8]) -> Result<SecurityInfo, LdsError> {
        let raw = RawInfo::from_der(der_bytes).map_err(|e| LdsError::der(file, path, &e))?;
        let p = raw.protocol;
        let int = |a: &Any, field: &str| -> Result<u32, LdsError> {
            a.decode_as::<u32>().map_err(|e| LdsError::der(file, &format!("{path}.{field}"), &e))
        };
        let opt_int = |a: &Option<Any>, field: &str| a.as_ref().map(|a| int(a, field)).transpose();
        Ok(if is_under(&p, &ID_PACE, 2) {
            SecurityInfo::Pace {
                protocol: p,
                version: int(&raw.required, "version")?,
                parameter_id: opt_int(&raw.optional, "parameterId")?,
            }
        } else if is_under(&p, &ID_CA, 2) {
            SecurityInfo::ChipAuthentication {
                protocol: p,
                version: int(&raw.required, "version")?,
                key_id: opt_int(&raw.optional, "keyId")?,
            }
        } else if is_under(&p, &ID_PK, 1) {
            let public_key = raw
                .required
                .decode_as::<SubjectPublicKeyInfoOwned>()
                .map_err(|e| LdsError::der(file, &format!("{path}.chipAuthenticationPublicKey"), &e))?;
            SecurityInfo::ChipAuthenticationPublicKey {
                protocol: p,
                public_key,
                key_id: opt_int(&raw.optional, "keyId")?,
            }
        } else if p == ID_AA {
            let signature_algorithm = raw
                .optional
                .as_ref()
                .map(Any::decode_as::<ObjectIdentifier>)
                .transpose()
                .map_err(|e| LdsError::der(file, &format!("{path}.signatureAlgorithm"), &e))?;
            SecurityInfo::ActiveAuthentication { version: int(&raw.required, "version")?, signature_algorithm }
        } else {
            SecurityInfo::Other { protocol: p, der: der_bytes.to_vec() }
        })
    }

    fn to_der(&self, file: FileId) -> Result<Vec<u8>, LdsError> {
        let err = |e: der::Error| LdsError::der(file, "SecurityInfo", &e);
        fn any<T: Encode>(v: &T, file: FileId) -> Result<Any, LdsError> {
            let err = |e: der::Error| LdsError::der(file, "SecurityInfo", &e);
            Any::from_der(&v.to_der().map_err(err)?).map_err(err)
        }
        let raw = match self {
            SecurityInfo::Pace { protocol, version, parameter_id: opt }
            | SecurityInfo::ChipAuthentication { protocol, version, key_id: opt } => RawInfo {
                protocol: *protocol,
                required: any(version, file)?,
                optional: opt.as_ref().map(|v| any(v, file)).transpose()?,
            },
            SecurityInfo::ChipAuthenticationPublicKey { protocol, public_key, key_id } => RawInfo {
                protocol: *protocol,
                required: any(public_key, file)?,
                optional: key_id.as_ref().map(|v| any(v, file)).transpose()?,
            },
            SecurityInfo::ActiveAuthentication { version, signature_algorithm } => RawInfo {
                protocol: ID_AA,
                required: any(version, file)?,
                optional: signature_algorithm.as_ref().map(|v| any(v, file)).transpose()?,
            },
            SecurityInfo::Other { der, .. } => return Ok(der.clone()),
        };
        raw.to_der().map_err(err)
    }
}

impl SecurityInfos {
    /// Parses a SET OF SecurityInfo occupying `bytes` (which start at `base` in `file`). Elements are taken in
    /// file order: a SET a card sent unsorted is still read.
    pub fn parse_set(file: FileId, bytes: &[u8], base: usize) -> Result<SecurityInfos, LdsError> {
        let (set, _) = crate::tlv::parse_at(bytes, base).map_err(|e| LdsError::tlv(file, e))?;
        if set.tag != crate::tlv::Tag(0x31) {
            return Err(LdsError::value(
                file,
                Place::Offset(base),
                "SecurityInfos",
                "a SET (31)",
                format!("tag {}", set.tag),
            ));
        }
        let mut infos = Vec::new();
        for (i, el) in set.children().map_err(|e| LdsError::tlv(file, e))?.iter().enumerate() {
            infos.push(SecurityInfo::parse(file, &format!("SecurityInfos[{i}] (byte {})", el.offset), &el.to_bytes())?);
        }
        Ok(SecurityInfos(infos))
    }

    /// DER: the SET's elements sorted by their encodings.
    pub fn encode_set(&self, file: FileId) -> Result<Vec<u8>, LdsError> {
        let mut els = self.0.iter().map(|i| i.to_der(file)).collect::<Result<Vec<_>, _>>()?;
        els.sort();
        Ok(crate::tlv::encode(crate::tlv::Tag(0x31), &els.concat()))
    }

    /// The PACEInfos, in order.
    pub fn pace(&self) -> impl Iterator<Item = &SecurityInfo> {
        self.0.iter().filter(|i| matches!(i, SecurityInfo::Pace { .. }))
    }
}

impl Dg14 {
    pub fn parse(bytes: &[u8]) -> Result<Dg14, LdsError> {
        let dg = outer(FileId::Dg(14), bytes)?;
        Ok(Dg14(SecurityInfos::parse_set(FileId::Dg(14), dg.value, dg.value_offset)?))
    }

    pub fn encode(&self) -> Result<Vec<u8>, LdsError> {
        Ok(wrap(FileId::Dg(14), &self.0.encode_set(FileId::Dg(14))?))
    }
}

impl EfCardAccess {
    pub fn parse(bytes: &[u8]) -> Result<EfCardAccess, LdsError> {
        Ok(EfCardAccess(SecurityInfos::parse_set(FileId::CardAccess, bytes, 0)?))
    }

    pub fn encode(&self) -> Result<Vec<u8>, LdsError> {
        self.0.encode_set(FileId::CardAccess)
    }
}

impl Dg15 {
    pub fn parse(bytes: &[u8]) -> Result<Dg15, LdsError> {
        let dg = outer(FileId::Dg(15), bytes)?;
        let public_key = SubjectPublicKeyInfoOwned::from_der(dg.value)
            .map_err(|e| LdsError::der(FileId::Dg(15), "SubjectPublicKeyInfo", &e))?;
        Ok(Dg15 { public_key })
    }

    pub fn encode(&self) -> Result<Vec<u8>, LdsError> {
        let spki = self.public_key.to_der().map_err(|e| LdsError::der(FileId::Dg(15), "SubjectPublicKeyInfo", &e))?;
        Ok(wrap(FileId::Dg(15), &spki))
    }
}
