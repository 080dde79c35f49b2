//! What a simulator crate declares so that `khil sim <device>` and `sim:<device>?...` can both make its device:
//! a [`Simulator`] (name, help, parameters, and how to build the device from [`Params`]). The list of them is
//! `khil-sim-registry`; nothing else knows which simulators exist.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use khil_link::{BoxLink, Endpoint, LinkError};

use crate::config::{ParamError, ParamSpec, Params};
use crate::{Device, Line};

/// One simulator: its name and help, its own parameters (besides [`crate::config::LINE_PARAMS`]), and how to
/// build it. Built inside a tokio runtime; everything slow (synthesising fingers) happens in `build`, so that a
/// client's first request does not wait for it.
#[derive(Debug, Clone, Copy)]
pub struct Simulator {
    /// `khil sim <name>`, `sim:<name>`.
    pub name: &'static str,
    /// One line for `khil sim --help`.
    pub about: &'static str,
    /// Examples and notes for `khil sim <name> --help`.
    pub help: &'static str,
    pub params: &'static [ParamSpec],
    pub build: Build,
}

/// How a simulator is made: a device on a byte stream (served on a pty, TCP or in memory), or a smart card
/// (answering APDUs: in an in-memory reader, or plugged into pcscd's vpcd).
#[derive(Debug, Clone, Copy)]
pub enum Build {
    Stream(fn(&Params) -> Result<Built, ParamError>),
    Card(fn(&Params) -> Result<BuiltCard, ParamError>),
}

/// Makes the card a reader powers up: a fresh chip each time a document is presented.
pub type CardFactory = Arc<dyn Fn() -> Box<dyn khil_apdu::Card> + Send + Sync>;

/// A smart-card simulator ready to serve: how to make its card, whether it is in the reader now (a traveller
/// lays a passport on the reader and takes it away: the console changes this), and its console.
pub struct BuiltCard {
    pub card: CardFactory,
    pub presented: tokio::sync::watch::Receiver<bool>,
    pub console: Option<Arc<dyn Console>>,
}

impl std::fmt::Debug for BuiltCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuiltCard").field("presented", &*self.presented.borrow()).finish_non_exhaustive()
    }
}

impl BuiltCard {
    /// The card in an in-memory reader (a `sim:` URL), presented once.
    pub fn in_memory(&self) -> khil_apdu::MemoryReader {
        khil_apdu::memory_pair((self.card)()).0
    }

    /// Plugs the card into pcscd through vpcd whenever it is presented, taking it out (closing the connection,
    /// which empties the reader) when it is removed, until `shutdown`. `first`: a connection already made (the
    /// caller checked vpcd is there before saying ready), used for the first presentation so that pcscd does not
    /// see a card come and go at start-up.
    pub async fn serve_vpcd(
        mut self,
        endpoint: khil_apdu::vpcd::VpcdEndpoint,
        mut first: Option<khil_apdu::vpcd::VpcdSession>,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), khil_apdu::TransportError> {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                changed = self.presented.wait_for(|p| *p) => if changed.is_err() { return Ok(()) },
            }
            let mut card = (self.card)();
            let mut presented = self.presented.clone();
            let mut removed = std::pin::pin!(async move {
                let _ = presented.wait_for(|p| !*p).await;
            });
            if let Some(mut session) = first.take() {
                tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    () = &mut removed => continue,
                    // vpcd went away (pcscd restarted): the card stays presented and is plugged in again below.
                    ended = session.run(card.as_mut()) => tracing::warn!(?ended, "vpcd closed the connection"),
                }
            }
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                served = endpoint.serve(card.as_mut(), removed) => served?,
            }
        }
    }
}

/// A simulator ready to serve: the device, the line in front of it, and its console if it has one.
pub struct Built {
    pub device: Arc<dyn DynDevice>,
    pub line: Line,
    pub console: Option<Arc<dyn Console>>,
    /// Further channels of the same device (a document reader's RTE MRZ line beside its main channel), each
    /// served on an endpoint of its own by `khil sim`, named in a line `<name> <url>` after the ready line. A
    /// `sim:` URL reaches the main channel only.
    pub channels: Vec<(&'static str, Arc<dyn DynDevice>)>,
}

impl std::fmt::Debug for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Built").field("device", &self.device.name()).field("line", &self.line).finish_non_exhaustive()
    }
}

impl Built {
    pub fn new<D: Device>(device: Arc<D>, line: Line) -> Built {
        Built { device, line, console: None, channels: Vec::new() }
    }

    /// Adds a further channel called `name` (see [`Built::channels`]).
    #[must_use]
    pub fn with_channel<D: Device>(mut self, name: &'static str, device: Arc<D>) -> Built {
        self.channels.push((name, device));
        self
    }

    #[must_use]
    pub fn with_console(self, console: Arc<dyn Console>) -> Built {
        Built { console: Some(console), ..self }
    }

    /// The device in this process behind an in-memory link (a `sim:` URL).
    pub fn in_process(self) -> BoxLink {
        crate::in_process(Arc::new(AnyDevice(self.device)), &self.line)
    }

    /// Serves clients on `endpoint` until `shutdown` (`khil sim`).
    pub async fn serve(self, endpoint: Endpoint, shutdown: impl Future<Output = ()>) -> Result<(), LinkError> {
        crate::serve(Arc::new(AnyDevice(self.device)), endpoint, self.line, shutdown).await
    }

    /// Serves clients of further channel `device` on `endpoint` until `shutdown`, without the main channel's line
    /// faults or pacing.
    pub async fn serve_channel(
        device: Arc<dyn DynDevice>,
        endpoint: Endpoint,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), LinkError> {
        crate::serve(Arc::new(AnyDevice(device)), endpoint, Line::default(), shutdown).await
    }
}

/// A simulator's console: lines a person types (`place 7`, `traveller normal`) and what happened at the device
/// since it was last asked, both in words for a person to read.
pub trait Console: Send + Sync {
    /// Does what `line` says; the answer to show, or why the line was not understood (saying what is).
    fn command(&self, line: &str) -> Result<String, String>;

    /// What happened since the last call (a gate's travellers and flaps), one line each.
    fn happenings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// [`Device`] made object-safe, so that one registry can hold devices of every type.
pub trait DynDevice: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn serve_boxed(self: Arc<Self>, link: BoxLink) -> Pin<Box<dyn Future<Output = Result<(), LinkError>> + Send>>;
}

impl<D: Device> DynDevice for D {
    fn name(&self) -> &'static str {
        Device::name(self)
    }

    fn serve_boxed(self: Arc<Self>, link: BoxLink) -> Pin<Box<dyn Future<Output = Result<(), LinkError>> + Send>> {
        Box::pin(self.serve(link))
    }
}

/// A [`DynDevice`] as a [`Device`] again, for the host's functions.
struct AnyDevice(Arc<dyn DynDevice>);

impl Device for AnyDevice {
    fn name(&self) -> &'static str {
        self.0.name()
    }

    fn serve(self: Arc<Self>, link: BoxLink) -> impl Future<Output = Result<(), LinkError>> + Send {
        Arc::clone(&self.0).serve_boxed(link)
    }
}
