//! Timing: replies within the declared times, image upload at line rate.

use std::time::{Duration, Instant};

use khil_fingerprint::Command;

use super::purpose;
use crate::purpose::Body;
use crate::suites::zfm::{ZfmDut, when};

pub(super) fn purposes() -> Vec<Body<ZfmDut>> {
    vec![
        purpose! {
            id: "ZFM-TIM-001", when: when::always,
            |dut, ctx| {
                let limit = Duration::from_millis(dut.ics.caps.reply_timeout_ms);
                let mut worst = Duration::ZERO;
                for i in 0..20 {
                    let cmd = match i % 3 { 0 => Command::ReadSysPara, 1 => Command::TemplateNum, _ => Command::ReadIndexTable { page: 0 } };
                    let a = dut.ask(ctx, &cmd).await?;
                    worst = worst.max(a.elapsed);
                }
                ctx.timing("slowest reply", worst);
                ctx.check("slowest of 20 replies", format!("<= {} ms", limit.as_millis()), format!("{:.1} ms", worst.as_secs_f64() * 1e3), worst <= limit)
            }
        },
        purpose! {
            id: "ZFM-TIM-002", when: when::finger,
            |dut, ctx| {
                dut.capture(ctx).await?;
                let start = Instant::now();
                let img = super::capture::up_image(dut, ctx).await?;
                let took = start.elapsed();
                let baud = if dut.ics.ixit.line_baud == 0 { 57_600 } else { dut.ics.ixit.line_baud };
                let packets = img.len().div_ceil(dut.packet_size);
                let wire = 24 + img.len() + 11 * packets;
                let line = Duration::from_secs_f64(wire as f64 / (f64::from(baud) / 10.0));
                ctx.timing("upload", took);
                ctx.timing("line time of the bytes", line);
                let limit = line.mul_f64(1.15) + Duration::from_millis(100);
                ctx.check("upload time", format!("<= {:.0} ms", limit.as_secs_f64() * 1e3), format!("{:.0} ms", took.as_secs_f64() * 1e3), took <= limit)
            }
        },
    ]
}
