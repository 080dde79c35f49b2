//! Properties: no text panics the loader; no facts panic `decide`, and every verdict has reasons that agree
//! with its outcome.

mod rules_support;

use khil_clearance::rules::{
    ActionKind, Ban, BanMatch, Biometric, Chip, Companion, DeviceClass, DeviceStatus, Direction, Document,
    DocumentKind, Examination, Facts, HitClass, Outcome, Rules, Stay, Traveller, Visa, VisaKind, WatchlistSearch,
};
use khil_mrtd::mrz::CivilDate;
use proptest::prelude::*;
use rules_support::{rules, shipped_text};

/// Any day of years 1-9999.
fn date() -> impl Strategy<Value = CivilDate> {
    let first = CivilDate::new(1, 1, 1).unwrap().days_since_epoch();
    let last = CivilDate::new(9999, 12, 31).unwrap().days_since_epoch();
    // Mostly near today, sometimes anywhere (the calendar's ends included).
    prop_oneof![
        4 => 19_000i64..22_000,
        1 => first..=last,
        1 => prop_oneof![Just(first), Just(last)],
    ]
    .prop_map(|days| CivilDate::from_days_since_epoch(days).unwrap())
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![Just(Direction::Entry), Just(Direction::Exit)]
}

fn nationality() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["MNG", "CHN", "RUS", "KOR", "USA", "D", "FRA", "HKG", "PHL", "IND", "XXA"])
            .prop_map(str::to_owned),
        "[A-Z<]{0,4}",
        ".{0,6}",
    ]
}

fn companion() -> impl Strategy<Value = Companion> {
    prop_oneof![
        Just(Companion::None),
        (any::<bool>(), any::<bool>())
            .prop_map(|(same_surname, birth_certificate)| Companion::Parent { same_surname, birth_certificate }),
        any::<bool>().prop_map(|decree| Companion::Guardian { decree }),
        any::<bool>().prop_map(|power_of_attorney| Companion::OtherAdult { power_of_attorney }),
    ]
}

fn traveller() -> impl Strategy<Value = Traveller> {
    (any::<bool>(), nationality(), prop::option::of(date()), companion(), any::<bool>()).prop_map(
        |(citizen, nationality, date_of_birth, companion, destination_known)| Traveller {
            citizen,
            nationality,
            date_of_birth,
            companion,
            destination_known,
        },
    )
}

fn document() -> impl Strategy<Value = Document> {
    let examination = prop_oneof![
        Just(Examination::Genuine),
        Just(Examination::ForgedOrAltered),
        Just(Examination::UnableToExamine),
        Just(Examination::NotExamined),
    ];
    let chip = prop_oneof![
        Just(Chip::Authenticated),
        Just(Chip::Failed),
        Just(Chip::NotOpened),
        Just(Chip::NoChip),
        Just(Chip::NotRead),
    ];
    (prop::sample::select(DocumentKind::ALL.to_vec()), date(), examination, chip)
        .prop_map(|(kind, expiry, examination, chip)| Document { kind, expiry, examination, chip })
}

fn visa() -> impl Strategy<Value = Visa> {
    let kind = prop_oneof![
        Just(VisaKind::EVisa),
        Just(VisaKind::TransitEVisa),
        (prop::option::of(any::<u32>()), any::<u32>())
            .prop_map(|(entries, stay_days)| VisaKind::Consular { entries, stay_days }),
        Just(VisaKind::ResidencePermit),
    ];
    (kind, date(), date(), any::<u32>()).prop_map(|(kind, valid_from, valid_to, entries_used)| Visa {
        kind,
        valid_from,
        valid_to,
        entries_used,
    })
}

fn ban() -> impl Strategy<Value = Ban> {
    (direction(), prop_oneof![Just(BanMatch::Person), Just(BanMatch::Document)])
        .prop_map(|(direction, matched_by)| Ban { direction, matched_by })
}

fn watchlist() -> impl Strategy<Value = Option<WatchlistSearch>> {
    let hit =
        prop_oneof![Just(HitClass::Wanted), Just(HitClass::TraffickingSuspect), Just(HitClass::LostStolenDocument)];
    prop::option::of(
        (".{0,8}", prop::collection::vec(hit, 0..4))
            .prop_map(|(list_version, hits)| WatchlistSearch { list_version, hits }),
    )
}

fn biometric() -> impl Strategy<Value = Biometric> {
    prop_oneof![
        Just(Biometric::Match),
        any::<u32>().prop_map(|attempts| Biometric::NoMatch { attempts }),
        Just(Biometric::NotPossible),
        Just(Biometric::NotPerformed),
    ]
}

fn devices() -> impl Strategy<Value = Vec<DeviceStatus>> {
    let device = (prop::sample::select(DeviceClass::ALL.to_vec()), any::<bool>(), any::<bool>())
        .prop_map(|(class, up, fallback_available)| DeviceStatus { class, up, fallback_available });
    prop::collection::vec(device, 0..6)
}

fn facts() -> impl Strategy<Value = Facts> {
    (
        direction(),
        traveller(),
        document(),
        prop::option::of(visa()),
        prop::option::of((date(), any::<bool>()).prop_map(|(entry_date, registered)| Stay { entry_date, registered })),
        prop::collection::vec(ban(), 0..3),
        watchlist(),
        biometric(),
        devices(),
    )
        .prop_map(|(direction, traveller, document, visa, stay, bans, watchlist, biometric, devices)| Facts {
            direction,
            traveller,
            document,
            visa,
            stay,
            bans,
            watchlist,
            biometric,
            devices,
        })
}

/// The shipped file with one line removed, replaced, duplicated or a piece of it garbled.
fn mutated_shipped() -> impl Strategy<Value = String> {
    let text = shipped_text();
    let lines = text.lines().count();
    (0..lines, 0..4u8, ".{0,12}", any::<prop::sample::Index>()).prop_map(move |(line, how, junk, at)| {
        let mut out: Vec<String> = text.lines().map(str::to_owned).collect();
        match how {
            0 => {
                out.remove(line);
            }
            1 => out[line] = junk,
            2 => out.insert(line, out[line].clone()),
            _ => {
                let chars: Vec<char> = out[line].chars().collect();
                if !chars.is_empty() {
                    let i = at.index(chars.len());
                    out[line] = chars[..i]
                        .iter()
                        .chain(junk.chars().collect::<Vec<_>>().iter())
                        .chain(&chars[i + 1..])
                        .collect();
                }
            }
        }
        out.join("\n")
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_text_is_loaded_or_refused_without_panicking(text in prop_oneof![".{0,200}", "[a-z_\\[\\]=\"{},. 0-9\n-]{0,200}"]) {
        if let Err(error) = Rules::parse("any.toml", &text) {
            prop_assert!(!error.field.is_empty() && !error.problem.is_empty());
            prop_assert!(error.line >= 1 && error.column >= 1);
        }
    }

    #[test]
    fn a_damaged_rule_file_is_refused_or_decides(text in mutated_shipped(), facts in facts(), today in date()) {
        match Rules::parse("damaged.toml", &text) {
            Ok(rules) => prop_assert!(!rules.decide(&facts, today).reasons.is_empty()),
            Err(error) => {
                prop_assert!(error.line >= 1 && error.line as usize <= text.lines().count() + 1, "{error}");
                prop_assert!(!error.field.is_empty() && !error.problem.is_empty(), "{error}");
            }
        }
    }

    #[test]
    fn any_facts_give_a_verdict_whose_outcome_follows_its_reasons(facts in facts(), today in date()) {
        let rules = rules();
        let verdict = rules.decide(&facts, today);
        prop_assert!(!verdict.reasons.is_empty());
        prop_assert_eq!(verdict.rules_version.as_str(), rules.version());
        prop_assert_eq!(verdict.watchlist_version.clone(), facts.watchlist.as_ref().map(|w| w.list_version.clone()));
        prop_assert!(verdict.reasons.iter().all(|r| r.line >= 1 && !r.text.is_empty() && !r.rule.is_empty()));
        let acting: Vec<_> = verdict.fired().filter_map(|r| r.fired).filter(|a| a.kind != ActionKind::Release).collect();
        let worst = acting.iter().map(|a| a.kind).max();
        let priority = acting.iter().map(|a| a.priority).max();
        let expected = match (worst, priority) {
            (None | Some(ActionKind::Release), _) => Outcome::Release,
            (Some(ActionKind::Refer), Some(priority)) => Outcome::Refer { priority },
            (Some(ActionKind::Refuse), Some(priority)) => Outcome::Refuse { priority },
            (Some(ActionKind::Detain), Some(priority)) => Outcome::Detain { priority },
            (Some(_), None) => unreachable!("an action has a priority"),
        };
        prop_assert_eq!(verdict.outcome, expected);
        prop_assert_eq!(verdict.seize_document, acting.iter().any(|a| a.seize_document));
        // The document's findings are always there, so even a release says why.
        prop_assert!(verdict.reasons.iter().any(|r| r.rule.starts_with("document.")));
    }
}
