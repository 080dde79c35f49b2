//! Hosts a device simulator on an endpoint (a pty, a TCP listener) or in-process over an in-memory link,
//! with the line around it: optional pacing (the device's UART) and injected faults (a bad cable).
//!
//! A simulator implements [`Device`]: it serves one client session over a link. The host owns everything
//! else (where it listens, line rate, faults, shutdown), so every simulator gets those for free.

pub mod account;
pub mod config;
pub mod echo;
pub mod persist;
pub mod simulator;

pub use simulator::{Build, Built, BuiltCard, CardFactory, Console, Simulator};

use std::future::Future;
use std::sync::Arc;

use khil_link::{BoxLink, Endpoint, Fault, FaultLink, LineRate, LinkError, Paced, memory_pair};

/// The device side of a protocol: answers a client for as long as the session lasts.
pub trait Device: Send + Sync + 'static {
    /// Short name, as in `khil sim <name>` and `sim:<name>`.
    fn name(&self) -> &'static str;

    /// Serves one client session. Returns `Ok` when the client leaves (EOF); state that must outlive the
    /// session (a flash library, say) lives in `self`.
    fn serve(self: Arc<Self>, link: BoxLink) -> impl Future<Output = Result<(), LinkError>> + Send;
}

/// The line between the device and its client.
#[derive(Debug, Clone, Default)]
pub struct Line {
    /// Pace both directions at this rate, like the device's UART. `None`: memory speed.
    pub pace: Option<LineRate>,
    /// Faults on the line, drawn from `seed`.
    pub faults: Vec<Fault>,
    pub seed: u64,
}

impl Line {
    /// Wraps the device's end of a link: device <-> UART pacing <-> faulty cable <-> link.
    pub fn wrap(&self, link: BoxLink) -> BoxLink {
        let link: BoxLink =
            if self.faults.is_empty() { link } else { Box::new(FaultLink::new(link, &self.faults, self.seed)) };
        match self.pace {
            Some(rate) => Box::new(Paced::both(link, rate)),
            None => link,
        }
    }
}

/// Serves client sessions on `endpoint` one after another until `shutdown` completes.
pub async fn serve<D: Device>(
    device: Arc<D>,
    mut endpoint: Endpoint,
    line: Line,
    shutdown: impl Future<Output = ()>,
) -> Result<(), LinkError> {
    let sessions = async {
        loop {
            let link = endpoint.accept().await?;
            tracing::info!(device = device.name(), "client session started");
            match Arc::clone(&device).serve(line.wrap(link)).await {
                Ok(()) | Err(LinkError::PeerClosed) => tracing::info!(device = device.name(), "client session ended"),
                // One broken session does not take the device down; the next client gets a fresh one.
                Err(e) => tracing::warn!(device = device.name(), error = %e, "client session failed"),
            }
        }
    };
    tokio::select! {
        r = sessions => r,
        () = shutdown => Ok(()),
    }
}

/// Starts `device` in this process behind an in-memory link and returns the client's end.
/// Must be called inside a tokio runtime; the device task ends when the client end is dropped.
pub fn in_process<D: Device>(device: Arc<D>, line: &Line) -> BoxLink {
    let (client, device_end) = memory_pair();
    let link = line.wrap(Box::new(khil_link::Normalized::new(device_end)));
    let name = device.name();
    tokio::spawn(async move {
        match account::accounted(name, device.serve(link)).await {
            Ok(()) | Err(LinkError::PeerClosed) => {}
            Err(e) => tracing::warn!(device = name, error = %e, "in-process session failed"),
        }
    });
    Box::new(khil_link::Normalized::new(client))
}
