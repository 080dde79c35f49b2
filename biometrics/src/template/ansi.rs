//! ANSI INCITS 378-2004 record header: `FMR\0`, ` 20\0`, the record length in 2 bytes (or `0000` and 4 bytes
//! when the record exceeds 65535 bytes), the CBEFF product identifier, then the fields both formats share
//! (26 or 30 bytes in all).

use super::record::{self, Field, FingerMinutiaeRecord, Format, ProductId, Reader, TemplateError};
use crate::minutia::Minutiae;

const SHORT_HEADER_LEN: usize = 26;
const LONG_HEADER_LEN: usize = 30;

/// Decodes an ANSI INCITS 378-2004 finger minutiae record that fills `bytes` exactly.
///
/// The 6-byte length form is accepted only for records over 65535 bytes, as the standard prescribes, so that
/// every decoded record encodes back to the same bytes.
pub fn decode_ansi(bytes: &[u8]) -> Result<FingerMinutiaeRecord, TemplateError> {
    let mut r = Reader::new(bytes);
    record::read_magic(&mut r)?;
    let field = Field::header("record length");
    let short = r.u16(field)?;
    let (declared, header_len) = if short == 0 {
        let long_field = Field::header("record length (6-byte form)");
        let long = r.u32(long_field)?;
        if u64::from(long) != bytes.len() as u64 {
            return Err(TemplateError::LengthMismatch { declared: long.into(), actual: bytes.len() });
        }
        if u16::try_from(long).is_ok() {
            let expected = "more than 65535 (shorter records use the 2-byte form)";
            return Err(record::invalid(10, long_field, expected, long));
        }
        (long as usize, LONG_HEADER_LEN)
    } else {
        if usize::from(short) != bytes.len() {
            return Err(TemplateError::LengthMismatch { declared: short.into(), actual: bytes.len() });
        }
        if usize::from(short) < SHORT_HEADER_LEN {
            let expected = format!("at least {SHORT_HEADER_LEN} (the header), or 0 for the 6-byte form");
            return Err(record::invalid(8, field, expected, short));
        }
        (usize::from(short), SHORT_HEADER_LEN)
    };
    debug_assert!(declared >= header_len);
    let vendor_id = r.u16(Field::header("vendor id"))?;
    let subformat = r.u16(Field::header("subformat"))?;
    let g = record::read_geometry(&mut r)?;
    let views = record::read_views(&mut r, g.views)?;
    Ok(FingerMinutiaeRecord {
        format: Format::Ansi2004,
        product: Some(ProductId { vendor_id, subformat }),
        capture_equipment: g.capture_equipment,
        width: g.width,
        height: g.height,
        x_resolution: g.x_resolution,
        y_resolution: g.y_resolution,
        views,
    })
}

/// Encodes a record whose format is ANSI (the caller dispatches on it).
pub(crate) fn encode_ansi(rec: &FingerMinutiaeRecord) -> Result<Vec<u8>, TemplateError> {
    let Some(product) = rec.product else {
        let problem = "ANSI INCITS 378 headers need a product identifier (vendor id and subformat)".to_string();
        return Err(TemplateError::Unencodable { field: "product identifier".into(), problem });
    };
    record::check_equipment(rec.capture_equipment)?;
    let body = record::views_len(&rec.views)?;
    let short_total = SHORT_HEADER_LEN + body;
    let mut out;
    if let Ok(length) = u16::try_from(short_total) {
        out = Vec::with_capacity(short_total);
        out.extend_from_slice(record::MAGIC);
        out.extend_from_slice(record::VERSION);
        out.extend_from_slice(&length.to_be_bytes());
    } else {
        let total = LONG_HEADER_LEN + body;
        // At most 255 views of 4 + 255 * 6 + 2 + 65535 bytes: always fits the 4-byte length.
        let length = u32::try_from(total).map_err(|_| TemplateError::TooLarge {
            field: "record length".into(),
            value: total as u64,
            limit: "4 bytes",
        })?;
        out = Vec::with_capacity(total);
        out.extend_from_slice(record::MAGIC);
        out.extend_from_slice(record::VERSION);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&length.to_be_bytes());
    }
    out.extend_from_slice(&product.vendor_id.to_be_bytes());
    out.extend_from_slice(&product.subformat.to_be_bytes());
    record::write_geometry(&mut out, rec);
    record::write_views(&mut out, &rec.views);
    Ok(out)
}

/// A one-view ANSI record of `minutiae` (vendor [`ProductId::VENDOR_UNKNOWN`], subformat 0); see
/// [`FingerMinutiaeRecord::from_minutiae`] for the quantisation.
pub fn ansi_from_minutiae(minutiae: &Minutiae, finger_position: u8) -> Vec<u8> {
    encode_ansi(&FingerMinutiaeRecord::from_minutiae(minutiae, Format::Ansi2004, finger_position))
        .expect("a record built from minutiae fits every field")
}

/// The first view of an ANSI record as [`Minutiae`]; [`decode_ansi`] and
/// [`FingerMinutiaeRecord::view_minutiae`] give the others.
pub fn minutiae_from_ansi(bytes: &[u8]) -> Result<Minutiae, TemplateError> {
    record::first_view(&decode_ansi(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minutia::MinutiaKind;
    use crate::template::{CaptureEquipment, ExtendedData, FingerView, RecordMinutia, encode};

    /// The ISO test record's content in ANSI INCITS 378-2004 layout, field by field.
    #[rustfmt::skip]
    const RECORD: &[u8] = &[
        b'F', b'M', b'R', 0,    //  0: format identifier "FMR\0"
        b' ', b'2', b'0', 0,    //  4: version " 20\0"
        0x00, 61,               //  8: record length 61 (2-byte form)
        0x01, 0x03,             // 10: vendor id (CBEFF product owner) 0x0103
        0x00, 0x07,             // 12: subformat (CBEFF product type) 7
        0x81, 0x23,             // 14: compliance 1000 (Appendix F) | device id 0x123
        0x01, 0x2C,             // 16: width 300
        0x01, 0x90,             // 18: height 400
        0x00, 0xC5,             // 20: x resolution 197 px/cm
        0x00, 0xC4,             // 22: y resolution 196 px/cm
        2,                      // 24: number of finger views
        0,                      // 25: reserved
        // view 0
        7,                      // 26: finger position 7 (left index)
        0x08,                   // 27: view number 0 | impression type 8 (swipe)
        90,                     // 28: finger quality
        2,                      // 29: number of minutiae
        0x40, 100,              // 30: type 01 (ending) | x 100
        0x00, 14,               // 32: reserved 00 | y 14
        56,                     // 34: angle 56 * 2 = 112 degrees
        90,                     // 35: quality
        0x81, 0x2B,             // 36: type 10 (bifurcation) | x 299
        0x01, 0x8F,             // 38: reserved 00 | y 399
        179,                    // 40: angle 179 * 2 = 358 degrees
        0,                      // 41: quality 0 (not reported)
        0x00, 11,               // 42: extended data block length 11
        0x00, 0x01,             // 44: area type 0x0001 (ridge counts)
        0x00, 11,               // 46: area length 11, counting these 4 bytes
        0x01,                   // 48: extraction method 1 (four-neighbour)
        0, 1, 5,                // 49: minutiae 0 and 1, 5 ridges
        1, 0, 5,                // 52: minutiae 1 and 0, 5 ridges
        // view 1
        7,                      // 55: finger position 7
        0x18,                   // 56: view number 1 | impression type 8
        0,                      // 57: finger quality 0
        0,                      // 58: number of minutiae
        0x00, 0x00,             // 59: extended data block length 0
    ];

    #[test]
    fn decodes_every_field_of_a_hand_built_record() {
        let rec = decode_ansi(RECORD).unwrap();
        assert_eq!(rec.format, Format::Ansi2004);
        assert_eq!(rec.product, Some(ProductId { vendor_id: 0x0103, subformat: 7 }));
        assert_eq!((rec.capture_equipment.compliance, rec.capture_equipment.device_id), (0b1000, 0x123));
        assert_eq!((rec.width, rec.height, rec.x_resolution, rec.y_resolution), (300, 400, 197, 196));
        assert_eq!(rec.views.len(), 2);
        let v = &rec.views[0];
        assert_eq!((v.finger_position, v.view_number, v.impression_type, v.quality), (7, 0, 8, 90));
        assert_eq!(
            v.minutiae,
            [
                RecordMinutia { kind: MinutiaKind::Ending, x: 100, y: 14, angle: 56, quality: 90 },
                RecordMinutia { kind: MinutiaKind::Bifurcation, x: 299, y: 399, angle: 179, quality: 0 },
            ]
        );
        assert_eq!(v.extended_data, [ExtendedData { type_code: 1, data: vec![1, 0, 1, 5, 1, 0, 5] }]);
        let v = &rec.views[1];
        assert_eq!((v.finger_position, v.view_number, v.impression_type, v.quality), (7, 1, 8, 0));
        assert!(v.minutiae.is_empty() && v.extended_data.is_empty());
        assert!(rec.check().is_empty(), "{:?}", rec.check());
        assert_eq!(encode(&rec).unwrap(), RECORD);

        let m = minutiae_from_ansi(RECORD).unwrap();
        assert_eq!((m.width, m.height, m.dpi, m.quality), (300, 400, 500, 90));
        assert!((m.points[0].angle.to_degrees() - 112.0).abs() < 1e-4);
        assert!((m.points[1].angle.to_degrees() - 358.0).abs() < 1e-3);
    }

    #[test]
    fn writes_minutiae_in_two_degree_units() {
        use crate::minutia::Minutia;
        let m = Minutiae {
            width: 64,
            height: 64,
            dpi: 500,
            quality: 50,
            points: vec![
                Minutia::new(1.0, 2.0, 3.0_f32.to_radians(), MinutiaKind::Ending, 40), // 1.5 units rounds to 2
                Minutia::new(3.0, 4.0, 359.2_f32.to_radians(), MinutiaKind::Other, 0), // 179.6 rounds to 180 = 0
            ],
        };
        let bytes = ansi_from_minutiae(&m, 0);
        #[rustfmt::skip]
        let expected: &[u8] = &[
            b'F', b'M', b'R', 0, b' ', b'2', b'0', 0,
            0, 44,                  // record length 26 + 4 + 2 * 6 + 2
            0x01, 0x03, 0, 0,       // vendor unknown, subformat 0
            0, 0,                   // no certification, device 0
            0, 64, 0, 64,           // 64 x 64
            0, 197, 0, 197,         // 500 dpi = 197 px/cm
            1, 0,                   // one view, reserved
            0, 0x00, 50, 2,         // finger 0 (unknown), view 0 live-scan plain, quality 50, 2 minutiae
            0x40, 1, 0, 2, 2, 40,
            0x00, 3, 0, 4, 0, 0,
            0, 0,                   // no extended data
        ];
        assert_eq!(bytes, expected);
    }

    /// One view whose extended data takes the record to `total` bytes in the 2-byte form.
    fn record_of_length(total: usize) -> FingerMinutiaeRecord {
        // Header, view header, block length, two area headers (two areas keep each under 65531 data bytes).
        let data_len = total - SHORT_HEADER_LEN - 4 - 2 - 2 * 4;
        FingerMinutiaeRecord {
            format: Format::Ansi2004,
            product: Some(ProductId { vendor_id: 0xFFFE, subformat: 1 }),
            capture_equipment: CaptureEquipment::default(),
            width: 1,
            height: 1,
            x_resolution: 197,
            y_resolution: 197,
            views: vec![FingerView {
                finger_position: 1,
                view_number: 0,
                impression_type: 0,
                quality: 0,
                minutiae: Vec::new(),
                extended_data: vec![
                    ExtendedData { type_code: 0x0100, data: vec![0xAB; data_len / 2] },
                    ExtendedData { type_code: 0x0101, data: vec![0xCD; data_len - data_len / 2] },
                ],
            }],
        }
    }

    #[test]
    fn uses_the_six_byte_length_only_past_65535_bytes() {
        let bytes = encode(&record_of_length(65535)).unwrap();
        assert_eq!((bytes.len(), &bytes[8..10]), (65535, &[0xFF, 0xFF][..]));
        assert_eq!(decode_ansi(&bytes).unwrap(), record_of_length(65535));

        // One more byte needs the long form, whose 4 extra header bytes make it 65540.
        let rec = record_of_length(65536);
        let bytes = encode(&rec).unwrap();
        assert_eq!((bytes.len(), &bytes[8..14]), (65540, &[0, 0, 0x00, 0x01, 0x00, 0x04][..]));
        assert_eq!(&bytes[14..18], &[0xFF, 0xFE, 0, 1]);
        assert_eq!(decode_ansi(&bytes).unwrap(), rec);
        assert_eq!(crate::template::decode_any(&bytes).unwrap(), rec);
    }

    #[test]
    fn rejects_a_six_byte_length_on_a_short_record() {
        let mut long = RECORD[..8].to_vec();
        long.extend_from_slice(&[0, 0, 0, 0, 0, 65]);
        long.extend_from_slice(&RECORD[10..]);
        assert_eq!(
            decode_ansi(&long).unwrap_err().to_string(),
            "byte 10: record length (6-byte form): expected more than 65535 (shorter records use the 2-byte form), \
             found 65"
        );
        assert_eq!(
            decode_ansi(&RECORD[..60]).unwrap_err().to_string(),
            "record length field says 61 bytes, input has 60"
        );
    }

    #[test]
    fn refuses_to_encode_what_does_not_fit() {
        let mut rec = decode_ansi(RECORD).unwrap();
        rec.views[0].minutiae[1].x = 20000;
        assert_eq!(encode(&rec).unwrap_err().to_string(), "view 0 minutia 1: x 20000 exceeds 14 bits");
        rec.views[0].minutiae[1].x = 0;
        rec.views[1].view_number = 16;
        assert_eq!(encode(&rec).unwrap_err().to_string(), "view 1: view number 16 exceeds 4 bits");
        rec.views[1].view_number = 1;
        rec.capture_equipment.device_id = 0x1000;
        assert_eq!(encode(&rec).unwrap_err().to_string(), "capture equipment device id 4096 exceeds 12 bits");
        rec.capture_equipment.device_id = 0;
        rec.product = None;
        assert_eq!(
            encode(&rec).unwrap_err().to_string(),
            "product identifier: ANSI INCITS 378 headers need a product identifier (vendor id and subformat)"
        );
    }

    #[test]
    fn check_lists_what_decoding_tolerates() {
        let mut bytes = RECORD.to_vec();
        bytes[10..12].copy_from_slice(&[0, 0]); // vendor id 0
        bytes[26] = 11; // finger position 11
        bytes[27] = 0x14; // view number 1 for the finger's first view, impression type 4
        bytes[30..32].copy_from_slice(&[0x41, 0x2C]); // ending at x 300 = width
        bytes[40] = 180; // angle past 179
        bytes[41] = 101; // quality past 100
        bytes[44..46].copy_from_slice(&[0, 0x03]); // type code 3: reserved in ANSI
        let rec = decode_ansi(&bytes).unwrap();
        let issues: Vec<String> = rec.check().iter().map(ToString::to_string).collect();
        assert_eq!(
            issues,
            [
                "byte 10: vendor id: expected a registered non-zero vendor id (0x0103 = unknown), found 0",
                "byte 26: view 0: finger position: expected 0-10, found 11",
                "byte 27: view 0: view number: expected 0 (views of a finger are numbered 0, 1, ... in record order), \
                 found 1",
                "byte 27: view 0: impression type: expected one of [0, 1, 2, 3, 8, 9], found 4",
                "byte 30: view 0 minutia 0: x: expected less than the image width 300, found 300",
                "byte 40: view 0 minutia 1: angle: expected 0-179 (2-degree units), found 180",
                "byte 41: view 0 minutia 1: quality: expected 0-100, found 101",
                "byte 44: view 0 extended data area 0: type code: expected 1-2 or a vendor code 0x0100-0xffff, found \
                 0x0003",
                // Finger 7's first view is now view 1.
                "byte 56: view 1: view number: expected 0 (views of a finger are numbered 0, 1, ... in record order), \
                 found 1",
            ]
        );
    }
}
