//! Issue documents under the test PKI, then passive-authenticate them with `khil_mrtd::pa`: all checks pass for a
//! good document; each fault fails exactly the check named for it.

use std::collections::BTreeMap;

use der::DateTime;
use khil_mrtd::lds::{
    BiometricGroup, Dg1, Dg14, Dg15, EfCardAccess, EfCom, FaceRecord, FileId, FingerRecord, SecurityInfo, Sod,
};
use khil_mrtd::pa::{CheckName, MasterList, Outcome, Status, TrustStore, passive_authentication};
use khil_sim_mrtd::issue::{DocumentFiles, DocumentSpec, GreyFinger, PaceOffer, issue};
use khil_sim_mrtd::pki::{Signer, State, TestPki};

const SEED: u64 = 20_260_601;

fn reference() -> DateTime {
    DateTime::new(2026, 6, 1, 12, 0, 0).unwrap()
}

/// The 9303-3 TD3 specimen with `state` as issuing state and nationality (neither is under a check digit).
fn mrz(state: State) -> String {
    let code = format!("{:<<3}", state.code());
    format!("P<{code}ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36{code}7408122F1204159ZE184226B<<<<<10")
}

fn small_finger(seed: u8) -> GreyFinger {
    let (w, h) = (64u16, 80u16);
    let pixels = (0..u32::from(w) * u32::from(h)).map(|i| (i as u8).wrapping_mul(seed) ^ (i >> 6) as u8).collect();
    GreyFinger { pixels, width: w, height: h, dpi: 500, position: 2 }
}

fn issue_for(pki: &TestPki, state: State, signer: Signer) -> DocumentFiles {
    let mrz = mrz(state);
    let spec = DocumentSpec {
        state,
        mrz: &mrz,
        seed: SEED + state as u64,
        finger: Some(small_finger(state as u8 + 3)),
        pace: vec![PaceOffer::GM_AES128_BRAINPOOL_P256R1, PaceOffer::GM_AES128_P256],
    };
    issue(pki, &spec, signer).unwrap()
}

fn pa(doc: &DocumentFiles, trust: &TrustStore) -> khil_mrtd::pa::Report {
    passive_authentication(doc.get(FileId::Sod).unwrap(), &doc.data_groups(), trust, reference())
}

fn pki() -> TestPki {
    TestPki::new(SEED, reference()).unwrap()
}

#[test]
fn every_state_issues_a_document_that_passes_every_check() {
    let pki = pki();
    let trust = pki.trust_store();
    for state in State::ALL {
        let doc = issue_for(&pki, state, Signer::Valid);
        let report = pa(&doc, &trust);
        assert_eq!(report.outcome(), Outcome::Passed, "{}: {report}", state.code());
        let names: Vec<CheckName> = report.checks.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                CheckName::SodStructure,
                CheckName::DataGroupHash(1),
                CheckName::DataGroupHash(2),
                CheckName::DataGroupHash(3),
                CheckName::DataGroupHash(14),
                CheckName::DataGroupHash(15),
                CheckName::SodSignature,
                CheckName::DsIssuedByCsca,
                CheckName::DsValidity,
                CheckName::CscaValidity,
                CheckName::DsNotRevoked,
            ]
        );
    }
}

fn failed_only(report: &khil_mrtd::pa::Report, expected: &[CheckName]) {
    assert_eq!(report.outcome(), Outcome::Failed, "{report}");
    assert_eq!(report.failed(), expected, "{report}");
}

#[test]
fn a_data_group_changed_after_signing_fails_its_hash_only() {
    let pki = pki();
    let trust = pki.trust_store();
    for dg in [1, 2, 3, 14, 15] {
        let mut doc = issue_for(&pki, State::Mongolia, Signer::Valid);
        assert!(doc.corrupt_data_group(dg));
        let report = pa(&doc, &trust);
        failed_only(&report, &[CheckName::DataGroupHash(dg)]);
        let Some(Status::Failed(why)) = report.get(CheckName::DataGroupHash(dg)) else { unreachable!() };
        assert!(why.contains(&format!("DG{dg}")), "{why}");
    }
}

#[test]
fn an_expired_document_signer_fails_ds_validity_only() {
    let pki = pki();
    let doc = issue_for(&pki, State::China, Signer::Expired);
    let report = pa(&doc, &pki.trust_store());
    failed_only(&report, &[CheckName::DsValidity]);
    let Some(Status::Failed(why)) = report.get(CheckName::DsValidity) else { unreachable!() };
    assert!(why.starts_with("expired on 2026-06-01"), "{why}");
}

#[test]
fn a_revoked_document_signer_fails_revocation_only() {
    let pki = pki();
    let doc = issue_for(&pki, State::Russia, Signer::Revoked);
    let report = pa(&doc, &pki.trust_store());
    failed_only(&report, &[CheckName::DsNotRevoked]);
    let Some(Status::Failed(why)) = report.get(CheckName::DsNotRevoked) else { unreachable!() };
    assert!(why.contains("revoked on"), "{why}");
}

#[test]
fn a_document_signer_of_an_unknown_csca_fails_the_chain_only() {
    let pki = pki();
    let doc = issue_for(&pki, State::Korea, Signer::UnknownCsca);
    let report = pa(&doc, &pki.trust_store());
    failed_only(&report, &[CheckName::DsIssuedByCsca]);
    assert!(matches!(report.get(CheckName::CscaValidity), Some(Status::NotChecked(_))));
    assert!(matches!(report.get(CheckName::DsNotRevoked), Some(Status::NotChecked(_))));
}

#[test]
fn a_broken_sod_signature_fails_the_signature_only() {
    let pki = pki();
    let mut doc = issue_for(&pki, State::Kazakhstan, Signer::Valid);
    assert!(doc.corrupt_sod_signature());
    let report = pa(&doc, &pki.trust_store());
    failed_only(&report, &[CheckName::SodSignature]);
}

#[test]
fn an_mrz_of_the_wrong_length_is_refused() {
    let pki = pki();
    let spec = DocumentSpec { state: State::Utopia, mrz: "P<UTO", seed: 1, finger: None, pace: vec![] };
    let e = issue(&pki, &spec, Signer::Valid).unwrap_err();
    assert!(e.to_string().contains("88"), "{e}");
}

#[test]
fn a_data_group_not_read_leaves_the_outcome_incomplete() {
    let pki = pki();
    let doc = issue_for(&pki, State::Germany, Signer::Valid);
    let mut groups = doc.data_groups();
    groups.remove(&3);
    let report = passive_authentication(doc.get(FileId::Sod).unwrap(), &groups, &pki.trust_store(), reference());
    assert_eq!(report.outcome(), Outcome::Incomplete, "{report}");
    assert!(matches!(report.get(CheckName::DataGroupHash(3)), Some(Status::NotChecked(w)) if w == "DG3 was not read"));
}

#[test]
fn a_date_outside_the_csca_validity_fails_both_validities() {
    let pki = pki();
    let doc = issue_for(&pki, State::Utopia, Signer::Valid);
    let late = DateTime::new(2046, 1, 1, 0, 0, 0).unwrap();
    let report = passive_authentication(doc.get(FileId::Sod).unwrap(), &doc.data_groups(), &pki.trust_store(), late);
    // The CRL is out of date by then too: revocation is not checked.
    assert_eq!(report.failed(), [CheckName::DsValidity, CheckName::CscaValidity], "{report}");
    assert!(matches!(report.get(CheckName::DsNotRevoked), Some(Status::NotChecked(_))));
}

#[test]
fn without_crls_revocation_is_not_checked() {
    let pki = pki();
    let doc = issue_for(&pki, State::Utopia, Signer::Revoked);
    let trust = TrustStore::new(pki.trust_store().cscas, Vec::new());
    let report = pa(&doc, &trust);
    assert_eq!(report.outcome(), Outcome::Incomplete, "{report}");
}

#[test]
fn garbage_sod_fails_structure_and_checks_nothing_else() {
    let pki = pki();
    let doc = issue_for(&pki, State::Utopia, Signer::Valid);
    let report =
        passive_authentication(&[0x77, 0x03, 0x30, 0x01, 0x00], &doc.data_groups(), &pki.trust_store(), reference());
    assert_eq!(report.failed(), [CheckName::SodStructure]);
    assert!(report.checks.iter().skip(1).all(|c| matches!(c.status, Status::NotChecked(_))));
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let a = pki();
    let b = pki();
    assert_eq!(a.master_list, b.master_list);
    for s in State::ALL {
        assert_eq!(a.state(s).csca.certificate_der(), b.state(s).csca.certificate_der());
        assert_eq!(a.state(s).ds.certificate_der(), b.state(s).ds.certificate_der());
    }
    assert_eq!(
        issue_for(&a, State::Mongolia, Signer::Valid).files,
        issue_for(&b, State::Mongolia, Signer::Valid).files
    );
    let other = TestPki::new(SEED + 1, reference()).unwrap();
    assert_ne!(a.state(State::Mongolia).csca.certificate_der(), other.state(State::Mongolia).csca.certificate_der());
}

#[test]
fn the_master_list_verifies_and_fills_a_trust_store() {
    let pki = pki();
    let anchor = pki.state(State::Utopia).csca.certificate.clone();
    let ml = MasterList::parse_and_verify(&pki.master_list, std::slice::from_ref(&anchor), reference()).unwrap();
    assert_eq!(ml.cscas.len(), 7);
    let trust = TrustStore::new(ml.cscas, pki.trust_store().crls);
    let report = pa(&issue_for(&pki, State::Kazakhstan, Signer::Valid), &trust);
    assert_eq!(report.outcome(), Outcome::Passed, "{report}");

    // Another anchor does not make the list trusted; a changed byte in a certificate breaks the signature.
    let other = pki.state(State::Mongolia).csca.certificate.clone();
    let e = MasterList::parse_and_verify(&pki.master_list, &[other], reference()).unwrap_err();
    assert!(e.to_string().contains("not trusted"), "{e}");
    let mut tampered = pki.master_list.clone();
    let csca = pki.state(State::China).csca.certificate_der();
    let at = tampered.windows(csca.len()).position(|w| w == csca).unwrap();
    tampered[at + csca.len() - 80] ^= 0x01;
    let e = MasterList::parse_and_verify(&tampered, &[anchor], reference()).unwrap_err();
    assert!(e.to_string().contains("messageDigest"), "{e}");
}

#[test]
fn the_issued_files_parse_with_the_lds_module() {
    let pki = pki();
    let doc = issue_for(&pki, State::Utopia, Signer::Valid);
    let com = EfCom::parse(doc.get(FileId::Com).unwrap()).unwrap();
    assert_eq!((com.lds_version.as_str(), com.unicode_version.as_str()), ("0107", "040000"));
    assert_eq!(com.data_groups, [1, 2, 3, 14, 15]);
    let dg1 = Dg1::parse(doc.get(FileId::Dg(1)).unwrap()).unwrap();
    assert_eq!(dg1.mrz_str().unwrap(), mrz(State::Utopia).replace('\n', ""));
    let dg2 = BiometricGroup::parse(FileId::Dg(2), doc.get(FileId::Dg(2)).unwrap()).unwrap();
    assert_eq!((dg2.instances[0].header.format_owner, dg2.instances[0].header.format_type), (0x0101, 0x0008));
    let face = FaceRecord::parse(&dg2.instances[0].data, FileId::Dg(2), 0).unwrap();
    let jpeg = &face.images[0].image;
    assert_eq!(&jpeg[..3], [0xFF, 0xD8, 0xFF]);
    assert!((15_000..=20_000).contains(&jpeg.len()), "portrait of {} bytes", jpeg.len());
    let dg3 = BiometricGroup::parse(FileId::Dg(3), doc.get(FileId::Dg(3)).unwrap()).unwrap();
    let finger = FingerRecord::parse(&dg3.instances[0].data, FileId::Dg(3), 0).unwrap();
    assert_eq!(finger.images[0].image, small_finger(State::Utopia as u8 + 3).pixels);
    assert_eq!(dg3.instances[0].header.subtype, Some(vec![0x09]));
    let dg14 = Dg14::parse(doc.get(FileId::Dg(14)).unwrap()).unwrap();
    // CA public key, CA info, AA info and, DG3 being EAC-protected, TerminalAuthenticationInfo.
    assert_eq!(dg14.0.0.len(), 4);
    assert!(dg14.0.0.iter().any(|i| matches!(i, SecurityInfo::ChipAuthenticationPublicKey { .. })));
    let dg15 = Dg15::parse(doc.get(FileId::Dg(15)).unwrap()).unwrap();
    assert_eq!(dg15.public_key.subject_public_key.raw_bytes().len(), 65);
    let ca = EfCardAccess::parse(doc.get(FileId::CardAccess).unwrap()).unwrap();
    let params: Vec<Option<u32>> =
        ca.0.pace()
            .map(|p| match p {
                SecurityInfo::Pace { parameter_id, .. } => *parameter_id,
                _ => None,
            })
            .collect();
    assert_eq!(params, [Some(12), Some(13)], "sorted as DER sorts a SET");
    let sod = Sod::parse(doc.get(FileId::Sod).unwrap()).unwrap();
    assert_eq!(sod.security_object.data_group_hash_values.len(), 5);
    // Every file re-encodes to the bytes issued.
    assert_eq!(com.encode().unwrap(), doc.get(FileId::Com).unwrap());
    assert_eq!(dg2.encode(FileId::Dg(2)).unwrap(), doc.get(FileId::Dg(2)).unwrap());
    assert_eq!(dg14.encode().unwrap(), doc.get(FileId::Dg(14)).unwrap());
    assert_eq!(ca.encode().unwrap(), doc.get(FileId::CardAccess).unwrap());
    assert_eq!(Sod::encode_signed_data(&sod.signed_data).unwrap(), doc.get(FileId::Sod).unwrap());
}

#[test]
fn a_population_finger_goes_into_dg3() {
    use khil_biometrics::synth::{Quality, SensorProfile};
    let fingers = khil_sim_population::Fingers::new(SEED, Quality::Good);
    let impression = fingers.impression(7, 0, SensorProfile::R307);
    let finger = GreyFinger::from_image(&impression.image, 2).unwrap();
    let pki = pki();
    let mrz = mrz(State::Mongolia);
    let spec = DocumentSpec { state: State::Mongolia, mrz: &mrz, seed: 1, finger: Some(finger), pace: vec![] };
    let doc = issue(&pki, &spec, Signer::Valid).unwrap();
    let dg3 = BiometricGroup::parse(FileId::Dg(3), doc.get(FileId::Dg(3)).unwrap()).unwrap();
    let record = FingerRecord::parse(&dg3.instances[0].data, FileId::Dg(3), 0).unwrap();
    assert_eq!((record.images[0].width, record.images[0].height), (256, 288));
    assert_eq!(record.images[0].image, impression.image.pixels);
    assert_eq!(pa(&doc, &pki.trust_store()).outcome(), Outcome::Passed);
    let _: BTreeMap<u8, Vec<u8>> = doc.data_groups();
}

#[test]
fn portraits_are_15_to_20_kb_for_many_seeds() {
    let sizes: Vec<usize> = (0..12).map(|s| khil_sim_mrtd::issue::placeholder_portrait(s).unwrap().0.len()).collect();
    assert!(sizes.iter().all(|n| (15_000..=20_000).contains(n)), "{sizes:?}");
}

#[test]
fn signed_attributes_in_the_signers_order_are_verified_as_stored() {
    // A signer that does not sort its signed attributes (DER wants contentType before messageDigest here): the
    // signature covers the bytes as stored, which `der` would re-sort on decoding. Swap the two attributes,
    // sign the swapped SET with the DS key, and patch both into EF.SOD (documents are tried until the new
    // signature has the old one's length, so the file's lengths stay put).
    let pki = pki();
    let trust = pki.trust_store();
    let ds = &pki.state(State::Utopia).ds;
    let patched = (0..40u64)
        .find_map(|seed| {
            let mrz = mrz(State::Utopia);
            let spec = DocumentSpec { state: State::Utopia, mrz: &mrz, seed, finger: None, pace: vec![] };
            let doc = issue(&pki, &spec, Signer::Valid).unwrap();
            let sod = doc.get(FileId::Sod).unwrap().to_vec();
            let parsed = Sod::parse(&sod).unwrap();
            let raw = parsed.signed_attributes.clone().unwrap();
            let set = khil_mrtd::tlv::parse(&raw).unwrap().0;
            let attrs = set.children().unwrap();
            let swapped_value = [attrs[1].to_bytes(), attrs[0].to_bytes()].concat();
            let swapped_set = khil_mrtd::tlv::encode(khil_mrtd::tlv::Tag(0x31), &swapped_value);
            let old_sig = parsed.signed_data.signer_infos.0.iter().next().unwrap().signature.as_bytes().to_vec();
            let new_sig = ds.sign(&swapped_set);
            if new_sig.len() != old_sig.len() {
                return None;
            }
            let mut out = sod.clone();
            let at = out.windows(raw.len() - 2).position(|w| w == &raw[2..]).unwrap();
            out[at..at + swapped_value.len()].copy_from_slice(&swapped_value);
            let at = out.windows(old_sig.len()).position(|w| w == old_sig).unwrap();
            out[at..at + new_sig.len()].copy_from_slice(&new_sig);
            Some((doc, out))
        })
        .expect("a document whose re-signature keeps its length");
    let (doc, sod) = patched;
    let report = passive_authentication(&sod, &doc.data_groups(), &trust, reference());
    assert_eq!(report.outcome(), Outcome::Passed, "{report}");
}

#[test]
fn an_lds_v1_security_object_carries_its_version_info() {
    // LDS 1.8 SODs are LDSSecurityObject v1 with ldsVersionInfo; the structure check accepts v0 or v1 and the
    // version info exactly with v1.
    use der::Encode;
    use khil_mrtd::lds::{LdsSecurityObject, LdsVersionInfo};
    let pki = pki();
    let doc = issue_for(&pki, State::Utopia, Signer::Valid);
    let mut lso = Sod::parse(doc.get(FileId::Sod).unwrap()).unwrap().security_object;
    lso.version = 1;
    lso.lds_version_info = Some(LdsVersionInfo {
        lds_version: der::asn1::PrintableString::new("0108").unwrap(),
        unicode_version: der::asn1::PrintableString::new("040000").unwrap(),
    });
    let sign = |lso: &LdsSecurityObject| {
        let sd = khil_sim_mrtd::pki::signed_data(
            khil_mrtd::lds::ID_LDS_SECURITY_OBJECT,
            &lso.to_der().unwrap(),
            &pki.state(State::Utopia).ds,
        )
        .unwrap();
        Sod::encode_signed_data(&sd).unwrap()
    };
    let report = passive_authentication(&sign(&lso), &doc.data_groups(), &pki.trust_store(), reference());
    assert_eq!(report.outcome(), Outcome::Passed, "{report}");
    lso.version = 0;
    let report = passive_authentication(&sign(&lso), &doc.data_groups(), &pki.trust_store(), reference());
    let Some(Status::Failed(why)) = report.get(CheckName::SodStructure) else { panic!("{report}") };
    assert_eq!(
        why,
        "EF.SOD at LDSSecurityObject.version: version: expected v0 without ldsVersionInfo or v1 with it, found v0 with ldsVersionInfo"
    );
}

#[test]
fn ef_card_access_offering_the_worked_example_pace_is_its_bytes() {
    // 9303-11 Appendix G.1's EF.CardAccess: id-PACE-ECDH-GM-AES-CBC-CMAC-128, version 2, brainpoolP256r1.
    let pki = pki();
    let mrz = mrz(State::Utopia);
    let spec = DocumentSpec {
        state: State::Utopia,
        mrz: &mrz,
        seed: 1,
        finger: None,
        pace: vec![PaceOffer::GM_AES128_BRAINPOOL_P256R1],
    };
    let doc = issue(&pki, &spec, Signer::Valid).unwrap();
    let expected = [
        0x31, 0x14, 0x30, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02, 0x02, 0x01,
        0x02, 0x02, 0x01, 0x0D,
    ];
    assert_eq!(doc.get(FileId::CardAccess).unwrap(), expected);
    assert_eq!(doc.get(FileId::Dg(3)), None, "no finger, no DG3");
    assert_eq!(EfCom::parse(doc.get(FileId::Com).unwrap()).unwrap().data_groups, [1, 2, 14, 15]);
}

#[test]
fn a_data_group_rewritten_with_its_hash_in_the_sod_fails_the_signature_only() {
    // The forger's move: change DG2 and put its new hash into EF.SOD. The hash check passes; the messageDigest
    // signed attribute no longer matches the LDSSecurityObject, so the signature check names it.
    let pki = pki();
    let mut doc = issue_for(&pki, State::Mongolia, Signer::Valid);
    assert!(doc.forge_data_group(2));
    let report = pa(&doc, &pki.trust_store());
    failed_only(&report, &[CheckName::SodSignature]);
    let Some(Status::Failed(why)) = report.get(CheckName::SodSignature) else { unreachable!() };
    assert_eq!(why, "messageDigest attribute is not the SHA-256 of the eContent");
}
