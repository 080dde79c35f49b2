//! `khil records`: the border point's crossing records. `verify` walks a store's audit chain and its records;
//! `upload` sends them to the central PostgreSQL and pulls the rule-file and watchlist versions published there.
//!
//! Exit status of `verify`: 0 the store verified; 1 it is broken (the first broken entry is named); 2 it could
//! not be checked (no such file, not a khil record store, corrupt). Of `upload`: 0 done, 1 failed (named).

use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::{Args, Subcommand};
use khil_clearance::central::{Central, CentralError, pull_versions, upload_pass};
use khil_clearance::records::{RecordStore, VerifyError, canon::hex, verify};

#[derive(Debug, Args)]
#[command(about = "Crossing records of a border point: verify a store, upload it to the centre")]
pub(crate) struct RecordsArgs {
    #[command(subcommand)]
    command: RecordsCommand,
}

#[derive(Debug, Subcommand)]
enum RecordsCommand {
    Verify(VerifyArgs),
    Upload(UploadArgs),
}

#[derive(Debug, Args)]
#[command(
    about = "Upload a point's records to the central database and pull the rule and watchlist versions published there",
    after_help = "Uploads resume after what this central database acknowledged; records it already has are skipped \
when identical and refused when different. Without --follow: one pass, exit 0 when done, 1 on any error. With \
--follow: passes every second until Ctrl-C, reconnecting after a dropped link or a central restart.\n\n\
Example:\n  khil records upload --db point.db --central postgres://khil@centre.example/border --follow"
)]
struct UploadArgs {
    /// The border point's record store (SQLite)
    #[arg(long)]
    db: PathBuf,
    /// The central database, as a PostgreSQL URL (no TLS)
    #[arg(long, env = "KHIL_CENTRAL_URL")]
    central: String,
    /// Keep uploading as records are committed, until Ctrl-C
    #[arg(long)]
    follow: bool,
    /// Records per central transaction
    #[arg(long, default_value_t = 200)]
    batch: usize,
}

#[derive(Debug, Args)]
#[command(
    about = "Check a record store: the audit log's hash chain and every record against the entry that logged it",
    after_help = "Exit status: 0 verified, 1 broken (the first broken entry or record is named: its seq and what \
differs), 2 not checked (no such file, not a khil record store, corrupt).\n\nExample:\n  khil records verify point.db"
)]
struct VerifyArgs {
    /// The border point's record store (SQLite)
    db: PathBuf,
}

pub(crate) fn run(args: RecordsArgs) -> ExitCode {
    match args.command {
        RecordsCommand::Verify(v) => run_verify(&v),
        RecordsCommand::Upload(u) => {
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("khil records upload: cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match rt.block_on(upload(u)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("khil records upload: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

async fn upload(args: UploadArgs) -> Result<(), CentralError> {
    let mut store = RecordStore::open_existing(&args.db)?;
    if !args.follow {
        let mut central = Central::connect(&args.central).await?;
        return one_pass(&mut store, &mut central, args.batch, true).await;
    }
    let mut last_error = String::new();
    loop {
        let connected = async {
            let mut central = Central::connect(&args.central).await?;
            loop {
                one_pass(&mut store, &mut central, args.batch, false).await?;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        };
        let failed: Result<(), CentralError> = tokio::select! {
            r = connected => r,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        if let Err(e) = failed {
            // A link that stays down is said once, not every second.
            let said = e.to_string();
            if said != last_error {
                eprintln!("khil records upload: {said}; retrying");
                last_error = said;
            }
            if matches!(e, CentralError::Conflict { .. } | CentralError::Store(_) | CentralError::BadRecord { .. }) {
                return Err(e);
            }
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// One upload pass and version pull; says what it did, and (when `say_idle`) that there was nothing to do.
async fn one_pass(
    store: &mut RecordStore,
    central: &mut Central,
    batch: usize,
    say_idle: bool,
) -> Result<(), CentralError> {
    let r = upload_pass(store, central, batch).await?;
    let new = pull_versions(store, central, now_ms()).await?;
    if r.inserted + r.already > 0 || !new.is_empty() {
        let versions: Vec<String> = new.iter().map(|v| format!("{} {}", v.kind.name(), v.version)).collect();
        println!(
            "{}: {} new records uploaded ({} already there), acknowledged up to {}{}",
            central.url(),
            r.inserted,
            r.already,
            r.acked,
            if versions.is_empty() { String::new() } else { format!("; pulled {}", versions.join(", ")) }
        );
    } else if say_idle {
        println!("{}: up to date, acknowledged up to {}", central.url(), r.acked);
    }
    Ok(())
}

fn run_verify(v: &VerifyArgs) -> ExitCode {
    match verify(&v.db) {
        Ok(r) => {
            println!(
                "{}: border point {}: {} records ({} referrals), {} audit entries, head {}: OK",
                v.db.display(),
                r.point,
                r.records,
                r.referrals,
                r.audit_entries,
                hex(&r.head)
            );
            ExitCode::SUCCESS
        }
        Err(e @ VerifyError::Broken { .. }) => {
            eprintln!("khil records verify: BROKEN: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("khil records verify: {e}");
            ExitCode::from(2)
        }
    }
}
