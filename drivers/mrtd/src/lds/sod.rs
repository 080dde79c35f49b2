//! EF.SOD (9303-10 4.6.2): `77` > CMS ContentInfo (id-signedData) > SignedData whose encapsulated content
//! (eContentType id-icao-mrtd-security-ldsSecurityObject 2.23.136.1.1.1) is the LDSSecurityObject: the hash of
//! every data group, under one hash algorithm. The Document Signer certificate travels in
//! `SignedData.certificates`.

use std::fmt;

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::asn1::{ObjectIdentifier, OctetString, PrintableString};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;

use super::{FileId, LdsError, Place, outer, wrap};

/// id-signedData (1.2.840.113549.1.7.2).
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-icao-mrtd-security-ldsSecurityObject (2.23.136.1.1.1).
pub const ID_LDS_SECURITY_OBJECT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.1");

/// `DataGroupHash ::= SEQUENCE { dataGroupNumber INTEGER, dataGroupHashValue OCTET STRING }`.
#[derive(Clone, PartialEq, Eq, Sequence)]
pub struct DataGroupHash {
    pub data_group_number: u8,
    pub data_group_hash_value: OctetString,
}

impl fmt::Debug for DataGroupHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataGroupHash(DG{}, {} bytes)", self.data_group_number, self.data_group_hash_value.as_bytes().len())
    }
}

/// `LDSVersionInfo ::= SEQUENCE { ldsVersion PrintableString, unicodeVersion PrintableString }` (LDS 1.8).
#[derive(Clone, PartialEq, Eq, Debug, Sequence)]
pub struct LdsVersionInfo {
    pub lds_version: PrintableString,
    pub unicode_version: PrintableString,
}

/// `LDSSecurityObject ::= SEQUENCE { version INTEGER (v0 / v1), hashAlgorithm, dataGroupHashValues SEQUENCE
/// OF DataGroupHash, ldsVersionInfo OPTIONAL }` (the version info is present exactly when version is v1).
#[derive(Clone, PartialEq, Eq, Debug, Sequence)]
pub struct LdsSecurityObject {
    pub version: u8,
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub data_group_hash_values: Vec<DataGroupHash>,
    pub lds_version_info: Option<LdsVersionInfo>,
}

impl LdsSecurityObject {
    /// The stored hash of data group `n`.
    pub fn hash_of(&self, n: u8) -> Option<&[u8]> {
        self.data_group_hash_values
            .iter()
            .find(|h| h.data_group_number == n)
            .map(|h| h.data_group_hash_value.as_bytes())
    }
}

/// The signed attributes of the first SignerInfo of a DER ContentInfo (SignedData), as the bytes the signature
/// covers: the `[0] IMPLICIT` value under a SET tag (RFC 5652 5.4). Found with the BER-TLV walker so that their
/// order is the signer's. None when there are none or the structure is not SignedData.
pub fn raw_signed_attributes(content_info: &[u8]) -> Option<Vec<u8>> {
    use crate::tlv::{Tag, parse};
    let (ci, _) = parse(content_info).ok()?;
    let explicit = ci.children().ok()?.into_iter().find(|t| t.tag == Tag(0xA0))?;
    let signed_data = explicit.children().ok()?.into_iter().next()?;
    let signer_infos = signed_data.children().ok()?.into_iter().rfind(|t| t.tag == Tag(0x31))?;
    let signer_info = signer_infos.children().ok()?.into_iter().next()?;
    let attrs = signer_info.children().ok()?.into_iter().find(|t| t.tag == Tag(0xA0))?;
    Some(crate::tlv::encode(Tag(0x31), attrs.value))
}

/// EF.SOD parsed: the SignedData, the security object inside it and the exact eContent bytes (what the
/// messageDigest signed attribute covers).
#[derive(Clone, PartialEq, Eq)]
pub struct Sod {
    pub signed_data: SignedData,
    pub security_object: LdsSecurityObject,
    pub econtent: Vec<u8>,
    /// The first SignerInfo's signed attributes exactly as the file holds them, re-tagged as a SET (`31`): what
    /// the signature covers. `der` sorts a SET OF when it decodes one, so re-encoding the parsed attributes
    /// would differ from a signer that did not sort them.
    pub signed_attributes: Option<Vec<u8>>,
}

impl fmt::Debug for Sod {
    // The hashes of personal data stay out of logs: counts and lengths only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Sod(LDSSecurityObject v{} over {} data groups with {}, {} certificates, {} eContent bytes)",
            self.security_object.version,
            self.security_object.data_group_hash_values.len(),
            self.security_object.hash_algorithm.oid,
            self.certificates().len(),
            self.econtent.len()
        )
    }
}

const FILE: FileId = FileId::Sod;

impl Sod {
    pub fn parse(bytes: &[u8]) -> Result<Sod, LdsError> {
        let file = outer(FILE, bytes)?;
        let ci = ContentInfo::from_der(file.value).map_err(|e| LdsError::der(FILE, "ContentInfo", &e))?;
        if ci.content_type != ID_SIGNED_DATA {
            return Err(LdsError::value(
                FILE,
                Place::Path("ContentInfo.contentType".into()),
                "contentType",
                format!("id-signedData {ID_SIGNED_DATA}"),
                ci.content_type.to_string(),
            ));
        }
        let signed_data: SignedData =
            ci.content.decode_as().map_err(|e| LdsError::der(FILE, "ContentInfo.content (SignedData)", &e))?;
        let eci = &signed_data.encap_content_info;
        if eci.econtent_type != ID_LDS_SECURITY_OBJECT {
            return Err(LdsError::value(
                FILE,
                Place::Path("SignedData.encapContentInfo.eContentType".into()),
                "eContentType",
                format!("id-icao-mrtd-security-ldsSecurityObject {ID_LDS_SECURITY_OBJECT}"),
                eci.econtent_type.to_string(),
            ));
        }
        let econtent = eci.econtent.as_ref().ok_or_else(|| {
            LdsError::value(
                FILE,
                Place::Path("SignedData.encapContentInfo.eContent".into()),
                "eContent",
                "present",
                "absent",
            )
        })?;
        let econtent: OctetString = econtent
            .decode_as()
            .map_err(|e| LdsError::der(FILE, "SignedData.encapContentInfo.eContent (OCTET STRING)", &e))?;
        let security_object = LdsSecurityObject::from_der(econtent.as_bytes())
            .map_err(|e| LdsError::der(FILE, "SignedData.encapContentInfo.eContent.LDSSecurityObject", &e))?;
        match (security_object.version, &security_object.lds_version_info) {
            (0, None) | (1, Some(_)) => {}
            (v, info) => {
                return Err(LdsError::value(
                    FILE,
                    Place::Path("LDSSecurityObject.version".into()),
                    "version",
                    "v0 without ldsVersionInfo or v1 with it",
                    format!("v{v} {} ldsVersionInfo", if info.is_some() { "with" } else { "without" }),
                ));
            }
        }
        let signed_attributes = raw_signed_attributes(file.value);
        Ok(Sod { signed_data, security_object, econtent: econtent.into_bytes().into_vec(), signed_attributes })
    }

    /// EF.SOD for a SignedData: `77` around the ContentInfo.
    pub fn encode_signed_data(signed_data: &SignedData) -> Result<Vec<u8>, LdsError> {
        let err = |e: der::Error| LdsError::der(FILE, "ContentInfo", &e);
        let content = der::Any::from_der(&signed_data.to_der().map_err(err)?).map_err(err)?;
        let ci = ContentInfo { content_type: ID_SIGNED_DATA, content };
        Ok(wrap(FILE, &ci.to_der().map_err(err)?))
    }

    /// The certificates carried in the SignedData (the Document Signer's, normally exactly one).
    pub fn certificates(&self) -> Vec<&Certificate> {
        self.signed_data
            .certificates
            .iter()
            .flat_map(|set| set.0.iter())
            .filter_map(|c| match c {
                cms::cert::CertificateChoices::Certificate(c) => Some(c),
                cms::cert::CertificateChoices::Other(_) => None,
            })
            .collect()
    }
}
