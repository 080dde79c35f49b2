//! The `osdp-pd` purposes for fingerprint readers (BIOREAD, BIOMATCH) and file transfer (FILETRANSFER, FTSTAT).
//!
//! Biometric fields (SIA OSDP 2.2, as `shared/reference/osdp.md` and the simulator's `bio.rs` summarise them):
//! type 0 not specified, 1-10 the fingers (1 right thumb), 0x0B and up iris, retina, face, hand; format 0 not
//! specified, 1 raw image (PGM), 2 ANSI/INCITS 378 template; BIOREADR/BIOMATCHR status 0 success, 1 timeout,
//! 0xFF unknown error; BIOMATCH's quality byte is the match threshold on the PD's 0x00-0xFF score scale. A
//! `biometrics = true` ICS declares a fingerprint reader that reads and matches ANSI/INCITS 378 templates.
//!
//! Templates and samples stay out of the evidence (the DUT records their lengths only); the checks name counts,
//! scores and statuses.

use std::sync::OnceLock;
use std::time::Duration;

use khil_biometrics::template::{FingerMinutiaeRecord, decode_ansi};
use khil_osdp::command::{BioMatch, BioRead, Command, FileTransfer};
use khil_osdp::reply::{FtStat, NakCode, Reply, ft_status};
use khil_osdp::transfer::{FileSender, FileStep};

use super::purposes::is_nak;
use super::{OsdpDut, purpose, when};
use crate::purpose::{Body, Ctx, Stop};

/// The reader every purpose uses.
const READER: u8 = 0;
/// Biometric type 1: right thumb.
const RIGHT_THUMB: u8 = 0x01;
/// Biometric type 0x0F: face (not a finger).
const FACE: u8 = 0x0F;
/// Format 2: ANSI/INCITS 378 template.
const ANSI_378: u8 = 0x02;
/// A format the reference does not define (0-2 are), so no PD supports it.
const UNDEFINED_FORMAT: u8 = 0x7F;

/// The population seed and finger of the impostor template (a synthetic finger that no khil simulator presents
/// unless started with this seed).
const IMPOSTOR_SEED: u64 = 0x6f73_6470_2d62_696f; // "osdp-bio"
const IMPOSTOR_FINGER: u64 = 0;
/// Minutiae an impostor template keeps at most (so that the BIOMATCH fits one packet).
const IMPOSTOR_MINUTIAE: usize = 100;

/// Fragment size of the test files: 128 bytes of data, 139 with the FILETRANSFER header, 176 in a secured packet;
/// under the 256-byte receive buffer of the smallest PDs.
const FRAGMENT: usize = 128;
/// Idle fragments sent at most while the PD says it is finishing (status 3).
const MAX_IDLE: u32 = 50;
/// Longest FTSTAT delay honoured between fragments.
const MAX_DELAY: Duration = Duration::from_secs(2);

fn bioread(kind: u8, format: u8) -> Command {
    Command::BioRead(BioRead { reader: READER, kind, format, quality: 0 })
}

fn biomatch(template: Vec<u8>, threshold: u8) -> Command {
    Command::BioMatch(BioMatch { reader: READER, kind: RIGHT_THUMB, format: ANSI_378, quality: threshold, template })
}

/// BIOREAD of a right thumb as an ANSI/INCITS 378 template, with the finger on the sensor: a BIOREADR with
/// status 0, the reader and type echoed, data that decodes as a record with at least one minutia. The
/// record's bytes and the decoded record.
async fn read_template(dut: &mut OsdpDut, ctx: &mut Ctx) -> Result<(Vec<u8>, FingerMinutiaeRecord), Stop> {
    if dut.ics.ixit.operator {
        ctx.operator(super::PLACE_FINGER, true).await?;
    }
    let r = dut.command(ctx, &bioread(RIGHT_THUMB, ANSI_378)).await?;
    let Reply::BioReadR(b) = r else { return Err(ctx.fail("BIOREAD answer", "BIOREADR (57)", r.describe())) };
    ctx.check("BIOREADR status with a finger presented", "0 (success)", b.status, b.status == 0)?;
    let _ = ctx.check("BIOREADR reader", READER, b.reader, b.reader == READER);
    let _ = ctx.check("BIOREADR type echoes the BIOREAD's", RIGHT_THUMB, b.kind, b.kind == RIGHT_THUMB);
    let decoded = decode_ansi(&b.data);
    let observed = match &decoded {
        Ok(record) => format!("{} bytes, {} view(s), quality {}", b.data.len(), record.views.len(), b.quality),
        Err(e) => format!("{} bytes that do not decode: {e}", b.data.len()),
    };
    ctx.check("BIOREADR data is an ANSI/INCITS 378 record", "a record (khil's decoder)", observed, decoded.is_ok())?;
    let record = decoded.map_err(|_| Stop::Failed)?;
    let minutiae = record.views.first().map_or(0, |v| v.minutiae.len());
    ctx.check("minutiae in the record's first view", "at least 1", minutiae, minutiae >= 1)?;
    Ok((b.data, record))
}

/// BIOMATCH of `template` at `threshold`: the BIOMATCHR's status and score.
async fn match_template(
    dut: &mut OsdpDut,
    ctx: &mut Ctx,
    what: &str,
    template: Vec<u8>,
    threshold: u8,
) -> Result<(u8, u8), Stop> {
    let r = dut.command(ctx, &biomatch(template, threshold)).await?;
    match r {
        Reply::BioMatchR { reader, status, score } => {
            let _ = ctx.check(format!("BIOMATCHR reader ({what})"), READER, reader, reader == READER);
            Ok((status, score))
        }
        other => Err(ctx.fail(format!("BIOMATCH of {what} answered"), "BIOMATCHR (58)", other.describe())),
    }
}

/// SplitMix64: the deterministic stream that moves minutiae.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `record` with every minutia moved 40 to 100 pixels in a pseudo-random direction (kept in the image) and
/// turned by 60 to 300 degrees: the same count and area, none of the finger's structure.
fn moved(record: &FingerMinutiaeRecord) -> Result<Vec<u8>, String> {
    let mut r = record.clone();
    let (max_x, max_y) = (i32::from(r.width.max(1)) - 1, i32::from(r.height.max(1)) - 1);
    let mut state = 0x6b68_696c_6d6f_7665; // "khilmove"
    for view in &mut r.views {
        for m in &mut view.minutiae {
            let z = splitmix(&mut state);
            let distance = 40.0 + (z & 0xFF) as f64 * 60.0 / 255.0;
            let direction = ((z >> 8) & 0xFFFF) as f64 / 65536.0 * std::f64::consts::TAU;
            let x = (f64::from(m.x) + distance * direction.cos()).round() as i32;
            let y = (f64::from(m.y) + distance * direction.sin()).round() as i32;
            // Reflect at the edges rather than pile minutiae up on them.
            let fold = |v: i32, max: i32| {
                if v < 0 {
                    (-v).min(max)
                } else if v > max {
                    (2 * max - v).max(0)
                } else {
                    v
                }
            };
            m.x = u16::try_from(fold(x, max_x)).unwrap_or(0);
            m.y = u16::try_from(fold(y, max_y)).unwrap_or(0);
            // ANSI angles are in 2-degree units, 0-179.
            let turn = 30 + ((z >> 24) % 121) as u16;
            m.angle = ((u16::from(m.angle) + turn) % 180) as u8;
        }
    }
    khil_biometrics::template::encode(&r).map_err(|e| e.to_string())
}

/// The ANSI/INCITS 378 record of another synthetic finger (khil's synthesis and extraction, an R307-sized
/// impression of good quality), made once per process off the async workers (a quarter second or so).
async fn impostor_template() -> Result<Vec<u8>, Stop> {
    static TEMPLATE: OnceLock<Vec<u8>> = OnceLock::new();
    if let Some(t) = TEMPLATE.get() {
        return Ok(t.clone());
    }
    let make = || {
        use khil_biometrics::synth::{Finger, Quality, SensorProfile};
        let finger = Finger::generate(IMPOSTOR_SEED, IMPOSTOR_FINGER);
        let impression = finger.impression(0, SensorProfile::R307, Quality::Good);
        let mut minutiae = khil_biometrics::extract::extract(&impression.image, 500);
        if minutiae.points.len() > IMPOSTOR_MINUTIAE {
            minutiae.points.sort_by_key(|m| std::cmp::Reverse(m.quality));
            minutiae.points.truncate(IMPOSTOR_MINUTIAE);
        }
        khil_biometrics::template::ansi_from_minutiae(&minutiae, RIGHT_THUMB)
    };
    tokio::task::spawn_blocking(move || TEMPLATE.get_or_init(make).clone())
        .await
        .map_err(|e| Stop::Error(format!("synthesising the impostor finger failed: {e}")))
}

/// A template that does not decode: an ANSI/INCITS 378 header whose length field says 64 bytes, cut at 20.
fn truncated_template() -> Vec<u8> {
    let mut t = b"FMR\0 20\0".to_vec();
    t.extend_from_slice(&64u16.to_be_bytes());
    t.extend_from_slice(&[0; 10]);
    t
}

/// A test file: `len` bytes that are not all alike (a PD that checks nothing sees plain data).
fn test_file(len: usize, salt: u8) -> Vec<u8> {
    let mut state = u64::from(salt);
    (0..len).map(|_| splitmix(&mut state) as u8).collect()
}

fn fragment(kind: u8, data: &[u8], offset: usize, len: usize) -> Command {
    let end = (offset + len).min(data.len());
    Command::FileTransfer(FileTransfer {
        kind,
        total: u32::try_from(data.len()).unwrap_or(u32::MAX),
        offset: u32::try_from(offset).unwrap_or(u32::MAX),
        fragment: data[offset.min(end)..end].to_vec(),
    })
}

/// One FILETRANSFER; the FTSTAT it gets (anything else fails the purpose).
async fn send_fragment(dut: &mut OsdpDut, ctx: &mut Ctx, what: &str, cmd: &Command) -> Result<FtStat, Stop> {
    match dut.command(ctx, cmd).await? {
        Reply::FtStat(s) => Ok(s),
        other => Err(ctx.fail(format!("{what} answered"), "FTSTAT (7A)", other.describe())),
    }
}

/// Sends `data` from `offset` to its end in fragments of [`FRAGMENT`] bytes (fewer when the PD's FTSTAT asks for
/// less), waiting the delays the PD asks for (at most [`MAX_DELAY`]); every FTSTAT must be >= 0. While the PD
/// answers 3 (finishing), idle fragments (no data, at the end) follow, [`MAX_IDLE`] at most. The last status.
async fn send_file(dut: &mut OsdpDut, ctx: &mut Ctx, kind: u8, data: &[u8], offset: usize) -> Result<i16, Stop> {
    let sender = FileSender::new(kind, data, FRAGMENT).map_err(|e| Stop::Error(format!("the test file: {e}")))?;
    let mut sender = sender.from_offset(offset).max_idle(MAX_IDLE);
    loop {
        let what = if sender.finishing() {
            "an idle FILETRANSFER".to_owned()
        } else {
            format!("the fragment at offset {}", sender.offset())
        };
        let s = send_fragment(dut, ctx, &what, &Command::FileTransfer(sender.fragment())).await?;
        ctx.check(format!("FTSTAT status for {what}"), ">= 0", s.status, s.status >= 0)?;
        match sender.on_ftstat(&s) {
            FileStep::Send { delay } => tokio::time::sleep(delay.min(MAX_DELAY)).await,
            FileStep::Done(s) | FileStep::Refused(s) | FileStep::StillFinishing(s) => return Ok(s.status),
        }
    }
}

#[allow(clippy::too_many_lines)] // A list of purposes, each short.
pub(super) fn bodies() -> Vec<Body<OsdpDut>> {
    vec![
        purpose! {
            id: "OSDP-BIO-001", when: when::biometrics_with_finger,
            |dut, ctx| {
                dut.start(ctx).await?;
                read_template(dut, ctx).await.map(drop)
            }
        },
        purpose! {
            id: "OSDP-BIO-002", when: when::biometrics_without_finger,
            |dut, ctx| {
                if dut.ics.ixit.operator {
                    ctx.operator(super::LIFT_FINGER, true).await?;
                }
                dut.start(ctx).await?;
                let r = dut.command(ctx, &bioread(RIGHT_THUMB, ANSI_378)).await?;
                let Reply::BioReadR(b) = r else { return Err(ctx.fail("BIOREAD answer", "BIOREADR (57)", r.describe())) };
                ctx.check(
                    "BIOREAD with no finger on the sensor",
                    "status 1 (timeout), or no data",
                    format!("status {}, {} data bytes", b.status, b.data.len()),
                    b.status == 1 || b.data.is_empty(),
                )
            }
        },
        purpose! {
            id: "OSDP-BIO-003", when: when::biometrics_with_finger,
            |dut, ctx| {
                dut.start(ctx).await?;
                let (template, _) = read_template(dut, ctx).await?;
                let t = dut.ics.ixit.match_threshold;
                let (status, score) = match_template(dut, ctx, "the template just read", template, t).await?;
                ctx.check("BIOMATCHR status with the finger on the sensor", "0 (success)", status, status == 0)?;
                ctx.check(format!("score of the same finger at threshold {t}"), format!(">= {t} (a match)"), score, score >= t)
            }
        },
        purpose! {
            id: "OSDP-BIO-004", when: when::biometrics_with_finger,
            |dut, ctx| {
                dut.start(ctx).await?;
                let (_, record) = read_template(dut, ctx).await?;
                let t = dut.ics.ixit.match_threshold;
                let moved = moved(&record).map_err(|e| Stop::Error(format!("cannot encode the moved template: {e}")))?;
                let other = impostor_template().await?;
                for (what, template) in [("the template with its minutiae moved", moved), ("another finger's template", other)] {
                    let (status, score) = match_template(dut, ctx, what, template, t).await?;
                    let matched = status == 0 && score >= t;
                    let _ = ctx.check(
                        format!("BIOMATCH of {what} at threshold {t}"),
                        format!("no match (score < {t}, or a non-zero status)"),
                        format!("status {status}, score {score}"),
                        !matched,
                    );
                }
                Ok(())
            }
        },
        purpose! {
            id: "OSDP-BIO-005", when: when::biometrics,
            |dut, ctx| {
                dut.start(ctx).await?;
                let t = dut.ics.ixit.match_threshold;
                let r = dut.command(ctx, &biomatch(truncated_template(), t)).await?;
                let refused = is_nak(&r, NakCode::CannotProcess) || matches!(r, Reply::BioMatchR { status, .. } if status != 0);
                ctx.check("BIOMATCH with a truncated template", "NAK 09, or BIOMATCHR with a non-zero status", r.describe(), refused)
            }
        },
        purpose! {
            id: "OSDP-BIO-006", when: when::biometrics,
            |dut, ctx| {
                dut.start(ctx).await?;
                let r = dut.command(ctx, &bioread(FACE, ANSI_378)).await?;
                ctx.check("BIOREAD of a face", "NAK 07", r.describe(), is_nak(&r, NakCode::BioTypeUnsupported))
            }
        },
        purpose! {
            id: "OSDP-BIO-007", when: when::biometrics,
            |dut, ctx| {
                dut.start(ctx).await?;
                let r = dut.command(ctx, &bioread(RIGHT_THUMB, UNDEFINED_FORMAT)).await?;
                ctx.check("BIOREAD in format 7F", "NAK 08", r.describe(), is_nak(&r, NakCode::BioFormatUnsupported))
            }
        },
        purpose! {
            id: "OSDP-BIO-008", when: when::no_biometrics,
            |dut, ctx| {
                if dut.ics.ixit.operator {
                    ctx.operator(super::LIFT_FINGER, true).await?;
                }
                dut.start(ctx).await?;
                let r = dut.command(ctx, &bioread(RIGHT_THUMB, ANSI_378)).await?;
                ctx.check("BIOREAD to a PD without biometrics", "NAK 03", r.describe(), is_nak(&r, NakCode::UnknownCommand))
            }
        },
        purpose! {
            id: "OSDP-FT-001", when: when::file_transfer,
            |dut, ctx| {
                dut.start(ctx).await?;
                let data = test_file(300, 0x11);
                let kind = dut.ics.ixit.file_type;
                let last = send_file(dut, ctx, kind, &data, 0).await?;
                ctx.check("FTSTAT status after the last fragment", "1 (processed) or 0 (OK)", last, matches!(last, ft_status::OK | ft_status::PROCESSED))
            }
        },
        purpose! {
            id: "OSDP-FT-002", when: when::file_transfer,
            |dut, ctx| {
                dut.start(ctx).await?;
                let data = test_file(3 * FRAGMENT, 0x22);
                let kind = dut.ics.ixit.file_type;
                let s = send_fragment(dut, ctx, "the fragment at offset 0", &fragment(kind, &data, 0, FRAGMENT)).await?;
                ctx.check("FTSTAT status for the fragment at offset 0", ">= 0", s.status, s.status >= 0)?;
                let gap = 2 * FRAGMENT;
                let s = send_fragment(dut, ctx, "a fragment past a gap", &fragment(kind, &data, gap, FRAGMENT)).await?;
                ctx.check(format!("FTSTAT status for a fragment at offset {gap} when {FRAGMENT} is next"), "negative (refused)", s.status, s.status < 0)?;
                let last = send_file(dut, ctx, kind, &data, 0).await?;
                ctx.check("the file sent again from offset 0: FTSTAT status after the last fragment", "1 (processed) or 0 (OK)", last, matches!(last, ft_status::OK | ft_status::PROCESSED))
            }
        },
        purpose! {
            id: "OSDP-FT-003", when: when::file_transfer,
            |dut, ctx| {
                dut.start(ctx).await?;
                let data = test_file(300, 0x33);
                let kind = dut.ics.ixit.file_type;
                let s = send_fragment(dut, ctx, "the fragment at offset 0", &fragment(kind, &data, 0, FRAGMENT)).await?;
                ctx.check("FTSTAT status for the fragment at offset 0", ">= 0", s.status, s.status >= 0)?;
                let cmd = fragment(kind, &data, FRAGMENT, FRAGMENT);
                let sqn = dut.next_sqn();
                let f = dut.packet(&cmd, sqn)?;
                let first = dut.exchange(ctx, &f, format!("FILETRANSFER at offset {FRAGMENT}, SQN {sqn}")).await?;
                let first = dut.checked(ctx, "FILETRANSFER", &f, first)?;
                let again = dut.exchange(ctx, &f, "the same FILETRANSFER, resent with the same SQN".into()).await?;
                let again = dut.checked(ctx, "FILETRANSFER resent", &f, again)?;
                let same = again.raw == first.raw;
                let observed = if same { "identical".to_owned() } else { format!("different: {}", dut.hear(&again).words) };
                ctx.check("reply to the retransmitted fragment", "the previous FTSTAT, byte for byte", observed, same)?;
                let Reply::FtStat(s) = dut.open(ctx, first)? else { return Err(ctx.fail("FILETRANSFER answered", "FTSTAT (7A)", "another reply")) };
                ctx.check(format!("FTSTAT status for the fragment at offset {FRAGMENT}"), ">= 0", s.status, s.status >= 0)?;
                let last = send_file(dut, ctx, kind, &data, 2 * FRAGMENT).await?;
                ctx.check("FTSTAT status after the last fragment (the resent one taken once)", "1 (processed) or 0 (OK)", last, matches!(last, ft_status::OK | ft_status::PROCESSED))
            }
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_templates_keep_count_and_bounds_and_bad_ones_do_not_decode() {
        use khil_biometrics::minutia::{Minutia, MinutiaKind, Minutiae};
        let points = (0..40)
            .map(|i| {
                let f = i as f32;
                Minutia::new(10.0 + f * 5.0, 250.0 - f * 6.0, f * 0.3, MinutiaKind::Ending, 60)
            })
            .collect();
        let m = Minutiae { width: 256, height: 288, dpi: 500, quality: 80, points };
        let bytes = khil_biometrics::template::ansi_from_minutiae(&m, RIGHT_THUMB);
        let record = decode_ansi(&bytes).unwrap();
        let moved = decode_ansi(&moved(&record).unwrap()).unwrap();
        let (a, b) = (&record.views[0].minutiae, &moved.views[0].minutiae);
        assert_eq!(a.len(), b.len());
        for (p, q) in a.iter().zip(b) {
            assert!(q.x < 256 && q.y < 288 && q.angle < 180);
            let d = (f64::from(p.x) - f64::from(q.x)).hypot(f64::from(p.y) - f64::from(q.y));
            assert!(d >= 10.0, "every minutia moved: {d}");
        }
        assert!(decode_ansi(&truncated_template()).is_err());
        assert_eq!(test_file(300, 1).len(), 300);
    }
}
