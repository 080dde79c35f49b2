//! Evaluating the rules on a traveller's facts. Total: every input gives a verdict with at least one reason (the
//! document's rules always apply), and nothing here panics or reads a clock.

use khil_mrtd::mrz::CivilDate;

use super::config::{EVisa, NationalityList, Rule, Rules};
use super::model::{
    ActionKind, Biometric, Chip, Companion, Direction, Examination, Facts, HitClass, Outcome, Priority, Reason,
    Verdict, Visa, VisaKind,
};

impl Rules {
    /// The verdict on `facts` on the day `today` (the border point's local date).
    pub fn decide(&self, facts: &Facts, today: CivilDate) -> Verdict {
        let mut reasons = Reasons(Vec::new());
        self.document(facts, today, &mut reasons);
        self.bans(facts, &mut reasons);
        self.watchlist(facts, &mut reasons);
        self.biometric(facts, &mut reasons);
        if !facts.traveller.citizen {
            match facts.direction {
                Direction::Entry => self.visa(facts, today, &mut reasons),
                Direction::Exit => self.stay(facts, today, &mut reasons),
            }
        }
        self.minors(facts, today, &mut reasons);
        self.degraded(facts, &mut reasons);
        verdict(reasons.0, self.version.clone(), facts.watchlist.as_ref().map(|w| w.list_version.clone()))
    }

    fn document(&self, facts: &Facts, today: CivilDate, out: &mut Reasons) {
        let rules = &self.document;
        let document = &facts.document;
        let kind = document.kind.name();
        if rules.accepted.contains(&document.kind) {
            out.pass(&rules.not_accepted, format!("document kind {kind} accepted"));
        } else {
            out.fire(&rules.not_accepted, format!("document kind {kind} is not accepted at this gate"));
        }
        if document.expiry < today {
            out.fire(&rules.expired, "document expired".to_owned());
        } else {
            out.pass(&rules.expired, "document not expired".to_owned());
        }
        if facts.direction == Direction::Entry && !facts.traveller.citizen {
            let months = rules.min_remaining_months_on_entry;
            if ymd(document.expiry) < months_later(today, months) {
                out.fire(
                    &rules.remaining_validity,
                    format!("document valid for less than the {months} months required on entry"),
                );
            } else {
                out.pass(&rules.remaining_validity, format!("document valid for at least {months} months"));
            }
        }
        match document.examination {
            Examination::Genuine => out.pass(&rules.forged_or_altered, "examination: genuine".to_owned()),
            Examination::ForgedOrAltered => {
                out.fire(&rules.forged_or_altered, "examination: forged or altered".to_owned());
            }
            Examination::UnableToExamine => {
                out.fire(&rules.unable_to_examine, "examination: unable to examine the document".to_owned());
            }
            Examination::NotExamined => out.fire(&rules.not_examined, "the document was not examined".to_owned()),
        }
        match document.chip {
            Chip::Authenticated => out.pass(&rules.chip_failed, "chip authenticated".to_owned()),
            Chip::Failed => out.fire(&rules.chip_failed, "chip authentication failed".to_owned()),
            Chip::NotOpened => out.fire(
                &rules.chip_not_opened,
                "the chip did not open with the printed MRZ's keys (page and chip differ)".to_owned(),
            ),
            Chip::NoChip => out.fire(&rules.no_chip, "the document has no chip".to_owned()),
            Chip::NotRead => out.fire(&rules.chip_not_read, "the chip was not read".to_owned()),
        }
    }

    fn bans(&self, facts: &Facts, out: &mut Reasons) {
        let (rule, way) = match facts.direction {
            Direction::Entry => (&self.bans.entry, "entry"),
            Direction::Exit => (&self.bans.exit, "exit"),
        };
        let mut any = false;
        for ban in facts.bans.iter().filter(|b| b.direction == facts.direction) {
            any = true;
            let by = match ban.matched_by {
                super::model::BanMatch::Person => "the person",
                super::model::BanMatch::Document => "the document",
            };
            out.fire(rule, format!("{way} ban matched on {by}"));
        }
        if !any {
            out.pass(rule, format!("no {way} ban"));
        }
    }

    fn watchlist(&self, facts: &Facts, out: &mut Reasons) {
        let rules = &self.watchlist;
        let Some(search) = &facts.watchlist else {
            out.fire(&rules.not_searched, "the watchlist search could not be made".to_owned());
            return;
        };
        let version = &search.list_version;
        for (class, rule, name) in [
            (HitClass::Wanted, &rules.wanted, "wanted person"),
            (HitClass::TraffickingSuspect, &rules.trafficking_suspect, "trafficking suspect"),
            (HitClass::LostStolenDocument, &rules.lost_stolen_document, "lost or stolen document"),
        ] {
            if search.hits.contains(&class) {
                out.fire(rule, format!("watchlist hit: {name} (list version {version})"));
            } else {
                out.pass(rule, format!("no {name} hit (list version {version})"));
            }
        }
    }

    fn biometric(&self, facts: &Facts, out: &mut Reasons) {
        let rules = &self.biometric;
        match facts.biometric {
            Biometric::Match => out.pass(&rules.no_match, "fingerprint matched the reference".to_owned()),
            Biometric::NoMatch { attempts } => out.fire(
                &rules.no_match,
                format!("no fingerprint match after {attempts} captures ({} configured)", rules.attempts),
            ),
            Biometric::NotPossible => {
                out.fire(&rules.not_possible, "fingerprint verification not possible".to_owned());
            }
            Biometric::NotPerformed => {
                out.fire(&rules.not_performed, "fingerprint verification not performed".to_owned());
            }
        }
    }

    fn visa(&self, facts: &Facts, today: CivilDate, out: &mut Reasons) {
        let rules = &self.visa;
        match self.permission(&facts.traveller.nationality, facts.visa.as_ref(), today) {
            Permission::Exempt(list) => {
                out.pass_at(&list.id, list.line, format!("visa-exempt by agreement, stay up to {} days", list.days));
            }
            Permission::Waiver(list) => out.pass_at(
                &list.id,
                list.line,
                format!("visa waiver until {}, stay up to {} days", rules.waiver.until, list.days),
            ),
            Permission::Visa(visa) => match self.visa_terms(visa) {
                Terms { problem: Some(problem), .. } => out.fire(&rules.invalid, problem.to_owned()),
                terms => match visa_problem(visa, &terms, today) {
                    Some(problem) => out.fire(&rules.invalid, problem),
                    None => out.pass(&rules.invalid, format!("{} valid for this entry", terms.name)),
                },
            },
            Permission::None => out.fire(&rules.required, "visa required and none found".to_owned()),
        }
    }

    fn stay(&self, facts: &Facts, today: CivilDate, out: &mut Reasons) {
        let rules = &self.stay;
        let Some(stay) = &facts.stay else {
            out.fire(&rules.no_entry_record, "no entry record found for this stay".to_owned());
            return;
        };
        let entered = stay.entry_date.days_since_epoch();
        // The day of entry counts as the first day of the stay.
        let stayed = today.days_since_epoch() - entered + 1;
        let permission = self.permission(&facts.traveller.nationality, facts.visa.as_ref(), stay.entry_date);
        let (last_day, basis, permit) = match permission {
            Permission::Exempt(list) | Permission::Waiver(list) => {
                (entered + i64::from(list.days) - 1, format!("{} days", list.days), false)
            }
            Permission::Visa(visa) if visa.kind == VisaKind::ResidencePermit => {
                (visa.valid_to.days_since_epoch(), "a residence permit".to_owned(), true)
            }
            Permission::Visa(visa) => {
                let terms = self.visa_terms(visa);
                (entered + i64::from(terms.stay_days) - 1, format!("{} days", terms.stay_days), false)
            }
            Permission::None => (entered - 1, "no visa or exemption found".to_owned(), false),
        };
        let overstay = today.days_since_epoch() - last_day;
        if overstay > 0 {
            let fine = u64::try_from(overstay).unwrap_or(u64::MAX).saturating_mul(rules.overstay_fine_per_day_mnt);
            let deportation = if overstay > i64::from(rules.deportation_after_days) {
                format!("; beyond the {} days after which deportation applies", rules.deportation_after_days)
            } else {
                String::new()
            };
            let text = format!(
                "overstay of {overstay} days (permitted: {basis}); fine {fine} MNT at {} MNT a day{deportation}",
                rules.overstay_fine_per_day_mnt
            );
            out.fire(&rules.overstay, text);
        } else {
            out.pass(&rules.overstay, format!("stay within what is permitted ({basis})"));
        }
        let registration = rules.registration_after_days;
        if stayed > i64::from(registration) && !stay.registered && !permit {
            out.fire(
                &rules.unregistered,
                format!(
                    "stayed over {registration} days without registering; fine {} MNT",
                    rules.unregistered_fine_mnt
                ),
            );
        } else {
            out.pass(&rules.unregistered, format!("registration in order (needed after {registration} days)"));
        }
    }

    /// What allows a foreigner of `nationality` to enter on `day`: an exemption, the waiver, or a visa to check.
    fn permission<'a>(&'a self, nationality: &str, visa: Option<&'a Visa>, day: CivilDate) -> Permission<'a> {
        let rules = &self.visa;
        if let Some(list) = rules.exempt.iter().find(|l| l.nationalities.iter().any(|n| n == nationality)) {
            return Permission::Exempt(list);
        }
        let waiver = &rules.waiver;
        if day <= waiver.until && waiver.list.nationalities.iter().any(|n| n == nationality) {
            return Permission::Waiver(&waiver.list);
        }
        visa.map_or(Permission::None, Permission::Visa)
    }

    fn visa_terms(&self, visa: &Visa) -> Terms {
        let e_visa = |rules: &EVisa, name: &'static str| Terms {
            name,
            entries: Some(rules.entries),
            last_day: visa
                .valid_to
                .days_since_epoch()
                .min(visa.valid_from.days_since_epoch() + i64::from(rules.validity_days) - 1),
            stay_days: rules.stay_days,
            problem: None,
        };
        let terms = match visa.kind {
            VisaKind::EVisa => e_visa(&self.visa.e_visa, "e-visa"),
            VisaKind::TransitEVisa => e_visa(&self.visa.transit_e_visa, "transit e-visa"),
            VisaKind::Consular { entries, stay_days } => {
                Terms { name: "visa", entries, last_day: visa.valid_to.days_since_epoch(), stay_days, problem: None }
            }
            VisaKind::ResidencePermit => Terms {
                name: "residence permit",
                entries: None,
                last_day: visa.valid_to.days_since_epoch(),
                stay_days: 0,
                problem: None,
            },
        };
        if visa.valid_to < visa.valid_from {
            return Terms { problem: Some("the visa's validity ends before it begins"), ..terms };
        }
        terms
    }

    fn minors(&self, facts: &Facts, today: CivilDate, out: &mut Reasons) {
        let rules = &self.minors;
        if !rules.directions.contains(&facts.direction) {
            return;
        }
        let Some(age) = facts.traveller.date_of_birth.and_then(|born| age(born, today)) else {
            out.fire(&rules.age_unknown, "age unknown: the date of birth is missing or after today".to_owned());
            return;
        };
        let limit = rules.under_age;
        if age >= limit {
            out.pass_at("minors", rules.line, format!("not a minor (under {limit})"));
            return;
        }
        if facts.traveller.destination_known {
            out.pass(&rules.destination_unclear, "minor: destination known".to_owned());
        } else {
            out.fire(&rules.destination_unclear, "minor: destination unclear".to_owned());
        }
        match facts.traveller.companion {
            Companion::Parent { same_surname, birth_certificate } => {
                if same_surname || birth_certificate {
                    out.pass(&rules.parent_without_birth_certificate, "minor with a parent".to_owned());
                } else {
                    out.fire(
                        &rules.parent_without_birth_certificate,
                        "minor with a parent of another name and no birth certificate".to_owned(),
                    );
                }
            }
            Companion::Guardian { decree: true } => {
                out.pass(&rules.guardian_without_decree, "minor with a guardian and the decree".to_owned());
            }
            Companion::Guardian { decree: false } => {
                out.fire(&rules.guardian_without_decree, "minor with a guardian and no guardianship decree".to_owned());
            }
            Companion::OtherAdult { power_of_attorney: true } => out.pass(
                &rules.other_adult_without_power_of_attorney,
                "minor with another adult and a notarised power of attorney".to_owned(),
            ),
            Companion::OtherAdult { power_of_attorney: false } => out.fire(
                &rules.other_adult_without_power_of_attorney,
                "minor with an adult who is not a parent or guardian, without a power of attorney".to_owned(),
            ),
            Companion::None => out.fire(&rules.alone, "minor travelling alone (trafficking concern)".to_owned()),
        }
    }

    fn degraded(&self, facts: &Facts, out: &mut Reasons) {
        for device in &facts.devices {
            let Some(rule) = self.degraded.iter().find(|d| d.class == device.class) else {
                continue;
            };
            let name = device.class.name();
            if device.up {
                out.pass(&rule.no_fallback, format!("{name} working"));
            } else if device.fallback_available && rule.fallback {
                out.pass(&rule.no_fallback, format!("{name} down; the gate falls back to its other one"));
            } else if device.fallback_available {
                out.fire(&rule.no_fallback, format!("{name} down; the rules allow no fallback"));
            } else {
                out.fire(&rule.no_fallback, format!("{name} down and the gate has no other one"));
            }
        }
    }
}

enum Permission<'a> {
    Exempt(&'a NationalityList),
    Waiver(&'a NationalityList),
    Visa(&'a Visa),
    None,
}

struct Terms {
    name: &'static str,
    /// `None`: any number.
    entries: Option<u32>,
    last_day: i64,
    stay_days: u32,
    problem: Option<&'static str>,
}

fn visa_problem(visa: &Visa, terms: &Terms, today: CivilDate) -> Option<String> {
    let name = terms.name;
    let day = today.days_since_epoch();
    if day < visa.valid_from.days_since_epoch() {
        return Some(format!("{name} not yet valid"));
    }
    if day > terms.last_day {
        return Some(format!("{name} no longer valid"));
    }
    match terms.entries {
        Some(entries) if visa.entries_used >= entries => {
            Some(format!("{name}'s entries used ({} of {entries})", visa.entries_used))
        }
        _ => None,
    }
}

/// Whole years from `born` to `today`; `None` when born after today.
fn age(born: CivilDate, today: CivilDate) -> Option<u32> {
    if born > today {
        return None;
    }
    let years = u32::from(today.year()) - u32::from(born.year());
    let before_birthday = (today.month(), today.day()) < (born.month(), born.day());
    Some(years - u32::from(before_birthday))
}

fn ymd(date: CivilDate) -> (u32, u8, u8) {
    (u32::from(date.year()), date.month(), date.day())
}

/// The same day `months` later, as (year, month, day), the day clamped to the month's length (31 August plus 6
/// months is 28 or 29 February). Years past 9999 are fine: it is only compared.
fn months_later(date: CivilDate, months: u32) -> (u32, u8, u8) {
    let index = u64::from(date.year()) * 12 + u64::from(date.month() - 1) + u64::from(months);
    let year = u32::try_from(index / 12).unwrap_or(u32::MAX);
    let month = (index % 12) as u8 + 1;
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let length = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (year, month, date.day().min(length))
}

struct Reasons(Vec<Reason>);

impl Reasons {
    fn pass(&mut self, rule: &Rule, text: String) {
        self.pass_at(&rule.id, rule.line, text);
    }

    fn pass_at(&mut self, id: &str, line: u32, text: String) {
        self.0.push(Reason { rule: id.to_owned(), line, fired: None, text });
    }

    fn fire(&mut self, rule: &Rule, text: String) {
        self.0.push(Reason { rule: rule.id.clone(), line: rule.line, fired: Some(rule.action), text });
    }
}

fn verdict(reasons: Vec<Reason>, rules_version: String, watchlist_version: Option<String>) -> Verdict {
    let acting = || reasons.iter().filter_map(|r| r.fired).filter(|a| a.kind != ActionKind::Release);
    let kind = acting().map(|a| a.kind).max().unwrap_or(ActionKind::Release);
    let priority = acting().map(|a| a.priority).max().unwrap_or(Priority::Routine);
    let seize_document = acting().any(|a| a.seize_document);
    let outcome = match kind {
        ActionKind::Release => Outcome::Release,
        ActionKind::Refer => Outcome::Refer { priority },
        ActionKind::Refuse => Outcome::Refuse { priority },
        ActionKind::Detain => Outcome::Detain { priority },
    };
    Verdict { outcome, seize_document, reasons, rules_version, watchlist_version }
}
