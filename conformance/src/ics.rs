//! The ICS (Implementation Conformance Statement) file: what the vendor declares the device implements, plus
//! IXIT (extra information the tests need, such as which library pages they may overwrite).
//!
//! ```toml
//! [device]
//! vendor = "Hangzhou Grow"
//! model = "R503"
//! firmware = "1.2"
//!
//! [capabilities]     # class-specific: each suite reads its own keys
//! image_width = 192
//!
//! [ixit]             # class-specific too
//! finger = "auto"
//! ```
//!
//! The framework only knows the three tables; a suite parses `capabilities` and `ixit` into its own types and
//! reports a missing or mistyped key with the file and key named.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Who made the device, as declared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceDecl {
    #[serde(default)]
    pub vendor: String,
    #[serde(default)]
    pub model: String,
    #[serde(default)]
    pub firmware: String,
}

/// A parsed ICS.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ics {
    #[serde(default)]
    pub device: DeviceDecl,
    #[serde(default)]
    pub capabilities: toml::Table,
    #[serde(default)]
    pub ixit: toml::Table,
    /// Where it was read from (`None`: the suite's built-in default).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// An ICS that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum IcsError {
    #[error("ICS {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("ICS {path}: {message}")]
    Parse { path: String, message: String },
    #[error("ICS {path}: [{table}] {key}: expected {expected}, found {found}")]
    Key { path: String, table: &'static str, key: String, expected: String, found: String },
}

impl Ics {
    /// Reads and parses an ICS file.
    pub fn load(path: &Path) -> Result<Ics, IcsError> {
        let text = std::fs::read_to_string(path).map_err(|source| IcsError::Io { path: path.to_owned(), source })?;
        let mut ics = Ics::parse(&text, &path.display().to_string())?;
        ics.source = Some(path.to_owned());
        Ok(ics)
    }

    /// Parses ICS text; `name` is used in errors.
    pub fn parse(text: &str, name: &str) -> Result<Ics, IcsError> {
        toml::from_str(text).map_err(|e| IcsError::Parse { path: name.to_owned(), message: e.to_string() })
    }

    /// Where this ICS came from, for messages.
    pub fn name(&self) -> String {
        self.source.as_ref().map_or_else(|| "built-in default".to_owned(), |p| p.display().to_string())
    }

    /// A typed view of `[capabilities]` (or `[ixit]`): the suite's struct, with unknown keys refused.
    pub fn section<T: for<'de> Deserialize<'de>>(&self, table: &'static str) -> Result<T, IcsError> {
        let value = match table {
            "ixit" => &self.ixit,
            _ => &self.capabilities,
        };
        toml::Value::Table(value.clone())
            .try_into()
            .map_err(|e: toml::de::Error| IcsError::Parse { path: self.name(), message: format!("[{table}] {e}") })
    }
}
