//! A suite: the purposes of one device class and how to reach a device of that class. The runner knows only this
//! trait, so adding a class (OSDP, e-passport) adds a suite and changes nothing in the runner or the reports.

use std::future::Future;

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

/// Opens links: a suite asks for a fresh one per purpose. `sim:` URLs make a fresh in-process simulator each time.
pub trait Connector: Send + Sync {
    fn connect<'a>(
        &'a self,
        url: &'a DeviceUrl,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<BoxLink, String>> + Send + 'a>>;
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

    /// A device handle on a fresh link.
    fn open(&self, link: BoxLink, url: &DeviceUrl, ics: &Ics) -> impl Future<Output = Result<Self::Dut, Stop>> + Send;

    /// What the device reports about itself.
    fn identify(&self, dut: &mut Self::Dut) -> impl Future<Output = Identity> + Send;
}
