//! `khil sim gate` and `sim:gate?...`: a whole e-gate behind its OSDP I/O board — the `gate-io` PD wired to the
//! physical gate model (flaps, zones, travellers, the gate's own safety and watchdog). A gate controller (khil's,
//! `khil gate`, or a vendor's) drives it over the line; travellers, luggage and power cuts come from the console.

use std::sync::Arc;

use khil_link::{BoxLink, LinkError};
use khil_sim_host::config::{self, ParamError, ParamSpec, Params};
use khil_sim_host::{Build, Built, Console, Device, Simulator};
use khil_sim_osdp::{OsdpPd, PdConfig, PdFault, PdProfile};

use crate::{Behaviour, DEFAULT_TICK, Event, FailMode, Flap, GateBridge, GateConfig, GateHandle, GateModel, Zone};

/// The gate's parameters: its board's address and key, and the fail mode.
pub const PARAMS: &[ParamSpec] = &[
    khil_sim_osdp::sim::PD_PARAMS[0],
    khil_sim_osdp::sim::PD_PARAMS[1],
    khil_sim_osdp::sim::PD_PARAMS[2],
    ParamSpec::new(
        "fail-mode",
        "MODE",
        "What the flaps do without power or controller: safe (open, for evacuation) or secure (closed)",
    )
    .default("safe"),
];

/// What the console understands.
pub const CONSOLE: &str = "`traveller normal|tailgater|turnback|slow`, `obstruct entry|exit`, `clear entry|exit`, \
`power on|off` or `status`";

pub const SIMULATOR: Simulator = Simulator {
    name: "gate",
    about: "A whole e-gate (flaps, zones, travellers) behind its gate-io OSDP board; drive it with `khil gate`",
    help: "Examples:\n  khil sim gate --pty --address 1 --scbk-file board.key --fail-mode secure\n  \
           khil gate --device serial:///dev/pts/N --address 1 --scbk-file board.key\n\n\
           Console (stdin): `traveller normal` (walks through when the flaps open), `traveller tailgater` (follows \
           the traveller ahead closely, through the entry flap while they are still in the mantrap: add one first), \
           `traveller turnback` (enters, turns round, walks back out), `traveller slow`, `obstruct entry|exit` \
           (luggage in a doorway), `clear entry|exit`, `power on|off`, `status`. What happens at the gate is \
           printed on stderr.",
    params: PARAMS,
    build: Build::Stream(build),
};

/// A simulated gate: the I/O board the line reaches, and the gate around it (alive as long as this is).
#[derive(Debug)]
pub struct SimGate {
    pd: Arc<OsdpPd>,
    bridge: GateBridge,
}

impl SimGate {
    /// Starts the gate model and its bridge (inside a tokio runtime). `pd`'s profile is forced to `gate-io`.
    pub fn start(pd: PdConfig, faults: Vec<PdFault>, fail_mode: FailMode) -> SimGate {
        let seed = pd.seed;
        let pd = Arc::new(OsdpPd::with_faults(PdConfig { profile: PdProfile::GATE_IO, ..pd }, faults));
        let model = GateModel::new(GateConfig { fail_mode, seed, ..GateConfig::default() });
        let bridge = GateBridge::spawn(model, Arc::clone(&pd), DEFAULT_TICK);
        SimGate { pd, bridge }
    }

    pub fn handle(&self) -> GateHandle {
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

fn build(params: &Params) -> Result<Built, ParamError> {
    let (line, own_faults) = config::line(params, khil_sim_osdp::faults::KINDS)?;
    let (pd, faults) = khil_sim_osdp::sim::pd_config(params, PdProfile::GATE_IO, &own_faults)?;
    let fail_mode = params.value("fail-mode").one_of("safe, secure", |v| match v {
        "safe" => Some(FailMode::Safe),
        "secure" => Some(FailMode::Secure),
        _ => None,
    })?;
    let gate = Arc::new(SimGate::start(pd, faults, fail_mode));
    let console = GateConsole { gate: gate.handle() };
    Ok(Built::new(gate, line).with_console(Arc::new(console)))
}

struct GateConsole {
    gate: GateHandle,
}

fn flap_name(flap: Flap) -> &'static str {
    match flap {
        Flap::Entry => "entry",
        Flap::Exit => "exit",
    }
}

fn zone_name(zone: Zone) -> &'static str {
    match zone {
        Zone::Approach => "approaching",
        Zone::EntryZone => "in the entry zone",
        Zone::EntryDoorway => "in the entry doorway",
        Zone::Mantrap => "in the mantrap",
        Zone::ExitDoorway => "in the exit doorway",
        Zone::ExitZone => "in the exit zone",
    }
}

/// An event of the gate for a person watching it.
pub fn event_in_words(event: &Event) -> String {
    match event {
        Event::TravellerEntered { id } => format!("traveller {} entered the mantrap", id.0),
        Event::TravellerExited { id } => format!("traveller {} walked out through the exit: through the gate", id.0),
        Event::TurnedBack { id } => format!("traveller {} walked back out into the entry zone", id.0),
        Event::Tailgating { count } => format!("{count} people in the mantrap (the people counter's contact closed)"),
        Event::ObstructionPrevented { flap } => {
            format!("the {} flap met something in its doorway: it stopped and reopened", flap_name(*flap))
        }
        Event::OutOfService => "no controller activity: out of service, flaps in the fail mode's state".into(),
        Event::BackInService => "the controller is back: in service".into(),
        Event::PowerLost => "power lost: flaps in the fail mode's state".into(),
        Event::PowerRestored => "power restored".into(),
    }
}

impl Console for GateConsole {
    fn command(&self, line: &str) -> Result<String, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let flap = |w: &str| match w {
            "entry" => Some(Flap::Entry),
            "exit" => Some(Flap::Exit),
            _ => None,
        };
        let unknown = || format!("{line:?}: expected {CONSOLE}");
        match words.as_slice() {
            ["traveller", kind] => {
                let behaviour = match *kind {
                    "normal" => Behaviour::Normal,
                    "tailgater" => {
                        if self.gate.model().travellers().is_empty() {
                            return Err("a tailgater follows the traveller ahead, and nobody is at the gate: add \
                                        `traveller normal` first"
                                .into());
                        }
                        Behaviour::Tailgater
                    }
                    "turnback" => Behaviour::TurnBack,
                    "slow" => Behaviour::Slow,
                    _ => return Err(unknown()),
                };
                Ok(format!("traveller {} arrives ({kind})", self.gate.add_traveller(behaviour).0))
            }
            ["obstruct", f] => {
                let f = flap(f).ok_or_else(unknown)?;
                self.gate.obstruct(f);
                Ok(format!("luggage left in the {} doorway", flap_name(f)))
            }
            ["clear", f] => {
                let f = flap(f).ok_or_else(unknown)?;
                self.gate.clear_obstruction(f);
                Ok(format!("the {} doorway is clear", flap_name(f)))
            }
            ["power", state @ ("on" | "off")] => {
                self.gate.power(*state == "on");
                Ok(format!("power {state}"))
            }
            ["status"] => {
                let m = self.gate.model();
                let status = match m.status() {
                    crate::GateStatus::InService => "in service",
                    crate::GateStatus::OutOfService => "out of service",
                    crate::GateStatus::Unpowered => "without power",
                };
                let travellers: Vec<String> =
                    m.travellers().iter().map(|t| format!("traveller {} {}", t.id.0, zone_name(t.zone))).collect();
                Ok(format!(
                    "{status}; entry flap {:.0} % open, exit flap {:.0} % open; {}",
                    m.flap_position(Flap::Entry) * 100.0,
                    m.flap_position(Flap::Exit) * 100.0,
                    if travellers.is_empty() { "nobody at the gate".into() } else { travellers.join(", ") }
                ))
            }
            _ => Err(unknown()),
        }
    }

    fn happenings(&self) -> Vec<String> {
        self.gate
            .drain_events()
            .iter()
            .map(|logged| format!("gate {:.2} s: {}", logged.at.as_secs_f64(), event_in_words(&logged.event)))
            .collect()
    }
}
