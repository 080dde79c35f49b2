//! Independent peers: the pinned Python venv and test data that `ci/test` installs under `.peers/`, and programs on
//! `PATH`. Each finder returns the peer, or `None` after printing why the test skips; under `CI=true` it panics
//! with that reason instead, because CI must never pass by skipping.

use std::ffi::OsStr;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace root (this crate sits one level below it).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// True when `CI=true`: a missing peer is then a failure, not a skip.
pub fn under_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// A peer is missing: panics with `why` under `CI=true`, otherwise prints `skipped <test>: <why>` on stderr and
/// returns `None`, for `let Some(x) = ... else { return };`.
pub fn missing<T>(why: impl Display) -> Option<T> {
    missing_in(under_ci(), &why.to_string())
}

fn missing_in<T>(ci: bool, why: &str) -> Option<T> {
    assert!(!ci, "CI=true, so failing instead of skipping: {why}");
    // libtest and nextest run each test on a thread named after it.
    match std::thread::current().name() {
        Some(test) if test != "main" => eprintln!("skipped {test}: {why}"),
        _ => eprintln!("skipped: {why}"),
    }
    None
}

/// The Python interpreter of ci/test's peers venv: `$KHIL_PEERS_PY` when set (`.peers/env` sets it), otherwise
/// `.peers/venv/bin/python` in the workspace.
pub fn python() -> Option<PathBuf> {
    let (python, from) = match std::env::var_os("KHIL_PEERS_PY") {
        Some(p) => (PathBuf::from(p), "KHIL_PEERS_PY"),
        None => (workspace_root().join(".peers/venv/bin/python"), "the default venv"),
    };
    if is_executable(&python) {
        Some(python)
    } else {
        missing(format!(
            "no peer Python at {} ({from}): run ci/test once (it builds .peers/venv), or set KHIL_PEERS_PY",
            python.display()
        ))
    }
}

/// The venv's Python if it can import `module` (`osdp`, `Crypto.Cipher.AES`, `pyfingerprint.pyfingerprint`...).
pub fn python_with(module: &str) -> Option<PathBuf> {
    let python = python()?;
    let out = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(out) if out.status.success() => Some(python),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().last().unwrap_or("no error text");
            missing(format!("{} cannot import {module} ({last}): run ci/test once", python.display()))
        }
        Err(e) => missing(format!("{} does not run ({e}): run ci/test once", python.display())),
    }
}

/// `$KHIL_PEERS_DATA/<sub>` (default `.peers/data/<sub>`) when every one of `files` is in it.
pub fn data(sub: &str, files: &[&str]) -> Option<PathBuf> {
    let root = std::env::var_os("KHIL_PEERS_DATA").map_or_else(|| workspace_root().join(".peers/data"), PathBuf::from);
    let dir = root.join(sub);
    let absent: Vec<String> =
        files.iter().map(|f| dir.join(f)).filter(|p| !p.is_file()).map(|p| p.display().to_string()).collect();
    if absent.is_empty() {
        Some(dir)
    } else {
        missing(format!(
            "test data missing ({}): run ci/test once (it fetches it), or set KHIL_PEERS_DATA",
            absent.join(", ")
        ))
    }
}

/// The program `name` on `PATH`.
pub fn program(name: &str) -> Option<PathBuf> {
    program_any(&[name])
}

/// The first of `names` found on `PATH` (for programs that go by several names, such as Chromium).
pub fn program_any(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    match names.iter().find_map(|n| find_on_path(n, &path)) {
        Some(found) => Some(found),
        None => missing(format!("none of {} on PATH", names.join(", "))),
    }
}

fn find_on_path(name: &str, path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Whether pcscd runs with vsmartcard's vpcd listening on TCP `port` (35963: reader "Virtual PCD 00 00", 35964:
/// "Virtual PCD 00 01"), as ci/test starts it; skips (or fails under `CI=true`) otherwise. Checked from /proc,
/// since connecting to vpcd would plug a card in.
pub fn pcscd_with_vpcd(port: u16) -> bool {
    if !Path::new("/run/pcscd/pcscd.comm").exists() {
        return missing::<()>(
            "pcscd is not running (no /run/pcscd/pcscd.comm): ci/test starts it with the vpcd readers",
        )
        .is_some();
    }
    let wanted = format!(":{port:04X}");
    let listening = ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
        std::fs::read_to_string(f).unwrap_or_default().lines().any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3 && fields[1].ends_with(&wanted) && fields[3] == "0A"
        })
    });
    listening
        || missing::<()>(format!("pcscd runs but vpcd does not listen on TCP {port} (is vsmartcard-vpcd installed?)"))
            .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_peer_skips_outside_ci_and_fails_under_it() {
        assert_eq!(missing_in::<()>(false, "no frobnicator"), None);
        let panic = std::panic::catch_unwind(|| missing_in::<()>(true, "no frobnicator")).unwrap_err();
        let text = panic.downcast_ref::<String>().unwrap();
        assert!(text.contains("CI=true") && text.contains("no frobnicator"), "{text}");
    }

    #[test]
    fn programs_are_found_on_the_path_given() {
        let dirs = std::env::join_paths(["/nonexistent", "/bin", "/usr/bin"]).unwrap();
        let sh = find_on_path("sh", &dirs).unwrap();
        assert!(sh.ends_with("sh") && is_executable(&sh), "{}", sh.display());
        assert_eq!(find_on_path("khil-no-such-program", &dirs), None);
        // A file that is not executable is not a program.
        let dir = crate::temp_dir("peer-test");
        std::fs::write(dir.join("plain"), "").unwrap();
        assert_eq!(find_on_path("plain", dir.as_os_str()), None);
    }
}
