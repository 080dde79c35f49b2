//! khil's OSDP control panel drives libosdp 3.2.9's peripheral device (the C reference implementation, through
//! its Python binding, `tests/peers/osdp_pd.py`) over a pty: the secure channel with the PD's key (enforced by
//! the PD), its PDID and PDCAP, OUT/LED/BUZ/TEXT arriving at libosdp through the encryption, a card read and an
//! input report reaching the CP as events; and in install mode, KEYSET from SCBK-D to a new key, the CP's new
//! handshake with it, and a fresh CP connecting with the new key.

mod common;

use std::io::Write;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use common::{peer_python, peer_script};
use khil_link::{ClientClose, PtyDevice};
use khil_osdp::command::{Buzzer, Command, LedControl, LedPermanent, LedTemporary, OutputControl, Text};
use khil_osdp::cp::{BusEvent, BusHandle, CpConfig, EventKind, OsdpBus, PdSetup, PdStatus};
use khil_osdp::reply::Reply;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

const ADDRESS: u8 = 101;
const KEY: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
const NEW_KEY: [u8; 16] =
    [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF, 0x00];

/// The Python PD: its stdin, its stdout lines (JSON) on a channel, and everything it printed so far.
struct Peer {
    child: Child,
    stdin: ChildStdin,
    lines: std_mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Peer {
    fn start(python: &std::path::Path, pty: &str, args: &[&str]) -> Peer {
        let mut child = peer_script(python, "osdp_pd.py")
            .arg(pty)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = common::lines(child.stdout.take().unwrap());
        let mut peer = Peer { child, stdin, lines, seen: Vec::new() };
        peer.wait_line(|v| v.get("ready").is_some(), "ready");
        peer
    }

    /// Waits up to 10 s for a JSON line that satisfies `what`.
    fn wait_line(&mut self, what: impl Fn(&Value) -> bool, name: &str) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        // Lines already seen count too (they may have arrived while waiting for something else).
        for line in &self.seen {
            if let Ok(v) = serde_json::from_str::<Value>(line)
                && what(&v)
            {
                return v;
            }
        }
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("libosdp PD: no {name} within 10 s; it printed:\n{}", self.seen.join("\n")));
            self.seen.push(line.clone());
            if let Ok(v) = serde_json::from_str::<Value>(&line)
                && what(&v)
            {
                return v;
            }
        }
    }

    fn tell(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn quit(mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running CP: its handle, its events, and a way to stop it and get the pty back.
struct Cp {
    handle: BusHandle,
    events: mpsc::Receiver<BusEvent>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<OsdpBus<PtyDevice>>,
}

fn start_cp(pty: PtyDevice, setup: PdSetup) -> Cp {
    // This test is about interoperation, not the PD's timing: the Python PD answers from a GIL-bound refresh
    // thread and misses the spec's 200 ms on a loaded machine. Waiting longer avoids retransmissions, which
    // libosdp's PD executes again (its MAC chain then moves past the CP's): with 200 ms this test failed 3 times
    // in 15 runs under CI load. khil's own PD is held to 200 ms by the osdp-pd conformance suite.
    let mut bus = OsdpBus::new(
        pty,
        CpConfig { reply_timeout: std::time::Duration::from_secs(1), retries: 8, ..CpConfig::default() },
    );
    bus.add_pd(setup).unwrap();
    let handle = bus.handle();
    let events = bus.take_events().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        tokio::select! {
            r = bus.run() => panic!("bus ended: {r:?}"),
            _ = stopped => {}
        }
        bus
    });
    Cp { handle, events, stop, task }
}

impl Cp {
    async fn stop(self) -> PtyDevice {
        let _ = self.stop.send(());
        self.task.await.unwrap().into_link()
    }

    async fn wait_status(&self, what: impl Fn(&PdStatus) -> bool, name: &str) -> PdStatus {
        tokio::time::timeout(Duration::from_secs(10), self.handle.wait_for(ADDRESS, what))
            .await
            .unwrap_or_else(|_| panic!("{name} within 10 s: {:?}", self.handle.status(ADDRESS)))
            .unwrap()
    }

    /// The next event that satisfies `what` within `limit`.
    async fn next_event(&mut self, what: impl Fn(&EventKind) -> bool, limit: Duration) -> Option<EventKind> {
        tokio::time::timeout(limit, async {
            loop {
                let e = self.events.recv().await.expect("event stream ended");
                if what(&e.kind) {
                    return e.kind;
                }
            }
        })
        .await
        .ok()
    }

    async fn try_event(&mut self, what: impl Fn(&EventKind) -> bool) -> Option<EventKind> {
        self.next_event(what, Duration::from_secs(5)).await
    }

    async fn wait_event(&mut self, what: impl Fn(&EventKind) -> bool, name: &str) -> EventKind {
        let event = self.next_event(what, Duration::from_secs(10)).await;
        event.unwrap_or_else(|| panic!("no {name} event within 10 s: {:?}", self.handle.status(ADDRESS)))
    }
}

fn pty() -> (PtyDevice, String) {
    let dev = PtyDevice::open(ClientClose::Wire).unwrap();
    let path = dev.slave_path().to_owned();
    (dev, path)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn command_of(v: &Value) -> &Value {
    &v["command"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn khil_cp_drives_the_libosdp_pd_over_the_secure_channel() {
    let Some(python) = peer_python() else { return };
    let (dev, path) = pty();
    let key_hex = hex(&KEY);
    let mut peer = Peer::start(&python, &path, &["--key", &key_hex]);
    let mut cp = start_cp(dev, PdSetup::secure(ADDRESS, KEY));

    let s = cp.wait_status(|s| s.online && s.secure, "online with a secure channel").await;
    assert!(!s.default_key);
    peer.wait_line(|v| v["sc"] == true, "secure channel at the PD");
    let id = s.id.expect("PDID");
    assert_eq!((id.model, id.version, id.serial), (7, 2, 0x1234_5678), "{id:?}");
    assert_eq!(id.oui, [0xC3, 0xB2, 0xA1], "vendor code 0xA1B2C3, little-endian: {id:?}");
    let count = |f: u8| s.capabilities.iter().find(|c| c.function == f).map(|c| c.count);
    // Communication security (9) is filled in by libosdp itself, whatever the application declares.
    assert_eq!((count(1), count(2), count(4), count(5)), (Some(2), Some(4), Some(1), Some(1)), "{:?}", s.capabilities);
    assert!(s.capabilities.iter().any(|c| c.function == 9 && c.compliance == 1), "{:?}", s.capabilities);

    let h = cp.handle.clone();
    h.command(ADDRESS, Command::Out(vec![OutputControl { output: 2, control: 2, timer: 0 }])).await.unwrap();
    let led = LedControl {
        reader: 0,
        led: 0,
        temporary: LedTemporary { control: 0, on_time: 0, off_time: 0, on_colour: 0, off_colour: 0, timer: 0 },
        permanent: LedPermanent { control: 1, on_time: 5, off_time: 5, on_colour: 2, off_colour: 0 },
    };
    h.command(ADDRESS, Command::Led(vec![led])).await.unwrap();
    h.command(ADDRESS, Command::Buz(Buzzer { reader: 0, tone: 2, on_time: 2, off_time: 2, count: 1 })).await.unwrap();
    let text = Text { reader: 0, control: 1, temp_time: 0, row: 1, column: 1, text: b"Welcome".to_vec() };
    assert_eq!(h.command(ADDRESS, Command::Text(text)).await.unwrap(), Reply::Ack);

    let out = peer.wait_line(|v| command_of(v).get("output_no").is_some(), "OUT");
    assert_eq!((&command_of(&out)["output_no"], &command_of(&out)["control_code"]), (&2.into(), &2.into()), "{out}");
    let led = peer.wait_line(|v| command_of(v).get("led_number").is_some(), "LED");
    assert_eq!(command_of(&led)["on_color"], 2, "{led}");
    let buz = peer.wait_line(|v| command_of(v).get("rep_count").is_some(), "BUZ");
    assert_eq!(command_of(&buz)["on_count"], 2, "{buz}");
    let text = peer.wait_line(|v| command_of(v)["data"].is_string(), "TEXT");
    assert!(text.to_string().contains("Welcome"), "{text}");

    peer.tell("card");
    let card = if let Some(card) = cp.try_event(|k| matches!(k, EventKind::Card(_))).await {
        card
    } else {
        // Lost in a stall of the Python PD (an offline spell resets it): once more.
        peer.tell("card");
        cp.wait_event(|k| matches!(k, EventKind::Card(_)), "card").await
    };
    let EventKind::Card(card) = card else { unreachable!() };
    assert_eq!((card.bits, card.data.as_slice()), (32, &[0x12, 0x34, 0x56, 0x78][..]), "{card:?}");
    peer.tell("input");
    let inputs = cp.wait_event(|k| matches!(k, EventKind::Inputs(_)), "input status").await;
    assert_eq!(inputs, EventKind::Inputs(vec![1, 0]));
    let s = cp.handle.status(ADDRESS).unwrap();
    assert!(s.online && s.secure, "{s:?}");

    drop(cp.stop().await);
    peer.quit();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn khil_cp_moves_the_libosdp_pd_from_the_default_key_to_its_own() {
    let Some(python) = peer_python() else { return };
    let (dev, path) = pty();
    let mut peer = Peer::start(&python, &path, &["--install"]);
    let mut cp = start_cp(dev, PdSetup::install(ADDRESS));
    let s = cp.wait_status(|s| s.online && s.secure, "online on SCBK-D").await;
    assert!(s.default_key, "{s:?}");

    cp.handle.keyset(ADDRESS, NEW_KEY).await.unwrap();
    let new_hex = hex(&NEW_KEY);
    let keyset = peer.wait_line(|v| v.to_string().contains(&new_hex), "KEYSET with the new key");
    assert!(command_of(&keyset).is_object(), "{keyset}");
    cp.wait_event(|k| *k == EventKind::SecureChannel { default_key: false }, "secure channel on the new key").await;
    let s = cp.handle.status(ADDRESS).unwrap();
    assert!(s.online && s.secure && !s.default_key && s.sessions == 2, "{s:?}");

    // A fresh CP that only knows the new key.
    let dev = cp.stop().await;
    let cp = start_cp(dev, PdSetup::secure(ADDRESS, NEW_KEY));
    let s = cp.wait_status(|s| s.online && s.secure, "reconnected with the new key").await;
    assert!(!s.default_key && s.sessions == 1, "{s:?}");
    cp.handle.command(ADDRESS, Command::Out(vec![OutputControl { output: 0, control: 1, timer: 0 }])).await.unwrap();
    drop(cp.stop().await);
    peer.quit();
}
