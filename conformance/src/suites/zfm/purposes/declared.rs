//! Declared vs observed: what the module reports about itself agrees with its ICS. Runs first.

use khil_fingerprint::command::{Command, ProductInfo};
use khil_fingerprint::{ConfirmationCode as Cc, PacketSize, Reply};

use super::purpose;
use crate::purpose::{Body, listed};
use crate::suites::zfm::{ZfmDut, when};

pub(super) fn purposes() -> Vec<Body<ZfmDut>> {
    vec![
        purpose! {
            id: "ZFM-ID-001", when: when::reports_identity,
            |dut, ctx| {
                let identity = crate::suites::zfm::identity(dut, ctx).await;
                crate::suite::check_declared(ctx, &identity);
                Ok(())
            }
        },
        purpose! {
            id: "ZFM-ICS-001", when: when::always,
            |dut, ctx| {
                let p = dut.params(ctx).await?;
                let caps = dut.ics.caps.clone();
                let _ = ctx.check("library size", caps.library_size, p.library_size, p.library_size == caps.library_size);
                let _ = ctx.check("address", format!("{:08X}", dut.address), format!("{:08X}", p.address), p.address == dut.address);
                let size = p.packet_size.bytes();
                let _ = ctx.check("packet size is one the ICS declares", format!("one of {} bytes", listed(&caps.packet_sizes)), p.packet_size, size.is_some_and(|s| caps.packet_sizes.contains(&s)));
                let _ = ctx.check("security level", "1..=5", p.security_level, (1..=5).contains(&p.security_level));
                // Modules have been seen reporting a baud field that contradicts their real baud: a mismatch
                // here is not proof of a fault.
                let baud_ok = u8::try_from(p.baud_multiplier).is_ok_and(|b| caps.baud_multipliers.contains(&b));
                if baud_ok {
                    let _ = ctx.check("baud multiplier is a declared one", format!("one of {}", listed(&caps.baud_multipliers)), p.baud_multiplier, true);
                } else {
                    ctx.inconclusive("baud multiplier is a declared one", format!("one of {}", listed(&caps.baud_multipliers)), p.baud_multiplier);
                }
                Ok(())
            }
        },
        purpose! {
            id: "ZFM-ICS-002", when: when::product_info,
            |dut, ctx| {
                let r = dut.ok(ctx, &Command::ReadProdInfo).await?;
                let Reply::ProductInfo { info, .. } = r else { return Err(ctx.fail("ReadProdInfo reply", "46 information bytes", r.to_string())) };
                let caps = dut.ics.caps.clone();
                let _ = ctx.check("image width", caps.image_width, info.width, info.width == caps.image_width);
                let _ = ctx.check("image height", caps.image_height, info.height, info.height == caps.image_height);
                let _ = ctx.check("capacity", caps.library_size, info.capacity, info.capacity == caps.library_size);
                let _ = ctx.check("template size", caps.template_size, info.template_size, usize::from(info.template_size) == caps.template_size);
                let model = ProductInfo::text(&info.model);
                let _ = ctx.check("model name", "printable text", &model, !model.is_empty() && model.chars().all(|c| !c.is_control()));
                Ok(())
            }
        },
        purpose! {
            id: "ZFM-ICS-003", when: when::always,
            |dut, ctx| {
                let caps = dut.ics.caps.clone();
                let probes = [
                    ("ReadProdInfo", caps.product_info, Command::ReadProdInfo),
                    ("CheckSensor", caps.check_sensor, Command::CheckSensor),
                    ("GetFwVer", caps.versions, Command::GetFwVer),
                    ("AuraLedConfig", caps.led, Command::AuraLedConfig { ctrl: 4, speed: 0, colour: 1, count: 0 }),
                ];
                for (name, declared, cmd) in probes {
                    let answer = dut.ask(ctx, &cmd).await?;
                    let cc = answer.cc();
                    let (expected, ok) = if declared {
                        ("00", cc == Cc::Ok)
                    } else {
                        ("FC or 01 (not implemented)", matches!(cc, Cc::Unsupported | Cc::PacketReceiveError))
                    };
                    let _ = ctx.check(format!("{name} (declared {})", if declared { "present" } else { "absent" }), expected, cc, ok);
                }
                Ok(())
            }
        },
        purpose! {
            id: "ZFM-ICS-004", when: when::always,
            |dut, ctx| {
                let original = dut.packet_size;
                for size in dut.ics.caps.packet_sizes.clone() {
                    dut.set_packet_size(ctx, size).await?;
                    let p = dut.params(ctx).await?;
                    let _ = ctx.check(format!("packet size {size} reported"), format!("{size} bytes"), p.packet_size, p.packet_size == PacketSize::from_bytes(size).unwrap_or(PacketSize::Invalid(9)));
                }
                dut.set_packet_size(ctx, original).await?;
                Ok(())
            }
        },
    ]
}
