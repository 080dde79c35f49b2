//! Secure messaging (ICAO 9303-11 section 9.8, ISO/IEC 7816-4 clause 10) for both ends of the contact:
//! the inspection system protects commands and opens responses, the chip opens commands and protects responses.
//!
//! A protected command is `CLA|0C INS P1 P2 Lc [DO87 or DO85] [DO97] DO8E Le` with `Le` 00 (or 0000 when the
//! command needs extended lengths); a protected response is `[DO87 or DO85] DO99 DO8E SW1 SW2`.
//!
//! - DO87 = `87 L 01 || E(KSEnc, pad(data))` (01: padding with method 2); for an odd INS (READ BINARY B1, whose
//!   data are BER-TLV) DO85 = `85 L E(KSEnc, pad(data))`, without the indicator byte, in both directions.
//! - DO97 = `97 L Le`: one byte (00 = 256) for a short command, two (0000 = 65536) for an extended one.
//! - DO99 = `99 02 SW1 SW2`, DO8E = `8E 08 MAC`.
//! - Command MAC over `pad(SSC || pad(CLA INS P1 P2) || DO87 || DO97)`, response MAC over
//!   `pad(SSC || DO87 || DO99)`; the send sequence counter (SSC) increments before each command and each response.
//! - 3DES: SSC of 8 bytes, IV zero, retail MAC. AES: SSC of 16 bytes, IV = AES(KSEnc, SSC), CMAC truncated to 8.
//!
//! A chip that finds a data object missing or wrong answers the plain status 6987 or 6988 and ends secure
//! messaging; [`SmError::status_word`] gives it.

use std::fmt;

use khil_apdu::apdu::{MAX_SHORT_NC, MAX_SHORT_NE};
use khil_apdu::{Command, Response, StatusWord};

use crate::crypto::{Cipher, CryptoError, Key, pad, unpad};
use crate::tlv::{self, Tag};

const DO85: Tag = Tag(0x85);
const DO87: Tag = Tag(0x87);
const DO97: Tag = Tag(0x97);
const DO99: Tag = Tag(0x99);
const DO8E: Tag = Tag(0x8E);
/// CLA bits b4 b3 set: "command header authenticated" secure messaging (ISO 7816-4 5.4.1).
const SM_CLA: u8 = 0x0C;

/// The pair of session keys: KSEnc and KSMac, of one cipher. `Debug` shows the cipher only.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    pub enc: Key,
    pub mac: Key,
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionKeys({})", self.enc.cipher())
    }
}

impl SessionKeys {
    /// KSEnc = KDF(secret, 1), KSMac = KDF(secret, 2) (9303-11 section 9.7.1).
    pub fn derive(cipher: Cipher, shared_secret: &[u8]) -> SessionKeys {
        use crate::crypto::KdfCounter;
        SessionKeys {
            enc: Key::derive(cipher, shared_secret, KdfCounter::Enc),
            mac: Key::derive(cipher, shared_secret, KdfCounter::Mac),
        }
    }

    pub fn cipher(&self) -> Cipher {
        self.enc.cipher()
    }
}

/// Why a protected APDU could not be opened (or a command not protected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmError {
    /// A mandatory data object is absent: DO8E in a command, DO99 or DO8E in a response.
    #[error("secure messaging: the {apdu} has no data object {tag}")]
    Missing { apdu: &'static str, tag: Tag },
    /// The command's CLA does not announce secure messaging (bits 0C).
    #[error("secure messaging: CLA {cla:02X} does not announce secure messaging (expected bits 0C set)")]
    NotProtected { cla: u8 },
    /// The checksum DO8E does not match.
    #[error("secure messaging: the {apdu}'s MAC (DO8E) does not match (SSC {ssc})")]
    WrongMac { apdu: &'static str, ssc: String },
    /// A data object that is there but malformed: name, offset in the APDU's data field, what was expected.
    #[error("secure messaging: the {apdu}'s {tag} at byte {offset}: {expected}")]
    Malformed { apdu: &'static str, tag: Tag, offset: usize, expected: String },
    /// The data field is not a sequence of BER-TLV data objects.
    #[error("secure messaging: the {apdu}'s data field: {source}")]
    Tlv { apdu: &'static str, source: tlv::TlvError },
    /// The card answered a protected command with a plain status word and no data objects: it ended secure
    /// messaging (6987, 6988) or refused the command before opening it. The SSC has counted the response (as
    /// JMRTD does); after 6987/6988 the session is over on the chip anyway.
    #[error("secure messaging: the card answered without secure messaging, status {sw}")]
    PlainStatus { sw: StatusWord },
    /// The protected command would not fit an APDU (more than 65535 data bytes once wrapped).
    #[error("secure messaging: the protected command would carry {len} data bytes (at most 65535)")]
    TooLong { len: usize },
}

impl SmError {
    /// The status word a chip answers (plain, and ending secure messaging): 6987 when data objects are missing,
    /// 6988 when they are incorrect (9303-11 section 9.8.7).
    pub fn status_word(&self) -> StatusWord {
        match self {
            SmError::Missing { .. } | SmError::NotProtected { .. } => StatusWord::SM_OBJECTS_MISSING,
            SmError::PlainStatus { sw } => *sw,
            _ => StatusWord::SM_OBJECTS_INCORRECT,
        }
    }
}

/// A secure messaging session: keys, the send sequence counter and (chip side) whether the last command had an
/// odd INS. `Debug` shows the cipher and the counter, never the keys.
#[derive(Clone)]
pub struct SecureMessaging {
    keys: SessionKeys,
    ssc: u128,
    odd_ins: bool,
}

impl fmt::Debug for SecureMessaging {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecureMessaging({}, SSC {})", self.keys.cipher(), hex(&self.ssc_bytes()))
    }
}

impl SecureMessaging {
    /// A session with its keys and the first SSC: for BAC `RND.IC[4..8] || RND.IFD[4..8]` (8 bytes), for PACE and
    /// chip authentication zero (use [`SecureMessaging::new_from_zero`]). An SSC longer than the cipher's block
    /// keeps its last bytes.
    pub fn new(keys: SessionKeys, ssc: &[u8]) -> SecureMessaging {
        let n = keys.cipher().block_len();
        let start = ssc.len().saturating_sub(n);
        let ssc = ssc[start..].iter().fold(0u128, |acc, &b| (acc << 8) | u128::from(b));
        SecureMessaging { keys, ssc, odd_ins: false }
    }

    /// A session whose SSC starts at zero (PACE, chip authentication).
    pub fn new_from_zero(keys: SessionKeys) -> SecureMessaging {
        SecureMessaging { keys, ssc: 0, odd_ins: false }
    }

    /// Restarts with new keys and SSC zero (chip authentication replaces the BAC or PACE session).
    pub fn rekey(&mut self, keys: SessionKeys) {
        *self = SecureMessaging::new_from_zero(keys);
    }

    pub fn cipher(&self) -> Cipher {
        self.keys.cipher()
    }

    pub fn keys(&self) -> &SessionKeys {
        &self.keys
    }

    /// The send sequence counter as sent in MAC inputs (8 bytes for 3DES, 16 for AES).
    pub fn ssc_bytes(&self) -> Vec<u8> {
        let n = self.cipher().block_len();
        self.ssc.to_be_bytes()[16 - n..].to_vec()
    }

    fn increment(&mut self) {
        let modulus_bits = 8 * self.cipher().block_len() as u32;
        self.ssc =
            if modulus_bits == 128 { self.ssc.wrapping_add(1) } else { (self.ssc + 1) % (1u128 << modulus_bits) };
    }

    fn iv(&self) -> Vec<u8> {
        match self.cipher() {
            Cipher::Tdes => vec![0; 8],
            _ => self.keys.enc.encrypt_block(&self.ssc_bytes()).expect("the SSC is one block"),
        }
    }

    fn encrypt(&self, data: &[u8]) -> Vec<u8> {
        let padded = pad(data, self.cipher().block_len());
        self.keys.enc.encrypt_cbc(&self.iv(), &padded).expect("padded to whole blocks")
    }

    fn decrypt(&self, apdu: &'static str, tag: Tag, offset: usize, cryptogram: &[u8]) -> Result<Vec<u8>, SmError> {
        let malformed = |e: CryptoError| SmError::Malformed { apdu, tag, offset, expected: e.to_string() };
        let plain = self.keys.enc.decrypt_cbc(&self.iv(), cryptogram).map_err(malformed)?;
        Ok(unpad(&plain).map_err(malformed)?.to_vec())
    }

    /// The data object carrying encrypted data: DO85 for an odd INS, DO87 (with the padding indicator) otherwise.
    fn cryptogram_object(&self, odd_ins: bool, data: &[u8]) -> Vec<u8> {
        if data.is_empty() {
            return Vec::new();
        }
        let encrypted = self.encrypt(data);
        if odd_ins { tlv::encode(DO85, &encrypted) } else { tlv::encode(DO87, &[&[0x01][..], &encrypted].concat()) }
    }

    /// Inspection system: protects a command. Increments the SSC.
    pub fn protect(&mut self, command: &Command) -> Result<Command, SmError> {
        self.increment();
        let cla = command.cla | SM_CLA;
        let header = [cla, command.ins, command.p1, command.p2];
        let do87 = self.cryptogram_object(command.ins & 1 == 1, command.data());
        let do97 = match command.ne() {
            None => Vec::new(),
            Some(ne) if command.is_extended() => tlv::encode(DO97, &((ne % 65_536) as u16).to_be_bytes()),
            Some(ne) => tlv::encode(DO97, &[(ne % 256) as u8]),
        };
        let mac_input =
            [self.ssc_bytes(), pad(&header, self.cipher().block_len()), do87.clone(), do97.clone()].concat();
        let do8e = tlv::encode(DO8E, &self.keys.mac.sm_mac(&mac_input));
        let data = [do87, do97, do8e].concat();
        let len = data.len();
        let extended = command.is_extended() || len > MAX_SHORT_NC;
        let protected = Command::new(cla, command.ins, command.p1, command.p2)
            .with_data(data)
            .map_err(|_| SmError::TooLong { len })?
            .with_ne(if extended { khil_apdu::apdu::MAX_NE } else { MAX_SHORT_NE })
            .expect("256 and 65536 are valid Ne");
        Ok(if extended { protected.extended() } else { protected })
    }

    /// Inspection system: checks and opens a protected response. Increments the SSC. The status word of the
    /// result is the one inside DO99.
    pub fn unprotect(&mut self, response: &Response) -> Result<Response, SmError> {
        const APDU: &str = "response";
        self.increment();
        if response.data().is_empty() {
            return Err(SmError::PlainStatus { sw: response.sw });
        }
        let objects = tlv::parse_all(response.data()).map_err(|source| SmError::Tlv { apdu: APDU, source })?;
        let SmObjects { cryptogram, middle: status, mac, mac_end } = SmObjects::split(&objects, DO99, APDU)?;
        let status = status.ok_or(SmError::Missing { apdu: APDU, tag: DO99 })?;
        let mac = mac.ok_or(SmError::Missing { apdu: APDU, tag: DO8E })?;
        let sw = match status.value {
            [a, b] => StatusWord::from_bytes(*a, *b),
            _ => return Err(malformed(APDU, &status, "expected 2 status bytes")),
        };
        self.check_mac(APDU, &mac, &[self.ssc_bytes(), response.data()[..mac_end].to_vec()].concat())?;
        let data = match cryptogram {
            None => Vec::new(),
            Some(object) => self.open_cryptogram(APDU, &object)?,
        };
        Ok(Response::new(data, sw).expect("shorter than the protected response"))
    }

    /// Chip: checks and opens a protected command. Increments the SSC. On an error the chip answers the plain
    /// [`SmError::status_word`] and ends the session.
    pub fn unprotect_command(&mut self, command: &Command) -> Result<Command, SmError> {
        const APDU: &str = "command";
        self.increment();
        if command.cla & SM_CLA != SM_CLA {
            return Err(SmError::NotProtected { cla: command.cla });
        }
        let objects = tlv::parse_all(command.data()).map_err(|source| SmError::Tlv { apdu: APDU, source })?;
        let SmObjects { cryptogram, middle: le, mac, mac_end } = SmObjects::split(&objects, DO97, APDU)?;
        let mac = mac.ok_or(SmError::Missing { apdu: APDU, tag: DO8E })?;
        let header = [command.cla, command.ins, command.p1, command.p2];
        let mac_input =
            [self.ssc_bytes(), pad(&header, self.cipher().block_len()), command.data()[..mac_end].to_vec()].concat();
        self.check_mac(APDU, &mac, &mac_input)?;
        let odd_ins = command.ins & 1 == 1;
        if let Some(object) = cryptogram {
            let expected = if odd_ins { DO85 } else { DO87 };
            if object.tag != expected {
                return Err(malformed(
                    APDU,
                    &object,
                    &format!("INS {:02X} carries its data in {expected}", command.ins),
                ));
            }
        }
        let data = match cryptogram {
            None => Vec::new(),
            Some(object) => self.open_cryptogram(APDU, &object)?,
        };
        let (ne, extended) = match le.map(|o| (o, o.value)) {
            None => (None, false),
            Some((_, [0])) => (Some(MAX_SHORT_NE), false),
            Some((_, [n])) => (Some(usize::from(*n)), false),
            Some((_, [0, 0])) => (Some(khil_apdu::apdu::MAX_NE), true),
            Some((_, [hi, lo])) => (Some(usize::from(u16::from_be_bytes([*hi, *lo]))), true),
            Some((o, _)) => return Err(malformed(APDU, &o, "expected Le of 1 or 2 bytes")),
        };
        let mut plain = Command::new(command.cla & !SM_CLA, command.ins, command.p1, command.p2)
            .with_data(data)
            .expect("shorter than the protected command");
        if let Some(ne) = ne {
            plain = plain.with_ne(ne).expect("Le decoded to 1..=65536");
        }
        self.odd_ins = odd_ins;
        Ok(if extended { plain.extended() } else { plain })
    }

    /// Chip: protects the response to the command last opened by [`SecureMessaging::unprotect_command`].
    /// Increments the SSC.
    pub fn protect_response(&mut self, response: &Response) -> Response {
        self.increment();
        let do87 = self.cryptogram_object(self.odd_ins, response.data());
        let do99 = tlv::encode(DO99, &response.sw.0.to_be_bytes());
        let mac_input = [self.ssc_bytes(), do87.clone(), do99.clone()].concat();
        let do8e = tlv::encode(DO8E, &self.keys.mac.sm_mac(&mac_input));
        // A response of at most 65536 bytes grows by padding and 24 bytes of objects: the Response type's limit is
        // the command's Ne, which the terminal asked 65536 for, and a chip's answer must fit it.
        Response::new([do87, do99, do8e].concat(), response.sw)
            .unwrap_or_else(|_| Response::status(StatusWord::WRONG_LENGTH))
    }

    fn check_mac(&self, apdu: &'static str, mac: &tlv::Tlv<'_>, input: &[u8]) -> Result<(), SmError> {
        let expected = self.keys.mac.sm_mac(input);
        // Constant time is not needed against a card reader's peer, but costs nothing.
        let differs = mac.value.len() != expected.len()
            || mac.value.iter().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) != 0;
        if differs {
            return Err(SmError::WrongMac { apdu, ssc: hex(&self.ssc_bytes()) });
        }
        Ok(())
    }

    fn open_cryptogram(&self, apdu: &'static str, object: &tlv::Tlv<'_>) -> Result<Vec<u8>, SmError> {
        let (cryptogram, offset) = if object.tag == DO87 {
            match object.value {
                [0x01, rest @ ..] => (rest, object.value_offset + 1),
                _ => return Err(malformed(apdu, object, "expected padding indicator 01 first")),
            }
        } else {
            (object.value, object.value_offset)
        };
        self.decrypt(apdu, object.tag, offset, cryptogram)
    }
}

fn malformed(apdu: &'static str, object: &tlv::Tlv<'_>, expected: &str) -> SmError {
    SmError::Malformed { apdu, tag: object.tag, offset: object.offset, expected: expected.into() }
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

/// The data objects of a protected APDU, in the order 9303-11 9.8 gives them: a cryptogram (DO87, or DO85 for an
/// odd INS), then `middle` (DO97, Le, in a command; DO99, the status, in a response), then the MAC (DO8E), each at
/// most once. `mac_end`: where the MAC's input ends (after the last object before DO8E). One reading for both
/// directions, so the command and response rules cannot drift apart.
struct SmObjects<'a> {
    cryptogram: Option<tlv::Tlv<'a>>,
    middle: Option<tlv::Tlv<'a>>,
    mac: Option<tlv::Tlv<'a>>,
    mac_end: usize,
}

impl<'a> SmObjects<'a> {
    fn split(objects: &[tlv::Tlv<'a>], middle_tag: Tag, apdu: &'static str) -> Result<SmObjects<'a>, SmError> {
        let mut out = SmObjects { cryptogram: None, middle: None, mac: None, mac_end: 0 };
        for object in objects {
            let end = object.value_offset + object.value.len();
            match object.tag {
                DO85 | DO87 if out.cryptogram.is_none() && out.middle.is_none() && out.mac.is_none() => {
                    out.cryptogram = Some(*object);
                    out.mac_end = end;
                }
                tag if tag == middle_tag && out.middle.is_none() && out.mac.is_none() => {
                    out.middle = Some(*object);
                    out.mac_end = end;
                }
                DO8E if out.mac.is_none() => out.mac = Some(*object),
                tag => {
                    return Err(SmError::Malformed {
                        apdu,
                        tag,
                        offset: object.offset,
                        expected: format!("expected DO87 or DO85, then DO{middle_tag}, then DO8E, each at most once"),
                    });
                }
            }
        }
        Ok(out)
    }
}
