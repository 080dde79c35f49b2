//! Robustness: the module survives malformed and out-of-place packets and answers the next valid one.

use std::time::Duration;

use khil_fingerprint::frame::{PacketKind, ZfmFrame};
use khil_fingerprint::{Command, ConfirmationCode as Cc};

use super::purpose;
use crate::purpose::{Body, Ctx, Stop};
use crate::suites::zfm::{ZfmDut, when};

async fn answers(dut: &mut ZfmDut, ctx: &mut Ctx) -> Result<(), Stop> {
    dut.drain(ctx, Duration::from_millis(400)).await?;
    let r = dut.call(ctx, &Command::ReadSysPara).await?;
    ctx.check("ReadSysPara after the disturbance", Cc::Ok, r.cc(), r.cc().is_ok())
}

pub(super) fn purposes() -> Vec<Body<ZfmDut>> {
    vec![
        purpose! {
            id: "ZFM-ROB-001", when: when::always,
            |dut, ctx| {
                let a = dut.address.to_be_bytes();
                let bad_pid = [0xEF, 0x01, a[0], a[1], a[2], a[3], 0x05, 0x00, 0x03, 0x1D, 0x00, 0x25];
                let bad_len = [0xEF, 0x01, a[0], a[1], a[2], a[3], 0x01, 0xFF, 0xFF, 0x1D];
                let mut bad_sum = ZfmFrame { address: dut.address, kind: PacketKind::Command, payload: vec![0x0F] }.encode();
                let n = bad_sum.len();
                bad_sum[n - 2] ^= 0xFF;
                let mut truncated = ZfmFrame { address: dut.address, kind: PacketKind::Command, payload: vec![0x0F] }.encode();
                truncated.truncate(8);
                for (what, bytes) in [("bad PID", &bad_pid[..]), ("bad LEN", &bad_len[..]), ("bad checksum", &bad_sum[..]), ("truncated", &truncated[..])] {
                    dut.send_raw(ctx, bytes, format!("malformed: {what}")).await?;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                answers(dut, ctx).await
            }
        },
        purpose! {
            id: "ZFM-ROB-002", when: when::always,
            |dut, ctx| {
                for kind in [PacketKind::Data, PacketKind::EndData] {
                    let f = ZfmFrame { address: dut.address, kind, payload: vec![0x11; 32] };
                    dut.send_raw(ctx, &f.encode(), format!("stray {kind}")).await?;
                }
                let f = dut.recv(ctx, Duration::from_millis(300)).await?;
                let none = f.is_none();
                let _ = ctx.check("reply to stray data packets", "none", f.map_or("none".into(), |f| format!("{}", f.kind)), none);
                answers(dut, ctx).await
            }
        },
        purpose! {
            id: "ZFM-ROB-003", when: when::always,
            |dut, ctx| {
                dut.ok(ctx, &Command::DownChar { buffer: 2 }).await?;
                let limit = Duration::from_millis(dut.ics.caps.slow_reply_timeout_ms);
                dut.send(ctx, &Command::TemplateNum).await?;
                let f = dut.recv(ctx, limit).await?;
                let ok = f.as_ref().is_some_and(|f| f.kind == PacketKind::Ack);
                let _ = ctx.check("ack to the command after an abandoned download", "an ack", f.map_or("silence".into(), |f| format!("{}", f.kind)), ok);
                answers(dut, ctx).await
            }
        },
    ]
}
