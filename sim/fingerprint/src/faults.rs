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
//! Grammar, triggers and errors are those of line faults ([`khil_link::fault::FaultSpec`]): `p=<probability>`,
//! `at=<n>` (0-based, once), `every=<n>`. Draws come from the seed's ChaCha stream 3, one draw per counted unit
//! per probabilistic fault.

use std::fmt;
use std::str::FromStr;

use khil_link::fault::{FaultSpec, FaultSpecError, Trigger};
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

/// A device fault spec that does not parse: the one error of every fault grammar.
pub type DeviceFaultError = FaultSpecError;

/// The kinds, for error messages.
pub const KINDS: &str = "checksum, drop-packet, hang, busy, sensor-error or power-on";

impl FromStr for DeviceFault {
    type Err = DeviceFaultError;

    fn from_str(text: &str) -> Result<DeviceFault, DeviceFaultError> {
        let spec = FaultSpec::new(text, &["ms"], "checksum:p=0.05")?;
        let ms = spec.number("ms", "milliseconds")?;
        let kind = match spec.kind {
            "checksum" => DeviceFaultKind::Checksum,
            "drop-packet" => DeviceFaultKind::DropPacket,
            "hang" => DeviceFaultKind::Hang,
            "busy" => DeviceFaultKind::Busy { ms: ms.unwrap_or(500) },
            "sensor-error" => DeviceFaultKind::SensorError,
            "power-on" => DeviceFaultKind::PowerOn,
            other => return Err(spec.error("kind", format!("expected {KINDS}, got {other:?}"))),
        };
        spec.only("ms", matches!(kind, DeviceFaultKind::Busy { .. }), "busy")?;
        let trigger = match unit(kind) {
            None => match spec.trigger("unit")? {
                None => None,
                Some(_) => return Err(spec.error("trigger", "power-on takes no trigger")),
            },
            Some(u) => Some(spec.required_trigger(u.name())?),
        };
        Ok(DeviceFault { kind, trigger })
    }
}

impl fmt::Display for DeviceFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        if let Some(t) = self.trigger {
            write!(f, ":{t}")?;
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

impl Unit {
    /// As errors name it: `expected an offset in commands`.
    const fn name(self) -> &'static str {
        match self {
            Unit::Ack => "ack",
            Unit::DataPacket => "data packet",
            Unit::Command => "command",
            Unit::Capture => "capture",
        }
    }
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

/// The module's [`Trigger::rng`] stream: apart from the line's (1 and 2), so the cable and the module of one seed
/// draw different numbers.
const STREAM: u64 = 3;

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
            rng: Trigger::rng(seed, STREAM),
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
            let fire = f.trigger.is_some_and(|t| t.fires(n, &mut self.rng));
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

    /// Errors are the shared grammar's: the spec, the part, what was expected, in the unit this kind counts.
    #[test]
    fn errors_name_the_part_and_the_unit() {
        for (spec, part, expected) in [
            ("hang:at=x", "at", "an offset in commands"),
            ("checksum:every=0", "every", "a number of acks, at least 1"),
            ("sensor-error:p=3", "p", "probability from 0 to 1"),
            ("drop-packet:at=1,at=2", "at", "each key once"),
            ("busy:at=1,dir=rx", "dir", "expected one of p, at, every, ms"),
            ("busy:at=1,ms=soon", "ms", "milliseconds"),
        ] {
            let e = spec.parse::<DeviceFault>().expect_err(spec);
            assert_eq!((e.spec.as_str(), e.part.as_str()), (spec, part), "{e}");
            assert!(e.expected.contains(expected), "{spec}: {e}");
        }
    }

    fn fault() -> impl Strategy<Value = DeviceFault> {
        let trigger = prop_oneof![
            (0.0f64..=1.0).prop_map(Trigger::Probability),
            any::<u64>().prop_map(Trigger::At),
            (1u64..).prop_map(Trigger::Every),
        ];
        let kind = prop_oneof![
            Just(DeviceFaultKind::Checksum),
            Just(DeviceFaultKind::DropPacket),
            Just(DeviceFaultKind::Hang),
            any::<u64>().prop_map(|ms| DeviceFaultKind::Busy { ms }),
            Just(DeviceFaultKind::SensorError),
        ];
        prop_oneof![
            (kind, trigger).prop_map(|(kind, t)| DeviceFault { kind, trigger: Some(t) }),
            Just(DeviceFault { kind: DeviceFaultKind::PowerOn, trigger: None }),
        ]
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,40}", t in "[a-z-]{0,12}(:[a-z=0-9.,]{0,30})?") {
            let _ = s.parse::<DeviceFault>();
            let _ = t.parse::<DeviceFault>();
        }

        #[test]
        fn specs_round_trip(f in fault()) {
            prop_assert_eq!(f.to_string().parse::<DeviceFault>().unwrap(), f);
        }
    }
}
