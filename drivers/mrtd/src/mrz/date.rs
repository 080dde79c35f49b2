//! Dates as the MRZ writes them (YYMMDD, no century) and a small proleptic Gregorian civil date for the code
//! that has to know the century (issuing documents, expiry against today). Written by hand: the arithmetic is
//! a few lines (days from civil, after Howard Hinnant's algorithm) and no calendar crate is wanted for it.

use std::fmt;

/// A date in the MRZ: two-digit year, month, day. A complete date is a valid calendar day in at least one century
/// (29 February needs a year divisible by 4: 2000 was a leap year, so `000229` is accepted). A date of birth may
/// have unknown parts, written as fillers (9303-3 §4.8: `7408<<` day unknown, `74<<<<`, `<<<<<<`); the known parts
/// are still checked.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MrzDate {
    yy: Option<u8>,
    mm: Option<u8>,
    dd: Option<u8>,
}

/// Why six characters are not an MRZ date. The values are not kept: they are someone's date of birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateProblem {
    /// Position (0-based) of the first character that is not a digit.
    NotDigit(usize),
    /// Position (0-based) of a filler that does not stand with another for a whole unknown YY, MM or DD.
    Filler(usize),
    /// The month is not 01-12.
    Month,
    /// The month has no such day (29 February counts in years divisible by four).
    Day,
}

impl fmt::Display for DateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateProblem::NotDigit(i) => write!(f, "character {} of YYMMDD is not a digit", i + 1),
            DateProblem::Filler(i) => write!(
                f,
                "character {} of YYMMDD is a filler, which stands only for a whole unknown YY, MM or DD (<<)",
                i + 1
            ),
            DateProblem::Month => f.write_str("the month (MM) is not 01-12"),
            DateProblem::Day => f.write_str("that month has no such day (DD)"),
        }
    }
}

fn days_in_month(month: u8, leap: bool) -> u8 {
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl MrzDate {
    /// `None` unless `mm`/`dd` name a day of a year ending in `yy` (`yy` < 100).
    pub fn new(yy: u8, mm: u8, dd: u8) -> Option<MrzDate> {
        MrzDate::partly_unknown(Some(yy), Some(mm), Some(dd))
    }

    /// A date of birth with unknown parts (`None`); the known ones must be possible together (day 31 needs a
    /// month that has it, or an unknown month; 29 February a year divisible by four, or an unknown year).
    pub fn partly_unknown(yy: Option<u8>, mm: Option<u8>, dd: Option<u8>) -> Option<MrzDate> {
        let leap = yy.is_none_or(|y| y.is_multiple_of(4));
        let valid = yy.is_none_or(|y| y < 100)
            && mm.is_none_or(|m| (1..=12).contains(&m))
            && dd.is_none_or(|d| d >= 1 && d <= mm.map_or(31, |m| days_in_month(m, leap)));
        valid.then_some(MrzDate { yy, mm, dd })
    }

    /// Six digits YYMMDD.
    pub fn parse(text: &str) -> Result<MrzDate, DateProblem> {
        let date = MrzDate::parse_birth(text)?;
        match text.bytes().position(|b| b == b'<') {
            Some(i) => Err(DateProblem::NotDigit(i)),
            None => Ok(date),
        }
    }

    /// A date of birth: six digits, or with unknown parts as `<<` (9303-3 §4.8).
    pub fn parse_birth(text: &str) -> Result<MrzDate, DateProblem> {
        let b = text.as_bytes();
        if let Some(i) = (0..6).find(|&i| !b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'<')) {
            return Err(DateProblem::NotDigit(i));
        }
        let two = |i: usize| match (b[i], b[i + 1]) {
            (b'<', b'<') => Ok(None),
            (b'<', _) => Err(DateProblem::Filler(i)),
            (_, b'<') => Err(DateProblem::Filler(i + 1)),
            (x, y) => Ok(Some((x - b'0') * 10 + (y - b'0'))),
        };
        let (yy, mm, dd) = (two(0)?, two(2)?, two(4)?);
        if mm.is_some_and(|m| !(1..=12).contains(&m)) {
            return Err(DateProblem::Month);
        }
        MrzDate::partly_unknown(yy, mm, dd).ok_or(DateProblem::Day)
    }

    /// Every part known.
    pub fn is_complete(self) -> bool {
        self.yy.is_some() && self.mm.is_some() && self.dd.is_some()
    }

    pub fn yy(self) -> Option<u8> {
        self.yy
    }

    pub fn month(self) -> Option<u8> {
        self.mm
    }

    pub fn day(self) -> Option<u8> {
        self.dd
    }

    /// The latest year not after `reference_year` that ends in these two digits: the century of a date of birth
    /// read on `reference_year`'s date (a person is never born in the future). Callers with better knowledge
    /// (a person older than 100) decide otherwise; the MRZ cannot say. `None` when the year is unknown.
    pub fn year_not_after(self, reference_year: u16) -> Option<u16> {
        let base = reference_year - reference_year % 100 + u16::from(self.yy?);
        Some(if base > reference_year { base - 100 } else { base })
    }

    /// The year ending in these two digits within 50 years before and 49 after `reference_year`: the century of
    /// a date of expiry or issue. `None` when the year is unknown.
    pub fn year_near(self, reference_year: u16) -> Option<u16> {
        let base = reference_year - reference_year % 100 + u16::from(self.yy?);
        Some(if base + 50 <= reference_year {
            base + 100
        } else if base > reference_year + 49 {
            base - 100
        } else {
            base
        })
    }

    /// This date in `year` (which must end in the date's two digits); `None` for 29 February of a century year
    /// that was not a leap year (1900, 2100), and for a date with unknown parts.
    pub fn in_year(self, year: u16) -> Option<CivilDate> {
        (year % 100 == u16::from(self.yy?)).then(|| CivilDate::new(year, self.mm?, self.dd?)).flatten()
    }
}

impl fmt::Display for MrzDate {
    /// YYMMDD, `<<` for an unknown part.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in [self.yy, self.mm, self.dd] {
            match part {
                Some(v) => write!(f, "{v:02}")?,
                None => f.write_str("<<")?,
            }
        }
        Ok(())
    }
}

impl fmt::Debug for MrzDate {
    // Dates of birth are personal data: Debug says only that a date is there.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MrzDate(..)")
    }
}

/// A day of the proleptic Gregorian calendar, years 1-9999.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CivilDate {
    year: u16,
    month: u8,
    day: u8,
}

fn is_leap(year: u16) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

impl CivilDate {
    pub fn new(year: u16, month: u8, day: u8) -> Option<CivilDate> {
        let valid = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(month, is_leap(year));
        valid.then_some(CivilDate { year, month, day })
    }

    pub fn year(self) -> u16 {
        self.year
    }

    pub fn month(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The day `days` after 1970-01-01; `None` outside years 1-9999.
    pub fn from_days_since_epoch(days: i64) -> Option<CivilDate> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        CivilDate::new(u16::try_from(year).ok()?, month as u8, day as u8)
    }

    /// `days` later (earlier when negative); `None` outside years 1-9999.
    pub fn add_days(self, days: i64) -> Option<CivilDate> {
        CivilDate::from_days_since_epoch(self.days_since_epoch() + days)
    }

    /// The same day `years` later; 29 February becomes 28 February in a year that is not a leap year (how
    /// documents valid for ten years from a 29 February are dated).
    pub fn add_years(self, years: i32) -> Option<CivilDate> {
        let year = u16::try_from(i32::from(self.year) + years).ok()?;
        CivilDate::new(year, self.month, self.day).or_else(|| CivilDate::new(year, self.month, self.day - 1))
    }

    /// As the MRZ writes it.
    pub fn to_mrz(self) -> MrzDate {
        MrzDate { yy: Some((self.year % 100) as u8), mm: Some(self.month), dd: Some(self.day) }
    }
}

impl fmt::Display for CivilDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for CivilDate {
    // Dates of birth are personal data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CivilDate(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_round_trip() {
        assert_eq!(CivilDate::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert_eq!(CivilDate::new(2000, 3, 1).unwrap().days_since_epoch(), 11_017);
        for days in (-719_162..2_000_000).step_by(997) {
            let d = CivilDate::from_days_since_epoch(days).unwrap();
            assert_eq!(d.days_since_epoch(), days);
        }
        assert!(CivilDate::new(1900, 2, 29).is_none());
        assert!(CivilDate::new(2000, 2, 29).is_some());
        let leap = CivilDate::new(2024, 2, 29).unwrap();
        assert_eq!(leap.add_years(10).unwrap().to_string(), "2034-02-28");
    }

    #[test]
    fn centuries() {
        let d = MrzDate::parse("740812").unwrap();
        assert_eq!(d.year_not_after(2026), Some(1974));
        assert_eq!(MrzDate::parse("250101").unwrap().year_not_after(2026), Some(2025));
        assert_eq!(MrzDate::parse("270101").unwrap().year_not_after(2026), Some(1927));
        assert_eq!(MrzDate::parse("350101").unwrap().year_near(2026), Some(2035));
        assert_eq!(MrzDate::parse("990101").unwrap().year_near(2026), Some(1999));
        assert_eq!(MrzDate::parse("750101").unwrap().year_near(2026), Some(2075));
        assert_eq!(MrzDate::parse("760101").unwrap().year_near(2026), Some(1976));
        assert_eq!(MrzDate::parse("000229").unwrap().in_year(1900), None);
        assert_eq!(MrzDate::parse("000229").unwrap().in_year(2000).unwrap().to_string(), "2000-02-29");
        assert_eq!(MrzDate::parse("741332"), Err(DateProblem::Month));
        assert_eq!(MrzDate::parse("010229"), Err(DateProblem::Day));
        assert_eq!(MrzDate::parse("74A812"), Err(DateProblem::NotDigit(2)));
        // Unknown parts: a date of birth only.
        for (text, complete) in [("7408<<", false), ("74<<<<", false), ("<<<<<<", false), ("<<0229", false)] {
            let d = MrzDate::parse_birth(text).unwrap();
            assert_eq!((d.to_string().as_str(), d.is_complete()), (text, complete));
        }
        assert_eq!(MrzDate::parse_birth("7408<<").unwrap().year_not_after(2026), Some(1974));
        assert_eq!(MrzDate::parse_birth("<<<<<<").unwrap().year_not_after(2026), None);
        assert_eq!(MrzDate::parse("7408<<"), Err(DateProblem::NotDigit(4)));
        assert_eq!(MrzDate::parse_birth("7408<1"), Err(DateProblem::Filler(4)));
        assert_eq!(MrzDate::parse_birth("74<<31"), Ok(MrzDate::partly_unknown(Some(74), None, Some(31)).unwrap()));
        assert_eq!(MrzDate::parse_birth("<<1331"), Err(DateProblem::Month));
        assert_eq!(MrzDate::parse_birth("010229"), Err(DateProblem::Day));
    }
}
