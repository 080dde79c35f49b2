//! Temporary directories that remove themselves: made by the `tempfile` crate under the system's temporary
//! directory (`$TMPDIR`), named `khil-<label>-<random>`, and removed with everything in them when dropped,
//! including while a failing test unwinds. With `KHIL_KEEP_TEMP=1` they are kept and their path is printed, for
//! looking at what a test wrote.

use std::ops::Deref;
use std::path::{Path, PathBuf};

/// A directory removed (with its contents) when this is dropped. Derefs to its [`Path`].
#[derive(Debug)]
pub struct TempDir {
    dir: Option<tempfile::TempDir>,
}

/// A fresh, empty `khil-<label>-XXXXXX` directory. Characters of `label` other than ASCII letters, digits, `.`,
/// `_` and `-` become `-`, so a label is never a path.
pub fn temp_dir(label: &str) -> TempDir {
    let label: String =
        label.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' }).collect();
    let prefix = format!("khil-{label}-");
    let dir = tempfile::Builder::new().prefix(&prefix).tempdir().unwrap_or_else(|e| {
        panic!("cannot make a temporary directory {prefix}* in {}: {e}", std::env::temp_dir().display())
    });
    TempDir { dir: Some(dir) }
}

/// A path for a file called `file` in a fresh `khil-<label>-XXXXXX` directory (the file is not made); the
/// directory goes when the returned guard drops.
pub fn temp_file(label: &str, file: &str) -> (TempDir, PathBuf) {
    let dir = temp_dir(label);
    let path = dir.join(file);
    (dir, path)
}

impl TempDir {
    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("present until dropped").path()
    }
}

impl Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.path()
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        self.path()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let Some(dir) = self.dir.take() else { return };
        if std::env::var_os("KHIL_KEEP_TEMP").is_some_and(|v| !v.is_empty() && v != "0") {
            let kept: PathBuf = dir.keep();
            eprintln!("kept (KHIL_KEEP_TEMP): {}", kept.display());
        }
        // Otherwise `dir` is dropped here, which removes the tree (errors are ignored: nothing to do about them
        // in a destructor).
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_named_made_and_removed_on_drop() {
        let dir = temp_dir("support/te st");
        let path = dir.path().to_path_buf();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.starts_with("khil-support-te-st-") && name.len() > "khil-support-te-st-".len(), "{name}");
        assert_eq!(path.parent(), Some(std::env::temp_dir().as_path()));
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/b/state.json"), "{}").unwrap();
        drop(dir);
        assert!(!path.exists(), "{} left behind", path.display());
    }

    #[test]
    fn is_removed_when_the_test_panics() {
        let (tx, rx) = std::sync::mpsc::channel();
        let result = std::panic::catch_unwind(move || {
            let dir = temp_dir("support-panic");
            std::fs::write(dir.join("report.json"), "{}").unwrap();
            tx.send(dir.path().to_path_buf()).unwrap();
            panic!("a failing test");
        });
        assert!(result.is_err());
        let path = rx.recv().unwrap();
        assert!(!path.exists(), "{} left behind by a panicking test", path.display());
    }
}
