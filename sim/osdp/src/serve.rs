//! The wire: link -> codec -> [`Pd`] -> link. The PD answers packets for its address and broadcasts, ignores the
//! rest (other PDs on a multidrop bus), and never answers a packet whose check fails (its address may be wrong).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use khil_link::{BoxLink, FramedLink, LinkError, Received};
use khil_osdp::codec::OsdpFormat;
use khil_osdp::frame::BROADCAST;
use khil_sim_host::Device;

use crate::faults::{PdFault, PdFaults};
use crate::pd::{Pd, PdConfig, PdEvent, PdQuirk};

/// A simulated PD served over any link. State (outputs, keys, queued events) outlives client sessions.
#[derive(Debug)]
pub struct OsdpPd {
    pd: Mutex<Pd>,
    faults: Mutex<PdFaults>,
    /// When the scan under way ends (a sensor with a scan time; see [`crate::BioReader::with_scan_time`]).
    scan_until: Mutex<Option<tokio::time::Instant>>,
}

impl OsdpPd {
    pub fn new(config: PdConfig) -> OsdpPd {
        OsdpPd::with_faults(config, Vec::new())
    }

    /// A PD that misbehaves as `faults` say.
    pub fn with_faults(config: PdConfig, faults: Vec<PdFault>) -> OsdpPd {
        let seed = config.seed;
        OsdpPd {
            pd: Mutex::new(Pd::new(config)),
            faults: Mutex::new(PdFaults::new(faults, seed)),
            scan_until: Mutex::new(None),
        }
    }

    /// The PD, for the console and tests.
    pub fn pd(&self) -> MutexGuard<'_, Pd> {
        self.pd.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues an event for the next POLL.
    pub fn push(&self, event: PdEvent) {
        self.pd().push(event);
    }

    /// The fingerprint sensor, if the profile has one (shared: the PD's lock is not needed to move fingers).
    pub fn bio(&self) -> Option<Arc<crate::BioReader>> {
        self.pd().bio().cloned()
    }

    /// Renders and extracts the starting finger's impressions (a fingerprint reader; nothing otherwise), so that
    /// no scan waits for synthesis. `khil sim` does it before its ready line.
    pub fn prepare(&self) {
        if let Some(bio) = self.bio() {
            bio.prepare();
        }
    }

    /// Runs the PD on one packet. A scan (BIOREAD, BIOMATCH) extracts and matches minutiae, milliseconds of CPU
    /// once the finger is prepared (a quarter second when it is not): on a multi-threaded runtime the worker
    /// hands its other tasks over meanwhile, as the ZFM simulator does. The rest runs in place.
    fn handle(&self, decoded: &khil_osdp::codec::DecodedFrame, mishaps: crate::faults::Mishaps) -> Option<Vec<u8>> {
        use khil_osdp::command::opcode;
        let run = || self.pd().handle_with(&decoded.frame, &decoded.raw, mishaps);
        let heavy = matches!(decoded.frame.code, opcode::BIOREAD | opcode::BIOMATCH);
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) if heavy => tokio::task::block_in_place(run),
            _ => run(),
        }
    }
}

impl OsdpPd {
    /// Whether a scan command (`code`) finds the sensor still scanning: the first one starts the scan, repeats
    /// get BUSY until it is done, then the command runs.
    fn scanning(&self, code: u8) -> bool {
        use khil_osdp::command::opcode;
        if !matches!(code, opcode::BIOREAD | opcode::BIOMATCH) {
            return false;
        }
        let Some(scan_time) = self.bio().map(|b| b.scan_time()).filter(|t| !t.is_zero()) else { return false };
        let now = tokio::time::Instant::now();
        let mut until = self.scan_until.lock().unwrap_or_else(PoisonError::into_inner);
        // A scan whose result nobody came for (the CP gave up on BUSY) is stale: the next command scans anew.
        const STALE: std::time::Duration = std::time::Duration::from_secs(1);
        match *until {
            Some(t) if now < t => true,
            Some(t) if now < t + STALE => {
                *until = None;
                false
            }
            _ => {
                *until = Some(now + scan_time);
                true
            }
        }
    }

    /// Answers one packet if it is addressed to this PD (or broadcast).
    async fn answer(
        &self,
        wire: &mut FramedLink<BoxLink, OsdpFormat>,
        decoded: &khil_osdp::codec::DecodedFrame,
    ) -> Result<(), LinkError> {
        let f = &decoded.frame;
        let ignored = {
            let pd = self.pd();
            let ours = f.address == pd.address() || f.address == BROADCAST || pd.quirk(PdQuirk::AnswersAnyAddress);
            f.reply || !ours || (!decoded.marked && pd.quirk(PdQuirk::NeedsMark))
        };
        if ignored {
            return Ok(());
        }
        let mut mishaps = self.faults.lock().unwrap_or_else(PoisonError::into_inner).for_next_command();
        mishaps.busy |= self.scanning(f.code);
        let answer = self.handle(decoded, mishaps);
        if let Some(ms) = mishaps.delay_ms {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        if let Some(bytes) = answer {
            send(wire, &bytes).await?;
        }
        Ok(())
    }
}

/// Serves `pds` on one line: each packet goes to the PD it is addressed to.
async fn serve_line(pds: &[Arc<OsdpPd>], link: BoxLink) -> Result<(), LinkError> {
    let mut wire = FramedLink::new(link, OsdpFormat::new());
    // Garbage since the last packet: the mis-implementation below answers a run of it once.
    let mut in_garbage = false;
    loop {
        let item = match wire.next_idle(None).await {
            Ok(Some(item)) => item,
            Ok(None) => continue,
            Err(LinkError::PeerClosed) => return Ok(()),
            Err(e) => return Err(e),
        };
        match item {
            Received::Frame { frame: decoded, .. } => {
                in_garbage = false;
                for pd in pds {
                    pd.answer(&mut wire, &decoded).await?;
                }
            }
            Received::Skipped { raw, reason } => {
                tracing::debug!(bytes = raw.len(), %reason, "skipped bytes on the bus");
                if std::mem::replace(&mut in_garbage, true) {
                    continue;
                }
                // The mis-implementation answers garbage it could not even address (a bad CRC, above all).
                for pd in pds.iter().filter(|p| p.pd().quirk(PdQuirk::AnswersBadCrc)) {
                    let nak = khil_osdp::reply::Reply::nak(khil_osdp::reply::NakCode::BadCheck);
                    let f = khil_osdp::OsdpFrame::reply(pd.pd().address(), 0, nak.code(), nak.to_data());
                    send(&mut wire, &f.encode(true)).await?;
                }
            }
        }
    }
}

/// A device's write: as long as the line takes (a paced UART); the host's session ends it.
async fn send(wire: &mut FramedLink<BoxLink, OsdpFormat>, bytes: &[u8]) -> Result<(), LinkError> {
    wire.send(bytes, tokio::time::Instant::now() + std::time::Duration::from_hours(24)).await.map(drop)
}

impl Device for OsdpPd {
    fn name(&self) -> &'static str {
        "osdp-pd"
    }

    async fn serve(self: Arc<Self>, link: BoxLink) -> Result<(), LinkError> {
        serve_line(&[self], link).await
    }
}

/// Several PDs on one multidrop line (RS-485), each answering its own address.
#[derive(Debug)]
pub struct Multidrop {
    pub pds: Vec<Arc<OsdpPd>>,
}

impl Device for Multidrop {
    fn name(&self) -> &'static str {
        "osdp-bus"
    }

    async fn serve(self: Arc<Self>, link: BoxLink) -> Result<(), LinkError> {
        serve_line(&self.pds, link).await
    }
}
