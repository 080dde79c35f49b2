//! `report.html`: one self-contained page (inline CSS, no scripts, no external resources) for people who read
//! verdicts, not logs: who the device is, whether it passed, then one table per group with each purpose's
//! evidence folded under it. Purposes that did not pass are unfolded, so a printout shows their evidence.
//!
//! Every string that reaches the page goes through [`esc`]: device-provided text is data, never markup.

use std::fmt::Write as _;

use crate::runner::{PurposeResult, RunReport, RunVerdict, Summary};
use crate::verdict::{Direction, Evidence, Outcome, Verdict};

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The CSS class and the word of a badge.
fn outcome_badge(outcome: &Outcome) -> (&'static str, &'static str) {
    match outcome {
        Outcome::Verdict { verdict } => verdict_badge(*verdict),
        Outcome::NotApplicable { .. } => ("na", "n/a"),
        Outcome::Error { .. } => ("error", "error"),
    }
}

fn verdict_badge(verdict: Verdict) -> (&'static str, &'static str) {
    match verdict {
        Verdict::Pass => ("pass", "pass"),
        Verdict::Fail => ("fail", "fail"),
        Verdict::Inconclusive => ("inconclusive", "inconclusive"),
        Verdict::None => ("none", "no verdict"),
    }
}

fn badge(class: &str, word: &str) -> String {
    format!(r#"<span class="badge {class}">{}</span>"#, esc(word))
}

const CSS: &str = r#"
:root { --pass:#1e7b34; --fail:#c62828; --inconclusive:#b7791f; --na:#6b7280; --error:#7f1d1d; --none:#4b5563;
  --ink:#1f2933; --muted:#5f6b7a; --line:#d9dee5; --soft:#f4f6f8; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1200px; padding: 24px 28px 40px; color: var(--ink); background: #fff;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
h1 { font-size: 22px; margin: 2px 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h2 .counts { font-size: 13px; font-weight: normal; color: var(--muted); margin-left: 8px; }
h3 { font-size: 13px; margin: 12px 0 4px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
.head { display: flex; justify-content: space-between; align-items: flex-start; gap: 24px; }
.kicker { margin: 0; color: var(--muted); text-transform: uppercase; letter-spacing: .08em; font-size: 12px; }
.overall { flex: none; max-width: 45%; min-width: 220px; text-align: center; color: #fff; border-radius: 8px; padding: 12px 18px; }
.overall .word { display: block; font-size: 30px; font-weight: 800; letter-spacing: .06em; }
.overall .why { display: block; font-size: 13px; opacity: .95; }
.overall.passed { background: var(--pass); } .overall.failed { background: var(--fail); }
.overall.incomplete { background: var(--inconclusive); }
.facts { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 12px 32px; margin: 18px 0 6px; }
.facts table { border-collapse: collapse; }
.facts caption { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; padding-bottom: 2px; }
.facts th { text-align: left; font-weight: normal; color: var(--muted); padding: 1px 14px 1px 0; vertical-align: top; white-space: nowrap; }
/* `anywhere`, not `break-word`: only `anywhere` lets a digest or URL shrink the table's minimum width, so a long
   value wraps instead of widening the page past A4. */
.facts td { padding: 1px 0; vertical-align: top; overflow-wrap: anywhere; }
.summary { display: flex; flex-wrap: wrap; gap: 10px; margin: 18px 0 8px; }
.count { flex: 1 1 110px; border: 1px solid var(--line); border-top: 5px solid var(--c, var(--line)); border-radius: 6px;
  padding: 8px 12px; background: var(--soft); }
.count .n { display: block; font-size: 28px; font-weight: 700; line-height: 1.1; }
.count .w { color: var(--muted); font-size: 12.5px; }
.count.pass { --c: var(--pass); } .count.fail { --c: var(--fail); } .count.inconclusive { --c: var(--inconclusive); }
.count.na { --c: var(--na); } .count.error { --c: var(--error); } .count.none { --c: var(--none); }
.count.zero .n { color: #9aa5b1; }
.legend { color: var(--muted); font-size: 12.5px; margin: 4px 0 0; }
table.results { width: 100%; border-collapse: collapse; table-layout: fixed; }
.results th { text-align: left; font-size: 12px; color: var(--muted); font-weight: 600; border-bottom: 1px solid var(--line);
  padding: 4px 8px; }
.results td { padding: 6px 8px; vertical-align: top; word-break: break-word; }
.results tbody { border-bottom: 1px solid var(--line); break-inside: avoid; }
.results tr.ev td { padding-top: 0; }
.results .num { text-align: right; white-space: nowrap; }
col.id { width: 150px; } col.clause { width: 24%; } col.verdict { width: 120px; } col.dur { width: 90px; }
.reason { display: block; font-size: 12.5px; color: var(--muted); margin-top: 2px; }
.reason.error { color: var(--error); }
.badge { display: inline-block; min-width: 62px; text-align: center; padding: 1px 8px; border-radius: 10px; color: #fff;
  font-size: 11.5px; font-weight: 700; text-transform: uppercase; letter-spacing: .03em; white-space: nowrap; }
.badge.pass { background: var(--pass); } .badge.fail { background: var(--fail); }
.badge.inconclusive { background: var(--inconclusive); } .badge.na { background: var(--na); }
.badge.error { background: var(--error); } .badge.none { background: var(--none); }
details { margin: 0 0 4px; }
summary { cursor: pointer; color: var(--muted); font-size: 12.5px; }
.evb { border-left: 3px solid var(--line); margin: 4px 0 6px 2px; padding: 2px 0 4px 12px; }
.evb p { margin: 4px 0; }
.evb table { border-collapse: collapse; width: 100%; font-size: 12.5px; }
.evb th, .evb td { border: 1px solid var(--line); padding: 3px 6px; text-align: left; vertical-align: top; word-break: break-word; }
.evb th { background: var(--soft); font-weight: 600; }
.evb td.hex { word-break: break-all; }
.evb th.t { width: 80px; } .evb th.d { width: 36px; } .evb th.h { width: 45%; }
.evb ul { margin: 2px 0; padding-left: 20px; }
.dir { font-weight: 700; }
table.purposes { width: 100%; border-collapse: collapse; }
.purposes th, .purposes td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
.purposes th { font-size: 12px; color: var(--muted); font-weight: 600; }
.purposes td:first-child { white-space: nowrap; }
.decl { display: flex; flex-wrap: wrap; gap: 12px 32px; align-items: flex-start; }
.decl table { border-collapse: collapse; min-width: 280px; font-size: 12.5px; }
.decl caption { text-align: left; font-weight: 600; padding-bottom: 2px; }
.decl th, .decl td { border: 1px solid var(--line); padding: 2px 8px; text-align: left; vertical-align: top; }
.decl th { font-weight: normal; color: var(--muted); white-space: nowrap; }
.decl td { overflow-wrap: anywhere; }
.digest { word-break: break-all; }
.notes { margin: 4px 0; padding-left: 20px; }
.signoff { break-inside: avoid; }
.signoff table { width: 100%; border-collapse: collapse; margin-top: 6px; }
.signoff th, .signoff td { border: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
.signoff th { background: var(--soft); font-weight: 600; font-size: 12.5px; }
.signoff td.blank { height: 42px; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  @page { size: A4; margin: 14mm; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; }
  .results thead { display: table-header-group; }
  summary { color: var(--ink); }
  details:not([open]) { display: none; }
  section.declaration, section.signoff { break-inside: avoid; }
  .overall { min-width: 0; padding: 8px 12px; }
  .overall .word { font-size: 22pt; }
}
"#;

/// The report as one self-contained HTML page.
pub fn html(report: &RunReport) -> String {
    let s = &report.summary;
    let mut out = String::with_capacity(16 * 1024 + report.results.len() * 2048);
    let device = display_name(report);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{} conformance: {} - {}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        esc(&report.class),
        esc(&device),
        report.verdict.word(),
    );
    header(&mut out, report, &device);
    facts(&mut out, report);
    summary(&mut out, s, report.not_run.len());
    for (group, results) in super::groups(report) {
        group_table(&mut out, group, &results);
    }
    not_run(&mut out, report);
    declaration(&mut out, report);
    sign_off(&mut out, report);
    let _ = write!(
        out,
        "<footer>Generated by khil {} from the {} suite. A purpose's verdict is the worst of its checks \
(pass &lt; inconclusive &lt; fail, ISO/IEC 9646). The run PASSED when every purpose ran and every applicable one \
passed; it FAILED when one failed or stopped with an error; otherwise it is INCOMPLETE. \
The same data is in report.json; CI systems read junit.xml.</footer>\n</body>\n</html>\n",
        esc(&report.khil_version),
        esc(&report.class),
    );
    out
}

/// What to call the device in the title: what it says it is (the run's title), else the URL.
fn display_name(report: &RunReport) -> String {
    if report.title.is_empty() { report.device_url.clone() } else { report.title.clone() }
}

fn header(out: &mut String, report: &RunReport, device: &str) {
    let s = &report.summary;
    let class = match report.verdict {
        RunVerdict::Passed => "passed",
        RunVerdict::Failed => "failed",
        RunVerdict::Incomplete => "incomplete",
    };
    let mut parts = Vec::new();
    if s.fail > 0 {
        parts.push(format!("{} failed", s.fail));
    }
    if s.error > 0 {
        parts.push(format!("{} {}", s.error, if s.error == 1 { "error" } else { "errors" }));
    }
    if !report.not_run.is_empty() {
        let all = s.total + report.not_run.len();
        let why = if report.interrupted { "interrupted" } else { "not selected" };
        parts.push(format!("{} of {all} purposes not run ({why})", report.not_run.len()));
    }
    if s.inconclusive > 0 {
        parts.push(format!("{} inconclusive to review", s.inconclusive));
    }
    if s.none > 0 {
        parts.push(format!("{} without a verdict", s.none));
    }
    let why =
        if parts.is_empty() { "every purpose ran; every applicable one passed".to_owned() } else { parts.join(", ") };
    let _ = write!(
        out,
        "<header class=\"head\">\n<div>\n<p class=\"kicker\">khil conformance report</p>\n<h1>{}</h1>\n\
<div>{} &middot; class <code>{}</code></div>\n</div>\n\
<div class=\"overall {class}\"><span class=\"word\">{}</span><span class=\"why\">{}</span></div>\n</header>\n",
        esc(device),
        esc(&report.suite),
        esc(&report.class),
        report.verdict.word(),
        esc(&why),
    );
}

/// The purposes that did not run, and why: a partial run says what it did not show.
fn not_run(out: &mut String, report: &RunReport) {
    if report.not_run.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<section>\n<h2>Not run ({})</h2>\n<table class=\"purposes\">\n<tr><th>Purpose</th><th>Title</th><th>Why</th></tr>\n",
        report.not_run.len()
    );
    for n in &report.not_run {
        let _ = writeln!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td><td class=\"reason\">{}</td></tr>",
            esc(&n.id),
            esc(&n.title),
            esc(&n.reason)
        );
    }
    out.push_str("</table>\n</section>\n");
}

fn fact_table(out: &mut String, caption: &str, rows: &[(String, String)]) {
    let _ = write!(out, "<table>\n<caption>{}</caption>\n", esc(caption));
    for (k, v) in rows {
        let v = if v.is_empty() { "<span class=\"reason\">not given</span>".to_owned() } else { esc(v) };
        let _ = writeln!(out, "<tr><th>{}</th><td>{v}</td></tr>", esc(k));
    }
    out.push_str("</table>\n");
}

fn facts(out: &mut String, report: &RunReport) {
    out.push_str("<section class=\"facts\">\n");
    let d = &report.declared;
    fact_table(
        out,
        "Declared by the vendor (ICS)",
        &[
            ("Vendor".into(), d.vendor.clone()),
            ("Model".into(), d.model.clone()),
            ("Firmware".into(), d.firmware.clone()),
            ("Serial".into(), d.serial.clone()),
            ("ICS file".into(), report.ics.clone()),
            ("ICS SHA-256".into(), report.ics_sha256.clone().unwrap_or_default()),
        ],
    );
    let reported: Vec<(String, String)> = report.identity.fields.clone();
    if reported.is_empty() {
        fact_table(out, "Reported by the device", &[("Identity".into(), String::new())]);
    } else {
        fact_table(out, "Reported by the device", &reported);
    }
    fact_table(
        out,
        "Run",
        &[
            ("Device URL".into(), report.device_url.clone()),
            ("Started".into(), format!("{} UTC", super::utc_datetime(report.started_unix))),
            ("Duration".into(), super::human_ms(report.duration_ms)),
            ("khil version".into(), report.khil_version.clone()),
            ("Tester".into(), report.sign.tester.clone()),
            ("Site".into(), report.sign.site.clone()),
        ],
    );
    out.push_str("</section>\n");
}

/// The whole declaration the device was judged against, so the signed page carries it (secrets hidden).
fn declaration(out: &mut String, report: &RunReport) {
    let digest = match &report.ics_sha256 {
        Some(d) => format!(" SHA-256 <code class=\"digest\">{}</code>.", esc(d)),
        None => String::new(),
    };
    let _ = write!(
        out,
        "<section class=\"declaration\">\n<h2>Declaration: ICS and IXIT</h2>\n<p class=\"legend\">As the run used it, from \
{}.{digest} Keys, passwords and PINs are not shown.</p>\n<div class=\"decl\">\n",
        esc(&report.ics),
    );
    for table in &report.ics_tables {
        let _ = write!(out, "<table>\n<caption>[{}]</caption>\n", esc(&table.name));
        if table.rows.is_empty() {
            out.push_str("<tr><td class=\"reason\">empty</td></tr>\n");
        }
        for (key, value) in &table.rows {
            let _ =
                writeln!(out, "<tr><th class=\"mono\">{}</th><td class=\"mono\">{}</td></tr>", esc(key), esc(value));
        }
        out.push_str("</table>\n");
    }
    out.push_str("</div>\n</section>\n");
}

/// Notes, then lines for the tester and the person who accepts the result to sign on paper.
fn sign_off(out: &mut String, report: &RunReport) {
    let sign = &report.sign;
    out.push_str("<section class=\"signoff\">\n<h2>Notes and sign-off</h2>\n");
    if sign.notes.is_empty() {
        out.push_str("<p class=\"reason\">No notes.</p>\n");
    } else {
        out.push_str("<ul class=\"notes\">\n");
        for note in &sign.notes {
            let _ = writeln!(out, "<li>{}</li>", esc(note));
        }
        out.push_str("</ul>\n");
    }
    let _ = write!(
        out,
        "<table>\n<tr><th style=\"width:22%\">Role</th><th>Name</th><th style=\"width:28%\">Signature</th>\
<th style=\"width:16%\">Date</th></tr>\n\
<tr><td>Tested by</td><td class=\"blank\">{}</td><td class=\"blank\"></td><td class=\"blank\"></td></tr>\n\
<tr><td>Reviewed and accepted by</td><td class=\"blank\"></td><td class=\"blank\"></td><td class=\"blank\"></td></tr>\n\
</table>\n<p class=\"legend\">Verdict signed for: <b>{}</b>, {} at {} UTC.</p>\n</section>\n",
        esc(&sign.tester),
        report.verdict.word(),
        esc(&display_name(report)),
        super::utc_datetime(report.started_unix),
    );
}

fn summary(out: &mut String, s: &Summary, not_run: usize) {
    out.push_str("<section class=\"summary\">\n");
    let mut counts =
        vec![("pass", "pass", s.pass), ("fail", "fail", s.fail), ("inconclusive", "inconclusive", s.inconclusive)];
    if s.none > 0 {
        counts.push(("none", "no verdict", s.none));
    }
    counts.extend([("na", "not applicable", s.not_applicable), ("error", "error", s.error)]);
    if not_run > 0 {
        counts.push(("notrun", "not run", not_run));
    }
    for (class, word, n) in counts {
        let zero = if n == 0 { " zero" } else { "" };
        let _ = writeln!(
            out,
            "<div class=\"count {class}{zero}\"><span class=\"n\">{n}</span><span class=\"w\">{word}</span></div>"
        );
    }
    let _ = writeln!(
        out,
        "<div class=\"count\"><span class=\"n\">{}</span><span class=\"w\">test purposes</span></div>",
        s.total + not_run
    );
    out.push_str(
        "</section>\n<p class=\"legend\"><b>pass</b>: the device did what the clause requires. \
<b>fail</b>: it did not (the checks say what was expected and what was observed). \
<b>inconclusive</b>: the test could not decide; a person should look. \
<b>not applicable</b>: the vendor does not declare the capability (ICS). \
<b>error</b>: the test could not run to the end (link lost, time limit).</p>\n",
    );
}

fn group_table(out: &mut String, group: &str, results: &[&PurposeResult]) {
    let mut tally: Vec<(&'static str, usize)> = Vec::new();
    for r in results {
        let (_, word) = outcome_badge(&r.outcome);
        match tally.iter_mut().find(|(w, _)| *w == word) {
            Some((_, n)) => *n += 1,
            None => tally.push((word, 1)),
        }
    }
    let tally: Vec<String> = tally.iter().map(|(w, n)| format!("{n} {w}")).collect();
    let _ = write!(
        out,
        "<section class=\"group\" id=\"group-{}\">\n<h2>{}<span class=\"counts\">{} {} &middot; {}</span></h2>\n\
<table class=\"results\">\n<colgroup><col class=\"id\"><col><col class=\"clause\"><col class=\"verdict\"><col class=\"dur\"></colgroup>\n\
<thead><tr><th>ID</th><th>Test purpose</th><th>Clause</th><th>Verdict</th><th class=\"num\">Duration</th></tr></thead>\n",
        esc(group),
        esc(group),
        results.len(),
        if results.len() == 1 { "purpose" } else { "purposes" },
        esc(&tally.join(", ")),
    );
    for r in results {
        purpose_rows(out, r);
    }
    out.push_str("</table>\n</section>\n");
}

fn purpose_rows(out: &mut String, r: &PurposeResult) {
    let (bclass, word) = outcome_badge(&r.outcome);
    let reason = match &r.outcome {
        Outcome::NotApplicable { reason } => format!("<span class=\"reason\">{}</span>", esc(reason)),
        Outcome::Error { message } => format!("<span class=\"reason error\">{}</span>", esc(message)),
        Outcome::Verdict { .. } => String::new(),
    };
    let _ = write!(
        out,
        "<tbody id=\"{}\">\n<tr><td><code>{}</code></td><td>{}{reason}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>\n",
        esc(&r.id),
        esc(&r.id),
        esc(&r.title),
        esc(&r.clause),
        badge(bclass, word),
        esc(&super::human_ms(r.duration_ms)),
    );
    let open = if matches!(r.outcome, Outcome::Verdict { verdict: Verdict::Pass } | Outcome::NotApplicable { .. }) {
        ""
    } else {
        " open"
    };
    let _ = write!(
        out,
        "<tr class=\"ev\"><td colspan=\"5\"><details{open}><summary>{}</summary>\n<div class=\"evb\">\n",
        esc(&evidence_summary(&r.evidence)),
    );
    let _ = writeln!(out, "<p><b>Expected result:</b> {}</p>", esc(&r.expected));
    let _ = writeln!(out, "<p><b>Applies when (ICS):</b> <code>{}</code></p>", esc(&r.condition));
    match &r.outcome {
        Outcome::NotApplicable { reason } => {
            let _ = writeln!(out, "<p><b>Not applicable:</b> {}</p>", esc(reason));
        }
        Outcome::Error { message } => {
            let _ = writeln!(out, "<p><b>Stopped with an error:</b> {}</p>", esc(message));
        }
        Outcome::Verdict { .. } => {}
    }
    evidence(out, &r.evidence);
    out.push_str("</div>\n</details></td></tr>\n</tbody>\n");
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn evidence_summary(ev: &Evidence) -> String {
    if ev.is_empty() {
        return "Details".to_owned();
    }
    let mut parts = vec![plural(ev.checks.len(), "check", "checks")];
    if !ev.notes.is_empty() {
        parts.push(plural(ev.notes.len(), "note", "notes"));
    }
    if !ev.timings.is_empty() {
        parts.push(plural(ev.timings.len(), "timing", "timings"));
    }
    parts.push(plural(ev.frames.len(), "frame", "frames"));
    format!("Evidence: {}", parts.join(", "))
}

fn evidence(out: &mut String, ev: &Evidence) {
    if !ev.checks.is_empty() {
        out.push_str(
            "<h3>Checks</h3>\n<table><thead><tr><th>What</th><th>Expected</th><th>Observed</th><th>Verdict</th></tr></thead><tbody>\n",
        );
        for c in &ev.checks {
            let (class, word) = verdict_badge(c.verdict);
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"mono\">{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
                esc(&c.what),
                esc(&c.expected),
                esc(&c.observed),
                badge(class, word),
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !ev.notes.is_empty() {
        out.push_str("<h3>Notes</h3>\n<ul>\n");
        for n in &ev.notes {
            let _ = writeln!(out, "<li>{}</li>", esc(n));
        }
        out.push_str("</ul>\n");
    }
    if !ev.timings.is_empty() {
        out.push_str("<h3>Timings</h3>\n<table><tbody>\n");
        for (name, ms) in &ev.timings {
            let _ = writeln!(out, "<tr><th>{}</th><td class=\"mono\">{ms:.3} ms</td></tr>", esc(name));
        }
        out.push_str("</tbody></table>\n");
    }
    if !ev.frames.is_empty() {
        out.push_str(
            "<h3>Frames (&rarr; to the device, &larr; from the device)</h3>\n<table><thead><tr><th class=\"t\">Time (ms)</th>\
<th class=\"d\">Dir</th><th class=\"h\">Bytes (hex)</th><th>Meaning</th></tr></thead><tbody>\n",
        );
        for f in &ev.frames {
            let (arrow, title) = match f.dir {
                Direction::Out => ("&rarr;", "host to device"),
                Direction::In => ("&larr;", "device to host"),
            };
            let _ = writeln!(
                out,
                "<tr><td class=\"mono\">{:.3}</td><td class=\"dir\" title=\"{title}\">{arrow}</td><td class=\"mono hex\">{}</td><td>{}</td></tr>",
                f.at_ms,
                esc(&f.hex),
                esc(&f.summary),
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if ev.is_empty() {
        out.push_str("<p class=\"reason\">No evidence recorded.</p>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x&y")</script>'"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"
        );
    }
}
