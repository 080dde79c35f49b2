//! Shared by the rules tests: the shipped rule file and travellers whose every fact passes.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use khil_clearance::rules::{
    Biometric, Chip, Companion, DeviceClass, DeviceStatus, Direction, Document, DocumentKind, Examination, Facts,
    Rules, Traveller, Verdict, WatchlistSearch,
};
use khil_mrtd::mrz::CivilDate;

pub fn shipped_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scenarios/rules/mongolia.toml")
}

pub fn shipped_text() -> String {
    std::fs::read_to_string(shipped_path()).expect("the shipped rule file")
}

pub fn rules() -> Rules {
    Rules::load(&shipped_path()).expect("the shipped rule file loads")
}

pub fn day(year: u16, month: u8, day: u8) -> CivilDate {
    CivilDate::new(year, month, day).expect("a valid date")
}

/// The day most tests decide on.
pub fn today() -> CivilDate {
    day(2026, 6, 15)
}

/// The 1-based line of the first line of the shipped file that starts with `start` (after indentation).
pub fn line_of(start: &str) -> u32 {
    let text = shipped_text();
    let index =
        text.lines().position(|l| l.trim_start().starts_with(start)).unwrap_or_else(|| panic!("no line `{start}`"));
    index as u32 + 1
}

fn devices() -> Vec<DeviceStatus> {
    DeviceClass::ALL.iter().map(|&class| DeviceStatus { class, up: true, fallback_available: false }).collect()
}

/// An adult Mongolian citizen leaving with everything in order.
pub fn citizen(direction: Direction) -> Facts {
    Facts {
        direction,
        traveller: Traveller {
            citizen: true,
            nationality: "MNG".to_owned(),
            date_of_birth: Some(day(1990, 3, 1)),
            companion: Companion::None,
            destination_known: true,
        },
        document: Document {
            kind: DocumentKind::Passport,
            expiry: day(2030, 1, 1),
            examination: Examination::Genuine,
            chip: Chip::Authenticated,
        },
        visa: None,
        stay: None,
        bans: Vec::new(),
        watchlist: Some(WatchlistSearch { list_version: "wl-42".to_owned(), hits: Vec::new() }),
        biometric: Biometric::Match,
        devices: devices(),
    }
}

/// An adult foreigner of `nationality` (no visa) entering with everything else in order.
pub fn foreigner(nationality: &str, direction: Direction) -> Facts {
    let mut facts = citizen(direction);
    facts.traveller.citizen = false;
    nationality.clone_into(&mut facts.traveller.nationality);
    facts
}

/// The ids of the rules that fired.
pub fn fired(verdict: &Verdict) -> Vec<&str> {
    verdict.fired().map(|r| r.rule.as_str()).collect()
}

/// Whether `rule` is among the reasons and passed.
pub fn passed(verdict: &Verdict, rule: &str) -> bool {
    verdict.reasons.iter().any(|r| r.rule == rule && r.fired.is_none())
}
