//! One OSDP packet on the wire:
//!
//! ```text
//! [FF mark] 53 | ADDR | LEN_LSB LEN_MSB | CTRL | [SCB: len, type, data..] | CODE | DATA | [MAC 4] | CRC16 LE or CKSUM
//! ```
//!
//! LEN counts from SOM (`53`) through the CRC or checksum, SCB and MAC included, mark excluded. CTRL bits 1-0 are
//! the sequence number, bit 2 selects CRC-16 (set) or the 8-bit checksum (clear), bit 3 says an SCB follows; bits
//! 7-4 are reserved and must be zero. A MAC follows the data when the SCB type is 0x15-0x18.
//!
//! One exception on receive: a packet whose SCB calls for a MAC but whose LEN leaves no room for one decodes
//! with `mac: None`. Panels derived from OSDP.Net (its `Command.BuildCommand` until 2021) open with exactly that:
//! `FF 53 ADDR 0A 00 0C 02 15 60 CRC CRC`, a POLL with SQN 0 and SCB `[02 15]` but no MAC, because they add the
//! SCB whenever the PD is set up for the secure channel and the MAC only once a session is up. The packet is
//! well-formed otherwise (its CRC is right), so a PD must answer it as the spec says (NAK 6, security conditions
//! not met, as libosdp's PD does) and the panel then runs the handshake; dropped as garbage it would leave the
//! panel polling a silent PD forever.
//!
//! [`decode`] works on whatever bytes have arrived so far and never panics: it answers with a frame (and where its
//! bytes are), a request for more bytes, or a number of garbage bytes to drop (with the reason), after which the
//! caller calls it again. Any number of leading `FF` marks is accepted, none included.
//!
//! Resynchronisation: a bad SOM, CTRL, LEN or SCB length drops everything up to the next byte that could start a
//! frame (`53`, or an `FF` mark). A CRC or checksum mismatch drops the marks and the SOM only: LEN may have been
//! the corrupted field, so a real frame can start anywhere inside the bad one.
//!
//! # The secure channel's MAC
//!
//! The MAC covers the packet from SOM through the last data byte, with LEN already counting the MAC and the CRC.
//! For a received packet, [`mac_input`] takes the packet's bytes (`buf[packet]` from [`Decoded::Frame`], or
//! [`crate::codec::DecodedFrame::raw`]) and returns that slice. For an outgoing frame, [`OsdpFrame::seal`] hands
//! the same bytes to a closure and stores the 4 bytes it returns as the frame's MAC; [`OsdpFrame::mac_input`]
//! returns them without sealing.

use std::fmt;
use std::ops::Range;

/// The mark byte a packet may be preceded by.
pub const MARK: u8 = 0xFF;
/// Start of message.
pub const SOM: u8 = 0x53;
/// The broadcast address.
pub const BROADCAST: u8 = 0x7F;
/// Bit 7 of ADDR: set on replies (PD to CP).
pub const REPLY_BIT: u8 = 0x80;
/// SOM, ADDR, LEN (2) and CTRL: the bytes before the SCB or the code.
pub const HEADER_LEN: usize = 5;
/// The MAC's length on the wire.
pub const MAC_LEN: usize = 4;
/// The largest LEN accepted (and encoded).
///
/// LEN is a 16-bit field, but no device sends anything near that: libosdp's buffers are 256 bytes and the largest
/// message a PD takes is announced in PDCAP (function 10/11) or set with ACURXSIZE. 1440 leaves room for large
/// FILETRANSFER fragments and biometric templates while bounding how long a LEN corrupted upwards can hold up the
/// frames behind it (1440 bytes is 1.5 s at 9600 baud).
pub const MAX_LEN: u16 = 1440;
/// The smallest SCB (its length and type bytes).
pub const MIN_SCB_LEN: u8 = 2;

const CTRL_SQN: u8 = 0x03;
const CTRL_CRC: u8 = 0x04;
const CTRL_SCB: u8 = 0x08;
const CTRL_RESERVED: u8 = 0xF0;
const LEN_OFFSET: usize = 2;
const CTRL_OFFSET: usize = 4;
const SCB_OFFSET: usize = 5;

const CRC16: crc::Crc<u16> = crc::Crc::<u16>::new(&crc::CRC_16_SPI_FUJITSU);

/// CRC-16/AUG-CCITT (poly 0x1021, init 0x1D0F, not reflected), as OSDP uses it. Sent little-endian.
pub fn crc16(bytes: &[u8]) -> u16 {
    CRC16.checksum(bytes)
}

/// The 8-bit checksum: the two's complement of the sum of the bytes.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |sum, &b| sum.wrapping_add(b)).wrapping_neg()
}

/// SCB types (SEC_BLK_TYPE) of the secure channel, SCS_11 to SCS_18.
pub mod scs {
    /// CHLNG: the key type in the SCB data (1 the PD's own SCBK, 0 the default SCBK-D).
    pub const CHLNG: u8 = 0x11;
    /// CCRYPT.
    pub const CCRYPT: u8 = 0x12;
    /// SCRYPT.
    pub const SCRYPT: u8 = 0x13;
    /// RMAC_I: the status byte in the SCB data.
    pub const RMAC_I: u8 = 0x14;
    /// A command with a MAC, data in clear.
    pub const CMD_MAC: u8 = 0x15;
    /// A reply with a MAC, data in clear.
    pub const REPLY_MAC: u8 = 0x16;
    /// A command with a MAC, data encrypted.
    pub const CMD_ENC: u8 = 0x17;
    /// A reply with a MAC, data encrypted.
    pub const REPLY_ENC: u8 = 0x18;
}

/// Whether an SCB of this type is followed by a MAC after the data (0x15-0x18).
pub const fn scb_has_mac(kind: u8) -> bool {
    matches!(kind, scs::CMD_MAC..=scs::REPLY_ENC)
}

/// The sequence number after `sqn`: 0 starts a session, then 1, 2, 3, 1, 2, ...
pub const fn next_sqn(sqn: u8) -> u8 {
    if sqn >= 3 { 1 } else { sqn + 1 }
}

/// The check at the end of the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Integrity {
    /// CRC-16, two bytes, CTRL bit 2 set.
    Crc16,
    /// 8-bit checksum, one byte, CTRL bit 2 clear.
    Checksum,
}

impl Integrity {
    /// "CRC-16" or "checksum", for evidence and logs.
    pub const fn name(self) -> &'static str {
        match self {
            Integrity::Crc16 => "CRC-16",
            Integrity::Checksum => "checksum",
        }
    }

    /// Bytes on the wire.
    pub const fn wire_len(self) -> usize {
        match self {
            Integrity::Crc16 => 2,
            Integrity::Checksum => 1,
        }
    }
}

/// The security control block.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Scb {
    /// SEC_BLK_TYPE (0x11-0x18 in the secure channel).
    pub kind: u8,
    /// SEC_BLK_DATA (at most 253 bytes; the length byte is `2 + data.len()`).
    pub data: Vec<u8>,
}

impl Scb {
    /// An SCB with `data`.
    pub fn new(kind: u8, data: impl Into<Vec<u8>>) -> Scb {
        Scb { kind, data: data.into() }
    }

    /// Whether a MAC follows the frame's data.
    pub const fn has_mac(&self) -> bool {
        scb_has_mac(self.kind)
    }
}

impl fmt::Debug for Scb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // SCB data is a key type or a status byte, never a secret.
        write!(f, "Scb({:02X} {:02X?})", self.kind, self.data)
    }
}

/// Why bytes were not (or could not be) a frame. Offsets count from the SOM of the would-be frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The byte after the marks is not SOM.
    #[error("bad start at offset {offset}: expected SOM 53 (after optional FF marks), found {found:02X}")]
    BadStart {
        /// Always 0.
        offset: usize,
        /// The byte found.
        found: u8,
    },
    /// CTRL has reserved bits set.
    #[error("bad CTRL at offset {offset}: expected reserved bits 7-4 clear, found {found:02X}")]
    BadControl {
        /// Always 4.
        offset: usize,
        /// The CTRL byte.
        found: u8,
    },
    /// LEN is shorter than the header, SCB, code, MAC and check need, or longer than [`MAX_LEN`].
    #[error("length out of range at offset {offset}: expected LEN {min}..={max}, found {found}")]
    BadLength {
        /// Always 2.
        offset: usize,
        /// The smallest LEN this CTRL (and SCB) allows.
        min: u16,
        /// The largest LEN accepted.
        max: u16,
        /// The LEN field.
        found: u16,
    },
    /// The SCB length byte is below 2.
    #[error("bad SCB length at offset {offset}: expected at least {MIN_SCB_LEN}, found {found}")]
    BadScbLength {
        /// Always 5.
        offset: usize,
        /// The SCB length byte.
        found: u8,
    },
    /// The CRC-16 does not match.
    #[error("CRC mismatch at offset {offset}: expected {expected:04X}, found {found:04X}")]
    BadCrc {
        /// Where the CRC starts.
        offset: usize,
        /// The CRC of the bytes before it.
        expected: u16,
        /// The CRC the frame carried.
        found: u16,
    },
    /// The checksum does not match.
    #[error("checksum mismatch at offset {offset}: expected {expected:02X}, found {found:02X}")]
    BadChecksum {
        /// Where the checksum is.
        offset: usize,
        /// The checksum of the bytes before it.
        expected: u8,
        /// The checksum the frame carried.
        found: u8,
    },
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame: expected at least {expected} bytes, found {found}")]
    Truncated {
        /// Bytes the frame needs (at least).
        expected: usize,
        /// Bytes there were.
        found: usize,
    },
    /// A frame to encode has a field out of range (address above 0x7F, SQN above 3, SCB data above 253 bytes).
    #[error("cannot encode: {field} expected {expected}, found {found}")]
    FieldOutOfRange {
        /// "address", "sqn" or "SCB data length".
        field: &'static str,
        /// The allowed range.
        expected: &'static str,
        /// The value.
        found: usize,
    },
    /// A frame to encode would be longer than [`MAX_LEN`].
    #[error("cannot encode: expected LEN at most {max}, found {found}")]
    TooLong {
        /// [`MAX_LEN`].
        max: u16,
        /// The LEN the frame would have.
        found: usize,
    },
    /// A frame to encode has a MAC without an SCB of type 0x15-0x18, or such an SCB without a MAC.
    #[error("cannot encode: {expected}, found {found}")]
    MacMismatch {
        /// What the SCB calls for.
        expected: &'static str,
        /// What the frame has.
        found: &'static str,
    },
}

/// One packet (command or reply).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OsdpFrame {
    /// The PD address, 0x00-0x7E, or [`BROADCAST`] (0x7F).
    pub address: u8,
    /// ADDR bit 7: a reply from the PD.
    pub reply: bool,
    /// Sequence number 0-3.
    pub sqn: u8,
    /// CRC-16 or checksum.
    pub integrity: Integrity,
    /// The security control block, if any.
    pub scb: Option<Scb>,
    /// Command or reply code.
    pub code: u8,
    /// The data after the code (encrypted under SCB 0x17/0x18).
    pub data: Vec<u8>,
    /// The MAC, present exactly when the SCB type is 0x15-0x18 (on receive it may be missing from such a
    /// packet: see the module documentation).
    pub mac: Option<[u8; MAC_LEN]>,
}

/// Bytes in hex for Debug.
struct HexBytes<'a>(&'a [u8]);

impl fmt::Debug for HexBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X?}", self.0)
    }
}

impl fmt::Debug for OsdpFrame {
    /// The data is shown as its length only: it may be a key (KEYSET), a template or a biometric sample.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OsdpFrame")
            .field("address", &format_args!("{:02X}", self.address))
            .field("reply", &self.reply)
            .field("sqn", &self.sqn)
            .field("integrity", &self.integrity)
            .field("scb", &self.scb)
            .field("code", &format_args!("{:02X}", self.code))
            .field("data", &format_args!("<{} bytes>", self.data.len()))
            .field("mac", &self.mac.as_ref().map(|m| HexBytes(m)))
            .finish()
    }
}

/// What [`decode`] found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A complete, valid frame occupying the first `consumed` bytes (marks included).
    Frame {
        /// The frame.
        frame: OsdpFrame,
        /// Bytes to drop from the buffer.
        consumed: usize,
        /// Where the packet is in the buffer: SOM through the CRC/checksum (marks excluded). `packet.end ==
        /// consumed`. Give `&buf[packet]` to [`mac_input`] to check the MAC.
        packet: Range<usize>,
    },
    /// The buffer is empty, holds only marks, or holds the start of what may be a frame; call again with more.
    NeedMore,
    /// The first `count` bytes are garbage (`count >= 1`); drop them and call again.
    Skipped {
        /// Bytes to drop.
        count: usize,
        /// Why.
        reason: FrameError,
    },
}

impl OsdpFrame {
    /// A plain (no SCB) command to `address` with CRC-16.
    pub fn command(address: u8, sqn: u8, code: u8, data: impl Into<Vec<u8>>) -> OsdpFrame {
        OsdpFrame {
            address,
            reply: false,
            sqn,
            integrity: Integrity::Crc16,
            scb: None,
            code,
            data: data.into(),
            mac: None,
        }
    }

    /// A plain (no SCB) reply from `address` with CRC-16.
    pub fn reply(address: u8, sqn: u8, code: u8, data: impl Into<Vec<u8>>) -> OsdpFrame {
        OsdpFrame { reply: true, ..OsdpFrame::command(address, sqn, code, data) }
    }

    /// The ADDR byte (address, plus bit 7 on replies).
    pub const fn addr_byte(&self) -> u8 {
        if self.reply { self.address | REPLY_BIT } else { self.address }
    }

    /// The CTRL byte.
    pub const fn ctrl_byte(&self) -> u8 {
        let mut ctrl = self.sqn & CTRL_SQN;
        if matches!(self.integrity, Integrity::Crc16) {
            ctrl |= CTRL_CRC;
        }
        if self.scb.is_some() {
            ctrl |= CTRL_SCB;
        }
        ctrl
    }

    /// Whether the SCB calls for a MAC.
    pub fn wants_mac(&self) -> bool {
        self.scb.as_ref().is_some_and(Scb::has_mac)
    }

    fn validate_fields(&self) -> Result<usize, FrameError> {
        if self.address > BROADCAST {
            return Err(FrameError::FieldOutOfRange {
                field: "address",
                expected: "0x00..=0x7F",
                found: usize::from(self.address),
            });
        }
        if self.sqn > CTRL_SQN {
            return Err(FrameError::FieldOutOfRange { field: "sqn", expected: "0..=3", found: usize::from(self.sqn) });
        }
        let scb_len = match &self.scb {
            None => 0,
            Some(scb) if scb.data.len() > usize::from(u8::MAX - MIN_SCB_LEN) => {
                return Err(FrameError::FieldOutOfRange {
                    field: "SCB data length",
                    expected: "0..=253",
                    found: scb.data.len(),
                });
            }
            Some(scb) => usize::from(MIN_SCB_LEN) + scb.data.len(),
        };
        let mac_len = if self.wants_mac() { MAC_LEN } else { 0 };
        let len = HEADER_LEN + scb_len + 1 + self.data.len() + mac_len + self.integrity.wire_len();
        if len > usize::from(MAX_LEN) {
            return Err(FrameError::TooLong { max: MAX_LEN, found: len });
        }
        Ok(len)
    }

    /// The packet's length on the wire (the LEN field; a mark would add one), after checking that every field is
    /// in range and that a MAC is present exactly when the SCB calls for one.
    pub fn checked_len(&self) -> Result<usize, FrameError> {
        let len = self.validate_fields()?;
        match (self.wants_mac(), self.mac.is_some()) {
            (true, false) => Err(FrameError::MacMismatch {
                expected: "a MAC (SCB type 15-18); seal the frame first",
                found: "no MAC",
            }),
            (false, true) => Err(FrameError::MacMismatch { expected: "no MAC (no SCB of type 15-18)", found: "a MAC" }),
            _ => Ok(len),
        }
    }

    /// SOM through the last data byte, LEN counting a MAC if the SCB calls for one, and that length.
    fn body(&self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 1);
        out.push(SOM);
        out.push(self.addr_byte());
        out.extend_from_slice(&(len as u16).to_le_bytes());
        out.push(self.ctrl_byte());
        if let Some(scb) = &self.scb {
            out.push(MIN_SCB_LEN + scb.data.len() as u8);
            out.push(scb.kind);
            out.extend_from_slice(&scb.data);
        }
        out.push(self.code);
        out.extend_from_slice(&self.data);
        out
    }

    fn finish(&self, mut out: Vec<u8>) -> Vec<u8> {
        if let Some(mac) = &self.mac {
            out.extend_from_slice(mac);
        }
        match self.integrity {
            Integrity::Crc16 => {
                let crc = crc16(&out);
                out.extend_from_slice(&crc.to_le_bytes());
            }
            Integrity::Checksum => out.push(checksum(&out)),
        }
        out
    }

    /// The bytes on the wire, with a leading mark if `mark`, or why the frame cannot be encoded (see
    /// [`OsdpFrame::checked_len`]).
    pub fn try_encode(&self, mark: bool) -> Result<Vec<u8>, FrameError> {
        let len = self.checked_len()?;
        let packet = self.finish(self.body(len));
        if mark {
            let mut out = Vec::with_capacity(packet.len() + 1);
            out.push(MARK);
            out.extend_from_slice(&packet);
            Ok(out)
        } else {
            Ok(packet)
        }
    }

    /// The bytes on the wire, with a leading mark if `mark`.
    ///
    /// # Panics
    /// If the frame cannot be encoded; [`OsdpFrame::try_encode`] reports that instead.
    pub fn encode(&self, mark: bool) -> Vec<u8> {
        match self.try_encode(mark) {
            Ok(bytes) => bytes,
            Err(e) => panic!("{e}"),
        }
    }

    /// The bytes the secure channel MACs for this frame: SOM through the last data byte, LEN counting the MAC and
    /// the check (whether or not [`OsdpFrame::mac`] is set yet). Errors if the SCB does not call for a MAC or a
    /// field is out of range.
    pub fn mac_input(&self) -> Result<Vec<u8>, FrameError> {
        if !self.wants_mac() {
            return Err(FrameError::MacMismatch { expected: "an SCB of type 15-18 to MAC", found: "none" });
        }
        let len = self.validate_fields()?;
        Ok(self.body(len))
    }

    /// Computes the MAC with `mac` over [`OsdpFrame::mac_input`] and stores it, so that [`OsdpFrame::encode`]
    /// sends it. The closure gets the bytes before the MAC and returns the 4 bytes to send (a secure channel keeps
    /// the full 16-byte MAC for chaining itself). The SCB must be of type 0x15-0x18; the data must already be
    /// encrypted if it is to be.
    pub fn seal(&mut self, mac: impl FnOnce(&[u8]) -> [u8; MAC_LEN]) -> Result<(), FrameError> {
        let input = self.mac_input()?;
        self.mac = Some(mac(&input));
        Ok(())
    }
}

/// The bytes a received packet's MAC was computed over: SOM through the last data byte. `packet` is one whole
/// packet without marks (`&buf[packet]` of [`Decoded::Frame`]). `None` if it has no MAC (no SCB of type
/// 0x15-0x18) or is not a well-formed packet.
pub fn mac_input(packet: &[u8]) -> Option<&[u8]> {
    packet.get(..mac_position(packet)?)
}

/// The MAC a received packet carries (see [`mac_input`]).
pub fn packet_mac(packet: &[u8]) -> Option<[u8; MAC_LEN]> {
    let mac_at = mac_position(packet)?;
    packet.get(mac_at..mac_at + MAC_LEN)?.try_into().ok()
}

fn mac_position(packet: &[u8]) -> Option<usize> {
    let ctrl = *packet.get(CTRL_OFFSET)?;
    if packet.first() != Some(&SOM) || ctrl & CTRL_SCB == 0 || !scb_has_mac(*packet.get(SCB_OFFSET + 1)?) {
        return None;
    }
    let integrity = if ctrl & CTRL_CRC != 0 { 2 } else { 1 };
    let mac_at = packet.len().checked_sub(integrity + MAC_LEN)?;
    let scb_len = usize::from(*packet.get(SCB_OFFSET)?);
    // The code sits between the SCB and the MAC.
    (mac_at > SCB_OFFSET + scb_len).then_some(mac_at)
}

/// Index of the next byte at or after `from` that could start a frame (`53` or a mark), or `buf.len()`.
fn next_start(buf: &[u8], from: usize) -> usize {
    (from..buf.len()).find(|&i| buf[i] == SOM || buf[i] == MARK).unwrap_or(buf.len())
}

fn resync(buf: &[u8], som_at: usize, reason: FrameError) -> Decoded {
    Decoded::Skipped { count: next_start(buf, som_at + 1), reason }
}

/// Looks for a frame at the start of `buf`, after any number of marks. See [`Decoded`] for the three answers and
/// the module documentation for the resynchronisation rules.
pub fn decode(buf: &[u8]) -> Decoded {
    decode_with_max(buf, MAX_LEN)
}

/// [`decode`] with another largest LEN than [`MAX_LEN`] (frames longer than that are then skipped as garbage).
pub fn decode_with_max(buf: &[u8], max_len: u16) -> Decoded {
    let s = buf.iter().take_while(|&&b| b == MARK).count();
    let Some(&som) = buf.get(s) else {
        return Decoded::NeedMore;
    };
    if som != SOM {
        return resync(buf, s, FrameError::BadStart { offset: 0, found: som });
    }
    let p = &buf[s..];
    if p.len() < HEADER_LEN {
        return Decoded::NeedMore;
    }
    let ctrl = p[CTRL_OFFSET];
    if ctrl & CTRL_RESERVED != 0 {
        return resync(buf, s, FrameError::BadControl { offset: CTRL_OFFSET, found: ctrl });
    }
    let integrity = if ctrl & CTRL_CRC != 0 { Integrity::Crc16 } else { Integrity::Checksum };
    let len_field = u16::from_le_bytes([p[LEN_OFFSET], p[LEN_OFFSET + 1]]);
    let mut min = HEADER_LEN + 1 + integrity.wire_len();
    let mut scb_len = 0;
    let mut has_mac = false;
    if ctrl & CTRL_SCB != 0 {
        min += usize::from(MIN_SCB_LEN);
        let bad_length = FrameError::BadLength { offset: LEN_OFFSET, min: min as u16, max: max_len, found: len_field };
        if usize::from(len_field) < min {
            return resync(buf, s, bad_length);
        }
        let Some(&scb_byte) = p.get(SCB_OFFSET) else {
            return Decoded::NeedMore;
        };
        if scb_byte < MIN_SCB_LEN {
            return resync(buf, s, FrameError::BadScbLength { offset: SCB_OFFSET, found: scb_byte });
        }
        let Some(&kind) = p.get(SCB_OFFSET + 1) else {
            return Decoded::NeedMore;
        };
        scb_len = usize::from(scb_byte);
        min = HEADER_LEN + scb_len + 1 + integrity.wire_len();
        // A MAC only if LEN has room for it: an SCB 15-18 packet without one is still a packet (module doc).
        has_mac = scb_has_mac(kind) && usize::from(len_field) >= min + MAC_LEN;
        if has_mac {
            min += MAC_LEN;
        }
    }
    let len = usize::from(len_field);
    if len < min || len_field > max_len {
        let min = min.min(usize::from(u16::MAX)) as u16;
        return resync(buf, s, FrameError::BadLength { offset: LEN_OFFSET, min, max: max_len, found: len_field });
    }
    if p.len() < len {
        return Decoded::NeedMore;
    }
    let p = &p[..len];
    let check_at = len - integrity.wire_len();
    let mismatch = match integrity {
        Integrity::Crc16 => {
            let expected = crc16(&p[..check_at]);
            let found = u16::from_le_bytes([p[check_at], p[check_at + 1]]);
            (expected != found).then_some(FrameError::BadCrc { offset: check_at, expected, found })
        }
        Integrity::Checksum => {
            let expected = checksum(&p[..check_at]);
            let found = p[check_at];
            (expected != found).then_some(FrameError::BadChecksum { offset: check_at, expected, found })
        }
    };
    if let Some(reason) = mismatch {
        return Decoded::Skipped { count: s + 1, reason };
    }
    let scb =
        (scb_len > 0).then(|| Scb { kind: p[SCB_OFFSET + 1], data: p[SCB_OFFSET + 2..SCB_OFFSET + scb_len].to_vec() });
    let code_at = HEADER_LEN + scb_len;
    let mac_at = if has_mac { check_at - MAC_LEN } else { check_at };
    let mac = has_mac.then(|| {
        let mut mac = [0; MAC_LEN];
        mac.copy_from_slice(&p[mac_at..check_at]);
        mac
    });
    let frame = OsdpFrame {
        address: p[1] & !REPLY_BIT,
        reply: p[1] & REPLY_BIT != 0,
        sqn: ctrl & CTRL_SQN,
        integrity,
        scb,
        code: p[code_at],
        data: p[code_at + 1..mac_at].to_vec(),
        mac,
    };
    Decoded::Frame { frame, consumed: s + len, packet: s..s + len }
}

/// How many bytes a frame starting at `buf[0]` (marks included) needs in total, once its LEN has arrived (for
/// reserving buffer space and for error messages at end of stream). `None` before that.
pub fn frame_len_hint(buf: &[u8]) -> Option<usize> {
    let s = buf.iter().take_while(|&&b| b == MARK).count();
    let p = buf.get(s..)?;
    (p.len() >= HEADER_LEN && p[0] == SOM).then(|| s + usize::from(u16::from_le_bytes([p[2], p[3]])))
}
