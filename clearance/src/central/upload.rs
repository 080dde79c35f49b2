//! One upload pass: the point's records after what this centre acknowledged, in batches, each batch one central
//! transaction; and pulling the versions published at the centre.

use sha2::{Digest, Sha256};

use super::{Central, CentralError};
use crate::records::canon::hex;
use crate::records::{RecordStore, StoredRecord, Version, VersionKind};

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UploadReport {
    /// Records the centre did not have.
    pub inserted: u64,
    /// Records sent again that the centre already had, identical (an acknowledgement lost in a drop).
    pub already: u64,
    /// The point's acknowledged mark for this centre after the pass.
    pub acked: u64,
}

/// Uploads every record after this centre's acknowledged mark, `batch` per central transaction, marking each
/// batch acknowledged once its COMMIT returned. An error leaves the mark at the last acknowledged batch; the next
/// pass (after a reconnect) resumes there.
pub async fn upload_pass(
    store: &mut RecordStore,
    central: &mut Central,
    batch: usize,
) -> Result<UploadReport, CentralError> {
    upload_batches(store, central, batch, usize::MAX).await
}

/// [`upload_pass`], stopping after at most `max_batches` batches (for progress reports between them).
pub async fn upload_batches(
    store: &mut RecordStore,
    central: &mut Central,
    batch: usize,
    max_batches: usize,
) -> Result<UploadReport, CentralError> {
    let point = store.point().to_owned();
    let id = central.id().to_owned();
    let mut report = UploadReport::default();
    for _ in 0..max_batches {
        let after = store.acked(&id)?;
        let records = store.records_after(after, batch.max(1))?;
        let Some(last) = records.last().map(|r| r.seq) else {
            report.acked = after;
            return Ok(report);
        };
        let (inserted, already) = upload_batch(central, &point, &records).await?;
        // Only now, after the central COMMIT: a crash before this line re-sends the batch, which is then skipped.
        store.set_acked(&id, last)?;
        report.inserted += inserted;
        report.already += already;
    }
    report.acked = store.acked(&id)?;
    Ok(report)
}

async fn upload_batch(
    central: &mut Central,
    point: &str,
    records: &[StoredRecord],
) -> Result<(u64, u64), CentralError> {
    let url = central.url().to_owned();
    for r in records {
        if r.record.canonical_hash(r.seq) != r.sha256 {
            return Err(CentralError::BadRecord {
                url,
                point: point.into(),
                seq: r.seq,
                why: "its content does not match its hash in the point's store (run khil records verify)".into(),
            });
        }
    }
    let db = |source| CentralError::Db { url: url.clone(), source };
    let tx = central.client().transaction().await.map_err(db)?;
    tx.execute(
        "INSERT INTO khil_points (point, last_seq, chain) VALUES ($1, 0, $2) ON CONFLICT (point) DO NOTHING",
        &[&point, &vec![0u8; 32]],
    )
    .await
    .map_err(db)?;
    // FOR UPDATE: two uploaders of one point (a restarted one while the old still runs) take turns.
    let row = tx
        .query_one("SELECT last_seq, chain FROM khil_points WHERE point = $1 FOR UPDATE", &[&point])
        .await
        .map_err(db)?;
    let (mut last, mut chain): (u64, Vec<u8>) = (row.get::<_, i64>(0) as u64, row.get(1));
    let (mut inserted, mut already) = (0, 0);
    for r in records {
        let seq = r.seq as i64;
        if r.seq <= last {
            let central_sha: Option<Vec<u8>> = tx
                .query_opt("SELECT sha256 FROM khil_crossings WHERE point = $1 AND seq = $2", &[&point, &seq])
                .await
                .map_err(db)?
                .map(|row| row.get(0));
            match central_sha {
                Some(s) if s == r.sha256 => already += 1,
                Some(s) => {
                    return Err(CentralError::Conflict {
                        url,
                        point: point.into(),
                        seq: r.seq,
                        central: hex(&s),
                        local: hex(&r.sha256),
                    });
                }
                None => {
                    return Err(CentralError::OutOfOrder {
                        url,
                        point: point.into(),
                        central: last,
                        sent: r.seq,
                        why: "the centre's chain counts it but holds no such record",
                    });
                }
            }
            continue;
        }
        if r.seq != last + 1 {
            return Err(CentralError::OutOfOrder {
                url,
                point: point.into(),
                central: last,
                sent: r.seq,
                why: "records are taken in order, without gaps",
            });
        }
        let mut h = Sha256::new();
        h.update(&chain);
        h.update(r.sha256);
        chain = h.finalize().to_vec();
        let rec = &r.record;
        tx.execute(
            "INSERT INTO khil_crossings (point, seq, gate, at_ms, outcome, body, sha256, chain)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &point,
                &seq,
                &rec.gate,
                &rec.at_ms,
                &rec.decision.outcome.name(),
                &rec.to_json(),
                &r.sha256.as_slice(),
                &chain,
            ],
        )
        .await
        .map_err(db)?;
        last = r.seq;
        inserted += 1;
    }
    tx.execute("UPDATE khil_points SET last_seq = $2, chain = $3 WHERE point = $1", &[&point, &(last as i64), &chain])
        .await
        .map_err(db)?;
    tx.commit().await.map_err(db)?;
    Ok((inserted, already))
}

/// Pulls the latest rule file and watchlist published at the centre into the point's store; returns the versions
/// that were new to the point.
pub async fn pull_versions(
    store: &mut RecordStore,
    central: &Central,
    at_ms: i64,
) -> Result<Vec<Version>, CentralError> {
    let mut new = Vec::new();
    for kind in VersionKind::ALL {
        if let Some(v) = central.latest(kind).await? {
            let current = store.current_version(kind)?;
            if current.as_ref().map(|c| &c.version) != Some(&v.version) && store.store_version(&v, at_ms)? {
                new.push(v);
            }
        }
    }
    Ok(new)
}
