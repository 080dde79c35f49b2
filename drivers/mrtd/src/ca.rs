//! Chip Authentication with ECDH (ICAO 9303-11 section 6.2), both sides, pure: the chip proves it holds the
//! private key of the static public key in DG14 by agreeing new secure messaging keys with an ephemeral key of
//! the terminal; only a genuine chip can continue the session.
//!
//! ```text
//! 3DES (id-CA-ECDH-3DES-CBC-CBC):   MSE:Set KAT 00 22 41 A6 { 91 PK_IFD [84 key id] }        -> 9000
//! AES  (id-CA-ECDH-AES-CBC-CMAC-*): MSE:Set AT  00 22 41 A4 { 80 OID [84 key id] }           -> 9000
//!                                   GENERAL AUTHENTICATE 00 86 00 00 7C{80 PK_IFD}            -> 7C{} 9000
//! K = x(SK_IC * PK_IFD) = x(SK_IFD * PK_IC); KSEnc = KDF(K, 1), KSMac = KDF(K, 2); SSC restarts at zero.
//! ```
//!
//! These commands travel inside the secure messaging session already open (BAC or PACE); the last response is
//! still protected with the old keys, then both sides switch ([`crate::sm::SecureMessaging::rekey`]). The caller
//! protects and opens APDUs; this module sees them in plain.

use std::fmt;

use khil_apdu::{Command, Response, StatusWord};

use crate::crypto::Cipher;
use crate::pace::{PaceCurve, PaceError};
use crate::sm::SessionKeys;
use crate::tlv::{self, Tag};

/// id-CA-ECDH (0.4.0.127.0.7.2.2.3.2) as DER content bytes; the last arc names the cipher.
const ID_CA_ECDH: [u8; 9] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02];
const INS_MSE: u8 = 0x22;
const INS_GENERAL_AUTHENTICATE: u8 = 0x86;

/// A chip authentication protocol with ECDH and its cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaProtocol {
    /// id-CA-ECDH-3DES-CBC-CBC (…3.2.1): MSE:Set KAT.
    EcdhTdes,
    /// id-CA-ECDH-AES-CBC-CMAC-128/192/256 (…3.2.2-4): MSE:Set AT and GENERAL AUTHENTICATE.
    EcdhAes128,
    EcdhAes192,
    EcdhAes256,
}

impl CaProtocol {
    pub const ALL: [CaProtocol; 4] =
        [CaProtocol::EcdhTdes, CaProtocol::EcdhAes128, CaProtocol::EcdhAes192, CaProtocol::EcdhAes256];

    /// The protocol of an OID given as DER content bytes (ChipAuthenticationInfo in DG14).
    pub fn from_oid(oid: &[u8]) -> Option<CaProtocol> {
        CaProtocol::ALL.into_iter().find(|p| p.oid() == oid)
    }

    pub fn oid(self) -> Vec<u8> {
        let last = match self {
            CaProtocol::EcdhTdes => 1,
            CaProtocol::EcdhAes128 => 2,
            CaProtocol::EcdhAes192 => 3,
            CaProtocol::EcdhAes256 => 4,
        };
        [&ID_CA_ECDH[..], &[last]].concat()
    }

    pub fn cipher(self) -> Cipher {
        match self {
            CaProtocol::EcdhTdes => Cipher::Tdes,
            CaProtocol::EcdhAes128 => Cipher::Aes128,
            CaProtocol::EcdhAes192 => Cipher::Aes192,
            CaProtocol::EcdhAes256 => Cipher::Aes256,
        }
    }
}

/// Why chip authentication failed, on either side. [`CaError::status_word`] is what the chip answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaError {
    #[error("chip authentication: the chip answered {step} with {sw}")]
    ChipRefused { step: &'static str, sw: StatusWord },
    #[error("chip authentication: {message}: {source}")]
    Tlv { message: &'static str, source: tlv::TlvError },
    #[error("chip authentication: {message}: {expected}")]
    Malformed { message: &'static str, expected: String },
    #[error("chip authentication: {what} is not offered by this chip")]
    Unsupported { what: String },
    #[error("chip authentication: {got} is not the next step ({expected})")]
    OutOfOrder { got: String, expected: &'static str },
    /// A key that is not a point of the curve, or a private key out of range.
    #[error("chip authentication: {0}")]
    Key(#[from] PaceError),
}

impl CaError {
    /// 6A80 for bad data or keys, 6A88 for a protocol or key the chip does not have, 6985 out of order.
    pub fn status_word(&self) -> StatusWord {
        match self {
            CaError::ChipRefused { sw, .. } => *sw,
            CaError::Unsupported { .. } => StatusWord::REFERENCE_NOT_FOUND,
            CaError::OutOfOrder { .. } => StatusWord::CONDITIONS_NOT_SATISFIED,
            _ => StatusWord::WRONG_DATA,
        }
    }
}

fn header(command: &Command) -> String {
    format!("{:02X} {:02X} {:02X} {:02X}", command.cla, command.ins, command.p1, command.p2)
}

fn key_id_object(key_id: Option<u32>) -> Vec<u8> {
    key_id
        .map(|id| {
            let b = id.to_be_bytes();
            let first = b.iter().position(|&x| x != 0).unwrap_or(3);
            tlv::encode(Tag(0x84), &b[first..])
        })
        .unwrap_or_default()
}

/// What the terminal does next.
#[derive(Debug)]
pub enum CaStep {
    /// Protect this command with the current session, send it, open the response, give it to `answer`.
    Send(Command),
    /// The chip is authenticated: restart secure messaging with these keys (SSC zero).
    Rekey(SessionKeys),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TerminalState {
    SetSent,
    GaSent,
    Done,
}

/// The inspection system's side: the chip's static public key (from DG14) and a fresh ephemeral private key.
/// `Debug` shows the protocol only.
#[derive(Clone)]
pub struct CaTerminal {
    protocol: CaProtocol,
    curve: PaceCurve,
    key_id: Option<u32>,
    ephemeral_public_key: Vec<u8>,
    shared_secret: Vec<u8>,
    state: TerminalState,
}

impl fmt::Debug for CaTerminal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaTerminal({:?}, {:?}, {:?})", self.protocol, self.curve, self.state)
    }
}

impl CaTerminal {
    /// Checks the chip's public key (SEC1 uncompressed) and the ephemeral private key (32 bytes, 1 to n-1), and
    /// computes the shared secret up front.
    pub fn new(
        protocol: CaProtocol,
        curve: PaceCurve,
        chip_public_key: &[u8],
        ephemeral_private_key: &[u8],
        key_id: Option<u32>,
    ) -> Result<CaTerminal, CaError> {
        let ephemeral_public_key = curve.public_key(ephemeral_private_key)?;
        let shared_secret = curve.shared_secret(ephemeral_private_key, chip_public_key)?;
        Ok(CaTerminal { protocol, curve, key_id, ephemeral_public_key, shared_secret, state: TerminalState::SetSent })
    }

    /// The terminal's ephemeral public key (SEC1 uncompressed), as sent to the chip.
    pub fn ephemeral_public_key(&self) -> &[u8] {
        &self.ephemeral_public_key
    }

    /// The first command: MSE:Set KAT (3DES) or MSE:Set AT (AES).
    pub fn start(&mut self) -> Command {
        self.state = TerminalState::SetSent;
        let data = if self.protocol == CaProtocol::EcdhTdes {
            [tlv::encode(Tag(0x91), &self.ephemeral_public_key), key_id_object(self.key_id)].concat()
        } else {
            [tlv::encode(Tag(0x80), &self.protocol.oid()), key_id_object(self.key_id)].concat()
        };
        let p2 = if self.protocol == CaProtocol::EcdhTdes { 0xA6 } else { 0xA4 };
        Command::new(0x00, INS_MSE, 0x41, p2).with_data(data).expect("a point and an OID")
    }

    /// Takes the chip's (opened) response to the last command.
    pub fn answer(&mut self, response: &Response) -> Result<CaStep, CaError> {
        let state = std::mem::replace(&mut self.state, TerminalState::Done);
        let step = match state {
            TerminalState::SetSent if self.protocol == CaProtocol::EcdhTdes => "MSE:Set KAT",
            TerminalState::SetSent => "MSE:Set AT",
            TerminalState::GaSent => "GENERAL AUTHENTICATE",
            TerminalState::Done => {
                return Err(CaError::OutOfOrder { got: "a response".into(), expected: "chip authentication is over" });
            }
        };
        if response.sw != StatusWord::SUCCESS {
            return Err(CaError::ChipRefused { step, sw: response.sw });
        }
        let keys = || SessionKeys::derive(self.protocol.cipher(), &self.shared_secret);
        match state {
            TerminalState::SetSent if self.protocol == CaProtocol::EcdhTdes => Ok(CaStep::Rekey(keys())),
            TerminalState::SetSent => {
                self.state = TerminalState::GaSent;
                let data = tlv::encode(Tag(0x7C), &tlv::encode(Tag(0x80), &self.ephemeral_public_key));
                let command = Command::new(0x00, INS_GENERAL_AUTHENTICATE, 0x00, 0x00)
                    .with_data(data)
                    .and_then(|c| c.with_ne(256))
                    .expect("a point");
                Ok(CaStep::Send(command))
            }
            _ => {
                const MESSAGE: &str = "the GENERAL AUTHENTICATE response";
                let outer = tlv::parse_expecting(response.data(), Tag(0x7C))
                    .map_err(|source| CaError::Tlv { message: MESSAGE, source })?;
                if !outer.value.is_empty() {
                    return Err(CaError::Malformed { message: MESSAGE, expected: "an empty 7C".into() });
                }
                Ok(CaStep::Rekey(keys()))
            }
        }
    }
}

/// What the chip answers.
#[derive(Debug)]
pub enum CaChipStep {
    /// Protect and send this response; nothing changes.
    Reply(Response),
    /// Protect this response with the current keys and send it, then restart secure messaging with these.
    /// The answer, the new session keys, and the terminal's ephemeral public key (terminal authentication signs
    /// its x-coordinate).
    Rekey(Response, SessionKeys, Vec<u8>),
}

/// The chip's side: its static key pair (the public key is in DG14) and the protocols it offers.
/// `Debug` shows no key.
#[derive(Clone)]
pub struct CaChip {
    curve: PaceCurve,
    private_key: Vec<u8>,
    key_id: Option<u32>,
    offered: Vec<CaProtocol>,
    selected: Option<CaProtocol>,
}

impl fmt::Debug for CaChip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CaChip({:?}, offers {:?})", self.curve, self.offered)
    }
}

impl CaChip {
    /// `private_key`: 32 bytes, 1 to n-1 (checked); `key_id`: the keyId of its ChipAuthenticationPublicKeyInfo,
    /// if DG14 names one.
    pub fn new(
        curve: PaceCurve,
        private_key: Vec<u8>,
        key_id: Option<u32>,
        offered: Vec<CaProtocol>,
    ) -> Result<CaChip, CaError> {
        curve.public_key(&private_key)?;
        Ok(CaChip { curve, private_key, key_id, offered, selected: None })
    }

    /// The static public key for DG14.
    pub fn public_key(&self) -> Vec<u8> {
        self.curve.public_key(&self.private_key).expect("checked in new")
    }

    /// Answers MSE:Set KAT, MSE:Set AT (41 A4, with a chip authentication OID) or GENERAL AUTHENTICATE. On an
    /// error the chip answers [`CaError::status_word`] (protected) and stays in its session.
    pub fn answer(&mut self, command: &Command) -> Result<CaChipStep, CaError> {
        let selected = self.selected.take();
        let objects = |message| tlv::parse_all(command.data()).map_err(|source| CaError::Tlv { message, source });
        match (command.ins, command.p1, command.p2) {
            (INS_MSE, 0x41, 0xA6) => {
                const MESSAGE: &str = "MSE:Set KAT";
                let objects = objects(MESSAGE)?;
                if !self.offered.contains(&CaProtocol::EcdhTdes) {
                    return Err(CaError::Unsupported { what: "id-CA-ECDH-3DES-CBC-CBC".into() });
                }
                self.check_key_id(&objects)?;
                let pk = objects
                    .iter()
                    .find(|o| o.tag == Tag(0x91))
                    .ok_or(CaError::Malformed { message: MESSAGE, expected: "an ephemeral public key (91)".into() })?;
                let keys = self.agree(CaProtocol::EcdhTdes, pk.value)?;
                Ok(CaChipStep::Rekey(Response::status(StatusWord::SUCCESS), keys, pk.value.to_vec()))
            }
            (INS_MSE, 0x41, 0xA4) => {
                const MESSAGE: &str = "MSE:Set AT";
                let objects = objects(MESSAGE)?;
                let oid = objects
                    .iter()
                    .find(|o| o.tag == Tag(0x80))
                    .ok_or(CaError::Malformed { message: MESSAGE, expected: "a protocol OID (80)".into() })?;
                let protocol = CaProtocol::from_oid(oid.value)
                    .filter(|p| *p != CaProtocol::EcdhTdes && self.offered.contains(p))
                    .ok_or_else(|| CaError::Unsupported { what: format!("protocol OID {}", hex(oid.value)) })?;
                self.check_key_id(&objects)?;
                self.selected = Some(protocol);
                Ok(CaChipStep::Reply(Response::status(StatusWord::SUCCESS)))
            }
            (INS_GENERAL_AUTHENTICATE, 0x00, 0x00) => {
                const MESSAGE: &str = "GENERAL AUTHENTICATE";
                let protocol = selected.ok_or_else(|| CaError::OutOfOrder {
                    got: header(command),
                    expected: "MSE:Set AT with a chip authentication OID first",
                })?;
                let outer = tlv::parse_expecting(command.data(), Tag(0x7C))
                    .map_err(|source| CaError::Tlv { message: MESSAGE, source })?;
                let pk = outer.child(Tag(0x80)).map_err(|source| CaError::Tlv { message: MESSAGE, source })?;
                let keys = self.agree(protocol, pk.value)?;
                Ok(CaChipStep::Rekey(Response::ok(vec![0x7C, 0x00]).expect("2 bytes"), keys, pk.value.to_vec()))
            }
            _ => Err(CaError::OutOfOrder {
                got: header(command),
                expected: "MSE:Set KAT, MSE:Set AT or GENERAL AUTHENTICATE",
            }),
        }
    }

    fn check_key_id(&self, objects: &[tlv::Tlv<'_>]) -> Result<(), CaError> {
        match objects.iter().find(|o| o.tag == Tag(0x84)) {
            None => Ok(()),
            Some(o) if key_id_object(self.key_id) == o.to_bytes() => Ok(()),
            Some(o) => Err(CaError::Unsupported { what: format!("key id {}", hex(o.value)) }),
        }
    }

    fn agree(&self, protocol: CaProtocol, terminal_key: &[u8]) -> Result<SessionKeys, CaError> {
        let shared = self.curve.shared_secret(&self.private_key, terminal_key)?;
        Ok(SessionKeys::derive(protocol.cipher(), &shared))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |s, b| s + &format!("{b:02X}"))
}
