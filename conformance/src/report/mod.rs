//! Reports made from a [`RunReport`]: `report.json` (everything, for programs), `junit.xml` (for CI dashboards)
//! and `report.html` (one self-contained page for an acceptance board: no scripts, no external resources).
//!
//! All three are pure functions of the report ([`json`], [`junit`], [`html`]); [`write_all`] puts them in a
//! directory.

mod html;
mod junit;

use std::path::{Path, PathBuf};

use crate::runner::{PurposeResult, RunReport};

pub use html::{esc, html};
pub use junit::junit;

/// File names [`write_all`] writes, in the order it returns them.
pub const JSON_FILE: &str = "report.json";
pub const JUNIT_FILE: &str = "junit.xml";
pub const HTML_FILE: &str = "report.html";

/// The whole report as pretty-printed JSON.
pub fn json(report: &RunReport) -> Result<String, String> {
    serde_json::to_string_pretty(report).map_err(|e| format!("cannot serialise the report as JSON: {e}"))
}

/// Writes `report.json`, `junit.xml` and `report.html` into `dir` (created if missing) and returns their paths
/// in that order. Errors name the file or directory.
pub fn write_all(report: &RunReport, dir: &Path) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create the report directory {}: {e}", dir.display()))?;
    let files = [
        (JSON_FILE, json(report).map_err(|e| format!("{JSON_FILE}: {e}"))?),
        (JUNIT_FILE, junit(report).map_err(|e| format!("{JUNIT_FILE}: {e}"))?),
        (HTML_FILE, html(report)),
    ];
    let mut written = Vec::with_capacity(files.len());
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// The results grouped by `group`, groups in the order they first appear (the suite's run order).
pub fn groups(report: &RunReport) -> Vec<(&str, Vec<&PurposeResult>)> {
    let mut groups: Vec<(&str, Vec<&PurposeResult>)> = Vec::new();
    for result in &report.results {
        match groups.iter_mut().find(|(name, _)| *name == result.group) {
            Some((_, members)) => members.push(result),
            None => groups.push((&result.group, vec![result])),
        }
    }
    groups
}

/// Seconds since the Unix epoch as UTC `yyyy-mm-dd hh:mm:ss` (proleptic Gregorian calendar).
pub fn utc_datetime(unix: u64) -> String {
    let (y, m, d, hh, mm, ss) = civil(unix);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02}")
}

/// Seconds since the Unix epoch as RFC 3339 (`yyyy-mm-ddThh:mm:ss+00:00`).
pub fn rfc3339(unix: u64) -> String {
    let (y, m, d, hh, mm, ss) = civil(unix);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}+00:00")
}

/// Splits a Unix time into year, month, day, hour, minute, second (UTC).
fn civil(unix: u64) -> (u64, u64, u64, u64, u64, u64) {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    // Days since 0000-03-01 in 400-year eras of 146 097 days; March-based years put the leap day last.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day, secs / 3600, secs % 3600 / 60, secs % 60)
}

/// A duration in milliseconds for people: `850 ms`, `12.4 s`, `3 min 07 s`.
pub fn human_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else {
        let secs = (ms / 1000.0).round() as u64;
        format!("{} min {:02} s", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_match_the_calendar() {
        for (unix, text) in [
            (0, "1970-01-01 00:00:00"),
            (951_782_400, "2000-02-29 00:00:00"),
            (1_709_251_199, "2024-02-29 23:59:59"),
            (1_767_225_599, "2025-12-31 23:59:59"),
            (4_102_444_800, "2100-01-01 00:00:00"),
        ] {
            assert_eq!(utc_datetime(unix), text, "{unix}");
        }
        assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59+00:00");
    }

    #[test]
    fn durations_read_like_people_say_them() {
        assert_eq!(human_ms(0.25), "0.25 ms");
        assert_eq!(human_ms(850.4), "850 ms");
        assert_eq!(human_ms(12_400.0), "12.4 s");
        assert_eq!(human_ms(187_000.0), "3 min 07 s");
    }
}
