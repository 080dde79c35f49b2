//! PACE version 2 with the generic mapping over ECDH (ICAO 9303-11 section 4.4, worked example in Appendix G.1;
//! BSI TR-03110-3), both sides as small state machines over APDUs, and the PACEInfo entries of EF.CardAccess.
//!
//! ```text
//! IFD                                                            IC
//!   MSE:Set AT 00 22 C1 A4 [80 OID] [83 password ref] [84 parameter id]          -> 9000
//!   GA 10 86 00 00 7C{}                            -> 7C{80 z}     z = E(Kpi, s), Kpi = KDF(f(password), 3)
//!   GA 10 86 00 00 7C{81 PKmap,IFD}                -> 7C{82 PKmap,IC}   G~ = s*G + SKmap * PKmap (both sides)
//!   GA 10 86 00 00 7C{83 PK,IFD}     (SK,IFD*G~)   -> 7C{84 PK,IC}      K = x(SK * PK other side)
//!   GA 00 86 00 00 7C{85 T,IFD}                    -> 7C{86 T,IC}       T = MAC(KSMac, 7F49{06 OID, 86 PK other})
//! ```
//!
//! Session keys KSEnc = KDF(K, 1), KSMac = KDF(K, 2); secure messaging starts with SSC zero. A wrong password
//! gives each side another generator, so the keys differ and the chip refuses the terminal's token with 6300.
//!
//! Randomness is the caller's: the nonce and the private keys are given as bytes (the Appendix G.1 values, or
//! bytes from a seeded generator). A private key is 32 big-endian bytes from 1 to the group order - 1; other
//! bytes are refused ([`PaceError::BadPrivateKey`]), so the caller draws again.

use std::fmt;

use elliptic_curve::ops::Reduce;
use elliptic_curve::sec1::{FromSec1Point, ModulusSize, ToSec1Point};
use elliptic_curve::{CurveArithmetic, FieldBytes, FieldBytesSize, Group, PrimeField};
use khil_apdu::{Command, Response, StatusWord};

use der::asn1::ObjectIdentifier;

use crate::crypto::{Cipher, KdfCounter, Key, sha1};
use crate::lds::{EfCardAccess, SecurityInfo};
use crate::sm::{SecureMessaging, SessionKeys};
use crate::tlv::{self, Tag};

/// id-PACE-ECDH-GM (0.4.0.127.0.7.2.2.4.2) as DER content bytes; the last arc names the cipher.
const ID_PACE_ECDH_GM: [u8; 9] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02];
const INS_MSE: u8 = 0x22;
const INS_GENERAL_AUTHENTICATE: u8 = 0x86;
/// The chip's answer to a token that does not match (another password).
pub const AUTHENTICATION_FAILED: StatusWord = StatusWord(0x6300);

/// A PACE protocol this crate runs: ECDH with the generic mapping, and its cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaceProtocol {
    /// id-PACE-ECDH-GM-3DES-CBC-CBC (…4.2.1).
    EcdhGm3Des,
    /// id-PACE-ECDH-GM-AES-CBC-CMAC-128 (…4.2.2).
    EcdhGmAes128,
    /// id-PACE-ECDH-GM-AES-CBC-CMAC-192 (…4.2.3).
    EcdhGmAes192,
    /// id-PACE-ECDH-GM-AES-CBC-CMAC-256 (…4.2.4).
    EcdhGmAes256,
}

impl PaceProtocol {
    pub const ALL: [PaceProtocol; 4] =
        [PaceProtocol::EcdhGm3Des, PaceProtocol::EcdhGmAes128, PaceProtocol::EcdhGmAes192, PaceProtocol::EcdhGmAes256];

    /// The protocol of an OID given as DER content bytes (`04 00 7F 00 07 02 02 04 02 02`), if this crate runs it.
    pub fn from_oid(oid: &[u8]) -> Option<PaceProtocol> {
        PaceProtocol::ALL.into_iter().find(|p| p.oid() == oid)
    }

    /// The OID as DER content bytes.
    pub fn oid(self) -> Vec<u8> {
        let last = match self {
            PaceProtocol::EcdhGm3Des => 1,
            PaceProtocol::EcdhGmAes128 => 2,
            PaceProtocol::EcdhGmAes192 => 3,
            PaceProtocol::EcdhGmAes256 => 4,
        };
        [&ID_PACE_ECDH_GM[..], &[last]].concat()
    }

    pub fn cipher(self) -> Cipher {
        match self {
            PaceProtocol::EcdhGm3Des => Cipher::Tdes,
            PaceProtocol::EcdhGmAes128 => Cipher::Aes128,
            PaceProtocol::EcdhGmAes192 => Cipher::Aes192,
            PaceProtocol::EcdhGmAes256 => Cipher::Aes256,
        }
    }
}

impl fmt::Display for PaceProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PaceProtocol::EcdhGm3Des => f.write_str("id-PACE-ECDH-GM-3DES-CBC-CBC"),
            _ => write!(f, "id-PACE-ECDH-GM-AES-CBC-CMAC-{}", self.cipher().key_len() * 8),
        }
    }
}

/// Why an ECDSA verification failed: the public key is not a point of the curve, or the signature does not verify.
#[derive(Debug)]
pub enum EcdsaFailure {
    Key(ecdsa::Error),
    Signature(ecdsa::Error),
}

/// The standardized domain parameters this crate runs (BSI TR-03110-3 table 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaceCurve {
    /// NIST P-256 (secp256r1), parameter id 12.
    P256,
    /// brainpoolP256r1, parameter id 13.
    BrainpoolP256r1,
}

impl PaceCurve {
    pub fn parameter_id(self) -> u8 {
        match self {
            PaceCurve::P256 => 12,
            PaceCurve::BrainpoolP256r1 => 13,
        }
    }

    pub fn from_parameter_id(id: u32) -> Option<PaceCurve> {
        match id {
            12 => Some(PaceCurve::P256),
            13 => Some(PaceCurve::BrainpoolP256r1),
            _ => None,
        }
    }

    /// A private key for this curve from random bytes: 32 bytes from `fill`, drawn again in the rare case they
    /// are not in 1..n-1 (brainpoolP256r1's order is below 2^256). For the terminal and the chip alike.
    pub fn random_private_key(self, mut fill: impl FnMut(&mut [u8])) -> Vec<u8> {
        loop {
            let mut k = vec![0u8; 32];
            fill(&mut k);
            if self.public_key(&k).is_ok() {
                return k;
            }
        }
    }

    /// ECDSA over a hash already computed: the plain signature `r || s` (BSI TR-03111 5.2.1), deterministic
    /// (RFC 6979), so signing needs no randomness. Active authentication and CV certificates sign this way.
    pub fn sign_prehash(self, private_key: &[u8], digest: &[u8]) -> Result<Vec<u8>, ecdsa::Error> {
        use ecdsa::signature::hazmat::PrehashSigner;
        Ok(match self {
            PaceCurve::P256 => {
                let key = ecdsa::SigningKey::<p256::NistP256>::from_slice(private_key)?;
                let s: ecdsa::Signature<p256::NistP256> = key.sign_prehash(digest)?;
                s.to_bytes().to_vec()
            }
            PaceCurve::BrainpoolP256r1 => {
                let key = ecdsa::SigningKey::<bp256::BrainpoolP256r1>::from_slice(private_key)?;
                let s: ecdsa::Signature<bp256::BrainpoolP256r1> = key.sign_prehash(digest)?;
                s.to_bytes().to_vec()
            }
        })
    }

    /// Verifies a plain ECDSA signature `r || s` over a hash with a public point (SEC1). The error says whether
    /// the key or the signature is at fault.
    pub fn verify_prehash(self, public_key: &[u8], digest: &[u8], signature: &[u8]) -> Result<(), EcdsaFailure> {
        use ecdsa::signature::hazmat::PrehashVerifier;
        match self {
            PaceCurve::P256 => {
                let key =
                    ecdsa::VerifyingKey::<p256::NistP256>::from_sec1_bytes(public_key).map_err(EcdsaFailure::Key)?;
                let s = ecdsa::Signature::<p256::NistP256>::from_slice(signature).map_err(EcdsaFailure::Signature)?;
                key.verify_prehash(digest, &s).map_err(EcdsaFailure::Signature)
            }
            PaceCurve::BrainpoolP256r1 => {
                let key = ecdsa::VerifyingKey::<bp256::BrainpoolP256r1>::from_sec1_bytes(public_key)
                    .map_err(EcdsaFailure::Key)?;
                let s = ecdsa::Signature::<bp256::BrainpoolP256r1>::from_slice(signature)
                    .map_err(EcdsaFailure::Signature)?;
                key.verify_prehash(digest, &s).map_err(EcdsaFailure::Signature)
            }
        }
    }

    /// `SK * G` for a private key given as bytes: the public key to the standard generator (chip authentication
    /// keys, test keys).
    pub fn public_key(self, private_key: &[u8]) -> Result<Vec<u8>, PaceError> {
        ec(self, |ops| ops.mul(private_key, None))
    }

    /// `SK * P` for a private key and a point (SEC1 uncompressed): an ephemeral public key on the mapped
    /// generator G~.
    pub fn multiply(self, private_key: &[u8], point: &[u8]) -> Result<Vec<u8>, PaceError> {
        ec(self, |ops| ops.mul(private_key, Some(point)))
    }

    /// The ECDH shared secret: the x coordinate of `SK * PK` (K of PACE, of chip authentication).
    pub fn shared_secret(self, private_key: &[u8], public_key: &[u8]) -> Result<Vec<u8>, PaceError> {
        Ok(x_coordinate(&self.multiply(private_key, public_key)?).to_vec())
    }

    /// The generic mapping: G~ = s*G + H, H = SKmap * PKmap of the other side (9303-11 section 4.4.3.3.1).
    pub fn map_generator(
        self,
        nonce: &[u8],
        map_private_key: &[u8],
        other_map_key: &[u8],
    ) -> Result<Vec<u8>, PaceError> {
        ec(self, |ops| ops.map(nonce, map_private_key, other_map_key))
    }
}

/// The password PACE runs on: the MRZ information (document number, birth and expiry dates with their check
/// digits) or the card access number. `Debug` shows the kind only.
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    Mrz(String),
    Can(String),
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Password::Mrz(_) => "Password::Mrz",
            Password::Can(_) => "Password::Can",
        })
    }
}

impl Password {
    /// The password reference of MSE:Set AT tag 83: 01 MRZ, 02 CAN.
    pub fn reference(&self) -> u8 {
        match self {
            Password::Mrz(_) => 1,
            Password::Can(_) => 2,
        }
    }

    /// Kpi = KDF(f(password), 3), f = SHA-1 of the MRZ information, the CAN as it is (9303-11 section 4.4.3.1).
    pub fn key(&self, cipher: Cipher) -> Key {
        match self {
            Password::Mrz(mrz) => Key::derive(cipher, &sha1(mrz.as_bytes()), KdfCounter::Pace),
            Password::Can(can) => Key::derive(cipher, can.as_bytes(), KdfCounter::Pace),
        }
    }
}

/// Why PACE failed, on either side. [`PaceError::status_word`] is what the chip answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PaceError {
    /// Terminal: the chip answered a step with an error status (6300: wrong password).
    #[error("PACE: the chip answered {step} with {sw}")]
    ChipRefused { step: &'static str, sw: StatusWord },
    /// A message's BER-TLV structure is broken (the place is in the TLV error).
    #[error("PACE: {message}: {source}")]
    Tlv { message: &'static str, source: tlv::TlvError },
    /// A message lacks a data object, or holds one of the wrong size.
    #[error("PACE: {message}: {expected}")]
    Malformed { message: &'static str, expected: String },
    /// MSE:Set AT names a protocol, parameter set or password the chip does not offer.
    #[error("PACE: MSE:Set AT asks for {what}, which this chip does not offer")]
    Unsupported { what: String },
    /// A public key that is not a point of the curve (or the point at infinity).
    #[error("PACE: {which} is not a point of {curve:?}")]
    BadPoint { which: &'static str, curve: PaceCurve },
    /// A private key or nonce out of range: draw another.
    #[error("PACE: the {which} is not a scalar from 1 to the order of {curve:?}")]
    BadPrivateKey { which: &'static str, curve: PaceCurve },
    /// The chip sent back the terminal's own public key (9303-11 4.4.3.3.2 requires them to differ).
    #[error("PACE: the chip's ephemeral public key equals the terminal's")]
    SameEphemeralKey,
    /// The other side's authentication token does not match: another password.
    #[error("PACE: the {who}'s authentication token does not match (wrong password?)")]
    WrongToken { who: &'static str },
    /// Chip: a command out of order, or a command that is not the next PACE step.
    #[error("PACE: {got} is not the next step ({expected})")]
    OutOfOrder { got: String, expected: &'static str },
    /// The nonce decrypts to a length that is not whole blocks, or the chip's nonce is unusable.
    #[error("PACE: the nonce of {len} bytes must be whole {block}-byte blocks, at most 32 bytes")]
    BadNonce { len: usize, block: usize },
}

impl PaceError {
    /// What a chip answers: 6300 for a wrong token, 6A80 for bad data, 6A88 / 6A80 for what it does not offer,
    /// 6985 out of order.
    pub fn status_word(&self) -> StatusWord {
        match self {
            PaceError::ChipRefused { sw, .. } => *sw,
            PaceError::WrongToken { .. } => AUTHENTICATION_FAILED,
            PaceError::OutOfOrder { .. } => StatusWord::CONDITIONS_NOT_SATISFIED,
            PaceError::Unsupported { .. } => StatusWord::REFERENCE_NOT_FOUND,
            _ => StatusWord::WRONG_DATA,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Elliptic curve operations. Points cross the state machines as SEC1 uncompressed bytes (04 || x || y), which is
// also their wire form in tags 81-84 and 86, so the state machines are not generic over the curve.

struct Ops<C>(std::marker::PhantomData<C>);

impl<C> Ops<C>
where
    C: CurveArithmetic,
    C::AffinePoint: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    fn scalar(bytes: &[u8]) -> Option<C::Scalar> {
        let mut repr = FieldBytes::<C>::default();
        let n = repr.len();
        if bytes.len() != n {
            return None;
        }
        repr.copy_from_slice(bytes);
        let s: Option<C::Scalar> = C::Scalar::from_repr(repr).into();
        s.filter(|s| !bool::from(elliptic_curve::Field::is_zero(s)))
    }

    /// The nonce s as an integer, reduced modulo the order (a 32-byte nonce may exceed it).
    fn nonce_scalar(bytes: &[u8]) -> Option<C::Scalar> {
        let mut repr = FieldBytes::<C>::default();
        let n = repr.len();
        if bytes.is_empty() || bytes.len() > n {
            return None;
        }
        repr[n - bytes.len()..].copy_from_slice(bytes);
        Some(<C::Scalar as Reduce<FieldBytes<C>>>::reduce(&repr))
    }

    fn point(bytes: &[u8]) -> Option<C::ProjectivePoint> {
        if bytes.first() != Some(&0x04) {
            return None;
        }
        let affine = C::AffinePoint::from_sec1_bytes(bytes).ok()?;
        let p = C::ProjectivePoint::from(affine);
        (!bool::from(p.is_identity())).then_some(p)
    }

    fn encode(p: C::ProjectivePoint) -> Vec<u8> {
        let affine: C::AffinePoint = p.into();
        affine.to_sec1_point(false).as_bytes().to_vec()
    }

    fn multiply(private_key: &[u8], base: Option<&[u8]>) -> Result<Vec<u8>, OpError> {
        let sk = Self::scalar(private_key).ok_or(OpError::PrivateKey)?;
        let base = match base {
            None => C::ProjectivePoint::generator(),
            Some(b) => Self::point(b).ok_or(OpError::Point)?,
        };
        let p = base * sk;
        if bool::from(p.is_identity()) {
            return Err(OpError::Point);
        }
        Ok(Self::encode(p))
    }

    /// G~ = s*G + SKmap * PKmap.
    fn mapped(nonce: &[u8], sk_map: &[u8], pk_map_other: &[u8]) -> Result<Vec<u8>, OpError> {
        let s = Self::nonce_scalar(nonce).ok_or(OpError::Nonce)?;
        let sk = Self::scalar(sk_map).ok_or(OpError::PrivateKey)?;
        let pk = Self::point(pk_map_other).ok_or(OpError::Point)?;
        let g = C::ProjectivePoint::generator() * s + pk * sk;
        if bool::from(g.is_identity()) {
            return Err(OpError::Point);
        }
        Ok(Self::encode(g))
    }
}

enum OpError {
    PrivateKey,
    Point,
    Nonce,
}

fn ec<T>(curve: PaceCurve, f: impl FnOnce(&dyn EcOps) -> Result<T, OpError>) -> Result<T, PaceError> {
    let result = match curve {
        PaceCurve::P256 => f(&Ops::<p256::NistP256>(std::marker::PhantomData)),
        PaceCurve::BrainpoolP256r1 => f(&Ops::<bp256::BrainpoolP256r1>(std::marker::PhantomData)),
    };
    result.map_err(|e| match e {
        OpError::PrivateKey => PaceError::BadPrivateKey { which: "private key", curve },
        OpError::Point => PaceError::BadPoint { which: "a public key", curve },
        OpError::Nonce => PaceError::BadPrivateKey { which: "nonce", curve },
    })
}

/// The curve operations the state machines need, object-safe so one code path serves every curve.
trait EcOps {
    fn mul(&self, private_key: &[u8], base: Option<&[u8]>) -> Result<Vec<u8>, OpError>;
    fn map(&self, nonce: &[u8], sk_map: &[u8], pk_map_other: &[u8]) -> Result<Vec<u8>, OpError>;
}

impl<C> EcOps for Ops<C>
where
    C: CurveArithmetic,
    C::AffinePoint: FromSec1Point<C> + ToSec1Point<C>,
    FieldBytesSize<C>: ModulusSize,
{
    fn mul(&self, private_key: &[u8], base: Option<&[u8]>) -> Result<Vec<u8>, OpError> {
        Self::multiply(private_key, base)
    }

    fn map(&self, nonce: &[u8], sk_map: &[u8], pk_map_other: &[u8]) -> Result<Vec<u8>, OpError> {
        Self::mapped(nonce, sk_map, pk_map_other)
    }
}

/// x of a SEC1 uncompressed point: the shared secret K of ECDH, and Comp() of terminal authentication. Empty for
/// an empty input (never a panic: terminal authentication takes it of keys a peer sent).
pub(crate) fn x_coordinate(point: &[u8]) -> &[u8] {
    let n = point.len().saturating_sub(1) / 2;
    point.get(1..=n).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------------------------
// Messages.

/// The parameters of one PACE run: protocol, curve and password (what MSE:Set AT carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaceParams {
    pub protocol: PaceProtocol,
    pub curve: PaceCurve,
}

/// MSE:Set AT for PACE as the chip reads it: tags 80 (protocol OID), 83 (password reference), 84 (parameter id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MseSetAt {
    pub protocol_oid: Vec<u8>,
    pub password_reference: u8,
    pub parameter_id: Option<u32>,
}

impl MseSetAt {
    /// `00 22 C1 A4 Lc 80 OID 83 01 ref [84 01 id]`.
    pub fn command(&self) -> Command {
        let mut data = tlv::encode(Tag(0x80), &self.protocol_oid);
        data.extend(tlv::encode(Tag(0x83), &[self.password_reference]));
        if let Some(id) = self.parameter_id {
            data.extend(tlv::encode(Tag(0x84), &unsigned_be(id)));
        }
        Command::new(0x00, INS_MSE, 0xC1, 0xA4).with_data(data).expect("a few bytes")
    }

    pub fn parse(command: &Command) -> Result<MseSetAt, PaceError> {
        const MESSAGE: &str = "MSE:Set AT";
        if (command.ins, command.p1, command.p2) != (INS_MSE, 0xC1, 0xA4) {
            return Err(PaceError::OutOfOrder { got: header(command), expected: "MSE:Set AT 00 22 C1 A4" });
        }
        let objects = tlv::parse_all(command.data()).map_err(|source| PaceError::Tlv { message: MESSAGE, source })?;
        let find = |tag: u32| objects.iter().find(|o| o.tag == Tag(tag));
        let malformed = |expected: &str| PaceError::Malformed { message: MESSAGE, expected: expected.into() };
        let oid = find(0x80).ok_or_else(|| malformed("no protocol OID (tag 80)"))?;
        let reference = match find(0x83).map(|o| o.value) {
            Some([r]) => *r,
            Some(_) => return Err(malformed("the password reference (tag 83) must be one byte")),
            None => return Err(malformed("no password reference (tag 83)")),
        };
        let parameter_id = match find(0x84) {
            None => None,
            Some(o) if !o.value.is_empty() && o.value.len() <= 4 => Some(be_unsigned(o.value)),
            Some(_) => return Err(malformed("the parameter id (tag 84) must be 1 to 4 bytes")),
        };
        Ok(MseSetAt { protocol_oid: oid.value.to_vec(), password_reference: reference, parameter_id })
    }
}

/// GENERAL AUTHENTICATE with dynamic authentication data `7C { tag value }` (`7C 00` when `tag` is None);
/// CLA 10 (command chaining) for every step but the last.
fn general_authenticate(last: bool, object: Option<(u32, &[u8])>) -> Command {
    let inner = object.map(|(tag, value)| tlv::encode(Tag(tag), value)).unwrap_or_default();
    Command::new(if last { 0x00 } else { 0x10 }, INS_GENERAL_AUTHENTICATE, 0x00, 0x00)
        .with_data(tlv::encode(Tag(0x7C), &inner))
        .and_then(|c| c.with_ne(256))
        .expect("a point or a token")
}

/// The value of `tag` inside `7C { ... }`; `None` wanted for the empty first command.
fn dynamic_data<'a>(message: &'static str, data: &'a [u8], tag: Option<u32>) -> Result<&'a [u8], PaceError> {
    let outer = tlv::parse_expecting(data, Tag(0x7C)).map_err(|source| PaceError::Tlv { message, source })?;
    let Some(tag) = tag else {
        return if outer.value.is_empty() {
            Ok(outer.value)
        } else {
            Err(PaceError::Malformed { message, expected: "expected an empty 7C".into() })
        };
    };
    let inner = outer.child(Tag(tag)).map_err(|source| PaceError::Tlv { message, source })?;
    Ok(inner.value)
}

/// T = MAC(KSMac, 7F49 { 06 OID, 86 public point }) (9303-11 section 4.4.3.4).
pub fn authentication_token(mac: &Key, protocol: PaceProtocol, public_point: &[u8]) -> [u8; 8] {
    let input = tlv::encode_constructed(
        Tag(0x7F49),
        &[tlv::encode(Tag(0x06), &protocol.oid()), tlv::encode(Tag(0x86), public_point)],
    );
    mac.mac(&input)
}

fn header(command: &Command) -> String {
    format!("{:02X} {:02X} {:02X} {:02X}", command.cla, command.ins, command.p1, command.p2)
}

fn unsigned_be(v: u32) -> Vec<u8> {
    let b = v.to_be_bytes();
    let first = b.iter().position(|&x| x != 0).unwrap_or(3);
    b[first..].to_vec()
}

fn be_unsigned(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0, |acc, &b| (acc << 8) | u32::from(b))
}

fn check_point_length(message: &'static str, point: &[u8]) -> Result<(), PaceError> {
    // Uncompressed P-256 and brainpoolP256r1 points: 04 || 32 || 32.
    if point.len() == 65 {
        Ok(())
    } else {
        Err(PaceError::Malformed { message, expected: format!("a 65-byte uncompressed point, got {}", point.len()) })
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The terminal.

/// The private values of one side: the mapping key and the ephemeral key (each 32 bytes, 1 to n-1). The chip
/// also draws the nonce s. `Debug` shows no bytes.
#[derive(Clone)]
pub struct PaceSecrets {
    pub map_private_key: Vec<u8>,
    pub ephemeral_private_key: Vec<u8>,
    /// The chip's nonce s (16 bytes for AES, a multiple of 8 for 3DES); unused by the terminal.
    pub nonce: Vec<u8>,
}

impl fmt::Debug for PaceSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PaceSecrets")
    }
}

/// What the terminal does next.
#[derive(Debug)]
pub enum PaceStep {
    /// Send this command and give its response to [`PaceTerminal::answer`].
    Send(Command),
    /// PACE succeeded: secure messaging with these keys, SSC zero.
    Established(SecureMessaging),
}

#[derive(Clone)]
enum TerminalState {
    SetAt,
    Nonce,
    Map { nonce: Vec<u8>, pk_map: Vec<u8> },
    Ephemeral { pk: Vec<u8> },
    Token { keys: SessionKeys, pk: Vec<u8>, pk_ic: Vec<u8> },
    Done,
}

/// The inspection system's side of PACE. `Debug` shows the parameters and the step, no keys.
#[derive(Clone)]
pub struct PaceTerminal {
    params: PaceParams,
    password: Password,
    secrets: PaceSecrets,
    state: TerminalState,
    /// The chip's ephemeral public key once PACE is established: terminal authentication identifies the chip by
    /// its x-coordinate (ID_PICC).
    chip_key: Option<Vec<u8>>,
}

impl fmt::Debug for PaceTerminal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaceTerminal({}, {:?}, {:?})", self.params.protocol, self.params.curve, self.password)
    }
}

impl PaceTerminal {
    pub fn new(params: PaceParams, password: Password, secrets: PaceSecrets) -> PaceTerminal {
        PaceTerminal { params, password, secrets, state: TerminalState::SetAt, chip_key: None }
    }

    /// The chip's ephemeral public key of an established PACE.
    pub fn chip_ephemeral_key(&self) -> Option<&[u8]> {
        self.chip_key.as_deref()
    }

    /// The first command: MSE:Set AT.
    pub fn start(&mut self) -> Command {
        self.state = TerminalState::SetAt;
        MseSetAt {
            protocol_oid: self.params.protocol.oid(),
            password_reference: self.password.reference(),
            parameter_id: Some(u32::from(self.params.curve.parameter_id())),
        }
        .command()
    }

    /// Takes the chip's response to the last command and gives the next command, or the session.
    pub fn answer(&mut self, response: &Response) -> Result<PaceStep, PaceError> {
        let result = self.step(response);
        if result.is_err() {
            self.state = TerminalState::Done;
        }
        result
    }

    fn step(&mut self, response: &Response) -> Result<PaceStep, PaceError> {
        let step = match self.state {
            TerminalState::SetAt => "MSE:Set AT",
            TerminalState::Nonce => "GENERAL AUTHENTICATE (encrypted nonce)",
            TerminalState::Map { .. } => "GENERAL AUTHENTICATE (map nonce)",
            TerminalState::Ephemeral { .. } => "GENERAL AUTHENTICATE (key agreement)",
            TerminalState::Token { .. } => "GENERAL AUTHENTICATE (mutual authentication)",
            TerminalState::Done => {
                return Err(PaceError::OutOfOrder { got: "a response".into(), expected: "PACE is over: start again" });
            }
        };
        if response.sw != StatusWord::SUCCESS {
            return Err(PaceError::ChipRefused { step, sw: response.sw });
        }
        let curve = self.params.curve;
        let cipher = self.params.protocol.cipher();
        match std::mem::replace(&mut self.state, TerminalState::Done) {
            TerminalState::SetAt => {
                self.state = TerminalState::Nonce;
                Ok(PaceStep::Send(general_authenticate(false, None)))
            }
            TerminalState::Nonce => {
                let z = dynamic_data("the encrypted nonce", response.data(), Some(0x80))?;
                let block = cipher.block_len();
                if z.is_empty() || !z.len().is_multiple_of(block) || z.len() > 32 {
                    return Err(PaceError::BadNonce { len: z.len(), block });
                }
                let nonce = self.password.key(cipher).decrypt_cbc(&vec![0; block], z).expect("whole blocks");
                let pk_map = ec(curve, |ops| ops.mul(&self.secrets.map_private_key, None))?;
                let command = general_authenticate(false, Some((0x81, &pk_map)));
                self.state = TerminalState::Map { nonce, pk_map };
                Ok(PaceStep::Send(command))
            }
            TerminalState::Map { nonce, pk_map } => {
                let pk_map_ic = dynamic_data("the chip's mapping key", response.data(), Some(0x82))?;
                check_point_length("the chip's mapping key", pk_map_ic)?;
                if pk_map_ic == pk_map {
                    return Err(PaceError::SameEphemeralKey);
                }
                let generator = ec(curve, |ops| ops.map(&nonce, &self.secrets.map_private_key, pk_map_ic))?;
                let pk = ec(curve, |ops| ops.mul(&self.secrets.ephemeral_private_key, Some(&generator)))?;
                let command = general_authenticate(false, Some((0x83, &pk)));
                self.state = TerminalState::Ephemeral { pk };
                Ok(PaceStep::Send(command))
            }
            TerminalState::Ephemeral { pk } => {
                let pk_ic = dynamic_data("the chip's ephemeral key", response.data(), Some(0x84))?;
                check_point_length("the chip's ephemeral key", pk_ic)?;
                if pk_ic == pk {
                    return Err(PaceError::SameEphemeralKey);
                }
                // On these prime-order curves every point of the curve lies in the group G~ generates: decoding
                // the chip's key (in the multiplication below) is its validation.
                let shared = ec(curve, |ops| ops.mul(&self.secrets.ephemeral_private_key, Some(pk_ic)))?;
                let keys = SessionKeys::derive(cipher, x_coordinate(&shared));
                let token = authentication_token(&keys.mac, self.params.protocol, pk_ic);
                self.state = TerminalState::Token { keys, pk, pk_ic: pk_ic.to_vec() };
                Ok(PaceStep::Send(general_authenticate(true, Some((0x85, &token)))))
            }
            TerminalState::Token { keys, pk, pk_ic } => {
                let t_ic = dynamic_data("the chip's token", response.data(), Some(0x86))?;
                if t_ic != authentication_token(&keys.mac, self.params.protocol, &pk) {
                    return Err(PaceError::WrongToken { who: "chip" });
                }
                self.chip_key = Some(pk_ic);
                Ok(PaceStep::Established(SecureMessaging::new_from_zero(keys)))
            }
            TerminalState::Done => unreachable!("handled above"),
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The chip.

/// What the chip answers to a PACE command.
#[derive(Debug)]
pub enum ChipStep {
    /// Send this response; PACE continues.
    Reply(Response),
    /// Send this response (T_IC, unprotected); from the next command on, secure messaging with this session.
    Established(Response, SecureMessaging),
}

#[derive(Clone)]
enum ChipState {
    Idle,
    Selected { params: PaceParams, kpi: Key },
    NonceSent { params: PaceParams },
    Mapped { params: PaceParams, generator: Vec<u8> },
    Agreed { params: PaceParams, keys: SessionKeys, pk_ic: Vec<u8>, pk_ifd: Vec<u8> },
}

/// The chip's side of PACE: the passwords it knows, the parameter sets it offers (its EF.CardAccess) and its
/// random values for this run. `Debug` shows no keys.
#[derive(Clone)]
pub struct PaceChip {
    passwords: Vec<Password>,
    offered: Vec<PaceParams>,
    secrets: PaceSecrets,
    state: ChipState,
    /// Its own ephemeral public key once PACE is established (ID_PICC of terminal authentication).
    own_key: Option<Vec<u8>>,
}

impl fmt::Debug for PaceChip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaceChip({} passwords, offers {:?})", self.passwords.len(), self.offered)
    }
}

impl PaceChip {
    pub fn new(passwords: Vec<Password>, offered: Vec<PaceParams>, secrets: PaceSecrets) -> PaceChip {
        PaceChip { passwords, offered, secrets, state: ChipState::Idle, own_key: None }
    }

    /// Its ephemeral public key of an established PACE.
    pub fn ephemeral_key(&self) -> Option<&[u8]> {
        self.own_key.as_deref()
    }

    /// Fresh random values for the next run (a chip draws new ones every time PACE starts).
    pub fn renew(&mut self, secrets: PaceSecrets) {
        self.secrets = secrets;
        self.state = ChipState::Idle;
    }

    /// Answers MSE:Set AT or GENERAL AUTHENTICATE. On an error the chip answers [`PaceError::status_word`] and
    /// PACE starts again from MSE:Set AT.
    pub fn answer(&mut self, command: &Command) -> Result<ChipStep, PaceError> {
        let result = self.step(command);
        if result.is_err() {
            self.state = ChipState::Idle;
        }
        result
    }

    fn step(&mut self, command: &Command) -> Result<ChipStep, PaceError> {
        if command.ins == INS_MSE {
            let set_at = MseSetAt::parse(command)?;
            let protocol = PaceProtocol::from_oid(&set_at.protocol_oid).ok_or_else(|| PaceError::Unsupported {
                what: format!("protocol OID {}", hex(&set_at.protocol_oid)),
            })?;
            let offered: Vec<PaceParams> = self.offered.iter().copied().filter(|p| p.protocol == protocol).collect();
            let params = match set_at.parameter_id {
                Some(id) => offered
                    .into_iter()
                    .find(|p| u32::from(p.curve.parameter_id()) == id)
                    .ok_or_else(|| PaceError::Unsupported { what: format!("{protocol} with parameter id {id}") })?,
                // Without tag 84 the chip's only parameter set for the protocol is meant.
                None => match offered.as_slice() {
                    [only] => *only,
                    _ => return Err(PaceError::Unsupported { what: format!("{protocol} without a parameter id") }),
                },
            };
            let password =
                self.passwords.iter().find(|p| p.reference() == set_at.password_reference).ok_or_else(|| {
                    PaceError::Unsupported { what: format!("password reference {:02X}", set_at.password_reference) }
                })?;
            self.state = ChipState::Selected { params, kpi: password.key(protocol.cipher()) };
            return Ok(ChipStep::Reply(Response::status(StatusWord::SUCCESS)));
        }
        if command.ins != INS_GENERAL_AUTHENTICATE || command.p1 != 0 || command.p2 != 0 {
            return Err(PaceError::OutOfOrder {
                got: header(command),
                expected: "MSE:Set AT or GENERAL AUTHENTICATE 86 00 00",
            });
        }
        let chained = command.cla & 0x10 != 0;
        let out_of_order = |expected| PaceError::OutOfOrder { got: header(command), expected };
        let reply = |tag: u32, value: &[u8]| {
            ChipStep::Reply(Response::ok(tlv::encode(Tag(0x7C), &tlv::encode(Tag(tag), value))).expect("short"))
        };
        match std::mem::replace(&mut self.state, ChipState::Idle) {
            ChipState::Idle => Err(out_of_order("MSE:Set AT first")),
            ChipState::Selected { params, kpi } => {
                if !chained {
                    return Err(out_of_order("a chained (CLA 10) GENERAL AUTHENTICATE"));
                }
                dynamic_data("GENERAL AUTHENTICATE (encrypted nonce)", command.data(), None)?;
                let nonce = &self.secrets.nonce;
                let block = params.protocol.cipher().block_len();
                if nonce.is_empty() || !nonce.len().is_multiple_of(block) || nonce.len() > 32 {
                    return Err(PaceError::BadNonce { len: nonce.len(), block });
                }
                let z = kpi.encrypt_cbc(&vec![0; block], nonce).expect("whole blocks");
                self.state = ChipState::NonceSent { params };
                Ok(reply(0x80, &z))
            }
            ChipState::NonceSent { params } => {
                const MESSAGE: &str = "the terminal's mapping key";
                if !chained {
                    return Err(out_of_order("a chained (CLA 10) GENERAL AUTHENTICATE"));
                }
                let pk_map_ifd = dynamic_data(MESSAGE, command.data(), Some(0x81))?;
                check_point_length(MESSAGE, pk_map_ifd)?;
                let curve = params.curve;
                let pk_map_ic = ec(curve, |ops| ops.mul(&self.secrets.map_private_key, None))?;
                if pk_map_ifd == pk_map_ic {
                    return Err(PaceError::SameEphemeralKey);
                }
                let generator =
                    ec(curve, |ops| ops.map(&self.secrets.nonce, &self.secrets.map_private_key, pk_map_ifd))?;
                self.state = ChipState::Mapped { params, generator };
                Ok(reply(0x82, &pk_map_ic))
            }
            ChipState::Mapped { params, generator } => {
                const MESSAGE: &str = "the terminal's ephemeral key";
                if !chained {
                    return Err(out_of_order("a chained (CLA 10) GENERAL AUTHENTICATE"));
                }
                let pk_ifd = dynamic_data(MESSAGE, command.data(), Some(0x83))?;
                check_point_length(MESSAGE, pk_ifd)?;
                let curve = params.curve;
                let pk_ic = ec(curve, |ops| ops.mul(&self.secrets.ephemeral_private_key, Some(&generator)))?;
                if pk_ifd == pk_ic {
                    return Err(PaceError::SameEphemeralKey);
                }
                let shared = ec(curve, |ops| ops.mul(&self.secrets.ephemeral_private_key, Some(pk_ifd)))?;
                let keys = SessionKeys::derive(params.protocol.cipher(), x_coordinate(&shared));
                self.state = ChipState::Agreed { params, keys, pk_ic: pk_ic.clone(), pk_ifd: pk_ifd.to_vec() };
                Ok(reply(0x84, &pk_ic))
            }
            ChipState::Agreed { params, keys, pk_ic, pk_ifd } => {
                if chained {
                    return Err(out_of_order("the last GENERAL AUTHENTICATE, not chained (CLA 00)"));
                }
                let t_ifd = dynamic_data("the terminal's token", command.data(), Some(0x85))?;
                if t_ifd != authentication_token(&keys.mac, params.protocol, &pk_ic) {
                    return Err(PaceError::WrongToken { who: "terminal" });
                }
                let t_ic = authentication_token(&keys.mac, params.protocol, &pk_ifd);
                self.own_key = Some(pk_ic);
                let ChipStep::Reply(response) = reply(0x86, &t_ic) else { unreachable!("reply builds a Reply") };
                Ok(ChipStep::Established(response, SecureMessaging::new_from_zero(keys)))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// EF.CardAccess: read and written by `lds` (one SecurityInfos parser for EF.CardAccess and DG14); here only what
// a PACEInfo means.

impl PaceParams {
    /// The protocol and curve of a PACEInfo, when this crate runs both (`None` for other SecurityInfos, DH, or
    /// curves it does not have).
    pub fn from_security_info(info: &SecurityInfo) -> Option<PaceParams> {
        match info {
            SecurityInfo::Pace { protocol, parameter_id, .. } => Some(PaceParams {
                protocol: PaceProtocol::from_oid(protocol.as_bytes())?,
                curve: PaceCurve::from_parameter_id((*parameter_id)?)?,
            }),
            _ => None,
        }
    }

    /// The PACEInfo (version 2) a chip offering these parameters lists in EF.CardAccess.
    pub fn security_info(self) -> SecurityInfo {
        SecurityInfo::Pace {
            protocol: ObjectIdentifier::from_bytes(&self.protocol.oid()).expect("id-PACE OIDs are valid"),
            version: 2,
            parameter_id: Some(u32::from(self.curve.parameter_id())),
        }
    }
}

/// The PACE parameters an EF.CardAccess offers that this crate can run, in file order.
pub fn offered(card_access: &EfCardAccess) -> Vec<PaceParams> {
    card_access.0.0.iter().filter_map(PaceParams::from_security_info).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |s, b| s + &format!("{b:02X}"))
}
