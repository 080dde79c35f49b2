//! report.html: one self-contained file (inline CSS and SVG, no script, nothing fetched) that an officer or an
//! engineer reads after a run: what ran, what came out, whether the expectations held, and the run drawn as
//! plots (per-gate timeline, throughput, queues, transaction times), then every traveller with their decision's
//! reasons.
//!
//! Pure: a [`RunResult`] (and the run's wall-clock figures when there are some) in, a string out. Every string
//! that came from a file or a run is escaped ([`esc`]): a scenario name or a reason can never become markup.

use std::collections::BTreeMap;
use std::fmt::Write;

use khil_clearance::traffic::quantile;

use crate::model::{DecisionWord, QueueSample, RunResult, RunTiming, TravellerOutcome};

/// The report of a run.
pub fn html(result: &RunResult, timing: Option<&RunTiming>) -> String {
    let mut out = String::with_capacity(64 * 1024 + result.travellers.len() * 1024);
    let title = format!("{} at {}", result.scenario, result.point);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>khil scenario: {}</title>\n\
         <style>{CSS}</style>\n</head>\n<body>\n",
        esc(&title)
    );
    header(&mut out, result, timing);
    summary(&mut out, result);
    expectations(&mut out, result);
    out.push_str("<h2>Per-gate timeline</h2>\n");
    gantt(&mut out, result);
    out.push_str("<h2>Throughput per hour</h2>\n");
    throughput(&mut out, result);
    out.push_str("<h2>Queues</h2>\n");
    queues(&mut out, result);
    out.push_str("<h2>Transaction times</h2>\n");
    transactions(&mut out, result);
    gates(&mut out, result);
    incidents(&mut out, result);
    records(&mut out, result);
    travellers(&mut out, result);
    out.push_str("</body>\n</html>\n");
    out
}

/// `s` as HTML text or attribute value: `&`, `<`, `>`, `"` and `'` escaped.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = "
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color: #1d1d1f; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 8px 0; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f3f3f5; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #1e7b34; font-weight: 600; } .fail { color: #c62828; font-weight: 600; }
.overall { display: inline-block; padding: 6px 14px; border-radius: 4px; color: #fff; font-weight: 700; }
.overall.pass { background: #1e7b34; color: #fff; } .overall.fail { background: #c62828; color: #fff; }
.release { color: #1e7b34; } .refer { color: #b35c00; } .not-processed { color: #666; }
svg { display: block; margin: 8px 0; background: #fff; } svg text { font: 11px system-ui, sans-serif; fill: #333; }
.muted { color: #666; } details summary { cursor: pointer; }
.legend span { display: inline-block; margin-right: 14px; } .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
";

const RELEASE: &str = "#2e9e4f";
const REFER: &str = "#e08a00";
const NOT_PROCESSED: &str = "#9e9e9e";
const GATE_QUEUE: &str = "#1f6fb2";
const DESK_QUEUE: &str = "#8e3fb0";
const INCIDENT: &str = "#c62828";

fn colour(decision: DecisionWord) -> &'static str {
    match decision {
        DecisionWord::Release => RELEASE,
        DecisionWord::Refer => REFER,
        DecisionWord::NotProcessed => NOT_PROCESSED,
    }
}

fn header(out: &mut String, r: &RunResult, timing: Option<&RunTiming>) {
    let _ = writeln!(out, "<h1>{}</h1>", esc(&r.scenario));
    if !r.description.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", esc(&r.description));
    }
    out.push_str("<table>\n");
    let rows = [
        ("Border point", format!("{} ({})", r.point, r.direction)),
        ("Day", r.day.clone()),
        ("Window", format!("{} to {}", clock(r.from), clock(r.until))),
        ("Rules version", r.rules_version.clone()),
        ("Watchlist version", r.watchlist_version.clone()),
        ("Seed", r.seed.to_string()),
    ];
    for (k, v) in rows {
        let _ = writeln!(out, "<tr><th>{k}</th><td>{}</td></tr>", esc(&v));
    }
    if let Some(t) = timing {
        let _ = writeln!(out, "<tr><th>Wall time</th><td>{:.1} s</td></tr>", t.wall_seconds);
        if !t.decision_cpu_ms.is_empty() {
            let _ = writeln!(
                out,
                "<tr><th>Decision CPU per traveller</th><td>p50 {:.1} ms, p99 {:.1} ms ({} travellers)</td></tr>",
                quantile(&t.decision_cpu_ms, 0.5),
                quantile(&t.decision_cpu_ms, 0.99),
                t.decision_cpu_ms.len()
            );
        }
    }
    out.push_str("</table>\n");
}

fn summary(out: &mut String, r: &RunResult) {
    out.push_str(
        "<h2>Summary</h2>\n<table>\n<tr><th></th><th>travellers</th><th>released</th><th>referred</th>\
                  <th>not processed</th></tr>\n",
    );
    let row = |out: &mut String, name: &str, ts: &[&TravellerOutcome]| {
        let count = |d| ts.iter().filter(|t| t.decision == d).count();
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
            esc(name),
            ts.len(),
            count(DecisionWord::Release),
            count(DecisionWord::Refer),
            count(DecisionWord::NotProcessed)
        );
    };
    let all: Vec<&TravellerOutcome> = r.travellers.iter().collect();
    row(out, "all", &all);
    let mut by_truth: BTreeMap<&str, Vec<&TravellerOutcome>> = BTreeMap::new();
    for t in &r.travellers {
        by_truth.entry(t.truth.as_str()).or_default().push(t);
    }
    for (truth, ts) in &by_truth {
        row(out, truth, ts);
    }
    out.push_str(
        "</table>\n<p class=\"muted\">Rows after \"all\" are what the travellers really were (the \
                   simulation's truth, which the gates never see).</p>\n",
    );
}

fn expectations(out: &mut String, r: &RunResult) {
    out.push_str("<h2>Expectations</h2>\n");
    if r.expectations.is_empty() {
        out.push_str("<p class=\"muted\">The scenario expects nothing.</p>\n");
        return;
    }
    let failed = r.expectations.iter().filter(|e| !e.passed).count();
    if failed == 0 {
        let _ = writeln!(out, "<p><span class=\"overall pass\">ALL {} HELD</span></p>", r.expectations.len());
    } else {
        let _ = writeln!(out, "<p><span class=\"overall fail\">{failed} OF {} FAILED</span></p>", r.expectations.len());
    }
    out.push_str("<table>\n<tr><th>what</th><th>expected</th><th>actual</th><th></th></tr>\n");
    for e in &r.expectations {
        let (class, word) = if e.passed { ("pass", "pass") } else { ("fail", "FAIL") };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{word}</td></tr>",
            esc(&e.what),
            esc(&e.expected),
            esc(&e.actual)
        );
    }
    out.push_str("</table>\n");
}

// Plots: SVG with axes, ticks and labels. Width fixed; the page is read on a screen or printed.

const WIDTH: f64 = 1000.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 42.0;

/// A plot's frame: data ranges mapped onto the drawing area.
struct Axes {
    height: f64,
    x: (f64, f64),
    y: (f64, f64),
}

impl Axes {
    fn px(&self, x: f64) -> f64 {
        LEFT + (x - self.x.0) / (self.x.1 - self.x.0).max(f64::MIN_POSITIVE) * (WIDTH - LEFT - RIGHT)
    }

    fn py(&self, y: f64) -> f64 {
        self.height
            - BOTTOM
            - (y - self.y.0) / (self.y.1 - self.y.0).max(f64::MIN_POSITIVE) * (self.height - TOP - BOTTOM)
    }

    fn open(&self, out: &mut String, label: &str) {
        let _ = writeln!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{h}\" viewBox=\"0 0 {WIDTH} {h}\" \
             role=\"img\" aria-label=\"{}\">",
            esc(label),
            h = self.height
        );
    }

    /// The x axis with `ticks` (value, label) and its title.
    fn x_axis(&self, out: &mut String, ticks: &[(f64, String)], title: &str) {
        let y = self.height - BOTTOM;
        let _ = writeln!(out, "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#333\"/>", WIDTH - RIGHT);
        for (v, label) in ticks {
            let x = self.px(*v);
            let _ = writeln!(
                out,
                "<line x1=\"{x:.1}\" y1=\"{y}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#333\"/><text x=\"{x:.1}\" y=\"{}\" \
                 text-anchor=\"middle\">{}</text>",
                y + 5.0,
                y + 17.0,
                esc(label)
            );
        }
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            (LEFT + WIDTH - RIGHT) / 2.0,
            self.height - 6.0,
            esc(title)
        );
    }

    /// The y axis with numeric ticks, grid lines and its title.
    fn y_axis(&self, out: &mut String, title: &str) {
        let x = LEFT;
        let _ =
            writeln!(out, "<line x1=\"{x}\" y1=\"{TOP}\" x2=\"{x}\" y2=\"{}\" stroke=\"#333\"/>", self.height - BOTTOM);
        for v in nice_ticks(self.y.0, self.y.1, 5) {
            let y = self.py(v);
            let _ = writeln!(
                out,
                "<line x1=\"{}\" y1=\"{y:.1}\" x2=\"{x}\" y2=\"{y:.1}\" stroke=\"#333\"/><line x1=\"{x}\" y1=\"{y:.1}\" \
                 x2=\"{}\" y2=\"{y:.1}\" stroke=\"#eee\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                x - 5.0,
                WIDTH - RIGHT,
                x - 8.0,
                y + 4.0,
                number(v)
            );
        }
        let cy = (TOP + self.height - BOTTOM) / 2.0;
        let _ = writeln!(
            out,
            "<text x=\"14\" y=\"{cy}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {cy})\">{}</text>",
            esc(title)
        );
    }
}

/// Ticks on a time axis (seconds since midnight), labelled `HH:MM`.
fn time_ticks(from: f64, until: f64) -> Vec<(f64, String)> {
    let span = (until - from).max(60.0);
    let step = [60.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0]
        .into_iter()
        .find(|s| span / s <= 10.0)
        .unwrap_or(21600.0);
    let mut t = (from / step).ceil() * step;
    let mut ticks = Vec::new();
    while t <= until + 1e-9 {
        ticks.push((t, clock(t)[..5].to_owned()));
        t += step;
    }
    ticks
}

/// Round ticks (1, 2 or 5 times a power of ten) covering `lo..=hi`, about `n` of them.
fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let step = nice_step((hi - lo) / n.max(1) as f64);
    let mut ticks = Vec::new();
    let mut v = (lo / step).ceil() * step;
    while v <= hi + step * 1e-9 && ticks.len() < 50 {
        ticks.push(v);
        v += step;
    }
    ticks
}

fn nice_step(rough: f64) -> f64 {
    if !(rough.is_finite() && rough > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(rough.log10().floor());
    let m = rough / power;
    let nice = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// A number for a tick label: no trailing zeros.
fn number(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_owned() } else { s.to_owned() }
}

/// The time range a run's plots cover: its window, stretched to the last thing that happened.
fn time_range(r: &RunResult) -> (f64, f64) {
    let last = r
        .travellers
        .iter()
        .flat_map(|t| [t.left_gate, t.desk_done, Some(t.arrived)])
        .flatten()
        .chain(r.queue.iter().chain(&r.desk_queue).map(|s| s.at))
        .chain(r.records.central.iter().flat_map(|c| &c.backlog).map(|s| s.at))
        .fold(r.until, f64::max);
    let first = r.travellers.iter().map(|t| t.arrived).fold(r.from, f64::min);
    (first, last.max(first + 60.0))
}

fn legend(out: &mut String, items: &[(&str, &str)]) {
    out.push_str("<p class=\"legend\">");
    for (colour, name) in items {
        let _ = write!(out, "<span><span class=\"swatch\" style=\"background:{colour}\"></span>{}</span>", esc(name));
    }
    out.push_str("</p>\n");
}

fn gantt(out: &mut String, r: &RunResult) {
    if r.gates.is_empty() {
        out.push_str("<p class=\"muted\">No gates.</p>\n");
        return;
    }
    let row = 24.0;
    let height = TOP + BOTTOM + row * r.gates.len() as f64;
    let axes = Axes { height, x: time_range(r), y: (0.0, r.gates.len() as f64) };
    axes.open(out, "per-gate timeline");
    let ticks = time_ticks(axes.x.0, axes.x.1);
    for (i, gate) in r.gates.iter().enumerate() {
        let y = TOP + row * i as f64;
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><line x1=\"{LEFT}\" y1=\"{:.1}\" x2=\"{}\" \
             y2=\"{:.1}\" stroke=\"#f0f0f0\"/>",
            LEFT - 6.0,
            y + row / 2.0 + 4.0,
            esc(&gate.name),
            y + row,
            WIDTH - RIGHT,
            y + row
        );
        for t in r.travellers.iter().filter(|t| t.gate.as_deref() == Some(gate.name.as_str())) {
            let (Some(start), Some(end)) = (t.started, t.left_gate.or(t.started)) else { continue };
            let x = axes.px(start);
            let w = (axes.px(end) - x).max(1.0);
            let _ = writeln!(
                out,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\" stroke=\"#fff\" \
                 stroke-width=\"0.5\"><title>{}</title></rect>",
                y + 3.0,
                row - 6.0,
                colour(t.decision),
                esc(&traveller_title(t))
            );
        }
    }
    incident_marks(out, &axes, r);
    axes.x_axis(out, &ticks, "time of day");
    out.push_str("</svg>\n");
    legend(
        out,
        &[(RELEASE, "released"), (REFER, "referred"), (NOT_PROCESSED, "not processed"), (INCIDENT, "incident")],
    );
}

/// A dashed vertical line at each incident, its text in the hover title.
fn incident_marks(out: &mut String, axes: &Axes, r: &RunResult) {
    for i in r.incidents.iter().filter(|i| (axes.x.0..=axes.x.1).contains(&i.at)) {
        let x = axes.px(i.at);
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"{INCIDENT}\" stroke-width=\"2\" \
             stroke-dasharray=\"6 3\"><title>{} {}</title></line>",
            axes.height - BOTTOM,
            clock(i.at),
            esc(&i.what)
        );
    }
}

fn traveller_title(t: &TravellerOutcome) -> String {
    let mut s = format!("#{}", t.number);
    if let Some(label) = &t.label {
        let _ = write!(s, " ({label})");
    }
    let _ = write!(s, ": {}", t.decision.name());
    if !t.reasons.is_empty() {
        let _ = write!(s, " — {}", t.reasons.join(", "));
    }
    if let (Some(a), Some(b)) = (t.started, t.left_gate) {
        let _ = write!(s, "; {} to {}", clock(a), clock(b));
    }
    s
}

/// Travellers out of a gate, as a rate per hour: in hourly bars over a long run, in quarter-hour bars (times
/// four) over a run of three hours or less, where hourly bars would be one or two.
fn throughput(out: &mut String, r: &RunResult) {
    let (from, until) = time_range(r);
    let bucket = if until - from > 3.0 * 3600.0 { 3600.0 } else { 900.0 };
    let per_hour = 3600.0 / bucket;
    let mut buckets: BTreeMap<i64, (usize, usize)> = BTreeMap::new();
    for t in &r.travellers {
        let Some(left) = t.left_gate else { continue };
        let entry = buckets.entry((left / bucket).floor() as i64).or_default();
        match t.decision {
            DecisionWord::Release => entry.0 += 1,
            _ => entry.1 += 1,
        }
    }
    let (Some(first), Some(last)) = (buckets.keys().next().copied(), buckets.keys().last().copied()) else {
        out.push_str("<p class=\"muted\">Nobody left a gate.</p>\n");
        return;
    };
    let top = buckets.values().map(|(a, b)| a + b).max().unwrap_or(1).max(1) as f64 * per_hour;
    let start = |b: i64| b as f64 * bucket;
    let axes = Axes { height: 260.0, x: (start(first), start(last + 1)), y: (0.0, top * 1.1) };
    axes.open(out, "throughput per hour");
    axes.y_axis(out, "travellers per hour");
    for (b, (released, referred)) in &buckets {
        let x0 = axes.px(start(*b)) + 2.0;
        let w = axes.px(start(b + 1)) - x0 - 2.0;
        let title = format!(
            "{} to {}: {released} released, {referred} referred",
            &clock(start(*b))[..5],
            &clock(start(b + 1))[..5]
        );
        for (below, count, fill) in [(0, *released, RELEASE), (*released, *referred, REFER)] {
            if count == 0 {
                continue;
            }
            let (y1, y0) = (axes.py((below + count) as f64 * per_hour), axes.py(below as f64 * per_hour));
            let _ = writeln!(
                out,
                "<rect x=\"{x0:.1}\" y=\"{y1:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>{}</title></rect>",
                w.max(1.0),
                (y0 - y1).max(0.5),
                esc(&title)
            );
        }
    }
    let ticks: Vec<(f64, String)> = (first..=last + 1).map(|b| (start(b), clock(start(b))[..5].to_owned())).collect();
    let what = if bucket < 3600.0 { "quarter hours, as a rate per hour" } else { "hours" };
    axes.x_axis(out, &ticks, &format!("time of day ({what}; travellers counted when they leave the gate)"));
    out.push_str("</svg>\n");
    legend(out, &[(RELEASE, "released"), (REFER, "referred")]);
}

fn queues(out: &mut String, r: &RunResult) {
    if r.queue.is_empty() && r.desk_queue.is_empty() {
        out.push_str("<p class=\"muted\">No queue samples.</p>\n");
        return;
    }
    let top = r.queue.iter().chain(&r.desk_queue).map(|s| s.length).max().unwrap_or(1).max(1) as f64;
    let axes = Axes { height: 280.0, x: time_range(r), y: (0.0, top * 1.1) };
    axes.open(out, "queue lengths over time");
    axes.y_axis(out, "travellers waiting");
    for (samples, stroke, name) in [(&r.queue, GATE_QUEUE, "gate queue"), (&r.desk_queue, DESK_QUEUE, "desk")] {
        if let Some(d) = step_path(&axes, samples) {
            let _ = writeln!(
                out,
                "<path d=\"{d}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"1.5\"><title>{name}</title></path>"
            );
        }
    }
    incident_marks(out, &axes, r);
    axes.x_axis(out, &time_ticks(axes.x.0, axes.x.1), "time of day");
    out.push_str("</svg>\n");
    legend(
        out,
        &[
            (GATE_QUEUE, "waiting for a gate"),
            (DESK_QUEUE, "waiting at or seen by the officers' desk"),
            (INCIDENT, "incident"),
        ],
    );
    let waits: Vec<f64> = r.travellers.iter().map(|t| t.waited / 60.0).collect();
    if !waits.is_empty() {
        let within = waits.iter().filter(|w| **w <= 5.0).count() as f64 / waits.len() as f64;
        let _ = writeln!(
            out,
            "<p>Queueing before a gate: p50 {:.1} min, p95 {:.1} min, max {:.1} min; {:.1} % within 5 minutes \
             (the Frontex/IATA sizing rule asks for 95 %).</p>",
            quantile(&waits, 0.5),
            quantile(&waits, 0.95),
            waits.iter().copied().fold(0.0, f64::max),
            within * 100.0
        );
    }
}

/// A step line through queue samples: each length holds until the next sample.
fn step_path(axes: &Axes, samples: &[QueueSample]) -> Option<String> {
    let first = samples.first()?;
    let mut d = format!("M{:.1},{:.1}", axes.px(first.at), axes.py(first.length as f64));
    for s in &samples[1..] {
        let _ = write!(d, " H{:.1} V{:.1}", axes.px(s.at), axes.py(s.length as f64));
    }
    let _ = write!(d, " H{:.1}", axes.px(axes.x.1));
    Some(d)
}

fn transactions(out: &mut String, r: &RunResult) {
    let times: Vec<f64> = r.travellers.iter().filter_map(|t| t.transaction).filter(|t| t.is_finite()).collect();
    if times.is_empty() {
        out.push_str("<p class=\"muted\">No transactions.</p>\n");
        return;
    }
    let max = times.iter().copied().fold(0.0, f64::max).max(1.0);
    let bin = nice_step(max / 30.0);
    let bins = (max / bin).floor() as usize + 1;
    let mut counts = vec![0usize; bins];
    for t in &times {
        counts[((t / bin).floor() as usize).min(bins - 1)] += 1;
    }
    let top = counts.iter().copied().max().unwrap_or(1) as f64;
    let axes = Axes { height: 260.0, x: (0.0, bins as f64 * bin), y: (0.0, top * 1.15) };
    axes.open(out, "transaction-time distribution");
    axes.y_axis(out, "travellers");
    for (i, count) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
        let (a, b) = (i as f64 * bin, (i + 1) as f64 * bin);
        let (x0, x1, y) = (axes.px(a), axes.px(b), axes.py(*count as f64));
        let _ = writeln!(
            out,
            "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{GATE_QUEUE}\"><title>{} to {} s: \
             {count}</title></rect>",
            x0 + 0.5,
            (x1 - x0 - 1.0).max(0.5),
            axes.py(0.0) - y,
            number(a),
            number(b)
        );
    }
    let (p50, p95) = (quantile(&times, 0.5), quantile(&times, 0.95));
    for (value, name) in [(p50, "p50"), (p95, "p95")] {
        let x = axes.px(value);
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#c62828\" stroke-dasharray=\"4 3\"/>\
             <text x=\"{:.1}\" y=\"{}\" fill=\"#c62828\">{name} {:.1} s</text>",
            axes.height - BOTTOM,
            x + 4.0,
            TOP + 12.0,
            value
        );
    }
    let ticks: Vec<(f64, String)> =
        nice_ticks(0.0, bins as f64 * bin, 10).into_iter().map(|v| (v, number(v))).collect();
    axes.x_axis(out, &ticks, "transaction time at the gate, seconds (admission to the gate idle again)");
    out.push_str("</svg>\n");
    let _ = writeln!(out, "<p>{} transactions: p50 {:.1} s, p95 {:.1} s, max {:.1} s.</p>", times.len(), p50, p95, max);
}

fn gates(out: &mut String, r: &RunResult) {
    out.push_str(
        "<h2>Gates</h2>\n<table>\n<tr><th>gate</th><th>fingerprint sensors</th><th>travellers</th><th>released</th>\
                  <th>referred</th><th>busy</th><th>device faults</th></tr>\n",
    );
    for g in &r.gates {
        let faults = if g.faults.is_empty() { "none".to_owned() } else { g.faults.join("; ") };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{:.0} s</td><td>{}</td></tr>",
            esc(&g.name),
            esc(&g.sensors.join(", then ")),
            g.travellers,
            g.released,
            g.referred,
            g.busy_seconds,
            esc(&faults)
        );
    }
    out.push_str("</table>\n");
}

fn incidents(out: &mut String, r: &RunResult) {
    out.push_str("<h2>Incidents</h2>\n");
    if r.incidents.is_empty() {
        out.push_str("<p class=\"muted\">None.</p>\n");
        return;
    }
    out.push_str("<table>\n<tr><th>at</th><th>what</th></tr>\n");
    for i in &r.incidents {
        let _ = writeln!(out, "<tr><td>{}</td><td>{}</td></tr>", clock(i.at), esc(&i.what));
    }
    out.push_str("</table>\n");
}

fn records(out: &mut String, r: &RunResult) {
    let rec = &r.records;
    let verified = match rec.verified {
        Some(true) => "<span class=\"pass\">verified</span>".to_owned(),
        Some(false) => format!("<span class=\"fail\">FAILED</span> {}", esc(&rec.verify_detail)),
        None => "not checked".to_owned(),
    };
    let _ = writeln!(
        out,
        "<h2>Records</h2>\n<table>\n<tr><th>committed</th><td class=\"num\">{}</td></tr>\n<tr><th>audit chain</th>\
         <td>{verified}</td></tr>\n<tr><th>waiting for the central database</th><td class=\"num\">{}</td></tr>\n\
         </table>",
        rec.committed, rec.pending_upload
    );
    let Some(c) = &rec.central else {
        out.push_str("<p class=\"muted\">No central database in this run: every record waits at the point.</p>\n");
        return;
    };
    let centre = match (c.centre_count, c.centre_last_seq) {
        (Some(n), Some(last)) => format!("{n} records, last seq {last}"),
        _ => format!("<span class=\"fail\">not asked</span> {}", esc(c.centre_error.as_deref().unwrap_or(""))),
    };
    let _ = writeln!(
        out,
        "<h3>Uploads to the central database</h3>\n<table>\n<tr><th>central database</th><td>{}</td></tr>\n\
         <tr><th>upload rounds (failed)</th><td class=\"num\">{} ({})</td></tr>\n<tr><th>records uploaded</th>\
         <td class=\"num\">{}</td></tr>\n<tr><th>the centre holds for this point</th><td>{centre}</td></tr>\n\
         <tr><th>last error</th><td>{}</td></tr>\n</table>",
        esc(&c.url),
        c.rounds,
        c.failed_rounds,
        c.uploaded,
        esc(c.last_error.as_deref().unwrap_or("none"))
    );
    if c.backlog.is_empty() {
        return;
    }
    let top = c.backlog.iter().map(|s| s.length).max().unwrap_or(1).max(1) as f64;
    let axes = Axes { height: 220.0, x: time_range(r), y: (0.0, top * 1.1) };
    axes.open(out, "records waiting for upload over time");
    axes.y_axis(out, "records waiting");
    if let Some(d) = step_path(&axes, &c.backlog) {
        let _ = writeln!(
            out,
            "<path d=\"{d}\" fill=\"none\" stroke=\"{GATE_QUEUE}\" stroke-width=\"1.5\"><title>records waiting for \
             upload</title></path>"
        );
    }
    incident_marks(out, &axes, r);
    axes.x_axis(out, &time_ticks(axes.x.0, axes.x.1), "time of day");
    out.push_str("</svg>\n");
    legend(out, &[(GATE_QUEUE, "committed at the point, not yet acknowledged by the centre"), (INCIDENT, "incident")]);
}

fn travellers(out: &mut String, r: &RunResult) {
    out.push_str(
        "<h2>Travellers</h2>\n<table>\n<tr><th>#</th><th>case</th><th>truth</th><th>papers</th>\
                  <th>arrived</th><th>gate</th><th>waited</th><th>transaction</th><th>decision</th><th>reasons</th>\
                  <th>record</th></tr>\n",
    );
    for t in &r.travellers {
        let case = match (&t.label, t.as_expected) {
            (Some(l), Some(true)) => format!("{} <span class=\"pass\">as expected</span>", esc(l)),
            (Some(l), Some(false)) => format!("{} <span class=\"fail\">NOT as expected</span>", esc(l)),
            (Some(l), None) => esc(l),
            (None, _) => String::new(),
        };
        let degraded = if t.degraded { " <span class=\"muted\">(degraded)</span>" } else { "" };
        let reasons = if t.reasons.is_empty() { String::new() } else { esc(&t.reasons.join(", ")) };
        let steps = if t.timeline.is_empty() {
            String::new()
        } else {
            let mut s = String::from("<details><summary>timeline</summary><table>");
            for step in &t.timeline {
                let _ = write!(
                    s,
                    "<tr><td>{}</td><td class=\"num\">+{:.2} s</td><td class=\"num\">{:.2} s</td><td>{}</td></tr>",
                    esc(&step.step),
                    step.started,
                    step.took,
                    esc(&step.outcome)
                );
            }
            s.push_str("</table></details>");
            s
        };
        let _ = writeln!(
            out,
            "<tr><td class=\"num\">{}</td><td>{case}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"num\">{:.0} s</td><td class=\"num\">{}</td><td class=\"{}\">{}{degraded}</td><td>{reasons}{steps}</td>\
             <td>{}</td></tr>",
            t.number,
            esc(&t.truth),
            esc(&t.papers),
            clock(t.arrived),
            esc(t.gate.as_deref().unwrap_or("-")),
            t.waited,
            t.transaction.map_or("-".to_owned(), |x| format!("{x:.1} s")),
            t.decision.name(),
            t.decision.name(),
            esc(t.record.as_deref().unwrap_or("-"))
        );
    }
    out.push_str("</table>\n");
}

/// `HH:MM:SS` of seconds since midnight.
fn clock(seconds: f64) -> String {
    crate::file::clock(seconds)
}
