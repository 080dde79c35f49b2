//! Active Authentication (ICAO 9303-11 section 6.1), both sides, pure: the terminal sends an 8-byte challenge in
//! INTERNAL AUTHENTICATE `00 88 00 00 08 RND.IFD 00`; the chip signs it with the private key whose public key is
//! in DG15, proving the chip is not a copy.
//!
//! - RSA: ISO/IEC 9796-2 digital signature scheme 1 with partial message recovery. The chip chooses M1 (random),
//!   M2 = RND.IFD, and signs `F = 6A || M1 || H(M1 || M2) || BC` (trailer BC: SHA-1; `hh CC` names another hash,
//!   33 SHA-1, 34 SHA-256, 35 SHA-512, 36 SHA-384, 38 SHA-224). The terminal recovers F with the public key.
//! - ECDSA: the plain signature `r || s` (BSI TR-03111) over H(RND.IFD), the hash named by the
//!   ActiveAuthenticationInfo of DG14. The chip signs deterministically (RFC 6979), so no randomness is needed.

use khil_apdu::{Command, Response, StatusWord};
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, PrivateKey as RsaPrivateKey, PublicKey as RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

use crate::pace::{EcdsaFailure, PaceCurve};

pub const INS_INTERNAL_AUTHENTICATE: u8 = 0x88;
/// ecdsa-plain-signatures (BSI TR-03111, 0.4.0.127.0.7.1.1.4.1) as DER content bytes; the last arc is the hash.
const ECDSA_PLAIN: [u8; 9] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01];
/// ISO 9796-2 header of a representative with partial message recovery (01, more-data bit 1, padding 1010).
const HEADER_PARTIAL_RECOVERY: u8 = 0x6A;

/// Why active authentication failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AaError {
    #[error("active authentication: the chip answered {sw}")]
    ChipRefused { sw: StatusWord },
    /// Chip side: not an INTERNAL AUTHENTICATE with an 8-byte challenge.
    #[error("active authentication: {expected}")]
    BadCommand { expected: String },
    /// The signature does not verify: the chip does not hold the private key of DG15 (a clone).
    #[error("active authentication: the signature does not verify: {why}")]
    BadSignature { why: String },
    #[error("active authentication: {what}")]
    BadKey { what: String },
}

impl AaError {
    /// What a chip answers: 6700 for a challenge of another length, 6A80 for other bad commands.
    pub fn status_word(&self) -> StatusWord {
        match self {
            AaError::ChipRefused { sw } => *sw,
            AaError::BadCommand { .. } => StatusWord::WRONG_LENGTH,
            _ => StatusWord::WRONG_DATA,
        }
    }
}

/// A hash of active authentication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AaHash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl AaHash {
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            AaHash::Sha1 => Sha1::digest(data).to_vec(),
            AaHash::Sha224 => Sha224::digest(data).to_vec(),
            AaHash::Sha256 => Sha256::digest(data).to_vec(),
            AaHash::Sha384 => Sha384::digest(data).to_vec(),
            AaHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn len(self) -> usize {
        match self {
            AaHash::Sha1 => 20,
            AaHash::Sha224 => 28,
            AaHash::Sha256 => 32,
            AaHash::Sha384 => 48,
            AaHash::Sha512 => 64,
        }
    }

    /// The ISO/IEC 10118-3 hash identifier of a 9796-2 trailer `hh CC`.
    fn iso9796_id(self) -> u8 {
        match self {
            AaHash::Sha1 => 0x33,
            AaHash::Sha256 => 0x34,
            AaHash::Sha512 => 0x35,
            AaHash::Sha384 => 0x36,
            AaHash::Sha224 => 0x38,
        }
    }

    fn from_iso9796_id(id: u8) -> Option<AaHash> {
        [AaHash::Sha1, AaHash::Sha224, AaHash::Sha256, AaHash::Sha384, AaHash::Sha512]
            .into_iter()
            .find(|h| h.iso9796_id() == id)
    }

    /// The hash of an ecdsa-plain-SHA* OID (DER content bytes), the signatureAlgorithm of ActiveAuthenticationInfo.
    pub fn from_ecdsa_plain_oid(oid: &[u8]) -> Option<AaHash> {
        let (prefix, last) = oid.split_at_checked(ECDSA_PLAIN.len())?;
        if prefix != ECDSA_PLAIN {
            return None;
        }
        match last {
            [1] => Some(AaHash::Sha1),
            [2] => Some(AaHash::Sha224),
            [3] => Some(AaHash::Sha256),
            [4] => Some(AaHash::Sha384),
            [5] => Some(AaHash::Sha512),
            _ => None,
        }
    }
}

/// INTERNAL AUTHENTICATE `00 88 00 00 08 RND.IFD 00`.
pub fn internal_authenticate(challenge: &[u8; 8]) -> Command {
    Command::new(0x00, INS_INTERNAL_AUTHENTICATE, 0x00, 0x00)
        .with_data(challenge.to_vec())
        .and_then(|c| c.with_ne(256))
        .expect("8 bytes, Ne 256")
}

/// Chip side: the challenge of an INTERNAL AUTHENTICATE.
pub fn challenge_of(command: &Command) -> Result<[u8; 8], AaError> {
    if (command.ins, command.p1, command.p2) != (INS_INTERNAL_AUTHENTICATE, 0, 0) {
        return Err(AaError::BadCommand {
            expected: format!(
                "expected INTERNAL AUTHENTICATE 88 00 00, got {:02X} {:02X} {:02X}",
                command.ins, command.p1, command.p2
            ),
        });
    }
    command.data().try_into().map_err(|_| AaError::BadCommand {
        expected: format!("expected an 8-byte challenge, got {} bytes", command.data().len()),
    })
}

fn success(response: &Response) -> Result<&[u8], AaError> {
    if response.sw == StatusWord::SUCCESS { Ok(response.data()) } else { Err(AaError::ChipRefused { sw: response.sw }) }
}

/// The length of M1 the chip needs for an RSA key and hash: the modulus bytes less header, hash and trailer.
pub fn rsa_m1_len(public_key: &RsaPublicKey, hash: AaHash) -> usize {
    let trailer = if hash == AaHash::Sha1 { 1 } else { 2 };
    public_key.size().saturating_sub(1 + hash.len() + trailer)
}

/// Chip side, RSA: signs the challenge of `command` with ISO 9796-2 scheme 1. `m1` is the chip's random part,
/// [`rsa_m1_len`] bytes; `rng` blinds the private-key operation. SHA-1 uses the implicit trailer BC.
pub fn answer_rsa<R: rsa::rand_core::TryCryptoRng + ?Sized>(
    private_key: &RsaPrivateKey,
    hash: AaHash,
    command: &Command,
    m1: &[u8],
    rng: &mut R,
) -> Result<Response, AaError> {
    let challenge = challenge_of(command)?;
    let public = private_key.to_public_key();
    let need = rsa_m1_len(&public, hash);
    if m1.len() != need || !public.n().bit_width().is_multiple_of(8) {
        return Err(AaError::BadKey {
            what: format!(
                "M1 must be {need} bytes for a {}-bit key (a whole number of bytes), got {}",
                public.n().bit_width(),
                m1.len()
            ),
        });
    }
    let digest = hash.digest(&[m1, &challenge].concat());
    let trailer: &[u8] = if hash == AaHash::Sha1 { &[0xBC] } else { &[hash.iso9796_id(), 0xCC] };
    let f = [&[HEADER_PARTIAL_RECOVERY][..], m1, &digest, trailer].concat();
    let f = BoxedUint::from_be_slice(&f, public.n().bits_precision()).expect("F is the modulus length");
    let signature = rsa::hazmat::rsa_decrypt_and_check(private_key, Some(rng), &f)
        .map_err(|e| AaError::BadKey { what: format!("the RSA private key: {e}") })?;
    Ok(Response::ok(tail(&signature.to_be_bytes(), public.size())).expect("a modulus length"))
}

/// The last `n` bytes of a big-endian number (left-padded with zeros if shorter).
fn tail(bytes: &[u8], n: usize) -> Vec<u8> {
    if bytes.len() >= n {
        bytes[bytes.len() - n..].to_vec()
    } else {
        [vec![0; n - bytes.len()], bytes.to_vec()].concat()
    }
}

/// Terminal side, RSA: recovers F with the DG15 public key and checks header, trailer and the hash over
/// M1 || challenge.
pub fn verify_rsa(public_key: &RsaPublicKey, challenge: &[u8; 8], response: &Response) -> Result<(), AaError> {
    let signature = success(response)?;
    let bad = |why: String| AaError::BadSignature { why };
    let k = public_key.size();
    if signature.len() != k {
        return Err(bad(format!("{} bytes for a {k}-byte modulus", signature.len())));
    }
    let s = BoxedUint::from_be_slice(signature, public_key.n().bits_precision())
        .map_err(|_| bad("longer than the modulus".into()))?;
    if s >= *public_key.n().as_ref() {
        return Err(bad("not below the modulus".into()));
    }
    let f = rsa::hazmat::rsa_encrypt(public_key, &s).map_err(|e| bad(e.to_string()))?;
    let f = tail(&f.to_be_bytes(), k);
    if f[0] != HEADER_PARTIAL_RECOVERY {
        return Err(bad(format!("the recovered header is {:02X} (expected 6A, partial recovery)", f[0])));
    }
    let (hash, trailer) = match f[k - 1] {
        0xBC => (AaHash::Sha1, 1),
        0xCC => (
            AaHash::from_iso9796_id(f[k - 2])
                .ok_or_else(|| bad(format!("trailer {:02X}CC names no known hash", f[k - 2])))?,
            2,
        ),
        other => return Err(bad(format!("the trailer is {other:02X} (expected BC or CC)"))),
    };
    let digest_at = k
        .checked_sub(trailer + hash.len())
        .filter(|&at| at >= 1)
        .ok_or_else(|| bad("the modulus is too short for the hash".into()))?;
    let (m1, digest) = (&f[1..digest_at], &f[digest_at..k - trailer]);
    if hash.digest(&[m1, challenge].concat()) != digest {
        return Err(bad("the recovered hash is not the hash of M1 and our challenge".into()));
    }
    Ok(())
}

/// Chip side, ECDSA: the plain signature r || s over H(challenge), deterministic (RFC 6979).
pub fn answer_ecdsa(
    curve: PaceCurve,
    hash: AaHash,
    private_key: &[u8],
    command: &Command,
) -> Result<Response, AaError> {
    let challenge = challenge_of(command)?;
    let signature = curve
        .sign_prehash(private_key, &hash.digest(&challenge))
        .map_err(|e| AaError::BadKey { what: format!("the ECDSA private key: {e}") })?;
    Ok(Response::ok(signature).expect("64 bytes"))
}

/// Terminal side, ECDSA: verifies the plain signature r || s over H(challenge) with the DG15 public point (SEC1).
pub fn verify_ecdsa(
    curve: PaceCurve,
    hash: AaHash,
    public_key: &[u8],
    challenge: &[u8; 8],
    response: &Response,
) -> Result<(), AaError> {
    let signature = success(response)?;
    curve.verify_prehash(public_key, &hash.digest(challenge), signature).map_err(|e| match e {
        EcdsaFailure::Key(e) => AaError::BadKey { what: format!("the DG15 public key: {e}") },
        EcdsaFailure::Signature(e) => AaError::BadSignature { why: format!("{} bytes: {e}", signature.len()) },
    })
}
