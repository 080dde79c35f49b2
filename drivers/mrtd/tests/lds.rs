//! The LDS file model: the published examples byte for byte, errors that name file and place, and for every
//! parser: arbitrary bytes never panic, and encode -> parse gives back what was encoded.

use std::collections::BTreeMap;

use der::asn1::{ObjectIdentifier, OctetString};
use der::{Decode, Encode};
use khil_mrtd::lds::{
    BiometricGroup, BiometricHeader, BiometricInstance, DataGroupHash, Dg1, Dg14, Dg15, EfCardAccess, EfCom, FaceImage,
    FaceRecord, FileId, FingerImage, FingerRecord, LdsSecurityObject, SecurityInfo, SecurityInfos, Sod,
};
use khil_mrtd::pa::{DateTime, MasterList, TrustStore, passive_authentication};
use khil_mrtd::tlv::Tag;
use proptest::prelude::*;
use spki::AlgorithmIdentifierOwned;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn file_ids_sfis_and_tags_are_those_of_9303_10() {
    let table = [
        (FileId::Com, 0x011E, 0x1E, Some(0x60)),
        (FileId::Sod, 0x011D, 0x1D, Some(0x77)),
        (FileId::CardAccess, 0x011C, 0x1C, None),
        (FileId::Dg(1), 0x0101, 0x01, Some(0x61)),
        (FileId::Dg(2), 0x0102, 0x02, Some(0x75)),
        (FileId::Dg(3), 0x0103, 0x03, Some(0x63)),
        (FileId::Dg(11), 0x010B, 0x0B, Some(0x6B)),
        (FileId::Dg(14), 0x010E, 0x0E, Some(0x6E)),
        (FileId::Dg(15), 0x010F, 0x0F, Some(0x6F)),
        (FileId::Dg(16), 0x0110, 0x10, Some(0x70)),
    ];
    for (f, fid, sfi, tag) in table {
        assert_eq!((f.fid(), f.sfi(), f.tag()), (fid, sfi, tag), "{f}");
        assert_eq!(FileId::from_fid(fid), Some(f));
    }
    assert_eq!(FileId::all().count(), 19);
    assert_eq!(FileId::from_fid(0x0111), None);
    assert_eq!(FileId::dg_from_tag(0x76), Some(4));
}

#[test]
fn ef_com_of_the_bac_worked_example() {
    // 9303-11 Appendix D.4: EF.COM read under BAC secure messaging.
    let bytes = hex("60145F0104303130365F36063034303030305C026175");
    let com = EfCom::parse(&bytes).unwrap();
    assert_eq!(com, EfCom { lds_version: "0106".into(), unicode_version: "040000".into(), data_groups: vec![1, 2] });
    assert_eq!(com.encode().unwrap(), bytes);
}

#[test]
fn ef_card_access_of_the_pace_worked_example() {
    // 9303-11 Appendix G.1: one PACEInfo, id-PACE-ECDH-GM-AES-CBC-CMAC-128, version 2, brainpoolP256r1 (13).
    let bytes = hex("31143012060A04007F0007020204020202010202010D");
    let ca = EfCardAccess::parse(&bytes).unwrap();
    assert_eq!(
        ca.0.0,
        [SecurityInfo::Pace {
            protocol: ObjectIdentifier::new_unwrap("0.4.0.127.0.7.2.2.4.2.2"),
            version: 2,
            parameter_id: Some(13),
        }]
    );
    assert_eq!(ca.encode().unwrap(), bytes);
}

#[test]
fn errors_name_the_file_and_the_place() {
    let e = EfCom::parse(&hex("60145F0104303130365F36063034303030305C026101")).unwrap_err();
    assert_eq!(e.to_string(), "EF.COM at byte 21: tag list (5C): expected a data group tag (61..70, 75, 76), found 01");
    let e = EfCom::parse(&hex("6100")).unwrap_err();
    assert_eq!(e.to_string(), "EF.COM at byte 0: expected tag 60, found 61");
    let e =
        Dg1::parse(&khil_mrtd::tlv::encode(Tag(0x61), &khil_mrtd::tlv::encode(Tag(0x5F1F), &[b'<'; 87]))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "DG1 at byte 5: MRZ (5F1F) length: expected 72 (TD2/MRV-B), 88 (TD3/MRV-A) or 90 (TD1), found 87"
    );
    let e = FaceRecord::parse(b"FAC\x00011\x00", FileId::Dg(2), 40).unwrap_err();
    assert_eq!(e.to_string(), "DG2 at byte 44: version: expected 30313000, found 30313100");
    let e = FingerRecord::parse(b"FIR\x00010\x00\0\0\0\0\0\x20", FileId::Dg(3), 0).unwrap_err();
    assert_eq!(e.to_string(), "DG3 at byte 8: record length: expected 14 (the data block's length), found 32");
    let e = EfCardAccess::parse(&hex("3105300306012A")).unwrap_err();
    assert!(e.to_string().starts_with("EF.CardAccess at SecurityInfos[0] (byte 2)"), "{e}");
    let e = Sod::parse(&hex("770530030601 2A".replace(' ', "").as_str())).unwrap_err();
    assert!(e.to_string().starts_with("EF.SOD at ContentInfo"), "{e}");
    let e = BiometricGroup::parse(FileId::Dg(2), &hex("75087F610502010202FF")).unwrap_err();
    assert!(e.to_string().starts_with("DG2 at byte"), "{e}");
    let e = BiometricGroup::parse(FileId::Dg(2), &hex("75067F6103020101")).unwrap_err();
    assert_eq!(e.to_string(), "DG2 at byte 7: instance count (02): expected the number of 7F60 templates (0), found 1");
}

#[test]
fn debug_output_shows_no_personal_data() {
    let dg1 = Dg1 {
        mrz: b"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10".to_vec(),
    };
    let shown = format!("{dg1:?}");
    assert_eq!(shown, "Dg1(88 MRZ bytes)");
    let face = FaceImage { image: vec![1, 2, 3], ..face_image_template() };
    assert!(!format!("{face:?}").contains("[1, 2, 3]"));
}

fn face_image_template() -> FaceImage {
    FaceImage {
        gender: 0,
        eye_colour: 0,
        hair_colour: 0,
        feature_mask: 0,
        expression: 0,
        pose_angle: [0; 3],
        pose_angle_uncertainty: [0; 3],
        feature_points: Vec::new(),
        face_image_type: 1,
        image_data_type: 0,
        width: 0,
        height: 0,
        colour_space: 1,
        source_type: 2,
        device_type: 0,
        quality: 0,
        image: Vec::new(),
    }
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

fn ef_com() -> impl Strategy<Value = EfCom> {
    ("[0-9]{4}", "[0-9]{6}", proptest::collection::vec(1u8..=16, 0..16))
        .prop_map(|(lds_version, unicode_version, data_groups)| EfCom { lds_version, unicode_version, data_groups })
}

fn header() -> impl Strategy<Value = BiometricHeader> {
    let other = proptest::collection::vec((prop_oneof![Just(0x83u32), Just(0x85), Just(0x86)], bytes(8)), 0..3);
    (
        proptest::option::of(bytes(3)),
        proptest::option::of(bytes(2)),
        proptest::option::of(bytes(2)),
        other,
        any::<u16>(),
        any::<u16>(),
    )
        .prop_map(|(version, biometric_type, subtype, other, format_owner, format_type)| BiometricHeader {
            version,
            biometric_type,
            subtype,
            other: other.into_iter().map(|(t, v)| (Tag(t), v)).collect(),
            format_owner,
            format_type,
        })
}

fn face_image() -> impl Strategy<Value = FaceImage> {
    (
        (any::<u8>(), any::<u8>(), any::<u8>(), 0u32..1 << 24, any::<u16>(), any::<[u8; 3]>(), any::<[u8; 3]>()),
        proptest::collection::vec(any::<[u8; 8]>(), 0..4),
        (any::<u8>(), any::<u8>(), any::<u16>(), any::<u16>(), any::<u8>(), any::<u8>(), any::<u16>(), any::<u16>()),
        bytes(300),
    )
        .prop_map(|((g, e, h, m, x, p, u), feature_points, (t, d, w, ht, c, s, dev, q), image)| FaceImage {
            gender: g,
            eye_colour: e,
            hair_colour: h,
            feature_mask: m,
            expression: x,
            pose_angle: p,
            pose_angle_uncertainty: u,
            feature_points,
            face_image_type: t,
            image_data_type: d,
            width: w,
            height: ht,
            colour_space: c,
            source_type: s,
            device_type: dev,
            quality: q,
            image,
        })
}

fn finger_record() -> impl Strategy<Value = FingerRecord> {
    let image = (1u8..=10, any::<u8>(), 0u16..24, 0u16..24).prop_flat_map(|(position, quality, w, h)| {
        proptest::collection::vec(any::<u8>(), usize::from(w) * usize::from(h)).prop_map(move |image| FingerImage {
            position,
            view_count: 1,
            view_number: 0,
            quality,
            impression_type: 0,
            width: w,
            height: h,
            image,
        })
    });
    (
        any::<u16>(),
        any::<u16>(),
        1u8..=2,
        any::<(u16, u16)>(),
        any::<(u16, u16)>(),
        proptest::collection::vec(image, 0..3),
    )
        .prop_map(|(capture_device, acquisition_level, scale_units, scan_resolution, image_resolution, images)| {
            FingerRecord {
                capture_device,
                acquisition_level,
                scale_units,
                scan_resolution,
                image_resolution,
                pixel_depth: 8,
                compression: 0,
                images,
            }
        })
}

fn security_info() -> impl Strategy<Value = SecurityInfo> {
    let oid = |base: &'static str| {
        (0u32..5, 1u32..5).prop_map(move |(a, b)| ObjectIdentifier::new(&format!("{base}.{a}.{b}")).unwrap())
    };
    prop_oneof![
        (oid("0.4.0.127.0.7.2.2.4"), any::<u32>(), proptest::option::of(any::<u32>()))
            .prop_map(|(protocol, version, parameter_id)| SecurityInfo::Pace { protocol, version, parameter_id }),
        (oid("0.4.0.127.0.7.2.2.3"), any::<u32>(), proptest::option::of(any::<u32>()))
            .prop_map(|(protocol, version, key_id)| SecurityInfo::ChipAuthentication { protocol, version, key_id }),
        (any::<u32>(), proptest::option::of(oid("0.4.0.127.0.7.1.1.4"))).prop_map(|(version, signature_algorithm)| {
            SecurityInfo::ActiveAuthentication { version, signature_algorithm }
        }),
    ]
}

fn sorted(infos: &[SecurityInfo]) -> Vec<String> {
    let mut v: Vec<String> = infos.iter().map(|i| format!("{i:?}")).collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_bytes_never_panic(input in bytes(200), tag in prop_oneof![Just(0x60u8), Just(0x61), Just(0x75), Just(0x63), Just(0x6E), Just(0x6F), Just(0x77), Just(0x31)]) {
        // Behind a valid outer tag, so the parsers go past the first byte.
        let wrapped = khil_mrtd::tlv::encode(Tag(u32::from(tag)), &input);
        for b in [&input, &wrapped] {
            let _ = EfCom::parse(b);
            let _ = Dg1::parse(b);
            let _ = BiometricGroup::parse(FileId::Dg(2), b);
            let _ = BiometricGroup::parse(FileId::Dg(3), b);
            let _ = FaceRecord::parse(b, FileId::Dg(2), 0);
            let _ = FingerRecord::parse(b, FileId::Dg(3), 0);
            let _ = Dg14::parse(b);
            let _ = Dg15::parse(b);
            let _ = EfCardAccess::parse(b);
            let _ = Sod::parse(b);
            let _ = LdsSecurityObject::from_der(b);
            let _ = khil_mrtd::lds::raw_signed_attributes(b);
            let _ = MasterList::parse_and_verify(b, &[], DateTime::new(2026, 1, 1, 0, 0, 0).unwrap());
            let report = passive_authentication(b, &BTreeMap::from([(1, input.clone())]), &TrustStore::default(), DateTime::new(2026, 1, 1, 0, 0, 0).unwrap());
            prop_assert!(!report.checks.is_empty());
        }
        let mut face = b"FAC\x00010\x00".to_vec();
        face.extend(&input);
        let _ = FaceRecord::parse(&face, FileId::Dg(2), 0);
        let mut finger = b"FIR\x00010\x00".to_vec();
        finger.extend(&input);
        let _ = FingerRecord::parse(&finger, FileId::Dg(3), 0);
    }

    #[test]
    fn ef_com_round_trips(com in ef_com()) {
        prop_assert_eq!(EfCom::parse(&com.encode().unwrap()).unwrap(), com);
    }

    #[test]
    fn dg1_round_trips(len in prop_oneof![Just(72usize), Just(88), Just(90)], seed in any::<u8>()) {
        let dg1 = Dg1 { mrz: (0..len).map(|i| b'A' + ((i as u8).wrapping_add(seed) % 26)).collect() };
        prop_assert_eq!(Dg1::parse(&dg1.encode()).unwrap(), dg1);
    }

    #[test]
    fn biometric_groups_round_trip(instances in proptest::collection::vec((header(), any::<bool>(), bytes(300)), 0..4), dg in prop_oneof![Just(2u8), Just(3), Just(4)]) {
        let group = BiometricGroup {
            instances: instances.into_iter().map(|(header, extended_data_tag, data)| BiometricInstance { header, extended_data_tag, data }).collect(),
        };
        let bytes = group.encode(FileId::Dg(dg)).unwrap();
        prop_assert_eq!(BiometricGroup::parse(FileId::Dg(dg), &bytes).unwrap(), group);
    }

    #[test]
    fn face_records_round_trip(images in proptest::collection::vec(face_image(), 0..3)) {
        let record = FaceRecord { images };
        prop_assert_eq!(FaceRecord::parse(&record.encode(), FileId::Dg(2), 0).unwrap(), record);
    }

    #[test]
    fn finger_records_round_trip(record in finger_record()) {
        prop_assert_eq!(FingerRecord::parse(&record.encode(), FileId::Dg(3), 0).unwrap(), record);
    }

    #[test]
    fn security_infos_round_trip(infos in proptest::collection::vec(security_info(), 0..5)) {
        let ca = EfCardAccess(SecurityInfos(infos.clone()));
        let bytes = ca.encode().unwrap();
        let back = EfCardAccess::parse(&bytes).unwrap();
        // A DER SET is sorted: the same elements, perhaps in another order, and re-encoding is stable.
        prop_assert_eq!(sorted(&back.0.0), sorted(&infos));
        prop_assert_eq!(back.encode().unwrap(), bytes);
        let dg14 = Dg14(SecurityInfos(infos.clone()));
        prop_assert_eq!(sorted(&Dg14::parse(&dg14.encode().unwrap()).unwrap().0.0), sorted(&infos));
    }

    #[test]
    fn lds_security_objects_round_trip(hashes in proptest::collection::vec((1u8..=16, bytes(64)), 0..16)) {
        let lso = LdsSecurityObject {
            version: 0,
            hash_algorithm: AlgorithmIdentifierOwned { oid: khil_mrtd::pa::oid::SHA256, parameters: None },
            data_group_hash_values: hashes.into_iter().map(|(n, h)| DataGroupHash { data_group_number: n, data_group_hash_value: OctetString::new(h).unwrap() }).collect(),
            lds_version_info: None,
        };
        prop_assert_eq!(LdsSecurityObject::from_der(&lso.to_der().unwrap()).unwrap(), lso);
    }
}

#[test]
fn dg15_round_trips_a_subject_public_key_info() {
    // An EC P-256 SPKI (id-ecPublicKey, prime256v1, an uncompressed point of the generator).
    let spki = hex(concat!(
        "3059301306072A8648CE3D020106082A8648CE3D03010703420004",
        "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296",
        "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5"
    ));
    let dg15 = Dg15 { public_key: spki::SubjectPublicKeyInfoOwned::from_der(&spki).unwrap() };
    let bytes = dg15.encode().unwrap();
    assert_eq!(&bytes[..2], [0x6F, 0x5B]);
    assert_eq!(&bytes[2..], spki);
    assert_eq!(Dg15::parse(&bytes).unwrap(), dg15);
}
