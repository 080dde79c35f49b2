//! Device faults: what a misbehaving module does, as opposed to what a bad cable does (that is
//! [`khil_link::fault`], which works on bytes). A spec is `<kind>[:<trigger>][,ms=<n>]`:
//!
//! | kind           | unit counted by the trigger | effect                                                      |
//! |----------------|-----------------------------|-------------------------------------------------------------|
//! | `checksum`     | acks                        | the ack goes out with its checksum off by one               |
//! | `drop-packet`  | data packets sent           | the packet is never sent (the transfer has a hole)          |
//! | `hang`         | commands                    | the command is never answered                               |
//! | `busy`         | commands                    | the ack comes `ms` late (default 500), as when flash is busy |
//! | `sensor-error` | captures and CheckSensor    | the answer is 29 "sensor hardware error"                    |
//! | `power-on`     | -                           | a raw 0x55 at the start of every client session (R503)      |
//!
//! Triggers are those of line faults: `p=<probability>`, `at=<n>` (0-based, once), `every=<n>`. Draws come
//! from one ChaCha stream of the seed, one draw per counted unit per probabilistic fault.

use std::fmt;
use std::str::FromStr;

use khil_link::fault::Trigger;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeviceFaultKind {
    Checksum,
    DropPacket,
    Hang,
    Busy { ms: u64 },
    SensorError,
    PowerOn,
}

impl DeviceFaultKind {
    /// The name in a spec.
    pub const fn name(self) -> &'static str {
        match self {
            DeviceFaultKind::Checksum => "checksum",
            DeviceFaultKind::DropPacket => "drop-packet",
            DeviceFaultKind::Hang => "hang",
            DeviceFaultKind::Busy { .. } => "busy",
            DeviceFaultKind::SensorError => "sensor-error",
            DeviceFaultKind::PowerOn => "power-on",
        }
    }
}

/// One device fault.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DeviceFault {
    pub kind: DeviceFaultKind,
    /// `None` only for `power-on`.
    pub trigger: Option<Trigger>,
}

/// A device fault spec that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid device fault {spec:?}: {part}: {expected} (example: checksum:p=0.05)")]
pub struct DeviceFaultError {
    pub spec: String,
    pub part: String,
    pub expected: String,
}

/// The kinds, for error messages.
pub const KINDS: &str = "checksum, drop-packet, hang, busy, sensor-error or power-on";

impl FromStr for DeviceFault {
    type Err = DeviceFaultError;

    fn from_str(spec: &str) -> Result<DeviceFault, DeviceFaultError> {
        let err =
            |part: &str, expected: String| DeviceFaultError { spec: spec.to_owned(), part: part.to_owned(), expected };
        let (name, args) = spec.split_once(':').unwrap_or((spec, ""));
        let mut trigger = None;
        let mut ms = None;
        for arg in args.split(',').filter(|a| !a.is_empty()) {
            let Some((key, value)) = arg.split_once('=') else {
                return Err(err(arg, "expected key=value".into()));
            };
            let int = |what: &str| -> Result<u64, DeviceFaultError> {
                value.parse().map_err(|_| err(key, format!("expected {what}, got {value:?}")))
            };
            let new = match key {
                "p" => Trigger::Probability(
                    value
                        .parse()
                        .ok()
                        .filter(|p: &f64| (0.0..=1.0).contains(p))
                        .ok_or_else(|| err(key, format!("expected a probability from 0 to 1, got {value:?}")))?,
                ),
                "at" => Trigger::At(int("a count")?),
                "every" => match int("a count of at least 1")? {
                    0 => return Err(err(key, "expected a count of at least 1, got \"0\"".into())),
                    n => Trigger::Every(n),
                },
                "ms" => {
                    ms = Some(int("milliseconds")?);
                    continue;
                }
                _ => return Err(err(key, "expected one of p, at, every, ms".into())),
            };
            if trigger.replace(new).is_some() {
                return Err(err(key, "expected exactly one trigger of p, at and every".into()));
            }
        }
        let kind = match name {
            "checksum" => DeviceFaultKind::Checksum,
            "drop-packet" => DeviceFaultKind::DropPacket,
            "hang" => DeviceFaultKind::Hang,
            "busy" => DeviceFaultKind::Busy { ms: ms.unwrap_or(500) },
            "sensor-error" => DeviceFaultKind::SensorError,
            "power-on" => DeviceFaultKind::PowerOn,
            _ => return Err(err("kind", format!("expected {KINDS}, got {name:?}"))),
        };
        if ms.is_some() && !matches!(kind, DeviceFaultKind::Busy { .. }) {
            return Err(err("ms", "only busy takes ms".into()));
        }
        match (kind, trigger) {
            (DeviceFaultKind::PowerOn, None) => Ok(DeviceFault { kind, trigger: None }),
            (DeviceFaultKind::PowerOn, Some(_)) => Err(err("trigger", "power-on takes no trigger".into())),
            (_, None) => Err(err("trigger", "expected one of p=<probability>, at=<n>, every=<n>".into())),
            (_, Some(t)) => Ok(DeviceFault { kind, trigger: Some(t) }),
        }
    }
}

impl fmt::Display for DeviceFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        match self.trigger {
            Some(Trigger::Probability(p)) => write!(f, ":p={p}")?,
            Some(Trigger::At(n)) => write!(f, ":at={n}")?,
            Some(Trigger::Every(n)) => write!(f, ":every={n}")?,
            None => {}
        }
        if let DeviceFaultKind::Busy { ms } = self.kind {
            write!(f, ",ms={ms}")?;
        }
        Ok(())
    }
}

/// What the fault plan does to one command.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommandFaults {
    pub hang: bool,
    pub busy_ms: Option<u64>,
    pub sensor_error: bool,
}

/// Units the triggers count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Ack,
    DataPacket,
    Command,
    Capture,
}

fn unit(kind: DeviceFaultKind) -> Option<Unit> {
    Some(match kind {
        DeviceFaultKind::Checksum => Unit::Ack,
        DeviceFaultKind::DropPacket => Unit::DataPacket,
        DeviceFaultKind::Hang | DeviceFaultKind::Busy { .. } => Unit::Command,
        DeviceFaultKind::SensorError => Unit::Capture,
        DeviceFaultKind::PowerOn => return None,
    })
}

/// The faults of one module, with their counters and random stream.
#[derive(Debug)]
pub struct FaultPlan {
    faults: Vec<DeviceFault>,
    counts: [u64; 4],
    rng: ChaCha8Rng,
    /// Faults injected so far, by kind name.
    pub injected: std::collections::BTreeMap<&'static str, u64>,
}

impl FaultPlan {
    pub fn new(faults: Vec<DeviceFault>, seed: u64) -> FaultPlan {
        FaultPlan {
            faults,
            counts: [0; 4],
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6b68_696c_6661_756c),
            injected: std::collections::BTreeMap::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.faults.is_empty()
    }

    /// Advances the counter of `unit` and returns the kinds that trigger on this unit.
    fn step(&mut self, which: Unit) -> Vec<DeviceFaultKind> {
        let n = self.counts[which as usize];
        self.counts[which as usize] += 1;
        let mut hit = Vec::new();
        for f in &self.faults {
            if unit(f.kind) != Some(which) {
                continue;
            }
            let fire = match f.trigger {
                Some(Trigger::Probability(p)) => self.rng.random_bool(p),
                Some(Trigger::At(at)) => n == at,
                Some(Trigger::Every(every)) => (n + 1).is_multiple_of(every),
                None => false,
            };
            if fire {
                hit.push(f.kind);
                let name = f.kind.name();
                *self.injected.entry(name).or_default() += 1;
                tracing::info!(fault = name, unit = ?which, n, "device fault injected");
            }
        }
        hit
    }

    /// Decides the faults of a command (`capture`: GenImg, GetImageEx or CheckSensor).
    pub fn on_command(&mut self, capture: bool) -> CommandFaults {
        let mut out = CommandFaults::default();
        for kind in self.step(Unit::Command) {
            match kind {
                DeviceFaultKind::Hang => out.hang = true,
                DeviceFaultKind::Busy { ms } => out.busy_ms = Some(out.busy_ms.unwrap_or(0).max(ms)),
                _ => {}
            }
        }
        if capture && !out.hang {
            out.sensor_error = !self.step(Unit::Capture).is_empty();
        }
        out
    }

    /// Whether this ack's checksum is corrupted.
    pub fn corrupt_ack(&mut self) -> bool {
        !self.step(Unit::Ack).is_empty()
    }

    /// Whether this data packet is dropped.
    pub fn drop_data_packet(&mut self) -> bool {
        !self.step(Unit::DataPacket).is_empty()
    }

    /// Whether a session starts with the power-on byte.
    pub fn power_on_byte(&self) -> bool {
        self.faults.iter().any(|f| f.kind == DeviceFaultKind::PowerOn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn specs_parse_and_print() {
        for s in
            ["checksum:p=0.05", "drop-packet:at=3", "hang:every=7", "busy:at=1,ms=250", "sensor-error:p=1", "power-on"]
        {
            let f: DeviceFault = s.parse().unwrap();
            assert_eq!(f.to_string(), s);
        }
        assert_eq!("busy:at=0".parse::<DeviceFault>().unwrap().kind, DeviceFaultKind::Busy { ms: 500 });
        let e = "smoke:p=1".parse::<DeviceFault>().unwrap_err().to_string();
        assert!(e.contains("kind") && e.contains("checksum, drop-packet"), "{e}");
        assert!("hang".parse::<DeviceFault>().unwrap_err().to_string().contains("trigger"));
        assert!("power-on:at=1".parse::<DeviceFault>().is_err());
        assert!("hang:at=1,ms=3".parse::<DeviceFault>().unwrap_err().to_string().contains("only busy"));
        assert!("hang:at=1,p=0.5".parse::<DeviceFault>().is_err());
    }

    #[test]
    fn triggers_count_their_own_units() {
        let faults = vec!["hang:at=2".parse().unwrap(), "drop-packet:every=3".parse().unwrap()];
        let mut plan = FaultPlan::new(faults, 0);
        let hangs: Vec<bool> = (0..5).map(|_| plan.on_command(false).hang).collect();
        assert_eq!(hangs, [false, false, true, false, false]);
        let drops: Vec<bool> = (0..6).map(|_| plan.drop_data_packet()).collect();
        assert_eq!(drops, [false, false, true, false, false, true]);
        assert_eq!(plan.injected.get("hang"), Some(&1));
        assert_eq!(plan.injected.get("drop-packet"), Some(&2));
    }

    #[test]
    fn sensor_errors_only_hit_captures() {
        let mut plan = FaultPlan::new(vec!["sensor-error:every=1".parse().unwrap()], 0);
        assert!(!plan.on_command(false).sensor_error);
        assert!(plan.on_command(true).sensor_error);
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<DeviceFault>();
        }
    }
}
