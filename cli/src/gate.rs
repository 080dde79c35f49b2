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
alarm) or `status` on stdin. When the board's line drops, the gate is out of service and khil reconnects (1 s, \
doubling to 30 s) until it is back.\n\nThe key: --scbk-file FILE (mode 600) or the KHIL_SCBK environment \
variable keep it out of the process list, where --scbk HEX is visible to every user of the machine.\n\n\
Examples:\n  khil sim gate --pty --address 1 --scbk-file board.key   # prints ready serial:///dev/pts/N\n  \
khil gate --device /dev/pts/N --address 1 --scbk-file board.key\n  \
khil gate --device serial:///dev/ttyUSB0?baud=115200 --address 3 --install"
)]
pub(crate) struct GateArgs {
    /// The gate I/O board's line: serial:///dev/ttyUSB0?baud=115200 (or just the path), tcp://host:port, sim:gate?..
    #[arg(long, value_name = "URL")]
    device: String,
    /// The board's OSDP address, 0-126
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(0..=126))]
    address: u8,
    /// The board's secure channel base key, 32 hex digits (visible in the process list: prefer --scbk-file or
    /// KHIL_SCBK)
    #[arg(long, value_name = "HEX", env = "KHIL_SCBK", hide_env_values = true, conflicts_with_all = ["scbk_file", "install", "plain"])]
    scbk: Option<String>,
    /// Read the board's secure channel base key (32 hex digits) from FILE, readable by its owner only
    #[arg(long, value_name = "FILE", conflicts_with_all = ["install", "plain"])]
    scbk_file: Option<std::path::PathBuf>,
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

/// The key from `--scbk`, `KHIL_SCBK` or `--scbk-file`; errors never repeat a key.
fn key(args: &GateArgs) -> Result<Option<[u8; 16]>, String> {
    let hex = |what: &str, text: &str| {
        khil_osdp::sc::key_from_hex(text)
            .ok_or_else(|| format!("{what}: expected 32 hex digits (16 bytes), got {} characters", text.len()))
    };
    if let Some(text) = &args.scbk {
        return hex("--scbk (or KHIL_SCBK)", text).map(Some);
    }
    if let Some(path) = &args.scbk_file {
        let text = khil_sim_host::config::read_secret_file(path)
            .map_err(|e| format!("--scbk-file {}: {e}", path.display()))?;
        return hex(&format!("--scbk-file {}", path.display()), &text).map(Some);
    }
    Ok(None)
}

/// First wait before reconnecting to a board whose line dropped; it doubles up to [`RECONNECT_MAX`].
const RECONNECT_FIRST: Duration = Duration::from_secs(1);
const RECONNECT_MAX: Duration = Duration::from_secs(30);

pub(crate) async fn run(args: GateArgs) -> Result<(), String> {
    let url: DeviceUrl = args.device.parse().map_err(|e| format!("--device: {e}"))?;
    let setup = if let Some(key) = key(&args)? {
        PdSetup::secure(args.address, key)
    } else if args.install {
        PdSetup::install(args.address)
    } else if args.plain {
        PdSetup::plain(args.address)
    } else {
        return Err("--scbk-file FILE, --scbk HEX (or KHIL_SCBK), --install or --plain: expected one of them (how \
                    the board's secure channel is set up)"
            .into());
    };
    let controller = ControllerConfig {
        processing_timeout: Duration::from_secs(args.decision_timeout),
        ..ControllerConfig::default()
    };
    let shutdown = crate::sim::shutdown_signal().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    tokio::pin!(shutdown);
    let mut lines = crate::sim::stdin_lines();
    let mut stdin_open = true;
    // Times on stdout count from the start, across reconnections (each connection has a fresh controller).
    let epoch = tokio::time::Instant::now();
    let mut wait = RECONNECT_FIRST;
    let mut retry = false;
    loop {
        if retry {
            tokio::select! {
                name = &mut shutdown => {
                    tracing::info!(signal = name, "gate controller stopping");
                    return Ok(());
                }
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(RECONNECT_MAX);
        }
        let link = match khil_link::connect(&url, Some(115_200), &khil_sim_registry::Simulators).await {
            Ok(link) => link,
            // The first connection is the user's setting: a wrong path is an error, not something to wait for.
            Err(e) if !retry => return Err(format!("--device: {e}")),
            Err(e) => {
                eprintln!("board line {}: {e}; trying again in {} s", args.device, wait.as_secs());
                continue;
            }
        };
        retry = true;
        let mut bus = OsdpBus::new(link, CpConfig::default());
        bus.add_pd(setup.clone()).map_err(|e| e.to_string())?;
        let events = bus.take_events().ok_or("bus events taken twice")?;
        let gate = Gate::spawn(
            bus.handle(),
            events,
            GateSetup { controller: controller.clone(), ..GateSetup::new(args.address) },
        );
        let since = epoch.elapsed();
        let mut transitions = gate.transitions();
        let mut bus_task = tokio::spawn(async move { bus.run().await });
        let lost = loop {
            tokio::select! {
                name = &mut shutdown => {
                    tracing::info!(signal = name, "gate controller stopping");
                    return Ok(());
                }
                t = transitions.recv() => {
                    let Ok(t) = t else { continue };
                    if t.to != khil_clearance::gate::GateState::OutOfService {
                        wait = RECONNECT_FIRST;
                    }
                    say(&format!("{:.3} {} <- {}: {}", (since + t.at).as_secs_f64(), t.to, t.from, t.why))?;
                }
                line = lines.recv(), if stdin_open => {
                    let Some(line) = line else {
                        stdin_open = false;
                        continue;
                    };
                    operator(&gate, line.trim()).await;
                }
                done = &mut bus_task => {
                    break match done {
                        Ok(Ok(())) => "the bus stopped".to_owned(),
                        Ok(Err(e)) => e.to_string(),
                        Err(e) => format!("bus task: {e}"),
                    };
                }
            }
        };
        // A gate controller does not exit when its board's line drops: the gate is out of service (its own
        // watchdog puts the flaps in the fail mode's state) until the line is back.
        let at = epoch.elapsed().as_secs_f64();
        say(&format!("{at:.3} out-of-service <- {}: the board's line dropped ({lost}); reconnecting", gate.state()))?;
    }
}

/// What the operator typed: the clearance decision, an officer's reset, or a question; answered on stderr.
async fn operator(gate: &Gate, line: &str) {
    let result = match line {
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
    if let Err(e) = result {
        eprintln!("{line}: {e}");
    }
}

/// One line on stdout, flushed (a supervisor reads it at once).
fn say(line: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).map_err(|e| format!("cannot write to stdout: {e}"))
}
