//! A loaded, validated rule file: every rule with its id, its line and its action.

use khil_mrtd::mrz::CivilDate;

use super::model::{Action, DeviceClass, Direction, DocumentKind};

/// One rule that can fire: its id (the key path in the file), its line, and what it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub line: u32,
    pub action: Action,
}

/// A rule file, validated. Built by [`Rules::parse`](super::Rules::parse) or [`Rules::load`](super::Rules::load);
/// evaluated by [`Rules::decide`](super::Rules::decide).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub(crate) file: String,
    pub(crate) version: String,
    pub(crate) document: DocumentRules,
    pub(crate) visa: VisaRules,
    pub(crate) stay: StayRules,
    pub(crate) bans: BanRules,
    pub(crate) minors: MinorRules,
    pub(crate) watchlist: WatchlistRules,
    pub(crate) biometric: BiometricRules,
    pub(crate) degraded: Vec<DegradedRule>,
}

impl Rules {
    /// The rule file's `version`, stamped in every verdict.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The file it was loaded from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// How many 1:1 captures the flow makes before the biometric rule refers (`biometric.attempts`).
    pub fn biometric_attempts(&self) -> u32 {
        self.biometric.attempts
    }

    /// Whether the rules allow falling back to another device of this class (`degraded.<class>.fallback`).
    pub fn fallback_allowed(&self, class: DeviceClass) -> bool {
        self.degraded.iter().any(|d| d.class == class && d.fallback)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DocumentRules {
    pub(crate) accepted: Vec<DocumentKind>,
    pub(crate) not_accepted: Rule,
    pub(crate) expired: Rule,
    pub(crate) min_remaining_months_on_entry: u32,
    pub(crate) remaining_validity: Rule,
    pub(crate) forged_or_altered: Rule,
    pub(crate) unable_to_examine: Rule,
    pub(crate) not_examined: Rule,
    pub(crate) chip_failed: Rule,
    pub(crate) chip_not_opened: Rule,
    pub(crate) no_chip: Rule,
    pub(crate) chip_not_read: Rule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VisaRules {
    pub(crate) required: Rule,
    pub(crate) invalid: Rule,
    pub(crate) exempt: Vec<NationalityList>,
    pub(crate) waiver: Waiver,
    pub(crate) e_visa: EVisa,
    pub(crate) transit_e_visa: EVisa,
}

/// Nationalities allowed a stay of `days` without a visa.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NationalityList {
    pub(crate) id: String,
    pub(crate) line: u32,
    pub(crate) days: u32,
    pub(crate) nationalities: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Waiver {
    pub(crate) list: NationalityList,
    /// The last day of entry under the waiver.
    pub(crate) until: CivilDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EVisa {
    pub(crate) entries: u32,
    pub(crate) validity_days: u32,
    pub(crate) stay_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StayRules {
    pub(crate) no_entry_record: Rule,
    pub(crate) registration_after_days: u32,
    pub(crate) unregistered: Rule,
    pub(crate) unregistered_fine_mnt: u64,
    pub(crate) overstay: Rule,
    pub(crate) overstay_fine_per_day_mnt: u64,
    pub(crate) deportation_after_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BanRules {
    pub(crate) entry: Rule,
    pub(crate) exit: Rule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MinorRules {
    pub(crate) line: u32,
    pub(crate) under_age: u32,
    pub(crate) directions: Vec<Direction>,
    pub(crate) age_unknown: Rule,
    pub(crate) parent_without_birth_certificate: Rule,
    pub(crate) guardian_without_decree: Rule,
    pub(crate) other_adult_without_power_of_attorney: Rule,
    pub(crate) alone: Rule,
    pub(crate) destination_unclear: Rule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WatchlistRules {
    pub(crate) not_searched: Rule,
    pub(crate) wanted: Rule,
    pub(crate) trafficking_suspect: Rule,
    pub(crate) lost_stolen_document: Rule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BiometricRules {
    pub(crate) attempts: u32,
    pub(crate) no_match: Rule,
    pub(crate) not_possible: Rule,
    pub(crate) not_performed: Rule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DegradedRule {
    pub(crate) class: DeviceClass,
    pub(crate) fallback: bool,
    pub(crate) no_fallback: Rule,
}
