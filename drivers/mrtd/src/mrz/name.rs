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

    /// Read from an MRZ whose name field ends in a letter: 9303 (9303-4 §4.2.3) makes that the mark of a cut name
    /// and says a reader must treat the name as possibly truncated, even when it happens to fit exactly.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The field of `width` characters and whether the name had to be cut to fit it (9303-4 §4.2.3, 9303-5 and
    /// -6 alike): a cut name keeps `<<` and at least the first letter of the secondary identifier (the primary
    /// identifier is cut to leave three positions when it must be), and its last character is a letter, which
    /// is how a reader knows a name may have been cut. Where the cut would end on a filler between components,
    /// the component before it loses a letter so that the next one's first letter takes the last position.
    pub fn field(&self, width: usize) -> (String, bool) {
        let primary = self.primary.replace(' ', "<");
        let secondary = self.secondary.replace(' ', "<");
        let whole = if secondary.is_empty() { primary.clone() } else { format!("{primary}<<{secondary}") };
        if whole.len() <= width {
            return (pad(whole, width), false);
        }
        // A primary identifier too long for `<<` and a letter after it is cut first.
        let text = if !secondary.is_empty() && primary.len() + 3 > width && width >= 3 {
            format!("{}<<{secondary}", cut_to_letter(&primary, width - 3))
        } else {
            whole
        };
        let field = cut_to_letter(&text, width);
        (pad(field, width), true)
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

fn pad(mut field: String, width: usize) -> String {
    let fill = width.saturating_sub(field.len());
    field.extend(std::iter::repeat_n('<', fill));
    field
}

/// `text` (components of letters separated by `<`, the identifiers by `<<`) in at most `width` positions, ending
/// in a letter. 9303: characters are removed from one or more components until the last character of the field
/// is a letter. Here from the nearest component before the cut with a letter to spare; when every one is a single
/// initial, the nearest initial (never the first component) is dropped with the filler after it.
fn cut_to_letter(text: &str, width: usize) -> String {
    let mut t = text.as_bytes().to_vec();
    while t.len() > width && width > 0 {
        if t[width - 1] != b'<' {
            t.truncate(width);
            break;
        }
        // The components standing wholly before the cut, as (start, end) ranges.
        let mut components = Vec::new();
        let mut start = 0;
        for (i, &b) in t[..width].iter().enumerate() {
            if b == b'<' {
                if i > start {
                    components.push((start, i));
                }
                start = i + 1;
            }
        }
        if let Some(&(_, end)) = components.iter().rev().find(|(s, e)| e - s >= 2) {
            t.remove(end - 1);
        } else if let [_, .., (s, e)] = components[..] {
            t.drain(s..=e);
        } else {
            t.truncate(width);
            break;
        }
    }
    while t.last() == Some(&b'<') {
        t.pop();
    }
    String::from_utf8(t).unwrap_or_default()
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
        // A cut on a component boundary: the component before it gives up a letter, the field ends in one.
        let n = Name::new("Stevenson", "Peter Johnathanx M").unwrap();
        assert_eq!(n.field(28), ("STEVENSON<<PETER<JOHNATHAN<M".to_owned(), true));
        // Only initials before a cut on a boundary: one is dropped (no field of four can end in a letter here).
        let n = Name::new("A B C", "").unwrap();
        assert_eq!(n.field(4), ("A<C<".to_owned(), true));
        assert_eq!(n.field(3), ("A<B".to_owned(), true));
        // The secondary identifier's initial cannot end the field: the primary gives up a letter instead.
        let n = Name::new("Aaaaaaaaa Aaaaaaa Aaaaaaaa", "A Bcd").unwrap();
        assert_eq!(n.field(30), ("AAAAAAAAA<AAAAAAA<AAAAAAA<<A<B".to_owned(), true));
        // 9303-4 §4.2.3's examples (TD3, 39 positions): the secondary identifier cut, exactly as printed there.
        let cut = |p: &str, s: &str| Name::new(p, s).unwrap().field(39);
        assert_eq!(
            cut("Nilavadhanananda", "Arnpol Petch Charonguang"),
            ("NILAVADHANANANDA<<ARNPOL<PETCH<CHARONGU".to_owned(), true)
        );
        assert_eq!(
            cut("Nilavadhanananda", "Chayapa Dejthamrong Krasuang"),
            ("NILAVADHANANANDA<<CHAYAPA<DEJTHAMRONG<K".to_owned(), true)
        );
        // The primary identifier cut: 9303 shows several ways; this one keeps as much of it as the rule allows.
        assert_eq!(
            cut("Bennelong Wooloomooloo Warrandyte Warnambool", "Dingo Potoroo"),
            ("BENNELONG<WOOLOOMOOLOO<WARRANDYTE<WA<<D".to_owned(), true)
        );
        // A name that fills the field exactly is not cut, but a reader must assume it may have been.
        let full = cut("Papandropoulous", "Jonathon Warren Trevor");
        assert_eq!(full, ("PAPANDROPOULOUS<<JONATHON<WARREN<TREVOR".to_owned(), false));
        assert!(Name::from_field(&full.0).unwrap().truncated());
        let read = Name::from_field("STEVENSON<<PETER<JOHNATHAN<MAX").unwrap();
        assert!(read.truncated());
        assert!(!Name::from_field("ERIKSSON<<ANNA<MARIA<<<<<<<<<<").unwrap().truncated());
    }
}
