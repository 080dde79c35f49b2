//! The `inspection-system` purposes: each presents one specimen (genuine, or with one of the passport
//! simulator's faults) to the terminal under test and judges its verdict, and, when the terminal names its checks,
//! which check it failed.

use std::time::Instant;

use khil_mrtd::pa::CheckName;

use super::terminal::{CheckState, NamedCheck, TerminalReport, TerminalVerdict, is_no_answer, is_secure_messaging};
use super::{InspectionDut, Specimen, SpecimenPace, purpose, when};
use crate::purpose::{Body, Ctx, Stop, listed};

/// What the failed check of a faulty specimen must be, in khil's inspection's vocabulary.
#[derive(Clone, Copy)]
struct Expect {
    /// In words, for the evidence.
    what: &'static str,
    matches: fn(&NamedCheck) -> bool,
    /// The terminal's saying it could not read the document, naming no check, is the right finding (the chip
    /// did not answer).
    unread_is_right: bool,
}

fn pa_check(c: &NamedCheck, check: CheckName) -> bool {
    c.name == format!("passive authentication: {check}")
}

/// What kind of failure the terminal's reason describes, in a word (its reason itself is never kept).
fn kind(c: &NamedCheck) -> Option<&'static str> {
    if is_secure_messaging(&c.why) {
        Some("secure messaging")
    } else if c.why.contains("6282") {
        Some("6282 missing")
    } else if c.why.contains("6B00") {
        Some("6B00")
    } else if is_no_answer(&c.why) {
        Some("no answer from the chip")
    } else {
        None
    }
}

fn shown(c: &NamedCheck) -> String {
    match kind(c).filter(|_| c.state == CheckState::Failed) {
        Some(k) => format!("{} ({k})", c.name),
        None => c.name.clone(),
    }
}

/// Presents `specimen` to the terminal; the evidence gets the specimen, how the terminal opened the chip and
/// each check it names with its state.
async fn present(dut: &mut InspectionDut, ctx: &mut Ctx, specimen: &Specimen) -> Result<TerminalReport, Stop> {
    let faults = if specimen.faults.is_empty() { "none".to_owned() } else { specimen.faults.join("; ") };
    ctx.note(format!(
        "specimen: population document {}, PACE offered: {}, chip faults: {faults}",
        specimen.document,
        specimen.pace.name()
    ));
    let chip = dut.tester.chip(specimen).map_err(|e| Stop::Error(format!("the lower tester's specimen: {e}")))?;
    let mrz = dut.tester.mrz(specimen.document).map_err(|e| Stop::Error(format!("the specimen's page: {e}")))?;
    let started = Instant::now();
    let report = dut
        .terminal
        .present(chip, &mrz, dut.ics.reader_timeout())
        .await
        .map_err(|e| Stop::Error(format!("presenting the specimen: {e}")))?;
    ctx.timing("the terminal's reading", started.elapsed());
    if let Some(a) = &report.access {
        ctx.note(format!("the terminal opened the chip with {a}"));
    }
    for c in report.checks.iter().flatten() {
        ctx.note(format!("the terminal's check {}: {}", shown(c), c.state));
    }
    Ok(report)
}

/// A genuine specimen offering `pace`: the terminal must accept it (and, naming its checks, open it the way
/// the ICS says it does).
async fn genuine(dut: &mut InspectionDut, ctx: &mut Ctx, pace: SpecimenPace) -> Result<(), Stop> {
    let specimen = Specimen { document: dut.ics.ixit.document, pace, faults: Vec::new() };
    let report = present(dut, ctx, &specimen).await?;
    if let TerminalVerdict::Unread(why) = &report.verdict {
        return Err(Stop::Error(format!("the terminal could not read the genuine document: {why}")));
    }
    ctx.check(
        "the terminal's verdict on the genuine document",
        "accepted",
        &report.verdict,
        report.verdict == TerminalVerdict::Accepted,
    )?;
    if !dut.ics.caps.names_checks {
        return Ok(());
    }
    let access = report.access.clone().unwrap_or_else(|| "not said".into());
    let (expected, ok) = match pace {
        SpecimenPace::None => ("BAC", access == "BAC"),
        _ if !dut.ics.caps.pace => ("BAC (ICS pace = false)", access == "BAC"),
        SpecimenPace::Brainpool => {
            ("PACE on brainpoolP256r1", access.starts_with("PACE") && access.contains("Brainpool"))
        }
        SpecimenPace::P256 => ("PACE on P-256", access.starts_with("PACE") && access.contains("P256")),
    };
    ctx.check("how the terminal opened the chip", expected, &access, ok)
}

/// A specimen with `faults`: the terminal must not accept it; naming its checks, it must fail the one `expect`
/// describes.
async fn faulty(dut: &mut InspectionDut, ctx: &mut Ctx, faults: &[String], expect: Expect) -> Result<(), Stop> {
    let specimen = Specimen { document: dut.ics.ixit.document, pace: SpecimenPace::Brainpool, faults: faults.to_vec() };
    let report = present(dut, ctx, &specimen).await?;
    ctx.check(
        "the terminal's verdict on the faulty document",
        "not accepted (rejected, or it could not read it)",
        &report.verdict,
        report.verdict != TerminalVerdict::Accepted,
    )?;
    if !dut.ics.caps.names_checks {
        return Ok(());
    }
    let what = "the check the terminal names as failed";
    let Some(checks) = &report.checks else {
        if expect.unread_is_right && matches!(report.verdict, TerminalVerdict::Unread(_)) {
            return ctx.check(what, expect.what, "it could not read the document; no check named", true);
        }
        ctx.inconclusive(what, expect.what, "the terminal named no checks");
        return Ok(());
    };
    let failed: Vec<&NamedCheck> = checks.iter().filter(|c| c.state == CheckState::Failed).collect();
    let right = failed.iter().any(|c| (expect.matches)(c));
    let names: Vec<String> = failed.iter().map(|c| shown(c)).collect();
    ctx.check(what, expect.what, format!("failed: {}", listed(&names)), right)
}

fn specs(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

const SECURE_MESSAGING: Expect = Expect {
    what: "a check failed in secure messaging",
    matches: |c| is_secure_messaging(&c.why),
    unread_is_right: false,
};

const NO_ANSWER: Expect = Expect {
    what: "a check failed as the chip did not answer",
    matches: |c| is_no_answer(&c.why),
    unread_is_right: true,
};

#[allow(clippy::too_many_lines)] // A list of purposes, each short.
pub(super) fn bodies() -> Vec<Body<InspectionDut>> {
    vec![
        purpose! {
            id: "INSP-GEN-001", when: when::always,
            |dut, ctx| genuine(dut, ctx, SpecimenPace::Brainpool).await
        },
        purpose! {
            id: "INSP-GEN-002", when: when::always,
            |dut, ctx| genuine(dut, ctx, SpecimenPace::P256).await
        },
        purpose! {
            id: "INSP-GEN-003", when: when::always,
            |dut, ctx| genuine(dut, ctx, SpecimenPace::None).await
        },
        purpose! {
            id: "INSP-SM-001", when: when::always,
            |dut, ctx| faulty(dut, ctx, &specs(&["wrong-mac:at=3"]), SECURE_MESSAGING).await
        },
        purpose! {
            id: "INSP-SM-002", when: when::always,
            |dut, ctx| faulty(dut, ctx, &specs(&["bad-ssc:at=3"]), SECURE_MESSAGING).await
        },
        purpose! {
            id: "INSP-EOF-001", when: when::always,
            |dut, ctx| faulty(dut, ctx, &specs(&["eof-9000:every=1"]), Expect {
                what: "a read failed for a short answer without 6282",
                matches: |c| c.why.contains("6282"),
                unread_is_right: false,
            }).await
        },
        purpose! {
            id: "INSP-EOF-002", when: when::always,
            |dut, ctx| faulty(dut, ctx, &specs(&["eof-6b00:every=1"]), Expect {
                what: "a read failed for 6B00 inside the file",
                matches: |c| c.why.contains("6B00"),
                unread_is_right: false,
            }).await
        },
        purpose! {
            id: "INSP-TIME-001", when: when::always,
            |dut, ctx| {
                let late = dut.ics.ixit.reader_timeout_ms.saturating_mul(2);
                faulty(dut, ctx, &[format!("slow:at=8,ms={late}")], NO_ANSWER).await
            }
        },
        purpose! {
            id: "INSP-TIME-002", when: when::always,
            |dut, ctx| faulty(dut, ctx, &specs(&["mute:at=3"]), NO_ANSWER).await
        },
        purpose! {
            id: "INSP-CA-001", when: when::authenticates_the_chip,
            |dut, ctx| faulty(dut, ctx, &specs(&["clone"]), Expect {
                what: "chip authentication or active authentication",
                matches: |c| c.name == "chip authentication" || c.name == "active authentication",
                unread_is_right: false,
            }).await
        },
        purpose! {
            id: "INSP-PA-001", when: when::always,
            |dut, ctx| faulty(dut, ctx, &specs(&["corrupt-dg:dg=2"]), Expect {
                what: "passive authentication: DG2 hash",
                matches: |c| pa_check(c, CheckName::DataGroupHash(2)),
                unread_is_right: false,
            }).await
        },
        purpose! {
            id: "INSP-PA-002", when: when::always,
            |dut, ctx| faulty(dut, ctx, &specs(&["unknown-ds"]), Expect {
                what: "passive authentication: Document Signer certificate issued by a trusted CSCA",
                matches: |c| pa_check(c, CheckName::DsIssuedByCsca),
                unread_is_right: false,
            }).await
        },
        purpose! {
            id: "INSP-PA-003", when: when::always,
            |dut, ctx| faulty(dut, ctx, &specs(&["expired-ds"]), Expect {
                what: "passive authentication: Document Signer certificate validity",
                matches: |c| pa_check(c, CheckName::DsValidity),
                unread_is_right: false,
            }).await
        },
        purpose! {
            id: "INSP-PA-004", when: when::always,
            |dut, ctx| faulty(dut, ctx, &specs(&["revoked-ds"]), Expect {
                what: "passive authentication: Document Signer not revoked",
                matches: |c| pa_check(c, CheckName::DsNotRevoked),
                unread_is_right: false,
            }).await
        },
    ]
}
