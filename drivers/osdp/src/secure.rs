//! The secure channel on packets: sealing and opening commands and replies, and the handshake as pure steps.
//! Everything a CP, a PD or a conformance suite does with [`crate::sc`] goes through here, so the rules are
//! written once:
//!
//! - **Sealing** a command: data encrypted under SCB 17 when there is any, SCB 15 (MAC only) when there is none;
//!   a reply likewise with 18 / 16, encrypted only when the command was (SCS_17 in, SCS_18 out), as libosdp does.
//!   Then the MAC over the packet as sent ([`OsdpFrame::seal`]).
//! - **Opening** a received packet: its SCB must be the direction's secured type, its MAC present and valid for
//!   the chain, then its data decrypted (SCB 17 / 18). Encrypted data of length zero is taken as no data:
//!   some CPs send SCS_17 with nothing to encrypt (libosdp PR 88) and libosdp tolerates it. A failure leaves the
//!   session's chain untouched; the caller decides (a PD drops the session with a plain NAK 6, a CP handshakes
//!   again, a conformance suite fails the check).
//! - **The handshake** (SCS_11 to SCS_14): a CP holds a [`CpHandshake`] from CHLNG to RMAC_I, a PD a
//!   [`PdHandshake`] from CCRYPT to SCRYPT. Each step takes what the other side sent and returns the next thing
//!   to send, or why the handshake cannot go on ([`HandshakeError`], in words; never key material).
//!
//! No I/O, no clock, no randomness: RND.A and RND.B come from the caller.

use std::fmt;

use crate::command::Command;
use crate::frame::{FrameError, OsdpFrame, Scb, scs};
use crate::reply::Reply;
use crate::sc::{self, ScError, ScSession, SessionKeys};

/// Which base key a handshake uses (the SCB data byte of CHLNG, CCRYPT and SCRYPT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// 0: the install-mode default key SCBK-D.
    Default,
    /// 1: the PD's own key SCBK.
    Own,
}

impl KeyType {
    /// The SCB data byte.
    pub const fn byte(self) -> u8 {
        match self {
            KeyType::Default => 0,
            KeyType::Own => 1,
        }
    }

    /// The key type a CHLNG's SCB names: 0 SCBK-D, 1 SCBK; `None` for anything else.
    pub const fn from_byte(byte: u8) -> Option<KeyType> {
        match byte {
            0 => Some(KeyType::Default),
            1 => Some(KeyType::Own),
            _ => None,
        }
    }

    /// "SCBK-D" or "SCBK": how logs and evidence name the key (never its bytes).
    pub const fn name(self) -> &'static str {
        match self {
            KeyType::Default => "SCBK-D",
            KeyType::Own => "SCBK",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a received secured packet could not be opened. The words name what was wrong, never key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The packet does not carry the direction's secured SCB (15/17 for commands, 16/18 for replies).
    #[error("not secured: expected SCB {expected}, found {found}")]
    NotSecured {
        /// "15 or 17" or "16 or 18".
        expected: &'static str,
        /// The SCB type found, in words ("none", or "SCB 11"...).
        found: String,
    },
    /// The SCB calls for a MAC but the packet has none (LEN leaves no room for it).
    #[error("the SCB calls for a MAC but the packet carries none")]
    NoMac,
    /// The MAC does not verify against the session's chain.
    #[error("MAC does not verify")]
    WrongMac,
    /// The MAC verified but the data does not decrypt (bad length or padding).
    #[error("data does not decrypt: {0}")]
    Decrypt(ScError),
}

/// Why a packet could not be sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The frame cannot be encoded (a field out of range, too long once encrypted).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A reply was sealed before any command was opened in this session.
    #[error(transparent)]
    Sc(#[from] ScError),
}

/// Checks a received MAC (the packet before it, the 4 bytes) and moves the chain on.
type VerifyMac = fn(&mut ScSession, &[u8], &[u8]) -> Result<(), sc::ScError>;
/// Decrypts received data with the direction's IV.
type Decrypt = fn(&ScSession, &[u8]) -> Result<Vec<u8>, sc::ScError>;

/// One direction of secured packets: SCB types (MAC only, MAC and encrypted data), the MAC check, the decryption.
struct Way {
    kinds: (u8, u8),
    expected: &'static str,
    verify: VerifyMac,
    decrypt: Decrypt,
}

fn scb_words(scb: Option<&Scb>) -> String {
    scb.map_or_else(|| "none".to_owned(), |s| format!("SCB {:02X}", s.kind))
}

impl ScSession {
    /// CP: seals a command frame: its data encrypted (SCB 17) when there is any, SCB 15 otherwise, then the MAC
    /// chained from the last R-MAC. The frame's SCB is replaced.
    pub fn seal_command(&mut self, frame: &mut OsdpFrame) -> Result<(), SealError> {
        let kind = if frame.data.is_empty() {
            scs::CMD_MAC
        } else {
            frame.data = self.encrypt_command_data(&frame.data);
            scs::CMD_ENC
        };
        frame.scb = Some(Scb::new(kind, Vec::new()));
        frame.seal(|input| self.cp_mac_command(input))?;
        Ok(())
    }

    /// PD: opens a received command (`raw`: the packet as received, SOM through the check): SCB 15 or 17, the
    /// MAC verified, the data decrypted. The command's plain data.
    pub fn open_command(&mut self, frame: &OsdpFrame, raw: &[u8]) -> Result<Vec<u8>, OpenError> {
        let way = Way {
            kinds: (scs::CMD_MAC, scs::CMD_ENC),
            expected: "15 or 17",
            verify: ScSession::pd_verify_command,
            decrypt: ScSession::decrypt_command_data,
        };
        self.open(frame, raw, &way)
    }

    /// PD: seals a reply frame: its data encrypted (SCB 18) when `encrypt` (the command came encrypted) and there
    /// is any, SCB 16 otherwise, then the MAC chained from the C-MAC of the command it answers.
    pub fn seal_reply(&mut self, frame: &mut OsdpFrame, encrypt: bool) -> Result<(), SealError> {
        let kind = if encrypt && !frame.data.is_empty() {
            frame.data = self.encrypt_reply_data(&frame.data)?;
            scs::REPLY_ENC
        } else {
            scs::REPLY_MAC
        };
        frame.scb = Some(Scb::new(kind, Vec::new()));
        let mut chained = Ok(());
        frame.seal(|input| {
            self.pd_mac_reply(input).unwrap_or_else(|e| {
                chained = Err(e);
                [0; sc::MAC_LEN]
            })
        })?;
        chained?;
        Ok(())
    }

    /// CP: opens a received reply: SCB 16 or 18, the MAC verified, the data decrypted. The reply's plain data.
    pub fn open_reply(&mut self, frame: &OsdpFrame, raw: &[u8]) -> Result<Vec<u8>, OpenError> {
        let way = Way {
            kinds: (scs::REPLY_MAC, scs::REPLY_ENC),
            expected: "16 or 18",
            verify: ScSession::cp_verify_reply,
            decrypt: ScSession::decrypt_reply_data,
        };
        self.open(frame, raw, &way)
    }

    /// Opening, the same both ways but for the SCB types, the MAC chain and the IV.
    fn open(&mut self, frame: &OsdpFrame, raw: &[u8], way: &Way) -> Result<Vec<u8>, OpenError> {
        let kind = frame.scb.as_ref().map(|s| s.kind);
        let encrypted = match kind {
            Some(k) if k == way.kinds.0 => false,
            Some(k) if k == way.kinds.1 => true,
            _ => return Err(OpenError::NotSecured { expected: way.expected, found: scb_words(frame.scb.as_ref()) }),
        };
        let (Some(input), Some(mac)) = (crate::frame::mac_input(raw), frame.mac) else {
            return Err(OpenError::NoMac);
        };
        (way.verify)(self, input, &mac).map_err(|_| OpenError::WrongMac)?;
        if encrypted && !frame.data.is_empty() {
            return (way.decrypt)(self, &frame.data).map_err(OpenError::Decrypt);
        }
        Ok(frame.data.clone())
    }
}

/// Why a handshake cannot go on, in words (the CP's `CpError::Handshake` carries [`HandshakeError::why`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// CP: the PD's client cryptogram (CCRYPT) does not verify with the CP's key.
    ClientCryptogram,
    /// PD: the CP's server cryptogram (SCRYPT) does not verify with the PD's key.
    ServerCryptogram,
    /// CP: RMAC_I's SCB status byte is neither 0x01 nor 0xFF.
    RmacStatus,
    /// CP: RMAC_I does not verify.
    RmacI,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.why())
    }
}

impl std::error::Error for HandshakeError {}

impl HandshakeError {
    /// The words, as a static string.
    pub const fn why(self) -> &'static str {
        match self {
            HandshakeError::ClientCryptogram => "the PD's cryptogram does not verify (a different key?)",
            HandshakeError::ServerCryptogram => "the CP's cryptogram does not verify (a different key?)",
            HandshakeError::RmacStatus => "RMAC_I without an accepted status byte",
            HandshakeError::RmacI => "RMAC_I does not verify",
        }
    }
}

/// The CP's side of one handshake, from CHLNG to RMAC_I. `Debug` prints no key.
#[derive(Clone)]
pub struct CpHandshake {
    key_type: KeyType,
    scbk: [u8; 16],
    rnd_a: [u8; 8],
    /// After CCRYPT verified: the session keys, RND.B and the server cryptogram sent in SCRYPT.
    scrypt: Option<(SessionKeys, [u8; 8], [u8; 16])>,
}

impl fmt::Debug for CpHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CpHandshake")
            .field("key_type", &self.key_type)
            .field("ccrypt_verified", &self.scrypt.is_some())
            .finish_non_exhaustive()
    }
}

impl CpHandshake {
    /// A handshake with `scbk` (named `key_type` to the PD) and the CP's random RND.A.
    pub fn new(key_type: KeyType, scbk: [u8; 16], rnd_a: [u8; 8]) -> CpHandshake {
        CpHandshake { key_type, scbk, rnd_a, scrypt: None }
    }

    /// The key type this handshake names.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The CHLNG command and its SCB (`[03 11 kt]`).
    pub fn challenge(&self) -> (Command, Scb) {
        (Command::Chlng { rnd_a: self.rnd_a }, Scb::new(scs::CHLNG, vec![self.key_type.byte()]))
    }

    /// The PD's CCRYPT: checks its client cryptogram; on success the SCRYPT command and its SCB to send next.
    pub fn on_ccrypt(&mut self, rnd_b: [u8; 8], cryptogram: &[u8; 16]) -> Result<(Command, Scb), HandshakeError> {
        let keys = SessionKeys::derive(&self.scbk, &self.rnd_a);
        if !sc::ct_eq(&sc::client_cryptogram(&keys, &self.rnd_a, &rnd_b), cryptogram) {
            return Err(HandshakeError::ClientCryptogram);
        }
        let server = sc::server_cryptogram(&keys, &self.rnd_a, &rnd_b);
        self.scrypt = Some((keys, rnd_b, server));
        Ok((Command::Scrypt { cryptogram: server }, Scb::new(scs::SCRYPT, vec![self.key_type.byte()])))
    }

    /// The SCRYPT this CP sends after `rnd_b`, whether or not the PD's client cryptogram verified. A tester uses it to
    /// tell a wrong key (the PD refuses the server cryptogram too) from a PD that computes its client cryptogram
    /// wrongly (it accepts the server cryptogram: both hold the same key).
    pub fn scrypt_regardless(&self, rnd_b: [u8; 8]) -> (Command, Scb) {
        let keys = SessionKeys::derive(&self.scbk, &self.rnd_a);
        let server = sc::server_cryptogram(&keys, &self.rnd_a, &rnd_b);
        (Command::Scrypt { cryptogram: server }, Scb::new(scs::SCRYPT, vec![self.key_type.byte()]))
    }

    /// The PD's RMAC_I and its SCB status byte: on success the session both sides now hold. Called before
    /// [`CpHandshake::on_ccrypt`] succeeded, it fails as a wrong RMAC_I.
    pub fn on_rmac_i(self, mac: &[u8; 16], status: Option<u8>) -> Result<ScSession, HandshakeError> {
        // The status byte is disputed between implementations: 0x01 and 0xFF both mean "accepted".
        if !matches!(status, Some(0x01 | 0xFF)) {
            return Err(HandshakeError::RmacStatus);
        }
        let Some((keys, _, server)) = self.scrypt else { return Err(HandshakeError::RmacI) };
        let expected = sc::initial_rmac(&keys, &server);
        if !sc::ct_eq(&expected, mac) {
            return Err(HandshakeError::RmacI);
        }
        Ok(ScSession::new(keys, expected))
    }

    /// The RMAC_I reply a PD answering this handshake correctly sends (for tests and simulated peers).
    pub fn expected_rmac_i(&self) -> Option<[u8; 16]> {
        self.scrypt.as_ref().map(|(keys, _, server)| sc::initial_rmac(keys, server))
    }
}

/// The RMAC_I SCB status byte a PD sends when it accepted the server cryptogram.
pub const RMAC_I_ACCEPTED: u8 = 0x01;

/// The PD's side of one handshake, from its CCRYPT to the CP's SCRYPT. `Debug` prints no key.
#[derive(Clone)]
pub struct PdHandshake {
    key_type: KeyType,
    keys: SessionKeys,
    rnd_a: [u8; 8],
    rnd_b: [u8; 8],
}

impl fmt::Debug for PdHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PdHandshake").field("key_type", &self.key_type).finish_non_exhaustive()
    }
}

impl PdHandshake {
    /// A CHLNG with RND.A answered with the PD's random RND.B under `scbk` (of `key_type`).
    pub fn new(key_type: KeyType, scbk: &[u8; 16], rnd_a: [u8; 8], rnd_b: [u8; 8]) -> PdHandshake {
        PdHandshake { key_type, keys: SessionKeys::derive(scbk, &rnd_a), rnd_a, rnd_b }
    }

    /// The key type the CP asked for.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The CCRYPT reply (cUID, RND.B, client cryptogram) and its SCB (`[03 12 kt]`).
    pub fn ccrypt(&self, cuid: [u8; 8]) -> (Reply, Scb) {
        let cryptogram = sc::client_cryptogram(&self.keys, &self.rnd_a, &self.rnd_b);
        (Reply::CCrypt { cuid, rnd_b: self.rnd_b, cryptogram }, Scb::new(scs::CCRYPT, vec![self.key_type.byte()]))
    }

    /// The CP's SCRYPT data: checks the server cryptogram; on success the session and the RMAC_I reply with its
    /// SCB (`[03 14 01]`).
    pub fn on_scrypt(&self, cryptogram: &[u8]) -> Result<(ScSession, Reply, Scb), HandshakeError> {
        let expected = sc::server_cryptogram(&self.keys, &self.rnd_a, &self.rnd_b);
        if !sc::ct_eq(&expected, cryptogram) {
            return Err(HandshakeError::ServerCryptogram);
        }
        let rmac = sc::initial_rmac(&self.keys, &expected);
        let session = ScSession::new(self.keys.clone(), rmac);
        Ok((session, Reply::RMacI { mac: rmac }, Scb::new(scs::RMAC_I, vec![RMAC_I_ACCEPTED])))
    }
}
