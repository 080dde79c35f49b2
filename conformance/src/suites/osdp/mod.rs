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
use crate::suite::{Connector, Identity, Preflight, SetupError, Suite};
use khil_osdp::command::{Command, opcode};
use khil_osdp::frame::{BROADCAST, OsdpFrame};
use khil_osdp::reply::Reply;

/// Declares one OSDP PD purpose (see [`crate::purpose::purpose_for`]).
macro_rules! purpose {
    ($($body:tt)*) => { crate::purpose::purpose_for!(crate::suites::osdp::OsdpDut; $($body)*) };
}
use purpose;

pub const TITLE: &str = "OSDP peripheral devices (SIA OSDP 2.2 / IEC 60839-11-5)";

/// What the operator is asked before a BIOREAD that needs a finger, and before one that needs none.
pub const PLACE_FINGER: &str = "place a finger on the reader's fingerprint sensor and keep it there";
pub const LIFT_FINGER: &str = "lift every finger off the reader's fingerprint sensor";

/// Every key of an OSDP PD ICS, commented: what `khil conformance ics --class osdp-pd` writes.
pub const ICS_TEMPLATE: &str = include_str!("../../../ics/template-osdp-pd.toml");
/// The declarations of the khil simulator's profiles.
pub const ICS_GATE_IO: &str = include_str!("../../../ics/osdp-gate-io.toml");
pub const ICS_CARD_READER: &str = include_str!("../../../ics/osdp-card-reader.toml");
pub const ICS_BIO_READER: &str = include_str!("../../../ics/osdp-bio-reader.toml");

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
    /// A person at the sensor places and lifts a finger when asked on the terminal (`--operator`): purposes with
    /// and without a finger both apply.
    #[serde(default)]
    pub operator: bool,
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

    pub(crate) use crate::purpose::always;

    fn cond(ics: &Ics, test: impl Fn(&OsdpIcs) -> bool, why: &str) -> Applicability {
        Applicability::when_typed(OsdpIcs::of(ics), test, why)
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
        biometrics(ics).and(cond(ics, |o| o.ixit.finger || o.ixit.operator, "IXIT finger = false, no operator"))
    }

    pub(crate) fn biometrics_without_finger(ics: &Ics) -> Applicability {
        biometrics(ics).and(cond(ics, |o| !o.ixit.finger || o.ixit.operator, "IXIT finger = true, no operator"))
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

    fn validate_ics(&self, ics: &Ics) -> Result<(), String> {
        OsdpIcs::from_ics(ics).map(drop)
    }

    async fn open(&self, connector: &dyn Connector, url: &DeviceUrl, ics: &Ics) -> Result<OsdpDut, Stop> {
        let link = connector.connect(url).await.map_err(Stop::Error)?;
        let o = OsdpIcs::from_ics(ics).map_err(Stop::Error)?;
        Ok(OsdpDut::new(link, o))
    }

    async fn identify(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        given: Option<&Ics>,
    ) -> Result<Identity, SetupError> {
        reach(connector, url, given).await.map(|(_, identity)| identity)
    }

    async fn preflight(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        given: Option<&Ics>,
    ) -> Result<Preflight, SetupError> {
        let setup = |stop: Stop| SetupError(stop.to_string());
        let (mut dut, identity) = reach(connector, url, given).await?;
        let found = dut.address();
        let mut scratch = crate::purpose::Ctx::new(Ics::default());
        let ics = match given {
            Some(ics) => ics.clone(),
            None => builtin_for(&identity, found)?,
        };
        let o = OsdpIcs::from_ics(&ics).map_err(SetupError)?;
        if o.caps.secure_channel {
            dut.ics = o.clone();
            match dut.holds_declared_key(&mut scratch).await.map_err(setup)? {
                Some(false) if o.keyed => {
                    return Err(SetupError(
                        "[ixit] scbk does not open the PD's secure channel: the PD refuses the server cryptogram made \
                         with it, so it holds another key; check the key"
                            .into(),
                    ));
                }
                Some(false) => {
                    return Err(SetupError(format!(
                        "the PD does not take the install-mode key SCBK-D: it has a key of its own; give it as [ixit] \
                         scbk in {}",
                        if given.is_some() { "the ICS" } else { "an ICS (--ics)" }
                    )));
                }
                Some(true) | None => {}
            }
        }
        Ok(Preflight { identity, ics })
    }

    /// The operator places and lifts the finger on a fingerprint reader.
    fn with_operator(&self, mut ics: Ics) -> Ics {
        ics.ixit.insert("operator".into(), toml::Value::Boolean(true));
        ics
    }

    fn ics_template(&self) -> &'static str {
        ICS_TEMPLATE
    }
}

/// The PD on the line at `url`, at the ICS's address (checked) or, without an ICS, the lowest address it answers
/// at; and what it reports about itself.
async fn reach(
    connector: &dyn Connector,
    url: &DeviceUrl,
    given: Option<&Ics>,
) -> Result<(OsdpDut, Identity), SetupError> {
    let setup = |stop: Stop| SetupError(stop.to_string());
    let reach = match given {
        Some(ics) => OsdpIcs::from_ics(ics).map_err(SetupError)?,
        None => OsdpIcs::from_ics(&builtin(ICS_GATE_IO, "built-in gate-io", 0)?).map_err(SetupError)?,
    };
    let link = connector.connect(url).await.map_err(SetupError)?;
    let mut dut = OsdpDut::new(link, reach);
    let mut scratch = crate::purpose::Ctx::new(Ics::default());
    let declared = given.map(|_| dut.address());
    let found = match declared {
        Some(a) if answers_id(&mut dut, &mut scratch, a).await.map_err(setup)? => a,
        _ => scan(&mut dut, &mut scratch).await.map_err(setup)?.ok_or_else(|| {
            SetupError(format!(
                "no PD answers ID at any address from 0 to 126{}: check the line's speed (the URL's baud=) and \
                 the wiring",
                declared.map_or(String::new(), |a| format!(" (the ICS declares address {a})"))
            ))
        })?,
    };
    if let Some(a) = declared.filter(|a| *a != found) {
        return Err(SetupError(format!("the PD answers at address {found}, not at [ixit] address {a}: fix the ICS")));
    }
    dut.ics.ixit.address = found;
    let identity = identity(&mut dut, &mut scratch).await;
    Ok((dut, identity))
}

/// Whether a PD answers a plain ID at `address` (SQN 0, so whatever the PD's sequence was): any packet back from
/// that address.
async fn answers_id(dut: &mut OsdpDut, ctx: &mut crate::purpose::Ctx, address: u8) -> Result<bool, Stop> {
    dut.restart();
    let f = OsdpFrame::command(address, dut.next_sqn(), opcode::ID, vec![0]);
    let got = dut.exchange(ctx, &f, format!("ID to address {address}")).await?;
    // Anything from that address will do: whether the reply is well formed (the reply bit, the SQN) is for the
    // purposes to judge, with evidence; here the question is only whether the line and the address are right.
    Ok(got.is_some_and(|r| r.frame.address == address))
}

/// The lowest address a PD answers at (a reply to the broadcast address carries 7F, not the PD's own).
async fn scan(dut: &mut OsdpDut, ctx: &mut crate::purpose::Ctx) -> Result<Option<u8>, Stop> {
    for address in 0..BROADCAST {
        if answers_id(dut, ctx, address).await? {
            return Ok(Some(address));
        }
    }
    Ok(None)
}

/// What the PD reports about itself (PDID): `vendor` (its IEEE OUI, 6 hex digits), `model` and `version`
/// (numbers), `serial` (8 hex digits) and `firmware` (major.minor.build), the fields an ICS's `[device]` declares
/// in the same form. The frames go into `ctx`'s evidence.
pub(crate) async fn identity(dut: &mut OsdpDut, ctx: &mut crate::purpose::Ctx) -> Identity {
    let mut fields = vec![("address".to_owned(), dut.address().to_string())];
    dut.restart();
    if let Ok(heard) = dut.plain_heard(ctx, &Command::Id { kind: 0 }).await
        && let Some(Reply::PdId(id)) = heard.reply
    {
        fields.push(("vendor".to_owned(), format!("{:02X}{:02X}{:02X}", id.oui[0], id.oui[1], id.oui[2])));
        fields.push(("model".to_owned(), id.model.to_string()));
        fields.push(("version".to_owned(), id.version.to_string()));
        fields.push(("serial".to_owned(), format!("{:08X}", id.serial)));
        fields.push(("firmware".to_owned(), format!("{}.{}.{}", id.firmware[0], id.firmware[1], id.firmware[2])));
    }
    Identity { fields }
}

/// A shipped declaration of a khil simulator profile, for a PD found at `address` in install mode (no key) with
/// nobody at a fingerprint sensor.
fn builtin(text: &str, name: &str, address: u8) -> Result<Ics, SetupError> {
    let mut ics = Ics::builtin(text, name).map_err(|e| SetupError(e.to_string()))?;
    ics.ixit.insert("address".into(), toml::Value::Integer(address.into()));
    ics.ixit.remove("scbk");
    ics.ixit.insert("finger".into(), toml::Value::Boolean(false));
    Ok(ics)
}

/// The built-in declaration of the khil simulator profile the PD identifies as (vendor, model and firmware as
/// declared); any other PD needs the vendor's ICS.
fn builtin_for(identity: &Identity, address: u8) -> Result<Ics, SetupError> {
    for (text, name) in [
        (ICS_GATE_IO, "built-in gate-io"),
        (ICS_CARD_READER, "built-in card-reader"),
        (ICS_BIO_READER, "built-in bio-reader"),
    ] {
        let ics = builtin(text, name, address)?;
        if identity.get("model").is_some() && identity.agrees_with(&ics.device) {
            return Ok(ics);
        }
    }
    let what = identity.title().map_or_else(|| "no PDID".to_owned(), |t| format!("PDID {t}"));
    Err(SetupError(format!(
        "the PD at address {address} reports {what}, which no built-in ICS describes (khil declares only its \
         simulated gate-io, card-reader and bio-reader): give the vendor's declaration with --ics (`khil conformance \
         ics --class osdp-pd --from-device URL` writes one to start from)"
    )))
}

#[cfg(test)]
mod tests {
    use crate::suite::Suite;

    #[test]
    fn the_ics_template_is_a_valid_ics_with_every_key_the_shipped_ones_use() {
        let ics = crate::ics::Ics::parse(super::ICS_TEMPLATE, "template").unwrap();
        super::OsdpIcs::from_ics(&ics).unwrap();
        for shipped in [super::ICS_GATE_IO, super::ICS_CARD_READER, super::ICS_BIO_READER] {
            let s = crate::ics::Ics::parse(shipped, "shipped").unwrap();
            for key in s.capabilities.keys().chain(s.ixit.keys()).filter(|k| *k != "scbk") {
                assert!(ics.capabilities.contains_key(key) || ics.ixit.contains_key(key), "{key}");
            }
        }
    }

    #[test]
    fn every_catalogue_entry_has_its_body() {
        let suite = super::OsdpSuite::new();
        assert_eq!(suite.purposes().len(), crate::catalogue::OSDP_PD.entries.len());
        assert!(suite.purposes().iter().all(|p| p.meta.id.starts_with("OSDP-")));
    }
}
