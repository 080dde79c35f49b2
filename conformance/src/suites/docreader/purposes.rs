//! The `docreader` purposes: identity, lights, image geometry, the empty glass, document events, the RTE block,
//! protocol robustness. Each body sends its own frames (broken ones too) and judges every answer's sequence
//! number; MRZ lines are read by `khil_mrtd::mrz`, and only whether they read (never their text) is evidence.

use khil_docreader::frame::Frame;
use khil_docreader::message::{ErrorCode, Light, Message};
use khil_mrtd::mrz::Mrz;

use super::{DocDut, Specimen, light_name, present, purpose, when};
use crate::purpose::{Body, Ctx, Stop, listed};

/// Expects an Error with `code` as the answer to request `seq`.
fn expect_error(ctx: &mut Ctx, what: &str, seq: u16, answer: Option<Frame>, code: ErrorCode) -> Result<(), Stop> {
    let (_, message) = DocDut::expect_answer(ctx, what, seq, answer)?;
    match message {
        Message::Error { code: got, .. } => ctx.check_eq(format!("{what}: the error code"), code, got),
        other => Err(ctx.fail(format!("{what}: the answer"), format!("Error {code}"), Message::name_of(other.kind()))),
    }
}

/// A CaptureRequest for `light`: the Capture (a failed check for anything else).
async fn capture(dut: &mut DocDut, ctx: &mut Ctx, light: Light) -> Result<khil_docreader::Capture, Stop> {
    let what = format!("CaptureRequest ({})", light_name(light));
    let (seq, answer) = dut.request(ctx, &Message::CaptureRequest { light }).await?;
    match DocDut::expect_answer(ctx, &what, seq, answer)? {
        (_, Message::Capture(c)) => Ok(c),
        (_, Message::Error { code, .. }) => {
            Err(ctx.fail(format!("{what}: the answer"), "Capture", format!("Error {code}")))
        }
        (_, m) => Err(ctx.fail(format!("{what}: the answer"), "Capture", Message::name_of(m.kind()))),
    }
}

/// A passport on the glass, its DocumentPresent taken (or not: some purposes judge it, these only need a document).
async fn with_passport(dut: &mut DocDut, ctx: &mut Ctx) -> Result<(), Stop> {
    dut.place(ctx, Specimen::Passport).await?;
    let limit = dut.event_timeout();
    let _ = dut.event(ctx, limit).await?;
    Ok(())
}

/// Whether MRZ lines read with every check digit right (evidence: the format or the failure, never the text).
fn mrz_reads(ctx: &mut Ctx, what: &str, lines: &[String]) -> Result<(), Stop> {
    match Mrz::read_lines(lines) {
        Ok(r) if r.all_ok() => ctx.check(what, "an MRZ whose check digits are right", r.mrz.format, true),
        Ok(r) => {
            // Where the wrong check digit stands, not what it is.
            let at = r.first_failure().map_or_else(String::new, |c| format!(" (line {}, column {})", c.line, c.column));
            Err(ctx.fail(what, "an MRZ whose check digits are right", format!("a wrong check digit{at}")))
        }
        Err(e) => Err(ctx.fail(what, "an MRZ", e)),
    }
}

#[allow(clippy::too_many_lines)] // A list of purposes, each short.
pub(super) fn bodies() -> Vec<Body<DocDut>> {
    vec![
        purpose! {
            id: "DOCR-ID-001", when: when::always,
            |dut, ctx| {
                let (seq, answer) = dut.request(ctx, &Message::Hello).await?;
                let (_, message) = DocDut::expect_answer(ctx, "Hello", seq, answer)?;
                let Message::DeviceInfo(info) = message else {
                    return Err(ctx.fail("Hello's answer", "DeviceInfo", Message::name_of(message.kind())));
                };
                let caps = dut.ics.caps.clone();
                let _ = ctx.check_eq("dpi", caps.dpi, info.dpi);
                let _ = ctx.check_eq("page width", caps.page_width, info.page_width);
                let _ = ctx.check_eq("page height", caps.page_height, info.page_height);
                crate::suite::check_declared(ctx, &crate::suite::Identity {
                    fields: vec![
                        ("model".into(), info.model.clone()),
                        ("firmware".into(), info.firmware.clone()),
                        ("serial".into(), info.serial.clone()),
                    ],
                });
                Ok(())
            }
        },
        purpose! {
            id: "DOCR-LIGHT-001", when: when::always,
            |dut, ctx| {
                let (seq, answer) = dut.request(ctx, &Message::Hello).await?;
                let (_, message) = DocDut::expect_answer(ctx, "Hello", seq, answer)?;
                let Message::DeviceInfo(info) = message else {
                    return Err(ctx.fail("Hello's answer", "DeviceInfo", Message::name_of(message.kind())));
                };
                let mut declared: Vec<String> = dut.ics.lights.iter().map(|l| light_name(*l)).collect();
                let mut offered: Vec<String> = info.lights.iter().map(|l| light_name(l.light)).collect();
                declared.sort();
                offered.sort();
                ctx.check("DeviceInfo's lights vs the ICS's", listed(&declared), listed(&offered), declared == offered)?;
                with_passport(dut, ctx).await?;
                for source in info.lights {
                    let c = capture(dut, ctx, source.light).await?;
                    ctx.check(
                        format!("the capture under {}: its light", light_name(source.light)),
                        light_name(source.light),
                        light_name(c.light),
                        c.light == source.light,
                    )?;
                }
                Ok(())
            }
        },
        purpose! {
            id: "DOCR-LIGHT-002", when: when::always,
            |dut, ctx| {
                let (seq, answer) = dut.request(ctx, &Message::CaptureRequest { light: Light::Other(0x7F) }).await?;
                expect_error(ctx, "CaptureRequest (light 7F)", seq, answer, ErrorCode::LightNotOffered)
            }
        },
        purpose! {
            id: "DOCR-GEO-001", when: when::always,
            |dut, ctx| {
                dut.place(ctx, Specimen::Passport).await?;
                let limit = dut.event_timeout();
                let event = dut.event(ctx, limit).await?;
                let document = event.and_then(|f| match Message::from_frame(&f) {
                    Ok(Message::DocumentPresent(p)) => Some(p.document),
                    _ => None,
                });
                let c = capture(dut, ctx, Light::White).await?;
                let caps = dut.ics.caps.clone();
                let _ = ctx.check(
                    "the capture's size",
                    format!("{} x {}", caps.page_width, caps.page_height),
                    format!("{} x {}", c.width, c.height),
                    (c.width, c.height) == (caps.page_width, caps.page_height),
                );
                let _ = ctx.check_eq("the capture's dpi", caps.dpi, c.dpi);
                let _ = ctx.check_eq("pixel bytes", usize::from(c.width) * usize::from(c.height), c.pixels.len());
                match document {
                    Some(n) => {
                        let _ = ctx.check_eq("the document the capture names", n, c.document);
                    }
                    None => ctx.note("no DocumentPresent: the capture's document number is not compared"),
                }
                Ok(())
            }
        },
        purpose! {
            id: "DOCR-EMPTY-001", when: when::always,
            |dut, ctx| {
                dut.remove(ctx).await?;
                let (seq, answer) = dut.request(ctx, &Message::CaptureRequest { light: Light::White }).await?;
                let _ = expect_error(ctx, "CaptureRequest on an empty glass", seq, answer, ErrorCode::NoDocument);
                let (seq, answer) = dut.request(ctx, &Message::VizRequest).await?;
                expect_error(ctx, "VizRequest on an empty glass", seq, answer, ErrorCode::NoDocument)
            }
        },
        purpose! {
            id: "DOCR-EVT-001", when: when::always,
            |dut, ctx| {
                dut.remove(ctx).await?;
                dut.forget_events();
                dut.place(ctx, Specimen::Passport).await?;
                let limit = dut.event_timeout();
                let event = dut.event(ctx, limit).await?;
                let (_, mrz) = present(ctx, event)?;
                mrz_reads(ctx, "DocumentPresent's MRZ", &mrz)
            }
        },
        purpose! {
            id: "DOCR-EVT-002", when: when::always,
            |dut, ctx| {
                dut.remove(ctx).await?;
                dut.forget_events();
                dut.place(ctx, Specimen::Passport).await?;
                let limit = dut.event_timeout();
                let event = dut.event(ctx, limit).await?;
                let (number, _) = present(ctx, event)?;
                dut.remove(ctx).await?;
                let Some(frame) = dut.event(ctx, limit).await? else {
                    return Err(ctx.fail("DocumentRemoved", "within the event timeout", "nothing"));
                };
                ctx.check_eq("DocumentRemoved's sequence number", 0, frame.seq)?;
                match Message::from_frame(&frame) {
                    Ok(Message::DocumentRemoved { document }) => ctx.check_eq("the document removed", number, document),
                    Ok(m) => Err(ctx.fail("the event", "DocumentRemoved", Message::name_of(m.kind()))),
                    Err(e) => Err(ctx.fail("the event", "a message that parses", e)),
                }
            }
        },
        purpose! {
            id: "DOCR-RTE-001", when: when::rte,
            |dut, ctx| {
                dut.remove(ctx).await?;
                dut.forget_events();
                dut.place(ctx, Specimen::Passport).await?;
                let limit = dut.event_timeout();
                let (block, dropped) = dut.rte_block(ctx, limit).await?;
                let _ = ctx.check_eq("RTE bytes dropped before the block", 0, dropped);
                let Some(block) = block else {
                    return Err(ctx.fail("the RTE block", "one well-formed block within the event timeout", "none"));
                };
                let lines: Vec<String> = block.mrz_lines().into_iter().map(str::to_owned).collect();
                mrz_reads(ctx, "the RTE block's MRZ, bottom line last", &lines)?;
                // DocumentPresent itself is DOCR-EVT-001's to judge: here it is only compared with, when it came.
                let event = dut.event(ctx, limit).await?;
                match event.as_ref().map(Message::from_frame) {
                    Some(Ok(Message::DocumentPresent(p))) => {
                        let same = p.mrz == lines;
                        ctx.check(
                            "the RTE block's lines vs DocumentPresent's",
                            "the same",
                            if same { "the same" } else { "different" },
                            same,
                        )?;
                    }
                    _ => ctx.note("no DocumentPresent to compare the RTE lines with (DOCR-EVT-001 judges it)"),
                }
                Ok(())
            }
        },
        purpose! {
            id: "DOCR-RTE-002", when: when::rte,
            |dut, ctx| {
                for specimen in [Specimen::Td2, Specimen::Passport] {
                    dut.remove(ctx).await?;
                    dut.place(ctx, specimen).await?;
                    let limit = dut.event_timeout();
                    let (block, _) = dut.rte_block(ctx, limit).await?;
                    let Some(block) = block else {
                        return Err(ctx.fail(format!("the RTE block ({specimen:?})"), "a block", "none"));
                    };
                    let present: Vec<&String> = block.lines.iter().filter(|l| !l.is_empty()).collect();
                    let width = if present.len() == 3 { 30 } else { 44 };
                    for (i, line) in present.iter().enumerate() {
                        let mrz = line.trim_end_matches('_');
                        let ok = line.len() == width && !mrz.is_empty() && !mrz.ends_with(' ');
                        ctx.check(
                            format!("{specimen:?}: line {} of {}: its length", i + 1, present.len()),
                            format!("{width} (the MRZ, then underscores)"),
                            format!("{} ({} MRZ characters)", line.len(), mrz.len()),
                            ok,
                        )?;
                    }
                }
                Ok(())
            }
        },
        purpose! {
            id: "DOCR-ROB-001", when: when::always,
            |dut, ctx| {
                let seq = dut.next_seq();
                dut.send(ctx, &Frame { version: 1, kind: 0x44, seq, payload: Vec::new() }).await?;
                let answer = dut.answer(ctx).await?;
                expect_error(ctx, "a frame of type 44", seq, answer, ErrorCode::UnknownMessage)
            }
        },
        purpose! {
            id: "DOCR-ROB-002", when: when::always,
            |dut, ctx| {
                let seq = dut.next_seq();
                let mut frame = Message::Hello.to_frame(seq).map_err(|e| Stop::Error(e.to_string()))?;
                frame.version = 2;
                dut.send(ctx, &frame).await?;
                let answer = dut.answer(ctx).await?;
                if let Some(f) = &answer {
                    let _ = ctx.check_eq("the answer's version", 1, f.version);
                }
                let (_, message) = DocDut::expect_answer(ctx, "a Hello of version 2", seq, answer)?;
                match message {
                    Message::Error { code, text } => {
                        let _ = ctx.check_eq("the error code", ErrorCode::UnsupportedVersion, code);
                        ctx.check("the error's text names version 1", "a text with 1", &text, text.contains('1'))
                    }
                    m => Err(ctx.fail("the answer", "Error 0001", Message::name_of(m.kind()))),
                }
            }
        },
        purpose! {
            id: "DOCR-ROB-003", when: when::always,
            |dut, ctx| {
                let seq = dut.next_seq();
                dut.send(ctx, &Frame { version: 1, kind: 0x02, seq, payload: vec![1, 1] }).await?;
                let answer = dut.answer(ctx).await?;
                let _ = expect_error(ctx, "a CaptureRequest of two bytes", seq, answer, ErrorCode::Malformed);
                let seq = dut.next_seq();
                dut.send(ctx, &Frame { version: 1, kind: 0x01, seq, payload: vec![0] }).await?;
                let answer = dut.answer(ctx).await?;
                expect_error(ctx, "a Hello of one byte", seq, answer, ErrorCode::Malformed)
            }
        },
        purpose! {
            id: "DOCR-ROB-004", when: when::always,
            |dut, ctx| {
                let broken_seq = dut.next_seq();
                let mut broken = Message::Hello.to_frame(broken_seq).map_err(|e| Stop::Error(e.to_string()))?
                    .encode().map_err(|e| Stop::Error(e.to_string()))?;
                // The payload CRC of an empty payload: 00 00 00 00 becomes 00 00 00 01.
                let last = broken.len() - 1;
                broken[last] ^= 0x01;
                dut.send_raw(ctx, &broken, format!("Hello seq {broken_seq} with its payload CRC broken")).await?;
                let (seq, answer) = dut.request(ctx, &Message::Hello).await?;
                let (_, message) = DocDut::expect_answer(ctx, "the intact Hello after the broken one", seq, answer)?;
                ctx.check_eq("its answer", "DeviceInfo", Message::name_of(message.kind()))?;
                let more = dut.answer_within(ctx, std::time::Duration::from_millis(300)).await?;
                ctx.check(
                    "anything else answered",
                    "nothing (the broken frame is not answered)",
                    more.as_ref().map_or("nothing".to_owned(), super::dut::summary),
                    more.is_none(),
                )
            }
        },
    ]
}
