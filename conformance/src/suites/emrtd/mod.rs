//! eMRTD chips (`--class emrtd-chip`): the chip under test, in units after BSI TR-03105 part 3 (ISO 7816-4
//! commands, BAC, secure messaging, PACE, LDS structure, passive, chip and active authentication). The terminal
//! side is khil's inspection-system driver (`khil-mrtd`): its pure modules build and check each APDU, and for the
//! whole-document units its `inspect` runs the ICAO 9303-11 sequence and names each check.
//!
//! Evidence keeps each APDU's header, lengths and status word: never the MRZ, keys, nonces or file contents.

mod dut;
mod purposes;

pub use dut::{EmrtdDut, Terminals};

use std::sync::{Arc, Mutex};

use khil_apdu::StatusWord;
use khil_link::DeviceUrl;
use khil_mrtd::bac::BacKeys;
use khil_mrtd::cvc::CvCertificate;
use khil_mrtd::mrz::Mrz;
use khil_mrtd::pa::TrustStore;
use khil_mrtd::ta::TerminalCredentials;
use serde::Deserialize;

use crate::ics::Ics;
use crate::purpose::{Purpose, Stop};
use crate::suite::{Connector, Identity, Preflight, SetupError, Suite};

/// Declares one eMRTD chip purpose (see [`crate::purpose::purpose_for`]).
macro_rules! purpose {
    ($($body:tt)*) => { crate::purpose::purpose_for!(crate::suites::emrtd::EmrtdDut; $($body)*) };
}
use purpose;

pub const TITLE: &str = "eMRTD chips (ICAO 9303-10/11, ISO 7816-4; BSI TR-03105-3 style)";

/// Every key of an eMRTD chip ICS, commented: what `khil conformance ics --class emrtd-chip` writes.
pub const ICS_TEMPLATE: &str = include_str!("../../../ics/template-emrtd-chip.toml");
/// The declaration of khil's simulated passport `sim:passport?document=3`.
pub const ICS_PASSPORT: &str = include_str!("../../../ics/passport.toml");

/// `conformance/catalogue/emrtd-chip.toml`.
pub static CATALOGUE: std::sync::LazyLock<crate::catalogue::Catalogue> = std::sync::LazyLock::new(|| {
    let file = "conformance/catalogue/emrtd-chip.toml";
    crate::catalogue::Catalogue::parse(file, include_str!("../../../catalogue/emrtd-chip.toml"))
        .unwrap_or_else(|e| panic!("built-in catalogue: {e}"))
});

/// The prefix of a trusted-CSCA source naming khil's test PKI of a seed (`khil-test-pki:0`).
pub const TEST_PKI: &str = "khil-test-pki:";

/// Builds the test inspection system's EAC credentials of khil's test PKI of a seed: valid, and with an expired
/// terminal certificate. Passed in by the binary, like [`TestPkiTrust`].
pub type TestPkiTerminals = fn(u64) -> Result<(TerminalCredentials, TerminalCredentials), String>;

/// Builds the trust store of khil's test PKI of a seed. The conformance crate knows no simulators, so the binary
/// (which links them) passes this in; without it only CSCA files can be trusted.
pub type TestPkiTrust = fn(u64) -> Result<TrustStore, String>;

/// `[capabilities]` of an eMRTD chip ICS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(clippy::struct_excessive_bools)] // The ICS's yes/no declarations, one field each, as the file has them.
pub struct EmrtdCaps {
    /// PACE offered in EF.CardAccess.
    pub pace: bool,
    /// The PACE domain parameters: `brainpoolP256r1` or `P-256`.
    #[serde(default)]
    pub pace_curve: Option<String>,
    /// Chip authentication (DG14).
    #[serde(default)]
    pub chip_authentication: bool,
    /// Active authentication (DG15).
    #[serde(default)]
    pub active_authentication: bool,
    /// Extended length APDUs.
    #[serde(default)]
    pub extended_length: bool,
    /// EAC terminal authentication (TR-03110 version 1) guarding DG3 (and DG4).
    #[serde(default)]
    pub terminal_authentication: bool,
}

/// `[ixit]` of an eMRTD chip ICS.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmrtdIxit {
    /// The data page's MRZ, its lines separated by newlines: its MRZ information opens the chip, the whole of it
    /// is compared with DG1. Shown in reports as "(set; not shown)".
    pub mrz: String,
    /// The CSCAs passive authentication trusts: `khil-test-pki:SEED`, or DER certificate file paths.
    pub csca: Vec<String>,
    /// The inspection system's EAC credentials: `khil-test-pki:SEED`, or a folder holding its CV certificates
    /// (`*.cvcert`, DER: DV and terminal) and the terminal's key (`terminal.key`, PKCS#8 or SEC1 DER).
    #[serde(default)]
    pub terminal: Option<String>,
    /// The same with an expired terminal certificate (the chip must refuse it): `khil-test-pki:SEED` or a folder.
    #[serde(default)]
    pub terminal_expired: Option<String>,
}

impl std::fmt::Debug for EmrtdIxit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmrtdIxit")
            .field("mrz", &"(set; not shown)")
            .field("csca", &self.csca)
            .field("terminal", &self.terminal)
            .field("terminal_expired", &self.terminal_expired)
            .finish()
    }
}

/// An eMRTD chip ICS, typed.
#[derive(Clone, PartialEq, Eq)]
pub struct EmrtdIcs {
    pub caps: EmrtdCaps,
    pub ixit: EmrtdIxit,
    /// Document number, date of birth and date of expiry with their check digits (the BAC and PACE password).
    pub(crate) mrz_information: String,
}

impl std::fmt::Debug for EmrtdIcs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmrtdIcs").field("caps", &self.caps).field("ixit", &self.ixit).finish_non_exhaustive()
    }
}

impl EmrtdIcs {
    pub fn from_ics(ics: &Ics) -> Result<EmrtdIcs, String> {
        let caps: EmrtdCaps = ics.section("capabilities").map_err(|e| e.to_string())?;
        let ixit: EmrtdIxit = ics.section("ixit").map_err(|e| e.to_string())?;
        if let Some(c) = &caps.pace_curve
            && !matches!(c.as_str(), "brainpoolP256r1" | "P-256")
        {
            return Err(format!(
                "ICS {}: [capabilities] pace_curve: expected brainpoolP256r1 or P-256, found {c:?}",
                ics.name()
            ));
        }
        // The MRZ's own error names the field and position; its content stays out of the message.
        let page = Mrz::parse(&ixit.mrz).map_err(|e| format!("ICS {}: [ixit] mrz: {e}", ics.name()))?;
        let info = page.mrz_information().map_err(|e| format!("ICS {}: [ixit] mrz: {e}", ics.name()))?;
        if ixit.csca.is_empty() {
            return Err(format!(
                "ICS {}: [ixit] csca: expected at least one source (\"{TEST_PKI}SEED\" or a DER file), found none",
                ics.name()
            ));
        }
        if caps.terminal_authentication && ixit.terminal.is_none() {
            return Err(format!(
                "ICS {}: [capabilities] terminal_authentication = true needs [ixit] terminal (\"{TEST_PKI}SEED\" or a \
                 folder of CV certificates and terminal.key)",
                ics.name()
            ));
        }
        Ok(EmrtdIcs { caps, ixit, mrz_information: info.as_str().to_owned() })
    }

    pub fn of(ics: &Ics) -> Option<EmrtdIcs> {
        EmrtdIcs::from_ics(ics).ok()
    }
}

pub(crate) mod when {
    use super::EmrtdIcs;
    use crate::ics::Ics;
    use crate::purpose::Applicability;

    pub(crate) use crate::purpose::always;

    fn cond(ics: &Ics, test: impl Fn(&EmrtdIcs) -> bool, why: &str) -> Applicability {
        Applicability::when_typed(EmrtdIcs::of(ics), test, why)
    }

    pub(crate) fn pace(ics: &Ics) -> Applicability {
        cond(ics, |e| e.caps.pace, "ICS pace = false")
    }

    pub(crate) fn chip_authentication(ics: &Ics) -> Applicability {
        cond(ics, |e| e.caps.chip_authentication, "ICS chip_authentication = false")
    }

    pub(crate) fn active_authentication(ics: &Ics) -> Applicability {
        cond(ics, |e| e.caps.active_authentication, "ICS active_authentication = false")
    }

    pub(crate) fn terminal_authentication(ics: &Ics) -> Applicability {
        cond(ics, |e| e.caps.terminal_authentication, "ICS terminal_authentication = false")
    }

    pub(crate) fn expired_terminal(ics: &Ics) -> Applicability {
        cond(
            ics,
            |e| e.caps.terminal_authentication && e.ixit.terminal_expired.is_some(),
            "ICS terminal_authentication = false or no [ixit] terminal_expired",
        )
    }
}

/// The eMRTD chip suite.
pub struct EmrtdSuite {
    purposes: Vec<Purpose<EmrtdDut>>,
    test_pki: Option<TestPkiTrust>,
    test_terminals: Option<TestPkiTerminals>,
    /// The last trust store built, by its sources (the test PKI takes a while to generate).
    trust: Mutex<Option<(Vec<String>, Arc<TrustStore>)>>,
    /// The last EAC credentials loaded, by their sources.
    terminals: Mutex<Option<(TerminalSources, Arc<Terminals>)>>,
}

/// `[ixit] terminal` and `terminal_expired`.
type TerminalSources = (Option<String>, Option<String>);

impl std::fmt::Debug for EmrtdSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmrtdSuite").field("purposes", &self.purposes.len()).finish_non_exhaustive()
    }
}

impl Default for EmrtdSuite {
    fn default() -> Self {
        EmrtdSuite::new()
    }
}

impl EmrtdSuite {
    /// Trusts CSCA files only.
    pub fn new() -> EmrtdSuite {
        EmrtdSuite {
            purposes: CATALOGUE
                .assemble(purposes::bodies())
                .expect("the eMRTD catalogue and bodies agree (checked by this module's tests)"),
            test_pki: None,
            test_terminals: None,
            trust: Mutex::new(None),
            terminals: Mutex::new(None),
        }
    }

    /// Also khil's test PKI's terminal certificates (`[ixit] terminal = "khil-test-pki:SEED"`), built by `make`.
    #[must_use]
    pub fn with_test_terminals(self, make: TestPkiTerminals) -> EmrtdSuite {
        EmrtdSuite { test_terminals: Some(make), ..self }
    }

    /// The EAC credentials the IXIT names, built once per run (like the trust store).
    fn terminals(&self, ixit: &EmrtdIxit) -> Result<Arc<Terminals>, String> {
        let sources = (ixit.terminal.clone(), ixit.terminal_expired.clone());
        let mut cache = self.terminals.lock().map_err(|_| "the terminal certificates cache".to_owned())?;
        if let Some((s, t)) = cache.as_ref()
            && *s == sources
        {
            return Ok(t.clone());
        }
        let terminals = Arc::new(Terminals {
            valid: sources.0.as_deref().map(|s| self.terminal("terminal", s, false)).transpose()?,
            expired: sources.1.as_deref().map(|s| self.terminal("terminal_expired", s, true)).transpose()?,
        });
        *cache = Some((sources, terminals.clone()));
        Ok(terminals)
    }

    /// The EAC credentials an `[ixit]` source names (`expired`: the test PKI's expired terminal).
    fn terminal(&self, key: &str, source: &str, expired: bool) -> Result<TerminalCredentials, String> {
        if let Some(seed) = source.strip_prefix(TEST_PKI) {
            let seed: u64 =
                seed.parse().map_err(|_| format!("[ixit] {key} {source:?}: expected {TEST_PKI}<number>"))?;
            let make = self.test_terminals.ok_or_else(|| {
                format!("[ixit] {key} {source:?}: this program cannot build khil's test PKI; give a folder")
            })?;
            let (valid, old) = make(seed)?;
            return Ok(if expired { old } else { valid });
        }
        let folder = std::path::Path::new(source);
        let entries = std::fs::read_dir(folder).map_err(|e| format!("[ixit] {key} {source}: {e}"))?;
        let mut certificates = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| format!("[ixit] {key} {source}: {e}"))?.path();
            if path.extension().is_some_and(|x| x == "cvcert") {
                let bytes = std::fs::read(&path).map_err(|e| format!("[ixit] {key} {}: {e}", path.display()))?;
                certificates
                    .push(CvCertificate::parse(&bytes).map_err(|e| format!("[ixit] {key} {}: {e}", path.display()))?);
            }
        }
        let key_path = folder.join("terminal.key");
        let bytes = std::fs::read(&key_path).map_err(|e| format!("[ixit] {key} {}: {e}", key_path.display()))?;
        TerminalCredentials::from_key_der(certificates, &bytes).map_err(|e| format!("[ixit] {key} {source}: {e}"))
    }

    /// Trusts CSCA files and khil's test PKI (`khil-test-pki:SEED`), built by `test_pki`.
    pub fn with_test_pki(test_pki: TestPkiTrust) -> EmrtdSuite {
        EmrtdSuite { test_pki: Some(test_pki), ..EmrtdSuite::new() }
    }

    /// The trust store the IXIT's `csca` names.
    fn trust(&self, sources: &[String]) -> Result<Arc<TrustStore>, String> {
        use der::Decode;
        let mut cache = self.trust.lock().map_err(|_| "the trust store cache".to_owned())?;
        if let Some((s, t)) = cache.as_ref()
            && s == sources
        {
            return Ok(t.clone());
        }
        let mut cscas = Vec::new();
        let mut crls = Vec::new();
        for source in sources {
            if let Some(seed) = source.strip_prefix(TEST_PKI) {
                let seed: u64 = seed
                    .parse()
                    .map_err(|_| format!("[ixit] csca {source:?}: expected {TEST_PKI}<number>, found {seed:?}"))?;
                let make = self.test_pki.ok_or_else(|| {
                    format!("[ixit] csca {source:?}: this program cannot build khil's test PKI; give CSCA files")
                })?;
                let store = make(seed)?;
                cscas.extend(store.cscas.iter().cloned());
                crls.extend(store.crls.iter().cloned());
            } else {
                let bytes = std::fs::read(source).map_err(|e| format!("[ixit] csca {source}: {e}"))?;
                cscas.push(
                    x509_cert::Certificate::from_der(&bytes)
                        .map_err(|e| format!("[ixit] csca {source}: not a DER X.509 certificate: {e}"))?,
                );
            }
        }
        let store = Arc::new(TrustStore::new(cscas, crls));
        *cache = Some((sources.to_vec(), store.clone()));
        Ok(store)
    }

    async fn dut(&self, connector: &dyn Connector, url: &DeviceUrl, ics: &Ics) -> Result<EmrtdDut, String> {
        let e = EmrtdIcs::from_ics(ics)?;
        let trust = self.trust(&e.ixit.csca)?;
        // The credentials are loaded only for a chip declared to run terminal authentication.
        let terminals =
            if e.caps.terminal_authentication { self.terminals(&e.ixit)? } else { Arc::new(Terminals::default()) };
        let apdu = connector.connect_apdu(url).await?;
        Ok(EmrtdDut::new(apdu, e, trust, terminals))
    }
}

/// The historical bytes of an ATR (ISO 7816-3 8.2): after TS, T0 and the interface bytes T0 and each TDi
/// announce; T0's low nibble counts them.
pub fn historical_bytes(atr: &[u8]) -> Option<&[u8]> {
    let t0 = *atr.get(1)?;
    let k = usize::from(t0 & 0x0F);
    let mut at = 2;
    let mut y = t0 >> 4;
    loop {
        let present = (y & 1) + ((y >> 1) & 1) + ((y >> 2) & 1);
        at += usize::from(present);
        if y & 0x8 == 0 {
            break;
        }
        let td = *atr.get(at)?;
        at += 1;
        y = td >> 4;
    }
    atr.get(at..at + k)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

impl Suite for EmrtdSuite {
    type Dut = EmrtdDut;

    fn class(&self) -> &'static str {
        "emrtd-chip"
    }

    fn title(&self) -> &'static str {
        TITLE
    }

    fn purposes(&self) -> &[Purpose<EmrtdDut>] {
        &self.purposes
    }

    fn validate_ics(&self, ics: &Ics) -> Result<(), String> {
        EmrtdIcs::from_ics(ics).map(drop)
    }

    async fn open(&self, connector: &dyn Connector, url: &DeviceUrl, ics: &Ics) -> Result<EmrtdDut, Stop> {
        self.dut(connector, url, ics).await.map_err(Stop::Error)
    }

    /// A chip reports no model: its identity is its ATR and the ATR's historical bytes.
    async fn identify(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        _given: Option<&Ics>,
    ) -> Result<Identity, SetupError> {
        let mut apdu = connector.connect_apdu(url).await.map_err(SetupError)?;
        if !apdu.card_present().await.map_err(|e| SetupError(format!("{url}: {e}")))? {
            return Err(SetupError(format!("{url}: no card in the reader: lay the document on it")));
        }
        let atr = apdu.reset().await.map_err(|e| SetupError(format!("{url}: resetting the card: {e}")))?;
        let mut fields = vec![("atr".to_owned(), hex(&atr))];
        if let Some(h) = historical_bytes(&atr) {
            fields.push(("historical bytes".to_owned(), hex(h)));
        }
        Ok(Identity { fields })
    }

    async fn preflight(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        given: Option<&Ics>,
    ) -> Result<Preflight, SetupError> {
        let identity = self.identify(connector, url, given).await?;
        let ics = match given {
            Some(ics) => ics.clone(),
            None => Ics::builtin(ICS_PASSPORT, "built-in passport").map_err(|e| SetupError(e.to_string()))?,
        };
        let mut dut = self.dut(connector, url, &ics).await.map_err(SetupError)?;
        let mut scratch = crate::purpose::Ctx::new(Ics::default());
        let setup = |s: Stop| SetupError(s.to_string());
        dut.reset(&mut scratch).await.map_err(setup)?;
        let r = dut.select_application(&mut scratch).await.map_err(setup)?;
        if r.sw != StatusWord::SUCCESS {
            return Err(SetupError(format!(
                "{url}: SELECT of the eMRTD application (A0000002471001) answered {}: not an eMRTD chip",
                r.sw
            )));
        }
        let keys = BacKeys::from_mrz_information(&dut.ics.mrz_information);
        if let Err(e) = dut.bac(&mut scratch, keys).await.map_err(setup)? {
            return Err(SetupError(format!(
                "the MRZ of [ixit] mrz does not open the chip ({e}): check the MRZ{}",
                if given.is_none() { " (the built-in ICS is sim:passport?document=3's; give --ics)" } else { "" }
            )));
        }
        Ok(Preflight { identity, ics })
    }

    fn ics_template(&self) -> &'static str {
        ICS_TEMPLATE
    }
}

#[cfg(test)]
mod tests {
    use crate::suite::Suite;

    #[test]
    fn the_ics_template_and_the_passport_are_valid() {
        let t = crate::ics::Ics::parse(super::ICS_TEMPLATE, "template").unwrap();
        super::EmrtdIcs::from_ics(&t).unwrap();
        let p = crate::ics::Ics::parse(super::ICS_PASSPORT, "passport").unwrap();
        super::EmrtdIcs::from_ics(&p).unwrap();
        for key in p.capabilities.keys().chain(p.ixit.keys()) {
            assert!(t.capabilities.contains_key(key) || t.ixit.contains_key(key), "{key}");
        }
    }

    #[test]
    fn every_catalogue_entry_has_its_body() {
        let suite = super::EmrtdSuite::new();
        assert_eq!(suite.purposes().len(), super::CATALOGUE.entries.len());
        assert!(suite.purposes().iter().all(|p| p.meta.id.starts_with("EMRTD-")));
    }

    #[test]
    fn historical_bytes_follow_the_interface_bytes() {
        // 3B 88 80 01 | 8 historical bytes | TCK: TD1 = 80 (TD2 follows, T=0), TD2 = 01 (T=1).
        let atr = [0x3B, 0x88, 0x80, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0x00];
        assert_eq!(super::historical_bytes(&atr), Some(&[1u8, 2, 3, 4, 5, 6, 7, 8][..]));
        assert_eq!(super::historical_bytes(&[0x3B]), None);
        assert_eq!(super::historical_bytes(&[0x3B, 0x85, 0x80]), None);
    }
}
