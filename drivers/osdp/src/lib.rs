//! OSDP, the access-control peripheral bus (SIA OSDP 2.2 / IEC 60839-11-5): frames, commands and replies, the
//! secure channel's cryptography and a tokio-util codec (all pure: no I/O, no clocks), and [`cp`], the async
//! control-panel driver on top of them (the only module that does I/O, on tokio's clock).

pub mod bio;
pub mod codec;
pub mod command;
pub mod cp;
pub mod frame;
pub mod gate_io;
pub mod reply;
pub mod sc;
pub mod secure;
pub mod transfer;

pub use codec::{CodecError, DecodedFrame, OsdpCodec, SkipStats};
pub use command::{
    BioMatch, BioRead, Buzzer, Command, Expected, FileTransfer, KeySet, LedControl, LedPermanent, LedTemporary,
    OutputControl, PayloadError, Text,
};
pub use frame::{Decoded, FrameError, Integrity, OsdpFrame, Scb, decode, mac_input};
pub use reply::{BioReadR, Capability, FtStat, NakCode, PdId, RawCard, Reply};
