//! A suite: the purposes of one device class and how to reach a device of that class. The runner knows only this
//! trait, so adding a class (OSDP, e-passport) adds a suite and changes nothing in the runner or the reports.

use std::future::Future;
use std::pin::Pin;

use khil_apdu::{BoxApdu, NoSimCards};
use khil_link::{BoxLink, DeviceUrl};
use serde::Serialize;

use crate::ics::Ics;
use crate::purpose::{Purpose, Stop};

/// What the device says it is (for the report's header).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// `(field, value)` pairs in display order: model, firmware, serial, capacity...
    pub fields: Vec<(String, String)>,
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

    /// The ICS used when none is given.
    fn default_ics(&self, url: &DeviceUrl) -> Ics;

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

    /// What the device reports about itself.
    fn identify(&self, dut: &mut Self::Dut) -> impl Future<Output = Identity> + Send;
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
