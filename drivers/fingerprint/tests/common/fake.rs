//! A scripted fake module for driver tests: a task on the device end of an in-memory link that reads command
//! frames with `ZfmCodec` and answers like a small module (library, buffers, image, notepad), with a hook that
//! can override any answer. It records every command it decoded and every download's packet sizes.
//!
//! Not the simulator (sim/fingerprint): just enough behaviour to drive the driver, with nothing clever.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use khil_fingerprint::command::opcode;
use khil_fingerprint::image;
use khil_fingerprint::{
    Command, ConfirmationCode, IndexBitmap, PacketKind, PacketSize, ProductInfo, Reply, SystemParameters, ZfmCodec,
    ZfmFrame,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio_util::codec::Decoder;

/// What the fake sends in answer to one command.
#[derive(Debug, Clone)]
pub enum Action {
    /// An ack with this reply.
    Reply(Reply),
    /// Any frame (its address is used as is).
    Frame(ZfmFrame),
    /// Raw bytes.
    Raw(Vec<u8>),
    /// Data packets of these bytes at the current packet size.
    Data(Vec<u8>),
    /// Wait before the next action.
    Sleep(Duration),
}

/// Overrides the default answer when it returns `Some`.
pub type Hook = Box<dyn FnMut(&Command, &mut State) -> Option<Vec<Action>> + Send>;

#[derive(Debug, Clone)]
pub struct State {
    pub params: SystemParameters,
    pub product: Option<ProductInfo>,
    pub password: u32,
    /// Packed image (UART format).
    pub image: Vec<u8>,
    pub buffers: Vec<Vec<u8>>,
    pub library: BTreeMap<u16, Vec<u8>>,
    /// GenImg answers in order; `finger_default` once empty.
    pub fingers: VecDeque<bool>,
    pub finger_default: bool,
    /// Img2Tz answers in order (`Ok` once empty).
    pub extract: VecDeque<ConfirmationCode>,
    pub notepad: [[u8; 32]; 16],
    pub template_size: usize,
    pub captures: u32,
    /// Match score, `None` for "no match".
    pub match_score: Option<u16>,
    /// Every command decoded, in order.
    pub received: Vec<Command>,
    /// Per download (DownChar/DownImage): the opcode and the content length of each data packet.
    pub downloads: Vec<(u8, Vec<usize>)>,
    pub info_page: Vec<u8>,
}

pub fn r503_product() -> ProductInfo {
    let mut model = [0u8; 16];
    model[..4].copy_from_slice(b"R503");
    ProductInfo {
        model,
        batch: *b"B001",
        serial: *b"SN000042",
        hw_version: [1, 0],
        sensor_type: *b"CAP\0\0\0\0\0",
        width: 192,
        height: 192,
        template_size: 1536,
        capacity: 200,
    }
}

/// An image whose bytes are not all alike, so a lost or shifted packet changes it.
pub fn test_image(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + i / 7) % 251) as u8).collect()
}

impl Default for State {
    fn default() -> Self {
        State {
            params: SystemParameters {
                status: 0,
                system_id: 9,
                library_size: 200,
                security_level: 3,
                address: 0xFFFF_FFFF,
                packet_size: PacketSize::Bytes128,
                baud_multiplier: 6,
            },
            product: Some(r503_product()),
            password: 0,
            image: test_image(192 * 192 / 2),
            buffers: vec![Vec::new(); 6],
            library: BTreeMap::new(),
            fingers: VecDeque::new(),
            finger_default: true,
            extract: VecDeque::new(),
            notepad: [[0; 32]; 16],
            template_size: 512,
            captures: 0,
            match_score: Some(150),
            received: Vec::new(),
            downloads: Vec::new(),
            info_page: (0..512).map(|i| (i % 256) as u8).collect(),
        }
    }
}

impl State {
    pub fn count(&self, code: u8) -> usize {
        self.received.iter().filter(|c| c.opcode() == code).count()
    }

    fn template(&self, buffer: u8) -> Vec<u8> {
        (0..self.template_size).map(|i| (i as u8) ^ buffer.wrapping_mul(17) ^ (self.captures as u8)).collect()
    }

    fn buffer_index(buffer: u8) -> Option<usize> {
        (1..=6).contains(&buffer).then(|| usize::from(buffer - 1))
    }

    fn search(&self, buffer: u8, start: u16, count: u16) -> Reply {
        let wanted = State::buffer_index(buffer).map(|b| &self.buffers[b]);
        let hit = self
            .library
            .range(start..start.saturating_add(count))
            .find(|(_, t)| Some(*t) == wanted)
            .map(|(&page, _)| page);
        match hit {
            Some(page) => Reply::Search { cc: ConfirmationCode::Ok, page, score: 120 },
            None => Reply::error(opcode::SEARCH, ConfirmationCode::NotFound),
        }
    }

    /// The module's default answer.
    #[allow(clippy::too_many_lines, clippy::match_same_arms)]
    pub fn default_answer(&mut self, cmd: &Command) -> Vec<Action> {
        use ConfirmationCode as C;
        let ok = Reply::Status(C::Ok);
        let err = |cc| vec![Action::Reply(Reply::error(cmd.opcode(), cc))];
        let one = |r| vec![Action::Reply(r)];
        match *cmd {
            Command::VfyPwd(p) if p == self.password => one(ok),
            Command::VfyPwd(_) => err(C::WrongPassword),
            Command::ReadSysPara => one(Reply::SystemParameters { cc: C::Ok, params: self.params }),
            Command::ReadProdInfo => match self.product {
                Some(info) => one(Reply::ProductInfo { cc: C::Ok, info }),
                None => err(C::Unsupported),
            },
            Command::GenImg | Command::GetImageEx => {
                if self.fingers.pop_front().unwrap_or(self.finger_default) {
                    self.captures += 1;
                    one(ok)
                } else {
                    err(C::NoFinger)
                }
            }
            Command::Img2Tz { buffer } => match (State::buffer_index(buffer), self.extract.pop_front()) {
                (None, _) => err(C::InvalidRegister),
                (Some(_), Some(cc)) if !cc.is_ok() => err(cc),
                (Some(b), _) => {
                    self.buffers[b] = self.template(buffer);
                    one(ok)
                }
            },
            Command::Match => match self.match_score {
                Some(score) => one(Reply::Match { cc: C::Ok, score }),
                None => err(C::NoMatch),
            },
            Command::Search { buffer, start, count } | Command::HiSpeedSearch { buffer, start, count } => {
                one(self.search(buffer, start, count))
            }
            Command::RegModel => {
                let merged: Vec<u8> = self.buffers[0].iter().zip(&self.buffers[1]).map(|(a, b)| a ^ b).collect();
                self.buffers[0].clone_from(&merged);
                self.buffers[1] = merged;
                one(ok)
            }
            Command::Store { page, .. } if page >= self.params.library_size => err(C::PageOutOfRange),
            Command::Store { buffer, page } => match State::buffer_index(buffer) {
                Some(b) => {
                    self.library.insert(page, self.buffers[b].clone());
                    one(ok)
                }
                None => err(C::InvalidRegister),
            },
            Command::LoadChar { buffer, page } => match (State::buffer_index(buffer), self.library.get(&page)) {
                (Some(b), Some(t)) => {
                    self.buffers[b].clone_from(t);
                    one(ok)
                }
                _ => err(C::InvalidTemplate),
            },
            Command::UpChar { buffer } => match State::buffer_index(buffer) {
                Some(b) => vec![Action::Reply(ok), Action::Data(self.buffers[b].clone())],
                None => err(C::InvalidRegister),
            },
            Command::UpImage => vec![Action::Reply(ok), Action::Data(self.image.clone())],
            Command::ReadInfPage => vec![Action::Reply(ok), Action::Data(self.info_page.clone())],
            Command::DownChar { .. } | Command::DownImage => one(ok),
            Command::DeleteChar { page, count } => {
                for p in page..page.saturating_add(count) {
                    self.library.remove(&p);
                }
                one(ok)
            }
            Command::Empty => {
                self.library.clear();
                one(ok)
            }
            Command::SetSysPara { param: 4, value } => {
                self.params.baud_multiplier = u16::from(value);
                one(ok)
            }
            Command::SetSysPara { param: 5, value } => {
                self.params.security_level = u16::from(value);
                one(ok)
            }
            Command::SetSysPara { param: 6, value } if value <= 3 => {
                self.params.packet_size = PacketSize::from_code(u16::from(value));
                one(ok)
            }
            Command::SetSysPara { .. } => err(C::InvalidRegister),
            Command::SetPwd(p) => {
                self.password = p;
                one(ok)
            }
            Command::SetAddr(a) => {
                self.params.address = a;
                one(ok)
            }
            Command::GetRandomCode => one(Reply::RandomCode { cc: C::Ok, value: 0x1234_5678 }),
            Command::WriteNotepad { page, data } if page < 16 => {
                self.notepad[usize::from(page)] = data;
                one(ok)
            }
            Command::ReadNotepad { page } if page < 16 => {
                one(Reply::Notepad { cc: C::Ok, data: self.notepad[usize::from(page)] })
            }
            Command::WriteNotepad { .. } | Command::ReadNotepad { .. } => err(C::BadNotepadPage),
            Command::TemplateNum => one(Reply::TemplateNum { cc: C::Ok, count: self.library.len() as u16 }),
            Command::ReadIndexTable { page } => {
                let mut bitmap = IndexBitmap([0; 32]);
                let base = u16::from(page) * 256;
                for &slot in self.library.keys().filter(|&&s| s >= base && s < base + 256) {
                    bitmap.set((slot - base) as u8);
                }
                one(Reply::IndexTable { cc: C::Ok, bitmap })
            }
            Command::AuraLedConfig { .. } | Command::CheckSensor => one(ok),
            Command::GetAlgVer | Command::GetFwVer => {
                let mut text = [0u8; 32];
                text[..6].copy_from_slice(b"V1.2.3");
                one(Reply::Version { cc: C::Ok, text })
            }
            Command::SoftRst => vec![Action::Reply(ok), Action::Raw(vec![0x55])],
            Command::Unknown { .. } => err(C::Unsupported),
        }
    }
}

pub type Shared = Arc<Mutex<State>>;

/// Starts the fake on `link`; returns its shared state.
pub fn spawn(link: DuplexStream, state: State, hook: Option<Hook>) -> Shared {
    let shared = Arc::new(Mutex::new(state));
    tokio::spawn(serve(link, shared.clone(), hook));
    shared
}

struct Io {
    link: DuplexStream,
    rx: BytesMut,
    codec: ZfmCodec,
}

impl Io {
    async fn next(&mut self) -> Option<ZfmFrame> {
        loop {
            if let Some(frame) = self.codec.decode(&mut self.rx).ok()? {
                return Some(frame);
            }
            self.rx.reserve(1024);
            if self.link.read_buf(&mut self.rx).await.ok()? == 0 {
                return None;
            }
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> Option<()> {
        self.link.write_all(bytes).await.ok()?;
        self.link.flush().await.ok()
    }
}

async fn serve(link: DuplexStream, state: Shared, mut hook: Option<Hook>) {
    let mut io = Io { link, rx: BytesMut::new(), codec: ZfmCodec::new() };
    while let Some(frame) = io.next().await {
        let address = state.lock().unwrap().params.address;
        if frame.kind != PacketKind::Command || frame.address != address {
            continue;
        }
        let Ok(cmd) = Command::from_payload(&frame.payload) else {
            let reply = ZfmFrame { address, kind: PacketKind::Ack, payload: vec![0x01] };
            if io.write(&reply.encode()).await.is_none() {
                return;
            }
            continue;
        };
        let (actions, packet) = {
            let mut s = state.lock().unwrap();
            s.received.push(cmd.clone());
            let actions = hook.as_mut().and_then(|h| h(&cmd, &mut s)).unwrap_or_else(|| s.default_answer(&cmd));
            (actions, s.params.packet_size.bytes().unwrap_or(128))
        };
        let mut acked_ok = false;
        for action in actions {
            let bytes = match action {
                Action::Reply(reply) => {
                    acked_ok = reply.cc().is_ok();
                    ZfmFrame { address, kind: PacketKind::Ack, payload: reply.to_payload() }.encode()
                }
                Action::Frame(f) => f.encode(),
                Action::Raw(b) => b,
                Action::Data(d) => {
                    image::split_at_address(&d, packet, address).iter().flat_map(ZfmFrame::encode).collect()
                }
                Action::Sleep(d) => {
                    tokio::time::sleep(d).await;
                    continue;
                }
            };
            if io.write(&bytes).await.is_none() {
                return;
            }
        }
        if acked_ok && matches!(cmd, Command::DownChar { .. } | Command::DownImage) {
            let mut data = Vec::new();
            let mut sizes = Vec::new();
            loop {
                let Some(f) = io.next().await else { return };
                if !matches!(f.kind, PacketKind::Data | PacketKind::EndData) {
                    break;
                }
                sizes.push(f.payload.len());
                data.extend_from_slice(&f.payload);
                if f.kind == PacketKind::EndData {
                    break;
                }
            }
            let mut s = state.lock().unwrap();
            s.downloads.push((cmd.opcode(), sizes));
            match cmd {
                Command::DownChar { buffer } => {
                    if let Some(b) = State::buffer_index(buffer) {
                        s.buffers[b] = data;
                    }
                }
                _ => s.image = data,
            }
        }
    }
}
