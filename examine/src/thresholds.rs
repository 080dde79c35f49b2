//! Every decision threshold, and where it came from.
//!
//! All were set on the forgery catalogue's **development** parameter space only (khil-sim-docreader's
//! `forgery`, `ParameterSpace::Development`), by measuring genuine and fraudulent specimens with
//! `khil bench examine --space development` and putting the threshold between the classes with margin on the
//! genuine side (false alarms cost officers' time on every traveller). The held-out space was never used to
//! choose them. The figures quoted are the development measurements the choice was made from.

/// (UV,BR,FU): the page's UV emission relative to its white-light reflectance, both over the reader's lid level
/// (median over the page). Development: genuine paper measures about -0.05 to 0.05, brightened office paper
/// 0.5 and up; 0.25 sits between, nearer the genuine side.
pub const UV_SUBSTRATE_MAX: f64 = 0.25;

/// (UV,LU,AF): the fluorescent emblem's ring against the paper just outside it, in the same relative units.
/// Development: genuine emblems (worn ones included) measure 0.35 and up, pages without the feature about 0.
pub const UV_FEATURE_MIN: f64 = 0.15;

/// (IR,AB,MR): mean infrared absorbance of the pixels that are MRZ print in white light. Development: genuine
/// B900 ink 0.6 and up; dye ink MRZs 0.15 and below.
pub const IR_MRZ_ABSORPTION_MIN: f64 = 0.4;

/// (IR,TR,VZ): mean infrared absorbance of the VIZ print. Development: genuine drop-out inks about 0.05 at
/// most; laser toner 0.5 and up.
pub const IR_VIZ_ABSORPTION_MAX: f64 = 0.25;

/// Page portrait against DG2: correlation of their fine detail after the page portrait is resampled onto DG2's
/// grid. Development: the same picture printed and captured 0.3 and up, a different picture about 0 (±0.05).
pub const PORTRAIT_SIMILARITY_MIN: f64 = 0.15;

/// The measured page size may differ from the model's by this much (millimetres, either side). Development:
/// genuine pages measure within about 0.5 mm.
pub const PAGE_SIZE_TOLERANCE_MM: f64 = 2.5;

/// Fewest print pixels for an IR absorption measurement to mean anything.
pub const MIN_PRINT_SAMPLES: usize = 150;
