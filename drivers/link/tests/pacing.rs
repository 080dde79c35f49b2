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

/// A request and its answer (an OSDP poll: 15 bytes each way) cost their line time, not whole timer ticks:
/// 500 exchanges at 115200 baud take at least their line time and less than 1.05 x it. The answer is written
/// the moment the request is in, so on a real line the exchanges follow each other back to back.
#[tokio::test(start_paused = true)]
async fn exchanges_cost_their_line_time_not_timer_ticks() {
    const EXCHANGES: u32 = 500;
    let rate = LineRate::new(115_200);
    let (mut host, device) = memory_pair();
    let mut device = Paced::both(device, rate);
    tokio::spawn(async move {
        let mut request = [0u8; 15];
        while device.read_exact(&mut request).await.is_ok() {
            let answer = request.map(|b| !b);
            if device.write_all(&answer).await.is_err() {
                break;
            }
        }
    });
    let start = Instant::now();
    for i in 0..EXCHANGES {
        let sent = Instant::now();
        host.write_all(&[i as u8; 15]).await.unwrap();
        let mut answer = [0u8; 15];
        host.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer, [!(i as u8); 15], "exchange {i}");
        // The line may be up to a timer tick behind the wall clock, never more.
        let took = sent.elapsed();
        assert!(took + Duration::from_millis(1) >= rate.time_for(30), "exchange {i} took {took:?}");
    }
    let elapsed = start.elapsed();
    let line = rate.time_for(u64::from(EXCHANGES) * 30);
    let ratio = elapsed.as_secs_f64() / line.as_secs_f64();
    assert!(elapsed >= line, "{EXCHANGES} exchanges took {elapsed:?}, faster than the line's {line:?}");
    assert!(ratio < 1.05, "{EXCHANGES} exchanges took {elapsed:?}, {ratio:.3} x the line's {line:?}");
}

/// However a writer chunks its bytes and pauses between them, and whichever side is paced, the k-th byte never
/// arrives before k character times after the first write.
fn no_byte_before_its_line_time(baud: u32, chunks: &[(usize, u64)], pace_rx: bool) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    rt.block_on(async {
        let rate = LineRate::new(baud);
        let (a, b) = memory_pair();
        let total: usize = chunks.iter().map(|c| c.0).sum();
        let (mut writer, mut reader): (Box<dyn khil_link::Link>, Box<dyn khil_link::Link>) = if pace_rx {
            (Box::new(a), Box::new(Paced::both(b, rate)))
        } else {
            (Box::new(Paced::tx(a, rate)), Box::new(b))
        };
        let chunks = chunks.to_vec();
        let first_write = Instant::now();
        tokio::spawn(async move {
            for (len, pause_us) in chunks {
                writer.write_all(&vec![0x5A; len]).await.unwrap();
                tokio::time::sleep(Duration::from_micros(pause_us)).await;
            }
            tokio::time::sleep(Duration::from_hours(1)).await;
        });
        let mut received = 0usize;
        let mut buf = [0u8; 512];
        while received < total {
            let n = reader.read(&mut buf).await.unwrap();
            received += n;
            let at = first_write.elapsed();
            let line = rate.time_for(received as u64);
            if at < line {
                return Err(format!("{received} bytes at {baud} baud arrived after {at:?}, the line needs {line:?}"));
            }
        }
        Ok(())
    })
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(48))]

    #[test]
    fn no_byte_arrives_before_its_line_time(
        baud in proptest::sample::select(vec![9600u32, 57_600, 115_200, 1_000_000]),
        chunks in proptest::collection::vec((1usize..300, 0u64..4000), 1..25),
        pace_rx in proptest::bool::ANY,
    ) {
        if let Err(e) = no_byte_before_its_line_time(baud, &chunks, pace_rx) {
            proptest::prop_assert!(false, "{}", e);
        }
    }
}
