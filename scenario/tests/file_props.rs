//! The scenario parser never panics, whatever the text, and what it reads is what was written.

mod common;

use common::{VALID, scenarios_dir};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Arbitrary text: an error or a scenario, never a panic.
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        let _ = khil_scenario::file::parse("any.toml", &scenarios_dir(), &text);
    }

    /// The valid scenario with one line replaced by arbitrary TOML-ish text: refused with a place inside the file,
    /// or accepted; never a panic.
    #[test]
    fn a_broken_line_never_panics(line in 0usize..60, replacement in "[a-z_\\[\\]{}=\". 0-9:,-]{0,40}") {
        let mut lines: Vec<&str> = VALID.lines().collect();
        let i = line % lines.len();
        lines[i] = &replacement;
        let text = lines.join("\n");
        if let Err(e) = khil_scenario::file::parse("broken.toml", &scenarios_dir(), &text) {
            let count = u32::try_from(text.lines().count()).unwrap();
            prop_assert!(e.line >= 1 && e.line <= count.max(1) + 1, "{e}: line out of the file");
            prop_assert!(!e.field.is_empty() && !e.problem.is_empty(), "{e}");
        }
    }

    /// Values written are the values read: times of day, shares, limits and bounds.
    #[test]
    fn values_round_trip(
        from in 0u32..86_000,
        length in 1u32..400,
        share in 0.0f64..=1.0,
        limit in 1usize..10_000,
        min in 0.0f64..1.0,
        officers in 1usize..20,
    ) {
        let until = (from + length).min(86_400);
        let hms = |s: u32| format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
        let text = format!(
            "name = \"p\"\nrules = \"rules/mongolia.toml\"\ngates = 1\n[point]\nname = \"altanbulag\"\n\
             direction = \"exit\"\n[arrivals]\nshare = {share:?}\nfrom = \"{}\"\nuntil = \"{}\"\nlimit = {limit}\n\
             [desk]\nofficers = {officers}\n[expect]\nreleased = {{ min = {min:?} }}\n",
            hms(from),
            hms(until),
        );
        let s = khil_scenario::file::parse("p.toml", &scenarios_dir(), &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!((s.arrivals.from, s.arrivals.until), (f64::from(from), f64::from(until)));
        prop_assert_eq!(s.arrivals.share.to_bits(), share.to_bits(), "exactly the share written");
        prop_assert_eq!(s.arrivals.limit, Some(limit));
        prop_assert_eq!(s.desk.officers, officers);
        prop_assert_eq!(s.expect.released.and_then(|b| b.min), Some(min));
        prop_assert_eq!(s.arrivals.profile.name(), "altanbulag", "the profile defaults to the point's");
    }
}
