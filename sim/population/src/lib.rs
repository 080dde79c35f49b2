//! The synthetic world the simulated devices sense: seeded people with fingers today (documents and travellers
//! come with the passport and clearance work). Every simulated sensor (the ZFM module, the OSDP bio reader, later
//! a passport chip's DG3) draws from here, so the same seed gives the same person everywhere.
//!
//! - [`Fingers`]: the population of one seed and impression quality; renders impressions with the synthetic
//!   generator and keeps them, so that a finger drawn once is not drawn again. [`Fingers::shared`] is the one
//!   population of a process per seed and quality.
//! - [`Presence`] and [`FingerModel`]: who is at a sensor and what each capture attempt sees.
//! - [`documents`]: travel documents of synthetic people (passports, identity cards, visas of seven states) with
//!   MRZs made by khil-mrtd's generator.
//! - [`score`]: the match score every simulated sensor reports for two prints (genuine pairs spread with the
//!   impression quality instead of all reaching the top of the scale).

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use khil_biometrics::image::GrayImage;
use khil_biometrics::synth::{Finger, Quality, SensorProfile};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub mod documents;
pub mod score;

/// What is on the sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// Nobody.
    Lifted,
    /// Finger `id` rests on the sensor: every capture sees a fresh impression of it.
    Placed(u64),
    /// A person with finger `id` who places it, is captured once, lifts it (the next capture finds no finger)
    /// and places it again, as enrolment and identification clients expect.
    Auto(u64),
}

impl fmt::Display for Presence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Presence::Lifted => f.write_str("none"),
            Presence::Placed(id) => write!(f, "place:{id}"),
            Presence::Auto(id) => write!(f, "auto:{id}"),
        }
    }
}

/// The impression qualities a simulator takes by name.
pub const QUALITIES: &str = "good, mixed";

/// The quality called `name` (`good`, `mixed`).
pub fn quality_named(name: &str) -> Option<Quality> {
    match name {
        "good" => Some(Quality::Good),
        "mixed" => Some(Quality::Mixed),
        _ => None,
    }
}

impl Presence {
    /// For a person at a console.
    pub fn in_words(self) -> String {
        match self {
            Presence::Lifted => "finger lifted: nobody at the sensor".into(),
            Presence::Placed(id) => format!("finger {id} placed; it stays on the sensor"),
            Presence::Auto(id) => format!("finger {id} comes and goes: placed, captured, lifted, placed again"),
        }
    }
}

/// A console line (`place <id>`, `lift`, `auto <id>`) applied to a sensor's finger; the answer in words. Every
/// simulated fingerprint sensor's console (the ZFM module, the OSDP bio reader) moves fingers with this.
pub fn move_finger(finger: &Mutex<FingerModel>, line: &str) -> Result<String, String> {
    let presence: Presence = line.parse().map_err(|e: FingerSpecError| e.to_string())?;
    finger.lock().unwrap_or_else(std::sync::PoisonError::into_inner).set(presence);
    Ok(presence.in_words())
}

/// A `--finger` value or a line typed on the simulator's stdin that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("finger {input:?}: expected {expected}")]
pub struct FingerSpecError {
    pub input: String,
    pub expected: &'static str,
}

impl FromStr for Presence {
    type Err = FingerSpecError;

    /// `none`, `place:<id>` or `auto:<id>`; the stdin form `place <id>`, `lift`, `auto <id>` too.
    fn from_str(s: &str) -> Result<Presence, FingerSpecError> {
        const EXPECTED: &str = "auto:<id>, place:<id> or none (on stdin: auto <id>, place <id>, lift), id a number";
        let err = || FingerSpecError { input: s.to_owned(), expected: EXPECTED };
        let t = s.trim();
        if matches!(t, "none" | "lift" | "lifted") {
            return Ok(Presence::Lifted);
        }
        let (verb, id) = t.split_once([':', ' ']).ok_or_else(err)?;
        let id: u64 = id.trim().parse().map_err(|_| err())?;
        match verb {
            "auto" => Ok(Presence::Auto(id)),
            "place" | "placed" => Ok(Presence::Placed(id)),
            _ => Err(err()),
        }
    }
}

/// The state of one sensor's finger.
#[derive(Debug)]
pub struct FingerModel {
    presence: Presence,
    /// Auto mode: the finger was just captured and is lifted for the next attempt.
    just_captured: bool,
    /// Chance that an attempt finds no finger although one is coming (people hesitate).
    no_finger: f64,
    /// Impressions per finger before they repeat (`None`: every capture is new).
    distinct: Option<u32>,
    captures: u64,
    rng: ChaCha8Rng,
}

/// What one capture attempt sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sight {
    NoFinger,
    /// Impression `index` of finger `id`.
    Finger {
        id: u64,
        index: u32,
    },
}

impl FingerModel {
    pub fn new(presence: Presence, no_finger: f64, distinct: Option<u32>, seed: u64) -> FingerModel {
        FingerModel {
            presence,
            just_captured: false,
            no_finger: no_finger.clamp(0.0, 1.0),
            distinct: distinct.filter(|&n| n > 0),
            captures: 0,
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6b68_696c_7365_6e73),
        }
    }

    pub fn set(&mut self, presence: Presence) {
        self.presence = presence;
        self.just_captured = false;
    }

    /// One capture attempt.
    pub fn capture(&mut self) -> Sight {
        let id = match self.presence {
            Presence::Lifted => return Sight::NoFinger,
            Presence::Auto(_) if std::mem::take(&mut self.just_captured) => return Sight::NoFinger,
            Presence::Auto(id) | Presence::Placed(id) => id,
        };
        if self.no_finger > 0.0 && self.rng.random_bool(self.no_finger) {
            return Sight::NoFinger;
        }
        self.just_captured = matches!(self.presence, Presence::Auto(_));
        let n = self.captures;
        self.captures += 1;
        let index = match self.distinct {
            Some(k) => (n % u64::from(k)) as u32,
            None => n as u32,
        };
        Sight::Finger { id, index }
    }
}

/// A rendered impression, and what a sensor model extracted from it (extraction is deterministic, so every
/// sensor of that model that captures this impression can reuse it).
pub struct Impression {
    pub image: GrayImage,
    /// The population knows no sensor models: each keeps its own extraction here, whatever its type.
    extracted: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl fmt::Debug for Impression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Impression").field("image", &self.image).finish_non_exhaustive()
    }
}

impl Impression {
    /// What `extract` makes of this impression, made once and kept. A sensor model of another extraction type
    /// that meets the same impression (same geometry) gets a fresh, uncached result.
    pub fn extracted<T: Any + Send + Sync + Clone>(&self, extract: impl Fn(&GrayImage) -> T) -> T {
        let kept = self.extracted.get_or_init(|| Box::new(extract(&self.image)));
        match kept.downcast_ref::<T>() {
            Some(t) => t.clone(),
            None => extract(&self.image),
        }
    }
}

/// Keeps at most `limit` values, dropping the oldest; each value is made once even when many ask at once,
/// and the map's lock is never held while one is made (a finger takes a quarter of a second).
struct Cache<K, V> {
    limit: usize,
    map: HashMap<K, Arc<OnceLock<Arc<V>>>>,
    order: VecDeque<K>,
}

impl<K: std::hash::Hash + Eq + Clone, V> Cache<K, V> {
    fn new(limit: usize) -> Self {
        Cache { limit, map: HashMap::new(), order: VecDeque::new() }
    }

    fn cell(&mut self, key: &K) -> Arc<OnceLock<Arc<V>>> {
        if let Some(cell) = self.map.get(key) {
            return Arc::clone(cell);
        }
        if self.order.len() >= self.limit
            && let Some(old) = self.order.pop_front()
        {
            self.map.remove(&old);
        }
        self.order.push_back(key.clone());
        Arc::clone(self.map.entry(key.clone()).or_default())
    }
}

fn get_or_make<K: std::hash::Hash + Eq + Clone, V>(
    cache: &Mutex<Cache<K, V>>,
    key: &K,
    make: impl FnOnce() -> V,
) -> Arc<V> {
    let cell = cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner).cell(key);
    Arc::clone(cell.get_or_init(|| Arc::new(make())))
}

/// Grown masters by finger id. A master does not depend on the impression quality, so the populations of one
/// seed and different qualities share one (a scenario of mixed quality grew each traveller's finger twice: once
/// for the sensor, once for the chip's DG3, which is always of good quality).
type Masters = Arc<Mutex<Cache<u64, Finger>>>;

/// An empty cache of masters, bounded (see [`Fingers::new`]).
fn new_masters() -> Masters {
    Arc::new(Mutex::new(Cache::new(64)))
}

/// The population of synthetic fingers of one seed, shared by every sensor of a process.
pub struct Fingers {
    seed: u64,
    quality: Quality,
    masters: Masters,
    impressions: Mutex<Cache<(u64, u32, usize, usize), Impression>>,
    /// The line to the thread that grows masters ahead of need ([`Fingers::grow_ahead`]), once started.
    ahead: Mutex<Option<std::sync::mpsc::Sender<u64>>>,
}

impl fmt::Debug for Fingers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fingers").field("seed", &self.seed).field("quality", &self.quality).finish_non_exhaustive()
    }
}

impl Fingers {
    /// Bounds the caches: 64 masters (two `f32` planes of 400 x 520, about 1.7 MB each) and 1024 impressions
    /// (at most 74 kB of pixels each, plus the characteristics extracted from them): about 200 MB at most, by
    /// that arithmetic (not measured).
    pub fn new(seed: u64, quality: Quality) -> Fingers {
        Fingers::with_masters(seed, quality, new_masters())
    }

    fn with_masters(seed: u64, quality: Quality, masters: Masters) -> Fingers {
        Fingers { seed, quality, masters, impressions: Mutex::new(Cache::new(1024)), ahead: Mutex::new(None) }
    }

    /// Grows finger `id`'s master on a thread of this population's, so that it is ready when a sensor or a chip
    /// first asks for it. A simulated border point runs on one thread and tokio's paused clock; a master takes
    /// about a tenth of a second there, and the second core is otherwise idle. Whoever asks for a master while
    /// it grows waits for that growth: the master is the same whichever thread grew it, so outcomes do not
    /// change, only how long a run takes. Masters grown ahead go into the same bounded cache (64): ask a few
    /// travellers ahead, not a day. If the thread cannot be started, nothing is grown ahead.
    pub fn grow_ahead(&self, id: u64) {
        let mut ahead = self.ahead.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if ahead.is_none() {
            let (to_thread, ids) = std::sync::mpsc::channel::<u64>();
            // Weak: the thread must not keep a dropped population's cache alive (it ends when `ahead` drops).
            let (masters, seed) = (Arc::downgrade(&self.masters), self.seed);
            let grower = move || {
                for id in ids {
                    let Some(masters) = masters.upgrade() else { break };
                    get_or_make(&masters, &id, || Finger::generate(seed, id));
                }
            };
            *ahead = std::thread::Builder::new().name("fingers-ahead".into()).spawn(grower).ok().map(|_| to_thread);
        }
        if let Some(to_thread) = ahead.as_ref() {
            let _ = to_thread.send(id);
        }
    }

    /// The population of `seed` and `quality` shared by every simulator of this process: a conformance run opens
    /// a fresh simulator per test purpose, and a finger is synthesised once, not once per purpose (nor once per
    /// quality: the shared populations of a seed share its masters).
    pub fn shared(seed: u64, quality: Quality) -> Arc<Fingers> {
        #[derive(Default)]
        struct Shared {
            populations: HashMap<(u64, Quality), Arc<Fingers>>,
            masters: HashMap<u64, Masters>,
        }
        static SHARED: OnceLock<Mutex<Shared>> = OnceLock::new();
        let mut shared = SHARED.get_or_init(Default::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Shared { populations, masters } = &mut *shared;
        let population = populations.entry((seed, quality)).or_insert_with(|| {
            let masters = masters.entry(seed).or_insert_with(new_masters);
            Arc::new(Fingers::with_masters(seed, quality, Arc::clone(masters)))
        });
        Arc::clone(population)
    }

    /// Impression `index` of finger `id` on `sensor`.
    pub fn impression(&self, id: u64, index: u32, sensor: SensorProfile) -> Arc<Impression> {
        get_or_make(&self.impressions, &(id, index, sensor.width, sensor.height), || {
            let finger = get_or_make(&self.masters, &id, || Finger::generate(self.seed, id));
            Impression { image: finger.impression(index, sensor, self.quality).image, extracted: OnceLock::new() }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_both_forms() {
        assert_eq!("auto:7".parse(), Ok(Presence::Auto(7)));
        assert_eq!("auto 7".parse(), Ok(Presence::Auto(7)));
        assert_eq!("place 12".parse(), Ok(Presence::Placed(12)));
        assert_eq!(" lift ".parse(), Ok(Presence::Lifted));
        assert_eq!("none".parse(), Ok(Presence::Lifted));
        let e = "auto:x".parse::<Presence>().unwrap_err().to_string();
        assert!(e.contains("\"auto:x\"") && e.contains("expected auto:<id>"), "{e}");
        assert!("jump 3".parse::<Presence>().is_err());
        for p in [Presence::Lifted, Presence::Auto(3), Presence::Placed(9)] {
            assert_eq!(p.to_string().parse(), Ok(p));
        }
    }

    #[test]
    fn shared_populations_of_a_seed_share_its_masters() {
        let (good, mixed) = (Fingers::shared(77, Quality::Good), Fingers::shared(77, Quality::Mixed));
        assert!(Arc::ptr_eq(&good.masters, &mixed.masters));
        assert!(!Arc::ptr_eq(&good.masters, &Fingers::shared(78, Quality::Good).masters));
        assert!(Arc::ptr_eq(&good, &Fingers::shared(77, Quality::Good)));
        // The shared master renders each quality's impression as a population of its own would.
        let sensor = SensorProfile::R307;
        let _ = good.impression(5, 0, sensor);
        let own = Fingers::new(77, Quality::Mixed);
        assert_eq!(mixed.impression(5, 1, sensor).image, own.impression(5, 1, sensor).image);
    }

    #[test]
    fn masters_grown_ahead_are_the_masters() {
        let ahead = Fingers::new(31, Quality::Mixed);
        ahead.grow_ahead(4);
        // Wait for the thread (a liveness bound, not a speed check): the master appears in the cache unasked.
        let grown = || {
            let cell = ahead.masters.lock().unwrap().map.get(&4).cloned();
            cell.is_some_and(|c| c.get().is_some())
        };
        let since = std::time::Instant::now();
        while !grown() {
            assert!(since.elapsed() < std::time::Duration::from_mins(2), "finger 4 was not grown ahead");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let own = Fingers::new(31, Quality::Mixed);
        for index in 0..2 {
            let sensor = SensorProfile::R307;
            assert_eq!(ahead.impression(4, index, sensor).image, own.impression(4, index, sensor).image);
        }
    }

    #[test]
    fn auto_lifts_after_each_capture() {
        let mut m = FingerModel::new(Presence::Auto(7), 0.0, None, 1);
        assert_eq!(m.capture(), Sight::Finger { id: 7, index: 0 });
        assert_eq!(m.capture(), Sight::NoFinger);
        assert_eq!(m.capture(), Sight::Finger { id: 7, index: 1 });
        m.set(Presence::Placed(3));
        assert_eq!(m.capture(), Sight::Finger { id: 3, index: 2 });
        assert_eq!(m.capture(), Sight::Finger { id: 3, index: 3 });
        m.set(Presence::Lifted);
        assert_eq!(m.capture(), Sight::NoFinger);
    }

    #[test]
    fn hesitation_and_cycling() {
        let mut m = FingerModel::new(Presence::Placed(1), 0.5, Some(2), 9);
        let sights: Vec<Sight> = (0..200).map(|_| m.capture()).collect();
        let absent = sights.iter().filter(|s| **s == Sight::NoFinger).count();
        assert!((60..140).contains(&absent), "{absent} of 200 attempts found no finger at p=0.5");
        assert!(sights.iter().all(|s| matches!(s, Sight::NoFinger | Sight::Finger { id: 1, index: 0 | 1 })));
    }
}
