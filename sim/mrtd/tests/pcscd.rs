//! Independent peers through the real PC/SC stack (issue #13, item 5). khil's `PassportChip`, holding a document
//! issued by the test PKI, is plugged into pcscd's vpcd (`VpcdEndpoint`, reader "Virtual PCD 00 00") and read by:
//!
//! - khil's inspection system over khil's PC/SC transport (`pcsc://Virtual%20PCD%2000%2000`), BAC and PACE,
//!   every check passing; the wall time per document and the pcscd round trip are printed;
//! - the `dmrtd` crate (written by others) over the `pcsc` crate directly (no khil code on the reading side): BAC
//!   and PACE, DG1, DG2, DG14, DG15 and EF.SOD, and dmrtd's passive authentication against the issuer's CSCA;
//! - `tests/peers/bac_pyscard.py`, a BAC client of our own written from 9303-11 with pyscard and pycryptodome: it
//!   checks itself on Appendix D, then runs BAC and reads EF.COM and DG1 under 3DES secure messaging.
//!
//! And khil's inspection and the same pyscard client read vicc's ePass card (Debian vsmartcard-vpicc, made to run
//! on Python 3 by ci/vicc-epass.patch) on vpcd's second slot: as it is, and with ci/vicc-epass-9303.patch's switch
//! for its two departures from 9303 (see the tests).
//!
//! These tests share pcscd's vpcd slots, so nextest runs them one at a time (test group `vpcd` in
//! `.config/nextest.toml`). They skip with a printed reason when pcscd or a peer is missing, and fail instead under
//! `CI=true`. The chip's ATR is the same for every document, so each test waits for the reader to be empty before
//! it plugs the next one in. pcscd is one daemon per machine: two test runs at once (two worktrees) take each
//! other's cards; nextest's group serializes one run only.
//!
//! The pcscd round trip printed (about 49 ms for a GET CHALLENGE) is not pcscd's: it is the card side's delayed
//! TCP acknowledgement (Linux, 40 ms) holding up vpcd's next small segment (Nagle's algorithm on vpcd's socket,
//! which has no TCP_NODELAY). A card that sets TCP_QUICKACK after each read answers in about 0.1 ms (measured with
//! a 30-line Python card on the same pcscd); `VpcdEndpoint` does not yet.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Stdio;
#[cfg(feature = "pcsc")]
use std::time::{Duration, Instant};

use der::DateTime;
use khil_apdu::Card;
use khil_apdu::vpcd::{VPCD_PORT, VpcdEndpoint};
use khil_sim_mrtd::chip::{ChipContent, PassportChip};
use khil_sim_mrtd::issue::{DocumentFiles, DocumentSpec, PaceOffer, issue};
use khil_sim_mrtd::pki::{Signer, State, TestPki};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const SEED: u64 = 13;
const MRZ_LINE_1: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
const MRZ_LINE_2: &str = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";
/// The MRZ information of the lines above: document number, birth and expiry with their check digits.
const MRZ_INFORMATION: &str = "L898902C3674081221204159";
/// vpcd's first slot, where khil's chip goes.
const READER: &str = "Virtual PCD 00 00";

fn reference() -> DateTime {
    DateTime::new(2026, 6, 1, 12, 0, 0).unwrap()
}

fn mrz() -> String {
    format!("{MRZ_LINE_1}\n{MRZ_LINE_2}")
}

fn document(pki: &TestPki, pace: Vec<PaceOffer>) -> DocumentFiles {
    let mrz = mrz();
    let spec = DocumentSpec { state: State::Utopia, mrz: &mrz, seed: SEED, finger: None, pace };
    issue(pki, &spec, Signer::Valid).unwrap()
}

fn chip(document: DocumentFiles) -> PassportChip {
    PassportChip::new(ChipContent { document, mrz_information: MRZ_INFORMATION.into(), can: None }, 5)
}

/// The documents every reader here reads: one BAC-only, and one offering PACE (it is read with PACE).
fn documents(pki: &TestPki) -> [(&'static str, DocumentFiles); 2] {
    [("BAC", document(pki, Vec::new())), ("PACE", document(pki, vec![PaceOffer::GM_AES128_BRAINPOOL_P256R1]))]
}

use khil_test_support::pcscd_with_vpcd;

/// `card` plugged into vpcd's first slot until the sender is used or dropped.
fn plug_in(card: PassportChip, runtime: &tokio::runtime::Handle) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let endpoint = VpcdEndpoint::new(&format!("127.0.0.1:{VPCD_PORT}")).unwrap();
    assert_eq!(endpoint.reader(), READER);
    let server = runtime.spawn(async move {
        let mut card = card;
        endpoint
            .serve(&mut card, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (stop, server)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

/// The checks of an inspection, one a line.
#[cfg(feature = "pcsc")]
fn list(inspection: &khil_mrtd::inspect::Inspection) -> String {
    inspection.checks.iter().fold(String::new(), |mut s, c| {
        let _ = write!(s, "\n  {c}");
        s
    })
}

/// (a) khil's inspection system over khil's PC/SC transport reads and verifies khil's chip, BAC and PACE.
#[cfg(feature = "pcsc")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn khil_inspects_khil_chip_through_pcscd() {
    use khil_mrtd::inspect::{InspectOptions, inspect};
    use khil_mrtd::lds::FileId;
    use khil_mrtd::pa::Outcome;
    use rand::SeedableRng;

    if !pcscd_with_vpcd(VPCD_PORT) {
        return;
    }
    let pki = TestPki::new(SEED, reference()).unwrap();
    let url: khil_link::DeviceUrl = "pcsc://Virtual%20PCD%2000%2000".parse().unwrap();
    let mut reader = khil_apdu::connect(&url, &khil_apdu::NoSimCards).await.unwrap();
    wait_for_removal(reader.as_mut()).await;
    for (access, doc) in documents(&pki) {
        let options = InspectOptions {
            mrz: mrz(),
            trust: pki.trust_store(),
            date: reference(),
            pace: true,
            can: None,
            read_size: khil_mrtd::files::SM_SHORT_READ,
            terminal: Some(pki.eac.terminal.clone()),
        };
        // The same inspection in the in-memory reader first: what the chip and the inspection cost without PC/SC.
        let (mut memory, _slot) = khil_apdu::memory_pair(chip(doc.clone()));
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(21);
        let started = Instant::now();
        let in_memory = inspect(&mut memory, &options, &mut rng).await.unwrap();
        let memory_wall = started.elapsed();
        assert_eq!(in_memory.outcome(), Outcome::Passed, "{access} in memory:{}", list(&in_memory));

        let chip = chip(doc);
        let atr = chip.atr();
        let (stop, server) = plug_in(chip, &tokio::runtime::Handle::current());
        wait_for_card(reader.as_mut(), &atr).await;

        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(21);
        let mut counted = Counting { inner: reader.as_mut(), apdus: 0 };
        let started = Instant::now();
        let r = inspect(&mut counted, &options, &mut rng).await.unwrap();
        let wall = started.elapsed();
        let apdus = counted.apdus;
        let list = list(&r);
        let opened = r.access.clone().unwrap_or_default();
        assert!(opened.starts_with(access), "{access}: opened with {opened:?}:{list}");
        assert_eq!(r.outcome(), Outcome::Passed, "{access}:{list}");
        let files: Vec<FileId> = r.files_read.iter().map(|(f, _)| *f).collect();
        for f in [FileId::Com, FileId::Sod, FileId::Dg(1), FileId::Dg(2), FileId::Dg(14), FileId::Dg(15)] {
            assert!(files.contains(&f), "{access}: {f} not read: {files:?}");
        }
        for name in [
            "passive authentication: EF.SOD signature by the Document Signer",
            "passive authentication: Document Signer certificate issued by a trusted CSCA",
            "passive authentication: DG2 hash",
            "chip authentication",
            "active authentication",
            "MRZ on the page = DG1",
        ] {
            assert!(r.checks.iter().any(|c| c.name == name && c.status.passed()), "{access}: {name}:{list}");
        }
        let bytes: usize = r.files_read.iter().map(|(_, n)| n).sum();

        // The floor: bare GET CHALLENGE round trips through pcscd and vpcd (plain, so the session ends first).
        let rounds = 50u32;
        let started = Instant::now();
        for _ in 0..rounds {
            let answer = reader.transmit_raw(&[0x00, 0x84, 0x00, 0x00, 0x08]).await.unwrap();
            assert_eq!((answer.len(), &answer[8..]), (10, &[0x90, 0x00][..]));
        }
        let round_trip = started.elapsed() / rounds;
        println!(
            "khil through pcscd, {opened}: {wall:.1?} wall per document ({apdus} APDUs, {bytes} bytes of files; \
             {memory_wall:.1?} in memory); GET CHALLENGE round trip {round_trip:.2?}; inspection = {:.0} round trips",
            wall.as_secs_f64() / round_trip.as_secs_f64()
        );

        stop.send(()).unwrap();
        server.await.unwrap();
        wait_for_removal(reader.as_mut()).await;
    }
}

/// Counts the APDUs of an inspection.
#[cfg(feature = "pcsc")]
struct Counting<'r> {
    inner: &'r mut dyn khil_apdu::ApduTransport,
    apdus: usize,
}

#[cfg(feature = "pcsc")]
impl khil_apdu::ApduTransport for Counting<'_> {
    fn transmit_raw<'a>(&'a mut self, apdu: &'a [u8]) -> khil_apdu::ApduFuture<'a, Vec<u8>> {
        self.apdus += 1;
        self.inner.transmit_raw(apdu)
    }

    fn card_present(&mut self) -> khil_apdu::ApduFuture<'_, bool> {
        self.inner.card_present()
    }

    fn reset(&mut self) -> khil_apdu::ApduFuture<'_, Vec<u8>> {
        self.inner.reset()
    }
}

/// Waits (up to 15 s) until the card in `reader` is the one with `atr`, resetting it to read its ATR.
#[cfg(feature = "pcsc")]
async fn wait_for_card(reader: &mut dyn khil_apdu::ApduTransport, atr: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = String::from("no card yet");
    while Instant::now() < deadline {
        if reader.card_present().await.unwrap_or(false) {
            match reader.reset().await {
                Ok(seen) if seen == atr => return,
                Ok(seen) => last = format!("another card's ATR {}", hex(&seen)),
                Err(e) => last = e.to_string(),
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the card with ATR {} did not appear in the reader within 15 s (last: {last})", hex(atr));
}

/// Waits (up to 10 s) until the reader reports no card (a card left by an earlier test is waited out).
#[cfg(feature = "pcsc")]
async fn wait_for_removal(reader: &mut dyn khil_apdu::ApduTransport) {
    for _ in 0..100 {
        if !reader.card_present().await.unwrap() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("a card is still in the reader after 10 s");
}

/// dmrtd's `Transceiver` over a PC/SC connection of the `pcsc` crate: nothing of khil on the reading side.
#[cfg(feature = "pcsc")]
struct PcscTransceiver {
    card: pcsc::Card,
    buffer: Vec<u8>,
}

#[cfg(feature = "pcsc")]
impl dmrtd::com::Transceiver for PcscTransceiver {
    fn transceive(&mut self, apdu: &[u8]) -> Result<Vec<u8>, dmrtd::com::TransceiveError> {
        let answer =
            self.card.transmit(apdu, &mut self.buffer).map_err(|e| dmrtd::com::TransceiveError::new(e.to_string()))?;
        Ok(answer.to_vec())
    }
}

/// Connects to the card with `atr` in [`READER`] (waiting up to 15 s for it), with the `pcsc` crate.
#[cfg(feature = "pcsc")]
fn pcsc_connect(context: &pcsc::Context, atr: &[u8]) -> pcsc::Card {
    let reader = std::ffi::CString::new(READER).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = String::from("no card yet");
    while Instant::now() < deadline {
        match context.connect(&reader, pcsc::ShareMode::Shared, pcsc::Protocols::ANY) {
            Ok(card) => {
                let seen = card.status2_owned().map(|s| s.atr().to_vec()).unwrap_or_default();
                if seen == atr {
                    return card;
                }
                last = format!("another card's ATR {}", hex(&seen));
            }
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the card with ATR {} did not appear in {READER} within 15 s (last: {last})", hex(atr));
}

/// Waits (up to 10 s) until [`READER`] is empty, with the `pcsc` crate.
#[cfg(feature = "pcsc")]
fn pcsc_wait_for_removal(context: &pcsc::Context) {
    let reader = std::ffi::CString::new(READER).unwrap();
    for _ in 0..100 {
        let mut states = [pcsc::ReaderState::new(reader.clone(), pcsc::State::UNAWARE)];
        context.get_status_change(Duration::from_secs(1), &mut states).unwrap();
        if states[0].event_state().contains(pcsc::State::EMPTY) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("a card is still in {READER} after 10 s");
}

/// (b) dmrtd, over the `pcsc` crate, reads khil's chip through pcscd with BAC and with PACE and verifies its SOD
/// with its own passive authentication against the test PKI's UTO CSCA.
#[cfg(feature = "pcsc")]
#[test]
fn dmrtd_reads_and_authenticates_khil_chip_through_pcscd() {
    use dmrtd::auth::passive::{self, ChainStatus, DataGroup, TrustAnchor};
    use dmrtd::lds::ef::ElementaryFile;
    use dmrtd::lds::mrz::Mrz;
    use dmrtd::passport::Passport;
    use dmrtd::proto::dba_key::DBAKey;

    if !pcscd_with_vpcd(VPCD_PORT) {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let pki = TestPki::new(SEED, reference()).unwrap();
    let anchor = TrustAnchor::from_certificate(&pki.state(State::Utopia).csca.certificate_der()).unwrap();
    let context = pcsc::Context::establish(pcsc::Scope::User).unwrap();
    pcsc_wait_for_removal(&context);
    // dmrtd's DBAKey holds the MRZ key seed: 16 bytes of SHA-1 for BAC, all 20 as PACE's password (9303-11 9.7.3);
    // the caller says which.
    let mrz = Mrz::from_bytes(format!("{MRZ_LINE_1}{MRZ_LINE_2}").into_bytes()).unwrap();
    let key = |pace| DBAKey::new(mrz.document_number(), mrz.date_of_birth, mrz.date_of_expiry, pace).unwrap();
    for (access, doc) in documents(&pki) {
        let chip = chip(doc);
        let atr = chip.atr();
        let (stop, server) = plug_in(chip, runtime.handle());
        let card = pcsc_connect(&context, &atr);
        let mut passport = Passport::new(PcscTransceiver { card, buffer: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED] });
        let started = Instant::now();
        if access == "PACE" {
            let card_access = passport.read_ef_card_access().unwrap();
            passport.start_session_pace(key(true), &card_access).unwrap_or_else(|e| panic!("dmrtd PACE: {e}"));
        } else {
            passport.start_session(key(false)).unwrap_or_else(|e| panic!("dmrtd BAC: {e}"));
        }
        let com = passport.read_ef_com().unwrap();
        assert_eq!(com.dg_tags().len(), 4, "{access}: EF.COM lists DG1, DG2, DG14, DG15");
        let dg1 = passport.read_ef_dg1().unwrap_or_else(|e| panic!("{access}: DG1: {e}"));
        assert_eq!(dg1.mrz().to_bytes(), format!("{MRZ_LINE_1}{MRZ_LINE_2}").as_bytes(), "{access}: DG1's MRZ");
        let dg2 = passport.read_ef_dg2().unwrap_or_else(|e| panic!("{access}: DG2: {e}"));
        assert_eq!((dg2.image_width, dg2.image_height), (300, 400), "{access}: DG2's portrait");
        let dg14 = passport.read_ef_dg14().unwrap_or_else(|e| panic!("{access}: DG14: {e}"));
        let dg15 = passport.read_ef_dg15().unwrap_or_else(|e| panic!("{access}: DG15: {e}"));
        let sod = passport.read_ef_sod().unwrap_or_else(|e| panic!("{access}: EF.SOD: {e}"));
        let wall = started.elapsed();
        let groups = [(1, dg1.to_bytes()), (2, dg2.to_bytes()), (14, dg14.to_bytes()), (15, dg15.to_bytes())];
        let groups: Vec<DataGroup<'_>> =
            groups.iter().map(|(number, bytes)| DataGroup { number: *number, bytes }).collect();
        let result = passive::verify(sod.to_bytes(), &groups, std::slice::from_ref(&anchor))
            .unwrap_or_else(|e| panic!("{access}: dmrtd's passive authentication: {e:?}"));
        assert!(matches!(result.chain, ChainStatus::Trusted { .. }), "{access}: {result:?}");
        assert!(result.covers_all_groups(), "{access}: {result:?}");
        assert_eq!(result.verified_groups, [1, 2, 14, 15], "{access}");
        println!(
            "dmrtd through pcscd, {access}: opened, read EF.COM, DG1, DG2 ({} bytes), DG14, DG15, EF.SOD in \
             {wall:.1?}; passive authentication to the UTO CSCA: trusted, DGs {:?}",
            dg2.to_bytes().len(),
            result.verified_groups
        );

        drop(passport);
        runtime.block_on(async {
            stop.send(()).unwrap();
            server.await.unwrap();
        });
        pcsc_wait_for_removal(&context);
    }
}

/// (c) A BAC client of our own, written from 9303-11 with pyscard and pycryptodome, reads khil's chip through
/// pcscd: Appendix D first, then BAC, EF.COM and DG1 under 3DES secure messaging, and DG1's MRZ checked.
#[test]
fn pyscard_bac_reads_khil_chip_through_pcscd() {
    if !pcscd_with_vpcd(VPCD_PORT) {
        return;
    }
    let Some(python) = khil_test_support::python_with("smartcard.System, Crypto.Cipher.DES3") else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let pki = TestPki::new(SEED, reference()).unwrap();
    // The PACE document too: a chip that offers PACE still opens with BAC (9303-11 4.2), which is what this client
    // runs.
    for (access, doc) in documents(&pki) {
        let chip = chip(doc);
        let atr = hex(&chip.atr());
        let (stop, server) = plug_in(chip, runtime.handle());
        let (ok, stdout, stderr) = run_bac_script(&python, READER, &atr);
        runtime.block_on(async {
            stop.send(()).unwrap();
            server.await.unwrap();
        });
        assert!(ok, "{access} document: bac_pyscard.py failed:\n{stdout}{stderr}");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            lines,
            [
                "self-test: 9303-11 Appendix D ok",
                &format!("card: ATR {atr}"),
                "bac: ok, 3DES secure messaging",
                "EF.COM: 24 bytes, data group tags 61756E6F",
                "DG1: 93 bytes, the MRZ matches",
            ],
            "{access} document"
        );
        println!("pyscard BAC client, {access} document through pcscd:\n  {}", lines.join("\n  "));
        // The next document must not be taken for this one (same ATR): wait until vpcd has let go of it.
        wait_until_empty(&python);
    }
}

/// Runs tests/peers/bac_pyscard.py against the card with `atr` in `reader`: (success, stdout, stderr).
fn run_bac_script(python: &Path, reader: &str, atr: &str) -> (bool, String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/bac_pyscard.py");
    let output = std::process::Command::new(python)
        .arg(script)
        .args([reader, atr, MRZ_LINE_1, MRZ_LINE_2])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.success(), text(&output.stdout), text(&output.stderr))
}

/// Waits (up to 10 s) until pcscd reports [`READER`] empty, asking through pyscard.
fn wait_until_empty(python: &Path) {
    let probe = format!(
        "import sys, time\nfrom smartcard.scard import *\n\
         _, ctx = SCardEstablishContext(SCARD_SCOPE_USER)\n\
         for _ in range(100):\n    \
             _, states = SCardGetStatusChange(ctx, 1000, [({READER:?}, SCARD_STATE_UNAWARE)])\n    \
             if states[0][1] & SCARD_STATE_EMPTY:\n        sys.exit(0)\n    \
             time.sleep(0.1)\n\
         sys.exit('a card is still in the reader after 10 s')\n"
    );
    let out = std::process::Command::new(python).args(["-c", &probe]).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// vicc with ci/vicc-epass.patch applied: `$KHIL_PEERS_VICC_EPASS`, or `.peers/vicc-epass/vicc` (ci/test writes
/// it), or `None` (skip).
#[cfg(feature = "pcsc")]
fn vicc_epass() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;

    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.peers/vicc-epass/vicc");
    let found =
        std::env::var_os("KHIL_PEERS_VICC_EPASS").map(PathBuf::from).into_iter().chain([default]).find(|p| p.exists());
    if found.is_none() {
        return khil_test_support::missing(
            "KHIL_PEERS_VICC_EPASS unset and no .peers/vicc-epass/vicc: run ci/test once (it patches vicc's ePass)",
        );
    }
    found
}

/// vicc's ATR for `-t ePass` (its ISO 7816 card's: T=1), as it sends it.
#[cfg(feature = "pcsc")]
const VICC_ATR: [u8; 11] = [0x3B, 0x95, 0x13, 0x81, 0x01, 0x80, 0x73, 0xFF, 0x01, 0x00, 0x0B];

/// What vicc's ePass tests saw: khil's inspection, and the pyscard BAC client's output (success, stdout, stderr).
#[cfg(feature = "pcsc")]
struct ViccRead {
    inspection: khil_mrtd::inspect::Inspection,
    pyscard: (bool, String, String),
}

/// Starts vicc's ePass card (the patched vicc from [`vicc_epass`]) on vpcd's second slot, holding the MRZ of this
/// file, with `KHIL_VICC_9303` set as `conformant` says; runs khil's inspection over khil's PC/SC transport
/// against it, then the pyscard BAC client. `None`: skipped.
#[cfg(feature = "pcsc")]
async fn read_vicc_epass(conformant: bool) -> Option<ViccRead> {
    use khil_mrtd::inspect::{InspectOptions, inspect};
    use rand::SeedableRng;
    use tokio::io::AsyncWriteExt;

    let port = VPCD_PORT + 1;
    if !pcscd_with_vpcd(port) {
        return None;
    }
    let python = khil_test_support::python_with("smartcard.System, Crypto.Cipher.DES3")?;
    let vicc = vicc_epass()?;
    let reader_name = khil_apdu::vpcd::reader_for_port(port).unwrap();
    let mut reader = khil_apdu::pcsc::PcscTransport::open(&reader_name).await.unwrap();
    wait_for_removal(&mut reader).await;
    let mut child = tokio::process::Command::new(vicc)
        .args(["-t", "ePass", "-H", "127.0.0.1", "-P", &port.to_string()])
        .env("KHIL_VICC_9303", if conformant { "1" } else { "0" })
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Its card generator asks for the MRZ (one string) and a portrait's path (none here) on stdin.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{MRZ_LINE_1}{MRZ_LINE_2}\n\n").as_bytes()).await.unwrap();
    drop(stdin);
    wait_for_card(&mut reader, &VICC_ATR).await;

    let pki = TestPki::new(SEED, reference()).unwrap();
    let options = InspectOptions {
        mrz: mrz(),
        trust: pki.trust_store(),
        date: reference(),
        pace: true,
        can: None,
        read_size: khil_mrtd::files::SM_SHORT_READ,
        terminal: Some(pki.eac.terminal.clone()),
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(22);
    let inspection = inspect(&mut reader, &options, &mut rng).await.unwrap();
    let pyscard =
        tokio::task::spawn_blocking(move || run_bac_script(&python, &reader_name, &hex(&VICC_ATR))).await.unwrap();
    child.start_kill().unwrap();
    let output = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("Traceback"), "vicc failed:\n{stderr}");
    wait_for_removal(&mut reader).await;
    println!(
        "vicc's ePass through pcscd (KHIL_VICC_9303={}): khil's inspection:{}\npyscard BAC client:\n{}{}",
        u8::from(conformant),
        list(&inspection),
        pyscard.1,
        pyscard.2
    );
    Some(ViccRead { inspection, pyscard })
}

#[cfg(feature = "pcsc")]
fn status_of(r: &khil_mrtd::inspect::Inspection, name: &str) -> khil_mrtd::pa::Status {
    r.checks.iter().find(|c| c.name == name).map_or_else(|| panic!("no check {name}:{}", list(r)), |c| c.status.clone())
}

/// (2) khil's inspection reads vicc's ePass card (Debian vsmartcard-vpicc 3.3, `vicc -t ePass`, made to run on
/// Python 3 by ci/vicc-epass.patch) through pcscd, on vpcd's second slot. BAC passes: vicc derived the same keys
/// from the MRZ, verified khil's EIFD/MIFD, and khil verified vicc's EIC/MIC. vicc then accepts khil's protected
/// SELECT (its MAC over khil's SSC, header and DO'87' verifies, or it would answer 6988), but its protected
/// response has no DO'99' (9303-11 puts the status word in DO'99' under the MAC in every protected response;
/// ISO 7816-4's generic secure messaging, which vicc implements, leaves it out), and khil refuses the response,
/// naming the missing DO'99'. Nothing after that can be read, so passive authentication (no EF.SOD), chip and
/// active authentication (no DG14, DG15) and the MRZ comparison (no DG1) are not checked. The pyscard BAC client
/// (written from 9303-11) stops at the same place for the same reason.
#[cfg(feature = "pcsc")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn khil_inspects_vicc_epass_through_pcscd() {
    use khil_mrtd::pa::{Outcome, Status};

    let Some(ViccRead { inspection: r, pyscard }) = read_vicc_epass(false).await else { return };
    let l = list(&r);
    assert_eq!(r.access.as_deref(), Some("BAC"), "{l}");
    assert!(status_of(&r, "access control: BAC").passed(), "{l}");
    assert!(matches!(status_of(&r, "EF.COM"), Status::Failed(why) if why.contains("no data object 99")), "{l}");
    for name in ["passive authentication", "chip authentication", "active authentication", "MRZ on the page = DG1"] {
        assert!(matches!(status_of(&r, name), Status::NotChecked(_)), "{name}: {l}");
    }
    assert_eq!(r.outcome(), Outcome::Failed, "{l}");

    let (ok, stdout, stderr) = pyscard;
    assert!(!ok && stdout.contains("bac: ok"), "{stdout}{stderr}");
    assert!(stderr.contains("FAILED: protected response without DO99"), "{stdout}{stderr}");
}

/// (2, continued) The same with ci/vicc-epass-9303.patch's switch on (`KHIL_VICC_9303=1`): vicc's protected
/// responses carry DO'99' under the MAC and its EF.COM lists DG1 and DG2 as tags. khil then reads through vicc's
/// 3DES secure messaging (vicc's DO'87' decrypts, its MACs verify with khil's SSC): EF.COM passes, DG1 is read
/// (93 bytes) and its MRZ is the page's. vicc's EF.SOD is at 010D, not 011D, so selecting EF.SOD fails with 6A82
/// and passive authentication is not checked; its DG2 is an empty file (no portrait given), which khil names;
/// no DG14 or DG15, so chip and active authentication are not checked. The pyscard BAC client reads EF.COM and
/// DG1 and agrees.
#[cfg(feature = "pcsc")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn khil_inspects_vicc_epass_9303_through_pcscd() {
    use khil_mrtd::lds::FileId;
    use khil_mrtd::pa::{Outcome, Status};

    let Some(ViccRead { inspection: r, pyscard }) = read_vicc_epass(true).await else { return };
    let l = list(&r);
    assert_eq!(r.access.as_deref(), Some("BAC"), "{l}");
    for name in ["access control: BAC", "EF.COM", "MRZ on the page = DG1"] {
        assert!(status_of(&r, name).passed(), "{name}: {l}");
    }
    assert!(matches!(status_of(&r, "reading EF.SOD"), Status::Failed(why) if why.contains("6A82")), "{l}");
    assert!(status_of(&r, "reading DG2").failed(), "{l}");
    for name in ["passive authentication", "chip authentication", "active authentication"] {
        assert!(matches!(status_of(&r, name), Status::NotChecked(_)), "{name}: {l}");
    }
    assert_eq!(r.files_read, [(FileId::Com, 22), (FileId::Dg(1), 93)], "{l}");
    assert_eq!(r.outcome(), Outcome::Failed, "{l}");

    let (ok, stdout, stderr) = pyscard;
    assert!(ok, "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[2..],
        ["bac: ok, 3DES secure messaging", "EF.COM: 22 bytes, data group tags 6175", "DG1: 93 bytes, the MRZ matches"]
    );
}
