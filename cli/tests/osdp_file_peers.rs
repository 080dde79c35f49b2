//! libosdp 3.2.9's control panel (the C reference, through its Python binding) sends a file by FILETRANSFER to
//! `khil sim osdp-pd` over a pty inside the secure channel, with fragments of libosdp's own choosing; the PD logs
//! the received file's length and FNV-1a hash, which must be those of the file libosdp read out.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{peer_python, peer_script, plain, stop_sim};

const KEY: &str = "000102030405060708090a0b0c0d0e0f";

fn start_pd(profile: &str) -> common::Sim {
    let args = ["-v", "sim", "osdp-pd", "--pty", "--profile", profile, "--address", "2", "--scbk", KEY];
    common::start_khil(&args, Stdio::null(), Stdio::piped())
}

#[test]
fn libosdp_cp_sends_a_file_to_the_pd() {
    let Some(python) = peer_python() else { return };
    for (profile, size) in [("bio-reader", "3000"), ("gate-io", "777")] {
        let pd = start_pd(profile);
        let args = [pd.pty_path(), "--key", KEY, "--size", size];
        let out = peer_script(&python, "osdp_cp_file.py").args(args).output().unwrap();
        let cp = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let log = plain(&stop_sim(pd, Duration::from_secs(5)).1);
        assert!(out.status.success() && cp.contains("OK"), "{profile}: libosdp CP:\n{cp}\nPD log:\n{log}");
        let hash = cp.split("fnv1a64 ").nth(1).and_then(|r| r.get(..16)).unwrap_or_else(|| panic!("{cp}"));
        let done = log.lines().find(|l| l.contains("FILETRANSFER complete")).unwrap_or_else(|| panic!("{log}"));
        assert!(done.contains(&format!("bytes={size}")), "{done}");
        assert!(done.contains(&format!("fnv1a64={hash}")), "{profile}: CP sent {hash}, PD received: {done}");
    }
}
