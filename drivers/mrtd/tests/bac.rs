//! ICAO 9303-11 Appendix D, the worked example of BAC and 3DES secure messaging, reproduced byte for byte from
//! both sides: the inspection system (terminal) and the chip.

use khil_apdu::{Command, Response, StatusWord};
use khil_mrtd::bac::{self, BacChip, BacError, BacKeys, BacTerminal};
use khil_mrtd::crypto::kseed;
use khil_mrtd::sm::{SecureMessaging, SmError};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn arr<const N: usize>(s: &str) -> [u8; N] {
    hex(s).try_into().unwrap()
}

const MRZ_INFORMATION: &str = "L898902C<369080619406236";
const RND_IC: &str = "4608F91988702212";
const RND_IFD: &str = "781723860C06C226";
const K_IFD: &str = "0B795240CB7049B01C19B33E32804F0B";
const K_IC: &str = "0B4F80323EB3191CB04970CB4052790B";
const EXTERNAL_AUTHENTICATE: &str = "0082000028 72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2 \
                                     5F1448EEA8AD90A7 28";
const EIC_MIC: &str = "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F 2F2D235D074D7449";
const KS_ENC: &str = "979EC13B1CBFE9DCD01AB0FED307EAE5";
const KS_MAC: &str = "F1CB1F1FB5ADF208806B89DC579DC1F8";
const SSC: &str = "887022120C06C226";

/// (plain command, protected command, plain response, protected response) of Appendix D.4.
const EXCHANGES: [(&str, &str, &str, &str); 3] = [
    (
        "00A4020C02011E",
        "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800",
        "9000",
        "990290008E08FA855A5D4C50A8ED 9000",
    ),
    (
        "00B0000004",
        "0CB000000D9701048E08ED6705417E96BA5500",
        "60145F01 9000",
        "8709019FF0EC34F99226519902 9000 8E08AD55CC17140B2DED 9000",
    ),
    (
        "00B0000412",
        "0CB000040D9701128E082EA28A70F3C7B53500",
        "04303130365F36063034303030305C026175 9000",
        "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A 990290008E08C8B2787EAEA07D74 9000",
    ),
];

fn keys() -> BacKeys {
    BacKeys::from_mrz_information(MRZ_INFORMATION)
}

fn command(s: &str) -> Command {
    Command::parse(&hex(s)).unwrap()
}

fn response(s: &str) -> Response {
    Response::parse(&hex(s)).unwrap()
}

#[test]
fn document_basic_access_keys() {
    assert_eq!(kseed(MRZ_INFORMATION.as_bytes()).to_vec(), hex("239AB9CB282DAF66231DC5A4DF6BFBAE"));
    assert_eq!(keys().enc().expose_bytes(), hex("AB94FDECF2674FDFB9B391F85D7F76F2"));
    assert_eq!(keys().mac().expose_bytes(), hex("7962D9ECE03D1ACD4C76089DCE131543"));
    assert_eq!(format!("{:?}", keys()), "BacKeys(3DES)");
}

fn assert_session(sm: &SecureMessaging) {
    assert_eq!(sm.keys().enc.expose_bytes(), hex(KS_ENC));
    assert_eq!(sm.keys().mac.expose_bytes(), hex(KS_MAC));
    assert_eq!(sm.ssc_bytes(), hex(SSC));
    assert!(!format!("{sm:?}").contains("979E"), "{sm:?}");
}

#[test]
fn terminal_side_of_appendix_d() {
    // SELECT of the eMRTD application (plain, before BAC), then GET CHALLENGE.
    let select_aid = Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(hex("A0000002471001")).unwrap();
    assert_eq!(select_aid.encode(), hex("00A4040C07A0000002471001"));
    assert_eq!(bac::get_challenge().encode(), hex("0084000008"));
    let rnd_ic = bac::challenge_from(&response(&format!("{RND_IC} 9000"))).unwrap();
    let terminal = BacTerminal::new(keys(), rnd_ic, arr(RND_IFD), arr(K_IFD));
    assert_eq!(terminal.external_authenticate().encode(), hex(EXTERNAL_AUTHENTICATE));
    let mut sm = terminal.finish(&response(&format!("{EIC_MIC} 9000"))).unwrap();
    assert_session(&sm);

    for (plain, protected, plain_response, protected_response) in EXCHANGES {
        assert_eq!(sm.protect(&command(plain)).unwrap().encode(), hex(protected), "protecting {plain}");
        let opened = sm.unprotect(&response(protected_response)).unwrap();
        assert_eq!(opened, response(plain_response), "opening the answer to {plain}");
    }
    // The two READ BINARY answers together are EF.COM of the example.
    let ef_com = [&hex("60145F01")[..], &hex("04303130365F36063034303030305C026175")].concat();
    assert_eq!(ef_com, hex("60145F0104303130365F36063034303030305C026175"));
}

#[test]
fn chip_side_of_appendix_d() {
    let chip = BacChip::new(keys(), arr(RND_IC), arr(K_IC));
    assert_eq!(chip.challenge_response().encode(), hex(&format!("{RND_IC} 9000")));
    let (answer, mut sm) = chip.external_authenticate(&command(EXTERNAL_AUTHENTICATE)).unwrap();
    assert_eq!(answer.encode(), hex(&format!("{EIC_MIC} 9000")));
    assert_session(&sm);

    for (plain, protected, plain_response, protected_response) in EXCHANGES {
        assert_eq!(sm.unprotect_command(&command(protected)).unwrap(), command(plain), "opening {protected}");
        assert_eq!(sm.protect_response(&response(plain_response)).encode(), hex(protected_response));
    }
}

#[test]
fn a_wrong_mrz_is_refused_with_6300_on_both_sides() {
    let other = BacKeys::from_mrz_information("L898902C<369080619406237");
    let terminal = BacTerminal::new(other.clone(), arr(RND_IC), arr(RND_IFD), arr(K_IFD));
    let chip = BacChip::new(keys(), arr(RND_IC), arr(K_IC));
    let err = chip.external_authenticate(&terminal.external_authenticate()).unwrap_err();
    assert_eq!(err, BacError::WrongMac { who: "the terminal's EIFD || MIFD" });
    assert_eq!(err.status_word(), StatusWord(0x6300));
    let refused = terminal.finish(&Response::status(err.status_word())).unwrap_err();
    assert_eq!(refused, BacError::ChipRefused { sw: StatusWord(0x6300) });
    assert!(refused.to_string().starts_with("BAC: the chip answered 6300"), "{refused}");

    // A replayed cryptogram for another challenge: the MAC holds, the challenge does not.
    let replay = BacChip::new(keys(), arr("0000000000000000"), arr(K_IC));
    let terminal = BacTerminal::new(keys(), arr(RND_IC), arr(RND_IFD), arr(K_IFD));
    let err = replay.external_authenticate(&terminal.external_authenticate()).unwrap_err();
    assert_eq!(err.status_word(), StatusWord(0x6300));
    // Wrong length and wrong command.
    let short = Command::new(0, 0x82, 0, 0).with_data(vec![0; 39]).unwrap();
    assert_eq!(chip.external_authenticate(&short).unwrap_err().status_word(), StatusWord::WRONG_LENGTH);
    let other_ins = Command::new(0, 0x88, 0, 0).with_data(vec![0; 40]).unwrap();
    assert_eq!(chip.external_authenticate(&other_ins).unwrap_err().status_word(), StatusWord::INS_NOT_SUPPORTED);
}

#[test]
fn tampered_protected_apdus_give_6988_and_missing_mac_6987() {
    let chip = BacChip::new(keys(), arr(RND_IC), arr(K_IC));
    let (_, sm) = chip.external_authenticate(&command(EXTERNAL_AUTHENTICATE)).unwrap();
    let (_, protected, _, _) = EXCHANGES[1];

    let mut tampered = hex(protected);
    tampered[7] ^= 1; // the Le inside DO97
    let err = sm.clone().unprotect_command(&Command::parse(&tampered).unwrap()).unwrap_err();
    assert!(matches!(err, SmError::WrongMac { apdu: "command", .. }), "{err}");
    assert_eq!(err.status_word(), StatusWord::SM_OBJECTS_INCORRECT);

    let no_mac = Command::new(0x0C, 0xB0, 0, 0).with_data(hex("970104")).unwrap().with_ne(256).unwrap();
    let err = sm.clone().unprotect_command(&no_mac).unwrap_err();
    assert_eq!(err.status_word(), StatusWord::SM_OBJECTS_MISSING);
    assert_eq!(err.to_string(), "secure messaging: the command has no data object 8E");
    let plain = sm.clone().unprotect_command(&command("00B0000004")).unwrap_err();
    assert_eq!(plain.status_word(), StatusWord::SM_OBJECTS_MISSING);

    // The terminal side: a response with a wrong MAC, and a plain 6988 from the card.
    let terminal = BacTerminal::new(keys(), arr(RND_IC), arr(RND_IFD), arr(K_IFD));
    let mut sm = terminal.finish(&response(&format!("{EIC_MIC} 9000"))).unwrap();
    sm.protect(&command(EXCHANGES[0].0)).unwrap();
    let mut bad = hex(EXCHANGES[0].3);
    bad[7] ^= 0x80; // inside the MAC
    let err = sm.unprotect(&Response::parse(&bad).unwrap()).unwrap_err();
    assert!(matches!(err, SmError::WrongMac { apdu: "response", .. }), "{err}");
    sm.protect(&command(EXCHANGES[1].0)).unwrap();
    let err = sm.unprotect(&Response::status(StatusWord::SM_OBJECTS_INCORRECT)).unwrap_err();
    assert_eq!(err, SmError::PlainStatus { sw: StatusWord::SM_OBJECTS_INCORRECT });
}

mod never_panic {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The chip's EXTERNAL AUTHENTICATE and the terminal's checks of GET CHALLENGE and EIC || MIC, on any
        /// bytes (40-byte data half the time, so the MAC check runs).
        #[test]
        fn bac_messages_never_panic(
            data in prop_oneof![prop::collection::vec(any::<u8>(), 0..80), prop::collection::vec(any::<u8>(), 40..=40)],
            sw in any::<u16>(),
            header in any::<[u8; 4]>(),
        ) {
            let chip = BacChip::new(keys(), arr(RND_IC), arr(K_IC));
            let command = Command::new(header[0], header[1], header[2], header[3]).with_data(data.clone()).unwrap();
            let _ = chip.external_authenticate(&command);
            let ea = Command::new(0, 0x82, 0, 0).with_data(data.clone()).unwrap();
            prop_assert!(chip.external_authenticate(&ea).is_err());
            let response = Response::new(data, StatusWord(sw)).unwrap();
            let _ = bac::challenge_from(&response);
            let terminal = BacTerminal::new(keys(), arr(RND_IC), arr(RND_IFD), arr(K_IFD));
            prop_assert!(terminal.finish(&response).is_err());
        }
    }
}

#[test]
fn debug_of_key_holding_types_shows_no_key_bytes() {
    // KEnc starts AB94FD, KSEnc 979EC1, K.IFD 0B7952, RND.IC 4608F9: none may appear, in hex or as byte lists.
    let terminal = BacTerminal::new(keys(), arr(RND_IC), arr(RND_IFD), arr(K_IFD));
    let chip = BacChip::new(keys(), arr(RND_IC), arr(K_IC));
    let (_, sm) = chip.external_authenticate(&command(EXTERNAL_AUTHENTICATE)).unwrap();
    let shown = format!("{:?} {:?} {terminal:?} {chip:?} {sm:?} {:?}", keys(), keys().enc(), sm.keys());
    for secret in ["AB94FD", "979EC1", "0B7952", "4608F9", "171, 148", "151, 158", "11, 121", "70, 8"] {
        assert!(!shown.to_uppercase().contains(secret), "{secret} in {shown}");
    }
}
