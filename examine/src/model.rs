//! Document models: per (country, type, number, year), the template of features a genuine page shows, as ICAO
//! 9303-2 App. C check routines (light, property, location) with the region each one looks at.
//!
//! The built-in models describe the issuers of khil's simulated population. Their geometry is the issuers'
//! specification (9303-3/4 page and MRZ positions; portrait, VIZ and emblem positions of these issuers), which a
//! vendor's model database would hold from specimens; a test checks it against the simulator's layout, so that
//! the two cannot drift apart unnoticed.

use khil_mrtd::mrz::Format;
use serde::Serialize;

/// A rectangle on the page, millimetres from the page's top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RectMm {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// The light of a routine (9303-2 C.3 notation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RoutineLight {
    /// Visible (white) light.
    Vi,
    Uv,
    Ir,
}

/// The property a routine checks (the subset khil checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Property {
    /// Absorbent: the print stays dark.
    Ab,
    /// Brightness.
    Br,
    /// Luminescent: a pattern glows at its place.
    Lu,
    /// Transparent: visible print vanishes.
    Tr,
}

/// Where a routine looks (the subset khil uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Location {
    /// Full page.
    Fu,
    /// Machine readable zone.
    Mr,
    /// Visual zone.
    Vz,
    /// Photo.
    Ph,
    /// Other: the fluorescent emblem.
    Af,
}

/// One generic check routine and its region.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Routine {
    pub light: RoutineLight,
    pub property: Property,
    pub location: Location,
    pub region: RectMm,
}

impl Routine {
    /// `(UV,BR,FU)`.
    pub fn notation(&self) -> String {
        let light = match self.light {
            RoutineLight::Vi => "VI",
            RoutineLight::Uv => "UV",
            RoutineLight::Ir => "IR",
        };
        let property = match self.property {
            Property::Ab => "AB",
            Property::Br => "BR",
            Property::Lu => "LU",
            Property::Tr => "TR",
        };
        let location = match self.location {
            Location::Fu => "FU",
            Location::Mr => "MR",
            Location::Vz => "VZ",
            Location::Ph => "PH",
            Location::Af => "AF",
        };
        format!("({light},{property},{location})")
    }
}

/// A document model's name: (country, type, number, year) as 9303-2 App. C names them, e.g. (UTO, P, 1, 2015).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ModelKey {
    pub country: String,
    /// The first letter of the document code: P, I, V.
    pub doc_type: char,
    pub number: u8,
    /// The first year of the series.
    pub year: u16,
}

/// Where things are on a page of one model, and what a genuine page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentModel {
    pub key: ModelKey,
    pub format: Format,
    pub width_mm: f32,
    pub height_mm: f32,
    pub has_chip: bool,
    pub portrait: RectMm,
    /// The model-specific routines: at least one (UV,LU,·) and one (IR,TR,·) (9303-2 C.15).
    pub routines: Vec<Routine>,
}

/// MRZ print geometry (9303-3 §4.2.2: OCR-B size 1 at 10 characters per 25.4 mm; line spacing and capital height
/// as the population's issuers print them).
pub const MRZ_PITCH_MM: f32 = 2.54;
pub const MRZ_CAP_HEIGHT_MM: f32 = 2.42;
pub const MRZ_LINE_SPACING_MM: f32 = 25.4 / 6.0;

/// The nominal page size of a format (9303-4 TD3 125 x 88, 9303-6 TD2 105 x 74, ISO 7810 ID-1 85.6 x 54.0,
/// 9303-7 MRV-A 120 x 80, MRV-B 105 x 74).
pub fn page_size(format: Format) -> (f32, f32) {
    match format {
        Format::Td1 => (85.6, 54.0),
        Format::Td2 | Format::MrvB => (105.0, 74.0),
        Format::Td3 => (125.0, 88.0),
        Format::MrvA => (120.0, 80.0),
    }
}

/// The band the MRZ characters are printed in: the cells of every line, half a millimetre around the capitals.
pub fn mrz_band(format: Format) -> RectMm {
    let (width, height) = page_size(format);
    let lines = format.lines() as f32;
    let bottom_line = mrz_bottom_line_mm(format);
    let left = (width - format.width() as f32 * MRZ_PITCH_MM) / 2.0;
    let top_centre = height - bottom_line - (lines - 1.0) * MRZ_LINE_SPACING_MM;
    let y = top_centre - MRZ_CAP_HEIGHT_MM / 2.0 - 0.5;
    let bottom = height - bottom_line + MRZ_CAP_HEIGHT_MM / 2.0 + 0.5;
    RectMm { x: left - 0.3, y, w: format.width() as f32 * MRZ_PITCH_MM + 0.6, h: bottom - y }
}

fn mrz_bottom_line_mm(format: Format) -> f32 {
    if format.lines() > 2 { 5.5 } else { 6.6 }
}

/// The machine readable zone, full width: where the page has no guilloche.
fn mrz_zone_top(format: Format) -> f32 {
    let (_, height) = page_size(format);
    let lines = format.lines() as f32;
    let zone_h = mrz_bottom_line_mm(format) + (lines - 1.0) * MRZ_LINE_SPACING_MM + 0.5 * MRZ_LINE_SPACING_MM + 1.5;
    height - zone_h
}

/// The population issuers' page layout for a format: (portrait, VIZ, fluorescent emblem).
pub fn issuer_layout(format: Format) -> (RectMm, RectMm, RectMm) {
    let (width, height) = page_size(format);
    let top = height * 0.12 + 1.5;
    let portrait_h = mrz_zone_top(format) - top - 2.0;
    let portrait = RectMm { x: width * 0.04, y: top, w: portrait_h * 0.78, h: portrait_h };
    let viz_x = portrait.x + portrait.w + 4.0;
    let viz = RectMm { x: viz_x, y: top, w: width - viz_x - 2.0, h: portrait_h };
    let emblem_d = portrait_h * 0.55;
    let emblem = RectMm { x: width - emblem_d - 4.0, y: top + 1.0, w: emblem_d, h: emblem_d };
    (portrait, viz, emblem)
}

/// The fluorescent emblem's pattern: rings at these fractions of its radius (the outer one is checked), and a
/// reference circle outside it where a genuine page does not glow.
pub const EMBLEM_RING: f32 = 0.92;
pub const EMBLEM_OUTSIDE: f32 = 1.12;

/// The models a checker knows.
#[derive(Debug, Clone, PartialEq)]
pub struct Models {
    models: Vec<DocumentModel>,
}

impl Models {
    pub fn new(models: Vec<DocumentModel>) -> Models {
        Models { models }
    }

    /// The population's issuers: passports (TD3), identity cards (TD1, and Utopia's TD2) and visas (MRV-A,
    /// Germany's MRV-B), series of 2015.
    pub fn builtin() -> Models {
        let states = ["MNG", "CHN", "RUS", "KOR", "KAZ", "D", "UTO"];
        let mut models = Vec::new();
        for state in states {
            models.push(model(state, 'P', Format::Td3));
            models.push(model(state, 'I', Format::Td1));
            if state == "UTO" {
                models.push(model(state, 'I', Format::Td2));
            } else {
                models.push(model(state, 'V', Format::MrvA));
            }
            if state == "D" {
                models.push(model(state, 'V', Format::MrvB));
            }
        }
        Models { models }
    }

    /// The model of a document of `country` with document code `code` in `format`.
    pub fn find(&self, country: &str, code: &str, format: Format) -> Option<&DocumentModel> {
        let doc_type = code.chars().next()?;
        self.models.iter().find(|m| m.key.country == country && m.key.doc_type == doc_type && m.format == format)
    }

    pub fn all(&self) -> &[DocumentModel] {
        &self.models
    }
}

fn model(country: &str, doc_type: char, format: Format) -> DocumentModel {
    let (width_mm, height_mm) = page_size(format);
    let (portrait, viz, emblem) = issuer_layout(format);
    DocumentModel {
        key: ModelKey { country: country.to_owned(), doc_type, number: 1, year: 2015 },
        format,
        width_mm,
        height_mm,
        has_chip: doc_type != 'V',
        portrait,
        routines: vec![
            Routine { light: RoutineLight::Uv, property: Property::Lu, location: Location::Af, region: emblem },
            Routine { light: RoutineLight::Ir, property: Property::Tr, location: Location::Vz, region: viz },
        ],
    }
}
