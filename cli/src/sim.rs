//! `khil sim <device>`: a simulator on a pty or TCP, announced by one `ready <url>` line on stdout.
//!
//! The subcommands and their flags are made from `khil_sim_registry::SIMULATORS` at start-up: each simulator
//! declares its parameters once, and `--name VALUE` here is `name=VALUE` in a `sim:` URL, read by the same code.

use std::io::Write;
use std::sync::Arc;

use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches};
use khil_apdu::vpcd::VpcdEndpoint;
use khil_link::Endpoint;
use khil_sim_host::config::{LINE_PARAMS, ParamSpec, Params, Surface};
use khil_sim_host::{Build, BuiltCard, Console, Simulator};

/// Where the simulator serves.
#[derive(Debug, Clone)]
enum Hosting {
    Pty,
    Tcp(String),
    Vpcd(String),
}

/// `khil sim <device> [--pty | --tcp ADDR | --vpcd HOST:PORT] [--<param> VALUE]...`
#[derive(Debug)]
pub(crate) struct SimArgs {
    sim: &'static Simulator,
    hosting: Hosting,
    params: Params,
}

const ABOUT: &str = "Run a device simulator on a virtual serial port (pty) or TCP, or a smart card in pcscd's vpcd";

const AFTER_HELP: &str = "Prints exactly one line `ready <url>` on stdout once clients can connect, then serves until \
SIGINT or SIGTERM. Each device has its own flags: `khil sim <device> --help`. The same names are the parameters of \
in-process `sim:<device>?name=value&...` URLs.\n\nExamples:\n  khil sim echo --pty\n  \
khil sim fingerprint --pty --profile r307 --finger auto:7 --state lib.json\n  \
khil sim osdp-pd --pty --profile gate-io --address 1 --scbk-file board.key\n  \
khil sim gate --pty --address 1 --scbk-file board.key --fail-mode secure\n  \
khil sim passport --vpcd 127.0.0.1:35963 --document 3\n  \
khil sim docreader --pty --dpi 300 (then `rte <url>`: the reader's RTE MRZ channel)";

/// The clap command of one simulator: the hosting flags, the line parameters and the device's own. A smart card
/// has no serial line: it is hosted by vpcd only, and of the line parameters takes the seed and its own faults.
fn device_command(sim: &'static Simulator) -> clap::Command {
    if matches!(sim.build, Build::Card(_)) {
        return card_command(sim);
    }
    let cmd =
        clap::Command::new(sim.name)
            .about(sim.about)
            .after_help(format!(
                "{}\n\nPrints exactly one line `ready <url>` on stdout once clients can connect, then serves until \
             SIGINT or SIGTERM. The same parameters in a URL: sim:{}?name=value&...",
                sim.help, sim.name
            ))
            .arg(Arg::new("pty").long("pty").action(ArgAction::SetTrue).conflicts_with_all(["tcp", "vpcd"]).help(
                "Serve on a new pseudo-terminal; clients open the serial:///dev/pts/N the ready line names (default)",
            ))
            .arg(Arg::new("tcp").long("tcp").value_name("ADDR").conflicts_with("vpcd").help(
                "Serve on TCP at ADDR (host:port; port 0 picks a free one), one client at a time like a serial line",
            ))
            .arg(
                Arg::new("vpcd")
                    .long("vpcd")
                    .value_name("HOST:PORT")
                    .help("Plug into a vpcd virtual smart-card reader at HOST:PORT (smart-card devices only)"),
            );
    with_params(cmd, LINE_PARAMS.iter().chain(sim.params))
}

/// `--fault` as a card takes it: its own faults only (the line's are for byte streams). The same parameter as the
/// line's `fault`, so `Params` reads it alike.
const CARD_FAULT: ParamSpec =
    ParamSpec::new("fault", "SPEC", "One of the card's own faults (listed below), with at=/every=/p=; repeatable")
        .repeat();

fn card_command(sim: &'static Simulator) -> clap::Command {
    let cmd =
        clap::Command::new(sim.name)
            .about(sim.about)
            .after_help(format!(
                "{}\n\nPrints exactly one line `ready pcsc://<reader>` on stdout once the card is in the reader, then \
             serves until SIGINT or SIGTERM. The same parameters in a URL: sim:{}?name=value&...",
                sim.help, sim.name
            ))
            .arg(Arg::new("vpcd").long("vpcd").value_name("HOST:PORT").required(true).help(
                "Plug into vsmartcard's vpcd at HOST:PORT (127.0.0.1:35963 is pcscd's reader Virtual PCD 00 00)",
            ));
    let seed = LINE_PARAMS.iter().filter(|p| p.name == "seed");
    with_params(cmd, seed.chain([&CARD_FAULT]).chain(sim.params))
}

fn with_params<'a>(mut cmd: clap::Command, specs: impl Iterator<Item = &'a ParamSpec>) -> clap::Command {
    for spec in specs {
        let mut arg = Arg::new(spec.name)
            .long(spec.name)
            .value_name(spec.value)
            .help(spec.help)
            .action(if spec.repeat { ArgAction::Append } else { ArgAction::Set });
        if let Some(default) = spec.default {
            arg = arg.default_value(default);
        }
        if let Some(var) = spec.env {
            // The value of a key never shows in --help.
            arg = arg.env(var).hide_env_values(true);
        }
        cmd = cmd.arg(arg);
    }
    cmd
}

impl clap::FromArgMatches for SimArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let Some((name, sub)) = matches.subcommand() else {
            return Err(clap::Error::raw(clap::error::ErrorKind::MissingSubcommand, "expected a device\n"));
        };
        let sim = khil_sim_registry::find(name).ok_or_else(|| {
            clap::Error::raw(clap::error::ErrorKind::InvalidSubcommand, format!("unknown device {name:?}\n"))
        })?;
        let mut pairs = Vec::new();
        for spec in LINE_PARAMS.iter().chain(sim.params) {
            // A card's command has no line flags but seed and fault (see `card_command`).
            if !sub.ids().any(|id| id.as_str() == spec.name) {
                continue;
            }
            // Defaults are the simulator's to apply (the same on both surfaces): only what was given counts.
            if matches!(sub.value_source(spec.name), None | Some(ValueSource::DefaultValue)) {
                continue;
            }
            for value in sub.get_many::<String>(spec.name).into_iter().flatten() {
                pairs.push((spec.name.to_owned(), value.clone()));
            }
        }
        let params = Params::new(Surface::Cli, sim.name, sim.params, pairs)
            .map_err(|e| clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{e}\n")))?;
        let flag = |id: &str| sub.try_get_one::<String>(id).ok().flatten();
        let hosting = match (flag("tcp"), flag("vpcd")) {
            (Some(addr), _) => Hosting::Tcp(addr.clone()),
            (None, Some(addr)) => Hosting::Vpcd(addr.clone()),
            (None, None) => Hosting::Pty,
        };
        Ok(SimArgs { sim, hosting, params })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = SimArgs::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for SimArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.about(ABOUT)
            .after_help(AFTER_HELP)
            .subcommand_required(true)
            .subcommand_value_name("DEVICE")
            .subcommands(khil_sim_registry::SIMULATORS.iter().map(|s| device_command(s)))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        SimArgs::augment_args(cmd)
    }
}

pub(crate) async fn run(args: SimArgs) -> Result<(), String> {
    let SimArgs { sim, hosting, params } = args;
    let build = match (sim.build, &hosting) {
        (Build::Card(build), Hosting::Vpcd(addr)) => return run_card(sim, build, &params, addr).await,
        (Build::Card(_), _) => {
            return Err(format!(
                "device {:?} is a smart card: plug it into pcscd with --vpcd HOST:PORT (127.0.0.1:35963 for Debian's \
                 vsmartcard-vpcd)",
                sim.name
            ));
        }
        (Build::Stream(_), Hosting::Vpcd(addr)) => {
            return Err(format!("--vpcd {addr}: device {:?} is not a smart card; use --pty or --tcp", sim.name));
        }
        (Build::Stream(build), _) => build,
    };
    let endpoint = open_endpoint(&hosting, None).await?;
    // Everything slow (synthesising fingers) happens here, before the ready line.
    let mut built = build(&params).map_err(|e| e.to_string())?;
    if let Some(console) = &built.console {
        spawn_console(Arc::clone(console));
    }
    // Further channels (a document reader's RTE line) on endpoints of the same kind: a pty each, or a free port
    // on the same TCP host.
    let mut channels = Vec::new();
    for (name, device) in std::mem::take(&mut built.channels) {
        let endpoint = open_endpoint(&hosting, Some(name)).await?;
        channels.push((name, endpoint.client_url().to_string(), device, endpoint));
    }
    let url = endpoint.client_url();
    let named: Vec<(&str, &str)> = channels.iter().map(|(name, url, ..)| (*name, url.as_str())).collect();
    let shutdown = announce(sim, &url.to_string(), &named)?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    for (name, _, device, endpoint) in channels {
        let mut stopped = stopped.clone();
        let until = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        tokio::spawn(async move {
            if let Err(e) = khil_sim_host::Built::serve_channel(device, endpoint, until).await {
                tracing::warn!(channel = name, error = %e, "channel failed");
            }
        });
    }
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    // On a worker thread, not the one in `block_on`: a device that calls `block_in_place` there (a scan on the
    // fingerprint reader PD) left the signal unheard until its client closed the port.
    tokio::spawn(built.serve(endpoint, shutdown))
        .await
        .map_err(|e| format!("simulator task: {e}"))?
        .map_err(|e| e.to_string())
}

/// The endpoint `hosting` names; for a further channel (`channel`), a new pty, or a free port on the TCP host.
async fn open_endpoint(hosting: &Hosting, channel: Option<&str>) -> Result<Endpoint, String> {
    match (hosting, channel) {
        (Hosting::Tcp(addr), None) => Endpoint::tcp(addr).await,
        (Hosting::Tcp(addr), Some(_)) => {
            let host = addr.rsplit_once(':').map_or(addr.as_str(), |(host, _)| host);
            Endpoint::tcp(&format!("{host}:0")).await
        }
        (Hosting::Pty | Hosting::Vpcd(_), _) => Endpoint::pty(),
    }
    .map_err(|e| match channel {
        Some(name) => format!("the {name} channel: {e}"),
        None => e.to_string(),
    })
}

/// A smart card plugged into pcscd's vpcd: `ready pcsc://<reader>` once it is in the reader.
async fn run_card(
    sim: &'static Simulator,
    build: fn(&Params) -> Result<BuiltCard, khil_sim_host::config::ParamError>,
    params: &Params,
    addr: &str,
) -> Result<(), String> {
    let endpoint = VpcdEndpoint::new(addr).map_err(|e| format!("--vpcd {addr}: {e}"))?;
    let built = build(params).map_err(|e| e.to_string())?;
    if let Some(console) = &built.console {
        spawn_console(Arc::clone(console));
    }
    // Reach vpcd before saying ready: a reader that is not there is an error now, not a silent retry loop. The
    // connection is the card in the reader, so it is kept for the first presentation (or closed at once when the
    // document starts off the reader).
    let first = endpoint.dial().await.map_err(|e| e.to_string())?;
    let first = (*built.presented.borrow()).then_some(first);
    let url = endpoint.client_url().to_string();
    let shutdown = announce(sim, &url, &[])?;
    tokio::spawn(built.serve_vpcd(endpoint, first, shutdown))
        .await
        .map_err(|e| format!("simulator task: {e}"))?
        .map_err(|e| e.to_string())
}

/// Installs the signal handlers, then prints the one `ready <url>` line, and a line `<name> <url>` for each further
/// channel; the future ends the simulator.
fn announce(sim: &Simulator, url: &str, channels: &[(&str, &str)]) -> Result<impl Future<Output = ()> + use<>, String> {
    // Handlers go in before the ready line: a supervisor may signal as soon as it has read it.
    let shutdown = shutdown_signal().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    {
        let mut out = std::io::stdout().lock();
        let text: String = std::iter::once(format!("ready {url}\n"))
            .chain(channels.iter().map(|(name, url)| format!("{name} {url}\n")))
            .collect();
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write to stdout: {e}"))?;
    }
    tracing::info!(device = sim.name, %url, "simulator ready");
    Ok(async {
        let name = shutdown.await;
        tracing::info!(signal = name, "shutting down");
    })
}

/// Feeds stdin lines to the simulator's console and prints its answers, and what happens at the device, on
/// stderr (stdout stays the ready line only).
fn spawn_console(console: Arc<dyn Console>) {
    let watcher = Arc::clone(&console);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        loop {
            tick.tick().await;
            for line in watcher.happenings() {
                eprintln!("{line}");
            }
        }
    });
    let mut lines = stdin_lines();
    tokio::spawn(async move {
        while let Some(text) = lines.recv().await {
            if text.trim().is_empty() {
                continue;
            }
            let console = Arc::clone(&console);
            // A command may synthesise a finger (a quarter second): off the runtime's workers.
            match tokio::task::spawn_blocking(move || console.command(text.trim())).await {
                Ok(Ok(said)) => eprintln!("{said}"),
                Ok(Err(why)) => eprintln!("{why}"),
                Err(e) => eprintln!("console: {e}"),
            }
        }
    });
}

/// Lines typed on stdin, read on a thread of their own: a read blocked on a terminal that stays open must not
/// hold the runtime at shutdown (tokio's stdin reads on its blocking pool, which the runtime waits for, so a
/// simulator with an open console would not end on SIGTERM).
pub(crate) fn stdin_lines() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    use std::io::BufRead;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Installs SIGINT and SIGTERM handlers now; the future resolves with the name of the first that arrives.
pub(crate) fn shutdown_signal() -> std::io::Result<impl Future<Output = &'static str>> {
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
