//! The host side: a reader with (or without) a card in it, however it is reached.

use std::future::Future;
use std::pin::Pin;

use khil_link::DeviceUrl;
use khil_link::url::SimUrl;

use crate::apdu::{ApduError, Command, Response};

/// What went wrong talking to a reader or a card. Never carries APDU data.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The URL names something that is not an APDU device here (a byte link, or PC/SC in a build without it).
    #[error("{url}: {why}")]
    Unsupported { url: String, why: String },
    /// The reader has no card (or it was taken out).
    #[error("{reader:?}: no card in the reader")]
    NoCard { reader: String },
    /// The reader, its driver or the PC/SC service failed: `what` we were doing, `why` in their words.
    #[error("{reader:?}: {what}: {why}")]
    Reader { reader: String, what: &'static str, why: String },
    /// The card answered bytes that are not a response APDU.
    #[error("the card's answer is not a response APDU: {0}")]
    BadResponse(ApduError),
    /// A socket (vpcd) failed.
    #[error("{what}: {source}")]
    Io { what: String, source: std::io::Error },
}

/// A boxed future of a transport operation (boxed so that `dyn ApduTransport` works: a URL picks the transport at
/// run time).
pub type ApduFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, TransportError>> + Send + 'a>>;

/// A reader slot that exchanges APDUs with the card in it: PC/SC, in memory, or whatever comes next.
pub trait ApduTransport: Send {
    /// Sends one command APDU's bytes as given and returns the response's bytes (data, SW1, SW2). The bytes are not
    /// checked on the way out, so a conformance test can send a malformed command on purpose.
    fn transmit_raw<'a>(&'a mut self, apdu: &'a [u8]) -> ApduFuture<'a, Vec<u8>>;

    /// Whether a card is in the reader now.
    fn card_present(&mut self) -> ApduFuture<'_, bool>;

    /// Resets the card (powering it when it was not) and returns its ATR. The card starts afresh.
    fn reset(&mut self) -> ApduFuture<'_, Vec<u8>>;

    /// Sends a command and parses the response.
    fn transmit<'a>(&'a mut self, command: &'a Command) -> ApduFuture<'a, Response> {
        Box::pin(async move {
            let bytes = command.encode();
            let answer = self.transmit_raw(&bytes).await?;
            Response::parse(&answer).map_err(TransportError::BadResponse)
        })
    }
}

/// A transport whose kind was chosen at run time from a URL.
pub type BoxApdu = Box<dyn ApduTransport>;

/// Starts an in-process card simulator for a `sim:` URL and hands back a transport to it. Like
/// [`khil_link::SimConnector`]: this crate knows no simulators; the binary that links both passes a registry in.
pub trait SimCardConnector: Send + Sync {
    fn connect_sim_card(&self, url: &SimUrl) -> Result<BoxApdu, TransportError>;
}

/// For programs without card simulators: every `sim:` URL is refused with a reason.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSimCards;

impl SimCardConnector for NoSimCards {
    fn connect_sim_card(&self, url: &SimUrl) -> Result<BoxApdu, TransportError> {
        Err(TransportError::Unsupported {
            url: DeviceUrl::Sim(url.clone()).to_string(),
            why: "no in-process card simulator of that name in this program".into(),
        })
    }
}

/// How to get PC/SC into a build that has it off (it links libpcsclite). The `khil` binary reaches `khil-apdu` through
/// other crates, so cargo wants both packages named to switch the feature on.
pub const PCSC_FEATURE_HINT: &str = "this khil was built without PC/SC support: build it with the pcsc feature \
     (`cargo build -p khil --features pcsc`; needs libpcsclite-dev)";

/// Opens the APDU transport a URL names: `pcsc://<reader>` (with the `pcsc` feature) or an in-process `sim:` card.
pub async fn connect(url: &DeviceUrl, sims: &dyn SimCardConnector) -> Result<BoxApdu, TransportError> {
    match url {
        DeviceUrl::Sim(s) => sims.connect_sim_card(s),
        #[cfg(feature = "pcsc")]
        DeviceUrl::Pcsc(p) => Ok(Box::new(crate::pcsc::PcscTransport::open(&p.reader).await?)),
        #[cfg(not(feature = "pcsc"))]
        DeviceUrl::Pcsc(_) => Err(TransportError::Unsupported { url: url.to_string(), why: PCSC_FEATURE_HINT.into() }),
        DeviceUrl::Serial(_) | DeviceUrl::Tcp(_) | DeviceUrl::Pty => Err(TransportError::Unsupported {
            url: url.to_string(),
            why:
                "a byte-stream device, not an APDU one: smart cards are pcsc://<reader name> or an in-process sim: card"
                    .into(),
        }),
    }
}
