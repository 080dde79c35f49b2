//! Properties: reading never panics, whatever the text; every generated MRZ of every format (long document
//! numbers and names cut to fit included) reads back with every check digit right and the same fields.

use khil_mrtd::mrz::{Format, Mrz, MrzDate, Name, Sex};
use proptest::prelude::*;

fn letters(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[A-Z]{{1,{max}}}")).unwrap()
}

fn words(min: usize, max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(letters(12), min..=max).prop_map(|w| w.join(" "))
}

fn optional(max: usize) -> BoxedStrategy<String> {
    if max == 0 {
        return Just(String::new()).boxed();
    }
    // Values end in a letter or digit: trailing fillers are the field's padding, not part of the value.
    proptest::string::string_regex(&format!("([A-Z0-9<]{{0,{}}}[A-Z0-9])?", max - 1)).unwrap().boxed()
}

fn any_mrz() -> impl Strategy<Value = Mrz> {
    let format = proptest::sample::select(Format::ALL.to_vec());
    format.prop_flat_map(|f| {
        let code = if f.is_visa() { "V[A-Z<]?" } else { "[A-UW-Z][A-Z<]?" };
        let number = proptest::string::string_regex(&format!("[A-Z0-9]{{1,{}}}", f.max_document_number_len())).unwrap();
        (
            proptest::string::string_regex(code).unwrap().prop_map(|c| c.trim_end_matches('<').to_owned()),
            letters(3),
            letters(3),
            words(1, 3),
            words(0, 3),
            number,
            (0u8..100, 1u8..=12, 1u8..=28),
            (0u8..100, 1u8..=12, 1u8..=28),
            proptest::sample::select(vec![Sex::Male, Sex::Female, Sex::Unspecified, Sex::X]),
            optional(f.optional_width()),
            optional(f.optional_2_width()),
        )
            .prop_map(move |(code, state, nationality, primary, secondary, number, b, e, sex, opt, opt2)| {
                // The optional data shares its field with the rest of a long number, its check digit and a filler.
                let room = if number.len() > 9 {
                    f.optional_width().saturating_sub(number.len() - 9 + 2)
                } else {
                    f.optional_width()
                };
                let mut opt: String = opt.chars().take(room).collect();
                while opt.ends_with('<') {
                    opt.pop();
                }
                Mrz {
                    format: f,
                    document_code: code,
                    issuing_state: state,
                    name: Name::new(&primary, &secondary).unwrap(),
                    document_number: number,
                    nationality,
                    birth_date: MrzDate::new(b.0, b.1, b.2).unwrap(),
                    sex,
                    expiry_date: MrzDate::new(e.0, e.1, e.2).unwrap(),
                    optional_data: opt,
                    optional_data_2: opt2,
                }
            })
    })
}

/// Each component of `cut` starts the next matching component of `whole` (space-separated), in order.
fn is_cut_of(whole: &str, cut: &str) -> bool {
    let mut rest = whole.split(' ').filter(|c| !c.is_empty());
    cut.split(' ').filter(|c| !c.is_empty()).all(|c| rest.any(|w| w.starts_with(c)))
}

/// The name field of generated lines.
fn r_name_field(lines: &[String], format: Format) -> String {
    if format == Format::Td1 { lines[2].clone() } else { lines[0][5..].to_owned() }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = Mrz::read(&text);
    }

    #[test]
    fn mrz_shaped_text_never_panics(
        shape in proptest::sample::select(vec![(3usize, 30usize), (2, 36), (2, 44)]),
        chars in proptest::collection::vec(proptest::sample::select(b"ABCPVIX0123456789<<<<<<".to_vec()), 132),
    ) {
        let lines: Vec<String> = (0..shape.0)
            .map(|i| chars[i * shape.1..(i + 1) * shape.1].iter().map(|&b| b as char).collect())
            .collect();
        if let Ok(r) = Mrz::read_lines(&lines) {
            // Whatever reads has fields that generate again.
            let _ = r.mrz.generate();
        }
    }

    #[test]
    fn generate_then_read_round_trips(m in any_mrz(), flip in any::<(usize, usize, u8)>()) {
        let g = m.generate().unwrap();
        prop_assert_eq!(g.lines.len(), m.format.lines());
        prop_assert!(g.lines.iter().all(|l| l.len() == m.format.width()));
        let r = Mrz::read_lines(&g.lines).unwrap();
        prop_assert!(r.all_ok(), "{:?}", r.checks);
        let back = r.mrz;
        prop_assert_eq!(back.format, m.format);
        prop_assert!(back.document_number == m.document_number && back.optional_data == m.optional_data);
        prop_assert!(back.optional_data_2 == m.optional_data_2 && back.document_code == m.document_code);
        prop_assert!(back.birth_date == m.birth_date && back.expiry_date == m.expiry_date && back.sex == m.sex);
        prop_assert!(back.issuing_state == m.issuing_state && back.nationality == m.nationality);
        if g.name_truncated {
            // Cut, never lost: components shortened or (initials only) dropped, in order; the first secondary
            // letter kept; the field ends in a letter unless only initials stood before the cut.
            prop_assert!(is_cut_of(m.name.primary(), back.name.primary()), "primary");
            prop_assert!(is_cut_of(m.name.secondary(), back.name.secondary()), "secondary");
            prop_assert_eq!(m.name.secondary().is_empty(), back.name.secondary().is_empty());
            let field = &r_name_field(&g.lines, m.format);
            let initials_only = field.split('<').filter(|c| !c.is_empty()).all(|c| c.len() == 1);
            prop_assert!(back.name.truncated() || initials_only, "{} does not end in a letter", field);
        } else {
            prop_assert!(back.name.primary() == m.name.primary() && back.name.secondary() == m.name.secondary());
        }
        prop_assert_eq!(&back.generate().unwrap().lines, &g.lines);
        prop_assert_eq!(back.mrz_information().unwrap(), m.mrz_information().unwrap());
        // One character changed anywhere: read or refused, never a panic.
        let mut lines = g.lines.clone();
        let line = flip.0 % lines.len();
        let column = flip.1 % lines[line].len();
        let c = b"A0<Z9"[usize::from(flip.2) % 5] as char;
        lines[line].replace_range(column..=column, &c.to_string());
        let _ = Mrz::read_lines(&lines);
    }
}
