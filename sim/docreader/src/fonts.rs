//! The fonts of the data page: OCR-B for the MRZ (9303-3 §4.2: OCR-B size 1) and DejaVu Sans for the visual
//! zone. Font files are not part of khil: they come from Debian packages (`fonts-ocr-b`, `fonts-dejavu-core`)
//! at their Debian paths by default, or from the paths a caller (or `KHIL_FONT_OCRB` / `KHIL_FONT_VIZ`) gives.

use std::fmt;
use std::path::{Path, PathBuf};

use ab_glyph::FontVec;

/// Where Debian's `fonts-ocr-b` puts the OCR-B font.
pub const DEFAULT_MRZ_FONT: &str = "/usr/share/fonts/opentype/ocr-b/OCRB.otf";
/// Where Debian's `fonts-dejavu-core` puts DejaVu Sans.
pub const DEFAULT_VIZ_FONT: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
/// Environment variables overriding the defaults (read by [`FontPaths::from_env`] only).
pub const MRZ_FONT_ENV: &str = "KHIL_FONT_OCRB";
pub const VIZ_FONT_ENV: &str = "KHIL_FONT_VIZ";

const MRZ_PACKAGE: &str = "fonts-ocr-b";
const VIZ_PACKAGE: &str = "fonts-dejavu-core";

/// The font files to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FontPaths {
    /// OCR-B, for the MRZ.
    pub mrz: PathBuf,
    /// A sans-serif for the VIZ labels and fields.
    pub viz: PathBuf,
}

impl Default for FontPaths {
    fn default() -> Self {
        FontPaths { mrz: DEFAULT_MRZ_FONT.into(), viz: DEFAULT_VIZ_FONT.into() }
    }
}

impl FontPaths {
    /// The defaults, each overridden by its environment variable when that is set and not empty.
    pub fn from_env() -> Self {
        let get = |name: &str, default: &str| {
            std::env::var_os(name).filter(|v| !v.is_empty()).map_or_else(|| PathBuf::from(default), PathBuf::from)
        };
        FontPaths { mrz: get(MRZ_FONT_ENV, DEFAULT_MRZ_FONT), viz: get(VIZ_FONT_ENV, DEFAULT_VIZ_FONT) }
    }
}

/// Why a font could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum FontError {
    #[error("cannot read the {role} font {path}: {source} (Debian package {package}; or set {env})")]
    Unreadable { role: &'static str, path: PathBuf, package: &'static str, env: &'static str, source: std::io::Error },
    #[error("{path} is not a TrueType/OpenType font ({role} font; expected the one of Debian package {package})")]
    Invalid { role: &'static str, path: PathBuf, package: &'static str },
    #[error("the {role} font {path} has no glyph for {missing:?} (expected the font of Debian package {package})")]
    MissingGlyph { role: &'static str, path: PathBuf, package: &'static str, missing: char },
}

/// The loaded fonts.
pub struct Fonts {
    pub(crate) mrz: FontVec,
    pub(crate) viz: FontVec,
}

impl fmt::Debug for Fonts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Fonts { mrz: OCR-B, viz: sans }")
    }
}

impl Fonts {
    /// Reads and checks both fonts: the MRZ font must have every MRZ character (A-Z, 0-9, `<`).
    pub fn load(paths: &FontPaths) -> Result<Fonts, FontError> {
        let mrz = load_one(&paths.mrz, "MRZ", MRZ_PACKAGE, MRZ_FONT_ENV)?;
        let viz = load_one(&paths.viz, "VIZ", VIZ_PACKAGE, VIZ_FONT_ENV)?;
        use ab_glyph::Font;
        let mrz_chars = ('A'..='Z').chain('0'..='9').chain(['<']);
        for (font, chars, role, path, package) in [
            (&mrz, mrz_chars.collect::<Vec<_>>(), "MRZ", &paths.mrz, MRZ_PACKAGE),
            (&viz, ('A'..='Z').chain('0'..='9').collect(), "VIZ", &paths.viz, VIZ_PACKAGE),
        ] {
            if let Some(missing) = chars.into_iter().find(|&c| font.glyph_id(c).0 == 0) {
                return Err(FontError::MissingGlyph { role, path: path.clone(), package, missing });
            }
        }
        Ok(Fonts { mrz, viz })
    }
}

fn load_one(path: &Path, role: &'static str, package: &'static str, env: &'static str) -> Result<FontVec, FontError> {
    let bytes = std::fs::read(path).map_err(|source| FontError::Unreadable {
        role,
        path: path.to_owned(),
        package,
        env,
        source,
    })?;
    FontVec::try_from_vec(bytes).map_err(|_| FontError::Invalid { role, path: path.to_owned(), package })
}
