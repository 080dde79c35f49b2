//! The border point's record store behind the flow's [`RecordSink`]: each traveller's evidence and verdict become
//! a [`CrossingRecord`] committed (fsynced, with its audit entry) before the flow moves a flap.

use std::sync::{Arc, Mutex};

use khil_biometrics::minutia::{MinutiaKind, Minutiae};
use khil_mrtd::mrz::Mrz;
use sha2::{Digest, Sha256};

use super::evidence::{Evidence, Verdict};
use super::seams::{RecordFuture, RecordSink};
use crate::records::{
    BiometricRecord, CrossingRecord, DecisionRecord, Direction, DocumentRecord, Outcome, ReasonRecord, RecordStore,
    TravellerRecord,
};

/// Commits the gate's crossings and referrals to a [`RecordStore`].
pub struct StoreSink {
    store: Arc<Mutex<RecordStore>>,
    direction: Direction,
    /// Wall-clock milliseconds (Unix) at `started`: a record's time is this plus tokio's elapsed time, so on the
    /// paused clock of a scenario records carry the modelled time of day.
    epoch_ms: i64,
    started: tokio::time::Instant,
}

impl std::fmt::Debug for StoreSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreSink").field("direction", &self.direction).finish_non_exhaustive()
    }
}

impl StoreSink {
    /// `store` may be shared by every gate of the point (SQLite serialises the writers).
    pub fn new(store: Arc<Mutex<RecordStore>>, direction: Direction, epoch_ms: i64) -> StoreSink {
        StoreSink { store, direction, epoch_ms, started: tokio::time::Instant::now() }
    }

    /// The record of one traveller: who the MRZ the reader read says they are (a border record keeps it), the
    /// verdict and its reasons, the finger's best score and a hash of the probe template (never the template).
    pub fn record_of(&self, point: &str, evidence: &Evidence, verdict: &Verdict) -> CrossingRecord {
        let mrz = evidence.document.as_ref().and_then(|d| Mrz::read_lines(&d.document.mrz_lines).ok()).map(|r| r.mrz);
        let (document, traveller) = match &mrz {
            Some(m) => (
                DocumentRecord {
                    issuing_state: m.issuing_state.clone(),
                    number: m.document_number.clone(),
                    kind: m.document_code.clone(),
                    expiry: m.expiry_date.to_string(),
                },
                TravellerRecord {
                    nationality: m.nationality.clone(),
                    surname: m.name.primary().to_owned(),
                    given_names: m.name.secondary().to_owned(),
                    birth_date: m.birth_date.to_string(),
                },
            ),
            // Nothing readable: the record still says a traveller passed the gate (and was referred).
            None => (
                DocumentRecord {
                    issuing_state: String::new(),
                    number: String::new(),
                    kind: String::new(),
                    expiry: String::new(),
                },
                TravellerRecord {
                    nationality: String::new(),
                    surname: String::new(),
                    given_names: String::new(),
                    birth_date: String::new(),
                },
            ),
        };
        let reasons = verdict
            .reasons
            .iter()
            .map(|r| match r.split_once(" (line ") {
                // "rule.id (line N): text", as RulesDecision words it.
                Some((rule, _)) if !rule.contains(' ') => ReasonRecord { rule: rule.to_owned(), text: r.clone() },
                _ => ReasonRecord { rule: String::new(), text: r.clone() },
            })
            .collect();
        let biometric = evidence.finger.as_ref().map(|f| BiometricRecord {
            modality: "finger".into(),
            score: f.best_score().map_or(0.0, f64::from),
            verdict: match f.verified {
                Some(true) => "match",
                Some(false) => "no-match",
                None => "not-possible",
            }
            .into(),
            template_sha256: f.probe.as_ref().map(template_hash).unwrap_or_default(),
        });
        let at = self.started.elapsed().as_millis().min(i64::MAX as u128) as i64;
        CrossingRecord {
            point: point.to_owned(),
            gate: evidence.gate.clone(),
            at_ms: self.epoch_ms.saturating_add(at),
            direction: self.direction,
            document,
            traveller,
            decision: DecisionRecord {
                outcome: if verdict.release { Outcome::Released } else { Outcome::Referred },
                reasons,
                rules_version: verdict.rules_version.clone(),
                watchlist_version: verdict.watchlist_version.clone(),
            },
            biometric,
        }
    }
}

impl RecordSink for StoreSink {
    fn record<'a>(&'a self, evidence: &'a Evidence, verdict: &'a Verdict) -> RecordFuture<'a> {
        Box::pin(async move {
            let store = Arc::clone(&self.store);
            let point = store.lock().map_err(|_| "the record store failed earlier".to_owned())?.point().to_owned();
            let record = self.record_of(&point, evidence, verdict);
            // An fsync is milliseconds of blocking I/O: off the runtime's threads.
            let seq = tokio::task::spawn_blocking(move || {
                let mut store = store.lock().map_err(|_| "the record store failed earlier".to_owned())?;
                store.commit(&record).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| format!("the record writer stopped: {e}"))??;
            // Ids only: what a crash test (and an operator) needs to know was committed, nothing about the person.
            tracing::info!(point = %point, seq, release = verdict.release, "crossing committed");
            Ok(format!("{point}/{seq}"))
        })
    }
}

/// SHA-256 over the probe's minutiae in a fixed byte form (width, height, dpi, then per point x, y, angle as f32
/// bits and the kind's index, big-endian): a record can say which template matched without holding it.
fn template_hash(m: &Minutiae) -> String {
    let mut h = Sha256::new();
    h.update(m.width.to_be_bytes());
    h.update(m.height.to_be_bytes());
    h.update(m.dpi.to_be_bytes());
    for p in &m.points {
        h.update(p.x.to_bits().to_be_bytes());
        h.update(p.y.to_bits().to_be_bytes());
        h.update(p.angle.to_bits().to_be_bytes());
        h.update([match p.kind {
            MinutiaKind::Ending => 0u8,
            MinutiaKind::Bifurcation => 1,
            MinutiaKind::Other => 2,
        }]);
    }
    crate::records::canon::hex(&h.finalize())
}
