//! The CP's side of the wire: one packet out, its reply in, with the retransmissions of spec 5.7 (the very same
//! bytes after each reply timeout, so a PD that did execute the command answers from its cache). The only I/O of
//! the CP, on tokio's clock.

use std::time::Duration;

use khil_link::{FramedLink, Link};
use tokio::time::Instant;

use super::CpError;
use crate::codec::{DecodedFrame, OsdpFormat};
use crate::reply::opcode;

/// How a packet went.
pub(super) enum Sent {
    Reply(DecodedFrame),
    Timeout { attempts: u32 },
}

/// The link with its framed read.
pub(super) struct Port<L> {
    pub(super) wire: FramedLink<L, OsdpFormat>,
}

impl<L: Link> Port<L> {
    pub(super) fn new(link: L) -> Port<L> {
        Port { wire: FramedLink::new(link, OsdpFormat::new()) }
    }

    /// Writes `bytes`, waits up to `timeout` for `address`'s reply with `sqn` (or a BUSY), and resends the same
    /// bytes on silence, `attempts` times in all; each resend counts in `retransmissions`.
    pub(super) async fn send(
        &mut self,
        address: u8,
        sqn: u8,
        bytes: &[u8],
        attempts: u32,
        timeout: Duration,
        retransmissions: &mut u64,
    ) -> Result<Sent, CpError> {
        // Whatever is left over from earlier exchanges (a late reply, noise) is not an answer to this packet.
        self.wire.discard(self.wire.buffered().len());
        for attempt in 0..attempts {
            if attempt > 0 {
                // A late reply to an earlier attempt still counts (same SQN, same bytes): keep what came in. A PD
                // that executes a retransmission again (libosdp does) would otherwise lose the event it put in
                // its first reply.
                tracing::debug!(address, sqn, attempt, "no reply: the same packet again");
                *retransmissions += 1;
            }
            let deadline = Instant::now() + timeout;
            // A line that does not take the packet in the reply time is as silent as one that does not answer.
            if !self.wire.send(bytes, deadline).await? {
                continue;
            }
            while let Some(d) = self.wire.recv(deadline).await? {
                let f = &d.frame;
                if f.reply && f.address == address && (f.sqn == sqn || f.code == opcode::BUSY) {
                    return Ok(Sent::Reply(d));
                }
                tracing::trace!(address = f.address, reply = f.reply, sqn = f.sqn, "not the awaited reply");
            }
        }
        Ok(Sent::Timeout { attempts })
    }
}
