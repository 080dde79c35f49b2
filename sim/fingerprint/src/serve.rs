//! The wire side: link -> frames -> [`Module`] -> frames -> link, with the device faults applied on the way out.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use khil_biometrics::synth::Quality;
use khil_fingerprint::ZfmFormat;
use khil_fingerprint::frame::{self, FrameError, PacketKind, ZfmFrame};
use khil_fingerprint::{Command, Reply, image};
use khil_link::{BoxLink, FramedLink, LinkError, Received};
use khil_sim_host::Device;

use crate::faults::{DeviceFault, FaultPlan};
use crate::flash::{StateError, StateFile};
use crate::module::{Conditions, FlashStore, Incoming, Module, Then, Volatile};
use crate::profile::Profile;
use crate::quirks::{Quirk, Quirks};
use khil_sim_population::{FingerModel, Fingers, Presence};

/// How long the module waits for the next data packet of a download before it gives up on the transfer and
/// listens for commands again.
pub const DATA_TIMEOUT: Duration = Duration::from_secs(2);

/// A frame left incomplete this long is dropped (from its first byte, so the reader resynchronises on the
/// next `EF 01`), like a UART receiver's idle timeout. Without it a header whose LEN was corrupted upwards
/// would swallow the commands behind it. Generous next to a byte time (1 ms at 9600 baud) and to hosts that
/// write one byte per call.
pub const IDLE_TIMEOUT: Duration = Duration::from_millis(200);

/// The raw byte the R503 sends after power-up and SoftRst.
pub const HANDSHAKE_BYTE: u8 = 0x55;

/// Everything that makes one simulated sensor.
#[derive(Debug, Clone)]
pub struct SensorConfig {
    pub profile: Profile,
    /// Keep the flash in this file (`--state`).
    pub state: Option<std::path::PathBuf>,
    /// Who is on the sensor at start.
    pub presence: Presence,
    /// Chance that a capture attempt finds no finger although one is due.
    pub no_finger: f64,
    /// Impressions per finger before they repeat (`None`: every capture is a new one).
    pub distinct_impressions: Option<u32>,
    pub faults: Vec<DeviceFault>,
    /// Mis-implementations, for measuring the conformance suite (none on a correct module).
    pub quirks: Vec<Quirk>,
    pub seed: u64,
}

impl SensorConfig {
    /// An R307 with nobody on it, no state file, no faults.
    pub fn new(profile: Profile) -> SensorConfig {
        SensorConfig {
            profile,
            state: None,
            presence: Presence::Lifted,
            no_finger: 0.0,
            distinct_impressions: None,
            faults: Vec::new(),
            quirks: Vec::new(),
            seed: 0,
        }
    }
}

/// One simulated ZFM module, served over any link. Its flash, buffers and finger outlive client sessions, as
/// a module's do when a host closes and reopens the port.
pub struct ZfmSensor {
    fingers: Arc<Fingers>,
    profile: Profile,
    presence: Presence,
    distinct: Option<u32>,
    module: Mutex<Module>,
    quirks: Quirks,
    finger: Arc<Mutex<FingerModel>>,
    faults: Mutex<FaultPlan>,
}

impl std::fmt::Debug for ZfmSensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZfmSensor").field("module", &*lock(&self.module)).finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ZfmSensor {
    /// A sensor drawing its fingers from `fingers` (share one [`Fingers`] between the sensors of a process).
    pub fn new(config: SensorConfig, fingers: Arc<Fingers>) -> Result<ZfmSensor, StateError> {
        let (flash, store): (_, Box<dyn FlashStore>) = match &config.state {
            Some(path) => {
                let file = StateFile::new(path);
                (file.load(&config.profile)?, Box::new(file))
            }
            None => (crate::flash::Flash::factory(), Box::new(Volatile)),
        };
        let finger = Arc::new(Mutex::new(FingerModel::new(
            config.presence,
            config.no_finger,
            config.distinct_impressions,
            config.seed,
        )));
        let quirks = Quirks(config.quirks.clone());
        let module = Module::new(
            config.profile,
            flash,
            store,
            Arc::clone(&fingers),
            Arc::clone(&finger),
            config.seed,
            quirks.clone(),
        );
        Ok(ZfmSensor {
            fingers,
            profile: config.profile,
            presence: config.presence,
            distinct: config.distinct_impressions,
            module: Mutex::new(module),
            quirks,
            finger,
            faults: Mutex::new(FaultPlan::new(config.faults, config.seed)),
        })
    }

    /// A sensor with its own [`Fingers`] of `seed` (good impressions).
    pub fn standalone(config: SensorConfig) -> Result<ZfmSensor, StateError> {
        let fingers = Arc::new(Fingers::new(config.seed, Quality::Good));
        ZfmSensor::new(config, fingers)
    }

    /// Synthesises the starting finger and its first impressions (all of them when impressions cycle, else
    /// three) now, so that the first captures are as quick as the later ones. Takes a quarter of a second or
    /// so per finger; `khil sim` does it before its ready line.
    pub fn prepare(&self) {
        crate::module::prepare(&self.fingers, self.presence, self.distinct.unwrap_or(3), &self.profile);
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The finger on the sensor, for interactive control (`place`, `lift`, `auto`).
    pub fn finger(&self) -> Arc<Mutex<FingerModel>> {
        Arc::clone(&self.finger)
    }

    /// Runs `f` on the module (tests and the CLI's status output).
    pub fn with_module<R>(&self, f: impl FnOnce(&Module) -> R) -> R {
        f(&lock(&self.module))
    }

    /// Runs the module on one command. Captures, extraction, merging and search can take milliseconds of CPU
    /// (a quarter second for a finger not synthesised yet): on a multi-threaded runtime the worker hands its
    /// other sensors over meanwhile. Everything else is microseconds and runs in place, since the hand-over
    /// costs more than that. (`spawn_blocking` would let a paused test clock run ahead while the module works,
    /// and fire the host's timeouts early.)
    fn handle(&self, cmd: &Command, when: Conditions) -> crate::module::Response {
        let run = || lock(&self.module).handle(cmd, when);
        let heavy = matches!(
            cmd,
            Command::GenImg
                | Command::GetImageEx
                | Command::Img2Tz { .. }
                | Command::Match
                | Command::RegModel
                | Command::Search { .. }
                | Command::HiSpeedSearch { .. }
        );
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) if heavy => tokio::task::block_in_place(run),
            _ => run(),
        }
    }
}

/// What the reader found on the line.
enum Event {
    Frame(ZfmFrame),
    /// A command packet whose checksum is wrong: the module answers 01. `frame` is what it would have been
    /// (for the no-checksum-check quirk), when its LEN fits in what arrived.
    CorruptCommand {
        instruction: Option<u8>,
        frame: Option<ZfmFrame>,
    },
    Closed,
}

struct Wire {
    framed: FramedLink<BoxLink, ZfmFormat>,
    /// How long an incomplete frame may wait for its next byte (`None`: for ever, a quirk).
    idle: Option<Duration>,
    /// Garbage was skipped since the last frame (for the noise-deafens quirk).
    saw_noise: bool,
    /// A header with an invalid PID was skipped (for the bad-pid-hangs quirk).
    saw_bad_pid: bool,
}

impl Wire {
    async fn next(&mut self) -> Result<Event, LinkError> {
        loop {
            // pyfingerprint writes one byte per write(): fragments are reassembled by the framed read, and only an
            // incomplete frame waits against the idle timeout.
            let item = match self.framed.next_idle(self.idle).await {
                Ok(Some(item)) => item,
                Ok(None) => {
                    tracing::debug!(pending = self.framed.buffered().len(), "incomplete frame dropped after line idle");
                    continue;
                }
                Err(LinkError::PeerClosed) => return Ok(Event::Closed),
                Err(e) => return Err(e),
            };
            match item {
                Received::Frame { frame, .. } => return Ok(Event::Frame(frame)),
                Received::Skipped { raw, reason } => {
                    self.saw_noise = true;
                    self.saw_bad_pid |= matches!(reason, FrameError::BadPid { .. });
                    tracing::debug!(count = raw.len(), %reason, "skipped bytes on the line");
                    // A checksum mismatch drops one byte; the corrupt frame is that byte and what follows it.
                    if matches!(reason, FrameError::BadChecksum { .. }) {
                        let mut whole = raw.to_vec();
                        whole.extend_from_slice(self.framed.buffered());
                        if whole.get(6) == Some(&PacketKind::Command.code()) {
                            let instruction = whole.get(frame::HEADER_LEN).copied();
                            return Ok(Event::CorruptCommand { instruction, frame: unchecked_frame(&whole) });
                        }
                    }
                }
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        // A device's writes wait as long as the line makes them (a paced UART); the host's session ends them.
        let far = tokio::time::Instant::now() + Duration::from_hours(24);
        self.framed.send(bytes, far).await.map(drop)
    }
}

/// The frame at the start of `buf` read without its checksum.
fn unchecked_frame(buf: &[u8]) -> Option<ZfmFrame> {
    let total = frame::frame_len_hint(buf)?;
    let payload = buf.get(frame::HEADER_LEN..total.checked_sub(frame::CHECKSUM_LEN)?)?.to_vec();
    let address = u32::from_be_bytes(buf.get(2..6)?.try_into().ok()?);
    Some(ZfmFrame { address, kind: PacketKind::Command, payload })
}

fn encode_ack(address: u32, reply: &Reply, corrupt: bool) -> Vec<u8> {
    let mut bytes = ZfmFrame { address, kind: PacketKind::Ack, payload: reply.to_payload() }.encode();
    if corrupt {
        let last = bytes.len() - 1;
        bytes[last] = bytes[last].wrapping_add(1);
    }
    bytes
}

impl Device for ZfmSensor {
    fn name(&self) -> &'static str {
        "fingerprint"
    }

    async fn serve(self: Arc<Self>, link: BoxLink) -> Result<(), LinkError> {
        let idle = if self.quirks.has(Quirk::NoIdleTimeout) {
            None
        } else if self.quirks.has(Quirk::NoFragments) {
            Some(Duration::from_millis(1))
        } else {
            Some(IDLE_TIMEOUT)
        };
        let mut wire = Wire { framed: FramedLink::new(link, ZfmFormat), idle, saw_noise: false, saw_bad_pid: false };
        let mut deaf_until: Option<tokio::time::Instant> = None;
        if lock(&self.faults).power_on_byte() {
            wire.send(&[HANDSHAKE_BYTE]).await?;
        }
        loop {
            let frame = match wire.next().await? {
                Event::Closed => return Ok(()),
                Event::CorruptCommand { frame: Some(frame), .. } if self.quirks.has(Quirk::NoChecksumCheck) => {
                    self.command(&mut wire, &frame).await?;
                    continue;
                }
                Event::CorruptCommand { instruction, .. } => {
                    let response = lock(&self.module).malformed(instruction.unwrap_or(0));
                    let corrupt = lock(&self.faults).corrupt_ack();
                    wire.send(&encode_ack(response.address, &response.reply, corrupt)).await?;
                    continue;
                }
                Event::Frame(f) => f,
            };
            let noisy = std::mem::take(&mut wire.saw_noise);
            if std::mem::take(&mut wire.saw_bad_pid) && self.quirks.has(Quirk::BadPidHangs) {
                deaf_until = Some(tokio::time::Instant::now() + Duration::from_secs(3));
            }
            if deaf_until.is_some_and(|t| tokio::time::Instant::now() < t) {
                continue;
            }
            if noisy && self.quirks.has(Quirk::NoiseDeafens) {
                continue;
            }
            if frame.kind != PacketKind::Command && self.quirks.has(Quirk::AcksStrayData) {
                let address = lock(&self.module).address();
                wire.send(&encode_ack(address, &Reply::Status(khil_fingerprint::ConfirmationCode::Ok), false)).await?;
                continue;
            }
            if frame.kind != PacketKind::Command {
                // Data packets nobody asked for (a transfer the module gave up on, a host's retry): ignored.
                tracing::debug!(kind = %frame.kind, "ignored a packet outside a transfer");
                continue;
            }
            self.command(&mut wire, &frame).await?;
        }
    }
}

impl ZfmSensor {
    async fn command(&self, wire: &mut Wire, frame: &ZfmFrame) -> Result<(), LinkError> {
        let instruction = frame.payload.first().copied().unwrap_or(0);
        let cmd = Command::from_payload(&frame.payload);
        let capture = matches!(cmd, Ok(Command::GenImg | Command::GetImageEx | Command::CheckSensor));
        let faults = lock(&self.faults).on_command(capture);
        if faults.hang {
            tracing::debug!(instruction, "command left unanswered (hang fault)");
            return Ok(());
        }
        let own = lock(&self.module).address();
        if matches!(cmd, Ok(Command::Unknown { .. })) && self.quirks.has(Quirk::SilentUnknown) {
            return Ok(());
        }
        let response = match &cmd {
            _ if frame.address != own && !self.quirks.has(Quirk::AnyAddress) => {
                lock(&self.module).wrong_address(instruction)
            }
            Err(_) if self.quirks.has(Quirk::AcksShortParams) => crate::module::Response {
                address: own,
                reply: Reply::Status(khil_fingerprint::ConfirmationCode::Ok),
                then: Then::Nothing,
            },
            Err(_) => lock(&self.module).malformed(instruction),
            Ok(cmd) => self.handle(cmd, Conditions { sensor_fault: faults.sensor_error }),
        };
        tracing::debug!(instruction, cc = response.reply.cc().code(), "answered");
        if let Some(ms) = faults.busy_ms {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        let corrupt = lock(&self.faults).corrupt_ack();
        let from = if self.quirks.has(Quirk::WrongReplyAddress) { 0 } else { response.address };
        let mut out = encode_ack(from, &response.reply, corrupt);
        match response.then {
            Then::Nothing => wire.send(&out).await,
            Then::HandshakeByte => {
                out.push(HANDSHAKE_BYTE);
                wire.send(&out).await
            }
            Then::Send(data) => {
                // One write for ack and packets: the line (or its pacing) is the only limit on throughput.
                let size = lock(&self.module).packet_size();
                for mut packet in image::split_at_address(&data, size, from) {
                    if lock(&self.faults).drop_data_packet() {
                        continue;
                    }
                    if self.quirks.has(Quirk::NoEndData) {
                        packet.kind = PacketKind::Data;
                    }
                    packet.encode_into(&mut out).map_err(|e| LinkError::Io(std::io::Error::other(e)))?;
                }
                wire.send(&out).await
            }
            Then::Receive(incoming) => {
                wire.send(&out).await?;
                self.receive(wire, incoming).await
            }
        }
    }

    /// Collects a download's data packets, up to the end-data packet. A command in the middle, or silence for
    /// [`DATA_TIMEOUT`], ends the transfer (a command is then answered as usual).
    async fn receive(&self, wire: &mut Wire, incoming: Incoming) -> Result<(), LinkError> {
        let expected = lock(&self.module).incoming_len(incoming);
        let mut data = Vec::with_capacity(expected);
        loop {
            let Ok(event) = tokio::time::timeout(DATA_TIMEOUT, wire.next()).await else {
                tracing::warn!(received = data.len(), expected, "download abandoned: no data packet in time");
                return Ok(());
            };
            let event = event?;
            match event {
                Event::Closed => return Ok(()),
                Event::CorruptCommand { .. } => {}
                Event::Frame(f) => match f.kind {
                    PacketKind::Data => data.extend_from_slice(&f.payload),
                    PacketKind::EndData => {
                        data.extend_from_slice(&f.payload);
                        if data.len() != expected {
                            tracing::warn!(received = data.len(), expected, "download of the wrong length");
                        }
                        lock(&self.module).receive(incoming, &data);
                        return Ok(());
                    }
                    PacketKind::Command if self.quirks.has(Quirk::DownloadSwallowsCommands) => {
                        data.extend_from_slice(&f.payload);
                    }
                    PacketKind::Command => {
                        tracing::warn!(received = data.len(), expected, "download interrupted by a command");
                        return Box::pin(self.command(wire, &f)).await;
                    }
                    PacketKind::Ack => {}
                },
            }
        }
    }
}
