//! The central PostgreSQL for tests (feature `central`): ci/test's private cluster (`KHIL_CENTRAL_URL`), one fresh
//! database per test, dropped when the test ends (also when it fails).

use std::sync::atomic::{AtomicU32, Ordering};

/// The cluster's URL, or a skip (a failure under `CI=true`).
pub fn central_url() -> Option<String> {
    match std::env::var("KHIL_CENTRAL_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => crate::missing(
            "no KHIL_CENTRAL_URL: run ci/test (it starts a private PostgreSQL in .peers/pg), or source .peers/env",
        ),
    }
}

/// A database of its own for one test.
#[derive(Debug)]
pub struct TestDb {
    admin: String,
    name: String,
    pub url: String,
}

impl TestDb {
    /// `admin` must end in `/<database>` with no query: the test database replaces that last segment.
    pub fn create(admin: &str) -> TestDb {
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!("khil_test_{}_{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let base = admin.rsplit_once('/').map_or(admin, |(b, _)| b);
        let url = format!("{base}/{name}");
        admin_sql(admin, &format!("CREATE DATABASE {name}"));
        TestDb { admin: admin.to_owned(), name, url }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        admin_sql(&self.admin, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

/// Runs `sql` on its own thread and runtime, so that it works from sync tests, async tests and Drop alike.
fn admin_sql(admin: &str, sql: &str) {
    let (admin, sql) = (admin.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("cannot reach the central test cluster {admin}: {e}"));
            tokio::spawn(conn);
            client.batch_execute(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
        });
    })
    .join()
    .unwrap();
}
