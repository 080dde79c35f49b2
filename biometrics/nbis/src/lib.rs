//! The NIST NBIS reference for khil's benchmark and tests: MINDTCT minutiae extraction and BOZORTH3 comparison,
//! through the crates.io crate `nbis-rs` 0.1.0 (library `nbis`: an MIT wrapper that builds NIST's public-domain C
//! with `cc`; no system libraries needed).
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let (png_a, png_b) = (Vec::<u8>::new(), Vec::<u8>::new());
//! use khil_biometrics::GrayImage;
//! let a = khil_nbis::extract(&GrayImage::from_png(&png_a)?, 500)?;
//! let b = khil_nbis::extract(&GrayImage::from_png(&png_b)?, 500)?;
//! let score = khil_nbis::compare(&a, &b); // BOZORTH3: ~40 and up is usually the same finger
//! # Ok(()) }
//! ```
//!
//! # Threads
//!
//! BOZORTH3 keeps its working tables in C globals (`bz_gbls.c`, statics in `bozorth3.c` and `bz_sort.c`), and
//! nbis-rs 0.1.0 calls it without a lock: two comparisons at once corrupt each other (measured: 234 of 400
//! concurrent comparisons gave wrong scores, with `qq[] overflow` errors from the C). [`compare`] therefore holds
//! one process-wide mutex; comparisons run one at a time whatever the number of threads. Do not call nbis-rs's
//! `Minutiae::compare` anywhere else in a process that uses this crate.
//!
//! MINDTCT, as nbis-rs builds it (no `LOG_REPORT`, no `TIMER`), writes no global state: its globals are constant
//! tables, and the log/timer variables are only touched under those macros. [`extract`] takes no lock and runs in
//! parallel (checked by `tests/afis.rs`).
//!
//! # What nbis-rs 0.1.0 gets wrong, and what this crate does about it
//!
//! - MINDTCT crashes the process (SIGSEGV or a glibc abort) on images 8 to 11 pixels high and reads out of bounds
//!   (valgrind) at 16x16 and 500x12: [`extract`] refuses images under [`MIN_SIDE`] pixels a side. When it fails
//!   it prints an `ERROR : ...` line to stderr itself (no image data in it).
//! - Its ISO reader takes the minutia count as a *signed* byte, so a record with 128..=255 minutiae makes it panic
//!   (capacity overflow): [`NbisTemplate::from_iso`] and [`NbisTemplate::from_minutiae`] refuse more than
//!   [`MAX_LOADABLE_MINUTIAE`]. Its writer truncates the count to one byte: [`NbisTemplate::to_iso`] refuses more
//!   than [`MAX_ISO_MINUTIAE`].
//! - Its public API has no constructor for a minutiae set; the only ways in are extraction and its ISO reader, so
//!   [`NbisTemplate::from_minutiae`] goes through an ISO record laid out as nbis-rs writes it.
//! - Its ISO writer always declares 500 dpi, stores minutia quality as 0..=63 (reliability x 63, not ISO's 0..=100)
//!   and angles at NBIS's 11.25-degree resolution.
//! - It takes encoded images only: [`extract`] hands it the pixels as a binary PGM (no compression, no colour
//!   conversion; about 2.5 ms cheaper per 400x500 image than a PNG).
//!
//! BOZORTH3 scores are not symmetric (`compare(a, b)` may differ from `compare(b, a)` by a point or two) and depend
//! on the order of the minutiae; templates keep BOZORTH3's order through every conversion here so that scores
//! survive them exactly (see `convert.rs`).
//!
//! Biometric data stays out of logs: `Debug` prints geometry and counts, errors name an index, never a position.

mod convert;

use std::sync::{Mutex, PoisonError};

use khil_biometrics::{GrayImage, Minutiae};

use crate::convert::{Point, angle_to_dir, iso_record, points_of, quality_to_reliability, sort_for_bozorth};

/// Smallest image side [`extract`] accepts. MINDTCT misbehaves below 12 px (crash) and at 16 px (out-of-bounds
/// reads); 64 px leaves a margin and is far below any usable print (3 mm at 500 dpi).
pub const MIN_SIDE: usize = 64;
/// Largest image side [`extract`] accepts (the PNG decoder's limit in khil-biometrics).
pub const MAX_SIDE: usize = 4096;
/// Resolutions [`extract`] accepts. MINDTCT is tuned for 500 dpi; the resolution only sizes the neighbourhood
/// of its reliability measure.
pub const DPI_RANGE: std::ops::RangeInclusive<u16> = 100..=2000;
/// Most minutiae nbis-rs 0.1.0's ISO reader can load (it reads the count as a signed byte).
pub const MAX_LOADABLE_MINUTIAE: usize = 127;
/// Most minutiae an ISO/IEC 19794-2:2005 view can hold (one-byte count).
pub const MAX_ISO_MINUTIAE: usize = 255;

/// One lock for every BOZORTH3 call in the process (see the crate doc).
static BOZORTH3: Mutex<()> = Mutex::new(());

/// Why NBIS could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum NbisError {
    #[error("image {width}x{height}: expected {MIN_SIDE}..={MAX_SIDE} pixels a side")]
    ImageSize { width: usize, height: usize },
    #[error("image {width}x{height} has {pixels} pixels; expected width * height")]
    PixelCount { width: usize, height: usize, pixels: usize },
    #[error("resolution {0} dpi: expected 100..=2000 (500 for most fingerprint scanners)")]
    Dpi(u16),
    #[error("MINDTCT failed: {0}")]
    Extraction(String),
    #[error("{count} minutiae: expected at most {max} ({why})")]
    TooManyMinutiae { count: usize, max: usize, why: &'static str },
    #[error("minutia {index}: {why}")]
    InvalidMinutia { index: usize, why: &'static str },
    #[error("ISO/IEC 19794-2:2005 record not readable by nbis-rs: {0}")]
    Iso(String),
}

/// Minutiae as NBIS found them (or as loaded), ready for BOZORTH3.
#[derive(Clone)]
pub struct NbisTemplate {
    /// What BOZORTH3 and nbis-rs's ISO writer see.
    nbis: nbis::Minutiae,
    /// The same minutiae in BOZORTH3's order, with full reliability (nbis-rs's own copy may be quantised).
    points: Vec<Point>,
    width: u16,
    height: u16,
    dpi: u16,
}

impl std::fmt::Debug for NbisTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Counts and geometry only: minutiae are biometric data and stay out of logs.
        write!(f, "NbisTemplate({}x{} @{}dpi, {} minutiae)", self.width, self.height, self.dpi, self.points.len())
    }
}

/// Runs MINDTCT on an 8-bit grayscale image (ridges dark) scanned at `dpi`.
///
/// Thread-safe and lock-free: extractions may run in parallel.
pub fn extract(image: &GrayImage, dpi: u16) -> Result<NbisTemplate, NbisError> {
    let (width, height) = (image.width, image.height);
    if !(MIN_SIDE..=MAX_SIDE).contains(&width) || !(MIN_SIDE..=MAX_SIDE).contains(&height) {
        return Err(NbisError::ImageSize { width, height });
    }
    if image.pixels.len() != width * height {
        return Err(NbisError::PixelCount { width, height, pixels: image.pixels.len() });
    }
    if !DPI_RANGE.contains(&dpi) {
        return Err(NbisError::Dpi(dpi));
    }
    // Binary PGM: nbis-rs decodes it straight into the 8-bit gray buffer MINDTCT takes.
    let mut pgm = format!("P5\n{width} {height}\n255\n").into_bytes();
    pgm.extend_from_slice(&image.pixels);
    let raw = nbis::extract_minutiae(&pgm, Some(f64::from(dpi))).map_err(|e| NbisError::Extraction(e.to_string()))?;
    let points = points_of(&raw);
    let (width, height) = (width as u16, height as u16);
    // nbis-rs keeps MINDTCT's detection order and sorts by reliability before each comparison. Reloading the
    // sorted points makes its copy (and so its ISO output) sorted too, which keeps scores exact through ISO;
    // BOZORTH3 sees the same minutiae in the same order either way. Its reader stops at 127 minutiae.
    let nbis =
        if points.len() <= MAX_LOADABLE_MINUTIAE { load(&iso_record(&points, width, height, dpi))? } else { raw };
    Ok(NbisTemplate { nbis, points, width, height, dpi })
}

/// BOZORTH3 score of `a` (probe) against `b` (gallery): 0 and up, higher is more similar; about 40 is NIST's
/// usual threshold. Not symmetric. Serialised process-wide (see the crate doc).
pub fn compare(a: &NbisTemplate, b: &NbisTemplate) -> u32 {
    // The C state is rebuilt on every call, so a poisoned lock (a panic elsewhere while held) is harmless.
    let _bozorth3 = BOZORTH3.lock().unwrap_or_else(PoisonError::into_inner);
    u32::try_from(a.nbis.compare(&b.nbis)).unwrap_or(0)
}

fn load(record: &[u8]) -> Result<nbis::Minutiae, NbisError> {
    nbis::load_iso_19794_2_2005(record).map_err(|e| NbisError::Iso(e.to_string()))
}

impl NbisTemplate {
    /// Width of the image the minutiae belong to.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Height of the image the minutiae belong to.
    pub fn height(&self) -> u16 {
        self.height
    }

    pub fn dpi(&self) -> u16 {
        self.dpi
    }

    /// Number of minutiae.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The minutiae in khil's representation, placed in a `width` x `height` image (normally the image they were
    /// extracted from: [`Self::width`], [`Self::height`]).
    ///
    /// Positions are NBIS's pixel positions unchanged; angles are NBIS's directions (11.25-degree steps) in khil's
    /// ISO convention; quality is `round(100 * reliability)` (0 only for reliability 0); the finger quality is 0
    /// (NBIS computes none). Points come in BOZORTH3's order, reliability descending.
    pub fn to_minutiae(&self, width: u16, height: u16) -> Minutiae {
        Minutiae {
            width,
            height,
            dpi: self.dpi,
            quality: 0,
            points: self.points.iter().map(|p| p.to_minutia()).collect(),
        }
    }

    /// A template of khil minutiae, for BOZORTH3.
    ///
    /// Angles snap to the nearest NBIS direction (11.25 degrees), positions round to whole pixels, reliability is
    /// `quality / 100`, `Other` becomes a ridge ending (NBIS knows two types; BOZORTH3 ignores the type). Lossless
    /// for what [`Self::to_minutiae`] returns: the result compares exactly like the original template. At most
    /// [`MAX_LOADABLE_MINUTIAE`]: nbis-rs can only take minutiae in through its ISO reader.
    pub fn from_minutiae(minutiae: &Minutiae) -> Result<Self, NbisError> {
        let count = minutiae.points.len();
        if count > MAX_LOADABLE_MINUTIAE {
            return Err(NbisError::TooManyMinutiae {
                count,
                max: MAX_LOADABLE_MINUTIAE,
                why: "nbis-rs 0.1.0 takes minutiae in only through its ISO reader, which reads the count as a signed byte",
            });
        }
        let coordinate = |v: f32| {
            let v = v.round();
            // ISO's 14-bit coordinates.
            (v.is_finite() && (0.0..16384.0).contains(&v)).then_some(v as i32)
        };
        let mut points = Vec::with_capacity(count);
        for (index, m) in minutiae.points.iter().enumerate() {
            let (Some(x), Some(y)) = (coordinate(m.x), coordinate(m.y)) else {
                return Err(NbisError::InvalidMinutia { index, why: "position not finite or outside 0..16384" });
            };
            if !m.angle.is_finite() {
                return Err(NbisError::InvalidMinutia { index, why: "angle not finite" });
            }
            points.push(Point {
                x,
                y,
                dir: angle_to_dir(m.angle),
                reliability: quality_to_reliability(m.quality),
                bifurcation: m.kind == khil_biometrics::MinutiaKind::Bifurcation,
            });
        }
        sort_for_bozorth(&mut points);
        let (width, height, dpi) = (minutiae.width, minutiae.height, minutiae.dpi);
        let nbis = load(&iso_record(&points, width, height, dpi))?;
        Ok(Self { nbis, points, width, height, dpi })
    }

    /// ISO/IEC 19794-2:2005 record written by nbis-rs (500 dpi declared whatever the template's resolution,
    /// minutia quality 0..=63, angles in 11.25-degree steps). At most [`MAX_ISO_MINUTIAE`]; a record of more than
    /// [`MAX_LOADABLE_MINUTIAE`] is valid ISO but [`Self::from_iso`] cannot load it.
    pub fn to_iso(&self) -> Result<Vec<u8>, NbisError> {
        if self.points.len() > MAX_ISO_MINUTIAE {
            return Err(NbisError::TooManyMinutiae {
                count: self.points.len(),
                max: MAX_ISO_MINUTIAE,
                why: "an ISO/IEC 19794-2:2005 view counts its minutiae in one byte",
            });
        }
        Ok(self.nbis.to_iso_19794_2_2005())
    }

    /// Loads an ISO/IEC 19794-2:2005 record with nbis-rs's reader (first view only; quality read as 0..=63).
    /// Geometry and resolution come from the record header.
    pub fn from_iso(record: &[u8]) -> Result<Self, NbisError> {
        // nbis-rs reads the count at byte 27 as an i8 and panics on a negative one.
        if let Some(&count) = record.get(27)
            && usize::from(count) > MAX_LOADABLE_MINUTIAE
        {
            return Err(NbisError::TooManyMinutiae {
                count: count.into(),
                max: MAX_LOADABLE_MINUTIAE,
                why: "nbis-rs 0.1.0 reads the minutia count as a signed byte",
            });
        }
        let nbis = load(record)?;
        // nbis-rs has checked the record is at least 28 bytes long.
        let be = |i: usize| u16::from_be_bytes([record[i], record[i + 1]]);
        let (width, height) = (be(14), be(16));
        // Resolution in px/cm (197 = 500 dpi).
        let dpi = (f64::from(be(18)) * 2.54).round() as u16;
        let points = points_of(&nbis);
        Ok(Self { nbis, points, width, height, dpi })
    }
}
