//! `khil records`: the border point's crossing records. `verify` walks a store's audit chain and its records.
//!
//! Exit status of `verify`: 0 the store verified; 1 it is broken (the first broken entry is named); 2 it could
//! not be checked (no such file, not a khil record store, corrupt).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use khil_clearance::records::{VerifyError, canon::hex, verify};

#[derive(Debug, Args)]
#[command(about = "Crossing records of a border point: verify a store")]
pub(crate) struct RecordsArgs {
    #[command(subcommand)]
    command: RecordsCommand,
}

#[derive(Debug, Subcommand)]
enum RecordsCommand {
    Verify(VerifyArgs),
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
    let RecordsCommand::Verify(v) = args.command;
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
