//! Finger minutiae record codecs: the standards' annex examples, round trips and robustness.

use std::f32::consts::{PI, TAU};

use khil_biometrics::minutia::angle_diff;
use khil_biometrics::template::{
    CaptureEquipment, ExtendedData, FingerMinutiaeRecord, FingerView, Format, ProductId, RecordMinutia, TemplateError,
    ansi_from_minutiae, decode_ansi, decode_any, decode_iso, detect, encode, iso_from_minutiae, minutiae_from_ansi,
    minutiae_from_iso,
};
use khil_biometrics::{Minutia, MinutiaKind, Minutiae};
use proptest::prelude::*;

/// ANSI INCITS 378-2004 Annex B.2 example record, as shipped in NIST's public-domain BIOMDI
/// (Sampledata/fingerminutia/ANSI-INCITS-378_2004/Appendix-B2_Example.raw): 343 bytes, two views.
const ANSI_ANNEX_B2: &str = concat!(
    "464d52002032300001570042001100b50200020000c500c5020007005a1b4064000e385a40a400112b50803700120b5a",
    "804a0016263c407000162d50802a001f165a809300231a5a405800265328802b002a025040380030114640840031245a",
    "804700322150005f0033295a4070003542328087003a10500029003c1e468043003e495a405b003f425040700041113c",
    "40350047175a8068004a0650404b004f0b5a803000502e5a408200591750803f005f3f50402f006c525a807e0073561e",
    "0000020046164028005d005a8074006400504052005f0646808c00710846407a00870950803700480b32405e004a0c3c",
    "409b003e1550802a00401c46409b00551e50806000c01f50407200562b50808e005a2d4640390089325a4083004b3750",
    "402d00713c50806f00ab4132405f003e4b3c803d00726450808f00487d50403f00689646807d0049af28000b0001000b",
    "0101140c050705",
);

/// ISO/IEC 19794-2:2005 Annex C.2 example, same source (ISO-19794-2_2005/Appendix-C2_Example.raw): the same
/// minutiae in ISO angle units. Its length field says 340 but the record is 341 bytes.
const ISO_ANNEX_C2: &str = concat!(
    "464d5200203230000000015400b50200020000c500c5020007005a1b4064000e505a40a400113c5080370012105a804a",
    "0016363c407000164050802a001f1f5a80930023245a405800267528802b002a035040380030174640840031335a8047",
    "00322f50005f00333a5a407000355e328087003a17500029003c2a468043003e675a405b003f5e5040700041173c4035",
    "0047205a8068004a0950404b004f0f5a80300050415a408200592050803f005f5a50402f006c755a807e00737a1e0000",
    "020046164028005d005a8074006400504052005f0946808c00710b46407a00870d50803700480f32405e004a113c409b",
    "003e1e50802a00402746409b00552a50806000c02c50407200563c50808e005a404640390089475a4083004b4e50402d",
    "00715550806f00ab5c32405f003e6b3c803d00728e50808f0048b250403f0068d546807d0049f928000b0001000b0101",
    "140c050705",
);

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The ISO example with its length field corrected to the 341 bytes it has.
fn iso_annex_fixed() -> Vec<u8> {
    let mut bytes = hex(ISO_ANNEX_C2);
    let len = u32::try_from(bytes.len()).unwrap();
    bytes[8..12].copy_from_slice(&len.to_be_bytes());
    bytes
}

#[test]
fn ansi_annex_example_decodes_and_reencodes() {
    let bytes = hex(ANSI_ANNEX_B2);
    let rec = decode_ansi(&bytes).unwrap();
    assert_eq!(rec.product, Some(ProductId { vendor_id: 0x0042, subformat: 0x0011 }));
    assert_eq!(rec.capture_equipment, CaptureEquipment { compliance: 0, device_id: 0x0B5 });
    assert_eq!((rec.width, rec.height, rec.x_resolution, rec.y_resolution), (512, 512, 197, 197));
    let summary: Vec<_> =
        rec.views.iter().map(|v| (v.finger_position, v.view_number, v.quality, v.minutiae.len())).collect();
    assert_eq!(summary, [(7, 0, 90, 27), (2, 0, 70, 22)]);
    assert_eq!(
        rec.views[0].minutiae[0],
        RecordMinutia { kind: MinutiaKind::Ending, x: 100, y: 14, angle: 56, quality: 90 }
    );
    assert!(rec.views[0].extended_data.is_empty());
    assert_eq!(rec.views[1].extended_data, [ExtendedData { type_code: 1, data: vec![1, 1, 20, 12, 5, 7, 5] }]);
    assert!(rec.check().is_empty(), "{:?}", rec.check());
    assert_eq!(encode(&rec).unwrap(), bytes);
    assert_eq!(detect(&bytes).unwrap(), Format::Ansi2004);
    assert_eq!(decode_any(&bytes).unwrap(), rec);
}

#[test]
fn iso_annex_example_has_an_off_by_one_length() {
    let bytes = hex(ISO_ANNEX_C2);
    let err = decode_iso(&bytes).unwrap_err();
    assert_eq!(err, TemplateError::LengthMismatch { declared: 340, actual: 341 });
    assert_eq!(err.to_string(), "record length field says 340 bytes, input has 341");
    // The header alone still says ISO, so the best-effort decoder reports the same.
    assert_eq!(decode_any(&bytes).unwrap_err(), err);

    let fixed = iso_annex_fixed();
    let rec = decode_iso(&fixed).unwrap();
    assert!(rec.check().is_empty(), "{:?}", rec.check());
    assert_eq!(encode(&rec).unwrap(), fixed);
    assert_eq!(decode_any(&fixed).unwrap(), rec);
}

/// The two annex examples hold the same minutiae, so angles read in their own units must agree: both standards
/// measure counter-clockwise, and the unit difference is at most half an ISO unit plus half an ANSI unit.
#[test]
fn annex_examples_agree_on_angle_direction() {
    let iso = decode_iso(&iso_annex_fixed()).unwrap();
    let ansi = decode_ansi(&hex(ANSI_ANNEX_B2)).unwrap();
    for (vi, va) in iso.views.iter().zip(&ansi.views) {
        assert_eq!(vi.minutiae.len(), va.minutiae.len());
        for (mi, ma) in vi.minutiae.iter().zip(&va.minutiae) {
            assert_eq!((mi.kind, mi.x, mi.y, mi.quality), (ma.kind, ma.x, ma.y, ma.quality));
            let (ai, aa) = (Format::Iso2005.angle_to_radians(mi.angle), Format::Ansi2004.angle_to_radians(ma.angle));
            assert!(angle_diff(ai, aa).to_degrees() <= 0.703_125 + 1.0 + 1e-3, "{} vs {}", mi.angle, ma.angle);
        }
    }
    assert_eq!(minutiae_from_iso(&iso_annex_fixed()).unwrap().points.len(), 27);
    assert_eq!(minutiae_from_ansi(&hex(ANSI_ANNEX_B2)).unwrap().points.len(), 27);
}

#[test]
fn detect_needs_the_header_and_names_what_is_wrong() {
    assert_eq!(
        detect(b"FMR").unwrap_err().to_string(),
        "byte 0: format identifier: needs 4 bytes, only 3 left in the record"
    );
    assert_eq!(
        decode_any(b"FMR\0 20\0").unwrap_err().to_string(),
        "byte 8: record length: needs 4 bytes, only 0 left in the record"
    );
    // An ANSI record with two bytes of padding: the header still reads as ANSI.
    let mut padded = hex(ANSI_ANNEX_B2);
    padded.extend_from_slice(&[0, 0]);
    assert_eq!(decode_any(&padded).unwrap_err().to_string(), "record length field says 343 bytes, input has 345");
}

#[test]
fn empty_record_has_no_first_view() {
    let rec = FingerMinutiaeRecord {
        format: Format::Iso2005,
        product: None,
        capture_equipment: CaptureEquipment::default(),
        width: 10,
        height: 10,
        x_resolution: 197,
        y_resolution: 197,
        views: Vec::new(),
    };
    let bytes = encode(&rec).unwrap();
    assert_eq!(bytes.len(), 24);
    assert_eq!(
        minutiae_from_iso(&bytes).unwrap_err().to_string(),
        "byte 22: number of finger views: expected at least 1, found 0"
    );
}

#[test]
fn keeps_the_best_255_minutiae_in_order() {
    let view = |quality: fn(usize) -> u8| {
        let points = (0..300).map(|i| Minutia::new(i as f32, 0.0, 0.0, MinutiaKind::Ending, quality(i))).collect();
        let m = Minutiae { width: 400, height: 10, dpi: 500, quality: 0, points };
        let back = minutiae_from_iso(&iso_from_minutiae(&m, 1)).unwrap();
        back.points.iter().map(|p| p.x as usize).collect::<Vec<_>>()
    };
    // Qualities 0-14 occur three times each below i = 300: exactly the 45 to drop.
    assert_eq!(view(|i| (i % 101) as u8), (0..300).filter(|i| i % 101 > 14).collect::<Vec<_>>());
    // On ties the earlier points stay.
    assert_eq!(view(|_| 50), (0..255).collect::<Vec<_>>());
}

fn arb_minutia() -> impl Strategy<Value = RecordMinutia> {
    (0..3u8, 0..=0x3FFFu16, 0..=0x3FFFu16, any::<u8>(), any::<u8>()).prop_map(|(k, x, y, angle, quality)| {
        let kind = [MinutiaKind::Other, MinutiaKind::Ending, MinutiaKind::Bifurcation][usize::from(k)];
        RecordMinutia { kind, x, y, angle, quality }
    })
}

fn arb_view() -> impl Strategy<Value = FingerView> {
    let area = (any::<u16>(), prop::collection::vec(any::<u8>(), 0..24))
        .prop_map(|(type_code, data)| ExtendedData { type_code, data });
    (
        any::<u8>(),
        0..16u8,
        0..16u8,
        any::<u8>(),
        prop::collection::vec(arb_minutia(), 0..40),
        prop::collection::vec(area, 0..3),
    )
        .prop_map(|(finger_position, view_number, impression_type, quality, minutiae, extended_data)| FingerView {
            finger_position,
            view_number,
            impression_type,
            quality,
            minutiae,
            extended_data,
        })
}

/// Any record `encode` accepts.
fn arb_record() -> impl Strategy<Value = FingerMinutiaeRecord> {
    (
        any::<bool>(),
        any::<(u16, u16)>(),
        (0..16u8, 0..0x1000u16),
        any::<(u16, u16, u16, u16)>(),
        prop::collection::vec(arb_view(), 0..5),
    )
        .prop_map(|(iso, (vendor_id, subformat), (compliance, device_id), (width, height, xr, yr), views)| {
            FingerMinutiaeRecord {
                format: if iso { Format::Iso2005 } else { Format::Ansi2004 },
                product: if iso { None } else { Some(ProductId { vendor_id, subformat }) },
                capture_equipment: CaptureEquipment { compliance, device_id },
                width,
                height,
                x_resolution: xr,
                y_resolution: yr,
                views,
            }
        })
}

/// Writes the input length into whichever length field the header uses, so mutations reach the views.
fn fix_length(bytes: &mut [u8], format: Format) {
    let len = bytes.len();
    match format {
        Format::Iso2005 if len >= 12 => bytes[8..12].copy_from_slice(&u32::try_from(len).unwrap().to_be_bytes()),
        Format::Ansi2004 if (10..=0xFFFF).contains(&len) => {
            bytes[8..10].copy_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
        }
        _ => {}
    }
}

fn decode_all(bytes: &[u8]) {
    let _ = decode_iso(bytes);
    let _ = decode_ansi(bytes);
    let _ = detect(bytes);
    if let Ok(rec) = decode_any(bytes) {
        let _ = rec.check();
        let _ = rec.view_minutiae(0);
    }
}

fn minutiae_strategy() -> impl Strategy<Value = Minutiae> {
    (1..2000u16, 1..2000u16, prop_oneof![Just(500u16), Just(1000), 100..3000u16], 0..=100u8).prop_flat_map(
        |(width, height, dpi, quality)| {
            let point = (0.0..=f32::from(width - 1), 0.0..=f32::from(height - 1), 0.0..TAU, 0..3usize, 0..=100u8)
                .prop_map(|(x, y, a, k, q)| {
                    let kind = [MinutiaKind::Other, MinutiaKind::Ending, MinutiaKind::Bifurcation][k];
                    Minutia::new(x, y, a, kind, q)
                });
            prop::collection::vec(point, 0..60).prop_map(move |points| Minutiae { width, height, dpi, quality, points })
        },
    )
}

/// Minutiae survive a record within half a pixel and half an angle unit.
fn assert_quantised(before: &Minutiae, after: &Minutiae, half_unit: f32) -> Result<(), TestCaseError> {
    prop_assert_eq!((after.width, after.height, after.quality), (before.width, before.height, before.quality));
    // px/cm is rounded, so dpi comes back within half a px/cm (1.27 dpi) plus rounding.
    prop_assert!((f32::from(after.dpi) - f32::from(before.dpi)).abs() <= 1.8, "{} -> {}", before.dpi, after.dpi);
    if before.dpi == 500 {
        prop_assert_eq!(after.dpi, 500);
    }
    prop_assert_eq!(after.points.len(), before.points.len());
    for (b, a) in before.points.iter().zip(&after.points) {
        prop_assert!((a.x - b.x).abs() <= 0.5 && (a.y - b.y).abs() <= 0.5, "{b:?} -> {a:?}");
        prop_assert!(angle_diff(a.angle, b.angle) <= half_unit + 1e-5, "{b:?} -> {a:?}");
        prop_assert_eq!((a.kind, a.quality), (b.kind, b.quality));
    }
    Ok(())
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        decode_all(&bytes);
        let mut framed = b"FMR\0 20\0".to_vec();
        framed.extend_from_slice(&bytes);
        decode_all(&framed);
        fix_length(&mut framed, Format::Iso2005);
        decode_all(&framed);
        fix_length(&mut framed, Format::Ansi2004);
        decode_all(&framed);
    }

    /// Mutated records never panic, and whatever still decodes encodes back to exactly the same bytes.
    #[test]
    fn mutated_records_never_panic_and_decode_exactly(
        rec in arb_record(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
        relength in any::<bool>(),
    ) {
        let mut bytes = encode(&rec).unwrap();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        if relength {
            fix_length(&mut bytes, rec.format);
        }
        decode_all(&bytes);
        for decoded in [decode_iso(&bytes), decode_ansi(&bytes), decode_any(&bytes)].into_iter().flatten() {
            prop_assert_eq!(encode(&decoded).unwrap(), bytes.clone());
        }
    }

    #[test]
    fn record_to_bytes_to_record_is_identity(rec in arb_record()) {
        let bytes = encode(&rec).unwrap();
        let _ = rec.check();
        prop_assert_eq!(detect(&bytes).unwrap(), rec.format);
        prop_assert_eq!(&decode_any(&bytes).unwrap(), &rec);
        let own = match rec.format {
            Format::Iso2005 => decode_iso(&bytes),
            Format::Ansi2004 => decode_ansi(&bytes),
        };
        prop_assert_eq!(own.unwrap(), rec);
    }

    #[test]
    fn bytes_to_record_to_bytes_is_identity(rec in arb_record()) {
        let bytes = encode(&rec).unwrap();
        prop_assert_eq!(encode(&decode_any(&bytes).unwrap()).unwrap(), bytes);
    }

    #[test]
    fn minutiae_survive_iso_within_quantisation(m in minutiae_strategy(), finger in 0..=10u8) {
        let bytes = iso_from_minutiae(&m, finger);
        let rec = decode_iso(&bytes).unwrap();
        prop_assert_eq!(rec.views[0].finger_position, finger);
        prop_assert!(rec.check().is_empty(), "{:?}", rec.check());
        assert_quantised(&m, &minutiae_from_iso(&bytes).unwrap(), PI / 256.0)?;
    }

    #[test]
    fn minutiae_survive_ansi_within_quantisation(m in minutiae_strategy(), finger in 0..=10u8) {
        let bytes = ansi_from_minutiae(&m, finger);
        let rec = decode_ansi(&bytes).unwrap();
        prop_assert!(rec.check().is_empty(), "{:?}", rec.check());
        assert_quantised(&m, &minutiae_from_ansi(&bytes).unwrap(), PI / 180.0)?;
    }
}
