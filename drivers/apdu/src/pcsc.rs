//! The PC/SC transport (feature `pcsc`): a reader through the platform's PC/SC service (pcscd on Linux) with the
//! `pcsc` crate. PC/SC calls block, so each runs on tokio's blocking pool.

use std::ffi::CString;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use pcsc::{Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};

use crate::transport::{ApduFuture, ApduTransport, TransportError};

struct Inner {
    context: Context,
    reader: CString,
    name: String,
    /// Connected to the card in the reader; `None` while there is none (or it was taken out).
    card: Mutex<Option<pcsc::Card>>,
}

/// A PC/SC reader. The card is connected in shared mode (other PC/SC clients may use the reader between our
/// commands, as on any desktop; hold nothing across commands that another client could disturb).
pub struct PcscTransport {
    inner: Arc<Inner>,
}

impl fmt::Debug for PcscTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PcscTransport({:?})", self.inner.name)
    }
}

impl Inner {
    fn error(&self, what: &'static str, e: pcsc::Error) -> TransportError {
        match e {
            pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard => TransportError::NoCard { reader: self.name.clone() },
            other => TransportError::Reader { reader: self.name.clone(), what, why: other.to_string() },
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<pcsc::Card>> {
        self.card.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Connects to the card if not connected: PC/SC powers it up. `Ok(false)`: the reader is empty.
    fn ensure_card(&self, card: &mut Option<pcsc::Card>) -> Result<bool, TransportError> {
        if card.is_some() {
            return Ok(true);
        }
        match self.context.connect(&self.reader, ShareMode::Shared, Protocols::ANY) {
            Ok(c) => {
                *card = Some(c);
                Ok(true)
            }
            Err(pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard) => Ok(false),
            Err(e) => Err(self.error("connecting to the card", e)),
        }
    }

    fn transmit(&self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut card = self.lock();
        if !self.ensure_card(&mut card)? {
            return Err(TransportError::NoCard { reader: self.name.clone() });
        }
        let mut buffer = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        let result = card.as_ref().map(|c| c.transmit(apdu, &mut buffer).map(<[u8]>::to_vec));
        match result {
            Some(Ok(answer)) => Ok(answer),
            Some(Err(e)) => {
                // Removed, reset by another client, or a reader error: the handle is no good any more; the next
                // call connects afresh.
                *card = None;
                Err(self.error("transmit", e))
            }
            None => Err(TransportError::NoCard { reader: self.name.clone() }),
        }
    }

    fn present(&self) -> Result<bool, TransportError> {
        let mut states = [ReaderState::new(self.reader.clone(), State::UNAWARE)];
        self.context.get_status_change(Duration::ZERO, &mut states).map_err(|e| self.error("reader status", e))?;
        let state = states[0].event_state();
        Ok(state.contains(State::PRESENT) && !state.contains(State::MUTE))
    }

    fn reset(&self) -> Result<Vec<u8>, TransportError> {
        let mut card = self.lock();
        if !self.ensure_card(&mut card)? {
            return Err(TransportError::NoCard { reader: self.name.clone() });
        }
        let Some(c) = card.as_mut() else { return Err(TransportError::NoCard { reader: self.name.clone() }) };
        // Even right after connecting: in shared mode another client may have powered the card long before.
        if let Err(e) = c.reconnect(ShareMode::Shared, Protocols::ANY, Disposition::ResetCard) {
            *card = None;
            return Err(self.error("resetting the card", e));
        }
        match c.status2_owned() {
            Ok(status) => Ok(status.atr().to_vec()),
            Err(e) => {
                *card = None;
                Err(self.error("reading the ATR", e))
            }
        }
    }
}

impl PcscTransport {
    /// Opens `reader` (a name as PC/SC lists it). The reader must exist; it may be empty (a card can be put in
    /// later). A card in it is connected (powered) now.
    pub async fn open(reader: &str) -> Result<PcscTransport, TransportError> {
        let name = reader.to_owned();
        let inner = tokio::task::spawn_blocking(move || Self::open_blocking(name))
            .await
            .map_err(|e| TransportError::Reader { reader: reader.to_owned(), what: "opening", why: e.to_string() })??;
        Ok(PcscTransport { inner: Arc::new(inner) })
    }

    fn open_blocking(name: String) -> Result<Inner, TransportError> {
        let failed = |what: &'static str, why: String| TransportError::Reader { reader: name.clone(), what, why };
        let reader =
            CString::new(name.clone()).map_err(|_| failed("opening", "a reader name has no NUL byte".into()))?;
        let context = Context::establish(Scope::User)
            .map_err(|e| failed("reaching the PC/SC service", format!("{e} (is pcscd running? ci/test starts it)")))?;
        let readers = match context.list_readers_owned() {
            Ok(r) => r,
            Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(failed("listing readers", e.to_string())),
        };
        if !readers.contains(&reader) {
            let known: Vec<String> = readers.iter().map(|r| format!("{:?}", r.to_string_lossy())).collect();
            let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
            return Err(failed("opening", format!("PC/SC has no reader of that name; its readers: {known}")));
        }
        let inner = Inner { context, reader, name, card: Mutex::new(None) };
        inner.ensure_card(&mut inner.lock())?;
        Ok(inner)
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.inner.name
    }

    fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, TransportError> + Send + 'static,
    ) -> ApduFuture<'_, T> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let name = inner.name.clone();
            tokio::task::spawn_blocking(move || f(&inner)).await.map_err(|e| TransportError::Reader {
                reader: name,
                what: "PC/SC call",
                why: e.to_string(),
            })?
        })
    }
}

impl ApduTransport for PcscTransport {
    fn transmit_raw<'a>(&'a mut self, apdu: &'a [u8]) -> ApduFuture<'a, Vec<u8>> {
        let apdu = apdu.to_vec();
        self.blocking(move |inner| inner.transmit(&apdu))
    }

    fn card_present(&mut self) -> ApduFuture<'_, bool> {
        self.blocking(Inner::present)
    }

    fn reset(&mut self) -> ApduFuture<'_, Vec<u8>> {
        self.blocking(Inner::reset)
    }
}
