//! A CP with the wrong key never gets a secure channel, and the PD is the only place an operator can see why: it
//! logs (warn) that the client cryptogram did not verify at the CP, or that the CP's server cryptogram did not
//! verify here, naming the key's type (SCBK or SCBK-D) and never the key.

use std::io::Write;
use std::sync::{Arc, Mutex};

use khil_osdp::command::opcode;
use khil_osdp::frame::{self, Decoded, OsdpFrame};
use khil_osdp::reply::{NakCode, Reply};
use khil_osdp::sc;
use khil_osdp::secure::{CpHandshake, HandshakeError, KeyType};
use khil_sim_osdp::{Pd, PdConfig, PdProfile};

const PD_KEY: [u8; 16] = [0xA7; 16];
const CP_KEY: [u8; 16] = [0x3C; 16];

/// Everything the PD logs while `f` runs, as text.
fn logs(f: impl FnOnce()) -> String {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    String::from_utf8(buf.0.lock().unwrap().clone()).unwrap()
}

fn exchange(pd: &mut Pd, f: &OsdpFrame) -> OsdpFrame {
    let bytes = f.encode(true);
    let Decoded::Frame { frame, packet, .. } = frame::decode(&bytes) else { panic!("test frame does not decode") };
    let out = pd.handle(&frame, &bytes[packet]).expect("a reply");
    let Decoded::Frame { frame, .. } = frame::decode(&out) else { panic!("reply does not decode") };
    frame
}

/// CHLNG with `handshake`; the CCRYPT's RND.B and cryptogram.
fn challenge(pd: &mut Pd, handshake: &CpHandshake, sqn: u8) -> ([u8; 8], [u8; 16]) {
    let (chlng, scb) = handshake.challenge();
    let mut f = OsdpFrame::command(1, sqn, chlng.code(), chlng.to_data());
    f.scb = Some(scb);
    let r = exchange(pd, &f);
    let Ok(Reply::CCrypt { rnd_b, cryptogram, .. }) = Reply::parse(r.code, &r.data) else {
        panic!("not CCRYPT: {r:?}")
    };
    (rnd_b, cryptogram)
}

fn key_never_logged(log: &str, key: &[u8; 16]) {
    let hex = sc::key_to_hex(key);
    let decimal = format!("{}, {}", key[0], key[1]);
    assert!(
        !log.contains(&hex) && !log.contains(&hex.to_uppercase()) && !log.contains(&decimal),
        "a key in the log:\n{log}"
    );
}

#[test]
fn a_cp_that_stops_after_ccrypt_is_logged_as_a_probable_wrong_key() {
    let mut pd = Pd::new(PdConfig { scbk: Some(PD_KEY), ..PdConfig::new(PdProfile::GATE_IO, 1) });
    let log = logs(|| {
        let mut cp = CpHandshake::new(KeyType::Own, CP_KEY, [1; 8]);
        let (rnd_b, cryptogram) = challenge(&mut pd, &cp, 0);
        assert_eq!(cp.on_ccrypt(rnd_b, &cryptogram).err(), Some(HandshakeError::ClientCryptogram));
        // khil's CP and libosdp's give up there and start over with SQN 0.
        exchange(&mut pd, &OsdpFrame::command(1, 0, opcode::ID, vec![0]));
    });
    assert!(log.contains("WARN"), "{log}");
    assert!(log.contains("client cryptogram did not verify at the CP (wrong key? this PD uses its SCBK)"), "{log}");
    key_never_logged(&log, &PD_KEY);
    key_never_logged(&log, &CP_KEY);
    // A CHLNG that starts over is the other way a CP shows it gave up.
    let log = logs(|| {
        let cp = CpHandshake::new(KeyType::Own, CP_KEY, [2; 8]);
        challenge(&mut pd, &cp, 1);
        challenge(&mut pd, &cp, 2);
    });
    assert_eq!(log.matches("client cryptogram did not verify").count(), 1, "{log}");
}

#[test]
fn a_wrong_server_cryptogram_is_logged_with_the_key_type_in_install_mode_too() {
    let mut pd = Pd::new(PdConfig::new(PdProfile::CARD_READER, 1));
    let log = logs(|| {
        // A CP that sends SCRYPT whatever CCRYPT said, its cryptogram from its own key.
        let cp = CpHandshake::new(KeyType::Default, CP_KEY, [3; 8]);
        let (rnd_b, _) = challenge(&mut pd, &cp, 0);
        let keys = sc::SessionKeys::derive(&CP_KEY, &[3; 8]);
        let server = sc::server_cryptogram(&keys, &[3; 8], &rnd_b);
        let mut f = OsdpFrame::command(1, 1, opcode::SCRYPT, server.to_vec());
        f.scb = Some(khil_osdp::Scb::new(frame::scs::SCRYPT, vec![0]));
        let r = exchange(&mut pd, &f);
        assert_eq!(Reply::parse(r.code, &r.data).unwrap(), Reply::nak(NakCode::ScConditions));
    });
    assert!(log.contains("server cryptogram (SCRYPT) does not verify with this PD's SCBK-D (wrong key?)"), "{log}");
    key_never_logged(&log, &CP_KEY);
    key_never_logged(&log, &sc::SCBK_D);
    // A CP with the right key logs no such thing.
    let log = logs(|| {
        let mut cp = CpHandshake::new(KeyType::Default, sc::SCBK_D, [4; 8]);
        let (rnd_b, cryptogram) = challenge(&mut pd, &cp, 0);
        let (scrypt, scb) = cp.on_ccrypt(rnd_b, &cryptogram).unwrap();
        let mut f = OsdpFrame::command(1, 1, scrypt.code(), scrypt.to_data());
        f.scb = Some(scb);
        assert_eq!(exchange(&mut pd, &f).code, khil_osdp::reply::opcode::RMAC_I);
        exchange(&mut pd, &OsdpFrame::command(1, 0, opcode::ID, vec![0]));
    });
    assert!(!log.contains("wrong key"), "{log}");
    assert!(log.contains("secure channel up"), "{log}");
}
