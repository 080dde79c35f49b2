//! ISO/IEC 19794-5:2005 face image records, the biometric data block of DG2: general header (`FAC\0`, `010\0`,
//! record length, image count), then per image a facial record header, feature points, image information and the
//! image data (JPEG or JPEG 2000).

use std::fmt;

use super::{FileId, LdsError, Place};

/// One facial image with its facial record header and image information fields as 19794-5:2005 names them.
#[derive(Clone, PartialEq, Eq)]
pub struct FaceImage {
    /// 0 unspecified, 1 male, 2 female, 0xFF unknown.
    pub gender: u8,
    pub eye_colour: u8,
    pub hair_colour: u8,
    /// 24 bits.
    pub feature_mask: u32,
    pub expression: u16,
    /// Yaw, pitch, roll.
    pub pose_angle: [u8; 3],
    pub pose_angle_uncertainty: [u8; 3],
    /// Feature points, 8 bytes each (type, point code, x, y, reserved), uninterpreted.
    pub feature_points: Vec<[u8; 8]>,
    /// 0 basic, 1 full frontal, 2 token frontal.
    pub face_image_type: u8,
    /// 0 JPEG, 1 JPEG 2000.
    pub image_data_type: u8,
    pub width: u16,
    pub height: u16,
    /// 1 24-bit RGB.
    pub colour_space: u8,
    /// 2 digital still camera.
    pub source_type: u8,
    pub device_type: u16,
    pub quality: u16,
    pub image: Vec<u8>,
}

impl fmt::Debug for FaceImage {
    // Biometric data: geometry and length only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FaceImage({}x{}, type {}, {} image bytes)",
            self.width,
            self.height,
            self.image_data_type,
            self.image.len()
        )
    }
}

/// A 19794-5:2005 face record (one or more images).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FaceRecord {
    pub images: Vec<FaceImage>,
}

/// Reads big-endian fields from a record, naming the field and byte offset when it runs out.
pub(crate) struct Fields<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) at: usize,
    pub(crate) file: FileId,
    pub(crate) base: usize,
}

impl<'a> Fields<'a> {
    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], LdsError> {
        let out = self.at.checked_add(n).and_then(|end| self.bytes.get(self.at..end)).ok_or_else(|| {
            LdsError::value(
                self.file,
                Place::Offset(self.base + self.at),
                field,
                format!("{n} bytes"),
                format!("{} left", self.bytes.len().saturating_sub(self.at)),
            )
        })?;
        self.at += n;
        Ok(out)
    }

    pub(crate) fn uint(&mut self, n: usize, field: &'static str) -> Result<u64, LdsError> {
        Ok(self.take(n, field)?.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    pub(crate) fn expect(&mut self, want: &[u8], field: &'static str) -> Result<(), LdsError> {
        let at = self.base + self.at;
        let got = self.take(want.len(), field)?;
        if got != want {
            return Err(LdsError::value(
                self.file,
                Place::Offset(at),
                field,
                super::hex_prefix(want),
                super::hex_prefix(got),
            ));
        }
        Ok(())
    }

    pub(crate) fn bad(&self, at: usize, field: &'static str, expected: String, found: String) -> LdsError {
        LdsError::value(self.file, Place::Offset(self.base + at), field, expected, found)
    }
}

const GENERAL_HEADER: usize = 14;
const FACIAL_HEADER: usize = 20;
const IMAGE_INFO: usize = 12;

impl FaceRecord {
    /// Parses a record found in `file` (for errors) whose first byte is at `base` in that file.
    pub fn parse(bytes: &[u8], file: FileId, base: usize) -> Result<FaceRecord, LdsError> {
        let mut r = Fields { bytes, at: 0, file, base };
        r.expect(b"FAC\0", "format identifier")?;
        r.expect(b"010\0", "version")?;
        let length = r.uint(4, "record length")? as usize;
        if length != bytes.len() {
            return Err(r.bad(
                8,
                "record length",
                format!("{} (the data block's length)", bytes.len()),
                length.to_string(),
            ));
        }
        let count = r.uint(2, "number of facial images")?;
        let mut images = Vec::new();
        for _ in 0..count {
            let start = r.at;
            let block = r.uint(4, "facial record data length")? as usize;
            let points = r.uint(2, "number of feature points")? as usize;
            let gender = r.uint(1, "gender")? as u8;
            let eye_colour = r.uint(1, "eye colour")? as u8;
            let hair_colour = r.uint(1, "hair colour")? as u8;
            let feature_mask = r.uint(3, "feature mask")? as u32;
            let expression = r.uint(2, "expression")? as u16;
            let pose_angle = r.take(3, "pose angle")?.try_into().unwrap_or_default();
            let pose_angle_uncertainty = r.take(3, "pose angle uncertainty")?.try_into().unwrap_or_default();
            let mut feature_points = Vec::with_capacity(points.min(64));
            for _ in 0..points {
                feature_points.push(r.take(8, "feature point")?.try_into().unwrap_or_default());
            }
            let face_image_type = r.uint(1, "face image type")? as u8;
            let image_data_type = r.uint(1, "image data type")? as u8;
            let width = r.uint(2, "width")? as u16;
            let height = r.uint(2, "height")? as u16;
            let colour_space = r.uint(1, "image colour space")? as u8;
            let source_type = r.uint(1, "source type")? as u8;
            let device_type = r.uint(2, "device type")? as u16;
            let quality = r.uint(2, "quality")? as u16;
            let header = FACIAL_HEADER + 8 * points + IMAGE_INFO;
            if block < header {
                return Err(r.bad(start, "facial record data length", format!("at least {header}"), block.to_string()));
            }
            let image = r.take(block - header, "image data")?.to_vec();
            images.push(FaceImage {
                gender,
                eye_colour,
                hair_colour,
                feature_mask,
                expression,
                pose_angle,
                pose_angle_uncertainty,
                feature_points,
                face_image_type,
                image_data_type,
                width,
                height,
                colour_space,
                source_type,
                device_type,
                quality,
                image,
            });
        }
        if r.at != bytes.len() {
            return Err(r.bad(r.at, "end of record", "no more bytes".into(), format!("{} bytes", bytes.len() - r.at)));
        }
        Ok(FaceRecord { images })
    }

    /// Encodes the record. Counts that do not fit their fields are truncated by the caller's choice of values;
    /// lengths are computed here.
    pub fn encode(&self) -> Vec<u8> {
        let blocks: Vec<Vec<u8>> = self
            .images
            .iter()
            .map(|i| {
                let len = FACIAL_HEADER + 8 * i.feature_points.len() + IMAGE_INFO + i.image.len();
                let mut b = Vec::with_capacity(len);
                b.extend((len as u32).to_be_bytes());
                b.extend((i.feature_points.len() as u16).to_be_bytes());
                b.extend([i.gender, i.eye_colour, i.hair_colour]);
                b.extend(&i.feature_mask.to_be_bytes()[1..]);
                b.extend(i.expression.to_be_bytes());
                b.extend(i.pose_angle);
                b.extend(i.pose_angle_uncertainty);
                for p in &i.feature_points {
                    b.extend(p);
                }
                b.extend([i.face_image_type, i.image_data_type]);
                b.extend(i.width.to_be_bytes());
                b.extend(i.height.to_be_bytes());
                b.extend([i.colour_space, i.source_type]);
                b.extend(i.device_type.to_be_bytes());
                b.extend(i.quality.to_be_bytes());
                b.extend(&i.image);
                b
            })
            .collect();
        let total = GENERAL_HEADER + blocks.iter().map(Vec::len).sum::<usize>();
        let mut out = Vec::with_capacity(total);
        out.extend(b"FAC\0");
        out.extend(b"010\0");
        out.extend((total as u32).to_be_bytes());
        out.extend((self.images.len() as u16).to_be_bytes());
        for b in blocks {
            out.extend(b);
        }
        out
    }
}
