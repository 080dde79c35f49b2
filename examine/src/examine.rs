//! The examination: locate the page, find the model, run the routines and the data checks, decide.

use khil_biometrics::image::GrayImage;
use khil_mrtd::mrz::{CivilDate, Format, Mrz, MrzDate, Name, Reading};

use crate::input::{Authentication, Capture, ChipData, Document, StopList};
use crate::locate::{Frame, image_ok, lid_level, locate, median, percentile, sample};
use crate::model::{
    DocumentModel, EMBLEM_OUTSIDE, EMBLEM_RING, Location, Models, Property, RectMm, Routine, RoutineLight, mrz_band,
    page_size,
};
use crate::report::{Check, CheckId, CheckState, Decision, Relation, Report, Threshold};
use crate::thresholds as th;

/// Examines documents against a set of models.
#[derive(Debug, Clone)]
pub struct Examiner {
    models: Models,
}

impl Default for Examiner {
    fn default() -> Self {
        Examiner::new(Models::builtin())
    }
}

/// The light captures of one document with their lid levels, in a located frame.
struct Lights<'a> {
    frame: Frame,
    white: (&'a GrayImage, f32),
    infrared: Option<(&'a GrayImage, f32)>,
    ultraviolet: Option<(&'a GrayImage, f32)>,
}

impl Examiner {
    pub fn new(models: Models) -> Examiner {
        Examiner { models }
    }

    pub fn models(&self) -> &Models {
        &self.models
    }

    /// Examines `document` on `today` against `stop_list`. Never panics; whatever cannot be examined is reported
    /// `unable` with the reason, and never turns into a pass.
    pub fn examine(&self, document: &Document, stop_list: &StopList, today: CivilDate) -> Report {
        let mut checks = Vec::new();
        let mut unable: Option<String> = None;

        // The MRZ first: it names the model.
        let reading = Mrz::read_lines(&document.mrz_lines).ok();
        let format = reading.as_ref().map(|r| r.mrz.format).or_else(|| format_of_lines(&document.mrz_lines));
        checks.push(mrz_validity(&document.mrz_lines, reading.as_ref()));
        let model =
            reading.as_ref().and_then(|r| self.models.find(&r.mrz.issuing_state, &r.mrz.document_code, r.mrz.format));
        match (&reading, model) {
            (_, Some(m)) => {
                checks.push(note(CheckId::DocumentModel, CheckState::Pass, format!("model {}", key_text(m))));
            }
            (Some(r), None) => {
                let text = format!(
                    "no document model for issuer {}, type {}, format {}",
                    r.mrz.issuing_state,
                    r.mrz.document_code.chars().next().unwrap_or('?'),
                    r.mrz.format
                );
                unable.get_or_insert(text.clone());
                checks.push(note(CheckId::DocumentModel, CheckState::Unable, text));
            }
            (None, None) => {
                let text = "the MRZ names no document model (unreadable)".to_owned();
                unable.get_or_insert(text.clone());
                checks.push(note(CheckId::DocumentModel, CheckState::Unable, text));
            }
        }

        // Optical checks.
        let lights = locate_lights(document, model, format, &mut checks, &mut unable);
        if let Some(lights) = &lights {
            optical_checks(lights, model, format, &mut checks);
            portrait_check(lights, model, document.chip.as_ref(), &mut checks);
        } else {
            for id in [CheckId::UvSubstrate, CheckId::IrMrzAbsorption] {
                checks.push(note(id, CheckState::Unable, "the page was not located".into()));
            }
        }

        data_checks(document, reading.as_ref(), model, stop_list, today, &mut checks);
        let decision = decide(&checks, unable);
        Report {
            decision,
            model: model.map(|m| m.key.clone()),
            placement: lights.as_ref().map(|l| l.frame.placement()),
            checks,
        }
    }
}

/// Locates the page in white light; checks its size against the model.
fn locate_lights<'a>(
    document: &'a Document,
    model: Option<&DocumentModel>,
    format: Option<Format>,
    checks: &mut Vec<Check>,
    unable: &mut Option<String>,
) -> Option<Lights<'a>> {
    let Some(white) = &document.captures.white else {
        let reason = "no white-light capture".to_owned();
        unable.get_or_insert(reason.clone());
        checks.push(note(CheckId::PageLocation, CheckState::Unable, reason));
        return None;
    };
    let frame = match locate(&white.image, white.dpi) {
        Ok(f) => f,
        Err(e) => {
            let reason = e.reason().to_owned();
            unable.get_or_insert(reason.clone());
            checks.push(note(CheckId::PageLocation, CheckState::Unable, reason));
            return None;
        }
    };
    let nominal = model.map(|m| (m.width_mm, m.height_mm)).or_else(|| format.map(page_size));
    let frame = match nominal {
        Some((w, h)) => frame.with_size(w, h),
        None => frame,
    };
    let mut location = note(CheckId::PageLocation, CheckState::Pass, "page found in white light".into());
    location.region = Some(frame.region(RoutineLight::Vi, RectMm { x: 0.0, y: 0.0, w: frame.w_mm, h: frame.h_mm }));
    checks.push(location);
    if let Some((w, h)) = nominal {
        let off = f64::from((frame.measured_w_mm - w).abs().max((frame.measured_h_mm - h).abs()));
        let threshold = Threshold { relation: Relation::AtMost, value: th::PAGE_SIZE_TOLERANCE_MM };
        let text = format!("measured {:.1} x {:.1} mm against {w} x {h} mm", frame.measured_w_mm, frame.measured_h_mm);
        checks.push(judged(CheckId::PageSize, None, off, threshold, None, text));
    }
    let Some(lid_w) = lid_level(&white.image, &frame) else {
        let reason = "no reader lid in view around the page".to_owned();
        unable.get_or_insert(reason.clone());
        checks.push(note(CheckId::PageLocation, CheckState::Unable, reason));
        return None;
    };
    let other = |c: &'a Option<Capture>| {
        c.as_ref()
            .filter(|c| {
                c.dpi == white.dpi && c.image.width == white.image.width && c.image.height == white.image.height
            })
            .and_then(|c| lid_level(&c.image, &frame).map(|l| (&c.image, l)))
    };
    Some(Lights {
        frame,
        white: (&white.image, lid_w),
        infrared: other(&document.captures.infrared),
        ultraviolet: other(&document.captures.ultraviolet),
    })
}

fn key_text(m: &DocumentModel) -> String {
    format!("({}, {}, {}, {})", m.key.country, m.key.doc_type, m.key.number, m.key.year)
}

fn note(id: CheckId, state: CheckState, note: String) -> Check {
    Check { id, routine: None, state, measured: None, threshold: None, region: None, note }
}

fn judged(
    id: CheckId,
    routine: Option<String>,
    measured: f64,
    threshold: Threshold,
    region: Option<crate::report::Region>,
    note: String,
) -> Check {
    let state = if !measured.is_finite() {
        CheckState::Unable
    } else if threshold.passes(measured) {
        CheckState::Pass
    } else {
        CheckState::Fail
    };
    Check {
        id,
        routine,
        state,
        measured: measured.is_finite().then_some(measured),
        threshold: Some(threshold),
        region,
        note,
    }
}

/// The format an MRZ's shape implies, when it cannot be read: 3 x 30 TD1, 2 x 36 TD2, 2 x 44 TD3.
fn format_of_lines(lines: &[String]) -> Option<Format> {
    let lens: Vec<usize> = lines.iter().map(|l| l.trim_end().chars().count()).collect();
    match lens[..] {
        [30, 30, 30] => Some(Format::Td1),
        [36, 36] => Some(Format::Td2),
        [44, 44] => Some(Format::Td3),
        _ => None,
    }
}

fn mrz_validity(lines: &[String], reading: Option<&Reading>) -> Check {
    if lines.is_empty() {
        return note(CheckId::MrzValidity, CheckState::Unable, "the reader returned no MRZ".into());
    }
    match reading {
        None => {
            note(CheckId::MrzValidity, CheckState::Fail, "the MRZ does not parse (shape, characters or fields)".into())
        }
        Some(r) => match r.first_failure() {
            Some(c) => note(CheckId::MrzValidity, CheckState::Fail, format!("check digit of the {} is wrong", c.name)),
            None => note(CheckId::MrzValidity, CheckState::Pass, format!("{} check digits correct", r.checks.len())),
        },
    }
}

/// Normalised response of a light at a page point: (capture - lid) / (white - lid_white). Under white light
/// that is the reflectance relative to the lid; under the other lights it divides out the illumination the
/// lights share (gain, unevenness).
struct Probe<'a> {
    lights: &'a Lights<'a>,
}

impl Probe<'_> {
    fn white(&self, x: f32, y: f32) -> Option<f32> {
        let (img, lid) = self.lights.white;
        sample(img, x, y).map(|v| v - lid)
    }
}

/// A capture's grey level over its lid level at a capture point.
fn response(light: (&GrayImage, f32), x: f32, y: f32) -> Option<f32> {
    sample(light.0, x, y).map(|v| v - light.1)
}

/// Page points on a grid of `step_mm` over `r`.
fn grid(r: RectMm, step_mm: f32) -> impl Iterator<Item = (f32, f32)> {
    let nx = (r.w / step_mm).floor().max(0.0) as usize;
    let ny = (r.h / step_mm).floor().max(0.0) as usize;
    (0..ny)
        .flat_map(move |j| (0..nx).map(move |i| (r.x + (i as f32 + 0.5) * step_mm, r.y + (j as f32 + 0.5) * step_mm)))
}

fn optical_checks(lights: &Lights, model: Option<&DocumentModel>, format: Option<Format>, checks: &mut Vec<Check>) {
    let f = &lights.frame;
    let probe = Probe { lights };
    let page = RectMm { x: 3.0, y: 3.0, w: f.w_mm - 6.0, h: f.h_mm - 6.0 };

    // (UV,BR,FU), model-independent.
    let routine = Routine { light: RoutineLight::Uv, property: Property::Br, location: Location::Fu, region: page };
    let threshold = Threshold { relation: Relation::AtMost, value: th::UV_SUBSTRATE_MAX };
    match lights.ultraviolet {
        None => checks.push(unable_routine(CheckId::UvSubstrate, &routine, "no usable ultraviolet capture")),
        Some(uv) => {
            let mut ratios: Vec<f32> = grid(page, 2.0)
                .filter_map(|(x, y)| {
                    let (px, py) = f.to_px(x, y);
                    let w = probe.white(px, py)?;
                    // Paper, not print: bright in white light.
                    (w > 40.0).then(|| response(uv, px, py).map(|u| u / w)).flatten()
                })
                .collect();
            let m = if ratios.len() < 50 { f32::NAN } else { median(&mut ratios) };
            let text = "UV emission of the paper relative to its white reflectance (median over the page)";
            let region = Some(f.region(RoutineLight::Uv, page));
            checks.push(judged(
                CheckId::UvSubstrate,
                Some(routine.notation()),
                f64::from(m),
                threshold,
                region,
                text.into(),
            ));
        }
    }

    // (IR,AB,MR), model-independent: the MRZ band of the format the MRZ has.
    let band = format.map(mrz_band);
    let routine_region = band.unwrap_or(page);
    let routine =
        Routine { light: RoutineLight::Ir, property: Property::Ab, location: Location::Mr, region: routine_region };
    match (lights.infrared, band) {
        (None, _) => checks.push(unable_routine(CheckId::IrMrzAbsorption, &routine, "no usable infrared capture")),
        (_, None) => checks.push(unable_routine(CheckId::IrMrzAbsorption, &routine, "the MRZ's format is unknown")),
        (Some(ir), Some(band)) => {
            let threshold = Threshold { relation: Relation::AtLeast, value: th::IR_MRZ_ABSORPTION_MIN };
            let (value, n) = print_absorbance(&probe, ir, band, 0.5, 1.0);
            let text = format!("mean infrared absorbance of {n} MRZ print samples (B900)");
            let value = if n < th::MIN_PRINT_SAMPLES { f64::NAN } else { value };
            let region = Some(f.region(RoutineLight::Ir, band));
            let mut c = judged(CheckId::IrMrzAbsorption, Some(routine.notation()), value, threshold, region, text);
            if c.state == CheckState::Unable {
                c.note = "no MRZ print found in white light at the MRZ's place".into();
            }
            checks.push(c);
        }
    }

    let Some(model) = model else { return };
    for routine in &model.routines {
        match (routine.light, routine.property) {
            (RoutineLight::Uv, Property::Lu) => checks.push(uv_feature(&probe, lights.ultraviolet, routine)),
            (RoutineLight::Ir, Property::Tr) => {
                let threshold = Threshold { relation: Relation::AtMost, value: th::IR_VIZ_ABSORPTION_MAX };
                let Some(ir) = lights.infrared else {
                    checks.push(unable_routine(CheckId::IrVizDropout, routine, "no usable infrared capture"));
                    continue;
                };
                let (value, n) = print_absorbance(&probe, ir, routine.region, 0.55, 2.0);
                let value = if n < th::MIN_PRINT_SAMPLES { f64::NAN } else { value };
                let text = format!("mean infrared absorbance of {n} VIZ print samples (drop-out ink)");
                let region = Some(f.region(RoutineLight::Ir, routine.region));
                checks.push(judged(CheckId::IrVizDropout, Some(routine.notation()), value, threshold, region, text));
            }
            _ => {}
        }
    }
}

fn unable_routine(id: CheckId, routine: &Routine, why: &str) -> Check {
    Check {
        id,
        routine: Some(routine.notation()),
        state: CheckState::Unable,
        measured: None,
        threshold: None,
        region: None,
        note: why.to_owned(),
    }
}

/// Mean infrared absorbance of the pixels of `r` that are print in white light (reflectance below `ink` of the
/// local paper level), each against the local paper level in infrared; and how many print samples there were.
/// The region is cut into strips along x so that uneven lamps do not bias the paper level; samples every
/// `step_px` capture pixels.
fn print_absorbance(probe: &Probe, ir: (&GrayImage, f32), r: RectMm, ink: f32, step_px: f32) -> (f64, usize) {
    let f = &probe.lights.frame;
    let step = step_px / f.k;
    let strips = 8;
    let strip_w = r.w / strips as f32;
    let (mut sum, mut n) = (0.0f64, 0usize);
    for s in 0..strips {
        let strip = RectMm { x: r.x + s as f32 * strip_w, y: r.y, w: strip_w, h: r.h };
        let samples: Vec<(f32, f32)> = grid(strip, step)
            .filter_map(|(x, y)| {
                let (px, py) = f.to_px(x, y);
                Some((probe.white(px, py)?, response(ir, px, py)?))
            })
            .collect();
        if samples.len() < 20 {
            continue;
        }
        let mut whites: Vec<f32> = samples.iter().map(|s| s.0).collect();
        let mut irs: Vec<f32> = samples.iter().map(|s| s.1).collect();
        let paper_w = percentile(&mut whites, 0.9);
        let paper_ir = percentile(&mut irs, 0.9);
        if paper_w <= 10.0 || paper_ir <= 10.0 {
            continue;
        }
        for &(w, i) in &samples {
            if w / paper_w < ink {
                sum += f64::from((1.0 - i / paper_ir).clamp(-0.5, 1.5));
                n += 1;
            }
        }
    }
    (if n == 0 { f64::NAN } else { sum / n as f64 }, n)
}

/// (UV,LU,AF): the emblem's outer ring glows against the paper just outside the emblem.
fn uv_feature(probe: &Probe, uv: Option<(&GrayImage, f32)>, routine: &Routine) -> Check {
    let Some(uv) = uv else { return unable_routine(CheckId::UvFeature, routine, "no usable ultraviolet capture") };
    let f = &probe.lights.frame;
    let r = routine.region;
    let (cx, cy, radius) = (r.x + r.w / 2.0, r.y + r.h / 2.0, r.w / 2.0);
    let circle = |fraction: f32| -> Vec<f32> {
        (0..180)
            .filter_map(|i| {
                let a = i as f32 * std::f32::consts::PI / 90.0;
                let (x, y) = (cx + radius * fraction * a.cos(), cy + radius * fraction * a.sin());
                let (px, py) = f.to_px(x, y);
                let w = probe.white(px, py)?;
                (w > 40.0).then(|| response(uv, px, py).map(|u| u / w)).flatten()
            })
            .collect()
    };
    let (mut ring, mut outside) = (circle(EMBLEM_RING), circle(EMBLEM_OUTSIDE));
    let value = if ring.len() < 60 || outside.len() < 60 {
        f64::NAN
    } else {
        f64::from(median(&mut ring) - median(&mut outside))
    };
    let threshold = Threshold { relation: Relation::AtLeast, value: th::UV_FEATURE_MIN };
    let text = "UV emission of the emblem's ring over the paper around it (relative to white reflectance)";
    judged(
        CheckId::UvFeature,
        Some(routine.notation()),
        value,
        threshold,
        Some(f.region(RoutineLight::Uv, r)),
        text.into(),
    )
}

/// Page portrait against DG2: both resampled to a common grid, their fine detail (each cell minus its 5 x 5
/// neighbourhood's mean) correlated. It tells whether the printed picture is the chip's picture; it is image
/// similarity, not face recognition: it says nothing about whether two different pictures show one person.
fn portrait_check(lights: &Lights, model: Option<&DocumentModel>, chip: Option<&ChipData>, checks: &mut Vec<Check>) {
    let Some(model) = model else { return };
    let dg2 = chip.and_then(|c| c.dg2_portrait.as_ref()).filter(|p| image_ok(p));
    let Some(dg2) = dg2 else {
        let why = if model.has_chip { "no DG2 portrait from the chip" } else { "the model has no chip" };
        checks.push(note(CheckId::PortraitVsChip, CheckState::Unable, why.into()));
        return;
    };
    let f = &lights.frame;
    let r = model.portrait;
    let (gw, gh) = (150usize, 200usize);
    let (img, lid) = lights.white;
    let mut page = Vec::with_capacity(gw * gh);
    let mut chip_grid = Vec::with_capacity(gw * gh);
    let (sx, sy) = (dg2.width as f32 / gw as f32, dg2.height as f32 / gh as f32);
    for j in 0..gh {
        for i in 0..gw {
            let mut acc = 0.0;
            let mut chip_acc = 0.0;
            for (du, dv) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
                let (u, v) = ((i as f32 + du) / gw as f32, (j as f32 + dv) / gh as f32);
                let (px, py) = f.to_px(r.x + u * r.w, r.y + v * r.h);
                acc += sample(img, px, py).map_or(0.0, |s| s - lid);
                chip_acc += sample(dg2, (i as f32 + du) * sx, (j as f32 + dv) * sy).unwrap_or(0.0);
            }
            page.push(acc / 4.0);
            chip_grid.push(chip_acc / 4.0);
        }
    }
    let value = f64::from(detail_correlation(&page, &chip_grid, gw, gh));
    let threshold = Threshold { relation: Relation::AtLeast, value: th::PORTRAIT_SIMILARITY_MIN };
    let text = "fine-detail correlation of the page portrait with DG2 (image similarity, not face recognition)";
    let region = Some(f.region(RoutineLight::Vi, r));
    checks.push(judged(CheckId::PortraitVsChip, None, value, threshold, region, text.into()));
}

/// Correlation of two grids' fine detail: each cell minus its 5 x 5 box mean, over the cells where neither
/// grid has an edge (detail beyond four times its median magnitude). Edges are left out because every portrait
/// has a head and shoulders where they would be: what must agree is the detail inside the picture.
fn detail_correlation(a: &[f32], b: &[f32], w: usize, h: usize) -> f32 {
    let high = |g: &[f32]| -> Vec<f32> {
        let mut out = vec![0.0; w * h];
        for y in 2..h.saturating_sub(2) {
            for x in 2..w.saturating_sub(2) {
                let mut s = 0.0;
                for dy in 0..5 {
                    for dx in 0..5 {
                        s += g[(y + dy - 2) * w + x + dx - 2];
                    }
                }
                out[y * w + x] = g[y * w + x] - s / 25.0;
            }
        }
        out
    };
    let (ha, hb) = (high(a), high(b));
    let limit = |g: &[f32]| {
        let mut m: Vec<f32> = g.iter().map(|v| v.abs()).filter(|v| *v > 0.0).collect();
        4.0 * median(&mut m)
    };
    let (la, lb) = (limit(&ha), limit(&hb));
    if !(la > 0.0 && lb > 0.0) {
        return 0.0;
    }
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (x, y) in ha.iter().zip(&hb) {
        if x.abs() > la || y.abs() > lb {
            continue;
        }
        ab += f64::from(*x) * f64::from(*y);
        aa += f64::from(*x) * f64::from(*x);
        bb += f64::from(*y) * f64::from(*y);
    }
    if aa <= 0.0 || bb <= 0.0 { 0.0 } else { (ab / (aa * bb).sqrt()) as f32 }
}

/// Normalised text for comparing a VIZ field with the MRZ: capitals, every non-alphanumeric a single space.
fn normalised(s: &str) -> String {
    let mapped: String = s.chars().map(|c| if c.is_alphanumeric() { c.to_ascii_uppercase() } else { ' ' }).collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A VIZ date `YYYY-MM-DD` as the MRZ writes it (`YYMMDD`).
fn viz_date_as_mrz(s: &str) -> Option<String> {
    let parts: Vec<&str> = s.trim().split('-').collect();
    let [y, m, d] = parts[..] else { return None };
    if y.len() != 4
        || m.len() != 2
        || d.len() != 2
        || !(y.chars().chain(m.chars()).chain(d.chars())).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    Some(format!("{}{m}{d}", &y[2..]))
}

fn data_checks(
    document: &Document,
    reading: Option<&Reading>,
    model: Option<&DocumentModel>,
    stop_list: &StopList,
    today: CivilDate,
    checks: &mut Vec<Check>,
) {
    let Some(reading) = reading else {
        for id in [CheckId::MrzVsViz, CheckId::LostStolen, CheckId::Validity] {
            checks.push(note(id, CheckState::Unable, "the MRZ could not be read".into()));
        }
        mrz_vs_chip(document, model, checks);
        return;
    };
    let mrz = &reading.mrz;
    checks.push(mrz_vs_viz(document, mrz));
    mrz_vs_chip(document, model, checks);

    let listed = stop_list.contains(&mrz.issuing_state, &mrz.document_number)
        || document.viz.get("document_number").is_some_and(|n| stop_list.contains(&mrz.issuing_state, n.trim()));
    checks.push(if listed {
        note(CheckId::LostStolen, CheckState::Fail, "the document number is on the lost/stolen list".into())
    } else {
        note(CheckId::LostStolen, CheckState::Pass, format!("not among {} listed documents", stop_list.len()))
    });

    let expiry = mrz.expiry_date.year_near(today.year()).and_then(|y| mrz.expiry_date.in_year(y));
    let birth = mrz.birth_date.year_not_after(today.year()).and_then(|y| mrz.birth_date.in_year(y));
    checks.push(match (expiry, birth) {
        (Some(e), _) if e < today => note(CheckId::Validity, CheckState::Fail, "the document has expired".into()),
        (_, Some(b)) if b > today => {
            note(CheckId::Validity, CheckState::Fail, "the date of birth lies in the future".into())
        }
        (Some(_), _) => note(CheckId::Validity, CheckState::Pass, "within its validity".into()),
        (None, _) => note(CheckId::Validity, CheckState::Unable, "the date of expiry is not a complete date".into()),
    });
}

fn mrz_vs_viz(document: &Document, mrz: &Mrz) -> Check {
    if document.viz.is_empty() {
        return note(CheckId::MrzVsViz, CheckState::Unable, "the reader returned no VIZ fields".into());
    }
    let viz = |name: &str| document.viz.get(name).map(String::as_str);
    let mut compared = 0;
    let mut differ = Vec::new();
    let mut compare = |name: &'static str, same: Option<bool>| {
        if let Some(same) = same {
            compared += 1;
            if !same {
                differ.push(name);
            }
        }
    };
    let date = |v: &str, m: MrzDate| viz_date_as_mrz(v).map(|d| d == m.to_string());
    compare("document_number", viz("document_number").map(|v| normalised(v) == normalised(&mrz.document_number)));
    // Names as the MRZ writes them: khil_mrtd's 9303-3 transliteration (apostrophes dropped, hyphens as fillers)
    // and its cutting of long names, so a truncated MRZ name is compared with the VIZ name cut the same way. A
    // VIZ in another script cannot be compared here and is left out.
    let width = match mrz.format {
        Format::Td1 => 30,
        Format::Td2 | Format::MrvB => 31,
        Format::Td3 | Format::MrvA => 39,
    };
    let field_of = |name: &Name| name.field(width).0;
    if let (Some(surname), Some(given)) = (viz("surname"), viz("given_names"))
        && let Ok(name) = Name::new(surname, given)
    {
        let same = field_of(&name) == field_of(&mrz.name);
        let surname_same = same || name.primary() == mrz.name.primary();
        compare("surname", Some(surname_same));
        compare("given_names", Some(same || (!surname_same && name.secondary() == mrz.name.secondary())));
    } else if let Some(surname) = viz("surname").and_then(|v| Name::new(v, "").ok()) {
        compare("surname", Some(surname.primary() == mrz.name.primary()));
    }
    compare("birth_date", viz("birth_date").map(|v| date(v, mrz.birth_date).unwrap_or(false)));
    compare("expiry_date", viz("expiry_date").map(|v| date(v, mrz.expiry_date).unwrap_or(false)));
    compare("sex", viz("sex").map(|v| v.trim().starts_with(mrz.sex.to_char())));
    compare("nationality", viz("nationality").map(|v| v.trim() == mrz.nationality));
    compare("issuing_state", viz("issuing_state").map(|v| v.trim() == mrz.issuing_state));
    if compared == 0 {
        return note(CheckId::MrzVsViz, CheckState::Unable, "no VIZ field the MRZ also holds".into());
    }
    if differ.is_empty() {
        note(CheckId::MrzVsViz, CheckState::Pass, format!("{compared} VIZ fields agree with the MRZ"))
    } else {
        let mut c =
            note(CheckId::MrzVsViz, CheckState::Fail, format!("VIZ differs from the MRZ in: {}", differ.join(", ")));
        c.measured = Some(differ.len() as f64);
        c
    }
}

fn mrz_vs_chip(document: &Document, model: Option<&DocumentModel>, checks: &mut Vec<Check>) {
    let Some(chip) = &document.chip else {
        let why = if model.is_some_and(|m| !m.has_chip) { "the model has no chip" } else { "no chip data" };
        checks.push(note(CheckId::MrzVsChip, CheckState::Unable, why.into()));
        checks.push(note(CheckId::ChipAuthentication, CheckState::Unable, why.into()));
        return;
    };
    let trim = |l: &[String]| l.iter().map(|s| s.trim_end().to_owned()).collect::<Vec<_>>();
    checks.push(if chip.dg1_mrz.is_empty() {
        note(CheckId::MrzVsChip, CheckState::Unable, "the chip returned no DG1".into())
    } else if document.mrz_lines.is_empty() {
        note(CheckId::MrzVsChip, CheckState::Unable, "the reader returned no MRZ".into())
    } else if trim(&chip.dg1_mrz) == trim(&document.mrz_lines) {
        note(CheckId::MrzVsChip, CheckState::Pass, "the printed MRZ is the chip's DG1".into())
    } else {
        note(CheckId::MrzVsChip, CheckState::Fail, "the printed MRZ differs from the chip's DG1".into())
    });
    checks.push(match chip.authentication {
        Authentication::Passed => {
            note(CheckId::ChipAuthentication, CheckState::Pass, "passive authentication passed".into())
        }
        Authentication::Failed => {
            note(CheckId::ChipAuthentication, CheckState::Fail, "passive authentication failed".into())
        }
        Authentication::NotPerformed => {
            note(CheckId::ChipAuthentication, CheckState::Unable, "passive authentication not performed".into())
        }
        Authentication::NotOpened => note(
            CheckId::ChipAuthentication,
            CheckState::Fail,
            "the chip does not open with the access keys of the printed MRZ".into(),
        ),
    });
}

fn decide(checks: &[Check], unable: Option<String>) -> Decision {
    let failed = |validity: bool| -> Vec<CheckId> {
        let mut ids: Vec<CheckId> = checks
            .iter()
            .filter(|c| c.state == CheckState::Fail && c.id.is_validity() == validity)
            .map(|c| c.id)
            .collect();
        ids.dedup();
        ids
    };
    let forged = failed(false);
    if !forged.is_empty() {
        return Decision::ForgedOrAltered { failed: forged };
    }
    let invalid = failed(true);
    if !invalid.is_empty() {
        return Decision::NotValid { failed: invalid };
    }
    if let Some(reason) = unable {
        return Decision::UnableToExamine { reason };
    }
    Decision::Genuine
}
