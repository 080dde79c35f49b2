//! Realism and ground-truth checks of the synthetic fingerprint generator. Each test grows at most a few masters
//! (about a second each in a debug build).

use std::f32::consts::{PI, TAU};

use khil_biometrics::minutia::{Minutia, angle_diff, normalize_angle};
use khil_biometrics::synth::{
    ContactArea, Distortion, Finger, FingerPattern, ImpressionParams, MASTER_HEIGHT, MASTER_WIDTH, PatternClass,
    Quality, SensorProfile, dataset_with_threads,
};

/// The first finger id of population `seed` whose class is `class`.
fn finger_of_class(seed: u64, class: PatternClass) -> u64 {
    (0..5000).find(|&id| FingerPattern::generate(seed, id).class() == class).expect("class occurs")
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let a = Finger::generate(42, 7);
    let b = Finger::generate(42, 7);
    assert_eq!(a.master_image().to_png(), b.master_image().to_png());
    assert_eq!(a.minutiae(), b.minutiae());
    let ia = a.impression(3, SensorProfile::R503, Quality::Mixed);
    let ib = b.impression(3, SensorProfile::R503, Quality::Mixed);
    assert_eq!(ia.image.to_png(), ib.image.to_png());
    assert_eq!(ia.truth, ib.truth);
    // Another impression index, another image.
    assert_ne!(a.impression(4, SensorProfile::R503, Quality::Mixed).image, ia.image);
    // Another seed (same finger id), another finger.
    let c = Finger::generate(43, 7);
    assert_ne!(a.master_image().to_png(), c.master_image().to_png());
}

#[test]
fn dataset_does_not_depend_on_thread_count() {
    let one = dataset_with_threads(5, 2, 2, SensorProfile::R503, Quality::Mixed, 1);
    let two = dataset_with_threads(5, 2, 2, SensorProfile::R503, Quality::Mixed, 2);
    assert_eq!(one.len(), 2);
    assert_ne!(one[0][0].image, one[1][0].image);
    for (f1, f2) in one.iter().zip(&two) {
        assert_eq!(f1.len(), 2);
        for (a, b) in f1.iter().zip(f2) {
            assert_eq!(a.image, b.image);
            assert_eq!(a.truth, b.truth);
            assert_eq!(a.params, b.params);
        }
    }
    // Finger f of the data set is Finger::generate(seed, f).
    let f1 = Finger::generate(5, 1);
    assert_eq!(f1.impression(1, SensorProfile::R503, Quality::Mixed).image, one[1][1].image);
}

#[test]
fn classes_follow_natural_frequencies() {
    let n = 4000;
    let mut count = [0usize; 5];
    for id in 0..n {
        let c = FingerPattern::generate(1, id).class();
        count[PatternClass::ALL.iter().position(|&k| k == c).unwrap()] += 1;
    }
    for (k, &c) in PatternClass::ALL.iter().zip(&count) {
        let f = c as f32 / n as f32;
        assert!((f - k.frequency()).abs() < 0.025, "{k:?}: {f} vs {}", k.frequency());
    }
}

/// Poincaré index of the orientation field around the square of half-side `half` at (x, y): the turn of the
/// orientation along the border walked counter-clockwise as seen on the image, in turns (+1/2 core, -1/2 delta).
fn poincare(pattern: &FingerPattern, x: f32, y: f32, half: f32) -> f32 {
    let steps = 8;
    let side = |k: usize| 2.0 * half * k as f32 / steps as f32;
    let mut border = Vec::new();
    // Counter-clockwise as seen (y down): right edge upwards, top edge leftwards, left down, bottom right.
    border.extend((0..steps).map(|k| (x + half, y + half - side(k))));
    border.extend((0..steps).map(|k| (x + half - side(k), y - half)));
    border.extend((0..steps).map(|k| (x - half, y - half + side(k))));
    border.extend((0..steps).map(|k| (x - half + side(k), y + half)));
    let mut total = 0.0;
    for (k, &(ax, ay)) in border.iter().enumerate() {
        let (bx, by) = border[(k + 1) % border.len()];
        let mut turn = pattern.orientation_at(bx, by) - pattern.orientation_at(ax, ay);
        while turn > PI / 2.0 {
            turn -= PI;
        }
        while turn < -PI / 2.0 {
            turn += PI;
        }
        total += turn;
    }
    total / TAU
}

#[test]
fn each_class_has_its_cores_and_deltas() {
    for class in PatternClass::ALL {
        for seed in [1, 2] {
            let p = FingerPattern::generate(seed, finger_of_class(seed, class));
            // Tile the canvas with 8 px cells and sum up the singular ones.
            let (mut cores, mut deltas) = (Vec::new(), Vec::new());
            for cy in 0..MASTER_HEIGHT / 8 {
                for cx in 0..MASTER_WIDTH / 8 {
                    let (x, y) = (cx as f32 * 8.0 + 4.0, cy as f32 * 8.0 + 4.0);
                    let idx = poincare(&p, x, y, 4.0);
                    if (idx - 0.5).abs() < 0.05 {
                        cores.push((x, y));
                    } else if (idx + 0.5).abs() < 0.05 {
                        deltas.push((x, y));
                    } else {
                        assert!(idx.abs() < 0.05, "{class:?}: index {idx} at {x},{y}");
                    }
                }
            }
            assert_eq!(cores.len(), class.cores(), "{class:?} cores at {cores:?}");
            assert_eq!(deltas.len(), class.deltas(), "{class:?} deltas at {deltas:?}");
            // And they are where the pattern says.
            for (found, said) in [(&cores, p.cores()), (&deltas, p.deltas())] {
                for &(x, y) in found {
                    assert!(said.iter().any(|&(sx, sy)| (sx - x).abs() <= 4.5 && (sy - y).abs() <= 4.5));
                }
            }
        }
    }
}

#[test]
fn loops_lean_the_right_way() {
    // Left loop: the delta is right of the core as seen on the image; right loop: left of it.
    for (class, sign) in [(PatternClass::LeftLoop, 1.0), (PatternClass::RightLoop, -1.0)] {
        for seed in 1..4 {
            let p = FingerPattern::generate(seed, finger_of_class(seed, class));
            assert!(sign * (p.deltas()[0].0 - p.cores()[0].0) > 30.0, "{class:?}");
            assert!(p.deltas()[0].1 > p.cores()[0].1);
            // Between the core and the delta the ridges run steeply; far above the core they run across.
            let (core, delta) = (p.cores()[0], p.deltas()[0]);
            let mid = p.orientation_at(core.0.midpoint(delta.0), core.1.midpoint(delta.1));
            assert!((mid - PI / 2.0).abs() < 0.6, "{class:?} mid {mid}");
            let top = p.orientation_at(core.0, 20.0);
            assert!(top.min(PI - top) < 0.5, "{class:?} top {top}");
        }
    }
}

#[test]
fn master_ridge_period_and_minutiae_are_plausible() {
    let finger = Finger::generate(3, finger_of_class(3, PatternClass::RightLoop));
    let pattern = finger.pattern();
    let ridges = finger.master_ridges();
    let (cx, cy) = pattern.centre();
    // Ridge period: count ridge crossings along 60 px segments across the ridges.
    let (mut periods, mut model) = (Vec::new(), Vec::new());
    for gy in (40..MASTER_HEIGHT - 40).step_by(24) {
        for gx in (40..MASTER_WIDTH - 40).step_by(24) {
            let (x, y) = (gx as f32, gy as f32);
            let near_singular =
                pattern.cores().iter().chain(&pattern.deltas()).any(|&(sx, sy)| (sx - x).hypot(sy - y) < 50.0);
            let inside = (-30..=30).all(|t| {
                let a = pattern.orientation_at(x, y);
                let (nx, ny) = (a.sin(), a.cos()); // normal to the ridge, image coordinates
                pattern.in_area(x + nx * t as f32 - 8.0, y + ny * t as f32)
                    && pattern.in_area(x + nx * t as f32 + 8.0, y)
            });
            if near_singular || !inside {
                continue;
            }
            let a = pattern.orientation_at(x, y);
            let (nx, ny) = (a.sin(), a.cos());
            let samples: Vec<bool> = (-30..=30)
                .map(|t| ridges.get((x + nx * t as f32).round() as usize, (y + ny * t as f32).round() as usize))
                .collect();
            let changes = samples.windows(2).filter(|w| w[0] != w[1]).count();
            if changes >= 4 {
                periods.push(120.0 / changes as f32);
                model.push(pattern.ridge_period_at(x, y));
            }
        }
    }
    assert!(periods.len() > 60, "{}", periods.len());
    let mean = periods.iter().sum::<f32>() / periods.len() as f32;
    let model_mean = model.iter().sum::<f32>() / model.len() as f32;
    assert!((8.0..=11.0).contains(&mean), "measured period {mean}");
    assert!((mean - model_mean).abs() < 1.0, "measured {mean}, model {model_mean}");
    // Ridges take about half of the area (the master is neither dry nor wet).
    let area = (0..MASTER_HEIGHT)
        .flat_map(|y| (0..MASTER_WIDTH).map(move |x| (x, y)))
        .filter(|&(x, y)| pattern.in_area(x as f32, y as f32));
    let (mut n, mut on) = (0usize, 0usize);
    for (x, y) in area {
        n += 1;
        on += usize::from(ridges.get(x, y));
    }
    let ratio = on as f32 / n as f32;
    assert!((0.4..0.6).contains(&ratio), "ridge ratio {ratio}");

    // Minutiae: a plausible number in a FLAT-size window, both kinds, on ridges, along the ridge flow.
    let minutiae = finger.minutiae();
    let window = minutiae.iter().filter(|m| (m.x - cx).abs() < 150.0 && (m.y - cy).abs() < 200.0).count();
    assert!((30..=90).contains(&window), "{window} minutiae in a 300x400 window");
    let endings = minutiae.iter().filter(|m| m.kind == khil_biometrics::MinutiaKind::Ending).count();
    assert!(
        endings * 5 > minutiae.len() && endings * 5 < 4 * minutiae.len(),
        "{endings} endings of {}",
        minutiae.len()
    );
    for found in minutiae {
        assert!(ridges.get(found.x as usize, found.y as usize), "{found:?} off the ridges");
        let o = pattern.orientation_at(found.x, found.y);
        if pattern.cores().iter().chain(&pattern.deltas()).any(|&(sx, sy)| (sx - found.x).hypot(sy - found.y) < 20.0) {
            continue; // the flow turns fast around a singular point
        }
        assert!(angle_diff(o, found.angle).min(angle_diff(o + PI, found.angle)) < 0.6, "{found:?} vs flow {o}");
        assert_eq!(found.quality, 100);
    }
}

/// Params with no pixel degradation: dark ridges on white, no blur, no noise.
fn clean(rotation: f32, dx: f32, dy: f32) -> ImpressionParams {
    ImpressionParams { rotation, dx, dy, ..ImpressionParams::identity() }
}

#[test]
fn truth_follows_the_geometry() {
    let finger = Finger::generate(11, 0);
    let (cx, cy) = finger.pattern().centre();
    let sensor = SensorProfile::FLAT;
    let (icx, icy) = (sensor.width as f32 / 2.0, sensor.height as f32 / 2.0);
    let inside =
        |x: f32, y: f32| x >= 10.0 && y >= 10.0 && x <= sensor.width as f32 - 11.0 && y <= sensor.height as f32 - 11.0;

    // Identity: the master's minutiae in the sensor window, shifted.
    let imp = finger.impression_with(&ImpressionParams::identity(), sensor);
    let expected: Vec<Minutia> = finger
        .minutiae()
        .iter()
        .map(|m| Minutia { x: m.x - cx + icx, y: m.y - cy + icy, ..*m })
        .filter(|m| inside(m.x, m.y))
        .collect();
    assert!(expected.len() > 25, "{}", expected.len());
    assert_eq!(imp.truth.len(), expected.len());
    for (t, e) in imp.truth.iter().zip(&expected) {
        assert!((t.x - e.x).abs() < 1e-3 && (t.y - e.y).abs() < 1e-3 && t.kind == e.kind, "{t:?} vs {e:?}");
        assert!(angle_diff(t.angle, e.angle) < 1e-3, "{t:?} vs {e:?}");
    }
    // The identity impression is the master seen through the window.
    let master = finger.master_image();
    for (x, y) in [(150usize, 200usize), (100, 150), (200, 300)] {
        let (mx, my) = ((x as f32 + cx - icx).round() as usize, (y as f32 + cy - icy).round() as usize);
        let (a, b) = (i32::from(imp.image.get(x, y)), i32::from(master.get(mx, my)));
        assert!((a - b).abs() < 90, "({x},{y}): {a} vs master {b}");
    }

    // Rotation and shift: positions rotate about the pad centre, angles grow by the rotation (ISO sense).
    let rot = 20f32.to_radians();
    let imp = finger.impression_with(&clean(rot, 12.0, -7.0), sensor);
    let (cos, sin) = (rot.cos(), rot.sin());
    let expected: Vec<Minutia> = finger
        .minutiae()
        .iter()
        .map(|m| {
            let (px, py) = (m.x - cx, m.y - cy);
            let (x, y) = (px * cos + py * sin + icx + 12.0, -px * sin + py * cos + icy - 7.0);
            Minutia { x, y, angle: normalize_angle(m.angle + rot), ..*m }
        })
        .filter(|m| inside(m.x, m.y))
        .collect();
    assert_eq!(imp.truth.len(), expected.len());
    for (t, e) in imp.truth.iter().zip(&expected) {
        assert!((t.x - e.x).abs() < 1e-2 && (t.y - e.y).abs() < 1e-2, "{t:?} vs {e:?}");
        assert!(angle_diff(t.angle, e.angle) < 1e-3, "{t:?} vs {e:?}");
    }
}

#[test]
fn truth_sits_on_the_rendered_ridges_under_distortion_and_partial_contact() {
    let f = Finger::generate(12, 1);
    let params = ImpressionParams {
        contact: ContactArea { dx: 25.0, dy: -10.0, rx: 120.0, ry: 160.0, roughness: 0.1 },
        distortion: Distortion { rotation: 5f32.to_radians(), dx: 10.0, dy: -8.0, rigid: 0.4, band: 50.0 },
        ..clean(-25f32.to_radians(), -15.0, 20.0)
    };
    let imp = f.impression_with(&params, SensorProfile::FLAT);
    assert!(imp.truth.len() > 15, "{}", imp.truth.len());
    // Fewer than the full-contact impression: the contact ellipse cuts minutiae out.
    let full = f.impression_with(&clean(-25f32.to_radians(), -15.0, 20.0), SensorProfile::FLAT);
    assert!(imp.truth.len() < full.truth.len());
    let dark = |x: f32, y: f32| {
        let (xi, yi) = (x.round() as usize, y.round() as usize);
        xi < imp.image.width && yi < imp.image.height && imp.image.get(xi, yi) < 128
    };
    // Every minutia is on a ridge pixel or next to one (an ending sits on the very tip of its ridge).
    let near_ridge = |m: &&Minutia| (-1..=1).any(|dy| (-1..=1).any(|dx| dark(m.x + dx as f32, m.y + dy as f32)));
    assert!(
        imp.truth.iter().all(|m| near_ridge(&m)),
        "{:?}",
        imp.truth.iter().filter(|m| !near_ridge(m)).collect::<Vec<_>>()
    );
    let on_ridge = imp.truth.iter().filter(|m| dark(m.x, m.y)).count();
    assert!(on_ridge * 100 >= imp.truth.len() * 80, "{on_ridge} of {} on ridges", imp.truth.len());
    // Endings point back along their ridge: 5 px ahead is ridge, 5 px behind is valley (mostly).
    let endings: Vec<_> = imp.truth.iter().filter(|m| m.kind == khil_biometrics::MinutiaKind::Ending).collect();
    let ok = endings
        .iter()
        .filter(|m| {
            let (dx, dy) = m.direction();
            dark(m.x + 5.0 * dx, m.y + 5.0 * dy) && !dark(m.x - 5.0 * dx, m.y - 5.0 * dy)
        })
        .count();
    assert!(ok * 100 >= endings.len() * 85, "{ok} of {} endings point along their ridge", endings.len());
    // Everything is inside the image with the margin.
    assert!(imp.truth.iter().all(|m| m.x >= 10.0 && m.y >= 10.0 && m.x <= 289.0 && m.y <= 389.0));
}

#[test]
fn dry_thins_and_wet_thickens_ridges() {
    let f = Finger::generate(13, 2);
    let dark_ratio = |dryness: f32| {
        let img =
            f.impression_with(&ImpressionParams { dryness, ..ImpressionParams::identity() }, SensorProfile::R307).image;
        img.pixels.iter().filter(|&&p| p < 128).count() as f32 / img.pixels.len() as f32
    };
    let (wet, normal, dry) = (dark_ratio(-0.6), dark_ratio(0.0), dark_ratio(0.6));
    assert!(wet > normal + 0.08 && normal > dry + 0.08, "wet {wet}, normal {normal}, dry {dry}");
}

#[test]
fn sensor_sizes_and_quality_levels() {
    let f = Finger::generate(14, 3);
    for sensor in [SensorProfile::R307, SensorProfile::R503, SensorProfile::FLAT, SensorProfile::custom(64, 48)] {
        let imp = f.impression(0, sensor, Quality::Good);
        assert_eq!((imp.image.width, imp.image.height), (sensor.width, sensor.height));
        assert!(imp.truth.iter().all(|m| m.x >= 10.0 && m.y >= 10.0));
    }
    // Good impressions: small rotation and shift, large contact, little noise; ridges dark on light.
    let mut truth = 0;
    for i in 0..8 {
        let imp = f.impression(i, SensorProfile::FLAT, Quality::Good);
        let p = &imp.params;
        assert!(p.rotation.abs() <= 12f32.to_radians() + 1e-6 && p.dx.abs() <= 14.0 && p.dy.abs() <= 14.0);
        assert!(p.noise <= 6.0 && p.contact.rx >= 150.0);
        truth += imp.truth.len();
        let mean = imp.image.pixels.iter().map(|&v| f32::from(v)).sum::<f32>() / imp.image.pixels.len() as f32;
        let darkest = *imp.image.pixels.iter().min().unwrap();
        assert!(mean > 100.0 && darkest < 90, "mean {mean}, darkest {darkest}");
    }
    assert!(truth / 8 >= 30, "{} true minutiae per Good FLAT impression", truth / 8);
    // Mixed impressions rotate up to 30 degrees.
    for i in 0..40 {
        assert!(f.impression_params(i, Quality::Mixed).rotation.abs() <= 30f32.to_radians() + 1e-6);
    }
}
