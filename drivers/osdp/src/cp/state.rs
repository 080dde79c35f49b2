//! One PD as the CP sees it, and its life: [`Phase::next_ok`] is the one place that says what comes after a step
//! that succeeded (as libosdp's `get_next_ok_state`); [`PdState::go_offline`], [`PdState::lose_session`] and
//! [`PdState::go_online`] what a failure or success does to the rest of the state. Pure: the bus passes the time.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

use super::handle::Request;
use super::{EventKind, PdSetup, PdStatus};
use crate::reply::{Capability, PdId};
use crate::sc::ScSession;

/// Where a PD is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Not heard from yet, or lost: next, an ID with SQN 0.
    Offline,
    /// ID answered: next, CAP.
    Cap,
    /// Next, the secure channel.
    Handshake,
    Online,
}

impl Phase {
    /// The phase after this one's exchange succeeded: ID, then CAP, then the handshake when the PD has a key or
    /// is in install mode, then online.
    pub(super) fn next_ok(self, setup: &PdSetup) -> Phase {
        match self {
            Phase::Offline => Phase::Cap,
            Phase::Cap if setup.wants_secure() => Phase::Handshake,
            Phase::Cap | Phase::Handshake | Phase::Online => Phase::Online,
        }
    }
}

pub(super) struct PdState {
    pub(super) setup: PdSetup,
    pub(super) phase: Phase,
    /// Whether the PD was ever offline-reported (to emit Offline only on transitions).
    pub(super) reported_offline: bool,
    /// Whether the PD was reported online since it last went offline.
    pub(super) reported_online: bool,
    pub(super) sqn: u8,
    pub(super) secure: Option<ScSession>,
    pub(super) default_key: bool,
    pub(super) id: Option<PdId>,
    pub(super) capabilities: Vec<Capability>,
    pub(super) queue: VecDeque<Request>,
    pub(super) due: Instant,
    pub(super) backoff: Duration,
    pub(super) sessions: u32,
    pub(super) offline_count: u32,
    pub(super) retransmissions: u64,
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
    pub(super) fn new(setup: PdSetup, now: Instant) -> PdState {
        PdState {
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
            due: now,
            backoff: Duration::ZERO,
            sessions: 0,
            offline_count: 0,
            retransmissions: 0,
        }
    }

    pub(super) fn status(&self) -> PdStatus {
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

    /// The step in `done` succeeded: on to [`Phase::next_ok`], due at once.
    pub(super) fn advance(&mut self, done: Phase, now: Instant) {
        self.phase = done.next_ok(&self.setup);
        self.due = now;
    }

    /// The secure session is gone (NAK 6, a bad MAC, a sequence error): SQN back to 0 and the handshake again
    /// when the PD wants one. Whether there was a session to lose.
    pub(super) fn lose_session(&mut self, now: Instant) -> bool {
        let had = self.secure.take().is_some();
        self.sqn = 0;
        self.due = now;
        if self.setup.wants_secure() {
            self.phase = Phase::Handshake;
        }
        had
    }

    /// No reply after the retries: offline, probed again after a back-off that doubles from `min` to `max`. The
    /// queued requests (to be failed) and whether this is news (not already reported offline).
    pub(super) fn go_offline(&mut self, now: Instant, min: Duration, max: Duration) -> (Vec<Request>, bool) {
        let was_reported = self.reported_offline;
        self.backoff = if was_reported { (self.backoff * 2).clamp(min, max) } else { min };
        self.phase = Phase::Offline;
        self.secure = None;
        self.sqn = 0;
        self.due = now + self.backoff;
        self.reported_offline = true;
        self.reported_online = false;
        if !was_reported {
            self.offline_count += 1;
        }
        (self.queue.drain(..).collect(), !was_reported)
    }

    /// Ready for commands: polled from now on. The Online event when this is news.
    pub(super) fn go_online(&mut self, now: Instant, poll_interval: Duration) -> Option<EventKind> {
        self.phase = Phase::Online;
        self.due = now + poll_interval;
        self.backoff = Duration::ZERO;
        self.reported_offline = false;
        if self.reported_online {
            return None;
        }
        self.reported_online = true;
        Some(EventKind::Online { id: self.id, secure: self.secure.is_some() })
    }

    /// A KEYSET was acknowledged: the PD's own key from now on, and a handshake with it.
    pub(super) fn new_key(&mut self, key: [u8; 16], now: Instant) {
        self.setup.scbk = Some(key);
        self.setup.install_mode = false;
        self.secure = None;
        self.phase = Phase::Handshake;
        self.due = now;
    }
}
