//! The fault-injecting link: every fault kind does what its spec says, reproducibly.

use std::time::Duration;

use khil_link::fault::{Direction, FaultKind, Trigger};
use khil_link::{Fault, FaultLink, memory_pair};
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout};

fn faults(specs: &[&str]) -> Vec<Fault> {
    specs.iter().map(|s| s.parse().unwrap_or_else(|e| panic!("{e}"))).collect()
}

/// Sends `data` through a link whose receiving side has the faults; returns what the receiver read until
/// EOF or a 1 s (paused-clock) silence, and the fault log.
async fn through_rx(
    specs: &[&str],
    seed: u64,
    data: &[u8],
    chunk: usize,
) -> (Vec<u8>, Vec<khil_link::fault::FaultEvent>) {
    let (mut a, b) = memory_pair();
    let mut rx = FaultLink::new(b, &faults(specs), seed);
    let log = rx.log();
    let data = data.to_vec();
    let writer = tokio::spawn(async move {
        for c in data.chunks(chunk) {
            a.write_all(c).await.unwrap();
            tokio::task::yield_now().await;
        }
        a
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 333];
    while let Ok(Ok(n)) = timeout(Duration::from_secs(1), rx.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    drop(writer);
    (got, log.events())
}

/// Same, with the faults on the sending side.
async fn through_tx(specs: &[&str], seed: u64, data: &[u8]) -> Vec<u8> {
    let (a, mut b) = memory_pair();
    let mut tx = FaultLink::new(a, &faults(specs), seed);
    let data = data.to_vec();
    tokio::spawn(async move {
        let _ = tx.write_all(&data).await;
        let _ = tx.flush().await;
        tokio::time::sleep(Duration::from_hours(1)).await;
        drop(tx);
    });
    let mut got = Vec::new();
    let mut buf = [0u8; 333];
    while let Ok(Ok(n)) = timeout(Duration::from_secs(1), b.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    got
}

fn data() -> Vec<u8> {
    (0..=255u8).collect()
}

#[tokio::test(start_paused = true)]
async fn drop_loses_exactly_that_byte() {
    let (got, log) = through_rx(&["drop:at=3"], 1, &data(), 64).await;
    let mut want = data();
    want.remove(3);
    assert_eq!(got, want);
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].dir, log[0].offset, log[0].fault.as_str()), (Direction::Rx, 3, "drop:at=3"));
}

#[tokio::test(start_paused = true)]
async fn flip_inverts_one_bit() {
    let (got, _) = through_rx(&["flip:at=10"], 1, &data(), 64).await;
    assert_eq!(got.len(), 256);
    let diffs: Vec<usize> = (0..256).filter(|&i| got[i] != data()[i]).collect();
    assert_eq!(diffs, [10]);
    assert_eq!((got[10] ^ data()[10]).count_ones(), 1);
}

#[tokio::test(start_paused = true)]
async fn dup_repeats_the_byte() {
    let (got, _) = through_rx(&["dup:every=100"], 1, &data(), 64).await;
    let mut want = data();
    want.insert(199, 199);
    want.insert(99, 99);
    assert_eq!(got, want);
}

#[tokio::test(start_paused = true)]
async fn garbage_inserts_len_bytes_before() {
    let (got, _) = through_rx(&["garbage:at=1,len=4"], 1, &data(), 64).await;
    assert_eq!(got.len(), 260);
    assert_eq!(got[0], 0);
    assert_eq!(&got[5..], &data()[1..]);
}

#[tokio::test(start_paused = true)]
async fn delay_holds_the_rest_back() {
    let (a, b) = memory_pair();
    let mut rx = FaultLink::new(b, &faults(&["delay:at=5,ms=300"]), 1);
    let mut a = a;
    a.write_all(&data()).await.unwrap();
    let start = Instant::now();
    let mut first = [0u8; 5];
    rx.read_exact(&mut first).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
    let mut rest = [0u8; 251];
    rx.read_exact(&mut rest).await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(300), "{:?}", start.elapsed());
    assert_eq!(&rest[..], &data()[5..]);
}

#[tokio::test(start_paused = true)]
async fn stall_forever_silences_the_line() {
    let (got, _) = through_rx(&["stall:at=7"], 1, &data(), 64).await;
    assert_eq!(got, &data()[..7]);
}

#[tokio::test(start_paused = true)]
async fn stall_for_ms_resumes() {
    let (got, _) = through_rx(&["stall:at=7,ms=200"], 1, &data(), 64).await;
    assert_eq!(got, data());
}

/// `close` ends the reader's stream at that byte and closes the link under it, so the peer sees it too.
#[tokio::test(start_paused = true)]
async fn close_drops_the_line_for_both_ends() {
    let (mut a, b) = memory_pair();
    let mut rx = FaultLink::new(b, &faults(&["close:at=5"]), 1);
    a.write_all(&data()).await.unwrap();
    let mut got = Vec::new();
    rx.read_to_end(&mut got).await.unwrap();
    assert_eq!(got, &data()[..5]);
    let e = rx.write_all(b"x").await.unwrap_err();
    assert!(khil_link::is_peer_closed(&e));
    // The writer's peer is gone now.
    let mut buf = [0u8; 4];
    assert_eq!(a.read(&mut buf).await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn tx_faults_apply_to_written_bytes_only() {
    assert_eq!(through_tx(&["drop:at=0,dir=tx"], 1, &data()).await, &data()[1..]);
    let (got, log) = through_rx(&["drop:at=0,dir=tx"], 1, &data(), 64).await;
    assert_eq!(got, data(), "a tx fault touched received bytes");
    assert!(log.is_empty());
    let got = through_tx(&["close:at=10,dir=tx"], 1, &data()).await;
    assert_eq!(got, &data()[..10]);
}

/// Same seed, same bytes: same faults, however the bytes were chunked. Another seed: other faults.
#[tokio::test(start_paused = true)]
async fn seeded_and_chunking_invariant() {
    let specs = ["flip:p=0.05", "drop:p=0.02", "garbage:p=0.01,len=3", "dup:p=0.02"];
    let input: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();
    let (one, log1) = through_rx(&specs, 42, &input, 1).await;
    let (big, log2) = through_rx(&specs, 42, &input, 4000).await;
    let (mid, _) = through_rx(&specs, 42, &input, 97).await;
    assert_eq!(one, big);
    assert_eq!(one, mid);
    assert_eq!(log1, log2);
    let (other, _) = through_rx(&specs, 43, &input, 97).await;
    assert_ne!(one, other);
    // Rates are what was asked for, roughly (4000 bytes; binomial bounds far outside 5 sigma).
    let count = |k: &str| log1.iter().filter(|e| e.fault.starts_with(k)).count();
    assert!((120..=290).contains(&count("flip")), "flips {}", count("flip"));
    assert!((40..=130).contains(&count("drop")), "drops {}", count("drop"));
}

#[test]
fn spec_errors_name_the_part() {
    for (spec, part, expected) in [
        ("zap:p=1", "kind", "drop, flip"),
        ("flip", "trigger", "p=<probability>"),
        ("flip:p=2", "p", "probability"),
        ("flip:p=0.1,at=3", "at", "exactly one trigger"),
        ("drop:every=0", "every", "at least 1"),
        ("drop:at=x", "at", "byte offset"),
        ("drop:at=1,dir=up", "dir", "rx, tx or both"),
        ("drop:at=1,len=3", "len", "only garbage"),
        ("flip:at=1,ms=3", "ms", "only delay and stall"),
        ("drop:at", "at", "key=value"),
        ("drop:at=1,speed=2", "speed", "one of p, at"),
    ] {
        let e = spec.parse::<Fault>().expect_err(spec);
        assert_eq!(e.part, part, "{spec}: {e}");
        assert!(e.expected.contains(expected), "{spec}: {e}");
        assert!(e.to_string().contains(spec) && e.to_string().contains("example:"), "{e}");
    }
}

fn fault() -> impl Strategy<Value = Fault> {
    let kind = prop_oneof![
        Just(FaultKind::Drop),
        Just(FaultKind::Flip),
        Just(FaultKind::Duplicate),
        (1usize..4096).prop_map(|len| FaultKind::Garbage { len }),
        any::<u64>().prop_map(|ms| FaultKind::Delay { ms }),
        proptest::option::of(any::<u64>()).prop_map(|ms| FaultKind::Stall { ms }),
        Just(FaultKind::Close),
    ];
    let trigger = prop_oneof![
        (0.0f64..=1.0).prop_map(Trigger::Probability),
        any::<u64>().prop_map(Trigger::At),
        (1u64..).prop_map(Trigger::Every),
    ];
    let dir = prop_oneof![Just(Direction::Rx), Just(Direction::Tx), Just(Direction::Both)];
    (kind, trigger, dir).prop_map(|(kind, trigger, dir)| Fault { kind, trigger, dir })
}

proptest! {
    #[test]
    fn spec_round_trips(f in fault()) {
        prop_assert_eq!(f.to_string().parse::<Fault>().unwrap(), f);
    }

    #[test]
    fn spec_parser_never_panics(s in "[a-z]{0,8}(:[a-z=0-9.,]{0,30})?") {
        let _ = s.parse::<Fault>();
    }
}
