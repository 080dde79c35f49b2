//! The flow's own computing time (see [`super::Evidence::compute`]).

use std::time::{Duration, Instant};

/// Runs `f`, adding the wall time it took to `total`. Wall time, not tokio's clock: on the paused clock of a
/// scenario tokio's time stands still while the flow computes.
pub(crate) fn timed<T>(total: &mut Duration, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    *total += started.elapsed();
    out
}
