//! The fingerprint sensor of the `bio-reader` PD: who is on it, what a scan sees, and the templates and scores
//! the PD answers BIOREAD and BIOMATCH with.
//!
//! Fingers come from the synthetic population of [`khil_sim_population::Fingers`] (one per process, shared with
//! the ZFM simulators) and a [`FingerModel`] (`auto:<id>`, `place:<id>`, `none`, hesitation). A scan is one
//! attempt, and a second one when the first finds no finger: a person who has just lifted the finger (auto)
//! puts it back while the reader waits, one who hesitates may still come. Impressions cycle through a few
//! renderings per finger ([`BioReader::DEFAULT_IMPRESSIONS`]), each rendered and extracted once, so that a
//! scan costs no synthesis: [`BioReader::prepare`] does that work before the simulator says ready, and the
//! console prepares a finger before it is placed.
//!
//! OSDP fields (SIA OSDP 2.2 tables, as read in libosdp's `include/osdp.h` and OSDP.Net's `BiometricType`,
//! `BiometricFormat`, `BiometricStatus`):
//!
//! - type: 0 not specified, 1-5 right thumb..little, 6-10 left thumb..little, 0x0B-0x0E iris and retina,
//!   0x0F face, 0x10-0x11 hand geometry. The finger codes are those of ANSI/INCITS 378's finger position, so a
//!   template says which finger the CP asked for.
//! - format: 0 not specified (the reader's default: here ANSI/INCITS 378), 1 raw fingerprint image as PGM, 2
//!   ANSI/INCITS 378 template.
//! - status in BIOREADR/BIOMATCHR: 0 success, 1 timeout (no finger in the scan window), 0xFF unknown error.
//! - quality (BIOREAD, BIOREADR) and score (BIOMATCHR) are normalised to 0x00 (worst, no match) .. 0xFF (best);
//!   BIOMATCH's quality byte is the threshold on that score scale for accepting the match.
//!
//! Biometric data never reaches logs: only lengths, counts, qualities and scores.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use khil_biometrics::extract::extract;
use khil_biometrics::matcher::MatchTemplate;
use khil_biometrics::minutia::Minutiae;
use khil_biometrics::synth::SensorProfile;
use khil_biometrics::template::ansi_from_minutiae;
use khil_sim_population::{FingerModel, Fingers, Presence, Sight};

/// The field codes, shared with the CP's driver.
pub use khil_osdp::bio::{format, kind, status};

/// OSDP score units per decade of false match rate.
///
/// The reader reports the score every simulated sensor reports ([`khil_sim_population::score`]), in decades: up
/// to 5, impostor pairs reach a score `s` with probability about 10^-s (khil's measured calibration); above it,
/// genuine pairs spread with how much of the two prints agree, up to 12 for identical templates. BIOMATCHR's
/// score is one byte, 0x00 no match .. 0xFF best match, and BIOMATCH's threshold is on the same scale. The reader
/// sends `round(20 * s)`, so the whole range fits (12 -> 240) and a threshold byte `t` up to 100 means a false
/// match rate of 10^-(t/20): 60 is 1 in 1000, 66 the EU Entry/Exit System's 0.05 %, 80 is 1 in 10 000, 100 1 in
/// 100 000. Genuine scans score about 170-205 with `good` impressions and 110-175 with `mixed` ones. The reader
/// decides "match" when score >= threshold (a threshold of 0 accepts everything, as the field's definition says).
pub const SCORE_PER_DECADE: f32 = 20.0;

/// The OSDP score byte of a reported score in decades.
pub fn osdp_score(decades: f32) -> u8 {
    (decades * SCORE_PER_DECADE).round().clamp(0.0, 255.0) as u8
}

/// The false match rate a BIOMATCH threshold byte stands for.
pub fn threshold_fmr(threshold: u8) -> f64 {
    10f64.powf(-f64::from(threshold) / f64::from(SCORE_PER_DECADE))
}

/// The most minutiae a BIOREADR template carries: 6 bytes each, and the reply (encrypted, padded) must fit one
/// packet of at most 1440 bytes.
pub const MAX_TEMPLATE_MINUTIAE: usize = 200;

/// One scan's result: the extracted minutiae, their matcher template, the normalised quality.
pub struct Capture {
    pub minutiae: Minutiae,
    pub template: MatchTemplate,
    /// 0 (worst) .. 255 (best), from the extractor's 0-100 finger quality.
    pub quality: u8,
}

impl fmt::Debug for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Capture({:?}, quality {})", self.minutiae, self.quality)
    }
}

impl Capture {
    fn of(mut minutiae: Minutiae) -> Capture {
        if minutiae.points.len() > MAX_TEMPLATE_MINUTIAE {
            minutiae.points.sort_by_key(|m| std::cmp::Reverse(m.quality));
            minutiae.points.truncate(MAX_TEMPLATE_MINUTIAE);
        }
        let quality = (u16::from(minutiae.quality.min(100)) * 255 / 100) as u8;
        Capture { template: MatchTemplate::new(&minutiae), minutiae, quality }
    }

    /// The ANSI/INCITS 378 record of this capture, finger position `position` (the OSDP type: 0 unknown, 1-10
    /// the fingers), as khil's encoder writes it.
    pub fn ansi(&self, position: u8) -> Vec<u8> {
        ansi_from_minutiae(&self.minutiae, position)
    }
}

/// The sensor of a biometric reader PD.
pub struct BioReader {
    fingers: Arc<Fingers>,
    finger: Arc<Mutex<FingerModel>>,
    start: Presence,
    impressions: u32,
    sensor: SensorProfile,
    captures: Mutex<HashMap<(u64, u32), Arc<Capture>>>,
    scan_time: std::time::Duration,
}

impl fmt::Debug for BioReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BioReader")
            .field("start", &self.start)
            .field("impressions", &self.impressions)
            .field("sensor", &self.sensor.name)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl BioReader {
    /// Impressions per finger before they repeat, when not told otherwise.
    pub const DEFAULT_IMPRESSIONS: u32 = 4;
    /// Captures kept (a finger's impressions, for many fingers).
    const CACHE: usize = 512;

    /// A sensor showing `presence` at start; `no_finger`: chance that an attempt finds no finger although one is
    /// due; `impressions`: renderings per finger before they repeat (0: [`BioReader::DEFAULT_IMPRESSIONS`]).
    pub fn new(fingers: Arc<Fingers>, presence: Presence, no_finger: f64, impressions: u32, seed: u64) -> BioReader {
        let impressions = if impressions == 0 { Self::DEFAULT_IMPRESSIONS } else { impressions };
        BioReader {
            finger: Arc::new(Mutex::new(FingerModel::new(presence, no_finger, Some(impressions), seed))),
            fingers,
            start: presence,
            impressions,
            // An optical single-finger sensor of the R307's size at 500 dpi: templates of a few dozen minutiae.
            sensor: SensorProfile::R307,
            captures: Mutex::new(HashMap::new()),
            scan_time: std::time::Duration::ZERO,
        }
    }

    /// A sensor whose scan (imaging and extraction on the reader) takes `scan_time` on tokio's clock: the PD
    /// answers BUSY to BIOREAD and BIOMATCH until the scan is done, as OSDP 2.2 lets a PD do for a command it
    /// cannot answer within the reply window (the CP sends the same packet again). Zero (the default): a scan
    /// answers at once.
    #[must_use]
    pub fn with_scan_time(mut self, scan_time: std::time::Duration) -> BioReader {
        self.scan_time = scan_time;
        self
    }

    /// How long one scan takes ([`BioReader::with_scan_time`]).
    pub fn scan_time(&self) -> std::time::Duration {
        self.scan_time
    }

    /// The finger on the sensor, for the console (`place`, `lift`, `auto`): prepare a new finger with
    /// [`BioReader::prepare_finger`] before placing it, or its first scans synthesise it (a quarter second).
    pub fn finger(&self) -> Arc<Mutex<FingerModel>> {
        Arc::clone(&self.finger)
    }

    /// Renders and extracts every impression of the starting finger, so that no scan waits for synthesis.
    pub fn prepare(&self) {
        if let Presence::Auto(id) | Presence::Placed(id) = self.start {
            self.prepare_finger(id);
        }
    }

    /// Renders and extracts every impression of finger `id`.
    pub fn prepare_finger(&self, id: u64) {
        for index in 0..self.impressions {
            self.capture_of(id, index);
        }
    }

    fn capture_of(&self, id: u64, index: u32) -> Arc<Capture> {
        if let Some(c) = lock(&self.captures).get(&(id, index)) {
            return Arc::clone(c);
        }
        // Made outside the lock; two scans of the same new impression at once both extract it (deterministic).
        let impression = self.fingers.impression(id, index, self.sensor);
        let capture = Arc::new(Capture::of(extract(&impression.image, 500)));
        let mut map = lock(&self.captures);
        if map.len() >= Self::CACHE {
            map.clear();
        }
        Arc::clone(map.entry((id, index)).or_insert(capture))
    }

    /// One scan: up to two attempts (see the module doc). `None`: no finger (the scan times out).
    pub fn scan(&self) -> Option<Arc<Capture>> {
        let sight = {
            let mut model = lock(&self.finger);
            match model.capture() {
                Sight::NoFinger => model.capture(),
                seen @ Sight::Finger { .. } => seen,
            }
        };
        match sight {
            Sight::NoFinger => None,
            Sight::Finger { id, index } => Some(self.capture_of(id, index)),
        }
    }

    /// The reported score of `probe` against a reference template, in decades ([`khil_sim_population::score`]).
    pub fn score(probe: &Capture, reference: &MatchTemplate) -> f32 {
        khil_sim_population::score::compare(&probe.template, reference)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use khil_biometrics::matcher;

    #[test]
    fn scores_and_thresholds_share_one_scale() {
        assert_eq!(osdp_score(0.0), 0);
        assert_eq!(osdp_score(3.3), 66);
        assert_eq!(osdp_score(matcher::MAX_SCORE), 240);
        assert_eq!(osdp_score(100.0), 255);
        assert!((threshold_fmr(80) - 1e-4).abs() < 1e-12);
        assert!((threshold_fmr(66) - 10f64.powf(-3.3)).abs() < 1e-12);
        // A calibrated score exactly at the FMR's threshold is accepted at that threshold byte.
        let t = matcher::threshold_for(1e-4);
        assert!(osdp_score(t) >= 80);
    }
}
