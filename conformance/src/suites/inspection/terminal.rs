//! The terminal under test, as the purposes see it: something a specimen's chip is presented to, which then
//! accepts the document, rejects it, or could not read it, and (when it names them) says which checks it made.
//!
//! - [`Terminal::Sim`]: khil's own inspection system (`khil_mrtd::inspect`) in this process, reading the chip
//!   through an in-memory reader; with [`TerminalFault`]s it is a faulty terminal, the tester's mutant that shows
//!   each purpose failing. The faults live here, not in the product: they are the test's, not khil's.
//! - [`Terminal::Exec`]: an external inspection system run as a command once per specimen, the chip plugged into
//!   pcscd through vpcd for as long as the command runs.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use khil_apdu::card::Reply;
use khil_apdu::vpcd::VpcdEndpoint;
use khil_apdu::{Card, Command, Response};
use khil_link::DeviceUrl;
use khil_mrtd::inspect::{InspectCheck, InspectOptions, Inspection, inspect};
use khil_mrtd::pa::{CheckName, Outcome, Status, TrustStore};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// What the terminal decided about a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminalVerdict {
    /// The document is genuine and valid, as far as the terminal is concerned.
    Accepted,
    /// The terminal found it wrong.
    Rejected,
    /// The terminal could not read it to the end (or did not say within its time): not accepted.
    Unread(String),
}

impl fmt::Display for TerminalVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TerminalVerdict::Accepted => f.write_str("accepted"),
            TerminalVerdict::Rejected => f.write_str("rejected"),
            TerminalVerdict::Unread(why) => write!(f, "could not read it ({why})"),
        }
    }
}

/// How one named check of the terminal went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckState {
    Passed,
    Failed,
    NotChecked,
}

impl fmt::Display for CheckState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckState::Passed => "passed",
            CheckState::Failed => "failed",
            CheckState::NotChecked => "not checked",
        })
    }
}

/// One check as the terminal named it. `why` is the terminal's own words: purposes classify it (secure
/// messaging, a status word) but never copy it into evidence, since a terminal may put anything in it.
#[derive(Clone, PartialEq, Eq)]
pub struct NamedCheck {
    pub name: String,
    pub state: CheckState,
    pub why: String,
}

impl fmt::Debug for NamedCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} ({} chars of reason)", self.name, self.state, self.why.len())
    }
}

/// What the terminal said about one specimen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalReport {
    pub verdict: TerminalVerdict,
    /// How it opened the chip (`PACE ... on BrainpoolP256r1`, `BAC`), when it says.
    pub access: Option<String>,
    /// Its named checks, when it names them (khil's document-read JSON).
    pub checks: Option<Vec<NamedCheck>>,
}

/// A fault of khil's own terminal: a check it does not make (it treats the check as passed), or a verdict it
/// gets wrong. What a failure a fault "ignores" is, is decided on the check's name, or for the protocol faults on
/// what khil's inspection says went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TerminalFault {
    /// Data group hashes against EF.SOD are not compared.
    NoHashCheck,
    /// EF.SOD's signature is not verified.
    NoSignatureCheck,
    /// The Document Signer is not chained to a trusted CSCA (nor is the CSCA's validity checked).
    NoChainCheck,
    /// The Document Signer certificate's validity period is not checked.
    NoValidityCheck,
    /// The CSCA's CRL is not consulted.
    NoCrlCheck,
    /// Chip authentication failures are ignored.
    NoChipAuth,
    /// Active authentication failures are ignored.
    NoActiveAuth,
    /// Secure messaging errors (a wrong MAC, a skipped counter) are ignored.
    NoSmCheck,
    /// End-of-file status words (9000 for a short read, 6B00 inside a file) are ignored.
    NoEofCheck,
    /// A document that could not be read (no answer from the chip, checks left undone) is accepted.
    AcceptsUnread,
    /// Every document is rejected.
    RejectsAll,
}

/// Every fault, in the order `TerminalFault::NAMES` lists them.
const ALL: [TerminalFault; 11] = [
    TerminalFault::NoHashCheck,
    TerminalFault::NoSignatureCheck,
    TerminalFault::NoChainCheck,
    TerminalFault::NoValidityCheck,
    TerminalFault::NoCrlCheck,
    TerminalFault::NoChipAuth,
    TerminalFault::NoActiveAuth,
    TerminalFault::NoSmCheck,
    TerminalFault::NoEofCheck,
    TerminalFault::AcceptsUnread,
    TerminalFault::RejectsAll,
];

/// `passive authentication: <check>`, as khil's inspection names passive authentication's checks.
fn pa(check: CheckName) -> String {
    format!("passive authentication: {check}")
}

/// Whether khil's inspection says a step failed because the chip did not answer (a mute or slow chip, a chip
/// that left the reader). Through pcscd's vpcd a chip that does not answer in time is taken out of the reader
/// and the transmit comes back empty: khil's inspection then says the answer was a response APDU of 0 bytes.
pub fn is_no_answer(why: &str) -> bool {
    why.contains("no answer from the chip")
        || why.contains("did not answer")
        || why.contains("left the reader")
        || why.contains("response APDU of 0 bytes")
}

/// Whether khil's inspection says a step failed in secure messaging (a wrong MAC, a skipped counter).
pub fn is_secure_messaging(why: &str) -> bool {
    why.contains("secure messaging")
}

impl TerminalFault {
    /// Every fault's name, for messages.
    pub const NAMES: &'static str = "no-hash-check, no-signature-check, no-chain-check, no-validity-check, \
                                     no-crl-check, no-chip-auth, no-active-auth, no-sm-check, no-eof-check, \
                                     accepts-unread, rejects-all";

    pub const fn name(self) -> &'static str {
        match self {
            TerminalFault::NoHashCheck => "no-hash-check",
            TerminalFault::NoSignatureCheck => "no-signature-check",
            TerminalFault::NoChainCheck => "no-chain-check",
            TerminalFault::NoValidityCheck => "no-validity-check",
            TerminalFault::NoCrlCheck => "no-crl-check",
            TerminalFault::NoChipAuth => "no-chip-auth",
            TerminalFault::NoActiveAuth => "no-active-auth",
            TerminalFault::NoSmCheck => "no-sm-check",
            TerminalFault::NoEofCheck => "no-eof-check",
            TerminalFault::AcceptsUnread => "accepts-unread",
            TerminalFault::RejectsAll => "rejects-all",
        }
    }

    /// The fault of this name; an unknown one is an error naming the URL parameter and every known name.
    pub fn parse(name: &str) -> Result<TerminalFault, String> {
        ALL.into_iter().find(|f| f.name() == name).ok_or_else(|| {
            format!(
                "sim:inspection-system parameter fault: unknown terminal fault {name:?}: expected one of {}",
                Self::NAMES
            )
        })
    }

    /// Whether a terminal with this fault lets the failed `check` pass.
    fn ignores(self, check: &InspectCheck) -> bool {
        let name = check.name.as_str();
        let why = match &check.status {
            Status::Failed(why) => why.as_str(),
            _ => return false,
        };
        match self {
            TerminalFault::NoHashCheck => name.starts_with("passive authentication: DG") && name.ends_with(" hash"),
            TerminalFault::NoSignatureCheck => name == pa(CheckName::SodSignature),
            TerminalFault::NoChainCheck => name == pa(CheckName::DsIssuedByCsca) || name == pa(CheckName::CscaValidity),
            TerminalFault::NoValidityCheck => name == pa(CheckName::DsValidity),
            TerminalFault::NoCrlCheck => name == pa(CheckName::DsNotRevoked),
            TerminalFault::NoChipAuth => name == "chip authentication",
            TerminalFault::NoActiveAuth => name == "active authentication",
            TerminalFault::NoSmCheck => is_secure_messaging(why),
            TerminalFault::NoEofCheck => why.contains("6282") || why.contains("6B00"),
            TerminalFault::AcceptsUnread => is_no_answer(why),
            TerminalFault::RejectsAll => false,
        }
    }
}

/// `fault` values of a `sim:inspection-system` URL (repeatable, or comma-separated).
pub fn parse_faults<'a>(values: impl Iterator<Item = &'a str>) -> Result<Vec<TerminalFault>, String> {
    let mut faults = Vec::new();
    for name in values.flat_map(|v| v.split(',')).map(str::trim).filter(|n| !n.is_empty()) {
        let fault = TerminalFault::parse(name)?;
        if !faults.contains(&fault) {
            faults.push(fault);
        }
    }
    Ok(faults)
}

/// khil's inspection as a terminal with `faults` judges it: each failed check a fault ignores is passed; a
/// terminal that ignored a failure (or accepts what it could not read) does not hold the checks it then could not
/// make against the document either. `rejects-all` fails every check.
pub fn judged(faults: &[TerminalFault], mut inspection: Inspection) -> (TerminalVerdict, Vec<NamedCheck>) {
    if faults.contains(&TerminalFault::RejectsAll) {
        // Each check failed, in the inspection's own words: the terminal's verdict is wrong, its findings are not.
        for c in &mut inspection.checks {
            let why = match &c.status {
                Status::Passed(w) | Status::Failed(w) | Status::NotChecked(w) => w.clone(),
            };
            c.status = Status::Failed(why);
        }
    } else {
        let mut ignored_any = faults.contains(&TerminalFault::AcceptsUnread);
        for c in &mut inspection.checks {
            if faults.iter().any(|f| f.ignores(c)) {
                c.status = Status::Passed("not checked by this terminal: taken as passed".into());
                ignored_any = true;
            }
        }
        if ignored_any {
            for c in &mut inspection.checks {
                if let Status::NotChecked(_) = c.status {
                    c.status = Status::Passed("not checked by this terminal: taken as passed".into());
                }
            }
        }
    }
    let verdict = match inspection.outcome() {
        Outcome::Passed => TerminalVerdict::Accepted,
        Outcome::Failed => TerminalVerdict::Rejected,
        Outcome::Incomplete => TerminalVerdict::Unread("some checks could not be made".into()),
    };
    let checks = inspection
        .checks
        .into_iter()
        .map(|c| {
            let (state, why) = match c.status {
                Status::Passed(w) => (CheckState::Passed, w),
                Status::Failed(w) => (CheckState::Failed, w),
                Status::NotChecked(w) => (CheckState::NotChecked, w),
            };
            NamedCheck { name: c.name, state, why }
        })
        .collect();
    (verdict, checks)
}

/// A boxed card as a card (the in-memory reader takes `impl Card`).
struct Boxed(Box<dyn Card>);

impl Card for Boxed {
    fn atr(&self) -> Vec<u8> {
        self.0.atr()
    }
    fn reset(&mut self) {
        self.0.reset();
    }
    fn answer(&mut self, command: &Command) -> Response {
        self.0.answer(command)
    }
    // The card's timing (late, mute) is in its reply.
    fn reply(&mut self, command: &Command) -> Reply {
        self.0.reply(command)
    }
}

/// An external inspection system: a command run once per specimen, reading at a PC/SC reader into which the
/// lower tester plugs the specimen's chip through vpcd.
#[derive(Debug, Clone)]
pub struct ExecTerminal {
    /// The command's words, placeholders not yet filled in.
    pub argv: Vec<String>,
    /// The device URL given (`pcsc://...`): `{device}`.
    pub device: DeviceUrl,
    /// The reader's name: `{reader}`.
    pub reader: String,
    pub vpcd: VpcdEndpoint,
    /// The most one run of the command may take.
    pub timeout: Duration,
}

/// The terminal under test.
#[derive(Debug, Clone)]
pub enum Terminal {
    /// khil's inspection system in this process, with faults (none: khil's terminal as it is).
    Sim {
        faults: Vec<TerminalFault>,
        trust: Arc<TrustStore>,
    },
    Exec(ExecTerminal),
}

impl Terminal {
    /// Presents `chip` (the specimen whose data page reads `mrz`) to the terminal and takes its word. `Err`: the
    /// lower tester could not present it (vpcd is not there, the command cannot be started): the test's fault,
    /// not the terminal's.
    pub async fn present(
        &self,
        chip: Box<dyn Card>,
        mrz: &str,
        reader_timeout: Duration,
    ) -> Result<TerminalReport, String> {
        match self {
            Terminal::Sim { faults, trust } => Ok(present_sim(faults, trust, chip, mrz, reader_timeout).await),
            Terminal::Exec(exec) => exec.present(chip, mrz).await,
        }
    }
}

async fn present_sim(
    faults: &[TerminalFault],
    trust: &TrustStore,
    chip: Box<dyn Card>,
    mrz: &str,
    reader_timeout: Duration,
) -> TerminalReport {
    let (mut reader, _slot) = khil_apdu::memory_pair(Boxed(chip));
    reader.set_timeout(reader_timeout);
    let date = match der::DateTime::from_system_time(std::time::SystemTime::now()) {
        Ok(d) => d,
        Err(e) => {
            return TerminalReport {
                verdict: TerminalVerdict::Unread(format!("today's date: {e}")),
                access: None,
                checks: None,
            };
        }
    };
    let options = InspectOptions {
        mrz: mrz.to_owned(),
        trust: trust.clone(),
        date,
        pace: true,
        can: None,
        read_size: khil_mrtd::files::SM_SHORT_READ,
        // The specimens carry no DG3: nothing is EAC-protected, so no terminal certificates are needed.
        terminal: None,
    };
    // The terminal's nonces and keys: seeded, so a run is reproducible; the chip never sees the seed.
    let mut rng = ChaCha20Rng::seed_from_u64(0x6b68_696c_2d69_7300);
    match inspect(&mut reader, &options, &mut rng).await {
        Ok(inspection) => {
            let access = inspection.access.clone();
            let (verdict, checks) = judged(faults, inspection);
            TerminalReport { verdict, access, checks: Some(checks) }
        }
        Err(e) => {
            let verdict = if faults.contains(&TerminalFault::RejectsAll) {
                TerminalVerdict::Rejected
            } else if faults.contains(&TerminalFault::AcceptsUnread) {
                TerminalVerdict::Accepted
            } else {
                TerminalVerdict::Unread(e.to_string())
            };
            TerminalReport { verdict, access: None, checks: None }
        }
    }
}

/// A directory of this process's own for one specimen's files (the MRZ the terminal reads), removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Result<Scratch, String> {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "khil-inspection-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// How long pcscd may take to notice a card taken out of vpcd's reader (it polls about once a second).
const PCSCD_NOTICES: Duration = Duration::from_secs(15);
/// How long a card plugged in may take to show in pcscd before it is plugged in again.
const CARD_SHOWS: Duration = Duration::from_secs(5);
/// Times a specimen is plugged in before the lower tester gives up.
const PLUG_ATTEMPTS: usize = 3;
/// A pause after a card left the reader, before the next is plugged in: vpcd notices a card gone on its next poll.
const VPCD_SETTLES: Duration = Duration::from_secs(1);

/// Splits a command line as a shell would (quotes, backslashes), without a shell.
pub fn split_command(line: &str) -> Result<Vec<String>, String> {
    let words = shlex::split(line)
        .ok_or_else(|| format!("[ixit] command {line:?}: an unclosed quote or a trailing backslash"))?;
    if words.is_empty() {
        return Err("[ixit] command: empty: give the command that runs the terminal on one document".into());
    }
    Ok(words)
}

/// `word` with the placeholders filled in.
fn fill(word: &str, device: &str, reader: &str, mrz: &str) -> String {
    word.replace("{device}", device).replace("{reader}", reader).replace("{mrz}", mrz)
}

/// What serving a chip to vpcd ends with: the chip back, and how serving ended.
type Served = (Box<dyn Card>, Result<(), khil_apdu::TransportError>);

/// A chip being served to vpcd, and how to take it out again (which gives the chip back).
type Plugged = (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<Served>);

fn plug(vpcd: &VpcdEndpoint, mut chip: Box<dyn Card>) -> Plugged {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let vpcd = vpcd.clone();
    let serving = tokio::spawn(async move {
        let served = vpcd
            .serve(chip.as_mut(), async {
                let _ = stopped.await;
            })
            .await;
        (chip, served)
    });
    (stop, serving)
}

fn vpcd_failed(served: Result<Served, tokio::task::JoinError>) -> String {
    match served {
        Ok((_, Err(e))) => format!("plugging the specimen into vpcd: {e}"),
        Ok((_, Ok(()))) => "plugging the specimen into vpcd: it stopped serving".to_owned(),
        Err(e) => format!("plugging the specimen into vpcd: {e}"),
    }
}

impl ExecTerminal {
    async fn present(&self, chip: Box<dyn Card>, mrz: &str) -> Result<TerminalReport, String> {
        let scratch = Scratch::new()?;
        let mrz_file = scratch.0.join("mrz.txt");
        write_private(&mrz_file, mrz)?;
        let device = self.device.to_string();
        let argv: Vec<String> =
            self.argv.iter().map(|w| fill(w, &device, &self.reader, &mrz_file.to_string_lossy())).collect();

        let (stop, mut serving) = self.plug_in(chip).await?;
        let ran = async {
            let mut command = tokio::process::Command::new(&argv[0]);
            command
                .args(&argv[1..])
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .kill_on_drop(true);
            let child = command.spawn().map_err(|e| format!("[ixit] command: cannot start {:?}: {e}", argv[0]))?;
            Ok::<_, String>(tokio::time::timeout(self.timeout, child.wait_with_output()).await)
        };
        let ran = tokio::select! {
            r = ran => r,
            // Serving ends early only when vpcd cannot be reached: the lower tester's setup, not the terminal.
            served = &mut serving => return Err(vpcd_failed(served)),
        };
        let _ = stop.send(());
        let _ = serving.await;
        // The next specimen is seen only once pcscd saw this one go.
        let _ = self.wait_for_card(false, PCSCD_NOTICES).await;
        tokio::time::sleep(VPCD_SETTLES).await;
        let report = match ran? {
            Err(_) => TerminalReport {
                verdict: TerminalVerdict::Unread(format!("no exit within {} s", self.timeout.as_secs())),
                access: None,
                checks: None,
            },
            Ok(Err(e)) => return Err(format!("[ixit] command: {e}")),
            Ok(Ok(out)) => {
                let (access, checks) = khil_json(&out.stdout);
                let verdict = match out.status.code() {
                    Some(0) => TerminalVerdict::Accepted,
                    Some(1) => TerminalVerdict::Rejected,
                    Some(n) => TerminalVerdict::Unread(format!("exit status {n}")),
                    None => TerminalVerdict::Unread("killed by a signal".into()),
                };
                TerminalReport { verdict, access, checks }
            }
        };
        Ok(report)
    }

    /// Plugs `chip` into vpcd until pcscd reports it in the reader. vpcd sees a card plugged in only once it
    /// noticed the last one go (on its next poll), so a card pcscd does not report is taken out and plugged in
    /// again, a few times.
    async fn plug_in(&self, mut chip: Box<dyn Card>) -> Result<Plugged, String> {
        let mut last = String::new();
        for _ in 0..PLUG_ATTEMPTS {
            let (stop, mut serving) = plug(&self.vpcd, chip);
            let seen = tokio::select! {
                seen = self.wait_for_card(true, CARD_SHOWS) => seen,
                served = &mut serving => return Err(vpcd_failed(served)),
            };
            match seen {
                Ok(()) => return Ok((stop, serving)),
                Err(e) => last = e,
            }
            let _ = stop.send(());
            let (back, _) = serving.await.map_err(|e| format!("plugging the specimen into vpcd: {e}"))?;
            chip = back;
            let _ = self.wait_for_card(false, PCSCD_NOTICES).await;
            tokio::time::sleep(VPCD_SETTLES).await;
        }
        Err(format!("{last} ({PLUG_ATTEMPTS} times)"))
    }

    /// Waits until pcscd reports a card in the reader (`present`) or none. Without PC/SC in this build the
    /// reader cannot be watched: a fixed pause instead.
    async fn wait_for_card(&self, present: bool, limit: Duration) -> Result<(), String> {
        let started = tokio::time::Instant::now();
        loop {
            match khil_apdu::connect(&self.device, &khil_apdu::NoSimCards).await {
                Ok(mut reader) => {
                    if reader.card_present().await.unwrap_or(!present) == present {
                        return Ok(());
                    }
                }
                Err(khil_apdu::TransportError::Unsupported { .. }) => {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    return Ok(());
                }
                Err(_) => {}
            }
            if started.elapsed() > limit {
                let what = if present { "a card in" } else { "the reader empty" };
                return Err(format!(
                    "{}: pcscd did not report {what} within {} s (the specimen plugged into {:?})",
                    self.device,
                    limit.as_secs(),
                    self.vpcd
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Writes `text` to a new file only this user can read (it is an MRZ).
fn write_private(path: &std::path::Path, text: &str) -> Result<(), String> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

/// The access and checks of khil's `document read` JSON on stdout, when it is that.
fn khil_json(stdout: &[u8]) -> (Option<String>, Option<Vec<NamedCheck>>) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(stdout) else { return (None, None) };
    let access = v.get("access").and_then(|a| a.as_str()).map(str::to_owned);
    let checks = v.get("checks").and_then(|c| c.as_array()).map(|list| {
        list.iter()
            .filter_map(|c| {
                let name = c.get("check")?.as_str()?.to_owned();
                let state = match c.get("status")?.as_str()? {
                    "passed" => CheckState::Passed,
                    "failed" => CheckState::Failed,
                    _ => CheckState::NotChecked,
                };
                let why = c.get("why").and_then(|w| w.as_str()).unwrap_or_default().to_owned();
                Some(NamedCheck { name, state, why })
            })
            .collect()
    });
    (access, checks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspection(checks: &[(&str, Status)]) -> Inspection {
        let mut i = Inspection::default();
        i.checks = checks
            .iter()
            .map(|(name, status)| InspectCheck { name: (*name).to_owned(), status: status.clone() })
            .collect();
        i
    }

    fn ok(why: &str) -> Status {
        Status::Passed(why.into())
    }
    fn bad(why: &str) -> Status {
        Status::Failed(why.into())
    }
    fn undone(why: &str) -> Status {
        Status::NotChecked(why.into())
    }

    /// An EF.SOD signed under an unknown CSCA, as khil's inspection reports it.
    fn unknown_ds() -> Inspection {
        inspection(&[
            ("access control: PACE", ok("PACE")),
            (&pa(CheckName::DsIssuedByCsca), bad("no CSCA in the trust store is named ...")),
            (&pa(CheckName::CscaValidity), undone("no trusted CSCA issued the DS certificate")),
            (&pa(CheckName::DsNotRevoked), undone("no trusted CSCA issued the DS certificate")),
        ])
    }

    #[test]
    fn a_terminal_without_a_check_passes_it_and_what_it_could_not_check_after_it() {
        assert_eq!(judged(&[], unknown_ds()).0, TerminalVerdict::Rejected);
        assert_eq!(judged(&[TerminalFault::NoCrlCheck], unknown_ds()).0, TerminalVerdict::Rejected);
        let (verdict, checks) = judged(&[TerminalFault::NoChainCheck], unknown_ds());
        assert_eq!(verdict, TerminalVerdict::Accepted);
        assert!(checks.iter().all(|c| c.state == CheckState::Passed), "{checks:?}");
    }

    #[test]
    fn rejects_all_fails_every_check_in_the_inspection_s_own_words() {
        let (verdict, checks) = judged(&[TerminalFault::RejectsAll], inspection(&[("EF.COM", ok("LDS 0107"))]));
        assert_eq!(verdict, TerminalVerdict::Rejected);
        assert_eq!((checks[0].state, checks[0].why.as_str()), (CheckState::Failed, "LDS 0107"));
    }

    #[test]
    fn protocol_faults_are_told_by_what_went_wrong() {
        let sm =
            || inspection(&[("EF.COM", bad("reading EF.COM at offset 8: secure messaging: the response MAC ..."))]);
        assert_eq!(judged(&[TerminalFault::NoEofCheck], sm()).0, TerminalVerdict::Rejected);
        assert_eq!(judged(&[TerminalFault::NoSmCheck], sm()).0, TerminalVerdict::Accepted);
        let eof =
            || inspection(&[("EF.COM", bad("reading EF.COM at offset 8, inside the file: the chip answered 6B00"))]);
        assert_eq!(judged(&[TerminalFault::NoSmCheck], eof()).0, TerminalVerdict::Rejected);
        assert_eq!(judged(&[TerminalFault::NoEofCheck], eof()).0, TerminalVerdict::Accepted);
        let unread = || inspection(&[("passive authentication", undone("EF.SOD was not read"))]);
        assert!(matches!(judged(&[], unread()).0, TerminalVerdict::Unread(_)));
        assert_eq!(judged(&[TerminalFault::AcceptsUnread], unread()).0, TerminalVerdict::Accepted);
        // Through vpcd a chip that does not answer comes back as an empty answer.
        assert!(is_no_answer(
            "reading EF.COM at offset 8: the card's answer is not a response APDU: response APDU of 0 bytes"
        ));
    }
}
