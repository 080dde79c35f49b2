//! PD faults: what a misbehaving peripheral does (a bad cable is [`khil_link::fault`]). A spec is
//! `<kind>:<trigger>[,ms=<n>]`, counted in commands addressed to the PD:
//!
//! | kind       | effect                                                                 |
//! |------------|------------------------------------------------------------------------|
//! | `slow`     | the reply comes `ms` late (default 300: past the CP's 200 ms timeout)  |
//! | `no-reply` | the command is executed but the reply is lost                          |
//! | `busy`     | the PD answers BUSY (SQN 0) and does not execute the command            |
//! | `bad-crc`  | the reply goes out with its check corrupted                            |
//! | `sc-drop`  | the PD forgets its secure session just before the command              |
//!
//! Grammar, triggers and errors are those of line faults ([`khil_link::fault::FaultSpec`]): `p=<probability>`,
//! `at=<n>` (0-based, once), `every=<n>`, drawn from the seed's ChaCha stream 4, one draw per command per
//! probabilistic fault.

use std::fmt;
use std::str::FromStr;

use khil_link::fault::{FaultSpec, FaultSpecError, Trigger};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PdFaultKind {
    Slow { ms: u64 },
    NoReply,
    Busy,
    BadCrc,
    ScDrop,
}

impl PdFaultKind {
    pub const fn name(self) -> &'static str {
        match self {
            PdFaultKind::Slow { .. } => "slow",
            PdFaultKind::NoReply => "no-reply",
            PdFaultKind::Busy => "busy",
            PdFaultKind::BadCrc => "bad-crc",
            PdFaultKind::ScDrop => "sc-drop",
        }
    }
}

/// One PD fault.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PdFault {
    pub kind: PdFaultKind,
    pub trigger: Trigger,
}

/// The kinds, for messages.
pub const KINDS: &str = "slow, no-reply, busy, bad-crc or sc-drop";

/// A PD fault spec that does not parse: the one error of every fault grammar.
pub type PdFaultError = FaultSpecError;

impl FromStr for PdFault {
    type Err = PdFaultError;

    fn from_str(text: &str) -> Result<PdFault, PdFaultError> {
        let spec = FaultSpec::new(text, &["ms"], "no-reply:every=10")?;
        let ms = spec.number("ms", "milliseconds")?;
        let kind = match spec.kind {
            "slow" => PdFaultKind::Slow { ms: ms.unwrap_or(300) },
            "no-reply" => PdFaultKind::NoReply,
            "busy" => PdFaultKind::Busy,
            "bad-crc" => PdFaultKind::BadCrc,
            "sc-drop" => PdFaultKind::ScDrop,
            other => return Err(spec.error("kind", format!("expected {KINDS}, got {other:?}"))),
        };
        spec.only("ms", matches!(kind, PdFaultKind::Slow { .. }), "slow")?;
        Ok(PdFault { kind, trigger: spec.required_trigger("command")? })
    }
}

impl fmt::Display for PdFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind.name(), self.trigger)?;
        if let PdFaultKind::Slow { ms } = self.kind {
            write!(f, ",ms={ms}")?;
        }
        Ok(())
    }
}

/// What happens to one command (each fault independently: several can hit the same command).
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mishaps {
    pub delay_ms: Option<u64>,
    pub no_reply: bool,
    pub busy: bool,
    pub bad_crc: bool,
    pub sc_drop: bool,
}

/// The PD's [`Trigger::rng`] stream: apart from the line's (1 and 2) and the ZFM module's (3).
const STREAM: u64 = 4;

/// The faults of one PD.
#[derive(Debug)]
pub struct PdFaults {
    faults: Vec<PdFault>,
    count: u64,
    rng: ChaCha8Rng,
}

impl PdFaults {
    pub fn new(faults: Vec<PdFault>, seed: u64) -> PdFaults {
        PdFaults { faults, count: 0, rng: Trigger::rng(seed, STREAM) }
    }

    /// Decides the mishaps of the next command.
    pub fn for_next_command(&mut self) -> Mishaps {
        let n = self.count;
        self.count += 1;
        let mut m = Mishaps::default();
        for f in &self.faults {
            if !f.trigger.fires(n, &mut self.rng) {
                continue;
            }
            tracing::info!(fault = f.kind.name(), command = n, "PD fault injected");
            match f.kind {
                PdFaultKind::Slow { ms } => m.delay_ms = Some(ms),
                PdFaultKind::NoReply => m.no_reply = true,
                PdFaultKind::Busy => m.busy = true,
                PdFaultKind::BadCrc => m.bad_crc = true,
                PdFaultKind::ScDrop => m.sc_drop = true,
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn specs_parse_print_and_refuse() {
        for s in ["slow:every=3,ms=250", "no-reply:at=4", "busy:p=0.5", "bad-crc:every=7", "sc-drop:at=10"] {
            assert_eq!(s.parse::<PdFault>().unwrap().to_string(), s);
        }
        assert!("smoke:p=1".parse::<PdFault>().unwrap_err().to_string().contains("slow, no-reply"));
        assert!("busy".parse::<PdFault>().unwrap_err().to_string().contains("trigger"));
        assert!("busy:at=1,ms=3".parse::<PdFault>().unwrap_err().to_string().contains("only slow"));
    }

    /// Errors are the shared grammar's: the spec, the part, what was expected, counted in commands.
    #[test]
    fn errors_name_the_part() {
        for (spec, part, expected) in [
            ("no-reply:at=x", "at", "an offset in commands"),
            ("busy:every=0", "every", "a number of commands, at least 1"),
            ("slow:every=2,ms=2,ms=3", "ms", "each key once"),
            ("bad-crc:at=1,p=0.5", "p", "exactly one trigger"),
        ] {
            let e = spec.parse::<PdFault>().expect_err(spec);
            assert_eq!((e.spec.as_str(), e.part.as_str()), (spec, part), "{e}");
            assert!(e.expected.contains(expected), "{spec}: {e}");
        }
    }

    fn fault() -> impl Strategy<Value = PdFault> {
        let trigger = prop_oneof![
            (0.0f64..=1.0).prop_map(Trigger::Probability),
            any::<u64>().prop_map(Trigger::At),
            (1u64..).prop_map(Trigger::Every),
        ];
        let kind = prop_oneof![
            any::<u64>().prop_map(|ms| PdFaultKind::Slow { ms }),
            Just(PdFaultKind::NoReply),
            Just(PdFaultKind::Busy),
            Just(PdFaultKind::BadCrc),
            Just(PdFaultKind::ScDrop),
        ];
        (kind, trigger).prop_map(|(kind, trigger)| PdFault { kind, trigger })
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC{0,40}", t in "[a-z-]{0,10}(:[a-z=0-9.,]{0,30})?") {
            let _ = s.parse::<PdFault>();
            let _ = t.parse::<PdFault>();
        }

        #[test]
        fn specs_round_trip(f in fault()) {
            prop_assert_eq!(f.to_string().parse::<PdFault>().unwrap(), f);
        }
    }

    #[test]
    fn triggers_count_commands() {
        let mut f = PdFaults::new(vec!["no-reply:at=1".parse().unwrap(), "busy:every=2".parse().unwrap()], 0);
        let seen: Vec<Mishaps> = (0..4).map(|_| f.for_next_command()).collect();
        assert!(!seen[0].no_reply && seen[1].no_reply && !seen[2].no_reply);
        assert_eq!(seen.iter().map(|m| m.busy).collect::<Vec<_>>(), [false, true, false, true]);
    }
}
