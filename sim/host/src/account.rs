//! Where a simulated day's computing goes, by device class (`khil bench border-day`): the time spent polling
//! each simulator's futures, on the thread that polls them.
//!
//! Self time: a measured future polled from inside another (the chip's card answering inside the flow's
//! exchange) counts for its own class and is taken out of its caller's. Off until [`start`] is called on a
//! thread, so that simulators pay one thread-local read per poll otherwise.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    /// Per open measurement: time spent in measured callees so far.
    static STACK: RefCell<Vec<Duration>> = const { RefCell::new(Vec::new()) };
    static TOTALS: RefCell<BTreeMap<&'static str, Duration>> = const { RefCell::new(BTreeMap::new()) };
}

/// Starts accounting on this thread, from zero.
pub fn start() {
    ON.with(|on| on.set(true));
    TOTALS.with(|t| t.borrow_mut().clear());
}

/// Stops accounting on this thread and returns the self time per class.
pub fn stop() -> BTreeMap<&'static str, Duration> {
    ON.with(|on| on.set(false));
    TOTALS.with(|t| std::mem::take(&mut *t.borrow_mut()))
}

/// Runs `f`, counting its self time for `class` when accounting is on.
pub fn measure<T>(class: &'static str, f: impl FnOnce() -> T) -> T {
    if !ON.with(Cell::get) {
        return f();
    }
    STACK.with(|s| s.borrow_mut().push(Duration::ZERO));
    let started = Instant::now();
    let out = f();
    let took = started.elapsed();
    let callees = STACK.with(|s| {
        let mut s = s.borrow_mut();
        let callees = s.pop().unwrap_or_default();
        if let Some(caller) = s.last_mut() {
            *caller += took;
        }
        callees
    });
    TOTALS.with(|t| *t.borrow_mut().entry(class).or_default() += took.saturating_sub(callees));
    out
}

/// `future`, its polls counted for `class`.
pub fn accounted<F: Future>(class: &'static str, future: F) -> Accounted<F> {
    Accounted { class, future: Box::pin(future) }
}

/// A future whose polls are counted (see [`accounted`]).
pub struct Accounted<F> {
    class: &'static str,
    future: Pin<Box<F>>,
}

impl<F> std::fmt::Debug for Accounted<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounted").field("class", &self.class).finish_non_exhaustive()
    }
}

impl<F: Future> Future for Accounted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        measure(this.class, || this.future.as_mut().poll(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spin(d: Duration) {
        let t = Instant::now();
        while t.elapsed() < d {}
    }

    #[test]
    fn nested_time_counts_for_the_callee_only() {
        start();
        measure("outer", || {
            spin(Duration::from_millis(20));
            measure("inner", || spin(Duration::from_millis(30)));
        });
        let totals = stop();
        let (outer, inner) = (totals["outer"], totals["inner"]);
        assert!(inner >= Duration::from_millis(30), "{inner:?}");
        assert!(outer >= Duration::from_millis(20) && outer < Duration::from_millis(30), "{outer:?}");
        // Off again: nothing counted.
        measure("outer", || spin(Duration::from_millis(1)));
        assert!(stop().is_empty());
    }
}
