//! Reader faults: a document reader that gets the protocol wrong in one way each, for the conformance suite to
//! catch (a bad cable is [`khil_link::fault`]). A spec is `<kind>[:<trigger>][,light=<white|ir|uv>]`, in the grammar
//! of every khil fault ([`khil_link::fault::FaultSpec`]); without a trigger the fault acts every time.
//!
//! | kind               | effect                                                                            |
//! |--------------------|-----------------------------------------------------------------------------------|
//! | `rte-unpadded`     | RTE lines sent without their `_` padding                                          |
//! | `rte-bad-bcc`      | the RTE block's BCC is wrong                                                      |
//! | `rte-bad-length`   | the RTE block's length word is wrong (one more than the block)                    |
//! | `rte-line-order`   | the MRZ lines in reverse order (the bottom line is not line 3)                    |
//! | `no-present`       | no DocumentPresent when a document is placed                                      |
//! | `no-removed`       | no DocumentRemoved when it is taken away                                          |
//! | `wrong-size`       | captures smaller than the scanning window DeviceInfo declares                     |
//! | `wrong-dpi`        | captures labelled with another resolution than DeviceInfo declares               |
//! | `wrong-light`      | captures labelled with another light than the one asked for                       |
//! | `refuse-light`     | a declared light (`light=`, default uv) answered with Error 0005                 |
//! | `image-when-empty` | a capture on an empty glass answered with an image, not Error 0004               |
//! | `wrong-seq`        | answers carry the request's sequence number plus one                              |
//! | `silent-unknown`   | no answer (instead of Error 0002) to a message type it does not know              |
//!
//! Triggers count reads for the `rte-` kinds, placements and removals for `no-present` and `no-removed`, and
//! requests for the others. Probabilistic triggers draw from the seed's ChaCha stream 6.

use std::fmt;
use std::str::FromStr;

use khil_docreader::Light;
use khil_link::fault::{FaultSpec, FaultSpecError, Trigger};
use rand_chacha::ChaCha8Rng;

/// One way of getting the protocol wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReaderFaultKind {
    RteUnpadded,
    RteBadBcc,
    RteBadLength,
    RteLineOrder,
    NoPresent,
    NoRemoved,
    WrongSize,
    WrongDpi,
    WrongLight,
    RefuseLight(Light),
    ImageWhenEmpty,
    WrongSeq,
    SilentUnknown,
}

/// What a fault's trigger counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// An MRZ read sent on the RTE channel.
    Read,
    /// A document placed or taken away.
    TrayChange,
    /// A request on khil's channel.
    Request,
}

impl ReaderFaultKind {
    pub const fn name(self) -> &'static str {
        match self {
            ReaderFaultKind::RteUnpadded => "rte-unpadded",
            ReaderFaultKind::RteBadBcc => "rte-bad-bcc",
            ReaderFaultKind::RteBadLength => "rte-bad-length",
            ReaderFaultKind::RteLineOrder => "rte-line-order",
            ReaderFaultKind::NoPresent => "no-present",
            ReaderFaultKind::NoRemoved => "no-removed",
            ReaderFaultKind::WrongSize => "wrong-size",
            ReaderFaultKind::WrongDpi => "wrong-dpi",
            ReaderFaultKind::WrongLight => "wrong-light",
            ReaderFaultKind::RefuseLight(_) => "refuse-light",
            ReaderFaultKind::ImageWhenEmpty => "image-when-empty",
            ReaderFaultKind::WrongSeq => "wrong-seq",
            ReaderFaultKind::SilentUnknown => "silent-unknown",
        }
    }

    pub const fn unit(self) -> Unit {
        match self {
            ReaderFaultKind::RteUnpadded
            | ReaderFaultKind::RteBadBcc
            | ReaderFaultKind::RteBadLength
            | ReaderFaultKind::RteLineOrder => Unit::Read,
            ReaderFaultKind::NoPresent | ReaderFaultKind::NoRemoved => Unit::TrayChange,
            _ => Unit::Request,
        }
    }
}

/// The kinds, for messages (the registry's `--fault` help and errors).
pub const KINDS: &str = "rte-unpadded, rte-bad-bcc, rte-bad-length, rte-line-order, no-present, no-removed, \
wrong-size, wrong-dpi, wrong-light, refuse-light, image-when-empty, wrong-seq or silent-unknown";

/// One reader fault: what and when (`None`: every time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReaderFault {
    pub kind: ReaderFaultKind,
    pub trigger: Option<Trigger>,
}

impl FromStr for ReaderFault {
    type Err = FaultSpecError;

    fn from_str(text: &str) -> Result<ReaderFault, FaultSpecError> {
        let spec = FaultSpec::new(text, &["light"], "refuse-light:light=ir")?;
        let kind = match spec.kind {
            "rte-unpadded" => ReaderFaultKind::RteUnpadded,
            "rte-bad-bcc" => ReaderFaultKind::RteBadBcc,
            "rte-bad-length" => ReaderFaultKind::RteBadLength,
            "rte-line-order" => ReaderFaultKind::RteLineOrder,
            "no-present" => ReaderFaultKind::NoPresent,
            "no-removed" => ReaderFaultKind::NoRemoved,
            "wrong-size" => ReaderFaultKind::WrongSize,
            "wrong-dpi" => ReaderFaultKind::WrongDpi,
            "wrong-light" => ReaderFaultKind::WrongLight,
            "refuse-light" => {
                let light = match spec.value("light").unwrap_or("uv") {
                    "white" => Light::White,
                    "ir" => Light::Infrared,
                    "uv" => Light::Ultraviolet,
                    other => return Err(spec.error("light", format!("expected white, ir or uv, got {other:?}"))),
                };
                ReaderFaultKind::RefuseLight(light)
            }
            "image-when-empty" => ReaderFaultKind::ImageWhenEmpty,
            "wrong-seq" => ReaderFaultKind::WrongSeq,
            "silent-unknown" => ReaderFaultKind::SilentUnknown,
            other => return Err(spec.error("kind", format!("expected {KINDS}, got {other:?}"))),
        };
        spec.only("light", matches!(kind, ReaderFaultKind::RefuseLight(_)), "refuse-light")?;
        let unit = match kind.unit() {
            Unit::Read => "read",
            Unit::TrayChange => "placement",
            Unit::Request => "request",
        };
        Ok(ReaderFault { kind, trigger: spec.trigger(unit)? })
    }
}

impl fmt::Display for ReaderFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        let mut args = Vec::new();
        if let Some(t) = self.trigger {
            args.push(t.to_string());
        }
        if let ReaderFaultKind::RefuseLight(light) = self.kind {
            args.push(format!("light={}", light_name(light)));
        }
        if !args.is_empty() {
            write!(f, ":{}", args.join(","))?;
        }
        Ok(())
    }
}

fn light_name(light: Light) -> &'static str {
    match light {
        Light::White => "white",
        Light::Infrared => "ir",
        _ => "uv",
    }
}

/// The faults of one reader and their counters, one per unit.
#[derive(Debug)]
pub struct ReaderFaults {
    faults: Vec<ReaderFault>,
    counts: [u64; 3],
    rng: ChaCha8Rng,
}

/// The reader's [`Trigger::rng`] stream: apart from the line's (1 and 2), the ZFM module's (3), the PD's (4).
const STREAM: u64 = 6;

impl ReaderFaults {
    pub fn new(faults: Vec<ReaderFault>, seed: u64) -> ReaderFaults {
        ReaderFaults { faults, counts: [0; 3], rng: Trigger::rng(seed, STREAM) }
    }

    /// No faults.
    pub fn none() -> ReaderFaults {
        ReaderFaults::new(Vec::new(), 0)
    }

    /// The faults that fire on the next unit of `unit` (counted whether any fires or not).
    pub fn next(&mut self, unit: Unit) -> Vec<ReaderFaultKind> {
        let slot = unit as usize;
        let n = self.counts[slot];
        self.counts[slot] += 1;
        let mut fired = Vec::new();
        for f in self.faults.iter().filter(|f| f.kind.unit() == unit) {
            if f.trigger.is_none_or(|t| t.fires(n, &mut self.rng)) {
                tracing::info!(fault = f.kind.name(), unit = n, "reader fault injected");
                fired.push(f.kind);
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_print_and_refuse() {
        for s in ["rte-bad-bcc", "wrong-seq:at=2", "refuse-light:light=ir", "refuse-light:every=2,light=uv"] {
            assert_eq!(s.parse::<ReaderFault>().unwrap().to_string(), s);
        }
        assert_eq!(
            "refuse-light".parse::<ReaderFault>().unwrap().kind,
            ReaderFaultKind::RefuseLight(Light::Ultraviolet)
        );
        let e = "smoke".parse::<ReaderFault>().unwrap_err().to_string();
        assert!(e.contains("rte-unpadded") && e.contains("\"smoke\""), "{e}");
        let e = "wrong-seq:light=ir".parse::<ReaderFault>().unwrap_err().to_string();
        assert!(e.contains("only refuse-light takes light"), "{e}");
        let e = "refuse-light:light=red".parse::<ReaderFault>().unwrap_err().to_string();
        assert!(e.contains("expected white, ir or uv"), "{e}");
    }

    #[test]
    fn triggers_count_their_own_units() {
        let faults = vec!["wrong-seq:at=1".parse().unwrap(), "rte-bad-bcc".parse().unwrap()];
        let mut f = ReaderFaults::new(faults, 0);
        assert!(f.next(Unit::Request).is_empty());
        assert_eq!(f.next(Unit::Read), [ReaderFaultKind::RteBadBcc]);
        assert_eq!(f.next(Unit::Request), [ReaderFaultKind::WrongSeq]);
        assert!(f.next(Unit::Request).is_empty());
        assert!(f.next(Unit::TrayChange).is_empty());
    }
}
