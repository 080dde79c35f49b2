//! The OSDP secure channel's cryptography (SIA OSDP 2.2 Annex D): key derivation, cryptograms, the chained
//! packet MAC and data encryption. Pure: no frame parsing, no I/O, no clock, no randomness (the caller brings
//! RND.A / RND.B).
//!
//! Only the AES-128 block cipher comes from a crate (`aes`). CBC and the MAC are written here on top of it:
//! each is a few lines, and the OSDP MAC is not a standard construction (it is not CMAC: no subkeys, a
//! different key for the last block, and the chaining value comes from the previous packet), so no off-the-shelf
//! mode fits it.
//!
//! # Handshake (SCS_11..SCS_14)
//!
//! - SCBK is the PD's key; [`SCBK_D`] in install mode; legacy master-key installs derive it with
//!   [`scbk_from_master_key`].
//! - CP sends CHLNG with RND.A; both sides derive [`SessionKeys::derive`] from SCBK and RND.A.
//! - PD answers CCRYPT with cUID, RND.B and the [`client_cryptogram`] (RND.A || RND.B); the CP checks it.
//! - CP sends SCRYPT with the [`server_cryptogram`] (RND.B || RND.A); the PD checks it.
//! - PD answers RMAC_I with [`initial_rmac`]; both sides start an [`ScSession`] from it.
//!
//! Compare cryptograms and RMAC_I with [`ct_eq`] (constant time).
//!
//! # MAC and chaining (SCS_15..SCS_18)
//!
//! [`mac`] covers the packet from SOM (the 0xFF mark byte is not part of the packet) up to and including the
//! last byte of the data as sent (already encrypted for SCS_17/SCS_18), with LEN already counting the 4 MAC
//! bytes and the CRC/checksum. The message is cut into 16-byte blocks B1..Bn; if its length is not a multiple
//! of 16 the last block is completed with 0x80 then zeros; a message that is already a multiple of 16 gets
//! **no** padding block (an empty message, which a real packet never is, is one block `80 00..00`). Then
//! `X0 = chain`, `Xi = AES(S-MAC1, Bi ^ Xi-1)` for i < n, and `MAC = AES(S-MAC2, Bn ^ Xn-1)`. All 16 bytes
//! are kept for chaining; the first 4 go on the wire.
//!
//! The chaining value alternates between the two directions:
//!
//! - R-MAC starts as RMAC_I.
//! - A command's MAC (C-MAC) is chained from the last R-MAC: the RMAC_I for the first secure command, the
//!   MAC of the previous reply afterwards.
//! - A reply's MAC (R-MAC) is chained from the C-MAC of the command it answers.
//!
//! So each side keeps the last C-MAC and the last R-MAC (16 bytes each). [`ScSession`] does exactly that:
//! `cp_mac_command` / `pd_verify_command` chain from R-MAC and store C-MAC; `pd_mac_reply` /
//! `cp_verify_reply` chain from C-MAC and store R-MAC. A MAC that fails to verify leaves the state untouched
//! (the caller then drops the session, as libosdp does: `osdp_phy.c` NAKs and deactivates the channel).
//!
//! # Data encryption (SCS_17 / SCS_18)
//!
//! Only the DATA field is encrypted (not the command/reply code), with AES-128-CBC under S-ENC. 0x80 is
//! **always** appended and then zeros up to a multiple of 16, so 16 bytes of data become 32 and no data
//! becomes one block. The IV is the bitwise NOT ([`iv_from`]) of the last MAC received from the other side:
//!
//! - command data: IV = !(last R-MAC), i.e. !RMAC_I for the first secure command;
//! - reply data: IV = !(C-MAC of the command being answered).
//!
//! A sender encrypts first, then MACs the ciphertext; a receiver verifies the MAC, then decrypts. Neither
//! the command IV (R-MAC) nor the reply IV (C-MAC) is changed by the MAC step that goes with it, so the
//! order of the IV and MAC calls on an [`ScSession`] does not matter.
//!
//! [`decrypt`] accepts only a non-zero multiple of 16 bytes whose last block ends in 0x80 followed by 0..=15
//! zeros, which is exactly what [`encrypt`] produces. Some CPs send an SCS_17 with no data at all (no
//! block): that is the frame layer's call to tolerate, before `decrypt`.
//!
//! # Sources
//!
//! The derivations, cryptogram layouts, MAC chaining directions and IV directions follow the project's
//! reference (`shared/reference/osdp.md`, "Secure channel") and were checked against libosdp
//! (`src/osdp_sc.c`: `osdp_compute_mac`, `osdp_encrypt_data`, `osdp_decrypt_data`; `src/osdp_phy.c`). The
//! MAC's "no padding when block-aligned" rule is libosdp's (unchanged since its first secure-channel commit)
//! and OSDP.Net's (`MessageSecureChannel.GenerateMac`); the reference's "pad with 0x80 then zeros to 16"
//! says nothing of the aligned case. The tests pin it with libosdp's NIST-derived MAC vectors, and replay a
//! whole session captured between libosdp's own CP and PD (handshake, chained POLL/ACKs, encrypted commands
//! and an encrypted reply) through these functions.
//!
//! # Retransmissions
//!
//! A PD that receives a command again with the same SQN must resend its cached reply without touching the
//! chain: the repeated command was MACed from the R-MAC *before* the lost reply, which no longer is this
//! side's last R-MAC. [`ScSession`] is `Clone`, so a driver can keep the state from before a command.

use aes::Aes128;
use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use thiserror::Error;

/// The AES block size, and the size of every key, MAC and cryptogram here.
pub const BLOCK: usize = 16;

/// The install-mode default key SCBK-D: `30 31 32 .. 3F`.
pub const SCBK_D: [u8; 16] =
    [0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0x3F];

/// A base key written as 32 hex digits (either case), as ICS files, state files and the command line carry it;
/// `None` for anything else.
pub fn key_from_hex(text: &str) -> Option<[u8; 16]> {
    if text.len() != 32 || !text.is_ascii() {
        return None;
    }
    let mut key = [0u8; 16];
    for (i, b) in key.iter_mut().enumerate() {
        *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(key)
}

/// A base key as 32 lower-case hex digits (for files the key belongs in; never for logs).
pub fn key_to_hex(key: &[u8; 16]) -> String {
    use std::fmt::Write;
    key.iter().fold(String::with_capacity(32), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// How many MAC bytes are sent on the wire.
pub const MAC_LEN: usize = 4;

/// The end-of-message marker that starts all padding.
const PAD_MARKER: u8 = 0x80;

/// A secure-channel failure. The messages never carry key material, MACs or plaintext.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum ScError {
    /// The received MAC is not the one computed for the packet and the current chain.
    #[error("secure channel: MAC does not verify")]
    WrongMac,
    /// Decrypted data does not end in 0x80 followed by 0 to 15 zeros.
    #[error("secure channel: malformed 0x80 padding in decrypted data")]
    BadPadding,
    /// Encrypted data must be a non-zero multiple of 16 bytes.
    #[error("secure channel: encrypted data is {len} bytes, not a non-zero multiple of 16")]
    BadLength {
        /// The length received.
        len: usize,
    },
    /// A reply MAC or reply IV was asked for before any command MAC existed to chain it from.
    #[error("secure channel: no command MAC yet to chain a reply from")]
    NoCommandMac,
}

fn cipher(key: &[u8; 16]) -> Aes128 {
    Aes128::new(&Array::from(*key))
}

/// One AES-128 block encryption (ECB on a single block).
pub fn aes128_encrypt_block(key: &[u8; 16], block: &[u8; 16]) -> [u8; 16] {
    encrypt_block_with(&cipher(key), block)
}

fn encrypt_block_with(aes: &Aes128, block: &[u8; 16]) -> [u8; 16] {
    let mut b = Array::from(*block);
    aes.encrypt_block(&mut b);
    b.into()
}

fn xor_into(acc: &mut [u8; 16], other: &[u8]) {
    for (a, o) in acc.iter_mut().zip(other) {
        *a ^= o;
    }
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Legacy master-key derivation: SCBK = AES-ECB(MK, cUID || !cUID).
pub fn scbk_from_master_key(mk: &[u8; 16], cuid: &[u8; 8]) -> [u8; 16] {
    let mut block = [0u8; 16];
    block[..8].copy_from_slice(cuid);
    for (dst, src) in block[8..].iter_mut().zip(cuid) {
        *dst = !src;
    }
    aes128_encrypt_block(mk, &block)
}

/// The three session keys. `Debug` prints no key bytes.
#[derive(Clone)]
pub struct SessionKeys {
    s_enc: [u8; 16],
    s_mac1: [u8; 16],
    s_mac2: [u8; 16],
    /// The keys expanded once for the session, not once a packet: every exchange MACs a command and a reply,
    /// two keys each, and the expansions were ~3 % of a simulated border day's samples (16 gates POLLed every
    /// 50 ms).
    ciphers: SessionCiphers,
}

#[derive(Clone)]
struct SessionCiphers {
    enc: Aes128,
    mac1: Aes128,
    mac2: Aes128,
}

/// Equal keys (the expanded ciphers follow from them).
impl PartialEq for SessionKeys {
    fn eq(&self, other: &Self) -> bool {
        (self.s_enc, self.s_mac1, self.s_mac2) == (other.s_enc, other.s_mac1, other.s_mac2)
    }
}

impl Eq for SessionKeys {}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys { .. }")
    }
}

impl SessionKeys {
    /// S-ENC / S-MAC1 / S-MAC2 = AES-ECB(SCBK, `01 82|01|02` || RND.A[0..6] || 00 x 8).
    pub fn derive(scbk: &[u8; 16], rnd_a: &[u8; 8]) -> Self {
        let key = |second: u8| {
            let mut block = [0u8; 16];
            block[0] = 0x01;
            block[1] = second;
            block[2..8].copy_from_slice(&rnd_a[..6]);
            aes128_encrypt_block(scbk, &block)
        };
        Self::from_parts(key(0x82), key(0x01), key(0x02))
    }

    /// Keys given directly (tests, or keys derived elsewhere).
    pub fn from_parts(s_enc: [u8; 16], s_mac1: [u8; 16], s_mac2: [u8; 16]) -> Self {
        let ciphers = SessionCiphers { enc: cipher(&s_enc), mac1: cipher(&s_mac1), mac2: cipher(&s_mac2) };
        Self { s_enc, s_mac1, s_mac2, ciphers }
    }

    /// The encryption key S-ENC.
    pub fn s_enc(&self) -> &[u8; 16] {
        &self.s_enc
    }

    /// S-MAC1, for all MAC blocks but the last.
    pub fn s_mac1(&self) -> &[u8; 16] {
        &self.s_mac1
    }

    /// S-MAC2, for the last MAC block.
    pub fn s_mac2(&self) -> &[u8; 16] {
        &self.s_mac2
    }
}

fn concat8(first: [u8; 8], second: [u8; 8]) -> [u8; 16] {
    let mut block = [0u8; 16];
    block[..8].copy_from_slice(&first);
    block[8..].copy_from_slice(&second);
    block
}

/// The PD's (client's) cryptogram, sent in CCRYPT: AES(S-ENC, RND.A || RND.B).
pub fn client_cryptogram(keys: &SessionKeys, rnd_a: &[u8; 8], rnd_b: &[u8; 8]) -> [u8; 16] {
    encrypt_block_with(&keys.ciphers.enc, &concat8(*rnd_a, *rnd_b))
}

/// The CP's (server's) cryptogram, sent in SCRYPT: AES(S-ENC, RND.B || RND.A).
pub fn server_cryptogram(keys: &SessionKeys, rnd_a: &[u8; 8], rnd_b: &[u8; 8]) -> [u8; 16] {
    encrypt_block_with(&keys.ciphers.enc, &concat8(*rnd_b, *rnd_a))
}

/// RMAC_I = AES(S-MAC2, AES(S-MAC1, server cryptogram)): the first R-MAC of the session.
pub fn initial_rmac(keys: &SessionKeys, server_cryptogram: &[u8; 16]) -> [u8; 16] {
    encrypt_block_with(&keys.ciphers.mac2, &encrypt_block_with(&keys.ciphers.mac1, server_cryptogram))
}

/// The OSDP packet MAC (see the module doc): CBC-MAC from `chain`, S-MAC1 for every block but the last,
/// S-MAC2 for the last; 0x80-then-zeros padding only when `message` is not a multiple of 16 bytes (or empty).
/// Returns all 16 bytes; the first [`MAC_LEN`] are sent.
pub fn mac(keys: &SessionKeys, chain: &[u8; 16], message: &[u8]) -> [u8; 16] {
    let (mac1, mac2) = (&keys.ciphers.mac1, &keys.ciphers.mac2);
    // The blocks that are neither the last nor partial: everything but the final 1..=16 bytes.
    let head_len = message.len().saturating_sub(1) / BLOCK * BLOCK;
    let (head, tail) = message.split_at(head_len);
    let mut x = *chain;
    for block in head.chunks_exact(BLOCK) {
        xor_into(&mut x, block);
        let mut b = Array::from(x);
        mac1.encrypt_block(&mut b);
        x = b.into();
    }
    let mut last = [0u8; 16];
    last[..tail.len()].copy_from_slice(tail);
    if tail.len() < BLOCK {
        last[tail.len()] = PAD_MARKER;
    }
    xor_into(&mut x, &last);
    let mut b = Array::from(x);
    mac2.encrypt_block(&mut b);
    b.into()
}

/// The IV for data encryption: the bitwise NOT of a MAC (see the module doc for which MAC).
pub fn iv_from(mac: &[u8; 16]) -> [u8; 16] {
    mac.map(|b| !b)
}

/// AES-128-CBC under `s_enc` from `iv`, after always appending 0x80 and zero-padding to a multiple of 16.
/// The result is 16 to 16 * (len / 16 + 1) bytes: never empty.
pub fn encrypt(s_enc: &[u8; 16], iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
    encrypt_with(&cipher(s_enc), iv, data)
}

fn encrypt_with(aes: &Aes128, iv: &[u8; 16], data: &[u8]) -> Vec<u8> {
    let padded_len = (data.len() / BLOCK + 1) * BLOCK;
    let mut out = Vec::with_capacity(padded_len);
    out.extend_from_slice(data);
    out.push(PAD_MARKER);
    out.resize(padded_len, 0);
    let mut prev = *iv;
    for chunk in out.chunks_exact_mut(BLOCK) {
        xor_into(&mut prev, chunk);
        let mut b = Array::from(prev);
        aes.encrypt_block(&mut b);
        prev = b.into();
        chunk.copy_from_slice(&prev);
    }
    out
}

/// Inverse of [`encrypt`]: AES-128-CBC decryption, then removal of the 0x80-then-zeros padding, which must
/// lie within the last block.
pub fn decrypt(s_enc: &[u8; 16], iv: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, ScError> {
    decrypt_with(&cipher(s_enc), iv, data)
}

fn decrypt_with(aes: &Aes128, iv: &[u8; 16], data: &[u8]) -> Result<Vec<u8>, ScError> {
    if data.is_empty() || !data.len().is_multiple_of(BLOCK) {
        return Err(ScError::BadLength { len: data.len() });
    }
    let mut out = Vec::with_capacity(data.len());
    let mut prev = *iv;
    for chunk in data.chunks_exact(BLOCK) {
        let mut b = Array::try_from(chunk).expect("chunks_exact(16)");
        aes.decrypt_block(&mut b);
        let mut plain: [u8; 16] = b.into();
        xor_into(&mut plain, &prev);
        out.extend_from_slice(&plain);
        prev.copy_from_slice(chunk);
    }
    let last_block = &out[out.len() - BLOCK..];
    let marker = last_block.iter().rposition(|&b| b != 0).ok_or(ScError::BadPadding)?;
    if last_block[marker] != PAD_MARKER {
        return Err(ScError::BadPadding);
    }
    out.truncate(out.len() - BLOCK + marker);
    Ok(out)
}

/// One side's secure-channel state after the handshake: the session keys and the two chaining values.
/// `Debug` prints no keys and no MACs.
#[derive(Clone)]
pub struct ScSession {
    keys: SessionKeys,
    /// The last R-MAC (RMAC_I at first): the chain for the next command's MAC and the command IV.
    rmac: [u8; 16],
    /// The last C-MAC: the chain for the reply's MAC and the reply IV. None before the first command.
    cmac: Option<[u8; 16]>,
}

impl std::fmt::Debug for ScSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScSession").field("has_command_mac", &self.cmac.is_some()).finish_non_exhaustive()
    }
}

impl ScSession {
    /// A session whose R-MAC chain starts at `rmac_i` ([`initial_rmac`]), as both the CP (after checking the
    /// RMAC_I reply) and the PD (after sending it) hold it.
    pub fn new(keys: SessionKeys, rmac_i: [u8; 16]) -> Self {
        Self { keys, rmac: rmac_i, cmac: None }
    }

    /// Derives everything from the handshake inputs: session keys from SCBK and RND.A, then RMAC_I from the
    /// server cryptogram.
    pub fn from_handshake(scbk: &[u8; 16], rnd_a: &[u8; 8], rnd_b: &[u8; 8]) -> Self {
        let keys = SessionKeys::derive(scbk, rnd_a);
        let rmac_i = initial_rmac(&keys, &server_cryptogram(&keys, rnd_a, rnd_b));
        Self::new(keys, rmac_i)
    }

    /// The session keys.
    pub fn keys(&self) -> &SessionKeys {
        &self.keys
    }

    /// CP: MAC of a command packet (SOM up to the end of the possibly encrypted data), chained from the last
    /// R-MAC; stores the 16-byte C-MAC and returns the 4 bytes to send.
    pub fn cp_mac_command(&mut self, packet_before_mac: &[u8]) -> [u8; 4] {
        let cmac = mac(&self.keys, &self.rmac, packet_before_mac);
        self.cmac = Some(cmac);
        first4(&cmac)
    }

    /// PD: verifies a command's 4 MAC bytes against the chain from the last R-MAC; on success stores the C-MAC,
    /// on failure changes nothing.
    pub fn pd_verify_command(&mut self, packet_before_mac: &[u8], mac4: &[u8]) -> Result<(), ScError> {
        let cmac = mac(&self.keys, &self.rmac, packet_before_mac);
        if !ct_eq(&cmac[..MAC_LEN], mac4) {
            return Err(ScError::WrongMac);
        }
        self.cmac = Some(cmac);
        Ok(())
    }

    /// PD: MAC of a reply packet, chained from the C-MAC of the command it answers; stores the R-MAC.
    pub fn pd_mac_reply(&mut self, packet_before_mac: &[u8]) -> Result<[u8; 4], ScError> {
        let chain = self.cmac.ok_or(ScError::NoCommandMac)?;
        let rmac = mac(&self.keys, &chain, packet_before_mac);
        self.rmac = rmac;
        Ok(first4(&rmac))
    }

    /// CP: verifies a reply's 4 MAC bytes against the chain from the last C-MAC; on success stores the R-MAC,
    /// on failure changes nothing.
    pub fn cp_verify_reply(&mut self, packet_before_mac: &[u8], mac4: &[u8]) -> Result<(), ScError> {
        let chain = self.cmac.ok_or(ScError::NoCommandMac)?;
        let rmac = mac(&self.keys, &chain, packet_before_mac);
        if !ct_eq(&rmac[..MAC_LEN], mac4) {
            return Err(ScError::WrongMac);
        }
        self.rmac = rmac;
        Ok(())
    }

    /// IV for command data (CP encrypting, PD decrypting): !(last R-MAC).
    pub fn command_iv(&self) -> [u8; 16] {
        iv_from(&self.rmac)
    }

    /// IV for reply data (PD encrypting, CP decrypting): !(C-MAC of the command being answered).
    pub fn reply_iv(&self) -> Result<[u8; 16], ScError> {
        self.cmac.as_ref().map(iv_from).ok_or(ScError::NoCommandMac)
    }

    /// CP: encrypts command data (SCS_17) with IV = !(last R-MAC).
    pub fn encrypt_command_data(&self, data: &[u8]) -> Vec<u8> {
        encrypt_with(&self.keys.ciphers.enc, &self.command_iv(), data)
    }

    /// PD: decrypts command data (SCS_17) with IV = !(last R-MAC).
    pub fn decrypt_command_data(&self, data: &[u8]) -> Result<Vec<u8>, ScError> {
        decrypt_with(&self.keys.ciphers.enc, &self.command_iv(), data)
    }

    /// PD: encrypts reply data (SCS_18) with IV = !(C-MAC of the command being answered).
    pub fn encrypt_reply_data(&self, data: &[u8]) -> Result<Vec<u8>, ScError> {
        Ok(encrypt_with(&self.keys.ciphers.enc, &self.reply_iv()?, data))
    }

    /// CP: decrypts reply data (SCS_18) with IV = !(C-MAC of the command it sent).
    pub fn decrypt_reply_data(&self, data: &[u8]) -> Result<Vec<u8>, ScError> {
        decrypt_with(&self.keys.ciphers.enc, &self.reply_iv()?, data)
    }
}

fn first4(mac: &[u8; 16]) -> [u8; 4] {
    [mac[0], mac[1], mac[2], mac[3]]
}
