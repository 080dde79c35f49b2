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
    pub build: fn(&Params) -> Result<Built, ParamError>,
}

/// A simulator ready to serve: the device, the line in front of it, and its console if it has one.
pub struct Built {
    pub device: Arc<dyn DynDevice>,
    pub line: Line,
    pub console: Option<Arc<dyn Console>>,
}

impl std::fmt::Debug for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Built").field("device", &self.device.name()).field("line", &self.line).finish_non_exhaustive()
    }
}

impl Built {
    pub fn new<D: Device>(device: Arc<D>, line: Line) -> Built {
        Built { device, line, console: None }
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
