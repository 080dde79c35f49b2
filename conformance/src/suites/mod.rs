//! The suites, one per device class. Adding a class adds a module here and a line in `CLASSES`.

pub mod docreader;
pub mod emrtd;
pub mod inspection;
pub mod osdp;
pub mod zfm;

/// Every class: `(name, title)`.
pub const CLASSES: &[(&str, &str)] = &[
    ("zfm", zfm::TITLE),
    ("osdp-pd", osdp::TITLE),
    ("emrtd-chip", emrtd::TITLE),
    ("inspection-system", inspection::TITLE),
    ("docreader", docreader::TITLE),
];
