//! Document readers (`--class docreader`): a full-page reader (or a vendor's adapter in front of one) on khil's
//! document-reader channel, and its RTE native MRZ channel (`docs/docreader-protocol.md`, Parts B and A): identity,
//! lights, image geometry, the empty glass, document events, the RTE block and its padding, and the protocol's
//! errors and silence.
//!
//! The device URL is khil's channel; the RTE channel's URL is the ICS's `[ixit] rte_url`. Documents are laid on
//! the glass by the operator (`--operator`), asked in the words of [`PLACE_PASSPORT`], [`PLACE_TD2`] and
//! [`REMOVE`]. An in-process simulator (`sim:docreader?...`) has no operator: the binary, which links the
//! simulator, passes in [`SimReaders`], which opens both of its channels and its desk (this crate knows no
//! simulators).

mod dut;
mod purposes;

pub use dut::DocDut;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use khil_docreader::{DeviceInfo, Light, Message};
use khil_link::{BoxLink, DeviceUrl};
use serde::Deserialize;

use crate::ics::Ics;
use crate::purpose::{Ctx, Purpose, Stop};
use crate::suite::{Connector, Identity, Preflight, SetupError, Suite};

/// Declares one document-reader purpose (see [`crate::purpose::purpose_for`]).
macro_rules! purpose {
    ($($body:tt)*) => { crate::purpose::purpose_for!(crate::suites::docreader::DocDut; $($body)*) };
}
use purpose;

pub const TITLE: &str = "Document readers (khil's document-reader channel and the 3M RTE native MRZ block)";

/// Every key of a document-reader ICS, commented: what `khil conformance ics --class docreader` writes.
pub const ICS_TEMPLATE: &str = include_str!("../../../ics/template-docreader.toml");
/// The declaration of khil's simulated reader, `sim:docreader`.
pub const ICS_KHIL: &str = include_str!("../../../ics/docreader.toml");

/// `conformance/catalogue/docreader.toml`.
pub static CATALOGUE: std::sync::LazyLock<crate::catalogue::Catalogue> = std::sync::LazyLock::new(|| {
    let file = "conformance/catalogue/docreader.toml";
    crate::catalogue::Catalogue::parse(file, include_str!("../../../catalogue/docreader.toml"))
        .unwrap_or_else(|e| panic!("built-in catalogue: {e}"))
});

/// What the operator is asked to lay on the glass: a passport's data page (two lines of 44).
pub const PLACE_PASSPORT: &str = "place a passport, data page down, on the reader's glass";
/// A document with two MRZ lines of 36 (a TD2 card or an MRV-B visa): the lines an RTE reader pads to 44.
pub const PLACE_TD2: &str =
    "place a document with two MRZ lines of 36 characters (a TD2 card or an MRV-B visa) on the reader's glass";
/// And to take it away.
pub const REMOVE: &str = "take any document off the reader's glass";

/// A document the purposes need on the glass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Specimen {
    /// A passport (TD3: two MRZ lines of 44).
    Passport,
    /// A TD2 card or MRV-B visa (two lines of 36).
    Td2,
}

/// What an operator does at an in-process simulator, done by the suite.
pub trait ReaderDesk: Send + Sync {
    fn place(&self, specimen: Specimen) -> Result<(), String>;
    /// Takes the document away; nothing to do (and `Ok`) on an empty glass.
    fn remove(&self) -> Result<(), String>;
}

/// An in-process simulated reader: both channels' host ends, and its desk.
#[allow(missing_debug_implementations)] // Links and a desk: nothing to show.
pub struct SimReader {
    pub khil: BoxLink,
    pub rte: BoxLink,
    pub desk: Arc<dyn ReaderDesk>,
}

/// Opens in-process simulated readers for `sim:` URLs (the binary passes this in; a fresh reader each time,
/// both channels connected before it returns, so that no event of a placement is missed).
pub trait SimReaders: Send + Sync {
    fn open<'a>(&'a self, url: &'a DeviceUrl) -> Pin<Box<dyn Future<Output = Result<SimReader, String>> + Send + 'a>>;
}

/// `[capabilities]` of a document-reader ICS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocCaps {
    pub dpi: u16,
    pub page_width: u16,
    pub page_height: u16,
    /// `white`, `infrared`, `ultraviolet`.
    pub lights: Vec<String>,
    /// The reader sends each read as an RTE native block ([`DocIxit::rte_url`]).
    #[serde(default)]
    pub rte: bool,
    #[serde(default = "yes")]
    pub rte_bcc: bool,
}

fn yes() -> bool {
    true
}
fn default_event_timeout() -> u64 {
    5000
}
fn default_reply_timeout() -> u64 {
    10_000
}

/// `[ixit]` of a document-reader ICS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocIxit {
    #[serde(default)]
    pub rte_url: String,
    #[serde(default = "default_event_timeout")]
    pub event_timeout_ms: u64,
    #[serde(default = "default_reply_timeout")]
    pub reply_timeout_ms: u64,
}

/// A document-reader ICS, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocIcs {
    pub caps: DocCaps,
    pub ixit: DocIxit,
    pub lights: Vec<Light>,
}

/// A light's ICS name.
pub fn light_name(light: Light) -> String {
    match light {
        Light::White => "white".into(),
        Light::Infrared => "infrared".into(),
        Light::Ultraviolet => "ultraviolet".into(),
        Light::Other(c) => format!("light {c:02X}"),
    }
}

impl DocIcs {
    pub fn from_ics(ics: &Ics) -> Result<DocIcs, String> {
        let caps: DocCaps = ics.section("capabilities").map_err(|e| e.to_string())?;
        let ixit: DocIxit = ics.section("ixit").map_err(|e| e.to_string())?;
        let mut lights = Vec::new();
        for l in &caps.lights {
            lights.push(match l.as_str() {
                "white" => Light::White,
                "infrared" => Light::Infrared,
                "ultraviolet" => Light::Ultraviolet,
                other => {
                    return Err(format!(
                        "ICS {}: [capabilities] lights: {other:?}: expected white, infrared or ultraviolet",
                        ics.name()
                    ));
                }
            });
        }
        if caps.dpi == 0 || caps.page_width == 0 || caps.page_height == 0 {
            return Err(format!("ICS {}: [capabilities] dpi, page_width, page_height: expected above 0", ics.name()));
        }
        Ok(DocIcs { caps, ixit, lights })
    }

    pub fn of(ics: &Ics) -> Option<DocIcs> {
        DocIcs::from_ics(ics).ok()
    }
}

pub(crate) mod when {
    use super::DocIcs;
    use crate::ics::Ics;
    use crate::purpose::Applicability;

    pub(crate) use crate::purpose::always;

    pub(crate) fn rte(ics: &Ics) -> Applicability {
        Applicability::when_typed(DocIcs::of(ics), |d| d.caps.rte, "ICS rte = false: no RTE channel")
    }
}

/// The document-reader suite.
pub struct DocReaderSuite {
    purposes: Vec<Purpose<DocDut>>,
    sims: Option<Arc<dyn SimReaders>>,
}

impl std::fmt::Debug for DocReaderSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocReaderSuite").field("purposes", &self.purposes.len()).finish_non_exhaustive()
    }
}

impl Default for DocReaderSuite {
    fn default() -> Self {
        DocReaderSuite::new()
    }
}

impl DocReaderSuite {
    /// Real readers only (an operator lays the documents).
    pub fn new() -> DocReaderSuite {
        DocReaderSuite {
            purposes: CATALOGUE.assemble(purposes::bodies()).expect("the docreader catalogue and bodies agree"),
            sims: None,
        }
    }

    /// Also in-process simulators (`sim:` URLs), opened by `sims`.
    pub fn with_sim_readers(sims: Arc<dyn SimReaders>) -> DocReaderSuite {
        DocReaderSuite { sims: Some(sims), ..DocReaderSuite::new() }
    }

    /// Both channels and the desk, for `url` as the ICS describes it.
    async fn channels(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        rte_url: Option<&str>,
    ) -> Result<(BoxLink, Option<BoxLink>, Option<Arc<dyn ReaderDesk>>), String> {
        if let DeviceUrl::Sim(_) = url {
            let sims = self.sims.as_ref().ok_or_else(|| format!("{url}: this program has no simulated readers"))?;
            let r = sims.open(url).await?;
            return Ok((r.khil, Some(r.rte), Some(r.desk)));
        }
        let khil = connector.connect(url).await?;
        let rte = match rte_url {
            Some(u) if !u.is_empty() => {
                let parsed: DeviceUrl = u.parse().map_err(|e| format!("[ixit] rte_url {u:?}: {e}"))?;
                Some(connector.connect(&parsed).await?)
            }
            _ => None,
        };
        Ok((khil, rte, None))
    }
}

/// Hello on a fresh link: the reader's DeviceInfo. Leniently: the first DeviceInfo whatever its sequence number
/// (whether answers carry the right one is what the purposes check, each with its evidence).
async fn hello(link: BoxLink) -> Result<DeviceInfo, String> {
    use khil_link::FramedLink;
    use tokio::time::Instant;
    let mut wire = FramedLink::new(link, khil_docreader::KhilFormat);
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    let hello = Message::Hello.to_frame(1).and_then(|f| Ok(f.encode()?)).map_err(|e| e.to_string())?;
    if !wire.send(&hello, deadline).await.map_err(|e| e.to_string())? {
        return Err("the line did not take Hello".into());
    }
    while let Some(frame) = wire.recv(deadline).await.map_err(|e| e.to_string())? {
        if let Ok(Message::DeviceInfo(info)) = Message::from_frame(&frame) {
            return Ok(info);
        }
    }
    Err("no DeviceInfo within 10 s".into())
}

impl Suite for DocReaderSuite {
    type Dut = DocDut;

    fn class(&self) -> &'static str {
        "docreader"
    }

    fn title(&self) -> &'static str {
        TITLE
    }

    fn purposes(&self) -> &[Purpose<DocDut>] {
        &self.purposes
    }

    fn validate_ics(&self, ics: &Ics) -> Result<(), String> {
        DocIcs::from_ics(ics).map(drop)
    }

    async fn open(&self, connector: &dyn Connector, url: &DeviceUrl, ics: &Ics) -> Result<DocDut, Stop> {
        let d = DocIcs::from_ics(ics).map_err(Stop::Error)?;
        let wants_rte = d.caps.rte.then_some(d.ixit.rte_url.as_str());
        let (khil, rte, desk) = self.channels(connector, url, wants_rte).await.map_err(Stop::Error)?;
        Ok(DocDut::new(khil, rte, desk, d))
    }

    async fn identify(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        _given: Option<&Ics>,
    ) -> Result<Identity, SetupError> {
        let (khil, ..) = self.channels(connector, url, None).await.map_err(SetupError)?;
        let info = hello(khil).await.map_err(|e| SetupError(format!("{url}: Hello: {e}")))?;
        Ok(Identity {
            fields: vec![
                ("model".into(), info.model),
                ("firmware".into(), info.firmware),
                ("serial".into(), info.serial),
                ("dpi".into(), info.dpi.to_string()),
            ],
        })
    }

    async fn preflight(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        given: Option<&Ics>,
    ) -> Result<Preflight, SetupError> {
        let identity = self.identify(connector, url, given).await?;
        let ics = if let Some(ics) = given {
            ics.clone()
        } else {
            let ics = Ics::builtin(ICS_KHIL, "built-in KR-1").map_err(|e| SetupError(e.to_string()))?;
            if !identity.agrees_with(&ics.device) {
                return Err(SetupError(format!(
                    "{url} is not khil's simulated reader (it reports model {:?}): give its ICS with --ics",
                    identity.get("model").unwrap_or_default()
                )));
            }
            ics
        };
        let d = DocIcs::from_ics(&ics).map_err(SetupError)?;
        if d.caps.rte && d.ixit.rte_url.is_empty() && !matches!(url, DeviceUrl::Sim(_)) {
            return Err(SetupError("[capabilities] rte = true: give the RTE channel's URL in [ixit] rte_url".into()));
        }
        Ok(Preflight { identity, ics })
    }

    fn ics_template(&self) -> &'static str {
        ICS_TEMPLATE
    }
}

/// The MRZ lines of a DocumentPresent, checked for its number and sequence number 0; `None` when none came.
pub(crate) fn present(ctx: &mut Ctx, frame: Option<khil_docreader::frame::Frame>) -> Result<(u32, Vec<String>), Stop> {
    let Some(frame) = frame else {
        return Err(ctx.fail("DocumentPresent", "within the event timeout", "nothing"));
    };
    match Message::from_frame(&frame) {
        Ok(Message::DocumentPresent(p)) => {
            ctx.check_eq("DocumentPresent's sequence number", 0, frame.seq)?;
            Ok((p.document, p.mrz))
        }
        Ok(m) => Err(ctx.fail("the first event", "DocumentPresent", Message::name_of(m.kind()))),
        Err(e) => Err(ctx.fail("the first event", "a message that parses", e)),
    }
}

#[cfg(test)]
mod tests {
    use crate::suite::Suite;

    #[test]
    fn the_ics_template_and_khils_reader_are_valid() {
        let t = crate::ics::Ics::parse(super::ICS_TEMPLATE, "template").unwrap();
        super::DocIcs::from_ics(&t).unwrap();
        let k = crate::ics::Ics::parse(super::ICS_KHIL, "khil").unwrap();
        super::DocIcs::from_ics(&k).unwrap();
        for key in k.capabilities.keys().chain(k.ixit.keys()) {
            assert!(t.capabilities.contains_key(key) || t.ixit.contains_key(key), "{key}");
        }
    }

    #[test]
    fn every_catalogue_entry_has_its_body() {
        let suite = super::DocReaderSuite::new();
        assert_eq!(suite.purposes().len(), super::CATALOGUE.entries.len());
        assert!(suite.purposes().iter().all(|p| p.meta.id.starts_with("DOCR-")));
    }
}
