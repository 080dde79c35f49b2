//! What lies on the reader's glass. The reader ([`crate::device`]) knows nothing of how a document was made
//! (genuine, forged, worn): it asks a [`PlacedDocument`] for what its OCR reads and what its camera sees.
//! [`PopulationDocument`] is a document of the synthetic population printed with a [`Design`]; a forged
//! specimen implements the same trait.

use std::sync::Arc;

use khil_docreader::{Light, VizField};
use khil_sim_population::documents::TravelDocument;

use crate::page::{Capture, Conditions, Design, RenderError, Renderer};

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

/// A document of the synthetic population printed with `design`, lying on the glass under `conditions`.
pub struct PopulationDocument {
    renderer: Arc<Renderer>,
    document: TravelDocument,
    design: Design,
    conditions: Conditions,
    seed: u64,
}

impl std::fmt::Debug for PopulationDocument {
    // The document's Debug shows no personal data; nor does this.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PopulationDocument").field("document", &self.document).finish_non_exhaustive()
    }
}

impl PopulationDocument {
    /// `seed` drives the capture's noise, scratches and dirt: the same arguments give the same pixels.
    pub fn new(
        renderer: Arc<Renderer>,
        document: TravelDocument,
        design: Design,
        conditions: Conditions,
        seed: u64,
    ) -> PopulationDocument {
        PopulationDocument { renderer, document, design, conditions, seed }
    }

    pub fn document(&self) -> &TravelDocument {
        &self.document
    }
}

impl PlacedDocument for PopulationDocument {
    fn mrz_lines(&self) -> Vec<String> {
        self.document.mrz().lines
    }

    fn viz_fields(&self) -> Option<Vec<VizField>> {
        let d = &self.document;
        let field = |name: &str, value: String| VizField { name: name.to_owned(), value };
        let mut fields = vec![
            field("document_code", d.document_code.clone()),
            field("issuing_state", d.issuing_state.code().to_owned()),
            field("surname", d.surname.clone()),
            field("given_names", d.given_names.clone()),
            field("document_number", d.document_number.clone()),
            field("nationality", d.nationality.code().to_owned()),
            field("birth_date", d.birth_date.to_string()),
            field("sex", d.sex.to_char().to_string()),
            field("issue_date", d.issue_date.to_string()),
            field("expiry_date", d.expiry_date.to_string()),
        ];
        if let Some(p) = &d.personal_number {
            fields.push(field("personal_number", p.clone()));
        }
        Some(fields)
    }

    fn capture(&self, light: Light) -> Result<Capture, RenderError> {
        self.renderer.render_with(&self.document, &self.design, light, &self.conditions, self.seed)
    }
}
