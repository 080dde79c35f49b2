//! The point's uploads to the central PostgreSQL during a scenario (ci/test's cluster, a database of its own): an
//! outage of the link queues records at the point; once it is back every record reaches the centre once, with the
//! point's hashes; a second run of the same day doubles nothing; a centre holding other records for the point is
//! refused and the expectation fails, naming why.

mod common;

use common::{scenarios_dir, today};
use khil_clearance::records::RecordStore;
use khil_scenario::run::{RunOptions, STORE_FILE, run_blocking};
use khil_scenario::{RunResult, Scenario};
use khil_test_support::central::{TestDb, central_url};

/// A short day at one gate; the link is down from 09:20 to 10:00.
fn outage(seed: u64) -> Scenario {
    let text = format!(
        r#"name = "outage"
description = "a short day with the central link down in its middle"
seed = {seed}
rules = "rules/mongolia.toml"
gates = 1

[point]
name = "altanbulag"
direction = "entry"
upload_every_minutes = 5

[arrivals]
profile = "altanbulag"
share = 0.2
from = "09:00"
until = "10:30"
limit = 12

[[incident]]
kind = "central-down"
from = "09:20"
until = "10:00"

[expect]
records_verify = true
central_uploaded = true
"#
    );
    khil_scenario::file::parse("outage.toml (test)", &scenarios_dir(), &text).unwrap_or_else(|e| panic!("{e}"))
}

fn run(scenario: &Scenario, out: &std::path::Path, central: &str) -> RunResult {
    let options = RunOptions { out: out.to_path_buf(), today: today(), progress: None, central: Some(central.into()) };
    let (mut result, _) = run_blocking(scenario, &options).unwrap_or_else(|e| panic!("{e}"));
    khil_scenario::expect::check(scenario, &mut result);
    result
}

/// (seq, sha256) of every record the centre holds for `point`, in order.
fn centre_rows(url: &str, point: &str) -> Vec<(u64, Vec<u8>)> {
    let (url, point) = (url.to_owned(), point.to_owned());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(conn);
            let rows = client
                .query("SELECT seq, sha256 FROM khil_crossings WHERE point = $1 ORDER BY seq", &[&point])
                .await
                .unwrap();
            rows.iter().map(|r| (r.get::<_, i64>(0) as u64, r.get::<_, Vec<u8>>(1))).collect()
        })
    })
    .join()
    .unwrap()
}

#[test]
fn an_outage_queues_records_at_the_point_and_every_one_reaches_the_centre_once() {
    let Some(admin) = central_url() else { return };
    let db = TestDb::create(&admin);
    let dir = khil_test_support::temp_dir("scenario-central");
    let (down, up) = (9.0 * 3600.0 + 20.0 * 60.0, 10.0 * 3600.0);

    let first = run(&outage(21), &dir.path().join("first"), &db.url);
    let failures = khil_scenario::expect::failures(&first);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let c = first.records.central.as_ref().expect("a run with a centre summarises its uploads");
    let committed = first.records.committed;
    assert!(committed >= 10, "{committed} records");
    assert_eq!((c.uploaded, c.centre_count, first.records.pending_upload), (committed, Some(committed), 0));
    // Rounds every 5 minutes: the eight of the 40-minute outage fail (the one at 09:20 may run either side of
    // the cut), the rest succeed and leave nothing waiting.
    assert!((7..=9).contains(&c.failed_rounds), "{} failed rounds of {}", c.failed_rounds, c.rounds);
    for b in &c.backlog {
        if b.at < down || b.at > up + 1.0 {
            assert_eq!(b.length, 0, "records waiting at {} with the link up", b.at);
        }
    }
    let most = c.backlog.iter().filter(|b| b.at > down && b.at <= up).map(|b| b.length).max().unwrap_or(0);
    assert!(most > 0, "no record waited during the outage: {:?}", c.backlog);
    assert!(c.last_error.is_some(), "the outage's failures are said");

    // The centre holds the point's records, each once, with the point's hashes.
    let store = RecordStore::open_existing(&dir.path().join("first").join(STORE_FILE)).unwrap();
    let local: Vec<(u64, Vec<u8>)> =
        store.records_after(0, usize::MAX >> 1).unwrap().into_iter().map(|r| (r.seq, r.sha256.to_vec())).collect();
    assert_eq!(centre_rows(&db.url, "altanbulag"), local);
    drop(store);

    // The same day again (same seed, same day: the same records): the centre already has each, doubles none.
    let again = run(&outage(21), &dir.path().join("again"), &db.url);
    let failures = khil_scenario::expect::failures(&again);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(again.records.central.as_ref().unwrap().uploaded, 0, "a rerun inserted records");
    assert_eq!(centre_rows(&db.url, "altanbulag"), local);

    // Another day at the same point: the centre holds other records under the same seqs and refuses them.
    let other = run(&outage(22), &dir.path().join("other"), &db.url);
    let failed: Vec<_> = other.expectations.iter().filter(|e| !e.passed).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].what, "central_uploaded");
    assert!(failed[0].actual.contains("other content"), "{}", failed[0].actual);
    assert!(other.records.pending_upload > 0);
    assert_eq!(centre_rows(&db.url, "altanbulag"), local, "the centre kept what it had");
}

#[test]
fn without_a_centre_the_expectation_fails_saying_so() {
    let dir = khil_test_support::temp_dir("scenario-no-central");
    let scenario = outage(21);
    let options = RunOptions { out: dir.path().to_path_buf(), today: today(), progress: None, central: None };
    let (mut result, _) = run_blocking(&scenario, &options).unwrap();
    khil_scenario::expect::check(&scenario, &mut result);
    assert!(result.records.central.is_none());
    assert_eq!(result.records.pending_upload, result.records.committed);
    let e = result.expectations.iter().find(|e| e.what == "central_uploaded").unwrap();
    assert!(!e.passed && e.actual.contains("--central"), "{e:?}");
}

/// The centre publishes a new rule file and a new watchlist in the middle of the day (`rules-update` and
/// `watchlist-update` incidents): the point pulls them with its next upload round and decides by them from then
/// on, every record stamped with the versions it was decided by; a person the new list names is released before
/// it arrives and referred after. A broken rule file published at the centre before the day is pulled first and
/// refused whole: the point keeps deciding by its own rules.
#[test]
fn updates_from_the_centre_are_in_force_from_the_next_round_and_a_broken_one_is_refused() {
    let Some(admin) = central_url() else { return };
    let db = TestDb::create(&admin);
    let dir = khil_test_support::temp_dir("scenario-rules-update");
    let shipped = std::fs::read_to_string(scenarios_dir().join("rules/mongolia.toml")).unwrap();
    let old = khil_clearance::rules::Rules::parse("shipped", &shipped).unwrap().version().to_owned();
    let new = format!("{old}-update");
    let updated = dir.path().join("updated.toml");
    std::fs::write(&updated, shipped.replacen(&format!("\"{old}\""), &format!("\"{new}\""), 1)).unwrap();
    assert_ne!(std::fs::read_to_string(&updated).unwrap(), shipped, "the version line was found");

    // A broken version already at the centre.
    let broken = khil_clearance::records::Version {
        kind: khil_clearance::records::VersionKind::Rules,
        version: "broken-1".into(),
        body: b"version = \"broken-1\"\n[visa\n".to_vec(),
    };
    let url = db.url.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let centre = khil_clearance::central::Central::connect(&url).await.unwrap();
            centre.publish(&broken).await.unwrap();
        });
    })
    .join()
    .unwrap();

    let text = format!(
        r#"name = "rules-update"
description = "new rules from the centre in the middle of the day"
seed = 5
rules = "rules/mongolia.toml"
gates = 1

[point]
name = "airport"
direction = "entry"
upload_every_minutes = 5

[arrivals]
profile = "airport"
share = 0.3
from = "09:00"
until = "10:00"
limit = 24

[[incident]]
kind = "rules-update"
at = "09:07"
rules = "{}"

[[incident]]
kind = "watchlist-update"
at = "09:07"
add = ["early-wanted", "late-wanted"]

[[traveller]]
label = "early-wanted"
at = "09:01"
papers = "adult-citizen"
watchlisted = "wanted"
expect = "release"

[[traveller]]
label = "late-wanted"
at = "09:25"
papers = "adult-citizen"
watchlisted = "wanted"
expect = "refer"
reasons = ["watchlist.wanted"]

[expect]
records_verify = true
central_uploaded = true
"#,
        updated.display()
    );
    let scenario = khil_scenario::file::parse("rules-update.toml (test)", &scenarios_dir(), &text).unwrap();
    let result = run(&scenario, &dir.path().join("run"), &db.url);
    let failures = khil_scenario::expect::failures(&result);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let said: Vec<(f64, &str)> = result.incidents.iter().map(|i| (i.at, i.what.as_str())).collect();
    let when = |what: &str| {
        said.iter().find(|(_, w)| w.contains(what)).unwrap_or_else(|| panic!("no {what:?} in {said:#?}")).0
    };
    assert!(when("rules broken-1 from the centre refused, the rules in force stay") < 9.0 * 3600.0 + 6.0 * 60.0);
    let published = when(&format!("rules {new} published at the centre"));
    let in_force = when(&format!("rules {new} from the centre in force"));
    assert!(published <= in_force && in_force <= published + 5.0 * 60.0 + 1.0, "{said:#?}");

    // Every record carries the version it was decided by: the shipped rules', then the update's.
    let store = RecordStore::open_existing(&dir.path().join("run").join(STORE_FILE)).unwrap();
    let versions: Vec<String> =
        store.records_after(0, usize::MAX >> 1).unwrap().into_iter().map(|r| r.record.decision.rules_version).collect();
    let switch = versions.iter().position(|v| *v == new).unwrap_or_else(|| panic!("{versions:?} {said:?}"));
    assert!(switch > 0, "decided by the shipped rules first: {versions:?}");
    assert!(
        versions[..switch].iter().all(|v| *v == old) && versions[switch..].iter().all(|v| *v == new),
        "{versions:?}"
    );

    // The watchlist: the same switch, the update's version on every record after it.
    let list = "rules-update-watchlist-5";
    let listed = format!("{list}-update-1");
    assert!(when(&format!("watchlist {listed} from the centre in force (2 entries)")) <= in_force + 1.0, "{said:#?}");
    // (A traveller whose finger could not be searched has no list version: nothing was searched.)
    let lists: Vec<String> = store
        .records_after(0, usize::MAX >> 1)
        .unwrap()
        .into_iter()
        .map(|r| r.record.decision.watchlist_version)
        .filter(|v| !v.is_empty())
        .collect();
    let switch = lists.iter().position(|v| *v == listed).unwrap_or_else(|| panic!("{lists:?}"));
    assert!(lists[..switch].iter().all(|v| v == list) && lists[switch..].iter().all(|v| *v == listed), "{lists:?}");
}
