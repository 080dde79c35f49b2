//! A deterministic test PKI for issuing states (ICAO Doc 9303-12): per state a CSCA (self-signed), a Document
//! Signer, an expired DS, a revoked DS and the CSCA's CRL listing the revoked one; one CSCA no inspection system
//! trusts (with its DS), and a CSCA master list signed by a master-list signer under UTO's CSCA.
//!
//! Every key is ECDSA P-256 derived from (seed, state, role), and ECDSA signing is deterministic (RFC 6979), so
//! the same seed and reference date give the same certificates, CRLs and master list byte for byte. Validity
//! windows are relative to the reference date passed in; there is no clock.
//!
//! Certificates are built here from their ASN.1 (the `x509-cert` 0.3 builder wants a signer and profile for
//! every field this profile sets itself, and 9303-12 needs nothing exotic), then read back with `x509-cert`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::CmsVersion;
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Any, BitString, GeneralizedTime, ObjectIdentifier, OctetString, SetOfVec, UtcTime};
use der::oid::AssociatedOid;
use der::{DateTime, Decode, Encode, Sequence};
use ecdsa::signature::hazmat::PrehashSigner;
use khil_mrtd::pa::{TrustStore, oid};
use p256::ecdsa::{DerSignature, SigningKey};
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::CrlDistributionPoints;
use x509_cert::ext::pkix::crl::CrlNumber;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, PrivateKeyUsagePeriod,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

/// id-icao-cscaMasterListSigningKey (2.23.136.1.1.3): the extended key usage of a master-list signer.
pub const ID_ICAO_CSCA_MASTER_LIST_SIGNING_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.3");

/// id-icao-mrtd-security-extensions-documentTypeList (2.23.136.1.1.6.2): the document types a DS may sign.
pub const ID_ICAO_DOCUMENT_TYPE_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.6.2");

/// `DocumentTypeListSyntax ::= SEQUENCE { version INTEGER (v0), docTypeList SET OF PrintableString }` (9303-12).
#[derive(Sequence)]
struct DocumentTypeList {
    version: u8,
    doc_type_list: SetOfVec<der::asn1::PrintableString>,
}

impl AssociatedOid for DocumentTypeList {
    const OID: ObjectIdentifier = ID_ICAO_DOCUMENT_TYPE_LIST;
}

/// The issuing states of the test PKI are the population's (one enum for both).
pub use khil_sim_population::documents::State;

/// Problems building the PKI (none occur with sane inputs; they are errors, not panics).
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("encoding {what}: {error}")]
    Der { what: &'static str, error: der::Error },
    #[error("the reference date {0} puts a validity outside 1970..9999")]
    Date(String),
    #[error("a CV certificate: {0}")]
    Cvc(String),
}

fn der_err(what: &'static str) -> impl Fn(der::Error) -> PkiError {
    move |error| PkiError::Der { what, error }
}

/// A certificate with the private key that belongs to it.
#[derive(Clone)]
pub struct Authority {
    pub certificate: Certificate,
    key: SigningKey,
}

impl fmt::Debug for Authority {
    // The private key stays out of Debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Authority({})", self.certificate.tbs_certificate().subject())
    }
}

impl Authority {
    /// ECDSA-with-SHA-256 over `message`, DER-encoded.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        sign(&self.key, message)
    }

    pub fn certificate_der(&self) -> Vec<u8> {
        self.certificate.to_der().unwrap_or_default()
    }
}

fn sign(key: &SigningKey, message: &[u8]) -> Vec<u8> {
    let digest = Sha256::digest(message);
    // Deterministic (RFC 6979); a 32-byte prehash is always accepted for P-256.
    let sig: DerSignature = key.sign_prehash(&digest).expect("a SHA-256 prehash suits P-256");
    sig.as_bytes().to_vec()
}

/// A P-256 key derived from the seed and a label (retrying the rare out-of-range candidate).
pub fn derive_key(seed: u64, label: &str) -> SigningKey {
    (0u32..)
        .find_map(|counter| {
            let mut h = Sha256::new();
            h.update(b"khil-sim-mrtd key\0");
            h.update(seed.to_be_bytes());
            h.update(label.as_bytes());
            h.update(counter.to_be_bytes());
            SigningKey::from_slice(&h.finalize()).ok()
        })
        .expect("some counter gives a valid scalar")
}

/// SubjectPublicKeyInfo of a P-256 key (id-ecPublicKey, namedCurve prime256v1, uncompressed point).
pub fn p256_spki(key: &SigningKey) -> SubjectPublicKeyInfoOwned {
    let point = key.verifying_key().to_sec1_bytes();
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: oid::EC_PUBLIC_KEY,
            parameters: Some(Any::encode_from(&oid::P256).expect("an OID encodes")),
        },
        subject_public_key: BitString::from_bytes(&point).expect("a point fits a BIT STRING"),
    }
}

fn ecdsa_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned { oid: oid::ECDSA_SHA256, parameters: None }
}

/// Key identifier: the first 20 bytes of SHA-256 over the public key bits (RFC 7093 method 1).
fn key_id(key: &SigningKey) -> OctetString {
    let digest = Sha256::digest(key.verifying_key().to_sec1_bytes());
    OctetString::new(&digest[..20]).expect("20 bytes fit")
}

/// X.509 time: UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5).
fn x509_time(t: DateTime) -> Result<Time, PkiError> {
    if t.year() < 2050 {
        UtcTime::from_date_time(t).map(Time::UtcTime).map_err(der_err("a UTCTime"))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(t)))
    }
}

const DAY: u64 = 86_400;

/// `reference` moved by `days` (negative: earlier).
pub fn shift(reference: DateTime, days: i64) -> Result<DateTime, PkiError> {
    let base = reference.unix_duration().as_secs();
    let moved = base.checked_add_signed(days * DAY as i64).ok_or_else(|| PkiError::Date(reference.to_string()))?;
    DateTime::from_unix_duration(Duration::from_secs(moved)).map_err(|_| PkiError::Date(reference.to_string()))
}

#[derive(Sequence)]
struct Validity {
    not_before: Time,
    not_after: Time,
}

/// TBSCertificate as RFC 5280 4.1 writes it (v3, extensions always present here).
#[derive(Sequence)]
struct Tbs {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial_number: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT")]
    extensions: Vec<Extension>,
}

#[derive(Sequence)]
struct SignedCertificate {
    tbs_certificate: Any,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

fn extension<T: AssociatedOid + Encode>(value: &T, critical: bool) -> Result<Extension, PkiError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(der_err("an extension"))?)
            .map_err(der_err("an extension"))?,
    })
}

/// What a certificate is for; each role gets the extensions 9303-12 gives it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Csca,
    DocumentSigner,
    MasterListSigner,
}

struct CertSpec<'a> {
    role: Role,
    serial: [u8; 4],
    subject: Name,
    key: &'a SigningKey,
    from: DateTime,
    to: DateTime,
    /// Days from `from` during which the private key signs (9303-12 privateKeyUsagePeriod).
    key_use_days: i64,
    /// Where the issuer's CRL is published (cRLDistributionPoints).
    crl_uri: String,
}

/// Issues a certificate; `issuer` is None for a self-signed CSCA.
fn issue_certificate(spec: &CertSpec<'_>, issuer: Option<&Authority>) -> Result<Authority, PkiError> {
    let (issuer_name, issuer_key) = match issuer {
        Some(a) => (a.certificate.tbs_certificate().subject().clone(), &a.key),
        None => (spec.subject.clone(), spec.key),
    };
    let mut extensions = vec![
        extension(
            &AuthorityKeyIdentifier {
                key_identifier: Some(key_id(issuer_key)),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
            false,
        )?,
        extension(&SubjectKeyIdentifier(key_id(spec.key)), false)?,
    ];
    let not_after = GeneralizedTime::from_date_time(shift(spec.from, spec.key_use_days)?);
    extensions.push(extension(
        &PrivateKeyUsagePeriod {
            not_before: Some(GeneralizedTime::from_date_time(spec.from)),
            not_after: Some(not_after),
        },
        false,
    )?);
    let uri = der::asn1::Ia5String::new(&spec.crl_uri).map_err(der_err("a CRL URI"))?;
    extensions.push(extension(
        &CrlDistributionPoints(vec![DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![GeneralName::UniformResourceIdentifier(
                uri,
            )])),
            reasons: None,
            crl_issuer: None,
        }]),
        false,
    )?);
    match spec.role {
        Role::Csca => {
            extensions.push(extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign), true)?);
            extensions.push(extension(&BasicConstraints { ca: true, path_len_constraint: Some(0) }, true)?);
        }
        Role::DocumentSigner => {
            extensions.push(extension(&KeyUsage(KeyUsages::DigitalSignature.into()), true)?);
            let passport = der::asn1::PrintableString::new("P").map_err(der_err("a document type"))?;
            let list = DocumentTypeList {
                version: 0,
                doc_type_list: SetOfVec::try_from(vec![passport]).map_err(der_err("a document type list"))?,
            };
            extensions.push(extension(&list, false)?);
        }
        Role::MasterListSigner => {
            extensions.push(extension(&KeyUsage(KeyUsages::DigitalSignature.into()), true)?);
            extensions.push(extension(&ExtendedKeyUsage(vec![ID_ICAO_CSCA_MASTER_LIST_SIGNING_KEY]), false)?);
        }
    }
    let tbs = Tbs {
        version: 2,
        serial_number: SerialNumber::new(&spec.serial).map_err(der_err("a serial number"))?,
        signature: ecdsa_sha256(),
        issuer: issuer_name,
        validity: Validity { not_before: x509_time(spec.from)?, not_after: x509_time(spec.to)? },
        subject: spec.subject.clone(),
        subject_public_key_info: p256_spki(spec.key),
        extensions,
    };
    let tbs_der = tbs.to_der().map_err(der_err("a TBSCertificate"))?;
    let signature = sign(issuer_key, &tbs_der);
    let cert = SignedCertificate {
        tbs_certificate: Any::from_der(&tbs_der).map_err(der_err("a TBSCertificate"))?,
        signature_algorithm: ecdsa_sha256(),
        signature: BitString::from_bytes(&signature).map_err(der_err("a signature"))?,
    };
    let der = cert.to_der().map_err(der_err("a certificate"))?;
    let certificate = Certificate::from_der(&der).map_err(der_err("a certificate read back"))?;
    Ok(Authority { certificate, key: spec.key.clone() })
}

fn name(s: &str) -> Result<Name, PkiError> {
    Name::from_str(s).map_err(der_err("a name"))
}

/// One state's PKI.
#[derive(Clone, Debug)]
pub struct StatePki {
    pub state: State,
    pub csca: Authority,
    /// The current Document Signer: valid from 30 days before the reference date for ten years and 90 days (the
    /// key's 90-day use period plus the ten-year validity of the documents it signs).
    pub ds: Authority,
    /// A DS whose certificate expired about two years before the reference date.
    pub expired_ds: Authority,
    /// A DS in its validity period but revoked on the CSCA's CRL.
    pub revoked_ds: Authority,
    /// The CSCA's CRL: issued the day before the reference date, next update in 90 days, listing `revoked_ds`.
    pub crl: CertificateList,
}

/// Which Document Signer signs an EF.SOD: the good one or one of the faults.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Signer {
    Valid,
    Expired,
    Revoked,
    /// The DS of a CSCA that no trust store holds.
    UnknownCsca,
}

/// The whole test PKI.
#[derive(Clone, Debug)]
pub struct TestPki {
    pub reference: DateTime,
    pub states: Vec<StatePki>,
    /// A CSCA outside every trust store ("UTO" by name, another key) and the DS it issued.
    pub unknown_csca: Authority,
    pub unknown_ds: Authority,
    /// Signs the master list; issued by UTO's CSCA.
    pub master_list_signer: Authority,
    /// The ICAO CSCA master list (DER ContentInfo) of every state's CSCA.
    pub master_list: Vec<u8>,
    /// Extended access control: every state's CVCA and the test inspection system's certificates.
    pub eac: crate::eac::EacPki,
}

fn crl_for(
    csca: &Authority,
    revoked: &Authority,
    serial: u8,
    reference: DateTime,
) -> Result<CertificateList, PkiError> {
    let tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: ecdsa_sha256(),
        issuer: csca.certificate.tbs_certificate().subject().clone(),
        this_update: x509_time(shift(reference, -1)?)?,
        next_update: Some(x509_time(shift(reference, 90)?)?),
        revoked_certificates: Some(vec![RevokedCert {
            serial_number: revoked.certificate.tbs_certificate().serial_number().clone(),
            revocation_date: x509_time(shift(reference, -30)?)?,
            crl_entry_extensions: None,
        }]),
        crl_extensions: Some(vec![
            extension(
                &AuthorityKeyIdentifier {
                    key_identifier: Some(key_id(&csca.key)),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
                false,
            )?,
            extension(&CrlNumber(der::asn1::Uint::new(&[serial]).map_err(der_err("a CRL number"))?), false)?,
        ]),
    };
    let tbs_der = tbs.to_der().map_err(der_err("a TBSCertList"))?;
    let signature = BitString::from_bytes(&csca.sign(&tbs_der)).map_err(der_err("a CRL signature"))?;
    Ok(CertificateList { tbs_cert_list: tbs, signature_algorithm: ecdsa_sha256(), signature })
}

/// Where a CSCA's CRL would be published (a reserved `.invalid` host: nothing is fetched).
fn crl_uri(country: &str) -> String {
    format!("http://pki.khil.invalid/crl/{country}.crl")
}

/// One state's CSCA (valid from five years before `reference` for twenty years, its key in use for five), its
/// Document Signers and its CRL.
fn state_pki(seed: u64, idx: u8, state: State, reference: DateTime) -> Result<StatePki, PkiError> {
    let day = |d| shift(reference, d);
    let c = state.country();
    let key = |role: &str| derive_key(seed, &format!("{} {role}", state.code()));
    let csca_key = key("CSCA");
    let csca = issue_certificate(
        &CertSpec {
            role: Role::Csca,
            serial: [0x01, idx, 0x00, 0x01],
            subject: name(&format!("CN=CSCA {c} (khil test),O=khil test PKI,C={c}"))?,
            key: &csca_key,
            from: day(-5 * 365)?,
            to: day(15 * 365)?,
            key_use_days: 5 * 365,
            crl_uri: crl_uri(c),
        },
        None,
    )?;
    // A DS key signs for 90 days; its certificate lives as long as the documents it signed (ten years) more.
    let ds_cert = |n: u8, label: &str, from: i64| -> Result<Authority, PkiError> {
        let k = key(label);
        issue_certificate(
            &CertSpec {
                role: Role::DocumentSigner,
                serial: [0x02, idx, 0x00, n],
                subject: name(&format!("CN=Document Signer {c} {n} (khil test),O=khil test PKI,C={c}"))?,
                key: &k,
                from: day(from)?,
                to: day(from + 90 + 10 * 365)?,
                key_use_days: 90,
                crl_uri: crl_uri(c),
            },
            Some(&csca),
        )
    };
    let ds = ds_cert(1, "DS", -30)?;
    let expired_ds = ds_cert(2, "DS expired", -12 * 365)?;
    let revoked_ds = ds_cert(3, "DS revoked", -30)?;
    let crl = crl_for(&csca, &revoked_ds, 1, reference)?;
    Ok(StatePki { state, csca, ds, expired_ds, revoked_ds, crl })
}

impl TestPki {
    /// Builds the PKI for `seed`, with validity windows around `reference`.
    pub fn new(seed: u64, reference: DateTime) -> Result<TestPki, PkiError> {
        let day = |d| shift(reference, d);
        let states = State::ALL
            .into_iter()
            .enumerate()
            .map(|(i, state)| state_pki(seed, i as u8 + 1, state, reference))
            .collect::<Result<Vec<_>, _>>()?;
        let rogue_key = derive_key(seed, "rogue CSCA");
        let unknown_csca = issue_certificate(
            &CertSpec {
                role: Role::Csca,
                serial: [0x0F, 0x00, 0x00, 0x01],
                subject: name("CN=CSCA XX (khil rogue),O=khil rogue PKI,C=UT")?,
                key: &rogue_key,
                from: day(-5 * 365)?,
                to: day(15 * 365)?,
                key_use_days: 5 * 365,
                crl_uri: crl_uri("XX"),
            },
            None,
        )?;
        let rogue_ds_key = derive_key(seed, "rogue DS");
        let unknown_ds = issue_certificate(
            &CertSpec {
                role: Role::DocumentSigner,
                serial: [0x0F, 0x00, 0x00, 0x02],
                subject: name("CN=Document Signer XX (khil rogue),O=khil rogue PKI,C=UT")?,
                key: &rogue_ds_key,
                from: day(-30)?,
                to: day(10 * 365 + 60)?,
                key_use_days: 90,
                crl_uri: crl_uri("XX"),
            },
            Some(&unknown_csca),
        )?;
        let mls_key = derive_key(seed, "UTO master list signer");
        let uto = states.iter().find(|s| s.state == State::Utopia).expect("UTO is one of the states");
        let master_list_signer = issue_certificate(
            &CertSpec {
                role: Role::MasterListSigner,
                serial: [0x03, 0x07, 0x00, 0x01],
                subject: name("CN=Master List Signer UT (khil test),O=khil test PKI,C=UT")?,
                key: &mls_key,
                from: day(-365)?,
                to: day(2 * 365)?,
                key_use_days: 365,
                crl_uri: crl_uri("UT"),
            },
            Some(&uto.csca),
        )?;
        let master_list = master_list(&states, &master_list_signer)?;
        let eac = crate::eac::EacPki::new(seed, reference)?;
        Ok(TestPki { reference, states, unknown_csca, unknown_ds, master_list_signer, master_list, eac })
    }

    pub fn state(&self, state: State) -> &StatePki {
        self.states.iter().find(|s| s.state == state).expect("every State has a PKI")
    }

    /// The Document Signer of `state` for `signer`.
    pub fn signer(&self, state: State, signer: Signer) -> &Authority {
        let s = self.state(state);
        match signer {
            Signer::Valid => &s.ds,
            Signer::Expired => &s.expired_ds,
            Signer::Revoked => &s.revoked_ds,
            Signer::UnknownCsca => &self.unknown_ds,
        }
    }

    /// What an inspection system trusting this PKI holds: every state's CSCA and CRL.
    pub fn trust_store(&self) -> TrustStore {
        TrustStore::new(
            self.states.iter().map(|s| s.csca.certificate.clone()).collect(),
            self.states.iter().map(|s| s.crl.clone()).collect(),
        )
    }
}

#[derive(Sequence)]
struct CscaMasterList {
    version: u8,
    cert_list: SetOfVec<Any>,
}

fn master_list(states: &[StatePki], signer: &Authority) -> Result<Vec<u8>, PkiError> {
    let mut certs = Vec::new();
    for s in states {
        certs.push(Any::from_der(&s.csca.certificate_der()).map_err(der_err("a CSCA certificate"))?);
    }
    let list =
        CscaMasterList { version: 0, cert_list: SetOfVec::try_from(certs).map_err(der_err("the certificate SET"))? };
    let econtent = list.to_der().map_err(der_err("the CscaMasterList"))?;
    let sd = signed_data(oid::CSCA_MASTER_LIST, &econtent, signer)?;
    let ci = cms::content_info::ContentInfo {
        content_type: khil_mrtd::lds::ID_SIGNED_DATA,
        content: Any::encode_from(&sd).map_err(der_err("the SignedData"))?,
    };
    ci.to_der().map_err(der_err("the master list"))
}

/// CMS SignedData v3 (RFC 5652, as 9303-10 4.6.2 profiles it) over `econtent` of type `econtent_type`, signed
/// by `signer` with SHA-256 / ECDSA, signed attributes contentType and messageDigest, the signer's certificate
/// included and named by issuer and serial number.
pub fn signed_data(
    econtent_type: ObjectIdentifier,
    econtent: &[u8],
    signer: &Authority,
) -> Result<SignedData, PkiError> {
    let sha256 = AlgorithmIdentifierOwned { oid: oid::SHA256, parameters: None };
    let attribute = |oid: ObjectIdentifier, value: Any| -> Result<Attribute, PkiError> {
        Ok(Attribute { oid, values: SetOfVec::try_from(vec![value]).map_err(der_err("an attribute"))? })
    };
    let md = OctetString::new(Sha256::digest(econtent).to_vec()).map_err(der_err("the message digest"))?;
    let signed_attrs: SetOfVec<Attribute> = SetOfVec::try_from(vec![
        attribute(oid::CONTENT_TYPE, Any::encode_from(&econtent_type).map_err(der_err("contentType"))?)?,
        attribute(oid::MESSAGE_DIGEST, Any::encode_from(&md).map_err(der_err("messageDigest"))?)?,
    ])
    .map_err(der_err("the signed attributes"))?;
    let to_sign = signed_attrs.to_der().map_err(der_err("the signed attributes"))?;
    let tbs = signer.certificate.tbs_certificate();
    let info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: sha256.clone(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: ecdsa_sha256(),
        signature: OctetString::new(signer.sign(&to_sign)).map_err(der_err("the signature"))?,
        unsigned_attrs: None,
    };
    Ok(SignedData {
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::try_from(vec![sha256]).map_err(der_err("digestAlgorithms"))?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type,
            econtent: Some(
                Any::encode_from(&OctetString::new(econtent.to_vec()).map_err(der_err("the eContent"))?)
                    .map_err(der_err("the eContent"))?,
            ),
        },
        certificates: Some(CertificateSet(
            SetOfVec::try_from(vec![CertificateChoices::Certificate(signer.certificate.clone())])
                .map_err(der_err("the certificates"))?,
        )),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![info]).map_err(der_err("the signer infos"))?),
    })
}
