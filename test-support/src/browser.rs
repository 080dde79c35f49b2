//! Headless Chromium for tests that look at a page as a browser lays it out (reports, the training page): where
//! it is, and the switches every such test starts it with.

use std::path::{Path, PathBuf};

/// Chromium (or Chrome) on `PATH`; `None` with a skip, a failure under `CI=true` (ci/test installs it).
pub fn chromium() -> Option<PathBuf> {
    crate::program_any(&["chromium", "chromium-browser", "google-chrome"])
}

/// The switches of a headless run with a profile of its own in `profile` (inside the test's temporary folder,
/// removed with it): no sandbox, because Chromium's refuses to start as root (CI containers) and the pages are
/// the tests' own; no GPU, no first-run page, nothing fetched in the background.
pub fn headless_args(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain(std::iter::once(format!("--user-data-dir={}", profile.display())))
    .collect()
}
