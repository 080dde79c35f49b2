//! PACE: ICAO 9303-11 Appendix G.1 (ECDH generic mapping, brainpoolP256r1, AES-128) reproduced byte for byte
//! from both sides, full runs of the terminal against the chip on both curves with every cipher, a wrong password,
//! EF.CardAccess, and parsers that never panic.

use khil_apdu::{Command, Response, StatusWord};
use khil_mrtd::crypto::{Cipher, Key};
use khil_mrtd::lds::{EfCardAccess, SecurityInfos};
use khil_mrtd::pace::{
    self, ChipStep, MseSetAt, PaceChip, PaceCurve, PaceError, PaceParams, PaceProtocol, PaceSecrets, PaceStep,
    PaceTerminal, Password,
};
use khil_mrtd::sm::SecureMessaging;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

// Appendix G.1.
const MRZ_INFORMATION: &str = "T22000129364081251010318";
const KPI: &str = "89DED1B26624EC1E634C1989302849DD";
const NONCE_Z: &str = "95A3A016522EE98D01E76CB6B98B42C3";
const NONCE_S: &str = "3F00C4D39D153F2B2A214A078D899B22";
const SK_MAP_IFD: &str = "7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99";
const SK_MAP_IC: &str = "498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560";
const SK_IFD: &str = "A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595";
const SK_IC: &str = "107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A";
const PK_MAP_IFD: &str = "04 7ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E \
                             544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D";
const PK_MAP_IC: &str = "04 824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F57 \
                            30D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C54";
const SHARED_H: &str = "04 60332EF2450B5D247EF6D3868397D398852ED6E8CAF6FFEEF6BF85CA57057FD5 \
                           0840CA7415BAF3E43BD414D35AA4608B93A2CAF3A4E3EA4E82C9C13D03EB7181";
const MAPPED_G: &str = "04 8CED63C91426D4F0EB1435E7CB1D74A46723A0AF21C89634F65A9AE87A9265E2 \
                           8C879506743F8611AC33645C5B985C80B5F09A0B83407C1B6A4D857AE76FE522";
const PK_IFD: &str = "04 2DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C \
                         3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB36462";
const PK_IC: &str = "04 9E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB \
                        7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F094";
const K: &str = "28768D20701247DAE81804C9E780EDE582A9996DB4A315020B2733197DB84925";
const KS_ENC: &str = "F5F0E35C0D7161EE6724EE513A0D9A7F";
const KS_MAC: &str = "FE251C7858B356B24514B3BD5F4297D1";
const T_IFD: &str = "C2B0BD78D94BA866";
const T_IC: &str = "3ABB9674BCE93C08";
const CARD_ACCESS: &str = "31143012060A04007F0007020204020202010202010D";

/// The APDUs of Appendix G.1: (command, response).
fn transcript() -> Vec<(Vec<u8>, Vec<u8>)> {
    [
        ("0022C1A412 800A04007F00070202040202 830101 84010D".to_string(), "9000".to_string()),
        ("10860000027C0000".into(), format!("7C1280 10{NONCE_Z} 9000")),
        (format!("1086000045 7C43 8141{PK_MAP_IFD} 00"), format!("7C43 8241{PK_MAP_IC} 9000")),
        (format!("1086000045 7C43 8341{PK_IFD} 00"), format!("7C43 8441{PK_IC} 9000")),
        (format!("008600000C 7C0A 8508{T_IFD} 00"), format!("7C0A 8608{T_IC} 9000")),
    ]
    .into_iter()
    .map(|(c, r)| (hex(&c), hex(&r)))
    .collect()
}

const G1: PaceParams = PaceParams { protocol: PaceProtocol::EcdhGmAes128, curve: PaceCurve::BrainpoolP256r1 };

fn password() -> Password {
    Password::Mrz(MRZ_INFORMATION.into())
}

fn terminal_secrets() -> PaceSecrets {
    PaceSecrets { map_private_key: hex(SK_MAP_IFD), ephemeral_private_key: hex(SK_IFD), nonce: Vec::new() }
}

fn chip_secrets() -> PaceSecrets {
    PaceSecrets { map_private_key: hex(SK_MAP_IC), ephemeral_private_key: hex(SK_IC), nonce: hex(NONCE_S) }
}

fn assert_g1_session(sm: &SecureMessaging) {
    assert_eq!(sm.keys().enc.expose_bytes(), hex(KS_ENC));
    assert_eq!(sm.keys().mac.expose_bytes(), hex(KS_MAC));
    assert_eq!(sm.ssc_bytes(), [0; 16]);
}

#[test]
fn appendix_g1_values() {
    let curve = PaceCurve::BrainpoolP256r1;
    let kpi = password().key(Cipher::Aes128);
    assert_eq!(kpi.expose_bytes(), hex(KPI));
    assert_eq!(kpi.encrypt_cbc(&[0; 16], &hex(NONCE_S)).unwrap(), hex(NONCE_Z));
    assert_eq!(kpi.decrypt_cbc(&[0; 16], &hex(NONCE_Z)).unwrap(), hex(NONCE_S));
    assert_eq!(curve.public_key(&hex(SK_MAP_IFD)).unwrap(), hex(PK_MAP_IFD));
    assert_eq!(curve.public_key(&hex(SK_MAP_IC)).unwrap(), hex(PK_MAP_IC));
    assert_eq!(curve.multiply(&hex(SK_MAP_IFD), &hex(PK_MAP_IC)).unwrap(), hex(SHARED_H));
    assert_eq!(curve.multiply(&hex(SK_MAP_IC), &hex(PK_MAP_IFD)).unwrap(), hex(SHARED_H));
    let g = curve.map_generator(&hex(NONCE_S), &hex(SK_MAP_IFD), &hex(PK_MAP_IC)).unwrap();
    assert_eq!(g, hex(MAPPED_G));
    assert_eq!(curve.map_generator(&hex(NONCE_S), &hex(SK_MAP_IC), &hex(PK_MAP_IFD)).unwrap(), hex(MAPPED_G));
    assert_eq!(curve.multiply(&hex(SK_IFD), &g).unwrap(), hex(PK_IFD));
    assert_eq!(curve.multiply(&hex(SK_IC), &g).unwrap(), hex(PK_IC));
    assert_eq!(curve.shared_secret(&hex(SK_IFD), &hex(PK_IC)).unwrap(), hex(K));
    assert_eq!(curve.shared_secret(&hex(SK_IC), &hex(PK_IFD)).unwrap(), hex(K));
    let mac = Key::new(Cipher::Aes128, &hex(KS_MAC)).unwrap();
    assert_eq!(pace::authentication_token(&mac, PaceProtocol::EcdhGmAes128, &hex(PK_IC)).to_vec(), hex(T_IFD));
    assert_eq!(pace::authentication_token(&mac, PaceProtocol::EcdhGmAes128, &hex(PK_IFD)).to_vec(), hex(T_IC));
}

#[test]
fn terminal_side_of_appendix_g1() {
    let mut terminal = PaceTerminal::new(G1, password(), terminal_secrets());
    let mut command = terminal.start();
    let steps = transcript();
    for (i, (expected_command, response)) in steps.iter().enumerate() {
        assert_eq!(command.encode(), *expected_command, "command {i}");
        match terminal.answer(&Response::parse(response).unwrap()).unwrap() {
            PaceStep::Send(next) => command = next,
            PaceStep::Established(sm) => {
                assert_eq!(i, steps.len() - 1);
                assert_g1_session(&sm);
            }
        }
    }
    assert!(!format!("{terminal:?}").contains("T22000"), "{terminal:?}");
}

#[test]
fn chip_side_of_appendix_g1() {
    let offered = pace::offered(&EfCardAccess::parse(&hex(CARD_ACCESS)).unwrap());
    let mut chip = PaceChip::new(vec![password()], offered, chip_secrets());
    for (i, (command, expected_response)) in transcript().into_iter().enumerate() {
        match chip.answer(&Command::parse(&command).unwrap()).unwrap() {
            ChipStep::Reply(response) => assert_eq!(response.encode(), expected_response, "response {i}"),
            ChipStep::Established(response, sm) => {
                assert_eq!(i, 4);
                assert_eq!(response.encode(), expected_response);
                assert_g1_session(&sm);
            }
        }
    }
    assert!(!format!("{chip:?}").contains("3F00C4"));
}

#[test]
fn card_access_of_a_real_document() {
    let card_access = EfCardAccess::parse(&hex(CARD_ACCESS)).unwrap();
    assert_eq!(pace::offered(&card_access), [G1]);
    assert_eq!(EfCardAccess(SecurityInfos(vec![G1.security_info()])).encode().unwrap(), hex(CARD_ACCESS));
    assert_eq!(PaceProtocol::from_oid(&hex("04007F00070202040202")), Some(PaceProtocol::EcdhGmAes128));
    assert_eq!(PaceProtocol::from_oid(&hex("04007F00070202040201")), Some(PaceProtocol::EcdhGm3Des));
    assert_eq!(PaceProtocol::from_oid(&hex("04007F00070202040204")), Some(PaceProtocol::EcdhGmAes256));
    assert_eq!(PaceProtocol::from_oid(&hex("04007F00070202040102")), None, "DH-GM is not run");
    // A chip authentication info next to it is not a PACE offer.
    let with_ca = hex("3125 3012060A04007F0007020204020202010202010D 300F060A04007F00070202030202 020101");
    assert_eq!(pace::offered(&EfCardAccess::parse(&with_ca).unwrap()), [G1]);
    let set_at = MseSetAt::parse(&Command::parse(&transcript()[0].0).unwrap()).unwrap();
    assert_eq!((set_at.password_reference, set_at.parameter_id), (1, Some(13)));
}

/// 32-byte private keys from a label, skipping values outside 1..n (brainpoolP256r1's order is below 2^256).
fn key_for(curve: PaceCurve, label: &str) -> Vec<u8> {
    (0u32..100)
        .map(|i| Sha256::new().chain_update(label).chain_update(i.to_be_bytes()).finalize().to_vec())
        .find(|k| curve.public_key(k).is_ok())
        .unwrap()
}

fn secrets(params: PaceParams, side: &str, run: u32) -> PaceSecrets {
    let nonce_len = params.protocol.cipher().block_len().max(16);
    PaceSecrets {
        map_private_key: key_for(params.curve, &format!("{side} map {run}")),
        ephemeral_private_key: key_for(params.curve, &format!("{side} ephemeral {run}")),
        nonce: Sha256::digest(format!("nonce {run}"))[..nonce_len].to_vec(),
    }
}

/// Terminal against chip through the state machines; the terminal's result and the chip's last status.
fn run(
    params: PaceParams,
    terminal_password: Password,
    chip_passwords: Vec<Password>,
    run: u32,
) -> (Result<SecureMessaging, PaceError>, Option<SecureMessaging>, StatusWord) {
    let mut terminal = PaceTerminal::new(params, terminal_password, secrets(params, "terminal", run));
    let mut chip = PaceChip::new(chip_passwords, vec![params], secrets(params, "chip", run));
    let mut command = terminal.start();
    let mut chip_session = None;
    loop {
        let response = match chip.answer(&command) {
            Ok(ChipStep::Reply(r)) => r,
            Ok(ChipStep::Established(r, sm)) => {
                chip_session = Some(sm);
                r
            }
            Err(e) => Response::status(e.status_word()),
        };
        let sw = response.sw;
        match terminal.answer(&response) {
            Ok(PaceStep::Send(next)) => command = next,
            Ok(PaceStep::Established(sm)) => return (Ok(sm), chip_session, sw),
            Err(e) => return (Err(e), chip_session, sw),
        }
    }
}

#[test]
fn terminal_against_chip_on_both_curves_with_every_cipher() {
    let can = Password::Can("123456".into());
    for curve in [PaceCurve::P256, PaceCurve::BrainpoolP256r1] {
        for protocol in PaceProtocol::ALL {
            let params = PaceParams { protocol, curve };
            for (i, pw) in [password(), can.clone()].into_iter().enumerate() {
                let (terminal, chip, sw) = run(params, pw, vec![password(), can.clone()], i as u32);
                let mut terminal = terminal.unwrap_or_else(|e| panic!("{protocol} on {curve:?}: {e}"));
                let mut chip = chip.expect("the chip established the session");
                assert_eq!(sw, StatusWord::SUCCESS);
                assert_eq!(terminal.cipher(), protocol.cipher());
                assert_eq!(terminal.keys(), chip.keys());
                // The session works: a protected READ BINARY and its answer.
                let read = Command::new(0, 0xB0, 0, 0).with_ne(4).unwrap();
                let opened = chip.unprotect_command(&terminal.protect(&read).unwrap()).unwrap();
                assert_eq!(opened, read);
                let answer = chip.protect_response(&Response::ok(vec![0x60, 0x14, 0x5F, 0x01]).unwrap());
                assert_eq!(terminal.unprotect(&answer).unwrap().data(), [0x60, 0x14, 0x5F, 0x01]);
            }
        }
    }
}

#[test]
fn a_wrong_password_fails_with_6300_from_the_chip() {
    for curve in [PaceCurve::P256, PaceCurve::BrainpoolP256r1] {
        let params = PaceParams { protocol: PaceProtocol::EcdhGmAes256, curve };
        let (terminal, chip, sw) = run(params, Password::Mrz("T22000129364081251010319".into()), vec![password()], 7);
        assert_eq!(sw, StatusWord(0x6300));
        assert!(chip.is_none());
        let err = terminal.unwrap_err();
        assert!(matches!(err, PaceError::ChipRefused { sw: StatusWord(0x6300), .. }), "{err}");
        assert!(err.to_string().contains("mutual authentication"), "{err}");
    }
    // A CAN the chip does not have: MSE:Set AT is refused.
    let (terminal, _, sw) = run(G1, Password::Can("123456".into()), vec![password()], 1);
    assert_eq!(sw, StatusWord::REFERENCE_NOT_FOUND);
    assert!(terminal.is_err());
}

#[test]
fn the_chip_refuses_what_it_does_not_offer_and_steps_out_of_order() {
    let mut chip = PaceChip::new(vec![password()], vec![G1], chip_secrets());
    let ga = Command::parse(&transcript()[1].0).unwrap();
    assert_eq!(chip.answer(&ga).unwrap_err().status_word(), StatusWord::CONDITIONS_NOT_SATISFIED);
    let p256 =
        MseSetAt { protocol_oid: PaceProtocol::EcdhGmAes128.oid(), password_reference: 1, parameter_id: Some(12) };
    assert_eq!(chip.answer(&p256.command()).unwrap_err().status_word(), StatusWord::REFERENCE_NOT_FOUND);
    // Without tag 84 the chip's only parameter set for the protocol is taken.
    let no_84 = MseSetAt { parameter_id: None, ..p256 };
    assert!(matches!(chip.answer(&no_84.command()), Ok(ChipStep::Reply(r)) if r.sw == StatusWord::SUCCESS));
    // The terminal's own mapping key sent back by a chip is refused.
    let mut terminal = PaceTerminal::new(G1, password(), terminal_secrets());
    terminal.start();
    terminal.answer(&Response::status(StatusWord::SUCCESS)).unwrap();
    terminal.answer(&Response::parse(&transcript()[1].1).unwrap()).unwrap();
    let echo = Response::ok(hex(&format!("7C43 8241{PK_MAP_IFD}"))).unwrap();
    assert_eq!(terminal.answer(&echo).unwrap_err(), PaceError::SameEphemeralKey);
}

fn arb_command() -> impl Strategy<Value = Command> {
    (
        any::<u8>(),
        prop::sample::select(vec![0x22u8, 0x86, 0xB0]),
        any::<u8>(),
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..90),
    )
        .prop_map(|(cla, ins, p1, p2, data)| Command::new(cla, ins, p1, p2).with_data(data).unwrap())
}

proptest! {
    #[test]
    fn parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..120)) {
        if let Ok(command) = Command::parse(&bytes) {
            let _ = MseSetAt::parse(&command);
        }
    }

    /// The chip at each step of G.1, then arbitrary commands; the terminal at each step, then arbitrary data.
    #[test]
    fn state_machines_never_panic(
        step in 0usize..5,
        commands in prop::collection::vec(arb_command(), 1..4),
        data in prop::collection::vec(any::<u8>(), 0..90),
        dynamic in prop::collection::vec(any::<u8>(), 0..70),
        tag in prop::sample::select(vec![0x80u8, 0x82, 0x84, 0x86]),
    ) {
        let steps = transcript();
        let mut chip = PaceChip::new(vec![password()], vec![G1], chip_secrets());
        let mut terminal = PaceTerminal::new(G1, password(), terminal_secrets());
        terminal.start();
        for (command, response) in &steps[..step] {
            let _ = chip.answer(&Command::parse(command).unwrap());
            let _ = terminal.answer(&Response::parse(response).unwrap());
        }
        for command in commands {
            let _ = chip.answer(&command);
        }
        let mut t2 = terminal.clone();
        let _ = terminal.answer(&Response::ok(data).unwrap());
        // Well-formed 7C with an arbitrary inner value, so the checks behind the parser run.
        let inner = [&[tag, dynamic.len() as u8][..], &dynamic].concat();
        let wrapped = [&[0x7C, inner.len() as u8][..], &inner].concat();
        let _ = t2.answer(&Response::ok(wrapped).unwrap());
    }
}

#[test]
fn debug_of_key_holding_types_shows_no_secrets() {
    let mut terminal = PaceTerminal::new(G1, password(), terminal_secrets());
    let mut chip = PaceChip::new(vec![password(), Password::Can("123456".into())], vec![G1], chip_secrets());
    let mut command = terminal.start();
    let mut sessions = Vec::new();
    // Debug at every step of the run, then of the sessions.
    let mut shown = Vec::new();
    loop {
        shown.push(format!("{terminal:?} {chip:?}"));
        let response = match chip.answer(&command).unwrap() {
            ChipStep::Reply(r) => r,
            ChipStep::Established(r, sm) => {
                sessions.push(sm);
                r
            }
        };
        match terminal.answer(&response).unwrap() {
            PaceStep::Send(next) => command = next,
            PaceStep::Established(sm) => {
                sessions.push(sm);
                break;
            }
        }
    }
    shown.push(format!("{sessions:?} {:?} {:?} {:?}", terminal_secrets(), password(), password().key(Cipher::Aes128)));
    let shown = shown.join(" ").to_uppercase();
    for secret in [
        MRZ_INFORMATION,
        "123456",
        &KPI[..6],
        &NONCE_S[..6],
        &SK_MAP_IFD[..6],
        &SK_IC[..6],
        &KS_ENC[..6],
        &KS_MAC[..6],
        &K[..6],
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(!shown.as_bytes().windows(2).any(|w| w[0] == b'[' && w[1].is_ascii_digit()), "a byte list in {shown}");
}

/// Measured figures (run with `--ignored --nocapture`, in release for real numbers).
#[test]
#[ignore = "timing, not a check"]
fn timing_of_a_full_pace_run() {
    for curve in [PaceCurve::P256, PaceCurve::BrainpoolP256r1] {
        let params = PaceParams { protocol: PaceProtocol::EcdhGmAes128, curve };
        let start = std::time::Instant::now();
        let runs = 20;
        for i in 0..runs {
            let (terminal, _, _) = run(params, password(), vec![password()], i);
            terminal.unwrap();
        }
        println!(
            "{curve:?}: {:.1} ms per PACE run (terminal and chip)",
            start.elapsed().as_secs_f64() * 1000.0 / f64::from(runs)
        );
    }
}
