//! The central border-management database (PostgreSQL): border points upload their crossing records to it, and
//! pull the rule-file and watchlist versions published there.
//!
//! Uploads are idempotent: records are keyed by (point, seq), inserted with `ON CONFLICT DO NOTHING`, and a
//! record already there with different content is an error ([`CentralError::Conflict`]), never silently kept.
//! The centre continues each point's chain: `chain_n = SHA-256(chain_{n-1} ‖ record_sha256_n)` from 32 zero bytes,
//! and takes a point's records only in order (seq = last + 1), after recomputing each record's hash from its
//! body. The point marks what was acknowledged only after the central COMMIT returned, and resumes from that
//! mark: a batch whose COMMIT succeeded but whose acknowledgement was lost is sent again and skipped as identical.
//! See [`upload`].

pub mod upload;

use tokio_postgres::{Client, NoTls};

use crate::records::{Version, VersionKind};

pub use upload::{UploadReport, pull_versions, upload_batches, upload_pass};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS khil_centre (id TEXT PRIMARY KEY, schema_version INT NOT NULL);
CREATE TABLE IF NOT EXISTS khil_points (
    point TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    chain BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS khil_crossings (
    point TEXT NOT NULL REFERENCES khil_points (point),
    seq BIGINT NOT NULL,
    gate TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    body TEXT NOT NULL,
    sha256 BYTEA NOT NULL,
    chain BYTEA NOT NULL,
    received TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (point, seq)
);
CREATE TABLE IF NOT EXISTS khil_versions (
    published BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('rules', 'watchlist')),
    version TEXT NOT NULL,
    body BYTEA NOT NULL,
    UNIQUE (kind, version)
);
";

#[derive(Debug, thiserror::Error)]
pub enum CentralError {
    #[error("central database {url}: {source}")]
    Db { url: String, source: tokio_postgres::Error },
    #[error(
        "central database {url}: border point {point} record {seq} is already there with other content \
         (central sha256 {central}, this point's {local}): refusing to overwrite or double it"
    )]
    Conflict { url: String, point: String, seq: u64, central: String, local: String },
    #[error(
        "central database {url}: border point {point}: the centre has records up to {central}, the next sent is {sent}: {why}"
    )]
    OutOfOrder { url: String, point: String, central: u64, sent: u64, why: &'static str },
    #[error("central database {url}: border point {point} record {seq}: {why}")]
    BadRecord { url: String, point: String, seq: u64, why: String },
    #[error(transparent)]
    Store(#[from] crate::records::StoreError),
}

/// A connection to the central database.
#[derive(Debug)]
pub struct Central {
    client: Client,
    /// The URL without its password, for messages.
    url: String,
    id: String,
}

impl Central {
    /// Connects (no TLS) and makes sure the central schema exists.
    pub async fn connect(url: &str) -> Result<Central, CentralError> {
        let shown = redact(url);
        let config: tokio_postgres::Config =
            url.parse().map_err(|source| CentralError::Db { url: shown.clone(), source })?;
        Central::connect_config(&config, &shown).await
    }

    /// [`Central::connect`] with the connection parameters already parsed (a relay's address put in, say);
    /// `shown` names the database in messages and must hold no password.
    pub async fn connect_config(config: &tokio_postgres::Config, shown: &str) -> Result<Central, CentralError> {
        let shown = shown.to_owned();
        let db = |source| CentralError::Db { url: shown.clone(), source };
        let (client, connection) = config.connect(NoTls).await.map_err(db)?;
        // The connection task ends by itself when the client is dropped or the link breaks; its error then
        // reaches the caller through the next query.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client.batch_execute(SCHEMA).await.map_err(db)?;
        // The centre's identity, made once: the point keys its acknowledgements by it, not by a URL that may
        // change (a proxy, a new address).
        client
            .execute(
                "INSERT INTO khil_centre (id, schema_version) SELECT gen_random_uuid()::text, 1
                 WHERE NOT EXISTS (SELECT 1 FROM khil_centre)",
                &[],
            )
            .await
            .map_err(db)?;
        let id: String = client.query_one("SELECT id FROM khil_centre", &[]).await.map_err(db)?.get(0);
        Ok(Central { client, url: shown, id })
    }

    /// The central database's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn db(&self, source: tokio_postgres::Error) -> CentralError {
        CentralError::Db { url: self.url.clone(), source }
    }

    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Publishes a rule file or watchlist version; publishing the same (kind, version) again is refused unless
    /// the body is the same.
    pub async fn publish(&self, v: &Version) -> Result<(), CentralError> {
        let n = self
            .client
            .execute(
                "INSERT INTO khil_versions (kind, version, body) VALUES ($1, $2, $3) ON CONFLICT (kind, version) DO NOTHING",
                &[&v.kind.name(), &v.version, &v.body],
            )
            .await
            .map_err(|e| self.db(e))?;
        if n == 0 {
            let row = self
                .client
                .query_one(
                    "SELECT body FROM khil_versions WHERE kind = $1 AND version = $2",
                    &[&v.kind.name(), &v.version],
                )
                .await
                .map_err(|e| self.db(e))?;
            if row.get::<_, Vec<u8>>(0) != v.body {
                return Err(CentralError::BadRecord {
                    url: self.url.clone(),
                    point: "-".into(),
                    seq: 0,
                    why: format!("{} version {} is already published with another body", v.kind.name(), v.version),
                });
            }
        }
        Ok(())
    }

    /// The latest published version of `kind`.
    pub async fn latest(&self, kind: VersionKind) -> Result<Option<Version>, CentralError> {
        let row = self
            .client
            .query_opt(
                "SELECT version, body FROM khil_versions WHERE kind = $1 ORDER BY published DESC LIMIT 1",
                &[&kind.name()],
            )
            .await
            .map_err(|e| self.db(e))?;
        Ok(row.map(|r| Version { kind, version: r.get(0), body: r.get(1) }))
    }

    /// How many records of `point` the centre holds and its last seq.
    pub async fn point_state(&self, point: &str) -> Result<(u64, u64), CentralError> {
        let row = self
            .client
            .query_one("SELECT count(*), coalesce(max(seq), 0) FROM khil_crossings WHERE point = $1", &[&point])
            .await
            .map_err(|e| self.db(e))?;
        Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64))
    }
}

/// `url` without a password (`postgres://user:secret@host/db` -> `postgres://user:***@host/db`).
pub fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let rest = &url[scheme_end..];
    let Some(at) = rest.find('@') else { return url.to_owned() };
    match rest[..at].find(':') {
        Some(colon) => format!("{}{}:***{}", &url[..scheme_end], &rest[..colon], &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_only_the_password() {
        assert_eq!(super::redact("postgres://u:pw@h:5/db"), "postgres://u:***@h:5/db");
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("host=/tmp"), "host=/tmp");
    }
}
