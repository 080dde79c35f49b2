//! Helpers for tests that run the `khil` binary and independent peers.

// Each test binary uses some of these helpers (and of the re-exports), never all of them.
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The Python interpreter of ci/test's peers venv, or `None` (test skipped, reason printed); a failure under
/// `CI=true`. See `khil_test_support::peer`.
pub fn peer_python() -> Option<PathBuf> {
    khil_test_support::python()
}

/// `python tests/peers/<script>`: one of this crate's peer scripts, run without writing a `__pycache__` into
/// the source tree.
pub fn peer_script(python: &Path, script: &str) -> Command {
    let mut command = Command::new(python);
    command.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers").join(script));
    command.env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

/// A running `khil sim ...` process that printed `ready <url>`; killed on drop.
pub type Sim = khil_test_support::Ready;

pub use khil_test_support::{terminate, wait_exit};

pub fn khil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_khil"))
}

/// Starts `khil sim <args>` and reads its first stdout line, which must be `ready <url>`.
pub fn start_sim(args: &[&str]) -> Sim {
    let args: Vec<&str> = ["sim"].iter().chain(args).copied().collect();
    start_khil(&args, Stdio::null(), Stdio::inherit())
}

/// Starts `khil <args>` (a `sim` command, maybe after global flags) with the given stdin and stderr, and reads its
/// first stdout line, which must be `ready <url>`.
pub fn start_khil(args: &[&str], stdin: Stdio, stderr: Stdio) -> Sim {
    let mut command = khil();
    command.args(args).stdin(stdin).stderr(stderr);
    khil_test_support::start_ready(command, Duration::from_secs(20))
}

/// Types `input` on the console of `khil sim <args>` (then closes stdin) and returns the first `n` lines it
/// answers on stderr.
pub fn console(args: &[&str], input: &str, n: usize) -> Vec<String> {
    use std::io::Write;
    let args: Vec<&str> = ["sim"].iter().chain(args).copied().collect();
    let mut sim = start_khil(&args, Stdio::piped(), Stdio::piped());
    let mut stdin = sim.child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    drop(stdin);
    let mut stderr = BufReader::new(sim.child.stderr.take().unwrap());
    (0..n)
        .map(|_| {
            let mut line = String::new();
            stderr.read_line(&mut line).unwrap();
            line.trim().to_owned()
        })
        .collect()
}

/// Ends a simulator with SIGTERM (see [`terminate`]) and returns its exit status.
pub fn terminate_sim(sim: &mut Sim, limit: Duration) -> ExitStatus {
    terminate(&mut sim.child, limit)
}

/// Ends a simulator started with its stderr piped, as [`terminate_sim`] does, and returns its exit status and
/// everything it wrote on stderr (log lines keep their styling: see [`plain`]).
pub fn stop_sim(mut sim: Sim, limit: Duration) -> (ExitStatus, String) {
    let mut stderr = sim.child.stderr.take().expect("the simulator's stderr is piped");
    // Read while it exits: a simulator blocked on a full pipe would not.
    let log = std::thread::spawn(move || {
        let mut log = Vec::new();
        let _ = stderr.read_to_end(&mut log);
        log
    });
    let status = terminate_sim(&mut sim, limit);
    (status, String::from_utf8_lossy(&log.join().unwrap()).into_owned())
}

/// `text` without ANSI styling (`ESC [ ... m`, as the log formatter writes it).
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("\u{1b}[") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find(|c: char| !(c.is_ascii_digit() || c == ';')) {
            Some(end) if after[end..].starts_with('m') => rest = &after[end + 1..],
            _ => {
                out.push_str(&rest[start..start + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The lines a child writes on `out`, read on a thread of their own.
pub fn lines(out: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}
