//! A suite: the purposes of one device class and how to reach a device of that class. The runner knows only this
//! trait, so adding a class (OSDP, e-passport) adds a suite and changes nothing in the runner or the reports.

use std::future::Future;
use std::pin::Pin;

use khil_apdu::{BoxApdu, NoSimCards};
use khil_link::{BoxLink, DeviceUrl};
use serde::Serialize;

use crate::ics::{DeviceDecl, Ics};
use crate::purpose::{Ctx, Purpose, Stop};

/// What the device says it is: the report is titled from it, and its `vendor`, `model`, `firmware` and `serial`
/// fields are compared with the ICS's `[device]` table ([`check_declared`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// `(field, value)` pairs in display order: model, firmware, serial, capacity...
    pub fields: Vec<(String, String)>,
}

/// The identity fields an ICS can declare (`[device]`), in the order they are compared.
pub const DECLARED_FIELDS: [&str; 4] = ["vendor", "model", "firmware", "serial"];

impl Identity {
    /// The value the device reported for `field`.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == field).map(|(_, v)| v.as_str())
    }

    /// `get`, but `None` for an empty value too (for display).
    fn shown(&self, field: &str) -> Option<&str> {
        self.get(field).filter(|v| !v.trim().is_empty())
    }

    /// A title in the device's own words: vendor, model, firmware and serial as far as it reports them (`model 1`
    /// for a bare model number, as OSDP reports it); `None` when it reports none of them.
    pub fn title(&self) -> Option<String> {
        let model = match (self.shown("vendor"), self.shown("model")) {
            (None, model) => model.map(str::to_owned),
            (Some(v), None) => Some(format!("vendor {v}")),
            (Some(v), Some(m)) if m.bytes().all(|b| b.is_ascii_digit()) => Some(format!("vendor {v} model {m}")),
            (Some(v), Some(m)) => Some(format!("{v} {m}")),
        };
        let mut extra = Vec::new();
        if let Some(f) = self.shown("firmware") {
            extra.push(format!("firmware {f}"));
        }
        if let Some(s) = self.shown("serial") {
            extra.push(format!("serial {s}"));
        }
        match (model, extra.is_empty()) {
            (None, true) => None,
            (Some(m), true) => Some(m),
            (Some(m), false) => Some(format!("{m} ({})", extra.join(", "))),
            (None, false) => Some(extra.join(", ")),
        }
    }

    /// Whether every identity field `declared` names agrees with what the device reported (fields it does not
    /// report are not held against it). Used to pick a built-in ICS.
    pub fn agrees_with(&self, declared: &DeviceDecl) -> bool {
        DECLARED_FIELDS.iter().all(|f| match (declared.get(f), self.get(f)) {
            (Some(d), Some(r)) => same(d, r),
            _ => true,
        })
    }
}

/// Declared and reported identity values are the same text, whatever the case and surrounding blanks.
fn same(declared: &str, reported: &str) -> bool {
    declared.trim().eq_ignore_ascii_case(reported.trim())
}

/// Compares the ICS's `[device]` fields with what the device reported, one check per field both give: a
/// mismatch fails with both values. A declared field the device cannot report, or a reported one the ICS leaves
/// out, is a note; when no field could be compared at all, the identity is inconclusive.
pub fn check_declared(ctx: &mut Ctx, identity: &Identity) {
    let declared = ctx.ics.device.clone();
    let mut compared = false;
    for field in DECLARED_FIELDS {
        match (declared.get(field), identity.get(field)) {
            (Some(d), Some(r)) => {
                compared = true;
                let _ = ctx.check(format!("{field}: declared vs reported"), d, r, same(d, r));
            }
            (Some(d), None) => ctx.note(format!("the ICS declares {field} {d:?}; the device does not report one")),
            (None, Some(r)) => ctx.note(format!("the device reports {field} {r:?}; the ICS declares none")),
            (None, None) => {}
        }
    }
    if !compared {
        let expected = format!("one of {} both declared and reported", DECLARED_FIELDS.join(", "));
        ctx.inconclusive("identity", expected, "none in common");
    }
}

/// A mistake in the setup of a run, found before any purpose is judged (the device does not answer at the
/// declared address or speed, the declared key does not open its secure channel, no ICS describes it). The run
/// stops; the message names the setting to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SetupError(pub String);

/// What the preflight found: the device's identity and the ICS the run uses (the one given, or the built-in
/// declaration of the model the device identifies as).
#[derive(Debug, Clone)]
pub struct Preflight {
    pub identity: Identity,
    pub ics: Ics,
}

/// Opens transports: a suite asks for a fresh one per purpose, of the kind its class talks over. `sim:` URLs make a
/// fresh in-process simulator each time.
pub trait Connector: Send + Sync {
    /// A byte link (serial, TCP, an in-process `sim:` device): ZFM modules, OSDP peripherals.
    fn connect<'a>(&'a self, url: &'a DeviceUrl) -> Pin<Box<dyn Future<Output = Result<BoxLink, String>> + Send + 'a>>;

    /// An APDU transport (a `pcsc://` reader, an in-process `sim:` card): e-passport chips. Without an override, PC/SC
    /// readers only (when built with `khil-apdu/pcsc`; otherwise the error says how) and no in-process cards.
    fn connect_apdu<'a>(
        &'a self,
        url: &'a DeviceUrl,
    ) -> Pin<Box<dyn Future<Output = Result<BoxApdu, String>> + Send + 'a>> {
        Box::pin(async move { khil_apdu::connect(url, &NoSimCards).await.map_err(|e| e.to_string()) })
    }
}

/// One device class.
pub trait Suite: Send + Sync {
    /// The device handle a purpose works on.
    type Dut: Send;

    /// `zfm`, as in `--class zfm`.
    fn class(&self) -> &'static str;

    /// A line on what the class is.
    fn title(&self) -> &'static str;

    /// Every purpose, in run order.
    fn purposes(&self) -> &[Purpose<Self::Dut>];

    /// The URL actually connected for `url`: a suite may complete a simulator URL (the ZFM suite puts a finger on
    /// an in-process sensor that has none, as an operator would at a real one).
    fn device_url(&self, url: &DeviceUrl) -> DeviceUrl {
        url.clone()
    }

    /// Checks the ICS before anything runs (keys, types, values), naming what is wrong.
    fn validate_ics(&self, ics: &Ics) -> Result<(), String>;

    /// A device handle on a fresh transport, opened through `connector` with the kind the class needs (a byte link
    /// for ZFM and OSDP, an APDU transport for a chip). A transport that cannot be opened is `Stop::Error` with the
    /// connector's message.
    fn open(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        ics: &Ics,
    ) -> impl Future<Output = Result<Self::Dut, Stop>> + Send;

    /// Reaches the device at `url` (with what `given` says about reaching it, or the class's defaults and
    /// discovery) and reads what it reports about itself.
    fn identify(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        given: Option<&Ics>,
    ) -> impl Future<Output = Result<Identity, SetupError>> + Send;

    /// Before any verdict: reaches the device at `url` (with what `given` says about reaching it, or the class's
    /// defaults and discovery), reads its identity, picks the ICS (`given`, or the built-in declaration of the
    /// model the device identifies as: never one of another model) and checks the setup the ICS describes (the
    /// address answers, the key opens the secure channel). A mistake stops the run with a [`SetupError`].
    fn preflight(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        given: Option<&Ics>,
    ) -> impl Future<Output = Result<Preflight, SetupError>> + Send;

    /// `ics` for a run with an operator at the device (`--operator`): every action the IXIT leaves to nobody or to
    /// a machine is the operator's. Without an override, unchanged.
    fn with_operator(&self, ics: Ics) -> Ics {
        ics
    }

    /// The class's ICS template: every key, commented (`khil conformance ics --class C`).
    fn ics_template(&self) -> &'static str;
}

#[cfg(test)]
mod tests {
    use super::*;

    struct LinksOnly;

    impl Connector for LinksOnly {
        fn connect<'a>(
            &'a self,
            url: &'a DeviceUrl,
        ) -> Pin<Box<dyn Future<Output = Result<BoxLink, String>> + Send + 'a>> {
            Box::pin(async move { Err(format!("{url}: no byte links in this test")) })
        }
    }

    /// A connector that only knows byte links still opens APDU transports by URL: PC/SC readers (or the error
    /// saying how to build with PC/SC), and a clear refusal for byte-stream URLs.
    #[tokio::test]
    async fn apdu_transports_by_default() {
        let refuse = async |url: &str| match LinksOnly.connect_apdu(&url.parse().unwrap()).await {
            Ok(_) => panic!("{url} opened"),
            Err(e) => e,
        };
        let e = refuse("tcp://127.0.0.1:9").await;
        assert!(e.contains("tcp://127.0.0.1:9") && e.contains("byte-stream"), "{e}");
        let e = refuse("sim:emrtd-chip").await;
        assert!(e.contains("sim:emrtd-chip"), "{e}");
        // Built without PC/SC: the URL and how to build with it; with PC/SC: the reader that is not there.
        let e = refuse("pcsc://No%20Such%20Reader").await;
        assert!(e.contains("pcsc://No%20Such%20Reader") || e.contains("\"No Such Reader\""), "{e}");
    }
}
