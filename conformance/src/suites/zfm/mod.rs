//! ZFM fingerprint modules (ZhianTec ZFM, Synochip AS60x, Grow R30x/R503).

use khil_link::{BoxLink, DeviceUrl};

use crate::ics::Ics;
use crate::purpose::{Purpose, Stop};
use crate::suite::{Identity, Suite};

pub const TITLE: &str = "ZFM fingerprint modules (Grow R30x, R503, ZhianTec ZFM, Synochip AS60x)";

/// A module under test.
pub struct ZfmDut {
    pub link: BoxLink,
}

/// The ZFM suite.
pub struct ZfmSuite {
    purposes: Vec<Purpose<ZfmDut>>,
}

impl std::fmt::Debug for ZfmSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZfmSuite").field("purposes", &self.purposes.len()).finish()
    }
}

impl Default for ZfmSuite {
    fn default() -> Self {
        ZfmSuite::new()
    }
}

impl ZfmSuite {
    pub fn new() -> ZfmSuite {
        ZfmSuite { purposes: Vec::new() }
    }
}

impl Suite for ZfmSuite {
    type Dut = ZfmDut;

    fn class(&self) -> &'static str {
        "zfm"
    }

    fn title(&self) -> &'static str {
        TITLE
    }

    fn purposes(&self) -> &[Purpose<ZfmDut>] {
        &self.purposes
    }

    fn default_ics(&self, _url: &DeviceUrl) -> Ics {
        Ics::default()
    }

    fn validate_ics(&self, _ics: &Ics) -> Result<(), String> {
        Ok(())
    }

    async fn open(&self, link: BoxLink, _url: &DeviceUrl, _ics: &Ics) -> Result<ZfmDut, Stop> {
        Ok(ZfmDut { link })
    }

    async fn identify(&self, _dut: &mut ZfmDut) -> Identity {
        Identity::default()
    }
}
