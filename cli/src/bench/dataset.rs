//! A user's own folder of scans for `khil bench match --dataset DIR`: files named `<finger>_<impression>.<ext>`
//! (FVC's `101_1.tif`; a finger name may itself hold underscores, as Neurotechnology's `012_3_1.tif`), 8-bit
//! grey TIFF, PNG or BMP. Anything else in the folder with one of those extensions is refused, naming the file,
//! rather than left out of the figures without a word.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::{ColorType, ImageDecoder, ImageFormat, ImageReader};
use khil_biometrics::GrayImage;

/// Smaller than this a side and there is too little print for minutiae matching (the smallest sensor khil
/// models, the R503, is 192 px); NBIS also crashes on tiny images.
pub(crate) const MIN_SIDE: usize = 96;
/// Larger than this a side is not a single finger at 500 dpi (a 4-finger slap is ~1,600 px wide).
pub(crate) const MAX_SIDE: usize = 2_000;

const EXTENSIONS: [&str; 5] = ["tif", "tiff", "png", "bmp", "dib"];

/// One finger's impressions, in impression order.
#[derive(Debug)]
pub(crate) struct FingerScans {
    pub name: String,
    pub impressions: Vec<(u32, GrayImage)>,
}

/// `<finger>_<impression>` from a file stem: the impression is the number after the last underscore.
pub(crate) fn parse_name(stem: &str) -> Option<(&str, u32)> {
    let (finger, impression) = stem.rsplit_once('_')?;
    if finger.is_empty() || impression.is_empty() || !impression.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((finger, impression.parse().ok()?))
}

/// Decodes one scan, refusing anything but an 8-bit grey image of a plausible size. `name` is only for errors.
pub(crate) fn decode(name: &str, bytes: &[u8]) -> Result<GrayImage, String> {
    let reader = ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("{name}: unreadable: {e}"))?;
    match reader.format() {
        Some(ImageFormat::Tiff | ImageFormat::Png | ImageFormat::Bmp) => {}
        _ => return Err(format!("{name}: unreadable: not a TIFF, PNG or BMP image")),
    }
    let decoder = reader.into_decoder().map_err(|e| format!("{name}: unreadable: {e}"))?;
    let colour = decoder.color_type();
    if colour != ColorType::L8 {
        return Err(format!("{name}: expected an 8-bit grey image, found {colour:?}"));
    }
    let (w, h) = decoder.dimensions();
    let (width, height) = (w as usize, h as usize);
    if width.min(height) < MIN_SIDE || width.max(height) > MAX_SIDE {
        return Err(format!(
            "{name}: {width}x{height} px: expected {MIN_SIDE} to {MAX_SIDE} px a side (one finger at ~500 dpi)"
        ));
    }
    let mut pixels = vec![0u8; width * height];
    decoder.read_image(&mut pixels).map_err(|e| format!("{name}: unreadable: {e}"))?;
    Ok(GrayImage { width, height, pixels })
}

/// Loads every scan of `dir`, fingers in name order. At least two fingers with two impressions each.
pub(crate) fn load(dir: &Path) -> Result<Vec<FingerScans>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: cannot read the folder: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: cannot read the folder: {e}", dir.display()))?.path();
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        if path.is_file() && ext.is_some_and(|e| EXTENSIONS.contains(&e.as_str())) {
            files.push(path);
        }
    }
    files.sort();
    let mut fingers: BTreeMap<String, Vec<(u32, GrayImage)>> = BTreeMap::new();
    for path in &files {
        let shown = path.display().to_string();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let (finger, impression) = parse_name(stem)
            .ok_or_else(|| format!("{shown}: expected a name <finger>_<impression>.<ext>, e.g. 101_1.tif"))?;
        let bytes = std::fs::read(path).map_err(|e| format!("{shown}: unreadable: {e}"))?;
        let image = decode(&shown, &bytes)?;
        let list = fingers.entry(finger.to_owned()).or_default();
        if list.iter().any(|(i, _)| *i == impression) {
            return Err(format!("{shown}: impression {impression} of finger {finger} is there twice"));
        }
        list.push((impression, image));
    }
    let set: Vec<FingerScans> = fingers
        .into_iter()
        .map(|(name, mut impressions)| {
            impressions.sort_by_key(|(i, _)| *i);
            FingerScans { name, impressions }
        })
        .collect();
    if let Some(f) = set.iter().find(|f| f.impressions.len() < 2) {
        return Err(format!("{}: finger {} has one impression; every finger needs two or more", dir.display(), f.name));
    }
    if set.len() < 2 {
        return Err(format!(
            "{}: {} finger(s) found: the benchmark needs two or more, each as <finger>_<impression>.tif|png|bmp",
            dir.display(),
            set.len()
        ));
    }
    Ok(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, codecs::png::PngEncoder};

    fn png(width: u32, height: u32, colour: image::ExtendedColorType) -> Vec<u8> {
        let channels = match colour {
            image::ExtendedColorType::Rgb8 => 3,
            image::ExtendedColorType::L16 => 2,
            _ => 1,
        };
        let pixels = vec![128u8; (width * height) as usize * channels];
        let mut out = Vec::new();
        PngEncoder::new(&mut out).write_image(&pixels, width, height, colour).expect("encode");
        out
    }

    #[test]
    fn names_follow_finger_underscore_impression() {
        assert_eq!(parse_name("101_1"), Some(("101", 1)));
        assert_eq!(parse_name("012_3_8"), Some(("012_3", 8)));
        for bad in ["101", "_1", "101_", "101_x", "101_1a", "101-1"] {
            assert_eq!(parse_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn grey_png_of_a_plausible_size_decodes() {
        let image = decode("a.png", &png(120, 140, image::ExtendedColorType::L8)).expect("decodes");
        assert_eq!((image.width, image.height, image.pixels.len()), (120, 140, 120 * 140));
    }

    #[test]
    fn refusals_name_the_file_and_what_was_expected() {
        let cases = [
            (png(120, 120, image::ExtendedColorType::Rgb8), "8-bit grey"),
            (png(120, 120, image::ExtendedColorType::L16), "8-bit grey"),
            (png(40, 300, image::ExtendedColorType::L8), "px a side"),
            (b"not an image at all".to_vec(), "unreadable"),
            (png(120, 120, image::ExtendedColorType::L8)[..60].to_vec(), "unreadable"),
        ];
        for (bytes, expected) in cases {
            let err = decode("scans/101_1.png", &bytes).expect_err(expected);
            assert!(err.starts_with("scans/101_1.png: ") && err.contains(expected), "{err}");
        }
    }

    proptest::proptest! {
        /// Any bytes, and a good scan with bytes flipped or cut: an image or an error naming the file, never a
        /// panic.
        #[test]
        fn any_bytes_decode_or_are_refused_by_name(
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            flips in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 0..8),
            cut in 0usize..4096,
        ) {
            if let Err(e) = decode("x.png", &junk) {
                proptest::prop_assert!(e.starts_with("x.png: "), "{}", e);
            }
            let mut good = png(100, 100, image::ExtendedColorType::L8);
            for (at, byte) in flips {
                let n = good.len();
                good[at % n] = byte;
            }
            good.truncate(cut.max(8));
            if let Err(e) = decode("y.png", &good) {
                proptest::prop_assert!(e.starts_with("y.png: "), "{}", e);
            }
        }
    }

    #[test]
    fn folder_loads_in_finger_and_impression_order_and_refuses_strays() {
        let dir = std::env::temp_dir().join(format!("khil-dataset-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let grey = png(100, 100, image::ExtendedColorType::L8);
        for name in ["2_2.png", "2_1.png", "1_3.png", "1_1.png", "notes.txt"] {
            std::fs::write(dir.join(name), &grey).expect("write");
        }
        let set = load(&dir).expect("loads");
        let order: Vec<(&str, Vec<u32>)> =
            set.iter().map(|f| (f.name.as_str(), f.impressions.iter().map(|(i, _)| *i).collect())).collect();
        assert_eq!(order, vec![("1", vec![1, 3]), ("2", vec![1, 2])]);

        std::fs::write(dir.join("stray.png"), &grey).expect("write");
        let err = load(&dir).expect_err("stray name");
        assert!(err.contains("stray.png") && err.contains("<finger>_<impression>"), "{err}");
        std::fs::remove_file(dir.join("stray.png")).expect("rm");

        std::fs::write(dir.join("3_1.png"), &grey).expect("write");
        let err = load(&dir).expect_err("lonely impression");
        assert!(err.contains("finger 3 has one impression"), "{err}");
        std::fs::remove_dir_all(&dir).expect("rm");
    }
}
