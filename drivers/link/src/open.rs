//! From a device URL to a connected link (client side) or to a listening endpoint (device side).

use std::fmt;

use tokio::net::{TcpListener, TcpStream};

use crate::error::{LinkError, Normalized};
use crate::pty::{ClientClose, PtyDevice};
use crate::url::{DeviceUrl, SimUrl};
use crate::{BoxLink, Link};

/// Starts an in-process simulator for a `sim:` URL and hands back the client end of its link.
///
/// The link crate knows no simulators (drivers never do); the binary that links both passes a registry in.
pub trait SimConnector: Send + Sync {
    fn connect_sim(&self, url: &SimUrl) -> Result<BoxLink, LinkError>;
}

/// For programs without simulators: every `sim:` URL is refused with a reason.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSimulators;

impl SimConnector for NoSimulators {
    fn connect_sim(&self, url: &SimUrl) -> Result<BoxLink, LinkError> {
        Err(LinkError::Unsupported {
            url: DeviceUrl::Sim(url.clone()).to_string(),
            why: "in-process simulators are only available through the khil binary".into(),
        })
    }
}

/// Opens the client side of the link a URL names. `default_baud` is the device protocol's default rate,
/// used when a serial URL gives none.
pub async fn connect(
    url: &DeviceUrl,
    default_baud: Option<u32>,
    sims: &dyn SimConnector,
) -> Result<BoxLink, LinkError> {
    let text = url.to_string();
    match url {
        DeviceUrl::Serial(s) => Ok(boxed(crate::serial::open_serial(s, default_baud)?)),
        DeviceUrl::Tcp(t) => {
            let stream = TcpStream::connect((t.host.as_str(), t.port))
                .await
                .map_err(|source| LinkError::Open { url: text, source })?;
            // Frames are small and latency-bound: never hold bytes back to coalesce them.
            stream.set_nodelay(true).map_err(LinkError::Io)?;
            Ok(boxed(stream))
        }
        DeviceUrl::Pty => Err(LinkError::Unsupported {
            url: text,
            why: "`pty` makes a new pair for a device; a client opens the serial:///dev/pts/N the device announces"
                .into(),
        }),
        DeviceUrl::Sim(s) => sims.connect_sim(s),
        DeviceUrl::Pcsc(_) => Err(LinkError::Unsupported {
            url: text,
            why: "this is an APDU (smart-card) device, not a byte link: open it with khil_apdu::connect \
                  (a device class that talks APDUs, such as an e-passport chip)"
                .into(),
        }),
    }
}

fn boxed(link: impl Link) -> BoxLink {
    Box::new(Normalized::new(link))
}

/// The device side: where a simulator listens.
pub enum Endpoint {
    /// One pty for the life of the process, in [`ClientClose::Wire`] mode: clients come and go.
    Pty { url: DeviceUrl, device: Option<PtyDevice> },
    /// One TCP connection at a time, like one host on one serial line.
    Tcp(TcpListener),
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({})", self.client_url())
    }
}

impl Endpoint {
    pub fn pty() -> Result<Self, LinkError> {
        PtyDevice::open(ClientClose::Wire)
            .map(|p| Endpoint::Pty { url: p.client_url(), device: Some(p) })
            .map_err(|source| LinkError::Open { url: "pty".into(), source })
    }

    pub async fn tcp(addr: &str) -> Result<Self, LinkError> {
        TcpListener::bind(addr)
            .await
            .map(Endpoint::Tcp)
            .map_err(|source| LinkError::Open { url: format!("tcp://{addr}"), source })
    }

    /// The URL a client connects to, as printed on a simulator's `ready` line.
    pub fn client_url(&self) -> DeviceUrl {
        match self {
            Endpoint::Pty { url, .. } => url.clone(),
            Endpoint::Tcp(l) => match l.local_addr() {
                Ok(a) => DeviceUrl::Tcp(crate::url::TcpUrl { host: a.ip().to_string(), port: a.port() }),
                Err(_) => DeviceUrl::Tcp(crate::url::TcpUrl { host: "unknown".into(), port: 1 }),
            },
        }
    }

    /// Waits for the next client session. A pty yields itself once (it is one wire for the process's life;
    /// later calls never return); TCP yields each accepted connection.
    pub async fn accept(&mut self) -> Result<BoxLink, LinkError> {
        match self {
            Endpoint::Pty { device, .. } => match device.take() {
                Some(p) => Ok(boxed(p)),
                None => std::future::pending().await,
            },
            Endpoint::Tcp(l) => {
                let (stream, peer) = l.accept().await.map_err(LinkError::Io)?;
                stream.set_nodelay(true).map_err(LinkError::Io)?;
                tracing::debug!(%peer, "client connected");
                Ok(boxed(stream))
            }
        }
    }
}
