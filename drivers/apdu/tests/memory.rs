//! The in-memory reader: the test card's exchanges, card insertion and removal, reset, power-up on first use, and
//! the URL seam.

mod common;

use common::{TestCard, exercise, is_no_card};
use khil_apdu::{ApduTransport, Card, NoSimCards, connect, memory_pair};

#[tokio::test]
async fn the_test_card_in_memory() {
    let card = TestCard::new();
    let (log, atr) = (card.log(), card.atr());
    let (mut reader, _slot) = memory_pair(card);
    assert!(reader.card_present().await.unwrap());
    exercise(&mut reader, &log).await;
    // Powered (reset) once, by the first exchange, as PC/SC powers a card on connect.
    assert_eq!(log.lock().unwrap().resets, 1);
    assert_eq!(reader.reset().await.unwrap(), atr);
    assert_eq!(log.lock().unwrap().resets, 2);
}

#[tokio::test]
async fn cards_come_and_go() {
    let first = TestCard::new();
    let first_log = first.log();
    let (mut reader, slot) = memory_pair(first);
    reader.transmit_raw(&common::hex("00A4040C07A0000002471001")).await.unwrap();
    assert!(slot.remove().is_some());
    assert!(!reader.card_present().await.unwrap());
    let e = reader.transmit_raw(&common::hex("0084000008")).await.unwrap_err();
    assert!(is_no_card(&e), "{e}");
    assert!(e.to_string().contains("no card"), "{e}");
    assert!(is_no_card(&reader.reset().await.unwrap_err()));

    let second = TestCard::new();
    let (second_log, second_atr) = (second.log(), second.atr());
    slot.insert(second);
    assert!(reader.card_present().await.unwrap());
    let answer = reader.transmit_raw(&common::hex("0084000008")).await.unwrap();
    assert_eq!(answer.len(), 10);
    assert_eq!(second_log.lock().unwrap().resets, 1, "an inserted card is powered by its first exchange");
    assert_eq!(reader.reset().await.unwrap(), second_atr);
    assert_eq!(first_log.lock().unwrap().instructions, vec![0xA4], "the first card saw nothing after removal");
}

/// Byte-stream URLs are not APDU devices; `sim:` needs the binary's registry; `pcsc://` says how to get PC/SC
/// when the feature is off.
#[tokio::test]
async fn urls_name_the_transport_they_need() {
    let refuse = async |url: &str| match connect(&url.parse().unwrap(), &NoSimCards).await {
        Ok(_) => panic!("{url} opened"),
        Err(e) => e.to_string(),
    };
    let e = refuse("serial:///dev/ttyUSB0").await;
    assert!(e.contains("serial:///dev/ttyUSB0") && e.contains("byte-stream") && e.contains("pcsc://"), "{e}");
    let e = refuse("sim:emrtd-chip").await;
    assert!(e.contains("sim:emrtd-chip") && e.contains("card simulator"), "{e}");
    #[cfg(not(feature = "pcsc"))]
    {
        let e = refuse("pcsc://Virtual%20PCD%2000%2000").await;
        assert!(e.contains("pcsc://Virtual%20PCD%2000%2000") && e.contains("--features pcsc"), "{e}");
    }
    #[cfg(feature = "pcsc")]
    {
        // With PC/SC: a reader that does not exist is named, with the readers that do (or why none could be
        // listed, when pcscd is not running).
        let e = refuse("pcsc://No%20Such%20Reader%2099").await;
        assert!(e.contains("No Such Reader 99"), "{e}");
    }
}
