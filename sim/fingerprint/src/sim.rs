//! `khil sim fingerprint` and `sim:fingerprint?...`: the module's one configuration, read from either surface,
//! and its console.

use std::sync::{Arc, Mutex};

use khil_sim_host::config::{self, ParamError, ParamSpec, Params};
use khil_sim_host::{Build, Built, Console, Simulator};
use khil_sim_population::{FingerModel, Fingers, Presence};

use crate::{DeviceFault, Profile, SensorConfig, ZfmSensor};

/// The module's parameters (besides seed, pace, framing and fault).
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::new("profile", "NAME", "The model: r307 or r503").default("r307"),
    ParamSpec::new(
        "finger",
        "SPEC",
        "Who is on the sensor at start: auto:<id> (placed, captured, lifted, placed again...), place:<id> (stays \
         on) or none",
    )
    .default("none"),
    ParamSpec::new("no-finger", "P", "Chance that a capture finds no finger although one is due (people hesitate)")
        .default("0"),
    ParamSpec::new("impressions", "N", "Impressions per finger before they repeat (0: every capture is a new one)")
        .default("0"),
    ParamSpec::new(
        "quality",
        "NAME",
        "Impression quality: good, or mixed (FVC-like: rotation, partial contact, dry/wet skin; genuine match scores \
         drop, about a fifth under security level 5)",
    )
    .default("good"),
    ParamSpec::new(
        "state",
        "FILE",
        "Keep the flash library (templates, password, address, settings) in FILE between runs (owner-only JSON)",
    ),
    ParamSpec::new(
        "quirk",
        "NAME",
        "A deliberate mis-implementation, to check that a conformance suite catches it, e.g. page-off-by-one, \
         short-errors, forget-on-reset; repeatable",
    )
    .repeat(),
];

pub const SIMULATOR: Simulator = Simulator {
    name: "fingerprint",
    about: "A ZFM fingerprint module (Grow R307, R503) on a virtual serial port",
    help: "Examples:\n  khil sim fingerprint --pty --profile r307 --finger auto:7 --state lib.json\n  \
           khil sim fingerprint --pty --profile r503 --pace 57600 --fault checksum:p=0.01 --fault flip:p=0.0001\n  \
           khil sim fingerprint --pty --no-finger 0.3 --quality mixed\n\n\
           Device faults (--fault): checksum, drop-packet, hang, busy, sensor-error (e.g. hang:at=3, \
           busy:every=5,ms=300) and power-on (a raw 0x55 when a client connects).\n\n\
           Console (stdin): `place <id>` (the finger stays on), `lift`, `auto <id>` (placed, captured, lifted, \
           placed again).",
    params: PARAMS,
    build: Build::Stream(build),
};

/// The module's configuration from `params` (`own_faults`: the faults [`config::line`] left to the device), and
/// the impression quality of its population.
pub fn sensor_config(
    params: &Params,
    own_faults: &[config::Param<'_>],
) -> Result<(SensorConfig, khil_biometrics::synth::Quality), ParamError> {
    let impressions = params.value("impressions").range(0, 1_000_000)? as u32;
    let config = SensorConfig {
        profile: params.value("profile").one_of(&Profile::names(), Profile::by_name)?,
        state: params.get("state").map(|p| p.value.into()),
        presence: params.value("finger").parsed()?,
        no_finger: params.value("no-finger").probability()?,
        distinct_impressions: (impressions > 0).then_some(impressions),
        faults: own_faults.iter().map(config::Param::parsed::<DeviceFault>).collect::<Result<_, _>>()?,
        quirks: params.all("quirk").map(|p| p.parsed()).collect::<Result<_, _>>()?,
        seed: params.value("seed").u64()?,
    };
    let quality = params.value("quality").one_of(khil_sim_population::QUALITIES, khil_sim_population::quality_named)?;
    Ok((config, quality))
}

fn build(params: &Params) -> Result<Built, ParamError> {
    let (line, own_faults) = config::line(params, crate::faults::KINDS)?;
    let (config, quality) = sensor_config(params, &own_faults)?;
    let fingers = Fingers::shared(config.seed, quality);
    let sensor = ZfmSensor::new(config, Arc::clone(&fingers))
        .map_err(|e| params.error("state", format!("expected a library file of this module: {e}")))?;
    // Before a client connects: its first capture should not wait for a finger to be synthesised.
    sensor.prepare();
    let console = FingerConsole { finger: sensor.finger(), fingers, profile: sensor.profile() };
    Ok(Built::new(Arc::new(sensor), line).with_console(Arc::new(console)))
}

struct FingerConsole {
    finger: Arc<Mutex<FingerModel>>,
    fingers: Arc<Fingers>,
    profile: Profile,
}

impl Console for FingerConsole {
    fn command(&self, line: &str) -> Result<String, String> {
        if let Ok(Presence::Auto(id) | Presence::Placed(id)) = line.parse::<Presence>() {
            // Synthesised before the finger is presented, so no capture waits for it.
            crate::module::prepare(&self.fingers, Presence::Placed(id), 3, &self.profile);
        }
        khil_sim_population::move_finger(&self.finger, line)
    }
}
