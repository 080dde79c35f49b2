//! ZFM/R30x fingerprint module protocol: frames, commands, replies, confirmation codes, image packing and a
//! tokio-util codec (pure: no I/O, no clocks), and [`Zfm`], the async host driver over any link.

pub mod codec;
pub mod command;
mod describe;
pub mod driver;
pub mod error;
pub mod frame;
pub mod image;

pub use codec::{CodecError, SkipStats, ZfmCodec, ZfmFormat};
pub use command::{
    Command, ConfirmationCode, IndexBitmap, PacketSize, PayloadError, ProductInfo, Reply, SystemParameters,
};
pub use driver::{
    EnrolOptions, Event, LedColour, LedMode, LinkStats, Options, SearchHit, Timeouts, Zfm, geometry, is_repeatable,
};
pub use error::{CommandId, ZfmError};
pub use frame::{DEFAULT_ADDRESS, Decoded, FrameError, PacketKind, ZfmFrame, decode};
