//! Processes that announce themselves with one `ready <url>` line on stdout (every `khil sim`), and stopping
//! processes as a user or a service manager does.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running process that printed `ready <url>`; killed (and reaped) when dropped, so a failing test leaves no
/// simulator behind.
#[derive(Debug)]
pub struct Ready {
    pub child: Child,
    /// The URL of the ready line.
    pub url: String,
    /// Its stdout after the ready line.
    pub stdout: BufReader<ChildStdout>,
}

impl Ready {
    /// The pty a `--pty` simulator serves on: its URL without `serial://`.
    pub fn pty_path(&self) -> &str {
        self.url.strip_prefix("serial://").unwrap_or_else(|| panic!("not a pty URL: {}", self.url))
    }
}

impl Drop for Ready {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Kills the child unless it was handed on.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `command` with stdout piped and reads its first line, which must be `ready <url>` and come within
/// `limit`. Panics (having killed the process) otherwise, naming what came instead.
pub fn start_ready(mut command: Command, limit: Duration) -> Ready {
    let shown = format!("{command:?}");
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut guard = Guard(Some(child));
    let (tx, rx) = mpsc::channel();
    // The read happens on a thread so that it can time out; when it does, the guard kills the process, which
    // closes the pipe and ends the thread.
    let reader = std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let _ = tx.send(read.map(|_| line));
        stdout
    });
    let line = match rx.recv_timeout(limit) {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => panic!("{shown}: reading its stdout: {e}"),
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{shown}: no ready line within {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{shown}: the thread reading its stdout ended"),
    };
    let stdout = reader.join().expect("the reader thread does not panic");
    let Some(url) = line.strip_prefix("ready ") else {
        let child = guard.0.as_mut().expect("held");
        let exited = child.try_wait().ok().flatten().map(|s| format!(" (then it exited: {s})")).unwrap_or_default();
        panic!("{shown}: first line is not `ready <url>`: {line:?}{exited}");
    };
    Ready { child: guard.0.take().expect("held"), url: url.trim_end().to_owned(), stdout }
}

/// Waits up to `limit` for `child` to exit and returns its status; kills it and panics when it does not.
pub fn wait_exit(child: &mut Child, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for a child") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("process {} did not exit within {limit:?} (killed)", child.id());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Ends `child` with SIGTERM, as a user (or a service manager) stops it, and returns its exit status.
pub fn terminate(child: &mut Child, limit: Duration) -> ExitStatus {
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-s", "TERM", &pid]).status().expect("run kill(1)");
    assert!(sent.success(), "kill -s TERM {pid} failed");
    wait_exit(child, limit)
}

/// Runs `command` with `input` on its stdin (written from another thread, so a peer that answers while it reads
/// cannot deadlock on a full pipe) and returns its stdout as lines; a failed run fails the test with its stderr.
/// For peers that judge a batch of cases, one line each.
pub fn pipe_lines(mut command: Command, input: &str) -> Vec<String> {
    use std::io::Write as _;
    let name = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let mut stdin = child.stdin.take().expect("piped");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{name}: {e}"));
    writer.join().expect("the stdin writer").unwrap_or_else(|e| panic!("writing to {name}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{name} failed: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    stdout.lines().map(str::to_owned).collect()
}

/// This test binary run again as a child that runs only its ignored test `test` (the child half of a test that
/// kills processes), with `env` set, stdin closed, stderr dropped and stdout piped, and the numbers of its stdout
/// lines `<prefix> <n>` sent to the returned receiver as they come (from a thread of their own). The channel ends
/// when the child's stdout does.
pub fn rerun_child(test: &str, env: &[(&str, &std::ffi::OsStr)], prefix: &str) -> (Child, mpsc::Receiver<u64>) {
    let exe = std::env::current_exe().expect("the test binary's own path");
    let mut command = Command::new(exe);
    command.args([test, "--exact", "--ignored", "--nocapture", "--test-threads=1"]);
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot re-run the test binary for {test}: {e}"));
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    let prefix = format!("{prefix} ");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(n) = line.strip_prefix(prefix.as_str()).and_then(|s| s.trim().parse().ok())
                && tx.send(n).is_err()
            {
                break;
            }
        }
    });
    (child, rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn reads_the_ready_line_and_stops_the_process() {
        let mut ready =
            start_ready(sh("echo 'ready serial:///dev/pts/77'; echo after; exec sleep 30"), Duration::from_secs(5));
        assert_eq!(ready.url, "serial:///dev/pts/77");
        assert_eq!(ready.pty_path(), "/dev/pts/77");
        let mut next = String::new();
        ready.stdout.read_line(&mut next).unwrap();
        assert_eq!(next, "after\n", "stdout goes on after the ready line");
        let status = terminate(&mut ready.child, Duration::from_secs(5));
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(15));
    }

    #[test]
    fn a_wrong_first_line_or_silence_fails_and_kills() {
        let wrong = std::panic::catch_unwind(|| start_ready(sh("echo hello; exit 3"), Duration::from_secs(5)));
        let text = wrong.unwrap_err().downcast_ref::<String>().unwrap().clone();
        assert!(text.contains("not `ready <url>`") && text.contains("hello"), "{text}");

        let started = Instant::now();
        let silent = std::panic::catch_unwind(|| start_ready(sh("exec sleep 30"), Duration::from_millis(200)));
        let text = silent.unwrap_err().downcast_ref::<String>().unwrap().clone();
        assert!(text.contains("no ready line within 200ms"), "{text}");
        // The timeout did not wait for the process: it was killed.
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    }

    #[test]
    fn wait_exit_gives_up_and_kills() {
        let mut child = sh("exec sleep 30").spawn().unwrap();
        let stuck = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait_exit(&mut child, Duration::from_millis(100))
        }));
        assert!(stuck.is_err());
        assert!(child.try_wait().unwrap().is_some(), "killed and reaped");
    }
}
