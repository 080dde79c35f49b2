//! `khil bench match` and `khil bench calibrate` run end to end on tiny sets (the real figures come from the
//! full-size runs documented in README.md).

mod common;

use common::khil;

#[test]
fn bench_match_reports_both_systems_or_says_why_not() {
    let dir = khil_test_support::temp_dir("bench-match");
    let json = dir.join("report.json");
    let mut cmd = khil();
    cmd.args(["bench", "match", "--fingers", "3", "--impressions", "2", "--truth-fingers", "1", "--out"]).arg(&*dir);
    if !cfg!(feature = "nbis") {
        // Without the reference built in, the command must refuse rather than report khil alone as a comparison.
        let out = khil().args(["bench", "match", "--fingers", "3", "--impressions", "2"]).output().unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("--features nbis"));
        cmd.arg("--no-nbis");
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.lines().any(|l| l.starts_with("khil ")), "{table}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["genuine_comparisons"], 3);
    assert_eq!(report["impostor_comparisons"], 3);
    let systems = report["systems"].as_array().unwrap();
    assert_eq!(systems.len(), if cfg!(feature = "nbis") { 2 } else { 1 });
    for s in systems {
        for key in ["eer", "extraction_ms_per_image", "comparisons_per_second_per_core", "truth_recall"] {
            assert!(s[key].as_f64().is_some_and(f64::is_finite), "{key} in {s}");
        }
    }
    for svg in ["det.svg", "scores-khil.svg"] {
        let text = std::fs::read_to_string(dir.join(svg)).unwrap();
        assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"), "{svg}");
    }
    let png = std::fs::read(dir.join("finger0-impression1.png")).unwrap();
    let image = khil_biometrics::GrayImage::from_png(&png).unwrap();
    assert_eq!((image.width, image.height), (300, 400));
}

#[test]
fn bench_calibrate_prints_a_monotone_table() {
    let out = khil().args(["bench", "calibrate", "--fingers", "10", "--seed", "5"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix('(')?
                .strip_suffix("),")?
                .split_once(", ")
                .map(|(a, b)| (a.parse().unwrap(), b.parse().unwrap()))
        })
        .collect();
    assert!(!rows.is_empty(), "{text}");
    assert!(rows.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 < w[1].1), "{rows:?}");
}

#[test]
fn bench_match_runs_a_folder_of_scans_and_checks_the_calibration_on_them() {
    // A user's folder: <finger>_<impression>.png, 8-bit grey (synthetic prints stand in for scans here).
    let scans = khil_test_support::temp_dir("bench-match-scans");
    let set = khil_biometrics::synth::dataset(
        3,
        3,
        2,
        khil_biometrics::synth::SensorProfile::FLAT,
        khil_biometrics::synth::Quality::Good,
    );
    for (f, impressions) in set.iter().enumerate() {
        for (k, i) in impressions.iter().enumerate() {
            std::fs::write(scans.join(format!("{}_{}.png", 101 + f, k + 1)), i.image.to_png()).unwrap();
        }
    }
    let json = scans.join("report.json");
    let out = khil()
        .args(["bench", "match", "--no-nbis", "--dataset"])
        .arg(&*scans)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 fingers, 6 images at 500 dpi; 3 genuine, 12 impostor (all pairs; FVC: 3)"), "{text}");
    assert!(text.contains("khil calibrated threshold for FMR 10.000 %: score 1.00"), "{text}");
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let checks = report["khil_calibration"].as_array().unwrap();
    let targets: Vec<f64> = checks.iter().map(|c| c["target_fmr"].as_f64().unwrap()).collect();
    assert_eq!(targets, [0.1, 0.01, 0.001]);
    // Good impressions of three fingers: every genuine pair clears even the strictest threshold, and the
    // stricter a threshold, the fewer impostors pass it.
    assert!(checks.iter().all(|c| c["measured_fnmr"] == 0.0), "{checks:?}");
    let fmr: Vec<f64> = checks.iter().map(|c| c["measured_fmr"].as_f64().unwrap()).collect();
    assert!(fmr.windows(2).all(|w| w[0] >= w[1]) && fmr.iter().all(|&r| (0.0..=1.0).contains(&r)), "{fmr:?}");
}
