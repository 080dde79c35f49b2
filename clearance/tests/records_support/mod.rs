//! Records the record-store tests write: deterministic in `i`, so a test can tell what a record should hold.

use khil_clearance::records::{
    BiometricRecord, CrossingRecord, DecisionRecord, Direction, DocumentRecord, Outcome, ReasonRecord, TravellerRecord,
};

pub(crate) const POINT: &str = "ZMU";

/// The `i`th test record: every fifth a referral, every seventh without a biometric check.
pub(crate) fn sample(i: u64) -> CrossingRecord {
    let referred = i % 5 == 4;
    CrossingRecord {
        point: POINT.into(),
        gate: format!("G{:02}", i % 16 + 1),
        at_ms: 1_790_000_000_000 + i as i64 * 11_000,
        direction: if i.is_multiple_of(2) { Direction::Entry } else { Direction::Exit },
        document: DocumentRecord {
            issuing_state: "MNG".into(),
            number: format!("E{:08}", 1000 + i),
            kind: "P".into(),
            expiry: "2031-04-30".into(),
        },
        traveller: TravellerRecord {
            nationality: "MNG".into(),
            surname: "BATBAYAR".into(),
            given_names: format!("TSENDSUREN {i}"),
            birth_date: "1990-02-14".into(),
        },
        decision: DecisionRecord {
            outcome: if referred { Outcome::Referred } else { Outcome::Released },
            reasons: if referred {
                vec![ReasonRecord { rule: "watchlist.lost_stolen".into(), text: "document reported lost".into() }]
            } else {
                Vec::new()
            },
            rules_version: "rules-2026.12.1".into(),
            watchlist_version: "wl-2026-12-07T02".into(),
        },
        biometric: (i % 7 != 6).then(|| BiometricRecord {
            modality: "fingerprint".into(),
            score: 48.5 + i as f64,
            verdict: "match".into(),
            template_sha256: format!("{:064x}", i * 7919),
        }),
    }
}
