//! Opening and verifying a chip, for `khil document read` and `khil document examine`: the options both take
//! ([`ChipArgs`]) and the inspection they run.

use std::path::PathBuf;

use clap::Args;
use khil_link::DeviceUrl;
use khil_mrtd::cvc::CvCertificate;
use khil_mrtd::files::SM_SHORT_READ;
use khil_mrtd::inspect::{InspectOptions, Inspection, inspect};
use khil_mrtd::pa::TrustStore;
use khil_mrtd::ta::TerminalCredentials;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// How to open the chip and what to trust.
#[derive(Debug, Args)]
pub(crate) struct ChipArgs {
    /// The seed of the simulated population and test PKI (`khil sim passport --seed`).
    #[arg(long, value_name = "SEED", default_value_t = 0)]
    pub(crate) test_pki: u64,
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
}

impl ChipArgs {
    fn trust(&self) -> Result<TrustStore, String> {
        use der::Decode;
        if self.csca.is_empty() {
            if !self.crl.is_empty() {
                return Err("--crl needs --csca (the test PKI brings its own CRLs)".into());
            }
            return Ok(khil_sim_mrtd::sim::test_pki(self.test_pki)?.trust_store());
        }
        let read =
            |flag: &str, path: &PathBuf| std::fs::read(path).map_err(|e| format!("--{flag} {}: {e}", path.display()));
        let mut cscas = Vec::new();
        for path in &self.csca {
            let bytes = read("csca", path)?;
            cscas.push(
                x509_cert::Certificate::from_der(&bytes)
                    .map_err(|e| format!("--csca {}: not a DER X.509 certificate: {e}", path.display()))?,
            );
        }
        let mut crls = Vec::new();
        for path in &self.crl {
            let bytes = read("crl", path)?;
            crls.push(
                x509_cert::crl::CertificateList::from_der(&bytes)
                    .map_err(|e| format!("--crl {}: not a DER CRL: {e}", path.display()))?,
            );
        }
        Ok(TrustStore::new(cscas, crls))
    }

    /// The terminal certificates and key: from files, or the test PKI's test inspection system.
    fn terminal(&self) -> Result<TerminalCredentials, String> {
        let Some(key_path) = &self.terminal_key else {
            return Ok(khil_sim_mrtd::sim::test_pki(self.test_pki)?.eac.terminal);
        };
        let mut certificates = Vec::new();
        for path in &self.terminal_cert {
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

    /// Opens the chip `device` names (`flag`: the option that named it, for errors) with the page's `mrz` (or the
    /// CAN), reads and verifies it.
    pub(crate) async fn inspect(&self, flag: &str, device: &str, mrz: String) -> Result<Inspection, String> {
        if !(1..=65_536).contains(&self.read_size) {
            return Err(format!("--read-size {}: expected 1 to 65536", self.read_size));
        }
        let url: DeviceUrl = device.parse().map_err(|e| format!("--{flag}: {e}"))?;
        let options = InspectOptions {
            mrz,
            trust: self.trust()?,
            date: der::DateTime::from_system_time(std::time::SystemTime::now()).map_err(|e| e.to_string())?,
            pace: !self.no_pace,
            can: self.can.clone(),
            read_size: self.read_size,
            terminal: Some(self.terminal()?),
        };
        let mut rng = system_rng()?;
        let mut transport = khil_apdu::connect(&url, &khil_sim_registry::Simulators)
            .await
            .map_err(|e| url_error(flag, device, &url, &e))?;
        inspect(transport.as_mut(), &options, &mut rng).await.map_err(|e| e.to_string())
    }
}

/// An error connecting to `url` (given as `device` with option `--flag`), naming the option and the URL once:
/// errors about a URL name it already.
pub(crate) fn url_error(flag: &str, device: &str, url: &DeviceUrl, e: &dyn std::fmt::Display) -> String {
    let e = e.to_string();
    if e.starts_with(&url.to_string()) { format!("--{flag} {e}") } else { format!("--{flag} {device}: {e}") }
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
