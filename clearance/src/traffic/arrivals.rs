//! When travellers reach a border point's gates during one day.
//!
//! A day's traffic is a mix of components: *waves* (a flight's passengers reaching immigration after landing,
//! a train or a bus load) and *streams* (cars and trucks through the opening hours, busier around a peak). The
//! daily totals come from ../shared/reference/mongolia-border.md (National Statistics Office figures via
//! Montsame: Zamiin-Uud ~8,000 crossings a day, the airport ~6,300, Altanbulag ~1,800); how a day is shaped —
//! opening hours, flight and train counts, walking spreads, the Tsagaan Sar factor — is **assumed** here, said
//! so in each profile's `assumptions`, and every figure is a field a scenario can change.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const HOUR: f64 = 3600.0;
const MINUTE: f64 = 60.0;

/// The three border points the reference gives traffic for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// Chinggis Khaan International Airport.
    Airport,
    /// Zamiin-Uud (road and rail, to Erenhot, China).
    ZamiinUud,
    /// Altanbulag (road, to Kyakhta, Russia).
    Altanbulag,
}

impl Point {
    pub const ALL: [Point; 3] = [Point::Airport, Point::ZamiinUud, Point::Altanbulag];

    pub fn name(self) -> &'static str {
        match self {
            Point::Airport => "airport",
            Point::ZamiinUud => "zamiin-uud",
            Point::Altanbulag => "altanbulag",
        }
    }

    pub fn from_name(name: &str) -> Option<Point> {
        Point::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// A day out of the ordinary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surge {
    None,
    /// Lunar New Year: the reference names surges at Altanbulag; the factor is assumed.
    TsagaanSar,
}

/// Which way the travellers cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Entry,
    Exit,
}

/// One part of a day's traffic.
#[derive(Debug, Clone, PartialEq)]
pub enum Component {
    /// Loads arriving together: each wave brings `per_wave` travellers (on average) who reach the gates
    /// between `spread.0` and `spread.2` seconds after `at`, most around `spread.1` (triangular).
    Waves { direction: Direction, at: Vec<f64>, per_wave: f64, spread: (f64, f64, f64) },
    /// Travellers arriving one by one between `open` and `close`, half evenly and half concentrated around
    /// `peak` (a triangular hump): `daily` of them on average.
    Stream { direction: Direction, daily: f64, open: f64, peak: f64, close: f64 },
}

/// A border point's day of traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrivalProfile {
    pub point: Point,
    pub surge: Surge,
    pub components: Vec<Component>,
    /// The sourced daily total the components add up to.
    pub daily_crossings: f64,
    /// What is assumed rather than sourced, for reports.
    pub assumptions: &'static str,
}

impl ArrivalProfile {
    /// The built-in day at `point`.
    pub fn of(point: Point, surge: Surge) -> ArrivalProfile {
        match point {
            Point::Airport => airport(surge),
            Point::ZamiinUud => zamiin_uud(surge),
            Point::Altanbulag => altanbulag(surge),
        }
    }

    /// Expected travellers a day in `direction` (`None`: both).
    pub fn expected(&self, direction: Option<Direction>) -> f64 {
        self.components
            .iter()
            .filter(|c| direction.is_none_or(|d| c.direction() == d))
            .map(|c| match c {
                Component::Waves { at, per_wave, .. } => at.len() as f64 * per_wave,
                Component::Stream { daily, .. } => *daily,
            })
            .sum()
    }

    /// One day's arrival times at the gates (seconds after midnight, sorted; arrivals after midnight of a wave
    /// late in the day run past 86,400), for the travellers crossing in `direction` (`None`: both) of whom
    /// each uses these gates with probability `share` (the rest go to the desks). Seeded: the same seed gives
    /// the same day. Counts vary from day to day as Poisson counts do.
    pub fn day(&self, direction: Option<Direction>, share: f64, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let share = share.clamp(0.0, 1.0);
        let mut times = Vec::new();
        for component in self.components.iter().filter(|c| direction.is_none_or(|d| c.direction() == d)) {
            match component {
                Component::Waves { at, per_wave, spread, .. } => {
                    for &t0 in at {
                        for _ in 0..poisson(&mut rng, per_wave * share) {
                            times.push(t0 + triangular(&mut rng, spread.0, spread.1, spread.2));
                        }
                    }
                }
                Component::Stream { daily, open, peak, close, .. } => {
                    for _ in 0..poisson(&mut rng, daily * share) {
                        let t = if rng.random_bool(0.5) {
                            open + rng.random::<f64>() * (close - open)
                        } else {
                            triangular(&mut rng, *open, *peak, *close)
                        };
                        times.push(t);
                    }
                }
            }
        }
        times.sort_by(f64::total_cmp);
        times
    }
}

impl Component {
    pub fn direction(&self) -> Direction {
        match self {
            Component::Waves { direction, .. } | Component::Stream { direction, .. } => *direction,
        }
    }
}

/// Homogeneous Poisson arrivals at `rate` per second over `[0, duration)`: the textbook process the queue is
/// checked against.
pub fn poisson_arrivals(rate: f64, duration: f64, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut t = 0.0;
    let mut out = Vec::new();
    loop {
        t += exponential(&mut rng, 1.0 / rate);
        if t >= duration {
            return out;
        }
        out.push(t);
    }
}

/// An exponential variate of mean `mean` (inverse CDF; `rand_distr` is not in the tree for one line).
pub(crate) fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    // 1 - U lies in (0, 1]: ln never sees zero.
    -mean * (1.0 - rng.random::<f64>()).ln()
}

/// A standard normal variate (Box-Muller).
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A triangular variate on [a, b] with mode c (inverse CDF).
fn triangular(rng: &mut ChaCha8Rng, a: f64, c: f64, b: f64) -> f64 {
    let u = rng.random::<f64>();
    if b <= a {
        return a;
    }
    let f = (c - a) / (b - a);
    if u < f { a + (u * (b - a) * (c - a)).sqrt() } else { b - ((1.0 - u) * (b - a) * (b - c)).sqrt() }
}

/// A Poisson count of mean `mean`: Knuth's product method for small means, a rounded normal beyond (the
/// counts here are a few hundred at most per component, where the normal is within a traveller).
fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    if mean < 30.0 {
        let limit = (-mean).exp();
        let mut k = 0;
        let mut p = rng.random::<f64>();
        while p > limit {
            k += 1;
            p *= rng.random::<f64>();
        }
        return k;
    }
    (mean + mean.sqrt() * normal(rng)).round().max(0.0) as u64
}

fn both(make: impl Fn(Direction) -> Component) -> [Component; 2] {
    [make(Direction::Entry), make(Direction::Exit)]
}

/// ~6,300 crossings a day, half each way. Assumed: 26 international arrivals and 26 departures a day between
/// 06:00 and 23:00 in two banks; arriving passengers reach immigration 5-25 min after landing (most at 10);
/// departing ones reach emigration 150 to 40 min before departure (most at 90).
fn airport(surge: Surge) -> ArrivalProfile {
    let daily = 6300.0 * surge_factor(surge, 1.2);
    let flights: Vec<f64> = (0..26).map(|i| flight_time(i, 26)).collect();
    let per_flight = daily / 2.0 / flights.len() as f64;
    ArrivalProfile {
        point: Point::Airport,
        surge,
        components: vec![
            Component::Waves {
                direction: Direction::Entry,
                at: flights.clone(),
                per_wave: per_flight,
                spread: (5.0 * MINUTE, 10.0 * MINUTE, 25.0 * MINUTE),
            },
            Component::Waves {
                direction: Direction::Exit,
                at: flights,
                per_wave: per_flight,
                spread: (-150.0 * MINUTE, -90.0 * MINUTE, -40.0 * MINUTE),
            },
        ],
        daily_crossings: daily,
        assumptions: "26 flights each way a day between 06:00 and 23:00 in a morning and an evening bank; \
            walking spreads 5-25 min after landing, 150-40 min before departure; Tsagaan Sar x1.2",
    }
}

/// Flight `i` of `n`: two thirds in a morning bank (06:00-12:00), the rest in an evening bank (17:00-23:00).
fn flight_time(i: usize, n: usize) -> f64 {
    let morning = n * 2 / 3;
    if i < morning {
        6.0 * HOUR + (i as f64 + 0.5) * 6.0 * HOUR / morning as f64
    } else {
        17.0 * HOUR + ((i - morning) as f64 + 0.5) * 6.0 * HOUR / (n - morning) as f64
    }
}

/// ~8,000 crossings a day, half each way. Assumed: 70 % by road (buses, jeeps, cars) from 08:00 to 20:00
/// peaking at 11:00; 30 % by rail in three trains each way a day (09:00, 14:00, 19:00), a train's passengers
/// reaching the gates over 5-40 min.
fn zamiin_uud(surge: Surge) -> ArrivalProfile {
    let daily = 8000.0 * surge_factor(surge, 1.5);
    let road = daily * 0.7 / 2.0;
    let trains = vec![9.0 * HOUR, 14.0 * HOUR, 19.0 * HOUR];
    let per_train = daily * 0.3 / 2.0 / trains.len() as f64;
    let mut components = both(|direction| Component::Stream {
        direction,
        daily: road,
        open: 8.0 * HOUR,
        peak: 11.0 * HOUR,
        close: 20.0 * HOUR,
    })
    .to_vec();
    components.extend(both(|direction| Component::Waves {
        direction,
        at: trains.clone(),
        per_wave: per_train,
        spread: (5.0 * MINUTE, 15.0 * MINUTE, 40.0 * MINUTE),
    }));
    ArrivalProfile {
        point: Point::ZamiinUud,
        surge,
        components,
        daily_crossings: daily,
        assumptions: "70 % road 08:00-20:00 peaking at 11:00, 30 % rail in three trains each way (09:00, 14:00, \
            19:00) reaching the gates over 5-40 min; Tsagaan Sar x1.5",
    }
}

/// ~1,800 crossings a day, half each way, cars and trucks from 09:00 to 18:00 peaking at 13:00 (assumed);
/// Tsagaan Sar multiplies the day by 2.5 (assumed: the reference says surges, not how large).
fn altanbulag(surge: Surge) -> ArrivalProfile {
    let daily = 1800.0 * surge_factor(surge, 2.5);
    let components = both(|direction| Component::Stream {
        direction,
        daily: daily / 2.0,
        open: 9.0 * HOUR,
        peak: 13.0 * HOUR,
        close: 18.0 * HOUR,
    })
    .to_vec();
    ArrivalProfile {
        point: Point::Altanbulag,
        surge,
        components,
        daily_crossings: daily,
        assumptions: "road 09:00-18:00 peaking at 13:00; Tsagaan Sar x2.5",
    }
}

fn surge_factor(surge: Surge, factor: f64) -> f64 {
    match surge {
        Surge::None => 1.0,
        Surge::TsagaanSar => factor,
    }
}
