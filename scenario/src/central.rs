//! The border point's link to the central database (PostgreSQL) in a scenario run: the records committed at the
//! point are uploaded every few modelled minutes through a [`TcpRelay`] that the scenario's `central-down`
//! incident cuts and restores, so an outage is a real one (refused connections, a dropped session) and the
//! catch-up afterwards is a real upload.
//!
//! The upload runs on a thread of its own with a real-time runtime, and the day's thread waits for each round:
//! the day runs on tokio's paused clock, which would jump ahead to the next timer while a PostgreSQL answer is
//! on its way (time would pass at random inside a round, and the run would not repeat). A round therefore
//! takes no modelled time; its wall time is in the run's accounting ("central upload").
//!
//! Updates flow the other way in the same round: after the upload the point pulls the latest rule file and
//! watchlist versions published at the centre into its store (audited there), and the run puts new rules in
//! force. [`CentralLink::publish`] is the centre's side: it publishes on a connection of its own, not through
//! the point's relay (the centre publishes whether or not the point's link is up).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use khil_clearance::central::{Central, CentralError, pull_versions, redact, upload_pass};
use khil_clearance::records::{RecordStore, Version};
use khil_link::TcpRelay;

/// Records per central transaction.
const BATCH: usize = 100;

/// What one upload round found (all zero, with the error, when the point's store could not be read).
#[derive(Debug, Clone)]
pub struct Round {
    /// Records committed at the point.
    pub committed: u64,
    /// Records the centre has acknowledged.
    pub acked: u64,
    /// Records this round inserted at the centre.
    pub inserted: u64,
    /// Why the round failed (the link down, the centre refusing), if it did.
    pub error: Option<String>,
    /// Rule-file and watchlist versions new to the point, pulled from the centre after the upload.
    pub pulled: Vec<Version>,
}

/// What the centre holds for the point after the day.
#[derive(Debug, Clone)]
pub struct CentreState {
    /// Records the centre holds for the point, and its last seq.
    pub count: u64,
    pub last_seq: u64,
}

enum Request {
    /// A round; its pulls are audited at this time (ms since the epoch, the day's modelled clock).
    Round(i64, mpsc::SyncSender<Round>),
    Publish(Version, mpsc::SyncSender<Result<(), String>>),
    Link(bool),
    State(mpsc::SyncSender<Result<CentreState, String>>),
}

/// The link and the upload thread behind it. Dropping it ends the thread.
#[derive(Debug)]
pub struct CentralLink {
    url: String,
    requests: Option<mpsc::Sender<Request>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

impl CentralLink {
    /// Starts the upload thread for the store at `db` (already created) and connects once through the relay, so
    /// that a central database that cannot be reached at all is an error before the day starts.
    pub fn start(url: &str, db: &Path) -> Result<CentralLink, String> {
        let shown = redact(url);
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| format!("central database {shown}: not a PostgreSQL URL: {e}"))?;
        let upstream = upstream(&config).map_err(|e| format!("central database {shown}: {e}"))?;
        let mut store = RecordStore::open_existing(db).map_err(|e| e.to_string())?;
        let (requests, inbox) = mpsc::channel::<Request>();
        let (ready_tx, ready) = mpsc::sync_channel::<Result<(), String>>(1);
        let worker_url = shown.clone();
        let worker = std::thread::Builder::new()
            .name("central-upload".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("the upload thread's runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let relay = match TcpRelay::start(upstream).await {
                        Ok(r) => r,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("the relay to the central database: {e}")));
                            return;
                        }
                    };
                    let via = via_relay(&config, relay.addr());
                    let mut worker = Worker { via, url: worker_url, central: None, centre_id: None };
                    let direct = config;
                    if let Err(e) = worker.connected().await {
                        let _ = ready_tx.send(Err(e.to_string()));
                        return;
                    }
                    let _ = ready_tx.send(Ok(()));
                    while let Ok(request) = inbox.recv() {
                        match request {
                            Request::Round(at_ms, reply) => {
                                let _ = reply.send(worker.round(&mut store, at_ms).await);
                            }
                            Request::Publish(version, reply) => {
                                let published = async {
                                    let centre = Central::connect_config(&direct, &worker.url).await?;
                                    centre.publish(&version).await
                                };
                                let _ = reply.send(published.await.map_err(|e| e.to_string()));
                            }
                            Request::Link(up) => {
                                relay.set_up(up);
                                if !up {
                                    // The session died with the link: a new one after it comes back.
                                    worker.central = None;
                                }
                            }
                            Request::State(reply) => {
                                let point = store.point().to_owned();
                                let state = async {
                                    let (count, last_seq) = worker.connected().await?.point_state(&point).await?;
                                    Ok::<_, CentralError>(CentreState { count, last_seq })
                                };
                                let _ = reply.send(state.await.map_err(|e| e.to_string()));
                            }
                        }
                    }
                });
            })
            .map_err(|e| format!("cannot start the upload thread: {e}"))?;
        let link = CentralLink { url: shown, requests: Some(requests), worker: Some(worker) };
        ready.recv().map_err(|_| "the upload thread ended before connecting".to_owned())??;
        Ok(link)
    }

    /// The central database's URL, without a password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Uploads what the point has and the centre has not acknowledged, then pulls new versions (audited at
    /// `at_ms`); blocks this thread until done.
    pub fn round(&self, at_ms: i64) -> Round {
        let (tx, rx) = mpsc::sync_channel(1);
        let gone = || Round {
            committed: 0,
            acked: 0,
            inserted: 0,
            error: Some("the upload thread has ended".into()),
            pulled: Vec::new(),
        };
        if self.send(Request::Round(at_ms, tx)) { rx.recv().unwrap_or_else(|_| gone()) } else { gone() }
    }

    /// The centre publishes `version` (on its own connection); blocks this thread until done.
    pub fn publish(&self, version: Version) -> Result<(), String> {
        let (tx, rx) = mpsc::sync_channel(1);
        if !self.send(Request::Publish(version, tx)) {
            return Err("the upload thread has ended".into());
        }
        rx.recv().map_err(|_| "the upload thread has ended".to_owned())?
    }

    /// Takes the link down or brings it back.
    pub fn set_up(&self, up: bool) {
        self.send(Request::Link(up));
    }

    /// What the centre holds for the point (the link must be up).
    pub fn centre(&self) -> Result<CentreState, String> {
        let (tx, rx) = mpsc::sync_channel(1);
        if !self.send(Request::State(tx)) {
            return Err("the upload thread has ended".into());
        }
        rx.recv().map_err(|_| "the upload thread has ended".to_owned())?
    }

    fn send(&self, request: Request) -> bool {
        self.requests.as_ref().is_some_and(|r| r.send(request).is_ok())
    }
}

impl Drop for CentralLink {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

struct Worker {
    via: tokio_postgres::Config,
    url: String,
    central: Option<Central>,
    /// The centre's id, once connected: the point's acknowledgements are kept by it.
    centre_id: Option<String>,
}

impl Worker {
    async fn connected(&mut self) -> Result<&mut Central, CentralError> {
        if self.central.is_none() {
            let central = Central::connect_config(&self.via, &self.url).await?;
            self.centre_id = Some(central.id().to_owned());
            self.central = Some(central);
        }
        Ok(self.central.as_mut().expect("connected just now"))
    }

    async fn round(&mut self, store: &mut RecordStore, at_ms: i64) -> Round {
        let result = async {
            let central = self.connected().await?;
            let report = upload_pass(store, central, BATCH).await?;
            let pulled = pull_versions(store, central, at_ms).await?;
            Ok::<_, CentralError>((report, pulled))
        }
        .await;
        // Counted after the pass (nothing commits meanwhile: the day waits for the round).
        let committed = match store.count() {
            Ok(n) => n,
            Err(e) => {
                return Round { committed: 0, acked: 0, inserted: 0, error: Some(e.to_string()), pulled: Vec::new() };
            }
        };
        match result {
            Ok((r, pulled)) => Round { committed, acked: r.acked, inserted: r.inserted, error: None, pulled },
            Err(e) => {
                // A session that failed is not trusted again: the next round reconnects.
                self.central = None;
                let acked = self.acked(store);
                Round { committed, acked, inserted: 0, error: Some(e.to_string()), pulled: Vec::new() }
            }
        }
    }

    /// The point's acknowledged mark for the centre last connected to (0 before any connection).
    fn acked(&self, store: &RecordStore) -> u64 {
        self.centre_id.as_deref().and_then(|id| store.acked(id).ok()).unwrap_or(0)
    }
}

/// The server the URL names: its first TCP host and port.
fn upstream(config: &tokio_postgres::Config) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        Some(_) => return Err("a Unix socket host cannot be relayed: name a TCP host".into()),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {host}:{port}: {e}"))?
        .next()
        .ok_or_else(|| format!("{host}:{port} resolves to no address"))
}

/// `config`'s user, password and database, at the relay instead of the server.
fn via_relay(config: &tokio_postgres::Config, relay: SocketAddr) -> tokio_postgres::Config {
    let mut via = tokio_postgres::Config::new();
    if let Some(user) = config.get_user() {
        via.user(user);
    }
    if let Some(password) = config.get_password() {
        via.password(password);
    }
    if let Some(db) = config.get_dbname() {
        via.dbname(db);
    }
    via.application_name("khil-scenario");
    via.host(relay.ip().to_string()).port(relay.port()).connect_timeout(Duration::from_secs(5));
    via
}
