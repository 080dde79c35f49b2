//! The chip under test as the purposes see it: an APDU transport, the typed ICS, a seeded generator for the
//! terminal's nonces, and the secure messaging session once one is open. Every exchange goes into the evidence
//! as its header and lengths only: command data and response data are document data or cryptograms.

use std::sync::Arc;

use khil_apdu::{BoxApdu, Command, Response, StatusWord};
use khil_mrtd::bac::{self, BacKeys, BacTerminal};
use khil_mrtd::files::{ReadBinary, ReadTarget, SelectCommand};
use khil_mrtd::pa::TrustStore;
use khil_mrtd::sm::SecureMessaging;
use khil_mrtd::ta::TerminalCredentials;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::EmrtdIcs;
use crate::purpose::{Ctx, Stop};
use crate::verdict::Direction;

/// The inspection system's EAC credentials the IXIT names.
#[derive(Debug, Default)]
pub struct Terminals {
    pub valid: Option<TerminalCredentials>,
    /// With an expired terminal certificate.
    pub expired: Option<TerminalCredentials>,
}

/// The chip on a fresh transport.
pub struct EmrtdDut {
    pub(crate) apdu: BoxApdu,
    pub(crate) ics: EmrtdIcs,
    pub(crate) trust: Arc<TrustStore>,
    pub(crate) terminals: Arc<Terminals>,
    pub(crate) rng: ChaCha20Rng,
    pub(crate) sm: Option<SecureMessaging>,
    pub(crate) atr: Vec<u8>,
}

impl std::fmt::Debug for EmrtdDut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmrtdDut").field("sm", &self.sm.is_some()).finish_non_exhaustive()
    }
}

/// A command in the evidence: its header and lengths, never its data.
fn command_summary(c: &Command) -> (String, String) {
    let e = c.encode();
    let header: Vec<String> = e.iter().take(4).map(|b| format!("{b:02X}")).collect();
    (header.join(" "), format!("{} (Nc {}, Ne {})", name(e.get(1).copied().unwrap_or(0)), c.nc(), c.ne().unwrap_or(0)))
}

fn name(ins: u8) -> &'static str {
    match ins {
        0xA4 => "SELECT",
        0xB0 | 0xB1 => "READ BINARY",
        0x84 => "GET CHALLENGE",
        0x82 => "EXTERNAL AUTHENTICATE",
        0x88 => "INTERNAL AUTHENTICATE",
        0x86 => "GENERAL AUTHENTICATE",
        0x22 => "MSE",
        _ => "command",
    }
}

impl EmrtdDut {
    pub(crate) fn new(apdu: BoxApdu, ics: EmrtdIcs, trust: Arc<TrustStore>, terminals: Arc<Terminals>) -> EmrtdDut {
        // The terminal's nonces: seeded per transport from a fixed seed so a run is reproducible; a chip cannot
        // predict them any better than it could a real terminal's (it never sees the seed).
        EmrtdDut {
            apdu,
            ics,
            trust,
            terminals,
            rng: ChaCha20Rng::seed_from_u64(0x6b68_696c_7465_7374),
            sm: None,
            atr: Vec::new(),
        }
    }

    pub(crate) fn random<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        self.rng.fill_bytes(&mut out);
        out
    }

    /// Powers the chip up afresh (secure messaging ends).
    pub(crate) async fn reset(&mut self, ctx: &mut Ctx) -> Result<Vec<u8>, Stop> {
        self.sm = None;
        let atr = self.apdu.reset().await.map_err(|e| Stop::Error(format!("resetting the chip: {e}")))?;
        ctx.note(format!("reset: ATR of {} bytes", atr.len()));
        self.atr.clone_from(&atr);
        Ok(atr)
    }

    /// One plain exchange, recorded (headers and lengths only).
    pub(crate) async fn plain(&mut self, ctx: &mut Ctx, c: &Command) -> Result<Response, Stop> {
        let (hex, summary) = command_summary(c);
        ctx.frame(Direction::Out, hex, summary);
        let r = self.apdu.transmit(c).await.map_err(|e| {
            self.sm = None;
            Stop::Error(format!("{}: no answer from the chip: {e}", name(c.encode()[1])))
        })?;
        ctx.frame(Direction::In, format!("{:04X}", r.sw.0), format!("{} data bytes, {}", r.data().len(), r.sw));
        Ok(r)
    }

    /// One exchange under secure messaging: the chip's answer unprotected (MAC verified, DO99 status), or a
    /// failed check naming why it does not open. A plain error status ends the session (ICAO 9303-11 9.8.4).
    pub(crate) async fn protected(&mut self, ctx: &mut Ctx, c: &Command, what: &str) -> Result<Response, Stop> {
        let sm = self.sm.as_mut().ok_or_else(|| Stop::Error(format!("{what}: secure messaging is not open")))?;
        let p = sm.protect(c).map_err(|e| Stop::Error(format!("{what}: {e}")))?;
        let r = self.plain(ctx, &p).await?;
        if r.data().is_empty() && !r.sw.is_normal() && !r.sw.is_warning() {
            self.sm = None;
            return Ok(r);
        }
        let sm = self.sm.as_mut().expect("checked above");
        match sm.unprotect(&r) {
            Ok(inner) => Ok(inner),
            Err(e) => {
                self.sm = None;
                Err(ctx.fail(format!("{what}: the protected response opens"), "DO8E verifies, DO99 present", e))
            }
        }
    }

    /// SELECT of the eMRTD application, plain.
    pub(crate) async fn select_application(&mut self, ctx: &mut Ctx) -> Result<Response, Stop> {
        self.plain(ctx, &SelectCommand::emrtd_application().to_command()).await
    }

    /// BAC with `keys` after the application is selected: the EXTERNAL AUTHENTICATE response, and the session
    /// it opens when it does.
    pub(crate) async fn bac(&mut self, ctx: &mut Ctx, keys: BacKeys) -> Result<Result<SecureMessaging, String>, Stop> {
        let challenge = self.plain(ctx, &bac::get_challenge()).await?;
        let rnd_ic = match bac::challenge_from(&challenge) {
            Ok(c) => c,
            Err(e) => return Ok(Err(format!("GET CHALLENGE: {e}"))),
        };
        let terminal = BacTerminal::new(keys, rnd_ic, self.random(), self.random());
        let answer = self.plain(ctx, &terminal.external_authenticate()).await?;
        Ok(terminal.finish(&answer).map_err(|e| format!("EXTERNAL AUTHENTICATE answered {}: {e}", answer.sw)))
    }

    /// Reset, SELECT, BAC with the IXIT's MRZ: secure messaging open, or `Stop::Error` (the preflight checked
    /// that this works, so a purpose that cannot open the chip cannot judge what it is about).
    pub(crate) async fn open_bac(&mut self, ctx: &mut Ctx) -> Result<(), Stop> {
        self.reset(ctx).await?;
        let r = self.select_application(ctx).await?;
        if r.sw != StatusWord::SUCCESS {
            return Err(Stop::Error(format!("SELECT of the eMRTD application answered {}", r.sw)));
        }
        let keys = BacKeys::from_mrz_information(&self.ics.mrz_information);
        match self.bac(ctx, keys).await? {
            Ok(sm) => {
                self.sm = Some(sm);
                Ok(())
            }
            Err(e) => Err(Stop::Error(format!("BAC with the IXIT's MRZ: {e}"))),
        }
    }

    /// SELECT of an elementary file under secure messaging.
    pub(crate) async fn select_file(&mut self, ctx: &mut Ctx, fid: u16, what: &str) -> Result<Response, Stop> {
        self.protected(ctx, &SelectCommand::file(fid).to_command(), what).await
    }

    /// A protected READ BINARY of the current file.
    pub(crate) async fn read(&mut self, ctx: &mut Ctx, offset: usize, ne: usize, what: &str) -> Result<Response, Stop> {
        let c = ReadBinary { target: ReadTarget::Current, offset, ne }
            .to_command()
            .map_err(|e| Stop::Error(format!("{what}: {e}")))?;
        self.protected(ctx, &c, what).await
    }
}
