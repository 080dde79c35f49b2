//! `khil sim` as its users run it: a separate process, a `ready` line, clients on the URL it names.

mod common;

use std::io::Read;
use std::process::Command;
use std::time::Duration;

use common::{khil, peer_python, start_sim, wait_exit};

/// Sends every byte value through `url` with khil's own client and checks the echo.
fn echo_all_bytes(url: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let url = url.parse().unwrap();
        let mut link = khil_link::connect(&url, None, &khil_link::NoSimulators).await.unwrap();
        let all: Vec<u8> = (0..=255).collect();
        link.write_all(&all).await.unwrap();
        let mut back = vec![0; 256];
        tokio::time::timeout(Duration::from_secs(10), link.read_exact(&mut back)).await.unwrap().unwrap();
        assert_eq!(back, all);
    });
}

#[test]
fn pty_sim_announces_a_serial_url_and_echoes() {
    let sim = start_sim(&["echo", "--pty"]);
    let path = sim.url.strip_prefix("serial:///dev/pts/").unwrap_or_else(|| panic!("not a pty URL: {}", sim.url));
    assert!(path.parse::<u32>().is_ok(), "{}", sim.url);
    // Several client sessions against one simulator process, as a user's program reconnects.
    for _ in 0..3 {
        echo_all_bytes(&sim.url);
    }
}

#[test]
fn tcp_sim_announces_a_tcp_url_and_echoes() {
    let sim = start_sim(&["echo", "--tcp", "127.0.0.1:0"]);
    assert!(sim.url.starts_with("tcp://127.0.0.1:"), "{}", sim.url);
    echo_all_bytes(&sim.url);
    echo_all_bytes(&sim.url);
}

/// The independent peer: pyserial opens the pty path and gets every byte 0x00-0xFF back unchanged.
#[test]
fn pyserial_client_gets_every_byte_echoed() {
    let Some(python) = peer_python() else { return };
    let sim = start_sim(&["echo", "--pty"]);
    let path = sim.url.strip_prefix("serial://").unwrap();
    let script = r#"
import sys, serial
port = serial.Serial(sys.argv[1], 57600, timeout=5)
data = bytes(range(256))
port.write(data)
port.flush()
back = port.read(len(data))
port.close()
if back != data:
    sys.exit(f"echo mismatch: sent 256 bytes, got {len(back)}: {back[:32].hex()}...")
print(f"pyserial {serial.VERSION}: 256/256 bytes echoed")
"#;
    for session in 0..2 {
        let out = Command::new(&python).arg("-c").arg(script).arg(path).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "session {session}: {}\n{}", stdout, String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("256/256 bytes echoed"), "{stdout}");
    }
}

fn signal_stops_cleanly(signal: &str) {
    let mut sim = start_sim(&["echo", "--pty"]);
    echo_all_bytes(&sim.url);
    let status = Command::new("kill").args(["-s", signal, &sim.child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let status = wait_exit(&mut sim.child, Duration::from_secs(10));
    assert!(status.success(), "{signal}: exit status {status}");
    // Nothing after the ready line on stdout.
    let mut rest = String::new();
    sim.stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "stdout after the ready line");
}

#[test]
fn sigterm_stops_cleanly() {
    signal_stops_cleanly("TERM");
}

#[test]
fn sigint_stops_cleanly() {
    signal_stops_cleanly("INT");
}

#[test]
fn faults_and_pacing_apply_to_the_served_line() {
    let sim = start_sim(&["echo", "--tcp", "127.0.0.1:0", "--fault", "drop:at=0,dir=tx", "--pace", "115200"]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut link = khil_link::connect(&sim.url.parse().unwrap(), None, &khil_link::NoSimulators).await.unwrap();
        link.write_all(b"xyz").await.unwrap();
        let mut back = [0u8; 2];
        tokio::time::timeout(Duration::from_secs(10), link.read_exact(&mut back)).await.unwrap().unwrap();
        assert_eq!(&back, b"yz", "the device's first byte out was dropped on the line");
    });
}

/// A state file that is not one is refused, named, and left as it was: never overwritten.
#[test]
fn fingerprint_refuses_a_foreign_state_file() {
    let dir = khil_test_support::temp_dir("sim-state");
    let path = dir.join("lib.json");
    std::fs::write(&path, "{\"not\": \"ours\"}").unwrap();
    let out = khil().args(["sim", "fingerprint", "--state"]).arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("lib.json") && err.contains("not a khil fingerprint state file"), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"not\": \"ours\"}");
}

/// The ready line, then the finger console: `place`, `lift` and nonsense typed on stdin are answered on stderr.
#[test]
fn fingerprint_takes_finger_commands_on_stdin() {
    let seen = common::console(&["fingerprint", "--pty", "--profile", "r503"], "place 4\nlift\njump 3\n", 3);
    assert_eq!(seen[0], "finger: place:4");
    assert_eq!(seen[1], "finger: none");
    assert!(seen[2].contains("\"jump 3\"") && seen[2].contains("expected"), "{seen:?}");
}

/// The bio reader's console: `place` (after the finger is synthesised), `lift`, and nonsense, answered on stderr.
#[test]
fn osdp_bio_reader_takes_finger_commands_on_stdin() {
    let args = ["osdp-pd", "--pty", "--profile", "bio-reader", "--finger", "auto:2"];
    let seen = common::console(&args, "place 4\nlift\njump 3\ninput 0 on\n", 4);
    assert_eq!(seen[0], "finger: place:4");
    assert_eq!(seen[1], "finger: none");
    assert!(seen[2].contains("\"jump 3\"") && seen[2].contains("`place <id>`"), "{seen:?}");
    assert!(seen[3].starts_with("event queued: Input"), "{seen:?}");
}

#[test]
fn unbuilt_commands_say_so_and_fail() {
    for args in [&["scenario", "run", "x.toml"][..], &["demo"]] {
        let out = khil().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(69), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not built yet"), "{args:?}: {err}");
    }
}

#[test]
fn bad_input_is_named() {
    for (args, needle) in [
        (&["sim", "scanner"][..], "unknown device \"scanner\""),
        (&["sim", "echo", "--fault", "flip:p=7"], "invalid fault spec \"flip:p=7\""),
        (&["sim", "echo", "--pace", "0"], "--pace"),
        (&["sim", "echo", "--pace", "9600", "--framing", "9Q1"], "framing like 8N1"),
        (&["sim", "echo", "--profile", "r307"], "has no profiles"),
        (&["sim", "echo", "--tcp", "nonsense"], "tcp://nonsense"),
        (&["sim", "echo", "--vpcd", "127.0.0.1:35963"], "not a smart card"),
        (&["sim", "echo", "--finger", "auto:1"], "has no sensor"),
        (&["sim", "echo", "--fault", "hang:at=1"], "invalid fault spec \"hang:at=1\""),
        (&["sim", "fingerprint", "--profile", "r999"], "--profile \"r999\": expected one of r307, r503"),
        (&["sim", "fingerprint", "--finger", "auto:x"], "finger \"auto:x\": expected auto:<id>"),
        (&["sim", "fingerprint", "--fault", "smoke:p=1"], "unknown kind \"smoke\""),
        (&["sim", "fingerprint", "--fault", "hang"], "trigger"),
        (&["sim", "fingerprint", "--fault", "flip:p=2"], "invalid fault spec \"flip:p=2\""),
        (&["sim", "fingerprint", "--no-finger", "1.5"], "--no-finger 1.5"),
        (&["sim", "fingerprint", "--quality", "great"], "--quality \"great\": expected good or mixed"),
        (&["sim", "osdp-pd", "--profile", "door"], "expected one of gate-io, card-reader, bio-reader"),
        (&["sim", "osdp-pd", "--finger", "auto:1"], "profile \"gate-io\" has no fingerprint sensor"),
        (&["sim", "osdp-pd", "--profile", "bio-reader", "--finger", "auto:x"], "finger \"auto:x\": expected auto:<id>"),
        (&["sim", "osdp-pd", "--profile", "bio-reader", "--no-finger", "2"], "--no-finger 2: expected a probability"),
    ] {
        let out = khil().args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: no ready line on failure");
    }
}

#[test]
fn every_command_has_help_with_an_example() {
    for args in [
        &["--help"][..],
        &["sim", "--help"],
        &["bench", "--help"],
        &["conformance", "--help"],
        &["conformance", "list", "--help"],
        &["conformance", "run", "--help"],
        &["gate", "--help"],
        &["scenario", "--help"],
        &["demo", "--help"],
    ] {
        let out = khil().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Example"), "{args:?}: {text}");
    }
}

#[test]
fn bench_link_writes_json() {
    let dir = khil_test_support::temp_dir("bench-link");
    let json = dir.join("link.json");
    let out =
        khil().args(["bench", "link", "--bytes", "262144", "--pings", "20", "--json"]).arg(&json).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    for link in ["memory", "pty", "tcp"] {
        assert!(table.lines().any(|l| l.starts_with(link)), "{table}");
    }
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    for row in rows {
        assert!(row["khil_mib_per_s"].as_f64().unwrap() > 0.0, "{row}");
        assert!(row["throughput_ratio"].as_f64().unwrap() > 0.0, "{row}");
    }
}

/// khil's serial client holds the port exclusively while open and leaves no exclusive flag behind when it
/// closes. A left-over TIOCEXCL on a simulator's pty makes every later non-root open fail with EBUSY (seen with
/// a client that sets the flag and closes without clearing it); serialport clears it in its close, and this
/// keeps that promise checked. Read from outside with TIOCGEXCL (root may open an exclusive tty, so it can look).
#[test]
fn serial_client_leaves_no_exclusive_flag() {
    let Some(python) = peer_python() else { return };
    let sim = start_sim(&["echo", "--pty"]);
    let path = sim.url.strip_prefix("serial://").unwrap().to_owned();
    let exclusive = || {
        let script = "import sys, os, fcntl, struct\nfd = os.open(sys.argv[1], os.O_RDWR | os.O_NOCTTY)\n\
                      v = fcntl.ioctl(fd, 0x80045440, b'\\0\\0\\0\\0')\nprint(struct.unpack('i', v)[0])";
        let out = Command::new(&python).arg("-c").arg(script).arg(&path).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim() == "1"
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let link = rt.block_on(khil_link::connect(&sim.url.parse().unwrap(), None, &khil_link::NoSimulators)).unwrap();
    assert!(exclusive(), "an open khil client holds the port exclusively");
    drop(link);
    assert!(!exclusive(), "the exclusive flag outlived the client");
}
