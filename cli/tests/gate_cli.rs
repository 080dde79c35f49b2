//! `khil sim gate` and `khil gate` as users run them: two processes, a pty between them, the secure channel on.
//! A traveller arrives on the simulated gate's console, khil's controller lets them into the mantrap, the
//! decision `accept` on its console lets them out; both sides' output says so. Real time: about ten seconds.

mod common;

use std::io::Write;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{khil, lines, terminate};

const KEY: &str = "4b48494c2d676174652d310000000001";

/// Waits for a line containing `what`; returns every line seen up to it.
fn expect(rx: &mpsc::Receiver<String>, what: &str, secs: u64, seen: &mut Vec<String>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let hit = line.contains(what);
                seen.push(line);
                if hit {
                    return;
                }
            }
            Err(e) => panic!("no line with {what:?} within {secs} s ({e}); saw {seen:#?}"),
        }
    }
}

fn say(stdin: &mut ChildStdin, line: &str) {
    writeln!(stdin, "{line}").unwrap();
    stdin.flush().unwrap();
}

/// `khil gate --device <url> --address <address> --scbk KEY` with stdin and stdout piped; its state lines.
fn start_controller(url: &str, address: &str) -> (Child, mpsc::Receiver<String>) {
    let mut controller = khil()
        .args(["gate", "--device", url, "--address", address, "--scbk", KEY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let states = lines(controller.stdout.take().unwrap());
    (controller, states)
}

fn stop(mut child: Child) {
    let status = terminate(&mut child, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
}

#[test]
fn khils_controller_lets_a_traveller_through_a_simulated_gate_over_a_pty() {
    let args = ["sim", "gate", "--pty", "--address", "3", "--scbk", KEY, "--fail-mode", "secure"];
    let mut sim = common::start_khil(&args, Stdio::piped(), Stdio::piped());
    let url = sim.url.clone();
    let gate_log = lines(sim.child.stderr.take().unwrap());
    let mut sim_in = sim.child.stdin.take().unwrap();

    let (mut controller, states) = start_controller(&url, "3");
    let mut ctl_in = controller.stdin.take().unwrap();
    let (mut seen, mut world) = (Vec::new(), Vec::new());

    expect(&states, "idle <- out-of-service", 15, &mut seen);
    say(&mut sim_in, "traveller normal");
    expect(&gate_log, "traveller 0 arrives", 5, &mut world);
    expect(&states, "processing <- admitting", 20, &mut seen);
    expect(&gate_log, "traveller 0 entered the mantrap", 5, &mut world);
    say(&mut ctl_in, "accept");
    expect(&states, "releasing <- processing: clearance accepted", 5, &mut seen);
    expect(&gate_log, "traveller 0 walked out through the exit", 20, &mut world);
    expect(&states, "idle <- releasing", 20, &mut seen);
    let states: Vec<&str> =
        seen.iter().map(|l| l.split_whitespace().nth(1).unwrap_or_default()).filter(|s| !s.is_empty()).collect();
    assert_eq!(states, ["idle", "admitting", "admitting", "processing", "releasing", "releasing", "idle"], "{seen:#?}");
    assert!(!world.iter().any(|l| l.contains("stopped and reopened") || l.contains("out of service")), "{world:#?}");
    assert!(
        !world.iter().any(|l| l.contains("TravellerId") || l.contains(" { ")),
        "words, not debug forms: {world:#?}"
    );

    // The controller stops: the fail-secure gate goes out of service on its own watchdog.
    stop(controller);
    expect(&gate_log, "no controller activity: out of service", 10, &mut world);
    say(&mut sim_in, "status");
    expect(&gate_log, "out of service; entry flap 0 % open, exit flap 0 % open; nobody at the gate", 5, &mut world);
    let status = common::terminate_sim(&mut sim, Duration::from_secs(5));
    assert!(status.success(), "{status:?}");
}

#[test]
fn gate_commands_name_their_bad_input() {
    let out = khil().args(["gate", "--device", "serial:///dev/null", "--address", "1"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--scbk HEX (or KHIL_SCBK), --install or --plain: expected one of them"), "{err}");
    let out = khil().args(["gate", "--device", "bogus://x", "--plain"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("--device"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = khil().args(["sim", "gate", "--pty", "--fail-mode", "open"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--fail-mode \"open\": expected one of safe, secure"), "{err}");
    let out = khil().args(["sim", "gate", "--pty", "--profile", "card-reader"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unexpected argument '--profile'"), "a gate's board is gate-io, no flag for it: {err}");
}

#[test]
fn khil_gate_runs_against_an_in_process_gate_url() {
    let url = format!("sim:gate?address=2&scbk={KEY}&fail-mode=secure&seed=3");
    let (mut controller, states) = start_controller(&url, "2");
    let mut seen = Vec::new();
    expect(&states, "idle <- out-of-service: I/O board online", 15, &mut seen);
    // Nobody at the gate: an accept is ignored (said on stderr), the gate stays idle.
    let mut stdin = controller.stdin.take().unwrap();
    say(&mut stdin, "accept");
    std::thread::sleep(Duration::from_millis(300));
    assert!(states.try_recv().is_err(), "no state change without a traveller");
    stop(controller);
    let out = khil().args(["gate", "--device", "sim:gate?fail-mode=open", "--plain"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("fail-mode \"open\": expected one of safe, secure"), "{err}");
}

/// A gate controller does not give up when its board's line drops: `khil gate` says the gate is out of service,
/// keeps trying, and is back in service when the board answers again (here: the simulator restarted on the same
/// TCP port, as a board power-cycled behind a serial-to-Ethernet converter).
#[test]
fn khil_gate_goes_out_of_service_and_reconnects_when_the_line_drops() {
    let mut sim =
        common::start_khil(&["sim", "gate", "--tcp", "127.0.0.1:0", "--scbk", KEY], Stdio::null(), Stdio::null());
    let url = sim.url.clone();
    let addr = url.strip_prefix("tcp://").unwrap().to_owned();
    let (controller, states) = start_controller(&url, "1");
    let mut seen = Vec::new();
    expect(&states, "idle <- out-of-service: I/O board online", 15, &mut seen);
    let _ = sim.child.kill();
    let _ = sim.child.wait();
    expect(&states, "out-of-service <- idle: the board's line dropped", 15, &mut seen);
    // The same port again: the controller's next attempt (1 s, then 2 s...) finds the board.
    let _sim = common::start_khil(&["sim", "gate", "--tcp", &addr, "--scbk", KEY], Stdio::null(), Stdio::null());
    expect(&states, "idle <- out-of-service: I/O board online", 20, &mut seen);
    stop(controller);
}
