//! Active authentication: our chip against our terminal (RSA ISO 9796-2 with SHA-1 and SHA-256 trailers, ECDSA on
//! both curves), clones and tampered signatures refused, and an independent signer: Python (pycryptodome's
//! DSS for ECDSA on P-256, plain integers and hashlib for ISO 9796-2) signing as a chip, checked by our terminal.

use khil_apdu::{Command, Response, StatusWord};
use khil_mrtd::aa::{self, AaError, AaHash};
use khil_mrtd::pace::PaceCurve;
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use sha2::{Digest, Sha256};

const CHALLENGE: [u8; 8] = [0x78, 0x17, 0x23, 0x86, 0x0C, 0x06, 0xC2, 0x26];

fn rsa_key(seed: u64) -> rsa::PrivateKey {
    rsa::PrivateKey::new(&mut ChaCha20Rng::seed_from_u64(seed), 1024).unwrap()
}

fn ec_key(curve: PaceCurve, label: &str) -> Vec<u8> {
    (0u32..100)
        .map(|i| Sha256::new().chain_update(label).chain_update(i.to_be_bytes()).finalize().to_vec())
        .find(|k| curve.public_key(k).is_ok())
        .unwrap()
}

#[test]
fn rsa_iso9796_2_both_sides() {
    let key = rsa_key(1);
    let public = key.to_public_key();
    let command = aa::internal_authenticate(&CHALLENGE);
    assert_eq!(command.encode(), [&[0x00, 0x88, 0x00, 0x00, 0x08][..], &CHALLENGE, &[0x00]].concat());
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    for hash in [AaHash::Sha1, AaHash::Sha256] {
        let m1 = vec![0x5A; aa::rsa_m1_len(&public, hash)];
        let answer = aa::answer_rsa(&key, hash, &command, &m1, &mut rng).unwrap();
        assert_eq!(answer.data().len(), 128);
        aa::verify_rsa(&public, &CHALLENGE, &answer).unwrap();
        // Another challenge, a flipped bit, a clone with another key.
        let other = aa::verify_rsa(&public, &[0; 8], &answer).unwrap_err();
        assert!(other.to_string().contains("not the hash of M1"), "{other}");
        let mut bytes = answer.data().to_vec();
        bytes[60] ^= 1;
        assert!(aa::verify_rsa(&public, &CHALLENGE, &Response::ok(bytes).unwrap()).is_err());
        let clone = aa::answer_rsa(&rsa_key(3), hash, &command, &m1, &mut rng).unwrap();
        assert!(matches!(aa::verify_rsa(&public, &CHALLENGE, &clone), Err(AaError::BadSignature { .. })));
    }
    let refused = aa::verify_rsa(&public, &CHALLENGE, &Response::status(StatusWord::SECURITY_STATUS_NOT_SATISFIED));
    assert_eq!(refused.unwrap_err(), AaError::ChipRefused { sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED });
    let short = Command::new(0, 0x88, 0, 0).with_data(vec![1, 2, 3]).unwrap();
    let err = aa::answer_rsa(&key, AaHash::Sha1, &short, &[], &mut rng).unwrap_err();
    assert_eq!(err.status_word(), StatusWord::WRONG_LENGTH);
}

#[test]
fn ecdsa_both_sides_on_both_curves() {
    let command = aa::internal_authenticate(&CHALLENGE);
    for curve in [PaceCurve::P256, PaceCurve::BrainpoolP256r1] {
        let key = ec_key(curve, "DG15");
        let public = curve.public_key(&key).unwrap();
        for hash in [AaHash::Sha1, AaHash::Sha256, AaHash::Sha384] {
            let answer = aa::answer_ecdsa(curve, hash, &key, &command).unwrap();
            assert_eq!(answer.data().len(), 64);
            aa::verify_ecdsa(curve, hash, &public, &CHALLENGE, &answer).unwrap();
            assert!(aa::verify_ecdsa(curve, hash, &public, &[0; 8], &answer).is_err());
            let clone = aa::answer_ecdsa(curve, hash, &ec_key(curve, "clone"), &command).unwrap();
            assert!(aa::verify_ecdsa(curve, hash, &public, &CHALLENGE, &clone).is_err());
        }
    }
    assert_eq!(
        AaHash::from_ecdsa_plain_oid(&[0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01, 0x03]),
        Some(AaHash::Sha256)
    );
    assert_eq!(AaHash::from_ecdsa_plain_oid(&[0x04, 0x00, 0x7F]), None);
}

const SIGNER: &str = r#"
import sys, hashlib
from Crypto.PublicKey import ECC
from Crypto.Signature import DSS
from Crypto.Hash import SHA256
kind, challenge = sys.argv[1], bytes.fromhex(sys.argv[2])
if kind == "rsa":
    n, d = int(sys.argv[3], 16), int(sys.argv[4], 16)
    k = (n.bit_length() + 7) // 8
    m1 = bytes(range(k - 22))
    f = b"\x6a" + m1 + hashlib.sha1(m1 + challenge).digest() + b"\xbc"
    print(pow(int.from_bytes(f, "big"), d, n).to_bytes(k, "big").hex())
else:
    key = ECC.construct(curve="P-256", d=int(sys.argv[3], 16))
    print(DSS.new(key, "fips-186-3").sign(SHA256.new(challenge)).hex())
"#;

fn python_sign(python: &std::path::Path, args: &[String]) -> Response {
    let out = std::process::Command::new(python).arg("-c").arg(SIGNER).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).unwrap();
    let line = line.trim();
    Response::ok(
        (0..line.len()).step_by(2).map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap()).collect::<Vec<_>>(),
    )
    .unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |s, b| s + &format!("{b:02X}"))
}

#[test]
fn an_independent_python_chip_signs_and_our_terminal_verifies() {
    let Some(python) = khil_test_support::python_with("Crypto.Signature.DSS") else { return };
    let key = rsa_key(4);
    let (n, d) = (hex(&key.n().to_be_bytes()), hex(&key.d().to_be_bytes()));
    let answer = python_sign(&python, &["rsa".into(), hex(&CHALLENGE), n, d]);
    aa::verify_rsa(&key.to_public_key(), &CHALLENGE, &answer).unwrap();

    let curve = PaceCurve::P256;
    let ec = ec_key(curve, "python DG15");
    let answer = python_sign(&python, &["ecdsa".into(), hex(&CHALLENGE), hex(&ec)]);
    aa::verify_ecdsa(curve, AaHash::Sha256, &curve.public_key(&ec).unwrap(), &CHALLENGE, &answer).unwrap();
}
