//! The device side behind the real PC/SC stack: a card that dials out to pcscd's vpcd driver (vsmartcard's virtual
//! reader) and answers what it relays. To every PC/SC client (khil's own transport, pyscard, a vendor's inspection
//! software) the card is then a card in the reader `Virtual PCD 00 00`.
//!
//! vpcd's protocol, on one TCP connection the card opens to vpcd (35963 for its first slot, 35964 for the second):
//! every message in either direction is a 2-byte big-endian length and that many bytes. From vpcd, a 1-byte
//! message is a control: 00 power off, 01 power on, 02 reset (none of them answered), 04 "send your ATR" (answered
//! with the ATR). Any longer message is a command APDU, answered with the response APDU. The connection itself is
//! the card's presence: closing it takes the card out of the reader.
//!
//! This is the card-side counterpart of `khil_link::Endpoint`: it has the URL a client opens (`client_url`, for
//! the simulator's `ready pcsc://...` line) and serves one card, but it dials out instead of listening.

use std::fmt;
use std::future::Future;

use khil_link::DeviceUrl;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::apdu::Response;
use crate::card::{Card, LONGEST_WAIT, Reply, reply_bytes};
use crate::status::StatusWord;
use crate::transport::TransportError;

/// vpcd's first slot.
pub const VPCD_PORT: u16 = 35963;
/// Slots Debian's vsmartcard-vpcd configures (ports 35963 and 35964).
pub const VPCD_SLOTS: u16 = 2;
/// The longest message vpcd's 2-byte length can carry.
const MAX_MESSAGE: usize = 0xFFFF;
/// Between attempts to reach vpcd again after it went away (pcscd restarted).
const REDIAL: std::time::Duration = std::time::Duration::from_millis(500);

/// One message from vpcd, classified. Pure: no I/O.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    PowerOff,
    PowerOn,
    Reset,
    GetAtr,
    /// A 1-byte control vpcd does not define; not answered (vpcd expects no answer to controls).
    UnknownControl(u8),
    /// An empty message: not answered.
    Empty,
    Apdu(&'a [u8]),
}

impl Request<'_> {
    pub fn classify(message: &[u8]) -> Request<'_> {
        match message {
            [] => Request::Empty,
            [0x00] => Request::PowerOff,
            [0x01] => Request::PowerOn,
            [0x02] => Request::Reset,
            [0x04] => Request::GetAtr,
            [other] => Request::UnknownControl(*other),
            apdu => Request::Apdu(apdu),
        }
    }
}

/// The reader name pcscd gives a vpcd port in Debian's configuration (`/etc/reader.conf.d/vpcd`: friendly name
/// "Virtual PCD", channel 0x8C7B; slot n listens on 35963 + n and is reader "Virtual PCD 00 0n").
pub fn reader_for_port(port: u16) -> Option<String> {
    let slot = port.checked_sub(VPCD_PORT)?;
    (slot < VPCD_SLOTS).then(|| format!("Virtual PCD 00 {slot:02X}"))
}

/// Where a card plugs into vpcd, and the reader clients will see it in.
#[derive(Clone, PartialEq, Eq)]
pub struct VpcdEndpoint {
    host: String,
    port: u16,
    reader: String,
}

impl fmt::Debug for VpcdEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VpcdEndpoint({}:{} -> {})", self.host, self.port, self.client_url())
    }
}

fn parse_addr(addr: &str) -> Result<(String, u16), String> {
    let expected = || format!("expected HOST:PORT of vpcd, such as 127.0.0.1:35963, got {addr:?}");
    let (host, port) = addr.rsplit_once(':').ok_or_else(expected)?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let port = port.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(expected)?;
    if host.is_empty() {
        return Err(expected());
    }
    Ok((host.to_owned(), port))
}

impl VpcdEndpoint {
    /// vpcd at `HOST:PORT`, on one of the ports whose reader name is known ([`reader_for_port`]).
    pub fn new(addr: &str) -> Result<VpcdEndpoint, String> {
        let (host, port) = parse_addr(addr)?;
        let reader = reader_for_port(port).ok_or_else(|| {
            format!(
                "vpcd port {port} in {addr:?}: no reader name known for it: Debian's vpcd serves 35963 (reader \
                 \"Virtual PCD 00 00\") and 35964 (\"Virtual PCD 00 01\"); for another configuration name the \
                 reader (VpcdEndpoint::with_reader)"
            )
        })?;
        Ok(VpcdEndpoint { host, port, reader })
    }

    /// vpcd at `HOST:PORT`, whose slot pcscd lists as `reader`.
    pub fn with_reader(addr: &str, reader: impl Into<String>) -> Result<VpcdEndpoint, String> {
        let (host, port) = parse_addr(addr)?;
        Ok(VpcdEndpoint { host, port, reader: reader.into() })
    }

    /// `pcsc://<reader>`: what a PC/SC client opens to reach the card, as the simulator's `ready` line prints it.
    pub fn client_url(&self) -> DeviceUrl {
        DeviceUrl::pcsc(self.reader.clone())
    }

    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// Plugs a card in: connects to vpcd. The card is in the reader from now until the session is dropped.
    pub async fn dial(&self) -> Result<VpcdSession, TransportError> {
        let stream =
            TcpStream::connect((self.host.as_str(), self.port)).await.map_err(|source| TransportError::Io {
                what: format!(
                    "cannot reach vpcd at {}:{} (is pcscd running with vsmartcard-vpcd? ci/test starts it)",
                    self.host, self.port
                ),
                source,
            })?;
        // One small message at a time, each awaited by pcscd: never hold bytes back.
        stream.set_nodelay(true).map_err(|source| TransportError::Io { what: "vpcd socket".into(), source })?;
        tracing::info!(reader = %self.reader, "card plugged into vpcd");
        Ok(VpcdSession { stream, powered: false, reader: self.reader.clone() })
    }

    /// Serves `card` until `shutdown` resolves. Failing to reach vpcd at first is an error; if vpcd goes away later
    /// (pcscd restarted) the card is plugged in again as soon as it is back, as a card stays in a reader whose
    /// host rebooted.
    pub async fn serve(&self, card: &mut dyn Card, shutdown: impl Future<Output = ()>) -> Result<(), TransportError> {
        tokio::pin!(shutdown);
        let mut session = self.dial().await?;
        loop {
            let ended = tokio::select! {
                () = &mut shutdown => return Ok(()),
                ended = session.run(card) => ended,
            };
            match ended {
                Ok(()) => tracing::warn!(reader = %self.reader, "vpcd closed the connection; plugging in again"),
                Err(e) => {
                    tracing::warn!(reader = %self.reader, error = %e, "vpcd connection failed; plugging in again");
                }
            }
            session = loop {
                tokio::select! {
                    () = &mut shutdown => return Ok(()),
                    () = tokio::time::sleep(REDIAL) => {}
                }
                match self.dial().await {
                    Ok(s) => break s,
                    Err(e) => tracing::debug!(error = %e, "vpcd still away"),
                }
            };
        }
    }
}

/// One connection to vpcd: the card in the reader.
pub struct VpcdSession {
    stream: TcpStream,
    powered: bool,
    reader: String,
}

impl fmt::Debug for VpcdSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VpcdSession")
            .field("reader", &self.reader)
            .field("powered", &self.powered)
            .finish_non_exhaustive()
    }
}

impl VpcdSession {
    /// Acknowledges what arrives at once. vpcd writes a message's length and body as two small segments, and with
    /// Nagle's algorithm it holds the body until the length is acknowledged; a delayed ACK (Linux: up to 40 ms)
    /// then sits in every exchange, which made a PC/SC round trip ~49 ms instead of ~0.1 ms. Linux leaves quick-ack
    /// mode on its own, so it is set again around every read.
    fn quick_ack(&self) {
        let _ = socket2::SockRef::from(&self.stream).set_tcp_quickack(true);
    }

    /// Answers vpcd until it closes the connection or the card leaves the reader because it did not answer in time
    /// (`Ok`), or the socket fails.
    pub async fn run(&mut self, card: &mut dyn Card) -> Result<(), TransportError> {
        let io = |what: &str| {
            let what = format!("vpcd ({}): {what}", self.reader);
            move |source| TransportError::Io { what, source }
        };
        loop {
            self.quick_ack();
            let mut len = [0u8; 2];
            match self.stream.read_exact(&mut len).await {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(io("reading a message length")(e)),
            }
            self.quick_ack();
            let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
            match self.stream.read_exact(&mut message).await {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(io("reading a message")(e)),
            }
            self.quick_ack();
            let reply = match Request::classify(&message) {
                Request::PowerOff => {
                    tracing::debug!("power off");
                    self.powered = false;
                    None
                }
                Request::PowerOn | Request::Reset => {
                    tracing::debug!("power on / reset");
                    card.reset();
                    self.powered = true;
                    None
                }
                Request::GetAtr => Some(card.atr()),
                Request::UnknownControl(c) => {
                    tracing::warn!(control = c, "vpcd sent a control byte it does not define; ignored");
                    None
                }
                Request::Empty => {
                    tracing::warn!("vpcd sent an empty message; ignored");
                    None
                }
                Request::Apdu(apdu) => {
                    if !self.powered {
                        // vpcd powers a card before any APDU; answer anyway rather than leave it waiting forever.
                        tracing::debug!("APDU to an unpowered card: powering it first");
                        card.reset();
                        self.powered = true;
                    }
                    let mut answer = match reply_bytes(card, apdu) {
                        Reply::Now(bytes) => bytes,
                        Reply::After(late, bytes) if late <= LONGEST_WAIT => {
                            tokio::time::sleep(late).await;
                            bytes
                        }
                        Reply::After(..) | Reply::Mute => {
                            // vpcd waits for an answer with no timeout of its own (pcscd's slot would hang). A
                            // contactless reader gives up after the longest frame waiting time and the client's
                            // transmit fails: do what it would, then take the card out of the reader (`serve`
                            // plugs it in again, as a traveller presents the passport again).
                            tokio::time::sleep(LONGEST_WAIT).await;
                            tracing::warn!(reader = %self.reader, "the card did not answer in time; taken out");
                            let _ = self.stream.shutdown().await;
                            return Ok(());
                        }
                    };
                    if answer.len() > MAX_MESSAGE {
                        tracing::warn!(len = answer.len(), "response longer than vpcd can carry; answered 6F00");
                        answer = Response::status(StatusWord::NO_PRECISE_DIAGNOSIS).encode();
                    }
                    Some(answer)
                }
            };
            if let Some(reply) = reply {
                let mut out = Vec::with_capacity(reply.len() + 2);
                out.extend_from_slice(&(reply.len() as u16).to_be_bytes());
                out.extend_from_slice(&reply);
                self.stream.write_all(&out).await.map_err(io("sending a reply"))?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages() {
        assert_eq!(Request::classify(&[0]), Request::PowerOff);
        assert_eq!(Request::classify(&[1]), Request::PowerOn);
        assert_eq!(Request::classify(&[2]), Request::Reset);
        assert_eq!(Request::classify(&[4]), Request::GetAtr);
        assert_eq!(Request::classify(&[3]), Request::UnknownControl(3));
        assert_eq!(Request::classify(&[]), Request::Empty);
        assert_eq!(Request::classify(&[0, 0xA4, 4, 0]), Request::Apdu(&[0, 0xA4, 4, 0]));
    }

    /// Answers 9000 at once, or never.
    struct Card9000 {
        mute: bool,
    }
    impl Card for Card9000 {
        fn atr(&self) -> Vec<u8> {
            crate::card::atr_t1(&[]).unwrap()
        }
        fn reset(&mut self) {}
        fn answer(&mut self, _: &crate::apdu::Command) -> Response {
            Response::status(StatusWord::SUCCESS)
        }
        fn reply(&mut self, command: &crate::apdu::Command) -> Reply {
            if self.mute { Reply::Mute } else { Reply::Now(self.answer(command)) }
        }
    }

    /// vpcd's side of the socket: what pcscd's driver sends and reads.
    #[tokio::test(start_paused = true)]
    async fn a_mute_card_leaves_the_reader_after_the_longest_wait() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let endpoint = VpcdEndpoint::with_reader(&addr, "Test Reader").unwrap();
        for mute in [false, true] {
            let (mut session, accepted) = tokio::join!(endpoint.dial(), listener.accept());
            let (mut vpcd, _) = accepted.unwrap();
            let card = tokio::spawn(async move { session.as_mut().unwrap().run(&mut Card9000 { mute }).await });
            vpcd.write_all(&[0, 1, 1, 0, 4, 0x00, 0x84, 0x00, 0x00]).await.unwrap();
            let start = tokio::time::Instant::now();
            if mute {
                let mut got = Vec::new();
                vpcd.read_to_end(&mut got).await.unwrap();
                assert_eq!(got, [], "no answer, then the card is gone");
                assert_eq!(start.elapsed(), LONGEST_WAIT);
                assert!(card.await.unwrap().is_ok());
            } else {
                let mut got = [0u8; 4];
                vpcd.read_exact(&mut got).await.unwrap();
                assert_eq!(got, [0, 2, 0x90, 0x00]);
                card.abort();
            }
        }
    }

    #[test]
    fn endpoints() {
        let e = VpcdEndpoint::new("127.0.0.1:35963").unwrap();
        assert_eq!(e.client_url().to_string(), "pcsc://Virtual%20PCD%2000%2000");
        assert_eq!(VpcdEndpoint::new("localhost:35964").unwrap().reader(), "Virtual PCD 00 01");
        assert_eq!(VpcdEndpoint::new("[::1]:35963").unwrap().host, "::1");
        let err = VpcdEndpoint::new("127.0.0.1:35965").unwrap_err();
        assert!(err.contains("35965") && err.contains("with_reader"), "{err}");
        for bad in ["35963", "host:", ":35963", "h:0", "h:http"] {
            let err = VpcdEndpoint::new(bad).unwrap_err();
            assert!(err.contains("HOST:PORT") && err.contains(bad), "{bad}: {err}");
        }
        let custom = VpcdEndpoint::with_reader("10.0.0.2:40000", "Lab Reader 01 00").unwrap();
        assert_eq!(custom.client_url(), DeviceUrl::pcsc("Lab Reader 01 00"));
    }
}
