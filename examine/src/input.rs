//! What an examination is given: the reader's captures, MRZ and VIZ, the chip's data, a lost/stolen list.

use std::collections::{BTreeMap, BTreeSet};

use khil_biometrics::image::GrayImage;

/// One capture: 8-bit grey (0 black) at `dpi`, as the reader channel delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub dpi: u16,
    /// `GrayImage`'s Debug shows the size only.
    pub image: GrayImage,
}

/// The captures of one placement of the page; a light the reader did not deliver is `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    pub white: Option<Capture>,
    pub infrared: Option<Capture>,
    pub ultraviolet: Option<Capture>,
}

/// The outcome of the chip's authentication as the inspection system reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Authentication {
    /// Passive authentication verified the data groups against a trusted document signer.
    Passed,
    /// The chip opened but its data did not verify.
    Failed,
    NotPerformed,
    /// The chip answered but did not open with the access keys of the MRZ printed on the page (BAC and PACE keys
    /// come from it): the page's MRZ is not the one the chip was issued with. `dg1_mrz` is empty then.
    NotOpened,
}

/// What the chip yielded.
#[derive(Clone, PartialEq, Eq)]
pub struct ChipData {
    /// DG1's MRZ, line by line.
    pub dg1_mrz: Vec<String>,
    /// DG2's portrait, decoded to grey.
    pub dg2_portrait: Option<GrayImage>,
    pub authentication: Authentication,
}

impl std::fmt::Debug for ChipData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChipData")
            .field("dg1_lines", &self.dg1_mrz.len())
            .field("dg2_portrait", &self.dg2_portrait)
            .field("authentication", &self.authentication)
            .finish()
    }
}

/// One document as the reader and the chip returned it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub captures: Captures,
    /// The MRZ as the reader read it, line by line.
    pub mrz_lines: Vec<String>,
    /// VIZ fields by the reader protocol's names (`surname`, `birth_date` as `YYYY-MM-DD`, ...;
    /// docs/docreader-protocol.md); unknown names are ignored.
    pub viz: BTreeMap<String, String>,
    pub chip: Option<ChipData>,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("captures", &self.captures)
            .field("mrz_lines", &self.mrz_lines.len())
            .field("viz_fields", &self.viz.len())
            .field("chip", &self.chip)
            .finish()
    }
}

/// Documents reported lost or stolen: (issuing state code, document number).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct StopList {
    entries: BTreeSet<(String, String)>,
}

impl std::fmt::Debug for StopList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StopList({} entries)", self.entries.len())
    }
}

impl StopList {
    pub fn new() -> StopList {
        StopList::default()
    }

    pub fn insert(&mut self, issuing_state: &str, number: &str) {
        self.entries.insert((issuing_state.to_owned(), number.to_owned()));
    }

    pub fn contains(&self, issuing_state: &str, number: &str) -> bool {
        self.entries.contains(&(issuing_state.to_owned(), number.to_owned()))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
