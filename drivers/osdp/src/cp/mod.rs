//! The control panel (CP): drives a multidrop bus of PDs over any [`khil_link::Link`], one exchange at a time.
//!
//! [`OsdpBus`] owns the link and one state machine per PD (up to 126, addresses 0-126). Each [`OsdpBus::tick`]
//! does one exchange with one PD: the next one that is due, in address order after the last one served (commands
//! first, then POLLs every [`CpConfig::poll_interval`], then probes of offline PDs when their back-off ends).
//! [`OsdpBus::run`] ticks forever. A [`BusHandle`] (cheap to clone, usable from any task) queues commands and
//! reads each PD's [`PdStatus`]; a PD's events (card reads, keypad, input/output/tamper status, biometric
//! results, online/offline, secure channel up/lost) arrive as [`BusEvent`]s on the channel of
//! [`OsdpBus::take_events`].
//!
//! The life of a PD: ID (SQN 0), CAP, then the secure channel when the PD has a key or is in install mode (CHLNG
//! with RND.A, CCRYPT checked, SCRYPT, RMAC_I checked; its status byte may be 0x01 or 0xFF), then POLLs and the
//! queued commands. Sequence numbers run 0, 1, 2, 3, 1, ...
//!
//! Retransmission: a reply that does not come within [`CpConfig::reply_timeout`] (200 ms, spec 5.7) gets the
//! very same packet again (same SQN, same bytes, same MAC) up to [`CpConfig::retries`] times, so a PD that did
//! execute the command answers from its cache instead of executing it twice. After that the PD is offline: its
//! queued commands fail, the secure channel is gone, SQN goes back to 0, and it is probed (one ID, no
//! retransmission) after a back-off that doubles from [`CpConfig::backoff_min`] to [`CpConfig::backoff_max`].
//! A BUSY reply (SQN 0 allowed) gets the same packet again after [`CpConfig::busy_delay`].
//!
//! Session loss: a plain reply to a secured command (typically NAK 6 after the PD dropped the session), a NAK 4,
//! or a reply MAC that does not verify ends the session; SQN restarts at 0 and the CP handshakes again, then sends
//! the interrupted command once more (it was refused, not executed).
//!
//! KEYSET ([`BusHandle::keyset`]) goes inside the secure session (encrypted); on ACK the CP keeps the new key
//! (in memory only: persisting it is the caller's business), leaves install mode and handshakes again with it.
//!
//! Nothing here logs or prints key material: [`PdSetup`]'s `Debug` hides the key, errors never carry it.

//!
//! Layout: `state` holds a PD's state and what comes after what; `port` the wire with its retransmissions;
//! `bus` the exchanges and what each reply means; `handle` the [`BusHandle`]. Sealing, opening and the handshake
//! steps are [`crate::secure`]'s, the file-transfer sender [`crate::transfer`]'s.

mod bus;
mod handle;
mod port;
mod state;

use std::fmt;
use std::time::Duration;

use khil_link::LinkError;

/// Kept here too: callers found it on the CP first.
pub use crate::transfer::MAX_FILE_FRAGMENT;
pub use bus::OsdpBus;
pub use handle::BusHandle;

use crate::frame::Integrity;
use crate::reply::{BioReadR, Capability, NakCode, PdId, RawCard, Reply};

/// The bus's timing and retry policy. Every duration runs on tokio's clock (tests can pause it).
#[derive(Debug, Clone)]
pub struct CpConfig {
    /// How long to wait for a reply before resending (spec 5.7: 200 ms).
    pub reply_timeout: Duration,
    /// Retransmissions of the same packet after the first attempt before the PD counts as offline.
    pub retries: u32,
    /// Gap between two POLLs of an idle online PD (the spec wants at least one every 50 ms... of bus time; with
    /// many PDs the round robin stretches it).
    pub poll_interval: Duration,
    /// Wait after a BUSY reply before sending the same packet again.
    pub busy_delay: Duration,
    /// BUSY replies tolerated for one packet.
    pub busy_retries: u32,
    /// First back-off after a PD goes offline; doubles on each failed probe...
    pub backoff_min: Duration,
    /// ...up to this.
    pub backoff_max: Duration,
    /// Send the 0xFF mark byte before each packet (the spec wants it; some PDs choke on it).
    pub mark: bool,
    /// CRC-16 (default) or the 8-bit checksum.
    pub integrity: Integrity,
    /// Seed for RND.A; `None` (the default, and the only choice outside tests): the operating system's entropy.
    pub seed: Option<u64>,
    /// Events buffered for the consumer; when full, new events are dropped (and logged).
    pub event_capacity: usize,
}

impl Default for CpConfig {
    fn default() -> Self {
        CpConfig {
            reply_timeout: Duration::from_millis(200),
            retries: 3,
            poll_interval: Duration::from_millis(50),
            busy_delay: Duration::from_millis(50),
            busy_retries: 10,
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_mins(1),
            mark: true,
            integrity: Integrity::Crc16,
            seed: None,
            event_capacity: 256,
        }
    }
}

/// One PD on the bus.
#[derive(Clone, PartialEq, Eq)]
pub struct PdSetup {
    /// 0..=126.
    pub address: u8,
    /// The PD's secure channel base key. With a key, the secure channel is required.
    pub scbk: Option<[u8; 16]>,
    /// Install mode: the default key SCBK-D is acceptable (tried after `scbk`, if any).
    pub install_mode: bool,
}

impl PdSetup {
    /// A PD without secure channel.
    pub fn plain(address: u8) -> PdSetup {
        PdSetup { address, scbk: None, install_mode: false }
    }

    /// A PD with its own key.
    pub fn secure(address: u8, scbk: [u8; 16]) -> PdSetup {
        PdSetup { address, scbk: Some(scbk), install_mode: false }
    }

    /// A PD in install mode (SCBK-D), to be given its own key with [`BusHandle::keyset`].
    pub fn install(address: u8) -> PdSetup {
        PdSetup { address, scbk: None, install_mode: true }
    }

    pub(crate) fn wants_secure(&self) -> bool {
        self.scbk.is_some() || self.install_mode
    }
}

impl fmt::Debug for PdSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PdSetup")
            .field("address", &self.address)
            .field("scbk", &self.scbk.map(|_| "<hidden>"))
            .field("install_mode", &self.install_mode)
            .finish()
    }
}

/// What the CP knows about one PD (published after every exchange).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdStatus {
    pub address: u8,
    /// Answered its ID, CAP and (if required) the handshake, and has not timed out since.
    pub online: bool,
    /// A secure session is up.
    pub secure: bool,
    /// The session runs on SCBK-D (install mode).
    pub default_key: bool,
    pub id: Option<PdId>,
    pub capabilities: Vec<Capability>,
    /// Secure sessions established so far.
    pub sessions: u32,
    /// Times the PD went offline.
    pub offline_count: u32,
    /// Retransmissions sent so far (same SQN, same bytes).
    pub retransmissions: u64,
    /// The current back-off while offline.
    pub backoff: Duration,
}

/// Something a PD reported, or a change of its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusEvent {
    pub address: u8,
    pub kind: EventKind,
}

/// The kinds of [`BusEvent`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// The PD answered and is ready for commands.
    Online { id: Option<PdId>, secure: bool },
    /// No reply after all retransmissions.
    Offline,
    /// A secure session is up (`default_key`: on SCBK-D).
    SecureChannel { default_key: bool },
    /// The PD dropped the secure session (or a MAC failed); the CP sets it up again.
    SessionLost,
    /// The handshake failed (wrong key, PD refused); the PD is treated as offline.
    SecureChannelFailed { why: &'static str },
    /// RAW card data.
    Card(RawCard),
    /// Keypad digits.
    Keypad { reader: u8, digits: Vec<u8> },
    /// ISTATR: one byte per input.
    Inputs(Vec<u8>),
    /// OSTATR: one byte per output.
    Outputs(Vec<u8>),
    /// LSTATR: tamper and power.
    Local { tamper: u8, power: u8 },
    /// RSTATR: one byte per reader.
    ReaderTamper(Vec<u8>),
    /// A biometric sample.
    BioRead(BioReadR),
    /// A biometric match result.
    BioMatch { reader: u8, status: u8, score: u8 },
    /// Another reply to a POLL.
    Other(Reply),
}

/// What went wrong, naming the PD and the command. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum CpError {
    #[error("PD {address}: not on this bus")]
    UnknownPd { address: u8 },
    #[error("PD address {address}: not a PD address (0-126) or already on the bus")]
    BadAddress { address: u8 },
    #[error("PD {address}: offline, {command} not sent")]
    Offline { address: u8, command: &'static str },
    #[error("PD {address}: {command} refused with NAK {code}")]
    Nak { address: u8, command: &'static str, code: NakCode },
    #[error("PD {address}: no reply to {command} after {attempts} attempt(s) of {timeout_ms} ms")]
    Timeout { address: u8, command: &'static str, attempts: u32, timeout_ms: u64 },
    #[error("PD {address}: still BUSY after {attempts} attempts of {command}")]
    Busy { address: u8, command: &'static str, attempts: u32 },
    #[error("PD {address}: {command}: the secure channel was lost")]
    SessionLost { address: u8, command: &'static str },
    #[error("PD {address}: {command} needs the secure channel, which is not up")]
    NotSecure { address: u8, command: &'static str },
    #[error("PD {address}: secure channel not established: {why}")]
    Handshake { address: u8, why: &'static str },
    #[error("PD {address}: {command}: {what}")]
    Protocol { address: u8, command: &'static str, what: String },
    #[error("PD {address}: file transfer failed with status {status}")]
    FileTransfer { address: u8, status: i16 },
    #[error("bus link: {0}")]
    Link(#[from] LinkError),
    #[error("the bus is no longer running")]
    Closed,
}

fn protocol(address: u8, command: &'static str, what: impl fmt::Display) -> CpError {
    CpError::Protocol { address, command, what: what.to_string() }
}

fn unexpected(address: u8, command: &'static str, reply: &Reply) -> CpError {
    protocol(address, command, format!("unexpected reply {}", reply.name()))
}
