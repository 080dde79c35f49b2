//! 8-bit grayscale images: ridges dark, valleys and background light, as a scanner delivers them.

/// An 8-bit grayscale image, row-major, `pixels.len() == width * height`.
#[derive(Clone, PartialEq, Eq)]
pub struct GrayImage {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl std::fmt::Debug for GrayImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never dump biometric pixels into logs or panic messages.
        write!(f, "GrayImage({}x{})", self.width, self.height)
    }
}

/// Why image bytes could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("not a PNG image: {0}")]
    Png(String),
    #[error("unsupported PNG: {0}; expected 8-bit grayscale, gray+alpha, RGB or RGBA")]
    Unsupported(String),
    #[error("image too large: {width}x{height}; expected at most 4096x4096")]
    TooLarge { width: usize, height: usize },
}

impl GrayImage {
    /// A `width` x `height` image filled with `value`.
    pub fn new(width: usize, height: usize, value: u8) -> Self {
        Self { width, height, pixels: vec![value; width * height] }
    }

    pub fn get(&self, x: usize, y: usize) -> u8 {
        self.pixels[y * self.width + x]
    }

    pub fn set(&mut self, x: usize, y: usize, v: u8) {
        self.pixels[y * self.width + x] = v;
    }

    /// Encodes as an 8-bit grayscale PNG.
    pub fn to_png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Eight);
            // Writing into a Vec cannot fail for a well-formed image.
            let mut w = enc.write_header().expect("PNG header into memory");
            w.write_image_data(&self.pixels).expect("PNG data into memory");
        }
        out
    }

    /// Decodes a PNG (8-bit gray, gray+alpha, RGB or RGBA; colour is converted to luma).
    pub fn from_png(bytes: &[u8]) -> Result<Self, ImageError> {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().map_err(|e| ImageError::Png(e.to_string()))?;
        let (width, height) = (reader.info().width as usize, reader.info().height as usize);
        if width > 4096 || height > 4096 {
            return Err(ImageError::TooLarge { width, height });
        }
        let mut buf = vec![0; reader.output_buffer_size().ok_or_else(|| ImageError::Png("size overflow".into()))?];
        let info = reader.next_frame(&mut buf).map_err(|e| ImageError::Png(e.to_string()))?;
        let data = &buf[..info.buffer_size()];
        let channels = match info.color_type {
            png::ColorType::Grayscale => 1,
            png::ColorType::GrayscaleAlpha => 2,
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            png::ColorType::Indexed => return Err(ImageError::Unsupported("indexed colour".into())),
        };
        if info.bit_depth != png::BitDepth::Eight {
            return Err(ImageError::Unsupported(format!("bit depth {:?}", info.bit_depth)));
        }
        let pixels = data
            .chunks_exact(channels)
            .map(|p| match channels {
                1 | 2 => p[0],
                _ => ((u32::from(p[0]) * 299 + u32::from(p[1]) * 587 + u32::from(p[2]) * 114) / 1000) as u8,
            })
            .collect::<Vec<u8>>();
        if pixels.len() != width * height {
            return Err(ImageError::Png(format!("expected {} pixels, decoded {}", width * height, pixels.len())));
        }
        Ok(Self { width, height, pixels })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip() {
        let mut img = GrayImage::new(7, 5, 200);
        img.set(3, 2, 0);
        img.set(6, 4, 17);
        let back = GrayImage::from_png(&img.to_png()).unwrap();
        assert_eq!(back, img);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(GrayImage::from_png(b"not a png").is_err());
        assert!(GrayImage::from_png(&[]).is_err());
        let mut png = GrayImage::new(4, 4, 1).to_png();
        png.truncate(png.len() - 10);
        assert!(GrayImage::from_png(&png).is_err());
    }
}
