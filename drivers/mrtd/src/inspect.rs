//! The inspection system: reads and verifies an eMRTD over any [`ApduTransport`] (PC/SC, the in-memory reader).
//! The one module of this crate that talks to a card; every step it takes is one of the pure modules'
//! (`files`, `bac`, `pace`, `sm`, `lds`, `pa`, `ca`, `aa`, `mrz`).
//!
//! The order is 9303-11's: EF.CardAccess, then PACE when it offers a protocol we run (BAC otherwise, or when PACE
//! fails), the application, EF.COM and EF.SOD, every data group EF.COM lists, chip authentication (DG14), terminal
//! authentication and the EAC-protected data groups (DG3, DG4) when the chip refused them, passive
//! authentication, active authentication (DG15), and the MRZ on the page against DG1. The result names
//! each check and how it went; nothing in it is document data (no MRZ, no names, no images).

use std::collections::BTreeMap;
use std::fmt;

use der::DateTime;
use der::asn1::ObjectIdentifier;
use khil_apdu::{ApduTransport, Command, Response, StatusWord, TransportError};
use spki::SubjectPublicKeyInfoOwned;

use crate::aa::{self, AaHash};
use crate::bac::{self, BacKeys, BacTerminal};
use crate::ca::{CaProtocol, CaStep, CaTerminal};
use crate::cvc::CvRole;
use crate::files::{ReadBinary, ReadTarget, SelectCommand};
use crate::lds::{Dg1, Dg14, Dg15, EfCardAccess, EfCom, FileId, SecurityInfo, hex_prefix};
use crate::mrz::Mrz;
use crate::pa::{self, Status, TrustStore};
use crate::pace::{self, PaceCurve, PaceParams, PaceSecrets, PaceStep, PaceTerminal, Password};
use crate::sm::{SecureMessaging, SmError};
use crate::ta::{self, TerminalCredentials};

/// What the inspection system knows before it starts.
pub struct InspectOptions {
    /// The MRZ as read from the data page (the document reader's OCR, or typed in): its MRZ information opens
    /// the chip, and the whole of it is compared with DG1.
    pub mrz: String,
    /// The CSCAs (and their CRLs) passive authentication trusts.
    pub trust: TrustStore,
    /// The date the certificates' validity is judged on.
    pub date: DateTime,
    /// Try PACE when EF.CardAccess offers it (otherwise BAC straight away).
    pub pace: bool,
    /// The card access number printed on the page: PACE uses it instead of the MRZ (BAC, when PACE fails, still
    /// uses the MRZ).
    pub can: Option<String>,
    /// The most bytes one READ BINARY asks for ([`crate::files::SM_SHORT_READ`] fits a short response APDU).
    pub read_size: usize,
    /// The inspection system's CV certificates and key for terminal authentication (EAC): without them DG3 and
    /// DG4 stay unread.
    pub terminal: Option<TerminalCredentials>,
}

impl fmt::Debug for InspectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "InspectOptions(MRZ set, {} CSCAs, pace {}, read {}, terminal certificates {})",
            self.trust.cscas.len(),
            self.pace,
            self.read_size,
            if self.terminal.is_some() { "set" } else { "none" }
        )
    }
}

/// One named check of the inspection and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectCheck {
    pub name: String,
    pub status: Status,
}

impl fmt::Display for InspectCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.status {
            Status::Passed(why) => write!(f, "{}: passed ({why})", self.name),
            Status::Failed(why) => write!(f, "{}: FAILED ({why})", self.name),
            Status::NotChecked(why) => write!(f, "{}: not checked ({why})", self.name),
        }
    }
}

/// The inspection's result: each check in the order made, and what was read (file and length, never content).
#[derive(Debug, Clone, Default)]
pub struct Inspection {
    pub checks: Vec<InspectCheck>,
    /// How the chip was opened: "PACE ECDH-GM AES-128 on brainpoolP256r1", "BAC", or nothing.
    pub access: Option<String>,
    pub files_read: Vec<(FileId, usize)>,
    /// The files as read, for callers that go on (the clearance flow's face and finger comparison). Not printed.
    files: BTreeMap<FileId, Vec<u8>>,
}

impl Inspection {
    /// Passed only when every check passed; failed when any failed; otherwise incomplete.
    pub fn outcome(&self) -> pa::Outcome {
        if self.checks.iter().any(|c| c.status.failed()) {
            pa::Outcome::Failed
        } else if self.checks.iter().all(|c| c.status.passed()) {
            pa::Outcome::Passed
        } else {
            pa::Outcome::Incomplete
        }
    }

    pub fn file(&self, file: FileId) -> Option<&[u8]> {
        self.files.get(&file).map(Vec::as_slice)
    }

    fn push(&mut self, name: impl Into<String>, status: Status) {
        self.checks.push(InspectCheck { name: name.into(), status });
    }
}

/// Why the inspection could not go on (the reader, or the chip stopped answering as a chip must). Everything the
/// chip did wrong before that is in the checks.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("the reader: {0}")]
    Transport(#[from] TransportError),
    #[error("{0}")]
    Mrz(String),
}

/// A failed exchange: the reader (a chip that does not answer in time is the reader giving up), the secure
/// messaging, or the chip's status word, with what we were doing.
#[derive(Debug)]
enum StepError {
    Transport { what: String, error: TransportError },
    Chip { what: String, sw: StatusWord },
    Protocol { what: String, why: String },
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::Transport { what, error: error @ TransportError::NoCard { .. } } => {
                write!(f, "{what}: the chip left the reader: {error}")
            }
            StepError::Transport { what, error: error @ TransportError::BadResponse(_) } => {
                write!(f, "{what}: {error}")
            }
            StepError::Transport { what, error } => write!(f, "{what}: no answer from the chip: {error}"),
            StepError::Chip { what, sw } => write!(f, "{what}: the chip answered {sw}"),
            // The protocol modules' errors name their protocol already ("PACE: ...").
            StepError::Protocol { what, why } if why.starts_with(what.as_str()) => f.write_str(why),
            StepError::Protocol { what, why } => write!(f, "{what}: {why}"),
        }
    }
}

/// How the chip was opened, to open it again after secure messaging ended (a power cycle ends it on the chip).
#[derive(Clone)]
enum Access {
    Bac(BacKeys),
    Pace(PaceParams, Password),
}

/// Why a protected response does not open. A wrong MAC is looked at again under the next few send sequence
/// counters: a chip whose counter skipped protects under a later one, which tells the two faults apart.
fn unprotect_failure(before: &SecureMessaging, response: &Response, error: &SmError) -> String {
    const LOOK_AHEAD: u8 = 3;
    if !matches!(error, SmError::WrongMac { .. }) {
        return format!("the protected response: {error}");
    }
    let ssc = before.ssc_bytes();
    let plus = |k: u8| {
        let n = ssc.iter().fold(0u128, |a, &b| (a << 8) | u128::from(b)).wrapping_add(u128::from(k));
        n.to_be_bytes()[16 - ssc.len()..].to_vec()
    };
    for skip in 1..=LOOK_AHEAD {
        let mut later = SecureMessaging::new(before.keys().clone(), &plus(skip));
        if later.unprotect(response).is_ok() {
            return format!(
                "secure messaging: the response is protected under send sequence counter {} instead of {}: the \
                 chip's counter skipped {skip}",
                hex_prefix(&plus(skip + 1)),
                hex_prefix(&plus(1))
            );
        }
    }
    format!(
        "secure messaging: the response MAC (DO8E) does not verify under the session's MAC key at send sequence \
         counter {}, nor at the next {LOOK_AHEAD} (a wrong MAC, not a skipped counter)",
        hex_prefix(&plus(1))
    )
}

/// The random bytes an inspection needs (challenges, keys, nonces): from the caller, so tests are reproducible
/// and the binary can use the operating system's generator.
pub trait Randomness: Send {
    fn fill(&mut self, out: &mut [u8]);
}

impl<R: rand::Rng + Send> Randomness for R {
    fn fill(&mut self, out: &mut [u8]) {
        self.fill_bytes(out);
    }
}

struct Session<'a> {
    transport: &'a mut dyn ApduTransport,
    sm: Option<SecureMessaging>,
    rng: &'a mut dyn Randomness,
    /// How secure messaging was opened (set once it was).
    access: Option<Access>,
    /// The chip's identifier for terminal authentication (ID_PICC), set with access control.
    id_picc: Vec<u8>,
    /// Our ephemeral chip-authentication key once chip authentication succeeded in this session.
    ca_point: Option<Vec<u8>>,
}

impl Session<'_> {
    fn random<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        self.rng.fill(&mut out);
        out
    }

    fn private_key(&mut self, curve: PaceCurve) -> Vec<u8> {
        curve.random_private_key(|out| self.rng.fill(out))
    }

    /// One exchange through the reader. No answer (a mute chip, one slower than the reader waits, a reader
    /// failure) ends secure messaging: the chip's counter and ours are out of step from then on.
    async fn transmit(&mut self, command: &Command, what: &str) -> Result<Response, StepError> {
        self.transport.transmit(command).await.map_err(|error| {
            self.sm = None;
            StepError::Transport { what: what.to_owned(), error }
        })
    }

    /// One exchange, protected when a session is open. A chip that ends secure messaging answers a plain error
    /// status; that ends our session too.
    async fn exchange(&mut self, command: &Command, what: &str) -> Result<Response, StepError> {
        let Some(sm) = self.sm.as_mut() else {
            return self.transmit(command, what).await;
        };
        let protected =
            sm.protect(command).map_err(|e| StepError::Protocol { what: what.to_owned(), why: e.to_string() })?;
        let before = sm.clone();
        let response = self.transmit(&protected, what).await?;
        if response.data().is_empty() && !response.sw.is_normal() && !response.sw.is_warning() {
            self.sm = None;
            return Err(StepError::Chip { what: format!("{what} (secure messaging ended)"), sw: response.sw });
        }
        let sm = self.sm.as_mut().expect("checked above");
        sm.unprotect(&response).map_err(|e| {
            self.sm = None;
            StepError::Protocol { what: what.to_owned(), why: unprotect_failure(&before, &response, &e) }
        })
    }

    /// Opens secure messaging again the way it was first opened, after a power cycle (a step that failed ended
    /// it, and chip and active authentication need it).
    async fn reopen(&mut self) -> Result<(), StepError> {
        self.ca_point = None;
        let access = self.access.clone().ok_or_else(|| StepError::Protocol {
            what: "opening the chip again".into(),
            why: "it was never opened".into(),
        })?;
        self.sm = None;
        self.transport
            .reset()
            .await
            .map_err(|error| StepError::Transport { what: "resetting the chip".into(), error })?;
        let select = SelectCommand::emrtd_application().to_command();
        match access {
            Access::Pace(params, password) => {
                let (sm, chip_key) = run_pace(self, params, password).await?;
                self.sm = Some(sm);
                self.id_picc = ta::id_picc_after_pace(&chip_key);
                self.ok(&select, "selecting the eMRTD application").await?;
            }
            Access::Bac(keys) => {
                self.ok(&select, "selecting the eMRTD application").await?;
                self.sm = Some(run_bac(self, keys).await?);
            }
        }
        Ok(())
    }

    /// Whether secure messaging is open for the check `name`, opening it again if a failed step ended it; if it
    /// cannot be, the check is recorded as not made.
    async fn ensure_open(&mut self, name: &str, result: &mut Inspection) -> bool {
        if self.sm.is_some() {
            return true;
        }
        match self.reopen().await {
            Ok(()) => true,
            Err(e) => {
                result.push(name, not_checked(format!("secure messaging ended and could not be opened again: {e}")));
                false
            }
        }
    }

    async fn ok(&mut self, command: &Command, what: &str) -> Result<Response, StepError> {
        let r = self.exchange(command, what).await?;
        if r.sw == StatusWord::SUCCESS { Ok(r) } else { Err(StepError::Chip { what: what.to_owned(), sw: r.sw }) }
    }

    /// Reads a whole file: its first bytes give the length of the TLV it holds, then the rest in `read_size`
    /// pieces (`B1` beyond offset 32767). `short` reads by short EF identifier instead of SELECT (EF.CardAccess).
    async fn read_file(&mut self, file: FileId, read_size: usize, short: bool) -> Result<Vec<u8>, StepError> {
        let what = format!("reading {file}");
        let target = if short {
            ReadTarget::Short(file.sfi())
        } else {
            self.ok(&SelectCommand::file(file.fid()).to_command(), &format!("selecting {file}")).await?;
            ReadTarget::Current
        };
        let mut data = self.read_piece(ReadBinary { target, offset: 0, ne: 8 }, &what, None).await?;
        let total = tlv_total_len(&data).map_err(|why| StepError::Protocol { what: what.clone(), why })?;
        data.truncate(total);
        while data.len() < total {
            let rb =
                ReadBinary { target: ReadTarget::Current, offset: data.len(), ne: (total - data.len()).min(read_size) };
            let piece = self.read_piece(rb, &what, Some(total)).await?;
            if piece.is_empty() {
                return Err(StepError::Protocol { what, why: format!("no data at offset {}", data.len()) });
            }
            data.extend_from_slice(&piece);
        }
        data.truncate(total);
        Ok(data)
    }

    /// One READ BINARY of a file whose length is `total` when known. Besides the chip's errors it checks the
    /// end-of-file status words (7816-4 5.3.3): 9000 carries all `Ne` bytes asked, a short answer is 6282, and
    /// 6B00 (offset beyond the end) is wrong for an offset inside the file.
    async fn read_piece(&mut self, mut rb: ReadBinary, what: &str, total: Option<usize>) -> Result<Vec<u8>, StepError> {
        let at = format!("{what} at offset {}", rb.offset);
        let protocol = |why: String| StepError::Protocol { what: at.clone(), why };
        for _ in 0..2 {
            let command = rb.to_command().map_err(|e| protocol(e.to_string()))?;
            let r = self.exchange(&command, &at).await?;
            match (r.sw.sw1(), r.sw) {
                // 6Cxx: wrong Le, xx bytes are there: ask again for exactly those (7816-4 5.6).
                (0x6C, sw) if sw.sw2() > 0 && rb.ne != usize::from(sw.sw2()) => rb.ne = usize::from(sw.sw2()),
                (_, sw @ (StatusWord::SUCCESS | StatusWord::END_OF_FILE)) => {
                    let data = rb.data_of(&r).map_err(|e| protocol(e.to_string()))?;
                    if sw == StatusWord::SUCCESS && data.len() < rb.ne {
                        return Err(protocol(format!(
                            "the chip answered 9000 with {} of the {} bytes asked: a short answer must be 6282 \
                             (end of file reached before Ne bytes, ISO 7816-4)",
                            data.len(),
                            rb.ne
                        )));
                    }
                    return Ok(data);
                }
                (_, StatusWord::WRONG_P1_P2) if total.is_some_and(|t| rb.offset < t) => {
                    let total = total.unwrap_or_default();
                    return Err(StepError::Chip {
                        what: format!("{at}, inside the file (its TLV says {total} bytes)"),
                        sw: StatusWord::WRONG_P1_P2,
                    });
                }
                (_, sw) => return Err(StepError::Chip { what: at, sw }),
            }
        }
        Err(protocol("the chip asked twice for another Le".into()))
    }
}

/// The length of the whole TLV a file starts with, from its first bytes.
fn tlv_total_len(head: &[u8]) -> Result<usize, String> {
    let (_, value_at, len) = crate::tlv::header_at(head, 0).map_err(|e| e.to_string())?;
    Ok(value_at + len)
}

fn passed(why: impl Into<String>) -> Status {
    Status::Passed(why.into())
}
fn failed(why: impl fmt::Display) -> Status {
    Status::Failed(why.to_string())
}
fn not_checked(why: impl Into<String>) -> Status {
    Status::NotChecked(why.into())
}

/// Inspects the document on `transport`.
pub async fn inspect(
    transport: &mut dyn ApduTransport,
    options: &InspectOptions,
    rng: &mut dyn Randomness,
) -> Result<Inspection, InspectError> {
    let page = Mrz::parse(&options.mrz).map_err(|e| InspectError::Mrz(format!("the MRZ given: {e}")))?;
    let info = page.mrz_information().map_err(|e| InspectError::Mrz(format!("the MRZ given: {e}")))?;
    let mut result = Inspection::default();
    transport.reset().await?;
    let mut s = Session {
        transport,
        sm: None,
        rng,
        access: None,
        id_picc: ta::id_picc_after_bac(info.as_str()),
        ca_point: None,
    };

    // EF.CardAccess (in the MF, before anything is selected): what PACE the chip offers.
    let offered = match s.read_file(FileId::CardAccess, options.read_size, true).await {
        Ok(bytes) => {
            result.files_read.push((FileId::CardAccess, bytes.len()));
            match EfCardAccess::parse(&bytes) {
                Ok(ca) => pace::offered(&ca),
                Err(e) => {
                    result.push("EF.CardAccess", failed(e));
                    Vec::new()
                }
            }
        }
        // A chip that answers nothing is a finding; one without the file (a BAC-only document) is not.
        Err(e @ StepError::Transport { .. }) => {
            result.push("EF.CardAccess", failed(&e));
            s.transport.reset().await?;
            Vec::new()
        }
        // No EF.CardAccess: a BAC-only document, not a finding.
        Err(StepError::Chip { sw: StatusWord::FILE_NOT_FOUND, .. }) => Vec::new(),
        // Any other refusal is the chip's fault (a wrong status word at the end of the file, say): named, then on
        // with BAC.
        Err(e) => {
            result.push("EF.CardAccess", failed(&e));
            Vec::new()
        }
    };

    if options.pace && !offered.is_empty() {
        let params = offered[0];
        let password = match &options.can {
            Some(can) => Password::Can(can.clone()),
            None => Password::Mrz(info.as_str().to_owned()),
        };
        let with = if options.can.is_some() { " with the CAN" } else { "" };
        match run_pace(&mut s, params, password.clone()).await {
            Ok((sm, chip_key)) => {
                s.sm = Some(sm);
                s.id_picc = ta::id_picc_after_pace(&chip_key);
                s.access = Some(Access::Pace(params, password));
                let how = format!("{} on {:?}{with}", params.protocol, params.curve);
                result.access = Some(format!("PACE {how}"));
                result.push("access control: PACE", passed(how));
            }
            Err(e) => {
                result.push("access control: PACE", failed(&e));
                s.transport.reset().await?;
            }
        }
    }
    // A chip that offers no PACE (a BAC-only document, still valid until it expires) is opened with BAC; that is
    // not a check left undone.
    if s.sm.is_some() {
        if let Err(e) = s.ok(&SelectCommand::emrtd_application().to_command(), "selecting the eMRTD application").await
        {
            result.push("eMRTD application", failed(&e));
            return Ok(result);
        }
    } else {
        if let Err(e) = s.ok(&SelectCommand::emrtd_application().to_command(), "selecting the eMRTD application").await
        {
            result.push("eMRTD application", failed(&e));
            return Ok(result);
        }
        let keys = BacKeys::from_mrz_information(info.as_str());
        match run_bac(&mut s, keys.clone()).await {
            Ok(sm) => {
                s.sm = Some(sm);
                s.access = Some(Access::Bac(keys));
                result.access = Some("BAC".into());
                result.push("access control: BAC", passed("3DES secure messaging"));
            }
            Err(e) => {
                result.push("access control: BAC", failed(&e));
                return Ok(result);
            }
        }
    }

    let eac_protected = read_lds(&mut s, options, &mut result).await;
    // Chip authentication, then terminal authentication (EAC version 1 order: TA signs CA's ephemeral key), then
    // the EAC-protected data groups, so that passive authentication covers them too.
    chip_authentication(&mut s, options, &mut result).await;
    if !eac_protected.is_empty() {
        read_eac_protected(&mut s, options, &mut result, eac_protected).await;
    }
    passive_authentication(options, &mut result);
    active_authentication(&mut s, &mut result).await;
    compare_mrz(&page, &mut result);
    Ok(result)
}

/// Passive authentication of EF.SOD and every data group read, each of its checks named.
fn passive_authentication(options: &InspectOptions, result: &mut Inspection) {
    let dgs: BTreeMap<u8, Vec<u8>> = result
        .files
        .iter()
        .filter_map(|(f, b)| if let FileId::Dg(n) = f { Some((*n, b.clone())) } else { None })
        .collect();
    match result.files.get(&FileId::Sod) {
        Some(sod) => {
            let report = pa::passive_authentication(sod, &dgs, &options.trust, options.date);
            for check in report.checks {
                result.push(format!("passive authentication: {}", check.name), check.status);
            }
        }
        None => result.push("passive authentication", not_checked("EF.SOD was not read")),
    }
}

async fn run_bac(s: &mut Session<'_>, keys: BacKeys) -> Result<SecureMessaging, StepError> {
    let challenge = s.ok(&bac::get_challenge(), "GET CHALLENGE").await?;
    let rnd_ic = bac::challenge_from(&challenge)
        .map_err(|e| StepError::Protocol { what: "GET CHALLENGE".into(), why: e.to_string() })?;
    let terminal = BacTerminal::new(keys, rnd_ic, s.random(), s.random());
    let answer = s.exchange(&terminal.external_authenticate(), "EXTERNAL AUTHENTICATE").await?;
    terminal.finish(&answer).map_err(|e| StepError::Protocol { what: "BAC".into(), why: e.to_string() })
}

/// PACE: the session, and the chip's ephemeral public key (ID_PICC for terminal authentication).
async fn run_pace(
    s: &mut Session<'_>,
    params: PaceParams,
    password: Password,
) -> Result<(SecureMessaging, Vec<u8>), StepError> {
    let secrets = PaceSecrets {
        map_private_key: s.private_key(params.curve),
        ephemeral_private_key: s.private_key(params.curve),
        nonce: Vec::new(),
    };
    let mut terminal = PaceTerminal::new(params, password, secrets);
    let mut command = terminal.start();
    // MSE:Set AT and four GENERAL AUTHENTICATE steps.
    for _ in 0..6 {
        let response = s.exchange(&command, "PACE").await?;
        match terminal.answer(&response).map_err(|e| StepError::Protocol { what: "PACE".into(), why: e.to_string() })? {
            PaceStep::Send(next) => command = next,
            PaceStep::Established(sm) => {
                return Ok((sm, terminal.chip_ephemeral_key().unwrap_or_default().to_vec()));
            }
        }
    }
    Err(StepError::Protocol { what: "PACE".into(), why: "more steps than PACE has".into() })
}

/// Reads EF.COM, EF.SOD and every data group EF.COM lists; returns the EAC-protected ones the chip refused
/// before terminal authentication (DG3, DG4).
async fn read_lds(s: &mut Session<'_>, options: &InspectOptions, result: &mut Inspection) -> Vec<FileId> {
    let mut protected = Vec::new();
    let com = match s.read_file(FileId::Com, options.read_size, false).await {
        Ok(bytes) => bytes,
        Err(e) => {
            result.push("EF.COM", failed(&e));
            return protected;
        }
    };
    result.files_read.push((FileId::Com, com.len()));
    let listed = match EfCom::parse(&com) {
        Ok(c) => {
            result.push("EF.COM", passed(format!("LDS {}, data groups {:?}", c.lds_version, c.data_groups)));
            c.data_groups
        }
        Err(e) => {
            result.push("EF.COM", failed(e));
            Vec::new()
        }
    };
    result.files.insert(FileId::Com, com);
    for file in std::iter::once(FileId::Sod).chain(listed.into_iter().map(FileId::Dg)) {
        match s.read_file(file, options.read_size, false).await {
            Ok(bytes) => {
                result.files_read.push((file, bytes.len()));
                result.files.insert(file, bytes);
            }
            // DG3 (fingerprints) and DG4 are EAC-protected: without terminal authentication the chip refuses them.
            Err(StepError::Chip { sw: StatusWord::SECURITY_STATUS_NOT_SATISFIED, .. })
                if matches!(file, FileId::Dg(3 | 4)) =>
            {
                protected.push(file);
            }
            Err(e) => {
                result.push(format!("reading {file}"), failed(&e));
                if s.sm.is_none() {
                    return protected;
                }
            }
        }
    }
    protected
}

fn ec_curve(spki: &SubjectPublicKeyInfoOwned) -> Option<PaceCurve> {
    const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
    const BP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.36.3.3.2.8.1.1.7");
    let curve: ObjectIdentifier = spki.algorithm.parameters.as_ref()?.decode_as().ok()?;
    match curve {
        P256 => Some(PaceCurve::P256),
        BP256R1 => Some(PaceCurve::BrainpoolP256r1),
        _ => None,
    }
}

async fn chip_authentication(s: &mut Session<'_>, _options: &InspectOptions, result: &mut Inspection) {
    const NAME: &str = "chip authentication";
    let Some(bytes) = result.files.get(&FileId::Dg(14)) else {
        return result.push(NAME, not_checked("no DG14"));
    };
    let infos = match Dg14::parse(bytes) {
        Ok(d) => d.0.0,
        Err(e) => return result.push(NAME, failed(e)),
    };
    let protocol = infos.iter().find_map(|i| match i {
        SecurityInfo::ChipAuthentication { protocol, .. } => CaProtocol::from_oid(protocol.as_bytes()),
        _ => None,
    });
    let key = infos.iter().find_map(|i| match i {
        SecurityInfo::ChipAuthenticationPublicKey { public_key, key_id, .. } => Some((public_key.clone(), *key_id)),
        _ => None,
    });
    let (Some(protocol), Some((public_key, key_id))) = (protocol, key) else {
        return result.push(NAME, not_checked("DG14 names no chip authentication protocol and key khil runs (ECDH)"));
    };
    let Some(curve) = ec_curve(&public_key) else {
        return result.push(NAME, not_checked("the DG14 key is not on P-256 or brainpoolP256r1"));
    };
    let point = public_key.subject_public_key.raw_bytes().to_vec();
    if !s.ensure_open(NAME, result).await {
        return;
    }
    let ephemeral = s.private_key(curve);
    let mut terminal = match CaTerminal::new(protocol, curve, &point, &ephemeral, key_id) {
        Ok(t) => t,
        Err(e) => return result.push(NAME, failed(e)),
    };
    let mut command = terminal.start();
    for _ in 0..3 {
        let response = match s.exchange(&command, NAME).await {
            Ok(r) => r,
            Err(e) => return result.push(NAME, failed(&e)),
        };
        match terminal.answer(&response) {
            Ok(CaStep::Send(next)) => command = next,
            Ok(CaStep::Rekey(keys)) => {
                if let Some(sm) = s.sm.as_mut() {
                    sm.rekey(keys);
                }
                // The proof: the chip answers the next command under the new keys, which only the holder of the
                // DG14 key's private half can derive.
                let probe = ReadBinary { target: ReadTarget::Short(FileId::Com.sfi()), offset: 0, ne: 1 };
                let cmd = probe.to_command().expect("a short read");
                return match s.ok(&cmd, "the first command under the chip authentication keys").await {
                    Ok(_) => {
                        s.ca_point = Some(terminal.ephemeral_public_key().to_vec());
                        result.push(
                            NAME,
                            passed(format!("{protocol:?} on {curve:?}; the chip answers under the new keys")),
                        );
                    }
                    Err(e) => result.push(
                        NAME,
                        failed(format!(
                            "{e}: the chip does not hold the private key of DG14's public key (a cloned chip?)"
                        )),
                    ),
                };
            }
            Err(e) => return result.push(NAME, failed(e)),
        }
    }
}

/// Terminal authentication, then the EAC-protected data groups it opens (or why each stays unread).
async fn read_eac_protected(
    s: &mut Session<'_>,
    options: &InspectOptions,
    result: &mut Inspection,
    files: Vec<FileId>,
) {
    let access = terminal_authentication(s, options, result).await;
    for file in files {
        match &access {
            Err(why) => result.push(format!("reading {file}"), not_checked(format!("EAC-protected: {why}"))),
            Ok(()) => match s.read_file(file, options.read_size, false).await {
                Ok(bytes) => {
                    result.files_read.push((file, bytes.len()));
                    result.files.insert(file, bytes);
                }
                Err(e) => result.push(format!("reading {file}"), failed(&e)),
            },
        }
    }
}

/// Terminal authentication v1 (TR-03110-3 B.3): the certificate chain from a CVCA the chip trusts down to ours,
/// then our signature over ID_PICC, the chip's challenge and our chip-authentication key. `Err` says why the
/// EAC-protected data groups cannot be read (the check is recorded here either way).
async fn terminal_authentication(
    s: &mut Session<'_>,
    options: &InspectOptions,
    result: &mut Inspection,
) -> Result<(), String> {
    const NAME: &str = "terminal authentication";
    let Some(credentials) = &options.terminal else {
        let why = "no terminal certificates given".to_owned();
        result.push(NAME, not_checked(why.clone()));
        return Err(why);
    };
    let (Some(ca_point), true) = (s.ca_point.clone(), s.sm.is_some()) else {
        let why = "it follows chip authentication, which did not succeed".to_owned();
        result.push(NAME, not_checked(why.clone()));
        return Err(why);
    };
    match run_terminal_authentication(s, credentials, &ca_point).await {
        Ok(Some(how)) => {
            result.push(NAME, passed(how));
            Ok(())
        }
        Ok(None) => {
            let why = format!(
                "the chip trusts none of the CVCAs our terminal certificates chain to ({})",
                credentials.authorities().join(", ")
            );
            result.push(NAME, not_checked(why.clone()));
            Err(why)
        }
        Err(e) => {
            result.push(NAME, failed(&e));
            Err(format!("terminal authentication failed: {e}"))
        }
    }
}

/// The exchanges of terminal authentication: `None` when the chip knows none of the CVCAs our chains start at
/// (it answers MSE:Set DST with 6A88: the trial stands in for reading EF.CVCA).
async fn run_terminal_authentication(
    s: &mut Session<'_>,
    credentials: &TerminalCredentials,
    ca_point: &[u8],
) -> Result<Option<String>, StepError> {
    for cvca in credentials.authorities() {
        let Some(chain) = credentials.chain_from(&cvca) else { continue };
        let r = s.exchange(&ta::mse_set_dst(&cvca), "MSE:Set DST").await?;
        if r.sw == StatusWord::REFERENCE_NOT_FOUND {
            continue;
        }
        for (i, cert) in chain.iter().enumerate() {
            let role = match cert.body.role {
                CvRole::Cvca => "CVCA link",
                CvRole::DvDomestic | CvRole::DvForeign => "DV",
                CvRole::Terminal => "terminal",
            };
            if i > 0 {
                s.ok(&ta::mse_set_dst(&cert.body.car), &format!("MSE:Set DST for the {role} certificate")).await?;
            } else if r.sw != StatusWord::SUCCESS {
                return Err(StepError::Chip { what: format!("MSE:Set DST {cvca}"), sw: r.sw });
            }
            s.ok(
                &ta::pso_verify_certificate(cert),
                &format!("PSO:Verify Certificate of the {role} certificate {}", cert.body.chr),
            )
            .await?;
        }
        let terminal = chain.last().expect("a chain ends at the terminal certificate");
        s.ok(&ta::mse_set_at(&terminal.body.chr), "MSE:Set AT (terminal authentication)").await?;
        let challenge = s.ok(&bac::get_challenge(), "GET CHALLENGE (terminal authentication)").await?;
        let r_picc = bac::challenge_from(&challenge)
            .map_err(|e| StepError::Protocol { what: "GET CHALLENGE".into(), why: e.to_string() })?;
        let signature = credentials.sign(&ta::signed_input(&s.id_picc, &r_picc, ca_point));
        s.ok(&ta::external_authenticate(&signature), "EXTERNAL AUTHENTICATE (terminal authentication)").await?;
        let names: Vec<&str> = chain.iter().map(|c| c.body.chr.as_str()).collect();
        return Ok(Some(format!("chain {cvca} > {}", names.join(" > "))));
    }
    Ok(None)
}

async fn active_authentication(s: &mut Session<'_>, result: &mut Inspection) {
    const NAME: &str = "active authentication";
    let Some(bytes) = result.files.get(&FileId::Dg(15)) else {
        return result.push(NAME, not_checked("no DG15"));
    };
    let dg15 = match Dg15::parse(bytes) {
        Ok(d) => d,
        Err(e) => return result.push(NAME, failed(e)),
    };
    let Some(curve) = ec_curve(&dg15.public_key) else {
        return result
            .push(NAME, not_checked("the DG15 key is not ECDSA on P-256 or brainpoolP256r1 (RSA not wired yet)"));
    };
    // The hash comes from DG14's ActiveAuthenticationInfo (ECDSA keys must have one).
    let hash = result.files.get(&FileId::Dg(14)).and_then(|b| Dg14::parse(b).ok()).and_then(|d| {
        d.0.0.iter().find_map(|i| match i {
            SecurityInfo::ActiveAuthentication { signature_algorithm: Some(oid), .. } => {
                AaHash::from_ecdsa_plain_oid(oid.as_bytes())
            }
            _ => None,
        })
    });
    let Some(hash) = hash else {
        return result
            .push(NAME, failed("DG15 holds an ECDSA key but DG14 has no ActiveAuthenticationInfo naming the hash"));
    };
    if !s.ensure_open(NAME, result).await {
        return;
    }
    let challenge: [u8; 8] = s.random();
    let point = dg15.public_key.subject_public_key.raw_bytes().to_vec();
    match s.ok(&aa::internal_authenticate(&challenge), "INTERNAL AUTHENTICATE").await {
        Ok(r) => match aa::verify_ecdsa(curve, hash, &point, &challenge, &r) {
            Ok(()) => result.push(NAME, passed(format!("ECDSA {hash:?} on {curve:?} over our challenge"))),
            Err(e) => result.push(NAME, failed(e)),
        },
        Err(e) => result.push(NAME, failed(&e)),
    }
}

fn compare_mrz(page: &Mrz, result: &mut Inspection) {
    const NAME: &str = "MRZ on the page = DG1";
    let Some(bytes) = result.files.get(&FileId::Dg(1)) else {
        return result.push(NAME, not_checked("DG1 was not read"));
    };
    let chip = Dg1::parse(bytes).ok().and_then(|d| d.mrz_str().map(str::to_owned));
    let Some(chip) = chip else {
        return result.push(NAME, failed("DG1 holds no readable MRZ"));
    };
    let page_text: String = page.generate().map(|g| g.lines.concat()).unwrap_or_default();
    if page_text == chip {
        result.push(NAME, passed("identical"));
    } else {
        // Which field differs, never the values (they are personal data).
        let differing = Mrz::parse(&chip).map_or_else(
            |e| format!("DG1's MRZ does not read: {e}"),
            |c| {
                let mut d = Vec::new();
                if c.document_number != page.document_number {
                    d.push("document number");
                }
                if c.name != page.name {
                    d.push("name");
                }
                if c.birth_date != page.birth_date {
                    d.push("date of birth");
                }
                if c.expiry_date != page.expiry_date {
                    d.push("date of expiry");
                }
                if c.nationality != page.nationality {
                    d.push("nationality");
                }
                if d.is_empty() { "other fields differ".into() } else { format!("differs in {}", d.join(", ")) }
            },
        );
        result.push(NAME, failed(differing));
    }
}
