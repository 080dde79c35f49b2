//! What the module keeps over a power cycle: the template library, password, address, system parameters and
//! notepad. With `--state FILE` it lives in a JSON file, rewritten atomically after every change, so a library
//! enrolled in one simulator run is there in the next, as on a real module.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use khil_sim_host::persist;
use serde::{Deserialize, Serialize};

use crate::charfile::CharBuffer;
use crate::profile::{CHAR_FILE_LEN, Profile};

/// Notepad pages (32 bytes each).
pub const NOTEPAD_PAGES: usize = 16;

/// The persistent part of a module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub password: u32,
    pub address: u32,
    pub security_level: u8,
    pub packet_size_code: u8,
    pub baud_multiplier: u8,
    pub notepad: [[u8; 32]; NOTEPAD_PAGES],
    /// Slot -> character file (with its matcher template once a search has made it). Slots are `0..capacity`.
    pub library: BTreeMap<u16, CharBuffer>,
}

impl Flash {
    /// A module as delivered: password 0, address FFFFFFFF, security level 3, 128-byte packets, 57600 baud.
    pub fn factory() -> Flash {
        Flash {
            password: 0,
            address: khil_fingerprint::DEFAULT_ADDRESS,
            security_level: 3,
            packet_size_code: 2,
            baud_multiplier: 6,
            notepad: [[0; 32]; NOTEPAD_PAGES],
            library: BTreeMap::new(),
        }
    }
}

pub use khil_sim_host::persist::StateError;

const FORMAT: &str = "khil-zfm-state";
/// What a file that is not one is not, in messages.
const KIND: &str = "khil fingerprint";

/// The JSON shape of a state file. Binary fields are lower-case hex.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateJson {
    format: String,
    version: u32,
    profile: String,
    password: u32,
    address: u32,
    security_level: u8,
    packet_size_code: u8,
    baud_multiplier: u8,
    /// Page -> 32 bytes; pages of zeros are left out.
    notepad: BTreeMap<u8, String>,
    /// Slot -> 512-byte character file.
    library: BTreeMap<u16, String>,
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// Where a module's flash is kept.
#[derive(Debug)]
pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub fn new(path: impl Into<PathBuf>) -> StateFile {
        StateFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Loads the flash, or the factory state if the file does not exist yet. Every field is checked against
    /// `profile`; any problem is an error naming the file and the field.
    pub fn load(&self, profile: &Profile) -> Result<Flash, StateError> {
        let Some(json) = persist::read_json::<StateJson>(&self.path, KIND)? else { return Ok(Flash::factory()) };
        let field = |field: &str, expected: &str, found: String| StateError::field(&self.path, field, expected, found);
        if json.format != FORMAT || json.version != 1 {
            return Err(field(
                "format",
                "\"khil-zfm-state\" version 1",
                format!("{:?} version {}", json.format, json.version),
            ));
        }
        if !json.profile.eq_ignore_ascii_case(profile.name) {
            return Err(field(
                "profile",
                &format!("{:?} (the --profile given)", profile.name),
                format!("{:?}", json.profile),
            ));
        }
        if !(1..=5).contains(&json.security_level) {
            return Err(field("security_level", "1..=5", json.security_level.to_string()));
        }
        if json.packet_size_code > 3 {
            return Err(field("packet_size_code", "0..=3", json.packet_size_code.to_string()));
        }
        if !profile.baud_multipliers.contains(&json.baud_multiplier) {
            return Err(field(
                "baud_multiplier",
                &format!("one of {:?}", profile.baud_multipliers),
                json.baud_multiplier.to_string(),
            ));
        }
        let mut flash = Flash {
            password: json.password,
            address: json.address,
            security_level: json.security_level,
            packet_size_code: json.packet_size_code,
            baud_multiplier: json.baud_multiplier,
            ..Flash::factory()
        };
        for (page, text) in &json.notepad {
            let bytes = unhex(text).filter(|b| b.len() == 32);
            match (flash.notepad.get_mut(usize::from(*page)), bytes) {
                (Some(slot), Some(bytes)) => slot.copy_from_slice(&bytes),
                (None, _) => return Err(field(&format!("notepad.{page}"), "page 0..=15", page.to_string())),
                (_, None) => {
                    return Err(field(
                        &format!("notepad.{page}"),
                        "64 hex digits",
                        format!("{} characters", text.len()),
                    ));
                }
            }
        }
        for (slot, text) in &json.library {
            if *slot >= profile.capacity {
                return Err(field(
                    &format!("library.{slot}"),
                    &format!("slot 0..{}", profile.capacity),
                    slot.to_string(),
                ));
            }
            let Some(bytes) = unhex(text).filter(|b| b.len() == CHAR_FILE_LEN) else {
                return Err(field(
                    &format!("library.{slot}"),
                    "1024 hex digits (512 bytes)",
                    format!("{} characters", text.len()),
                ));
            };
            let mut file = Box::new([0u8; CHAR_FILE_LEN]);
            file.copy_from_slice(&bytes);
            flash.library.insert(*slot, CharBuffer::new(file));
        }
        Ok(flash)
    }

    /// Writes the flash whole ([`khil_sim_host::persist::write_atomic`]: owner-only, since it holds templates; a
    /// crash or a full disk leaves either the old state or the new one, never half of each).
    pub fn save(&self, profile: &Profile, flash: &Flash) -> Result<(), StateError> {
        let json = StateJson {
            format: FORMAT.to_owned(),
            version: 1,
            profile: profile.name.to_owned(),
            password: flash.password,
            address: flash.address,
            security_level: flash.security_level,
            packet_size_code: flash.packet_size_code,
            baud_multiplier: flash.baud_multiplier,
            notepad: (0u8..)
                .zip(&flash.notepad)
                .filter(|(_, page)| page.iter().any(|&b| b != 0))
                .map(|(i, page)| (i, hex(page)))
                .collect(),
            library: flash.library.iter().map(|(slot, file)| (*slot, hex(file.bytes()))).collect(),
        };
        persist::write_json(&self.path, KIND, &json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_a_factory_module() {
        let (_dir, path) = khil_test_support::temp_file("flash-missing", "state.json");
        let f = StateFile::new(path);
        let _ = std::fs::remove_file(f.path());
        assert_eq!(f.load(&Profile::R307).unwrap(), Flash::factory());
    }

    #[test]
    fn saves_and_loads_everything() {
        let (_dir, path) = khil_test_support::temp_file("flash-round", "state.json");
        let f = StateFile::new(path);
        let mut flash = Flash::factory();
        flash.password = 0x1234_5678;
        flash.address = 0xCAFE_F00D;
        flash.security_level = 5;
        flash.packet_size_code = 0;
        flash.baud_multiplier = 12;
        flash.notepad[15] = [7; 32];
        flash.library.insert(999, CharBuffer::new(Box::new([0xA5; CHAR_FILE_LEN])));
        flash.library.insert(0, CharBuffer::new(Box::new([1; CHAR_FILE_LEN])));
        f.save(&Profile::R307, &flash).unwrap();
        assert_eq!(f.load(&Profile::R307).unwrap(), flash);
    }

    #[test]
    fn bad_files_name_the_field() {
        let (_dir, path) = khil_test_support::temp_file("flash-bad", "state.json");
        let f = StateFile::new(path);
        let mut flash = Flash::factory();
        flash.library.insert(300, CharBuffer::zeros());
        f.save(&Profile::R307, &flash).unwrap();
        let e = f.load(&Profile::R503).unwrap_err().to_string();
        assert!(e.contains("profile") && e.contains("r503"), "{e}");
        let text = std::fs::read_to_string(f.path()).unwrap().replace("\"r307\"", "\"r503\"");
        std::fs::write(f.path(), text).unwrap();
        let e = f.load(&Profile::R503).unwrap_err().to_string();
        assert!(e.contains("library.300") && e.contains("slot 0..200"), "{e}");
        std::fs::write(f.path(), "{\"format\": 3}").unwrap();
        let e = f.load(&Profile::R503).unwrap_err().to_string();
        assert!(e.contains("not a khil fingerprint state file"), "{e}");
    }
}
