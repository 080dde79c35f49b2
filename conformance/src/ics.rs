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

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::suite::{DECLARED_FIELDS, Identity};

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
    /// One unit's serial number, when the ICS is for one unit.
    #[serde(default)]
    pub serial: String,
}

impl DeviceDecl {
    /// The declared value of an identity field (`vendor`, `model`, `firmware`, `serial`); `None` when left empty.
    pub fn get(&self, field: &str) -> Option<&str> {
        let v = match field {
            "vendor" => &self.vendor,
            "model" => &self.model,
            "firmware" => &self.firmware,
            "serial" => &self.serial,
            _ => return None,
        };
        Some(v.as_str()).filter(|v| !v.trim().is_empty())
    }
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
    /// Where it was read from (`None`: built into khil, or made by a test).
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// The name of a built-in declaration (`built-in r503`).
    #[serde(skip)]
    pub builtin: Option<String>,
    /// SHA-256 of the file's bytes (or of the built-in text), lowercase hex: what a signed report names, so the
    /// declaration it was judged against can be told apart from any later edit.
    #[serde(skip)]
    pub sha256: Option<String>,
}

/// One table of an ICS as a report shows it: `key = value` rows in TOML notation, secrets hidden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShownTable {
    /// `device`, `capabilities` or `ixit`.
    pub name: String,
    pub rows: Vec<(String, String)>,
}

/// What a report shows instead of a secret's value.
pub const HIDDEN: &str = "(set; not shown)";

/// Keys whose values never reach a report or a log: keys, passwords, PINs. A key is secret when one of its
/// `_`-separated words is one of these (`scbk`, `password`, `master_key`), whatever the class.
const SECRET_WORDS: [&str; 9] = ["scbk", "key", "keys", "password", "pwd", "secret", "pin", "mk", "mrz"];

/// `true` for an ICS key whose value is a secret.
pub fn is_secret(key: &str) -> bool {
    key.to_ascii_lowercase().split(['_', '-', '.']).any(|w| SECRET_WORDS.contains(&w))
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
        let bytes = std::fs::read(path).map_err(|source| IcsError::Io { path: path.to_owned(), source })?;
        let text = String::from_utf8(bytes).map_err(|e| IcsError::Parse {
            path: path.display().to_string(),
            message: format!(
                "not UTF-8 text (byte {} is not valid): TOML files are UTF-8",
                e.utf8_error().valid_up_to()
            ),
        })?;
        let mut ics = Ics::parse(&text, &path.display().to_string())?;
        ics.source = Some(path.to_owned());
        ics.sha256 = Some(sha256_hex(text.as_bytes()));
        Ok(ics)
    }

    /// Parses ICS text; `name` is used in errors.
    pub fn parse(text: &str, name: &str) -> Result<Ics, IcsError> {
        toml::from_str(text).map_err(|e| IcsError::Parse { path: name.to_owned(), message: e.to_string() })
    }

    /// A declaration built into khil (a simulator profile's), named `name` in reports and messages.
    pub fn builtin(text: &str, name: &str) -> Result<Ics, IcsError> {
        let mut ics = Ics::parse(text, name)?;
        ics.builtin = Some(name.to_owned());
        ics.sha256 = Some(sha256_hex(text.as_bytes()));
        Ok(ics)
    }

    /// The declaration as a report shows it: `[device]`, `[capabilities]` and `[ixit]` with every key in TOML
    /// notation (nested tables as dotted keys), secrets ([`is_secret`]) replaced by [`HIDDEN`].
    pub fn shown(&self) -> Vec<ShownTable> {
        // `[device]` keys left out of the file are empty here: leave them out of the table too.
        let mut device = toml::Table::try_from(&self.device).unwrap_or_default();
        device.retain(|_, v| v.as_str().is_none_or(|s| !s.is_empty()));
        [("device", &device), ("capabilities", &self.capabilities), ("ixit", &self.ixit)]
            .into_iter()
            .map(|(name, table)| {
                let mut rows = Vec::new();
                flatten("", table, &mut rows);
                ShownTable { name: name.to_owned(), rows }
            })
            .collect()
    }

    /// Where this ICS came from, for messages.
    pub fn name(&self) -> String {
        match (&self.source, &self.builtin) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(name)) => name.clone(),
            (None, None) => "an ICS made in code".to_owned(),
        }
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

/// Lowercase hex SHA-256.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).iter().fold(String::with_capacity(64), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// `table`'s keys under `prefix` as `key = value` rows, secrets hidden.
fn flatten(prefix: &str, table: &toml::Table, rows: &mut Vec<(String, String)>) {
    for (key, value) in table {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            toml::Value::Table(inner) if !is_secret(key) => flatten(&path, inner, rows),
            _ if is_secret(key) => rows.push((path, HIDDEN.to_owned())),
            other => rows.push((path, other.to_string())),
        }
    }
}

/// `template` (a class's commented ICS) with what a device reported filled in: each `[device]` field it reports
/// (a commented-out one is switched on), and any other key named like a reported field (`library size` fills
/// `library_size`, `address` fills `[ixit] address`), keeping the value's form (a string, a number, 0x hex). A
/// header lists everything the device reported, so the vendor can check the rest by hand.
pub fn fill_template(template: &str, identity: &Identity, url: &str) -> String {
    let mut out = format!("# Filled in from what the device at {url} reported:\n");
    for (k, v) in &identity.fields {
        let _ = writeln!(out, "#   {k}: {v}");
    }
    out.push_str("# Every other value is the template's: replace it with what the vendor declares.\n\n");
    let mut section = "";
    for line in template.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.trim_matches(|c| c == '[' || c == ']');
        }
        out.push_str(&filled(line, section, identity).unwrap_or_else(|| line.to_owned()));
        out.push('\n');
    }
    out
}

/// `line` with the reported value, when it is a `key = value` line (or, in `[device]`, a commented-out one) whose
/// key names a reported field.
fn filled(line: &str, section: &str, identity: &Identity) -> Option<String> {
    // A commented-out `key = "value"` line of [device] (the template's optional serial), not prose.
    let commented = line.strip_prefix("# ").filter(|l| section == "device" && l.contains("= \""));
    let (key, value) = commented.unwrap_or(line).split_once('=')?;
    let key = key.trim();
    if key.is_empty() || key.starts_with('#') || key.contains(' ') {
        return None;
    }
    let field = key.replace('_', " ");
    let reported = identity.get(&field).filter(|_| section == "device" || !DECLARED_FIELDS.contains(&key))?;
    let value = value.split('#').next().unwrap_or("").trim();
    let new = if section == "device" || value.starts_with('"') {
        format!("{reported:?}")
    } else if value.starts_with("0x") {
        format!("0x{reported}")
    } else if reported.parse::<i64>().is_ok() {
        reported.to_owned()
    } else {
        return None;
    };
    Some(format!("{key} = {new}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "[device]\nvendor = \"V\"\nmodel = \"M\"\n# serial = \"0\"\n\n[capabilities]\nlibrary_size = 200\n\
                            # a comment = kept\n\n[ixit]\naddress = 0xFFFFFFFF\nfinger = \"none\"\n";

    #[test]
    fn a_template_is_filled_with_what_the_device_reports() {
        let identity = Identity {
            fields: [("model", "R503"), ("serial", "42"), ("library size", "1000"), ("address", "12345678")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .to_vec(),
        };
        let text = fill_template(TEMPLATE, &identity, "serial:///dev/ttyUSB0");
        let ics = Ics::parse(&text, "filled").unwrap();
        assert_eq!(
            (ics.device.vendor.as_str(), ics.device.model.as_str(), ics.device.serial.as_str()),
            ("V", "R503", "42")
        );
        assert_eq!(ics.capabilities["library_size"].as_integer(), Some(1000));
        assert_eq!(ics.ixit["address"].as_integer(), Some(0x1234_5678));
        assert_eq!(ics.ixit["finger"].as_str(), Some("none"));
        assert!(text.contains("#   library size: 1000") && text.contains("# a comment = kept"), "{text}");
    }

    #[test]
    fn shown_tables_hide_secrets_and_keep_everything_else() {
        let text = "[device]\nmodel = \"M\"\n[capabilities]\nsizes = [32, 128]\nlimits = { reply_ms = 50 }\n\
                    [ixit]\nscbk = \"000102030405060708090a0b0c0d0e0f\"\npassword = 0\nkeyset = true\nmaster_key = \"ab\"\n";
        let ics = Ics::builtin(text, "test").unwrap();
        let shown = ics.shown();
        let names: Vec<&str> = shown.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["device", "capabilities", "ixit"]);
        let rows: Vec<(&str, &str)> =
            shown.iter().flat_map(|t| &t.rows).map(|(k, v)| (k.as_str(), v.as_str())).collect();
        for want in [("model", "\"M\""), ("sizes", "[32, 128]"), ("limits.reply_ms", "50"), ("keyset", "true")] {
            assert!(rows.contains(&want), "{want:?} in {rows:?}");
        }
        for secret in ["scbk", "password", "master_key"] {
            assert!(rows.contains(&(secret, HIDDEN)), "{secret} in {rows:?}");
        }
        assert!(!format!("{shown:?}").contains("0001020304"), "a key reached the shown tables");
        // The digest is of the text, as `sha256sum` gives it.
        assert_eq!(ics.sha256.as_deref().map(str::len), Some(64));
        assert_eq!(
            Ics::builtin("", "empty").unwrap().sha256.as_deref(),
            Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
    }

    #[test]
    fn a_device_that_reports_nothing_leaves_the_template_as_it_is() {
        let text = fill_template(TEMPLATE, &Identity::default(), "tcp://h:1");
        assert!(text.ends_with(TEMPLATE), "{text}");
    }
}
