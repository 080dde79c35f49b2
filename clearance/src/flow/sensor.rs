//! The gate's fingerprint sensor, whichever it is: a ZFM module on its own serial line (the host images, uploads
//! the picture and extracts minutiae with khil's extractor), or a biometric reader on the gate's OSDP bus (the
//! reader images and extracts; BIOREAD brings back its ANSI/INCITS 378 template). Either way one capture gives
//! [`Minutiae`] that the same quality check and matcher judge, and either is the rules' `fingerprint_scanner`
//! device class.

use std::time::Duration;

use khil_biometrics::image::GrayImage;
use khil_biometrics::minutia::Minutiae;
use khil_fingerprint::driver::Zfm;
use khil_fingerprint::error::ZfmError;
use khil_link::BoxLink;
use khil_osdp::bio::{format, kind, status};
use khil_osdp::cp::BusHandle;
use khil_osdp::{BioRead, Command, Reply};
use tokio::time::Instant;

use super::finger::{FingerConfig, FingerStop};

/// A biometric reader PD on the gate's OSDP bus (the bus runs with the gate's I/O board on it).
#[derive(Debug, Clone)]
pub struct OsdpBioReader {
    pub bus: BusHandle,
    pub address: u8,
    /// The reader number on that PD (0 for a PD with one sensor).
    pub reader: u8,
}

/// The gate's fingerprint sensor.
pub enum FingerSensor {
    Zfm(Box<Zfm<BoxLink>>),
    Osdp(OsdpBioReader),
}

impl std::fmt::Debug for FingerSensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FingerSensor::Zfm(_) => f.write_str("FingerSensor::Zfm"),
            FingerSensor::Osdp(r) => write!(f, "FingerSensor::Osdp(PD {})", r.address),
        }
    }
}

impl FingerSensor {
    /// One capture: waits for a finger (at most `config.wait`), images it and gives its minutiae. `compute`
    /// gathers the wall time the host spends extracting or decoding.
    pub async fn capture(&mut self, config: &FingerConfig, compute: &mut Duration) -> Result<Minutiae, FingerStop> {
        match self {
            FingerSensor::Zfm(zfm) => zfm_capture(zfm, config, compute).await,
            FingerSensor::Osdp(reader) => osdp_capture(reader, config, compute).await,
        }
    }

    /// Whether an error from this sensor means it is gone for good (its line broke) rather than one failed
    /// capture: the flow stops using it. An OSDP PD that went offline is probed again by the bus, so it is not.
    pub fn gone_after(&self, error: &str) -> bool {
        matches!(self, FingerSensor::Zfm(_)) && super::devices::line_gone(error)
    }
}

/// GenImg until a finger is there, UpImage, then khil's extractor on the host.
async fn zfm_capture(
    scanner: &mut Zfm<BoxLink>,
    config: &FingerConfig,
    compute: &mut Duration,
) -> Result<Minutiae, FingerStop> {
    match scanner.wait_for_finger(config.poll, config.wait).await {
        Ok(()) => {}
        Err(ZfmError::NoFinger { waited }) => return Err(FingerStop::NoFinger(waited)),
        Err(e) => return Err(FingerStop::Scanner(e.to_string())),
    }
    let pixels = scanner.upload_image_pixels().await.map_err(|e| FingerStop::Scanner(e.to_string()))?;
    let (width, height) = scanner.image_geometry().map_or((0, 0), |(w, h)| (usize::from(w), usize::from(h)));
    if width * height != pixels.len() || width == 0 {
        return Err(FingerStop::Scanner(format!(
            "UpImage: {} pixels, which the scanner's geometry ({width} x {height}) does not explain: give the driver \
             the module's geometry",
            pixels.len()
        )));
    }
    let image = GrayImage { width, height, pixels };
    Ok(super::compute::timed(compute, || khil_biometrics::extract::extract(&image, config.dpi)))
}

/// BIOREAD (any finger, ANSI/INCITS 378) until the reader sends a template: status 1 means its scan window saw no
/// finger, and the CP asks again after `config.poll` while `config.wait` lasts. The reader's BUSY replies during
/// a scan are the bus's business (it sends the same packet again).
async fn osdp_capture(
    reader: &OsdpBioReader,
    config: &FingerConfig,
    compute: &mut Duration,
) -> Result<Minutiae, FingerStop> {
    let started = Instant::now();
    let command = BioRead { reader: reader.reader, kind: kind::NOT_SPECIFIED, format: format::ANSI_378, quality: 0 };
    loop {
        let reply = reader
            .bus
            .command(reader.address, Command::BioRead(command))
            .await
            .map_err(|e| FingerStop::Scanner(format!("BIOREAD: {e}")))?;
        let read = match reply {
            Reply::BioReadR(read) => read,
            other => {
                return Err(FingerStop::Scanner(format!(
                    "PD {}: BIOREAD answered with {}, not BIOREADR",
                    reader.address,
                    other.name()
                )));
            }
        };
        match read.status {
            status::SUCCESS => {
                return super::compute::timed(compute, || khil_biometrics::template::minutiae_from_ansi(&read.data))
                    .map_err(|e| {
                        FingerStop::Scanner(format!(
                            "PD {}: BIOREADR's {} bytes are not the ANSI/INCITS 378 record asked for: {e}",
                            reader.address,
                            read.data.len()
                        ))
                    });
            }
            status::TIMEOUT => {}
            other => {
                return Err(FingerStop::Scanner(format!(
                    "PD {}: BIOREADR status {other:#04x} (0 success and 1 timeout are the ones defined)",
                    reader.address
                )));
            }
        }
        let waited = started.elapsed();
        if waited >= config.wait {
            return Err(FingerStop::NoFinger(waited));
        }
        tokio::time::sleep(config.poll).await;
    }
}
