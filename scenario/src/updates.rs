//! What the centre sends a border point during a run, and the point puts in force: rule files and watchlists.
//!
//! A `rules-update` or `watchlist-update` incident is the centre's side: it publishes a new version at the central
//! database ([`crate::central::CentralLink::publish`]). The point's side is every upload round: it pulls the
//! versions new to it (audited in its store) and [`InForce::pulled`] puts each in force, a rule file through
//! [`DecisionInForce`], a watchlist through [`WatchlistInForce`]; one that does not parse is refused whole and
//! what the point has stays. Every decision is stamped with the rules' and the searched list's versions
//! (`Verdict`, in each record).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use khil_clearance::flow::{DecisionInForce, PointContext, RulesDecision};
use khil_clearance::records::{Version, VersionKind};
use khil_clearance::rules::{self, Rules};
use khil_clearance::watchlist::{WatchlistEntry, WatchlistFile, WatchlistInForce};

use crate::central::CentralLink;
use crate::registry::{self, WATCHLIST_IMPRESSION};

/// Calibrated score at which a watchlist search hits: a false match rate of 1 in a million per comparison.
pub fn watchlist_threshold() -> f32 {
    khil_biometrics::matcher::threshold_for(1e-6)
}

/// The rules the point decides by and the watchlist its gates search: the scenario's at the start, newer
/// versions as they arrive from the centre.
pub struct InForce<C> {
    pub decision: Arc<DecisionInForce>,
    pub watchlist: Arc<WatchlistInForce>,
    direction: rules::Direction,
    first_watchlist_version: String,
    context: Arc<C>,
    /// The watchlist as last published at the centre by this run (updates add to it).
    published: Mutex<WatchlistFile>,
    /// Fingers that updates list: crafted travellers' labels -> (population finger id, class).
    later: HashMap<String, (u64, String)>,
    fingers: Arc<khil_sim_population::Fingers>,
}

impl<C> std::fmt::Debug for InForce<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InForce").finish_non_exhaustive()
    }
}

impl<C: PointContext + 'static> InForce<C> {
    /// `list` is the point's watchlist at the start; `later` the fingers updates will list.
    pub fn new(
        rules: Rules,
        direction: rules::Direction,
        list: WatchlistFile,
        context: C,
        later: HashMap<String, (u64, String)>,
        fingers: Arc<khil_sim_population::Fingers>,
    ) -> InForce<C> {
        let context = Arc::new(context);
        let first_watchlist_version = list.version.clone();
        let decision = Arc::new(DecisionInForce::new(Arc::new(RulesDecision {
            rules,
            direction,
            state: "MNG".into(),
            watchlist_version: first_watchlist_version.clone(),
            context: Arc::clone(&context),
        })));
        let watchlist = Arc::new(WatchlistInForce::new(list.searchable(watchlist_threshold())));
        InForce {
            decision,
            watchlist,
            direction,
            first_watchlist_version,
            context,
            published: Mutex::new(list),
            later,
            fingers,
        }
    }

    /// Puts a version pulled from the centre in force if it parses (a broken one is refused whole and what the
    /// point has stays); says what happened, for the incident log.
    pub fn pulled(&self, version: &Version) -> String {
        let what = format!("{} {} from the centre", version.kind.name(), version.version);
        let text = match std::str::from_utf8(&version.body) {
            Ok(text) => text,
            Err(e) => return format!("{what} refused, not UTF-8 text ({e}): what is in force stays"),
        };
        match version.kind {
            VersionKind::Rules => match Rules::parse(&what, text) {
                Ok(rules) => {
                    let in_force = rules.version().to_owned();
                    self.decision.replace(Arc::new(RulesDecision {
                        rules,
                        direction: self.direction,
                        state: "MNG".into(),
                        // A search names its own list; this is only for one that does not.
                        watchlist_version: self.first_watchlist_version.clone(),
                        context: Arc::clone(&self.context),
                    }));
                    format!("rules {in_force} from the centre in force")
                }
                Err(e) => format!("{what} refused, the rules in force stay: {e}"),
            },
            VersionKind::Watchlist => match WatchlistFile::parse(&what, text) {
                Ok(list) => {
                    let said =
                        format!("watchlist {} from the centre in force ({} entries)", list.version, list.entries.len());
                    self.watchlist.replace(list.searchable(watchlist_threshold()));
                    said
                }
                Err(e) => format!("{what} refused, the watchlist in force stays: {e}"),
            },
        }
    }

    /// The centre publishes the rule file at `path` (a `rules-update` incident); what happened, in words.
    pub fn publish_rules(&self, central: Option<&CentralLink>, path: &Path) -> String {
        let Some(link) = central else {
            return "rules update: no central database in this run to publish it (the point keeps its rules)".into();
        };
        let body = match std::fs::read(path) {
            Ok(body) => body,
            Err(e) => return format!("rules update: {} cannot be read: {e}", path.display()),
        };
        let version = std::str::from_utf8(&body)
            .ok()
            .and_then(|text| Rules::parse(&path.display().to_string(), text).ok())
            .map_or_else(|| "unparsed".to_owned(), |r| r.version().to_owned());
        let published = Version { kind: VersionKind::Rules, version: version.clone(), body };
        match khil_sim_host::account::measure("central upload", || link.publish(published)) {
            Ok(()) => format!("rules {version} published at the centre"),
            Err(e) => format!("rules update: {version} could not be published at the centre: {e}"),
        }
    }

    /// The centre publishes the point's watchlist with the fingers of the crafted travellers `add` listed too (a
    /// `watchlist-update` incident); what happened, in words.
    pub fn publish_watchlist(&self, central: Option<&CentralLink>, add: &[String]) -> String {
        let Some(link) = central else {
            return "watchlist update: no central database in this run to publish it (the point keeps its list)".into();
        };
        let mut list = self.published.lock().unwrap_or_else(PoisonError::into_inner).clone();
        for label in add {
            let Some((id, class)) = self.later.get(label) else {
                return format!("watchlist update: no finger is known for traveller {label:?}");
            };
            let template = registry::template(&self.fingers, *id, WATCHLIST_IMPRESSION);
            list.entries.push(WatchlistEntry { id: format!("{class}-{label}"), class: class.clone(), template });
        }
        list.version = next_version(&list.version);
        let published =
            Version { kind: VersionKind::Watchlist, version: list.version.clone(), body: list.to_toml().into_bytes() };
        match khil_sim_host::account::measure("central upload", || link.publish(published)) {
            Ok(()) => {
                let said =
                    format!("watchlist {} published at the centre ({} entries)", list.version, list.entries.len());
                *self.published.lock().unwrap_or_else(PoisonError::into_inner) = list;
                said
            }
            Err(e) => format!("watchlist update: {} could not be published at the centre: {e}", list.version),
        }
    }
}

/// `list` -> `list-update-1` -> `list-update-2`: the next version of a list.
fn next_version(version: &str) -> String {
    if let Some((base, n)) = version.rsplit_once("-update-")
        && let Ok(n) = n.parse::<u32>()
    {
        return format!("{base}-update-{}", n + 1);
    }
    format!("{version}-update-1")
}

#[cfg(test)]
mod tests {
    use super::next_version;

    #[test]
    fn versions_count_up() {
        assert_eq!(next_version("demo-watchlist-15"), "demo-watchlist-15-update-1");
        assert_eq!(next_version("demo-watchlist-15-update-1"), "demo-watchlist-15-update-2");
    }
}
