//! The async host driver: [`Zfm`] talks to one module over any [`Link`].
//!
//! # Reliability
//!
//! - **Replies are checked**, not trusted: a reply must be an ack, from the module's address, with a payload
//!   length that fits the instruction ([`Reply::parse`]). Anything else while waiting for a reply is *stale*
//!   (a late answer to an earlier command, the rest of an abandoned upload, another module): it is counted,
//!   skipped, and marks the line out of sync.
//! - **Resync**: after a timeout or a stale frame, the next command is preceded by a drain (discard bytes until
//!   the line has been quiet for [`Timeouts::quiet`]) and a *barrier*: ReadSysPara, whose 17-byte reply no other
//!   instruction shares, is sent and everything before its reply is discarded. A serial module answers in order,
//!   so a late reply to an earlier command can only arrive before the barrier's, and is never taken as the answer
//!   to the next command.
//! - **Retries only where safe** ([`is_repeatable`]): read-only and idempotent instructions are re-sent after a
//!   timeout, a garbled reply or a "packet receive error" (01), up to [`Options::retries`] times. Instructions that
//!   change the module are sent exactly once. Store on timeout reads the index table and reports what it shows
//!   ([`ZfmError::StoreUnconfirmed`]); it never sends Store again.
//! - **Uploads** (UpChar, UpImage, ReadInfPage) collect data packets of whatever size the module uses, a short
//!   last one included, with a per-packet timeout. A missing packet (silence, a size that breaks the pattern, a
//!   total that differs from the known size) restarts the whole upload after a resync.
//! - **Reporting**: [`Zfm::stats`] counts retries, timeouts, resyncs, stale frames and line noise;
//!   [`Zfm::take_events`] lists them in order. Logs (tracing, debug level) and events name instructions,
//!   lengths and codes only, never template, image, password or notepad bytes.

mod policy;
mod wire;

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use khil_link::{Link, LinkError};
use tokio::time::Instant;
use tracing::debug;

pub use policy::{Timeouts, is_repeatable};

use crate::command::{Command, ConfirmationCode, PacketSize, ProductInfo, Reply, SystemParameters, opcode};
use crate::error::{CommandId, ZfmError};
use crate::frame::{DEFAULT_ADDRESS, FrameError, PacketKind, ZfmFrame};
use crate::image;
use wire::Wire;

/// Image sizes (width, height) of known models, for modules that do not answer ReadProdInfo.
pub mod geometry {
    /// R30x / ZFM-20 family.
    pub const R30X: (u16, u16) = (256, 288);
    /// R503.
    pub const R503: (u16, u16) = (192, 192);
}

/// The data packet size used for downloads when the module reports an invalid packet size code: the delivery
/// default.
const FALLBACK_PACKET_BYTES: usize = 128;

/// The most an upload of unknown size may bring (a 256 x 288 image at 8 bits a pixel is 73,728 bytes): a module
/// that streams data packets without end is cut off here instead of filling memory.
const MAX_UPLOAD: usize = 256 * 1024;

/// Events kept for [`Zfm::take_events`]; older ones are dropped (the counters in [`LinkStats`] keep counting).
const EVENT_CAP: usize = 512;

/// How the driver talks to the module.
#[derive(Clone, PartialEq, Eq)]
pub struct Options {
    /// Module address. Default `FF FF FF FF`.
    pub address: u32,
    /// Password for VfyPwd. Default 0.
    pub password: u32,
    /// Per-command and per-packet timeouts.
    pub timeouts: Timeouts,
    /// Extra attempts for repeatable instructions and for uploads. Default 2 (three attempts in all).
    pub retries: u32,
    /// Image width and height. Overrides what ReadProdInfo reports; needed for image size checks on modules
    /// without ReadProdInfo (see [`geometry`]). Default `None`.
    pub geometry: Option<(u16, u16)>,
    /// Bytes of an UpChar upload, if known (512 on R30x). Without it the driver learns the size from the first
    /// clean upload. ReadProdInfo's template size is not used: it describes the stored template, which need not
    /// be what UpChar sends.
    pub template_size: Option<usize>,
    /// Character buffers the module has: 2 on R30x (the default), up to 6 on R503. Bounds enrolment captures.
    pub char_buffers: u8,
    /// Ask ReadProdInfo at connect. Default `true`; modules without it cost one reply timeout at connect.
    pub read_product_info: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            address: DEFAULT_ADDRESS,
            password: 0,
            timeouts: Timeouts::default(),
            retries: 2,
            geometry: None,
            template_size: None,
            char_buffers: 2,
            read_product_info: true,
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("address", &format_args!("{:08X}", self.address))
            .field("password", &"<redacted>")
            .field("timeouts", &self.timeouts)
            .field("retries", &self.retries)
            .field("geometry", &self.geometry)
            .field("template_size", &self.template_size)
            .field("char_buffers", &self.char_buffers)
            .field("read_product_info", &self.read_product_info)
            .finish()
    }
}

/// Counters of what the line and the module did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Command frames written, resync probes and retries included.
    pub commands: u64,
    /// Commands re-sent (after a timeout, a garbled reply or a 01 packet receive error).
    pub retries: u64,
    /// Replies that did not come in time (each attempt counts).
    pub timeouts: u64,
    /// Resyncs (drain plus ReadSysPara barrier) before a command.
    pub resyncs: u64,
    /// Valid frames discarded because they could not be the awaited reply.
    pub stale_frames: u64,
    /// Bytes discarded by drains.
    pub drained_bytes: u64,
    /// Bytes the decoder skipped as garbage (line noise, corrupted frames).
    pub garbage_bytes: u64,
    /// Separate garbage skips.
    pub garbage_events: u64,
    /// Uploads restarted because packets were lost.
    pub transfer_restarts: u64,
    /// Mutating commands whose outcome is unknown (sent once, no ack).
    pub unconfirmed: u64,
}

/// One thing that happened on the line, in order. Never carries payload bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// No reply to an attempt in time.
    Timeout {
        /// The instruction.
        command: CommandId,
        /// The attempt (1-based).
        attempt: u32,
        /// The timeout.
        waited: Duration,
    },
    /// A command is being sent again.
    Retry {
        /// The instruction.
        command: CommandId,
        /// The attempt about to be made (2 or more).
        attempt: u32,
        /// Why.
        cause: &'static str,
    },
    /// The decoder skipped bytes that were not valid frames.
    Garbage {
        /// Bytes skipped.
        bytes: u64,
        /// Separate skips.
        skips: u64,
        /// Why the last skip happened.
        last: Option<FrameError>,
    },
    /// A valid frame that could not be the awaited reply was discarded.
    Stale {
        /// What the driver was waiting for.
        awaiting: CommandId,
        /// The frame's kind.
        kind: PacketKind,
        /// The frame's address.
        address: u32,
        /// Its payload length.
        len: usize,
        /// Why it was rejected.
        why: &'static str,
    },
    /// Bytes discarded while draining the line.
    Drained {
        /// How many.
        bytes: usize,
    },
    /// The line is back in sync (the ReadSysPara barrier answered).
    Resynced {
        /// The command the resync preceded.
        before: CommandId,
        /// Barrier probes sent.
        probes: u32,
    },
    /// An upload lost data and was abandoned (and restarted, if attempts remain).
    TransferAborted {
        /// The instruction.
        command: CommandId,
        /// The attempt (1-based).
        attempt: u32,
        /// Expected versus found.
        detail: String,
    },
    /// A mutating command was sent once and not acknowledged.
    Unconfirmed {
        /// The instruction.
        command: CommandId,
    },
    /// After an unacknowledged Store, the index table was read.
    StoreChecked {
        /// The library page.
        page: u16,
        /// What the index table showed (`None`: it could not be read).
        slot_used: Option<bool>,
    },
}

/// A Search hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SearchHit {
    /// The library page.
    pub page: u16,
    /// The match score.
    pub score: u16,
}

/// R503 LED ring behaviour (AuraLedConfig control byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LedMode {
    /// 1.
    Breathe,
    /// 2.
    Flash,
    /// 3.
    On,
    /// 4.
    Off,
    /// 5.
    FadeIn,
    /// 6.
    FadeOut,
}

impl LedMode {
    /// The control byte.
    pub const fn code(self) -> u8 {
        match self {
            LedMode::Breathe => 1,
            LedMode::Flash => 2,
            LedMode::On => 3,
            LedMode::Off => 4,
            LedMode::FadeIn => 5,
            LedMode::FadeOut => 6,
        }
    }
}

/// R503 LED ring colour (AuraLedConfig colour byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LedColour {
    /// 1.
    Red,
    /// 2.
    Blue,
    /// 3.
    Purple,
    /// 4.
    Green,
    /// 5.
    Yellow,
    /// 6.
    Cyan,
    /// 7.
    White,
}

impl LedColour {
    /// The colour byte.
    pub const fn code(self) -> u8 {
        match self {
            LedColour::Red => 1,
            LedColour::Blue => 2,
            LedColour::Purple => 3,
            LedColour::Green => 4,
            LedColour::Yellow => 5,
            LedColour::Cyan => 6,
            LedColour::White => 7,
        }
    }
}

/// How [`Zfm::enrol`] collects a finger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnrolOptions {
    /// Captures merged into the template, each into its own character buffer (2 ..= [`Options::char_buffers`]).
    /// Default 2.
    pub captures: usize,
    /// Pause between GenImg polls while waiting for a finger or for it to lift. Default 100 ms.
    pub poll: Duration,
    /// How long to wait for the finger to arrive, and to lift between captures. Default 10 s.
    pub finger_deadline: Duration,
    /// Captures the module may reject as poor (codes 06, 07, 15) before enrolment fails; each is retaken after
    /// the finger lifts. Default 2.
    pub bad_captures: u32,
}

impl Default for EnrolOptions {
    fn default() -> Self {
        EnrolOptions {
            captures: 2,
            poll: Duration::from_millis(100),
            finger_deadline: Duration::from_secs(10),
            bad_captures: 2,
        }
    }
}

/// What an upload attempt produced.
enum Collected {
    /// The size is known and matched, or nothing on the line suggests a loss.
    Complete(Vec<u8>),
    /// Line noise during a transfer of unknown size: a whole packet may be missing.
    Unverified(Vec<u8>),
    /// Packets were lost; the detail says how that showed.
    Broken(String),
}

/// A connected ZFM/R30x/R503 module.
pub struct Zfm<L> {
    wire: Wire<L>,
    opts: Options,
    address: u32,
    /// During SetAddr: the ack may come from the new address.
    pending_address: Option<u32>,
    params: SystemParameters,
    product: Option<ProductInfo>,
    /// UpChar size seen on a clean upload, when [`Options::template_size`] is not given.
    learned_template_size: Option<usize>,
    /// Stale bytes or replies may be on their way: resync before the next command.
    dirty: bool,
    stats: LinkStats,
    events: VecDeque<Event>,
}

impl<L> fmt::Debug for Zfm<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Zfm")
            .field("address", &format_args!("{:08X}", self.address))
            .field("params", &self.params)
            .field("product", &self.product)
            .field("opts", &self.opts)
            .field("dirty", &self.dirty)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn expect_ok(command: CommandId, reply: &Reply) -> Result<(), ZfmError> {
    if reply.cc().is_ok() { Ok(()) } else { Err(ZfmError::DeviceSaid { command, code: reply.cc() }) }
}

/// A reply's shape, for error messages that must not print its content.
fn shape(reply: &Reply) -> &'static str {
    match reply {
        Reply::Status(_) => "status",
        Reply::Match { .. } => "match",
        Reply::Search { .. } => "search",
        Reply::SystemParameters { .. } => "system parameters",
        Reply::RandomCode { .. } => "random code",
        Reply::TemplateNum { .. } => "template count",
        Reply::IndexTable { .. } => "index table",
        Reply::Notepad { .. } => "notepad",
        Reply::Version { .. } => "version",
        Reply::ProductInfo { .. } => "product info",
        Reply::Raw { .. } => "raw",
    }
}

fn unexpected(command: CommandId, expected: &str, reply: &Reply) -> ZfmError {
    ZfmError::Protocol { command, detail: format!("expected a {expected} reply, found a {} reply", shape(reply)) }
}

fn line(command: CommandId) -> impl FnOnce(LinkError) -> ZfmError {
    move |source| ZfmError::Line { command, source }
}

impl<L: Link> Zfm<L> {
    /// Connects: drains whatever is on the line (an R503's power-up 0x55, an earlier session's leftovers),
    /// VfyPwd, ReadSysPara, then ReadProdInfo where supported (an "unsupported" code or no reply leaves
    /// [`Zfm::product`] `None`; that is not an error).
    ///
    /// A module that does not answer VfyPwd is reported as a timeout naming the usual causes: no power, wrong
    /// wiring, baud rate or address. A wrong password is `DeviceSaid` with code 13.
    pub async fn connect(link: L, opts: Options) -> Result<Self, ZfmError> {
        let address = opts.address;
        let mut zfm = Zfm {
            wire: Wire::new(link, crate::codec::ZfmFormat),
            opts,
            address,
            pending_address: None,
            params: SystemParameters {
                status: 0,
                system_id: 0,
                library_size: 0,
                security_level: 0,
                address,
                packet_size: PacketSize::Bytes128,
                baud_multiplier: 0,
            },
            product: None,
            learned_template_size: None,
            dirty: false,
            stats: LinkStats::default(),
            events: VecDeque::new(),
        };
        zfm.drain(CommandId::from_opcode(opcode::VFY_PWD)).await?;
        zfm.verify_password().await?;
        zfm.refresh_params().await?;
        if zfm.opts.read_product_info {
            zfm.product = zfm.read_product_info().await?;
        }
        Ok(zfm)
    }

    /// The link back (the module stays as it is).
    pub fn into_inner(self) -> L {
        self.wire.into_inner()
    }

    /// The system parameters read at connect (or by the latest [`Zfm::refresh_params`] or resync).
    pub fn params(&self) -> &SystemParameters {
        &self.params
    }

    /// ReadProdInfo's answer, if the module has it.
    pub fn product(&self) -> Option<&ProductInfo> {
        self.product.as_ref()
    }

    /// The options in use (the password and address follow [`Zfm::set_password`] and [`Zfm::set_address`]).
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// The module address in use.
    pub fn address(&self) -> u32 {
        self.address
    }

    /// Image width and height: [`Options::geometry`] if given, else ReadProdInfo's, else unknown (never a
    /// guessed 256 x 288).
    pub fn image_geometry(&self) -> Option<(u16, u16)> {
        self.opts
            .geometry
            .or_else(|| self.product.as_ref().filter(|p| p.width > 0 && p.height > 0).map(|p| (p.width, p.height)))
    }

    /// Bytes of a packed (4-bit) image, when the geometry is known.
    pub fn image_bytes(&self) -> Option<usize> {
        self.image_geometry().map(|(w, h)| (usize::from(w) * usize::from(h)).div_ceil(2))
    }

    /// Library capacity: ReadSysPara's, else ReadProdInfo's.
    pub fn library_size(&self) -> u16 {
        match self.params.library_size {
            0 => self.product.as_ref().map_or(0, |p| p.capacity),
            n => n,
        }
    }

    /// Data packet content bytes the driver uses for downloads (the module's packet size).
    pub fn packet_bytes(&self) -> usize {
        self.params.packet_size.bytes().unwrap_or(FALLBACK_PACKET_BYTES)
    }

    /// What the line and the module did so far.
    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    /// The events since the last call, oldest first (at most the latest 512).
    pub fn take_events(&mut self) -> Vec<Event> {
        self.events.drain(..).collect()
    }

    /// Sends one command and returns the module's reply, whatever its confirmation code. Repeatable
    /// instructions ([`is_repeatable`]) are retried on timeouts and garbled replies; others are sent once.
    ///
    /// Instructions with a data phase (UpChar, DownChar, UpImage, DownImage, ReadInfPage), SetAddr and SoftRst
    /// change what the driver must do next and are refused here: use their own methods.
    pub async fn execute(&mut self, cmd: &Command) -> Result<Reply, ZfmError> {
        let id = CommandId::of(cmd);
        let own_method = match cmd {
            Command::UpChar { .. } => Some("upload_template"),
            Command::DownChar { .. } => Some("download_template"),
            Command::UpImage => Some("upload_image"),
            Command::DownImage => Some("download_image"),
            Command::ReadInfPage => Some("read_info_page"),
            Command::SetAddr(_) => Some("set_address"),
            Command::SoftRst => Some("soft_reset"),
            _ => None,
        };
        if let Some(method) = own_method {
            return Err(ZfmError::InvalidArgument {
                command: id,
                detail: format!("this instruction changes the driver's state; use Zfm::{method}"),
            });
        }
        let reply = self.transact(cmd, self.attempts()).await?;
        if reply.cc().is_ok() {
            self.after_success(cmd);
        }
        Ok(reply)
    }

    /// [`Zfm::execute`] that turns a non-OK confirmation code into `DeviceSaid`.
    async fn run_ok(&mut self, cmd: &Command) -> Result<Reply, ZfmError> {
        let reply = self.execute(cmd).await?;
        expect_ok(CommandId::of(cmd), &reply)?;
        Ok(reply)
    }

    // ---- session ----

    /// VfyPwd with [`Options::password`].
    pub async fn verify_password(&mut self) -> Result<(), ZfmError> {
        match self.run_ok(&Command::VfyPwd(self.opts.password)).await {
            Err(ZfmError::Timeout { command, waited, attempts, outcome_unknown, .. }) => Err(ZfmError::Timeout {
                command,
                waited,
                attempts,
                outcome_unknown,
                hint: "the module is silent: check power and wiring, the baud rate and the address (a module \
                       at another baud rate or address, or one locked by a password change, looks dead)",
            }),
            other => other.map(drop),
        }
    }

    /// Reads the system parameters again.
    pub async fn refresh_params(&mut self) -> Result<&SystemParameters, ZfmError> {
        let id = CommandId::from_opcode(opcode::READ_SYS_PARA);
        match self.run_ok(&Command::ReadSysPara).await? {
            Reply::SystemParameters { params, .. } => self.params = params,
            other => return Err(unexpected(id, "system parameters", &other)),
        }
        Ok(&self.params)
    }

    /// ReadProdInfo: `None` when the module says it is unsupported (or anything but OK) or stays silent, which
    /// is what modules without it do. It is asked again only when the silence came with line noise (garbage,
    /// stale frames, a partial frame), where the answer may have been lost.
    pub async fn read_product_info(&mut self) -> Result<Option<ProductInfo>, ZfmError> {
        let id = CommandId::from_opcode(opcode::READ_PROD_INFO);
        let attempts = self.attempts();
        for attempt in 1..=attempts {
            let noise_before = (self.stats.garbage_bytes, self.stats.stale_frames);
            match self.transact(&Command::ReadProdInfo, 1).await {
                Ok(Reply::ProductInfo { cc, info }) if cc.is_ok() => return Ok(Some(info)),
                Ok(reply) => {
                    debug!(cc = %reply.cc(), "ReadProdInfo not available");
                    return Ok(None);
                }
                Err(ZfmError::Timeout { .. }) => {
                    let noisy = (self.stats.garbage_bytes, self.stats.stale_frames) != noise_before
                        || !self.wire.buffered().is_empty();
                    if !noisy || attempt == attempts {
                        debug!(noisy, "ReadProdInfo unanswered; taking it as unsupported");
                        return Ok(None);
                    }
                    self.retry(id, attempt + 1, "no reply, with line noise");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// SoftRst: waits [`Timeouts::reset_settle`], drains (an R503 sends a raw 0x55 after the ack), verifies the
    /// password again and re-reads the parameters.
    pub async fn soft_reset(&mut self) -> Result<(), ZfmError> {
        let cmd = Command::SoftRst;
        let id = CommandId::of(&cmd);
        let reply = self.transact(&cmd, 1).await?;
        expect_ok(id, &reply)?;
        tokio::time::sleep(self.opts.timeouts.reset_settle).await;
        self.drain(id).await?;
        self.verify_password().await?;
        self.refresh_params().await?;
        Ok(())
    }

    /// GetFwVer as text.
    pub async fn firmware_version(&mut self) -> Result<String, ZfmError> {
        self.version(Command::GetFwVer).await
    }

    /// GetAlgVer as text.
    pub async fn algorithm_version(&mut self) -> Result<String, ZfmError> {
        self.version(Command::GetAlgVer).await
    }

    async fn version(&mut self, cmd: Command) -> Result<String, ZfmError> {
        match self.run_ok(&cmd).await? {
            Reply::Version { text, .. } => Ok(ProductInfo::text(&text)),
            other => Err(unexpected(CommandId::of(&cmd), "version", &other)),
        }
    }

    /// CheckSensor: `true` when the sensor is normal, `false` when the module reports it abnormal (29).
    pub async fn check_sensor(&mut self) -> Result<bool, ZfmError> {
        let reply = self.execute(&Command::CheckSensor).await?;
        match reply.cc() {
            ConfirmationCode::Ok => Ok(true),
            ConfirmationCode::SensorHardwareError => Ok(false),
            code => Err(ZfmError::DeviceSaid { command: CommandId::of(&Command::CheckSensor), code }),
        }
    }

    /// GetRandomCode.
    pub async fn random_code(&mut self) -> Result<u32, ZfmError> {
        match self.run_ok(&Command::GetRandomCode).await? {
            Reply::RandomCode { value, .. } => Ok(value),
            other => Err(unexpected(CommandId::from_opcode(opcode::GET_RANDOM_CODE), "random code", &other)),
        }
    }

    /// ReadNotepad, page 0-15.
    pub async fn read_notepad(&mut self, page: u8) -> Result<[u8; 32], ZfmError> {
        match self.run_ok(&Command::ReadNotepad { page }).await? {
            Reply::Notepad { data, .. } => Ok(data),
            other => Err(unexpected(CommandId::from_opcode(opcode::READ_NOTEPAD), "notepad", &other)),
        }
    }

    /// WriteNotepad, page 0-15 (sent once).
    pub async fn write_notepad(&mut self, page: u8, data: &[u8; 32]) -> Result<(), ZfmError> {
        self.run_ok(&Command::WriteNotepad { page, data: *data }).await.map(drop)
    }

    /// AuraLedConfig (R503). `count` 0 repeats forever.
    pub async fn led(&mut self, mode: LedMode, speed: u8, colour: LedColour, count: u8) -> Result<(), ZfmError> {
        let cmd = Command::AuraLedConfig { ctrl: mode.code(), speed, colour: colour.code(), count };
        self.run_ok(&cmd).await.map(drop)
    }

    // ---- configuration ----

    /// SetSysPara 6. Later downloads are split at the new size; uploads accept whatever size arrives.
    pub async fn set_packet_size(&mut self, size: PacketSize) -> Result<(), ZfmError> {
        let id = CommandId::from_opcode(opcode::SET_SYS_PARA);
        let Some(_) = size.bytes() else {
            return Err(ZfmError::InvalidArgument {
                command: id,
                detail: format!("expected packet size code 0-3, found {}", size.code()),
            });
        };
        self.run_ok(&Command::SetSysPara { param: 6, value: size.code() as u8 }).await.map(drop)
    }

    /// SetSysPara 4: baud = 9600 x `multiplier` (R30x 1-12, R503 1/2/4/6/12). Real modules apply it after a
    /// power cycle, so the link's own baud rate must be changed by the caller then, not now.
    pub async fn set_baud(&mut self, multiplier: u8) -> Result<(), ZfmError> {
        if !(1..=12).contains(&multiplier) {
            return Err(ZfmError::InvalidArgument {
                command: CommandId::from_opcode(opcode::SET_SYS_PARA),
                detail: format!("expected a baud multiplier 1-12, found {multiplier}"),
            });
        }
        self.run_ok(&Command::SetSysPara { param: 4, value: multiplier }).await.map(drop)
    }

    /// SetSysPara 5: security level 1-5.
    pub async fn set_security_level(&mut self, level: u8) -> Result<(), ZfmError> {
        if !(1..=5).contains(&level) {
            return Err(ZfmError::InvalidArgument {
                command: CommandId::from_opcode(opcode::SET_SYS_PARA),
                detail: format!("expected a security level 1-5, found {level}"),
            });
        }
        self.run_ok(&Command::SetSysPara { param: 5, value: level }).await.map(drop)
    }

    /// SetPwd. The driver uses the new password for later VfyPwd (after [`Zfm::soft_reset`] or a reconnect with
    /// these options). Modules apply it at power-up; keep it safe: a module with a forgotten password is lost.
    pub async fn set_password(&mut self, password: u32) -> Result<(), ZfmError> {
        self.run_ok(&Command::SetPwd(password)).await.map(drop)
    }

    /// SetAddr. The ack is accepted from the old or the new address; afterwards the driver uses the new one.
    pub async fn set_address(&mut self, address: u32) -> Result<(), ZfmError> {
        let cmd = Command::SetAddr(address);
        self.pending_address = Some(address);
        let result = self.transact(&cmd, 1).await;
        self.pending_address = None;
        expect_ok(CommandId::of(&cmd), &result?)?;
        self.address = address;
        self.opts.address = address;
        self.params.address = address;
        Ok(())
    }

    fn after_success(&mut self, cmd: &Command) {
        match *cmd {
            Command::SetSysPara { param: 4, value } => self.params.baud_multiplier = u16::from(value),
            Command::SetSysPara { param: 5, value } => self.params.security_level = u16::from(value),
            Command::SetSysPara { param: 6, value } => {
                self.params.packet_size = PacketSize::from_code(u16::from(value));
            }
            Command::SetPwd(password) => self.opts.password = password,
            _ => {}
        }
    }

    // ---- fingers ----

    /// GenImg: `Ok(true)` with a finger imaged, `Ok(false)` when there is no finger (02).
    pub async fn capture(&mut self) -> Result<bool, ZfmError> {
        self.capture_with(Command::GenImg).await
    }

    /// GetImageEx (enrolment-quality capture): as [`Zfm::capture`].
    pub async fn capture_ex(&mut self) -> Result<bool, ZfmError> {
        self.capture_with(Command::GetImageEx).await
    }

    async fn capture_with(&mut self, cmd: Command) -> Result<bool, ZfmError> {
        let reply = self.execute(&cmd).await?;
        match reply.cc() {
            ConfirmationCode::Ok => Ok(true),
            ConfirmationCode::NoFinger => Ok(false),
            code => Err(ZfmError::DeviceSaid { command: CommandId::of(&cmd), code }),
        }
    }

    /// Polls GenImg every `poll` until a finger is imaged, for at most `deadline`.
    pub async fn wait_for_finger(&mut self, poll: Duration, deadline: Duration) -> Result<(), ZfmError> {
        self.poll_until(true, poll, deadline, |waited| ZfmError::NoFinger { waited }).await
    }

    /// Polls GenImg every `poll` until the sensor is empty, for at most `deadline`.
    pub async fn wait_for_lift(&mut self, poll: Duration, deadline: Duration) -> Result<(), ZfmError> {
        self.poll_until(false, poll, deadline, |waited| ZfmError::FingerNotLifted { waited }).await
    }

    /// Polls GenImg every `poll` until its finger/no-finger answer is `finger`; `gave_up` after `deadline`.
    async fn poll_until(
        &mut self,
        finger: bool,
        poll: Duration,
        deadline: Duration,
        gave_up: fn(Duration) -> ZfmError,
    ) -> Result<(), ZfmError> {
        let start = Instant::now();
        loop {
            if self.capture().await? == finger {
                return Ok(());
            }
            if start.elapsed() + poll > deadline {
                return Err(gave_up(start.elapsed()));
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Img2Tz: the image buffer's characteristics into character buffer `buffer`.
    pub async fn image_to_template(&mut self, buffer: u8) -> Result<(), ZfmError> {
        self.run_ok(&Command::Img2Tz { buffer }).await.map(drop)
    }

    /// Match buffer 1 against buffer 2: `Some(score)` when they match, `None` when the module says they do not
    /// (08). A score of 0 from pyfingerprint-style clients corresponds to `None` here.
    pub async fn compare_buffers(&mut self) -> Result<Option<u16>, ZfmError> {
        let id = CommandId::from_opcode(opcode::MATCH);
        match self.execute(&Command::Match).await? {
            Reply::Match { cc: ConfirmationCode::Ok, score } => Ok(Some(score)),
            reply if reply.cc() == ConfirmationCode::NoMatch => Ok(None),
            reply if !reply.cc().is_ok() => Err(ZfmError::DeviceSaid { command: id, code: reply.cc() }),
            other => Err(unexpected(id, "match", &other)),
        }
    }

    /// Search `count` pages from `start` for buffer `buffer`: `None` when not found (09).
    pub async fn search(&mut self, buffer: u8, start: u16, count: u16) -> Result<Option<SearchHit>, ZfmError> {
        self.search_with(Command::Search { buffer, start, count }).await
    }

    /// HiSpeedSearch: as [`Zfm::search`].
    pub async fn hi_speed_search(&mut self, buffer: u8, start: u16, count: u16) -> Result<Option<SearchHit>, ZfmError> {
        self.search_with(Command::HiSpeedSearch { buffer, start, count }).await
    }

    /// Search the whole library for buffer `buffer`.
    pub async fn search_library(&mut self, buffer: u8) -> Result<Option<SearchHit>, ZfmError> {
        let count = self.library_size();
        self.search(buffer, 0, count).await
    }

    async fn search_with(&mut self, cmd: Command) -> Result<Option<SearchHit>, ZfmError> {
        let id = CommandId::of(&cmd);
        match self.execute(&cmd).await? {
            Reply::Search { cc: ConfirmationCode::Ok, page, score } => Ok(Some(SearchHit { page, score })),
            reply if reply.cc() == ConfirmationCode::NotFound => Ok(None),
            reply if !reply.cc().is_ok() => Err(ZfmError::DeviceSaid { command: id, code: reply.cc() }),
            other => Err(unexpected(id, "search", &other)),
        }
    }

    /// RegModel: merge the character buffers into a template (sent once: see [`is_repeatable`]).
    pub async fn merge(&mut self) -> Result<(), ZfmError> {
        self.run_ok(&Command::RegModel).await.map(drop)
    }

    /// Enrols a finger at `page`: for each capture, wait for the finger (after the first, wait for it to lift
    /// first), Img2Tz into buffers 1, 2, ...; then RegModel and Store buffer 1. Captures the module rejects as
    /// poor are retaken, up to [`EnrolOptions::bad_captures`].
    pub async fn enrol(&mut self, page: u16, how: &EnrolOptions) -> Result<(), ZfmError> {
        let id = CommandId::from_opcode(opcode::REG_MODEL);
        if how.captures < 2 || how.captures > usize::from(self.opts.char_buffers) {
            return Err(ZfmError::InvalidArgument {
                command: id,
                detail: format!(
                    "expected 2 to {} captures (Options::char_buffers), found {}",
                    self.opts.char_buffers, how.captures
                ),
            });
        }
        let capacity = self.library_size();
        if capacity > 0 && page >= capacity {
            return Err(ZfmError::InvalidArgument {
                command: CommandId::from_opcode(opcode::STORE),
                detail: format!("expected a page below the library size {capacity}, found {page}"),
            });
        }
        let mut rejected = 0;
        for i in 0..how.captures {
            let buffer = (i + 1) as u8;
            let mut first_try = true;
            loop {
                if i > 0 || !first_try {
                    self.wait_for_lift(how.poll, how.finger_deadline).await?;
                }
                first_try = false;
                self.wait_for_finger(how.poll, how.finger_deadline).await?;
                match self.image_to_template(buffer).await {
                    Ok(()) => break,
                    Err(ZfmError::DeviceSaid {
                        code:
                            ConfirmationCode::ImageTooDisordered
                            | ConfirmationCode::TooFewFeaturePoints
                            | ConfirmationCode::NoValidPrimaryImage,
                        ..
                    }) if rejected < how.bad_captures => {
                        rejected += 1;
                        debug!(capture = i + 1, rejected, "capture rejected as poor; retaking");
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        self.merge().await?;
        self.store(1, page).await
    }

    // ---- library ----

    /// Store buffer `buffer` at `page`. Sent once; if its ack does not come, the driver reads the index table
    /// and returns [`ZfmError::StoreUnconfirmed`] with what it shows. Store is never re-sent.
    pub async fn store(&mut self, buffer: u8, page: u16) -> Result<(), ZfmError> {
        let cmd = Command::Store { buffer, page };
        match self.execute(&cmd).await {
            Ok(reply) => expect_ok(CommandId::of(&cmd), &reply),
            Err(ZfmError::Timeout { command, waited, outcome_unknown: true, .. })
                if command.opcode == opcode::STORE =>
            {
                let slot_used = match self.slot_used(page).await {
                    Ok(used) => Some(used),
                    Err(e @ ZfmError::Line { .. }) => return Err(e),
                    Err(_) => None,
                };
                self.event(Event::StoreChecked { page, slot_used });
                Err(ZfmError::StoreUnconfirmed { page, slot_used, waited })
            }
            Err(e) => Err(e),
        }
    }

    /// LoadChar: page `page` into buffer `buffer`.
    pub async fn load(&mut self, buffer: u8, page: u16) -> Result<(), ZfmError> {
        self.run_ok(&Command::LoadChar { buffer, page }).await.map(drop)
    }

    /// DeleteChar: `count` templates from `page` (sent once).
    pub async fn delete(&mut self, page: u16, count: u16) -> Result<(), ZfmError> {
        self.run_ok(&Command::DeleteChar { page, count }).await.map(drop)
    }

    /// Empty: the whole library (sent once).
    pub async fn empty(&mut self) -> Result<(), ZfmError> {
        self.run_ok(&Command::Empty).await.map(drop)
    }

    /// TemplateNum.
    pub async fn template_count(&mut self) -> Result<u16, ZfmError> {
        match self.run_ok(&Command::TemplateNum).await? {
            Reply::TemplateNum { count, .. } => Ok(count),
            other => Err(unexpected(CommandId::from_opcode(opcode::TEMPLATE_NUM), "template count", &other)),
        }
    }

    /// ReadIndexTable page 0-3: the used slots it covers (page*256 ..), ascending.
    pub async fn read_index(&mut self, page: u8) -> Result<Vec<u16>, ZfmError> {
        let id = CommandId::from_opcode(opcode::READ_INDEX_TABLE);
        if page > 3 {
            return Err(ZfmError::InvalidArgument {
                command: id,
                detail: format!("expected index page 0-3, found {page}"),
            });
        }
        match self.run_ok(&Command::ReadIndexTable { page }).await? {
            Reply::IndexTable { bitmap, .. } => Ok(bitmap.slots(page)),
            other => Err(unexpected(id, "index table", &other)),
        }
    }

    /// Every used slot of the library, from as many index pages as the library size needs.
    pub async fn used_slots(&mut self) -> Result<Vec<u16>, ZfmError> {
        let capacity = self.library_size();
        let pages = if capacity == 0 { 4 } else { capacity.div_ceil(256).min(4) as u8 };
        let mut used = Vec::new();
        for page in 0..pages {
            used.extend(self.read_index(page).await?.into_iter().filter(|&s| capacity == 0 || s < capacity));
        }
        Ok(used)
    }

    /// Whether the index table shows `page` used.
    pub async fn slot_used(&mut self, page: u16) -> Result<bool, ZfmError> {
        let index_page = page / 256;
        if index_page > 3 {
            return Err(ZfmError::InvalidArgument {
                command: CommandId::from_opcode(opcode::READ_INDEX_TABLE),
                detail: format!("expected a library page below 1024, found {page}"),
            });
        }
        Ok(self.read_index(index_page as u8).await?.contains(&page))
    }

    /// The lowest free slot, if any.
    pub async fn first_free_slot(&mut self) -> Result<Option<u16>, ZfmError> {
        let capacity = self.library_size();
        let used = self.used_slots().await?;
        Ok((0..capacity).find(|s| used.binary_search(s).is_err()))
    }

    // ---- transfers ----

    /// UpChar: the contents of character buffer `buffer`, in whatever packet size the module uses. The whole
    /// upload is repeated if packets are lost.
    pub async fn upload_template(&mut self, buffer: u8) -> Result<Vec<u8>, ZfmError> {
        let expected = self.opts.template_size.or(self.learned_template_size);
        let data = self.upload(&Command::UpChar { buffer }, expected).await?;
        if self.opts.template_size.is_none() {
            self.learned_template_size = Some(data.len());
        }
        Ok(data)
    }

    /// DownChar: `template` into character buffer `buffer`, split at the current packet size (sent once).
    pub async fn download_template(&mut self, buffer: u8, template: &[u8]) -> Result<(), ZfmError> {
        let id = CommandId::from_opcode(opcode::DOWN_CHAR);
        if let Some(size) = self.opts.template_size.or(self.learned_template_size)
            && template.len() != size
        {
            return Err(ZfmError::InvalidArgument {
                command: id,
                detail: format!("expected a {size}-byte template, found {} bytes", template.len()),
            });
        }
        self.download(&Command::DownChar { buffer }, template).await
    }

    /// UpImage: the image in the UART format (4 bits a pixel, two a byte). Its size is checked against
    /// [`Zfm::image_geometry`] when known.
    pub async fn upload_image(&mut self) -> Result<Vec<u8>, ZfmError> {
        let expected = self.image_bytes();
        self.upload(&Command::UpImage, expected).await
    }

    /// UpImage as 8-bit pixels, row by row (`width * height` of them when the geometry is known).
    pub async fn upload_image_pixels(&mut self) -> Result<Vec<u8>, ZfmError> {
        let packed = self.upload_image().await?;
        let mut pixels = image::unpack(&packed);
        if let Some((w, h)) = self.image_geometry() {
            pixels.truncate(usize::from(w) * usize::from(h));
        }
        Ok(pixels)
    }

    /// DownImage: a packed image (see [`Zfm::upload_image`]), split at the current packet size (sent once).
    pub async fn download_image(&mut self, packed: &[u8]) -> Result<(), ZfmError> {
        let id = CommandId::from_opcode(opcode::DOWN_IMAGE);
        if let Some(n) = self.image_bytes()
            && packed.len() != n
        {
            return Err(ZfmError::InvalidArgument {
                command: id,
                detail: format!("expected {n} packed bytes for the image geometry, found {}", packed.len()),
            });
        }
        self.download(&Command::DownImage, packed).await
    }

    /// DownImage from 8-bit pixels (packed to 4 bits a pixel first).
    pub async fn download_image_pixels(&mut self, pixels: &[u8]) -> Result<(), ZfmError> {
        self.download_image(&image::pack(pixels)).await
    }

    /// ReadInfPage: the 512-byte information page.
    pub async fn read_info_page(&mut self) -> Result<Vec<u8>, ZfmError> {
        self.upload(&Command::ReadInfPage, Some(512)).await
    }

    async fn upload(&mut self, cmd: &Command, expected: Option<usize>) -> Result<Vec<u8>, ZfmError> {
        let id = CommandId::of(cmd);
        let attempts = self.attempts();
        let mut last = String::new();
        let mut unverified_len = None;
        for attempt in 1..=attempts {
            let reply = self.transact(cmd, attempts).await?;
            expect_ok(id, &reply)?;
            let problem = match self.collect(id, expected).await? {
                Collected::Complete(data) => return Ok(data),
                // Two noisy transfers of the same length: losing a packet from both alike is unlikely enough.
                Collected::Unverified(data) if unverified_len == Some(data.len()) => return Ok(data),
                Collected::Unverified(data) => {
                    unverified_len = Some(data.len());
                    format!(
                        "line noise during a transfer of unknown size ({} bytes received); cannot rule out a lost \
                         packet",
                        data.len()
                    )
                }
                Collected::Broken(detail) => detail,
            };
            // What is left of the transfer is still arriving: drain it before anything else.
            self.dirty = true;
            debug!(command = %id, attempt, detail = %problem, "upload abandoned");
            self.event(Event::TransferAborted { command: id, attempt, detail: problem.clone() });
            if attempt < attempts {
                self.stats.transfer_restarts += 1;
            }
            last = problem;
        }
        Err(ZfmError::Transfer { command: id, attempts, detail: last })
    }

    /// Data packets after an upload's ack, until the end-data packet.
    async fn collect(&mut self, id: CommandId, expected: Option<usize>) -> Result<Collected, ZfmError> {
        let wait = self.opts.timeouts.data_packet;
        let mut data = Vec::with_capacity(expected.unwrap_or(512));
        let mut packet_len: Option<usize> = None;
        let mut packets = 0usize;
        let broken = |this: &mut Self, detail: String| {
            this.absorb_garbage();
            Ok(Collected::Broken(detail))
        };
        loop {
            let Some(frame) = self.recv(id, Instant::now() + wait).await? else {
                return broken(
                    self,
                    format!(
                        "expected data packet {} within {wait:?}, found silence after {} bytes",
                        packets + 1,
                        data.len()
                    ),
                );
            };
            let n = packets + 1;
            if frame.address != self.address {
                return broken(
                    self,
                    format!("packet {n}: expected address {:08X}, found {:08X}", self.address, frame.address),
                );
            }
            let last = match frame.kind {
                PacketKind::Data => false,
                PacketKind::EndData => true,
                other => return broken(self, format!("packet {n}: expected a data packet, found {other}")),
            };
            let len = frame.payload.len();
            match packet_len {
                None if !last && len == 0 => return broken(self, format!("packet {n}: empty data packet")),
                None if !last => packet_len = Some(len),
                Some(size) if (!last && len != size) || (last && len > size) => {
                    return broken(
                        self,
                        format!("packet {n}: expected {size} bytes like the packets before, found {len}"),
                    );
                }
                _ => {}
            }
            data.extend_from_slice(&frame.payload);
            packets = n;
            let limit = expected.unwrap_or(MAX_UPLOAD);
            if data.len() > limit {
                return broken(
                    self,
                    format!("expected at most {limit} bytes in all, found more after {packets} packets"),
                );
            }
            if last {
                break;
            }
        }
        let noise = self.absorb_garbage();
        debug!(command = %id, bytes = data.len(), packets, packet_len, "upload received");
        Ok(match expected {
            Some(total) if data.len() != total => {
                Collected::Broken(format!("expected {total} bytes, found {} in {packets} packets", data.len()))
            }
            None if noise > 0 => Collected::Unverified(data),
            _ => Collected::Complete(data),
        })
    }

    async fn download(&mut self, cmd: &Command, data: &[u8]) -> Result<(), ZfmError> {
        let id = CommandId::of(cmd);
        if data.is_empty() {
            return Err(ZfmError::InvalidArgument { command: id, detail: "expected data to send, found none".into() });
        }
        let size = self.packet_bytes();
        let reply = self.transact(cmd, 1).await?;
        expect_ok(id, &reply)?;
        let wait = self.opts.timeouts.data_packet;
        let frames = image::split_at_address(data, size, self.address);
        let count = frames.len();
        for frame in frames {
            let bytes =
                frame.try_encode().map_err(|e| ZfmError::InvalidArgument { command: id, detail: e.to_string() })?;
            if !self.wire.send(&bytes, Instant::now() + wait).await.map_err(line(id))? {
                self.dirty = true;
                self.stats.timeouts += 1;
                return Err(ZfmError::Timeout {
                    command: id,
                    waited: wait,
                    attempts: 1,
                    outcome_unknown: true,
                    hint: "the line stalled while sending data packets",
                });
            }
        }
        debug!(command = %id, bytes = data.len(), packets = count, packet_size = size, "download sent");
        Ok(())
    }

    // ---- the exchange machinery ----

    fn attempts(&self) -> u32 {
        self.opts.retries.saturating_add(1)
    }

    fn event(&mut self, event: Event) {
        if self.events.len() == EVENT_CAP {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// Moves the decoder's garbage count into the stats; returns the bytes skipped.
    fn absorb_garbage(&mut self) -> u64 {
        let skipped = self.wire.take_skipped();
        if skipped.bytes > 0 {
            self.stats.garbage_bytes += skipped.bytes;
            self.stats.garbage_events += skipped.events;
            debug!(bytes = skipped.bytes, skips = skipped.events, "line noise skipped");
            self.event(Event::Garbage { bytes: skipped.bytes, skips: skipped.events, last: skipped.last });
        }
        skipped.bytes
    }

    async fn drain(&mut self, before: CommandId) -> Result<(), ZfmError> {
        let t = self.opts.timeouts;
        let pending = self.wire.buffered().len();
        let bytes = self.wire.drain(t.quiet, t.drain_limit).await.map_err(line(before))?.len();
        self.absorb_garbage();
        if bytes > 0 {
            debug!(bytes, pending, "drained stale bytes");
            self.stats.drained_bytes += bytes as u64;
            self.event(Event::Drained { bytes });
        }
        Ok(())
    }

    /// Sends `cmd` up to `max_attempts` times (once if it is not repeatable), resyncing first whenever the line
    /// may carry stale replies. Returns the first reply that fits, whatever its confirmation code (except a
    /// retried 01).
    async fn transact(&mut self, cmd: &Command, max_attempts: u32) -> Result<Reply, ZfmError> {
        let id = CommandId::of(cmd);
        let repeatable = is_repeatable(cmd);
        let attempts = if repeatable { max_attempts.max(1) } else { 1 };
        let wait = self.opts.timeouts.for_command(cmd);
        let mut attempt = 0;
        loop {
            attempt += 1;
            if self.dirty
                && let Err(e) = self.resync(id).await
            {
                return Err(match e {
                    ZfmError::Timeout { waited, .. } => ZfmError::Timeout {
                        command: id,
                        waited,
                        attempts: attempt - 1,
                        outcome_unknown: false,
                        hint: if attempt == 1 {
                            "not sent: the module did not answer the resynchronisation probe (ReadSysPara) before it"
                        } else {
                            "the module stopped answering: the resynchronisation probe (ReadSysPara) got no reply either"
                        },
                    },
                    other => other,
                });
            }
            match self.exchange(cmd, id, wait).await? {
                Some(reply) if reply.cc() == ConfirmationCode::PacketReceiveError && attempt < attempts => {
                    self.retry(id, attempt + 1, "the module reported a packet receive error (01)");
                }
                Some(reply) => return Ok(reply),
                None => {
                    self.dirty = true;
                    self.stats.timeouts += 1;
                    debug!(command = %id, attempt, ?wait, "no reply");
                    self.event(Event::Timeout { command: id, attempt, waited: wait });
                    if attempt >= attempts {
                        if !repeatable {
                            self.stats.unconfirmed += 1;
                            self.event(Event::Unconfirmed { command: id });
                        }
                        return Err(ZfmError::Timeout {
                            command: id,
                            waited: wait,
                            attempts: attempt,
                            outcome_unknown: !repeatable,
                            hint: "",
                        });
                    }
                    self.retry(id, attempt + 1, "no valid reply in time");
                }
            }
        }
    }

    fn retry(&mut self, command: CommandId, attempt: u32, cause: &'static str) {
        self.stats.retries += 1;
        debug!(%command, attempt, cause, "retrying");
        self.event(Event::Retry { command, attempt, cause });
    }

    /// Writes `cmd` as a command frame; `Ok(false)` when the line stalled past `deadline`. Errors name `id`.
    async fn send_command(&mut self, cmd: &Command, id: CommandId, deadline: Instant) -> Result<bool, ZfmError> {
        let frame = ZfmFrame { address: self.address, kind: PacketKind::Command, payload: cmd.to_payload() };
        let bytes = frame.try_encode().map_err(|e| ZfmError::InvalidArgument { command: id, detail: e.to_string() })?;
        self.stats.commands += 1;
        debug!(command = %CommandId::of(cmd), len = frame.payload.len(), "send");
        self.wire.send(&bytes, deadline).await.map_err(line(id))
    }

    /// The next frame before `deadline` (`None`: none came). A broken line is `Line` naming `id`, with the
    /// garbage seen before it counted.
    async fn recv(&mut self, id: CommandId, deadline: Instant) -> Result<Option<ZfmFrame>, ZfmError> {
        let received = self.wire.recv(deadline).await;
        received.map_err(|source| {
            self.absorb_garbage();
            ZfmError::Line { command: id, source }
        })
    }

    /// One attempt: send, then wait for a reply that fits. `None` on timeout.
    async fn exchange(&mut self, cmd: &Command, id: CommandId, wait: Duration) -> Result<Option<Reply>, ZfmError> {
        let deadline = Instant::now() + wait;
        if !self.send_command(cmd, id, deadline).await? {
            return Ok(None);
        }
        let reply = loop {
            let Some(frame) = self.recv(id, deadline).await? else { break None };
            match self.classify(id.opcode, &frame) {
                Ok(reply) => {
                    debug!(command = %id, cc = %reply.cc(), len = frame.payload.len(), "reply");
                    break Some(reply);
                }
                Err(why) => self.stale(id, &frame, why),
            }
        };
        self.absorb_garbage();
        Ok(reply)
    }

    /// Whether `frame` can be the reply to instruction `code`.
    fn classify(&self, code: u8, frame: &ZfmFrame) -> Result<Reply, &'static str> {
        if frame.address != self.address && Some(frame.address) != self.pending_address {
            return Err("from another address");
        }
        if frame.kind != PacketKind::Ack {
            return Err("not an ack");
        }
        Reply::parse(code, &frame.payload).map_err(|_| "payload length does not fit this instruction's reply")
    }

    fn stale(&mut self, awaiting: CommandId, frame: &ZfmFrame, why: &'static str) {
        self.dirty = true;
        self.stats.stale_frames += 1;
        debug!(%awaiting, kind = %frame.kind, len = frame.payload.len(), why, "stale frame discarded");
        self.event(Event::Stale { awaiting, kind: frame.kind, address: frame.address, len: frame.payload.len(), why });
    }

    /// Drain, then a ReadSysPara barrier: every frame before its 17-byte reply is stale. Only the barrier's
    /// reply shape is accepted (or a short "password must be verified" (21) from a module that wants VfyPwd).
    async fn resync(&mut self, before: CommandId) -> Result<(), ZfmError> {
        self.stats.resyncs += 1;
        let probe = Command::ReadSysPara;
        let pid = CommandId::of(&probe);
        let wait = self.opts.timeouts.reply;
        let attempts = self.attempts();
        for probes in 1..=attempts {
            self.drain(before).await?;
            let deadline = Instant::now() + wait;
            if !self.send_command(&probe, before, deadline).await? {
                continue;
            }
            loop {
                let Some(frame) = self.recv(before, deadline).await? else { break };
                let barrier = match self.classify(pid.opcode, &frame) {
                    Ok(Reply::SystemParameters { cc, params }) => {
                        if cc.is_ok() {
                            self.params = params;
                        }
                        true
                    }
                    Ok(Reply::Status(ConfirmationCode::PasswordMustBeVerified)) => true,
                    Ok(_) => false,
                    Err(why) => {
                        self.stale(pid, &frame, why);
                        continue;
                    }
                };
                if barrier {
                    // Replies to earlier probes may follow right behind this one.
                    self.drain(before).await?;
                    self.dirty = false;
                    debug!(%before, probes, "line resynchronised");
                    self.event(Event::Resynced { before, probes });
                    return Ok(());
                }
                self.stale(pid, &frame, "a short status cannot mark the barrier");
            }
            self.absorb_garbage();
            self.stats.timeouts += 1;
            self.event(Event::Timeout { command: pid, attempt: probes, waited: wait });
        }
        Err(ZfmError::Timeout {
            command: pid,
            waited: wait,
            attempts,
            outcome_unknown: false,
            hint: "the module did not answer the resynchronisation probe sent before the next command",
        })
    }
}
