//! ISO/IEC 19794-4:2005 finger image records, the biometric data block of DG3: the general record header
//! (`FIR\0`, `010\0`, 32 bytes), then per view a finger image header (14 bytes) and the image data.
//!
//! khil issues compression algorithm 0 (uncompressed, one byte per pixel, 8-bit grey): the record then needs no
//! codec on either side.

use std::fmt;

use super::face::Fields;
use super::{FileId, LdsError};

/// One finger view.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerImage {
    /// Finger position (1 right thumb .. 10 left little).
    pub position: u8,
    pub view_count: u8,
    pub view_number: u8,
    pub quality: u8,
    /// 0 live-scan plain, 1 live-scan rolled.
    pub impression_type: u8,
    pub width: u16,
    pub height: u16,
    pub image: Vec<u8>,
}

impl fmt::Debug for FingerImage {
    // Biometric data: geometry and length only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FingerImage(position {}, {}x{}, {} image bytes)",
            self.position,
            self.width,
            self.height,
            self.image.len()
        )
    }
}

/// A 19794-4:2005 record: the general header's fields and the views.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FingerRecord {
    /// Capture device id (16 bits: 4 bits vendor compliance, 12 bits device).
    pub capture_device: u16,
    /// Image acquisition level (31 = 500 dpi class).
    pub acquisition_level: u16,
    /// 1 pixels per inch, 2 pixels per centimetre.
    pub scale_units: u8,
    pub scan_resolution: (u16, u16),
    pub image_resolution: (u16, u16),
    /// Bits per pixel (8).
    pub pixel_depth: u8,
    /// 0 uncompressed, 1 bit-packed, 2 WSQ, 3 JPEG, 4 JPEG 2000, 5 PNG.
    pub compression: u8,
    pub images: Vec<FingerImage>,
}

const GENERAL_HEADER: usize = 32;
const FINGER_HEADER: usize = 14;

impl FingerRecord {
    /// Parses a record found in `file` whose first byte is at `base` in that file.
    pub fn parse(bytes: &[u8], file: FileId, base: usize) -> Result<FingerRecord, LdsError> {
        let mut r = Fields { bytes, at: 0, file, base };
        r.expect(b"FIR\0", "format identifier")?;
        r.expect(b"010\0", "version")?;
        let length = r.uint(6, "record length")? as usize;
        if length != bytes.len() {
            return Err(r.bad(
                8,
                "record length",
                format!("{} (the data block's length)", bytes.len()),
                length.to_string(),
            ));
        }
        let capture_device = r.uint(2, "capture device id")? as u16;
        let acquisition_level = r.uint(2, "image acquisition level")? as u16;
        let count = r.uint(1, "number of fingers")?;
        let scale_units = r.uint(1, "scale units")? as u8;
        let scan_resolution =
            (r.uint(2, "horizontal scan resolution")? as u16, r.uint(2, "vertical scan resolution")? as u16);
        let image_resolution =
            (r.uint(2, "horizontal image resolution")? as u16, r.uint(2, "vertical image resolution")? as u16);
        let pixel_depth = r.uint(1, "pixel depth")? as u8;
        let compression = r.uint(1, "image compression algorithm")? as u8;
        r.take(2, "reserved")?;
        let mut images = Vec::new();
        for _ in 0..count {
            let start = r.at;
            let block = r.uint(4, "finger data block length")? as usize;
            let position = r.uint(1, "finger position")? as u8;
            let view_count = r.uint(1, "count of views")? as u8;
            let view_number = r.uint(1, "view number")? as u8;
            let quality = r.uint(1, "finger image quality")? as u8;
            let impression_type = r.uint(1, "impression type")? as u8;
            let width = r.uint(2, "horizontal line length")? as u16;
            let height = r.uint(2, "vertical line length")? as u16;
            r.take(1, "reserved")?;
            if block < FINGER_HEADER {
                return Err(r.bad(
                    start,
                    "finger data block length",
                    format!("at least {FINGER_HEADER}"),
                    block.to_string(),
                ));
            }
            let image = r.take(block - FINGER_HEADER, "image data")?.to_vec();
            if compression == 0 && pixel_depth == 8 && image.len() != usize::from(width) * usize::from(height) {
                return Err(r.bad(
                    start + FINGER_HEADER,
                    "image data",
                    format!(
                        "{width}x{height} = {} bytes (uncompressed, 8 bits)",
                        usize::from(width) * usize::from(height)
                    ),
                    image.len().to_string(),
                ));
            }
            images.push(FingerImage {
                position,
                view_count,
                view_number,
                quality,
                impression_type,
                width,
                height,
                image,
            });
        }
        if r.at != bytes.len() {
            return Err(r.bad(r.at, "end of record", "no more bytes".into(), format!("{} bytes", bytes.len() - r.at)));
        }
        Ok(FingerRecord {
            capture_device,
            acquisition_level,
            scale_units,
            scan_resolution,
            image_resolution,
            pixel_depth,
            compression,
            images,
        })
    }

    pub fn encode(&self) -> Vec<u8> {
        let total = GENERAL_HEADER + self.images.iter().map(|i| FINGER_HEADER + i.image.len()).sum::<usize>();
        let mut out = Vec::with_capacity(total);
        out.extend(b"FIR\0");
        out.extend(b"010\0");
        out.extend(&(total as u64).to_be_bytes()[2..]);
        out.extend(self.capture_device.to_be_bytes());
        out.extend(self.acquisition_level.to_be_bytes());
        out.push(self.images.len() as u8);
        out.push(self.scale_units);
        for v in [self.scan_resolution.0, self.scan_resolution.1, self.image_resolution.0, self.image_resolution.1] {
            out.extend(v.to_be_bytes());
        }
        out.extend([self.pixel_depth, self.compression, 0, 0]);
        for i in &self.images {
            out.extend(((FINGER_HEADER + i.image.len()) as u32).to_be_bytes());
            out.extend([i.position, i.view_count, i.view_number, i.quality, i.impression_type]);
            out.extend(i.width.to_be_bytes());
            out.extend(i.height.to_be_bytes());
            out.push(0);
            out.extend(&i.image);
        }
        out
    }
}
