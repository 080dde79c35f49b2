//! ZFM/R30x fingerprint module protocol: frames, commands, replies, confirmation codes, image packing and a
//! tokio-util codec. Pure: no I/O, no clocks.

pub mod codec;
pub mod command;
pub mod frame;
pub mod image;

pub use codec::{CodecError, SkipStats, ZfmCodec};
pub use command::{
    Command, ConfirmationCode, IndexBitmap, PacketSize, PayloadError, ProductInfo, Reply, SystemParameters,
};
pub use frame::{DEFAULT_ADDRESS, Decoded, FrameError, PacketKind, ZfmFrame, decode};
