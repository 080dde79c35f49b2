//! System instructions: password, parameters, random numbers, notepad, reset, LED, sensor check, versions.

use std::time::Duration;

use khil_fingerprint::{Command, ConfirmationCode as Cc, Reply};

use super::purpose;
use crate::purpose::{Body, Ctx, Stop};
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
        other => Err(ctx.fail("ReadNotepad reply", "32 notepad bytes", other.to_string())),
    }
}

#[allow(clippy::too_many_lines)] // A list of purposes, each short: splitting it would only scatter them.
pub(super) fn purposes() -> Vec<Body<ZfmDut>> {
    vec![
        purpose! {
            id: "ZFM-SYS-001", when: when::always,
            |dut, ctx| {
                let pw = dut.ics.ixit.password;
                dut.expect(ctx, "VfyPwd with the right password", &Command::VfyPwd(pw), Cc::Ok).await?;
                dut.expect(ctx, "VfyPwd with a wrong password", &Command::VfyPwd(pw ^ 0x5A5A_0001), Cc::WrongPassword).await?;
                dut.expect(ctx, "VfyPwd with the right password again", &Command::VfyPwd(pw), Cc::Ok).await?;
                Ok(())
            }
        },
        purpose! {
            id: "ZFM-SYS-002", when: when::soft_reset,
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
            id: "ZFM-SYS-003", when: when::always,
            |dut, ctx| {
                let before = dut.params(ctx).await?;
                dut.expect(ctx, "register 9", &Command::SetSysPara { param: 9, value: 1 }, Cc::InvalidRegister).await?;
                for (what, param, value) in [("security level 6", 5, 6), ("packet size code 4", 6, 4)] {
                    let r = dut.call(ctx, &Command::SetSysPara { param, value }).await?;
                    let _ = ctx.check(what, "1B or 1A (refused)", r.cc(), matches!(r.cc(), Cc::BadRegisterConfiguration | Cc::InvalidRegister));
                }
                let after = dut.params(ctx).await?;
                let _ = ctx.check_eq("security level unchanged", before.security_level, after.security_level);
                ctx.check_eq("packet size unchanged", before.packet_size, after.packet_size)
            }
        },
        purpose! {
            id: "ZFM-SYS-004", when: when::always,
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
            id: "ZFM-SYS-005", when: when::always,
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
            id: "ZFM-SYS-006", when: when::notepad,
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
            id: "ZFM-SYS-007", when: when::always,
            |dut, ctx| {
                let count = dut.template_count(ctx).await?;
                let used = dut.used_slots(ctx).await?;
                ctx.check("TemplateNum vs index table", used.len(), count, usize::from(count) == used.len())
            }
        },
        purpose! {
            id: "ZFM-SYS-008", when: when::soft_reset,
            |dut, ctx| {
                soft_reset(dut, ctx).await?;
                let pw = dut.ics.ixit.password;
                dut.expect(ctx, "VfyPwd after reset", &Command::VfyPwd(pw), Cc::Ok).await.map(drop)
            }
        },
        purpose! {
            id: "ZFM-SYS-009", when: when::check_sensor,
            |dut, ctx| dut.ok(ctx, &Command::CheckSensor).await.map(drop)
        },
        purpose! {
            id: "ZFM-SYS-010", when: when::versions,
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
            id: "ZFM-SYS-011", when: when::led,
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
            id: "ZFM-SYS-012", when: when::always,
            |dut, ctx| {
                dut.ok(ctx, &Command::ReadInfPage).await?;
                let size = dut.packet_size;
                let page = dut.upload(ctx, "ReadInfPage", size).await?;
                ctx.check("information page length", 512, page.len(), page.len() == 512)
            }
        },
    ]
}
