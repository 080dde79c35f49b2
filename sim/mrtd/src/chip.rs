//! The e-passport chip (card side): an ICAO 9303 eMRTD application answering ISO 7816-4 APDUs, as
//! `khil_apdu::Card`, so it sits in the in-memory reader or behind pcscd through vpcd.
//!
//! What it does, and the status word for every refusal (ISO 7816-4 table 6, 9303-10/11):
//! - SELECT the MF, the eMRTD application (`A0 00 00 02 47 10 01`) and its EFs (6A82 for anything else);
//! - READ BINARY `B0` (offset or short EF identifier) and `B1` (offset object 54, data in 53), short and extended
//!   `Ne`; 6282 when the file ends before `Ne` bytes, 6B00 beyond its end, 6986 with no current EF, 6982 for an
//!   application file before access control (EF.CardAccess is free), and for DG3 and DG4 until terminal
//!   authentication granted their read right;
//! - GET CHALLENGE and EXTERNAL AUTHENTICATE (BAC), MSE:Set AT + GENERAL AUTHENTICATE (PACE, as EF.CardAccess
//!   offers), both starting secure messaging; chip authentication (as DG14 offers), terminal authentication v1
//!   (MSE:Set DST, PSO:Verify Certificate, MSE:Set AT, GET CHALLENGE, EXTERNAL AUTHENTICATE; EAC documents) and
//!   INTERNAL AUTHENTICATE (active authentication, ECDSA as DG14's ActiveAuthenticationInfo says) inside it;
//! - secure messaging: a protected command that does not verify ends the session and gets a plain 6987/6988; a
//!   plain command while a session is open ends it too (9303-11 9.8.6: the chip aborts secure messaging).
//!
//! The protocol steps are `khil_mrtd`'s chip sides (`bac`, `pace`, `ca`, `aa`, `sm`); this module is the
//! dispatcher, the file system and the access rules. Randomness (challenges, nonces, keys) comes from a ChaCha
//! stream of the chip's seed, so a run is reproducible.
//!
//! A lower tester's chip ([`PassportChip::with_faults`]) misbehaves as [`crate::faults`] describes: wrong MACs,
//! a skipping send sequence counter, wrong status words at the end of a file, late or no answers (through
//! [`Card::reply`], whose timing the reader honours), and private keys that are not the document's.

use std::fmt;

use khil_apdu::card::Reply;
use khil_apdu::{Card, Command, Response, StatusWord, atr_t1};
use khil_mrtd::aa::{self, AaHash};
use khil_mrtd::bac::{BacChip, BacKeys};
use khil_mrtd::ca::{CaChip, CaChipStep, CaProtocol};
use khil_mrtd::cvc::{READ_DG3, READ_DG4};
use khil_mrtd::files::{EMRTD_AID, ReadBinary, ReadTarget, Select, SelectCommand};
use khil_mrtd::lds::{Dg14, EfCardAccess, FileId, SecurityInfo};
use khil_mrtd::pace::{self, ChipStep, PaceChip, PaceCurve, PaceParams, PaceSecrets, Password};
use khil_mrtd::sm::SecureMessaging;
use khil_mrtd::ta::{self, TaChip};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::faults::{ChipFaultKind, ChipFaults, EofFault, FaultList};
use crate::issue::{ChipKeys, DocumentFiles};
use crate::pki::derive_key;

const INS_SELECT: u8 = 0xA4;
const INS_READ_BINARY: u8 = 0xB0;
const INS_READ_BINARY_ODD: u8 = 0xB1;
const INS_GET_CHALLENGE: u8 = 0x84;
const INS_EXTERNAL_AUTHENTICATE: u8 = 0x82;
const INS_MSE: u8 = 0x22;
const INS_GENERAL_AUTHENTICATE: u8 = 0x86;
const INS_INTERNAL_AUTHENTICATE: u8 = 0x88;

/// 6E00: class not supported.
const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);

/// What one chip holds: its files and keys, and the passwords that open it.
pub struct ChipContent {
    pub document: DocumentFiles,
    /// The MRZ information (document number, birth, expiry with their check digits): BAC and PACE with the MRZ.
    pub mrz_information: String,
    /// The card access number printed on the data page, for PACE with the CAN (`None`: MRZ only).
    pub can: Option<String>,
}

impl fmt::Debug for ChipContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChipContent({:?}, can: {})", self.document, if self.can.is_some() { "set" } else { "none" })
    }
}

/// The eMRTD chip.
pub struct PassportChip {
    content: ChipContent,
    pace_offered: Vec<PaceParams>,
    ca_offered: Vec<CaProtocol>,
    aa_hash: Option<AaHash>,
    rng: ChaCha20Rng,
    session: Session,
    faults: ChipFaults,
    /// Terminal authentication (EAC documents, those with DG3): its trust point and date outlive sessions.
    ta: Option<TaChip>,
    /// The `eac-open` fault: DG3 and DG4 readable without terminal authentication.
    eac_open: bool,
}

impl fmt::Debug for PassportChip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PassportChip({:?}, PACE offers {}, CA offers {}, {})",
            self.content.document,
            self.pace_offered.len(),
            self.ca_offered.len(),
            if self.session.sm.is_some() { "secure messaging open" } else { "no session" }
        )
    }
}

/// Everything volatile: gone at reset (a power cycle), as on a real chip.
#[derive(Default)]
struct Session {
    in_application: bool,
    current: Option<FileId>,
    bac: Option<BacChip>,
    pace: Option<PaceChip>,
    ca: Option<CaChip>,
    sm: Option<SecureMessaging>,
}

impl PassportChip {
    /// A chip with `content`; `seed` drives its challenges, nonces and ephemeral keys.
    pub fn new(content: ChipContent, seed: u64) -> PassportChip {
        PassportChip::with_faults(content, seed, &FaultList::default())
    }

    /// A lower tester's chip: `content` with the chip faults of `faults` (the document faults are made at issue
    /// time: [`FaultList::apply_to_document`]). `seed` also drives the probabilistic triggers.
    pub fn with_faults(mut content: ChipContent, seed: u64, faults: &FaultList) -> PassportChip {
        if faults.is_clone() {
            // The data groups copied onto another chip: DG14 and DG15 still publish the original's public keys.
            content.document.keys = ChipKeys {
                active_authentication: derive_key(seed, "cloned chip AA"),
                chip_authentication: derive_key(seed, "cloned chip CA"),
            };
        }
        let pace_offered = content
            .document
            .get(FileId::CardAccess)
            .and_then(|bytes| EfCardAccess::parse(bytes).ok())
            .map(|ca| pace::offered(&ca))
            .unwrap_or_default();
        let dg14 = content.document.get(FileId::Dg(14)).and_then(|bytes| Dg14::parse(bytes).ok());
        let infos = dg14.map(|d| d.0.0).unwrap_or_default();
        let ca_offered = infos
            .iter()
            .filter_map(|i| match i {
                SecurityInfo::ChipAuthentication { protocol, .. } => CaProtocol::from_oid(protocol.as_bytes()),
                _ => None,
            })
            .collect();
        let has_dg15 = content.document.get(FileId::Dg(15)).is_some();
        let aa_hash = infos.iter().find_map(|i| match i {
            SecurityInfo::ActiveAuthentication { signature_algorithm: Some(oid), .. } => {
                AaHash::from_ecdsa_plain_oid(oid.as_bytes())
            }
            _ => None,
        });
        let ta = content.document.eac.as_ref().map(|(cvca, date)| {
            let mut ta =
                TaChip::new(std::slice::from_ref(cvca), *date, ta::id_picc_after_bac(&content.mrz_information));
            if faults.has(ChipFaultKind::TaNoExpiry) {
                ta.ignore_expiry();
            }
            ta
        });
        let eac_open = faults.has(ChipFaultKind::EacOpen);
        PassportChip {
            ta,
            eac_open,
            content,
            pace_offered,
            ca_offered,
            aa_hash: aa_hash.filter(|_| has_dg15),
            rng: ChaCha20Rng::seed_from_u64(seed),
            session: Session::default(),
            faults: ChipFaults::new(faults, seed),
        }
    }

    /// Whether secure messaging is open (for consoles and tests).
    pub fn is_secured(&self) -> bool {
        self.session.sm.is_some()
    }

    fn random<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        self.rng.fill_bytes(&mut out);
        out
    }

    fn private_key(&mut self, curve: PaceCurve) -> Vec<u8> {
        curve.random_private_key(|out| self.rng.fill_bytes(out))
    }

    fn pace_secrets(&mut self) -> PaceSecrets {
        // Both curves PACE runs here are 256-bit; the nonce is one AES block (two 3DES blocks).
        let curve = self.pace_offered.first().map_or(PaceCurve::P256, |p| p.curve);
        PaceSecrets {
            map_private_key: self.private_key(curve),
            ephemeral_private_key: self.private_key(curve),
            nonce: self.random::<16>().to_vec(),
        }
    }

    fn passwords(&self) -> Vec<Password> {
        let mut passwords = vec![Password::Mrz(self.content.mrz_information.clone())];
        passwords.extend(self.content.can.clone().map(Password::Can));
        passwords
    }

    /// Ends secure messaging and everything it opened.
    fn close_session(&mut self) {
        self.session.sm = None;
        self.session.ca = None;
        if let Some(ta) = self.ta.as_mut() {
            ta.end_session();
        }
    }

    fn answer_protected(&mut self, command: &Command) -> Response {
        let Some(sm) = self.session.sm.as_mut() else {
            // A protected command with no session: the SM objects cannot be right.
            return Response::status(StatusWord::SM_OBJECTS_INCORRECT);
        };
        let inner = match sm.unprotect_command(command) {
            Ok(inner) => inner,
            Err(e) => {
                tracing::debug!(error = %e, "protected command refused; secure messaging closed");
                let status = e.status_word();
                self.close_session();
                return Response::status(status);
            }
        };
        let (response, rekey) = self.dispatch(&inner, true);
        let Some(sm) = self.session.sm.as_mut() else {
            return response;
        };
        let faults = self.faults.on_protected_response();
        if faults.bad_ssc {
            // The counter skips: one response's worth of SSC is spent on nothing.
            let _ = sm.protect_response(&response);
        }
        let mut protected = sm.protect_response(&response);
        if faults.wrong_mac {
            // The last byte of a protected response is the last of DO8E's MAC.
            let mut data = protected.data().to_vec();
            if let Some(last) = data.last_mut() {
                *last ^= 0x01;
            }
            protected = Response::new(data, protected.sw).expect("as long as before");
        }
        if let Some(keys) = rekey {
            sm.rekey(keys);
        }
        protected
    }

    /// Answers an unprotected (inner) command; the second value: new session keys to switch to once the answer
    /// is protected with the old ones (chip authentication).
    fn dispatch(&mut self, c: &Command, secured: bool) -> (Response, Option<khil_mrtd::sm::SessionKeys>) {
        let plain = |sw| (Response::status(sw), None);
        // CLA: 00, or 10 (command chaining: PACE's first GENERAL AUTHENTICATE steps, CA's).
        let chained = c.cla & 0x10 != 0;
        if c.cla & !0x1C != 0 {
            return plain(CLA_NOT_SUPPORTED);
        }
        if chained && c.ins != INS_GENERAL_AUTHENTICATE {
            return plain(StatusWord::CHAINING_NOT_SUPPORTED);
        }
        match c.ins {
            INS_SELECT => (self.select(c), None),
            INS_READ_BINARY | INS_READ_BINARY_ODD => (self.read(c, secured), None),
            INS_GET_CHALLENGE => (self.get_challenge(c, secured), None),
            INS_EXTERNAL_AUTHENTICATE if !secured => (self.external_authenticate(c), None),
            INS_MSE if (c.p1, c.p2) == (0xC1, 0xA4) && !secured => (self.pace_step(c), None),
            INS_GENERAL_AUTHENTICATE if self.session.pace.is_some() && !secured => (self.pace_step(c), None),
            _ if secured && TaChip::handles(c) => (self.ta_step(c), None),
            INS_MSE | INS_GENERAL_AUTHENTICATE if secured => self.ca_step(c),
            INS_INTERNAL_AUTHENTICATE if secured => (self.internal_authenticate(c), None),
            INS_EXTERNAL_AUTHENTICATE | INS_MSE | INS_GENERAL_AUTHENTICATE | INS_INTERNAL_AUTHENTICATE => {
                plain(StatusWord::CONDITIONS_NOT_SATISFIED)
            }
            _ => plain(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, c: &Command) -> Response {
        let sel = match SelectCommand::from_command(c) {
            Ok(sel) => sel,
            Err(e) => return Response::status(e.status),
        };
        match sel.what {
            Select::MasterFile => {
                self.session.in_application = false;
                self.session.current = None;
            }
            Select::Application(aid) if aid == EMRTD_AID => {
                self.session.in_application = true;
                self.session.current = None;
            }
            Select::Application(_) => return Response::status(StatusWord::FILE_NOT_FOUND),
            Select::File(fid) => {
                let Some(file) = self.file_here(FileId::from_fid(fid)) else {
                    return Response::status(StatusWord::FILE_NOT_FOUND);
                };
                self.session.current = Some(file);
                if !sel.no_response_data {
                    return Response::ok(self.fcp(file)).expect("a short FCP");
                }
            }
        }
        Response::status(StatusWord::SUCCESS)
    }

    /// `file` if it exists in the current DF: EF.CardAccess in the MF, the others in the application.
    fn file_here(&self, file: Option<FileId>) -> Option<FileId> {
        let file = file?;
        let in_mf = file == FileId::CardAccess;
        (in_mf != self.session.in_application && self.content.document.get(file).is_some()).then_some(file)
    }

    /// The file control parameters of an EF (7816-4 table 12): size (80), transparent EF (82 01 01), id (83).
    fn fcp(&self, file: FileId) -> Vec<u8> {
        let size = self.content.document.get(file).map_or(0, <[u8]>::len) as u16;
        let [s1, s0] = size.to_be_bytes();
        let [f1, f0] = file.fid().to_be_bytes();
        vec![0x62, 0x0C, 0x80, 0x02, s1, s0, 0x82, 0x01, 0x01, 0x83, 0x02, f1, f0]
    }

    fn read(&mut self, c: &Command, secured: bool) -> Response {
        let rb = match ReadBinary::from_command(c) {
            Ok(rb) => rb,
            Err(e) => return Response::status(e.status),
        };
        let file = match rb.target {
            ReadTarget::Current => self.session.current,
            ReadTarget::Short(sfi) => {
                let by_sfi = FileId::all().find(|f| f.sfi() == sfi);
                match self.file_here(by_sfi) {
                    Some(f) => Some(f),
                    None => return Response::status(StatusWord::FILE_NOT_FOUND),
                }
            }
        };
        let Some(file) = file else {
            return Response::status(StatusWord::NO_CURRENT_EF);
        };
        self.session.current = Some(file);
        // DG3 and DG4 need EAC: terminal authentication (after chip authentication) granting their read right.
        let granted =
            if self.eac_open { READ_DG3 | READ_DG4 } else { self.ta.as_ref().and_then(TaChip::granted).unwrap_or(0) };
        let allowed = file == FileId::CardAccess
            || (secured
                && match file {
                    FileId::Dg(3) => granted & READ_DG3 != 0,
                    FileId::Dg(4) => granted & READ_DG4 != 0,
                    _ => true,
                });
        if !allowed {
            return Response::status(StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        }
        let bytes = self.content.document.get(file).unwrap_or_default();
        match rb.answer_from(bytes) {
            None => Response::status(StatusWord::WRONG_P1_P2),
            Some((data, short)) => {
                let reaches_end = rb.offset + data.len() == bytes.len();
                let fault = if reaches_end { self.faults.on_eof_read() } else { None };
                let (data, sw) = match fault {
                    None if short => (data, StatusWord::END_OF_FILE),
                    None => (data, StatusWord::SUCCESS),
                    Some(EofFault::BeyondEnd) => return Response::status(StatusWord::WRONG_P1_P2),
                    // Short without the warning: already short, or one byte short of the end.
                    Some(EofFault::Success) if short => (data, StatusWord::SUCCESS),
                    Some(EofFault::Success) => (&data[..data.len().saturating_sub(1)], StatusWord::SUCCESS),
                };
                Response::new(rb.response_data(data), sw).expect("at most Ne bytes")
            }
        }
    }

    fn get_challenge(&mut self, c: &Command, secured: bool) -> Response {
        if c.ne() != Some(8) || !c.data().is_empty() || (c.p1, c.p2) != (0, 0) {
            return Response::status(StatusWord::WRONG_LENGTH);
        }
        let rnd_ic = self.random::<8>();
        if secured && let Some(ta) = self.ta.as_mut() {
            // Under secure messaging the challenge is terminal authentication's r_PICC.
            ta.challenge_given(rnd_ic);
            return Response::ok(rnd_ic.to_vec()).expect("8 bytes");
        }
        let k_ic = self.random::<16>();
        let bac = BacChip::new(BacKeys::from_mrz_information(&self.content.mrz_information), rnd_ic, k_ic);
        let response = bac.challenge_response();
        self.session.bac = Some(bac);
        response
    }

    fn external_authenticate(&mut self, c: &Command) -> Response {
        // A challenge answers one authentication attempt.
        let Some(bac) = self.session.bac.take() else {
            return Response::status(StatusWord::CONDITIONS_NOT_SATISFIED);
        };
        match bac.external_authenticate(c) {
            Ok((response, sm)) => {
                self.session.sm = Some(sm);
                if let Some(ta) = self.ta.as_mut() {
                    ta.set_id_picc(ta::id_picc_after_bac(&self.content.mrz_information));
                }
                response
            }
            Err(e) => {
                tracing::debug!(error = %e, "BAC refused");
                Response::status(e.status_word())
            }
        }
    }

    fn pace_step(&mut self, c: &Command) -> Response {
        if self.pace_offered.is_empty() {
            return Response::status(StatusWord::REFERENCE_NOT_FOUND);
        }
        if c.ins == INS_MSE || self.session.pace.is_none() {
            let secrets = self.pace_secrets();
            self.session.pace = Some(PaceChip::new(self.passwords(), self.pace_offered.clone(), secrets));
        }
        let pace = self.session.pace.as_mut().expect("set above");
        match pace.answer(c) {
            Ok(ChipStep::Reply(response)) => response,
            Ok(ChipStep::Established(response, sm)) => {
                if let (Some(ta), Some(key)) = (self.ta.as_mut(), pace.ephemeral_key()) {
                    ta.set_id_picc(ta::id_picc_after_pace(key));
                }
                self.session.pace = None;
                self.session.sm = Some(sm);
                response
            }
            Err(e) => {
                tracing::debug!(error = %e, "PACE refused");
                self.session.pace = None;
                Response::status(e.status_word())
            }
        }
    }

    fn ca_step(&mut self, c: &Command) -> (Response, Option<khil_mrtd::sm::SessionKeys>) {
        if self.session.ca.is_none() || c.ins == INS_MSE {
            let key = self.content.document.keys.chip_authentication.to_bytes().to_vec();
            match CaChip::new(PaceCurve::P256, key, None, self.ca_offered.clone()) {
                Ok(ca) => self.session.ca = Some(ca),
                Err(_) => return (Response::status(StatusWord::REFERENCE_NOT_FOUND), None),
            }
        }
        let ca = self.session.ca.as_mut().expect("set above");
        match ca.answer(c) {
            Ok(CaChipStep::Reply(response)) => (response, None),
            Ok(CaChipStep::Rekey(response, keys, terminal_key)) => {
                self.session.ca = None;
                if let Some(ta) = self.ta.as_mut() {
                    ta.chip_authenticated(terminal_key);
                }
                (response, Some(keys))
            }
            Err(e) => {
                tracing::debug!(error = %e, "chip authentication refused");
                self.session.ca = None;
                (Response::status(e.status_word()), None)
            }
        }
    }

    fn ta_step(&mut self, c: &Command) -> Response {
        match self.ta.as_mut() {
            Some(ta) => ta.answer(c),
            // No EAC on this document: nothing to authenticate to.
            None => Response::status(StatusWord::CONDITIONS_NOT_SATISFIED),
        }
    }

    fn internal_authenticate(&mut self, c: &Command) -> Response {
        let Some(hash) = self.aa_hash else {
            return Response::status(StatusWord::INS_NOT_SUPPORTED);
        };
        let key = self.content.document.keys.active_authentication.to_bytes().to_vec();
        aa::answer_ecdsa(PaceCurve::P256, hash, &key, c).unwrap_or_else(|e| Response::status(e.status_word()))
    }
}

impl Card for PassportChip {
    fn atr(&self) -> Vec<u8> {
        // T=1 with historical bytes naming the card (category 80, "khil eMRTD"); real eMRTDs' vary by vendor.
        atr_t1(b"\x80khil eMRTD").expect("11 historical bytes")
    }

    fn reset(&mut self) {
        self.close_session();
        self.session = Session::default();
        self.faults.reset();
    }

    fn reply(&mut self, command: &Command) -> Reply {
        if self.faults.is_mute() {
            return Reply::Mute;
        }
        let late = self.faults.on_command();
        // The INS travels in clear under secure messaging too.
        let read = matches!(command.ins, INS_READ_BINARY | INS_READ_BINARY_ODD);
        if read && self.faults.on_read_binary() {
            tracing::debug!("the chip goes mute");
            return Reply::Mute;
        }
        let response = self.answer(command);
        match late {
            Some(late) => Reply::After(late, response),
            None => Reply::Now(response),
        }
    }

    fn answer(&mut self, command: &Command) -> Response {
        if command.cla & 0x0C == 0x0C {
            return self.answer_protected(command);
        }
        if self.session.sm.is_some() {
            // 9303-11 9.8.6: a plain command ends secure messaging; the command is then answered plain.
            self.close_session();
        }
        self.dispatch(command, false).0
    }
}
