//! The `osdp-pd` purposes: identity and capabilities, framing, sequence numbers, NAK codes, commands, secure
//! channel, timing; biometrics and file transfer are in [`super::bio_file`].

use std::time::Duration;

use khil_osdp::command::{Buzzer, Command, LedControl, LedPermanent, LedTemporary, OutputControl, Text, opcode};
use khil_osdp::frame::{self, BROADCAST, Integrity, OsdpFrame};
use khil_osdp::reply::{NakCode, Reply, function};

use super::dut::Heard;
use super::{OsdpDut, purpose, when};
use crate::purpose::{Body, Ctx, Stop};

/// What a POLL may be answered with: ACK when nothing is pending, else the PD's pending report (an input or local
/// status change, card data, keys). A PD whose inputs move (a gate's sensors) answers a POLL with ISTATR.
const POLL_ANSWER: &str = "ACK, or a pending report (LSTATR, ISTATR, OSTATR, RAW, KEYPAD)";

fn answers_poll(r: &Reply) -> bool {
    matches!(
        r,
        Reply::Ack | Reply::LStatR { .. } | Reply::IStatR(_) | Reply::OStatR(_) | Reply::Raw(_) | Reply::Keypad { .. }
    )
}

pub(super) fn is_nak(r: &Reply, code: NakCode) -> bool {
    matches!(r, Reply::Nak { code: c, .. } if *c == code)
}

fn out(output: u8, control: u8) -> Command {
    Command::Out(vec![OutputControl { output, control, timer: 0 }])
}

/// The output image (OSTAT).
async fn outputs(dut: &mut OsdpDut, ctx: &mut Ctx) -> Result<Vec<u8>, Stop> {
    match dut.command(ctx, &Command::OStat).await? {
        Reply::OStatR(v) => Ok(v),
        other => Err(ctx.fail("OSTAT answer", "OSTATR", other.describe())),
    }
}

/// Output `n` of an OSTATR image, in words: its level, or that the image has no such output.
fn level(image: &[u8], n: u8) -> String {
    image.get(usize::from(n)).map_or_else(|| format!("no output {n} (OSTATR lists {})", image.len()), u8::to_string)
}

/// Whether a reply heard is the NAK `code`.
fn heard_nak(heard: &Heard, code: NakCode) -> bool {
    heard.reply.as_ref().is_some_and(|r| is_nak(r, code))
}

/// A plain packet whose reply is expected to be `nak`.
async fn expect_nak(dut: &mut OsdpDut, ctx: &mut Ctx, what: &str, f: &OsdpFrame, nak: NakCode) -> Result<(), Stop> {
    let got = dut.exchange(ctx, f, what.to_owned()).await?;
    let heard = dut.hear(&dut.checked(ctx, what, f, got)?);
    ctx.check(what, format!("NAK {nak}"), heard.words.clone(), heard_nak(&heard, nak))
}

/// The packet OSDP.Net-derived panels open with (OSDP.Net's `Command.BuildCommand` until 2021: the SCB whenever the
/// PD is set up for the secure channel, the MAC only once a session is up): a POLL with SCB `[02 15]` and no MAC,
/// CRC, after the mark.
fn secure_block_poll(address: u8, sqn: u8) -> Vec<u8> {
    let mut bytes =
        vec![frame::MARK, frame::SOM, address, 0x0A, 0x00, 0x0C | sqn, 0x02, frame::scs::CMD_MAC, opcode::POLL];
    let crc = frame::crc16(&bytes[1..]);
    bytes.extend_from_slice(&crc.to_le_bytes());
    bytes
}

#[allow(clippy::too_many_lines)] // A list of purposes, each short.
pub(super) fn bodies() -> Vec<Body<OsdpDut>> {
    let mut all = vec![
        purpose! {
            id: "OSDP-ID-001", when: when::always,
            |dut, ctx| {
                let identity = super::identity(dut, ctx).await;
                if identity.get("model").is_none() {
                    return Err(ctx.fail("ID answered with PDID", "PDID", "no PDID (see the frames)"));
                }
                crate::suite::check_declared(ctx, &identity);
                Ok(())
            }
        },
        purpose! {
            id: "OSDP-ICS-001", when: when::always,
            |dut, ctx| {
                dut.start(ctx).await?;
                let id = dut.command(ctx, &Command::Id { kind: 0 }).await?;
                ctx.check("ID answered with PDID", "PDID", id.describe(), matches!(id, Reply::PdId(_)))?;
                let r = dut.command(ctx, &Command::Cap { kind: 0 }).await?;
                let Reply::PdCap(caps) = r else { return Err(ctx.fail("CAP answered with PDCAP", "PDCAP", r.describe())) };
                let count = |f: u8| caps.iter().find(|c| c.function == f).map(|c| c.count);
                let c = dut.ics.caps.clone();
                let _ = ctx.check("outputs", c.outputs, count(function::OUTPUT_CONTROL).unwrap_or(0), count(function::OUTPUT_CONTROL).unwrap_or(0) == c.outputs);
                let _ = ctx.check("inputs", c.inputs, count(function::CONTACT_STATUS).unwrap_or(0), count(function::CONTACT_STATUS).unwrap_or(0) == c.inputs);
                let _ = ctx.check("readers", c.readers, count(function::READERS).unwrap_or(0), count(function::READERS).unwrap_or(0) == c.readers);
                let sc = caps.iter().any(|k| k.function == function::COMMUNICATION_SECURITY && k.compliance > 0);
                let _ = ctx.check("communication security", c.secure_channel, sc, sc == c.secure_channel);
                let bio = caps.iter().any(|k| k.function == function::BIOMETRICS && k.compliance > 0);
                let _ = ctx.check("biometrics (function 14)", c.biometrics, bio, bio == c.biometrics);
                Ok(())
            }
        },
        purpose! {
            id: "OSDP-FRM-001", when: when::always,
            |dut, ctx| {
                dut.start(ctx).await?;
                for integrity in [Integrity::Crc16, Integrity::Checksum] {
                    let cmd = Command::Id { kind: 0 };
                    let sqn = dut.next_sqn();
                    let mut f = dut.packet(&cmd, sqn)?;
                    if integrity == Integrity::Checksum {
                        if dut.session.is_some() {
                            // A secured packet's MAC covers the CTRL byte: build a plain ID in checksum mode on a
                            // fresh sequence instead (ID is open on every PD).
                            dut.leave_session();
                            dut.start(ctx).await.ok();
                            dut.leave_session();
                            let sqn = dut.next_sqn();
                            f = OsdpFrame::command(dut.address(), sqn, cmd.code(), cmd.to_data());
                        }
                        f.integrity = Integrity::Checksum;
                    }
                    let got = dut.exchange(ctx, &f, format!("ID with a {}", integrity.name())).await?;
                    let r = dut.checked(ctx, "ID", &f, got)?;
                    let _ = ctx.check(format!("reply check mode for a {} command", integrity.name()), integrity.name(), r.frame.integrity.name(), r.frame.integrity == integrity);
                }
                Ok(())
            }
        },
        purpose! {
            id: "OSDP-FRM-002", when: when::always,
            |dut, ctx| {
                dut.start(ctx).await?;
                dut.leave_session();
                let sqn = dut.next_sqn();
                let f = OsdpFrame::command(dut.address(), sqn, opcode::ID, vec![0]);
                let bytes = f.encode(false);
                dut.send_bytes(ctx, &bytes, "ID without mark".into()).await?;
                let limit = dut.timeout();
                let got = dut.recv(ctx, limit).await?;
                dut.checked(ctx, "ID without mark", &f, got).map(drop)
            }
        },
        purpose! {
            id: "OSDP-FRM-003", when: when::always,
            |dut, ctx| {
                dut.start(ctx).await?;
                dut.leave_session();
                let sqn = dut.next_sqn();
                let f = OsdpFrame::command(dut.address(), sqn, opcode::ID, vec![0]);
                let mut bytes = f.encode(true);
                let n = bytes.len();
                bytes[n - 1] ^= 0x55;
                dut.send_bytes(ctx, &bytes, "ID with a corrupted CRC".into()).await?;
                let limit = dut.timeout();
                let got = dut.recv(ctx, limit).await?;
                let _ = ctx.check("reply to a corrupted packet", "none", got.as_ref().map_or("none".into(), |r| format!("{:02X}", r.frame.code)), got.is_none());
                let again = dut.exchange(ctx, &f, "the same ID, intact".into()).await?;
                dut.checked(ctx, "ID after a corrupted packet", &f, again).map(drop)
            }
        },
        purpose! {
            id: "OSDP-FRM-004", when: when::always,
            |dut, ctx| {
                dut.start(ctx).await?;
                let other = (dut.address() + 1) % 0x7F;
                let f = OsdpFrame::command(other, 0, opcode::ID, vec![0]);
                let got = dut.exchange(ctx, &f, format!("ID to address {other}")).await?;
                ctx.check("reply to another address's packet", "none", got.as_ref().map_or("none".into(), |r| format!("from {:02X}", r.frame.address)), got.is_none())
            }
        },
        purpose! {
            id: "OSDP-FRM-005", when: when::always,
            |dut, ctx| {
                let f = OsdpFrame::command(BROADCAST, 0, opcode::ID, vec![0]);
                let got = dut.exchange(ctx, &f, "ID to broadcast".into()).await?;
                let ok = got.as_ref().is_some_and(|r| r.frame.reply && r.frame.address == BROADCAST);
                ctx.check("reply to a broadcast", "from 7F with the reply bit", got.as_ref().map_or("none".into(), |r| format!("{:02X} reply={}", r.frame.address, r.frame.reply)), ok)
            }
        },
        purpose! {
            id: "OSDP-SEQ-001", when: when::outputs,
            |dut, ctx| {
                dut.start(ctx).await?;
                let sqn = dut.next_sqn();
                let on = dut.packet(&out(0, 2), sqn)?;
                let first = dut.exchange(ctx, &on, "OUT 0 on".into()).await?;
                let first = dut.checked(ctx, "OUT on", &on, first)?;
                let again = dut.exchange(ctx, &on, "OUT 0 on, resent with the same SQN".into()).await?;
                let again = dut.checked(ctx, "OUT resent", &on, again)?;
                let same = again.raw == first.raw;
                let observed = if same { "identical".to_owned() } else { format!("different: {}", dut.hear(&again).words) };
                let _ = ctx.check("reply to the retransmission", "the previous reply, byte for byte", observed, same);
                // The same SQN with other content is still a retransmission: nothing runs.
                let off = OsdpFrame { data: out(0, 1).to_data(), ..OsdpFrame::command(dut.address(), sqn, opcode::OUT, vec![]) };
                if dut.session.is_none() {
                    let got = dut.exchange(ctx, &off, "OUT 0 off under the same SQN".into()).await?;
                    dut.checked(ctx, "OUT off resent", &off, got)?;
                    let image = outputs(dut, ctx).await?;
                    ctx.check("output 0 after the resent OUT off", "on (1)", level(&image, 0), image.first() == Some(&1))?;
                } else {
                    dut.open(ctx, first)?;
                    let image = outputs(dut, ctx).await?;
                    ctx.check("output 0 after OUT on sent twice", "on (1)", level(&image, 0), image.first() == Some(&1))?;
                }
                Ok(())
            }
        },
        purpose! {
            id: "OSDP-SEQ-002", when: when::always,
            |dut, ctx| {
                dut.start(ctx).await?;
                dut.leave_session();
                let poll = OsdpFrame::command(dut.address(), 0, opcode::POLL, vec![]);
                let got = dut.exchange(ctx, &poll, "POLL SQN 0".into()).await?;
                dut.checked(ctx, "POLL SQN 0", &poll, got)?;
                let skip = OsdpFrame::command(dut.address(), 2, opcode::ID, vec![0]);
                expect_nak(dut, ctx, "ID with SQN 2 after SQN 0", &skip, NakCode::BadSequence).await
            }
        },
        purpose! {
            id: "OSDP-NAK-001", when: when::always,
            |dut, ctx| {
                dut.start(ctx).await?;
                let r = dut.command(ctx, &Command::Unknown { code: 0x5F, data: vec![] }).await?;
                ctx.check("reply to command 5F", "NAK 03", r.describe(), is_nak(&r, NakCode::UnknownCommand))
            }
        },
        purpose! {
            id: "OSDP-NAK-002", when: when::always,
            |dut, ctx| {
                dut.start(ctx).await?;
                let r = dut.command(ctx, &Command::Unknown { code: opcode::OUT, data: vec![0, 2] }).await?;
                ctx.check("reply to a short OUT", "NAK 02", r.describe(), is_nak(&r, NakCode::BadLength))
            }
        },
        purpose! {
            id: "OSDP-CMD-001", when: when::outputs,
            |dut, ctx| {
                dut.start(ctx).await?;
                for n in 0..dut.ics.caps.outputs {
                    for (control, want) in [(2u8, 1u8), (1, 0)] {
                        let r = dut.command(ctx, &out(n, control)).await?;
                        ctx.check(format!("OUT {n} control {control}"), "ACK", r.describe(), r == Reply::Ack)?;
                        let image = outputs(dut, ctx).await?;
                        let _ = ctx.check(format!("output {n} after control {control}"), want, level(&image, n), image.get(usize::from(n)) == Some(&want));
                    }
                }
                Ok(())
            }
        },
        purpose! {
            id: "OSDP-CMD-002", when: when::always,
            |dut, ctx| {
                dut.start(ctx).await?;
                let l = dut.command(ctx, &Command::LStat).await?;
                let _ = ctx.check("LSTAT answer", "LSTATR", l.describe(), matches!(l, Reply::LStatR { .. }));
                let i = dut.command(ctx, &Command::IStat).await?;
                let declared = dut.ics.caps.inputs;
                let points = if let Reply::IStatR(v) = &i { Some(v.len()) } else { None };
                ctx.check("ISTAT answer", format!("ISTATR with {declared} points"), i.describe(), points == Some(usize::from(declared)))
            }
        },
        purpose! {
            id: "OSDP-CMD-003", when: when::always,
            |dut, ctx| {
                dut.start(ctx).await?;
                let led = Command::Led(vec![LedControl {
                    reader: 0,
                    led: 0,
                    temporary: LedTemporary { control: 0, on_time: 0, off_time: 0, on_colour: 0, off_colour: 0, timer: 0 },
                    permanent: LedPermanent { control: 1, on_time: 5, off_time: 0, on_colour: 2, off_colour: 0 },
                }]);
                let buz = Command::Buz(Buzzer { reader: 0, tone: 2, on_time: 1, off_time: 1, count: 1 });
                let text = Command::Text(Text { reader: 0, control: 1, temp_time: 0, row: 1, column: 1, text: b"Welcome".to_vec() });
                for c in [led, buz, text] {
                    let r = dut.command(ctx, &c).await?;
                    let _ = ctx.check(format!("{} answered", c.name()), "ACK", r.describe(), r == Reply::Ack);
                }
                Ok(())
            }
        },
        purpose! {
            id: "OSDP-SC-001", when: when::secure,
            |dut, ctx| {
                dut.start(ctx).await?;
                let r = dut.secure(ctx, &Command::Poll).await?;
                ctx.check("secured POLL answered", POLL_ANSWER, r.describe(), answers_poll(&r))
            }
        },
        purpose! {
            id: "OSDP-SC-002", when: when::secure,
            |dut, ctx| {
                dut.start(ctx).await?;
                if dut.ics.caps.outputs == 0 {
                    let r = dut.secure(ctx, &Command::IStat).await?;
                    return ctx.check("encrypted ISTAT", "ISTATR", r.describe(), matches!(r, Reply::IStatR(_)));
                }
                let r = dut.secure(ctx, &out(0, 2)).await?;
                ctx.check("encrypted OUT", "ACK", r.describe(), r == Reply::Ack)?;
                let image = outputs(dut, ctx).await?;
                ctx.check("output 0 after the encrypted OUT", 1, level(&image, 0), image.first() == Some(&1))
            }
        },
        purpose! {
            id: "OSDP-SC-003", when: when::secure,
            |dut, ctx| {
                dut.start(ctx).await?;
                let sqn = dut.next_sqn();
                let mut f = dut.seal(&Command::Poll, sqn)?;
                if let Some(m) = f.mac.as_mut() {
                    m[0] ^= 0x01;
                }
                let got = dut.exchange(ctx, &f, "POLL with a corrupted MAC".into()).await?;
                let r = dut.checked(ctx, "POLL with a bad MAC", &f, got)?;
                let heard = dut.hear(&r);
                ctx.check("reply to a wrong MAC", format!("NAK {}, in plain text", NakCode::ScConditions), heard.words.clone(), heard_nak(&heard, NakCode::ScConditions) && r.frame.scb.is_none())?;
                // The PD dropped the session: a command MAC'd with the old chain is not accepted.
                let sqn = dut.next_sqn();
                let f = dut.seal(&Command::Poll, sqn)?;
                let got = dut.exchange(ctx, &f, "POLL MAC'd with the old session".into()).await?;
                let heard = dut.hear(&dut.checked(ctx, "POLL after the session ended", &f, got)?);
                ctx.check("secured command after the session ended", format!("NAK {}", NakCode::ScConditions), heard.words.clone(), heard_nak(&heard, NakCode::ScConditions))
            }
        },
        purpose! {
            id: "OSDP-SC-004", when: when::keyed,
            |dut, ctx| {
                dut.start(ctx).await?;
                if dut.ics.caps.outputs > 0 {
                    // A known state first: on a real bus the PD keeps what earlier purposes did.
                    let r = dut.command(ctx, &out(0, 1)).await?;
                    ctx.check("OUT 0 off in the session", "ACK", r.describe(), r == Reply::Ack)?;
                }
                dut.leave_session();
                let cmd = if dut.ics.caps.outputs > 0 { out(0, 2) } else { Command::IStat };
                let heard = dut.plain_heard(ctx, &cmd).await?;
                ctx.check(format!("plain {}", cmd.name()), format!("NAK {}", NakCode::ScConditions), heard.words.clone(), heard_nak(&heard, NakCode::ScConditions))?;
                if dut.ics.caps.outputs > 0 {
                    dut.handshake(ctx).await?;
                    let image = outputs(dut, ctx).await?;
                    ctx.check("output 0 after the refused plain OUT", 0, level(&image, 0), image.first() == Some(&0))?;
                }
                Ok(())
            }
        },
        purpose! {
            id: "OSDP-SC-005", when: when::always,
            |dut, ctx| {
                dut.restart();
                let sqn = dut.next_sqn();
                dut.send_bytes(ctx, &secure_block_poll(dut.address(), sqn), "POLL, SQN 0, SCB 15 without a MAC (as OSDP.Net-derived panels open)".into()).await?;
                let limit = dut.timeout();
                let got = dut.recv(ctx, limit).await?;
                let reference = OsdpFrame::command(dut.address(), sqn, opcode::POLL, vec![]);
                let r = dut.checked(ctx, "POLL with a secure block before any session", &reference, got)?;
                let nak = if dut.ics.caps.secure_channel { NakCode::ScConditions } else { NakCode::ScUnsupported };
                let heard = dut.hear(&r);
                ctx.check("reply to a secure block outside a session", format!("NAK {nak}, in plain text"), heard.words.clone(), heard_nak(&heard, nak) && r.frame.scb.is_none())?;
                if dut.ics.caps.secure_channel {
                    dut.handshake(ctx).await?;
                    let r = dut.secure(ctx, &Command::Poll).await?;
                    ctx.check("secured POLL after the handshake", POLL_ANSWER, r.describe(), answers_poll(&r))?;
                }
                Ok(())
            }
        },
        purpose! {
            id: "OSDP-TIM-001", when: when::always,
            |dut, ctx| {
                dut.start(ctx).await?;
                let mut worst = Duration::ZERO;
                for _ in 0..20 {
                    let sqn = dut.next_sqn();
                    let f = dut.packet(&Command::Poll, sqn)?;
                    let got = dut.exchange(ctx, &f, "POLL".into()).await?;
                    let r = dut.checked(ctx, "POLL", &f, got)?;
                    worst = worst.max(r.elapsed);
                    if dut.session.is_some() {
                        dut.open(ctx, r)?;
                    }
                }
                ctx.timing("slowest reply", worst);
                ctx.check("slowest of 20 replies", format!("<= {} ms", dut.ics.caps.reply_timeout_ms), format!("{:.1} ms", worst.as_secs_f64() * 1e3), worst <= dut.timeout())
            }
        },
    ];
    all.extend(super::bio_file::bodies());
    all
}
