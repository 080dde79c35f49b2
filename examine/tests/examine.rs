//! The examiner on rendered specimens of the forgery catalogue (a handful, under mild conditions: the rates
//! over thousands are `khil bench examine`'s), on damaged input, and on arbitrary input (proptests).

use std::sync::OnceLock;

use khil_examine::{
    Authentication, Capture, Captures, CheckId, CheckState, ChipData, Decision, Document, Examiner, Models, Report,
    StopList,
};
use khil_mrtd::mrz::{CivilDate, Format};
use khil_sim_docreader::{
    Catalogue, Conditions, Dpi, FontPaths, Fonts, FraudClass, Layout, ParameterSpace, Renderer, Specimen,
};
use proptest::prelude::*;

fn today() -> CivilDate {
    CivilDate::new(2026, 12, 6).unwrap()
}

fn renderer() -> Option<&'static Renderer> {
    static RENDERER: OnceLock<Option<Renderer>> = OnceLock::new();
    RENDERER
        .get_or_init(|| match Fonts::load(&FontPaths::from_env()) {
            Ok(fonts) => Some(Renderer::new(fonts, Dpi::D300)),
            Err(e) => khil_test_support::missing(format!("{e}: install fonts-ocr-b and fonts-dejavu-core")),
        })
        .as_ref()
}

/// A used document placed by hand on a decent reader.
fn mild() -> Conditions {
    Conditions {
        wear: 0.15,
        dirt: 0.1,
        gain: 1.05,
        offset: 6.0,
        unevenness: 0.1,
        shift_mm: (1.2, -0.8),
        rotation_deg: 1.5,
    }
}

fn specimen(class: FraudClass, index: u64) -> Specimen {
    let mut s = Catalogue::new(21, today(), ParameterSpace::Development).specimen(class, index);
    s.conditions = mild();
    s
}

fn read(renderer: &Renderer, s: &Specimen) -> Document {
    as_read(s, renderer.render_set(&s.page, &s.design, &s.conditions, s.capture_seed))
}

fn stop_list_for(s: &Specimen) -> StopList {
    let mut list = StopList::new();
    list.insert("MNG", "Z00000001");
    if let Some((state, number)) = &s.listed {
        list.insert(state, number);
    }
    list
}

fn examine(renderer: &Renderer, s: &Specimen) -> Report {
    Examiner::default().examine(&read(renderer, s), &stop_list_for(s), today())
}

fn state(report: &Report, id: CheckId) -> Option<CheckState> {
    report.check(id).map(|c| c.state)
}

fn explain(report: &Report) -> String {
    report
        .checks
        .iter()
        .map(|c| format!("{} {:?} {:?} ({})", c.id.name(), c.state, c.measured, c.note))
        .collect::<Vec<_>>()
        .join("\n  ")
}

#[test]
fn genuine_documents_pass_under_mild_conditions() {
    let Some(renderer) = renderer() else { return };
    for i in 0..4 {
        let s = specimen(FraudClass::Genuine, i);
        let report = examine(renderer, &s);
        assert_eq!(
            report.decision,
            Decision::Genuine,
            "specimen {i} ({:?}):\n  {}",
            s.document.format,
            explain(&report)
        );
        for id in [CheckId::UvSubstrate, CheckId::IrMrzAbsorption, CheckId::MrzValidity, CheckId::MrzVsViz] {
            assert_eq!(state(&report, id), Some(CheckState::Pass), "{}", id.name());
        }
    }
}

/// Each class is caught, and by the check that names its defect.
#[test]
fn every_fraud_class_is_caught_by_its_check() {
    let Some(renderer) = renderer() else { return };
    let expected = [
        (FraudClass::CounterfeitOfficePaper, CheckId::UvSubstrate),
        (FraudClass::IrTransparentMrz, CheckId::IrMrzAbsorption),
        (FraudClass::AlteredBiodata, CheckId::MrzVsViz),
        (FraudClass::AlteredMrzCheckDigit, CheckId::MrzValidity),
        (FraudClass::AlteredMrzRecomputed, CheckId::MrzVsChip),
        (FraudClass::PhotoSubstitution, CheckId::PortraitVsChip),
        (FraudClass::StolenBlank, CheckId::LostStolen),
        (FraudClass::Expired, CheckId::Validity),
    ];
    for (class, check) in expected {
        for i in 0..2 {
            let s = specimen(class, i);
            let report = examine(renderer, &s);
            assert_ne!(report.decision, Decision::Genuine, "{} {i}:\n  {}", class.name(), explain(&report));
            assert_eq!(state(&report, check), Some(CheckState::Fail), "{} {i}:\n  {}", class.name(), explain(&report));
        }
    }
    // Expired but otherwise genuine: not valid, not forged.
    let report = examine(renderer, &specimen(FraudClass::Expired, 0));
    assert_eq!(report.decision, Decision::NotValid { failed: vec![CheckId::Validity] }, "{}", explain(&report));
}

#[test]
fn office_paper_fails_every_optical_check_it_should() {
    let Some(renderer) = renderer() else { return };
    let s = specimen(FraudClass::CounterfeitOfficePaper, 0);
    let report = examine(renderer, &s);
    for id in [CheckId::UvSubstrate, CheckId::UvFeature, CheckId::IrVizDropout] {
        assert_eq!(state(&report, id), Some(CheckState::Fail), "{}:\n  {}", id.name(), explain(&report));
    }
    // The check says where it looked and against what.
    let uv = report.check(CheckId::UvSubstrate).unwrap();
    assert!(uv.region.is_some() && uv.threshold.is_some() && uv.measured.is_some());
    assert_eq!(uv.routine.as_deref(), Some("(UV,BR,FU)"));
}

#[test]
fn unknown_model_is_unable_to_examine_never_genuine() {
    let Some(renderer) = renderer() else { return };
    let s = specimen(FraudClass::Fantasy, 0);
    let report = examine(renderer, &s);
    assert!(matches!(report.decision, Decision::UnableToExamine { .. }), "{}", explain(&report));
    assert_eq!(state(&report, CheckId::DocumentModel), Some(CheckState::Unable));
    // The model-independent routines still ran.
    assert_eq!(state(&report, CheckId::UvSubstrate), Some(CheckState::Pass), "{}", explain(&report));
    assert_eq!(state(&report, CheckId::IrMrzAbsorption), Some(CheckState::Pass), "{}", explain(&report));
    // With an empty model list even a genuine document is unable.
    let genuine = specimen(FraudClass::Genuine, 0);
    let report = Examiner::new(Models::new(Vec::new())).examine(&read(renderer, &genuine), &StopList::new(), today());
    assert!(matches!(report.decision, Decision::UnableToExamine { .. }), "{}", explain(&report));
}

#[test]
fn truncated_capture_is_unable_to_examine() {
    let Some(renderer) = renderer() else { return };
    let s = specimen(FraudClass::Genuine, 1);
    let mut document = read(renderer, &s);
    for capture in [&mut document.captures.white, &mut document.captures.infrared, &mut document.captures.ultraviolet] {
        let c = capture.as_mut().unwrap();
        // The reader delivered only the left 60 % of every row.
        let keep = c.image.width * 6 / 10;
        let pixels = c.image.pixels.chunks(c.image.width).flat_map(|row| row[..keep].to_vec()).collect();
        c.image = khil_biometrics::image::GrayImage { width: keep, height: c.image.height, pixels };
    }
    let report = Examiner::default().examine(&document, &StopList::new(), today());
    match &report.decision {
        Decision::UnableToExamine { reason } => assert!(reason.contains("beyond"), "{reason}"),
        other => panic!("expected unable, got {other:?}:\n  {}", explain(&report)),
    }
    assert_eq!(state(&report, CheckId::PageLocation), Some(CheckState::Unable));
}

#[test]
fn missing_lights_and_chip_are_unable_not_pass() {
    let Some(renderer) = renderer() else { return };
    let s = specimen(FraudClass::Genuine, 2);
    let mut document = read(renderer, &s);
    document.captures.ultraviolet = None;
    document.captures.infrared = None;
    document.chip = None;
    let report = Examiner::default().examine(&document, &StopList::new(), today());
    for id in [CheckId::UvSubstrate, CheckId::IrMrzAbsorption, CheckId::MrzVsChip, CheckId::PortraitVsChip] {
        assert_eq!(state(&report, id), Some(CheckState::Unable), "{}:\n  {}", id.name(), explain(&report));
    }
    document.captures.white = None;
    let report = Examiner::default().examine(&document, &StopList::new(), today());
    assert!(matches!(report.decision, Decision::UnableToExamine { .. }));
}

#[test]
fn chip_that_fails_authentication_is_forged() {
    let Some(renderer) = renderer() else { return };
    let s = specimen(FraudClass::Genuine, 0);
    let mut document = read(renderer, &s);
    let Some(chip) = document.chip.as_mut() else { return };
    chip.authentication = Authentication::Failed;
    let report = Examiner::default().examine(&document, &StopList::new(), today());
    assert_eq!(report.decision, Decision::ForgedOrAltered { failed: vec![CheckId::ChipAuthentication] });
}

#[test]
fn report_serialises_without_personal_data() {
    let Some(renderer) = renderer() else { return };
    let s = specimen(FraudClass::AlteredBiodata, 0);
    let report = examine(renderer, &s);
    let json = serde_json::to_string(&report).unwrap();
    assert!(json.contains("\"decision\":\"forged-or-altered\""), "{json}");
    assert!(json.contains("\"mrz-vs-viz\""));
    assert!(!json.contains(&s.document.surname) && !json.contains(&s.document.document_number), "personal data");
    let debug = format!("{:?}", read(renderer, &s));
    assert!(!debug.contains(&s.document.surname));
}

#[test]
fn models_match_the_simulated_issuers_layout() {
    for m in Models::builtin().all() {
        let layout = Layout::of(m.format);
        assert_eq!((m.width_mm, m.height_mm), (layout.width_mm, layout.height_mm), "{:?}", m.key);
        let p = layout.portrait;
        assert_eq!((m.portrait.x, m.portrait.y, m.portrait.w, m.portrait.h), (p.x, p.y, p.w, p.h), "{:?}", m.key);
        for r in &m.routines {
            let expected = match r.location {
                khil_examine::Location::Af => layout.uv_emblem,
                khil_examine::Location::Vz => layout.viz,
                _ => continue,
            };
            let got = r.region;
            assert_eq!((got.x, got.y, got.w, got.h), (expected.x, expected.y, expected.w, expected.h));
        }
    }
    let band = khil_examine::model::mrz_band(Format::Td3);
    let layout = Layout::of(Format::Td3);
    assert!(band.x < layout.mrz_left_mm && band.y > layout.mrz_zone.y);
}

fn any_image() -> impl Strategy<Value = khil_biometrics::image::GrayImage> {
    (0usize..80, 0usize..80, any::<u8>(), any::<bool>()).prop_flat_map(|(w, h, fill, consistent)| {
        let n = if consistent { w * h } else { (w * h).saturating_sub(3) };
        proptest::collection::vec(prop_oneof![Just(fill), any::<u8>()], n)
            .prop_map(move |pixels| khil_biometrics::image::GrayImage { width: w, height: h, pixels })
    })
}

fn any_capture() -> impl Strategy<Value = Option<Capture>> {
    proptest::option::of(
        (prop_oneof![Just(0u16), Just(300u16), any::<u16>()], any_image())
            .prop_map(|(dpi, image)| Capture { dpi, image }),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary images, MRZ lines, VIZ fields and chip data: a report, never a panic, never genuine from noise.
    #[test]
    fn never_panics_on_arbitrary_input(
        white in any_capture(),
        infrared in any_capture(),
        ultraviolet in any_capture(),
        mrz_lines in proptest::collection::vec("[A-Z0-9<]{0,46}", 0..4),
        viz in proptest::collection::btree_map("[a-z_]{1,16}", ".{0,20}", 0..6),
        chip in proptest::option::of((proptest::collection::vec("[A-Z0-9<]{0,46}", 0..4), proptest::option::of(any_image()))),
    ) {
        let document = Document {
            captures: Captures { white, infrared, ultraviolet },
            mrz_lines,
            viz,
            chip: chip.map(|(dg1_mrz, dg2_portrait)| ChipData { dg1_mrz, dg2_portrait, authentication: Authentication::Passed }),
        };
        let report = Examiner::default().examine(&document, &StopList::new(), today());
        prop_assert_ne!(&report.decision, &Decision::Genuine);
        prop_assert!(serde_json::to_string(&report).is_ok());
    }

    /// A real MRZ with page-sized noise as its captures: never genuine.
    #[test]
    fn page_sized_noise_is_never_genuine(seed in any::<u8>(), fill in any::<u8>()) {
        let s = Catalogue::new(3, today(), ParameterSpace::Development).specimen(FraudClass::Genuine, 0);
        let layout = Layout::of(s.document.format);
        let k = 300.0 / 25.4;
        let (w, h) = (((layout.width_mm + 12.0) * k) as usize, ((layout.height_mm + 12.0) * k) as usize);
        let image = khil_biometrics::image::GrayImage {
            width: w,
            height: h,
            pixels: (0..w * h).map(|i| if (i * 7 + seed as usize).is_multiple_of(13) { fill } else { (i as u8).wrapping_mul(seed) }).collect(),
        };
        let capture = Some(Capture { dpi: 300, image });
        let mut document = reader_data(&s);
        document.captures = Captures { white: capture.clone(), infrared: capture.clone(), ultraviolet: capture };
        let report = Examiner::default().examine(&document, &StopList::new(), today());
        prop_assert_ne!(&report.decision, &Decision::Genuine);
    }
}

/// What a reader and an inspection system return for `specimen`, given its captures (white, infrared,
/// ultraviolet, as `Renderer::render_set` makes them): the page's MRZ and VIZ as printed (the reader's OCR is
/// taken as perfect here) and the chip's data. (`khil bench examine` has the same mapping: a simulator must not know the examiner's types.)
fn as_read(specimen: &Specimen, captures: [khil_sim_docreader::Capture; 3]) -> Document {
    let [white, infrared, ultraviolet] = captures.map(|c| khil_examine::Capture { dpi: c.dpi, image: c.image });
    let mut document = reader_data(specimen);
    document.captures = Captures { white: Some(white), infrared: Some(infrared), ultraviolet: Some(ultraviolet) };
    document
}

/// As [`as_read`] without captures: MRZ, VIZ and chip only.
fn reader_data(specimen: &Specimen) -> Document {
    Document {
        captures: Captures::default(),
        mrz_lines: specimen.page.mrz_lines.clone(),
        viz: specimen.page.viz.iter().cloned().collect(),
        chip: specimen.chip.as_ref().map(|c| ChipData {
            dg1_mrz: c.dg1_mrz.clone(),
            dg2_portrait: Some(c.dg2_portrait.clone()),
            authentication: if c.passive_authentication_passed {
                Authentication::Passed
            } else {
                Authentication::Failed
            },
        }),
    }
}
