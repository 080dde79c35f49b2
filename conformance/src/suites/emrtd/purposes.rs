//! The `emrtd-chip` purposes: ISO 7816-4 commands, BAC, secure messaging, PACE, LDS and passive, chip and active
//! authentication. The command-level units build their APDUs from `khil-mrtd`'s pure modules; the
//! whole-document units run `khil_mrtd::inspect::inspect` (the ICAO 9303-11 sequence) and judge the checks it
//! names.

use khil_apdu::{Command, StatusWord};
use khil_mrtd::bac::{self, BacKeys};
use khil_mrtd::files::{ReadBinary, ReadTarget, SelectCommand};
use khil_mrtd::inspect::{InspectOptions, Inspection, inspect};
use khil_mrtd::lds::{EfCom, FileId};
use khil_mrtd::pa::Status;

use super::{EmrtdDut, purpose, when};
use crate::purpose::{Body, Ctx, Stop};

/// An AID no eMRTD chip holds (a proprietary RID no one registered for this).
const UNKNOWN_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x09, 0x99, 0x99, 0x01];
/// An instruction ISO 7816-4 does not define and 9303 does not use.
const UNKNOWN_INS: u8 = 0x5A;

fn sw_is(ctx: &mut Ctx, what: &str, expected: StatusWord, got: StatusWord) -> Result<(), Stop> {
    ctx.check(what, expected, got, got == expected)
}

/// Which of the IXIT's terminal certificates the inspection presents for EAC.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Eac {
    /// `[ixit] terminal`, when given.
    Valid,
    /// `[ixit] terminal_expired`.
    Expired,
}

/// Runs the inspection system on the chip (its own reset, PACE when `pace`, BAC otherwise; terminal authentication
/// with the terminal certificates `eac` names) and puts each check it made into the notes.
async fn inspection(dut: &mut EmrtdDut, ctx: &mut Ctx, pace: bool, eac: Eac) -> Result<Inspection, Stop> {
    let terminal = match eac {
        Eac::Valid => dut.terminals.valid.clone(),
        Eac::Expired => Some(
            dut.terminals
                .expired
                .clone()
                .ok_or_else(|| Stop::Error("no [ixit] terminal_expired credentials".into()))?,
        ),
    };
    let options = InspectOptions {
        mrz: dut.ics.ixit.mrz.clone(),
        trust: (*dut.trust).clone(),
        date: der::DateTime::from_system_time(std::time::SystemTime::now())
            .map_err(|e| Stop::Error(format!("today's date: {e}")))?,
        pace,
        can: None,
        read_size: khil_mrtd::files::SM_SHORT_READ,
        terminal,
    };
    let mut rng = dut.rng.clone();
    let started = std::time::Instant::now();
    let result = inspect(dut.apdu.as_mut(), &options, &mut rng)
        .await
        .map_err(|e| Stop::Error(format!("the inspection could not go on: {e}")))?;
    dut.sm = None;
    ctx.timing("inspection", started.elapsed());
    if let Some(a) = &result.access {
        ctx.note(format!("opened with {a}"));
    }
    for c in &result.checks {
        ctx.note(c.to_string());
    }
    Ok(result)
}

/// The checks of an inspection whose names `pick` selects, each recorded as a check of this purpose (passed,
/// failed, or not checked: inconclusive); none at all is a failure (`expected_some` says what was looked for).
fn judge(ctx: &mut Ctx, result: &Inspection, pick: impl Fn(&str) -> bool, expected_some: &str) -> Result<(), Stop> {
    let mut any = false;
    for c in result.checks.iter().filter(|c| pick(&c.name)) {
        any = true;
        match &c.status {
            Status::Passed(why) => ctx.check(c.name.clone(), "passed", format!("passed ({why})"), true)?,
            Status::Failed(why) => {
                let _ = ctx.check(c.name.clone(), "passed", format!("failed: {why}"), false);
            }
            Status::NotChecked(why) => ctx.inconclusive(c.name.clone(), "passed", format!("not checked: {why}")),
        }
    }
    if any { Ok(()) } else { Err(ctx.fail(expected_some, "made by the inspection", "not made (see the notes)")) }
}

/// A plain READ BINARY by short EF identifier: EF.COM's first bytes.
fn plain_read_com() -> Command {
    ReadBinary { target: ReadTarget::Short(FileId::Com.sfi()), offset: 0, ne: 4 }.to_command().expect("a short read")
}

/// EF.COM selected under secure messaging; its total length from its first bytes.
async fn com_length(dut: &mut EmrtdDut, ctx: &mut Ctx) -> Result<usize, Stop> {
    dut.open_bac(ctx).await?;
    let r = dut.select_file(ctx, FileId::Com.fid(), "SELECT EF.COM").await?;
    sw_is(ctx, "SELECT EF.COM", StatusWord::SUCCESS, r.sw)?;
    let r = dut.read(ctx, 0, 4, "READ BINARY of EF.COM's first 4 bytes").await?;
    sw_is(ctx, "READ BINARY of EF.COM's first 4 bytes", StatusWord::SUCCESS, r.sw)?;
    let d = r.data();
    let total = match d {
        [0x60, n, ..] if *n < 0x80 => 2 + usize::from(*n),
        [0x60, 0x81, n, ..] => 3 + usize::from(*n),
        [0x60, 0x82, a, b] => 4 + usize::from(u16::from_be_bytes([*a, *b])),
        _ => return Err(ctx.fail("EF.COM's first bytes", "tag 60 and a length", format!("{} bytes", d.len()))),
    };
    ctx.note(format!("EF.COM is {total} bytes long"));
    Ok(total)
}

#[allow(clippy::too_many_lines)] // A list of purposes, each short.
pub(super) fn bodies() -> Vec<Body<EmrtdDut>> {
    vec![
        purpose! {
            id: "EMRTD-ISO-001", when: when::always,
            |dut, ctx| {
                let atr = dut.reset(ctx).await?;
                ctx.note(format!("historical bytes: {}", super::historical_bytes(&atr).map_or(0, <[u8]>::len)));
                let r = dut.select_application(ctx).await?;
                sw_is(ctx, "SELECT of the eMRTD application A0000002471001", StatusWord::SUCCESS, r.sw)
            }
        },
        purpose! {
            id: "EMRTD-ISO-002", when: when::always,
            |dut, ctx| {
                dut.reset(ctx).await?;
                let c = Command::new(0x00, 0xA4, 0x04, 0x0C).with_data(UNKNOWN_AID.to_vec()).expect("7 bytes");
                let r = dut.plain(ctx, &c).await?;
                sw_is(ctx, "SELECT of an AID the chip does not hold", StatusWord::FILE_NOT_FOUND, r.sw)?;
                let r = dut.select_application(ctx).await?;
                sw_is(ctx, "SELECT of the eMRTD application afterwards", StatusWord::SUCCESS, r.sw)
            }
        },
        purpose! {
            id: "EMRTD-ISO-003", when: when::always,
            |dut, ctx| {
                dut.reset(ctx).await?;
                let _ = dut.select_application(ctx).await?;
                let r = dut.plain(ctx, &Command::new(0x00, UNKNOWN_INS, 0x00, 0x00)).await?;
                sw_is(ctx, "an instruction the chip does not know (INS 5A)", StatusWord::INS_NOT_SUPPORTED, r.sw)
            }
        },
        purpose! {
            id: "EMRTD-ISO-004", when: when::always,
            |dut, ctx| {
                dut.reset(ctx).await?;
                let r = dut.select_application(ctx).await?;
                sw_is(ctx, "SELECT of the eMRTD application", StatusWord::SUCCESS, r.sw)?;
                let r = dut.plain(ctx, &plain_read_com()).await?;
                ctx.check(
                    "a plain READ BINARY of EF.COM before access control",
                    StatusWord::SECURITY_STATUS_NOT_SATISFIED,
                    format!("{}{}", r.sw, if r.data().is_empty() { String::new() } else {
                        format!(" with {} data bytes", r.data().len())
                    }),
                    r.sw == StatusWord::SECURITY_STATUS_NOT_SATISFIED && r.data().is_empty(),
                )
            }
        },
        purpose! {
            id: "EMRTD-ISO-005", when: when::always,
            |dut, ctx| {
                let total = com_length(dut, ctx).await?;
                let r = dut.read(ctx, total, 1, "READ BINARY at EF.COM's length").await?;
                let _ = sw_is(ctx, "READ BINARY with its offset at the end of EF.COM", StatusWord::WRONG_P1_P2, r.sw);
                dut.open_bac(ctx).await?;
                let _ = dut.select_file(ctx, FileId::Com.fid(), "SELECT EF.COM").await?;
                let r = dut.read(ctx, total - 2, 8, "READ BINARY of 8 bytes from 2 before EF.COM's end").await?;
                ctx.check(
                    "READ BINARY of 8 bytes from 2 before the end of EF.COM",
                    "the 2 bytes left, with 6282 (end of file reached before Ne bytes)",
                    format!("{} bytes, {}", r.data().len(), r.sw),
                    r.data().len() == 2 && r.sw == StatusWord::END_OF_FILE,
                )
            }
        },
        purpose! {
            id: "EMRTD-BAC-001", when: when::always,
            |dut, ctx| {
                dut.reset(ctx).await?;
                let _ = dut.select_application(ctx).await?;
                let a = dut.plain(ctx, &bac::get_challenge()).await?;
                let b = dut.plain(ctx, &bac::get_challenge()).await?;
                for (n, r) in [(1, &a), (2, &b)] {
                    ctx.check(
                        format!("GET CHALLENGE {n}"),
                        "8 bytes, 9000",
                        format!("{} bytes, {}", r.data().len(), r.sw),
                        r.data().len() == 8 && r.sw == StatusWord::SUCCESS,
                    )?;
                }
                ctx.check("the two challenges", "differ", if a.data() == b.data() { "equal" } else { "differ" },
                    a.data() != b.data())
            }
        },
        purpose! {
            id: "EMRTD-BAC-002", when: when::always,
            |dut, ctx| {
                dut.reset(ctx).await?;
                let _ = dut.select_application(ctx).await?;
                // The right MRZ information with the document number's first character changed: a wrong password
                // of the right form.
                let mut wrong = dut.ics.mrz_information.clone().into_bytes();
                wrong[0] = if wrong[0] == b'X' { b'Y' } else { b'X' };
                let keys = BacKeys::from_mrz_information(&String::from_utf8_lossy(&wrong));
                let challenge = dut.plain(ctx, &bac::get_challenge()).await?;
                let rnd_ic = bac::challenge_from(&challenge)
                    .map_err(|e| ctx.fail("GET CHALLENGE", "8 bytes, 9000", e))?;
                let terminal = bac::BacTerminal::new(keys, rnd_ic, dut.random(), dut.random());
                let r = dut.plain(ctx, &terminal.external_authenticate()).await?;
                ctx.check(
                    "EXTERNAL AUTHENTICATE with a wrong MRZ's keys",
                    "6300 (authentication failed), no data",
                    format!("{} data bytes, {}", r.data().len(), r.sw),
                    r.sw == StatusWord(0x6300) && r.data().is_empty(),
                )
            }
        },
        purpose! {
            id: "EMRTD-BAC-003", when: when::always,
            |dut, ctx| {
                dut.reset(ctx).await?;
                let r = dut.select_application(ctx).await?;
                sw_is(ctx, "SELECT of the eMRTD application", StatusWord::SUCCESS, r.sw)?;
                let keys = BacKeys::from_mrz_information(&dut.ics.mrz_information);
                let opened = dut.bac(ctx, keys).await?;
                ctx.check(
                    "EXTERNAL AUTHENTICATE with the MRZ's keys",
                    "9000; EIC || MIC verifies and echoes RND.IC and RND.IFD",
                    opened.as_ref().map_or_else(Clone::clone, |_| "as expected".to_owned()),
                    opened.is_ok(),
                )
            }
        },
        purpose! {
            id: "EMRTD-SM-001", when: when::always,
            |dut, ctx| {
                dut.open_bac(ctx).await?;
                let r = dut.select_file(ctx, FileId::Com.fid(), "protected SELECT EF.COM").await?;
                sw_is(ctx, "protected SELECT EF.COM: status in DO99", StatusWord::SUCCESS, r.sw)?;
                let r = dut.read(ctx, 0, 4, "protected READ BINARY of EF.COM").await?;
                ctx.check(
                    "protected READ BINARY of EF.COM: MAC verifies, DO87 opens, DO99 status",
                    "4 bytes, 9000",
                    format!("{} bytes, {}", r.data().len(), r.sw),
                    r.data().len() == 4 && r.sw == StatusWord::SUCCESS,
                )
            }
        },
        purpose! {
            id: "EMRTD-SM-002", when: when::always,
            |dut, ctx| {
                dut.open_bac(ctx).await?;
                let sm = dut.sm.as_mut().ok_or_else(|| Stop::Error("secure messaging is not open".into()))?;
                let mut bad = sm
                    .protect(&SelectCommand::file(FileId::Com.fid()).to_command())
                    .map_err(|e| Stop::Error(e.to_string()))?
                    .encode();
                // The command MAC (DO8E) is the last 8 bytes before Le: flip a bit of its last byte.
                let at = bad.len() - 2;
                bad[at] ^= 0x01;
                let bad = Command::parse(&bad).map_err(|e| Stop::Error(e.to_string()))?;
                let r = dut.plain(ctx, &bad).await?;
                ctx.check(
                    "a protected SELECT with a wrong MAC",
                    "6988 (incorrect secure messaging data objects), plain: no data",
                    format!("{} data bytes, {}", r.data().len(), r.sw),
                    r.sw == StatusWord::SM_OBJECTS_INCORRECT && r.data().is_empty(),
                )?;
                // The chip must have ended the session: the next command, correctly protected under the counter
                // that would follow, is refused in plain.
                let next = dut.sm.as_mut().expect("open").protect(&plain_read_com()).map_err(|e| Stop::Error(e.to_string()))?;
                dut.sm = None;
                let r = dut.plain(ctx, &next).await?;
                ctx.check(
                    "the next protected command",
                    "a plain error status (the session ended), no data",
                    format!("{} data bytes, {}", r.data().len(), r.sw),
                    r.data().is_empty() && !r.sw.is_normal() && !r.sw.is_warning(),
                )
            }
        },
        purpose! {
            id: "EMRTD-SM-003", when: when::always,
            |dut, ctx| {
                dut.open_bac(ctx).await?;
                let r = dut.select_file(ctx, FileId::Com.fid(), "protected SELECT EF.COM").await?;
                sw_is(ctx, "protected SELECT EF.COM", StatusWord::SUCCESS, r.sw)?;
                // Each response is checked under the next counter value: 6 in a row verify only if the chip's
                // counter moves by exactly one per command and one per response (ICAO 9303-11 9.8.2).
                for n in 0..6 {
                    let r = dut.read(ctx, n, 1, "protected READ BINARY").await?;
                    ctx.check(format!("protected READ BINARY {} under the next counter", n + 1), "1 byte, 9000",
                        format!("{} bytes, {}", r.data().len(), r.sw), r.data().len() == 1 && r.sw == StatusWord::SUCCESS)?;
                }
                Ok(())
            }
        },
        purpose! {
            id: "EMRTD-PACE-001", when: when::pace,
            |dut, ctx| {
                let result = inspection(dut, ctx, true, Eac::Valid).await?;
                judge(ctx, &result, |n| n == "access control: PACE", "access control: PACE")?;
                if let Some(curve) = dut.ics.caps.pace_curve.clone() {
                    let access = result.access.clone().unwrap_or_default();
                    let want = if curve == "P-256" { "P256" } else { "Brainpool" };
                    ctx.check("PACE domain parameters", &curve, &access, access.contains(want))?;
                }
                Ok(())
            }
        },
        purpose! {
            id: "EMRTD-LDS-001", when: when::always,
            |dut, ctx| {
                let result = inspection(dut, ctx, false, Eac::Valid).await?;
                judge(ctx, &result, |n| n == "EF.COM", "EF.COM")?;
                if let Some(com) = result.file(FileId::Com).and_then(|b| EfCom::parse(b).ok()) {
                    for dg in com.data_groups.iter().filter(|&&dg| dg != 3) {
                        let read = result.files_read.iter().any(|(f, _)| *f == FileId::Dg(*dg));
                        ctx.check(format!("DG{dg} listed in EF.COM"), "read", if read { "read" } else { "not read" }, read)?;
                    }
                }
                let failed_read = result.checks.iter().find(|c| c.name.starts_with("reading") && c.status.failed());
                ctx.check("every listed file reads to its end", "no read failed",
                    failed_read.map_or_else(|| "none failed".to_owned(), ToString::to_string), failed_read.is_none())
            }
        },
        purpose! {
            id: "EMRTD-LDS-002", when: when::always,
            |dut, ctx| {
                let result = inspection(dut, ctx, false, Eac::Valid).await?;
                judge(ctx, &result, |n| n == "MRZ on the page = DG1", "MRZ on the page = DG1")
            }
        },
        purpose! {
            id: "EMRTD-PA-001", when: when::always,
            |dut, ctx| {
                let result = inspection(dut, ctx, false, Eac::Valid).await?;
                // Only the data groups read: an EAC-protected one (DG3) is not read without terminal
                // authentication, so its hash cannot be compared.
                let read: Vec<String> = result
                    .files_read
                    .iter()
                    .filter_map(|(f, _)| if let FileId::Dg(n) = f { Some(format!("passive authentication: DG{n} hash")) } else { None })
                    .collect();
                judge(ctx, &result, |n| read.iter().any(|r| r == n), "data group hashes")
            }
        },
        purpose! {
            id: "EMRTD-PA-002", when: when::always,
            |dut, ctx| {
                let result = inspection(dut, ctx, false, Eac::Valid).await?;
                judge(
                    ctx,
                    &result,
                    |n| n.starts_with("passive authentication: ") && !n.ends_with(" hash"),
                    "EF.SOD signature and Document Signer checks",
                )
            }
        },
        purpose! {
            id: "EMRTD-CA-001", when: when::chip_authentication,
            |dut, ctx| {
                let result = inspection(dut, ctx, false, Eac::Valid).await?;
                judge(ctx, &result, |n| n == "chip authentication", "chip authentication")
            }
        },
        purpose! {
            id: "EMRTD-TA-001", when: when::terminal_authentication,
            |dut, ctx| {
                dut.open_bac(ctx).await?;
                let r = dut.select_file(ctx, FileId::Dg(3).fid(), "SELECT DG3").await?;
                sw_is(ctx, "SELECT DG3 under secure messaging", StatusWord::SUCCESS, r.sw)?;
                // TR-03110-3 B.8: an EAC-protected data group before terminal authentication: 6982, and no data.
                let r = dut.read(ctx, 0, 8, "READ BINARY of DG3").await?;
                ctx.check(
                    "READ BINARY of DG3 before terminal authentication",
                    "6982 with no data",
                    format!("{} with {} data bytes", r.sw, r.data().len()),
                    r.sw == StatusWord::SECURITY_STATUS_NOT_SATISFIED && r.data().is_empty(),
                )
            }
        },
        purpose! {
            id: "EMRTD-TA-002", when: when::terminal_authentication,
            |dut, ctx| {
                let result = inspection(dut, ctx, false, Eac::Valid).await?;
                judge(
                    ctx,
                    &result,
                    |n| n == "terminal authentication" || n == "passive authentication: DG3 hash",
                    "terminal authentication and DG3's hash",
                )
            }
        },
        purpose! {
            id: "EMRTD-TA-003", when: when::expired_terminal,
            |dut, ctx| {
                let result = inspection(dut, ctx, false, Eac::Expired).await?;
                let ta = result.checks.iter().find(|c| c.name == "terminal authentication");
                let observed = ta.map_or_else(|| "no terminal authentication".to_owned(), ToString::to_string);
                ctx.check(
                    "terminal authentication with an expired terminal certificate",
                    "refused by the chip",
                    observed,
                    ta.is_some_and(|c| c.status.failed()),
                )?;
                let dg3 = result.files_read.iter().any(|(f, _)| *f == FileId::Dg(3));
                ctx.check("DG3 after the refusal", "not readable", if dg3 { "read" } else { "not read" }, !dg3)
            }
        },
        purpose! {
            id: "EMRTD-AA-001", when: when::active_authentication,
            |dut, ctx| {
                let result = inspection(dut, ctx, false, Eac::Valid).await?;
                judge(ctx, &result, |n| n == "active authentication", "active authentication")
            }
        },
    ]
}
