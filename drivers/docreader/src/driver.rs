//! The host side of both channels, over any link (`AsyncRead + AsyncWrite`; a URL through `khil_link::connect`).
//! Every wait takes its timeout from the caller; the codecs below have no clock.
//!
//! - [`RteReader`]: the 3M RTE native MRZ channel. The reader speaks unasked and "does not accept any commands",
//!   so the driver only listens: [`RteReader::next_read`] gives each MRZ read.
//! - [`DocReader`]: khil's channel. Requests carry a sequence number the answer repeats, so an answer that comes
//!   after its request timed out is recognised as stale and dropped, never taken for the next one's. Document
//!   events arriving while a request waits are kept for [`DocReader::next_event`].

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use khil_link::{BoxLink, DeviceUrl, FramedLink, Link, LinkError, SimConnector, SkipStats};
use tokio::time::Instant;

use crate::codec::KhilFormat;
use crate::frame::FrameError;
use crate::message::{Capture, DeviceInfo, ErrorCode, Light, Message, MessageError, VizFields, kind};
use crate::rte::{RteError, RteFormat, RteFrame};

/// What went wrong talking to a reader.
#[derive(Debug, thiserror::Error)]
pub enum DocReaderError {
    #[error("no {waiting_for} from the reader within {after:?}")]
    Timeout { waiting_for: &'static str, after: Duration },
    #[error(transparent)]
    Line(#[from] LinkError),
    #[error("the reader answered {request} with error {code}: {text}")]
    DeviceSaid { request: &'static str, code: ErrorCode, text: String },
    #[error("the reader sent a message that does not parse: {0}")]
    Protocol(MessageError),
    #[error("{request} cannot be encoded: {source}")]
    Encode { request: &'static str, source: MessageError },
    #[error("the reader answered {request} with {found}: expected {expected}")]
    UnexpectedReply { request: &'static str, expected: &'static str, found: &'static str },
}

/// One MRZ as an RTE reader delivered it.
#[derive(Clone, PartialEq, Eq)]
pub struct MrzRead {
    /// The block's flag byte (meaning not public).
    pub flag: u8,
    /// The MRZ lines, top first, the reader's padding removed.
    pub lines: Vec<String>,
}

impl fmt::Debug for MrzRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MrzRead(flag {:02X}, {} lines)", self.flag, self.lines.len())
    }
}

impl MrzRead {
    fn from_frame(frame: &RteFrame) -> MrzRead {
        MrzRead { flag: frame.flag, lines: frame.mrz_lines().into_iter().map(str::to_owned).collect() }
    }

    /// The MRZ read by `khil_mrtd::mrz`, every check digit reported.
    pub fn reading(&self) -> Result<khil_mrtd::mrz::Reading, khil_mrtd::mrz::MrzError> {
        khil_mrtd::mrz::Mrz::read_lines(&self.lines)
    }
}

/// The host side of the RTE native channel.
#[derive(Debug)]
pub struct RteReader<L: Link> {
    wire: FramedLink<L, RteFormat>,
}

impl RteReader<BoxLink> {
    /// The reader a URL names (`serial:///dev/ttyUSB0?baud=9600`). The public sources give no line settings for
    /// RTE readers: put the reader's configured baud rate in the URL (khil-link falls back to 9600).
    pub async fn connect(url: &DeviceUrl, format: RteFormat, sims: &dyn SimConnector) -> Result<Self, LinkError> {
        Ok(RteReader::new(khil_link::connect(url, None, sims).await?, format))
    }
}

impl<L: Link> RteReader<L> {
    pub fn new(link: L, format: RteFormat) -> Self {
        RteReader { wire: FramedLink::new(link, format) }
    }

    /// The next MRZ the reader sends, `None` if none comes within `timeout` (no document was read). Garbage
    /// and bad blocks are skipped and counted ([`RteReader::take_skipped`]).
    pub async fn next_read(&mut self, timeout: Duration) -> Result<Option<MrzRead>, DocReaderError> {
        Ok(self.wire.recv(deadline(timeout)).await?.map(|f| MrzRead::from_frame(&f)))
    }

    /// Bad blocks and garbage dropped since the last call, with the latest reason.
    pub fn take_skipped(&mut self) -> SkipStats<RteError> {
        self.wire.take_skipped()
    }

    pub fn into_inner(self) -> L {
        self.wire.into_inner()
    }
}

/// Something the reader reports unasked on khil's channel.
#[derive(Clone, PartialEq, Eq)]
pub enum Event {
    /// A document was placed; the MRZ lines the reader read (none if it read none).
    DocumentPlaced {
        document: u32,
        mrz: Vec<String>,
    },
    DocumentRemoved {
        document: u32,
    },
    /// An error not tied to a request (sequence number 0).
    Fault {
        code: ErrorCode,
        text: String,
    },
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::DocumentPlaced { document, mrz } => {
                write!(f, "DocumentPlaced(document {document}, {} MRZ lines)", mrz.len())
            }
            Event::DocumentRemoved { document } => write!(f, "DocumentRemoved(document {document})"),
            Event::Fault { code, text } => write!(f, "Fault({code}: {text})"),
        }
    }
}

/// What the line did that was not an answer or an event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Answers to requests that had already timed out.
    pub stale: u64,
    /// Frames of a version or type this driver does not know (a newer reader's), ignored.
    pub unknown: u64,
}

/// The host side of khil's document-reader channel.
#[derive(Debug)]
pub struct DocReader<L: Link> {
    wire: FramedLink<L, KhilFormat>,
    seq: u16,
    events: VecDeque<Event>,
    stats: ChannelStats,
}

/// The baud rate of khil's channel on a serial line when the URL names none.
pub const DEFAULT_BAUD: u32 = 115_200;

impl DocReader<BoxLink> {
    /// The reader (or vendor adapter) a URL names: `tcp://10.0.0.5:4100`, `serial:///dev/ttyUSB0` (8N1 at
    /// [`DEFAULT_BAUD`] unless the URL says otherwise).
    pub async fn connect(url: &DeviceUrl, sims: &dyn SimConnector) -> Result<Self, LinkError> {
        Ok(DocReader::new(khil_link::connect(url, Some(DEFAULT_BAUD), sims).await?))
    }
}

impl<L: Link> DocReader<L> {
    pub fn new(link: L) -> Self {
        DocReader {
            wire: FramedLink::new(link, KhilFormat),
            seq: 0,
            events: VecDeque::new(),
            stats: ChannelStats::default(),
        }
    }

    /// Hello: what the reader is.
    pub async fn hello(&mut self, timeout: Duration) -> Result<DeviceInfo, DocReaderError> {
        match self.request(&Message::Hello, kind::DEVICE_INFO, timeout).await? {
            Message::DeviceInfo(info) => Ok(info),
            m => Err(unexpected(&Message::Hello, kind::DEVICE_INFO, &m)),
        }
    }

    /// A page image of the document on the glass under `light`.
    pub async fn capture(&mut self, light: Light, timeout: Duration) -> Result<Capture, DocReaderError> {
        let req = Message::CaptureRequest { light };
        match self.request(&req, kind::CAPTURE, timeout).await? {
            Message::Capture(c) => Ok(c),
            m => Err(unexpected(&req, kind::CAPTURE, &m)),
        }
    }

    /// The VIZ text of the document on the glass.
    pub async fn viz(&mut self, timeout: Duration) -> Result<VizFields, DocReaderError> {
        match self.request(&Message::VizRequest, kind::VIZ_FIELDS, timeout).await? {
            Message::VizFields(v) => Ok(v),
            m => Err(unexpected(&Message::VizRequest, kind::VIZ_FIELDS, &m)),
        }
    }

    /// The next event (kept from earlier waits first), `None` if none comes within `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Result<Option<Event>, DocReaderError> {
        if let Some(e) = self.events.pop_front() {
            return Ok(Some(e));
        }
        let deadline = deadline(timeout);
        while let Some(frame) = self.wire.recv(deadline).await? {
            if frame.seq != 0 {
                self.stats.stale += 1;
                continue;
            }
            if let Some(event) = self.unsolicited(&frame)? {
                return Ok(Some(event));
            }
        }
        Ok(None)
    }

    /// Stale answers and unknown frames so far.
    pub fn stats(&self) -> &ChannelStats {
        &self.stats
    }

    /// Garbage and corrupt frames dropped since the last call, with the latest reason.
    pub fn take_skipped(&mut self) -> SkipStats<FrameError> {
        self.wire.take_skipped()
    }

    pub fn into_inner(self) -> L {
        self.wire.into_inner()
    }

    /// The next sequence number: 1..=65535, then 1 again (0 marks unsolicited frames).
    fn next_seq(&mut self) -> u16 {
        self.seq = self.seq.checked_add(1).unwrap_or(1);
        self.seq
    }

    /// Sends `req` and waits for the answer with its sequence number (an Error answer is the error; `answer`, the
    /// type expected, names what a timeout waited for).
    async fn request(&mut self, req: &Message, answer: u8, timeout: Duration) -> Result<Message, DocReaderError> {
        let name = Message::name_of(req.kind());
        let seq = self.next_seq();
        let frame = req.to_frame(seq).map_err(|source| DocReaderError::Encode { request: name, source })?;
        let bytes = frame.encode().map_err(|e| DocReaderError::Encode { request: name, source: e.into() })?;
        let deadline = deadline(timeout);
        let waiting_for = Message::name_of(answer);
        if !self.wire.send(&bytes, deadline).await? {
            return Err(DocReaderError::Timeout { waiting_for: "the line to take the request", after: timeout });
        }
        loop {
            let Some(frame) = self.wire.recv(deadline).await? else {
                return Err(DocReaderError::Timeout { waiting_for, after: timeout });
            };
            if frame.seq == 0 {
                if let Some(event) = self.unsolicited(&frame)? {
                    self.events.push_back(event);
                }
                continue;
            }
            if frame.seq != seq {
                self.stats.stale += 1;
                continue;
            }
            return match Message::from_frame(&frame).map_err(DocReaderError::Protocol)? {
                Message::Error { code, text } => Err(DocReaderError::DeviceSaid { request: name, code, text }),
                m => Ok(m),
            };
        }
    }

    /// The event an unsolicited frame carries; frames of unknown versions or types are counted and ignored.
    fn unsolicited(&mut self, frame: &crate::frame::Frame) -> Result<Option<Event>, DocReaderError> {
        match Message::from_frame(frame) {
            Ok(Message::DocumentPresent(d)) => Ok(Some(Event::DocumentPlaced { document: d.document, mrz: d.mrz })),
            Ok(Message::DocumentRemoved { document }) => Ok(Some(Event::DocumentRemoved { document })),
            Ok(Message::Error { code, text }) => Ok(Some(Event::Fault { code, text })),
            Ok(_) | Err(MessageError::UnsupportedVersion { .. } | MessageError::UnknownType { .. }) => {
                self.stats.unknown += 1;
                Ok(None)
            }
            Err(e) => Err(DocReaderError::Protocol(e)),
        }
    }
}

fn unexpected(req: &Message, expected: u8, found: &Message) -> DocReaderError {
    DocReaderError::UnexpectedReply {
        request: Message::name_of(req.kind()),
        expected: Message::name_of(expected),
        found: Message::name_of(found.kind()),
    }
}

/// `timeout` from now; a timeout too long to represent waits a day.
fn deadline(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or_else(|| now + Duration::from_hours(24))
}
