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
//! Triggers: `p=<probability>`, `at=<n>` (0-based, once), `every=<n>`, drawn from a ChaCha stream of the seed.

use std::fmt;
use std::str::FromStr;

use khil_link::fault::Trigger;
use rand::{RngExt, SeedableRng};
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

/// A PD fault spec that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid PD fault {spec:?}: {part}: {expected} (example: no-reply:every=10)")]
pub struct PdFaultError {
    pub spec: String,
    pub part: String,
    pub expected: String,
}

impl FromStr for PdFault {
    type Err = PdFaultError;

    fn from_str(spec: &str) -> Result<PdFault, PdFaultError> {
        let err =
            |part: &str, expected: String| PdFaultError { spec: spec.to_owned(), part: part.to_owned(), expected };
        let (name, args) = spec.split_once(':').unwrap_or((spec, ""));
        let (mut trigger, mut ms) = (None, None);
        for arg in args.split(',').filter(|a| !a.is_empty()) {
            let (key, value) = arg.split_once('=').ok_or_else(|| err(arg, "expected key=value".into()))?;
            let int = || value.parse::<u64>().map_err(|_| err(key, format!("expected a whole number, got {value:?}")));
            let t = match key {
                "p" => Trigger::Probability(
                    value
                        .parse()
                        .ok()
                        .filter(|p: &f64| (0.0..=1.0).contains(p))
                        .ok_or_else(|| err(key, format!("expected a probability from 0 to 1, got {value:?}")))?,
                ),
                "at" => Trigger::At(int()?),
                "every" => match int()? {
                    0 => return Err(err(key, "expected at least 1".into())),
                    n => Trigger::Every(n),
                },
                "ms" => {
                    ms = Some(int()?);
                    continue;
                }
                _ => return Err(err(key, "expected one of p, at, every, ms".into())),
            };
            if trigger.replace(t).is_some() {
                return Err(err(key, "expected exactly one trigger of p, at and every".into()));
            }
        }
        let kind = match name {
            "slow" => PdFaultKind::Slow { ms: ms.unwrap_or(300) },
            "no-reply" => PdFaultKind::NoReply,
            "busy" => PdFaultKind::Busy,
            "bad-crc" => PdFaultKind::BadCrc,
            "sc-drop" => PdFaultKind::ScDrop,
            _ => return Err(err("kind", format!("expected {KINDS}, got {name:?}"))),
        };
        if ms.is_some() && !matches!(kind, PdFaultKind::Slow { .. }) {
            return Err(err("ms", "only slow takes ms".into()));
        }
        let trigger =
            trigger.ok_or_else(|| err("trigger", "expected one of p=<probability>, at=<n>, every=<n>".into()))?;
        Ok(PdFault { kind, trigger })
    }
}

impl fmt::Display for PdFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.kind.name())?;
        match self.trigger {
            Trigger::Probability(p) => write!(f, "p={p}")?,
            Trigger::At(n) => write!(f, "at={n}")?,
            Trigger::Every(n) => write!(f, "every={n}")?,
        }
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

/// The faults of one PD.
#[derive(Debug)]
pub struct PdFaults {
    faults: Vec<PdFault>,
    count: u64,
    rng: ChaCha8Rng,
}

impl PdFaults {
    pub fn new(faults: Vec<PdFault>, seed: u64) -> PdFaults {
        PdFaults { faults, count: 0, rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6b68_696c_7064_6674) }
    }

    /// Decides the mishaps of the next command.
    pub fn for_next_command(&mut self) -> Mishaps {
        let n = self.count;
        self.count += 1;
        let mut m = Mishaps::default();
        for f in &self.faults {
            let hit = match f.trigger {
                Trigger::Probability(p) => self.rng.random_bool(p),
                Trigger::At(at) => n == at,
                Trigger::Every(e) => (n + 1).is_multiple_of(e),
            };
            if !hit {
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

    #[test]
    fn specs_parse_print_and_refuse() {
        for s in ["slow:every=3,ms=250", "no-reply:at=4", "busy:p=0.5", "bad-crc:every=7", "sc-drop:at=10"] {
            assert_eq!(s.parse::<PdFault>().unwrap().to_string(), s);
        }
        assert!("smoke:p=1".parse::<PdFault>().unwrap_err().to_string().contains("slow, no-reply"));
        assert!("busy".parse::<PdFault>().unwrap_err().to_string().contains("trigger"));
        assert!("busy:at=1,ms=3".parse::<PdFault>().unwrap_err().to_string().contains("only slow"));
    }

    #[test]
    fn triggers_count_commands() {
        let mut f = PdFaults::new(vec!["no-reply:at=1".parse().unwrap(), "busy:every=2".parse().unwrap()], 0);
        let seen: Vec<Mishaps> = (0..4).map(|_| f.for_next_command()).collect();
        assert!(!seen[0].no_reply && seen[1].no_reply && !seen[2].no_reply);
        assert_eq!(seen.iter().map(|m| m.busy).collect::<Vec<_>>(), [false, true, false, true]);
    }
}
