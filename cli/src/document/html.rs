//! The page `khil document examine --html` writes for the officer: the decision and why, each light's image with
//! the regions its checks looked at outlined (green pass, red fail, grey unable), the page portrait beside the
//! chip's (9303-2 C.29: shown side by side, for the officer to judge), and every check with its measured value.
//!
//! Self-contained (images as PNG data URIs, no script, no external fetch), so it can be archived with a referral.

use std::fmt::Write;

use base64::Engine;
use khil_biometrics::image::GrayImage;
use khil_conformance::report::esc;
use khil_examine::{CheckState, Decision, Report, RoutineLight};

use super::examine::{Acquired, decision_reason, model_text, state_word, threshold_text};

/// Images wider than this are shown scaled down by the browser; the overlay scales with them (SVG viewBox).
const SHOWN_WIDTH_PX: usize = 900;

pub(crate) fn page(device: &str, acquired: &Acquired, report: &Report) -> String {
    let mut out = String::new();
    let decision = report.decision.name();
    let (class, word) = match report.decision {
        Decision::Genuine => ("pass", "GENUINE"),
        Decision::ForgedOrAltered { .. } => ("fail", "FORGED OR ALTERED"),
        Decision::NotValid { .. } => ("fail", "NOT VALID"),
        Decision::UnableToExamine { .. } => ("unable", "UNABLE TO EXAMINE"),
    };
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Document examination: {decision}</title>\
         <style>{CSS}</style></head><body>\n<h1>Document examination</h1>\n\
         <p class=\"banner {class}\" id=\"decision\" data-decision=\"{decision}\">{word}</p>\n"
    );
    if let Some(reason) = decision_reason(&report.decision).as_str() {
        let _ = writeln!(out, "<p class=\"why\">{}</p>", esc(reason));
    }
    let info = &acquired.reader;
    let _ = writeln!(
        out,
        "<table class=\"facts\"><tr><th>reader</th><td>{} {} (firmware {}), {} dpi, at {}</td></tr>\
         <tr><th>document model</th><td>{}</td></tr><tr><th>chip</th><td>{}</td></tr></table>",
        esc(&info.model),
        esc(&info.serial),
        esc(&info.firmware),
        info.dpi,
        esc(device),
        report.model.as_ref().map_or_else(|| "unknown".into(), |m| esc(&model_text(m))),
        match (&acquired.chip_access, &acquired.document.chip) {
            (Some(access), Some(_)) => format!("opened by {}", esc(access)),
            (Some(access), None) => format!("opened by {}; its data could not be used", esc(access)),
            _ => "not read".into(),
        },
    );

    out.push_str("<h2>Checks</h2>\n<table class=\"checks\"><tr><th>check</th><th>routine</th><th>state</th><th>measured</th><th>threshold</th><th>why</th></tr>\n");
    for check in &report.checks {
        let state = state_word(check.state);
        let _ = writeln!(
            out,
            "<tr class=\"{state}\" data-check=\"{}\"><td>{}</td><td>{}</td><td>{state}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            check.id.name(),
            check.id.name(),
            esc(check.routine.as_deref().unwrap_or("")),
            check.measured.map(|m| format!("{m:.3}")).unwrap_or_default(),
            esc(&check.threshold.as_ref().map(threshold_text).unwrap_or_default()),
            esc(&check.note),
        );
    }
    out.push_str("</table>\n");
    for note in &acquired.notes {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", esc(note));
    }

    lights(&mut out, acquired, report);
    portraits(&mut out, acquired, report);
    let failed = report.checks.iter().filter(|c| c.state == CheckState::Fail).count();
    let _ = writeln!(
        out,
        "<footer>{} checks, {failed} failed. Written by khil {}.</footer></body></html>",
        report.checks.len(),
        khil_conformance::KHIL_VERSION
    );
    out
}

/// Each light's image with the regions its checks looked at outlined.
fn lights(out: &mut String, acquired: &Acquired, report: &Report) {
    out.push_str("<h2>Page under each light</h2>\n<div class=\"lights\">\n");
    let captures = &acquired.document.captures;
    for (light, name, capture) in [
        (RoutineLight::Vi, "white", &captures.white),
        (RoutineLight::Ir, "infrared", &captures.infrared),
        (RoutineLight::Uv, "ultraviolet", &captures.ultraviolet),
    ] {
        let Some(capture) = capture else {
            let _ = writeln!(out, "<figure><figcaption>{name}: not captured</figcaption></figure>");
            continue;
        };
        let image = &capture.image;
        let _ = write!(
            out,
            "<figure data-light=\"{name}\"><figcaption>{name}, {} x {} at {} dpi</figcaption>\
             <svg viewBox=\"0 0 {w} {h}\" width=\"{shown}\"><image href=\"{}\" width=\"{w}\" height=\"{h}\"/>",
            image.width,
            image.height,
            capture.dpi,
            png_uri(image),
            w = image.width,
            h = image.height,
            shown = image.width.min(SHOWN_WIDTH_PX),
        );
        for check in &report.checks {
            let Some(region) = check.region.filter(|r| r.light == light) else { continue };
            let points: Vec<String> = region.corners.iter().map(|[x, y]| format!("{x:.1},{y:.1}")).collect();
            let _ = write!(
                out,
                "<polygon class=\"{}\" points=\"{}\"><title>{}: {}</title></polygon>",
                state_word(check.state),
                points.join(" "),
                check.id.name(),
                state_word(check.state)
            );
        }
        out.push_str("</svg></figure>\n");
    }
    out.push_str("</div>\n");
}

/// The chip's portrait, for the officer to set beside the page's (9303-2 C.29).
fn portraits(out: &mut String, acquired: &Acquired, report: &Report) {
    let Some(portrait) = acquired.document.chip.as_ref().and_then(|chip| chip.dg2_portrait.as_ref()) else { return };
    let verdict = report.check(khil_examine::CheckId::PortraitVsChip).map_or("not compared", |c| state_word(c.state));
    let _ = writeln!(
        out,
        "<h2>Portraits</h2>\n<p>The chip's portrait (DG2) for comparison with the page's (outlined in the white \
         image). khil's comparison is image similarity ({verdict}), <strong>not face recognition</strong>: the \
         officer judges the person.</p>\n<figure data-portrait=\"chip\"><img alt=\"DG2 portrait\" src=\"{}\" \
         height=\"300\"><figcaption>chip (DG2)</figcaption></figure>",
        png_uri(portrait)
    );
}

fn png_uri(image: &GrayImage) -> String {
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(image.to_png()))
}

const CSS: &str = "body{font-family:sans-serif;margin:1.5em;color:#222}\
.banner{font-size:1.6em;font-weight:bold;padding:.4em .8em;display:inline-block;border-radius:4px}\
.banner.pass{background:#d4f4d4}.banner.fail{background:#f8d0d0}.banner.unable{background:#eee}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}\
tr.fail td{background:#fbe3e3}tr.unable td{color:#666}\
.lights{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}\
polygon{fill:none;stroke-width:6}polygon.pass{stroke:#1a9e1a}polygon.fail{stroke:#d01c1c}polygon.unable{stroke:#888}\
.note{color:#555}footer{margin-top:2em;color:#777;font-size:.9em}";
