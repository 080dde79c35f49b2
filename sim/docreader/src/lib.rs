//! The document reader simulator (issue #14): data pages of the documents `khil-sim-population` issues, as a
//! page reader captures them under white, infrared and ultraviolet light, and the reader that serves them.
//!
//! - [`fonts`]: the OCR-B (MRZ) and DejaVu Sans (VIZ) fonts, read from Debian's font packages at run time.
//! - [`page`]: the renderer: ICAO 9303-3/4 page geometry, inks and substrate per light, wear, dirt, lighting and
//!   placement, all seeded (pure logic: the fonts are the only input read from disk, by [`fonts`]); a
//!   [`page::PageContent`] says what a page prints, which an altered page changes.
//! - [`forgery`]: the forgery catalogue: genuine and fraudulent specimens (chip content, page content, materials,
//!   conditions, ground truth) in a development and a held-out parameter space.
//! - [`document`]: [`PlacedDocument`], what lies on the glass (the reader knows nothing else of a document), and
//!   [`PopulationDocument`], a population document printed with a [`Design`].
//! - [`device`]: the reader's state machine (pure): khil's channel answered frame by frame, DocumentPresent and
//!   DocumentRemoved, the RTE native block of each read.
//! - [`faults`]: the reader's protocol faults, for the conformance suite to catch.
//! - [`serve`]: both channels over `khil-sim-host` links; [`sim`]: `khil sim docreader`, `sim:docreader?...`,
//!   the console and scenario files.

pub mod device;
pub mod document;
pub mod faults;
pub mod fonts;
pub mod forgery;
pub mod page;
pub mod serve;
pub mod sim;

pub use device::{Reader, ReaderConfig};
pub use document::{PlacedDocument, PopulationDocument};
pub use faults::ReaderFault;
pub use fonts::{FontError, FontPaths, Fonts};
pub use forgery::{Catalogue, ChipContent, FraudClass, ParameterSpace, Specimen};
pub use page::{
    Capture, Conditions, Design, Dpi, Ink, Layout, PageContent, RectMm, RenderError, Renderer, Substrate, portrait_grey,
};
pub use serve::{DocReaderSim, RteChannel};
pub use sim::SIMULATOR;
