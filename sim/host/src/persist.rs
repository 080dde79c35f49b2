//! A simulator's non-volatile memory on disk: whole-file writes that a crash cannot leave half done.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A state file that cannot be read or written, naming the file: a simulator refuses to start rather than
/// overwrite a file it cannot read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("state file {path}: not a {kind} state file: {source}")]
    Json { path: PathBuf, kind: &'static str, source: serde_json::Error },
    #[error("state file {path}: {field}: expected {expected}, found {found}")]
    Field { path: PathBuf, field: String, expected: String, found: String },
}

impl StateError {
    /// A field of the file at `path` that is not what the simulator can take.
    pub fn field(path: &Path, field: &str, expected: impl Into<String>, found: impl Into<String>) -> StateError {
        StateError::Field {
            path: path.to_owned(),
            field: field.to_owned(),
            expected: expected.into(),
            found: found.into(),
        }
    }
}

/// Reads a JSON state file of `kind` (`khil fingerprint`, for messages); `None` when there is none yet.
pub fn read_json<T: DeserializeOwned>(path: &Path, kind: &'static str) -> Result<Option<T>, StateError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StateError::Io { path: path.to_owned(), source }),
    };
    serde_json::from_str(&text).map(Some).map_err(|source| StateError::Json { path: path.to_owned(), kind, source })
}

/// Writes a JSON state file of `kind` whole ([`write_atomic`]).
pub fn write_json<T: Serialize>(path: &Path, kind: &'static str, value: &T) -> Result<(), StateError> {
    let text = serde_json::to_string_pretty(value).map_err(|source| StateError::Json {
        path: path.to_owned(),
        kind,
        source,
    })?;
    write_atomic(path, format!("{text}\n").as_bytes())
        .map_err(|source| StateError::Io { path: path.to_owned(), source })
}

/// Writes `contents` to a temporary file beside `path` (created readable and writable by its owner only: state
/// files hold templates and keys), syncs it, renames it over `path` and syncs the directory. A crash or a full disk
/// leaves the old file or the new one, never half of each.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    f.write_all(contents)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    // The rename is durable only once the directory that holds it is.
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_whole_and_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = khil_test_support::temp_dir("persist");
        let path = dir.join("state.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!dir.join("state.json.tmp").exists());
    }
}
