//! The chip's faults for a lower tester (BSI TR-03105 part 5 style: does the inspection system notice?). A spec
//! is khil's one fault grammar ([`khil_link::fault::FaultSpec`]): `<kind>[:<trigger>][,<key>=<value>]`, the trigger
//! `p=<probability>`, `at=<n>` (0-based, once) or `every=<n>`, counted in the unit the table names. Probabilistic
//! triggers draw from the seed's ChaCha stream 5 (the line's are 1-2, the ZFM module's 3, an OSDP PD's 4), one
//! draw per counted unit per probabilistic fault, so a seed replays the same faults.
//!
//! Chip faults (what the chip does while it is read):
//!
//! | kind         | unit counted                    | what the chip does (and what a real chip would have done)         |
//! |--------------|---------------------------------|--------------------------------------------------------------------|
//! | `wrong-mac`  | protected responses             | DO8E of the response has one bit wrong (a chip whose MAC unit or key store is corrupt) |
//! | `bad-ssc`    | protected responses             | the send sequence counter skips one before the response is protected (a firmware counter bug): the response's MAC is over SSC+1 and the session is out of step from then on |
//! | `eof-9000`   | reads reaching a file's end     | the read comes back short with 9000: where the file ends before Ne the 6282 warning is missing, where it ends at Ne the last byte is missing too (ISO 7816-4: a short answer is 6282) |
//! | `eof-6b00`   | reads reaching a file's end     | 6B00 (offset beyond the end) for a read whose offset is inside the file: the chip's end of file comes early |
//! | `slow`       | commands                        | the answer comes `ms` late (default 6000: past ISO 14443-4's longest frame waiting time, 4949 ms, so the reader gives up) |
//! | `mute`       | READ BINARY commands            | from that read on the chip answers nothing until it is reset (a chip that browned out or crashed mid-read) |
//! | `clone`      | - (no trigger)                  | the chip's private keys are not the ones DG14 and DG15 publish (the data groups copied onto another chip): chip and active authentication fail |
//! | `eac-open`   | - (no trigger)                  | DG3 and DG4 are readable under secure messaging without terminal authentication (the EAC access rule is missing) |
//! | `ta-no-expiry` | - (no trigger)                | terminal authentication accepts expired DV and terminal certificates (the chip does not hold them against its current date) |
//!
//! The two EAC faults are defects of the chip's own access control, which no inspection system notices (it reads
//! what it is allowed to): the `emrtd-chip` conformance class catches them, and [`CATALOGUE`], the faults an
//! inspection system must notice, leaves them out.
//!
//! Document faults (made at issue time, in the files themselves; no trigger):
//!
//! | kind          | what the document holds                                                           |
//! |---------------|------------------------------------------------------------------------------------|
//! | `corrupt-dg`  | data group `dg` (default 2) changed after EF.SOD was signed: its hash mismatches  |
//! | `unknown-ds`  | EF.SOD signed by a Document Signer of a CSCA no trust store holds                 |
//! | `expired-ds`  | EF.SOD signed by a Document Signer whose certificate has expired                  |
//! | `revoked-ds`  | EF.SOD signed by a Document Signer its CSCA's CRL revokes                         |
//!
//! A [`FaultList`] holds both; [`FaultList::apply_to_document`] makes the document ones, the chip
//! ([`crate::chip::PassportChip::with_faults`]) runs the others.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use khil_link::fault::{FaultSpec, FaultSpecError, Trigger};
use rand_chacha::ChaCha8Rng;

use crate::issue::{DocumentFiles, IssueError};
use crate::pki::{Signer, State, TestPki};

/// Every kind, for error messages: an unknown name is refused with this list.
pub const KINDS: &str = "wrong-mac, bad-ssc, eof-9000, eof-6b00, slow, mute, clone, eac-open, ta-no-expiry, corrupt-dg, \
unknown-ds, expired-ds or revoked-ds";

/// The chip's EAC access-control faults, with an example spec and what they do: for the chip conformance class.
pub const EAC_FAULTS: &[(&str, &str)] = &[
    ("eac-open", "DG3 and DG4 are readable under secure messaging without terminal authentication"),
    ("ta-no-expiry", "terminal authentication accepts expired DV and terminal certificates"),
];

/// Each fault with an example spec and what it does, in the order of the module's tables: for `--help` texts and
/// the inspection-system conformance class (a terminal under test against every fault).
pub const CATALOGUE: &[(&str, &str)] = &[
    ("wrong-mac:at=3", "a protected response's MAC (DO8E) has one bit wrong"),
    ("bad-ssc:at=3", "the send sequence counter skips one before a response is protected"),
    ("eof-9000:at=0", "a read reaching a file's end comes back short with 9000 instead of 6282"),
    ("eof-6b00:at=0", "a read reaching a file's end is refused with 6B00 although its offset is inside the file"),
    ("slow:at=5,ms=6000", "an answer comes later than a contactless reader waits (4949 ms)"),
    ("mute:at=4", "the chip stops answering at a READ BINARY, until it is reset"),
    ("clone", "the chip's private keys are not those DG14 and DG15 publish: chip and active authentication fail"),
    ("corrupt-dg:dg=2", "a data group changed after EF.SOD was signed: its hash mismatches"),
    ("unknown-ds", "EF.SOD signed by a Document Signer of a CSCA no trust store holds"),
    ("expired-ds", "EF.SOD signed by an expired Document Signer"),
    ("revoked-ds", "EF.SOD signed by a revoked Document Signer"),
];

/// The default delay of `slow`: beyond the 4949 ms a contactless reader waits at most (ISO 14443-4, FWI 14).
pub const DEFAULT_SLOW_MS: u64 = 6000;

/// The data group `corrupt-dg` changes when none is named: the face (DG2), which every passport has.
pub const DEFAULT_CORRUPT_DG: u8 = 2;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChipFaultKind {
    WrongMac,
    BadSsc,
    Eof9000,
    Eof6B00,
    Slow { ms: u64 },
    Mute,
    Clone,
    EacOpen,
    TaNoExpiry,
    CorruptDg { dg: u8 },
    UnknownDs,
    ExpiredDs,
    RevokedDs,
}

impl ChipFaultKind {
    /// The name in a spec.
    pub const fn name(self) -> &'static str {
        match self {
            ChipFaultKind::WrongMac => "wrong-mac",
            ChipFaultKind::BadSsc => "bad-ssc",
            ChipFaultKind::Eof9000 => "eof-9000",
            ChipFaultKind::Eof6B00 => "eof-6b00",
            ChipFaultKind::Slow { .. } => "slow",
            ChipFaultKind::Mute => "mute",
            ChipFaultKind::Clone => "clone",
            ChipFaultKind::EacOpen => "eac-open",
            ChipFaultKind::TaNoExpiry => "ta-no-expiry",
            ChipFaultKind::CorruptDg { .. } => "corrupt-dg",
            ChipFaultKind::UnknownDs => "unknown-ds",
            ChipFaultKind::ExpiredDs => "expired-ds",
            ChipFaultKind::RevokedDs => "revoked-ds",
        }
    }

    /// What the trigger counts; `None`: the fault is a property of the document or chip, with no trigger.
    const fn unit(self) -> Option<&'static str> {
        match self {
            ChipFaultKind::WrongMac | ChipFaultKind::BadSsc => Some("protected response"),
            ChipFaultKind::Eof9000 | ChipFaultKind::Eof6B00 => Some("read reaching a file's end"),
            ChipFaultKind::Slow { .. } => Some("command"),
            ChipFaultKind::Mute => Some("READ BINARY command"),
            _ => None,
        }
    }

    /// Made at issue time, in the document's files.
    pub const fn is_document_fault(self) -> bool {
        matches!(
            self,
            ChipFaultKind::CorruptDg { .. }
                | ChipFaultKind::UnknownDs
                | ChipFaultKind::ExpiredDs
                | ChipFaultKind::RevokedDs
        )
    }

    /// The Document Signer this fault signs EF.SOD with, if it is one of those.
    const fn signer(self) -> Option<Signer> {
        match self {
            ChipFaultKind::UnknownDs => Some(Signer::UnknownCsca),
            ChipFaultKind::ExpiredDs => Some(Signer::Expired),
            ChipFaultKind::RevokedDs => Some(Signer::Revoked),
            _ => None,
        }
    }
}

/// One fault: its kind and, for the chip's runtime faults, its trigger.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChipFault {
    pub kind: ChipFaultKind,
    /// `None` exactly for the faults without a unit (clone and the document faults).
    pub trigger: Option<Trigger>,
}

impl FromStr for ChipFault {
    type Err = FaultSpecError;

    fn from_str(text: &str) -> Result<ChipFault, FaultSpecError> {
        let spec = FaultSpec::new(text, &["ms", "dg"], "wrong-mac:at=3")?;
        let ms = spec.number("ms", "milliseconds")?;
        let dg = spec.number("dg", "a data group number from 1 to 16")?;
        let kind = match spec.kind {
            "wrong-mac" => ChipFaultKind::WrongMac,
            "bad-ssc" => ChipFaultKind::BadSsc,
            "eof-9000" => ChipFaultKind::Eof9000,
            "eof-6b00" => ChipFaultKind::Eof6B00,
            "slow" => ChipFaultKind::Slow { ms: ms.unwrap_or(DEFAULT_SLOW_MS) },
            "mute" => ChipFaultKind::Mute,
            "clone" => ChipFaultKind::Clone,
            "eac-open" => ChipFaultKind::EacOpen,
            "ta-no-expiry" => ChipFaultKind::TaNoExpiry,
            "corrupt-dg" => {
                let dg = match dg {
                    None => DEFAULT_CORRUPT_DG,
                    Some(n @ 1..=16) => n as u8,
                    Some(n) => return Err(spec.error("dg", format!("expected a data group from 1 to 16, got {n}"))),
                };
                ChipFaultKind::CorruptDg { dg }
            }
            "unknown-ds" => ChipFaultKind::UnknownDs,
            "expired-ds" => ChipFaultKind::ExpiredDs,
            "revoked-ds" => ChipFaultKind::RevokedDs,
            other => return Err(spec.error("kind", format!("expected one of {KINDS}, got {other:?}"))),
        };
        spec.only("ms", matches!(kind, ChipFaultKind::Slow { .. }), "slow")?;
        spec.only("dg", matches!(kind, ChipFaultKind::CorruptDg { .. }), "corrupt-dg")?;
        let trigger = match kind.unit() {
            Some(unit) => Some(spec.required_trigger(unit)?),
            None => match spec.trigger("unit")? {
                None => None,
                Some(_) => return Err(spec.error("trigger", format!("{} takes no trigger", kind.name()))),
            },
        };
        Ok(ChipFault { kind, trigger })
    }
}

impl fmt::Display for ChipFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        let mut sep = ':';
        if let Some(t) = self.trigger {
            write!(f, ":{t}")?;
            sep = ',';
        }
        match self.kind {
            ChipFaultKind::Slow { ms } => write!(f, "{sep}ms={ms}"),
            ChipFaultKind::CorruptDg { dg } => write!(f, "{sep}dg={dg}"),
            _ => Ok(()),
        }
    }
}

/// The faults of one document and its chip, as a configuration names them (`sim:passport?fault=revoked-ds`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultList(pub Vec<ChipFault>);

impl FaultList {
    /// Parses each spec. At most one Document Signer fault (one EF.SOD has one signer).
    pub fn parse<S: AsRef<str>>(specs: &[S]) -> Result<FaultList, FaultSpecError> {
        let mut faults: Vec<ChipFault> = Vec::with_capacity(specs.len());
        for text in specs {
            let text = text.as_ref();
            let fault: ChipFault = text.parse()?;
            if fault.kind.signer().is_some()
                && let Some(other) = faults.iter().find(|f| f.kind.signer().is_some())
            {
                return Err(FaultSpecError {
                    spec: text.to_owned(),
                    part: "kind".into(),
                    expected: format!(
                        "at most one of unknown-ds, expired-ds and revoked-ds (already {})",
                        other.kind.name()
                    ),
                    example: "revoked-ds",
                });
            }
            faults.push(fault);
        }
        Ok(FaultList(faults))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The faults the chip runs while it is read (everything but the document faults).
    pub fn chip_faults(&self) -> impl Iterator<Item = &ChipFault> {
        self.0.iter().filter(|f| !f.kind.is_document_fault())
    }

    /// Whether the chip's keys are not the document's (`clone`).
    pub fn is_clone(&self) -> bool {
        self.has(ChipFaultKind::Clone)
    }

    /// Whether the list holds a fault of `kind` (the faults without a trigger: `clone`, `eac-open`, ...).
    pub fn has(&self, kind: ChipFaultKind) -> bool {
        self.0.iter().any(|f| f.kind == kind)
    }

    /// Makes the document faults in `document` of `state`: EF.SOD signed again by the faulty Document Signer
    /// first, then the data groups corrupted (so their hashes mismatch the signed ones). The chip faults are left
    /// to the chip.
    pub fn apply_to_document(
        &self,
        document: &mut DocumentFiles,
        pki: &TestPki,
        state: State,
    ) -> Result<(), DocumentFaultError> {
        if let Some(signer) = self.0.iter().find_map(|f| f.kind.signer()) {
            document.resign(pki, state, signer)?;
        }
        for fault in &self.0 {
            if let ChipFaultKind::CorruptDg { dg } = fault.kind
                && !document.corrupt_data_group(dg)
            {
                return Err(DocumentFaultError::NoDataGroup { fault: fault.to_string(), dg });
            }
        }
        Ok(())
    }
}

impl fmt::Display for FaultList {
    /// The specs separated by `;` (a spec holds commas).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, fault) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{fault}")?;
        }
        Ok(())
    }
}

/// Why the document faults could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DocumentFaultError {
    #[error("signing EF.SOD again: {0}")]
    Issue(#[from] IssueError),
    #[error("{fault}: the document has no DG{dg} to corrupt")]
    NoDataGroup { fault: String, dg: u8 },
}

/// The chip's [`Trigger::rng`] stream.
const STREAM: u64 = 5;

/// Units the chip's triggers count, each its own counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    ProtectedResponse,
    EofRead,
    Command,
    ReadBinary,
}

impl Unit {
    fn of(kind: ChipFaultKind) -> Option<Unit> {
        match kind {
            ChipFaultKind::WrongMac | ChipFaultKind::BadSsc => Some(Unit::ProtectedResponse),
            ChipFaultKind::Eof9000 | ChipFaultKind::Eof6B00 => Some(Unit::EofRead),
            ChipFaultKind::Slow { .. } => Some(Unit::Command),
            ChipFaultKind::Mute => Some(Unit::ReadBinary),
            _ => None,
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

/// What happens to one protected response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ResponseFaults {
    pub wrong_mac: bool,
    pub bad_ssc: bool,
}

/// What a read reaching the end of its file answers instead of the right thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EofFault {
    /// Short, with 9000.
    Success,
    /// 6B00.
    BeyondEnd,
}

/// The chip's runtime faults: the triggers, their counters and draws, and whether the chip has gone mute.
#[derive(Debug)]
pub struct ChipFaults {
    faults: Vec<ChipFault>,
    counts: [u64; 4],
    rng: ChaCha8Rng,
    mute: bool,
}

impl ChipFaults {
    pub fn new(list: &FaultList, seed: u64) -> ChipFaults {
        ChipFaults {
            faults: list.chip_faults().filter(|f| f.trigger.is_some()).copied().collect(),
            counts: [0; 4],
            rng: Trigger::rng(seed, STREAM),
            mute: false,
        }
    }

    /// Counts one `unit` and says which of its faults fire, by kind.
    fn fire(&mut self, unit: Unit) -> Vec<ChipFaultKind> {
        let n = self.counts[unit.index()];
        self.counts[unit.index()] += 1;
        let mut fired = Vec::new();
        for f in &self.faults {
            let (Some(trigger), true) = (f.trigger, Unit::of(f.kind) == Some(unit)) else { continue };
            if trigger.fires(n, &mut self.rng) {
                tracing::info!(fault = f.kind.name(), n, "chip fault injected");
                fired.push(f.kind);
            }
        }
        fired
    }

    /// A power cycle: a mute chip answers again (the counters go on).
    pub fn reset(&mut self) {
        self.mute = false;
    }

    pub fn is_mute(&self) -> bool {
        self.mute
    }

    /// A command arrived: how late its answer comes.
    pub fn on_command(&mut self) -> Option<Duration> {
        self.fire(Unit::Command).into_iter().find_map(|k| match k {
            ChipFaultKind::Slow { ms } => Some(Duration::from_millis(ms)),
            _ => None,
        })
    }

    /// A READ BINARY arrived: whether the chip goes mute now.
    pub fn on_read_binary(&mut self) -> bool {
        if self.fire(Unit::ReadBinary).contains(&ChipFaultKind::Mute) {
            self.mute = true;
        }
        self.mute
    }

    /// A read reaches the end of its file: what goes wrong, if anything.
    pub fn on_eof_read(&mut self) -> Option<EofFault> {
        self.fire(Unit::EofRead).into_iter().find_map(|k| match k {
            ChipFaultKind::Eof9000 => Some(EofFault::Success),
            ChipFaultKind::Eof6B00 => Some(EofFault::BeyondEnd),
            _ => None,
        })
    }

    /// A response is about to be protected.
    pub fn on_protected_response(&mut self) -> ResponseFaults {
        let fired = self.fire(Unit::ProtectedResponse);
        ResponseFaults {
            wrong_mac: fired.contains(&ChipFaultKind::WrongMac),
            bad_ssc: fired.contains(&ChipFaultKind::BadSsc),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn specs_parse_and_print() {
        for s in [
            "wrong-mac:at=3",
            "bad-ssc:every=5",
            "eof-9000:at=0",
            "eof-6b00:p=0.5",
            "slow:every=1,ms=6000",
            "mute:at=4",
            "clone",
            "corrupt-dg:dg=2",
            "unknown-ds",
            "expired-ds",
            "revoked-ds",
        ] {
            assert_eq!(s.parse::<ChipFault>().unwrap().to_string(), s);
        }
        assert_eq!("slow:at=1".parse::<ChipFault>().unwrap().kind, ChipFaultKind::Slow { ms: DEFAULT_SLOW_MS });
        assert_eq!("corrupt-dg".parse::<ChipFault>().unwrap().kind, ChipFaultKind::CorruptDg { dg: 2 });
    }

    #[test]
    fn the_catalogue_names_every_kind_and_parses() {
        let names: Vec<&str> =
            CATALOGUE.iter().map(|(spec, _)| spec.parse::<ChipFault>().unwrap().kind.name()).collect();
        let kinds: Vec<&str> = KINDS.split([',', ' ']).filter(|k| !k.is_empty() && *k != "or").collect();
        let eac: Vec<&str> =
            EAC_FAULTS.iter().map(|(spec, _)| spec.parse::<ChipFault>().unwrap().kind.name()).collect();
        // KINDS: the catalogue's in order, the EAC ones after clone.
        let mut expected = names.clone();
        expected.splice(7..7, eac);
        assert_eq!(expected, kinds);
        let all: Vec<&str> = CATALOGUE.iter().map(|(spec, _)| *spec).collect();
        let list = FaultList::parse(&all[..all.len() - 2]).unwrap();
        let again: Vec<String> = list.to_string().split(';').map(str::to_owned).collect();
        assert_eq!(FaultList::parse(&again).unwrap(), list, "Display round-trips");
        assert_eq!(list.chip_faults().count(), 7);
    }

    #[test]
    fn errors_name_the_part() {
        for (spec, part, expected) in [
            ("smoke:p=1", "kind", KINDS),
            ("wrong-mac", "trigger", "expected one of p=<probability>"),
            ("revoked-ds:at=1", "trigger", "revoked-ds takes no trigger"),
            ("mute:at=x", "at", "an offset in READ BINARY commands"),
            ("corrupt-dg:dg=17", "dg", "from 1 to 16"),
            ("clone:ms=3", "ms", "only slow takes ms"),
            ("slow:at=1,colour=red", "colour", "expected one of p, at, every, ms, dg"),
        ] {
            let e = spec.parse::<ChipFault>().expect_err(spec);
            assert_eq!((e.spec.as_str(), e.part.as_str()), (spec, part), "{e}");
            assert!(e.expected.contains(expected), "{spec}: {e}");
        }
        let e = FaultList::parse(&["expired-ds", "revoked-ds"]).unwrap_err();
        assert!(e.expected.contains("already expired-ds"), "{e}");
    }

    #[test]
    fn triggers_count_their_own_units() {
        let list = FaultList::parse(&["mute:at=2", "wrong-mac:every=2", "slow:at=0,ms=10", "clone"]).unwrap();
        assert!(list.is_clone());
        let mut f = ChipFaults::new(&list, 1);
        assert_eq!(f.on_command(), Some(Duration::from_millis(10)));
        assert_eq!(f.on_command(), None);
        assert_eq!((f.on_read_binary(), f.on_read_binary(), f.on_read_binary()), (false, false, true));
        assert!(f.is_mute());
        f.reset();
        assert!(!f.on_read_binary(), "at= fires once; a reset chip answers again");
        let macs: Vec<bool> = (0..4).map(|_| f.on_protected_response().wrong_mac).collect();
        assert_eq!(macs, [false, true, false, true]);
    }

    fn fault() -> impl Strategy<Value = ChipFault> {
        let trigger = prop_oneof![
            (0.0f64..=1.0).prop_map(Trigger::Probability),
            any::<u64>().prop_map(Trigger::At),
            (1u64..).prop_map(Trigger::Every),
        ];
        let triggered = prop_oneof![
            Just(ChipFaultKind::WrongMac),
            Just(ChipFaultKind::BadSsc),
            Just(ChipFaultKind::Eof9000),
            Just(ChipFaultKind::Eof6B00),
            any::<u64>().prop_map(|ms| ChipFaultKind::Slow { ms }),
            Just(ChipFaultKind::Mute),
        ];
        let plain = prop_oneof![
            Just(ChipFaultKind::Clone),
            (1u8..=16).prop_map(|dg| ChipFaultKind::CorruptDg { dg }),
            Just(ChipFaultKind::UnknownDs),
            Just(ChipFaultKind::ExpiredDs),
            Just(ChipFaultKind::RevokedDs),
        ];
        prop_oneof![
            (triggered, trigger).prop_map(|(kind, t)| ChipFault { kind, trigger: Some(t) }),
            plain.prop_map(|kind| ChipFault { kind, trigger: None }),
        ]
    }

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}", t in "[a-z0-9-]{0,12}(:[a-z=0-9.,]{0,30})?") {
            let _ = s.parse::<ChipFault>();
            let _ = t.parse::<ChipFault>();
            let _ = FaultList::parse(&[s.as_str(), t.as_str()]);
        }

        #[test]
        fn unknown_names_are_refused_with_the_known_ones(name in "[a-z-]{1,12}", rest in "(:at=[0-9]{1,3})?") {
            let spec = format!("{name}{rest}");
            prop_assume!(!KINDS.split([',', ' ']).any(|k| k == name));
            let e = spec.parse::<ChipFault>().unwrap_err();
            prop_assert_eq!(e.part.as_str(), "kind");
            prop_assert!(e.expected.contains(KINDS), "{}", e);
        }

        #[test]
        fn specs_round_trip(f in fault()) {
            prop_assert_eq!(f.to_string().parse::<ChipFault>().unwrap(), f);
        }
    }
}
