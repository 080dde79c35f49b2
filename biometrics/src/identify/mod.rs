//! 1:N identification: a gallery of compact templates with a geometric-hashing index, searched in stages:
//! the index votes for a pool of candidates ([`index`]), a geometric-consistency check on the compact
//! templates picks a shortlist from the pool ([`align`]), khil's matcher re-ranks the shortlist
//! ([`crate::matcher::score`]).
//!
//! Invariants:
//! - the index holds exactly the postings of the live templates: enrol inserts a template's triangles, remove
//!   takes the same triangles out (recomputed from the template, which is kept), both under the write lock;
//! - a search holds the read lock only for stage 1 and for copying its pool out; the pre-score and the
//!   matcher run unlocked, so enrolment and removal wait at most one stage 1 (milliseconds);
//! - candidate scores are the matcher's calibrated scores (decades of false match rate per comparison);
//!   across a shortlist of S impostors the chance that any reaches a threshold grows about S-fold, so a
//!   search's threshold comes from measured non-mated searches, not from [`crate::matcher::threshold_for`];
//! - a gallery file holds templates only; the index is rebuilt on load, so a file can never carry an index
//!   that disagrees with its templates ([`file`]).

pub(crate) mod align;
pub mod compact;
pub mod file;
pub mod index;
pub mod model;

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};

use crate::matcher::{self, MatchTemplate};
use crate::minutia::Minutiae;
pub use compact::{CompactTemplate, TemplateError};

/// Why an enrolment or removal was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GalleryError {
    #[error("id {0} is already enrolled (remove it first to replace it)")]
    Duplicate(u64),
    #[error("id {0} is not enrolled")]
    Unknown(u64),
    #[error("the gallery is full ({} templates)", index::MAX_SLOTS)]
    Full,
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// One ranked candidate of a search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The id it was enrolled under.
    pub id: u64,
    /// khil's calibrated matcher score (see [`crate::matcher::score`]).
    pub score: f32,
    /// Its stage-1 vote count.
    pub votes: u32,
}

/// How a search runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchParams {
    /// Templates passed to the matcher (the penetration rate is this over the gallery size).
    pub shortlist: usize,
    /// Templates the index's votes pass to the geometric pre-score, which keeps the best `shortlist` of them
    /// for the matcher; at most `shortlist` skips the pre-score (the votes choose the shortlist).
    pub pool: usize,
    /// Threads for the pre-score and the matcher (1 = the caller's thread only).
    pub threads: usize,
}

/// The pool's default share of the gallery and its smallest size. On the model's galleries (300 mated
/// searches; 150 at 1M) the votes' top 0.02 % held 95 % of the mates at 100k and 1M; a pool of 1 % held
/// 99.3 % (100k) and 99.3-100 % (1M: 8,000 and 16,000), and the pre-score ranked those mates within its top
/// 10 (100k) and top 200 (1M). At 10k, pools of 100 and 200 held the same mates. A pre-score costs ~15 us,
/// ~1/30 of a matcher comparison with building its matcher form, so a 1 % pool costs what a 0.03 % matcher
/// shortlist would.
pub const POOL_SHARE: f64 = 0.01;
pub const POOL_MIN: usize = 100;

impl SearchParams {
    /// A shortlist of `penetration` x `gallery` templates, at least `min`, from a pool of [`POOL_SHARE`] x
    /// `gallery`, at least [`POOL_MIN`].
    pub fn for_gallery(gallery: usize, penetration: f64, min: usize, threads: usize) -> Self {
        let shortlist = share_of(gallery, penetration, min);
        Self { shortlist, pool: 0, threads: threads.max(1) }.with_pool(gallery, POOL_SHARE, POOL_MIN)
    }

    /// The same with a pool of `share` x `gallery` templates, at least `min`.
    #[must_use]
    pub fn with_pool(self, gallery: usize, share: f64, min: usize) -> Self {
        Self { pool: share_of(gallery, share, min), ..self }
    }
}

/// `share` of `gallery` templates, rounded up, at least `min`.
fn share_of(gallery: usize, share: f64, min: usize) -> usize {
    ((gallery as f64 * share).ceil() as usize).max(min)
}

/// A search's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    /// Shortlisted templates, best matcher score first (ties: more votes, then lower id).
    pub candidates: Vec<Candidate>,
    /// Live templates when the search ran.
    pub gallery: usize,
}

/// A template stage 1 passed on, copied out of the gallery.
struct Shortlisted {
    id: u64,
    votes: u32,
    /// The probe's rotation against it the votes agreed on (256ths of a turn).
    rotation: u8,
    template: CompactTemplate,
}

struct Entry {
    id: u64,
    template: CompactTemplate,
}

struct Inner {
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    by_id: HashMap<u64, u32>,
    /// Slot `s` is indexed in shard `s % shards.len()` as its local slot `s / shards.len()`; stage 1 votes in
    /// every shard at once, one thread each (the posting scan is most of a search at a million templates).
    shards: Vec<index::Index>,
}

impl Inner {
    fn shard(&mut self, slot: u32) -> (&mut index::Index, u32) {
        let n = self.shards.len() as u32;
        (&mut self.shards[(slot % n) as usize], slot / n)
    }

    /// Enrols `template` under `id` with its index keys: the first free slot, else a new one.
    fn insert(&mut self, id: u64, template: CompactTemplate, keys: &[(u32, u32)]) -> Result<(), GalleryError> {
        if self.by_id.contains_key(&id) {
            return Err(GalleryError::Duplicate(id));
        }
        let slot = match self.free.pop() {
            Some(s) => s,
            None if self.slots.len() < index::MAX_SLOTS => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
            None => return Err(GalleryError::Full),
        };
        let (shard, local) = self.shard(slot);
        shard.insert(local, keys);
        self.slots[slot as usize] = Some(Entry { id, template });
        self.by_id.insert(id, slot);
        Ok(())
    }
}

/// The gallery: enrol, remove and search concurrently (`&self` everywhere; share it in an `Arc`).
pub struct Gallery {
    inner: RwLock<Inner>,
    /// Vote counters of finished searches (one per shard), reused so a search does not allocate and zero a
    /// counter per slot.
    scratch: Mutex<Vec<Vec<index::Votes>>>,
    /// Pre-score accumulators of finished searches (one per thread), reused likewise.
    aligners: Mutex<Vec<align::Aligner>>,
}

/// `f` over contiguous chunks of `items`, one chunk a thread on up to `threads` threads, results in order.
/// (A chunk, not an item, so a worker can take per-thread scratch once.)
fn parallel_chunks<T: Sync, U: Send>(items: &[T], threads: usize, f: impl Fn(&[T]) -> Vec<U> + Sync) -> Vec<U> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return f(items);
    }
    let chunk = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = items.chunks(chunk).map(|c| s.spawn(move || f(c))).collect();
        handles.into_iter().flat_map(|h| h.join().expect("workers do not panic")).collect()
    })
}

/// `f` over `items` on up to `threads` threads, results in order.
fn parallel_map<T: Sync, U: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    parallel_chunks(items, threads, |c| c.iter().map(&f).collect())
}

impl std::fmt::Debug for Gallery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gallery({} templates)", self.len())
    }
}

impl Default for Gallery {
    fn default() -> Self {
        Self::new()
    }
}

/// Memory held, in bytes (heap allocations by capacity, plus the tables' own size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUse {
    pub templates: usize,
    pub postings: usize,
    pub index: usize,
    pub ids: usize,
    pub live: usize,
}

impl MemoryUse {
    pub fn total(&self) -> usize {
        self.templates + self.index + self.ids
    }

    pub fn per_template(&self) -> f64 {
        self.total() as f64 / self.live.max(1) as f64
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    // A panic elsewhere while the write lock was held cannot leave a half-made entry (each update is
    // applied after everything that can fail), so the data behind a poisoned lock is still whole.
    lock.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The cores this process may use (1 when that cannot be told).
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// The index keys of a template's triangles.
fn enrol_keys(template: &CompactTemplate) -> Vec<(u32, u32)> {
    let points: Vec<(f32, f32, f32)> = template.points().collect();
    index::enrol_keys(&points)
}

impl Gallery {
    /// A gallery with one index shard per available core (at most 8).
    pub fn new() -> Self {
        Self::with_shards(cores().min(8))
    }

    /// A gallery whose stage 1 runs on `shards` threads.
    pub fn with_shards(shards: usize) -> Self {
        let shards = (0..shards.clamp(1, 64)).map(|_| index::Index::new()).collect();
        let inner = Inner { slots: Vec::new(), free: Vec::new(), by_id: HashMap::new(), shards };
        Self { inner: RwLock::new(inner), scratch: Mutex::new(Vec::new()), aligners: Mutex::new(Vec::new()) }
    }

    pub fn len(&self) -> usize {
        read(&self.inner).by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, id: u64) -> bool {
        read(&self.inner).by_id.contains_key(&id)
    }

    /// Enrols `minutiae` under `id`.
    pub fn enrol(&self, id: u64, minutiae: &Minutiae) -> Result<(), GalleryError> {
        self.enrol_compact(id, CompactTemplate::new(minutiae)?)
    }

    /// Enrols an already quantised template (its triangles are computed before the lock is taken).
    pub fn enrol_compact(&self, id: u64, template: CompactTemplate) -> Result<(), GalleryError> {
        let keys = enrol_keys(&template);
        write(&self.inner).insert(id, template, &keys)
    }

    /// Enrols `templates` in their order, their triangles computed on up to `threads` threads: the same gallery
    /// as enrolling them one by one in that order. All or nothing: a duplicate id (in the gallery or among
    /// `templates`) or a full gallery is refused before anything is enrolled. It holds the write lock
    /// throughout, so searches wait for it (a million templates: about half a minute on 2 cores): it is for
    /// building a gallery before it serves; [`Gallery::enrol`] keeps a serving one serving.
    pub fn enrol_many(&self, templates: Vec<(u64, CompactTemplate)>, threads: usize) -> Result<(), GalleryError> {
        // Keys a batch at a time: a million templates' keys at once held 1.4 GB more at the peak (measured).
        self.enrol_in_batches(templates, threads, 8192)
    }

    fn enrol_in_batches(
        &self,
        templates: Vec<(u64, CompactTemplate)>,
        threads: usize,
        batch: usize,
    ) -> Result<(), GalleryError> {
        let mut g = write(&self.inner);
        let mut seen = std::collections::HashSet::with_capacity(templates.len());
        if let Some(&(id, _)) = templates.iter().find(|(id, _)| g.by_id.contains_key(id) || !seen.insert(*id)) {
            return Err(GalleryError::Duplicate(id));
        }
        drop(seen);
        if templates.len() > g.free.len() + (index::MAX_SLOTS - g.slots.len()) {
            return Err(GalleryError::Full);
        }
        let mut rest = templates.into_iter();
        loop {
            let next: Vec<(u64, CompactTemplate)> = rest.by_ref().take(batch.max(1)).collect();
            if next.is_empty() {
                return Ok(());
            }
            let keys = parallel_map(&next, threads, |(_, t)| enrol_keys(t));
            for ((id, template), keys) in next.into_iter().zip(&keys) {
                g.insert(id, template, keys).expect("ids and room were checked above");
            }
        }
    }

    /// Removes `id`: its postings leave the index before the call returns.
    pub fn remove(&self, id: u64) -> Result<(), GalleryError> {
        let mut g = write(&self.inner);
        let slot = g.by_id.remove(&id).ok_or(GalleryError::Unknown(id))?;
        let entry = g.slots[slot as usize].take().expect("by_id names live slots only");
        let points: Vec<(f32, f32, f32)> = entry.template.points().collect();
        let (shard, local) = g.shard(slot);
        shard.remove(local, &index::enrol_keys(&points));
        g.free.push(slot);
        Ok(())
    }

    /// Gives back spare capacity after a bulk enrolment.
    pub fn shrink(&self) {
        let mut g = write(&self.inner);
        g.shards.iter_mut().for_each(index::Index::shrink);
        g.slots.shrink_to_fit();
        g.by_id.shrink_to_fit();
    }

    /// Every live (id, template), in slot order: what a file stores.
    pub fn templates(&self) -> Vec<(u64, CompactTemplate)> {
        read(&self.inner).slots.iter().flatten().map(|e| (e.id, e.template.clone())).collect()
    }

    pub fn memory(&self) -> MemoryUse {
        let g = read(&self.inner);
        let entry = std::mem::size_of::<Option<Entry>>();
        let templates = g.slots.capacity() * entry
            + g.slots.iter().flatten().map(|e| e.template.heap_bytes()).sum::<usize>()
            + g.free.capacity() * 4;
        // hashbrown: one (key, value) and one control byte per bucket; buckets are capacity * 8 / 7.
        let ids = (g.by_id.capacity() * 8 / 7) * (std::mem::size_of::<(u64, u32)>() + 1);
        let postings = g.shards.iter().map(index::Index::postings).sum();
        let index = g.shards.iter().map(index::Index::heap_bytes).sum();
        MemoryUse { templates, postings, index, ids, live: g.by_id.len() }
    }

    /// Stage 1 only: the best `k` templates by votes, as (id, votes).
    pub fn prefilter(&self, probe: &Minutiae, k: usize) -> Result<Vec<(u64, u32)>, TemplateError> {
        let probe = CompactTemplate::new(probe)?;
        let (ranked, _) = self.stage1(&probe, k);
        Ok(ranked.into_iter().map(|s| (s.id, s.votes)).collect())
    }

    fn stage1(&self, probe: &CompactTemplate, k: usize) -> (Vec<Shortlisted>, usize) {
        let points: Vec<(f32, f32, f32)> = probe.points().collect();
        let keys = index::probe_keys(&points);
        let mut votes =
            self.scratch.lock().unwrap_or_else(std::sync::PoisonError::into_inner).pop().unwrap_or_default();
        let g = read(&self.inner);
        let n = g.shards.len();
        votes.resize_with(n, index::Votes::default);
        let local_slots = g.slots.len().div_ceil(n);
        let keys = &keys;
        let weights = &index::vote_weights(&g.shards, keys);
        let slots = &g.slots;
        let mut top: Vec<index::Hit> = std::thread::scope(|s| {
            let handles: Vec<_> = g
                .shards
                .iter()
                .zip(votes.iter_mut())
                .enumerate()
                .map(|(i, (shard, v))| {
                    s.spawn(move || {
                        let global = |local: u32| local * n as u32 + i as u32;
                        let id_of = |local: u32| slots[global(local) as usize].as_ref().map_or(u64::MAX, |e| e.id);
                        let top = v.top(shard, local_slots, keys, weights, k, id_of);
                        top.into_iter().map(|h| index::Hit { slot: global(h.slot), ..h }).collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("voting does not panic")).collect()
        });
        top.sort_unstable_by(index::by_votes_then_id);
        top.truncate(k);
        let out = top
            .into_iter()
            .filter_map(|h| {
                g.slots[h.slot as usize].as_ref().map(|e| Shortlisted {
                    id: e.id,
                    votes: h.votes,
                    rotation: h.rotation,
                    template: e.template.clone(),
                })
            })
            .collect();
        let live = g.by_id.len();
        drop(g);
        self.scratch.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(votes);
        (out, live)
    }

    /// Staged search: the index's pool, the pre-score's shortlist, re-ranked by the matcher. Refuses a probe
    /// that cannot be a template (too few minutiae, coordinates out of range).
    pub fn search(&self, probe: &Minutiae, params: SearchParams) -> Result<SearchResult, TemplateError> {
        let compact = CompactTemplate::new(probe)?;
        // The probe's matcher template from the same rounded minutiae the gallery holds: both sides alike.
        let probe_template = MatchTemplate::new(&compact.minutiae());
        let (pool, gallery) = self.stage1(&compact, params.pool.max(params.shortlist));
        let shortlist = if pool.len() > params.shortlist {
            self.prescore(&compact, pool, params.shortlist, params.threads)
        } else {
            pool
        };
        let score = |s: &Shortlisted| Candidate {
            id: s.id,
            score: matcher::score(&probe_template, &MatchTemplate::new(&s.template.minutiae())),
            votes: s.votes,
        };
        let mut candidates = parallel_map(&shortlist, params.threads, score);
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.votes.cmp(&a.votes)).then(a.id.cmp(&b.id)));
        Ok(SearchResult { candidates, gallery })
    }

    /// The best `keep` of `pool` by the geometric pre-score: minutiae paired under one alignment, squared
    /// over the candidate's minutia count (the matcher's own normalisation; the probe's count is the same
    /// for all), ties broken by votes, then by id so the order is reproducible.
    fn prescore(
        &self,
        probe: &CompactTemplate,
        pool: Vec<Shortlisted>,
        keep: usize,
        threads: usize,
    ) -> Vec<Shortlisted> {
        let probe = align::Probe::new(probe);
        let lock = || self.aligners.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let score = |chunk: &[Shortlisted]| {
            let mut aligner = lock().pop().unwrap_or_default();
            let out: Vec<f32> = chunk
                .iter()
                .map(|s| {
                    let m = aligner.matched(&probe, &s.template, s.rotation) as f32;
                    m * m / s.template.len() as f32
                })
                .collect();
            lock().push(aligner);
            out
        };
        let scores = parallel_chunks(&pool, threads, score);
        let mut ranked: Vec<(f32, Shortlisted)> = scores.into_iter().zip(pool).collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.1.votes.cmp(&a.1.votes)).then(a.1.id.cmp(&b.1.id)));
        ranked.truncate(keep);
        ranked.into_iter().map(|(_, s)| s).collect()
    }

    /// Brute force: every live template through the matcher (the reference the index is measured against).
    pub fn search_exhaustive(&self, probe: &Minutiae, threads: usize) -> Result<SearchResult, TemplateError> {
        let compact = CompactTemplate::new(probe)?;
        let probe_template = MatchTemplate::new(&compact.minutiae());
        let all: Vec<(u64, CompactTemplate)> = self.templates();
        let gallery = all.len();
        let score = |(id, t): &(u64, CompactTemplate)| Candidate {
            id: *id,
            score: matcher::score(&probe_template, &MatchTemplate::new(&t.minutiae())),
            votes: 0,
        };
        let mut candidates = parallel_map(&all, threads, score);
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        Ok(SearchResult { candidates, gallery })
    }
}

#[cfg(test)]
mod tests;
