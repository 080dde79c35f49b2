//! The MRZ module against ICAO 9303's specimens (as collected in shared/reference/emrtd.md), hand-checked check
//! digits and every error kind, pinned by its message.

use khil_mrtd::mrz::{Check, CheckName, Field, Format, Mrz, MrzDate, MrzError, Name, Sex, check_digit};

const TD3: [&str; 2] = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"];
const TD2: [&str; 2] = ["I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D231458907UTO7408122F1204159<<<<<<<6"];
const TD1: [&str; 3] =
    ["I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"];
const TD3_OLD_LINE_2: &str = "L898902C<3UTO6908061F9406236ZE184226B<<<<<14";
const LONG: [&str; 3] =
    ["I<UTOD23145890<7349<<<<<<<<<<<", "3407127M9507122UTO<<<<<<<<<<<2", "STEVENSON<<PETER<JOHN<<<<<<<<<"];

fn date(s: &str) -> MrzDate {
    MrzDate::parse(s).unwrap()
}

fn anna(format: Format, code: &str, number: &str, optional: &str) -> Mrz {
    Mrz {
        format,
        document_code: code.into(),
        issuing_state: "UTO".into(),
        name: Name::new("Eriksson", "Anna Maria").unwrap(),
        document_number: number.into(),
        nationality: "UTO".into(),
        birth_date: date("740812"),
        sex: Sex::Female,
        expiry_date: date("120415"),
        optional_data: optional.into(),
        optional_data_2: String::new(),
    }
}

/// Reads `lines`, insists every check passed, generates the fields back and compares line for line.
fn specimen(lines: &[&str], expected: &Mrz, info: &str) {
    let reading = Mrz::read_lines(lines).unwrap();
    assert!(reading.all_ok(), "{:?}", reading.checks);
    assert!(reading.mrz == *expected, "{} fields differ", expected.format);
    assert_eq!(reading.mrz.generate().unwrap().lines, lines);
    assert_eq!(reading.mrz.mrz_information().unwrap().as_str(), info);
    assert_eq!(Mrz::parse(&lines.join("\r\n")).unwrap(), *expected);
}

#[test]
fn hand_checked_check_digits() {
    assert_eq!(check_digit("520727"), Some('3'));
    assert_eq!(check_digit("AB2134<<<"), Some('5'));
    assert_eq!(check_digit("L898902C<"), Some('3'));
    assert_eq!(check_digit("D23145890734"), Some('9'));
    assert_eq!(check_digit(""), Some('0'));
    assert_eq!(check_digit("ab"), None);
}

#[test]
fn td3_specimen() {
    specimen(&TD3, &anna(Format::Td3, "P", "L898902C3", "ZE184226B"), "L898902C3674081221204159");
    let r = Mrz::read_lines(&TD3).unwrap();
    let names: Vec<CheckName> = r.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        [
            CheckName::DocumentNumber,
            CheckName::BirthDate,
            CheckName::ExpiryDate,
            CheckName::PersonalNumber,
            CheckName::Composite
        ]
    );
    assert_eq!(r.checks[4], Check { name: CheckName::Composite, line: 2, column: 44, found: '0', computed: '0' });
    let spans: Vec<(Field, u8, u8, &str)> = r.fields.iter().map(|s| (s.field, s.line, s.column, &*s.text)).collect();
    assert_eq!(
        spans[..3],
        [
            (Field::DocumentCode, 1, 1, "P<"),
            (Field::IssuingState, 1, 3, "UTO"),
            (Field::Name, 1, 6, "ERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<")
        ]
    );
    assert_eq!(spans[3], (Field::DocumentNumber, 2, 1, "L898902C3"));
    assert_eq!(spans.last(), Some(&(Field::PersonalNumber, 2, 29, "ZE184226B<<<<<")));
}

#[test]
fn td2_specimen() {
    specimen(&TD2, &anna(Format::Td2, "I", "D23145890", ""), "D23145890774081221204159");
}

#[test]
fn td1_specimen() {
    specimen(&TD1, &anna(Format::Td1, "I", "D23145890", ""), "D23145890774081221204159");
}

#[test]
fn older_td3_line_behind_the_bac_example() {
    let mut m = anna(Format::Td3, "P", "L898902C", "ZE184226B");
    m.birth_date = date("690806");
    m.expiry_date = date("940623");
    // 9303-11 Appendix D.1: the MRZ information of the BAC worked example.
    specimen(&[TD3[0], TD3_OLD_LINE_2], &m, "L898902C<369080619406236");
}

#[test]
fn long_document_number() {
    let m = Mrz {
        format: Format::Td1,
        document_code: "I".into(),
        issuing_state: "UTO".into(),
        name: Name::new("Stevenson", "Peter John").unwrap(),
        document_number: "D23145890734".into(),
        nationality: "UTO".into(),
        birth_date: date("340712"),
        sex: Sex::Male,
        expiry_date: date("950712"),
        optional_data: String::new(),
        optional_data_2: String::new(),
    };
    specimen(&LONG, &m, "D23145890734934071279507122");
    let r = Mrz::read_lines(&LONG).unwrap();
    assert_eq!(r.checks[0], Check { name: CheckName::DocumentNumber, line: 1, column: 19, found: '9', computed: '9' });
    let number: Vec<(u8, &str)> =
        r.fields.iter().filter(|s| s.field == Field::DocumentNumber).map(|s| (s.column, &*s.text)).collect();
    assert_eq!(number, [(6, "D23145890"), (16, "7349")]);
    // With optional data of its own after the number, separated by a filler.
    let mut with_optional = m.clone();
    with_optional.optional_data = "X1".into();
    let g = with_optional.generate().unwrap();
    assert_eq!(g.lines[0], "I<UTOD23145890<7349<X1<<<<<<<<");
    assert!(Mrz::parse(&g.text()).unwrap() == with_optional);
    // The longest number TD1 holds: the rest, its check digit and the filler fill the optional data.
    let mut longest = m.clone();
    longest.document_number = "D231458907341234567890".into();
    let g = longest.generate().unwrap();
    assert_eq!(&g.lines[0][14..], "<7341234567890".to_owned() + &g.lines[0][28..29] + "<");
    assert!(Mrz::parse(&g.text()).unwrap() == longest);
    longest.document_number.push('1');
    assert_eq!(
        longest.generate().unwrap_err().to_string(),
        "cannot generate a TD1 MRZ: document number: expected 1-22 letters A-Z and digits"
    );
    // TD2: the same rule in seven positions.
    let mut td2 = anna(Format::Td2, "I", "D2314589073", "");
    td2.optional_data = "Z".into();
    let g = td2.generate().unwrap();
    assert_eq!(&g.lines[1][..10], "D23145890<");
    assert_eq!(&g.lines[1][28..35], "735<Z<<");
    assert!(Mrz::parse(&g.text()).unwrap() == td2);
}

#[test]
fn visas() {
    for (format, width) in [(Format::MrvA, 44), (Format::MrvB, 36)] {
        let mut m = anna(format, "V", "L8988901C", "");
        m.optional_data = "ABC".into();
        let g = m.generate().unwrap();
        assert!(g.lines.iter().all(|l| l.len() == width));
        assert!(g.lines[0].starts_with("V<UTOERIKSSON<<ANNA<MARIA<<<"));
        let r = Mrz::read(&g.text()).unwrap();
        assert_eq!(r.mrz.format, format);
        assert_eq!(r.checks.len(), 3, "a visa has no composite check digit");
        assert!(r.all_ok() && r.mrz == m);
    }
    // 9303-7's specimens: no composite; the optional data runs to the end of the line.
    let mrv_a = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L8988901C4XXX4009078F96121096ZE184226B<<<<<<"];
    let mrv_b = ["V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F9612109<<<<<<<<"];
    for (format, lines, optional) in [(Format::MrvA, mrv_a, "6ZE184226B"), (Format::MrvB, mrv_b, "")] {
        let mut m = anna(format, "V", "L8988901C", optional);
        m.nationality = "XXX".into();
        m.birth_date = date("400907");
        m.expiry_date = date("961210");
        specimen(&lines, &m, "L8988901C440090789612109");
    }
}

#[test]
fn names_as_9303_writes_them() {
    // 9303-4 §4.2.3.1's examples: no secondary identifier, with one and with two components; components that
    // came with hyphens, apostrophes and spaces.
    let read = |field: &str| {
        let line1 = format!("P<UTO{field:<<39}");
        let mut m = anna(Format::Td3, "P", "L898902C3", "ZE184226B");
        m.name = Mrz::read_lines(&[line1.as_str(), TD3[1]]).unwrap().mrz.name;
        let generated = m.generate().unwrap().lines[0].clone();
        assert_eq!(generated, line1);
        (m.name.primary().to_owned(), m.name.secondary().to_owned())
    };
    assert_eq!(read("ARKFREITH"), ("ARKFREITH".into(), String::new()));
    assert_eq!(read("SATRIYA<SUDARPA"), ("SATRIYA SUDARPA".into(), String::new()));
    assert_eq!(read("SMITH<JONES<<SUSIE<MARGARET"), ("SMITH JONES".into(), "SUSIE MARGARET".into()));
    assert_eq!(read("VAN<DER<MUELLEN<<MARTIN"), ("VAN DER MUELLEN".into(), "MARTIN".into()));
    let typed = |p: &str, s: &str| Name::new(p, s).unwrap().field(39).0;
    assert_eq!(typed("Smith-Jones", "Susie Margaret"), format!("{:<<39}", "SMITH<JONES<<SUSIE<MARGARET"));
    assert_eq!(typed("O'Connor", "Enya Siobhan"), format!("{:<<39}", "OCONNOR<<ENYA<SIOBHAN"));
    assert_eq!(typed("Al-Basri", "Huda Muhammad Jawad"), format!("{:<<39}", "AL<BASRI<<HUDA<MUHAMMAD<JAWAD"));
}

#[test]
fn unknown_parts_of_a_date_of_birth() {
    // 9303-3 §4.8: unknown parts of a date of birth are fillers; a filler counts 0 in its check digit.
    for (birth, cd) in [("7408<<", '7'), ("74<<<<", '1'), ("<<<<<<", '0')] {
        let mut m = anna(Format::Td3, "P", "L898902C3", "ZE184226B");
        m.birth_date = MrzDate::parse_birth(birth).unwrap();
        let g = m.generate().unwrap();
        assert_eq!(&g.lines[1][13..20], format!("{birth}{cd}"));
        let r = Mrz::read_lines(&g.lines).unwrap();
        assert!(r.all_ok() && r.mrz == m, "{birth}");
        assert_eq!(r.mrz.mrz_information().unwrap().as_str(), format!("L898902C36{birth}{cd}1204159"));
    }
    // Only a date of birth: a date of expiry is complete, and fillers stand for whole parts.
    assert_eq!(
        err(&[TD3[0], "L898902C36UTO7408122F1204<<9ZE184226B<<<<<10"]),
        "MRZ TD3 date of expiry (line 2, column 26): expected a date YYMMDD: character 5 of YYMMDD is not a digit"
    );
    assert_eq!(
        err(&[TD3[0], "L898902C36UTO74081<2F1204159ZE184226B<<<<<10"]),
        "MRZ TD3 date of birth (line 2, column 19): expected a date YYMMDD: character 6 of YYMMDD is a filler, \
         which stands only for a whole unknown YY, MM or DD (<<)"
    );
    let mut m = anna(Format::Td3, "P", "L898902C3", "");
    m.expiry_date = MrzDate::parse_birth("12<<<<").unwrap();
    assert_eq!(
        m.generate().unwrap_err().to_string(),
        "cannot generate a TD3 MRZ: date of expiry: expected a complete date (only a date of birth may have unknown \
         parts, 9303-3 §4.8)"
    );
}

#[test]
fn names_sex_and_personal_number_rules() {
    // An empty personal number: its check digit is < (generated) or 0 (accepted).
    let m = anna(Format::Td3, "P", "L898902C", "");
    let g = m.generate().unwrap();
    assert_eq!(&g.lines[1][28..43], "<<<<<<<<<<<<<<<");
    // Both fillers and 0 count as 0 in the composite, so it stays right.
    let zero = format!("{}0{}", &g.lines[1][..42], &g.lines[1][43..]);
    let r = Mrz::read_lines(&[g.lines[0].as_str(), &zero]).unwrap();
    assert!(r.all_ok(), "{:?}", r.checks);
    // X is read and written as X.
    let mut x = anna(Format::Td3, "P", "L898902C", "");
    x.sex = Sex::X;
    let g = x.generate().unwrap();
    assert_eq!(&g.lines[1][20..21], "X");
    assert_eq!(Mrz::parse(&g.text()).unwrap().sex, Sex::X);
    // A long name is cut, and the reading says it may have been.
    let mut long = anna(Format::Td1, "ID", "T22000129", "");
    long.name = Name::new("Gankhuyag-Battulga", "Enkhtuvshin Oyunchimeg").unwrap();
    let g = long.generate().unwrap();
    assert!(g.name_truncated);
    assert_eq!(g.lines[2], "GANKHUYAG<BATTULGA<<ENKHTUVSHI");
    let read = Mrz::parse(&g.text()).unwrap();
    assert!(read.name.truncated());
    assert_eq!(read.name.secondary(), "ENKHTUVSHI");
}

fn err(lines: &[&str]) -> String {
    match Mrz::read_lines(lines) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("{lines:?} was read"),
    }
}

fn with(lines: &[&str], line: usize, column: usize, c: char) -> Vec<String> {
    let mut v: Vec<String> = lines.iter().map(|s| (*s).to_owned()).collect();
    v[line - 1].replace_range(column - 1..column, &c.to_string());
    v
}

fn err_with(lines: &[&str], line: usize, column: usize, c: char) -> String {
    let v = with(lines, line, column, c);
    err(&v.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn every_error_kind_by_its_message() {
    assert_eq!(
        err(&[TD3[0]]),
        "MRZ: expected 3 lines of 30 characters (TD1), 2 of 36 (TD2, MRV-B) or 2 of 44 (TD3, MRV-A); got 1 line \
         of 44 characters"
    );
    assert_eq!(
        Mrz::read("").unwrap_err().to_string(),
        "MRZ: expected 3 lines of 30 characters (TD1), 2 of 36 (TD2, MRV-B) or 2 of 44 (TD3, MRV-A); got no lines"
    );
    assert_eq!(err(&[TD3[0], &TD3[1][..43]]), "MRZ line 2: expected 44 characters like line 1, got 43");
    assert_eq!(err_with(&TD3, 2, 5, 'a'), "MRZ line 2, column 5: 'a' is not an MRZ character (expected A-Z, 0-9 or <)");
    assert_eq!(
        err_with(&TD3, 1, 1, '1'),
        "MRZ TD3 document code (line 1, column 1): expected a letter (P, I, A, C, V)"
    );
    assert_eq!(err_with(&TD3, 1, 2, '7'), "MRZ TD3 document code (line 1, column 2): expected a letter or <");
    assert_eq!(
        err_with(&TD3, 1, 3, '<'),
        "MRZ TD3 issuing state (line 1, column 3): expected a code of 1-3 letters A-Z (fillers after it)"
    );
    assert_eq!(
        err_with(&TD3, 2, 12, '<'),
        "MRZ TD3 nationality (line 2, column 12): expected letters A-Z, then fillers (a state code)"
    );
    assert_eq!(err_with(&TD3, 1, 6, '<'), "MRZ TD3 name (line 1, column 6): expected a name starting with a letter");
    assert_eq!(err_with(&TD3, 1, 8, '1'), "MRZ TD3 name (line 1, column 8): expected letters A-Z and fillers only");
    assert_eq!(
        err_with(&TD3, 1, 28, 'X'),
        "MRZ TD3 name (line 1, column 26): expected one < between secondary identifier components"
    );
    assert_eq!(
        err_with(&TD3, 2, 3, '<'),
        "MRZ TD3 document number (line 2, column 3): expected letters and digits, then fillers only"
    );
    assert_eq!(
        err_with(&TD3, 2, 16, '3'),
        "MRZ TD3 date of birth (line 2, column 16): expected a date YYMMDD: the month (MM) is not 01-12"
    );
    assert_eq!(
        err_with(&TD3, 2, 26, '3'),
        "MRZ TD3 date of expiry (line 2, column 26): expected a date YYMMDD: that month has no such day (DD)"
    );
    assert_eq!(
        err_with(&TD3, 2, 17, 'A'),
        "MRZ TD3 date of birth (line 2, column 17): expected a date YYMMDD: character 4 of YYMMDD is not a digit"
    );
    assert_eq!(err_with(&TD3, 2, 21, 'Q'), "MRZ TD3 sex (line 2, column 21): expected M, F, X or <");
    assert_eq!(
        err(&["I<UTOD23145890<<<<<<<<<<<<<<<<", TD1[1], TD1[2]]),
        "MRZ TD1 document number (line 1, column 16): expected the rest of the document number and its check \
         digit (the check digit position after the first nine characters holds <)"
    );
    assert_eq!(
        Mrz::parse(&with(&TD3, 2, 10, '7').join("\n")).unwrap_err().to_string(),
        "MRZ document number check digit (line 2, column 10): found 7, computed 6: failed"
    );
    let fields_of = |f: Mrz| f.generate().unwrap_err().to_string();
    let mut m = anna(Format::Td3, "P", "L898902C0734", "");
    assert_eq!(fields_of(m.clone()), "cannot generate a TD3 MRZ: document number: expected 1-9 letters A-Z and digits");
    m.document_number = "L898902C".into();
    m.document_code = "V".into();
    assert_eq!(
        fields_of(m.clone()),
        "cannot generate a TD3 MRZ: document code: expected 1-2 letters, the first a letter other than V (V marks visas)"
    );
    m.document_code = "P".into();
    m.nationality = "UT0".into();
    assert_eq!(fields_of(m.clone()), "cannot generate a TD3 MRZ: nationality: expected 1-3 letters A-Z");
    m.nationality = "UTO".into();
    m.optional_data = "ZE184226B123456".into();
    assert_eq!(
        fields_of(m),
        "cannot generate a TD3 MRZ: personal number: expected at most 14 characters A-Z, 0-9 or <"
    );
    assert_eq!(
        Name::new("Nguyễn", "").unwrap_err().to_string(),
        "letters A-Z, spaces, hyphens, commas or apostrophes in the primary identifier; character 5 is 'ễ' \
         (transliterate national characters first)"
    );
}

#[test]
fn every_check_is_reported_not_only_the_first() {
    let bad = with(&TD3, 2, 10, '7');
    let bad = with(&bad.iter().map(String::as_str).collect::<Vec<_>>(), 2, 20, '0');
    let r = Mrz::read_lines(&bad).unwrap();
    let failed: Vec<(CheckName, char, char)> =
        r.checks.iter().filter(|c| !c.ok()).map(|c| (c.name, c.found, c.computed)).collect();
    assert_eq!(
        failed,
        [(CheckName::DocumentNumber, '7', '6'), (CheckName::BirthDate, '0', '2'), (CheckName::Composite, '0', '1')]
    );
}

#[test]
fn debug_shows_no_personal_data() {
    let r = Mrz::read_lines(&TD3).unwrap();
    let all = format!("{r:?} {:?} {:?}", r.mrz.mrz_information().unwrap(), r.mrz.generate().unwrap());
    for secret in ["ERIKSSON", "L898902C", "740812", "ZE184226"] {
        assert!(!all.contains(secret), "{secret} in {all}");
    }
}

#[test]
fn trailing_whitespace_and_crlf_only() {
    let text = format!("{}  \r\n{}\t\r\n\r\n", TD3[0], TD3[1]);
    assert!(Mrz::read(&text).unwrap().all_ok());
    let leading = format!(" {}\n{}", TD3[0], TD3[1]);
    assert!(matches!(Mrz::read(&leading), Err(MrzError::Shape { .. })));
}

/// K_seed = SHA-1(MRZ information)[0..16] (9303-11 §9.7.1.1): the MRZ information read from the specimens seeds
/// exactly the keys of 9303-11 Appendix D.1 and of the long-number example.
#[test]
fn mrz_information_seeds_the_published_bac_keys() {
    use sha1::{Digest, Sha1};
    let kseed = |lines: &[&str]| {
        let info = Mrz::read_lines(lines).unwrap().mrz.mrz_information().unwrap();
        let digest = Sha1::digest(info.as_bytes());
        digest[..16].iter().fold(String::new(), |mut hex, b| {
            use std::fmt::Write as _;
            let _ = write!(hex, "{b:02X}");
            hex
        })
    };
    assert_eq!(kseed(&[TD3[0], TD3_OLD_LINE_2]), "239AB9CB282DAF66231DC5A4DF6BFBAE");
    assert_eq!(kseed(&LONG), "B366AD857DDCA2B08C0E299811714730");
}
