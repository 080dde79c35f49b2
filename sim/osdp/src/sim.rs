//! `khil sim osdp-pd` and `sim:osdp-pd?...`: the PD's one configuration, read from either surface, and its
//! console. `khil-sim-gate` builds its gate-io board from the same PD parameters ([`PD_PARAMS`], [`pd_config`]).

use std::sync::Arc;

use khil_sim_host::config::{self, Param, ParamError, ParamSpec, Params};
use khil_sim_host::{Build, Built, Console, Simulator};
use khil_sim_population::{Fingers, Presence};

use crate::{BioReader, OsdpPd, PdConfig, PdEvent, PdFault, PdProfile, PdStateFile};

/// What every simulated PD takes, the gate's board included.
pub const PD_PARAMS: &[ParamSpec] = &[
    ParamSpec::new("address", "N", "Bus address 0-126").default("1"),
    ParamSpec::new(
        "scbk",
        "HEX",
        "Secure channel base key, 32 hex digits (without a key: install mode, SCBK-D accepted). Visible to every \
         user in the process list: prefer --scbk-file or the KHIL_SCBK environment variable",
    )
    .env("KHIL_SCBK"),
    ParamSpec::new("scbk-file", "FILE", "Read the secure channel base key (32 hex digits) from FILE (mode 600)"),
];

/// The PD simulator's parameters: [`PD_PARAMS`] and these.
pub const PARAMS: &[ParamSpec] = &[
    PD_PARAMS[0],
    PD_PARAMS[1],
    PD_PARAMS[2],
    ParamSpec::new("profile", "NAME", "The kind of PD: gate-io, card-reader or bio-reader").default("gate-io"),
    ParamSpec::new(
        "state",
        "FILE",
        "Keep the address and key that COMSET and KEYSET set in FILE (owner-only JSON); what it holds wins over \
         --address and --scbk",
    ),
    ParamSpec::new(
        "quirk",
        "NAME",
        "A deliberate mis-implementation, to check that a conformance suite catches it, e.g. needs-mark, \
         no-sequence-check, plain-allowed; repeatable",
    )
    .repeat(),
    ParamSpec::new(
        "finger",
        "SPEC",
        "bio-reader: who is at the sensor at start: auto:<id> (placed, captured, lifted, placed again...), \
         place:<id> (stays on) or none",
    )
    .default("none"),
    ParamSpec::new("no-finger", "P", "bio-reader: chance that a scan finds no finger although one is due").default("0"),
    ParamSpec::new(
        "impressions",
        "N",
        "bio-reader: impressions per finger, all synthesised before a scan needs them (0: 4)",
    )
    .default("0"),
    ParamSpec::new(
        "quality",
        "NAME",
        "bio-reader: impression quality, good or mixed (mixed lowers genuine BIOMATCH scores)",
    )
    .default("good"),
    ParamSpec::new(
        "scan-ms",
        "MS",
        "bio-reader: how long a scan takes; the PD answers BUSY to BIOREAD/BIOMATCH until it is done (0: at once)",
    )
    .default("0"),
];

pub const SIMULATOR: Simulator = Simulator {
    name: "osdp-pd",
    about: "An OSDP peripheral (PD) of an e-gate: gate I/O board, card reader or fingerprint reader",
    help: "Examples:\n  khil sim osdp-pd --pty --profile gate-io --address 1 --scbk-file board.key\n  \
           KHIL_SCBK=000102030405060708090a0b0c0d0e0f khil sim osdp-pd --pty --profile bio-reader --address 2 \
           --finger auto:7\n  khil sim osdp-pd --pty --profile card-reader --state pd.json   # install mode; a \
           KEYSET'd key is kept in pd.json\n\n\
           PD faults (--fault): slow, no-reply, busy, bad-crc, sc-drop (e.g. slow:every=5,ms=300).\n\n\
           Console (stdin): `input <n> on|off`, `tamper on|off`, `card <hex>` make events for the next POLL; the \
           bio-reader also takes `place <id>`, `lift` and `auto <id>`. Every profile takes files by FILETRANSFER \
           (type 1 or 128-255).",
    params: PARAMS,
    build: Build::Stream(build),
};

/// The key from `scbk`, `scbk-file` or (on the command line) `KHIL_SCBK`; `None`: install mode.
fn key(params: &Params) -> Result<Option<[u8; 16]>, ParamError> {
    // The error never repeats the value: it is (nearly) a key.
    let hex = |key: &str, text: &str| {
        khil_osdp::sc::key_from_hex(text).ok_or_else(|| {
            params.error(key, format!("expected 32 hex digits (16 bytes), got {} characters", text.len()))
        })
    };
    match (params.get("scbk"), params.get("scbk-file")) {
        (Some(_), Some(_)) => Err(params.error("scbk-file", "expected either scbk or scbk-file, not both")),
        (Some(p), None) => hex("scbk", p.value).map(Some),
        (None, Some(p)) => hex("scbk-file", &p.secret_file()?).map(Some),
        (None, None) => Ok(None),
    }
}

/// A PD's address, key, seed and faults from `params` (`own_faults`: the faults [`config::line`] left to the
/// device; the profile is the caller's).
pub fn pd_config(
    params: &Params,
    profile: PdProfile,
    own_faults: &[Param<'_>],
) -> Result<(PdConfig, Vec<PdFault>), ParamError> {
    let config = PdConfig {
        scbk: key(params)?,
        seed: params.value("seed").u64()?,
        ..PdConfig::new(profile, params.value("address").range(0, 126)? as u8)
    };
    let faults = own_faults.iter().map(Param::parsed).collect::<Result<_, _>>()?;
    Ok((config, faults))
}

fn build(params: &Params) -> Result<Built, ParamError> {
    let (line, own_faults) = config::line(params, crate::faults::KINDS)?;
    let profile = params.value("profile").one_of(&PdProfile::names(), PdProfile::by_name)?;
    let (mut config, faults) = pd_config(params, profile, &own_faults)?;
    config.quirks = params.all("quirk").map(|p| p.parsed()).collect::<Result<_, _>>()?;
    // The PD's non-volatile memory: what a KEYSET or COMSET stored there wins over the parameters, as on a
    // device that was given a key once and keeps it.
    let store = params.get("state").map(|p| PdStateFile::new(p.value));
    if let Some(file) = &store
        && let Some(stored) = file.load(profile.name).map_err(|e| params.error("state", e.to_string()))?
    {
        if stored.scbk != config.scbk || stored.address != config.address {
            tracing::warn!(
                state = %file.path().display(),
                address = stored.address,
                key = if stored.scbk.is_some() { "its own key" } else { "install mode" },
                "address and key as stored in the state file (by an earlier COMSET or KEYSET)"
            );
        }
        config.scbk = stored.scbk;
        config.address = stored.address;
    }
    config.bio = bio_reader(params, profile, config.seed)?;
    let pd = Arc::new(OsdpPd::with_faults(config, faults));
    if let Some(file) = store {
        pd.pd().set_store(Box::new(file));
    }
    // Before a CP connects: its first BIOREAD must not wait for a finger to be synthesised.
    pd.prepare();
    let console = PdConsole { pd: Arc::clone(&pd) };
    Ok(Built::new(pd, line).with_console(Arc::new(console)))
}

/// The fingerprint sensor of a bio-reader PD, or an error naming a finger parameter given to a PD without one.
fn bio_reader(params: &Params, profile: PdProfile, seed: u64) -> Result<Option<Arc<BioReader>>, ParamError> {
    if !profile.biometrics {
        for key in ["finger", "no-finger", "impressions", "quality", "scan-ms"] {
            if params.given(key) {
                return Err(params.error(
                    key,
                    format!("profile {:?} has no fingerprint sensor (example: profile bio-reader)", profile.name),
                ));
            }
        }
        return Ok(None);
    }
    let presence: Presence = params.value("finger").parsed()?;
    let no_finger = params.value("no-finger").probability()?;
    let impressions = params.value("impressions").range(0, 1000)? as u32;
    let quality = params.value("quality").one_of(khil_sim_population::QUALITIES, khil_sim_population::quality_named)?;
    let scan = std::time::Duration::from_millis(params.value("scan-ms").range(0, 60_000)?);
    let fingers = Fingers::shared(seed, quality);
    Ok(Some(Arc::new(BioReader::new(fingers, presence, no_finger, impressions, seed).with_scan_time(scan))))
}

/// `input <n> on|off`, `tamper on|off`, `card <hex>`, and on a bio reader `place <id>`, `lift`, `auto <id>`.
struct PdConsole {
    pd: Arc<OsdpPd>,
}

impl Console for PdConsole {
    fn command(&self, line: &str) -> Result<String, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let bio = self.pd.bio();
        if let (Some(bio), ["place" | "auto" | "lift" | "none", ..]) = (&bio, words.as_slice()) {
            if let Ok(Presence::Auto(id) | Presence::Placed(id)) = line.parse::<Presence>() {
                // Synthesised before the finger is presented: no scan waits for it.
                bio.prepare_finger(id);
            }
            return khil_sim_population::move_finger(&bio.finger(), line);
        }
        let on = |w: &str| match w {
            "on" | "1" => Some(true),
            "off" | "0" => Some(false),
            _ => None,
        };
        let event = match words.as_slice() {
            ["input", n, state] => n.parse().ok().zip(on(state)).map(|(n, on)| PdEvent::Input { n, on }),
            ["tamper", state] => on(state).map(PdEvent::Tamper),
            ["card", hex] if hex.len() % 2 == 0 && !hex.is_empty() => (0..hex.len())
                .step_by(2)
                .map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
                .collect::<Option<Vec<u8>>>()
                .map(|data| PdEvent::Card { bits: (data.len() * 8) as u16, data }),
            _ => None,
        };
        let Some(event) = event else {
            let bio = if bio.is_some() { ", `place <id>`, `lift` or `auto <id>`" } else { "" };
            let or = if bio.is_empty() { " or" } else { "," };
            return Err(format!("{line:?}: expected `input <n> on|off`, `tamper on|off`{or} `card <hex>`{bio}"));
        };
        let said = match &event {
            PdEvent::Input { n, on } => format!("input {n} {}", if *on { "on" } else { "off" }),
            PdEvent::Tamper(on) => format!("tamper {}", if *on { "on" } else { "off" }),
            PdEvent::Card { bits, .. } => format!("a card of {bits} bits"),
        };
        self.pd.push(event);
        Ok(format!("{said}: reported at the next POLL"))
    }
}
