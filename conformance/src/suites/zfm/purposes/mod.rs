//! The ZFM purposes, one file per clause group, in run order.

mod capture;
mod declared;
mod framing;
mod library;
mod robustness;
mod system;
mod timing;

use super::ZfmDut;
use crate::purpose::Purpose;

/// Declares one ZFM purpose (see [`crate::purpose::purpose_for`]).
macro_rules! purpose {
    ($($body:tt)*) => { crate::purpose::purpose_for!(crate::suites::zfm::ZfmDut; $($body)*) };
}
pub(crate) use purpose;

/// Checks that `observed` is byte for byte `expected`; the evidence gives both lengths and the first offset that
/// differs (never the bytes: they may be a template or an image).
pub(crate) fn check_bytes(
    ctx: &mut crate::purpose::Ctx,
    what: impl Into<String>,
    expected: &[u8],
    observed: &[u8],
) -> Result<(), crate::purpose::Stop> {
    let first_difference = expected.iter().zip(observed).position(|(a, b)| a != b);
    let found = match (first_difference, expected.len() == observed.len()) {
        (None, true) => format!("the same {} bytes", observed.len()),
        (None, false) => format!("{} bytes (expected {}), equal as far as both go", observed.len(), expected.len()),
        (Some(at), _) => format!("{} bytes, first difference at offset {at}", observed.len()),
    };
    let ok = expected == observed;
    ctx.check(what, format!("the same {} bytes", expected.len()), found, ok)
}

/// Every purpose, in the catalogue's order (declared-vs-observed first).
pub(super) fn all() -> Vec<Purpose<ZfmDut>> {
    let mut bodies = declared::purposes();
    bodies.extend(framing::purposes());
    bodies.extend(system::purposes());
    bodies.extend(capture::purposes());
    bodies.extend(library::purposes());
    bodies.extend(timing::purposes());
    bodies.extend(robustness::purposes());
    crate::catalogue::ZFM
        .assemble(bodies)
        .expect("the ZFM catalogue and bodies agree (tests::ids_are_unique_and_well_formed)")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_ics_template_is_a_valid_ics_with_every_optional_key() {
        let ics = crate::ics::Ics::parse(crate::suites::zfm::ICS_TEMPLATE, "template").unwrap();
        crate::suites::zfm::ZfmIcs::from_ics(&ics).unwrap();
        // Every key the shipped profiles declare is in the template too.
        for shipped in [crate::suites::zfm::ICS_R307, crate::suites::zfm::ICS_R503] {
            let s = crate::ics::Ics::parse(shipped, "shipped").unwrap();
            for key in s.capabilities.keys().chain(s.ixit.keys()) {
                assert!(ics.capabilities.contains_key(key) || ics.ixit.contains_key(key), "{key}");
            }
        }
    }

    #[test]
    fn ids_are_unique_and_well_formed() {
        let all = super::all();
        assert!(all.len() >= 40, "{} purposes", all.len());
        let mut seen = std::collections::BTreeSet::new();
        for p in &all {
            assert!(seen.insert(p.meta.id), "duplicate id {}", p.meta.id);
            let parts: Vec<&str> = p.meta.id.split('-').collect();
            assert!(parts.len() == 3 && parts[0] == "ZFM" && parts[2].len() == 3, "{}", p.meta.id);
        }
    }
}
