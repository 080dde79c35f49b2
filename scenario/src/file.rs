//! Scenario files (`scenarios/*.toml`, the format is documented in scenarios/README.md): TOML as written (spans
//! kept for line numbers), then validated into a [`Scenario`]. A file with any error is refused whole, before
//! anything runs, naming file, line, column and field ([`ScenarioError`]); the rule file it names is loaded and
//! validated too, and its own error passed through with its own file and line.

use std::collections::{BTreeMap, HashSet};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use khil_clearance::rules::{Direction, Rules, RulesError};
use khil_clearance::tomlfile::{self, TomlErrorKind};
use khil_clearance::traffic;
use khil_sim_docreader::{FraudClass, ParameterSpace, ReaderFault};
use khil_sim_fingerprint::DeviceFault;
use khil_sim_gate::{Behaviour, Flap};
use khil_sim_mrtd::faults::ChipFault;
use serde::Deserialize;
use toml::Spanned;

use crate::model::{
    ArrivalSpec, Bounds, CraftedTraveller, DecisionWord, DeskSpec, Expectations, Finger, FingerReference, GateSpec,
    Incident, Needs, Papers, PointSpec, PopulationSpec, Scenario, SensorKind, TravellerExpectation,
};

/// What is wrong with a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read.
    Unreadable,
    /// Not TOML.
    Syntax,
    UnknownField,
    MissingField,
    /// A value of the wrong TOML type (a string where a number belongs).
    WrongType,
    /// A value of the right type that is not one the field allows (an unknown name, a share above 1, ...).
    InvalidValue,
    /// Two things that must differ do not (gate names, traveller labels), or two fields that exclude each other.
    Conflict,
    /// The rule file the scenario names is refused: [`ScenarioError::rules`] says why.
    Rules,
}

/// A scenario file refused, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ScenarioError {
    pub file: String,
    /// 1-based; 0 when the file could not be read.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    /// The key path (`traveller[2].at`); `(document)` for the file as a whole.
    pub field: String,
    pub kind: ErrorKind,
    /// What is wrong and what was expected.
    pub problem: String,
    /// The rule file's own error (its file, line and field), when that is what is wrong.
    #[source]
    pub rules: Option<Box<RulesError>>,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.problem)?;
        } else {
            write!(f, "{}:{}:{}: `{}`: {}", self.file, self.line, self.column, self.field, self.problem)?;
        }
        match &self.rules {
            Some(rules) => write!(f, ": {rules}"),
            None => Ok(()),
        }
    }
}

/// Reads and validates a scenario file; its rule file is resolved against the file's folder.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        file: file.clone(),
        line: 0,
        column: 0,
        field: tomlfile::DOCUMENT.to_owned(),
        kind: ErrorKind::Unreadable,
        problem: format!("cannot read it: {e}"),
        rules: None,
    })?;
    let folder = path.parent().unwrap_or(Path::new("."));
    parse(&file, folder, &text)
}

/// Validates a scenario's text; `file` names it in errors, `folder` is where its rule file path starts from.
pub fn parse(file: &str, folder: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let source = tomlfile::Source { file, text };
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let p = source.toml_error(&e);
        let kind = match p.kind {
            TomlErrorKind::Syntax => ErrorKind::Syntax,
            TomlErrorKind::UnknownField => ErrorKind::UnknownField,
            TomlErrorKind::MissingField => ErrorKind::MissingField,
            TomlErrorKind::WrongType => ErrorKind::WrongType,
            TomlErrorKind::InvalidValue => ErrorKind::InvalidValue,
        };
        ScenarioError {
            file: file.to_owned(),
            line: p.line,
            column: p.column,
            field: p.field,
            kind,
            problem: p.message,
            rules: None,
        }
    })?;
    Validator { source }.scenario(raw, folder)
}

// The file as written. Optional keys have the defaults scenarios/README.md documents.

type Text = Spanned<String>;
type Int = Spanned<i64>;
type Number = Spanned<f64>;
/// A time of day: `"08:30"`, `"08:30:15"` or a TOML local time.
type TimeOfDay = Spanned<toml::Value>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Text,
    description: Option<String>,
    seed: Option<Int>,
    rules: Text,
    point: RawPoint,
    gates: Option<Int>,
    gate: Option<Vec<Spanned<RawGate>>>,
    desk: Option<RawDesk>,
    arrivals: Spanned<RawArrivals>,
    population: Option<RawPopulation>,
    traveller: Option<Vec<Spanned<RawTraveller>>>,
    incident: Option<Vec<Spanned<RawIncident>>>,
    expect: Option<RawExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPoint {
    name: Text,
    direction: Direction,
    upload_every_minutes: Option<Number>,
    finger_reference: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    name: Option<Text>,
    reader_fallback: Option<bool>,
    fingerprint: Option<Text>,
    fingerprint_fallback: Option<Text>,
    #[serde(default)]
    reader_faults: Vec<Text>,
    #[serde(default)]
    scanner_faults: Vec<Text>,
    #[serde(default)]
    gate_io_faults: Vec<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDesk {
    officers: Option<Int>,
    median_minutes: Option<Number>,
    p90_minutes: Option<Number>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArrivals {
    profile: Option<Text>,
    surge: Option<Text>,
    share: Option<Number>,
    from: Option<TimeOfDay>,
    until: Option<TimeOfDay>,
    limit: Option<Int>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPopulation {
    finger_quality: Option<Text>,
    #[serde(default)]
    fraud: BTreeMap<Text, Number>,
    fraud_space: Option<Text>,
    #[serde(default)]
    watchlist: BTreeMap<Text, Number>,
    watchlist_others: Option<Int>,
    impostors: Option<Number>,
    foreigners: Option<Number>,
    first_entry: Option<Number>,
    visa_required: Option<Number>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTraveller {
    label: Text,
    at: TimeOfDay,
    papers: Option<Text>,
    population: Option<Int>,
    specimen: Option<Text>,
    specimen_index: Option<Int>,
    specimen_space: Option<Text>,
    #[serde(default)]
    chip_faults: Vec<Text>,
    finger: Option<Spanned<toml::Value>>,
    behaviour: Option<Text>,
    obstruct_seconds: Option<Number>,
    watchlisted: Option<Text>,
    entered_days_ago: Option<Int>,
    expect: Option<Text>,
    reasons: Option<Spanned<Vec<Text>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIncident {
    kind: Text,
    at: Option<TimeOfDay>,
    seconds: Option<Number>,
    minutes: Option<Number>,
    from: Option<TimeOfDay>,
    until: Option<TimeOfDay>,
    rules: Option<Text>,
    add: Option<Vec<Text>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    released: Option<Spanned<RawBounds>>,
    fraud_referred: Option<Spanned<RawBounds>>,
    genuine_referred: Option<Spanned<RawBounds>>,
    queue_p95_minutes: Option<Spanned<RawBounds>>,
    transaction_p50_seconds: Option<Spanned<RawBounds>>,
    records_verify: Option<bool>,
    central_uploaded: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBounds {
    min: Option<f64>,
    max: Option<f64>,
}

/// Minutes between uploads to the central database (assumed: a point uploads as it goes, in small batches).
const DEFAULT_UPLOAD_EVERY_MINUTES: f64 = 5.0;

// Defaults. The desk's figures are assumptions (no published service time of a Mongolian border officer was
// found): two officers, a referral taking 4 minutes at the median and 10 at the 90th percentile.
const DEFAULT_OFFICERS: i64 = 2;
const DEFAULT_DESK_MEDIAN_MINUTES: f64 = 4.0;
const DEFAULT_DESK_P90_MINUTES: f64 = 10.0;
/// How long an obstructing traveller stands in the doorway by default (an assumption).
const DEFAULT_OBSTRUCT_SECONDS: f64 = 5.0;
const DAY: f64 = 86_400.0;

const NEEDS: &str = "`adult-citizen`, `child-citizen` or `adult-foreigner`";
const BEHAVIOURS: &str = "`normal`, `tailgater`, `turn-back`, `slow`, `obstructs-entry` or `obstructs-exit`";
const HIT_CLASSES: [&str; 2] = ["wanted", "trafficking-suspect"];
/// `population.watchlist_others` at most: a national list, made in seconds by the minutiae model.
const MAX_WATCHLIST_OTHERS: usize = 1_000_000;
const DECISIONS: &str = "`release`, `refer` or `not-processed`";

struct Validator<'a> {
    source: tomlfile::Source<'a>,
}

impl Validator<'_> {
    fn scenario(&self, raw: RawScenario, folder: &Path) -> Result<Scenario, ScenarioError> {
        let name = raw.name.get_ref().trim();
        if name.is_empty() {
            return Err(self.invalid(&raw.name.span(), "name", "a non-empty name (it heads outcomes and report)"));
        }
        let seed = match &raw.seed {
            Some(seed) => {
                u64::try_from(*seed.get_ref()).map_err(|_| self.invalid(&seed.span(), "seed", "a seed of 0 or more"))?
            }
            None => 0,
        };
        let (rules_path, rule_ids) = self.rules(&raw.rules, folder, "rules")?;
        let point_name = raw.point.name.get_ref().trim();
        if point_name.is_empty() {
            return Err(self.invalid(
                &raw.point.name.span(),
                "point.name",
                "the point's name in records (`zamiin-uud`)",
            ));
        }
        let upload_every_minutes = match &raw.point.upload_every_minutes {
            Some(v) if !(v.get_ref().is_finite() && *v.get_ref() > 0.0) => {
                return Err(self.invalid(&v.span(), "point.upload_every_minutes", "a number of minutes above 0"));
            }
            Some(v) => *v.get_ref(),
            None => DEFAULT_UPLOAD_EVERY_MINUTES,
        };
        let finger_reference = match &raw.point.finger_reference {
            None => FingerReference::default(),
            Some(v) => match v.get_ref().as_str() {
                "dg3" => FingerReference::Dg3,
                "registry" => FingerReference::Registry,
                _ => {
                    return Err(self.invalid(
                        &v.span(),
                        "point.finger_reference",
                        "`dg3` (DG3 of the chip, else the national registry) or `registry` (the registry only)",
                    ));
                }
            },
        };
        let point = PointSpec {
            name: point_name.to_owned(),
            direction: raw.point.direction,
            upload_every_minutes,
            finger_reference,
        };
        let gates = self.gates(raw.gates.as_ref(), raw.gate.as_deref())?;
        let desk = self.desk(raw.desk.as_ref())?;
        let arrivals = self.arrivals(&raw.arrivals, point_name)?;
        let population = self.population(raw.population.as_ref())?;
        let mut labels = HashSet::new();
        let crafted = raw
            .traveller
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, t)| self.traveller(i, t, &arrivals, &point, &rule_ids, &mut labels))
            .collect::<Result<Vec<_>, _>>()?;
        let incidents = raw
            .incident
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, incident)| self.incident(i, incident, &arrivals, folder, &crafted))
            .collect::<Result<Vec<_>, _>>()?;
        let expect = self.expectations(raw.expect.as_ref())?;
        Ok(Scenario {
            name: name.to_owned(),
            description: raw.description.unwrap_or_default().trim().to_owned(),
            file: self.source.file.to_owned(),
            seed,
            rules: rules_path,
            point,
            gates,
            desk,
            arrivals,
            population,
            crafted,
            incidents,
            expect,
        })
    }

    /// Loads the rule file (refused with its own error) and returns its path and its rules' ids.
    fn rules(
        &self,
        raw: &Text,
        folder: &Path,
        field: &str,
    ) -> Result<(std::path::PathBuf, Vec<String>), ScenarioError> {
        let path = folder.join(raw.get_ref());
        if !path.is_file() {
            return Err(self.invalid(
                &raw.span(),
                field,
                &format!("a rule file; `{}` is not one (the path starts from the scenario's folder)", path.display()),
            ));
        }
        Rules::load(&path).map_err(|e| ScenarioError {
            rules: Some(Box::new(e)),
            ..self.error(&raw.span(), field, ErrorKind::Rules, format!("the rule file `{}` is refused", raw.get_ref()))
        })?;
        // A rule's id is its key path in the rule file (`document.expired`): every table with an `action`.
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let mut ids = Vec::new();
        if let Ok(table) = text.parse::<toml::Table>() {
            rule_ids(&table, "", &mut ids);
        }
        Ok((path, ids))
    }

    fn gates(&self, count: Option<&Int>, tables: Option<&[Spanned<RawGate>]>) -> Result<Vec<GateSpec>, ScenarioError> {
        match (count, tables) {
            (Some(count), Some(_)) => Err(self.error(
                &count.span(),
                "gates",
                ErrorKind::Conflict,
                "either `gates = N` (N gates without faults) or `[[gate]]` tables, not both",
            )),
            (Some(count), None) => {
                let n = *count.get_ref();
                if !(1..=64).contains(&n) {
                    return Err(self.invalid(&count.span(), "gates", "from 1 to 64 gates"));
                }
                Ok((1..=n).map(|i| GateSpec { name: format!("gate-{i}"), ..GateSpec::default() }).collect())
            }
            (None, Some([]) | None) => Err(self.error(
                &(0..0),
                "gates",
                ErrorKind::MissingField,
                "at least one gate: `gates = N` or `[[gate]]` tables",
            )),
            (None, Some(tables)) => {
                let mut names = HashSet::new();
                let mut gates = Vec::new();
                for (i, raw) in tables.iter().enumerate() {
                    let g = raw.get_ref();
                    let field = format!("gate[{i}]");
                    // A gate without a name is `gate-<its number>`; names are unique either way.
                    let (name, span) = g.name.as_ref().map_or_else(
                        || (format!("gate-{}", i + 1), raw.span()),
                        |n| (n.get_ref().trim().to_owned(), n.span()),
                    );
                    if name.is_empty() {
                        return Err(self.invalid(&span, &format!("{field}.name"), "a non-empty name"));
                    }
                    if !names.insert(name.clone()) {
                        let problem = if g.name.is_some() {
                            format!("a second gate named `{name}`; gate names are unique")
                        } else {
                            format!("this gate's default name `{name}` is another gate's; name it")
                        };
                        return Err(self.error(&span, format!("{field}.name"), ErrorKind::Conflict, problem));
                    }
                    let reader_faults = self.faults(&field, "reader_faults", &g.reader_faults, |s| {
                        with_line_faults(s, s.parse::<ReaderFault>().map(drop))
                    })?;
                    let scanner_faults = self.faults(&field, "scanner_faults", &g.scanner_faults, |s| {
                        with_line_faults(s, s.parse::<DeviceFault>().map(drop))
                    })?;
                    let gate_io_faults = self.faults(&field, "gate_io_faults", &g.gate_io_faults, |s| {
                        s.parse::<khil_link::fault::Fault>().map(drop).map_err(|e| e.to_string())
                    })?;
                    let sensor = |key: &str, value: &Text| match value.get_ref().as_str() {
                        "zfm" => Ok(SensorKind::Zfm),
                        "osdp-bio" => Ok(SensorKind::OSDP_BIO),
                        _ => Err(self.invalid(
                            &value.span(),
                            &format!("{field}.{key}"),
                            "`zfm` (a ZFM scanner on its own UART, the default) or `osdp-bio` (a biometric reader \
                             on the gate's OSDP line)",
                        )),
                    };
                    let mut sensors = vec![match &g.fingerprint {
                        None => SensorKind::Zfm,
                        Some(v) => sensor("fingerprint", v)?,
                    }];
                    if let Some(v) = &g.fingerprint_fallback {
                        let fallback = sensor("fingerprint_fallback", v)?;
                        if fallback == sensors[0] {
                            return Err(self.error(
                                &v.span(),
                                format!("{field}.fingerprint_fallback"),
                                ErrorKind::Conflict,
                                "the fallback is the other kind of sensor than `fingerprint`",
                            ));
                        }
                        sensors.push(fallback);
                    }
                    if !sensors.contains(&SensorKind::Zfm)
                        && let Some(first) = g.scanner_faults.first()
                    {
                        return Err(self.error(
                            &first.span(),
                            format!("{field}.scanner_faults"),
                            ErrorKind::Conflict,
                            "scanner faults are a ZFM scanner's and this gate has none; an `osdp-bio` reader sits \
                             on the gate's OSDP line: use gate_io_faults",
                        ));
                    }
                    gates.push(GateSpec {
                        name,
                        sensors,
                        reader_faults,
                        fallback_reader: g.reader_fallback.unwrap_or(false),
                        scanner_faults,
                        gate_io_faults,
                    });
                }
                Ok(gates)
            }
        }
    }

    fn faults(
        &self,
        table: &str,
        key: &str,
        specs: &[Text],
        check: impl Fn(&str) -> Result<(), String>,
    ) -> Result<Vec<String>, ScenarioError> {
        specs
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let text = spec.get_ref().trim();
                check(text).map_err(|problem| {
                    self.error(&spec.span(), format!("{table}.{key}[{i}]"), ErrorKind::InvalidValue, problem)
                })?;
                Ok(text.to_owned())
            })
            .collect()
    }

    fn desk(&self, raw: Option<&RawDesk>) -> Result<DeskSpec, ScenarioError> {
        let officers = match raw.and_then(|d| d.officers.as_ref()) {
            Some(n) if !(1..=1000).contains(n.get_ref()) => {
                return Err(self.invalid(&n.span(), "desk.officers", "from 1 to 1000 officers"));
            }
            Some(n) => usize::try_from(*n.get_ref()).unwrap_or(1),
            None => DEFAULT_OFFICERS as usize,
        };
        let minutes = |value: Option<&Number>, field: &str, default: f64| match value {
            Some(v) if !(v.get_ref().is_finite() && *v.get_ref() > 0.0) => {
                Err(self.invalid(&v.span(), field, "a number of minutes above 0"))
            }
            Some(v) => Ok(*v.get_ref()),
            None => Ok(default),
        };
        let median = raw.and_then(|d| d.median_minutes.as_ref());
        let p90 = raw.and_then(|d| d.p90_minutes.as_ref());
        let median_minutes = minutes(median, "desk.median_minutes", DEFAULT_DESK_MEDIAN_MINUTES)?;
        let p90_minutes = minutes(p90, "desk.p90_minutes", DEFAULT_DESK_P90_MINUTES)?;
        if p90_minutes < median_minutes {
            let span = p90.or(median).map_or(0..0, Spanned::span);
            return Err(self.invalid(
                &span,
                "desk.p90_minutes",
                &format!("a 90th percentile ({p90_minutes}) not below the median ({median_minutes})"),
            ));
        }
        Ok(DeskSpec { officers, median_minutes, p90_minutes })
    }

    fn arrivals(&self, raw: &Spanned<RawArrivals>, point: &str) -> Result<ArrivalSpec, ScenarioError> {
        let r = raw.get_ref();
        let profiles = traffic::Point::ALL.map(|p| format!("`{}`", p.name())).join(", ");
        let profile = match &r.profile {
            Some(name) => traffic::Point::from_name(name.get_ref()).ok_or_else(|| {
                self.invalid(
                    &name.span(),
                    "arrivals.profile",
                    &format!("a border point's traffic: {profiles}; got `{}`", name.get_ref()),
                )
            })?,
            None => traffic::Point::from_name(point).ok_or_else(|| {
                self.error(
                    &raw.span(),
                    "arrivals.profile",
                    ErrorKind::MissingField,
                    format!(
                        "missing field `profile` (the point `{point}` has no traffic of its own); expected {profiles}"
                    ),
                )
            })?,
        };
        let surge = match r.surge.as_ref().map(|s| (s, s.get_ref().as_str())) {
            None | Some((_, "none")) => traffic::Surge::None,
            Some((_, "tsagaan-sar")) => traffic::Surge::TsagaanSar,
            Some((s, other)) => {
                return Err(self.invalid(
                    &s.span(),
                    "arrivals.surge",
                    &format!("`none` or `tsagaan-sar` (Lunar New Year); got `{other}`"),
                ));
            }
        };
        let share = match &r.share {
            Some(s) => self.share(s, "arrivals.share")?,
            None => 1.0,
        };
        let from = r.from.as_ref().map_or(Ok(0.0), |t| self.time(t, "arrivals.from"))?;
        let until = r.until.as_ref().map_or(Ok(DAY), |t| self.time(t, "arrivals.until"))?;
        if from >= until {
            let span = r.until.as_ref().or(r.from.as_ref()).map_or_else(|| raw.span(), Spanned::span);
            return Err(self.invalid(
                &span,
                "arrivals.until",
                &format!("a time after `from` ({}); got {}", clock(from), clock(until)),
            ));
        }
        let limit = match &r.limit {
            Some(n) if *n.get_ref() < 1 => {
                return Err(self.invalid(&n.span(), "arrivals.limit", "at least 1 traveller (leave it out for all)"));
            }
            Some(n) => Some(usize::try_from(*n.get_ref()).unwrap_or(usize::MAX)),
            None => None,
        };
        Ok(ArrivalSpec { profile, surge, share, from, until, limit })
    }

    fn watchlist_others(&self, n: &Int) -> Result<usize, ScenarioError> {
        match usize::try_from(*n.get_ref()) {
            Ok(v) if v <= MAX_WATCHLIST_OTHERS => Ok(v),
            _ => Err(self.invalid(
                &n.span(),
                "population.watchlist_others",
                &format!("0 to {MAX_WATCHLIST_OTHERS} listed people; got {}", n.get_ref()),
            )),
        }
    }

    fn population(&self, raw: Option<&RawPopulation>) -> Result<PopulationSpec, ScenarioError> {
        // No table: every key's default.
        let default = RawPopulation::default();
        let r = raw.unwrap_or(&default);
        let finger_quality = match &r.finger_quality {
            None => "good".to_owned(),
            Some(q) if matches!(q.get_ref().as_str(), "good" | "mixed") => q.get_ref().clone(),
            Some(q) => {
                return Err(self.invalid(
                    &q.span(),
                    "population.finger_quality",
                    &format!("`good` or `mixed`; got `{}`", q.get_ref()),
                ));
            }
        };
        let classes = FraudClass::ALL[1..].iter().map(|c| format!("`{}`", c.name())).collect::<Vec<_>>().join(", ");
        let mut fraud = Vec::new();
        let mut total = 0.0;
        let mut last = None;
        for (name, share) in &r.fraud {
            let field = format!("population.fraud.{}", name.get_ref());
            let class =
                FraudClass::from_name(name.get_ref()).filter(|c| *c != FraudClass::Genuine).ok_or_else(|| {
                    self.invalid(&name.span(), &field, &format!("a fraud class: {classes}; got `{}`", name.get_ref()))
                })?;
            let share_value = self.share(share, &field)?;
            total += share_value;
            last = Some((share.span(), field));
            fraud.push((class, share_value));
        }
        let fraud_space = match &r.fraud_space {
            None => ParameterSpace::HeldOut,
            Some(s) => match s.get_ref().as_str() {
                "development" => ParameterSpace::Development,
                "held-out" => ParameterSpace::HeldOut,
                other => {
                    return Err(self.invalid(
                        &s.span(),
                        "population.fraud_space",
                        &format!("`held-out` or `development`; got `{other}`"),
                    ));
                }
            },
        };
        let mut watchlist = Vec::new();
        for (name, share) in &r.watchlist {
            let field = format!("population.watchlist.{}", name.get_ref());
            if !HIT_CLASSES.contains(&name.get_ref().as_str()) {
                return Err(self.invalid(
                    &name.span(),
                    &field,
                    &format!("a watchlist hit class: `wanted` or `trafficking-suspect`; got `{}`", name.get_ref()),
                ));
            }
            let share_value = self.share(share, &field)?;
            total += share_value;
            last = Some((share.span(), field));
            watchlist.push((name.get_ref().clone(), share_value));
        }
        let watchlist_others = r.watchlist_others.as_ref().map_or(Ok(0), |n| self.watchlist_others(n))?;
        let impostors = match &r.impostors {
            Some(s) => {
                let v = self.share(s, "population.impostors")?;
                total += v;
                last = Some((s.span(), "population.impostors".to_owned()));
                v
            }
            None => 0.0,
        };
        if total > 1.0 + 1e-9
            && let Some((span, field)) = last
        {
            return Err(self.invalid(
                &span,
                &field,
                &format!(
                    "fraud, watchlist and impostor shares adding up to at most 1; they add up to {}",
                    (total * 1e6).round() / 1e6
                ),
            ));
        }
        // Foreigners are drawn apart from the mix (a foreigner is not a kind of fraud), so their shares stand alone.
        let [foreigners, first_entry, visa_required] = [
            (&r.foreigners, "population.foreigners"),
            (&r.first_entry, "population.first_entry"),
            (&r.visa_required, "population.visa_required"),
        ]
        .map(|(raw, field)| raw.as_ref().map_or(Ok(0.0), |s| self.share(s, field)));
        let (foreigners, first_entry, visa_required) = (foreigners?, first_entry?, visa_required?);
        Ok(PopulationSpec {
            finger_quality,
            fraud,
            fraud_space,
            watchlist,
            watchlist_others,
            impostors,
            foreigners,
            first_entry,
            visa_required,
        })
    }

    fn traveller(
        &self,
        i: usize,
        raw: &Spanned<RawTraveller>,
        arrivals: &ArrivalSpec,
        point: &PointSpec,
        rule_ids: &[String],
        labels: &mut HashSet<String>,
    ) -> Result<CraftedTraveller, ScenarioError> {
        let t = raw.get_ref();
        let field = |key: &str| format!("traveller[{i}].{key}");
        let label = t.label.get_ref().trim();
        if label.is_empty() {
            return Err(self.invalid(&t.label.span(), &field("label"), "a non-empty label (`child-alone`)"));
        }
        if !labels.insert(label.to_owned()) {
            return Err(self.error(
                &t.label.span(),
                field("label"),
                ErrorKind::Conflict,
                format!("a second traveller labelled `{label}`; labels are unique (outcomes are matched by them)"),
            ));
        }
        let at = self.time(&t.at, &field("at"))?;
        if !(arrivals.from <= at && at < arrivals.until) {
            return Err(self.invalid(
                &t.at.span(),
                &field("at"),
                &format!(
                    "a time inside the arrivals window ({} to {}); got {}",
                    clock(arrivals.from),
                    clock(arrivals.until),
                    clock(at)
                ),
            ));
        }
        let papers = self.papers(i, raw)?;
        let chip_faults = self.faults(&format!("traveller[{i}]"), "chip_faults", &t.chip_faults, |s| {
            s.parse::<ChipFault>().map(drop).map_err(|e| e.to_string())
        })?;
        let finger = match &t.finger {
            None => Finger::Own,
            Some(v) => match v.get_ref() {
                toml::Value::String(s) if s == "own" => Finger::Own,
                toml::Value::String(s) if s == "none" => Finger::None,
                toml::Value::Integer(id) if *id >= 0 => Finger::Other(id.unsigned_abs()),
                _ => {
                    return Err(self.invalid(
                        &v.span(),
                        &field("finger"),
                        "`own`, `none` or the population id (0 or more) of the person whose finger it is",
                    ));
                }
            },
        };
        let behaviour = self.behaviour(i, t)?;
        let watchlisted = match &t.watchlisted {
            None => None,
            Some(w) if HIT_CLASSES.contains(&w.get_ref().as_str()) => Some(w.get_ref().clone()),
            Some(w) => {
                return Err(self.invalid(
                    &w.span(),
                    &field("watchlisted"),
                    &format!("a watchlist hit class: `wanted` or `trafficking-suspect`; got `{}`", w.get_ref()),
                ));
            }
        };
        let entered_days_ago = match &t.entered_days_ago {
            None => None,
            Some(d) if point.direction != Direction::Exit => {
                return Err(self.error(
                    &d.span(),
                    field("entered_days_ago"),
                    ErrorKind::Conflict,
                    "only for travellers leaving (`point.direction = \"exit\"`): the entry a stay is counted from",
                ));
            }
            Some(d) => Some(
                u32::try_from(*d.get_ref())
                    .map_err(|_| self.invalid(&d.span(), &field("entered_days_ago"), "a number of days, 0 or more"))?,
            ),
        };
        let expect = self.traveller_expectation(i, t, rule_ids)?;
        Ok(CraftedTraveller {
            label: label.to_owned(),
            at,
            papers,
            finger,
            behaviour,
            chip_faults,
            watchlisted,
            entered_days_ago,
            expect,
        })
    }

    fn papers(&self, i: usize, raw: &Spanned<RawTraveller>) -> Result<Papers, ScenarioError> {
        let t = raw.get_ref();
        let field = |key: &str| format!("traveller[{i}].{key}");
        let given = [t.papers.is_some(), t.population.is_some(), t.specimen.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(self.error(
                &raw.span(),
                field("papers"),
                ErrorKind::Conflict,
                "one of `papers`, `population` or `specimen`: the traveller carries one document",
            ));
        }
        if t.specimen.is_none()
            && let Some((span, key)) = t
                .specimen_index
                .as_ref()
                .map(|s| (s.span(), "specimen_index"))
                .or_else(|| t.specimen_space.as_ref().map(|s| (s.span(), "specimen_space")))
        {
            return Err(self.error(
                &span,
                field(key),
                ErrorKind::Conflict,
                format!("`{key}` only with `specimen` (a forgery class)"),
            ));
        }
        if let Some(id) = &t.population {
            return u64::try_from(*id.get_ref())
                .map(Papers::Population)
                .map_err(|_| self.invalid(&id.span(), &field("population"), "a population document id, 0 or more"));
        }
        if let Some(class) = &t.specimen {
            let names = FraudClass::ALL.map(|c| format!("`{}`", c.name())).join(", ");
            let class_value = FraudClass::from_name(class.get_ref()).ok_or_else(|| {
                self.invalid(
                    &class.span(),
                    &field("specimen"),
                    &format!("a fraud class: {names}; got `{}`", class.get_ref()),
                )
            })?;
            let index = match &t.specimen_index {
                None => 0,
                Some(n) => u64::try_from(*n.get_ref())
                    .map_err(|_| self.invalid(&n.span(), &field("specimen_index"), "a specimen index, 0 or more"))?,
            };
            let space = match &t.specimen_space {
                None => ParameterSpace::Development,
                Some(s) => match s.get_ref().as_str() {
                    "development" => ParameterSpace::Development,
                    "held-out" => ParameterSpace::HeldOut,
                    other => {
                        return Err(self.invalid(
                            &s.span(),
                            &field("specimen_space"),
                            &format!("`development` or `held-out`; got `{other}`"),
                        ));
                    }
                },
            };
            return Ok(Papers::Specimen { class: class_value, index, space });
        }
        let needs = match t.papers.as_ref().map(|p| (p, p.get_ref().as_str())) {
            None | Some((_, "adult-citizen")) => Needs::AdultCitizen,
            Some((_, "child-citizen")) => Needs::ChildCitizen,
            Some((_, "adult-foreigner")) => Needs::AdultForeigner,
            Some((p, other)) => {
                return Err(self.invalid(&p.span(), &field("papers"), &format!("{NEEDS}; got `{other}`")));
            }
        };
        Ok(Papers::First(needs))
    }

    fn behaviour(&self, i: usize, t: &RawTraveller) -> Result<Behaviour, ScenarioError> {
        let field = |key: &str| format!("traveller[{i}].{key}");
        let name = t.behaviour.as_ref().map_or("normal", |b| b.get_ref().as_str());
        let obstructs = |flap| -> Result<Behaviour, ScenarioError> {
            let seconds = match &t.obstruct_seconds {
                None => DEFAULT_OBSTRUCT_SECONDS,
                Some(s) if s.get_ref().is_finite() && (0.0..=600.0).contains(s.get_ref()) => *s.get_ref(),
                Some(s) => {
                    return Err(self.invalid(&s.span(), &field("obstruct_seconds"), "seconds from 0 to 600"));
                }
            };
            Ok(Behaviour::Obstructs { flap, dwell: Duration::from_secs_f64(seconds) })
        };
        let behaviour = match name {
            "normal" => Behaviour::Normal,
            "tailgater" => Behaviour::Tailgater,
            "turn-back" => Behaviour::TurnBack,
            "slow" => Behaviour::Slow,
            "obstructs-entry" => obstructs(Flap::Entry)?,
            "obstructs-exit" => obstructs(Flap::Exit)?,
            other => {
                let span = t.behaviour.as_ref().map_or(0..0, Spanned::span);
                return Err(self.invalid(&span, &field("behaviour"), &format!("{BEHAVIOURS}; got `{other}`")));
            }
        };
        if let Some(s) = &t.obstruct_seconds
            && !matches!(behaviour, Behaviour::Obstructs { .. })
        {
            return Err(self.error(
                &s.span(),
                field("obstruct_seconds"),
                ErrorKind::Conflict,
                "only with `behaviour = \"obstructs-entry\"` or `\"obstructs-exit\"`",
            ));
        }
        Ok(behaviour)
    }

    fn traveller_expectation(
        &self,
        i: usize,
        t: &RawTraveller,
        rule_ids: &[String],
    ) -> Result<Option<TravellerExpectation>, ScenarioError> {
        let field = |key: &str| format!("traveller[{i}].{key}");
        let Some(expect) = &t.expect else {
            if let Some(reasons) = &t.reasons {
                return Err(self.error(
                    &reasons.span(),
                    field("reasons"),
                    ErrorKind::Conflict,
                    "`reasons` only with `expect` (the decision they are the reasons for)",
                ));
            }
            return Ok(None);
        };
        let decision = match expect.get_ref().as_str() {
            "release" => DecisionWord::Release,
            "refer" => DecisionWord::Refer,
            "not-processed" => DecisionWord::NotProcessed,
            other => {
                return Err(self.invalid(&expect.span(), &field("expect"), &format!("{DECISIONS}; got `{other}`")));
            }
        };
        let mut reasons = Vec::new();
        for (j, reason) in t.reasons.iter().flat_map(Spanned::get_ref).enumerate() {
            let text = reason.get_ref().trim();
            if text.is_empty() || !rule_ids.iter().any(|id| id.starts_with(text)) {
                let near: Vec<_> = rule_ids
                    .iter()
                    .filter(|id| id.split('.').next() == text.split('.').next())
                    .map(|id| format!("`{id}`"))
                    .collect();
                let hint = if near.is_empty() {
                    let mut groups: Vec<_> = rule_ids.iter().filter_map(|id| id.split('.').next()).collect();
                    groups.dedup();
                    format!("rules under {}", groups.join(", "))
                } else {
                    near.join(", ")
                };
                return Err(self.invalid(
                    &reason.span(),
                    &format!("traveller[{i}].reasons[{j}]"),
                    &format!("the start of a rule's name in the rule file ({hint}); got `{text}`"),
                ));
            }
            reasons.push(text.to_owned());
        }
        Ok(Some(TravellerExpectation { decision, reasons }))
    }

    fn incident(
        &self,
        i: usize,
        raw: &Spanned<RawIncident>,
        window: &ArrivalSpec,
        folder: &Path,
        crafted: &[CraftedTraveller],
    ) -> Result<Incident, ScenarioError> {
        let r = raw.get_ref();
        let field = |key: &str| format!("incident[{i}].{key}");
        // Which keys each kind takes; any other given is named.
        let given = [
            ("at", r.at.as_ref().map(Spanned::span)),
            ("seconds", r.seconds.as_ref().map(Spanned::span)),
            ("minutes", r.minutes.as_ref().map(Spanned::span)),
            ("from", r.from.as_ref().map(Spanned::span)),
            ("until", r.until.as_ref().map(Spanned::span)),
            ("rules", r.rules.as_ref().map(Spanned::span)),
            ("add", r.add.as_ref().and_then(|a| a.first()).map(Spanned::span)),
        ];
        let takes: &[&str] = match r.kind.get_ref().as_str() {
            "power-cut" => &["at", "seconds", "minutes"],
            "central-down" => &["from", "until"],
            "rules-update" => &["at", "rules"],
            "watchlist-update" => &["at", "add"],
            other => {
                return Err(self.invalid(
                    &r.kind.span(),
                    &field("kind"),
                    &format!(
                        "`power-cut` (at, seconds or minutes), `central-down` (from, until), `rules-update` (at, \
                         rules) or `watchlist-update` (at, add); got `{other}`"
                    ),
                ));
            }
        };
        if let Some((key, Some(span))) = given.iter().find(|(key, span)| span.is_some() && !takes.contains(key)) {
            return Err(self.error(
                span,
                field(key),
                ErrorKind::Conflict,
                format!("`{key}` is not a key of a `{}` incident (it takes {})", r.kind.get_ref(), takes.join(", ")),
            ));
        }
        let missing =
            |key: &str| self.error(&raw.span(), field(key), ErrorKind::MissingField, format!("missing field `{key}`"));
        let at = || {
            let at_raw = r.at.as_ref().ok_or_else(|| missing("at"))?;
            let at = self.time(at_raw, &field("at"))?;
            if !(window.from <= at && at < window.until) {
                return Err(self.invalid(
                    &at_raw.span(),
                    &field("at"),
                    &format!("a time inside the arrivals window ({} to {})", clock(window.from), clock(window.until)),
                ));
            }
            Ok(at)
        };
        if r.kind.get_ref() == "rules-update" {
            let at = at()?;
            let rules = r.rules.as_ref().ok_or_else(|| missing("rules"))?;
            let (path, _) = self.rules(rules, folder, &field("rules"))?;
            return Ok(Incident::RulesUpdate { at, rules: path });
        }
        if r.kind.get_ref() == "watchlist-update" {
            let at = at()?;
            let add = r.add.as_ref().filter(|a| !a.is_empty()).ok_or_else(|| missing("add"))?;
            let add = self.listed_later(&field("add"), add, crafted)?;
            return Ok(Incident::WatchlistUpdate { at, add });
        }
        if r.kind.get_ref() == "power-cut" {
            let at = at()?;
            let (value, factor, key) = match (&r.seconds, &r.minutes) {
                (Some(s), None) => (s, 1.0, "seconds"),
                (None, Some(m)) => (m, 60.0, "minutes"),
                (Some(s), Some(_)) => {
                    return Err(self.error(
                        &s.span(),
                        field("seconds"),
                        ErrorKind::Conflict,
                        "`seconds` or `minutes`, not both",
                    ));
                }
                (None, None) => return Err(missing("seconds")),
            };
            if !(value.get_ref().is_finite() && *value.get_ref() > 0.0) {
                return Err(self.invalid(&value.span(), &field(key), "a duration above 0"));
            }
            Ok(Incident::PowerCut { at, seconds: value.get_ref() * factor })
        } else {
            let from = self.time(r.from.as_ref().ok_or_else(|| missing("from"))?, &field("from"))?;
            let until_raw = r.until.as_ref().ok_or_else(|| missing("until"))?;
            let until = self.time(until_raw, &field("until"))?;
            if from >= until {
                return Err(self.invalid(
                    &until_raw.span(),
                    &field("until"),
                    &format!("a time after `from` ({}); got {}", clock(from), clock(until)),
                ));
            }
            Ok(Incident::CentralDown { from, until })
        }
    }

    /// A watchlist update's `add`: labels of crafted travellers with `watchlisted`.
    fn listed_later(
        &self,
        field: &str,
        add: &[Text],
        crafted: &[CraftedTraveller],
    ) -> Result<Vec<String>, ScenarioError> {
        add.iter()
            .enumerate()
            .map(|(j, label)| {
                let listed = crafted.iter().find(|t| t.label == *label.get_ref()).map(|t| t.watchlisted.is_some());
                if listed == Some(true) {
                    return Ok(label.get_ref().clone());
                }
                Err(self.invalid(
                    &label.span(),
                    &format!("{field}[{j}]"),
                    &format!(
                        "the label of a crafted traveller with `watchlisted` (the class their entry gets); got `{}`",
                        label.get_ref()
                    ),
                ))
            })
            .collect()
    }

    fn expectations(&self, raw: Option<&RawExpect>) -> Result<Expectations, ScenarioError> {
        let Some(r) = raw else { return Ok(Expectations::default()) };
        let share = |b: &Option<Spanned<RawBounds>>, key: &str| self.bounds(b.as_ref(), key, Some(1.0));
        let plain = |b: &Option<Spanned<RawBounds>>, key: &str| self.bounds(b.as_ref(), key, None);
        Ok(Expectations {
            released: share(&r.released, "released")?,
            fraud_referred: share(&r.fraud_referred, "fraud_referred")?,
            genuine_referred: share(&r.genuine_referred, "genuine_referred")?,
            queue_p95_minutes: plain(&r.queue_p95_minutes, "queue_p95_minutes")?,
            transaction_p50_seconds: plain(&r.transaction_p50_seconds, "transaction_p50_seconds")?,
            records_verify: r.records_verify.unwrap_or(false),
            central_uploaded: r.central_uploaded.unwrap_or(false),
        })
    }

    /// `{ min = .., max = .. }`: at least one end, both 0 or more, `min <= max`, shares at most `ceiling`.
    fn bounds(
        &self,
        raw: Option<&Spanned<RawBounds>>,
        key: &str,
        ceiling: Option<f64>,
    ) -> Result<Option<Bounds>, ScenarioError> {
        let Some(raw) = raw else { return Ok(None) };
        let field = format!("expect.{key}");
        let RawBounds { min, max } = *raw.get_ref();
        if min.is_none() && max.is_none() {
            return Err(self.invalid(&raw.span(), &field, "`{ min = .. }`, `{ max = .. }` or both"));
        }
        let top = ceiling.unwrap_or(f64::INFINITY);
        for (end, value) in [("min", min), ("max", max)] {
            if let Some(v) = value
                && !(v.is_finite() && (0.0..=top).contains(&v))
            {
                let what = if ceiling.is_some() { "a share from 0 to 1" } else { "a finite number, 0 or more" };
                return Err(self.invalid(&raw.span(), &format!("{field}.{end}"), &format!("{what}; got {v}")));
            }
        }
        if let (Some(a), Some(b)) = (min, max)
            && a > b
        {
            return Err(self.invalid(&raw.span(), &field, &format!("`min` ({a}) not above `max` ({b})")));
        }
        Ok(Some(Bounds { min, max }))
    }

    fn share(&self, raw: &Number, field: &str) -> Result<f64, ScenarioError> {
        let v = *raw.get_ref();
        if v.is_finite() && (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(self.invalid(&raw.span(), field, &format!("a share from 0 to 1; got {v}")))
        }
    }

    /// Seconds since midnight of `"HH:MM"`, `"HH:MM:SS"` or a TOML local time; `24:00` is the day's end.
    fn time(&self, raw: &TimeOfDay, field: &str) -> Result<f64, ScenarioError> {
        let parsed = match raw.get_ref() {
            toml::Value::String(s) => parse_clock(s),
            toml::Value::Datetime(d) if d.date.is_none() && d.offset.is_none() => d
                .time
                .map(|t| f64::from(t.hour) * 3600.0 + f64::from(t.minute) * 60.0 + f64::from(t.second.unwrap_or(0))),
            _ => None,
        };
        parsed.ok_or_else(|| {
            self.invalid(
                &raw.span(),
                field,
                "a time of day, \"HH:MM\" or \"HH:MM:SS\" (\"08:30\", \"24:00\" for the day's end)",
            )
        })
    }

    fn error(
        &self,
        span: &Range<usize>,
        field: impl Into<String>,
        kind: ErrorKind,
        problem: impl Into<String>,
    ) -> ScenarioError {
        let (line, column) = self.source.position(span.start);
        ScenarioError {
            file: self.source.file.to_owned(),
            line,
            column,
            field: field.into(),
            kind,
            problem: problem.into(),
            rules: None,
        }
    }

    fn invalid(&self, span: &Range<usize>, field: &str, expected: &str) -> ScenarioError {
        self.error(span, field, ErrorKind::InvalidValue, format!("expected {expected}"))
    }
}

/// A reader's or scanner's fault spec is the device's own (`rte-bad-bcc`, `hang:at=3`) or a line fault of its link
/// (`flip:p=0.001`).
fn with_line_faults(spec: &str, own: Result<(), khil_link::fault::FaultSpecError>) -> Result<(), String> {
    let Err(own) = own else { return Ok(()) };
    match spec.parse::<khil_link::fault::Fault>() {
        Ok(_) => Ok(()),
        // An unknown kind for both: the device's message lists its kinds; a line kind's other error is its own.
        Err(line) if line.part == "kind" => Err(format!("{own}; or a line fault ({})", line.expected)),
        Err(line) => Err(line.to_string()),
    }
}

/// `HH:MM` or `HH:MM:SS`, up to `24:00`.
fn parse_clock(text: &str) -> Option<f64> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.len() != 2 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let n: Vec<u32> = parts.iter().map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let (h, m, s) = (n[0], n[1], n.get(2).copied().unwrap_or(0));
    let seconds = h * 3600 + m * 60 + s;
    (m < 60 && s < 60 && (h < 24 || seconds == 86_400)).then_some(f64::from(seconds))
}

/// A time of day as `HH:MM:SS` (messages).
pub fn clock(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Every key path of a table with an `action` key: the rules' ids.
fn rule_ids(table: &toml::Table, prefix: &str, out: &mut Vec<String>) {
    for (key, value) in table {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        if let toml::Value::Table(inner) = value {
            if inner.contains_key("action") {
                out.push(path);
            } else {
                rule_ids(inner, &path, out);
            }
        }
    }
}
