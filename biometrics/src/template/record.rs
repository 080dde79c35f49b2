//! The record model and what both formats share after their headers: finger views, minutiae, extended data,
//! the conformance check and the conversion to and from [`Minutiae`].

use std::f64::consts::TAU;
use std::fmt::{self, Write as _};

use crate::minutia::{Minutia, MinutiaKind, Minutiae};

/// Largest value of a 14-bit coordinate.
pub(crate) const MAX_COORD: u16 = 0x3FFF;
/// Most finger views, minutiae per view: one-byte counts.
const MAX_COUNT: usize = 255;
/// "FMR\0" then " 20\0": both standards start this way.
pub(crate) const MAGIC: &[u8; 4] = b"FMR\0";
pub(crate) const VERSION: &[u8; 4] = b" 20\0";

/// Which standard a record follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// ISO/IEC 19794-2:2005: 24-byte header, angles in 360/256-degree units.
    Iso2005,
    /// ANSI INCITS 378-2004: 26-byte header (30 past 64 KiB), angles in 2-degree units.
    Ansi2004,
}

impl Format {
    /// Angle units in a full turn: 256 (ISO) or 180 (ANSI).
    pub const fn angle_units_per_turn(self) -> u16 {
        match self {
            Format::Iso2005 => 256,
            Format::Ansi2004 => 180,
        }
    }

    /// Radians in [0, 2*pi) of an angle field. ANSI values 180-255 are outside the standard; they wrap.
    pub fn angle_to_radians(self, units: u8) -> f32 {
        let a = f64::from(units) * TAU / f64::from(self.angle_units_per_turn());
        crate::minutia::normalize_angle(a.rem_euclid(TAU) as f32)
    }

    /// The angle field nearest to `radians` (any value; NaN and infinities give 0).
    pub fn angle_from_radians(self, radians: f32) -> u8 {
        let per_turn = f64::from(self.angle_units_per_turn());
        let units = (f64::from(radians) / TAU * per_turn).round().rem_euclid(per_turn);
        if units.is_finite() { units as u8 } else { 0 }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Iso2005 => "ISO/IEC 19794-2:2005",
            Format::Ansi2004 => "ANSI INCITS 378-2004",
        })
    }
}

/// The capture equipment field: 4 compliance bits and a 12-bit device type id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CaptureEquipment {
    /// 4 bits; the top one (8) says the device is certified to the image quality specification (ANSI
    /// Appendix F / ISO Annex B, both from CJIS-RS-0010 V7), the other three are reserved (0).
    pub compliance: u8,
    /// 12 bits, assigned by the vendor; 0 means not reported.
    pub device_id: u16,
}

/// ANSI only: the CBEFF product identifier (owner = vendor, type = the vendor's subformat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ProductId {
    /// CBEFF product identifier owner, registered with IBIA; the standard requires it non-zero.
    pub vendor_id: u16,
    /// CBEFF product identifier type, chosen by the vendor.
    pub subformat: u16,
}

impl ProductId {
    /// The IBIA-registered owner code for "vendor unknown", what khil writes.
    pub const VENDOR_UNKNOWN: u16 = 0x0103;
}

/// One finger minutiae record: a header and its finger views.
///
/// Any value of a field the encoding can hold is accepted by [`crate::template::encode`] and kept by the
/// decoders, so records round-trip exactly; [`FingerMinutiaeRecord::check`] lists what the standards forbid.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerMinutiaeRecord {
    pub format: Format,
    /// `Some` exactly when `format` is ANSI: ISO headers have no such field.
    pub product: Option<ProductId>,
    pub capture_equipment: CaptureEquipment,
    /// Image size in pixels.
    pub width: u16,
    pub height: u16,
    /// Pixels per centimetre (197 = 500 dpi).
    pub x_resolution: u16,
    pub y_resolution: u16,
    pub views: Vec<FingerView>,
}

/// One finger view: the minutiae of one impression of one finger.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerView {
    /// 0 unknown, 1-5 right thumb to little finger, 6-10 left.
    pub finger_position: u8,
    /// 4 bits: 0 for the first view of a finger, counting up.
    pub view_number: u8,
    /// 4 bits: 0 live-scan plain, 1 live-scan rolled, 2 non-live plain, 3 non-live rolled, 8 swipe.
    pub impression_type: u8,
    /// 0-100.
    pub quality: u8,
    /// At most 255.
    pub minutiae: Vec<RecordMinutia>,
    /// Extended data areas in record order; an empty list is written as a zero block length.
    pub extended_data: Vec<ExtendedData>,
}

/// One minutia as stored: integer pixels and the format's angle units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordMinutia {
    /// Type bits 01 ending, 10 bifurcation, 00 other (11 is reserved and rejected when decoding).
    pub kind: MinutiaKind,
    /// 14 bits, pixels from the left.
    pub x: u16,
    /// 14 bits, pixels from the top.
    pub y: u16,
    /// Counter-clockwise from the x axis as seen on the image; ISO 360/256-degree units, ANSI 2-degree units
    /// (0-179).
    pub angle: u8,
    /// 0-100, 0 = not reported.
    pub quality: u8,
}

/// One extended data area, kept as raw bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct ExtendedData {
    /// 0x0001 ridge counts, 0x0002 cores and deltas, 0x0003 zonal quality (ISO), 0x0100-0xFFFF vendor-defined.
    pub type_code: u16,
    /// The area's content, without its 4-byte type and length fields.
    pub data: Vec<u8>,
}

impl ExtendedData {
    pub const RIDGE_COUNT: u16 = 0x0001;
    pub const CORE_AND_DELTA: u16 = 0x0002;
    /// ISO/IEC 19794-2:2005 only.
    pub const ZONAL_QUALITY: u16 = 0x0003;
}

// Biometric data stays out of logs: the collection types print counts and geometry only, like `Minutiae`.
impl fmt::Debug for FingerMinutiaeRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FingerMinutiaeRecord")
            .field("format", &self.format)
            .field("product", &self.product)
            .field("capture_equipment", &self.capture_equipment)
            .field("size", &format_args!("{}x{}", self.width, self.height))
            .field("resolution", &format_args!("{}x{} px/cm", self.x_resolution, self.y_resolution))
            .field("views", &self.views)
            .finish()
    }
}

impl fmt::Debug for FingerView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FingerView(finger {} view {} impression {} q{}, {} minutiae, {} extended data areas)",
            self.finger_position,
            self.view_number,
            self.impression_type,
            self.quality,
            self.minutiae.len(),
            self.extended_data.len()
        )
    }
}

impl fmt::Debug for ExtendedData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExtendedData(type {:#06x}, {} bytes)", self.type_code, self.data.len())
    }
}

/// What is wrong with a record's bytes, or why a record cannot be encoded.
///
/// Byte offsets count from the start of the record. Views, minutiae and extended data areas are numbered from
/// 0, as in `views[i].minutiae[j]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("byte {offset}: {field}: needs {}, only {available} left in the {within}", plural(*needed, "byte"))]
    Truncated { offset: usize, field: String, needed: usize, available: usize, within: &'static str },
    #[error("record length field says {declared} bytes, input has {actual}")]
    LengthMismatch { declared: u64, actual: usize },
    #[error("byte {offset}: {field}: expected {expected}, found {found}")]
    Invalid { offset: usize, field: String, expected: String, found: String },
    /// Encoding: a value does not fit its field.
    #[error("{field} {value} exceeds {limit}")]
    TooLarge { field: String, value: u64, limit: &'static str },
    /// Encoding: the record contradicts its own format.
    #[error("{field}: {problem}")]
    Unencodable { field: String, problem: String },
}

fn plural(n: usize, unit: &str) -> String {
    if n == 1 { format!("1 {unit}") } else { format!("{n} {unit}s") }
}

/// Names a field for errors without allocating until one happens.
#[derive(Clone, Copy)]
pub(crate) struct Field {
    view: Option<usize>,
    minutia: Option<usize>,
    area: Option<usize>,
    name: &'static str,
}

impl Field {
    pub(crate) const fn header(name: &'static str) -> Self {
        Self { view: None, minutia: None, area: None, name }
    }
    const fn view(view: usize, name: &'static str) -> Self {
        Self { view: Some(view), minutia: None, area: None, name }
    }
    const fn minutia(view: usize, minutia: usize, name: &'static str) -> Self {
        Self { view: Some(view), minutia: Some(minutia), area: None, name }
    }
    const fn area(view: usize, area: usize, name: &'static str) -> Self {
        Self { view: Some(view), minutia: None, area: Some(area), name }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v) = self.view {
            write!(f, "view {v}")?;
            if let Some(m) = self.minutia {
                write!(f, " minutia {m}")?;
            }
            if let Some(a) = self.area {
                write!(f, " extended data area {a}")?;
            }
            f.write_str(": ")?;
        }
        f.write_str(self.name)
    }
}

pub(crate) fn invalid(
    offset: usize,
    field: Field,
    expected: impl Into<String>,
    found: impl fmt::Display,
) -> TemplateError {
    TemplateError::Invalid { offset, field: field.to_string(), expected: expected.into(), found: found.to_string() }
}

fn too_large(field: Field, value: usize, limit: &'static str) -> TemplateError {
    TemplateError::TooLarge { field: field.to_string(), value: value as u64, limit }
}

/// Bytes as a quoted string: printable ASCII as is, NUL as `\0`, the rest as `\xNN`.
pub(crate) fn quoted(bytes: &[u8]) -> String {
    let mut s = String::from("\"");
    for &b in bytes {
        match b {
            0 => s.push_str("\\0"),
            b'"' | b'\\' => {
                s.push('\\');
                s.push(char::from(b));
            }
            0x20..=0x7E => s.push(char::from(b)),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s.push('"');
    s
}

/// A big-endian cursor that reports absolute offsets.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
    within: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0, base: 0, within: "record" }
    }

    pub(crate) fn offset(&self) -> usize {
        self.base + self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(crate) fn take(&mut self, n: usize, field: Field) -> Result<&'a [u8], TemplateError> {
        if n > self.remaining() {
            return Err(TemplateError::Truncated {
                offset: self.offset(),
                field: field.to_string(),
                needed: n,
                available: self.remaining(),
                within: self.within,
            });
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn u8(&mut self, field: Field) -> Result<u8, TemplateError> {
        Ok(self.take(1, field)?[0])
    }

    pub(crate) fn u16(&mut self, field: Field) -> Result<u16, TemplateError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, field: Field) -> Result<u32, TemplateError> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Bytes 0-7: "FMR\0" and " 20\0".
pub(crate) fn read_magic(r: &mut Reader<'_>) -> Result<(), TemplateError> {
    let field = Field::header("format identifier");
    let offset = r.offset();
    let id = r.take(4, field)?;
    if id != MAGIC {
        return Err(invalid(offset, field, quoted(MAGIC), quoted(id)));
    }
    let field = Field::header("format version");
    let offset = r.offset();
    let version = r.take(4, field)?;
    if version != VERSION {
        let expected =
            format!("{} (ISO 19794-2:2005 / ANSI 378-2004; later editions are not supported)", quoted(VERSION));
        return Err(invalid(offset, field, expected, quoted(version)));
    }
    Ok(())
}

/// The header fields after the length (and, for ANSI, the product identifier): equipment to reserved byte.
pub(crate) struct Geometry {
    pub(crate) capture_equipment: CaptureEquipment,
    pub(crate) width: u16,
    pub(crate) height: u16,
    pub(crate) x_resolution: u16,
    pub(crate) y_resolution: u16,
    pub(crate) views: u8,
}

pub(crate) fn read_geometry(r: &mut Reader<'_>) -> Result<Geometry, TemplateError> {
    let equipment = r.u16(Field::header("capture equipment"))?;
    let width = r.u16(Field::header("image width"))?;
    let height = r.u16(Field::header("image height"))?;
    let x_resolution = r.u16(Field::header("x resolution"))?;
    let y_resolution = r.u16(Field::header("y resolution"))?;
    let views = r.u8(Field::header("number of finger views"))?;
    let field = Field::header("reserved byte");
    let offset = r.offset();
    let reserved = r.u8(field)?;
    if reserved != 0 {
        return Err(invalid(offset, field, "0", reserved));
    }
    Ok(Geometry {
        capture_equipment: CaptureEquipment { compliance: (equipment >> 12) as u8, device_id: equipment & 0x0FFF },
        width,
        height,
        x_resolution,
        y_resolution,
        views,
    })
}

pub(crate) fn write_geometry(out: &mut Vec<u8>, rec: &FingerMinutiaeRecord) {
    let e = rec.capture_equipment;
    out.extend_from_slice(&((u16::from(e.compliance) << 12) | e.device_id).to_be_bytes());
    for v in [rec.width, rec.height, rec.x_resolution, rec.y_resolution] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out.push(rec.views.len() as u8);
    out.push(0);
}

/// Reads `count` finger views, then requires the record to end.
pub(crate) fn read_views(r: &mut Reader<'_>, count: u8) -> Result<Vec<FingerView>, TemplateError> {
    let mut views = Vec::with_capacity(usize::from(count));
    for i in 0..usize::from(count) {
        views.push(read_view(r, i)?);
    }
    if r.remaining() > 0 {
        let expected = format!("the end of the record after {}", plural(count.into(), "finger view"));
        return Err(invalid(
            r.offset(),
            Field::header("end of record"),
            expected,
            format!("{} more bytes", r.remaining()),
        ));
    }
    Ok(views)
}

fn read_view(r: &mut Reader<'_>, i: usize) -> Result<FingerView, TemplateError> {
    let finger_position = r.u8(Field::view(i, "finger position"))?;
    let view_and_impression = r.u8(Field::view(i, "view number and impression type"))?;
    let quality = r.u8(Field::view(i, "finger quality"))?;
    let count = r.u8(Field::view(i, "number of minutiae"))?;
    let mut minutiae = Vec::with_capacity(usize::from(count));
    for j in 0..usize::from(count) {
        minutiae.push(read_minutia(r, i, j)?);
    }
    let block_len = r.u16(Field::view(i, "extended data block length"))?;
    let block_offset = r.offset();
    let block = r.take(usize::from(block_len), Field::view(i, "extended data block"))?;
    let extended_data = read_extended(block, block_offset, i)?;
    Ok(FingerView {
        finger_position,
        view_number: view_and_impression >> 4,
        impression_type: view_and_impression & 0x0F,
        quality,
        minutiae,
        extended_data,
    })
}

fn read_minutia(r: &mut Reader<'_>, i: usize, j: usize) -> Result<RecordMinutia, TemplateError> {
    let offset = r.offset();
    let type_x = r.u16(Field::minutia(i, j, "type and x"))?;
    let kind = match type_x >> 14 {
        0b00 => MinutiaKind::Other,
        0b01 => MinutiaKind::Ending,
        0b10 => MinutiaKind::Bifurcation,
        _ => {
            let expected = "type bits 00 (other), 01 (ridge ending) or 10 (bifurcation)";
            return Err(invalid(offset, Field::minutia(i, j, "type"), expected, "11 (reserved)"));
        }
    };
    let offset = r.offset();
    let reserved_y = r.u16(Field::minutia(i, j, "reserved bits and y"))?;
    if reserved_y >> 14 != 0 {
        let found = format!("{:02b}", reserved_y >> 14);
        return Err(invalid(offset, Field::minutia(i, j, "reserved bits above y"), "00", found));
    }
    let angle = r.u8(Field::minutia(i, j, "angle"))?;
    let quality = r.u8(Field::minutia(i, j, "quality"))?;
    Ok(RecordMinutia { kind, x: type_x & MAX_COORD, y: reserved_y, angle, quality })
}

/// Splits an extended data block into its areas; each area's length counts its own 4-byte type and length.
fn read_extended(block: &[u8], base: usize, i: usize) -> Result<Vec<ExtendedData>, TemplateError> {
    let mut r = Reader { bytes: block, pos: 0, base, within: "extended data block" };
    let mut areas = Vec::new();
    while r.remaining() > 0 {
        let k = areas.len();
        let type_code = r.u16(Field::area(i, k, "type code"))?;
        let offset = r.offset();
        let len = r.u16(Field::area(i, k, "length"))?;
        if len < 4 {
            let expected = "at least 4 (the length counts the area's type and length fields)";
            return Err(invalid(offset, Field::area(i, k, "length"), expected, len));
        }
        let data = r.take(usize::from(len) - 4, Field::area(i, k, "data"))?.to_vec();
        areas.push(ExtendedData { type_code, data });
    }
    Ok(areas)
}

/// Bytes of the finger views as encoded, after checking every count and value fits its field.
pub(crate) fn views_len(views: &[FingerView]) -> Result<usize, TemplateError> {
    if views.len() > MAX_COUNT {
        return Err(too_large(Field::header("number of finger views"), views.len(), "255"));
    }
    let mut total = 0;
    for (i, v) in views.iter().enumerate() {
        if v.view_number > 0x0F {
            return Err(too_large(Field::view(i, "view number"), v.view_number.into(), "4 bits"));
        }
        if v.impression_type > 0x0F {
            return Err(too_large(Field::view(i, "impression type"), v.impression_type.into(), "4 bits"));
        }
        if v.minutiae.len() > MAX_COUNT {
            return Err(too_large(Field::view(i, "number of minutiae"), v.minutiae.len(), "255"));
        }
        for (j, m) in v.minutiae.iter().enumerate() {
            if m.x > MAX_COORD {
                return Err(too_large(Field::minutia(i, j, "x"), m.x.into(), "14 bits"));
            }
            if m.y > MAX_COORD {
                return Err(too_large(Field::minutia(i, j, "y"), m.y.into(), "14 bits"));
            }
        }
        total += 4 + 6 * v.minutiae.len() + 2 + extended_len(v, i)?;
    }
    Ok(total)
}

fn extended_len(v: &FingerView, i: usize) -> Result<usize, TemplateError> {
    let mut total = 0;
    for (k, a) in v.extended_data.iter().enumerate() {
        let len = 4 + a.data.len();
        if len > usize::from(u16::MAX) {
            return Err(too_large(Field::area(i, k, "length"), len, "65535 bytes"));
        }
        total += len;
    }
    if total > usize::from(u16::MAX) {
        return Err(too_large(Field::view(i, "extended data block length"), total, "65535 bytes"));
    }
    Ok(total)
}

pub(crate) fn check_equipment(e: CaptureEquipment) -> Result<(), TemplateError> {
    if e.compliance > 0x0F {
        return Err(too_large(Field::header("capture equipment compliance"), e.compliance.into(), "4 bits"));
    }
    if e.device_id > 0x0FFF {
        return Err(too_large(Field::header("capture equipment device id"), e.device_id.into(), "12 bits"));
    }
    Ok(())
}

/// Writes views that [`views_len`] accepted.
pub(crate) fn write_views(out: &mut Vec<u8>, views: &[FingerView]) {
    for v in views {
        out.push(v.finger_position);
        out.push((v.view_number << 4) | v.impression_type);
        out.push(v.quality);
        out.push(v.minutiae.len() as u8);
        for m in &v.minutiae {
            let kind: u16 = match m.kind {
                MinutiaKind::Other => 0b00,
                MinutiaKind::Ending => 0b01,
                MinutiaKind::Bifurcation => 0b10,
            };
            out.extend_from_slice(&((kind << 14) | m.x).to_be_bytes());
            out.extend_from_slice(&m.y.to_be_bytes());
            out.push(m.angle);
            out.push(m.quality);
        }
        let block: usize = v.extended_data.iter().map(|a| 4 + a.data.len()).sum();
        out.extend_from_slice(&(block as u16).to_be_bytes());
        for a in &v.extended_data {
            out.extend_from_slice(&a.type_code.to_be_bytes());
            out.extend_from_slice(&((4 + a.data.len()) as u16).to_be_bytes());
            out.extend_from_slice(&a.data);
        }
    }
}

/// Offsets of the header fields from the capture equipment on, and of the first view.
struct Layout {
    equipment: usize,
    views: usize,
}

impl FingerMinutiaeRecord {
    fn layout(&self) -> Layout {
        match self.format {
            Format::Iso2005 => Layout { equipment: 12, views: 24 },
            Format::Ansi2004 => {
                let long = views_len(&self.views).is_ok_and(|n| 26 + n > usize::from(u16::MAX));
                if long { Layout { equipment: 18, views: 30 } } else { Layout { equipment: 14, views: 26 } }
            }
        }
    }

    /// Everything the standard forbids that decoding tolerates, in record order (empty: conformant).
    ///
    /// Checked: non-zero resolutions and (ANSI) vendor id, reserved compliance bits, finger positions 0-10,
    /// impression types (0-3 and 8; ANSI also 9), view numbers counting up from 0 per finger, qualities 0-100,
    /// coordinates inside the image, ANSI angles 0-179, extended data type codes outside the reserved range.
    /// Structural limits (counts, bit widths) are [`crate::template::encode`]'s errors, not listed here.
    pub fn check(&self) -> Vec<TemplateError> {
        let mut issues = Vec::new();
        let layout = self.layout();
        let e = layout.equipment;
        if let Some(p) = self.product
            && p.vendor_id == 0
        {
            let expected = format!("a registered non-zero vendor id ({:#06x} = unknown)", ProductId::VENDOR_UNKNOWN);
            issues.push(invalid(e - 4, Field::header("vendor id"), expected, 0));
        }
        if self.capture_equipment.compliance & 0x07 != 0 {
            let found = format!("{:04b}", self.capture_equipment.compliance);
            issues.push(invalid(e, Field::header("capture equipment compliance"), "reserved bits 0 (x000)", found));
        }
        for (offset, name, value) in
            [(e + 6, "x resolution", self.x_resolution), (e + 8, "y resolution", self.y_resolution)]
        {
            if value == 0 {
                issues.push(invalid(offset, Field::header(name), "non-zero pixels per centimetre", 0));
            }
        }
        let mut next_view = [0u8; 256];
        let mut offset = layout.views;
        for (i, v) in self.views.iter().enumerate() {
            self.check_view(i, v, offset, &mut next_view, &mut issues);
            offset += 4 + 6 * v.minutiae.len() + 2 + v.extended_data.iter().map(|a| 4 + a.data.len()).sum::<usize>();
        }
        issues
    }

    fn check_view(&self, i: usize, v: &FingerView, at: usize, next: &mut [u8; 256], issues: &mut Vec<TemplateError>) {
        if v.finger_position > 10 {
            issues.push(invalid(at, Field::view(i, "finger position"), "0-10", v.finger_position));
        }
        let expected_view = next[usize::from(v.finger_position)];
        if v.view_number != expected_view {
            let expected = format!("{expected_view} (views of a finger are numbered 0, 1, ... in record order)");
            issues.push(invalid(at + 1, Field::view(i, "view number"), expected, v.view_number));
        }
        next[usize::from(v.finger_position)] = v.view_number.saturating_add(1);
        let impressions: &[u8] = match self.format {
            Format::Iso2005 => &[0, 1, 2, 3, 8],
            Format::Ansi2004 => &[0, 1, 2, 3, 8, 9],
        };
        if !impressions.contains(&v.impression_type) {
            let expected = format!("one of {impressions:?}");
            issues.push(invalid(at + 1, Field::view(i, "impression type"), expected, v.impression_type));
        }
        if v.quality > 100 {
            issues.push(invalid(at + 2, Field::view(i, "finger quality"), "0-100", v.quality));
        }
        for (j, m) in v.minutiae.iter().enumerate() {
            let at = at + 4 + 6 * j;
            if m.x >= self.width {
                let expected = format!("less than the image width {}", self.width);
                issues.push(invalid(at, Field::minutia(i, j, "x"), expected, m.x));
            }
            if m.y >= self.height {
                let expected = format!("less than the image height {}", self.height);
                issues.push(invalid(at + 2, Field::minutia(i, j, "y"), expected, m.y));
            }
            if self.format == Format::Ansi2004 && m.angle > 179 {
                issues.push(invalid(at + 4, Field::minutia(i, j, "angle"), "0-179 (2-degree units)", m.angle));
            }
            if m.quality > 100 {
                issues.push(invalid(at + 5, Field::minutia(i, j, "quality"), "0-100", m.quality));
            }
        }
        let mut at = at + 4 + 6 * v.minutiae.len() + 2;
        let last_defined = match self.format {
            Format::Iso2005 => ExtendedData::ZONAL_QUALITY,
            Format::Ansi2004 => ExtendedData::CORE_AND_DELTA,
        };
        for (k, a) in v.extended_data.iter().enumerate() {
            if a.type_code == 0 || (a.type_code > last_defined && a.type_code < 0x0100) {
                let expected = format!("1-{last_defined} or a vendor code 0x0100-0xffff");
                issues.push(invalid(at, Field::area(i, k, "type code"), expected, format!("{:#06x}", a.type_code)));
            }
            at += 4 + a.data.len();
        }
    }

    /// A one-view record of `minutiae` (view 0, live-scan plain, unreported device).
    ///
    /// Coordinates are rounded and clamped to the image and to 14 bits, angles rounded to the format's unit,
    /// qualities clamped to 100, dpi converted to pixels per centimetre (500 dpi = 197). A view holds at most
    /// 255 minutiae: beyond that the highest-quality ones are kept (the earlier on ties), in their order.
    pub fn from_minutiae(minutiae: &Minutiae, format: Format, finger_position: u8) -> Self {
        let max_x = minutiae.width.saturating_sub(1).min(MAX_COORD);
        let max_y = minutiae.height.saturating_sub(1).min(MAX_COORD);
        let points = best(&minutiae.points, MAX_COUNT)
            .into_iter()
            .map(|p| RecordMinutia {
                kind: p.kind,
                x: coordinate(p.x, max_x),
                y: coordinate(p.y, max_y),
                angle: format.angle_from_radians(p.angle),
                quality: p.quality.min(100),
            })
            .collect();
        let resolution = (f64::from(minutiae.dpi) / 2.54).round() as u16;
        Self {
            format,
            product: match format {
                Format::Iso2005 => None,
                Format::Ansi2004 => Some(ProductId { vendor_id: ProductId::VENDOR_UNKNOWN, subformat: 0 }),
            },
            capture_equipment: CaptureEquipment::default(),
            width: minutiae.width,
            height: minutiae.height,
            x_resolution: resolution,
            y_resolution: resolution,
            views: vec![FingerView {
                finger_position,
                view_number: 0,
                impression_type: 0,
                quality: minutiae.quality.min(100),
                minutiae: points,
                extended_data: Vec::new(),
            }],
        }
    }

    /// The minutiae of view `index`, in the crate's units: pixels, radians, dpi from the x resolution
    /// (197 px/cm = 500 dpi). Extended data is dropped.
    pub fn view_minutiae(&self, index: usize) -> Option<Minutiae> {
        let view = self.views.get(index)?;
        Some(Minutiae {
            width: self.width,
            height: self.height,
            dpi: (f64::from(self.x_resolution) * 2.54).round().min(f64::from(u16::MAX)) as u16,
            quality: view.quality,
            points: view
                .minutiae
                .iter()
                .map(|m| {
                    let angle = self.format.angle_to_radians(m.angle);
                    Minutia::new(f32::from(m.x), f32::from(m.y), angle, m.kind, m.quality)
                })
                .collect(),
        })
    }
}

fn coordinate(v: f32, max: u16) -> u16 {
    if v.is_nan() { 0 } else { v.round().clamp(0.0, f32::from(max)) as u16 }
}

/// The `n` highest-quality points (earlier first on ties), in their original order.
fn best(points: &[Minutia], n: usize) -> Vec<Minutia> {
    if points.len() <= n {
        return points.to_vec();
    }
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(points[i].quality), i));
    order.truncate(n);
    order.sort_unstable();
    order.into_iter().map(|i| points[i]).collect()
}

/// The first view's minutiae, or an error naming the empty view count.
pub(crate) fn first_view(rec: &FingerMinutiaeRecord) -> Result<Minutiae, TemplateError> {
    let offset = rec.layout().equipment + 10;
    rec.view_minutiae(0).ok_or_else(|| invalid(offset, Field::header("number of finger views"), "at least 1", 0))
}
