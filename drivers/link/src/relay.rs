//! [`TcpRelay`]: a TCP link between a client and a server that can be cut and restored, as a wide-area link to a
//! distant server goes down and comes back (the border point's link to the central database).
//!
//! While the link is down, live connections are dropped (both sockets close at once) and new ones are accepted
//! and closed straight away: the client sees a reset or a closed connection within milliseconds rather than a
//! connect timeout, which keeps tests and scenario runs fast; what the client must do about it is the same.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// A relay listening on 127.0.0.1 and forwarding each connection to `upstream`. Dropping it stops the listener
/// and drops every connection.
#[derive(Debug)]
pub struct TcpRelay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    listener: AbortHandle,
}

#[derive(Debug, Default)]
struct Shared {
    down: AtomicBool,
    conns: Mutex<Vec<AbortHandle>>,
}

impl TcpRelay {
    /// Starts the relay on the current tokio runtime, on a free port of 127.0.0.1.
    pub async fn start(upstream: SocketAddr) -> std::io::Result<TcpRelay> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let relay = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                if relay.down.load(Ordering::SeqCst) {
                    drop(down);
                    continue;
                }
                let conn = tokio::spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                let mut conns = relay.conns.lock().unwrap_or_else(PoisonError::into_inner);
                conns.retain(|c| !c.is_finished());
                conns.push(conn.abort_handle());
            }
        });
        Ok(TcpRelay { addr, shared, listener: task.abort_handle() })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drops every live connection, as a link that breaks does; the relay stays up. Returns how many were live.
    pub fn cut(&self) -> usize {
        let conns: Vec<AbortHandle> =
            self.shared.conns.lock().unwrap_or_else(PoisonError::into_inner).drain(..).collect();
        let live = conns.iter().filter(|c| !c.is_finished()).count();
        conns.iter().for_each(AbortHandle::abort);
        live
    }

    /// Takes the link down (cutting every live connection and refusing new ones) or brings it back.
    pub fn set_up(&self, up: bool) {
        self.shared.down.store(!up, Ordering::SeqCst);
        if !up {
            self.cut();
        }
    }

    pub fn is_up(&self) -> bool {
        !self.shared.down.load(Ordering::SeqCst)
    }
}

impl Drop for TcpRelay {
    fn drop(&mut self) {
        self.listener.abort();
        self.cut();
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn echoes(stream: &mut TcpStream) -> bool {
        if stream.write_all(b"ping").await.is_err() {
            return false;
        }
        let mut got = [0u8; 4];
        stream.read_exact(&mut got).await.is_ok() && &got == b"ping"
    }

    #[tokio::test]
    async fn relays_until_cut_refuses_while_down_and_relays_again_when_up() {
        let relay = TcpRelay::start(echo_server().await).await.unwrap();
        let mut first = TcpStream::connect(relay.addr()).await.unwrap();
        assert!(echoes(&mut first).await, "relayed while up");

        relay.set_up(false);
        assert!(!relay.is_up());
        assert!(!echoes(&mut first).await, "a live connection is dropped when the link goes down");
        let mut during = TcpStream::connect(relay.addr()).await.unwrap();
        assert!(!echoes(&mut during).await, "a new connection is closed while down");

        relay.set_up(true);
        let mut after = TcpStream::connect(relay.addr()).await.unwrap();
        assert!(echoes(&mut after).await, "relayed again once up");
        assert_eq!(relay.cut(), 1, "one live connection cut");
        assert!(!echoes(&mut after).await, "cut drops it");
    }
}
