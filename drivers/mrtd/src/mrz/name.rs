//! The holder's name (ICAO 9303-3 §4.6): the primary identifier, `<<`, the secondary identifier; components of
//! each separated by one `<`; the rest of the field filled with `<`.

use std::fmt;

/// A name as the MRZ can hold it: components of A-Z, one space between components (the MRZ's single `<`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Name {
    primary: String,
    secondary: String,
    truncated: bool,
}

impl fmt::Debug for Name {
    // Names are personal data: lengths only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Name({} + {} characters{})",
            self.primary.len(),
            self.secondary.len(),
            if self.truncated { ", truncated" } else { "" }
        )
    }
}

/// Why a name given to [`Name::new`] cannot go into an MRZ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameProblem {
    /// The primary identifier has no letter.
    EmptyPrimary,
    /// A character (`position`, 1-based, in the given text) that is not a Latin letter, space, hyphen, comma or
    /// apostrophe: transliterate national characters first (9303-3 §6).
    Character { secondary: bool, position: usize, found: char },
}

impl fmt::Display for NameProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameProblem::EmptyPrimary => f.write_str("a primary identifier with at least one letter"),
            NameProblem::Character { secondary, position, found } => write!(
                f,
                "letters A-Z, spaces, hyphens, commas or apostrophes in the {} identifier; character {position} \
                 is {found:?} (transliterate national characters first)",
                if *secondary { "secondary" } else { "primary" }
            ),
        }
    }
}

/// 9303-3 §4.6: spaces, hyphens and commas become a filler (one, however many there were), apostrophes are
/// dropped, lower case is written in upper case.
fn transliterate(text: &str, secondary: bool) -> Result<String, NameProblem> {
    let mut out = String::with_capacity(text.len());
    let mut gap = false;
    for (i, c) in text.chars().enumerate() {
        match c {
            'A'..='Z' | 'a'..='z' => {
                if gap && !out.is_empty() {
                    out.push(' ');
                }
                gap = false;
                out.push(c.to_ascii_uppercase());
            }
            ' ' | '-' | ',' | '<' => gap = true,
            '\'' | '\u{2019}' => {}
            _ => return Err(NameProblem::Character { secondary, position: i + 1, found: c }),
        }
    }
    Ok(out)
}

impl Name {
    /// A name from its two identifiers as people write them (`"O'Brien"`, `"Anna-Maria"`).
    pub fn new(primary: &str, secondary: &str) -> Result<Name, NameProblem> {
        let primary = transliterate(primary, false)?;
        if primary.is_empty() {
            return Err(NameProblem::EmptyPrimary);
        }
        Ok(Name { primary, secondary: transliterate(secondary, true)?, truncated: false })
    }

    /// The primary identifier (usually the surname), components separated by one space.
    pub fn primary(&self) -> &str {
        &self.primary
    }

    /// The secondary identifier (given names); empty when the holder has none.
    pub fn secondary(&self) -> &str {
        &self.secondary
    }

    /// Read from an MRZ whose name field is full to its last position with a letter: 9303 truncates names
    /// that do not fit by cutting them at the field's end, so such a name may be longer on the document.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The field of `width` characters and whether the name had to be cut to fit it. Truncation keeps `<<` and
    /// at least the first letter of the secondary identifier (9303-3 §4.6): the primary identifier is cut to
    /// leave three positions, the secondary identifier then fills what is left; a cut that falls on a
    /// component boundary leaves no dangling filler.
    pub fn field(&self, width: usize) -> (String, bool) {
        let primary = self.primary.replace(' ', "<");
        let secondary = self.secondary.replace(' ', "<");
        let (p, s) = if secondary.is_empty() {
            (cut(&primary, width), String::new())
        } else {
            let p = if primary.len() + 3 <= width { primary.clone() } else { cut(&primary, width - 3) };
            let s = cut(&secondary, width - p.len() - 2);
            (p, s)
        };
        let truncated = p.len() < primary.len() || s.len() < secondary.len();
        let mut field = if s.is_empty() { p } else { format!("{p}<<{s}") };
        field.extend(std::iter::repeat_n('<', width - field.len()));
        (field, truncated)
    }

    /// The name in a field read from an MRZ: `Err((offset, expected))` with the 0-based offset in the field.
    pub(crate) fn from_field(field: &str) -> Result<Name, (usize, &'static str)> {
        if let Some(i) = field.bytes().position(|b| !(b.is_ascii_uppercase() || b == b'<')) {
            return Err((i, "letters A-Z and fillers only"));
        }
        let text = field.trim_end_matches('<');
        if text.is_empty() {
            return Err((0, "a primary identifier, found only fillers"));
        }
        if field.starts_with('<') {
            return Err((0, "a name starting with a letter"));
        }
        let (primary, secondary) = text.split_once("<<").unwrap_or((text, ""));
        if let Some(i) = secondary.find("<<") {
            return Err((primary.len() + 2 + i, "one < between secondary identifier components"));
        }
        if secondary.starts_with('<') {
            return Err((primary.len() + 2, "<< then a letter (a third < starts nothing)"));
        }
        Ok(Name {
            primary: primary.replace('<', " "),
            secondary: secondary.replace('<', " "),
            truncated: text.len() == field.len(),
        })
    }
}

/// `text` cut to at most `width` characters, without a trailing filler.
fn cut(text: &str, width: usize) -> String {
    text[..text.len().min(width)].trim_end_matches('<').to_owned()
}

impl fmt::Display for Name {
    /// `PRIMARY, SECONDARY` (the primary alone when there is no secondary identifier).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.primary)?;
        if !self.secondary.is_empty() {
            write!(f, ", {}", self.secondary)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transliteration() {
        let n = Name::new("O'Brien-Smith", "mary,  jane").unwrap();
        assert_eq!((n.primary(), n.secondary()), ("OBRIEN SMITH", "MARY JANE"));
        assert_eq!(n.field(30), ("OBRIEN<SMITH<<MARY<JANE<<<<<<<".to_owned(), false));
        assert_eq!(Name::new(" '- ", "A"), Err(NameProblem::EmptyPrimary));
        assert_eq!(Name::new("Müller", ""), Err(NameProblem::Character { secondary: false, position: 2, found: 'ü' }));
    }

    #[test]
    fn truncation_keeps_the_first_secondary_letter() {
        let n = Name::new("Abcdefghijklmnopqrstuvwxyzabcdefgh", "Peter").unwrap();
        let (field, truncated) = n.field(30);
        assert_eq!(field, "ABCDEFGHIJKLMNOPQRSTUVWXYZA<<P");
        assert!(truncated);
        let n = Name::new("Stevenson", "Peter Johnathan Maximilian").unwrap();
        assert_eq!(n.field(30), ("STEVENSON<<PETER<JOHNATHAN<MAX".to_owned(), true));
        // A cut on a component boundary leaves no trailing filler inside the name.
        let n = Name::new("Stevenson", "Peter Johnathanx M").unwrap();
        assert_eq!(n.field(28), ("STEVENSON<<PETER<JOHNATHANX<".to_owned(), true));
        let read = Name::from_field("STEVENSON<<PETER<JOHNATHAN<MAX").unwrap();
        assert!(read.truncated());
        assert!(!Name::from_field("ERIKSSON<<ANNA<MARIA<<<<<<<<<<").unwrap().truncated());
    }
}
