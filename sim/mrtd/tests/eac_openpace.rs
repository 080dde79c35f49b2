//! Extended access control against OpenPACE (Debian `openpace`: `cvc-create`, `cvc-print`, written by Frank Morgner
//! and Dominik Oepen, not here): `cvc-print` parses the test PKI's CV certificates and verifies each chain from
//! the CVCA down to the test inspection system; and a chain `cvc-create` made, with keys OpenSSL generated, opens
//! DG3 of a khil chip that trusts that CVCA, the inspection reading it with the key `cvc-create` wrote.

use std::path::Path;
use std::process::Command;

use der::DateTime;
use khil_apdu::memory_pair;
use khil_mrtd::cvc::{CvCertificate, CvDate};
use khil_mrtd::inspect::{InspectOptions, inspect};
use khil_mrtd::lds::FileId;
use khil_mrtd::pa::{Outcome, Status};
use khil_mrtd::ta::TerminalCredentials;
use khil_sim_mrtd::chip::{ChipContent, PassportChip};
use khil_sim_mrtd::eac::{DV_CHR, IS_CHR, cvca_chr};
use khil_sim_mrtd::issue::{DocumentSpec, GreyFinger, PaceOffer, issue};
use khil_sim_mrtd::pki::{Signer, State, TestPki};
use rand::SeedableRng;

const MRZ: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10";
const MRZ_INFORMATION: &str = "L898902C3674081221204159";

/// Today: `cvc-create` dates its certificates today, so the test PKI is built around today too.
fn today() -> DateTime {
    DateTime::from_system_time(std::time::SystemTime::now()).unwrap()
}

fn run(bin: &Path, args: &[&str], dir: &Path) -> String {
    let out = Command::new(bin).args(args).current_dir(dir).output().expect("runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{} {args:?}: {text}", bin.display());
    text
}

/// cvc-print's verdict on the chain: its line "certificate verified" or "certificate not verified".
fn verified(text: &str) -> Option<bool> {
    text.lines().find_map(|l| match l.trim() {
        "certificate verified" => Some(true),
        "certificate not verified" => Some(false),
        _ => None,
    })
}

#[test]
fn openpace_verifies_every_test_terminal_chain() {
    let Some(print) = khil_test_support::program("cvc-print") else { return };
    let pki = TestPki::new(0, today()).unwrap();
    let is = pki.eac.terminal.certificates.iter().find(|c| c.body.chr == IS_CHR).unwrap();
    for state in State::ALL {
        // cvc-print finds an authority's certificate by its CHR as a file name in --cvc-dir.
        let dir = khil_test_support::temp_dir("eac-openpace");
        let trusted = dir.path().join("trusted");
        std::fs::create_dir(&trusted).unwrap();
        let cvca = pki.eac.cvca(state);
        let dv = pki.eac.terminal.chain_from(&cvca_chr(state)).unwrap()[0].clone();
        std::fs::write(trusted.join(cvca_chr(state)), cvca.encode()).unwrap();
        std::fs::write(trusted.join(DV_CHR), dv.encode()).unwrap();
        std::fs::write(dir.path().join("is.cvcert"), is.encode()).unwrap();
        std::fs::write(dir.path().join("dv.cvcert"), dv.encode()).unwrap();
        let text = run(&print, &["--cvc", "is.cvcert", "--cvc-dir", "trusted"], dir.path());
        assert_eq!(verified(&text), Some(true), "{state:?}: {text}");
        for expected in
            ["CAR: MNKHILDV00001", "CHR: MNKHILIS00001", "Inspection system", "Read fingerprint", "Read iris"]
        {
            assert!(text.contains(expected), "{state:?}: no {expected:?} in {text}");
        }
        let text = run(&print, &["--cvc", "dv.cvcert", "--cvc-dir", "trusted"], dir.path());
        assert_eq!(verified(&text), Some(true), "{state:?}: {text}");
        assert!(text.contains(&format!("CAR: {}", cvca_chr(state))), "{text}");
        // Foreign states grant fingerprints only; Mongolia (domestic) iris too.
        assert_eq!(text.contains("Read iris"), state == State::Mongolia, "{state:?}: {text}");
        // The check can fail: one bit of the terminal certificate's signature changed.
        let mut bad = is.encode();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        std::fs::write(dir.path().join("bad.cvcert"), bad).unwrap();
        let text = run(&print, &["--cvc", "bad.cvcert", "--cvc-dir", "trusted"], dir.path());
        assert_eq!(verified(&text), Some(false), "{text}");
    }
}

#[test]
fn a_chain_cvc_create_made_opens_dg3() {
    let (Some(create), Some(openssl)) =
        (khil_test_support::program("cvc-create"), khil_test_support::program("openssl"))
    else {
        return;
    };
    let dir = khil_test_support::temp_dir("eac-cvc-create");
    let d = dir.path();
    run(
        &openssl,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-outform",
            "DER",
            "-out",
            "cvca.pkcs8",
        ],
        d,
    );
    let common = ["--scheme=ECDSA_SHA_256", "--expires=991231", "--read-finger"];
    let steps: [&[&str]; 3] = [
        &[
            "--role=cvca",
            "--type=is",
            "--chr=UTOPCVCA00001",
            "--sign-with=cvca.pkcs8",
            "--read-iris",
            "--out-cert=cvca.cvcert",
        ],
        &[
            "--role=dv_foreign",
            "--chr=MNOPDV00001",
            "--sign-with=cvca.pkcs8",
            "--sign-as=cvca.cvcert",
            "--out-cert=dv.cvcert",
            "--out-key=dv.pkcs8",
        ],
        &[
            "--role=terminal",
            "--chr=MNOPIS00001",
            "--sign-with=dv.pkcs8",
            "--sign-as=dv.cvcert",
            "--out-cert=is.cvcert",
            "--out-key=is.pkcs8",
        ],
    ];
    for step in steps {
        run(&create, &[step, &common[..]].concat(), d);
    }
    let read = |name: &str| std::fs::read(d.join(name)).unwrap();
    let cvca = CvCertificate::parse(&read("cvca.cvcert")).expect("OpenPACE's CVCA certificate parses");
    let chain = ["dv.cvcert", "is.cvcert"].map(|f| CvCertificate::parse(&read(f)).unwrap()).to_vec();
    // cvc-create names its key files .pkcs8 but writes the EC key as SEC1 (RFC 5915) DER: both forms load.
    let terminal = TerminalCredentials::from_key_der(chain, &read("is.pkcs8")).expect("OpenPACE's key loads");

    // A khil chip whose issuer trusts OpenPACE's CVCA.
    let pki = TestPki::new(0, today()).unwrap();
    let finger = GreyFinger { pixels: vec![0x80; 40 * 50], width: 40, height: 50, dpi: 500, position: 7 };
    for pace in [Vec::new(), vec![PaceOffer::GM_AES128_P256]] {
        let spec = DocumentSpec { state: State::Utopia, mrz: MRZ, seed: 3, finger: Some(finger.clone()), pace };
        let mut document = issue(&pki, &spec, Signer::Valid).unwrap();
        document.eac = Some((cvca.clone(), CvDate::new(2026, 1, 1).unwrap()));
        let dg3 = document.get(FileId::Dg(3)).unwrap().to_vec();
        let content = ChipContent { document, mrz_information: MRZ_INFORMATION.into(), can: None };
        let (mut reader, _slot) = memory_pair(PassportChip::new(content, 5));
        let options = InspectOptions {
            mrz: MRZ.into(),
            trust: pki.trust_store(),
            date: today(),
            pace: true,
            can: None,
            read_size: khil_mrtd::files::SM_SHORT_READ,
            terminal: Some(terminal.clone()),
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(4);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let r = rt.block_on(inspect(&mut reader, &options, &mut rng)).unwrap();
        let list: Vec<String> = r.checks.iter().map(ToString::to_string).collect();
        let list = list.join("\n  ");
        let ta = &r.checks.iter().find(|c| c.name == "terminal authentication").expect("a TA check").status;
        assert!(
            matches!(ta, Status::Passed(how) if how.contains("UTOPCVCA00001 > MNOPDV00001 > MNOPIS00001")),
            "{list}"
        );
        assert_eq!(r.file(FileId::Dg(3)), Some(dg3.as_slice()));
        assert_eq!(r.outcome(), Outcome::Passed, "{list}");
    }
}
