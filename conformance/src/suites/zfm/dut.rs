//! The module under test, seen through the codec only: the suite cannot tell (and must not care) whether it is
//! a simulator. Every frame each way goes into the purpose's evidence, redacted where it carries biometric data
//! or a password; every reply is checked for address, PID, length and checksum on the way in.

use std::time::{Duration, Instant};

use khil_fingerprint::command::opcode;
use khil_fingerprint::frame::{self, FrameError, PacketKind, ZfmFrame};
use khil_fingerprint::{Command, ConfirmationCode as Cc, PacketSize, Reply, ZfmFormat, image};
use khil_link::{BoxLink, FramedLink, LinkError, Received};

use super::ZfmIcs;
use crate::purpose::{Ctx, Stop};
use crate::verdict::{Direction, hex};

/// A module on a link.
pub struct ZfmDut {
    wire: FramedLink<BoxLink, ZfmFormat>,
    /// The address commands go to and replies must come from.
    pub address: u32,
    /// What the ICS declares.
    pub ics: ZfmIcs,
    /// The data packet size in force (from ReadSysPara when the DUT opened).
    pub packet_size: usize,
}

impl std::fmt::Debug for ZfmDut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZfmDut").field("address", &format_args!("{:08X}", self.address)).finish_non_exhaustive()
    }
}

/// The frame as evidence keeps it: data packet contents (images, templates) and passwords are replaced by
/// their length; everything else is kept byte for byte.
fn redacted(bytes: &[u8]) -> String {
    if bytes.len() < frame::HEADER_LEN + frame::CHECKSUM_LEN {
        return hex(bytes);
    }
    let pid = bytes[6];
    let payload = &bytes[frame::HEADER_LEN..bytes.len() - frame::CHECKSUM_LEN];
    let secret = match PacketKind::from_code(pid) {
        Some(PacketKind::Data | PacketKind::EndData) => true,
        Some(PacketKind::Command) => matches!(payload.first(), Some(&(opcode::VFY_PWD | opcode::SET_PWD))),
        _ => false,
    };
    if secret {
        let keep = if pid == PacketKind::Command.code() { frame::HEADER_LEN + 1 } else { frame::HEADER_LEN };
        let hidden = bytes.len() - keep - frame::CHECKSUM_LEN;
        format!("{} <{hidden} bytes not kept> {}", hex(&bytes[..keep]), hex(&bytes[bytes.len() - 2..]))
    } else {
        hex(bytes)
    }
}

/// A reply frame in words: its kind and confirmation code (`ack 01 error receiving packet`).
pub(crate) fn reply_words(f: &ZfmFrame) -> String {
    match f.payload.first() {
        Some(&code) => format!("{} {}", f.kind, Cc::from_code(code)),
        None => format!("{} with no content", f.kind),
    }
}

/// What came back for a command.
#[derive(Debug, Clone)]
pub struct Answer {
    pub frame: ZfmFrame,
    pub elapsed: Duration,
}

impl Answer {
    pub fn cc(&self) -> Cc {
        Cc::from_code(self.frame.payload.first().copied().unwrap_or(0xFF))
    }
}

impl ZfmDut {
    pub fn new(link: BoxLink, ics: ZfmIcs) -> ZfmDut {
        ZfmDut { wire: FramedLink::new(link, ZfmFormat), address: ics.ixit.address, packet_size: 128, ics }
    }

    /// Timeout for `cmd`: the declared reply time, or the declared time for slow operations.
    pub fn timeout_for(&self, cmd: &Command) -> Duration {
        let slow = matches!(
            cmd,
            Command::GenImg
                | Command::GetImageEx
                | Command::Img2Tz { .. }
                | Command::Match
                | Command::Search { .. }
                | Command::HiSpeedSearch { .. }
                | Command::RegModel
                | Command::Store { .. }
                | Command::DeleteChar { .. }
                | Command::Empty
                | Command::SoftRst
        );
        Duration::from_millis(if slow { self.ics.caps.slow_reply_timeout_ms } else { self.ics.caps.reply_timeout_ms })
    }

    /// Writes bytes as they are, recorded.
    pub async fn send_raw(&mut self, ctx: &mut Ctx, bytes: &[u8], summary: String) -> Result<(), Stop> {
        ctx.frame(Direction::Out, redacted(bytes), summary);
        let deadline = tokio::time::Instant::now() + Duration::from_millis(self.ics.caps.slow_reply_timeout_ms);
        match self.wire.send(bytes, deadline).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Stop::Error("the line stalled: the command could not be written".into())),
            Err(e) => Err(Stop::Error(format!("the line broke while sending: {e}"))),
        }
    }

    /// Sends a command packet.
    pub async fn send(&mut self, ctx: &mut Ctx, cmd: &Command) -> Result<(), Stop> {
        let frame = ZfmFrame { address: self.address, kind: PacketKind::Command, payload: cmd.to_payload() };
        self.send_raw(ctx, &frame.encode(), format!("command {cmd}")).await
    }

    /// Sends a data transfer, split at `packet_size`.
    pub async fn send_data(&mut self, ctx: &mut Ctx, data: &[u8], packet_size: usize) -> Result<(), Stop> {
        let frames = image::split_at_address(data, packet_size, self.address);
        let n = frames.len();
        for (i, f) in frames.into_iter().enumerate() {
            let summary = format!(
                "{} packet {}/{n}, {} bytes",
                if f.kind == PacketKind::EndData { "end-data" } else { "data" },
                i + 1,
                f.payload.len()
            );
            self.send_raw(ctx, &f.encode(), summary).await?;
        }
        Ok(())
    }

    /// The next valid frame within `limit`, `None` on silence. Bytes that are not a valid frame (a bad checksum,
    /// a stray byte) are recorded and counted as a failed check "replies are well-formed": a conforming module
    /// never sends them. The R503's 0x55 after SoftRst is expected by the caller and drained separately.
    pub async fn recv(&mut self, ctx: &mut Ctx, limit: Duration) -> Result<Option<ZfmFrame>, Stop> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match self.wire.next(deadline).await {
                Ok(None) => return Ok(None),
                Ok(Some(Received::Frame { frame, raw })) => {
                    ctx.frame(Direction::In, redacted(&raw), describe_in(&frame));
                    return Ok(Some(frame));
                }
                Ok(Some(Received::Skipped { raw, reason })) => {
                    ctx.frame(Direction::In, hex(&raw), format!("not a valid frame: {reason}"));
                    let _ = ctx.check(
                        "replies are well-formed frames (EF 01, PID, LEN, checksum)",
                        "valid frames only",
                        reason.to_string(),
                        false,
                    );
                    if let FrameError::BadChecksum { .. } = reason {
                        // The rest of the corrupt frame goes with it: it is not a frame to resynchronise inside.
                        if let Some(total) = frame::frame_len_hint(&raw) {
                            self.wire.discard(total.saturating_sub(raw.len()));
                        }
                    }
                }
                Err(LinkError::PeerClosed) => return Err(Stop::Error("the device closed the line".into())),
                Err(e) => return Err(Stop::Error(format!("the line broke while receiving: {e}"))),
            }
        }
    }

    /// Reads and discards until the line has been quiet for `quiet`; returns the bytes dropped.
    pub async fn drain(&mut self, ctx: &mut Ctx, quiet: Duration) -> Result<usize, Stop> {
        // An hour: the purpose's own time limit (a minute) ends a module that never falls quiet first.
        let seen = match self.wire.drain(quiet, Duration::from_hours(1)).await {
            Ok(seen) => seen,
            Err(LinkError::PeerClosed) => return Err(Stop::Error("the device closed the line".into())),
            Err(e) => return Err(Stop::Error(format!("the line broke: {e}"))),
        };
        if !seen.is_empty() {
            ctx.frame(Direction::In, hex(&seen[..seen.len().min(64)]), format!("{} bytes drained", seen.len()));
        }
        Ok(seen.len())
    }

    /// Sends `cmd` and waits for an ack. Silence is a failed check ("an ack within N ms") and stops the purpose.
    pub async fn ask(&mut self, ctx: &mut Ctx, cmd: &Command) -> Result<Answer, Stop> {
        let limit = self.timeout_for(cmd);
        self.send(ctx, cmd).await?;
        let start = Instant::now();
        loop {
            let Some(frame) = self.recv(ctx, limit.saturating_sub(start.elapsed())).await? else {
                let expected = format!("an ack within {} ms", limit.as_millis());
                return Err(ctx.fail(format!("{} is answered", cmd.name()), expected, "no ack"));
            };
            if frame.kind == PacketKind::Ack {
                let elapsed = start.elapsed();
                ctx.check(
                    format!("{} ack comes from the module address", cmd.name()),
                    format!("{:08X}", self.address),
                    format!("{:08X}", frame.address),
                    frame.address == self.address,
                )?;
                return Ok(Answer { frame, elapsed });
            }
            let _ =
                ctx.check(format!("{} is answered by an ack", cmd.name()), "PID 07", format!("{}", frame.kind), false);
        }
    }

    /// `ask`, then the reply parsed for its instruction (a length that does not fit is a failed check).
    pub async fn call(&mut self, ctx: &mut Ctx, cmd: &Command) -> Result<Reply, Stop> {
        let answer = self.ask(ctx, cmd).await?;
        Reply::parse(cmd.opcode(), &answer.frame.payload)
            .map_err(|e| ctx.fail(format!("{} reply has its documented length", cmd.name()), "a parsable reply", e))
    }

    /// `call` and a check that the confirmation code is `expected`.
    pub async fn expect(&mut self, ctx: &mut Ctx, what: &str, cmd: &Command, expected: Cc) -> Result<Reply, Stop> {
        let reply = self.call(ctx, cmd).await?;
        ctx.check(what, expected, reply.cc(), reply.cc() == expected)?;
        Ok(reply)
    }

    /// `expect` OK.
    pub async fn ok(&mut self, ctx: &mut Ctx, cmd: &Command) -> Result<Reply, Stop> {
        let what = format!("{} succeeds", cmd.name());
        self.expect(ctx, &what, cmd, Cc::Ok).await
    }

    /// The data packets that follow an upload's ack, checked: Data packets of exactly the packet size, then one
    /// EndData (which may be short), all from the module's address.
    pub async fn upload(&mut self, ctx: &mut Ctx, what: &str, packet_size: usize) -> Result<Vec<u8>, Stop> {
        let mut data = Vec::new();
        let mut packets = 0usize;
        let mut wrong_sizes = 0usize;
        loop {
            let limit = Duration::from_millis(self.ics.caps.reply_timeout_ms);
            let Some(frame) = self.recv(ctx, limit).await? else {
                let observed = format!("silence after {packets} packets");
                return Err(ctx.fail(format!("{what}: the transfer ends with an end-data packet"), "PID 08", observed));
            };
            if frame.address != self.address {
                return Err(ctx.fail(
                    format!("{what}: data packets come from the module address"),
                    format!("{:08X}", self.address),
                    format!("{:08X}", frame.address),
                ));
            }
            packets += 1;
            match frame.kind {
                PacketKind::Data => {
                    if frame.payload.len() != packet_size {
                        wrong_sizes += 1;
                    }
                    data.extend_from_slice(&frame.payload);
                }
                PacketKind::EndData => {
                    if frame.payload.len() > packet_size {
                        wrong_sizes += 1;
                    }
                    data.extend_from_slice(&frame.payload);
                    ctx.check(
                        format!("{what}: data packets carry the packet size ({packet_size} bytes)"),
                        0,
                        wrong_sizes,
                        wrong_sizes == 0,
                    )?;
                    return Ok(data);
                }
                other => {
                    return Err(ctx.fail(format!("{what}: only data packets until end-data"), "PID 02 or 08", other));
                }
            }
        }
    }

    /// Captures until a finger is there (02 means "not yet"), at most `attempts` times.
    pub async fn capture(&mut self, ctx: &mut Ctx) -> Result<(), Stop> {
        if self.ics.ixit.finger == super::FingerSource::Operator {
            ctx.operator(super::PLACE_FINGER, true).await?;
        }
        for _ in 0..self.ics.ixit.capture_attempts {
            let r = self.call(ctx, &Command::GenImg).await?;
            match r.cc() {
                Cc::Ok => return Ok(()),
                Cc::NoFinger => tokio::time::sleep(Duration::from_millis(50)).await,
                other => return Err(ctx.fail("GenImg captures a presented finger", Cc::Ok, other)),
            }
        }
        Err(ctx.fail("GenImg captures a presented finger", "00 within the IXIT's capture attempts", "02 every time"))
    }

    /// Capture and convert into `buffer`.
    pub async fn capture_into(&mut self, ctx: &mut Ctx, buffer: u8) -> Result<(), Stop> {
        self.capture(ctx).await?;
        self.ok(ctx, &Command::Img2Tz { buffer }).await.map(drop)
    }

    /// Upload the characteristics of `buffer`.
    pub async fn up_char(&mut self, ctx: &mut Ctx, buffer: u8) -> Result<Vec<u8>, Stop> {
        self.ok(ctx, &Command::UpChar { buffer }).await?;
        let size = self.packet_size;
        self.upload(ctx, "UpChar", size).await
    }

    /// Download characteristics into `buffer`.
    pub async fn down_char(&mut self, ctx: &mut Ctx, buffer: u8, data: &[u8]) -> Result<(), Stop> {
        self.ok(ctx, &Command::DownChar { buffer }).await?;
        let size = self.packet_size;
        self.send_data(ctx, data, size).await
    }

    /// Sets the packet size (code 0-3) and remembers it.
    pub async fn set_packet_size(&mut self, ctx: &mut Ctx, bytes: usize) -> Result<(), Stop> {
        let code = PacketSize::from_bytes(bytes).map_or(3, PacketSize::code);
        self.ok(ctx, &Command::SetSysPara { param: 6, value: code as u8 }).await?;
        self.packet_size = bytes;
        Ok(())
    }

    /// The used slots of the whole library.
    pub async fn used_slots(&mut self, ctx: &mut Ctx) -> Result<Vec<u16>, Stop> {
        let pages = self.ics.caps.library_size.div_ceil(256).max(1) as u8;
        let mut out = Vec::new();
        for page in 0..pages {
            match self.ok(ctx, &Command::ReadIndexTable { page }).await? {
                Reply::IndexTable { bitmap, .. } => out.extend(bitmap.slots(page)),
                other => return Err(ctx.fail("ReadIndexTable reply", "an index bitmap", format!("{other}"))),
            }
        }
        Ok(out)
    }

    /// The scratch pages the IXIT lets the suite overwrite.
    pub fn scratch(&self) -> Vec<u16> {
        let ix = &self.ics.ixit;
        (ix.scratch_first..ix.scratch_first.saturating_add(ix.scratch_count)).collect()
    }

    /// Reads the system parameters.
    pub async fn params(&mut self, ctx: &mut Ctx) -> Result<khil_fingerprint::SystemParameters, Stop> {
        match self.ok(ctx, &Command::ReadSysPara).await? {
            Reply::SystemParameters { params, .. } => Ok(params),
            other => Err(ctx.fail("ReadSysPara reply", "16 parameter bytes", format!("{other}"))),
        }
    }

    /// The number of stored templates (TemplateNum).
    pub async fn template_count(&mut self, ctx: &mut Ctx) -> Result<u16, Stop> {
        match self.ok(ctx, &Command::TemplateNum).await? {
            Reply::TemplateNum { count, .. } => Ok(count),
            other => Err(ctx.fail("TemplateNum reply", "a 2-byte count", format!("{other}"))),
        }
    }
}

fn describe_in(frame: &ZfmFrame) -> String {
    match frame.kind {
        PacketKind::Ack => match frame.payload.first() {
            Some(&cc) => format!("ack {}, {} bytes", Cc::from_code(cc), frame.payload.len()),
            None => "ack without a confirmation code".into(),
        },
        PacketKind::Data => format!("data packet, {} bytes", frame.payload.len()),
        PacketKind::EndData => format!("end-data packet, {} bytes", frame.payload.len()),
        PacketKind::Command => "a command packet from the device".into(),
    }
}
