//! The examination's result: every check with its state, measured value, threshold and region, and a decision.

use serde::Serialize;

use crate::model::{ModelKey, RoutineLight};

/// A check's state (9303-2 C.33: successful, failed, undetermined / not performed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckState {
    Pass,
    Fail,
    /// Could not be performed: an input is missing or unusable (the note says which).
    Unable,
}

/// Which check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckId {
    /// The page found in the white capture, whole.
    PageLocation,
    /// The document model known for the MRZ's issuer, type and format.
    DocumentModel,
    /// The page's measured size against the model's.
    PageSize,
    /// MRZ structure and check digits (khil_mrtd::mrz).
    MrzValidity,
    MrzVsViz,
    MrzVsChip,
    ChipAuthentication,
    /// Page portrait against DG2: image similarity, not face recognition.
    PortraitVsChip,
    /// (UV,BR,FU): the substrate is UV-dull.
    UvSubstrate,
    /// (UV,LU,AF): the fluorescent emblem glows at its place.
    UvFeature,
    /// (IR,AB,MR): the MRZ absorbs infrared (B900).
    IrMrzAbsorption,
    /// (IR,TR,VZ): the VIZ ink drops out in infrared.
    IrVizDropout,
    LostStolen,
    Validity,
}

impl CheckId {
    /// A stable name (the serde name).
    pub fn name(self) -> &'static str {
        match self {
            CheckId::PageLocation => "page-location",
            CheckId::DocumentModel => "document-model",
            CheckId::PageSize => "page-size",
            CheckId::MrzValidity => "mrz-validity",
            CheckId::MrzVsViz => "mrz-vs-viz",
            CheckId::MrzVsChip => "mrz-vs-chip",
            CheckId::ChipAuthentication => "chip-authentication",
            CheckId::PortraitVsChip => "portrait-vs-chip",
            CheckId::UvSubstrate => "uv-substrate",
            CheckId::UvFeature => "uv-feature",
            CheckId::IrMrzAbsorption => "ir-mrz-absorption",
            CheckId::IrVizDropout => "ir-viz-dropout",
            CheckId::LostStolen => "lost-stolen",
            CheckId::Validity => "validity",
        }
    }

    /// Whether a failure says the document is not valid (rather than forged or altered).
    pub fn is_validity(self) -> bool {
        matches!(self, CheckId::LostStolen | CheckId::Validity)
    }
}

/// How a measured value is judged.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Relation {
    /// Pass when measured >= value.
    AtLeast,
    /// Pass when measured <= value.
    AtMost,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Threshold {
    pub relation: Relation,
    pub value: f64,
}

impl Threshold {
    pub fn passes(&self, measured: f64) -> bool {
        match self.relation {
            Relation::AtLeast => measured >= self.value,
            Relation::AtMost => measured <= self.value,
        }
    }
}

/// Where a check looked: a quadrilateral in the capture of `light`, pixel coordinates (x, y), corners in order
/// top-left, top-right, bottom-right, bottom-left of the page region.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Region {
    pub light: RoutineLight,
    pub corners: [[f32; 2]; 4],
}

/// One check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub id: CheckId,
    /// The 9303-2 App. C routine, `(UV,BR,FU)`, for the optical checks.
    pub routine: Option<String>,
    pub state: CheckState,
    pub measured: Option<f64>,
    pub threshold: Option<Threshold>,
    pub region: Option<Region>,
    /// Why, in words (never personal data: field names, not values).
    pub note: String,
}

/// The overall outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Decision {
    /// Every check that could be made passed, and the document model is known.
    Genuine,
    /// A check of the document's features or data failed.
    ForgedOrAltered { failed: Vec<CheckId> },
    /// The features pass, but the document is expired or listed lost or stolen.
    NotValid { failed: Vec<CheckId> },
    /// Too little could be examined to call the document genuine.
    UnableToExamine { reason: String },
}

impl Decision {
    pub fn name(&self) -> &'static str {
        match self {
            Decision::Genuine => "genuine",
            Decision::ForgedOrAltered { .. } => "forged-or-altered",
            Decision::NotValid { .. } => "not-valid",
            Decision::UnableToExamine { .. } => "unable-to-examine",
        }
    }
}

/// Where the page lies in the captures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Placement {
    /// The page's centre, capture pixels.
    pub centre: [f32; 2],
    /// Rotation of the page's x axis, degrees (clockwise in the image, y down).
    pub rotation_deg: f32,
    pub width_mm: f32,
    pub height_mm: f32,
}

/// The examination of one document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub decision: Decision,
    pub model: Option<ModelKey>,
    pub placement: Option<Placement>,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn check(&self, id: CheckId) -> Option<&Check> {
        self.checks.iter().find(|c| c.id == id)
    }
}
