//! Framing: the packet format both ways, checksums, lengths, addresses, resynchronisation.

use std::time::Duration;

use khil_fingerprint::command::opcode;
use khil_fingerprint::frame::{PacketKind, ZfmFrame};
use khil_fingerprint::{Command, ConfirmationCode as Cc, Reply};

use super::purpose;
use crate::purpose::{Body, Stop};
use crate::suites::zfm::dut::reply_words;
use crate::suites::zfm::{ZfmDut, when};

/// After a disturbance: the module answers a valid TemplateNum correctly.
async fn still_answers(dut: &mut ZfmDut, ctx: &mut crate::purpose::Ctx) -> Result<(), Stop> {
    dut.drain(ctx, Duration::from_millis(300)).await?;
    let r = dut.call(ctx, &Command::TemplateNum).await?;
    ctx.check("the next valid command is answered", "TemplateNum ack 00", r.cc(), r.cc().is_ok())
}

#[allow(clippy::too_many_lines)] // A list of purposes, each short: splitting it would only scatter them.
pub(super) fn purposes() -> Vec<Body<ZfmDut>> {
    vec![
        purpose! {
            id: "ZFM-FRM-001", when: when::always,
            |dut, ctx| {
                for cmd in [Command::ReadSysPara, Command::TemplateNum, Command::ReadIndexTable { page: 0 }] {
                    let answer = dut.ask(ctx, &cmd).await?;
                    // decode() already verified start code, LEN and checksum; re-encoding must give the same bytes.
                    let again = answer.frame.encode();
                    let _ = ctx.check(format!("{} ack is PID 07", cmd.name()), PacketKind::Ack, answer.frame.kind, answer.frame.kind == PacketKind::Ack);
                    let expected_len = Reply::payload_len(cmd.opcode()).unwrap_or(1);
                    let _ = ctx.check(format!("{} ack content length", cmd.name()), expected_len, answer.frame.payload.len(), answer.frame.payload.len() == expected_len);
                    let _ = ctx.check(format!("{} ack LEN field", cmd.name()), answer.frame.payload.len() + 2, u16::from_be_bytes([again[7], again[8]]), usize::from(u16::from_be_bytes([again[7], again[8]])) == answer.frame.payload.len() + 2);
                }
                Ok(())
            }
        },
        purpose! {
            id: "ZFM-FRM-002", when: when::always,
            |dut, ctx| {
                // SetSysPara security level 5 with a broken checksum: if the module executed it, ReadSysPara shows it.
                let before = dut.params(ctx).await?.security_level;
                let target = if before == 5 { 4 } else { 5 };
                let mut bytes = ZfmFrame { address: dut.address, kind: PacketKind::Command, payload: vec![opcode::SET_SYS_PARA, 5, target] }.encode();
                let last = bytes.len() - 1;
                bytes[last] ^= 0x5A;
                dut.send_raw(ctx, &bytes, "SetSysPara (0E) security level with a corrupted checksum".into()).await?;
                match dut.recv(ctx, Duration::from_millis(dut.ics.caps.reply_timeout_ms)).await? {
                    Some(f) => { let _ = ctx.check("reply to the corrupted command", "ack 01", reply_words(&f), f.kind == PacketKind::Ack && f.payload.first() == Some(&0x01)); }
                    None => { let _ = ctx.check("reply to the corrupted command", "ack 01", "silence", false); }
                }
                let after = dut.params(ctx).await?.security_level;
                let _ = ctx.check("the corrupted command was not executed", before, after, before == after);
                still_answers(dut, ctx).await
            }
        },
        purpose! {
            id: "ZFM-FRM-003", when: when::always,
            |dut, ctx| {
                // Store with one parameter byte instead of three.
                let frame = ZfmFrame { address: dut.address, kind: PacketKind::Command, payload: vec![opcode::STORE, 1] };
                dut.send_raw(ctx, &frame.encode(), "Store (06) with 1 parameter byte instead of 3".into()).await?;
                match dut.recv(ctx, Duration::from_millis(dut.ics.caps.reply_timeout_ms)).await? {
                    Some(f) => { let _ = ctx.check("reply to the short Store", "ack other than 00", reply_words(&f), f.kind == PacketKind::Ack && f.payload.first().is_some_and(|&c| c != 0)); }
                    None => { let _ = ctx.check("reply to the short Store", "ack other than 00", "silence", false); }
                }
                still_answers(dut, ctx).await
            }
        },
        purpose! {
            id: "ZFM-FRM-004", when: when::always,
            |dut, ctx| {
                let noise: Vec<u8> = (0..64u32).map(|i| (i.wrapping_mul(167).wrapping_add(13) % 251) as u8).filter(|&b| b != 0xEF).collect();
                dut.send_raw(ctx, &noise, format!("{} bytes of noise (no EF)", noise.len())).await?;
                let r = dut.call(ctx, &Command::TemplateNum).await?;
                ctx.check("TemplateNum after noise", Cc::Ok, r.cc(), r.cc().is_ok())
            }
        },
        purpose! {
            id: "ZFM-FRM-005", when: when::always,
            |dut, ctx| {
                let bytes = ZfmFrame { address: dut.address, kind: PacketKind::Command, payload: vec![opcode::READ_SYS_PARA] }.encode();
                for (i, b) in bytes.iter().enumerate() {
                    dut.send_raw(ctx, &[*b], format!("ReadSysPara byte {}/{}", i + 1, bytes.len())).await?;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                let f = dut.recv(ctx, Duration::from_millis(dut.ics.caps.reply_timeout_ms)).await?;
                let len = f.as_ref().map_or(0, |f| f.payload.len());
                ctx.check("ReadSysPara ack after fragmented write", "17 content bytes", len, len == 17)
            }
        },
        purpose! {
            id: "ZFM-FRM-006", when: when::always,
            |dut, ctx| {
                let other = dut.address ^ 0x0101_0101;
                let frame = ZfmFrame { address: other, kind: PacketKind::Command, payload: vec![opcode::TEMPLATE_NUM] };
                dut.send_raw(ctx, &frame.encode(), format!("TemplateNum (1D) to address {other:08X}")).await?;
                let f = dut.recv(ctx, Duration::from_millis(dut.ics.caps.reply_timeout_ms)).await?;
                let observed = f.as_ref().map_or("silence".to_owned(), reply_words);
                let ok = f.as_ref().is_none_or(|f| f.payload.first() == Some(&0x20));
                let _ = ctx.check("reply to a foreign address", "silence or ack 20", observed, ok);
                still_answers(dut, ctx).await
            }
        },
        purpose! {
            id: "ZFM-FRM-007", when: when::always,
            |dut, ctx| {
                let zeros = vec![0u8; dut.ics.caps.template_size];
                dut.down_char(ctx, 1, &zeros).await?;
                let cap = dut.ics.caps.library_size;
                let a = dut.ask(ctx, &Command::Search { buffer: 1, start: 0, count: cap }).await?;
                let _ = ctx.check("Search with a blank probe: not found", "09", a.cc(), a.cc() == Cc::NotFound);
                let _ = ctx.check("Search error ack length", 5, a.frame.payload.len(), a.frame.payload.len() == 5);
                dut.down_char(ctx, 2, &zeros).await?;
                let a = dut.ask(ctx, &Command::Match).await?;
                let _ = ctx.check("Match of blank buffers: no match", "08", a.cc(), a.cc() == Cc::NoMatch);
                let _ = ctx.check("Match error ack length", 3, a.frame.payload.len(), a.frame.payload.len() == 3);
                if dut.ics.caps.notepad {
                    let a = dut.ask(ctx, &Command::ReadNotepad { page: 16 }).await?;
                    let _ = ctx.check("ReadNotepad page 16 refused", "1C", a.cc(), a.cc() == Cc::BadNotepadPage);
                    let _ = ctx.check("ReadNotepad error ack length", 33, a.frame.payload.len(), a.frame.payload.len() == 33);
                }
                Ok(())
            }
        },
        purpose! {
            id: "ZFM-FRM-008", when: when::always,
            |dut, ctx| {
                let a = dut.ask(ctx, &Command::Unknown { code: 0x77, params: vec![1, 2, 3] }).await?;
                let _ = ctx.check("ack to instruction 77", "FC or 01", a.cc(), matches!(a.cc(), Cc::Unsupported | Cc::PacketReceiveError));
                still_answers(dut, ctx).await
            }
        },
        purpose! {
            id: "ZFM-FRM-009", when: when::always,
            |dut, ctx| {
                let mut cut = ZfmFrame { address: dut.address, kind: PacketKind::Command, payload: vec![opcode::WRITE_NOTEPAD; 256] }.encode();
                cut.truncate(20);
                dut.send_raw(ctx, &cut, "WriteNotepad header announcing 258, then nothing".into()).await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
                still_answers(dut, ctx).await
            }
        },
    ]
}
