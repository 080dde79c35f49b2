//! The fingerprint reader PD and FILETRANSFER at the state-machine level, inside a secure channel set up by a CP
//! made of khil's own secure-channel primitives: BIOREADR carries an ANSI/INCITS 378 record khil's decoder reads
//! back byte for byte, BIOMATCH scores the same finger above the threshold and another one below, the NAK codes
//! of the reference, no finger, and files in order, out of order, at a bad offset and retransmitted.

use std::sync::Arc;

use khil_biometrics::synth::Quality;
use khil_biometrics::template::{self, Format, decode_ansi};
use khil_osdp::command::{BioMatch, BioRead, Command, FileTransfer, opcode};
use khil_osdp::frame::{self, Decoded, OsdpFrame, Scb};
use khil_osdp::reply::{BioReadR, FtStat, NakCode, Reply, function};
use khil_osdp::sc::{self, ScSession, SessionKeys};
use khil_sim_osdp::file::ft_status;
use khil_sim_osdp::{BioReader, Pd, PdConfig, PdProfile};
use khil_sim_population::{Fingers, Presence};
use proptest::prelude::*;

const KEY: [u8; 16] = [0x42; 16];

/// Sends one frame through the PD and decodes the reply (frame, raw packet).
fn exchange(pd: &mut Pd, f: &OsdpFrame) -> (OsdpFrame, Vec<u8>) {
    let bytes = f.encode(true);
    let Decoded::Frame { frame, packet, .. } = frame::decode(&bytes) else { panic!("test frame does not decode") };
    let out = pd.handle(&frame, &bytes[packet]).expect("the PD answers");
    let Decoded::Frame { frame, packet, .. } = frame::decode(&out) else { panic!("reply does not decode") };
    (frame, out[packet].to_vec())
}

/// A CP talking to one PD inside the secure channel.
struct Cp {
    session: ScSession,
    sqn: u8,
}

impl Cp {
    /// ID with SQN 0, then CHLNG/CCRYPT and SCRYPT/RMAC_I, checking the PD's cryptograms.
    fn connect(pd: &mut Pd) -> Cp {
        exchange(pd, &OsdpFrame::command(1, 0, opcode::ID, vec![0]));
        let rnd_a = [0xB0, 0xB1, 0xB2, 0xB3, 0xB4, 0xB5, 0xB6, 0xB7];
        let mut chlng = OsdpFrame::command(1, 1, opcode::CHLNG, rnd_a.to_vec());
        chlng.scb = Some(Scb::new(0x11, vec![1]));
        let (ccrypt, _) = exchange(pd, &chlng);
        let Ok(Reply::CCrypt { rnd_b, cryptogram, .. }) = Reply::parse(ccrypt.code, &ccrypt.data) else {
            panic!("no CCRYPT")
        };
        let keys = SessionKeys::derive(&KEY, &rnd_a);
        assert_eq!(cryptogram, sc::client_cryptogram(&keys, &rnd_a, &rnd_b));
        let server = sc::server_cryptogram(&keys, &rnd_a, &rnd_b);
        let mut scrypt = OsdpFrame::command(1, 2, opcode::SCRYPT, server.to_vec());
        scrypt.scb = Some(Scb::new(0x13, vec![1]));
        exchange(pd, &scrypt);
        assert!(pd.secure(), "the secure channel is up");
        Cp { session: ScSession::from_handshake(&KEY, &rnd_a, &rnd_b), sqn: 2 }
    }

    /// The next command's frame, data encrypted and MAC'd (the SQN advances).
    fn frame(&mut self, command: &Command) -> OsdpFrame {
        self.sqn = if self.sqn >= 3 { 1 } else { self.sqn + 1 };
        let mut f = OsdpFrame::command(1, self.sqn, command.code(), command.to_data());
        if f.data.is_empty() {
            f.scb = Some(Scb::new(0x15, vec![]));
        } else {
            f.data = self.session.encrypt_command_data(&f.data);
            f.scb = Some(Scb::new(0x17, vec![]));
        }
        f.seal(|input| self.session.cp_mac_command(input)).unwrap();
        f
    }

    /// Sends `f` and returns the verified, decrypted reply.
    fn send(&mut self, pd: &mut Pd, f: &OsdpFrame) -> Reply {
        let (reply, raw) = exchange(pd, f);
        self.session.cp_verify_reply(frame::mac_input(&raw).unwrap(), &reply.mac.expect("a secured reply")).unwrap();
        let data = match reply.scb.as_ref().map(|s| s.kind) {
            Some(0x18) if !reply.data.is_empty() => self.session.decrypt_reply_data(&reply.data).unwrap(),
            Some(0x16 | 0x18) => reply.data.clone(),
            other => panic!("reply SCB {other:?}"),
        };
        Reply::parse(reply.code, &data).unwrap()
    }

    fn command(&mut self, pd: &mut Pd, command: &Command) -> Reply {
        let f = self.frame(command);
        self.send(pd, &f)
    }
}

fn reader(fingers: &Arc<Fingers>, presence: Presence) -> Pd {
    let bio = Arc::new(BioReader::new(Arc::clone(fingers), presence, 0.0, 2, 5));
    bio.prepare();
    Pd::new(PdConfig { scbk: Some(KEY), bio: Some(bio), ..PdConfig::new(PdProfile::BIO_READER, 1) })
}

fn population() -> Arc<Fingers> {
    Arc::new(Fingers::new(11, Quality::Good))
}

fn bioread(kind: u8, format: u8) -> Command {
    Command::BioRead(BioRead { reader: 0, kind, format, quality: 0 })
}

fn biomatch(kind: u8, format: u8, threshold: u8, template: Vec<u8>) -> Command {
    Command::BioMatch(BioMatch { reader: 0, kind, format, quality: threshold, template })
}

fn sample(reply: Reply) -> BioReadR {
    match reply {
        Reply::BioReadR(b) => b,
        other => panic!("expected BIOREADR, got {other:?}"),
    }
}

#[test]
fn bioread_answers_an_ansi_378_record_byte_exact() {
    let fingers = population();
    let mut pd = reader(&fingers, Presence::Auto(7));
    let mut cp = Cp::connect(&mut pd);
    let r = sample(cp.command(&mut pd, &bioread(2, 2)));
    assert_eq!((r.reader, r.status, r.kind), (0, 0, 2), "success, right index finger");
    let record = decode_ansi(&r.data).expect("BIOREADR data is an ANSI/INCITS 378 record");
    assert_eq!(record.format, Format::Ansi2004);
    assert!(record.check().is_empty(), "{:?}", record.check());
    assert_eq!(record.views.len(), 1);
    assert_eq!(record.views[0].finger_position, 2, "the finger asked for");
    assert!(record.views[0].minutiae.len() >= 12, "{} minutiae", record.views[0].minutiae.len());
    assert_eq!(template::encode(&record).unwrap(), r.data, "khil's encoder writes exactly these bytes");
    assert!(r.quality > 0, "the scan's quality is reported");
    // "Not specified" gets the reader's default, the same format.
    let r = sample(cp.command(&mut pd, &bioread(0, 0)));
    assert_eq!(decode_ansi(&r.data).unwrap().views[0].finger_position, 0);
}

#[test]
fn biomatch_scores_the_same_finger_above_the_threshold_and_another_below() {
    let fingers = population();
    // Enrolment: a BIOREAD of finger 7 on one reader, of finger 8 on another.
    let mut enrol7 = reader(&fingers, Presence::Placed(7));
    let mut cp = Cp::connect(&mut enrol7);
    let template7 = sample(cp.command(&mut enrol7, &bioread(2, 2))).data;
    let mut enrol8 = reader(&fingers, Presence::Placed(8));
    let mut cp8 = Cp::connect(&mut enrol8);
    let template8 = sample(cp8.command(&mut enrol8, &bioread(2, 2))).data;

    // Verification at the gate: finger 7 presented (its next impression, not the enrolled one).
    let threshold = 80; // 1 in 10 000 false matches
    let Reply::BioMatchR { reader, status, score } =
        cp.command(&mut enrol7, &biomatch(2, 2, threshold, template7.clone()))
    else {
        panic!("no BIOMATCHR")
    };
    assert_eq!((reader, status), (0, 0));
    assert!(score >= threshold, "genuine score {score} below {threshold}");
    assert!(enrol7.last_match().unwrap().matched);
    let Reply::BioMatchR { status, score, .. } = cp.command(&mut enrol7, &biomatch(2, 2, threshold, template8)) else {
        panic!("no BIOMATCHR")
    };
    assert_eq!(status, 0);
    assert!(score < threshold, "impostor score {score} at or above {threshold}");
    let decision = enrol7.last_match().unwrap();
    assert_eq!((decision.score, decision.threshold, decision.matched), (score, threshold, false));
    // Format "not specified" reads the template as ANSI/INCITS 378 too.
    let Reply::BioMatchR { score, .. } = cp.command(&mut enrol7, &biomatch(0, 0, threshold, template7)) else {
        panic!("no BIOMATCHR")
    };
    assert!(score >= threshold);
}

/// Finger 7 enrolled by one BIOREAD (impression 0), then matched in `scans` BIOMATCHes of its next impressions
/// at threshold 80: the BIOMATCHR scores.
fn genuine_biomatch_scores(quality: Quality, scans: u32) -> Vec<u8> {
    let fingers = Arc::new(Fingers::new(11, quality));
    let bio = Arc::new(BioReader::new(fingers, Presence::Placed(7), 0.0, scans + 1, 5));
    bio.prepare();
    let mut pd = Pd::new(PdConfig { scbk: Some(KEY), bio: Some(bio), ..PdConfig::new(PdProfile::BIO_READER, 1) });
    let mut cp = Cp::connect(&mut pd);
    let template = sample(cp.command(&mut pd, &bioread(2, 2))).data;
    (0..scans)
        .map(|_| match cp.command(&mut pd, &biomatch(2, 2, 80, template.clone())) {
            Reply::BioMatchR { status: 0, score, .. } => score,
            other => panic!("BIOMATCH: {other:?}"),
        })
        .collect()
}

#[test]
fn biomatch_genuine_scores_spread_under_the_top_and_mixed_quality_lowers_them() {
    let good = genuine_biomatch_scores(Quality::Good, 5);
    let mixed = genuine_biomatch_scores(Quality::Mixed, 5);
    let top = khil_sim_osdp::bio::osdp_score(khil_biometrics::matcher::MAX_SCORE);
    for scores in [&good, &mixed] {
        assert!(scores.iter().all(|&s| s < top), "a genuine scan at the top of the scale ({top}): {scores:?}");
        let (low, high) = (scores.iter().min().unwrap(), scores.iter().max().unwrap());
        assert!(high - low >= 10, "genuine scans all score alike: {scores:?}");
    }
    let median = |s: &[u8]| {
        let mut v = s.to_vec();
        v.sort_unstable();
        v[v.len() / 2]
    };
    assert!(median(&good) >= median(&mixed) + 20, "good {good:?}, mixed {mixed:?}");
}

#[test]
fn unsupported_types_formats_and_readers_get_the_reference_naks() {
    let fingers = population();
    let mut pd = reader(&fingers, Presence::Placed(3));
    let mut cp = Cp::connect(&mut pd);
    let nak = |code| Reply::nak(code);
    assert_eq!(cp.command(&mut pd, &bioread(0x0B, 2)), nak(NakCode::BioTypeUnsupported), "right iris");
    assert_eq!(cp.command(&mut pd, &bioread(0x0F, 0)), nak(NakCode::BioTypeUnsupported), "face");
    assert_eq!(cp.command(&mut pd, &bioread(1, 1)), nak(NakCode::BioFormatUnsupported), "raw PGM");
    assert_eq!(cp.command(&mut pd, &bioread(1, 3)), nak(NakCode::BioFormatUnsupported), "an unknown format");
    let template = sample(cp.command(&mut pd, &bioread(1, 2))).data;
    assert_eq!(cp.command(&mut pd, &biomatch(0x11, 2, 80, template.clone())), nak(NakCode::BioTypeUnsupported));
    assert_eq!(cp.command(&mut pd, &biomatch(1, 1, 80, template.clone())), nak(NakCode::BioFormatUnsupported));
    let other_reader = Command::BioRead(BioRead { reader: 1, kind: 1, format: 2, quality: 0 });
    assert_eq!(cp.command(&mut pd, &other_reader), nak(NakCode::CannotProcess), "there is one reader");
    let mut broken = template;
    broken[0] = b'X';
    assert_eq!(cp.command(&mut pd, &biomatch(1, 2, 80, broken)), nak(NakCode::CannotProcess), "not a record");
    // A PD without biometrics does not know the commands.
    let mut gate = Pd::new(PdConfig { scbk: Some(KEY), ..PdConfig::new(PdProfile::GATE_IO, 1) });
    let mut cp = Cp::connect(&mut gate);
    assert_eq!(cp.command(&mut gate, &bioread(1, 2)), nak(NakCode::UnknownCommand));
}

#[test]
fn no_finger_times_out() {
    let fingers = population();
    let mut pd = reader(&fingers, Presence::Lifted);
    let mut cp = Cp::connect(&mut pd);
    let r = sample(cp.command(&mut pd, &bioread(2, 2)));
    assert_eq!((r.status, r.quality, r.data.len()), (1, 0, 0), "status 1: timeout, no data");
    let fake = khil_biometrics::template::ansi_from_minutiae(
        &khil_biometrics::Minutiae { width: 256, height: 288, dpi: 500, quality: 60, points: vec![] },
        2,
    );
    assert_eq!(cp.command(&mut pd, &biomatch(2, 2, 80, fake)), Reply::BioMatchR { reader: 0, status: 1, score: 0 });
    assert_eq!(pd.last_match(), None);
}

#[test]
fn the_bio_reader_declares_its_sensor() {
    let fingers = population();
    let mut pd = reader(&fingers, Presence::Lifted);
    let (cap, _) = exchange(&mut pd, &OsdpFrame::command(1, 0, opcode::CAP, vec![0]));
    let Ok(Reply::PdCap(caps)) = Reply::parse(cap.code, &cap.data) else { panic!("no PDCAP") };
    let find = |f| caps.iter().find(|c| c.function == f).map(|c| (c.compliance, c.count));
    assert_eq!(find(function::BIOMETRICS), Some((1, 1)), "fingerprint, one sensor");
    assert_eq!(find(function::RECEIVE_BUFFER_SIZE), Some((0xA0, 0x05)), "1440 bytes, little-endian");
    assert_eq!(find(function::READERS), Some((0, 1)));
    assert!(find(function::OUTPUT_CONTROL).is_none() && find(function::CONTACT_STATUS).is_none());
}

fn fragment(total: usize, offset: usize, data: &[u8]) -> Command {
    Command::FileTransfer(FileTransfer { kind: 1, total: total as u32, offset: offset as u32, fragment: data.to_vec() })
}

fn ftstat(reply: Reply) -> FtStat {
    match reply {
        Reply::FtStat(s) => s,
        other => panic!("expected FTSTAT, got {other:?}"),
    }
}

#[test]
fn file_transfer_in_order_out_of_order_bad_offset_and_retransmitted() {
    let file: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
    for profile in PdProfile::ALL {
        let mut pd = Pd::new(PdConfig { scbk: Some(KEY), ..PdConfig::new(profile, 1) });
        let mut cp = Cp::connect(&mut pd);
        // In order, 300-byte fragments; the second one's reply is lost and the CP resends the same packet (same
        // SQN): the cached FTSTAT comes back and nothing is appended twice.
        let s = ftstat(cp.command(&mut pd, &fragment(1000, 0, &file[..300])));
        assert_eq!((s.status, s.action & 1), (ft_status::OK, 1), "{}: proceed, interleaving allowed", profile.name);
        let second = cp.frame(&fragment(1000, 300, &file[300..600]));
        let first_reply = cp.send(&mut pd, &second);
        let executed = pd.executed;
        let (again, _) = exchange(&mut pd, &second);
        assert_eq!(pd.executed, executed, "the retransmission is not executed");
        assert_eq!(again.code, 0x7A);
        assert_eq!(ftstat(first_reply).status, ft_status::OK);
        assert_eq!(pd.file_progress(), Some((1, 600, 1000)));
        // The same fragment again under a new SQN (a CP that lost the FTSTAT and built a new packet): OK, not
        // appended.
        assert_eq!(ftstat(cp.command(&mut pd, &fragment(1000, 300, &file[300..600]))).status, ft_status::OK);
        assert_eq!(pd.file_progress(), Some((1, 600, 1000)));
        assert_eq!(ftstat(cp.command(&mut pd, &fragment(1000, 600, &file[600..900]))).status, ft_status::OK);
        let done = ftstat(cp.command(&mut pd, &fragment(1000, 900, &file[900..])));
        assert_eq!(done.status, ft_status::PROCESSED, "file contents processed");
        assert_eq!(pd.last_file().map(|f| (f.kind, f.data.as_slice())), Some((1, file.as_slice())));
        assert_eq!(pd.files_received(), 1);

        // Out of order: the third fragment before the second aborts, and nothing of it is kept.
        assert_eq!(ftstat(cp.command(&mut pd, &fragment(500, 0, &file[..100]))).status, ft_status::OK);
        assert_eq!(ftstat(cp.command(&mut pd, &fragment(500, 200, &file[200..300]))).status, ft_status::ABORT);
        assert_eq!(pd.file_progress(), None);
        assert_eq!(ftstat(cp.command(&mut pd, &fragment(500, 100, &file[100..200]))).status, ft_status::ABORT);
        // A bad offset: past the total.
        assert_eq!(ftstat(cp.command(&mut pd, &fragment(100, 0, &file[..60]))).status, ft_status::OK);
        assert_eq!(ftstat(cp.command(&mut pd, &fragment(100, 60, &file[..60]))).status, ft_status::ABORT);
        assert_eq!(pd.files_received(), 1, "only the first file arrived");
        assert_eq!(pd.last_file().unwrap().data, file, "and it is still the last one");
        // A fragment whose length field disagrees with its data: NAK 2.
        let mut data = fragment(10, 0, b"abcd").to_data();
        data[9] = 9;
        let bad = Command::Unknown { code: opcode::FILETRANSFER, data };
        assert_eq!(cp.command(&mut pd, &bad), Reply::nak(NakCode::BadLength));
    }
}

/// The deliberate mis-implementations for the conformance suite's biometric and file purposes: each one deviates
/// where its name says, and the names parse back.
#[test]
fn the_bio_and_file_quirks_deviate_where_they_say() {
    use khil_sim_osdp::PdQuirk;
    for q in PdQuirk::ALL {
        assert_eq!(q.name().parse::<PdQuirk>(), Ok(q));
    }
    let fingers = population();
    let quirky = |presence, quirk| {
        let bio = Arc::new(BioReader::new(Arc::clone(&fingers), presence, 0.0, 2, 5));
        bio.prepare();
        let config = PdConfig { scbk: Some(KEY), bio: Some(bio), ..PdConfig::new(PdProfile::BIO_READER, 1) };
        Pd::new(PdConfig { quirks: vec![quirk], ..config })
    };

    let mut pd = quirky(Presence::Placed(3), PdQuirk::BioGarbageTemplate);
    let mut cp = Cp::connect(&mut pd);
    let r = sample(cp.command(&mut pd, &bioread(1, 2)));
    assert_eq!(r.status, 0);
    assert!(!r.data.is_empty() && decode_ansi(&r.data).is_err(), "not a record");

    let mut pd = quirky(Presence::Placed(3), PdQuirk::BioAlwaysMatch);
    let mut cp = Cp::connect(&mut pd);
    let matched = Reply::BioMatchR { reader: 0, status: 0, score: 255 };
    assert_eq!(cp.command(&mut pd, &biomatch(1, 2, 80, b"not a template".to_vec())), matched);

    let mut pd = quirky(Presence::Placed(3), PdQuirk::BioWrongNak);
    let mut cp = Cp::connect(&mut pd);
    assert_eq!(cp.command(&mut pd, &bioread(0x0F, 2)), Reply::nak(NakCode::UnknownCommand));
    assert_eq!(cp.command(&mut pd, &bioread(1, 0x7F)), Reply::nak(NakCode::UnknownCommand));
    assert_eq!(sample(cp.command(&mut pd, &bioread(1, 2))).status, 0, "supported requests still work");

    let mut pd = quirky(Presence::Lifted, PdQuirk::BioNoTimeout);
    let mut cp = Cp::connect(&mut pd);
    let r = sample(cp.command(&mut pd, &bioread(1, 2)));
    assert_eq!(r.status, 0, "success without a finger");
    assert!(decode_ansi(&r.data).unwrap().views[0].minutiae.is_empty());

    let mut pd = quirky(Presence::Lifted, PdQuirk::PdcapNoBiometrics);
    let (cap, _) = exchange(&mut pd, &OsdpFrame::command(1, 0, opcode::CAP, vec![0]));
    let Ok(Reply::PdCap(caps)) = Reply::parse(cap.code, &cap.data) else { panic!("no PDCAP") };
    assert!(caps.iter().all(|c| c.function != function::BIOMETRICS));

    let file: Vec<u8> = (0..30u8).collect();
    let mut pd = quirky(Presence::Lifted, PdQuirk::FileIgnoresOffset);
    let mut cp = Cp::connect(&mut pd);
    assert_eq!(ftstat(cp.command(&mut pd, &fragment(30, 0, &file[..10]))).status, ft_status::OK);
    assert_eq!(ftstat(cp.command(&mut pd, &fragment(30, 20, &file[20..]))).status, ft_status::OK, "a gap taken");
    assert_eq!(pd.file_progress(), Some((1, 20, 30)));

    let mut pd = quirky(Presence::Lifted, PdQuirk::FileOneFragment);
    let mut cp = Cp::connect(&mut pd);
    assert_eq!(ftstat(cp.command(&mut pd, &fragment(10, 0, &file[..10]))).status, ft_status::PROCESSED);
    assert_eq!(ftstat(cp.command(&mut pd, &fragment(30, 0, &file[..10]))).status, ft_status::OK);
    assert_eq!(ftstat(cp.command(&mut pd, &fragment(30, 10, &file[10..20]))).status, ft_status::ABORT);
}

/// A bio reader without a key (plain commands), finger 5 prepared, for the property test.
fn plain_reader() -> Pd {
    let bio = Arc::new(BioReader::new(population(), Presence::Auto(5), 0.1, 1, 2));
    bio.prepare();
    Pd::new(PdConfig { bio: Some(bio), ..PdConfig::new(PdProfile::BIO_READER, 1) })
}

fn payload() -> impl Strategy<Value = (u8, Vec<u8>)> {
    let code = prop_oneof![Just(opcode::BIOMATCH), Just(opcode::FILETRANSFER), Just(opcode::BIOREAD)];
    let header = (any::<u8>(), any::<u8>(), 0u8..4, any::<u8>());
    let structured = (code.clone(), header, proptest::collection::vec(any::<u8>(), 0..300)).prop_map(
        |(code, (a, b, c, d), body)| {
            let mut data = vec![a, b, c, d];
            if code == opcode::FILETRANSFER {
                data = vec![a, b, 0, 0, 0, c, 0, 0, 0];
            }
            data.extend_from_slice(&(body.len() as u16).to_le_bytes());
            data.extend_from_slice(&body);
            (code, data)
        },
    );
    // A real ANSI/INCITS 378 record of random minutiae, maybe with one byte changed: the scan and the matcher run.
    let point = (0f32..256.0, 0f32..288.0, 0f32..std::f32::consts::TAU, any::<bool>(), 0u8..=100).prop_map(
        |(x, y, angle, end, q)| {
            let kind =
                if end { khil_biometrics::MinutiaKind::Ending } else { khil_biometrics::MinutiaKind::Bifurcation };
            khil_biometrics::Minutia { x, y, angle, kind, quality: q }
        },
    );
    let record = (proptest::collection::vec(point, 0..60), any::<(u8, u8, usize)>(), 0u8..3, any::<u8>()).prop_map(
        |(points, (position, flip, at), kind, threshold)| {
            let minutiae = khil_biometrics::Minutiae { width: 256, height: 288, dpi: 500, quality: 50, points };
            let mut template = khil_biometrics::template::ansi_from_minutiae(&minutiae, position % 11);
            let at = at % template.len();
            template[at] ^= flip;
            let mut data = vec![0, kind, 2, threshold];
            data.extend_from_slice(&(template.len() as u16).to_le_bytes());
            data.extend_from_slice(&template);
            (opcode::BIOMATCH, data)
        },
    );
    prop_oneof![(code, proptest::collection::vec(any::<u8>(), 0..64)), structured, record]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever BIOMATCH, BIOREAD or FILETRANSFER data arrives, the PD answers with a frame that decodes, and
    /// keeps answering.
    #[test]
    fn arbitrary_bio_and_file_payloads_never_panic(commands in proptest::collection::vec(payload(), 1..12)) {
        thread_local!(static PD: std::cell::RefCell<Option<Pd>> = const { std::cell::RefCell::new(None) });
        PD.with(|cell| {
            let mut cell = cell.borrow_mut();
            let pd = cell.get_or_insert_with(plain_reader);
            for (i, (code, data)) in commands.iter().enumerate() {
                let f = OsdpFrame::command(1, if i == 0 { 0 } else { (i % 3 + 1) as u8 }, *code, data.clone());
                let (reply, _) = exchange(pd, &f);
                prop_assert!(reply.reply);
                prop_assert!(Reply::parse(reply.code, &reply.data).is_ok());
            }
            let (poll, _) = exchange(pd, &OsdpFrame::command(1, 0, opcode::POLL, vec![]));
            prop_assert_eq!(poll.code, 0x40);
            Ok(())
        })?;
    }
}
