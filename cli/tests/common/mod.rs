//! Helpers for tests that run the `khil` binary and independent peers.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The Python interpreter of ci/test's peers venv, or `None` (test skipped, reason printed) when it is not
/// installed. Under `CI=true` a missing peer fails the test instead: CI must never pass by skipping.
pub fn peer_python() -> Option<PathBuf> {
    let from_env = std::env::var_os("KHIL_PEERS_PY").map(PathBuf::from);
    let default = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.peers/venv/bin/python");
    let found = from_env.into_iter().chain([default]).find(|p| p.exists());
    if found.is_none() {
        let why = "peer venv missing: run ci/test once (it installs .peers/venv), or set KHIL_PEERS_PY";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true: {why}");
        eprintln!("skipped: {why}");
    }
    found
}

/// `python tests/peers/<script>`: one of this crate's peer scripts, run without writing a `__pycache__` into
/// the source tree.
pub fn peer_script(python: &Path, script: &str) -> Command {
    let mut command = Command::new(python);
    command.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers").join(script));
    command.env("PYTHONDONTWRITEBYTECODE", "1");
    command
}

/// A running `khil sim ...` process; killed on drop.
pub struct Sim {
    pub child: Child,
    pub url: String,
    pub stdout: BufReader<ChildStdout>,
}

impl Sim {
    /// The pty a `--pty` simulator serves on: its URL without `serial://`.
    pub fn pty_path(&self) -> &str {
        self.url.strip_prefix("serial://").unwrap_or_else(|| panic!("not a pty URL: {}", self.url))
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
    let mut child = khil().args(args).stdin(stdin).stdout(Stdio::piped()).stderr(stderr).spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut line = String::new();
        let r = stdout.read_line(&mut line);
        let _ = tx.send((r.map(|_| line), ()));
        stdout
    });
    let (line, ()) = rx.recv_timeout(Duration::from_secs(20)).expect("no ready line within 20 s");
    let line = line.unwrap();
    let stdout = reader.join().unwrap();
    let url = line
        .strip_prefix("ready ")
        .unwrap_or_else(|| panic!("first line is not `ready <url>`: {line:?}"))
        .trim_end()
        .to_owned();
    Sim { child, url, stdout }
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

/// Waits up to `limit` for the process to exit; returns its status.
pub fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "process did not exit within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ends a process with SIGTERM, as a user (or a service manager) stops it, and returns its exit status.
pub fn terminate(child: &mut Child, limit: Duration) -> ExitStatus {
    let pid = child.id().to_string();
    let status = Command::new("kill").args(["-s", "TERM", &pid]).status().unwrap();
    assert!(status.success(), "kill -s TERM {pid} failed");
    wait_exit(child, limit)
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
