//! Chip authentication between the two sides of this crate, inside a running secure messaging session: every
//! protocol on both curves, the switch to the new keys (SSC zero), and refusals (wrong key id, unknown OID, a
//! chip whose private key does not match the public key the terminal was given).

use khil_apdu::{Command, Response, StatusWord};
use khil_mrtd::ca::{CaChip, CaChipStep, CaError, CaProtocol, CaStep, CaTerminal};
use khil_mrtd::crypto::Cipher;
use khil_mrtd::pace::PaceCurve;
use khil_mrtd::sm::{SecureMessaging, SessionKeys};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn key_for(curve: PaceCurve, label: &str) -> Vec<u8> {
    (0u32..100)
        .map(|i| Sha256::new().chain_update(label).chain_update(i.to_be_bytes()).finalize().to_vec())
        .find(|k| curve.public_key(k).is_ok())
        .unwrap()
}

/// A BAC-like session both sides share before chip authentication.
fn sessions() -> (SecureMessaging, SecureMessaging) {
    let keys = SessionKeys::derive(Cipher::Tdes, b"BAC session");
    (
        SecureMessaging::new(keys.clone(), &[0, 0, 0, 0, 0, 0, 0, 7]),
        SecureMessaging::new(keys, &[0, 0, 0, 0, 0, 0, 0, 7]),
    )
}

/// Runs chip authentication through the protected session; the terminal's outcome and the chip's last status.
fn run(
    terminal: &mut CaTerminal,
    chip: &mut CaChip,
    terminal_sm: &mut SecureMessaging,
    chip_sm: &mut SecureMessaging,
) -> Result<(), CaError> {
    let mut command = terminal.start();
    loop {
        let opened = chip_sm.unprotect_command(&terminal_sm.protect(&command).unwrap()).unwrap();
        let (response, new_chip_keys) = match chip.answer(&opened) {
            Ok(CaChipStep::Reply(r)) => (r, None),
            Ok(CaChipStep::Rekey(r, keys, _)) => (r, Some(keys)),
            Err(e) => (Response::status(e.status_word()), None),
        };
        let protected = chip_sm.protect_response(&response);
        if let Some(keys) = new_chip_keys {
            chip_sm.rekey(keys);
        }
        match terminal.answer(&terminal_sm.unprotect(&protected).unwrap())? {
            CaStep::Send(next) => command = next,
            CaStep::Rekey(keys) => {
                terminal_sm.rekey(keys);
                return Ok(());
            }
        }
    }
}

#[test]
fn every_protocol_on_both_curves_switches_the_session() {
    for curve in [PaceCurve::P256, PaceCurve::BrainpoolP256r1] {
        for protocol in CaProtocol::ALL {
            let mut chip = CaChip::new(curve, key_for(curve, "chip"), Some(1), CaProtocol::ALL.to_vec()).unwrap();
            let mut terminal =
                CaTerminal::new(protocol, curve, &chip.public_key(), &key_for(curve, "terminal"), Some(1)).unwrap();
            let (mut t, mut c) = sessions();
            run(&mut terminal, &mut chip, &mut t, &mut c).unwrap_or_else(|e| panic!("{protocol:?} {curve:?}: {e}"));
            assert_eq!(t.cipher(), protocol.cipher());
            assert_eq!(t.ssc_bytes(), vec![0; protocol.cipher().block_len()]);
            assert_eq!(t.keys(), c.keys());
            let read = Command::new(0, 0xB0, 0x81, 0).with_ne(4).unwrap();
            assert_eq!(c.unprotect_command(&t.protect(&read).unwrap()).unwrap(), read);
            let shown = format!("{terminal:?} {chip:?}");
            // No byte lists (Vec<u8> Debug starts "[" and a digit).
            assert!(!shown.as_bytes().windows(2).any(|w| w[0] == b'[' && w[1].is_ascii_digit()), "{shown}");
        }
    }
}

#[test]
fn the_3des_protocol_is_one_mse_set_kat() {
    let curve = PaceCurve::P256;
    let chip = CaChip::new(curve, key_for(curve, "chip"), None, vec![CaProtocol::EcdhTdes]).unwrap();
    let mut terminal =
        CaTerminal::new(CaProtocol::EcdhTdes, curve, &chip.public_key(), &key_for(curve, "t"), None).unwrap();
    let set_kat = terminal.start();
    assert_eq!((set_kat.cla, set_kat.ins, set_kat.p1, set_kat.p2), (0x00, 0x22, 0x41, 0xA6));
    assert_eq!(&set_kat.data()[..3], [0x91, 0x41, 0x04]);
    assert_eq!(&set_kat.data()[3..], &terminal.ephemeral_public_key()[1..]);
    assert_eq!(CaProtocol::from_oid(&CaProtocol::EcdhAes128.oid()), Some(CaProtocol::EcdhAes128));
    assert_eq!(CaProtocol::EcdhAes256.oid(), [0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x03, 0x02, 0x04]);
}

#[test]
fn refusals() {
    let curve = PaceCurve::BrainpoolP256r1;
    let mut chip = CaChip::new(curve, key_for(curve, "chip"), Some(1), vec![CaProtocol::EcdhAes128]).unwrap();
    // Another key id, a protocol the chip does not offer: 6A88, and the terminal names the step.
    for (protocol, key_id) in [(CaProtocol::EcdhAes128, Some(2)), (CaProtocol::EcdhAes256, Some(1))] {
        let mut terminal = CaTerminal::new(protocol, curve, &chip.public_key(), &key_for(curve, "t"), key_id).unwrap();
        let err = chip.answer(&terminal.start()).unwrap_err();
        assert_eq!(err.status_word(), StatusWord::REFERENCE_NOT_FOUND);
        let refused = terminal.answer(&Response::status(err.status_word())).unwrap_err();
        assert!(refused.to_string().contains("MSE:Set AT"), "{refused}");
    }
    // GENERAL AUTHENTICATE before MSE:Set AT.
    let ga = Command::new(0, 0x86, 0, 0).with_data(vec![0x7C, 0x00]).unwrap();
    assert_eq!(chip.answer(&ga).unwrap_err().status_word(), StatusWord::CONDITIONS_NOT_SATISFIED);
    // A point not on the curve.
    assert!(CaTerminal::new(CaProtocol::EcdhAes128, curve, &[4; 65], &key_for(curve, "t"), None).is_err());

    // A cloned chip without the private key: it agrees other keys, so the first protected response fails.
    let genuine = chip.public_key();
    let mut clone = CaChip::new(curve, key_for(curve, "clone"), Some(1), vec![CaProtocol::EcdhAes128]).unwrap();
    let mut terminal = CaTerminal::new(CaProtocol::EcdhAes128, curve, &genuine, &key_for(curve, "t"), Some(1)).unwrap();
    let (mut t, mut c) = sessions();
    run(&mut terminal, &mut clone, &mut t, &mut c).unwrap();
    let opened = c.unprotect_command(&t.protect(&Command::new(0, 0xB0, 0, 0).with_ne(4).unwrap()).unwrap());
    assert_eq!(opened.unwrap_err().status_word(), StatusWord::SM_OBJECTS_INCORRECT);
}

proptest! {
    #[test]
    fn the_chip_never_panics(
        ins in prop::sample::select(vec![0x22u8, 0x86]),
        p1p2 in prop::sample::select(vec![(0x41u8, 0xA6u8), (0x41, 0xA4), (0, 0)]),
        data in prop::collection::vec(any::<u8>(), 0..100),
        first in any::<bool>(),
    ) {
        let curve = PaceCurve::P256;
        let mut chip = CaChip::new(curve, key_for(curve, "chip"), None, CaProtocol::ALL.to_vec()).unwrap();
        if first {
            let oid = CaProtocol::EcdhAes128.oid();
            let set_at = [&[0x80, oid.len() as u8][..], &oid].concat();
            let _ = chip.answer(&Command::new(0, 0x22, 0x41, 0xA4).with_data(set_at).unwrap());
        }
        let _ = chip.answer(&Command::new(0, ins, p1p2.0, p1p2.1).with_data(data).unwrap());
    }
}
