//! What a PD keeps over a power cycle: its address (COMSET) and its secure channel base key (KEYSET). A real PD
//! writes them to non-volatile memory before it acknowledges the command; with `--state FILE` the simulator does
//! the same to a JSON file, rewritten atomically, so a key installed by KEYSET in one run opens the secure channel
//! in the next.
//!
//! The file holds a key: it is created readable by its owner only, and the key never reaches a log.

use std::fmt;
use std::path::{Path, PathBuf};

use khil_sim_host::persist;
use serde::{Deserialize, Serialize};

/// The persistent part of a PD.
#[derive(Clone, PartialEq, Eq)]
pub struct Persisted {
    pub address: u8,
    /// `None`: install mode (no key of its own).
    pub scbk: Option<[u8; 16]>,
}

impl fmt::Debug for Persisted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Persisted")
            .field("address", &self.address)
            .field("scbk", &self.scbk.map(|_| "<hidden>"))
            .finish()
    }
}

/// Where a PD's persistent part goes when a command changes it. [`crate::Pd`] calls it before the ACK leaves;
/// an error turns the ACK into NAK 9 and leaves the PD as it was.
pub trait PdStore: Send + fmt::Debug {
    fn save(&mut self, profile: &str, state: &Persisted) -> Result<(), StateError>;
}

pub use khil_sim_host::persist::StateError;

const FORMAT: &str = "khil-osdp-pd-state";
/// What a file that is not one is not, in messages.
const KIND: &str = "khil OSDP PD";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateJson {
    format: String,
    version: u32,
    profile: String,
    address: u8,
    /// 32 lower-case hex digits, or null in install mode.
    scbk: Option<String>,
}

/// A PD's state file.
#[derive(Debug, Clone)]
pub struct PdStateFile {
    path: PathBuf,
}

impl PdStateFile {
    pub fn new(path: impl Into<PathBuf>) -> PdStateFile {
        PdStateFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored state, or `None` if the file does not exist yet. Checked against `profile`; any problem is an
    /// error naming the file and the field.
    pub fn load(&self, profile: &str) -> Result<Option<Persisted>, StateError> {
        let Some(json) = persist::read_json::<StateJson>(&self.path, KIND)? else { return Ok(None) };
        let field = |field, expected: String, found: String| StateError::field(&self.path, field, expected, found);
        if json.format != FORMAT || json.version != 1 {
            return Err(field(
                "format",
                format!("{FORMAT:?} version 1"),
                format!("{:?} version {}", json.format, json.version),
            ));
        }
        if json.profile != profile {
            return Err(field("profile", format!("{profile:?} (the --profile given)"), format!("{:?}", json.profile)));
        }
        if json.address >= khil_osdp::frame::BROADCAST {
            return Err(field("address", "0-126".into(), json.address.to_string()));
        }
        let scbk = match &json.scbk {
            None => None,
            Some(text) => Some(
                khil_osdp::sc::key_from_hex(text)
                    .ok_or_else(|| field("scbk", "32 hex digits".into(), format!("{} characters", text.len())))?,
            ),
        };
        Ok(Some(Persisted { address: json.address, scbk }))
    }

    /// Writes the file whole ([`khil_sim_host::persist::write_atomic`]: owner-only, a crash leaves the old state
    /// or the new one).
    pub fn save(&self, profile: &str, state: &Persisted) -> Result<(), StateError> {
        let json = StateJson {
            format: FORMAT.to_owned(),
            version: 1,
            profile: profile.to_owned(),
            address: state.address,
            scbk: state.scbk.as_ref().map(khil_osdp::sc::key_to_hex),
        };
        persist::write_json(&self.path, KIND, &json)
    }
}

impl PdStore for PdStateFile {
    fn save(&mut self, profile: &str, state: &Persisted) -> Result<(), StateError> {
        PdStateFile::save(self, profile, state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_loads_and_keeps_the_key_private() {
        let (_dir, path) = khil_test_support::temp_file("osdp-state-roundtrip", "pd.json");
        let file = PdStateFile::new(&path);
        assert_eq!(file.load("gate-io").unwrap(), None, "no file yet: factory state");
        let state = Persisted { address: 9, scbk: Some([0xA5; 16]) };
        file.save("gate-io", &state).unwrap();
        assert_eq!(file.load("gate-io").unwrap(), Some(state.clone()));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!format!("{state:?}").contains("a5"), "Debug hides the key");
        file.save("gate-io", &Persisted { address: 9, scbk: None }).unwrap();
        assert_eq!(file.load("gate-io").unwrap().unwrap().scbk, None);
    }

    #[test]
    fn a_foreign_or_broken_file_is_refused_with_the_field_named() {
        let (_dir, path) = khil_test_support::temp_file("osdp-state-refused", "pd.json");
        let file = PdStateFile::new(&path);
        file.save("gate-io", &Persisted { address: 1, scbk: None }).unwrap();
        let e = file.load("bio-reader").unwrap_err().to_string();
        assert!(e.contains("profile") && e.contains("\"gate-io\""), "{e}");
        for (text, field) in [
            (r#"{"format":"khil-zfm-state","version":1,"profile":"gate-io","address":1,"scbk":null}"#, "format"),
            (r#"{"format":"khil-osdp-pd-state","version":1,"profile":"gate-io","address":127,"scbk":null}"#, "address"),
            (r#"{"format":"khil-osdp-pd-state","version":1,"profile":"gate-io","address":1,"scbk":"abc"}"#, "scbk"),
        ] {
            std::fs::write(&path, text).unwrap();
            let e = file.load("gate-io").unwrap_err().to_string();
            assert!(e.contains(field) && e.contains(&*path.to_string_lossy()), "{e}");
        }
        std::fs::write(&path, "not json").unwrap();
        assert!(file.load("gate-io").unwrap_err().to_string().contains("not a khil OSDP PD state file"));
    }
}
