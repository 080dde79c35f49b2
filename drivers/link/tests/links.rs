//! One set of test bodies, run against every kind of link (the ripgrep pattern): each backend makes a
//! connected (client, device) pair, and each body must pass on all of them.

use std::time::Duration;

use khil_link::url::DeviceUrl;
use khil_link::{
    BoxLink, ClientClose, Endpoint, NoSimulators, Normalized, PtyDevice, connect, is_peer_closed, memory_pair,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::timeout;

const LIMIT: Duration = Duration::from_secs(10);

fn memory() -> (BoxLink, BoxLink) {
    let (a, b) = memory_pair();
    (Box::new(Normalized::new(a)), Box::new(Normalized::new(b)))
}

async fn tcp() -> (BoxLink, BoxLink) {
    let mut endpoint = Endpoint::tcp("127.0.0.1:0").await.unwrap();
    let url = endpoint.client_url();
    let (client, device) = tokio::join!(connect(&url, None, &NoSimulators), endpoint.accept());
    (client.unwrap(), device.unwrap())
}

/// The device side in `Eof` mode so that a client leaving is visible; simulators use `Wire`.
async fn pty() -> (BoxLink, BoxLink) {
    let device = PtyDevice::open(ClientClose::Eof).unwrap();
    let client = connect(&device.client_url(), Some(115_200), &NoSimulators).await.unwrap();
    (client, Box::new(Normalized::new(device)))
}

/// Reads exactly `n` bytes or fails the test after `LIMIT`.
async fn read_n(link: &mut BoxLink, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    timeout(LIMIT, link.read_exact(&mut buf)).await.expect("timed out reading").expect("read failed");
    buf
}

/// Every byte value, many times over, both ways at once, arrives unchanged and in order.
async fn byte_transparency((mut client, mut device): (BoxLink, BoxLink)) {
    let pattern: Vec<u8> = (0..64).flat_map(|i: u32| (0..=255u8).map(move |b| b.wrapping_add(i as u8))).collect();
    let up = pattern.clone();
    let down: Vec<u8> = pattern.iter().rev().copied().collect();
    let expect_down = down.clone();
    let device_task = tokio::spawn(async move {
        let got = read_n(&mut device, up.len()).await;
        device.write_all(&down).await.unwrap();
        device.flush().await.unwrap();
        (got, device)
    });
    client.write_all(&pattern).await.unwrap();
    client.flush().await.unwrap();
    let got_down = read_n(&mut client, expect_down.len()).await;
    let (got_up, _device) = device_task.await.unwrap();
    assert!(got_up == pattern, "client -> device bytes changed");
    assert!(got_down == expect_down, "device -> client bytes changed");
}

async fn handshake(client: &mut BoxLink, device: &mut BoxLink) {
    client.write_all(b"hi").await.unwrap();
    assert_eq!(read_n(device, 2).await, b"hi");
    device.write_all(b"ok").await.unwrap();
    assert_eq!(read_n(client, 2).await, b"ok");
}

/// Writes until the link reports the peer gone; returns that error.
async fn write_until_error(link: &mut BoxLink) -> std::io::Error {
    for _ in 0..200 {
        if let Err(e) = link.write_all(&[0x55; 64]).await {
            return e;
        }
        if let Err(e) = link.flush().await {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("writes kept succeeding after the peer closed");
}

/// The client leaves: the device reads EOF, and its writes fail with the one peer-closed error.
async fn device_sees_client_close((mut client, mut device): (BoxLink, BoxLink)) {
    handshake(&mut client, &mut device).await;
    drop(client);
    let mut buf = [0u8; 16];
    let n = timeout(LIMIT, device.read(&mut buf)).await.expect("no EOF").expect("read error instead of EOF");
    assert_eq!(n, 0, "expected EOF");
    let e = write_until_error(&mut device).await;
    assert!(is_peer_closed(&e) && e.kind() == std::io::ErrorKind::BrokenPipe, "{e:?}");
    assert!(matches!(khil_link::LinkError::from(e), khil_link::LinkError::PeerClosed));
}

/// The device leaves: the client reads EOF, and its writes fail with the one peer-closed error.
async fn client_sees_device_close((mut client, mut device): (BoxLink, BoxLink)) {
    handshake(&mut client, &mut device).await;
    drop(device);
    let mut buf = [0u8; 16];
    let n = timeout(LIMIT, client.read(&mut buf)).await.expect("no EOF").expect("read error instead of EOF");
    assert_eq!(n, 0, "expected EOF");
    let e = write_until_error(&mut client).await;
    assert!(is_peer_closed(&e) && e.kind() == std::io::ErrorKind::BrokenPipe, "{e:?}");
}

macro_rules! every_link {
    ($($body:ident),* $(,)?) => {
        mod memory_link { $( #[tokio::test] async fn $body() { super::$body(super::memory()).await } )* }
        mod tcp_link { $( #[tokio::test] async fn $body() { super::$body(super::tcp().await).await } )* }
        mod pty_link { $( #[tokio::test] async fn $body() { super::$body(super::pty().await).await } )* }
    };
}

every_link!(byte_transparency, device_sees_client_close, client_sees_device_close);

/// A simulator's pty outlives its clients: a second client gets a clean line, and what the device said
/// while nobody listened is lost, as on a real wire.
#[tokio::test]
async fn pty_wire_mode_serves_client_after_client() {
    let pty = PtyDevice::open(ClientClose::Wire).unwrap();
    let dev_url = pty.client_url();
    let mut device: BoxLink = Box::new(pty);
    for round in 0..3u8 {
        let mut client = connect(&dev_url, None, &NoSimulators).await.unwrap();
        handshake(&mut client, &mut device).await;
        client.write_all(&[round]).await.unwrap();
        assert_eq!(read_n(&mut device, 1).await, [round]);
        drop(client);
        // Nobody is listening now: this must not reach the next client.
        tokio::time::sleep(Duration::from_millis(20)).await;
        device.write_all(b"lost").await.unwrap();
    }
}

/// CPU time this process has used (user + system), from `/proc/self/stat` in clock ticks of 10 ms.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    // After the command name (which may hold spaces) come the state, field 3, ...; utime and stime are 14 and 15.
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    let ticks = |i: usize| fields[i].parse::<u64>().unwrap();
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// A device waiting for its client's next bytes sleeps until they come: no loop of empty reads. (A master that
/// tokio had seen without a client kept tokio's "read closed" mark and spun, a core per waiting simulator.) The
/// device reads before any client is there, as a simulator does, and again after a client has come and gone.
#[tokio::test]
async fn a_pty_device_waiting_for_its_client_uses_no_cpu() {
    let pty = PtyDevice::open(ClientClose::Wire).unwrap();
    let url = pty.client_url();
    let mut device: BoxLink = Box::new(pty);
    for session in 0..2u8 {
        let first = tokio::spawn(async move {
            let got = read_n(&mut device, 1).await;
            (got, device)
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut client = connect(&url, None, &NoSimulators).await.unwrap();
        client.write_all(&[session]).await.unwrap();
        let (got, back) = first.await.unwrap();
        device = back;
        assert_eq!(got, [session]);
        let waiting = tokio::spawn(async move {
            let got = read_n(&mut device, 1).await;
            (got, device)
        });
        let before = cpu_time();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let used = cpu_time().saturating_sub(before);
        client.write_all(&[session + 10]).await.unwrap();
        let (got, back) = waiting.await.unwrap();
        device = back;
        assert_eq!(got, [session + 10]);
        assert!(used < Duration::from_millis(150), "session {session}: waiting 500 ms took {used:?} of CPU");
    }
}

/// A client that opens the path without touching termios (plain open(2)) still gets a raw line: no echo,
/// no CR/LF translation, no signals from 0x03.
#[tokio::test]
async fn pty_slave_is_raw_for_plain_open() {
    let device = PtyDevice::open(ClientClose::Eof).unwrap();
    let path = device.slave_path().to_owned();
    let mut device: BoxLink = Box::new(Normalized::new(device));
    let special = [0x00, 0x03, 0x04, 0x0D, 0x0A, 0x11, 0x13, 0x1A, 0x7F, 0xFF];
    // A blocking client on its own thread: open(2), write, then read the device's reply.
    let client = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut f = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
        f.write_all(&special).unwrap();
        let mut back = [0u8; 10];
        f.read_exact(&mut back).unwrap();
        back
    });
    assert_eq!(read_n(&mut device, special.len()).await, special);
    // No echo went back to the client: the device's own reply is the first thing it reads.
    device.write_all(&special).await.unwrap();
    let back = timeout(LIMIT, client).await.expect("client timed out").unwrap();
    assert_eq!(back, special);
}

/// Two programs on one serial line corrupt each other; the second open is refused.
#[tokio::test]
async fn serial_open_is_exclusive() {
    let device = PtyDevice::open(ClientClose::Wire).unwrap();
    let url = device.client_url();
    let _first = connect(&url, None, &NoSimulators).await.unwrap();
    let second = connect(&url, None, &NoSimulators).await;
    let Err(e) = second else { panic!("second open of {url} succeeded") };
    assert!(e.to_string().contains(&url.to_string()), "error names the URL: {e}");
}

#[tokio::test]
async fn open_errors_name_the_url() {
    let url: DeviceUrl = "serial:///dev/does-not-exist-khil".parse().unwrap();
    let e = connect(&url, None, &NoSimulators).await.err().unwrap();
    assert!(e.to_string().contains("serial:///dev/does-not-exist-khil"), "{e}");
    let e = connect(&"sim:echo".parse().unwrap(), None, &NoSimulators).await.err().unwrap();
    assert!(e.to_string().contains("sim:echo"), "{e}");
    let e = connect(&DeviceUrl::Pty, None, &NoSimulators).await.err().unwrap();
    assert!(e.to_string().contains("serial:///dev/pts/N"), "{e}");
    // A smart card is not a byte stream: the refusal says what it is and where it is opened instead.
    let e = connect(&"pcsc://Virtual%20PCD%2000%2000".parse().unwrap(), None, &NoSimulators).await.err().unwrap();
    let text = e.to_string();
    assert!(text.contains("pcsc://Virtual%20PCD%2000%2000") && text.contains("APDU (smart-card) device"), "{text}");
    assert!(text.contains("khil_apdu"), "{text}");
}
