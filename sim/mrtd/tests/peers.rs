//! Second implementations nobody here wrote read what the test PKI and the issuer made: the OpenSSL command line
//! (X.509 text, chain and CRL verification, CMS verification of EF.SOD and the master list) and the `dmrtd`
//! crate (LDS parsing and its own passive authentication).

use std::path::Path;
use std::process::Command;

use der::{DateTime, Encode};
use khil_mrtd::lds::FileId;
use khil_sim_mrtd::issue::{DocumentFiles, DocumentSpec, GreyFinger, PaceOffer, issue};
use khil_sim_mrtd::pki::{Signer, State, TestPki};

const SEED: u64 = 7;
const MRZ: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";

fn reference() -> DateTime {
    DateTime::new(2026, 6, 1, 12, 0, 0).unwrap()
}

fn document(pki: &TestPki, signer: Signer) -> DocumentFiles {
    let finger = GreyFinger { pixels: vec![0x80; 40 * 50], width: 40, height: 50, dpi: 500, position: 7 };
    let spec = DocumentSpec {
        state: State::Utopia,
        mrz: MRZ,
        seed: 99,
        finger: Some(finger),
        pace: vec![PaceOffer::GM_AES128_BRAINPOOL_P256R1],
    };
    issue(pki, &spec, signer).unwrap()
}

/// Runs openssl; returns (success, stdout + stderr).
fn openssl(bin: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(bin).args(args).output().expect("openssl runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.display().to_string()
}

/// DER certificate -> PEM file, by openssl itself.
fn pem(bin: &Path, dir: &Path, name: &str, der: &[u8]) -> String {
    let d = write(dir, &format!("{name}.der"), der);
    let p = dir.join(format!("{name}.pem")).display().to_string();
    let (ok, text) = openssl(bin, &["x509", "-inform", "DER", "-in", &d, "-out", &p]);
    assert!(ok, "{text}");
    p
}

#[test]
fn openssl_reads_the_certificates_and_verifies_chain_and_crl() {
    let Some(bin) = khil_test_support::program("openssl") else { return };
    let pki = TestPki::new(SEED, reference()).unwrap();
    let dir = khil_test_support::temp_dir("pki-openssl");
    let attime = reference().unix_duration().as_secs().to_string();
    for s in State::ALL {
        let sp = pki.state(s);
        let csca = pem(&bin, &dir, "csca", &sp.csca.certificate_der());
        let (ok, text) = openssl(&bin, &["x509", "-in", &csca, "-noout", "-text"]);
        assert!(ok, "{text}");
        for want in [
            format!("C = {}", s.country()),
            "CA:TRUE, pathlen:0".into(),
            "Certificate Sign, CRL Sign".into(),
            "ASN1 OID: prime256v1".into(),
            "ecdsa-with-SHA256".into(),
            "X509v3 Private Key Usage Period".into(),
            format!("URI:http://pki.khil.invalid/crl/{}.crl", s.country()),
            "X509v3 Subject Key Identifier".into(),
        ] {
            assert!(text.contains(&want), "{} CSCA lacks {want:?}:\n{text}", s.code());
        }
        let crl_der = write(&dir, "crl.der", &sp.crl.to_der().unwrap());
        let crl = dir.join("crl.pem").display().to_string();
        let (ok, text) = openssl(&bin, &["crl", "-inform", "DER", "-in", &crl_der, "-out", &crl, "-CAfile", &csca]);
        assert!(ok && text.contains("verify OK"), "{} CRL: {text}", s.code());
        let verify = |name: &str, der: &[u8]| {
            let ds = pem(&bin, &dir, name, der);
            openssl(&bin, &["verify", "-attime", &attime, "-CAfile", &csca, "-crl_check", "-CRLfile", &crl, &ds])
        };
        let (ok, text) = verify("ds", &sp.ds.certificate_der());
        assert!(ok && text.contains(": OK"), "{} DS: {text}", s.code());
        let (ok, text) = verify("revoked", &sp.revoked_ds.certificate_der());
        assert!(!ok && text.contains("certificate revoked"), "{} revoked DS: {text}", s.code());
        let (ok, text) = verify("expired", &sp.expired_ds.certificate_der());
        assert!(!ok && text.contains("certificate has expired"), "{} expired DS: {text}", s.code());
        let ds = pem(&bin, &dir, "ds", &sp.ds.certificate_der());
        let (ok, text) = openssl(&bin, &["x509", "-in", &ds, "-noout", "-text"]);
        assert!(ok && text.contains("Digital Signature") && text.contains("critical"), "{text}");
        // The ICAO document type list (OpenSSL knows it only by number) and the authority key identifier.
        assert!(text.contains("2.23.136.1.1.6.2") && text.contains("X509v3 Authority Key Identifier"), "{text}");
    }
    // The rogue DS does not chain to a trusted CSCA.
    let uto = pem(&bin, &dir, "uto", &pki.state(State::Utopia).csca.certificate_der());
    let rogue = pem(&bin, &dir, "rogue", &pki.unknown_ds.certificate_der());
    let (ok, text) = openssl(&bin, &["verify", "-attime", &attime, "-CAfile", &uto, &rogue]);
    assert!(!ok, "{text}");
}

#[test]
fn openssl_verifies_the_sod_and_the_master_list() {
    let Some(bin) = khil_test_support::program("openssl") else { return };
    let pki = TestPki::new(SEED, reference()).unwrap();
    let dir = khil_test_support::temp_dir("sod-openssl");
    let attime = reference().unix_duration().as_secs().to_string();
    let uto = pem(&bin, &dir, "uto", &pki.state(State::Utopia).csca.certificate_der());

    let doc = document(&pki, Signer::Valid);
    let sod = doc.get(FileId::Sod).unwrap();
    let content_info = khil_mrtd::tlv::parse(sod).unwrap().0.value;
    let p7 = write(&dir, "sod.p7", content_info);
    let lso = dir.join("lso.der").display().to_string();
    let args = ["cms", "-verify", "-inform", "DER", "-in", &p7, "-CAfile", &uto, "-purpose", "any", "-attime", &attime];
    let (ok, text) = openssl(&bin, &[&args[..], &["-out", &lso]].concat());
    assert!(ok && text.contains("Verification successful"), "{text}");
    let parsed = khil_mrtd::lds::Sod::parse(sod).unwrap();
    assert_eq!(std::fs::read(&lso).unwrap(), parsed.econtent);
    let (ok, text) = openssl(&bin, &["cms", "-cmsout", "-print", "-inform", "DER", "-in", &p7]);
    assert!(ok && text.contains("2.23.136.1.1.1") && text.contains("messageDigest"), "{text}");

    // A broken signature is refused by openssl too.
    let mut bad = doc.clone();
    assert!(bad.corrupt_sod_signature());
    let p7 = write(&dir, "bad.p7", khil_mrtd::tlv::parse(bad.get(FileId::Sod).unwrap()).unwrap().0.value);
    let args = ["cms", "-verify", "-inform", "DER", "-in", &p7, "-CAfile", &uto, "-purpose", "any", "-attime", &attime];
    let (ok, text) = openssl(&bin, &args);
    assert!(!ok, "{text}");

    let ml = write(&dir, "ml.der", &pki.master_list);
    let list = dir.join("list.der").display().to_string();
    let args = ["cms", "-verify", "-inform", "DER", "-in", &ml, "-CAfile", &uto, "-purpose", "any", "-attime", &attime];
    let (ok, text) = openssl(&bin, &[&args[..], &["-out", &list]].concat());
    assert!(ok && text.contains("Verification successful"), "{text}");
    let (ok, text) = openssl(&bin, &["asn1parse", "-inform", "DER", "-in", &list]);
    assert!(ok, "{text}");
    assert_eq!(text.matches(":prime256v1").count(), 7, "seven CSCA keys in the list:\n{text}");
}

#[test]
fn dmrtd_parses_the_files_and_authenticates_the_document() {
    use dmrtd::auth::passive::{self, ChainStatus, DataGroup, PassiveAuthError, TrustAnchor};
    let pki = TestPki::new(SEED, reference()).unwrap();
    let doc = document(&pki, Signer::Valid);
    let groups = doc.data_groups();
    let dgs: Vec<DataGroup<'_>> = groups.iter().map(|(n, b)| DataGroup { number: *n, bytes: b }).collect();
    let anchors: Vec<TrustAnchor> = State::ALL
        .iter()
        .map(|s| TrustAnchor::from_certificate(&pki.state(*s).csca.certificate_der()).unwrap())
        .collect();
    let sod = doc.get(FileId::Sod).unwrap();
    let result = passive::verify(sod, &dgs, &anchors).expect("dmrtd passive authentication");
    assert!(result.covers_all_groups(), "{result:?}");
    assert_eq!(result.verified_groups, [1, 2, 3, 14, 15]);
    assert!(matches!(result.chain, ChainStatus::Trusted { .. }));

    // Its verdict on our faults agrees with ours.
    let mut corrupt = doc.clone();
    corrupt.corrupt_data_group(2);
    let groups = corrupt.data_groups();
    let dgs: Vec<DataGroup<'_>> = groups.iter().map(|(n, b)| DataGroup { number: *n, bytes: b }).collect();
    assert_eq!(passive::verify(sod, &dgs, &anchors).unwrap_err(), PassiveAuthError::DataGroupHashMismatch(2));
    let rogue = document(&pki, Signer::UnknownCsca);
    let groups = rogue.data_groups();
    let dgs: Vec<DataGroup<'_>> = groups.iter().map(|(n, b)| DataGroup { number: *n, bytes: b }).collect();
    let result = passive::verify(rogue.get(FileId::Sod).unwrap(), &dgs, &anchors).unwrap();
    assert_eq!(result.chain, ChainStatus::Unverified);

    // Its LDS parsers read our EF.COM, DG1, DG2, DG15 and EF.CardAccess.
    use dmrtd::lds::df1::{efcom::EfCOM, efdg1::EfDG1, efdg2::EfDG2, efdg15::EfDG15};
    let com = EfCOM::from_bytes(doc.get(FileId::Com).unwrap().to_vec()).unwrap();
    assert_eq!((com.version(), com.unicode_version()), ("0107", "040000"));
    assert_eq!(com.dg_tags().len(), 5);
    EfDG1::from_bytes(doc.get(FileId::Dg(1)).unwrap().to_vec()).unwrap();
    let dg2 = EfDG2::from_bytes(doc.get(FileId::Dg(2)).unwrap().to_vec()).unwrap();
    assert_eq!((dg2.image_width, dg2.image_height), (300, 400));
    assert_eq!(dg2.image_type(), Some(dmrtd::lds::df1::efdg2::ImageType::Jpeg));
    EfDG15::from_bytes(doc.get(FileId::Dg(15)).unwrap().to_vec()).unwrap();
    let ca =
        dmrtd::lds::efcard_access::EfCardAccess::from_bytes(doc.get(FileId::CardAccess).unwrap().to_vec()).unwrap();
    let pace = ca.pace_info().expect("a PACEInfo");
    assert_eq!((pace.version, pace.parameter_id), (2, Some(13)));
}
