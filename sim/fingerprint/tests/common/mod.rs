//! A bare-bones host for wire tests: raw frames out, decoded frames in. Deliberately not the khil driver, so
//! these tests pin the simulator's bytes on their own.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use khil_fingerprint::{Command, PacketKind, Reply, ZfmCodec, ZfmFrame};
use khil_link::BoxLink;
use khil_sim_fingerprint::{Presence, Profile, SensorConfig, ZfmSensor};
use khil_sim_host::{Line, in_process};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::mpsc;
use tokio_util::codec::Decoder;

pub struct Host {
    tx: WriteHalf<BoxLink>,
    frames: mpsc::UnboundedReceiver<ZfmFrame>,
    pub address: u32,
}

async fn read_frames(mut rx: ReadHalf<BoxLink>, out: mpsc::UnboundedSender<ZfmFrame>) {
    let mut codec = ZfmCodec::new();
    let mut buf = BytesMut::new();
    loop {
        while let Ok(Some(frame)) = codec.decode(&mut buf) {
            if out.send(frame).is_err() {
                return;
            }
        }
        match rx.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

impl Host {
    pub fn new(link: BoxLink) -> Host {
        let (rx, tx) = tokio::io::split(link);
        let (out, frames) = mpsc::unbounded_channel();
        tokio::spawn(read_frames(rx, out));
        Host { tx, frames, address: khil_fingerprint::DEFAULT_ADDRESS }
    }

    /// A host on an in-process sensor.
    pub fn on(sensor: ZfmSensor) -> Host {
        Host::new(in_process(Arc::new(sensor), &Line::default()))
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.tx.write_all(bytes).await.unwrap();
        self.tx.flush().await.unwrap();
    }

    pub async fn send(&mut self, cmd: &Command) {
        let frame = ZfmFrame { address: self.address, kind: PacketKind::Command, payload: cmd.to_payload() };
        self.send_raw(&frame.encode()).await;
    }

    /// The next frame, or `None` after 3 s of silence.
    pub async fn frame(&mut self) -> Option<ZfmFrame> {
        tokio::time::timeout(Duration::from_secs(3), self.frames.recv()).await.ok().flatten()
    }

    /// Sends `cmd` and returns its ack, parsed.
    pub async fn call(&mut self, cmd: &Command) -> Reply {
        self.send(cmd).await;
        let ack = self.frame().await.unwrap_or_else(|| panic!("no ack to {}", cmd.name()));
        assert_eq!(ack.kind, PacketKind::Ack, "{}", cmd.name());
        Reply::parse(cmd.opcode(), &ack.payload).unwrap()
    }

    /// The data packets after an upload's ack, up to the end-data packet.
    pub async fn upload_frames(&mut self) -> Vec<ZfmFrame> {
        let mut frames = Vec::new();
        loop {
            let f = self.frame().await.expect("data packet");
            let end = f.kind == PacketKind::EndData;
            frames.push(f);
            if end {
                return frames;
            }
        }
    }

    /// The data packets after an upload's ack, joined.
    pub async fn upload(&mut self) -> Vec<u8> {
        khil_fingerprint::image::join(&self.upload_frames().await).unwrap()
    }

    /// Waits for a finger (GenImg until 00), then converts into `buffer`.
    pub async fn capture_into(&mut self, buffer: u8) {
        for _ in 0..20 {
            if self.call(&Command::GenImg).await.cc().is_ok() {
                let r = self.call(&Command::Img2Tz { buffer }).await;
                assert!(r.cc().is_ok(), "Img2Tz: {r:?}");
                return;
            }
        }
        panic!("no finger in 20 attempts");
    }

    /// Enrols the finger on the sensor at `page` (two captures, RegModel, Store).
    pub async fn enrol(&mut self, page: u16) {
        self.capture_into(1).await;
        self.capture_into(2).await;
        assert_eq!(self.call(&Command::RegModel).await.cc().code(), 0, "RegModel");
        assert_eq!(self.call(&Command::Store { buffer: 1, page }).await.cc().code(), 0, "Store");
    }
}

pub fn sensor(profile: Profile, presence: Presence) -> ZfmSensor {
    ZfmSensor::standalone(SensorConfig { presence, seed: 11, ..SensorConfig::new(profile) }).unwrap()
}

/// A state file path in a fresh directory, removed when the returned guard drops.
pub fn temp_file(name: &str) -> (khil_test_support::TempDir, std::path::PathBuf) {
    let dir = khil_test_support::temp_dir(&format!("zfm-{name}"));
    let path = dir.join("state.json");
    (dir, path)
}
