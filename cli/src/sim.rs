//! `khil sim <device>`: a simulator on a pty or TCP, announced by one `ready <url>` line on stdout.

use std::io::Write;
use std::sync::Arc;

use clap::Args;
use khil_link::{BoxLink, Endpoint, Fault, Framing, LineRate, LinkError, SimConnector, url::SimUrl};
use khil_sim_host::{Line, echo::Echo};

/// Simulators this binary carries.
pub(crate) const DEVICES: &[&str] = &["echo"];

#[derive(Debug, Args)]
#[command(
    about = "Run a device simulator on a virtual serial port (pty) or TCP",
    after_help = "Prints exactly one line `ready <url>` on stdout once clients can connect, then serves until \
SIGINT or SIGTERM.\n\nExamples:\n  khil sim echo --pty\n  khil sim echo --tcp 127.0.0.1:4001 --pace 57600\n  \
khil sim echo --pty --fault flip:p=0.001 --seed 7"
)]
pub(crate) struct SimArgs {
    /// Device to simulate: echo
    device: String,
    /// Serve on a new pseudo-terminal; clients open the serial:///dev/pts/N the ready line names (default)
    #[arg(long, conflicts_with_all = ["tcp", "vpcd"])]
    pty: bool,
    /// Serve on TCP at ADDR (host:port; port 0 picks a free one), one client at a time like a serial line
    #[arg(long, value_name = "ADDR", conflicts_with = "vpcd")]
    tcp: Option<String>,
    /// Plug into a vpcd virtual smart-card reader at HOST:PORT (smart-card devices only)
    #[arg(long, value_name = "HOST:PORT")]
    vpcd: Option<String>,
    /// Device profile (model)
    #[arg(long)]
    profile: Option<String>,
    /// Seed for everything random in the device and on the line
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// File that keeps the device's persistent state between runs
    #[arg(long, value_name = "FILE")]
    state: Option<std::path::PathBuf>,
    /// Line fault, e.g. flip:p=0.001 or close:at=1000,dir=tx (repeatable; see `khil_link::fault`)
    #[arg(long = "fault", value_name = "SPEC")]
    faults: Vec<Fault>,
    /// Pace the device's line at this baud rate, both directions, like a real UART
    #[arg(long, value_name = "BAUD", value_parser = clap::value_parser!(u32).range(1..))]
    pace: Option<u32>,
    /// Character framing for --pace
    #[arg(long, default_value = "8N1", requires = "pace")]
    framing: Framing,
}

fn line(args: &SimArgs) -> Line {
    Line {
        pace: args.pace.map(|baud| LineRate { baud, framing: args.framing }),
        faults: args.faults.clone(),
        seed: args.seed,
    }
}

pub(crate) async fn run(args: SimArgs) -> Result<(), String> {
    if !DEVICES.contains(&args.device.as_str()) {
        return Err(format!(
            "unknown device {:?}: expected one of {} (example: khil sim echo --pty)",
            args.device,
            DEVICES.join(", ")
        ));
    }
    if args.vpcd.is_some() {
        return Err(format!("--vpcd: device {:?} is not a smart card; use --pty or --tcp", args.device));
    }
    if let Some(p) = &args.profile {
        return Err(format!("--profile {p:?}: device {:?} has no profiles", args.device));
    }
    if let Some(s) = &args.state {
        return Err(format!("--state {}: device {:?} keeps no state", s.display(), args.device));
    }
    let endpoint = match &args.tcp {
        Some(addr) => Endpoint::tcp(addr).await,
        None => Endpoint::pty(),
    }
    .map_err(|e| e.to_string())?;
    let url = endpoint.client_url();
    // Handlers go in before the ready line: a supervisor may signal as soon as it has read it.
    let shutdown = shutdown_signal().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "ready {url}").and_then(|()| out.flush()).map_err(|e| format!("cannot write to stdout: {e}"))?;
    }
    tracing::info!(device = %args.device, %url, "simulator ready");
    let shutdown = async {
        let name = shutdown.await;
        tracing::info!(signal = name, "shutting down");
    };
    khil_sim_host::serve(Arc::new(Echo), endpoint, line(&args), shutdown).await.map_err(|e| e.to_string())
}

/// Installs SIGINT and SIGTERM handlers now; the future resolves with the name of the first that arrives.
fn shutdown_signal() -> std::io::Result<impl Future<Output = &'static str>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    })
}

/// `sim:<device>?...` URLs: the simulators of this binary, in-process.
#[derive(Debug, Default)]
pub(crate) struct Simulators;

impl SimConnector for Simulators {
    fn connect_sim(&self, url: &SimUrl) -> Result<BoxLink, LinkError> {
        let unsupported =
            |why: String| LinkError::Unsupported { url: khil_link::DeviceUrl::Sim(url.clone()).to_string(), why };
        let mut line = Line::default();
        for (key, value) in &url.params {
            match key.as_str() {
                "seed" => {
                    line.seed =
                        value.parse().map_err(|_| unsupported(format!("seed: expected an integer, got {value:?}")))?;
                }
                "pace" => {
                    let baud = value.parse().ok().filter(|b| *b > 0);
                    line.pace = Some(LineRate::new(
                        baud.ok_or_else(|| unsupported(format!("pace: expected a baud rate, got {value:?}")))?,
                    ));
                }
                "fault" => line
                    .faults
                    .push(value.parse().map_err(|e: khil_link::fault::FaultSpecError| unsupported(e.to_string()))?),
                _ => return Err(unsupported(format!("unknown parameter {key:?}: expected seed, pace or fault"))),
            }
        }
        match url.device.as_str() {
            "echo" => Ok(khil_sim_host::in_process(Arc::new(Echo), &line)),
            other => Err(unsupported(format!("no simulator {other:?}: expected one of {}", DEVICES.join(", ")))),
        }
    }
}
