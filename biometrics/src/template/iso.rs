//! ISO/IEC 19794-2:2005 record header: `FMR\0`, ` 20\0`, a 4-byte record length, then the fields both formats
//! share (24 bytes in all).

use super::record::{self, Field, FingerMinutiaeRecord, Format, Reader, TemplateError};
use crate::minutia::Minutiae;

const HEADER_LEN: usize = 24;

/// Decodes an ISO/IEC 19794-2:2005 finger minutiae record that fills `bytes` exactly.
pub fn decode_iso(bytes: &[u8]) -> Result<FingerMinutiaeRecord, TemplateError> {
    let mut r = Reader::new(bytes);
    record::read_magic(&mut r)?;
    let field = Field::header("record length");
    let declared = r.u32(field)?;
    if u64::from(declared) != bytes.len() as u64 {
        return Err(TemplateError::LengthMismatch { declared: declared.into(), actual: bytes.len() });
    }
    if (declared as usize) < HEADER_LEN {
        return Err(record::invalid(8, field, format!("at least {HEADER_LEN} (the header)"), declared));
    }
    let g = record::read_geometry(&mut r)?;
    let views = record::read_views(&mut r, g.views)?;
    Ok(FingerMinutiaeRecord {
        format: Format::Iso2005,
        product: None,
        capture_equipment: g.capture_equipment,
        width: g.width,
        height: g.height,
        x_resolution: g.x_resolution,
        y_resolution: g.y_resolution,
        views,
    })
}

/// Encodes a record whose format is ISO (the caller dispatches on it).
pub(crate) fn encode_iso(rec: &FingerMinutiaeRecord) -> Result<Vec<u8>, TemplateError> {
    if rec.product.is_some() {
        let problem = "ISO/IEC 19794-2 headers have no product identifier; set it to None".to_string();
        return Err(TemplateError::Unencodable { field: "product identifier".into(), problem });
    }
    record::check_equipment(rec.capture_equipment)?;
    let total = HEADER_LEN + record::views_len(&rec.views)?;
    // At most 255 views of 4 + 255 * 6 + 2 + 65535 bytes: always fits the 4-byte length.
    let length = u32::try_from(total).map_err(|_| TemplateError::TooLarge {
        field: "record length".into(),
        value: total as u64,
        limit: "4 bytes",
    })?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(record::MAGIC);
    out.extend_from_slice(record::VERSION);
    out.extend_from_slice(&length.to_be_bytes());
    record::write_geometry(&mut out, rec);
    record::write_views(&mut out, &rec.views);
    debug_assert_eq!(out.len(), total);
    Ok(out)
}

/// A one-view ISO record of `minutiae`; see [`FingerMinutiaeRecord::from_minutiae`] for the quantisation.
pub fn iso_from_minutiae(minutiae: &Minutiae, finger_position: u8) -> Vec<u8> {
    encode_iso(&FingerMinutiaeRecord::from_minutiae(minutiae, Format::Iso2005, finger_position))
        .expect("a record built from minutiae fits every field")
}

/// The first view of an ISO record as [`Minutiae`]; [`decode_iso`] and
/// [`FingerMinutiaeRecord::view_minutiae`] give the others.
pub fn minutiae_from_iso(bytes: &[u8]) -> Result<Minutiae, TemplateError> {
    record::first_view(&decode_iso(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minutia::MinutiaKind;
    use crate::template::{ExtendedData, RecordMinutia, encode};

    /// Two views of finger 7, written field by field from the ISO/IEC 19794-2:2005 layout.
    #[rustfmt::skip]
    const RECORD: &[u8] = &[
        b'F', b'M', b'R', 0,    //  0: format identifier "FMR\0"
        b' ', b'2', b'0', 0,    //  4: version " 20\0"
        0x00, 0x00, 0x00, 59,   //  8: record length 59 (u32)
        0x81, 0x23,             // 12: compliance 1000 (certified) | device id 0x123
        0x01, 0x2C,             // 14: width 300
        0x01, 0x90,             // 16: height 400
        0x00, 0xC5,             // 18: x resolution 197 px/cm
        0x00, 0xC4,             // 20: y resolution 196 px/cm
        2,                      // 22: number of finger views
        0,                      // 23: reserved
        // view 0
        7,                      // 24: finger position 7 (left index)
        0x08,                   // 25: view number 0 | impression type 8 (swipe)
        90,                     // 26: finger quality
        2,                      // 27: number of minutiae
        0x40, 100,              // 28: type 01 (ending) | x 100
        0x00, 14,               // 30: reserved 00 | y 14
        80,                     // 32: angle 80 * 1.40625 = 112.5 degrees
        90,                     // 33: quality
        0x81, 0x2B,             // 34: type 10 (bifurcation) | x 299
        0x01, 0x8F,             // 36: reserved 00 | y 399
        255,                    // 38: angle 255 * 1.40625 = 358.59375 degrees
        0,                      // 39: quality 0 (not reported)
        0x00, 11,               // 40: extended data block length 11
        0x00, 0x01,             // 42: area type 0x0001 (ridge counts)
        0x00, 11,               // 44: area length 11, counting these 4 bytes
        0x01,                   // 46: extraction method 1 (four-neighbour)
        0, 1, 5,                // 47: minutiae 0 and 1, 5 ridges
        1, 0, 5,                // 50: minutiae 1 and 0, 5 ridges
        // view 1
        7,                      // 53: finger position 7
        0x18,                   // 54: view number 1 | impression type 8
        0,                      // 55: finger quality 0
        0,                      // 56: number of minutiae
        0x00, 0x00,             // 57: extended data block length 0
    ];

    #[test]
    fn decodes_every_field_of_a_hand_built_record() {
        let rec = decode_iso(RECORD).unwrap();
        assert_eq!(rec.format, Format::Iso2005);
        assert_eq!(rec.product, None);
        assert_eq!((rec.capture_equipment.compliance, rec.capture_equipment.device_id), (0b1000, 0x123));
        assert_eq!((rec.width, rec.height, rec.x_resolution, rec.y_resolution), (300, 400, 197, 196));
        assert_eq!(rec.views.len(), 2);
        let v = &rec.views[0];
        assert_eq!((v.finger_position, v.view_number, v.impression_type, v.quality), (7, 0, 8, 90));
        assert_eq!(
            v.minutiae,
            [
                RecordMinutia { kind: MinutiaKind::Ending, x: 100, y: 14, angle: 80, quality: 90 },
                RecordMinutia { kind: MinutiaKind::Bifurcation, x: 299, y: 399, angle: 255, quality: 0 },
            ]
        );
        assert_eq!(v.extended_data, [ExtendedData { type_code: 1, data: vec![1, 0, 1, 5, 1, 0, 5] }]);
        let v = &rec.views[1];
        assert_eq!((v.finger_position, v.view_number, v.impression_type, v.quality), (7, 1, 8, 0));
        assert!(v.minutiae.is_empty() && v.extended_data.is_empty());
        assert!(rec.check().is_empty(), "{:?}", rec.check());
        assert_eq!(encode(&rec).unwrap(), RECORD);
    }

    #[test]
    fn converts_units_to_minutiae() {
        let m = minutiae_from_iso(RECORD).unwrap();
        assert_eq!((m.width, m.height, m.dpi, m.quality), (300, 400, 500, 90));
        let p = m.points[0];
        assert_eq!((p.x, p.y, p.kind, p.quality), (100.0, 14.0, MinutiaKind::Ending, 90));
        assert!((p.angle.to_degrees() - 112.5).abs() < 1e-4);
        assert!((m.points[1].angle.to_degrees() - 358.593_75).abs() < 1e-3);
    }

    #[test]
    fn writes_minutiae_in_iso_units() {
        use crate::minutia::Minutia;
        let m = Minutiae {
            width: 300,
            height: 400,
            dpi: 500,
            quality: 120,
            points: vec![
                // 90 degrees = 64 units; x rounds down, y clamps to the image.
                Minutia::new(10.4, 999.0, std::f32::consts::FRAC_PI_2, MinutiaKind::Bifurcation, 101),
                // 359.5 degrees rounds to 256 units, which wraps to 0; negative x clamps to 0.
                Minutia::new(-3.0, 0.5, 359.5_f32.to_radians(), MinutiaKind::Other, 7),
            ],
        };
        let bytes = iso_from_minutiae(&m, 2);
        #[rustfmt::skip]
        let expected: &[u8] = &[
            b'F', b'M', b'R', 0, b' ', b'2', b'0', 0,
            0, 0, 0, 42,            // record length 24 + 4 + 2 * 6 + 2
            0, 0,                   // no certification, device 0
            0x01, 0x2C, 0x01, 0x90, // 300 x 400
            0, 197, 0, 197,         // 500 dpi = 197 px/cm
            1, 0,                   // one view, reserved
            2, 0x00, 100, 2,        // finger 2, view 0 live-scan plain, quality clamped to 100, 2 minutiae
            0x80, 10, 0x01, 0x8F, 64, 100,
            0x00, 0, 0x00, 1, 0, 7, // y 0.5 rounds half away from zero
            0, 0,                   // no extended data
        ];
        assert_eq!(bytes, expected);
    }

    #[test]
    fn names_the_field_offset_and_expectation() {
        let err = |bytes: &[u8]| decode_iso(bytes).unwrap_err().to_string();
        let mut bad = RECORD.to_vec();
        bad[4..8].copy_from_slice(b"030\0");
        assert_eq!(
            err(&bad),
            "byte 4: format version: expected \" 20\\0\" (ISO 19794-2:2005 / ANSI 378-2004; later editions are not \
             supported), found \"030\\0\""
        );
        assert_eq!(err(&RECORD[..40]), "record length field says 59 bytes, input has 40");
        assert_eq!(err(&RECORD[..10]), "byte 8: record length: needs 4 bytes, only 2 left in the record");
        assert_eq!(err(b"FMX\0"), "byte 0: format identifier: expected \"FMR\\0\", found \"FMX\\0\"");

        let mut bad = RECORD.to_vec();
        bad[34] |= 0xC0;
        assert_eq!(
            err(&bad),
            "byte 34: view 0 minutia 1: type: expected type bits 00 (other), 01 (ridge ending) or 10 (bifurcation), \
             found 11 (reserved)"
        );
        let mut bad = RECORD.to_vec();
        bad[30] = 0x40;
        assert_eq!(err(&bad), "byte 30: view 0 minutia 0: reserved bits above y: expected 00, found 01");
        let mut bad = RECORD.to_vec();
        bad[23] = 1;
        assert_eq!(err(&bad), "byte 23: reserved byte: expected 0, found 1");
        let mut bad = RECORD.to_vec();
        bad[45] = 3;
        assert_eq!(
            err(&bad),
            "byte 44: view 0 extended data area 0: length: expected at least 4 (the length counts the area's type \
             and length fields), found 3"
        );
        let mut bad = RECORD.to_vec();
        bad[45] = 12;
        assert_eq!(
            err(&bad),
            "byte 46: view 0 extended data area 0: data: needs 8 bytes, only 7 left in the extended data block"
        );
        let mut bad = RECORD.to_vec();
        bad[22] = 1; // one view declared, two present
        assert_eq!(
            err(&bad),
            "byte 53: end of record: expected the end of the record after 1 finger view, found 6 more bytes"
        );
        let mut bad = RECORD.to_vec();
        bad[22] = 3;
        assert_eq!(err(&bad), "byte 59: view 2: finger position: needs 1 byte, only 0 left in the record");
        let mut bad = RECORD[..12].to_vec();
        bad[11] = 12;
        assert_eq!(err(&bad), "byte 8: record length: expected at least 24 (the header), found 12");
    }
}
