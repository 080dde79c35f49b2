//! Secure messaging between the two sides of this crate, for every cipher: any command the terminal protects the
//! chip opens unchanged, any response the chip protects the terminal opens unchanged (short and extended lengths,
//! all four cases, odd and even INS), and no bytes at all make either side panic.

use khil_apdu::{Command, Response, StatusWord};
use khil_mrtd::crypto::Cipher;
use khil_mrtd::sm::{SecureMessaging, SessionKeys, SmError};
use proptest::prelude::*;

const CIPHERS: [Cipher; 4] = [Cipher::Tdes, Cipher::Aes128, Cipher::Aes192, Cipher::Aes256];

fn pair(cipher: Cipher, secret: &[u8], ssc: &[u8]) -> (SecureMessaging, SecureMessaging) {
    let keys = SessionKeys::derive(cipher, secret);
    (SecureMessaging::new(keys.clone(), ssc), SecureMessaging::new(keys, ssc))
}

fn arb_command() -> impl Strategy<Value = Command> {
    (
        prop::sample::select(vec![0x00u8, 0x10, 0x80, 0x90]),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        prop_oneof![3 => prop::collection::vec(any::<u8>(), 0..300), 1 => prop::collection::vec(any::<u8>(), 0..2000)],
        prop_oneof![Just(None), (1usize..=256).prop_map(Some), (1usize..=65_536).prop_map(Some)],
        any::<bool>(),
    )
        .prop_map(|(cla, ins, p1, p2, data, ne, extended)| {
            let mut c = Command::new(cla, ins, p1, p2).with_data(data).unwrap();
            if let Some(ne) = ne {
                c = c.with_ne(ne).unwrap();
            }
            if extended { c.extended() } else { c }
        })
}

fn same_command(a: &Command, b: &Command) -> bool {
    // Without Le and with short data, the plain form (short or forced extended) is not carried: Nc and Ne are.
    (a.cla, a.ins, a.p1, a.p2, a.data(), a.ne()) == (b.cla, b.ins, b.p1, b.p2, b.data(), b.ne())
        && (a.ne().is_none() || a.is_extended() == b.is_extended())
}

proptest! {
    #[test]
    fn commands_and_responses_round_trip(
        cipher in prop::sample::select(CIPHERS.to_vec()),
        secret in prop::collection::vec(any::<u8>(), 16..32),
        ssc in prop::collection::vec(any::<u8>(), 8..=16),
        exchanges in prop::collection::vec(
            (arb_command(), prop::collection::vec(any::<u8>(), 0..600), any::<u16>()), 1..4),
    ) {
        let (mut terminal, mut chip) = pair(cipher, &secret, &ssc);
        for (command, data, sw) in exchanges {
            let protected = terminal.protect(&command).unwrap();
            prop_assert_eq!(protected.cla & 0x0C, 0x0C);
            // The protected command survives its own encoding.
            let protected = Command::parse(&protected.encode()).unwrap();
            let opened = chip.unprotect_command(&protected).unwrap();
            prop_assert!(same_command(&opened, &command), "{:?} became {:?}", command, opened);
            let response = Response::new(data, StatusWord(sw)).unwrap();
            let sent = Response::parse(&chip.protect_response(&response).encode()).unwrap();
            prop_assert_eq!(terminal.unprotect(&sent).unwrap(), response);
            prop_assert_eq!(terminal.ssc_bytes(), chip.ssc_bytes());
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_either_side(
        cipher in prop::sample::select(CIPHERS.to_vec()),
        bytes in prop::collection::vec(any::<u8>(), 0..120),
    ) {
        let (mut terminal, mut chip) = pair(cipher, b"any shared secret", &[0; 16]);
        if let Ok(response) = Response::parse(&bytes) {
            let _ = terminal.unprotect(&response);
        }
        if let Ok(command) = Command::parse(&bytes) {
            let _ = chip.unprotect_command(&command);
        }
    }

    /// Well-formed data objects with arbitrary contents, so parsing passes and the checks behind it run.
    #[test]
    fn arbitrary_data_objects_never_panic(
        cipher in prop::sample::select(CIPHERS.to_vec()),
        objects in prop::collection::vec(
            (prop::sample::select(vec![0x85u32, 0x87, 0x97, 0x99, 0x8E, 0x53]),
             prop::collection::vec(any::<u8>(), 0..40)), 0..5),
        ins in any::<u8>(),
    ) {
        let (mut terminal, mut chip) = pair(cipher, b"any shared secret", &[0; 16]);
        let data: Vec<u8> = objects.iter().flat_map(|(t, v)| khil_mrtd::tlv::encode(khil_mrtd::tlv::Tag(*t), v)).collect();
        if let Ok(command) = Command::new(0x0C, ins, 0, 0).with_data(data.clone()) {
            let _ = chip.unprotect_command(&command);
        }
        let _ = terminal.unprotect(&Response::new(data, StatusWord::SUCCESS).unwrap());
    }
}

#[test]
fn odd_ins_uses_do85_both_ways() {
    // READ BINARY B1 with offset DO54 (9303-10: offsets above 32767).
    let (mut terminal, mut chip) = pair(Cipher::Aes128, b"secret", &[0; 16]);
    let command = Command::new(0x00, 0xB1, 0x00, 0x00).with_data(vec![0x54, 0x02, 0x80, 0x00]).unwrap();
    let command = command.with_ne(256).unwrap();
    let protected = terminal.protect(&command).unwrap();
    assert_eq!(protected.data()[0], 0x85);
    assert_eq!(chip.unprotect_command(&protected).unwrap(), command);
    let answer = chip.protect_response(&Response::ok(vec![0x53, 0x02, 0xAA, 0xBB]).unwrap());
    assert_eq!(answer.data()[0], 0x85);
    assert_eq!(terminal.unprotect(&answer).unwrap().data(), [0x53, 0x02, 0xAA, 0xBB]);
}

#[test]
fn extended_lengths_and_do97() {
    let (mut terminal, mut chip) = pair(Cipher::Aes256, b"secret", &[0; 16]);
    let read_all = Command::new(0x00, 0xB0, 0x00, 0x00).with_ne(65_536).unwrap();
    let protected = terminal.protect(&read_all).unwrap();
    assert_eq!(&protected.data()[..4], [0x97, 0x02, 0x00, 0x00]);
    assert!(protected.is_extended());
    assert_eq!(protected.ne(), Some(65_536));
    assert_eq!(chip.unprotect_command(&protected).unwrap(), read_all);
    let big = vec![0x5A; 60_000];
    let answer = chip.protect_response(&Response::ok(big.clone()).unwrap());
    assert_eq!(terminal.unprotect(&answer).unwrap().data(), big);

    // Nc near 65535 grows past what an APDU carries once wrapped.
    let too_big = Command::new(0x00, 0xD6, 0, 0).with_data(vec![0; 65_535]).unwrap();
    assert!(matches!(terminal.protect(&too_big), Err(SmError::TooLong { .. })));
}

#[test]
fn rekeying_restarts_the_counter_and_debug_hides_keys() {
    let (mut terminal, _) = pair(Cipher::Tdes, b"secret", &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(terminal.ssc_bytes(), [1, 2, 3, 4, 5, 6, 7, 8]);
    terminal.protect(&Command::new(0, 0xA4, 0, 0)).unwrap();
    assert_eq!(terminal.ssc_bytes(), [1, 2, 3, 4, 5, 6, 7, 9]);
    let keys = SessionKeys::derive(Cipher::Aes128, b"chip authentication secret");
    let key_hex = keys.enc.expose_bytes().iter().fold(String::new(), |s, b| s + &format!("{b:02X}"));
    terminal.rekey(keys);
    assert_eq!(terminal.ssc_bytes(), [0; 16]);
    let shown = format!("{terminal:?} {:?}", terminal.keys());
    assert_eq!(shown, format!("SecureMessaging(AES-128, SSC {}) SessionKeys(AES-128)", "00".repeat(16)));
    assert!(!shown.contains(&key_hex));
}
