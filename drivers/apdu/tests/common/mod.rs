//! A small test card, the exchanges every reader must carry to it unchanged, and the checks for pcscd and peers.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use khil_apdu::{ApduTransport, Card, Command, Response, StatusWord, TransportError, atr_t1};

/// The test card's application.
pub const AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];

/// What the card saw: resets and instruction bytes, for tests to check that a reader really reached it.
#[derive(Debug, Default)]
pub struct CardLog {
    pub resets: usize,
    pub instructions: Vec<u8>,
}

/// Answers SELECT by AID (9000, or 6A82 for another AID), GET CHALLENGE with 8 bytes, 6D00 to any other
/// instruction and 6E00 to any class but 00. Its ATR carries a tag unique to this card, so a test knows the card in
/// the reader is its own.
pub struct TestCard {
    atr: Vec<u8>,
    log: Arc<Mutex<CardLog>>,
    challenges: u64,
}

impl TestCard {
    pub fn new() -> TestCard {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let tag = std::process::id().rotate_left(8) ^ NEXT.fetch_add(1, Ordering::Relaxed);
        let mut historical = b"khil".to_vec();
        historical.extend_from_slice(&tag.to_be_bytes());
        TestCard { atr: atr_t1(&historical).unwrap(), log: Arc::default(), challenges: u64::from(tag) }
    }

    pub fn log(&self) -> Arc<Mutex<CardLog>> {
        Arc::clone(&self.log)
    }
}

impl Card for TestCard {
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }

    fn reset(&mut self) {
        self.log.lock().unwrap().resets += 1;
    }

    fn answer(&mut self, c: &Command) -> Response {
        self.log.lock().unwrap().instructions.push(c.ins);
        if c.cla != 0x00 {
            return Response::status(StatusWord::CLA_NOT_SUPPORTED);
        }
        match c.ins {
            0xA4 if c.p1 != 0x04 => Response::status(StatusWord::INCORRECT_P1_P2),
            0xA4 if c.data() == AID => Response::status(StatusWord::SUCCESS),
            0xA4 => Response::status(StatusWord::FILE_NOT_FOUND),
            0x84 if c.ne() != Some(8) => Response::status(StatusWord::WRONG_LENGTH),
            0x84 => {
                // splitmix64: a different challenge every time.
                self.challenges = self.challenges.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = self.challenges;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                Response::ok((z ^ (z >> 31)).to_be_bytes()).unwrap()
            }
            _ => Response::status(StatusWord::INS_NOT_SUPPORTED),
        }
    }
}

pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// The exchanges of the test card, as (command, expected status word, expected data length). Shared by the khil
/// transports here and the pyscard peer script (which gets them on its command line).
pub const EXCHANGES: &[(&str, u16, usize)] = &[
    ("00A4040C07A0000002471001", 0x9000, 0),
    ("00A4040C07A0000002471002", 0x6A82, 0),
    ("0084000008", 0x9000, 8),
    ("0084000010", 0x6700, 0),
    ("00FF0000", 0x6D00, 0),
    ("80A4040C07A0000002471001", 0x6E00, 0),
    // Lc says 5 bytes, 2 follow: the reader's host loop answers 6700, the card never sees it.
    ("00A4040C05A000", 0x6700, 0),
];

/// Runs [`EXCHANGES`] through `reader` and checks every answer; two challenges must differ.
pub async fn exercise(reader: &mut dyn ApduTransport, log: &Mutex<CardLog>) {
    let before = log.lock().unwrap().instructions.len();
    let mut challenges = Vec::new();
    for &(command, sw, len) in EXCHANGES {
        let answer = reader.transmit_raw(&hex(command)).await.unwrap_or_else(|e| panic!("{command}: {e}"));
        let response = Response::parse(&answer).unwrap_or_else(|e| panic!("{command}: {e}"));
        assert_eq!((response.sw, response.data().len()), (StatusWord(sw), len), "{command}");
        if command.starts_with("0084") && len == 8 {
            challenges.push(response.into_data());
        }
    }
    // The typed path too.
    let challenge = reader.transmit(&Command::new(0, 0x84, 0, 0).with_ne(8).unwrap()).await.unwrap();
    assert_eq!((challenge.sw, challenge.data().len()), (StatusWord::SUCCESS, 8));
    challenges.push(challenge.into_data());
    assert_ne!(challenges[0], challenges[1], "GET CHALLENGE repeats itself");
    // Every well-formed command reached the card, the malformed one did not.
    let seen = log.lock().unwrap().instructions[before..].to_vec();
    assert_eq!(seen, vec![0xA4, 0xA4, 0x84, 0x84, 0xFF, 0xA4, 0x84]);
}

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// `None` (and the reason printed) when a test has to skip; under `CI=true` a skip is a failure.
pub fn skip(why: &str) {
    assert!(!ci(), "CI=true: {why}");
    eprintln!("skipped: {why}");
}

/// A program of ci/test's peers venv named by `var` (`KHIL_PEERS_PY`, `KHIL_PEERS_VICC`), or `None` (skip).
pub fn peer(var: &str, in_venv: &str) -> Option<PathBuf> {
    let from_env = std::env::var_os(var).map(PathBuf::from);
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.peers/venv/bin").join(in_venv);
    let found = from_env.into_iter().chain([default]).find(|p| p.exists());
    if found.is_none() {
        skip(&format!("{var} unset and no .peers/venv/bin/{in_venv}: run ci/test once (it installs the peers)"));
    }
    found
}

/// Waits (up to 15 s) until the card in `reader` is the one with `atr`, resetting it to read its ATR. A card left
/// by an earlier test, or one still queued on the slot, is waited out.
pub async fn wait_for_card(reader: &mut dyn ApduTransport, atr: &[u8]) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    let mut last = String::from("no card yet");
    while tokio::time::Instant::now() < deadline {
        if reader.card_present().await.unwrap_or(false) {
            match reader.reset().await {
                Ok(seen) if seen == atr => return,
                Ok(seen) => last = format!("another card's ATR {seen:02X?}"),
                Err(e) => last = e.to_string(),
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the card with ATR {atr:02X?} did not appear in the reader within 15 s (last: {last})");
}

/// Waits (up to 10 s) until the reader reports no card.
pub async fn wait_for_removal(reader: &mut dyn ApduTransport) {
    for _ in 0..100 {
        if !reader.card_present().await.unwrap() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the card is still reported present 10 s after it was taken out");
}

pub fn is_no_card(e: &TransportError) -> bool {
    matches!(e, TransportError::NoCard { .. })
}
