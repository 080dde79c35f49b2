//! The CP's side of the wire: one packet out, its reply in, with the retransmissions of spec 5.7 (the very same
//! bytes after each reply timeout, so a PD that did execute the command answers from its cache). The only I/O of
//! the CP, on tokio's clock.

use std::time::Duration;

use bytes::BytesMut;
use khil_link::{Link, LinkError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_util::codec::Decoder;

use super::{CpError, protocol};
use crate::codec::{CodecError, DecodedFrame, OsdpCodec};
use crate::reply::opcode;

/// How a packet went.
pub(super) enum Sent {
    Reply(DecodedFrame),
    Timeout { attempts: u32 },
}

/// The link with its decoder state.
pub(super) struct Port<L> {
    pub(super) link: L,
    codec: OsdpCodec,
    rx: BytesMut,
}

impl<L: Link> Port<L> {
    pub(super) fn new(link: L) -> Port<L> {
        Port { link, codec: OsdpCodec::new(), rx: BytesMut::with_capacity(1024) }
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
        self.rx.clear();
        for attempt in 0..attempts {
            if attempt > 0 {
                // A late reply to an earlier attempt still counts (same SQN, same bytes): keep what came in. A PD
                // that executes a retransmission again (libosdp does) would otherwise lose the event it put in
                // its first reply.
                tracing::debug!(address, sqn, attempt, "no reply: the same packet again");
                *retransmissions += 1;
            }
            self.link.write_all(bytes).await.map_err(LinkError::from)?;
            self.link.flush().await.map_err(LinkError::from)?;
            let deadline = Instant::now() + timeout;
            loop {
                while let Some(d) = self.codec.decode(&mut self.rx).map_err(|e| match e {
                    CodecError::Io(e) => CpError::Link(e.into()),
                    CodecError::Frame(e) => protocol(address, "decode", e),
                })? {
                    let f = &d.frame;
                    if f.reply && f.address == address && (f.sqn == sqn || f.code == opcode::BUSY) {
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
