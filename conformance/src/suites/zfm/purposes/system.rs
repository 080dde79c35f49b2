//! System instructions: password, parameters, random numbers, notepad, reset, LED, sensor check, versions.

use std::time::Duration;

use khil_fingerprint::{Command, ConfirmationCode as Cc, Reply};

use super::purpose;
use crate::purpose::{Ctx, Purpose, Stop};
use crate::suites::zfm::{ZfmDut, when};

/// SoftRst, its ack, the handshake byte when declared, and a module that answers again.
pub(super) async fn soft_reset(dut: &mut ZfmDut, ctx: &mut Ctx) -> Result<(), Stop> {
    dut.ok(ctx, &Command::SoftRst).await?;
    let dropped = dut.drain(ctx, Duration::from_millis(300)).await?;
    if dut.ics.caps.handshake_byte {
        let _ = ctx.check("handshake byte after SoftRst", "1 byte (0x55)", dropped, dropped == 1);
    }
    Ok(())
}

/// The 32 bytes of notepad page `page`.
async fn read_notepad(dut: &mut ZfmDut, ctx: &mut Ctx, page: u8) -> Result<[u8; 32], Stop> {
    match dut.ok(ctx, &Command::ReadNotepad { page }).await? {
        Reply::Notepad { data, .. } => Ok(data),
        other => Err(ctx.fail("ReadNotepad reply", "32 notepad bytes", format!("{other:?}"))),
    }
}

#[allow(clippy::too_many_lines)] // A list of purposes, each short: splitting it would only scatter them.
pub(super) fn purposes() -> Vec<Purpose<ZfmDut>> {
    vec![
        purpose! {
            id: "ZFM-SYS-001", group: "system",
            title: "VfyPwd accepts the password and refuses another",
            clause: "R503 manual: VfyPwd (13); confirmation code 13",
            when: when::always, condition: "always",
            expected: "00 for the IXIT password, 13 for any other",
            |dut, ctx| {
                let pw = dut.ics.ixit.password;
                dut.expect(ctx, "VfyPwd with the right password", &Command::VfyPwd(pw), Cc::Ok).await?;
                dut.expect(ctx, "VfyPwd with a wrong password", &Command::VfyPwd(pw ^ 0x5A5A_0001), Cc::WrongPassword).await?;
                dut.expect(ctx, "VfyPwd with the right password again", &Command::VfyPwd(pw), Cc::Ok).await?;
                Ok(())
            }
        },
        purpose! {
            id: "ZFM-SYS-002", group: "system",
            title: "A new password is required after the next power-up",
            clause: "R503 manual: SetPwd (12) takes effect at power-up; confirmation code 21",
            when: when::soft_reset, condition: "ics.soft_reset",
            expected: "after SetPwd and SoftRst: 21 before VfyPwd, 13 for the old password, 00 for the new; restored afterwards",
            |dut, ctx| {
                let old = dut.ics.ixit.password;
                let new = old ^ 0x1357_9BDF;
                dut.ok(ctx, &Command::SetPwd(new)).await?;
                super::system::soft_reset(dut, ctx).await?;
                let locked = dut.call(ctx, &Command::TemplateNum).await?;
                let _ = ctx.check("TemplateNum before VfyPwd", "21 (password must be verified)", locked.cc(), locked.cc() == Cc::PasswordMustBeVerified);
                let _ = dut.expect(ctx, "VfyPwd with the old password", &Command::VfyPwd(old), Cc::WrongPassword).await;
                dut.expect(ctx, "VfyPwd with the new password", &Command::VfyPwd(new), Cc::Ok).await?;
                dut.ok(ctx, &Command::SetPwd(old)).await?;
                super::system::soft_reset(dut, ctx).await?;
                dut.expect(ctx, "the old password works again", &Command::VfyPwd(old), Cc::Ok).await?;
                Ok(())
            }
        },
        purpose! {
            id: "ZFM-SYS-003", group: "system",
            title: "SetSysPara refuses unknown registers and out-of-range values",
            clause: "R503 manual: SetSysPara (0E); confirmation codes 1A, 1B",
            when: when::always, condition: "always",
            expected: "register 9: 1A; security level 6 and packet size code 4: refused; parameters unchanged",
            |dut, ctx| {
                let before = dut.params(ctx).await?;
                dut.expect(ctx, "register 9", &Command::SetSysPara { param: 9, value: 1 }, Cc::InvalidRegister).await?;
                for (what, param, value) in [("security level 6", 5, 6), ("packet size code 4", 6, 4)] {
                    let r = dut.call(ctx, &Command::SetSysPara { param, value }).await?;
                    let _ = ctx.check(what, "1B or 1A (refused)", r.cc(), matches!(r.cc(), Cc::BadRegisterConfiguration | Cc::InvalidRegister));
                }
                let after = dut.params(ctx).await?;
                ctx.check_eq("parameters unchanged", (before.security_level, before.packet_size), (after.security_level, after.packet_size))
            }
        },
        purpose! {
            id: "ZFM-SYS-004", group: "system",
            title: "The security level can be set and read back",
            clause: "R503 manual: SetSysPara (0E) parameter 5",
            when: when::always, condition: "always",
            expected: "each level 1-5 is reported back; the original level is restored",
            |dut, ctx| {
                let original = dut.params(ctx).await?.security_level;
                for level in 1..=5u8 {
                    dut.ok(ctx, &Command::SetSysPara { param: 5, value: level }).await?;
                    let seen = dut.params(ctx).await?.security_level;
                    let _ = ctx.check(format!("security level {level}"), level, seen, seen == u16::from(level));
                }
                dut.ok(ctx, &Command::SetSysPara { param: 5, value: original as u8 }).await?;
                Ok(())
            }
        },
        purpose! {
            id: "ZFM-SYS-005", group: "system",
            title: "GetRandomCode returns varying numbers",
            clause: "R503 manual: GetRandomCode (14)",
            when: when::always, condition: "always",
            expected: "00 and at least 7 distinct values in 8 calls",
            |dut, ctx| {
                let mut values = std::collections::BTreeSet::new();
                for _ in 0..8 {
                    if let Reply::RandomCode { value, .. } = dut.ok(ctx, &Command::GetRandomCode).await? {
                        values.insert(value);
                    }
                }
                ctx.check("distinct random values in 8 calls", "at least 7", values.len(), values.len() >= 7)
            }
        },
        purpose! {
            id: "ZFM-SYS-006", group: "system",
            title: "Notepad pages keep what is written",
            clause: "R503 manual: WriteNotepad (18), ReadNotepad (19); confirmation code 1C",
            when: when::notepad, condition: "ics.notepad",
            expected: "page 15 reads back what was written (then restored); page 16 is refused with 1C",
            |dut, ctx| {
                let original = read_notepad(dut, ctx, 15).await?;
                let pattern: [u8; 32] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0xA5);
                dut.ok(ctx, &Command::WriteNotepad { page: 15, data: pattern }).await?;
                let data = read_notepad(dut, ctx, 15).await?;
                let _ = super::check_bytes(ctx, "page 15 reads back what was written", &pattern, &data);
                dut.ok(ctx, &Command::WriteNotepad { page: 15, data: original }).await?;
                dut.expect(ctx, "WriteNotepad page 16", &Command::WriteNotepad { page: 16, data: pattern }, Cc::BadNotepadPage).await?;
                Ok(())
            }
        },
        purpose! {
            id: "ZFM-SYS-007", group: "system",
            title: "TemplateNum counts the slots the index table shows",
            clause: "R503 manual: TempleteNum (1D), ReadIndexTable (1F)",
            when: when::always, condition: "always",
            expected: "the count equals the number of set bits over all index pages",
            |dut, ctx| {
                let count = dut.template_count(ctx).await?;
                let used = dut.used_slots(ctx).await?;
                ctx.check("TemplateNum vs index table", used.len(), count, usize::from(count) == used.len())
            }
        },
        purpose! {
            id: "ZFM-SYS-008", group: "system",
            title: "SoftRst answers, sends its handshake byte, and the module comes back",
            clause: "R503 manual: SoftRst (3D), 0x55 after reset",
            when: when::soft_reset, condition: "ics.soft_reset",
            expected: "ack 00, then 0x55 when declared, then 00 to VfyPwd",
            |dut, ctx| {
                soft_reset(dut, ctx).await?;
                let pw = dut.ics.ixit.password;
                dut.expect(ctx, "VfyPwd after reset", &Command::VfyPwd(pw), Cc::Ok).await.map(drop)
            }
        },
        purpose! {
            id: "ZFM-SYS-009", group: "system",
            title: "CheckSensor reports a working sensor",
            clause: "R503 manual: CheckSensor (36); code 29 = abnormal",
            when: when::check_sensor, condition: "ics.check_sensor",
            expected: "00",
            |dut, ctx| dut.ok(ctx, &Command::CheckSensor).await.map(drop)
        },
        purpose! {
            id: "ZFM-SYS-010", group: "system",
            title: "Firmware and algorithm versions are printable strings",
            clause: "R503 manual: GetAlgVer (39), GetFwVer (3A)",
            when: when::versions, condition: "ics.versions",
            expected: "00 and non-empty printable text in both",
            |dut, ctx| {
                for cmd in [Command::GetFwVer, Command::GetAlgVer] {
                    if let Reply::Version { text, .. } = dut.ok(ctx, &cmd).await? {
                        let t = khil_fingerprint::ProductInfo::text(&text);
                        let _ = ctx.check(format!("{} text", cmd.name()), "printable, non-empty", &t, !t.is_empty() && t.chars().all(|c| !c.is_control()));
                    }
                }
                Ok(())
            }
        },
        purpose! {
            id: "ZFM-SYS-011", group: "system",
            title: "The LED ring takes every mode and colour and refuses others",
            clause: "R503 manual: AuraLedConfig (35): control 1-6, colour 1-7",
            when: when::led, condition: "ics.led",
            expected: "00 for the 6 x 7 valid settings; not 00 for control 0 and colour 9",
            |dut, ctx| {
                let mut refused = 0;
                for ctrl in 1..=6u8 {
                    for colour in 1..=7u8 {
                        let r = dut.call(ctx, &Command::AuraLedConfig { ctrl, speed: 100, colour, count: 0 }).await?;
                        if !r.cc().is_ok() {
                            refused += 1;
                        }
                    }
                }
                let _ = ctx.check("valid LED settings accepted", "42 of 42", 42 - refused, refused == 0);
                for (what, ctrl, colour) in [("control 0", 0, 1), ("colour 9", 1, 9)] {
                    let r = dut.call(ctx, &Command::AuraLedConfig { ctrl, speed: 1, colour, count: 1 }).await?;
                    let _ = ctx.check(what, "refused (not 00)", r.cc(), !r.cc().is_ok());
                }
                dut.ok(ctx, &Command::AuraLedConfig { ctrl: 4, speed: 0, colour: 1, count: 0 }).await.map(drop)
            }
        },
        purpose! {
            id: "ZFM-SYS-012", group: "system",
            title: "ReadInfPage sends 512 bytes",
            clause: "R503 manual: ReadInfPage (16)",
            when: when::always, condition: "always",
            expected: "ack 00 then data packets totalling 512 bytes",
            |dut, ctx| {
                dut.ok(ctx, &Command::ReadInfPage).await?;
                let size = dut.packet_size;
                let page = dut.upload(ctx, "ReadInfPage", size).await?;
                ctx.check("information page length", 512, page.len(), page.len() == 512)
            }
        },
    ]
}
