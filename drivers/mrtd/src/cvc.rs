//! Card verifiable certificates (BSI TR-03110-3 appendix C and D.2/D.3; ISO 7816-8): the certificates of
//! Extended Access Control. A country verifying CA (CVCA) certifies document verifiers (DV), a DV certifies its
//! inspection systems (IS); the chip holds its state's CVCA key as a trust point and checks each certificate the
//! terminal presents before terminal authentication lets the terminal read DG3 (fingerprints).
//!
//! ```text
//! 7F21 CV certificate
//!   7F4E body: 5F29 profile (00), 42 CAR, 7F49 public key (06 OID, [81-85, 87 domain parameters], 86 point),
//!              5F20 CHR, 7F4C CHAT (06 id-IS, 53 role and rights), 5F25 effective date, 5F24 expiration date
//!   5F37 signature: plain ECDSA r || s over the encoded body (tag and length included)
//! ```
//!
//! Written by hand: no crate encodes CV certificates, and their BER-TLV is the one `tlv` already parses. Only
//! ECDSA with SHA-256 on P-256 is signed and verified (id-TA-ECDSA-SHA-256), the algorithm of the test PKI; a
//! certificate of another algorithm parses and is refused by name.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::pace::{EcdsaFailure, PaceCurve};
use crate::tlv::{self, Tag, Tlv, TlvError};

/// id-TA-ECDSA-SHA-256, 0.4.0.127.0.7.2.2.2.2.3, as DER content bytes.
pub const ID_TA_ECDSA_SHA_256: [u8; 10] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x03];
/// id-IS (inspection systems), 0.4.0.127.0.7.3.1.2.1.
pub const ID_IS: [u8; 9] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x01, 0x02, 0x01];
/// Read access to DG3 (fingerprints) in an inspection system's CHAT (TR-03110-3 table 20).
pub const READ_DG3: u8 = 0x01;
/// Read access to DG4 (iris).
pub const READ_DG4: u8 = 0x02;

const CERTIFICATE: Tag = Tag(0x7F21);
const BODY: Tag = Tag(0x7F4E);
const PROFILE: Tag = Tag(0x5F29);
const CAR: Tag = Tag(0x42);
const PUBLIC_KEY: Tag = Tag(0x7F49);
const CHR: Tag = Tag(0x5F20);
const CHAT: Tag = Tag(0x7F4C);
const EFFECTIVE: Tag = Tag(0x5F25);
const EXPIRATION: Tag = Tag(0x5F24);
const SIGNATURE: Tag = Tag(0x5F37);
const OID: Tag = Tag(0x06);
const DISCRETIONARY: Tag = Tag(0x53);
const POINT: Tag = Tag(0x86);

/// NIST P-256 (SEC 2 2.4.2) as CV certificates carry domain parameters: prime (81), a (82), b (83), generator
/// (84), order (85), cofactor (87). A CVCA certificate includes them; DV and terminal certificates inherit them.
const P256_DOMAIN: [(u32, &str); 6] = [
    (0x81, "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF"),
    (0x82, "FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFC"),
    (0x83, "5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B"),
    (
        0x84,
        "046B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C2964FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
    ),
    (0x85, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"),
    (0x87, "01"),
];

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("a constant")).collect()
}

/// Where a CV certificate is malformed or refused, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CvcError {
    #[error("CV certificate: {0}")]
    Tlv(#[from] TlvError),
    #[error("CV certificate: {field} (tag {tag}): {expected}")]
    Field { field: &'static str, tag: Tag, expected: String },
    #[error("CV certificate {chr}: {why}")]
    Refused { chr: String, why: String },
}

fn field(field: &'static str, tag: Tag, expected: impl Into<String>) -> CvcError {
    CvcError::Field { field, tag, expected: expected.into() }
}

/// The holder's role (the two high bits of the CHAT's discretionary byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CvRole {
    Cvca,
    /// A document verifier of the CVCA's own state.
    DvDomestic,
    /// A document verifier of another state.
    DvForeign,
    /// An inspection system.
    Terminal,
}

impl CvRole {
    const fn bits(self) -> u8 {
        match self {
            CvRole::Cvca => 0xC0,
            CvRole::DvDomestic => 0x80,
            CvRole::DvForeign => 0x40,
            CvRole::Terminal => 0x00,
        }
    }

    fn from_byte(b: u8) -> CvRole {
        match b & 0xC0 {
            0xC0 => CvRole::Cvca,
            0x80 => CvRole::DvDomestic,
            0x40 => CvRole::DvForeign,
            _ => CvRole::Terminal,
        }
    }
}

/// A calendar date as CV certificates encode it: six bytes, one decimal digit each, YYMMDD (20YY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CvDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl CvDate {
    pub fn new(year: u16, month: u8, day: u8) -> Option<CvDate> {
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if year.is_multiple_of(4) => 29,
            2 => 28,
            _ => return None,
        };
        ((2000..=2099).contains(&year) && (1..=days).contains(&day)).then_some(CvDate { year, month, day })
    }

    /// The day of a DER date-time (UTC).
    pub fn of(t: der::DateTime) -> Option<CvDate> {
        CvDate::new(t.year(), t.month(), t.day())
    }

    fn encode(self) -> Vec<u8> {
        let yy = (self.year - 2000) as u8;
        vec![yy / 10, yy % 10, self.month / 10, self.month % 10, self.day / 10, self.day % 10]
    }

    fn parse(name: &'static str, tag: Tag, v: &[u8]) -> Result<CvDate, CvcError> {
        if v.len() != 6 || v.iter().any(|&d| d > 9) {
            return Err(field(name, tag, format!("six digit bytes 00-09 (YYMMDD), found {} bytes", v.len())));
        }
        let n = |i: usize| v[i] * 10 + v[i + 1];
        CvDate::new(2000 + u16::from(n(0)), n(2), n(4))
            .ok_or_else(|| field(name, tag, format!("a calendar date, found 20{:02}-{:02}-{:02}", n(0), n(2), n(4))))
    }
}

impl fmt::Display for CvDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The certificate body's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvBody {
    /// Certification authority reference: the CHR of the key that signed this certificate.
    pub car: String,
    /// The public key's algorithm (id-TA-ECDSA-SHA-256 ...), DER content bytes.
    pub algorithm: Vec<u8>,
    /// Whether the key carries its domain parameters (a CVCA certificate does).
    pub with_domain: bool,
    /// The public point (SEC1 uncompressed).
    pub point: Vec<u8>,
    /// Certificate holder reference: country code, holder mnemonic, sequence number (`MNKHILIS00001`).
    pub chr: String,
    /// The CHAT's terminal type (id-IS for inspection systems).
    pub chat_type: Vec<u8>,
    pub role: CvRole,
    /// The access rights relative to the issuer (the CHAT byte's low six bits for id-IS).
    pub rights: u8,
    pub effective: CvDate,
    pub expiration: CvDate,
}

impl CvBody {
    /// The encoded body, `7F4E` included (what the signature covers).
    pub fn encode(&self) -> Vec<u8> {
        let mut key = vec![tlv::encode(OID, &self.algorithm)];
        if self.with_domain {
            key.extend(P256_DOMAIN.iter().take(5).map(|(t, v)| tlv::encode(Tag(*t), &unhex(v))));
        }
        key.push(tlv::encode(POINT, &self.point));
        if self.with_domain {
            key.push(tlv::encode(Tag(P256_DOMAIN[5].0), &unhex(P256_DOMAIN[5].1)));
        }
        tlv::encode_constructed(
            BODY,
            &[
                tlv::encode(PROFILE, &[0]),
                tlv::encode(CAR, self.car.as_bytes()),
                tlv::encode_constructed(PUBLIC_KEY, &key),
                tlv::encode(CHR, self.chr.as_bytes()),
                tlv::encode_constructed(
                    CHAT,
                    &[tlv::encode(OID, &self.chat_type), tlv::encode(DISCRETIONARY, &[self.role.bits() | self.rights])],
                ),
                tlv::encode(EFFECTIVE, &self.effective.encode()),
                tlv::encode(EXPIRATION, &self.expiration.encode()),
            ],
        )
    }

    fn parse(body: &Tlv<'_>) -> Result<CvBody, CvcError> {
        let kids = body.children()?;
        let get = |tag: Tag, name: &'static str| {
            kids.iter().find(|t| t.tag == tag).copied().ok_or_else(|| field(name, tag, "present in the body"))
        };
        let profile = get(PROFILE, "certificate profile identifier")?;
        if profile.value != [0] {
            return Err(field("certificate profile identifier", PROFILE, "00 (version 1)"));
        }
        let car = reference(get(CAR, "certification authority reference")?, "certification authority reference")?;
        let chr = reference(get(CHR, "certificate holder reference")?, "certificate holder reference")?;
        let key = get(PUBLIC_KEY, "public key")?;
        let key_kids = key.children()?;
        let in_key = |tag: Tag| key_kids.iter().find(|t| t.tag == tag);
        let algorithm = in_key(OID).ok_or_else(|| field("public key", OID, "an algorithm OID"))?.value.to_vec();
        let point = in_key(POINT).ok_or_else(|| field("public key", POINT, "the public point"))?.value.to_vec();
        let with_domain = in_key(Tag(0x81)).is_some();
        if with_domain {
            for (t, v) in P256_DOMAIN {
                match in_key(Tag(t)) {
                    Some(o) if o.value == unhex(v).as_slice() => {}
                    _ => {
                        return Err(field(
                            "public key domain parameters",
                            Tag(t),
                            "those of P-256 (the one curve khil runs terminal authentication on)",
                        ));
                    }
                }
            }
        }
        let chat = get(CHAT, "certificate holder authorization template")?;
        let chat_type = chat.child(OID)?.value.to_vec();
        let byte = match chat.child(DISCRETIONARY)?.value {
            [b] => *b,
            v => return Err(field("CHAT discretionary data", DISCRETIONARY, format!("1 byte, found {}", v.len()))),
        };
        let effective =
            CvDate::parse("certificate effective date", EFFECTIVE, get(EFFECTIVE, "effective date")?.value)?;
        let expiration =
            CvDate::parse("certificate expiration date", EXPIRATION, get(EXPIRATION, "expiration date")?.value)?;
        Ok(CvBody {
            car,
            algorithm,
            with_domain,
            point,
            chr,
            chat_type,
            role: CvRole::from_byte(byte),
            rights: byte & 0x3F,
            effective,
            expiration,
        })
    }
}

/// A CHR or CAR: ISO 8859-1 text, country code (2), mnemonic (up to 9), sequence number (5).
fn reference(t: Tlv<'_>, name: &'static str) -> Result<String, CvcError> {
    if !(7..=16).contains(&t.value.len()) || !t.value.iter().all(u8::is_ascii_graphic) {
        return Err(field(name, t.tag, format!("7 to 16 printable characters, found {} bytes", t.value.len())));
    }
    Ok(String::from_utf8_lossy(t.value).into_owned())
}

/// A CV certificate: its body, the body as encoded (what was signed) and the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct CvCertificate {
    pub body: CvBody,
    body_bytes: Vec<u8>,
    pub signature: Vec<u8>,
}

impl fmt::Debug for CvCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CvCertificate({} by {}, {:?})", self.body.chr, self.body.car, self.body.role)
    }
}

impl CvCertificate {
    /// Signs `body` with `private_key` (P-256 scalar, the issuer's: the key of `body.car`).
    pub fn sign(body: CvBody, private_key: &[u8]) -> Result<CvCertificate, CvcError> {
        let body_bytes = body.encode();
        let signature = PaceCurve::P256
            .sign_prehash(private_key, &Sha256::digest(&body_bytes))
            .map_err(|e| CvcError::Refused { chr: body.chr.clone(), why: format!("signing: {e}") })?;
        Ok(CvCertificate { body, body_bytes, signature })
    }

    /// A whole certificate, `7F21`.
    pub fn parse(bytes: &[u8]) -> Result<CvCertificate, CvcError> {
        let outer = tlv::parse_expecting(bytes, CERTIFICATE)?;
        CvCertificate::parse_parts(outer.value, outer.value_offset)
    }

    /// The body and signature without the `7F21` wrapper: the data of PSO:Verify Certificate.
    pub fn parse_parts(bytes: &[u8], base: usize) -> Result<CvCertificate, CvcError> {
        let (body, rest) = tlv::parse_at(bytes, base)?;
        if body.tag != BODY {
            return Err(field("certificate body", BODY, format!("first, found tag {}", body.tag)));
        }
        let (sig, _) = tlv::parse_at(rest, base + bytes.len() - rest.len())?;
        if sig.tag != SIGNATURE {
            return Err(field("signature", SIGNATURE, format!("after the body, found tag {}", sig.tag)));
        }
        Ok(CvCertificate { body: CvBody::parse(&body)?, body_bytes: body.to_bytes(), signature: sig.value.to_vec() })
    }

    /// `7F21 { 7F4E body, 5F37 signature }`.
    pub fn encode(&self) -> Vec<u8> {
        tlv::encode(CERTIFICATE, &self.parts())
    }

    /// Body and signature, as PSO:Verify Certificate sends them.
    pub fn parts(&self) -> Vec<u8> {
        [self.body_bytes.clone(), tlv::encode(SIGNATURE, &self.signature)].concat()
    }

    /// Verifies the signature with the issuer's public point.
    pub fn verify(&self, issuer_point: &[u8]) -> Result<(), CvcError> {
        if self.body.algorithm != ID_TA_ECDSA_SHA_256 {
            return Err(self.refused("signed with an algorithm other than id-TA-ECDSA-SHA-256".into()));
        }
        PaceCurve::P256.verify_prehash(issuer_point, &Sha256::digest(&self.body_bytes), &self.signature).map_err(|e| {
            match e {
                EcdsaFailure::Key(e) => self.refused(format!("the issuer's key {}: {e}", self.body.car)),
                EcdsaFailure::Signature(_) => {
                    self.refused(format!("the signature does not verify with the key of {}", self.body.car))
                }
            }
        })
    }

    fn refused(&self, why: String) -> CvcError {
        CvcError::Refused { chr: self.body.chr.clone(), why }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(n: u8) -> Vec<u8> {
        let mut k = vec![0x11; 32];
        k[31] = n;
        k
    }

    fn body(car: &str, chr: &str, role: CvRole, signer_key: &[u8]) -> CvBody {
        CvBody {
            car: car.into(),
            algorithm: ID_TA_ECDSA_SHA_256.to_vec(),
            with_domain: role == CvRole::Cvca,
            point: PaceCurve::P256.public_key(signer_key).unwrap(),
            chr: chr.into(),
            chat_type: ID_IS.to_vec(),
            role,
            rights: READ_DG3 | READ_DG4,
            effective: CvDate::new(2026, 10, 1).unwrap(),
            expiration: CvDate::new(2027, 1, 1).unwrap(),
        }
    }

    #[test]
    fn a_chain_signs_parses_and_verifies() {
        let cvca = CvCertificate::sign(body("UTCVCA00001", "UTCVCA00001", CvRole::Cvca, &key(1)), &key(1)).unwrap();
        let dv =
            CvCertificate::sign(body("UTCVCA00001", "MNKHILDV00001", CvRole::DvForeign, &key(2)), &key(1)).unwrap();
        for c in [&cvca, &dv] {
            let again = CvCertificate::parse(&c.encode()).unwrap();
            assert_eq!(&again, c);
            assert_eq!(CvCertificate::parse_parts(&c.parts(), 0).unwrap(), again);
        }
        cvca.verify(&cvca.body.point).unwrap();
        dv.verify(&cvca.body.point).unwrap();
        let e = dv.verify(&dv.body.point).unwrap_err();
        assert!(e.to_string().contains("does not verify with the key of UTCVCA00001"), "{e}");
        // The layout TR-03110-3 gives: profile 00 first, CAR, the key with P-256's parameters, the CHAT byte.
        let bytes = cvca.encode();
        assert_eq!(&bytes[..2], &[0x7F, 0x21]);
        assert!(bytes.windows(4).any(|w| w == [0x5F, 0x29, 0x01, 0x00]));
        assert!(bytes.windows(4).any(|w| w == [0x53, 0x01, 0xC3, 0x5F]), "CVCA role bits 11, DG3+DG4");
    }

    #[test]
    fn malformed_fields_are_named() {
        let c = CvCertificate::sign(body("UTCVCA00001", "UTCVCA00001", CvRole::Cvca, &key(1)), &key(1)).unwrap();
        let mut bytes = c.encode();
        let at = bytes.windows(2).position(|w| w == [0x5F, 0x25]).unwrap();
        bytes[at + 4] = 0x0A;
        let e = CvCertificate::parse(&bytes).unwrap_err();
        assert!(e.to_string().contains("certificate effective date (tag 5F25): six digit bytes"), "{e}");
        let e = CvCertificate::parse(&[0x7F, 0x4E, 0x00]).unwrap_err();
        assert!(e.to_string().contains("expected tag 7F21"), "{e}");
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = CvCertificate::parse(&bytes);
            let _ = CvCertificate::parse_parts(&bytes, 0);
        }

        #[test]
        fn flipping_a_byte_never_panics_and_never_verifies(at in 0usize..300, bit in 0u8..8) {
            let cvca = CvCertificate::sign(body("UTCVCA00001", "UTCVCA00001", CvRole::Cvca, &key(1)), &key(1)).unwrap();
            let mut bytes = cvca.encode();
            let at = at % bytes.len();
            bytes[at] ^= 1 << bit;
            if let Ok(c) = CvCertificate::parse(&bytes) {
                // Every byte is the body's, the signature's or the wrapper's: what still parses is another body
                // or signature, and never verifies with the issuer's key.
                prop_assert!(c.verify(&cvca.body.point).is_err());
            }
        }
    }
}
