//! The matching core: synthetic fingerprints with ground truth, minutiae extraction, ISO/ANSI templates and
//! the matcher. Pure logic: no I/O but PNG encoding to and from byte buffers, no clocks.

pub mod eval;
pub mod extract;
pub mod identify;
pub mod image;
pub mod matcher;
pub mod minutia;
pub mod skeleton;
pub mod synth;
pub mod template;

pub use image::GrayImage;
pub use minutia::{Minutia, MinutiaKind, Minutiae};
