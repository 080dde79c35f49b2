//! Data pages as a page reader captures them.
//!
//! The page is built in millimetres on the document's own frame (origin top left, ICAO 9303-3/4 geometry), as
//! coverage layers, one per ink: the guilloche background, the pre-printed VIZ (header, labels), the
//! personalised VIZ fields, the portrait, the MRZ and the UV-fluorescent emblem. A light then decides what each
//! ink does: in white light every visible ink absorbs; at ~900 nm only IR-absorbing inks (carbon: the MRZ, the
//! B900 test, and the portrait) stay dark while the others drop out; at 365 nm the substrate stays dull and the
//! fluorescent ink glows (9303-2 App. A and C, /work/shared/reference/document-examination.md). A [`Design`]
//! names the inks and the substrate, so that a counterfeit is a different design (UV-bright paper, a missing
//! fluorescent feature, an MRZ in IR-transparent ink). Wear, dirt, lighting and placement ([`Conditions`]) come
//! last, seeded.

use std::f32::consts::PI;
use std::sync::{Arc, Mutex};

use ab_glyph::{Font, FontVec, PxScale, ScaleFont, point};
use khil_biometrics::image::GrayImage;
use khil_docreader::Light;
use khil_mrtd::mrz::{CivilDate, Format};
use khil_sim_mrtd::issue::placeholder_portrait_rgb;
use khil_sim_population::documents::{Kind, State, TravelDocument};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::fonts::Fonts;

/// Capture resolution. 9303-2 App. B asks readers for at least 385 ppi; 300 dpi is the common cheaper one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dpi {
    D300,
    D400,
}

impl Dpi {
    pub fn value(self) -> u16 {
        match self {
            Dpi::D300 => 300,
            Dpi::D400 => 400,
        }
    }

    /// Pixels per millimetre.
    pub fn px_per_mm(self) -> f32 {
        f32::from(self.value()) / 25.4
    }
}

/// A rectangle on the page, in millimetres from the page's top-left corner.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RectMm {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// OCR-B size 1 is printed at 10 characters per 25.4 mm (9303-3 §4.2.2).
pub const MRZ_PITCH_MM: f32 = 2.54;
/// OCR-B size 1 capital height as drawn. Assumed (ISO 1073-2's size I nominal value, not checked against the
/// standard's text here); the geometry test measures the drawn glyphs against it.
pub const MRZ_CAP_HEIGHT_MM: f32 = 2.42;
/// MRZ line spacing, centre line to centre line. Assumed: 6 lines per 25.4 mm; 9303-4's figure of the MRZ
/// print positions was not at hand, and its tolerances were not checked.
pub const MRZ_LINE_SPACING_MM: f32 = 25.4 / 6.0;
/// The reader's window extends this far beyond the page on every side (the document lies on a larger glass).
pub const READER_MARGIN_MM: f32 = 6.0;

/// Where things are on a data page of one format.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    pub format: Format,
    /// Nominal page size (9303-4 TD3 125 x 88, 9303-6 TD2 105 x 74, ISO 7810 ID-1 85.6 x 54.0, 9303-7 MRV-A
    /// 120 x 80 and MRV-B 105 x 74).
    pub width_mm: f32,
    pub height_mm: f32,
    /// The machine readable zone: the effective reading zone at the bottom of the page, full width.
    pub mrz_zone: RectMm,
    /// Left edge of the first MRZ character.
    pub mrz_left_mm: f32,
    /// Centre line of the lowest MRZ line, from the page's bottom edge (assumed, like the line spacing).
    pub mrz_bottom_line_mm: f32,
    pub portrait: RectMm,
    /// The personalised fields and their labels.
    pub viz: RectMm,
    /// The UV-fluorescent emblem (rings with the issuing state's code).
    pub uv_emblem: RectMm,
}

impl Layout {
    /// The layout of a format. A TD1 card's MRZ is on its back: the TD1 page drawn here puts the front's VIZ and
    /// the back's MRZ on one side, a simplification of the simulator (one capture per card, not two).
    pub fn of(format: Format) -> Layout {
        let (width_mm, height_mm) = match format {
            Format::Td1 => (85.6, 54.0),
            Format::Td2 | Format::MrvB => (105.0, 74.0),
            Format::Td3 => (125.0, 88.0),
            Format::MrvA => (120.0, 80.0),
        };
        let lines = format.lines() as f32;
        let columns = format.width() as f32;
        let mrz_bottom_line_mm = if lines > 2.0 { 5.5 } else { 6.6 };
        // The zone: from the lowest line's centre down to the edge, up to half a spacing above the top line.
        let zone_h = mrz_bottom_line_mm + (lines - 1.0) * MRZ_LINE_SPACING_MM + 0.5 * MRZ_LINE_SPACING_MM + 1.5;
        let mrz_zone = RectMm { x: 0.0, y: height_mm - zone_h, w: width_mm, h: zone_h };
        // Centred, which for TD3 puts the first character ~6.6 mm from the left edge.
        let mrz_left_mm = (width_mm - columns * MRZ_PITCH_MM) / 2.0;
        let header_bottom = height_mm * 0.12;
        let top = header_bottom + 1.5;
        let portrait_h = mrz_zone.y - top - 2.0;
        let portrait = RectMm { x: width_mm * 0.04, y: top, w: portrait_h * 0.78, h: portrait_h };
        let viz_x = portrait.x + portrait.w + 4.0;
        let viz = RectMm { x: viz_x, y: top, w: width_mm - viz_x - 2.0, h: portrait_h };
        let emblem_d = portrait_h * 0.55;
        let uv_emblem = RectMm { x: width_mm - emblem_d - 4.0, y: top + 1.0, w: emblem_d, h: emblem_d };
        Layout { format, width_mm, height_mm, mrz_zone, mrz_left_mm, mrz_bottom_line_mm, portrait, viz, uv_emblem }
    }
}

/// What an ink does under each light: absorbance (0 none, 1 black) in white and infrared light, and
/// fluorescence under UV (0 none, 1 as bright as the reader's white).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ink {
    pub white: f32,
    pub infrared: f32,
    pub ultraviolet: f32,
}

/// The paper (or polycarbonate) itself: reflectance in white and IR light, emission under UV.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Substrate {
    pub white: f32,
    pub infrared: f32,
    pub ultraviolet: f32,
}

/// The materials a page is printed with. [`Design::genuine`] is what a genuine document uses; a counterfeit
/// changes one of them (see the examples on each field).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Design {
    /// Genuine: UV-dull security paper. Counterfeit: ordinary paper with optical brighteners (UV-bright).
    pub substrate: Substrate,
    /// The guilloche background: IR drop-out ink.
    pub background: Ink,
    /// Header and field labels: IR drop-out.
    pub preprint: Ink,
    /// The personalised VIZ fields: IR drop-out.
    pub fields: Ink,
    /// The portrait: IR-absorbing (darkness scales the ink).
    pub portrait: Ink,
    /// Genuine: IR-absorbing (B900). Counterfeit: an inkjet MRZ that vanishes in IR.
    pub mrz: Ink,
    /// Genuine: invisible in white light, glowing under UV. Counterfeit: absent (all zero).
    pub fluorescent: Ink,
}

impl Design {
    pub fn genuine() -> Design {
        Design {
            substrate: Substrate { white: 0.93, infrared: 0.95, ultraviolet: 0.08 },
            background: Ink { white: 0.28, infrared: 0.0, ultraviolet: 0.0 },
            preprint: Ink { white: 0.75, infrared: 0.02, ultraviolet: 0.0 },
            fields: Ink { white: 0.9, infrared: 0.03, ultraviolet: 0.0 },
            portrait: Ink { white: 1.0, infrared: 0.9, ultraviolet: 0.0 },
            mrz: Ink { white: 0.95, infrared: 0.92, ultraviolet: 0.0 },
            fluorescent: Ink { white: 0.0, infrared: 0.0, ultraviolet: 0.85 },
        }
    }

    /// Ordinary office paper: bright under UV (optical brighteners), no fluorescent feature.
    /// Printed with an office laser printer, whose carbon toner absorbs at 900 nm: the VIZ no longer drops out in
    /// infrared light.
    pub fn counterfeit_office_paper() -> Design {
        let mut d = Design::genuine();
        d.substrate.ultraviolet = 0.7;
        d.fluorescent = Ink { white: 0.0, infrared: 0.0, ultraviolet: 0.0 };
        d.fields.infrared = 0.85;
        d.preprint.infrared = 0.7;
        d
    }

    /// An MRZ reprinted in dye ink that is transparent at 900 nm (fails B900).
    pub fn counterfeit_ir_transparent_mrz() -> Design {
        let mut d = Design::genuine();
        d.mrz.infrared = 0.03;
        d
    }
}

/// How the capture deviates from an ideal one. Values outside their ranges are clamped and NaN counts as 0
/// (or 1 for `gain`): rendering never fails on conditions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    /// 0..=1: sensor noise, laminate scratches and ink fading grow with it.
    pub wear: f32,
    /// 0..=1: number and darkness of dirt spots.
    pub dirt: f32,
    /// 0.5..=1.5: lamp brightness.
    pub gain: f32,
    /// -60..=60 grey levels: black level.
    pub offset: f32,
    /// 0..=0.5: uneven illumination (brightness falls this much towards one side).
    pub unevenness: f32,
    /// -5..=5 mm: where the page lies on the glass relative to the nominal position.
    pub shift_mm: (f32, f32),
    /// -10..=10 degrees.
    pub rotation_deg: f32,
}

impl Default for Conditions {
    fn default() -> Self {
        Conditions::ideal()
    }
}

impl Conditions {
    /// A clean, well-lit, well-placed page.
    pub fn ideal() -> Conditions {
        Conditions {
            wear: 0.0,
            dirt: 0.0,
            gain: 1.0,
            offset: 0.0,
            unevenness: 0.0,
            shift_mm: (0.0, 0.0),
            rotation_deg: 0.0,
        }
    }

    /// Seeded random conditions; `severity` 0..=1 scales every deviation (0.3: a used document, placed by hand).
    pub fn random(seed: u64, severity: f32) -> Conditions {
        let s = clamp_or(severity, 0.0, 1.0, 0.0);
        let mut rng = rng_for(seed, b"conditions");
        let mut sym = |scale: f32| (rng.random::<f32>() * 2.0 - 1.0) * scale * s;
        let wear = sym(1.0).abs();
        let dirt = sym(1.0).abs();
        let gain = 1.0 + sym(0.3);
        let offset = sym(25.0);
        let unevenness = sym(0.4).abs();
        let shift_mm = (sym(4.0), sym(4.0));
        let rotation_deg = sym(6.0);
        Conditions { wear, dirt, gain, offset, unevenness, shift_mm, rotation_deg }
    }

    fn sanitised(&self) -> Conditions {
        Conditions {
            wear: clamp_or(self.wear, 0.0, 1.0, 0.0),
            dirt: clamp_or(self.dirt, 0.0, 1.0, 0.0),
            gain: clamp_or(self.gain, 0.5, 1.5, 1.0),
            offset: clamp_or(self.offset, -60.0, 60.0, 0.0),
            unevenness: clamp_or(self.unevenness, 0.0, 0.5, 0.0),
            shift_mm: (clamp_or(self.shift_mm.0, -5.0, 5.0, 0.0), clamp_or(self.shift_mm.1, -5.0, 5.0, 0.0)),
            rotation_deg: clamp_or(self.rotation_deg, -10.0, 10.0, 0.0),
        }
    }
}

fn clamp_or(v: f32, lo: f32, hi: f32, nan: f32) -> f32 {
    if v.is_nan() { nan } else { v.clamp(lo, hi) }
}

/// One capture: 8-bit grey (0 black) at `dpi`, covering the page plus [`READER_MARGIN_MM`] on every side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub light: Light,
    pub dpi: u16,
    /// `GrayImage`'s Debug shows the size only, never the pixels.
    pub image: GrayImage,
}

/// Why a page could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("light code {0:#04x} is not simulated; expected white (01), infrared (02) or ultraviolet (03)")]
    UnsupportedLight(u8),
}

/// Renders data pages with loaded fonts at one resolution.
#[derive(Debug)]
pub struct Renderer {
    fonts: Fonts,
    dpi: Dpi,
    /// Guilloche backgrounds by model: the same on every page of a model, and the costliest layer to draw.
    guilloche: Mutex<Vec<(GuillocheKey, Arc<Mask>)>>,
    /// Page-sized buffers of finished renders, one set per thread that rendered at the same time: a render
    /// takes a set and gives it back, so pages do not allocate (and the kernel zero) megabytes each time.
    scratch: Mutex<Vec<Scratch>>,
}

impl Renderer {
    pub fn new(fonts: Fonts, dpi: Dpi) -> Renderer {
        Renderer { fonts, dpi, guilloche: Mutex::new(Vec::new()), scratch: Mutex::new(Vec::new()) }
    }

    pub fn dpi(&self) -> Dpi {
        self.dpi
    }

    /// The data page of a genuine `document` under `light`. `seed` drives the conditions' randomness (noise,
    /// scratches, dirt); the same arguments give the same bytes.
    pub fn render(
        &self,
        document: &TravelDocument,
        light: Light,
        conditions: &Conditions,
        seed: u64,
    ) -> Result<Capture, RenderError> {
        self.render_with(document, &Design::genuine(), light, conditions, seed)
    }

    /// As [`Renderer::render`], printed with `design`'s materials.
    pub fn render_with(
        &self,
        document: &TravelDocument,
        design: &Design,
        light: Light,
        conditions: &Conditions,
        seed: u64,
    ) -> Result<Capture, RenderError> {
        self.render_content(&PageContent::of(document), design, light, conditions, seed)
    }

    /// One light of a page showing `content`: the same bytes as that light's capture in
    /// [`Renderer::render_set`].
    pub fn render_content(
        &self,
        content: &PageContent,
        design: &Design,
        light: Light,
        conditions: &Conditions,
        seed: u64,
    ) -> Result<Capture, RenderError> {
        let channel = channel_of(light)?;
        let [capture] = self.captures(content, design, [channel], conditions, seed);
        Ok(capture)
    }

    /// The page set a reader takes of one placement, white, infrared and ultraviolet in that order: the ink
    /// layers are drawn once, and the page lies still on the glass (same place, same dirt) under every light.
    pub fn render_set(
        &self,
        content: &PageContent,
        design: &Design,
        conditions: &Conditions,
        seed: u64,
    ) -> [Capture; 3] {
        self.captures(content, design, [Channel::White, Channel::Infrared, Channel::Ultraviolet], conditions, seed)
    }

    fn background(&self, content: &PageContent) -> Arc<Mask> {
        let key = GuillocheKey::of(content, self.dpi);
        // Least recently used last out: a hit moves to the back, so the population's few models stay while a run
        // of one-off layouts (fantasy documents, each its own pattern) passes through the front.
        let cached = self.guilloche.lock().ok().and_then(|mut c| {
            let i = c.iter().position(|(k, _)| *k == key)?;
            let entry = c.remove(i);
            let map = Arc::clone(&entry.1);
            c.push(entry);
            Some(map)
        });
        cached.unwrap_or_else(|| {
            let map = Arc::new(guilloche(content.pattern_seed, &content.layout, self.dpi));
            if let Ok(mut cache) = self.guilloche.lock() {
                if cache.len() >= GUILLOCHE_CACHE {
                    cache.remove(0);
                }
                cache.push((key, Arc::clone(&map)));
            }
            map
        })
    }

    fn captures<const N: usize>(
        &self,
        content: &PageContent,
        design: &Design,
        channels: [Channel; N],
        conditions: &Conditions,
        seed: u64,
    ) -> [Capture; N] {
        let conditions = conditions.sanitised();
        let background = self.background(content);
        let mut scratch = self.scratch.lock().ok().and_then(|mut pool| pool.pop()).unwrap_or_default();
        let layers = Layers::draw(&self.fonts, content, background, self.dpi, &mut scratch);
        // Scratches, dirt and the lamps' tilt are the same under every light; the sensor noise is not.
        let mut page = compose(&layers, design, channels, conditions.wear * 0.35, std::mem::take(&mut scratch.page));
        layers.recycle(&mut scratch);
        wear_and_dirt(&mut page, &conditions, &mut rng_for(seed, b"marks"), self.dpi);
        page.seal();
        let tilt = {
            let mut marks = rng_for(seed, b"tilt");
            marks.random::<f32>() * 2.0 * PI
        };
        let mut rngs = channels.map(|c| rng_for(seed ^ (c as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15), b"sensor"));
        let mut images = place(&page, &content.layout, &conditions, tilt, &mut rngs, self.dpi).into_iter();
        scratch.page = page.data;
        if let Ok(mut pool) = self.scratch.lock() {
            pool.push(scratch);
        }
        channels.map(|channel| {
            let light = match channel {
                Channel::White => Light::White,
                Channel::Infrared => Light::Infrared,
                Channel::Ultraviolet => Light::Ultraviolet,
            };
            let image = images.next().unwrap_or_else(|| GrayImage::new(0, 0, 0));
            Capture { light, dpi: self.dpi.value(), image }
        })
    }
}

const GUILLOCHE_CACHE: usize = 16;

/// What a guilloche background depends on: the model's pattern seed, the page's size and where the pattern is
/// interrupted (portrait, MRZ zone), at one resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct GuillocheKey {
    pattern_seed: u64,
    dpi: u16,
    geometry: [u32; 7],
}

impl GuillocheKey {
    fn of(content: &PageContent, dpi: Dpi) -> GuillocheKey {
        let l = &content.layout;
        let p = l.portrait;
        GuillocheKey {
            pattern_seed: content.pattern_seed,
            dpi: dpi.value(),
            geometry: [l.width_mm, l.height_mm, l.mrz_zone.y, p.x, p.y, p.w, p.h].map(f32::to_bits),
        }
    }
}

fn channel_of(light: Light) -> Result<Channel, RenderError> {
    match light {
        Light::White => Ok(Channel::White),
        Light::Infrared => Ok(Channel::Infrared),
        Light::Ultraviolet => Ok(Channel::Ultraviolet),
        Light::Other(code) => Err(RenderError::UnsupportedLight(code)),
    }
}

/// The chip's DG2 portrait in grey (ITU-R BT.601 luma), from the one portrait generator
/// ([`placeholder_portrait_rgb`], which the chip issuer JPEG-encodes): the page prints the same picture.
pub fn portrait_grey(seed: u64) -> GrayImage {
    let (rgb, w, h) = placeholder_portrait_rgb(seed);
    let pixels = rgb
        .chunks_exact(3)
        .map(|p| ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]) + 500) / 1000) as u8)
        .collect();
    GrayImage { width: usize::from(w), height: usize::from(h), pixels }
}

/// What a data page shows. [`PageContent::of`] is what a genuine document prints (its own data, its chip's
/// portrait); an altered or forged page changes fields here, so that the page says something the chip does not.
#[derive(Clone, PartialEq)]
pub struct PageContent {
    pub layout: Layout,
    /// The header: the issuing state's name and the document's title.
    pub state_name: String,
    pub title: String,
    /// The code in the fluorescent emblem.
    pub emblem_code: String,
    /// Seeds the guilloche pattern: one per document model (the issuing state's), the same on all its pages.
    pub pattern_seed: u64,
    /// Seeds the fluorescent fibres, different on every sheet of paper.
    pub fibre_seed: u64,
    /// The personalised VIZ as (name, value) with the reader protocol's names (docs/docreader-protocol.md:
    /// `surname`, `birth_date` as `YYYY-MM-DD`, ...); the page prints dates as `DD MMM YYYY`.
    pub viz: Vec<(String, String)>,
    pub mrz_lines: Vec<String>,
    /// Printed in the portrait area, stretched to fill it.
    pub portrait: GrayImage,
}

impl std::fmt::Debug for PageContent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Personal data stays out of logs: counts and sizes only.
        f.debug_struct("PageContent")
            .field("format", &self.layout.format)
            .field("viz_fields", &self.viz.len())
            .field("mrz_lines", &self.mrz_lines.len())
            .field("portrait", &self.portrait)
            .finish_non_exhaustive()
    }
}

impl PageContent {
    /// The genuine page of `document`, whose chip was issued with portrait seed `document.id`
    /// (`DocumentSpec::seed` of khil-sim-mrtd).
    pub fn of(document: &TravelDocument) -> PageContent {
        PageContent::with_portrait(document, portrait_grey(document.id))
    }

    /// The genuine page of `document` with `portrait` printed on it.
    pub fn with_portrait(document: &TravelDocument, portrait: GrayImage) -> PageContent {
        let title = match document.kind {
            Kind::Passport => "PASSPORT",
            Kind::IdentityCard => "IDENTITY CARD",
            Kind::Visa => "VISA",
        };
        PageContent {
            layout: Layout::of(document.format),
            state_name: state_name(document.issuing_state).to_owned(),
            title: title.to_owned(),
            emblem_code: document.issuing_state.code().to_owned(),
            pattern_seed: document.issuing_state as u64,
            fibre_seed: document.id,
            viz: viz_fields(document),
            mrz_lines: document.mrz().lines,
            portrait,
        }
    }

    /// The value of VIZ field `name`, empty when the page has none.
    pub fn viz_value(&self, name: &str) -> &str {
        self.viz.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
    }

    /// Sets VIZ field `name` (adding it when missing).
    pub fn set_viz(&mut self, name: &str, value: String) {
        match self.viz.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => self.viz.push((name.to_owned(), value)),
        }
    }
}

/// The VIZ of `document` under the reader protocol's field names.
pub fn viz_fields(document: &TravelDocument) -> Vec<(String, String)> {
    let date = |d: CivilDate| format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    let mut fields = vec![
        ("document_code", document.document_code.clone()),
        ("issuing_state", document.issuing_state.code().to_owned()),
        ("document_number", document.document_number.clone()),
        ("surname", document.surname.clone()),
        ("given_names", document.given_names.clone()),
        ("nationality", document.nationality.code().to_owned()),
        ("birth_date", date(document.birth_date)),
        ("sex", document.sex.to_char().to_string()),
        ("issue_date", date(document.issue_date)),
        ("expiry_date", date(document.expiry_date)),
    ];
    if let Some(p) = &document.personal_number {
        fields.push(("personal_number", p.clone()));
    }
    fields.into_iter().map(|(n, v)| (n.to_owned(), v)).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    White,
    Infrared,
    Ultraviolet,
}

fn rng_for(seed: u64, label: &[u8]) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    let n = label.len().min(24);
    key[8..8 + n].copy_from_slice(&label[..n]);
    ChaCha8Rng::from_seed(key)
}

/// Ink coverage at page resolution, 0 none to 255 full: every layer is a mask (the portrait's darkness too, whose
/// source is 8-bit), and a byte per pixel is a quarter of the memory a float map moves through `compose`.
struct Mask {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl std::fmt::Debug for Mask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mask({}x{})", self.width, self.height)
    }
}

impl Mask {
    /// An empty mask in `buffer`'s memory (cleared: whatever a previous page left there is gone).
    fn blank_in(mut buffer: Vec<u8>, width: usize, height: usize) -> Mask {
        buffer.clear();
        buffer.resize(width * height, 0);
        Mask { width, height, data: buffer }
    }

    /// Adds coverage `c` (0..=1), saturating at full.
    fn cover(&mut self, x: i64, y: i64, c: f32) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            let v = &mut self.data[y as usize * self.width + x as usize];
            *v = v.saturating_add(coverage_byte(c));
        }
    }
}

/// Coverage 0..=1 as a mask byte, rounded.
fn coverage_byte(c: f32) -> u8 {
    (c.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

/// Buffers one render uses, kept by the [`Renderer`] between renders: the layers' masks (preprint, fields,
/// portrait, MRZ, fluorescent) and the composed page. Their contents mean nothing between renders.
#[derive(Default)]
struct Scratch {
    masks: [Vec<u8>; 5],
    page: Vec<f32>,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes = self.masks.iter().map(Vec::capacity).sum::<usize>() + self.page.capacity() * 4;
        write!(f, "Scratch({bytes} bytes)")
    }
}

/// A float map (the portrait's source picture, sampled bilinearly).
#[derive(Clone)]
struct Map {
    width: usize,
    height: usize,
    data: Vec<f32>,
}

impl std::fmt::Debug for Map {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Map({}x{})", self.width, self.height)
    }
}

impl Map {
    /// Bilinear sample at pixel coordinates (pixel centres at +0.5); `None` outside.
    fn sample(&self, x: f32, y: f32) -> Option<f32> {
        let (fx, fy) = (x - 0.5, y - 0.5);
        if fx < -0.5 || fy < -0.5 || fx > self.width as f32 - 0.5 || fy > self.height as f32 - 0.5 {
            return None;
        }
        // Floors (fx, fy >= -0.5) without a libm call per pixel.
        let (x0, y0) = (((fx + 1.0) as i64 - 1) as f32, ((fy + 1.0) as i64 - 1) as f32);
        let (tx, ty) = (fx - x0, fy - y0);
        let max_x = self.width as i64 - 1;
        let max_y = self.height as i64 - 1;
        let at = |x: i64, y: i64| self.data[y.clamp(0, max_y) as usize * self.width + x.clamp(0, max_x) as usize];
        let (x0, y0) = (x0 as i64, y0 as i64);
        let top = at(x0, y0) * (1.0 - tx) + at(x0 + 1, y0) * tx;
        let bottom = at(x0, y0 + 1) * (1.0 - tx) + at(x0 + 1, y0 + 1) * tx;
        Some(top * (1.0 - ty) + bottom * ty)
    }
}

/// The ink coverages of one page.
struct Layers {
    px_per_mm: f32,
    background: Arc<Mask>,
    preprint: Mask,
    fields: Mask,
    portrait: Mask,
    mrz: Mask,
    fluorescent: Mask,
}

impl Layers {
    /// Draws the page's layers in `scratch`'s masks (give them back with [`Layers::recycle`]).
    #[inline(never)] // a phase of its own in profiles
    fn draw(fonts: &Fonts, content: &PageContent, background: Arc<Mask>, dpi: Dpi, scratch: &mut Scratch) -> Layers {
        let layout = &content.layout;
        let k = dpi.px_per_mm();
        let width = (layout.width_mm * k).round() as usize;
        let height = (layout.height_mm * k).round() as usize;
        let [preprint, fields, portrait, mrz, fluorescent] =
            std::mem::take(&mut scratch.masks).map(|buffer| Mask::blank_in(buffer, width, height));
        let mut layers = Layers { px_per_mm: k, background, preprint, fields, portrait, mrz, fluorescent };
        layers.portrait(&content.portrait, layout);
        layers.viz(fonts, content);
        layers.mrz_lines(fonts, &content.mrz_lines, layout);
        layers.emblem(fonts, &content.emblem_code, layout);
        layers.fibres(content.fibre_seed, layout);
        layers
    }

    fn recycle(self, scratch: &mut Scratch) {
        scratch.masks = [self.preprint, self.fields, self.portrait, self.mrz, self.fluorescent].map(|m| m.data);
    }

    /// Fluorescent fibres in the paper: short curved threads at random places, different on every document
    /// (9303-2 App. A: invisible fluorescent fibres), so seeded by the document id.
    fn fibres(&mut self, id: u64, layout: &Layout) {
        let mut rng = rng_for(id, b"fibres");
        let k = self.px_per_mm;
        let count = (layout.width_mm * layout.height_mm / 200.0) as usize;
        for _ in 0..count {
            let (mut x, mut y) = (rng.random::<f32>() * layout.width_mm, rng.random::<f32>() * layout.height_mm);
            let mut heading = rng.random::<f32>() * 2.0 * PI;
            let bend = (rng.random::<f32>() - 0.5) * 0.6;
            let steps = ((2.0 + rng.random::<f32>() * 4.0) * k) as usize;
            for _ in 0..steps {
                self.fluorescent.cover((x * k) as i64, (y * k) as i64, 0.6);
                x += heading.cos() / k;
                y += heading.sin() / k;
                heading += bend / k;
            }
        }
    }

    /// The portrait picture, stretched to the portrait area (bilinear), printed as ink darkness.
    fn portrait(&mut self, picture: &GrayImage, layout: &Layout) {
        if picture.width == 0 || picture.height == 0 || picture.pixels.len() != picture.width * picture.height {
            return;
        }
        let source = Map {
            width: picture.width,
            height: picture.height,
            data: picture.pixels.iter().map(|&g| 1.0 - f32::from(g) / 255.0).collect(),
        };
        let r = layout.portrait;
        let k = self.px_per_mm;
        let (x0, y0) = ((r.x * k) as usize, (r.y * k) as usize);
        let (x1, y1) = (((r.x + r.w) * k) as usize, ((r.y + r.h) * k) as usize);
        let (sx, sy) = (picture.width as f32 / r.w, picture.height as f32 / r.h);
        for y in y0..y1.min(self.portrait.height) {
            for x in x0..x1.min(self.portrait.width) {
                let u = ((x as f32 + 0.5) / k - r.x) * sx;
                let v = ((y as f32 + 0.5) / k - r.y) * sy;
                self.portrait.data[y * self.portrait.width + x] = coverage_byte(source.sample(u, v).unwrap_or(0.0));
            }
        }
    }

    fn viz(&mut self, fonts: &Fonts, content: &PageContent) {
        let layout = &content.layout;
        let header_cap = layout.height_mm * 0.04;
        let x0 = layout.portrait.x;
        let k = self.px_per_mm;
        text(&mut self.preprint, k, &fonts.viz, &content.state_name, x0, layout.height_mm * 0.09, header_cap, None);
        let title_x = layout.width_mm * 0.62;
        text(&mut self.preprint, k, &fonts.viz, &content.title, title_x, layout.height_mm * 0.09, header_cap, None);
        let v = layout.viz;
        let row_h = v.h / 6.0;
        let label_cap = (row_h * 0.2).min(1.3);
        let value_cap = (row_h * 0.32).min(2.3);
        let col = v.w / 3.0;
        let field = |name: &str| content.viz_value(name).to_owned();
        let nationality = {
            let code = field("nationality");
            State::from_code(&code).map_or(code, |s| state_name(s).to_owned())
        };
        let rows: [&[(&str, String)]; 6] = [
            &[
                ("Type", field("document_code")),
                ("Code", field("issuing_state")),
                ("Document No.", field("document_number")),
            ],
            &[("Surname", field("surname"))],
            &[("Given names", field("given_names"))],
            &[("Nationality", nationality), ("", String::new()), ("Personal No.", field("personal_number"))],
            &[("Date of birth", viz_date(&field("birth_date"))), ("Sex", field("sex"))],
            &[
                ("Date of issue", viz_date(&field("issue_date"))),
                ("", String::new()),
                ("Date of expiry", viz_date(&field("expiry_date"))),
            ],
        ];
        for (i, row) in rows.iter().enumerate() {
            let top = v.y + i as f32 * row_h;
            for (j, (label, value)) in row.iter().enumerate() {
                let x = v.x + j as f32 * col;
                if !label.is_empty() {
                    text(&mut self.preprint, k, &fonts.viz, label, x, top + label_cap * 1.4, label_cap, None);
                }
                let value = value.replace('<', " ");
                let baseline = top + label_cap * 1.6 + value_cap * 1.3;
                text(&mut self.fields, k, &fonts.viz, &value, x, baseline, value_cap, None);
            }
        }
    }

    fn mrz_lines(&mut self, fonts: &Fonts, lines: &[String], layout: &Layout) {
        let n = lines.len();
        for (i, line) in lines.iter().enumerate() {
            let centre_from_bottom = layout.mrz_bottom_line_mm + (n - 1 - i) as f32 * MRZ_LINE_SPACING_MM;
            let baseline = layout.height_mm - centre_from_bottom + MRZ_CAP_HEIGHT_MM / 2.0;
            let k = self.px_per_mm;
            text(
                &mut self.mrz,
                k,
                &fonts.mrz,
                line,
                layout.mrz_left_mm,
                baseline,
                MRZ_CAP_HEIGHT_MM,
                Some(MRZ_PITCH_MM),
            );
        }
    }

    /// The fluorescent emblem: two rings and the state's code, at the model's fixed place.
    fn emblem(&mut self, fonts: &Fonts, code: &str, layout: &Layout) {
        let r = layout.uv_emblem;
        let k = self.px_per_mm;
        let (cx, cy) = (r.x + r.w / 2.0, r.y + r.h / 2.0);
        let (x0, y0) = ((r.x * k) as usize, (r.y * k) as usize);
        let (x1, y1) = (((r.x + r.w) * k) as usize, ((r.y + r.h) * k) as usize);
        for y in y0..y1.min(self.fluorescent.height) {
            for x in x0..x1.min(self.fluorescent.width) {
                let (dx, dy) = ((x as f32 + 0.5) / k - cx, (y as f32 + 0.5) / k - cy);
                // A square root, not `hypot` (a libm call per pixel; no overflow at these sizes).
                let d = (dx * dx + dy * dy).sqrt() / (r.w / 2.0);
                let ring = |at: f32, half: f32| ((half - (d - at).abs()) * r.w * k * 0.5).clamp(0.0, 1.0);
                let c = ring(0.92, 0.06) + ring(0.72, 0.03);
                self.fluorescent.cover(x as i64, y as i64, c);
            }
        }
        let cap = r.h * 0.28;
        let width = text_width(&fonts.viz, code, cap);
        text(&mut self.fluorescent, k, &fonts.viz, code, cx - width / 2.0, cy + cap / 2.0, cap, None);
    }
}

/// The state as its pages name it (in English; pages carry the national language too, not drawn here).
fn state_name(state: State) -> &'static str {
    match state {
        State::Mongolia => "MONGOLIA",
        State::China => "CHINA",
        State::Russia => "RUSSIAN FEDERATION",
        State::Korea => "REPUBLIC OF KOREA",
        State::Kazakhstan => "KAZAKHSTAN",
        State::Germany => "GERMANY",
        State::Utopia => "UTOPIA",
    }
}

/// A VIZ date (`YYYY-MM-DD`) as many states print it: `DD MMM YYYY` with the English month abbreviation
/// (9303-3 §3.8 gives the day-month-year order; the exact forms it allows were not checked here). Anything else
/// is printed as it is.
fn viz_date(value: &str) -> String {
    const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    let parts: Vec<&str> = value.split('-').collect();
    if let [y, m, d] = parts[..]
        && let (Ok(y), Ok(m), Ok(d)) = (y.parse::<u16>(), m.parse::<usize>(), d.parse::<u8>())
        && let Some(month) = MONTHS.get(m.wrapping_sub(1))
    {
        return format!("{d:02} {month} {y}");
    }
    value.to_owned()
}

/// The scale at which `font`'s capital H is `cap_mm` high, in pixels at `px_per_mm`.
fn scale_for_cap(font: &FontVec, cap_mm: f32, px_per_mm: f32) -> PxScale {
    let cap_units = font
        .outline(font.glyph_id('H'))
        .map(|o| (o.bounds.max.y - o.bounds.min.y).abs())
        .filter(|h| *h > 0.0)
        .unwrap_or(font.units_per_em().unwrap_or(1000.0) * 0.7);
    PxScale::from(cap_mm * px_per_mm * font.height_unscaled() / cap_units)
}

fn text_width(font: &FontVec, s: &str, cap_mm: f32) -> f32 {
    // Measured at 1 px per mm: the result is in millimetres.
    let scaled = font.as_scaled(scale_for_cap(font, cap_mm, 1.0));
    s.chars().map(|c| scaled.h_advance(font.glyph_id(c))).sum()
}

/// Draws `s` with its baseline at `baseline_mm`, starting at `x_mm`; with `pitch_mm`, every character is centred
/// in its own cell of that width (OCR-B's fixed pitch).
#[allow(clippy::too_many_arguments)] // a text call: where, how big, which font, on which layer
fn text(
    map: &mut Mask,
    k: f32,
    font: &FontVec,
    s: &str,
    x_mm: f32,
    baseline_mm: f32,
    cap_mm: f32,
    pitch_mm: Option<f32>,
) {
    let scale = scale_for_cap(font, cap_mm, k);
    let scaled = font.as_scaled(scale);
    let mut pen = x_mm * k;
    let mut previous = None;
    for c in s.chars() {
        let id = font.glyph_id(c);
        let advance = scaled.h_advance(id);
        let origin = if let Some(p) = pitch_mm {
            pen + (p * k - advance) / 2.0
        } else {
            if let Some(prev) = previous {
                pen += scaled.kern(prev, id);
            }
            pen
        };
        let glyph = id.with_scale_and_position(scale, point(origin, baseline_mm * k));
        if let Some(outlined) = font.outline_glyph(glyph) {
            let b = outlined.px_bounds();
            outlined.draw(|gx, gy, cov| map.cover(b.min.x as i64 + i64::from(gx), b.min.y as i64 + i64::from(gy), cov));
        }
        pen += pitch_mm.map_or(advance, |p| p * k);
        previous = Some(id);
    }
}

/// A guilloche-like background of fine sine lines (0.1 mm), a pattern of the issuing state's document model
/// (the same on every document of the state), interrupted in the portrait and the MRZ zone as on most pages.
/// Drawn a row at a time, one line family at a time, in straight float arithmetic the compiler vectorises (no
/// table, no branch): a fantasy document draws its own pattern on every page, and its time is the tail of the
/// render times.
#[inline(never)] // a phase of its own in profiles
fn guilloche(pattern_seed: u64, layout: &Layout, dpi: Dpi) -> Mask {
    let mut rng = rng_for(pattern_seed, b"guilloche");
    let families: Vec<[f32; 6]> = (0..3)
        .map(|i| {
            let spacing = 0.9 + rng.random::<f32>() * 0.6;
            let amplitude = 1.5 + rng.random::<f32>() * 3.0;
            let wavelength = 12.0 + rng.random::<f32>() * 20.0;
            let phase = rng.random::<f32>() * 2.0 * PI;
            let angle = (i as f32) * PI / 3.0 + rng.random::<f32>() * 0.3;
            let (s, co) = angle.sin_cos();
            // The wave's argument in turns, for `sin_turns`.
            [spacing, amplitude, 1.0 / wavelength, phase / (2.0 * PI), s, co]
        })
        .collect();
    let k = dpi.px_per_mm();
    let (width, height) = ((layout.width_mm * k).round() as usize, (layout.height_mm * k).round() as usize);
    let mut mask = Mask::blank_in(Vec::new(), width, height);
    let half_line = 0.05;
    let centres: Vec<f32> = (0..width).map(|x| (x as f32 + 0.5) / k).collect();
    let p = layout.portrait;
    let portrait_columns = {
        let first = centres.iter().position(|&x| x >= p.x).unwrap_or(width);
        let end = centres.iter().position(|&x| x >= p.x + p.w).unwrap_or(width);
        first..end.max(first)
    };
    let mut sum = vec![0.0f32; width];
    for y in 0..height {
        let ym = (y as f32 + 0.5) / k;
        if ym >= layout.mrz_zone.y {
            break;
        }
        sum.fill(0.0);
        for &[spacing, amplitude, turns_per_mm, phase, s, co] in &families {
            let (along, across, per_spacing) = (ym * s, ym * co, 1.0 / spacing);
            for (c, &xm) in sum.iter_mut().zip(&centres) {
                let u = xm * co + along;
                let v = -xm * s + across;
                let t = (v + amplitude * sin_turns(u * turns_per_mm + phase)) * per_spacing;
                let d = (t - round_small(t)).abs() * spacing;
                *c += ((half_line - d) * k + 0.5).clamp(0.0, 1.0);
            }
        }
        let row = &mut mask.data[y * width..(y + 1) * width];
        for (out, &c) in row.iter_mut().zip(&sum) {
            *out = byte_of(c.min(1.0) * 255.0);
        }
        if ym >= p.y && ym < p.y + p.h {
            row[portrait_columns.clone()].fill(0);
        }
    }
    mask
}

/// `v` (0..=255) rounded to a byte: after adding 2^23 the float's low mantissa bits are the rounded integer. A
/// bit cast and a truncation, which vectorise, where `as u8` (saturating) converts one float at a time.
fn byte_of(v: f32) -> u8 {
    (v + 8_388_608.0).to_bits() as u8
}

/// `v` rounded to an integer, for |v| < 2^22: adding and taking away 1.5 * 2^23 leaves no fraction bits (two
/// float additions, which vectorise; the default x86-64 target has no rounding instruction).
fn round_small(v: f32) -> f32 {
    const SHIFT: f32 = 12_582_912.0;
    (v + SHIFT) - SHIFT
}

/// sin(2 pi `turns`) for |turns| < 2^21: reduced to a quarter turn around zero, then its Taylor polynomial to
/// the 9th power (error below 4e-6, far under a grey level or a thousandth of a millimetre of line).
fn sin_turns(turns: f32) -> f32 {
    let r = turns - round_small(turns);
    // sin(pi - a) = sin(a): fold -0.5..=0.5 turns into -0.25..=0.25.
    let r = if r > 0.25 {
        0.5 - r
    } else if r < -0.25 {
        -0.5 - r
    } else {
        r
    };
    let a = r * 2.0 * PI;
    let a2 = a * a;
    a * (1.0 + a2 * (-1.0 / 6.0 + a2 * (1.0 / 120.0 + a2 * (-1.0 / 5040.0 + a2 * (1.0 / 362_880.0)))))
}

/// The composed page: reflectance (white, IR) or emission (UV), 0..1, of every light side by side per pixel
/// (`N` floats a pixel), so that one bilinear read in [`place`] serves all lights. A border of one pixel repeats
/// the edge (filled by [`Composed::seal`]): a read at the page's edge is then the edge-clamped read without a
/// clamp per pixel.
struct Composed<const N: usize> {
    width: usize,
    height: usize,
    /// `(width + 2) x (height + 2)` pixels, the page at (1, 1).
    data: Vec<f32>,
}

impl<const N: usize> Composed<N> {
    /// Pixels per row, border included.
    fn stride(&self) -> usize {
        self.width + 2
    }

    /// The page pixel (x, y), which must be on the page.
    fn at_mut(&mut self, x: usize, y: usize) -> &mut [f32] {
        let i = ((y + 1) * self.stride() + x + 1) * N;
        &mut self.data[i..i + N]
    }

    /// Copies the page's edge into the border, after the last change to the page.
    fn seal(&mut self) {
        let (row_len, h) = (self.stride() * N, self.height);
        for y in 1..=h {
            let row = &mut self.data[y * row_len..(y + 1) * row_len];
            row.copy_within(N..2 * N, 0);
            row.copy_within(row_len - 2 * N..row_len - N, row_len - N);
        }
        self.data.copy_within(row_len..2 * row_len, 0);
        self.data.copy_within(h * row_len..(h + 1) * row_len, (h + 1) * row_len);
    }
}

/// The page under each of `channels`, before wear and placement (the layers are read once for all of them),
/// in `buffer`'s memory. Every pixel is written here or by [`Composed::seal`], so the buffer is not cleared.
#[inline(never)] // a phase of its own in profiles
fn compose<const N: usize>(
    layers: &Layers,
    design: &Design,
    channels: [Channel; N],
    fading: f32,
    mut buffer: Vec<f32>,
) -> Composed<N> {
    let keep = 1.0 - fading;
    let absorb = |ink: &Ink, channel: Channel| match channel {
        Channel::White => ink.white,
        Channel::Infrared => ink.infrared,
        // Under UV the visible inks still absorb the substrate's (and the fluorescent ink's) light.
        Channel::Ultraviolet => ink.white * 0.6,
    };
    // Per channel: the paper's level, the glow, and each ink's absorbance (scaled by fading) in layer order,
    // both per mask step (coverage 255 is full).
    let step = 1.0 / 255.0;
    let params: [(f32, f32, [f32; 5]); N] = channels.map(|channel| {
        let base = match channel {
            Channel::White => design.substrate.white,
            Channel::Infrared => design.substrate.infrared,
            Channel::Ultraviolet => design.substrate.ultraviolet,
        };
        let glow = match channel {
            Channel::Ultraviolet => design.fluorescent.ultraviolet * keep,
            Channel::White | Channel::Infrared => 0.0,
        };
        let inks = [&design.background, &design.preprint, &design.fields, &design.portrait, &design.mrz]
            .map(|ink| absorb(ink, channel) * keep * step);
        (base, glow * step, inks)
    });
    let (width, height) = (layers.mrz.width, layers.mrz.height);
    buffer.resize((width + 2) * (height + 2) * N, 0.0);
    let mut out = Composed { width, height, data: buffer };
    let row_len = out.stride() * N;
    for y in 0..height {
        let row = y * width..(y + 1) * width;
        let maps = [&layers.background, &layers.preprint, &layers.fields, &layers.portrait, &layers.mrz]
            .map(|m| &m.data[row.clone()]);
        let fluorescent = &layers.fluorescent.data[row.clone()];
        let start = (y + 1) * row_len + N;
        let target = &mut out.data[start..start + width * N];
        for (x, o) in target.chunks_exact_mut(N).enumerate() {
            let cover = maps.map(|m| f32::from(m[x]));
            let glowing = f32::from(fluorescent[x]);
            for (v, (base, glow, inks)) in o.iter_mut().zip(&params) {
                let mut r = base + glow * glowing;
                for (c, a) in cover.iter().zip(inks) {
                    r *= 1.0 - c * a;
                }
                *v = r.clamp(0.0, 1.0);
            }
        }
    }
    out
}

/// Laminate scratches (light streaks) and dirt spots (dark blotches), drawn on the page (the same under every
/// light).
#[inline(never)] // a phase of its own in profiles
fn wear_and_dirt<const N: usize>(page: &mut Composed<N>, c: &Conditions, rng: &mut ChaCha8Rng, dpi: Dpi) {
    let k = dpi.px_per_mm();
    let (w_mm, h_mm) = (page.width as f32 / k, page.height as f32 / k);
    let scratches = (c.wear * 12.0).round() as usize;
    for _ in 0..scratches {
        let (x0, y0) = (rng.random::<f32>() * w_mm, rng.random::<f32>() * h_mm);
        let angle = rng.random::<f32>() * PI;
        let len = 5.0 + rng.random::<f32>() * 30.0;
        let strength = 0.15 + rng.random::<f32>() * 0.25;
        let steps = (len * k) as usize;
        for s in 0..steps {
            let t = s as f32 / k;
            let (x, y) = (((x0 + t * angle.cos()) * k) as i64, ((y0 + t * angle.sin()) * k) as i64);
            if x >= 0 && y >= 0 && (x as usize) < page.width && (y as usize) < page.height {
                for v in page.at_mut(x as usize, y as usize) {
                    *v = (*v + strength).min(1.0);
                }
            }
        }
    }
    let spots = (c.dirt * 25.0).round() as usize;
    for _ in 0..spots {
        let (cx, cy) = (rng.random::<f32>() * w_mm, rng.random::<f32>() * h_mm);
        let radius = 0.3 + rng.random::<f32>() * 2.5;
        let darkness = 0.1 + rng.random::<f32>() * 0.4 * c.dirt;
        let (x0, x1) = (((cx - radius) * k).max(0.0) as usize, (((cx + radius) * k) as usize).min(page.width));
        let (y0, y1) = (((cy - radius) * k).max(0.0) as usize, (((cy + radius) * k) as usize).min(page.height));
        for y in y0..y1 {
            for x in x0..x1 {
                let (dx, dy) = ((x as f32 + 0.5) / k - cx, (y as f32 + 0.5) / k - cy);
                let d = (dx * dx + dy * dy).sqrt() / radius;
                if d < 1.0 {
                    let keep = 1.0 - darkness * (1.0 - d * d);
                    for v in page.at_mut(x, y) {
                        *v *= keep;
                    }
                }
            }
        }
    }
}

/// Fixed-point position on the page: 16 fraction bits. Stepping along a capture row adds a constant, and the
/// integer part and fraction of a read come from a shift and a mask (no float floor, no clamp).
const FIX: f64 = 65536.0;

/// The reader's captures of one placement: the page shifted and rotated on the glass, seen against the reader's
/// dark lid, with uneven lamps, gain, black level and sensor noise, one image per light of the composed page.
/// The geometry is computed once for all lights, and each light has its own sensor noise from its own `rngs`.
#[inline(never)] // a phase of its own in profiles
fn place<const N: usize>(
    page: &Composed<N>,
    layout: &Layout,
    c: &Conditions,
    tilt: f32,
    rngs: &mut [ChaCha8Rng; N],
    dpi: Dpi,
) -> [GrayImage; N] {
    let k = dpi.px_per_mm();
    let width = ((layout.width_mm + 2.0 * READER_MARGIN_MM) * k).round() as usize;
    let height = ((layout.height_mm + 2.0 * READER_MARGIN_MM) * k).round() as usize;
    // Filled row by row below: no zeroed image first.
    let mut images: [Vec<u8>; N] = std::array::from_fn(|_| Vec::with_capacity(width * height));
    let (sin, cos) = f64::from(c.rotation_deg).to_radians().sin_cos();
    // The page's centre lands at the window's centre plus the shift; invert that map for each capture pixel.
    let (pcx, pcy) = (page.width as f64 / 2.0, page.height as f64 / 2.0);
    let (wcx, wcy) =
        (width as f64 / 2.0 + f64::from(c.shift_mm.0 * k), height as f64 / 2.0 + f64::from(c.shift_mm.1 * k));
    let lid = 0.1;
    let noise_sigma = 1.5 + c.wear * 6.0;
    let (tx, ty) = (tilt.cos(), tilt.sin());
    let diagonal = (width as f32).hypot(height as f32) / 2.0;
    let normal = normal_table();
    let stride = page.stride();
    // A read (x0, y0) with x0 in -1..width, y0 in -1..height (the border) and both fractions; beyond that the
    // capture pixel sees the lid. Limits in fixed point: the page spans -0.5..=size - 0.5 around pixel centres.
    let (max_x, max_y) = ((page.width as i64) << 16, (page.height as i64) << 16);
    let half = 1i64 << 15;
    let step = ((cos * FIX).round() as i64, (-sin * FIX).round() as i64);
    let data = &page.data;
    // Per row: first where each capture pixel reads the page (one bilinear read for every light), then per light
    // the noise and the lamp over the whole row (straight loops over slices, which the compiler vectorises).
    let mut reads: [Vec<f32>; N] = std::array::from_fn(|_| vec![lid; width]);
    let mut noise = vec![0.0f32; width];
    for y in 0..height {
        let dy = y as f64 + 0.5 - wcy;
        let dx0 = 0.5 - wcx;
        // The read position of capture pixel 0 of this row, less the half pixel to the page's pixel centres.
        let fx0 = ((cos * dx0 + sin * dy + pcx - 0.5) * FIX).round() as i64;
        let fy0 = ((-sin * dx0 + cos * dy + pcy - 0.5) * FIX).round() as i64;
        // The pixels that see the page are one run along the row (the read moves in a straight line).
        let on_page = {
            let (xs, ys) =
                (reads_within(fx0, step.0, -half, max_x - half), reads_within(fy0, step.1, -half, max_y - half));
            let (start, end) = (xs.start.max(ys.start).min(width as i64), xs.end.min(ys.end).min(width as i64));
            start.max(0) as usize..end.max(start).max(0) as usize
        };
        for r in &mut reads {
            r[..on_page.start].fill(lid);
            r[on_page.end..].fill(lid);
        }
        for x in on_page {
            let (fx, fy) = (fx0 + x as i64 * step.0, fy0 + x as i64 * step.1);
            let (col, row) = (((fx >> 16) + 1) as usize, ((fy >> 16) + 1) as usize);
            let (wx, wy) = ((fx & 0xFFFF) as f32 / 65536.0, (fy & 0xFFFF) as f32 / 65536.0);
            let i = (row * stride + col) * N;
            let j = i + stride * N;
            let (a, b, cc, d) = (&data[i..i + N], &data[i + N..i + 2 * N], &data[j..j + N], &data[j + N..j + 2 * N]);
            for (n, r) in reads.iter_mut().enumerate() {
                let top = a[n] + (b[n] - a[n]) * wx;
                let bottom = cc[n] + (d[n] - cc[n]) * wx;
                r[x] = top + (bottom - top) * wy;
            }
        }
        // The lamp's light is linear along the row.
        let lamp = |x: f32| {
            let along = ((x - width as f32 / 2.0) * tx + (y as f32 - height as f32 / 2.0) * ty) / diagonal;
            (1.0 - c.unevenness * (along + 1.0) / 2.0) * c.gain * 255.0
        };
        let (l0, dl) = (lamp(0.0), lamp(1.0) - lamp(0.0));
        for ((image, rng), read) in images.iter_mut().zip(rngs.iter_mut()).zip(&reads) {
            // Five 12-bit indices into the normal table per 64 random bits.
            for five in noise.chunks_mut(5) {
                let mut word = rng.random::<u64>();
                for z in five {
                    *z = normal[(word & 0xFFF) as usize] * noise_sigma;
                    word >>= 12;
                }
            }
            image.resize((y + 1) * width, 0);
            let row = &mut image[y * width..];
            for (x, ((out, r), z)) in row.iter_mut().zip(read).zip(&noise).enumerate() {
                let v = r * (l0 + x as f32 * dl) + c.offset + z;
                *out = byte_of(v.clamp(0.0, 255.0));
            }
        }
    }
    images.map(|pixels| GrayImage { width, height, pixels })
}

/// The pixels x (from 0, unbounded above) whose read `start + x * step` lies in `lo..=hi`: a run, as the read
/// moves in a straight line (empty when there is none).
fn reads_within(start: i64, step: i64, lo: i64, hi: i64) -> std::ops::Range<i64> {
    let ceil_div = |a: i64, b: i64| -((-a).div_euclid(b));
    let (first, end) = match step.cmp(&0) {
        std::cmp::Ordering::Equal if (lo..=hi).contains(&start) => (0, i64::MAX),
        std::cmp::Ordering::Equal => (0, 0),
        std::cmp::Ordering::Greater => (ceil_div(lo - start, step), (hi - start).div_euclid(step) + 1),
        std::cmp::Ordering::Less => (ceil_div(start - hi, -step), (start - lo).div_euclid(-step) + 1),
    };
    let first = first.max(0);
    first..end.max(first)
}
/// 4,096 standard normal values (Box-Muller from a fixed seed; 16 KB, in the L1 cache): sensor noise draws
/// from them with 12 random bits, far cheaper per pixel than a logarithm and a square root.
fn normal_table() -> &'static [f32; 4096] {
    static TABLE: std::sync::OnceLock<[f32; 4096]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rng = rng_for(0, b"normal table");
        let mut t = [0.0; 4096];
        for pair in t.chunks_exact_mut(2) {
            (pair[0], pair[1]) = gaussian_pair(&mut rng);
        }
        t
    })
}

/// Two independent standard normal values (Box-Muller; rand 0.10 has no normal distribution of its own).
fn gaussian_pair(rng: &mut ChaCha8Rng) -> (f32, f32) {
    let u1 = rng.random::<f32>().max(f32::MIN_POSITIVE);
    let u2 = rng.random::<f32>();
    let r = (-2.0 * u1.ln()).sqrt();
    (r * (2.0 * PI * u2).cos(), r * (2.0 * PI * u2).sin())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The run `place` reads the page in is exactly the pixels whose read is in bounds.
        #[test]
        fn reads_within_is_the_pixels_in_bounds(
            start in -300_000i64..300_000,
            step in prop_oneof![Just(0i64), -70_000i64..70_000],
            lo in -100_000i64..100_000,
            len in 0i64..400_000,
        ) {
            let hi = lo + len;
            let run = reads_within(start, step, lo, hi);
            for x in 0..200i64 {
                let inside = (lo..=hi).contains(&(start + x * step));
                prop_assert_eq!(run.contains(&x), inside, "x {} run {:?}", x, run);
            }
        }
    }

    #[test]
    fn byte_of_rounds() {
        for i in 0..=25_500u32 {
            let v = i as f32 / 100.0;
            let b = byte_of(v);
            assert!((f32::from(b) - v).abs() <= 0.5, "{v} -> {b}");
        }
        assert_eq!(byte_of(f32::NAN.clamp(0.0, 255.0)), 0);
    }

    #[test]
    fn sin_turns_follows_the_sine() {
        for i in -4000..=4000 {
            let turns = i as f32 / 997.0;
            let exact = (f64::from(turns) * 2.0 * std::f64::consts::PI).sin() as f32;
            assert!((sin_turns(turns) - exact).abs() < 2e-5, "turns {turns}: {} vs {exact}", sin_turns(turns));
        }
    }
}
