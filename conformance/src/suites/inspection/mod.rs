//! Inspection systems (`--class inspection-system`): the item under test is a terminal that reads e-passports,
//! and khil is the lower tester (after BSI TR-03105 part 5.1): it presents genuine and faulty specimens and judges
//! whether the terminal accepts the genuine ones and does not accept each faulty one.
//!
//! The terminal is reached by its device URL: `sim:inspection-system[?fault=...]` is khil's own inspection system
//! in this process ([`terminal::Terminal::Sim`], with the tester's terminal faults that show each purpose
//! failing); `pcsc://READER` is an external one, run by the IXIT's command once per purpose while the specimen's
//! chip sits in that reader through pcscd's vpcd ([`terminal::Terminal::Exec`]). This crate knows no simulators:
//! the specimens' chips, their MRZs and the PKI they are issued under come from a [`LowerTester`] the binary
//! passes in.
//!
//! Evidence keeps the terminal's verdict, how it opened the chip and its check names and states: never the MRZ,
//! keys, file contents or the terminal's own reasons (classified only: "secure messaging", "6B00").

mod purposes;
pub mod terminal;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use khil_apdu::vpcd::VpcdEndpoint;
use khil_link::DeviceUrl;
use khil_mrtd::pa::TrustStore;
use serde::Deserialize;

use crate::ics::Ics;
use crate::purpose::{Purpose, Stop};
use crate::suite::{Connector, Identity, Preflight, SetupError, Suite};
use terminal::{ExecTerminal, Terminal, TerminalFault};

/// Declares one inspection-system purpose (see [`crate::purpose::purpose_for`]).
macro_rules! purpose {
    ($($body:tt)*) => { crate::purpose::purpose_for!(crate::suites::inspection::InspectionDut; $($body)*) };
}
use purpose;

pub const TITLE: &str =
    "Inspection systems (ICAO 9303-11; BSI TR-03105-5.1 style: khil presents genuine and faulty e-passports)";

/// Every key of an inspection-system ICS, commented: what `khil conformance ics --class inspection-system` writes.
pub const ICS_TEMPLATE: &str = include_str!("../../../ics/template-inspection-system.toml");
/// The declaration of khil's own inspection system, `sim:inspection-system`.
pub const ICS_KHIL: &str = include_str!("../../../ics/inspection-system.toml");

/// The simulator name of khil's own terminal: `sim:inspection-system`.
pub const SIM_NAME: &str = "inspection-system";

/// `conformance/catalogue/inspection-system.toml`.
pub static CATALOGUE: std::sync::LazyLock<crate::catalogue::Catalogue> = std::sync::LazyLock::new(|| {
    let file = "conformance/catalogue/inspection-system.toml";
    crate::catalogue::Catalogue::parse(file, include_str!("../../../catalogue/inspection-system.toml"))
        .unwrap_or_else(|e| panic!("built-in catalogue: {e}"))
});

/// The PACE a specimen's chip offers in EF.CardAccess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecimenPace {
    /// PACE ECDH generic mapping, AES-128, on brainpoolP256r1.
    Brainpool,
    /// The same on NIST P-256.
    P256,
    /// No PACE: a BAC-only document.
    None,
}

impl SpecimenPace {
    /// `brainpool`, `p256`, `none`: as `sim:passport?pace-curve=` names them.
    pub const fn name(self) -> &'static str {
        match self {
            SpecimenPace::Brainpool => "brainpool",
            SpecimenPace::P256 => "p256",
            SpecimenPace::None => "none",
        }
    }
}

/// One document the lower tester presents: which population document, the PACE its chip offers and the chip's
/// faults (specs in `khil-sim-mrtd`'s fault grammar: `wrong-mac:at=3`, `revoked-ds`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Specimen {
    pub document: u64,
    pub pace: SpecimenPace,
    pub faults: Vec<String>,
}

/// The lower tester's documents: what the binary (which links the passport simulator) passes in.
pub trait LowerTester: Send + Sync {
    /// A fresh chip of `specimen`, as a reader powers it up.
    fn chip(&self, specimen: &Specimen) -> Result<Box<dyn khil_apdu::Card>, String>;

    /// The MRZ on the data page of population document `document` (what the terminal's OCR reads).
    fn mrz(&self, document: u64) -> Result<String, String>;

    /// The CSCAs and CRLs the specimens are issued under: what the terminal is provisioned with.
    fn trust(&self) -> Result<TrustStore, String>;
}

/// `[capabilities]` of an inspection-system ICS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(clippy::struct_excessive_bools)] // The ICS's yes/no declarations, one field each, as the file has them.
pub struct InspectionCaps {
    /// The terminal opens chips that offer PACE with PACE.
    pub pace: bool,
    #[serde(default)]
    pub chip_authentication: bool,
    #[serde(default)]
    pub active_authentication: bool,
    /// The terminal prints khil's document-read JSON: purposes also judge which check it names as failed.
    #[serde(default)]
    pub names_checks: bool,
}

fn default_command_timeout() -> u64 {
    60
}
fn default_vpcd() -> String {
    "127.0.0.1:35963".into()
}
fn default_reader_timeout() -> u64 {
    4949
}
fn default_document() -> u64 {
    3
}

/// `[ixit]` of an inspection-system ICS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectionIxit {
    /// The command that runs an external terminal once per specimen (`pcsc://` devices).
    #[serde(default)]
    pub command: String,
    #[serde(default = "default_command_timeout")]
    pub command_timeout_s: u64,
    #[serde(default = "default_vpcd")]
    pub vpcd: String,
    #[serde(default = "default_reader_timeout")]
    pub reader_timeout_ms: u64,
    #[serde(default = "default_document")]
    pub document: u64,
}

/// An inspection-system ICS, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectionIcs {
    pub caps: InspectionCaps,
    pub ixit: InspectionIxit,
}

impl InspectionIcs {
    pub fn from_ics(ics: &Ics) -> Result<InspectionIcs, String> {
        let caps: InspectionCaps = ics.section("capabilities").map_err(|e| e.to_string())?;
        let ixit: InspectionIxit = ics.section("ixit").map_err(|e| e.to_string())?;
        let key = |k: &str, expected: &str, found: &dyn std::fmt::Display| {
            format!("ICS {}: [ixit] {k}: expected {expected}, found {found}", ics.name())
        };
        if !(1..=60_000).contains(&ixit.reader_timeout_ms) {
            return Err(key("reader_timeout_ms", "1 to 60000 milliseconds", &ixit.reader_timeout_ms));
        }
        if !(1..=3600).contains(&ixit.command_timeout_s) {
            return Err(key("command_timeout_s", "1 to 3600 seconds", &ixit.command_timeout_s));
        }
        if !ixit.command.trim().is_empty() {
            terminal::split_command(&ixit.command).map_err(|e| format!("ICS {}: {e}", ics.name()))?;
        }
        Ok(InspectionIcs { caps, ixit })
    }

    pub fn of(ics: &Ics) -> Option<InspectionIcs> {
        InspectionIcs::from_ics(ics).ok()
    }

    fn reader_timeout(&self) -> Duration {
        Duration::from_millis(self.ixit.reader_timeout_ms)
    }
}

pub(crate) mod when {
    use super::InspectionIcs;
    use crate::ics::Ics;
    use crate::purpose::Applicability;

    pub(crate) use crate::purpose::always;

    pub(crate) fn authenticates_the_chip(ics: &Ics) -> Applicability {
        Applicability::when_typed(
            InspectionIcs::of(ics),
            |i| i.caps.chip_authentication || i.caps.active_authentication,
            "ICS chip_authentication = false and active_authentication = false: the terminal cannot tell a clone",
        )
    }
}

/// The terminal under test on a fresh purpose: the terminal, the lower tester's documents and the typed ICS.
pub struct InspectionDut {
    pub(crate) terminal: Terminal,
    pub(crate) tester: Arc<dyn LowerTester>,
    pub(crate) ics: InspectionIcs,
}

impl std::fmt::Debug for InspectionDut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InspectionDut")
            .field("terminal", &self.terminal)
            .field("ics", &self.ics)
            .finish_non_exhaustive()
    }
}

/// Why `what` (a device URL, or a simulator's name) cannot be the terminal under test.
fn not_a_terminal(what: &str) -> String {
    format!(
        "{what} is not an inspection system: the terminal under test is sim:{SIM_NAME}[?fault=...] (khil's own) or \
         pcsc://READER (an external one, run by [ixit] command with the specimens in that reader through vpcd)"
    )
}

/// The inspection-system suite.
pub struct InspectionSuite {
    purposes: Vec<Purpose<InspectionDut>>,
    tester: Option<Arc<dyn LowerTester>>,
    /// The lower tester's trust store, built once (khil's terminal is provisioned with it).
    trust: Mutex<Option<Arc<TrustStore>>>,
}

impl std::fmt::Debug for InspectionSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InspectionSuite").field("purposes", &self.purposes.len()).finish_non_exhaustive()
    }
}

impl Default for InspectionSuite {
    fn default() -> Self {
        InspectionSuite::new()
    }
}

impl InspectionSuite {
    /// Without a lower tester: the purposes can be listed, not run.
    pub fn new() -> InspectionSuite {
        InspectionSuite {
            purposes: CATALOGUE
                .assemble(purposes::bodies())
                .expect("the inspection-system catalogue and bodies agree (checked by this module's tests)"),
            tester: None,
            trust: Mutex::new(None),
        }
    }

    /// With the lower tester that makes the specimens.
    pub fn with_lower_tester(tester: Arc<dyn LowerTester>) -> InspectionSuite {
        InspectionSuite { tester: Some(tester), ..InspectionSuite::new() }
    }

    fn tester(&self) -> Result<Arc<dyn LowerTester>, String> {
        self.tester.clone().ok_or_else(|| {
            "this program has no lower tester (no passport simulator to make the specimens): run it with `khil`".into()
        })
    }

    fn trust(&self) -> Result<Arc<TrustStore>, String> {
        let mut cache = self.trust.lock().map_err(|_| "the trust store cache".to_owned())?;
        if let Some(t) = cache.as_ref() {
            return Ok(t.clone());
        }
        let t = Arc::new(self.tester()?.trust()?);
        *cache = Some(t.clone());
        Ok(t)
    }

    /// The terminal `url` names, as `ics` declares it.
    fn terminal(&self, url: &DeviceUrl, ics: &InspectionIcs) -> Result<Terminal, String> {
        match url {
            DeviceUrl::Sim(s) if s.device == SIM_NAME => {
                if let Some((key, _)) = s.params.iter().find(|(k, _)| k != "fault") {
                    return Err(format!("unknown parameter {key:?}: sim:{SIM_NAME} takes fault=NAME[,NAME...]"));
                }
                let faults = terminal::parse_faults(s.params.iter().map(|(_, v)| v.as_str()))?;
                Ok(Terminal::Sim { faults, trust: self.trust()? })
            }
            DeviceUrl::Sim(s) => Err(not_a_terminal(&format!("sim:{}", s.device))),
            DeviceUrl::Pcsc(p) => {
                if ics.ixit.command.trim().is_empty() {
                    return Err("an external terminal needs [ixit] command (the command that reads one document at \
                         this reader); see `khil conformance ics --class inspection-system`"
                        .into());
                }
                // Debian's vpcd slots have known reader names: a device URL naming another reader than the
                // slot's would wait for specimens that never show.
                if let Ok(slot) = VpcdEndpoint::new(&ics.ixit.vpcd)
                    && slot.reader() != p.reader
                {
                    return Err(format!(
                        "[ixit] vpcd {:?} plugs the specimens into reader {:?}, but the device URL names {:?}",
                        ics.ixit.vpcd,
                        slot.reader(),
                        p.reader
                    ));
                }
                let vpcd = VpcdEndpoint::with_reader(&ics.ixit.vpcd, p.reader.clone())
                    .map_err(|e| format!("[ixit] vpcd: {e}"))?;
                Ok(Terminal::Exec(ExecTerminal {
                    argv: terminal::split_command(&ics.ixit.command)?,
                    device: url.clone(),
                    reader: p.reader.clone(),
                    vpcd,
                    timeout: Duration::from_secs(ics.ixit.command_timeout_s),
                }))
            }
            other => Err(not_a_terminal(&other.to_string())),
        }
    }

    fn dut(&self, url: &DeviceUrl, ics: &Ics) -> Result<InspectionDut, String> {
        let ics = InspectionIcs::from_ics(ics)?;
        let terminal = self.terminal(url, &ics)?;
        Ok(InspectionDut { terminal, tester: self.tester()?, ics })
    }
}

impl Suite for InspectionSuite {
    type Dut = InspectionDut;

    fn class(&self) -> &'static str {
        "inspection-system"
    }

    fn title(&self) -> &'static str {
        TITLE
    }

    fn purposes(&self) -> &[Purpose<InspectionDut>] {
        &self.purposes
    }

    fn validate_ics(&self, ics: &Ics) -> Result<(), String> {
        InspectionIcs::from_ics(ics).map(drop)
    }

    async fn open(&self, _connector: &dyn Connector, url: &DeviceUrl, ics: &Ics) -> Result<InspectionDut, Stop> {
        self.dut(url, ics).map_err(Stop::Error)
    }

    /// A terminal reports nothing about itself before it reads a document: khil's own names itself and its
    /// faults; an external one is known by its reader.
    async fn identify(
        &self,
        _connector: &dyn Connector,
        url: &DeviceUrl,
        _given: Option<&Ics>,
    ) -> Result<Identity, SetupError> {
        let field = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        match url {
            DeviceUrl::Sim(s) if s.device == SIM_NAME => {
                let faults = terminal::parse_faults(s.params.iter().map(|(_, v)| v.as_str())).map_err(SetupError)?;
                let mut fields =
                    vec![field("vendor", "khil"), field("model", "inspection system (sim:inspection-system)")];
                if !faults.is_empty() {
                    let names: Vec<&str> = faults.iter().map(|f| TerminalFault::name(*f)).collect();
                    fields.push(field("terminal faults", &names.join(", ")));
                }
                Ok(Identity { fields })
            }
            DeviceUrl::Pcsc(p) => Ok(Identity { fields: vec![field("reader", &p.reader)] }),
            DeviceUrl::Sim(s) => Err(SetupError(not_a_terminal(&format!("sim:{}", s.device)))),
            other => Err(SetupError(not_a_terminal(&other.to_string()))),
        }
    }

    async fn preflight(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        given: Option<&Ics>,
    ) -> Result<Preflight, SetupError> {
        let identity = self.identify(connector, url, given).await?;
        let ics = match (given, url) {
            (Some(ics), _) => ics.clone(),
            (None, DeviceUrl::Sim(_)) => {
                Ics::builtin(ICS_KHIL, "built-in inspection-system").map_err(|e| SetupError(e.to_string()))?
            }
            (None, _) => {
                return Err(SetupError(
                    "an external inspection system needs --ics (with [ixit] command: how to run it on one \
                     document); `khil conformance ics --class inspection-system` writes one to start from"
                        .into(),
                ));
            }
        };
        let dut = self.dut(url, &ics).map_err(SetupError)?;
        // The lower tester can make the genuine specimen and knows its page.
        let genuine = Specimen { document: dut.ics.ixit.document, pace: SpecimenPace::Brainpool, faults: Vec::new() };
        dut.tester
            .chip(&genuine)
            .and_then(|_| dut.tester.mrz(genuine.document))
            .map_err(|e| SetupError(format!("[ixit] document {}: {e}", genuine.document)))?;
        Ok(Preflight { identity, ics })
    }

    fn ics_template(&self) -> &'static str {
        ICS_TEMPLATE
    }
}

#[cfg(test)]
mod tests {
    use super::terminal::{TerminalFault, parse_faults};
    use crate::suite::Suite;

    #[test]
    fn the_ics_template_and_khils_declaration_are_valid() {
        let t = crate::ics::Ics::parse(super::ICS_TEMPLATE, "template").unwrap();
        super::InspectionIcs::from_ics(&t).unwrap();
        let k = crate::ics::Ics::parse(super::ICS_KHIL, "khil").unwrap();
        let typed = super::InspectionIcs::from_ics(&k).unwrap();
        assert!(typed.caps.names_checks);
        for key in k.capabilities.keys().chain(k.ixit.keys()) {
            assert!(t.capabilities.contains_key(key) || t.ixit.contains_key(key), "{key}");
        }
    }

    #[test]
    fn every_catalogue_entry_has_its_body() {
        let suite = super::InspectionSuite::new();
        assert_eq!(suite.purposes().len(), super::CATALOGUE.entries.len());
        assert!(suite.purposes().iter().all(|p| p.meta.id.starts_with("INSP-")));
    }

    #[test]
    fn terminal_faults_parse_and_unknown_ones_name_the_parameter_and_the_known_ones() {
        let f = parse_faults(["no-hash-check,no-crl-check", "rejects-all", "no-hash-check"].into_iter()).unwrap();
        assert_eq!(f, [TerminalFault::NoHashCheck, TerminalFault::NoCrlCheck, TerminalFault::RejectsAll]);
        for name in TerminalFault::NAMES.split(", ") {
            assert_eq!(TerminalFault::parse(name).unwrap().name(), name);
        }
        let e = parse_faults(["no-mac-check"].into_iter()).unwrap_err();
        assert!(e.contains("fault") && e.contains("\"no-mac-check\"") && e.contains(TerminalFault::NAMES), "{e}");
    }

    #[test]
    fn commands_split_like_a_shell_and_bad_ones_are_named() {
        let words =
            super::terminal::split_command("khil document read --device '{device}' --mrz-file \"{mrz}\"").unwrap();
        assert_eq!(words, ["khil", "document", "read", "--device", "{device}", "--mrz-file", "{mrz}"]);
        assert!(super::terminal::split_command("inspect 'open").unwrap_err().contains("unclosed quote"));
        assert!(super::terminal::split_command("  ").unwrap_err().contains("empty"));
    }
}
