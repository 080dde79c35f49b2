//! The template library: store, load, delete, index, search, empty, persistence, template transfer. Only the
//! IXIT's scratch pages are written (and cleared afterwards) unless the IXIT allows destructive purposes.

use std::time::Duration;

use khil_fingerprint::{Command, ConfirmationCode as Cc, Reply};

use super::purpose;
use crate::purpose::{Body, Ctx, Stop, listed};
use crate::suites::zfm::{ZfmDut, when};

/// Enrols the presented finger into buffer 1 (two captures, RegModel) and returns its characteristics.
async fn model(dut: &mut ZfmDut, ctx: &mut Ctx) -> Result<Vec<u8>, Stop> {
    dut.capture_into(ctx, 1).await?;
    dut.capture_into(ctx, 2).await?;
    dut.ok(ctx, &Command::RegModel).await?;
    dut.up_char(ctx, 1).await
}

/// Deletes the scratch pages.
async fn clear_scratch(dut: &mut ZfmDut, ctx: &mut Ctx) -> Result<(), Stop> {
    let first = dut.ics.ixit.scratch_first;
    let count = dut.ics.ixit.scratch_count;
    dut.ok(ctx, &Command::DeleteChar { page: first, count }).await.map(drop)
}

/// A template to store without a finger: whatever characteristics buffer 1 holds, uploaded (a module stores
/// buffers as bytes, so no capture is needed).
async fn some_template(dut: &mut ZfmDut, ctx: &mut Ctx) -> Result<Vec<u8>, Stop> {
    dut.up_char(ctx, 1).await
}

#[allow(clippy::too_many_lines)] // A list of purposes, each short: splitting it would only scatter them.
pub(super) fn purposes() -> Vec<Body<ZfmDut>> {
    vec![
        purpose! {
            id: "ZFM-LIB-001", when: when::finger,
            |dut, ctx| {
                let page = dut.ics.ixit.scratch_first;
                let stored = model(dut, ctx).await?;
                dut.ok(ctx, &Command::Store { buffer: 1, page }).await?;
                dut.ok(ctx, &Command::LoadChar { buffer: 2, page }).await?;
                let back = dut.up_char(ctx, 2).await?;
                let _ = super::check_bytes(ctx, "template after Store and LoadChar", &stored, &back);
                clear_scratch(dut, ctx).await
            }
        },
        purpose! {
            id: "ZFM-LIB-002", when: when::always,
            |dut, ctx| {
                let last = dut.ics.caps.library_size - 1;
                dut.ok(ctx, &Command::Store { buffer: 1, page: last }).await?;
                dut.expect(ctx, "Store at page = library size", &Command::Store { buffer: 1, page: last + 1 }, Cc::PageOutOfRange).await?;
                dut.expect(ctx, "LoadChar at page = library size", &Command::LoadChar { buffer: 1, page: last + 1 }, Cc::PageOutOfRange).await?;
                clear_scratch(dut, ctx).await
            }
        },
        purpose! {
            id: "ZFM-LIB-003", when: when::always,
            |dut, ctx| {
                clear_scratch(dut, ctx).await?;
                let page = dut.ics.ixit.scratch_first;
                dut.expect(ctx, "LoadChar of an empty page", &Command::LoadChar { buffer: 1, page }, Cc::InvalidTemplate).await.map(drop)
            }
        },
        purpose! {
            id: "ZFM-LIB-004", when: when::always,
            |dut, ctx| {
                clear_scratch(dut, ctx).await?;
                let t = some_template(dut, ctx).await?;
                dut.down_char(ctx, 1, &t).await?;
                let first = dut.ics.ixit.scratch_first;
                for page in first..first + 3 {
                    dut.ok(ctx, &Command::Store { buffer: 1, page }).await?;
                }
                let before = dut.template_count(ctx).await?;
                dut.ok(ctx, &Command::DeleteChar { page: first, count: 2 }).await?;
                let after = dut.template_count(ctx).await?;
                let _ = ctx.check("count after deleting 2", before.saturating_sub(2), after, after + 2 == before);
                let used = dut.used_slots(ctx).await?;
                let scratch: Vec<u16> = used.into_iter().filter(|s| (first..first + 3).contains(s)).collect();
                let _ = ctx.check("scratch pages still used", listed(&[first + 2]), listed(&scratch), scratch == [first + 2]);
                let end = dut.ics.caps.library_size;
                let r = dut.call(ctx, &Command::DeleteChar { page: end, count: 1 }).await?;
                let _ = ctx.check("DeleteChar past the library", "refused (0B or 10)", r.cc(), matches!(r.cc(), Cc::PageOutOfRange | Cc::DeleteFailed));
                clear_scratch(dut, ctx).await
            }
        },
        purpose! {
            id: "ZFM-LIB-005", when: when::always,
            |dut, ctx| {
                clear_scratch(dut, ctx).await?;
                let t = some_template(dut, ctx).await?;
                dut.down_char(ctx, 1, &t).await?;
                let first = dut.ics.ixit.scratch_first;
                let last = dut.ics.caps.library_size - 1;
                let pick = [first, first + 1, last];
                for page in pick {
                    dut.ok(ctx, &Command::Store { buffer: 1, page }).await?;
                }
                let used = dut.used_slots(ctx).await?;
                let seen: Vec<u16> = used.into_iter().filter(|s| *s >= first).collect();
                let mut want = pick.to_vec();
                want.dedup();
                let _ = ctx.check("scratch pages in the index", listed(&want), listed(&seen), want == seen);
                let r = dut.call(ctx, &Command::ReadIndexTable { page: 4 }).await?;
                let _ = ctx.check("index page 4", "refused", r.cc(), !r.cc().is_ok());
                clear_scratch(dut, ctx).await
            }
        },
        purpose! {
            id: "ZFM-LIB-006", when: when::finger,
            |dut, ctx| {
                clear_scratch(dut, ctx).await?;
                let page = dut.ics.ixit.scratch_first + 1;
                model(dut, ctx).await?;
                dut.ok(ctx, &Command::Store { buffer: 1, page }).await?;
                let cap = dut.ics.caps.library_size;
                for search in [Command::Search { buffer: 1, start: 0, count: cap }, Command::HiSpeedSearch { buffer: 1, start: 0, count: cap }] {
                    dut.capture_into(ctx, 1).await?;
                    let what = format!("{} for a new capture", search.name());
                    let expected = format!("00 at page {page}, score > 0");
                    let r = dut.call(ctx, &search).await?;
                    let Reply::Search { cc, page: found, score } = r else { return Err(ctx.fail(what, expected, r.to_string())) };
                    let _ = ctx.check(what, expected, format!("{cc} at page {found}, score {score}"), cc.is_ok() && found == page && score > 0);
                }
                clear_scratch(dut, ctx).await
            }
        },
        purpose! {
            id: "ZFM-LIB-007", when: when::always,
            |dut, ctx| {
                let zeros = vec![0u8; dut.ics.caps.template_size];
                dut.down_char(ctx, 1, &zeros).await?;
                let cap = dut.ics.caps.library_size;
                let r = dut.call(ctx, &Command::Search { buffer: 1, start: 0, count: cap }).await?;
                ctx.check_eq("Search with a blank probe", Reply::Search { cc: Cc::NotFound, page: 0, score: 0 }, r)
            }
        },
        purpose! {
            id: "ZFM-LIB-008", when: when::always,
            |dut, ctx| {
                let cap = dut.ics.caps.library_size;
                dut.expect(ctx, "Search from page = library size", &Command::Search { buffer: 1, start: cap, count: 1 }, Cc::PageOutOfRange).await.map(drop)
            }
        },
        purpose! {
            id: "ZFM-LIB-009", when: when::destructive,
            |dut, ctx| {
                let t = some_template(dut, ctx).await?;
                dut.down_char(ctx, 1, &t).await?;
                dut.ok(ctx, &Command::Store { buffer: 1, page: dut.ics.ixit.scratch_first }).await?;
                dut.ok(ctx, &Command::Empty).await?;
                let count = dut.template_count(ctx).await?;
                let _ = ctx.check("count after Empty", 0, count, count == 0);
                let used = dut.used_slots(ctx).await?;
                ctx.check("used pages after Empty", 0, used.len(), used.is_empty())
            }
        },
        purpose! {
            id: "ZFM-LIB-010", when: when::destructive,
            |dut, ctx| {
                let t = some_template(dut, ctx).await?;
                dut.down_char(ctx, 1, &t).await?;
                let cap = dut.ics.caps.library_size;
                let mut refused = 0u32;
                for page in 0..cap {
                    if !dut.call(ctx, &Command::Store { buffer: 1, page }).await?.cc().is_ok() {
                        refused += 1;
                    }
                }
                let _ = ctx.check("Stores refused while filling", 0, refused, refused == 0);
                let count = dut.template_count(ctx).await?;
                let _ = ctx.check("count when full", cap, count, count == cap);
                let used = dut.used_slots(ctx).await?;
                let _ = ctx.check("pages in the index when full", cap, used.len(), used.len() == usize::from(cap));
                dut.ok(ctx, &Command::Empty).await.map(drop)
            }
        },
        purpose! {
            id: "ZFM-LIB-011", when: when::finger_and_reset,
            |dut, ctx| {
                clear_scratch(dut, ctx).await?;
                let page = dut.ics.ixit.scratch_first;
                let stored = model(dut, ctx).await?;
                dut.ok(ctx, &Command::Store { buffer: 1, page }).await?;
                super::system::soft_reset(dut, ctx).await?;
                let pw = dut.ics.ixit.password;
                dut.ok(ctx, &Command::VfyPwd(pw)).await?;
                dut.ok(ctx, &Command::LoadChar { buffer: 2, page }).await?;
                let back = dut.up_char(ctx, 2).await?;
                let _ = super::check_bytes(ctx, "template after reset", &stored, &back);
                clear_scratch(dut, ctx).await
            }
        },
        purpose! {
            id: "ZFM-LIB-012", when: when::always,
            |dut, ctx| {
                let original = dut.packet_size;
                let n = dut.ics.caps.template_size;
                for size in dut.ics.caps.packet_sizes.clone() {
                    dut.set_packet_size(ctx, size).await?;
                    let pattern: Vec<u8> = (0..n).map(|i| ((i * 31 + size) % 256) as u8).collect();
                    dut.down_char(ctx, 2, &pattern).await?;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    let back = dut.up_char(ctx, 2).await?;
                    let _ = super::check_bytes(ctx, format!("characteristics at {size}-byte packets"), &pattern, &back);
                }
                dut.set_packet_size(ctx, original).await
            }
        },
    ]
}
