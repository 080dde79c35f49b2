//! Check digits (ICAO 9303-3 §4.9): characters take values 0-9 for digits, 10-35 for A-Z and 0 for the filler
//! `<`; the values are weighted 7, 3, 1, 7, 3, 1 ... from the left and summed; the check digit is the sum modulo 10.

use std::fmt;

/// The check digit of `data` as a character `0`-`9`; `None` when `data` holds a character outside the MRZ set
/// (A-Z, 0-9, `<`).
pub fn check_digit(data: &str) -> Option<char> {
    let mut sum = 0u32;
    for (i, b) in data.bytes().enumerate() {
        let value = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            b'<' => 0,
            _ => return None,
        };
        sum += value * [7, 3, 1][i % 3];
    }
    char::from_digit(sum % 10, 10)
}

/// Which check digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckName {
    DocumentNumber,
    BirthDate,
    ExpiryDate,
    /// TD3's personal number (line 2, position 43).
    PersonalNumber,
    /// The composite check digit over the upper and middle lines (TD1, TD2, TD3; visas have none).
    Composite,
}

impl CheckName {
    /// A stable identifier for JSON (`document_number`, `birth_date`, ...).
    pub fn id(self) -> &'static str {
        match self {
            CheckName::DocumentNumber => "document_number",
            CheckName::BirthDate => "birth_date",
            CheckName::ExpiryDate => "expiry_date",
            CheckName::PersonalNumber => "personal_number",
            CheckName::Composite => "composite",
        }
    }
}

impl fmt::Display for CheckName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CheckName::DocumentNumber => "document number",
            CheckName::BirthDate => "date of birth",
            CheckName::ExpiryDate => "date of expiry",
            CheckName::PersonalNumber => "personal number",
            CheckName::Composite => "composite",
        })
    }
}

/// One check digit as read and as computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    pub name: CheckName,
    /// Where the check digit stands, 1-based.
    pub line: u8,
    pub column: u8,
    /// The character in the MRZ.
    pub found: char,
    /// The check digit the data asks for (`<` where 9303 lets an empty field's check digit be a filler and the
    /// MRZ has one).
    pub computed: char,
}

impl Check {
    pub fn ok(&self) -> bool {
        self.found == self.computed
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} check digit (line {}, column {}): found {}, computed {}: {}",
            self.name,
            self.line,
            self.column,
            self.found,
            self.computed,
            if self.ok() { "ok" } else { "failed" }
        )
    }
}
