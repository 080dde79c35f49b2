//! Capture, characteristics, images and matching.

use khil_fingerprint::{Command, ConfirmationCode as Cc, Reply, image};

use super::purpose;
use crate::purpose::{Body, Ctx, Stop};
use crate::suites::zfm::{ZfmDut, when};

/// Uploads the image buffer at the current packet size and checks its length against the declared geometry.
pub(super) async fn up_image(dut: &mut ZfmDut, ctx: &mut Ctx) -> Result<Vec<u8>, Stop> {
    dut.ok(ctx, &Command::UpImage).await?;
    let size = dut.packet_size;
    let img = dut.upload(ctx, "UpImage", size).await?;
    let caps = &dut.ics.caps;
    let expected = usize::from(caps.image_width) * usize::from(caps.image_height) / 2;
    ctx.check("image bytes (4 bits a pixel, declared width x height)", expected, img.len(), img.len() == expected)?;
    Ok(img)
}

#[allow(clippy::too_many_lines)] // A list of purposes, each short: splitting it would only scatter them.
pub(super) fn purposes() -> Vec<Body<ZfmDut>> {
    vec![
        purpose! {
            id: "ZFM-CAP-001", when: when::finger,
            |dut, ctx| dut.capture(ctx).await
        },
        purpose! {
            id: "ZFM-CAP-002", when: when::no_finger,
            |dut, ctx| {
                if dut.ics.ixit.finger == crate::suites::zfm::FingerSource::Operator {
                    ctx.operator(crate::suites::zfm::LIFT_FINGER, true).await?;
                }
                dut.expect(ctx, "GenImg with nobody at the sensor", &Command::GenImg, Cc::NoFinger).await.map(drop)
            }
        },
        purpose! {
            id: "ZFM-CAP-003", when: when::finger,
            |dut, ctx| {
                dut.capture(ctx).await?;
                let n = dut.ics.caps.char_buffers;
                for buffer in 1..=n {
                    dut.ok(ctx, &Command::Img2Tz { buffer }).await?;
                }
                let r = dut.call(ctx, &Command::Img2Tz { buffer: n + 1 }).await?;
                ctx.check(format!("Img2Tz into buffer {}", n + 1), "refused", r.cc(), !r.cc().is_ok())
            }
        },
        purpose! {
            id: "ZFM-CAP-004", when: when::get_image_ex,
            |dut, ctx| {
                for _ in 0..dut.ics.ixit.capture_attempts {
                    let r = dut.call(ctx, &Command::GetImageEx).await?;
                    if r.cc().is_ok() {
                        return ctx.check("GetImageEx", Cc::Ok, r.cc(), true);
                    }
                }
                ctx.check("GetImageEx", Cc::Ok, "never 00", false)
            }
        },
        purpose! {
            id: "ZFM-CAP-005", when: when::finger,
            |dut, ctx| {
                dut.capture(ctx).await?;
                let img = up_image(dut, ctx).await?;
                let levels: std::collections::BTreeSet<u8> = image::unpack(&img).into_iter().collect();
                ctx.check("grey levels in the image", "at least 8", levels.len(), levels.len() >= 8)
            }
        },
        purpose! {
            id: "ZFM-CAP-006", when: when::finger,
            |dut, ctx| {
                dut.capture(ctx).await?;
                let original = dut.packet_size;
                let mut first: Option<Vec<u8>> = None;
                for size in dut.ics.caps.packet_sizes.clone() {
                    dut.set_packet_size(ctx, size).await?;
                    let img = up_image(dut, ctx).await?;
                    match &first {
                        None => first = Some(img),
                        Some(f) => { let _ = super::check_bytes(ctx, format!("image at {size}-byte packets vs the first upload"), f, &img); }
                    }
                }
                dut.set_packet_size(ctx, original).await
            }
        },
        purpose! {
            id: "ZFM-CAP-007", when: when::always,
            |dut, ctx| {
                let caps = dut.ics.caps.clone();
                let n = usize::from(caps.image_width) * usize::from(caps.image_height) / 2;
                let pattern: Vec<u8> = (0..n).map(|i| ((i * 7 + i / 97) % 256) as u8).collect();
                dut.ok(ctx, &Command::DownImage).await?;
                let size = dut.packet_size;
                dut.send_data(ctx, &pattern, size).await?;
                let back = up_image(dut, ctx).await?;
                super::check_bytes(ctx, "image round trip", &pattern, &back)
            }
        },
        purpose! {
            id: "ZFM-CAP-008", when: when::finger,
            |dut, ctx| {
                dut.capture_into(ctx, 1).await?;
                dut.capture_into(ctx, 2).await?;
                let what = "Match of two captures of the presented finger";
                let r = dut.call(ctx, &Command::Match).await?;
                let Reply::Match { cc, score } = r else { return Err(ctx.fail(what, "00, score > 0", r.to_string())) };
                ctx.check(what, "00, score > 0", format!("{cc}, score {score}"), cc.is_ok() && score > 0)
            }
        },
        purpose! {
            id: "ZFM-CAP-009", when: when::finger,
            |dut, ctx| {
                dut.capture_into(ctx, 1).await?;
                let zeros = vec![0u8; dut.ics.caps.template_size];
                dut.down_char(ctx, 2, &zeros).await?;
                dut.expect(ctx, "Match against a blank buffer", &Command::Match, Cc::NoMatch).await.map(drop)
            }
        },
        purpose! {
            id: "ZFM-CAP-010", when: when::finger,
            |dut, ctx| {
                dut.capture_into(ctx, 1).await?;
                dut.capture_into(ctx, 2).await?;
                dut.ok(ctx, &Command::RegModel).await?;
                let zeros = vec![0u8; dut.ics.caps.template_size];
                dut.down_char(ctx, 2, &zeros).await?;
                dut.expect(ctx, "RegModel with a blank buffer 2", &Command::RegModel, Cc::MergeFailed).await.map(drop)
            }
        },
    ]
}
