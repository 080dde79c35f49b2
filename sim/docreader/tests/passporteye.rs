//! The independent peer: PassportEye 2.2 (Tesseract underneath, Debian `tesseract-ocr`) reads the MRZ off
//! white-light captures of population documents, placed by hand and mildly worn, and must agree with the
//! documents' MRZs. Agreement: PassportEye's reading gives the same document number, dates of birth and expiry,
//! issuing state, nationality, sex and the check digits of the first three as its own parse of the true MRZ
//! text. Names and fillers are not compared: Tesseract's generic model reads long `<<<<` runs as `K`s and `S`s
//! (exact full-text agreement is reported, not asserted). Measured on this sample (seed 7, 300 dpi, severity
//! 0.3: up to 1.8 degrees of rotation, 1.2 mm of shift): 6 of 8; 33 of 40 over the first 40 documents (34 of 40
//! without wear and rotation; 30 of 40 at 400 dpi with them; renderer of round 2, byte masks). Misreads are
//! Tesseract's: 0 for O, G for C.

use std::process::{Command, Stdio};

use khil_docreader::Light;
use khil_mrtd::mrz::CivilDate;
use khil_sim_docreader::{Conditions, Dpi, FontPaths, Fonts, Renderer};
use khil_sim_population::documents::Documents;

const SCRIPT: &str = r"
import sys, warnings
warnings.simplefilter('ignore')
from passporteye import read_mrz
from passporteye.mrz.text import MRZ
KEYS = ['country', 'number', 'date_of_birth', 'expiration_date', 'nationality', 'sex',
        'check_number', 'check_date_of_birth', 'check_expiration_date']
for png, mrz in zip(sys.argv[1::2], sys.argv[2::2]):
    want = open(mrz).read().split()
    m = read_mrz(png)
    got = m.to_dict() if m else {}
    truth = MRZ(want).to_dict()
    raw = got.get('raw_text', '').split('\n') == want
    fields = bool(got) and all(got.get(k) == truth.get(k) for k in KEYS)
    print(int(raw), int(fields), flush=True)
";

const DOCUMENTS: u64 = 8;
/// Agreeing documents of the 8, measured: 6.
const FLOOR: usize = 6;

/// Renders the first `n` population documents (seed 7) under white light at `dpi`, with `Conditions::random(id,
/// severity)` (or ideal ones for severity 0), and has PassportEye read each: how many pages it read the MRZ fields of
/// correctly, and how many the whole MRZ text. `None`: a peer is missing (skipped, or failed under CI=true).
fn agreement(n: u64, dpi: Dpi, severity: f32) -> Option<(usize, usize)> {
    khil_test_support::program("tesseract")?;
    let python = khil_test_support::python_with("passporteye")?;
    let fonts = match Fonts::load(&FontPaths::from_env()) {
        Ok(f) => f,
        Err(e) => return khil_test_support::missing(format!("{e}")),
    };
    let renderer = Renderer::new(fonts, dpi);
    let documents = Documents::new(7, CivilDate::new(2026, 12, 6).unwrap());
    let dir = khil_test_support::temp_dir("passporteye");
    let mut args = Vec::new();
    for document in documents.first(n) {
        let conditions = if severity > 0.0 { Conditions::random(document.id, severity) } else { Conditions::ideal() };
        let capture = renderer.render(&document, Light::White, &conditions, document.id).unwrap();
        let png = dir.path().join(format!("{:03}.png", document.id));
        let mrz = dir.path().join(format!("{:03}.mrz", document.id));
        std::fs::write(&png, capture.image.to_png()).unwrap();
        std::fs::write(&mrz, document.mrz().lines.join("\n")).unwrap();
        args.extend([png, mrz]);
    }
    let out = Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .args(&args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "PassportEye failed: {}", String::from_utf8_lossy(&out.stderr));
    let results: Vec<(bool, bool)> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| (l.starts_with('1'), l.ends_with('1'))).collect();
    assert_eq!(results.len() as u64, n);
    Some((results.iter().filter(|r| r.1).count(), results.iter().filter(|r| r.0).count()))
}

#[test]
fn passporteye_reads_the_mrz_of_worn_rotated_pages() {
    let Some((fields, raw)) = agreement(DOCUMENTS, Dpi::D300, 0.3) else { return };
    println!("PassportEye: fields agree on {fields} of {DOCUMENTS} pages, full MRZ text on {raw}");
    assert!(fields >= FLOOR, "PassportEye agreed on {fields} of {DOCUMENTS} pages; measured {FLOOR}");
}

/// The figures in README: 40 pages at 300 dpi worn and ideal, and at 400 dpi worn. About four minutes:
/// `cargo nextest run -p khil-sim-docreader --run-ignored only passporteye_survey --no-capture`.
#[test]
#[ignore = "a survey (minutes), not a check: prints the agreement rates README reports"]
fn passporteye_survey() {
    for (dpi, severity, what) in
        [(Dpi::D300, 0.3, "300 dpi, worn"), (Dpi::D300, 0.0, "300 dpi, ideal"), (Dpi::D400, 0.3, "400 dpi, worn")]
    {
        let Some((fields, raw)) = agreement(40, dpi, severity) else { return };
        println!("{what}: fields agree on {fields} of 40 pages, full MRZ text on {raw}");
    }
}
