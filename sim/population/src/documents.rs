//! Travel documents of synthetic people: passports (TD3), identity cards (TD1, and TD2 from Utopia) and visas
//! (MRV-A, MRV-B) issued by Mongolia, China, Russia, Korea, Kazakhstan, Germany and ICAO's specimen state
//! Utopia, each with its MRZ made by `khil_mrtd::mrz`'s generator. Document `id` of a seed is the same document
//! on every run and on every machine, whichever documents were drawn before it: each draws from its own
//! ChaCha8 stream.
//!
//! Names are romanised as the issuing state prints them on the data page: Russian ones by ICAO 9303-3's Cyrillic
//! table (IULIIA, DMITRII), Mongolian ones as Mongolian passports write them (KH, TS, hyphenated BAT-ERDENE),
//! Chinese ones in pinyin (compound surnames OUYANG, SIMA), Korean surnames in the spellings passports mostly
//! carry (LEE, PARK, CHOI) with given names in the Revised Romanisation, German umlauts as AE, OE, UE. Some do
//! not fit their MRZ field and are cut, some have hyphens, spaces and apostrophes. Numbers have the shape each
//! state's documents are known to carry (which positions hold letters, which digits, German numbers' reduced
//! letter set); the digits themselves are random. Plausible, not authoritative: nothing here is a real person's
//! or a real document's data.

use std::fmt;

use khil_mrtd::mrz::{CivilDate, Format, Generated, Mrz, Name, Sex};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The issuing states of the population (and of khil's test PKI, which issues their documents).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    Mongolia,
    China,
    Russia,
    Korea,
    Kazakhstan,
    Germany,
    /// ICAO 9303's specimen state.
    Utopia,
}

impl State {
    pub const ALL: [State; 7] =
        [State::Mongolia, State::China, State::Russia, State::Korea, State::Kazakhstan, State::Germany, State::Utopia];

    /// The code in the MRZ (ISO 3166-1 alpha-3, `D` for Germany as 9303-3 §5 has it, `UTO` for Utopia).
    pub fn code(self) -> &'static str {
        match self {
            State::Mongolia => "MNG",
            State::China => "CHN",
            State::Russia => "RUS",
            State::Korea => "KOR",
            State::Kazakhstan => "KAZ",
            State::Germany => "D",
            State::Utopia => "UTO",
        }
    }

    /// The two-letter country name of certificates (9303-12: ISO 3166-1 alpha-2; Utopia, the specimen state, has
    /// none and uses `UT`).
    pub fn country(self) -> &'static str {
        match self {
            State::Mongolia => "MN",
            State::China => "CN",
            State::Russia => "RU",
            State::Korea => "KR",
            State::Kazakhstan => "KZ",
            State::Germany => "DE",
            State::Utopia => "UT",
        }
    }

    /// The state of an MRZ code (`MNG`, `D`, ...).
    pub fn from_code(code: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Share of the population holding this nationality, in percent (a border crossing in Mongolia).
    fn weight(self) -> u32 {
        match self {
            State::Mongolia => 32,
            State::China => 20,
            State::Russia => 15,
            State::Korea | State::Kazakhstan => 10,
            State::Germany => 7,
            State::Utopia => 6,
        }
    }

    /// Whether the state issues identity cards with an MRZ (TD1) that travellers here carry.
    fn has_id_card(self) -> bool {
        matches!(self, State::Mongolia | State::Kazakhstan | State::Germany | State::Utopia)
    }
}

/// What kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Passport,
    IdentityCard,
    Visa,
}

/// One travel document. `Debug` shows no personal data.
#[derive(Clone, PartialEq, Eq)]
pub struct TravelDocument {
    pub id: u64,
    pub kind: Kind,
    pub format: Format,
    /// `P`, `PP`, `PO`, `PM`, `I`, `ID`, `V`, `VC`, ...
    pub document_code: String,
    pub issuing_state: State,
    pub nationality: State,
    /// As printed on the data page: upper case, hyphens, apostrophes and spaces as the state writes them.
    pub surname: String,
    pub given_names: String,
    pub document_number: String,
    pub birth_date: CivilDate,
    pub sex: Sex,
    pub issue_date: CivilDate,
    pub expiry_date: CivilDate,
    /// A state's personal number (Kazakhstan's IIN, Mongolia's register number), where its documents carry one.
    pub personal_number: Option<String>,
    /// Other optional data (a visa: the holder's passport number; TD1: line 2's field).
    pub optional_data: String,
}

impl fmt::Debug for TravelDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TravelDocument")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("format", &self.format)
            .field("issuing_state", &self.issuing_state)
            .field("nationality", &self.nationality)
            .finish_non_exhaustive()
    }
}

impl TravelDocument {
    /// The MRZ's typed fields.
    pub fn mrz_fields(&self) -> Mrz {
        let personal = self.personal_number.clone().unwrap_or_default();
        let (optional_data, optional_data_2) = match self.format {
            Format::Td1 => (personal, self.optional_data.clone()),
            Format::Td3 => (personal, String::new()),
            _ => (self.optional_data.clone(), String::new()),
        };
        Mrz {
            format: self.format,
            document_code: self.document_code.clone(),
            issuing_state: self.issuing_state.code().into(),
            name: Name::new(&self.surname, &self.given_names).expect("population names are romanised"),
            document_number: self.document_number.clone(),
            nationality: self.nationality.code().into(),
            birth_date: self.birth_date.to_mrz(),
            sex: self.sex,
            expiry_date: self.expiry_date.to_mrz(),
            optional_data,
            optional_data_2,
        }
    }

    /// The MRZ, made by khil-mrtd's generator.
    pub fn mrz(&self) -> Generated {
        self.mrz_fields().generate().expect("population documents fit their MRZ")
    }

    /// Past its date of expiry on `day`.
    pub fn expired_on(&self, day: CivilDate) -> bool {
        self.expiry_date < day
    }
}

/// The documents of one seed, dated relative to a reference day (today, in a scenario).
#[derive(Debug, Clone, Copy)]
pub struct Documents {
    seed: u64,
    reference: CivilDate,
}

impl Documents {
    pub fn new(seed: u64, reference: CivilDate) -> Documents {
        Documents { seed, reference }
    }

    /// Document `id`.
    pub fn document(&self, id: u64) -> TravelDocument {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&self.seed.to_le_bytes());
        key[8..16].copy_from_slice(&id.to_le_bytes());
        key[16..24].copy_from_slice(b"khil-doc");
        draw(&mut ChaCha8Rng::from_seed(key), id, self.reference)
    }

    /// Documents 0, 1, ... `n - 1`.
    pub fn first(&self, n: u64) -> impl Iterator<Item = TravelDocument> + '_ {
        (0..n).map(|id| self.document(id))
    }
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn digits(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect()
}

fn from_set(rng: &mut ChaCha8Rng, set: &[u8], n: usize) -> String {
    (0..n).map(|_| char::from(*pick(rng, set))).collect()
}

fn weighted_state(rng: &mut ChaCha8Rng, except: Option<State>) -> State {
    let states: Vec<State> = State::ALL.into_iter().filter(|s| Some(*s) != except).collect();
    let total: u32 = states.iter().map(|s| s.weight()).sum();
    let mut x = rng.random_range(0..total);
    for s in &states {
        if x < s.weight() {
            return *s;
        }
        x -= s.weight();
    }
    states[0]
}

fn draw(rng: &mut ChaCha8Rng, id: u64, today: CivilDate) -> TravelDocument {
    // One in ten documents here is a visa: a foreigner's, issued by another state.
    let visa = rng.random_bool(0.1);
    let nationality = weighted_state(rng, None);
    let issuing_state = if visa {
        let issuers = [State::Mongolia, State::China, State::Russia, State::Korea, State::Kazakhstan, State::Germany];
        let others: Vec<State> = issuers.into_iter().filter(|s| *s != nationality).collect();
        *pick(rng, &others)
    } else {
        nationality
    };
    let kind = if visa {
        Kind::Visa
    } else if nationality.has_id_card() && rng.random_bool(if nationality == State::Utopia { 0.6 } else { 0.3 }) {
        Kind::IdentityCard
    } else {
        Kind::Passport
    };
    let sex = match rng.random_range(0..100) {
        0..49 => Sex::Male,
        49..98 => Sex::Female,
        // Unspecified: where the state allows it.
        _ if matches!(nationality, State::Germany | State::Utopia) => Sex::Unspecified,
        _ => Sex::Female,
    };
    let (surname, given_names) = name(rng, nationality, sex);
    // Ages 0-89; children travel on passports only.
    let min_age = if kind == Kind::Passport { 0 } else { 16 };
    let age_days = rng.random_range(min_age * 365 + 1..90 * 365);
    let birth_date = today.add_days(-age_days).expect("in the calendar");
    let (issue_date, expiry_date) = validity(rng, kind, issuing_state, birth_date, today);
    // 9303-4 §4.4 as amended: a passport issued from 2026 with a second letter in its code carries the harmonised
    // one (PP for an ordinary passport, where China wrote PO and Korea PM); from 2028 every passport has one.
    let since = |year| issue_date >= CivilDate::new(year, 1, 1).expect("a day");
    let (format, document_code) = match (kind, issuing_state) {
        (Kind::Visa, State::Germany) => (Format::MrvB, "VC"),
        (Kind::Visa, _) => (Format::MrvA, "V"),
        (Kind::IdentityCard, State::Utopia) if rng.random_bool(0.4) => (Format::Td2, "I"),
        (Kind::IdentityCard, State::Utopia) => (Format::Td1, "I"),
        (Kind::IdentityCard, _) => (Format::Td1, "ID"),
        (Kind::Passport, State::China | State::Korea) if since(2026) => (Format::Td3, "PP"),
        (Kind::Passport, State::China) => (Format::Td3, "PO"),
        (Kind::Passport, State::Korea) => (Format::Td3, "PM"),
        (Kind::Passport, _) if since(2028) => (Format::Td3, "PP"),
        (Kind::Passport, _) => (Format::Td3, "P"),
    };
    let document_number = number(rng, kind, issuing_state, format);
    let personal_number = match (kind, nationality) {
        (Kind::Visa, _) => None,
        (_, State::Kazakhstan) => Some(kazakh_iin(rng, birth_date, sex)),
        (_, State::Mongolia) => Some(mongolian_register_number(rng, birth_date)),
        (Kind::Passport, State::Utopia) => Some(format!("ZE{}B", digits(rng, 6))),
        _ => None,
    };
    let optional_data = match kind {
        // The holder's passport number, as several states print it on their visas (MRV-A: the eight positions of
        // MRV-B would cut it).
        Kind::Visa if format == Format::MrvA => number(rng, Kind::Passport, nationality, Format::Td3),
        Kind::IdentityCard if format == Format::Td1 && issuing_state == State::Utopia => digits(rng, 4),
        _ => String::new(),
    };
    TravelDocument {
        id,
        kind,
        format,
        document_code: document_code.into(),
        issuing_state,
        nationality,
        surname,
        given_names,
        document_number,
        birth_date,
        sex,
        issue_date,
        expiry_date,
        personal_number,
        optional_data,
    }
}

/// Issue and expiry dates: issued up to a validity period plus two years ago (so about one document in six has
/// expired), never before the holder's birth.
fn validity(
    rng: &mut ChaCha8Rng,
    kind: Kind,
    state: State,
    birth: CivilDate,
    today: CivilDate,
) -> (CivilDate, CivilDate) {
    let age_years = i32::from(today.year()) - i32::from(birth.year());
    let years = match (kind, state) {
        (Kind::Visa, _) => 0,
        // Children's passports run five years (Germany: six years under 24).
        (Kind::Passport, State::Germany) if age_years < 24 => 6,
        (Kind::Passport, _) if age_years < 16 => 5,
        (Kind::IdentityCard, State::Utopia) => 5,
        _ => 10,
    };
    let span_days = if years == 0 { 400 } else { i64::from(years) * 365 + 730 };
    let days_alive = today.days_since_epoch() - birth.days_since_epoch();
    let issued_ago = rng.random_range(0..span_days.min(days_alive).max(1));
    let issue = today.add_days(-issued_ago).expect("in the calendar");
    let expiry = if years == 0 {
        issue.add_days(rng.random_range(30..=365)).expect("in the calendar")
    } else {
        // Valid to the day before the anniversary, as most states date them.
        issue.add_years(years).and_then(|d| d.add_days(-1)).expect("in the calendar")
    };
    (issue, expiry)
}

/// German document numbers use digits and the consonants C F G H J K L M N P R T V W X Y Z (no vowels, nothing
/// that reads like a digit).
const GERMAN_SET: &[u8] = b"0123456789CFGHJKLMNPRTVWXYZ";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn number(rng: &mut ChaCha8Rng, kind: Kind, state: State, format: Format) -> String {
    match (kind, state) {
        (Kind::Visa, s) => format!("{}{}", &s.code()[..1], digits(rng, 8)),
        (Kind::Passport, State::Mongolia) => format!("E{}", digits(rng, 7)),
        (Kind::IdentityCard, State::Mongolia) => format!("{}{}", from_set(rng, UPPER, 2), digits(rng, 7)),
        (_, State::China) => {
            if rng.random_bool(0.5) {
                format!("E{}", digits(rng, 8))
            } else {
                format!("E{}{}", from_set(rng, b"ABCDEFGHJKLMNPQRSTUVWXYZ", 1), digits(rng, 7))
            }
        }
        (_, State::Russia) => format!("{}{}", pick(rng, &["72", "75", "76"]), digits(rng, 7)),
        (_, State::Korea) => {
            if rng.random_bool(0.5) {
                format!("M{}", digits(rng, 8))
            } else {
                // The 2021 format: a letter in the fifth position.
                format!("M{}{}{}", digits(rng, 3), from_set(rng, UPPER, 1), digits(rng, 4))
            }
        }
        (Kind::Passport, State::Kazakhstan) => format!("N{}", digits(rng, 8)),
        (_, State::Kazakhstan) => digits(rng, 9),
        (Kind::Passport, State::Germany) => format!("C{}", from_set(rng, GERMAN_SET, 8)),
        (_, State::Germany) => format!("L{}", from_set(rng, GERMAN_SET, 8)),
        (Kind::Passport, State::Utopia) => format!("L{}{}{}", digits(rng, 6), from_set(rng, UPPER, 1), digits(rng, 1)),
        (_, State::Utopia) => {
            // Utopia numbers its cards past nine characters now and then (9303-5's long number).
            let long = rng.random_bool(0.5);
            let len = if !long {
                8
            } else if format == Format::Td2 {
                rng.random_range(9..=13)
            } else {
                rng.random_range(9..=14)
            };
            format!("D{}", digits(rng, len))
        }
    }
}

/// Kazakhstan's IIN: birth date YYMMDD, a digit for century and sex, four serial digits and a check digit
/// (weights 1-11 mod 11, then 3-11, 1, 2 when the first gives 10; a serial for which both give 10 is not used).
fn kazakh_iin(rng: &mut ChaCha8Rng, birth: CivilDate, sex: Sex) -> String {
    let century = match (birth.year() >= 2000, sex == Sex::Female) {
        (false, false) => 3,
        (false, true) => 4,
        (true, false) => 5,
        (true, true) => 6,
    };
    loop {
        let d = birth.to_mrz();
        let body = format!("{d}{century}{}", digits(rng, 4));
        let v: Vec<u32> = body.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum = |w: &dyn Fn(usize) -> u32| v.iter().enumerate().map(|(i, x)| x * w(i)).sum::<u32>() % 11;
        let mut cd = sum(&|i| i as u32 + 1);
        if cd == 10 {
            cd = sum(&|i| (i as u32 + 2) % 11 + 1);
        }
        if cd < 10 {
            return format!("{body}{cd}");
        }
    }
}

/// Mongolia's civil register number: two letters, then year, month (plus 20 for births from 2000) and day of
/// birth, then two digits; the Cyrillic letters romanised.
fn mongolian_register_number(rng: &mut ChaCha8Rng, birth: CivilDate) -> String {
    let month = birth.month() + if birth.year() >= 2000 { 20 } else { 0 };
    let prefix = pick(rng, &["UB", "UN", "UK", "DA", "TA", "KH", "ZE", "OR", "BA", "SH"]);
    format!("{prefix}{:02}{month:02}{:02}{}", birth.year() % 100, birth.day(), digits(rng, 2))
}

fn name(rng: &mut ChaCha8Rng, state: State, sex: Sex) -> (String, String) {
    let female = sex == Sex::Female || (sex == Sex::Unspecified && rng.random_bool(0.5));
    let (surnames, male, femaleg): (&[&str], &[&str], &[&str]) = match state {
        // Mongolian passports carry the father's name as the surname (and the clan name rarely).
        State::Mongolia => (
            &[
                "BATBAYAR",
                "GANBOLD",
                "BAT-ERDENE",
                "TSOGTBAATAR",
                "OTGONBAYAR",
                "DAVAADORJ",
                "MUNKH-ERDENE",
                "NARANBAATAR",
                "ENKHBAYAR",
                "ERDENEBILEG",
                "GANKHUYAG-BATTULGA",
                "LKHAGVASUREN",
                "BORJIGIN-TSERENDORJ",
            ],
            &["BOLD", "TEMUULEN", "ENKHTUVSHIN", "BAT-OCHIR", "SUKHBAATAR", "GANZORIG", "MUNKHJARGAL"],
            &["OYUNCHIMEG", "ALTANTSETSEG", "KHULAN", "SARANGEREL", "ENKH-AMGALAN", "TSETSEGMAA", "NOMIN-ERDENE"],
        ),
        State::China => (
            &["WANG", "LI", "ZHANG", "LIU", "CHEN", "YANG", "HUANG", "ZHAO", "OUYANG", "SIMA", "ZHUGE"],
            &["WEI", "JIANGUO", "HAORAN", "ZIXUAN", "YUCHEN", "MINGHUI", "ZHIQIANG"],
            &["XIULAN", "YING", "XIAOMING", "JING", "YUTONG", "SHUFEN", "MEIHUA"],
        ),
        State::Russia => {
            let men: &[&str] =
                &["IVANOV", "SMIRNOV", "KUZNETSOV", "POPOV", "VOLKOV", "RIMSKII-KORSAKOV", "KONSTANTINOPOLSKII"];
            let women: &[&str] =
                &["IVANOVA", "SMIRNOVA", "KUZNETSOVA", "POPOVA", "VOLKOVA", "ZHUKOVA", "KONSTANTINOPOLSKAIA"];
            (
                if female { women } else { men },
                &["ALEKSANDR", "DMITRII", "SERGEI", "ANDREI", "MIKHAIL", "VIACHESLAV"],
                &["OLGA", "TATIANA", "NATALIA", "EKATERINA", "ANASTASIIA", "IULIIA"],
            )
        }
        State::Korea => (
            &["KIM", "LEE", "PARK", "CHOI", "JUNG", "KANG", "NAMGUNG", "HWANGBO"],
            &["MINJUN", "SEOJUN", "DOYUN", "GIL-DONG", "JIHO", "HYUNWOO"],
            &["SEOYEON", "JIWOO", "HAEUN", "MIN-SEO", "SUBIN", "YEJIN"],
        ),
        State::Kazakhstan => {
            let men: &[&str] = &["NURLANOV", "ZHUMABEKOV", "SEITKALI", "ABDRAKHMANOV", "KURMANGALIYEV", "SULEIMENOV"];
            let women: &[&str] =
                &["NURLANOVA", "ZHUMABEKOVA", "SEITKALI", "ABDRAKHMANOVA", "KURMANGALIYEVA", "SULEIMENOVA"];
            (
                if female { women } else { men },
                &["ASKAR", "NURSULTAN", "YERLAN", "DAULET", "ARMAN", "YERZHAN"],
                &["AIGERIM", "ZHANSAYA", "DINARA", "GULNARA", "AIZHAN", "SAULE"],
            )
        }
        State::Germany => (
            &[
                "MUELLER",
                "SCHMIDT",
                "SCHNEIDER",
                "FISCHER",
                "WEBER",
                "SCHMIDT-WEBER",
                "VON DER HEIDE",
                "VON DER SCHULENBURG-WOLFSBURG",
                "GROSSE-BOECKMANN",
            ],
            &["HANS-PETER", "KARL-THEODOR MARIA NIKOLAUS", "JUERGEN", "LUKAS", "MAXIMILIAN", "FELIX"],
            &["ANNA MARIA", "SOPHIE", "MARIE-LUISE", "LENA", "KATHARINA", "HANNELORE"],
        ),
        State::Utopia => (
            &["ERIKSSON", "STEVENSON", "O'BRIEN", "D'ARTAGNAN", "N'DIAYE", "MACWILLIAMS-FITZGERALD"],
            &["PETER JOHN", "SEAN", "JEAN-LUC", "OLUWASEUN", "D'ANGELO"],
            &["ANNA MARIA", "SIOBHAN", "MARIE-CLAIRE", "ADAEZE", "N'GONE"],
        ),
    };
    let surname = (*pick(rng, surnames)).to_owned();
    let pool = if female { femaleg } else { male };
    let mut given = (*pick(rng, pool)).to_owned();
    // Some people have two given names (the long ones do not fit a TD1 card).
    if matches!(state, State::Germany | State::Utopia | State::Kazakhstan) && rng.random_bool(0.3) {
        let second = *pick(rng, pool);
        if !given.contains(second) {
            given = format!("{given} {second}");
        }
    }
    (surname, given)
}

#[cfg(test)]
mod tests {
    use super::*;
    use khil_mrtd::mrz::Mrz;

    fn today() -> CivilDate {
        CivilDate::new(2026, 12, 6).unwrap()
    }

    #[test]
    fn same_seed_same_documents_in_any_order() {
        let a = Documents::new(7, today());
        let b = Documents::new(7, today());
        let forwards: Vec<TravelDocument> = a.first(50).collect();
        for id in (0..50).rev() {
            assert!(b.document(id) == forwards[id as usize], "document {id}");
        }
        let other: Vec<TravelDocument> = Documents::new(8, today()).first(50).collect();
        assert!(forwards.iter().zip(&other).filter(|(x, y)| x.mrz() == y.mrz()).count() < 2);
    }

    #[test]
    fn first_five_hundred_cover_the_population_and_read_back() {
        let docs: Vec<TravelDocument> = Documents::new(1, today()).first(500).collect();
        let mut formats = std::collections::HashSet::new();
        let mut issuers = std::collections::HashSet::new();
        let (mut long, mut truncated, mut hyphen, mut apostrophe, mut expired) = (0, 0, 0, 0, 0);
        for d in &docs {
            let g = d.mrz();
            let r = Mrz::read_lines(&g.lines).unwrap();
            assert!(r.all_ok(), "document {}: {:?}", d.id, r.checks);
            let m = r.mrz;
            assert_eq!(
                (m.format, m.issuing_state.as_str(), m.nationality.as_str()),
                (d.format, d.issuing_state.code(), d.nationality.code())
            );
            assert_eq!(m.birth_date.year_not_after(today().year()), Some(d.birth_date.year()), "document {}", d.id);
            assert_eq!(m.document_number, d.document_number);
            assert!(d.birth_date <= d.issue_date && d.issue_date <= today() && d.issue_date < d.expiry_date);
            assert_eq!(d.kind == Kind::Visa, d.issuing_state != d.nationality || d.format.is_visa());
            if d.kind == Kind::Passport && matches!(d.issuing_state, State::China | State::Korea) {
                let harmonised = d.issue_date >= CivilDate::new(2026, 1, 1).unwrap();
                assert_eq!(d.document_code == "PP", harmonised, "document {}", d.id);
            }
            formats.insert(d.format);
            issuers.insert(d.issuing_state);
            long += usize::from(d.document_number.len() > 9);
            truncated += usize::from(g.name_truncated);
            hyphen += usize::from(d.surname.contains('-') || d.given_names.contains('-'));
            apostrophe += usize::from(d.surname.contains('\'') || d.given_names.contains('\''));
            expired += usize::from(d.expired_on(today()));
            if let Some(iin) = d.personal_number.as_ref().filter(|_| d.nationality == State::Kazakhstan) {
                assert_eq!(iin.len(), 12);
                assert_eq!(&iin[..6], d.birth_date.to_mrz().to_string());
            }
        }
        assert_eq!(formats.len(), 5, "{formats:?}");
        assert_eq!(issuers.len(), 7);
        for (what, n) in
            [("long numbers", long), ("truncated names", truncated), ("hyphens", hyphen), ("apostrophes", apostrophe)]
        {
            assert!(n >= 5, "{n} {what}");
        }
        assert!((40..150).contains(&expired), "{expired} of 500 expired");
    }

    #[test]
    fn kazakh_iin_check_digit() {
        // An IIN's check digit: weights 1-11 (then 3-11, 1, 2) mod 11.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..200 {
            let iin = kazakh_iin(&mut rng, CivilDate::new(1990, 5, 17).unwrap(), Sex::Female);
            let v: Vec<u32> = iin.bytes().map(|b| u32::from(b - b'0')).collect();
            let s1: u32 = (0..11).map(|i| v[i] * (i as u32 + 1)).sum::<u32>() % 11;
            let cd = if s1 == 10 { (0..11).map(|i| v[i] * ((i as u32 + 2) % 11 + 1)).sum::<u32>() % 11 } else { s1 };
            assert_eq!(v[11], cd, "{iin}");
            assert!(iin.starts_with("9005174"));
        }
    }
}
