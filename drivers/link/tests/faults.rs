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
        ("drop:at=x", "at", "offset in bytes"),
        ("drop:at=1,dir=up", "dir", "rx, tx or both"),
        ("drop:at=1,len=3", "len", "only garbage"),
        ("flip:at=1,ms=3", "ms", "only delay and stall"),
        ("drop:at", "at", "key=value"),
        ("drop:at=1,speed=2", "speed", "one of p, at, every, dir, len, ms"),
        ("drop:at=1,at=2", "at", "each key once"),
        ("drop:at=1,dir=rx,dir=tx", "dir", "each key once"),
        ("garbage:at=1,len=x", "len", "a byte count"),
    ] {
        let e = spec.parse::<Fault>().expect_err(spec);
        assert_eq!(e.part, part, "{spec}: {e}");
        assert!(e.expected.contains(expected), "{spec}: {e}");
        assert!(e.to_string().contains(spec) && e.to_string().contains("example:"), "{e}");
    }
}

/// The shared trigger grammar on its own: parses, prints, and refuses with the part named.
#[test]
fn triggers_parse_print_and_refuse() {
    for (text, trigger) in
        [("p=0.25", Trigger::Probability(0.25)), ("at=0", Trigger::At(0)), ("every=7", Trigger::Every(7))]
    {
        assert_eq!(text.parse::<Trigger>().unwrap(), trigger);
        assert_eq!(trigger.to_string(), text);
    }
    for (text, part, expected) in [
        ("", "trigger", "p=<probability>"),
        ("p=-0.1", "p", "probability from 0 to 1"),
        ("p=NaN", "p", "probability from 0 to 1"),
        ("every=0", "every", "at least 1"),
        ("at=-1", "at", "offset in units (counting from 0)"),
        ("p=0.5,every=2", "every", "exactly one trigger"),
        ("ms=3", "ms", "expected one of p, at, every"),
    ] {
        let e = text.parse::<Trigger>().expect_err(text);
        assert_eq!((e.part.as_str(), e.spec.as_str()), (part, text), "{e}");
        assert!(e.expected.contains(expected), "{text}: {e}");
    }
}

/// `at` fires once, `every` on each n-th unit, and they draw nothing; a probabilistic trigger draws exactly one
/// number whether it fires or not, so streams stay aligned with the units.
#[test]
fn triggers_fire_on_their_units_and_draw_once() {
    let mut rng = Trigger::rng(5, 9);
    let fired =
        |t: Trigger, rng: &mut rand_chacha::ChaCha8Rng| (0..10).filter(|&n| t.fires(n, rng)).collect::<Vec<u64>>();
    assert_eq!(fired(Trigger::At(3), &mut rng), [3]);
    assert_eq!(fired(Trigger::Every(4), &mut rng), [3, 7]);
    assert_eq!(rng, Trigger::rng(5, 9), "a counting trigger drew from the stream");
    let mut reference = Trigger::rng(5, 9);
    for n in 0..100 {
        assert!(Trigger::Probability(1.0).fires(n, &mut rng));
        assert!(!Trigger::Probability(0.0).fires(n, &mut rng));
        let _: [u64; 2] = [rand::RngExt::random(&mut reference), rand::RngExt::random(&mut reference)];
    }
    assert_eq!(rng, reference, "p=0 and p=1 must each draw one number");
    // Another stream of the same seed draws other numbers.
    let hits = |stream| {
        let mut rng = Trigger::rng(5, stream);
        (0..2000).filter(|&n| Trigger::Probability(0.5).fires(n, &mut rng)).collect::<Vec<u64>>()
    };
    assert_ne!(hits(1), hits(2));
    assert!((850..=1150).contains(&hits(1).len()), "{} of 2000 at p=0.5", hits(1).len());
}

fn trigger() -> impl Strategy<Value = Trigger> {
    prop_oneof![
        (0.0f64..=1.0).prop_map(Trigger::Probability),
        prop_oneof![Just(0.0), Just(1.0), Just(1e-300), Just(f64::MIN_POSITIVE)].prop_map(Trigger::Probability),
        any::<u64>().prop_map(Trigger::At),
        (1u64..).prop_map(Trigger::Every),
    ]
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
    let dir = prop_oneof![Just(Direction::Rx), Just(Direction::Tx), Just(Direction::Both)];
    (kind, trigger(), dir).prop_map(|(kind, trigger, dir)| Fault { kind, trigger, dir })
}

proptest! {
    #[test]
    fn spec_round_trips(f in fault()) {
        prop_assert_eq!(f.to_string().parse::<Fault>().unwrap(), f);
    }

    #[test]
    fn trigger_round_trips(t in trigger()) {
        prop_assert_eq!(t.to_string().parse::<Trigger>().unwrap(), t);
    }

    #[test]
    fn spec_parser_never_panics(s in "[a-z]{0,8}(:[a-z=0-9.,e+-]{0,30})?", any in "\\PC{0,40}") {
        let _ = s.parse::<Fault>();
        let _ = any.parse::<Fault>();
        let _ = s.split_once(':').map_or(s.as_str(), |(_, a)| a).parse::<Trigger>();
        let _ = any.parse::<Trigger>();
    }

    /// Whatever the trigger (even one built by hand with an out-of-range probability or a zero period),
    /// firing never panics.
    #[test]
    fn firing_never_panics(p in any::<f64>(), n in any::<u64>(), k in any::<u64>()) {
        let mut rng = Trigger::rng(k, n);
        for t in [Trigger::Probability(p), Trigger::At(k), Trigger::Every(k)] {
            let _ = t.fires(n, &mut rng);
        }
    }
}
