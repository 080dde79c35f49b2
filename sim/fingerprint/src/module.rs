//! The module's state machine: registers, image buffer, character buffers, password, flash. It answers one
//! typed [`Command`] with a typed [`Reply`] and says what follows (data packets out, data packets in, the R503's
//! handshake byte). No bytes, no I/O, no clock: only [`serve`](crate::serve) sees the wire, and persistence goes
//! through the [`FlashStore`] it is given.
//!
//! Where the manuals do not say which code a module gives, the simulator's choice is written next to it.

use std::sync::{Arc, Mutex};

use khil_biometrics::extract::extract;
use khil_biometrics::image::GrayImage;
use khil_fingerprint::command::{IndexBitmap, ProductInfo, SystemParameters, opcode};
use khil_fingerprint::{Command, ConfirmationCode as Cc, PacketSize, Reply};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::charfile;
pub use crate::charfile::CharBuffer;
use crate::flash::{Flash, StateError, StateFile};
use crate::profile::{CHAR_FILE_LEN, Profile};
use crate::quirks::{Quirk, Quirks};
use khil_sim_population::{FingerModel, Fingers, Impression, Presence, Sight, score};

/// What Img2Tz makes of an image: a character buffer, or the code that says why not.
pub type Extracted = Result<CharBuffer, Cc>;

/// Fewer minutiae than this: 07 "too few feature points".
const MIN_MINUTIAE: usize = 8;
/// Module scores are the simulated sensors' reported score ([`khil_sim_population::score`], in decades of false
/// match rate) times this, 0-300. Up to 125 a score s means impostors reach it with probability about
/// 10^-(s/25) (measured); above it a score says how much of two prints agree, so genuine pairs spread from about
/// 125 (poor captures) to 265 (good ones) and identical templates score 300. Security level L accepts scores from
/// 25 (L + 1): level 1 is a false match rate of 1 %, the default level 3 is 0.01 %, level 4 0.001 %; level 5
/// (150) lies beyond the measured range and turns away about a fifth of `mixed` genuine captures (17 of 80 on an
/// R307, seed 21, after issue #16's second round of extractor and matcher changes; 14 after its first round, a
/// fifth to a third before it).
pub const SCORE_PER_DECADE: f32 = 25.0;

/// The score a comparison must reach at security level `level` (1-5).
pub fn threshold(level: u8) -> u16 {
    (SCORE_PER_DECADE * f32::from(level.clamp(1, 5) + 1)) as u16
}

/// Where the flash goes when it changes.
pub trait FlashStore: Send {
    fn save(&mut self, profile: &Profile, flash: &Flash) -> Result<(), StateError>;
}

/// No persistence: the library lives as long as the process.
#[derive(Debug, Default)]
pub struct Volatile;

impl FlashStore for Volatile {
    fn save(&mut self, _: &Profile, _: &Flash) -> Result<(), StateError> {
        Ok(())
    }
}

impl FlashStore for StateFile {
    fn save(&mut self, profile: &Profile, flash: &Flash) -> Result<(), StateError> {
        StateFile::save(self, profile, flash)
    }
}

/// What the host sends after an ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// DownChar: a character file into buffer `n`.
    CharBuffer(u8),
    /// DownImage: an image in the 4-bit wire format.
    Image,
}

/// What follows an ack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Then {
    Nothing,
    /// These bytes go out as data packets of the current packet size.
    Send(Vec<u8>),
    /// The host now sends data packets.
    Receive(Incoming),
    /// A raw 0x55 after the ack (R503 SoftRst).
    HandshakeByte,
}

/// The module's answer to one command packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The address the ack comes from (the new one right after SetAddr).
    pub address: u32,
    pub reply: Reply,
    pub then: Then,
}

/// Conditions the fault plan imposes on one command.
#[derive(Debug, Clone, Copy, Default)]
pub struct Conditions {
    /// The sensor is broken for this command: captures and CheckSensor answer 29.
    pub sensor_fault: bool,
}

/// What is in the image buffer.
#[derive(Debug, Clone)]
enum ImageBuffer {
    /// Power-up: zeros (a black image).
    Empty,
    /// A capture.
    Captured(Arc<Impression>),
    /// Downloaded by the host.
    Downloaded(GrayImage),
}

/// Status register bits (ReadSysPara word 0).
mod status {
    pub(super) const PASS: u16 = 1 << 1;
    pub(super) const PASSWORD_VERIFIED: u16 = 1 << 2;
    pub(super) const IMAGE_VALID: u16 = 1 << 3;
}

/// One module.
pub struct Module {
    profile: Profile,
    flash: Flash,
    store: Box<dyn FlashStore>,
    fingers: Arc<Fingers>,
    finger: Arc<Mutex<FingerModel>>,
    rng: ChaCha8Rng,
    quirks: Quirks,
    // Volatile state, reset at power-up (and SoftRst).
    /// The password in force since power-up (SetPwd takes effect at the next one).
    power_up_password: u32,
    verified: bool,
    image: ImageBuffer,
    buffers: Vec<CharBuffer>,
    pass: bool,
    led: Option<[u8; 4]>,
}

impl std::fmt::Debug for Module {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Counts only: templates and images are biometric data.
        f.debug_struct("Module")
            .field("profile", &self.profile.name)
            .field("address", &format_args!("{:08X}", self.flash.address))
            .field("templates", &self.flash.library.len())
            .finish_non_exhaustive()
    }
}

fn u8_text<const N: usize>(text: &str) -> [u8; N] {
    let mut out = [0u8; N];
    let n = text.len().min(N);
    out[..n].copy_from_slice(&text.as_bytes()[..n]);
    out
}

impl Module {
    /// A module at power-up with `flash` (from a state file, or [`Flash::factory`]).
    pub fn new(
        profile: Profile,
        flash: Flash,
        store: Box<dyn FlashStore>,
        fingers: Arc<Fingers>,
        finger: Arc<Mutex<FingerModel>>,
        seed: u64,
        quirks: Quirks,
    ) -> Module {
        let mut m = Module {
            profile,
            power_up_password: flash.password,
            flash,
            store,
            fingers,
            finger,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6b68_696c_7261_6e64),
            quirks,
            verified: false,
            image: ImageBuffer::Empty,
            buffers: Vec::new(),
            pass: false,
            led: None,
        };
        m.power_up();
        m
    }

    /// Volatile state as after power-up.
    fn power_up(&mut self) {
        self.power_up_password = self.flash.password;
        self.verified = false;
        self.image = ImageBuffer::Empty;
        self.buffers = vec![CharBuffer::zeros(); usize::from(self.profile.char_buffers)];
        self.pass = false;
        self.led = None;
    }

    /// The address commands must carry.
    pub fn address(&self) -> u32 {
        self.flash.address
    }

    /// The data packet size in bytes.
    pub fn packet_size(&self) -> usize {
        PacketSize::from_code(u16::from(self.flash.packet_size_code)).bytes().unwrap_or(128)
    }

    /// The LED ring's last configuration (ctrl, speed, colour, count), if any.
    pub fn led(&self) -> Option<[u8; 4]> {
        self.led
    }

    /// The length of the data a host sends for `incoming`.
    pub fn incoming_len(&self, incoming: Incoming) -> usize {
        match incoming {
            Incoming::CharBuffer(_) => CHAR_FILE_LEN,
            Incoming::Image => self.profile.image_wire_len(),
        }
    }

    /// An answer from this module's address.
    fn ack(&self, reply: Reply) -> Response {
        Response { address: self.flash.address, reply, then: Then::Nothing }
    }

    fn fail(&self, instruction: u8, cc: Cc) -> Response {
        if self.quirks.has(Quirk::ShortErrors) {
            return self.ack(Reply::Status(cc));
        }
        self.ack(Reply::error(instruction, cc))
    }

    /// Pages accepted: `0..capacity` (one more with the off-by-one quirk).
    fn pages(&self) -> u16 {
        self.profile.capacity + u16::from(self.quirks.has(Quirk::PageOffByOne))
    }

    /// A command packet whose content does not parse (wrong parameter length): 01, as for a bad checksum.
    pub fn malformed(&self, instruction: u8) -> Response {
        self.fail(instruction, Cc::PacketReceiveError)
    }

    /// A command packet sent to another address. The simulator answers 20 "wrong address" from its own address
    /// (a silent module would look dead to a host configured with the wrong address).
    pub fn wrong_address(&self, instruction: u8) -> Response {
        self.fail(instruction, Cc::WrongAddress)
    }

    /// Makes a flash change durable, or undoes it and answers `cc` (18 flash write error, 10, 11...).
    fn commit(&mut self, before: Flash, instruction: u8, cc: Cc, reply: Reply) -> Response {
        match self.store.save(&self.profile, &self.flash) {
            Ok(()) => self.ack(reply),
            Err(e) => {
                tracing::error!(error = %e, "flash write failed; the change is undone");
                self.flash = before;
                self.fail(instruction, cc)
            }
        }
    }

    fn buffer_index(&self, buffer: u8) -> Option<usize> {
        (1..=self.profile.char_buffers).contains(&buffer).then(|| usize::from(buffer - 1))
    }

    /// Answers one command.
    #[allow(clippy::too_many_lines)] // One arm per instruction: the whole instruction set reads in one place.
    pub fn handle(&mut self, cmd: &Command, when: Conditions) -> Response {
        let code = cmd.opcode();
        if !self.profile.supports(code) {
            return self.fail(code, Cc::Unsupported);
        }
        let enforced = !self.quirks.has(Quirk::NoPassword);
        if enforced && self.power_up_password != 0 && !self.verified && !matches!(cmd, Command::VfyPwd(_)) {
            return self.fail(code, Cc::PasswordMustBeVerified);
        }
        match *cmd {
            Command::VfyPwd(pw) => {
                self.verified = pw == self.power_up_password || self.quirks.has(Quirk::AnyPassword);
                self.ack(Reply::Status(if self.verified { Cc::Ok } else { Cc::WrongPassword }))
            }
            Command::GenImg | Command::GetImageEx => self.capture(code, when),
            Command::Img2Tz { buffer } => self.img2tz(buffer),
            Command::Match => {
                let score = self.compare_buffers(0, 1);
                self.pass = score >= threshold(self.flash.security_level);
                if self.pass { self.ack(Reply::Match { cc: Cc::Ok, score }) } else { self.fail(code, Cc::NoMatch) }
            }
            Command::Search { buffer, start, count } | Command::HiSpeedSearch { buffer, start, count } => {
                self.search(code, buffer, start, count)
            }
            Command::RegModel => self.reg_model(),
            Command::Store { buffer, page } => {
                let Some(b) = self.buffer_index(buffer) else { return self.malformed(code) };
                if page >= self.pages() {
                    return self.fail(code, Cc::PageOutOfRange);
                }
                let before = self.flash.clone();
                // Made before the copy, so the slot shares it.
                self.buffers[b].template();
                self.flash.library.insert(page, self.buffers[b].clone());
                self.commit(before, code, Cc::FlashWriteError, Reply::Status(Cc::Ok))
            }
            Command::LoadChar { buffer, page } => {
                let Some(b) = self.buffer_index(buffer) else { return self.malformed(code) };
                if page >= self.pages() {
                    return self.fail(code, Cc::PageOutOfRange);
                }
                match self.flash.library.get(&page) {
                    Some(file) => {
                        self.buffers[b] = file.clone();
                        self.ack(Reply::Status(Cc::Ok))
                    }
                    None if self.quirks.has(Quirk::LoadEmptyOk) => {
                        self.buffers[b] = CharBuffer::zeros();
                        self.ack(Reply::Status(Cc::Ok))
                    }
                    None => self.fail(code, Cc::InvalidTemplate),
                }
            }
            Command::UpChar { buffer } => match self.buffer_index(buffer) {
                Some(b) => {
                    Response { then: Then::Send(self.buffers[b].bytes().to_vec()), ..self.ack(Reply::Status(Cc::Ok)) }
                }
                None => self.malformed(code),
            },
            Command::DownChar { buffer } => match self.buffer_index(buffer) {
                Some(_) => {
                    Response { then: Then::Receive(Incoming::CharBuffer(buffer)), ..self.ack(Reply::Status(Cc::Ok)) }
                }
                None => self.malformed(code),
            },
            Command::UpImage => {
                let packed = khil_fingerprint::image::pack(&self.image_pixels());
                Response { then: Then::Send(packed), ..self.ack(Reply::Status(Cc::Ok)) }
            }
            Command::DownImage => Response { then: Then::Receive(Incoming::Image), ..self.ack(Reply::Status(Cc::Ok)) },
            Command::DeleteChar { page, count } => {
                if page >= self.pages() {
                    return self.fail(code, Cc::PageOutOfRange);
                }
                // The manuals only list 10 "failed to delete" for DeletChar; a range past the end is one.
                let end = u32::from(page) + u32::from(count);
                if count == 0 || end > u32::from(self.pages()) {
                    return self.fail(code, Cc::DeleteFailed);
                }
                if self.quirks.has(Quirk::DeleteNoop) {
                    return self.ack(Reply::Status(Cc::Ok));
                }
                let before = self.flash.clone();
                for slot in page..end as u16 {
                    self.flash.library.remove(&slot);
                }
                self.commit(before, code, Cc::DeleteFailed, Reply::Status(Cc::Ok))
            }
            Command::Empty => {
                let before = self.flash.clone();
                self.flash.library.clear();
                self.commit(before, code, Cc::ClearFailed, Reply::Status(Cc::Ok))
            }
            Command::SetSysPara { param, value } => self.set_sys_para(param, value),
            Command::ReadSysPara => self.ack(Reply::SystemParameters { cc: Cc::Ok, params: self.system_parameters() }),
            Command::SetPwd(pw) => {
                let before = self.flash.clone();
                self.flash.password = pw;
                self.commit(before, code, Cc::FlashWriteError, Reply::Status(Cc::Ok))
            }
            Command::SetAddr(addr) => {
                let before = self.flash.clone();
                self.flash.address = addr;
                // The ack already comes from the new address.
                self.commit(before, code, Cc::FlashWriteError, Reply::Status(Cc::Ok))
            }
            Command::GetRandomCode => {
                let value = if self.quirks.has(Quirk::ConstantRandom) { 0x1234_5678 } else { self.rng.next_u32() };
                self.ack(Reply::RandomCode { cc: Cc::Ok, value })
            }
            Command::ReadInfPage => {
                Response { then: Then::Send(self.information_page()), ..self.ack(Reply::Status(Cc::Ok)) }
            }
            Command::WriteNotepad { page, data } => {
                let Some(slot) = self.flash.notepad.get(usize::from(page)) else {
                    return self.fail(code, Cc::BadNotepadPage);
                };
                if *slot == data || self.quirks.has(Quirk::NotepadNoop) {
                    return self.ack(Reply::Status(Cc::Ok));
                }
                let before = self.flash.clone();
                self.flash.notepad[usize::from(page)] = data;
                self.commit(before, code, Cc::FlashWriteError, Reply::Status(Cc::Ok))
            }
            Command::ReadNotepad { page } => match self.flash.notepad.get(usize::from(page)) {
                Some(data) => self.ack(Reply::Notepad { cc: Cc::Ok, data: *data }),
                None => self.fail(code, Cc::BadNotepadPage),
            },
            Command::TemplateNum => {
                let count = self.flash.library.len() as u16 + u16::from(self.quirks.has(Quirk::TemplateNumOff));
                self.ack(Reply::TemplateNum { cc: Cc::Ok, count })
            }
            Command::ReadIndexTable { page } => {
                if page > 3 {
                    return self.fail(code, Cc::PageOutOfRange);
                }
                let mut bitmap = IndexBitmap([0; 32]);
                let base = u16::from(page) * 256;
                for &slot in self.flash.library.keys().filter(|&&s| s >= base && s < base + 256) {
                    let bit = (slot - base) as u8;
                    bitmap.set(if self.quirks.has(Quirk::IndexMsbFirst) { (bit & !7) | (7 - (bit & 7)) } else { bit });
                }
                self.ack(Reply::IndexTable { cc: Cc::Ok, bitmap })
            }
            Command::AuraLedConfig { ctrl, speed, colour, count } => {
                // Codes outside the manual's lists (ctrl 1-6, colour 1-7): 01, as for a malformed packet.
                let strict = !self.quirks.has(Quirk::LedAcceptsAnything);
                if strict && (!(1..=6).contains(&ctrl) || !(1..=7).contains(&colour)) {
                    return self.malformed(code);
                }
                self.led = Some([ctrl, speed, colour, count]);
                self.ack(Reply::Status(Cc::Ok))
            }
            Command::CheckSensor => {
                self.ack(Reply::Status(if when.sensor_fault { Cc::SensorHardwareError } else { Cc::Ok }))
            }
            Command::GetAlgVer => self.version(code, self.profile.algorithm),
            Command::GetFwVer => self.version(code, self.profile.firmware),
            Command::ReadProdInfo => match self.product_info() {
                Some(info) => self.ack(Reply::ProductInfo { cc: Cc::Ok, info }),
                None => self.fail(code, Cc::Unsupported),
            },
            Command::SoftRst => {
                self.power_up();
                if self.quirks.has(Quirk::ForgetOnReset) {
                    self.flash.library.clear();
                }
                let byte = self.profile.handshake_byte_after_reset && !self.quirks.has(Quirk::NoHandshakeByte);
                let then = if byte { Then::HandshakeByte } else { Then::Nothing };
                Response { then, ..self.ack(Reply::Status(Cc::Ok)) }
            }
            Command::Unknown { .. } => self.fail(code, Cc::Unsupported),
        }
    }

    /// The data packets of a DownChar/DownImage have arrived (joined; possibly short or long if the host
    /// sent the wrong amount: a short image is padded with black, anything extra is ignored).
    pub fn receive(&mut self, incoming: Incoming, data: &[u8]) {
        match incoming {
            Incoming::CharBuffer(buffer) => {
                if let Some(b) = self.buffer_index(buffer) {
                    let n = data.len().min(CHAR_FILE_LEN);
                    let mut file = Box::new([0; CHAR_FILE_LEN]);
                    file[..n].copy_from_slice(&data[..n]);
                    self.buffers[b] = CharBuffer::new(file);
                }
            }
            Incoming::Image => {
                let (w, h) = (usize::from(self.profile.width), usize::from(self.profile.height));
                let mut pixels = khil_fingerprint::image::unpack(&data[..data.len().min(w * h / 2)]);
                pixels.resize(w * h, 0);
                self.image = ImageBuffer::Downloaded(GrayImage { width: w, height: h, pixels });
            }
        }
    }

    fn capture(&mut self, code: u8, when: Conditions) -> Response {
        if when.sensor_fault {
            return self.fail(code, Cc::SensorHardwareError);
        }
        let sight = self.finger.lock().unwrap_or_else(std::sync::PoisonError::into_inner).capture();
        match sight {
            Sight::NoFinger if self.quirks.has(Quirk::PhantomFinger) => self.ack(Reply::Status(Cc::Ok)),
            Sight::NoFinger => self.fail(code, Cc::NoFinger),
            Sight::Finger { id, index } => {
                self.image = ImageBuffer::Captured(self.fingers.impression(id, index, self.profile.sensor()));
                tracing::debug!(finger = id, impression = index, "captured");
                self.ack(Reply::Status(Cc::Ok))
            }
        }
    }

    fn image_pixels(&self) -> Vec<u8> {
        match &self.image {
            ImageBuffer::Empty => vec![0; usize::from(self.profile.width) * usize::from(self.profile.height)],
            ImageBuffer::Captured(imp) => imp.image.pixels.clone(),
            ImageBuffer::Downloaded(img) => img.pixels.clone(),
        }
    }

    fn img2tz(&mut self, buffer: u8) -> Response {
        let code = opcode::IMG2TZ;
        let Some(b) = self.buffer_index(buffer) else { return self.malformed(code) };
        let extracted = match &self.image {
            // Manual: 15 "no valid primary image" when the buffer holds nothing to work on.
            ImageBuffer::Empty => Err(Cc::NoValidPrimaryImage),
            ImageBuffer::Captured(imp) => imp.extracted(characteristics),
            ImageBuffer::Downloaded(img) => characteristics(img),
        };
        match extracted {
            Ok(file) => {
                self.buffers[b] = file;
                self.ack(Reply::Status(Cc::Ok))
            }
            Err(cc) => self.fail(code, cc),
        }
    }

    /// Module score of two character buffers; 0 when either is not a template.
    fn compare_buffers(&self, a: usize, b: usize) -> u16 {
        match (self.buffers[a].template(), self.buffers[b].template()) {
            (Some(x), Some(y)) => module_score(score::compare(&x, &y)),
            _ => 0,
        }
    }

    fn search(&mut self, code: u8, buffer: u8, start: u16, count: u16) -> Response {
        let Some(b) = self.buffer_index(buffer) else { return self.malformed(code) };
        if start >= self.pages() {
            return self.fail(code, Cc::PageOutOfRange);
        }
        let end = (u32::from(start) + u32::from(count)).min(u32::from(self.pages())) as u16;
        let mut best: Option<(u16, u16)> = None;
        if let Some(probe) = self.buffers[b].template() {
            for (&slot, file) in self.flash.library.range(start..end) {
                let Some(t) = file.template() else { continue };
                let score = module_score(score::compare(&probe, &t));
                if best.is_none_or(|(_, s)| score > s) {
                    best = Some((slot, score));
                }
            }
        }
        let need = threshold(self.flash.security_level);
        self.pass = false;
        match best {
            Some((page, score)) if score >= need => {
                self.pass = true;
                let page = if self.quirks.has(Quirk::SearchPagePlusOne) { page + 1 } else { page };
                self.ack(Reply::Search { cc: Cc::Ok, page, score })
            }
            _ => self.fail(code, Cc::NotFound),
        }
    }

    /// Merges buffers 1 and 2 into a model in both. The two captures must match at the security level (else
    /// 0A); the model keeps the impression with the better finger quality (more minutiae on a tie).
    fn reg_model(&mut self) -> Response {
        let code = opcode::REG_MODEL;
        let (Ok(a), Ok(b)) = (charfile::decode(self.buffers[0].bytes()), charfile::decode(self.buffers[1].bytes()))
        else {
            return self.fail(code, Cc::MergeFailed);
        };
        if self.compare_buffers(0, 1) < threshold(self.flash.security_level) {
            return self.fail(code, Cc::MergeFailed);
        }
        let key = |c: &charfile::Characteristics| (c.minutiae.quality, c.minutiae.points.len());
        let (best, from) = if key(&b) > key(&a) { (b, 1) } else { (a, 0) };
        // The same minutiae: the matcher's template carries over.
        let model =
            CharBuffer::with_template(Box::new(charfile::encode(&best.minutiae, true)), self.buffers[from].template());
        self.buffers[0] = model.clone();
        self.buffers[1] = model;
        self.ack(Reply::Status(Cc::Ok))
    }

    fn set_sys_para(&mut self, param: u8, value: u8) -> Response {
        let code = opcode::SET_SYS_PARA;
        let before = self.flash.clone();
        match param {
            4 if self.profile.baud_multipliers.contains(&value) => self.flash.baud_multiplier = value,
            5 if self.quirks.has(Quirk::SecurityLevelNoop) && (1..=5).contains(&value) => {}
            5 if (1..=5).contains(&value) => self.flash.security_level = value,
            6 if value <= 3 => self.flash.packet_size_code = value,
            4..=6 => return self.fail(code, Cc::BadRegisterConfiguration),
            _ if self.quirks.has(Quirk::AcceptsBadRegister) => return self.ack(Reply::Status(Cc::Ok)),
            _ => return self.fail(code, Cc::InvalidRegister),
        }
        self.commit(before, code, Cc::FlashWriteError, Reply::Status(Cc::Ok))
    }

    fn system_parameters(&self) -> SystemParameters {
        let mut status = 0;
        if self.verified {
            status |= status::PASSWORD_VERIFIED;
        }
        if self.pass {
            status |= status::PASS;
        }
        if !matches!(self.image, ImageBuffer::Empty) {
            status |= status::IMAGE_VALID;
        }
        SystemParameters {
            status,
            system_id: self.profile.system_id,
            library_size: self.reported_capacity(),
            security_level: u16::from(self.flash.security_level),
            address: self.flash.address,
            packet_size: PacketSize::from_code(u16::from(self.flash.packet_size_code)),
            baud_multiplier: u16::from(self.flash.baud_multiplier),
        }
    }

    fn product_info(&self) -> Option<ProductInfo> {
        let p = self.profile.product?;
        Some(ProductInfo {
            model: u8_text(p.model),
            batch: u8_text(p.batch),
            serial: u8_text(p.serial),
            hw_version: p.hw_version,
            sensor_type: u8_text(p.sensor_type),
            width: self.profile.width,
            height: self.profile.height,
            template_size: CHAR_FILE_LEN as u16,
            capacity: self.reported_capacity(),
        })
    }

    fn reported_capacity(&self) -> u16 {
        self.profile.capacity + if self.quirks.has(Quirk::MisreportsCapacity) { 10 } else { 0 }
    }

    fn version(&self, code: u8, text: Option<&str>) -> Response {
        let text = if self.quirks.has(Quirk::EmptyVersions) { text.map(|_| "") } else { text };
        match text {
            Some(t) => self.ack(Reply::Version { cc: Cc::Ok, text: u8_text(t) }),
            None => self.fail(code, Cc::Unsupported),
        }
    }

    /// ReadInfPage's 512 bytes. The real page's layout is not public; the simulator's holds the ReadSysPara
    /// block, then "khil-sim <profile>" NUL-padded to 32 bytes, then zeros.
    fn information_page(&self) -> Vec<u8> {
        let mut page = Vec::with_capacity(512);
        let mut params = Reply::SystemParameters { cc: Cc::Ok, params: self.system_parameters() }.to_payload();
        page.append(&mut params.split_off(1));
        page.extend_from_slice(&u8_text::<32>(&format!("khil-sim {}", self.profile.name)));
        page.resize(512, 0);
        page
    }
}

/// Renders impressions `0..count` of the finger `presence` names and extracts their characteristics, so that
/// the first captures answer at once instead of after the quarter second a new finger takes to synthesise.
pub fn prepare(fingers: &Fingers, presence: Presence, count: u32, profile: &Profile) {
    let (Presence::Auto(id) | Presence::Placed(id)) = presence else { return };
    for index in 0..count {
        let imp = fingers.impression(id, index, profile.sensor());
        let _ = imp.extracted(characteristics);
    }
}

/// Extracts a character file from an image.
fn characteristics(image: &GrayImage) -> Extracted {
    let minutiae = extract(image, 500);
    if minutiae.points.len() < MIN_MINUTIAE {
        // An image with hardly any ridge structure is "too disordered"; one with some but too few minutiae
        // lacks feature points.
        return Err(if minutiae.quality < 10 { Cc::ImageTooDisordered } else { Cc::TooFewFeaturePoints });
    }
    let buffer = CharBuffer::new(Box::new(charfile::encode(&minutiae, false)));
    // Built now, while the capture is prepared or converted, not in the first Match or Search.
    buffer.template();
    Ok(buffer)
}

/// A reported score (decades, see [`khil_sim_population::score`]) on the module's 16-bit scale.
pub fn module_score(decades: f32) -> u16 {
    (decades * SCORE_PER_DECADE).round().clamp(0.0, f32::from(u16::MAX)) as u16
}
