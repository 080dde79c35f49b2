//! Scenario files with errors are refused before anything runs, naming file, line, column and field, and saying
//! what was expected. Each test takes a valid scenario, breaks one thing, and checks where the error points.

mod common;

use common::{VALID, scenarios_dir};
use khil_scenario::file::{ErrorKind, ScenarioError, parse};

fn refused(text: &str) -> ScenarioError {
    match parse("broken.toml", &scenarios_dir(), text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

/// `VALID` with `old` (which must be in it) replaced by `new`.
fn with(old: &str, new: &str) -> String {
    assert!(VALID.contains(old), "{old:?} is not in the valid scenario");
    VALID.replacen(old, new, 1)
}

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> u32 {
    let i = text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle:?} not in the text"));
    u32::try_from(i + 1).unwrap()
}

/// Checks an error's field, kind, line (that of `at`), that the message starts with `file:line:column` and
/// contains each of `says`.
#[track_caller]
fn check(text: &str, field: &str, kind: ErrorKind, at: &str, says: &[&str]) -> ScenarioError {
    let e = refused(text);
    let message = e.to_string();
    assert_eq!((e.field.as_str(), e.kind), (field, kind), "{message}");
    assert_eq!(e.line, line_of(text, at), "{message}");
    assert!(e.column >= 1, "{message}");
    let head = format!("broken.toml:{}:{}: `{field}`: ", e.line, e.column);
    assert!(message.starts_with(&head), "{message}\ndoes not start with {head}");
    for s in says {
        assert!(message.contains(s), "{message}\ndoes not say {s:?}");
    }
    e
}

#[test]
fn the_valid_scenario_parses() {
    let s = parse("valid.toml", &scenarios_dir(), VALID).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.name, "test");
    assert_eq!(s.gates.len(), 2);
    assert_eq!(s.crafted.len(), 2);
}

#[test]
fn toml_syntax_and_shape_errors_name_the_field() {
    check(&with("gates = 2", "gates = 2 2"), "(document)", ErrorKind::Syntax, "gates = 2 2", &["not TOML"]);
    check(&with("seed = 7", "seed = 7\nsede = 3"), "sede", ErrorKind::UnknownField, "sede", &["unknown field"]);
    check(&with("seed = 7", "seed = \"seven\""), "seed", ErrorKind::WrongType, "seed =", &["integer"]);
    check(
        &with("direction = \"entry\"", "direction = \"sideways\""),
        "point.direction",
        ErrorKind::InvalidValue,
        "sideways",
        &["entry", "exit"],
    );
    let e = check(&with("name = \"zamiin-uud\"\n", ""), "point.name", ErrorKind::MissingField, "[point]", &["name"]);
    assert!(e.to_string().contains("missing field"), "{e}");
}

#[test]
fn shares_are_from_0_to_1_and_add_up_to_at_most_1() {
    check(
        &with("share = 0.1", "share = 1.5"),
        "arrivals.share",
        ErrorKind::InvalidValue,
        "share = 1.5",
        &["from 0 to 1", "1.5"],
    );
    check(
        &with("impostors = 0.01", "impostors = -0.1"),
        "population.impostors",
        ErrorKind::InvalidValue,
        "impostors",
        &["from 0 to 1"],
    );
    check(
        &with("impostors = 0.01", "impostors = 0.99"),
        "population.impostors",
        ErrorKind::InvalidValue,
        "impostors",
        &["adding up to at most 1", "1.03"],
    );
    check(
        &with("impostors = 0.01", "impostors = 0.01\nforeigners = 1.2"),
        "population.foreigners",
        ErrorKind::InvalidValue,
        "foreigners",
        &["from 0 to 1", "1.2"],
    );
    check(
        &with("impostors = 0.01", "impostors = 0.01\nfirst_entry = -1"),
        "population.first_entry",
        ErrorKind::InvalidValue,
        "first_entry",
        &["from 0 to 1"],
    );
    check(
        &with("impostors = 0.01", "impostors = 0.01\nvisa_required = 2"),
        "population.visa_required",
        ErrorKind::InvalidValue,
        "visa_required",
        &["from 0 to 1"],
    );
}

#[test]
fn the_listed_others_are_a_count_within_a_national_list() {
    for bad in ["-1", "1000001"] {
        check(
            &with("impostors = 0.01", &format!("impostors = 0.01\nwatchlist_others = {bad}")),
            "population.watchlist_others",
            ErrorKind::InvalidValue,
            "watchlist_others",
            &["0 to 1000000 listed people", bad],
        );
    }
}

#[test]
fn the_window_runs_forwards() {
    check(
        &with("until = \"10:00\"", "until = \"08:00\""),
        "arrivals.until",
        ErrorKind::InvalidValue,
        "until =",
        &["after `from`", "09:00:00", "08:00:00"],
    );
    check(&with("from = \"09:00\"", "from = \"9am\""), "arrivals.from", ErrorKind::InvalidValue, "9am", &["HH:MM"]);
    check(&with("from = \"09:00\"", "from = \"25:00\""), "arrivals.from", ErrorKind::InvalidValue, "25:00", &["HH:MM"]);
    check(&with("limit = 20", "limit = 0"), "arrivals.limit", ErrorKind::InvalidValue, "limit = 0", &["at least 1"]);
}

#[test]
fn a_scenario_has_gates_with_unique_names() {
    check(&with("gates = 2\n", ""), "gates", ErrorKind::MissingField, "name = \"test\"", &["at least one gate"]);
    check(&with("gates = 2", "gates = 0"), "gates", ErrorKind::InvalidValue, "gates = 0", &["from 1 to 64"]);
    // The error points at the second gate's name, not the first's.
    let tables = with("gates = 2\n", "[[gate]]\nname = \"g\"\n[[gate]]\nname = \"g\" # again\n");
    check(&tables, "gate[1].name", ErrorKind::Conflict, "# again", &["unique", "`g`"]);
    let both = with("gates = 2\n", "gates = 2\n[[gate]]\nname = \"g\"\n");
    check(&both, "gates", ErrorKind::Conflict, "gates = 2", &["not both"]);
}

#[test]
fn a_gates_fingerprint_sensors_are_a_zfm_scanner_or_an_osdp_bio_reader_and_the_fallback_the_other() {
    let sensor = |value: &str| with("gates = 2\n", &format!("[[gate]]\nfingerprint = \"{value}\"\n"));
    check(&sensor("iris"), "gate[0].fingerprint", ErrorKind::InvalidValue, "\"iris\"", &["`zfm`", "`osdp-bio`"]);
    let conflict = with("gates = 2\n", "[[gate]]\nfingerprint = \"osdp-bio\"\nscanner_faults = [\"hang:at=3\"]\n");
    check(&conflict, "gate[0].scanner_faults", ErrorKind::Conflict, "\"hang:at=3\"", &["gate_io_faults"]);
    let same = with("gates = 2\n", "[[gate]]\nfingerprint = \"zfm\"\nfingerprint_fallback = \"zfm\" # same\n");
    check(&same, "gate[0].fingerprint_fallback", ErrorKind::Conflict, "# same", &["the other kind"]);
    let wrong = with("gates = 2\n", "[[gate]]\nfingerprint_fallback = \"iris\"\n");
    check(&wrong, "gate[0].fingerprint_fallback", ErrorKind::InvalidValue, "\"iris\"", &["`osdp-bio`"]);
    use khil_scenario::SensorKind;
    const OSDP_BIO: SensorKind = SensorKind::OSDP_BIO;
    const ZFM: SensorKind = SensorKind::Zfm;
    let s = parse("ok.toml", &scenarios_dir(), &sensor("osdp-bio")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.gates[0].sensors, [OSDP_BIO]);
    let s = parse("ok.toml", &scenarios_dir(), &sensor("zfm")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.gates[0].sensors, [ZFM]);
    let both = with("gates = 2\n", "[[gate]]\nfingerprint_fallback = \"osdp-bio\"\nscanner_faults = [\"hang:at=3\"]\n");
    let s = parse("ok.toml", &scenarios_dir(), &both).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.gates[0].sensors, [ZFM, OSDP_BIO]);
    assert!(!s.gates[0].fallback_reader);
    let reader = with("gates = 2\n", "[[gate]]\nreader_fallback = true\n");
    assert!(parse("ok.toml", &scenarios_dir(), &reader).unwrap_or_else(|e| panic!("{e}")).gates[0].fallback_reader);
    let wrong = with("gates = 2\n", "[[gate]]\nreader_fallback = \"yes\"\n");
    check(&wrong, "gate[0].reader_fallback", ErrorKind::WrongType, "\"yes\"", &["bool"]);
}

#[test]
fn fault_specs_are_checked_with_the_simulators_own_grammar() {
    let gate = |key: &str, spec: &str| with("gates = 2\n", &format!("[[gate]]\n{key} = [\"ok\", \"{spec}\"]\n"));
    // The first spec of each list is fine; the second is broken.
    let fine = |text: String| text.replacen("\"ok\"", "\"flip:p=0.001\"", 1);
    let e = check(
        &fine(gate("reader_faults", "melt")),
        "gate[0].reader_faults[1]",
        ErrorKind::InvalidValue,
        "melt",
        &["rte-bad-bcc", "close"],
    );
    assert_eq!(e.column, 34, "the broken spec, not the list: {e}");
    check(
        &fine(gate("gate_io_faults", "close:at=soon")),
        "gate[0].gate_io_faults[1]",
        ErrorKind::InvalidValue,
        "soon",
        &["at"],
    );
    check(
        &fine(gate("scanner_faults", "close:at=soon")),
        "gate[0].scanner_faults[1]",
        ErrorKind::InvalidValue,
        "soon",
        &["at"],
    );
    check(
        &fine(gate("scanner_faults", "hnag:at=3")),
        "gate[0].scanner_faults[1]",
        ErrorKind::InvalidValue,
        "hnag",
        &["hang, busy", "close"],
    );
    let chip = with("specimen_index = 3", "specimen_index = 3\nchip_faults = [\"mute:at=0\", \"melt\"]");
    check(&chip, "traveller[0].chip_faults[1]", ErrorKind::InvalidValue, "melt", &["wrong-mac", "mute"]);
    // Every kind of each list is accepted: the device's own and the line's.
    let ok = with(
        "gates = 2\n",
        "[[gate]]\nreader_faults = [\"rte-bad-bcc\", \"flip:p=0.001\"]\nscanner_faults = [\"hang:at=3\", \
         \"close:at=20000,dir=tx\"]\ngate_io_faults = [\"close:at=500\"]\n",
    );
    let s = parse("ok.toml", &scenarios_dir(), &ok).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.gates[0].scanner_faults, ["hang:at=3", "close:at=20000,dir=tx"]);
    assert_eq!(s.gates[0].name, "gate-1");
}

#[test]
fn crafted_travellers_arrive_inside_the_window_with_known_names() {
    check(
        &with("at = \"09:30\"", "at = \"11:30\""),
        "traveller[0].at",
        ErrorKind::InvalidValue,
        "11:30",
        &["inside the arrivals window", "09:00:00 to 10:00:00"],
    );
    check(
        &with("specimen = \"photo-substitution\"", "specimen = \"photoshop\""),
        "traveller[0].specimen",
        ErrorKind::InvalidValue,
        "photoshop",
        &["photo-substitution", "counterfeit-office-paper", "`photoshop`"],
    );
    check(
        &with("behaviour = \"slow\"", "behaviour = \"sprint\""),
        "traveller[1].behaviour",
        ErrorKind::InvalidValue,
        "sprint",
        &["tailgater", "turn-back"],
    );
    check(
        &with("papers = \"child-citizen\"", "papers = \"baby\""),
        "traveller[1].papers",
        ErrorKind::InvalidValue,
        "baby",
        &["adult-citizen", "child-citizen", "adult-foreigner"],
    );
    check(
        &with("label = \"child\"", "label = \"forged\" # twice"),
        "traveller[1].label",
        ErrorKind::Conflict,
        "# twice",
        &["unique"],
    );
    check(
        &with("expect = \"refer\"", "expect = \"deport\""),
        "traveller[0].expect",
        ErrorKind::InvalidValue,
        "deport",
        &["release", "refer", "not-processed"],
    );
}

#[test]
fn expected_reasons_are_rules_of_the_rule_file() {
    let e = check(
        &with("\"document.forged_or_altered\"", "\"document.forgery\""),
        "traveller[0].reasons[0]",
        ErrorKind::InvalidValue,
        "document.forgery",
        &["document.forged_or_altered", "`document.forgery`"],
    );
    // The hint lists the rules of the group named, not every rule.
    assert!(!e.to_string().contains("minors.alone"), "{e}");
    check(
        &with("\"document.forged_or_altered\"", "\"passport.bad\""),
        "traveller[0].reasons[0]",
        ErrorKind::InvalidValue,
        "passport.bad",
        &["rules under bans, biometric, degraded, document, minors"],
    );
}

#[test]
fn the_rule_file_must_exist_and_its_errors_come_through_with_its_own_place() {
    check(
        &with("rules/mongolia.toml", "rules/nowhere.toml"),
        "rules",
        ErrorKind::InvalidValue,
        "rules =",
        &["nowhere.toml", "scenario's folder"],
    );
    let dir = khil_test_support::temp_dir("scenario-rules");
    let shipped = std::fs::read_to_string(scenarios_dir().join("rules/mongolia.toml")).unwrap();
    let broken = shipped.replacen("under_age = 18", "under_age = \"eighteen\"", 1);
    assert_ne!(broken, shipped);
    std::fs::write(dir.join("rules.toml"), &broken).unwrap();
    let text = with("rules/mongolia.toml", "rules.toml");
    let e = parse("broken.toml", &dir, &text).expect_err("a broken rule file");
    assert_eq!((e.kind, e.field.as_str(), e.line), (ErrorKind::Rules, "rules", line_of(&text, "rules =")), "{e}");
    let rules = e.rules.as_ref().expect("the rule file's own error");
    assert_eq!(rules.field, "minors.under_age", "{e}");
    assert_eq!(rules.line, line_of(&broken, "under_age = \"eighteen\""), "{e}");
    let message = e.to_string();
    assert!(message.contains(&format!("rules.toml:{}:", rules.line)), "{message}");
}

#[test]
fn expectation_bounds_are_ranges() {
    check(
        &with("released = { min = 0.5 }", "released = { min = 0.9, max = 0.5 }"),
        "expect.released",
        ErrorKind::InvalidValue,
        "released =",
        &["`min` (0.9) not above `max` (0.5)"],
    );
    check(
        &with("released = { min = 0.5 }", "released = {}"),
        "expect.released",
        ErrorKind::InvalidValue,
        "released =",
        &["min"],
    );
    check(
        &with("released = { min = 0.5 }", "released = { max = 2 }"),
        "expect.released.max",
        ErrorKind::InvalidValue,
        "released =",
        &["share from 0 to 1"],
    );
    check(
        &with("released = { min = 0.5 }", "released = { least = 0.5 }"),
        "expect.released.least",
        ErrorKind::UnknownField,
        "released =",
        &["unknown field"],
    );
}

#[test]
fn incidents_take_their_own_keys() {
    let power = |body: &str| with("[expect]", &format!("[[incident]]\n{body}\n\n[expect]"));
    check(
        &power("kind = \"flood\""),
        "incident[0].kind",
        ErrorKind::InvalidValue,
        "flood",
        &["power-cut", "central-down"],
    );
    check(
        &power("kind = \"power-cut\"\nat = \"09:10\""),
        "incident[0].seconds",
        ErrorKind::MissingField,
        "[[incident]]",
        &["seconds"],
    );
    check(
        &power("kind = \"power-cut\"\nat = \"09:10\"\nseconds = 5\nfrom = \"08:59\""),
        "incident[0].from",
        ErrorKind::Conflict,
        "08:59",
        &["not a key of a `power-cut`"],
    );
    check(
        &power("kind = \"central-down\"\nfrom = \"09:55\"\nuntil = \"09:52\""),
        "incident[0].until",
        ErrorKind::InvalidValue,
        "09:52",
        &["after `from`"],
    );
    check(
        &power("kind = \"rules-update\"\nat = \"09:10\""),
        "incident[0].rules",
        ErrorKind::MissingField,
        "[[incident]]",
        &["rules"],
    );
    check(
        &power("kind = \"rules-update\"\nat = \"09:10\"\nrules = \"rules/none.toml\""),
        "incident[0].rules",
        ErrorKind::InvalidValue,
        "rules/none.toml",
        &["a rule file", "scenario's folder"],
    );
    check(
        &power("kind = \"rules-update\"\nat = \"09:10\"\nrules = \"rules/mongolia.toml\"\nseconds = 5"),
        "incident[0].seconds",
        ErrorKind::Conflict,
        "seconds = 5",
        &["not a key of a `rules-update`", "at, rules"],
    );
    check(
        &power("kind = \"watchlist-update\"\nat = \"09:10\"\nadd = [\"nobody\"]"),
        "incident[0].add[0]",
        ErrorKind::InvalidValue,
        "nobody",
        &["crafted traveller with `watchlisted`"],
    );
    check(
        &power("kind = \"watchlist-update\"\nat = \"09:10\"\nadd = []"),
        "incident[0].add",
        ErrorKind::MissingField,
        "[[incident]]",
        &["add"],
    );
    let update = with(
        "[expect]",
        "[[incident]]\nkind = \"rules-update\"\nat = \"09:10\"\nrules = \"rules/mongolia.toml\"\n\n[expect]",
    );
    let s = parse("ok.toml", &scenarios_dir(), &update).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(&s.incidents[..], [khil_scenario::Incident::RulesUpdate { rules, .. }] if rules.ends_with("rules/mongolia.toml"))
    );
}

#[test]
fn an_unreadable_file_is_named() {
    let dir = khil_test_support::temp_dir("scenario-missing");
    let e = khil_scenario::file::load(&dir.join("none.toml")).expect_err("no such file");
    assert_eq!((e.kind, e.line), (ErrorKind::Unreadable, 0));
    assert!(e.to_string().contains("none.toml: cannot read it"), "{e}");
}

#[test]
fn unknown_names_are_refused_with_the_allowed_ones() {
    check(
        &with("profile = \"zamiin-uud\"", "profile = \"ulaanbaatar\""),
        "arrivals.profile",
        ErrorKind::InvalidValue,
        "ulaanbaatar",
        &["`airport`, `zamiin-uud`, `altanbulag`", "`ulaanbaatar`"],
    );
    check(
        &with("direction = \"entry\"", "direction = \"entry\"\nfinger_reference = \"dg2\""),
        "point.finger_reference",
        ErrorKind::InvalidValue,
        "\"dg2\"",
        &["`dg3`", "`registry`"],
    );
    check(
        &with("direction = \"entry\"", "direction = \"entry\"\nupload_every_minutes = 0"),
        "point.upload_every_minutes",
        ErrorKind::InvalidValue,
        "0",
        &["above 0"],
    );
    // Without a profile, the point's name must be one.
    let unnamed = with("profile = \"zamiin-uud\"\n", "").replacen("name = \"zamiin-uud\"", "name = \"sukhbaatar\"", 1);
    check(&unnamed, "arrivals.profile", ErrorKind::MissingField, "[arrivals]", &["`sukhbaatar`", "`altanbulag`"]);
    check(
        &with("photo-substitution = 0.02", "photo-swap = 0.02"),
        "population.fraud.photo-swap",
        ErrorKind::InvalidValue,
        "photo-swap",
        &["photo-substitution", "stolen-blank"],
    );
    // `genuine` is a class of the catalogue but not a fraud: the rest of the population is genuine.
    check(
        &with("photo-substitution = 0.02", "genuine = 0.02"),
        "population.fraud.genuine",
        ErrorKind::InvalidValue,
        "genuine = 0.02",
        &["a fraud class"],
    );
    check(
        &with("watchlist = { wanted = 0.01 }", "watchlist = { terrorist = 0.01 }"),
        "population.watchlist.terrorist",
        ErrorKind::InvalidValue,
        "terrorist",
        &["`wanted` or `trafficking-suspect`"],
    );
    check(
        &with("watchlisted = \"trafficking-suspect\"", "watchlisted = \"smuggler\""),
        "traveller[1].watchlisted",
        ErrorKind::InvalidValue,
        "smuggler",
        &["`wanted` or `trafficking-suspect`"],
    );
    check(
        &with("finger_quality = \"mixed\"", "finger_quality = \"poor\""),
        "population.finger_quality",
        ErrorKind::InvalidValue,
        "poor",
        &["`good` or `mixed`"],
    );
    check(
        &with("finger = 12", "finger = \"left\""),
        "traveller[1].finger",
        ErrorKind::InvalidValue,
        "left",
        &["`own`, `none`"],
    );
}

#[test]
fn keys_that_exclude_each_other_are_named() {
    check(
        &with("specimen_index = 3", "specimen_index = 3\npopulation = 5"),
        "traveller[0].papers",
        ErrorKind::Conflict,
        "[[traveller]]",
        &["one of `papers`, `population` or `specimen`"],
    );
    check(
        &with("papers = \"child-citizen\"", "papers = \"child-citizen\"\nentered_days_ago = 3"),
        "traveller[1].entered_days_ago",
        ErrorKind::Conflict,
        "entered_days_ago",
        &["only for travellers leaving"],
    );
    check(
        &with("behaviour = \"slow\"", "behaviour = \"slow\"\nobstruct_seconds = 4"),
        "traveller[1].obstruct_seconds",
        ErrorKind::Conflict,
        "obstruct_seconds",
        &["obstructs-entry"],
    );
    check(
        &with("behaviour = \"slow\"", "reasons = [\"minors.alone\"]"),
        "traveller[1].reasons",
        ErrorKind::Conflict,
        "minors.alone",
        &["only with `expect`"],
    );
    check(
        &with("officers = 3", "officers = 3\np90_minutes = 1"),
        "desk.p90_minutes",
        ErrorKind::InvalidValue,
        "p90",
        &["not below the median"],
    );
}
