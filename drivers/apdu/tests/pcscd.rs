//! Through the real PC/SC stack: cards plugged into pcscd's vpcd, read by khil's PC/SC transport and by pyscard;
//! khil's PC/SC transport reading vicc, an independent card emulator.
//!
//! These tests share pcscd's vpcd slots, so nextest runs them one at a time (test group `vpcd` in
//! `.config/nextest.toml`). They skip with a printed reason when pcscd or a peer is missing, and fail instead under
//! `CI=true`.

mod common;

use std::process::Stdio;

use common::{EXCHANGES, TestCard};
use khil_apdu::Card;
use khil_apdu::vpcd::{VPCD_PORT, VpcdEndpoint};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// `card` plugged into vpcd's first slot (reader "Virtual PCD 00 00") until the sender is used or dropped.
fn plug_in(card: TestCard) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let endpoint = VpcdEndpoint::new(&format!("127.0.0.1:{VPCD_PORT}")).unwrap();
    assert_eq!(endpoint.client_url().to_string(), "pcsc://Virtual%20PCD%2000%2000");
    let server = tokio::spawn(async move {
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

/// (a) khil's card behind pcscd, khil's PC/SC transport in front: the exchanges, reset, and removal.
#[cfg(feature = "pcsc")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn khil_pcsc_reads_khil_card_through_pcscd() {
    use khil_apdu::pcsc::PcscTransport;

    if !khil_test_support::pcscd_with_vpcd(VPCD_PORT) {
        return;
    }
    let card = TestCard::new();
    let (log, atr) = (card.log(), card.atr());
    let (stop, server) = plug_in(card);
    let url: khil_link::DeviceUrl = "pcsc://Virtual%20PCD%2000%2000".parse().unwrap();
    let mut reader = khil_apdu::connect(&url, &khil_apdu::NoSimCards).await.unwrap();
    common::wait_for_card(reader.as_mut(), &atr).await;
    let resets = log.lock().unwrap().resets;
    assert!(resets >= 1, "pcscd powered the card up");
    common::exercise(reader.as_mut(), &log).await;
    // A reset through PC/SC reaches the card (vpcd's 02, or off and on) and gives its ATR again.
    assert_eq!(reader.reset().await.unwrap(), atr);
    assert!(log.lock().unwrap().resets > resets, "reset did not reach the card");

    // Taking the card out (closing the connection to vpcd) empties the reader.
    stop.send(()).unwrap();
    server.await.unwrap();
    common::wait_for_removal(reader.as_mut()).await;
    let e = reader.transmit_raw(&common::hex("0084000008")).await.unwrap_err();
    assert!(common::is_no_card(&e), "{e}");

    // The reader's name is checked on open.
    let e = PcscTransport::open("Virtual PCD 99 99").await.unwrap_err().to_string();
    assert!(e.contains("Virtual PCD 99 99") && e.contains("Virtual PCD 00 00"), "{e}");
}

/// (b) The same card read by pyscard, a PC/SC client khil did not write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyscard_reads_khil_card_through_pcscd() {
    if !khil_test_support::pcscd_with_vpcd(VPCD_PORT) {
        return;
    }
    let Some(python) = common::peer("KHIL_PEERS_PY", "python") else { return };
    let card = TestCard::new();
    let (log, atr) = (card.log(), card.atr());
    let atr_hex = atr.iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write;
        let _ = write!(s, "{b:02X}");
        s
    });
    let (stop, server) = plug_in(card);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/pyscard_client.py");
    let output = tokio::process::Command::new(python)
        .arg(script)
        .arg("Virtual PCD 00 00")
        .arg(&atr_hex)
        .args(EXCHANGES.iter().map(|(apdu, _, _)| *apdu))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    stop.send(()).unwrap();
    server.await.unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "pyscard: {}\n{stdout}{}", output.status, String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), EXCHANGES.len(), "{stdout}");
    for (line, (apdu, sw, len)) in lines.iter().zip(EXCHANGES) {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 3, "{line}");
        assert_eq!(fields[0], *apdu);
        assert_eq!(fields[2], format!("{sw:04X}"), "{line}");
        let data_len = if fields[1] == "-" { 0 } else { fields[1].len() / 2 };
        assert_eq!(data_len, *len, "{line}");
    }
    // pyscard's commands reached the card, the malformed one excepted.
    assert_eq!(log.lock().unwrap().instructions, vec![0xA4, 0xA4, 0x84, 0x84, 0xFF, 0xA4]);
}

/// (c) khil's PC/SC transport against vicc (vsmartcard's Python card emulator, `-t iso7816`) on vpcd's second slot.
/// vicc's ISO 7816 card is an empty MF: SELECT MF works, READ BINARY has no current EF, files are not found.
#[cfg(feature = "pcsc")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn khil_pcsc_reads_vicc() {
    use khil_apdu::{ApduTransport, Command, StatusWord};

    /// vicc's ATR for `-t iso7816` (T=1), as it sends it; checked, so the card read is vicc's.
    const VICC_ATR: &str = "3B951381018073FF01000B";
    let port = VPCD_PORT + 1;
    if !khil_test_support::pcscd_with_vpcd(port) {
        return;
    }
    let Some(vicc) = common::peer("KHIL_PEERS_VICC", "vicc") else { return };
    let mut child = tokio::process::Command::new(vicc)
        .args(["-t", "iso7816", "-H", "127.0.0.1", "-P", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let reader_name = khil_apdu::vpcd::reader_for_port(port).unwrap();
    let mut reader = khil_apdu::pcsc::PcscTransport::open(&reader_name).await.unwrap();
    common::wait_for_card(&mut reader, &common::hex(VICC_ATR)).await;

    let mut send = async |apdu: &str| {
        let r = reader.transmit(&Command::parse(&common::hex(apdu)).unwrap()).await.unwrap();
        (r.sw, r.into_data())
    };
    assert_eq!(send("00A4000C023F00").await, (StatusWord::SUCCESS, vec![]), "SELECT MF");
    assert_eq!(send("00B0000010").await, (StatusWord::NO_CURRENT_EF, vec![]), "READ BINARY, no EF selected");
    assert_eq!(send("00B0810010").await, (StatusWord::FILE_NOT_FOUND, vec![]), "READ BINARY by SFI 1");
    assert_eq!(send("00A4020C020101").await, (StatusWord::FILE_NOT_FOUND, vec![]), "SELECT EF 0101");
    assert_eq!(send("00FF0000").await, (StatusWord::INS_NOT_SUPPORTED, vec![]), "unknown INS");
    let (sw, first) = send("0084000008").await;
    let (_, second) = send("0084000008").await;
    assert_eq!((sw, first.len()), (StatusWord::SUCCESS, 8), "GET CHALLENGE");
    assert_ne!(first, second, "vicc's challenges differ");
    assert_eq!(reader.reset().await.unwrap(), common::hex(VICC_ATR));

    child.start_kill().unwrap();
    let output = child.wait_with_output().await.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("Traceback"), "vicc failed:\n{stderr}");
    common::wait_for_removal(&mut reader).await;
}
