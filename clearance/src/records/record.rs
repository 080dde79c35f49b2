//! What a border point keeps of one crossing or referral: enough for a border record (who, with which document,
//! when, through which gate, what was decided and why), never a raw image or biometric template.
//!
//! `Debug` shows no document number, name or date of birth (privacy: Debug output reaches logs), only their
//! sizes; the full values are in the store and in [`CrossingRecord::to_json`].

use std::fmt;

use serde::{Deserialize, Serialize};

use super::canon::Canon;

/// Which way the traveller crossed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Entry,
    Exit,
}

/// What the gate did with the traveller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Cleared: the exit flap opens once the record is committed.
    Released,
    /// Sent to the officer's desk; the record keeps everything read so far.
    Referred,
}

impl Direction {
    pub fn name(self) -> &'static str {
        match self {
            Direction::Entry => "entry",
            Direction::Exit => "exit",
        }
    }
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Released => "released",
            Outcome::Referred => "referred",
        }
    }
}

/// The travel document as read.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRecord {
    /// ICAO 9303 three-letter code of the issuing state or organisation.
    pub issuing_state: String,
    pub number: String,
    /// Document code from the MRZ (`P`, `PM`, `ID`, `V`...).
    pub kind: String,
    /// ISO 8601 date (`YYYY-MM-DD`).
    pub expiry: String,
}

/// The traveller as read from the document (and confirmed by the chip where it opened).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TravellerRecord {
    pub nationality: String,
    pub surname: String,
    pub given_names: String,
    /// ISO 8601 date (`YYYY-MM-DD`); partial dates as the document prints them.
    pub birth_date: String,
}

/// One reason of a decision, as the rule engine names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonRecord {
    /// The rule's id in the rule file.
    pub rule: String,
    /// The reason in words, for the officer. Rule texts never quote document or biometric data.
    pub text: String,
}

/// The decision and what it was taken under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub outcome: Outcome,
    pub reasons: Vec<ReasonRecord>,
    /// Version of the rule file the decision used.
    pub rules_version: String,
    /// Version of the watchlists searched.
    pub watchlist_version: String,
}

/// The biometric check's outcome: score and verdict, and a hash of the probe template so that a later audit can
/// tell which capture was used, never the template or image itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BiometricRecord {
    /// `fingerprint`, `face`...
    pub modality: String,
    pub score: f64,
    /// `match`, `no_match`, `not_captured`, as the flow names it.
    pub verdict: String,
    /// SHA-256 of the probe template, lower-case hex.
    pub template_sha256: String,
}

/// One crossing or referral at a border point. The store gives it its point-wide sequence number.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossingRecord {
    pub point: String,
    pub gate: String,
    /// When the decision was taken: Unix time in milliseconds, passed in by the flow (its clock, possibly paused).
    pub at_ms: i64,
    pub direction: Direction,
    pub document: DocumentRecord,
    pub traveller: TravellerRecord,
    pub decision: DecisionRecord,
    pub biometric: Option<BiometricRecord>,
}

/// A committed record: its sequence number at the point and its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    pub seq: u64,
    pub record: CrossingRecord,
    /// SHA-256 of [`CrossingRecord::canonical_hash`]'s encoding, as stored.
    pub sha256: [u8; 32],
}

impl CrossingRecord {
    /// SHA-256 over the canonical encoding (see `canon`) of this record with sequence number `seq`, with the
    /// fields in declaration order and the tag `khil-record-v1`.
    pub fn canonical_hash(&self, seq: u64) -> [u8; 32] {
        let mut c = Canon::new("khil-record-v1");
        c.u64(seq).str(&self.point).str(&self.gate).i64(self.at_ms).str(self.direction.name());
        let d = &self.document;
        c.str(&d.issuing_state).str(&d.number).str(&d.kind).str(&d.expiry);
        let t = &self.traveller;
        c.str(&t.nationality).str(&t.surname).str(&t.given_names).str(&t.birth_date);
        let dec = &self.decision;
        c.str(dec.outcome.name()).len(dec.reasons.len());
        for r in &dec.reasons {
            c.str(&r.rule).str(&r.text);
        }
        c.str(&dec.rules_version).str(&dec.watchlist_version);
        c.present(self.biometric.is_some());
        if let Some(b) = &self.biometric {
            c.str(&b.modality).f64(b.score).str(&b.verdict).str(&b.template_sha256);
        }
        c.sha256()
    }

    /// The record as stored (JSON). The hash is over the canonical encoding, not over this text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a record has only strings, numbers and enums")
    }

    pub fn from_json(json: &str) -> Result<CrossingRecord, serde_json::Error> {
        serde_json::from_str(json)
    }
}

impl fmt::Debug for DocumentRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentRecord")
            .field("issuing_state", &self.issuing_state)
            .field("kind", &self.kind)
            .field("number", &format_args!("<{} chars>", self.number.chars().count()))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for TravellerRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TravellerRecord")
            .field("nationality", &self.nationality)
            .field("names", &format_args!("<{} chars>", self.surname.len() + self.given_names.len()))
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for CrossingRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrossingRecord")
            .field("point", &self.point)
            .field("gate", &self.gate)
            .field("at_ms", &self.at_ms)
            .field("direction", &self.direction)
            .field("document", &self.document)
            .field("traveller", &self.traveller)
            .field("decision", &self.decision)
            .field("biometric", &self.biometric.as_ref().map(|b| (&b.modality, &b.verdict)))
            .finish()
    }
}
