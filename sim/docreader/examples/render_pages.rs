//! Writes the data pages of a few population documents as PNG, one per light:
//! `cargo run --release -p khil-sim-docreader --example render_pages -- OUT_DIR [COUNT] [SEVERITY] [DPI]`.
//! With OUT_DIR `-` nothing is written (for `perf stat`, which counts CPU time, not wall time, on a busy machine).
//! Prints the render time per page set (white, infrared and ultraviolet from one layer build; rendering only,
//! PNG encoding and writing excluded).

use std::time::{Duration, Instant};

use khil_docreader::Light;
use khil_mrtd::mrz::CivilDate;
use khil_sim_docreader::{Conditions, Design, Dpi, FontPaths, Fonts, PageContent, Renderer};
use khil_sim_population::documents::Documents;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = std::path::PathBuf::from(args.first().map_or("pages", String::as_str));
    let count: u64 = args.get(1).map_or(Ok(3), |s| s.parse())?;
    let severity: f32 = args.get(2).map_or(Ok(0.0), |s| s.parse())?;
    let dpi = if args.get(3).map(String::as_str) == Some("300") { Dpi::D300 } else { Dpi::D400 };
    let write = out.as_os_str() != "-";
    if write {
        std::fs::create_dir_all(&out)?;
    }
    let renderer = Renderer::new(Fonts::load(&FontPaths::from_env())?, dpi);
    let documents = Documents::new(7, CivilDate::new(2026, 12, 6).ok_or("date")?);
    let mut sets = 0u32;
    let mut rendering = Duration::ZERO;
    for document in documents.first(count) {
        let conditions = Conditions::random(document.id, severity);
        let content = PageContent::of(&document);
        let started = Instant::now();
        let captures = renderer.render_set(&content, &Design::genuine(), &conditions, document.id);
        rendering += started.elapsed();
        sets += 1;
        if !write {
            continue;
        }
        for capture in captures {
            let name = match capture.light {
                Light::White => "white",
                Light::Infrared => "ir",
                _ => "uv",
            };
            std::fs::write(out.join(format!("{:03}-{name}.png", document.id)), capture.image.to_png())?;
        }
        std::fs::write(out.join(format!("{:03}.mrz", document.id)), document.mrz().lines.join("\n") + "\n")?;
    }
    let per_set = rendering.as_secs_f64() / f64::from(sets.max(1));
    println!("{sets} page sets (3 lights each) at {} dpi, {:.1} ms per set", dpi.value(), per_set * 1e3);
    Ok(())
}
