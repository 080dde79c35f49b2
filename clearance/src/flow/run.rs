//! One gate's flow: admit, document and finger (side by side: the reader and the scanner are separate devices),
//! verification, watchlist, decision, record, then release or referral. Every step is timed on tokio's clock.

use std::sync::Arc;
use std::time::Duration;

use khil_examine::{Examiner, StopList};
use khil_mrtd::inspect::{InspectOptions, inspect};
use khil_mrtd::mrz::{CivilDate, Mrz};
use khil_mrtd::pa::TrustStore;
use khil_mrtd::ta::TerminalCredentials;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use tokio::time::Instant;

use super::chip::{chip_data, dg3_reference};
use super::devices::{Devices, PageReader};
use super::evidence::{
    Device, DeviceFault, DocumentEvidence, Evidence, FingerEvidence, Outcome, ReferenceKind, Referral, Step, StepTime,
};
use super::finger::{FingerConfig, FingerSession, FingerStop};
use super::page::read_page;
use super::seams::{Decide, DocumentIdentity, RecordSink, ReferenceSource, Watchlist};
use crate::gate::{Decision, GateState};

/// What the flow checks against and how long it waits.
pub struct FlowConfig {
    /// The gate's name in evidence and records.
    pub gate_name: String,
    /// The day documents and certificates are judged on.
    pub today: CivilDate,
    /// CSCAs and CRLs for passive authentication.
    pub trust: TrustStore,
    /// Terminal certificates for EAC (DG3); `None`: DG3 stays unread.
    pub terminal: Option<TerminalCredentials>,
    /// Lost and stolen documents, for the examiner.
    pub stop_list: StopList,
    /// How long after admission the document may take to be laid on the reader.
    pub document_wait: Duration,
    /// How long after the page was read the chip may take to be in the field.
    pub chip_wait: Duration,
    pub finger: FingerConfig,
    /// How long the traveller may take to leave the gate after the decision.
    pub exit_wait: Duration,
    /// Seeds the inspection system's challenges (a scenario gives the same bytes every run).
    pub seed: u64,
}

impl std::fmt::Debug for FlowConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowConfig")
            .field("gate_name", &self.gate_name)
            .field("cscas", &self.trust.cscas.len())
            .field("terminal", &self.terminal.is_some())
            .field("finger", &self.finger)
            .finish_non_exhaustive()
    }
}

impl FlowConfig {
    /// Defaults for everything but what must be given.
    pub fn new(gate_name: impl Into<String>, today: CivilDate, trust: TrustStore) -> FlowConfig {
        FlowConfig {
            gate_name: gate_name.into(),
            today,
            trust,
            terminal: None,
            stop_list: StopList::new(),
            document_wait: Duration::from_secs(30),
            chip_wait: Duration::from_secs(5),
            finger: FingerConfig::default(),
            exit_wait: Duration::from_secs(30),
            seed: 0,
        }
    }
}

/// What lies outside the flow: decision, records, references, watchlists.
#[derive(Clone)]
pub struct Services {
    pub decide: Arc<dyn Decide>,
    pub records: Arc<dyn RecordSink>,
    pub references: Arc<dyn ReferenceSource>,
    pub watchlist: Arc<dyn Watchlist>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").field("references", &self.references.name()).finish_non_exhaustive()
    }
}

/// The gate could not take a traveller through the flow.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("the gate controller stopped")]
    GateStopped,
    /// The gate went into a state the flow cannot process a traveller in (an alarm, out of service).
    #[error("gate {gate}: {state} while admitting a traveller")]
    NotAdmitted { gate: String, state: GateState },
}

/// A gate's clearance flow.
pub struct GateFlow {
    pub devices: Devices,
    config: FlowConfig,
    services: Services,
    examiner: Examiner,
    inspect: InspectOptions,
    rng: ChaCha20Rng,
    travellers: u64,
}

impl std::fmt::Debug for GateFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateFlow")
            .field("devices", &self.devices)
            .field("travellers", &self.travellers)
            .finish_non_exhaustive()
    }
}

/// Times one step from `t0`.
struct Clock {
    t0: Instant,
}

impl Clock {
    fn step(&self, step: Step, started: Instant, outcome: impl Into<String>) -> StepTime {
        StepTime { step, started: started - self.t0, took: started.elapsed(), outcome: outcome.into() }
    }
}

impl GateFlow {
    pub fn new(devices: Devices, config: FlowConfig, services: Services) -> Result<GateFlow, String> {
        let date = der::DateTime::new(config.today.year(), config.today.month(), config.today.day(), 12, 0, 0)
            .map_err(|e| format!("today {:?}: {e}", config.today))?;
        let inspect = InspectOptions {
            mrz: String::new(),
            trust: config.trust.clone(),
            date,
            pace: true,
            can: None,
            read_size: khil_mrtd::files::SM_SHORT_READ,
            terminal: config.terminal.clone(),
        };
        let rng = ChaCha20Rng::seed_from_u64(config.seed ^ 0x6b68_696c_666c_6f77);
        Ok(GateFlow { devices, config, services, examiner: Examiner::default(), inspect, rng, travellers: 0 })
    }

    /// Waits for the next traveller and takes them through the flow: released through the exit, or referred back
    /// to the officer with their evidence.
    pub async fn next_traveller(&mut self) -> Result<Outcome, FlowError> {
        let gate = &self.devices.gate;
        gate.wait_for(|s| !matches!(s, GateState::Idle | GateState::OutOfService))
            .await
            .map_err(|_| FlowError::GateStopped)?;
        let t0 = Instant::now();
        let clock = Clock { t0 };
        let state =
            gate.wait_for(|s| !matches!(s, GateState::Admitting { .. })).await.map_err(|_| FlowError::GateStopped)?;
        if state != GateState::Processing {
            return Err(FlowError::NotAdmitted { gate: self.config.gate_name.clone(), state });
        }
        self.travellers += 1;
        let mut evidence =
            Evidence { traveller: self.travellers, gate: self.config.gate_name.clone(), ..Evidence::default() };
        evidence.timeline.push(clock.step(Step::Admit, t0, "in the mantrap, both flaps closed"));

        // The document and the first usable finger, side by side.
        let mut session = FingerSession::new(self.config.finger.clone());
        let finger_start = Instant::now();
        let (document, ()) = {
            let devices = &mut self.devices;
            let reading = read_document(
                &mut devices.readers,
                devices.reader_timeout,
                devices.chip.as_mut(),
                &self.config,
                &mut self.inspect,
                &mut self.rng,
                &self.examiner,
                &clock,
            );
            let fingering = session.first_usable(&mut devices.sensors);
            tokio::join!(reading, fingering)
        };
        let DocumentRead { evidence: doc, steps, faults, dg3, identity, compute } = document;
        evidence.compute += compute;
        evidence.timeline.extend(steps);
        evidence.faults.extend(faults);
        evidence.document = doc;

        // 1:1 against DG3, else an enrolment.
        let (reference, kind) = match (dg3, &identity) {
            (Some(m), _) => (Some(m), ReferenceKind::Dg3),
            (None, Some(who)) => match self.services.references.reference(who) {
                Some(e) => (Some(e.minutiae), ReferenceKind::Enrolment(e.source)),
                None => (None, ReferenceKind::None),
            },
            (None, None) => (None, ReferenceKind::None),
        };
        session.verify(&mut self.devices.sensors, reference.as_ref()).await;
        let finger = session.evidence(kind);
        evidence.compute += session.compute;
        let outcome = self.finger_outcome(&session, &finger, &mut evidence);
        evidence.timeline.push(clock.step(Step::Finger, finger_start, outcome));

        // 1:N.
        let start = Instant::now();
        if let Some(probe) = &finger.probe {
            let (version, search) =
                super::compute::timed(&mut evidence.compute, || self.services.watchlist.search_versioned(probe));
            evidence.watchlist_version = version;
            match search {
                Ok(hits) => {
                    evidence.timeline.push(clock.step(Step::Watchlist, start, format!("{} hits", hits.len())));
                    evidence.watchlist = Some(hits);
                }
                // Left unsearched: the rules' `watchlist.not_searched` decides, as when there is no probe.
                Err(why) => evidence.timeline.push(clock.step(Step::Watchlist, start, format!("not searched: {why}"))),
            }
        }
        evidence.finger = Some(finger);

        let start = Instant::now();
        let mut compute = Duration::ZERO;
        let verdict = super::compute::timed(&mut compute, || self.services.decide.decide(&evidence, self.config.today));
        evidence.compute += compute;
        let word = if verdict.release { "release" } else { "refer" };
        evidence.timeline.push(clock.step(Step::Decide, start, word));

        // The record is committed before any flap moves.
        let start = Instant::now();
        let wall = std::time::Instant::now();
        let record = self.services.records.record(&evidence, &verdict).await;
        evidence.compute += wall.elapsed();
        let said = match &record {
            Ok(id) => format!("recorded {id}"),
            Err(e) => format!("not recorded: {e}"),
        };
        evidence.timeline.push(clock.step(Step::Record, start, said));

        let release = verdict.release && record.is_ok();
        self.open_gate(release, &mut evidence, &clock).await?;

        Ok(match record {
            Ok(id) if release => Outcome::Released { evidence, verdict, record: id },
            record => {
                let mut reasons = verdict.reasons;
                if let Err(e) = &record {
                    reasons.push(format!("the crossing could not be recorded: {e}"));
                }
                let degraded = evidence.degraded();
                Outcome::Referred(Referral { evidence, reasons, record: record.ok(), degraded })
            }
        })
    }

    /// The finger step's outcome in words; sensor failures become device faults (one the gate's other sensor
    /// stood in for is marked as a fallback; a broken ZFM line puts that scanner out of use).
    fn finger_outcome(&mut self, session: &FingerSession, finger: &FingerEvidence, evidence: &mut Evidence) -> String {
        let fault = |error: String, fallback: bool| DeviceFault {
            device: Device::FingerprintScanner,
            step: Step::Finger,
            error,
            fallback,
        };
        evidence.faults.extend(session.failovers.iter().map(|e| fault(e.clone(), true)));
        let fell_back = if session.failovers.is_empty() { "" } else { " (on the fallback sensor)" };
        match (&session.stopped, finger.verified) {
            (Some(FingerStop::Scanner(e)), _) => {
                evidence.faults.push(fault(e.clone(), false));
                // A broken line does not come back by itself: the flow stops using the scanner.
                if self.devices.sensors.first().is_some_and(|s| s.gone_after(e)) {
                    self.devices.sensors.remove(0);
                }
                format!("scanner failed after {} captures", finger.attempts.len())
            }
            (Some(FingerStop::NoFinger(waited)), _) if finger.probe.is_none() => {
                format!("no finger within {} s", waited.as_secs())
            }
            (_, Some(true)) => {
                format!("{} captures, verified ({:?}){fell_back}", finger.attempts.len(), finger.reference)
            }
            (_, Some(false)) => format!("{} captures, not verified{fell_back}", finger.attempts.len()),
            (_, None) if self.devices.sensors.is_empty() && finger.attempts.is_empty() => {
                evidence.faults.push(fault("the scanner is out of use since its line broke".into(), false));
                "no scanner".into()
            }
            (_, None) => format!("{} captures, nothing to verify against", finger.attempts.len()),
        }
    }

    /// Releases (exit flap) or refers (entry flap) and waits for the gate to be idle again; a gate that ends in an
    /// alarm or does not get there in time is a device fault on the evidence.
    async fn open_gate(&self, release: bool, evidence: &mut Evidence, clock: &Clock) -> Result<(), FlowError> {
        let start = Instant::now();
        let step = if release { Step::Release } else { Step::Refer };
        let decision = if release { Decision::Accept } else { Decision::Reject };
        let gate = &self.devices.gate;
        gate.decide(decision).await.map_err(|_| FlowError::GateStopped)?;
        let end = tokio::time::timeout(
            self.config.exit_wait,
            gate.wait_for(|s| matches!(s, GateState::Idle | GateState::Alarm(_) | GateState::OutOfService)),
        )
        .await;
        let left = match end {
            Ok(Ok(GateState::Idle)) => "gate idle again".to_owned(),
            Ok(Ok(state)) => {
                let error = format!("the gate is {state}");
                evidence.faults.push(DeviceFault { device: Device::Gate, step, error, fallback: false });
                format!("the gate is {state}")
            }
            Ok(Err(_)) => return Err(FlowError::GateStopped),
            Err(_) => {
                let state = gate.state();
                evidence.faults.push(DeviceFault {
                    device: Device::Gate,
                    step,
                    error: format!("still {state} after {} s", self.config.exit_wait.as_secs()),
                    fallback: false,
                });
                format!("still {state}")
            }
        };
        evidence.timeline.push(clock.step(step, start, left));
        Ok(())
    }
}

/// What the document part of the flow gave.
struct DocumentRead {
    evidence: Option<DocumentEvidence>,
    steps: Vec<StepTime>,
    faults: Vec<DeviceFault>,
    dg3: Option<khil_biometrics::minutia::Minutiae>,
    identity: Option<DocumentIdentity>,
    /// Wall time of the examination.
    compute: Duration,
}

/// Page, chip, examination.
#[allow(clippy::too_many_arguments, reason = "the split borrows of one gate's devices and settings")]
async fn read_document(
    readers: &mut Vec<PageReader>,
    reader_timeout: Duration,
    chip: &mut dyn khil_apdu::ApduTransport,
    config: &FlowConfig,
    options: &mut InspectOptions,
    rng: &mut ChaCha20Rng,
    examiner: &Examiner,
    clock: &Clock,
) -> DocumentRead {
    let mut out = DocumentRead {
        evidence: None,
        steps: Vec::new(),
        faults: Vec::new(),
        dg3: None,
        identity: None,
        compute: Duration::ZERO,
    };
    let start = Instant::now();
    let page = match page_with_fallback(readers, config.document_wait, reader_timeout, &mut out.faults).await {
        Ok(page) => page,
        Err(e) => {
            out.steps.push(clock.step(Step::Page, start, e));
            return out;
        }
    };
    out.steps.push(clock.step(Step::Page, start, format!("{} notes", page.notes.len())));
    let (number, mut document, mut notes) = (page.number, page.document, page.notes);
    out.identity = Mrz::parse(&document.mrz_lines.join("\n")).ok().map(|m| DocumentIdentity {
        issuing_state: m.issuing_state,
        document_number: m.document_number,
        nationality: m.nationality,
    });

    let start = Instant::now();
    let mut chip_access = None;
    let mut chip_checks = Vec::new();
    if document.mrz_lines.is_empty() {
        notes.push("the chip was not read: the reader read no MRZ to open it with".into());
        out.steps.push(clock.step(Step::Chip, start, "no MRZ to open it with"));
    } else if !chip_in_field(chip, config.chip_wait).await {
        notes.push(format!("no chip in the field within {} s", config.chip_wait.as_secs()));
        out.steps.push(clock.step(Step::Chip, start, "no chip"));
    } else {
        options.mrz = document.mrz_lines.join("\n");
        let inspected = inspect(chip, options, rng).await;
        options.mrz.clear();
        match inspected {
            Ok(inspection) => {
                chip_access.clone_from(&inspection.access);
                match chip_data(&inspection) {
                    Ok(data) => document.chip = Some(data),
                    Err(why) => notes.push(why),
                }
                match dg3_reference(&inspection) {
                    Ok(m) => out.dg3 = m,
                    Err(why) => notes.push(why),
                }
                let said =
                    format!("{} ({})", inspection.access.as_deref().unwrap_or("not opened"), outcome_word(&inspection));
                chip_checks = inspection.checks;
                out.steps.push(clock.step(Step::Chip, start, said));
            }
            Err(e) => {
                out.faults.push(DeviceFault {
                    device: Device::Chip,
                    step: Step::Chip,
                    error: e.to_string(),
                    fallback: false,
                });
                out.steps.push(clock.step(Step::Chip, start, "chip reader failed"));
            }
        }
    }

    let start = Instant::now();
    let report =
        super::compute::timed(&mut out.compute, || examiner.examine(&document, &config.stop_list, config.today));
    out.steps.push(clock.step(Step::Examine, start, report.decision.name()));
    out.evidence = Some(DocumentEvidence { reader_number: number, document, report, chip_access, chip_checks, notes });
    out
}

/// The page off the first reader; a reader that fails hands over to the next (the traveller is shown to it; the
/// document is on it), the failure kept as a fault the fallback stood in for; a reader whose line broke leaves
/// the list, one that failed otherwise goes to the back. The error says why no page was read (no document is
/// not a device fault; a reader's last failure is).
async fn page_with_fallback(
    readers: &mut Vec<PageReader>,
    wait: Duration,
    request_timeout: Duration,
    faults: &mut Vec<DeviceFault>,
) -> Result<super::page::PageRead, String> {
    // Each reader gets one go: two failing readers do not hand over to each other for ever.
    let mut goes = readers.len();
    loop {
        let Some(reader) = readers.first_mut() else {
            let error = "no document reader left in use".to_owned();
            faults.push(DeviceFault {
                device: Device::DocumentReader,
                step: Step::Page,
                error: error.clone(),
                fallback: false,
            });
            return Err(error);
        };
        goes -= 1;
        let e = match read_page(&mut reader.driver, &reader.info, "document reader", wait, request_timeout).await {
            Ok(page) => return Ok(page),
            Err(e) if e.contains("no document placed") => return Err(e),
            Err(e) => e,
        };
        let fallback = goes > 0 && readers.len() > 1;
        if super::devices::line_gone(&e) {
            readers.remove(0);
        } else if fallback {
            readers.rotate_left(1);
        }
        faults.push(DeviceFault { device: Device::DocumentReader, step: Step::Page, error: e.clone(), fallback });
        if !fallback {
            return Err(e);
        }
    }
}

fn outcome_word(inspection: &khil_mrtd::inspect::Inspection) -> &'static str {
    match inspection.outcome() {
        khil_mrtd::pa::Outcome::Passed => "passed",
        khil_mrtd::pa::Outcome::Failed => "failed",
        khil_mrtd::pa::Outcome::Incomplete => "incomplete",
    }
}

/// Polls the chip reader until a card is in its field, for at most `wait`.
async fn chip_in_field(chip: &mut dyn khil_apdu::ApduTransport, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    loop {
        if chip.card_present().await.unwrap_or(false) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
