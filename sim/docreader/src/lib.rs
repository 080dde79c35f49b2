//! The document reader simulator (issue #14): data pages of the documents `khil-sim-population` issues, as a
//! page reader captures them under white, infrared and ultraviolet light.
//!
//! - [`fonts`]: the OCR-B (MRZ) and DejaVu Sans (VIZ) fonts, read from Debian's font packages at run time.
//! - [`page`]: the renderer: ICAO 9303-3/4 page geometry, inks and substrate per light, wear, dirt, lighting and
//!   placement, all seeded (pure logic: the fonts are the only input read from disk, by [`fonts`]).

pub mod fonts;
pub mod page;

pub use fonts::{FontError, FontPaths, Fonts};
pub use page::{Capture, Conditions, Design, Dpi, Ink, Layout, RectMm, RenderError, Renderer, Substrate};
