//! Machine readable zones (ICAO Doc 9303 parts 3-7): TD1 (3 x 30), TD2 (2 x 36), TD3 (2 x 44), MRV-A (2 x 44)
//! and MRV-B (2 x 36); read with every check digit reported ([`Mrz::read`]), parsed strictly ([`Mrz::parse`]),
//! generated from typed fields ([`Mrz::generate`]), and the MRZ information BAC and PACE derive their keys from
//! ([`Mrz::mrz_information`]).
//!
//! Written here rather than taken from the `mrz` crate (crates.io), which parses and emits the same five formats:
//! an inspection system's codec must read by 9303 alone, where that crate repairs OCR on purpose (a name field
//! without `<<` is split at its first `<`, for one), and khil reports every field's line and column (in
//! `khil mrz check`, in conformance evidence, in every error). The crate is a dev-only peer instead:
//! `tests/mrz_props.rs` has it read and write everything this module generates. Only the MRZ character set is
//! accepted; reading tolerates trailing whitespace on a line (CR of CRLF) and nothing else, so OCR slips surface
//! as errors with their place instead of being silently repaired.

mod check;
mod date;
mod error;
mod name;

use std::fmt;

pub use check::{Check, CheckName, check_digit};
pub use date::{CivilDate, DateProblem, MrzDate};
pub use error::{Field, MrzError};
pub use name::{Name, NameProblem};

/// The five MRZ layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// ID-1 card size, 3 lines of 30 (9303-5).
    Td1,
    /// ID-2 size, 2 lines of 36 (9303-6).
    Td2,
    /// Passport book, 2 lines of 44 (9303-4).
    Td3,
    /// Full-page visa, 2 lines of 44 (9303-7).
    MrvA,
    /// Visa on an ID-2 sized area, 2 lines of 36 (9303-7).
    MrvB,
}

impl Format {
    pub const ALL: [Format; 5] = [Format::Td1, Format::Td2, Format::Td3, Format::MrvA, Format::MrvB];

    pub fn lines(self) -> usize {
        if self == Format::Td1 { 3 } else { 2 }
    }

    pub fn width(self) -> usize {
        match self {
            Format::Td1 => 30,
            Format::Td2 | Format::MrvB => 36,
            Format::Td3 | Format::MrvA => 44,
        }
    }

    pub fn is_visa(self) -> bool {
        matches!(self, Format::MrvA | Format::MrvB)
    }

    /// TD1 and TD2 carry document numbers longer than nine characters in their optional data (9303-5 §4.2.2,
    /// 9303-6 §4.2.2); passports and visas do not.
    pub fn allows_long_document_number(self) -> bool {
        matches!(self, Format::Td1 | Format::Td2)
    }

    /// Longest document number: nine, or nine plus the optional data less the check digit and the filler that
    /// follow the rest of a long number (22 on TD1, 14 on TD2).
    pub fn max_document_number_len(self) -> usize {
        if self.allows_long_document_number() { 9 + self.optional_width() - 2 } else { 9 }
    }

    fn name_width(self) -> usize {
        match self {
            Format::Td1 => 30,
            Format::Td2 | Format::MrvB => 31,
            Format::Td3 | Format::MrvA => 39,
        }
    }

    /// Width of the optional data field (TD3: the personal number; TD1: line 1's).
    pub fn optional_width(self) -> usize {
        match self {
            Format::Td1 | Format::Td3 => 15 - usize::from(self == Format::Td3),
            Format::Td2 => 7,
            Format::MrvA => 16,
            Format::MrvB => 8,
        }
    }

    /// Width of TD1's second optional data field (line 2, columns 19-29); 0 for the other formats.
    pub fn optional_2_width(self) -> usize {
        if self == Format::Td1 { 11 } else { 0 }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Td1 => "TD1",
            Format::Td2 => "TD2",
            Format::Td3 => "TD3",
            Format::MrvA => "MRV-A",
            Format::MrvB => "MRV-B",
        })
    }
}

/// The holder's sex as the MRZ writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
    /// `<`: unspecified.
    Unspecified,
    /// `X`: 9303 (8th edition, and the amendments since) uses X for unspecified in the visual zone and now
    /// accepts it in the MRZ too; read as written, generated as given.
    X,
}

impl Sex {
    pub fn from_char(c: char) -> Option<Sex> {
        match c {
            'M' => Some(Sex::Male),
            'F' => Some(Sex::Female),
            '<' => Some(Sex::Unspecified),
            'X' => Some(Sex::X),
            _ => None,
        }
    }

    pub fn to_char(self) -> char {
        match self {
            Sex::Male => 'M',
            Sex::Female => 'F',
            Sex::Unspecified => '<',
            Sex::X => 'X',
        }
    }
}

/// The fields of one MRZ. Field values hold no fillers at their ends (`D` for Germany, `L898902C`); optional
/// data may hold fillers inside.
#[derive(Clone, PartialEq, Eq)]
pub struct Mrz {
    pub format: Format,
    /// One or two characters: `P`, `PD`, `I`, `ID`, `AC`, `V`, ... (the first `V` exactly for visas).
    pub document_code: String,
    /// Issuing state or organisation: one to three letters (`UTO`, `D`).
    pub issuing_state: String,
    pub name: Name,
    /// The whole document number, also when longer than nine characters (TD1, TD2).
    pub document_number: String,
    pub nationality: String,
    pub birth_date: MrzDate,
    pub sex: Sex,
    pub expiry_date: MrzDate,
    /// TD3: the personal number (14). TD1: line 1's optional data after any long document number. TD2, MRV-A,
    /// MRV-B: the optional data of line 2.
    pub optional_data: String,
    /// TD1 only: line 2's optional data (11).
    pub optional_data_2: String,
}

impl fmt::Debug for Mrz {
    // An MRZ is personal data and the key to the chip: format only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mrz({}, fields not shown)", self.format)
    }
}

/// The "MRZ information" of 9303-11 §4.3 / §9.7: document number, date of birth and date of expiry each with its
/// check digit; SHA-1 of it seeds the BAC keys and it is the PACE password `MRZ`. A secret: Debug shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct MrzInformation(String);

impl MrzInformation {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for MrzInformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MrzInformation({} characters)", self.0.len())
    }
}

/// A field as it stands in the MRZ.
#[derive(Clone, PartialEq, Eq)]
pub struct FieldSpan {
    pub field: Field,
    /// 1-based.
    pub line: u8,
    pub column: u8,
    /// The characters in the MRZ, fillers included.
    pub text: String,
}

impl fmt::Debug for FieldSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FieldSpan({} at line {} column {}, {} characters)",
            self.field,
            self.line,
            self.column,
            self.text.len()
        )
    }
}

/// An MRZ read: its fields, where each stands, and every check digit with its outcome.
#[derive(Clone)]
pub struct Reading {
    pub mrz: Mrz,
    /// In the order they stand in the MRZ. A long document number has two spans (line 1 or 2 and the optional
    /// data), both under [`Field::DocumentNumber`].
    pub fields: Vec<FieldSpan>,
    pub checks: Vec<Check>,
}

impl fmt::Debug for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reading").field("mrz", &self.mrz).field("checks", &self.checks).finish_non_exhaustive()
    }
}

impl Reading {
    /// Every check digit matched.
    pub fn all_ok(&self) -> bool {
        self.checks.iter().all(Check::ok)
    }

    /// The first check that failed.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| !c.ok())
    }
}

/// Lines made by [`Mrz::generate`].
#[derive(Clone, PartialEq, Eq)]
pub struct Generated {
    pub lines: Vec<String>,
    /// The name did not fit its field and was cut (see [`Name::field`]).
    pub name_truncated: bool,
}

impl fmt::Debug for Generated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Generated({} lines, name truncated: {})", self.lines.len(), self.name_truncated)
    }
}

impl Generated {
    /// The lines joined by `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

fn is_mrz_char(c: char) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<'
}

/// Collects fields and checks while the lines are taken apart.
struct Reader<'a> {
    format: Format,
    lines: Vec<&'a str>,
    fields: Vec<FieldSpan>,
    checks: Vec<Check>,
}

impl<'a> Reader<'a> {
    /// Columns `column..column + len` (1-based) of `line`, recorded as `field`'s span.
    fn take(&mut self, field: Field, line: u8, column: u8, len: usize) -> &'a str {
        let text = self.text(line, column, len);
        self.fields.push(FieldSpan { field, line, column, text: text.to_owned() });
        text
    }

    fn text(&self, line: u8, column: u8, len: usize) -> &'a str {
        let start = usize::from(column) - 1;
        &self.lines[usize::from(line) - 1][start..start + len]
    }

    fn char_at(&self, line: u8, column: u8) -> char {
        self.lines[usize::from(line) - 1].as_bytes()[usize::from(column) - 1] as char
    }

    fn error(&self, field: Field, line: u8, column: u8, expected: impl Into<String>) -> MrzError {
        MrzError::Field { format: self.format, field, line, column, expected: expected.into() }
    }

    fn check(&mut self, name: CheckName, line: u8, column: u8, data: &str) {
        let found = self.char_at(line, column);
        let computed = check_digit(data).unwrap_or('?');
        self.checks.push(Check { name, line, column, found, computed });
    }

    fn code(&mut self) -> Result<String, MrzError> {
        let t = self.take(Field::DocumentCode, 1, 1, 2).as_bytes();
        if !t[0].is_ascii_uppercase() {
            return Err(self.error(Field::DocumentCode, 1, 1, "a letter (P, I, A, C, V)"));
        }
        if !(t[1].is_ascii_uppercase() || t[1] == b'<') {
            return Err(self.error(Field::DocumentCode, 1, 2, "a letter or <"));
        }
        Ok(String::from_utf8_lossy(t).trim_end_matches('<').to_owned())
    }

    fn state(&mut self, field: Field, line: u8, column: u8) -> Result<String, MrzError> {
        let t = self.take(field, line, column, 3);
        let value = t.trim_end_matches('<');
        match t.bytes().position(|b| !b.is_ascii_uppercase()) {
            Some(0) => Err(self.error(field, line, column, "a code of 1-3 letters A-Z (fillers after it)")),
            Some(i) if i < value.len() => {
                Err(self.error(field, line, column + i as u8, "letters A-Z, then fillers (a state code)"))
            }
            _ => Ok(value.to_owned()),
        }
    }

    /// A field of letters and digits followed by fillers.
    fn left_aligned(&self, field: Field, line: u8, column: u8, text: &str) -> Result<String, MrzError> {
        let value = text.trim_end_matches('<');
        if value.is_empty() {
            return Err(self.error(field, line, column, "at least one letter or digit"));
        }
        if let Some(i) = value.find('<') {
            return Err(self.error(field, line, column + i as u8, "letters and digits, then fillers only"));
        }
        Ok(value.to_owned())
    }

    fn date(&mut self, field: Field, line: u8, column: u8) -> Result<MrzDate, MrzError> {
        let t = self.take(field, line, column, 6);
        // 9303-3 §4.8: only a date of birth may have unknown parts.
        let date = if field == Field::BirthDate { MrzDate::parse_birth(t) } else { MrzDate::parse(t) };
        date.map_err(|p| {
            let offset = match p {
                DateProblem::NotDigit(i) | DateProblem::Filler(i) => i as u8,
                DateProblem::Month => 2,
                DateProblem::Day => 4,
            };
            self.error(field, line, column + offset, format!("a date YYMMDD: {p}"))
        })
    }

    fn sex(&mut self, line: u8, column: u8) -> Result<Sex, MrzError> {
        let t = self.take(Field::Sex, line, column, 1);
        Sex::from_char(t.as_bytes()[0] as char).ok_or_else(|| self.error(Field::Sex, line, column, "M, F, X or <"))
    }

    fn optional(&mut self, field: Field, line: u8, column: u8, len: usize) -> String {
        self.take(field, line, column, len).trim_end_matches('<').to_owned()
    }

    /// The document number at `line`/`column` (nine positions and the check digit), continued in the optional
    /// data at `opt_column` (of `opt_len` positions) when the check digit position holds `<`. Returns the number
    /// and the optional data left after it.
    fn document_number(
        &mut self,
        line: u8,
        column: u8,
        opt_column: u8,
        opt_len: usize,
    ) -> Result<(String, Option<String>), MrzError> {
        let first = self.take(Field::DocumentNumber, line, column, 9);
        let cd_column = column + 9;
        let long =
            self.format.allows_long_document_number() && self.char_at(line, cd_column) == '<' && !first.contains('<');
        if !long {
            let number = self.left_aligned(Field::DocumentNumber, line, column, first)?;
            self.check(CheckName::DocumentNumber, line, cd_column, first);
            return Ok((number, None));
        }
        let optional = self.text(line, opt_column, opt_len);
        // The rest of the number, its check digit, then a filler; a number whose rest and check digit fill the
        // field without that filler is read too (the filler is the issuer's duty, the number is still whole).
        let end = optional.find('<').unwrap_or(optional.len());
        if end < 2 {
            return Err(self.error(
                Field::DocumentNumber,
                line,
                opt_column,
                "the rest of the document number and its check digit (the check digit position after the first \
                 nine characters holds <)",
            ));
        }
        let rest = &optional[..end - 1];
        if let Some(i) = rest.find(|c: char| !c.is_ascii_alphanumeric()) {
            return Err(self.error(Field::DocumentNumber, line, opt_column + i as u8, "letters and digits"));
        }
        self.fields.push(FieldSpan {
            field: Field::DocumentNumber,
            line,
            column: opt_column,
            text: optional[..end].to_owned(),
        });
        let number = format!("{first}{rest}");
        self.check(CheckName::DocumentNumber, line, opt_column + (end - 1) as u8, &number);
        let left = optional.get(end + 1..).unwrap_or("").trim_end_matches('<').to_owned();
        Ok((number, Some(left)))
    }
}

impl Mrz {
    /// Reads an MRZ from text: lines separated by `\n`, each may end in whitespace (CRLF included); blank lines
    /// at the end are ignored.
    pub fn read(text: &str) -> Result<Reading, MrzError> {
        let mut lines: Vec<&str> = text.split('\n').map(str::trim_end).collect();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        Mrz::read_lines(&lines)
    }

    /// Reads an MRZ from its lines (trailing whitespace on each is tolerated), reporting every check digit.
    pub fn read_lines<S: AsRef<str>>(lines: &[S]) -> Result<Reading, MrzError> {
        let lines: Vec<&str> = lines.iter().map(|l| l.as_ref().trim_end()).collect();
        let format = shape(&lines)?;
        for (i, line) in lines.iter().enumerate() {
            if let Some((j, c)) = line.chars().enumerate().find(|&(_, c)| !is_mrz_char(c)) {
                return Err(MrzError::Character { line: i as u8 + 1, column: j as u8 + 1, found: c });
            }
        }
        let format = match format {
            Format::Td2 if lines[0].starts_with('V') => Format::MrvB,
            Format::Td3 if lines[0].starts_with('V') => Format::MrvA,
            f => f,
        };
        let mut r = Reader { format, lines, fields: Vec::new(), checks: Vec::new() };
        let mrz = match format {
            Format::Td1 => read_td1(&mut r)?,
            _ => read_two_line(&mut r)?,
        };
        Ok(Reading { mrz, fields: r.fields, checks: r.checks })
    }

    /// Parses an MRZ and insists on every check digit: the first that fails is the error.
    pub fn parse(text: &str) -> Result<Mrz, MrzError> {
        let reading = Mrz::read(text)?;
        match reading.first_failure() {
            Some(c) => Err(MrzError::CheckDigit(*c)),
            None => Ok(reading.mrz),
        }
    }

    /// The MRZ information for BAC and PACE: the document number (the nine-position field with its fillers, or
    /// the whole long number) and its check digit, date of birth and check digit, date of expiry and check
    /// digit (9303-11 §9.7.1; for long numbers the whole number, as 9303-11 Appendix D.1 does).
    pub fn mrz_information(&self) -> Result<MrzInformation, MrzError> {
        self.check_document_number()?;
        let number = if self.document_number.len() <= 9 {
            format!("{:<<9}", self.document_number)
        } else {
            self.document_number.clone()
        };
        let mut s = String::with_capacity(number.len() + 15);
        for part in [number, self.birth_date.to_string(), self.expiry_date.to_string()] {
            let cd = check_digit(&part).unwrap_or('0');
            s.push_str(&part);
            s.push(cd);
        }
        Ok(MrzInformation(s))
    }

    /// The MRZ's lines, check digits computed. An empty TD3 personal number gets the filler as its check digit.
    pub fn generate(&self) -> Result<Generated, MrzError> {
        let f = self.format;
        let value = |field: Field, expected: String| MrzError::Value { format: f, field, expected };
        self.check_document_number()?;
        let code_ok = {
            let b = self.document_code.as_bytes();
            !b.is_empty()
                && b.len() <= 2
                && b[0].is_ascii_uppercase()
                && b.get(1).is_none_or(|c| c.is_ascii_uppercase() || *c == b'<')
                && (b[0] == b'V') == f.is_visa()
        };
        if !code_ok {
            let first = if f.is_visa() { "V" } else { "a letter other than V (V marks visas)" };
            return Err(value(Field::DocumentCode, format!("1-2 letters, the first {first}")));
        }
        for (field, v) in [(Field::IssuingState, &self.issuing_state), (Field::Nationality, &self.nationality)] {
            if v.is_empty() || v.len() > 3 || !v.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(value(field, "1-3 letters A-Z".into()));
            }
        }
        let opt_chars = |field: Field, v: &str, width: usize| {
            if width == 0 && !v.is_empty() {
                Err(value(field, "nothing (only TD1 has a second optional data field)".into()))
            } else if v.len() > width || !v.chars().all(is_mrz_char) {
                Err(value(field, format!("at most {width} characters A-Z, 0-9 or <")))
            } else {
                Ok(())
            }
        };
        if !self.expiry_date.is_complete() {
            return Err(value(
                Field::ExpiryDate,
                "a complete date (only a date of birth may have unknown parts, 9303-3 §4.8)".into(),
            ));
        }
        let name_ok = |s: &str| s.split(' ').all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_uppercase()));
        if !name_ok(self.name.primary()) || !(self.name.secondary().is_empty() || name_ok(self.name.secondary())) {
            return Err(value(Field::Name, "components of letters A-Z separated by single spaces".into()));
        }
        let (name, name_truncated) = self.name.field(f.name_width());
        let code = format!("{:<<2}", self.document_code);
        let state = format!("{:<<3}", self.issuing_state);
        let nationality = format!("{:<<3}", self.nationality);
        let (birth, expiry) = (self.birth_date.to_string(), self.expiry_date.to_string());
        let cd = |s: &str| check_digit(s).unwrap_or('0');
        let sex = self.sex.to_char();
        // The number's nine positions and check digit, and what the optional data starts with.
        let (number_field, continued) = if self.document_number.len() <= 9 {
            let n = format!("{:<<9}", self.document_number);
            (format!("{n}{}", cd(&n)), String::new())
        } else {
            // 9303-5 §4.2.2 note j, 9303-6 likewise: the nine principal characters, a filler for the check digit,
            // then the remaining characters, the check digit and a filler at the start of the optional data.
            (
                format!("{}<", &self.document_number[..9]),
                format!("{}{}<", &self.document_number[9..], cd(&self.document_number)),
            )
        };
        let opt_width = f.optional_width() - continued.len();
        opt_chars(
            if f == Format::Td3 { Field::PersonalNumber } else { Field::OptionalData },
            &self.optional_data,
            opt_width,
        )?;
        opt_chars(Field::OptionalData2, &self.optional_data_2, f.optional_2_width())?;
        let optional = format!("{continued}{}", self.optional_data);
        let optional = format!("{optional:<<width$}", width = f.optional_width());
        let lines = if f == Format::Td1 {
            let l1 = format!("{code}{state}{number_field}{optional}");
            let opt2 = format!("{:<<11}", self.optional_data_2);
            let mut l2 = format!("{birth}{}{sex}{expiry}{}{nationality}{opt2}", cd(&birth), cd(&expiry));
            let composite = format!("{}{}{}{}", &l1[5..30], &l2[0..7], &l2[8..15], &l2[18..29]);
            l2.push(cd(&composite));
            vec![l1, l2, name]
        } else {
            let l1 = format!("{code}{state}{name}");
            let mut l2 =
                format!("{number_field}{nationality}{birth}{}{sex}{expiry}{}{optional}", cd(&birth), cd(&expiry));
            match f {
                Format::Td3 => {
                    let personal_cd = if self.optional_data.is_empty() { '<' } else { cd(&optional) };
                    l2.push(personal_cd);
                    let composite = format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..43]);
                    l2.push(cd(&composite));
                }
                Format::Td2 => {
                    let composite = format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..35]);
                    l2.push(cd(&composite));
                }
                _ => {}
            }
            vec![l1, l2]
        };
        Ok(Generated { lines, name_truncated })
    }

    fn check_document_number(&self) -> Result<(), MrzError> {
        let n = &self.document_number;
        let max = self.format.max_document_number_len();
        if n.is_empty() || n.len() > max || !n.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
            return Err(MrzError::Value {
                format: self.format,
                field: Field::DocumentNumber,
                expected: format!("1-{max} letters A-Z and digits"),
            });
        }
        Ok(())
    }
}

/// The format the line count and widths say (TD2 and TD3 stand for the visas of their size too).
fn shape(lines: &[&str]) -> Result<Format, MrzError> {
    let lengths: Vec<usize> = lines.iter().map(|l| l.chars().count()).collect();
    let format = match (lengths.len(), lengths.first()) {
        (3, Some(30)) => Format::Td1,
        (2, Some(36)) => Format::Td2,
        (2, Some(44)) => Format::Td3,
        _ => return Err(MrzError::Shape { lengths }),
    };
    if let Some((i, &found)) = lengths.iter().enumerate().find(|&(_, &n)| n != format.width()) {
        return Err(MrzError::LineLength { line: i as u8 + 1, expected: format.width(), found });
    }
    Ok(format)
}

fn read_name(r: &mut Reader<'_>, line: u8, column: u8) -> Result<Name, MrzError> {
    let text = r.take(Field::Name, line, column, r.format.name_width());
    Name::from_field(text).map_err(|(offset, expected)| r.error(Field::Name, line, column + offset as u8, expected))
}

fn read_td1(r: &mut Reader<'_>) -> Result<Mrz, MrzError> {
    let document_code = r.code()?;
    let issuing_state = r.state(Field::IssuingState, 1, 3)?;
    let (document_number, left) = r.document_number(1, 6, 16, 15)?;
    let optional_data = match left {
        Some(left) => {
            // The rest of the optional data after the long number, recorded as its own span.
            let used = r.fields.last().map_or(0, |s| s.text.len()) + 1;
            if used < 15 {
                r.take(Field::OptionalData, 1, 16 + used as u8, 15 - used);
            }
            left
        }
        None => r.optional(Field::OptionalData, 1, 16, 15),
    };
    let birth_date = r.date(Field::BirthDate, 2, 1)?;
    r.check(CheckName::BirthDate, 2, 7, &birth_date.to_string());
    let sex = r.sex(2, 8)?;
    let expiry_date = r.date(Field::ExpiryDate, 2, 9)?;
    r.check(CheckName::ExpiryDate, 2, 15, &expiry_date.to_string());
    let nationality = r.state(Field::Nationality, 2, 16)?;
    let optional_data_2 = r.optional(Field::OptionalData2, 2, 19, 11);
    let composite = format!("{}{}{}{}", r.text(1, 6, 25), r.text(2, 1, 7), r.text(2, 9, 7), r.text(2, 19, 11));
    r.check(CheckName::Composite, 2, 30, &composite);
    let name = read_name(r, 3, 1)?;
    Ok(Mrz {
        format: r.format,
        document_code,
        issuing_state,
        name,
        document_number,
        nationality,
        birth_date,
        sex,
        expiry_date,
        optional_data,
        optional_data_2,
    })
}

fn read_two_line(r: &mut Reader<'_>) -> Result<Mrz, MrzError> {
    let f = r.format;
    let document_code = r.code()?;
    let issuing_state = r.state(Field::IssuingState, 1, 3)?;
    let name = read_name(r, 1, 6)?;
    let opt_len = f.optional_width();
    let (document_number, left) = r.document_number(2, 1, 29, opt_len)?;
    let nationality = r.state(Field::Nationality, 2, 11)?;
    let birth_date = r.date(Field::BirthDate, 2, 14)?;
    r.check(CheckName::BirthDate, 2, 20, &birth_date.to_string());
    let sex = r.sex(2, 21)?;
    let expiry_date = r.date(Field::ExpiryDate, 2, 22)?;
    r.check(CheckName::ExpiryDate, 2, 28, &expiry_date.to_string());
    let optional_field = if f == Format::Td3 { Field::PersonalNumber } else { Field::OptionalData };
    let optional_data = match left {
        Some(left) => {
            let used = r.fields.iter().rfind(|s| s.field == Field::DocumentNumber).map_or(0, |s| s.text.len()) + 1;
            if used < opt_len {
                r.take(optional_field, 2, 29 + used as u8, opt_len - used);
            }
            left
        }
        None => r.optional(optional_field, 2, 29, opt_len),
    };
    match f {
        Format::Td3 => {
            let personal = r.text(2, 29, 14);
            let found = r.char_at(2, 43);
            if personal.bytes().all(|b| b == b'<') && (found == '<' || found == '0') {
                // 9303-4 §4.2.2: an unused personal number's check digit is 0 or <; both are right.
                r.checks.push(Check { name: CheckName::PersonalNumber, line: 2, column: 43, found, computed: found });
            } else {
                r.check(CheckName::PersonalNumber, 2, 43, personal);
            }
            let composite = format!("{}{}{}", r.text(2, 1, 10), r.text(2, 14, 7), r.text(2, 22, 22));
            r.check(CheckName::Composite, 2, 44, &composite);
        }
        Format::Td2 => {
            let composite = format!("{}{}{}", r.text(2, 1, 10), r.text(2, 14, 7), r.text(2, 22, 14));
            r.check(CheckName::Composite, 2, 36, &composite);
        }
        _ => {}
    }
    r.fields.sort_by_key(|s| (s.line, s.column));
    Ok(Mrz {
        format: f,
        document_code,
        issuing_state,
        name,
        document_number,
        nationality,
        birth_date,
        sex,
        expiry_date,
        optional_data,
        optional_data_2: String::new(),
    })
}
