//! The wire: the reader's two channels over `khil-sim-host` links. khil's channel: link -> [`KhilFormat`] ->
//! [`Reader`] -> link, with what happens on the glass sent in between; the RTE channel: each read's block, and
//! nothing read from the host (the RTE native reader "does not accept any commands"). Frames whose CRC fails are
//! dropped by the codec and never answered.
//!
//! Both channels share one [`DocReaderSim`]: a document placed on it goes to whichever hosts are connected to
//! either channel at that moment (a host that connects later has missed the event, as at a real reader).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use khil_docreader::KhilFormat;
use khil_docreader::frame::Frame;
use khil_link::{BoxLink, FramedLink, LinkError, Received};
use khil_sim_host::Device;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;

use crate::device::{Happened, Reader};
use crate::document::PlacedDocument;

/// How many unsent events a slow host may fall behind before it misses some.
const EVENT_BACKLOG: usize = 64;

/// A simulated document reader served on two channels.
pub struct DocReaderSim {
    reader: Mutex<Reader>,
    events: broadcast::Sender<Frame>,
    rte: broadcast::Sender<Vec<u8>>,
    sessions: watch::Sender<u64>,
    rte_sessions: watch::Sender<u64>,
}

impl std::fmt::Debug for DocReaderSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocReaderSim").field("reader", &*self.reader()).finish_non_exhaustive()
    }
}

impl DocReaderSim {
    pub fn new(reader: Reader) -> Arc<DocReaderSim> {
        Arc::new(DocReaderSim {
            reader: Mutex::new(reader),
            events: broadcast::channel(EVENT_BACKLOG).0,
            rte: broadcast::channel(EVENT_BACKLOG).0,
            sessions: watch::channel(0).0,
            rte_sessions: watch::channel(0).0,
        })
    }

    /// The reader, for the console and tests.
    pub fn reader(&self) -> MutexGuard<'_, Reader> {
        self.reader.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lays `document` on the glass; the reader's number for it.
    pub fn place(&self, document: Arc<dyn PlacedDocument>) -> u32 {
        let mut reader = self.reader();
        let happened = reader.place(document);
        self.publish(happened);
        reader.on_glass().unwrap_or(0)
    }

    /// Takes the document away; its number, `None` when the glass was empty.
    pub fn remove(&self) -> Option<u32> {
        let mut reader = self.reader();
        let number = reader.on_glass();
        let happened = reader.remove();
        self.publish(happened);
        number
    }

    /// Sends what happened to the connected hosts (under the reader's lock, so that events keep their order).
    fn publish(&self, happened: Happened) {
        for frame in happened.frames {
            // No host connected: nobody hears it, as at a real reader.
            let _ = self.events.send(frame);
        }
        if let Some(block) = happened.rte {
            let _ = self.rte.send(block);
        }
    }

    /// Waits until a host has started a session on khil's channel (a scenario's clock starts then).
    pub async fn first_session(&self) {
        let mut sessions = self.sessions.subscribe();
        let _ = sessions.wait_for(|n| *n > 0).await;
    }

    /// Waits until a host has a session on each channel (an in-process reader is ready for placements then).
    pub async fn both_connected(&self) {
        self.first_session().await;
        let mut sessions = self.rte_sessions.subscribe();
        let _ = sessions.wait_for(|n| *n > 0).await;
    }

    /// The RTE channel of this reader, to serve on its own endpoint.
    pub fn rte_channel(self: &Arc<Self>) -> Arc<RteChannel> {
        Arc::new(RteChannel(Arc::clone(self)))
    }

    /// The reader's answers to one frame. A capture renders a page (a fraction of a second of CPU the first time
    /// for each light): on a multi-threaded runtime the worker hands its other tasks over meanwhile.
    fn answer(&self, frame: &Frame) -> Vec<Frame> {
        let run = || self.reader().answer(frame);
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(run),
            _ => run(),
        }
    }
}

/// A deadline that does not come.
fn far() -> Instant {
    Instant::now() + Duration::from_hours(24)
}

async fn send(wire: &mut FramedLink<BoxLink, KhilFormat>, frame: &Frame) -> Result<(), LinkError> {
    let Ok(bytes) = frame.encode() else {
        tracing::warn!(?frame, "reader frame cannot be encoded");
        return Ok(());
    };
    if !wire.send(&bytes, far()).await? {
        return Err(LinkError::PeerClosed);
    }
    Ok(())
}

impl Device for DocReaderSim {
    fn name(&self) -> &'static str {
        "docreader"
    }

    async fn serve(self: Arc<Self>, link: BoxLink) -> Result<(), LinkError> {
        let mut events = self.events.subscribe();
        self.sessions.send_modify(|n| *n += 1);
        let mut wire = FramedLink::new(link, KhilFormat);
        loop {
            tokio::select! {
                item = wire.next(far()) => match item {
                    Ok(Some(Received::Frame { frame, .. })) => {
                        for answer in self.answer(&frame) {
                            send(&mut wire, &answer).await?;
                        }
                    }
                    Ok(Some(Received::Skipped { raw, reason })) => {
                        tracing::debug!(bytes = raw.len(), %reason, "skipped bytes from the host");
                    }
                    Ok(None) => {}
                    Err(LinkError::PeerClosed) => return Ok(()),
                    Err(e) => return Err(e),
                },
                event = events.recv() => match event {
                    Ok(frame) => send(&mut wire, &frame).await?,
                    Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(missed = n, "host fell behind events"),
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
            }
        }
    }
}

/// The reader's RTE native channel: one block per read, nothing taken from the host.
#[derive(Debug)]
pub struct RteChannel(Arc<DocReaderSim>);

impl Device for RteChannel {
    fn name(&self) -> &'static str {
        "docreader-rte"
    }

    async fn serve(self: Arc<Self>, mut link: BoxLink) -> Result<(), LinkError> {
        let mut blocks = self.0.rte.subscribe();
        self.0.rte_sessions.send_modify(|n| *n += 1);
        let mut scratch = [0u8; 256];
        loop {
            tokio::select! {
                read = link.read(&mut scratch) => match read {
                    Ok(0) => return Ok(()),
                    // "It does not accept any commands": whatever the host sends is dropped.
                    Ok(n) => tracing::debug!(bytes = n, "ignored bytes on the RTE channel"),
                    Err(e) => return Err(LinkError::from(e)),
                },
                block = blocks.recv() => match block {
                    Ok(block) => {
                        link.write_all(&block).await.map_err(LinkError::from)?;
                        link.flush().await.map_err(LinkError::from)?;
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => tracing::warn!(missed = n, "RTE host fell behind"),
                    Err(broadcast::error::RecvError::Closed) => return Ok(()),
                },
            }
        }
    }
}
