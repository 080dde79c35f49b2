//! `khil document read`: the inspection system on a device URL (`pcsc://<reader>` or `sim:passport?...`): opens
//! the chip with the MRZ from the data page, reads every data group and verifies it, and prints each check.
//!
//! Exit status: 0 every check passed; 1 a check failed; 3 nothing failed but something could not be checked
//! (DG3 behind EAC, no CRL); 2 the inspection could not run (no MRZ, no reader, no card).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use khil_link::DeviceUrl;
use khil_mrtd::cvc::CvCertificate;
use khil_mrtd::files::SM_SHORT_READ;
use khil_mrtd::inspect::{InspectOptions, Inspection, inspect};
use khil_mrtd::pa::{Outcome, Status, TrustStore};
use khil_mrtd::ta::TerminalCredentials;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde_json::{Value, json};

#[derive(Debug, Args)]
#[command(about = "Travel documents: read and verify an e-passport chip")]
pub(crate) struct DocumentArgs {
    #[command(subcommand)]
    command: DocumentCommand,
}

#[derive(Debug, Subcommand)]
enum DocumentCommand {
    Read(ReadArgs),
}

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
struct ReadArgs {
    /// The reader: pcsc://<reader name> (PC/SC), or sim:passport?... (a chip in this process).
    #[arg(long)]
    device: String,
    /// The MRZ lines of the data page, in a file (what a document reader's OCR gives).
    #[arg(long, value_name = "FILE", conflicts_with = "document", required_unless_present = "document")]
    mrz_file: Option<PathBuf>,
    /// For simulated documents: the MRZ printed on population document ID's page (same seed as the simulator).
    #[arg(long, value_name = "ID")]
    document: Option<u64>,
    /// The seed of the simulated population and test PKI (`khil sim passport --seed`).
    #[arg(long, value_name = "SEED", default_value_t = 0)]
    test_pki: u64,
    /// Trust these CSCA certificates (DER) instead of the test PKI; repeatable.
    #[arg(long, value_name = "FILE")]
    csca: Vec<PathBuf>,
    /// Certificate revocation lists (DER) of the CSCAs; repeatable.
    #[arg(long, value_name = "FILE")]
    crl: Vec<PathBuf>,
    /// The inspection system's CV certificates for terminal authentication (EAC: DG3 fingerprints, DG4 iris),
    /// DER (`.cvcert`): the DV certificates and the terminal's own; repeatable. Without them, the test PKI's test
    /// terminal certificates.
    #[arg(long = "terminal-cert", value_name = "FILE", requires = "terminal_key")]
    terminal_cert: Vec<PathBuf>,
    /// The terminal certificate's private key, P-256: PKCS#8 or SEC1 DER (what `cvc-create --out-key` writes).
    #[arg(long, value_name = "FILE", requires = "terminal_cert")]
    terminal_key: Option<PathBuf>,
    /// The card access number printed on the page (6 digits): PACE with the CAN instead of the MRZ.
    #[arg(long, value_name = "DIGITS")]
    can: Option<String>,
    /// Use BAC even when the chip offers PACE.
    #[arg(long)]
    no_pace: bool,
    /// Bytes per READ BINARY (1-65536; above 223 needs extended-length support on the chip and reader).
    #[arg(long, value_name = "N", default_value_t = SM_SHORT_READ)]
    read_size: usize,
    /// A table for people instead of JSON.
    #[arg(long)]
    table: bool,
}

pub(crate) async fn run(args: DocumentArgs) -> ExitCode {
    let DocumentCommand::Read(args) = args.command;
    match read(&args).await {
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
    let doc = khil_sim_population::documents::Documents::new(args.test_pki, day).document(id);
    Ok(doc.mrz().lines.join("\n"))
}

fn trust(args: &ReadArgs) -> Result<TrustStore, String> {
    use der::Decode;
    if args.csca.is_empty() {
        if !args.crl.is_empty() {
            return Err("--crl needs --csca (the test PKI brings its own CRLs)".into());
        }
        return Ok(khil_sim_mrtd::sim::test_pki(args.test_pki)?.trust_store());
    }
    let read =
        |flag: &str, path: &PathBuf| std::fs::read(path).map_err(|e| format!("--{flag} {}: {e}", path.display()));
    let mut cscas = Vec::new();
    for path in &args.csca {
        let bytes = read("csca", path)?;
        cscas.push(
            x509_cert::Certificate::from_der(&bytes)
                .map_err(|e| format!("--csca {}: not a DER X.509 certificate: {e}", path.display()))?,
        );
    }
    let mut crls = Vec::new();
    for path in &args.crl {
        let bytes = read("crl", path)?;
        crls.push(
            x509_cert::crl::CertificateList::from_der(&bytes)
                .map_err(|e| format!("--crl {}: not a DER CRL: {e}", path.display()))?,
        );
    }
    Ok(TrustStore::new(cscas, crls))
}

/// The terminal certificates and key: from files, or the test PKI's test inspection system.
fn terminal(args: &ReadArgs) -> Result<TerminalCredentials, String> {
    let Some(key_path) = &args.terminal_key else {
        return Ok(khil_sim_mrtd::sim::test_pki(args.test_pki)?.eac.terminal);
    };
    let mut certificates = Vec::new();
    for path in &args.terminal_cert {
        let bytes = std::fs::read(path).map_err(|e| format!("--terminal-cert {}: {e}", path.display()))?;
        certificates.push(
            CvCertificate::parse(&bytes)
                .map_err(|e| format!("--terminal-cert {}: not a CV certificate: {e}", path.display()))?,
        );
    }
    let bytes = std::fs::read(key_path).map_err(|e| format!("--terminal-key {}: {e}", key_path.display()))?;
    TerminalCredentials::from_key_der(certificates, &bytes)
        .map_err(|e| format!("--terminal-key {}: {e}", key_path.display()))
}

/// A generator seeded from the operating system: challenges and keys must not be guessable by a chip. Read
/// from /dev/urandom directly (Linux, khil's platform) rather than switching on rand's OS feature for one call.
pub(crate) fn system_rng() -> Result<ChaCha20Rng, String> {
    use std::io::Read;
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))?;
    Ok(ChaCha20Rng::from_seed(seed))
}

async fn read(args: &ReadArgs) -> Result<Inspection, String> {
    if !(1..=65_536).contains(&args.read_size) {
        return Err(format!("--read-size {}: expected 1 to 65536", args.read_size));
    }
    let url: DeviceUrl = args.device.parse().map_err(|e| format!("--device: {e}"))?;
    let options = InspectOptions {
        mrz: page_mrz(args)?,
        trust: trust(args)?,
        date: der::DateTime::from_system_time(std::time::SystemTime::now()).map_err(|e| e.to_string())?,
        pace: !args.no_pace,
        can: args.can.clone(),
        read_size: args.read_size,
        terminal: Some(terminal(args)?),
    };
    let mut rng = system_rng()?;
    let mut transport = khil_apdu::connect(&url, &khil_sim_registry::Simulators).await.map_err(|e| {
        // Errors about a URL name it already.
        let e = e.to_string();
        if e.starts_with(&url.to_string()) { format!("--device {e}") } else { format!("--device {}: {e}", args.device) }
    })?;
    inspect(transport.as_mut(), &options, &mut rng).await.map_err(|e| e.to_string())
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
