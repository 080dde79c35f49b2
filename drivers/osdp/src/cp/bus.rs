//! [`OsdpBus`]: the multidrop bus, one exchange at a time, and what each reply means for the PD's state.

use std::collections::BTreeMap;
use std::fmt;

use khil_link::Link;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::handle::{BusHandle, Op, Request};
use super::port::{Port, Sent};
use super::state::{PdState, Phase};
use super::{BusEvent, CpConfig, CpError, EventKind, PdSetup, PdStatus, protocol, unexpected};
use crate::command::{Command, KeySet};
use crate::frame::{BROADCAST, OsdpFrame, Scb, next_sqn, scs};
use crate::reply::{NakCode, Reply};
use crate::sc;
use crate::secure::{CpHandshake, KeyType, OpenError};

pub struct OsdpBus<L> {
    port: Port<L>,
    config: CpConfig,
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
            port: Port::new(link),
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
        let state = PdState::new(setup, Instant::now());
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
        self.port.wire.into_inner()
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
        if pd.lose_session(Instant::now()) {
            tracing::info!(address, "secure channel lost: handshaking again");
            self.emit(address, EventKind::SessionLost);
        }
    }

    fn offline(&mut self, address: u8) {
        let (min, max) = (self.config.backoff_min, self.config.backoff_max);
        let Some(pd) = self.pds.get_mut(&address) else { return };
        let (queued, news) = pd.go_offline(Instant::now(), min, max);
        let backoff = pd.backoff;
        for r in queued {
            let _ = r.done.send(Err(CpError::Offline { address, command: r.op.name() }));
        }
        if news {
            tracing::warn!(address, backoff_ms = backoff.as_millis() as u64, "PD offline");
            self.emit(address, EventKind::Offline);
        } else {
            tracing::debug!(address, backoff_ms = backoff.as_millis() as u64, "PD still offline");
        }
    }

    fn went_online(&mut self, address: u8) {
        let Some(pd) = self.pds.get_mut(&address) else { return };
        if let Some(kind) = pd.go_online(Instant::now(), self.config.poll_interval) {
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
            pd.advance(Phase::Offline, Instant::now());
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
        let Some(pd) = self.pds.get_mut(&address) else { return Ok(()) };
        if Phase::Cap.next_ok(&pd.setup) == Phase::Online {
            self.went_online(address);
        } else {
            pd.advance(Phase::Cap, Instant::now());
        }
        Ok(())
    }

    /// Sets the secure channel up: the PD's own key first, then (install mode) SCBK-D.
    async fn handshake(&mut self, address: u8) -> Result<(), CpError> {
        let Some(setup) = self.pds.get(&address).map(|p| p.setup.clone()) else { return Ok(()) };
        let mut keys = Vec::new();
        if let Some(k) = setup.scbk {
            keys.push((KeyType::Own, k));
        }
        if setup.install_mode {
            keys.push((KeyType::Default, sc::SCBK_D));
        }
        let mut why = "no key configured";
        for (kind, key) in keys {
            match self.try_handshake(address, kind, key).await {
                Ok(()) => {
                    let Some(pd) = self.pds.get_mut(&address) else { return Ok(()) };
                    pd.default_key = kind == KeyType::Default;
                    pd.sessions += 1;
                    pd.phase = Phase::Handshake.next_ok(&pd.setup);
                    tracing::info!(address, key = kind.name(), "secure channel up");
                    self.emit(address, EventKind::SecureChannel { default_key: kind == KeyType::Default });
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

    /// One handshake with `scbk`, through [`CpHandshake`]'s steps.
    async fn try_handshake(&mut self, address: u8, kind: KeyType, scbk: [u8; 16]) -> Result<(), CpError> {
        if let Some(pd) = self.pds.get_mut(&address) {
            pd.secure = None;
        }
        let mut handshake = CpHandshake::new(kind, scbk, self.rng.random());
        let (chlng, scb) = handshake.challenge();
        let (rnd_b, cryptogram) = match self.exchange_with(address, &chlng, Some(scb), 0).await?.0 {
            Reply::CCrypt { rnd_b, cryptogram, .. } => (rnd_b, cryptogram),
            Reply::Nak { code, .. } => return Err(CpError::Nak { address, command: "CHLNG", code }),
            other => return Err(unexpected(address, "CHLNG", &other)),
        };
        let handshake_failed = |e: crate::secure::HandshakeError| CpError::Handshake { address, why: e.why() };
        let (scrypt, scb) = handshake.on_ccrypt(rnd_b, &cryptogram).map_err(handshake_failed)?;
        let (reply, scb) = self.exchange_with(address, &scrypt, Some(scb), 0).await?;
        let mac = match reply {
            Reply::RMacI { mac } => mac,
            Reply::Nak { code, .. } => return Err(CpError::Nak { address, command: "SCRYPT", code }),
            other => return Err(unexpected(address, "SCRYPT", &other)),
        };
        let status = scb.and_then(|s| s.data.first().copied());
        let session = handshake.on_rmac_i(&mac, status).map_err(handshake_failed)?;
        if let Some(pd) = self.pds.get_mut(&address) {
            pd.secure = Some(session);
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
        pd.new_key(key, Instant::now());
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
                session.seal_command(&mut frame).map_err(|e| protocol(address, name, e))?;
                true
            }
            (None, None) => false,
        };
        let bytes = frame.try_encode(mark).map_err(|e| protocol(address, name, e))?;

        let mut busy = 0;
        let mut decoded = loop {
            let timeout = self.config.reply_timeout;
            let pd = self.pds.get_mut(&address).ok_or(CpError::UnknownPd { address })?;
            match self.port.send(address, sqn, &bytes, attempts, timeout, &mut pd.retransmissions).await? {
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
        let data = match pd.secure.as_mut() {
            Some(session) if secured => match session.open_reply(&decoded.frame, &decoded.raw) {
                Ok(data) => data,
                Err(OpenError::NotSecured { .. }) => {
                    // The PD answers in plain text: it has dropped the session (NAK 6, typically).
                    let code = decoded.frame.code;
                    tracing::info!(address, command = name, code, "plain reply inside the session");
                    return Err(CpError::SessionLost { address, command: name });
                }
                Err(e) => {
                    tracing::warn!(address, command = name, error = %e, "reply does not open");
                    return Err(CpError::SessionLost { address, command: name });
                }
            },
            _ if decoded.frame.scb.as_ref().is_some_and(|s| matches!(s.kind, scs::REPLY_MAC | scs::REPLY_ENC)) => {
                return Err(protocol(address, name, "secured reply outside a secure session"));
            }
            _ => std::mem::take(&mut decoded.frame.data),
        };
        let reply = Reply::parse(decoded.frame.code, &data).map_err(|e| protocol(address, name, e))?;
        Ok((reply, decoded.frame.scb))
    }
}
