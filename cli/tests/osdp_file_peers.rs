//! libosdp 3.2.9's control panel (the C reference, through its Python binding) sends a file by FILETRANSFER to
//! `khil sim osdp-pd` over a pty inside the secure channel, with fragments of libosdp's own choosing; the PD logs
//! the received file's length and FNV-1a hash, which must be those of the file libosdp read out.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::{khil, peer_python};

const KEY: &str = "000102030405060708090a0b0c0d0e0f";

fn start_pd(profile: &str) -> (Child, String) {
    let mut child = khil()
        .args(["-v", "sim", "osdp-pd", "--pty", "--profile", profile, "--address", "2", "--scbk", KEY])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let path = line.trim().strip_prefix("ready serial://").unwrap_or_else(|| panic!("ready line: {line:?}")).to_owned();
    (child, path)
}

#[test]
fn libosdp_cp_sends_a_file_to_the_pd() {
    let Some(python) = peer_python() else { return };
    for (profile, size) in [("bio-reader", "3000"), ("gate-io", "777")] {
        let (pd, path) = start_pd(profile);
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/osdp_cp_file.py");
        let out = Command::new(&python).arg(script).args([&path, "--key", KEY, "--size", size]).output().unwrap();
        let cp = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let _ = Command::new("kill").args(["-s", "TERM", &pd.id().to_string()]).status();
        let log = String::from_utf8_lossy(&pd.wait_with_output().unwrap().stderr)
            .replace("\u{1b}[3m", "")
            .replace("\u{1b}[0m", "")
            .replace("\u{1b}[2m", "");
        assert!(out.status.success() && cp.contains("OK"), "{profile}: libosdp CP:\n{cp}\nPD log:\n{log}");
        let hash = cp.split("fnv1a64 ").nth(1).and_then(|r| r.get(..16)).unwrap_or_else(|| panic!("{cp}"));
        let done = log.lines().find(|l| l.contains("FILETRANSFER complete")).unwrap_or_else(|| panic!("{log}"));
        assert!(done.contains(&format!("bytes={size}")), "{done}");
        assert!(done.contains(&format!("fnv1a64={hash}")), "{profile}: CP sent {hash}, PD received: {done}");
    }
}
