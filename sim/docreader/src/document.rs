//! What lies on the reader's glass. The reader ([`crate::device`]) knows nothing of how a document was made
//! (genuine, forged, worn): it asks a [`PlacedDocument`] for what its OCR reads and what its camera sees.
//! [`PopulationDocument`] is a document of the synthetic population printed with a [`Design`]; a forged
//! specimen implements the same trait.

use std::sync::Arc;

use khil_docreader::{Light, VizField};
use khil_sim_population::documents::TravelDocument;

use crate::forgery::Specimen;
use crate::page::{Capture, Conditions, Design, PageContent, RenderError, Renderer};

/// A document lying on the reader's glass.
///
/// The reader calls these while the document lies there, as often as the host asks (it keeps nothing but what a
/// capture returned for one placement), from any thread. None of them may do I/O beyond what was loaded before
/// the document was placed.
pub trait PlacedDocument: Send + Sync {
    /// The MRZ lines the reader's OCR reads, top first, without padding (`A-Z 0-9 <`); empty when it reads none
    /// (no MRZ, or one it cannot read). At most three lines of at most 44 characters: a line outside the RTE
    /// block's limits is not sent on the RTE channel.
    fn mrz_lines(&self) -> Vec<String>;

    /// The visual inspection zone as the reader reads it, named as `docs/docreader-protocol.md` says
    /// (`surname`, `birth_date` as `YYYY-MM-DD`, ...); `None` when the reader cannot read this document's VIZ
    /// (the host gets Error 0008).
    fn viz_fields(&self) -> Option<Vec<VizField>>;

    /// The page under `light` as the reader's camera sees it: the page and the glass around it, at the reader's
    /// resolution (the renderer's [`Capture`]). The reader fits it into its scanning window. An error is a failed
    /// capture (Error 0007).
    fn capture(&self, light: Light) -> Result<Capture, RenderError>;
}

/// A printed page on the glass: what it shows ([`PageContent`]), what it is printed with ([`Design`]), how it lies
/// ([`Conditions`]) and the seed of the capture's noise. Made from a population document (genuine content) or
/// from a forgery catalogue [`Specimen`] (content and materials as the forger made them).
pub struct PopulationDocument {
    renderer: Arc<Renderer>,
    content: PageContent,
    design: Design,
    conditions: Conditions,
    seed: u64,
}

impl std::fmt::Debug for PopulationDocument {
    // The content's Debug shows no personal data; nor does this.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PopulationDocument").field("content", &self.content).finish_non_exhaustive()
    }
}

impl PopulationDocument {
    /// The genuine page of `document` printed with `design`. `seed` drives the capture's noise, scratches and
    /// dirt: the same arguments give the same pixels.
    pub fn new(
        renderer: Arc<Renderer>,
        document: &TravelDocument,
        design: Design,
        conditions: Conditions,
        seed: u64,
    ) -> PopulationDocument {
        PopulationDocument { renderer, content: PageContent::of(document), design, conditions, seed }
    }

    /// The page of a catalogue specimen, as the forger printed it and as the catalogue lays it on the glass.
    pub fn specimen(renderer: Arc<Renderer>, specimen: &Specimen) -> PopulationDocument {
        PopulationDocument {
            renderer,
            content: specimen.page.clone(),
            design: specimen.design,
            conditions: specimen.conditions,
            seed: specimen.capture_seed,
        }
    }

    pub fn content(&self) -> &PageContent {
        &self.content
    }
}

impl PlacedDocument for PopulationDocument {
    fn mrz_lines(&self) -> Vec<String> {
        self.content.mrz_lines.clone()
    }

    fn viz_fields(&self) -> Option<Vec<VizField>> {
        Some(
            self.content
                .viz
                .iter()
                .map(|(name, value)| VizField { name: name.clone(), value: value.clone() })
                .collect(),
        )
    }

    fn capture(&self, light: Light) -> Result<Capture, RenderError> {
        self.renderer.render_content(&self.content, &self.design, light, &self.conditions, self.seed)
    }
}
