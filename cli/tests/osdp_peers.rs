//! libosdp 3.2.9's control panel (the C reference implementation, through its Python binding) drives
//! `khil sim osdp-pd` over a pty: secure channel enforced, identity and capabilities, OUT/LED/BUZ/TEXT commands
//! arriving (and decrypted) at the PD, an input change and a card read reaching the CP as events; and in install
//! mode, KEYSET from SCBK-D to a new key and a reconnection with it.

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::{Sim, peer_python, peer_script, plain, start_khil, stop_sim};

const KEY: &str = "000102030405060708090a0b0c0d0e0f";

/// `khil -v sim osdp-pd --pty <args>` with stdin and stderr piped.
fn start_pd(args: &[&str]) -> Sim {
    start_khil(&[&["-v", "sim", "osdp-pd", "--pty"][..], args].concat(), Stdio::piped(), Stdio::piped())
}

/// Ends the PD; its log.
fn stop(pd: Sim) -> String {
    stop_sim(pd, Duration::from_secs(5)).1
}

fn run_cp(python: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = peer_script(python, "osdp_cp.py").args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn libosdp_cp_drives_the_gate_io_pd_over_the_secure_channel() {
    let Some(python) = peer_python() else { return };
    let mut pd = start_pd(&["--profile", "gate-io", "--address", "1", "--scbk", KEY]);
    // Events wait at the PD until a secure POLL collects them.
    pd.child.stdin.as_mut().unwrap().write_all(b"card 12345678\ninput 0 on\n").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (ok, cp) = run_cp(&python, &[pd.pty_path(), "--key", KEY]);
    let log = stop(pd);
    assert!(ok, "libosdp CP:\n{cp}\nPD log:\n{log}");
    for needle in [
        "online, secure channel up",
        "pdid 0x4c484b 1 0x4b48494c",
        "outputs (1, 3) inputs (1, 6)",
        "card read 12345678",
        "'report': b'\\x01\\x00\\x00\\x00\\x00\\x00'",
    ] {
        assert!(cp.contains(needle), "{needle:?} not in the CP's output:\n{cp}");
    }
    // What the CP sent arrived at the PD, through the encryption.
    let log = plain(&log);
    for needle in ["secure channel up", "OUT", "output=\"entry-flap\" control=2", "LED", "BUZ", "text=Welcome"] {
        assert!(log.contains(needle), "{needle:?} not in the PD's log:\n{log}");
    }
}

#[test]
fn libosdp_cp_moves_the_pd_from_the_default_key_to_its_own() {
    let Some(python) = peer_python() else { return };
    let pd = start_pd(&["--profile", "card-reader", "--address", "1"]);
    let (ok, cp) = run_cp(&python, &[pd.pty_path(), "--install", "00112233445566778899aabbccddeeff"]);
    let log = stop(pd);
    assert!(ok, "libosdp CP:\n{cp}\nPD log:\n{log}");
    assert!(cp.contains("reconnected with the new key"), "{cp}");
    assert!(log.contains("new secure channel base key installed"), "{log}");
}
