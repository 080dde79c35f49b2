//! The rule file: TOML as written (spans kept for line numbers), then validated into [`Rules`]. A file with any
//! error is refused whole: nothing of it is used.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use khil_mrtd::mrz::CivilDate;
use serde::Deserialize;
use toml::Spanned;

use super::config::{
    BanRules, BiometricRules, DegradedRule, DocumentRules, EVisa, MinorRules, NationalityList, Rule, Rules, StayRules,
    VisaRules, Waiver, WatchlistRules,
};
use super::error::{ErrorKind, RulesError, Source};
use super::model::{Action, ActionKind, DeviceClass, Direction, DocumentKind, Priority};
use super::nationality;

impl Rules {
    /// Reads and validates a rule file.
    pub fn load(path: &Path) -> Result<Rules, RulesError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| RulesError {
            file: file.clone(),
            line: 0,
            column: 0,
            field: "(document)".to_owned(),
            kind: ErrorKind::Unreadable,
            problem: format!("cannot read it: {e}"),
        })?;
        Rules::parse(&file, &text)
    }

    /// Validates a rule file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Rules, RulesError> {
        let source = Source { file, text };
        let raw: RawRules = toml::from_str(text).map_err(|e| source.toml_error(&e))?;
        Validator { source, seen: HashMap::new() }.rules(&raw)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    version: Spanned<String>,
    document: RawDocument,
    visa: RawVisa,
    stay: RawStay,
    bans: RawBans,
    minors: Spanned<RawMinors>,
    watchlist: RawWatchlist,
    biometric: RawBiometric,
    degraded: RawDegraded,
}

type Count = Spanned<i64>;
type RawRule = Spanned<RawAction>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    action: ActionKind,
    priority: Option<Priority>,
    seize_document: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    accepted: Vec<DocumentKind>,
    not_accepted: RawRule,
    expired: RawRule,
    min_remaining_months_on_entry: Count,
    remaining_validity: RawRule,
    forged_or_altered: RawRule,
    unable_to_examine: RawRule,
    not_examined: RawRule,
    chip_failed: RawRule,
    chip_not_opened: RawRule,
    no_chip: RawRule,
    chip_not_read: RawRule,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVisa {
    required: RawRule,
    invalid: RawRule,
    exempt: Vec<Spanned<RawList>>,
    waiver: Spanned<RawWaiver>,
    e_visa: Spanned<RawEVisa>,
    transit_e_visa: Spanned<RawEVisa>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    days: Count,
    nationalities: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    days: Count,
    until: Spanned<toml::value::Datetime>,
    nationalities: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEVisa {
    entries: Count,
    validity_days: Count,
    stay_days: Count,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStay {
    no_entry_record: RawRule,
    registration_after_days: Count,
    unregistered: RawRule,
    unregistered_fine_mnt: Count,
    overstay: RawRule,
    overstay_fine_per_day_mnt: Count,
    deportation_after_days: Count,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBans {
    entry: RawRule,
    exit: RawRule,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMinors {
    under_age: Count,
    directions: Vec<Direction>,
    age_unknown: RawRule,
    parent_without_birth_certificate: RawRule,
    guardian_without_decree: RawRule,
    other_adult_without_power_of_attorney: RawRule,
    alone: RawRule,
    destination_unclear: RawRule,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWatchlist {
    not_searched: RawRule,
    wanted: RawRule,
    trafficking_suspect: RawRule,
    lost_stolen_document: RawRule,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBiometric {
    attempts: Count,
    no_match: RawRule,
    not_possible: RawRule,
    not_performed: RawRule,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDegraded {
    document_reader: Spanned<RawDegradedClass>,
    chip_reader: Spanned<RawDegradedClass>,
    fingerprint_scanner: Spanned<RawDegradedClass>,
    central_link: Spanned<RawDegradedClass>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDegradedClass {
    fallback: bool,
    no_fallback: RawRule,
}

struct Validator<'a> {
    source: Source<'a>,
    /// Each nationality listed in the visa lists, with the field and line where it first appeared.
    seen: HashMap<String, (String, u32)>,
}

impl Validator<'_> {
    fn rules(mut self, raw: &RawRules) -> Result<Rules, RulesError> {
        let version = raw.version.get_ref().trim();
        if version.is_empty() {
            return Err(self.invalid(&raw.version.span(), "version", "a non-empty version (stamped in every verdict)"));
        }
        let document = self.document(&raw.document)?;
        let visa = self.visa(&raw.visa)?;
        let stay = self.stay(&raw.stay)?;
        let bans = BanRules {
            entry: self.rule("bans.entry", &raw.bans.entry)?,
            exit: self.rule("bans.exit", &raw.bans.exit)?,
        };
        let minors = self.minors(&raw.minors)?;
        let w = &raw.watchlist;
        let watchlist = WatchlistRules {
            not_searched: self.rule("watchlist.not_searched", &w.not_searched)?,
            wanted: self.rule("watchlist.wanted", &w.wanted)?,
            trafficking_suspect: self.rule("watchlist.trafficking_suspect", &w.trafficking_suspect)?,
            lost_stolen_document: self.rule("watchlist.lost_stolen_document", &w.lost_stolen_document)?,
        };
        let b = &raw.biometric;
        let attempts = self.count("biometric.attempts", &b.attempts)?;
        if attempts == 0 {
            return Err(self.invalid(&b.attempts.span(), "biometric.attempts", "at least 1 capture"));
        }
        let biometric = BiometricRules {
            attempts,
            no_match: self.rule("biometric.no_match", &b.no_match)?,
            not_possible: self.rule("biometric.not_possible", &b.not_possible)?,
            not_performed: self.rule("biometric.not_performed", &b.not_performed)?,
        };
        let d = &raw.degraded;
        let degraded = [
            (DeviceClass::DocumentReader, &d.document_reader),
            (DeviceClass::ChipReader, &d.chip_reader),
            (DeviceClass::FingerprintScanner, &d.fingerprint_scanner),
            (DeviceClass::CentralLink, &d.central_link),
        ]
        .into_iter()
        .map(|(class, raw)| {
            Ok(DegradedRule {
                class,
                fallback: raw.get_ref().fallback,
                no_fallback: self
                    .rule(&format!("degraded.{}.no_fallback", class.name()), &raw.get_ref().no_fallback)?,
            })
        })
        .collect::<Result<_, RulesError>>()?;
        Ok(Rules {
            file: self.source.file.to_owned(),
            version: version.to_owned(),
            document,
            visa,
            stay,
            bans,
            minors,
            watchlist,
            biometric,
            degraded,
        })
    }

    fn document(&mut self, r: &RawDocument) -> Result<DocumentRules, RulesError> {
        Ok(DocumentRules {
            accepted: r.accepted.clone(),
            not_accepted: self.rule("document.not_accepted", &r.not_accepted)?,
            expired: self.rule("document.expired", &r.expired)?,
            min_remaining_months_on_entry: self
                .count("document.min_remaining_months_on_entry", &r.min_remaining_months_on_entry)?,
            remaining_validity: self.rule("document.remaining_validity", &r.remaining_validity)?,
            forged_or_altered: self.rule("document.forged_or_altered", &r.forged_or_altered)?,
            unable_to_examine: self.rule("document.unable_to_examine", &r.unable_to_examine)?,
            not_examined: self.rule("document.not_examined", &r.not_examined)?,
            chip_failed: self.rule("document.chip_failed", &r.chip_failed)?,
            chip_not_opened: self.rule("document.chip_not_opened", &r.chip_not_opened)?,
            no_chip: self.rule("document.no_chip", &r.no_chip)?,
            chip_not_read: self.rule("document.chip_not_read", &r.chip_not_read)?,
        })
    }

    fn visa(&mut self, raw: &RawVisa) -> Result<VisaRules, RulesError> {
        let mut exempt = Vec::new();
        for (i, list) in raw.exempt.iter().enumerate() {
            exempt.push(self.list(
                &format!("visa.exempt[{i}]"),
                &list.span(),
                &list.get_ref().days,
                &list.get_ref().nationalities,
            )?);
        }
        let w = raw.waiver.get_ref();
        let list = self.list("visa.waiver", &raw.waiver.span(), &w.days, &w.nationalities)?;
        let until = self.date("visa.waiver.until", &w.until)?;
        Ok(VisaRules {
            required: self.rule("visa.required", &raw.required)?,
            invalid: self.rule("visa.invalid", &raw.invalid)?,
            exempt,
            waiver: Waiver { list, until },
            e_visa: self.e_visa("visa.e_visa", &raw.e_visa)?,
            transit_e_visa: self.e_visa("visa.transit_e_visa", &raw.transit_e_visa)?,
        })
    }

    fn list(
        &mut self,
        id: &str,
        span: &Range<usize>,
        days: &Count,
        nationalities: &[Spanned<String>],
    ) -> Result<NationalityList, RulesError> {
        let days = self.count(&format!("{id}.days"), days)?;
        let mut codes = Vec::new();
        for (i, code) in nationalities.iter().enumerate() {
            let field = format!("{id}.nationalities[{i}]");
            let text = code.get_ref();
            let line = self.source.line(&code.span());
            if !nationality::is_known(text) {
                return Err(self.source.error(
                    &code.span(),
                    field,
                    ErrorKind::UnknownNationality,
                    format!("unknown nationality `{text}`; expected {}", nationality::expected_for(text)),
                ));
            }
            if let Some((first, first_line)) = self.seen.get(text) {
                return Err(self.source.error(
                    &code.span(),
                    field,
                    ErrorKind::DuplicateNationality,
                    format!(
                        "`{text}` is already listed at `{first}` (line {first_line}); a nationality belongs to one list"
                    ),
                ));
            }
            self.seen.insert(text.clone(), (field, line));
            codes.push(text.clone());
        }
        Ok(NationalityList { id: id.to_owned(), line: self.source.line(span), days, nationalities: codes })
    }

    fn e_visa(&self, id: &str, raw: &Spanned<RawEVisa>) -> Result<EVisa, RulesError> {
        let r = raw.get_ref();
        let entries = self.count(&format!("{id}.entries"), &r.entries)?;
        let validity_days = self.count(&format!("{id}.validity_days"), &r.validity_days)?;
        for (value, field, span) in
            [(entries, "entries", r.entries.span()), (validity_days, "validity_days", r.validity_days.span())]
        {
            if value == 0 {
                return Err(self.invalid(&span, &format!("{id}.{field}"), "at least 1"));
            }
        }
        Ok(EVisa { entries, validity_days, stay_days: self.count(&format!("{id}.stay_days"), &r.stay_days)? })
    }

    fn stay(&self, r: &RawStay) -> Result<StayRules, RulesError> {
        Ok(StayRules {
            no_entry_record: self.rule("stay.no_entry_record", &r.no_entry_record)?,
            registration_after_days: self.count("stay.registration_after_days", &r.registration_after_days)?,
            unregistered: self.rule("stay.unregistered", &r.unregistered)?,
            unregistered_fine_mnt: u64::from(self.count("stay.unregistered_fine_mnt", &r.unregistered_fine_mnt)?),
            overstay: self.rule("stay.overstay", &r.overstay)?,
            overstay_fine_per_day_mnt: u64::from(
                self.count("stay.overstay_fine_per_day_mnt", &r.overstay_fine_per_day_mnt)?,
            ),
            deportation_after_days: self.count("stay.deportation_after_days", &r.deportation_after_days)?,
        })
    }

    fn minors(&self, raw: &Spanned<RawMinors>) -> Result<MinorRules, RulesError> {
        let r = raw.get_ref();
        let under_age = self.count("minors.under_age", &r.under_age)?;
        if !(1..=30).contains(&under_age) {
            return Err(self.invalid(&r.under_age.span(), "minors.under_age", "an age from 1 to 30 (years)"));
        }
        Ok(MinorRules {
            line: self.source.line(&raw.span()),
            under_age,
            directions: r.directions.clone(),
            age_unknown: self.rule("minors.age_unknown", &r.age_unknown)?,
            parent_without_birth_certificate: self
                .rule("minors.parent_without_birth_certificate", &r.parent_without_birth_certificate)?,
            guardian_without_decree: self.rule("minors.guardian_without_decree", &r.guardian_without_decree)?,
            other_adult_without_power_of_attorney: self
                .rule("minors.other_adult_without_power_of_attorney", &r.other_adult_without_power_of_attorney)?,
            alone: self.rule("minors.alone", &r.alone)?,
            destination_unclear: self.rule("minors.destination_unclear", &r.destination_unclear)?,
        })
    }

    fn rule(&self, id: &str, raw: &RawRule) -> Result<Rule, RulesError> {
        let r = raw.get_ref();
        let kind = r.action;
        let priority = match (kind, r.priority) {
            (ActionKind::Release, None) => Priority::Routine,
            (ActionKind::Release, Some(_)) => {
                return Err(self.invalid(
                    &raw.span(),
                    &format!("{id}.priority"),
                    "no priority with `release` (nobody is sent to the desk)",
                ));
            }
            (_, None) => {
                return Err(self.source.error(
                    &raw.span(),
                    format!("{id}.priority"),
                    ErrorKind::MissingField,
                    "missing field `priority`; expected `routine`, `urgent` or `immediate` (the desk's queue order)",
                ));
            }
            (_, Some(priority)) => priority,
        };
        let seize_document = r.seize_document.unwrap_or(false);
        if seize_document && kind == ActionKind::Release {
            return Err(self.invalid(
                &raw.span(),
                &format!("{id}.seize_document"),
                "no seizure with `release` (nobody sees the document)",
            ));
        }
        Ok(Rule {
            id: id.to_owned(),
            line: self.source.line(&raw.span()),
            action: Action { kind, priority, seize_document },
        })
    }

    fn count(&self, field: &str, raw: &Count) -> Result<u32, RulesError> {
        let value = *raw.get_ref();
        if value < 0 {
            return Err(self.source.error(
                &raw.span(),
                field,
                ErrorKind::Negative,
                format!("{value} is negative; expected 0 or more"),
            ));
        }
        u32::try_from(value).map_err(|_| self.invalid(&raw.span(), field, &format!("at most {}", u32::MAX)))
    }

    fn date(&self, field: &str, raw: &Spanned<toml::value::Datetime>) -> Result<CivilDate, RulesError> {
        let value = raw.get_ref();
        let date = match (value.date, value.time, value.offset) {
            (Some(d), None, None) => CivilDate::new(d.year, d.month, d.day),
            _ => None,
        };
        date.ok_or_else(|| self.invalid(&raw.span(), field, "a date without a time (`2026-12-31`)"))
    }

    fn invalid(&self, span: &Range<usize>, field: &str, expected: &str) -> RulesError {
        self.source.error(span, field, ErrorKind::InvalidValue, format!("expected {expected}"))
    }
}
