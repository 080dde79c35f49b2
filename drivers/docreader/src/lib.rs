//! Document readers: two channels, each a pure codec (no I/O, no clocks) and an async host driver over any link.
//!
//! - [`rte`]: the 3M RTE "native" MRZ block (SOH, 14-bit length, `O` `U`, STX, flag, three CR-terminated lines,
//!   ETX, BCC) over serial. A vendor's protocol: what its public manual says and what is unverified is in the
//!   module doc.
//! - [`frame`] and [`message`]: khil's own channel for page captures under white, infrared and ultraviolet light,
//!   VIZ text fields and document events, over TCP or serial, specified in `docs/docreader-protocol.md`.
//! - [`codec`]: tokio-util codecs for both (`khil_link::FrameCodec`); [`driver`]: [`RteReader`] and
//!   [`DocReader`].
//!
//! MRZ lines are read by `khil_mrtd::mrz` (one MRZ parser in khil). Page images, MRZs and VIZ values are
//! personal data: no `Debug` here shows them.

pub mod codec;
pub mod driver;
pub mod frame;
pub mod message;
pub mod rte;

pub use codec::{KhilCodec, KhilFormat, RteCodec};
pub use driver::{ChannelStats, DEFAULT_BAUD, DocReader, DocReaderError, Event, MrzRead, RteReader};
pub use frame::{Frame, FrameError};
pub use message::{
    Capture, DeviceInfo, DocumentPresent, ErrorCode, Light, LightSource, Message, MessageError, VizField, VizFields,
};
pub use rte::{RteError, RteFormat, RteFrame};
