//! What can be wrong with an MRZ read or with the fields given to the generator. Errors name the field, the line
//! and the 1-based column; they quote a single character at most, never a field's contents (personal data).

use std::fmt;

use super::Format;
use super::check::Check;

/// A field of the MRZ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    DocumentCode,
    IssuingState,
    Name,
    DocumentNumber,
    Nationality,
    BirthDate,
    Sex,
    ExpiryDate,
    /// TD3's personal number (optional data of line 2).
    PersonalNumber,
    /// TD2's and the visas' optional data; TD1's on line 1.
    OptionalData,
    /// TD1's optional data on line 2.
    OptionalData2,
}

impl Field {
    /// A stable identifier for JSON.
    pub fn id(self) -> &'static str {
        match self {
            Field::DocumentCode => "document_code",
            Field::IssuingState => "issuing_state",
            Field::Name => "name",
            Field::DocumentNumber => "document_number",
            Field::Nationality => "nationality",
            Field::BirthDate => "birth_date",
            Field::Sex => "sex",
            Field::ExpiryDate => "expiry_date",
            Field::PersonalNumber => "personal_number",
            Field::OptionalData => "optional_data",
            Field::OptionalData2 => "optional_data_2",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Field::DocumentCode => "document code",
            Field::IssuingState => "issuing state",
            Field::Name => "name",
            Field::DocumentNumber => "document number",
            Field::Nationality => "nationality",
            Field::BirthDate => "date of birth",
            Field::Sex => "sex",
            Field::ExpiryDate => "date of expiry",
            Field::PersonalNumber => "personal number",
            Field::OptionalData => "optional data",
            Field::OptionalData2 => "optional data (line 2)",
        })
    }
}

fn describe_lengths(l: &[usize]) -> String {
    if l.is_empty() {
        return "no lines".into();
    }
    let list: Vec<String> = l.iter().map(usize::to_string).collect();
    format!("{} line{} of {} characters", l.len(), if l.len() == 1 { "" } else { "s" }, list.join(", "))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MrzError {
    /// Neither three lines of 30 nor two of 36 or 44 characters.
    #[error(
        "MRZ: expected 3 lines of 30 characters (TD1), 2 of 36 (TD2, MRV-B) or 2 of 44 (TD3, MRV-A); got {}",
        describe_lengths(.lengths)
    )]
    Shape { lengths: Vec<usize> },
    /// A line whose length differs from the first line's.
    #[error("MRZ line {line}: expected {expected} characters like line 1, got {found}")]
    LineLength { line: u8, expected: usize, found: usize },
    /// A character outside A-Z, 0-9 and `<`.
    #[error("MRZ line {line}, column {column}: {found:?} is not an MRZ character (expected A-Z, 0-9 or <)")]
    Character { line: u8, column: u8, found: char },
    /// A field that does not have its form.
    #[error("MRZ {format} {field} (line {line}, column {column}): expected {expected}")]
    Field { format: Format, field: Field, line: u8, column: u8, expected: String },
    /// A check digit that does not match (only from the strict [`super::Mrz::parse`]; [`super::Mrz::read`]
    /// reports every check instead).
    #[error("MRZ {0}")]
    CheckDigit(Check),
    /// A value given to the generator that the format cannot hold.
    #[error("cannot generate a {format} MRZ: {field}: expected {expected}")]
    Value { format: Format, field: Field, expected: String },
}
