//! Every decision threshold, and where it came from.
//!
//! All were set on the forgery catalogue's **development** parameter space only (khil-sim-docreader's
//! `forgery`, `ParameterSpace::Development`), from the per-class distributions `khil bench examine --space
//! development` prints (min / 1 % / median / 99 % / max of every measurement), first run with 40 genuine and 8
//! specimens of each fraud class, seed 1, 300 dpi. Each threshold sits between the genuine and the fraudulent
//! distributions, nearer the fraudulent side where a genuine feature can wear (9303-2 C.20: tolerate worn UV
//! inks). The held-out space was never used to choose them.

/// (UV,BR,FU): the page's UV emission relative to its white-light reflectance, both over the reader's lid level
/// (median over the page). Development: genuine paper -0.07 to 0.01, brightened office paper 0.59 to 0.86.
pub const UV_SUBSTRATE_MAX: f64 = 0.25;

/// (UV,LU,AF): the fluorescent emblem's outer ring against the paper just outside the emblem, in the same
/// relative units. Development: genuine emblems 0.79 to 1.15, pages without the feature -0.01 to 0.01. Set low
/// (0.3) so that faded genuine emblems pass.
pub const UV_FEATURE_MIN: f64 = 0.3;

/// (IR,AB,MR): mean infrared absorbance of the pixels that are MRZ print in white light. Development: genuine
/// B900 ink 0.74 to 0.92; dye-ink MRZs 0.02 to 0.07.
pub const IR_MRZ_ABSORPTION_MIN: f64 = 0.4;

/// (IR,TR,VZ): mean infrared absorbance of the VIZ print. Development: genuine drop-out inks 0.00 to 0.07;
/// laser toner 0.62 to 0.77.
pub const IR_VIZ_ABSORPTION_MAX: f64 = 0.3;

/// Page portrait against DG2: correlation of their fine detail (edges left out) after the page portrait is
/// resampled onto a common grid. Development: the chip's own picture printed and captured 0.48 to 0.94 (the
/// lowest on small ID-1 portraits), another picture 0.03 to 0.06.
pub const PORTRAIT_SIMILARITY_MIN: f64 = 0.2;

/// The measured page size may differ from the model's by this much (millimetres, either side). Development:
/// genuine pages measure within 0.04 mm. No catalogue class changes the page size; the check stands for
/// counterfeits cut to another size.
pub const PAGE_SIZE_TOLERANCE_MM: f64 = 2.5;

/// Fewest print samples for an IR absorption measurement to mean anything (a TD1 MRZ band holds thousands).
pub const MIN_PRINT_SAMPLES: usize = 150;
