//! Line-rate pacing on tokio's paused clock: exact, and no wall time spent.

use std::time::Duration;

use khil_link::{LineRate, Paced, memory_pair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

const SIZE: usize = 64 * 1024;

/// Time for 64 KiB to cross a paced link, measured at the receiver.
async fn transfer_time(rate: LineRate, pace_rx: bool) -> Duration {
    let (a, b) = memory_pair();
    let data: Vec<u8> = (0..SIZE).map(|i| (i * 7) as u8).collect();
    let start = Instant::now();
    let (sent, received) = if pace_rx {
        let mut rx = Paced::both(b, rate);
        let mut tx = a;
        let w = tokio::spawn({
            let data = data.clone();
            async move { tx.write_all(&data).await.unwrap() }
        });
        let mut got = vec![0; SIZE];
        rx.read_exact(&mut got).await.unwrap();
        w.await.unwrap();
        (data, got)
    } else {
        let mut tx = Paced::tx(a, rate);
        let mut rx = b;
        let w = tokio::spawn({
            let data = data.clone();
            async move { tx.write_all(&data).await.unwrap() }
        });
        let mut got = vec![0; SIZE];
        rx.read_exact(&mut got).await.unwrap();
        w.await.unwrap();
        (data, got)
    };
    assert!(sent == received, "pacing changed the bytes");
    start.elapsed()
}

fn assert_line_rate(rate: LineRate, elapsed: Duration) {
    let line = rate.time_for(SIZE as u64);
    let ratio = elapsed.as_secs_f64() / line.as_secs_f64();
    assert!(elapsed >= line, "{} baud: 64 KiB took {elapsed:?}, faster than the line's {line:?}", rate.baud);
    assert!(ratio <= 1.02, "{} baud: 64 KiB took {elapsed:?}, {ratio:.4} x the line's {line:?}", rate.baud);
}

#[tokio::test(start_paused = true)]
async fn writes_at_9600_take_the_line_time() {
    let rate = LineRate::new(9600);
    assert_line_rate(rate, transfer_time(rate, false).await);
}

#[tokio::test(start_paused = true)]
async fn writes_at_115200_take_the_line_time() {
    let rate = LineRate::new(115_200);
    assert_line_rate(rate, transfer_time(rate, false).await);
}

#[tokio::test(start_paused = true)]
async fn reads_at_9600_take_the_line_time() {
    let rate = LineRate::new(9600);
    assert_line_rate(rate, transfer_time(rate, true).await);
}

#[tokio::test(start_paused = true)]
async fn reads_at_115200_take_the_line_time() {
    let rate = LineRate::new(115_200);
    assert_line_rate(rate, transfer_time(rate, true).await);
}

#[tokio::test(start_paused = true)]
async fn framing_counts_parity_and_stop_bits() {
    let rate = LineRate { baud: 57600, framing: "8E2".parse().unwrap() };
    assert_eq!(rate.time_for(SIZE as u64), Duration::from_nanos((SIZE as u64 * 12 * 1_000_000_000).div_ceil(57600)));
    assert_line_rate(rate, transfer_time(rate, false).await);
}

/// An idle line saves up no credit: after a pause, a burst still leaves at line rate.
#[tokio::test(start_paused = true)]
async fn idle_line_does_not_burst() {
    let rate = LineRate::new(9600);
    let (a, mut b) = memory_pair();
    let mut tx = Paced::tx(a, rate);
    tx.write_all(&[1]).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let start = Instant::now();
    tokio::spawn(async move { tx.write_all(&[2; 100]).await.unwrap() });
    let mut got = [0u8; 101];
    b.read_exact(&mut got).await.unwrap();
    assert!(start.elapsed() >= rate.time_for(100), "burst after idle took only {:?}", start.elapsed());
}

/// A single byte is not delivered before its stop bit would have arrived.
#[tokio::test(start_paused = true)]
async fn single_byte_latency_is_one_character_time() {
    let rate = LineRate::new(9600);
    let (a, mut b) = memory_pair();
    let mut tx = Paced::tx(a, rate);
    let start = Instant::now();
    tx.write_all(&[0xAA]).await.unwrap();
    let mut got = [0u8; 1];
    b.read_exact(&mut got).await.unwrap();
    // tokio's timer rounds deadlines up to the next millisecond.
    let elapsed = start.elapsed();
    assert!(elapsed >= rate.time_for(1) && elapsed <= rate.time_for(1) + Duration::from_millis(1), "{elapsed:?}");
}
