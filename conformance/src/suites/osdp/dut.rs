//! The PD under test, driven by a minimal control panel: sequence numbers, plain and secured exchanges, the
//! secure-channel handshake. Every packet is recorded; once the secure channel is up data is kept as its length.

use std::time::{Duration, Instant};

use khil_link::framed::Received as Next;
use khil_link::{BoxLink, FramedLink, LinkError};
use khil_osdp::codec::OsdpFormat;
use khil_osdp::command::{Command, opcode};
use khil_osdp::frame::{self, Decoded, OsdpFrame, scs};
use khil_osdp::reply::Reply;
use khil_osdp::sc::ScSession;
use khil_osdp::secure::{CpHandshake, KeyType, OpenError};

use super::OsdpIcs;
use crate::purpose::{Ctx, Stop};
use crate::verdict::{Direction, hex};

/// A PD on a link.
pub struct OsdpDut {
    wire: FramedLink<BoxLink, OsdpFormat>,
    pub ics: OsdpIcs,
    /// The SQN of the last command sent (`None`: the next one is 0).
    last_sqn: Option<u8>,
    pub session: Option<ScSession>,
    /// The session a purpose left (to send plain packets while the PD may still hold it): kept only to open the
    /// PD's secured replies for the evidence, never to seal.
    left: Option<ScSession>,
}

/// A reply as the PD sent it: parsed (opened first when it came inside the secure channel) and in words.
#[derive(Debug, Clone)]
pub struct Heard {
    /// `None` when it does not open or parse (the words say why).
    pub reply: Option<Reply>,
    /// It came with SCB 16 or 18.
    pub secured: bool,
    /// What the PD sent, decoded, in words (for checks' observed values).
    pub words: String,
}

impl std::fmt::Debug for OsdpDut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsdpDut").field("address", &self.ics.ixit.address).finish_non_exhaustive()
    }
}

/// A received packet.
#[derive(Debug, Clone)]
pub struct Received {
    pub frame: OsdpFrame,
    /// SOM through the check.
    pub raw: Vec<u8>,
    pub elapsed: Duration,
}

impl OsdpDut {
    pub fn new(link: BoxLink, ics: OsdpIcs) -> OsdpDut {
        OsdpDut { wire: FramedLink::new(link, OsdpFormat::new()), ics, last_sqn: None, session: None, left: None }
    }

    pub fn address(&self) -> u8 {
        self.ics.ixit.address
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.ics.caps.reply_timeout_ms)
    }

    /// Forgets the sequence and the session: the next command takes SQN 0 (which resets the PD).
    pub fn restart(&mut self) {
        self.last_sqn = None;
        self.session = None;
        self.left = None;
    }

    /// Stops securing commands (to send plain ones) while the PD may still hold the session: its secured replies
    /// are still opened for the evidence.
    pub fn leave_session(&mut self) {
        if let Some(session) = self.session.take() {
            self.left = Some(session);
        }
    }

    /// What the PD sent in `r`, decoded: a reply inside the secure channel is opened (with the session, or the one
    /// a purpose left) before it is parsed; the words say which channel it came in and, when it does not open or
    /// parse, why.
    pub fn hear(&self, r: &Received) -> Heard {
        let f = &r.frame;
        let kind = f.scb.as_ref().map(|s| s.kind);
        let secured = matches!(kind, Some(scs::REPLY_MAC | scs::REPLY_ENC));
        let channel = match kind {
            None => "in plain text".to_owned(),
            Some(k) if secured => format!("inside the secure channel (SCB {k:02X})"),
            Some(k) => format!("with SCB {k:02X}"),
        };
        let name =
            khil_osdp::reply::opcode::name(f.code).map_or_else(|| format!("reply {:02X}", f.code), str::to_owned);
        let data = if secured {
            match self.session.as_ref().or(self.left.as_ref()) {
                Some(session) => session
                    .clone()
                    .open_reply(f, &r.raw)
                    .map_err(|e| format!("{name} {channel} that does not open: {e}")),
                None => Err(format!("{name} {channel}, but this control panel has no session to open it with")),
            }
        } else {
            Ok(f.data.clone())
        };
        match data.map(|d| Reply::parse(f.code, &d)) {
            Ok(Ok(reply)) => Heard { words: format!("{}, {channel}", reply.describe()), reply: Some(reply), secured },
            Ok(Err(e)) => {
                Heard { reply: None, words: format!("{name} whose data does not parse ({e}), {channel}"), secured }
            }
            Err(words) => Heard { reply: None, words, secured },
        }
    }

    /// The SQN the next command takes: 0 first, then 1, 2, 3, 1...
    pub fn next_sqn(&mut self) -> u8 {
        let n = match self.last_sqn {
            None => 0,
            Some(3 | 0) => 1,
            Some(s) => s + 1,
        };
        self.last_sqn = Some(n);
        n
    }

    /// The evidence form of a packet: the header, SCB and code in hex, data as its length under the secure
    /// channel, when it is a key, or when it is biometric data (a BIOMATCH template, a BIOREADR sample).
    fn evidence(bytes: &[u8], frame: Option<&OsdpFrame>) -> String {
        let secret = |f: &OsdpFrame| {
            if f.reply {
                f.code == khil_osdp::reply::opcode::BIOREADR
            } else {
                matches!(f.code, opcode::KEYSET | opcode::BIOMATCH)
            }
        };
        let hide = frame.is_some_and(|f| f.scb.is_some() || secret(f));
        match frame {
            Some(f) if hide && !f.data.is_empty() => {
                let keep = bytes.len().saturating_sub(f.data.len() + f.mac.map_or(0, |_| 4) + f.integrity.wire_len());
                format!("{} <{} data bytes not kept> …", hex(&bytes[..keep]), f.data.len())
            }
            _ => hex(bytes),
        }
    }

    pub async fn send_bytes(&mut self, ctx: &mut Ctx, bytes: &[u8], summary: String) -> Result<(), Stop> {
        let decoded = match frame::decode(bytes) {
            Decoded::Frame { frame, .. } => Some(frame),
            _ => None,
        };
        ctx.frame(Direction::Out, Self::evidence(bytes, decoded.as_ref()), summary);
        match self.wire.send(bytes, tokio::time::Instant::now() + self.timeout()).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Stop::Error("the line stalled: the packet could not be written".into())),
            Err(e) => Err(Stop::Error(format!("the line broke while sending: {e}"))),
        }
    }

    /// The next valid packet within `limit`. Bytes that are not a valid packet are recorded and fail the check
    /// "replies are well-formed".
    pub async fn recv(&mut self, ctx: &mut Ctx, limit: Duration) -> Result<Option<Received>, Stop> {
        let start = Instant::now();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match self.wire.next(deadline).await {
                Ok(None) => return Ok(None),
                Ok(Some(Next::Frame { frame: decoded, .. })) => {
                    let (frame, raw) = (decoded.frame, decoded.raw.to_vec());
                    let name = if frame.reply {
                        khil_osdp::reply::opcode::name(frame.code)
                    } else {
                        khil_osdp::command::opcode::name(frame.code)
                    };
                    let summary = format!(
                        "{} {} ({:02X}), SQN {}{}",
                        if frame.reply { "reply" } else { "command(!)" },
                        name.unwrap_or("of no known code"),
                        frame.code,
                        frame.sqn,
                        frame.scb.as_ref().map_or(String::new(), |s| format!(", SCB {:02X}", s.kind))
                    );
                    ctx.frame(Direction::In, Self::evidence(&raw, Some(&frame)), summary);
                    return Ok(Some(Received { frame, raw, elapsed: start.elapsed() }));
                }
                Ok(Some(Next::Skipped { raw, reason })) => {
                    // Marks between packets are allowed; anything else is a malformed reply.
                    if raw.iter().all(|&b| b == frame::MARK) {
                        continue;
                    }
                    ctx.frame(Direction::In, hex(&raw), format!("not a valid packet: {reason}"));
                    let _ = ctx.check(
                        "replies are well-formed packets (SOM, LEN, CTRL, CRC)",
                        "valid packets",
                        reason.to_string(),
                        false,
                    );
                }
                Err(LinkError::PeerClosed) => return Err(Stop::Error("the device closed the line".into())),
                Err(e) => return Err(Stop::Error(format!("the line broke while receiving: {e}"))),
            }
        }
    }

    /// Sends `frame` and waits for the reply (within the declared reply time).
    pub async fn exchange(
        &mut self,
        ctx: &mut Ctx,
        frame: &OsdpFrame,
        summary: String,
    ) -> Result<Option<Received>, Stop> {
        let bytes =
            frame.try_encode(true).map_err(|e| Stop::Error(format!("cannot encode the test's own packet: {e}")))?;
        self.send_bytes(ctx, &bytes, summary).await?;
        let limit = self.timeout();
        self.recv(ctx, limit).await
    }

    /// Checks a reply to `sent` (from [`OsdpDut::exchange`] or [`OsdpDut::recv`] within the declared reply time)
    /// for its addressing and SQN; silence fails the purpose.
    pub fn checked(
        &self,
        ctx: &mut Ctx,
        what: &str,
        sent: &OsdpFrame,
        got: Option<Received>,
    ) -> Result<Received, Stop> {
        let Some(r) = got else {
            let expected = format!("a reply within {} ms", self.timeout().as_millis());
            return Err(ctx.fail(format!("{what} is answered"), expected, "no reply"));
        };
        let f = &r.frame;
        ctx.check(
            format!("{what}: reply bit and address"),
            format!("reply from {:02X}", sent.address),
            format!("{} from {:02X}", if f.reply { "reply" } else { "no reply bit" }, f.address),
            f.reply && f.address == sent.address,
        )?;
        if f.code != khil_osdp::reply::opcode::BUSY {
            ctx.check(format!("{what}: SQN echoed"), sent.sqn, f.sqn, f.sqn == sent.sqn)?;
        }
        Ok(r)
    }

    /// A plain command; the reply heard (a secured one opened).
    pub async fn plain_heard(&mut self, ctx: &mut Ctx, cmd: &Command) -> Result<Heard, Stop> {
        let sqn = self.next_sqn();
        let f = OsdpFrame::command(self.address(), sqn, cmd.code(), cmd.to_data());
        let got = self.exchange(ctx, &f, format!("{} (plain), SQN {sqn}", cmd.name())).await?;
        let r = self.checked(ctx, cmd.name(), &f, got)?;
        Ok(self.hear(&r))
    }

    /// A plain command; the parsed reply (a secured one opened).
    pub async fn plain(&mut self, ctx: &mut Ctx, cmd: &Command) -> Result<Reply, Stop> {
        let heard = self.plain_heard(ctx, cmd).await?;
        heard.reply.ok_or_else(|| {
            ctx.fail("reply data has its documented layout", "a reply that opens and parses", heard.words)
        })
    }

    fn parse(ctx: &mut Ctx, f: &OsdpFrame) -> Result<Reply, Stop> {
        Reply::parse(f.code, &f.data)
            .map_err(|e| ctx.fail("reply data has its documented layout", "a parsable reply", e.to_string()))
    }

    /// A command inside the secure session: data encrypted (SCB 17) when there is any, MAC'd (SCB 15) otherwise;
    /// the reply's MAC is verified and its data decrypted.
    pub async fn secure(&mut self, ctx: &mut Ctx, cmd: &Command) -> Result<Reply, Stop> {
        let sqn = self.next_sqn();
        let f = self.seal(cmd, sqn)?;
        let got = self.exchange(ctx, &f, format!("{} (secure), SQN {sqn}", cmd.name())).await?;
        let r = self.checked(ctx, cmd.name(), &f, got)?;
        self.open(ctx, r)
    }

    /// The secured packet for `cmd` (advances the MAC chain).
    pub fn seal(&mut self, cmd: &Command, sqn: u8) -> Result<OsdpFrame, Stop> {
        let Some(session) = self.session.as_mut() else { return Err(Stop::Error("no secure session".into())) };
        let mut f = OsdpFrame::command(self.ics.ixit.address, sqn, cmd.code(), cmd.to_data());
        session.seal_command(&mut f).map_err(|e| Stop::Error(e.to_string()))?;
        Ok(f)
    }

    /// The packet for `cmd` with `sqn` as the PD expects it now: sealed (see [`OsdpDut::seal`]) when the session is
    /// up, plain otherwise.
    pub fn packet(&mut self, cmd: &Command, sqn: u8) -> Result<OsdpFrame, Stop> {
        if self.session.is_some() {
            self.seal(cmd, sqn)
        } else {
            Ok(OsdpFrame::command(self.address(), sqn, cmd.code(), cmd.to_data()))
        }
    }

    /// Verifies and decrypts a secured reply.
    pub fn open(&mut self, ctx: &mut Ctx, r: Received) -> Result<Reply, Stop> {
        let Some(session) = self.session.as_mut() else { return Self::parse(ctx, &r.frame) };
        let opened = session.open_reply(&r.frame, &r.raw);
        if matches!(opened, Err(OpenError::NotSecured { .. })) {
            let heard = self.hear(&r);
            return Err(ctx.fail("reply is secured (SCB 16 or 18)", "SCB 16 or 18", heard.words));
        }
        if opened == Err(OpenError::NoMac) {
            return Err(ctx.fail("reply carries a MAC", "a MAC", "none"));
        }
        let ok = opened != Err(OpenError::WrongMac);
        ctx.check("reply MAC verifies", "valid", if ok { "valid" } else { "invalid" }, ok)?;
        let mut f = r.frame;
        match opened {
            Ok(data) => f.data = data,
            Err(e) => ctx.check("reply data decrypts", "valid padding", e.to_string(), false)?,
        }
        Self::parse(ctx, &f)
    }

    /// CHLNG / CCRYPT / SCRYPT / RMAC_I with the IXIT's key; checks the PD's cryptograms.
    pub async fn handshake(&mut self, ctx: &mut Ctx) -> Result<(), Stop> {
        self.session = None;
        self.left = None;
        let rnd_a: [u8; 8] = std::array::from_fn(|i| 0xA0 ^ (i as u8).wrapping_mul(29));
        let key_type = if self.ics.keyed { KeyType::Own } else { KeyType::Default };
        let mut handshake = CpHandshake::new(key_type, self.ics.key, rnd_a);
        let (command, scb) = handshake.challenge();
        let sqn = self.next_sqn();
        let mut chlng = OsdpFrame::command(self.address(), sqn, command.code(), command.to_data());
        chlng.scb = Some(scb);
        let got = self.exchange(ctx, &chlng, format!("CHLNG, key type {}", key_type.byte())).await?;
        let r = self.checked(ctx, "CHLNG", &chlng, got)?;
        let Some(Reply::CCrypt { rnd_b, cryptogram, .. }) = self.hear(&r).reply else {
            return Err(ctx.fail("answer to CHLNG", "CCRYPT (76)", self.hear(&r).words));
        };
        let scrypt = handshake.on_ccrypt(rnd_b, &cryptogram);
        ctx.check(
            "client cryptogram verifies with the declared key",
            "valid",
            if scrypt.is_ok() { "valid" } else { "invalid" },
            scrypt.is_ok(),
        )?;
        let (command, scb) = scrypt.map_err(|_| Stop::Failed)?;
        let sqn = self.next_sqn();
        let mut scrypt = OsdpFrame::command(self.address(), sqn, command.code(), command.to_data());
        scrypt.scb = Some(scb);
        let got = self.exchange(ctx, &scrypt, "SCRYPT".into()).await?;
        let r = self.checked(ctx, "SCRYPT", &scrypt, got)?;
        let Some(Reply::RMacI { mac }) = self.hear(&r).reply else {
            return Err(ctx.fail("answer to SCRYPT", "RMAC_I (78)", self.hear(&r).words));
        };
        let status = r.frame.scb.as_ref().and_then(|s| s.data.first().copied());
        ctx.check(
            "RMAC_I SCB status",
            "01 or FF",
            status.map_or("no status byte".to_owned(), |s| format!("{s:02X}")),
            matches!(status, Some(0x01 | 0xFF)),
        )?;
        let session = handshake.on_rmac_i(&mac, status);
        ctx.check("RMAC_I verifies", "valid", if session.is_ok() { "valid" } else { "invalid" }, session.is_ok())?;
        self.session = session.ok();
        Ok(())
    }

    /// Whether the PD holds the declared key (the IXIT's, or SCBK-D): its client cryptogram verifies, or, when it
    /// does not, the PD still accepts the server cryptogram made with the key (then the PD computes its cryptogram
    /// wrongly: a fault for the purposes to judge, not a wrong key). A NAK to a CHLNG on SCBK-D is a no too (a PD
    /// with its own key may refuse install-mode handshakes). `None`: the PD did not take part in the handshake far
    /// enough to tell (the purposes judge that).
    pub async fn holds_declared_key(&mut self, ctx: &mut Ctx) -> Result<Option<bool>, Stop> {
        self.restart();
        let rnd_a: [u8; 8] = std::array::from_fn(|i| 0x5A ^ (i as u8).wrapping_mul(31));
        let key_type = if self.ics.keyed { KeyType::Own } else { KeyType::Default };
        let mut handshake = CpHandshake::new(key_type, self.ics.key, rnd_a);
        let (command, scb) = handshake.challenge();
        let mut chlng = OsdpFrame::command(self.address(), self.next_sqn(), command.code(), command.to_data());
        chlng.scb = Some(scb);
        let got = self.exchange(ctx, &chlng, format!("CHLNG, key type {}", key_type.byte())).await?;
        let (rnd_b, cryptogram) = match got.and_then(|r| self.hear(&r).reply) {
            Some(Reply::CCrypt { rnd_b, cryptogram, .. }) => (rnd_b, cryptogram),
            // A PD with a key of its own may refuse a handshake on SCBK-D outright.
            Some(Reply::Nak { .. }) if !self.ics.keyed => return Ok(Some(false)),
            _ => return Ok(None),
        };
        // Verified or not, the handshake is finished with SCRYPT, so the PD is not left waiting for one.
        let verified = handshake.on_ccrypt(rnd_b, &cryptogram).is_ok();
        let (command, scb) = handshake.scrypt_regardless(rnd_b);
        let mut scrypt = OsdpFrame::command(self.address(), self.next_sqn(), command.code(), command.to_data());
        scrypt.scb = Some(scb);
        let got = self.exchange(ctx, &scrypt, "SCRYPT".into()).await?;
        let accepted = got.as_ref().is_some_and(|r| {
            matches!(self.hear(r).reply, Some(Reply::RMacI { .. }))
                && matches!(r.frame.scb.as_ref().and_then(|s| s.data.first()), Some(0x01 | 0xFF))
        });
        self.restart();
        Ok(Some(verified || accepted))
    }

    /// Resets the PD's sequence (SQN 0 POLL) and sets up the secure channel when the PD has one.
    pub async fn start(&mut self, ctx: &mut Ctx) -> Result<(), Stop> {
        self.restart();
        let sqn = self.next_sqn();
        let poll = OsdpFrame::command(self.address(), sqn, opcode::POLL, vec![]);
        let got = self.exchange(ctx, &poll, "POLL, SQN 0 (reset)".into()).await?;
        self.checked(ctx, "POLL with SQN 0", &poll, got)?;
        if self.ics.caps.secure_channel {
            self.handshake(ctx).await?;
        }
        Ok(())
    }

    /// A command in the way the PD expects it: secured when the session is up.
    pub async fn command(&mut self, ctx: &mut Ctx, cmd: &Command) -> Result<Reply, Stop> {
        if self.session.is_some() { self.secure(ctx, cmd).await } else { self.plain(ctx, cmd).await }
    }
}

#[cfg(test)]
mod tests {
    use khil_osdp::reply::{NakCode, PdId};
    use khil_osdp::secure::PdHandshake;

    use super::*;
    use crate::ics::Ics;

    const KEY: [u8; 16] = [0x42; 16];

    fn dut() -> OsdpDut {
        let text =
            "[capabilities]\noutputs = 0\ninputs = 0\nreaders = 0\nsecure_channel = true\n\n[ixit]\naddress = 1\n";
        let ics = OsdpIcs::from_ics(&Ics::parse(text, "test").unwrap()).unwrap();
        let (link, _) = tokio::io::duplex(64);
        OsdpDut::new(Box::new(link), ics)
    }

    fn received(f: &OsdpFrame) -> Received {
        let bytes = f.encode(true);
        let Decoded::Frame { frame, packet, .. } = frame::decode(&bytes) else { panic!("does not decode") };
        Received { frame, raw: bytes[packet].to_vec(), elapsed: Duration::ZERO }
    }

    /// Both ends of a session, from the handshake steps.
    fn sessions() -> (ScSession, ScSession) {
        let mut cp = CpHandshake::new(KeyType::Own, KEY, [1; 8]);
        let pd = PdHandshake::new(KeyType::Own, &KEY, [1; 8], [2; 8]);
        let (Reply::CCrypt { rnd_b, cryptogram, .. }, _) = pd.ccrypt([0; 8]) else { panic!() };
        let (Command::Scrypt { cryptogram: server }, _) = cp.on_ccrypt(rnd_b, &cryptogram).unwrap() else { panic!() };
        let (pd_session, Reply::RMacI { mac }, _) = pd.on_scrypt(&server).unwrap() else { panic!() };
        (cp.on_rmac_i(&mac, Some(1)).unwrap(), pd_session)
    }

    /// libosdp's PD answers a plain command sent inside its session with a NAK 6 sealed in the session: the
    /// evidence opens it and says so, where it used to show the ciphertext parsed as a NAK with code 0x41.
    #[test]
    fn a_nak_inside_the_secure_channel_is_opened_for_the_evidence() {
        let mut dut = dut();
        let (cp, mut pd) = sessions();
        dut.session = Some(cp);
        let poll = dut.seal(&Command::Poll, 1).unwrap();
        let got = received(&poll);
        pd.open_command(&got.frame, &got.raw).unwrap();
        dut.leave_session();
        let nak = Reply::nak(NakCode::ScConditions);
        let mut reply = OsdpFrame::reply(1, 2, nak.code(), nak.to_data());
        pd.seal_reply(&mut reply, true).unwrap();
        let heard = dut.hear(&received(&reply));
        assert_eq!(heard.reply, Some(nak));
        assert!(heard.secured);
        assert_eq!(
            heard.words,
            "NAK 06 unsupported security block or security conditions not met, inside the secure channel (SCB 18)"
        );
        // Without any session it is said as much, not parsed from ciphertext.
        let mut fresh = super::tests::dut();
        fresh.restart();
        let heard = fresh.hear(&received(&reply));
        assert_eq!(heard.reply, None);
        assert!(
            heard.words.contains("NAK inside the secure channel (SCB 18), but this control panel has no session"),
            "{}",
            heard.words
        );
    }

    #[test]
    fn plain_replies_are_described_and_malformed_ones_say_why() {
        let dut = dut();
        let id = Reply::PdId(PdId {
            oui: [0xC3, 0xB2, 0xA1],
            model: 7,
            version: 2,
            serial: 0x1234_5678,
            firmware: [1, 2, 3],
        });
        let heard = dut.hear(&received(&OsdpFrame::reply(1, 1, id.code(), id.to_data())));
        assert_eq!(
            heard.words,
            "PDID: vendor C3B2A1, model 7 version 2, serial 12345678, firmware 1.2.3, in plain text"
        );
        let short = dut.hear(&received(&OsdpFrame::reply(1, 1, id.code(), vec![1, 2, 3])));
        assert_eq!(short.reply, None);
        assert!(short.words.starts_with("PDID whose data does not parse ("), "{}", short.words);
        assert!(short.words.ends_with("), in plain text"), "{}", short.words);
        let istat = dut.hear(&received(&OsdpFrame::reply(1, 1, 0x49, vec![1, 0])));
        assert_eq!(istat.words, "ISTATR: 2 inputs (1 0), in plain text");
    }
}
