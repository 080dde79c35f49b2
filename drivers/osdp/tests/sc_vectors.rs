//! Secure-channel vectors for `khil_osdp::sc`:
//!
//! - SIA OSDP Annex E (key derivation, cryptograms, RMAC_I), as quoted by the project's reference and by
//!   libosdp's `tests/unit-tests/test-sc-sia-vectors.c`;
//! - AES-128 against FIPS-197 C.1 and AES-CBC against NIST SP 800-38A F.2.1;
//! - MAC and data-encryption vectors from libosdp's `tests/unit-tests/test-sc.c` (NIST-derived: they pin the
//!   "no MAC padding when block-aligned" and "always pad encrypted data" rules);
//! - a full session captured between libosdp 3.2.9's own CP and PD (PyPI `libosdp`, run in one process over
//!   an in-memory pipe with SCBK 40..4F): handshake, 15 secure POLL/ACK pairs, encrypted OUT, LED and TEXT
//!   commands and an encrypted RAW reply. Every MAC, cryptogram and ciphertext there was produced by
//!   libosdp, so replaying it proves the MAC padding, key split, chaining directions and IV directions
//!   independently of this crate;
//! - CP/PD agreement and tamper detection;
//! - AES-CBC and the MAC cross-checked against pycryptodome (`.peers/venv`).

use std::fmt::Write as _;

use khil_osdp::sc::{
    self, ScError, ScSession, SessionKeys, aes128_encrypt_block, client_cryptogram, decrypt, encrypt, initial_rmac,
    iv_from, server_cryptogram,
};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit")).collect()
}

fn hex16(s: &str) -> [u8; 16] {
    hex(s).try_into().expect("16 bytes")
}

fn hex8(s: &str) -> [u8; 8] {
    hex(s).try_into().expect("8 bytes")
}

fn to_hex(b: &[u8]) -> String {
    b.iter().fold(String::with_capacity(b.len() * 2), |mut s, x| {
        write!(s, "{x:02x}").unwrap();
        s
    })
}

const RND_A: [u8; 8] = [0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7];
const RND_B: [u8; 8] = [0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7];

// ---------------------------------------------------------------------------------------------------------
// Annex E

#[test]
fn scbk_d_is_30_to_3f() {
    let expected: Vec<u8> = (0x30..=0x3F).collect();
    assert_eq!(sc::SCBK_D.to_vec(), expected);
}

#[test]
fn annex_e_session_keys() {
    let keys = SessionKeys::derive(&sc::SCBK_D, &RND_A);
    assert_eq!(keys.s_enc(), &hex16("bf8dc2a8329acb8c67c6d0cd9a451682"));
    assert_eq!(keys.s_mac1(), &hex16("5e86c676603bdee2d8beafe178637332"));
    assert_eq!(keys.s_mac2(), &hex16("6fda86e857777e81132035758239172e"));
}

#[test]
fn annex_e_cryptograms_and_rmac_i() {
    let keys = SessionKeys::derive(&sc::SCBK_D, &RND_A);
    let client = client_cryptogram(&keys, &RND_A, &RND_B);
    let server = server_cryptogram(&keys, &RND_A, &RND_B);
    assert_eq!(client, hex16("fde5d2f428ec16312471ea3c02bd7796"));
    assert_eq!(server, hex16("26d3356e07762d262801fc8e6665a891"));
    let rmac_i = initial_rmac(&keys, &server);
    assert_eq!(rmac_i, hex16("b2a30057eb98ba2229ec1f875662b524"));
    assert!(sc::ct_eq(&rmac_i, &hex16("b2a30057eb98ba2229ec1f875662b524")));
    assert!(!sc::ct_eq(&client, &server));
}

#[test]
fn session_keys_debug_prints_no_key_bytes() {
    let keys = SessionKeys::derive(&sc::SCBK_D, &RND_A);
    let shown = format!("{keys:?} {keys:#?}");
    assert!(!shown.contains("191") && !shown.contains("bf") && !shown.contains("BF"), "{shown}");
    let session = ScSession::new(keys.clone(), [0x5A; 16]);
    let shown = format!("{session:?} {session:#?}");
    assert!(!shown.contains("191") && !shown.contains("90") && !shown.contains("5a"), "{shown}");
}

#[test]
fn error_messages_carry_no_data() {
    for e in [ScError::WrongMac, ScError::BadPadding, ScError::BadLength { len: 15 }, ScError::NoCommandMac] {
        let text = e.to_string();
        assert!(text.starts_with("secure channel: "), "{text}");
    }
}

// ---------------------------------------------------------------------------------------------------------
// AES and CBC against FIPS / NIST

#[test]
fn aes128_fips197_c1() {
    let key = hex16("000102030405060708090a0b0c0d0e0f");
    let pt = hex16("00112233445566778899aabbccddeeff");
    assert_eq!(aes128_encrypt_block(&key, &pt), hex16("69c4e0d86a7b0430d8cdb78070b4c55a"));
}

const NIST_KEY: &str = "2b7e151628aed2a6abf7158809cf4f3c";
const NIST_IV: &str = "000102030405060708090a0b0c0d0e0f";
const NIST_PT: &str = "6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51 \
                       30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710";
const NIST_CT: &str = "7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2 \
                       73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7";

#[test]
fn cbc_matches_sp800_38a_f21() {
    // `encrypt` always adds a padding block; CBC is a prefix code, so the first 64 bytes are NIST's.
    let ct = encrypt(&hex16(NIST_KEY), &hex16(NIST_IV), &hex(NIST_PT));
    assert_eq!(ct.len(), 80);
    assert_eq!(to_hex(&ct[..64]), to_hex(&hex(NIST_CT)));
    assert_eq!(decrypt(&hex16(NIST_KEY), &hex16(NIST_IV), &ct).unwrap(), hex(NIST_PT));
}

// ---------------------------------------------------------------------------------------------------------
// libosdp test-sc.c vectors: S-MAC1 = S-MAC2 = S-ENC = NIST key, chain / IV = NIST IV.

fn nist_keys() -> SessionKeys {
    let k = hex16(NIST_KEY);
    SessionKeys::from_parts(k, k, k)
}

#[test]
fn mac_one_aligned_block_is_not_padded() {
    // 16 bytes -> one block, no padding block: the MAC is the first CBC block.
    let mac = sc::mac(&nist_keys(), &hex16(NIST_IV), &hex(NIST_PT)[..16]);
    assert_eq!(mac, hex16("7649abac8119b246cee98e9b12e9197d"));
}

#[test]
fn mac_four_aligned_blocks_are_not_padded() {
    let mac = sc::mac(&nist_keys(), &hex16(NIST_IV), &hex(NIST_PT));
    assert_eq!(mac, hex16("3ff1caa1681fac09120eca307586e1a7"));
}

#[test]
fn mac_partial_block_is_padded_with_80() {
    let msg = hex("000102030405060708090a0b0c0d0e");
    let mac = sc::mac(&nist_keys(), &hex16(NIST_IV), &msg);
    assert_eq!(mac, hex16("c5311f3d23d086ea86f5ee7f85247b40"));
}

#[test]
fn mac_uses_s_mac2_for_last_block_only() {
    // With distinct keys: one block -> S-MAC2 only; two blocks -> S-MAC1 then S-MAC2.
    let keys = SessionKeys::derive(&sc::SCBK_D, &RND_A);
    let chain = [0x11; 16];
    let block = |i: u8| -> [u8; 16] { std::array::from_fn(|j| i.wrapping_mul(31).wrapping_add(j as u8)) };
    let xor = |a: [u8; 16], b: [u8; 16]| -> [u8; 16] { std::array::from_fn(|j| a[j] ^ b[j]) };
    let one = sc::mac(&keys, &chain, &block(1));
    assert_eq!(one, aes128_encrypt_block(keys.s_mac2(), &xor(block(1), chain)));
    let two = [block(1), block(2)].concat();
    let x1 = aes128_encrypt_block(keys.s_mac1(), &xor(block(1), chain));
    assert_eq!(sc::mac(&keys, &chain, &two), aes128_encrypt_block(keys.s_mac2(), &xor(block(2), x1)));
    // 17 bytes: the second block is 01 80 00.. under S-MAC2.
    let mut last = [0u8; 16];
    last[0] = block(2)[0];
    last[1] = 0x80;
    assert_eq!(sc::mac(&keys, &chain, &two[..17]), aes128_encrypt_block(keys.s_mac2(), &xor(last, x1)));
    // Empty: one block 80 00.. under S-MAC2.
    let mut pad = [0u8; 16];
    pad[0] = 0x80;
    assert_eq!(sc::mac(&keys, &chain, &[]), aes128_encrypt_block(keys.s_mac2(), &xor(pad, chain)));
}

#[test]
fn encrypt_15_bytes_one_block() {
    let pt = hex("000102030405060708090a0b0c0d0e");
    let ct = encrypt(&hex16(NIST_KEY), &hex16(NIST_IV), &pt);
    assert_eq!(to_hex(&ct), "c5311f3d23d086ea86f5ee7f85247b40");
    assert_eq!(decrypt(&hex16(NIST_KEY), &hex16(NIST_IV), &ct).unwrap(), pt);
}

#[test]
fn encrypt_16_bytes_always_adds_a_padding_block() {
    let pt = hex("000102030405060708090a0b0c0d0e0f");
    let ct = encrypt(&hex16(NIST_KEY), &hex16(NIST_IV), &pt);
    assert_eq!(to_hex(&ct), "7df76b0c1ab899b33e42f047b91b546fe2fe5bd6c1dfcdd19124f03e1a134d3b");
    assert_eq!(decrypt(&hex16(NIST_KEY), &hex16(NIST_IV), &ct).unwrap(), pt);
}

#[test]
fn encrypt_empty_is_one_padding_block() {
    let ct = encrypt(&hex16(NIST_KEY), &hex16(NIST_IV), &[]);
    assert_eq!(to_hex(&ct), "4c08220c79d9191022dc6674874ceaf8");
    assert_eq!(decrypt(&hex16(NIST_KEY), &hex16(NIST_IV), &ct).unwrap(), Vec::<u8>::new());
}

#[test]
fn iv_is_bitwise_not() {
    assert_eq!(iv_from(&hex16(NIST_IV)), hex16("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0"));
    assert_eq!(iv_from(&iv_from(&[0x5A; 16])), [0x5A; 16]);
}

// ---------------------------------------------------------------------------------------------------------
// Encryption round trips and rejections

#[test]
fn encrypt_decrypt_round_trip_0_to_64() {
    let key = hex16("bf8dc2a8329acb8c67c6d0cd9a451682");
    let iv = [0xC3; 16];
    for len in 0..=64usize {
        let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(37) ^ 0x80).collect();
        let ct = encrypt(&key, &iv, &data);
        assert_eq!(ct.len(), (len / 16 + 1) * 16, "len {len}");
        assert_eq!(decrypt(&key, &iv, &ct).unwrap(), data, "len {len}");
        // Wrong IV: the first block decrypts wrongly; with one block the padding check almost always fails.
        if len < 15 {
            assert_ne!(decrypt(&key, &[0x3C; 16], &ct).ok(), Some(data.clone()), "len {len}");
        }
    }
}

#[test]
fn decrypt_rejects_bad_lengths() {
    let key = [7; 16];
    for len in [0usize, 1, 15, 17, 31, 33] {
        assert_eq!(decrypt(&key, &[0; 16], &vec![0; len]), Err(ScError::BadLength { len }));
    }
}

/// Raw CBC over already-padded plaintext, built from the block primitive, to make malformed ciphertexts.
fn cbc_raw(key: &[u8; 16], iv: &[u8; 16], padded: &[u8]) -> Vec<u8> {
    let mut prev = *iv;
    let mut out = Vec::new();
    for chunk in padded.chunks_exact(16) {
        let x: [u8; 16] = std::array::from_fn(|j| chunk[j] ^ prev[j]);
        prev = aes128_encrypt_block(key, &x);
        out.extend_from_slice(&prev);
    }
    out
}

#[test]
fn decrypt_rejects_malformed_padding() {
    let key = [7; 16];
    let iv = [9; 16];
    // All zeros: no marker at all.
    assert_eq!(decrypt(&key, &iv, &cbc_raw(&key, &iv, &[0; 16])), Err(ScError::BadPadding));
    // Last non-zero byte is not 0x80.
    let mut p = [0u8; 16];
    p[3] = 0x81;
    assert_eq!(decrypt(&key, &iv, &cbc_raw(&key, &iv, &p)), Err(ScError::BadPadding));
    // Marker followed by a non-zero byte.
    let mut p = [0u8; 16];
    p[3] = 0x80;
    p[15] = 0x01;
    assert_eq!(decrypt(&key, &iv, &cbc_raw(&key, &iv, &p)), Err(ScError::BadPadding));
    // Marker in the first block, whole second block zero: more than 16 bytes of padding.
    let mut p = [0u8; 32];
    p[15] = 0x80;
    assert_eq!(decrypt(&key, &iv, &cbc_raw(&key, &iv, &p)), Err(ScError::BadPadding));
    // Marker as the very first byte of the last block: fine (data was block-aligned).
    let mut p = [0x42u8; 32];
    p[16] = 0x80;
    p[17..].fill(0);
    assert_eq!(decrypt(&key, &iv, &cbc_raw(&key, &iv, &p)).unwrap(), vec![0x42; 16]);
}

// ---------------------------------------------------------------------------------------------------------
// CP and PD sessions agree; tampering is caught and leaves the state unchanged.

fn packet(sqn: u8, scs: u8, code: u8, data: &[u8]) -> Vec<u8> {
    let len = (5 + 2 + 1 + data.len() + 4 + 2) as u16;
    let mut p = vec![0x53, 0x65, len.to_le_bytes()[0], len.to_le_bytes()[1], 0x0C | sqn, 0x02, scs, code];
    p.extend_from_slice(data);
    p
}

#[test]
fn cp_and_pd_sessions_agree_both_ways() {
    let scbk = hex16("00112233445566778899aabbccddeeff");
    let (rnd_a, rnd_b) = (hex8("0102030405060708"), hex8("f1f2f3f4f5f6f7f8"));
    let mut cp = ScSession::from_handshake(&scbk, &rnd_a, &rnd_b);
    let mut pd = ScSession::from_handshake(&scbk, &rnd_a, &rnd_b);

    let mut prev_cmd_macs = Vec::new();
    for round in 0..12u8 {
        let sqn = round % 3 + 1;
        // Command: every third one carries encrypted data (SCS_17), of growing length.
        let data: Vec<u8> = (0..round * 3).map(|i| i ^ round).collect();
        let cmd = if round % 3 == 0 {
            let ct = cp.encrypt_command_data(&data);
            packet(sqn, 0x17, 0x80, &ct)
        } else {
            packet(sqn, 0x15, 0x60, &[])
        };
        let mac4 = cp.cp_mac_command(&cmd);
        assert!(!prev_cmd_macs.contains(&mac4), "MACs chain: a POLL never repeats its MAC");
        prev_cmd_macs.push(mac4);

        // A flipped bit anywhere, or in the MAC, fails and changes nothing.
        let mut bad = cmd.clone();
        bad[usize::from(round) % cmd.len()] ^= 0x04;
        assert_eq!(pd.pd_verify_command(&bad, &mac4), Err(ScError::WrongMac));
        let mut bad_mac = mac4;
        bad_mac[3] ^= 0x01;
        assert_eq!(pd.pd_verify_command(&cmd, &bad_mac), Err(ScError::WrongMac));
        assert_eq!(pd.pd_verify_command(&cmd, &mac4[..3]), Err(ScError::WrongMac));
        pd.pd_verify_command(&cmd, &mac4).expect("command MAC verifies");
        if round % 3 == 0 {
            assert_eq!(pd.decrypt_command_data(&cmd[8..]).unwrap(), data);
        }

        // Reply: encrypted data (SCS_18) on odd rounds.
        let reply_data: Vec<u8> = (0..=round * 5).map(|i| i.wrapping_mul(3)).collect();
        let reply = if round % 2 == 1 {
            let ct = pd.encrypt_reply_data(&reply_data).unwrap();
            packet(sqn, 0x18, 0x50, &ct)
        } else {
            packet(sqn, 0x16, 0x40, &[])
        };
        let rmac4 = pd.pd_mac_reply(&reply).unwrap();
        let mut bad = reply.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x80;
        assert_eq!(cp.cp_verify_reply(&bad, &rmac4), Err(ScError::WrongMac));
        cp.cp_verify_reply(&reply, &rmac4).expect("reply MAC verifies");
        if round % 2 == 1 {
            assert_eq!(cp.decrypt_reply_data(&reply[8..]).unwrap(), reply_data);
        }
        assert_eq!(cp.command_iv(), pd.command_iv());
        assert_eq!(cp.reply_iv(), pd.reply_iv());
    }
}

#[test]
fn a_reply_cannot_be_replayed_into_the_next_exchange() {
    let mut cp = ScSession::from_handshake(&sc::SCBK_D, &RND_A, &RND_B);
    let mut pd = cp.clone();
    let poll = packet(1, 0x15, 0x60, &[]);
    let ack = packet(1, 0x16, 0x40, &[]);
    pd.pd_verify_command(&poll, &cp.cp_mac_command(&poll)).unwrap();
    let ack_mac = pd.pd_mac_reply(&ack).unwrap();
    cp.cp_verify_reply(&ack, &ack_mac).unwrap();
    // Same bytes next time: the chain has moved on, so the old MAC no longer verifies.
    let mac2 = cp.cp_mac_command(&poll);
    pd.pd_verify_command(&poll, &mac2).unwrap();
    assert_eq!(cp.cp_verify_reply(&ack, &ack_mac), Err(ScError::WrongMac));
    assert_ne!(pd.pd_mac_reply(&ack).unwrap(), ack_mac);
}

#[test]
fn reply_before_any_command_is_an_error() {
    let mut s = ScSession::from_handshake(&sc::SCBK_D, &RND_A, &RND_B);
    assert_eq!(s.pd_mac_reply(&[0x53]), Err(ScError::NoCommandMac));
    assert_eq!(s.cp_verify_reply(&[0x53], &[0; 4]), Err(ScError::NoCommandMac));
    assert_eq!(s.reply_iv(), Err(ScError::NoCommandMac));
    // The first command's IV is !RMAC_I.
    let keys = SessionKeys::derive(&sc::SCBK_D, &RND_A);
    let rmac_i = initial_rmac(&keys, &server_cryptogram(&keys, &RND_A, &RND_B));
    assert_eq!(s.command_iv(), iv_from(&rmac_i));
}

#[test]
fn scbk_from_master_key_layout() {
    let mk = hex16("000102030405060708090a0b0c0d0e0f");
    let cuid = hex8("beba0100afbeadde");
    let block = hex16("beba0100afbeadde4145feff50415221");
    assert_eq!(sc::scbk_from_master_key(&mk, &cuid), aes128_encrypt_block(&mk, &block));
}

// ---------------------------------------------------------------------------------------------------------
// A session captured between libosdp's CP and PD (see the file doc). "cp" frames carry the 0xFF mark byte.

const CAPTURE_SCBK: &str = "404142434445464748494a4b4c4d4e4f";

const CAPTURE: &[(&str, &str)] = &[
    ("cp", "ff53650900046100d97a"),
    ("pd", "53e514000445bebafe0101afbeaddeaddead07fd"),
    ("cp", "ff53650900056200ba18"),
    ("pd", "53e51d0005460201010401010601010801000901000a0001100200bf91"),
    ("cp", "ff536513000e03110176d764c8cce93255c4f105"),
    ("pd", "53e52b000e03120176beba0100afbeadde478d7aa05d83f3ea60c9d83342525a7037031d0d5d46976386c8"),
    ("cp", "ff53651b000f03130177c035ebad737c77629975932b7e5cd0ac4315"),
    ("pd", "53e51b000f03140178eded1349f639e5e462b79d17e4c298ce5a36"),
    ("cp", "ff53650e000d021560e60e7977ad6a"),
    ("pd", "53e50e000d0216407a1e6022265c"),
    ("cp", "ff53650e000e021560bd3a578e468b"),
    ("pd", "53e50e000e02164063ad829dc8fb"),
    ("cp", "ff53650e000f0215603e1b09201342"),
    ("pd", "53e50e000f021640d68c35c2f96c"),
    ("cp", "ff53650e000d0215604591f4cabd54"),
    ("pd", "53e50e000d021640bca620d7332d"),
    ("cp", "ff53650e000e0215604fad0247e5bd"),
    ("pd", "53e50e000e0216402eb5cc45a622"),
    ("cp", "ff53650e000f02156089c3862dd1f4"),
    ("pd", "53e50e000f021640c22044f7cc28"),
    ("cp", "ff53650e000d0215600c5643109c87"),
    ("pd", "53e50e000d021640fa0e1557e31b"),
    ("cp", "ff53650e000e021560b3286348c474"),
    ("pd", "53e50e000e021640460da5e6d29d"),
    ("cp", "ff53650e000f0215602345e17dbe37"),
    ("pd", "53e50e000f021640355652b4765d"),
    ("cp", "ff53651e000d02176871f4b69bc87d7ac7459f4162aea52f20efcd24397c7c"),
    ("pd", "53e50e000d021640db7d10f99070"),
    ("cp", "ff53651e000e021769a17ec688d1479fb71c4d0d9472d3aad9c04946b82aef"),
    ("pd", "53e50e000e021640c6ed79b8aa0b"),
    ("cp", "ff53650e000f0215602ddd037dac32"),
    ("pd", "53e50e000f0216406c07ac9468a6"),
    (
        "cp",
        "ff53653e000d02176beeadd291a18bddc6bfdc4cf1310aea4604ee1ed3911b0616a193054078378f6644b014f5d67a58bef5d59c4778890fdd7fb38965ce27",
    ),
    ("pd", "53e50e000d021640c5bca1a16b2e"),
    ("cp", "ff53650e000e021560c7b4084d6d76"),
    ("pd", "53e50e000e02164089b5746ad4db"),
    ("cp", "ff53650e000f02156004956c1e4805"),
    ("pd", "53e51e000f0218502df96a45f3f9e0637579f96780680489737db617901c"),
    ("cp", "ff53650e000d0215606d8b35697ec2"),
    ("pd", "53e50e000d021640eb150a560ec6"),
];

struct Frame {
    from_cp: bool,
    /// From SOM to the end of the data: what the MAC covers.
    before_mac: Vec<u8>,
    scs: Option<u8>,
    /// The command / reply data after the code byte (ciphertext for SCS_17/18).
    data: Vec<u8>,
    mac4: Option<[u8; 4]>,
}

/// A minimal frame splitter for this fixture only (the crate's codec is tested elsewhere).
fn split(dir: &str, hex_frame: &str) -> Frame {
    let mut bytes = hex(hex_frame);
    if bytes[0] == 0xFF {
        bytes.remove(0);
    }
    assert_eq!(bytes[0], 0x53);
    let len = usize::from(u16::from_le_bytes([bytes[2], bytes[3]]));
    assert_eq!(len, bytes.len(), "LEN counts SOM through CRC");
    let ctrl = bytes[4];
    let check_len = if ctrl & 0x04 != 0 { 2 } else { 1 };
    let (scs, body_start) = if ctrl & 0x08 != 0 { (Some(bytes[6]), 5 + usize::from(bytes[5])) } else { (None, 5) };
    let has_mac = scs.is_some_and(|t| t >= 0x15);
    let end = len - check_len - if has_mac { 4 } else { 0 };
    Frame {
        from_cp: dir == "cp",
        before_mac: bytes[..end].to_vec(),
        scs,
        data: bytes[body_start + 1..end].to_vec(),
        mac4: has_mac.then(|| bytes[end..end + 4].try_into().unwrap()),
    }
}

/// The handshake of a captured session: the PD's client cryptogram, the CP's server cryptogram and RMAC_I are
/// what khil computes from the key and the two random numbers.
fn check_handshake(frames: &[Frame], scbk: &[u8; 16]) {
    let chlng = frames.iter().find(|f| f.scs == Some(0x11)).unwrap();
    let ccrypt = frames.iter().find(|f| f.scs == Some(0x12)).unwrap();
    let scrypt = frames.iter().find(|f| f.scs == Some(0x13)).unwrap();
    let rmac_i = frames.iter().find(|f| f.scs == Some(0x14)).unwrap();
    let rnd_a: [u8; 8] = chlng.data[..].try_into().unwrap();
    let rnd_b: [u8; 8] = ccrypt.data[8..16].try_into().unwrap();
    let keys = SessionKeys::derive(scbk, &rnd_a);
    assert_eq!(client_cryptogram(&keys, &rnd_a, &rnd_b)[..], ccrypt.data[16..32]);
    let server = server_cryptogram(&keys, &rnd_a, &rnd_b);
    assert_eq!(server[..], scrypt.data[..]);
    assert_eq!(initial_rmac(&keys, &server)[..], rmac_i.data[..]);
}

#[test]
fn libosdp_capture_handshake() {
    let frames: Vec<Frame> = CAPTURE.iter().map(|(d, f)| split(d, f)).collect();
    check_handshake(&frames, &hex16(CAPTURE_SCBK));
}

/// Follows a captured session from both ends: every MAC verifies and is reproduced, every ciphertext decrypts
/// and re-encrypts to the same bytes. Returns the commands and replies with MACs, and the decrypted data.
fn check_session(frames: &[Frame], scbk: &[u8; 16]) -> (usize, usize, Vec<Vec<u8>>) {
    let chlng = frames.iter().find(|f| f.scs == Some(0x11)).unwrap();
    let ccrypt = frames.iter().find(|f| f.scs == Some(0x12)).unwrap();
    let rnd_a: [u8; 8] = chlng.data[..].try_into().unwrap();
    let rnd_b: [u8; 8] = ccrypt.data[8..16].try_into().unwrap();
    let mut cp = ScSession::from_handshake(scbk, &rnd_a, &rnd_b);
    let mut pd = cp.clone();

    let mut plaintexts = Vec::new();
    let (mut commands, mut replies) = (0, 0);
    for (i, f) in frames.iter().enumerate().filter(|(_, f)| f.mac4.is_some()) {
        let mac4 = f.mac4.unwrap();
        let scs = f.scs.unwrap();
        if f.from_cp {
            commands += 1;
            // The receiver's view first (PD verifies, then decrypts with IV = !last R-MAC) ...
            let iv = pd.command_iv();
            pd.pd_verify_command(&f.before_mac, &mac4).unwrap_or_else(|e| panic!("frame {i}: {e}"));
            if scs == 0x17 {
                let plain = pd.decrypt_command_data(&f.data).unwrap_or_else(|e| panic!("frame {i}: {e}"));
                // ... and the sender's: same IV, same ciphertext, same MAC.
                assert_eq!(cp.command_iv(), iv);
                assert_eq!(cp.encrypt_command_data(&plain), f.data, "frame {i}");
                plaintexts.push(plain);
            }
            assert_eq!(cp.cp_mac_command(&f.before_mac), mac4, "frame {i}");
        } else {
            replies += 1;
            assert_eq!(pd.pd_mac_reply(&f.before_mac).unwrap(), mac4, "frame {i}");
            cp.cp_verify_reply(&f.before_mac, &mac4).unwrap_or_else(|e| panic!("frame {i}: {e}"));
            if scs == 0x18 {
                let plain = cp.decrypt_reply_data(&f.data).unwrap_or_else(|e| panic!("frame {i}: {e}"));
                assert_eq!(pd.encrypt_reply_data(&plain).unwrap(), f.data, "frame {i}");
                plaintexts.push(plain);
            }
        }
    }
    (commands, replies, plaintexts)
}

#[test]
fn libosdp_capture_every_mac_chain_and_ciphertext() {
    let frames: Vec<Frame> = CAPTURE.iter().map(|(d, f)| split(d, f)).collect();
    let (commands, replies, plaintexts) = check_session(&frames, &hex16(CAPTURE_SCBK));
    assert_eq!((commands, replies), (16, 16));
    let shown: Vec<String> = plaintexts.iter().map(|p| to_hex(p)).collect();
    assert_eq!(shown, EXPECTED_PLAINTEXTS, "decrypted OUT, LED, TEXT, RAW");
}

/// What the encrypted frames carry, which is what libosdp's CP was asked to send and its PD to report:
/// OUT (output 0, control 1, timer 0); LED (reader 0, LED 0, temporary: control 1, on 10, off 10, red, black,
/// timer 10; permanent: control 0); TEXT (reader 0, control 1, 20 s, row 1, column 1, 30 characters);
/// RAW (reader 1, Wiegand, 16 bits, 55 AA).
const EXPECTED_PLAINTEXTS: [&str; 4] = [
    "00010000",
    "0000010a0a01000a000000000000",
    "00011401011e57454c434f4d452054524156454c4c45522c20474154452033204f50454e",
    "0101100055aa",
];

// ---------------------------------------------------------------------------------------------------------
// Cross-check against pycryptodome: AES-CBC (with OSDP padding done by hand in Python), the OSDP MAC built
// from pycryptodome's CBC and ECB, and the master-key derivation.

const PY_CHECK: &str = r#"
import sys
from Crypto.Cipher import AES
for line in sys.stdin:
    kind, *f = line.split()
    b = [bytes.fromhex(x) if x != "-" else b"" for x in f]
    if kind == "enc":
        key, iv, data = b
        padded = data + b"\x80" + b"\x00" * (15 - len(data) % 16)
        print(AES.new(key, AES.MODE_CBC, iv).encrypt(padded).hex())
    elif kind == "mac":
        k1, k2, chain, msg = b
        if len(msg) % 16 or not msg:
            msg = msg + b"\x80" + b"\x00" * (15 - len(msg) % 16)
        head, last = msg[:-16], msg[-16:]
        x = AES.new(k1, AES.MODE_CBC, chain).encrypt(head)[-16:] if head else chain
        print(AES.new(k2, AES.MODE_ECB).encrypt(bytes(a ^ c for a, c in zip(last, x))).hex())
    elif kind == "scbk":
        mk, cuid = b
        print(AES.new(mk, AES.MODE_ECB).encrypt(cuid + bytes(255 - c for c in cuid)).hex())
"#;

/// xorshift64*: deterministic "random" inputs without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u8 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.next())
    }
    fn vec(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next()).collect()
    }
}

fn field(b: &[u8]) -> String {
    if b.is_empty() { "-".to_owned() } else { to_hex(b) }
}

#[test]
fn cross_check_with_pycryptodome() {
    use std::process::Command;

    let Some(python) = khil_test_support::python_with("Crypto.Cipher.AES") else { return };

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut input = String::new();
    let mut expected = Vec::new();
    for i in 0..40usize {
        let (key, iv) = (rng.bytes::<16>(), rng.bytes::<16>());
        let data = rng.vec(i * 7 % 70);
        expected.push(to_hex(&encrypt(&key, &iv, &data)));
        writeln!(input, "enc {} {} {}", to_hex(&key), to_hex(&iv), field(&data)).unwrap();

        let keys = SessionKeys::from_parts(rng.bytes(), rng.bytes(), rng.bytes());
        let chain = rng.bytes::<16>();
        let msg = rng.vec(i * 5 % 67);
        expected.push(to_hex(&sc::mac(&keys, &chain, &msg)));
        let (k1, k2) = (to_hex(keys.s_mac1()), to_hex(keys.s_mac2()));
        writeln!(input, "mac {k1} {k2} {} {}", to_hex(&chain), field(&msg)).unwrap();
    }
    for _ in 0..5 {
        let (mk, cuid) = (rng.bytes::<16>(), rng.bytes::<8>());
        expected.push(to_hex(&sc::scbk_from_master_key(&mk, &cuid)));
        writeln!(input, "scbk {} {}", to_hex(&mk), to_hex(&cuid)).unwrap();
    }

    let mut command = Command::new(&python);
    command.args(["-c", PY_CHECK]);
    let got = khil_test_support::pipe_lines(command, &input);
    assert_eq!(got.len(), expected.len());
    for (n, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, e, "case {n}: {}", input.lines().nth(n).unwrap());
    }
}

/// A session recorded live, now, between libosdp 3.2.9's own CP and PD (`tests/peers/libosdp_capture.py`,
/// SCBK-D): khil follows its handshake and every MAC and ciphertext, and finds in the decrypted data what the
/// script had libosdp send: the TEXT "khil" and the card read 12 34 56 78.
#[test]
fn a_live_libosdp_session_follows_khils_rules() {
    let Some(python) = khil_test_support::python_with("osdp") else { return };
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/libosdp_capture.py");
    let out = std::process::Command::new(python).arg(script).output().unwrap();
    assert!(out.status.success(), "capture failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let frames: Vec<Frame> = text
        .lines()
        .map(|l| {
            let (who, hex_frame) = l.split_once(' ').unwrap();
            split(&who.to_lowercase(), hex_frame)
        })
        .collect();
    check_handshake(&frames, &khil_osdp::sc::SCBK_D);
    let (commands, replies, plaintexts) = check_session(&frames, &khil_osdp::sc::SCBK_D);
    assert!(commands >= 5 && replies >= 5, "{commands} secured commands, {replies} replies");
    let shown: Vec<String> = plaintexts.iter().map(|p| to_hex(p)).collect();
    assert!(shown.iter().any(|p| p.ends_with("6b68696c")), "TEXT khil among {shown:?}");
    assert!(shown.iter().any(|p| p.contains("12345678")), "card 12345678 among {shown:?}");
}
