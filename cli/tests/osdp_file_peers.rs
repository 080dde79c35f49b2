//! libosdp 3.2.9's control panel (the C reference, through its Python binding) sends a file by FILETRANSFER to
//! `khil sim osdp-pd` over a pty inside the secure channel, with fragments of libosdp's own choosing; the PD logs
//! the received file's length and FNV-1a hash, which must be those of the file libosdp read out.

mod common;

use std::process::{Command, Stdio};

use common::peer_python;

const KEY: &str = "000102030405060708090a0b0c0d0e0f";

fn start_pd(profile: &str) -> common::Sim {
    let args = ["-v", "sim", "osdp-pd", "--pty", "--profile", profile, "--address", "2", "--scbk", KEY];
    common::start_khil(&args, Stdio::null(), Stdio::piped())
}

#[test]
fn libosdp_cp_sends_a_file_to_the_pd() {
    let Some(python) = peer_python() else { return };
    for (profile, size) in [("bio-reader", "3000"), ("gate-io", "777")] {
        let mut pd = start_pd(profile);
        let path = pd.url.strip_prefix("serial://").unwrap_or_else(|| panic!("{}", pd.url)).to_owned();
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/osdp_cp_file.py");
        let out = Command::new(&python).arg(script).args([&path, "--key", KEY, "--size", size]).output().unwrap();
        let cp = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let _ = common::terminate_sim(&mut pd, std::time::Duration::from_secs(5));
        let mut stderr = Vec::new();
        std::io::Read::read_to_end(&mut pd.child.stderr.take().unwrap(), &mut stderr).unwrap();
        let log =
            String::from_utf8_lossy(&stderr).replace("\u{1b}[3m", "").replace("\u{1b}[0m", "").replace("\u{1b}[2m", "");
        assert!(out.status.success() && cp.contains("OK"), "{profile}: libosdp CP:\n{cp}\nPD log:\n{log}");
        let hash = cp.split("fnv1a64 ").nth(1).and_then(|r| r.get(..16)).unwrap_or_else(|| panic!("{cp}"));
        let done = log.lines().find(|l| l.contains("FILETRANSFER complete")).unwrap_or_else(|| panic!("{log}"));
        assert!(done.contains(&format!("bytes={size}")), "{done}");
        assert!(done.contains(&format!("fnv1a64={hash}")), "{profile}: CP sent {hash}, PD received: {done}");
    }
}
