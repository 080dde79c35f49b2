//! `khil document read`: the inspection system on a device URL (`pcsc://<reader>` or `sim:passport?...`): opens
//! the chip with the MRZ from the data page, reads every data group and verifies it, and prints each check.
//!
//! Exit status: 0 every check passed; 1 a check failed; 3 nothing failed but something could not be checked
//! (DG3 behind EAC, no CRL); 2 the inspection could not run (no MRZ, no reader, no card).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use khil_mrtd::inspect::Inspection;
use khil_mrtd::pa::{Outcome, Status};
use serde_json::{Value, json};

use super::chip::ChipArgs;

#[derive(Debug, Args)]
#[command(
    about = "Open the chip (PACE or BAC), read every data group, verify it (passive, chip and active \
             authentication, MRZ against DG1) and print each check",
    after_help = "Output: JSON {\"device\", \"access\", \"outcome\": \"passed\"|\"failed\"|\"incomplete\", \"checks\": \
[{\"check\", \"status\", \"why\"}], \"files_read\": [{\"file\", \"bytes\"}]}; --table prints the same for people. No \
document data (MRZ, names, images) is printed.\n\n\
Trust: by default the CSCAs of khil's test PKI (seed --test-pki, 0 unless given: what `khil sim passport` issues \
under); --csca and --crl give real ones instead (DER files).\n\n\
Exit status: 0 every check passed, 1 a check failed, 3 nothing failed but something could not be checked, 2 the \
inspection could not run.\n\n\
Examples:\n  khil sim passport --vpcd 127.0.0.1:35963 --document 3      # then, in another terminal:\n  \
khil document read --device 'pcsc://Virtual PCD 00 00' --document 3 --table\n  \
khil document read --device 'sim:passport?document=3' --document 3\n  \
khil document read --device 'pcsc://ACS ACR1252 1S CL Reader PICC 0' --mrz-file page.txt --csca csca.der"
)]
pub(crate) struct ReadArgs {
    /// The reader: pcsc://<reader name> (PC/SC), or sim:passport?... (a chip in this process).
    #[arg(long)]
    device: String,
    /// The MRZ lines of the data page, in a file (what a document reader's OCR gives).
    #[arg(long, value_name = "FILE", conflicts_with = "document", required_unless_present = "document")]
    mrz_file: Option<PathBuf>,
    /// For simulated documents: the MRZ printed on population document ID's page (same seed as the simulator).
    #[arg(long, value_name = "ID")]
    document: Option<u64>,
    #[command(flatten)]
    chip: ChipArgs,
    /// A table for people instead of JSON.
    #[arg(long)]
    table: bool,
}

pub(crate) async fn run(args: ReadArgs) -> ExitCode {
    let inspection = match page_mrz(&args) {
        Ok(mrz) => args.chip.inspect("device", &args.device, mrz).await,
        Err(e) => Err(e),
    };
    match inspection {
        Ok(inspection) => {
            print(&args, &inspection);
            match inspection.outcome() {
                Outcome::Passed => ExitCode::SUCCESS,
                Outcome::Failed => ExitCode::FAILURE,
                Outcome::Incomplete => ExitCode::from(3),
            }
        }
        Err(e) => {
            eprintln!("khil document read: {e}");
            ExitCode::from(2)
        }
    }
}

fn page_mrz(args: &ReadArgs) -> Result<String, String> {
    if let Some(path) = &args.mrz_file {
        return std::fs::read_to_string(path)
            .map(|t| t.trim().to_owned())
            .map_err(|e| format!("--mrz-file {}: {e}", path.display()));
    }
    let id = args.document.ok_or("give --mrz-file (the page's MRZ) or --document (a simulated one)")?;
    let (y, m, d) = khil_sim_mrtd::sim::REFERENCE_DAY;
    let day = khil_mrtd::mrz::CivilDate::new(y, m, d).ok_or("the reference day")?;
    let doc = khil_sim_population::documents::Documents::new(args.chip.test_pki, day).document(id);
    Ok(doc.mrz().lines.join("\n"))
}

fn status_words(status: &Status) -> (&'static str, &str) {
    match status {
        Status::Passed(why) => ("passed", why),
        Status::Failed(why) => ("failed", why),
        Status::NotChecked(why) => ("not checked", why),
    }
}

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Incomplete => "incomplete",
    }
}

fn print(args: &ReadArgs, inspection: &Inspection) {
    if args.table {
        println!("device:  {}", args.device);
        println!("access:  {}", inspection.access.as_deref().unwrap_or("not opened"));
        println!("outcome: {}", outcome_word(inspection.outcome()).to_uppercase());
        let width = inspection.checks.iter().map(|c| c.name.len()).max().unwrap_or(5);
        for check in &inspection.checks {
            let (word, why) = status_words(&check.status);
            println!("  {:<width$}  {word:<11}  {why}", check.name);
        }
        let files: Vec<String> = inspection.files_read.iter().map(|(f, n)| format!("{f} {n} B")).collect();
        println!("read:    {}", files.join(", "));
        return;
    }
    let checks: Vec<Value> = inspection
        .checks
        .iter()
        .map(|c| {
            let (word, why) = status_words(&c.status);
            json!({"check": c.name, "status": word, "why": why})
        })
        .collect();
    let files: Vec<Value> =
        inspection.files_read.iter().map(|(f, n)| json!({"file": f.to_string(), "bytes": n})).collect();
    let out = json!({
        "device": args.device,
        "access": inspection.access,
        "outcome": outcome_word(inspection.outcome()),
        "checks": checks,
        "files_read": files,
    });
    println!("{out}");
}
