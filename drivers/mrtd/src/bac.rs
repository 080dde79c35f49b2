//! Basic Access Control (ICAO 9303-11 section 4.3, worked example in Appendix D), both sides.
//!
//! ```text
//! IFD                                                  IC
//!   GET CHALLENGE 00 84 00 00 08              ->
//!                                             <-  RND.IC 9000
//!   S = RND.IFD || RND.IC || K.IFD
//!   EXTERNAL AUTHENTICATE 00 82 00 00 28 EIFD || MIFD 28  ->   EIFD = E(KEnc, S), MIFD = MAC(KMac, EIFD)
//!                                             <-  EIC || MIC 9000   R = RND.IC || RND.IFD || K.IC
//!   KSseed = K.IFD xor K.IC, KSEnc = KDF(KSseed, 1), KSMac = KDF(KSseed, 2), SSC = RND.IC[4..8] || RND.IFD[4..8]
//! ```
//!
//! Randomness (RND.IFD, K.IFD, RND.IC, K.IC) is the caller's: the worked example is reproducible, and a chip
//! simulator draws from its seeded generator.

use std::fmt;

use khil_apdu::{Command, Response, StatusWord};

use crate::crypto::{Cipher, KdfCounter, Key, kseed};
use crate::sm::{SecureMessaging, SessionKeys};

/// INS of GET CHALLENGE and EXTERNAL AUTHENTICATE.
pub const INS_GET_CHALLENGE: u8 = 0x84;
pub const INS_EXTERNAL_AUTHENTICATE: u8 = 0x82;
/// "Authentication failed" without a retry counter, what a chip answers to a wrong BAC cryptogram.
pub const AUTHENTICATION_FAILED: StatusWord = StatusWord(0x6300);
/// EIFD || MIFD and EIC || MIC: 32 bytes of cryptogram, 8 of MAC.
const CRYPTOGRAM_LEN: usize = 40;

/// The document basic access keys KEnc and KMac, derived from the MRZ information. `Debug` shows no key.
#[derive(Clone)]
pub struct BacKeys {
    enc: Key,
    mac: Key,
}

impl fmt::Debug for BacKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BacKeys(3DES)")
    }
}

impl BacKeys {
    /// From the MRZ information: document number, date of birth, date of expiry, each followed by its check
    /// digit (`L898902C<369080619406236`).
    pub fn from_mrz_information(mrz_information: &str) -> BacKeys {
        BacKeys::from_kseed(&kseed(mrz_information.as_bytes()))
    }

    /// From Kseed, the first 16 bytes of SHA-1 of the MRZ information.
    pub fn from_kseed(kseed: &[u8; 16]) -> BacKeys {
        BacKeys {
            enc: Key::derive(Cipher::Tdes, kseed, KdfCounter::Enc),
            mac: Key::derive(Cipher::Tdes, kseed, KdfCounter::Mac),
        }
    }

    pub fn enc(&self) -> &Key {
        &self.enc
    }

    pub fn mac(&self) -> &Key {
        &self.mac
    }

    /// E(KEnc, plain) || MAC(KMac, E(KEnc, plain)), the 40-byte data of both directions.
    fn seal(&self, plain: &[u8]) -> Vec<u8> {
        let cryptogram = self.enc.encrypt_cbc(&[0; 8], plain).expect("32 bytes are whole blocks");
        let mac = self.mac.mac(&cryptogram);
        [cryptogram, mac.to_vec()].concat()
    }

    /// Checks the MAC and decrypts the 40-byte data of either direction.
    fn open(&self, who: &'static str, data: &[u8]) -> Result<[u8; 32], BacError> {
        if data.len() != CRYPTOGRAM_LEN {
            return Err(BacError::WrongLength { what: who, expected: CRYPTOGRAM_LEN, got: data.len() });
        }
        let (cryptogram, mac) = data.split_at(32);
        if self.mac.mac(cryptogram) != mac {
            return Err(BacError::WrongMac { who });
        }
        let plain = self.enc.decrypt_cbc(&[0; 8], cryptogram).expect("32 bytes are whole blocks");
        Ok(plain.try_into().expect("32 bytes"))
    }
}

/// Why BAC failed, on either side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BacError {
    /// The chip refused the terminal's cryptogram (6300: wrong MRZ) or the command.
    #[error("BAC: the chip answered {sw}")]
    ChipRefused { sw: StatusWord },
    #[error("BAC: {what} of {got} bytes (expected {expected})")]
    WrongLength { what: &'static str, expected: usize, got: usize },
    /// The MAC over the cryptogram does not match: the other side used other keys (another MRZ).
    #[error("BAC: the MAC of {who} does not match (another MRZ?)")]
    WrongMac { who: &'static str },
    /// The decrypted cryptogram does not hold the challenge this side sent.
    #[error("BAC: {who} does not hold our challenge")]
    WrongChallenge { who: &'static str },
    /// Chip side: not an EXTERNAL AUTHENTICATE 00 82 00 00.
    #[error("BAC: expected EXTERNAL AUTHENTICATE 00 82 00 00, got {cla:02X} {ins:02X} {p1:02X} {p2:02X}")]
    WrongCommand { cla: u8, ins: u8, p1: u8, p2: u8 },
}

impl BacError {
    /// What a chip answers: 6300 when authentication failed, 6700 for a wrong length, 6D00 / 6A86 / 6E00 for
    /// another command.
    pub fn status_word(&self) -> StatusWord {
        match self {
            BacError::ChipRefused { sw } => *sw,
            BacError::WrongLength { .. } => StatusWord::WRONG_LENGTH,
            BacError::WrongMac { .. } | BacError::WrongChallenge { .. } => AUTHENTICATION_FAILED,
            BacError::WrongCommand { cla, ins, .. } => {
                if *cla != 0 {
                    StatusWord::CLA_NOT_SUPPORTED
                } else if *ins == INS_EXTERNAL_AUTHENTICATE {
                    StatusWord::INCORRECT_P1_P2
                } else {
                    StatusWord::INS_NOT_SUPPORTED
                }
            }
        }
    }
}

/// GET CHALLENGE for 8 bytes: `00 84 00 00 08`.
pub fn get_challenge() -> Command {
    Command::new(0x00, INS_GET_CHALLENGE, 0x00, 0x00).with_ne(8).expect("8 is a valid Ne")
}

/// The chip's RND.IC from its answer to GET CHALLENGE.
pub fn challenge_from(response: &Response) -> Result<[u8; 8], BacError> {
    if response.sw != StatusWord::SUCCESS {
        return Err(BacError::ChipRefused { sw: response.sw });
    }
    response.data().try_into().map_err(|_| BacError::WrongLength {
        what: "the GET CHALLENGE answer",
        expected: 8,
        got: response.data().len(),
    })
}

/// The session that follows BAC: KSseed = K.IFD xor K.IC, SSC = RND.IC[4..8] || RND.IFD[4..8].
fn session(k_ifd: &[u8], k_ic: &[u8], rnd_ic: &[u8], rnd_ifd: &[u8]) -> SecureMessaging {
    let ks_seed: Vec<u8> = k_ifd.iter().zip(k_ic).map(|(a, b)| a ^ b).collect();
    let ssc = [&rnd_ic[4..8], &rnd_ifd[4..8]].concat();
    SecureMessaging::new(SessionKeys::derive(Cipher::Tdes, &ks_seed), &ssc)
}

/// The inspection system's side, once RND.IC is known. `Debug` shows no key or nonce.
#[derive(Clone)]
pub struct BacTerminal {
    keys: BacKeys,
    rnd_ic: [u8; 8],
    rnd_ifd: [u8; 8],
    k_ifd: [u8; 16],
}

impl fmt::Debug for BacTerminal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BacTerminal")
    }
}

impl BacTerminal {
    /// `rnd_ic` from [`challenge_from`]; `rnd_ifd` and `k_ifd` fresh random bytes of the caller.
    pub fn new(keys: BacKeys, rnd_ic: [u8; 8], rnd_ifd: [u8; 8], k_ifd: [u8; 16]) -> BacTerminal {
        BacTerminal { keys, rnd_ic, rnd_ifd, k_ifd }
    }

    /// EXTERNAL AUTHENTICATE `00 82 00 00 28 EIFD || MIFD 28`.
    pub fn external_authenticate(&self) -> Command {
        let s = [&self.rnd_ifd[..], &self.rnd_ic, &self.k_ifd].concat();
        Command::new(0x00, INS_EXTERNAL_AUTHENTICATE, 0x00, 0x00)
            .with_data(self.keys.seal(&s))
            .and_then(|c| c.with_ne(CRYPTOGRAM_LEN))
            .expect("40 bytes of data, Ne 40")
    }

    /// Checks the chip's EIC || MIC (MAC, then RND.IFD echoed) and opens the secure messaging session.
    pub fn finish(&self, response: &Response) -> Result<SecureMessaging, BacError> {
        if response.sw != StatusWord::SUCCESS {
            return Err(BacError::ChipRefused { sw: response.sw });
        }
        let r = self.keys.open("the chip's EIC || MIC", response.data())?;
        if r[..8] != self.rnd_ic || r[8..16] != self.rnd_ifd {
            return Err(BacError::WrongChallenge { who: "the chip's EIC" });
        }
        Ok(session(&self.k_ifd, &r[16..], &self.rnd_ic, &self.rnd_ifd))
    }
}

/// The chip's side, after it answered GET CHALLENGE with `rnd_ic`. `Debug` shows no key or nonce.
#[derive(Clone)]
pub struct BacChip {
    keys: BacKeys,
    rnd_ic: [u8; 8],
    k_ic: [u8; 16],
}

impl fmt::Debug for BacChip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BacChip")
    }
}

impl BacChip {
    /// `keys` from the document's MRZ; `rnd_ic` the challenge it gave, `k_ic` its fresh key material.
    pub fn new(keys: BacKeys, rnd_ic: [u8; 8], k_ic: [u8; 16]) -> BacChip {
        BacChip { keys, rnd_ic, k_ic }
    }

    /// The answer to GET CHALLENGE: RND.IC 9000.
    pub fn challenge_response(&self) -> Response {
        Response::ok(self.rnd_ic.to_vec()).expect("8 bytes")
    }

    /// Answers EXTERNAL AUTHENTICATE: EIC || MIC 9000 and the new session, or an error whose
    /// [`BacError::status_word`] is the answer (6300 for a wrong MAC or cryptogram).
    pub fn external_authenticate(&self, command: &Command) -> Result<(Response, SecureMessaging), BacError> {
        let (cla, ins, p1, p2) = (command.cla, command.ins, command.p1, command.p2);
        if (cla, ins, p1, p2) != (0, INS_EXTERNAL_AUTHENTICATE, 0, 0) {
            return Err(BacError::WrongCommand { cla, ins, p1, p2 });
        }
        let s = self.keys.open("the terminal's EIFD || MIFD", command.data())?;
        if s[8..16] != self.rnd_ic {
            return Err(BacError::WrongChallenge { who: "the terminal's EIFD" });
        }
        let (rnd_ifd, k_ifd) = (&s[..8], &s[16..32]);
        let r = [&self.rnd_ic[..], rnd_ifd, &self.k_ic].concat();
        let response = Response::ok(self.keys.seal(&r)).expect("40 bytes");
        Ok((response, session(k_ifd, &self.k_ic, &self.rnd_ic, rnd_ifd)))
    }
}
