//! The UART image format and data-packet transfers.
//!
//! Only the upper 4 bits of each 8-bit pixel travel, two pixels per byte, the first pixel in the high nibble
//! (256 x 288 pixels -> 36,864 bytes). [`unpack`] restores a pixel as `nibble << 4 | nibble` (the same as
//! `nibble * 17`), so 0 stays black, 15 becomes 255 (full white) and grey levels spread evenly over 0..=255.

use crate::frame::{DEFAULT_ADDRESS, MAX_PAYLOAD, PacketKind, ZfmFrame};

/// Packs 8-bit pixels into the 4-bit wire format. An odd last pixel goes in the high nibble of a last byte
/// whose low nibble is 0.
pub fn pack(pixels: &[u8]) -> Vec<u8> {
    pixels.chunks(2).map(|pair| (pair[0] & 0xF0) | pair.get(1).map_or(0, |&p| p >> 4)).collect()
}

/// Unpacks the wire format into 8-bit pixels, two per byte.
pub fn unpack(packed: &[u8]) -> Vec<u8> {
    packed.iter().flat_map(|&b| [expand(b >> 4), expand(b & 0x0F)]).collect()
}

/// A 4-bit level as an 8-bit pixel.
pub const fn expand(nibble: u8) -> u8 {
    (nibble << 4) | nibble
}

/// A transfer that does not follow the data packet rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransferError {
    /// A packet that is neither Data nor EndData.
    #[error("packet {index}: expected a data or end-data packet, found {found}")]
    NotData {
        /// Position in the sequence.
        index: usize,
        /// Its kind.
        found: PacketKind,
    },
    /// A packet after the EndData one.
    #[error("packet {index}: expected nothing after the end-data packet, found {found}")]
    AfterEnd {
        /// Position in the sequence.
        index: usize,
        /// Its kind.
        found: PacketKind,
    },
    /// The sequence ended without an EndData packet.
    #[error("expected an end-data packet to close the transfer, found {found} data packets and no end")]
    NoEnd {
        /// Packets seen.
        found: usize,
    },
}

/// Splits `data` into packets of `packet_size` content bytes from/to the default address: Data packets, the last
/// one EndData (and possibly short). Empty `data` gives a single empty EndData packet.
///
/// # Panics
/// If `packet_size` is 0 or above [`MAX_PAYLOAD`].
pub fn split(data: &[u8], packet_size: usize) -> Vec<ZfmFrame> {
    split_at_address(data, packet_size, DEFAULT_ADDRESS)
}

/// [`split`] for another module address.
///
/// # Panics
/// If `packet_size` is 0 or above [`MAX_PAYLOAD`].
pub fn split_at_address(data: &[u8], packet_size: usize, address: u32) -> Vec<ZfmFrame> {
    assert!((1..=MAX_PAYLOAD).contains(&packet_size), "packet size {packet_size} outside 1..={MAX_PAYLOAD}");
    if data.is_empty() {
        return vec![ZfmFrame { address, kind: PacketKind::EndData, payload: Vec::new() }];
    }
    let last = (data.len() - 1) / packet_size;
    data.chunks(packet_size)
        .enumerate()
        .map(|(i, chunk)| ZfmFrame {
            address,
            kind: if i == last { PacketKind::EndData } else { PacketKind::Data },
            payload: chunk.to_vec(),
        })
        .collect()
}

/// Joins the contents of a transfer's packets: any number of Data packets then exactly one EndData, last.
pub fn join<'a>(frames: impl IntoIterator<Item = &'a ZfmFrame>) -> Result<Vec<u8>, TransferError> {
    let mut out = Vec::new();
    let mut ended = false;
    let mut count = 0;
    for (index, frame) in frames.into_iter().enumerate() {
        count = index + 1;
        if ended {
            return Err(TransferError::AfterEnd { index, found: frame.kind });
        }
        match frame.kind {
            PacketKind::Data => {}
            PacketKind::EndData => ended = true,
            found => return Err(TransferError::NotData { index, found }),
        }
        out.extend_from_slice(&frame.payload);
    }
    if ended { Ok(out) } else { Err(TransferError::NoEnd { found: count }) }
}
