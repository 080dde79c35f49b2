//! `khil conformance run --pdf`: report.html printed to report.pdf by headless Chromium, the browser people print
//! the page with anyway, so the PDF is the page they would get. Layout is the browser's job: khil writes no PDF
//! itself (no Rust crate lays out HTML and CSS for print).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file `--pdf` writes beside report.html.
pub(crate) const PDF_FILE: &str = "report.pdf";

/// Names Chromium goes by on PATH (Debian, Ubuntu, Google's packages).
const BROWSERS: [&str; 4] = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/// A print that takes longer than this has hung (a page of a few hundred kilobytes prints in a few seconds).
const PRINT_LIMIT: Duration = Duration::from_mins(2);

/// The browser to print with: `KHIL_CHROMIUM`, else the first of [`BROWSERS`] on PATH. Looked for before a run,
/// so a missing browser stops it before any purpose (exit 2) rather than after an hour of testing.
pub(crate) fn find_browser() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("KHIL_CHROMIUM") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("--pdf: KHIL_CHROMIUM={} is not a file", path.display()))
        };
    }
    let dirs: Vec<PathBuf> = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    BROWSERS.iter().flat_map(|name| dirs.iter().map(move |d| d.join(name))).find(|p| p.is_file()).ok_or_else(|| {
        format!(
            "--pdf needs Chromium to print the report: none of {} is on PATH (install Debian's `chromium`, or set \
             KHIL_CHROMIUM to the browser's path)",
            BROWSERS.join(", ")
        )
    })
}

/// Prints `html` to `pdf` with `browser`. The browser runs with a throw-away profile (removed afterwards) and
/// nothing fetched in the background; the page itself has no scripts and no external resources.
pub(crate) async fn print(browser: &Path, html: &Path, pdf: &Path) -> Result<(), String> {
    let html = std::fs::canonicalize(html).map_err(|e| format!("--pdf: {}: {e}", html.display()))?;
    let pdf = std::path::absolute(pdf).map_err(|e| format!("--pdf: {}: {e}", pdf.display()))?;
    let profile = std::env::temp_dir().join(format!("khil-pdf-profile-{}", std::process::id()));
    let run = tokio::process::Command::new(browser)
        .args([
            "--headless",
            // Chromium's sandbox refuses to start as root (CI containers); the page is khil's own, script-free.
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // No browser header and footer (date, file path) on the printed pages: the report has its own. Both
            // spellings: Chromium renamed the switch, and ignores the one it does not know.
            "--no-pdf-header-footer",
            "--print-to-pdf-no-header",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(file_url(&html))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let ended = tokio::time::timeout(PRINT_LIMIT, run).await;
    let _ = std::fs::remove_dir_all(&profile);
    let out = match ended {
        Err(_) => {
            return Err(format!("--pdf: {} did not finish printing in {} s", browser.display(), PRINT_LIMIT.as_secs()));
        }
        Ok(Err(e)) => return Err(format!("--pdf: cannot start {}: {e}", browser.display())),
        Ok(Ok(out)) => out,
    };
    let written = std::fs::read(&pdf).ok().filter(|bytes| bytes.starts_with(b"%PDF-"));
    if !out.status.success() || written.is_none() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
        return Err(format!(
            "--pdf: {} did not write a PDF to {} ({}; {last})",
            browser.display(),
            pdf.display(),
            out.status
        ));
    }
    Ok(())
}

/// `file://` URL of an absolute path, bytes outside the unreserved set percent-encoded (spaces, `#`, `?`, `%`).
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(char::from(b));
        } else {
            let _ = write!(url, "%{b:02X}");
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_urls_encode_what_a_url_cannot_hold() {
        assert_eq!(file_url(Path::new("/tmp/out/report.html")), "file:///tmp/out/report.html");
        assert_eq!(file_url(Path::new("/tmp/my run #2/r?.html")), "file:///tmp/my%20run%20%232/r%3F.html");
        assert_eq!(
            file_url(Path::new("/tmp/Замийн-Үүд")),
            "file:///tmp/%D0%97%D0%B0%D0%BC%D0%B8%D0%B9%D0%BD-%D2%AE%D2%AF%D0%B4"
        );
    }
}
