//! [`BusHandle`]: what other tasks use to send commands to a running bus and read its PDs' status; the requests
//! it queues.

use std::collections::BTreeMap;
use std::fmt;

use tokio::sync::{mpsc, oneshot, watch};

use super::{CpError, PdStatus, protocol, unexpected};
use crate::command::Command;
use crate::reply::{FtStat, Reply};
use crate::transfer::{FileSender, FileStep};

pub(super) enum Op {
    Command(Command),
    KeySet([u8; 16]),
}

impl Op {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Op::Command(c) => c.name(),
            Op::KeySet(_) => "KEYSET",
        }
    }
}

pub(super) struct Request {
    pub(super) address: u8,
    pub(super) op: Op,
    /// Already sent once and interrupted by a session loss.
    pub(super) resent: bool,
    pub(super) done: oneshot::Sender<Result<Reply, CpError>>,
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

/// Commands and status for a running bus. Clone freely.
#[derive(Debug, Clone)]
pub struct BusHandle {
    pub(super) tx: mpsc::Sender<Request>,
    pub(super) status: watch::Receiver<BTreeMap<u8, PdStatus>>,
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
    /// update-message-max, and never more than one packet holds: [`crate::transfer::MAX_FILE_FRAGMENT`]), honouring the PD's
    /// delay, and returns the last FTSTAT. A PD that answers "finishing" (status 3) gets idle fragments (length
    /// 0, offset = size) until its status changes. A negative status ends the transfer with
    /// [`CpError::FileTransfer`].
    pub async fn file_transfer(&self, address: u8, kind: u8, file: &[u8], fragment: usize) -> Result<FtStat, CpError> {
        let mut sender = FileSender::new(kind, file, fragment).map_err(|e| protocol(address, "FILETRANSFER", e))?;
        loop {
            let status = match self.command(address, Command::FileTransfer(sender.fragment())).await? {
                Reply::FtStat(s) => s,
                other => return Err(unexpected(address, "FILETRANSFER", &other)),
            };
            match sender.on_ftstat(&status) {
                FileStep::Send { delay } => {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                }
                FileStep::Done(s) => return Ok(s),
                FileStep::Refused(s) | FileStep::StillFinishing(s) => {
                    return Err(CpError::FileTransfer { address, status: s.status });
                }
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
