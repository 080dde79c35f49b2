//! report.html: escaped, self-contained, with its plots; opened in headless Chromium, the plots are laid out at
//! their size with their bars and axes.

mod common;

use std::process::Command;

use common::{outcome, run};
use khil_scenario::DecisionWord::{NotProcessed, Refer, Release};
use khil_scenario::report::{esc, html};
use khil_scenario::{ExpectationResult, GateSummary, IncidentLog, RunResult, RunTiming};

fn sample() -> RunResult {
    let mut r = run(vec![
        outcome(1, None, "genuine", Release, &[]),
        outcome(2, Some("forged"), "photo-substitution", Refer, &["document.forged_or_altered"]),
        outcome(3, None, "genuine", Release, &[]),
        outcome(4, None, "watchlist:wanted", Refer, &["watchlist.wanted"]),
        outcome(5, None, "genuine", NotProcessed, &[]),
        outcome(6, None, "genuine", Release, &[]),
    ]);
    r.gates = ["gate-1", "gate-2"]
        .into_iter()
        .map(|name| GateSummary {
            name: name.to_owned(),
            travellers: 3,
            released: 2,
            referred: 1,
            busy_seconds: 36.0,
            faults: vec![],
            sensors: vec!["zfm".to_owned(), "osdp-bio".to_owned()],
        })
        .collect();
    r.incidents = vec![IncidentLog { at: 9.2 * 3600.0, what: "power cut for 90 s".to_owned() }];
    r.expectations = vec![ExpectationResult {
        what: "released".to_owned(),
        expected: "at least 0.5".to_owned(),
        actual: "0.6".to_owned(),
        passed: true,
    }];
    r
}

#[test]
fn every_string_from_a_file_or_a_run_is_escaped() {
    let attack = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>&";
    let mut r = sample();
    r.scenario = attack.to_owned();
    r.description = attack.to_owned();
    r.point = attack.to_owned();
    r.rules_version = attack.to_owned();
    r.travellers[1].label = Some(attack.to_owned());
    r.travellers[1].reasons = vec![attack.to_owned()];
    r.travellers[1].truth = attack.to_owned();
    r.travellers[1].timeline[0].outcome = attack.to_owned();
    r.gates[0].name = attack.to_owned();
    r.gates[0].faults = vec![attack.to_owned()];
    r.travellers[0].gate = Some(attack.to_owned());
    r.incidents[0].what = attack.to_owned();
    r.expectations[0].what = attack.to_owned();
    r.records.verified = Some(false);
    r.records.verify_detail = attack.to_owned();
    let page = html(&r, None);
    let lower = page.to_lowercase();
    assert!(!lower.contains("<script"), "markup from the run reached the page");
    assert!(!lower.contains("<img"), "markup from the run reached the page");
    assert!(!page.contains("\"'>"), "an attribute could be closed by the run's text");
    // Each place shows the text, escaped.
    let escaped = esc(attack);
    assert_eq!(escaped, "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&gt;&lt;img src=x onerror=alert(2)&gt;&amp;");
    assert!(page.matches(&escaped).count() >= 10, "{} escaped copies", page.matches(&escaped).count());
}

#[test]
fn the_report_is_self_contained_with_every_section_and_plot() {
    let timing = RunTiming { wall_seconds: 12.5, decision_cpu_ms: vec![10.0, 20.0, 30.0] };
    let page = html(&sample(), Some(&timing));
    for forbidden in ["http://", "https://", "src=", "<link", "@import", "url("] {
        let outside_svg_namespace = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!outside_svg_namespace.contains(forbidden), "the report fetches something: {forbidden}");
    }
    for section in [
        "<h2>Summary</h2>",
        "<h2>Expectations</h2>",
        "<h2>Per-gate timeline</h2>",
        "<h2>Throughput per hour</h2>",
        "<h2>Queues</h2>",
        "<h2>Transaction times</h2>",
        "<h2>Gates</h2>",
        "<h2>Incidents</h2>",
        "<h2>Records</h2>",
        "<h2>Travellers</h2>",
        "mongolia-2026.12-1",
        "2026-12-07",
        "Wall time",
        "<details>",
        "watchlist:wanted",
        "<td>zfm, then osdp-bio</td>",
    ] {
        assert!(page.contains(section), "no {section}");
    }
    assert_eq!(page.matches("<svg ").count(), 4, "timeline, throughput, queues, transaction times");
    // The timeline has a bar per traveller who was in a gate, with who and what in its hover title.
    let gantt = &page[page.find("aria-label=\"per-gate timeline\"").unwrap()..];
    let gantt = &gantt[..gantt.find("</svg>").unwrap()];
    assert_eq!(gantt.matches("<rect").count(), 5, "five travellers went through a gate");
    assert!(gantt.contains("<title>#2 (forged): refer — document.forged_or_altered;"), "{gantt}");
    assert!(gantt.contains(">09:00<"), "time ticks: {gantt}");
    // The histogram marks p50 and p95; the summary counts per truth class.
    assert!(page.contains("p50 12.0 s"), "transaction p50 marked");
    assert!(
        page.contains(
            "<th>watchlist:wanted</th><td class=\"num\">1</td><td class=\"num\">0</td><td class=\"num\">1</td>"
        )
    );
}

#[test]
fn an_empty_run_still_renders() {
    let page = html(&run(vec![]), None);
    assert!(page.contains("Nobody left a gate") && page.ends_with("</html>\n"));
}

/// The report opened in headless Chromium: a script the test appends measures each plot as laid out (the
/// report itself has none), and `--dump-dom` hands the measurements back. Skipped without Chromium, except
/// under `CI=true`.
#[test]
fn the_plots_are_laid_out_in_a_browser() {
    let Some(browser) = khil_test_support::browser::chromium() else { return };
    let dir = khil_test_support::temp_dir("scenario-report");
    let page = html(&sample(), None);
    let measured = page.replace("</body>", MEASURE);
    assert_ne!(measured, page);
    let file = dir.join("report.html");
    std::fs::write(&file, measured).unwrap();
    let out = Command::new(&browser)
        .args(khil_test_support::browser::headless_args(&dir.join("profile")))
        .args(["--window-size=1280,2000", "--virtual-time-budget=5000", "--dump-dom"])
        .arg(format!("file://{}", file.display()))
        .env("TMPDIR", dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}: {}", browser.display(), String::from_utf8_lossy(&out.stderr));
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("data-measured=\"").unwrap_or_else(|| panic!("the measuring script did not run:\n{dom}"));
    let json = &dom[start + "data-measured=\"".len()..];
    let json = json[..json.find('"').unwrap()].replace("&quot;", "\"").replace("&amp;", "&");
    let plots: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    eprintln!("{plots:#?}");
    let labels: Vec<&str> = plots.iter().map(|p| p["label"].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        ["per-gate timeline", "throughput per hour", "queue lengths over time", "transaction-time distribution"]
    );
    for p in &plots {
        let (w, h) = (p["w"].as_f64().unwrap(), p["h"].as_f64().unwrap());
        assert!((990.0..=1010.0).contains(&w) && h >= 70.0, "{p}: not laid out at its size");
        assert!(p["ticks"].as_u64().unwrap() >= 3, "{p}: no axis ticks");
        assert!(p["bars"].as_u64().unwrap() + p["paths"].as_u64().unwrap() >= 1, "{p}: nothing drawn");
        assert!(p["smallest"].as_f64().unwrap() > 0.0, "{p}: a bar of no width");
    }
    assert_eq!(plots[0]["bars"], 5, "one bar per traveller through a gate");
    assert_eq!(plots[2]["paths"], 2, "gate queue and desk queue");
}

/// Appended to the report by the browser test: each plot's laid-out size, its bars, lines and tick labels.
const MEASURE: &str = r#"<script>
const plots = [...document.querySelectorAll('svg')].map(svg => {
  const box = svg.getBoundingClientRect();
  const bars = [...svg.querySelectorAll('rect')];
  return {
    label: svg.getAttribute('aria-label'), w: box.width, h: box.height, bars: bars.length,
    paths: svg.querySelectorAll('path').length, ticks: svg.querySelectorAll('text').length,
    smallest: bars.length ? Math.min(...bars.map(b => b.getBoundingClientRect().width)) : 1,
  };
});
document.body.setAttribute('data-measured', JSON.stringify(plots));
</script></body>"#;
