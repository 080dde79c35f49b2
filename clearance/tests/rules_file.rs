//! The rule file: the shipped defaults load, and every kind of error refuses the file naming file, line, column
//! and field.

mod rules_support;

use khil_clearance::rules::{Direction, ErrorKind, Rules, RulesError};
use rules_support::{citizen, line_of, rules, shipped_text, today};

/// The shipped file with `from` (which must occur exactly once) replaced by `to`.
fn edited(from: &str, to: &str) -> String {
    let text = shipped_text();
    assert_eq!(text.matches(from).count(), 1, "`{from}` occurs once in the shipped file");
    text.replacen(from, to, 1)
}

fn refused(text: &str) -> RulesError {
    Rules::parse("edited.toml", text).expect_err("the edited file is refused")
}

/// The 1-based line of `needle`'s first occurrence in `text`.
fn line_in(text: &str, needle: &str) -> u32 {
    text[..text.find(needle).expect("needle in text")].matches('\n').count() as u32 + 1
}

#[test]
fn shipped_file_loads_with_its_version() {
    let rules = rules();
    assert_eq!(rules.version(), "mongolia-2026.12-1");
    assert!(rules.file().ends_with("mongolia.toml"));
    assert_eq!(rules.biometric_attempts(), 3);
}

#[test]
fn reasons_carry_the_line_of_their_rule() {
    let verdict = rules().decide(&citizen(Direction::Exit), today());
    let expired = verdict.reasons.iter().find(|r| r.rule == "document.expired").expect("document.expired reason");
    assert_eq!(expired.line, line_of("expired ="));
    let exit = verdict.reasons.iter().find(|r| r.rule == "bans.exit").expect("bans.exit reason");
    assert_eq!(exit.line, line_of("exit = {"));
}

#[test]
fn unknown_field_is_named_with_its_line() {
    let text = edited("no_chip = {", "no_chips = {");
    let error = refused(&text);
    assert_eq!(error.kind, ErrorKind::UnknownField, "{error}");
    assert_eq!(error.field, "document.no_chips");
    assert_eq!(error.line, line_in(&text, "no_chips"));
    assert_eq!(error.column, 1);
    assert_eq!(error.file, "edited.toml");
    let message = error.to_string();
    assert!(message.starts_with(&format!("edited.toml:{}:1: `document.no_chips`", error.line)), "{message}");
    assert!(message.contains("expected"), "says what was expected: {message}");
}

#[test]
fn unknown_field_inside_a_rule_table() {
    let text = edited("wanted = { action = \"detain\"", "wanted = { act = \"detain\"");
    let error = refused(&text);
    assert_eq!(error.kind, ErrorKind::UnknownField, "{error}");
    assert_eq!(error.field, "watchlist.wanted.act");
    assert_eq!(error.line, line_in(&text, "wanted = { act"));
}

#[test]
fn wrong_type_names_the_field_and_the_expected_type() {
    let text = edited("stay_days = 30\n", "stay_days = \"thirty\"\n");
    let error = refused(&text);
    assert_eq!(error.kind, ErrorKind::WrongType, "{error}");
    assert_eq!(error.field, "visa.e_visa.stay_days");
    assert_eq!(error.line, line_in(&text, "\"thirty\""));
    assert!(error.problem.contains("expected an integer"), "{error}");
}

#[test]
fn unknown_action_lists_the_actions() {
    let text = edited("alone = { action = \"refer\"", "alone = { action = \"ignore\"");
    let error = refused(&text);
    assert_eq!(error.kind, ErrorKind::InvalidValue, "{error}");
    assert_eq!(error.field, "minors.alone.action");
    assert!(error.problem.contains("refer") && error.problem.contains("detain"), "{error}");
}

#[test]
fn unknown_nationality_is_refused() {
    let text = edited("\"PHL\"", "\"PHX\"");
    let error = refused(&text);
    assert_eq!(error.kind, ErrorKind::UnknownNationality, "{error}");
    assert_eq!(error.field, "visa.exempt[2].nationalities[0]");
    assert_eq!((error.line, error.column), (line_in(&text, "\"PHX\""), 18));
    assert!(error.problem.contains("ISO 3166-1 alpha-3"), "{error}");
}

#[test]
fn germany_as_deu_gets_its_mrz_spelling() {
    let error = refused(&edited("\"D\",", "\"DEU\","));
    assert_eq!(error.kind, ErrorKind::UnknownNationality, "{error}");
    assert!(error.problem.contains("`D`"), "{error}");
}

#[test]
fn lower_case_nationality_is_refused() {
    let error = refused(&edited("\"HKG\"", "\"hkg\""));
    assert_eq!(error.kind, ErrorKind::UnknownNationality, "{error}");
}

#[test]
fn negative_days_are_refused() {
    let text = edited("days = 21", "days = -21");
    let error = refused(&text);
    assert_eq!(error.kind, ErrorKind::Negative, "{error}");
    assert_eq!(error.field, "visa.exempt[2].days");
    assert_eq!(error.line, line_in(&text, "-21"));
    assert!(error.problem.contains("0 or more"), "{error}");
}

#[test]
fn negative_fine_is_refused() {
    let error = refused(&edited("overstay_fine_per_day_mnt = 10000", "overstay_fine_per_day_mnt = -1"));
    assert_eq!((error.kind, error.field.as_str()), (ErrorKind::Negative, "stay.overstay_fine_per_day_mnt"));
}

#[test]
fn duplicate_nationality_across_lists_names_both_places() {
    // Russia is exempt for 30 days; listing it in the waiver too is a contradiction.
    let text = edited("\"AUS\", \"NZL\",", "\"AUS\", \"NZL\", \"RUS\",");
    let error = refused(&text);
    assert_eq!(error.kind, ErrorKind::DuplicateNationality, "{error}");
    assert_eq!(error.field, "visa.waiver.nationalities[34]");
    assert_eq!(error.line, line_in(&text, "\"NZL\", \"RUS\""));
    assert!(error.problem.contains("visa.exempt[1].nationalities[7]"), "{error}");
    assert!(error.problem.contains(&format!("line {}", line_in(&text, "\"CAN\""))), "{error}");
}

#[test]
fn duplicate_nationality_within_a_list() {
    let error = refused(&edited("\"PHL\"", "\"PHL\", \"PHL\""));
    assert_eq!(error.kind, ErrorKind::DuplicateNationality, "{error}");
    assert_eq!(error.field, "visa.exempt[2].nationalities[1]");
}

#[test]
fn missing_version_is_refused() {
    let error = refused(&edited("version = \"mongolia-2026.12-1\"\n", ""));
    assert_eq!(error.kind, ErrorKind::MissingField, "{error}");
    assert_eq!(error.field, "version");
}

#[test]
fn empty_version_is_refused() {
    let text = edited("version = \"mongolia-2026.12-1\"", "version = \"  \"");
    let error = refused(&text);
    assert_eq!((error.kind, error.field.as_str()), (ErrorKind::InvalidValue, "version"));
    assert_eq!(error.line, line_in(&text, "version = \"  \""));
}

#[test]
fn missing_rule_is_named_with_its_table() {
    let error = refused(&edited("chip_not_read = { action = \"refer\", priority = \"routine\" }\n", ""));
    assert_eq!(error.kind, ErrorKind::MissingField, "{error}");
    assert_eq!(error.field, "document.chip_not_read");
}

#[test]
fn missing_priority_is_refused() {
    let text = edited(
        "trafficking_suspect = { action = \"refer\", priority = \"urgent\" }",
        "trafficking_suspect = { action = \"refer\" }",
    );
    let error = refused(&text);
    assert_eq!((error.kind, error.field.as_str()), (ErrorKind::MissingField, "watchlist.trafficking_suspect.priority"));
    assert_eq!(error.line, line_in(&text, "trafficking_suspect ="));
}

#[test]
fn release_with_a_priority_is_refused() {
    let error = refused(&edited("no_entry_record = { action = \"refer\"", "no_entry_record = { action = \"release\""));
    assert_eq!((error.kind, error.field.as_str()), (ErrorKind::InvalidValue, "stay.no_entry_record.priority"));
}

#[test]
fn waiver_end_must_be_a_date() {
    let text = edited("until = 2026-12-31", "until = 2026-12-31T10:00:00");
    let error = refused(&text);
    assert_eq!((error.kind, error.field.as_str()), (ErrorKind::InvalidValue, "visa.waiver.until"));
    let error = refused(&edited("until = 2026-12-31", "until = \"end of 2026\""));
    assert_eq!((error.kind, error.field.as_str()), (ErrorKind::WrongType, "visa.waiver.until"), "{error}");
}

#[test]
fn zero_attempts_and_odd_ages_are_refused() {
    let error = refused(&edited("attempts = 3", "attempts = 0"));
    assert_eq!((error.kind, error.field.as_str()), (ErrorKind::InvalidValue, "biometric.attempts"));
    let error = refused(&edited("under_age = 18", "under_age = 0"));
    assert_eq!((error.kind, error.field.as_str()), (ErrorKind::InvalidValue, "minors.under_age"));
    let error = refused(&edited("directions = [\"exit\"]", "directions = [\"out\"]"));
    assert_eq!((error.kind, error.field.as_str()), (ErrorKind::InvalidValue, "minors.directions[0]"), "{error}");
}

#[test]
fn unknown_document_kind_is_refused() {
    let error = refused(&edited("\"service-passport\"]", "\"seaman-book\"]"));
    assert_eq!((error.kind, error.field.as_str()), (ErrorKind::InvalidValue, "document.accepted[2]"), "{error}");
}

#[test]
fn syntax_error_names_the_line() {
    let text = edited("[stay]", "[stay");
    let error = refused(&text);
    assert_eq!(error.kind, ErrorKind::Syntax, "{error}");
    assert_eq!(error.line, line_in(&text, "[stay\n"));
}

#[test]
fn unreadable_file_is_named() {
    let missing = std::path::Path::new("/nonexistent/khil-rules.toml");
    let error = Rules::load(missing).expect_err("a missing file is refused");
    assert_eq!(error.kind, ErrorKind::Unreadable);
    assert_eq!(error.file, "/nonexistent/khil-rules.toml");
    assert!(error.to_string().starts_with("/nonexistent/khil-rules.toml: cannot read it"), "{error}");
}

#[test]
fn empty_file_is_refused_for_its_version() {
    let error = refused("");
    assert_eq!((error.kind, error.field.as_str()), (ErrorKind::MissingField, "version"), "{error}");
}
