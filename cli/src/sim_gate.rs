//! `khil sim gate`: a whole e-gate behind its OSDP I/O board — the `gate-io` PD wired to the physical gate model
//! (flaps, zones, travellers, the gate's own safety and watchdog). A gate controller (khil's, `khil gate`, or a
//! vendor's) drives it over the line; travellers, luggage and power cuts come from stdin.

use std::sync::Arc;
use std::time::Duration;

use khil_link::{BoxLink, LinkError};
use khil_sim_gate::{Behaviour, DEFAULT_TICK, FailMode, Flap, GateBridge, GateConfig, GateHandle, GateModel};
use khil_sim_host::Device;
use khil_sim_osdp::{OsdpPd, PdConfig, PdFault, PdProfile};

/// What the console understands.
pub(crate) const CONSOLE: &str = "`traveller normal|tailgater|turnback|slow`, `obstruct entry|exit`, \
`clear entry|exit`, `power on|off` or `status`";

/// Parses `--fail-mode`.
pub(crate) fn parse_fail_mode(text: &str) -> Result<FailMode, String> {
    match text {
        "safe" => Ok(FailMode::Safe),
        "secure" => Ok(FailMode::Secure),
        _ => Err(format!("--fail-mode {text:?}: expected safe (flaps open) or secure (flaps closed)")),
    }
}

/// A simulated gate: the I/O board the line reaches, and the gate around it (alive as long as this is).
#[derive(Debug)]
pub(crate) struct SimGate {
    pd: Arc<OsdpPd>,
    bridge: GateBridge,
}

impl SimGate {
    /// Starts the gate model and its bridge (inside a tokio runtime). `pd`'s profile is forced to `gate-io`.
    pub(crate) fn start(pd: PdConfig, faults: Vec<PdFault>, fail_mode: FailMode) -> SimGate {
        let seed = pd.seed;
        let pd = Arc::new(OsdpPd::with_faults(PdConfig { profile: PdProfile::GATE_IO, ..pd }, faults));
        let model = GateModel::new(GateConfig { fail_mode, seed, ..GateConfig::default() });
        let bridge = GateBridge::spawn(model, Arc::clone(&pd), DEFAULT_TICK);
        SimGate { pd, bridge }
    }

    pub(crate) fn handle(&self) -> GateHandle {
        self.bridge.handle()
    }
}

impl Device for SimGate {
    fn name(&self) -> &'static str {
        "gate"
    }

    async fn serve(self: Arc<Self>, link: BoxLink) -> Result<(), LinkError> {
        // The gate keeps moving between sessions (the bridge is the gate's own task); a session is the board's.
        Arc::clone(&self.pd).serve(link).await
    }
}

/// Reads console lines from stdin and prints what happens at the gate on stderr.
pub(crate) fn spawn_console(gate: GateHandle) {
    let watcher = gate.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        loop {
            tick.tick().await;
            for logged in watcher.drain_events() {
                eprintln!("gate {:.2} s: {:?}", logged.at.as_secs_f64(), logged.event);
            }
        }
    });
    tokio::spawn(async move {
        let mut lines = crate::sim::stdin_lines();
        while let Some(text) = lines.recv().await {
            let words: Vec<&str> = text.split_whitespace().collect();
            let flap = |w: &str| match w {
                "entry" => Some(Flap::Entry),
                "exit" => Some(Flap::Exit),
                _ => None,
            };
            let done = match words.as_slice() {
                [] => continue,
                ["traveller", kind] => {
                    let behaviour = match *kind {
                        "normal" => Some(Behaviour::Normal),
                        "tailgater" => Some(Behaviour::Tailgater),
                        "turnback" => Some(Behaviour::TurnBack),
                        "slow" => Some(Behaviour::Slow),
                        _ => None,
                    };
                    behaviour.map(|b| eprintln!("traveller {:?} arrives", gate.add_traveller(b).0))
                }
                ["obstruct", f] => flap(f).map(|f| gate.obstruct(f)),
                ["clear", f] => flap(f).map(|f| gate.clear_obstruction(f)),
                ["power", state @ ("on" | "off")] => {
                    gate.power(*state == "on");
                    Some(())
                }
                ["status"] => {
                    let m = gate.model();
                    eprintln!(
                        "status {:?}; entry flap {:.2}, exit flap {:.2}; travellers {:?}",
                        m.status(),
                        m.flap_position(Flap::Entry),
                        m.flap_position(Flap::Exit),
                        m.travellers().iter().map(|t| (t.id.0, t.zone)).collect::<Vec<_>>()
                    );
                    Some(())
                }
                _ => None,
            };
            if done.is_none() {
                eprintln!("{text:?}: expected {CONSOLE}");
            }
        }
    });
}
