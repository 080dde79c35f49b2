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

/// The ready line, then the finger console: `place`, `lift` and nonsense typed on stdin are answered on stderr,
/// in words.
#[test]
fn fingerprint_takes_finger_commands_on_stdin() {
    let seen = common::console(&["fingerprint", "--pty", "--profile", "r503"], "place 4\nlift\njump 3\n", 3);
    assert_eq!(seen[0], "finger 4 placed; it stays on the sensor");
    assert_eq!(seen[1], "finger lifted: nobody at the sensor");
    assert!(seen[2].contains("\"jump 3\"") && seen[2].contains("expected"), "{seen:?}");
}

/// The bio reader's console: `place` (after the finger is synthesised), `lift`, nonsense and an input event,
/// answered on stderr in words (never a Rust debug form).
#[test]
fn osdp_bio_reader_takes_finger_commands_on_stdin() {
    let args = ["osdp-pd", "--pty", "--profile", "bio-reader", "--finger", "auto:2"];
    let seen = common::console(&args, "place 4\nlift\njump 3\ninput 0 on\ncard 0a1b\n", 5);
    assert_eq!(seen[0], "finger 4 placed; it stays on the sensor");
    assert_eq!(seen[1], "finger lifted: nobody at the sensor");
    assert!(seen[2].contains("\"jump 3\"") && seen[2].contains("`place <id>`"), "{seen:?}");
    assert_eq!(seen[3], "input 0 on: reported at the next POLL");
    assert_eq!(seen[4], "a card of 16 bits: reported at the next POLL");
}

/// The gate's console answers in words; a tailgater needs someone to follow, and says so.
#[test]
fn gate_console_speaks_words() {
    let seen = common::console(&["gate", "--pty"], "traveller tailgater\ntraveller normal\nstatus\nfly away\n", 4);
    assert!(seen[0].starts_with("a tailgater follows the traveller ahead, and nobody is at the gate"), "{seen:?}");
    assert_eq!(seen[1], "traveller 0 arrives (normal)");
    assert!(seen[2].starts_with("in service; entry flap") && seen[2].contains("traveller 0 "), "{seen:?}");
    assert!(seen[3].contains("\"fly away\": expected `traveller normal|tailgater"), "{seen:?}");
    assert!(seen.iter().all(|l| !l.contains("TravellerId") && !l.contains(" { ")), "{seen:?}");
}

/// `khil sim osdp-pd --quirk X` and `sim:osdp-pd?quirk=X` are one configuration: the flag reaches the PD (it used
/// to be dropped). `ack-unknown` acknowledges a command a correct PD refuses; libosdp's CP is not needed, the
/// simulator's own answer to an unknown command over the pty shows it.
#[test]
fn osdp_pd_quirk_flag_takes_effect() {
    use std::io::{Read, Write};
    // A plain packet with the unknown command 0x7E to address 1, SQN 0 (a CP's first), CRC: khil's codec.
    let packet = khil_osdp::frame::OsdpFrame::command(1, 0, 0x7E, Vec::new()).encode(true);
    let mut replies = Vec::new();
    for quirk in [None, Some("ack-unknown")] {
        let mut args = vec!["osdp-pd", "--pty"];
        args.extend(quirk.iter().flat_map(|q| ["--quirk", q]));
        let sim = common::start_sim(&args);
        let mut port = std::fs::OpenOptions::new().read(true).write(true).open(sim.pty_path()).unwrap();
        port.write_all(&packet).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let mut buf = [0u8; 64];
        let n = port.read(&mut buf).unwrap();
        replies.push(buf[..n].to_vec());
    }
    let code = |r: &[u8]| match khil_osdp::frame::decode(r) {
        khil_osdp::frame::Decoded::Frame { frame, .. } => Some(frame.code),
        _ => None,
    };
    // osdp_NAK (0x41) with error code 3, "unknown command code".
    assert_eq!(code(&replies[0]), Some(0x41), "a correct PD NAKs an unknown command: {:02x?}", replies[0]);
    assert_eq!(replies[0].get(7), Some(&3), "NAK 3: {:02x?}", replies[0]);
    assert_eq!(code(&replies[1]), Some(0x40), "--quirk ack-unknown ACKs it: {:02x?}", replies[1]);
}

/// Keys stay off the command line: from a file that only its owner may read, or from KHIL_SCBK. A file others
/// can read is refused, and no error ever repeats a key.
#[test]
fn keys_come_from_a_file_or_the_environment() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("khil-sim-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("board.key");
    std::fs::write(&key, "000102030405060708090a0b0c0d0e0f\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = khil().args(["sim", "osdp-pd", "--scbk-file"]).arg(&key).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("readable by others") && err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    for (args, env) in [
        (vec!["osdp-pd", "--pty", "--scbk-file", key.to_str().unwrap()], None),
        (vec!["gate", "--pty"], Some("000102030405060708090a0b0c0d0e0f")),
    ] {
        let mut command = khil();
        command.arg("sim").args(&args).stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped());
        if let Some(k) = env {
            command.env("KHIL_SCBK", k);
        }
        let mut child = command.spawn().unwrap();
        let mut first = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut first).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert!(first.starts_with("ready serial://"), "{args:?}: {first:?}");
    }
    let out = khil().args(["sim", "osdp-pd"]).env("KHIL_SCBK", "00112233445566778899aabbccddeeff00").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("expected 32 hex digits") && !err.contains("00112233"), "{err}");
    let out = khil()
        .args(["sim", "osdp-pd", "--help"])
        .env("KHIL_SCBK", "c0ffee0102030405060708090a0b0c0d")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("KHIL_SCBK") && !help.contains("c0ffee"), "the key's value never shows in --help: {help}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Logs written to a pipe carry no colour codes.
#[test]
fn logs_to_a_pipe_have_no_colour() {
    let out = khil().args(["-v", "sim", "echo", "--tcp", "nonsense"]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\u{1b}'), "escape codes in a piped log: {err:?}");
}

/// A scenario that cannot be read is refused before anything runs, naming the file (exit status 2).
#[test]
fn a_missing_scenario_file_is_named() {
    let out = khil().args(["scenario", "run", "no-such-scenario.toml", "--out", "/nonexistent/x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-scenario.toml"), "{err}");
}

/// Errors name the flag, the value and what was expected; a flag the device does not take is refused (they used
/// to be accepted and ignored).
#[test]
fn bad_input_is_named() {
    for (args, needle) in [
        (&["sim", "scanner"][..], "unrecognized subcommand 'scanner'"),
        (&["sim", "echo", "--fault", "flip:p=7"], "--fault \"flip:p=7\": expected a probability from 0 to 1"),
        (&["sim", "echo", "--pace", "0"], "--pace \"0\": expected a baud rate"),
        (&["sim", "echo", "--pace", "9600", "--framing", "9Q1"], "framing like 8N1"),
        (&["sim", "echo", "--framing", "7E2"], "--framing: expected together with pace"),
        (&["sim", "echo", "--profile", "r307"], "unexpected argument '--profile'"),
        (&["sim", "echo", "--tcp", "nonsense"], "tcp://nonsense"),
        (&["sim", "echo", "--vpcd", "127.0.0.1:35963"], "not a smart card"),
        (&["sim", "echo", "--finger", "auto:1"], "unexpected argument '--finger'"),
        (
            &["sim", "echo", "--fault", "hang:at=1"],
            "--fault \"hang:at=1\": unknown kind \"hang\": expected a line fault",
        ),
        (&["sim", "fingerprint", "--profile", "r999"], "--profile \"r999\": expected one of r307, r503"),
        (&["sim", "fingerprint", "--profile", "r307", "--profile", "r503"], "cannot be used multiple times"),
        (&["sim", "fingerprint", "--finger", "auto:x"], "--finger \"auto:x\": expected auto:<id>"),
        (&["sim", "fingerprint", "--fault", "smoke:p=1"], "unknown kind \"smoke\""),
        (&["sim", "fingerprint", "--fault", "hang"], "--fault \"hang\": expected one of p=<probability>, at=<n>"),
        (&["sim", "fingerprint", "--fault", "flip:p=2"], "--fault \"flip:p=2\": expected a probability"),
        (&["sim", "fingerprint", "--no-finger", "1.5"], "--no-finger \"1.5\": expected a probability"),
        (&["sim", "fingerprint", "--quality", "great"], "--quality \"great\": expected one of good, mixed"),
        (&["sim", "fingerprint", "--scbk", "000102030405060708090a0b0c0d0e0f"], "unexpected argument '--scbk'"),
        (&["sim", "fingerprint", "--address", "3"], "unexpected argument '--address'"),
        (&["sim", "fingerprint", "--quirk", "fly"], "--quirk \"fly\""),
        (&["sim", "osdp-pd", "--profile", "door"], "expected one of gate-io, card-reader, bio-reader"),
        (&["sim", "osdp-pd", "--finger", "auto:1"], "--finger: profile \"gate-io\" has no fingerprint sensor"),
        (
            &["sim", "osdp-pd", "--profile", "bio-reader", "--finger", "auto:x"],
            "--finger \"auto:x\": expected auto:<id>",
        ),
        (
            &["sim", "osdp-pd", "--profile", "bio-reader", "--no-finger", "2"],
            "--no-finger \"2\": expected a probability",
        ),
        (&["sim", "osdp-pd", "--scan-ms", "800"], "--scan-ms: profile \"gate-io\" has no fingerprint sensor"),
        (&["sim", "osdp-pd", "--profile", "bio-reader", "--scan-ms", "soon"], "--scan-ms \"soon\""),
        (&["sim", "osdp-pd", "--quirk", "fly"], "--quirk \"fly\""),
        (&["sim", "osdp-pd", "--scbk", "00"], "--scbk: expected 32 hex digits (16 bytes), got 2 characters"),
        (&["sim", "osdp-pd", "--address", "127"], "--address \"127\": expected 0-126"),
        (
            &["sim", "osdp-pd", "--scbk-file", "/nonexistent/k"],
            "--scbk-file \"/nonexistent/k\": cannot read the key file",
        ),
        (&["sim", "gate", "--fail-mode", "open"], "--fail-mode \"open\": expected one of safe, secure"),
        (&["sim", "gate", "--profile", "gate-io"], "unexpected argument '--profile'"),
        (&["gate", "--device", "/nonexistent/tty", "--install"], "/nonexistent/tty"),
        (&["gate", "--device", "sim:gate", "--scbk", "00"], "expected 32 hex digits (16 bytes), got 2 characters"),
    ] {
        let out = khil().args(args).output().unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: no ready line on failure");
    }
}

/// `--pace`, repeated `--fault` and repeated `--quirk` are accepted by every device that takes them (`osdp-pd` and
/// `gate` used to refuse `pace`): each simulator starts and prints its ready line. That they take effect is shown
/// elsewhere: quirks in `osdp_pd_quirk_flag_takes_effect` and `sim/registry/tests/urls.rs`, pacing and faults in
/// the link and simulator crates' tests.
#[test]
fn every_device_accepts_pace_and_repeated_faults_and_quirks() {
    for args in [
        &["osdp-pd", "--pty", "--pace", "115200", "--fault", "slow:every=5,ms=1", "--fault", "flip:p=0.0001"][..],
        &["gate", "--pty", "--pace", "115200"],
        &["fingerprint", "--pty", "--pace", "57600", "--quirk", "short-errors", "--quirk", "no-end-data"],
    ] {
        drop(common::start_sim(args));
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
