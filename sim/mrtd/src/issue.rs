//! Issuing one document's chip files (ICAO Doc 9303-10): EF.COM, EF.CardAccess, DG1 (the MRZ as given), DG2 (a
//! 19794-5 record around a generated placeholder portrait JPEG), DG3 (a 19794-4 record, uncompressed 8-bit
//! grey), DG14 (Chip Authentication key and info, Active Authentication info), DG15 (the AA public key) and
//! EF.SOD signed by the state's Document Signer, or by a faulty one.
//!
//! The portrait is encoded with `jpeg-encoder` (pure Rust, baseline JPEG); the image itself is a deterministic
//! placeholder (background gradient, head and shoulders, seeded grain), not a face.

use std::collections::BTreeMap;
use std::fmt;

use der::Encode;
use der::asn1::{ObjectIdentifier, OctetString};
use khil_mrtd::cvc::{CvCertificate, CvDate};
use khil_mrtd::lds::{
    BiometricGroup, BiometricHeader, BiometricInstance, DataGroupHash, Dg1, Dg14, Dg15, EfCardAccess, EfCom, FaceImage,
    FaceRecord, FileId, FingerImage, FingerRecord, ID_LDS_SECURITY_OBJECT, LdsError, LdsSecurityObject, SecurityInfo,
    SecurityInfos, Sod,
};
use khil_mrtd::pa::{Hash, oid};
use p256::ecdsa::SigningKey;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha20Rng;
use spki::AlgorithmIdentifierOwned;

use crate::pki::{PkiError, Signer, State, TestPki, derive_key, p256_spki};

/// id-PK-ECDH (0.4.0.127.0.7.2.2.1.2): ChipAuthenticationPublicKeyInfo for an EC key.
pub const ID_PK_ECDH: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.1.2");
/// id-CA-ECDH-AES-CBC-CMAC-128 (0.4.0.127.0.7.2.2.3.2.2).
pub const ID_CA_ECDH_AES_CBC_CMAC_128: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.3.2.2");
/// ecdsa-plain-SHA256 (BSI TR-03111, 0.4.0.127.0.7.1.1.4.1.3): the AA signature algorithm of an EC chip.
pub const ECDSA_PLAIN_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.1.1.4.1.3");
/// id-PACE-ECDH-GM-AES-CBC-CMAC-128 (0.4.0.127.0.7.2.2.4.2.2), the usual PACE offer.
/// id-TA (0.4.0.127.0.7.2.2.2): terminal authentication.
pub const ID_TA: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.2");
/// TerminalAuthenticationInfo ::= SEQUENCE { protocol id-TA, version 1 } (TR-03110-3 A.1.1.3), DER.
const TERMINAL_AUTHENTICATION_INFO: [u8; 15] =
    [0x30, 0x0D, 0x06, 0x08, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x02, 0x02, 0x01, 0x01];
pub const ID_PACE_ECDH_GM_AES_CBC_CMAC_128: ObjectIdentifier = ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.2");

/// A grey finger image to put in DG3 (one byte per pixel, row by row).
#[derive(Clone)]
pub struct GreyFinger {
    pub pixels: Vec<u8>,
    pub width: u16,
    pub height: u16,
    pub dpi: u16,
    /// ISO finger position: 1 right thumb .. 10 left little.
    pub position: u8,
}

impl GreyFinger {
    /// A finger of the synthetic population (`khil_sim_population::Fingers::impression`), rendered for a
    /// 500 dpi sensor.
    pub fn from_image(image: &khil_biometrics::image::GrayImage, position: u8) -> Result<GreyFinger, IssueError> {
        let dim = |v: usize| u16::try_from(v).map_err(|_| IssueError::Finger(format!("dimension {v} over 65535")));
        Ok(GreyFinger {
            pixels: image.pixels.clone(),
            width: dim(image.width)?,
            height: dim(image.height)?,
            dpi: 500,
            position,
        })
    }
}

impl fmt::Debug for GreyFinger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GreyFinger({}x{} at {} dpi, position {})", self.width, self.height, self.dpi, self.position)
    }
}

/// One PACE offer in EF.CardAccess: protocol OID and standardized domain parameter id.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PaceOffer {
    pub protocol: ObjectIdentifier,
    pub parameter_id: u32,
}

impl PaceOffer {
    /// ECDH generic mapping, AES-128, on brainpoolP256r1 (parameter id 13), as in the 9303-11 worked example.
    pub const GM_AES128_BRAINPOOL_P256R1: PaceOffer =
        PaceOffer { protocol: ID_PACE_ECDH_GM_AES_CBC_CMAC_128, parameter_id: 13 };
    /// ECDH generic mapping, AES-128, on NIST P-256 (parameter id 12).
    pub const GM_AES128_P256: PaceOffer = PaceOffer { protocol: ID_PACE_ECDH_GM_AES_CBC_CMAC_128, parameter_id: 12 };
}

/// What a document is issued from.
#[derive(Clone)]
pub struct DocumentSpec<'a> {
    pub state: State,
    /// The MRZ lines (newlines between them are dropped; DG1 holds them concatenated).
    pub mrz: &'a str,
    /// Seeds the chip keys and the portrait.
    pub seed: u64,
    pub finger: Option<GreyFinger>,
    /// The PACEInfos of EF.CardAccess; none: no PACE, no EF.CardAccess.
    pub pace: Vec<PaceOffer>,
}

impl fmt::Debug for DocumentSpec<'_> {
    // The MRZ is personal data: its length only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DocumentSpec({}, MRZ of {} chars, seed {}, finger {:?}, {} PACE offers)",
            self.state.code(),
            self.mrz.len(),
            self.seed,
            self.finger,
            self.pace.len()
        )
    }
}

/// Why a document could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Lds(#[from] LdsError),
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    #[error("the portrait JPEG: {0}")]
    Jpeg(String),
    #[error("the MRZ has {0} characters: expected 88 (TD3 / MRV-A), 72 (TD2 / MRV-B) or 90 (TD1)")]
    MrzLength(usize),
    #[error("the finger image: {0}")]
    Finger(String),
    #[error("the chip's personalisation date: {0}")]
    Date(String),
}

/// The chip's private keys: Active Authentication (DG15) and Chip Authentication (DG14), both EC P-256.
#[derive(Clone)]
pub struct ChipKeys {
    pub active_authentication: SigningKey,
    pub chip_authentication: SigningKey,
}

impl fmt::Debug for ChipKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChipKeys(P-256 AA key, P-256 CA key)")
    }
}

/// A document's files by file id, and its chip keys.
#[derive(Clone)]
pub struct DocumentFiles {
    pub files: BTreeMap<FileId, Vec<u8>>,
    pub keys: ChipKeys,
    /// Extended access control when DG3 is on the chip: the issuing state's CVCA certificate (the chip's trust
    /// point) and the chip's initial current date (its personalisation).
    pub eac: Option<(CvCertificate, CvDate)>,
}

impl fmt::Debug for DocumentFiles {
    // Files hold personal and biometric data: ids and lengths only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (id, bytes) in &self.files {
            m.entry(&id.to_string(), &bytes.len());
        }
        m.finish()
    }
}

impl DocumentFiles {
    pub fn get(&self, file: FileId) -> Option<&[u8]> {
        self.files.get(&file).map(Vec::as_slice)
    }

    /// The data groups by number (what passive authentication takes).
    pub fn data_groups(&self) -> BTreeMap<u8, Vec<u8>> {
        self.files
            .iter()
            .filter_map(|(id, b)| match id {
                FileId::Dg(n) => Some((*n, b.clone())),
                _ => None,
            })
            .collect()
    }

    /// Fault: changes one byte in the middle of data group `n` after EF.SOD was signed, so its hash no longer
    /// matches. Returns false if the document has no such data group.
    pub fn corrupt_data_group(&mut self, n: u8) -> bool {
        match self.files.get_mut(&FileId::Dg(n)) {
            Some(bytes) if !bytes.is_empty() => {
                let mid = bytes.len() / 2;
                bytes[mid] ^= 0x01;
                true
            }
            _ => false,
        }
    }

    /// Fault, the forger's move: changes data group `n` (as [`Self::corrupt_data_group`]) and writes its new
    /// SHA-256 over the old one inside EF.SOD's LDSSecurityObject, without signing again: the hash check passes,
    /// the signature check fails. Returns false if there is no such data group or its hash is not in EF.SOD.
    pub fn forge_data_group(&mut self, n: u8) -> bool {
        let Some(old) = self.get(FileId::Dg(n)).map(|b| Hash::Sha256.digest(b)) else { return false };
        if !self.corrupt_data_group(n) {
            return false;
        }
        let new = Hash::Sha256.digest(&self.files[&FileId::Dg(n)]);
        let Some(sod) = self.files.get_mut(&FileId::Sod) else { return false };
        match sod.windows(old.len()).position(|w| w == old) {
            Some(at) => {
                sod[at..at + new.len()].copy_from_slice(&new);
                true
            }
            None => false,
        }
    }

    /// Fault: changes the last byte of the SignerInfo's signature in EF.SOD (the structure still parses; the
    /// signature no longer verifies). Returns false if EF.SOD is missing or unreadable.
    pub fn corrupt_sod_signature(&mut self) -> bool {
        let Some(file) = self.files.get_mut(&FileId::Sod) else { return false };
        let Ok(sod) = Sod::parse(file) else { return false };
        let Some(info) = sod.signed_data.signer_infos.0.iter().next() else { return false };
        let sig = info.signature.as_bytes();
        match file.windows(sig.len()).rposition(|w| w == sig) {
            Some(at) => {
                file[at + sig.len() - 1] ^= 0x01;
                true
            }
            None => false,
        }
    }

    /// Signs EF.SOD again over the current data groups, by `signer` of `state`.
    pub fn resign(&mut self, pki: &TestPki, state: State, signer: Signer) -> Result<(), IssueError> {
        let sod = sign_sod(pki, state, signer, &self.data_groups())?;
        self.files.insert(FileId::Sod, sod);
        Ok(())
    }
}

/// A deterministic placeholder portrait, 300x400 RGB (9303: ICAO portrait aspect 3:4), baseline JPEG of about
/// 15-20 KB.
pub fn placeholder_portrait(seed: u64) -> Result<(Vec<u8>, u16, u16), IssueError> {
    let (rgb, w, h) = placeholder_portrait_rgb(seed);
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 68)
        .encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| IssueError::Jpeg(e.to_string()))?;
    Ok((jpeg, w, h))
}

/// The pixels [`placeholder_portrait`] encodes (RGB, row by row, width and height): the one portrait generator,
/// shared with the document-reader simulator, which prints the same picture on the data page.
pub fn placeholder_portrait_rgb(seed: u64) -> (Vec<u8>, u16, u16) {
    const W: u16 = 300;
    const H: u16 = 400;
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x706F_7274_7261_6974);
    let tone: [f32; 3] =
        [rng.random_range(150.0..230.0), rng.random_range(110.0..180.0), rng.random_range(90.0..150.0)];
    let mut rgb = Vec::with_capacity(usize::from(W) * usize::from(H) * 3);
    for y in 0..H {
        for x in 0..W {
            let (fx, fy) = (f32::from(x), f32::from(y));
            let head = ((fx - 150.0) / 85.0).powi(2) + ((fy - 170.0) / 110.0).powi(2) < 1.0;
            let shoulders = fy > 300.0 && ((fx - 150.0) / 140.0).powi(2) + ((fy - 420.0) / 120.0).powi(2) < 1.0;
            let base = if head {
                tone
            } else if shoulders {
                [50.0, 60.0, 80.0]
            } else {
                let g = 200.0 + 30.0 * fy / f32::from(H);
                [g, g, g + 10.0]
            };
            let grain: f32 = rng.random_range(-14.0..14.0);
            for c in base {
                rgb.push((c + grain).clamp(0.0, 255.0) as u8);
            }
        }
    }
    (rgb, W, H)
}

fn header(biometric_type: u8, subtype: Option<u8>, format_type: u16) -> BiometricHeader {
    BiometricHeader {
        version: Some(vec![0x01, 0x01]),
        biometric_type: Some(vec![biometric_type]),
        subtype: subtype.map(|s| vec![s]),
        other: Vec::new(),
        format_owner: 0x0101,
        format_type,
    }
}

/// CBEFF biometric subtype of an ISO finger position: right 01 / left 02, thumb 04 .. little 14.
fn finger_subtype(position: u8) -> Option<u8> {
    let (side, finger) = match position {
        1..=5 => (0x01, position - 1),
        6..=10 => (0x02, position - 6),
        _ => return None,
    };
    Some(side | ((finger + 1) << 2))
}

/// The chip keys of document `seed` of `state`.
pub fn chip_keys(seed: u64, state: State) -> ChipKeys {
    ChipKeys {
        active_authentication: derive_key(seed, &format!("{} chip AA", state.code())),
        chip_authentication: derive_key(seed, &format!("{} chip CA", state.code())),
    }
}

/// EF.SOD over `data_groups` (SHA-256 hashes, LDSSecurityObject v0), signed by `signer` of `state`.
pub fn sign_sod(
    pki: &TestPki,
    state: State,
    signer: Signer,
    data_groups: &BTreeMap<u8, Vec<u8>>,
) -> Result<Vec<u8>, IssueError> {
    let lso = LdsSecurityObject {
        version: 0,
        hash_algorithm: AlgorithmIdentifierOwned { oid: oid::SHA256, parameters: None },
        data_group_hash_values: data_groups
            .iter()
            .map(|(n, b)| {
                Ok(DataGroupHash {
                    data_group_number: *n,
                    data_group_hash_value: OctetString::new(Hash::Sha256.digest(b))?,
                })
            })
            .collect::<Result<_, der::Error>>()?,
        lds_version_info: None,
    };
    let sd = crate::pki::signed_data(ID_LDS_SECURITY_OBJECT, &lso.to_der()?, pki.signer(state, signer))?;
    Ok(Sod::encode_signed_data(&sd)?)
}

/// DG14 (chip authentication, active authentication and, for an EAC document, terminal authentication infos) and
/// the chip's EAC trust point and personalisation date.
fn dg14(
    pki: &TestPki,
    spec: &DocumentSpec<'_>,
    keys: &ChipKeys,
    with_dg3: bool,
) -> Result<(Dg14, Option<(CvCertificate, CvDate)>), IssueError> {
    let mut infos = vec![
        SecurityInfo::ChipAuthenticationPublicKey {
            protocol: ID_PK_ECDH,
            public_key: p256_spki(&keys.chip_authentication),
            key_id: None,
        },
        SecurityInfo::ChipAuthentication { protocol: ID_CA_ECDH_AES_CBC_CMAC_128, version: 1, key_id: None },
        SecurityInfo::ActiveAuthentication { version: 1, signature_algorithm: Some(ECDSA_PLAIN_SHA256) },
    ];
    // DG3 is EAC-protected: DG14 announces terminal authentication (TerminalAuthenticationInfo, id-TA, version 1;
    // TR-03110-3 A.1.1.3) and the chip trusts its state's CVCA.
    let eac = if with_dg3 {
        infos.push(SecurityInfo::Other { protocol: ID_TA, der: TERMINAL_AUTHENTICATION_INFO.to_vec() });
        let personalised =
            CvDate::of(crate::pki::shift(pki.reference, -30)?).ok_or(IssueError::Date("outside 2000..2099".into()))?;
        Some((pki.eac.cvca(spec.state).clone(), personalised))
    } else {
        None
    };
    Ok((Dg14(SecurityInfos(infos)), eac))
}

/// Issues every file of the document in `spec`, EF.SOD signed by `signer`.
pub fn issue(pki: &TestPki, spec: &DocumentSpec<'_>, signer: Signer) -> Result<DocumentFiles, IssueError> {
    let keys = chip_keys(spec.seed, spec.state);
    let mut files = BTreeMap::new();
    let mrz: Vec<u8> = spec.mrz.bytes().filter(|b| !matches!(b, b'\n' | b'\r')).collect();
    if !matches!(mrz.len(), 72 | 88 | 90) {
        return Err(IssueError::MrzLength(mrz.len()));
    }
    files.insert(FileId::Dg(1), Dg1 { mrz }.encode());

    let (jpeg, width, height) = placeholder_portrait(spec.seed)?;
    let face = FaceRecord {
        images: vec![FaceImage {
            gender: 0,
            eye_colour: 0,
            hair_colour: 0,
            feature_mask: 0,
            expression: 0,
            pose_angle: [0; 3],
            pose_angle_uncertainty: [0; 3],
            feature_points: Vec::new(),
            face_image_type: 1,
            image_data_type: 0,
            width,
            height,
            colour_space: 1,
            source_type: 2,
            device_type: 0,
            quality: 0,
            image: jpeg,
        }],
    };
    let dg2 = BiometricGroup {
        instances: vec![BiometricInstance {
            header: header(0x02, None, 0x0008),
            extended_data_tag: false,
            data: face.encode(),
        }],
    };
    files.insert(FileId::Dg(2), dg2.encode(FileId::Dg(2))?);

    if let Some(f) = &spec.finger {
        if f.pixels.len() != usize::from(f.width) * usize::from(f.height) {
            return Err(IssueError::Finger(format!("{} pixels for {}x{}", f.pixels.len(), f.width, f.height)));
        }
        let record = FingerRecord {
            capture_device: 0,
            acquisition_level: 31,
            scale_units: 1,
            scan_resolution: (f.dpi, f.dpi),
            image_resolution: (f.dpi, f.dpi),
            pixel_depth: 8,
            compression: 0,
            images: vec![FingerImage {
                position: f.position,
                view_count: 1,
                view_number: 0,
                quality: 0,
                impression_type: 0,
                width: f.width,
                height: f.height,
                image: f.pixels.clone(),
            }],
        };
        let dg3 = BiometricGroup {
            instances: vec![BiometricInstance {
                header: header(0x08, finger_subtype(f.position), 0x0007),
                extended_data_tag: false,
                data: record.encode(),
            }],
        };
        files.insert(FileId::Dg(3), dg3.encode(FileId::Dg(3))?);
    }

    let (dg14, eac) = dg14(pki, spec, &keys, files.contains_key(&FileId::Dg(3)))?;
    files.insert(FileId::Dg(14), dg14.encode()?);
    files.insert(FileId::Dg(15), Dg15 { public_key: p256_spki(&keys.active_authentication) }.encode()?);

    let card_access = EfCardAccess(SecurityInfos(
        spec.pace
            .iter()
            .map(|p| SecurityInfo::Pace { protocol: p.protocol, version: 2, parameter_id: Some(p.parameter_id) })
            .collect(),
    ));
    // A chip without PACE has no EF.CardAccess (9303-10 3.11.1: present only when PACE is supported).
    if !spec.pace.is_empty() {
        files.insert(FileId::CardAccess, card_access.encode()?);
    }

    let com = EfCom {
        lds_version: "0107".into(),
        unicode_version: "040000".into(),
        data_groups: files.keys().filter_map(|f| if let FileId::Dg(n) = f { Some(*n) } else { None }).collect(),
    };
    files.insert(FileId::Com, com.encode()?);

    let mut doc = DocumentFiles { files, keys, eac };
    doc.resign(pki, spec.state, signer)?;
    Ok(doc)
}
