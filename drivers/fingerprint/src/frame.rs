//! One ZFM packet on the wire: `EF 01 | ADDR[4] | PID | LEN[2] | CONTENT[LEN-2] | SUM[2]`, all big-endian.
//!
//! [`decode`] works on whatever bytes have arrived so far and never panics: it answers with a frame and how many
//! bytes it used, a request for more bytes, or a number of garbage bytes to drop (with the reason), after which the
//! caller calls it again. Dropping garbage resynchronises on the next `EF 01`.

use std::fmt;

/// The start code, `EF 01`.
pub const START: [u8; 2] = [0xEF, 0x01];
/// The address every module answers to out of the box.
pub const DEFAULT_ADDRESS: u32 = 0xFFFF_FFFF;
/// Start code, address, PID and LEN: the bytes before the content.
pub const HEADER_LEN: usize = 9;
/// The checksum after the content.
pub const CHECKSUM_LEN: usize = 2;
/// The largest content the manual allows (LEN up to 258).
pub const MAX_PAYLOAD: usize = 256;
/// The smallest LEN (an empty content plus the checksum).
pub const MIN_LEN_FIELD: u16 = 2;
/// The largest LEN accepted.
pub const MAX_LEN_FIELD: u16 = MAX_PAYLOAD as u16 + 2;

const PID_OFFSET: usize = 6;
const LEN_OFFSET: usize = 7;

/// The packet identifier (PID).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// 0x01, host to module.
    Command,
    /// 0x02, a data packet with more to follow.
    Data,
    /// 0x07, module to host.
    Ack,
    /// 0x08, the last data packet of a transfer.
    EndData,
}

impl PacketKind {
    /// All kinds, in code order.
    pub const ALL: [PacketKind; 4] = [PacketKind::Command, PacketKind::Data, PacketKind::Ack, PacketKind::EndData];

    /// The PID byte.
    pub const fn code(self) -> u8 {
        match self {
            PacketKind::Command => 0x01,
            PacketKind::Data => 0x02,
            PacketKind::Ack => 0x07,
            PacketKind::EndData => 0x08,
        }
    }

    /// The kind for a PID byte, if it is one of the four.
    pub const fn from_code(code: u8) -> Option<PacketKind> {
        match code {
            0x01 => Some(PacketKind::Command),
            0x02 => Some(PacketKind::Data),
            0x07 => Some(PacketKind::Ack),
            0x08 => Some(PacketKind::EndData),
            _ => None,
        }
    }
}

impl fmt::Display for PacketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            PacketKind::Command => "command",
            PacketKind::Data => "data",
            PacketKind::Ack => "ack",
            PacketKind::EndData => "end-data",
        };
        write!(f, "{name} (PID {:02X})", self.code())
    }
}

/// Why bytes were not (or could not be) a frame. Offsets are counted from the first byte of the would-be frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The first two bytes are not `EF 01`.
    #[error("bad header at offset {offset}: expected start code EF 01, found {found:02X?}")]
    BadHeader {
        /// Always 0.
        offset: usize,
        /// The bytes found (one byte if the second is `EF` starting a new header, or only one was there).
        found: Vec<u8>,
    },
    /// The PID is none of 01, 02, 07, 08.
    #[error("bad PID at offset {offset}: expected 01, 02, 07 or 08, found {found:02X}")]
    BadPid {
        /// Always 6.
        offset: usize,
        /// The PID byte.
        found: u8,
    },
    /// LEN is below 2 or above 258.
    #[error(
        "length out of range at offset {offset}: expected LEN 2..=258 (content 0..=256 bytes + checksum), found {found}"
    )]
    BadLength {
        /// Always 7.
        offset: usize,
        /// The LEN field.
        found: u16,
    },
    /// The checksum does not add up.
    #[error(
        "checksum mismatch at offset {offset}: expected {expected:04X} (sum of PID, LEN and content), found {found:04X}"
    )]
    BadChecksum {
        /// Where the checksum field starts.
        offset: usize,
        /// What the bytes add up to.
        expected: u16,
        /// What the frame carried.
        found: u16,
    },
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame: expected at least {expected} bytes, found {found}")]
    Truncated {
        /// Bytes the frame needs (at least).
        expected: usize,
        /// Bytes there were.
        found: usize,
    },
    /// A frame to encode has more content than the protocol allows.
    #[error("payload too long to encode: expected at most {MAX_PAYLOAD} bytes, found {found}")]
    PayloadTooLong {
        /// The payload length.
        found: usize,
    },
}

/// One packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ZfmFrame {
    /// The module address (`FF FF FF FF` by default).
    pub address: u32,
    /// The PID.
    pub kind: PacketKind,
    /// The content between LEN and the checksum.
    pub payload: Vec<u8>,
}

/// What [`decode`] found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A complete, valid frame occupying the first `consumed` bytes.
    Frame {
        /// The frame.
        frame: ZfmFrame,
        /// Bytes to drop from the buffer.
        consumed: usize,
    },
    /// The buffer holds the start of what may be a frame; call again with more bytes.
    NeedMore,
    /// The first `count` bytes are garbage (`count >= 1`); drop them and call again.
    Skipped {
        /// Bytes to drop.
        count: usize,
        /// Why.
        reason: FrameError,
    },
}

/// The 16-bit checksum: PID + both LEN bytes + every content byte, truncated.
pub fn checksum(pid: u8, len_field: u16, payload: &[u8]) -> u16 {
    let [hi, lo] = len_field.to_be_bytes();
    payload.iter().fold(u16::from(pid).wrapping_add(u16::from(hi)).wrapping_add(u16::from(lo)), |sum, &b| {
        sum.wrapping_add(u16::from(b))
    })
}

impl ZfmFrame {
    /// A frame to or from the default address.
    pub fn new(kind: PacketKind, payload: impl Into<Vec<u8>>) -> ZfmFrame {
        ZfmFrame { address: DEFAULT_ADDRESS, kind, payload: payload.into() }
    }

    /// The bytes on the wire.
    ///
    /// # Panics
    /// If the payload is longer than [`MAX_PAYLOAD`]; [`ZfmFrame::try_encode`] reports that instead.
    pub fn encode(&self) -> Vec<u8> {
        match self.try_encode() {
            Ok(bytes) => bytes,
            Err(e) => panic!("{e}"),
        }
    }

    /// The bytes on the wire, or an error if the payload is longer than [`MAX_PAYLOAD`].
    pub fn try_encode(&self) -> Result<Vec<u8>, FrameError> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Appends the bytes on the wire to `out` (nothing is appended on error).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), FrameError> {
        if self.payload.len() > MAX_PAYLOAD {
            return Err(FrameError::PayloadTooLong { found: self.payload.len() });
        }
        let len_field = (self.payload.len() + CHECKSUM_LEN) as u16;
        let pid = self.kind.code();
        out.reserve(self.encoded_len());
        out.extend_from_slice(&START);
        out.extend_from_slice(&self.address.to_be_bytes());
        out.push(pid);
        out.extend_from_slice(&len_field.to_be_bytes());
        out.extend_from_slice(&self.payload);
        out.extend_from_slice(&checksum(pid, len_field, &self.payload).to_be_bytes());
        Ok(())
    }

    /// Length on the wire.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload.len() + CHECKSUM_LEN
    }
}

/// Where the next possible start code begins, searching from index 1. A trailing `EF` counts (its `01` may be
/// on the way). Returns `buf.len()` if there is none.
fn next_start(buf: &[u8]) -> usize {
    (1..buf.len()).find(|&i| buf[i] == START[0] && buf.get(i + 1).is_none_or(|&b| b == START[1])).unwrap_or(buf.len())
}

fn skip_to_next_start(buf: &[u8], reason: FrameError) -> Decoded {
    Decoded::Skipped { count: next_start(buf).max(1), reason }
}

/// Looks for a frame at the start of `buf`. See [`Decoded`] for the three answers.
///
/// Bad header, PID or LEN drop everything up to the next `EF 01`. A checksum mismatch drops only the first byte:
/// the LEN may have been the corrupted field, so a real frame can start anywhere inside the bad one.
pub fn decode(buf: &[u8]) -> Decoded {
    match buf {
        [] | [0xEF] => return Decoded::NeedMore,
        [first, ..] if *first != START[0] => {
            return skip_to_next_start(buf, FrameError::BadHeader { offset: 0, found: vec![*first] });
        }
        [first, second, ..] if *second != START[1] => {
            return skip_to_next_start(buf, FrameError::BadHeader { offset: 0, found: vec![*first, *second] });
        }
        _ => {}
    }
    if buf.len() < HEADER_LEN {
        return Decoded::NeedMore;
    }
    let pid = buf[PID_OFFSET];
    let Some(kind) = PacketKind::from_code(pid) else {
        return skip_to_next_start(buf, FrameError::BadPid { offset: PID_OFFSET, found: pid });
    };
    let len_field = u16::from_be_bytes([buf[LEN_OFFSET], buf[LEN_OFFSET + 1]]);
    if !(MIN_LEN_FIELD..=MAX_LEN_FIELD).contains(&len_field) {
        return skip_to_next_start(buf, FrameError::BadLength { offset: LEN_OFFSET, found: len_field });
    }
    let total = HEADER_LEN + usize::from(len_field);
    if buf.len() < total {
        return Decoded::NeedMore;
    }
    let sum_at = total - CHECKSUM_LEN;
    let payload = &buf[HEADER_LEN..sum_at];
    let expected = checksum(pid, len_field, payload);
    let found = u16::from_be_bytes([buf[sum_at], buf[sum_at + 1]]);
    if expected != found {
        return Decoded::Skipped { count: 1, reason: FrameError::BadChecksum { offset: sum_at, expected, found } };
    }
    let address = u32::from_be_bytes([buf[2], buf[3], buf[4], buf[5]]);
    Decoded::Frame { frame: ZfmFrame { address, kind, payload: payload.to_vec() }, consumed: total }
}

/// How many bytes a frame starting at `buf[0]` needs in total, once its header has arrived (for error messages
/// at end of stream). `None` before the LEN field is there.
pub fn frame_len_hint(buf: &[u8]) -> Option<usize> {
    (buf.len() >= HEADER_LEN).then(|| HEADER_LEN + usize::from(u16::from_be_bytes([buf[7], buf[8]])))
}
