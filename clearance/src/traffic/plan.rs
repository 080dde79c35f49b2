//! How many gates a border point needs: the fewest with which, over simulated days of its traffic, the sizing
//! rule holds — by default the Frontex ABC operational guidelines' (citing IATA ADRM): queue under 5 minutes
//! for 95 % of travellers.

use super::arrivals::{ArrivalProfile, Direction};
use super::queue::{QueueRun, ServiceTimes, quantile, simulate};

/// The queueing target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizingRule {
    /// Seconds in the queue.
    pub max_wait: f64,
    /// The share of travellers who must queue at most `max_wait`.
    pub share: f64,
}

impl Default for SizingRule {
    fn default() -> SizingRule {
        SizingRule { max_wait: 300.0, share: 0.95 }
    }
}

/// One gate count's figures, pooled over the simulated days.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRow {
    pub gates: usize,
    pub travellers: usize,
    /// Share of travellers queueing at most the rule's wait, over all days.
    pub share_within: f64,
    /// The worst single day's share.
    pub worst_day_share: f64,
    pub p95_wait: f64,
    pub max_wait: f64,
    pub max_queue: usize,
    pub utilisation: f64,
    pub meets: bool,
}

/// The answer: every gate count tried, and the fewest that meets the rule.
#[derive(Debug, Clone, PartialEq)]
pub struct GatePlan {
    pub rows: Vec<PlanRow>,
    pub needed: Option<usize>,
}

/// Tries 1, 2, ... gates (at most `max_gates`) on `days` seeded days of `profile` (travellers in `direction`,
/// of whom `share` use the gates) until the rule holds over all days pooled, and one more row past that for
/// the margin. Deterministic in `seed`.
#[allow(clippy::too_many_arguments)] // each is a question a planner asks; a struct would only rename them
pub fn plan_gates(
    profile: &ArrivalProfile,
    direction: Option<Direction>,
    share: f64,
    service: &ServiceTimes,
    rule: SizingRule,
    days: u64,
    max_gates: usize,
    seed: u64,
) -> GatePlan {
    let days: Vec<Vec<f64>> =
        (0..days.max(1)).map(|d| profile.day(direction, share, seed.wrapping_add(d).wrapping_mul(7919))).collect();
    let mut rows = Vec::new();
    let mut needed = None;
    for gates in 1..=max_gates {
        let runs: Vec<QueueRun> = days
            .iter()
            .enumerate()
            .map(|(d, arrivals)| simulate(arrivals, gates, service, seed ^ ((d as u64) << 32) ^ gates as u64))
            .collect();
        let row = row(gates, &runs, rule);
        let meets = row.meets;
        rows.push(row);
        if needed.is_some() {
            break;
        }
        if meets {
            needed = Some(gates);
        }
    }
    GatePlan { rows, needed }
}

fn row(gates: usize, runs: &[QueueRun], rule: SizingRule) -> PlanRow {
    let waits: Vec<f64> = runs.iter().flat_map(QueueRun::waits).collect();
    let travellers = waits.len();
    let share_within = if travellers == 0 {
        1.0
    } else {
        waits.iter().filter(|&&w| w <= rule.max_wait).count() as f64 / travellers as f64
    };
    let worst_day_share = runs.iter().map(|r| r.share_within(rule.max_wait)).fold(1.0, f64::min);
    let utilisation = runs.iter().map(QueueRun::utilisation).sum::<f64>() / runs.len().max(1) as f64;
    PlanRow {
        gates,
        travellers,
        share_within,
        worst_day_share,
        p95_wait: if travellers == 0 { 0.0 } else { quantile(&waits, 0.95) },
        max_wait: waits.iter().copied().fold(0.0, f64::max),
        max_queue: runs.iter().map(QueueRun::max_queue).max().unwrap_or(0),
        utilisation,
        meets: share_within >= rule.share,
    }
}
