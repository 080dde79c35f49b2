//! `Rules::decide` on the shipped defaults: each rule shown to fire and shown not to fire, and how findings
//! combine into the verdict.

mod rules_support;

use khil_clearance::rules::{
    ActionKind, Ban, BanMatch, Biometric, Chip, Companion, DeviceClass, Direction, DocumentKind, Examination, Facts,
    HitClass, Outcome, Priority, Rules, Stay, Verdict, Visa, VisaKind,
};
use rules_support::{citizen, day, fired, foreigner, line_of, passed, rules, shipped_text, today};

fn decide(facts: &Facts) -> Verdict {
    rules().decide(facts, today())
}

/// Asserts that exactly `expected` fired.
fn assert_fired(verdict: &Verdict, expected: &[&str]) {
    assert_eq!(fired(verdict), expected, "reasons: {:#?}", verdict.reasons);
}

// The verdict as a whole.

#[test]
fn a_citizen_in_order_is_released_with_the_rules_that_passed() {
    for direction in [Direction::Entry, Direction::Exit] {
        let verdict = decide(&citizen(direction));
        assert_eq!(verdict.outcome, Outcome::Release);
        assert!(!verdict.seize_document);
        assert_fired(&verdict, &[]);
        for rule in [
            "document.not_accepted",
            "document.expired",
            "document.forged_or_altered",
            "document.chip_failed",
            "watchlist.wanted",
            "biometric.no_match",
            "degraded.fingerprint_scanner.no_fallback",
        ] {
            assert!(passed(&verdict, rule), "{rule} passed: {:#?}", verdict.reasons);
        }
        assert_eq!(verdict.rules_version, "mongolia-2026.12-1");
        assert_eq!(verdict.watchlist_version.as_deref(), Some("wl-42"));
        assert!(verdict.reasons.iter().all(|r| r.line > 0 && !r.text.is_empty()));
    }
}

#[test]
fn the_most_severe_action_and_highest_priority_win() {
    let mut facts = citizen(Direction::Exit);
    facts.biometric = Biometric::NotPossible; // refer, routine
    facts.watchlist.as_mut().unwrap().hits = vec![HitClass::TraffickingSuspect]; // refer, urgent
    assert_eq!(decide(&facts).outcome, Outcome::Refer { priority: Priority::Urgent });
    facts.bans.push(Ban { direction: Direction::Exit, matched_by: BanMatch::Person }); // refuse, urgent
    assert_eq!(decide(&facts).outcome, Outcome::Refuse { priority: Priority::Urgent });
    facts.watchlist.as_mut().unwrap().hits.push(HitClass::Wanted); // detain, immediate
    let verdict = decide(&facts);
    assert_eq!(verdict.outcome, Outcome::Detain { priority: Priority::Immediate });
    assert_fired(
        &verdict,
        &["bans.exit", "watchlist.wanted", "watchlist.trafficking_suspect", "biometric.not_possible"],
    );
}

#[test]
fn a_rule_set_to_release_is_recorded_but_does_not_refer() {
    let text = shipped_text().replacen(
        "no_chip = { action = \"refer\", priority = \"routine\" }",
        "no_chip = { action = \"release\" }",
        1,
    );
    let rules = Rules::parse("release.toml", &text).unwrap();
    let mut facts = citizen(Direction::Entry);
    facts.document.chip = Chip::NoChip;
    let verdict = rules.decide(&facts, today());
    assert_eq!(verdict.outcome, Outcome::Release);
    let reason = verdict.fired().next().expect("no_chip fired");
    assert_eq!((reason.rule.as_str(), reason.fired.unwrap().kind), ("document.no_chip", ActionKind::Release));
}

#[test]
fn texts_carry_no_personal_data() {
    let mut facts = foreigner("USA", Direction::Exit);
    facts.traveller.date_of_birth = Some(day(2012, 7, 9));
    facts.stay = Some(Stay { entry_date: day(2026, 1, 2), registered: false });
    let verdict = decide(&facts);
    for reason in &verdict.reasons {
        for personal in ["USA", "2012", "07-09", "2026-01-02", "2030"] {
            assert!(!reason.text.contains(personal), "{personal} in {:?}", reason.text);
        }
    }
    let debug = format!("{facts:?}");
    assert!(!debug.contains("USA") && !debug.contains("2012"), "{debug}");
}

// document.*

#[test]
fn document_kind_not_accepted() {
    let mut facts = citizen(Direction::Exit);
    facts.document.kind = DocumentKind::IdCard;
    let verdict = decide(&facts);
    assert_fired(&verdict, &["document.not_accepted"]);
    assert_eq!(verdict.outcome, Outcome::Refer { priority: Priority::Routine });
    facts.document.kind = DocumentKind::DiplomaticPassport;
    assert_fired(&decide(&facts), &[]);
}

#[test]
fn document_expired_yesterday_fires_expiring_today_does_not() {
    let mut facts = citizen(Direction::Exit);
    facts.document.expiry = day(2026, 6, 14);
    let verdict = decide(&facts);
    assert_fired(&verdict, &["document.expired"]);
    assert_eq!(verdict.reasons.iter().find(|r| r.rule == "document.expired").unwrap().line, line_of("expired ="));
    facts.document.expiry = today();
    assert_fired(&decide(&facts), &[]);
}

#[test]
fn remaining_validity_six_months_for_foreigners_entering() {
    let mut facts = foreigner("USA", Direction::Entry);
    facts.document.expiry = day(2026, 12, 14);
    assert_fired(&decide(&facts), &["document.remaining_validity"]);
    facts.document.expiry = day(2026, 12, 15);
    let verdict = decide(&facts);
    assert_fired(&verdict, &[]);
    assert!(passed(&verdict, "document.remaining_validity"));
    // Not asked of citizens, nor of anyone leaving.
    facts.document.expiry = day(2026, 7, 1);
    let mut citizen = citizen(Direction::Entry);
    citizen.document.expiry = day(2026, 7, 1);
    assert_fired(&decide(&citizen), &[]);
    facts.direction = Direction::Exit;
    facts.stay = Some(Stay { entry_date: day(2026, 6, 1), registered: false });
    assert_fired(&decide(&facts), &[]);
}

#[test]
fn remaining_validity_clamps_to_the_end_of_a_short_month() {
    // 31 August plus six months is the last day of February.
    let rules = rules();
    let mut facts = foreigner("USA", Direction::Entry);
    facts.document.expiry = day(2027, 2, 28);
    assert_fired(&rules.decide(&facts, day(2026, 8, 31)), &[]);
    facts.document.expiry = day(2027, 2, 27);
    assert_fired(&rules.decide(&facts, day(2026, 8, 31)), &["document.remaining_validity"]);
}

#[test]
fn forged_or_altered_refers_urgently_and_seizes() {
    let mut facts = citizen(Direction::Entry);
    facts.document.examination = Examination::ForgedOrAltered;
    let verdict = decide(&facts);
    assert_fired(&verdict, &["document.forged_or_altered"]);
    assert_eq!(verdict.outcome, Outcome::Refer { priority: Priority::Urgent });
    assert!(verdict.seize_document);
}

#[test]
fn examination_unable_or_not_made() {
    let mut facts = citizen(Direction::Entry);
    facts.document.examination = Examination::UnableToExamine;
    assert_fired(&decide(&facts), &["document.unable_to_examine"]);
    facts.document.examination = Examination::NotExamined;
    assert_fired(&decide(&facts), &["document.not_examined"]);
}

#[test]
fn chip_outcomes() {
    let mut facts = citizen(Direction::Entry);
    for (chip, rule) in [
        (Chip::Failed, "document.chip_failed"),
        (Chip::NotOpened, "document.chip_not_opened"),
        (Chip::NoChip, "document.no_chip"),
        (Chip::NotRead, "document.chip_not_read"),
    ] {
        facts.document.chip = chip;
        let verdict = decide(&facts);
        assert_fired(&verdict, &[rule]);
        assert!(!verdict.seize_document);
    }
    facts.document.chip = Chip::Authenticated;
    assert!(passed(&decide(&facts), "document.chip_failed"));
}

// bans.*

#[test]
fn entry_ban_fires_on_entry_only() {
    let mut facts = foreigner("RUS", Direction::Entry);
    facts.bans.push(Ban { direction: Direction::Entry, matched_by: BanMatch::Document });
    let verdict = decide(&facts);
    assert_fired(&verdict, &["bans.entry"]);
    assert_eq!(verdict.outcome, Outcome::Refuse { priority: Priority::Urgent });
    assert!(verdict.fired().next().unwrap().text.contains("the document"));
    facts.bans[0].direction = Direction::Exit;
    let verdict = decide(&facts);
    assert_fired(&verdict, &[]);
    assert!(passed(&verdict, "bans.entry"));
}

#[test]
fn exit_ban_fires_on_exit() {
    let mut facts = citizen(Direction::Exit);
    facts.bans.push(Ban { direction: Direction::Exit, matched_by: BanMatch::Person });
    assert_fired(&decide(&facts), &["bans.exit"]);
    facts.direction = Direction::Entry;
    assert_fired(&decide(&facts), &[]);
}

// watchlist.*

#[test]
fn watchlist_hit_classes() {
    let mut facts = citizen(Direction::Entry);
    for (class, rule, outcome, seize) in [
        (HitClass::Wanted, "watchlist.wanted", Outcome::Detain { priority: Priority::Immediate }, false),
        (
            HitClass::TraffickingSuspect,
            "watchlist.trafficking_suspect",
            Outcome::Refer { priority: Priority::Urgent },
            false,
        ),
        (
            HitClass::LostStolenDocument,
            "watchlist.lost_stolen_document",
            Outcome::Refer { priority: Priority::Urgent },
            true,
        ),
    ] {
        facts.watchlist.as_mut().unwrap().hits = vec![class];
        let verdict = decide(&facts);
        assert_fired(&verdict, &[rule]);
        assert_eq!((verdict.outcome, verdict.seize_document), (outcome, seize));
        assert!(verdict.fired().next().unwrap().text.contains("wl-42"), "names the list version");
    }
}

#[test]
fn watchlist_not_searched_refers() {
    let mut facts = citizen(Direction::Entry);
    facts.watchlist = None;
    let verdict = decide(&facts);
    assert_fired(&verdict, &["watchlist.not_searched"]);
    assert_eq!(verdict.watchlist_version, None);
}

// biometric.*

#[test]
fn biometric_outcomes() {
    let mut facts = citizen(Direction::Entry);
    facts.biometric = Biometric::NoMatch { attempts: 3 };
    let verdict = decide(&facts);
    assert_fired(&verdict, &["biometric.no_match"]);
    assert!(verdict.fired().next().unwrap().text.contains("after 3 captures (3 configured)"));
    facts.biometric = Biometric::NotPossible;
    assert_fired(&decide(&facts), &["biometric.not_possible"]);
    facts.biometric = Biometric::NotPerformed;
    assert_fired(&decide(&facts), &["biometric.not_performed"]);
}

// visa.*

#[test]
fn exempt_nationalities_pass_with_their_list() {
    for (nationality, list, days) in [
        ("USA", "visa.exempt[0]", 90),
        ("D", "visa.exempt[1]", 30),
        ("PHL", "visa.exempt[2]", 21),
        ("HKG", "visa.exempt[3]", 14),
    ] {
        let verdict = decide(&foreigner(nationality, Direction::Entry));
        assert_fired(&verdict, &[]);
        let reason = verdict.reasons.iter().find(|r| r.rule == list).expect("the exemption's reason");
        assert!(reason.text.contains(&format!("{days} days")), "{reason:?}");
        assert!(reason.line > 0);
    }
}

#[test]
fn waiver_applies_until_its_last_day() {
    let rules = rules();
    let facts = foreigner("FRA", Direction::Entry);
    let verdict = rules.decide(&facts, day(2026, 12, 31));
    assert_fired(&verdict, &[]);
    assert!(passed(&verdict, "visa.waiver"));
    let verdict = rules.decide(
        &Facts {
            document: {
                let mut d = facts.document.clone();
                d.expiry = day(2035, 1, 1);
                d
            },
            ..facts
        },
        day(2027, 1, 1),
    );
    assert_fired(&verdict, &["visa.required"]);
}

#[test]
fn visa_required_without_one() {
    let verdict = decide(&foreigner("CHN", Direction::Entry));
    assert_fired(&verdict, &["visa.required"]);
    assert_eq!(verdict.outcome, Outcome::Refer { priority: Priority::Routine });
}

fn e_visa(from: (u16, u8, u8), to: (u16, u8, u8), entries_used: u32) -> Visa {
    Visa {
        kind: VisaKind::EVisa,
        valid_from: day(from.0, from.1, from.2),
        valid_to: day(to.0, to.1, to.2),
        entries_used,
    }
}

#[test]
fn e_visa_valid_single_entry() {
    let mut facts = foreigner("CHN", Direction::Entry);
    facts.visa = Some(e_visa((2026, 6, 1), (2026, 10, 28), 0));
    let verdict = decide(&facts);
    assert_fired(&verdict, &[]);
    assert!(passed(&verdict, "visa.invalid"));
    facts.visa = Some(e_visa((2026, 6, 1), (2026, 10, 28), 1));
    let verdict = decide(&facts);
    assert_fired(&verdict, &["visa.invalid"]);
    assert!(verdict.fired().next().unwrap().text.contains("entries used (1 of 1)"));
}

#[test]
fn e_visa_validity_is_capped_at_150_days() {
    let rules = rules();
    let mut facts = foreigner("IND", Direction::Entry);
    facts.document.expiry = day(2035, 1, 1);
    // Issued with an end date beyond what the rules allow: the 150th day is the last.
    facts.visa = Some(e_visa((2026, 1, 1), (2026, 12, 31), 0));
    assert_fired(&rules.decide(&facts, day(2026, 5, 30)), &[]);
    let verdict = rules.decide(&facts, day(2026, 5, 31));
    assert_fired(&verdict, &["visa.invalid"]);
    assert!(verdict.fired().next().unwrap().text.contains("no longer valid"));
}

#[test]
fn visa_not_yet_valid_or_inconsistent() {
    let mut facts = foreigner("CHN", Direction::Entry);
    facts.visa = Some(e_visa((2026, 6, 16), (2026, 10, 28), 0));
    assert!(decide(&facts).fired().any(|r| r.text.contains("not yet valid")));
    facts.visa = Some(e_visa((2026, 6, 1), (2026, 5, 1), 0));
    assert!(decide(&facts).fired().any(|r| r.rule == "visa.invalid" && r.text.contains("ends before it begins")));
}

#[test]
fn consular_multiple_entry_visa() {
    let mut facts = foreigner("KOR", Direction::Entry);
    facts.visa = Some(Visa {
        kind: VisaKind::Consular { entries: None, stay_days: 60 },
        valid_from: day(2026, 1, 1),
        valid_to: day(2026, 12, 31),
        entries_used: 7,
    });
    assert_fired(&decide(&facts), &[]);
    facts.visa.as_mut().unwrap().kind = VisaKind::Consular { entries: Some(2), stay_days: 60 };
    assert_fired(&decide(&facts), &["visa.invalid"]);
}

// stay.*

#[test]
fn exit_without_entry_record_refers() {
    assert_fired(&decide(&foreigner("USA", Direction::Exit)), &["stay.no_entry_record"]);
}

#[test]
fn overstay_fires_the_day_after_the_last_permitted_day_with_the_fine() {
    let rules = rules();
    let mut facts = foreigner("HKG", Direction::Exit); // 14 days
    facts.stay = Some(Stay { entry_date: day(2026, 6, 1), registered: false });
    let verdict = rules.decide(&facts, day(2026, 6, 14));
    assert_fired(&verdict, &[]);
    assert!(passed(&verdict, "stay.overstay"));
    let verdict = rules.decide(&facts, day(2026, 6, 17));
    assert_fired(&verdict, &["stay.overstay"]);
    assert_eq!(verdict.outcome, Outcome::Refer { priority: Priority::Urgent });
    let text = &verdict.fired().next().unwrap().text;
    assert!(text.contains("overstay of 3 days") && text.contains("fine 30000 MNT"), "{text}");
    assert!(!text.contains("deportation"));
    let verdict = rules.decide(&facts, day(2026, 8, 30));
    assert!(verdict.fired().any(|r| r.text.contains("deportation")), "{:#?}", verdict.reasons);
}

#[test]
fn unregistered_stay_over_thirty_days() {
    let rules = rules();
    let mut facts = foreigner("USA", Direction::Exit); // 90 days
    facts.stay = Some(Stay { entry_date: day(2026, 6, 1), registered: false });
    assert_fired(&rules.decide(&facts, day(2026, 6, 30)), &[]);
    let verdict = rules.decide(&facts, day(2026, 7, 1));
    assert_fired(&verdict, &["stay.unregistered"]);
    assert!(verdict.fired().next().unwrap().text.contains("fine 250000 MNT"));
    facts.stay.as_mut().unwrap().registered = true;
    let verdict = rules.decide(&facts, day(2026, 7, 1));
    assert_fired(&verdict, &[]);
    assert!(passed(&verdict, "stay.unregistered"));
}

#[test]
fn stay_on_an_e_visa_and_a_residence_permit() {
    let rules = rules();
    let mut facts = foreigner("CHN", Direction::Exit);
    facts.visa = Some(e_visa((2026, 5, 1), (2026, 9, 27), 1));
    facts.stay = Some(Stay { entry_date: day(2026, 6, 1), registered: false });
    assert_fired(&rules.decide(&facts, day(2026, 6, 30)), &[]);
    assert_fired(&rules.decide(&facts, day(2026, 7, 1)), &["stay.overstay", "stay.unregistered"]);
    facts.visa.as_mut().unwrap().kind = VisaKind::ResidencePermit;
    facts.visa.as_mut().unwrap().valid_to = day(2027, 5, 1);
    assert_fired(&rules.decide(&facts, day(2026, 12, 1)), &[]);
    assert_fired(&rules.decide(&facts, day(2027, 5, 2)), &["stay.overstay"]);
}

#[test]
fn stay_without_any_permission_is_overstay_from_the_first_day() {
    let mut facts = foreigner("CHN", Direction::Exit);
    facts.stay = Some(Stay { entry_date: today(), registered: false });
    assert_fired(&decide(&facts), &["stay.overstay"]);
}

#[test]
fn citizens_have_no_visa_or_stay_rules() {
    let verdict = decide(&citizen(Direction::Exit));
    assert!(verdict.reasons.iter().all(|r| !r.rule.starts_with("visa") && !r.rule.starts_with("stay")));
}

// minors.*

fn child(companion: Companion) -> Facts {
    let mut facts = citizen(Direction::Exit);
    facts.traveller.date_of_birth = Some(day(2014, 5, 5));
    facts.traveller.companion = companion;
    facts
}

#[test]
fn adult_passes_the_minors_rules_at_the_minors_table() {
    let verdict = decide(&citizen(Direction::Exit));
    let reason = verdict.reasons.iter().find(|r| r.rule == "minors").expect("minors reason");
    assert_eq!(reason.line, line_of("[minors]"));
}

#[test]
fn eighteenth_birthday_is_the_boundary() {
    let mut facts = child(Companion::None);
    facts.traveller.date_of_birth = Some(day(2008, 6, 15));
    assert_fired(&decide(&facts), &[]);
    facts.traveller.date_of_birth = Some(day(2008, 6, 16));
    assert_fired(&decide(&facts), &["minors.alone"]);
}

#[test]
fn minor_with_a_parent() {
    let verdict = decide(&child(Companion::Parent { same_surname: true, birth_certificate: false }));
    assert_fired(&verdict, &[]);
    assert!(passed(&verdict, "minors.parent_without_birth_certificate"));
    assert_fired(&decide(&child(Companion::Parent { same_surname: false, birth_certificate: true })), &[]);
    assert_fired(
        &decide(&child(Companion::Parent { same_surname: false, birth_certificate: false })),
        &["minors.parent_without_birth_certificate"],
    );
}

#[test]
fn minor_with_a_guardian_needs_the_decree() {
    assert_fired(&decide(&child(Companion::Guardian { decree: true })), &[]);
    let verdict = decide(&child(Companion::Guardian { decree: false }));
    assert_fired(&verdict, &["minors.guardian_without_decree"]);
    assert_eq!(verdict.outcome, Outcome::Refer { priority: Priority::Urgent });
}

#[test]
fn minor_with_another_adult_needs_a_power_of_attorney() {
    assert_fired(&decide(&child(Companion::OtherAdult { power_of_attorney: true })), &[]);
    assert_fired(
        &decide(&child(Companion::OtherAdult { power_of_attorney: false })),
        &["minors.other_adult_without_power_of_attorney"],
    );
}

#[test]
fn minor_alone_is_referred() {
    let verdict = decide(&child(Companion::None));
    assert_fired(&verdict, &["minors.alone"]);
    assert!(verdict.fired().next().unwrap().text.contains("trafficking"));
}

#[test]
fn minor_with_unclear_destination_is_refused() {
    let mut facts = child(Companion::Parent { same_surname: true, birth_certificate: false });
    facts.traveller.destination_known = false;
    let verdict = decide(&facts);
    assert_fired(&verdict, &["minors.destination_unclear"]);
    assert_eq!(verdict.outcome, Outcome::Refuse { priority: Priority::Urgent });
    // An adult's destination is not the minors' rule's business.
    let mut adult = citizen(Direction::Exit);
    adult.traveller.destination_known = false;
    assert_fired(&decide(&adult), &[]);
}

#[test]
fn minors_rules_apply_on_exit_only() {
    let mut facts = child(Companion::None);
    facts.direction = Direction::Entry;
    let verdict = decide(&facts);
    assert_fired(&verdict, &[]);
    assert!(verdict.reasons.iter().all(|r| !r.rule.starts_with("minors")));
}

#[test]
fn unknown_or_future_date_of_birth() {
    let mut facts = citizen(Direction::Exit);
    facts.traveller.date_of_birth = None;
    assert_fired(&decide(&facts), &["minors.age_unknown"]);
    facts.traveller.date_of_birth = Some(day(2026, 6, 16));
    assert_fired(&decide(&facts), &["minors.age_unknown"]);
    facts.traveller.date_of_birth = Some(today());
    assert_fired(&decide(&facts), &["minors.alone"]);
}

// degraded.*

fn with_device(up: bool, fallback_available: bool) -> Facts {
    let mut facts = citizen(Direction::Entry);
    let device = facts.devices.iter_mut().find(|d| d.class == DeviceClass::FingerprintScanner).unwrap();
    device.up = up;
    device.fallback_available = fallback_available;
    facts
}

#[test]
fn device_down_falls_back_when_the_gate_has_another() {
    let verdict = decide(&with_device(false, true));
    assert_fired(&verdict, &[]);
    let reason = verdict.reasons.iter().find(|r| r.rule == "degraded.fingerprint_scanner.no_fallback").unwrap();
    assert!(reason.fired.is_none() && reason.text.contains("falls back"));
    assert!(rules().fallback_allowed(DeviceClass::FingerprintScanner));
}

#[test]
fn device_down_without_fallback_refers() {
    let verdict = decide(&with_device(false, false));
    assert_fired(&verdict, &["degraded.fingerprint_scanner.no_fallback"]);
    assert_eq!(verdict.outcome, Outcome::Refer { priority: Priority::Routine });
}

#[test]
fn fallback_forbidden_by_the_rules_refers() {
    let text = shipped_text().replacen(
        "[degraded.fingerprint_scanner]\nfallback = true",
        "[degraded.fingerprint_scanner]\nfallback = false",
        1,
    );
    let rules = Rules::parse("nofallback.toml", &text).unwrap();
    assert!(!rules.fallback_allowed(DeviceClass::FingerprintScanner));
    let verdict = rules.decide(&with_device(false, true), today());
    assert_fired(&verdict, &["degraded.fingerprint_scanner.no_fallback"]);
    assert!(verdict.fired().next().unwrap().text.contains("no fallback"));
}

#[test]
fn each_device_class_has_its_rule() {
    for class in DeviceClass::ALL {
        let mut facts = citizen(Direction::Entry);
        facts.devices.iter_mut().find(|d| d.class == class).unwrap().up = false;
        assert_fired(&decide(&facts), &[format!("degraded.{}.no_fallback", class.name()).as_str()]);
    }
}

#[test]
fn exemption_and_waiver_reasons_point_at_their_table_headers() {
    let verdict = decide(&foreigner("HKG", Direction::Entry));
    let exempt = verdict.reasons.iter().find(|r| r.rule == "visa.exempt[3]").expect("the 14-day list");
    assert_eq!(exempt.line, line_of("days = 14") - 1, "the `[[visa.exempt]]` line above `days = 14`");
    let verdict = decide(&foreigner("FRA", Direction::Entry));
    let waiver = verdict.reasons.iter().find(|r| r.rule == "visa.waiver").expect("the waiver");
    assert_eq!(waiver.line, line_of("[visa.waiver]"));
}
