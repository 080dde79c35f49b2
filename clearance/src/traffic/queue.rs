//! One queue in front of N identical gates, first come first served: each traveller takes the first gate to
//! come free, and holds it for a transaction time drawn from [`ServiceTimes`]. The classic multi-server queue,
//! checked in the tests against the M/M/1 and M/M/c (Erlang C) formulas.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::arrivals::{exponential, normal};
use rand::RngExt;

/// How long a traveller holds a gate (seconds): from stepping in to the next traveller being able to.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceTimes {
    Exponential {
        mean: f64,
    },
    /// A log-normal given by its median and 90th percentile (`p90 > median`).
    LogNormal {
        median: f64,
        p90: f64,
    },
    /// Measured transaction times (for example a scenario's), drawn with replacement.
    Measured(Vec<f64>),
}

impl ServiceTimes {
    fn sample(&self, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            ServiceTimes::Exponential { mean } => exponential(rng, *mean),
            ServiceTimes::LogNormal { median, p90 } => {
                // ln T ~ N(mu, sigma): the median is e^mu, the 90th percentile e^(mu + 1.2816 sigma).
                let sigma = (p90 / median).ln().max(0.0) / 1.281_551_565_5;
                median * (sigma * normal(rng)).exp()
            }
            ServiceTimes::Measured(times) => {
                if times.is_empty() {
                    return 0.0;
                }
                times[rng.random_range(0..times.len())]
            }
        }
    }

    /// The mean transaction time (Monte Carlo for nothing: closed forms).
    pub fn mean(&self) -> f64 {
        match self {
            ServiceTimes::Exponential { mean } => *mean,
            ServiceTimes::LogNormal { median, p90 } => {
                let sigma = (p90 / median).ln().max(0.0) / 1.281_551_565_5;
                median * (sigma * sigma / 2.0).exp()
            }
            ServiceTimes::Measured(times) => times.iter().sum::<f64>() / times.len().max(1) as f64,
        }
    }
}

/// A day through the gates: per traveller (in arrival order) when they arrived, started and left.
#[derive(Debug, Clone)]
pub struct QueueRun {
    pub gates: usize,
    pub arrivals: Vec<f64>,
    pub starts: Vec<f64>,
    pub ends: Vec<f64>,
}

/// Runs `arrivals` (sorted seconds) through `gates` gates. Zero gates serve nobody: every start is infinite.
pub fn simulate(arrivals: &[f64], gates: usize, service: &ServiceTimes, seed: u64) -> QueueRun {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut free_at = vec![f64::NEG_INFINITY; gates];
    let mut starts = Vec::with_capacity(arrivals.len());
    let mut ends = Vec::with_capacity(arrivals.len());
    for &arrival in arrivals {
        // A handful of gates: a linear scan beats a heap.
        let Some((gate, &free)) = free_at.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)) else {
            starts.push(f64::INFINITY);
            ends.push(f64::INFINITY);
            continue;
        };
        let start = arrival.max(free);
        let end = start + service.sample(&mut rng);
        free_at[gate] = end;
        starts.push(start);
        ends.push(end);
    }
    QueueRun { gates, arrivals: arrivals.to_vec(), starts, ends }
}

impl QueueRun {
    /// Each traveller's time in the queue (seconds).
    pub fn waits(&self) -> Vec<f64> {
        self.arrivals.iter().zip(&self.starts).map(|(a, s)| s - a).collect()
    }

    /// The share of travellers who queued at most `limit` seconds (1 with nobody).
    pub fn share_within(&self, limit: f64) -> f64 {
        if self.arrivals.is_empty() {
            return 1.0;
        }
        self.waits().iter().filter(|&&w| w <= limit).count() as f64 / self.arrivals.len() as f64
    }

    /// The most travellers seen waiting at once (counted at each arrival, the newcomer included).
    pub fn max_queue(&self) -> usize {
        // First come first served: start times never decrease, so those who had started by an arrival are a
        // prefix.
        (0..self.arrivals.len())
            .map(|i| {
                let started = self.starts[..i].partition_point(|&s| s <= self.arrivals[i]);
                i - started + usize::from(self.starts[i] > self.arrivals[i])
            })
            .max()
            .unwrap_or(0)
    }

    /// The share of gate time spent serving, from the first arrival to the last departure.
    pub fn utilisation(&self) -> f64 {
        let (Some(first), Some(last)) = (self.arrivals.first(), self.ends.iter().copied().reduce(f64::max)) else {
            return 0.0;
        };
        let busy: f64 = self.starts.iter().zip(&self.ends).map(|(s, e)| e - s).sum();
        busy / ((last - first) * self.gates as f64).max(f64::MIN_POSITIVE)
    }
}

/// The `q` quantile of `values` (nearest rank; NaN when empty).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(((v.len().saturating_sub(1)) as f64 * q).round() as usize).copied().unwrap_or(f64::NAN)
}
