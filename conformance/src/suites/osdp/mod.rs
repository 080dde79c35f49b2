//! OSDP peripheral devices (`--class osdp-pd`): the PD under test is driven by a minimal control panel made of
//! khil's OSDP codec and secure-channel primitives, and every packet each way goes into the evidence (command and
//! reply data are kept only as lengths once the secure channel is up, and keys never).
//!
//! Clauses cite SIA OSDP 2.2 / IEC 60839-11-5 as summarised in `shared/reference/osdp.md`.

mod bio_file;
mod dut;
mod purposes;

pub use dut::OsdpDut;

use khil_link::DeviceUrl;
use serde::Deserialize;

use crate::ics::Ics;
use crate::purpose::{Purpose, Stop};
use crate::suite::{Connector, Identity, Suite};

/// Declares one OSDP PD purpose (see [`crate::purpose::purpose_for`]).
macro_rules! purpose {
    ($($body:tt)*) => { crate::purpose::purpose_for!(crate::suites::osdp::OsdpDut; $($body)*) };
}
use purpose;

pub const TITLE: &str = "OSDP peripheral devices (SIA OSDP 2.2 / IEC 60839-11-5)";

fn default_timeout() -> u64 {
    200
}

/// `[capabilities]` of an OSDP PD ICS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsdpCaps {
    pub outputs: u8,
    pub inputs: u8,
    pub readers: u8,
    /// Implements the secure channel.
    pub secure_channel: bool,
    /// Longest time to a reply (the spec's 200 ms).
    #[serde(default = "default_timeout")]
    pub reply_timeout_ms: u64,
    /// A fingerprint reader: BIOREAD and BIOMATCH with ANSI/INCITS 378 templates (format 2), PDCAP function 14.
    #[serde(default)]
    pub biometrics: bool,
    /// Takes files by FILETRANSFER (answers FTSTAT).
    #[serde(default)]
    pub file_transfer: bool,
}

/// The BIOMATCH threshold when the IXIT names none: 66, a false match rate of 0.05 % (the EU Entry/Exit System's
/// verification figure) on the score scale of khil's simulator (20 per decade of false match rate). A PD with
/// another scale declares its own `[ixit] match_threshold`.
pub const DEFAULT_MATCH_THRESHOLD: u8 = 66;

fn default_match_threshold() -> u8 {
    DEFAULT_MATCH_THRESHOLD
}

fn default_file_type() -> u8 {
    1
}

/// `[ixit]` of an OSDP PD ICS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OsdpIxit {
    pub address: u8,
    /// The PD's secure channel base key, 32 hex digits; absent: the PD is in install mode (SCBK-D).
    #[serde(default)]
    pub scbk: Option<String>,
    /// A finger is on the biometric sensor during the run (placed, or put back after each scan).
    #[serde(default)]
    pub finger: bool,
    /// The BIOMATCH threshold (quality byte) on the PD's score scale; a score at or above it is a match.
    #[serde(default = "default_match_threshold")]
    pub match_threshold: u8,
    /// The FILETRANSFER type of the test files (1: opaque contents the PD recognises, 128-255: private use);
    /// pick one whose contents the PD does not act on.
    #[serde(default = "default_file_type")]
    pub file_type: u8,
}

/// An OSDP ICS, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsdpIcs {
    pub caps: OsdpCaps,
    pub ixit: OsdpIxit,
    /// The key from `ixit.scbk` (or SCBK-D).
    pub key: [u8; 16],
    /// Whether the PD has its own key (and so must refuse plain commands).
    pub keyed: bool,
}

impl OsdpIcs {
    pub fn from_ics(ics: &Ics) -> Result<OsdpIcs, String> {
        let caps: OsdpCaps = ics.section("capabilities").map_err(|e| e.to_string())?;
        let ixit: OsdpIxit = ics.section("ixit").map_err(|e| e.to_string())?;
        if ixit.address >= 0x7F {
            return Err(format!("ICS {}: [ixit] address: expected 0-126, found {}", ics.name(), ixit.address));
        }
        let key = match &ixit.scbk {
            None => khil_osdp::sc::SCBK_D,
            Some(text) => khil_osdp::sc::key_from_hex(text).ok_or_else(|| {
                format!("ICS {}: [ixit] scbk: expected 32 hex digits, found {} characters", ics.name(), text.len())
            })?,
        };
        Ok(OsdpIcs { keyed: ixit.scbk.is_some(), caps, ixit, key })
    }

    pub fn of(ics: &Ics) -> Option<OsdpIcs> {
        OsdpIcs::from_ics(ics).ok()
    }
}

pub(crate) mod when {
    use super::OsdpIcs;
    use crate::ics::Ics;
    use crate::purpose::Applicability;

    pub(crate) fn always(_: &Ics) -> Applicability {
        Applicability::Applies
    }

    fn cond(ics: &Ics, test: impl Fn(&OsdpIcs) -> bool, why: &str) -> Applicability {
        Applicability::when(OsdpIcs::of(ics).is_some_and(|o| test(&o)), why)
    }

    pub(crate) fn secure(ics: &Ics) -> Applicability {
        cond(ics, |o| o.caps.secure_channel, "ICS secure_channel = false")
    }

    pub(crate) fn keyed(ics: &Ics) -> Applicability {
        cond(ics, |o| o.caps.secure_channel && o.keyed, "IXIT scbk absent: the PD is in install mode")
    }

    pub(crate) fn biometrics(ics: &Ics) -> Applicability {
        cond(ics, |o| o.caps.biometrics, "ICS biometrics = false")
    }

    pub(crate) fn biometrics_with_finger(ics: &Ics) -> Applicability {
        biometrics(ics).and(cond(ics, |o| o.ixit.finger, "IXIT finger = false"))
    }

    pub(crate) fn biometrics_without_finger(ics: &Ics) -> Applicability {
        biometrics(ics).and(cond(ics, |o| !o.ixit.finger, "IXIT finger = true"))
    }

    pub(crate) fn no_biometrics(ics: &Ics) -> Applicability {
        cond(ics, |o| !o.caps.biometrics, "ICS biometrics = true")
    }

    pub(crate) fn file_transfer(ics: &Ics) -> Applicability {
        cond(ics, |o| o.caps.file_transfer, "ICS file_transfer = false")
    }

    pub(crate) fn outputs(ics: &Ics) -> Applicability {
        cond(ics, |o| o.caps.outputs > 0, "ICS outputs = 0")
    }
}

/// The OSDP PD suite.
pub struct OsdpSuite {
    purposes: Vec<Purpose<OsdpDut>>,
}

impl std::fmt::Debug for OsdpSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsdpSuite").field("purposes", &self.purposes.len()).finish()
    }
}

impl Default for OsdpSuite {
    fn default() -> Self {
        OsdpSuite::new()
    }
}

impl OsdpSuite {
    pub fn new() -> OsdpSuite {
        OsdpSuite {
            purposes: crate::catalogue::OSDP_PD
                .assemble(purposes::bodies())
                .expect("the OSDP catalogue and bodies agree (checked by this module's tests)"),
        }
    }
}

impl Suite for OsdpSuite {
    type Dut = OsdpDut;

    fn class(&self) -> &'static str {
        "osdp-pd"
    }

    fn title(&self) -> &'static str {
        TITLE
    }

    fn purposes(&self) -> &[Purpose<OsdpDut>] {
        &self.purposes
    }

    /// For `sim:osdp-pd` URLs, the declaration of the simulated profile with the URL's address and key (every
    /// profile takes files; a `bio-reader` reads fingers, with a finger on it when the URL has `finger=auto:<id>`
    /// or `place:<id>`); for anything else a gate I/O board at address 1 in install mode.
    fn default_ics(&self, url: &DeviceUrl) -> Ics {
        let (profile, address, scbk, finger) = match url {
            DeviceUrl::Sim(s) if s.device == "osdp-pd" => (
                s.get("profile").unwrap_or("gate-io").to_owned(),
                s.get("address").unwrap_or("1").to_owned(),
                s.get("scbk").map(str::to_owned),
                s.get("finger").is_some_and(|f| f.starts_with("auto") || f.starts_with("place")),
            ),
            _ => ("gate-io".to_owned(), "1".to_owned(), None, false),
        };
        let (outputs, inputs) = if matches!(profile.as_str(), "card-reader" | "bio-reader") { (0, 0) } else { (3, 6) };
        let biometrics = profile == "bio-reader";
        let finger = finger && biometrics;
        let key = scbk.map_or(String::new(), |k| format!("scbk = \"{k}\"\n"));
        let text = format!(
            "[device]\nvendor = \"khil\"\nmodel = \"{profile}\"\n\n[capabilities]\noutputs = {outputs}\ninputs = {inputs}\nreaders = 1\nsecure_channel = true\nbiometrics = {biometrics}\nfile_transfer = true\n\n[ixit]\naddress = {address}\nfinger = {finger}\n{key}"
        );
        Ics::parse(&text, "built-in osdp-pd").unwrap_or_default()
    }

    fn validate_ics(&self, ics: &Ics) -> Result<(), String> {
        OsdpIcs::from_ics(ics).map(drop)
    }

    async fn open(&self, connector: &dyn Connector, url: &DeviceUrl, ics: &Ics) -> Result<OsdpDut, Stop> {
        let link = connector.connect(url).await.map_err(Stop::Error)?;
        let o = OsdpIcs::from_ics(ics).map_err(Stop::Error)?;
        Ok(OsdpDut::new(link, o))
    }

    async fn identify(&self, dut: &mut OsdpDut) -> Identity {
        let mut ctx = crate::purpose::Ctx::new(Ics::default());
        let mut fields = vec![("address".to_owned(), dut.ics.ixit.address.to_string())];
        if let Ok(khil_osdp::reply::Reply::PdId(id)) =
            dut.plain(&mut ctx, &khil_osdp::command::Command::Id { kind: 0 }).await
        {
            fields.push(("vendor OUI".to_owned(), format!("{:02X}{:02X}{:02X}", id.oui[0], id.oui[1], id.oui[2])));
            fields.push(("model".to_owned(), format!("{} version {}", id.model, id.version)));
            fields.push(("serial".to_owned(), format!("{:08X}", id.serial)));
            fields.push(("firmware".to_owned(), format!("{}.{}.{}", id.firmware[0], id.firmware[1], id.firmware[2])));
        }
        Identity { fields }
    }
}

#[cfg(test)]
mod tests {
    use crate::suite::Suite;

    #[test]
    fn every_catalogue_entry_has_its_body() {
        let suite = super::OsdpSuite::new();
        assert_eq!(suite.purposes().len(), crate::catalogue::OSDP_PD.entries.len());
        assert!(suite.purposes().iter().all(|p| p.meta.id.starts_with("OSDP-")));
    }
}
