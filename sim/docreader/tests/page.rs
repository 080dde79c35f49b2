//! The renderer's geometry, lights, determinism and robustness, measured on the captures themselves.

use khil_docreader::Light;
use khil_mrtd::mrz::{CivilDate, Format};
use khil_sim_docreader::page::{MRZ_CAP_HEIGHT_MM, MRZ_LINE_SPACING_MM, MRZ_PITCH_MM, READER_MARGIN_MM};
use khil_sim_docreader::{Capture, Conditions, Design, Dpi, FontError, FontPaths, Fonts, Layout, RectMm, Renderer};
use khil_sim_population::documents::{Documents, TravelDocument};
use proptest::prelude::*;

fn renderer(dpi: Dpi) -> Option<Renderer> {
    match Fonts::load(&FontPaths::from_env()) {
        Ok(fonts) => Some(Renderer::new(fonts, dpi)),
        Err(e) => khil_test_support::missing(format!("{e}: install fonts-ocr-b and fonts-dejavu-core")),
    }
}

fn document(format: Format) -> TravelDocument {
    let documents = Documents::new(11, CivilDate::new(2026, 12, 6).unwrap());
    (0..200).map(|id| documents.document(id)).find(|d| d.format == format).expect("the population has every format")
}

/// The pixels of a page rectangle in a capture taken with the page at its nominal place.
fn pixels(c: &Capture, r: RectMm) -> Vec<u8> {
    let k = f32::from(c.dpi) / 25.4;
    let (x0, y0) = (((READER_MARGIN_MM + r.x) * k) as usize, ((READER_MARGIN_MM + r.y) * k) as usize);
    let (x1, y1) = (((READER_MARGIN_MM + r.x + r.w) * k) as usize, ((READER_MARGIN_MM + r.y + r.h) * k) as usize);
    (y0..y1).flat_map(|y| (x0..x1).map(move |x| c.image.get(x, y))).collect()
}

fn share_below(px: &[u8], level: u8) -> f64 {
    px.iter().filter(|&&v| v < level).count() as f64 / px.len() as f64
}

fn mean(px: &[u8]) -> f64 {
    px.iter().map(|&v| f64::from(v)).sum::<f64>() / px.len() as f64
}

/// The bounding box of dark pixels in the MRZ zone, in mm on the page: (left, top, right, bottom).
fn mrz_ink_box(c: &Capture, layout: &Layout) -> (f32, f32, f32, f32) {
    let k = f32::from(c.dpi) / 25.4;
    let zone = layout.mrz_zone;
    let (mut l, mut t, mut r, mut b) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    let y0 = ((READER_MARGIN_MM + zone.y) * k) as usize;
    // Two pixels in from the page's edges: the reader's dark lid is outside them.
    let y1 = ((READER_MARGIN_MM + layout.height_mm) * k) as usize - 2;
    let x1 = ((READER_MARGIN_MM + layout.width_mm) * k) as usize - 2;
    for y in y0..y1 {
        for x in (READER_MARGIN_MM * k) as usize + 2..x1 {
            if c.image.get(x, y) < 100 {
                let (xm, ym) = (x as f32 / k - READER_MARGIN_MM, y as f32 / k - READER_MARGIN_MM);
                (l, t, r, b) = (l.min(xm), t.min(ym), r.max(xm), b.max(ym));
            }
        }
    }
    (l, t, r, b)
}

#[test]
fn mrz_zone_geometry_at_both_resolutions() {
    for dpi in [Dpi::D300, Dpi::D400] {
        let Some(renderer) = renderer(dpi) else { return };
        for format in [Format::Td3, Format::Td1, Format::Td2, Format::MrvA, Format::MrvB] {
            let d = document(format);
            let layout = Layout::of(format);
            let c = renderer.render(&d, Light::Infrared, &Conditions::ideal(), 1).unwrap();
            let k = dpi.px_per_mm();
            assert_eq!(c.image.width, ((layout.width_mm + 2.0 * READER_MARGIN_MM) * k).round() as usize);
            assert_eq!(c.image.height, ((layout.height_mm + 2.0 * READER_MARGIN_MM) * k).round() as usize);
            let (l, t, r, b) = mrz_ink_box(&c, &layout);
            let lines = format.lines() as f32;
            let columns = format.width() as f32;
            // Ink lies inside the character cells: first cell's left edge to the last cell's right edge.
            let cells_right = layout.mrz_left_mm + columns * MRZ_PITCH_MM;
            assert!(l >= layout.mrz_left_mm && l < layout.mrz_left_mm + 0.8, "{format:?} {dpi:?} left {l}");
            assert!(r <= cells_right && r > cells_right - 0.9, "{format:?} {dpi:?} right {r} cells end {cells_right}");
            // Lines: capital height around each centre line, centre lines one spacing apart.
            let bottom_centre = layout.height_mm - layout.mrz_bottom_line_mm;
            let top_centre = bottom_centre - (lines - 1.0) * MRZ_LINE_SPACING_MM;
            let tol = 0.35;
            assert!((b - (bottom_centre + MRZ_CAP_HEIGHT_MM / 2.0)).abs() < tol, "{format:?} {dpi:?} bottom {b}");
            assert!((t - (top_centre - MRZ_CAP_HEIGHT_MM / 2.0)).abs() < tol, "{format:?} {dpi:?} top {t}");
            assert!(t > layout.mrz_zone.y, "MRZ ink above its zone");
        }
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_noise() {
    let Some(renderer) = renderer(Dpi::D300) else { return };
    let d = document(Format::Td3);
    let worn = Conditions { wear: 0.5, dirt: 0.5, rotation_deg: 2.0, ..Conditions::ideal() };
    let a = renderer.render(&d, Light::White, &worn, 42).unwrap();
    let b = renderer.render(&d, Light::White, &worn, 42).unwrap();
    let other = renderer.render(&d, Light::White, &worn, 43).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.image.pixels, other.image.pixels);
    assert!(format!("{a:?}").len() < 200, "Debug shows no pixels");
}

#[test]
fn infrared_keeps_mrz_and_drops_viz() {
    let Some(renderer) = renderer(Dpi::D300) else { return };
    let d = document(Format::Td3);
    let layout = Layout::of(Format::Td3);
    let white = renderer.render(&d, Light::White, &Conditions::ideal(), 1).unwrap();
    let ir = renderer.render(&d, Light::Infrared, &Conditions::ideal(), 1).unwrap();
    // VIZ: printed text in white light, blank paper at 900 nm (everything above 160 of 255).
    assert!(share_below(&pixels(&white, layout.viz), 128) > 0.02);
    let viz_ir = pixels(&ir, layout.viz);
    assert!(viz_ir.iter().all(|&v| v >= 160), "min {:?}", viz_ir.iter().min());
    assert!(mean(&pixels(&ir, layout.viz)) > 220.0);
    // MRZ: as dark in IR as in white light (B900).
    let mrz_white = share_below(&pixels(&white, layout.mrz_zone), 100);
    let mrz_ir = share_below(&pixels(&ir, layout.mrz_zone), 100);
    assert!(mrz_ir > 0.04 && mrz_ir > 0.8 * mrz_white, "IR {mrz_ir} white {mrz_white}");
    // An MRZ reprinted in IR-transparent ink vanishes.
    let fake =
        renderer.render_with(&d, &Design::counterfeit_ir_transparent_mrz(), Light::Infrared, &Conditions::ideal(), 1);
    // (Half a millimetre in from the page's edges, where the dark lid blends in.)
    let z = layout.mrz_zone;
    let inner = RectMm { x: z.x + 0.5, y: z.y, w: z.w - 1.0, h: z.h - 0.5 };
    assert!(pixels(&fake.unwrap(), inner).iter().all(|&v| v >= 160));
}

#[test]
fn ultraviolet_dull_substrate_bright_emblem() {
    let Some(renderer) = renderer(Dpi::D300) else { return };
    let d = document(Format::Td3);
    let layout = Layout::of(Format::Td3);
    let uv = renderer.render(&d, Light::Ultraviolet, &Conditions::ideal(), 1).unwrap();
    let page = RectMm { x: 0.0, y: 0.0, w: layout.width_mm, h: layout.height_mm };
    assert!(mean(&pixels(&uv, page)) < 40.0, "substrate {}", mean(&pixels(&uv, page)));
    let emblem = pixels(&uv, layout.uv_emblem);
    let bright = 1.0 - share_below(&emblem, 150);
    assert!(bright > 0.1, "fluorescent share {bright}");
    // White light does not show the fluorescent ink: the emblem area is as light as paper under the guilloche.
    let white = renderer.render(&d, Light::White, &Conditions::ideal(), 1).unwrap();
    assert!(mean(&pixels(&white, layout.uv_emblem)) > 150.0);
    // Office paper: bright substrate, no emblem.
    let fake =
        renderer.render_with(&d, &Design::counterfeit_office_paper(), Light::Ultraviolet, &Conditions::ideal(), 1);
    let fake = fake.unwrap();
    assert!(mean(&pixels(&fake, page)) > 120.0);
    let fake_emblem = pixels(&fake, layout.uv_emblem);
    assert!(fake_emblem.iter().all(|&v| v < 200), "no fluorescent feature on office paper");
}

#[test]
fn unknown_light_is_a_typed_error() {
    let Some(renderer) = renderer(Dpi::D300) else { return };
    let e = renderer.render(&document(Format::Td1), Light::Other(9), &Conditions::ideal(), 1).unwrap_err();
    assert!(e.to_string().contains("0x09"), "{e}");
}

#[test]
fn missing_font_names_the_path_and_the_package() {
    let paths = FontPaths { mrz: "/nonexistent/OCRB.otf".into(), ..FontPaths::default() };
    let e = Fonts::load(&paths).unwrap_err();
    assert!(matches!(e, FontError::Unreadable { .. }));
    let text = e.to_string();
    assert!(text.contains("/nonexistent/OCRB.otf") && text.contains("fonts-ocr-b"), "{text}");
    let dir = khil_test_support::temp_dir("docreader-font");
    let junk = dir.path().join("junk.ttf");
    std::fs::write(&junk, b"not a font").unwrap();
    let e = Fonts::load(&FontPaths { viz: junk.clone(), ..FontPaths::default() });
    // The MRZ font may be missing on this machine; the VIZ one is then never reached.
    if let Err(FontError::Invalid { path, package, .. }) = e {
        assert_eq!((path, package), (junk, "fonts-dejavu-core"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Any conditions, NaN and infinities included, render a capture of the format's size.
    #[test]
    fn any_conditions_render(
        wear in prop_oneof![Just(f32::NAN), Just(f32::INFINITY), -2.0f32..3.0],
        dirt in -2.0f32..3.0,
        gain in prop_oneof![Just(f32::NEG_INFINITY), -5.0f32..5.0],
        offset in -500.0f32..500.0,
        unevenness in -1.0f32..2.0,
        shift in (-50.0f32..50.0, prop_oneof![Just(f32::NAN), -50.0f32..50.0]),
        rotation_deg in prop_oneof![Just(f32::NAN), -400.0f32..400.0],
        seed in any::<u64>(),
    ) {
        let Some(renderer) = renderer(Dpi::D300) else { return Ok(()) };
        let c = Conditions { wear, dirt, gain, offset, unevenness, shift_mm: shift, rotation_deg };
        let d = document(Format::Td1);
        let capture = renderer.render(&d, Light::White, &c, seed).unwrap();
        let ideal = renderer.render(&d, Light::White, &Conditions::ideal(), seed).unwrap();
        prop_assert_eq!((capture.image.width, capture.image.height), (ideal.image.width, ideal.image.height));
    }

    #[test]
    fn random_conditions_render(seed in any::<u64>(), severity in prop_oneof![Just(f32::NAN), -1.0f32..2.0]) {
        let Some(renderer) = renderer(Dpi::D300) else { return Ok(()) };
        let c = Conditions::random(seed, severity);
        prop_assert!(renderer.render(&document(Format::Td1), Light::Ultraviolet, &c, seed).is_ok());
    }
}

#[test]
fn a_page_set_is_its_single_lights_and_prints_its_content() {
    use khil_sim_docreader::PageContent;
    let Some(renderer) = renderer(Dpi::D300) else { return };
    let d = document(Format::Td3);
    let worn = Conditions::random(5, 0.4);
    let content = PageContent::of(&d);
    let set = renderer.render_set(&content, &Design::genuine(), &worn, 9);
    for (capture, light) in set.iter().zip([Light::White, Light::Infrared, Light::Ultraviolet]) {
        let single = renderer.render_content(&content, &Design::genuine(), light, &worn, 9).unwrap();
        assert_eq!(capture, &single, "{light:?}");
    }
    // The public render of a document is its genuine page content.
    assert_eq!(set[0], renderer.render(&d, Light::White, &worn, 9).unwrap());
    // An altered VIZ and another portrait change the page where they are printed, and only there.
    let layout = Layout::of(Format::Td3);
    let plain = renderer.render_content(&content, &Design::genuine(), Light::White, &Conditions::ideal(), 1).unwrap();
    let mut altered = content.clone();
    altered.set_viz("surname", "ZZZZZZZZZZ".into());
    altered.portrait = khil_sim_docreader::portrait_grey(d.id + 1);
    let changed = renderer.render_content(&altered, &Design::genuine(), Light::White, &Conditions::ideal(), 1).unwrap();
    assert_ne!(pixels(&plain, layout.viz), pixels(&changed, layout.viz));
    assert_ne!(pixels(&plain, layout.portrait), pixels(&changed, layout.portrait));
    assert_eq!(pixels(&plain, layout.mrz_zone), pixels(&changed, layout.mrz_zone));
}
