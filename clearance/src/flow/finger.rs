//! The finger step over the gate's sensor ([`FingerSensor`]: a ZFM module or an OSDP bio reader): captures,
//! their quality check, and 1:1 comparison with the reference (khil's matcher, calibrated scores). The sensor's
//! own matching (ZFM Match, OSDP BIOMATCH) is not used: the reference (DG3, an enrolment) is the host's.

use std::time::Duration;

use khil_biometrics::matcher::{self, MatchTemplate};
use khil_biometrics::minutia::Minutiae;

use super::evidence::{FingerAttempt, FingerEvidence, ReferenceKind};
use super::sensor::FingerSensor;

/// How fingers are taken and judged.
#[derive(Debug, Clone)]
pub struct FingerConfig {
    /// Captures at most, usable or not, for one traveller.
    pub attempts: usize,
    /// How long to wait for a finger on the sensor, per capture.
    pub wait: Duration,
    /// Polling interval while waiting (ZFM GenImg; OSDP BIOREAD after a scan window without a finger).
    pub poll: Duration,
    /// The quality check: at least this many minutiae and this finger quality (0-100).
    pub min_minutiae: usize,
    pub min_quality: u8,
    /// Calibrated 1:1 score that verifies ([`matcher::threshold_for`] of the false match rate wanted).
    pub threshold: f32,
    /// The scanner's resolution.
    pub dpi: u16,
}

impl Default for FingerConfig {
    fn default() -> FingerConfig {
        FingerConfig {
            attempts: 3,
            wait: Duration::from_secs(10),
            poll: Duration::from_millis(100),
            min_minutiae: 12,
            min_quality: 20,
            // FMR 1:10,000 per comparison, the usual operating point of border 1:1 checks.
            threshold: matcher::threshold_for(1e-4),
            dpi: 500,
        }
    }
}

/// Why the finger step stopped early.
#[derive(Debug)]
pub enum FingerStop {
    /// Nobody put a finger on the sensor in time (not a device fault).
    NoFinger(Duration),
    /// The scanner failed: the driver's error, in words.
    Scanner(String),
}

/// The finger evidence being gathered: captures first (before the reference may be known), then verification.
#[derive(Debug)]
pub struct FingerSession {
    pub config: FingerConfig,
    attempts: Vec<FingerAttempt>,
    /// Usable captures (index into `attempts`, minutiae, template).
    usable: Vec<(usize, Minutiae, MatchTemplate)>,
    pub stopped: Option<FingerStop>,
    /// Sensor failures the gate's other sensor stood in for (the driver's errors).
    pub failovers: Vec<String>,
    /// Wall time spent extracting and matching (see [`super::Evidence::compute`]).
    pub compute: Duration,
}

impl FingerSession {
    pub fn new(config: FingerConfig) -> FingerSession {
        FingerSession {
            config,
            attempts: Vec::new(),
            usable: Vec::new(),
            stopped: None,
            failovers: Vec::new(),
            compute: Duration::ZERO,
        }
    }

    fn attempts_left(&self) -> bool {
        self.stopped.is_none() && self.attempts.len() < self.config.attempts
    }

    /// One more capture, quality-checked, on the first of `sensors` (the one in use; the others are fallbacks).
    /// A sensor that fails hands over to the next one, which takes the capture: a sensor gone for good is dropped,
    /// one that failed goes to the back. `false` when the session cannot go on (attempts used up, no finger, no
    /// sensor left working).
    async fn one(&mut self, sensors: &mut Vec<FingerSensor>) -> bool {
        if !self.attempts_left() {
            return false;
        }
        // Each sensor gets one go per capture: two failing sensors do not hand over to each other for ever.
        let mut goes = sensors.len();
        let captured = loop {
            let Some(sensor) = sensors.first_mut() else { return false };
            goes -= 1;
            match sensor.capture(&self.config, &mut self.compute).await {
                Err(FingerStop::Scanner(error)) if goes > 0 && sensors.len() > 1 => {
                    if sensors[0].gone_after(&error) {
                        sensors.remove(0);
                    } else {
                        sensors.rotate_left(1);
                    }
                    self.failovers.push(error);
                }
                other => break other,
            }
        };
        match captured {
            Ok(minutiae) => {
                let usable =
                    minutiae.points.len() >= self.config.min_minutiae && minutiae.quality >= self.config.min_quality;
                self.attempts.push(FingerAttempt {
                    quality: minutiae.quality,
                    minutiae: minutiae.points.len(),
                    usable,
                    score: None,
                });
                if usable {
                    let template = super::compute::timed(&mut self.compute, || MatchTemplate::new(&minutiae));
                    self.usable.push((self.attempts.len() - 1, minutiae, template));
                }
                true
            }
            Err(stop) => {
                self.stopped = Some(stop);
                false
            }
        }
    }

    /// Captures until one passes the quality check (or attempts run out).
    pub async fn first_usable(&mut self, sensors: &mut Vec<FingerSensor>) {
        while self.usable.is_empty() && self.one(sensors).await {}
    }

    /// Scores the usable captures against `reference`; while none verifies and attempts remain, captures again
    /// on `sensors` (none left: it stops).
    pub async fn verify(&mut self, sensors: &mut Vec<FingerSensor>, reference: Option<&Minutiae>) {
        let Some(reference) = reference.map(|r| super::compute::timed(&mut self.compute, || MatchTemplate::new(r)))
        else {
            return;
        };
        let mut scored = 0;
        loop {
            let started = std::time::Instant::now();
            for (index, _, template) in &self.usable[scored..] {
                self.attempts[*index].score = Some(matcher::score(template, &reference));
            }
            self.compute += started.elapsed();
            scored = self.usable.len();
            if self.verified_by(&reference) {
                return;
            }
            if !self.one(sensors).await {
                return;
            }
        }
    }

    fn verified_by(&self, _reference: &MatchTemplate) -> bool {
        self.attempts.iter().any(|a| a.score.is_some_and(|s| s >= self.config.threshold))
    }

    /// The evidence: every attempt, the reference's kind, the verdict and the best usable capture.
    pub fn evidence(&self, reference: ReferenceKind) -> FingerEvidence {
        let scored = self.attempts.iter().any(|a| a.score.is_some());
        let verified = if reference == ReferenceKind::None || !scored {
            None
        } else {
            Some(self.attempts.iter().any(|a| a.score.is_some_and(|s| s >= self.config.threshold)))
        };
        // The best capture: the best-scoring one, else the best quality one.
        let best = self.usable.iter().max_by(|a, b| {
            let key = |u: &(usize, Minutiae, MatchTemplate)| {
                (self.attempts[u.0].score.unwrap_or(f32::MIN), f32::from(self.attempts[u.0].quality))
            };
            let (ka, kb) = (key(a), key(b));
            ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
        });
        FingerEvidence {
            attempts: self.attempts.clone(),
            reference,
            verified,
            threshold: self.config.threshold,
            probe: best.map(|u| u.1.clone()),
        }
    }
}
