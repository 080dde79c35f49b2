//! What the examiner and the flow take from a chip inspection ([`khil_mrtd::inspect`]): DG1's MRZ, DG2's portrait
//! decoded to grey, whether passive authentication held ([`chip_data`], moved here from `khil document examine`),
//! and DG3's first finger image as a reference template ([`dg3_reference`]).

use khil_biometrics::image::GrayImage;
use khil_biometrics::minutia::Minutiae;
use khil_examine::{Authentication, ChipData};
use khil_mrtd::inspect::Inspection;
use khil_mrtd::lds::{BiometricGroup, Dg1, FaceRecord, FileId, FingerRecord};

/// DG1's MRZ and DG2's portrait (decoded to grey) from an inspection, and whether passive authentication held.
/// A chip that did not open is [`Authentication::NotOpened`].
pub fn chip_data(inspection: &Inspection) -> Result<ChipData, String> {
    if inspection.access.is_none() {
        return Ok(ChipData { dg1_mrz: Vec::new(), dg2_portrait: None, authentication: Authentication::NotOpened });
    }
    let authentication = authentication(inspection);
    let dg1 = inspection.file(FileId::Dg(1)).ok_or("the chip gave no DG1")?;
    let dg1 = Dg1::parse(dg1).map_err(|e| format!("the chip's DG1: {e}"))?;
    let text = dg1.mrz_str().ok_or("the chip's DG1 MRZ is not ASCII")?;
    let width = match text.len() {
        90 => 30,
        72 => 36,
        _ => 44,
    };
    let dg1_mrz = text.as_bytes().chunks(width).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    let dg2_portrait = inspection.file(FileId::Dg(2)).map(|bytes| -> Result<GrayImage, String> {
        let group = BiometricGroup::parse(FileId::Dg(2), bytes).map_err(|e| format!("the chip's DG2: {e}"))?;
        let instance = group.instances.first().ok_or("the chip's DG2 holds no face")?;
        let record = FaceRecord::parse(&instance.data, FileId::Dg(2), 0).map_err(|e| format!("the chip's DG2: {e}"))?;
        let face = record.images.first().ok_or("the chip's DG2 holds no face image")?;
        if face.image_data_type != 0 {
            return Err("the chip's DG2 portrait is JPEG 2000, which khil does not decode".into());
        }
        decode_jpeg_grey(&face.image).map_err(|e| format!("the chip's DG2 portrait: {e}"))
    });
    let dg2_portrait = dg2_portrait.transpose()?;
    Ok(ChipData { dg1_mrz, dg2_portrait, authentication })
}

/// Whether the chip proved the document genuine. The authenticity checks decide (passive authentication, chip
/// and active authentication, DG1 against the page): one failed is a forgery's mark. A chip that once did not
/// answer (a read of EF.CardAccess or of a data group, PACE given up for BAC) proves nothing either way: with the
/// authenticity checks passed, the inspection is incomplete, not failed. Judged by the whole inspection's outcome, a
/// genuine passport whose chip hiccuped in the field was called forged. EAC access left undone (no terminal
/// certificates the chip trusts: DG3 and DG4 unread) does not make the inspection incomplete.
fn authentication(inspection: &Inspection) -> Authentication {
    let authenticity = |name: &str| {
        name.starts_with("passive authentication")
            || name == "chip authentication"
            || name == "active authentication"
            || name == "MRZ on the page = DG1"
    };
    if inspection.checks.iter().any(|c| authenticity(&c.name) && c.status.failed()) {
        return Authentication::Failed;
    }
    // Terminal authentication is access control, not authenticity: a gate without terminal certificates the chip
    // trusts (a foreign passport; a point that verifies against the registry) leaves DG3 and DG4 unread (and
    // their hashes unchecked) and the chip is still proven genuine by the rest. A failed terminal authentication
    // is still a failure below.
    let eac_access = |c: &khil_mrtd::inspect::InspectCheck| {
        matches!(c.status, khil_mrtd::pa::Status::NotChecked(_))
            && matches!(
                c.name.as_str(),
                "terminal authentication"
                    | "reading DG3"
                    | "reading DG4"
                    | "passive authentication: DG3 hash"
                    | "passive authentication: DG4 hash"
            )
    };
    if inspection.checks.iter().filter(|c| !eac_access(c)).all(|c| c.status.passed()) {
        Authentication::Passed
    } else {
        Authentication::NotPerformed
    }
}

/// DG3's first finger view as minutiae (khil's extractor over the stored image), when the chip gave DG3 (terminal
/// authentication) and it holds an uncompressed view. `Ok(None)`: no DG3 was read.
pub fn dg3_reference(inspection: &Inspection) -> Result<Option<Minutiae>, String> {
    let Some(bytes) = inspection.file(FileId::Dg(3)) else { return Ok(None) };
    let group = BiometricGroup::parse(FileId::Dg(3), bytes).map_err(|e| format!("the chip's DG3: {e}"))?;
    let instance = group.instances.first().ok_or("the chip's DG3 holds no finger")?;
    let record = FingerRecord::parse(&instance.data, FileId::Dg(3), 0).map_err(|e| format!("the chip's DG3: {e}"))?;
    if record.compression != 0 || record.pixel_depth != 8 {
        return Err(format!(
            "the chip's DG3 finger image is compressed ({}) or not 8-bit ({}): khil reads uncompressed 8-bit views",
            record.compression, record.pixel_depth
        ));
    }
    let view = record.images.first().ok_or("the chip's DG3 holds no finger view")?;
    let (width, height) = (usize::from(view.width), usize::from(view.height));
    if view.image.len() != width * height {
        return Err(format!("the chip's DG3 view: {} bytes for {width} x {height}", view.image.len()));
    }
    let image = GrayImage { width, height, pixels: view.image.clone() };
    // Scale units 2: pixels per centimetre.
    let resolution = record.image_resolution.0.max(1);
    let dpi = if record.scale_units == 2 { (f32::from(resolution) * 2.54).round() as u16 } else { resolution };
    Ok(Some(khil_biometrics::extract::extract(&image, dpi)))
}

/// A baseline or progressive JPEG as 8-bit grey (zune-jpeg: the decoder `image` uses, already in the tree).
pub fn decode_jpeg_grey(bytes: &[u8]) -> Result<GrayImage, String> {
    use zune_jpeg::JpegDecoder;
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::Luma);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    let pixels = decoder.decode().map_err(|e| format!("not a JPEG khil can decode: {e}"))?;
    let (width, height) = decoder.dimensions().ok_or("no image dimensions")?;
    if pixels.len() != width * height {
        return Err(format!("{} grey bytes for {width} x {height}", pixels.len()));
    }
    Ok(GrayImage { width, height, pixels })
}

#[cfg(test)]
mod tests {
    use khil_mrtd::inspect::{InspectCheck, Inspection};
    use khil_mrtd::pa::Status;

    use super::*;

    fn inspection(checks: &[(&str, Status)]) -> Inspection {
        let mut out = Inspection::default();
        out.checks = checks.iter().map(|(n, s)| InspectCheck { name: (*n).to_owned(), status: s.clone() }).collect();
        out
    }

    fn passed() -> Status {
        Status::Passed(String::new())
    }

    fn not_checked() -> Status {
        Status::NotChecked("no terminal certificates given".into())
    }

    #[test]
    fn eac_access_left_undone_does_not_make_a_genuine_chip_incomplete() {
        let without_ta = [
            ("passive authentication: signature", passed()),
            ("passive authentication: DG1 hash", passed()),
            ("passive authentication: DG3 hash", not_checked()),
            ("chip authentication", passed()),
            ("terminal authentication", not_checked()),
            ("reading DG3", not_checked()),
            ("MRZ on the page = DG1", passed()),
        ];
        assert_eq!(authentication(&inspection(&without_ta)), Authentication::Passed);
    }

    #[test]
    fn anything_else_undone_is_not_performed_and_any_authenticity_failure_fails() {
        let no_ca = [("passive authentication: signature", passed()), ("chip authentication", not_checked())];
        assert_eq!(authentication(&inspection(&no_ca)), Authentication::NotPerformed);
        let ta_failed = [
            ("passive authentication: signature", passed()),
            ("terminal authentication", Status::Failed("6982".into())),
        ];
        assert_eq!(authentication(&inspection(&ta_failed)), Authentication::NotPerformed);
        let cloned =
            [("passive authentication: signature", passed()), ("chip authentication", Status::Failed("x".into()))];
        assert_eq!(authentication(&inspection(&cloned)), Authentication::Failed);
    }
}
