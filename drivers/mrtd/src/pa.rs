//! Passive authentication (ICAO Doc 9303-11 5.1, 9303-12): is the data read from the chip what the issuing
//! state signed?
//!
//! [`passive_authentication`] runs every check and names each one ([`CheckName`]): EF.SOD structure, each data
//! group's hash, the SOD signature by the Document Signer (DS) certificate inside it, the DS certificate issued
//! by a CSCA of the [`TrustStore`], DS and CSCA validity on the date of the check (passed in: no clocks), the DS
//! not revoked by its CSCA's CRL. A check that cannot run because an earlier one failed is "not checked", with
//! the reason. [`MasterList`] reads and verifies an ICAO CSCA master list (CMS SignedData, eContentType
//! 2.23.136.1.1.2) to fill a trust store.
//!
//! Signatures: ECDSA on P-256, P-384 and brainpoolP256r1 (named curves) with SHA-1/224/256/384/512, RSA PKCS#1
//! v1.5 and RSASSA-PSS (salt length = hash length, MGF1 with the same hash).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::{Any, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};

use crate::lds::{FileId, Sod};

pub use der::DateTime;

/// OIDs the checks need (RFC 5652, RFC 5758, RFC 4055, RFC 5639, ICAO 9303-12).
pub mod oid {
    use der::asn1::ObjectIdentifier as Oid;

    pub const SHA1: Oid = Oid::new_unwrap("1.3.14.3.2.26");
    pub const SHA224: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.4");
    pub const SHA256: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.1");
    pub const SHA384: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.2");
    pub const SHA512: Oid = Oid::new_unwrap("2.16.840.1.101.3.4.2.3");
    pub const EC_PUBLIC_KEY: Oid = Oid::new_unwrap("1.2.840.10045.2.1");
    pub const ECDSA_SHA1: Oid = Oid::new_unwrap("1.2.840.10045.4.1");
    pub const ECDSA_SHA224: Oid = Oid::new_unwrap("1.2.840.10045.4.3.1");
    pub const ECDSA_SHA256: Oid = Oid::new_unwrap("1.2.840.10045.4.3.2");
    pub const ECDSA_SHA384: Oid = Oid::new_unwrap("1.2.840.10045.4.3.3");
    pub const ECDSA_SHA512: Oid = Oid::new_unwrap("1.2.840.10045.4.3.4");
    pub const RSA_ENCRYPTION: Oid = Oid::new_unwrap("1.2.840.113549.1.1.1");
    pub const SHA1_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.5");
    pub const SHA256_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.11");
    pub const SHA384_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.12");
    pub const SHA512_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.13");
    pub const SHA224_WITH_RSA: Oid = Oid::new_unwrap("1.2.840.113549.1.1.14");
    pub const RSASSA_PSS: Oid = Oid::new_unwrap("1.2.840.113549.1.1.10");
    pub const P256: Oid = Oid::new_unwrap("1.2.840.10045.3.1.7");
    pub const P384: Oid = Oid::new_unwrap("1.3.132.0.34");
    pub const BRAINPOOL_P256R1: Oid = Oid::new_unwrap("1.3.36.3.3.2.8.1.1.7");
    pub const CONTENT_TYPE: Oid = Oid::new_unwrap("1.2.840.113549.1.9.3");
    pub const MESSAGE_DIGEST: Oid = Oid::new_unwrap("1.2.840.113549.1.9.4");
    pub const SIGNING_TIME: Oid = Oid::new_unwrap("1.2.840.113549.1.9.5");
    /// id-icao-cscaMasterList.
    pub const CSCA_MASTER_LIST: Oid = Oid::new_unwrap("2.23.136.1.1.2");
}

/// A hash function named by an AlgorithmIdentifier.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    pub fn from_oid(o: &ObjectIdentifier) -> Option<Hash> {
        Some(match *o {
            oid::SHA1 => Hash::Sha1,
            oid::SHA224 => Hash::Sha224,
            oid::SHA256 => Hash::Sha256,
            oid::SHA384 => Hash::Sha384,
            oid::SHA512 => Hash::Sha512,
            _ => return None,
        })
    }

    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Hash::Sha1 => oid::SHA1,
            Hash::Sha224 => oid::SHA224,
            Hash::Sha256 => oid::SHA256,
            Hash::Sha384 => oid::SHA384,
            Hash::Sha512 => oid::SHA512,
        }
    }

    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Hash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Hash::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Hash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Hash::Sha1 => "SHA-1",
            Hash::Sha224 => "SHA-224",
            Hash::Sha256 => "SHA-256",
            Hash::Sha384 => "SHA-384",
            Hash::Sha512 => "SHA-512",
        })
    }
}

/// RSASSA-PSS-params (RFC 4055): only the hash is needed (MGF1 uses the same hash; salt = hash length).
#[derive(Sequence)]
struct PssParams {
    #[asn1(context_specific = "0", optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", optional = "true")]
    mask_gen_algorithm: Option<Any>,
    #[asn1(context_specific = "2", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", optional = "true")]
    trailer_field: Option<u32>,
}

/// The signature schemes passive authentication meets.
#[derive(Clone, Copy)]
enum Scheme {
    Ecdsa,
    Pkcs1,
    /// With the salt length of the parameters (RFC 4055 default 20).
    Pss(usize),
}

/// The scheme and hash an AlgorithmIdentifier names (`digest_algorithm` when the OID names only the key type).
fn scheme_of(
    algorithm: &AlgorithmIdentifierOwned,
    digest_algorithm: Option<&AlgorithmIdentifierOwned>,
) -> Result<(Scheme, Hash), String> {
    let from_digest = || {
        digest_algorithm
            .and_then(|d| Hash::from_oid(&d.oid))
            .ok_or_else(|| format!("signature algorithm {} needs a known digest algorithm", algorithm.oid))
    };
    Ok(match algorithm.oid {
        oid::ECDSA_SHA1 => (Scheme::Ecdsa, Hash::Sha1),
        oid::ECDSA_SHA224 => (Scheme::Ecdsa, Hash::Sha224),
        oid::ECDSA_SHA256 => (Scheme::Ecdsa, Hash::Sha256),
        oid::ECDSA_SHA384 => (Scheme::Ecdsa, Hash::Sha384),
        oid::ECDSA_SHA512 => (Scheme::Ecdsa, Hash::Sha512),
        oid::EC_PUBLIC_KEY => (Scheme::Ecdsa, from_digest()?),
        oid::SHA1_WITH_RSA => (Scheme::Pkcs1, Hash::Sha1),
        oid::SHA224_WITH_RSA => (Scheme::Pkcs1, Hash::Sha224),
        oid::SHA256_WITH_RSA => (Scheme::Pkcs1, Hash::Sha256),
        oid::SHA384_WITH_RSA => (Scheme::Pkcs1, Hash::Sha384),
        oid::SHA512_WITH_RSA => (Scheme::Pkcs1, Hash::Sha512),
        oid::RSA_ENCRYPTION => (Scheme::Pkcs1, from_digest()?),
        oid::RSASSA_PSS => {
            let params = algorithm
                .parameters
                .as_ref()
                .ok_or("RSASSA-PSS without parameters")?
                .decode_as::<PssParams>()
                .map_err(|e| format!("RSASSA-PSS parameters: {e}"))?;
            let hash = match params.hash_algorithm {
                None => Hash::Sha1,
                Some(h) => Hash::from_oid(&h.oid).ok_or_else(|| format!("RSASSA-PSS with unknown hash {}", h.oid))?,
            };
            (Scheme::Pss(params.salt_length.unwrap_or(20) as usize), hash)
        }
        other => return Err(format!("unsupported signature algorithm {other}")),
    })
}

/// Verifies `signature` over `message` by the key in `spki`, under `algorithm`. `digest_algorithm` gives the
/// hash when the signature algorithm does not (CMS signers may name plain `id-ecPublicKey` or
/// `rsaEncryption`). Returns the scheme in words ("ECDSA P-256 with SHA-256"); the error says why, in words.
pub fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    digest_algorithm: Option<&AlgorithmIdentifierOwned>,
    message: &[u8],
    signature: &[u8],
) -> Result<String, String> {
    let (scheme, hash) = scheme_of(algorithm, digest_algorithm)?;
    let digest = hash.digest(message);
    match scheme {
        Scheme::Ecdsa => verify_ecdsa(spki, hash, &digest, signature),
        Scheme::Pkcs1 | Scheme::Pss(_) => verify_rsa(spki, scheme, hash, &digest, signature),
    }
}

fn verify_ecdsa(
    spki: &SubjectPublicKeyInfoOwned,
    hash: Hash,
    digest: &[u8],
    signature: &[u8],
) -> Result<String, String> {
    use ecdsa::signature::hazmat::PrehashVerifier;
    if spki.algorithm.oid != oid::EC_PUBLIC_KEY {
        return Err(format!("an ECDSA signature but the key is {}", spki.algorithm.oid));
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .ok_or("EC key without a named curve (explicit domain parameters are not supported)")?;
    let key_bytes = spki.subject_public_key.raw_bytes();
    let bad_key = |e: ecdsa::Error| format!("EC public key: {e}");
    let bad_sig = |e: ecdsa::Error| format!("ECDSA signature encoding: {e}");
    let wrong = |_| format!("ECDSA with {hash} signature does not verify");
    let name = match curve {
        oid::P256 => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes).map_err(bad_key)?;
            let sig = p256::ecdsa::Signature::from_der(signature).map_err(bad_sig)?;
            key.verify_prehash(digest, &sig).map_err(wrong)?;
            "P-256"
        }
        oid::P384 => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes).map_err(bad_key)?;
            let sig = p384::ecdsa::Signature::from_der(signature).map_err(bad_sig)?;
            key.verify_prehash(digest, &sig).map_err(wrong)?;
            "P-384"
        }
        oid::BRAINPOOL_P256R1 => {
            let key = ecdsa::VerifyingKey::<bp256::BrainpoolP256r1>::from_sec1_bytes(key_bytes).map_err(bad_key)?;
            let sig = bp256::r1::ecdsa::Signature::from_der(signature).map_err(bad_sig)?;
            key.verify_prehash(digest, &sig).map_err(wrong)?;
            "brainpoolP256r1"
        }
        other => return Err(format!("unsupported curve {other}")),
    };
    Ok(format!("ECDSA {name} with {hash}"))
}

fn verify_rsa(
    spki: &SubjectPublicKeyInfoOwned,
    scheme: Scheme,
    hash: Hash,
    digest: &[u8],
    signature: &[u8],
) -> Result<String, String> {
    use rsa::pkcs1v15::Pkcs1v15Sign;
    use rsa::pss::Pss;
    if spki.algorithm.oid != oid::RSA_ENCRYPTION && spki.algorithm.oid != oid::RSASSA_PSS {
        return Err(format!("an RSA signature but the key is {}", spki.algorithm.oid));
    }
    let der = spki.to_der().map_err(|e| format!("RSA public key: {e}"))?;
    let spki_ref = spki::SubjectPublicKeyInfoRef::from_der(&der).map_err(|e| format!("RSA public key: {e}"))?;
    let key = rsa::PublicKey::try_from(spki_ref).map_err(|e| format!("RSA public key: {e}"))?;
    let result = match (scheme, hash) {
        (Scheme::Pss(salt), Hash::Sha1) => key.verify(Pss::<sha1::Sha1>::new_with_salt(salt), digest, signature),
        (Scheme::Pss(salt), Hash::Sha224) => key.verify(Pss::<sha2::Sha224>::new_with_salt(salt), digest, signature),
        (Scheme::Pss(salt), Hash::Sha256) => key.verify(Pss::<sha2::Sha256>::new_with_salt(salt), digest, signature),
        (Scheme::Pss(salt), Hash::Sha384) => key.verify(Pss::<sha2::Sha384>::new_with_salt(salt), digest, signature),
        (Scheme::Pss(salt), Hash::Sha512) => key.verify(Pss::<sha2::Sha512>::new_with_salt(salt), digest, signature),
        (_, Hash::Sha1) => key.verify(Pkcs1v15Sign::new::<sha1::Sha1>(), digest, signature),
        (_, Hash::Sha224) => key.verify(Pkcs1v15Sign::new::<sha2::Sha224>(), digest, signature),
        (_, Hash::Sha256) => key.verify(Pkcs1v15Sign::new::<sha2::Sha256>(), digest, signature),
        (_, Hash::Sha384) => key.verify(Pkcs1v15Sign::new::<sha2::Sha384>(), digest, signature),
        (_, Hash::Sha512) => key.verify(Pkcs1v15Sign::new::<sha2::Sha512>(), digest, signature),
    };
    let name = match scheme {
        Scheme::Pss(salt) => format!("RSASSA-PSS (salt {salt})"),
        _ => "RSA PKCS#1 v1.5".to_owned(),
    };
    result.map_err(|_| format!("{name} with {hash} signature does not verify"))?;
    let bits = rsa::traits::PublicKeyParts::n(&key).bit_width();
    Ok(format!("RSA-{bits} {name} with {hash}"))
}

/// Verifies a certificate's signature by `issuer`'s key.
pub fn verify_certificate_signature(cert: &Certificate, issuer: &Certificate) -> Result<(), String> {
    let tbs = cert.tbs_certificate().to_der().map_err(|e| format!("re-encoding the certificate: {e}"))?;
    let sig = cert.signature().as_bytes().ok_or("the signature BIT STRING has unused bits")?;
    verify_signature(issuer.tbs_certificate().subject_public_key_info(), cert.signature_algorithm(), None, &tbs, sig)
        .map(drop)
}

fn ski(cert: &Certificate) -> Option<Vec<u8>> {
    cert.tbs_certificate().get_extension::<SubjectKeyIdentifier>().ok().flatten().map(|(_, s)| s.0.as_bytes().to_vec())
}

fn aki(cert: &Certificate) -> Option<Vec<u8>> {
    cert.tbs_certificate()
        .get_extension::<AuthorityKeyIdentifier>()
        .ok()
        .flatten()
        .and_then(|(_, a)| a.key_identifier.map(|k| k.as_bytes().to_vec()))
}

/// Seconds since 1970 of an X.509 time or a check date.
fn secs(t: DateTime) -> Duration {
    t.unix_duration()
}

/// Is `date` inside the certificate's validity? The error says on which side it falls.
fn valid_at(cert: &Certificate, date: DateTime) -> Result<String, String> {
    let v = cert.tbs_certificate().validity();
    let (from, to) = (v.not_before.to_date_time(), v.not_after.to_date_time());
    if secs(date) < secs(from) {
        Err(format!("not yet valid on {date}: valid from {from}"))
    } else if secs(date) > secs(to) {
        Err(format!("expired on {date}: valid until {to}"))
    } else {
        Ok(format!("valid from {from} until {to}"))
    }
}

/// What the inspection system trusts: CSCA certificates (from master lists or bilateral exchange) and the CRLs
/// each CSCA issued.
#[derive(Clone, Debug, Default)]
pub struct TrustStore {
    pub cscas: Vec<Certificate>,
    pub crls: Vec<CertificateList>,
}

impl TrustStore {
    pub fn new(cscas: Vec<Certificate>, crls: Vec<CertificateList>) -> TrustStore {
        TrustStore { cscas, crls }
    }
}

/// The checks of passive authentication, each with a name a report shows.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash)]
pub enum CheckName {
    /// EF.SOD parses: SignedData, eContentType LDSSecurityObject, one signer, a DS certificate.
    SodStructure,
    /// The hash of data group n as read equals the one in the LDSSecurityObject.
    DataGroupHash(u8),
    /// The SignedData's signer (signed attributes, messageDigest, signature) verifies with the DS certificate.
    SodSignature,
    /// The DS certificate names a CSCA of the trust store as issuer and its signature verifies with that key.
    DsIssuedByCsca,
    /// The DS certificate is valid on the date of the check.
    DsValidity,
    /// The issuing CSCA certificate is valid on the date of the check.
    CscaValidity,
    /// The DS certificate's serial number is not on its CSCA's CRL.
    DsNotRevoked,
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckName::SodStructure => f.write_str("EF.SOD structure"),
            CheckName::DataGroupHash(n) => write!(f, "DG{n} hash"),
            CheckName::SodSignature => f.write_str("EF.SOD signature by the Document Signer"),
            CheckName::DsIssuedByCsca => f.write_str("Document Signer certificate issued by a trusted CSCA"),
            CheckName::DsValidity => f.write_str("Document Signer certificate validity"),
            CheckName::CscaValidity => f.write_str("CSCA certificate validity"),
            CheckName::DsNotRevoked => f.write_str("Document Signer not revoked"),
        }
    }
}

/// The result of one check, with its reason in words.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Status {
    Passed(String),
    Failed(String),
    NotChecked(String),
}

impl Status {
    pub fn passed(&self) -> bool {
        matches!(self, Status::Passed(_))
    }

    pub fn failed(&self) -> bool {
        matches!(self, Status::Failed(_))
    }
}

/// One named check and how it went.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Check {
    pub name: CheckName,
    pub status: Status,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.status {
            Status::Passed(why) => write!(f, "{}: passed ({why})", self.name),
            Status::Failed(why) => write!(f, "{}: FAILED ({why})", self.name),
            Status::NotChecked(why) => write!(f, "{}: not checked ({why})", self.name),
        }
    }
}

/// The overall outcome.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Every check passed.
    Passed,
    /// At least one check failed.
    Failed,
    /// None failed, but some could not be made (a data group listed in EF.SOD was not read, no CRL).
    Incomplete,
}

/// Every check made, in order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn outcome(&self) -> Outcome {
        if self.checks.iter().any(|c| c.status.failed()) {
            Outcome::Failed
        } else if self.checks.iter().all(|c| c.status.passed()) {
            Outcome::Passed
        } else {
            Outcome::Incomplete
        }
    }

    pub fn get(&self, name: CheckName) -> Option<&Status> {
        self.checks.iter().find(|c| c.name == name).map(|c| &c.status)
    }

    /// The names of the failed checks.
    pub fn failed(&self) -> Vec<CheckName> {
        self.checks.iter().filter(|c| c.status.failed()).map(|c| c.name).collect()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "passive authentication: {:?}", self.outcome())?;
        for c in &self.checks {
            writeln!(f, "  {c}")?;
        }
        Ok(())
    }
}

/// Finds the signer's certificate among `certs` (by issuer and serial number, or subject key identifier).
fn signer_certificate<'a>(sd: &SignedData, certs: &[&'a Certificate]) -> Result<&'a Certificate, String> {
    let signer = sd.signer_infos.0.iter().next().ok_or("no SignerInfo")?;
    certs
        .iter()
        .copied()
        .find(|c| match &signer.sid {
            SignerIdentifier::IssuerAndSerialNumber(isn) => {
                c.tbs_certificate().issuer() == &isn.issuer && c.tbs_certificate().serial_number() == &isn.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(id) => ski(c).as_deref() == Some(id.0.as_bytes()),
        })
        .ok_or_else(|| "no certificate in the SignedData matches the SignerInfo's signer identifier".to_owned())
}

/// Verifies the (first) SignerInfo of `sd` over `econtent` with `cert`: with signed attributes, contentType must
/// be the eContentType and messageDigest the hash of `econtent`, and the signature covers the DER SET OF the
/// attributes; without, it covers `econtent` itself.
/// `raw_signed_attributes` are the attributes as the file holds them (see [`crate::lds::raw_signed_attributes`]);
/// without them the parsed attributes are re-encoded (sorted, as DER wants).
pub fn verify_signer(
    sd: &SignedData,
    econtent: &[u8],
    cert: &Certificate,
    raw_signed_attributes: Option<&[u8]>,
) -> Result<String, String> {
    let signer = sd.signer_infos.0.iter().next().ok_or("no SignerInfo")?;
    let digest_hash = Hash::from_oid(&signer.digest_alg.oid)
        .ok_or_else(|| format!("unknown digest algorithm {}", signer.digest_alg.oid))?;
    let spki = cert.tbs_certificate().subject_public_key_info();
    let message = match &signer.signed_attrs {
        Some(attrs) => {
            let attr = |o: ObjectIdentifier| attrs.iter().find(|a| a.oid == o).and_then(|a| a.values.iter().next());
            let ct = attr(oid::CONTENT_TYPE)
                .ok_or("no contentType signed attribute")?
                .decode_as::<ObjectIdentifier>()
                .map_err(|e| format!("contentType attribute: {e}"))?;
            if ct != sd.encap_content_info.econtent_type {
                return Err(format!(
                    "contentType attribute {ct} differs from eContentType {}",
                    sd.encap_content_info.econtent_type
                ));
            }
            let md = attr(oid::MESSAGE_DIGEST)
                .ok_or("no messageDigest signed attribute")?
                .decode_as::<OctetString>()
                .map_err(|e| format!("messageDigest attribute: {e}"))?;
            if md.as_bytes() != digest_hash.digest(econtent) {
                return Err(format!("messageDigest attribute is not the {digest_hash} of the eContent"));
            }
            match raw_signed_attributes {
                Some(raw) => raw.to_vec(),
                None => attrs.to_der().map_err(|e| format!("re-encoding the signed attributes: {e}"))?,
            }
        }
        None => econtent.to_vec(),
    };
    let scheme = verify_signature(
        spki,
        &signer.signature_algorithm,
        Some(&signer.digest_alg),
        &message,
        signer.signature.as_bytes(),
    )?;
    Ok(format!("{scheme} signature by {} verifies", cert.tbs_certificate().subject()))
}

/// Passive authentication of the data groups read (`data_groups`: number -> the file's bytes as read) against
/// EF.SOD, with the CSCAs and CRLs of `trust`, on `date`.
pub fn passive_authentication(
    sod_file: &[u8],
    data_groups: &BTreeMap<u8, Vec<u8>>,
    trust: &TrustStore,
    date: DateTime,
) -> Report {
    let mut checks = Vec::new();
    let mut push = |name, status| checks.push(Check { name, status });
    let later = [
        CheckName::SodSignature,
        CheckName::DsIssuedByCsca,
        CheckName::DsValidity,
        CheckName::CscaValidity,
        CheckName::DsNotRevoked,
    ];
    let structure = Sod::parse(sod_file).map_err(|e| e.to_string()).and_then(|sod| {
        let certs = sod.certificates();
        if sod.signed_data.signer_infos.0.len() != 1 {
            return Err(format!("{} SignerInfos, expected exactly one", sod.signed_data.signer_infos.0.len()));
        }
        let ds = signer_certificate(&sod.signed_data, &certs)?.clone();
        Ok((sod, ds))
    });
    let (sod, ds) = match structure {
        Ok(v) => v,
        Err(why) => {
            push(CheckName::SodStructure, Status::Failed(why));
            for n in data_groups.keys() {
                push(CheckName::DataGroupHash(*n), Status::NotChecked("EF.SOD is unusable".into()));
            }
            for name in later {
                push(name, Status::NotChecked("EF.SOD is unusable".into()));
            }
            return Report { checks };
        }
    };
    let lso = &sod.security_object;
    push(
        CheckName::SodStructure,
        Status::Passed(format!(
            "LDSSecurityObject v{} with {} data group hashes, DS {}",
            lso.version,
            lso.data_group_hash_values.len(),
            ds.tbs_certificate().subject()
        )),
    );

    for (n, status) in hash_checks(lso, data_groups) {
        push(CheckName::DataGroupHash(n), status);
    }

    push(
        CheckName::SodSignature,
        match verify_signer(&sod.signed_data, &sod.econtent, &ds, sod.signed_attributes.as_deref()) {
            Ok(why) => Status::Passed(why),
            Err(why) => Status::Failed(why),
        },
    );

    let (csca, issued) = find_csca(&ds, trust);
    push(CheckName::DsIssuedByCsca, issued);
    push(
        CheckName::DsValidity,
        match valid_at(&ds, date) {
            Ok(w) => Status::Passed(w),
            Err(w) => Status::Failed(w),
        },
    );
    let Some(csca) = csca else {
        push(CheckName::CscaValidity, Status::NotChecked("no trusted CSCA issued the DS certificate".into()));
        push(CheckName::DsNotRevoked, Status::NotChecked("no trusted CSCA issued the DS certificate".into()));
        return Report { checks };
    };
    push(
        CheckName::CscaValidity,
        match valid_at(csca, date) {
            Ok(w) => Status::Passed(w),
            Err(w) => Status::Failed(w),
        },
    );
    push(CheckName::DsNotRevoked, revocation(&ds, csca, trust, date));
    Report { checks }
}

/// Each data group read, and each the SOD lists but that was not read, with its status.
fn hash_checks(lso: &crate::lds::LdsSecurityObject, data_groups: &BTreeMap<u8, Vec<u8>>) -> Vec<(u8, Status)> {
    let hash = Hash::from_oid(&lso.hash_algorithm.oid);
    let mut numbers: Vec<u8> = data_groups.keys().copied().collect();
    numbers.extend(lso.data_group_hash_values.iter().map(|h| h.data_group_number));
    numbers.sort_unstable();
    numbers.dedup();
    let mut out = Vec::new();
    for n in numbers {
        let status = match (data_groups.get(&n), lso.hash_of(n), hash) {
            (_, _, None) => Status::Failed(format!("unknown hash algorithm {}", lso.hash_algorithm.oid)),
            (None, Some(_), _) => Status::NotChecked(format!("{} was not read", FileId::Dg(n))),
            (Some(_), None, _) => Status::Failed(format!("EF.SOD holds no hash for {}", FileId::Dg(n))),
            (Some(bytes), Some(stored), Some(h)) => {
                if h.digest(bytes) == stored {
                    Status::Passed(format!("{h} matches"))
                } else {
                    Status::Failed(format!("the {h} of {} as read differs from the one in EF.SOD", FileId::Dg(n)))
                }
            }
            (None, None, _) => continue,
        };
        out.push((n, status));
    }
    out
}

/// The CSCA that issued `ds`: named as its issuer, key identifiers agreeing where both are present, signature
/// verifying. Returns it (if any) and the status of [`CheckName::DsIssuedByCsca`].
fn find_csca<'a>(ds: &Certificate, trust: &'a TrustStore) -> (Option<&'a Certificate>, Status) {
    let issuer = ds.tbs_certificate().issuer();
    let named: Vec<&Certificate> = trust.cscas.iter().filter(|c| c.tbs_certificate().subject() == issuer).collect();
    let ds_aki = aki(ds);
    let mut why_not = Vec::new();
    for c in &named {
        if let (Some(a), Some(s)) = (&ds_aki, ski(c))
            && *a != s
        {
            why_not.push("authority key identifier differs".to_owned());
            continue;
        }
        match verify_certificate_signature(ds, c) {
            Ok(()) => return (Some(*c), Status::Passed(format!("signed by CSCA {}", c.tbs_certificate().subject()))),
            Err(e) => why_not.push(e),
        }
    }
    let status = if named.is_empty() {
        Status::Failed(format!("no CSCA in the trust store is named {issuer}"))
    } else {
        Status::Failed(format!("{} CSCA(s) named {issuer}, none verifies: {}", named.len(), why_not.join("; ")))
    };
    (None, status)
}

fn revocation(ds: &Certificate, csca: &Certificate, trust: &TrustStore, date: DateTime) -> Status {
    let subject = csca.tbs_certificate().subject();
    let crls: Vec<&CertificateList> = trust.crls.iter().filter(|c| &c.tbs_cert_list.issuer == subject).collect();
    if crls.is_empty() {
        return Status::NotChecked(format!("no CRL of {subject} in the trust store"));
    }
    let mut problems = Vec::new();
    for crl in crls {
        let verified = crl.tbs_cert_list.to_der().map_err(|e| e.to_string()).and_then(|tbs| {
            let sig = crl.signature.as_bytes().ok_or("the CRL signature has unused bits")?;
            verify_signature(
                csca.tbs_certificate().subject_public_key_info(),
                &crl.signature_algorithm,
                None,
                &tbs,
                sig,
            )
        });
        if let Err(e) = verified {
            problems.push(format!("a CRL of {subject} does not verify: {e}"));
            continue;
        }
        if let Some(next) = &crl.tbs_cert_list.next_update
            && secs(next.to_date_time()) < secs(date)
        {
            problems.push(format!("the CRL of {subject} is out of date (next update {})", next.to_date_time()));
            continue;
        }
        let serial = ds.tbs_certificate().serial_number();
        if let Some(r) = crl.tbs_cert_list.revoked_certificates.iter().flatten().find(|r| &r.serial_number == serial) {
            return Status::Failed(format!(
                "serial {serial} revoked on {} by the CRL of {subject}",
                r.revocation_date.to_date_time()
            ));
        }
        return Status::Passed(format!(
            "serial {serial} not on the CRL of {subject} issued {}",
            crl.tbs_cert_list.this_update.to_date_time()
        ));
    }
    Status::NotChecked(problems.join("; "))
}

/// A master list that could not be read or verified.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum MasterListError {
    #[error("master list at {path}: DER: {error}")]
    Der { path: &'static str, error: String },
    #[error("master list: {0}")]
    Structure(String),
    #[error("master list signature: {0}")]
    Signature(String),
    #[error("master list signer not trusted: {0}")]
    Untrusted(String),
}

/// `CscaMasterList ::= SEQUENCE { version INTEGER (v0), certList SET OF Certificate }`.
#[derive(Sequence)]
struct CscaMasterListAsn {
    version: u8,
    cert_list: Any,
}

/// A verified ICAO CSCA master list: the CSCA certificates it carries and who signed it.
#[derive(Clone, Debug)]
pub struct MasterList {
    pub cscas: Vec<Certificate>,
    pub signer: Certificate,
}

impl MasterList {
    /// Reads a master list (a DER ContentInfo of SignedData, eContentType id-icao-cscaMasterList) and verifies
    /// it: the signature by the master list signer certificate it carries, that certificate issued by one of
    /// `anchors` (the CSCA of the state publishing the list, trusted out of band) and valid on `date`.
    pub fn parse_and_verify(
        bytes: &[u8],
        anchors: &[Certificate],
        date: DateTime,
    ) -> Result<MasterList, MasterListError> {
        let der = |path| move |e: der::Error| MasterListError::Der { path, error: e.to_string() };
        let ci = cms::content_info::ContentInfo::from_der(bytes).map_err(der("ContentInfo"))?;
        if ci.content_type != crate::lds::ID_SIGNED_DATA {
            return Err(MasterListError::Structure(format!("contentType {} is not id-signedData", ci.content_type)));
        }
        let sd: SignedData = ci.content.decode_as().map_err(der("ContentInfo.content (SignedData)"))?;
        if sd.encap_content_info.econtent_type != oid::CSCA_MASTER_LIST {
            return Err(MasterListError::Structure(format!(
                "eContentType {} is not id-icao-cscaMasterList {}",
                sd.encap_content_info.econtent_type,
                oid::CSCA_MASTER_LIST
            )));
        }
        let econtent = sd
            .encap_content_info
            .econtent
            .as_ref()
            .ok_or_else(|| MasterListError::Structure("no eContent".into()))?
            .decode_as::<OctetString>()
            .map_err(der("SignedData.encapContentInfo.eContent"))?;
        let list = CscaMasterListAsn::from_der(econtent.as_bytes()).map_err(der("CscaMasterList"))?;
        if list.version != 0 {
            return Err(MasterListError::Structure(format!("CscaMasterList version {} (expected 0)", list.version)));
        }
        let set_der = list.cert_list.to_der().map_err(der("CscaMasterList.certList"))?;
        let (set, _) = crate::tlv::parse(&set_der).map_err(|e| MasterListError::Structure(e.to_string()))?;
        let mut cscas = Vec::new();
        for el in set.children().map_err(|e| MasterListError::Structure(e.to_string()))? {
            cscas.push(Certificate::from_der(&el.to_bytes()).map_err(der("CscaMasterList.certList[]"))?);
        }
        let certs: Vec<&Certificate> = sd
            .certificates
            .iter()
            .flat_map(|s| s.0.iter())
            .filter_map(|c| match c {
                cms::cert::CertificateChoices::Certificate(c) => Some(c),
                cms::cert::CertificateChoices::Other(_) => None,
            })
            .collect();
        let signer = signer_certificate(&sd, &certs).map_err(MasterListError::Structure)?.clone();
        let raw = crate::lds::raw_signed_attributes(bytes);
        verify_signer(&sd, econtent.as_bytes(), &signer, raw.as_deref()).map_err(MasterListError::Signature)?;
        let anchor = anchors
            .iter()
            .find(|a| {
                a.tbs_certificate().subject() == signer.tbs_certificate().issuer()
                    && verify_certificate_signature(&signer, a).is_ok()
            })
            .ok_or_else(|| {
                MasterListError::Untrusted(format!("no anchor issued {}", signer.tbs_certificate().subject()))
            })?;
        valid_at(&signer, date).map_err(|w| MasterListError::Untrusted(format!("signer certificate {w}")))?;
        valid_at(anchor, date).map_err(|w| MasterListError::Untrusted(format!("anchor certificate {w}")))?;
        Ok(MasterList { cscas, signer })
    }
}
