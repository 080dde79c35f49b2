//! Byte links: the one thing every khil driver and simulator moves bytes over.
//!
//! - [`url`]: device URLs (`serial://`, `tcp://`, `pty`, `sim:`, and `pcsc://` for smart cards, which are APDU
//!   devices opened by `khil-apdu`, not byte links), parsed with errors that say what is wrong;
//! - [`connect`] opens the client side a URL names; [`Endpoint`] is where a device (a simulator) listens;
//! - [`PtyDevice`]: the master side of a pty pair, the device end of a virtual serial port;
//! - [`Paced`]: line-rate pacing on tokio's clock; [`FaultLink`]: a seeded bad line; [`TcpRelay`]: a TCP link
//!   that can be cut and restored (a wide-area link going down);
//! - [`Normalized`] / [`LinkError::PeerClosed`]: one meaning for "the other end went away".
//!
//! A link is anything `AsyncRead + AsyncWrite`; codecs and drivers above take any [`Link`].

pub mod error;
pub mod fault;
pub mod framed;
pub mod memory;
pub mod open;
pub mod pacing;
pub mod pty;
pub mod relay;
pub mod serial;
pub mod url;

pub use error::{LinkError, Normalized, is_peer_closed};
pub use fault::{Fault, FaultLink, FaultLog};
pub use framed::{CodecError, Found, FrameCodec, FrameFormat, FramedLink, Received, SkipStats};
pub use memory::memory_pair;
pub use open::{Endpoint, NoSimulators, SimConnector, connect};
pub use pacing::{LineRate, Paced};
pub use pty::{ClientClose, PtyDevice};
pub use relay::TcpRelay;
pub use url::{DeviceUrl, Framing, PcscUrl, UrlError};

use tokio::io::{AsyncRead, AsyncWrite};

/// A bidirectional byte stream to or from a device.
pub trait Link: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Link for T {}

/// A link whose concrete type was chosen at run time from a URL.
pub type BoxLink = Box<dyn Link>;
