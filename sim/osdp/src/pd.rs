//! One PD's state machine. It takes a decoded command packet (the frame and its raw bytes, which the secure
//! channel MACs) and returns the packet to send back, or nothing. No I/O, no clock.
//!
//! Sequence numbers: SQN 0 from the CP resets the PD's view of the session (and drops the secure channel). A
//! command with the SQN of the previous one is a retransmission: the PD sends its previous reply again, byte for
//! byte, and does not execute the command a second time (an OUT that opened a flap must not run twice). Any other
//! SQN but the next one gets NAK 4.
//!
//! Secure channel: CHLNG -> CCRYPT, SCRYPT -> RMAC_I, then every command carries a MAC (SCB 15, or 17 with its
//! data encrypted) and every reply one (16, or 18). A PD configured with a key requires the secure channel for
//! everything but ID, CAP and the handshake (NAK 6 otherwise). A MAC that does not verify drops the session and
//! gets NAK 6 in plain text; the CP then sets the channel up again. A packet with SCB 15-18 and no session (a PD
//! that restarted, or a panel that opens with a secure block before the handshake, as OSDP.Net-derived ones do
//! with SCB `[02 15]` and no MAC) gets NAK 6 in plain text too, never silence, as libosdp's PD answers it.

use std::collections::VecDeque;
use std::sync::Arc;

use khil_biometrics::minutia::Minutiae;
use khil_osdp::command::{BioMatch, BioRead, Buzzer, Command, KeySet, LedControl};
use khil_osdp::frame::{Integrity, OsdpFrame, next_sqn, scs};
use khil_osdp::reply::{BioReadR, NakCode, PdId, RawCard, Reply};
use khil_osdp::sc::{self, ScSession};
use khil_osdp::secure::{KeyType, OpenError, PdHandshake};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::bio::{self, BioReader};
use crate::faults::Mishaps;
use crate::file::{FileQuirks, FileReceiver, ReceivedFile};
use crate::profile::PdProfile;
use crate::state::{PdStore, Persisted};

/// Deliberate mis-implementations, to measure the `osdp-pd` conformance suite (a correct PD has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PdQuirk {
    /// A retransmitted command (same SQN) is executed again, as libosdp does.
    ReexecuteRetransmission,
    /// Any SQN is accepted (no NAK 4).
    NoSequenceCheck,
    /// A PD with a key still executes plain commands.
    PlainAllowed,
    /// Command MACs are not checked.
    IgnoreMac,
    /// Unknown commands are acknowledged.
    AckUnknown,
    /// Replies leave ADDR bit 7 clear.
    NoReplyBit,
    /// Packets without the 0xFF mark are ignored.
    NeedsMark,
    /// A packet with a bad CRC gets NAK 1 (its address cannot be trusted: a PD must stay silent).
    AnswersBadCrc,
    /// Packets for any address are answered.
    AnswersAnyAddress,
    /// A broadcast is answered from the PD's own address.
    BroadcastOwnAddress,
    /// The client cryptogram in CCRYPT is wrong.
    WrongCryptogram,
    /// BIOREADR carries the minutiae without the ANSI/INCITS 378 record header (a vendor's raw template).
    BioGarbageTemplate,
    /// BIOMATCH reports a match (status 0, score 255) whatever the template.
    BioAlwaysMatch,
    /// An unsupported biometric type or format gets NAK 3 (unknown command) instead of NAK 7 or 8.
    BioWrongNak,
    /// BIOREAD without a finger reports success with an empty record instead of status 1 (timeout).
    BioNoTimeout,
    /// PDCAP leaves out the biometrics record (function 14) although the PD reads fingers.
    PdcapNoBiometrics,
    /// FILETRANSFER appends each fragment whatever its offset.
    FileIgnoresOffset,
    /// FILETRANSFER takes files of one fragment only: a fragment at a non-zero offset gets -1.
    FileOneFragment,
    /// A packet with a secure block calling for a MAC (SCB 15-18) outside a session is not answered, as khil's PD
    /// did before it decoded OSDP.Net's opening POLL (SCB `[02 15]`, no MAC): such a panel never gets it online.
    SilentSecureBlock,
    /// PDID reports a model number one higher than the PD's profile (firmware that misreports what it is).
    MisreportsModel,
}

impl PdQuirk {
    pub const ALL: [PdQuirk; 20] = [
        PdQuirk::ReexecuteRetransmission,
        PdQuirk::NoSequenceCheck,
        PdQuirk::PlainAllowed,
        PdQuirk::IgnoreMac,
        PdQuirk::AckUnknown,
        PdQuirk::NoReplyBit,
        PdQuirk::NeedsMark,
        PdQuirk::AnswersBadCrc,
        PdQuirk::AnswersAnyAddress,
        PdQuirk::BroadcastOwnAddress,
        PdQuirk::WrongCryptogram,
        PdQuirk::BioGarbageTemplate,
        PdQuirk::BioAlwaysMatch,
        PdQuirk::BioWrongNak,
        PdQuirk::BioNoTimeout,
        PdQuirk::PdcapNoBiometrics,
        PdQuirk::FileIgnoresOffset,
        PdQuirk::FileOneFragment,
        PdQuirk::SilentSecureBlock,
        PdQuirk::MisreportsModel,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            PdQuirk::ReexecuteRetransmission => "reexecute-retransmission",
            PdQuirk::NoSequenceCheck => "no-sequence-check",
            PdQuirk::PlainAllowed => "plain-allowed",
            PdQuirk::IgnoreMac => "ignore-mac",
            PdQuirk::AckUnknown => "ack-unknown",
            PdQuirk::NoReplyBit => "no-reply-bit",
            PdQuirk::NeedsMark => "needs-mark",
            PdQuirk::AnswersBadCrc => "answers-bad-crc",
            PdQuirk::AnswersAnyAddress => "answers-any-address",
            PdQuirk::BroadcastOwnAddress => "broadcast-own-address",
            PdQuirk::WrongCryptogram => "wrong-cryptogram",
            PdQuirk::BioGarbageTemplate => "bio-garbage-template",
            PdQuirk::BioAlwaysMatch => "bio-always-match",
            PdQuirk::BioWrongNak => "bio-wrong-nak",
            PdQuirk::BioNoTimeout => "bio-no-timeout",
            PdQuirk::PdcapNoBiometrics => "pdcap-no-biometrics",
            PdQuirk::FileIgnoresOffset => "file-ignores-offset",
            PdQuirk::FileOneFragment => "file-one-fragment",
            PdQuirk::SilentSecureBlock => "silent-secure-block",
            PdQuirk::MisreportsModel => "misreports-model",
        }
    }
}

impl std::str::FromStr for PdQuirk {
    type Err = String;

    fn from_str(s: &str) -> Result<PdQuirk, String> {
        PdQuirk::ALL
            .into_iter()
            .find(|q| q.name() == s)
            .ok_or_else(|| format!("quirk {s:?}: expected one of {}", PdQuirk::ALL.map(PdQuirk::name).join(", ")))
    }
}

/// How a PD is set up.
#[derive(Debug, Clone)]
pub struct PdConfig {
    pub profile: PdProfile,
    pub address: u8,
    /// The secure channel base key; `None`: install mode (SCBK-D accepted, secure channel optional).
    pub scbk: Option<[u8; 16]>,
    pub serial: u32,
    pub seed: u64,
    pub quirks: Vec<PdQuirk>,
    /// The fingerprint sensor of a profile with biometrics (without one, every scan times out).
    pub bio: Option<Arc<BioReader>>,
}

impl PdConfig {
    pub fn new(profile: PdProfile, address: u8) -> PdConfig {
        PdConfig { profile, address, scbk: None, serial: 0x4B48_494C, seed: 0, quirks: Vec::new(), bio: None }
    }
}

/// The last BIOMATCH decision (for the console and tests; never the templates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchDecision {
    /// The OSDP score sent (0-255).
    pub score: u8,
    /// The CP's threshold.
    pub threshold: u8,
    pub matched: bool,
}

/// Something that happened at the PD, reported to the CP in the reply to a POLL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PdEvent {
    /// Input `n` changed.
    Input { n: u8, on: bool },
    /// The tamper switch changed.
    Tamper(bool),
    /// A card was read: `bits` bits of `data`.
    Card { data: Vec<u8>, bits: u16 },
}

/// What the CP last told the reader position to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Indicators {
    /// The last LED record per LED number.
    pub leds: Vec<Option<LedControl>>,
    pub buzzer: Option<Buzzer>,
    pub text: Option<String>,
}

#[derive(Debug)]
enum Secure {
    /// No session.
    None,
    /// CHLNG answered; waiting for SCRYPT. `key`: the key this PD answered with (SCBK-D in install mode).
    Challenged { handshake: Box<PdHandshake>, key: KeyType },
    /// Up.
    Up(Box<ScSession>),
}

/// One PD.
#[derive(Debug)]
pub struct Pd {
    config: PdConfig,
    rng: ChaCha8Rng,
    outputs: Vec<bool>,
    inputs: Vec<bool>,
    tamper: bool,
    indicators: Indicators,
    events: VecDeque<PdEvent>,
    secure: Secure,
    /// SQN and bytes of the last reply, for retransmissions.
    last: Option<(u8, Vec<u8>)>,
    files: FileReceiver,
    last_match: Option<MatchDecision>,
    /// Non-volatile memory for the address and key; `None`: they last as long as the process.
    store: Option<Box<dyn PdStore>>,
    /// The address a COMSET moves the PD to once its reply (from the old address) has gone out.
    switch_to: Option<u8>,
    /// Commands executed (retransmissions not counted).
    pub executed: u64,
}

impl Pd {
    pub fn new(config: PdConfig) -> Pd {
        let p = config.profile;
        let files = FileReceiver::with_quirks(FileQuirks {
            ignores_offset: config.quirks.contains(&PdQuirk::FileIgnoresOffset),
            one_fragment: config.quirks.contains(&PdQuirk::FileOneFragment),
        });
        Pd {
            rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x6b68_696c_6f73_6470),
            outputs: vec![false; usize::from(p.outputs)],
            inputs: vec![false; usize::from(p.inputs)],
            tamper: false,
            indicators: Indicators::default(),
            events: VecDeque::new(),
            secure: Secure::None,
            last: None,
            files,
            last_match: None,
            store: None,
            switch_to: None,
            executed: 0,
            config,
        }
    }

    /// Gives the PD non-volatile memory: a COMSET or KEYSET is stored there before it is acknowledged.
    pub fn set_store(&mut self, store: Box<dyn PdStore>) {
        self.store = Some(store);
    }

    /// COMSET: stored first; the reply goes out from the old address, and the PD answers to the new one after it.
    fn comset(&mut self, address: u8, baud: u32) -> Reply {
        if address < khil_osdp::frame::BROADCAST && address != self.config.address {
            if !self.persist(&Persisted { address, scbk: self.config.scbk }) {
                return Reply::nak(NakCode::CannotProcess);
            }
            self.switch_to = Some(address);
            return Reply::Com { address, baud };
        }
        Reply::Com { address: self.config.address, baud }
    }

    /// KEYSET, inside the secure session only: the new base key is stored first, then used from the next handshake.
    fn keyset(&mut self, k: &KeySet) -> Reply {
        let Secure::Up(_) = self.secure else { return Reply::nak(NakCode::ScConditions) };
        match <[u8; 16]>::try_from(k.key.as_slice()) {
            Ok(key) if k.key_type == 1 => {
                if !self.persist(&Persisted { address: self.config.address, scbk: Some(key) }) {
                    return Reply::nak(NakCode::CannotProcess);
                }
                self.config.scbk = Some(key);
                tracing::info!("new secure channel base key installed");
                Reply::Ack
            }
            _ => Reply::nak(NakCode::CannotProcess),
        }
    }

    /// Stores `next` (address and key) before a command that changes them is acknowledged; `false` (logged) if
    /// the store failed, and the command must be refused.
    fn persist(&mut self, next: &Persisted) -> bool {
        let Some(store) = self.store.as_mut() else { return true };
        match store.save(self.config.profile.name, next) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "cannot store the PD's address and key: command refused");
                false
            }
        }
    }

    pub fn address(&self) -> u8 {
        self.config.address
    }

    pub fn outputs(&self) -> &[bool] {
        &self.outputs
    }

    pub fn inputs(&self) -> &[bool] {
        &self.inputs
    }

    pub fn indicators(&self) -> &Indicators {
        &self.indicators
    }

    /// The last file received completely by FILETRANSFER.
    pub fn last_file(&self) -> Option<&ReceivedFile> {
        self.files.last()
    }

    /// Files received completely so far.
    pub fn files_received(&self) -> u64 {
        self.files.completed()
    }

    /// The FILETRANSFER in progress: type, bytes received, total.
    pub fn file_progress(&self) -> Option<(u8, u32, u32)> {
        self.files.progress()
    }

    /// The last BIOMATCH decision.
    pub fn last_match(&self) -> Option<MatchDecision> {
        self.last_match
    }

    /// The fingerprint sensor, if the PD has one.
    pub fn bio(&self) -> Option<&Arc<BioReader>> {
        self.config.bio.as_ref()
    }

    /// Whether a secure session is up.
    pub fn secure(&self) -> bool {
        matches!(self.secure, Secure::Up(_))
    }

    /// The current base key (after a KEYSET, the new one).
    pub fn scbk(&self) -> Option<[u8; 16]> {
        self.config.scbk
    }

    /// Something happened at the PD: queue it for the next POLL (and update the input image).
    pub fn push(&mut self, event: PdEvent) {
        match &event {
            PdEvent::Input { n, on } => {
                let Some(slot) = self.inputs.get_mut(usize::from(*n)) else { return };
                if *slot == *on {
                    return;
                }
                *slot = *on;
            }
            PdEvent::Tamper(on) => {
                if self.tamper == *on {
                    return;
                }
                self.tamper = *on;
            }
            PdEvent::Card { .. } => {}
        }
        self.events.push_back(event);
    }

    /// Answers one command packet addressed to this PD (or broadcast). `raw` is the packet as received (SOM
    /// through the check), for the MAC. Returns the reply packet's bytes.
    pub fn handle(&mut self, frame: &OsdpFrame, raw: &[u8]) -> Option<Vec<u8>> {
        self.handle_with(frame, raw, Mishaps::default())
    }

    /// [`Pd::handle`] with faults: a BUSY instead of executing, a lost reply (the command runs and its reply is
    /// cached, so the CP's retransmission gets it), a corrupted check, a forgotten secure session.
    pub fn handle_with(&mut self, frame: &OsdpFrame, raw: &[u8], mishaps: Mishaps) -> Option<Vec<u8>> {
        if frame.reply {
            return None;
        }
        if mishaps.sc_drop {
            self.secure = Secure::None;
        }
        if mishaps.busy {
            // BUSY goes out with SQN 0 and is not a reply to this SQN: the CP asks again with the same one.
            let mut busy = OsdpFrame::reply(self.reply_address(frame), 0, Reply::Busy.code(), Vec::new());
            busy.integrity = frame.integrity;
            return Some(busy.encode(true));
        }
        // Retransmission: the same SQN as the last command gets the same bytes back, not a second execution.
        if frame.sqn != 0
            && !self.quirk(PdQuirk::ReexecuteRetransmission)
            && let Some((sqn, bytes)) = &self.last
            && *sqn == frame.sqn
        {
            tracing::debug!(sqn, "retransmission: previous reply resent");
            return Some(bytes.clone());
        }
        let expected = self.last.as_ref().map_or(0, |(s, _)| next_sqn(*s));
        if frame.sqn == 0 {
            // A CP starting over: the session is gone.
            self.note_abandoned_handshake();
            self.secure = Secure::None;
        } else if frame.sqn != expected && !self.quirk(PdQuirk::NoSequenceCheck) {
            return Some(self.send(frame, &Reply::nak(NakCode::BadSequence), false));
        }
        if self.quirk(PdQuirk::SilentSecureBlock)
            && !self.secure()
            && frame.scb.as_ref().is_some_and(khil_osdp::Scb::has_mac)
        {
            return None;
        }
        let bytes = self.respond(frame, raw);
        if let Some(address) = self.switch_to.take() {
            tracing::info!(address, "COMSET: now at the new address");
            self.config.address = address;
        }
        self.last = Some((frame.sqn, bytes.clone()));
        if mishaps.no_reply {
            return None;
        }
        if mishaps.bad_crc {
            let mut broken = bytes;
            if let Some(last) = broken.last_mut() {
                *last ^= 0x5A;
            }
            return Some(broken);
        }
        Some(bytes)
    }

    /// Whether the PD has quirk `q`.
    pub fn quirk(&self, q: PdQuirk) -> bool {
        self.config.quirks.contains(&q)
    }

    /// Plain reply (no SCB) to `frame`.
    fn plain(&self, frame: &OsdpFrame, reply: &Reply) -> Vec<u8> {
        let mut out = OsdpFrame::reply(self.reply_address(frame), frame.sqn, reply.code(), reply.to_data());
        out.integrity = frame.integrity;
        out.reply = !self.quirk(PdQuirk::NoReplyBit);
        out.encode(true)
    }

    fn reply_address(&self, frame: &OsdpFrame) -> u8 {
        // A reply to a broadcast carries 0x7F | 0x80.
        if frame.address == khil_osdp::frame::BROADCAST && !self.quirk(PdQuirk::BroadcastOwnAddress) {
            frame.address
        } else {
            self.config.address
        }
    }

    /// A reply, secured when the session is up (data encrypted when the command's was); in plain text, with the
    /// session dropped, when it cannot be sealed.
    fn send(&mut self, frame: &OsdpFrame, reply: &Reply, encrypted_request: bool) -> Vec<u8> {
        let address = self.reply_address(frame);
        let reply_bit = !self.quirk(PdQuirk::NoReplyBit);
        let Secure::Up(session) = &mut self.secure else { return self.plain(frame, reply) };
        let mut out = OsdpFrame {
            address,
            reply: reply_bit,
            sqn: frame.sqn,
            integrity: frame.integrity,
            scb: None,
            code: reply.code(),
            data: reply.to_data(),
            mac: None,
        };
        if session.seal_reply(&mut out, encrypted_request).is_err() {
            self.secure = Secure::None;
            return self.plain(frame, &Reply::nak(NakCode::ScConditions));
        }
        out.encode(true)
    }

    fn nak(&mut self, frame: &OsdpFrame, code: NakCode) -> Vec<u8> {
        self.send(frame, &Reply::nak(code), false)
    }

    fn respond(&mut self, frame: &OsdpFrame, raw: &[u8]) -> Vec<u8> {
        let kind = frame.scb.as_ref().map(|s| s.kind);
        match kind {
            Some(scs::CHLNG) => return self.challenge(frame),
            Some(scs::SCRYPT) => return self.server_cryptogram(frame),
            _ => {}
        }
        // Everything else: secured if the session is up, plain otherwise.
        let secured = matches!(kind, Some(scs::CMD_MAC | scs::CMD_ENC));
        let mut data = frame.data.clone();
        if secured {
            let Secure::Up(session) = &mut self.secure else {
                // A MAC'd command without a session (the PD restarted, or dropped it): plain NAK, the CP
                // handshakes again.
                return self.plain(frame, &Reply::nak(NakCode::ScConditions));
            };
            match session.open_command(frame, raw) {
                Ok(plain) => data = plain,
                Err(e) => {
                    if e == OpenError::WrongMac
                        && self.quirk(PdQuirk::IgnoreMac)
                        && let Ok(command) = Command::parse(frame.code, &data)
                    {
                        // The mis-implementation: a command with a bad MAC is executed anyway (answered in the
                        // clear, since its MAC chain is broken).
                        let reply = self.execute(command);
                        return self.plain(frame, &reply);
                    }
                    tracing::info!(error = %e, "secured command refused: secure channel dropped");
                    self.secure = Secure::None;
                    return self.plain(frame, &Reply::nak(NakCode::ScConditions));
                }
            }
        } else if frame.scb.is_some() {
            return self.nak(frame, NakCode::ScConditions);
        } else if self.secure() {
            // A plain command in the middle of a session ends it (the CP has lost it).
            self.secure = Secure::None;
        }
        let command = match Command::parse(frame.code, &data) {
            Ok(c) => c,
            Err(e) => {
                if self.quirk(PdQuirk::AckUnknown) {
                    return self.send(frame, &Reply::Ack, false);
                }
                // `parse` fails only on a known code's length (unknown codes parse as `Command::Unknown`).
                tracing::debug!(error = %e, "command refused");
                return self.nak(frame, NakCode::BadLength);
            }
        };
        // Identification is open; everything else, POLL included (its replies carry card data), needs the
        // secure channel on a PD that has a key.
        let open = matches!(command, Command::Id { .. } | Command::Cap { .. });
        if self.config.scbk.is_some() && !secured && !open && !self.quirk(PdQuirk::PlainAllowed) {
            return self.nak(frame, NakCode::ScConditions);
        }
        self.executed += 1;
        let reply = self.execute(command);
        self.send(frame, &reply, kind == Some(scs::CMD_ENC))
    }

    fn execute(&mut self, command: Command) -> Reply {
        let p = self.config.profile;
        match command {
            Command::Poll => match self.events.pop_front() {
                None => Reply::Ack,
                Some(PdEvent::Card { data, bits }) => Reply::Raw(RawCard { reader: 0, format: 0, bits, data }),
                Some(PdEvent::Input { .. }) => self.input_status(),
                Some(PdEvent::Tamper(_)) => self.local_status(),
            },
            Command::Id { .. } => Reply::PdId(PdId {
                oui: [0x4B, 0x48, 0x4C],
                model: if self.quirk(PdQuirk::MisreportsModel) { p.model.wrapping_add(1) } else { p.model },
                version: 1,
                serial: self.config.serial,
                firmware: [0, 1, 0],
            }),
            Command::Cap { .. } => {
                let mut caps = p.capabilities();
                if self.quirk(PdQuirk::PdcapNoBiometrics) {
                    // The mis-implementation: the biometrics record is left out of PDCAP.
                    caps.retain(|c| c.function != khil_osdp::reply::function::BIOMETRICS);
                }
                Reply::PdCap(caps)
            }
            Command::LStat => self.local_status(),
            Command::IStat => self.input_status(),
            Command::OStat => Reply::OStatR(self.outputs.iter().map(|&b| u8::from(b)).collect()),
            Command::RStat => Reply::RStatR(vec![0; usize::from(p.readers)]),
            Command::Out(list) => {
                if list.iter().any(|o| usize::from(o.output) >= self.outputs.len() || o.control > 6) {
                    return Reply::nak(NakCode::CannotProcess);
                }
                for o in list {
                    // 1, 3: off; 2, 4: on; 5: temporarily on; 6: temporarily off (timers run on the CP's clock in
                    // this model: the state shows the commanded level).
                    match o.control {
                        1 | 3 | 6 => self.outputs[usize::from(o.output)] = false,
                        2 | 4 | 5 => self.outputs[usize::from(o.output)] = true,
                        _ => {}
                    }
                    tracing::info!(
                        output = p.output_names.get(usize::from(o.output)).copied().unwrap_or("?"),
                        control = o.control,
                        "OUT"
                    );
                }
                Reply::Ack
            }
            Command::Led(list) => {
                for led in list {
                    tracing::info!(
                        led = led.led,
                        colour = led.permanent.on_colour,
                        temporary = led.temporary.on_colour,
                        "LED"
                    );
                    let n = usize::from(led.led);
                    if self.indicators.leds.len() <= n {
                        self.indicators.leds.resize(n + 1, None);
                    }
                    self.indicators.leds[n] = Some(led);
                }
                Reply::Ack
            }
            Command::Buz(b) => {
                tracing::info!(buzzer = ?b, "BUZ");
                self.indicators.buzzer = Some(b);
                Reply::Ack
            }
            Command::Text(t) => {
                let text = String::from_utf8_lossy(&t.text).into_owned();
                tracing::info!(text = %text, "TEXT");
                self.indicators.text = Some(text);
                Reply::Ack
            }
            Command::ComSet { address, baud } => self.comset(address, baud),
            Command::KeySet(k) => self.keyset(&k),
            Command::FileTransfer(ft) => Reply::FtStat(self.files.receive(&ft)),
            Command::BioRead(b) if p.biometrics => self.bio_read(b),
            Command::BioMatch(m) if p.biometrics => self.bio_match(&m),
            Command::AcuRxSize { .. } | Command::KeepActive { .. } | Command::Abort => Reply::Ack,
            Command::Chlng { .. } | Command::Scrypt { .. } => Reply::nak(NakCode::ScConditions),
            _ if self.quirk(PdQuirk::AckUnknown) => Reply::Ack,
            _ => Reply::nak(NakCode::UnknownCommand),
        }
    }

    /// ISTATR: one byte per input.
    fn input_status(&self) -> Reply {
        Reply::IStatR(self.inputs.iter().map(|&b| u8::from(b)).collect())
    }

    /// LSTATR: the tamper switch (the power never fails here).
    fn local_status(&self) -> Reply {
        Reply::LStatR { tamper: u8::from(self.tamper), power: 0 }
    }

    /// The refusal for a biometric command this reader cannot serve: NAK 9 for a reader it does not have, NAK 7
    /// for a type that is not a finger, NAK 8 for a format other than ANSI/INCITS 378 (or "not specified").
    fn bio_refusal(&self, reader: u8, kind: u8, format: u8) -> Option<Reply> {
        if reader >= self.config.profile.readers {
            return Some(Reply::nak(NakCode::CannotProcess));
        }
        // The mis-implementation (`bio-wrong-nak`): unsupported types and formats get NAK 3.
        let wrong = self.quirk(PdQuirk::BioWrongNak);
        if kind != bio::kind::NOT_SPECIFIED && !bio::kind::FINGERS.contains(&kind) {
            return Some(Reply::nak(if wrong { NakCode::UnknownCommand } else { NakCode::BioTypeUnsupported }));
        }
        if !matches!(format, bio::format::NOT_SPECIFIED | bio::format::ANSI_378) {
            return Some(Reply::nak(if wrong { NakCode::UnknownCommand } else { NakCode::BioFormatUnsupported }));
        }
        None
    }

    /// BIOREAD: scans the presented finger and sends its ANSI/INCITS 378 template (finger position = the type
    /// asked for). The requested quality is not a gate: the reply says the quality the scan had, the CP
    /// decides. No finger: status 1 (timeout), no data.
    fn bio_read(&mut self, b: BioRead) -> Reply {
        if let Some(refusal) = self.bio_refusal(b.reader, b.kind, b.format) {
            return refusal;
        }
        let timeout =
            BioReadR { reader: b.reader, status: bio::status::TIMEOUT, kind: b.kind, quality: 0, data: vec![] };
        let Some(capture) = self.config.bio.as_ref().and_then(|s| s.scan()) else {
            if self.quirk(PdQuirk::BioNoTimeout) {
                // The mis-implementation: success, with a record of no minutiae, instead of a timeout.
                let empty = Minutiae { width: 256, height: 288, dpi: 500, quality: 0, points: Vec::new() };
                let data = khil_biometrics::template::ansi_from_minutiae(&empty, b.kind);
                return Reply::BioReadR(BioReadR { status: bio::status::SUCCESS, data, ..timeout });
            }
            tracing::info!(reader = b.reader, "BIOREAD: no finger, scan timed out");
            return Reply::BioReadR(timeout);
        };
        let mut data = capture.ansi(b.kind);
        if self.quirk(PdQuirk::BioGarbageTemplate) {
            // The mis-implementation: the record header (26 bytes) is left out, the rest is not a record.
            data.drain(..data.len().min(26));
        }
        tracing::info!(
            reader = b.reader,
            kind = b.kind,
            format = "ANSI/INCITS 378",
            minutiae = capture.minutiae.points.len(),
            quality = capture.quality,
            bytes = data.len(),
            "BIOREAD"
        );
        Reply::BioReadR(BioReadR {
            reader: b.reader,
            status: bio::status::SUCCESS,
            kind: b.kind,
            quality: capture.quality,
            data,
        })
    }

    /// BIOMATCH: scans the presented finger and matches it against the CP's ANSI/INCITS 378 template with
    /// khil's matcher; the score and the decision at the CP's threshold are on the scale of
    /// [`bio::SCORE_PER_DECADE`]. A template that does not decode: NAK 9. No finger: status 1, score 0.
    fn bio_match(&mut self, m: &BioMatch) -> Reply {
        if let Some(refusal) = self.bio_refusal(m.reader, m.kind, m.format) {
            return refusal;
        }
        if self.quirk(PdQuirk::BioAlwaysMatch) {
            // The mis-implementation: a match whatever the template (not even decoded) and the finger.
            return Reply::BioMatchR { reader: m.reader, status: bio::status::SUCCESS, score: u8::MAX };
        }
        let reference = match khil_biometrics::template::minutiae_from_ansi(&m.template) {
            Ok(minutiae) => khil_biometrics::matcher::MatchTemplate::new(&minutiae),
            Err(e) => {
                tracing::info!(bytes = m.template.len(), error = %e, "BIOMATCH: the template is not ANSI/INCITS 378");
                return Reply::nak(NakCode::CannotProcess);
            }
        };
        let Some(capture) = self.config.bio.as_ref().and_then(|s| s.scan()) else {
            tracing::info!(reader = m.reader, "BIOMATCH: no finger, scan timed out");
            return Reply::BioMatchR { reader: m.reader, status: bio::status::TIMEOUT, score: 0 };
        };
        let score = bio::osdp_score(BioReader::score(&capture, &reference));
        let matched = score >= m.quality;
        self.last_match = Some(MatchDecision { score, threshold: m.quality, matched });
        tracing::info!(
            reader = m.reader,
            template_bytes = m.template.len(),
            score,
            threshold = m.quality,
            matched,
            "BIOMATCH"
        );
        Reply::BioMatchR { reader: m.reader, status: bio::status::SUCCESS, score }
    }

    fn challenge(&mut self, frame: &OsdpFrame) -> Vec<u8> {
        let named = frame.scb.as_ref().and_then(|s| s.data.first().copied()).unwrap_or(KeyType::Own.byte());
        let (key_type, scbk, key) = match (KeyType::from_byte(named), self.config.scbk) {
            (Some(KeyType::Own), Some(k)) => (KeyType::Own, k, KeyType::Own),
            // Install mode: a PD without its own key has the default one, whichever way the CP names it.
            (Some(t), None) => (t, sc::SCBK_D, KeyType::Default),
            _ => return self.nak(frame, NakCode::ScConditions),
        };
        let Ok(rnd_a) = <[u8; 8]>::try_from(frame.data.as_slice()) else { return self.nak(frame, NakCode::BadLength) };
        self.note_abandoned_handshake();
        let handshake = PdHandshake::new(key_type, &scbk, rnd_a, self.rng.random());
        let cuid = {
            let mut c = [0u8; 8];
            c[..4].copy_from_slice(&self.config.serial.to_le_bytes());
            c[4] = self.config.profile.model;
            c
        };
        let (mut reply, scb) = handshake.ccrypt(cuid);
        if self.quirk(PdQuirk::WrongCryptogram)
            && let Reply::CCrypt { cryptogram, .. } = &mut reply
        {
            cryptogram[0] ^= 0x01;
        }
        self.secure = Secure::Challenged { handshake: Box::new(handshake), key };
        let mut out = OsdpFrame::reply(self.reply_address(frame), frame.sqn, reply.code(), reply.to_data());
        out.integrity = Integrity::Crc16;
        out.scb = Some(scb);
        out.encode(true)
    }

    /// Called when a CHLNG or an SQN 0 ends a handshake that stopped after this PD's CCRYPT. A CP checks the
    /// client cryptogram in CCRYPT and goes no further when it does not verify (khil's CP and libosdp's do): the
    /// usual cause is a CP with another key, and this log line is all the PD's operator gets to see of it. It
    /// names the key's type, never the key.
    fn note_abandoned_handshake(&self) {
        if let Secure::Challenged { key, .. } = &self.secure {
            tracing::warn!(
                key = key.name(),
                "secure channel not set up: the CP sent no SCRYPT after this PD's CCRYPT, so the client cryptogram \
                 did not verify at the CP (wrong key? this PD uses its {})",
                key.name()
            );
        }
    }

    fn server_cryptogram(&mut self, frame: &OsdpFrame) -> Vec<u8> {
        let Secure::Challenged { handshake, key } = std::mem::replace(&mut self.secure, Secure::None) else {
            return self.nak(frame, NakCode::ScConditions);
        };
        let Ok((session, reply, scb)) = handshake.on_scrypt(&frame.data) else {
            tracing::warn!(
                key = key.name(),
                "secure channel refused: the CP's server cryptogram (SCRYPT) does not verify with this PD's {} \
                 (wrong key?)",
                key.name()
            );
            return self.nak(frame, NakCode::ScConditions);
        };
        self.secure = Secure::Up(Box::new(session));
        tracing::info!(key = key.name(), "secure channel up");
        let mut out = OsdpFrame::reply(self.reply_address(frame), frame.sqn, reply.code(), reply.to_data());
        out.scb = Some(scb);
        out.encode(true)
    }
}
