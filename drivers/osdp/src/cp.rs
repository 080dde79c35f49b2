//! The control panel (CP): drives a multidrop bus of PDs over any [`Link`], one exchange at a time.
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

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Duration;

use bytes::BytesMut;
use khil_link::{Link, LinkError};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::codec::Decoder;

use crate::codec::{DecodedFrame, OsdpCodec};
use crate::command::{Command, FileTransfer, KeySet};
use crate::frame::{BROADCAST, Integrity, OsdpFrame, Scb, next_sqn, scs};
use crate::reply::{BioReadR, Capability, FtStat, NakCode, PdId, RawCard, Reply};
use crate::sc::{self, ScSession, SessionKeys};

/// The largest FILETRANSFER fragment one packet holds inside the secure channel: LEN (at most
/// [`crate::frame::MAX_LEN`]) counts the 5-byte header, a 2-byte SCB, the code, the data encrypted (11 bytes of
/// FILETRANSFER header and the fragment, a 0x80 byte, padded to 16), the 4-byte MAC and the CRC.
pub const MAX_FILE_FRAGMENT: usize = {
    let room = crate::frame::MAX_LEN as usize - crate::frame::HEADER_LEN - 2 - 1 - crate::frame::MAC_LEN - 2;
    room / 16 * 16 - 1 - 11
};

/// Key type in the handshake SCBs: 1 the PD's own SCBK, 0 the default SCBK-D.
const KEY_OWN: u8 = 1;
const KEY_DEFAULT: u8 = 0;

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

    fn wants_secure(&self) -> bool {
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

enum Op {
    Command(Command),
    KeySet([u8; 16]),
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::Command(c) => c.name(),
            Op::KeySet(_) => "KEYSET",
        }
    }
}

struct Request {
    address: u8,
    op: Op,
    /// Already sent once and interrupted by a session loss.
    resent: bool,
    done: oneshot::Sender<Result<Reply, CpError>>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("address", &self.address)
            .field("op", &self.op.name())
            .field("resent", &self.resent)
            .finish_non_exhaustive()
    }
}

/// Where a PD is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not heard from yet, or lost: next, an ID with SQN 0.
    Offline,
    /// ID answered: next, CAP.
    Cap,
    /// Next, the secure channel.
    Handshake,
    Online,
}

struct PdState {
    setup: PdSetup,
    phase: Phase,
    /// Whether the PD was ever offline-reported (to emit Offline only on transitions).
    reported_offline: bool,
    /// Whether the PD was reported online since it last went offline.
    reported_online: bool,
    sqn: u8,
    secure: Option<ScSession>,
    default_key: bool,
    id: Option<PdId>,
    capabilities: Vec<Capability>,
    queue: VecDeque<Request>,
    due: Instant,
    backoff: Duration,
    sessions: u32,
    offline_count: u32,
    retransmissions: u64,
}

impl fmt::Debug for PdState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PdState")
            .field("setup", &self.setup)
            .field("phase", &self.phase)
            .field("sqn", &self.sqn)
            .field("secure", &self.secure.is_some())
            .field("queue", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl PdState {
    fn status(&self) -> PdStatus {
        PdStatus {
            address: self.setup.address,
            online: self.phase == Phase::Online,
            secure: self.secure.is_some(),
            default_key: self.secure.is_some() && self.default_key,
            id: self.id,
            capabilities: self.capabilities.clone(),
            sessions: self.sessions,
            offline_count: self.offline_count,
            retransmissions: self.retransmissions,
            backoff: self.backoff,
        }
    }
}

/// How a packet went.
enum Sent {
    Reply(DecodedFrame),
    Timeout { attempts: u32 },
}

/// The CP side of one bus.
pub struct OsdpBus<L> {
    link: L,
    config: CpConfig,
    codec: OsdpCodec,
    rx: BytesMut,
    rng: ChaCha8Rng,
    pds: BTreeMap<u8, PdState>,
    /// The address served last (round robin).
    cursor: Option<u8>,
    requests: mpsc::Receiver<Request>,
    request_tx: mpsc::Sender<Request>,
    status: watch::Sender<BTreeMap<u8, PdStatus>>,
    events_tx: mpsc::Sender<BusEvent>,
    events_rx: Option<mpsc::Receiver<BusEvent>>,
}

impl<L> fmt::Debug for OsdpBus<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OsdpBus").field("config", &self.config).field("pds", &self.pds).finish_non_exhaustive()
    }
}

impl<L: Link> OsdpBus<L> {
    /// A bus on `link` with no PDs yet.
    pub fn new(link: L, config: CpConfig) -> OsdpBus<L> {
        let rng = match config.seed {
            Some(seed) => ChaCha8Rng::seed_from_u64(seed),
            None => rand::make_rng(),
        };
        let (request_tx, requests) = mpsc::channel(64);
        let (events_tx, events_rx) = mpsc::channel(config.event_capacity.max(1));
        OsdpBus {
            link,
            codec: OsdpCodec::new(),
            rx: BytesMut::with_capacity(1024),
            rng,
            pds: BTreeMap::new(),
            cursor: None,
            requests,
            request_tx,
            status: watch::Sender::new(BTreeMap::new()),
            events_tx,
            events_rx: Some(events_rx),
            config,
        }
    }

    /// Adds a PD; it is contacted on the next ticks.
    pub fn add_pd(&mut self, setup: PdSetup) -> Result<(), CpError> {
        let address = setup.address;
        if address >= BROADCAST || self.pds.contains_key(&address) {
            return Err(CpError::BadAddress { address });
        }
        let state = PdState {
            setup,
            phase: Phase::Offline,
            reported_offline: false,
            reported_online: false,
            sqn: 0,
            secure: None,
            default_key: false,
            id: None,
            capabilities: Vec::new(),
            queue: VecDeque::new(),
            due: Instant::now(),
            backoff: Duration::ZERO,
            sessions: 0,
            offline_count: 0,
            retransmissions: 0,
        };
        self.pds.insert(address, state);
        self.publish(address);
        Ok(())
    }

    /// Removes a PD; its queued commands fail.
    pub fn remove_pd(&mut self, address: u8) -> Result<(), CpError> {
        let mut pd = self.pds.remove(&address).ok_or(CpError::UnknownPd { address })?;
        for r in pd.queue.drain(..) {
            let _ = r.done.send(Err(CpError::UnknownPd { address }));
        }
        self.status.send_modify(|m| {
            m.remove(&address);
        });
        Ok(())
    }

    /// A handle for commands and status, usable from other tasks.
    pub fn handle(&self) -> BusHandle {
        BusHandle { tx: self.request_tx.clone(), status: self.status.subscribe() }
    }

    /// The event stream (once; later calls get `None`).
    pub fn take_events(&mut self) -> Option<mpsc::Receiver<BusEvent>> {
        self.events_rx.take()
    }

    /// One PD's status.
    pub fn status(&self, address: u8) -> Option<PdStatus> {
        self.pds.get(&address).map(PdState::status)
    }

    /// The link back (after [`OsdpBus::tick`]s or a stopped [`OsdpBus::run`]).
    pub fn into_link(self) -> L {
        self.link
    }

    /// Ticks until the link fails or closes.
    pub async fn run(&mut self) -> Result<(), CpError> {
        loop {
            self.tick().await?;
        }
    }

    /// One step: takes new requests, waits until some PD is due (or a request arrives), then does one exchange
    /// with it. Returns the address served, `None` when it only took a request. Errors only when the link
    /// fails; what happens to PDs is in their status and the events.
    pub async fn tick(&mut self) -> Result<Option<u8>, CpError> {
        while let Ok(r) = self.requests.try_recv() {
            self.accept(r);
        }
        let Some((address, due)) = self.next_due() else {
            // Nothing on the bus yet: wait for a request (the bus holds a sender, so this never ends with None).
            if let Some(r) = self.requests.recv().await {
                self.accept(r);
            }
            return Ok(None);
        };
        if due > Instant::now() {
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                r = self.requests.recv() => {
                    if let Some(r) = r {
                        self.accept(r);
                    }
                    return Ok(None);
                }
            }
        }
        self.cursor = Some(address);
        self.service(address).await?;
        if self.pds.contains_key(&address) {
            self.publish(address);
        }
        Ok(Some(address))
    }

    fn accept(&mut self, request: Request) {
        let address = request.address;
        let Some(pd) = self.pds.get_mut(&address) else {
            let _ = request.done.send(Err(CpError::UnknownPd { address }));
            return;
        };
        if pd.phase == Phase::Offline && pd.reported_offline {
            let _ = request.done.send(Err(CpError::Offline { address, command: request.op.name() }));
            return;
        }
        pd.queue.push_back(request);
    }

    /// The next PD to serve and when: the earliest due; among those already due, the first after the cursor.
    fn next_due(&self) -> Option<(u8, Instant)> {
        let now = Instant::now();
        let due_of = |pd: &PdState| -> Instant {
            match pd.phase {
                Phase::Online if !pd.queue.is_empty() => now,
                _ => pd.due,
            }
        };
        let start = self.cursor.map_or(0, |c| c.saturating_add(1));
        let ready = self.pds.range(start..).chain(self.pds.range(..start)).find(|(_, pd)| due_of(pd) <= now);
        if let Some((&a, _)) = ready {
            return Some((a, now));
        }
        self.pds.iter().map(|(&a, pd)| (a, due_of(pd))).min_by_key(|&(_, due)| due)
    }

    fn publish(&self, address: u8) {
        let Some(pd) = self.pds.get(&address) else { return };
        let new = pd.status();
        self.status.send_if_modified(|m| {
            if m.get(&address) == Some(&new) {
                false
            } else {
                m.insert(address, new);
                true
            }
        });
    }

    /// Publishes the PD's status, then sends the event: a consumer that sees the event sees the status too.
    fn emit(&self, address: u8, kind: EventKind) {
        self.publish(address);
        tracing::debug!(address, event = ?kind, "PD event");
        if let Err(mpsc::error::TrySendError::Full(e)) = self.events_tx.try_send(BusEvent { address, kind }) {
            tracing::warn!(address, event = ?e.kind, "event queue full: event dropped");
        }
    }

    async fn service(&mut self, address: u8) -> Result<(), CpError> {
        let Some(phase) = self.pds.get(&address).map(|p| p.phase) else { return Ok(()) };
        let result = match phase {
            Phase::Offline => self.probe(address).await,
            Phase::Cap => self.capabilities(address).await,
            Phase::Handshake => self.handshake(address).await,
            Phase::Online => {
                let request = self.pds.get_mut(&address).and_then(|p| p.queue.pop_front());
                match request {
                    Some(r) => self.execute(address, r).await,
                    None => self.poll(address).await,
                }
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(CpError::Link(e)) => Err(CpError::Link(e)),
            Err(e) => {
                self.recover(address, &e);
                Ok(())
            }
        }
    }

    /// After a failed exchange: what the PD's state becomes.
    fn recover(&mut self, address: u8, error: &CpError) {
        match error {
            CpError::Timeout { .. } | CpError::Busy { .. } => self.offline(address),
            CpError::Handshake { why, .. } => {
                tracing::warn!(address, why, "secure channel not established");
                self.emit(address, EventKind::SecureChannelFailed { why });
                self.offline(address);
            }
            CpError::SessionLost { .. } | CpError::Nak { code: NakCode::BadSequence, .. } => {
                self.session_lost(address);
            }
            other => {
                tracing::warn!(address, error = %other, "exchange failed");
                if let Some(pd) = self.pds.get_mut(&address) {
                    pd.due = Instant::now() + self.config.poll_interval;
                }
            }
        }
    }

    fn session_lost(&mut self, address: u8) {
        let Some(pd) = self.pds.get_mut(&address) else { return };
        let had = pd.secure.take().is_some();
        pd.sqn = 0;
        pd.due = Instant::now();
        if pd.setup.wants_secure() {
            pd.phase = Phase::Handshake;
        }
        if had {
            tracing::info!(address, "secure channel lost: handshaking again");
            self.emit(address, EventKind::SessionLost);
        }
    }

    fn offline(&mut self, address: u8) {
        let (min, max) = (self.config.backoff_min, self.config.backoff_max);
        let Some(pd) = self.pds.get_mut(&address) else { return };
        let was_reported = pd.reported_offline;
        pd.backoff = if was_reported { (pd.backoff * 2).clamp(min, max) } else { min };
        pd.phase = Phase::Offline;
        pd.secure = None;
        pd.sqn = 0;
        pd.due = Instant::now() + pd.backoff;
        pd.reported_offline = true;
        pd.reported_online = false;
        let queued: Vec<Request> = pd.queue.drain(..).collect();
        if !was_reported {
            pd.offline_count += 1;
        }
        let backoff = pd.backoff;
        for r in queued {
            let _ = r.done.send(Err(CpError::Offline { address, command: r.op.name() }));
        }
        if was_reported {
            tracing::debug!(address, backoff_ms = backoff.as_millis() as u64, "PD still offline");
        } else {
            tracing::warn!(address, backoff_ms = backoff.as_millis() as u64, "PD offline");
            self.emit(address, EventKind::Offline);
        }
    }

    fn went_online(&mut self, address: u8) {
        let Some(pd) = self.pds.get_mut(&address) else { return };
        pd.phase = Phase::Online;
        pd.due = Instant::now() + self.config.poll_interval;
        pd.backoff = Duration::ZERO;
        pd.reported_offline = false;
        if !pd.reported_online {
            pd.reported_online = true;
            let kind = EventKind::Online { id: pd.id, secure: pd.secure.is_some() };
            tracing::info!(address, secure = pd.secure.is_some(), "PD online");
            self.emit(address, kind);
        }
    }

    async fn probe(&mut self, address: u8) -> Result<(), CpError> {
        if let Some(pd) = self.pds.get_mut(&address) {
            pd.sqn = 0;
            pd.secure = None;
        }
        // An offline PD gets one try per back-off period; a new one the full set.
        let attempts = u32::from(self.pds.get(&address).is_some_and(|p| p.reported_offline));
        match self.exchange_with(address, &Command::Id { kind: 0 }, None, attempts).await?.0 {
            Reply::PdId(id) => {
                if let Some(pd) = self.pds.get_mut(&address) {
                    pd.id = Some(id);
                }
            }
            Reply::Nak { code, .. } => {
                tracing::info!(address, %code, "ID refused; carrying on");
            }
            other => return Err(unexpected(address, "ID", &other)),
        }
        if let Some(pd) = self.pds.get_mut(&address) {
            pd.phase = Phase::Cap;
            pd.due = Instant::now();
        }
        Ok(())
    }

    async fn capabilities(&mut self, address: u8) -> Result<(), CpError> {
        match self.exchange(address, &Command::Cap { kind: 0 }).await? {
            Reply::PdCap(caps) => {
                if let Some(pd) = self.pds.get_mut(&address) {
                    pd.capabilities = caps;
                }
            }
            Reply::Nak { code, .. } => tracing::info!(address, %code, "CAP refused; carrying on"),
            other => return Err(unexpected(address, "CAP", &other)),
        }
        let wants = self.pds.get(&address).is_some_and(|p| p.setup.wants_secure());
        if wants {
            if let Some(pd) = self.pds.get_mut(&address) {
                pd.phase = Phase::Handshake;
                pd.due = Instant::now();
            }
        } else {
            self.went_online(address);
        }
        Ok(())
    }

    /// Sets the secure channel up: the PD's own key first, then (install mode) SCBK-D.
    async fn handshake(&mut self, address: u8) -> Result<(), CpError> {
        let Some(setup) = self.pds.get(&address).map(|p| p.setup.clone()) else { return Ok(()) };
        let mut keys = Vec::new();
        if let Some(k) = setup.scbk {
            keys.push((KEY_OWN, k));
        }
        if setup.install_mode {
            keys.push((KEY_DEFAULT, sc::SCBK_D));
        }
        let mut why = "no key configured";
        for (kind, key) in keys {
            match self.try_handshake(address, kind, &key).await {
                Ok(()) => {
                    let Some(pd) = self.pds.get_mut(&address) else { return Ok(()) };
                    pd.default_key = kind == KEY_DEFAULT;
                    pd.sessions += 1;
                    pd.phase = Phase::Online;
                    tracing::info!(
                        address,
                        key = if kind == KEY_DEFAULT { "SCBK-D" } else { "SCBK" },
                        "secure channel up"
                    );
                    self.emit(address, EventKind::SecureChannel { default_key: kind == KEY_DEFAULT });
                    self.went_online(address);
                    return Ok(());
                }
                Err(CpError::Handshake { why: w, .. }) => why = w,
                Err(CpError::Nak { code, .. }) => {
                    tracing::info!(address, %code, "handshake refused");
                    why = "the PD refused the handshake (NAK)";
                    // A NAK 4 or 6 leaves the PD's sequence unknown: start over at 0 for the next try.
                    if let Some(pd) = self.pds.get_mut(&address) {
                        pd.sqn = 0;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(CpError::Handshake { address, why })
    }

    async fn try_handshake(&mut self, address: u8, kind: u8, scbk: &[u8; 16]) -> Result<(), CpError> {
        if let Some(pd) = self.pds.get_mut(&address) {
            pd.secure = None;
        }
        let rnd_a: [u8; 8] = self.rng.random();
        let chlng = Command::Chlng { rnd_a };
        let (reply, _) = self.exchange_with(address, &chlng, Some(Scb::new(scs::CHLNG, vec![kind])), 0).await?;
        let (rnd_b, cryptogram) = match reply {
            Reply::CCrypt { rnd_b, cryptogram, .. } => (rnd_b, cryptogram),
            Reply::Nak { code, .. } => return Err(CpError::Nak { address, command: "CHLNG", code }),
            other => return Err(unexpected(address, "CHLNG", &other)),
        };
        let keys = SessionKeys::derive(scbk, &rnd_a);
        if !sc::ct_eq(&sc::client_cryptogram(&keys, &rnd_a, &rnd_b), &cryptogram) {
            return Err(CpError::Handshake { address, why: "the PD's cryptogram does not verify (a different key?)" });
        }
        let server = sc::server_cryptogram(&keys, &rnd_a, &rnd_b);
        let scrypt = Command::Scrypt { cryptogram: server };
        let (reply, scb) = self.exchange_with(address, &scrypt, Some(Scb::new(scs::SCRYPT, vec![kind])), 0).await?;
        let mac = match reply {
            Reply::RMacI { mac } => mac,
            Reply::Nak { code, .. } => return Err(CpError::Nak { address, command: "SCRYPT", code }),
            other => return Err(unexpected(address, "SCRYPT", &other)),
        };
        // The status byte is disputed between implementations: 0x01 and 0xFF both mean "accepted".
        let status = scb.and_then(|s| s.data.first().copied());
        if !matches!(status, Some(0x01 | 0xFF)) {
            return Err(CpError::Handshake { address, why: "RMAC_I without an accepted status byte" });
        }
        let expected = sc::initial_rmac(&keys, &server);
        if !sc::ct_eq(&expected, &mac) {
            return Err(CpError::Handshake { address, why: "RMAC_I does not verify" });
        }
        if let Some(pd) = self.pds.get_mut(&address) {
            pd.secure = Some(ScSession::new(keys, expected));
        }
        Ok(())
    }

    async fn poll(&mut self, address: u8) -> Result<(), CpError> {
        let reply = self.exchange(address, &Command::Poll).await?;
        if let Some(pd) = self.pds.get_mut(&address) {
            pd.due = Instant::now() + self.config.poll_interval;
        }
        let kind = match reply {
            Reply::Ack => return Ok(()),
            Reply::Nak { code, .. } => {
                if code == NakCode::ScConditions && self.pds.get(&address).is_some_and(|p| p.setup.wants_secure()) {
                    return Err(CpError::SessionLost { address, command: "POLL" });
                }
                return Err(CpError::Nak { address, command: "POLL", code });
            }
            Reply::Raw(card) => EventKind::Card(card),
            Reply::Keypad { reader, digits } => EventKind::Keypad { reader, digits },
            Reply::IStatR(v) => EventKind::Inputs(v),
            Reply::OStatR(v) => EventKind::Outputs(v),
            Reply::LStatR { tamper, power } => EventKind::Local { tamper, power },
            Reply::RStatR(v) => EventKind::ReaderTamper(v),
            Reply::BioReadR(b) => EventKind::BioRead(b),
            Reply::BioMatchR { reader, status, score } => EventKind::BioMatch { reader, status, score },
            other => EventKind::Other(other),
        };
        self.emit(address, kind);
        Ok(())
    }

    async fn execute(&mut self, address: u8, request: Request) -> Result<(), CpError> {
        let name = request.op.name();
        let result = match &request.op {
            Op::Command(c) => self.exchange(address, c).await,
            Op::KeySet(key) => {
                if self.pds.get(&address).is_some_and(|p| p.secure.is_none()) {
                    Err(CpError::NotSecure { address, command: name })
                } else {
                    let c = Command::KeySet(KeySet { key_type: 1, key: key.to_vec() });
                    self.exchange(address, &c).await
                }
            }
        };
        if let Some(pd) = self.pds.get_mut(&address) {
            pd.due = Instant::now() + self.config.poll_interval;
        }
        match result {
            Ok(Reply::Nak { code, .. }) => {
                let e = CpError::Nak { address, command: name, code };
                if code == NakCode::BadSequence {
                    self.retry_or_fail(address, request, CpError::Nak { address, command: name, code });
                    return Err(e);
                }
                let _ = request.done.send(Err(e));
                Ok(())
            }
            Ok(reply) => {
                if let (Op::KeySet(key), Reply::Ack) = (&request.op, &reply) {
                    self.new_key(address, *key);
                }
                if let (Op::Command(Command::ComSet { .. }), Reply::Com { address: new, baud }) = (&request.op, &reply)
                {
                    self.moved(address, *new, *baud);
                }
                let _ = request.done.send(Ok(reply));
                Ok(())
            }
            Err(CpError::SessionLost { .. }) => {
                self.retry_or_fail(address, request, CpError::SessionLost { address, command: name });
                Err(CpError::SessionLost { address, command: name })
            }
            Err(CpError::Timeout { address, command, attempts, timeout_ms }) => {
                let _ = request.done.send(Err(CpError::Timeout { address, command, attempts, timeout_ms }));
                Err(CpError::Timeout { address, command, attempts, timeout_ms })
            }
            Err(CpError::Link(e)) => {
                let _ = request.done.send(Err(CpError::Closed));
                Err(CpError::Link(e))
            }
            Err(e) => {
                let _ = request.done.send(Err(e));
                Ok(())
            }
        }
    }

    /// A command refused because the session (or the sequence) was lost: once more after the new handshake.
    fn retry_or_fail(&mut self, address: u8, mut request: Request, error: CpError) {
        match self.pds.get_mut(&address) {
            Some(pd) if !request.resent => {
                request.resent = true;
                pd.queue.push_front(request);
            }
            _ => {
                let _ = request.done.send(Err(error));
            }
        }
    }

    fn new_key(&mut self, address: u8, key: [u8; 16]) {
        let Some(pd) = self.pds.get_mut(&address) else { return };
        pd.setup.scbk = Some(key);
        pd.setup.install_mode = false;
        pd.secure = None;
        pd.phase = Phase::Handshake;
        pd.due = Instant::now();
        tracing::info!(address, "KEYSET accepted: handshaking with the new key");
    }

    fn moved(&mut self, address: u8, new: u8, baud: u32) {
        tracing::info!(address, new, baud, "COMSET accepted (the link's rate is the caller's to change)");
        if new == address || new >= BROADCAST || self.pds.contains_key(&new) {
            return;
        }
        if let Some(mut pd) = self.pds.remove(&address) {
            pd.setup.address = new;
            self.pds.insert(new, pd);
            self.status.send_modify(|m| {
                m.remove(&address);
            });
            self.publish(new);
        }
    }

    /// One command/reply exchange with the PD's normal retransmissions.
    async fn exchange(&mut self, address: u8, command: &Command) -> Result<Reply, CpError> {
        self.exchange_with(address, command, None, 0).await.map(|(r, _)| r)
    }

    /// One command/reply exchange. `handshake`: send in plain text with this SCB (CHLNG, SCRYPT); otherwise the
    /// command is MAC'd (and its data encrypted) when the session is up. `attempts`: 0 for 1 + retries.
    /// Returns the reply (verified and decrypted) and its SCB.
    async fn exchange_with(
        &mut self,
        address: u8,
        command: &Command,
        handshake: Option<Scb>,
        attempts: u32,
    ) -> Result<(Reply, Option<Scb>), CpError> {
        let name = command.name();
        let attempts = if attempts == 0 { self.config.retries + 1 } else { attempts };
        let (mark, integrity) = (self.config.mark, self.config.integrity);
        let pd = self.pds.get_mut(&address).ok_or(CpError::UnknownPd { address })?;
        let sqn = pd.sqn;
        let data = command.try_to_data().map_err(|e| protocol(address, name, e))?;
        let mut frame = OsdpFrame::command(address, sqn, command.code(), data);
        frame.integrity = integrity;
        let secured = match (handshake, pd.secure.as_mut()) {
            (Some(scb), _) => {
                frame.scb = Some(scb);
                false
            }
            (None, Some(session)) => {
                let kind = if frame.data.is_empty() {
                    scs::CMD_MAC
                } else {
                    frame.data = session.encrypt_command_data(&frame.data);
                    scs::CMD_ENC
                };
                frame.scb = Some(Scb::new(kind, Vec::new()));
                frame.seal(|input| session.cp_mac_command(input)).map_err(|e| protocol(address, name, e))?;
                true
            }
            (None, None) => false,
        };
        let bytes = frame.try_encode(mark).map_err(|e| protocol(address, name, e))?;

        let mut busy = 0;
        let mut decoded = loop {
            match self.send(address, sqn, &bytes, attempts).await? {
                Sent::Timeout { attempts } => {
                    return Err(CpError::Timeout {
                        address,
                        command: name,
                        attempts,
                        timeout_ms: self.config.reply_timeout.as_millis() as u64,
                    });
                }
                Sent::Reply(d) if d.frame.code == crate::reply::opcode::BUSY => {
                    busy += 1;
                    if busy > self.config.busy_retries {
                        return Err(CpError::Busy { address, command: name, attempts: busy });
                    }
                    tracing::debug!(address, command = name, "BUSY: the same packet again shortly");
                    tokio::time::sleep(self.config.busy_delay).await;
                }
                Sent::Reply(d) => break d,
            }
        };
        let pd = self.pds.get_mut(&address).ok_or(CpError::UnknownPd { address })?;
        pd.sqn = next_sqn(sqn);
        let reply_kind = decoded.frame.scb.as_ref().map(|s| s.kind);
        let mut data = std::mem::take(&mut decoded.frame.data);
        match (reply_kind, pd.secure.as_mut()) {
            (Some(kind @ (scs::REPLY_MAC | scs::REPLY_ENC)), Some(session)) if secured => {
                let (Some(input), Some(mac)) = (decoded.mac_input(), decoded.frame.mac) else {
                    return Err(CpError::SessionLost { address, command: name });
                };
                if session.cp_verify_reply(input, &mac).is_err() {
                    tracing::warn!(address, command = name, "reply MAC does not verify");
                    return Err(CpError::SessionLost { address, command: name });
                }
                if kind == scs::REPLY_ENC && !data.is_empty() {
                    data = session
                        .decrypt_reply_data(&data)
                        .map_err(|_| CpError::SessionLost { address, command: name })?;
                }
            }
            (Some(scs::REPLY_MAC | scs::REPLY_ENC), _) => {
                return Err(protocol(address, name, "secured reply outside a secure session"));
            }
            (_, Some(_)) if secured => {
                // The PD answers in plain text: it has dropped the session (NAK 6, typically).
                tracing::info!(address, command = name, code = decoded.frame.code, "plain reply inside the session");
                return Err(CpError::SessionLost { address, command: name });
            }
            _ => {}
        }
        let reply = Reply::parse(decoded.frame.code, &data).map_err(|e| protocol(address, name, e))?;
        Ok((reply, decoded.frame.scb))
    }

    /// Writes `bytes`, waits for `address`'s reply with `sqn` (or a BUSY), resending the same bytes on silence.
    async fn send(&mut self, address: u8, sqn: u8, bytes: &[u8], attempts: u32) -> Result<Sent, CpError> {
        // Whatever is left over from earlier exchanges (a late reply, noise) is not an answer to this packet.
        self.rx.clear();
        for attempt in 0..attempts {
            if attempt > 0 {
                // A late reply to an earlier attempt still counts (same SQN, same bytes): keep what came in. A PD
                // that executes a retransmission again (libosdp does) would otherwise lose the event it put in
                // its first reply.
                tracing::debug!(address, sqn, attempt, "no reply: the same packet again");
                if let Some(pd) = self.pds.get_mut(&address) {
                    pd.retransmissions += 1;
                }
            }
            self.link.write_all(bytes).await.map_err(LinkError::from)?;
            self.link.flush().await.map_err(LinkError::from)?;
            let deadline = Instant::now() + self.config.reply_timeout;
            loop {
                while let Some(d) = self.codec.decode(&mut self.rx).map_err(|e| match e {
                    crate::codec::CodecError::Io(e) => CpError::Link(e.into()),
                    crate::codec::CodecError::Frame(e) => protocol(address, "decode", e),
                })? {
                    let f = &d.frame;
                    if f.reply && f.address == address && (f.sqn == sqn || f.code == crate::reply::opcode::BUSY) {
                        return Ok(Sent::Reply(d));
                    }
                    tracing::trace!(address = f.address, reply = f.reply, sqn = f.sqn, "not the awaited reply");
                }
                match tokio::time::timeout_at(deadline, self.link.read_buf(&mut self.rx)).await {
                    Err(_) => break,
                    Ok(Ok(0)) => return Err(CpError::Link(LinkError::PeerClosed)),
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(CpError::Link(e.into())),
                }
            }
        }
        Ok(Sent::Timeout { attempts })
    }
}

fn protocol(address: u8, command: &'static str, what: impl fmt::Display) -> CpError {
    CpError::Protocol { address, command, what: what.to_string() }
}

fn unexpected(address: u8, command: &'static str, reply: &Reply) -> CpError {
    protocol(address, command, format!("unexpected reply {}", reply.name()))
}

/// Commands and status for a running bus. Clone freely.
#[derive(Debug, Clone)]
pub struct BusHandle {
    tx: mpsc::Sender<Request>,
    status: watch::Receiver<BTreeMap<u8, PdStatus>>,
}

impl BusHandle {
    async fn submit(&self, address: u8, op: Op) -> Result<Reply, CpError> {
        let (done, rx) = oneshot::channel();
        self.tx.send(Request { address, op, resent: false, done }).await.map_err(|_| CpError::Closed)?;
        rx.await.map_err(|_| CpError::Closed)?
    }

    /// Sends `command` to the PD between polls (MAC'd, its data encrypted, when the session is up) and returns
    /// the reply. A NAK is an error naming its code. Fails at once while the PD is offline.
    pub async fn command(&self, address: u8, command: Command) -> Result<Reply, CpError> {
        self.submit(address, Op::Command(command)).await
    }

    /// Gives the PD a new secure channel base key (inside the secure session); on ACK the bus handshakes again
    /// with it. Keep the key: the bus forgets it when dropped.
    pub async fn keyset(&self, address: u8, key: [u8; 16]) -> Result<(), CpError> {
        match self.submit(address, Op::KeySet(key)).await? {
            Reply::Ack => Ok(()),
            other => Err(unexpected(address, "KEYSET", &other)),
        }
    }

    /// Sends `file` in FILETRANSFER fragments of at most `fragment` bytes (fewer if the PD asks with FTSTAT's
    /// update-message-max, and never more than one packet holds: [`MAX_FILE_FRAGMENT`]), honouring the PD's
    /// delay, and returns the last FTSTAT. A PD that answers "finishing" (status 3) gets idle fragments (length
    /// 0, offset = size) until its status changes. A negative status ends the transfer with
    /// [`CpError::FileTransfer`].
    pub async fn file_transfer(&self, address: u8, kind: u8, file: &[u8], fragment: usize) -> Result<FtStat, CpError> {
        /// Idle fragments a finishing PD gets before the CP gives up.
        const FINISHING_ROUNDS: u32 = 1000;
        let total = u32::try_from(file.len()).map_err(|_| protocol(address, "FILETRANSFER", "file too large"))?;
        let mut size = fragment.clamp(1, MAX_FILE_FRAGMENT);
        let mut offset = 0usize;
        let mut idle = 0;
        loop {
            let end = (offset + size).min(file.len());
            let ft = FileTransfer { kind, total, offset: offset as u32, fragment: file[offset..end].to_vec() };
            let status = match self.command(address, Command::FileTransfer(ft)).await? {
                Reply::FtStat(s) => s,
                other => return Err(unexpected(address, "FILETRANSFER", &other)),
            };
            if status.status < 0 {
                return Err(CpError::FileTransfer { address, status: status.status });
            }
            if status.update_max > 0 {
                size = size.min(usize::from(status.update_max)).max(1);
            }
            offset = end;
            if offset >= file.len() {
                // 3: the PD is still finishing; ask again with idle fragments.
                if status.status != 3 {
                    return Ok(status);
                }
                idle += 1;
                if idle > FINISHING_ROUNDS {
                    return Err(CpError::FileTransfer { address, status: status.status });
                }
            }
            if status.delay > 0 {
                tokio::time::sleep(Duration::from_millis(u64::from(status.delay))).await;
            }
        }
    }

    /// The PD's last published status.
    pub fn status(&self, address: u8) -> Option<PdStatus> {
        self.status.borrow().get(&address).cloned()
    }

    /// Waits until the PD's status satisfies `ready` (no time limit: wrap it in a timeout).
    pub async fn wait_for(&self, address: u8, ready: impl Fn(&PdStatus) -> bool) -> Result<PdStatus, CpError> {
        let mut rx = self.status.clone();
        let map = rx.wait_for(|m| m.get(&address).is_some_and(&ready)).await.map_err(|_| CpError::Closed)?;
        map.get(&address).cloned().ok_or(CpError::UnknownPd { address })
    }

    /// Waits until the PD is online (and, if it was set up with a key or in install mode, secure).
    pub async fn wait_online(&self, address: u8) -> Result<PdStatus, CpError> {
        self.wait_for(address, |s| s.online).await
    }
}
