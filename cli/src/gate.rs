//! `khil gate`: khil's e-gate controller against a gate I/O board (a vendor's on a serial port, or `khil sim
//! gate`). One line per state change on stdout; the clearance decision and the officer's reset come from stdin.
//! SIGINT or SIGTERM ends it with status 0 (the gate's own watchdog then takes it out of service).

use std::io::Write;
use std::time::Duration;

use clap::Args;
use khil_clearance::gate::{ControllerConfig, Decision, Gate, GateSetup};
use khil_link::url::DeviceUrl;
use khil_osdp::cp::{CpConfig, OsdpBus, PdSetup};

#[derive(Debug, Args)]
#[command(
    about = "Run khil's e-gate controller against a gate I/O board over OSDP",
    after_help = "Prints one line per state change on stdout: `<seconds> <state> <- <previous>: <why>`. Type \
`accept`, `reject` (the clearance decision for the traveller in the mantrap), `reset` (the officer clears an \
alarm) or `status` on stdin.\n\nExamples:\n  khil sim gate --pty --address 1 --scbk 000102030405060708090a0b0c0d0e0f   \
# prints ready serial:///dev/pts/N\n  khil gate --device serial:///dev/pts/N --address 1 --scbk \
000102030405060708090a0b0c0d0e0f\n  khil gate --device serial:///dev/ttyUSB0?baud=115200 --address 3 --install"
)]
pub(crate) struct GateArgs {
    /// The gate I/O board's line: serial:///dev/ttyUSB0?baud=115200, tcp://host:port, sim:gate?..
    #[arg(long, value_name = "URL")]
    device: String,
    /// The board's OSDP address, 0-126
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=126))]
    address: u8,
    /// The board's secure channel base key, 32 hex digits
    #[arg(long, value_name = "HEX", conflicts_with_all = ["install", "plain"])]
    scbk: Option<String>,
    /// The board is in install mode: secure channel on the default key SCBK-D
    #[arg(long, conflicts_with = "plain")]
    install: bool,
    /// No secure channel (only for boards that have none)
    #[arg(long)]
    plain: bool,
    /// Seconds to wait for the clearance decision before the traveller is turned back
    #[arg(long, value_name = "S", default_value_t = 30)]
    decision_timeout: u64,
}

pub(crate) async fn run(args: GateArgs) -> Result<(), String> {
    let url: DeviceUrl = args.device.parse().map_err(|e| format!("--device: {e}"))?;
    let setup = if let Some(hex) = &args.scbk {
        PdSetup::secure(args.address, crate::sim::parse_key(hex)?)
    } else if args.install {
        PdSetup::install(args.address)
    } else if args.plain {
        PdSetup::plain(args.address)
    } else {
        return Err(
            "--scbk HEX, --install or --plain: expected one of them (how the board's secure channel is set up)".into(),
        );
    };
    let link =
        khil_link::connect(&url, Some(115_200), &crate::sim::Simulators).await.map_err(|e| format!("--device: {e}"))?;
    let mut bus = OsdpBus::new(link, CpConfig::default());
    bus.add_pd(setup).map_err(|e| e.to_string())?;
    let events = bus.take_events().ok_or("bus events taken twice")?;
    let controller = ControllerConfig {
        processing_timeout: Duration::from_secs(args.decision_timeout),
        ..ControllerConfig::default()
    };
    let gate = Gate::spawn(bus.handle(), events, GateSetup { controller, ..GateSetup::new(args.address) });
    let mut transitions = gate.transitions();
    let mut bus_task = tokio::spawn(async move { bus.run().await });
    let shutdown = crate::sim::shutdown_signal().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    tokio::pin!(shutdown);
    let mut lines = crate::sim::stdin_lines();
    let mut stdin_open = true;
    loop {
        tokio::select! {
            name = &mut shutdown => {
                tracing::info!(signal = name, "gate controller stopping");
                return Ok(());
            }
            t = transitions.recv() => {
                let Ok(t) = t else { continue };
                let mut out = std::io::stdout().lock();
                writeln!(out, "{:.3} {} <- {}: {}", t.at.as_secs_f64(), t.to, t.from, t.why)
                    .and_then(|()| out.flush())
                    .map_err(|e| format!("cannot write to stdout: {e}"))?;
            }
            line = lines.recv(), if stdin_open => {
                let Some(line) = line else {
                    stdin_open = false;
                    continue;
                };
                let result = match line.trim() {
                    "" => Ok(()),
                    "accept" => gate.decide(Decision::Accept).await,
                    "reject" => gate.decide(Decision::Reject).await,
                    "reset" => gate.reset().await,
                    "status" => {
                        eprintln!("state: {}", gate.state());
                        Ok(())
                    }
                    other => {
                        eprintln!("{other:?}: expected accept, reject, reset or status");
                        Ok(())
                    }
                };
                result.map_err(|e| e.to_string())?;
            }
            done = &mut bus_task => {
                return match done {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(format!("--device {}: {e}", args.device)),
                    Err(e) => Err(format!("bus task: {e}")),
                };
            }
        }
    }
}
