//! Passive authentication of documents whose PKI someone else made: OpenSSL generates the CSCA, the Document
//! Signer, the CRL (`openssl ca -gencrl`, with and without the DS revoked) and signs the LDSSecurityObject as CMS
//! SignedData (`openssl cms -sign`), with RSA PKCS#1 v1.5, RSASSA-PSS, ECDSA P-384 and ECDSA brainpoolP256r1.
//! `khil_mrtd::pa` must accept every chain and name the revocation when the DS is revoked.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use der::asn1::OctetString;
use der::{Decode, Encode};
use khil_mrtd::lds::{DataGroupHash, LdsSecurityObject};
use khil_mrtd::pa::{CheckName, DateTime, Hash, Outcome, Status, TrustStore, passive_authentication};
use khil_mrtd::tlv::{Tag, encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;

struct Algorithm {
    name: &'static str,
    keygen: &'static [&'static str],
    hash: Hash,
    md: &'static str,
    /// `-sigopt` for certificates and CRLs, `-keyopt` for CMS.
    opts: &'static [&'static str],
}

const ALGORITHMS: [Algorithm; 4] = [
    Algorithm {
        name: "RSA PKCS#1 v1.5",
        keygen: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        hash: Hash::Sha256,
        md: "sha256",
        opts: &[],
    },
    Algorithm {
        name: "RSASSA-PSS",
        keygen: &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        hash: Hash::Sha256,
        md: "sha256",
        opts: &["rsa_padding_mode:pss", "rsa_pss_saltlen:32"],
    },
    Algorithm {
        name: "ECDSA P-384",
        keygen: &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-pkeyopt", "ec_param_enc:named_curve"],
        hash: Hash::Sha384,
        md: "sha384",
        opts: &[],
    },
    Algorithm {
        name: "ECDSA brainpoolP256r1",
        keygen: &[
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:brainpoolP256r1",
            "-pkeyopt",
            "ec_param_enc:named_curve",
        ],
        hash: Hash::Sha256,
        md: "sha256",
        opts: &[],
    },
];

fn run(bin: &Path, dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new(bin).current_dir(dir).args(args).output().expect("openssl runs");
    assert!(out.status.success(), "openssl {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn with_opts<'a>(args: &[&'a str], flag: &'a str, opts: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    for o in opts {
        v.extend([flag, o]);
    }
    v
}

/// Arguments without spaces of their own, split at spaces.
fn words(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

fn der_of(bin: &Path, dir: &Path, kind: &str, pem: &str) -> Vec<u8> {
    run(bin, dir, &[kind, "-in", pem, "-outform", "DER"])
}

/// CSCA and DS keys and certificates made by openssl in `d`.
fn make_chain(bin: &Path, d: &Path, alg: &Algorithm) {
    run(bin, d, &[&["genpkey"][..], alg.keygen, &["-out", "csca.key"]].concat());
    run(bin, d, &[&["genpkey"][..], alg.keygen, &["-out", "ds.key"]].concat());
    let md = format!("-{}", alg.md);
    run(
        bin,
        d,
        &with_opts(
            &words(&format!(
                "req -x509 -new -key csca.key -subj /C=UT/O=peer/CN=CSCA-peer -days 3650 {md} -out csca.pem \
                 -addext keyUsage=critical,keyCertSign,cRLSign -addext basicConstraints=critical,CA:TRUE,pathlen:0"
            )),
            "-sigopt",
            alg.opts,
        ),
    );
    run(bin, d, &["req", "-new", "-key", "ds.key", "-subj", "/C=UT/O=peer/CN=DS-peer", "-out", "ds.csr"]);
    run(
        bin,
        d,
        &with_opts(
            &words(&format!(
                "x509 -req -in ds.csr -CA csca.pem -CAkey csca.key -set_serial 2 -days 365 {md} -out ds.pem"
            )),
            "-sigopt",
            alg.opts,
        ),
    );
}

/// Two data groups, their LDSSecurityObject, and EF.SOD signed by openssl with the DS of `d`.
fn sign_sod(bin: &Path, d: &Path, alg: &Algorithm) -> (BTreeMap<u8, Vec<u8>>, Vec<u8>) {
    let dg1 = encode(Tag(0x61), &encode(Tag(0x5F1F), &[b'<'; 88]));
    let dg2 = encode(Tag(0x75), b"not a real DG2");
    let lso = LdsSecurityObject {
        version: 0,
        hash_algorithm: AlgorithmIdentifierOwned { oid: alg.hash.oid(), parameters: None },
        data_group_hash_values: [(1, &dg1), (2, &dg2)]
            .into_iter()
            .map(|(n, b)| DataGroupHash {
                data_group_number: n,
                data_group_hash_value: OctetString::new(alg.hash.digest(b)).unwrap(),
            })
            .collect(),
        lds_version_info: None,
    };
    std::fs::write(d.join("lso.der"), lso.to_der().unwrap()).unwrap();
    run(
        bin,
        d,
        &with_opts(
            &words(&format!(
                "cms -sign -binary -nodetach -nosmimecap -in lso.der -econtent_type 2.23.136.1.1.1 \
                 -signer ds.pem -inkey ds.key -md {} -outform DER -out sod.p7",
                alg.md
            )),
            "-keyopt",
            alg.opts,
        ),
    );
    let sod = encode(Tag(0x77), &std::fs::read(d.join("sod.p7")).unwrap());
    (BTreeMap::from([(1, dg1), (2, dg2)]), sod)
}

/// A CRL of the CSCA of `d`, by `openssl ca -gencrl` (with whatever was revoked so far).
fn gencrl(bin: &Path, d: &Path, alg: &Algorithm, out: &str) -> CertificateList {
    if !d.join("ca.cnf").exists() {
        std::fs::write(d.join("index.txt"), "").unwrap();
        std::fs::write(d.join("crlnumber"), "01\n").unwrap();
        std::fs::write(
            d.join("ca.cnf"),
            format!(
                "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\ndefault_md = {}\ndefault_crl_days = 30\n",
                alg.md
            ),
        )
        .unwrap();
    }

    run(
        bin,
        d,
        &with_opts(
            &["ca", "-config", "ca.cnf", "-gencrl", "-keyfile", "csca.key", "-cert", "csca.pem", "-out", out],
            "-sigopt",
            alg.opts,
        ),
    );
    CertificateList::from_der(&der_of(bin, d, "crl", out)).unwrap()
}

#[test]
fn openssl_made_chains_pass_and_a_revoked_signer_fails_revocation() {
    let Some(bin) = khil_test_support::program("openssl") else { return };
    for alg in &ALGORITHMS {
        let dir = khil_test_support::temp_dir("pa-openssl");
        let d: &Path = &dir;
        make_chain(&bin, d, alg);
        let (groups, sod) = sign_sod(&bin, d, alg);
        let csca = Certificate::from_der(&der_of(&bin, d, "x509", "csca.pem")).unwrap();
        let ds = Certificate::from_der(&der_of(&bin, d, "x509", "ds.pem")).unwrap();
        // An hour into the DS's validity (openssl starts it now).
        let start = ds.tbs_certificate().validity().not_before.to_unix_duration();
        let date = DateTime::from_unix_duration(start + Duration::from_hours(1)).unwrap();

        let crl = gencrl(&bin, d, alg, "empty.crl");
        let trust = TrustStore::new(vec![csca.clone()], vec![crl]);
        let report = passive_authentication(&sod, &groups, &trust, date);
        assert_eq!(report.outcome(), Outcome::Passed, "{}: {report}", alg.name);

        run(&bin, d, &["ca", "-config", "ca.cnf", "-revoke", "ds.pem", "-keyfile", "csca.key", "-cert", "csca.pem"]);
        let crl = gencrl(&bin, d, alg, "revoked.crl");
        let trust = TrustStore::new(vec![csca], vec![crl]);
        let report = passive_authentication(&sod, &groups, &trust, date);
        assert_eq!(report.failed(), [CheckName::DsNotRevoked], "{}: {report}", alg.name);
        assert!(
            matches!(report.get(CheckName::DsNotRevoked), Some(Status::Failed(w)) if w.contains("serial 02")),
            "{report}"
        );

        // And a DG changed after signing is named.
        let mut changed = groups.clone();
        changed.insert(2, encode(Tag(0x75), b"not a real DG2!"));
        let report = passive_authentication(&sod, &changed, &trust, date);
        assert!(report.failed().contains(&CheckName::DataGroupHash(2)), "{}: {report}", alg.name);
    }
}
