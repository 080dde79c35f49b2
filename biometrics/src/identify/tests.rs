//! Gallery behaviour on small model galleries (hundreds of fingers: seconds, not minutes).

use std::sync::Arc;

use proptest::prelude::*;

use super::file::{self, GalleryFileError};
use super::model::ModelFinger;
use super::*;

const SEED: u64 = 424_242;

fn gallery(n: u64) -> Gallery {
    gallery_in(n, Gallery::new())
}

fn gallery_in(n: u64, g: Gallery) -> Gallery {
    for f in 0..n {
        g.enrol(f, &ModelFinger::generate(SEED, f).impression(0)).unwrap();
    }
    g
}

/// Votes choose the shortlist (pool = shortlist: no pre-score).
fn params() -> SearchParams {
    SearchParams { shortlist: 10, pool: 10, threads: 2 }
}

/// The pre-score picks a shortlist of 2 from the votes' best 60.
fn pooled() -> SearchParams {
    SearchParams { shortlist: 2, pool: 60, threads: 2 }
}

#[test]
fn mates_come_first_and_impostors_score_low() {
    let g = gallery(300);
    let threshold = matcher::threshold_for(1e-5);
    let mut rank1 = 0;
    for f in 0..20 {
        let r = g.search(&ModelFinger::generate(SEED, f).impression(1), params()).unwrap();
        assert_eq!(r.gallery, 300);
        assert!(r.candidates.len() <= 10);
        assert!(r.candidates.windows(2).all(|w| w[0].score >= w[1].score));
        if r.candidates.first().is_some_and(|c| c.id == f && c.score >= threshold) {
            rank1 += 1;
        }
    }
    assert!(rank1 >= 18, "{rank1} of 20 mates at rank 1");
    // Fingers never enrolled: nothing should reach a one-in-100,000 comparison threshold.
    for f in 1000..1010 {
        let r = g.search(&ModelFinger::generate(SEED, f).impression(1), params()).unwrap();
        assert!(r.candidates.iter().all(|c| c.score < threshold), "{:?}", r.candidates.first());
    }
}

#[test]
fn pre_score_keeps_mates_in_a_small_shortlist() {
    let g = gallery(300);
    let mut rank1 = 0;
    for f in 0..20 {
        let r = g.search(&ModelFinger::generate(SEED, f).impression(1), pooled()).unwrap();
        assert!(r.candidates.len() <= 2);
        rank1 += usize::from(r.candidates.first().is_some_and(|c| c.id == f));
    }
    assert!(rank1 >= 19, "{rank1} of 20 mates at rank 1 from a shortlist of 2");
    // One thread and two give the same answer (the pre-score's order does not depend on the split).
    let probe = ModelFinger::generate(SEED, 4).impression(1);
    let one = g.search(&probe, SearchParams { threads: 1, ..pooled() }).unwrap();
    assert_eq!(one, g.search(&probe, pooled()).unwrap());
}

#[test]
fn answers_do_not_depend_on_the_shard_count() {
    let (one, three) = (gallery_in(200, Gallery::with_shards(1)), gallery_in(200, Gallery::with_shards(3)));
    for f in [0, 99, 199, 321] {
        let probe = ModelFinger::generate(SEED, f).impression(1);
        assert_eq!(one.prefilter(&probe, 30).unwrap(), three.prefilter(&probe, 30).unwrap(), "probe {f}");
        assert_eq!(one.search(&probe, pooled()).unwrap(), three.search(&probe, pooled()).unwrap(), "probe {f}");
    }
}

/// The same fingers enrolled in another order, some removed and enrolled again (freed slots are reused): the
/// answers, ties included, depend on the enrolled (id, template) pairs only.
#[test]
fn answers_do_not_depend_on_the_enrolment_history() {
    let enrol = |g: &Gallery, f: u64| g.enrol(f, &ModelFinger::generate(SEED, f).impression(0)).unwrap();
    let forward = gallery_in(200, Gallery::with_shards(2));
    let churned = Gallery::with_shards(2);
    for f in (0..200).rev() {
        enrol(&churned, f);
    }
    for f in (0..200).step_by(7) {
        churned.remove(f).unwrap();
    }
    for f in (0..200u64).rev().filter(|f| f % 7 == 0) {
        enrol(&churned, f);
    }
    let mut ties = 0;
    for f in [0, 42, 99, 150, 199, 321, 777] {
        let probe = ModelFinger::generate(SEED, f).impression(1);
        let (a, b) = (forward.prefilter(&probe, 60).unwrap(), churned.prefilter(&probe, 60).unwrap());
        ties += a.windows(2).filter(|w| w[0].1 == w[1].1).count();
        assert_eq!(a, b, "probe {f}");
        assert_eq!(forward.search(&probe, pooled()).unwrap(), churned.search(&probe, pooled()).unwrap(), "probe {f}");
    }
    // Without equal votes the test would not test the tie-break.
    assert!(ties > 0, "no tied votes in any pool");
}

#[test]
fn bulk_enrolment_is_one_by_one_in_order() {
    let templates: Vec<(u64, CompactTemplate)> =
        (0..150).map(|f| (f, CompactTemplate::new(&ModelFinger::generate(SEED, f).impression(0)).unwrap())).collect();
    let (bulk, batched, single) = (Gallery::with_shards(3), Gallery::with_shards(3), Gallery::with_shards(3));
    bulk.enrol_many(templates.clone(), 2).unwrap();
    batched.enrol_in_batches(templates.clone(), 2, 7).unwrap();
    for (id, t) in templates.clone() {
        single.enrol_compact(id, t).unwrap();
    }
    assert_eq!(bulk.templates(), single.templates());
    assert_eq!(batched.templates(), single.templates());
    for f in [0, 77, 149, 400] {
        let probe = ModelFinger::generate(SEED, f).impression(1);
        let expected = (single.search(&probe, pooled()).unwrap(), single.prefilter(&probe, 20).unwrap());
        for g in [&bulk, &batched] {
            assert_eq!((g.search(&probe, pooled()).unwrap(), g.prefilter(&probe, 20).unwrap()), expected, "probe {f}");
        }
    }
    // All or nothing: a duplicate, in the gallery or within the batch, enrols none of the batch.
    let more: Vec<(u64, CompactTemplate)> = [(500, 1), (501, 2), (7, 3)]
        .map(|(id, f)| (id, CompactTemplate::new(&ModelFinger::generate(SEED, f).impression(1)).unwrap()))
        .into();
    assert!(matches!(bulk.enrol_many(more.clone(), 2), Err(GalleryError::Duplicate(7))));
    let twice = vec![more[0].clone(), more[1].clone(), more[0].clone()];
    assert!(matches!(bulk.enrol_many(twice, 2), Err(GalleryError::Duplicate(500))));
    assert_eq!(bulk.len(), 150);
    assert!(!bulk.contains(500) && !bulk.contains(501));
}

#[test]
fn index_agrees_with_brute_force_on_the_best_mate() {
    let g = gallery(120);
    for f in [3, 50, 111] {
        let probe = ModelFinger::generate(SEED, f).impression(2);
        let fast = g.search(&probe, params()).unwrap();
        let slow = g.search_exhaustive(&probe, 2).unwrap();
        assert_eq!(slow.candidates.len(), 120);
        assert_eq!(fast.candidates[0], Candidate { votes: fast.candidates[0].votes, ..slow.candidates[0] });
    }
}

#[test]
fn enrol_remove_and_reuse() {
    // Three shards: slots map to shards and back through the same arithmetic in enrol, remove and search.
    let g = gallery_in(50, Gallery::with_shards(3));
    let probe = ModelFinger::generate(SEED, 7).impression(1);
    assert_eq!(g.enrol(7, &probe), Err(GalleryError::Duplicate(7)));
    let postings = g.memory().postings;
    g.remove(7).unwrap();
    assert_eq!(g.remove(7), Err(GalleryError::Unknown(7)));
    assert!(g.memory().postings < postings);
    assert!(!g.contains(7) && g.len() == 49);
    let r = g.search(&probe, params()).unwrap();
    assert!(r.candidates.iter().all(|c| c.id != 7));
    assert!(g.search(&probe, pooled()).unwrap().candidates.iter().all(|c| c.id != 7));
    // The freed slot is reused under a new id, and the index finds the new entry there.
    g.enrol(9_000, &ModelFinger::generate(SEED, 7).impression(0)).unwrap();
    assert_eq!(g.memory().postings, postings);
    assert_eq!(g.search(&probe, params()).unwrap().candidates[0].id, 9_000);
    assert_eq!(g.search(&probe, pooled()).unwrap().candidates[0].id, 9_000);
}

#[test]
fn searches_run_while_enrolling() {
    let g = Arc::new(gallery(100));
    let writer = {
        let g = Arc::clone(&g);
        std::thread::spawn(move || {
            for f in 100..200 {
                g.enrol(f, &ModelFinger::generate(SEED, f).impression(0)).unwrap();
                if f % 3 == 0 {
                    g.remove(f - 100).unwrap();
                }
            }
        })
    };
    for f in 0..10 {
        let r = g.search(&ModelFinger::generate(SEED, 150 + f).impression(1), params()).unwrap();
        assert!((100..=200).contains(&r.gallery));
    }
    writer.join().unwrap();
    let removed = (100..200).filter(|f| f % 3 == 0).count();
    assert_eq!(g.len(), 200 - removed);
    let r = g.search(&ModelFinger::generate(SEED, 199).impression(1), params()).unwrap();
    assert_eq!(r.candidates[0].id, 199);
}

#[test]
fn bad_probe_is_an_error() {
    let g = gallery(5);
    let mut probe = ModelFinger::generate(SEED, 1).impression(1);
    probe.points.truncate(2);
    assert_eq!(g.search(&probe, params()), Err(TemplateError::TooFew(2)));
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("khil-identify-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("gallery.khg")
}

#[test]
fn file_round_trip() {
    let g = gallery(40);
    g.remove(5).unwrap();
    let path = temp_path("roundtrip");
    file::save(&g, &path).unwrap();
    let back = file::load(&path).unwrap();
    assert_eq!(back.templates(), g.templates());
    assert_eq!(back.memory().postings, g.memory().postings);
    let probe = ModelFinger::generate(SEED, 11).impression(1);
    assert_eq!(back.search(&probe, params()).unwrap(), g.search(&probe, params()).unwrap());
    assert_eq!(back.search(&probe, pooled()).unwrap(), g.search(&probe, pooled()).unwrap());
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

fn refusal(bytes: &[u8], name: &str) -> String {
    let path = temp_path(name);
    std::fs::write(&path, bytes).unwrap();
    let err = file::load(&path).unwrap_err();
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    let GalleryFileError::Corrupt { .. } = &err else { panic!("{err}") };
    let text = err.to_string();
    assert!(text.contains("gallery.khg"), "{text}");
    text
}

#[test]
fn corrupt_files_are_refused_whole() {
    let good = file::encode(&gallery(20).templates());
    assert!(refusal(&good[..good.len() - 1], "trunc").contains("truncated"));
    assert!(refusal(&good[..20], "short").contains("header"));
    let mut longer = good.clone();
    longer.push(0);
    assert!(refusal(&longer, "long").contains("trailing"));
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x10;
    assert!(refusal(&flipped, "flip").contains("checksum"));
    let mut count = good.clone();
    count[12] ^= 1;
    assert!(refusal(&count, "count").contains("checksum"));
    let mut version = good.clone();
    version[8] = 2;
    assert!(refusal(&version, "version").contains("version 2"));
    let mut magic = good;
    magic[0] = b'X';
    assert!(refusal(&magic, "magic").contains("magic"));
}

#[test]
fn missing_file_names_the_path() {
    let err = file::load(std::path::Path::new("/nonexistent/khil/g.khg")).unwrap_err();
    assert!(matches!(err, GalleryFileError::Io { .. }) && err.to_string().contains("/nonexistent/khil/g.khg"));
}

/// A well-formed file whose payload breaks a rule the checksum cannot catch (its writer was wrong).
fn resealed(mut bytes: Vec<u8>) -> Vec<u8> {
    let crc = crc::Crc::<u64>::new(&crc::CRC_64_XZ);
    let mut d = crc.digest();
    d.update(&bytes[..28]);
    d.update(&bytes[36..]);
    let sum = d.finalize();
    bytes[28..36].copy_from_slice(&sum.to_le_bytes());
    bytes
}

#[test]
fn checksummed_but_malformed_payload_is_refused() {
    let t = gallery(2).templates();
    let dup = vec![t[0].clone(), (t[0].0, t[1].1.clone())];
    assert!(file::decode(&file::encode(&dup)).unwrap_err().contains("twice"));
    let mut bytes = file::encode(&t);
    bytes[12] = 3; // count 3, payload 2
    assert!(file::decode(&resealed(bytes)).unwrap_err().contains("3 templates"));
    let mut bytes = file::encode(&t);
    bytes[36 + 9] |= 3; // kind bits 3: no kind
    assert!(file::decode(&resealed(bytes)).unwrap_err().contains("malformed"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = file::decode(&bytes);
    }

    #[test]
    fn decoder_never_panics_on_resealed_headers(
        count in 0u64..5, body in proptest::collection::vec(any::<u8>(), 0..300)
    ) {
        let mut bytes = file::MAGIC.to_vec();
        bytes.extend_from_slice(&file::VERSION.to_le_bytes());
        bytes.extend_from_slice(&count.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&[0; 8]);
        bytes.extend_from_slice(&body);
        let _ = file::decode(&resealed(bytes));
    }

    #[test]
    fn round_trip(
        entries in proptest::collection::vec(
            (any::<u64>(), proptest::collection::vec((0u32..2048, 0u32..2048, 0u32..256, 0u32..3), 4..40)),
            0..8,
        )
    ) {
        let mut seen = std::collections::HashSet::new();
        let templates: Vec<(u64, CompactTemplate)> = entries
            .into_iter()
            .filter(|(id, _)| seen.insert(*id))
            .map(|(id, pts)| {
                let words = pts.into_iter().map(|(x, y, a, k)| x << 21 | y << 10 | a << 2 | k).collect();
                (id, CompactTemplate::from_words(words).unwrap())
            })
            .collect();
        prop_assert_eq!(file::decode(&file::encode(&templates)).unwrap(), templates);
    }
}
